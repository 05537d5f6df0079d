/* SPDX-License-Identifier: Apache-2.0 */
/*
 * alarm: the alarm engine.  Definitions say what to watch; the engine keeps
 * one alarm per (definition, object) and moves it between states as metric
 * values and events arrive, reporting every change through a callback (hostd
 * logs it as an event and sends the notifications).
 *
 * A definition is a JSON object (what `dsectl alarm def add` sends):
 *
 *   {"name": "dpu-temperature",          [a-z0-9][a-z0-9._-]{0,47}
 *    "description": "DPU temperature",   optional, at most 200 bytes, one line
 *    "metric": "dse_dpu_temperature_celsius",     a metric definition ...
 *    "direction": "above",               "above" (default) or "below"
 *    "warning": 85, "critical": 95,      at least one; finite numbers; for
 *                                        "above" warning <= critical, for
 *                                        "below" warning >= critical
 *    "for_s": 5,                         how long a level must hold before the
 *                                        alarm rises to it (0..86400, default 0)
 *    "hysteresis": 5}                    how far back past a threshold the
 *                                        value must go before the alarm falls
 *                                        below that level (>= 0, default 0)
 *
 *   {"name": "boot-rolled-back",         ... or an event definition:
 *    "event": "boot.rolled_back",        the event type that raises it
 *    "level": "yellow",                  "yellow" or "red" (default "red")
 *    "clear_event": "boot.ok"}           optional: the event that clears it;
 *                                        without one, `ack` clears it
 *
 * Metric names and event types are [a-z0-9_.:]{1,64}.  Unknown keys, a
 * definition with both "metric" and "event", and anything else out of the
 * rules above are refused with a one-line reason.
 *
 * Alarms.  An alarm is one definition applied to one object ("host", "dpu1",
 * "dpu1/vmnic0", "dpu1/temp1": whatever the sample or event names); it exists
 * from the first value or event for that object (a clear event included: it
 * creates the alarm green).  Its id is "DEF@OBJECT".  Objects are 1 to
 * ALARM_OBJECT_MAX printable ASCII characters without spaces; samples and
 * events about other names are ignored.
 *
 *            value/event                   value back past threshold - hysteresis
 *   gray ----------------> green <--> yellow <--> red      (up: after for_s)
 *     ^                      |                    |
 *     +---- no data ---------+--------------------+      (alarm_engine_gray)
 *
 *   - gray: no value yet, or the object's data stopped (its DPU is
 *     unreachable: alarm_engine_gray()).  The next value leaves gray at once
 *     for the level it shows (green, or yellow/red subject to for_s).
 *   - Up: for "above", a value >= critical means red, >= warning yellow
 *     ("below": <= critical, <= warning).  The alarm rises to a higher level
 *     once values at that level (or above) have been seen continuously for
 *     for_s seconds; any value under that level restarts the wait.
 *   - Down: the alarm falls from yellow or red only when a value lies past
 *     the threshold of its current level by the hysteresis ("above": value <
 *     threshold - hysteresis), and then to the level that value shows with
 *     the hysteresis applied in the same way (red may fall to yellow or green).
 *   - Event alarms rise at once to their level on their event, and go green
 *     on their clear event, or on ack when they have none.
 *   - Ack marks the alarm acknowledged (kept until it next changes level);
 *     an acknowledged alarm's later changes are still reported.  The ack
 *     itself is reported as a change with from == to.
 *   - Every change of state is reported once, the first (gray to the first
 *     level) included.
 *
 * Built-in definitions (alarm_builtin_defs()) cover: DPU CPU high, DPU
 * memory high, DPU temperature, sensor unhealthy, DPU unreachable, uplink
 * down, boot rolled back and DPU failover; they can be listed but not
 * deleted, and a definition added with a built-in's name is refused.
 *
 * Thread-safety: none; the caller serialises every call on one engine (hostd
 * holds a mutex around it).  The callback runs inside the call that caused
 * the change and must not call back into the engine.
 */
#ifndef DSE_ALARM_H
#define DSE_ALARM_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ALARM_NAME_MAX 48
#define ALARM_OBJECT_MAX 64
#define ALARM_MAX_DEFS 256    /* built-ins included */
#define ALARM_MAX_ALARMS 4096 /* beyond that, new (def, object) pairs are not tracked */

enum alarm_state { ALARM_GRAY, ALARM_GREEN, ALARM_YELLOW, ALARM_RED };

/* "gray", "green", "yellow", "red".  Can't fail. */
const char *alarm_state_name(enum alarm_state);

/* One change of one alarm, as the callback receives it (valid during the
 * call only). */
struct alarm_change {
    const char *id;     /* "dpu-temperature@dpu1/temp1" */
    const char *def;    /* "dpu-temperature" */
    const char *object; /* "dpu1/temp1" */
    enum alarm_state from, to;
    bool has_value;
    double value;        /* the value that caused it (metric alarms) */
    const char *message; /* one line: "DPU temperature 96 >= 95 (critical)",
                            "acknowledged by ...", the event's message */
    uint64_t time_ms;
};

typedef void (*alarm_change_fn)(void *aux, const struct alarm_change *);

struct alarm_engine;

/* An engine with the built-in definitions.  NULL on ENOMEM. */
struct alarm_engine *alarm_engine_create(alarm_change_fn fn, void *aux);
void alarm_engine_destroy(struct alarm_engine *); /* accepts NULL */

/* The built-in definitions, as JSON (a new array; caller owns).  Can't fail
 * but for ENOMEM (NULL). */
json_t *alarm_builtin_defs(void);

/* Checks definition 'def' (borrowed) without adding it.  Returns true, or
 * false with a one-line reason in 'err' ('err_len' bytes). */
bool alarm_def_check(const json_t *def, char *err, size_t err_len);

/* Definition 'def' (borrowed) as alarm_defs_json() would show it once
 * added, without "builtin": the form to compare two definitions in.  A new
 * object (caller owns), or NULL with a one-line reason in 'err' (a bad
 * definition, or ENOMEM). */
json_t *alarm_def_normalize(const json_t *def, char *err, size_t err_len);

/* Adds a definition (checked as above; copied).  Returns 0, -EINVAL (bad,
 * reason in 'err'), -EEXIST (a definition of that name exists; built-ins
 * included), -ENOSPC (ALARM_MAX_DEFS), -ENOMEM. */
int alarm_def_add(struct alarm_engine *, const json_t *def, char *err, size_t err_len);
/* Deletes definition 'name' and its alarms (no change is reported).  Returns
 * 0, -ENOENT, or -EPERM for a built-in. */
int alarm_def_del(struct alarm_engine *, const char *name);
/* Every definition: [{..., "builtin": true|false}], built-ins first (a new
 * array; caller owns), or NULL on ENOMEM. */
json_t *alarm_defs_json(const struct alarm_engine *);

/* A metric value for 'object' at 'now_ms' (monotonic or wall clock: the
 * caller's choice, used consistently).  Every definition on 'metric' is
 * evaluated.  NaN and infinities are ignored. */
void alarm_engine_sample(struct alarm_engine *, const char *metric, const char *object,
                         double value, uint64_t now_ms);
/* An event of type 'type' about 'object' with a one-line 'message'. */
void alarm_engine_event(struct alarm_engine *, const char *type, const char *object,
                        const char *message, uint64_t now_ms);
/* Every metric alarm of 'object' and of its sub-objects ("dpu1" covers
 * "dpu1/vmnic0") turns gray: its data stopped. */
void alarm_engine_gray(struct alarm_engine *, const char *object, uint64_t now_ms);

/* Acknowledges alarm 'id' ("DEF@OBJECT") on behalf of 'who' (a one-line
 * string for the change's message).  Returns 0 (also when it was acknowledged
 * already: that reports nothing), -ENOENT, or -EALREADY (it is green or gray:
 * nothing to acknowledge). */
int alarm_ack(struct alarm_engine *, const char *id, const char *who, uint64_t now_ms);

/* The alarms, worst first (red, yellow, gray, green), then by id:
 * [{"id", "def", "object", "state", "since_ms", "acknowledged", "value"
 * (when it has one), "message", "description"}] (a new array; caller owns),
 * or NULL on ENOMEM.  With 'all' false, green ones are left out. */
json_t *alarm_list_json(const struct alarm_engine *, bool all);

/* The state of alarm 'id', or -1 if there is no such alarm. */
int alarm_state_of(const struct alarm_engine *, const char *id);

#endif
