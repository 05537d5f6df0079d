/* SPDX-License-Identifier: Apache-2.0 */
/* detector: hostd's failure detector and failover policy, over time passed in
 * (detector.h). */
#include "ha/detector.h"

#include <errno.h>
#include <stdio.h>

#include "lib/util.h"

/* A DPU left unanswered that long gets a heartbeat only when the clock's
 * millisecond falls in the first interval of every RESEND_EVERY_MS. */
#define RESEND_EVERY_MS 50

void
ha_peer_connected(struct ha_peer_health *p, uint64_t now)
{
    p->connected = true;
    p->last_rx_ms = now;
    p->unanswered = 0;
    p->why_down[0] = '\0';
}

void
ha_peer_lost(struct ha_peer_health *p, const char *why)
{
    p->connected = false;
    snprintf(p->why_down, sizeof p->why_down, "%s", why);
}

bool
ha_peer_should_send(const struct ha_detector_cfg *cfg, const struct ha_peer_health *p, uint64_t now)
{
    if (!p->connected)
        return false;
    uint64_t quiet = now - p->last_rx_ms;
    return p->unanswered <= 2 * cfg->miss || quiet % RESEND_EVERY_MS <= cfg->interval_ms;
}

void
ha_peer_sent(struct ha_peer_health *p, uint64_t now)
{
    if (!p->unanswered++)
        p->first_unanswered_ms = now;
}

void
ha_peer_heard(struct ha_peer_health *p, int uplinks, int uplinks_total, uint64_t now)
{
    p->last_rx_ms = now;
    p->unanswered = 0;
    if (uplinks >= 0)
        p->uplinks = (unsigned)uplinks;
    if (uplinks_total >= 0)
        p->uplinks_total = (unsigned)uplinks_total;
}

bool
ha_peer_silent(const struct ha_detector_cfg *cfg, const struct ha_peer_health *p, uint64_t now)
{
    return p->unanswered >= cfg->miss &&
           now - p->first_unanswered_ms >= (uint64_t)cfg->miss * cfg->interval_ms;
}

bool
ha_peer_healthy(const struct ha_detector_cfg *cfg, const struct ha_peer_health *p, uint64_t now,
                char *why, size_t why_len)
{
    if (!p->connected)
        snprintf(why, why_len, "%s", p->why_down[0] ? p->why_down : "not connected");
    else if (ha_peer_silent(cfg, p, now))
        snprintf(why, why_len, "%u heartbeats unanswered in %llu ms", p->unanswered,
                 (unsigned long long)(now - p->first_unanswered_ms));
    else if (p->uplinks_total && !p->uplinks)
        snprintf(why, why_len, "no uplink has carrier");
    else
        return true;
    return false;
}

void
ha_peer_update(const struct ha_detector_cfg *cfg, struct ha_peer_health *p, uint64_t now)
{
    char why[200];
    if (!ha_peer_healthy(cfg, p, now, why, sizeof why))
        p->healthy_since_ms = 0;
    else if (!p->healthy_since_ms)
        p->healthy_since_ms = now;
}

enum ha_decision
ha_on_failure(const struct ha_detector_cfg *cfg, const struct ha_pair *pair,
              const struct ha_peer_health *peers, int failed, uint64_t now, int *to, char *why_not,
              size_t why_len)
{
    if (!pair->active_standby || failed != pair->active || pair->n < 2)
        return HA_STAY;
    int other = 1 - failed;
    if (!ha_peer_healthy(cfg, &peers[other], now, why_not, why_len))
        return HA_NO_FAILOVER;
    *to = other;
    return HA_FAILOVER;
}

enum ha_decision
ha_on_tick(const struct ha_detector_cfg *cfg, const struct ha_pair *pair,
           const struct ha_peer_health *peers, uint64_t now, int *to)
{
    int p = pair->preferred;
    if (!pair->active_standby || !pair->auto_failback_ms || p == pair->active || p < 0 ||
        (unsigned)p >= pair->n || !peers[p].healthy_since_ms ||
        now - peers[p].healthy_since_ms < pair->auto_failback_ms)
        return HA_STAY;
    *to = p;
    return HA_FAILBACK;
}

int
ha_may_fail_over(const struct ha_detector_cfg *cfg, const struct ha_pair *pair,
                 const struct ha_peer_health *peers, int to, uint64_t now, char *err,
                 size_t err_len)
{
    char why[200];
    if (to == pair->active)
        return err_set(err, err_len, -EALREADY, "active already");
    if (!ha_peer_healthy(cfg, &peers[to], now, why, sizeof why))
        return err_set(err, err_len, -EHOSTUNREACH, "%s", why);
    return 0;
}
