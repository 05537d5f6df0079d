/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sources-private: the parsers behind sources.h, text in and figures out,
 * without the files they come from, so that a fuzzer can feed them what a
 * kernel (or a fake tree) might hold (tests/fuzz/fuzz-sources.c).  Functions
 * that take 'char *text' cut it up (strtok) and leave it changed.
 *
 * Thread-safety: reentrant.
 */
#ifndef DSE_MONITOR_SOURCES_PRIVATE_H
#define DSE_MONITOR_SOURCES_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "monitor/sources.h"

/* From /proc/self/cgroup ('cgroup') and /proc/self/mountinfo ('mountinfo'):
 * the directory of the process's cgroup for controller 'ctrl' ("cpuacct",
 * "memory", "cpuset"; "" for the v2 hierarchy), mount point and path, into
 * 'dir'.  False when the process sits in the hierarchy's root, or either
 * text says nothing about it. */
bool mon_cgroup_dir_parse(char *cgroup, char *mountinfo, const char *ctrl, char *dir, size_t len);

/* A CPU list ("0-3,6", as cpuset.effective_cpus or cpu/online hold it, up to
 * its first newline) into r->cpus and r->n_cpus.  Returns 0 or -EINVAL. */
int mon_cpus_parse(char *text, struct mon_cpu_reading *r);

/* Busy time of r's CPUs from cgroup v1 cpuacct.usage_percpu (ns per possible
 * CPU, in CPU order; a CPU past the list counts 0).  Can't fail. */
void mon_cpuacct_parse(const char *text, struct mon_cpu_reading *r);

/* Total busy time from cgroup v2 cpu.stat ("usage_usec N").  Returns 0 or
 * -EINVAL without that line. */
int mon_cpu_stat_parse(const char *text, struct mon_cpu_reading *r);

/* Busy time of r's CPUs from /proc/stat ("cpuN user nice system idle ...",
 * in ticks of 'hz' a second; other lines skipped).  Can't fail. */
void mon_proc_stat_parse(char *text, uint64_t hz, struct mon_cpu_reading *r);

/* Total and used bytes from /proc/meminfo (MemTotal - MemAvailable; 0 for
 * what is missing).  Can't fail. */
void mon_meminfo_parse(const char *text, uint64_t *total, uint64_t *used);

#define MON_SENSOR_NAME_MAX 32

/* If 'file' is the input file of a sensor of a known kind ("temp1_input"),
 * its sensor's name ("temp1") into 'sensor' and its kind.  Else false. */
bool mon_sensor_of(const char *file, char sensor[MON_SENSOR_NAME_MAX], enum mon_sensor_kind *kind);

/* What a sensor's files hold, NUL-terminated, or NULL when unreadable. */
struct mon_sensor_files {
    char *input; /* tempN_input: millidegrees; powerN_input: microwatts; fan: RPM */
    char *fault; /* non-zero: unhealthy */
    char *alarm; /* non-zero: unhealthy */
    char *label; /* up to its first newline */
};

/* Sensor 'sensor' of 'kind' on 'chip' ("" or "hwmonN") from its files into
 * 's'.  Can't fail: an unreadable input is value 0, unhealthy. */
void mon_sensor_fill(struct mon_sensor *s, const char *chip, const char *sensor,
                     enum mon_sensor_kind kind, const struct mon_sensor_files *f);

#endif
