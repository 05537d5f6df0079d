/* SPDX-License-Identifier: Apache-2.0 */
/*
 * support: collecting a device's directory under the allow-list and caps, and
 * writing the support bundle (.tgz, index.json first) in memory.
 */
#include "lcm/support.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lcm/bank.h"
#include "lib/base64.h"
#include "lcm/lcm-private.h"
#include "lib/util.h"

#define KEY_MARKER "PRIVATE KEY-----" /* ends both lines around a PEM private key */
#define LOG_FILES_MAX 256             /* log files looked at per device */
#define REASON_MAX 200                /* bytes of a peer's reason we keep */

/* The fixed paths, most telling first: they go before the logs when the
 * device's cap runs out. */
static const char *const fixed_paths[] = {
    "platform.json",         "hostd.json",        "boot/state",        "boot/history",
    "banks/.prev-state",     "banks/A/bank.json", "banks/B/bank.json", "banks/A/manifest.json",
    "banks/B/manifest.json", "certs/ca.pem",      "certs/cert.pem",
};
#define LOG_DIR "log"
static const char *const log_patterns[] = {"*.log", "*.log.[0-9]*", "*.out"};

/* ---- names ---------------------------------------------------------------- */

bool
support_path_clean(const char *name, char out[static SUPPORT_PATH_MAX])
{
    size_t o = 0;
    bool cut = false;
    const char *p = name;
/* Room is kept for the "~" of a cut name and the NUL. */
#define PUT(c)                                                                                     \
    do {                                                                                           \
        if (o < SUPPORT_PATH_MAX - 2)                                                              \
            out[o++] = (c);                                                                        \
        else                                                                                       \
            cut = true;                                                                            \
    } while (0)
    while (*p && !cut) {
        while (*p == '/')
            p++;
        const char *end = strchrnul(p, '/');
        size_t n = (size_t)(end - p);
        if (n == 0 || (n == 1 && p[0] == '.')) {
            p = end;
            continue;
        }
        if (o)
            PUT('/');
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            PUT('_');
            PUT('_');
        } else {
            for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)p[i];
                PUT(c > 0x20 && c < 0x7f && c != '\\' ? (char)c : '_');
            }
        }
        p = end;
    }
#undef PUT
    if (cut)
        out[o++] = '~';
    if (!o)
        out[o++] = '_';
    out[o] = '\0';
    return strcmp(out, name) != 0;
}

/* ---- collecting a device directory ---------------------------------------- */

struct collector {
    const struct support_limits *lim;
    size_t used; /* bytes taken so far */
    json_t *files, *omitted;
    int rc; /* -ENOMEM once an allocation failed */
};

static void
append(struct collector *c, json_t *array, json_t *item)
{
    if (json_array_append_new(array, item) < 0)
        c->rc = -ENOMEM;
}

static void
omit(struct collector *c, const char *name, const char *reason)
{
    append(c, c->omitted, json_pack("{s:s,s:s}", "name", name, "reason", reason));
}

static void
omit_errno(struct collector *c, const char *name, int e)
{
    char buf[128];
    omit(c, name, e == ELOOP ? "a symbolic link" : strerror_r(e, buf, sizeof buf));
}

/* Reads up to 'len' bytes at 'off'; returns the count (short at EOF) or -errno. */
static ssize_t
read_at(int fd, uint8_t *buf, size_t len, off_t off)
{
    size_t n = 0;
    while (n < len) {
        ssize_t r = pread(fd, buf + n, len - n, off + (off_t)n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            break;
        n += (size_t)r;
    }
    return (ssize_t)n;
}

/* Takes the tail of regular file 'leaf' of directory 'dfd' as 'name'. */
static void
collect_file(struct collector *c, int dfd, const char *leaf, const char *name)
{
    int fd = openat(dfd, leaf, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        if (errno != ENOENT)
            omit_errno(c, name, errno);
        return;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        omit_errno(c, name, errno);
        goto close;
    }
    if (!S_ISREG(st.st_mode)) {
        omit(c, name, "not a regular file");
        goto close;
    }
    size_t size = (size_t)st.st_size, room = c->lim->total_max - c->used;
    if (size && !room) {
        char why[96];
        snprintf(why, sizeof why, "over the device's cap of %zu bytes", c->lim->total_max);
        omit(c, name, why);
        goto close;
    }
    size_t want = MIN(size, MIN(c->lim->file_max, room));
    uint8_t *buf = malloc(want ? want : 1);
    if (!buf) {
        c->rc = -ENOMEM;
        goto close;
    }
    ssize_t n = read_at(fd, buf, want, (off_t)(size - want));
    if (n < 0) {
        omit_errno(c, name, (int)-n);
    } else if (memmem(buf, (size_t)n, KEY_MARKER, strlen(KEY_MARKER))) {
        omit(c, name, "holds a private key");
    } else {
        char *b64 = malloc(base64_encoded_size((size_t)n));
        if (b64) {
            size_t b64_len = base64_encode(buf, (size_t)n, b64);
            append(c, c->files,
                   json_pack("{s:s,s:I,s:I,s:b,s:s%}", "name", name, "size", (json_int_t)n,
                             "full_size", (json_int_t)size, "truncated", want < size, "data", b64,
                             b64_len));
            c->used += (size_t)n;
        } else {
            c->rc = -ENOMEM;
        }
        free(b64);
    }
    free(buf);
close:
    close(fd);
}

/* Opens directory 'name' of 'dfd', not through a symbolic link.  Returns the
 * descriptor or -errno (-ELOOP: a link). */
static int
open_dir(int dfd, const char *name)
{
    int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0)
        return fd;
    int e = errno;
    struct stat st;
    /* O_DIRECTORY wins over O_NOFOLLOW: a link to a directory says ENOTDIR. */
    if (e == ENOTDIR && fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
        e = ELOOP;
    return -e;
}

/* Collects 'path' (relative, "boot/state"), walking its directories with
 * O_NOFOLLOW: a missing one means there is nothing to collect. */
static void
collect_path(struct collector *c, int root, const char *path)
{
    char comp[SUPPORT_PATH_MAX];
    int dfd = root;
    const char *p = path, *slash;
    while ((slash = strchr(p, '/'))) {
        snprintf(comp, sizeof comp, "%.*s", (int)(slash - p), p);
        int sub = open_dir(dfd, comp);
        if (dfd != root)
            close(dfd);
        if (sub < 0) {
            if (sub != -ENOENT)
                omit_errno(c, path, -sub);
            return;
        }
        dfd = sub;
        p = slash + 1;
    }
    collect_file(c, dfd, p, path);
    if (dfd != root)
        close(dfd);
}

static int
cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool
is_log_name(const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(log_patterns); i++)
        if (!fnmatch(log_patterns[i], name, FNM_PERIOD))
            return true;
    return false;
}

/* The names of the log files in log/, at most LOG_FILES_MAX of them. */
struct log_names {
    char *names[LOG_FILES_MAX];
    size_t n, more;
};

/* fs_dir_each()'s callback: keeps 'name' if it is a log's. */
static int
log_name(int dfd, const char *name, void *aux)
{
    struct log_names *l = aux;
    if (!is_log_name(name))
        return 0;
    if (l->n == LOG_FILES_MAX) {
        l->more++;
        return 0;
    }
    if (!(l->names[l->n] = strdup(name)))
        return -ENOMEM;
    l->n++;
    return 0;
}

/* Collects the logs (log/ *.log, *.log.N, *.out) in name order. */
static void
collect_logs(struct collector *c, int root)
{
    int fd = open_dir(root, LOG_DIR);
    if (fd < 0) {
        if (fd != -ENOENT)
            omit_errno(c, LOG_DIR, -fd);
        return;
    }
    struct log_names l = {.n = 0};
    int rc = fs_dir_each(fd, log_name, &l);
    if (rc == -ENOMEM)
        c->rc = rc;
    else if (rc < 0)
        omit_errno(c, LOG_DIR, -rc);
    char **names = l.names;
    size_t n = l.n, more = l.more;
    qsort(names, n, sizeof names[0], cmp_names);
    for (size_t i = 0; i < n; i++) {
        char rel[SUPPORT_PATH_MAX + 8], clean[SUPPORT_PATH_MAX];
        snprintf(rel, sizeof rel, LOG_DIR "/%s", names[i]);
        support_path_clean(rel, clean);
        if (c->rc == 0)
            collect_file(c, fd, names[i], clean);
        free(names[i]);
    }
    if (more) {
        char why[96];
        snprintf(why, sizeof why, "%zu more log files left out (at most %d)", more, LOG_FILES_MAX);
        omit(c, LOG_DIR, why);
    }
    close(fd);
}

int
support_collect(const char *devdir, const struct support_limits *lim, json_t **part, char *err,
                size_t err_len)
{
    int root = open(devdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root < 0) {
        char q[LCM_QUOTE_LEN];
        int e = errno;
        return lcm_error(err, err_len, -e, "%s: %s", lcm_quote(devdir, q, sizeof q), strerror(e));
    }
    struct collector c = {.lim = lim, .files = json_array(), .omitted = json_array()};
    if (!c.files || !c.omitted)
        c.rc = -ENOMEM;
    for (size_t i = 0; i < ARRAY_SIZE(fixed_paths) && !c.rc; i++)
        collect_path(&c, root, fixed_paths[i]);
    if (!c.rc)
        collect_logs(&c, root);
    close(root);
    json_t *versions = c.rc ? NULL : bank_status(devdir);
    if (!versions || c.rc) {
        json_decref(c.files);
        json_decref(c.omitted);
        return lcm_error(err, err_len, -ENOMEM, "out of memory");
    }
    *part =
        json_pack("{s:o,s:o,s:o}", "files", c.files, "omitted", c.omitted, "versions", versions);
    return *part ? 0 : lcm_error(err, err_len, -ENOMEM, "out of memory");
}

/* ---- the bundle ----------------------------------------------------------- */

struct support_entry {
    char path[SUPPORT_PATH_MAX];
    uint8_t *data;
    size_t len;
};

struct support_bundle {
    struct support_limits lim;
    size_t max_len;
    struct support_entry *entries;
    size_t n_entries, cap;
    json_t *devices, *parts, *omitted, *errors;
};

struct support_bundle *
support_bundle_create(const struct support_limits *lim, size_t max_len)
{
    struct support_bundle *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->lim = *lim;
    b->max_len = max_len;
    b->devices = json_array();
    b->parts = json_array();
    b->omitted = json_array();
    b->errors = json_array();
    if (!b->devices || !b->parts || !b->omitted || !b->errors) {
        support_bundle_destroy(b);
        return NULL;
    }
    return b;
}

void
support_bundle_destroy(struct support_bundle *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->n_entries; i++)
        free(b->entries[i].data);
    free(b->entries);
    json_decref(b->devices);
    json_decref(b->parts);
    json_decref(b->omitted);
    json_decref(b->errors);
    free(b);
}

/* Adds DEVICE/NAME with 'data' (taken over, freed on failure too) and its
 * line in "parts".  Returns 0 or -ENOMEM. */
static int
add_entry(struct support_bundle *b, const char *device, const char *name, const char *source,
          uint8_t *data, size_t len, bool truncated, json_int_t full_size)
{
    if (b->n_entries == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 32;
        struct support_entry *e = realloc(b->entries, cap * sizeof *e);
        if (!e) {
            free(data);
            return -ENOMEM;
        }
        b->entries = e;
        b->cap = cap;
    }
    struct support_entry *e = &b->entries[b->n_entries];
    char joined[2 * SUPPORT_PATH_MAX];
    snprintf(joined, sizeof joined, "%s/%s", device, name);
    support_path_clean(joined, e->path);
    json_t *p = json_pack("{s:s,s:s,s:s,s:I,s:b}", "device", device, "path", e->path, "source",
                          source, "size", (json_int_t)len, "truncated", truncated);
    if (p && full_size >= 0)
        json_object_set_new(p, "full_size", json_integer(full_size));
    if (!p || json_array_append_new(b->parts, p) < 0) {
        free(data);
        return -ENOMEM;
    }
    e->data = data;
    e->len = len;
    b->n_entries++;
    return 0;
}

int
support_bundle_add_json(struct support_bundle *b, const char *device, const char *name,
                        const char *source, json_t *value)
{
    char *text = json_dumps(value, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    if (!text)
        return -ENOMEM;
    size_t len = strlen(text);
    text[len] = '\n'; /* json_dumps() leaves no newline: the NUL's byte is ours */
    return add_entry(b, device, name, source, (uint8_t *)text, len + 1, false, -1);
}

static int add_problem(struct support_bundle *b, const char *device, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
add_problem(struct support_bundle *b, const char *device, const char *fmt, ...)
{
    char msg[3 * SUPPORT_ERR_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_t *e = json_pack("{s:s,s:s}", "device", device, "error", msg);
    return e && json_array_append_new(b->errors, e) == 0 ? 0 : -ENOMEM;
}

int
support_bundle_add_error(struct support_bundle *b, const char *device, const char *id,
                         const char *error)
{
    json_t *d = json_pack("{s:s,s:s,s:s,s:s,s:i}", "device", device, "id", id, "source", "none",
                          "error", error, "files", 0);
    if (!d || json_array_append_new(b->devices, d) < 0)
        return -ENOMEM;
    return add_problem(b, device, "%s", error);
}

/* Adds one entry of a part's "files" (from a peer: checked).  '*used' counts
 * the device's bytes.  Returns 0 (a bad entry is an error in the index, not
 * a failure) or -ENOMEM. */
static int
add_file(struct support_bundle *b, const char *device, const char *source, size_t idx, json_t *f,
         size_t *used, unsigned *n_files)
{
    const char *name = json_string_value(json_object_get(f, "name"));
    json_t *data = json_object_get(f, "data");
    if (!name || !*name || !json_is_string(data))
        return add_problem(b, device, "file %zu: no name or data", idx);
    char clean[SUPPORT_PATH_MAX];
    support_path_clean(name, clean);
    size_t text_len = json_string_length(data), max = base64_decoded_max(text_len);
    if (max > b->lim.total_max - *used)
        return add_problem(b, device, "file %s: over the device's cap of %zu bytes", clean,
                           b->lim.total_max);
    uint8_t *buf = malloc(max ? max : 1);
    if (!buf)
        return -ENOMEM;
    size_t len;
    if (!base64_decode(json_string_value(data), text_len, buf, &len)) {
        free(buf);
        return add_problem(b, device, "file %s: data is not base64", clean);
    }
    json_t *full = json_object_get(f, "full_size");
    json_int_t full_size =
        json_is_integer(full) && json_integer_value(full) >= 0 ? json_integer_value(full) : -1;
    *used += len;
    (*n_files)++;
    return add_entry(b, device, clean, source, buf, len,
                     json_is_true(json_object_get(f, "truncated")), full_size);
}

int
support_bundle_add_device(struct support_bundle *b, const char *device, const char *id,
                          const char *source, const char *reason, json_t *part, char *err,
                          size_t err_len)
{
    json_t *files = json_object_get(part, "files");
    if (!json_is_object(part) || !json_is_array(files))
        return lcm_error(err, err_len, -EBADMSG, "not a support part (no files array)");
    int rc = 0;
    json_t *versions = json_object_get(part, "versions");
    if (versions)
        rc = support_bundle_add_json(b, device, "versions.json", source, versions);
    size_t used = 0, i;
    unsigned n_files = 0;
    json_t *f;
    json_array_foreach (files, i, f) {
        if (rc)
            break;
        rc = add_file(b, device, source, i, f, &used, &n_files);
    }
    json_t *o;
    json_array_foreach (json_object_get(part, "omitted"), i, o) {
        const char *name = json_string_value(json_object_get(o, "name"));
        const char *why = json_string_value(json_object_get(o, "reason"));
        char clean[SUPPORT_PATH_MAX];
        support_path_clean(name ? name : "", clean);
        json_t *e = json_pack("{s:s,s:s,s:s%}", "device", device, "name", clean, "reason",
                              why ? why : "", why ? strnlen(why, REASON_MAX) : 0);
        if (!rc && (!e || json_array_append_new(b->omitted, e) < 0))
            rc = -ENOMEM;
    }
    json_t *d = json_pack("{s:s,s:s,s:s,s:i}", "device", device, "id", id, "source", source,
                          "files", (int)n_files);
    if (d && reason)
        json_object_set_new(d, "reason", json_string(reason));
    if (!rc && (!d || json_array_append_new(b->devices, d) < 0))
        rc = -ENOMEM;
    return rc ? lcm_error(err, err_len, rc, "out of memory") : 0;
}

/* The archive's output: a buffer that grows up to 'max'. */
struct sink {
    uint8_t *buf;
    size_t len, cap, max;
};

static la_ssize_t
sink_write(struct archive *a, void *aux, const void *data, size_t n)
{
    struct sink *s = aux;
    if (n > s->max - s->len) {
        archive_set_error(a, EFBIG, "the bundle would exceed %zu bytes", s->max);
        return -1;
    }
    if (s->len + n > s->cap) {
        size_t cap = MAX(s->cap * 2, s->len + n);
        uint8_t *p = realloc(s->buf, MIN(cap, s->max));
        if (!p) {
            archive_set_error(a, ENOMEM, "out of memory");
            return -1;
        }
        s->buf = p;
        s->cap = MIN(cap, s->max);
    }
    memcpy(s->buf + s->len, data, n);
    s->len += n;
    return (la_ssize_t)n;
}

static int
write_entry(struct archive *a, const char *path, const void *data, size_t len, time_t mtime)
{
    struct archive_entry *e = archive_entry_new();
    if (!e)
        return -ENOMEM;
    archive_entry_set_pathname(e, path);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, (la_int64_t)len);
    archive_entry_set_mtime(e, mtime, 0);
    int r = archive_write_header(a, e);
    archive_entry_free(e);
    if (r < ARCHIVE_WARN || (len && archive_write_data(a, data, len) != (la_ssize_t)len))
        return archive_errno(a) > 0 ? -archive_errno(a) : -EIO;
    return 0;
}

int
support_bundle_finish(struct support_bundle *b, const char *host, time_t created, void **tgz,
                      size_t *len, json_t **index, char *err, size_t err_len)
{
    char when[32];
    struct tm tm;
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&created, &tm));
    json_t *idx =
        json_pack("{s:s,s:s,s:O,s:O,s:O,s:O}", "created", when, "host", host, "devices", b->devices,
                  "parts", b->parts, "omitted", b->omitted, "errors", b->errors);
    char *text = idx ? json_dumps(idx, JSON_INDENT(2)) : NULL;
    if (!text) {
        json_decref(idx);
        return lcm_error(err, err_len, -ENOMEM, "out of memory");
    }
    struct sink s = {.max = b->max_len};
    struct archive *a = archive_write_new();
    int rc = 0;
    if (!a || archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
        archive_write_add_filter_gzip(a) != ARCHIVE_OK ||
        archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
        archive_write_open(a, &s, NULL, sink_write, NULL) != ARCHIVE_OK)
        rc = a ? -EIO : -ENOMEM;
    if (!rc)
        rc = write_entry(a, "index.json", text, strlen(text), created);
    for (size_t i = 0; i < b->n_entries && !rc; i++)
        rc = write_entry(a, b->entries[i].path, b->entries[i].data, b->entries[i].len, created);
    if (!rc && archive_write_close(a) != ARCHIVE_OK)
        rc = archive_errno(a) > 0 ? -archive_errno(a) : -EIO;
    if (rc) {
        char q[160];
        lcm_error(err, err_len, rc, "writing the bundle: %s",
                  a ? lcm_quote(archive_error_string(a) ? archive_error_string(a) : strerror(-rc),
                                q, sizeof q)
                    : "out of memory");
    }
    archive_write_free(a);
    free(text);
    if (rc) {
        free(s.buf);
        json_decref(idx);
        return rc;
    }
    *tgz = s.buf;
    *len = s.len;
    *index = idx;
    return 0;
}
