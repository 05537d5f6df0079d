/* SPDX-License-Identifier: Apache-2.0 */
/*
 * monitor: hostd's view of its own and its DPUs' figures, the alarms on them,
 * the event log and the notifications (hostd.h; monitor/ does the work).
 *
 *   monitor thread, every POLL_MS:  monitor.sample from each DPU (kept-alive
 *       session; a failed call marks the DPU unreachable at once) -> the
 *       sample is checked, dse_dpu_up added, every value fed to the alarm
 *       engine; every interval: the host's own sample, the same way
 *   alarm changes -> the event log, and notifications for yellow/red and
 *       their clearing (gray, which only says "no data", is logged only)
 *   commands (event loop) -> read and change all this under 'mu'
 *
 * The thread never holds 'mu' across a call to a DPU.
 */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "monitor/alarm.h"
#include "lcm/bank.h"
#include "daemons/common/daemon.h"
#include "monitor/device.h"
#include "monitor/eventlog.h"
#include "monitor/history.h"
#include "daemons/hostd/hostd.h"
#include "lib/http.h"
#include "lib/log.h"
#include "monitor/metrics.h"
#include "lib/authz.h"
#include "monitor/notify.h"
#include "daemons/hostd/monitor-private.h"
#include "lib/util.h"

LOG_MODULE(monitor);

/* ---- events and alarm changes (under mu) ---- */

static void
log_event(struct hostd_monitor *m, json_t *ev)
{
    int64_t seq = eventlog_append(m->events, ev);
    if (seq < 0)
        log_warn("event %s: not logged: %s", json_string_value(json_object_get(ev, "type")),
                 strerror((int)-seq));
    m->events_total++;
}

static void
event_locked(struct hostd_monitor *m, const char *type, const char *object, const char *msg)
{
    json_t *ev = json_pack("{s:s,s:s,s:s,s:s}", "type", type, "host", m->h->name, "object", object,
                           "message", msg);
    log_event(m, ev);
    json_decref(ev);
    log_info("event %s %s: %s", type, object, msg);
    alarm_engine_event(m->alarms, type, object, msg, wall_ms());
}

void
hostd_monitor_event(struct hostd *h, const char *type, const char *object, const char *msg)
{
    struct hostd_monitor *m = h->mon;
    if (!m) {
        log_info("event %s %s: %s", type, object, msg);
        return;
    }
    pthread_mutex_lock(&m->mu);
    event_locked(m, type, object, msg);
    pthread_mutex_unlock(&m->mu);
}

static void
on_alarm_change(void *aux, const struct alarm_change *c)
{
    struct hostd_monitor *m = aux;
    const char *to = alarm_state_name(c->to), *from = alarm_state_name(c->from);
    /* What an operator acts on: yellow or red, their clearing, and acks.  A
     * first value (gray to green) or a quiet alarm losing its data is noise. */
    bool serious = c->to == ALARM_YELLOW || c->to == ALARM_RED;
    bool was_serious = c->from == ALARM_YELLOW || c->from == ALARM_RED;
    if (!serious && !was_serious)
        return;
    char type[32];
    snprintf(type, sizeof type, "alarm.%s", c->from == c->to ? "ack" : to);
    json_t *ev = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "type", type, "host", m->h->name,
                           "object", c->object, "id", c->id, "alarm", c->def, "state", to, "from",
                           from, "message", c->message);
    if (c->has_value && isfinite(c->value))
        json_object_set_new(ev, "value", json_real(c->value));
    log_event(m, ev);
    log_info("alarm %s: %s -> %s: %s", c->id, from, to, c->message);
    /* Notified: a change of level (an ack is logged only). */
    if (m->notify && c->from != c->to) {
        json_object_set_new(ev, "time_ms", json_integer((json_int_t)wall_ms()));
        notify_send(m->notify, ev);
    }
    json_decref(ev);
}

static void
on_notify_failed(void *aux, const char *target, const char *why)
{
    struct hostd_monitor *m = aux;
    pthread_mutex_lock(&m->mu);
    char msg[512];
    snprintf(msg, sizeof msg, "notification to %s given up: %s", target, why);
    json_t *ev = json_pack("{s:s,s:s,s:s,s:s}", "type", "notify.failed", "host", m->h->name,
                           "object", "host", "message", msg);
    log_event(m, ev);
    json_decref(ev);
    pthread_mutex_unlock(&m->mu);
    log_warn("%s", msg);
}

/* Every value of 'set' of device 'device' to the alarm engine. */
static void
feed(struct hostd_monitor *m, const struct metric_set *set, const char *device)
{
    char obj[ALARM_OBJECT_MAX];
    for (size_t i = 0; i < set->n; i++) {
        metric_object(&set->m[i], device, obj, sizeof obj);
        alarm_engine_sample(m->alarms, set->m[i].name, obj, set->m[i].value, wall_ms());
    }
}

/* ---- boot outcomes: one event per boot of each device ---- */

static void
check_boots(struct hostd_monitor *m, const char *device, json_t *status)
{
    json_t *boots = json_object_get(status, "boots");
    const char *result = json_string_value(json_object_get(status, "last_result"));
    if (!json_is_integer(boots) || !result || !strcmp(result, "none"))
        return;
    char path[4200];
    snprintf(path, sizeof path, "%s/monitor-state.json", m->h->dir);
    json_t *st = json_load_file(path, 0, NULL);
    if (!json_is_object(st)) {
        json_decref(st);
        st = json_object();
    }
    json_t *seen = json_object_get(st, device);
    if (json_is_integer(seen) && json_integer_value(seen) >= json_integer_value(boots)) {
        json_decref(st);
        return;
    }
    const char *reason = json_string_value(json_object_get(status, "last_reason"));
    const char *type = !strcmp(result, "rolled-back") ? "boot.rolled_back"
                       : !strcmp(result, "failed")    ? "boot.failed"
                                                      : "boot.ok";
    char msg[400];
    snprintf(msg, sizeof msg, "boot %lld: %s%s%s", (long long)json_integer_value(boots), result,
             reason && *reason ? ": " : "", reason ? reason : "");
    event_locked(m, type, device, msg);
    json_object_set_new(st, device, json_copy(boots));
    char *text = json_dumps(st, JSON_COMPACT);
    if (!text || fs_write_atomic(path, text, strlen(text)) < 0)
        log_warn("cannot record boot outcomes in %s", path);
    free(text);
    json_decref(st);
}

/* ---- the thread ---- */

static void
dpu_down(struct hostd_monitor *m, unsigned i, const char *why)
{
    struct mon_dpu *x = &m->dpu[i];
    const char *name = m->h->dpus[i].name;
    if (x->up || !x->contacted) {
        if (x->up || strcmp(x->why, why))
            event_locked(m, "dpu.unreachable", name, why);
        alarm_engine_gray(m->alarms, name, wall_ms());
    }
    x->up = false;
    x->contacted = true;
    x->boots_checked = false;
    snprintf(x->why, sizeof x->why, "%s", why);
    metric_set_clear(&x->cur);
    metric_set_add(&x->cur, "dse_dpu_up", 0, NULL);
    alarm_engine_sample(m->alarms, "dse_dpu_up", name, 0, wall_ms());
}

/* A new sample from DPU 'i' (under mu). */
static void
dpu_sample(struct hostd_monitor *m, unsigned i, json_t *sample)
{
    struct mon_dpu *x = &m->dpu[i];
    const char *name = m->h->dpus[i].name;
    char why[256];
    struct metric_set set;
    metric_set_init(&set);
    if (!metric_set_from_json(sample, &set, why, sizeof why)) {
        log_warn("dpu=%s: bad sample refused: %s", name, why);
        metric_set_fini(&set);
        return;
    }
    x->seq = set.seq;
    x->last_sample_ms = now_ms();
    metric_set_add(&set, "dse_dpu_up", 1, NULL);
    feed(m, &set, name);
    /* The uplink team's failover, as the DPU's sample shows it. */
    for (size_t k = 0; k < set.n; k++) {
        const struct metric *mt = &set.m[k];
        if (strcmp(mt->name, "dse_dpu_uplink_active") || mt->value != 1)
            continue;
        if (x->active_uplink[0] && strcmp(x->active_uplink, mt->values[0])) {
            char obj[ALARM_OBJECT_MAX], msg[160];
            snprintf(obj, sizeof obj, "%s/%s", name, mt->values[0]);
            snprintf(msg, sizeof msg, "active uplink %s -> %s", x->active_uplink, mt->values[0]);
            event_locked(m, "uplink.failover", obj, msg);
        }
        snprintf(x->active_uplink, sizeof x->active_uplink, "%s", mt->values[0]);
    }
    metric_set_fini(&x->cur);
    x->cur = set;
}

static void
poll_dpu(struct hostd_monitor *m, unsigned i)
{
    struct mon_dpu *x = &m->dpu[i];
    struct hostd_dpu *dpu = &m->h->dpus[i];
    json_t *res = NULL, *sw = NULL, *args = json_pack("{s:I}", "since", (json_int_t)x->seq);
    char err[ERR_LEN] = "";
    int rc = hostd_dpu_session_call(x->s, dpu, "monitor.sample", args, NULL, 0, POLL_TIMEOUT_MS,
                                    &res, err, sizeof err);
    json_decref(args);
    /* Its boot outcome, once per contact (outside the lock: a call). */
    bool check = rc == 0 && !x->boots_checked &&
                 hostd_dpu_session_call(x->s, dpu, "software.show", NULL, NULL, 0, POLL_TIMEOUT_MS,
                                        &sw, NULL, 0) == 0;
    pthread_mutex_lock(&m->mu);
    if (rc < 0) {
        dpu_down(m, i, err[0] ? err : "no answer");
    } else {
        if (!x->up) {
            if (x->contacted)
                event_locked(m, "dpu.reachable", dpu->name, "answers again");
            x->up = x->contacted = true;
            x->why[0] = '\0';
            metric_set_clear(&x->cur);
            metric_set_add(&x->cur, "dse_dpu_up", 1, NULL);
            alarm_engine_sample(m->alarms, "dse_dpu_up", dpu->name, 1, wall_ms());
        }
        /* A restarted dpud numbers its samples from 1 again. */
        json_int_t seq = json_integer_value(json_object_get(res, "seq"));
        if ((uint64_t)seq < x->seq)
            x->seq = 0;
        json_t *sample = json_object_get(res, "sample");
        if (json_is_object(sample))
            dpu_sample(m, i, sample);
        if (check) {
            check_boots(m, dpu->name, sw);
            x->boots_checked = true;
        }
    }
    pthread_mutex_unlock(&m->mu);
    json_decref(res);
    json_decref(sw);
}

static void
sample_host(struct hostd_monitor *m)
{
    struct metric_set set;
    metric_set_init(&set);
    if (m->dev_ok)
        mon_device_sample(&m->dev, &set);
    pthread_mutex_lock(&m->mu);
    set.seq = ++m->host_seq;
    set.time_ms = wall_ms();
    set.interval_s = m->interval_s;
    feed(m, &set, "host");
    history_add(m->host_hist, &set);
    metric_set_fini(&m->host_cur);
    m->host_cur = set;
    m->host_last_ms = now_ms();
    pthread_mutex_unlock(&m->mu);
}

static void *
run(void *arg)
{
    struct hostd_monitor *m = arg;
    pthread_mutex_lock(&m->mu);
    while (!m->stop) {
        uint64_t t = now_ms();
        unsigned iv = m->interval_s;
        bool host_due =
            iv && (!m->host_last_ms || t + POLL_MS / 2 >= m->host_last_ms + iv * 1000ULL);
        pthread_mutex_unlock(&m->mu);
        for (unsigned i = 0; i < m->h->n_dpus; i++)
            poll_dpu(m, i);
        if (host_due)
            sample_host(m);
        pthread_mutex_lock(&m->mu);
        uint64_t left = POLL_MS - MIN(now_ms() - t, (uint64_t)POLL_MS);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += (long)left * 1000000;
        ts.tv_sec += ts.tv_nsec / 1000000000;
        ts.tv_nsec %= 1000000000;
        if (!m->stop && left)
            pthread_cond_timedwait(&m->cv, &m->mu, &ts);
    }
    pthread_mutex_unlock(&m->mu);
    return NULL;
}

/* ---- Prometheus ---- */

char *
hostd_monitor_exposition(struct hostd_monitor *m, size_t *len)
{
    const struct hostd *h = m->h;
    const struct metric_set *sets[HOSTD_MAX_DPUS + 2];
    const char *labels[HOSTD_MAX_DPUS + 2][5];
    const char *const *extra[HOSTD_MAX_DPUS + 2];
    size_t n = 0;
    struct metric_set own;
    metric_set_init(&own);
    json_t *alarms = alarm_list_json(m->alarms, true);
    size_t i;
    json_t *a;
    json_array_foreach (alarms, i, a) {
        const char *st = json_string_value(json_object_get(a, "state"));
        double v = !strcmp(st, "green")    ? 0
                   : !strcmp(st, "yellow") ? 1
                   : !strcmp(st, "red")    ? 2
                                           : 3;
        metric_set_add(&own, "dse_alarm_state", v, "alarm",
                       json_string_value(json_object_get(a, "def")), "object",
                       json_string_value(json_object_get(a, "object")), NULL);
    }
    json_decref(alarms);
    metric_set_add(&own, "dse_events_total", (double)m->events_total, NULL);
    for (unsigned r = 0; r < AUTHZ_N_REASONS; r++)
        metric_set_add(&own, "dse_host_api_refused_total", (double)authz_refused(r), "reason",
                       authz_reason_name(r), NULL);
    if (h->hooks.metrics) /* the HA figures: its lock inside ours, it never takes ours */
        h->hooks.metrics(h, &own);
    sets[n] = &m->host_cur;
    labels[n][0] = "host", labels[n][1] = h->name, labels[n][2] = NULL;
    extra[n] = labels[n];
    n++;
    sets[n] = &own;
    labels[n][0] = "host", labels[n][1] = h->name, labels[n][2] = NULL;
    extra[n] = labels[n];
    n++;
    for (unsigned k = 0; k < h->n_dpus; k++, n++) {
        sets[n] = &m->dpu[k].cur;
        labels[n][0] = "host", labels[n][1] = h->name;
        labels[n][2] = "dpu", labels[n][3] = h->dpus[k].name, labels[n][4] = NULL;
        extra[n] = labels[n];
    }
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    if (f) {
        metric_prom_write(f, sets, extra, n);
        fclose(f);
    }
    metric_set_fini(&own);
    return buf;
}

static void
metrics_cb(struct evhttp_request *req, void *arg)
{
    struct hostd_monitor *m = arg;
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    if (evhttp_request_get_command(req) != EVHTTP_REQ_GET || !path || strcmp(path, "/metrics")) {
        evhttp_send_error(req, HTTP_NOTFOUND, "only GET /metrics here");
        return;
    }
    size_t len = 0;
    pthread_mutex_lock(&m->mu);
    char *text = hostd_monitor_exposition(m, &len);
    pthread_mutex_unlock(&m->mu);
    struct evbuffer *b = evbuffer_new();
    if (!text || !b || evbuffer_add(b, text, len) < 0) {
        evhttp_send_error(req, HTTP_INTERNAL, NULL);
    } else {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                          "text/plain; version=0.0.4; charset=utf-8");
        evhttp_send_reply(req, HTTP_OK, "OK", b);
    }
    if (b)
        evbuffer_free(b);
    free(text);
}

static int
metrics_listen(struct hostd_monitor *m, char *err, size_t err_len)
{
    char addr[128];
    uint16_t port;
    if (parse_hostport(m->h->metrics_listen, addr, sizeof addr, &port) < 0)
        return err_set(err, err_len, -EINVAL, "--metrics-listen %s: want ADDR:PORT",
                       m->h->metrics_listen);
    m->metrics_http = evhttp_new(m->h->base);
    if (!m->metrics_http || evhttp_bind_socket(m->metrics_http, addr, port) < 0)
        return err_set(err, err_len, -EADDRNOTAVAIL, "--metrics-listen %s: cannot listen",
                       m->h->metrics_listen);
    evhttp_set_allowed_methods(m->metrics_http, EVHTTP_REQ_GET);
    evhttp_set_gencb(m->metrics_http, metrics_cb, m);
    log_info("Prometheus metrics on http://%s/metrics", m->h->metrics_listen);
    return 0;
}

/* ---- start, stop, configuration ---- */

static void
load_defs(struct hostd_monitor *m)
{
    size_t i;
    json_t *def;
    json_array_foreach (json_object_get(m->h->config, "alarm_defs"), i, def) {
        char why[256];
        if (alarm_def_add(m->alarms, def, why, sizeof why) < 0)
            log_warn("alarm definition %zu in %s skipped: %s", i, m->h->config_path, why);
    }
}

void
hostd_monitor_reconfigure(struct hostd *h)
{
    struct hostd_monitor *m = h->mon;
    if (!m)
        return;
    pthread_mutex_lock(&m->mu);
    unsigned iv = (unsigned)json_integer_value(json_object_get(h->config, "monitor_interval_s"));
    if (iv != m->interval_s) {
        m->interval_s = iv;
        history_resize(m->host_hist, iv ? MAX(HISTORY_S / iv, 2) : 2);
        m->host_last_ms = 0;
    }
    int skipped = notify_set_targets(m->notify, json_object_get(h->config, "notify"));
    if (skipped < 0)
        log_warn("notification targets in %s refused", h->config_path);
    else if (skipped)
        log_warn("%d notification target(s) in %s not used: a command must be an absolute "
                 "path with its arguments apart (dsectl alarm notify del TARGET, then add "
                 "--command PATH [ARG]...)",
                 skipped, h->config_path);
    pthread_cond_signal(&m->cv);
    pthread_mutex_unlock(&m->mu);
}

/* DIR/platform.json; without one (or with a bad one: said) the host has no
 * sensors. */
static void
load_platform(const struct hostd *h, struct hostd_platform *plat)
{
    char path[4200], why[256];
    size_t len = 0;
    snprintf(path, sizeof path, "%s/platform.json", h->dir);
    char *text = fs_read_file(path, HOSTD_CONFIG_MAX, &len);
    if (!text && errno != ENOENT)
        log_warn("cannot read %s: %s", path, strerror(errno));
    if (hostd_platform_parse(text, len, plat, why, sizeof why) < 0)
        log_warn("%s: %s: no sensors", path, why);
    free(text);
}

int
hostd_monitor_start(struct hostd *h, char *err, size_t err_len)
{
    struct hostd_platform plat;
    struct hostd_monitor *m = calloc(1, sizeof *m);
    if (!m)
        return err_set(err, err_len, -ENOMEM, "out of memory");
    pthread_mutex_init(&m->mu, NULL);
    pthread_cond_init(&m->cv, NULL);
    m->h = h;
    h->mon = m;
    char path[4200], why[256];
    snprintf(path, sizeof path, "%s/log/events.jsonl", h->dir);
    fs_mkdir_p(h->dir, 0755);
    snprintf(why, sizeof why, "%s/log", h->dir);
    fs_mkdir_p(why, 0755);
    int rc = eventlog_open(path, EVENTS_MAX_BYTES, EVENTS_KEEP, &m->events, why, sizeof why);
    if (rc < 0) {
        err_set(err, err_len, rc, "event log: %s", why);
        goto fail;
    }
    m->alarms = alarm_engine_create(on_alarm_change, m);
    m->notify = notify_create(on_notify_failed, m);
    m->host_hist = history_create(2, MAX_SERIES);
    if (!m->alarms || !m->notify || !m->host_hist) {
        rc = err_set(err, err_len, -ENOMEM, "out of memory");
        goto fail;
    }
    load_platform(h, &plat);
    m->dev_ok = mon_device_init(&m->dev, "host", plat.hwmon, 0, true, why, sizeof why) == 0;
    if (!m->dev_ok)
        log_warn("no CPU figures for the host: %s", why);
    for (unsigned i = 0; i < h->n_dpus; i++) {
        metric_set_init(&m->dpu[i].cur);
        m->dpu[i].s = hostd_dpu_session(h, &h->dpus[i]);
        if (!m->dpu[i].s) {
            rc = err_set(err, err_len, -ENOMEM, "out of memory");
            goto fail;
        }
    }
    load_defs(m);
    hostd_monitor_reconfigure(h);
    json_t *st = bank_status(h->dir);
    pthread_mutex_lock(&m->mu);
    check_boots(m, "host", st);
    pthread_mutex_unlock(&m->mu);
    json_decref(st);
    if (h->metrics_listen && (rc = metrics_listen(m, err, err_len)) < 0)
        goto fail;
    if ((rc = -pthread_create(&m->thread, NULL, run, m)) < 0) {
        err_set(err, err_len, rc, "monitor thread: %s", strerror(-rc));
        goto fail;
    }
    m->running = true;
    return 0;
fail:
    hostd_monitor_stop(h);
    return rc;
}

void
hostd_monitor_stop(struct hostd *h)
{
    struct hostd_monitor *m = h->mon;
    if (!m)
        return;
    if (m->running) {
        pthread_mutex_lock(&m->mu);
        m->stop = true;
        pthread_cond_signal(&m->cv);
        pthread_mutex_unlock(&m->mu);
        pthread_join(m->thread, NULL);
    }
    if (m->metrics_http)
        evhttp_free(m->metrics_http);
    notify_destroy(m->notify);
    alarm_engine_destroy(m->alarms);
    eventlog_close(m->events);
    for (unsigned i = 0; i < HOSTD_MAX_DPUS; i++) {
        httpc_session_destroy(m->dpu[i].s);
        metric_set_fini(&m->dpu[i].cur);
    }
    if (m->dev_ok)
        mon_device_fini(&m->dev);
    metric_set_fini(&m->host_cur);
    history_destroy(m->host_hist);
    pthread_mutex_destroy(&m->mu);
    pthread_cond_destroy(&m->cv);
    free(m);
    h->mon = NULL;
}
