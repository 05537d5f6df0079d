/* SPDX-License-Identifier: Apache-2.0 */
/*
 * history: the last hour (or any span) of a device's gauges, in memory.
 *
 * One series per metric and label set ("dse_dpu_cpu_usage_ratio",
 * "dse_dpu_port_rx_bytes_per_second{port=vmnic0}"), each a ring of
 * 'capacity' points (time, value): at a 20 s interval an hour is 180 points,
 * at 1 s 3600.  Counters are not kept (their rates are gauges).  Points cost
 * 12 bytes; a series is allocated whole on first use, up to 'max_series'.
 * Series not updated for a whole ring's span are dropped (a port removed).
 *
 * Thread-safety: none; the caller serialises calls.
 */
#ifndef DSE_MONITOR_HISTORY_H
#define DSE_MONITOR_HISTORY_H

#include <jansson.h>
#include <stdint.h>

#include "monitor/metrics.h"

struct history;

/* NULL on ENOMEM.  'capacity' >= 2. */
struct history *history_create(unsigned capacity, unsigned max_series);
void history_destroy(struct history *); /* accepts NULL */

/* Changes the ring size (a new interval): every series starts afresh.
 * Returns 0 or -ENOMEM (the history is then empty but usable). */
int history_resize(struct history *, unsigned capacity);

/* Adds every gauge of 'set' at its time_ms.  Series beyond 'max_series' are
 * not kept.  Returns the number of points added. */
unsigned history_add(struct history *, const struct metric_set *set);

/* The series whose key starts with 'prefix' ("" for all), points newer than
 * 'since_ms': {"KEY": [[time_ms, value], ...], ...} oldest first, at most
 * 'max_points' per series (the newest ones; 0: all).  A new object (caller
 * owns), or NULL on ENOMEM. */
json_t *history_json(const struct history *, const char *prefix, uint64_t since_ms,
                     unsigned max_points);

/* The key of metric 'm': its name, then {k=v,...} when it has labels. */
void history_key(const struct metric *m, char *buf, size_t len);

#endif
