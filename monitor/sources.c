/* SPDX-License-Identifier: Apache-2.0 */
/* sources: CPU, memory, sensors and network figures of a device (sources.h). */
#include "monitor/sources.h"
#include "monitor/sources-private.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util.h"

#define PATH_LEN 1024
#define SMALL_FILE (1 << 20)

enum cg_kind { CG_NONE, CG_V1, CG_V2 };

struct mon_cpu_source {
    enum cg_kind kind;
    char root[PATH_LEN];   /* the caller's prefix */
    char acct[PATH_LEN];   /* v1: the cpuacct directory; v2: the cgroup directory */
    char cpuset[PATH_LEN]; /* the cpuset directory, or "" (every online CPU) */
    char describe[PATH_LEN + 16];
    uint64_t hz; /* /proc/stat ticks per second */
};

static char *
read_at(const char *root, const char *path, size_t *len)
{
    char full[PATH_LEN * 2];
    if ((size_t)snprintf(full, sizeof full, "%s%s", root, path) >= sizeof full) {
        errno = ENAMETOOLONG;
        return NULL;
    }
    return fs_read_file(full, SMALL_FILE, len);
}

/* The value of "KEY value" line 'key' in 'text' (memory.stat, cpu.stat). */
static bool
keyed_u64(const char *text, const char *key, uint64_t *out)
{
    size_t klen = strlen(key);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (!strncmp(p, key, klen) && p[klen] == ' ')
            return sscanf(p + klen + 1, "%" SCNu64, out) == 1;
    return false;
}

bool
mon_cgroup_dir_parse(char *cgroup, char *mountinfo, const char *ctrl, char *dir, size_t len)
{
    char path[PATH_LEN] = "", mnt[PATH_LEN] = "";
    bool v2 = !*ctrl;
    char *save = NULL;
    for (char *line = cgroup ? strtok_r(cgroup, "\n", &save) : NULL; line;
         line = strtok_r(NULL, "\n", &save)) {
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c1 = *c2 = '\0'; /* "ID", "CONTROLLERS", "PATH" */
        bool match = v2 ? !strcmp(line, "0") && c1[1] == '\0' : false;
        for (char *t = c1 + 1, *s; !v2 && (s = strsep(&t, ","));)
            match |= !strcmp(s, ctrl);
        if (match)
            snprintf(path, sizeof path, "%s", c2 + 1);
    }
    for (char *line = mountinfo ? strtok_r(mountinfo, "\n", &save) : NULL; line && path[0];
         line = strtok_r(NULL, "\n", &save)) {
        /* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [TAGS] - FSTYPE SOURCE SUPEROPTS */
        char mroot[PATH_LEN], mpoint[PATH_LEN], fstype[64], super[512] = "";
        char *dash = strstr(line, " - ");
        if (!dash || sscanf(line, "%*s %*s %*s %1023s %1023s", mroot, mpoint) != 2 ||
            sscanf(dash + 3, "%63s %*s %511s", fstype, super) < 1)
            continue;
        bool match = v2 ? !strcmp(fstype, "cgroup2") : false;
        for (char *t = super, *s; !v2 && !strcmp(fstype, "cgroup") && (s = strsep(&t, ","));)
            match |= !strcmp(s, ctrl);
        if (match && !strcmp(mroot, "/")) {
            snprintf(mnt, sizeof mnt, "%s", mpoint);
            break;
        }
    }
    if (!path[0] || !mnt[0] || !strcmp(path, "/"))
        return false;
    snprintf(dir, len, "%s%s", mnt, path);
    return true;
}

/* The cgroup of controller 'ctrl' of the calling process, from ROOT/proc/self
 * (mon_cgroup_dir_parse()). */
static bool
cgroup_dir(const char *root, const char *ctrl, char *dir, size_t len)
{
    char *cg = read_at(root, "/proc/self/cgroup", NULL);
    char *mi = read_at(root, "/proc/self/mountinfo", NULL);
    bool found = cg && mi && mon_cgroup_dir_parse(cg, mi, ctrl, dir, len);
    free(cg);
    free(mi);
    return found;
}

int
mon_cpu_open(const char *root, struct mon_cpu_source **out, char *err, size_t err_len)
{
    struct mon_cpu_source *s = calloc(1, sizeof *s);
    if (!s)
        return err_set(err, err_len, -ENOMEM, "out of memory");
    snprintf(s->root, sizeof s->root, "%s", root ? root : "");
    s->hz = (uint64_t)sysconf(_SC_CLK_TCK);
    if (!s->hz)
        s->hz = 100;
    char dir[PATH_LEN];
    if (cgroup_dir(s->root, "cpuacct", dir, sizeof dir)) {
        s->kind = CG_V1;
        snprintf(s->acct, sizeof s->acct, "%s", dir);
        if (!cgroup_dir(s->root, "cpuset", s->cpuset, sizeof s->cpuset))
            s->cpuset[0] = '\0';
    } else if (cgroup_dir(s->root, "", dir, sizeof dir)) {
        s->kind = CG_V2;
        snprintf(s->acct, sizeof s->acct, "%s", dir);
        snprintf(s->cpuset, sizeof s->cpuset, "%s", dir);
    }
    snprintf(s->describe, sizeof s->describe, "%s%s",
             s->kind == CG_V1   ? "cgroup-v1 "
             : s->kind == CG_V2 ? "cgroup-v2 "
                                : "proc",
             s->acct);
    struct mon_cpu_reading r;
    int rc = mon_cpu_read(s, &r);
    if (rc < 0) {
        err_set(err, err_len, rc, "cpu: cannot read %s: %s", s->describe, strerror(-rc));
        free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void
mon_cpu_close(struct mon_cpu_source *s)
{
    free(s);
}

const char *
mon_cpu_describe(const struct mon_cpu_source *s)
{
    return s->describe;
}

int
mon_cpus_parse(char *text, struct mon_cpu_reading *r)
{
    text[strcspn(text, "\n")] = '\0';
    int n = parse_cpu_list(text, r->cpus, MON_MAX_CPUS, MON_MAX_CPUS);
    if (n <= 0)
        return -EINVAL;
    r->n_cpus = (unsigned)n;
    return 0;
}

/* The device's CPUs: its cpuset's effective CPUs, else the online ones. */
static int
device_cpus(const struct mon_cpu_source *s, struct mon_cpu_reading *r)
{
    static const char *const files[] = {"cpuset.effective_cpus", "cpuset.cpus.effective",
                                        "cpuset.cpus"};
    char *text = NULL, path[PATH_LEN + 32];
    for (size_t i = 0; s->cpuset[0] && !text && i < ARRAY_SIZE(files); i++) {
        snprintf(path, sizeof path, "%s/%s", s->cpuset, files[i]);
        text = read_at(s->root, path, NULL);
        if (text && !strspn(text, "0123456789")) { /* an empty cpuset file */
            free(text);
            text = NULL;
        }
    }
    if (!text)
        text = read_at(s->root, "/sys/devices/system/cpu/online", NULL);
    if (!text)
        return -errno;
    int rc = mon_cpus_parse(text, r);
    free(text);
    return rc;
}

void
mon_cpuacct_parse(const char *text, struct mon_cpu_reading *r)
{
    /* One figure per possible CPU, in CPU order. */
    uint64_t all[MON_MAX_CPUS] = {0};
    unsigned n = 0;
    for (char *p = (char *)text, *end; n < MON_MAX_CPUS; p = end, n++) {
        all[n] = strtoull(p, &end, 10);
        if (end == p)
            break;
    }
    for (unsigned i = 0; i < r->n_cpus; i++) {
        r->busy_ns[i] = r->cpus[i] < (int)n ? all[r->cpus[i]] : 0;
        r->total_ns += r->busy_ns[i];
    }
    r->per_core = true;
}

static int
read_v1(const struct mon_cpu_source *s, struct mon_cpu_reading *r)
{
    char path[PATH_LEN + 32];
    snprintf(path, sizeof path, "%s/cpuacct.usage_percpu", s->acct);
    char *text = read_at(s->root, path, NULL);
    if (!text)
        return -errno;
    mon_cpuacct_parse(text, r);
    free(text);
    return 0;
}

int
mon_cpu_stat_parse(const char *text, struct mon_cpu_reading *r)
{
    uint64_t usec;
    if (!keyed_u64(text, "usage_usec", &usec))
        return -EINVAL;
    r->total_ns = usec * 1000;
    return 0;
}

static int
read_v2(const struct mon_cpu_source *s, struct mon_cpu_reading *r)
{
    char path[PATH_LEN + 32];
    snprintf(path, sizeof path, "%s/cpu.stat", s->acct);
    char *text = read_at(s->root, path, NULL);
    if (!text)
        return -errno;
    int rc = mon_cpu_stat_parse(text, r);
    free(text);
    return rc;
}

void
mon_proc_stat_parse(char *text, uint64_t hz, struct mon_cpu_reading *r)
{
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        int cpu;
        uint64_t v[8] = {0};
        if (strncmp(line, "cpu", 3) || !isdigit((unsigned char)line[3]) ||
            sscanf(line + 3,
                   "%d %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
                   " %" SCNu64 " %" SCNu64,
                   &cpu, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) < 5)
            continue;
        /* user nice system idle iowait irq softirq steal: busy is all but
         * idle and iowait. */
        uint64_t busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
        for (unsigned i = 0; i < r->n_cpus; i++)
            if (r->cpus[i] == cpu)
                r->busy_ns[i] = busy * (1000000000ULL / hz);
    }
    /* Summed once at the end: a CPU's line twice counts once, as it does
     * per core. */
    r->total_ns = 0;
    for (unsigned i = 0; i < r->n_cpus; i++)
        r->total_ns += r->busy_ns[i];
    r->per_core = true;
}

static int
read_proc(const struct mon_cpu_source *s, struct mon_cpu_reading *r)
{
    char *text = read_at(s->root, "/proc/stat", NULL);
    if (!text)
        return -errno;
    mon_proc_stat_parse(text, s->hz, r);
    free(text);
    return 0;
}

int
mon_cpu_read(struct mon_cpu_source *s, struct mon_cpu_reading *r)
{
    memset(r, 0, sizeof *r);
    int rc = device_cpus(s, r);
    if (rc < 0)
        return rc;
    r->time_ns = now_ns();
    return s->kind == CG_V1 ? read_v1(s, r) : s->kind == CG_V2 ? read_v2(s, r) : read_proc(s, r);
}

double
mon_cpu_usage(const struct mon_cpu_reading *a, const struct mon_cpu_reading *b, double *per_core)
{
    if (b->time_ns <= a->time_ns || a->n_cpus != b->n_cpus || !a->n_cpus ||
        memcmp(a->cpus, b->cpus, a->n_cpus * sizeof a->cpus[0]))
        return -1;
    double wall = (double)(b->time_ns - a->time_ns);
    for (unsigned i = 0; per_core && a->per_core && b->per_core && i < a->n_cpus; i++) {
        double d = b->busy_ns[i] >= a->busy_ns[i] ? (double)(b->busy_ns[i] - a->busy_ns[i]) : 0;
        per_core[i] = MIN(d / wall, 1.0);
    }
    double d = b->total_ns >= a->total_ns ? (double)(b->total_ns - a->total_ns) : 0;
    return MIN(d / (wall * a->n_cpus), 1.0);
}

/* ---- memory ---- */

static uint64_t
meminfo_kb(const char *text, const char *key)
{
    const char *p = strstr(text, key);
    uint64_t v = 0;
    if (p)
        sscanf(p + strlen(key), " %" SCNu64, &v);
    return v;
}

void
mon_meminfo_parse(const char *text, uint64_t *total, uint64_t *used)
{
    *total = meminfo_kb(text, "MemTotal:") * 1024;
    *used = *total - MIN(*total, meminfo_kb(text, "MemAvailable:") * 1024);
}

static bool
file_u64(const char *root, const char *dir, const char *name, uint64_t *out)
{
    char path[PATH_LEN + 64];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *text = read_at(root, path, NULL);
    bool ok = text && sscanf(text, "%" SCNu64, out) == 1;
    free(text);
    return ok;
}

int
mon_mem_read(const char *root, uint64_t platform_total, struct mon_mem *out)
{
    root = root ? root : "";
    char *mi = read_at(root, "/proc/meminfo", NULL);
    if (!mi)
        return -errno;
    uint64_t total, used;
    mon_meminfo_parse(mi, &total, &used);
    free(mi);
    char dir[PATH_LEN], path[PATH_LEN + 32];
    bool v1 = cgroup_dir(root, "memory", dir, sizeof dir);
    if (v1 || cgroup_dir(root, "", dir, sizeof dir)) {
        uint64_t usage = 0, limit = UINT64_MAX, inactive = 0;
        if (file_u64(root, dir, v1 ? "memory.usage_in_bytes" : "memory.current", &usage)) {
            snprintf(path, sizeof path, "%s/memory.stat", dir);
            char *st = read_at(root, path, NULL);
            if (st)
                keyed_u64(st, v1 ? "total_inactive_file" : "inactive_file", &inactive);
            free(st);
            used = usage - MIN(usage, inactive);
            /* "max" (v2) fails to parse: no limit. */
            if (file_u64(root, dir, v1 ? "memory.limit_in_bytes" : "memory.max", &limit))
                total = MIN(total, limit);
        }
    }
    if (platform_total)
        total = MIN(total, platform_total);
    out->total_bytes = total;
    out->used_bytes = MIN(used, total);
    return 0;
}

/* ---- sensors ---- */

static const struct {
    const char *prefix;
    enum mon_sensor_kind kind;
    double scale; /* input units per reported unit */
} sensor_kinds[] = {
    {"temp", MON_TEMP, 1000.0},
    {"power", MON_POWER, 1000000.0},
    {"fan", MON_FAN, 1.0},
};

const char *
mon_sensor_unit(enum mon_sensor_kind k)
{
    return k == MON_TEMP ? "celsius" : k == MON_POWER ? "watts" : "rpm";
}

bool
mon_sensor_of(const char *file, char sensor[MON_SENSOR_NAME_MAX], enum mon_sensor_kind *kind)
{
    size_t len = strlen(file);
    if (len < 7 || strcmp(file + len - 6, "_input") || len - 6 >= MON_SENSOR_NAME_MAX)
        return false;
    for (size_t k = 0; k < ARRAY_SIZE(sensor_kinds); k++) {
        size_t pl = strlen(sensor_kinds[k].prefix);
        if (strncmp(file, sensor_kinds[k].prefix, pl) || !isdigit((unsigned char)file[pl]))
            continue;
        memcpy(sensor, file, len - 6);
        sensor[len - 6] = '\0';
        *kind = sensor_kinds[k].kind;
        return true;
    }
    return false;
}

/* "1" in a *_fault or *_alarm file. */
static bool
is_raised(const char *text)
{
    long v;
    return text && sscanf(text, "%ld", &v) == 1 && v;
}

void
mon_sensor_fill(struct mon_sensor *s, const char *chip, const char *sensor,
                enum mon_sensor_kind kind, const struct mon_sensor_files *f)
{
    long v = 0;
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s%s%s", chip, *chip ? "/" : "", sensor);
    s->kind = kind;
    s->healthy = f->input && sscanf(f->input, "%ld", &v) == 1;
    for (size_t k = 0; k < ARRAY_SIZE(sensor_kinds); k++)
        if (s->healthy && sensor_kinds[k].kind == kind)
            s->value = (double)v / sensor_kinds[k].scale;
    if (is_raised(f->fault) || is_raised(f->alarm))
        s->healthy = false;
    snprintf(s->label, sizeof s->label, "%s", f->label ? f->label : s->name);
    s->label[strcspn(s->label, "\n")] = '\0';
}

/* DIR/SENSOR_ATTR, at most 'max_len' bytes, or NULL. */
static char *
attr_read(const char *dir, const char *sensor, const char *attr, size_t max_len)
{
    char path[PATH_LEN + 96];
    snprintf(path, sizeof path, "%s/%s_%s", dir, sensor, attr);
    return fs_read_file(path, max_len, NULL);
}

/* One chip's directory: every *_input of a known kind. */
static int
read_chip(const char *dir, const char *chip, struct mon_sensor *out, unsigned n, unsigned max)
{
    DIR *d = opendir(dir);
    if (!d)
        return -errno;
    struct dirent *e;
    while ((e = readdir(d)) && n < max) {
        char sensor[MON_SENSOR_NAME_MAX];
        enum mon_sensor_kind kind;
        if (!mon_sensor_of(e->d_name, sensor, &kind))
            continue;
        struct mon_sensor_files f = {
            .input = attr_read(dir, sensor, "input", 64),
            .fault = attr_read(dir, sensor, "fault", 64),
            .alarm = attr_read(dir, sensor, "alarm", 64),
            .label = attr_read(dir, sensor, "label", sizeof out[n].label),
        };
        mon_sensor_fill(&out[n++], chip, sensor, kind, &f);
        free(f.input);
        free(f.fault);
        free(f.alarm);
        free(f.label);
    }
    closedir(d);
    return (int)n;
}

static int
by_name(const void *a, const void *b)
{
    return strcmp(((const struct mon_sensor *)a)->name, ((const struct mon_sensor *)b)->name);
}

int
mon_sensors_read(const char *dir, struct mon_sensor *out, unsigned max)
{
    int n = read_chip(dir, "", out, 0, max);
    if (n < 0)
        return n;
    /* hwmonN/ subdirectories (the /sys/class/hwmon layout). */
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) && (unsigned)n < max) {
        if (strncmp(e->d_name, "hwmon", 5) || !isdigit((unsigned char)e->d_name[5]))
            continue;
        char sub[PATH_LEN + 64];
        snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name);
        int m = read_chip(sub, e->d_name, out, (unsigned)n, max);
        if (m > n)
            n = m;
    }
    if (d)
        closedir(d);
    qsort(out, (size_t)n, sizeof *out, by_name);
    return n;
}

/* ---- network devices ---- */

int
mon_netdev_parse(const char *text, struct mon_netdev *out, unsigned max)
{
    if (!strstr(text, "Receive") || !strstr(text, "Transmit"))
        return -EINVAL;
    unsigned n = 0;
    const char *line = strchr(text, '\n');
    line = line ? strchr(line + 1, '\n') : NULL; /* two header lines */
    while (line && *++line && n < max) {
        const char *colon = strchr(line, ':'), *eol = strchr(line, '\n');
        if (!colon || (eol && colon > eol))
            return -EINVAL;
        const char *name = line;
        while (*name == ' ')
            name++;
        struct mon_netdev *d = &out[n];
        memset(d, 0, sizeof *d);
        size_t len = (size_t)(colon - name);
        if (!len || len >= sizeof d->name)
            return -EINVAL;
        memcpy(d->name, name, len);
        uint64_t v[16];
        if (sscanf(colon + 1,
                   "%" SCNu64 " %" SCNu64 " %*u %" SCNu64 " %*u %*u %*u %*u %" SCNu64 " %" SCNu64
                   " %*u %" SCNu64,
                   &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
            return -EINVAL;
        d->rx_bytes = v[0], d->rx_packets = v[1], d->rx_drops = v[2];
        d->tx_bytes = v[3], d->tx_packets = v[4], d->tx_drops = v[5];
        if (strcmp(d->name, "lo"))
            n++;
        line = eol;
    }
    return (int)n;
}

int
mon_netdev_read(const char *root, struct mon_netdev *out, unsigned max)
{
    char *text = read_at(root ? root : "", "/proc/net/dev", NULL);
    if (!text)
        return -errno;
    int n = mon_netdev_parse(text, out, max);
    free(text);
    return n;
}
