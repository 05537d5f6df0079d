/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dfwstats: the firewall's counters of every host as the manager last
 * collected them (the reconciler asks each hostd at its full visits:
 * dfw.stats), in memory as the fleet's figures are (fleet.h): counters are
 * not desired state, and are collected again after a restart.  Served
 * summed per rule over the fleet, or over one host's DPUs, at
 * GET /api/v1/dfw/stats[?host=H].
 *
 *   hostd's dfw.stats: {"dpus": {DPU: {"rules": [{"name", "packets", "bytes",
 *                       "sessions"}], "conns", "conn_max", "drops": {REASON: N}}}}
 *   served:            {"hosts": N, "dpus": N, "rules": [{"name", "packets",
 *                       "bytes", "sessions"}] (by name), "conns", "conn_max",
 *                       "drops": {REASON: N}}, and for one host "host", "at_ms"
 *
 * What a host reports is checked, not trusted: an entry that is not of the
 * shape above is left out, a count that is not a non-negative integer
 * counts 0, sums stop at INT64_MAX.  A host's record replaces its last one.
 *
 * Thread-safety: every function takes the object's lock; any thread.
 */
#ifndef DSE_MANAGER_DFWSTATS_H
#define DSE_MANAGER_DFWSTATS_H

#include <jansson.h>
#include <stdint.h>

#define DFWSTATS_RULES_MAX 65536 /* of a DPU (docs/dfw.md), the rest left out */

struct dfw_stats;

struct dfw_stats *dfw_stats_create(void);   /* NULL on ENOMEM */
void dfw_stats_destroy(struct dfw_stats *); /* accepts NULL */

/* Records what host 'host' answered to dfw.stats ('reply', borrowed) at
 * 'now_ms'.  Can't fail (out of memory: the record is lost). */
void dfw_stats_record(struct dfw_stats *, const char *host, json_t *reply, uint64_t now_ms);

/* Forgets host 'host' (removed from the inventory).  Can't fail. */
void dfw_stats_forget(struct dfw_stats *, const char *host);

/* The counters summed over the fleet ('host' NULL) or over host 'host''s
 * DPUs (NULL when nothing was collected of it), as served above.  The
 * caller's; NULL on ENOMEM too. */
json_t *dfw_stats_json(struct dfw_stats *, const char *host);

#endif
