/* SPDX-License-Identifier: Apache-2.0 */
/* offload: installs, flushes and revalidates the eswitch's flows (see offload.h). */
#include "dataplane/offload.h"

#include <errno.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/dfw.h"
#include "lib/log.h"
#include "lib/util.h"

LOG_MODULE(offload);

_Static_assert(SW_UNTAGGED == ESWITCH_UNTAGGED && SW_NO_PUSH == ESWITCH_NO_PUSH,
               "a decision's tag and push are the eswitch's as they are");

struct offload {
    struct offload_params p;
    atomic_bool full;              /* the flow table was full since the last revalidation */
    bool on_eswitch[SW_MAX_PORTS]; /* changed with the packet path paused */
    struct eswitch_key *keys;      /* ESWITCH_MAX_FLOWS each, for revalidation */
    struct eswitch_action *actions;
    uint64_t last_reval_ns;
    uint64_t reval_us, reval_pause_us;
    unsigned reval_removed, reval_flows, reval_conns;
};

void
offload_flow_to_eswitch(const struct sw *sw, const struct sw_flow *f, uint64_t now_ns,
                        struct eswitch_key *k, struct eswitch_action *a)
{
    const struct sw_port *in = sw_port_at(sw, f->in_port), *out = sw_port_at(sw, f->out_port);
    *k = (struct eswitch_key){.in_ifindex = (__u32)in->io->ifindex, .tag = f->tag};
    memcpy(k->src, f->src, 6);
    memcpy(k->dst, f->dst, 6);
    *a = (struct eswitch_action){
        .out_ifindex = (__u32)out->io->ifindex,
        .push_vid = f->push_vid,
        .pop = f->pop,
        .max_len = f->max_len,
        .in_port = f->in_port,
        .out_port = f->out_port,
        .vnic = in->kind == SW_PORT_VNIC || out->kind == SW_PORT_VNIC,
        .fw = f->fw,
        .zone = f->zone,
        .last_ns = now_ns,
    };
}

void
offload_flow_from_eswitch(const struct eswitch_key *k, const struct eswitch_action *a,
                          struct sw_flow *f)
{
    *f = (struct sw_flow){
        .in_port = a->in_port,
        .out_port = a->out_port,
        .tag = k->tag,
        .push_vid = a->push_vid,
        .pop = a->pop,
        .max_len = a->max_len,
        .fw = a->fw,
        .zone = a->zone,
    };
    memcpy(f->src, k->src, 6);
    memcpy(f->dst, k->dst, 6);
}

/* The switch's install hook: any worker, any time. */
static bool
install(void *aux, const struct sw_flow *f)
{
    struct offload *o = aux;
    if (!o->on_eswitch[f->in_port] || !o->on_eswitch[f->out_port] ||
        atomic_load_explicit(&o->full, memory_order_relaxed))
        return false;
    struct eswitch_key k;
    struct eswitch_action a;
    offload_flow_to_eswitch(o->p.sw, f, eswitch_now_ns(), &k, &a);
    int rc = eswitch_flow_add(o->p.es, &k, &a);
    if (rc == -ENOSPC) {
        /* Until the next revalidation frees room, don't pay a failed syscall
         * per miss: the flows that do not fit stay in software. */
        static struct log_ratelimit rl = LOG_RATELIMIT_INIT(1, 60000);
        log_warn_rl(&rl, "eswitch: flow table full (%d flows); new flows stay in software",
                    ESWITCH_MAX_FLOWS);
        atomic_store_explicit(&o->full, true, memory_order_relaxed);
        return false;
    }
    if (rc < 0) {
        static struct log_ratelimit rl = LOG_RATELIMIT_INIT(5, 10000);
        log_warn_rl(&rl, "eswitch: cannot install a flow: %s", strerror(-rc));
        return false;
    }
    return true;
}

/* ---- the firewall's connections ---- */

_Static_assert(sizeof(struct eswitch_conn_key) == sizeof(struct l4_key) &&
                   offsetof(struct eswitch_conn_key, sport) == offsetof(struct l4_key, sport) &&
                   offsetof(struct eswitch_conn_key, zone) == offsetof(struct l4_key, zone) &&
                   offsetof(struct eswitch_conn_key, family) == offsetof(struct l4_key, family),
               "a connection's key is the same bytes on both tiers");

static bool
conn_install(void *aux, const struct l4_key *key)
{
    struct offload *o = aux;
    struct eswitch_conn_key k[2];
    memcpy(&k[0], key, sizeof k[0]);
    l4_key_reverse(key, (struct l4_key *)&k[1]);
    int rc = eswitch_conn_add(o->p.es, &k[0]);
    if (!rc && (rc = eswitch_conn_add(o->p.es, &k[1])) < 0)
        eswitch_conn_del(o->p.es, &k[0]);
    if (rc < 0) {
        static struct log_ratelimit rl = LOG_RATELIMIT_INIT(1, 60000);
        log_warn_rl(&rl, "eswitch: cannot take a connection (%s); it stays in software",
                    rc == -ENOSPC ? "table full" : strerror(-rc));
    }
    return rc == 0;
}

static void
conn_remove(void *aux, const struct l4_key *key, uint64_t packets[2], uint64_t bytes[2])
{
    struct offload *o = aux;
    struct eswitch_conn_key k[2];
    memcpy(&k[0], key, sizeof k[0]);
    l4_key_reverse(key, (struct l4_key *)&k[1]);
    for (int d = 0; d < 2; d++) {
        struct eswitch_conn c = {0};
        eswitch_conn_take(o->p.es, &k[d], &c);
        packets[d] = c.packets;
        bytes[d] = c.bytes;
    }
}

static void
conn_flush(void *aux)
{
    struct offload *o = aux;
    eswitch_conn_flush(o->p.es);
}

struct conn_reval {
    struct dfw *fw;
    const struct offload_clock *c;
    unsigned kept;
};

/* One direction of an offloaded connection: its counters and last hit
 * folded into the connection table and the rule's counters; gone (false)
 * when the connection is. */
static bool
conn_revalidate(const struct eswitch_conn_key *k, const struct eswitch_conn *e, void *aux)
{
    struct conn_reval *r = aux;
    struct ct_seen seen;
    if (!r->fw || !ct_offload_seen(r->fw->ct, (const struct l4_key *)k, e->packets, e->bytes,
                                   e->last_ns > r->c->last_reval_ns, r->c->now_ms, &seen))
        return false;
    dfw_rule_count(r->fw->pol, seen.rule, seen.packets, seen.bytes, 0);
    r->kept++;
    return true;
}

static bool
touches_mac(const struct eswitch_key *k, const struct eswitch_action *a, void *aux)
{
    return !memcmp(k->src, aux, 6) || !memcmp(k->dst, aux, 6);
}

static void
flush_mac(void *aux, const uint8_t mac[6])
{
    struct offload *o = aux;
    eswitch_flow_sweep(o->p.es, touches_mac, (void *)mac);
}

static void
flush_all(void *aux)
{
    struct offload *o = aux;
    eswitch_flow_sweep(o->p.es, NULL, NULL);
}

struct offload *
offload_create(const struct offload_params *p)
{
    struct offload *o = calloc(1, sizeof *o);
    if (!o) {
        sw_set_offload(p->sw, NULL);
        return NULL;
    }
    o->p = *p;
    o->keys = calloc(ESWITCH_MAX_FLOWS, sizeof *o->keys);
    o->actions = calloc(ESWITCH_MAX_FLOWS, sizeof *o->actions);
    if (!o->keys || !o->actions)
        log_warn("eswitch: no memory to revalidate flows (they expire only when flushed)");
    o->last_reval_ns = eswitch_now_ns();
    struct sw_offload hooks = {
        .install = p->no_install ? NULL : install, /* no_install: every frame is a miss */
        .flush_mac = flush_mac,
        .flush_all = flush_all,
        .conn_install = p->no_install ? NULL : conn_install,
        .conn_remove = conn_remove,
        .conn_flush = conn_flush,
        .aux = o,
    };
    sw_set_offload(p->sw, &hooks);
    return o;
}

void
offload_destroy(struct offload *o)
{
    if (!o)
        return;
    free(o->keys);
    free(o->actions);
    free(o);
}

bool
offload_port_add(struct offload *o, uint16_t id, bool attached)
{
    const struct sw_port *p = o ? sw_port_at(o->p.sw, id) : NULL;
    if (!p)
        return false;
    o->on_eswitch[id] = false;
    if (p->io->ifindex > 0) {
        eswitch_port_stats_clear(o->p.es, id);
        int rc = attached ? 0 : eswitch_port_attach(o->p.es, p->io->ifindex);
        if (rc < 0)
            log_warn("port=%s: eswitch: %s (its flows stay in software)", p->name, strerror(-rc));
        o->on_eswitch[id] = rc == 0;
    }
    return o->on_eswitch[id];
}

void
offload_port_del(struct offload *o, uint16_t id)
{
    if (!o || !o->on_eswitch[id])
        return;
    eswitch_port_detach(o->p.es, sw_port_at(o->p.sw, id)->io->ifindex);
    o->on_eswitch[id] = false;
}

bool
offload_port_on_eswitch(const struct offload *o, uint16_t id)
{
    return o && id < SW_MAX_PORTS && o->on_eswitch[id];
}

enum offload_verdict
offload_flow_verdict(struct sw *sw, const struct eswitch_key *k, const struct eswitch_action *a,
                     const struct offload_clock *c)
{
    bool hit = a->last_ns > c->last_reval_ns;
    if (!hit && c->now_ns - a->last_ns > c->idle_ns)
        return OFFLOAD_IDLE;
    /* The ports' ifindexes must still be the ones the flow was made for. */
    const struct sw_port *in = sw_port_at(sw, a->in_port), *out = sw_port_at(sw, a->out_port);
    if (!in || !out || (__u32)in->io->ifindex != k->in_ifindex ||
        (__u32)out->io->ifindex != a->out_ifindex)
        return OFFLOAD_PORT_CHANGED;
    struct sw_flow f;
    offload_flow_from_eswitch(k, a, &f);
    return sw_flow_revalidate(sw, &f, hit, c->now_ms) ? OFFLOAD_KEEP : OFFLOAD_STALE;
}

void
offload_revalidate(struct offload *o)
{
    if (!o || !o->keys || !o->actions)
        return;
    /* The table is read and pruned beside the workers (BPF maps allow it);
     * only the checks against the switch run with them paused.  A flow a
     * worker installs meanwhile is checked next time; one it replaces and we
     * then remove comes back with its next frame. */
    uint64_t t0 = now_ns();
    struct offload_clock c = {
        .now_ms = now_ms(),
        .now_ns = eswitch_now_ns(),
        .last_reval_ns = o->last_reval_ns,
        .idle_ns = atomic_load(&o->full) ? OFFLOAD_IDLE_FULL_NS : OFFLOAD_IDLE_NS,
    };
    unsigned n = eswitch_flow_read(o->p.es, o->keys, o->actions, ESWITCH_MAX_FLOWS);
    unsigned m = 0;
    uint64_t t1 = now_ns();
    o->p.pause(o->p.aux);
    for (unsigned i = 0; i < n; i++)
        if (offload_flow_verdict(o->p.sw, &o->keys[i], &o->actions[i], &c) != OFFLOAD_KEEP)
            o->keys[m++] = o->keys[i];
    o->last_reval_ns = c.now_ns;
    atomic_store(&o->full, false);
    o->p.resume(o->p.aux);
    o->reval_pause_us = (now_ns() - t1) / 1000;
    o->reval_removed = eswitch_flow_del(o->p.es, o->keys, m);
    o->reval_flows = n - MIN(n, o->reval_removed);
    /* The firewall's connections: beside the workers (the table has its
     * locks, the policy changes on this thread only). */
    struct conn_reval cr = {.fw = sw_dfw(o->p.sw), .c = &c};
    eswitch_conn_foreach(o->p.es, conn_revalidate, &cr);
    o->reval_conns = cr.kept;
    o->reval_us = (now_ns() - t0) / 1000;
}

void
offload_get_stats(const struct offload *o, struct offload_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!o)
        return;
    out->installs = !o->p.no_install;
    out->reval_us = o->reval_us;
    out->reval_pause_us = o->reval_pause_us;
    out->reval_removed = o->reval_removed;
    out->reval_flows = o->reval_flows;
    out->reval_conns = o->reval_conns;
}
