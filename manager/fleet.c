/* SPDX-License-Identifier: Apache-2.0 */
/* fleet: every host's and DPU's figures with their history (fleet.h). */
#include "manager/fleet.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/metrics.h"

struct ring {
    json_t **p;
    size_t cap, head, n; /* the oldest is at (head - n) */
};

struct fhost {
    char name[80];
    struct ring hour, day;
    uint64_t last_day_ms;
};

struct fleet {
    pthread_mutex_t mu;
    struct fhost *hosts;
    size_t n_hosts;
};

static bool
ring_init(struct ring *r, size_t cap)
{
    *r = (struct ring){.p = calloc(cap, sizeof *r->p), .cap = cap};
    return r->p != NULL;
}

static void
ring_fini(struct ring *r)
{
    for (size_t i = 0; r->p && i < r->cap; i++)
        json_decref(r->p[i]);
    free(r->p);
}

static void
ring_push(struct ring *r, json_t *point)
{
    json_decref(r->p[r->head]); /* the oldest, when full */
    r->p[r->head] = json_incref(point);
    r->head = (r->head + 1) % r->cap;
    if (r->n < r->cap)
        r->n++;
}

/* Replaces the newest point with 'point' (the ring is not empty). */
static void
ring_replace_newest(struct ring *r, json_t *point)
{
    size_t i = (r->head + r->cap - 1) % r->cap;
    json_decref(r->p[i]);
    r->p[i] = json_incref(point);
}

/* The i-th oldest point. */
static json_t *
ring_at(const struct ring *r, size_t i)
{
    return r->p[(r->head + r->cap - r->n + i) % r->cap];
}

struct fleet *
fleet_create(void)
{
    struct fleet *f = calloc(1, sizeof *f);
    if (f)
        pthread_mutex_init(&f->mu, NULL);
    return f;
}

void
fleet_destroy(struct fleet *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n_hosts; i++) {
        ring_fini(&f->hosts[i].hour);
        ring_fini(&f->hosts[i].day);
    }
    free(f->hosts);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

/* Host 'name''s entry, made when 'make'; NULL when missing or ENOMEM. */
static struct fhost *
find(struct fleet *f, const char *name, bool make)
{
    for (size_t i = 0; i < f->n_hosts; i++)
        if (!strcmp(f->hosts[i].name, name))
            return &f->hosts[i];
    struct fhost *h = make ? realloc(f->hosts, (f->n_hosts + 1) * sizeof *h) : NULL;
    if (!h)
        return NULL;
    f->hosts = h;
    h = &f->hosts[f->n_hosts];
    *h = (struct fhost){0};
    snprintf(h->name, sizeof h->name, "%s", name);
    if (!ring_init(&h->hour, FLEET_HOUR_POINTS) || !ring_init(&h->day, FLEET_DAY_POINTS)) {
        ring_fini(&h->hour);
        ring_fini(&h->day);
        return NULL;
    }
    f->n_hosts++;
    return h;
}

void
fleet_record(struct fleet *f, const char *host, json_t *host_sample, json_t *dpus, uint64_t now_ms)
{
    json_t *point = json_pack("{s:I,s:O?,s:O?}", "at_ms", (json_int_t)now_ms, "host", host_sample,
                              "dpus", dpus);
    pthread_mutex_lock(&f->mu);
    struct fhost *h = point ? find(f, host, true) : NULL;
    if (h) {
        ring_push(&h->hour, point);
        if (!h->last_day_ms || now_ms - h->last_day_ms >= FLEET_DAY_STEP_MS) {
            ring_push(&h->day, point);
            h->last_day_ms = now_ms;
        } else { /* a step's newest point stands for it: the day ends now */
            ring_replace_newest(&h->day, point);
        }
    }
    pthread_mutex_unlock(&f->mu);
    json_decref(point);
}

void
fleet_forget(struct fleet *f, const char *host)
{
    pthread_mutex_lock(&f->mu);
    struct fhost *h = find(f, host, false);
    if (h) {
        ring_fini(&h->hour);
        ring_fini(&h->day);
        *h = f->hosts[--f->n_hosts];
    }
    pthread_mutex_unlock(&f->mu);
}

json_t *
fleet_history(struct fleet *f, const char *host, bool day, uint64_t now_ms)
{
    json_t *out = NULL;
    pthread_mutex_lock(&f->mu);
    struct fhost *h = find(f, host, false);
    if (h) {
        const struct ring *r = day ? &h->day : &h->hour;
        uint64_t span = day ? 24 * FLEET_HOUR_MS : FLEET_HOUR_MS;
        json_t *points = json_array();
        for (size_t i = 0; points && i < r->n; i++) {
            json_t *p = ring_at(r, i);
            uint64_t at = (uint64_t)json_integer_value(json_object_get(p, "at_ms"));
            if (at + span >= now_ms)
                json_array_append(points, p);
        }
        out = json_pack("{s:s,s:s,s:o?}", "host", host, "window", day ? "day" : "hour", "points",
                        points);
    }
    pthread_mutex_unlock(&f->mu);
    return out;
}

/* Adds 'sample' (metric_set_json()) with labels host=H (and dpu=D) to the
 * sets being written. */
static void
add_set(json_t *sample, const char *host, const char *dpu, struct metric_set **sets,
        const char ***extra, size_t *n)
{
    struct metric_set *s = malloc(sizeof *s);
    const char **lab = calloc(5, sizeof *lab);
    char err[128];
    if (!s || !lab || !sample) {
        free(s);
        free(lab);
        return;
    }
    metric_set_init(s);
    if (!metric_set_from_json(sample, s, err, sizeof err)) {
        metric_set_fini(s);
        free(s);
        free(lab);
        return;
    }
    lab[0] = "host", lab[1] = host;
    if (dpu)
        lab[2] = "dpu", lab[3] = dpu;
    sets[*n] = s;
    extra[*n] = lab;
    (*n)++;
}

char *
fleet_prometheus(struct fleet *f, size_t *len)
{
    char *text = NULL;
    FILE *mem = open_memstream(&text, len);
    if (!mem)
        return NULL;
    pthread_mutex_lock(&f->mu);
    size_t cap = 1, n = 0;
    for (size_t i = 0; i < f->n_hosts; i++)
        cap += 1 + (f->hosts[i].hour.n
                        ? json_array_size(json_object_get(
                              ring_at(&f->hosts[i].hour, f->hosts[i].hour.n - 1), "dpus"))
                        : 0);
    struct metric_set **sets = calloc(cap, sizeof *sets);
    const char ***extra = calloc(cap, sizeof *extra);
    for (size_t i = 0; sets && extra && i < f->n_hosts; i++) {
        const struct fhost *h = &f->hosts[i];
        json_t *p = h->hour.n ? ring_at(&h->hour, h->hour.n - 1) : NULL, *d;
        size_t k;
        if (!p)
            continue;
        add_set(json_object_get(p, "host"), h->name, NULL, sets, extra, &n);
        json_array_foreach (json_object_get(p, "dpus"), k, d)
            add_set(json_object_get(d, "sample"), h->name,
                    json_string_value(json_object_get(d, "dpu")), sets, extra, &n);
    }
    if (sets && extra)
        metric_prom_write(mem, (const struct metric_set *const *)sets,
                          (const char *const *const *)extra, n);
    pthread_mutex_unlock(&f->mu);
    for (size_t i = 0; i < n; i++) {
        metric_set_fini(sets[i]);
        free(sets[i]);
        free(extra[i]);
    }
    free(sets);
    free(extra);
    if (fclose(mem) != 0) {
        free(text);
        return NULL;
    }
    return text;
}
