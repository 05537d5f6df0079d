/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pipeline: the stages a frame goes through in the slow path, and the one
 * decision they take.
 *
 *   rx burst -> parse -> flow cache hit? ---------------- yes: replay it --+
 *                          | no                                           |
 *                          v                                              |
 *       decide(): classify -> learn -> lookup -> overlay                  |
 *                          |                                              v
 *                          +--> firewall -> output: drop | flood | unicast -> (cache, eswitch)
 *                               -> flush each egress port once per burst
 *
 *   parse     pkt_parse() (parse.c): Ethernet and 802.1Q; the tag as received
 *   cache     flowcache.h: the decision last taken for the same key
 *   classify  ingress port -> portgroup and logical port (all uplinks are one,
 *             SW_TEAM); drops a frame on a standby uplink, a tag on an access
 *             port, an unknown VLAN, a frame over the portgroup's MTU
 *   learn     (VLAN, source) -> logical port; a move bumps the generation
 *   lookup    (VLAN, destination): multicast and unknown ones flood, a known
 *             one is unicast (dropped if it is the ingress logical port)
 *   overlay   slot for the overlay (Geneve): empty
 *   output    pops the tag (from classification on, the pipeline works on
 *             the untagged frame), runs the firewall on it when the switch
 *             has one (dfw.h: conntrack and the rules; a drop is counted,
 *             a reject answered on the ingress port), sends, and hands a
 *             unicast decision to the flow cache and the eswitch; per
 *             egress port: vNIC untagged, uplink team: push the
 *             portgroup's tag, active uplink only
 *
 * The firewall decides per connection, not per (port, MAC) pair: it runs on
 * every frame, the flow cache's replays too, after the L2 decision.  While
 * it is on, no flow goes to the eswitch (which has no connection table
 * yet): IP is switched in software.
 *
 * Design: sw_decide() runs the stages from classify to overlay on a key
 * (ingress port, tag as received, addresses, length), not on a frame, and
 * yields a verdict and, for known unicast, the flow the eswitch may hold
 * (struct sw_flow).  The packet path calls it for a frame the flow cache
 * misses and fills the cache and the eswitch with its decision; the
 * revalidator (sw_flow_revalidate) calls it again for a flow the eswitch
 * holds and keeps the flow only while the decision is the same.  A new stage
 * is one more entry in SW_DECIDE_STAGES and its function in pipeline.c:
 * forwarding, the cache and revalidation all honour it, and the code that
 * runs a frame does not change.
 *
 * Flooding (broadcast, multicast, unknown unicast) reaches only the ingress
 * portgroup's vNICs and, unless the frame came from the fabric, the active
 * uplink; never the ingress port.  Frames from the fabric are never sent back
 * to it (split horizon), and frames on a standby uplink are dropped, so the
 * fabric's own flooding to both uplinks never duplicates a frame.
 *
 * Frames handled in software are recorded per context (struct sw_soft_flow),
 * for `dsectl flow list` to say where each flow runs and why.
 *
 * Thread-safety: a context (sw_ctx) is one thread's: any number of contexts
 * switch frames at once, as switch.h says; sw_input and sw_poll use the
 * switch's own context.  sw_decide() in learning mode is the packet path's;
 * in checking mode (revalidation) and everything else here needs the switch
 * to itself.  Nothing on the packet path allocates or takes a lock per frame.
 */
#ifndef DSE_PIPELINE_H
#define DSE_PIPELINE_H

#include <stdbool.h>
#include <stdint.h>

#include "dataplane/drops.h"
#include "dataplane/packet.h"
#include "dataplane/switch.h"

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
    bool fw;       /* under the firewall: IP only for the connections it offloads */
    uint16_t zone; /* fw: the portgroup's VLAN */
};

/* Why a frame was handled in software; with SW_SOFT_DROP the drop reason says
 * more. */
#define SW_SOFT_REASONS(X)                                                                         \
    X(BROADCAST, "broadcast or multicast: flooded by the slow path")                               \
    X(UNKNOWN_DST, "unknown destination: flooded by the slow path")                                \
    X(PRIORITY_TAG, "priority-tagged frame: handled in software")                                  \
    X(NO_ESWITCH, "known unicast, but the eswitch could not take the flow")                        \
    X(FIRST_PACKET, "first packet of a flow now in the eswitch")                                   \
    X(FIREWALL, "under the firewall: connections begin and end in software, established ones "     \
                "run in the eswitch")                                                              \
    X(DROP, "dropped")
enum sw_soft_reason {
#define SW_SOFT_ENUM_(e, what) SW_SOFT_##e,
    SW_SOFT_REASONS(SW_SOFT_ENUM_)
#undef SW_SOFT_ENUM_
        SW_SOFT__N
};
const char *sw_soft_reason_what(enum sw_soft_reason r); /* can't fail */

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
    uint32_t rule;     /* the firewall's rule for its last IP frame, + 1; 0: none */
    uint32_t rule_gen; /* of the policy it is a rule of (struct dfw's gen) */
    uint64_t packets, bytes;
    uint64_t last_ms;
};

/* ---- the decision ---- */

struct sw_ctx;

/* The stages sw_decide() runs, in order: X(ENUM, function in pipeline.c). */
#define SW_DECIDE_STAGES(X)                                                                        \
    X(CLASSIFY, classify)                                                                          \
    X(LEARN, learn)                                                                                \
    X(LOOKUP, lookup)                                                                              \
    X(OVERLAY, overlay)
enum sw_stage {
    SW_STAGE_PARSE,
#define SW_STAGE_ENUM_(e, fn) SW_STAGE_##e,
    SW_DECIDE_STAGES(SW_STAGE_ENUM_)
#undef SW_STAGE_ENUM_
        SW_STAGE_OUTPUT
};

/* What a decision depends on.  'dst' and 'src' point at 6 bytes each. */
struct sw_key {
    uint16_t in_port;
    uint16_t tag; /* as received: SW_UNTAGGED, 0 (priority tag) or a VLAN id */
    uint32_t len; /* of the frame as received; 0: no frame (revalidation) */
    const uint8_t *dst, *src;
};

enum sw_verdict {
    SW_NEXT,    /* (between stages) on to the next one */
    SW_DROP,    /* 'drop' says why */
    SW_FLOOD,   /* to the portgroup */
    SW_UNICAST, /* to 'out', as 'flow' says */
    SW_STALE,   /* (checking only) the source is not where the key says */
};

struct sw_decision {
    enum sw_verdict verdict;
    enum sw_stage stage;     /* the last stage that ran */
    enum drop_reason drop;   /* SW_DROP */
    enum sw_soft_reason why; /* recorded for a frame handled in software */
    const struct sw_portgroup *pg;
    uint16_t lport;      /* ingress logical port (a port id or SW_TEAM) */
    uint16_t out;        /* SW_UNICAST: egress logical port */
    struct sw_flow flow; /* SW_UNICAST: what the flow cache and eswitch replay */
};

/* How sw_decide() treats the key's source. */
enum sw_learn {
    SW_LEARN,         /* a frame: learn the source where it came from, moves too */
    SW_CHECK,         /* revalidation: the source must be known where it came from */
    SW_CHECK_REFRESH, /* the same, and the eswitch saw it: refresh its age (or
                         learn it again, if it aged out) */
};

/* Decides what becomes of frames with key 'k' at 'now_ms' and fills 'd'.
 * With SW_LEARN, 'x' is the context the frame is switched in (it counts a
 * move and takes the new generation); with the checking modes 'x' is NULL
 * and the switch must be the caller's alone.  Returns d->verdict (never
 * SW_NEXT). */
enum sw_verdict sw_decide(struct sw *, struct sw_ctx *x, const struct sw_key *k,
                          enum sw_learn learn, uint64_t now_ms, struct sw_decision *d);

/* Would the slow path still decide 'flow' this way?  When 'hit' (the flow
 * forwarded frames since the last call), its source MAC is refreshed in the
 * MAC table first, since the eswitch saw those frames instead of us. */
bool sw_flow_revalidate(struct sw *, const struct sw_flow *flow, bool hit, uint64_t now_ms);

/* ---- running frames ---- */

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
struct sw_ctx *sw_ctx_create(struct sw *); /* NULL on ENOMEM */
void sw_ctx_destroy(struct sw_ctx *);      /* accepts NULL */
void sw_input_ctx(struct sw_ctx *, uint16_t in, struct pkt **pkts, unsigned n, uint64_t now_ms);
unsigned sw_poll_ctx(struct sw_ctx *, uint16_t id, uint64_t now_ms);

/* Calls 'cb' for every software flow record of every context.  A flow seen
 * by two contexts (its port moved between workers) appears once per context. */
void sw_soft_flows_foreach(const struct sw *, void (*cb)(const struct sw_soft_flow *, void *),
                           void *aux);

#endif
