/* SPDX-License-Identifier: Apache-2.0 */
/*
 * alarm-def: alarm definitions (alarm.h): the strict JSON parser with its
 * one-line reasons, the canonical JSON, and the built-in definitions.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "monitor/alarm-private.h"
#include "lib/util.h"

const char *
alarm_state_name(enum alarm_state s)
{
    static const char *const names[] = {
        [ALARM_GRAY] = "gray",
        [ALARM_GREEN] = "green",
        [ALARM_YELLOW] = "yellow",
        [ALARM_RED] = "red",
    };
    return (unsigned)s < ARRAY_SIZE(names) ? names[s] : "?";
}

/* The built-ins, as a user would write them: they go through the same parser.
 * A description is what the value is, so that messages read "DPU temperature
 * 96 >= 95 (critical)". */
static const char builtin_defs_json[] =
    "["
    "{\"name\": \"dpu-cpu-high\", \"description\": \"DPU CPU usage\","
    " \"metric\": \"dse_dpu_cpu_usage_ratio\", \"direction\": \"above\","
    " \"warning\": 0.75, \"critical\": 0.9, \"for_s\": 60, \"hysteresis\": 0.05},"
    "{\"name\": \"dpu-memory-high\", \"description\": \"DPU memory usage\","
    " \"metric\": \"dse_dpu_memory_usage_ratio\", \"direction\": \"above\","
    " \"warning\": 0.85, \"critical\": 0.95, \"for_s\": 60, \"hysteresis\": 0.02},"
    "{\"name\": \"dpu-temperature\", \"description\": \"DPU temperature\","
    " \"metric\": \"dse_dpu_temperature_celsius\", \"direction\": \"above\","
    " \"warning\": 85, \"critical\": 95, \"for_s\": 5, \"hysteresis\": 5},"
    "{\"name\": \"sensor-unhealthy\", \"description\": \"DPU sensor health\","
    " \"metric\": \"dse_dpu_sensor_healthy\", \"direction\": \"below\","
    " \"critical\": 0.5, \"for_s\": 0},"
    "{\"name\": \"dpu-unreachable\", \"description\": \"DPU reachability\","
    " \"metric\": \"dse_dpu_up\", \"direction\": \"below\", \"critical\": 0.5, "
    "\"for_s\": 0},"
    "{\"name\": \"dfw-table-full\", \"description\": \"DPU firewall connection table use\","
    " \"metric\": \"dse_dpu_dfw_connection_table_ratio\", \"direction\": \"above\","
    " \"warning\": 0.9, \"critical\": 0.99, \"for_s\": 0, \"hysteresis\": 0.05},"
    "{\"name\": \"uplink-down\", \"description\": \"DPU uplink state\","
    " \"metric\": \"dse_dpu_uplink_up\", \"direction\": \"below\", \"warning\": 0.5,"
    " \"for_s\": 0},"
    "{\"name\": \"boot-rolled-back\","
    " \"description\": \"DPU booted its previous bank after a failed upgrade\","
    " \"event\": \"boot.rolled_back\", \"level\": \"yellow\", \"clear_event\": "
    "\"boot.ok\"},"
    "{\"name\": \"dpu-failover\", \"description\": \"DPU failed over to its peer\","
    " \"event\": \"dpu.failover\", \"level\": \"yellow\"}"
    "]";

json_t *
alarm_builtin_defs(void)
{
    return json_loads(builtin_defs_json, 0, NULL);
}

uint32_t
alarm_hash_str(const char *s)
{
    return hash_fnv1a(s, strlen(s), HASH_FNV1A_SEED);
}

/* Length of the valid UTF-8 character at 's' (1..4), or 0 when invalid
 * (overlong, surrogate, past U+10FFFF, cut short). */
static size_t
utf8_len(const unsigned char *s)
{
    uint32_t cp, min;
    size_t n;
    if (s[0] < 0x80)
        return 1;
    if ((s[0] & 0xe0) == 0xc0)
        n = 2, cp = s[0] & 0x1f, min = 0x80;
    else if ((s[0] & 0xf0) == 0xe0)
        n = 3, cp = s[0] & 0x0f, min = 0x800;
    else if ((s[0] & 0xf8) == 0xf0)
        n = 4, cp = s[0] & 0x07, min = 0x10000;
    else
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

const char *
alarm_copy_line(char *buf, size_t len, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t o = 0, cut = 0; /* 'cut': the last character boundary with room for "..." */
    while (*p) {
        size_t n = utf8_len(p);
        if (o + (n ? n : 1) > len - 1) {
            memcpy(buf + cut, "...", 3);
            o = cut + 3;
            break;
        }
        if (!n)
            buf[o++] = '?', p++;
        else if (n == 1 && (*p < 0x20 || *p == 0x7f))
            buf[o++] = ' ', p++;
        else
            for (size_t i = 0; i < n; i++)
                buf[o++] = (char)*p++;
        if (o + 3 <= len - 1)
            cut = o;
    }
    buf[o] = '\0';
    return buf;
}

const char *
alarm_def_label(const struct alarm_def *def)
{
    return def->description[0] ? def->description : def->key;
}

static bool __attribute__((format(printf, 3, 4)))
fail(char *err, size_t err_len, const char *fmt, ...)
{
    if (err_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_len, fmt, ap);
        va_end(ap);
    }
    return false;
}

/* Untrusted text quoted in a reason. */
#define Q(s) alarm_copy_line((char[40]){0}, 40, (s))

static bool
name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > ALARM_NAME_MAX || !strchr("abcdefghijklmnopqrstuvwxyz0123456789", s[0]))
        return false;
    return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

static bool
key_ok(const char *s)
{
    size_t n = strlen(s);
    return n >= 1 && n <= ALARM_KEY_MAX &&
           strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_.:") == n;
}

static const char *const common_keys[] = {"name", "description"};
static const char *const metric_keys[] = {"metric",   "direction", "warning",
                                          "critical", "for_s",     "hysteresis"};
static const char *const event_keys[] = {"event", "level", "clear_event"};

static bool
in_list(const char *k, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(k, list[i]))
            return true;
    return false;
}

/* Every key known, and of the definition's kind. */
static bool
check_keys(const json_t *j, bool is_event, char *err, size_t err_len)
{
    const char *k;
    json_t *v;
    json_object_foreach ((json_t *)j, k, v) {
        bool is_metric_key = in_list(k, metric_keys, ARRAY_SIZE(metric_keys));
        bool is_event_key = in_list(k, event_keys, ARRAY_SIZE(event_keys));
        if (in_list(k, common_keys, ARRAY_SIZE(common_keys)))
            continue;
        if (!is_metric_key && !is_event_key)
            return fail(err, err_len, "unknown key \"%s\"", Q(k));
        if (is_metric_key && is_event)
            return fail(err, err_len, "\"%s\" is for metric definitions, not event ones", k);
        if (is_event_key && !is_event)
            return fail(err, err_len, "\"%s\" is for event definitions, not metric ones", k);
    }
    return true;
}

/* '*out' is the string 'key' of 'j', or NULL when absent (and not 'required'). */
static bool
get_string(const json_t *j, const char *key, bool required, const char **out, char *err,
           size_t err_len)
{
    json_t *v = json_object_get(j, key);
    *out = NULL;
    if (!v)
        return required ? fail(err, err_len, "missing \"%s\"", key) : true;
    if (!json_is_string(v))
        return fail(err, err_len, "\"%s\" is not a string", key);
    if (strlen(json_string_value(v)) != json_string_length(v))
        return fail(err, err_len, "\"%s\" contains a NUL byte", key);
    *out = json_string_value(v);
    return true;
}

/* A watched name: a metric or an event type. */
static bool
get_key(const json_t *j, const char *key, bool required, char out[ALARM_KEY_MAX + 1], char *err,
        size_t err_len)
{
    const char *s;
    if (!get_string(j, key, required, &s, err, err_len))
        return false;
    if (s && !key_ok(s))
        return fail(err, err_len, "%s \"%s\" is not [a-z0-9_.:]{1,64}", key, Q(s));
    snprintf(out, ALARM_KEY_MAX + 1, "%s", s ? s : "");
    return true;
}

static bool
get_number(const json_t *j, const char *key, bool *has, double *out, char *err, size_t err_len)
{
    json_t *v = json_object_get(j, key);
    *has = v != NULL;
    if (!v)
        return true;
    if (!json_is_number(v))
        return fail(err, err_len, "\"%s\" is not a number", key);
    *out = json_number_value(v);
    if (!isfinite(*out))
        return fail(err, err_len, "%s is not a finite number", key);
    return true;
}

static bool
parse_common(const json_t *j, struct alarm_def *def, char *err, size_t err_len)
{
    const char *name, *desc;
    if (!get_string(j, "name", true, &name, err, err_len))
        return false;
    if (!name_ok(name))
        return fail(err, err_len, "name \"%s\" is not [a-z0-9][a-z0-9._-]{0,47}", Q(name));
    snprintf(def->name, sizeof def->name, "%s", name);
    if (!get_string(j, "description", false, &desc, err, err_len))
        return false;
    if (desc && strlen(desc) > ALARM_DESC_MAX)
        return fail(err, err_len, "description is %zu bytes, more than %d", strlen(desc),
                    ALARM_DESC_MAX);
    for (const char *p = desc; p && *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return fail(err, err_len, "description has a control character (one line)");
    snprintf(def->description, sizeof def->description, "%s", desc ? desc : "");
    return true;
}

static bool
parse_direction(const json_t *j, struct alarm_def *def, char *err, size_t err_len)
{
    const char *dir;
    if (!get_string(j, "direction", false, &dir, err, err_len))
        return false;
    if (dir && strcmp(dir, "above") && strcmp(dir, "below"))
        return fail(err, err_len, "direction \"%s\" is not \"above\" or \"below\"", Q(dir));
    def->is_below = dir && !strcmp(dir, "below");
    return true;
}

static bool
parse_thresholds(const json_t *j, struct alarm_def *def, char *err, size_t err_len)
{
    if (!get_number(j, "warning", &def->has_warning, &def->warning, err, err_len) ||
        !get_number(j, "critical", &def->has_critical, &def->critical, err, err_len))
        return false;
    if (!def->has_warning && !def->has_critical)
        return fail(err, err_len, "needs \"warning\" or \"critical\" (or both)");
    if (def->has_warning && def->has_critical) {
        if (!def->is_below && def->warning > def->critical)
            return fail(err, err_len, "warning %g is above critical %g for \"above\"", def->warning,
                        def->critical);
        if (def->is_below && def->warning < def->critical)
            return fail(err, err_len, "warning %g is below critical %g for \"below\"", def->warning,
                        def->critical);
    }
    return true;
}

static bool
parse_timing(const json_t *j, struct alarm_def *def, char *err, size_t err_len)
{
    double for_s = 0;
    bool has;
    if (!get_number(j, "for_s", &has, &for_s, err, err_len))
        return false;
    if (for_s != floor(for_s))
        return fail(err, err_len, "for_s %g is not a whole number of seconds", for_s);
    if (for_s < 0 || for_s > ALARM_FOR_S_MAX)
        return fail(err, err_len, "for_s %g is out of 0..%d", for_s, ALARM_FOR_S_MAX);
    def->for_s = (uint32_t)for_s;
    if (!get_number(j, "hysteresis", &has, &def->hysteresis, err, err_len))
        return false;
    if (has && def->hysteresis < 0)
        return fail(err, err_len, "hysteresis %g is negative", def->hysteresis);
    return true;
}

static bool
parse_event(const json_t *j, struct alarm_def *def, char *err, size_t err_len)
{
    const char *level;
    if (!get_key(j, "event", true, def->key, err, err_len) ||
        !get_key(j, "clear_event", false, def->clear_event, err, err_len) ||
        !get_string(j, "level", false, &level, err, err_len))
        return false;
    if (level && strcmp(level, "yellow") && strcmp(level, "red"))
        return fail(err, err_len, "level \"%s\" is not \"yellow\" or \"red\"", Q(level));
    def->level = level && !strcmp(level, "yellow") ? ALARM_YELLOW : ALARM_RED;
    if (!strcmp(def->key, def->clear_event))
        return fail(err, err_len, "clear_event \"%s\" is the event that raises it",
                    def->clear_event);
    return true;
}

bool
alarm_def_parse(const json_t *j, struct alarm_def *def, char *err, size_t err_len)
{
    memset(def, 0, sizeof *def);
    if (!json_is_object(j))
        return fail(err, err_len, "a definition is a JSON object");
    if (!parse_common(j, def, err, err_len))
        return false;
    bool has_metric = json_object_get(j, "metric") != NULL;
    bool has_event = json_object_get(j, "event") != NULL;
    if (has_metric && has_event)
        return fail(err, err_len, "both \"metric\" and \"event\": a definition has one");
    if (!has_metric && !has_event)
        return fail(err, err_len, "needs \"metric\" or \"event\"");
    def->is_event = has_event;
    if (!check_keys(j, def->is_event, err, err_len))
        return false;
    if (def->is_event)
        return parse_event(j, def, err, err_len);
    def->level = ALARM_GREEN;
    return get_key(j, "metric", true, def->key, err, err_len) &&
           parse_direction(j, def, err, err_len) && parse_thresholds(j, def, err, err_len) &&
           parse_timing(j, def, err, err_len);
}

bool
alarm_def_check(const json_t *j, char *err, size_t err_len)
{
    struct alarm_def def;
    return alarm_def_parse(j, &def, err, err_len);
}

json_t *
alarm_def_normalize(const json_t *j, char *err, size_t err_len)
{
    struct alarm_def def;
    if (!alarm_def_parse(j, &def, err, err_len))
        return NULL;
    json_t *n = alarm_def_to_json(&def);
    if (!n)
        snprintf(err, err_len, "out of memory");
    json_object_del(n, "builtin");
    return n;
}

static json_t *
metric_def_json(const struct alarm_def *def)
{
    json_t *j = json_pack("{s:s,s:s,s:s,s:I,s:f}", "name", def->name, "metric", def->key,
                          "direction", def->is_below ? "below" : "above", "for_s",
                          (json_int_t)def->for_s, "hysteresis", def->hysteresis);
    if (j && def->has_warning && json_object_set_new(j, "warning", json_real(def->warning)))
        goto err_free;
    if (j && def->has_critical && json_object_set_new(j, "critical", json_real(def->critical)))
        goto err_free;
    return j;
err_free:
    json_decref(j);
    return NULL;
}

json_t *
alarm_def_to_json(const struct alarm_def *def)
{
    json_t *j;
    if (def->is_event)
        j = json_pack("{s:s,s:s,s:s}", "name", def->name, "event", def->key, "level",
                      alarm_state_name(def->level));
    else
        j = metric_def_json(def);
    if (!j)
        return NULL;
    if ((def->clear_event[0] &&
         json_object_set_new(j, "clear_event", json_string(def->clear_event))) ||
        (def->description[0] &&
         json_object_set_new(j, "description", json_string(def->description))) ||
        json_object_set_new(j, "builtin", json_boolean(def->is_builtin))) {
        json_decref(j);
        return NULL;
    }
    return j;
}
