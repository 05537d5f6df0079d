/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fleet: the figures of every host and DPU as the manager last collected
 * them (the reconciler asks each hostd every round: host.stats, dpu.stats),
 * with their history: an hour at the collection interval and a day
 * downsampled to one point in FLEET_DAY_STEP_MS (the newest of its step, so
 * that the day ends with the latest figures), in memory (figures are
 * not desired state: they are collected again after a restart).  Served as
 * GET /api/v1/hosts/H/metrics and, for the whole fleet, as one Prometheus
 * exposition (/metrics) with the hosts' metric names and host and dpu
 * labels.
 *
 *   point: {"at_ms", "host": SAMPLE, "dpus": [{"dpu", "up", "sample"?}]}
 *   SAMPLE: monitor/metrics.h's metric_set_json()
 *
 * Memory: a point keeps its values as doubles; the names (each metric's
 * name and labels) are one block a device, shared by every point and host
 * that has the same (fleet.c).  A sample against metrics.h's rules is not
 * kept.  The rings grow to what their window holds (FLEET_HOUR_POINTS,
 * FLEET_DAY_POINTS at most): an hour of 20 s rounds is 181 points.
 *
 * Thread-safety: every function takes the fleet's lock; any thread.
 */
#ifndef DSE_FLEET_H
#define DSE_FLEET_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FLEET_HOUR_POINTS 400             /* > an hour at the 10 s round */
#define FLEET_DAY_POINTS 288              /* a day ... */
#define FLEET_DAY_STEP_MS (300ull * 1000) /* ... of one point in 5 min */
#define FLEET_HOUR_MS (3600ull * 1000)

struct fleet;

struct fleet *fleet_create(void);   /* NULL on ENOMEM */
void fleet_destroy(struct fleet *); /* accepts NULL */

/* Records what host 'host' reported at 'now_ms': its sample and its DPUs
 * ([{"dpu", "up", "sample"}]); both borrowed.  Can't fail (out of memory:
 * the point is lost). */
void fleet_record(struct fleet *, const char *host, json_t *host_sample, json_t *dpus,
                  uint64_t now_ms);

/* Forgets host 'host' (removed from the inventory).  Can't fail. */
void fleet_forget(struct fleet *, const char *host);

/* {"host", "window": "hour"|"day", "points": [point...]} (oldest first) of
 * the last hour or day, or NULL when nothing was collected of the host. */
json_t *fleet_history(struct fleet *, const char *host, bool day, uint64_t now_ms);

/* The Prometheus text (0.0.4) of every host's and DPU's latest sample, with
 * host="H" and dpu="D" labels; malloc'd, its length in '*len'.  NULL on
 * ENOMEM. */
char *fleet_prometheus(struct fleet *, size_t *len);

#endif
