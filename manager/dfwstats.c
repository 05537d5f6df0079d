/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dfwstats: the firewall's counters of the fleet (dfwstats.h).  Each host's
 * record is its DPUs' counters summed, kept as a summary:
 *
 *   {"rules": {NAME: {"packets", "bytes", "sessions"}}, "conns", "conn_max",
 *    "drops": {REASON: N}, "dpus": N, "at_ms"}
 *
 * and the fleet's is the same sum over the hosts, made when asked.
 */
#include "manager/dfwstats.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

struct dfw_stats {
    pthread_mutex_t mu;
    json_t *hosts; /* {HOST: summary} */
};

static const char *const rule_counts[] = {"packets", "bytes", "sessions"};
static const char *const totals[] = {"conns", "conn_max", "dpus"};

struct dfw_stats *
dfw_stats_create(void)
{
    struct dfw_stats *s = calloc(1, sizeof *s);
    if (!s || !(s->hosts = json_object())) {
        free(s);
        return NULL;
    }
    pthread_mutex_init(&s->mu, NULL);
    return s;
}

void
dfw_stats_destroy(struct dfw_stats *s)
{
    if (!s)
        return;
    json_decref(s->hosts);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* 'v' as a count: a non-negative integer, else 0. */
static json_int_t
count_of(json_t *v)
{
    return json_is_integer(v) && json_integer_value(v) > 0 ? json_integer_value(v) : 0;
}

/* Adds count 'v' to 'o'['key'] (made at 0), stopping at INT64_MAX. */
static void
add_count(json_t *o, const char *key, json_int_t v)
{
    json_int_t have = count_of(json_object_get(o, key));
    json_object_set_new(o, key, json_integer(v > INT64_MAX - have ? INT64_MAX : have + v));
}

/* 'o'['key'], an object, made if missing (NULL on ENOMEM). */
static json_t *
object_at(json_t *o, const char *key)
{
    json_t *x = json_object_get(o, key);
    if (!json_is_object(x) && (x = json_object()) && json_object_set_new(o, key, x) < 0)
        x = NULL;
    return x;
}

/* Adds summary 'from' to summary 'to' (both of the shape above). */
static void
summary_add(json_t *to, json_t *from)
{
    json_t *rules = object_at(to, "rules"), *drops = object_at(to, "drops"), *r, *n;
    const char *name;
    for (size_t i = 0; i < ARRAY_SIZE(totals); i++)
        add_count(to, totals[i], count_of(json_object_get(from, totals[i])));
    json_object_foreach (json_object_get(from, "drops"), name, n)
        add_count(drops, name, count_of(n));
    json_object_foreach (json_object_get(from, "rules"), name, r) {
        json_t *have = object_at(rules, name);
        for (size_t i = 0; have && i < ARRAY_SIZE(rule_counts); i++)
            add_count(have, rule_counts[i], count_of(json_object_get(r, rule_counts[i])));
    }
}

/* A DPU's answer as a summary: what is not of its shape left out. */
static json_t *
dpu_summary(json_t *dpu)
{
    json_t *sum = json_pack("{s:{},s:{},s:I,s:I,s:i}", "rules", "drops", "conns",
                            count_of(json_object_get(dpu, "conns")), "conn_max",
                            count_of(json_object_get(dpu, "conn_max")), "dpus", 1);
    json_t *rules = json_object_get(sum, "rules"), *r, *n;
    const char *reason;
    size_t i;
    json_array_foreach (sum ? json_object_get(dpu, "rules") : NULL, i, r) {
        const char *name = json_string_value(json_object_get(r, "name"));
        if (i == DFWSTATS_RULES_MAX)
            break;
        if (!name || !name[0] || strlen(name) > 127)
            continue;
        json_t *c = object_at(rules, name);
        for (size_t k = 0; c && k < ARRAY_SIZE(rule_counts); k++)
            add_count(c, rule_counts[k], count_of(json_object_get(r, rule_counts[k])));
    }
    json_object_foreach (sum ? json_object_get(dpu, "drops") : NULL, reason, n)
        if (strlen(reason) <= 64)
            add_count(json_object_get(sum, "drops"), reason, count_of(n));
    return sum;
}

void
dfw_stats_record(struct dfw_stats *s, const char *host, json_t *reply, uint64_t now_ms)
{
    json_t *sum = json_pack("{s:{},s:{},s:I}", "rules", "drops", "at_ms", (json_int_t)now_ms), *d;
    const char *dpu;
    json_object_foreach (sum ? json_object_get(reply, "dpus") : NULL, dpu, d) {
        json_t *one = json_is_object(d) ? dpu_summary(d) : NULL;
        summary_add(sum, one);
        json_decref(one);
    }
    if (!sum || !json_object_get(sum, "dpus"))
        add_count(sum, "dpus", 0);
    pthread_mutex_lock(&s->mu);
    if (sum)
        json_object_set_new(s->hosts, host, sum);
    pthread_mutex_unlock(&s->mu);
}

void
dfw_stats_forget(struct dfw_stats *s, const char *host)
{
    pthread_mutex_lock(&s->mu);
    json_object_del(s->hosts, host);
    pthread_mutex_unlock(&s->mu);
}

static int
strp_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* 'sum' as served: its rules as a list, by name (the fleet's sum is made
 * in the hosts' order).  NULL on ENOMEM. */
static json_t *
served(json_t *sum)
{
    json_t *rules = json_object_get(sum, "rules"), *list = json_array(), *c;
    json_t *out = list ? json_deep_copy(sum) : NULL;
    size_t n = json_object_size(rules), i = 0;
    const char **names = out ? malloc((n + 1) * sizeof *names) : NULL, *name;
    json_object_foreach (names ? rules : NULL, name, c)
        names[i++] = name;
    if (names)
        qsort(names, n, sizeof *names, strp_cmp);
    for (i = 0; names && i < n; i++) {
        json_t *r = json_deep_copy(json_object_get(rules, names[i]));
        json_object_set_new(r, "name", json_string(names[i]));
        json_array_append_new(list, r);
    }
    if (!names || json_object_set_new(out, "rules", list) < 0) {
        if (!names)
            json_decref(list);
        json_decref(out);
        out = NULL;
    }
    free(names);
    return out;
}

json_t *
dfw_stats_json(struct dfw_stats *s, const char *host)
{
    json_t *sum = NULL, *h;
    const char *name;
    pthread_mutex_lock(&s->mu);
    if (host && (h = json_object_get(s->hosts, host))) {
        sum = json_deep_copy(h);
        json_object_set_new(sum, "host", json_string(host));
        json_object_set_new(sum, "hosts", json_integer(1));
    } else if (!host &&
               (sum = json_pack("{s:{},s:{},s:I,s:I,s:I,s:I}", "rules", "drops", "conns",
                                (json_int_t)0, "conn_max", (json_int_t)0, "dpus", (json_int_t)0,
                                "hosts", (json_int_t)json_object_size(s->hosts)))) {
        json_object_foreach (s->hosts, name, h)
            summary_add(sum, h);
    }
    pthread_mutex_unlock(&s->mu);
    json_t *out = sum ? served(sum) : NULL;
    json_decref(sum);
    return out;
}
