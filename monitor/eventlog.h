/* SPDX-License-Identifier: Apache-2.0 */
/*
 * eventlog: a persistent, rotated log of events (alarm changes, DPU state,
 * boots, installs), one JSON object per line, numbered.
 *
 *     PATH      the current file (JSON lines)
 *     PATH.1    the previous one ... PATH.KEEP the oldest kept
 *
 * Every event gets "seq" (1, 2, ... up to EVENTLOG_SEQ_MAX, across rotations
 * and restarts: opening an existing log continues after its last seq) and "time" (UTC, ISO 8601
 * with milliseconds, "2026-12-06T05:35:18.123Z") and "time_ms" (ms since the epoch) unless it has
 * them ("time" is made from the event's "time_ms" when it has only that; a "seq" of its own is
 * replaced).  A line is written with one write(2) of the whole line and flushed with fdatasync()
 * before eventlog_append() returns, so an event that was reported is on disk.  When the current
 * file would grow past 'max_bytes', it is renamed PATH.1 (PATH.1 to PATH.2 ..., the oldest dropped)
 * and a new one begun.  A torn or otherwise unparsable line (power lost mid-write) is skipped when
 * reading, never fatal.
 *
 * Thread-safety: every call may come from any thread (one mutex inside).
 */
#ifndef DSE_EVENTLOG_H
#define DSE_EVENTLOG_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct eventlog;

/* The last seq: 2^53 - 1, the largest integer that every JSON reader (jq,
 * JavaScript) takes exactly.  A line with a larger seq is not an event. */
#define EVENTLOG_SEQ_MAX 9007199254740991LL

/* Opens the log at 'path', creating the file and any missing directory.
 * 'max_bytes' >= 4096, 1 <= 'keep' <= 99.  Returns 0 with '*out', or -errno
 * with a one-line reason in 'err' ('err_len' bytes). */
int eventlog_open(const char *path, size_t max_bytes, unsigned keep, struct eventlog **out,
                  char *err, size_t err_len);
void eventlog_close(struct eventlog *); /* accepts NULL */

/* Appends 'event' (a JSON object with at least "type", a string; borrowed:
 * the log writes a copy with seq and time added).  Returns the new seq (> 0),
 * or -errno: -EINVAL (not an object, no "type"), -EOVERFLOW (EVENTLOG_SEQ_MAX
 * reached), -ENOSPC/-EIO... from the file system (the event is lost, the log
 * stays usable). */
int64_t eventlog_append(struct eventlog *, const json_t *event);

/* Events with seq > 'since', oldest first, at most 'limit' (the newest
 * 'limit' of them when there are more, so that `event list -n 20` shows the
 * last twenty; 0: no limit); rotated files included.  With 'type_prefix'
 * non-NULL, only events whose type starts with it.  A new array (caller
 * owns), or NULL on ENOMEM. */
json_t *eventlog_read(struct eventlog *, uint64_t since, size_t limit, const char *type_prefix);

/* The last seq written (0 for an empty log). */
uint64_t eventlog_last_seq(struct eventlog *);

#endif
