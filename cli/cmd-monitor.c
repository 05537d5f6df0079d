/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dsectl monitoring: `dpu stats`, `host stats` (current figures and a
 * sparkline of the last hour), `host metrics` (Prometheus text), `alarm ...`,
 * `event list`, `monitor show|set`.
 */
#include "cli/dsectl.h"

#include <math.h>
#include <signal.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util.h"

#define SPARK_WIDTH 30
#define FOLLOW_MS 500

/* ---- figures ---- */

/* The value of metric 'name' (with first label 'first', or none) in a
 * sample's metric list, or NAN. */
static double
value_of(json_t *sample, const char *name, const char *first)
{
    size_t i;
    json_t *m;
    json_array_foreach (json_object_get(sample, "metrics"), i, m) {
        json_t *labels = json_array_get(m, 1);
        if (strcmp(json_string_value(json_array_get(m, 0)), name))
            continue;
        const char *k;
        json_t *v;
        const char *fv = NULL;
        json_object_foreach (labels, k, v) {
            fv = json_string_value(v);
            break;
        }
        if ((first && fv && !strcmp(fv, first)) || (!first && !json_object_size(labels)))
            return json_number_value(json_array_get(m, 2));
    }
    return NAN;
}

/* "1.2 Gbit/s", "340 kbit/s" */
static const char *
fmt_rate(double v, const char *unit)
{
    static char buf[8][32];
    static int k;
    char *b = buf[k++ % 8];
    if (isnan(v))
        return "-";
    const char *p = v >= 1e9 ? "G" : v >= 1e6 ? "M" : v >= 1e3 ? "k" : "";
    double d = v >= 1e9 ? 1e9 : v >= 1e6 ? 1e6 : v >= 1e3 ? 1e3 : 1;
    snprintf(b, 32, "%.*f %s%s", v >= 1e3 ? 1 : 0, v / d, p, unit);
    return b;
}

static const char *
fmt_bytes(double v)
{
    static char buf[4][32];
    static int k;
    char *b = buf[k++ % 4];
    if (isnan(v))
        return "-";
    snprintf(b, 32, "%.1f GiB", v / (1024.0 * 1024 * 1024));
    return b;
}

/* A sparkline of series 'key' of 'hist' ({KEY: [[t, v], ...]}): the points
 * in SPARK_WIDTH buckets, each its average, scaled from 0 (or the lowest
 * value when it is negative) to the highest (at least 'floor'). */
static void
spark(json_t *hist, const char *key, double floor, char *out, size_t len)
{
    static const char *const bars[] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
    json_t *pts = json_object_get(hist, key);
    size_t n = json_array_size(pts);
    out[0] = '\0';
    if (n < 2)
        return;
    double sum[SPARK_WIDTH] = {0}, max = floor, min = 0;
    int cnt[SPARK_WIDTH] = {0};
    size_t w = MIN(n, (size_t)SPARK_WIDTH);
    for (size_t i = 0; i < n; i++) {
        size_t b = i * w / n;
        double v = json_number_value(json_array_get(json_array_get(pts, i), 1));
        sum[b] += v;
        cnt[b]++;
    }
    for (size_t b = 0; b < w; b++) {
        double v = sum[b] / cnt[b];
        max = MAX(max, v);
        min = MIN(min, v);
    }
    size_t o = 0;
    for (size_t b = 0; b < w && o + 4 < len; b++) {
        double v = sum[b] / cnt[b];
        int level = max > min ? (int)((v - min) / (max - min) * 7.0 + 0.5) : 0;
        o += (size_t)snprintf(out + o, len - o, "%s", bars[MAX(0, MIN(7, level))]);
    }
}

static void
print_line(const char *what, const char *value, json_t *hist, const char *key, double floor)
{
    char sp[SPARK_WIDTH * 4 + 1];
    spark(hist, key, floor, sp, sizeof sp);
    printf("  %-9s %-38s %s\n", what, value, sp);
}

/* CPU, memory and sensors: the same for a DPU ("dpu") and the host. */
static void
print_device(const char *kind, json_t *sample, json_t *hist)
{
    char name[64], buf[128];
    snprintf(name, sizeof name, "dse_%s_cpu_usage_ratio", kind);
    double cpu = value_of(sample, name, NULL);
    size_t n = 0;
    size_t i;
    json_t *m;
    char cores[96] = "";
    snprintf(name, sizeof name, "dse_%s_cpu_core_usage_ratio", kind);
    json_array_foreach (json_object_get(sample, "metrics"), i, m) {
        if (strcmp(json_string_value(json_array_get(m, 0)), name) || n > 7)
            continue;
        json_t *labels = json_array_get(m, 1);
        n += (size_t)snprintf(cores + n, sizeof cores - n, "%scpu%s %.0f%%", n ? ", " : "",
                              json_string_value(json_object_get(labels, "cpu")),
                              100 * json_number_value(json_array_get(m, 2)));
        if (n >= sizeof cores)
            break;
    }
    if (isnan(cpu))
        snprintf(buf, sizeof buf, "-");
    else
        snprintf(buf, sizeof buf, "%.1f%%%s%s%s", 100 * cpu, *cores ? " (" : "", cores,
                 *cores ? ")" : "");
    snprintf(name, sizeof name, "dse_%s_cpu_usage_ratio", kind);
    print_line("CPU", buf, hist, name, 0.05);
    snprintf(name, sizeof name, "dse_%s_memory_used_bytes", kind);
    double used = value_of(sample, name, NULL);
    snprintf(name, sizeof name, "dse_%s_memory_total_bytes", kind);
    double total = value_of(sample, name, NULL);
    snprintf(buf, sizeof buf, "%s of %s (%.1f%%)", fmt_bytes(used), fmt_bytes(total),
             total > 0 ? 100 * used / total : 0);
    snprintf(name, sizeof name, "dse_%s_memory_usage_ratio", kind);
    print_line("memory", buf, hist, name, 0.05);
    /* Sensors: value and health. */
    char line[512] = "";
    size_t o = 0;
    json_array_foreach (json_object_get(sample, "metrics"), i, m) {
        const char *mn = json_string_value(json_array_get(m, 0));
        json_t *labels = json_array_get(m, 1);
        const char *sensor = json_string_value(json_object_get(labels, "sensor"));
        const char *unit = strstr(mn, "_celsius") ? " C"
                           : strstr(mn, "_watts") ? " W"
                           : strstr(mn, "_rpm")   ? " rpm"
                                                  : NULL;
        if (sensor && strstr(mn, "_sensor_healthy") && json_number_value(json_array_get(m, 2)) < 1)
            o += (size_t)snprintf(line + o, sizeof line - o, "%s FAULT  ", sensor);
        else if (sensor && unit)
            o += (size_t)snprintf(line + o, sizeof line - o, "%s %.*f%s  ", sensor,
                                  strcmp(unit, " rpm") ? 1 : 0,
                                  json_number_value(json_array_get(m, 2)), unit);
        if (o >= sizeof line)
            break;
    }
    if (*line)
        printf("  %-9s %s\n", "sensors", line);
}

static void
print_ports(json_t *sample)
{
    static const char *const h[] = {"PORT",     "KIND",     "UP",     "RX-BIT/S", "TX-BIT/S",
                                    "RX-PKT/S", "TX-PKT/S", "DROP/S", "RX-PKTS",  "TX-PKTS"};
    struct table *t = table_create(10, h);
    size_t i;
    json_t *m;
    json_array_foreach (json_object_get(sample, "metrics"), i, m) {
        if (strcmp(json_string_value(json_array_get(m, 0)), "dse_dpu_port_up"))
            continue;
        json_t *labels = json_array_get(m, 1);
        const char *p = json_string_value(json_object_get(labels, "port"));
        double rxp = value_of(sample, "dse_dpu_port_rx_packets_total", p);
        double txp = value_of(sample, "dse_dpu_port_tx_packets_total", p);
        table_add(t, p, fmt_json(json_object_get(labels, "kind")),
                  json_number_value(json_array_get(m, 2)) ? "up" : "down",
                  fmt_rate(8 * value_of(sample, "dse_dpu_port_rx_bytes_per_second", p), "bit/s"),
                  fmt_rate(8 * value_of(sample, "dse_dpu_port_tx_bytes_per_second", p), "bit/s"),
                  fmt_rate(value_of(sample, "dse_dpu_port_rx_packets_per_second", p), ""),
                  fmt_rate(value_of(sample, "dse_dpu_port_tx_packets_per_second", p), ""),
                  fmt_rate(value_of(sample, "dse_dpu_port_drops_per_second", p), ""),
                  isnan(rxp) ? "-" : fmt_count((json_int_t)rxp),
                  isnan(txp) ? "-" : fmt_count((json_int_t)txp));
    }
    table_print(t);
}

static void
print_dpu_stats(json_t *r)
{
    size_t i;
    json_t *d;
    json_array_foreach (r, i, d) {
        json_t *s = json_object_get(d, "sample"), *h = json_object_get(d, "history");
        int iv = (int)json_integer_value(json_object_get(d, "interval_s"));
        if (!json_is_true(json_object_get(d, "up"))) {
            printf("%s  unreachable: %s\n\n", fmt_json(json_object_get(d, "dpu")),
                   fmt_json(json_object_get(d, "why")));
            continue;
        }
        printf("%s  up %s, every %d s%s\n", fmt_json(json_object_get(d, "dpu")),
               fmt_rate(value_of(s, "dse_dpu_uptime_seconds", NULL), "s"), iv,
               iv ? ", sparklines: the last hour" : " (collection off)");
        print_device("dpu", s, h);
        char buf[96];
        snprintf(buf, sizeof buf, "rx %s  tx %s",
                 fmt_rate(8 * value_of(s, "dse_dpu_network_rx_bytes_per_second", NULL), "bit/s"),
                 fmt_rate(8 * value_of(s, "dse_dpu_network_tx_bytes_per_second", NULL), "bit/s"));
        print_line("uplinks", buf, h, "dse_dpu_network_rx_bytes_per_second", 125);
        print_ports(s);
        putchar('\n');
    }
}

static void
print_host_stats(json_t *r)
{
    json_t *s = json_object_get(r, "sample"), *h = json_object_get(r, "history");
    printf("%s  every %d s, sparklines: the last hour\n", fmt_json(json_object_get(r, "host")),
           (int)json_integer_value(json_object_get(r, "interval_s")));
    print_device("host", s, h);
    size_t i;
    json_t *m;
    json_array_foreach (json_object_get(s, "metrics"), i, m) {
        if (strcmp(json_string_value(json_array_get(m, 0)),
                   "dse_host_interface_rx_bytes_per_second"))
            continue;
        const char *ifc = json_string_value(json_object_get(json_array_get(m, 1), "interface"));
        char buf[96], key[128];
        snprintf(buf, sizeof buf, "rx %s  tx %s",
                 fmt_rate(8 * json_number_value(json_array_get(m, 2)), "bit/s"),
                 fmt_rate(8 * value_of(s, "dse_host_interface_tx_bytes_per_second", ifc), "bit/s"));
        snprintf(key, sizeof key, "dse_host_interface_rx_bytes_per_second{interface=%s}", ifc);
        print_line(ifc, buf, h, key, 125);
    }
}

static volatile sig_atomic_t stop_watch;

static void
on_int(int sig)
{
    stop_watch = 1;
}

/* Calls 'api' and prints, once or (with --watch) every interval until ^C. */
static int
stats(struct cli *cli, const char *api, json_t *args, void (*print)(json_t *))
{
    bool watch = json_is_true(json_object_get(args, "watch"));
    json_object_del(args, "watch");
    if (watch)
        signal(SIGINT, on_int);
    int rc;
    do {
        json_t *r = NULL;
        if ((rc = cli_call(cli, api, json_incref(args), &r)) != EXIT_OK)
            return rc;
        if (watch && isatty(1))
            fputs("\033[H\033[2J", stdout);
        if (cli->json)
            cli_print_json(r);
        else
            print(r);
        fflush(stdout);
        json_t *first = json_is_array(r) ? json_array_get(r, 0) : r;
        int iv = (int)json_integer_value(json_object_get(first, "interval_s"));
        json_decref(r);
        for (int t = 0; watch && !stop_watch && t < MAX(iv, 1) * 10; t++)
            usleep(100000);
    } while (watch && !stop_watch);
    return EXIT_OK;
}

int
cli_dpu_stats(struct cli *cli, const struct cli_cmd *c, json_t *args)
{
    return stats(cli, "dpu.stats", args, print_dpu_stats);
}

int
cli_host_stats(struct cli *cli, const struct cli_cmd *c, json_t *args)
{
    return stats(cli, "host.stats", args, print_host_stats);
}

void
cli_print_metrics(json_t *r, json_t *args)
{
    fputs(json_string_value(json_object_get(r, "text")), stdout);
}

/* ---- alarms ---- */

static void
print_alarms(json_t *r, json_t *args)
{
    static const char *const h[] = {"ALARM", "STATE", "ACK", "VALUE", "SINCE", "MESSAGE"};
    struct table *t = table_create(6, h);
    size_t i;
    json_t *a;
    json_array_foreach (r, i, a) {
        char since[32] = "-";
        json_int_t ms = json_integer_value(json_object_get(a, "since_ms"));
        if (ms) {
            time_t s = (time_t)(ms / 1000);
            struct tm tm;
            gmtime_r(&s, &tm);
            strftime(since, sizeof since, "%H:%M:%SZ", &tm);
        }
        json_t *v = json_object_get(a, "value");
        char val[32] = "-";
        if (json_is_number(v))
            snprintf(val, sizeof val, "%.3g", json_number_value(v));
        table_add(t, fmt_json(json_object_get(a, "id")), fmt_json(json_object_get(a, "state")),
                  json_is_true(json_object_get(a, "acknowledged")) ? "yes" : "-", val, since,
                  fmt_json(json_object_get(a, "message")));
    }
    table_print(t);
}

static void
print_defs(json_t *r, json_t *args)
{
    static const char *const h[] = {"NAME", "ON",         "WARNING", "CRITICAL",
                                    "FOR",  "HYSTERESIS", "BUILTIN"};
    struct table *t = table_create(7, h);
    size_t i;
    json_t *d;
    json_array_foreach (r, i, d) {
        json_t *metric = json_object_get(d, "metric");
        char on[128];
        if (metric)
            snprintf(on, sizeof on, "%s %s", json_string_value(metric),
                     json_string_value(json_object_get(d, "direction")) ?: "above");
        else
            snprintf(on, sizeof on, "event %s -> %s", fmt_json(json_object_get(d, "event")),
                     fmt_json(json_object_get(d, "level")));
        char fs[16] = "-";
        if (metric)
            snprintf(fs, sizeof fs, "%llds",
                     (long long)json_integer_value(json_object_get(d, "for_s")));
        table_add(t, fmt_json(json_object_get(d, "name")), on,
                  fmt_json(json_object_get(d, "warning")), fmt_json(json_object_get(d, "critical")),
                  fs, metric ? fmt_json(json_object_get(d, "hysteresis")) : "-",
                  json_is_true(json_object_get(d, "builtin")) ? "yes" : "-");
    }
    table_print(t);
}

/* `alarm def add`: the flags become the definition. */
static int
run_def_add(struct cli *cli, const struct cli_cmd *c, json_t *args)
{
    json_t *def = json_deep_copy(args), *r = NULL;
    json_t *call = json_pack("{s:o}", "def", def);
    int rc = cli_call(cli, "alarm.def.add", call, &r);
    if (rc == EXIT_OK) {
        if (cli->json)
            cli_print_json(r);
        else
            printf("alarm definition %s added\n", fmt_json(json_object_get(r, "name")));
    }
    json_decref(r);
    return rc;
}

static const char *const id_pos[] = {"id"};
static const char *const name_pos[] = {"name"};
static const char *const target_pos[] = {"target"};

static const struct cli_opt def_add_opts[] = {{"--name", "name", OPT_STR, true},
                                              {"--metric", "metric", OPT_STR, false},
                                              {"--direction", "direction", OPT_STR, false},
                                              {"--warning", "warning", OPT_NUM, false},
                                              {"--critical", "critical", OPT_NUM, false},
                                              {"--for", "for_s", OPT_INT, false},
                                              {"--hysteresis", "hysteresis", OPT_NUM, false},
                                              {"--event", "event", OPT_STR, false},
                                              {"--level", "level", OPT_STR, false},
                                              {"--clear-event", "clear_event", OPT_STR, false},
                                              {"--description", "description", OPT_STR, false},
                                              {0}};
static const struct cli_cmd def_cmds[] = {
    {"list", "", "alarm.def.list", NULL, 0, NULL, print_defs, NULL},
    {"add",
     "--name N (--metric M [--direction above|below] [--warning X] [--critical Y] [--for S] "
     "[--hysteresis H] | --event E [--level yellow|red] [--clear-event E2]) [--description D]",
     "alarm.def.add", NULL, 0, def_add_opts, NULL, run_def_add},
    {"del", "NAME", "alarm.def.del", name_pos, 1, NULL, NULL, NULL},
};
static const struct cli_object cli_alarm_def = CLI_OBJECT("alarm def", def_cmds);

static void
print_targets(json_t *r, json_t *args)
{
    static const char *const h[] = {"KIND", "TARGET", "ARGS"};
    struct table *t = table_create(3, h);
    size_t i;
    json_t *x;
    json_array_foreach (json_object_get(r, "targets"), i, x) {
        json_t *a = json_object_get(x, "args");
        char *list = a ? json_dumps(a, JSON_COMPACT) : NULL;
        table_add(t, fmt_json(json_object_get(x, "kind")), fmt_json(json_object_get(x, "target")),
                  list ? list : "-");
        free(list);
    }
    table_print(t);
    json_t *s = json_object_get(r, "stats");
    printf("sent %s, retries %s, given up %s, dropped %s, queued %s\n",
           fmt_json(json_object_get(s, "sent")), fmt_json(json_object_get(s, "retries")),
           fmt_json(json_object_get(s, "failed")), fmt_json(json_object_get(s, "dropped")),
           fmt_json(json_object_get(s, "queued")));
}

/* add --webhook URL | --command PATH [ARG]...: the arguments of a command
 * go apart, as a list; no shell ever reads them. */
static int
run_notify_add(struct cli *cli, const struct cli_cmd *c, json_t *args)
{
    json_t *argv = json_object_get(args, "_argv");
    size_t n = json_array_size(argv);
    const char *opt = n ? json_string_value(json_array_get(argv, 0)) : "";
    bool webhook = !strcmp(opt, "--webhook");
    if ((!webhook && strcmp(opt, "--command")) || n < 2 || (webhook && n > 2))
        return cli_usage_error("alarm notify", "add: --webhook URL, or --command PATH [ARG]...");
    json_t *req = json_pack("{s:s,s:O}", "kind", webhook ? "webhook" : "command", "target",
                            json_array_get(argv, 1));
    if (!webhook && n > 2) {
        json_t *rest = json_array();
        for (size_t i = 2; i < n; i++)
            json_array_append(rest, json_array_get(argv, i));
        json_object_set_new(req, "args", rest);
    }
    json_t *r = NULL;
    int rc = cli_call(cli, "notify.add", req, &r);
    json_decref(r);
    return rc;
}

static const struct cli_cmd notify_cmds[] = {
    {"list", "", "notify.list", NULL, 0, NULL, print_targets, NULL},
    {"add", "--webhook http://HOST[:PORT]/PATH | --command /PATH [ARG]...", "notify.add", NULL, -1,
     NULL, NULL, run_notify_add},
    {"del", "TARGET", "notify.del", target_pos, 1, NULL, NULL, NULL},
};
static const struct cli_object cli_alarm_notify = CLI_OBJECT("alarm notify", notify_cmds);

static int
run_def(struct cli *cli, const struct cli_cmd *c, json_t *args)
{
    return cli_object_run_sub(cli, &cli_alarm_def, args);
}

static int
run_notify(struct cli *cli, const struct cli_cmd *c, json_t *args)
{
    return cli_object_run_sub(cli, &cli_alarm_notify, args);
}

static const struct cli_opt all_opts[] = {{"--all", "all", OPT_FLAG, false}, {0}};
static const struct cli_cmd alarm_cmds[] = {
    {"list", "[--all]", "alarm.list", NULL, 0, all_opts, print_alarms, NULL},
    {"ack", "ID", "alarm.ack", id_pos, 1, NULL, NULL, NULL},
    {"def", "list | add ... | del NAME", NULL, NULL, -1, NULL, NULL, run_def},
    {"notify", "list | add --webhook URL|--command /PATH [ARG]... | del TARGET", NULL, NULL, -1,
     NULL, NULL, run_notify},
};
const struct cli_object cli_alarm = CLI_OBJECT("alarm", alarm_cmds);

/* ---- events ---- */

static void
print_event(json_t *e)
{
    printf("%-6s %s  %-17s %-18s %s\n", fmt_json(json_object_get(e, "seq")),
           fmt_json(json_object_get(e, "time")), fmt_json(json_object_get(e, "type")),
           fmt_json(json_object_get(e, "object")), fmt_json(json_object_get(e, "message")));
}

static int
run_event_list(struct cli *cli, const struct cli_cmd *c, json_t *args)
{
    bool follow = json_is_true(json_object_get(args, "follow"));
    json_object_del(args, "follow");
    json_t *n = json_object_get(args, "limit");
    if (n && json_integer_value(n) < 1)
        return cli_usage_error("event", "list: -n wants a count of at least 1");
    if (!n)
        json_object_set_new(args, "limit", json_integer(20));
    if (follow)
        signal(SIGINT, on_int);
    json_int_t since = 0;
    bool first = true;
    do {
        json_t *r = NULL, *a = json_deep_copy(args);
        if (!first)
            json_object_set_new(a, "since", json_integer(since)),
                json_object_set_new(a, "limit", json_integer(1000));
        int rc = cli_call(cli, "event.list", a, &r);
        if (rc != EXIT_OK)
            return rc;
        size_t i;
        json_t *e;
        json_array_foreach (json_object_get(r, "events"), i, e) {
            if (cli->json)
                json_dumpf(e, stdout, JSON_COMPACT), putchar('\n');
            else
                print_event(e);
            since = MAX(since, json_integer_value(json_object_get(e, "seq")));
        }
        if (first)
            since = MAX(since, json_integer_value(json_object_get(r, "last")));
        first = false;
        fflush(stdout);
        json_decref(r);
        for (int t = 0; follow && !stop_watch && t < FOLLOW_MS / 100; t++)
            usleep(100000);
    } while (follow && !stop_watch);
    return EXIT_OK;
}

static const struct cli_opt event_opts[] = {{"-n", "limit", OPT_INT, false},
                                            {"--type", "type", OPT_STR, false},
                                            {"--follow", "follow", OPT_FLAG, false},
                                            {0}};
static const struct cli_cmd event_cmds[] = {
    {"list", "[-n N] [--type PREFIX] [--follow]", "event.list", NULL, 0, event_opts, NULL,
     run_event_list},
};
const struct cli_object cli_event = CLI_OBJECT("event", event_cmds);

/* ---- monitor ---- */

static void
print_monitor(json_t *r, json_t *args)
{
    int iv = (int)json_integer_value(json_object_get(r, "interval_s"));
    printf("collection every %d s%s; host CPU from %s\n", iv, iv ? "" : " (off)",
           fmt_json(json_object_get(r, "host_cpu_source")));
    printf("events: %s logged, last %s; Prometheus: %s\n",
           fmt_json(json_object_get(r, "events_total")), fmt_json(json_object_get(r, "last_event")),
           json_is_string(json_object_get(r, "metrics_listen"))
               ? fmt_json(json_object_get(r, "metrics_listen"))
               : "not served (dsectl host metrics)");
    size_t i;
    json_t *d;
    json_array_foreach (json_object_get(r, "dpus"), i, d)
        printf("%s: %s, sample %s%s%s\n", fmt_json(json_object_get(d, "dpu")),
               json_is_true(json_object_get(d, "up")) ? "up" : "unreachable",
               fmt_json(json_object_get(d, "seq")), json_object_get(d, "why") ? ": " : "",
               json_object_get(d, "why") ? fmt_json(json_object_get(d, "why")) : "");
}

static const struct cli_opt set_opts[] = {{"--interval", "interval_s", OPT_INT, true}, {0}};
static const struct cli_cmd monitor_cmds[] = {
    {"show", "", "monitor.show", NULL, 0, NULL, print_monitor, NULL},
    {"set", "--interval SECONDS (1..3600, 0 off)", "monitor.set", NULL, 0, set_opts, NULL, NULL},
};
const struct cli_object cli_monitor = CLI_OBJECT("monitor", monitor_cmds);
