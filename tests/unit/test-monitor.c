/* SPDX-License-Identifier: Apache-2.0 */
/*
 * monitor/: where the figures come from (a fake /proc and cgroup tree for the
 * CPU and memory, an hwmon directory), metrics and their JSON and Prometheus
 * forms, the history ring, and notifications to a webhook served by the test
 * and to commands.
 */
#include "tests/unit/check.h"

#include <fcntl.h>
#include "monitor/device.h"
#include "monitor/history.h"
#include "monitor/metrics.h"
#include "monitor/notify.h"
#include "monitor/sources.h"
#include "lib/util.h"

#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];

static void
mk(void)
{
    snprintf(dir, sizeof dir, "/tmp/dse-test-monitor-XXXXXX");
    if (!mkdtemp(dir))
        abort();
}

static void
rm(void)
{
    if (fs_remove_at(AT_FDCWD, dir) < 0)
        fprintf(stderr, "cannot remove %s\n", dir);
}

static void put(const char *rel, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Writes DIR/REL (making its directories). */
static void
put(const char *rel, const char *fmt, ...)
{
    char path[512], text[4096];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    char *slash = strrchr(path, '/');
    *slash = '\0';
    fs_mkdir_p(path, 0755);
    *slash = '/';
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

#define MOUNTINFO_V1                                                                               \
    "30 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct\n"           \
    "31 25 0:27 / /sys/fs/cgroup/cpuset rw,nosuid - cgroup cgroup rw,cpuset\n"                     \
    "32 25 0:28 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory\n"                     \
    "33 25 0:29 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw\n"

static void
cpu_from_a_cgroup_v1_per_core_over_its_cpuset(void)
{
    mk();
    put("proc/self/cgroup", "5:cpuset:/lab-dpu\n4:cpu,cpuacct:/lab-dpu\n3:memory:/lab-dpu\n"
                            "0::/lab-dpu\n");
    put("proc/self/mountinfo", MOUNTINFO_V1);
    put("sys/fs/cgroup/cpuset/lab-dpu/cpuset.effective_cpus", "1,3\n");
    put("sys/fs/cgroup/cpu,cpuacct/lab-dpu/cpuacct.usage_percpu", "100 1000 200 3000 \n");
    struct mon_cpu_source *s = NULL;
    char err[256] = "";
    ASSERT_EQ(mon_cpu_open(dir, &s, err, sizeof err), 0);
    ASSERT_STREQ(mon_cpu_describe(s), "cgroup-v1 /sys/fs/cgroup/cpu,cpuacct/lab-dpu");
    struct mon_cpu_reading a, b;
    ASSERT_EQ(mon_cpu_read(s, &a), 0);
    ASSERT_EQ(a.n_cpus, 2);
    ASSERT_EQ(a.cpus[0], 1);
    ASSERT_EQ(a.cpus[1], 3);
    ASSERT_EQ(a.busy_ns[0], 1000);
    ASSERT_EQ(a.busy_ns[1], 3000);
    ASSERT_EQ(a.total_ns, 4000); /* CPUs 0 and 2 are not the device's */
    /* 10 ms later: CPU 1 busy 5 ms, CPU 3 busy 10 ms. */
    b = a;
    b.time_ns = a.time_ns + 10000000;
    b.busy_ns[0] += 5000000;
    b.busy_ns[1] += 10000000;
    b.total_ns += 15000000;
    double per[2];
    double u = mon_cpu_usage(&a, &b, per);
    ASSERT_EQ((int)lround(u * 100), 75);
    ASSERT_EQ((int)lround(per[0] * 100), 50);
    ASSERT_EQ((int)lround(per[1] * 100), 100);
    ASSERT_TRUE(mon_cpu_usage(&b, &a, NULL) < 0); /* backwards in time */
    mon_cpu_close(s);
    rm();
}

static void
cpu_from_cgroup_v2_or_proc_stat(void)
{
    mk();
    put("proc/self/cgroup", "0::/lab-host\n");
    put("proc/self/mountinfo", "33 25 0:29 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
    put("sys/fs/cgroup/lab-host/cpu.stat", "usage_usec 1500\nuser_usec 1000\n");
    put("sys/fs/cgroup/lab-host/cpuset.cpus.effective", "0-1\n");
    struct mon_cpu_source *s = NULL;
    char err[256];
    ASSERT_EQ(mon_cpu_open(dir, &s, err, sizeof err), 0);
    struct mon_cpu_reading r;
    ASSERT_EQ(mon_cpu_read(s, &r), 0);
    ASSERT_EQ(r.total_ns, 1500000);
    ASSERT_EQ(r.n_cpus, 2);
    ASSERT_FALSE(r.per_core);
    mon_cpu_close(s);
    /* At the root of its hierarchy: the machine's /proc/stat. */
    put("proc/self/cgroup", "0::/\n");
    put("proc/stat", "cpu  10 0 10 100 0 0 0 0\ncpu0 4 1 5 50 7 1 1 1 0 0\n"
                     "cpu1 6 0 5 50 0 0 0 0\nintr 5\n");
    put("sys/devices/system/cpu/online", "0-1\n");
    ASSERT_EQ(mon_cpu_open(dir, &s, err, sizeof err), 0);
    ASSERT_STREQ(mon_cpu_describe(s), "proc");
    ASSERT_EQ(mon_cpu_read(s, &r), 0);
    long tick_ns = 1000000000L / sysconf(_SC_CLK_TCK);
    ASSERT_EQ(r.busy_ns[0], 13 * tick_ns); /* user nice system irq softirq steal */
    ASSERT_EQ(r.busy_ns[1], 11 * tick_ns);
    mon_cpu_close(s);
    /* Nothing readable: refused with a reason. */
    put("proc/stat", "garbage\n");
    put("sys/devices/system/cpu/online", "\n");
    ASSERT_TRUE(mon_cpu_open(dir, &s, err, sizeof err) < 0);
    ASSERT_NOT_NULL(strstr(err, "cpu: cannot read"));
    rm();
}

static void
memory_of_the_cgroup_without_cache_capped_by_the_platform(void)
{
    mk();
    put("proc/meminfo", "MemTotal:       1000000 kB\nMemFree: 1 kB\nMemAvailable:    600000 kB\n");
    put("proc/self/cgroup", "0::/\n");
    put("proc/self/mountinfo", MOUNTINFO_V1);
    struct mon_mem m;
    ASSERT_EQ(mon_mem_read(dir, 0, &m), 0);
    ASSERT_EQ(m.total_bytes, 1000000ULL * 1024);
    ASSERT_EQ(m.used_bytes, 400000ULL * 1024);
    put("proc/self/cgroup", "3:memory:/lab-dpu\n");
    put("sys/fs/cgroup/memory/lab-dpu/memory.usage_in_bytes", "5000\n");
    put("sys/fs/cgroup/memory/lab-dpu/memory.limit_in_bytes", "9223372036854771712\n");
    put("sys/fs/cgroup/memory/lab-dpu/memory.stat", "cache 10\ntotal_inactive_file 1000\n");
    ASSERT_EQ(mon_mem_read(dir, 0, &m), 0);
    ASSERT_EQ(m.used_bytes, 4000);               /* the inactive cache left out */
    ASSERT_EQ(m.total_bytes, 1000000ULL * 1024); /* no limit: the machine's */
    ASSERT_EQ(mon_mem_read(dir, 16384, &m), 0);
    ASSERT_EQ(m.total_bytes, 16384); /* the platform's memory */
    rm();
}

static void
sensors_with_labels_faults_and_chips(void)
{
    mk();
    put("temp1_input", "45500\n");
    put("temp1_label", "dpu\n");
    put("power1_input", "25000000\n");
    put("fan1_input", "6000\n");
    put("fan1_fault", "1\n");
    put("temp2_input", "oops\n");
    put("in0_input", "1200\n"); /* a voltage: not a kind we report */
    struct mon_sensor s[8];
    int n = mon_sensors_read(dir, s, 8);
    ASSERT_EQ(n, 4);
    ASSERT_STREQ(s[0].name, "fan1");
    ASSERT_FALSE(s[0].healthy); /* fan1_fault */
    ASSERT_STREQ(s[1].name, "power1");
    ASSERT_EQ((int)s[1].value, 25);
    ASSERT_EQ(s[1].kind, MON_POWER);
    ASSERT_STREQ(s[2].name, "temp1");
    ASSERT_STREQ(s[2].label, "dpu");
    ASSERT_EQ((int)(s[2].value * 10), 455);
    ASSERT_TRUE(s[2].healthy);
    ASSERT_STREQ(s[3].name, "temp2");
    ASSERT_FALSE(s[3].healthy); /* unreadable */
    ASSERT_STREQ(mon_sensor_unit(MON_TEMP), "celsius");
    rm();
    /* The /sys/class/hwmon layout: a directory per chip. */
    mk();
    put("hwmon0/temp1_input", "30000\n");
    put("hwmon1/temp1_input", "31000\n");
    put("hwmon1/temp1_alarm", "1\n");
    n = mon_sensors_read(dir, s, 8);
    ASSERT_EQ(n, 2);
    ASSERT_STREQ(s[0].name, "hwmon0/temp1");
    ASSERT_STREQ(s[1].name, "hwmon1/temp1");
    ASSERT_FALSE(s[1].healthy);
    ASSERT_EQ(mon_sensors_read("/nonexistent-hwmon", s, 8), -ENOENT);
    rm();
}

static void
netdev_parses_proc_net_dev_and_refuses_other_text(void)
{
    const char *text =
        "Inter-|   Receive                                                |  Transmit\n"
        " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs "
        "drop fifo colls carrier compressed\n"
        "    lo:  100 2 0 0 0 0 0 0 100 2 0 0 0 0 0 0\n"
        "  vmk0: 5000 40 1 3 0 0 0 0 7000 50 0 4 0 0 0 0\n";
    struct mon_netdev d[4];
    ASSERT_EQ(mon_netdev_parse(text, d, 4), 1);
    ASSERT_STREQ(d[0].name, "vmk0");
    ASSERT_EQ(d[0].rx_bytes, 5000);
    ASSERT_EQ(d[0].rx_packets, 40);
    ASSERT_EQ(d[0].rx_drops, 3);
    ASSERT_EQ(d[0].tx_bytes, 7000);
    ASSERT_EQ(d[0].tx_packets, 50);
    ASSERT_EQ(d[0].tx_drops, 4);
    ASSERT_EQ(mon_netdev_parse("hello\n", d, 4), -EINVAL);
    ASSERT_EQ(mon_rate(100, 300, 2000000000ULL), 100);
    ASSERT_EQ(mon_rate(300, 100, 1000000000ULL), 0); /* a counter reset */
}

static void
metrics_check_names_and_round_trip_as_json(void)
{
    struct metric_set s, t;
    metric_set_init(&s);
    metric_set_init(&t);
    ASSERT_EQ(metric_set_add(&s, "dse_dpu_cpu_usage_ratio", 0.25, NULL), 0);
    ASSERT_EQ(metric_set_add(&s, "dse_dpu_port_up", 1, "port", "vmnic0", "kind", "uplink", NULL),
              0);
    ASSERT_EQ(metric_set_add(&s, "Bad-Name", 1, NULL), -EINVAL);
    ASSERT_EQ(metric_set_add(&s, "x", 1, "9key", "v", NULL), -EINVAL);
    ASSERT_EQ(metric_set_add(&s, "x", 1, "k", "new\nline", NULL), -EINVAL);
    ASSERT_EQ(metric_set_add(&s, "x", 1, "a", "1", "b", "2", "c", "3", "d", "4", NULL), -EINVAL);
    s.seq = 7;
    s.time_ms = 1000;
    s.interval_s = 20;
    json_t *j = metric_set_json(&s);
    char err[128];
    ASSERT_TRUE(metric_set_from_json(j, &t, err, sizeof err));
    ASSERT_EQ(t.n, 2);
    ASSERT_EQ(t.seq, 7);
    ASSERT_EQ(t.interval_s, 20);
    const struct metric *m = metric_set_find(&t, "dse_dpu_port_up", "vmnic0");
    ASSERT_NOT_NULL(m);
    ASSERT_STREQ(m->keys[1], "kind");
    ASSERT_NULL(metric_set_find(&t, "dse_dpu_port_up", NULL));
    ASSERT_EQ((int)(metric_set_find(&t, "dse_dpu_cpu_usage_ratio", NULL)->value * 100), 25);
    char obj[64];
    metric_object(m, "dpu1", obj, sizeof obj);
    ASSERT_STREQ(obj, "dpu1/vmnic0");
    json_decref(j);
    /* What another process sends is checked. */
    static const char *const bad[] = {
        "{}",
        "{\"seq\":1,\"time_ms\":1,\"interval_s\":1,\"metrics\":[[\"ok\",{},\"1\"]]}",
        "{\"seq\":1,\"time_ms\":1,\"interval_s\":1,\"metrics\":[[\"Bad\",{},1]]}",
        "{\"seq\":1,\"time_ms\":1,\"interval_s\":1,\"metrics\":[[\"ok\",{\"k\":1},1]]}",
        "{\"seq\":-1,\"time_ms\":1,\"interval_s\":1,\"metrics\":[]}",
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        json_t *b = json_loads(bad[i], 0, NULL);
        err[0] = '\0';
        ASSERT_FALSE(metric_set_from_json(b, &t, err, sizeof err));
        ASSERT_TRUE(err[0] != '\0');
        json_decref(b);
    }
    ASSERT_TRUE(metric_is_counter("dse_dpu_port_rx_packets_total"));
    ASSERT_FALSE(metric_is_counter("dse_dpu_cpu_usage_ratio"));
    metric_set_fini(&s);
    metric_set_fini(&t);
}

static void
prometheus_groups_names_with_help_and_escapes_labels(void)
{
    struct metric_set a, b;
    metric_set_init(&a);
    metric_set_init(&b);
    metric_set_add(&a, "dse_dpu_up", 1, NULL);
    metric_set_add(&a, "dse_dpu_temperature_celsius", 45.5, "sensor", "temp1", "label", "a\"b\\c",
                   NULL);
    metric_set_add(&b, "dse_dpu_temperature_celsius", 50, "sensor", "temp1", "label", "x", NULL);
    metric_set_add(&b, "dse_dpu_port_rx_packets_total", 12345678901.0, "port", "p", NULL);
    const struct metric_set *sets[] = {&a, &b};
    const char *la[] = {"host", "h1", "dpu", "dpu1", NULL},
               *lb[] = {"host", "h1", "dpu", "dpu2", NULL};
    const char *const *extra[] = {la, lb};
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    ASSERT_EQ(metric_prom_write(f, sets, extra, 2), 0);
    fclose(f);
    const char *want =
        "# HELP dse_dpu_port_rx_packets_total frames the switch port received\n"
        "# TYPE dse_dpu_port_rx_packets_total counter\n"
        "dse_dpu_port_rx_packets_total{host=\"h1\",dpu=\"dpu2\",port=\"p\"} 12345678901\n"
        "# HELP dse_dpu_temperature_celsius a temperature sensor of the DPU\n"
        "# TYPE dse_dpu_temperature_celsius gauge\n"
        "dse_dpu_temperature_celsius{host=\"h1\",dpu=\"dpu1\",sensor=\"temp1\",label="
        "\"a\\\"b\\\\c\"} 45.5\n"
        "dse_dpu_temperature_celsius{host=\"h1\",dpu=\"dpu2\",sensor=\"temp1\",label=\"x\"} 50\n"
        "# HELP dse_dpu_up 1 when the DPU answers its agent, else 0\n"
        "# TYPE dse_dpu_up gauge\n"
        "dse_dpu_up{host=\"h1\",dpu=\"dpu1\"} 1\n";
    ASSERT_STREQ(text, want);
    free(text);
    metric_set_fini(&a);
    metric_set_fini(&b);
}

static void
history_keeps_the_newest_points_of_gauges_only(void)
{
    struct history *h = history_create(4, 8);
    struct metric_set s;
    metric_set_init(&s);
    s.interval_s = 1;
    for (int i = 1; i <= 6; i++) {
        metric_set_clear(&s);
        metric_set_add(&s, "dse_dpu_cpu_usage_ratio", i / 10.0, NULL);
        metric_set_add(&s, "dse_dpu_port_rx_bytes_per_second", i * 100, "port", "p1", NULL);
        metric_set_add(&s, "dse_dpu_port_rx_packets_total", i, "port", "p1", NULL);
        s.time_ms = 1000ULL * i;
        ASSERT_EQ(history_add(h, &s), 2); /* the counter is not kept */
    }
    json_t *j = history_json(h, "", 0, 0);
    ASSERT_EQ(json_object_size(j), 2);
    json_t *cpu = json_object_get(j, "dse_dpu_cpu_usage_ratio");
    ASSERT_EQ(json_array_size(cpu), 4); /* the ring holds 4: points 3..6 */
    ASSERT_EQ(json_integer_value(json_array_get(json_array_get(cpu, 0), 0)), 3000);
    ASSERT_EQ(json_integer_value(json_array_get(json_array_get(cpu, 3), 0)), 6000);
    json_t *rx = json_object_get(j, "dse_dpu_port_rx_bytes_per_second{port=p1}");
    ASSERT_EQ((int)json_number_value(json_array_get(json_array_get(rx, 3), 1)), 600);
    json_decref(j);
    j = history_json(h, "dse_dpu_cpu", 4500, 0); /* newer than 4.5 s: 5 and 6 */
    ASSERT_EQ(json_object_size(j), 1);
    ASSERT_EQ(json_array_size(json_object_get(j, "dse_dpu_cpu_usage_ratio")), 2);
    json_decref(j);
    j = history_json(h, "", 0, 1);
    ASSERT_EQ(json_integer_value(json_array_get(
                  json_array_get(json_object_get(j, "dse_dpu_cpu_usage_ratio"), 0), 0)),
              6000);
    json_decref(j);
    /* A series not updated for a whole ring's span goes (a port removed). */
    metric_set_clear(&s);
    metric_set_add(&s, "dse_dpu_cpu_usage_ratio", 0.5, NULL);
    s.time_ms = 20000;
    history_add(h, &s);
    j = history_json(h, "dse_dpu_port", 0, 0);
    ASSERT_EQ(json_object_size(j), 0);
    json_decref(j);
    /* No more than max_series. */
    for (int i = 0; i < 20; i++) {
        char p[8];
        snprintf(p, sizeof p, "p%d", i);
        metric_set_clear(&s);
        metric_set_add(&s, "dse_dpu_port_up", 1, "port", p, NULL);
        history_add(h, &s);
    }
    j = history_json(h, "", 0, 0);
    ASSERT_EQ(json_object_size(j), 8);
    json_decref(j);
    metric_set_fini(&s);
    history_destroy(h);
}

/* ---- notifications ---- */

struct receiver {
    int fd;
    uint16_t port;
    int status;          /* what it answers */
    atomic_int requests; /* POSTs seen */
    char last_body[2048];
    pthread_t thread;
};

static void *
receive(void *arg)
{
    struct receiver *r = arg;
    for (;;) {
        int c = accept(r->fd, NULL, NULL);
        if (c < 0)
            return NULL;
        char buf[4096];
        size_t got = 0;
        ssize_t n;
        /* Until the head and Content-Length bytes of body are in. */
        while ((n = read(c, buf + got, sizeof buf - 1 - got)) > 0) {
            got += (size_t)n;
            buf[got] = '\0';
            char *body = strstr(buf, "\r\n\r\n"), *cl = strstr(buf, "Content-Length: ");
            if (body && cl && strlen(body + 4) >= (size_t)atoi(cl + 16))
                break;
        }
        char *body = strstr(buf, "\r\n\r\n");
        if (body && !strncmp(buf, "POST /hook ", 11))
            snprintf(r->last_body, sizeof r->last_body, "%s", body + 4);
        char resp[128];
        snprintf(resp, sizeof resp, "HTTP/1.1 %d X\r\nContent-Length: 0\r\n\r\n", r->status);
        if (write(c, resp, strlen(resp)) < 0)
            fprintf(stderr, "receiver: write failed\n");
        close(c);
        atomic_fetch_add(&r->requests, 1);
    }
}

static void
receiver_start(struct receiver *r, int status)
{
    memset(r, 0, sizeof *r);
    r->status = status;
    r->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
    socklen_t l = sizeof sin;
    bind(r->fd, (struct sockaddr *)&sin, sizeof sin);
    getsockname(r->fd, (struct sockaddr *)&sin, &l);
    r->port = ntohs(sin.sin_port);
    listen(r->fd, 16);
    pthread_create(&r->thread, NULL, receive, r);
}

static void
receiver_stop(struct receiver *r)
{
    shutdown(r->fd, SHUT_RDWR);
    close(r->fd);
    pthread_join(r->thread, NULL);
}

static bool
wait_for(atomic_int *v, int want, int ms)
{
    for (int i = 0; i < ms / 10; i++) {
        if (atomic_load(v) >= want)
            return true;
        usleep(10000);
    }
    return atomic_load(v) >= want;
}

struct failures {
    atomic_int n;
    char target[256], why[256];
};

static void
on_failed(void *aux, const char *target, const char *why)
{
    struct failures *f = aux;
    snprintf(f->target, sizeof f->target, "%s", target);
    snprintf(f->why, sizeof f->why, "%s", why);
    atomic_fetch_add(&f->n, 1);
}

/* A receiver answering 'status' and a notifier sending to it ('url'). */
static struct notifier *
webhook_fixture(struct receiver *r, int status, struct failures *f, char url[static 64])
{
    receiver_start(r, status);
    struct notifier *n = notify_create(on_failed, f);
    snprintf(url, 64, "http://127.0.0.1:%u/hook", r->port);
    json_t *t = json_pack("[{s:s,s:s}]", "kind", "webhook", "target", url);
    if (notify_set_targets(n, t) < 0)
        abort();
    json_decref(t);
    return n;
}

static void
webhook_gets_the_notification(void)
{
    struct receiver r;
    struct failures f = {0};
    char url[64];
    struct notifier *n = webhook_fixture(&r, 200, &f, url);
    json_t *msg = json_pack("{s:s,s:s}", "id", "dpu-temperature@dpu1/temp1", "state", "red");
    notify_send(n, msg);
    ASSERT_TRUE(wait_for(&r.requests, 1, 5000));
    json_t *got = json_loads(r.last_body, 0, NULL);
    ASSERT_TRUE(json_equal(got, msg));
    json_decref(got);
    json_t *st = notify_stats(n);
    for (int i = 0; i < 100 && json_integer_value(json_object_get(st, "sent")) < 1; i++) {
        usleep(10000);
        json_decref(st);
        st = notify_stats(n);
    }
    ASSERT_EQ(json_integer_value(json_object_get(st, "sent")), 1);
    ASSERT_EQ(atomic_load(&f.n), 0);
    json_decref(st);
    json_decref(msg);
    notify_destroy(n);
    receiver_stop(&r);
}

static void
a_refusing_webhook_is_retried_then_given_up(void)
{
    struct receiver r;
    struct failures f = {0};
    char url[64];
    struct notifier *n = webhook_fixture(&r, 500, &f, url);
    json_t *msg = json_pack("{s:s}", "id", "x@y");
    uint64_t t0 = now_ms();
    notify_send(n, msg);
    /* Tries at 0, 1, 3, 7 and 15 s. */
    ASSERT_TRUE(wait_for(&f.n, 1, 25000));
    ASSERT_GE(now_ms() - t0, 14000);
    ASSERT_EQ(atomic_load(&r.requests), NOTIFY_TRIES);
    ASSERT_STREQ(f.target, url);
    ASSERT_STREQ(f.why, "HTTP 500");
    json_t *st = notify_stats(n);
    ASSERT_EQ(json_integer_value(json_object_get(st, "retries")), NOTIFY_TRIES - 1);
    ASSERT_EQ(json_integer_value(json_object_get(st, "failed")), 1);
    json_decref(st);
    json_decref(msg);
    notify_destroy(n);
    receiver_stop(&r);
}

static void
a_command_gets_its_arguments_the_fields_and_the_json(void)
{
    mk();
    struct failures f = {0};
    struct notifier *n = notify_create(on_failed, &f);
    char prog[300], out[256], pwned[300], script[1600];
    snprintf(out, sizeof out, "%s/out", dir);
    snprintf(pwned, sizeof pwned, "%s/pwned", dir);
    snprintf(prog, sizeof prog, "%s/page.sh", dir);
    /* The operator's program: its arguments and the fields, one line. */
    snprintf(script, sizeof script,
             "#!/bin/sh\ncat >%s.json && printf '%%s|%%s|%%s %%s\\n' \"$1\" \"$2\" "
             "\"$DSE_ALARM_ID\" \"$DSE_ALARM_STATE\" >%s.tmp && mv %s.tmp %s\n",
             out, out, out, out);
    ASSERT_EQ(fs_write_atomic(prog, script, strlen(script)), 0);
    ASSERT_EQ(chmod(prog, 0755), 0);
    /* Arguments that a shell would act on reach the program as they are. */
    char evil[400];
    snprintf(evil, sizeof evil, "x; touch %s", pwned);
    json_t *t = json_pack("[{s:s,s:s,s:[s,s]},{s:s,s:s}]", "kind", "command", "target", prog,
                          "args", evil, "$(id)", "kind", "command", "target", "/bin/false");
    ASSERT_EQ(notify_set_targets(n, t), 0);
    json_t *msg = json_pack("{s:s,s:s}", "id", "dpu-unreachable@dpu1", "state", "red");
    notify_send(n, msg);
    char *text = NULL;
    for (int i = 0; i < 500 && !(text = fs_read_file(out, 4096, NULL)); i++)
        usleep(10000);
    ASSERT_NOT_NULL(text);
    char want[600];
    snprintf(want, sizeof want, "%s|$(id)|dpu-unreachable@dpu1 red\n", evil);
    ASSERT_STREQ(text, want);
    free(text);
    ASSERT_EQ(access(pwned, F_OK), -1);
    char path[300];
    snprintf(path, sizeof path, "%s.json", out);
    text = fs_read_file(path, 4096, NULL);
    json_t *got = text ? json_loads(text, 0, NULL) : NULL;
    ASSERT_TRUE(json_equal(got, msg));
    json_decref(got);
    free(text);
    json_decref(msg);
    json_decref(t);
    notify_destroy(n); /* the failing command's retries are dropped */
    rm();
}

static void
targets_are_checked_and_shell_lines_are_never_run(void)
{
    char err[160];
    ASSERT_FALSE(notify_target_check("webhook", "https://example.invalid/", NULL, err, sizeof err));
    ASSERT_FALSE(notify_target_check("webhook", "http://[::1", NULL, err, sizeof err));
    ASSERT_FALSE(notify_target_check("webhook", "http://h:99999/", NULL, err, sizeof err));
    ASSERT_FALSE(notify_target_check("mail", "x", NULL, err, sizeof err));
    ASSERT_FALSE(notify_target_check("command", "", NULL, err, sizeof err));
    ASSERT_TRUE(
        notify_target_check("webhook", "http://[2001:db8::1]:8080/x", NULL, err, sizeof err));
    json_t *args = json_pack("[s]", "a");
    ASSERT_FALSE(notify_target_check("webhook", "http://h/x", args, err, sizeof err));
    ASSERT_STREQ(err, "webhook http://h/x: takes no arguments");
    ASSERT_TRUE(notify_target_check("command", "/usr/bin/logger", args, err, sizeof err));
    json_decref(args);
    /* A shell line (what the attack sent) is refused... */
    ASSERT_FALSE(notify_target_check("command", "touch /tmp/x", NULL, err, sizeof err));
    ASSERT_STREQ(err, "command 'touch /tmp/x': want the absolute path of a program (its "
                      "arguments apart; no shell runs it)");
    args = json_pack("[i]", 3);
    ASSERT_FALSE(notify_target_check("command", "/bin/true", args, err, sizeof err));
    json_decref(args);
    args = json_array();
    for (int i = 0; i < 17; i++)
        json_array_append_new(args, json_string("a"));
    ASSERT_FALSE(notify_target_check("command", "/bin/true", args, err, sizeof err));
    json_decref(args);
    /* ... and one stored by an older version is skipped, not run. */
    struct failures f = {0};
    struct notifier *n = notify_create(on_failed, &f);
    json_t *t = json_pack("[{s:s,s:s},{s:s,s:s}]", "kind", "command", "target", "touch /tmp/never",
                          "kind", "command", "target", "/bin/true");
    ASSERT_EQ(notify_set_targets(n, t), 1);
    json_t *st = notify_stats(n);
    ASSERT_EQ(json_integer_value(json_object_get(st, "targets")), 1);
    json_decref(st);
    json_decref(t);
    notify_destroy(n);
}

TEST_MAIN(TEST(cpu_from_a_cgroup_v1_per_core_over_its_cpuset),
          TEST(cpu_from_cgroup_v2_or_proc_stat),
          TEST(memory_of_the_cgroup_without_cache_capped_by_the_platform),
          TEST(sensors_with_labels_faults_and_chips),
          TEST(netdev_parses_proc_net_dev_and_refuses_other_text),
          TEST(metrics_check_names_and_round_trip_as_json),
          TEST(prometheus_groups_names_with_help_and_escapes_labels),
          TEST(history_keeps_the_newest_points_of_gauges_only), TEST(webhook_gets_the_notification),
          TEST(a_refusing_webhook_is_retried_then_given_up),
          TEST(a_command_gets_its_arguments_the_fields_and_the_json),
          TEST(targets_are_checked_and_shell_lines_are_never_run))
