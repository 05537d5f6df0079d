/* SPDX-License-Identifier: Apache-2.0 */
/* hamsg (ha/hamsg.h): the heartbeat lines hostd and dpud exchange. */
#include <string.h>

#include "tests/unit/check.h"
#include "ha/hamsg.h"

/* Parses what must be accepted; a refusal prints why and fails the test. */
static struct ha_msg
parse_ok(const char *line)
{
    struct ha_msg m;
    char err[128] = "";
    if (ha_msg_parse(line, strlen(line), &m, err, sizeof err) < 0) {
        fprintf(stderr, "refused %s: %s\n", line, err);
        check_failed_ = 1;
    }
    return m;
}

static void
hamsg_hostd_heartbeat_round_trips(void)
{
    struct ha_msg m = {
        .type = HA_MSG_HB, .seq = 41, .epoch = 7, .role = HA_ROLE_STANDBY, .fence_ms = 500};
    char line[256];
    int n = ha_msg_format(&m, false, line, sizeof line);
    ASSERT_GT(n, 0);
    ASSERT_STREQ(line,
                 "{\"t\":\"hb\",\"seq\":41,\"epoch\":7,\"role\":\"standby\",\"fence_ms\":500}\n");
    line[n - 1] = '\0';
    struct ha_msg b = parse_ok(line);
    ASSERT_EQ(b.type, HA_MSG_HB);
    ASSERT_EQ(b.seq, 41u);
    ASSERT_EQ(b.epoch, 7u);
    ASSERT_EQ(b.role, HA_ROLE_STANDBY);
    ASSERT_EQ(b.fence_ms, 500u);
    ASSERT_EQ(b.uplinks, -1);
}

static void
hamsg_dpu_answer_and_report_round_trip(void)
{
    struct ha_msg m = {.type = HA_MSG_HB,
                       .seq = 9,
                       .epoch = 2,
                       .role = HA_ROLE_ACTIVE,
                       .fenced = false,
                       .uplinks = 1,
                       .uplinks_total = 2};
    char line[256];
    int n = ha_msg_format(&m, true, line, sizeof line);
    ASSERT_GT(n, 0);
    line[n - 1] = '\0';
    struct ha_msg b = parse_ok(line);
    ASSERT_EQ(b.role, HA_ROLE_ACTIVE);
    ASSERT_FALSE(b.fenced);
    ASSERT_EQ(b.uplinks, 1);
    ASSERT_EQ(b.uplinks_total, 2);
    struct ha_msg u = {.type = HA_MSG_UPLINKS, .uplinks = 0, .uplinks_total = 2};
    n = ha_msg_format(&u, true, line, sizeof line);
    line[n - 1] = '\0';
    b = parse_ok(line);
    ASSERT_EQ(b.type, HA_MSG_UPLINKS);
    ASSERT_EQ(b.uplinks, 0);
    ASSERT_EQ(b.uplinks_total, 2);
    ASSERT_EQ(ha_msg_format(&m, true, line, 20), -1); /* too small */
}

static void
hamsg_refuses_what_it_cannot_act_on(void)
{
    static const char *const bad[] = {
        "",
        "not json",
        "[1]",
        "{\"seq\":1}",                                     /* no type */
        "{\"t\":\"hello\"}",                               /* unknown type */
        "{\"t\":\"hb\",\"role\":\"active\"}",              /* no epoch */
        "{\"t\":\"hb\",\"epoch\":-1,\"role\":\"active\"}", /* negative epoch */
        "{\"t\":\"hb\",\"epoch\":1,\"role\":\"boss\"}",    /* unknown role */
        "{\"t\":\"hb\",\"epoch\":1}",                      /* no role */
        "{\"t\":\"hb\",\"epoch\":1,\"role\":\"none\",\"fence_ms\":60001}",
        "{\"t\":\"hb\",\"epoch\":1,\"role\":\"none\",\"fenced\":1}",
        "{\"t\":\"uplinks\",\"uplinks\":1}", /* no total */
        "{\"t\":\"uplinks\",\"uplinks\":65,\"uplinks_total\":65}",
        "{\"t\":\"hb\",\"t\":\"hb\",\"epoch\":1,\"role\":\"none\"}", /* a key twice */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct ha_msg m;
        char err[128] = "";
        if (ha_msg_parse(bad[i], strlen(bad[i]), &m, err, sizeof err) == 0)
            CHECK_FAIL_("accepted %s", bad[i]);
        if (!err[0] || strchr(err, '\n'))
            CHECK_FAIL_("no one-line reason for %s", bad[i]);
    }
    char big[HA_MSG_MAX + 2];
    memset(big, ' ', sizeof big);
    struct ha_msg m;
    char err[128];
    ASSERT_TRUE(ha_msg_parse(big, sizeof big, &m, err, sizeof err) < 0);
}

TEST_MAIN(TEST(hamsg_hostd_heartbeat_round_trips), TEST(hamsg_dpu_answer_and_report_round_trip),
          TEST(hamsg_refuses_what_it_cannot_act_on))
