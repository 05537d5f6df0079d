/* SPDX-License-Identifier: Apache-2.0 */
/*
 * switch: one DPU's share of the distributed switch: its portgroups and ports,
 * and the object that ties the data plane's modules together.
 *
 * Ports are vNICs (access ports: untagged, in one portgroup) or uplinks (802.1Q
 * trunks to the fabric, teamed active/standby: team.h).  A portgroup is a
 * segment: a name, a VLAN id (0 = untagged on the uplinks) and an MTU.
 *
 *     switch.c     portgroups, ports, counters, ageing, fencing
 *     team.c       uplink election, carrier, failover, RARP announcements
 *     pipeline.c   the stages a frame goes through, and the one decision
 *                  they take for forwarding, the flow cache and revalidation
 *     flowcache.c  the per-context exact-match cache of decisions
 *     offload.c    the eswitch tier's side of the hooks below
 *
 * Every change that may alter a decision (portgroups, ports, carrier,
 * failover, a MAC that moves, is removed or ages out) bumps the switch's
 * generation number, which invalidates every cached decision at once, and
 * asks the eswitch (sw_set_offload) to flush the flows it may concern.
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

/* The eswitch tier's hooks (all optional): the pipeline offers it each
 * decision it can replay ('flow', pipeline.h) and tells it which flows a
 * change may have made stale. */
struct sw_flow;
struct l4_key;
struct sw_offload {
    bool (*install)(void *aux, const struct sw_flow *flow); /* false: not taken */
    void (*flush_mac)(void *aux, const uint8_t mac[6]);     /* flows from or to 'mac' */
    void (*flush_all)(void *aux);
    /* The firewall's connections (both directions of 'key'): false when not
     * taken; 'conn_flush' forgets them all.  NULL: none go to the eswitch. */
    bool (*conn_install)(void *aux, const struct l4_key *key);
    void (*conn_remove)(void *aux, const struct l4_key *key, uint64_t packets[2],
                        uint64_t bytes[2]); /* what each direction counted */
    void (*conn_flush)(void *aux);
    void *aux;
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

/* Port 'id''s counters: the sum over every context.  This function can't
 * fail (an unused id reads as zeros). */
void sw_port_stats(const struct sw *, unsigned id, struct sw_port_stats *out);

/* Asks port 'id''s backend for its carrier (vhost-user: a front-end is
 * attached), holding the port's lock; a port without the notion reports the
 * carrier the switch has.  Safe beside the packet path. */
bool sw_port_io_carrier(struct sw *, uint16_t id);

/* Brings the switch's carrier of port 'id' in line with its backend's
 * (sw_port_io_carrier(), then sw_port_set_carrier() if they differ), with
 * sw_port_set_carrier()'s needs.  Returns true if the active uplink
 * changed. */
bool sw_port_sync_carrier(struct sw *, uint16_t id, uint64_t now_ms);

/* Periodic work (ageing).  Call about once a second. */
void sw_tick(struct sw *, uint64_t now_ms);

struct fdb *sw_fdb(struct sw *);

/* The distributed firewall (dfw.h, docs/dfw.md).  sw_dfw_set() puts policy
 * 'pol' (taken) in force, or turns the firewall off (NULL): each
 * portgroup gets its default, the connections are checked again, and the
 * eswitch forgets its flows (with the firewall on, IP frames are switched
 * in software, where the connection table is).  With no frame being
 * switched.  Returns 0, or -ENOMEM (nothing changed).  sw_dfw() is NULL
 * while it is off; read its counters and connections at any time. */
struct dfw_policy;
struct dfw;
int sw_dfw_set(struct sw *, struct dfw_policy *pol);
struct dfw *sw_dfw(struct sw *);

/* Sets (or, with NULL, clears) the eswitch hooks. */
void sw_set_offload(struct sw *, const struct sw_offload *offload);

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

/* Human name of a logical port: a port's name, or "uplinks" for SW_TEAM. */
const char *sw_lport_name(const struct sw *, uint16_t lport);

#endif
