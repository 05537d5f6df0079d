/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz-eventlog: arbitrary bytes as the files of an event log that a crash, a
 * full disk or a hand edit left behind (monitor/eventlog.c), read as hostd
 * reads them.  The input is PATH NUL PATH.1 NUL PATH.2 (keep 2).  Opening must
 * work, every event read has a positive seq, a limit gives the newest ones,
 * and an event appended afterwards gets the next seq and is read back last
 * (or, after EVENTLOG_SEQ_MAX, is refused).
 */
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "monitor/eventlog.h"
#include "tests/fuzz/fuzz-util.h"
#include "lib/log.h"

#define KEEP 2

static char dir[64], paths[KEEP + 1][96];

static void
remove_files(void)
{
    for (int i = 0; i <= KEEP; i++)
        unlink(paths[i]);
}

static void
remove_dir(void)
{
    remove_files();
    rmdir(dir);
}

/* A directory of our own, in memory when there is a tmpfs: appends sync. */
static void
setup(void)
{
    log_init("fuzz-eventlog", NULL, LL_ERR);
    snprintf(dir, sizeof dir, "%s/dse-fuzz-eventlog.XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    if (!mkdtemp(dir))
        abort();
    snprintf(paths[0], sizeof paths[0], "%s/events", dir);
    for (int i = 1; i <= KEEP; i++)
        snprintf(paths[i], sizeof paths[i], "%s/events.%d", dir, i);
    atexit(remove_dir);
}

static void
write_file(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "we");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f))
        abort();
}

static json_int_t
seq_of(json_t *event)
{
    json_t *seq = json_object_get(event, "seq");
    if (!json_is_integer(seq) || json_integer_value(seq) <= 0)
        abort();
    return json_integer_value(seq);
}

static void
check_read(struct eventlog *log)
{
    json_t *all = eventlog_read(log, 0, 0, NULL), *last = eventlog_read(log, 0, 3, NULL);
    json_t *alarms = eventlog_read(log, 0, 0, "alarm.");
    size_t n = json_array_size(all), i;
    json_t *e;
    if (!all || !last || !alarms || json_array_size(last) != (n < 3 ? n : 3))
        abort();
    json_array_foreach (all, i, e) {
        seq_of(e);
    }
    json_array_foreach (last, i, e) {
        if (!json_equal(e, json_array_get(all, n - json_array_size(last) + i)))
            abort();
    }
    json_array_foreach (alarms, i, e) {
        const char *type = json_string_value(json_object_get(e, "type"));
        if (!type || strncmp(type, "alarm.", 6))
            abort();
    }
    json_decref(all);
    json_decref(last);
    json_decref(alarms);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dir[0])
        setup();
    remove_files();
    struct fuzz_pieces in;
    fuzz_split(data, size, KEEP + 1, &in);
    for (unsigned i = 0; i < in.n; i++)
        write_file(paths[i], in.p[i], in.len[i]);
    fuzz_pieces_free(&in);

    struct eventlog *log;
    char err[256] = "";
    if (eventlog_open(paths[0], 4096, KEEP, &log, err, sizeof err) < 0)
        abort();
    check_read(log);
    uint64_t before = eventlog_last_seq(log);
    json_t *ev = json_pack("{s:s, s:s}", "type", "fuzz.appended", "message", "after");
    int64_t seq = eventlog_append(log, ev);
    json_decref(ev);
    if (before == EVENTLOG_SEQ_MAX && seq == -EOVERFLOW) {
        eventlog_close(log);
        return 0;
    }
    if (seq < 0 || (uint64_t)seq != before + 1 || eventlog_last_seq(log) != (uint64_t)seq)
        abort();
    json_t *all = eventlog_read(log, 0, 0, NULL);
    json_t *mine = json_array_get(all, json_array_size(all) - 1);
    if (seq_of(mine) != seq ||
        strcmp(json_string_value(json_object_get(mine, "type")) ?: "", "fuzz.appended"))
        abort();
    json_decref(all);
    eventlog_close(log);
    return 0;
}
