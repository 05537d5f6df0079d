/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bundle-private: what bundle.c (reading) and bundle-build.c (writing) share:
 * the bundle object, the streaming pass with its per-file callbacks, and the
 * deterministic tar writer.
 *
 * Thread-safety: as bundle.h.
 */
#ifndef DSE_BUNDLE_PRIVATE_H
#define DSE_BUNDLE_PRIVATE_H

#include <archive.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "lcm/bundle.h"

struct sha256;

#define BUNDLE_MANIFEST_NAME "manifest.json"
#define BUNDLE_SIG_NAME "manifest.sig"
#define BUNDLE_PAYLOAD_DIR "payload/"

struct bundle {
    int fd;
    struct manifest *m;
    char *manifest_json; /* the exact bytes that were checked */
    size_t manifest_len;
    uint8_t sig[SIGN_SIG_LEN];
    bool is_signed, is_verified, is_zstd;
    struct bundle_limits limits;
    /* One component's files, from a verifying pass (bundle_verify_keep()):
     * one after another, in the component's order; NULL: none kept. */
    const struct manifest_component *kept;
    uint8_t *kept_data;
};

/* What a pass does with each payload file, once its entry has been matched
 * with manifest file 'f' of component 'c'.  'data' gets the bytes as they are
 * read (before the digest is known); 'end' is called only once size and
 * SHA-256 matched.  Each returns 0 or -errno with a reason in 'err'. */
struct bundle_sink {
    int (*begin)(void *ctx, const struct manifest_component *c, const struct manifest_file *f,
                 char *err, size_t err_len);
    int (*data)(void *ctx, const void *buf, size_t len, char *err, size_t err_len);
    int (*end)(void *ctx, char *err, size_t err_len);
    void *ctx;
};

/* One pass over the whole bundle: re-checks the head, matches every payload
 * entry with the manifest, calls 'sink' (may be NULL) and checks at the end
 * that no file is missing.  With 'file_md', also reads the file to its end
 * and adds every byte of it to 'file_md', in order; '*file_size' (may be
 * NULL) gets the bytes read.  Returns 0 or an error of bundle.h. */
int bundle_walk(struct bundle *b, const struct bundle_sink *sink, struct sha256 *file_md,
                uint64_t *file_size, char *err, size_t err_len);

/* 'sink' over the files of component 'c' only: from the bytes that
 * bundle_verify_keep() kept when it kept 'c' (the file is not read; 'sink'
 * sees each file whole, once), else with bundle_walk(). */
int bundle_walk_component(struct bundle *b, const struct manifest_component *c,
                          const struct bundle_sink *sink, char *err, size_t err_len);

/* The tar writer: pax (ustar unless a name needs more), zstd if asked, owner
 * 0:0, every mtime 'mtime'.  Returns 0 or -ENOTSUP (no zstd), -ENOMEM, -EIO. */
int bundle_writer_open(int fd, bool zstd, struct archive **out, char *err, size_t err_len);
/* Writes manifest.json and, when 'sig' is not NULL, manifest.sig. */
int bundle_write_head(struct archive *a, const char *json, size_t len, const uint8_t *sig,
                      time_t mtime, char *err, size_t err_len);
/* Writes the header of a regular file entry 'name'. */
int bundle_write_header(struct archive *a, const char *name, uint64_t size, unsigned mode,
                        time_t mtime, char *err, size_t err_len);
/* Writes 'len' bytes of the current entry's data. */
int bundle_write_data(struct archive *a, const void *buf, size_t len, char *err, size_t err_len);

/* "payload/TARGET/PATH" into 'buf'; false if it does not fit. */
bool bundle_entry_name(char *buf, size_t len, const char *target, const char *path);

/* The manifest's "created" as seconds since the epoch (0 if unparsable). */
time_t bundle_created_time(const char *created);

#endif
