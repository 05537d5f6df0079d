/* SPDX-License-Identifier: Apache-2.0 */
/* hostsim: the simulated hosts' state and commands (hostsim.h). */
#include "tools/hostsim/hostsim.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cmdtab.h"
#include "lib/util.h"
#include "monitor/metrics.h"

#define ADDR_BASE 0x7f010000u /* 127.1.0.0 */
#define PER_BLOCK 250u        /* hosts per /24: .1 to .250 */
#define CORES 8               /* of a host, of a DPU */
#define MIB (1024.0 * 1024.0)

struct sim_host {
    json_t *pgs;      /* [{"name", "vlan", "mtu"}]: hostd's config */
    uint64_t boot_ms; /* the samples run from here */
    double phase;     /* where its load wanders, 0..2 pi */
};

enum sim_cmd {
    C_PG_LIST,
    C_PG_ADD,
    C_PG_DEL,
    C_HOST_STATS,
    C_DPU_STATS,
    C_HOST_INFO,
    C_DPU_LIST,
    C_ALARM_LIST,
    C_EVENT_LIST,
    C_OTHER,
    C__N
};

static const char *const cmd_names[C__N] = {
    [C_PG_LIST] = "portgroup.list", [C_PG_ADD] = "portgroup.add",  [C_PG_DEL] = "portgroup.del",
    [C_HOST_STATS] = "host.stats",  [C_DPU_STATS] = "dpu.stats",   [C_HOST_INFO] = "host.info",
    [C_DPU_LIST] = "dpu.list",      [C_ALARM_LIST] = "alarm.list", [C_EVENT_LIST] = "event.list",
    [C_OTHER] = "(unknown)",
};

struct hostsim {
    struct hostsim_params p;
    char prefix[32];
    char (*names)[48];
    struct sim_host *hosts; /* [1..n]; [0] unused */
    uint64_t counts[C__N];
};

struct hostsim *
hostsim_create(const struct hostsim_params *p)
{
    struct hostsim *s = calloc(1, sizeof *s);
    if (!s || !p->n_hosts || p->n_hosts > HOSTSIM_MAX_HOSTS || p->n_dpus > HOSTSIM_MAX_DPUS ||
        !(s->hosts = calloc(p->n_hosts + 1, sizeof *s->hosts)) ||
        !(s->names = calloc(p->n_hosts + 1, sizeof *s->names))) {
        hostsim_destroy(s);
        return NULL;
    }
    s->p = *p;
    snprintf(s->prefix, sizeof s->prefix, "%s", p->prefix ? p->prefix : "sim-h");
    s->p.prefix = s->prefix;
    if (!s->p.interval_s)
        s->p.interval_s = 20;
    uint64_t now = wall_ms();
    for (unsigned i = 1; i <= p->n_hosts; i++) {
        snprintf(s->names[i], sizeof s->names[i], "%s%u", s->prefix, i);
        s->hosts[i].pgs = json_array();
        s->hosts[i].boot_ms = now - (uint64_t)(i % 997) * 3600 * 1000; /* up for a while */
        s->hosts[i].phase = (double)((i * 2654435761u) % 6283) / 1000.0;
    }
    return s;
}

void
hostsim_destroy(struct hostsim *s)
{
    if (!s)
        return;
    for (unsigned i = 1; s->hosts && i <= s->p.n_hosts; i++)
        json_decref(s->hosts[i].pgs);
    free(s->hosts);
    free(s->names);
    free(s);
}

void
hostsim_addr(unsigned i, char buf[static 16])
{
    unsigned k = i - 1;
    snprintf(buf, 16, "127.1.%u.%u", (k / PER_BLOCK) & 0xff, k % PER_BLOCK + 1);
}

unsigned
hostsim_host_at(const struct hostsim *s, uint32_t addr)
{
    unsigned hi = (addr >> 8) & 0xff, lo = addr & 0xff;
    if ((addr & 0xffff0000u) != ADDR_BASE || lo < 1 || lo > PER_BLOCK)
        return 0;
    unsigned i = hi * PER_BLOCK + lo;
    return i <= s->p.n_hosts ? i : 0;
}

const char *
hostsim_name(const struct hostsim *s, unsigned i)
{
    return s->names[i];
}

/* ---- figures ---- */

/* How the host's load stands at 't_s' seconds after boot: 0..1. */
static double
load_at(const struct sim_host *h, double t_s, double shift)
{
    double v = 0.35 + 0.25 * sin(2 * M_PI * t_s / 600 + h->phase + shift) +
               0.05 * sin(2 * M_PI * t_s / 47 + 3 * h->phase);
    return v < 0 ? 0 : v > 1 ? 1 : v;
}

/* A counter whose rate is 'rate' * (1 + 0.5 sin(...)): its total at 't_s'
 * (the integral of that rate: it only grows). */
static double
total_at(const struct sim_host *h, double t_s, double rate)
{
    double w = 2 * M_PI / 300;
    return rate * t_s + rate * 0.5 * (cos(h->phase) - cos(w * t_s + h->phase)) / w;
}

static double
rate_at(const struct sim_host *h, double t_s, double rate)
{
    return rate * (1 + 0.5 * sin(2 * M_PI / 300 * t_s + h->phase));
}

/* The CPU, memory and sensor figures of a host ('d' "host") or a DPU. */
static void
add_common(struct metric_set *m, const char *d, const struct sim_host *h, double t, double shift,
           double mem_total)
{
    char name[METRIC_NAME_MAX], cpu[4];
    double load = load_at(h, t, shift);
#define ADD(suffix, v, ...)                                                                        \
    (snprintf(name, sizeof name, "dse_%s_%s", d, suffix), metric_set_add(m, name, v, __VA_ARGS__))
    ADD("up", 1, NULL);
    ADD("uptime_seconds", floor(t), NULL);
    ADD("cpu_usage_ratio", load, NULL);
    for (int c = 0; c < CORES; c++) {
        snprintf(cpu, sizeof cpu, "%d", c);
        ADD("cpu_core_usage_ratio", load_at(h, t, shift + c), "cpu", cpu, NULL);
    }
    ADD("cpu_seconds_total", total_at(h, t, CORES * 0.35), NULL);
    double used = mem_total * (0.3 + 0.4 * load);
    ADD("memory_used_bytes", floor(used), NULL);
    ADD("memory_total_bytes", mem_total, NULL);
    ADD("memory_usage_ratio", used / mem_total, NULL);
    ADD("temperature_celsius", 40 + 30 * load, "sensor", "temp1", NULL);
    ADD("temperature_celsius", 38 + 25 * load, "sensor", "temp2", NULL);
    ADD("power_watts", 60 + 90 * load, "sensor", "power1", NULL);
    ADD("collection_seconds", 0.0004 + 0.0002 * load, NULL);
#undef ADD
}

/* Host 'i''s sample at 't_s' after boot. */
static void
host_sample(const struct sim_host *h, double t, struct metric_set *m)
{
    static const char *const ifs[] = {"vmk0", "eno1"};
    add_common(m, "host", h, t, 0, 256 * 1024 * MIB);
    metric_set_add(m, "dse_host_fan_rpm", 4000 + 3000 * load_at(h, t, 1), "sensor", "fan1", NULL);
    metric_set_add(m, "dse_host_fan_rpm", 4100 + 3000 * load_at(h, t, 2), "sensor", "fan2", NULL);
    for (size_t k = 0; k < 2; k++) {
        double r = 1e6 * (k + 1);
        metric_set_add(m, "dse_host_interface_rx_bytes_total", floor(total_at(h, t, r)),
                       "interface", ifs[k], NULL);
        metric_set_add(m, "dse_host_interface_tx_bytes_total", floor(total_at(h, t, r / 2)),
                       "interface", ifs[k], NULL);
        metric_set_add(m, "dse_host_interface_rx_bytes_per_second", rate_at(h, t, r), "interface",
                       ifs[k], NULL);
        metric_set_add(m, "dse_host_interface_tx_bytes_per_second", rate_at(h, t, r / 2),
                       "interface", ifs[k], NULL);
    }
    metric_set_add(m, "dse_events_total", floor(t / 3600), NULL);
}

/* DPU 'd''s (0-based) sample at 't_s' after boot. */
static void
dpu_sample(const struct sim_host *h, unsigned d, double t, struct metric_set *m)
{
    static const char *const ports[][2] = {
        {"vmnic0", "uplink"}, {"vmnic1", "uplink"}, {"rep-vm1", "vnic"}, {"rep-vm2", "vnic"}};
    double shift = 1.7 * (d + 1), in = 0, out = 0;
    add_common(m, "dpu", h, t, shift, 16 * 1024 * MIB);
    for (size_t k = 0; k < 4; k++) {
        const char *p = ports[k][0], *kind = ports[k][1];
        double r = 5e6 * (d + 1) / (k + 1), pk = r / 700;
        metric_set_add(m, "dse_dpu_port_rx_packets_total", floor(total_at(h, t, pk)), "port", p,
                       "kind", kind, NULL);
        metric_set_add(m, "dse_dpu_port_tx_packets_total", floor(total_at(h, t, pk * 0.9)), "port",
                       p, "kind", kind, NULL);
        metric_set_add(m, "dse_dpu_port_rx_bytes_total", floor(total_at(h, t, r)), "port", p,
                       "kind", kind, NULL);
        metric_set_add(m, "dse_dpu_port_tx_bytes_total", floor(total_at(h, t, r * 0.9)), "port", p,
                       "kind", kind, NULL);
        metric_set_add(m, "dse_dpu_port_rx_bytes_per_second", rate_at(h, t, r), "port", p, "kind",
                       kind, NULL);
        metric_set_add(m, "dse_dpu_port_tx_bytes_per_second", rate_at(h, t, r * 0.9), "port", p,
                       "kind", kind, NULL);
        if (!strcmp(kind, "uplink")) {
            metric_set_add(m, "dse_dpu_uplink_up", 1, "uplink", p, NULL);
            in += rate_at(h, t, r), out += rate_at(h, t, r * 0.9);
        }
    }
    metric_set_add(m, "dse_dpu_network_rx_bytes_per_second", in, NULL);
    metric_set_add(m, "dse_dpu_network_tx_bytes_per_second", out, NULL);
    metric_set_add(m, "dse_dpu_eswitch_flows", floor(200 + 100 * load_at(h, t, shift)), NULL);
    metric_set_add(m, "dse_dpu_mac_entries", 12, NULL);
}

/* The sample of host 'h' (dpu < 0) or of its DPU 'dpu', as of the last
 * interval boundary before 'now_ms'; NULL on ENOMEM. */
static json_t *
sample_json(const struct hostsim *s, const struct sim_host *h, int dpu, uint64_t now_ms)
{
    uint64_t iv = s->p.interval_s * 1000ull, at = now_ms / iv * iv;
    double t = at > h->boot_ms ? (double)(at - h->boot_ms) / 1000 : 0;
    struct metric_set m;
    metric_set_init(&m);
    m.seq = t / s->p.interval_s + 1;
    m.time_ms = at;
    m.interval_s = s->p.interval_s;
    dpu < 0 ? host_sample(h, t, &m) : dpu_sample(h, (unsigned)dpu, t, &m);
    json_t *j = metric_set_json(&m);
    metric_set_fini(&m);
    return j;
}

/* ---- commands ---- */

static json_t *
ok(json_t *result)
{
    return json_pack("{s:b,s:o}", "ok", 1, "result", result ? result : json_null());
}

static json_t *__attribute__((format(printf, 2, 3))) refuse(int rc, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return cmdtab_error(cmdtab_code_for_errno(rc), "%s", msg);
}

static json_t *
find_pg(json_t *pgs, const char *name, size_t *at)
{
    size_t i;
    json_t *pg;
    json_array_foreach (pgs, i, pg) {
        if (!strcmp(json_string_value(json_object_get(pg, "name")), name)) {
            if (at)
                *at = i;
            return pg;
        }
    }
    return NULL;
}

/* portgroup.add {name, vlan, [mtu]}: hostd's checks, then the record. */
static json_t *
pg_add(struct hostsim *s, unsigned i, json_t *args, uint64_t now_ms)
{
    const char *name;
    long vlan, mtu = 1500;
    char err[ERR_LEN];
    if (cmd_arg_str(args, "name", &name, err, sizeof err) < 0 ||
        cmd_arg_int(args, "vlan", 0, 4094, &vlan, err, sizeof err) < 0 ||
        cmd_arg_int_opt(args, "mtu", 68, 9000, &mtu, err, sizeof err) < 0)
        return refuse(-EINVAL, "%s", err);
    if (!name_is_valid(name, 31))
        return refuse(-EINVAL, "bad portgroup name '%s'", name);
    json_t *pgs = s->hosts[i].pgs, *pg;
    size_t k;
    if (find_pg(pgs, name, NULL))
        return refuse(-EEXIST, "portgroup %s exists", name);
    json_array_foreach (pgs, k, pg)
        if (json_integer_value(json_object_get(pg, "vlan")) == vlan)
            return refuse(-EEXIST, "VLAN %ld is used by portgroup %s", vlan,
                          json_string_value(json_object_get(pg, "name")));
    json_array_append_new(
        pgs, json_pack("{s:s,s:i,s:i}", "name", name, "vlan", (int)vlan, "mtu", (int)mtu));
    if (s->p.record)
        fprintf(s->p.record, "%llu %s %s\n", (unsigned long long)now_ms, s->names[i], name);
    return ok(NULL);
}

static json_t *
pg_list(struct hostsim *s, unsigned i)
{
    json_t *a = json_array(), *pg;
    size_t k;
    json_array_foreach (s->hosts[i].pgs, k, pg) {
        json_t *e = json_deep_copy(pg);
        json_object_set_new(e, "vms", json_array());
        json_array_append_new(a, e);
    }
    return ok(a);
}

static json_t *
pg_del(struct hostsim *s, unsigned i, json_t *args)
{
    const char *name;
    char err[ERR_LEN];
    size_t at;
    if (cmd_arg_str(args, "name", &name, err, sizeof err) < 0)
        return refuse(-EINVAL, "%s", err);
    if (!find_pg(s->hosts[i].pgs, name, &at))
        return refuse(-ENOENT, "no portgroup %s", name);
    json_array_remove(s->hosts[i].pgs, at);
    return ok(NULL);
}

static json_t *
dpu_stats(struct hostsim *s, unsigned i, uint64_t now_ms)
{
    json_t *a = json_array();
    for (unsigned d = 0; d < s->p.n_dpus; d++) {
        char name[16];
        snprintf(name, sizeof name, "dpu%u", d + 1);
        json_array_append_new(a, json_pack("{s:s,s:b,s:i,s:o?}", "dpu", name, "up", 1, "interval_s",
                                           (int)s->p.interval_s, "sample",
                                           sample_json(s, &s->hosts[i], (int)d, now_ms)));
    }
    return ok(a);
}

static json_t *
dpu_list(struct hostsim *s, unsigned i)
{
    json_t *a = json_array();
    for (unsigned d = 0; d < s->p.n_dpus; d++) {
        char name[16], cn[80];
        snprintf(name, sizeof name, "dpu%u", d + 1);
        snprintf(cn, sizeof cn, "%s-dpu%u", s->names[i], d + 1);
        json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "name", name, "id", cn,
                                           "vendor", "dse-sim", "model", "sim-2x25g", "firmware",
                                           "1.0", "state", "ready"));
    }
    return ok(a);
}

static enum sim_cmd
cmd_of(const char *cmd)
{
    for (int c = 0; c < C_OTHER; c++)
        if (!strcmp(cmd, cmd_names[c]))
            return (enum sim_cmd)c;
    return C_OTHER;
}

json_t *
hostsim_call(struct hostsim *s, unsigned i, const char *cmd, json_t *args, uint64_t now_ms)
{
    enum sim_cmd c = cmd_of(cmd);
    struct sim_host *h = &s->hosts[i];
    s->counts[c]++;
    switch (c) {
    case C_PG_LIST:
        return pg_list(s, i);
    case C_PG_ADD:
        return pg_add(s, i, args, now_ms);
    case C_PG_DEL:
        return pg_del(s, i, args);
    case C_HOST_STATS:
        return ok(json_pack("{s:s,s:i,s:o?}", "host", s->names[i], "interval_s",
                            (int)s->p.interval_s, "sample", sample_json(s, h, -1, now_ms)));
    case C_DPU_STATS:
        return dpu_stats(s, i, now_ms);
    case C_HOST_INFO:
        return ok(json_pack("{s:s,s:s,s:i}", "name", s->names[i], "version", "sim", "dpus",
                            (int)s->p.n_dpus));
    case C_DPU_LIST:
        return dpu_list(s, i);
    case C_ALARM_LIST:
        return ok(json_array());
    case C_EVENT_LIST:
        return ok(json_pack("{s:i,s:[]}", "last", 0, "events"));
    default:
        return cmdtab_error("unknown-command", "unknown command '%s'", cmd);
    }
}

json_t *
hostsim_counts(const struct hostsim *s)
{
    json_t *o = json_object();
    for (int c = 0; c < C__N; c++)
        if (s->counts[c])
            json_object_set_new(o, cmd_names[c], json_integer((json_int_t)s->counts[c]));
    return o;
}
