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
