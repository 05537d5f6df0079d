/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench-dataplane: ns/op of the slow path's hot functions, single-threaded:
 * frame parse, MAC table lookup, and the whole switch pipeline for a known
 * unicast frame between two in-memory ports, with its decision replayed from
 * the flow cache and taken the long way.  Prints the median of 5 runs.
 *
 * Then how the pipeline scales: N threads, each with its own pipeline context
 * and its own pair of ports, switch through one switch at once (what dpud's
 * workers do, without the I/O); aggregate Mpps for 1, 2, ... threads, up to
 * the CPUs this process may use (at most 8).
 *
 *   meson test -C build --benchmark        (or run the binary)
 */
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/fdb.h"
#include "lib/log.h"
#include "dataplane/parse.h"
#include "dataplane/pipeline.h"
#include "dataplane/switch.h"
#include "lib/util.h"

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

/* ---- scaling ---- */

#define MAX_THREADS 8
struct scaler {
    struct sw_ctx *ctx;
    struct port *out;
    uint16_t in;
    uint8_t frame[64];
    int cpu;
    pthread_barrier_t *start;
    unsigned bursts;
};

static void *
scaler_main(void *arg)
{
    struct scaler *t = arg;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(t->cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
    struct pkt *p[SW_BURST];
    uint8_t out[128];
    uint64_t local = 0;
    for (unsigned k = 0; k < SW_BURST; k++)
        p[k] = malloc(sizeof *p[k]);
    pthread_barrier_wait(t->start);
    for (unsigned i = 0; i < t->bursts; i++) {
        for (unsigned k = 0; k < SW_BURST; k++) {
            pkt_reset(p[k]);
            memcpy(p[k]->data, t->frame, 64);
            p[k]->len = 64;
        }
        sw_input_ctx(t->ctx, t->in, p, SW_BURST, 1);
        for (unsigned k = 0; k < SW_BURST; k++)
            local += (uint64_t)port_mem_take(t->out, out, sizeof out);
    }
    sink += local;
    for (unsigned k = 0; k < SW_BURST; k++)
        free(p[k]);
    return NULL;
}

/* Aggregate Mpps of 'n' threads on 'cpus', one run. */
static double
scaling_run(unsigned n, const int *cpus)
{
    struct sw_params params = SW_PARAMS_DEFAULT;
    struct sw *sw = sw_create(&params);
    sw_portgroup_set(sw, "pg", 10, 1500);
    struct scaler t[MAX_THREADS];
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, n + 1);
    for (unsigned i = 0; i < n; i++) {
        char a[8], b[8];
        snprintf(a, sizeof a, "a%u", i);
        snprintf(b, sizeof b, "b%u", i);
        int pa = sw_port_add(sw, a, SW_PORT_VNIC, "pg", port_open(a, "mem"));
        int pb = sw_port_add(sw, b, SW_PORT_VNIC, "pg", port_open(b, "mem"));
        /* b's MAC first (learned from a frame of b's), then a -> b. */
        uint8_t fb[64] = {0x02, 0, 0, 0, (uint8_t)i, 1, 0x02, 0, 0, 0, (uint8_t)i, 2, 0x08};
        struct pkt *p = malloc(sizeof *p);
        pkt_reset(p);
        memcpy(p->data, fb, 64);
        p->len = 64;
        sw_input(sw, (uint16_t)pb, &p, 1, 0);
        free(p);
        uint8_t out[128];
        port_mem_take(sw_port_at(sw, (unsigned)pa)->io, out, sizeof out);
        t[i] = (struct scaler){.ctx = sw_ctx_create(sw),
                               .out = sw_port_at(sw, (unsigned)pb)->io,
                               .in = (uint16_t)pa,
                               .cpu = cpus[i],
                               .start = &start,
                               .bursts = 4000000 / SW_BURST};
        uint8_t fa[64] = {0x02, 0, 0, 0, (uint8_t)i, 2, 0x02, 0, 0, 0, (uint8_t)i, 1, 0x08};
        memcpy(t[i].frame, fa, 64);
    }
    pthread_t th[MAX_THREADS];
    for (unsigned i = 0; i < n; i++)
        pthread_create(&th[i], NULL, scaler_main, &t[i]);
    pthread_barrier_wait(&start);
    uint64_t t0 = now_ns();
    for (unsigned i = 0; i < n; i++)
        pthread_join(th[i], NULL);
    double mpps = (double)n * t[0].bursts * SW_BURST / (double)(now_ns() - t0) * 1000.0;
    pthread_barrier_destroy(&start);
    sw_destroy(sw);
    return mpps;
}

static void
bench_scaling(void)
{
    cpu_set_t allowed;
    int cpus[MAX_THREADS];
    unsigned n_cpus = 0;
    if (sched_getaffinity(0, sizeof allowed, &allowed))
        return;
    for (int c = 0; c < CPU_SETSIZE && n_cpus < MAX_THREADS; c++)
        if (CPU_ISSET(c, &allowed))
            cpus[n_cpus++] = c;
    double one = 0;
    /* 1, 2, 4, ... and every CPU. */
    for (unsigned n = 1; n <= n_cpus; n = n * 2 > n_cpus && n < n_cpus ? n_cpus : n * 2) {
        double mpps[RUNS];
        for (int r = 0; r < RUNS; r++)
            mpps[r] = scaling_run(n, cpus);
        qsort(mpps, RUNS, sizeof mpps[0], cmp_double);
        if (n == 1)
            one = mpps[RUNS / 2];
        printf("pipeline, %u worker%s (mem ports, cache hit) %8.2f Mpps aggregate (median of %d; "
               "min %.2f, max %.2f; %.2fx one worker)\n",
               n, n > 1 ? "s" : " ", mpps[RUNS / 2], RUNS, mpps[0], mpps[RUNS - 1],
               mpps[RUNS / 2] / one);
    }
}

int
main(void)
{
    bench_parse();
    bench_fdb();
    bench_switch(false, "switch pipeline, flow cache hit (mem ports)");
    bench_switch(true, "switch pipeline, no flow cache (mem ports)");
    bench_scaling();
    return 0;
}
