/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bundle: the signed unified image, NAME-VERSION.dsebundle (DESIGN.md §6): one
 * tar file (libarchive; plain or zstd-compressed) carrying the host's and the
 * DPUs' content, written, checked and unpacked here.
 *
 *     entry 1   manifest.json              manifest.h; at most 1 MiB
 *     entry 2   manifest.sig               64 bytes, Ed25519 over entry 1's exact
 *                                          bytes (absent: an unsigned bundle)
 *     entry 3.. payload/TARGET/PATH        one regular file per manifest file,
 *                                          e.g. payload/host/x86_64/bin/dse-hostd
 *
 * Nothing in a bundle is trusted before it is checked, and everything is
 * checked while streaming, never after unpacking:
 *
 *   bundle_open()     reads the first two entries only; checks the signature
 *                     over the manifest's bytes *before* parsing them, then
 *                     parses the manifest strictly.
 *   bundle_verify()   reads the whole archive and matches every payload entry
 *                     with the manifest: the exact set of files, each once,
 *                     regular files only (no symlink, hard link, device, FIFO,
 *                     directory or sparse entry), no name outside payload/ or
 *                     with "..", exact sizes and SHA-256.  It stops as soon as
 *                     an entry outgrows its declared size, the payload outgrows
 *                     the manifest's total or the limits, or the data inflates
 *                     beyond a sane compression ratio (decompression bombs).
 *   bundle_extract()  does all of bundle_verify() in the same single pass and
 *                     writes one component under a new or empty directory, by
 *                     openat() relative to it with O_NOFOLLOW | O_EXCL, so that
 *                     nothing is written through a symlink or over a file.  On
 *                     any failure it removes what it wrote: a refused bundle
 *                     leaves nothing behind.  Only names from the (signed)
 *                     manifest are ever used to create files, never the
 *                     archive's own.
 *   bundle_verify_keep()  bundle_verify() that also hashes the whole file and
 *                     keeps one component's verified bytes, so that the host
 *                     reads an image once: bundle_extract() of that component
 *                     then writes the kept bytes and reads nothing.
 *
 * Each pass also re-reads the first two entries and compares them with what
 * bundle_open() checked, so a file replaced or rewritten after opening is
 * refused rather than half-trusted (kept bytes were checked when they were
 * read, and are not read again).  Only the tar format and the zstd filter
 * are enabled in the reader, one filter deep.
 *
 * Errors are negative errno values, each with a one-line reason in 'err'
 * ('err_len' bytes; BUNDLE_ERR_LEN is enough):
 *   -EBADMSG       not a bundle: not tar, truncated, corrupt, an invalid
 *                  manifest, or a payload that does not match the manifest
 *   -ENOKEY        a public key was given and the bundle is unsigned
 *   -EKEYREJECTED  the signature is not the key's over these manifest bytes
 *                  (another key, or a tampered manifest or signature)
 *   -EMSGSIZE      beyond the limits: total size or compression ratio
 *   -ESTALE        the file changed since bundle_open()
 *   -ENOMEM, and -errno of open()/read()/write()/fsync() (-ENOSPC, -EFBIG,
 *                  -EDQUOT, -EIO...) where the system refused
 *
 * Thread-safety: a bundle may be used by one thread at a time; passes reread
 * the file with pread(), so distinct bundles (even of the same file) are
 * independent.  Nothing here keeps global state.
 */
#ifndef DSE_BUNDLE_H
#define DSE_BUNDLE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lcm/manifest.h"
#include "lcm/sha256.h"
#include "lcm/sign.h"

#define BUNDLE_ERR_LEN 320
#define BUNDLE_SUFFIX ".dsebundle"

/* Refusal limits for reading.  Zero fields take the default. */
struct bundle_limits {
    uint64_t max_total;   /* bytes of payload a bundle may declare and carry */
    unsigned max_ratio;   /* decompressed bytes per compressed byte read */
    uint64_t ratio_after; /* the ratio is checked beyond this many bytes */
};
#define BUNDLE_DEFAULT_MAX_TOTAL (8ULL << 30)
#define BUNDLE_DEFAULT_MAX_RATIO 200
#define BUNDLE_DEFAULT_RATIO_AFTER (16ULL << 20)

struct bundle;

/* ---- writing ----------------------------------------------------------- */

struct bundle_source {
    const char *target; /* "host/x86_64", "dpu/VENDOR/MODEL" */
    const char *dir;    /* a tree of regular files (empty directories vanish) */
};

struct bundle_spec {
    const char *name, *version, *build; /* as manifest.h accepts them */
    const char *created;                /* "YYYY-MM-DDTHH:MM:SSZ" */
    const struct bundle_source *sources;
    size_t n_sources;
    bool zstd; /* compress the tar with zstd */
};

/* Writes a bundle of 'spec' to 'out_path': the manifest (files' sizes, modes
 * and SHA-256 from the sources), its signature by 'key' (NULL: an unsigned
 * bundle, for tests), then the payload, into a temporary file that is fsynced
 * and renamed over 'out_path'.  Sources may hold only regular files and
 * directories.  Returns 0 or -errno: -EINVAL for a bad spec or source (a
 * symlink, a device, a name a manifest cannot carry, too many or too large
 * files), -ENOTSUP when libarchive has no zstd writer, -EAGAIN when a source
 * file changed while it was being copied, -EIO for a libarchive failure, and
 * file system errors.  On failure 'out_path' is left as it was. */
int bundle_build(const struct bundle_spec *spec, const char *out_path, const struct sign_key *key,
                 char *err, size_t err_len);

/* Rewrites the bundle at 'path' in place, signed by 'key' (replacing any
 * signature), after checking its whole payload against its manifest as
 * bundle_verify() does.  Keeps its compression.  Returns 0, -EINVAL if 'key'
 * cannot sign (a public key), or an error above; on failure 'path' is
 * unchanged. */
int bundle_sign(const char *path, const struct sign_key *key, char *err, size_t err_len);

/* ---- reading ----------------------------------------------------------- */

/* Opens the bundle at 'path' (or a duplicate of 'fd', which the caller keeps)
 * and checks its head.  With 'pubkey', an unsigned bundle or a bad signature
 * is refused; without, the signature (if any) is not checked, which only
 * inspection and tests should do.  'limits' may be NULL (defaults).  Returns
 * 0 and sets '*out' (free with bundle_close()), or an error above. */
int bundle_open(const char *path, const struct sign_key *pubkey, const struct bundle_limits *limits,
                struct bundle **out, char *err, size_t err_len);
int bundle_open_fd(int fd, const struct sign_key *pubkey, const struct bundle_limits *limits,
                   struct bundle **out, char *err, size_t err_len);

/* Closes 'b'.  Accepts NULL. */
void bundle_close(struct bundle *b);

/* The manifest, valid until bundle_close(). */
const struct manifest *bundle_manifest(const struct bundle *b);
/* True if the bundle carries a signature; bundle_is_verified(): and it was
 * checked against a public key by bundle_open(). */
bool bundle_is_signed(const struct bundle *b);
bool bundle_is_verified(const struct bundle *b);
/* True if the archive is zstd-compressed. */
bool bundle_is_compressed(const struct bundle *b);

/* Streams the whole bundle and checks its payload.  Returns 0 or an error
 * above. */
int bundle_verify(struct bundle *b, char *err, size_t err_len);

/* bundle_verify(), and in the same single read of the file: the SHA-256 of
 * the whole file into 'sha256' and its size into '*size' (what a copy of it
 * must match), and the files of component 'keep' (when not NULL and the
 * bundle has it) kept in memory, so that bundle_extract() of 'keep' writes
 * these verified bytes without reading the file again (it may change or go
 * after this call).  The kept bytes take the component's size in memory
 * until bundle_close().  Returns 0 or an error above; on failure nothing is
 * kept. */
int bundle_verify_keep(struct bundle *b, const char *keep, uint8_t sha256[static SHA256_LEN],
                       uint64_t *size, char *err, size_t err_len);

/* Extracts the component for 'target' into 'dest_dir', which must not exist
 * (its parent must) or be an empty directory; the whole bundle is verified in
 * the same pass, unless bundle_verify_keep() kept 'target': then its kept
 * bytes are written and the file is not read.  Files get their manifest modes, directories 0755;
 * every file and directory is fsynced before success.  Returns 0 or an error above, or -ENOENT if
 * the bundle has no such component, -ENOTEMPTY if 'dest_dir' is not empty, -ENOTDIR; free space is
 * checked first (-ENOSPC).  On failure 'dest_dir' is removed if this call created it, else emptied
 * of what it wrote. */
int bundle_extract(struct bundle *b, const char *target, const char *dest_dir, char *err,
                   size_t err_len);

/* Disk space that extracting 'target' takes: each file's size rounded up to
 * 4 KiB blocks (directories not counted).  Returns 0 and sets '*bytes', or
 * -ENOENT if the bundle has no such component. */
int bundle_space_needed(const struct bundle *b, const char *target, uint64_t *bytes);

/* What `dse-bundle inspect -j` prints: {"name", "version", "build", "created",
 * "signature": "none" | "unchecked" | "valid", "compression": "none" | "zstd",
 * "size", "files", "components": [{"target", "files", "size"}]}.  Returns a
 * new object (caller decrefs) or NULL on ENOMEM. */
json_t *bundle_inspect(const struct bundle *b);

#endif
