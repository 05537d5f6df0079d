/* SPDX-License-Identifier: Apache-2.0 */
/*
 * task: a long operation's record, kept in the store at /dse/v1/task/SEQ (20
 * decimal digits: key order is creation order), where every caller reads its
 * progress.  Kinds: "config.push", a change of the inventory pushed to
 * every host (reconcile.h); "host.join", a host and its DPUs given
 * certificates (join.h), with a result per host and per DPU ("HOST/DPU");
 * "alarm.ack", "dpu.failover", "software.install", operations on one host
 * (hostop.h).
 *
 *     queued --> running --> success
 *       |                \-> error      (some host failed: "results" says which)
 *       \-> cancelled                   (hostop.h: only while queued)
 *
 *     {"kind", "object": KEY, "state", "progress": 0..100, "started_by",
 *      "from", "created_ms", "start_ms"?, "end_ms"?,
 *      "results": {HOST or HOST/DPU: {"ok": bool, "error"?}}}
 *
 * Thread-safety: as the store's handle it is given.
 */
#ifndef DSE_TASK_H
#define DSE_TASK_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "manager/store.h"

#define TASK_ID_LEN 21 /* 20 digits and a NUL */

/* Records a new queued task of 'kind' on object 'object', numbered 'seq'
 * (the revision of the change that started it: unique), by 'actor'.  Writes
 * its id into 'id'.  Returns 0 or the store's errors with 'err'. */
int task_create(struct store *, const char *kind, const char *object, int64_t seq,
                const struct store_actor *actor, char id[TASK_ID_LEN], char *err, size_t err_len);

/* Sets task 'id''s state ("running", "success", "error", "cancelled"), progress and, when
 * not NULL, its results (borrowed); times the start and the end.  Returns 0
 * or the store's errors. */
int task_update(struct store *, const char *id, const char *state, int progress, json_t *results,
                char *err, size_t err_len);

/* How long an ended task is kept by default (dse-manager --task-keep-hours). */
#define TASK_KEEP_MS (7ull * 24 * 3600 * 1000)

/* Deletes the tasks that ended (success, error, cancelled) and were created
 * before 'before_ms' (wall clock), oldest first, 'max' at most, each batch
 * of STORE_TXN_MAX_OPS in one transaction (audited as the manager's
 * "task.prune").  A task still queued or running is kept, however old.
 * Returns the number deleted, or -errno with 'err'. */
int task_prune(struct store *, uint64_t before_ms, size_t max, char *err, size_t err_len);

/* Whether 'id' is a task id (20 digits). */
bool task_id_is_valid(const char *id);

#endif
