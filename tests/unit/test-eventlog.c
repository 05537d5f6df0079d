/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The event log (monitor/eventlog.h) in a temporary directory: seq and time
 * stamped on, seq continued after a reopen, rotation keeping KEEP files and
 * reading across them, limits and filters, a torn last line skipped and
 * appended past, refusals, and appends from several threads.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/unit/check.h"
#include "monitor/eventlog.h"
#include "lib/log.h"
#include "lib/util.h"

struct dir {
    char root[64];
    char path[128]; /* ROOT/events.log */
};

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

/* The directory of the running test: removed by dir_fini(), or, when a
 * failed assert returned before it, by the next dir_init() or at exit. */
static char live_root[64];

static void
remove_live_root(void)
{
    if (live_root[0])
        nftw(live_root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    live_root[0] = '\0';
}

static void
dir_init(struct dir *d)
{
    static bool is_registered;
    if (!is_registered)
        atexit(remove_live_root);
    is_registered = true;
    remove_live_root();
    log_init("test-eventlog", NULL, LL_ERR);
    snprintf(d->root, sizeof d->root, "/tmp/test-eventlog.XXXXXX");
    if (!mkdtemp(d->root))
        abort();
    snprintf(live_root, sizeof live_root, "%s", d->root);
    snprintf(d->path, sizeof d->path, "%s/events.log", d->root);
}

static void
dir_fini(struct dir *d)
{
    remove_live_root();
    struct stat st;
    if (stat(d->root, &st) == 0)
        fprintf(stderr, "%s: left behind\n", d->root);
}

static struct eventlog *
open_log(const char *path, size_t max_bytes, unsigned keep)
{
    struct eventlog *log;
    char err[256] = "";
    int rc = eventlog_open(path, max_bytes, keep, &log, err, sizeof err);
    if (rc)
        fprintf(stderr, "eventlog_open: %s\n", err);
    return rc ? NULL : log;
}

static int64_t
append(struct eventlog *log, const char *type, const char *text)
{
    json_t *ev = json_pack("{s:s,s:s}", "type", type, "text", text ? text : "");
    int64_t seq = eventlog_append(log, ev);
    json_decref(ev);
    return seq;
}

static size_t
file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (size_t)st.st_size : (size_t)-1;
}

static size_t
count_lines(const char *path)
{
    size_t len, n = 0;
    char *text = fs_read_file(path, 1 << 20, &len);
    for (size_t i = 0; text && i < len; i++)
        n += text[i] == '\n';
    free(text);
    return n;
}

static int64_t
seq_at(json_t *list, size_t i)
{
    return json_integer_value(json_object_get(json_array_get(list, i), "seq"));
}

static void
append_adds_seq_and_time(void)
{
    struct dir d;
    dir_init(&d);
    struct eventlog *log = open_log(d.path, 4096, 3);
    ASSERT_NOT_NULL(log);
    ASSERT_EQ(eventlog_last_seq(log), 0);
    ASSERT_EQ(append(log, "dpu.up", "dpu1 is up"), 1);
    json_t *ev = json_pack("{s:s,s:s,s:I,s:i}", "type", "x", "time", "2026-01-01T00:00:00.000Z",
                           "time_ms", (json_int_t)1767225600000, "seq", 99);
    ASSERT_EQ(eventlog_append(log, ev), 2); /* the log numbers; a caller's seq is not kept */
    json_decref(ev);
    ASSERT_EQ(eventlog_last_seq(log), 2);

    size_t len;
    char *text = fs_read_file(d.path, 1 << 16, &len);
    ASSERT_NOT_NULL(text);
    char *nl = strchr(text, '\n');
    ASSERT_NOT_NULL(nl);
    json_t *first = json_loadb(text, (size_t)(nl - text), 0, NULL);
    free(text);
    ASSERT_EQ(json_integer_value(json_object_get(first, "seq")), 1);
    ASSERT_STREQ(json_string_value(json_object_get(first, "type")), "dpu.up");
    ASSERT_STREQ(json_string_value(json_object_get(first, "text")), "dpu1 is up");
    const char *t = json_string_value(json_object_get(first, "time"));
    ASSERT_NOT_NULL(t);
    ASSERT_EQ(strlen(t), 24); /* 2026-12-06T05:35:18.123Z */
    ASSERT_TRUE(t[4] == '-' && t[10] == 'T' && t[19] == '.' && t[23] == 'Z');
    ASSERT_GT(json_integer_value(json_object_get(first, "time_ms")), 1700000000000LL);
    json_decref(first);

    json_t *all = eventlog_read(log, 0, 0, NULL);
    ASSERT_EQ(json_array_size(all), 2);
    json_t *second = json_array_get(all, 1);
    ASSERT_EQ(seq_at(all, 1), 2);
    ASSERT_STREQ(json_string_value(json_object_get(second, "time")), "2026-01-01T00:00:00.000Z");
    ASSERT_EQ(json_integer_value(json_object_get(second, "time_ms")), 1767225600000LL);
    json_decref(all);
    eventlog_close(log);
    dir_fini(&d);
}

static void
time_is_made_from_the_events_time_ms(void)
{
    struct dir d;
    dir_init(&d);
    struct eventlog *log = open_log(d.path, 4096, 1);
    json_t *ev = json_pack("{s:s,s:I}", "type", "x", "time_ms", (json_int_t)1796534118123);
    ASSERT_EQ(eventlog_append(log, ev), 1);
    json_decref(ev);
    json_t *all = eventlog_read(log, 0, 0, NULL);
    ASSERT_STREQ(json_string_value(json_object_get(json_array_get(all, 0), "time")),
                 "2026-12-06T05:15:18.123Z");
    json_decref(all);
    eventlog_close(log);
    dir_fini(&d);
}

static void
reopen_continues_seq(void)
{
    struct dir d;
    dir_init(&d);
    struct eventlog *log = open_log(d.path, 4096, 3);
    for (int i = 1; i <= 5; i++)
        ASSERT_EQ(append(log, "x", NULL), i);
    eventlog_close(log);
    log = open_log(d.path, 4096, 3);
    ASSERT_EQ(eventlog_last_seq(log), 5);
    ASSERT_EQ(append(log, "x", NULL), 6);
    json_t *all = eventlog_read(log, 0, 0, NULL);
    ASSERT_EQ(json_array_size(all), 6);
    json_decref(all);
    eventlog_close(log);
    dir_fini(&d);
}

static void
rotation_keeps_keep_files_and_drops_the_oldest(void)
{
    struct dir d;
    dir_init(&d);
    char pad[400], path[160];
    memset(pad, 'p', sizeof pad - 1);
    pad[sizeof pad - 1] = '\0';
    struct eventlog *log = open_log(d.path, 4096, 2);
    for (int i = 1; i <= 60; i++)
        ASSERT_EQ(append(log, "x", pad), i);
    size_t n_lines = 0;
    for (unsigned i = 0; i <= 2; i++) {
        snprintf(path, sizeof path, i ? "%s.%u" : "%s", d.path, i);
        ASSERT_LE(file_size(path), 4096);
        ASSERT_GT(file_size(path), 0);
        n_lines += count_lines(path);
    }
    snprintf(path, sizeof path, "%s.3", d.path);
    ASSERT_EQ(file_size(path), (size_t)-1);

    json_t *all = eventlog_read(log, 0, 0, NULL);
    size_t n = json_array_size(all);
    ASSERT_GT(n, 10);
    ASSERT_LT(n, 30);              /* three files of about 9 events */
    ASSERT_EQ(n, n_lines);         /* every kept file read */
    for (size_t i = 0; i < n; i++) /* oldest first, no gap, up to the last */
        ASSERT_EQ(seq_at(all, i), 60 - (int64_t)n + 1 + (int64_t)i);
    json_decref(all);
    eventlog_close(log);

    /* Reopened right after a rotation (PATH empty): seq goes on from PATH.1. */
    log = open_log(d.path, 4096, 2);
    ASSERT_EQ(eventlog_last_seq(log), 60);
    eventlog_close(log);
    snprintf(path, sizeof path, "%s.2", d.path);
    ASSERT_EQ(rename(d.path, path), 0);
    snprintf(path, sizeof path, "%s.1", d.path);
    ASSERT_EQ(unlink(path), 0);
    int fd = creat(d.path, 0644);
    ASSERT_GE(fd, 0);
    close(fd);
    log = open_log(d.path, 4096, 2);
    ASSERT_EQ(eventlog_last_seq(log), 60);
    ASSERT_EQ(append(log, "x", NULL), 61);
    eventlog_close(log);
    dir_fini(&d);
}

static void
read_limit_returns_the_newest(void)
{
    struct dir d;
    dir_init(&d);
    struct eventlog *log = open_log(d.path, 4096, 3);
    for (int i = 1; i <= 10; i++)
        append(log, "x", NULL);
    json_t *l = eventlog_read(log, 0, 3, NULL);
    ASSERT_EQ(json_array_size(l), 3);
    ASSERT_EQ(seq_at(l, 0), 8);
    ASSERT_EQ(seq_at(l, 2), 10);
    json_decref(l);
    l = eventlog_read(log, 5, 0, NULL);
    ASSERT_EQ(json_array_size(l), 5);
    ASSERT_EQ(seq_at(l, 0), 6);
    json_decref(l);
    l = eventlog_read(log, 9, 3, NULL);
    ASSERT_EQ(json_array_size(l), 1);
    ASSERT_EQ(seq_at(l, 0), 10);
    json_decref(l);
    l = eventlog_read(log, 10, 3, NULL);
    ASSERT_EQ(json_array_size(l), 0);
    json_decref(l);
    eventlog_close(log);
    dir_fini(&d);
}

static void
read_filters_by_type_prefix(void)
{
    struct dir d;
    dir_init(&d);
    struct eventlog *log = open_log(d.path, 4096, 3);
    append(log, "alarm.raised", NULL);
    append(log, "dpu.up", NULL);
    append(log, "alarm.cleared", NULL);
    append(log, "alarms", NULL);
    json_t *l = eventlog_read(log, 0, 0, "alarm.");
    ASSERT_EQ(json_array_size(l), 2);
    ASSERT_EQ(seq_at(l, 0), 1);
    ASSERT_EQ(seq_at(l, 1), 3);
    json_decref(l);
    l = eventlog_read(log, 0, 1, "alarm");
    ASSERT_EQ(json_array_size(l), 1);
    ASSERT_EQ(seq_at(l, 0), 4);
    json_decref(l);
    l = eventlog_read(log, 0, 0, "boot");
    ASSERT_EQ(json_array_size(l), 0);
    json_decref(l);
    eventlog_close(log);
    dir_fini(&d);
}

static void
torn_last_line_is_skipped_and_appending_goes_on(void)
{
    struct dir d;
    dir_init(&d);
    struct eventlog *log = open_log(d.path, 4096, 3);
    append(log, "x", "one");
    append(log, "x", "two");
    eventlog_close(log);
    int fd = open(d.path, O_WRONLY | O_APPEND);
    ASSERT_GE(fd, 0);
    static const char torn[] = "{\"seq\":3,\"type\":\"x\",\"te";
    ASSERT_EQ(write(fd, torn, strlen(torn)), (ssize_t)strlen(torn));
    close(fd);

    log = open_log(d.path, 4096, 3);
    ASSERT_NOT_NULL(log);
    ASSERT_EQ(eventlog_last_seq(log), 2);
    json_t *l = eventlog_read(log, 0, 0, NULL);
    ASSERT_EQ(json_array_size(l), 2);
    json_decref(l);
    ASSERT_EQ(append(log, "x", "three"), 3);
    ASSERT_EQ(append(log, "x", "four"), 4);
    l = eventlog_read(log, 0, 0, NULL);
    ASSERT_EQ(json_array_size(l), 4);
    ASSERT_EQ(seq_at(l, 2), 3);
    ASSERT_STREQ(json_string_value(json_object_get(json_array_get(l, 2), "text")), "three");
    json_decref(l);
    eventlog_close(log);
    /* The torn bytes stay, on a line of their own. */
    size_t len;
    char *text = fs_read_file(d.path, 1 << 16, &len);
    ASSERT_NOT_NULL(strstr(text, "\"te\n{"));
    free(text);
    dir_fini(&d);
}

/* A line whose seq leaves no room (or no exact JSON number) for the next:
 * not an event; the log goes on after the last seq that is (fuzz-eventlog
 * showed a log stuck behind a seq of 2^63 - 1: every append failed). */
static void
seq_past_the_max_is_foreign(void)
{
    struct dir d;
    dir_init(&d);
    static const char lines[] = "{\"seq\":7,\"type\":\"x\"}\n"
                                "{\"seq\":9223372036854775807,\"type\":\"x\"}\n"
                                "{\"seq\":9007199254740992,\"type\":\"x\"}\n";
    ASSERT_EQ(fs_write_atomic(d.path, lines, strlen(lines)), 0);
    struct eventlog *log = open_log(d.path, 4096, 3);
    ASSERT_NOT_NULL(log);
    ASSERT_EQ(eventlog_last_seq(log), 7);
    ASSERT_EQ(append(log, "x", "eight"), 8);
    json_t *l = eventlog_read(log, 0, 0, NULL);
    ASSERT_EQ(json_array_size(l), 2);
    ASSERT_EQ(seq_at(l, 1), 8);
    json_decref(l);
    eventlog_close(log);

    /* The last seq there is: the log says so rather than wrap. */
    char line[64];
    snprintf(line, sizeof line, "{\"seq\":%lld,\"type\":\"x\"}\n", EVENTLOG_SEQ_MAX);
    ASSERT_EQ(fs_write_atomic(d.path, line, strlen(line)), 0);
    log = open_log(d.path, 4096, 3);
    ASSERT_EQ(eventlog_last_seq(log), EVENTLOG_SEQ_MAX);
    ASSERT_EQ(append(log, "x", "one too many"), -EOVERFLOW);
    eventlog_close(log);
    dir_fini(&d);
}

static void
bad_events_and_arguments_are_refused(void)
{
    struct dir d;
    dir_init(&d);
    struct eventlog *log = NULL;
    char err[256] = "";
    ASSERT_EQ(eventlog_open(d.path, 100, 3, &log, err, sizeof err), -EINVAL);
    ASSERT_STREQ(err, "eventlog: max_bytes 100 is below 4096");
    ASSERT_EQ(eventlog_open(d.path, 4096, 0, &log, err, sizeof err), -EINVAL);
    ASSERT_STREQ(err, "eventlog: keep 0 is out of 1..99");
    ASSERT_EQ(eventlog_open(d.path, 4096, 100, &log, err, sizeof err), -EINVAL);
    ASSERT_NULL(log);
    log = open_log(d.path, 4096, 3);
    json_t *arr = json_array(), *no_type = json_pack("{s:s}", "text", "x"),
           *bad_type = json_pack("{s:i}", "type", 5);
    ASSERT_EQ(eventlog_append(log, arr), -EINVAL);
    ASSERT_EQ(eventlog_append(log, no_type), -EINVAL);
    ASSERT_EQ(eventlog_append(log, bad_type), -EINVAL);
    ASSERT_EQ(eventlog_append(log, NULL), -EINVAL);
    json_decref(arr);
    json_decref(no_type);
    json_decref(bad_type);
    ASSERT_EQ(eventlog_last_seq(log), 0);
    ASSERT_EQ(file_size(d.path), 0);
    eventlog_close(log);
    eventlog_close(NULL);
    dir_fini(&d);
}

static void
open_creates_missing_directories(void)
{
    struct dir d;
    dir_init(&d);
    char path[192];
    snprintf(path, sizeof path, "%s/var/lib/dse/events.log", d.root);
    struct eventlog *log = open_log(path, 4096, 3);
    ASSERT_NOT_NULL(log);
    ASSERT_EQ(append(log, "x", NULL), 1);
    eventlog_close(log);
    ASSERT_GT(file_size(path), 0);
    /* A file where the directory should be: refused with the reason. */
    char err[256] = "";
    snprintf(path, sizeof path, "%s/var/lib/dse/events.log/sub/events.log", d.root);
    ASSERT_EQ(eventlog_open(path, 4096, 3, &log, err, sizeof err), -ENOTDIR);
    ASSERT_TRUE(strstr(err, "Not a directory") != NULL);
    dir_fini(&d);
}

#define N_THREADS 4
#define N_PER_THREAD 50

static void *
appender(void *arg)
{
    struct eventlog *log = arg;
    for (int i = 0; i < N_PER_THREAD; i++)
        if (append(log, "thread", "from a thread") <= 0)
            return (void *)1;
    return NULL;
}

static void
appends_from_threads_get_unique_seqs(void)
{
    struct dir d;
    dir_init(&d);
    struct eventlog *log = open_log(d.path, 1 << 20, 3);
    pthread_t t[N_THREADS];
    for (int i = 0; i < N_THREADS; i++)
        ASSERT_EQ(pthread_create(&t[i], NULL, appender, log), 0);
    void *bad = NULL, *r;
    for (int i = 0; i < N_THREADS; i++) {
        pthread_join(t[i], &r);
        bad = bad ? bad : r;
    }
    ASSERT_NULL(bad);
    json_t *l = eventlog_read(log, 0, 0, NULL);
    ASSERT_EQ(json_array_size(l), N_THREADS * N_PER_THREAD);
    for (size_t i = 0; i < json_array_size(l); i++)
        ASSERT_EQ(seq_at(l, i), (int64_t)i + 1);
    json_decref(l);
    eventlog_close(log);
    dir_fini(&d);
}

TEST_MAIN(TEST(append_adds_seq_and_time), TEST(time_is_made_from_the_events_time_ms),
          TEST(reopen_continues_seq), TEST(rotation_keeps_keep_files_and_drops_the_oldest),
          TEST(read_limit_returns_the_newest), TEST(read_filters_by_type_prefix),
          TEST(torn_last_line_is_skipped_and_appending_goes_on), TEST(seq_past_the_max_is_foreign),
          TEST(bad_events_and_arguments_are_refused), TEST(open_creates_missing_directories),
          TEST(appends_from_threads_get_unique_seqs))
