/* SPDX-License-Identifier: Apache-2.0 */
/*
 * reconcile: desired state down, observed state up.  For every host of the
 * inventory with an address, the portgroups of the distributed switches of
 * its datacenter are pushed to its hostd (which pushes them to its DPUs):
 * what the host lacks is added; what differs (a VLAN changed by hand) or
 * what the manager does not know is reported as drift, not undone, since a
 * VM may use it.  What the manager saw is kept per host at
 * /dse/v1/status/HOST (reachable, applied, drift, error), written only when
 * it changed.
 *
 *     every host, once an interval (its own phase) -> a full visit:
 *         portgroup.list -> add the missing -> status; its figures and its
 *         DPUs' (host.stats, dpu.stats) into the fleet, its alarms and
 *         events into alarms.h
 *     change through the API --kick (its task)--> a push round at once:
 *         every host: add what it lacks of what it had at its last visit
 *         (and was added since) -> status; a host that lacks nothing is
 *         not called (a change costs the hosts it does not concern nothing)
 *     both, to a host that answered: the cluster's revocation list when
 *         the host has an older one (crl.set: join.h), the operations
 *         queued for it (hostop.h: an alarm's ack, after which its alarms
 *         are collected again, a failover, an install); a host with an
 *         install under way is asked its progress every round (rounds come
 *         every RECONCILE_TICK_MS meanwhile) until it ends
 *
 *   A round hands its hosts to RECONCILE_WORKERS threads in two phases:
 *   after a kick, a push to every host; then the full visits of the hosts
 *   whose interval is up (the rounds run at most every RECONCILE_TICK_MS,
 *   so the visits of a large fleet spread over the interval instead of
 *   coming all at once).  A change does not wait behind them: when one
 *   comes, a round starts no more visits (at once, or once it made
 *   RECONCILE_CUT_MS of them if it pushed a change itself) and the next
 *   round pushes the change first; the visits left are due still.  Then the round writes the
 * statuses that changed, RECONCILE_BATCH to a transaction (a change stops that too, after a batch:
 * the rest follow the next round), and ends its tasks with each host's result; while it runs, their
 * progress (about once a second).  A host that did not answer is tried again at its next full
 * visit, not at every change: a task meanwhile gives its last error.  What a host has is read at
 * its full visits: a portgroup removed by hand is put back, and drift shown, within an interval.
 *
 * Tasks left queued or running by a manager that stopped are ended with
 * an error when the reconciler starts.  Ended tasks are kept for
 * 'task_keep_ms' (a week by default), then deleted (task_prune()).
 *
 * Design: a thread of its own with its own store handle (SQLite in WAL
 * mode: it reads beside the API's writes), so that a slow or dead host never
 * stalls the API, and a pool of workers that call the hosts: blocking mTLS
 * calls to each hostd as the manager (role manager), each host over one
 * connection kept open between rounds (HTTP keep-alive: no handshake per
 * call; as many as the open-file limit allows, the rest connect per round).
 * A host's work is one function, reconcile_host(), on a worker: it calls its
 * host only and leaves what the store must get in the host's result, which
 * the round thread writes.  The data plane never waits for the manager:
 * hosts keep their last desired state on disk.
 *
 * Thread-safety: reconcile_kick() from any thread; start and stop from one.
 */
#ifndef DSE_RECONCILE_H
#define DSE_RECONCILE_H

#include <jansson.h>
#include <openssl/ssl.h>
#include <stddef.h>
#include <stdint.h>

#include "manager/alarms.h"
#include "manager/dfwstats.h"
#include "manager/fleet.h"
#include "manager/hostop.h"
#include "manager/store.h"
#include "manager/task.h"

#define RECONCILE_INTERVAL_MS 10000
#define RECONCILE_HOSTD_PORT 7443
#define RECONCILE_CALL_MS 3000
#define RECONCILE_TICK_MS 1000   /* rounds without a kick come at most this often */
#define RECONCILE_WORKERS 16     /* threads that call the hosts */
#define RECONCILE_BATCH 128      /* statuses written in one transaction (STORE_TXN_MAX_OPS) */
#define RECONCILE_CUT_MS 250     /* of visits after a push, before a change stops them */
#define RECONCILE_PRUNE_MS 60000 /* how often ended tasks past their keep are deleted */
#define RECONCILE_PRUNE_MAX 1024 /* ... at most, each time */

struct reconciler;

struct reconcile_params {
    const char *store_path;  /* the store's file: opened again by the thread (copied) */
    SSL_CTX *client;         /* the manager's identity for calling hostd (a reference is taken) */
    unsigned interval_ms;    /* 0: RECONCILE_INTERVAL_MS */
    uint64_t task_keep_ms;   /* ended tasks older than this go (task.h); 0: TASK_KEEP_MS */
    uint16_t hostd_port;     /* 0: RECONCILE_HOSTD_PORT */
    struct fleet *fleet;     /* where each host's figures go (borrowed); NULL: nowhere */
    struct alarms *alarms;   /* where its alarms and events go (borrowed); NULL: nowhere */
    struct hostops *hostops; /* whence the operators' operations come (borrowed); NULL: none */
    struct dfw_stats
        *dfw_stats;   /* where the hosts' firewall counters go (borrowed); NULL: nowhere */
    unsigned workers; /* 0: RECONCILE_WORKERS */
};

/* Starts the thread.  Returns 0 and '*out', or -errno with 'err'. */
int reconcile_start(const struct reconcile_params *p, struct reconciler **out, char *err,
                    size_t err_len);
/* Asks for a round soon (after a change), which runs task 'task' (task.h:
 * its id, or NULL for none).  Any thread; can't fail (when RECONCILE_QUEUE
 * tasks wait already, the next round finds the task in the store). */
#define RECONCILE_QUEUE 1024
void reconcile_kick(struct reconciler *, const char *task);
/* Stops the thread (after the round under way) and frees.  Accepts NULL. */
void reconcile_stop(struct reconciler *);

/* One full round over store 'st' on connections of its own (what the
 * thread runs after a kick, with every host's figures; exposed for tests),
 * running tasks 'tasks' ('n_tasks' ids, task.h): running, their progress,
 * then success or error with each host's result.  Returns the number of
 * hosts it reached, or -errno of the store. */
int reconcile_round(struct store *st, SSL_CTX *client, uint16_t hostd_port,
                    char (*tasks)[TASK_ID_LEN], size_t n_tasks, struct fleet *fleet,
                    struct alarms *alarms, struct hostops *hostops, struct dfw_stats *dfw_stats);

#endif
