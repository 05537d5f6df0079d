/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dpud's poll-mode workers on in-memory ports: ports are spread over the
 * workers, frames injected while the workers are paused are all switched once
 * they resume, and the control thread can pause, read and change the switch
 * thousands of times while the workers run (under ASan in `make test`), and
 * two workers send to the same ports at once without losing or doubling a
 * frame.
 *
 *     a, b, c, d: vNICs in pg (VLAN 10); a -> b and c -> d known unicast
 */
#include <sched.h>
#include <stdlib.h>

#include "tests/unit/check.h"
#include "daemons/dpud/dpud.h"
#include "tests/unit/frames.h"
#include "lib/log.h"
#include "lib/util.h"

static const uint8_t *MA = MAC(0x02, 0, 0, 0, 0, 0xa);
static const uint8_t *MB = MAC(0x02, 0, 0, 0, 0, 0xb);
static const uint8_t *MC = MAC(0x02, 0, 0, 0, 0, 0xc);
static const uint8_t *MD = MAC(0x02, 0, 0, 0, 0, 0xd);

static struct port *
io(struct dpud *d, int id)
{
    return sw_port_at(d->sw, (unsigned)id)->io;
}

static void
inject(struct dpud *d, int id, const uint8_t *dst, const uint8_t *src)
{
    uint8_t f[64];
    unsigned len = frame_build(f, dst, src, -1, sizeof f);
    ASSERT_TRUE(port_mem_inject(io(d, id), f, len));
}

/* Waits (pausing the workers to look) until port 'id' sent 'n' frames. */
static bool
wait_tx(struct dpud *d, int id, unsigned n)
{
    uint64_t deadline = now_ms() + 5000;
    for (;;) {
        dpud_pause(d);
        unsigned got = port_mem_n_tx(io(d, id));
        dpud_resume(d);
        if (got > n)
            fprintf(stderr, "port %d: %u frames sent, %u expected\n", id, got, n);
        if (got >= n)
            return got == n;
        if (now_ms() > deadline) {
            fprintf(stderr, "port %d: %u of %u frames sent after 5 s\n", id, got, n);
            return false;
        }
        sched_yield();
    }
}

static void
drain(struct dpud *d, int id)
{
    static uint8_t buf[PKT_DATA_MAX];
    while (port_mem_take(io(d, id), buf, sizeof buf) >= 0)
        ;
}

/* Sets '*dp' to a dpud with ports a, b, c, d on up to two workers (a, c on the
 * first; b, d on the second), every MAC learned; leaves it NULL on failure. */
static void
setup(struct dpud **dp, int p[4])
{
    log_init("test", NULL, LL_ERR);
    struct dpud *d = calloc(1, sizeof *d);
    struct sw_params params = SW_PARAMS_DEFAULT;
    d->sw = sw_create(&params);
    d->poll_us = 1000000; /* keep polling: in-memory ports have no descriptor */
    ASSERT_GE(sw_portgroup_set(d->sw, "pg", 10, 1500), 0);
    static const char *const names[] = {"a", "b", "c", "d"};
    for (int i = 0; i < 4; i++) {
        p[i] = sw_port_add(d->sw, names[i], SW_PORT_VNIC, "pg", port_open(names[i], "mem"));
        ASSERT_GE(p[i], 0);
        sw_port_set_carrier(d->sw, (uint16_t)p[i], true, 0);
    }

    /* Two workers where this process may use two CPUs, else one. */
    cpu_set_t allowed;
    ASSERT_EQ(sched_getaffinity(0, sizeof allowed, &allowed), 0);
    int cpus[2], n = 0;
    for (int c = 0; c < CPU_SETSIZE && n < 2; c++)
        if (CPU_ISSET(c, &allowed))
            cpus[n++] = c;
    char err[ERR_LEN] = "";
    ASSERT_EQ(dpud_workers_start(d, cpus, (unsigned)n, err, sizeof err), 0);

    dpud_pause(d);
    for (int i = 0; i < 4; i++)
        ASSERT_GE(dpud_worker_attach(d, (uint16_t)p[i], -1), 0);
    if (n == 2)
        ASSERT_TRUE(d->workers[0].n_ports == 2 && d->workers[1].n_ports == 2);
    /* Learn every MAC (broadcasts: each reaches the other three ports). */
    inject(d, p[0], mac_bcast, MA);
    inject(d, p[1], mac_bcast, MB);
    inject(d, p[2], mac_bcast, MC);
    inject(d, p[3], mac_bcast, MD);
    dpud_resume(d);
    /* Every port gets the other three's: waiting for one port's is not
     * enough (another worker may still hold a broadcast for the rest, which
     * then lands in the test's first round). */
    for (int i = 0; i < 4; i++)
        ASSERT_TRUE(wait_tx(d, p[i], 3));
    dpud_pause(d);
    for (int i = 0; i < 4; i++)
        drain(d, p[i]);
    dpud_resume(d);
    *dp = d;
}

static void
teardown(struct dpud *d)
{
    dpud_workers_stop(d);
    sw_destroy(d->sw);
    free(d);
}

static void
workers_switch_what_they_are_given(void)
{
    int p[4];
    struct dpud *d = NULL;
    setup(&d, p);
    if (!d)
        return;

    /* Rounds of known unicast, injected while paused; the control thread
     * also reads the switch and changes its ageing time between them. */
    unsigned total = 0;
    for (int round = 0; round < 500; round++) {
        dpud_pause(d);
        for (int k = 0; k < 8; k++) {
            inject(d, p[0], MB, MA);
            inject(d, p[2], MD, MC);
        }
        fdb_set_age(sw_fdb(d->sw), 300000 + (uint64_t)round);
        struct sw_cache_stats cs;
        sw_cache_stats(d->sw, &cs);
        dpud_resume(d);
        total += 8;
        ASSERT_TRUE(wait_tx(d, p[1], 8));
        ASSERT_TRUE(wait_tx(d, p[3], 8));
        dpud_pause(d);
        ASSERT_EQ(port_mem_n_tx(io(d, p[0])), 0); /* never back out, never flooded */
        ASSERT_EQ(port_mem_n_tx(io(d, p[2])), 0);
        drain(d, p[1]);
        drain(d, p[3]);
        dpud_resume(d);
    }
    dpud_pause(d);
    struct sw_cache_stats cs;
    sw_cache_stats(d->sw, &cs);
    ASSERT_EQ(cs.hits + cs.misses, 2 * total); /* every frame once */
    ASSERT_TRUE(cs.hits > cs.misses);
    uint64_t switched = 0;
    for (unsigned i = 0; i < d->n_workers; i++)
        switched += atomic_load(&d->workers[i].packets);
    ASSERT_EQ(switched, 2 * total + 4);
    dpud_resume(d);
    teardown(d);
}

/* a <- b, a <- d, b <- a, b <- c: both workers transmit to a and to b in the
 * same moments (each holds the port's lock for its burst). */
static void
workers_share_output_ports(void)
{
    int p[4];
    struct dpud *d = NULL;
    setup(&d, p);
    if (!d)
        return;
    enum { ROUNDS = 400, PER = 16 };
    for (int round = 0; round < ROUNDS; round++) {
        dpud_pause(d);
        for (int k = 0; k < PER; k++) {
            inject(d, p[1], MA, MB);
            inject(d, p[3], MA, MD);
            inject(d, p[0], MB, MA);
            inject(d, p[2], MB, MC);
        }
        dpud_resume(d);
        ASSERT_TRUE(wait_tx(d, p[0], 2 * PER));
        ASSERT_TRUE(wait_tx(d, p[1], 2 * PER));
        dpud_pause(d);
        ASSERT_EQ(port_mem_n_tx(io(d, p[2])) + port_mem_n_tx(io(d, p[3])), 0);
        drain(d, p[0]);
        drain(d, p[1]);
        dpud_resume(d);
    }
    dpud_pause(d);
    for (int i = 0; i < 2; i++) {
        struct sw_port_stats st;
        sw_port_stats(d->sw, (unsigned)p[i], &st);
        ASSERT_EQ(st.tx_packets, 2 * ROUNDS * PER + 3); /* + the learning broadcasts */
        ASSERT_EQ(st.drops[DROP_TX_ERROR], 0);
    }
    for (int i = 0; i < 4; i++)
        ASSERT_EQ(port_mem_overlaps(io(d, p[i])), 0);
    dpud_resume(d);
    teardown(d);
}

TEST_MAIN(TEST(workers_switch_what_they_are_given), TEST(workers_share_output_ports))
