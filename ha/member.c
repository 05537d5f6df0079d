/* SPDX-License-Identifier: Apache-2.0 */
/* member: a DPU's role, fencing and announcements from hostd's heartbeats
 * (member.h). */
#include "ha/member.h"

void
ha_member_init(struct ha_member *m, bool active_standby)
{
    *m = (struct ha_member){.role = HA_ROLE_NONE, .fenced = active_standby};
}

unsigned
ha_member_heartbeat(struct ha_member *m, enum ha_role role, uint64_t epoch)
{
    if (epoch < m->epoch)
        return 0; /* from before a failover */
    bool was_fenced = m->fenced;
    m->epoch = epoch;
    m->role = role;
    if (role == HA_ROLE_STANDBY) {
        m->fenced = true;
        return HA_ACT_FENCE;
    }
    m->fenced = false;
    return HA_ACT_UNFENCE | (role == HA_ROLE_ACTIVE && was_fenced ? HA_ACT_ANNOUNCE : 0);
}

unsigned
ha_member_silence(struct ha_member *m)
{
    if (m->role != HA_ROLE_ACTIVE || m->fenced)
        return 0;
    m->fenced = true;
    return HA_ACT_FENCE;
}
