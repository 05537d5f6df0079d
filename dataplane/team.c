/* SPDX-License-Identifier: Apache-2.0 */
/* team: uplink election, failover and announcements (see team.h). */
#include "dataplane/team.h"

#include <errno.h>
#include <stdlib.h>

#include "dataplane/switch-private.h"
#include "lib/log.h"

LOG_MODULE(switch);

int
team_init(struct team *t)
{
    *t = (struct team){.active = -1};
    t->scratch = malloc(sizeof *t->scratch);
    return t->scratch ? 0 : -ENOMEM;
}

void
team_fini(struct team *t)
{
    free(t->scratch);
    t->scratch = NULL;
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

bool
team_has_room(const struct team *t)
{
    return t->n_uplinks < SW_MAX_UPLINKS;
}

void
team_add(struct team *t, uint16_t id)
{
    t->uplinks[t->n_uplinks++] = id;
}

void
team_remove(struct sw *sw, uint16_t id, uint64_t now_ms)
{
    struct team *t = &sw->team;
    unsigned j = 0;
    for (unsigned i = 0; i < t->n_uplinks; i++)
        if (t->uplinks[i] != id)
            t->uplinks[j++] = t->uplinks[i];
    t->n_uplinks = j;
    sw->ports[id].carrier = false;
    if (t->active == id)
        team_elect(sw, now_ms);
}

static void
announce_one(const struct fdb_entry_info *e, void *aux)
{
    struct sw *sw = aux;
    /* A fenced DPU owns no vNIC: announcing one would pull its traffic here. */
    if (e->port == SW_TEAM || sw->team.active < 0 || sw_vnics_fenced(sw))
        return;
    const struct sw_portgroup *pg = pg_by_vid(sw, e->vid);
    if (!pg)
        return;
    struct pkt *p = sw->team.scratch;
    pkt_rarp_build(p, e->mac);
    struct sw_port *active = &sw->ports[sw->team.active];
    pipeline_output(sw->own, SW_TEAM, pg, p, active);
}

/* Sends a RARP from every MAC learned on a vNIC out of the active uplink, in
 * its VLAN, so that the fabric learns the new path at once. */
static void
announce(struct sw *sw, uint64_t now_ms)
{
    fdb_foreach(sw->fdb, now_ms, announce_one, sw);
    pipeline_flush(sw->own);
}

bool
team_elect(struct sw *sw, uint64_t now_ms)
{
    struct team *t = &sw->team;
    int want = -1;
    if (!sw->params.failback && t->active >= 0 && sw->ports[t->active].carrier)
        want = t->active;
    for (unsigned i = 0; want < 0 && i < t->n_uplinks; i++)
        if (sw->ports[t->uplinks[i]].carrier)
            want = t->uplinks[i];
    if (want == t->active)
        return false;
    log_info("team: active uplink %s -> %s", t->active >= 0 ? sw->ports[t->active].name : "none",
             want >= 0 ? sw->ports[want].name : "none");
    bool was_up = t->active >= 0;
    t->active = want;
    sw_invalidate(sw);
    if (want >= 0) {
        if (was_up)
            t->n_failovers++;
        announce(sw, now_ms);
    }
    return true;
}
