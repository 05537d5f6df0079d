/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The reconciler (manager/reconcile.h) against stand-in hostds: lib/http.h
 * servers of a small command table on 127.0.0.1 and 127.0.0.2 (one port),
 * with certificates from a CA of manager/ca.h; nothing answers on
 * 127.0.0.3.  A round pushes what each host lacks, writes its status and
 * its figures, and ends its task with each host's result; drift is shown;
 * the thread pushes a change at once, and a change that a host lacks
 * nothing of costs it no call.
 */
#include "tests/unit/check.h"
#include "tests/unit/loop-thread.h"
#include "lib/authz.h"
#include "lib/http.h"
#include "lib/tls.h"
#include "lib/util.h"
#include "lib/cmdtab.h"
#include "manager/ca.h"
#include "manager/dfw.h"
#include "manager/inventory.h"
#include "manager/reconcile.h"
#include "monitor/alarm.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

enum {
    C_LIST,
    C_ADD,
    C_HOST_STATS,
    C_DPU_STATS,
    C_ACK,
    C_ALARMS,
    C_EVENTS,
    C_CRL,
    C_INSTALL,
    C_PROGRESS,
    C_FAILOVER,
    C_DEF_LIST,
    C_DEF_ADD,
    C_DEF_DEL,
    C_SW_SET,
    C_DFW_SET,
    C_DFW_SHOW,
    C_DFW_STATS,
    C__N
};

/* A stand-in hostd: its portgroups and how often each command came. */
struct fake {
    pthread_mutex_t mu;
    json_t *pgs;
    json_t *defs;     /* its alarm definitions (alarm.def.*) */
    json_t *teaming;  /* its switch's (switch.set), or NULL: the default */
    json_t *dfw;      /* its firewall's policy (dfw.set), or NULL: none */
    bool dfw_refuses; /* dfw.set answers an error */
    atomic_int calls[C__N];
    struct cmdtab *tab;
    SSL_CTX *ctx;
    struct http_server *srv;
};

struct fx {
    char dir[64];
    struct store *st;
    SSL_CTX *client;
    struct fleet *fleet;
    struct loop_thread lt;
    struct fake hosts[2];
    uint16_t port;
};

static int
cmd_list(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct fake *f = ctx->aux;
    atomic_fetch_add(&f->calls[C_LIST], 1);
    pthread_mutex_lock(&f->mu);
    *result = json_deep_copy(f->pgs);
    pthread_mutex_unlock(&f->mu);
    return 0;
}

static int
cmd_add(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct fake *f = ctx->aux;
    atomic_fetch_add(&f->calls[C_ADD], 1);
    pthread_mutex_lock(&f->mu);
    json_array_append(f->pgs, args);
    pthread_mutex_unlock(&f->mu);
    return 0;
}

static json_t *
sample(void)
{
    return json_pack("{s:i,s:I,s:i,s:[[s,{},f]]}", "seq", 1, "time_ms", (json_int_t)wall_ms(),
                     "interval_s", 10, "metrics", "dse_host_up", 1.0);
}

static int
cmd_host_stats(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct fake *f = ctx->aux;
    atomic_fetch_add(&f->calls[C_HOST_STATS], 1);
    *result = json_pack("{s:o}", "sample", sample());
    return 0;
}

static int
cmd_dpu_stats(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct fake *f = ctx->aux;
    atomic_fetch_add(&f->calls[C_DPU_STATS], 1);
    *result = json_pack("[{s:s,s:b,s:o}]", "dpu", "dpu1", "up", 1, "sample", sample());
    return 0;
}

static int
cmd_ack(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct fake *f = ctx->aux;
    atomic_fetch_add(&f->calls[C_ACK], 1);
    const char *id = json_string_value(json_object_get(args, "id"));
    if (!id || strcmp(id, "hot@dpu1"))
        return err_set(err, err_len, -ENOENT, "no alarm %s", id ? id : "");
    *result = json_object();
    return 0;
}

static int
cmd_alarms(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct fake *f = ctx->aux;
    atomic_fetch_add(&f->calls[C_ALARMS], 1);
    *result = json_pack("[{s:s,s:s,s:s,s:s,s:b}]", "id", "hot@dpu1", "def", "hot", "object", "dpu1",
                        "state", "red", "acknowledged", atomic_load(&f->calls[C_ACK]) > 0);
    return 0;
}

static int
cmd_events(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct fake *f = ctx->aux;
    atomic_fetch_add(&f->calls[C_EVENTS], 1);
    *result = json_pack("{s:i,s:[]}", "last", 0, "events");
    return 0;
}

/* crl.set: the stand-in takes any list as number 3. */
static int
cmd_crl(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct fake *f = ctx->aux;
    atomic_fetch_add(&f->calls[C_CRL], 1);
    *result = json_pack("{s:i}", "number", 3);
    return 0;
}

/* An install's progress: running with half sent until software.progress
 * was asked twice, then ok. */
static json_t *
progress(struct fake *f)
{
    bool done = atomic_load(&f->calls[C_PROGRESS]) >= 2;
    return json_pack("{s:s,s:s,s:[{s:s,s:s,s:s,s:i,s:i},{s:s,s:s,s:s,s:i,s:i}]}", "state",
                     done ? "ok" : "running", "version", "0.2.0", "devices", "device", "h1",
                     "target", "host/x86_64", "step", done ? "staged" : "sending", "sent",
                     done ? 100 : 50, "total", 100, "device", "dpu1", "target", "dpu/lab", "step",
                     done ? "staged" : "sending", "sent", done ? 100 : 50, "total", 100);
}

static int
cmd_install(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct fake *f = ctx->aux;
    atomic_fetch_add(&f->calls[C_INSTALL], 1);
    *result = progress(f);
    return 0;
}

static int
cmd_progress(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct fake *f = ctx->aux;
    atomic_fetch_add(&f->calls[C_PROGRESS], 1);
    *result = progress(f);
    return 0;
}

static int
cmd_failover(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct fake *f = ctx->aux;
    atomic_fetch_add(&f->calls[C_FAILOVER], 1);
    const char *to = json_string_value(json_object_get(args, "to"));
    if (!to || strcmp(to, "dpu2"))
        return err_set(err, err_len, -ENOENT, "no DPU %s", to ? to : "");
    *result = json_pack("{s:s,s:i}", "active", "dpu2", "epoch", 2);
    return 0;
}

static int
cmd_sw_show(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct fake *f = ctx->aux;
    pthread_mutex_lock(&f->mu);
    *result = json_pack("{s:o}", "teaming",
                        f->teaming ? json_deep_copy(f->teaming)
                                   : json_pack("{s:b,s:[]}", "failback", 1, "order"));
    pthread_mutex_unlock(&f->mu);
    return 0;
}

static int
cmd_sw_set(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct fake *f = ctx->aux;
    atomic_fetch_add(&f->calls[C_SW_SET], 1);
    pthread_mutex_lock(&f->mu);
    json_decref(f->teaming);
    f->teaming = json_pack("{s:O,s:O}", "failback", json_object_get(args, "failback"), "order",
                           json_object_get(args, "uplink_order"));
    pthread_mutex_unlock(&f->mu);
    *result = json_object();
    return 0;
}

/* dfw.set {"policy"}: kept as sent (null: none), unless it refuses. */
static int
cmd_dfw_set(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct fake *f = ctx->aux;
    json_t *p = json_object_get(args, "policy");
    atomic_fetch_add(&f->calls[C_DFW_SET], 1);
    if (!p || f->dfw_refuses)
        return err_set(err, err_len, -EINVAL, "rules[0]: unknown group web");
    pthread_mutex_lock(&f->mu);
    json_decref(f->dfw);
    f->dfw = json_is_null(p) ? NULL : json_deep_copy(p);
    pthread_mutex_unlock(&f->mu);
    *result = json_object();
    return 0;
}

/* dfw.show: {"policy", "digest"}. */
static int
cmd_dfw_show(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct fake *f = ctx->aux;
    char hex[JSON_DIGEST_HEX];
    atomic_fetch_add(&f->calls[C_DFW_SHOW], 1);
    pthread_mutex_lock(&f->mu);
    json_digest(f->dfw ? f->dfw : json_null(), hex);
    *result = json_pack("{s:O?,s:s?}", "policy", f->dfw, "digest", f->dfw ? hex : NULL);
    pthread_mutex_unlock(&f->mu);
    return 0;
}

/* dfw.stats: two DPUs, each with 10 packets of rule app/ssh. */
static int
cmd_dfw_stats(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct fake *f = ctx->aux;
    atomic_fetch_add(&f->calls[C_DFW_STATS], 1);
    *result = json_loads("{\"dpus\":{\"dpu1\":{\"rules\":[{\"name\":\"app/ssh\",\"packets\":10,"
                         "\"bytes\":1000,\"sessions\":1}],\"conns\":1,\"conn_max\":100},"
                         "\"dpu2\":{\"rules\":[{\"name\":\"app/ssh\",\"packets\":10,"
                         "\"bytes\":1000,\"sessions\":1}],\"conns\":0,\"conn_max\":100}}}",
                         0, NULL);
    return 0;
}

/* alarm.def.list: a built-in, then what was added. */
static int
cmd_def_list(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct fake *f = ctx->aux;
    atomic_fetch_add(&f->calls[C_DEF_LIST], 1);
    pthread_mutex_lock(&f->mu);
    *result = json_pack("[{s:s,s:s,s:b}]", "name", "dpu-cpu-high", "metric", "x", "builtin", 1);
    json_array_extend(*result, f->defs);
    pthread_mutex_unlock(&f->mu);
    return 0;
}

/* alarm.def.add: as hostd shows it (normalized, "builtin": false). */
static int
cmd_def_add(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct fake *f = ctx->aux;
    atomic_fetch_add(&f->calls[C_DEF_ADD], 1);
    json_t *d = alarm_def_normalize(json_object_get(args, "def"), err, err_len);
    if (!d)
        return -EINVAL;
    json_object_set_new(d, "builtin", json_false());
    pthread_mutex_lock(&f->mu);
    json_array_append_new(f->defs, d);
    pthread_mutex_unlock(&f->mu);
    *result = json_object();
    return 0;
}

static int
cmd_def_del(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct fake *f = ctx->aux;
    atomic_fetch_add(&f->calls[C_DEF_DEL], 1);
    const char *name = json_string_value(json_object_get(args, "name"));
    size_t i;
    json_t *d;
    int rc = -ENOENT;
    pthread_mutex_lock(&f->mu);
    json_array_foreach (f->defs, i, d) {
        if (name && !strcmp(json_string_value(json_object_get(d, "name")), name)) {
            json_array_remove(f->defs, i);
            rc = 0;
            break;
        }
    }
    pthread_mutex_unlock(&f->mu);
    if (rc == 0)
        *result = json_object();
    return rc < 0 ? err_set(err, err_len, rc, "no definition %s", name ? name : "") : 0;
}

/* The names of the host's own alarm definitions, "a,b". */
static const char *
def_names(struct fake *f)
{
    static char buf[256];
    size_t i;
    json_t *d;
    buf[0] = '\0';
    pthread_mutex_lock(&f->mu);
    json_array_foreach (f->defs, i, d)
        snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%s", i ? "," : "",
                 json_string_value(json_object_get(d, "name")));
    pthread_mutex_unlock(&f->mu);
    return buf;
}

static const struct cmd_def defs[] = {
    {.name = "dfw.set", .usage = "", .fn = cmd_dfw_set, .roles = AUTHZ_MANAGER},
    {.name = "dfw.show", .usage = "", .fn = cmd_dfw_show, .roles = AUTHZ_MANAGER},
    {.name = "dfw.stats", .usage = "", .fn = cmd_dfw_stats, .roles = AUTHZ_MANAGER},
    {.name = "switch.show", .usage = "", .fn = cmd_sw_show, .roles = AUTHZ_MANAGER},
    {.name = "switch.set", .usage = "", .fn = cmd_sw_set, .roles = AUTHZ_MANAGER},
    {.name = "alarm.def.list", .usage = "", .fn = cmd_def_list, .roles = AUTHZ_MANAGER},
    {.name = "alarm.def.add", .usage = "", .fn = cmd_def_add, .roles = AUTHZ_MANAGER},
    {.name = "alarm.def.del", .usage = "", .fn = cmd_def_del, .roles = AUTHZ_MANAGER},
    {.name = "software.install", .usage = "", .fn = cmd_install, .roles = AUTHZ_MANAGER},
    {.name = "software.progress", .usage = "", .fn = cmd_progress, .roles = AUTHZ_MANAGER},
    {.name = "dpu.failover", .usage = "", .fn = cmd_failover, .roles = AUTHZ_MANAGER},
    {.name = "alarm.ack", .usage = "", .fn = cmd_ack, .roles = AUTHZ_MANAGER},
    {.name = "alarm.list", .usage = "", .fn = cmd_alarms, .roles = AUTHZ_MANAGER},
    {.name = "event.list", .usage = "", .fn = cmd_events, .roles = AUTHZ_MANAGER},
    {.name = "crl.set", .usage = "", .fn = cmd_crl, .roles = AUTHZ_MANAGER},
    {.name = "portgroup.list", .usage = "", .fn = cmd_list, .roles = AUTHZ_MANAGER},
    {.name = "portgroup.add", .usage = "", .fn = cmd_add, .roles = AUTHZ_MANAGER},
    {.name = "host.stats", .usage = "", .fn = cmd_host_stats, .roles = AUTHZ_MANAGER},
    {.name = "dpu.stats", .usage = "", .fn = cmd_dpu_stats, .roles = AUTHZ_MANAGER},
};

static bool
has_pg(struct fake *f, const char *name)
{
    size_t i;
    json_t *pg;
    bool found = false;
    pthread_mutex_lock(&f->mu);
    json_array_foreach (f->pgs, i, pg)
        found |= !strcmp(json_string_value(json_object_get(pg, "name")), name);
    pthread_mutex_unlock(&f->mu);
    return found;
}

/* A port free on 127.0.0.1 (and, most likely, on 127.0.0.2). */
static uint16_t
free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    uint16_t port = 0;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static SSL_CTX *
ctx_of(const char *dir, const char *who, bool server)
{
    char cert[128], key[128], ca[128], err[ERR_LEN];
    snprintf(cert, sizeof cert, "%s/%s/cert.pem", dir, who);
    snprintf(key, sizeof key, "%s/%s/key.pem", dir, who);
    snprintf(ca, sizeof ca, "%s/%s/ca.pem", dir, who);
    struct tls_paths tp = {.cert = cert, .key = key, .ca = ca};
    return server ? tls_server_ctx(&tp, err, sizeof err) : tls_client_ctx(&tp, err, sizeof err);
}

/* The certificates: the manager's and h1's, h2's (CN, role, address). */
static bool
make_pki(const char *dir)
{
    char path[128], err[ERR_LEN] = "";
    struct ca *ca = NULL;
    snprintf(path, sizeof path, "%s/ca", dir);
    bool ok = ca_create(path, "test-ca", 2, err, sizeof err) == 0 &&
              ca_open(path, &ca, err, sizeof err) == 0;
    snprintf(path, sizeof path, "%s/mgr", dir);
    ok = ok && ca_issue(ca, path, "mgr", AUTHZ_MANAGER, NULL, 2, err, sizeof err) == 0;
    for (int i = 1; ok && i <= 2; i++) {
        char cn[8], ip[16];
        snprintf(cn, sizeof cn, "h%d", i);
        snprintf(ip, sizeof ip, "127.0.0.%d", i);
        snprintf(path, sizeof path, "%s/%s", dir, cn);
        ok = ca_issue(ca, path, cn, AUTHZ_HOST, ip, 2, err, sizeof err) == 0;
    }
    ca_close(ca);
    if (!ok)
        fprintf(stderr, "pki: %s\n", err);
    return ok;
}

static bool
put(struct fx *f, enum inv_kind k, const char *name, const char *spec)
{
    char err[ERR_LEN];
    struct store_actor actor = {.who = "test", .from = "test", .what = "test"};
    json_t *obj = json_loads(spec, 0, NULL);
    int rc = inv_put(f->st, k, name, obj, STORE_ANY_VERSION, &actor, NULL, err, sizeof err);
    json_decref(obj);
    if (rc < 0)
        fprintf(stderr, "%s: %s\n", name, err);
    return rc == 0;
}

/* dc1 > c1 > h1 (127.0.0.1), h2 (.2), h3 (.3: nothing there); s1 > pg1. */
static bool
fx_init(struct fx *f)
{
    char err[ERR_LEN], path[128];
    memset(f, 0, sizeof *f);
    signal(SIGPIPE, SIG_IGN);
    snprintf(f->dir, sizeof f->dir, "/tmp/dse-test-reconcile-XXXXXX");
    snprintf(path, sizeof path, "%s/store.db", mkdtemp(f->dir) ? f->dir : "/nonexistent");
    struct authz_policy policy = {0};
    if (!make_pki(f->dir) || store_open(path, &f->st, err, sizeof err) < 0 ||
        !(f->client = ctx_of(f->dir, "mgr", false)) || !(f->fleet = fleet_create()) ||
        !loop_thread_init(&f->lt) || !(f->port = free_port()) ||
        authz_policy_add(&policy, "manager", err, sizeof err) < 0)
        return false;
    for (int i = 0; i < 2; i++) {
        struct fake *h = &f->hosts[i];
        char cn[8], ip[16];
        snprintf(cn, sizeof cn, "h%d", i + 1);
        snprintf(ip, sizeof ip, "127.0.0.%d", i + 1);
        pthread_mutex_init(&h->mu, NULL);
        h->pgs = json_array();
        h->defs = json_array();
        if (!(h->tab = cmdtab_create(defs, sizeof defs / sizeof defs[0], h)) ||
            !(h->ctx = ctx_of(f->dir, cn, true)) ||
            !(h->srv = http_server_create(f->lt.base, ip, f->port, h->ctx, h->tab, &policy, err,
                                          sizeof err)))
            return fprintf(stderr, "%s: %s\n", cn, err), false;
    }
    return loop_thread_start(&f->lt) && put(f, INV_DATACENTER, "dc1", "{}") &&
           put(f, INV_CLUSTER, "c1", "{\"datacenter\":\"dc1\"}") &&
           put(f, INV_SWITCH, "s1", "{\"datacenter\":\"dc1\"}") &&
           put(f, INV_PORTGROUP, "s1/pg1", "{\"vlan\":10}") &&
           put(f, INV_HOST, "h1", "{\"cluster\":\"c1\",\"address\":\"127.0.0.1\"}") &&
           put(f, INV_HOST, "h2", "{\"cluster\":\"c1\",\"address\":\"127.0.0.2\"}") &&
           put(f, INV_HOST, "h3", "{\"cluster\":\"c1\",\"address\":\"127.0.0.3\"}");
}

static void
fx_fini(struct fx *f)
{
    loop_thread_stop(&f->lt);
    for (int i = 0; i < 2; i++) {
        struct fake *h = &f->hosts[i];
        http_server_destroy(h->srv);
        cmdtab_destroy(h->tab);
        if (h->ctx)
            SSL_CTX_free(h->ctx);
        json_decref(h->pgs);
        json_decref(h->defs);
        json_decref(h->teaming);
        json_decref(h->dfw);
        pthread_mutex_destroy(&h->mu);
    }
    loop_thread_fini(&f->lt);
    fleet_destroy(f->fleet);
    if (f->client)
        SSL_CTX_free(f->client);
    store_close(f->st);
    if (fs_remove_at(AT_FDCWD, f->dir) < 0)
        fprintf(stderr, "cannot remove %s\n", f->dir);
}

/* Key 'key''s object (caller frees), or NULL. */
static json_t *
get(struct fx *f, const char *key)
{
    struct store_kv kv = {0};
    json_t *o = store_get(f->st, key, &kv, NULL, 0) == 0 ? json_loads(kv.value, 0, NULL) : NULL;
    store_kv_fini(&kv);
    return o;
}

/* A new task of a change (on object 'key'), its id into 'id'. */
static bool
new_task(struct fx *f, const char *key, char id[TASK_ID_LEN])
{
    static int64_t seq = 1000;
    char err[ERR_LEN];
    struct store_actor actor = {.who = "test", .from = "test", .what = "task.create"};
    return task_create(f->st, "config.push", key, seq++, &actor, id, err, sizeof err) == 0;
}

static const char *
task_state(struct fx *f, const char *id)
{
    static char state[32];
    char key[STORE_KEY_MAX];
    snprintf(key, sizeof key, "%stask/%s", STORE_KEY_PREFIX, id);
    json_t *t = get(f, key);
    snprintf(state, sizeof state, "%s", t ? json_string_value(json_object_get(t, "state")) : "");
    json_decref(t);
    return state;
}

static void
a_round_pushes_what_each_host_lacks(void)
{
    struct fx f;
    char id[TASK_ID_LEN];
    ASSERT_TRUE(fx_init(&f));
    ASSERT_TRUE(new_task(&f, "/dse/v1/portgroup/s1/pg1", id));
    ASSERT_EQ(reconcile_round(f.st, f.client, f.port, &id, 1, f.fleet, NULL, NULL, NULL),
              2); /* not h3 */
    for (int i = 0; i < 2; i++) {
        ASSERT_TRUE(has_pg(&f.hosts[i], "pg1"));
        ASSERT_EQ(atomic_load(&f.hosts[i].calls[C_LIST]), 1);
        ASSERT_EQ(atomic_load(&f.hosts[i].calls[C_ADD]), 1);
        ASSERT_EQ(atomic_load(&f.hosts[i].calls[C_DPU_STATS]), 1); /* its figures */
    }
    json_t *s = get(&f, "/dse/v1/status/h1"), *t;
    ASSERT_TRUE(json_is_true(json_object_get(s, "reachable")));
    ASSERT_STREQ(json_string_value(json_array_get(json_object_get(s, "portgroups"), 0)), "pg1");
    json_decref(s);
    s = get(&f, "/dse/v1/status/h3");
    ASSERT_TRUE(json_is_false(json_object_get(s, "reachable")));
    ASSERT_TRUE(json_string_value(json_object_get(s, "error")) != NULL);
    json_decref(s);
    char key[STORE_KEY_MAX];
    snprintf(key, sizeof key, "%stask/%s", STORE_KEY_PREFIX, id);
    t = get(&f, key);
    json_t *r = json_object_get(t, "results");
    ASSERT_STREQ(json_string_value(json_object_get(t, "state")), "error"); /* h3 */
    ASSERT_TRUE(json_is_true(json_object_get(json_object_get(r, "h1"), "ok")));
    ASSERT_TRUE(json_is_true(json_object_get(json_object_get(r, "h2"), "ok")));
    ASSERT_TRUE(json_is_false(json_object_get(json_object_get(r, "h3"), "ok")));
    json_decref(t);
    json_t *h = fleet_history(f.fleet, "h2", false, wall_ms());
    ASSERT_EQ(json_array_size(json_object_get(h, "points")), 1);
    json_decref(h);
    /* Drift: what a host has that the manager does not is shown, left. */
    pthread_mutex_lock(&f.hosts[1].mu);
    json_array_append_new(f.hosts[1].pgs, json_pack("{s:s,s:i}", "name", "by-hand", "vlan", 99));
    pthread_mutex_unlock(&f.hosts[1].mu);
    ASSERT_EQ(reconcile_round(f.st, f.client, f.port, NULL, 0, NULL, NULL, NULL, NULL), 2);
    s = get(&f, "/dse/v1/status/h2");
    ASSERT_STREQ(json_string_value(json_array_get(json_object_get(s, "drift"), 0)),
                 "portgroup by-hand: not in the manager");
    json_decref(s);
    ASSERT_EQ(atomic_load(&f.hosts[1].calls[C_ADD]), 1); /* nothing more to add */
    fx_fini(&f);
}

static bool
wait_for(struct fx *f, const char *id, const char *state)
{
    for (int i = 0; i < 500; i++, usleep(10000))
        if (!strcmp(task_state(f, id), state))
            return true;
    return false;
}

static void
the_thread_pushes_a_change_at_once_to_who_lacks_it(void)
{
    struct fx f;
    char path[128], err[ERR_LEN], id[TASK_ID_LEN];
    ASSERT_TRUE(fx_init(&f));
    snprintf(path, sizeof path, "%s/store.db", f.dir);
    struct reconcile_params p = {.store_path = path,
                                 .client = f.client,
                                 .interval_ms = 3600 * 1000, /* no full visit meanwhile */
                                 .hostd_port = f.port,
                                 .workers = 2};
    struct reconciler *r = NULL;
    ASSERT_EQ(reconcile_start(&p, &r, err, sizeof err), 0);
    ASSERT_TRUE(new_task(&f, "/dse/v1/portgroup/s1/pg1", id));
    reconcile_kick(r, id);
    ASSERT_TRUE(wait_for(&f, id, "error")); /* h3 */
    ASSERT_TRUE(has_pg(&f.hosts[0], "pg1") && has_pg(&f.hosts[1], "pg1"));
    int lists = atomic_load(&f.hosts[0].calls[C_LIST]),
        adds = atomic_load(&f.hosts[0].calls[C_ADD]);
    /* A change that h1 lacks nothing of: no call to h1. */
    ASSERT_TRUE(put(&f, INV_DATACENTER, "dc2", "{}"));
    ASSERT_TRUE(new_task(&f, "/dse/v1/datacenter/dc2", id));
    reconcile_kick(r, id);
    ASSERT_TRUE(wait_for(&f, id, "error"));
    ASSERT_EQ(atomic_load(&f.hosts[0].calls[C_LIST]), lists);
    ASSERT_EQ(atomic_load(&f.hosts[0].calls[C_ADD]), adds);
    /* A new portgroup: added at once, from what h1 had. */
    ASSERT_TRUE(put(&f, INV_PORTGROUP, "s1/pg2", "{\"vlan\":20}"));
    ASSERT_TRUE(new_task(&f, "/dse/v1/portgroup/s1/pg2", id));
    reconcile_kick(r, id);
    ASSERT_TRUE(wait_for(&f, id, "error"));
    ASSERT_TRUE(has_pg(&f.hosts[0], "pg2") && has_pg(&f.hosts[1], "pg2"));
    ASSERT_EQ(atomic_load(&f.hosts[0].calls[C_LIST]), lists);
    ASSERT_EQ(atomic_load(&f.hosts[0].calls[C_ADD]), adds + 1);
    json_t *s = get(&f, "/dse/v1/status/h1");
    ASSERT_EQ(json_array_size(json_object_get(s, "portgroups")), 2);
    json_decref(s);
    reconcile_stop(r);
    fx_fini(&f);
}

/* {"id": ID}, kept until the next call (hostops_queue() copies it). */
static json_t *
ack_of(const char *id)
{
    static json_t *args;
    json_decref(args);
    args = json_pack("{s:s}", "id", id);
    return args;
}

/* A new task of kind 'kind' on host 'host', its id into 'id'. */
static bool
new_host_task(struct fx *f, const char *kind, const char *host, char id[TASK_ID_LEN])
{
    static int64_t seq = 2000;
    char err[ERR_LEN], key[STORE_KEY_MAX];
    snprintf(key, sizeof key, "%shost/%s", STORE_KEY_PREFIX, host);
    struct store_actor actor = {.who = "test", .from = "test", .what = "task.create"};
    return task_create(f->st, kind, key, seq++, &actor, id, err, sizeof err) == 0;
}

/* An ack is run on its host by the next round, which collects the host's
 * alarms again; one for a host that did not answer fails with the reason;
 * the cluster's revocation list goes once to each host that lacks it. */
static void
acks_and_the_revocation_list_reach_their_hosts(void)
{
    struct fx f;
    char path[128], err[ERR_LEN], id[TASK_ID_LEN], id3[TASK_ID_LEN], bad[TASK_ID_LEN];
    ASSERT_TRUE(fx_init(&f));
    snprintf(path, sizeof path, "%s/store.db", f.dir);
    struct alarms *al = alarms_create();
    struct hostops *q = hostops_create();
    ASSERT_NOT_NULL(al);
    ASSERT_NOT_NULL(q);
    struct reconcile_params p = {.store_path = path,
                                 .client = f.client,
                                 .interval_ms = 3600 * 1000,
                                 .hostd_port = f.port,
                                 .alarms = al,
                                 .hostops = q,
                                 .workers = 2};
    struct reconciler *r = NULL;
    ASSERT_EQ(reconcile_start(&p, &r, err, sizeof err), 0);
    ASSERT_TRUE(new_task(&f, "/dse/v1/portgroup/s1/pg1", id));
    reconcile_kick(r, id);
    ASSERT_TRUE(wait_for(&f, id, "error"));              /* h3 did not answer */
    ASSERT_EQ(atomic_load(&f.hosts[0].calls[C_CRL]), 0); /* no list yet */
    json_t *l = alarms_list(al, &(struct alarms_query){0});
    ASSERT_EQ(json_array_size(l), 0);
    json_decref(l);
    /* Acks: h1's alarm, one h1 does not have, one on h3. */
    ASSERT_TRUE(new_host_task(&f, "alarm.ack", "h1", id));
    ASSERT_TRUE(new_host_task(&f, "alarm.ack", "h1", bad));
    ASSERT_TRUE(new_host_task(&f, "alarm.ack", "h3", id3));
    ASSERT_EQ(hostops_queue(q, "h1", "alarm.ack", ack_of("hot@dpu1"), id, wall_ms()), 0);
    ASSERT_EQ(hostops_queue(q, "h1", "alarm.ack", ack_of("cold@dpu1"), bad, wall_ms()), 0);
    ASSERT_EQ(hostops_queue(q, "h3", "alarm.ack", ack_of("hot@dpu1"), id3, wall_ms()), 0);
    /* The cluster's revocation list, as a join or a delete leaves it. */
    struct store_txn *t = store_txn_begin(f.st);
    struct store_actor actor = {.who = "test", .from = "test", .what = "test"};
    ASSERT_NOT_NULL(t);
    ASSERT_EQ(store_txn_put(t, "/dse/v1/crl/cluster",
                            "{\"number\":3,\"serials\":[],\"pem\":\"PEM\"}", STORE_ANY_VERSION, err,
                            sizeof err),
              0);
    ASSERT_EQ(store_txn_commit(t, &actor, NULL, err, sizeof err), 0);
    reconcile_kick(r, NULL);
    ASSERT_TRUE(wait_for(&f, id, "success"));
    ASSERT_TRUE(wait_for(&f, bad, "error"));
    ASSERT_TRUE(wait_for(&f, id3, "error"));
    ASSERT_EQ(atomic_load(&f.hosts[0].calls[C_ACK]), 2);
    ASSERT_EQ(atomic_load(&f.hosts[1].calls[C_ACK]), 0);
    char key[STORE_KEY_MAX];
    snprintf(key, sizeof key, "%stask/%s", STORE_KEY_PREFIX, id3);
    json_t *t3 = get(&f, key);
    ASSERT_STREQ(json_string_value(json_object_get(
                     json_object_get(json_object_get(t3, "results"), "h3"), "error")),
                 "the host is not reachable");
    json_decref(t3);
    /* Its alarms were collected after the ack: acknowledged. */
    l = alarms_list(al, &(struct alarms_query){.host = "h1"});
    ASSERT_EQ(json_array_size(l), 1);
    ASSERT_TRUE(json_is_true(json_object_get(json_array_get(l, 0), "acknowledged")));
    json_decref(l);
    ASSERT_EQ(atomic_load(&f.hosts[1].calls[C_ALARMS]), 0); /* no ack, no visit: not asked */
    ASSERT_EQ(atomic_load(&f.hosts[0].calls[C_CRL]), 1);
    ASSERT_EQ(atomic_load(&f.hosts[1].calls[C_CRL]), 1);
    json_t *s = get(&f, "/dse/v1/status/h1");
    ASSERT_EQ(json_integer_value(json_object_get(s, "crl")), 3);
    json_decref(s);
    /* Once confirmed, it is not sent again. */
    ASSERT_TRUE(new_task(&f, "/dse/v1/portgroup/s1/pg1", id));
    reconcile_kick(r, id);
    ASSERT_TRUE(wait_for(&f, id, "error"));
    ASSERT_EQ(atomic_load(&f.hosts[0].calls[C_CRL]), 1);
    reconcile_stop(r);
    alarms_destroy(al);
    hostops_destroy(q);
    fx_fini(&f);
}

static json_t *
task_get(struct fx *f, const char *id)
{
    char key[STORE_KEY_MAX];
    snprintf(key, sizeof key, "%stask/%s", STORE_KEY_PREFIX, id);
    return get(f, key);
}

/* An install runs on and is followed to its end, its progress and a result
 * per device in its task; a second one waits behind it; a failover gives
 * the DPU now active. */
static void
an_install_is_followed_to_its_end(void)
{
    struct fx f;
    char path[128], err[ERR_LEN], inst[TASK_ID_LEN], inst2[TASK_ID_LEN], fo[TASK_ID_LEN],
        bad[TASK_ID_LEN];
    ASSERT_TRUE(fx_init(&f));
    snprintf(path, sizeof path, "%s/store.db", f.dir);
    struct hostops *q = hostops_create();
    struct reconcile_params p = {.store_path = path,
                                 .client = f.client,
                                 .interval_ms = 3600 * 1000,
                                 .hostd_port = f.port,
                                 .hostops = q,
                                 .workers = 2};
    struct reconciler *r = NULL;
    ASSERT_EQ(reconcile_start(&p, &r, err, sizeof err), 0);
    json_t *args = json_pack("{s:s}", "bundle", "/tmp/x.dsebundle");
    ASSERT_TRUE(new_host_task(&f, "software.install", "h1", inst));
    ASSERT_TRUE(new_host_task(&f, "software.install", "h1", inst2));
    ASSERT_EQ(hostops_queue(q, "h1", "software.install", args, inst, wall_ms()), 0);
    ASSERT_EQ(hostops_queue(q, "h1", "software.install", args, inst2, wall_ms() + 1), 0);
    json_decref(args);
    args = json_pack("{s:s}", "to", "dpu2");
    ASSERT_TRUE(new_host_task(&f, "dpu.failover", "h2", fo));
    ASSERT_EQ(hostops_queue(q, "h2", "dpu.failover", args, fo, wall_ms()), 0);
    json_decref(args);
    args = json_pack("{s:s}", "to", "dpu9");
    ASSERT_TRUE(new_host_task(&f, "dpu.failover", "h2", bad));
    ASSERT_EQ(hostops_queue(q, "h2", "dpu.failover", args, bad, wall_ms()), 0);
    json_decref(args);
    reconcile_kick(r, NULL);
    ASSERT_TRUE(wait_for(&f, fo, "success"));
    ASSERT_TRUE(wait_for(&f, bad, "error"));
    json_t *t = task_get(&f, fo);
    ASSERT_STREQ(json_string_value(json_object_get(
                     json_object_get(json_object_get(t, "results"), "h2"), "active")),
                 "dpu2");
    json_decref(t);
    /* The install: running at half, then, asked without a kick, done. */
    ASSERT_TRUE(wait_for(&f, inst, "success"));
    ASSERT_GE(atomic_load(&f.hosts[0].calls[C_PROGRESS]), 2);
    t = task_get(&f, inst);
    json_t *res = json_object_get(t, "results");
    ASSERT_EQ(json_integer_value(json_object_get(t, "progress")), 100);
    ASSERT_TRUE(json_is_true(json_object_get(json_object_get(res, "h1"), "ok")));
    ASSERT_STREQ(json_string_value(json_object_get(json_object_get(res, "h1"), "version")),
                 "0.2.0");
    ASSERT_TRUE(json_is_true(json_object_get(json_object_get(res, "h1/dpu1"), "ok")));
    json_decref(t);
    /* The second one waited its turn, then ran (the stand-in says done). */
    ASSERT_TRUE(wait_for(&f, inst2, "success"));
    ASSERT_EQ(atomic_load(&f.hosts[0].calls[C_INSTALL]), 2);
    reconcile_stop(r);
    hostops_destroy(q);
    fx_fini(&f);
}

/* The fleet's alarm definitions reach every host; one changed is replaced,
 * one deleted goes; a host's own is drift, left; one changed by hand is put
 * back at the host's next full visit. */
static void
alarm_definitions_follow_the_fleets(void)
{
    struct fx f;
    char id[TASK_ID_LEN];
    ASSERT_TRUE(fx_init(&f));
    ASSERT_TRUE(put(&f, INV_ALARMDEF, "hot-dpu",
                    "{\"metric\":\"dse_dpu_cpu_usage_ratio\",\"warning\":0.8}"));
    ASSERT_TRUE(
        put(&f, INV_ALARMDEF, "sw-event", "{\"event\":\"dpu.failover\",\"level\":\"yellow\"}"));
    pthread_mutex_lock(&f.hosts[1].mu);
    json_array_append_new(
        f.hosts[1].defs, json_pack("{s:s,s:s,s:b}", "name", "by-hand", "event", "x", "builtin", 0));
    pthread_mutex_unlock(&f.hosts[1].mu);
    ASSERT_TRUE(new_task(&f, "/dse/v1/alarmdef/hot-dpu", id));
    ASSERT_EQ(reconcile_round(f.st, f.client, f.port, &id, 1, NULL, NULL, NULL, NULL), 2);
    ASSERT_STREQ(def_names(&f.hosts[0]), "hot-dpu,sw-event");
    ASSERT_STREQ(def_names(&f.hosts[1]), "by-hand,hot-dpu,sw-event");
    json_t *s = get(&f, "/dse/v1/status/h2");
    ASSERT_EQ(json_array_size(json_object_get(s, "alarm_defs")), 2);
    ASSERT_STREQ(json_string_value(json_array_get(json_object_get(s, "drift"), 0)),
                 "alarm definition by-hand: not in the manager");
    json_decref(s);
    ASSERT_STREQ(task_state(&f, id), "error"); /* h3 */
    /* Nothing changed: nothing added again. */
    int adds = atomic_load(&f.hosts[0].calls[C_DEF_ADD]);
    ASSERT_EQ(reconcile_round(f.st, f.client, f.port, NULL, 0, NULL, NULL, NULL, NULL), 2);
    ASSERT_EQ(atomic_load(&f.hosts[0].calls[C_DEF_ADD]), adds);
    /* Changed in the manager: replaced; by hand on h1: put back. */
    ASSERT_TRUE(put(&f, INV_ALARMDEF, "hot-dpu",
                    "{\"metric\":\"dse_dpu_cpu_usage_ratio\",\"warning\":0.7}"));
    pthread_mutex_lock(&f.hosts[0].mu);
    json_array_remove(f.hosts[0].defs, 1); /* sw-event */
    pthread_mutex_unlock(&f.hosts[0].mu);
    ASSERT_EQ(reconcile_round(f.st, f.client, f.port, NULL, 0, NULL, NULL, NULL, NULL), 2);
    ASSERT_STREQ(def_names(&f.hosts[0]), "hot-dpu,sw-event");
    pthread_mutex_lock(&f.hosts[1].mu);
    json_t *w = json_object_get(json_array_get(f.hosts[1].defs, 2), "warning");
    ASSERT_TRUE(w && json_real_value(w) == 0.7);
    pthread_mutex_unlock(&f.hosts[1].mu);
    /* The thread remembers what the manager deleted: it goes from the hosts. */
    char path[128], err[ERR_LEN];
    snprintf(path, sizeof path, "%s/store.db", f.dir);
    struct reconcile_params p = {.store_path = path,
                                 .client = f.client,
                                 .interval_ms = 3600 * 1000,
                                 .hostd_port = f.port,
                                 .workers = 2};
    struct reconciler *r = NULL;
    ASSERT_EQ(reconcile_start(&p, &r, err, sizeof err), 0);
    ASSERT_TRUE(new_task(&f, "/dse/v1/alarmdef/hot-dpu", id));
    reconcile_kick(r, id);
    ASSERT_TRUE(wait_for(&f, id, "error")); /* h3 */
    struct store_actor actor = {.who = "test", .from = "test", .what = "test"};
    ASSERT_EQ(inv_delete(f.st, INV_ALARMDEF, "sw-event", STORE_ANY_VERSION, &actor, NULL, err,
                         sizeof err),
              0);
    ASSERT_TRUE(new_task(&f, "/dse/v1/alarmdef/sw-event", id));
    reconcile_kick(r, id);
    ASSERT_TRUE(wait_for(&f, id, "error"));
    ASSERT_STREQ(def_names(&f.hosts[0]), "hot-dpu");
    ASSERT_STREQ(def_names(&f.hosts[1]), "by-hand,hot-dpu");
    reconcile_stop(r);
    fx_fini(&f);
}

/* A switch's teaming reaches its datacenter's hosts once; changed by hand
 * it is put back at the next visit; two switches that differ are drift. */
static void
the_teaming_of_a_switch_reaches_its_hosts(void)
{
    struct fx f;
    ASSERT_TRUE(fx_init(&f));
    ASSERT_TRUE(
        put(&f, INV_SWITCH, "s1",
            "{\"datacenter\":\"dc1\",\"teaming\":{\"failback\":false,\"order\":[\"vmnic1\"]}}"));
    ASSERT_EQ(reconcile_round(f.st, f.client, f.port, NULL, 0, NULL, NULL, NULL, NULL), 2);
    json_t *want = json_pack("{s:b,s:[s]}", "failback", 0, "order", "vmnic1");
    for (int i = 0; i < 2; i++) {
        pthread_mutex_lock(&f.hosts[i].mu);
        ASSERT_TRUE(json_equal(f.hosts[i].teaming, want));
        pthread_mutex_unlock(&f.hosts[i].mu);
    }
    json_t *s = get(&f, "/dse/v1/status/h1");
    ASSERT_TRUE(json_equal(json_object_get(s, "teaming"), want));
    json_decref(s);
    ASSERT_EQ(reconcile_round(f.st, f.client, f.port, NULL, 0, NULL, NULL, NULL, NULL), 2);
    ASSERT_EQ(atomic_load(&f.hosts[0].calls[C_SW_SET]), 1); /* as wanted: not set again */
    pthread_mutex_lock(&f.hosts[0].mu);
    json_object_set_new(f.hosts[0].teaming, "failback", json_true()); /* by hand */
    pthread_mutex_unlock(&f.hosts[0].mu);
    ASSERT_TRUE(
        put(&f, INV_SWITCH, "s2", "{\"datacenter\":\"dc1\",\"teaming\":{\"order\":[\"vmnic0\"]}}"));
    ASSERT_EQ(reconcile_round(f.st, f.client, f.port, NULL, 0, NULL, NULL, NULL, NULL), 2);
    pthread_mutex_lock(&f.hosts[0].mu);
    ASSERT_TRUE(json_equal(f.hosts[0].teaming, want)); /* put back: s1's applies */
    pthread_mutex_unlock(&f.hosts[0].mu);
    s = get(&f, "/dse/v1/status/h2");
    ASSERT_STREQ(json_string_value(json_array_get(json_object_get(s, "drift"), 0)),
                 "teaming: switches s1 and s2 of dc1 differ: s1's applies");
    json_decref(s);
    json_decref(want);
    fx_fini(&f);
}

/* Whether host 'i' of 'f' holds what host h1's policy is now. */
static bool
holds_policy(struct fx *f, int i)
{
    json_t *p = NULL;
    char err[ERR_LEN];
    if (dfw_compile(f->st, "h1", &p, err, sizeof err) < 0)
        return false;
    pthread_mutex_lock(&f->hosts[i].mu);
    bool same = json_is_null(p) ? !f->hosts[i].dfw : json_equal(p, f->hosts[i].dfw);
    pthread_mutex_unlock(&f->hosts[i].mu);
    json_decref(p);
    return same;
}

static int
calls(struct fx *f, int i, int c)
{
    return atomic_load(&f->hosts[i].calls[c]);
}

/* vm1 (tagged web) on h1, group web (by tag), rule app/ssh from it. */
static bool
dfw_objects(struct fx *f)
{
    return put(f, INV_VM, "vm1", "{\"host\":\"h1\",\"tags\":[\"web\"]}") &&
           put(f, INV_VNIC, "vm1/eth0",
               "{\"mac\":\"02:00:00:00:01:01\",\"portgroup\":\"s1/pg1\"}") &&
           put(f, INV_DFWGROUP, "web", "{\"tags\":[\"web\"]}") &&
           put(f, INV_DFWSECTION, "app", "{}") &&
           put(f, INV_DFWRULE, "app/ssh", "{\"src\":[\"web\"],\"action\":\"allow\"}");
}

/* Without a firewall nothing is set; a policy reaches every host, which
 * says it has it (its digest in its status); a visit reads it and does not
 * set it again; the hosts' counters are summed. */
static void
a_firewall_policy_reaches_the_hosts_by_its_digest(void)
{
    struct fx f;
    char err[ERR_LEN];
    ASSERT_TRUE(fx_init(&f));
    struct dfw_stats *stats = dfw_stats_create();
    ASSERT_NOT_NULL(stats);
    ASSERT_EQ(reconcile_round(f.st, f.client, f.port, NULL, 0, NULL, NULL, NULL, stats), 2);
    ASSERT_EQ(calls(&f, 0, C_DFW_SHOW), 1); /* read at the visit */
    ASSERT_EQ(calls(&f, 0, C_DFW_SET), 0);  /* none wanted, none held */
    ASSERT_EQ(calls(&f, 0, C_DFW_STATS), 0);
    ASSERT_TRUE(dfw_objects(&f));
    ASSERT_EQ(reconcile_round(f.st, f.client, f.port, NULL, 0, NULL, NULL, NULL, stats), 2);
    ASSERT_TRUE(holds_policy(&f, 0) && holds_policy(&f, 1));
    ASSERT_EQ(calls(&f, 0, C_DFW_SET), 1);
    json_t *s = get(&f, "/dse/v1/status/h1"), *p = NULL;
    char hex[JSON_DIGEST_HEX];
    ASSERT_EQ(dfw_compile(f.st, "h1", &p, err, sizeof err), 0);
    ASSERT_EQ(json_digest(p, hex), 0);
    json_decref(p);
    ASSERT_STREQ(json_string_value(json_object_get(s, "dfw")), hex);
    json_decref(s);
    /* Counters: collected at the visits of hosts that hold a policy. */
    json_t *c = dfw_stats_json(stats, NULL);
    ASSERT_EQ(json_integer_value(json_object_get(c, "hosts")), 2);
    ASSERT_EQ(json_integer_value(
                  json_object_get(json_array_get(json_object_get(c, "rules"), 0), "packets")),
              40);
    json_decref(c);
    /* A visit of a host that has it: read, not set again. */
    ASSERT_EQ(reconcile_round(f.st, f.client, f.port, NULL, 0, NULL, NULL, NULL, NULL), 2);
    ASSERT_EQ(calls(&f, 0, C_DFW_SET), 1);
    ASSERT_EQ(calls(&f, 0, C_DFW_SHOW), 3);
    dfw_stats_destroy(stats);
    fx_fini(&f);
}

/* The thread keeps the digest each host confirmed: a change that leaves
 * the policy as it was costs no call, one that changes it (a group's
 * member) is set at once; a refusal is the host's drift and its task's
 * error; a policy gone is turned off where it was held. */
static void
the_thread_sets_a_policy_only_when_it_changed(void)
{
    struct fx f;
    char path[128], err[ERR_LEN], id[TASK_ID_LEN];
    ASSERT_TRUE(fx_init(&f));
    ASSERT_TRUE(dfw_objects(&f));
    snprintf(path, sizeof path, "%s/store.db", f.dir);
    struct reconcile_params rp = {.store_path = path,
                                  .client = f.client,
                                  .interval_ms = 3600 * 1000,
                                  .hostd_port = f.port,
                                  .workers = 2};
    struct reconciler *r = NULL;
    ASSERT_EQ(reconcile_start(&rp, &r, err, sizeof err), 0);
    ASSERT_TRUE(new_task(&f, "/dse/v1/dfwrule/app/ssh", id));
    reconcile_kick(r, id);
    ASSERT_TRUE(wait_for(&f, id, "error")); /* h3 */
    int sets = calls(&f, 0, C_DFW_SET), shows = calls(&f, 0, C_DFW_SHOW);
    ASSERT_LE(sets, 2);                                /* once, at most, to learn what it has */
    ASSERT_TRUE(put(&f, INV_DATACENTER, "dc2", "{}")); /* the policy unchanged */
    ASSERT_TRUE(new_task(&f, "/dse/v1/datacenter/dc2", id));
    reconcile_kick(r, id);
    ASSERT_TRUE(wait_for(&f, id, "error"));
    ASSERT_EQ(calls(&f, 0, C_DFW_SET), sets); /* no call */
    ASSERT_EQ(calls(&f, 0, C_DFW_SHOW), shows);
    /* A VM tagged web joins the group: the policy changed, set at once. */
    ASSERT_TRUE(put(&f, INV_VM, "vm2", "{\"host\":\"h1\",\"tags\":[\"web\"]}"));
    ASSERT_TRUE(
        put(&f, INV_VNIC, "vm2/eth0", "{\"mac\":\"02:00:00:00:02:01\",\"portgroup\":\"s1/pg1\"}"));
    pthread_mutex_lock(&f.hosts[1].mu);
    f.hosts[1].dfw_refuses = true;
    pthread_mutex_unlock(&f.hosts[1].mu);
    ASSERT_TRUE(new_task(&f, "/dse/v1/vnic/vm2/eth0", id));
    reconcile_kick(r, id);
    ASSERT_TRUE(wait_for(&f, id, "error"));
    ASSERT_EQ(calls(&f, 0, C_DFW_SET), sets + 1);
    ASSERT_TRUE(holds_policy(&f, 0));
    ASSERT_FALSE(holds_policy(&f, 1));
    json_t *s = get(&f, "/dse/v1/status/h2");
    ASSERT_STREQ(json_string_value(json_array_get(json_object_get(s, "drift"), 0)),
                 "dfw: policy refused: rules[0]: unknown group web");
    json_decref(s);
    json_t *t = task_get(&f, id);
    ASSERT_TRUE(
        json_is_false(json_object_get(json_object_get(json_object_get(t, "results"), "h2"), "ok")));
    json_decref(t);
    /* Everything of the firewall gone: the hosts that held it get null. */
    pthread_mutex_lock(&f.hosts[1].mu);
    f.hosts[1].dfw_refuses = false;
    pthread_mutex_unlock(&f.hosts[1].mu);
    struct store_actor actor = {.who = "test", .from = "test", .what = "test"};
    ASSERT_EQ(
        inv_delete(f.st, INV_DFWRULE, "app/ssh", STORE_ANY_VERSION, &actor, NULL, err, sizeof err),
        0);
    ASSERT_EQ(
        inv_delete(f.st, INV_DFWSECTION, "app", STORE_ANY_VERSION, &actor, NULL, err, sizeof err),
        0);
    ASSERT_EQ(
        inv_delete(f.st, INV_DFWGROUP, "web", STORE_ANY_VERSION, &actor, NULL, err, sizeof err), 0);
    ASSERT_TRUE(new_task(&f, "/dse/v1/dfwgroup/web", id));
    reconcile_kick(r, id);
    ASSERT_TRUE(wait_for(&f, id, "error"));
    pthread_mutex_lock(&f.hosts[0].mu);
    ASSERT_NULL(f.hosts[0].dfw);
    pthread_mutex_unlock(&f.hosts[0].mu);
    ASSERT_TRUE(holds_policy(&f, 1)); /* null: it was refused, then set again */
    reconcile_stop(r);
    fx_fini(&f);
}

TEST_MAIN(TEST(a_round_pushes_what_each_host_lacks),
          TEST(the_thread_pushes_a_change_at_once_to_who_lacks_it),
          TEST(acks_and_the_revocation_list_reach_their_hosts),
          TEST(an_install_is_followed_to_its_end), TEST(alarm_definitions_follow_the_fleets),
          TEST(the_teaming_of_a_switch_reaches_its_hosts),
          TEST(a_firewall_policy_reaches_the_hosts_by_its_digest),
          TEST(the_thread_sets_a_policy_only_when_it_changed))
