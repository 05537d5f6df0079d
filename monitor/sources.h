/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sources: where a device's figures come from, read the same way on a lab
 * device and on real hardware (DESIGN §4, §9).
 *
 *   CPU      the device's cgroup when it has one of its own (the lab: cgroup
 *            v1 cpuacct.usage_percpu, per core; v2 cpu.stat, total only), else
 *            /proc/stat (per core); its CPUs are its cpuset's
 *   memory   the cgroup's usage less its inactive file cache (v1
 *            memory.usage_in_bytes and memory.stat, v2 memory.current and
 *            memory.stat), else /proc/meminfo (MemTotal - MemAvailable); the
 *            total is the smallest of the cgroup's limit, the platform's
 *            memory_bytes and MemTotal
 *   sensors  an hwmon directory: /sys/class/hwmon on hardware (hwmonN/ each),
 *            in the lab the device's emulated one (its files directly, or
 *            hwmonN/ subdirectories): tempN_input (millidegrees C), powerN_input
 *            (microwatts), fanN_input (RPM), with optional *_label and a
 *            *_fault or *_alarm file that reads 1 when the sensor is unhealthy
 *   network  /proc/net/dev of the caller's network namespace
 *
 * Rates need two readings: callers keep the previous one (mon_cpu_usage()).
 *
 * Thread-safety: a 'struct mon_cpu_source' is used by one thread at a time;
 * the rest is reentrant.
 */
#ifndef DSE_MONITOR_SOURCES_H
#define DSE_MONITOR_SOURCES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MON_MAX_CPUS 256
#define MON_MAX_SENSORS 32
#define MON_MAX_NETDEVS 64

/* ---- CPU ---- */

struct mon_cpu_reading {
    uint64_t time_ns;               /* monotonic, when read */
    unsigned n_cpus;                /* the device's CPUs */
    int cpus[MON_MAX_CPUS];         /* their numbers */
    uint64_t busy_ns[MON_MAX_CPUS]; /* per CPU, cumulative; 0s without per-core data */
    uint64_t total_ns;              /* cumulative busy time over all of them */
    bool per_core;                  /* busy_ns is meaningful */
};

struct mon_cpu_source;

/* Finds where the calling process's CPU time is accounted: its own cgroup
 * (v1 cpuacct, then v2) when that is not the hierarchy's root, else
 * /proc/stat.  'root' prefixes every path ("" normally; tests point it at a
 * fake tree).  Returns 0, or -errno with a one-line reason. */
int mon_cpu_open(const char *root, struct mon_cpu_source **out, char *err, size_t err_len);
void mon_cpu_close(struct mon_cpu_source *); /* accepts NULL */
/* "cgroup-v1 /P-h1-dpu1", "cgroup-v2 /P-h1-dpu1" or "proc". */
const char *mon_cpu_describe(const struct mon_cpu_source *);
/* Takes a reading.  Returns 0 or -errno. */
int mon_cpu_read(struct mon_cpu_source *, struct mon_cpu_reading *out);

/* Usage between two readings as a ratio of the device's CPUs (0..1), and per
 * core into 'per_core' (a ratio each, 'a->n_cpus' of them; left alone
 * without per-core data).  Returns -1 when the readings cannot be compared
 * (no time between them, different CPU sets). */
double mon_cpu_usage(const struct mon_cpu_reading *a, const struct mon_cpu_reading *b,
                     double *per_core);

/* ---- memory ---- */

struct mon_mem {
    uint64_t used_bytes, total_bytes;
};

/* Memory of the calling process's cgroup (or the machine), with the total
 * capped at 'platform_total' when nonzero.  Returns 0 or -errno. */
int mon_mem_read(const char *root, uint64_t platform_total, struct mon_mem *out);

/* ---- sensors ---- */

enum mon_sensor_kind { MON_TEMP, MON_POWER, MON_FAN };

struct mon_sensor {
    char name[40];  /* "temp1", or "hwmon1/temp1" when there are several chips */
    char label[40]; /* the *_label, or the name */
    enum mon_sensor_kind kind;
    double value; /* degrees C, watts, RPM */
    bool healthy; /* readable, and no *_fault or *_alarm raised */
};

/* Reads every sensor under 'dir' (see above) into 'out' (at most 'max'),
 * sorted by name.  A sensor whose input cannot be read is reported unhealthy
 * with value 0.  Returns the count, or -errno when 'dir' cannot be read. */
int mon_sensors_read(const char *dir, struct mon_sensor *out, unsigned max);

/* "celsius", "watts", "rpm" (Prometheus units).  Can't fail. */
const char *mon_sensor_unit(enum mon_sensor_kind);

/* ---- network devices ---- */

struct mon_netdev {
    char name[32];
    uint64_t rx_bytes, rx_packets, rx_drops, tx_bytes, tx_packets, tx_drops;
};

/* Parses /proc/net/dev text ('text', NUL-terminated) into 'out' (at most
 * 'max', loopback left out).  Returns the count or -EINVAL on text that is
 * not /proc/net/dev. */
int mon_netdev_parse(const char *text, struct mon_netdev *out, unsigned max);
/* Reads ROOT/proc/net/dev.  Returns the count or -errno. */
int mon_netdev_read(const char *root, struct mon_netdev *out, unsigned max);

#endif
