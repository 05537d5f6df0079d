/* SPDX-License-Identifier: Apache-2.0 */
/* alarms: the fleet's alarms and events, collected from the hosts (alarms.h). */
#include "manager/alarms.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/util.h"
#include "manager/inventory.h"

LOG_MODULE(alarms);

struct ahost {
    char name[INV_NAME_MAX + 1];
    json_t *list;      /* its alarms as last collected, host and dpu added */
    uint64_t last_seq; /* of the last event kept */
};

struct alarms {
    pthread_mutex_t mu;
    struct ahost *hosts;
    size_t n_hosts;
    json_t **ring; /* ALARMS_EVENTS_MAX events; the oldest at (head - n) */
    size_t head, n;
};

static const char *
str(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

struct alarms *
alarms_create(void)
{
    struct alarms *a = calloc(1, sizeof *a);
    if (a && !(a->ring = calloc(ALARMS_EVENTS_MAX, sizeof *a->ring))) {
        free(a);
        return NULL;
    }
    if (a)
        pthread_mutex_init(&a->mu, NULL);
    return a;
}

void
alarms_destroy(struct alarms *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->n_hosts; i++)
        json_decref(a->hosts[i].list);
    for (size_t i = 0; i < ALARMS_EVENTS_MAX; i++)
        json_decref(a->ring[i]);
    free(a->ring);
    free(a->hosts);
    pthread_mutex_destroy(&a->mu);
    free(a);
}

/* Host 'name''s entry, made when 'make'; NULL when missing or ENOMEM.
 * Under the lock. */
static struct ahost *
find(struct alarms *a, const char *name, bool make)
{
    for (size_t i = 0; i < a->n_hosts; i++)
        if (!strcmp(a->hosts[i].name, name))
            return &a->hosts[i];
    if (!make || strlen(name) > INV_NAME_MAX)
        return NULL;
    struct ahost *h = realloc(a->hosts, (a->n_hosts + 1) * sizeof *h);
    if (!h)
        return NULL;
    a->hosts = h;
    h = &a->hosts[a->n_hosts++];
    *h = (struct ahost){0};
    snprintf(h->name, sizeof h->name, "%s", name);
    return h;
}

/* A copy of hostd's 'o' (an alarm or an event) with "host" and, when its
 * object is a DPU's, "dpu"; NULL on ENOMEM. */
static json_t *
placed(json_t *o, const char *host)
{
    json_t *c = json_copy(o);
    const char *object = str(o, "object");
    if (!c)
        return NULL;
    json_object_set_new(c, "host", json_string(host));
    if (object && strcmp(object, "host") && strncmp(object, "host/", 5)) {
        size_t n = strcspn(object, "/");
        json_object_set_new(c, "dpu", json_stringn(object, n));
    }
    return c;
}

void
alarms_set_host(struct alarms *a, const char *host, json_t *list, uint64_t now_ms)
{
    json_t *mine = json_array(), *al;
    size_t i;
    json_array_foreach (list, i, al) {
        json_t *c = json_is_object(al) ? placed(al, host) : NULL;
        if (c)
            json_object_set_new(c, "collected_ms", json_integer((json_int_t)now_ms));
        json_array_append_new(mine, c);
    }
    pthread_mutex_lock(&a->mu);
    struct ahost *h = find(a, host, true);
    if (h) {
        json_decref(h->list);
        h->list = json_incref(mine);
    }
    pthread_mutex_unlock(&a->mu);
    json_decref(mine);
}

/* Under the lock. */
static void
ring_push(struct alarms *a, json_t *ev)
{
    json_decref(a->ring[a->head]); /* the oldest, when full */
    a->ring[a->head] = ev;
    a->head = (a->head + 1) % ALARMS_EVENTS_MAX;
    if (a->n < ALARMS_EVENTS_MAX)
        a->n++;
}

void
alarms_add_events(struct alarms *a, const char *host, json_t *events, uint64_t last)
{
    pthread_mutex_lock(&a->mu);
    struct ahost *h = find(a, host, true);
    if (h && last < h->last_seq) {
        log_info("host %s: its event log starts over (seq %llu, was %llu)", host,
                 (unsigned long long)last, (unsigned long long)h->last_seq);
        h->last_seq = 0;
    }
    size_t i;
    json_t *ev;
    json_array_foreach (h ? events : NULL, i, ev) {
        json_int_t seq = json_integer_value(json_object_get(ev, "seq"));
        json_t *c = seq > 0 && (uint64_t)seq > h->last_seq ? placed(ev, host) : NULL;
        if (c) {
            ring_push(a, c);
            h->last_seq = (uint64_t)seq;
        }
    }
    pthread_mutex_unlock(&a->mu);
}

uint64_t
alarms_last_seq(struct alarms *a, const char *host)
{
    pthread_mutex_lock(&a->mu);
    struct ahost *h = find(a, host, false);
    uint64_t seq = h ? h->last_seq : 0;
    pthread_mutex_unlock(&a->mu);
    return seq;
}

void
alarms_forget(struct alarms *a, const char *host)
{
    pthread_mutex_lock(&a->mu);
    struct ahost *h = find(a, host, false);
    if (h) {
        json_decref(h->list);
        *h = a->hosts[--a->n_hosts];
    }
    pthread_mutex_unlock(&a->mu);
}

/* ---- queries ---- */

static int
severity(const char *state)
{
    static const char *const order[] = {"red", "yellow", "gray", "green"};
    for (size_t i = 0; state && i < ARRAY_SIZE(order); i++)
        if (!strcmp(state, order[i]))
            return (int)i;
    return (int)ARRAY_SIZE(order);
}

static int
strcmp_null(const char *x, const char *y)
{
    return strcmp(x ? x : "", y ? y : "");
}

static int
by_severity(const void *x, const void *y)
{
    json_t *a = *(json_t *const *)x, *b = *(json_t *const *)y;
    int c = severity(str(a, "state")) - severity(str(b, "state"));
    if (!c)
        c = strcmp_null(str(a, "host"), str(b, "host"));
    return c ? c : strcmp_null(str(a, "id"), str(b, "id"));
}

/* A new array of the 'n' items of 'v' (taken), sorted by 'cmp' unless NULL. */
static json_t *
sorted(json_t **v, size_t n, int (*cmp)(const void *, const void *))
{
    if (n && cmp)
        qsort(v, n, sizeof *v, cmp);
    json_t *out = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(out, v[i]);
    free(v);
    return out;
}

static bool
alarm_matches(json_t *al, const struct alarms_query *q)
{
    const char *state = str(al, "state");
    if (q->state)
        return state && !strcmp(state, q->state);
    return q->all || !state || strcmp(state, "green");
}

json_t *
alarms_list(struct alarms *a, const struct alarms_query *q)
{
    pthread_mutex_lock(&a->mu);
    size_t cap = 0, n = 0;
    for (size_t i = 0; i < a->n_hosts; i++)
        cap += json_array_size(a->hosts[i].list);
    json_t **v = malloc((cap ? cap : 1) * sizeof *v);
    for (size_t i = 0; v && i < a->n_hosts; i++) {
        const struct ahost *h = &a->hosts[i];
        if ((q->host && strcmp(q->host, h->name)) || (q->may && !q->may(h->name, q->aux)))
            continue;
        size_t k;
        json_t *al;
        json_array_foreach (h->list, k, al) {
            if (alarm_matches(al, q))
                v[n++] = json_incref(al);
        }
    }
    pthread_mutex_unlock(&a->mu);
    return v ? sorted(v, n, by_severity) : NULL;
}

bool
alarms_has(struct alarms *a, const char *host, const char *id)
{
    bool has = false;
    pthread_mutex_lock(&a->mu);
    struct ahost *h = find(a, host, false);
    size_t i;
    json_t *al;
    json_array_foreach (h ? h->list : NULL, i, al) {
        if (str(al, "id") && !strcmp(str(al, "id"), id))
            has = true;
    }
    pthread_mutex_unlock(&a->mu);
    return has;
}

/* Whether event 'ev' is about fleet object 'object' (alarms.h: H, H/host,
 * H/D, H/D/PART) or something under it. */
static bool
about(json_t *ev, const char *object)
{
    const char *host = str(ev, "host"), *o = str(ev, "object"), *slash = strchr(object, '/');
    size_t n = slash ? (size_t)(slash - object) : strlen(object);
    if (!host || strlen(host) != n || strncmp(host, object, n))
        return false;
    if (!slash)
        return true;
    n = strlen(slash + 1);
    return o && !strncmp(o, slash + 1, n) && (o[n] == '\0' || o[n] == '/');
}

static bool
event_matches(json_t *ev, const struct alarms_event_query *q)
{
    json_int_t t = json_integer_value(json_object_get(ev, "time_ms"));
    const char *type = str(ev, "type");
    return (!q->object || about(ev, q->object)) && (!q->since_ms || t >= (json_int_t)q->since_ms) &&
           (!q->until_ms || t < (json_int_t)q->until_ms) &&
           (!q->type || (type && !strncmp(type, q->type, strlen(q->type)))) &&
           (!q->may || (str(ev, "host") && q->may(str(ev, "host"), q->aux)));
}

static int
by_time(const void *x, const void *y)
{
    json_t *a = *(json_t *const *)x, *b = *(json_t *const *)y;
    json_int_t ta = json_integer_value(json_object_get(a, "time_ms")),
               tb = json_integer_value(json_object_get(b, "time_ms"));
    if (ta != tb)
        return ta < tb ? -1 : 1;
    int c = strcmp_null(str(a, "host"), str(b, "host"));
    if (c)
        return c;
    ta = json_integer_value(json_object_get(a, "seq"));
    tb = json_integer_value(json_object_get(b, "seq"));
    return ta < tb ? -1 : ta > tb;
}

json_t *
alarms_events(struct alarms *a, const struct alarms_event_query *q, bool *more)
{
    size_t limit = q->limit && q->limit < ALARMS_EVENTS_MAX ? q->limit : ALARMS_EVENTS_MAX, n = 0;
    pthread_mutex_lock(&a->mu);
    json_t **v = malloc((a->n ? a->n : 1) * sizeof *v);
    for (size_t i = 0; v && i < a->n; i++) {
        json_t *ev = a->ring[(a->head + ALARMS_EVENTS_MAX - a->n + i) % ALARMS_EVENTS_MAX];
        if (event_matches(ev, q))
            v[n++] = json_incref(ev);
    }
    pthread_mutex_unlock(&a->mu);
    if (!v)
        return NULL;
    if (n)
        qsort(v, n, sizeof *v, by_time);
    size_t drop = n > limit ? n - limit : 0; /* the oldest */
    for (size_t i = 0; i < drop; i++)
        json_decref(v[i]);
    memmove(v, v + drop, (n - drop) * sizeof *v);
    if (more)
        *more = drop > 0;
    return sorted(v, n - drop, NULL);
}

/* Calls 'cmd' with 'args' (taken) on the host (lib/http.h). */
static int
call(const struct httpc *peer, const char *cmd, json_t *args, json_t **result, char *err,
     size_t err_len)
{
    int rc = httpc_call_result(peer, cmd, args, result, err, err_len);
    json_decref(args);
    return rc;
}

/* The host's alarms and its events since the last one kept. */
void
alarms_collect(struct alarms *a, const struct httpc *peer, const char *host)
{
    static struct log_ratelimit rl = LOG_RATELIMIT_INIT(5, 60000);
    char err[ERR_LEN];
    json_t *list = NULL, *evs = NULL;
    if (call(peer, "alarm.list", json_pack("{s:b}", "all", 1), &list, err, sizeof err) == 0)
        alarms_set_host(a, host, list, wall_ms());
    else
        log_warn_rl(&rl, "host %s: %s", host, err);
    for (int tries = 0; tries < 2; tries++) { /* again from 0 when its log started over */
        uint64_t since = alarms_last_seq(a, host);
        json_t *args =
            json_pack("{s:I,s:i}", "since", (json_int_t)since, "limit", ALARMS_EVENTS_PER_CALL);
        if (call(peer, "event.list", args, &evs, err, sizeof err) < 0) {
            log_warn_rl(&rl, "host %s: %s", host, err);
            break;
        }
        uint64_t last = (uint64_t)json_integer_value(json_object_get(evs, "last"));
        alarms_add_events(a, host, json_object_get(evs, "events"), last);
        json_decref(evs);
        evs = NULL;
        if (last >= since)
            break;
    }
    json_decref(list);
}
