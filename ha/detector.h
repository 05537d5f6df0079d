/* SPDX-License-Identifier: Apache-2.0 */
/*
 * detector: hostd's failure detector and failover policy for a host's two
 * DPUs (DESIGN.md section 7), as pure functions of what was heard and when:
 * the clock is an argument, so that tests drive it over simulated time.
 *
 * Per DPU, a 'struct ha_peer_health' records what the heartbeats said:
 *
 *   connected?   the kept connection is up (its loss is a failure at once:
 *                the kernel closes it when dpud dies)
 *   unanswered   heartbeats sent since the DPU's last message, and when the
 *                first of them went: 'miss' of them, the first 'miss'
 *                intervals ago, is a silent (hung) DPU.  Counting what was
 *                sent, not the time since the last answer, keeps a stall of
 *                hostd itself (a busy host core) from looking like the DPU's.
 *   uplinks      how many of its uplinks have carrier: none is a failure (a
 *                cut cable; dpud reports it the moment it hears it)
 *
 * The pair's policy, asked at the moment something happens, as hostd has
 * always acted (edge, not level: a DPU that failed while the other could not
 * take over stays active until the operator or its next failure moves it):
 *
 *     DPU i failed (connection lost | fell silent | uplinks lost carrier)
 *         i not the active one, or independent mode ---> HA_STAY
 *         the other healthy --------------------------> HA_FAILOVER to it
 *         the other not healthy ----------------------> HA_NO_FAILOVER, why
 *     a tick: the preferred DPU healthy for the hold
 *         time (automatic failback on), not active ----> HA_FAILBACK to it
 *
 * Thread-safety: none; the caller serializes (hostd's HA thread, under its
 * lock).  Nothing here allocates or fails.
 */
#ifndef DSE_HA_DETECTOR_H
#define DSE_HA_DETECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ha/hamsg.h"

#define HA_MAX_PEERS 2

struct ha_detector_cfg {
    unsigned interval_ms; /* between heartbeats */
    unsigned miss;        /* unanswered heartbeats that make a DPU silent */
};

struct ha_peer_health {
    bool connected;
    uint64_t last_rx_ms;          /* its last message */
    unsigned unanswered;          /* heartbeats sent since then */
    uint64_t first_unanswered_ms; /* when the first of them went */
    unsigned uplinks, uplinks_total;
    uint64_t healthy_since_ms; /* 0: not healthy at the last ha_peer_update() */
    char why_down[200];        /* why the connection is down, "" when up */
};

/* The connection is up, at 'now'. */
void ha_peer_connected(struct ha_peer_health *, uint64_t now);
/* The connection is down for 'why' (kept for the health report). */
void ha_peer_lost(struct ha_peer_health *, const char *why);
/* Whether to send a heartbeat at 'now': a DPU that stopped answering gets
 * one now and then, not a backlog to work through when it wakes up. */
bool ha_peer_should_send(const struct ha_detector_cfg *, const struct ha_peer_health *,
                         uint64_t now);
/* A heartbeat went out at 'now'. */
void ha_peer_sent(struct ha_peer_health *, uint64_t now);
/* A message came at 'now' (an answer or an uplink report): 'uplinks' and
 * 'uplinks_total' as it said them, -1 for not said. */
void ha_peer_heard(struct ha_peer_health *, int uplinks, int uplinks_total, uint64_t now);

/* Has it left 'miss' heartbeats in a row unanswered, the first of them 'miss'
 * intervals ago? */
bool ha_peer_silent(const struct ha_detector_cfg *, const struct ha_peer_health *, uint64_t now);
/* Healthy at 'now': connected, not silent, an uplink with carrier (or none
 * reported).  When not, one line in 'why'. */
bool ha_peer_healthy(const struct ha_detector_cfg *, const struct ha_peer_health *, uint64_t now,
                     char *why, size_t why_len);
/* Keeps 'healthy_since_ms' current: call it at every tick. */
void ha_peer_update(const struct ha_detector_cfg *, struct ha_peer_health *, uint64_t now);

struct ha_pair {
    bool active_standby;       /* else independent: nothing fails over */
    unsigned n;                /* DPUs, at most HA_MAX_PEERS */
    int active, preferred;     /* indexes */
    unsigned auto_failback_ms; /* 0: failback by hand only */
};

enum ha_decision {
    HA_STAY,        /* nothing to do */
    HA_FAILOVER,    /* the active failed, the other is healthy: to '*to' */
    HA_NO_FAILOVER, /* the active failed, the other is not healthy */
    HA_FAILBACK,    /* back to the preferred DPU '*to', healthy long enough */
};

/* DPU 'failed' just failed, at 'now'.  On HA_FAILOVER '*to' is the DPU to
 * make active; on HA_NO_FAILOVER 'why_not' says why the other cannot take
 * over.  Can't fail. */
enum ha_decision ha_on_failure(const struct ha_detector_cfg *, const struct ha_pair *,
                               const struct ha_peer_health *peers, int failed, uint64_t now,
                               int *to, char *why_not, size_t why_len);
/* A tick at 'now': HA_FAILBACK with '*to' when automatic failback is due,
 * else HA_STAY.  Can't fail. */
enum ha_decision ha_on_tick(const struct ha_detector_cfg *, const struct ha_pair *,
                            const struct ha_peer_health *peers, uint64_t now, int *to);

/* Whether DPU 'to' may be made active by hand at 'now': healthy, and not the
 * active one already.  0, or -EALREADY / -EHOSTUNREACH with one line in
 * 'err'. */
int ha_may_fail_over(const struct ha_detector_cfg *, const struct ha_pair *,
                     const struct ha_peer_health *peers, int to, uint64_t now, char *err,
                     size_t err_len);

#endif
