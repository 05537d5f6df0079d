/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hostop: what an operator asks the manager to do on one host, each a task
 * (task.h) that the reconciler runs on the host (reconcile.h), so that the
 * API never waits on a host:
 *
 *   kind               hostd's command                  the task's results
 *   alarm.ack          alarm.ack {id}                   {H: {ok, alarm}}
 *   dpu.failover       dpu.failover {to}                {H: {ok, active}, H/D: {ok, role}}
 *   software.install   software.install {bundle, ...},  {H: {ok, version}, H/D: {ok, step}}
 *                      then software.progress until it ends
 *
 *     API: hostops_queue() --kick--> a round: hostops_take() -> the host's
 *     job (a worker): hostop_run() [, hostop_poll() each round while a long
 *     one runs on the host] -> the round: hostop_report() -> the task
 *
 *   queued --> running --> success | error
 *         \--> cancelled    (hostops_cancel(): only while it is queued; an
 *                            install that began runs to its end on the host,
 *                            which undoes every device if one fails)
 *
 * The queue is bounded (HOSTOPS_MAX).  An operation whose host has no turn
 * within HOSTOPS_WAIT_MS fails; one that waits behind a long one on the same
 * host (one install at a time) waits as long as that runs.  A long one whose
 * host stops answering for HOSTOPS_LOST_MS fails.  A manager that stops
 * leaves the tasks under way to the reconciler's next start, which ends them
 * with an error (what the host did meanwhile is in its own software list).
 *
 * Thread-safety: the functions on 'struct hostops' take its lock, any
 * thread.  hostop_run() and hostop_poll() call the host and touch only
 * their 'struct hostop': a worker's.  The others write the op's task, on
 * the store handle's thread.
 */
#ifndef DSE_HOSTOP_H
#define DSE_HOSTOP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/http.h"
#include "lib/util.h"
#include "manager/inventory.h"
#include "manager/store.h"
#include "manager/task.h"

#define HOSTOPS_MAX 256        /* operations queued at once */
#define HOSTOPS_WAIT_MS 60000  /* for its host's turn, after which one fails */
#define HOSTOPS_LOST_MS 600000 /* a long one's host silent this long: it fails */
#define HOSTOP_KIND_MAX 24

struct hostops;

/* One operation.  Owns 'args' and 'results'; moved by value between the
 * queue and a round (hostops_take(), hostops_requeue()). */
struct hostop {
    char host[INV_NAME_MAX + 1];
    char task[TASK_ID_LEN];
    char kind[HOSTOP_KIND_MAX]; /* one of the table above */
    json_t *args;               /* the command's */
    uint64_t at_ms;             /* when it was queued */
    uint64_t heard_ms;          /* a long one: when its host last answered */
    json_t *results;            /* the task's, as far as known */
    int progress;               /* 0..100 */
    bool polling;               /* a long one under way on its host */
    char error[ERR_LEN];        /* "": none (yet) */
};

struct hostops *hostops_create(void);   /* NULL on ENOMEM */
void hostops_destroy(struct hostops *); /* accepts NULL; frees what is queued */

/* Whether 'kind' is an operation's kind (the table above). */
bool hostop_kind_is_valid(const char *kind);
/* Whether 'kind' runs on its host beyond its first call (software.install). */
bool hostop_kind_is_long(const char *kind);

/* Queues 'kind' with 'args' (borrowed) on host 'host', recorded by task
 * 'task' (created queued by the caller), at 'now_ms'.  Returns 0, -EINVAL
 * (a bad kind, host or task) or -ENOSPC (HOSTOPS_MAX wait already). */
int hostops_queue(struct hostops *, const char *host, const char *kind, json_t *args,
                  const char *task, uint64_t now_ms);

/* Whether hostops_queue() has room now (only rounds take meanwhile: the
 * answer holds for the thread that queues).  Can't fail. */
bool hostops_has_room(struct hostops *);

/* How many wait.  Can't fail. */
size_t hostops_pending(struct hostops *);

/* Removes task 'task''s operation while it is queued.  Returns 0 (removed:
 * the caller ends its task), or -ENOENT (not queued: under way or over). */
int hostops_cancel(struct hostops *, const char *task);

/* ---- the reconciler's part ---- */

/* Takes every queued operation into 'out' (room for HOSTOPS_MAX), by host,
 * each host's in the order queued.  Returns how many.  Can't fail. */
size_t hostops_take(struct hostops *, struct hostop *out);

/* Puts 'op' (moved) back: its host had no turn this round, or it waits
 * behind another ('behind').  One that had no turn for HOSTOPS_WAIT_MS is
 * failed in store 'st' instead.  Can't fail. */
void hostops_requeue(struct hostops *, struct store *st, struct hostop *op, bool behind,
                     uint64_t now_ms);

/* Its task is running.  Can't fail (a store error is logged). */
void hostop_begin(struct store *st, struct hostop *op);

/* Runs 'op' on its host at 'peer' (its hostd, as the manager): its command;
 * a long one that began is 'polling'.  A worker's.  Can't fail: a failure
 * is op->error. */
void hostop_run(const struct httpc *peer, struct hostop *op, uint64_t now_ms);

/* A long one under way: asks its host how far it is (its results and
 * progress; not 'polling' once it ended).  A worker's. */
void hostop_poll(const struct httpc *peer, struct hostop *op, uint64_t now_ms);

/* The host did not answer: 'why' for an op this round, or, for a long one
 * silent HOSTOPS_LOST_MS, its end.  A worker's. */
void hostop_unreached(struct hostop *op, const char *why, uint64_t now_ms);

/* Writes what 'op' reached into its task: running with its progress while
 * 'polling', else success or error with its results.  Can't fail. */
void hostop_report(struct store *st, const struct hostop *op);

/* Ends 'op''s task as error 'why' (NULL: op->error).  Can't fail. */
void hostop_fail(struct store *st, struct hostop *op, const char *why);

/* Frees what 'op' owns.  Accepts an op already freed (zeroed pointers). */
void hostop_fini(struct hostop *op);

#endif
