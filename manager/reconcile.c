/* SPDX-License-Identifier: Apache-2.0 */
/* reconcile: the inventory's portgroups pushed to each host (reconcile.h). */
#include "manager/reconcile.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/authz.h"
#include "lib/http.h"
#include "lib/log.h"
#include "lib/util.h"
#include "manager/join.h"

LOG_MODULE(reconcile);

struct reconciler {
    struct reconcile_params p;
    char store_path[4096]; /* p.store_path points here: the caller's may go */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool kicked, stopping;
    char queue[RECONCILE_QUEUE][TASK_ID_LEN]; /* tasks for the next round */
    size_t n_queue;
    bool overflow; /* more were kicked: the round looks for queued ones */
};

/* Every object of 'kind' as {NAME: spec} (NULL on a store error). */
static json_t *
load_all(struct store *st, const char *kind)
{
    char prefix[64], after[STORE_KEY_MAX] = "", err[ERR_LEN];
    snprintf(prefix, sizeof prefix, "%s%s/", STORE_KEY_PREFIX, kind);
    json_t *all = json_object();
    for (;;) {
        struct store_list l = {0};
        if (store_list(st, prefix, after, STORE_LIST_MAX, &l, err, sizeof err) < 0) {
            log_warn("%s", err);
            json_decref(all);
            return NULL;
        }
        for (size_t i = 0; i < l.n_kvs; i++)
            json_object_set_new(all, l.kvs[i].key + strlen(prefix),
                                json_loads(l.kvs[i].value, 0, NULL));
        bool more = l.more && l.n_kvs;
        if (more)
            snprintf(after, sizeof after, "%s", l.kvs[l.n_kvs - 1].key);
        store_list_fini(&l);
        if (!more)
            return all;
    }
}

static const char *
str(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* What host 'host' should have: {P: {"vlan", "mtu"}} of every portgroup
 * S/P of a switch S in the host's datacenter. */
static json_t *
desired_for(json_t *host, json_t *clusters, json_t *switches, json_t *pgs)
{
    const char *dc = str(json_object_get(clusters, str(host, "cluster")), "datacenter");
    json_t *want = json_object();
    const char *name;
    json_t *pg;
    json_object_foreach (pgs, name, pg) {
        const char *slash = strchr(name, '/');
        char sw[STORE_KEY_MAX];
        snprintf(sw, sizeof sw, "%.*s", slash ? (int)(slash - name) : 0, name);
        const char *sdc = str(json_object_get(switches, sw), "datacenter");
        if (!slash || !dc || !sdc || strcmp(dc, sdc) || json_object_get(want, slash + 1))
            continue;
        json_object_set_new(want, slash + 1,
                            json_pack("{s:O,s:I}", "vlan", json_object_get(pg, "vlan"), "mtu",
                                      json_integer_value(json_object_get(pg, "mtu"))
                                          ? json_integer_value(json_object_get(pg, "mtu"))
                                          : 1500));
    }
    return want;
}

/* The portgroup called 'name' in hostd's list 'have', or NULL. */
static json_t *
find_pg(json_t *have, const char *name)
{
    size_t i;
    json_t *pg;
    json_array_foreach (have, i, pg) {
        if (str(pg, "name") && !strcmp(str(pg, "name"), name))
            return pg;
    }
    return NULL;
}

/* Adds what 'have' lacks of 'want' on 'peer'; 'ok' gets the portgroups
 * there as wanted, 'drift' the differences. */
static void
push_pgs(const struct httpc *peer, json_t *want, json_t *have, json_t *ok, json_t *drift)
{
    const char *name;
    json_t *pg;
    json_object_foreach (want, name, pg) {
        json_t *h = find_pg(have, name);
        long long hv = json_integer_value(json_object_get(h, "vlan")),
                  wv = json_integer_value(json_object_get(pg, "vlan"));
        char why[ERR_LEN] = "";
        if (h && hv == wv) {
            json_array_append_new(ok, json_string(name));
        } else if (h) {
            json_array_append_new(drift, json_sprintf("portgroup %s: VLAN %lld on the host, %lld "
                                                      "in the manager",
                                                      name, hv, wv));
        } else {
            json_t *args =
                json_pack("{s:s,s:O,s:O}", "name", name, "vlan", json_object_get(pg, "vlan"), "mtu",
                          json_object_get(pg, "mtu"));
            if (httpc_call_result(peer, "portgroup.add", args, NULL, why, sizeof why) == 0) {
                log_info("host %s: portgroup %s added (VLAN %lld)", peer->host, name, wv);
                json_array_append_new(ok, json_string(name));
            } else {
                json_array_append_new(drift,
                                      json_sprintf("portgroup %s: cannot add: %s", name, why));
            }
            json_decref(args);
        }
    }
}

/* Brings host 'peer' in line with 'want' and fills 'status'.  Returns 0
 * when the host answered. */
static int
push_host(const struct httpc *peer, json_t *want, json_t *status)
{
    char err[ERR_LEN] = "";
    json_t *have = NULL, *ok = json_array(), *drift = json_array(), *pg;
    int rc = httpc_call_result(peer, "portgroup.list", NULL, &have, err, sizeof err);
    if (rc == 0) {
        push_pgs(peer, want, have, ok, drift);
        size_t i;
        json_array_foreach (have, i, pg) {
            if (str(pg, "name") && !json_object_get(want, str(pg, "name")))
                json_array_append_new(
                    drift, json_sprintf("portgroup %s: not in the manager", str(pg, "name")));
        }
    }
    json_object_set_new(status, "reachable", json_boolean(rc == 0));
    json_object_set_new(status, "portgroups", ok);
    json_object_set_new(status, "drift", drift);
    if (rc < 0)
        json_object_set_new(status, "error", json_string(err));
    json_decref(have);
    return rc;
}

/* Writes host 'name''s status when it differs from the stored one. */
static void
save_status(struct store *st, const char *name, json_t *status)
{
    char key[STORE_KEY_MAX], err[ERR_LEN];
    struct store_kv kv = {0};
    snprintf(key, sizeof key, "%sstatus/%s", STORE_KEY_PREFIX, name);
    json_t *old = store_get(st, key, &kv, NULL, 0) == 0 ? json_loads(kv.value, 0, NULL) : NULL;
    store_kv_fini(&kv);
    bool same = old && json_equal(old, status);
    json_decref(old);
    if (same)
        return;
    char *text = json_dumps(status, JSON_COMPACT | JSON_SORT_KEYS);
    struct store_txn *t = text ? store_txn_begin(st) : NULL;
    struct store_actor actor = {.who = "dse-manager", .from = "reconcile", .what = "host.observe"};
    int rc = t ? store_txn_put(t, key, text, STORE_ANY_VERSION, err, sizeof err) : -ENOMEM;
    if (rc == 0)
        rc = store_txn_commit(t, &actor, NULL, err, sizeof err);
    else
        store_txn_abort(t);
    if (rc < 0)
        log_warn("host %s: status: %s", name, rc == -ENOMEM ? "out of memory" : err);
    free(text);
}

/* The revocation list to host 'name' when the number it last confirmed
 * (its stored status's "crl") is below 'number'; the host passes it on to
 * its DPUs.  Sets the status's "crl" to the number the host has. */
static void
sync_crl(struct store *st, const struct httpc *peer, const char *name, int64_t number,
         const char *pem, json_t *status)
{
    char key[STORE_KEY_MAX], err[ERR_LEN];
    struct store_kv kv = {0};
    snprintf(key, sizeof key, "%sstatus/%s", STORE_KEY_PREFIX, name);
    json_t *old = store_get(st, key, &kv, NULL, 0) == 0 ? json_loads(kv.value, 0, NULL) : NULL;
    store_kv_fini(&kv);
    json_int_t have = json_integer_value(json_object_get(old, "crl"));
    json_decref(old);
    json_t *args = pem && have < number ? json_pack("{s:s}", "pem", pem) : NULL, *r = NULL;
    if (args && httpc_call_result(peer, "crl.set", args, &r, err, sizeof err) == 0)
        have = json_integer_value(json_object_get(r, "number"));
    else if (args)
        log_warn("host %s: revocation list: %s", name, err);
    if (have)
        json_object_set_new(status, "crl", json_integer(have));
    json_decref(args);
    json_decref(r);
}

/* Each task of the round: 'state' at 'progress' with 'results'. */
static void
tasks_set(struct store *st, char (*tasks)[TASK_ID_LEN], size_t n, const char *state, int progress,
          json_t *results)
{
    char err[ERR_LEN];
    for (size_t i = 0; i < n; i++)
        if (task_update(st, tasks[i], state, progress, results, err, sizeof err) < 0)
            log_warn("task %s: %s", tasks[i], err);
}

/* A host's result in a task: it answered and added what it lacked. */
static json_t *
host_result(json_t *status)
{
    size_t i;
    json_t *d;
    json_array_foreach (json_object_get(status, "drift"), i, d) {
        if (strstr(json_string_value(d), ": cannot add: "))
            return json_pack("{s:b,s:O}", "ok", 0, "error", d);
    }
    if (!json_is_true(json_object_get(status, "reachable")))
        return json_pack("{s:b,s:O?}", "ok", 0, "error", json_object_get(status, "error"));
    return json_pack("{s:b}", "ok", 1);
}

/* The host's figures and its DPUs' into 'fleet'. */
static void
collect(const struct httpc *peer, const char *name, struct fleet *fleet)
{
    char err[ERR_LEN];
    json_t *hs = NULL, *ds = NULL;
    json_t *args = json_pack("{s:i}", "max_points", 0); /* the sample; the history is ours */
    if (httpc_call_result(peer, "host.stats", args, &hs, err, sizeof err) == 0 &&
        httpc_call_result(peer, "dpu.stats", args, &ds, err, sizeof err) == 0) {
        size_t i;
        json_t *d;
        json_array_foreach (ds, i, d)
            json_object_del(d, "history"); /* the hour is kept here */
        fleet_record(fleet, name, json_object_get(hs, "sample"), ds, wall_ms());
    }
    json_decref(args);
    json_decref(hs);
    json_decref(ds);
}

int
reconcile_round(struct store *st, SSL_CTX *client, uint16_t hostd_port, char (*tasks)[TASK_ID_LEN],
                size_t n_tasks, struct fleet *fleet, struct alarms *alarms)
{
    json_t *hosts = load_all(st, "host"), *clusters = load_all(st, "cluster"),
           *switches = load_all(st, "switch"), *pgs = load_all(st, "portgroup");
    json_t *results = json_object();
    int reached = hosts && clusters && switches && pgs ? 0 : -EIO;
    int64_t crl_number = 0;
    char *crl_pem = NULL, err[ERR_LEN];
    if (reached == 0 && join_crl(st, &crl_number, &crl_pem, err, sizeof err) < 0)
        log_warn("revocation list: %s", err);
    size_t n = json_object_size(hosts), done = 0;
    tasks_set(st, tasks, n_tasks, "running", 0, NULL);
    const char *name;
    json_t *host;
    json_object_foreach (reached < 0 ? NULL : hosts, name, host) {
        done++;
        if (!str(host, "address"))
            continue;
        struct httpc peer = {.ctx = client,
                             .host = str(host, "address"),
                             .port = hostd_port,
                             .expect_cn = str(host, "cn") ? str(host, "cn") : name,
                             .expect_role = AUTHZ_HOST,
                             .timeout_ms = RECONCILE_CALL_MS};
        json_t *want = desired_for(host, clusters, switches, pgs), *status = json_object();
        if (push_host(&peer, want, status) == 0) {
            reached++;
            sync_crl(st, &peer, name, crl_number, crl_pem, status);
            if (fleet)
                collect(&peer, name, fleet);
        }
        if (alarms) /* its acks, alarms and events (alarms.h) */
            alarms_collect(alarms, st, &peer, name,
                           json_is_true(json_object_get(status, "reachable")));
        save_status(st, name, status);
        json_object_set_new(results, name, host_result(status));
        if (done < n)
            tasks_set(st, tasks, n_tasks, "running", (int)(done * 100 / n), results);
        json_decref(want);
        json_decref(status);
    }
    bool failed = reached < 0;
    json_object_foreach (results, name, host)
        failed |= !json_is_true(json_object_get(host, "ok"));
    tasks_set(st, tasks, n_tasks, failed ? "error" : "success", 100, results);
    free(crl_pem);
    json_decref(results);
    json_decref(hosts);
    json_decref(clusters);
    json_decref(switches);
    json_decref(pgs);
    return reached;
}

/* Up to 'max' ids of queued tasks into 'ids' (after a kick overflowed the
 * queue: any round that starts after a task was made does its work).
 * Returns how many. */
static size_t
queued_tasks(struct store *st, char (*ids)[TASK_ID_LEN], size_t max)
{
    json_t *tasks = load_all(st, "task"), *t;
    const char *id;
    size_t n = 0;
    json_object_foreach (tasks, id, t) {
        if (n < max && str(t, "state") && !strcmp(str(t, "state"), "queued"))
            snprintf(ids[n++], TASK_ID_LEN, "%s", id);
    }
    json_decref(tasks);
    return n;
}

/* Ends the tasks a stopped manager left queued or running. */
static void
end_orphans(struct store *st)
{
    json_t *tasks = load_all(st, "task"), *t;
    json_t *why = json_pack("{s:{s:b,s:s}}", "dse-manager", "ok", 0, "error",
                            "the manager stopped before the task ended");
    const char *id;
    char err[ERR_LEN];
    json_object_foreach (tasks, id, t) {
        const char *state = str(t, "state");
        if (state && (!strcmp(state, "queued") || !strcmp(state, "running")) &&
            task_update(st, id, "error", json_integer_value(json_object_get(t, "progress")), why,
                        err, sizeof err) < 0)
            log_warn("task %s: %s", id, err);
    }
    json_decref(why);
    json_decref(tasks);
}

/* ---- the thread ---- */

static void *
run(void *arg)
{
    struct reconciler *r = arg;
    struct store *st = NULL;
    char err[ERR_LEN];
    if (store_open(r->p.store_path, &st, err, sizeof err) < 0) {
        log_err("reconcile: %s", err);
        return NULL;
    }
    end_orphans(st);
    char tasks[RECONCILE_QUEUE][TASK_ID_LEN];
    pthread_mutex_lock(&r->mu);
    while (!r->stopping) {
        if (!r->kicked) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += r->p.interval_ms / 1000;
            until.tv_nsec += (long)(r->p.interval_ms % 1000) * 1000000;
            if (until.tv_nsec >= 1000000000) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&r->cv, &r->mu, &until);
            if (r->stopping)
                break;
        }
        r->kicked = false;
        size_t n = r->n_queue;
        bool overflow = r->overflow;
        memcpy(tasks, r->queue, n * sizeof tasks[0]);
        r->n_queue = 0;
        r->overflow = false;
        pthread_mutex_unlock(&r->mu);
        if (overflow) /* the queue's and those it had no room for */
            n = queued_tasks(st, tasks, RECONCILE_QUEUE);
        reconcile_round(st, r->p.client, r->p.hostd_port, tasks, n, r->p.fleet, r->p.alarms);
        if (overflow && n == RECONCILE_QUEUE)
            reconcile_kick(r, "overflow"); /* more may wait: another round */
        pthread_mutex_lock(&r->mu);
    }
    pthread_mutex_unlock(&r->mu);
    store_close(st);
    return NULL;
}

int
reconcile_start(const struct reconcile_params *p, struct reconciler **out, char *err,
                size_t err_len)
{
    struct reconciler *r = calloc(1, sizeof *r);
    if (!r)
        return err_set(err, err_len, -ENOMEM, "out of memory");
    r->p = *p;
    snprintf(r->store_path, sizeof r->store_path, "%s", p->store_path);
    r->p.store_path = r->store_path;
    if (!r->p.interval_ms)
        r->p.interval_ms = RECONCILE_INTERVAL_MS;
    if (!r->p.hostd_port)
        r->p.hostd_port = RECONCILE_HOSTD_PORT;
    SSL_CTX_up_ref(r->p.client);
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    r->kicked = true; /* a round at once */
    int rc = pthread_create(&r->thread, NULL, run, r);
    if (rc) {
        SSL_CTX_free(r->p.client);
        free(r);
        return err_set(err, err_len, -rc, "reconcile: %s", strerror(rc));
    }
    *out = r;
    return 0;
}

void
reconcile_kick(struct reconciler *r, const char *task)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    r->kicked = true;
    if (task && task_id_is_valid(task) && r->n_queue < RECONCILE_QUEUE)
        snprintf(r->queue[r->n_queue++], TASK_ID_LEN, "%s", task);
    else if (task)
        r->overflow = true;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

void
reconcile_stop(struct reconciler *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    r->stopping = true;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->thread, NULL);
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    SSL_CTX_free(r->p.client);
    free(r);
}
