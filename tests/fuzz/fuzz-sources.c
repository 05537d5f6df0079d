/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz-sources: arbitrary bytes as the files a device's figures are read
 * from (monitor/sources.c), each through its parser.  The input is the
 * file's kind, NUL, then what the parser takes:
 *
 *   cgroup   /proc/self/cgroup NUL /proc/self/mountinfo NUL CONTROLLER
 *   cpus     a CPU list (cpuset.effective_cpus, cpu/online)
 *   cpuacct  CPU-LIST NUL cpuacct.usage_percpu
 *   cpustat  cpu.stat (cgroup v2)
 *   procstat CPU-LIST NUL /proc/stat
 *   meminfo  /proc/meminfo
 *   netdev   /proc/net/dev
 *   sensor   FILE-NAME NUL CHIP NUL INPUT NUL FAULT NUL ALARM NUL LABEL
 *
 * Nothing may be read or written out of bounds; figures stay within their
 * arrays and counts; names and labels are NUL-terminated and one line.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz-util.h"
#include "monitor/sources-private.h"

static void
check_cpus(const struct mon_cpu_reading *r)
{
    uint64_t sum = 0;
    if (r->n_cpus > MON_MAX_CPUS)
        abort();
    for (unsigned i = 0; i < r->n_cpus; i++) {
        if (r->cpus[i] < 0 || r->cpus[i] >= MON_MAX_CPUS)
            abort();
        sum += r->busy_ns[i];
    }
    if (r->per_core && sum != r->total_ns)
        abort();
}

/* r's CPUs from 'list' ("0" when it is no CPU list). */
static void
cpus_from(char *list, struct mon_cpu_reading *r)
{
    memset(r, 0, sizeof *r);
    if (mon_cpus_parse(list, r) < 0) {
        r->n_cpus = 1;
        r->cpus[0] = 0;
    }
    check_cpus(r);
}

static void
fuzz_cgroup(struct fuzz_pieces *in)
{
    char dir[4096];
    if (in->n < 3)
        return;
    if (mon_cgroup_dir_parse(in->p[1], in->p[2], in->n > 3 ? in->p[3] : "", dir, sizeof dir) &&
        (!dir[0] || strnlen(dir, sizeof dir) == sizeof dir))
        abort();
}

static void
fuzz_cpu(struct fuzz_pieces *in, const char *kind)
{
    struct mon_cpu_reading r;
    if (!strcmp(kind, "cpus")) {
        memset(&r, 0, sizeof r);
        if (mon_cpus_parse(in->p[1], &r) == 0 && !r.n_cpus)
            abort();
    } else if (!strcmp(kind, "cpustat")) {
        memset(&r, 0, sizeof r);
        mon_cpu_stat_parse(in->p[1], &r);
    } else if (in->n > 2 && !strcmp(kind, "cpuacct")) {
        cpus_from(in->p[1], &r);
        mon_cpuacct_parse(in->p[2], &r);
    } else if (in->n > 2 && !strcmp(kind, "procstat")) {
        cpus_from(in->p[1], &r);
        mon_proc_stat_parse(in->p[2], 100, &r);
    } else {
        return;
    }
    check_cpus(&r);
}

static void
fuzz_text(struct fuzz_pieces *in, const char *kind)
{
    if (!strcmp(kind, "meminfo")) {
        uint64_t total, used;
        mon_meminfo_parse(in->p[1], &total, &used);
        if (used > total)
            abort();
    } else if (!strcmp(kind, "netdev")) {
        struct mon_netdev devs[4];
        int n = mon_netdev_parse(in->p[1], devs, 4);
        for (int i = 0; i < n; i++)
            if (i >= 4 || !devs[i].name[0] ||
                strnlen(devs[i].name, sizeof devs[i].name) == sizeof devs[i].name)
                abort();
    }
}

static void
fuzz_sensor(struct fuzz_pieces *in)
{
    char name[MON_SENSOR_NAME_MAX];
    enum mon_sensor_kind kind;
    struct mon_sensor s;
    if (!mon_sensor_of(in->p[1], name, &kind))
        return;
    if (strnlen(name, sizeof name) == sizeof name || kind > MON_FAN)
        abort();
    struct mon_sensor_files f = {
        .input = in->n > 3 ? in->p[3] : NULL,
        .fault = in->n > 4 ? in->p[4] : NULL,
        .alarm = in->n > 5 ? in->p[5] : NULL,
        .label = in->n > 6 ? in->p[6] : NULL,
    };
    mon_sensor_fill(&s, in->n > 2 ? in->p[2] : "", name, kind, &f);
    if (strnlen(s.name, sizeof s.name) == sizeof s.name ||
        strnlen(s.label, sizeof s.label) == sizeof s.label || strchr(s.label, '\n') ||
        (!f.input && s.healthy))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_pieces in;
    fuzz_split(data, size, 7, &in);
    if (in.n > 1) {
        const char *kind = in.p[0];
        if (!strcmp(kind, "cgroup"))
            fuzz_cgroup(&in);
        else if (!strcmp(kind, "sensor"))
            fuzz_sensor(&in);
        else if (!strcmp(kind, "meminfo") || !strcmp(kind, "netdev"))
            fuzz_text(&in, kind);
        else
            fuzz_cpu(&in, kind);
    }
    fuzz_pieces_free(&in);
    return 0;
}
