/* SPDX-License-Identifier: Apache-2.0 */
/*
 * monitor-cmd: hostd's monitoring commands (dsectl dpu stats, host stats,
 * alarm ..., event list, monitor ...).  They run on the event loop and take
 * the monitor's mutex; what they change in the configuration is saved in
 * hostd.json like the rest of the desired state.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/authz.h"
#include "lib/log.h"
#include "daemons/hostd/monitor-private.h"
#include "lib/util.h"

LOG_MODULE(monitor);

#define STATS_POINTS 3600

/* Saves the configuration (undone whole when it cannot be: what the caller
 * held of it is stale then) and tells the monitor and the DPUs. */
static int
save(struct hostd *h, char *err, size_t err_len)
{
    int rc = hostd_commit(h, err, err_len);
    if (rc == 0)
        hostd_monitor_reconfigure(h);
    return rc;
}

static int
cmd_monitor_show(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct hostd *h = ctx->aux;
    struct hostd_monitor *m = h->mon;
    json_t *dpus = json_array();
    pthread_mutex_lock(&m->mu);
    for (unsigned i = 0; i < h->n_dpus; i++) {
        const struct mon_dpu *x = &m->dpu[i];
        json_t *d = json_pack("{s:s,s:b,s:I}", "dpu", h->dpus[i].name, "up", x->up, "seq",
                              (json_int_t)x->seq);
        if (x->why[0])
            json_object_set_new(d, "why", json_string(x->why));
        if (x->last_sample_ms)
            json_object_set_new(d, "last_sample_age_ms",
                                json_integer((json_int_t)(now_ms() - x->last_sample_ms)));
        json_array_append_new(dpus, d);
    }
    *result = json_pack("{s:i,s:s,s:I,s:I,s:o,s:O,s:o,s:s?}", "interval_s", (int)m->interval_s,
                        "host_cpu_source", m->dev_ok ? mon_cpu_describe(m->dev.cpu) : "none",
                        "events_total", (json_int_t)m->events_total, "last_event",
                        (json_int_t)eventlog_last_seq(m->events), "notify", notify_stats(m->notify),
                        "targets", json_object_get(h->config, "notify"), "dpus", dpus,
                        "metrics_listen", h->metrics_listen);
    pthread_mutex_unlock(&m->mu);
    return 0;
}

static int
cmd_monitor_set(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct hostd *h = ctx->aux;
    long iv;
    if (cmd_arg_int(args, "interval_s", 0, 3600, &iv, err, err_len) < 0)
        return -EINVAL;
    json_object_set_new(h->config, "monitor_interval_s", json_integer(iv));
    int rc = save(h, err, err_len);
    if (rc == 0)
        *result = json_pack("{s:i}", "interval_s", (int)iv);
    return rc;
}

static int
cmd_alarm_list(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct hostd_monitor *m = ((struct hostd *)ctx->aux)->mon;
    pthread_mutex_lock(&m->mu);
    *result = alarm_list_json(m->alarms, json_is_true(json_object_get(args, "all")));
    pthread_mutex_unlock(&m->mu);
    return *result ? 0 : err_set(err, err_len, -ENOMEM, "out of memory");
}

static int
cmd_alarm_ack(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct hostd_monitor *m = ((struct hostd *)ctx->aux)->mon;
    const char *id;
    if (cmd_arg_str(args, "id", &id, err, err_len) < 0)
        return -EINVAL;
    pthread_mutex_lock(&m->mu);
    int rc = alarm_ack(m->alarms, id, ctx->peer, wall_ms());
    pthread_mutex_unlock(&m->mu);
    if (rc == -ENOENT)
        return err_set(err, err_len, rc, "no alarm %s (dsectl alarm list)", id);
    if (rc == -EALREADY)
        return err_set(err, err_len, rc, "alarm %s is not raised: nothing to acknowledge", id);
    *result = json_pack("{s:s}", "acknowledged", id);
    return rc;
}

static int
cmd_def_list(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct hostd_monitor *m = ((struct hostd *)ctx->aux)->mon;
    pthread_mutex_lock(&m->mu);
    *result = alarm_defs_json(m->alarms);
    pthread_mutex_unlock(&m->mu);
    return *result ? 0 : err_set(err, err_len, -ENOMEM, "out of memory");
}

static int
cmd_def_add(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct hostd *h = ctx->aux;
    struct hostd_monitor *m = h->mon;
    json_t *def = json_object_get(args, "def");
    char why[256];
    if (!json_is_object(def))
        return err_set(err, err_len, -EINVAL, "alarm.def.add wants {def: {...}}");
    pthread_mutex_lock(&m->mu);
    int rc = alarm_def_add(m->alarms, def, why, sizeof why);
    pthread_mutex_unlock(&m->mu);
    if (rc == -EEXIST)
        return err_set(err, err_len, rc, "an alarm definition %s exists",
                       json_string_value(json_object_get(def, "name")));
    if (rc < 0)
        return err_set(err, err_len, rc, "%s", rc == -EINVAL ? why : strerror(-rc));
    json_array_append(json_object_get(h->config, "alarm_defs"), def);
    if ((rc = save(h, err, err_len)) < 0) { /* not saved: not added */
        pthread_mutex_lock(&m->mu);
        alarm_def_del(m->alarms, json_string_value(json_object_get(def, "name")));
        pthread_mutex_unlock(&m->mu);
        return rc;
    }
    *result = json_deep_copy(def);
    return 0;
}

static int
cmd_def_del(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct hostd *h = ctx->aux;
    struct hostd_monitor *m = h->mon;
    const char *name;
    if (cmd_arg_str(args, "name", &name, err, err_len) < 0)
        return -EINVAL;
    json_t *defs = json_object_get(h->config, "alarm_defs");
    json_t *def = hostd_config_take(defs, name);
    if (!def) {
        pthread_mutex_lock(&m->mu);
        int rc = alarm_def_del(m->alarms, name);
        pthread_mutex_unlock(&m->mu);
        return err_set(
            err, err_len, rc == -EPERM ? -EPERM : -ENOENT,
            rc == -EPERM ? "%s is built in: it cannot be deleted" : "no alarm definition %s", name);
    }
    int rc = save(h, err, err_len);
    if (rc == 0) {
        pthread_mutex_lock(&m->mu);
        alarm_def_del(m->alarms, name);
        pthread_mutex_unlock(&m->mu);
        *result = json_pack("{s:s}", "deleted", name);
    }
    json_decref(def);
    return rc;
}

static int
cmd_notify_list(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct hostd *h = ctx->aux;
    *result = json_pack("{s:O,s:o}", "targets", json_object_get(h->config, "notify"), "stats",
                        notify_stats(h->mon->notify));
    return 0;
}

static json_t *
find_target(json_t *targets, const char *target, size_t *index)
{
    size_t i;
    json_t *t;
    json_array_foreach (targets, i, t)
        if (!strcmp(json_string_value(json_object_get(t, "target")), target)) {
            *index = i;
            return t;
        }
    return NULL;
}

/* A command target must be a program that hostd can run now (it runs as
 * root: an operator who typed a path wrong hears it at once). */
static int
command_runnable(const char *path, char *err, size_t err_len)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return err_set(err, err_len, -EINVAL, "command %s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode) || access(path, X_OK) < 0)
        return err_set(err, err_len, -EINVAL, "command %s: not an executable file", path);
    return 0;
}

static int
cmd_notify_add(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct hostd *h = ctx->aux;
    const char *kind, *target;
    char why[256];
    size_t i;
    if (cmd_arg_str(args, "kind", &kind, err, err_len) < 0 ||
        cmd_arg_str(args, "target", &target, err, err_len) < 0)
        return -EINVAL;
    json_t *argv = json_object_get(args, "args");
    if (!notify_target_check(kind, target, argv, why, sizeof why))
        return err_set(err, err_len, -EINVAL, "%s", why);
    if (!strcmp(kind, "command") && command_runnable(target, err, err_len) < 0)
        return -EINVAL;
    json_t *targets = json_object_get(h->config, "notify");
    if (find_target(targets, target, &i))
        return err_set(err, err_len, -EEXIST, "%s is a target already", target);
    if (json_array_size(targets) >= 16)
        return err_set(err, err_len, -ENOSPC, "at most 16 notification targets");
    json_t *t = json_pack("{s:s,s:s}", "kind", kind, "target", target);
    if (argv)
        json_object_set(t, "args", argv);
    json_array_append(targets, t);
    int rc = save(h, err, err_len);
    if (rc == 0)
        *result = json_incref(t);
    json_decref(t);
    return rc;
}

static int
cmd_notify_del(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct hostd *h = ctx->aux;
    const char *target;
    size_t i;
    if (cmd_arg_str(args, "target", &target, err, err_len) < 0)
        return -EINVAL;
    json_t *targets = json_object_get(h->config, "notify");
    json_t *t = find_target(targets, target, &i);
    if (!t)
        return err_set(err, err_len, -ENOENT, "no notification target %s", target);
    json_incref(t);
    json_array_remove(targets, i);
    int rc = save(h, err, err_len);
    if (rc == 0)
        *result = json_pack("{s:s}", "deleted", target);
    json_decref(t);
    return rc;
}

static int
cmd_event_list(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct hostd_monitor *m = ((struct hostd *)ctx->aux)->mon;
    long since = 0, limit = 100;
    const char *type = NULL;
    if (cmd_arg_int_opt(args, "since", 0, INT64_MAX, &since, err, err_len) < 0 ||
        cmd_arg_int_opt(args, "limit", 1, 100000, &limit, err, err_len) < 0 ||
        cmd_arg_str_opt(args, "type", &type, err, err_len) < 0)
        return -EINVAL;
    json_t *events = eventlog_read(m->events, (uint64_t)since, (size_t)limit, type);
    if (!events)
        return err_set(err, err_len, -ENOMEM, "out of memory");
    *result =
        json_pack("{s:I,s:o}", "last", (json_int_t)eventlog_last_seq(m->events), "events", events);
    return 0;
}

static int
stats_args(json_t *args, long *since_ms, long *points, char *err, size_t err_len)
{
    *since_ms = 0;
    *points = STATS_POINTS;
    return cmd_arg_int_opt(args, "since_ms", 0, INT64_MAX, since_ms, err, err_len) < 0 ||
                   cmd_arg_int_opt(args, "max_points", 0, 100000, points, err, err_len) < 0
               ? -EINVAL
               : 0;
}

static int
cmd_dpu_stats(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct hostd *h = ctx->aux;
    struct hostd_monitor *m = h->mon;
    const char *only = NULL;
    long since, points;
    if (cmd_arg_str_opt(args, "dpu", &only, err, err_len) < 0 ||
        stats_args(args, &since, &points, err, err_len) < 0)
        return -EINVAL;
    if (only && !hostd_dpu_find(h, only))
        return err_set(err, err_len, -ENOENT, "no DPU %s", only);
    json_t *a = json_array();
    for (unsigned i = 0; i < h->n_dpus; i++) {
        if (only && strcmp(only, h->dpus[i].name))
            continue;
        pthread_mutex_lock(&m->mu);
        const struct mon_dpu *x = &m->dpu[i];
        json_t *d = json_pack("{s:s,s:b,s:i,s:o}", "dpu", h->dpus[i].name, "up", x->up,
                              "interval_s", (int)m->interval_s, "sample", metric_set_json(&x->cur));
        if (x->why[0])
            json_object_set_new(d, "why", json_string(x->why));
        bool up = x->up;
        pthread_mutex_unlock(&m->mu);
        /* The hour of history lives on the DPU. */
        json_t *hist = NULL, *hargs = json_pack("{s:I,s:I}", "since_ms", (json_int_t)since,
                                                "max_points", (json_int_t)points);
        if (up && hostd_dpu_call(h, &h->dpus[i], "monitor.history", hargs, &hist, NULL, 0) == 0)
            json_object_set(d, "history", json_object_get(hist, "series"));
        json_decref(hargs);
        json_decref(hist);
        json_array_append_new(a, d);
    }
    *result = a;
    return 0;
}

static int
cmd_host_stats(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct hostd *h = ctx->aux;
    struct hostd_monitor *m = h->mon;
    long since, points;
    if (stats_args(args, &since, &points, err, err_len) < 0)
        return -EINVAL;
    pthread_mutex_lock(&m->mu);
    *result = json_pack("{s:s,s:i,s:o,s:o}", "host", h->name, "interval_s", (int)m->interval_s,
                        "sample", metric_set_json(&m->host_cur), "history",
                        history_json(m->host_hist, "", (uint64_t)since, (unsigned)points));
    pthread_mutex_unlock(&m->mu);
    return 0;
}

static int
cmd_host_metrics(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct hostd_monitor *m = ((struct hostd *)ctx->aux)->mon;
    size_t len = 0;
    pthread_mutex_lock(&m->mu);
    char *text = hostd_monitor_exposition(m, &len);
    pthread_mutex_unlock(&m->mu);
    if (!text)
        return err_set(err, err_len, -ENOMEM, "out of memory");
    *result = json_pack("{s:s%}", "text", text, len);
    free(text);
    return 0;
}

const struct cmd_def hostd_monitor_commands[] = {
    {.name = "monitor.show", .usage = "", .fn = cmd_monitor_show, .roles = AUTHZ_MANAGER},
    {.name = "monitor.set",
     .usage = "{interval_s}: 1..3600, 0 off",
     .fn = cmd_monitor_set,
     .roles = AUTHZ_MANAGER},
    {.name = "alarm.list", .usage = "{[all]}", .fn = cmd_alarm_list, .roles = AUTHZ_MANAGER},
    {.name = "alarm.ack", .usage = "{id}", .fn = cmd_alarm_ack, .roles = AUTHZ_MANAGER},
    {.name = "alarm.def.list", .usage = "", .fn = cmd_def_list, .roles = AUTHZ_MANAGER},
    {.name = "alarm.def.add",
     .usage = "{def: {name, metric|event, ...}}",
     .fn = cmd_def_add,
     .roles = AUTHZ_MANAGER},
    {.name = "alarm.def.del", .usage = "{name}", .fn = cmd_def_del, .roles = AUTHZ_MANAGER},
    {.name = "notify.list", .usage = "", .fn = cmd_notify_list, .roles = AUTHZ_MANAGER},
    {.name = "notify.add",
     .usage = "{kind: webhook|command, target, [args: [...]]}",
     .fn = cmd_notify_add,
     .roles = AUTHZ_MANAGER},
    {.name = "notify.del", .usage = "{target}", .fn = cmd_notify_del, .roles = AUTHZ_MANAGER},
    {.name = "event.list",
     .usage = "{[since], [limit], [type]}",
     .fn = cmd_event_list,
     .roles = AUTHZ_MANAGER},
    {.name = "dpu.stats",
     .usage = "{[dpu], [since_ms], [max_points]}",
     .fn = cmd_dpu_stats,
     .roles = AUTHZ_MANAGER},
    {.name = "host.stats",
     .usage = "{[since_ms], [max_points]}",
     .fn = cmd_host_stats,
     .roles = AUTHZ_MANAGER},
    {.name = "host.metrics", .usage = "", .fn = cmd_host_metrics, .roles = AUTHZ_MANAGER},
};
const size_t hostd_n_monitor_commands = ARRAY_SIZE(hostd_monitor_commands);
