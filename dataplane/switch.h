/* SPDX-License-Identifier: Apache-2.0 */
/*
 * switch: the L2 pipeline of one DPU's share of the distributed switch.
 *
 * Ports are vNICs (access ports: untagged, in one portgroup) or uplinks (802.1Q
 * trunks to the fabric, teamed active/standby).  A portgroup is a segment: a
 * name, a VLAN id (0 = untagged on the uplinks) and an MTU.
 *
 *     rx burst -> parse -> flow cache hit? -> replay the cached decision
 *                            | miss -> classify (port -> portgroup/VLAN; drop on
 *     standby uplink, tag on access port, unknown VLAN, oversize) -> pop tag ->
 *     learn (vid, src) -> lookup (vid, dst) -> unicast | flood -> per egress
 *     port: vNIC untagged, uplink team: push tag, active uplink only
 *     -> flush each egress port once per burst
 *
 * The flow cache is an exact-match table (ingress port, tag as received,
 * source, destination) of the decisions taken for known unicast frames, the
 * same decisions the eswitch may hold.  An entry is valid while the switch's
 * generation number is the one it was made under; every change that may alter
 * a decision (portgroups, ports, carrier, failover, a MAC that moves, is
 * removed or ages out) bumps the generation, so no entry outlives what it
 * was derived from.  Hits refresh the source MAC's age every eighth of the
 * ageing time (at most once a second), so a MAC seen only on the cached path
 * never ages out while it talks.
 *
 * Flooding (broadcast, multicast, unknown unicast) reaches only the ingress
 * portgroup's vNICs and, unless the frame came from the fabric, the active
 * uplink; never the ingress port.  Frames from the fabric are never sent back
 * to it (split horizon), and frames on a standby uplink are dropped, so the
 * fabric's own flooding to both uplinks never duplicates a frame.
 *
 * All uplinks form one logical port for learning (SW_TEAM), so a failover does
 * not invalidate what was learned.  On failover the new active uplink announces
 * every local MAC with a RARP frame so that the fabric relearns at once.
 *
 * Thread-safety: the packet path (sw_input_ctx, sw_poll_ctx) runs in any
 * number of threads at once, each with its own context (sw_ctx), while the
 * configuration stays still: everything else, sw_input/sw_poll (the switch's
 * own context) and every read of counters and tables need the switch to
 * themselves (dpud pauses its workers first).  Between workers:
 *
 *   - each port is polled by one thread at a time (dpud gives it to one worker);
 *   - statistics, software flow records and the flow cache are per context,
 *     summed or walked when read; a context writes only its own;
 *   - the MAC table is read without locks; learning a new MAC or a move takes
 *     its mutex (fdb.h); the generation number is an atomic word;
 *   - a port's backend is called by one thread at a time: each port has a lock
 *     that a context takes before its first frame to the port in a burst and
 *     lets go after the port's flush (once per port per burst, never per
 *     frame), and around a receive burst.  A context that would wait for a
 *     second lock flushes and lets go of the ones it holds first, so two
 *     contexts never wait for each other.
 *
 * The packet path does not allocate.
 */
#ifndef DSE_SWITCH_H
#define DSE_SWITCH_H

#include <stdbool.h>
#include <stdint.h>

#include "dataplane/drops.h"
#include "dataplane/fdb.h"
#include "dataplane/port.h"

#define SW_MAX_PORTS 256
#define SW_MAX_PORTGROUPS 256
#define SW_MAX_UPLINKS 4
#define SW_BURST 32
#define SW_NAME_MAX 31
#define SW_TEAM 0xfffe /* the logical port all uplinks share in the fdb */
#define SW_MTU_MIN 68
#define SW_MTU_MAX 9000

enum sw_port_kind { SW_PORT_VNIC, SW_PORT_UPLINK };

struct sw_port_stats {
    uint64_t rx_packets, rx_bytes;
    uint64_t tx_packets, tx_bytes;
    uint64_t rx_flood;  /* received frames that were flooded */
    uint64_t mac_moves; /* MACs that moved to this port */
    uint64_t drops[DROP__N];
};

struct sw_portgroup {
    bool in_use;
    char name[SW_NAME_MAX + 1];
    uint16_t vid; /* 0 = untagged on uplinks */
    uint16_t mtu;
};

struct sw_port {
    bool in_use;
    uint16_t id;
    char name[SW_NAME_MAX + 1];
    enum sw_port_kind kind;
    int pg; /* portgroup index for vNICs, -1 for uplinks */
    bool carrier;
    struct port *io;
};

/* A forwarding decision for one known unicast flow, as the eswitch tier can
 * replay it: frames from 'in_port' with the received tag 'tag' (SW_UNTAGGED or
 * a VLAN id), 'src' and 'dst' go to 'out_port', with a tag pushed or popped. */
#define SW_UNTAGGED 0xffff
#define SW_NO_PUSH 0xffff
struct sw_flow {
    uint16_t in_port, out_port; /* port ids (the active uplink, not SW_TEAM) */
    uint16_t tag;
    uint16_t push_vid;
    bool pop;
    uint32_t max_len; /* longest frame (as received) the portgroup's MTU allows */
    uint8_t src[6], dst[6];
};

/* The eswitch tier's hooks (all optional). */
struct sw_offload {
    bool (*install)(void *aux, const struct sw_flow *flow); /* false: not taken */
    void (*flush_mac)(void *aux, const uint8_t mac[6]);     /* flows from or to 'mac' */
    void (*flush_all)(void *aux);
    void *aux;
};

/* Why a frame was handled in software; with SW_SOFT_DROP the drop reason says
 * more. */
#define SW_SOFT_REASONS(X)                                                                         \
    X(BROADCAST, "broadcast or multicast: flooded by the slow path")                               \
    X(UNKNOWN_DST, "unknown destination: flooded by the slow path")                                \
    X(PRIORITY_TAG, "priority-tagged frame: handled in software")                                  \
    X(NO_ESWITCH, "known unicast, but the eswitch could not take the flow")                        \
    X(FIRST_PACKET, "first packet of a flow now in the eswitch")                                   \
    X(DROP, "dropped")
enum sw_soft_reason {
#define SW_SOFT_ENUM_(e, what) SW_SOFT_##e,
    SW_SOFT_REASONS(SW_SOFT_ENUM_)
#undef SW_SOFT_ENUM_
        SW_SOFT__N
};
const char *sw_soft_reason_what(enum sw_soft_reason r);

/* A recent software flow: the slow path keeps the last SW_SOFT_FLOWS distinct
 * (in port, tag, src, dst) it handled, with counters, for `dsectl flow list`. */
#define SW_SOFT_FLOWS 1024
#define SW_SOFT_NO_OUT 0xffff
struct sw_soft_flow {
    bool in_use;
    uint16_t in_port;
    uint16_t out_port; /* known unicast: where it went; else SW_SOFT_NO_OUT */
    uint16_t tag;
    uint8_t src[6], dst[6];
    enum sw_soft_reason reason;
    enum drop_reason drop;
    uint64_t packets, bytes;
    uint64_t last_ms;
};

struct sw_params {
    unsigned fdb_capacity;
    uint64_t fdb_age_ms;
    bool failback; /* return to the first uplink when its carrier returns */
    bool no_cache; /* every frame through the whole pipeline (tests, benchmarks) */
};
#define SW_PARAMS_DEFAULT                                                                          \
    {                                                                                              \
        .fdb_capacity = 131072, .fdb_age_ms = 300000, .failback = true                             \
    }

#define SW_FLOW_CACHE_SIZE 8192 /* entries, a power of two */
struct sw_cache_stats {
    uint64_t hits, misses; /* misses: known unicast frames decided the long way */
    uint32_t generation;
};

struct sw;

struct sw *sw_create(const struct sw_params *params); /* NULL on ENOMEM */
void sw_destroy(struct sw *);                         /* accepts NULL */

/* Adds or updates portgroup 'name'.  Returns its index, or -EINVAL (bad name,
 * VLAN or MTU), -EEXIST (VLAN used by another portgroup), -ENOSPC. */
int sw_portgroup_set(struct sw *, const char *name, uint16_t vid, uint16_t mtu);
/* Returns 0, -ENOENT, or -EBUSY when ports still use it. */
int sw_portgroup_del(struct sw *, const char *name);
int sw_portgroup_find(const struct sw *, const char *name); /* index or -ENOENT */
const struct sw_portgroup *sw_portgroup_at(const struct sw *, unsigned idx);

/* Adds a port backed by 'io' (ownership passes to the switch, also on error).
 * 'pg' names the portgroup of a vNIC and must be NULL for an uplink.  Returns
 * the port id, or -EINVAL, -EEXIST (name taken), -ENOENT (no such portgroup),
 * -ENOSPC (too many ports or uplinks). */
int sw_port_add(struct sw *, const char *name, enum sw_port_kind kind, const char *pg,
                struct port *io);
/* Moves a vNIC to portgroup 'pg'; its learned MACs are forgotten. */
int sw_port_set_portgroup(struct sw *, uint16_t id, const char *pg);
int sw_port_del(struct sw *, const char *name);                   /* 0 or -ENOENT */
int sw_port_find(const struct sw *, const char *name);            /* id or -ENOENT */
const struct sw_port *sw_port_at(const struct sw *, unsigned id); /* NULL if unused */

/* Carrier change of port 'id'.  For uplinks this may change the active uplink
 * (then the new one announces local MACs).  Returns true if the active uplink
 * changed. */
bool sw_port_set_carrier(struct sw *, uint16_t id, bool up, uint64_t now_ms);

/* Active uplink's port id, or -1 when no uplink has carrier. */
int sw_team_active(const struct sw *);
uint64_t sw_team_failovers(const struct sw *);

/* Runs the pipeline on 'n' frames received on port 'in'.  The buffers stay the
 * caller's. */
void sw_input(struct sw *, uint16_t in, struct pkt **pkts, unsigned n, uint64_t now_ms);

/* Receives one burst from port 'id''s backend and runs it.  Returns the number
 * of frames received. */
unsigned sw_poll(struct sw *, uint16_t id, uint64_t now_ms);

/* A pipeline context: receive buffers, the flow cache, what to flush.  The
 * functions above use the switch's own; each poll-mode worker thread creates
 * its own and uses the _ctx variants, so that workers share no per-frame
 * state but the switch's tables.  Create and destroy them while no frame is
 * being switched. */
struct sw_ctx;
struct sw_ctx *sw_ctx_create(struct sw *); /* NULL on ENOMEM */
void sw_ctx_destroy(struct sw_ctx *);      /* accepts NULL */
void sw_input_ctx(struct sw_ctx *, uint16_t in, struct pkt **pkts, unsigned n, uint64_t now_ms);
unsigned sw_poll_ctx(struct sw_ctx *, uint16_t id, uint64_t now_ms);

/* Port 'id''s counters: the sum over every context.  This function can't
 * fail (an unused id reads as zeros). */
void sw_port_stats(const struct sw *, unsigned id, struct sw_port_stats *out);

/* Asks port 'id''s backend for its carrier (vhost-user: a front-end is
 * attached), holding the port's lock; a port without the notion reports the
 * carrier the switch has.  Safe beside the packet path. */
bool sw_port_io_carrier(struct sw *, uint16_t id);

/* Periodic work (ageing).  Call about once a second. */
void sw_tick(struct sw *, uint64_t now_ms);

struct fdb *sw_fdb(struct sw *);

/* Sets (or, with NULL, clears) the eswitch hooks. */
void sw_set_offload(struct sw *, const struct sw_offload *offload);

/* Would the slow path still decide 'flow' this way?  When 'hit' (the flow
 * forwarded frames since the last call), its source MAC is refreshed in the
 * MAC table first, since the eswitch saw those frames instead of us. */
bool sw_flow_revalidate(struct sw *, const struct sw_flow *flow, bool hit, uint64_t now_ms);

void sw_cache_stats(const struct sw *, struct sw_cache_stats *);

/* Fencing (dual-DPU high availability): while 'fenced', no vNIC port receives
 * or sends (each frame counted as DROP_FENCED); uplinks go on.  Any thread,
 * at any time: the packet path reads it once per frame, without a lock. */
void sw_set_vnics_fenced(struct sw *, bool fenced);
bool sw_vnics_fenced(const struct sw *);
/* Learns 'mac' on vNIC port 'port_id' (in its portgroup's VLAN) as if a
 * frame had come from it: a DPU that becomes active claims its VMs' MACs,
 * which it may have learned on its uplinks while standby.  Any thread, as
 * learning on the packet path. */
void sw_claim_mac(struct sw *, uint16_t port_id, const uint8_t mac[static 6], uint64_t now_ms);

/* Calls 'cb' for every software flow record of every context.  A flow seen
 * by two contexts (its port moved between workers) appears once per context. */
void sw_soft_flows_foreach(const struct sw *, void (*cb)(const struct sw_soft_flow *, void *),
                           void *aux);

/* Human name of a logical port: a port's name, or "uplinks" for SW_TEAM. */
const char *sw_lport_name(const struct sw *, uint16_t lport);

#endif
