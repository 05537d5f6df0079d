/* SPDX-License-Identifier: Apache-2.0 */
/* history: rings of gauge points per series (history.h). */
#include "monitor/history.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

#define KEY_MAX                                                                                    \
    (METRIC_NAME_MAX + METRIC_MAX_LABELS * (METRIC_LABEL_KEY_MAX + METRIC_LABEL_VALUE_MAX + 2) + 2)

struct point {
    uint64_t time_ms;
    float value;
} __attribute__((packed));

struct series {
    char key[KEY_MAX];
    unsigned head, count; /* the next slot, points held */
    struct point *ring;
};

struct history {
    unsigned capacity, max_series, n_series;
    struct series *series;
};

struct history *
history_create(unsigned capacity, unsigned max_series)
{
    struct history *h = calloc(1, sizeof *h);
    if (!h || !(h->series = calloc(max_series ? max_series : 1, sizeof *h->series))) {
        free(h);
        return NULL;
    }
    h->capacity = capacity < 2 ? 2 : capacity;
    h->max_series = max_series;
    return h;
}

static void
drop_all(struct history *h)
{
    for (unsigned i = 0; i < h->n_series; i++)
        free(h->series[i].ring);
    h->n_series = 0;
}

void
history_destroy(struct history *h)
{
    if (!h)
        return;
    drop_all(h);
    free(h->series);
    free(h);
}

int
history_resize(struct history *h, unsigned capacity)
{
    drop_all(h);
    h->capacity = capacity < 2 ? 2 : capacity;
    return 0;
}

void
history_key(const struct metric *m, char *buf, size_t len)
{
    size_t n = (size_t)snprintf(buf, len, "%s", m->name);
    for (unsigned i = 0; i < m->n_labels && n < len; i++)
        n += (size_t)snprintf(buf + n, len - n, "%s%s=%s", i ? "," : "{", m->keys[i], m->values[i]);
    if (m->n_labels && n < len)
        snprintf(buf + n, len - n, "}");
}

static struct series *
find_or_add(struct history *h, const char *key)
{
    for (unsigned i = 0; i < h->n_series; i++)
        if (!strcmp(h->series[i].key, key))
            return &h->series[i];
    if (h->n_series == h->max_series)
        return NULL;
    struct series *s = &h->series[h->n_series];
    s->ring = calloc(h->capacity, sizeof *s->ring);
    if (!s->ring)
        return NULL;
    snprintf(s->key, sizeof s->key, "%s", key);
    s->head = s->count = 0;
    h->n_series++;
    return s;
}

/* Drops series whose newest point is older than the ring's span. */
static void
expire(struct history *h, uint64_t now_ms, unsigned interval_s)
{
    uint64_t span = (uint64_t)h->capacity * (interval_s ? interval_s : 1) * 1000;
    for (unsigned i = 0; i < h->n_series;) {
        struct series *s = &h->series[i];
        const struct point *last = &s->ring[(s->head + h->capacity - 1) % h->capacity];
        if (s->count && now_ms > last->time_ms + span) {
            free(s->ring);
            *s = h->series[--h->n_series];
        } else {
            i++;
        }
    }
}

unsigned
history_add(struct history *h, const struct metric_set *set)
{
    unsigned added = 0;
    char key[KEY_MAX];
    expire(h, set->time_ms, set->interval_s);
    for (size_t i = 0; i < set->n; i++) {
        const struct metric *m = &set->m[i];
        if (metric_is_counter(m->name))
            continue;
        history_key(m, key, sizeof key);
        struct series *s = find_or_add(h, key);
        if (!s)
            continue;
        s->ring[s->head] = (struct point){set->time_ms, (float)m->value};
        s->head = (s->head + 1) % h->capacity;
        if (s->count < h->capacity)
            s->count++;
        added++;
    }
    return added;
}

json_t *
history_json(const struct history *h, const char *prefix, uint64_t since_ms, unsigned max_points)
{
    json_t *out = json_object();
    size_t plen = strlen(prefix);
    for (unsigned i = 0; out && i < h->n_series; i++) {
        const struct series *s = &h->series[i];
        if (strncmp(s->key, prefix, plen))
            continue;
        unsigned first = s->count, n = 0;
        /* The oldest point newer than since_ms, then at most max_points. */
        for (unsigned k = 0; k < s->count; k++) {
            const struct point *p = &s->ring[(s->head + h->capacity - s->count + k) % h->capacity];
            if (p->time_ms > since_ms) {
                first = k;
                break;
            }
        }
        n = s->count - first;
        if (max_points && n > max_points) {
            first += n - max_points;
            n = max_points;
        }
        json_t *pts = json_array();
        for (unsigned k = first; pts && k < s->count; k++) {
            const struct point *p = &s->ring[(s->head + h->capacity - s->count + k) % h->capacity];
            json_array_append_new(pts,
                                  json_pack("[I,f]", (json_int_t)p->time_ms, (double)p->value));
        }
        json_object_set_new(out, s->key, pts);
    }
    return out;
}
