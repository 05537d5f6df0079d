/* SPDX-License-Identifier: Apache-2.0 */
/* device: a device's own figures as metrics (device.h). */
#include "monitor/device.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/util.h"

int
mon_device_init(struct mon_device *d, const char *kind, const char *hwmon, uint64_t memory_total,
                bool interfaces, char *err, size_t err_len)
{
    memset(d, 0, sizeof *d);
    snprintf(d->kind, sizeof d->kind, "%s", kind);
    snprintf(d->hwmon, sizeof d->hwmon, "%s", hwmon ? hwmon : "");
    d->memory_total = memory_total;
    d->interfaces = interfaces;
    d->started_ms = now_ms();
    return mon_cpu_open("", &d->cpu, err, err_len);
}

void
mon_device_fini(struct mon_device *d)
{
    mon_cpu_close(d->cpu);
    d->cpu = NULL;
}

double
mon_rate(uint64_t a, uint64_t b, uint64_t ns)
{
    return b >= a && ns ? (double)(b - a) * 1e9 / (double)ns : 0;
}

/* "dse_dpu_" + 'what' */
static const char *
name(const struct mon_device *d, const char *what, char *buf, size_t len)
{
    snprintf(buf, len, "dse_%s_%s", d->kind, what);
    return buf;
}

static int
sample_cpu(struct mon_device *d, struct metric_set *s)
{
    struct mon_cpu_reading r;
    char n[METRIC_NAME_MAX], cpu[16];
    if (mon_cpu_read(d->cpu, &r) < 0)
        return 0;
    int rc = metric_set_add(s, name(d, "cpu_seconds_total", n, sizeof n), (double)r.total_ns / 1e9,
                            NULL);
    double per_core[MON_MAX_CPUS];
    double usage = d->have_prev_cpu ? mon_cpu_usage(&d->prev_cpu, &r, per_core) : -1;
    if (rc == 0 && usage >= 0) {
        rc = metric_set_add(s, name(d, "cpu_usage_ratio", n, sizeof n), usage, NULL);
        for (unsigned i = 0; rc == 0 && r.per_core && i < r.n_cpus; i++) {
            snprintf(cpu, sizeof cpu, "%d", r.cpus[i]);
            rc = metric_set_add(s, name(d, "cpu_core_usage_ratio", n, sizeof n), per_core[i], "cpu",
                                cpu, NULL);
        }
    }
    d->prev_cpu = r;
    d->have_prev_cpu = true;
    return rc;
}

static int
sample_memory(struct mon_device *d, struct metric_set *s)
{
    struct mon_mem m;
    char n[METRIC_NAME_MAX];
    if (mon_mem_read("", d->memory_total, &m) < 0 || !m.total_bytes)
        return 0;
    int rc =
        metric_set_add(s, name(d, "memory_used_bytes", n, sizeof n), (double)m.used_bytes, NULL);
    if (rc == 0)
        rc = metric_set_add(s, name(d, "memory_total_bytes", n, sizeof n), (double)m.total_bytes,
                            NULL);
    if (rc == 0)
        rc = metric_set_add(s, name(d, "memory_usage_ratio", n, sizeof n),
                            (double)m.used_bytes / (double)m.total_bytes, NULL);
    return rc;
}

static int
sample_sensors(struct mon_device *d, struct metric_set *s)
{
    static const char *const what[] = {
        [MON_TEMP] = "temperature_celsius", [MON_POWER] = "power_watts", [MON_FAN] = "fan_rpm"};
    struct mon_sensor sens[MON_MAX_SENSORS];
    char n[METRIC_NAME_MAX];
    int count = d->hwmon[0] ? mon_sensors_read(d->hwmon, sens, MON_MAX_SENSORS) : 0;
    int rc = 0;
    for (int i = 0; rc == 0 && i < count; i++) {
        const struct mon_sensor *x = &sens[i];
        if (x->healthy)
            rc = metric_set_add(s, name(d, what[x->kind], n, sizeof n), x->value, "sensor", x->name,
                                "label", x->label, NULL);
        if (rc == 0)
            rc = metric_set_add(s, name(d, "sensor_healthy", n, sizeof n), x->healthy ? 1 : 0,
                                "sensor", x->name, "label", x->label, NULL);
    }
    return rc;
}

static const struct mon_netdev *
netdev_find(const struct mon_netdev *nd, unsigned n, const char *name)
{
    for (unsigned i = 0; i < n; i++)
        if (!strcmp(nd[i].name, name))
            return &nd[i];
    return NULL;
}

static int
sample_interfaces(struct mon_device *d, struct metric_set *s)
{
    struct mon_netdev nd[MON_MAX_NETDEVS];
    char n[METRIC_NAME_MAX];
    int count = mon_netdev_read("", nd, MON_MAX_NETDEVS);
    uint64_t t = now_ns(), dt = t - d->prev_nd_ns;
    int rc = 0;
    for (int i = 0; rc == 0 && i < count; i++) {
        const struct mon_netdev *x = &nd[i], *p = netdev_find(d->prev_nd, d->n_prev_nd, x->name);
        rc = metric_set_add(s, name(d, "interface_rx_bytes_total", n, sizeof n),
                            (double)x->rx_bytes, "interface", x->name, NULL);
        if (rc == 0)
            rc = metric_set_add(s, name(d, "interface_tx_bytes_total", n, sizeof n),
                                (double)x->tx_bytes, "interface", x->name, NULL);
        if (rc == 0 && p)
            rc = metric_set_add(s, name(d, "interface_rx_bytes_per_second", n, sizeof n),
                                mon_rate(p->rx_bytes, x->rx_bytes, dt), "interface", x->name, NULL);
        if (rc == 0 && p)
            rc = metric_set_add(s, name(d, "interface_tx_bytes_per_second", n, sizeof n),
                                mon_rate(p->tx_bytes, x->tx_bytes, dt), "interface", x->name, NULL);
    }
    if (count >= 0) {
        memcpy(d->prev_nd, nd, (size_t)count * sizeof nd[0]);
        d->n_prev_nd = (unsigned)count;
        d->prev_nd_ns = t;
    }
    return rc;
}

int
mon_device_sample(struct mon_device *d, struct metric_set *s)
{
    char n[METRIC_NAME_MAX];
    int rc = metric_set_add(s, name(d, "uptime_seconds", n, sizeof n),
                            (double)(now_ms() - d->started_ms) / 1000, NULL);
    if (rc == 0)
        rc = sample_cpu(d, s);
    if (rc == 0)
        rc = sample_memory(d, s);
    if (rc == 0)
        rc = sample_sensors(d, s);
    if (rc == 0 && d->interfaces)
        rc = sample_interfaces(d, s);
    return rc;
}
