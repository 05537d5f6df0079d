/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz-alarmdef: arbitrary bytes as an alarm definition (what `dsectl alarm
 * def add` sends).  A refusal must say why on one line, and the same way from
 * alarm_def_check() and alarm_def_add(); what is accepted must come back from
 * alarm_defs_json() as a definition that is accepted again, and must survive
 * samples around its thresholds, its events, gray, ack, the list and deletion
 * with every change reported on one line.
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/alarm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
on_change(void *aux, const struct alarm_change *c)
{
    size_t n = strlen(c->def);
    if (strncmp(c->id, c->def, n) || c->id[n] != '@' || strcmp(c->id + n + 1, c->object) ||
        strchr(c->message, '\n') || c->from > ALARM_RED || c->to > ALARM_RED)
        abort();
}

/* Values around what the definition names, and some that are not. */
static void
feed_samples(struct alarm_engine *e, const json_t *def, const char *metric)
{
    static const char *const objects[] = {"host", "dpu1", "dpu1/temp1", "dpu10"};
    double v[16] = {-1e300, -1, 0, 0.5, 1, 85, 95, 1e300, NAN, INFINITY};
    size_t n = 10;
    double h = json_number_value(json_object_get(def, "hysteresis"));
    static const char *const keys[] = {"warning", "critical"};
    for (size_t i = 0; i < 2; i++) {
        double t = json_number_value(json_object_get(def, keys[i]));
        v[n++] = t;
        v[n++] = t - h - 0.001;
        v[n++] = t + h + 0.001;
    }
    uint64_t now = 0;
    for (size_t round = 0; round < 3; round++)
        for (size_t i = 0; i < n; i++)
            for (size_t o = 0; o < 4; o++) {
                alarm_engine_sample(e, metric, objects[o], v[(i + round * 5) % n], now);
                now += 1000 * (round + 1);
            }
    alarm_engine_gray(e, "dpu1", now);
}

static void
check_round_trip(const struct alarm_engine *e, const char *name)
{
    json_t *defs = alarm_defs_json(e), *d;
    size_t i;
    char err[256];
    if (!defs)
        abort();
    json_array_foreach (defs, i, d) {
        if (strcmp(json_string_value(json_object_get(d, "name")), name))
            continue;
        json_t *copy = json_copy(d);
        json_object_del(copy, "builtin");
        if (!alarm_def_check(copy, err, sizeof err))
            abort();
        json_decref(copy);
    }
    json_decref(defs);
}

static void
exercise(struct alarm_engine *e, const json_t *def, const char *name)
{
    const char *metric = json_string_value(json_object_get(def, "metric"));
    const char *event = json_string_value(json_object_get(def, "event"));
    const char *clear = json_string_value(json_object_get(def, "clear_event"));
    char id[128];
    check_round_trip(e, name);
    if (metric)
        feed_samples(e, def, metric);
    if (event) {
        alarm_engine_event(e, event, "dpu1", "raised\nover two lines", 1);
        alarm_engine_event(e, event, "dpu1", NULL, 2);
    }
    snprintf(id, sizeof id, "%s@dpu1", name);
    int rc = alarm_ack(e, id, "fuzz", 3);
    if (rc && rc != -EALREADY && rc != -ENOENT)
        abort();
    if (clear)
        alarm_engine_event(e, clear, "dpu1", "cleared", 4);
    json_t *list = alarm_list_json(e, true), *some = alarm_list_json(e, false);
    if (!list || !some || json_array_size(some) > json_array_size(list))
        abort();
    json_decref(list);
    json_decref(some);
    if (alarm_def_del(e, name) || alarm_state_of(e, id) != -1)
        abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *def = json_loadb((const char *)data, size, 0, NULL);
    char err[256] = "", err2[256] = "";
    bool ok = alarm_def_check(def, err, sizeof err);
    if (!ok && (!err[0] || strchr(err, '\n')))
        abort();
    if (!json_is_object(def)) {
        json_decref(def);
        return 0;
    }
    struct alarm_engine *e = alarm_engine_create(on_change, NULL);
    if (!e)
        abort();
    int rc = alarm_def_add(e, def, err2, sizeof err2);
    if (ok ? rc != 0 && rc != -EEXIST : rc != -EINVAL || strcmp(err, err2))
        abort();
    if (rc == 0)
        exercise(e, def, json_string_value(json_object_get(def, "name")));
    alarm_engine_destroy(e);
    json_decref(def);
    return 0;
}
