/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz-packet: arbitrary frames through the whole L2 pipeline.
 *
 * Input: byte 0 picks the ingress port (2 vNICs in two portgroups, 2 uplinks),
 * byte 1 toggles uplink carrier and ageing, the rest is the frame.  Frames the
 * switch sends are drained from the in-memory ports and checked for sanity.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "dataplane/parse.h"
#include "dataplane/pipeline.h"
#include "dataplane/switch.h"

static struct sw *sw;
static int ids[4];
static struct sw_flow last_flow;
static bool have_flow;

/* A stand-in eswitch: keeps the last flow the switch offloads, so that
 * revalidation runs against whatever state the inputs build. */
static bool
fake_install(void *aux, const struct sw_flow *f)
{
    last_flow = *f;
    have_flow = true;
    return true;
}
static struct pkt *pkt;
static uint64_t now;

static void
setup(void)
{
    log_init("fuzz", NULL, LL_ERR);
    struct sw_params params = SW_PARAMS_DEFAULT;
    params.fdb_capacity = 64; /* small, so that the full table is reached */
    params.fdb_age_ms = 1000;
    sw = sw_create(&params);
    sw_portgroup_set(sw, "pg-a", 10, 1500);
    sw_portgroup_set(sw, "pg-n", 0, 9000);
    ids[0] = sw_port_add(sw, "v0", SW_PORT_VNIC, "pg-a", port_open("v0", "mem"));
    ids[1] = sw_port_add(sw, "v1", SW_PORT_VNIC, "pg-n", port_open("v1", "mem"));
    ids[2] = sw_port_add(sw, "u0", SW_PORT_UPLINK, NULL, port_open("u0", "mem"));
    ids[3] = sw_port_add(sw, "u1", SW_PORT_UPLINK, NULL, port_open("u1", "mem"));
    for (int i = 0; i < 4; i++)
        sw_port_set_carrier(sw, (uint16_t)ids[i], true, 0);
    pkt = malloc(sizeof *pkt);
    static const struct sw_offload hooks = {.install = fake_install};
    sw_set_offload(sw, &hooks);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!sw)
        setup();
    if (size < 2 || size - 2 > PKT_DATA_MAX - VLAN_TAG_LEN)
        return 0;
    int in = ids[data[0] & 3];
    if (data[1] & 1)
        sw_port_set_carrier(sw, (uint16_t)ids[2], !(data[1] & 2), now);
    if (data[1] & 4)
        sw_tick(sw, now += 600);
    pkt_reset(pkt);
    memcpy(pkt->data, data + 2, size - 2);
    pkt->len = (uint32_t)(size - 2);
    sw_input(sw, (uint16_t)in, &pkt, 1, now);
    if (have_flow && !sw_flow_revalidate(sw, &last_flow, data[1] & 8, now))
        have_flow = false;

    static uint8_t out[PKT_DATA_MAX];
    for (int i = 0; i < 4; i++) {
        struct port *io = sw_port_at(sw, (unsigned)ids[i])->io;
        int n;
        while ((n = port_mem_take(io, out, sizeof out)) >= 0) {
            struct pkt_meta m;
            /* Whatever the switch sends must itself parse cleanly. */
            if (pkt_parse(out, (uint32_t)n, &m) != DROP_NONE)
                abort();
        }
    }
    return 0;
}
