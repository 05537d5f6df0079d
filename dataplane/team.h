/* SPDX-License-Identifier: Apache-2.0 */
/*
 * team: the switch's uplinks as one logical port, active/standby.
 *
 * Every uplink is a member, in the order it was added (the order of
 * preference).  One member with carrier is active: the pipeline sends to the
 * fabric only through it and drops what the others receive (pipeline.h), so
 * the fabric's flooding to every uplink never duplicates a frame.  All
 * members form one logical port for learning (SW_TEAM), so a failover does
 * not invalidate what was learned.
 *
 * Design: team_elect() picks the active member whenever a member's carrier
 * changes or a member leaves: with failback (sw_params.failback) the first
 * member in order with carrier, without it the current one while it keeps
 * its carrier.  A change of the active member invalidates every decision
 * (the flow cache's and the eswitch's: they name the active uplink), and the
 * new member announces every MAC learned on a vNIC with a RARP frame in its
 * VLAN, as vSphere's "notify switches" does, so that the fabric learns the
 * new path at once.  A fenced DPU (switch.h) announces nothing: it owns no
 * vNIC.
 *
 *     none --carrier--> active A --A loses carrier--> active B (failover)
 *       ^                  |  \--B only gains carrier: stays A
 *       +-- last carrier --+   (with failback, A regaining carrier takes over)
 *
 * Thread-safety: like the switch's configuration: everything here runs with
 * no frame being switched (dpud pauses its workers); the packet path only
 * reads 'active'.  The announcements are the pipeline's (pipeline_announce():
 * from the switch's own context); team.c only decides.
 */
#ifndef DSE_TEAM_H
#define DSE_TEAM_H

#include <stdbool.h>
#include <stdint.h>

#include "dataplane/packet.h"
#include "dataplane/switch.h"

/* Embedded in the switch. */
struct team {
    uint16_t uplinks[SW_MAX_UPLINKS]; /* port ids, in order of preference */
    unsigned n_uplinks;
    int active; /* port id of the active uplink, -1 if none */
    uint64_t n_failovers;
    struct pkt *scratch; /* for the announcements (pipeline_announce()) */
};

/* Returns 0 or -ENOMEM. */
int team_init(struct team *);
void team_fini(struct team *);

/* Whether another uplink fits. */
bool team_has_room(const struct team *);
/* Makes port 'id' the last member (it has room: team_has_room()). */
void team_add(struct team *, uint16_t id);
/* Port 'id' leaves the team.  Returns true when it was the active member:
 * then the caller marks it without carrier and elects another. */
bool team_remove(struct team *, uint16_t id);

/* Picks the active uplink (see above) from the members' carrier in 'ports'
 * (the switch's, by port id) after a member's carrier changed, and counts a
 * failover.  Returns true on change: the caller (switch.c) then invalidates
 * every decision and has the new member announce (pipeline_announce()). */
bool team_elect(struct team *, const struct sw_port *ports, bool failback);

/* Puts the members named by port ids 'ids' ('n') first, in that order; the
 * others follow in their order.  Returns 0, or -ENOENT when an id is no
 * member (nothing changed). */
int team_reorder(struct team *, const uint16_t *ids, size_t n);

/* The teaming policy (the switch's): 'failback' and the order of preference,
 * uplinks named in 'order' ('n') first, the others after them in the order
 * they were added; the first of them with carrier is active at once,
 * failback or not (a new active uplink announces, as at a failover).  Returns 0, or -ENOENT (a name
 * that is no uplink: nothing changed).  As the switch's configuration: no frame being switched. */
int sw_team_set(struct sw *, bool failback, const char *const *order, size_t n, uint64_t now_ms);
/* The members' names in order of preference into 'names' (room for
 * SW_MAX_UPLINKS); returns how many.  '*failback' (may be NULL) too. */
size_t sw_team_order(const struct sw *, const char **names, bool *failback);

/* Active uplink's port id, or -1 when no uplink has carrier. */
int sw_team_active(const struct sw *);
uint64_t sw_team_failovers(const struct sw *);

#endif
