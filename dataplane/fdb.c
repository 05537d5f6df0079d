/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fdb: chained hash table over a fixed entry pool, with ageing by timestamp.
 *
 * Readers walk the chains without a lock: a new entry is filled in before a
 * release store links it at the head of its chain, and the fields that change
 * in a live entry (port, seen_ms) are single atomic words.  Writers that link
 * or change an entry take 'mu'; removals need the table to themselves (see
 * fdb.h), so an entry is never reused under a reader's feet.
 */
#include "dataplane/fdb.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

#define LOAD(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define LOAD_ACQ(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define STORE_REL(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)

#define FDB_NIL UINT32_MAX

struct fdb_entry {
    uint32_t next; /* next in bucket chain, or in the free list */
    uint16_t vid;
    uint16_t port;
    uint8_t mac[6];
    bool is_static;
    bool in_use;
    uint64_t seen_ms;
};

struct fdb {
    struct fdb_entry *entries;
    uint32_t *buckets;
    uint32_t n_buckets; /* power of two */
    uint32_t capacity;
    uint32_t free_head;
    uint64_t age_ms;
    pthread_mutex_t mu; /* learners that link or change an entry */
    struct fdb_stats stats;
};

static uint32_t
fdb_hash(uint16_t vid, const uint8_t mac[6])
{
    /* over vid (low byte first) and mac: cheap, and good enough for MACs */
    uint8_t v[2] = {(uint8_t)(vid & 0xff), (uint8_t)(vid >> 8)};
    return hash_fnv1a(mac, 6, hash_fnv1a(v, 2, HASH_FNV1A_SEED));
}

struct fdb *
fdb_create(size_t capacity, uint64_t age_ms)
{
    if (capacity == 0 || capacity >= FDB_NIL / 2)
        return NULL;
    struct fdb *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    uint32_t nb = 16;
    while (nb < capacity * 2)
        nb <<= 1;
    f->entries = calloc(capacity, sizeof *f->entries);
    f->buckets = malloc(nb * sizeof *f->buckets);
    if (!f->entries || !f->buckets) {
        fdb_destroy(f);
        return NULL;
    }
    pthread_mutex_init(&f->mu, NULL);
    f->n_buckets = nb;
    f->capacity = (uint32_t)capacity;
    f->age_ms = age_ms;
    for (uint32_t i = 0; i < nb; i++)
        f->buckets[i] = FDB_NIL;
    for (uint32_t i = 0; i < f->capacity; i++)
        f->entries[i].next = i + 1 < f->capacity ? i + 1 : FDB_NIL;
    f->free_head = 0;
    return f;
}

void
fdb_destroy(struct fdb *f)
{
    if (!f)
        return;
    pthread_mutex_destroy(&f->mu);
    free(f->entries);
    free(f->buckets);
    free(f);
}

void
fdb_set_age(struct fdb *f, uint64_t age_ms)
{
    f->age_ms = age_ms;
}

uint64_t
fdb_get_age(const struct fdb *f)
{
    return f->age_ms;
}

static bool
entry_expired(const struct fdb *f, const struct fdb_entry *e, uint64_t now_ms)
{
    return !e->is_static && now_ms - LOAD(&e->seen_ms) >= f->age_ms;
}

/* Returns the index of (vid, mac) and sets '*prev' to its predecessor in the
 * chain (FDB_NIL if first), or FDB_NIL. */
static uint32_t
fdb_find(const struct fdb *f, uint16_t vid, const uint8_t mac[6], uint32_t *bucket, uint32_t *prev)
{
    *bucket = fdb_hash(vid, mac) & (f->n_buckets - 1);
    *prev = FDB_NIL;
    for (uint32_t i = LOAD_ACQ(&f->buckets[*bucket]); i != FDB_NIL;
         i = LOAD_ACQ(&f->entries[i].next)) {
        const struct fdb_entry *e = &f->entries[i];
        if (e->vid == vid && !memcmp(e->mac, mac, 6))
            return i;
        *prev = i;
    }
    return FDB_NIL;
}

static void
fdb_unlink(struct fdb *f, uint32_t bucket, uint32_t prev, uint32_t i)
{
    struct fdb_entry *e = &f->entries[i];
    if (prev == FDB_NIL)
        f->buckets[bucket] = e->next;
    else
        f->entries[prev].next = e->next;
    e->in_use = false;
    e->next = f->free_head;
    f->free_head = i;
    f->stats.n_entries--;
}

static int
fdb_insert(struct fdb *f, uint32_t bucket, uint16_t vid, const uint8_t mac[6], uint16_t port,
           bool is_static, uint64_t now_ms)
{
    if (f->free_head == FDB_NIL)
        return -ENOSPC;
    uint32_t i = f->free_head;
    struct fdb_entry *e = &f->entries[i];
    f->free_head = e->next;
    e->vid = vid;
    memcpy(e->mac, mac, 6);
    e->port = port;
    e->is_static = is_static;
    e->in_use = true;
    e->seen_ms = now_ms;
    e->next = f->buckets[bucket];
    STORE_REL(&f->buckets[bucket], i); /* readers see it whole */
    f->stats.n_entries++;
    return 0;
}

/* The learner's slow case: a new MAC, a move, an expired entry.  Called with
 * 'mu' held, so the lookup is repeated: another learner may have got there. */
static enum fdb_learn_result
learn_locked(struct fdb *f, uint16_t vid, const uint8_t mac[6], uint16_t port, uint64_t now_ms,
             uint16_t *old_port)
{
    uint32_t bucket, prev;
    uint32_t i = fdb_find(f, vid, mac, &bucket, &prev);
    if (i != FDB_NIL) {
        struct fdb_entry *e = &f->entries[i];
        if (e->is_static)
            return FDB_STATIC;
        if (entry_expired(f, e, now_ms)) {
            /* An aged-out entry that fdb_age() has not swept yet: relearn. */
            STORE(&e->port, port);
            STORE(&e->seen_ms, now_ms);
            f->stats.n_learned++;
            return FDB_NEW;
        }
        STORE(&e->seen_ms, now_ms);
        if (e->port == port)
            return FDB_REFRESHED;
        uint16_t was = e->port;
        STORE(&e->port, port);
        if (old_port)
            *old_port = was;
        f->stats.n_moved++;
        return FDB_MOVED;
    }
    if (fdb_insert(f, bucket, vid, mac, port, false, now_ms) < 0) {
        f->stats.n_full++;
        return FDB_FULL;
    }
    f->stats.n_learned++;
    return FDB_NEW;
}

enum fdb_learn_result
fdb_learn(struct fdb *f, uint16_t vid, const uint8_t mac[static 6], uint16_t port, uint64_t now_ms,
          uint16_t *old_port)
{
    /* The common case, a known MAC where it was, takes no lock. */
    uint32_t bucket, prev;
    uint32_t i = fdb_find(f, vid, mac, &bucket, &prev);
    if (i != FDB_NIL) {
        struct fdb_entry *e = &f->entries[i];
        if (e->is_static)
            return FDB_STATIC;
        if (LOAD(&e->port) == port && !entry_expired(f, e, now_ms)) {
            STORE(&e->seen_ms, now_ms);
            return FDB_REFRESHED;
        }
    }
    pthread_mutex_lock(&f->mu);
    enum fdb_learn_result r = learn_locked(f, vid, mac, port, now_ms, old_port);
    pthread_mutex_unlock(&f->mu);
    return r;
}

bool
fdb_lookup(const struct fdb *f, uint16_t vid, const uint8_t mac[static 6], uint64_t now_ms,
           uint16_t *port)
{
    uint32_t bucket, prev;
    uint32_t i = fdb_find(f, vid, mac, &bucket, &prev);
    if (i == FDB_NIL || entry_expired(f, &f->entries[i], now_ms))
        return false;
    *port = LOAD(&f->entries[i].port);
    return true;
}

int
fdb_add_static(struct fdb *f, uint16_t vid, const uint8_t mac[static 6], uint16_t port)
{
    uint32_t bucket, prev;
    uint32_t i = fdb_find(f, vid, mac, &bucket, &prev);
    if (i != FDB_NIL) {
        f->entries[i].port = port;
        f->entries[i].is_static = true;
        return 0;
    }
    return fdb_insert(f, bucket, vid, mac, port, true, 0);
}

int
fdb_del(struct fdb *f, uint16_t vid, const uint8_t mac[static 6])
{
    uint32_t bucket, prev;
    uint32_t i = fdb_find(f, vid, mac, &bucket, &prev);
    if (i == FDB_NIL)
        return -ENOENT;
    fdb_unlink(f, bucket, prev, i);
    return 0;
}

/* Removes every entry for which 'doomed' says so.  Returns how many. */
static size_t
fdb_sweep(struct fdb *f, bool (*doomed)(const struct fdb *, const struct fdb_entry *, uint64_t),
          uint64_t arg)
{
    size_t n = 0;
    for (uint32_t b = 0; b < f->n_buckets; b++) {
        uint32_t prev = FDB_NIL, i = f->buckets[b];
        while (i != FDB_NIL) {
            uint32_t next = f->entries[i].next;
            if (doomed(f, &f->entries[i], arg)) {
                fdb_unlink(f, b, prev, i);
                n++;
            } else {
                prev = i;
            }
            i = next;
        }
    }
    return n;
}

static bool
doomed_by_age(const struct fdb *f, const struct fdb_entry *e, uint64_t now_ms)
{
    return entry_expired(f, e, now_ms);
}

static bool
doomed_by_port(const struct fdb *f, const struct fdb_entry *e, uint64_t port)
{
    return !e->is_static && (port == FDB_ALL_PORTS || e->port == port);
}

size_t
fdb_age(struct fdb *f, uint64_t now_ms)
{
    size_t n = fdb_sweep(f, doomed_by_age, now_ms);
    f->stats.n_aged += n;
    return n;
}

size_t
fdb_flush(struct fdb *f, uint16_t port)
{
    return fdb_sweep(f, doomed_by_port, port);
}

void
fdb_foreach(const struct fdb *f, uint64_t now_ms,
            void (*cb)(const struct fdb_entry_info *, void *aux), void *aux)
{
    for (uint32_t i = 0; i < f->capacity; i++) {
        const struct fdb_entry *e = &f->entries[i];
        if (!e->in_use || entry_expired(f, e, now_ms))
            continue;
        struct fdb_entry_info info = {
            .vid = e->vid,
            .port = e->port,
            .is_static = e->is_static,
            .age_ms = e->is_static ? 0 : now_ms - e->seen_ms,
        };
        memcpy(info.mac, e->mac, 6);
        cb(&info, aux);
    }
}

void
fdb_get_stats(const struct fdb *f, struct fdb_stats *s)
{
    *s = f->stats;
}
