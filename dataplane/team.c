/* SPDX-License-Identifier: Apache-2.0 */
/* team: uplink election, failover and announcements (see team.h). */
#include "dataplane/team.h"

#include <errno.h>
#include <stdlib.h>

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

bool
team_remove(struct team *t, uint16_t id)
{
    unsigned j = 0;
    for (unsigned i = 0; i < t->n_uplinks; i++)
        if (t->uplinks[i] != id)
            t->uplinks[j++] = t->uplinks[i];
    t->n_uplinks = j;
    return t->active == id;
}

int
team_reorder(struct team *t, const uint16_t *ids, size_t n)
{
    uint16_t order[SW_MAX_UPLINKS];
    unsigned k = 0;
    for (size_t i = 0; i < n; i++) {
        bool member = false, twice = false;
        for (unsigned j = 0; j < t->n_uplinks; j++)
            member |= t->uplinks[j] == ids[i];
        for (unsigned j = 0; j < k; j++)
            twice |= order[j] == ids[i];
        if (!member)
            return -ENOENT;
        if (!twice)
            order[k++] = ids[i];
    }
    for (unsigned j = 0; j < t->n_uplinks; j++) {
        bool placed = false;
        for (unsigned i = 0; i < k && !placed; i++)
            placed = order[i] == t->uplinks[j];
        if (!placed)
            order[k++] = t->uplinks[j];
    }
    for (unsigned j = 0; j < t->n_uplinks; j++)
        t->uplinks[j] = order[j];
    return 0;
}

bool
team_elect(struct team *t, const struct sw_port *ports, bool failback)
{
    int want = -1;
    if (!failback && t->active >= 0 && ports[t->active].carrier)
        want = t->active;
    for (unsigned i = 0; want < 0 && i < t->n_uplinks; i++)
        if (ports[t->uplinks[i]].carrier)
            want = t->uplinks[i];
    if (want == t->active)
        return false;
    log_info("team: active uplink %s -> %s", t->active >= 0 ? ports[t->active].name : "none",
             want >= 0 ? ports[want].name : "none");
    if (want >= 0 && t->active >= 0)
        t->n_failovers++;
    t->active = want;
    return true;
}
