/* SPDX-License-Identifier: Apache-2.0 */
/*
 * eventlog: the persistent, rotated event log (eventlog.h).  The current file
 * is open O_APPEND; a line is formatted whole, written with one write(2) and
 * synced.  A write that fails is cut back off the file, so that no half line
 * and no seq that was not reported stays behind; a torn line found at open
 * (or left by a cut that failed) is ended by a newline in front of the next
 * line, in the same write.
 */
#include "monitor/eventlog.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/fault.h"
#include "lib/log.h"
#include "lib/util.h"

LOG_MODULE(eventlog);

#define EVENTLOG_MIN_BYTES 4096
#define EVENTLOG_MAX_KEEP 99
#define TIME_MS_MAX 253402300799999LL /* 9999-12-31T23:59:59.999Z */

struct eventlog {
    pthread_mutex_t mu;
    char *path;
    size_t max_bytes;
    unsigned keep;
    int fd;       /* PATH, or -1 until (re)opened by the next append */
    size_t size;  /* of PATH */
    bool is_torn; /* PATH ends in a partial line */
    uint64_t last_seq;
};

static struct log_ratelimit rotate_rl = LOG_RATELIMIT_INIT(1, 60000);

/* PATH for 'i' == 0, PATH.i otherwise. */
static void
file_path(const struct eventlog *log, unsigned i, char buf[PATH_MAX + 8])
{
    if (i)
        snprintf(buf, PATH_MAX + 8, "%s.%u", log->path, i);
    else
        snprintf(buf, PATH_MAX + 8, "%s", log->path);
}

static void
fsync_dir(const char *path)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    int fd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* Calls 'fn' with each line of 'path' (newline stripped) until it returns
 * false.  A missing or unreadable file has no lines. */
static void
for_each_line(const char *path, bool (*fn)(void *aux, const char *line, size_t len), void *aux)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) > 0) {
        if (line[n - 1] == '\n')
            n--;
        if (!fn(aux, line, (size_t)n))
            break;
    }
    free(line);
    fclose(f);
}

/* The event on 'line', or NULL for a torn or foreign line (a seq past
 * EVENTLOG_SEQ_MAX is foreign: no event of ours can have it, and taking it
 * would leave no seq for the next one). */
static json_t *
parse_line(const char *line, size_t len, uint64_t *seq)
{
    json_t *j = len ? json_loadb(line, len, 0, NULL) : NULL;
    json_t *s = json_object_get(j, "seq");
    if (!json_is_integer(s) || json_integer_value(s) <= 0 ||
        json_integer_value(s) > EVENTLOG_SEQ_MAX) {
        json_decref(j);
        return NULL;
    }
    *seq = (uint64_t)json_integer_value(s);
    return j;
}

static bool
max_seq(void *aux, const char *line, size_t len)
{
    uint64_t *max = aux, seq;
    json_t *j = parse_line(line, len, &seq);
    if (j && seq > *max)
        *max = seq;
    json_decref(j);
    return true;
}

/* The last seq: the highest in the newest file that has one. */
static uint64_t
scan_last_seq(const struct eventlog *log)
{
    char path[PATH_MAX + 8];
    for (unsigned i = 0; i <= log->keep; i++) {
        uint64_t max = 0;
        file_path(log, i, path);
        for_each_line(path, max_seq, &max);
        if (max)
            return max;
    }
    return 0;
}

static int
open_current(struct eventlog *log)
{
    int fd = open(log->path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    struct stat st;
    char last = '\n';
    if (fstat(fd, &st) < 0 || (st.st_size > 0 && pread(fd, &last, 1, st.st_size - 1) != 1)) {
        int rc = -errno;
        close(fd);
        return rc ? rc : -EIO;
    }
    fsync_dir(log->path); /* the file may be new */
    log->fd = fd;
    log->size = (size_t)st.st_size;
    log->is_torn = last != '\n';
    return 0;
}

/* PATH becomes PATH.1, PATH.1 PATH.2 ..., PATH.KEEP is dropped; the next
 * append opens a new PATH. */
static void
rotate(struct eventlog *log)
{
    char from[PATH_MAX + 8], to[PATH_MAX + 8];
    close(log->fd);
    log->fd = -1;
    for (unsigned i = log->keep; i > 0; i--) {
        file_path(log, i - 1, from);
        file_path(log, i, to);
        if (rename(from, to) < 0 && errno != ENOENT)
            log_warn_rl(&rotate_rl, "path=%s: rotating: %s", from, strerror(errno));
    }
    fault_point("eventlog.rotated");
    fsync_dir(log->path);
}

int
eventlog_open(const char *path, size_t max_bytes, unsigned keep, struct eventlog **out, char *err,
              size_t err_len)
{
    char dir[PATH_MAX];
    *out = NULL;
    if (!path || !*path || strlen(path) >= PATH_MAX) {
        snprintf(err, err_len, "eventlog: no path, or a path too long");
        return -EINVAL;
    }
    if (max_bytes < EVENTLOG_MIN_BYTES) {
        snprintf(err, err_len, "eventlog: max_bytes %zu is below %d", max_bytes,
                 EVENTLOG_MIN_BYTES);
        return -EINVAL;
    }
    if (keep < 1 || keep > EVENTLOG_MAX_KEEP) {
        snprintf(err, err_len, "eventlog: keep %u is out of 1..%d", keep, EVENTLOG_MAX_KEEP);
        return -EINVAL;
    }
    snprintf(dir, sizeof dir, "%s", path);
    int rc = fs_mkdir_p(dirname(dir), 0755);
    struct eventlog *log = rc ? NULL : calloc(1, sizeof *log);
    if (!rc && (!log || !(log->path = strdup(path))))
        rc = -ENOMEM;
    if (!rc) {
        log->max_bytes = max_bytes;
        log->keep = keep;
        rc = open_current(log);
    }
    if (rc) {
        snprintf(err, err_len, "eventlog: %s: %s", path, strerror(-rc));
        if (log)
            free(log->path);
        free(log);
        return rc;
    }
    pthread_mutex_init(&log->mu, NULL);
    log->last_seq = scan_last_seq(log);
    *out = log;
    return 0;
}

void
eventlog_close(struct eventlog *log)
{
    if (!log)
        return;
    if (log->fd >= 0)
        close(log->fd);
    pthread_mutex_destroy(&log->mu);
    free(log->path);
    free(log);
}

/* "2026-12-06T05:35:18.123Z" */
static void
format_time(uint64_t ms, char buf[32])
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    size_t n = gmtime_r(&s, &tm) ? strftime(buf, 32, "%Y-%m-%dT%H:%M:%S", &tm) : 0;
    snprintf(buf + n, 32 - n, ".%03uZ", (unsigned)(ms % 1000));
}

/* 'event' with seq, time and time_ms first (unless it has the latter two). */
static json_t *
stamp(const json_t *event, uint64_t seq)
{
    json_t *ms = json_object_get(event, "time_ms"), *j = json_object(), *v;
    json_int_t t = json_integer_value(ms);
    uint64_t time_ms = json_is_integer(ms) && t >= 0 && t <= TIME_MS_MAX ? (uint64_t)t : wall_ms();
    char time[32];
    const char *k;
    format_time(time_ms, time);
    if (!j || json_object_set_new(j, "seq", json_integer((json_int_t)seq)) ||
        (!json_object_get(event, "time") && json_object_set_new(j, "time", json_string(time))) ||
        (!ms && json_object_set_new(j, "time_ms", json_integer((json_int_t)time_ms))))
        goto err_free;
    json_object_foreach ((json_t *)event, k, v)
        if (strcmp(k, "seq") && json_object_set(j, k, v))
            goto err_free;
    return j;

err_free:
    json_decref(j);
    return NULL;
}

/* The line of 'event': "\n" (for a torn file) then JSON and "\n", in a new
 * buffer of '*len' bytes. */
static char *
format_line(const json_t *event, uint64_t seq, size_t *len)
{
    json_t *j = stamp(event, seq);
    size_t n = j ? json_dumpb(j, NULL, 0, JSON_COMPACT) : 0;
    char *buf = n ? malloc(n + 2) : NULL;
    if (buf && json_dumpb(j, buf + 1, n, JSON_COMPACT) == n) {
        buf[0] = buf[n + 1] = '\n';
        *len = n + 2;
    } else {
        free(buf);
        buf = NULL;
    }
    json_decref(j);
    return buf;
}

/* Writes 'line' ('len' bytes: "\n", the JSON, "\n") to PATH, rotating first
 * when it would grow past max_bytes.  Returns 0, or -errno with nothing
 * written; '*is_spent' tells whether the line's seq may be on disk anyway. */
static int
write_line(struct eventlog *log, const char *line, size_t len, bool *is_spent)
{
    int rc = 0;
    *is_spent = false;
    if (log->fd >= 0 && log->size > 0 && log->size + len - 1 > log->max_bytes)
        rotate(log);
    if (log->fd < 0 && (rc = open_current(log)) < 0)
        return rc;
    if (!log->is_torn)
        line++, len--;
    ssize_t w;
    do
        w = write(log->fd, line, len);
    while (w < 0 && errno == EINTR);
    if (w < 0)
        rc = -errno;
    else if ((size_t)w < len)
        rc = -ENOSPC;
    fault_point("eventlog.written");
    if (!rc && fdatasync(log->fd) < 0)
        rc = -errno;
    if (!rc) {
        log->size += len;
        log->is_torn = false;
    } else if (w > 0 && ftruncate(log->fd, (off_t)log->size) < 0) {
        struct stat st; /* cannot cut it off: end it with the next line */
        if (fstat(log->fd, &st) == 0)
            log->size = (size_t)st.st_size;
        log->is_torn = *is_spent = true;
    }
    return rc;
}

int64_t
eventlog_append(struct eventlog *log, const json_t *event)
{
    if (!json_is_object(event) || !json_is_string(json_object_get(event, "type")))
        return -EINVAL;
    pthread_mutex_lock(&log->mu);
    uint64_t seq = log->last_seq + 1;
    size_t len;
    bool is_spent = false;
    char *line = NULL;
    int rc = -EOVERFLOW;
    if (seq <= EVENTLOG_SEQ_MAX) {
        line = format_line(event, seq, &len);
        rc = line ? write_line(log, line, len, &is_spent) : -ENOMEM;
    }
    if (!rc || is_spent)
        log->last_seq = seq;
    pthread_mutex_unlock(&log->mu);
    free(line);
    return rc ? rc : (int64_t)seq;
}

uint64_t
eventlog_last_seq(struct eventlog *log)
{
    pthread_mutex_lock(&log->mu);
    uint64_t seq = log->last_seq;
    pthread_mutex_unlock(&log->mu);
    return seq;
}

/* The newest 'limit' (0: all) events that pass the filter. */
struct reader {
    uint64_t since;
    const char *type_prefix;
    size_t prefix_len, limit;
    json_t **v; /* a ring once full: 'head' is the oldest */
    size_t n, cap, head;
    bool is_failed;
};

static bool
collect(void *aux, const char *line, size_t len)
{
    struct reader *r = aux;
    uint64_t seq;
    json_t *j = parse_line(line, len, &seq);
    const char *type = json_string_value(json_object_get(j, "type"));
    if (!j || seq <= r->since ||
        (r->type_prefix && (!type || strncmp(type, r->type_prefix, r->prefix_len)))) {
        json_decref(j);
        return true;
    }
    if (r->limit && r->n == r->limit) {
        json_decref(r->v[r->head]);
        r->v[r->head] = j;
        r->head = (r->head + 1) % r->n;
        return true;
    }
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 64;
        cap = r->limit ? MIN(cap, r->limit) : cap;
        json_t **v = realloc(r->v, cap * sizeof *v);
        if (!v) {
            json_decref(j);
            r->is_failed = true;
            return false;
        }
        r->v = v;
        r->cap = cap;
    }
    r->v[r->n++] = j;
    return true;
}

json_t *
eventlog_read(struct eventlog *log, uint64_t since, size_t limit, const char *type_prefix)
{
    struct reader r = {.since = since,
                       .type_prefix = type_prefix,
                       .limit = limit,
                       .prefix_len = type_prefix ? strlen(type_prefix) : 0};
    char path[PATH_MAX + 8];
    pthread_mutex_lock(&log->mu);
    for (unsigned i = log->keep + 1; i-- > 0 && !r.is_failed;) {
        file_path(log, i, path);
        for_each_line(path, collect, &r);
    }
    pthread_mutex_unlock(&log->mu);
    json_t *list = r.is_failed ? NULL : json_array();
    for (size_t i = 0; i < r.n; i++) {
        json_t *j = r.v[(r.head + i) % r.n];
        if (!list) {
            json_decref(j);
        } else if (json_array_append_new(list, j)) { /* (which took 'j') */
            json_decref(list);
            list = NULL;
        }
    }
    free(r.v);
    return list;
}
