/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ha/detector and ha/member over simulated time: hostd's failure detector and
 * failover policy, and a DPU's role and fencing, with the clock an argument.
 */
#include "tests/unit/check.h"
#include "ha/detector.h"
#include "ha/member.h"

static const struct ha_detector_cfg cfg = {.interval_ms = 2, .miss = 3};

/* Two connected DPUs, each with both uplinks up; dpu 0 active, preferred. */
static void
pair_init(struct ha_peer_health peers[2], struct ha_pair *pair, uint64_t now)
{
    for (int i = 0; i < 2; i++) {
        peers[i] = (struct ha_peer_health){0};
        ha_peer_connected(&peers[i], now);
        ha_peer_heard(&peers[i], 2, 2, now);
    }
    *pair = (struct ha_pair){.active_standby = true, .n = 2, .active = 0, .preferred = 0};
}

/* One heartbeat round at 'now' to DPU 'i', answered or not. */
static void
beat(struct ha_peer_health *p, uint64_t now, bool answered)
{
    if (ha_peer_should_send(&cfg, p, now))
        ha_peer_sent(p, now);
    if (answered)
        ha_peer_heard(p, -1, -1, now);
}

static void
an_answering_dpu_stays_healthy(void)
{
    struct ha_peer_health peers[2];
    struct ha_pair pair;
    char why[200];
    pair_init(peers, &pair, 1000);
    for (uint64_t t = 1000; t < 2000; t += cfg.interval_ms)
        beat(&peers[0], t, true);
    ASSERT_TRUE(ha_peer_healthy(&cfg, &peers[0], 2000, why, sizeof why));
    ASSERT_FALSE(ha_peer_silent(&cfg, &peers[0], 2000));
}

static void
a_hung_dpu_is_silent_after_miss_heartbeats_and_miss_intervals(void)
{
    struct ha_peer_health peers[2];
    struct ha_pair pair;
    char why[200];
    pair_init(peers, &pair, 0);
    beat(&peers[0], 10, false); /* the first unanswered, at 10 */
    beat(&peers[0], 12, false);
    beat(&peers[0], 14, false); /* three unanswered, but only 4 ms since the first */
    ASSERT_FALSE(ha_peer_silent(&cfg, &peers[0], 14));
    ASSERT_TRUE(ha_peer_silent(&cfg, &peers[0], 16)); /* 3 x 2 ms after the first */
    ASSERT_FALSE(ha_peer_healthy(&cfg, &peers[0], 16, why, sizeof why));
    ASSERT_STREQ(why, "3 heartbeats unanswered in 6 ms");
    /* An answer makes it healthy again at once. */
    ha_peer_heard(&peers[0], -1, -1, 17);
    ASSERT_TRUE(ha_peer_healthy(&cfg, &peers[0], 17, why, sizeof why));
}

static void
a_stall_of_hostd_itself_is_not_a_dpu_failure(void)
{
    struct ha_peer_health peers[2];
    struct ha_pair pair;
    pair_init(peers, &pair, 0);
    beat(&peers[0], 10, true);
    /* hostd's core is busy for 200 ms: no heartbeat goes out, so none can
     * be missed; the first one after the stall is one unanswered. */
    beat(&peers[0], 210, false);
    ASSERT_FALSE(ha_peer_silent(&cfg, &peers[0], 212));
}

static void
a_silent_dpu_gets_no_backlog(void)
{
    struct ha_peer_health peers[2];
    struct ha_pair pair;
    pair_init(peers, &pair, 0);
    unsigned sent = 0;
    for (uint64_t t = 2; t <= 1000; t += cfg.interval_ms) {
        unsigned before = peers[0].unanswered;
        beat(&peers[0], t, false);
        sent += peers[0].unanswered != before;
    }
    /* 2 x miss heartbeats at the full rate, then one or two in every 50 ms
     * (the ms of the clock within an interval of each 50): ~40, not 500. */
    ASSERT_LT(sent, 60);
    ASSERT_GE(sent, 2 * cfg.miss + 1000 / 50 - 1);
    ha_peer_lost(&peers[1], "connection closed");
    ASSERT_FALSE(ha_peer_should_send(&cfg, &peers[1], 1000)); /* nothing to send on */
}

static void
a_dpu_without_carrier_or_connection_is_unhealthy(void)
{
    struct ha_peer_health peers[2];
    struct ha_pair pair;
    char why[200];
    pair_init(peers, &pair, 0);
    ha_peer_heard(&peers[0], 0, 2, 5);
    ASSERT_FALSE(ha_peer_healthy(&cfg, &peers[0], 5, why, sizeof why));
    ASSERT_STREQ(why, "no uplink has carrier");
    ha_peer_heard(&peers[0], 1, -1, 6); /* one back: the total stays */
    ASSERT_TRUE(ha_peer_healthy(&cfg, &peers[0], 6, why, sizeof why));
    ha_peer_lost(&peers[0], "connection closed");
    ASSERT_FALSE(ha_peer_healthy(&cfg, &peers[0], 7, why, sizeof why));
    ASSERT_STREQ(why, "connection closed");
    ha_peer_connected(&peers[0], 8);
    ASSERT_TRUE(ha_peer_healthy(&cfg, &peers[0], 8, why, sizeof why));
}

static void
the_active_fails_over_to_a_healthy_standby_only(void)
{
    struct ha_peer_health peers[2];
    struct ha_pair pair;
    char why[200] = "";
    int to = -1;
    pair_init(peers, &pair, 0);
    /* The standby failing moves nothing. */
    ha_peer_lost(&peers[1], "connection closed");
    ASSERT_EQ(ha_on_failure(&cfg, &pair, peers, 1, 1, &to, why, sizeof why), HA_STAY);
    /* The active failing while the standby is down: no failover, and why. */
    ha_peer_lost(&peers[0], "connection closed");
    ASSERT_EQ(ha_on_failure(&cfg, &pair, peers, 0, 2, &to, why, sizeof why), HA_NO_FAILOVER);
    ASSERT_STREQ(why, "connection closed");
    /* With the standby back: a failover to it. */
    ha_peer_connected(&peers[1], 3);
    ASSERT_EQ(ha_on_failure(&cfg, &pair, peers, 0, 3, &to, why, sizeof why), HA_FAILOVER);
    ASSERT_EQ(to, 1);
    /* Independent DPUs never fail over. */
    pair.active_standby = false;
    ASSERT_EQ(ha_on_failure(&cfg, &pair, peers, 0, 4, &to, why, sizeof why), HA_STAY);
}

static void
automatic_failback_waits_for_the_hold_time_without_a_break(void)
{
    struct ha_peer_health peers[2];
    struct ha_pair pair;
    int to = -1;
    pair_init(peers, &pair, 0);
    pair.active = 1; /* after a failover: the preferred dpu0 is the standby */
    pair.auto_failback_ms = 1000;
    ha_peer_update(&cfg, &peers[0], 100);
    ASSERT_EQ(peers[0].healthy_since_ms, 100);
    ASSERT_EQ(ha_on_tick(&cfg, &pair, peers, 1099, &to), HA_STAY);
    /* It flaps: the hold time starts again. */
    ha_peer_lost(&peers[0], "connection closed");
    ha_peer_update(&cfg, &peers[0], 1050);
    ASSERT_EQ(peers[0].healthy_since_ms, 0);
    ha_peer_connected(&peers[0], 1060);
    ha_peer_update(&cfg, &peers[0], 1060);
    ASSERT_EQ(ha_on_tick(&cfg, &pair, peers, 2059, &to), HA_STAY);
    ASSERT_EQ(ha_on_tick(&cfg, &pair, peers, 2060, &to), HA_FAILBACK);
    ASSERT_EQ(to, 0);
    /* By hand (no hold time) or once the preferred is active: nothing. */
    pair.auto_failback_ms = 0;
    ASSERT_EQ(ha_on_tick(&cfg, &pair, peers, 9999, &to), HA_STAY);
    pair.auto_failback_ms = 1000;
    pair.active = 0;
    ASSERT_EQ(ha_on_tick(&cfg, &pair, peers, 9999, &to), HA_STAY);
}

static void
a_failover_by_hand_needs_a_healthy_other_dpu(void)
{
    struct ha_peer_health peers[2];
    struct ha_pair pair;
    char err[200];
    pair_init(peers, &pair, 0);
    ASSERT_EQ(ha_may_fail_over(&cfg, &pair, peers, 0, 1, err, sizeof err), -EALREADY);
    ASSERT_STREQ(err, "active already");
    ASSERT_EQ(ha_may_fail_over(&cfg, &pair, peers, 1, 1, err, sizeof err), 0);
    ha_peer_heard(&peers[1], 0, 2, 2);
    ASSERT_EQ(ha_may_fail_over(&cfg, &pair, peers, 1, 2, err, sizeof err), -EHOSTUNREACH);
    ASSERT_STREQ(err, "no uplink has carrier");
}

static void
a_member_follows_its_role_and_epoch(void)
{
    struct ha_member m;
    ha_member_init(&m, true);
    ASSERT_TRUE(m.fenced); /* before any heartbeat: fenced */
    ASSERT_EQ(ha_member_heartbeat(&m, HA_ROLE_STANDBY, 1), HA_ACT_FENCE);
    ASSERT_EQ(ha_member_heartbeat(&m, HA_ROLE_ACTIVE, 2), HA_ACT_UNFENCE | HA_ACT_ANNOUNCE);
    ASSERT_FALSE(m.fenced);
    ASSERT_EQ(ha_member_heartbeat(&m, HA_ROLE_ACTIVE, 2), HA_ACT_UNFENCE); /* no new announce */
    /* A late heartbeat from before the failover is ignored. */
    ASSERT_EQ(ha_member_heartbeat(&m, HA_ROLE_STANDBY, 1), 0);
    ASSERT_FALSE(m.fenced);
    ASSERT_EQ(m.epoch, 2);
}

static void
a_member_cut_off_from_hostd_fences_itself_once(void)
{
    struct ha_member m;
    ha_member_init(&m, true);
    ASSERT_EQ(ha_member_silence(&m), 0); /* no role yet: fenced already */
    ha_member_heartbeat(&m, HA_ROLE_ACTIVE, 5);
    ASSERT_EQ(ha_member_silence(&m), HA_ACT_FENCE);
    ASSERT_TRUE(m.fenced);
    ASSERT_EQ(ha_member_silence(&m), 0);
    /* hostd back, still saying active: unfenced, and the MACs announced. */
    ASSERT_EQ(ha_member_heartbeat(&m, HA_ROLE_ACTIVE, 5), HA_ACT_UNFENCE | HA_ACT_ANNOUNCE);
    /* Independent DPUs are never fenced. */
    ha_member_init(&m, false);
    ASSERT_FALSE(m.fenced);
    ASSERT_EQ(ha_member_heartbeat(&m, HA_ROLE_NONE, 0), HA_ACT_UNFENCE);
    ASSERT_EQ(ha_member_silence(&m), 0);
}

TEST_MAIN(TEST(an_answering_dpu_stays_healthy),
          TEST(a_hung_dpu_is_silent_after_miss_heartbeats_and_miss_intervals),
          TEST(a_stall_of_hostd_itself_is_not_a_dpu_failure), TEST(a_silent_dpu_gets_no_backlog),
          TEST(a_dpu_without_carrier_or_connection_is_unhealthy),
          TEST(the_active_fails_over_to_a_healthy_standby_only),
          TEST(automatic_failback_waits_for_the_hold_time_without_a_break),
          TEST(a_failover_by_hand_needs_a_healthy_other_dpu),
          TEST(a_member_follows_its_role_and_epoch),
          TEST(a_member_cut_off_from_hostd_fences_itself_once))
