/* SPDX-License-Identifier: Apache-2.0 */
/* reconcile: the inventory's portgroups pushed to each host (reconcile.h). */
#include "manager/reconcile.h"

#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "lib/authz.h"
#include "lib/http.h"
#include "lib/log.h"
#include "lib/util.h"
#include "lib/cmdtab.h"
#include "manager/dfw.h"
#include "manager/inventory.h"
#include "manager/hostop.h"
#include "manager/join.h"
#include "monitor/alarm.h"

LOG_MODULE(reconcile);

/* Open files kept for everything but the hosts' connections (the API's
 * clients, the store, logs). */
#define FDS_RESERVED 512
/* How often the heap that rounds freed goes back to the system. */
#define TRIM_MS 5000

/* What the reconciler keeps of a host between rounds.  Allocated one by
 * one: its session points at its strings. */
struct rhost {
    char name[INV_NAME_MAX + 1], addr[64], cn[INV_NAME_MAX + 1];
    struct httpc peer;      /* its 'session': the kept connection, or NULL */
    uint64_t due_ms;        /* of its next full visit (figures) */
    uint64_t failed_ms;     /* when it last did not answer; 0: it did */
    char *status;           /* as stored (compact, sorted keys); NULL: not read yet */
    char *unsaved;          /* newer, to be written; NULL: none */
    json_t *want;           /* what it should have (borrowed from rstate.wants) */
    json_t *have;           /* its portgroups as last listed and added since, or NULL */
    int64_t crl;            /* the number of the revocation list it confirmed; 0: none yet */
    struct job *job;        /* (while a round plans) its first job of the round */
    struct hostop *running; /* a long operation under way on it (hostop.h), or NULL */
    bool has_ops;           /* (while a round plans) operations wait for it */
    uint64_t defs_gen;      /* of the fleet's alarm definitions it has as wanted; 0: not all */
    json_t *defs_ok;        /* their names, as it last had them */
    json_t *defs_drift;     /* what differed then */
    json_t *team;           /* its datacenter's teaming {"want", "conflict"?} (borrowed), or NULL */
    uint64_t team_gen;      /* of the teaming it has as wanted; 0: not */
    char *team_drift;       /* why it does not, or NULL */
    json_t *dfw;            /* its datacenter's firewall {"args", "digest"} (borrowed), or NULL */
    char dfw_have[JSON_DIGEST_HEX]; /* the digest of the policy it confirmed; "": none, "?":
                                       in doubt (it refused one) */
    bool dfw_known;                 /* 'dfw_have' is what it has */
    char *dfw_drift;                /* why it refused the policy, or NULL */
    bool keep;                      /* its connection stays open between rounds */
    bool taken;                     /* (while the table is rebuilt) */
};

/* One host's work in a round, done by a worker. */
struct job {
    struct rhost *h;
    json_t *want;          /* borrowed: shared by the hosts of a datacenter */
    struct fleet *fleet;   /* NULL: no figures this time */
    json_t *status;        /* what the worker saw */
    bool full;             /* a full visit: list, and figures into 'fleet' */
    bool superseded;       /* a push to a host visited in full later in the round */
    unsigned added;        /* portgroups it added */
    struct job *push;      /* a visit's: its host's push that it supersedes, or NULL */
    struct alarms *alarms; /* NULL: no alarms collected this time */
    struct hostop *ops;    /* its host's operations to run (hostop.h), 'n_ops' */
    size_t n_ops;
    struct hostop *running; /* its host's long operation to follow, or NULL */
    uint64_t now_ms;
    json_t *defs;        /* the fleet's alarm definitions {NAME: DEF} (borrowed) */
    json_t *defs_gone;   /* those deleted since the manager started {NAME: true} */
    uint64_t defs_gen;   /* their generation */
    json_t *team;        /* its datacenter's teaming {"want", "conflict"?} (borrowed), or NULL */
    uint64_t teams_gen;  /* the teamings' generation */
    int64_t crl_number;  /* the cluster's revocation list ... */
    const char *crl_pem; /* ... (borrowed), or NULL: none */
    json_t *dfw;         /* its datacenter's firewall {"args", "digest"} (borrowed), or NULL */
    struct dfw_stats *dfw_stats; /* NULL: no firewall counters this time */
    bool reached;
    bool ran; /* the round did not leave it undone */
};

/* The workers: a round hands them its jobs and waits for them. */
struct pool {
    pthread_t *threads;
    unsigned n;
    pthread_mutex_t mu;
    pthread_cond_t work, done;
    struct job *jobs;
    size_t n_jobs, next, n_done;
    const atomic_bool *cut; /* set: leave the jobs not started ... */
    uint64_t cut_after_ms;  /* ... from then on */
    bool stopping;
};

/* What rounds keep between them. */
struct rstate {
    SSL_CTX *client;
    uint16_t port;
    struct fleet *fleet;
    struct alarms *alarms;
    unsigned interval_ms;
    bool stagger;         /* a new host's first full visit: at a phase of its own */
    uint64_t trimmed_ms;  /* when the heap was last trimmed */
    atomic_bool kicked;   /* a change came: a round of visits alone stops short */
    struct rhost **hosts; /* sorted by name */
    size_t n_hosts, n_kept, keep_max;
    json_t *wants;           /* what each datacenter's hosts should have */
    json_t *defs;            /* the fleet's alarm definitions, normalized {NAME: DEF} */
    json_t *defs_gone;       /* deleted since the manager started {NAME: true} */
    uint64_t defs_gen;       /* bumped when 'defs' changes */
    json_t *teams;           /* each datacenter's teaming {DC: {"want", "conflict"?}} */
    uint64_t teams_gen;      /* bumped when 'teams' changes */
    int64_t crl_number;      /* the cluster's revocation list, as the inventory was read */
    char *crl_pem;           /* NULL: none yet */
    struct hostops *hostops; /* whence operations come (borrowed), or NULL */
    json_t *dfw;             /* each datacenter's firewall {DC: {"args": {"policy"}, "digest"}} */
    struct dfw_stats *dfw_stats; /* where the hosts' firewall counters go, or NULL */
    struct hostop *ops;          /* room for HOSTOPS_MAX (a round's) */
    size_t n_running;            /* hosts with a long operation under way */
    size_t n_ops;                /* (while a round plans) in 'ops' */
    struct pool pool;
};

struct reconciler {
    struct reconcile_params p;
    char store_path[4096]; /* p.store_path points here: the caller's may go */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool kicked, stopping;
    char queue[RECONCILE_QUEUE][TASK_ID_LEN]; /* tasks for the next round */
    size_t n_queue;
    bool overflow;      /* more were kicked: the round looks for queued ones */
    uint64_t pruned_ms; /* when ended tasks were last pruned */
    struct rstate rs;
};

/* Every object of 'kind' as {NAME: spec} (NULL on a store error). */
static json_t *
load_all(struct store *st, const char *kind)
{
    char err[ERR_LEN];
    json_t *all = inv_load_all(st, kind, err, sizeof err);
    if (!all)
        log_warn("%s", err);
    return all;
}

static const char *
str(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* What a host of datacenter 'dc' (NULL: none) should have: {P: {"vlan",
 * "mtu"}} of every portgroup S/P of a switch S in that datacenter. */
static json_t *
desired_of(const char *dc, json_t *switches, json_t *pgs)
{
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

/* The object called 'name' in one of hostd's lists ('have': portgroups,
 * alarm definitions), or NULL. */
static json_t *
find_named(json_t *have, const char *name)
{
    size_t i;
    json_t *pg;
    json_array_foreach (have, i, pg) {
        if (str(pg, "name") && !strcmp(str(pg, "name"), name))
            return pg;
    }
    return NULL;
}

/* Adds what 'have' lacks of 'want' on 'peer' (and to 'have', counted in
 * '*added'); 'ok' gets the portgroups there as wanted, 'drift' the
 * differences.  Returns the number of adds that failed. */
static int
push_pgs(const struct httpc *peer, json_t *want, json_t *have, json_t *ok, json_t *drift,
         unsigned *added)
{
    const char *name;
    json_t *pg;
    int failed = 0;
    json_object_foreach (want, name, pg) {
        json_t *h = find_named(have, name);
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
                log_debug("host %s: portgroup %s added (VLAN %lld)", peer->host, name, wv);
                json_array_append_new(ok, json_string(name));
                json_array_append(have, args);
                (*added)++;
            } else {
                json_array_append_new(drift,
                                      json_sprintf("portgroup %s: cannot add: %s", name, why));
                failed++;
            }
            json_decref(args);
        }
    }
    return failed;
}

/* Brings host 'peer' in line with 'want' and fills 'status'.  '*have' is
 * its portgroups as last listed, with what was added since: NULL lists
 * them (a full visit), else nothing is asked of a host that lacks nothing
 * (a change elsewhere costs it no call).  A call that fails drops '*have'.
 * Returns 0 when the host answered, or had nothing to answer. */
static int
push_host(const struct httpc *peer, json_t *want, json_t **have, json_t *status, unsigned *added)
{
    char err[ERR_LEN] = "";
    json_t *ok = json_array(), *drift = json_array(), *pg;
    int rc = *have ? 0 : httpc_call_result(peer, "portgroup.list", NULL, have, err, sizeof err);
    if (rc == 0 && !json_is_array(*have))
        rc = err_set(err, sizeof err, -EPROTO, "portgroup.list: not a list");
    if (rc == 0) {
        int failed = push_pgs(peer, want, *have, ok, drift, added);
        size_t i;
        json_array_foreach (*have, i, pg) {
            if (str(pg, "name") && !json_object_get(want, str(pg, "name")))
                json_array_append_new(
                    drift, json_sprintf("portgroup %s: not in the manager", str(pg, "name")));
        }
        if (failed) /* what it has is in doubt: ask next time */
            rc = 1;
    }
    json_object_set_new(status, "reachable", json_boolean(rc >= 0));
    json_object_set_new(status, "portgroups", ok);
    json_object_set_new(status, "drift", drift);
    if (rc < 0)
        json_object_set_new(status, "error", json_string(err));
    if (rc != 0) {
        json_decref(*have);
        *have = NULL;
    }
    return rc < 0 ? rc : 0;
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
        if (strstr(json_string_value(d), ": cannot add: ") ||
            !strncmp(json_string_value(d), "dfw: ", 5))
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

/* The cluster's revocation list to the host when the number it confirmed
 * is below the job's; the host passes it on to its DPUs.  The number the
 * host has goes into the status ("crl"). */
static void
sync_crl(const struct httpc *peer, const char *name, struct job *j)
{
    static struct log_ratelimit rl = LOG_RATELIMIT_INIT(5, 60000);
    struct rhost *h = j->h;
    char err[ERR_LEN];
    json_t *r = NULL, *args = NULL;
    if (j->crl_pem && h->crl < j->crl_number) {
        args = json_pack("{s:s}", "pem", j->crl_pem);
        if (httpc_call_result(peer, "crl.set", args, &r, err, sizeof err) == 0)
            h->crl = json_integer_value(json_object_get(r, "number"));
        else
            log_warn_rl(&rl, "host %s: revocation list: %s", name, err);
    }
    if (h->crl)
        json_object_set_new(j->status, "crl", json_integer(h->crl));
    json_decref(args);
    json_decref(r);
}

/* Calls 'cmd' with 'args' (taken) on the host; on a failure appends
 * "alarm definition NAME: cannot WHAT: why" to 'drift'.  Returns 0 or -1. */
static int
def_call(const struct httpc *peer, const char *cmd, json_t *args, const char *name,
         const char *what, json_t *drift)
{
    char why[ERR_LEN];
    int rc = httpc_call_result(peer, cmd, args, NULL, why, sizeof why);
    json_decref(args);
    if (rc < 0)
        json_array_append_new(drift,
                              json_sprintf("alarm definition %s: cannot %s: %s", name, what, why));
    return rc < 0 ? -1 : 0;
}

/* Brings the host's alarm definitions ('have', hostd's alarm.def.list) in
 * line with the fleet's: adds what it lacks, replaces what differs,
 * deletes what the manager deleted; names those as wanted in 'ok' and the
 * rest in 'drift' (a built-in of the same name, one the manager does not
 * know).  Returns the number of calls that failed. */
static int
defs_apply(const struct httpc *peer, struct job *j, json_t *have, json_t *ok, json_t *drift)
{
    const char *dn;
    json_t *want, *d;
    int failed = 0;
    size_t i;
    json_object_foreach (j->defs, dn, want) {
        json_t *cur = find_named(have, dn), *c = cur ? json_deep_copy(cur) : NULL;
        json_object_del(c, "builtin");
        bool same = c && json_equal(c, want);
        json_decref(c);
        if (cur && json_is_true(json_object_get(cur, "builtin")))
            json_array_append_new(drift,
                                  json_sprintf("alarm definition %s: a built-in of the host", dn));
        else if (same || ((!cur || def_call(peer, "alarm.def.del", json_pack("{s:s}", "name", dn),
                                            dn, "replace", drift) == 0) &&
                          def_call(peer, "alarm.def.add", json_pack("{s:O}", "def", want), dn,
                                   "add", drift) == 0))
            json_array_append_new(ok, json_string(dn));
        else
            failed++;
    }
    json_array_foreach (have, i, d) {
        const char *n = str(d, "name");
        if (!n || json_is_true(json_object_get(d, "builtin")) || json_object_get(j->defs, n))
            continue;
        if (!json_object_get(j->defs_gone, n))
            json_array_append_new(drift,
                                  json_sprintf("alarm definition %s: not in the manager", n));
        else if (def_call(peer, "alarm.def.del", json_pack("{s:s}", "name", n), n, "delete",
                          drift) < 0)
            failed++;
    }
    return failed;
}

/* The fleet's alarm definitions to the host, when they changed since it
 * last had them all, and at each full visit (a definition changed by hand
 * is put back).  Nothing is asked when the manager has none and deleted
 * none.  The status names those the host has as wanted ("alarm_defs") and
 * adds what differs to its drift. */
static void
sync_defs(const struct httpc *peer, const char *name, struct job *j)
{
    static struct log_ratelimit rl = LOG_RATELIMIT_INIT(5, 60000);
    struct rhost *h = j->h;
    bool any = json_object_size(j->defs) || json_object_size(j->defs_gone);
    if (any && (h->defs_gen != j->defs_gen || j->full)) {
        json_t *have = NULL, *ok = json_array(), *drift = json_array();
        char err[ERR_LEN] = "not a list";
        int failed = 1;
        if (httpc_call_result(peer, "alarm.def.list", NULL, &have, err, sizeof err) == 0 &&
            json_is_array(have))
            failed = defs_apply(peer, j, have, ok, drift);
        else
            log_warn_rl(&rl, "host %s: alarm definitions: %s", name, err);
        json_decref(have);
        json_decref(h->defs_ok);
        json_decref(h->defs_drift);
        h->defs_ok = ok;
        h->defs_drift = drift;
        h->defs_gen = failed ? 0 : j->defs_gen;
    } else if (!any) {
        json_decref(h->defs_ok);
        json_decref(h->defs_drift);
        h->defs_ok = h->defs_drift = NULL;
        h->defs_gen = j->defs_gen;
    }
    if (h->defs_ok)
        json_object_set(j->status, "alarm_defs", h->defs_ok);
    if (json_array_size(h->defs_drift))
        json_array_extend(json_object_get(j->status, "drift"), h->defs_drift);
}

/* The teaming of the datacenter's switches to the host's switch (hostd's
 * switch.set: each DPU's uplinks), when it changed since the host last had
 * it and at each full visit (a policy changed by hand is put back).  A
 * datacenter whose switches set none leaves the hosts' own. */
static void
sync_team(const struct httpc *peer, const char *name, struct job *j)
{
    static struct log_ratelimit rl = LOG_RATELIMIT_INIT(5, 60000);
    struct rhost *h = j->h;
    json_t *want = json_object_get(j->team, "want"), *sw = NULL;
    char err[ERR_LEN];
    if (want && (h->team_gen != j->teams_gen || j->full)) {
        free(h->team_drift);
        h->team_drift = NULL;
        int rc = httpc_call_result(peer, "switch.show", NULL, &sw, err, sizeof err);
        json_t *args = json_pack("{s:O,s:O}", "failback", json_object_get(want, "failback"),
                                 "uplink_order", json_object_get(want, "order"));
        if (rc == 0 && !json_equal(json_object_get(sw, "teaming"), want))
            rc = httpc_call_result(peer, "switch.set", args, NULL, err, sizeof err);
        json_decref(args);
        json_decref(sw);
        if (rc < 0) {
            log_warn_rl(&rl, "host %s: teaming: %s", name, err);
            h->team_drift = strdup(err);
        }
        h->team_gen = rc < 0 ? 0 : j->teams_gen;
    } else if (!want) {
        free(h->team_drift);
        h->team_drift = NULL;
        h->team_gen = j->teams_gen;
    }
    json_t *drift = json_object_get(j->status, "drift");
    if (want && !h->team_drift)
        json_object_set(j->status, "teaming", want);
    if (h->team_drift)
        json_array_append_new(drift, json_sprintf("teaming: cannot set: %s", h->team_drift));
    if (json_object_get(j->team, "conflict"))
        json_array_append(drift, json_object_get(j->team, "conflict"));
}

/* What a host that refused a policy holds: no digest is this. */
#define DFW_IN_DOUBT "?"

/* Reads the digest of the policy the host has (dfw.show) into 'h'; a
 * host without a firewall (an older hostd) has none known. */
static void
dfw_show(const struct httpc *peer, struct rhost *h)
{
    char err[ERR_LEN];
    json_t *r = NULL, *brief = json_pack("{s:b}", "brief", 1); /* the digest, not the policy */
    h->dfw_known =
        httpc_call_result(peer, "dfw.show", brief, &r, err, sizeof err) == 0 && json_is_object(r);
    json_decref(brief);
    const char *d = json_string_value(json_object_get(r, "digest"));
    snprintf(h->dfw_have, sizeof h->dfw_have, "%s", h->dfw_known && d ? d : "");
    json_decref(r);
}

/* The firewall's policy of the host's datacenter to the host (dfw.set),
 * when the digest it confirmed differs from the policy's: an unchanged
 * policy costs no call.  What it has is read at each full visit (a policy
 * changed by hand is put back).  While the datacenter has none, a host
 * that knows no firewall is left alone.  The status names the digest the
 * host holds ("dfw"); a refusal is drift. */
static void
sync_dfw(const struct httpc *peer, const char *name, struct job *j)
{
    static struct log_ratelimit rl = LOG_RATELIMIT_INIT(5, 60000);
    struct rhost *h = j->h;
    json_t *args = json_object_get(j->dfw, "args"), *r = NULL;
    const char *want = json_string_value(json_object_get(j->dfw, "digest"));
    char err[ERR_LEN];
    if (!args)
        return;
    if (j->full)
        dfw_show(peer, h);
    free(h->dfw_drift);
    h->dfw_drift = NULL;
    if ((want || h->dfw_known) && (!h->dfw_known || strcmp(h->dfw_have, want ? want : ""))) {
        if (httpc_call_result(peer, "dfw.set", args, &r, err, sizeof err) == 0) {
            const char *d = json_string_value(json_object_get(r, "digest"));
            snprintf(h->dfw_have, sizeof h->dfw_have, "%s", d ? d : want ? want : "");
            h->dfw_known = true;
        } else {
            /* What it holds now is in doubt: set again at the next change
             * (and after a refusal to turn it off, read at its next visit). */
            log_warn_rl(&rl, "host %s: firewall policy: %s", name, err);
            snprintf(h->dfw_have, sizeof h->dfw_have, "%s", DFW_IN_DOUBT);
            h->dfw_known = want != NULL;
            /* hostd's line, without the command's name httpc puts first */
            h->dfw_drift = strdup(strncmp(err, "dfw.set: ", 9) ? err : err + 9);
        }
        json_decref(r);
    }
    if (h->dfw_known && h->dfw_have[0] && strcmp(h->dfw_have, DFW_IN_DOUBT))
        json_object_set_new(j->status, "dfw", json_string(h->dfw_have));
    if (h->dfw_drift)
        json_array_append_new(json_object_get(j->status, "drift"),
                              json_sprintf("dfw: policy refused: %s", h->dfw_drift));
}

/* The host's firewall counters (dfw.stats) into 'stats', while it holds a
 * policy; else its counters go. */
static void
collect_dfw(const struct httpc *peer, const char *name, struct rhost *h, struct dfw_stats *stats)
{
    char err[ERR_LEN];
    json_t *r = NULL;
    if (!h->dfw_known || !h->dfw_have[0])
        dfw_stats_forget(stats, name);
    else if (httpc_call_result(peer, "dfw.stats", NULL, &r, err, sizeof err) == 0)
        dfw_stats_record(stats, name, r, wall_ms());
    json_decref(r);
}

/* ---- one host ---- */

/* Everything a round does with host 'name' at 'peer', on a worker thread:
 * its desired state down and its status up ('j->status'), and at a full
 * visit ('j->fleet' set) its figures and its DPUs'.  It calls the host
 * only: what the store must get goes into 'j', which the round writes. */
static void
reconcile_host(const struct httpc *peer, const char *name, struct job *j)
{
    if (push_host(peer, j->want, &j->h->have, j->status, &j->added) < 0) {
        const char *why = json_string_value(json_object_get(j->status, "error"));
        for (size_t i = 0; i < j->n_ops; i++)
            hostop_unreached(&j->ops[i], "the host is not reachable", j->now_ms);
        if (j->running)
            hostop_unreached(j->running, why ? why : "not reachable", j->now_ms);
        return;
    }
    j->reached = true;
    sync_crl(peer, name, j);
    sync_defs(peer, name, j);
    sync_team(peer, name, j);
    sync_dfw(peer, name, j);
    bool acked = false;
    for (size_t i = 0; i < j->n_ops; i++) {
        hostop_run(peer, &j->ops[i], j->now_ms);
        acked |= !strcmp(j->ops[i].kind, "alarm.ack");
    }
    if (j->running)
        hostop_poll(peer, j->running, j->now_ms);
    if (j->fleet)
        collect(peer, name, j->fleet);
    if (j->dfw_stats)
        collect_dfw(peer, name, j->h, j->dfw_stats);
    if (j->alarms && (j->full || acked)) /* after acks: they show at once */
        alarms_collect(j->alarms, peer, name);
}

/* A job on a worker: over the host's kept connection (made at its first
 * call), closed after unless the host keeps one. */
static void
job_run(struct job *j)
{
    struct rhost *h = j->h;
    if (!h->peer.session) /* NULL on ENOMEM: a connection per call */
        h->peer.session = httpc_session_create(&h->peer);
    if (j->full) { /* what it has: asked again */
        json_decref(h->have);
        h->have = NULL;
    }
    j->status = json_object();
    j->ran = true;
    j->now_ms = wall_ms();
    reconcile_host(&h->peer, h->name, j);
    if (!h->keep) {
        httpc_session_destroy(h->peer.session);
        h->peer.session = NULL;
    }
}

/* ---- the workers ---- */

static void *
pool_worker(void *arg)
{
    struct pool *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stopping && p->next >= p->n_jobs)
            pthread_cond_wait(&p->work, &p->mu);
        if (p->stopping)
            break;
        if (p->cut && atomic_load(p->cut) && now_ms() >= p->cut_after_ms) { /* the rest: undone */
            p->n_jobs = p->next;
            if (p->n_done == p->n_jobs)
                pthread_cond_signal(&p->done);
            continue;
        }
        struct job *j = &p->jobs[p->next++];
        pthread_mutex_unlock(&p->mu);
        job_run(j);
        pthread_mutex_lock(&p->mu);
        if (++p->n_done == p->n_jobs)
            pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static void
pool_stop(struct pool *p)
{
    pthread_mutex_lock(&p->mu);
    p->stopping = true;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < p->n; i++)
        pthread_join(p->threads[i], NULL);
    free(p->threads);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->done);
    pthread_mutex_destroy(&p->mu);
}

/* Starts 'n' workers.  Returns 0 or -errno. */
static int
pool_start(struct pool *p, unsigned n)
{
    *p = (struct pool){.threads = calloc(n, sizeof *p->threads)};
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->done, NULL);
    int rc = p->threads ? 0 : ENOMEM;
    for (; rc == 0 && p->n < n; p->n++)
        rc = pthread_create(&p->threads[p->n], NULL, pool_worker, p);
    if (rc)
        pool_stop(p);
    return -rc;
}

/* Runs 'n' jobs on the workers and waits for them, calling 'progress'
 * with the number done about once a second meanwhile.  Once 'cut' (may be
 * NULL) is set and 'cut_ms' have passed, the jobs not yet started are left
 * undone.  Returns the number run: the first ones. */
static size_t
pool_run(struct pool *p, struct job *jobs, size_t n, const atomic_bool *cut, uint64_t cut_ms,
         void (*progress)(void *aux, size_t done), void *aux)
{
    pthread_mutex_lock(&p->mu);
    p->jobs = jobs;
    p->n_jobs = n;
    p->next = p->n_done = 0;
    p->cut = cut;
    p->cut_after_ms = now_ms() + cut_ms;
    pthread_cond_broadcast(&p->work);
    while (p->n_done < p->n_jobs) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec++;
        if (pthread_cond_timedwait(&p->done, &p->mu, &until) && progress && p->n_done < p->n_jobs) {
            size_t done = p->n_done;
            pthread_mutex_unlock(&p->mu);
            progress(aux, done);
            pthread_mutex_lock(&p->mu);
        }
    }
    n = p->n_jobs;
    p->jobs = NULL;
    p->n_jobs = p->next = 0;
    p->cut = NULL;
    pthread_mutex_unlock(&p->mu);
    return n;
}

/* ---- the hosts between rounds ---- */

/* Frees 'h'; a long operation under way on it fails (when 'st' is given:
 * the host left the inventory) or is left running (the manager stops: its
 * next start ends it). */
static void
rhost_free(struct rstate *rs, struct store *st, struct rhost *h)
{
    if (h->keep)
        rs->n_kept--;
    if (h->running) {
        if (st)
            hostop_fail(st, h->running, "the host left the inventory");
        hostop_fini(h->running);
        free(h->running);
        rs->n_running--;
    }
    httpc_session_destroy(h->peer.session);
    json_decref(h->have);
    json_decref(h->defs_ok);
    json_decref(h->defs_drift);
    free(h->team_drift);
    free(h->dfw_drift);
    free(h->status);
    free(h->unsaved);
    free(h);
}

static int
rhost_cmp(const void *a, const void *b)
{
    return strcmp((*(struct rhost *const *)a)->name, (*(struct rhost *const *)b)->name);
}

static struct rhost *
rhost_find(struct rstate *rs, const char *name)
{
    struct rhost key, *k = &key, **h;
    snprintf(key.name, sizeof key.name, "%s", name);
    h = rs->n_hosts ? bsearch(&k, rs->hosts, rs->n_hosts, sizeof *h, rhost_cmp) : NULL;
    return h ? *h : NULL;
}

/* Host 'name' of the inventory ('host', its address 'addr'): its entry of
 * the table, kept from the last one or new (NULL on ENOMEM). */
static struct rhost *
rhost_of(struct rstate *rs, const char *name, json_t *host, const char *addr, uint64_t now)
{
    const char *cn = str(host, "cn") ? str(host, "cn") : name;
    struct rhost *h = rhost_find(rs, name);
    if (h && (strcmp(h->addr, addr) || strcmp(h->cn, cn))) {
        httpc_session_destroy(h->peer.session); /* it moved: connect again */
        h->peer.session = NULL;
        h->failed_ms = 0;
        json_decref(h->have);
        h->have = NULL;
    } else if (!h) {
        if (!(h = calloc(1, sizeof *h)))
            return NULL;
        snprintf(h->name, sizeof h->name, "%s", name);
        /* A new host's first figures: at a phase of its own in the interval,
         * so that a large fleet's visits spread out. */
        h->due_ms = rs->stagger ? now + (uint64_t)rand() % rs->interval_ms : 0;
    }
    snprintf(h->addr, sizeof h->addr, "%s", addr);
    snprintf(h->cn, sizeof h->cn, "%s", cn);
    h->peer = (struct httpc){.ctx = rs->client,
                             .host = h->addr,
                             .port = rs->port,
                             .expect_cn = h->cn,
                             .expect_role = AUTHZ_HOST,
                             .timeout_ms = RECONCILE_CALL_MS,
                             .session = h->peer.session};
    h->taken = true;
    return h;
}

/* The table follows the inventory's 'hosts' (those with an address): the
 * kept ones keep their connection and status, the gone ones go. */
static int
sync_hosts(struct rstate *rs, struct store *st, json_t *hosts, uint64_t now)
{
    struct rhost **t = calloc(json_object_size(hosts) + 1, sizeof *t);
    size_t n = 0;
    const char *name;
    json_t *host;
    if (!t)
        return -ENOMEM;
    json_object_foreach (hosts, name, host) {
        const char *addr = str(host, "address");
        if (addr && strlen(name) <= INV_NAME_MAX && (t[n] = rhost_of(rs, name, host, addr, now)))
            n++;
    }
    for (size_t i = 0; i < rs->n_hosts; i++) {
        struct rhost *h = rs->hosts[i];
        if (h->taken) {
            h->taken = false;
        } else {
            if (rs->fleet)
                fleet_forget(rs->fleet, h->name);
            if (rs->dfw_stats)
                dfw_stats_forget(rs->dfw_stats, h->name);
            rhost_free(rs, st, h);
        }
    }
    free(rs->hosts);
    qsort(t, n, sizeof *t, rhost_cmp);
    rs->hosts = t;
    rs->n_hosts = n;
    return 0;
}

/* The fleet's alarm definitions, normalized as hostd shows them; when they
 * changed, a new generation, and those deleted are remembered (to delete on
 * the hosts).  A store error keeps the last ones read. */
static void
load_defs(struct rstate *rs, struct store *st)
{
    json_t *all = load_all(st, "alarmdef"), *defs = all ? json_object() : NULL, *spec;
    const char *name;
    char err[ERR_LEN] = "out of memory";
    json_object_foreach (all, name, spec) {
        json_t *d = json_deep_copy(spec), *n = NULL;
        if (d && json_object_set_new(d, "name", json_string(name)) == 0 &&
            (n = alarm_def_normalize(d, err, sizeof err)))
            json_object_set_new(defs, name, n);
        else /* stored after inv_validate(): not seen */
            log_warn("alarm definition %s: %s", name, err);
        json_decref(d);
    }
    if (defs && rs->defs && !json_equal(defs, rs->defs)) {
        if (!rs->defs_gone)
            rs->defs_gone = json_object();
        json_object_foreach (rs->defs, name, spec)
            if (!json_object_get(defs, name))
                json_object_set_new(rs->defs_gone, name, json_true());
        json_object_foreach (defs, name, spec)
            json_object_del(rs->defs_gone, name);
    }
    if (defs && (!rs->defs || !json_equal(defs, rs->defs))) {
        json_decref(rs->defs);
        rs->defs = json_incref(defs);
        rs->defs_gen++;
    }
    json_decref(defs);
    json_decref(all);
}

/* Each datacenter's teaming {DC: {"want": {"failback", "order"}, "from",
 * "conflict"?}}: its first switch by name that sets one; another that sets
 * a different one is named in "conflict" (drift on its hosts). */
static json_t *
teams_of(json_t *switches)
{
    json_t *teams = json_object(), *sw;
    const char *name;
    json_object_foreach (switches, name, sw) {
        json_t *t = json_object_get(sw, "teaming");
        const char *dc = str(sw, "datacenter");
        if (!t || !dc)
            continue;
        json_t *fb = json_object_get(t, "failback"), *order = json_object_get(t, "order");
        json_t *want = json_pack("{s:b,s:o}", "failback", !fb || json_is_true(fb), "order",
                                 order ? json_incref(order) : json_array());
        json_t *have = json_object_get(teams, dc);
        if (!have) {
            json_object_set_new(teams, dc, json_pack("{s:o,s:s}", "want", want, "from", name));
            continue;
        }
        if (!json_equal(json_object_get(have, "want"), want) && !json_object_get(have, "conflict"))
            json_object_set_new(have, "conflict",
                                json_sprintf("teaming: switches %s and %s of %s differ: %s's "
                                             "applies",
                                             str(have, "from"), name, dc, str(have, "from")));
        json_decref(want);
    }
    return teams;
}

/* The firewall's policy of each datacenter of 'wants' ({DC: ...}, "" for
 * none) into rs->dfw: {DC: {"args": {"policy": POLICY or null}, "digest":
 * hex or null}}.  A store error keeps the last ones read. */
static void
load_dfw(struct rstate *rs, struct store *st, json_t *wants)
{
    char err[ERR_LEN] = "out of memory", hex[JSON_DIGEST_HEX];
    json_t *inv = dfw_inventory_load(st, err, sizeof err), *all = json_object(), *w;
    struct dfw_model *m = inv ? dfw_model_create(inv) : NULL;
    const char *dc;
    bool ok = m && all;
    json_object_foreach (ok ? wants : NULL, dc, w) {
        json_t *p = dfw_model_policy(m, dc[0] ? dc : NULL);
        ok = p && (json_is_null(p) || json_digest(p, hex) == 0) &&
             json_object_set_new(all, dc,
                                 json_pack("{s:{s:O},s:s?}", "args", "policy", p, "digest",
                                           json_is_null(p) ? NULL : hex)) == 0;
        json_decref(p);
        if (!ok)
            break;
    }
    if (ok) {
        json_decref(rs->dfw);
        rs->dfw = json_incref(all);
    } else {
        log_warn("firewall policy: %s", inv && !m ? "out of memory" : err);
    }
    json_decref(all);
    dfw_model_destroy(m);
    json_decref(inv);
}

/* Reads the inventory: the hosts into the table, and what each datacenter's
 * hosts should have (rs->wants, by datacenter; "" for none). */
static int
load_inventory(struct rstate *rs, struct store *st, uint64_t now)
{
    json_t *hosts = load_all(st, "host"), *clusters = load_all(st, "cluster"),
           *switches = load_all(st, "switch"), *pgs = load_all(st, "portgroup");
    int rc = hosts && clusters && switches && pgs ? 0 : -EIO;
    json_t *wants = rc == 0 ? json_object() : NULL, *host;
    const char *name;
    json_object_foreach (wants ? hosts : NULL, name, host) {
        const char *dc = str(json_object_get(clusters, str(host, "cluster")), "datacenter");
        if (!json_object_get(wants, dc ? dc : ""))
            json_object_set_new(wants, dc ? dc : "", desired_of(dc, switches, pgs));
        json_object_set(host, "want", json_object_get(wants, dc ? dc : ""));
        json_object_set_new(host, "dc", json_string(dc ? dc : ""));
    }
    json_t *teams = rc == 0 ? teams_of(switches) : NULL;
    if (teams && (!rs->teams || !json_equal(teams, rs->teams))) {
        json_decref(rs->teams);
        rs->teams = json_incref(teams);
        rs->teams_gen++;
    }
    json_decref(teams);
    int64_t crl_number = 0;
    char *crl_pem = NULL, err[ERR_LEN];
    if (rc == 0 && join_crl(st, &crl_number, &crl_pem, err, sizeof err) < 0)
        log_warn("revocation list: %s", err); /* the last one read stays */
    else if (rc == 0) {
        free(rs->crl_pem);
        rs->crl_pem = crl_pem;
        rs->crl_number = crl_number;
    }
    if (rc == 0) {
        load_defs(rs, st);
        load_dfw(rs, st, wants);
    }
    if (rc == 0 && (rc = sync_hosts(rs, st, hosts, now)) == 0) {
        for (size_t i = 0; i < rs->n_hosts; i++) {
            json_t *inv = json_object_get(hosts, rs->hosts[i]->name);
            rs->hosts[i]->want = json_object_get(inv, "want");
            rs->hosts[i]->team = json_object_get(rs->teams, str(inv, "dc"));
            rs->hosts[i]->dfw = json_object_get(rs->dfw, str(inv, "dc"));
        }
        json_decref(rs->wants);
        rs->wants = json_incref(wants);
    }
    json_decref(wants);
    json_decref(hosts);
    json_decref(clusters);
    json_decref(switches);
    json_decref(pgs);
    return rc;
}

/* ---- a round ---- */

/* Whether the round takes 'h' along: its connection kept if it may. */
static struct job *
plan_job(struct rstate *rs, struct rhost *h, struct job *j, bool full)
{
    if (!h->keep && rs->n_kept < rs->keep_max) {
        h->keep = true;
        rs->n_kept++;
    }
    *j = (struct job){.h = h,
                      .want = h->want,
                      .full = full,
                      .fleet = full ? rs->fleet : NULL,
                      .alarms = rs->alarms,
                      .crl_number = rs->crl_number,
                      .crl_pem = rs->crl_pem,
                      .defs = rs->defs,
                      .defs_gone = rs->defs_gone,
                      .defs_gen = rs->defs_gen,
                      .team = h->team,
                      .teams_gen = rs->teams_gen,
                      .dfw = h->dfw,
                      .dfw_stats = full ? rs->dfw_stats : NULL};
    if (!h->job)
        h->job = j;
    return j;
}

/* The jobs of a round at 'now' into 'jobs' (room for two a host), in two
 * phases: when 'push_all', first a push to every host but those that did
 * not answer lately (they rest until their visit), '*n_push' of them; then
 * the full visits of the hosts due (a push to one of those is superseded
 * by its visit: only the visit's status counts).  Returns the number. */
static size_t
plan(struct rstate *rs, uint64_t now, bool push_all, struct job *jobs, size_t *n_push)
{
    size_t n = 0;
    for (size_t i = 0; (push_all || rs->n_running || rs->n_ops) && i < rs->n_hosts; i++) {
        struct rhost *h = rs->hosts[i];
        bool due = now >= h->due_ms;
        /* One due whose portgroups are not known gets the change at its
         * visit: a push would list them first too.  One with a long
         * operation under way is followed every round, one with
         * operations waiting has its turn. */
        if (!push_all && !h->running && !h->has_ops)
            continue;
        if ((h->running || !h->failed_ms || now - h->failed_ms >= rs->interval_ms) &&
            (!due || h->have))
            plan_job(rs, h, &jobs[n++], false)->superseded = due;
    }
    *n_push = n;
    for (size_t i = 0, k = 0; i < rs->n_hosts; i++) {
        struct rhost *h = rs->hosts[i];
        if (now < h->due_ms)
            continue;
        /* Its push, if it had one: the pushes superseded come in the
         * hosts' order, each of a host due. */
        while (k < *n_push && !jobs[k].superseded)
            k++;
        struct job *push = k < *n_push && jobs[k].h == h ? &jobs[k++] : NULL;
        plan_job(rs, h, &jobs[n++], true)->push = push;
    }
    return n;
}

/* What is stored as host 'name''s status (compact), "" for none; NULL
 * when the store failed. */
static char *
stored_status(struct store *st, const char *name)
{
    char key[STORE_KEY_MAX];
    struct store_kv kv = {0};
    snprintf(key, sizeof key, "%sstatus/%s", STORE_KEY_PREFIX, name);
    int rc = store_get(st, key, &kv, NULL, 0);
    char *s = rc == 0 ? strdup(kv.value) : rc == -ENOENT ? strdup("") : NULL;
    store_kv_fini(&kv);
    return s;
}

/* Commits the 'n' statuses of 't' (those of 'hs'): what they stored is
 * theirs now; on a failure they stay unsaved. */
static void
commit_statuses(struct store_txn *t, struct rhost **hs, size_t n)
{
    static struct log_ratelimit rl = LOG_RATELIMIT_INIT(5, 60000);
    char err[ERR_LEN];
    struct store_actor actor = {.who = "dse-manager", .from = "reconcile", .what = "host.observe"};
    int rc = store_txn_commit(t, &actor, NULL, err, sizeof err);
    if (rc < 0)
        log_warn_rl(&rl, "%zu hosts' status: %s", n, rc == -ENOMEM ? "out of memory" : err);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        free(hs[i]->status);
        hs[i]->status = hs[i]->unsaved;
        hs[i]->unsaved = NULL;
    }
}

/* Notes what each job saw of its host where it differs from what is
 * stored: its status to write. */
static void
note_statuses(struct store *st, struct job *jobs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct rhost *h = jobs[i].h;
        char *text =
            jobs[i].superseded ? NULL : json_dumps(jobs[i].status, JSON_COMPACT | JSON_SORT_KEYS);
        if (!text)
            continue;
        if (!h->status)
            h->status = stored_status(st, h->name);
        free(h->unsaved);
        h->unsaved = h->status && !strcmp(h->status, text) ? NULL : text;
        if (!h->unsaved)
            free(text);
    }
}

/* Writes the statuses not yet stored, RECONCILE_BATCH to a transaction; a
 * change that came meanwhile stops it after a batch (the rest is written
 * after the next round). */
static void
save_statuses(struct rstate *rs, struct store *st)
{
    struct rhost *hs[RECONCILE_BATCH];
    char key[STORE_KEY_MAX], err[ERR_LEN];
    struct store_txn *t = NULL;
    size_t k = 0;
    for (size_t i = 0; i < rs->n_hosts; i++) {
        struct rhost *h = rs->hosts[i];
        if (!h->unsaved || (!t && !(t = store_txn_begin(st))))
            continue;
        snprintf(key, sizeof key, "%sstatus/%s", STORE_KEY_PREFIX, h->name);
        store_txn_put(t, key, h->unsaved, STORE_ANY_VERSION, err, sizeof err); /* commit fails */
        hs[k++] = h;
        if (k == RECONCILE_BATCH) {
            commit_statuses(t, hs, k);
            t = NULL;
            k = 0;
            if (atomic_load(&rs->kicked))
                return;
        }
    }
    if (k)
        commit_statuses(t, hs, k);
}

/* Each host's result in the round's tasks: those visited, and the last
 * one of those that rest. */
static json_t *
round_results(struct rstate *rs, struct job *jobs, size_t n)
{
    json_t *results = json_object();
    for (size_t i = 0; i < n; i++)
        if (!jobs[i].superseded)
            json_object_set_new(results, jobs[i].h->name, host_result(jobs[i].status));
    for (size_t i = 0; i < rs->n_hosts; i++) {
        struct rhost *h = rs->hosts[i];
        const char *text = h->unsaved ? h->unsaved : h->status;
        json_t *last =
            text && !json_object_get(results, h->name) ? json_loads(text, 0, NULL) : NULL;
        if (last)
            json_object_set_new(results, h->name, host_result(last));
        json_decref(last);
    }
    return results;
}

struct progress {
    struct store *st;
    char (*tasks)[TASK_ID_LEN];
    size_t n_tasks, n_jobs, base; /* base: done in the phases before */
};

static void
progress_cb(void *aux, size_t done)
{
    struct progress *p = aux;
    tasks_set(p->st, p->tasks, p->n_tasks, "running", (int)((p->base + done) * 100 / p->n_jobs),
              NULL);
}

/* After the round at 'now': whether each host answered, and when those
 * visited in full are due again (one that fell due while the round ran
 * without its full visit is due still). */
static void
round_account(struct rstate *rs, struct job *jobs, size_t n, uint64_t now)
{
    for (size_t i = 0; i < n; i++) {
        struct rhost *h = jobs[i].h;
        if (jobs[i].superseded)
            continue;
        h->failed_ms = jobs[i].reached ? 0 : now;
        while (jobs[i].full && h->due_ms <= now) /* its phase, without the visits missed */
            h->due_ms += rs->interval_ms;
    }
}

/* Takes the operations queued since the last round and gives each host's
 * to its first job: its push when it has one, which a change does not
 * cut; a host's long one under way goes with it, to be followed.  A long
 * one waits while another runs on its host; those of a host without a turn
 * (a round of visits alone) wait for the next round; those of a host that
 * rests after it did not answer, or unknown here, fail.  The tasks of
 * those given are running. */
static void
ops_plan(struct rstate *rs, struct store *st, uint64_t now)
{
    size_t n = rs->n_ops;
    rs->n_ops = 0;
    for (size_t i = 0, k, w; i < n; i = k) {
        for (k = i + 1; k < n && !strcmp(rs->ops[k].host, rs->ops[i].host); k++)
            ;
        struct rhost *h = rhost_find(rs, rs->ops[i].host);
        bool busy = h && h->running;
        if (h)
            h->has_ops = false;
        for (size_t a = w = i; a < k; a++) {
            struct hostop *op = &rs->ops[a];
            bool is_long = hostop_kind_is_long(op->kind);
            if (h && h->job && !(is_long && busy)) {
                busy |= is_long;
                hostop_begin(st, op);
                rs->ops[w++] = *op; /* moved: the host's run in a row */
            } else if (h && (h->job || !h->failed_ms)) {
                hostops_requeue(rs->hostops, st, op, h->job != NULL, now);
            } else {
                hostop_fail(st, op, h ? "the host is not reachable" : "the host has no address");
                hostop_fini(op);
            }
        }
        if (w > i) {
            h->job->ops = &rs->ops[i];
            h->job->n_ops = w - i;
        }
    }
    for (size_t i = 0; i < rs->n_hosts; i++)
        if (rs->hosts[i]->running && rs->hosts[i]->job)
            rs->hosts[i]->job->running = rs->hosts[i]->running;
}

/* Takes the operations queued since the last round (before it plans: the
 * hosts they are for have their turn). */
static void
ops_take(struct rstate *rs)
{
    rs->n_ops = rs->hostops && rs->ops ? hostops_take(rs->hostops, rs->ops) : 0;
    for (size_t i = 0; i < rs->n_ops; i++) {
        struct rhost *h = rhost_find(rs, rs->ops[i].host);
        if (h)
            h->has_ops = true;
    }
}

/* A long operation that began on 'h' ('op', moved) is followed from now
 * on.  Returns false when it cannot be (out of memory: 'op' fails). */
static bool
op_follow(struct rstate *rs, struct rhost *h, struct hostop *op)
{
    struct hostop *keep = h->running ? NULL : malloc(sizeof *keep);
    if (!keep) { /* (ops_plan() gives a host one long one at a time) */
        snprintf(op->error, sizeof op->error, "cannot follow it: out of memory");
        op->polling = false;
        return false;
    }
    *keep = *op;
    *op = (struct hostop){0};
    h->running = keep;
    rs->n_running++;
    return true;
}

/* After the round: the operations of the jobs that ran report to their
 * tasks, a long one that began is followed, one that ended is dropped;
 * those of a job left undone wait for the next round.  No host keeps its
 * job. */
static void
ops_end(struct rstate *rs, struct store *st, struct job *jobs, size_t n, uint64_t now)
{
    for (size_t i = 0; i < n; i++) {
        struct rhost *h = jobs[i].h;
        for (size_t a = 0; a < jobs[i].n_ops; a++) {
            struct hostop *op = &jobs[i].ops[a];
            if (!jobs[i].ran) {
                hostops_requeue(rs->hostops, st, op, false, now);
                continue;
            }
            hostop_report(st, op->polling && op_follow(rs, h, op) ? h->running : op);
            hostop_fini(op);
        }
        if (jobs[i].running && jobs[i].ran) {
            hostop_report(st, jobs[i].running);
            if (!jobs[i].running->polling) {
                hostop_fini(jobs[i].running);
                free(jobs[i].running);
                h->running = NULL;
                rs->n_running--;
            }
        }
        h->job = NULL;
    }
}

/* Gives the heap that rounds freed back to the system, at most every
 * TRIM_MS: the workers' replies (a host's figures are ~10 KB of JSON a
 * visit) come and go in glibc's per-thread arenas, which keep what was
 * freed; at 10,000 hosts that was half the manager's RSS. */
static void
round_trim(struct rstate *rs)
{
#ifdef __GLIBC__
    uint64_t now = now_ms();
    if (now - rs->trimmed_ms >= TRIM_MS) {
        malloc_trim(0);
        rs->trimmed_ms = now;
    }
#endif
}

/* One round: reads the inventory when 'reload', visits the hosts 'plan'
 * says, writes what changed and runs 'tasks' along.  Returns the hosts
 * reached or -errno. */
static int
round_run(struct rstate *rs, struct store *st, char (*tasks)[TASK_ID_LEN], size_t n_tasks,
          bool push_all, bool reload)
{
    uint64_t now = now_ms(), t0 = now;
    int rc = reload ? load_inventory(rs, st, now) : 0;
    uint64_t ti = now_ms();
    struct job *jobs = rc == 0 ? calloc(2 * rs->n_hosts + 1, sizeof *jobs) : NULL;
    if (jobs)
        ops_take(rs);
    size_t n_push = 0, n = jobs ? plan(rs, now, push_all, jobs, &n_push) : 0, planned = n;
    tasks_set(st, tasks, n_tasks, "running", 0, NULL);
    ops_plan(rs, st, wall_ms());
    struct progress pr = {st, tasks, n_tasks, n, 0};
    /* The pushes first: a change reaches every host before the figures of
     * those due are collected.  The visits give way to a change that comes
     * meanwhile (at once, or after RECONCILE_CUT_MS of them in a round that
     * pushed a change, so that changes in a row do not starve them): those
     * not started wait for the next round. */
    atomic_store(&rs->kicked, false);
    pool_run(&rs->pool, jobs, n_push, NULL, 0, n_tasks ? progress_cb : NULL, &pr);
    pr.base = n_push;
    size_t ran =
        n_push + pool_run(&rs->pool, jobs + n_push, n - n_push, &rs->kicked,
                          push_all ? RECONCILE_CUT_MS : 0, n_tasks ? progress_cb : NULL, &pr);
    for (; n > ran; n--) /* a visit left undone: its host's push counts */
        if (jobs[n - 1].push)
            jobs[n - 1].push->superseded = false;
    int reached = jobs ? 0 : rc < 0 ? rc : -ENOMEM;
    size_t full = 0, added = 0, hosts_added = 0;
    for (size_t i = 0; i < n; i++) {
        reached += jobs[i].reached && !jobs[i].superseded;
        full += jobs[i].full;
        added += jobs[i].added;
        hosts_added += jobs[i].added > 0;
    }
    uint64_t t1 = now_ms();
    note_statuses(st, jobs, n);
    save_statuses(rs, st);
    uint64_t t2 = now_ms();
    round_account(rs, jobs, n, t2);
    ops_end(rs, st, jobs, planned, wall_ms());
    json_t *results = !n_tasks ? NULL : reached >= 0 ? round_results(rs, jobs, n) : json_object();
    bool failed = reached < 0;
    const char *name;
    json_t *r;
    json_object_foreach (results, name, r)
        failed |= !json_is_true(json_object_get(r, "ok"));
    tasks_set(st, tasks, n_tasks, failed ? "error" : "success", 100, results);
    log_debug("round: %zu pushes and %zu full visits of %zu hosts (%d reached), %zu tasks, %llu ms "
              "(inventory %llu, hosts %llu, statuses %llu, tasks %llu)",
              n_push, full, rs->n_hosts, reached, n_tasks, (unsigned long long)(now_ms() - t0),
              (unsigned long long)(ti - t0), (unsigned long long)(t1 - ti),
              (unsigned long long)(t2 - t1), (unsigned long long)(now_ms() - t2));
    if (added)
        log_info("%zu portgroups added on %zu hosts in %llu ms", added, hosts_added,
                 (unsigned long long)(t1 - t0));
    json_decref(results);
    for (size_t i = 0; i < n; i++)
        json_decref(jobs[i].status);
    free(jobs);
    round_trim(rs);
    return reached;
}

/* The number of hosts' connections that may stay open: the open-file
 * limit, less what the rest of the manager needs. */
static size_t
keep_max(void)
{
    struct rlimit r;
    if (getrlimit(RLIMIT_NOFILE, &r) < 0 || r.rlim_cur == RLIM_INFINITY)
        return 1u << 20;
    return r.rlim_cur > FDS_RESERVED ? r.rlim_cur - FDS_RESERVED : 0;
}

static int
rstate_init(struct rstate *rs, const struct reconcile_params *p, bool keep)
{
    *rs = (struct rstate){.client = p->client,
                          .port = p->hostd_port ? p->hostd_port : RECONCILE_HOSTD_PORT,
                          .fleet = p->fleet,
                          .alarms = p->alarms,
                          .hostops = p->hostops,
                          .dfw_stats = p->dfw_stats,
                          .interval_ms = p->interval_ms ? p->interval_ms : RECONCILE_INTERVAL_MS,
                          .stagger = keep,
                          .keep_max = keep ? keep_max() : 0};
    if (p->hostops && !(rs->ops = calloc(HOSTOPS_MAX, sizeof *rs->ops)))
        return -ENOMEM;
    int rc = pool_start(&rs->pool, p->workers ? p->workers : RECONCILE_WORKERS);
    if (rc < 0)
        free(rs->ops);
    return rc;
}

static void
rstate_fini(struct rstate *rs)
{
    pool_stop(&rs->pool);
    for (size_t i = 0; i < rs->n_hosts; i++)
        rhost_free(rs, NULL, rs->hosts[i]);
    free(rs->hosts);
    json_decref(rs->wants);
    free(rs->crl_pem);
    free(rs->ops);
    json_decref(rs->defs);
    json_decref(rs->defs_gone);
    json_decref(rs->teams);
    json_decref(rs->dfw);
}

int
reconcile_round(struct store *st, SSL_CTX *client, uint16_t hostd_port, char (*tasks)[TASK_ID_LEN],
                size_t n_tasks, struct fleet *fleet, struct alarms *alarms, struct hostops *hostops,
                struct dfw_stats *dfw_stats)
{
    struct reconcile_params p = {.client = client,
                                 .hostd_port = hostd_port,
                                 .fleet = fleet,
                                 .alarms = alarms,
                                 .hostops = hostops,
                                 .dfw_stats = dfw_stats};
    struct rstate rs;
    int rc = rstate_init(&rs, &p, false);
    if (rc < 0)
        return rc;
    rc = round_run(&rs, st, tasks, n_tasks, true, true);
    rstate_fini(&rs);
    return rc;
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

/* Waits (r->mu held) for a kick, a stop, or the next host due, but at
 * most an interval and at least RECONCILE_TICK_MS. */
static void
wait_for_round(struct reconciler *r)
{
    bool soon = r->rs.n_running || (r->rs.hostops && hostops_pending(r->rs.hostops));
    uint64_t now = now_ms(), next = soon ? now : now + r->rs.interval_ms;
    for (size_t i = 0; i < r->rs.n_hosts; i++)
        next = MIN(next, r->rs.hosts[i]->due_ms);
    uint64_t wait = next > now + RECONCILE_TICK_MS ? next - now : RECONCILE_TICK_MS;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += wait / 1000;
    until.tv_nsec += (long)(wait % 1000) * 1000000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    pthread_cond_timedwait(&r->cv, &r->mu, &until);
}

/* Deletes the ended tasks older than the retention, at most every
 * RECONCILE_PRUNE_MS (RECONCILE_PRUNE_MAX at a time). */
static void
prune_tasks(struct reconciler *r, struct store *st)
{
    uint64_t now = now_ms(), wall = wall_ms();
    if (r->pruned_ms && now - r->pruned_ms < RECONCILE_PRUNE_MS)
        return;
    r->pruned_ms = now;
    uint64_t keep = r->p.task_keep_ms ? r->p.task_keep_ms : TASK_KEEP_MS;
    char err[ERR_LEN];
    int n = task_prune(st, wall > keep ? wall - keep : 0, RECONCILE_PRUNE_MAX, err, sizeof err);
    if (n < 0)
        log_warn("tasks: %s", err);
    else if (n)
        log_info("%d ended tasks older than %llu s deleted", n, (unsigned long long)keep / 1000);
}

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
            wait_for_round(r);
            if (r->stopping)
                break;
        }
        /* A kick (a change: the inventory is read again) pushes to every
         * host; a round without one visits the hosts due. */
        bool kicked = r->kicked, overflow = r->overflow;
        size_t n = r->n_queue;
        memcpy(tasks, r->queue, n * sizeof tasks[0]);
        r->kicked = r->overflow = false;
        r->n_queue = 0;
        pthread_mutex_unlock(&r->mu);
        if (overflow) /* the queue's and those it had no room for */
            n = queued_tasks(st, tasks, RECONCILE_QUEUE);
        round_run(&r->rs, st, tasks, n, kicked, kicked);
        prune_tasks(r, st);
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
    int rc = rstate_init(&r->rs, &r->p, true);
    if (rc < 0) {
        free(r);
        return err_set(err, err_len, rc, "reconcile: workers: %s", strerror(-rc));
    }
    SSL_CTX_up_ref(r->p.client);
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    r->kicked = true; /* a round at once */
    rc = pthread_create(&r->thread, NULL, run, r);
    if (rc) {
        rstate_fini(&r->rs);
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
    atomic_store(&r->rs.kicked, true); /* a round of visits under way stops short */
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
    rstate_fini(&r->rs);
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    SSL_CTX_free(r->p.client);
    free(r);
}
