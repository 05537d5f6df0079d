/* SPDX-License-Identifier: Apache-2.0 */
/*
 * alarm: the alarm engine (alarm.h).  Definitions (alarm-def.c) are indexed by
 * the metric or event they watch (a chained hash rebuilt when a definition is
 * added or deleted); alarms live in an open-addressed table on (definition,
 * object), sized for ALARM_MAX_ALARMS at creation.  A sample therefore costs a
 * hash of its metric and object and a probe per definition on that metric,
 * and allocates nothing once its alarm exists.
 */
#include "monitor/alarm.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/alarm-private.h"
#include "lib/log.h"
#include "lib/util.h"

LOG_MODULE(alarm);

#define ALARM_MSG_MAX 400              /* a description (200) and the numbers fit */
#define WATCH_MAX (2 * ALARM_MAX_DEFS) /* a key and a clear event per definition */
#define WATCH_BUCKETS 1024
#define TABLE_SIZE 8192

_Static_assert((WATCH_BUCKETS & (WATCH_BUCKETS - 1)) == 0, "power of two");
_Static_assert((TABLE_SIZE & (TABLE_SIZE - 1)) == 0, "power of two");
_Static_assert(TABLE_SIZE >= 2 * ALARM_MAX_ALARMS, "probes end: the table is half empty");

struct alarm {
    const struct alarm_def *def;
    uint32_t hash; /* of (def, object): its table slot */
    enum alarm_state state;
    bool acknowledged, has_value;
    bool had_data;               /* has left gray once ("data back", not "first value") */
    bool is_rising[2];           /* [0] yellow, [1] red: values at that level (or worse) */
    uint64_t rising_since_ms[2]; /* seen continuously since then */
    uint64_t since_ms;           /* of the current state */
    double value;                /* the latest value */
    char object[ALARM_OBJECT_MAX + 1];
    char id[ALARM_NAME_MAX + 1 + ALARM_OBJECT_MAX + 1];
    char message[ALARM_MSG_MAX]; /* of the last change of state */
};

/* A metric or event name and the definition it concerns. */
struct watch {
    const char *key; /* in 'def' */
    uint32_t hash;
    const struct alarm_def *def;
    bool is_clear; /* 'key' is the definition's clear event */
    int next;      /* in the same bucket, or -1 */
};

struct alarm_engine {
    alarm_change_fn fn;
    void *aux;
    struct alarm_def *defs[ALARM_MAX_DEFS]; /* built-ins first, then in order added */
    size_t n_defs;
    struct watch watches[WATCH_MAX];
    int buckets[WATCH_BUCKETS];
    struct alarm **alarms; /* ALARM_MAX_ALARMS slots, in order of creation */
    size_t n_alarms;
    struct alarm **table; /* TABLE_SIZE slots, linear probing, no deletion */
};

static struct log_ratelimit full_rl = LOG_RATELIMIT_INIT(1, 60000);

/* ---- indexes ---- */

static void
add_watch(struct alarm_engine *e, size_t *n, const struct alarm_def *def, const char *key,
          bool is_clear)
{
    struct watch *w = &e->watches[*n];
    *w = (struct watch){.key = key, .hash = alarm_hash_str(key), .def = def, .is_clear = is_clear};
    uint32_t b = w->hash & (WATCH_BUCKETS - 1);
    w->next = e->buckets[b];
    e->buckets[b] = (int)(*n)++;
}

/* Rebuilds the watch index; definitions that share a key are evaluated in
 * the order of e->defs. */
static void
index_watches(struct alarm_engine *e)
{
    size_t n = 0;
    for (size_t b = 0; b < WATCH_BUCKETS; b++)
        e->buckets[b] = -1;
    for (size_t i = e->n_defs; i-- > 0;) {
        const struct alarm_def *d = e->defs[i];
        if (d->clear_event[0])
            add_watch(e, &n, d, d->clear_event, true);
        add_watch(e, &n, d, d->key, false);
    }
}

static uint32_t
pair_hash(const struct alarm_def *def, uint32_t object_hash)
{
    uint32_t h = object_hash ^ (uint32_t)((uintptr_t)def >> 4) * 0x9e3779b1u;
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    return h ^ (h >> 13);
}

/* The slot of (def, object): its alarm, or the empty slot where it goes. */
static struct alarm **
table_slot(const struct alarm_engine *e, const struct alarm_def *def, const char *object,
           uint32_t hash)
{
    for (uint32_t i = hash & (TABLE_SIZE - 1);; i = (i + 1) & (TABLE_SIZE - 1)) {
        struct alarm *a = e->table[i];
        if (!a || (a->hash == hash && a->def == def && !strcmp(a->object, object)))
            return &e->table[i];
    }
}

/* An object we track: 1..ALARM_OBJECT_MAX printable ASCII characters, no
 * space, so that ids are one word and valid UTF-8. */
static bool
object_ok(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if ((unsigned char)s[n] <= ' ' || (unsigned char)s[n] >= 0x7f || n >= ALARM_OBJECT_MAX)
            return false;
    return n > 0;
}

/* The alarm of (def, object), created gray if new; NULL when the table is
 * full or on ENOMEM (the pair is not tracked). */
static struct alarm *
alarm_get(struct alarm_engine *e, const struct alarm_def *def, const char *object,
          uint32_t object_hash)
{
    uint32_t h = pair_hash(def, object_hash);
    struct alarm **slot = table_slot(e, def, object, h);
    if (*slot)
        return *slot;
    struct alarm *a = e->n_alarms < ALARM_MAX_ALARMS ? calloc(1, sizeof *a) : NULL;
    if (!a) {
        log_warn_rl(&full_rl, "alarm=%s@%s: not tracked (%zu alarms, at most %d)", def->name,
                    object, e->n_alarms, ALARM_MAX_ALARMS);
        return NULL;
    }
    a->def = def;
    a->hash = h;
    a->state = ALARM_GRAY;
    snprintf(a->object, sizeof a->object, "%s", object);
    snprintf(a->id, sizeof a->id, "%s@%s", def->name, object);
    *slot = a;
    e->alarms[e->n_alarms++] = a;
    return a;
}

static struct alarm_def *
find_def(const struct alarm_engine *e, const char *name, size_t *index)
{
    for (size_t i = 0; i < e->n_defs; i++)
        if (!strcmp(e->defs[i]->name, name)) {
            if (index)
                *index = i;
            return e->defs[i];
        }
    return NULL;
}

static struct alarm *
find_by_id(const struct alarm_engine *e, const char *id)
{
    const char *at = id ? strchr(id, '@') : NULL;
    if (!at || at - id > ALARM_NAME_MAX || !object_ok(at + 1))
        return NULL;
    char name[ALARM_NAME_MAX + 1];
    memcpy(name, id, (size_t)(at - id));
    name[at - id] = '\0';
    const struct alarm_def *d = find_def(e, name, NULL);
    return d ? *table_slot(e, d, at + 1, pair_hash(d, alarm_hash_str(at + 1))) : NULL;
}

/* ---- engine ---- */

struct alarm_engine *
alarm_engine_create(alarm_change_fn fn, void *aux)
{
    struct alarm_engine *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->fn = fn;
    e->aux = aux;
    e->alarms = calloc(ALARM_MAX_ALARMS, sizeof *e->alarms);
    e->table = calloc(TABLE_SIZE, sizeof *e->table);
    json_t *builtins = alarm_builtin_defs(), *j;
    size_t i;
    if (!e->alarms || !e->table || !builtins)
        goto err_destroy;
    json_array_foreach (builtins, i, j) {
        struct alarm_def *d = malloc(sizeof *d);
        if (!d)
            goto err_destroy;
        bool ok = alarm_def_parse(j, d, NULL, 0);
        assert(ok); /* the built-ins are ours */
        (void)ok;
        d->is_builtin = true;
        e->defs[e->n_defs++] = d;
    }
    json_decref(builtins);
    index_watches(e);
    return e;

err_destroy:
    json_decref(builtins);
    alarm_engine_destroy(e);
    return NULL;
}

void
alarm_engine_destroy(struct alarm_engine *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->n_alarms; i++)
        free(e->alarms[i]);
    for (size_t i = 0; i < e->n_defs; i++)
        free(e->defs[i]);
    free(e->alarms);
    free(e->table);
    free(e);
}

/* ---- definitions ---- */

int
alarm_def_add(struct alarm_engine *e, const json_t *json, char *err, size_t err_len)
{
    struct alarm_def def;
    if (!alarm_def_parse(json, &def, err, err_len))
        return -EINVAL;
    const struct alarm_def *old = find_def(e, def.name, NULL);
    if (old) {
        snprintf(err, err_len, "a%s definition named \"%s\" exists",
                 old->is_builtin ? " built-in" : "", def.name);
        return -EEXIST;
    }
    if (e->n_defs == ALARM_MAX_DEFS) {
        snprintf(err, err_len, "%d definitions already, the most there may be", ALARM_MAX_DEFS);
        return -ENOSPC;
    }
    struct alarm_def *d = malloc(sizeof *d);
    if (!d) {
        snprintf(err, err_len, "out of memory");
        return -ENOMEM;
    }
    *d = def;
    e->defs[e->n_defs++] = d;
    index_watches(e);
    return 0;
}

/* Frees the alarms of 'def' and rebuilds the table without them. */
static void
drop_alarms(struct alarm_engine *e, const struct alarm_def *def)
{
    size_t n = 0;
    for (size_t i = 0; i < e->n_alarms; i++) {
        if (e->alarms[i]->def == def)
            free(e->alarms[i]);
        else
            e->alarms[n++] = e->alarms[i];
    }
    e->n_alarms = n;
    memset(e->table, 0, TABLE_SIZE * sizeof *e->table);
    for (size_t i = 0; i < n; i++) {
        struct alarm *a = e->alarms[i];
        *table_slot(e, a->def, a->object, a->hash) = a;
    }
}

int
alarm_def_del(struct alarm_engine *e, const char *name)
{
    size_t i;
    struct alarm_def *d = find_def(e, name, &i);
    if (!d)
        return -ENOENT;
    if (d->is_builtin)
        return -EPERM;
    drop_alarms(e, d);
    memmove(&e->defs[i], &e->defs[i + 1], (e->n_defs - i - 1) * sizeof *e->defs);
    e->n_defs--;
    free(d);
    index_watches(e);
    return 0;
}

json_t *
alarm_defs_json(const struct alarm_engine *e)
{
    json_t *list = json_array();
    for (size_t i = 0; list && i < e->n_defs; i++)
        if (json_array_append_new(list, alarm_def_to_json(e->defs[i]))) {
            json_decref(list);
            return NULL;
        }
    return list;
}

/* ---- changes ---- */

/* Reports a change of 'a' from 'from' to its current state. */
static void
report(struct alarm_engine *e, const struct alarm *a, enum alarm_state from, const char *message,
       uint64_t now_ms)
{
    struct alarm_change c = {
        .id = a->id,
        .def = a->def->name,
        .object = a->object,
        .from = from,
        .to = a->state,
        .has_value = a->has_value,
        .value = a->value,
        .message = message,
        .time_ms = now_ms,
    };
    if (e->fn)
        e->fn(e->aux, &c);
}

/* Moves 'a' to 'to' with 'message' (made one line) and reports it. */
static void
change(struct alarm_engine *e, struct alarm *a, enum alarm_state to, const char *message,
       uint64_t now_ms)
{
    enum alarm_state from = a->state;
    a->state = to;
    a->since_ms = now_ms;
    a->acknowledged = false;
    alarm_copy_line(a->message, sizeof a->message, message);
    report(e, a, from, a->message, now_ms);
}

/* ---- metric alarms ---- */

static double
threshold(const struct alarm_def *d, enum alarm_state level)
{
    return level == ALARM_RED ? d->critical : d->warning;
}

static bool
has_level(const struct alarm_def *d, enum alarm_state level)
{
    return level == ALARM_RED ? d->has_critical : level == ALARM_YELLOW && d->has_warning;
}

static const char *
level_word(enum alarm_state level)
{
    return level == ALARM_RED ? "critical" : "warning";
}

/* The level 'v' shows, each threshold moved towards green by 'margin'
 * ("above": v >= threshold - margin). */
static enum alarm_state
level_shown(const struct alarm_def *d, double v, double margin)
{
    for (enum alarm_state l = ALARM_RED; l >= ALARM_YELLOW; l--)
        if (has_level(d, l) &&
            (d->is_below ? v <= threshold(d, l) + margin : v >= threshold(d, l) - margin))
            return l;
    return ALARM_GREEN;
}

/* Starts or stops the wait of each level for a value that shows 'shown'. */
static void
track_rise(struct alarm *a, enum alarm_state shown, uint64_t now_ms)
{
    for (int i = 0; i < 2; i++) {
        if ((int)shown < ALARM_YELLOW + i)
            a->is_rising[i] = false;
        else if (!a->is_rising[i] || now_ms < a->rising_since_ms[i]) {
            a->is_rising[i] = true; /* (the clock going back restarts it, too) */
            a->rising_since_ms[i] = now_ms;
        }
    }
}

/* The highest level whose values have held for for_s, or green. */
static enum alarm_state
level_risen(const struct alarm *a, uint64_t now_ms)
{
    uint64_t for_ms = (uint64_t)a->def->for_s * 1000;
    for (int i = 1; i >= 0; i--)
        if (a->is_rising[i] && has_level(a->def, ALARM_YELLOW + i) &&
            now_ms - a->rising_since_ms[i] >= for_ms)
            return ALARM_YELLOW + i;
    return ALARM_GREEN;
}

/* "DPU temperature 96 >= 95 (critical)" */
static void
rise(struct alarm_engine *e, struct alarm *a, enum alarm_state to, uint64_t now_ms)
{
    const struct alarm_def *d = a->def;
    char msg[512];
    snprintf(msg, sizeof msg, "%s %.3g %s %g (%s)", alarm_def_label(d), a->value,
             d->is_below ? "<=" : ">=", threshold(d, to), level_word(to));
    change(e, a, to, msg, now_ms);
}

/* "DPU temperature back to 79 < 80 (warning 85 - hysteresis 5)",
 * "DPU temperature 89 < 90 (critical 95 - hysteresis 5): down to warning" */
static void
fall(struct alarm_engine *e, struct alarm *a, enum alarm_state to, uint64_t now_ms)
{
    const struct alarm_def *d = a->def;
    /* The threshold the value went back past: the lowest one above 'to'. */
    enum alarm_state passed = has_level(d, to + 1) ? to + 1 : ALARM_RED;
    double t = threshold(d, passed), h = d->hysteresis;
    char bound[160], msg[512];
    if (h > 0)
        snprintf(bound, sizeof bound, "%g (%s %g %c hysteresis %g)", d->is_below ? t + h : t - h,
                 level_word(passed), t, d->is_below ? '+' : '-', h);
    else
        snprintf(bound, sizeof bound, "%g (%s)", t, level_word(passed));
    if (to == ALARM_GREEN)
        snprintf(msg, sizeof msg, "%s back to %.3g %c %s", alarm_def_label(d), a->value,
                 d->is_below ? '>' : '<', bound);
    else
        snprintf(msg, sizeof msg, "%s %.3g %c %s: down to warning", alarm_def_label(d), a->value,
                 d->is_below ? '>' : '<', bound);
    change(e, a, to, msg, now_ms);
}

/* From gray at once: to the level whose wait is over, or green.
 * "DPU temperature 96: data back, critical if it holds 5 s" */
static void
leave_gray(struct alarm_engine *e, struct alarm *a, enum alarm_state shown, enum alarm_state risen,
           uint64_t now_ms)
{
    bool had_data = a->had_data;
    a->had_data = true;
    if (risen > ALARM_GREEN) {
        rise(e, a, risen, now_ms);
        return;
    }
    char msg[512];
    int n = snprintf(msg, sizeof msg, "%s %.3g: %s", alarm_def_label(a->def), a->value,
                     had_data ? "data back" : "first value");
    if (shown > ALARM_GREEN && n > 0 && (size_t)n < sizeof msg)
        snprintf(msg + n, sizeof msg - (size_t)n, ", %s if it holds %u s", level_word(shown),
                 (unsigned)a->def->for_s);
    change(e, a, ALARM_GREEN, msg, now_ms);
}

static void
metric_update(struct alarm_engine *e, struct alarm *a, double v, uint64_t now_ms)
{
    const struct alarm_def *d = a->def;
    enum alarm_state shown = level_shown(d, v, 0);
    enum alarm_state held = level_shown(d, v, d->hysteresis);
    track_rise(a, shown, now_ms);
    enum alarm_state risen = level_risen(a, now_ms);
    a->value = v;
    a->has_value = true;
    if (a->state == ALARM_GRAY)
        leave_gray(e, a, shown, risen, now_ms);
    else if (a->state >= ALARM_YELLOW && held < a->state)
        fall(e, a, held, now_ms);
    else if (risen > a->state)
        rise(e, a, risen, now_ms);
}

void
alarm_engine_sample(struct alarm_engine *e, const char *metric, const char *object, double value,
                    uint64_t now_ms)
{
    if (!metric || !object || !isfinite(value) || !object_ok(object))
        return;
    uint32_t mh = alarm_hash_str(metric), oh = alarm_hash_str(object);
    for (int w = e->buckets[mh & (WATCH_BUCKETS - 1)]; w >= 0; w = e->watches[w].next) {
        const struct watch *wt = &e->watches[w];
        if (wt->hash != mh || wt->def->is_event || strcmp(wt->key, metric))
            continue;
        struct alarm *a = alarm_get(e, wt->def, object, oh);
        if (a)
            metric_update(e, a, value, now_ms);
    }
}

void
alarm_engine_gray(struct alarm_engine *e, const char *object, uint64_t now_ms)
{
    size_t n = object ? strlen(object) : 0;
    for (size_t i = 0; n && i < e->n_alarms; i++) {
        struct alarm *a = e->alarms[i];
        if (a->def->is_event || a->state == ALARM_GRAY || strncmp(a->object, object, n) ||
            (a->object[n] && a->object[n] != '/'))
            continue;
        char msg[512];
        snprintf(msg, sizeof msg, "%s: no data from %s", alarm_def_label(a->def), object);
        a->is_rising[0] = a->is_rising[1] = false;
        a->has_value = false;
        change(e, a, ALARM_GRAY, msg, now_ms);
    }
}

/* ---- event alarms ---- */

void
alarm_engine_event(struct alarm_engine *e, const char *type, const char *object,
                   const char *message, uint64_t now_ms)
{
    if (!type || !object || !object_ok(object))
        return;
    uint32_t th = alarm_hash_str(type), oh = alarm_hash_str(object);
    for (int w = e->buckets[th & (WATCH_BUCKETS - 1)]; w >= 0; w = e->watches[w].next) {
        const struct watch *wt = &e->watches[w];
        if (wt->hash != th || !wt->def->is_event || strcmp(wt->key, type))
            continue;
        struct alarm *a = alarm_get(e, wt->def, object, oh);
        enum alarm_state to = wt->is_clear ? ALARM_GREEN : wt->def->level;
        if (!a || a->state == to)
            continue;
        char msg[512];
        if (message && *message)
            snprintf(msg, sizeof msg, "%s", message);
        else
            snprintf(msg, sizeof msg, "%s on %s", type, object);
        change(e, a, to, msg, now_ms);
    }
}

int
alarm_ack(struct alarm_engine *e, const char *id, const char *who, uint64_t now_ms)
{
    struct alarm *a = find_by_id(e, id);
    if (!a)
        return -ENOENT;
    if (a->state == ALARM_GRAY || a->state == ALARM_GREEN)
        return -EALREADY;
    char by[80], msg[128];
    snprintf(msg, sizeof msg, "acknowledged by %s",
             alarm_copy_line(by, sizeof by, who && *who ? who : "?"));
    if (a->def->is_event && !a->def->clear_event[0]) {
        change(e, a, ALARM_GREEN, msg, now_ms); /* nothing else would clear it */
        return 0;
    }
    if (!a->acknowledged) {
        a->acknowledged = true;
        report(e, a, a->state, msg, now_ms);
    }
    return 0;
}

int
alarm_state_of(const struct alarm_engine *e, const char *id)
{
    const struct alarm *a = find_by_id(e, id);
    return a ? (int)a->state : -1;
}

/* ---- listing ---- */

static int
badness(enum alarm_state s)
{
    static const int rank[] = {
        [ALARM_RED] = 0, [ALARM_YELLOW] = 1, [ALARM_GRAY] = 2, [ALARM_GREEN] = 3};
    return rank[s];
}

static int
cmp_alarms(const void *x, const void *y)
{
    const struct alarm *a = *(const struct alarm *const *)x;
    const struct alarm *b = *(const struct alarm *const *)y;
    int d = badness(a->state) - badness(b->state);
    return d ? d : strcmp(a->id, b->id);
}

static json_t *
alarm_json(const struct alarm *a)
{
    json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:I,s:b}", "id", a->id, "def", a->def->name, "object",
                          a->object, "state", alarm_state_name(a->state), "since_ms",
                          (json_int_t)a->since_ms, "acknowledged", (int)a->acknowledged);
    if (!j)
        return NULL;
    if ((a->has_value && json_object_set_new(j, "value", json_real(a->value))) ||
        json_object_set_new(j, "message", json_string(a->message)) ||
        json_object_set_new(j, "description", json_string(a->def->description))) {
        json_decref(j);
        return NULL;
    }
    return j;
}

json_t *
alarm_list_json(const struct alarm_engine *e, bool all)
{
    const struct alarm **v = malloc((e->n_alarms ? e->n_alarms : 1) * sizeof *v);
    json_t *list = json_array();
    size_t n = 0;
    if (!v || !list)
        goto err_free;
    for (size_t i = 0; i < e->n_alarms; i++)
        if (all || e->alarms[i]->state != ALARM_GREEN)
            v[n++] = e->alarms[i];
    qsort(v, n, sizeof *v, cmp_alarms);
    for (size_t i = 0; i < n; i++)
        if (json_array_append_new(list, alarm_json(v[i])))
            goto err_free;
    free(v);
    return list;

err_free:
    free(v);
    json_decref(list);
    return NULL;
}
