/* SPDX-License-Identifier: Apache-2.0 */
/*
 * flowcache: the per-context exact-match cache of forwarding decisions, in
 * front of the pipeline (pipeline.h).
 *
 * The key is what a decision depends on: ingress port, tag as received,
 * source and destination; the entry is the decision sw_decide() took for a
 * known unicast frame (the same one the eswitch may hold), plus where the
 * source was learned.  One entry per hash slot, a newer decision replaces
 * an older one: a miss costs the pipeline, never a wrong frame.
 *
 * Design: an entry is valid while the switch's generation number is the one
 * it was made under; every change that may alter a decision (portgroups,
 * ports, carrier, failover, a MAC that moves, is removed or ages out) bumps
 * the generation, so no entry outlives what it was derived from and nothing
 * ever walks the cache to invalidate it.  Priority-tagged frames (tag 0) are
 * never cached.  Hits refresh the source MAC's age every eighth of the ageing
 * time (at most once a second: flowcache_refresh_due()), so a MAC seen only on
 * the cached path never ages out while it talks.
 *
 * Thread-safety: a cache belongs to one pipeline context (struct sw_ctx) and
 * only that context's thread touches it; sw_cache_stats() reads every
 * context's and needs the switch to itself, as any read of counters does.
 * Lookups and inserts do not allocate.
 */
#ifndef DSE_FLOWCACHE_H
#define DSE_FLOWCACHE_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "dataplane/pipeline.h"

#define SW_FLOW_CACHE_SIZE 8192 /* entries, a power of two */

/* A cached forwarding decision. */
struct flowcache_entry {
    uint8_t macs[12]; /* dst, src: the key, with in_port and tag */
    uint16_t in_port, tag;
    uint32_t gen;          /* valid while equal to the switch's */
    uint16_t out_port;     /* a port id (the active uplink, for the team) */
    uint16_t push_vid;     /* SW_NO_PUSH or the portgroup's VLAN */
    uint32_t max_len;      /* longer frames take the long way (MTU policing) */
    uint16_t lport, pg;    /* where the source is learned, for refreshing it */
    uint8_t why;           /* enum sw_soft_reason recorded for its frames */
    uint64_t refreshed_ms; /* last time the source MAC's age was refreshed */
};

struct flowcache {
    uint64_t hits, misses; /* misses: known unicast frames decided the long way */
    struct flowcache_entry entries[SW_FLOW_CACHE_SIZE];
};

static inline uint32_t
flowcache_hash(uint16_t in_port, uint16_t tag, const uint8_t *macs)
{
    uint64_t a;
    uint32_t b;
    memcpy(&a, macs, 8);
    memcpy(&b, macs + 8, 4);
    uint64_t x = a * 0x9e3779b97f4a7c15ull;
    uint64_t y = ((uint64_t)b << 32 | (uint32_t)in_port << 16 | tag) * 0xc2b2ae3d27d4eb4full;
    return (uint32_t)((x ^ y) >> 32) & (SW_FLOW_CACHE_SIZE - 1);
}

/* The valid entry of generation 'gen' for a frame of 'len' bytes from
 * 'in_port' with tag 'tag' and addresses 'macs' (destination then source,
 * as in the frame), counted as a hit; or NULL: the frame takes the long way. */
static inline struct flowcache_entry *
flowcache_lookup(struct flowcache *fc, uint32_t gen, uint16_t in_port, uint16_t tag,
                 const uint8_t *macs, uint32_t len)
{
    if (tag == 0)
        return NULL; /* priority-tagged: never cached */
    struct flowcache_entry *e = &fc->entries[flowcache_hash(in_port, tag, macs)];
    if (e->gen != gen || e->in_port != in_port || e->tag != tag || memcmp(e->macs, macs, 12) ||
        len > e->max_len)
        return NULL;
    fc->hits++;
    return e;
}

/* Whether a hit on 'e' at 'now_ms' should refresh its source's age in a MAC
 * table that ages after 'age_ms'; if so, it is taken as done. */
static inline bool
flowcache_refresh_due(struct flowcache_entry *e, uint64_t age_ms, uint64_t now_ms)
{
    uint64_t every = age_ms / 8; /* well within the ageing time */
    if (now_ms - e->refreshed_ms < (every < 1000 ? every : 1000))
        return false;
    e->refreshed_ms = now_ms;
    return true;
}

/* Caches decision 'f' (generation 'gen'; source learned on logical port
 * 'lport' of portgroup index 'pg'; its frames recorded as 'why').  Can't
 * fail: it replaces whatever held the slot. */
void flowcache_insert(struct flowcache *, uint32_t gen, const struct sw_flow *f, uint16_t pg,
                      uint16_t lport, enum sw_soft_reason why, uint64_t now_ms);

struct sw_cache_stats {
    uint64_t hits, misses; /* misses: known unicast frames decided the long way */
    uint32_t generation;
};
/* The sum over every context, and the switch's generation. */
void sw_cache_stats(const struct sw *, struct sw_cache_stats *);

#endif
