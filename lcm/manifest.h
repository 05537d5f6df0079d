/* SPDX-License-Identifier: Apache-2.0 */
/*
 * manifest: the table of contents of a unified image (DESIGN.md §6), the
 * manifest.json that a bundle carries first and that its signature covers.
 *
 *     {"format": 1, "name": "dse", "version": "0.1.0", "build": "g0313fa3",
 *      "created": "2025-01-31T12:00:00Z",
 *      "components": [
 *        {"target": "host/x86_64",
 *         "files": [{"path": "bin/dse-hostd", "size": 123, "mode": "0755",
 *                    "sha256": "<64 lowercase hex digits>"}, ...]},
 *        {"target": "dpu/dse-lab/vdpu-2", "files": [...]}]}
 *
 * The parser is strict, because a manifest comes from a file that nobody has
 * vouched for yet: unknown or missing keys, a format other than 1, a target
 * other than host/ARCH or dpu/VENDOR/MODEL, a target twice, a path that is
 * absolute, has an empty, "." or ".." component, odd characters, or is both a
 * file and a directory, sizes or counts beyond the MANIFEST_MAX_* limits and
 * malformed digests are all refused with a one-line reason.  Once parsed, the
 * components are sorted by target and each component's files by path (the
 * lookups bisect), and the totals are computed.
 *
 * manifest_emit() writes the canonical form: keys sorted, no whitespace,
 * components and files in sorted order, so that the same content always gives
 * the same bytes (and the same signature).  A program that builds a manifest
 * fills the structures with manifest_create() and manifest_add_*(), emits it,
 * and should parse its own output to validate it (bundle_build() does).
 *
 * Versions are dotted numbers, 1 to 8 of them, each without leading zeros and
 * at most 9 digits ("0.1.0", "2.10"); manifest_version_cmp() orders them
 * numerically and treats missing trailing parts as 0 (1.2 == 1.2.0).
 *
 * Thread-safety: a manifest is not locked; after parsing it is read-only and
 * may be read from any thread.  Everything here is reentrant.
 */
#ifndef DSE_MANIFEST_H
#define DSE_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MANIFEST_FORMAT 1
#define MANIFEST_MAX_LEN (1024 * 1024) /* bytes of manifest.json */
#define MANIFEST_MAX_COMPONENTS 32
#define MANIFEST_MAX_FILES 4096               /* per component */
#define MANIFEST_MAX_PATH 255                 /* bytes of a file's path */
#define MANIFEST_MAX_DEPTH 16                 /* components of a path */
#define MANIFEST_MAX_FILE_SIZE (4ULL << 30)   /* bytes of one file */
#define MANIFEST_MAX_TOTAL_SIZE (16ULL << 30) /* bytes of all files */
#define MANIFEST_MAX_TARGET 96
#define MANIFEST_MAX_NAME 64 /* "name" */
#define MANIFEST_MAX_VERSION 64
#define MANIFEST_MAX_BUILD 64
#define MANIFEST_ERR_LEN 256 /* enough for any reason */

struct manifest_file {
    char *path; /* relative, '/'-separated, validated */
    uint64_t size;
    unsigned mode; /* permission bits only, 0 to 0777 */
    uint8_t sha256[32];
};

struct manifest_component {
    char *target;                /* "host/ARCH" or "dpu/VENDOR/MODEL" */
    struct manifest_file *files; /* sorted by path once parsed */
    size_t n_files;
    uint64_t total_size; /* sum of the files' sizes */
};

struct manifest {
    int format;
    char *name, *version, *build, *created;
    struct manifest_component *components; /* sorted by target once parsed */
    size_t n_components;
    uint64_t total_size; /* sum over every component */
    size_t n_files;      /* over every component */
};

/* Parses and validates 'len' bytes of manifest.json.  Returns true and sets
 * '*out' (caller frees with manifest_destroy()), or false with a one-line
 * reason in 'err' ('err_len' bytes; MANIFEST_ERR_LEN is enough).  Out of
 * memory is reported as a reason too. */
bool manifest_parse(const char *data, size_t len, struct manifest **out, char *err, size_t err_len);

/* Writes 'm' in canonical form (components and files in sorted order
 * whatever their order in 'm', which is not modified).  Returns the text
 * (NUL-terminated, caller frees) and its length in '*len', or NULL on -ENOMEM
 * or when 'm' holds a string that is not valid UTF-8 (errno EINVAL). */
char *manifest_emit(const struct manifest *m, size_t *len);

/* Frees 'm' and everything it holds.  Accepts NULL. */
void manifest_destroy(struct manifest *m);

/* For builders: an empty manifest with copies of the strings.  Returns NULL
 * on ENOMEM.  Nothing is validated before manifest_parse(). */
struct manifest *manifest_create(const char *name, const char *version, const char *build,
                                 const char *created);
/* Appends a component.  Returns it (owned by 'm'; valid until the next
 * manifest_add_component()) or NULL on ENOMEM. */
struct manifest_component *manifest_add_component(struct manifest *m, const char *target);
/* Appends a file to 'c' and adds its size to the totals.  Returns 0 or
 * -ENOMEM. */
int manifest_add_file(struct manifest *m, struct manifest_component *c, const char *path,
                      uint64_t size, unsigned mode, const uint8_t sha256[static 32]);

/* Lookups in a parsed manifest (they bisect sorted arrays): the component
 * for 'target' or the file at 'path', or NULL. */
const struct manifest_component *manifest_find_component(const struct manifest *m,
                                                         const char *target);
const struct manifest_file *manifest_find_file(const struct manifest_component *c,
                                               const char *path);

/* True if 'path' is a path we accept for a file: relative, 1 to
 * MANIFEST_MAX_PATH bytes, at most MANIFEST_MAX_DEPTH components, each made of
 * [A-Za-z0-9._+@-] and neither "." nor "..". */
bool manifest_path_is_valid(const char *path);
/* True if 'target' is "host/ARCH" or "dpu/VENDOR/MODEL", each part a name
 * (name_is_valid(), 32 characters at most). */
bool manifest_target_is_valid(const char *target);

/* True if 'v' is a version as described above. */
bool manifest_version_is_valid(const char *v);
/* Compares two versions numerically: < 0, 0 or > 0 as 'a' is older than,
 * the same as or newer than 'b'.  An invalid version is older than every
 * valid one and equal to every invalid one, so the order stays total.  This
 * function can't fail. */
int manifest_version_cmp(const char *a, const char *b);

#endif
