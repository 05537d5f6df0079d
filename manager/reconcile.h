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
 *     change through the API --kick (its task)--+
 *                                    v
 *     every RECONCILE_INTERVAL_MS -> a round: for each host: hostd
 *       portgroup.list -> add the missing -> status (if it changed),
 *       its figures and its DPUs' (host.stats, dpu.stats) into the fleet,
 *       its alarms and events into alarms.h (after its queued acks),
 *       the round's tasks' progress; at the end their results
 *
 * Tasks left queued or running by a manager that stopped are ended with
 * an error when the reconciler starts.
 *
 * Design: a thread of its own with its own store handle (SQLite in WAL
 * mode: it reads beside the API's writes) and blocking mTLS calls to each
 * hostd as the manager (role manager), so that a slow or dead host never
 * stalls the API.  The data plane never waits for it: hosts keep their last
 * desired state on disk.
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
#include "manager/fleet.h"
#include "manager/store.h"
#include "manager/task.h"

#define RECONCILE_INTERVAL_MS 10000
#define RECONCILE_HOSTD_PORT 7443
#define RECONCILE_CALL_MS 3000

struct reconciler;

struct reconcile_params {
    const char *store_path; /* the store's file: opened again by the thread (copied) */
    SSL_CTX *client;        /* the manager's identity for calling hostd (a reference is taken) */
    unsigned interval_ms;   /* 0: RECONCILE_INTERVAL_MS */
    uint16_t hostd_port;    /* 0: RECONCILE_HOSTD_PORT */
    struct fleet *fleet;    /* where each host's figures go (borrowed); NULL: nowhere */
    struct alarms *alarms;  /* where its alarms and events go, whence its acks (borrowed) */
};

/* Starts the thread.  Returns 0 and '*out', or -errno with 'err'. */
int reconcile_start(const struct reconcile_params *p, struct reconciler **out, char *err,
                    size_t err_len);
/* Asks for a round soon (after a change), which runs task 'task' (task.h:
 * its id, or NULL for none).  Any thread; can't fail (when RECONCILE_QUEUE
 * tasks wait already, the task waits for the round after). */
#define RECONCILE_QUEUE 64
void reconcile_kick(struct reconciler *, const char *task);
/* Stops the thread (after the round under way) and frees.  Accepts NULL. */
void reconcile_stop(struct reconciler *);

/* One round over store 'st' (what the thread runs; exposed for tests),
 * running tasks 'tasks' ('n_tasks' ids, task.h): running, their progress
 * host by host, then success or error with each host's result.  Returns the
 * number of hosts it reached, or -errno of the store. */
int reconcile_round(struct store *st, SSL_CTX *client, uint16_t hostd_port,
                    char (*tasks)[TASK_ID_LEN], size_t n_tasks, struct fleet *fleet,
                    struct alarms *alarms);

#endif
