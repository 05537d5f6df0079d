/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dfwsync: the firewall's connection table carried from the active DPU of
 * a pair to the standby (hostd.h; docs/dfw.md "High availability"), so
 * that a failover keeps the connections the firewall allowed.
 *
 *   every dfw_sync_ms, both DPUs healthy (hostd_ha_view()):
 *     active:  dfw.conn.export {since: CURSOR}  -> pages {cursor, full, more, rules, conns}
 *     standby: dfw.conn.import {rules, conns, flush (a full walk's first page),
 *                               table (the standby's table, else "stale")}
 *   a full walk (CURSOR "") when the pair forms or changes (a failover: the
 *   epoch), when the standby's table is not the one last seen (a restart:
 *   "stale"), when the active's cursor is not its table's ("full"), or
 *   after a round that failed.
 *
 * Thread-safety: a thread of its own (its sessions with the DPUs are its
 * own); it reads the pair through hostd_ha_view() and keeps what dfw.stats
 * shows under 'mu'.  It never takes the HA thread's time: a DPU that does
 * not answer delays the next round, not a failover.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemons/hostd/hostd.h"
#include "lib/http.h"
#include "lib/log.h"
#include "lib/util.h"

LOG_MODULE(dfwsync);

static struct log_ratelimit sync_rl = LOG_RATELIMIT_INIT(2, 10000);

#define CALL_TIMEOUT_MS 3000
#define BATCH_BYTES (900 * 1024) /* an import request under HTTP_MAX_BODY */
#define IDLE_MS 500              /* how often an idle sync looks again */

/* What dfw.stats shows (under mu). */
struct sync_state {
    const char *state; /* "off", "waiting", "syncing", "failed" */
    char why[ERR_LEN];
    int from, to;
    unsigned interval_ms;
    uint64_t last_ms, last_full_ms; /* monotonic, when the last good round ended; 0: none */
    uint64_t rounds, full_syncs, synced, last_n, last_us;
};

struct hostd_dfwsync {
    struct hostd *h;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop, running;
    struct httpc_session *s[HOSTD_MAX_DPUS];
    /* The thread's own. */
    char cursor[128]; /* the active's, after the last good round */
    char table[32];   /* the standby's table then */
    int from;
    uint64_t epoch;
    bool need_full;
    struct sync_state st; /* under mu */
};

static void
set_state(struct hostd_dfwsync *x, const char *state, const char *why)
{
    pthread_mutex_lock(&x->mu);
    x->st.state = state;
    snprintf(x->st.why, sizeof x->st.why, "%s", why ? why : "");
    pthread_mutex_unlock(&x->mu);
}

/* One call to DPU 'i'. */
static int
call(struct hostd_dfwsync *x, int i, const char *cmd, json_t *args, json_t **res, char *err,
     size_t err_len)
{
    return hostd_dpu_session_call(x->s[i], &x->h->dpus[i], cmd, args, NULL, 0, CALL_TIMEOUT_MS, res,
                                  err, err_len);
}

/* Sends records [from, to) of 'conns' to the standby 'i'.  Returns 0,
 * -ESTALE (its table is not the one expected), or -errno. */
static int
push_batch(struct hostd_dfwsync *x, int i, json_t *rules, json_t *conns, size_t from, size_t to,
           bool flush, char *err, size_t err_len)
{
    json_t *batch = json_array(), *res = NULL;
    for (size_t k = from; k < to; k++)
        json_array_append(batch, json_array_get(conns, k));
    json_t *args = json_pack("{s:O,s:o,s:b}", "rules", rules, "conns", batch, "flush", flush);
    if (!flush && x->table[0])
        json_object_set_new(args, "table", json_string(x->table));
    int rc = call(x, i, "dfw.conn.import", args, &res, err, err_len);
    json_decref(args);
    if (rc == 0) {
        const char *t = json_string_value(json_object_get(res, "table"));
        snprintf(x->table, sizeof x->table, "%s", t ? t : "");
        if (json_is_true(json_object_get(res, "stale")))
            rc = err_set(err, err_len, -ESTALE, "the standby's table is new");
    }
    json_decref(res);
    return rc;
}

/* Sends export page 'page' to the standby 'i' in batches that fit a
 * request (at least one: an empty one still checks the table). */
static int
push_page(struct hostd_dfwsync *x, int i, json_t *page, bool flush, char *err, size_t err_len)
{
    json_t *rules = json_object_get(page, "rules"), *conns = json_object_get(page, "conns");
    size_t n = json_array_size(conns), from = 0, bytes = 0;
    for (size_t k = 0; k < n; k++) {
        bytes += json_string_length(json_array_get(conns, k)) + 3;
        if (bytes < BATCH_BYTES)
            continue;
        int rc = push_batch(x, i, rules, conns, from, k + 1, flush, err, err_len);
        if (rc < 0)
            return rc;
        flush = false;
        from = k + 1;
        bytes = 0;
    }
    if (from < n || n == 0)
        return push_batch(x, i, rules, conns, from, n, flush, err, err_len);
    return 0;
}

/* One round from 'a' to 's': every page since the cursor (all when
 * 'full').  Returns 0, -ESTALE, or -errno with one line; '*n' records
 * carried, '*was_full' whether it was a full walk. */
static int
round_once(struct hostd_dfwsync *x, int a, int s, bool full, uint64_t *n, bool *was_full, char *err,
           size_t err_len)
{
    char cursor[sizeof x->cursor];
    snprintf(cursor, sizeof cursor, "%s", full ? "" : x->cursor);
    *n = 0;
    *was_full = false;
    for (bool more = true, first = true; more; first = false) {
        json_t *page = NULL, *args = json_pack("{s:s}", "since", cursor);
        int rc = call(x, a, "dfw.conn.export", args, &page, err, err_len);
        json_decref(args);
        if (rc < 0)
            return rc;
        const char *next = json_string_value(json_object_get(page, "cursor"));
        bool page_full = json_is_true(json_object_get(page, "full"));
        bool off = json_is_false(json_object_get(page, "enabled"));
        more = json_is_true(json_object_get(page, "more"));
        *was_full |= page_full;
        if (!first && page_full) /* the active's table changed under the walk */
            *n = 0;
        *n += json_array_size(json_object_get(page, "conns"));
        rc = off ? 0 : push_page(x, s, page, page_full, err, err_len);
        snprintf(cursor, sizeof cursor, "%s", next ? next : "");
        json_decref(page);
        if (rc < 0)
            return rc;
    }
    snprintf(x->cursor, sizeof x->cursor, "%s", cursor);
    return 0;
}

/* A round, and its outcome in the state. */
static void
sync_round(struct hostd_dfwsync *x, const struct hostd_ha_view *v)
{
    char err[ERR_LEN] = "";
    uint64_t t0 = now_ns(), n = 0;
    bool full = x->need_full, was_full = false;
    int rc = round_once(x, v->active, v->standby, full, &n, &was_full, err, sizeof err);
    if (rc == -ESTALE) /* the standby restarted: everything, now */
        rc = round_once(x, v->active, v->standby, true, &n, &was_full, err, sizeof err);
    x->need_full = rc < 0;
    pthread_mutex_lock(&x->mu);
    x->st.from = v->active;
    x->st.to = v->standby;
    if (rc < 0) {
        x->st.state = "failed";
        snprintf(x->st.why, sizeof x->st.why, "%s", err);
    } else {
        uint64_t now = now_ms();
        x->st.state = "syncing";
        x->st.why[0] = '\0';
        x->st.last_ms = now;
        x->st.rounds++;
        x->st.synced += n;
        x->st.last_n = n;
        x->st.last_us = (now_ns() - t0) / 1000;
        if (was_full) {
            x->st.full_syncs++;
            x->st.last_full_ms = now;
        }
    }
    pthread_mutex_unlock(&x->mu);
    if (rc < 0)
        log_warn_rl(&sync_rl, "%s -> %s: %s", x->h->dpus[v->active].name,
                    x->h->dpus[v->standby].name, err);
}

/* What the pair is now, and a round when it may have one. */
static void
tick(struct hostd_dfwsync *x, struct hostd_ha_view *v)
{
    hostd_ha_view(x->h, v);
    pthread_mutex_lock(&x->mu);
    x->st.interval_ms = v->sync_ms;
    pthread_mutex_unlock(&x->mu);
    if (!v->pair || !v->sync_ms) {
        set_state(x, "off", v->pair ? "dfw_sync_ms is 0" : "the DPUs are not a pair");
        x->need_full = true;
        return;
    }
    if (!v->active_ok || !v->standby_ok) {
        char why[64];
        snprintf(why, sizeof why, "%s not healthy",
                 x->h->dpus[v->active_ok ? v->standby : v->active].name);
        set_state(x, "waiting", why);
        x->need_full = true;
        return;
    }
    if (v->active != x->from || v->epoch != x->epoch) /* a failover: the new standby is empty */
        x->need_full = true;
    x->from = v->active;
    x->epoch = v->epoch;
    sync_round(x, v);
}

static void *
run(void *arg)
{
    struct hostd_dfwsync *x = arg;
    pthread_mutex_lock(&x->mu);
    while (!x->stop) {
        pthread_mutex_unlock(&x->mu);
        uint64_t t = now_ms();
        struct hostd_ha_view v;
        tick(x, &v);
        unsigned iv = v.pair && v.sync_ms ? v.sync_ms : IDLE_MS;
        uint64_t left = iv - MIN(now_ms() - t, (uint64_t)iv);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += (long)(left % 1000) * 1000000;
        ts.tv_sec += (time_t)(left / 1000) + ts.tv_nsec / 1000000000;
        ts.tv_nsec %= 1000000000;
        pthread_mutex_lock(&x->mu);
        if (!x->stop && left)
            pthread_cond_timedwait(&x->cv, &x->mu, &ts);
    }
    pthread_mutex_unlock(&x->mu);
    return NULL;
}

int
hostd_dfwsync_start(struct hostd *h, char *err, size_t err_len)
{
    if (h->n_dpus != 2)
        return 0;
    struct hostd_dfwsync *x = calloc(1, sizeof *x);
    if (!x)
        return err_set(err, err_len, -ENOMEM, "out of memory");
    h->dfwsync = x;
    x->h = h;
    x->from = -1;
    x->need_full = true;
    x->st.state = "off";
    x->st.from = x->st.to = -1;
    pthread_mutex_init(&x->mu, NULL);
    pthread_cond_init(&x->cv, NULL);
    for (unsigned i = 0; i < h->n_dpus; i++)
        if (!(x->s[i] = hostd_dpu_session(h, &h->dpus[i])))
            return err_set(err, err_len, -ENOMEM, "out of memory");
    int rc = -pthread_create(&x->thread, NULL, run, x);
    if (rc < 0)
        return err_set(err, err_len, rc, "thread: %s", strerror(-rc));
    x->running = true;
    return 0;
}

void
hostd_dfwsync_stop(struct hostd *h)
{
    struct hostd_dfwsync *x = h->dfwsync;
    if (!x)
        return;
    if (x->running) {
        pthread_mutex_lock(&x->mu);
        x->stop = true;
        pthread_cond_signal(&x->cv);
        pthread_mutex_unlock(&x->mu);
        pthread_join(x->thread, NULL);
    }
    for (unsigned i = 0; i < HOSTD_MAX_DPUS; i++)
        httpc_session_destroy(x->s[i]);
    pthread_mutex_destroy(&x->mu);
    pthread_cond_destroy(&x->cv);
    free(x);
    h->dfwsync = NULL;
}

json_t *
hostd_dfwsync_json(struct hostd *h)
{
    struct hostd_dfwsync *x = h->dfwsync;
    if (!x)
        return json_null();
    pthread_mutex_lock(&x->mu);
    const struct sync_state *s = &x->st;
    uint64_t now = now_ms();
    json_t *j = json_pack(
        "{s:s,s:s?,s:s?,s:i,s:I,s:I,s:I,s:I,s:I}", "state", s->state, "from",
        s->from >= 0 ? h->dpus[s->from].name : NULL, "to", s->to >= 0 ? h->dpus[s->to].name : NULL,
        "interval_ms", (int)s->interval_ms, "rounds", (json_int_t)s->rounds, "full_syncs",
        (json_int_t)s->full_syncs, "conns_synced", (json_int_t)s->synced, "last_conns",
        (json_int_t)s->last_n, "last_took_us", (json_int_t)s->last_us);
    if (s->last_ms)
        json_object_set_new(j, "last_sync_age_ms", json_integer((json_int_t)(now - s->last_ms)));
    if (s->last_full_ms)
        json_object_set_new(j, "last_full_age_ms",
                            json_integer((json_int_t)(now - s->last_full_ms)));
    if (s->why[0])
        json_object_set_new(j, "why", json_string(s->why));
    pthread_mutex_unlock(&x->mu);
    return j;
}
