/* SPDX-License-Identifier: Apache-2.0 */
/*
 * device: one device's own figures (CPU, memory, sensors and, for a host,
 * its interfaces) turned into metrics, the same code for a DPU and a host:
 * "dse_dpu_cpu_usage_ratio" or "dse_host_cpu_usage_ratio" (metrics.c has the
 * list).  The first collection of a rate has nothing to compare with: rates
 * appear from the second.
 *
 * Thread-safety: a device is sampled by one thread at a time.
 */
#ifndef DSE_MONITOR_DEVICE_H
#define DSE_MONITOR_DEVICE_H

#include <stdbool.h>
#include <stdint.h>

#include "monitor/metrics.h"
#include "monitor/sources.h"

struct mon_device {
    char kind[8];          /* "dpu" or "host" */
    char hwmon[1024];      /* sensor directory, or "" */
    uint64_t memory_total; /* the platform's, or 0 */
    bool interfaces;       /* sample the network namespace's interfaces */
    uint64_t started_ms;   /* monotonic, for uptime */
    struct mon_cpu_source *cpu;
    struct mon_cpu_reading prev_cpu;
    bool have_prev_cpu;
    struct mon_netdev prev_nd[MON_MAX_NETDEVS];
    unsigned n_prev_nd;
    uint64_t prev_nd_ns;
};

/* 'kind' "dpu" or "host"; 'hwmon' NULL or "" for no sensors.  Returns 0, or
 * -errno with a one-line reason. */
int mon_device_init(struct mon_device *, const char *kind, const char *hwmon, uint64_t memory_total,
                    bool interfaces, char *err, size_t err_len);
void mon_device_fini(struct mon_device *);

/* Appends the device's figures to 'set'.  A source that cannot be read is
 * left out (its metrics are missing; sensors that cannot be read are
 * unhealthy).  Returns 0 or -ENOMEM/-ENOSPC from the set. */
int mon_device_sample(struct mon_device *, struct metric_set *set);

/* The per-second rate of a counter that went from 'a' to 'b' in 'ns'
 * nanoseconds; 0 when it went back (a reset) or no time passed. */
double mon_rate(uint64_t a, uint64_t b, uint64_t ns);

#endif
