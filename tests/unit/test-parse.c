/* SPDX-License-Identifier: Apache-2.0 */
#include "tests/unit/check.h"
#include "tests/unit/frames.h"
#include "dataplane/parse.h"
#include "dataplane/vlan.h"

static const uint8_t *A = MAC(0x02, 0, 0, 0, 0, 0xa);
static const uint8_t *B = MAC(0x02, 0, 0, 0, 0, 0xb);

static void
parse_untagged_frame(void)
{
    uint8_t f[64];
    struct pkt_meta m;
    frame_build(f, B, A, -1, 60);
    ASSERT_EQ(pkt_parse(f, 60, &m), DROP_NONE);
    ASSERT_FALSE(m.has_vlan);
    ASSERT_EQ(m.eth_type, ETH_TYPE_IPV4);
    ASSERT_EQ(m.l3_ofs, 14);
}

static void
parse_tagged_frame_reports_vid_and_pcp(void)
{
    uint8_t f[64];
    struct pkt_meta m;
    frame_build(f, B, A, 0xa000 | 42, 64); /* pcp 5 */
    ASSERT_EQ(pkt_parse(f, 64, &m), DROP_NONE);
    ASSERT_TRUE(m.has_vlan);
    ASSERT_EQ(m.vid, 42);
    ASSERT_EQ(m.pcp, 5);
    ASSERT_EQ(m.eth_type, ETH_TYPE_IPV4);
    ASSERT_EQ(m.l3_ofs, 18);
}

static void
parse_priority_tag_is_untagged(void)
{
    uint8_t f[64];
    struct pkt_meta m;
    frame_build(f, B, A, 0x6000, 64); /* pcp 3, vid 0 */
    ASSERT_EQ(pkt_parse(f, 64, &m), DROP_NONE);
    ASSERT_FALSE(m.has_vlan);
    ASSERT_EQ(m.pcp, 3);
    ASSERT_EQ(m.l3_ofs, 18);
}

static void
parse_counts_runts_and_truncated_tags(void)
{
    uint8_t f[64];
    struct pkt_meta m;
    frame_build(f, B, A, 10, 64);
    for (unsigned len = 0; len < 14; len++)
        ASSERT_EQ(pkt_parse(f, len, &m), DROP_RUNT);
    for (unsigned len = 14; len < 18; len++)
        ASSERT_EQ(pkt_parse(f, len, &m), DROP_TRUNC_VLAN);
    ASSERT_EQ(pkt_parse(f, 18, &m), DROP_NONE);
}

static void
parse_refuses_qinq_and_vid_4095(void)
{
    uint8_t f[64];
    struct pkt_meta m;
    frame_build(f, B, A, 10, 64);
    f[16] = 0x81; /* inner ethertype: another tag */
    f[17] = 0x00;
    ASSERT_EQ(pkt_parse(f, 64, &m), DROP_QINQ);
    frame_build(f, B, A, 10, 64);
    f[12] = 0x88;
    f[13] = 0xa8;
    ASSERT_EQ(pkt_parse(f, 64, &m), DROP_QINQ);
    frame_build(f, B, A, 4095, 64);
    ASSERT_EQ(pkt_parse(f, 64, &m), DROP_BAD_VID);
}

static void
parse_refuses_multicast_or_zero_source(void)
{
    uint8_t f[64];
    struct pkt_meta m;
    frame_build(f, B, mac_bcast, -1, 60);
    ASSERT_EQ(pkt_parse(f, 60, &m), DROP_BAD_SRC_MAC);
    frame_build(f, B, MAC(0, 0, 0, 0, 0, 0), -1, 60);
    ASSERT_EQ(pkt_parse(f, 60, &m), DROP_BAD_SRC_MAC);
}

static void
vlan_push_then_pop_restores_frame(void)
{
    static struct pkt p;
    uint8_t orig[60];
    frame_build(orig, B, A, -1, 60);
    pkt_reset(&p);
    memcpy(p.data, orig, 60);
    p.len = 60;
    ASSERT_TRUE(vlan_push(&p, 100, 6));
    ASSERT_EQ(p.len, 64);
    struct pkt_meta m;
    ASSERT_EQ(pkt_parse(p.data, p.len, &m), DROP_NONE);
    ASSERT_EQ(m.vid, 100);
    ASSERT_EQ(m.pcp, 6);
    ASSERT_EQ(memcmp(p.data + 18, orig + 14, 46), 0);
    ASSERT_TRUE(vlan_pop(&p));
    ASSERT_EQ(p.len, 60);
    ASSERT_EQ(memcmp(p.data, orig, 60), 0);
    ASSERT_FALSE(vlan_pop(&p)); /* no tag left */
}

static void
vlan_push_refuses_without_headroom(void)
{
    static struct pkt p;
    pkt_reset(&p);
    p.data = p.buf; /* no headroom */
    frame_build(p.data, B, A, -1, 60);
    p.len = 60;
    ASSERT_FALSE(vlan_push(&p, 5, 0));
    ASSERT_EQ(p.len, 60);
}

static void
drop_reasons_have_names(void)
{
    for (int r = 1; r < DROP__N; r++) {
        ASSERT_NOT_NULL(drop_reason_name(r));
        ASSERT_NE(strcmp(drop_reason_name(r), "none"), 0);
    }
    ASSERT_STREQ(drop_reason_name(DROP_RUNT), "runt");
}

TEST_MAIN(TEST(parse_untagged_frame), TEST(parse_tagged_frame_reports_vid_and_pcp),
          TEST(parse_priority_tag_is_untagged), TEST(parse_counts_runts_and_truncated_tags),
          TEST(parse_refuses_qinq_and_vid_4095), TEST(parse_refuses_multicast_or_zero_source),
          TEST(vlan_push_then_pop_restores_frame), TEST(vlan_push_refuses_without_headroom),
          TEST(drop_reasons_have_names))
