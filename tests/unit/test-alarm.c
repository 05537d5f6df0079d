/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The alarm engine (monitor/alarm.h): definitions refused with their reasons,
 * the built-ins, and the state machine driven by samples and events with
 * explicit times: rising after for_s, falling past the hysteresis, gray by
 * object prefix, event alarms, ack, the list's order, one report per change,
 * and thousands of alarms in linear time without allocating per sample.  The
 * test links with the allocator wrapped (-Wl,--wrap=malloc,...) to count the
 * allocations made by the sample path.
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/alarm.h"
#include "tests/unit/check.h"
#include "lib/log.h"
#include "lib/util.h"

#include "tests/unit/alloc-count.h"

/* The built-in definitions (monitor/alarm-def.c), which every engine has. */
#define BUILTINS 9

/* ---- fixture: an engine whose changes are recorded ---- */

#define MAX_SEEN 64

struct seen {
    char id[160];
    enum alarm_state from, to;
    bool has_value;
    double value;
    char message[512];
    uint64_t time_ms;
};

static struct seen seen[MAX_SEEN], last; /* the first MAX_SEEN changes; the last one */
static int n_seen;
static bool is_bad_change; /* a change that broke the callback's contract */

static void
record(void *aux, const struct alarm_change *c)
{
    char id[160];
    snprintf(id, sizeof id, "%s@%s", c->def, c->object);
    if (aux != &n_seen || strcmp(id, c->id) || !c->message || strchr(c->message, '\n'))
        is_bad_change = true;
    struct seen *s = &last;
    snprintf(s->id, sizeof s->id, "%s", c->id);
    s->from = c->from;
    s->to = c->to;
    s->has_value = c->has_value;
    s->value = c->value;
    snprintf(s->message, sizeof s->message, "%s", c->message);
    s->time_ms = c->time_ms;
    if (n_seen < MAX_SEEN)
        seen[n_seen] = last;
    n_seen++;
}

static struct alarm_engine *
engine(void)
{
    log_init("test-alarm", NULL, LL_ERR);
    n_seen = 0;
    is_bad_change = false;
    return alarm_engine_create(record, &n_seen);
}

/* Adds definition 'text'; returns alarm_def_add()'s result. */
static int
add(struct alarm_engine *e, const char *text)
{
    json_t *j = json_loads(text, 0, NULL);
    char err[256] = "";
    int rc = j ? alarm_def_add(e, j, err, sizeof err) : -999;
    if (rc)
        fprintf(stderr, "add %s: %s\n", text, err);
    json_decref(j);
    return rc;
}

/* A plain definition: warning 85, critical 95, hysteresis 5, no wait. */
#define TEMP_DEF                                                                                   \
    "{\"name\": \"temp\", \"description\": \"Temp\", \"metric\": \"temp\","                        \
    " \"warning\": 85, \"critical\": 95, \"hysteresis\": 5}"

/* ---- definitions ---- */

static const struct {
    const char *def, *reason;
} refusals[] = {
    {"[]", "a definition is a JSON object"},
    {"{\"metric\": \"m\", \"warning\": 1}", "missing \"name\""},
    {"{\"name\": 5, \"metric\": \"m\", \"warning\": 1}", "\"name\" is not a string"},
    {"{\"name\": \"Big\", \"metric\": \"m\", \"warning\": 1}",
     "name \"Big\" is not [a-z0-9][a-z0-9._-]{0,47}"},
    {"{\"name\": \"-x\", \"metric\": \"m\", \"warning\": 1}",
     "name \"-x\" is not [a-z0-9][a-z0-9._-]{0,47}"},
    {"{\"name\": \"a123456789a123456789a123456789a123456789a12345678\","
     " \"metric\": \"m\", \"warning\": 1}",
     "name \"a123456789a123456789a123456789a12345...\" is not [a-z0-9][a-z0-9._-]{0,47}"},
    {"{\"name\": \"a\", \"description\": \"one\\ntwo\", \"metric\": \"m\","
     " \"warning\": 1}",
     "description has a control character (one line)"},
    {"{\"name\": \"a\", \"description\": 7, \"metric\": \"m\", \"warning\": 1}",
     "\"description\" is not a string"},
    {"{\"name\": \"a\", \"metric\": \"m\", \"event\": \"e\", \"warning\": 1}",
     "both \"metric\" and \"event\": a definition has one"},
    {"{\"name\": \"a\", \"description\": \"d\"}", "needs \"metric\" or \"event\""},
    {"{\"name\": \"a\", \"metric\": \"m\", \"warning\": 1, \"colour\": \"red\"}",
     "unknown key \"colour\""},
    {"{\"name\": \"a\", \"metric\": \"m\", \"warning\": 1, \"x\\ny\": 1}", "unknown key \"x y\""},
    {"{\"name\": \"a\", \"metric\": \"m\", \"warning\": 1, \"level\": \"red\"}",
     "\"level\" is for event definitions, not metric ones"},
    {"{\"name\": \"a\", \"event\": \"e\", \"for_s\": 5}",
     "\"for_s\" is for metric definitions, not event ones"},
    {"{\"name\": \"a\", \"metric\": \"Bad Metric\", \"warning\": 1}",
     "metric \"Bad Metric\" is not [a-z0-9_.:]{1,64}"},
    {"{\"name\": \"a\", \"metric\": \"\", \"warning\": 1}", "metric \"\" is not [a-z0-9_.:]{1,64}"},
    {"{\"name\": \"a\", \"metric\": 3, \"warning\": 1}", "\"metric\" is not a string"},
    {"{\"name\": \"a\", \"metric\": \"m\", \"direction\": \"sideways\", \"warning\": 1}",
     "direction \"sideways\" is not \"above\" or \"below\""},
    {"{\"name\": \"a\", \"metric\": \"m\"}", "needs \"warning\" or \"critical\" (or both)"},
    {"{\"name\": \"a\", \"metric\": \"m\", \"warning\": \"high\"}", "\"warning\" is not a number"},
    {"{\"name\": \"a\", \"metric\": \"m\", \"critical\": null}", "\"critical\" is not a number"},
    {"{\"name\": \"a\", \"metric\": \"m\", \"warning\": 95, \"critical\": 85}",
     "warning 95 is above critical 85 for \"above\""},
    {"{\"name\": \"a\", \"metric\": \"m\", \"direction\": \"below\", \"warning\": 5,"
     " \"critical\": 10}",
     "warning 5 is below critical 10 for \"below\""},
    {"{\"name\": \"a\", \"metric\": \"m\", \"warning\": 1, \"for_s\": 86401}",
     "for_s 86401 is out of 0..86400"},
    {"{\"name\": \"a\", \"metric\": \"m\", \"warning\": 1, \"for_s\": -1}",
     "for_s -1 is out of 0..86400"},
    {"{\"name\": \"a\", \"metric\": \"m\", \"warning\": 1, \"for_s\": 2.5}",
     "for_s 2.5 is not a whole number of seconds"},
    {"{\"name\": \"a\", \"metric\": \"m\", \"warning\": 1, \"for_s\": \"5\"}",
     "\"for_s\" is not a number"},
    {"{\"name\": \"a\", \"metric\": \"m\", \"warning\": 1, \"hysteresis\": -0.5}",
     "hysteresis -0.5 is negative"},
    {"{\"name\": \"a\", \"event\": \"Boot\"}", "event \"Boot\" is not [a-z0-9_.:]{1,64}"},
    {"{\"name\": \"a\", \"event\": \"e\", \"level\": \"green\"}",
     "level \"green\" is not \"yellow\" or \"red\""},
    {"{\"name\": \"a\", \"event\": \"e\", \"clear_event\": \"e\"}",
     "clear_event \"e\" is the event that raises it"},
    {"{\"name\": \"a\", \"event\": \"e\", \"clear_event\": \"e f\"}",
     "clear_event \"e f\" is not [a-z0-9_.:]{1,64}"},
};

static void
def_check_refuses_each_rule_with_its_reason(void)
{
    struct alarm_engine *e = engine();
    for (size_t i = 0; i < ARRAY_SIZE(refusals); i++) {
        json_t *j = json_loads(refusals[i].def, 0, NULL);
        char err[256] = "", err2[256] = "";
        ASSERT_NOT_NULL(j);
        ASSERT_FALSE(alarm_def_check(j, err, sizeof err));
        ASSERT_STREQ(err, refusals[i].reason);
        ASSERT_EQ(alarm_def_add(e, j, err2, sizeof err2), -EINVAL);
        ASSERT_STREQ(err2, refusals[i].reason);
        json_decref(j);
    }
    json_t *defs = alarm_defs_json(e);
    ASSERT_EQ(json_array_size(defs), BUILTINS); /* nothing was added */
    json_decref(defs);
    alarm_engine_destroy(e);
}

static void
def_check_refuses_oversized_description_and_metric(void)
{
    char desc[202], metric[66], text[512], err[256] = "";
    memset(desc, 'd', 201);
    desc[201] = '\0';
    memset(metric, 'm', 65);
    metric[65] = '\0';
    snprintf(text, sizeof text,
             "{\"name\": \"a\", \"description\": \"%s\", \"metric\": \"m\","
             " \"warning\": 1}",
             desc);
    json_t *j = json_loads(text, 0, NULL);
    ASSERT_FALSE(alarm_def_check(j, err, sizeof err));
    ASSERT_STREQ(err, "description is 201 bytes, more than 200");
    json_decref(j);
    desc[200] = '\0'; /* 200 bytes: accepted */
    snprintf(text, sizeof text,
             "{\"name\": \"a\", \"description\": \"%s\", \"metric\": \"m\","
             " \"warning\": 1}",
             desc);
    j = json_loads(text, 0, NULL);
    ASSERT_TRUE(alarm_def_check(j, err, sizeof err));
    json_decref(j);
    snprintf(text, sizeof text, "{\"name\": \"a\", \"metric\": \"%s\", \"warning\": 1}", metric);
    j = json_loads(text, 0, NULL);
    ASSERT_FALSE(alarm_def_check(j, err, sizeof err));
    ASSERT_TRUE(strstr(err, "is not [a-z0-9_.:]{1,64}") != NULL);
    json_decref(j);
}

static void
def_check_accepts_good_definitions(void)
{
    static const char *const good[] = {
        "{\"name\": \"m1\", \"metric\": \"m\", \"warning\": 1}",
        "{\"name\": \"m2\", \"metric\": \"m\", \"critical\": 1}",
        "{\"name\": \"m3\", \"metric\": \"m\", \"warning\": 1, \"critical\": 1}",
        "{\"name\": \"m4.x_y-z\", \"description\": \"Fan speed\", \"metric\": "
        "\"a.b:c_d\","
        " \"direction\": \"below\", \"warning\": 1000, \"critical\": 500.5, \"for_s\": "
        "86400,"
        " \"hysteresis\": 50}",
        "{\"name\": \"m5\", \"metric\": \"m\", \"warning\": -3, \"for_s\": 60.0}",
        "{\"name\": \"e1\", \"event\": \"a.b\"}",
        "{\"name\": \"e2\", \"description\": \"x\", \"event\": \"a.b\", \"level\": "
        "\"yellow\","
        " \"clear_event\": \"a.c\"}",
    };
    char err[256];
    for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
        json_t *j = json_loads(good[i], 0, NULL);
        err[0] = '\0';
        if (!alarm_def_check(j, err, sizeof err))
            fprintf(stderr, "%s: %s\n", good[i], err);
        ASSERT_TRUE(alarm_def_check(j, err, sizeof err));
        json_decref(j);
    }
    json_t *builtins = alarm_builtin_defs(), *j;
    size_t i;
    ASSERT_EQ(json_array_size(builtins), BUILTINS);
    json_array_foreach (builtins, i, j)
        ASSERT_TRUE(alarm_def_check(j, err, sizeof err));
    json_decref(builtins);
}

static json_t *
def_named(json_t *defs, const char *name)
{
    size_t i;
    json_t *d;
    json_array_foreach (defs, i, d)
        if (!strcmp(json_string_value(json_object_get(d, "name")), name))
            return d;
    return NULL;
}

static double
num(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return v ? json_number_value(v) : NAN;
}

static void
builtins_have_their_documented_thresholds(void)
{
    static const struct {
        const char *name, *metric, *direction;
        double warning, critical, for_s, hysteresis;
    } metric_defs[] = {
        {"dpu-cpu-high", "dse_dpu_cpu_usage_ratio", "above", 0.75, 0.9, 60, 0.05},
        {"dpu-memory-high", "dse_dpu_memory_usage_ratio", "above", 0.85, 0.95, 60, 0.02},
        {"dpu-temperature", "dse_dpu_temperature_celsius", "above", 85, 95, 5, 5},
        {"sensor-unhealthy", "dse_dpu_sensor_healthy", "below", NAN, 0.5, 0, 0},
        {"dpu-unreachable", "dse_dpu_up", "below", NAN, 0.5, 0, 0},
        {"uplink-down", "dse_dpu_uplink_up", "below", 0.5, NAN, 0, 0},
    };
    json_t *defs = alarm_builtin_defs();
    for (size_t i = 0; i < ARRAY_SIZE(metric_defs); i++) {
        json_t *d = def_named(defs, metric_defs[i].name);
        ASSERT_NOT_NULL(d);
        ASSERT_STREQ(json_string_value(json_object_get(d, "metric")), metric_defs[i].metric);
        ASSERT_STREQ(json_string_value(json_object_get(d, "direction")), metric_defs[i].direction);
        double w = num(d, "warning"), c = num(d, "critical");
        ASSERT_TRUE(isnan(metric_defs[i].warning) ? isnan(w) : w == metric_defs[i].warning);
        ASSERT_TRUE(isnan(metric_defs[i].critical) ? isnan(c) : c == metric_defs[i].critical);
        ASSERT_TRUE(num(d, "for_s") == metric_defs[i].for_s);
        ASSERT_TRUE((json_object_get(d, "hysteresis") ? num(d, "hysteresis") : 0) ==
                    metric_defs[i].hysteresis);
        ASSERT_NOT_NULL(json_string_value(json_object_get(d, "description")));
    }
    json_t *boot = def_named(defs, "boot-rolled-back"), *fo = def_named(defs, "dpu-failover");
    ASSERT_STREQ(json_string_value(json_object_get(boot, "event")), "boot.rolled_back");
    ASSERT_STREQ(json_string_value(json_object_get(boot, "level")), "yellow");
    ASSERT_STREQ(json_string_value(json_object_get(boot, "clear_event")), "boot.ok");
    ASSERT_STREQ(json_string_value(json_object_get(fo, "event")), "dpu.failover");
    ASSERT_STREQ(json_string_value(json_object_get(fo, "level")), "yellow");
    ASSERT_NULL(json_object_get(fo, "clear_event"));
    ASSERT_NOT_NULL(json_string_value(json_object_get(fo, "description")));
    json_decref(defs);
}

static void
builtins_are_listed_first_and_cannot_be_deleted(void)
{
    struct alarm_engine *e = engine();
    ASSERT_EQ(add(e, TEMP_DEF), 0);
    json_t *defs = alarm_defs_json(e);
    ASSERT_EQ(json_array_size(defs), BUILTINS + 1);
    for (size_t i = 0; i < BUILTINS; i++)
        ASSERT_TRUE(json_is_true(json_object_get(json_array_get(defs, i), "builtin")));
    json_t *mine = json_array_get(defs, BUILTINS);
    ASSERT_STREQ(json_string_value(json_object_get(mine, "name")), "temp");
    ASSERT_TRUE(json_is_false(json_object_get(mine, "builtin")));
    ASSERT_STREQ(json_string_value(json_object_get(mine, "direction")), "above"); /* default */
    ASSERT_EQ(json_integer_value(json_object_get(mine, "for_s")), 0);
    json_decref(defs);
    ASSERT_EQ(alarm_def_del(e, "dpu-temperature"), -EPERM);
    ASSERT_EQ(alarm_def_del(e, "boot-rolled-back"), -EPERM);
    ASSERT_EQ(alarm_def_del(e, "nope"), -ENOENT);
    ASSERT_EQ(alarm_def_del(e, "temp"), 0);
    ASSERT_EQ(alarm_def_del(e, "temp"), -ENOENT);
    defs = alarm_defs_json(e);
    ASSERT_EQ(json_array_size(defs), BUILTINS);
    json_decref(defs);
    alarm_engine_destroy(e);
}

static void
def_add_refuses_a_taken_name(void)
{
    struct alarm_engine *e = engine();
    char err[256] = "";
    json_t *j = json_pack("{s:s,s:s,s:i}", "name", "dpu-temperature", "metric", "x", "warning", 1);
    ASSERT_EQ(alarm_def_add(e, j, err, sizeof err), -EEXIST);
    ASSERT_STREQ(err, "a built-in definition named \"dpu-temperature\" exists");
    json_decref(j);
    ASSERT_EQ(add(e, TEMP_DEF), 0);
    ASSERT_EQ(add(e, TEMP_DEF), -EEXIST);
    alarm_engine_destroy(e);
}

static void
def_add_refuses_more_than_the_maximum(void)
{
    struct alarm_engine *e = engine();
    char text[128];
    for (int i = 0; i < ALARM_MAX_DEFS - BUILTINS; i++) {
        snprintf(text, sizeof text, "{\"name\": \"d%d\", \"metric\": \"m%d\", \"warning\": 1}", i,
                 i % 7);
        ASSERT_EQ(add(e, text), 0);
    }
    ASSERT_EQ(add(e, "{\"name\": \"one-more\", \"event\": \"x\"}"), -ENOSPC);
    /* Every definition on a metric is evaluated, also in a full engine. */
    alarm_engine_sample(e, "m3", "host", 2, 0);
    ASSERT_EQ(alarm_state_of(e, "d3@host"), ALARM_YELLOW);
    ASSERT_EQ(alarm_state_of(e, "d10@host"), ALARM_YELLOW);
    ASSERT_EQ(alarm_state_of(e, "d4@host"), -1);
    ASSERT_EQ(alarm_def_del(e, "d0"), 0);
    ASSERT_EQ(add(e, "{\"name\": \"one-more\", \"event\": \"x\"}"), 0);
    alarm_engine_destroy(e);
}

/* ---- metric alarms ---- */

static void
alarm_is_gray_until_its_first_value(void)
{
    struct alarm_engine *e = engine();
    ASSERT_EQ(alarm_state_of(e, "dpu-temperature@dpu1"), -1);
    alarm_engine_sample(e, "dse_dpu_temperature_celsius", "dpu1", 40, 1000);
    ASSERT_EQ(n_seen, 1);
    ASSERT_EQ(seen[0].from, ALARM_GRAY);
    ASSERT_EQ(seen[0].to, ALARM_GREEN);
    ASSERT_STREQ(seen[0].id, "dpu-temperature@dpu1");
    ASSERT_STREQ(seen[0].message, "DPU temperature 40: first value");
    ASSERT_TRUE(seen[0].has_value && seen[0].value == 40);
    ASSERT_EQ(seen[0].time_ms, 1000);
    ASSERT_EQ(alarm_state_of(e, "dpu-temperature@dpu1"), ALARM_GREEN);
    ASSERT_FALSE(is_bad_change);
    alarm_engine_destroy(e);
}

static void
alarm_rises_only_after_for_s_of_continuous_values(void)
{
    struct alarm_engine *e = engine(); /* dpu-temperature: 85/95, for_s 5 */
    const char *m = "dse_dpu_temperature_celsius", *id = "dpu-temperature@dpu1/temp1";
    alarm_engine_sample(e, m, "dpu1/temp1", 70, 0);
    alarm_engine_sample(e, m, "dpu1/temp1", 90, 1000);
    alarm_engine_sample(e, m, "dpu1/temp1", 90, 5500);
    ASSERT_EQ(alarm_state_of(e, id), ALARM_GREEN);     /* 4.5 s */
    alarm_engine_sample(e, m, "dpu1/temp1", 84, 5800); /* a dip restarts the wait */
    alarm_engine_sample(e, m, "dpu1/temp1", 90, 6000);
    alarm_engine_sample(e, m, "dpu1/temp1", 91, 10999);
    ASSERT_EQ(alarm_state_of(e, id), ALARM_GREEN);
    alarm_engine_sample(e, m, "dpu1/temp1", 92, 11000);
    ASSERT_EQ(alarm_state_of(e, id), ALARM_YELLOW);
    ASSERT_EQ(n_seen, 2);
    ASSERT_EQ(seen[1].from, ALARM_GREEN);
    ASSERT_EQ(seen[1].to, ALARM_YELLOW);
    ASSERT_STREQ(seen[1].message, "DPU temperature 92 >= 85 (warning)");
    ASSERT_EQ(seen[1].time_ms, 11000);
    alarm_engine_sample(e, m, "dpu1/temp1", 96, 12000);
    alarm_engine_sample(e, m, "dpu1/temp1", 94, 14000); /* yellow, not red: restarts red */
    alarm_engine_sample(e, m, "dpu1/temp1", 96, 15000);
    alarm_engine_sample(e, m, "dpu1/temp1", 97, 19999);
    ASSERT_EQ(alarm_state_of(e, id), ALARM_YELLOW);
    alarm_engine_sample(e, m, "dpu1/temp1", 96, 20000);
    ASSERT_EQ(alarm_state_of(e, id), ALARM_RED);
    ASSERT_EQ(n_seen, 3);
    ASSERT_STREQ(seen[2].message, "DPU temperature 96 >= 95 (critical)");
    alarm_engine_destroy(e);
}

static void
alarm_rises_to_yellow_first_when_red_has_not_held(void)
{
    struct alarm_engine *e = engine();
    const char *m = "dse_dpu_temperature_celsius", *id = "dpu-temperature@dpu1";
    alarm_engine_sample(e, m, "dpu1", 88, 0);    /* yellow waits from 0 */
    alarm_engine_sample(e, m, "dpu1", 99, 3000); /* red waits from 3 s */
    alarm_engine_sample(e, m, "dpu1", 99, 5000);
    ASSERT_EQ(alarm_state_of(e, id), ALARM_YELLOW);
    alarm_engine_sample(e, m, "dpu1", 99, 8000);
    ASSERT_EQ(alarm_state_of(e, id), ALARM_RED);
    ASSERT_EQ(n_seen, 3);
    ASSERT_EQ(seen[0].to, ALARM_GREEN);
    ASSERT_STREQ(seen[0].message, "DPU temperature 88: first value, warning if it holds 5 s");
    ASSERT_EQ(seen[1].to, ALARM_YELLOW);
    ASSERT_EQ(seen[2].from, ALARM_YELLOW);
    ASSERT_EQ(seen[2].to, ALARM_RED);
    alarm_engine_destroy(e);
}

static void
alarm_falls_only_past_the_hysteresis(void)
{
    struct alarm_engine *e = engine();
    ASSERT_EQ(add(e, TEMP_DEF), 0);
    alarm_engine_sample(e, "temp", "host", 96, 0);
    ASSERT_EQ(alarm_state_of(e, "temp@host"), ALARM_RED);
    alarm_engine_sample(e, "temp", "host", 90.01, 1); /* 95 - 5 + epsilon */
    alarm_engine_sample(e, "temp", "host", 90, 2);    /* at the bound: not past it */
    ASSERT_EQ(alarm_state_of(e, "temp@host"), ALARM_RED);
    alarm_engine_sample(e, "temp", "host", 89.5, 3);
    ASSERT_EQ(alarm_state_of(e, "temp@host"), ALARM_YELLOW);
    ASSERT_EQ(n_seen, 2);
    ASSERT_EQ(seen[1].from, ALARM_RED);
    ASSERT_EQ(seen[1].to, ALARM_YELLOW);
    ASSERT_STREQ(seen[1].message, "Temp 89.5 < 90 (critical 95 - hysteresis 5): down to warning");
    alarm_engine_sample(e, "temp", "host", 80.01, 4);
    alarm_engine_sample(e, "temp", "host", 80, 5);
    ASSERT_EQ(alarm_state_of(e, "temp@host"), ALARM_YELLOW);
    alarm_engine_sample(e, "temp", "host", 79.9, 6);
    ASSERT_EQ(alarm_state_of(e, "temp@host"), ALARM_GREEN);
    ASSERT_EQ(n_seen, 3);
    ASSERT_STREQ(seen[2].message, "Temp back to 79.9 < 80 (warning 85 - hysteresis 5)");
    ASSERT_TRUE(seen[2].value == 79.9);
    alarm_engine_destroy(e);
}

static void
red_falls_straight_to_green_or_to_yellow(void)
{
    struct alarm_engine *e = engine();
    ASSERT_EQ(add(e, TEMP_DEF), 0);
    alarm_engine_sample(e, "temp", "a", 99, 0);
    alarm_engine_sample(e, "temp", "a", 50, 1);
    ASSERT_EQ(n_seen, 2);
    ASSERT_EQ(seen[1].from, ALARM_RED);
    ASSERT_EQ(seen[1].to, ALARM_GREEN);
    alarm_engine_sample(e, "temp", "b", 99, 2);
    alarm_engine_sample(e, "temp", "b", 82, 3); /* under 85, not past 80: yellow */
    ASSERT_EQ(alarm_state_of(e, "temp@b"), ALARM_YELLOW);
    /* A definition with no warning falls from red to green by critical. */
    ASSERT_EQ(add(e, "{\"name\": \"crit\", \"metric\": \"c\", \"critical\": 10,"
                     " \"hysteresis\": 1}"),
              0);
    alarm_engine_sample(e, "c", "x", 10, 4);
    alarm_engine_sample(e, "c", "x", 9.5, 5);
    ASSERT_EQ(alarm_state_of(e, "crit@x"), ALARM_RED);
    alarm_engine_sample(e, "c", "x", 8.5, 6);
    ASSERT_EQ(alarm_state_of(e, "crit@x"), ALARM_GREEN);
    ASSERT_STREQ(last.message, "c back to 8.5 < 9 (critical 10 - hysteresis 1)");
    alarm_engine_destroy(e);
}

static void
below_direction_mirrors_the_thresholds(void)
{
    struct alarm_engine *e = engine();
    ASSERT_EQ(add(e, "{\"name\": \"fan\", \"description\": \"Fan\", \"metric\": \"fan\","
                     " \"direction\": \"below\", \"warning\": 20, \"critical\": 10,"
                     " \"hysteresis\": 2}"),
              0);
    alarm_engine_sample(e, "fan", "f1", 25, 0);
    alarm_engine_sample(e, "fan", "f1", 20, 1);
    ASSERT_EQ(alarm_state_of(e, "fan@f1"), ALARM_YELLOW);
    ASSERT_STREQ(seen[1].message, "Fan 20 <= 20 (warning)");
    alarm_engine_sample(e, "fan", "f1", 10, 2);
    ASSERT_EQ(alarm_state_of(e, "fan@f1"), ALARM_RED);
    ASSERT_STREQ(seen[2].message, "Fan 10 <= 10 (critical)");
    alarm_engine_sample(e, "fan", "f1", 12, 3);
    ASSERT_EQ(alarm_state_of(e, "fan@f1"), ALARM_RED);
    alarm_engine_sample(e, "fan", "f1", 12.5, 4);
    ASSERT_EQ(alarm_state_of(e, "fan@f1"), ALARM_YELLOW);
    alarm_engine_sample(e, "fan", "f1", 22, 5);
    ASSERT_EQ(alarm_state_of(e, "fan@f1"), ALARM_YELLOW);
    alarm_engine_sample(e, "fan", "f1", 22.5, 6);
    ASSERT_EQ(alarm_state_of(e, "fan@f1"), ALARM_GREEN);
    ASSERT_STREQ(seen[4].message, "Fan back to 22.5 > 22 (warning 20 + hysteresis 2)");
    /* The built-in: a DPU that is down is red at once. */
    alarm_engine_sample(e, "dse_dpu_up", "dpu2", 0, 7);
    ASSERT_EQ(alarm_state_of(e, "dpu-unreachable@dpu2"), ALARM_RED);
    ASSERT_EQ(seen[5].from, ALARM_GRAY);
    ASSERT_STREQ(seen[5].message, "DPU reachability 0 <= 0.5 (critical)");
    alarm_engine_sample(e, "dse_dpu_up", "dpu2", 1, 8);
    ASSERT_EQ(alarm_state_of(e, "dpu-unreachable@dpu2"), ALARM_GREEN);
    ASSERT_STREQ(seen[6].message, "DPU reachability back to 1 > 0.5 (critical)");
    alarm_engine_destroy(e);
}

static void
gray_covers_the_object_and_its_subobjects_only(void)
{
    struct alarm_engine *e = engine();
    const char *m = "dse_dpu_temperature_celsius";
    static const char *const objects[] = {"dpu1", "dpu1/temp1", "dpu10", "dpu10/temp1", "host"};
    for (size_t i = 0; i < ARRAY_SIZE(objects); i++)
        alarm_engine_sample(e, m, objects[i], 40, 0);
    alarm_engine_event(e, "dpu.failover", "dpu1", "dpu1 failed over", 0);
    int before = n_seen;
    alarm_engine_gray(e, "dpu1", 100);
    ASSERT_EQ(n_seen - before, 2);
    ASSERT_EQ(alarm_state_of(e, "dpu-temperature@dpu1"), ALARM_GRAY);
    ASSERT_EQ(alarm_state_of(e, "dpu-temperature@dpu1/temp1"), ALARM_GRAY);
    ASSERT_EQ(alarm_state_of(e, "dpu-temperature@dpu10"), ALARM_GREEN);
    ASSERT_EQ(alarm_state_of(e, "dpu-temperature@dpu10/temp1"), ALARM_GREEN);
    ASSERT_EQ(alarm_state_of(e, "dpu-temperature@host"), ALARM_GREEN);
    ASSERT_EQ(alarm_state_of(e, "dpu-failover@dpu1"), ALARM_YELLOW); /* events: not gray */
    ASSERT_EQ(seen[before].to, ALARM_GRAY);
    ASSERT_FALSE(seen[before].has_value);
    ASSERT_STREQ(seen[before].message, "DPU temperature: no data from dpu1");
    alarm_engine_gray(e, "dpu1", 200); /* already gray: no change */
    ASSERT_EQ(n_seen - before, 2);
    alarm_engine_destroy(e);
}

static void
gray_is_left_on_the_next_value(void)
{
    struct alarm_engine *e = engine();
    const char *m = "dse_dpu_temperature_celsius", *id = "dpu-temperature@dpu1";
    alarm_engine_sample(e, m, "dpu1", 99, 0);
    alarm_engine_sample(e, m, "dpu1", 99, 5000);
    ASSERT_EQ(alarm_state_of(e, id), ALARM_RED);
    alarm_engine_gray(e, "dpu1", 6000);
    /* Back, still hot: green at once, red only after for_s of new values. */
    alarm_engine_sample(e, m, "dpu1", 99, 60000);
    ASSERT_EQ(alarm_state_of(e, id), ALARM_GREEN);
    ASSERT_EQ(last.from, ALARM_GRAY);
    ASSERT_STREQ(last.message, "DPU temperature 99: data back, critical if it holds 5 s");
    alarm_engine_sample(e, m, "dpu1", 99, 65000);
    ASSERT_EQ(alarm_state_of(e, id), ALARM_RED);
    /* Without a wait, gray goes straight to the level shown. */
    alarm_engine_sample(e, "dse_dpu_up", "dpu1", 1, 0);
    alarm_engine_gray(e, "dpu1", 1);
    alarm_engine_sample(e, "dse_dpu_up", "dpu1", 0, 2);
    ASSERT_EQ(last.from, ALARM_GRAY);
    ASSERT_EQ(last.to, ALARM_RED);
    alarm_engine_destroy(e);
}

static void
nan_and_infinities_are_ignored(void)
{
    struct alarm_engine *e = engine();
    ASSERT_EQ(add(e, TEMP_DEF), 0);
    alarm_engine_sample(e, "temp", "a", NAN, 0);
    ASSERT_EQ(alarm_state_of(e, "temp@a"), -1);
    alarm_engine_sample(e, "temp", "a", 99, 1);
    alarm_engine_sample(e, "temp", "a", NAN, 2);
    alarm_engine_sample(e, "temp", "a", -INFINITY, 3);
    alarm_engine_sample(e, "temp", "a", INFINITY, 3);
    ASSERT_EQ(alarm_state_of(e, "temp@a"), ALARM_RED);
    ASSERT_EQ(n_seen, 1);
    json_t *list = alarm_list_json(e, true);
    ASSERT_TRUE(json_number_value(json_object_get(json_array_get(list, 0), "value")) == 99);
    json_decref(list);
    alarm_engine_destroy(e);
}

static void
odd_objects_are_not_tracked(void)
{
    struct alarm_engine *e = engine();
    char longer[ALARM_OBJECT_MAX + 2];
    memset(longer, 'o', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    alarm_engine_sample(e, "dse_dpu_up", "", 0, 0);
    alarm_engine_sample(e, "dse_dpu_up", "dpu 1", 0, 0);
    alarm_engine_sample(e, "dse_dpu_up", "dpu\n1", 0, 0);
    alarm_engine_sample(e, "dse_dpu_up", longer, 0, 0);
    alarm_engine_event(e, "dpu.failover", "d\xc3\x28", "x", 0);
    ASSERT_EQ(n_seen, 0);
    longer[ALARM_OBJECT_MAX] = '\0'; /* the longest allowed */
    alarm_engine_sample(e, "dse_dpu_up", longer, 0, 0);
    ASSERT_EQ(n_seen, 1);
    alarm_engine_destroy(e);
}

/* ---- event alarms and ack ---- */

static void
event_alarm_is_raised_and_cleared_by_its_clear_event(void)
{
    struct alarm_engine *e = engine();
    alarm_engine_event(e, "boot.rolled_back", "dpu1", "dpu1 booted bank A: bank B failed", 10);
    ASSERT_EQ(alarm_state_of(e, "boot-rolled-back@dpu1"), ALARM_YELLOW);
    ASSERT_EQ(n_seen, 1);
    ASSERT_EQ(seen[0].from, ALARM_GRAY);
    ASSERT_FALSE(seen[0].has_value);
    ASSERT_STREQ(seen[0].message, "dpu1 booted bank A: bank B failed");
    alarm_engine_event(e, "boot.rolled_back", "dpu1", "again", 11); /* already: no change */
    ASSERT_EQ(n_seen, 1);
    ASSERT_EQ(alarm_state_of(e, "boot-rolled-back@dpu2"), -1);
    alarm_engine_event(e, "boot.ok", "dpu1", NULL, 20);
    ASSERT_EQ(alarm_state_of(e, "boot-rolled-back@dpu1"), ALARM_GREEN);
    ASSERT_EQ(n_seen, 2);
    ASSERT_EQ(seen[1].from, ALARM_YELLOW);
    ASSERT_STREQ(seen[1].message, "boot.ok on dpu1");
    alarm_engine_event(e, "boot.rolled_back", "dpu1", "line one\nline two", 30);
    ASSERT_STREQ(seen[2].message, "line one line two");
    ASSERT_FALSE(is_bad_change);
    alarm_engine_destroy(e);
}

static void
event_alarm_without_clear_event_is_cleared_by_ack(void)
{
    struct alarm_engine *e = engine();
    alarm_engine_event(e, "dpu.failover", "dpu1", "dpu1 failed over to dpu2", 0);
    ASSERT_EQ(alarm_state_of(e, "dpu-failover@dpu1"), ALARM_YELLOW);
    ASSERT_EQ(alarm_ack(e, "dpu-failover@dpu1", "unix", 5), 0);
    ASSERT_EQ(alarm_state_of(e, "dpu-failover@dpu1"), ALARM_GREEN);
    ASSERT_EQ(n_seen, 2);
    ASSERT_EQ(seen[1].from, ALARM_YELLOW);
    ASSERT_EQ(seen[1].to, ALARM_GREEN);
    ASSERT_STREQ(seen[1].message, "acknowledged by unix");
    ASSERT_EQ(seen[1].time_ms, 5);
    alarm_engine_destroy(e);
}

static void
ack_refuses_green_gray_and_unknown_alarms(void)
{
    struct alarm_engine *e = engine();
    alarm_engine_sample(e, "dse_dpu_up", "dpu1", 1, 0);
    ASSERT_EQ(alarm_ack(e, "dpu-unreachable@dpu1", "unix", 1), -EALREADY);
    alarm_engine_gray(e, "dpu1", 2);
    ASSERT_EQ(alarm_ack(e, "dpu-unreachable@dpu1", "unix", 3), -EALREADY);
    ASSERT_EQ(alarm_ack(e, "dpu-unreachable@dpu9", "unix", 3), -ENOENT);
    ASSERT_EQ(alarm_ack(e, "nope@dpu1", "unix", 3), -ENOENT);
    ASSERT_EQ(alarm_ack(e, "dpu-unreachable", "unix", 3), -ENOENT);
    ASSERT_EQ(alarm_ack(e, "", "unix", 3), -ENOENT);
    ASSERT_EQ(alarm_state_of(e, "garbage"), -1);
    alarm_engine_destroy(e);
}

static bool
listed_acknowledged(struct alarm_engine *e, const char *id)
{
    json_t *list = alarm_list_json(e, true), *a;
    size_t i;
    bool ack = false;
    json_array_foreach (list, i, a)
        if (!strcmp(json_string_value(json_object_get(a, "id")), id))
            ack = json_is_true(json_object_get(a, "acknowledged"));
    json_decref(list);
    return ack;
}

static void
acknowledged_is_kept_until_the_next_change(void)
{
    struct alarm_engine *e = engine();
    ASSERT_EQ(add(e, TEMP_DEF), 0);
    alarm_engine_sample(e, "temp", "a", 99, 0);
    ASSERT_EQ(alarm_ack(e, "temp@a", "alice\non tty", 1), 0);
    ASSERT_TRUE(listed_acknowledged(e, "temp@a"));
    ASSERT_EQ(n_seen, 2);
    ASSERT_EQ(seen[1].from, ALARM_RED);
    ASSERT_EQ(seen[1].to, ALARM_RED);
    ASSERT_STREQ(seen[1].message, "acknowledged by alice on tty");
    ASSERT_EQ(alarm_ack(e, "temp@a", "bob", 2), 0); /* once is enough */
    ASSERT_EQ(n_seen, 2);
    alarm_engine_sample(e, "temp", "a", 98, 3);
    ASSERT_TRUE(listed_acknowledged(e, "temp@a"));
    alarm_engine_sample(e, "temp", "a", 88, 4); /* red -> yellow: a new situation */
    ASSERT_EQ(alarm_state_of(e, "temp@a"), ALARM_YELLOW);
    ASSERT_FALSE(listed_acknowledged(e, "temp@a"));
    /* The list keeps the level's message, not the ack's. */
    json_t *list = alarm_list_json(e, true);
    ASSERT_STREQ(json_string_value(json_object_get(json_array_get(list, 0), "message")),
                 "Temp 88 < 90 (critical 95 - hysteresis 5): down to warning");
    json_decref(list);
    alarm_engine_destroy(e);
}

/* ---- list and reports ---- */

static void
list_shows_worst_first_then_by_id(void)
{
    struct alarm_engine *e = engine();
    ASSERT_EQ(add(e, TEMP_DEF), 0);
    alarm_engine_sample(e, "temp", "g", 10, 0); /* green */
    alarm_engine_sample(e, "temp", "b-red", 99, 0);
    alarm_engine_sample(e, "temp", "y", 88, 0);
    alarm_engine_sample(e, "temp", "a-red", 99, 0);
    alarm_engine_sample(e, "temp", "gone", 10, 0);
    alarm_engine_gray(e, "gone", 5);
    static const char *const order[] = {"temp@a-red", "temp@b-red", "temp@y", "temp@gone",
                                        "temp@g"};
    json_t *list = alarm_list_json(e, true);
    ASSERT_EQ(json_array_size(list), ARRAY_SIZE(order));
    for (size_t i = 0; i < ARRAY_SIZE(order); i++)
        ASSERT_STREQ(json_string_value(json_object_get(json_array_get(list, i), "id")), order[i]);
    json_t *red = json_array_get(list, 0);
    ASSERT_STREQ(json_string_value(json_object_get(red, "def")), "temp");
    ASSERT_STREQ(json_string_value(json_object_get(red, "object")), "a-red");
    ASSERT_STREQ(json_string_value(json_object_get(red, "state")), "red");
    ASSERT_EQ(json_integer_value(json_object_get(red, "since_ms")), 0);
    ASSERT_TRUE(json_is_false(json_object_get(red, "acknowledged")));
    ASSERT_TRUE(json_number_value(json_object_get(red, "value")) == 99);
    ASSERT_STREQ(json_string_value(json_object_get(red, "message")), "Temp 99 >= 95 (critical)");
    ASSERT_STREQ(json_string_value(json_object_get(red, "description")), "Temp");
    json_t *gray = json_array_get(list, 3);
    ASSERT_NULL(json_object_get(gray, "value"));
    ASSERT_EQ(json_integer_value(json_object_get(gray, "since_ms")), 5);
    json_decref(list);
    list = alarm_list_json(e, false);
    ASSERT_EQ(json_array_size(list), 4); /* no green */
    json_decref(list);
    alarm_engine_destroy(e);
}

static void
every_change_is_reported_once_with_from_and_to(void)
{
    struct alarm_engine *e = engine();
    ASSERT_EQ(add(e, TEMP_DEF), 0);
    static const double values[] = {10, 10, 86, 87, 86, 96, 99, 96, 88, 88, 70, 70, 96};
    static const struct {
        enum alarm_state from, to;
    } want[] = {
        {ALARM_GRAY, ALARM_GREEN}, {ALARM_GREEN, ALARM_YELLOW}, {ALARM_YELLOW, ALARM_RED},
        {ALARM_RED, ALARM_YELLOW}, {ALARM_YELLOW, ALARM_GREEN}, {ALARM_GREEN, ALARM_RED},
        {ALARM_RED, ALARM_GRAY},
    };
    for (size_t i = 0; i < ARRAY_SIZE(values); i++)
        alarm_engine_sample(e, "temp", "x", values[i], i);
    alarm_engine_gray(e, "x", 100);
    alarm_engine_gray(e, "x", 101);
    ASSERT_EQ(n_seen, ARRAY_SIZE(want));
    for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
        ASSERT_EQ(seen[i].from, want[i].from);
        ASSERT_EQ(seen[i].to, want[i].to);
    }
    ASSERT_FALSE(is_bad_change);
    /* No callback: changes still happen. */
    struct alarm_engine *quiet = alarm_engine_create(NULL, NULL);
    alarm_engine_sample(quiet, "dse_dpu_up", "dpu1", 0, 0);
    ASSERT_EQ(alarm_state_of(quiet, "dpu-unreachable@dpu1"), ALARM_RED);
    alarm_engine_destroy(quiet);
    alarm_engine_destroy(e);
}

static void
def_del_drops_its_alarms_and_keeps_the_others(void)
{
    struct alarm_engine *e = engine();
    ASSERT_EQ(add(e, TEMP_DEF), 0);
    ASSERT_EQ(add(e, "{\"name\": \"temp2\", \"metric\": \"temp\", \"critical\": 50}"), 0);
    char obj[16];
    for (int i = 0; i < 100; i++) {
        snprintf(obj, sizeof obj, "o%d", i);
        alarm_engine_sample(e, "temp", obj, 99, 0);
    }
    int before = n_seen;
    ASSERT_EQ(alarm_def_del(e, "temp"), 0);
    ASSERT_EQ(n_seen, before); /* no change reported */
    ASSERT_EQ(alarm_state_of(e, "temp@o7"), -1);
    for (int i = 0; i < 100; i++) {
        snprintf(obj, sizeof obj, "temp2@o%d", i);
        ASSERT_EQ(alarm_state_of(e, obj), ALARM_RED);
    }
    json_t *list = alarm_list_json(e, true);
    ASSERT_EQ(json_array_size(list), 100);
    json_decref(list);
    /* A new definition of that name starts afresh. */
    ASSERT_EQ(add(e, TEMP_DEF), 0);
    alarm_engine_sample(e, "temp", "o7", 10, 1);
    ASSERT_EQ(last.from, ALARM_GRAY);
    alarm_engine_destroy(e);
}

/* ---- scale ---- */

static void
thousands_of_alarms_cost_linear_time_and_no_allocation(void)
{
    static const char *const metrics[] = {"dse_dpu_cpu_usage_ratio", "dse_dpu_memory_usage_ratio",
                                          "dse_dpu_up", "dse_dpu_uplink_up"};
    enum { N_OBJECTS = 1000, ROUNDS = 100 };
    struct alarm_engine *e = engine();
    char obj[N_OBJECTS][16];
    for (int i = 0; i < N_OBJECTS; i++)
        snprintf(obj[i], sizeof obj[i], "dpu%d", i);
    n_allocs = 0;
    alloc_counting = true;
    for (int i = 0; i < N_OBJECTS; i++)
        for (size_t m = 0; m < ARRAY_SIZE(metrics); m++)
            alarm_engine_sample(e, metrics[m], obj[i], 1, 0);
    ASSERT_EQ(n_seen, N_OBJECTS * 4);
    ASSERT_GE(n_allocs, N_OBJECTS * 4); /* the counter sees the engine's allocations */
    /* Steady state: 400,000 samples, some of them changing state. */
    n_allocs = 0;
    uint64_t t0 = now_ns();
    for (int r = 1; r <= ROUNDS; r++)
        for (int i = 0; i < N_OBJECTS; i++)
            for (size_t m = 0; m < ARRAY_SIZE(metrics); m++)
                alarm_engine_sample(e, metrics[m], obj[i], (r + i) % 10 ? 0.6 : 0.2,
                                    (uint64_t)r * 1000);
    uint64_t ns = now_ns() - t0;
    unsigned allocs = n_allocs;
    alloc_counting = false;
    fprintf(stderr, "%d samples on %d alarms: %.0f ns/sample, %u allocations\n",
            N_OBJECTS * ROUNDS * 4, N_OBJECTS * 4, (double)ns / (N_OBJECTS * ROUNDS * 4), allocs);
    ASSERT_EQ(allocs, 0);
    ASSERT_GT(n_seen, N_OBJECTS * 4);
    /* A scan of every alarm per sample would take 4000 x longer: minutes. */
    ASSERT_LT(ns, 5000000000ull);
    alarm_engine_gray(e, "dpu1", 200000); /* dpu1 but not dpu10..dpu19, dpu100.. */
    ASSERT_EQ(alarm_state_of(e, "dpu-unreachable@dpu1"), ALARM_GRAY);
    ASSERT_NE(alarm_state_of(e, "dpu-unreachable@dpu10"), ALARM_GRAY);
    ASSERT_NE(alarm_state_of(e, "dpu-unreachable@dpu100"), ALARM_GRAY);
    alarm_engine_destroy(e);
}

static void
alarms_past_the_maximum_are_not_tracked(void)
{
    struct alarm_engine *e = engine();
    char obj[32];
    for (int i = 0; i <= ALARM_MAX_ALARMS; i++) {
        snprintf(obj, sizeof obj, "o%d", i);
        alarm_engine_sample(e, "dse_dpu_up", obj, 1, 0);
    }
    ASSERT_EQ(n_seen, ALARM_MAX_ALARMS);
    ASSERT_EQ(alarm_state_of(e, "dpu-unreachable@o0"), ALARM_GREEN);
    snprintf(obj, sizeof obj, "dpu-unreachable@o%d", ALARM_MAX_ALARMS - 1);
    ASSERT_EQ(alarm_state_of(e, obj), ALARM_GREEN);
    snprintf(obj, sizeof obj, "dpu-unreachable@o%d", ALARM_MAX_ALARMS);
    ASSERT_EQ(alarm_state_of(e, obj), -1);
    /* Known ones still change. */
    alarm_engine_sample(e, "dse_dpu_up", "o5", 0, 1);
    ASSERT_EQ(alarm_state_of(e, "dpu-unreachable@o5"), ALARM_RED);
    alarm_engine_destroy(e);
}

TEST_MAIN(TEST(def_check_refuses_each_rule_with_its_reason),
          TEST(def_check_refuses_oversized_description_and_metric),
          TEST(def_check_accepts_good_definitions), TEST(builtins_have_their_documented_thresholds),
          TEST(builtins_are_listed_first_and_cannot_be_deleted), TEST(def_add_refuses_a_taken_name),
          TEST(def_add_refuses_more_than_the_maximum), TEST(alarm_is_gray_until_its_first_value),
          TEST(alarm_rises_only_after_for_s_of_continuous_values),
          TEST(alarm_rises_to_yellow_first_when_red_has_not_held),
          TEST(alarm_falls_only_past_the_hysteresis),
          TEST(red_falls_straight_to_green_or_to_yellow),
          TEST(below_direction_mirrors_the_thresholds),
          TEST(gray_covers_the_object_and_its_subobjects_only),
          TEST(gray_is_left_on_the_next_value), TEST(nan_and_infinities_are_ignored),
          TEST(odd_objects_are_not_tracked),
          TEST(event_alarm_is_raised_and_cleared_by_its_clear_event),
          TEST(event_alarm_without_clear_event_is_cleared_by_ack),
          TEST(ack_refuses_green_gray_and_unknown_alarms),
          TEST(acknowledged_is_kept_until_the_next_change), TEST(list_shows_worst_first_then_by_id),
          TEST(every_change_is_reported_once_with_from_and_to),
          TEST(def_del_drops_its_alarms_and_keeps_the_others),
          TEST(thousands_of_alarms_cost_linear_time_and_no_allocation),
          TEST(alarms_past_the_maximum_are_not_tracked))
