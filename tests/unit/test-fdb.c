/* SPDX-License-Identifier: Apache-2.0 */
#include <pthread.h>
#include <string.h>

#include "tests/unit/check.h"
#include "dataplane/fdb.h"
#include "tests/unit/frames.h"

static const uint8_t *A = MAC(0x02, 0, 0, 0, 0, 0xa);
static const uint8_t *B = MAC(0x02, 0, 0, 0, 0, 0xb);

static void
fdb_learns_source_mac(void)
{
    struct fdb *f = fdb_create(16, 1000);
    uint16_t port;
    ASSERT_FALSE(fdb_lookup(f, 10, A, 0, &port));
    ASSERT_EQ(fdb_learn(f, 10, A, 3, 0, NULL), FDB_NEW);
    ASSERT_TRUE(fdb_lookup(f, 10, A, 1, &port));
    ASSERT_EQ(port, 3);
    ASSERT_FALSE(fdb_lookup(f, 20, A, 1, &port)); /* other VLAN */
    ASSERT_EQ(fdb_learn(f, 10, A, 3, 5, NULL), FDB_REFRESHED);
    fdb_destroy(f);
}

static void
fdb_reports_mac_move(void)
{
    struct fdb *f = fdb_create(16, 1000);
    uint16_t port, old = 0;
    fdb_learn(f, 10, A, 3, 0, NULL);
    ASSERT_EQ(fdb_learn(f, 10, A, 7, 10, &old), FDB_MOVED);
    ASSERT_EQ(old, 3);
    ASSERT_TRUE(fdb_lookup(f, 10, A, 10, &port));
    ASSERT_EQ(port, 7);
    struct fdb_stats s;
    fdb_get_stats(f, &s);
    ASSERT_EQ(s.n_moved, 1);
    fdb_destroy(f);
}

static void
fdb_ages_entries_on_injected_clock(void)
{
    struct fdb *f = fdb_create(16, 1000);
    uint16_t port;
    fdb_learn(f, 10, A, 3, 0, NULL);
    fdb_learn(f, 10, B, 4, 600, NULL);
    ASSERT_TRUE(fdb_lookup(f, 10, A, 999, &port));
    ASSERT_FALSE(fdb_lookup(f, 10, A, 1000, &port)); /* expired, even before sweep */
    ASSERT_EQ(fdb_age(f, 1000), 1);
    ASSERT_TRUE(fdb_lookup(f, 10, B, 1000, &port));
    ASSERT_EQ(fdb_age(f, 1600), 1);
    struct fdb_stats s;
    fdb_get_stats(f, &s);
    ASSERT_EQ(s.n_entries, 0);
    ASSERT_EQ(s.n_aged, 2);
    fdb_destroy(f);
}

static void
fdb_refresh_postpones_ageing(void)
{
    struct fdb *f = fdb_create(16, 1000);
    uint16_t port;
    fdb_learn(f, 1, A, 3, 0, NULL);
    fdb_learn(f, 1, A, 3, 900, NULL);
    ASSERT_EQ(fdb_age(f, 1500), 0);
    ASSERT_TRUE(fdb_lookup(f, 1, A, 1500, &port));
    fdb_destroy(f);
}

static void
fdb_static_entries_never_age_or_move(void)
{
    struct fdb *f = fdb_create(16, 10);
    uint16_t port;
    ASSERT_EQ(fdb_add_static(f, 1, A, 2), 0);
    ASSERT_EQ(fdb_learn(f, 1, A, 5, 100, NULL), FDB_STATIC);
    ASSERT_EQ(fdb_age(f, 100000), 0);
    ASSERT_TRUE(fdb_lookup(f, 1, A, 100000, &port));
    ASSERT_EQ(port, 2);
    ASSERT_EQ(fdb_flush(f, FDB_ALL_PORTS), 0);
    ASSERT_EQ(fdb_del(f, 1, A), 0);
    ASSERT_EQ(fdb_del(f, 1, A), -ENOENT);
    fdb_destroy(f);
}

static void
fdb_full_table_refuses_new_macs(void)
{
    struct fdb *f = fdb_create(4, 1000);
    uint8_t mac[6] = {2, 0, 0, 0, 0, 0};
    for (int i = 0; i < 4; i++) {
        mac[5] = (uint8_t)i;
        ASSERT_EQ(fdb_learn(f, 1, mac, 1, 0, NULL), FDB_NEW);
    }
    mac[5] = 9;
    ASSERT_EQ(fdb_learn(f, 1, mac, 1, 0, NULL), FDB_FULL);
    mac[5] = 0;
    ASSERT_EQ(fdb_del(f, 1, mac), 0);
    mac[5] = 9;
    ASSERT_EQ(fdb_learn(f, 1, mac, 1, 0, NULL), FDB_NEW);
    fdb_destroy(f);
}

static void
fdb_flush_port_keeps_others(void)
{
    struct fdb *f = fdb_create(16, 1000);
    uint16_t port;
    fdb_learn(f, 1, A, 1, 0, NULL);
    fdb_learn(f, 1, B, 2, 0, NULL);
    ASSERT_EQ(fdb_flush(f, 1), 1);
    ASSERT_FALSE(fdb_lookup(f, 1, A, 0, &port));
    ASSERT_TRUE(fdb_lookup(f, 1, B, 0, &port));
    fdb_destroy(f);
}

static int n_seen;
static void
count_entry(const struct fdb_entry_info *e, void *aux)
{
    n_seen++;
    *(uint64_t *)aux += e->age_ms;
}

static void
fdb_foreach_skips_expired(void)
{
    struct fdb *f = fdb_create(16, 1000);
    fdb_learn(f, 1, A, 1, 0, NULL);
    fdb_learn(f, 1, B, 2, 500, NULL);
    uint64_t ages = 0;
    n_seen = 0;
    fdb_foreach(f, 1200, count_entry, &ages);
    ASSERT_EQ(n_seen, 1);
    ASSERT_EQ(ages, 700);
    fdb_destroy(f);
}

/* Learners and readers at once, as dpud's workers are: two threads learn the
 * same MACs (on their own ports, so they also move them back and forth) and
 * their own MACs, a third looks them up.  No MAC may end up twice in the table
 * and none may be lost. */
#define RACE_MACS 20000
struct racer {
    struct fdb *f;
    uint16_t port;
    bool reader;
    _Atomic bool *stop;
    pthread_barrier_t *start;
    unsigned found;
};

static void
race_mac(uint8_t mac[6], unsigned i, uint8_t owner)
{
    uint8_t m[6] = {0x02, owner, 0, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i};
    memcpy(mac, m, 6);
}

static void *
racer_main(void *arg)
{
    struct racer *r = arg;
    uint8_t mac[6];
    uint16_t port;
    pthread_barrier_wait(r->start);
    if (r->reader) {
        while (!*r->stop)
            for (unsigned i = 0; i < RACE_MACS; i++) {
                race_mac(mac, i, 0);
                r->found += fdb_lookup(r->f, 10, mac, 1, &port);
            }
        return NULL;
    }
    for (unsigned i = 0; i < RACE_MACS; i++) {
        race_mac(mac, i, 0); /* shared */
        fdb_learn(r->f, 10, mac, r->port, 1, NULL);
        race_mac(mac, i, (uint8_t)r->port); /* its own */
        fdb_learn(r->f, 10, mac, r->port, 1, NULL);
    }
    return NULL;
}

static void
fdb_learners_and_readers_run_at_once(void)
{
    struct fdb *f = fdb_create(4 * RACE_MACS, 1000000);
    _Atomic bool stop = false;
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, 3);
    struct racer r[3] = {{.f = f, .port = 1, .stop = &stop, .start = &start},
                         {.f = f, .port = 2, .stop = &stop, .start = &start},
                         {.f = f, .reader = true, .stop = &stop, .start = &start}};
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        ASSERT_EQ(pthread_create(&t[i], NULL, racer_main, &r[i]), 0);
    pthread_join(t[0], NULL);
    pthread_join(t[1], NULL);
    stop = true;
    pthread_join(t[2], NULL);
    pthread_barrier_destroy(&start);

    struct fdb_stats s;
    fdb_get_stats(f, &s);
    ASSERT_EQ(s.n_entries, 3 * RACE_MACS); /* shared ones once, each one's own */
    ASSERT_EQ(s.n_learned, 3 * RACE_MACS);
    n_seen = 0;
    uint64_t ages = 0;
    fdb_foreach(f, 1, count_entry, &ages);
    ASSERT_EQ(n_seen, 3 * RACE_MACS);
    uint8_t mac[6];
    uint16_t port;
    for (unsigned i = 0; i < RACE_MACS; i++) {
        race_mac(mac, i, 0);
        ASSERT_TRUE(fdb_lookup(f, 10, mac, 1, &port) && (port == 1 || port == 2));
        for (uint16_t o = 1; o <= 2; o++) {
            race_mac(mac, i, (uint8_t)o);
            ASSERT_TRUE(fdb_lookup(f, 10, mac, 1, &port) && port == o);
        }
    }
    fdb_destroy(f);
}

TEST_MAIN(TEST(fdb_learns_source_mac), TEST(fdb_reports_mac_move),
          TEST(fdb_ages_entries_on_injected_clock), TEST(fdb_refresh_postpones_ageing),
          TEST(fdb_static_entries_never_age_or_move), TEST(fdb_full_table_refuses_new_macs),
          TEST(fdb_flush_port_keeps_others), TEST(fdb_foreach_skips_expired),
          TEST(fdb_learners_and_readers_run_at_once))
