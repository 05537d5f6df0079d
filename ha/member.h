/* SPDX-License-Identifier: Apache-2.0 */
/*
 * member: a DPU's side of dual-DPU high availability (DESIGN.md section 7):
 * what its role, fencing and announcements should be, as pure functions of
 * hostd's heartbeats and of their absence.  dpud's HA thread does what they
 * say (fences its vNIC ports in the switch and the eswitch, announces the
 * VMs' MACs).
 *
 *   role none (independent DPUs):  never fenced
 *   role standby:                  fenced
 *   role active:                   unfenced; on becoming so from fenced, it
 *                                  claims the VMs' MACs and announces them
 *   no heartbeat for fence_ms while active: fenced (a DPU cut off from hostd
 *                                  stops forwarding for vNICs it may no
 *                                  longer own); the next heartbeat that says
 *                                  active unfences it (and announces)
 *
 * A role comes with an epoch; one older than the member's is ignored (a late
 * message from before a failover).  Until its first heartbeat, a member of an
 * active-standby pair is fenced: it forwards only once hostd made it active.
 *
 * Thread-safety: none (dpud's HA thread owns it).  Nothing here fails.
 */
#ifndef DSE_HA_MEMBER_H
#define DSE_HA_MEMBER_H

#include <stdbool.h>
#include <stdint.h>

#include "ha/hamsg.h"

struct ha_member {
    enum ha_role role;
    uint64_t epoch;
    bool fenced;
};

/* What the DPU must do now: a set of these bits. */
enum ha_member_act {
    HA_ACT_FENCE = 1U << 0,    /* fence its vNIC ports (set the state, however it was) */
    HA_ACT_UNFENCE = 1U << 1,  /* unfence them */
    HA_ACT_ANNOUNCE = 1U << 2, /* claim and announce the VMs' MACs */
};

/* A member before any heartbeat: fenced if its configuration says it is one
 * of an active-standby pair. */
void ha_member_init(struct ha_member *, bool active_standby);
/* hostd's heartbeat says 'role' at 'epoch'.  Returns what to do (0 for a
 * heartbeat from before the member's epoch). */
unsigned ha_member_heartbeat(struct ha_member *, enum ha_role role, uint64_t epoch);
/* No heartbeat for the fence time: an active member fences itself.  Returns
 * HA_ACT_FENCE or 0. */
unsigned ha_member_silence(struct ha_member *);

#endif
