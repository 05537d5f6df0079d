/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pipeline: the slow path's stages, the decision they take, and the contexts
 * that run them (see pipeline.h).  Stages are static functions called
 * directly, in the order pipeline.h draws, so that the compiler lays the hot
 * path out as one function: no table of pointers, no allocation, no lock per
 * frame (a port's lock is taken once per burst: hold_port()).
 */
#include "dataplane/pipeline.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/dfw.h"
#include "dataplane/flowcache.h"
#include "dataplane/parse.h"
#include "dataplane/switch-private.h"
#include "dataplane/vlan.h"
#include "lib/log.h"
#include "lib/util.h"

LOG_MODULE(switch);

static const char *const soft_whats[SW_SOFT__N] = {
#define SW_SOFT_WHAT_(e, what) [SW_SOFT_##e] = what,
    SW_SOFT_REASONS(SW_SOFT_WHAT_)
#undef SW_SOFT_WHAT_
};

const char *
sw_soft_reason_what(enum sw_soft_reason r)
{
    return (unsigned)r < SW_SOFT__N ? soft_whats[r] : "?";
}

/* ---- contexts ---- */

void
sw_soft_flows_foreach(const struct sw *sw, void (*cb)(const struct sw_soft_flow *, void *),
                      void *aux)
{
    for (const struct sw_ctx *x = sw->ctxs; x; x = x->next)
        for (unsigned i = 0; i < SW_SOFT_FLOWS; i++)
            if (x->soft[i].in_use)
                cb(&x->soft[i], aux);
}

/* ---- counting and recording ---- */

static inline void
count_drop(struct sw_ctx *x, const struct sw_port *p, enum drop_reason r)
{
    x->stats[p->id].drops[r]++;
}

/* Records a frame handled in software (see sw_soft_flows_foreach()).  Returns
 * the record, or NULL for a frame too short to have one. */
static struct sw_soft_flow *
soft_record(struct sw_ctx *x, const struct sw_port *in, uint16_t tag, const uint8_t *frame,
            uint32_t len, enum sw_soft_reason reason, enum drop_reason drop, uint64_t now_ms)
{
    if (len < 2 * ETH_ADDR_LEN)
        return NULL;
    uint32_t h = (uint32_t)in->id * 31u + tag;
    for (int i = 0; i < 12; i++)
        h = (h ^ frame[i]) * 16777619u;
    struct sw_soft_flow *f = &x->soft[h % SW_SOFT_FLOWS];
    if (!f->in_use || f->in_port != in->id || f->tag != tag || f->reason != reason ||
        memcmp(f->dst, frame, 6) || memcmp(f->src, frame + 6, 6)) {
        memset(f, 0, sizeof *f);
        f->in_use = true;
        f->in_port = in->id;
        f->out_port = SW_SOFT_NO_OUT;
        f->tag = tag;
        memcpy(f->dst, frame, 6);
        memcpy(f->src, frame + 6, 6);
        f->reason = reason;
    }
    f->drop = drop;
    if (x->fw_rule) {
        f->rule = x->fw_rule;
        f->rule_gen = x->sw->dfw ? x->sw->dfw->gen : 0;
    }
    f->packets++;
    f->bytes += len;
    f->last_ms = now_ms;
    return f;
}

static void
drop_frame(struct sw_ctx *x, struct sw_port *in, const struct pkt *pkt, uint16_t tag,
           enum drop_reason r, uint64_t now_ms)
{
    count_drop(x, in, r);
    soft_record(x, in, tag, pkt->data, pkt->len, SW_SOFT_DROP, r, now_ms);
}

/* ---- output: ports, their locks, flooding ---- */

/* Sends what the ports hold since the last flush (see port.h) and lets go of
 * their locks. */
static void
flush_ports(struct sw_ctx *x)
{
    for (unsigned i = 0; i < x->n_held; i++) {
        uint16_t id = x->held[i];
        struct sw_port *p = &x->sw->ports[id];
        x->is_held[id] = false;
        if (p->in_use && p->io->ops->flush)
            p->io->ops->flush(p->io);
        pthread_mutex_unlock(&x->sw->io_mu[id]);
    }
    x->n_held = 0;
}

/* Takes port 'id''s lock for the rest of the burst.  Blocking only while we
 * hold no other (else we flush and let go of those first), no two contexts
 * ever wait for each other. */
static void
hold_port(struct sw_ctx *x, uint16_t id)
{
    if (x->is_held[id])
        return;
    pthread_mutex_t *mu = &x->sw->io_mu[id];
    if (!x->n_held) {
        pthread_mutex_lock(mu);
    } else if (pthread_mutex_trylock(mu)) {
        flush_ports(x);
        pthread_mutex_lock(mu);
    }
    x->is_held[id] = true;
    x->held[x->n_held++] = id;
}

static inline bool
is_fenced(const struct sw *sw, const struct sw_port *p)
{
    return p->kind == SW_PORT_VNIC && __atomic_load_n(&sw->vnics_fenced, __ATOMIC_RELAXED);
}

static bool
port_output(struct sw_ctx *x, struct sw_port *out, struct pkt *pkt)
{
    struct pkt *one[1] = {pkt};
    if (is_fenced(x->sw, out)) {
        count_drop(x, out, DROP_FENCED);
        return false;
    }
    hold_port(x, out->id);
    if (out->io->ops->tx_burst(out->io, one, 1) == 1) {
        x->stats[out->id].tx_packets++;
        x->stats[out->id].tx_bytes += pkt->len;
        return true;
    }
    count_drop(x, out, DROP_TX_ERROR);
    return false;
}

/* Sends an untagged frame to logical port 'lport' in portgroup 'pg'.  Returns
 * true if it was sent. */
static bool
lport_output(struct sw_ctx *x, uint16_t lport, const struct sw_portgroup *pg, struct pkt *pkt,
             struct sw_port *in)
{
    struct sw *sw = x->sw;
    if (lport != SW_TEAM)
        return port_output(x, &sw->ports[lport], pkt);
    if (sw->team.active < 0) {
        count_drop(x, in, DROP_NO_UPLINK);
        return false;
    }
    if (pg->vid && !vlan_push(pkt, pg->vid, pkt->meta.pcp)) {
        count_drop(x, in, DROP_OVERSIZE);
        return false;
    }
    bool sent = port_output(x, &sw->ports[sw->team.active], pkt);
    if (pg->vid)
        vlan_pop(pkt);
    return sent;
}

static void
flood(struct sw_ctx *x, uint16_t in_lport, const struct sw_portgroup *pg, struct pkt *pkt,
      struct sw_port *in)
{
    struct sw *sw = x->sw;
    int pg_idx = (int)(pg - sw->pgs);
    x->stats[in->id].rx_flood++;
    for (unsigned i = 0; i < SW_MAX_PORTS; i++) {
        struct sw_port *p = &sw->ports[i];
        if (p->in_use && p->kind == SW_PORT_VNIC && p->pg == pg_idx && i != in_lport)
            port_output(x, p, pkt);
    }
    if (in_lport != SW_TEAM)
        lport_output(x, SW_TEAM, pg, pkt, in);
}

/* ---- frames the switch originates ---- */

static void
announce_one(const struct fdb_entry_info *e, void *aux)
{
    struct sw_ctx *x = aux;
    struct sw *sw = x->sw;
    /* A fenced DPU owns no vNIC: announcing one would pull its traffic here. */
    if (e->port == SW_TEAM || sw->team.active < 0 ||
        __atomic_load_n(&sw->vnics_fenced, __ATOMIC_RELAXED))
        return;
    const struct sw_portgroup *pg = pg_by_vid(sw, e->vid);
    if (!pg)
        return;
    struct pkt *p = sw->team.scratch;
    pkt_rarp_build(p, e->mac);
    lport_output(x, SW_TEAM, pg, p, &sw->ports[sw->team.active]);
}

void
pipeline_announce(struct sw_ctx *x, uint64_t now_ms)
{
    fdb_foreach(x->sw->fdb, now_ms, announce_one, x);
    flush_ports(x);
}

/* ---- the decision: classify -> learn -> lookup -> overlay ---- */

/* What the stages of one decision share. */
struct decide_run {
    struct sw *sw;
    struct sw_ctx *x; /* SW_LEARN only */
    const struct sw_key *k;
    enum sw_learn learn;
    uint64_t now_ms;
    struct sw_decision *d;
};

/* Which portgroup and logical port a frame belongs to, from its ingress port
 * and its tag, and whether the portgroup's MTU lets it in. */
static inline enum sw_verdict
stage_classify(struct decide_run *r)
{
    const struct sw *sw = r->sw;
    const struct sw_key *k = r->k;
    const struct sw_port *in = &sw->ports[k->in_port];
    struct sw_decision *d = r->d;
    bool tagged = k->tag != SW_UNTAGGED;
    bool has_vlan = tagged && k->tag != 0; /* VID 0: a priority tag only */
    if (in->kind == SW_PORT_UPLINK) {
        if (sw->team.active != in->id)
            d->drop = DROP_STANDBY_UPLINK;
        else if (!(d->pg = pg_by_vid(sw, has_vlan ? k->tag : 0)))
            d->drop = DROP_VLAN_UNKNOWN;
        d->lport = SW_TEAM;
    } else if (has_vlan) {
        d->drop = DROP_TAGGED_ON_ACCESS;
    } else if (in->pg < 0) {
        d->drop = DROP_NO_PORTGROUP;
    } else {
        d->pg = &sw->pgs[in->pg];
        d->lport = in->id;
    }
    if (d->drop == DROP_NONE) {
        d->flow.max_len = d->pg->mtu + ETH_HDR_LEN + (tagged ? VLAN_TAG_LEN : 0);
        if (k->len > d->flow.max_len)
            d->drop = DROP_OVERSIZE;
    }
    return d->drop == DROP_NONE ? SW_NEXT : SW_DROP;
}

/* A frame: (VLAN, source) was seen on the ingress logical port; a move
 * invalidates every decision and the eswitch's flows of the MAC. */
static void
learn_frame(struct decide_run *r)
{
    struct sw *sw = r->sw;
    struct sw_ctx *x = r->x;
    const struct sw_decision *d = r->d;
    uint16_t old;
    if (fdb_learn(sw->fdb, d->pg->vid, r->k->src, d->lport, r->now_ms, &old) != FDB_MOVED)
        return;
    if (d->lport != SW_TEAM)
        x->stats[d->lport].mac_moves++;
    x->gen = gen_bump(sw); /* our own cache at once, the others' next burst */
    sw_offload_flush_mac(sw, r->k->src);
    char mac[MAC_STRLEN];
    mac_format(r->k->src, mac);
    log_warn_rl(&sw->move_rl, "port=%s vlan=%u: mac %s moved from %s", lport_name(sw, d->lport),
                d->pg->vid, mac, lport_name(sw, old));
}

static inline enum sw_verdict
stage_learn(struct decide_run *r)
{
    if (r->learn == SW_LEARN) {
        learn_frame(r);
        return SW_NEXT;
    }
    /* Checking a flow: its source must be where the flow says, unless the
     * eswitch saw it since (then it is learned again, as a frame would be). */
    struct sw *sw = r->sw;
    const struct sw_decision *d = r->d;
    bool hit = r->learn == SW_CHECK_REFRESH;
    uint16_t src_at;
    bool known = fdb_lookup(sw->fdb, d->pg->vid, r->k->src, r->now_ms, &src_at);
    if ((known && src_at != d->lport) || (!known && !hit))
        return SW_STALE; /* the source moved, or aged out unseen */
    if (hit)
        fdb_learn(sw->fdb, d->pg->vid, r->k->src, d->lport, r->now_ms, NULL);
    return SW_NEXT;
}

/* Where 'mac' in portgroup 'pg' is: true with '*out' set, or false when it is
 * unknown.  An entry of a port that has left the segment counts as unknown
 * (leaving removes a port's entries; this is the belt to those braces). */
static bool
dst_lookup(const struct sw *sw, const struct sw_portgroup *pg, const uint8_t *mac, uint64_t now_ms,
           uint16_t *out)
{
    if (!fdb_lookup(sw->fdb, pg->vid, mac, now_ms, out))
        return false;
    return *out == SW_TEAM || (sw->ports[*out].in_use && sw->ports[*out].pg == (int)(pg - sw->pgs));
}

static inline enum sw_verdict
stage_lookup(struct decide_run *r)
{
    const struct sw *sw = r->sw;
    const struct sw_key *k = r->k;
    struct sw_decision *d = r->d;
    if (eth_addr_is_multicast(k->dst)) {
        d->verdict = SW_FLOOD;
        d->why = SW_SOFT_BROADCAST;
        return SW_NEXT;
    }
    if (!dst_lookup(sw, d->pg, k->dst, r->now_ms, &d->out)) {
        d->verdict = SW_FLOOD;
        d->why = SW_SOFT_UNKNOWN_DST;
        return SW_NEXT;
    }
    if (d->out == d->lport) {
        d->drop = DROP_SAME_PORT;
        return SW_DROP;
    }
    bool to_team = d->out == SW_TEAM;
    d->verdict = SW_UNICAST;
    d->why = k->tag == 0 ? SW_SOFT_PRIORITY_TAG : SW_SOFT_FIRST_PACKET;
    d->flow.in_port = k->in_port;
    d->flow.out_port = to_team ? (uint16_t)sw->team.active : d->out;
    d->flow.tag = k->tag;
    d->flow.push_vid = to_team && d->pg->vid ? d->pg->vid : SW_NO_PUSH;
    d->flow.pop = k->tag != SW_UNTAGGED;
    d->flow.fw = sw->dfw != NULL;
    d->flow.zone = sw->dfw ? d->pg->vid : 0;
    memcpy(d->flow.dst, k->dst, 6);
    memcpy(d->flow.src, k->src, 6);
    return SW_NEXT;
}

/* The overlay's slot: nothing to encapsulate today. */
static inline enum sw_verdict
stage_overlay(struct decide_run *r)
{
    return SW_NEXT;
}

enum sw_verdict
sw_decide(struct sw *sw, struct sw_ctx *x, const struct sw_key *k, enum sw_learn learn,
          uint64_t now_ms, struct sw_decision *d)
{
    struct decide_run r = {.sw = sw, .x = x, .k = k, .learn = learn, .now_ms = now_ms, .d = d};
    d->verdict = SW_DROP;
    d->drop = DROP_NONE;
    d->why = SW_SOFT_DROP;
    d->pg = NULL;
    enum sw_verdict v;
#define SW_RUN_STAGE_(e, fn)                                                                       \
    d->stage = SW_STAGE_##e;                                                                       \
    if ((v = stage_##fn(&r)) != SW_NEXT)                                                           \
        return d->verdict = v;
    SW_DECIDE_STAGES(SW_RUN_STAGE_)
#undef SW_RUN_STAGE_
    return d->verdict;
}

bool
sw_flow_revalidate(struct sw *sw, const struct sw_flow *f, bool hit, uint64_t now_ms)
{
    /* Priority-tagged frames are never offloaded. */
    if (f->in_port >= SW_MAX_PORTS || !sw->ports[f->in_port].in_use || f->tag == 0)
        return false;
    struct sw_key k = {.in_port = f->in_port, .tag = f->tag, .dst = f->dst, .src = f->src};
    struct sw_decision d;
    if (sw_decide(sw, NULL, &k, hit ? SW_CHECK_REFRESH : SW_CHECK, now_ms, &d) != SW_UNICAST ||
        (d.out == SW_TEAM && sw->team.active < 0))
        return false;
    return d.flow.out_port == f->out_port && d.flow.push_vid == f->push_vid &&
           d.flow.pop == f->pop && d.flow.max_len == f->max_len && d.flow.fw == f->fw &&
           d.flow.zone == f->zone;
}

/* ---- running frames: parse -> cache | decide -> firewall -> output ---- */

/* The firewall on untagged frame 'pkt' of portgroup 'pg', from logical port
 * 'lport' ('tag' as received): true when it may go on; else it was counted
 * and recorded, and a reject answered. */
static bool
stage_firewall(struct sw_ctx *x, struct sw_port *in, struct pkt *pkt, uint16_t tag,
               const struct sw_portgroup *pg, uint16_t lport, uint64_t now_ms)
{
    struct dfw *fw = x->sw->dfw;
    if (!fw)
        return true;
    struct dfw_frame f = {.dmac = pkt->data,
                          .smac = pkt->data + ETH_ADDR_LEN,
                          .l3 = pkt->data + ETH_HDR_LEN,
                          .l3_len = pkt->len - ETH_HDR_LEN,
                          .eth_type = pkt->meta.eth_type,
                          .zone = pg->vid,
                          .bytes = pkt->len};
    struct dfw_result res;
    enum drop_reason r = dfw_check(fw, &f, now_ms, &res);
    x->fw_rule = res.rule != DFW_NO_RULE ? res.rule + 1 : 0;
    if (r == DROP_NONE)
        return true;
    if (res.reject && dfw_reject_build(&f, &res.pi, x->scratch))
        lport_output(x, lport, pg, x->scratch, in);
    drop_frame(x, in, pkt, tag, r, now_ms);
    return false;
}

/* Replays the cached decision for 'pkt' (parsed; 'tag' as received) if there
 * is a valid one.  Returns false when the frame must take the long way. */
static bool
stage_cache(struct sw_ctx *x, struct sw_port *in, struct pkt *pkt, uint16_t tag, uint64_t now_ms)
{
    struct sw *sw = x->sw;
    struct flowcache_entry *e =
        flowcache_lookup(&x->cache, x->gen, in->id, tag, pkt->data, pkt->len);
    if (!e)
        return false;
    uint32_t rx_len = pkt->len;
    uint16_t out = e->out_port, push = e->push_vid;
    enum sw_soft_reason why = (enum sw_soft_reason)e->why;
    if (flowcache_refresh_due(e, fdb_get_age(sw->fdb), now_ms)) {
        /* The source is where the entry says (a move would have bumped the
         * generation): this only refreshes its age. */
        fdb_learn(sw->fdb, sw->pgs[e->pg].vid, pkt->data + 6, e->lport, now_ms, NULL);
    }
    if (tag != SW_UNTAGGED)
        vlan_pop(pkt);
    if (!stage_firewall(x, in, pkt, tag, &sw->pgs[e->pg], e->lport, now_ms))
        return true;
    if (push != SW_NO_PUSH && !vlan_push(pkt, push, pkt->meta.pcp))
        count_drop(x, in, DROP_OVERSIZE);
    else
        port_output(x, &sw->ports[out], pkt);
    struct sw_soft_flow *f = soft_record(x, in, tag, pkt->data, rx_len, why, DROP_NONE, now_ms);
    if (f)
        f->out_port = out;
    return true;
}

/* Hands the decision just taken for known unicast frame 'pkt' to the flow
 * cache and the eswitch, and records the frame. */
static void
remember(struct sw_ctx *x, const struct sw_port *in, const struct sw_key *k,
         const struct sw_decision *d, const struct pkt *pkt, uint64_t now_ms)
{
    struct sw *sw = x->sw;
    enum sw_soft_reason why = d->why;
    if (why != SW_SOFT_PRIORITY_TAG) {
        if (!sw->has_offload || !sw->offload.install ||
            !sw->offload.install(sw->offload.aux, &d->flow))
            why = SW_SOFT_NO_ESWITCH;
        if (sw->dfw)
            why = SW_SOFT_FIREWALL; /* dsectl flow list says whether the eswitch took it */
        else if (gen_now(sw) != x->gen)
            /* Another worker moved a MAC since this decision was taken: the
             * flow may already be stale, and its flush may have come first. */
            sw_offload_flush_mac(sw, d->flow.dst);
        if (!sw->params.no_cache)
            flowcache_insert(&x->cache, x->gen, &d->flow, (uint16_t)(d->pg - sw->pgs), d->lport,
                             why, now_ms);
    }
    struct sw_soft_flow *f = soft_record(x, in, k->tag, pkt->data, k->len, why, DROP_NONE, now_ms);
    if (f)
        f->out_port = d->flow.out_port;
}

/* Carries out decision 'd' for 'pkt'.  'k' still describes the frame as
 * received, but its addresses are not to be read once the tag is popped. */
static void
stage_output(struct sw_ctx *x, struct sw_port *in, struct pkt *pkt, const struct sw_key *k,
             const struct sw_decision *d, uint64_t now_ms)
{
    if (d->stage > SW_STAGE_CLASSIFY && k->tag != SW_UNTAGGED)
        vlan_pop(pkt); /* from classification on, the untagged frame */
    if (d->verdict != SW_DROP && !stage_firewall(x, in, pkt, k->tag, d->pg, d->lport, now_ms))
        return;
    switch (d->verdict) {
    case SW_FLOOD:
        soft_record(x, in, k->tag, pkt->data, k->len, d->why, DROP_NONE, now_ms);
        flood(x, d->lport, d->pg, pkt, in);
        return;
    case SW_UNICAST:
        x->cache.misses++;
        if (lport_output(x, d->out, d->pg, pkt, in))
            remember(x, in, k, d, pkt, now_ms);
        return;
    default:
        drop_frame(x, in, pkt, k->tag, d->drop, now_ms);
        return;
    }
}

static void
switch_one(struct sw_ctx *x, struct sw_port *in, struct pkt *pkt, uint64_t now_ms)
{
    x->stats[in->id].rx_packets++;
    x->stats[in->id].rx_bytes += pkt->len;
    x->fw_rule = 0;
    if (is_fenced(x->sw, in)) {
        count_drop(x, in, DROP_FENCED);
        return;
    }
    struct pkt_meta *m = &pkt->meta;
    enum drop_reason r = pkt_parse(pkt->data, pkt->len, m);
    struct sw_key k = {
        .in_port = in->id,
        .tag = m->l3_ofs > ETH_HDR_LEN ? m->vid : SW_UNTAGGED,
        .len = pkt->len,
        .dst = pkt->data,
        .src = pkt->data + ETH_ADDR_LEN,
    };
    if (r == DROP_NONE && stage_cache(x, in, pkt, k.tag, now_ms))
        return;
    struct sw_decision d;
    if (r == DROP_NONE) {
        sw_decide(x->sw, x, &k, SW_LEARN, now_ms, &d);
    } else {
        d.verdict = SW_DROP;
        d.stage = SW_STAGE_PARSE;
        d.drop = r;
    }
    stage_output(x, in, pkt, &k, &d, now_ms);
}

void
sw_input_ctx(struct sw_ctx *x, uint16_t in, struct pkt **pkts, unsigned n, uint64_t now_ms)
{
    struct sw_port *p = &x->sw->ports[in];
    x->gen = gen_now(x->sw);
    for (unsigned i = 0; i < n; i++) {
        pkts[i]->in_port = in;
        switch_one(x, p, pkts[i], now_ms);
    }
    flush_ports(x);
}

void
sw_input(struct sw *sw, uint16_t in, struct pkt **pkts, unsigned n, uint64_t now_ms)
{
    sw_input_ctx(sw->own, in, pkts, n, now_ms);
}

unsigned
sw_poll_ctx(struct sw_ctx *x, uint16_t id, uint64_t now_ms)
{
    struct sw_port *p = &x->sw->ports[id];
    if (!p->in_use)
        return 0;
    pthread_mutex_lock(&x->sw->io_mu[id]); /* we hold no other: see hold_port() */
    unsigned n = p->io->ops->rx_burst(p->io, x->burst, SW_BURST);
    pthread_mutex_unlock(&x->sw->io_mu[id]);
    sw_input_ctx(x, id, x->burst, n, now_ms);
    return n;
}

unsigned
sw_poll(struct sw *sw, uint16_t id, uint64_t now_ms)
{
    return sw_poll_ctx(sw->own, id, now_ms);
}
