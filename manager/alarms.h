/* SPDX-License-Identifier: Apache-2.0 */
/*
 * alarms: the fleet's alarms and events as the manager last collected them.
 * Each reconciler round asks every host it reaches for its alarms (hostd's
 * alarm.list {all}) and for the events it logged since the last one the
 * manager has (event.list {since}).  hostd watches its DPUs (their samples
 * feed its alarm engine, their changes go to its event log), so a DPU's
 * alarms and events come with its host's: hostd names the host "host" and a
 * DPU by its name ("dpu1", "dpu1/temp1", "dpu1/uplink0").
 *
 * In memory only, bounded: the latest list of each host (hostd keeps at most
 * ALARM_MAX_ALARMS), and one ring of ALARMS_EVENTS_MAX events for the whole
 * fleet, the oldest dropped first.  Hosts keep their own alarms and event
 * logs on disk: a restarted manager collects them again (the last
 * ALARMS_EVENTS_PER_CALL events of each host at its first round).
 *
 *   alarm: hostd's (monitor/alarm.h: "id" DEF@OBJECT, "def", "object",
 *          "state", "since_ms", "acknowledged", "value"?, "message",
 *          "description") and "host": H (the inventory's name), "dpu": D
 *          (when the object is a DPU's), "collected_ms"
 *   event: hostd's (monitor/eventlog.h: "seq", "type", "object", "message",
 *          "time", "time_ms", ...) with "host": H and "dpu": D
 *
 * An object NAME of the fleet is H (a host and everything on it), H/host
 * (the host itself), H/D (a DPU and its parts) or H/D/PART.
 *
 * Acknowledging is an operation on the host (hostop.h: alarm.ack), after
 * which the reconciler collects the host's alarms again, so that the ack
 * shows at once.
 *
 * Thread-safety: every function takes the module's lock; any thread.
 * alarms_collect() calls the host without holding it.
 */
#ifndef DSE_ALARMS_H
#define DSE_ALARMS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/http.h"
#include "manager/inventory.h"

#define ALARMS_EVENTS_MAX 10000     /* the fleet's ring of events */
#define ALARMS_EVENTS_PER_CALL 1000 /* events asked of a host per round */
#define ALARMS_ID_MAX 128           /* bytes of an alarm's id, DEF@OBJECT */

struct alarms;

struct alarms *alarms_create(void);   /* NULL on ENOMEM */
void alarms_destroy(struct alarms *); /* accepts NULL */

/* ---- what a round collects (alarms_collect() calls these) ---- */

/* Host 'host''s alarms are 'list' (hostd's alarm.list; borrowed), collected
 * at 'now_ms': they replace what was known of it.  Can't fail (out of
 * memory: the host's list is empty until the next round). */
void alarms_set_host(struct alarms *, const char *host, json_t *list, uint64_t now_ms);

/* Adds host 'host''s events 'events' (hostd's event.list, oldest first;
 * borrowed) whose seq is above the last one kept of the host.  'last' is the
 * host's last seq: one below the manager's means the host began a new log,
 * whose events are collected from its start.  Can't fail (out of memory:
 * events are lost). */
void alarms_add_events(struct alarms *, const char *host, json_t *events, uint64_t last);

/* The seq of the last event kept of 'host' (0: none): what the next round
 * asks after.  Can't fail. */
uint64_t alarms_last_seq(struct alarms *, const char *host);

/* Forgets host 'host''s alarms and its place in its log (its events stay in
 * the ring until they age out).  Can't fail. */
void alarms_forget(struct alarms *, const char *host);

/* ---- what the API asks ---- */

/* Whether the caller may read host 'host'.  Called under the lock: it must
 * not call back into the module. */
typedef bool (*alarms_may_fn)(const char *host, void *aux);

struct alarms_query {
    const char *host;  /* only this host's; NULL: every host */
    const char *state; /* only alarms in this state (red, yellow, gray, green); NULL: any */
    bool all;          /* green ones too (with 'state' NULL) */
    alarms_may_fn may; /* NULL: every host */
    void *aux;
};

/* The alarms that match 'q', worst first (red, yellow, gray, green), then
 * by host and id: a new array (caller owns), or NULL on ENOMEM. */
json_t *alarms_list(struct alarms *, const struct alarms_query *q);

/* Whether host 'host' had alarm 'id' at its last collection. */
bool alarms_has(struct alarms *, const char *host, const char *id);

struct alarms_event_query {
    const char *object;          /* a NAME of the fleet (above); NULL: all */
    uint64_t since_ms, until_ms; /* time_ms in [since, until); 0: no bound */
    const char *type;            /* a prefix of the type ("alarm."); NULL: any */
    size_t limit;                /* the newest 'limit' (1..ALARMS_EVENTS_MAX) */
    alarms_may_fn may;           /* NULL: every host */
    void *aux;
};

/* The events that match 'q', the newest 'limit' of them, oldest first (by
 * time_ms, then host and seq); '*more' (may be NULL) says whether older ones
 * matched too.  A new array (caller owns), or NULL on ENOMEM. */
json_t *alarms_events(struct alarms *, const struct alarms_event_query *q, bool *more);

/* ---- acknowledgements ---- */

/* Collects host 'host''s alarms and its events since the last one kept
 * from its hostd at 'peer' (alarm.list, event.list).  A worker's: network
 * and this module's lock only.  Can't fail: what it cannot get is logged,
 * and asked again at the next visit. */
void alarms_collect(struct alarms *, const struct httpc *peer, const char *host);

#endif
