/* SPDX-License-Identifier: Apache-2.0 */
/* bundle: opening, verifying and inspecting unified images (reading side). */
#include "lcm/bundle.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lcm/bundle-private.h"
#include "lcm/lcm-private.h"
#include "lcm/sha256.h"

#define READ_BUF_LEN (64 * 1024)
#define Q(s, b) lcm_quote((s), (b), sizeof(b))

/* ---- the archive source: pread() from our own offset ------------------- */

struct src {
    int fd;
    off_t off;
    int err;                /* errno of a failed pread(), else 0 */
    struct sha256 *file_md; /* every byte read, in order, or NULL */
    uint8_t buf[READ_BUF_LEN];
};

static la_ssize_t
src_read(struct archive *a, void *ctx, const void **out)
{
    struct src *s = ctx;
    ssize_t n;
    do {
        n = pread(s->fd, s->buf, sizeof s->buf, s->off);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        s->err = errno;
        archive_set_error(a, errno, "read: %s", strerror(errno));
        return -1;
    }
    s->off += n;
    if (s->file_md)
        sha256_update(s->file_md, s->buf, (size_t)n);
    *out = s->buf;
    return n;
}

/* Reads what libarchive left of the file (after the end-of-archive blocks)
 * into the file's digest: the digest is then the whole file's. */
static int
src_drain(struct src *s, char *err, size_t err_len)
{
    for (;;) {
        ssize_t n = pread(s->fd, s->buf, sizeof s->buf, s->off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return lcm_error(err, err_len, -errno, "reading the bundle: %s", strerror(errno));
        if (n == 0)
            return 0;
        s->off += n;
        sha256_update(s->file_md, s->buf, (size_t)n);
    }
}

/* The reason for a failed libarchive read: the system's, or the format's. */
static int
read_fail(struct archive *a, const struct src *s, const char *what, char *err, size_t err_len)
{
    char q[160];
    if (s->err)
        return lcm_error(err, err_len, -s->err, "reading the bundle: %s", strerror(s->err));
    if (!what)
        return lcm_error(err, err_len, -EBADMSG, "not a readable bundle (tar, plain or zstd): %s",
                         Q(archive_error_string(a), q));
    return lcm_error(err, err_len, -EBADMSG, "truncated or corrupt bundle (%s): %s", what,
                     Q(archive_error_string(a), q));
}

/* A reader of tar and zstd.  Without libzstd, libarchive answers WARN and
 * would run an external zstd program: then plain tar only, in a new reader. */
static struct archive *
reader_new(void)
{
    struct archive *a = archive_read_new();
    if (a && archive_read_support_filter_zstd(a) != ARCHIVE_OK) {
        archive_read_free(a);
        a = archive_read_new();
    }
    if (a && archive_read_support_format_tar(a) != ARCHIVE_OK) {
        archive_read_free(a);
        a = NULL;
    }
    return a;
}

static int
reader_open(int fd, struct sha256 *file_md, struct src **srcp, struct archive **ap, char *err,
            size_t err_len)
{
    struct src *s = malloc(sizeof *s);
    struct archive *a = reader_new();
    int rc = -ENOMEM;
    if (!s || !a) {
        lcm_error(err, err_len, rc, "out of memory");
        goto err_free;
    }
    *s = (struct src){.fd = fd, .file_md = file_md};
    if (archive_read_open(a, s, NULL, src_read, NULL) != ARCHIVE_OK) {
        rc = read_fail(a, s, NULL, err, err_len);
        goto err_free;
    }
    *srcp = s;
    *ap = a;
    return 0;

err_free:
    archive_read_free(a);
    free(s);
    return rc;
}

/* ---- entries ----------------------------------------------------------- */

/* NULL for a plain regular file, else what the entry is instead. */
static const char *
entry_kind(struct archive_entry *e)
{
    if (archive_entry_hardlink(e))
        return "a hard link";
    switch (archive_entry_filetype(e)) {
    case AE_IFREG:
        return archive_entry_sparse_count(e) > 0 ? "a sparse file" : NULL;
    case AE_IFLNK:
        return "a symlink";
    case AE_IFDIR:
        return "a directory";
    case AE_IFCHR:
    case AE_IFBLK:
        return "a device";
    case AE_IFIFO:
        return "a FIFO";
    default:
        return "an entry of unknown type";
    }
}

/* Only tar, plain or zstd once: no filter stacked on another. */
static int
check_filters(struct archive *a, char *err, size_t err_len)
{
    int n = archive_filter_count(a);
    int code = archive_filter_code(a, 0);
    if (n > 2 || (code != ARCHIVE_FILTER_NONE && code != ARCHIVE_FILTER_ZSTD))
        return lcm_error(err, err_len, -EBADMSG,
                         "not a bundle: compressed more than once or not with zstd");
    return 0;
}

/* Reads the whole data of entry 'e' (a regular file of at most 'max' bytes)
 * into a new buffer, NUL-terminated. */
static int
read_member(struct archive *a, const struct src *s, struct archive_entry *e, size_t max, char **out,
            size_t *len, char *err, size_t err_len)
{
    const char *name = archive_entry_pathname(e), *kind = entry_kind(e);
    if (kind)
        return lcm_error(err, err_len, -EBADMSG, "not a bundle: %s is %s", name, kind);
    int64_t size = archive_entry_size(e);
    if (!archive_entry_size_is_set(e) || size < 0 || (uint64_t)size > max)
        return lcm_error(err, err_len, -EMSGSIZE, "%s is %lld bytes, more than %zu", name,
                         (long long)size, max);
    char *buf = malloc((size_t)size + 1);
    if (!buf)
        return lcm_error(err, err_len, -ENOMEM, "out of memory");
    size_t got = 0;
    for (;;) {
        la_ssize_t n = archive_read_data(a, buf + got, (size_t)size - got);
        if (n < 0) {
            free(buf);
            return read_fail(a, s, name, err, err_len);
        }
        if (n == 0 || (got += (size_t)n) == (size_t)size)
            break;
    }
    if (got != (size_t)size) {
        free(buf);
        return lcm_error(err, err_len, -EBADMSG, "truncated bundle: %s is short", name);
    }
    buf[got] = '\0';
    *out = buf;
    *len = got;
    return 0;
}

struct head {
    char *json;
    size_t len;
    uint8_t sig[SIGN_SIG_LEN];
    bool is_signed;
};

static int
read_sig(struct archive *a, const struct src *s, struct archive_entry *e, struct head *h, char *err,
         size_t err_len)
{
    char *sig;
    size_t len;
    int rc = read_member(a, s, e, SIGN_SIG_LEN, &sig, &len, err, err_len);
    if (rc)
        return rc;
    if (len != SIGN_SIG_LEN) {
        free(sig);
        return lcm_error(err, err_len, -EKEYREJECTED, "manifest.sig is %zu bytes, not %d", len,
                         SIGN_SIG_LEN);
    }
    memcpy(h->sig, sig, SIGN_SIG_LEN);
    free(sig);
    h->is_signed = true;
    return 0;
}

/* Reads manifest.json and manifest.sig.  An entry that follows manifest.json
 * and is not manifest.sig (an unsigned bundle) is returned in '*pending'. */
static int
head_read(struct archive *a, const struct src *s, struct head *h, struct archive_entry **pending,
          char *err, size_t err_len)
{
    struct archive_entry *e;
    char q[LCM_QUOTE_LEN];
    int r = archive_read_next_header(a, &e);
    if (r == ARCHIVE_EOF)
        return lcm_error(err, err_len, -EBADMSG, "not a bundle: an empty archive");
    if (r != ARCHIVE_OK)
        return read_fail(a, s, "first entry", err, err_len);
    int rc = check_filters(a, err, err_len);
    if (rc)
        return rc;
    if (strcmp(archive_entry_pathname(e) ? archive_entry_pathname(e) : "", BUNDLE_MANIFEST_NAME))
        return lcm_error(err, err_len, -EBADMSG,
                         "not a bundle: the first entry is '%s', not manifest.json",
                         Q(archive_entry_pathname(e), q));
    rc = read_member(a, s, e, MANIFEST_MAX_LEN, &h->json, &h->len, err, err_len);
    if (rc)
        return rc;
    *pending = NULL;
    r = archive_read_next_header(a, &e);
    if (r == ARCHIVE_EOF)
        return 0;
    if (r != ARCHIVE_OK)
        return read_fail(a, s, "second entry", err, err_len);
    const char *name = archive_entry_pathname(e);
    if (name && !strcmp(name, BUNDLE_SIG_NAME))
        return read_sig(a, s, e, h, err, err_len);
    *pending = e;
    return 0;
}

/* ---- opening ----------------------------------------------------------- */

static void
limits_fill(struct bundle_limits *l, const struct bundle_limits *given)
{
    *l = given ? *given : (struct bundle_limits){0};
    if (!l->max_total)
        l->max_total = BUNDLE_DEFAULT_MAX_TOTAL;
    if (!l->max_ratio)
        l->max_ratio = BUNDLE_DEFAULT_MAX_RATIO;
    if (!l->ratio_after)
        l->ratio_after = BUNDLE_DEFAULT_RATIO_AFTER;
}

/* Signature first, then the manifest's content. */
static int
head_trust(struct bundle *b, const struct sign_key *pubkey, char *err, size_t err_len)
{
    if (pubkey && !b->is_signed)
        return lcm_error(err, err_len, -ENOKEY, "the bundle is not signed");
    if (pubkey && !sign_verify(pubkey, b->manifest_json, b->manifest_len, b->sig, SIGN_SIG_LEN))
        return lcm_error(err, err_len, -EKEYREJECTED,
                         "bad signature: the manifest was altered or signed by another key");
    b->is_verified = pubkey != NULL;
    char reason[MANIFEST_ERR_LEN];
    if (!manifest_parse(b->manifest_json, b->manifest_len, &b->m, reason, sizeof reason))
        return lcm_error(err, err_len, -EBADMSG, "bad manifest: %s", reason);
    if (b->m->total_size > b->limits.max_total)
        return lcm_error(
            err, err_len, -EMSGSIZE, "the bundle declares %llu bytes, more than the limit %llu",
            (unsigned long long)b->m->total_size, (unsigned long long)b->limits.max_total);
    return 0;
}

static int
head_load(struct bundle *b, char *err, size_t err_len)
{
    struct src *s;
    struct archive *a;
    struct archive_entry *pending;
    struct head h = {0};
    int rc = reader_open(b->fd, NULL, &s, &a, err, err_len);
    if (rc)
        return rc;
    rc = head_read(a, s, &h, &pending, err, err_len);
    if (!rc) {
        b->manifest_json = h.json;
        b->manifest_len = h.len;
        memcpy(b->sig, h.sig, sizeof b->sig);
        b->is_signed = h.is_signed;
        b->is_zstd = archive_filter_code(a, 0) == ARCHIVE_FILTER_ZSTD;
    } else {
        free(h.json);
    }
    archive_read_free(a);
    free(s);
    return rc;
}

int
bundle_open_fd(int fd, const struct sign_key *pubkey, const struct bundle_limits *limits,
               struct bundle **out, char *err, size_t err_len)
{
    struct bundle *b = calloc(1, sizeof *b);
    if (!b)
        return lcm_error(err, err_len, -ENOMEM, "out of memory");
    limits_fill(&b->limits, limits);
    b->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (b->fd < 0) {
        int rc = -errno;
        lcm_fail(err, err_len, "%s", strerror(errno));
        free(b);
        return rc;
    }
    int rc = head_load(b, err, err_len);
    if (!rc)
        rc = head_trust(b, pubkey, err, err_len);
    if (rc) {
        bundle_close(b);
        return rc;
    }
    *out = b;
    return 0;
}

int
bundle_open(const char *path, const struct sign_key *pubkey, const struct bundle_limits *limits,
            struct bundle **out, char *err, size_t err_len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int rc = -errno;
        return lcm_error(err, err_len, rc, "%s", strerror(errno));
    }
    int rc = bundle_open_fd(fd, pubkey, limits, out, err, err_len);
    close(fd);
    return rc;
}

void
bundle_close(struct bundle *b)
{
    if (!b)
        return;
    if (b->fd >= 0)
        close(b->fd);
    manifest_destroy(b->m);
    free(b->manifest_json);
    free(b->kept_data);
    free(b);
}

const struct manifest *
bundle_manifest(const struct bundle *b)
{
    return b->m;
}

bool
bundle_is_signed(const struct bundle *b)
{
    return b->is_signed;
}

bool
bundle_is_verified(const struct bundle *b)
{
    return b->is_verified;
}

bool
bundle_is_compressed(const struct bundle *b)
{
    return b->is_zstd;
}

/* ---- the streaming pass ------------------------------------------------ */

struct walk {
    struct bundle *b;
    struct archive *a;
    struct src *src;
    struct sha256 *md;
    uint8_t *seen;    /* one flag per manifest file */
    size_t *first;    /* per component: index of its first file in 'seen' */
    uint64_t total;   /* payload bytes read */
    uint64_t max_tar; /* bytes of tar the manifest can account for */
    uint8_t *buf;
    char *err;
    size_t err_len;
};

static void
walk_fini(struct walk *w)
{
    archive_read_free(w->a);
    free(w->src);
    sha256_destroy(w->md);
    free(w->seen);
    free(w->first);
    free(w->buf);
}

static int
walk_init(struct walk *w, struct bundle *b, struct sha256 *file_md, char *err, size_t err_len)
{
    const struct manifest *m = b->m;
    *w = (struct walk){.b = b, .err = err, .err_len = err_len};
    w->md = sha256_create();
    w->seen = calloc(m->n_files ? m->n_files : 1, 1);
    w->first = calloc(m->n_components, sizeof *w->first);
    w->buf = malloc(READ_BUF_LEN);
    if (!w->md || !w->seen || !w->first || !w->buf) {
        walk_fini(w);
        return lcm_error(err, err_len, -ENOMEM, "out of memory");
    }
    int rc = reader_open(b->fd, file_md, &w->src, &w->a, err, err_len);
    if (rc) {
        walk_fini(w);
        return rc;
    }
    for (size_t i = 1; i < m->n_components; i++)
        w->first[i] = w->first[i - 1] + m->components[i - 1].n_files;
    /* Per entry: a header, a pax header and its block, padding; then the
     * head and the end-of-archive blocks. */
    w->max_tar = m->total_size + (m->n_files + 2) * 4096ULL + b->manifest_len + (1ULL << 20);
    return 0;
}

/* The head again, and the same bytes as bundle_open() checked. */
static int
walk_head(struct walk *w, struct archive_entry **pending)
{
    struct head h = {0};
    int rc = head_read(w->a, w->src, &h, pending, w->err, w->err_len);
    if (!rc && (h.len != w->b->manifest_len || memcmp(h.json, w->b->manifest_json, h.len) ||
                h.is_signed != w->b->is_signed ||
                (h.is_signed && memcmp(h.sig, w->b->sig, SIGN_SIG_LEN)))) {
        rc = lcm_error(w->err, w->err_len, -ESTALE, "the bundle changed since it was opened");
    }
    free(h.json);
    return rc;
}

/* An absolute name or one with a ".." component. */
static bool
name_is_unsafe(const char *name)
{
    if (name[0] == '/')
        return true;
    for (const char *p = name; (p = strstr(p, "..")); p += 2)
        if ((p == name || p[-1] == '/') && (p[2] == '\0' || p[2] == '/'))
            return true;
    return false;
}

/* The manifest file that entry 'name' stands for, or NULL. */
static const struct manifest_file *
entry_lookup(const struct manifest *m, const char *name, size_t *comp)
{
    size_t plen = strlen(BUNDLE_PAYLOAD_DIR);
    if (strncmp(name, BUNDLE_PAYLOAD_DIR, plen))
        return NULL;
    name += plen;
    for (size_t i = 0; i < m->n_components; i++) {
        const struct manifest_component *c = &m->components[i];
        size_t tlen = strlen(c->target);
        if (!strncmp(name, c->target, tlen) && name[tlen] == '/') {
            *comp = i;
            return manifest_find_file(c, name + tlen + 1);
        }
    }
    return NULL;
}

/* Matches entry 'e' with a file of the manifest that has not been seen. */
static int
entry_match(struct walk *w, struct archive_entry *e, size_t *comp, const struct manifest_file **fp)
{
    const char *name = archive_entry_pathname(e), *kind;
    char q[LCM_QUOTE_LEN];
    if (!name || !*name || name_is_unsafe(name))
        return lcm_error(w->err, w->err_len, -EBADMSG, "unsafe entry name '%s'", Q(name, q));
    if ((kind = entry_kind(e)))
        return lcm_error(w->err, w->err_len, -EBADMSG, "entry '%s' is %s", Q(name, q), kind);
    const struct manifest_file *f = entry_lookup(w->b->m, name, comp);
    if (!f)
        return lcm_error(w->err, w->err_len, -EBADMSG, "entry '%s' is not in the manifest",
                         Q(name, q));
    size_t idx = w->first[*comp] + (size_t)(f - w->b->m->components[*comp].files);
    if (w->seen[idx]++)
        return lcm_error(w->err, w->err_len, -EBADMSG, "entry '%s' twice", Q(name, q));
    if (archive_entry_size_is_set(e) && (uint64_t)archive_entry_size(e) != f->size)
        return lcm_error(w->err, w->err_len, -EBADMSG,
                         "entry '%s' is %lld bytes, the manifest says %llu", Q(name, q),
                         (long long)archive_entry_size(e), (unsigned long long)f->size);
    *fp = f;
    return 0;
}

/* Stops decompression bombs: the tar may not outgrow what the manifest
 * accounts for, nor inflate beyond the ratio once it is large. */
static int
check_inflation(struct walk *w)
{
    uint64_t out = (uint64_t)archive_filter_bytes(w->a, 0);
    uint64_t in = (uint64_t)archive_filter_bytes(w->a, -1);
    const struct bundle_limits *l = &w->b->limits;
    if (out > w->max_tar)
        return lcm_error(w->err, w->err_len, -EMSGSIZE,
                         "the archive outgrows its manifest (%llu bytes read)",
                         (unsigned long long)out);
    if (out > l->ratio_after && out / l->max_ratio > in)
        return lcm_error(w->err, w->err_len, -EMSGSIZE,
                         "compression ratio above %u after %llu bytes", l->max_ratio,
                         (unsigned long long)out);
    return 0;
}

static int
entry_data(struct walk *w, const struct manifest_file *f, const char *name,
           const struct bundle_sink *sink, uint64_t *got)
{
    for (;;) {
        la_ssize_t n = archive_read_data(w->a, w->buf, READ_BUF_LEN);
        if (n < 0)
            return read_fail(w->a, w->src, name, w->err, w->err_len);
        if (n == 0)
            return 0;
        *got += (uint64_t)n;
        w->total += (uint64_t)n;
        if (*got > f->size || w->total > w->b->m->total_size)
            return lcm_error(w->err, w->err_len, -EMSGSIZE, "entry '%s' outgrows its declared size",
                             name);
        int rc = check_inflation(w);
        if (rc)
            return rc;
        sha256_update(w->md, w->buf, (size_t)n);
        if (sink && (rc = sink->data(sink->ctx, w->buf, (size_t)n, w->err, w->err_len)))
            return rc;
    }
}

static int
entry_read(struct walk *w, const struct manifest_component *c, const struct manifest_file *f,
           const struct bundle_sink *sink)
{
    char name[MANIFEST_MAX_TARGET + MANIFEST_MAX_PATH + 16];
    bundle_entry_name(name, sizeof name, c->target, f->path);
    int rc = sink ? sink->begin(sink->ctx, c, f, w->err, w->err_len) : 0;
    uint64_t got = 0;
    if (!rc)
        rc = entry_data(w, f, name, sink, &got);
    if (rc)
        return rc;
    uint8_t md[SHA256_LEN];
    if (got != f->size)
        return lcm_error(w->err, w->err_len, -EBADMSG,
                         "entry '%s' is %llu bytes, the manifest says %llu", name,
                         (unsigned long long)got, (unsigned long long)f->size);
    if (sha256_final(w->md, md) || memcmp(md, f->sha256, SHA256_LEN))
        return lcm_error(w->err, w->err_len, -EBADMSG,
                         "entry '%s': SHA-256 does not match the manifest", name);
    return sink ? sink->end(sink->ctx, w->err, w->err_len) : 0;
}

static int
walk_missing(struct walk *w)
{
    const struct manifest *m = w->b->m;
    for (size_t i = 0; i < m->n_components; i++)
        for (size_t j = 0; j < m->components[i].n_files; j++)
            if (!w->seen[w->first[i] + j])
                return lcm_error(w->err, w->err_len, -EBADMSG, "payload/%s/%s is missing",
                                 m->components[i].target, m->components[i].files[j].path);
    return 0;
}

int
bundle_walk(struct bundle *b, const struct bundle_sink *sink, struct sha256 *file_md,
            uint64_t *file_size, char *err, size_t err_len)
{
    struct walk w;
    struct archive_entry *e;
    int rc = walk_init(&w, b, file_md, err, err_len);
    if (rc)
        return rc;
    rc = walk_head(&w, &e);
    while (!rc) {
        int r = e ? ARCHIVE_OK : archive_read_next_header(w.a, &e);
        if (r == ARCHIVE_EOF)
            break;
        if (r != ARCHIVE_OK) {
            rc = read_fail(w.a, w.src, "payload", err, err_len);
            break;
        }
        size_t comp = 0;
        const struct manifest_file *f = NULL;
        rc = check_inflation(&w);
        if (!rc)
            rc = entry_match(&w, e, &comp, &f);
        if (!rc)
            rc = entry_read(&w, &b->m->components[comp], f, sink);
        e = NULL;
    }
    if (!rc)
        rc = walk_missing(&w);
    if (!rc && file_md)
        rc = src_drain(w.src, err, err_len);
    if (!rc && file_size)
        *file_size = (uint64_t)w.src->off;
    walk_fini(&w);
    return rc;
}

int
bundle_verify(struct bundle *b, char *err, size_t err_len)
{
    return bundle_walk(b, NULL, NULL, NULL, err, err_len);
}

/* ---- keeping one component's verified files ---------------------------- */

/* The kept files lie one after another in the component's (sorted) order. */
static uint64_t
kept_offset(const struct manifest_component *c, const struct manifest_file *f)
{
    uint64_t off = 0;
    for (const struct manifest_file *g = c->files; g < f; g++)
        off += g->size;
    return off;
}

struct keep {
    struct bundle *b;
    uint8_t *at; /* where the current entry's bytes go, or NULL */
};

static int
keep_begin(void *ctx, const struct manifest_component *c, const struct manifest_file *f, char *err,
           size_t err_len)
{
    struct keep *k = ctx;
    k->at = c == k->b->kept ? k->b->kept_data + kept_offset(c, f) : NULL;
    return 0;
}

/* The walk stops an entry that outgrows its size before it gets here. */
static int
keep_data(void *ctx, const void *buf, size_t len, char *err, size_t err_len)
{
    struct keep *k = ctx;
    if (k->at) {
        memcpy(k->at, buf, len);
        k->at += len;
    }
    return 0;
}

static int
keep_end(void *ctx, char *err, size_t err_len)
{
    return 0;
}

int
bundle_verify_keep(struct bundle *b, const char *keep, uint8_t sha256[static SHA256_LEN],
                   uint64_t *size, char *err, size_t err_len)
{
    const struct manifest_component *c = keep ? manifest_find_component(b->m, keep) : NULL;
    struct sha256 *md = sha256_create();
    free(b->kept_data);
    b->kept = NULL;
    b->kept_data = c ? malloc(c->total_size ? c->total_size : 1) : NULL;
    if (!md || (c && !b->kept_data)) {
        sha256_destroy(md);
        free(b->kept_data);
        b->kept_data = NULL;
        return lcm_error(err, err_len, -ENOMEM, "out of memory");
    }
    b->kept = c;
    struct keep k = {.b = b};
    const struct bundle_sink sink = {
        .begin = keep_begin, .data = keep_data, .end = keep_end, .ctx = &k};
    int rc = bundle_walk(b, &sink, md, size, err, err_len);
    if (!rc)
        rc = sha256_final(md, sha256) ? lcm_error(err, err_len, -ENOMEM, "out of memory") : 0;
    sha256_destroy(md);
    if (rc) {
        free(b->kept_data);
        b->kept_data = NULL;
        b->kept = NULL;
    }
    return rc;
}

int
bundle_walk_component(struct bundle *b, const struct manifest_component *c,
                      const struct bundle_sink *sink, char *err, size_t err_len)
{
    if (b->kept != c)
        return bundle_walk(b, sink, NULL, NULL, err, err_len);
    const uint8_t *p = b->kept_data;
    for (size_t i = 0; i < c->n_files; i++) {
        const struct manifest_file *f = &c->files[i];
        int rc = sink->begin(sink->ctx, c, f, err, err_len);
        if (!rc)
            rc = sink->data(sink->ctx, p, f->size, err, err_len);
        if (!rc)
            rc = sink->end(sink->ctx, err, err_len);
        if (rc)
            return rc;
        p += f->size;
    }
    return 0;
}

bool
bundle_entry_name(char *buf, size_t len, const char *target, const char *path)
{
    int n = snprintf(buf, len, "%s%s/%s", BUNDLE_PAYLOAD_DIR, target, path);
    return n >= 0 && (size_t)n < len;
}

/* ---- inspection -------------------------------------------------------- */

int
bundle_space_needed(const struct bundle *b, const char *target, uint64_t *bytes)
{
    const struct manifest_component *c = manifest_find_component(b->m, target);
    if (!c)
        return -ENOENT;
    uint64_t n = 0;
    for (size_t i = 0; i < c->n_files; i++)
        n += (c->files[i].size + 4095) / 4096 * 4096;
    *bytes = n;
    return 0;
}

json_t *
bundle_inspect(const struct bundle *b)
{
    const struct manifest *m = b->m;
    json_t *comps = json_array();
    for (size_t i = 0; comps && i < m->n_components; i++) {
        const struct manifest_component *c = &m->components[i];
        if (json_array_append_new(comps, json_pack("{s:s, s:I, s:I}", "target", c->target, "files",
                                                   (json_int_t)c->n_files, "size",
                                                   (json_int_t)c->total_size)) < 0) {
            json_decref(comps);
            return NULL;
        }
    }
    const char *sig = !b->is_signed ? "none" : b->is_verified ? "valid" : "unchecked";
    return comps ? json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:o}", "name", m->name,
                             "version", m->version, "build", m->build, "created", m->created,
                             "signature", sig, "compression", b->is_zstd ? "zstd" : "none", "size",
                             (json_int_t)m->total_size, "files", (json_int_t)m->n_files,
                             "components", comps)
                 : NULL;
}
