/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench-dataplane: ns/op of the slow path's hot functions, single-threaded:
 * frame parse, MAC table lookup, and the whole switch pipeline for a known
 * unicast frame between two in-memory ports, with its decision replayed from
 * the flow cache and taken the long way.  Prints the median of 5 runs.
 *
 *   meson test -C build --benchmark        (or run the binary)
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fdb.h"
#include "log.h"
#include "parse.h"
#include "switch.h"
#include "util.h"

#define RUNS 5

static volatile uint64_t sink;

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void
report(const char *what, double ns[RUNS])
{
    qsort(ns, RUNS, sizeof ns[0], cmp_double);
    printf("%-46s %8.1f ns/op (median of %d; min %.1f, max %.1f)\n", what, ns[RUNS / 2], RUNS,
           ns[0], ns[RUNS - 1]);
}

static void
bench_parse(void)
{
    uint8_t f[64] = {0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x81, 0x00, 0x00, 10, 0x08, 0x00};
    double ns[RUNS];
    const unsigned n = 20000000;
    for (int r = 0; r < RUNS; r++) {
        uint64_t t0 = now_ns();
        struct pkt_meta m;
        for (unsigned i = 0; i < n; i++) {
            f[5] = (uint8_t)i;
            sink += pkt_parse(f, sizeof f, &m) + m.vid;
        }
        ns[r] = (double)(now_ns() - t0) / n;
    }
    report("parse (64 B, 802.1Q)", ns);
}

static void
bench_fdb(void)
{
    struct fdb *f = fdb_create(16384, 300000);
    uint8_t mac[6] = {0x02, 0xd5, 0, 0, 0, 0};
    for (unsigned i = 0; i < 8192; i++) {
        mac[4] = (uint8_t)(i >> 8);
        mac[5] = (uint8_t)i;
        fdb_learn(f, 10, mac, (uint16_t)(i % 64), 0, NULL);
    }
    double ns[RUNS];
    const unsigned n = 20000000;
    for (int r = 0; r < RUNS; r++) {
        uint64_t t0 = now_ns();
        uint16_t port;
        for (unsigned i = 0; i < n; i++) {
            unsigned k = (i * 2654435761u) & 8191;
            mac[4] = (uint8_t)(k >> 8);
            mac[5] = (uint8_t)k;
            sink += fdb_lookup(f, 10, mac, 1, &port) ? port : 0;
        }
        ns[r] = (double)(now_ns() - t0) / n;
    }
    report("MAC lookup (8,192 entries, hit)", ns);
    fdb_destroy(f);
}

static void
bench_switch(bool no_cache, const char *what)
{
    log_init("bench", NULL, LL_ERR);
    struct sw_params params = SW_PARAMS_DEFAULT;
    params.no_cache = no_cache;
    struct sw *sw = sw_create(&params);
    sw_portgroup_set(sw, "pg", 10, 1500);
    int a = sw_port_add(sw, "a", SW_PORT_VNIC, "pg", port_open("a", "mem"));
    int b = sw_port_add(sw, "b", SW_PORT_VNIC, "pg", port_open("b", "mem"));
    struct pkt *p[SW_BURST];
    for (unsigned k = 0; k < SW_BURST; k++)
        p[k] = malloc(sizeof *p[k]);
    uint8_t fa[64] = {0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00};
    uint8_t fb[64] = {0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x08, 0x00};
    uint8_t out[128];
    pkt_reset(p[0]);
    memcpy(p[0]->data, fb, 64);
    p[0]->len = 64;
    sw_input(sw, (uint16_t)b, p, 1, 0); /* learn b */
    port_mem_take(sw_port_at(sw, (unsigned)a)->io, out, sizeof out);
    double ns[RUNS];
    /* Bursts of SW_BURST frames, as workers receive them under load. */
    const unsigned n = 2000000 / SW_BURST;
    struct port *io_b = sw_port_at(sw, (unsigned)b)->io;
    for (int r = 0; r < RUNS; r++) {
        uint64_t t0 = now_ns();
        for (unsigned i = 0; i < n; i++) {
            for (unsigned k = 0; k < SW_BURST; k++) {
                pkt_reset(p[k]);
                memcpy(p[k]->data, fa, 64);
                p[k]->len = 64;
            }
            sw_input(sw, (uint16_t)a, p, SW_BURST, 1);
            for (unsigned k = 0; k < SW_BURST; k++)
                sink += (uint64_t)port_mem_take(io_b, out, sizeof out);
        }
        ns[r] = (double)(now_ns() - t0) / (n * SW_BURST);
    }
    report(what, ns);
    for (unsigned k = 0; k < SW_BURST; k++)
        free(p[k]);
    sw_destroy(sw);
}

int
main(void)
{
    bench_parse();
    bench_fdb();
    bench_switch(false, "switch pipeline, flow cache hit (mem ports)");
    bench_switch(true, "switch pipeline, no flow cache (mem ports)");
    return 0;
}
