/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fleet: every host's and DPU's figures with their history (fleet.h).
 *
 * Kept compact, since a fleet of 10,000 hosts with 2 DPUs each and ~130
 * figures a host is over a million series: a point holds its devices'
 * values as doubles; what names them (each metric's name and labels, and
 * the DPU's name) is one block of bytes per device, interned (shared by
 * every point and host with the same figures) and counted.  JSON is made
 * again only when read.  A point is shared by the hour and the day.
 *
 *   key block:  DPU \0 then per metric: NAME \0 (KEY \0 VALUE \0)* \1
 *               (metrics.h's rules: no byte below 0x20 in any of them)
 */
#include "manager/fleet.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "monitor/metrics.h"

#define DPU_NAME_MAX 64
#define DAY_MS (24 * FLEET_HOUR_MS)

/* A node of a chained hash table (struct htab), first in its element. */
struct hnode {
    struct hnode *next;
    uint32_t hash;
};

struct htab {
    struct hnode **b;
    size_t n, cap; /* cap: a power of 2 */
};

/* A device's names: interned, counted. */
struct fkeys {
    struct hnode node;
    unsigned refs;
    size_t n;   /* metrics */
    size_t len; /* of 'bytes' */
    char bytes[];
};

/* One device's part of a point. */
struct fdev {
    struct fkeys *keys; /* NULL: no sample */
    char *why;          /* a DPU's reason when down, or NULL */
    uint64_t seq, time_ms;
    uint32_t interval_s;
    int32_t dpu_interval_s; /* a DPU entry's own, -1 when absent */
    int8_t up;              /* a DPU's: 1, 0, or -1 when absent (the host) */
    uint32_t first;         /* its values: point.values[first ...] */
    char dpu[DPU_NAME_MAX]; /* "" for the host */
};

struct fpoint {
    unsigned refs; /* the hour's and the day's */
    uint64_t at_ms;
    size_t n_devs; /* the host, then its DPUs */
    struct fdev *devs;
    double values[];
};

struct ring {
    struct fpoint **p;
    size_t cap, start, n; /* the oldest at 'start' */
};

struct fhost {
    struct hnode node;
    char name[80];
    struct ring hour, day;
    uint64_t last_day_ms;
};

struct fleet {
    pthread_mutex_t mu;
    struct htab hosts, keys;
};

/* ---- the hash tables ---- */

static uint32_t
hash_bytes(const void *p, size_t n)
{
    return hash_fnv1a(p, n, HASH_FNV1A_SEED);
}

/* The first node of 'hash''s chain (then follow 'next', checking 'hash'). */
static struct hnode *
htab_chain(const struct htab *t, uint32_t hash)
{
    return t->cap ? t->b[hash & (t->cap - 1)] : NULL;
}

static bool
htab_insert(struct htab *t, struct hnode *node)
{
    if (t->n >= t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        struct hnode **b = calloc(cap, sizeof *b);
        if (!b)
            return false;
        for (size_t i = 0; i < t->cap; i++)
            for (struct hnode *x = t->b[i], *next; x; x = next) {
                next = x->next;
                x->next = b[x->hash & (cap - 1)];
                b[x->hash & (cap - 1)] = x;
            }
        free(t->b);
        t->b = b;
        t->cap = cap;
    }
    struct hnode **head = &t->b[node->hash & (t->cap - 1)];
    node->next = *head;
    *head = node;
    t->n++;
    return true;
}

static void
htab_remove(struct htab *t, struct hnode *node)
{
    for (struct hnode **x = &t->b[node->hash & (t->cap - 1)]; *x; x = &(*x)->next)
        if (*x == node) {
            *x = node->next;
            t->n--;
            return;
        }
}

/* ---- names and points ---- */

static void
keys_unref(struct fleet *f, struct fkeys *k)
{
    if (k && !--k->refs) {
        htab_remove(&f->keys, &k->node);
        free(k);
    }
}

/* The interned block equal to 'bytes' ('len' bytes, 'n' metrics), with a
 * reference taken; NULL on ENOMEM. */
static struct fkeys *
keys_intern(struct fleet *f, const char *bytes, size_t len, size_t n)
{
    uint32_t h = hash_bytes(bytes, len);
    for (struct hnode *x = htab_chain(&f->keys, h); x; x = x->next) {
        struct fkeys *k = (struct fkeys *)x;
        if (x->hash == h && k->len == len && !memcmp(k->bytes, bytes, len)) {
            k->refs++;
            return k;
        }
    }
    struct fkeys *k = malloc(sizeof *k + len);
    if (!k)
        return NULL;
    *k = (struct fkeys){.node.hash = h, .refs = 1, .n = n, .len = len};
    memcpy(k->bytes, bytes, len);
    if (!htab_insert(&f->keys, &k->node)) {
        free(k);
        return NULL;
    }
    return k;
}

static void
point_unref(struct fleet *f, struct fpoint *p)
{
    if (!p || --p->refs)
        return;
    for (size_t i = 0; i < p->n_devs; i++) {
        keys_unref(f, p->devs[i].keys);
        free(p->devs[i].why);
    }
    free(p);
}

/* A growing buffer of key bytes. */
struct kbuf {
    char *b;
    size_t len, cap;
};

static bool
kbuf_put(struct kbuf *k, const char *s, size_t n)
{
    if (k->len + n > k->cap) {
        size_t cap = MAX(k->cap * 2, k->len + n + 1024);
        char *b = realloc(k->b, cap);
        if (!b)
            return false;
        k->b = b;
        k->cap = cap;
    }
    memcpy(k->b + k->len, s, n);
    k->len += n;
    return true;
}

/* The key bytes of DPU 'dpu' ("" for the host) with set 's' into 'k'. */
static bool
keys_of(struct kbuf *k, const char *dpu, const struct metric_set *s)
{
    bool ok = kbuf_put(k, dpu, strlen(dpu) + 1);
    for (size_t i = 0; ok && i < s->n; i++) {
        const struct metric *m = &s->m[i];
        ok = kbuf_put(k, m->name, strlen(m->name) + 1);
        for (unsigned l = 0; ok && l < m->n_labels; l++)
            ok = kbuf_put(k, m->keys[l], strlen(m->keys[l]) + 1) &&
                 kbuf_put(k, m->values[l], strlen(m->values[l]) + 1);
        ok = ok && kbuf_put(k, "\1", 1);
    }
    return ok;
}

/* The set that 'k' names with the values 'v' (into 's', empty, which the
 * caller finishes).  Returns false on ENOMEM. */
static bool
set_of(const struct fkeys *k, const double *v, struct metric_set *s)
{
    const char *p = k->bytes + strlen(k->bytes) + 1, *end = k->bytes + k->len;
    if (k->n && !(s->m = calloc(k->n, sizeof *s->m)))
        return false;
    s->cap = k->n;
    for (size_t i = 0; i < k->n && p < end; i++, p++) {
        struct metric *m = &s->m[s->n++];
        snprintf(m->name, sizeof m->name, "%s", p);
        p += strlen(p) + 1;
        while (p < end && *p != '\1' && m->n_labels < METRIC_MAX_LABELS) {
            snprintf(m->keys[m->n_labels], sizeof m->keys[0], "%s", p);
            p += strlen(p) + 1;
            snprintf(m->values[m->n_labels++], sizeof m->values[0], "%s", p);
            p += strlen(p) + 1;
        }
        m->value = v[i];
    }
    return true;
}

/* ---- recording ---- */

/* A device's entry of a point being made: its sample parsed. */
struct dev_in {
    const char *dpu;
    json_t *entry; /* a DPU's {"dpu", "up", ...}, or NULL (the host) */
    struct metric_set set;
    bool has_sample;
};

/* The point of one report: each device's values, its names interned
 * (f->mu held).  NULL on ENOMEM. */
static struct fpoint *
point_make(struct fleet *f, struct dev_in *in, size_t n, uint64_t now_ms)
{
    size_t n_vals = 0;
    for (size_t i = 0; i < n; i++)
        n_vals += in[i].set.n;
    struct fpoint *p = calloc(1, sizeof *p + n_vals * sizeof(double) + n * sizeof(struct fdev));
    struct kbuf kb = {0};
    if (!p)
        return NULL;
    *p = (struct fpoint){.refs = 1, .at_ms = now_ms, .n_devs = n};
    p->devs = (struct fdev *)(p->values + n_vals);
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        struct fdev *d = &p->devs[i];
        json_t *e = in[i].entry, *iv = json_object_get(e, "interval_s");
        const char *why = json_string_value(json_object_get(e, "why"));
        snprintf(d->dpu, sizeof d->dpu, "%s", in[i].dpu);
        d->up = e ? json_is_true(json_object_get(e, "up")) : -1;
        d->dpu_interval_s = json_is_integer(iv) ? (int32_t)json_integer_value(iv) : -1;
        d->why = why ? strdup(why) : NULL;
        d->first = (uint32_t)at;
        kb.len = 0;
        if (in[i].has_sample && keys_of(&kb, d->dpu, &in[i].set))
            d->keys = keys_intern(f, kb.b, kb.len, in[i].set.n);
        d->seq = in[i].set.seq;
        d->time_ms = in[i].set.time_ms;
        d->interval_s = in[i].set.interval_s;
        for (size_t k = 0; d->keys && k < in[i].set.n; k++)
            p->values[at + k] = in[i].set.m[k].value;
        at += in[i].set.n;
    }
    free(kb.b);
    return p;
}

/* Pushes 'p' (a reference taken) into 'r', which grows up to 'max' while
 * its oldest is after 'keep_after_ms', else drops its oldest. */
static void
ring_push(struct fleet *f, struct ring *r, struct fpoint *p, size_t max, uint64_t keep_after_ms)
{
    if (r->n == r->cap && r->cap < max && (!r->n || r->p[r->start]->at_ms >= keep_after_ms)) {
        size_t cap = MIN(max, r->cap ? r->cap * 2 : 4);
        struct fpoint **np = malloc(cap * sizeof *np);
        if (np) {
            for (size_t i = 0; i < r->n; i++)
                np[i] = r->p[(r->start + i) % r->cap];
            free(r->p);
            *r = (struct ring){.p = np, .cap = cap, .start = 0, .n = r->n};
        }
    }
    if (!r->cap)
        return;
    if (r->n == r->cap) { /* the oldest goes */
        point_unref(f, r->p[r->start]);
        r->start = (r->start + 1) % r->cap;
        r->n--;
    }
    p->refs++;
    r->p[(r->start + r->n++) % r->cap] = p;
}

static void
ring_fini(struct fleet *f, struct ring *r)
{
    for (size_t i = 0; i < r->n; i++)
        point_unref(f, r->p[(r->start + i) % r->cap]);
    free(r->p);
    *r = (struct ring){0};
}

/* Replaces the newest point of 'r' (if any) with 'p' (a reference taken). */
static void
ring_replace_newest(struct fleet *f, struct ring *r, struct fpoint *p)
{
    if (!r->n)
        return;
    size_t i = (r->start + r->n - 1) % r->cap;
    point_unref(f, r->p[i]);
    p->refs++;
    r->p[i] = p;
}

/* The i-th oldest point. */
static struct fpoint *
ring_at(const struct ring *r, size_t i)
{
    return r->p[(r->start + i) % r->cap];
}

struct fleet *
fleet_create(void)
{
    struct fleet *f = calloc(1, sizeof *f);
    if (f)
        pthread_mutex_init(&f->mu, NULL);
    return f;
}

static void
host_free(struct fleet *f, struct fhost *h)
{
    ring_fini(f, &h->hour);
    ring_fini(f, &h->day);
    free(h);
}

void
fleet_destroy(struct fleet *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->hosts.cap; i++)
        for (struct hnode *x = f->hosts.b[i], *next; x; x = next) {
            next = x->next;
            host_free(f, (struct fhost *)x);
        }
    free(f->hosts.b);
    free(f->keys.b); /* every block went with its points */
    pthread_mutex_destroy(&f->mu);
    free(f);
}

/* Host 'name''s entry, made when 'make'; NULL when missing or ENOMEM. */
static struct fhost *
find(struct fleet *f, const char *name, bool make)
{
    uint32_t hash = hash_bytes(name, strlen(name));
    for (struct hnode *x = htab_chain(&f->hosts, hash); x; x = x->next)
        if (x->hash == hash && !strcmp(((struct fhost *)x)->name, name))
            return (struct fhost *)x;
    struct fhost *h = make ? calloc(1, sizeof *h) : NULL;
    if (!h)
        return NULL;
    h->node.hash = hash;
    snprintf(h->name, sizeof h->name, "%s", name);
    if (!htab_insert(&f->hosts, &h->node)) {
        free(h);
        return NULL;
    }
    return h;
}

/* Parses 'sample' into 'd' (which is then the caller's to finish). */
static void
dev_parse(struct dev_in *d, const char *dpu, json_t *entry, json_t *sample)
{
    char err[128];
    *d = (struct dev_in){.dpu = dpu, .entry = entry};
    metric_set_init(&d->set);
    d->has_sample = sample && metric_set_from_json(sample, &d->set, err, sizeof err);
    if (!d->has_sample)
        metric_set_fini(&d->set);
}

void
fleet_record(struct fleet *f, const char *host, json_t *host_sample, json_t *dpus, uint64_t now_ms)
{
    size_t n = 1 + json_array_size(dpus), i;
    struct dev_in *in = calloc(n, sizeof *in);
    json_t *d;
    if (!in)
        return;
    dev_parse(&in[0], "", NULL, host_sample); /* outside the lock: the work */
    json_array_foreach (dpus, i, d) {
        const char *name = json_string_value(json_object_get(d, "dpu"));
        dev_parse(&in[i + 1], name && strlen(name) < DPU_NAME_MAX ? name : "?", d,
                  json_object_get(d, "sample"));
    }
    pthread_mutex_lock(&f->mu);
    struct fhost *h = find(f, host, true);
    struct fpoint *p = h ? point_make(f, in, n, now_ms) : NULL;
    if (p) {
        ring_push(f, &h->hour, p, FLEET_HOUR_POINTS, now_ms - MIN(now_ms, FLEET_HOUR_MS));
        if (!h->last_day_ms || now_ms - h->last_day_ms >= FLEET_DAY_STEP_MS) {
            ring_push(f, &h->day, p, FLEET_DAY_POINTS, now_ms - MIN(now_ms, DAY_MS));
            h->last_day_ms = now_ms;
        } else { /* a step's newest point stands for it: the day ends now */
            ring_replace_newest(f, &h->day, p);
        }
        point_unref(f, p);
    }
    pthread_mutex_unlock(&f->mu);
    for (i = 0; i < n; i++)
        metric_set_fini(&in[i].set);
    free(in);
}

void
fleet_forget(struct fleet *f, const char *host)
{
    pthread_mutex_lock(&f->mu);
    struct fhost *h = find(f, host, false);
    if (h) {
        htab_remove(&f->hosts, &h->node);
        host_free(f, h);
    }
    pthread_mutex_unlock(&f->mu);
}

/* ---- reading ---- */

/* Device 'd''s sample as metric_set_json() wrote it, or NULL. */
static json_t *
sample_json(const struct fpoint *p, const struct fdev *d)
{
    struct metric_set s;
    metric_set_init(&s);
    json_t *j = NULL;
    if (d->keys && set_of(d->keys, p->values + d->first, &s)) {
        s.seq = d->seq;
        s.time_ms = d->time_ms;
        s.interval_s = d->interval_s;
        j = metric_set_json(&s);
    }
    metric_set_fini(&s);
    return j;
}

/* Point 'p' as fleet.h draws it. */
static json_t *
point_json(const struct fpoint *p)
{
    json_t *dpus = json_array();
    for (size_t i = 1; i < p->n_devs; i++) {
        const struct fdev *d = &p->devs[i];
        json_t *e = json_pack("{s:s,s:b}", "dpu", d->dpu, "up", d->up > 0);
        if (d->dpu_interval_s >= 0)
            json_object_set_new(e, "interval_s", json_integer(d->dpu_interval_s));
        if (d->keys)
            json_object_set_new(e, "sample", sample_json(p, d));
        if (d->why)
            json_object_set_new(e, "why", json_string(d->why));
        json_array_append_new(dpus, e);
    }
    return json_pack("{s:I,s:o?,s:o}", "at_ms", (json_int_t)p->at_ms, "host",
                     p->n_devs ? sample_json(p, &p->devs[0]) : NULL, "dpus", dpus);
}

json_t *
fleet_history(struct fleet *f, const char *host, bool day, uint64_t now_ms)
{
    json_t *out = NULL;
    pthread_mutex_lock(&f->mu);
    struct fhost *h = find(f, host, false);
    if (h) {
        const struct ring *r = day ? &h->day : &h->hour;
        uint64_t span = day ? DAY_MS : FLEET_HOUR_MS;
        json_t *points = json_array();
        for (size_t i = 0; points && i < r->n; i++) {
            const struct fpoint *p = ring_at(r, i);
            if (p->at_ms + span >= now_ms)
                json_array_append_new(points, point_json(p));
        }
        out = json_pack("{s:s,s:s,s:o?}", "host", host, "window", day ? "day" : "hour", "points",
                        points);
    }
    pthread_mutex_unlock(&f->mu);
    return out;
}

/* The Prometheus sets of host 'h''s latest point, with their labels. */
static void
add_sets(const struct fhost *h, struct metric_set *sets, const char *(*extra)[5], size_t *n)
{
    const struct fpoint *p = h->hour.n ? ring_at(&h->hour, h->hour.n - 1) : NULL;
    for (size_t i = 0; p && i < p->n_devs; i++) {
        const struct fdev *d = &p->devs[i];
        struct metric_set *s = &sets[*n];
        metric_set_init(s);
        if (!d->keys || !set_of(d->keys, p->values + d->first, s)) {
            metric_set_fini(s);
            continue;
        }
        const char **lab = extra[*n];
        lab[0] = "host", lab[1] = h->name, lab[2] = i ? "dpu" : NULL, lab[3] = d->dpu;
        lab[4] = NULL;
        (*n)++;
    }
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
    for (size_t i = 0; i < f->hosts.cap; i++)
        for (struct hnode *x = f->hosts.b[i]; x; x = x->next) {
            const struct ring *r = &((struct fhost *)x)->hour;
            cap += r->n ? ring_at(r, r->n - 1)->n_devs : 0;
        }
    struct metric_set *sets = calloc(cap, sizeof *sets);
    const char *(*extra)[5] = calloc(cap, sizeof *extra);
    const struct metric_set **setp = calloc(cap, sizeof *setp);
    const char *const **extrap = calloc(cap, sizeof *extrap);
    for (size_t i = 0; sets && extra && i < f->hosts.cap; i++)
        for (struct hnode *x = f->hosts.b[i]; x; x = x->next)
            add_sets((struct fhost *)x, sets, extra, &n);
    for (size_t i = 0; setp && extrap && i < n; i++)
        setp[i] = &sets[i], extrap[i] = extra[i];
    if (setp && extrap)
        metric_prom_write(mem, setp, extrap, n);
    pthread_mutex_unlock(&f->mu);
    for (size_t i = 0; i < n; i++)
        metric_set_fini(&sets[i]);
    free(sets);
    free(extra);
    free(setp);
    free(extrap);
    if (fclose(mem) != 0) {
        free(text);
        return NULL;
    }
    return text;
}
