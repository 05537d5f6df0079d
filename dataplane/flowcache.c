/* SPDX-License-Identifier: Apache-2.0 */
/* flowcache: the per-context cache of forwarding decisions (see flowcache.h). */
#include "dataplane/flowcache.h"

#include <string.h>

#include "dataplane/switch-private.h"

void
flowcache_insert(struct flowcache *fc, uint32_t gen, const struct sw_flow *f, uint16_t pg,
                 uint16_t lport, enum sw_soft_reason why, uint64_t now_ms)
{
    uint8_t macs[12];
    memcpy(macs, f->dst, 6);
    memcpy(macs + 6, f->src, 6);
    struct flowcache_entry *e = &fc->entries[flowcache_hash(f->in_port, f->tag, macs)];
    memcpy(e->macs, macs, 12);
    e->in_port = f->in_port;
    e->tag = f->tag;
    e->gen = gen;
    e->out_port = f->out_port;
    e->push_vid = f->push_vid;
    e->max_len = f->max_len;
    e->lport = lport;
    e->pg = pg;
    e->why = (uint8_t)why;
    e->refreshed_ms = now_ms;
}

void
sw_cache_stats(const struct sw *sw, struct sw_cache_stats *out)
{
    memset(out, 0, sizeof *out);
    for (const struct sw_ctx *x = sw->ctxs; x; x = x->next) {
        out->hits += x->cache.hits;
        out->misses += x->cache.misses;
    }
    out->generation = gen_now(sw);
}
