/* SPDX-License-Identifier: Apache-2.0 */
/*
 * metrics: a device's figures at one instant, as a flat list of named,
 * labelled values (the Prometheus data model), and what is done with them:
 * sent from dpud to hostd as JSON, written as Prometheus text exposition,
 * fed to the alarm engine, kept in the history.
 *
 *   {"seq": 17, "time_ms": 1733462118123, "interval_s": 20,
 *    "metrics": [["dse_dpu_cpu_usage_ratio", {}, 0.05],
 *                ["dse_dpu_port_rx_packets_total", {"port": "vmnic0", "kind": "uplink"}, 1234],
 *                ...]}
 *
 * Names are [a-z_:][a-z0-9_:]* (at most METRIC_NAME_MAX - 1 bytes); label
 * keys [a-z_][a-z0-9_]*; label values any printable text without control
 * characters; at most METRIC_MAX_LABELS labels.  Every name dse writes is
 * in one table (metrics.c) with its type and help text; the Prometheus
 * writer takes both from there (a name not in it is an untyped gauge).
 *
 * A metric's object (for alarms) is its device's name, then "/" and the
 * value of its first label when it has one: "dpu1", "dpu1/vmnic0",
 * "dpu1/temp1".  Samplers put the identifying label first for that reason.
 *
 * Thread-safety: a set is used by one thread at a time.
 */
#ifndef DSE_MONITOR_METRICS_H
#define DSE_MONITOR_METRICS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define METRIC_NAME_MAX 64
#define METRIC_MAX_LABELS 3
#define METRIC_LABEL_KEY_MAX 16
#define METRIC_LABEL_VALUE_MAX 48
#define METRIC_SET_MAX 4096 /* metrics in one set */

struct metric {
    char name[METRIC_NAME_MAX];
    unsigned n_labels;
    char keys[METRIC_MAX_LABELS][METRIC_LABEL_KEY_MAX];
    char values[METRIC_MAX_LABELS][METRIC_LABEL_VALUE_MAX];
    double value;
};

struct metric_set {
    uint64_t seq;        /* numbered by the producer, from 1 */
    uint64_t time_ms;    /* wall clock (ms since the epoch) */
    unsigned interval_s; /* the producer's collection interval */
    struct metric *m;
    size_t n, cap;
};

/* An empty set.  This function can't fail. */
void metric_set_init(struct metric_set *);
/* Frees the metrics; the set is empty again.  Accepts an empty set. */
void metric_set_fini(struct metric_set *);
/* Drops the metrics but keeps the memory (for the next sample). */
void metric_set_clear(struct metric_set *);

/* Adds 'name' = 'value' with the labels given as key, value pairs ending
 * with NULL: metric_set_add(s, "dse_dpu_port_up", 1, "port", "vmnic0",
 * NULL).  Returns 0, -EINVAL (a name, key or value against the rules above,
 * too many labels), -ENOSPC (METRIC_SET_MAX), -ENOMEM. */
int metric_set_add(struct metric_set *, const char *name, double value, ...)
    __attribute__((sentinel));

/* The value of metric 'name' whose first label's value is 'first' (NULL: a
 * metric without labels), or NULL. */
const struct metric *metric_set_find(const struct metric_set *, const char *name,
                                     const char *first);

/* The set as JSON (above; a new object, caller owns), or NULL on ENOMEM. */
json_t *metric_set_json(const struct metric_set *);
/* Replaces the contents of 'out' with set 'j' (borrowed), checked against
 * the rules above (it comes from another process).  Returns true, or false
 * with a one-line reason in 'err' ('err_len' bytes). */
bool metric_set_from_json(const json_t *j, struct metric_set *out, char *err, size_t err_len);

/* "dpu1/vmnic0" for metric 'm' of device 'device' (see above). */
void metric_object(const struct metric *m, const char *device, char *buf, size_t len);

/* Whether 'name' is a counter ("_total"), by the table.  Can't fail. */
bool metric_is_counter(const char *name);

/* Writes Prometheus text exposition (version 0.0.4) of every metric of the
 * 'n' sets to 'f', grouped by name, each name once with its # HELP and
 * # TYPE lines, in name order; the sets' metrics get 'extra' labels first
 * (extra[i]: "key", "value", ..., NULL-terminated; NULL for none) — e.g.
 * host="dse-h1", dpu="dpu1".  Label values are escaped (\\, \", \n).
 * Returns 0 or -errno (-ENOMEM; write errors of 'f'). */
int metric_prom_write(FILE *f, const struct metric_set *const *sets,
                      const char *const *const *extra, size_t n);

#endif
