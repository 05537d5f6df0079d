/* SPDX-License-Identifier: Apache-2.0 */
/* metrics: labelled values, their JSON and Prometheus forms (metrics.h). */
#include "monitor/metrics.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

/* Every name dse writes: its type and help text.  Per device kind, the same
 * figures for DPUs and hosts. */
#define DEVICE_METRICS(D, K)                                                                       \
    {"dse_" D "_up", 'g', "1 when the " K " answers its agent, else 0"},                           \
        {"dse_" D "_state", 'g', "1 for the " K "'s current state"},                               \
        {"dse_" D "_uptime_seconds", 'g', "seconds since the " K "'s agent started"},              \
        {"dse_" D "_cpu_usage_ratio", 'g', "CPU in use on the " K "'s CPUs, 0 to 1"},              \
        {"dse_" D "_cpu_core_usage_ratio", 'g', "CPU in use on one CPU of the " K ", 0 to 1"},     \
        {"dse_" D "_cpu_seconds_total", 'c', "CPU time the " K " used"},                           \
        {"dse_" D "_memory_used_bytes", 'g', "memory in use on the " K " (page cache excluded)"},  \
        {"dse_" D "_memory_total_bytes", 'g', "memory of the " K},                                 \
        {"dse_" D "_memory_usage_ratio", 'g', "memory in use on the " K ", 0 to 1"},               \
        {"dse_" D "_temperature_celsius", 'g', "a temperature sensor of the " K},                  \
        {"dse_" D "_power_watts", 'g', "a power sensor of the " K},                                \
        {"dse_" D "_fan_rpm", 'g', "a fan of the " K},                                             \
        {"dse_" D "_sensor_healthy", 'g', "1 when the " K "'s sensor reads and reports no fault"}, \
    {                                                                                              \
        "dse_" D "_collection_seconds", 'g', "time the " K "'s last collection took"               \
    }

static const struct metric_def {
    const char *name;
    char type; /* 'c'ounter or 'g'auge */
    const char *help;
} metric_defs[] = {
    DEVICE_METRICS("dpu", "DPU"),
    DEVICE_METRICS("host", "host"),
    {"dse_dpu_port_up", 'g', "1 when the switch port has carrier"},
    {"dse_dpu_uplink_up", 'g', "1 when the uplink has carrier"},
    {"dse_dpu_uplink_active", 'g', "1 for the uplink the team forwards on"},
    {"dse_dpu_port_rx_packets_total", 'c', "frames the switch port received"},
    {"dse_dpu_port_tx_packets_total", 'c', "frames the switch port sent"},
    {"dse_dpu_port_rx_bytes_total", 'c', "bytes the switch port received"},
    {"dse_dpu_port_tx_bytes_total", 'c', "bytes the switch port sent"},
    {"dse_dpu_port_drops_total", 'c', "frames the switch dropped on the port, by reason"},
    {"dse_dpu_port_rx_bytes_per_second", 'g', "receive rate of the switch port"},
    {"dse_dpu_port_tx_bytes_per_second", 'g', "transmit rate of the switch port"},
    {"dse_dpu_port_rx_packets_per_second", 'g', "frames per second the switch port received"},
    {"dse_dpu_port_tx_packets_per_second", 'g', "frames per second the switch port sent"},
    {"dse_dpu_port_drops_per_second", 'g', "frames per second dropped on the switch port"},
    {"dse_dpu_network_rx_bytes_per_second", 'g', "receive rate of the DPU's uplinks together"},
    {"dse_dpu_network_tx_bytes_per_second", 'g', "transmit rate of the DPU's uplinks together"},
    {"dse_dpu_network_packets_per_second", 'g', "frames per second the DPU's switch received"},
    {"dse_dpu_flow_cache_hits_total", 'c', "frames the workers' flow caches decided"},
    {"dse_dpu_flow_cache_misses_total", 'c', "frames that missed the workers' flow caches"},
    {"dse_dpu_eswitch_flows", 'g', "flows in the eswitch"},
    {"dse_dpu_mac_entries", 'g', "entries in the MAC table"},
    {"dse_dpu_worker_packets_total", 'c', "frames a data-plane worker switched"},
    {"dse_host_interface_rx_bytes_total", 'c', "bytes the host's interface received"},
    {"dse_host_interface_tx_bytes_total", 'c', "bytes the host's interface sent"},
    {"dse_host_interface_rx_bytes_per_second", 'g', "receive rate of the host's interface"},
    {"dse_host_interface_tx_bytes_per_second", 'g', "transmit rate of the host's interface"},
    {"dse_alarm_state", 'g', "an alarm's state: 0 green, 1 yellow, 2 red, 3 gray"},
    {"dse_dpu_ha_role", 'g', "1 for the DPU's high-availability role: active, standby or none"},
    {"dse_dpu_ha_healthy", 'g', "1 when hostd counts the DPU healthy for a failover, else 0"},
    {"dse_host_dpu_failovers_total", 'c', "failovers between the host's DPUs since hostd started"},
    {"dse_events_total", 'c', "events logged since the agent started"},
    {"dse_host_api_refused_total", 'c', "callers hostd refused since it started, by reason"},
    {"dse_dpu_api_refused_total", 'c', "callers dpud refused since it started, by reason"},
};

static const struct metric_def *
def_of(const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(metric_defs); i++)
        if (!strcmp(metric_defs[i].name, name))
            return &metric_defs[i];
    return NULL;
}

bool
metric_is_counter(const char *name)
{
    const struct metric_def *d = def_of(name);
    return d && d->type == 'c';
}

void
metric_set_init(struct metric_set *s)
{
    memset(s, 0, sizeof *s);
}

void
metric_set_fini(struct metric_set *s)
{
    free(s->m);
    metric_set_init(s);
}

void
metric_set_clear(struct metric_set *s)
{
    s->n = 0;
}

static bool
name_ok(const char *s, size_t max, bool colon)
{
    size_t len = strlen(s);
    if (!len || len >= max)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || c == '_' || (colon && c == ':') ||
                  (i > 0 && c >= '0' && c <= '9');
        if (!ok)
            return false;
    }
    return true;
}

static bool
value_ok(const char *s)
{
    size_t len = strlen(s);
    if (len >= METRIC_LABEL_VALUE_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

/* Appends a metric with 'n' labels; 'kv' holds key, value, key, value... */
static int
add(struct metric_set *s, const char *name, double value, const char *const *kv, unsigned n)
{
    if (!name_ok(name, METRIC_NAME_MAX, true) || n > METRIC_MAX_LABELS)
        return -EINVAL;
    for (unsigned i = 0; i < n; i++)
        if (!name_ok(kv[2 * i], METRIC_LABEL_KEY_MAX, false) || !value_ok(kv[2 * i + 1]))
            return -EINVAL;
    if (s->n == s->cap) {
        if (s->cap >= METRIC_SET_MAX)
            return -ENOSPC;
        size_t cap = s->cap ? MIN(s->cap * 2, METRIC_SET_MAX) : 64;
        struct metric *m = realloc(s->m, cap * sizeof *m);
        if (!m)
            return -ENOMEM;
        s->m = m;
        s->cap = cap;
    }
    struct metric *m = &s->m[s->n++];
    snprintf(m->name, sizeof m->name, "%s", name);
    m->n_labels = n;
    for (unsigned i = 0; i < n; i++) {
        snprintf(m->keys[i], sizeof m->keys[i], "%s", kv[2 * i]);
        snprintf(m->values[i], sizeof m->values[i], "%s", kv[2 * i + 1]);
    }
    m->value = value;
    return 0;
}

int
metric_set_add(struct metric_set *s, const char *name, double value, ...)
{
    const char *kv[2 * METRIC_MAX_LABELS + 2];
    unsigned n = 0;
    va_list ap;
    va_start(ap, value);
    for (const char *k; (k = va_arg(ap, const char *));) {
        const char *v = va_arg(ap, const char *);
        if (n >= METRIC_MAX_LABELS + 1 || !v) {
            va_end(ap);
            return -EINVAL;
        }
        kv[2 * n] = k;
        kv[2 * n + 1] = v;
        n++;
    }
    va_end(ap);
    return add(s, name, value, kv, n);
}

const struct metric *
metric_set_find(const struct metric_set *s, const char *name, const char *first)
{
    for (size_t i = 0; i < s->n; i++) {
        const struct metric *m = &s->m[i];
        if (!strcmp(m->name, name) &&
            (first ? m->n_labels && !strcmp(m->values[0], first) : !m->n_labels))
            return m;
    }
    return NULL;
}

json_t *
metric_set_json(const struct metric_set *s)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < s->n; i++) {
        const struct metric *m = &s->m[i];
        json_t *labels = json_object();
        for (unsigned k = 0; k < m->n_labels; k++)
            json_object_set_new(labels, m->keys[k], json_string(m->values[k]));
        json_array_append_new(a, json_pack("[s,o,f]", m->name, labels, m->value));
    }
    return a ? json_pack("{s:I,s:I,s:i,s:o}", "seq", (json_int_t)s->seq, "time_ms",
                         (json_int_t)s->time_ms, "interval_s", (int)s->interval_s, "metrics", a)
             : NULL;
}

static bool fail(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static bool
fail(char *err, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
    return false;
}

bool
metric_set_from_json(const json_t *j, struct metric_set *out, char *err, size_t err_len)
{
    json_t *seq = json_object_get(j, "seq"), *t = json_object_get(j, "time_ms");
    json_t *iv = json_object_get(j, "interval_s"), *ms = json_object_get(j, "metrics");
    metric_set_clear(out);
    if (!json_is_integer(seq) || !json_is_integer(t) || !json_is_integer(iv) ||
        !json_is_array(ms) || json_integer_value(seq) < 0 || json_integer_value(t) < 0 ||
        json_integer_value(iv) < 0 || json_integer_value(iv) > 86400)
        return fail(err, err_len, "a sample needs seq, time_ms, interval_s and metrics");
    out->seq = (uint64_t)json_integer_value(seq);
    out->time_ms = (uint64_t)json_integer_value(t);
    out->interval_s = (unsigned)json_integer_value(iv);
    size_t i;
    json_t *m;
    json_array_foreach (ms, i, m) {
        json_t *name = json_array_get(m, 0), *labels = json_array_get(m, 1);
        json_t *val = json_array_get(m, 2);
        if (json_array_size(m) != 3 || !json_is_string(name) || !json_is_object(labels) ||
            !json_is_number(val) || json_object_size(labels) > METRIC_MAX_LABELS)
            return fail(err, err_len, "metric %zu: want [name, {labels}, number]", i);
        const char *kv[2 * METRIC_MAX_LABELS];
        unsigned n = 0;
        const char *k;
        json_t *v;
        json_object_foreach (labels, k, v) {
            if (!json_is_string(v))
                return fail(err, err_len, "metric %zu: label %s is not a string", i, k);
            kv[2 * n] = k;
            kv[2 * n + 1] = json_string_value(v);
            n++;
        }
        int rc = add(out, json_string_value(name), json_number_value(val), kv, n);
        if (rc == -ENOSPC)
            return fail(err, err_len, "more than %d metrics", METRIC_SET_MAX);
        if (rc < 0)
            return fail(err, err_len, "metric %zu: bad name or labels", i);
    }
    return true;
}

void
metric_object(const struct metric *m, const char *device, char *buf, size_t len)
{
    if (m->n_labels)
        snprintf(buf, len, "%s/%s", device, m->values[0]);
    else
        snprintf(buf, len, "%s", device);
}

/* ---- Prometheus text exposition ---- */

struct ref {
    const struct metric *m;
    size_t set;
};

static int
by_name(const void *a, const void *b)
{
    const struct ref *x = a, *y = b;
    int c = strcmp(x->m->name, y->m->name);
    return c ? c : x->set < y->set ? -1 : x->set > y->set;
}

static void
put_label(FILE *f, bool *first, const char *k, const char *v)
{
    fprintf(f, "%s%s=\"", *first ? "{" : ",", k);
    *first = false;
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            fprintf(f, "\\%c", *v);
        else if (*v == '\n')
            fputs("\\n", f);
        else
            fputc(*v, f);
    }
    fputc('"', f);
}

static void
put_value(FILE *f, double v)
{
    if (isnan(v))
        fputs("NaN", f);
    else if (isinf(v))
        fputs(v > 0 ? "+Inf" : "-Inf", f);
    else if (v == (double)(int64_t)v && fabs(v) < 1e15)
        fprintf(f, "%lld", (long long)v);
    else
        fprintf(f, "%.9g", v);
}

int
metric_prom_write(FILE *f, const struct metric_set *const *sets, const char *const *const *extra,
                  size_t n)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += sets[i]->n;
    struct ref *refs = malloc((total ? total : 1) * sizeof *refs);
    if (!refs)
        return -ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < sets[i]->n; j++)
            refs[k++] = (struct ref){&sets[i]->m[j], i};
    qsort(refs, total, sizeof *refs, by_name);
    for (size_t i = 0; i < total; i++) {
        const struct metric *m = refs[i].m;
        if (!i || strcmp(m->name, refs[i - 1].m->name)) {
            const struct metric_def *d = def_of(m->name);
            fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", m->name, d ? d->help : "dse metric", m->name,
                    d ? (d->type == 'c' ? "counter" : "gauge") : "untyped");
        }
        fputs(m->name, f);
        bool first = true;
        const char *const *x = extra ? extra[refs[i].set] : NULL;
        for (; x && x[0] && x[1]; x += 2)
            put_label(f, &first, x[0], x[1]);
        for (unsigned l = 0; l < m->n_labels; l++)
            put_label(f, &first, m->keys[l], m->values[l]);
        if (!first)
            fputc('}', f);
        fputc(' ', f);
        put_value(f, m->value);
        fputc('\n', f);
    }
    free(refs);
    return ferror(f) ? -EIO : 0;
}
