/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bundle-build: writing unified images: from source directories
 * (bundle_build()) or by re-signing an existing bundle (bundle_sign()).
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lcm/bundle-private.h"
#include "lcm/bundle.h"
#include "lcm/lcm-private.h"
#include "lcm/sha256.h"
#include "lib/util.h"

#define Q(s, b) lcm_quote((s), (b), sizeof(b))

/* ---- the tar writer ---------------------------------------------------- */

static int
write_fail(struct archive *a, const char *what, char *err, size_t err_len)
{
    char q[160];
    int e = archive_errno(a);
    return lcm_error(err, err_len, e > 0 ? -e : -EIO, "writing %s: %s", what,
                     Q(archive_error_string(a), q));
}

int
bundle_writer_open(int fd, bool zstd, struct archive **out, char *err, size_t err_len)
{
    struct archive *a = archive_write_new();
    if (!a)
        return lcm_error(err, err_len, -ENOMEM, "out of memory");
    int rc = 0;
    if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK)
        rc = write_fail(a, "tar format", err, err_len);
    /* ARCHIVE_WARN means an external zstd program: not for a signed image. */
    if (!rc && zstd && archive_write_add_filter_zstd(a) != ARCHIVE_OK)
        rc = lcm_error(err, err_len, -ENOTSUP, "this libarchive has no built-in zstd compression");
    if (!rc && (archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
                archive_write_open_fd(a, fd) != ARCHIVE_OK))
        rc = write_fail(a, "the bundle", err, err_len);
    if (rc) {
        archive_write_free(a);
        return rc;
    }
    *out = a;
    return 0;
}

int
bundle_write_header(struct archive *a, const char *name, uint64_t size, unsigned mode, time_t mtime,
                    char *err, size_t err_len)
{
    struct archive_entry *e = archive_entry_new();
    if (!e)
        return lcm_error(err, err_len, -ENOMEM, "out of memory");
    archive_entry_set_pathname(e, name);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, mode & 0777);
    archive_entry_set_size(e, (la_int64_t)size);
    archive_entry_set_mtime(e, mtime, 0);
    archive_entry_set_uid(e, 0);
    archive_entry_set_gid(e, 0);
    int r = archive_write_header(a, e);
    archive_entry_free(e);
    return r == ARCHIVE_OK ? 0 : write_fail(a, name, err, err_len);
}

int
bundle_write_data(struct archive *a, const void *buf, size_t len, char *err, size_t err_len)
{
    la_ssize_t n = archive_write_data(a, buf, len);
    return n == (la_ssize_t)len ? 0 : write_fail(a, "the bundle", err, err_len);
}

int
bundle_write_head(struct archive *a, const char *json, size_t len, const uint8_t *sig, time_t mtime,
                  char *err, size_t err_len)
{
    int rc = bundle_write_header(a, BUNDLE_MANIFEST_NAME, len, 0644, mtime, err, err_len);
    if (!rc)
        rc = bundle_write_data(a, json, len, err, err_len);
    if (!rc && sig)
        rc = bundle_write_header(a, BUNDLE_SIG_NAME, SIGN_SIG_LEN, 0644, mtime, err, err_len);
    if (!rc && sig)
        rc = bundle_write_data(a, sig, SIGN_SIG_LEN, err, err_len);
    return rc;
}

time_t
bundle_created_time(const char *created)
{
    struct tm tm = {0};
    if (sscanf(created, "%4d-%2d-%2dT%2d:%2d:%2dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
        return 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t t = timegm(&tm);
    return t < 0 ? 0 : t;
}

/* ---- the output file: a temporary one, renamed when complete ----------- */

struct out {
    char tmp[PATH_MAX];
    const char *path;
    int fd;
    struct archive *a;
};

static int
out_open(struct out *o, const char *path, bool zstd, char *err, size_t err_len)
{
    char q[LCM_QUOTE_LEN];
    o->path = path;
    o->a = NULL;
    if (snprintf(o->tmp, sizeof o->tmp, "%s.tmp.XXXXXX", path) >= (int)sizeof o->tmp)
        return lcm_error(err, err_len, -ENAMETOOLONG, "%s: name too long", Q(path, q));
    o->fd = mkostemp(o->tmp, O_CLOEXEC);
    if (o->fd < 0)
        return lcm_error(err, err_len, -errno, "%s: %s", Q(o->tmp, q), strerror(errno));
    int rc = fchmod(o->fd, 0644) < 0 ? -errno : 0;
    if (rc)
        lcm_error(err, err_len, rc, "%s: %s", Q(o->tmp, q), strerror(-rc));
    else
        rc = bundle_writer_open(o->fd, zstd, &o->a, err, err_len);
    if (rc) {
        close(o->fd);
        unlink(o->tmp);
    }
    return rc;
}

static void
out_abort(struct out *o)
{
    archive_write_free(o->a); /* closes: may write the end blocks, then gone */
    close(o->fd);
    unlink(o->tmp);
}

static int
out_commit(struct out *o, char *err, size_t err_len)
{
    char q[LCM_QUOTE_LEN], dir[PATH_MAX];
    if (archive_write_close(o->a) != ARCHIVE_OK) {
        int rc = write_fail(o->a, "the bundle", err, err_len);
        out_abort(o);
        return rc;
    }
    archive_write_free(o->a);
    o->a = NULL;
    int rc = fsync(o->fd) < 0 ? -errno : 0;
    if (close(o->fd) < 0 && !rc)
        rc = -errno;
    if (!rc && rename(o->tmp, o->path) < 0)
        rc = -errno;
    if (rc) {
        unlink(o->tmp);
        return lcm_error(err, err_len, rc, "%s: %s", Q(o->path, q), strerror(-rc));
    }
    snprintf(dir, sizeof dir, "%s", o->path);
    int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
}

/* ---- scanning sources into a manifest ---------------------------------- */

struct scan {
    struct manifest *m;
    struct manifest_component *c;
    const char *dir; /* for messages */
    char *err;
    size_t err_len;
};

static int
scan_file(struct scan *s, int dfd, const char *name, const char *path)
{
    char q[LCM_QUOTE_LEN];
    if (s->c->n_files == MANIFEST_MAX_FILES)
        return lcm_error(s->err, s->err_len, -EINVAL, "%s: more than %d files", Q(s->dir, q),
                         MANIFEST_MAX_FILES);
    int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        int rc = -errno;
        if (fd >= 0)
            close(fd);
        return lcm_error(s->err, s->err_len, rc, "%s/%s: %s", Q(s->dir, q), path, strerror(-rc));
    }
    uint8_t sha[SHA256_LEN];
    uint64_t size;
    int rc = sha256_fd(fd, sha, &size, NULL, NULL);
    close(fd);
    if (rc)
        return lcm_error(s->err, s->err_len, rc, "%s/%s: %s", Q(s->dir, q), path, strerror(-rc));
    if (size > MANIFEST_MAX_FILE_SIZE)
        return lcm_error(s->err, s->err_len, -EINVAL, "%s/%s: larger than %llu bytes", Q(s->dir, q),
                         path, (unsigned long long)MANIFEST_MAX_FILE_SIZE);
    if (manifest_add_file(s->m, s->c, path, size, st.st_mode & 0777, sha) < 0)
        return lcm_error(s->err, s->err_len, -ENOMEM, "out of memory");
    return 0;
}

static int scan_dir(struct scan *s, int dfd, const char *rel, unsigned depth);

/* One directory entry of a source, at 'path' relative to the source's top. */
static int
scan_entry(struct scan *s, int dfd, const char *name, const char *path, unsigned depth)
{
    char q[LCM_QUOTE_LEN], qp[LCM_QUOTE_LEN];
    struct stat st;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return lcm_error(s->err, s->err_len, -errno, "%s/%s: %s", Q(s->dir, q), Q(path, qp),
                         strerror(errno));
    if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
        return lcm_error(s->err, s->err_len, -EINVAL,
                         "%s/%s: %s, a bundle carries only regular files", Q(s->dir, q),
                         Q(path, qp), S_ISLNK(st.st_mode) ? "a symlink" : "a special file");
    if (!manifest_path_is_valid(path))
        return lcm_error(s->err, s->err_len, -EINVAL,
                         "%s/%s: a name a bundle cannot carry (too long, too deep or "
                         "characters outside [A-Za-z0-9._+@-])",
                         Q(s->dir, q), Q(path, qp));
    if (S_ISREG(st.st_mode))
        return scan_file(s, dfd, name, path);
    int sub = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub < 0)
        return lcm_error(s->err, s->err_len, -errno, "%s/%s: %s", Q(s->dir, q), path,
                         strerror(errno));
    int rc = scan_dir(s, sub, path, depth + 1);
    close(sub);
    return rc;
}

/* One directory of a source being scanned. */
struct scan_dir {
    struct scan *s;
    const char *rel; /* its path from the top, "" for the top */
    unsigned depth;
    bool failed; /* an entry was refused: 'err' says why */
};

/* fs_dir_each()'s callback: one entry of a scan_dir. */
static int
scan_one(int dfd, const char *name, void *aux)
{
    struct scan_dir *sd = aux;
    struct scan *s = sd->s;
    char path[MANIFEST_MAX_PATH + 2];
    int n = snprintf(path, sizeof path, "%s%s%s", sd->rel, *sd->rel ? "/" : "", name);
    int rc;
    if (n < 0 || (size_t)n >= sizeof path || sd->depth >= MANIFEST_MAX_DEPTH) {
        char q[LCM_QUOTE_LEN];
        rc = lcm_error(s->err, s->err_len, -EINVAL, "%s/%s...: path too long or deep", Q(s->dir, q),
                       sd->rel);
    } else {
        rc = scan_entry(s, dfd, name, path, sd->depth);
    }
    sd->failed = rc != 0;
    return rc;
}

/* Scans directory 'dfd' (closed by the caller) at 'rel' ("" for the top). */
static int
scan_dir(struct scan *s, int dfd, const char *rel, unsigned depth)
{
    struct scan_dir sd = {.s = s, .rel = rel, .depth = depth};
    int rc = fs_dir_each(dfd, scan_one, &sd);
    if (rc < 0 && !sd.failed)
        return lcm_error(s->err, s->err_len, rc, "%s: %s", s->dir, strerror(-rc));
    return rc < 0 ? rc : 0;
}

static int
scan_source(struct manifest *m, const struct bundle_source *src, char *err, size_t err_len)
{
    char q[LCM_QUOTE_LEN];
    if (!manifest_target_is_valid(src->target))
        return lcm_error(err, err_len, -EINVAL, "bad target '%s' (host/ARCH or dpu/VENDOR/MODEL)",
                         Q(src->target, q));
    for (size_t i = 0; i < m->n_components; i++)
        if (!strcmp(m->components[i].target, src->target))
            return lcm_error(err, err_len, -EINVAL, "target %s twice", src->target);
    int dfd = open(src->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return lcm_error(err, err_len, -errno, "%s: %s", Q(src->dir, q), strerror(errno));
    struct scan s = {.m = m, .dir = src->dir, .err = err, .err_len = err_len};
    s.c = manifest_add_component(m, src->target);
    int rc = s.c ? scan_dir(&s, dfd, "", 0) : lcm_error(err, err_len, -ENOMEM, "oom");
    close(dfd);
    if (!rc && s.c->n_files == 0)
        rc = lcm_error(err, err_len, -EINVAL, "%s: no files", Q(src->dir, q));
    return rc;
}

/* The manifest of 'spec', emitted, and parsed back: what bundle_open() will
 * accept, or a reason now. */
static int
spec_manifest(const struct bundle_spec *spec, struct manifest **out, char **json, size_t *len,
              char *err, size_t err_len)
{
    if (!spec->name || !spec->version || !spec->build || !spec->created)
        return lcm_error(err, err_len, -EINVAL, "name, version, build and created are needed");
    if (spec->n_sources == 0)
        return lcm_error(err, err_len, -EINVAL, "no components");
    struct manifest *m = manifest_create(spec->name, spec->version, spec->build, spec->created);
    if (!m)
        return lcm_error(err, err_len, -ENOMEM, "out of memory");
    int rc = 0;
    for (size_t i = 0; !rc && i < spec->n_sources; i++)
        rc = scan_source(m, &spec->sources[i], err, err_len);
    *json = rc ? NULL : manifest_emit(m, len);
    manifest_destroy(m);
    if (rc)
        return rc;
    if (!*json)
        return lcm_error(err, err_len, -ENOMEM, "out of memory");
    char reason[MANIFEST_ERR_LEN];
    if (!manifest_parse(*json, *len, out, reason, sizeof reason)) {
        free(*json);
        *json = NULL;
        return lcm_error(err, err_len, -EINVAL, "%s", reason);
    }
    return 0;
}

/* ---- building ---------------------------------------------------------- */

static const struct bundle_source *
spec_source(const struct bundle_spec *spec, const char *target)
{
    for (size_t i = 0; i < spec->n_sources; i++)
        if (!strcmp(spec->sources[i].target, target))
            return &spec->sources[i];
    return NULL;
}

/* sha256_fd()'s look at each block of a source file: into the archive, as
 * long as the file is no longer than the manifest says. */
struct copy_src {
    struct archive *a;
    uint64_t left;
    bool grew, failed;
    char *err;
    size_t err_len;
};

static int
copy_block(void *aux, const void *buf, size_t len)
{
    struct copy_src *cs = aux;
    if (len > cs->left) {
        cs->grew = true;
        return -EAGAIN;
    }
    cs->left -= len;
    int rc = bundle_write_data(cs->a, buf, len, cs->err, cs->err_len);
    cs->failed = rc != 0;
    return rc;
}

/* Copies one source file into the archive; it must still be what the
 * manifest says. */
static int
copy_file(struct archive *a, const char *dir, const struct manifest_component *c,
          const struct manifest_file *f, time_t mtime, char *err, size_t err_len)
{
    char path[PATH_MAX], name[MANIFEST_MAX_TARGET + MANIFEST_MAX_PATH + 16];
    char q[LCM_QUOTE_LEN];
    snprintf(path, sizeof path, "%s/%s", dir, f->path);
    bundle_entry_name(name, sizeof name, c->target, f->path);
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return lcm_error(err, err_len, -errno, "%s: %s", Q(path, q), strerror(errno));
    struct copy_src cs = {.a = a, .left = f->size, .err = err, .err_len = err_len};
    uint8_t sha[SHA256_LEN];
    uint64_t got = 0;
    int rc = bundle_write_header(a, name, f->size, f->mode, mtime, err, err_len);
    if (rc) {
        close(fd);
        return rc;
    }
    rc = sha256_fd(fd, sha, &got, copy_block, &cs);
    close(fd);
    if (cs.grew || (!rc && (got != f->size || memcmp(sha, f->sha256, SHA256_LEN))))
        return lcm_error(err, err_len, -EAGAIN, "%s changed while the bundle was written",
                         Q(path, q));
    if (rc && !cs.failed) /* reading the file, not writing the bundle */
        return lcm_error(err, err_len, rc, "%s: %s", Q(path, q), strerror(-rc));
    return rc;
}

static int
write_payload(struct archive *a, const struct bundle_spec *spec, const struct manifest *m,
              char *err, size_t err_len)
{
    time_t mtime = bundle_created_time(m->created);
    for (size_t i = 0; i < m->n_components; i++) {
        const struct manifest_component *c = &m->components[i];
        const struct bundle_source *src = spec_source(spec, c->target);
        for (size_t j = 0; j < c->n_files; j++) {
            int rc = copy_file(a, src->dir, c, &c->files[j], mtime, err, err_len);
            if (rc)
                return rc;
        }
    }
    return 0;
}

int
bundle_build(const struct bundle_spec *spec, const char *out_path, const struct sign_key *key,
             char *err, size_t err_len)
{
    struct manifest *m = NULL;
    char *json = NULL;
    size_t len;
    uint8_t sig[SIGN_SIG_LEN];
    struct out o;
    int rc = spec_manifest(spec, &m, &json, &len, err, err_len);
    if (rc)
        goto err_free;
    if (key && (rc = sign_bytes(key, json, len, sig))) {
        lcm_error(err, err_len, rc, "signing the manifest: %s", strerror(-rc));
        goto err_free;
    }
    if ((rc = out_open(&o, out_path, spec->zstd, err, err_len)))
        goto err_free;
    rc = bundle_write_head(o.a, json, len, key ? sig : NULL, bundle_created_time(m->created), err,
                           err_len);
    if (!rc)
        rc = write_payload(o.a, spec, m, err, err_len);
    if (rc)
        out_abort(&o);
    else
        rc = out_commit(&o, err, err_len);

err_free:
    manifest_destroy(m);
    free(json);
    return rc;
}

/* ---- re-signing -------------------------------------------------------- */

struct copy {
    struct archive *a;
    time_t mtime;
};

static int
copy_begin(void *ctx, const struct manifest_component *c, const struct manifest_file *f, char *err,
           size_t err_len)
{
    struct copy *cp = ctx;
    char name[MANIFEST_MAX_TARGET + MANIFEST_MAX_PATH + 16];
    bundle_entry_name(name, sizeof name, c->target, f->path);
    return bundle_write_header(cp->a, name, f->size, f->mode, cp->mtime, err, err_len);
}

static int
copy_data(void *ctx, const void *buf, size_t len, char *err, size_t err_len)
{
    struct copy *cp = ctx;
    return bundle_write_data(cp->a, buf, len, err, err_len);
}

static int
copy_end(void *ctx, char *err, size_t err_len)
{
    return 0;
}

int
bundle_sign(const char *path, const struct sign_key *key, char *err, size_t err_len)
{
    struct bundle *b;
    uint8_t sig[SIGN_SIG_LEN];
    int rc = bundle_open(path, NULL, NULL, &b, err, err_len);
    if (rc)
        return rc;
    rc = sign_bytes(key, b->manifest_json, b->manifest_len, sig);
    if (rc) {
        lcm_error(err, err_len, rc, "signing the manifest: %s", strerror(-rc));
        goto err_close;
    }
    struct out o;
    if ((rc = out_open(&o, path, b->is_zstd, err, err_len)))
        goto err_close;
    struct copy cp = {.a = o.a, .mtime = bundle_created_time(b->m->created)};
    const struct bundle_sink sink = {
        .begin = copy_begin, .data = copy_data, .end = copy_end, .ctx = &cp};
    rc = bundle_write_head(o.a, b->manifest_json, b->manifest_len, sig, cp.mtime, err, err_len);
    if (!rc)
        rc = bundle_walk(b, &sink, NULL, NULL, err, err_len);
    if (rc)
        out_abort(&o);
    else
        rc = out_commit(&o, err, err_len);

err_close:
    bundle_close(b);
    return rc;
}
