/* SPDX-License-Identifier: Apache-2.0 */
/* switch: portgroups, ports, uplink team and the L2 pipeline (see switch.h). */
#include "dataplane/switch.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "dataplane/parse.h"
#include "lib/util.h"
#include "dataplane/vlan.h"

LOG_MODULE(switch);

/* A cached forwarding decision (see switch.h). */
struct fc_entry {
    uint8_t macs[12]; /* dst, src: the key, with in_port and tag */
    uint16_t in_port, tag;
    uint32_t gen;          /* valid while equal to sw->gen */
    uint16_t out_port;     /* a port id (the active uplink, for the team) */
    uint16_t push_vid;     /* SW_NO_PUSH or the portgroup's VLAN */
    uint32_t max_len;      /* longer frames take the long way (MTU policing) */
    uint16_t lport, pg;    /* where the source is learned, for refreshing it */
    uint8_t why;           /* enum sw_soft_reason recorded for its frames */
    uint64_t refreshed_ms; /* last time the source MAC's age was refreshed */
};

struct sw {
    struct sw_params params;
    struct sw_portgroup pgs[SW_MAX_PORTGROUPS];
    struct sw_port ports[SW_MAX_PORTS];
    uint16_t uplinks[SW_MAX_UPLINKS]; /* in order of preference */
    unsigned n_uplinks;
    int active; /* port id of the active uplink, -1 if none */
    uint64_t n_failovers;
    struct fdb *fdb;
    struct log_ratelimit move_rl;
    struct pkt *scratch; /* for frames we originate (announcements) */
    struct sw_offload offload;
    bool has_offload;
    uint32_t gen;        /* of the decisions; bumped whenever one may change (atomic) */
    bool vnics_fenced;   /* (atomic) vNIC ports neither receive nor send */
    struct sw_ctx *own;  /* the context of sw_input(), sw_poll(), announcements */
    struct sw_ctx *ctxs; /* every context, for their statistics */
    /* One per port: whoever calls the port's backend holds it (see switch.h). */
    pthread_mutex_t io_mu[SW_MAX_PORTS];
};

/* What one thread needs to run frames through the pipeline (see switch.h). */
struct sw_ctx {
    struct sw *sw;
    struct sw_ctx *next;         /* in sw->ctxs */
    struct pkt *burst[SW_BURST]; /* receive buffers, allocated once */
    uint32_t gen;                /* sw->gen when the burst began */
    uint16_t held[SW_MAX_PORTS]; /* ports whose io lock we hold: sent to since the
                                    last flush */
    bool is_held[SW_MAX_PORTS];
    unsigned n_held;
    struct sw_cache_stats cache_stats;
    struct sw_port_stats stats[SW_MAX_PORTS]; /* this context's share */
    struct sw_soft_flow soft[SW_SOFT_FLOWS];
    struct fc_entry cache[SW_FLOW_CACHE_SIZE];
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

void
sw_set_offload(struct sw *sw, const struct sw_offload *offload)
{
    sw->has_offload = offload != NULL;
    if (offload)
        sw->offload = *offload;
}

void
sw_soft_flows_foreach(const struct sw *sw, void (*cb)(const struct sw_soft_flow *, void *),
                      void *aux)
{
    for (const struct sw_ctx *x = sw->ctxs; x; x = x->next)
        for (unsigned i = 0; i < SW_SOFT_FLOWS; i++)
            if (x->soft[i].in_use)
                cb(&x->soft[i], aux);
}

void
sw_port_stats(const struct sw *sw, unsigned id, struct sw_port_stats *out)
{
    memset(out, 0, sizeof *out);
    if (id >= SW_MAX_PORTS)
        return;
    for (const struct sw_ctx *x = sw->ctxs; x; x = x->next) {
        const struct sw_port_stats *s = &x->stats[id];
        out->rx_packets += s->rx_packets;
        out->rx_bytes += s->rx_bytes;
        out->tx_packets += s->tx_packets;
        out->tx_bytes += s->tx_bytes;
        out->rx_flood += s->rx_flood;
        out->mac_moves += s->mac_moves;
        for (int r = 0; r < DROP__N; r++)
            out->drops[r] += s->drops[r];
    }
}

/* A new port starts from zero in every context. */
static void
forget_port(struct sw *sw, uint16_t id)
{
    for (struct sw_ctx *x = sw->ctxs; x; x = x->next) {
        memset(&x->stats[id], 0, sizeof x->stats[id]);
        for (unsigned i = 0; i < SW_SOFT_FLOWS; i++)
            if (x->soft[i].in_use && x->soft[i].in_port == id)
                x->soft[i].in_use = false;
    }
}

/* Every cached decision, and those the eswitch holds, may be about to change. */
static void
offload_flush_all(struct sw *sw)
{
    gen_bump(sw);
    if (sw->has_offload && sw->offload.flush_all)
        sw->offload.flush_all(sw->offload.aux);
}

struct sw *
sw_create(const struct sw_params *params)
{
    struct sw *sw = calloc(1, sizeof *sw);
    if (!sw)
        return NULL;
    sw->params = *params;
    sw->active = -1;
    sw->move_rl = (struct log_ratelimit)LOG_RATELIMIT_INIT(10, 5000);
    sw->fdb = fdb_create(params->fdb_capacity, params->fdb_age_ms);
    sw->scratch = malloc(sizeof *sw->scratch);
    sw->gen = 1; /* cache entries start at 0: invalid */
    for (unsigned i = 0; i < SW_MAX_PORTS; i++)
        pthread_mutex_init(&sw->io_mu[i], NULL);
    if (!sw->fdb || !sw->scratch || !(sw->own = sw_ctx_create(sw)))
        goto fail;
    return sw;
fail:
    sw_destroy(sw);
    return NULL;
}

void
sw_destroy(struct sw *sw)
{
    if (!sw)
        return;
    for (unsigned i = 0; i < SW_MAX_PORTS; i++)
        if (sw->ports[i].in_use)
            port_close(sw->ports[i].io);
    while (sw->ctxs)
        sw_ctx_destroy(sw->ctxs);
    free(sw->scratch);
    fdb_destroy(sw->fdb);
    for (unsigned i = 0; i < SW_MAX_PORTS; i++)
        pthread_mutex_destroy(&sw->io_mu[i]);
    free(sw);
}

struct sw_ctx *
sw_ctx_create(struct sw *sw)
{
    struct sw_ctx *x = calloc(1, sizeof *x);
    if (!x)
        return NULL;
    x->sw = sw;
    for (unsigned i = 0; i < SW_BURST; i++) {
        if (!(x->burst[i] = malloc(sizeof *x->burst[i]))) {
            for (unsigned j = 0; j < i; j++)
                free(x->burst[j]);
            free(x);
            return NULL;
        }
    }
    x->next = sw->ctxs;
    sw->ctxs = x;
    return x;
}

void
sw_ctx_destroy(struct sw_ctx *x)
{
    if (!x)
        return;
    struct sw_ctx **pp = &x->sw->ctxs;
    while (*pp != x)
        pp = &(*pp)->next;
    *pp = x->next;
    if (x->sw->own == x)
        x->sw->own = NULL;
    for (unsigned i = 0; i < SW_BURST; i++)
        free(x->burst[i]);
    free(x);
}

struct fdb *
sw_fdb(struct sw *sw)
{
    return sw->fdb;
}

/* ---- portgroups ---- */

int
sw_portgroup_find(const struct sw *sw, const char *name)
{
    for (unsigned i = 0; i < SW_MAX_PORTGROUPS; i++)
        if (sw->pgs[i].in_use && !strcmp(sw->pgs[i].name, name))
            return (int)i;
    return -ENOENT;
}

const struct sw_portgroup *
sw_portgroup_at(const struct sw *sw, unsigned idx)
{
    return idx < SW_MAX_PORTGROUPS && sw->pgs[idx].in_use ? &sw->pgs[idx] : NULL;
}

static const struct sw_portgroup *
pg_by_vid(const struct sw *sw, uint16_t vid)
{
    for (unsigned i = 0; i < SW_MAX_PORTGROUPS; i++)
        if (sw->pgs[i].in_use && sw->pgs[i].vid == vid)
            return &sw->pgs[i];
    return NULL;
}

int
sw_portgroup_set(struct sw *sw, const char *name, uint16_t vid, uint16_t mtu)
{
    if (!name_is_valid(name, SW_NAME_MAX) || vid > 4094 || mtu < SW_MTU_MIN || mtu > SW_MTU_MAX)
        return -EINVAL;
    const struct sw_portgroup *other = pg_by_vid(sw, vid);
    if (other && strcmp(other->name, name))
        return -EEXIST;
    int idx = sw_portgroup_find(sw, name);
    if (idx < 0) {
        for (idx = 0; idx < SW_MAX_PORTGROUPS && sw->pgs[idx].in_use; idx++)
            ;
        if (idx == SW_MAX_PORTGROUPS)
            return -ENOSPC;
    }
    struct sw_portgroup *pg = &sw->pgs[idx];
    if (pg->in_use && pg->vid != vid) {
        /* The segment changed: what was learned in the old VLAN is stale. */
        fdb_flush(sw->fdb, FDB_ALL_PORTS);
    }
    if (pg->in_use && (pg->vid != vid || pg->mtu != mtu))
        offload_flush_all(sw);
    pg->in_use = true;
    snprintf(pg->name, sizeof pg->name, "%s", name);
    pg->vid = vid;
    pg->mtu = mtu;
    return idx;
}

int
sw_portgroup_del(struct sw *sw, const char *name)
{
    int idx = sw_portgroup_find(sw, name);
    if (idx < 0)
        return idx;
    for (unsigned i = 0; i < SW_MAX_PORTS; i++)
        if (sw->ports[i].in_use && sw->ports[i].pg == idx)
            return -EBUSY;
    memset(&sw->pgs[idx], 0, sizeof sw->pgs[idx]);
    return 0;
}

/* ---- ports and team ---- */

int
sw_port_find(const struct sw *sw, const char *name)
{
    for (unsigned i = 0; i < SW_MAX_PORTS; i++)
        if (sw->ports[i].in_use && !strcmp(sw->ports[i].name, name))
            return (int)i;
    return -ENOENT;
}

const struct sw_port *
sw_port_at(const struct sw *sw, unsigned id)
{
    return id < SW_MAX_PORTS && sw->ports[id].in_use ? &sw->ports[id] : NULL;
}

const char *
sw_lport_name(const struct sw *sw, uint16_t lport)
{
    if (lport == SW_TEAM)
        return "uplinks";
    const struct sw_port *p = sw_port_at(sw, lport);
    return p ? p->name : "?";
}

int
sw_team_active(const struct sw *sw)
{
    return sw->active;
}

uint64_t
sw_team_failovers(const struct sw *sw)
{
    return sw->n_failovers;
}

/* Sends a RARP from every MAC learned on a vNIC out of the active uplink, in
 * its VLAN, so that the fabric learns the new path at once (as vSphere's
 * "notify switches" does). */
static void sw_announce(struct sw *sw, uint64_t now_ms);

/* Picks the active uplink: with failback, the first in order with carrier;
 * without, the current one while it has carrier.  Returns true on change. */
static bool
team_elect(struct sw *sw, uint64_t now_ms)
{
    int want = -1;
    if (!sw->params.failback && sw->active >= 0 && sw->ports[sw->active].carrier)
        want = sw->active;
    for (unsigned i = 0; want < 0 && i < sw->n_uplinks; i++)
        if (sw->ports[sw->uplinks[i]].carrier)
            want = sw->uplinks[i];
    if (want == sw->active)
        return false;
    log_info("team: active uplink %s -> %s", sw->active >= 0 ? sw->ports[sw->active].name : "none",
             want >= 0 ? sw->ports[want].name : "none");
    bool was_up = sw->active >= 0;
    sw->active = want;
    offload_flush_all(sw);
    if (want >= 0) {
        if (was_up)
            sw->n_failovers++;
        sw_announce(sw, now_ms);
    }
    return true;
}

bool
sw_port_set_carrier(struct sw *sw, uint16_t id, bool up, uint64_t now_ms)
{
    if (!sw_port_at(sw, id))
        return false;
    struct sw_port *p = &sw->ports[id];
    if (p->carrier == up)
        return false;
    p->carrier = up;
    if (p->kind != SW_PORT_UPLINK) {
        if (!up) {
            fdb_flush(sw->fdb, id);
            offload_flush_all(sw);
        }
        return false;
    }
    return team_elect(sw, now_ms);
}

int
sw_port_add(struct sw *sw, const char *name, enum sw_port_kind kind, const char *pg,
            struct port *io)
{
    int rc, pg_idx = -1;
    if (!name_is_valid(name, SW_NAME_MAX) || !io || (kind == SW_PORT_VNIC) != !!pg) {
        rc = -EINVAL;
        goto fail;
    }
    if (sw_port_find(sw, name) >= 0) {
        rc = -EEXIST;
        goto fail;
    }
    if (pg && (pg_idx = sw_portgroup_find(sw, pg)) < 0) {
        rc = -ENOENT;
        goto fail;
    }
    if (kind == SW_PORT_UPLINK && sw->n_uplinks == SW_MAX_UPLINKS) {
        rc = -ENOSPC;
        goto fail;
    }
    unsigned id;
    for (id = 0; id < SW_MAX_PORTS && sw->ports[id].in_use; id++)
        ;
    if (id == SW_MAX_PORTS) {
        rc = -ENOSPC;
        goto fail;
    }
    struct sw_port *p = &sw->ports[id];
    memset(p, 0, sizeof *p);
    p->in_use = true;
    p->id = (uint16_t)id;
    snprintf(p->name, sizeof p->name, "%s", name);
    p->kind = kind;
    p->pg = pg_idx;
    p->io = io;
    forget_port(sw, (uint16_t)id);
    if (kind == SW_PORT_UPLINK)
        sw->uplinks[sw->n_uplinks++] = (uint16_t)id;
    return (int)id;
fail:
    port_close(io);
    return rc;
}

int
sw_port_set_portgroup(struct sw *sw, uint16_t id, const char *pg)
{
    if (!sw_port_at(sw, id) || sw->ports[id].kind != SW_PORT_VNIC)
        return -EINVAL;
    int idx = sw_portgroup_find(sw, pg);
    if (idx < 0)
        return idx;
    if (sw->ports[id].pg != idx) {
        sw->ports[id].pg = idx;
        fdb_flush(sw->fdb, id);
        offload_flush_all(sw);
    }
    return 0;
}

int
sw_port_del(struct sw *sw, const char *name)
{
    int id = sw_port_find(sw, name);
    if (id < 0)
        return id;
    struct sw_port *p = &sw->ports[id];
    if (p->kind == SW_PORT_UPLINK) {
        unsigned j = 0;
        for (unsigned i = 0; i < sw->n_uplinks; i++)
            if (sw->uplinks[i] != id)
                sw->uplinks[j++] = sw->uplinks[i];
        sw->n_uplinks = j;
        p->carrier = false;
        if (sw->active == id)
            team_elect(sw, now_ms());
    } else {
        fdb_flush(sw->fdb, (uint16_t)id);
    }
    offload_flush_all(sw);
    port_close(p->io);
    memset(p, 0, sizeof *p);
    return 0;
}

/* ---- the pipeline ---- */

static inline void
count_drop(struct sw_ctx *x, const struct sw_port *p, enum drop_reason r)
{
    x->stats[p->id].drops[r]++;
}

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
    if (sw->active < 0) {
        count_drop(x, in, DROP_NO_UPLINK);
        return false;
    }
    if (pg->vid && !vlan_push(pkt, pg->vid, pkt->meta.pcp)) {
        count_drop(x, in, DROP_OVERSIZE);
        return false;
    }
    bool sent = port_output(x, &sw->ports[sw->active], pkt);
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

static void
learn(struct sw_ctx *x, const struct sw_portgroup *pg, const uint8_t *src, uint16_t lport,
      uint64_t now_ms)
{
    struct sw *sw = x->sw;
    uint16_t old;
    if (fdb_learn(sw->fdb, pg->vid, src, lport, now_ms, &old) != FDB_MOVED)
        return;
    if (lport != SW_TEAM)
        x->stats[lport].mac_moves++;
    x->gen = gen_bump(sw); /* our own cache at once, the others' next burst */
    if (sw->has_offload && sw->offload.flush_mac)
        sw->offload.flush_mac(sw->offload.aux, src);
    char mac[MAC_STRLEN];
    mac_format(src, mac);
    log_warn_rl(&sw->move_rl, "port=%s vlan=%u: mac %s moved from %s", sw_lport_name(sw, lport),
                pg->vid, mac, sw_lport_name(sw, old));
}

/* Where 'mac' in portgroup 'pg' is: true with '*out' set, or false when it is
 * unknown.  An entry of a port that has left the segment counts as unknown
 * (leaving removes a port's entries; this is the belt to those braces). */
static bool
dst_lookup(struct sw *sw, const struct sw_portgroup *pg, const uint8_t *mac, uint64_t now_ms,
           uint16_t *out)
{
    if (!fdb_lookup(sw->fdb, pg->vid, mac, now_ms, out))
        return false;
    return *out == SW_TEAM || (sw->ports[*out].in_use && sw->ports[*out].pg == (int)(pg - sw->pgs));
}

/* Which portgroup and logical port a frame belongs to, from its ingress port
 * and its tag ('has_vlan', 'vid' as the parser reports them). */
static enum drop_reason
classify(const struct sw *sw, const struct sw_port *in, bool has_vlan, uint16_t vid,
         const struct sw_portgroup **pg, uint16_t *lport)
{
    if (in->kind == SW_PORT_UPLINK) {
        if (sw->active != in->id)
            return DROP_STANDBY_UPLINK;
        *lport = SW_TEAM;
        *pg = pg_by_vid(sw, vid);
        return *pg ? DROP_NONE : DROP_VLAN_UNKNOWN;
    }
    if (has_vlan)
        return DROP_TAGGED_ON_ACCESS;
    if (in->pg < 0)
        return DROP_NO_PORTGROUP;
    *pg = &sw->pgs[in->pg];
    *lport = in->id;
    return DROP_NONE;
}

/* Records a frame handled in software (see sw_soft_flows()).  Returns the
 * record, or NULL for a frame too short to have one. */
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

static inline uint32_t
fc_hash(uint16_t in_port, uint16_t tag, const uint8_t *macs)
{
    uint64_t a;
    uint32_t b;
    memcpy(&a, macs, 8);
    memcpy(&b, macs + 8, 4);
    uint64_t x = a * 0x9e3779b97f4a7c15ull;
    uint64_t y = ((uint64_t)b << 32 | (uint32_t)in_port << 16 | tag) * 0xc2b2ae3d27d4eb4full;
    return (uint32_t)((x ^ y) >> 32) & (SW_FLOW_CACHE_SIZE - 1);
}

static void
fc_insert(struct sw_ctx *x, const struct sw_flow *f, const struct sw_portgroup *pg, uint16_t lport,
          enum sw_soft_reason why, uint64_t now_ms)
{
    struct sw *sw = x->sw;
    if (sw->params.no_cache)
        return;
    uint8_t macs[12];
    memcpy(macs, f->dst, 6);
    memcpy(macs + 6, f->src, 6);
    struct fc_entry *e = &x->cache[fc_hash(f->in_port, f->tag, macs)];
    memcpy(e->macs, macs, 12);
    e->in_port = f->in_port;
    e->tag = f->tag;
    e->gen = x->gen;
    e->out_port = f->out_port;
    e->push_vid = f->push_vid;
    e->max_len = f->max_len;
    e->lport = lport;
    e->pg = (uint16_t)(pg - sw->pgs);
    e->why = (uint8_t)why;
    e->refreshed_ms = now_ms;
}

/* Replays the cached decision for 'pkt' (parsed; 'tag' as received) if there
 * is a valid one.  Returns false when the frame must take the long way. */
static bool
fc_forward(struct sw_ctx *x, struct sw_port *in, struct pkt *pkt, uint16_t tag, uint64_t now_ms)
{
    struct sw *sw = x->sw;
    if (tag == 0)
        return false; /* priority-tagged: never cached */
    struct fc_entry *e = &x->cache[fc_hash(in->id, tag, pkt->data)];
    if (e->gen != x->gen || e->in_port != in->id || e->tag != tag ||
        memcmp(e->macs, pkt->data, 12) || pkt->len > e->max_len)
        return false;
    x->cache_stats.hits++;
    uint32_t rx_len = pkt->len;
    uint16_t out = e->out_port, push = e->push_vid;
    enum sw_soft_reason why = (enum sw_soft_reason)e->why;
    uint64_t every = fdb_get_age(sw->fdb) / 8; /* well within the ageing time */
    if (now_ms - e->refreshed_ms >= (every < 1000 ? every : 1000)) {
        /* The source is where the entry says (a move would have bumped the
         * generation): this only refreshes its age. */
        e->refreshed_ms = now_ms;
        fdb_learn(sw->fdb, sw->pgs[e->pg].vid, pkt->data + 6, e->lport, now_ms, NULL);
    }
    if (tag != SW_UNTAGGED)
        vlan_pop(pkt);
    if (push != SW_NO_PUSH && !vlan_push(pkt, push, pkt->meta.pcp))
        count_drop(x, in, DROP_OVERSIZE);
    else
        port_output(x, &sw->ports[out], pkt);
    struct sw_soft_flow *f = soft_record(x, in, tag, pkt->data, rx_len, why, DROP_NONE, now_ms);
    if (f)
        f->out_port = out;
    return true;
}

/* Hands the decision just taken for a known unicast frame to the flow cache
 * and the eswitch. */
static void
offload(struct sw_ctx *x, const struct sw_port *in, uint16_t tag, const struct sw_portgroup *pg,
        uint16_t lport, uint16_t out, const struct pkt *pkt, uint32_t rx_len, uint64_t now_ms)
{
    struct sw *sw = x->sw;
    enum sw_soft_reason why = SW_SOFT_FIRST_PACKET;
    uint16_t out_port = out == SW_TEAM ? (uint16_t)sw->active : out;
    if (tag == 0) {
        why = SW_SOFT_PRIORITY_TAG;
    } else {
        struct sw_flow f = {
            .in_port = in->id,
            .out_port = out_port,
            .tag = tag,
            .push_vid = out == SW_TEAM && pg->vid ? pg->vid : SW_NO_PUSH,
            .pop = tag != SW_UNTAGGED,
            .max_len = pg->mtu + ETH_HDR_LEN + (tag != SW_UNTAGGED ? VLAN_TAG_LEN : 0),
        };
        memcpy(f.dst, pkt->data, 6);
        memcpy(f.src, pkt->data + 6, 6);
        if (!sw->has_offload || !sw->offload.install || !sw->offload.install(sw->offload.aux, &f))
            why = SW_SOFT_NO_ESWITCH;
        else if (gen_now(sw) != x->gen && sw->offload.flush_mac)
            /* Another worker moved a MAC since this decision was taken: the
             * flow may already be stale, and its flush may have come first. */
            sw->offload.flush_mac(sw->offload.aux, f.dst);
        fc_insert(x, &f, pg, lport, why, now_ms);
    }
    struct sw_soft_flow *f = soft_record(x, in, tag, pkt->data, rx_len, why, DROP_NONE, now_ms);
    if (f)
        f->out_port = out_port;
}

static void
switch_one(struct sw_ctx *x, struct sw_port *in, struct pkt *pkt, uint64_t now_ms)
{
    struct sw *sw = x->sw;
    struct pkt_meta *m = &pkt->meta;
    const struct sw_portgroup *pg = NULL;
    uint16_t lport = 0;
    uint32_t rx_len = pkt->len;

    x->stats[in->id].rx_packets++;
    x->stats[in->id].rx_bytes += pkt->len;
    if (is_fenced(sw, in)) {
        count_drop(x, in, DROP_FENCED);
        return;
    }
    enum drop_reason r = pkt_parse(pkt->data, pkt->len, m);
    uint16_t tag = m->l3_ofs > ETH_HDR_LEN ? m->vid : SW_UNTAGGED;
    if (r == DROP_NONE && fc_forward(x, in, pkt, tag, now_ms))
        return;
    if (r == DROP_NONE)
        r = classify(sw, in, m->has_vlan, m->vid, &pg, &lport);
    if (r == DROP_NONE && pkt->len - m->l3_ofs > pg->mtu)
        r = DROP_OVERSIZE;
    if (r != DROP_NONE) {
        drop_frame(x, in, pkt, tag, r, now_ms);
        return;
    }
    if (m->l3_ofs > ETH_HDR_LEN)
        vlan_pop(pkt); /* work on the untagged frame from here on */

    const struct eth_hdr *eth = (const struct eth_hdr *)pkt->data;
    learn(x, pg, eth->src, lport, now_ms);

    uint16_t out;
    if (eth_addr_is_multicast(eth->dst)) {
        soft_record(x, in, tag, pkt->data, rx_len, SW_SOFT_BROADCAST, DROP_NONE, now_ms);
        flood(x, lport, pg, pkt, in);
        return;
    }
    if (!dst_lookup(sw, pg, eth->dst, now_ms, &out)) {
        soft_record(x, in, tag, pkt->data, rx_len, SW_SOFT_UNKNOWN_DST, DROP_NONE, now_ms);
        flood(x, lport, pg, pkt, in);
        return;
    }
    if (out == lport) {
        drop_frame(x, in, pkt, tag, DROP_SAME_PORT, now_ms);
        return;
    }
    x->cache_stats.misses++;
    if (lport_output(x, out, pg, pkt, in))
        offload(x, in, tag, pg, lport, out, pkt, rx_len, now_ms);
}

bool
sw_flow_revalidate(struct sw *sw, const struct sw_flow *f, bool hit, uint64_t now_ms)
{
    const struct sw_port *in = sw_port_at(sw, f->in_port);
    const struct sw_portgroup *pg;
    uint16_t lport, src_at, out;
    bool has_vlan = f->tag != SW_UNTAGGED && f->tag != 0;
    if (!in || f->tag == 0 ||
        classify(sw, in, has_vlan, has_vlan ? f->tag : 0, &pg, &lport) != DROP_NONE)
        return false;
    if (fdb_lookup(sw->fdb, pg->vid, f->src, now_ms, &src_at)) {
        if (src_at != lport)
            return false; /* the source moved */
        if (hit)
            fdb_learn(sw->fdb, pg->vid, f->src, lport, now_ms, NULL);
    } else if (hit) {
        fdb_learn(sw->fdb, pg->vid, f->src, lport, now_ms, NULL);
    } else {
        return false;
    }
    if (!dst_lookup(sw, pg, f->dst, now_ms, &out) || out == lport)
        return false;
    uint16_t out_port = out == SW_TEAM ? (uint16_t)sw->active : out;
    if (out == SW_TEAM && sw->active < 0)
        return false;
    uint16_t push = out == SW_TEAM && pg->vid ? pg->vid : SW_NO_PUSH;
    uint32_t max_len = pg->mtu + ETH_HDR_LEN + (f->tag != SW_UNTAGGED ? VLAN_TAG_LEN : 0);
    return out_port == f->out_port && push == f->push_vid && f->pop == (f->tag != SW_UNTAGGED) &&
           max_len == f->max_len;
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

bool
sw_port_io_carrier(struct sw *sw, uint16_t id)
{
    const struct sw_port *p = sw_port_at(sw, id);
    if (!p || !p->io->ops->carrier)
        return p && p->carrier;
    pthread_mutex_lock(&sw->io_mu[id]);
    bool up = p->io->ops->carrier(p->io);
    pthread_mutex_unlock(&sw->io_mu[id]);
    return up;
}

void
sw_tick(struct sw *sw, uint64_t now_ms)
{
    if (fdb_age(sw->fdb, now_ms))
        gen_bump(sw);
}

void
sw_claim_mac(struct sw *sw, uint16_t port_id, const uint8_t mac[static 6], uint64_t now_ms)
{
    const struct sw_port *p = sw_port_at(sw, port_id);
    if (!p || p->kind != SW_PORT_VNIC || p->pg < 0)
        return;
    uint16_t old;
    if (fdb_learn(sw->fdb, sw->pgs[p->pg].vid, mac, port_id, now_ms, &old) != FDB_MOVED)
        return;
    gen_bump(sw);
    if (sw->has_offload && sw->offload.flush_mac)
        sw->offload.flush_mac(sw->offload.aux, mac);
}

void
sw_set_vnics_fenced(struct sw *sw, bool fenced)
{
    __atomic_store_n(&sw->vnics_fenced, fenced, __ATOMIC_RELAXED);
}

bool
sw_vnics_fenced(const struct sw *sw)
{
    return __atomic_load_n(&sw->vnics_fenced, __ATOMIC_RELAXED);
}

void
sw_cache_stats(const struct sw *sw, struct sw_cache_stats *out)
{
    memset(out, 0, sizeof *out);
    for (const struct sw_ctx *x = sw->ctxs; x; x = x->next) {
        out->hits += x->cache_stats.hits;
        out->misses += x->cache_stats.misses;
    }
    out->generation = gen_now(sw);
}

static void
announce_one(const struct fdb_entry_info *e, void *aux)
{
    struct sw *sw = aux;
    /* A fenced DPU owns no vNIC: announcing one would pull its traffic here. */
    if (e->port == SW_TEAM || sw->active < 0 || sw_vnics_fenced(sw))
        return;
    const struct sw_portgroup *pg = pg_by_vid(sw, e->vid);
    if (!pg)
        return;
    struct pkt *p = sw->scratch;
    pkt_rarp_build(p, e->mac);
    struct sw_port *active = &sw->ports[sw->active];
    lport_output(sw->own, SW_TEAM, pg, p, active);
}

static void
sw_announce(struct sw *sw, uint64_t now_ms)
{
    fdb_foreach(sw->fdb, now_ms, announce_one, sw);
    flush_ports(sw->own);
}
