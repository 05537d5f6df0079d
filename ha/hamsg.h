/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hamsg: the heartbeat protocol of dual-DPU high availability, one JSON line
 * a message each way over the internal network (mTLS):
 *
 *   hostd -> DPU  {"t":"hb","seq":N,"epoch":E,"role":"none|standby|active","fence_ms":MS}
 *   DPU -> hostd  {"t":"hb","seq":N,"epoch":E,"role":R,"fenced":B,"uplinks":U,"uplinks_total":T}
 *                 {"t":"uplinks","uplinks":U,"uplinks_total":T}  at once, on a carrier change
 *
 * A heartbeat answer carries the seq it answers.  Written with snprintf (one
 * every 2 ms), read with jansson; a line longer than HA_MSG_MAX ends the
 * connection.
 */
#ifndef DSE_HAMSG_H
#define DSE_HAMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HA_MSG_MAX 4096
#define HA_FENCE_MS_MAX 60000
#define HA_UPLINKS_MAX 64

enum ha_msg_type { HA_MSG_HB, HA_MSG_UPLINKS };
enum ha_role { HA_ROLE_NONE, HA_ROLE_STANDBY, HA_ROLE_ACTIVE };

struct ha_msg {
    enum ha_msg_type type;
    uint64_t seq, epoch;
    enum ha_role role;
    bool fenced;
    unsigned fence_ms;          /* 0: not said */
    int uplinks, uplinks_total; /* -1: not said */
};

const char *ha_role_name(enum ha_role);

/* Parses one line (without its newline).  0, or -EINVAL with one line in
 * err: not JSON, not an object, an unknown type, a heartbeat without a role
 * or an epoch, a number out of range. */
int ha_msg_parse(const char *line, size_t len, struct ha_msg *m, char *err, size_t err_len);

/* Writes 'm' as one line with its newline: hostd's heartbeat (seq, epoch,
 * role, fence_ms), a DPU's answer (seq, epoch, role, fenced, uplinks) or a
 * DPU's uplink report (counts not said are left out).  The length, or -1
 * when 'len' is too small. */
int ha_msg_format(const struct ha_msg *m, bool from_dpu, char *buf, size_t len);

#endif
