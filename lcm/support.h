/* SPDX-License-Identifier: Apache-2.0 */
/*
 * support: the support bundle: what a device's directory holds that helps
 * diagnose it (logs, configuration, versions, boot history), collected under
 * an allow-list and size caps, and the .tgz that gathers the host's part and
 * every DPU's.
 *
 * A device's part (support_collect()) is one JSON object, the same whether
 * dpud sends it over the internal network, hostd reads its own directory, or
 * hostd reads a DPU's directory through the out-of-band path:
 *
 *     {"files":    [{"name": "log/dpud.log", "size": 1048576,
 *                    "full_size": 5242880, "truncated": true, "data": BASE64}],
 *      "omitted":  [{"name": "log/x.log", "reason": "holds a private key"}],
 *      "versions": bank_status() (banks A and B, the boot state)}
 *
 * Only these paths of the device directory are read, never a symbolic link
 * (O_NOFOLLOW at every step) and only regular files:
 *
 *     platform.json  hostd.json  boot/state  boot/history  banks/.prev-state
 *     banks/{A,B}/bank.json  banks/{A,B}/manifest.json  certs/ca.pem
 *     certs/cert.pem, and in log/: *.log  *.log.N  *.out
 *
 * so no private key (certs/key.pem, a bundle signing key) and no bank payload
 * (banks/X/root/) can be collected; and a file whose collected bytes hold a
 * PEM private key marker ("PRIVATE KEY-----") is left out all the same, in
 * case one was pasted into a log or a certificate.  Caps: a file gives at
 * most its last 'file_max' bytes (a log's newest lines), a device at most
 * 'total_max' bytes in all, the fixed paths first, then the logs in name
 * order; a file cut short says "truncated", one left out entirely is listed
 * in "omitted" with the reason.
 *
 * The bundle (support_bundle_*()) takes the parts and writes a gzip'd tar in
 * memory, index.json first:
 *
 *     {"created": "2026-01-02T03:04:05Z", "host": "dse-h1",
 *      "devices": [{"device": "dpu2", "id": "dse-h1-dpu2", "source": "oob",
 *                   "reason": "internal network: ...", "files": 9}],
 *      "parts":   [{"device", "path" (in the tgz), "source", "size",
 *                   "truncated"}],
 *      "omitted": [{"device", "name", "reason"}],
 *      "errors":  [{"device", "error"}]}
 *
 * then each part as DEVICE/NAME.  A part may come from a peer, so it is
 * checked, not trusted: names are made safe (support_path_clean()), data
 * must be base64, a device gives at most 'total_max' bytes.
 *
 * Thread-safety: support_collect() and support_path_clean() are reentrant;
 * a struct support_bundle belongs to one thread.
 */
#ifndef DSE_SUPPORT_H
#define DSE_SUPPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <jansson.h>

#define SUPPORT_FILE_MAX (1024 * 1024)        /* a file's last MiB */
#define SUPPORT_DEVICE_MAX (8 * 1024 * 1024)  /* a device's files in all */
#define SUPPORT_BUNDLE_MAX (32 * 1024 * 1024) /* the .tgz */
#define SUPPORT_ERR_LEN 256
#define SUPPORT_PATH_MAX 200 /* a cleaned path, NUL included */

struct support_limits {
    size_t file_max;  /* bytes from one file (its tail) */
    size_t total_max; /* bytes from one device */
};
#define SUPPORT_LIMITS_DEFAULT                                                                     \
    {                                                                                              \
        .file_max = SUPPORT_FILE_MAX, .total_max = SUPPORT_DEVICE_MAX                              \
    }

/* Collects the device directory 'devdir' as above into '*part' (a new
 * reference).  Files that cannot be read are listed in "omitted"; a missing
 * one is skipped.  Returns 0, or -errno with a one-line reason in 'err':
 * -ENOENT, -ENOTDIR, -EACCES, -ELOOP (the directory cannot be opened),
 * -ENOMEM. */
int support_collect(const char *devdir, const struct support_limits *, json_t **part, char *err,
                    size_t err_len);

/* Writes a safe relative archive path for untrusted 'name' into 'out'
 * (SUPPORT_PATH_MAX bytes): "/" separates components; empty and "."
 * components go, ".." becomes "__", any byte outside printable ASCII, a
 * space or a backslash becomes '_', a name cut to fit ends in "~", and
 * nothing at all gives "_".  Returns true if the result differs from 'name'.
 * This function can't fail. */
bool support_path_clean(const char *name, char out[static SUPPORT_PATH_MAX]);

struct support_bundle;

/* A bundle whose .tgz may reach 'max_len' bytes; each device gives at most
 * 'lim'->total_max bytes of files.  Returns NULL on ENOMEM. */
struct support_bundle *support_bundle_create(const struct support_limits *lim, size_t max_len);
void support_bundle_destroy(struct support_bundle *); /* accepts NULL */

/* Adds device 'device' (its directory in the archive: "host", "dpu1"; 'id'
 * its full name) from 'part' (borrowed; support_collect()'s object, perhaps
 * from a peer), which came by 'source' ("local", "internal-network", "oob");
 * 'reason', when not NULL, says why that source (e.g. why not the internal
 * network).  Each file becomes DEVICE/NAME and "versions" DEVICE/versions.json;
 * a bad file entry is skipped and listed in "errors".  Returns 0, -EBADMSG
 * when 'part' is no such object (nothing added; 'err' says why), -ENOMEM. */
int support_bundle_add_device(struct support_bundle *, const char *device, const char *id,
                              const char *source, const char *reason, json_t *part, char *err,
                              size_t err_len);

/* Adds 'value' (borrowed) as DEVICE/NAME, indented JSON, from 'source'.
 * Returns 0 or -ENOMEM. */
int support_bundle_add_json(struct support_bundle *, const char *device, const char *name,
                            const char *source, json_t *value);

/* Records that 'device' ('id') could not be collected: 'error' says why.
 * Returns 0 or -ENOMEM. */
int support_bundle_add_error(struct support_bundle *, const char *device, const char *id,
                             const char *error);

/* Writes the archive (index.json, then every part; 'host' and 'created' go
 * into the index) and sets '*tgz' (malloc'd, caller frees), '*len' and
 * '*index' (a new reference).  Call once.  Returns 0, or -errno with a
 * one-line reason in 'err': -EFBIG (over 'max_len'), -ENOMEM, -EIO. */
int support_bundle_finish(struct support_bundle *, const char *host, time_t created, void **tgz,
                          size_t *len, json_t **index, char *err, size_t err_len);

#endif
