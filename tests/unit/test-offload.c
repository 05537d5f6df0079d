/* SPDX-License-Identifier: Apache-2.0 */
/*
 * offload without an eswitch (no root): how a decision of the switch becomes
 * an eswitch flow and back, and what revalidation makes of a flow as the
 * switch changes under it.
 *
 *     vm1, vm2: vNICs in pg (VLAN 10), interfaces 11 and 12
 *     u0: the only uplink, interface 21
 */
#include <stdbool.h>

#include "tests/unit/check.h"
#include "tests/unit/frames.h"
#include "dataplane/offload.h"
#include "dataplane/pipeline.h"
#include "dataplane/switch.h"
#include "lib/log.h"

static const uint8_t *M1 = MAC(0x02, 0, 0, 0, 0, 1);
static const uint8_t *M2 = MAC(0x02, 0, 0, 0, 0, 2);
static const uint8_t *MR = MAC(0x02, 0, 0, 0, 0, 0x77); /* behind the fabric */

#define S 1000000000ull /* one second in ns */

struct bench {
    struct sw *sw;
    int vm1, vm2, u0;
    struct sw_flow offered; /* the last decision the switch offered */
};

static bool
capture(void *aux, const struct sw_flow *f)
{
    ((struct bench *)aux)->offered = *f;
    return true;
}

static int
port(struct bench *b, const char *name, const char *pg, int ifindex)
{
    int id =
        sw_port_add(b->sw, name, pg ? SW_PORT_VNIC : SW_PORT_UPLINK, pg, port_open(name, "mem"));
    sw_port_at(b->sw, (unsigned)id)->io->ifindex = ifindex;
    sw_port_set_carrier(b->sw, (uint16_t)id, true, 0);
    return id;
}

static void
bench_init(struct bench *b)
{
    log_init("test", NULL, LL_ERR);
    struct sw_params params = SW_PARAMS_DEFAULT;
    params.fdb_age_ms = 1000;
    b->sw = sw_create(&params);
    sw_portgroup_set(b->sw, "pg", 10, 1500);
    b->vm1 = port(b, "vm1", "pg", 11);
    b->vm2 = port(b, "vm2", "pg", 12);
    b->u0 = port(b, "u0", NULL, 21);
    struct sw_offload hooks = {.install = capture, .aux = b};
    sw_set_offload(b->sw, &hooks);
}

/* A frame into port 'id' at 'now_ms'; what it sends is thrown away. */
static void
frame(struct bench *b, int id, const uint8_t *dst, const uint8_t *src, int vid, uint64_t now_ms)
{
    struct pkt p;
    pkt_reset(&p);
    p.len = frame_build(p.data, dst, src, vid, 64);
    struct pkt *one = &p;
    sw_input(b->sw, (uint16_t)id, &one, 1, now_ms);
    uint8_t out[PKT_DATA_MAX];
    for (unsigned i = 0; i < SW_MAX_PORTS; i++)
        for (const struct sw_port *q = sw_port_at(b->sw, i);
             q && port_mem_take(q->io, out, sizeof out) >= 0;)
            ;
}

/* Learns M1 on vm1, then has vm2 send to it: the flow vm2 -> vm1, mapped. */
static void
flow_vm2_to_vm1(struct bench *b, struct eswitch_key *k, struct eswitch_action *a)
{
    frame(b, b->vm1, mac_bcast, M1, -1, 0);
    frame(b, b->vm2, M1, M2, -1, 0);
    offload_flow_to_eswitch(b->sw, &b->offered, 95 * S, k, a);
}

static void
offload_maps_a_decision_to_an_eswitch_flow(void)
{
    struct bench b;
    bench_init(&b);
    struct eswitch_key k;
    struct eswitch_action a;
    flow_vm2_to_vm1(&b, &k, &a);
    ASSERT_EQ(k.in_ifindex, 12);
    ASSERT_EQ(k.tag, ESWITCH_UNTAGGED);
    ASSERT_TRUE(!memcmp(k.src, M2, 6) && !memcmp(k.dst, M1, 6));
    ASSERT_EQ(a.out_ifindex, 11);
    ASSERT_EQ(a.push_vid, ESWITCH_NO_PUSH);
    ASSERT_EQ(a.pop, 0);
    ASSERT_EQ(a.max_len, 1514);
    ASSERT_EQ(a.in_port, b.vm2);
    ASSERT_EQ(a.out_port, b.vm1);
    ASSERT_EQ(a.vnic, 1);
    ASSERT_EQ(a.last_ns, 95 * S);
    /* From the fabric, tagged: pop; to the fabric: push the portgroup's tag. */
    frame(&b, b.u0, M1, MR, 10, 0);
    offload_flow_to_eswitch(b.sw, &b.offered, 0, &k, &a);
    ASSERT_EQ(k.in_ifindex, 21);
    ASSERT_EQ(k.tag, 10);
    ASSERT_EQ(a.pop, 1);
    ASSERT_EQ(a.max_len, 1518);
    frame(&b, b.vm1, MR, M1, -1, 0);
    offload_flow_to_eswitch(b.sw, &b.offered, 0, &k, &a);
    ASSERT_EQ(a.out_ifindex, 21);
    ASSERT_EQ(a.push_vid, 10);
    ASSERT_EQ(a.pop, 0);
    sw_destroy(b.sw);
}

static void
offload_maps_an_eswitch_flow_back_to_the_decision(void)
{
    struct bench b;
    bench_init(&b);
    frame(&b, b.u0, M1, MR, 10, 0); /* M1 unknown yet: flooded, nothing offered */
    frame(&b, b.vm1, MR, M1, -1, 0);
    struct eswitch_key k;
    struct eswitch_action a;
    offload_flow_to_eswitch(b.sw, &b.offered, 0, &k, &a);
    struct sw_flow f;
    offload_flow_from_eswitch(&k, &a, &f);
    ASSERT_EQ(f.in_port, b.offered.in_port);
    ASSERT_EQ(f.out_port, b.offered.out_port);
    ASSERT_EQ(f.tag, b.offered.tag);
    ASSERT_EQ(f.push_vid, b.offered.push_vid);
    ASSERT_EQ(f.pop, b.offered.pop);
    ASSERT_EQ(f.max_len, b.offered.max_len);
    ASSERT_TRUE(!memcmp(f.src, M1, 6) && !memcmp(f.dst, MR, 6));
    ASSERT_TRUE(sw_flow_revalidate(b.sw, &f, false, 0));
    sw_destroy(b.sw);
}

static void
offload_keeps_live_flows_and_drops_idle_ones(void)
{
    struct bench b;
    bench_init(&b);
    struct eswitch_key k;
    struct eswitch_action a;
    flow_vm2_to_vm1(&b, &k, &a); /* last hit at 95 s */
    struct offload_clock c = {
        .now_ms = 500, .now_ns = 100 * S, .last_reval_ns = 99 * S, .idle_ns = 10 * S};
    ASSERT_EQ(offload_flow_verdict(b.sw, &k, &a, &c), OFFLOAD_KEEP);
    c.idle_ns = 4 * S; /* five idle seconds are too many now (a full table) */
    ASSERT_EQ(offload_flow_verdict(b.sw, &k, &a, &c), OFFLOAD_IDLE);
    a.last_ns = 99 * S + 1; /* a hit since the last revalidation: never idle */
    ASSERT_EQ(offload_flow_verdict(b.sw, &k, &a, &c), OFFLOAD_KEEP);
    sw_destroy(b.sw);
}

static void
offload_drops_flows_whose_ports_changed(void)
{
    struct bench b;
    bench_init(&b);
    struct eswitch_key k;
    struct eswitch_action a;
    flow_vm2_to_vm1(&b, &k, &a);
    struct offload_clock c = {.now_ns = 95 * S, .last_reval_ns = 95 * S, .idle_ns = 10 * S};
    sw_port_at(b.sw, (unsigned)b.vm1)->io->ifindex = 99; /* another interface, same name */
    ASSERT_EQ(offload_flow_verdict(b.sw, &k, &a, &c), OFFLOAD_PORT_CHANGED);
    sw_port_at(b.sw, (unsigned)b.vm1)->io->ifindex = 11;
    ASSERT_EQ(offload_flow_verdict(b.sw, &k, &a, &c), OFFLOAD_KEEP);
    ASSERT_EQ(sw_port_del(b.sw, "vm2"), 0);
    ASSERT_EQ(offload_flow_verdict(b.sw, &k, &a, &c), OFFLOAD_PORT_CHANGED);
    sw_destroy(b.sw);
}

static void
offload_drops_flows_the_switch_would_decide_otherwise(void)
{
    struct bench b;
    bench_init(&b);
    struct eswitch_key k, kt;
    struct eswitch_action a, at;
    flow_vm2_to_vm1(&b, &k, &a);
    frame(&b, b.vm1, MR, M1, -1, 0); /* MR unknown: flooded */
    frame(&b, b.u0, M1, MR, 10, 0);
    frame(&b, b.vm1, MR, M1, -1, 0); /* vm1 -> the fabric */
    offload_flow_to_eswitch(b.sw, &b.offered, 95 * S, &kt, &at);
    struct offload_clock c = {.now_ns = 95 * S, .last_reval_ns = 95 * S, .idle_ns = 10 * S};
    ASSERT_EQ(offload_flow_verdict(b.sw, &kt, &at, &c), OFFLOAD_KEEP);
    /* No uplink left: nothing goes to the fabric; vm2 -> vm1 stays. */
    sw_port_set_carrier(b.sw, (uint16_t)b.u0, false, 0);
    ASSERT_EQ(offload_flow_verdict(b.sw, &kt, &at, &c), OFFLOAD_STALE);
    ASSERT_EQ(offload_flow_verdict(b.sw, &k, &a, &c), OFFLOAD_KEEP);
    /* M1 moves to vm2: vm2 -> M1 stays on its port now, and is dropped. */
    frame(&b, b.vm2, mac_bcast, M1, -1, 0);
    ASSERT_EQ(offload_flow_verdict(b.sw, &k, &a, &c), OFFLOAD_STALE);
    sw_destroy(b.sw);
}

static void
offload_refreshes_sources_of_flows_that_were_hit(void)
{
    struct bench b;
    bench_init(&b);
    struct eswitch_key k;
    struct eswitch_action a;
    flow_vm2_to_vm1(&b, &k, &a); /* M1, M2 learned at 0 ms; they age at 1000 */
    frame(&b, b.vm1, mac_bcast, M1, -1, 900);
    struct offload_clock c = {
        .now_ms = 1500, .now_ns = 96 * S, .last_reval_ns = 95 * S, .idle_ns = 10 * S};
    uint16_t at;
    ASSERT_FALSE(fdb_lookup(sw_fdb(b.sw), 10, M2, 1500, &at));
    a.last_ns = 95 * S + 1; /* the eswitch forwarded M2's frames */
    ASSERT_EQ(offload_flow_verdict(b.sw, &k, &a, &c), OFFLOAD_KEEP);
    ASSERT_TRUE(fdb_lookup(sw_fdb(b.sw), 10, M2, 1500, &at));
    ASSERT_EQ(at, b.vm2);
    /* Without a hit, a source that aged out makes the flow stale. */
    c.now_ms = 2600;
    c.last_reval_ns = 96 * S;
    ASSERT_EQ(offload_flow_verdict(b.sw, &k, &a, &c), OFFLOAD_STALE);
    sw_destroy(b.sw);
}

static void
offload_without_an_eswitch_is_nothing(void)
{
    struct offload_stats s = {.reval_flows = 7};
    offload_get_stats(NULL, &s);
    ASSERT_EQ(s.reval_flows, 0);
    ASSERT_FALSE(s.installs);
    ASSERT_FALSE(offload_port_on_eswitch(NULL, 3));
    ASSERT_FALSE(offload_port_add(NULL, 3, true));
    offload_port_del(NULL, 3);
    offload_revalidate(NULL);
    offload_destroy(NULL);
}

TEST_MAIN(TEST(offload_maps_a_decision_to_an_eswitch_flow),
          TEST(offload_maps_an_eswitch_flow_back_to_the_decision),
          TEST(offload_keeps_live_flows_and_drops_idle_ones),
          TEST(offload_drops_flows_whose_ports_changed),
          TEST(offload_drops_flows_the_switch_would_decide_otherwise),
          TEST(offload_refreshes_sources_of_flows_that_were_hit),
          TEST(offload_without_an_eswitch_is_nothing))
