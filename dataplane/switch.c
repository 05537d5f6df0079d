/* SPDX-License-Identifier: Apache-2.0 */
/* switch: portgroups, ports and the switch object (see switch.h). */
#include "dataplane/switch.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/dfw.h"
#include "dataplane/switch-private.h"
#include "lib/log.h"
#include "lib/util.h"

static void dfw_offload_wire(struct sw *sw);

void
sw_set_offload(struct sw *sw, const struct sw_offload *offload)
{
    sw->has_offload = offload != NULL;
    if (offload)
        sw->offload = *offload;
    if (sw->dfw) {
        dfw_offload_wire(sw);
        ct_offload_reset(sw->dfw->ct);
    }
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
void
sw_invalidate(struct sw *sw)
{
    gen_bump(sw);
    if (sw->has_offload && sw->offload.flush_all)
        sw->offload.flush_all(sw->offload.aux);
}

/* ---- contexts (pipeline.h): the switch keeps the list ---- */

struct sw_ctx *
sw_ctx_create(struct sw *sw)
{
    struct sw_ctx *x = calloc(1, sizeof *x);
    if (!x)
        return NULL;
    x->sw = sw;
    if (!(x->scratch = malloc(sizeof *x->scratch))) {
        free(x);
        return NULL;
    }
    for (unsigned i = 0; i < SW_BURST; i++) {
        if (!(x->burst[i] = malloc(sizeof *x->burst[i]))) {
            for (unsigned j = 0; j < i; j++)
                free(x->burst[j]);
            free(x->scratch);
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
    free(x->scratch);
    free(x);
}

struct sw *
sw_create(const struct sw_params *params)
{
    struct sw *sw = calloc(1, sizeof *sw);
    if (!sw)
        return NULL;
    sw->params = *params;
    int rc = team_init(&sw->team);
    sw->move_rl = (struct log_ratelimit)LOG_RATELIMIT_INIT(10, 5000);
    sw->fdb = fdb_create(params->fdb_capacity, params->fdb_age_ms);
    sw->gen = 1; /* cache entries start at 0: invalid */
    for (unsigned i = 0; i < SW_MAX_PORTS; i++)
        pthread_mutex_init(&sw->io_mu[i], NULL);
    if (rc < 0 || !sw->fdb || !(sw->own = sw_ctx_create(sw)))
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
    team_fini(&sw->team);
    fdb_destroy(sw->fdb);
    dfw_destroy(sw->dfw);
    for (unsigned i = 0; i < SW_MAX_PORTS; i++)
        pthread_mutex_destroy(&sw->io_mu[i]);
    free(sw);
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
        sw_invalidate(sw);
    pg->in_use = true;
    snprintf(pg->name, sizeof pg->name, "%s", name);
    pg->vid = vid;
    pg->mtu = mtu;
    if (sw->dfw)
        dfw_zone_default(sw->dfw, vid, name);
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
    if (sw->dfw)
        dfw_zone_default(sw->dfw, sw->pgs[idx].vid, NULL);
    memset(&sw->pgs[idx], 0, sizeof sw->pgs[idx]);
    return 0;
}

/* ---- ports ---- */

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
    return lport_name(sw, lport);
}

int
sw_team_active(const struct sw *sw)
{
    return sw->team.active;
}

uint64_t
sw_team_failovers(const struct sw *sw)
{
    return sw->team.n_failovers;
}

/* The team elects (team.h), the first in order with carrier when 'prefer'
 * (a new policy) or with failback; a new active uplink invalidates every
 * decision (they name the old one) and announces.  Returns true on change. */
static bool
team_elect_now(struct sw *sw, uint64_t now_ms, bool prefer)
{
    if (!team_elect(&sw->team, sw->ports, prefer || sw->params.failback))
        return false;
    sw_invalidate(sw);
    if (sw->team.active >= 0)
        pipeline_announce(sw->own, now_ms);
    return true;
}

static bool
team_changed(struct sw *sw, uint64_t now_ms)
{
    return team_elect_now(sw, now_ms, false);
}

int
sw_team_set(struct sw *sw, bool failback, const char *const *order, size_t n, uint64_t now_ms)
{
    uint16_t ids[SW_MAX_UPLINKS];
    if (n > SW_MAX_UPLINKS)
        return -ENOENT;
    for (size_t i = 0; i < n; i++) {
        int id = sw_port_find(sw, order[i]);
        if (id < 0 || sw->ports[id].kind != SW_PORT_UPLINK)
            return -ENOENT;
        ids[i] = (uint16_t)id;
    }
    int rc = team_reorder(&sw->team, ids, n);
    if (rc == 0) {
        sw->params.failback = failback;
        team_elect_now(sw, now_ms, true); /* the policy says which is preferred now */
    }
    return rc;
}

size_t
sw_team_order(const struct sw *sw, const char **names, bool *failback)
{
    for (unsigned i = 0; i < sw->team.n_uplinks; i++)
        names[i] = sw->ports[sw->team.uplinks[i]].name;
    if (failback)
        *failback = sw->params.failback;
    return sw->team.n_uplinks;
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
            sw_invalidate(sw);
        }
        return false;
    }
    return team_changed(sw, now_ms); /* the team's carrier changed */
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
    if (kind == SW_PORT_UPLINK && !team_has_room(&sw->team)) {
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
        team_add(&sw->team, (uint16_t)id);
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
        sw_invalidate(sw);
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
        p->carrier = false;
        if (team_remove(&sw->team, (uint16_t)id))
            team_changed(sw, now_ms());
    } else
        fdb_flush(sw->fdb, (uint16_t)id);
    sw_invalidate(sw);
    port_close(p->io);
    memset(p, 0, sizeof *p);
    return 0;
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

bool
sw_port_sync_carrier(struct sw *sw, uint16_t id, uint64_t now_ms)
{
    const struct sw_port *p = sw_port_at(sw, id);
    if (!p)
        return false;
    bool up = sw_port_io_carrier(sw, id);
    return up != p->carrier && sw_port_set_carrier(sw, id, up, now_ms);
}

void
sw_tick(struct sw *sw, uint64_t now_ms)
{
    if (fdb_age(sw->fdb, now_ms))
        gen_bump(sw);
    if (sw->dfw) /* a sweep of the connection table every 8 ticks or so */
        ct_expire(sw->dfw->ct, now_ms, 4096 + ct_max(sw->dfw->ct) / 8);
}

/* ---- the firewall ---- */

/* The firewall's connections go to the eswitch through the hooks, if any. */
static void
dfw_offload_wire(struct sw *sw)
{
    struct dfw_offload off = {0};
    if (sw->has_offload && sw->offload.conn_install && sw->offload.conn_remove)
        off = (struct dfw_offload){sw->offload.conn_install, sw->offload.conn_remove,
                                   sw->offload.aux};
    dfw_set_offload(sw->dfw, &off);
}

int
sw_dfw_set(struct sw *sw, struct dfw_policy *pol)
{
    if (!pol) {
        dfw_destroy(sw->dfw);
        sw->dfw = NULL;
    } else if (!sw->dfw) {
        if (!(sw->dfw = dfw_create(pol)))
            return -ENOMEM;
    } else if (dfw_set(sw->dfw, pol) < 0) {
        return -ENOMEM;
    }
    for (unsigned i = 0; sw->dfw && i < SW_MAX_PORTGROUPS; i++)
        if (sw->pgs[i].in_use)
            dfw_zone_default(sw->dfw, sw->pgs[i].vid, sw->pgs[i].name);
    /* The eswitch forgets every connection: the policy may no longer allow
     * one, and those it still allows go back as their next packet comes. */
    if (sw->has_offload && sw->offload.conn_flush)
        sw->offload.conn_flush(sw->offload.aux);
    if (sw->dfw) {
        dfw_offload_wire(sw);
        ct_offload_reset(sw->dfw->ct);
        dfw_recheck(sw->dfw);
    }
    sw_invalidate(sw);
    return 0;
}

struct dfw *
sw_dfw(struct sw *sw)
{
    return sw->dfw;
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
    sw_offload_flush_mac(sw, mac);
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
