/* SPDX-License-Identifier: Apache-2.0 */
/*
 * offload: the eswitch tier's side of the switch (DESIGN.md section 5): puts
 * the slow path's decisions into the eswitch's flow table, flushes the flows
 * a change makes stale, and revalidates the table against the switch.
 *
 * Design: offload_create() sets the switch's hooks (switch.h, struct
 * sw_offload).  The pipeline offers every known unicast decision it takes
 * (struct sw_flow, pipeline.h); offload installs it when both ports are on
 * the eswitch, as an exact-match flow (ingress interface, tag as received,
 * source, destination) -> (egress interface, tag to push or pop, longest
 * frame).  The switch asks for a flush when a MAC moves (its flows) or when
 * anything else may change a decision (all flows).  Once a second
 * offload_revalidate() reads the table and asks the switch, for each flow,
 * whether it would still decide it this way (sw_flow_revalidate: the same
 * decide() the packet path runs); it removes the stale flows and those idle
 * for OFFLOAD_IDLE_NS, and refreshes in the MAC table the sources of the
 * flows that forwarded frames, which the slow path never saw.  When the table
 * is full, new flows stay in software until a revalidation makes room (then
 * one idle second is enough to lose a flow).
 *
 *     flow: offered --install--> in the eswitch --stale or idle--> removed
 *                                   |  \--flush (MAC moved, config)--/
 *                                   +--hit: its source refreshed
 *
 * Thread-safety: the install hook runs in any number of workers at once (the
 * table is a BPF map; 'full' an atomic flag); the flush hooks run where the
 * switch changes, which is with the workers paused.  Everything else is the
 * control thread's.  offload_revalidate() reads and prunes the table beside
 * the workers and runs the checks against the switch between the 'pause' and
 * 'resume' hooks it was given.
 */
#ifndef DSE_OFFLOAD_H
#define DSE_OFFLOAD_H

#include <stdbool.h>
#include <stdint.h>

#include "dataplane/eswitch.h"
#include "dataplane/pipeline.h"
#include "dataplane/switch.h"

/* Flows idle this long leave the table; the slow path reinstalls them on
 * their next frame.  While the table is full, new flows wait for room: then
 * one idle second is enough. */
#define OFFLOAD_IDLE_NS (10ull * 1000000000ull)
#define OFFLOAD_IDLE_FULL_NS (1ull * 1000000000ull)

struct offload_params {
    struct sw *sw;
    struct eswitch *es; /* stays the caller's */
    bool no_install;    /* the eswitch steers misses but holds no flow */
    /* Keep the packet path off the switch, and let it go on (dpud_pause). */
    void (*pause)(void *aux);
    void (*resume)(void *aux);
    void *aux;
};

struct offload;

/* Creates the eswitch tier for 'p->sw' and sets the switch's hooks.  Returns
 * NULL on ENOMEM (the switch is left without hooks).  Without memory to
 * revalidate, it still installs flows, which then leave only when flushed
 * (logged). */
struct offload *offload_create(const struct offload_params *p);
/* Frees.  The switch must no longer call the hooks (destroyed, or its hooks
 * cleared).  Accepts NULL. */
void offload_destroy(struct offload *);

/* Port 'id' of the switch joined: puts its interface on the eswitch unless
 * 'attached' says it is already.  A port without a kernel interface (or NULL
 * 'o') stays off it, and so its flows stay in software.  Returns whether the
 * port is on the eswitch. */
bool offload_port_add(struct offload *o, uint16_t id, bool attached);
/* Port 'id' is leaving: takes its interface off the eswitch.  Call before the
 * switch forgets the port.  Accepts NULL 'o'. */
void offload_port_del(struct offload *o, uint16_t id);
/* Whether port 'id' is on the eswitch; false with NULL 'o'. */
bool offload_port_on_eswitch(const struct offload *o, uint16_t id);

/* Revalidates every flow (see above).  Call about once a second, with the
 * packet path running: it pauses it for the checks.  Accepts NULL. */
void offload_revalidate(struct offload *);

struct offload_stats {
    bool installs;                     /* false: no_install */
    uint64_t reval_us, reval_pause_us; /* the last revalidation, and how long it
                                          kept the packet path paused */
    unsigned reval_removed;            /* flows it removed */
    unsigned reval_flows;              /* flows it left in the table */
    unsigned reval_conns;              /* firewall connection directions in the eswitch */
};
/* Zeros with NULL 'o'.  This function can't fail. */
void offload_get_stats(const struct offload *o, struct offload_stats *out);

/* ---- the mapping and the verdicts, pure functions of the switch ---- */

/* The eswitch flow for decision 'f' of switch 'sw' (both ports in use), last
 * hit at 'now_ns'.  This function can't fail. */
void offload_flow_to_eswitch(const struct sw *sw, const struct sw_flow *f, uint64_t now_ns,
                             struct eswitch_key *k, struct eswitch_action *a);
/* The decision an eswitch flow replays.  This function can't fail. */
void offload_flow_from_eswitch(const struct eswitch_key *k, const struct eswitch_action *a,
                               struct sw_flow *f);

/* What revalidation does with one flow. */
enum offload_verdict {
    OFFLOAD_KEEP,
    OFFLOAD_IDLE,         /* no hit for the idle time */
    OFFLOAD_PORT_CHANGED, /* a port left, or its interface is another one */
    OFFLOAD_STALE,        /* the switch would decide otherwise now */
};
struct offload_clock {
    uint64_t now_ms;        /* the switch's clock (monotonic) */
    uint64_t now_ns;        /* the eswitch's (eswitch_now_ns()) */
    uint64_t last_reval_ns; /* the previous revalidation: a hit since? */
    uint64_t idle_ns;       /* how long a flow may go without a hit */
};
/* Checks flow 'k' -> 'a' against 'sw' (which must be the caller's alone);
 * a flow that was hit has its source refreshed in the MAC table. */
enum offload_verdict offload_flow_verdict(struct sw *sw, const struct eswitch_key *k,
                                          const struct eswitch_action *a,
                                          const struct offload_clock *c);

#endif
