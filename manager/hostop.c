/* SPDX-License-Identifier: Apache-2.0 */
/* hostop: an operator's operations on one host, as tasks (hostop.h). */
#include "manager/hostop.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"

LOG_MODULE(hostop);

struct hostops {
    pthread_mutex_t mu;
    struct hostop q[HOSTOPS_MAX];
    size_t n;
};

/* The kinds: hostd's command for each, and whether it runs on. */
static const struct {
    const char *kind, *cmd;
    bool is_long;
} kinds[] = {
    {"alarm.ack", "alarm.ack", false},
    {"dpu.failover", "dpu.failover", false},
    {"software.install", "software.install", true},
};

static int
kind_index(const char *kind)
{
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (!strcmp(kinds[i].kind, kind))
            return (int)i;
    return -1;
}

bool
hostop_kind_is_valid(const char *kind)
{
    return kind && kind_index(kind) >= 0;
}

bool
hostop_kind_is_long(const char *kind)
{
    int i = kind ? kind_index(kind) : -1;
    return i >= 0 && kinds[i].is_long;
}

struct hostops *
hostops_create(void)
{
    struct hostops *q = calloc(1, sizeof *q);
    if (q)
        pthread_mutex_init(&q->mu, NULL);
    return q;
}

void
hostops_destroy(struct hostops *q)
{
    if (!q)
        return;
    for (size_t i = 0; i < q->n; i++)
        hostop_fini(&q->q[i]);
    pthread_mutex_destroy(&q->mu);
    free(q);
}

void
hostop_fini(struct hostop *op)
{
    json_decref(op->args);
    json_decref(op->results);
    op->args = op->results = NULL;
}

/* Appends 'op' (moved) under the lock.  Returns 0 or -ENOSPC. */
static int
push_locked(struct hostops *q, struct hostop *op)
{
    if (q->n >= HOSTOPS_MAX)
        return -ENOSPC;
    q->q[q->n++] = *op;
    *op = (struct hostop){0};
    return 0;
}

int
hostops_queue(struct hostops *q, const char *host, const char *kind, json_t *args, const char *task,
              uint64_t now_ms)
{
    if (!hostop_kind_is_valid(kind) || !host || !*host || strlen(host) > INV_NAME_MAX ||
        !task_id_is_valid(task) || !json_is_object(args))
        return -EINVAL;
    struct hostop op = {.args = json_deep_copy(args), .at_ms = now_ms};
    if (!op.args)
        return -ENOMEM;
    snprintf(op.host, sizeof op.host, "%s", host);
    snprintf(op.task, sizeof op.task, "%s", task);
    snprintf(op.kind, sizeof op.kind, "%s", kind);
    pthread_mutex_lock(&q->mu);
    int rc = push_locked(q, &op);
    pthread_mutex_unlock(&q->mu);
    hostop_fini(&op); /* what was not moved */
    return rc;
}

bool
hostops_has_room(struct hostops *q)
{
    pthread_mutex_lock(&q->mu);
    bool room = q->n < HOSTOPS_MAX;
    pthread_mutex_unlock(&q->mu);
    return room;
}

size_t
hostops_pending(struct hostops *q)
{
    pthread_mutex_lock(&q->mu);
    size_t n = q->n;
    pthread_mutex_unlock(&q->mu);
    return n;
}

int
hostops_cancel(struct hostops *q, const char *task)
{
    int rc = -ENOENT;
    pthread_mutex_lock(&q->mu);
    for (size_t i = 0; rc && i < q->n; i++) {
        if (strcmp(q->q[i].task, task))
            continue;
        hostop_fini(&q->q[i]);
        memmove(&q->q[i], &q->q[i + 1], (q->n - i - 1) * sizeof q->q[0]);
        q->n--;
        rc = 0;
    }
    pthread_mutex_unlock(&q->mu);
    return rc;
}

/* By host, then as queued. */
static int
by_host(const void *a, const void *b)
{
    const struct hostop *x = a, *y = b;
    int c = strcmp(x->host, y->host);
    return c ? c : x->at_ms < y->at_ms ? -1 : x->at_ms > y->at_ms ? 1 : strcmp(x->task, y->task);
}

size_t
hostops_take(struct hostops *q, struct hostop *out)
{
    pthread_mutex_lock(&q->mu);
    size_t n = q->n;
    memcpy(out, q->q, n * sizeof *out);
    q->n = 0;
    pthread_mutex_unlock(&q->mu);
    qsort(out, n, sizeof *out, by_host);
    return n;
}

void
hostops_requeue(struct hostops *q, struct store *st, struct hostop *op, bool behind,
                uint64_t now_ms)
{
    if (!behind && op->at_ms + HOSTOPS_WAIT_MS <= now_ms) {
        hostop_fail(st, op, "the host had no turn in time");
        hostop_fini(op);
        return;
    }
    pthread_mutex_lock(&q->mu);
    int rc = push_locked(q, op);
    pthread_mutex_unlock(&q->mu);
    if (rc < 0) { /* the API filled it meanwhile */
        hostop_fail(st, op, "too many operations wait");
        hostop_fini(op);
    }
}

/* ---- the task ---- */

static void
task_write(struct store *st, const struct hostop *op, const char *state, int progress,
           json_t *results)
{
    char err[ERR_LEN];
    if (task_update(st, op->task, state, progress, results, err, sizeof err) < 0)
        log_warn("task %s: %s", op->task, err);
}

void
hostop_begin(struct store *st, struct hostop *op)
{
    task_write(st, op, "running", 0, NULL);
}

/* {HOST: {"ok": false, "error": why}} with what else is known of the host. */
static json_t *
failed_results(const struct hostop *op, const char *why)
{
    json_t *r = op->results ? json_deep_copy(op->results) : json_object();
    json_t *h = json_object_get(r, op->host);
    if (!h)
        json_object_set_new(r, op->host, h = json_object());
    json_object_set_new(h, "ok", json_false());
    json_object_set_new(h, "error", json_string(why));
    if (!strcmp(op->kind, "alarm.ack"))
        json_object_set(h, "alarm", json_object_get(op->args, "id"));
    return r;
}

void
hostop_fail(struct store *st, struct hostop *op, const char *why)
{
    json_t *r = failed_results(op, why ? why : op->error[0] ? op->error : "failed");
    task_write(st, op, "error", op->progress, r);
    json_decref(r);
}

void
hostop_report(struct store *st, const struct hostop *op)
{
    if (op->polling)
        task_write(st, op, "running", op->progress, op->results);
    else if (op->error[0])
        hostop_fail(st, (struct hostop *)op, NULL);
    else
        task_write(st, op, "success", 100, op->results);
}

/* ---- on the host (a worker) ---- */

static const char *
str(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* An install's progress (lcm/install.h's, from software.install or
 * software.progress) into 'op': a result per device ("HOST" for the host,
 * "HOST/DPU" for each DPU), the progress by bytes staged, polling while it
 * runs. */
static void
install_progress(struct hostop *op, json_t *p)
{
    const char *state = str(p, "state");
    bool running = state && !strcmp(state, "running"),
         good = state && (!strcmp(state, "ok") || !strcmp(state, "checked"));
    json_t *results = json_object(), *d;
    json_int_t sent = 0, total = 0;
    size_t i;
    json_array_foreach (json_object_get(p, "devices"), i, d) {
        const char *target = str(d, "target"), *dev = str(d, "device");
        char key[INV_NAME_MAX * 2 + 2];
        if (target && !strncmp(target, "host/", 5))
            snprintf(key, sizeof key, "%s", op->host);
        else
            snprintf(key, sizeof key, "%s/%s", op->host, dev ? dev : "?");
        json_t *r = json_pack("{s:b,s:s?,s:s?}", "ok", running ? !str(d, "error") : good, "step",
                              str(d, "step"), "error", str(d, "error"));
        json_object_set_new(results, key, r);
        sent += json_integer_value(json_object_get(d, "sent"));
        total += json_integer_value(json_object_get(d, "total"));
    }
    json_t *h = json_object_get(results, op->host);
    if (!h)
        json_object_set_new(results, op->host, h = json_object());
    json_object_set_new(h, "ok", json_boolean(running || good));
    if (str(p, "version"))
        json_object_set(h, "version", json_object_get(p, "version"));
    if (json_is_true(json_object_get(p, "dry_run")))
        json_object_set_new(h, "dry_run", json_true());
    json_decref(op->results);
    op->results = results;
    op->polling = running;
    op->progress = !running ? 100 : total > 0 ? (int)(sent * 99 / total) : 0;
    if (!running && !good)
        snprintf(op->error, sizeof op->error, "%s",
                 str(p, "error") ? str(p, "error") : "the install failed");
}

void
hostop_run(const struct httpc *peer, struct hostop *op, uint64_t now_ms)
{
    json_t *result = NULL;
    int k = kind_index(op->kind);
    op->error[0] = '\0';
    op->heard_ms = now_ms;
    if (k < 0) {
        snprintf(op->error, sizeof op->error, "no operation %s", op->kind);
        return;
    }
    if (httpc_call_result(peer, kinds[k].cmd, op->args, &result, op->error, sizeof op->error) < 0)
        return;
    op->error[0] = '\0';
    if (!strcmp(op->kind, "software.install")) {
        install_progress(op, result);
    } else if (!strcmp(op->kind, "dpu.failover")) {
        json_decref(op->results);
        op->results =
            json_pack("{s:{s:b,s:O?,s:O?}}", op->host, "ok", 1, "active",
                      json_object_get(result, "active"), "epoch", json_object_get(result, "epoch"));
    } else {
        json_decref(op->results);
        op->results = json_pack("{s:{s:b,s:O?}}", op->host, "ok", 1, "alarm",
                                json_object_get(op->args, "id"));
        log_info("host %s: alarm %s acknowledged", op->host, str(op->args, "id"));
    }
    json_decref(result);
}

void
hostop_poll(const struct httpc *peer, struct hostop *op, uint64_t now_ms)
{
    json_t *p = NULL;
    char err[ERR_LEN];
    if (httpc_call_result(peer, "software.progress", NULL, &p, err, sizeof err) < 0) {
        hostop_unreached(op, err, now_ms);
        return;
    }
    op->heard_ms = now_ms;
    install_progress(op, p);
    json_decref(p);
}

void
hostop_unreached(struct hostop *op, const char *why, uint64_t now_ms)
{
    if (!op->polling) {
        snprintf(op->error, sizeof op->error, "%s", why);
    } else if (now_ms - op->heard_ms >= HOSTOPS_LOST_MS) {
        op->polling = false;
        snprintf(op->error, sizeof op->error, "the host stopped answering: %s", why);
    }
}
