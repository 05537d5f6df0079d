/* SPDX-License-Identifier: Apache-2.0 */
/*
 * switch-private: what the switch's own modules share and nobody else may
 * use: the switch object, the pipeline context, and the few helpers that
 * cross between switch.c (portgroups, ports, contexts), team.c, flowcache.c
 * and pipeline.c.  Calls go one way: switch.c uses pipeline.c, team.c and
 * flowcache.c; pipeline.c uses flowcache.c; team.c and flowcache.c use
 * nobody (scripts/check-layers).  Include it from those files only; everyone else goes through
 * switch.h, pipeline.h, team.h and flowcache.h.
 *
 * Thread-safety: as switch.h says.  In short: everything here may change
 * only while no frame is being switched, except what is marked (atomic) and
 * each context's own counters, records and cache, which only the thread that
 * runs the context writes.
 */
#ifndef DSE_SWITCH_PRIVATE_H
#define DSE_SWITCH_PRIVATE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "dataplane/flowcache.h"
#include "dataplane/pipeline.h"
#include "dataplane/switch.h"
#include "dataplane/team.h"
#include "lib/log.h"

struct sw {
    struct sw_params params;
    struct sw_portgroup pgs[SW_MAX_PORTGROUPS];
    struct sw_port ports[SW_MAX_PORTS];
    struct team team;
    struct fdb *fdb;
    struct log_ratelimit move_rl;
    struct sw_offload offload;
    bool has_offload;
    uint32_t gen;        /* of the decisions; bumped whenever one may change (atomic) */
    bool vnics_fenced;   /* (atomic) vNIC ports neither receive nor send */
    struct dfw *dfw;     /* the firewall, or NULL (off) */
    struct sw_ctx *own;  /* the context of sw_input(), sw_poll(), announcements */
    struct sw_ctx *ctxs; /* every context, for their statistics */
    /* One per port: whoever calls the port's backend holds it (see switch.h). */
    pthread_mutex_t io_mu[SW_MAX_PORTS];
};

/* What one thread needs to run frames through the pipeline (see pipeline.h). */
struct sw_ctx {
    struct sw *sw;
    struct sw_ctx *next;         /* in sw->ctxs */
    struct pkt *burst[SW_BURST]; /* receive buffers, allocated once */
    uint32_t gen;                /* sw->gen when the burst began */
    uint16_t held[SW_MAX_PORTS]; /* ports whose io lock we hold: sent to since the
                                    last flush */
    bool is_held[SW_MAX_PORTS];
    unsigned n_held;
    struct sw_port_stats stats[SW_MAX_PORTS]; /* this context's share */
    struct sw_soft_flow soft[SW_SOFT_FLOWS];
    struct flowcache cache;
    struct pkt *scratch; /* a frame this context originates (a reject) */
    uint32_t fw_rule;    /* the firewall's rule for the frame at hand, + 1; 0: none */
};

static inline uint32_t
gen_now(const struct sw *sw)
{
    return __atomic_load_n(&sw->gen, __ATOMIC_ACQUIRE);
}

/* Invalidates every cached decision.  Returns the new generation. */
static inline uint32_t
gen_bump(struct sw *sw)
{
    return __atomic_add_fetch(&sw->gen, 1, __ATOMIC_RELEASE);
}

/* The portgroup that carries VLAN 'vid' on the uplinks, or NULL. */
static inline const struct sw_portgroup *
pg_by_vid(const struct sw *sw, uint16_t vid)
{
    for (unsigned i = 0; i < SW_MAX_PORTGROUPS; i++)
        if (sw->pgs[i].in_use && sw->pgs[i].vid == vid)
            return &sw->pgs[i];
    return NULL;
}

/* Tells the eswitch, if any, to forget the flows from or to 'mac'. */
static inline void
sw_offload_flush_mac(struct sw *sw, const uint8_t *mac)
{
    if (sw->has_offload && sw->offload.flush_mac)
        sw->offload.flush_mac(sw->offload.aux, mac);
}

/* switch.c: every cached decision, and those the eswitch holds, may be about
 * to change: bumps the generation and flushes the eswitch's flows. */
void sw_invalidate(struct sw *);

/* The name of logical port 'lport' (a port's, or "uplinks" for SW_TEAM). */
static inline const char *
lport_name(const struct sw *sw, uint16_t lport)
{
    if (lport == SW_TEAM)
        return "uplinks";
    return lport < SW_MAX_PORTS && sw->ports[lport].in_use ? sw->ports[lport].name : "?";
}

/* pipeline.c, after the team's active uplink changed: from context 'x', a
 * RARP from every MAC learned on a vNIC out of the active uplink, in its
 * VLAN, so that the fabric learns the new path at once (none while the
 * vNICs are fenced). */
void pipeline_announce(struct sw_ctx *x, uint64_t now_ms);

#endif
