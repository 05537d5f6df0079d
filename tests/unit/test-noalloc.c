/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The packet path allocates nothing: every allocation the switch needs is made
 * when it and its ports are created.  This test links with the allocator
 * wrapped (-Wl,--wrap=malloc,...) and counts the calls made while 10,000
 * frames of every kind go through the pipeline: learning, moves, flooding,
 * known unicast, VLAN push and pop, drops, ageing and a failover.
 */
#include <stdbool.h>
#include <stdlib.h>

#include "tests/unit/check.h"
#include "tests/unit/frames.h"
#include "lib/log.h"
#include "dataplane/flowcache.h"
#include "dataplane/switch.h"

#include "tests/unit/alloc-count.h"

static void
switch_packet_path_allocates_nothing(void)
{
    log_init("test", NULL, LL_ERR);
    struct sw_params params = SW_PARAMS_DEFAULT;
    params.fdb_age_ms = 50;
    struct sw *sw = sw_create(&params);
    sw_portgroup_set(sw, "pg-a", 10, 1500);
    int v[3], u[2];
    static const char *const vn[] = {"v0", "v1", "v2"}, *const un[] = {"u0", "u1"};
    for (int i = 0; i < 3; i++)
        v[i] = sw_port_add(sw, vn[i], SW_PORT_VNIC, "pg-a", port_open(vn[i], "mem"));
    for (int i = 0; i < 2; i++) {
        u[i] = sw_port_add(sw, un[i], SW_PORT_UPLINK, NULL, port_open(un[i], "mem"));
        sw_port_set_carrier(sw, (uint16_t)u[i], true, 0);
    }
    struct pkt *p = malloc(sizeof *p);
    static uint8_t out[PKT_DATA_MAX];

    alloc_counting = true;
    for (unsigned i = 0; i < 10000; i++) {
        uint8_t src[6] = {0x02, 0, 0, 0, (uint8_t)(i >> 8), (uint8_t)(i % 7)};
        uint8_t dst[6] = {0x02, 0, 0, 0, (uint8_t)(i >> 8), (uint8_t)((i + 3) % 7)};
        int in_uplink = i % 5 == 0;
        int in = in_uplink ? u[0] : v[i % 3];
        pkt_reset(p);
        p->len = frame_build(p->data, i % 11 == 0 ? mac_bcast : dst, src, in_uplink ? 10 : -1,
                             i % 13 == 0 ? 9 : 64 + i % 1400);
        sw_input(sw, (uint16_t)in, &p, 1, i / 10);
        for (int k = 0; k < 3; k++)
            while (port_mem_take(sw_port_at(sw, (unsigned)v[k])->io, out, sizeof out) >= 0)
                ;
        for (int k = 0; k < 2; k++)
            while (port_mem_take(sw_port_at(sw, (unsigned)u[k])->io, out, sizeof out) >= 0)
                ;
        if (i % 1000 == 999) {
            sw_tick(sw, i / 10);
            sw_port_set_carrier(sw, (uint16_t)u[i / 1000 % 2], i / 1000 % 2, i / 10);
        }
    }
    /* A steady flow between two learned MACs: the flow cache's hit path. */
    static const uint8_t ma[6] = {0x02, 0xaa, 0, 0, 0, 1}, mb[6] = {0x02, 0xaa, 0, 0, 0, 2};
    for (unsigned i = 0; i < 1000; i++) {
        bool back = i < 1;
        pkt_reset(p);
        p->len = frame_build(p->data, back ? mac_bcast : mb, back ? mb : ma, -1, 64);
        sw_input(sw, (uint16_t)(back ? v[1] : v[0]), &p, 1, 1000);
        for (int k = 0; k < 3; k++)
            while (port_mem_take(sw_port_at(sw, (unsigned)v[k])->io, out, sizeof out) >= 0)
                ;
        while (port_mem_take(sw_port_at(sw, (unsigned)u[0])->io, out, sizeof out) >= 0 ||
               port_mem_take(sw_port_at(sw, (unsigned)u[1])->io, out, sizeof out) >= 0)
            ;
    }
    alloc_counting = false;
    ASSERT_EQ(n_allocs, 0);
    struct sw_cache_stats cs;
    sw_cache_stats(sw, &cs);
    ASSERT_TRUE(cs.hits > 100 && cs.misses > 100); /* both paths were exercised */
    free(p);
    sw_destroy(sw);
}

TEST_MAIN(TEST(switch_packet_path_allocates_nothing))
