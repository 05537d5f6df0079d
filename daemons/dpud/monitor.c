/* SPDX-License-Identifier: Apache-2.0 */
/*
 * monitor: dpud's collection of the DPU's figures (monitor/), every interval:
 * its CPU, memory and sensors (monitor/device.h), and the switch's ports,
 * uplinks, flow cache, MAC table, eswitch and workers.  The last sample and an
 * hour of history stay in memory; hostd pulls them (monitor.sample,
 * monitor.history).  Everything here runs on the control thread; the
 * commands only read what it keeps, so they run beside the workers.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "lib/authz.h"
#include "monitor/device.h"
#include "daemons/dpud/dpud.h"
#include "dataplane/dfw.h"
#include "monitor/history.h"
#include "lib/log.h"
#include "lib/util.h"

LOG_MODULE(monitor);

static struct log_ratelimit mon_rl = LOG_RATELIMIT_INIT(5, 60000);

#define HISTORY_S 3600
#define MAX_SERIES 512

struct port_prev {
    bool valid;
    char name[SW_NAME_MAX + 1];
    uint64_t rx_packets, tx_packets, rx_bytes, tx_bytes, drops;
};

struct dpud_monitor {
    unsigned interval_s; /* 0: off */
    uint64_t last_ms;    /* monotonic, of the last collection */
    uint64_t seq;
    bool dev_ok;
    struct mon_device dev;
    struct metric_set cur;  /* the last complete sample */
    struct metric_set next; /* being built */
    struct history *hist;
    struct port_prev prev[SW_MAX_PORTS];
    uint64_t prev_ns, t0_ns;
    double cost_s; /* the last collection's own time */
};

static unsigned
capacity(unsigned interval_s)
{
    return interval_s ? MAX(HISTORY_S / interval_s, 2) : 2;
}

int
dpud_monitor_init(struct dpud *d, char *err, size_t err_len)
{
    struct dpud_monitor *m = calloc(1, sizeof *m);
    if (!m)
        return err_set(err, err_len, -ENOMEM, "out of memory");
    m->interval_s = DPUD_MONITOR_INTERVAL_S;
    metric_set_init(&m->cur);
    metric_set_init(&m->next);
    m->hist = history_create(capacity(m->interval_s), MAX_SERIES);
    if (!m->hist) {
        free(m);
        return err_set(err, err_len, -ENOMEM, "out of memory");
    }
    /* Sensors: the platform's hwmon directory (the lab's emulated one), else
     * the machine's. */
    const char *hwmon = json_string_value(json_object_get(d->platform, "hwmon"));
    struct stat st;
    if (!hwmon && stat("/sys/class/hwmon", &st) == 0)
        hwmon = "/sys/class/hwmon";
    json_t *mem = json_object_get(d->platform, "memory_bytes");
    char why[256];
    m->dev_ok = mon_device_init(&m->dev, "dpu", hwmon,
                                json_is_integer(mem) ? (uint64_t)json_integer_value(mem) : 0, false,
                                why, sizeof why) == 0;
    if (!m->dev_ok)
        log_warn("no CPU figures: %s", why);
    else
        log_info("cpu from %s, sensors from %s, every %u s", mon_cpu_describe(m->dev.cpu),
                 hwmon ? hwmon : "nowhere", m->interval_s);
    d->mon = m;
    return 0;
}

void
dpud_monitor_fini(struct dpud *d)
{
    struct dpud_monitor *m = d->mon;
    if (!m)
        return;
    if (m->dev_ok)
        mon_device_fini(&m->dev);
    metric_set_fini(&m->cur);
    metric_set_fini(&m->next);
    history_destroy(m->hist);
    free(m);
    d->mon = NULL;
}

void
dpud_monitor_set_interval(struct dpud *d, unsigned interval_s)
{
    struct dpud_monitor *m = d->mon;
    if (!m || m->interval_s == interval_s)
        return;
    log_info("collecting every %u s%s", interval_s, interval_s ? "" : " (off)");
    m->interval_s = interval_s;
    history_resize(m->hist, capacity(interval_s));
}

bool
dpud_monitor_due(const struct dpud *d, uint64_t now)
{
    const struct dpud_monitor *m = d->mon;
    /* The tick comes every second, give or take: half a second early is due. */
    return m && m->interval_s && (!m->last_ms || now + 500 >= m->last_ms + m->interval_s * 1000ULL);
}

/* ---- the switch's figures, with the workers paused ---- */

static void
add(struct dpud_monitor *m, const char *name, double v, const char *k1, const char *v1,
    const char *k2, const char *v2, const char *k3, const char *v3)
{
    int rc = k3   ? metric_set_add(&m->next, name, v, k1, v1, k2, v2, k3, v3, NULL)
             : k2 ? metric_set_add(&m->next, name, v, k1, v1, k2, v2, NULL)
             : k1 ? metric_set_add(&m->next, name, v, k1, v1, NULL)
                  : metric_set_add(&m->next, name, v, NULL);
    if (rc < 0)
        log_warn_rl(&mon_rl, "metric %s: %s", name, strerror(-rc));
}

static void
port_figures(struct dpud *d, const struct sw_port *p, uint64_t dt_ns, double *net)
{
    struct dpud_monitor *m = d->mon;
    struct dpud_port_totals t;
    dpud_port_totals(d, p, &t);
    const char *kind = p->kind == SW_PORT_UPLINK ? "uplink" : "vnic";
    add(m, "dse_dpu_port_up", p->carrier, "port", p->name, "kind", kind, NULL, NULL);
    add(m, "dse_dpu_port_rx_packets_total", (double)t.rx_packets, "port", p->name, "kind", kind,
        NULL, NULL);
    add(m, "dse_dpu_port_tx_packets_total", (double)t.tx_packets, "port", p->name, "kind", kind,
        NULL, NULL);
    add(m, "dse_dpu_port_rx_bytes_total", (double)t.rx_bytes, "port", p->name, "kind", kind, NULL,
        NULL);
    add(m, "dse_dpu_port_tx_bytes_total", (double)t.tx_bytes, "port", p->name, "kind", kind, NULL,
        NULL);
    for (int r = 1; r < DROP__N; r++)
        if (t.sw.drops[r])
            add(m, "dse_dpu_port_drops_total", (double)t.sw.drops[r], "port", p->name, "kind", kind,
                "reason", drop_reason_name(r));
    if (p->kind == SW_PORT_UPLINK) {
        add(m, "dse_dpu_uplink_up", p->carrier, "uplink", p->name, NULL, NULL, NULL, NULL);
        add(m, "dse_dpu_uplink_active", sw_team_active(d->sw) == p->id, "uplink", p->name, NULL,
            NULL, NULL, NULL);
    }
    /* Rates against the last collection, when the port was there and is the
     * same one (its id may have been reused by another). */
    struct port_prev *pp = &m->prev[p->id];
    if (pp->valid && !strcmp(pp->name, p->name) && dt_ns) {
        double rx_Bps = mon_rate(pp->rx_bytes, t.rx_bytes, dt_ns);
        double tx_Bps = mon_rate(pp->tx_bytes, t.tx_bytes, dt_ns);
        double rx_pps = mon_rate(pp->rx_packets, t.rx_packets, dt_ns);
        add(m, "dse_dpu_port_rx_bytes_per_second", rx_Bps, "port", p->name, "kind", kind, NULL,
            NULL);
        add(m, "dse_dpu_port_tx_bytes_per_second", tx_Bps, "port", p->name, "kind", kind, NULL,
            NULL);
        add(m, "dse_dpu_port_rx_packets_per_second", rx_pps, "port", p->name, "kind", kind, NULL,
            NULL);
        add(m, "dse_dpu_port_tx_packets_per_second", mon_rate(pp->tx_packets, t.tx_packets, dt_ns),
            "port", p->name, "kind", kind, NULL, NULL);
        add(m, "dse_dpu_port_drops_per_second", mon_rate(pp->drops, t.drops_total, dt_ns), "port",
            p->name, "kind", kind, NULL, NULL);
        if (p->kind == SW_PORT_UPLINK) {
            net[0] += rx_Bps;
            net[1] += tx_Bps;
        }
        net[2] += rx_pps;
        net[3] = 1;
    }
    *pp = (struct port_prev){true,       "",         t.rx_packets, t.tx_packets,
                             t.rx_bytes, t.tx_bytes, t.drops_total};
    snprintf(pp->name, sizeof pp->name, "%s", p->name);
}

void
dpud_monitor_switch(struct dpud *d)
{
    struct dpud_monitor *m = d->mon;
    m->t0_ns = now_ns();
    metric_set_clear(&m->next);
    uint64_t dt = m->prev_ns ? m->t0_ns - m->prev_ns : 0;
    double net[4] = {0}; /* uplinks rx, tx bit/s; all ports rx pkt/s; any rate */
    bool seen[SW_MAX_PORTS] = {0};
    for (unsigned id = 0; id < SW_MAX_PORTS; id++) {
        const struct sw_port *p = sw_port_at(d->sw, id);
        if (p) {
            port_figures(d, p, dt, net);
            seen[id] = true;
        }
    }
    for (unsigned id = 0; id < SW_MAX_PORTS; id++)
        if (!seen[id])
            m->prev[id].valid = false;
    m->prev_ns = m->t0_ns;
    if (net[3]) {
        add(m, "dse_dpu_network_rx_bytes_per_second", net[0], NULL, NULL, NULL, NULL, NULL, NULL);
        add(m, "dse_dpu_network_tx_bytes_per_second", net[1], NULL, NULL, NULL, NULL, NULL, NULL);
        add(m, "dse_dpu_network_packets_per_second", net[2], NULL, NULL, NULL, NULL, NULL, NULL);
    }
    struct sw_cache_stats cs;
    sw_cache_stats(d->sw, &cs);
    struct fdb_stats fs;
    fdb_get_stats(sw_fdb(d->sw), &fs);
    add(m, "dse_dpu_flow_cache_hits_total", (double)cs.hits, NULL, NULL, NULL, NULL, NULL, NULL);
    add(m, "dse_dpu_flow_cache_misses_total", (double)cs.misses, NULL, NULL, NULL, NULL, NULL,
        NULL);
    add(m, "dse_dpu_mac_entries", (double)fs.n_entries, NULL, NULL, NULL, NULL, NULL, NULL);
    if (d->es) {
        struct offload_stats os;
        offload_get_stats(d->off, &os);
        add(m, "dse_dpu_eswitch_flows", os.reval_flows, NULL, NULL, NULL, NULL, NULL, NULL);
    }
    const struct dfw *fw = sw_dfw(d->sw);
    if (fw) { /* the firewall's table: its use, and the connections it refused */
        double n = (double)ct_count(fw->ct), max = (double)ct_max(fw->ct);
        add(m, "dse_dpu_dfw_connections", n, NULL, NULL, NULL, NULL, NULL, NULL);
        add(m, "dse_dpu_dfw_connection_table_ratio", n / max, NULL, NULL, NULL, NULL, NULL, NULL);
        add(m, "dse_dpu_dfw_table_full_total", (double)ct_full_drops(fw->ct), NULL, NULL, NULL,
            NULL, NULL, NULL);
    }
    for (unsigned i = 0; i < d->n_workers; i++) {
        char w[16];
        snprintf(w, sizeof w, "%u", i);
        add(m, "dse_dpu_worker_packets_total", (double)atomic_load(&d->workers[i].packets),
            "worker", w, NULL, NULL, NULL, NULL);
    }
}

/* ---- the rest, with the workers running ---- */

void
dpud_monitor_finish(struct dpud *d)
{
    struct dpud_monitor *m = d->mon;
    if (m->dev_ok && mon_device_sample(&m->dev, &m->next) < 0)
        log_warn_rl(&mon_rl, "collection: the sample is full");
    add(m, "dse_dpu_state", 1, "state", "ready", NULL, NULL, NULL, NULL);
    for (unsigned r = 0; r < AUTHZ_N_REASONS; r++)
        add(m, "dse_dpu_api_refused_total", (double)authz_refused(r), "reason",
            authz_reason_name(r), NULL, NULL, NULL, NULL);
    add(m, "dse_dpu_collection_seconds", m->cost_s, NULL, NULL, NULL, NULL, NULL, NULL);
    m->next.seq = ++m->seq;
    m->next.time_ms = wall_ms();
    m->next.interval_s = m->interval_s;
    history_add(m->hist, &m->next);
    struct metric_set t = m->cur;
    m->cur = m->next;
    m->next = t;
    m->last_ms = now_ms();
    m->cost_s = (double)(now_ns() - m->t0_ns) / 1e9;
}

/* ---- commands (unguarded: they read what the control thread keeps) ---- */

static int
cmd_sample(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct dpud *d = ctx->aux;
    struct dpud_monitor *m = d->mon;
    long since = 0;
    if (cmd_arg_int_opt(args, "since", 0, INT64_MAX, &since, err, err_len) < 0)
        return -EINVAL;
    json_t *sample =
        m->cur.seq && m->cur.seq > (uint64_t)since ? metric_set_json(&m->cur) : json_null();
    *result = json_pack("{s:i,s:I,s:o}", "interval_s", (int)m->interval_s, "seq",
                        (json_int_t)m->cur.seq, "sample", sample);
    return 0;
}

static int
cmd_history(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct dpud *d = ctx->aux;
    const char *prefix = "";
    long since = 0, max_points = 0;
    if (cmd_arg_str_opt(args, "prefix", &prefix, err, err_len) < 0 ||
        cmd_arg_int_opt(args, "since_ms", 0, INT64_MAX, &since, err, err_len) < 0 ||
        cmd_arg_int_opt(args, "max_points", 0, 100000, &max_points, err, err_len) < 0)
        return -EINVAL;
    *result = json_pack(
        "{s:i,s:o}", "interval_s", (int)d->mon->interval_s, "series",
        history_json(d->mon->hist, prefix ? prefix : "", (uint64_t)since, (unsigned)max_points));
    return 0;
}

/* The samples, which only the control thread writes: none pauses the workers. */
const struct cmd_def dpud_monitor_commands[] = {
    {.name = "monitor.sample",
     .usage = "[since SEQ]: the last sample, when newer than SEQ",
     .fn = cmd_sample,
     .roles = AUTHZ_HOST,
     .flags = CMD_UNGUARDED},
    {.name = "monitor.history",
     .usage = "[prefix METRIC] [since_ms T] [max_points N]",
     .fn = cmd_history,
     .roles = AUTHZ_HOST,
     .flags = CMD_UNGUARDED},
};
const size_t dpud_n_monitor_commands = ARRAY_SIZE(dpud_monitor_commands);
