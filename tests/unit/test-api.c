/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The manager's REST API (manager/api.h) as a function, over a scratch store
 * and a clock of our own: the first admin, logins and tokens, the inventory
 * with resource versions (409), who may do what (the RBAC matrix), the audit
 * log, bad input (4xx and nothing written), and the login limiter.
 */
#include "tests/unit/check.h"
#include "tests/unit/api-fx.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static uint64_t clock_ms = 1800000000000ull;
static uint64_t
fake_now(void)
{
    return clock_ms;
}

struct fx {
    char dir[64], pwfile[96];
    struct store *st;
    struct api *api;
    struct alarms *alarms;
    char admin[AUTH_TOKEN_LEN];
    int kicks; /* calls of the 'changed' hook */
    struct hostops *hostops;
    struct dfw_stats *dfw_stats;
};

static int
call(struct fx *f, const char *method, const char *path, const char *query, const char *body,
     const char *token)
{
    return api_fx_call(f->api, method, path, query, body, token);
}

/* Logs 'user' in; the token into 'out'.  Returns the status. */
static int
login(struct fx *f, const char *user, const char *password, char out[AUTH_TOKEN_LEN])
{
    char body[256];
    snprintf(body, sizeof body, "{\"user\":\"%s\",\"password\":\"%s\"}", user, password);
    int status = call(f, "POST", "/api/v1/login", NULL, body, NULL);
    if (status == 200 && out)
        snprintf(out, AUTH_TOKEN_LEN, "%s", str("token"));
    return status;
}

static void
kicked(void *aux, const char *task)
{
    ((struct fx *)aux)->kicks++;
}

static bool
fx_init(struct fx *f)
{
    memset(f, 0, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/dse-test-api-XXXXXX");
    if (!mkdtemp(f->dir))
        return false;
    snprintf(f->pwfile, sizeof f->pwfile, "%s/admin-password", f->dir);
    struct api_params p = {.cost = &cheap, .now_ms = fake_now, .changed = kicked, .aux = f};
    if (!(p.alarms = f->alarms = alarms_create()) || !(p.hostops = f->hostops = hostops_create()) ||
        !(p.dfw_stats = f->dfw_stats = dfw_stats_create()))
        return false;
    return api_fx_start(f->dir, f->pwfile, &p, &f->st, &f->api, f->admin);
}

static void
fx_fini(struct fx *f)
{
    api_fx_forget();
    api_destroy(f->api);
    alarms_destroy(f->alarms);
    hostops_destroy(f->hostops);
    dfw_stats_destroy(f->dfw_stats);
    store_close(f->st);
    if (fs_remove_at(AT_FDCWD, f->dir) < 0)
        fprintf(stderr, "cannot remove %s\n", f->dir);
}

static int64_t
revision(struct fx *f)
{
    int64_t rev = -1;
    char err[ERR_LEN];
    store_revision(f->st, &rev, err, sizeof err);
    return rev;
}

/* dc1 > {c1, c2}, s1 > s1/pg-a, by the admin. */
static bool
build(struct fx *f)
{
    static const char *const objs[][2] = {
        {"/api/v1/datacenters", "{\"name\":\"dc1\",\"spec\":{}}"},
        {"/api/v1/clusters", "{\"name\":\"c1\",\"spec\":{\"datacenter\":\"dc1\"}}"},
        {"/api/v1/clusters", "{\"name\":\"c2\",\"spec\":{\"datacenter\":\"dc1\"}}"},
        {"/api/v1/switches", "{\"name\":\"s1\",\"spec\":{\"datacenter\":\"dc1\"}}"},
        {"/api/v1/portgroups", "{\"name\":\"s1/pg-a\",\"spec\":{\"vlan\":10}}"},
    };
    for (size_t i = 0; i < sizeof objs / sizeof objs[0]; i++)
        if (call(f, "POST", objs[i][0], NULL, objs[i][1], f->admin) != 201)
            return fprintf(stderr, "%s: %s\n", objs[i][0], str("message")), false;
    return true;
}

static void
the_first_admin_logs_in_with_a_token(void)
{
    struct fx f;
    ASSERT_TRUE(fx_init(&f));
    struct stat st;
    ASSERT_EQ(stat(f.pwfile, &st), 0);
    ASSERT_EQ(st.st_mode & 0777, 0600);
    char err[ERR_LEN];
    ASSERT_EQ(api_bootstrap_admin(f.api, f.pwfile, err, sizeof err), 0); /* once only */
    ASSERT_EQ(strncmp(f.admin, "dse_", 4), 0);
    ASSERT_EQ(call(&f, "GET", "/api/v1/hosts", NULL, NULL, f.admin), 200);
    ASSERT_EQ(call(&f, "GET", "/api/v1/hosts", NULL, NULL, NULL), 401);
    ASSERT_STREQ(str("code"), "unauthenticated");
    ASSERT_EQ(call(&f, "GET", "/api/v1/hosts", NULL, NULL, "dse_nope"), 401);
    ASSERT_EQ(login(&f, "admin", "not the password", NULL), 401);
    ASSERT_STREQ(str("message"), "wrong user or password");
    ASSERT_EQ(login(&f, "nobody", "not the password", NULL), 401);
    ASSERT_STREQ(str("message"), "wrong user or password"); /* the same: no user listing */
    /* A token expires. */
    clock_ms += API_TOKEN_TTL_MS;
    ASSERT_EQ(call(&f, "GET", "/api/v1/hosts", NULL, NULL, f.admin), 401);
    fx_fini(&f);
}

static void
objects_carry_versions_and_conflicts_are_409(void)
{
    struct fx f;
    ASSERT_TRUE(fx_init(&f));
    ASSERT_TRUE(build(&f));
    ASSERT_EQ(call(&f, "GET", "/api/v1/portgroups/s1/pg-a", NULL, NULL, f.admin), 200);
    ASSERT_STREQ(str("kind"), "portgroup");
    ASSERT_STREQ(str("name"), "s1/pg-a");
    int64_t rv = json_integer_value(json_object_get(last.body, "resource_version"));
    char body[128];
    snprintf(body, sizeof body, "{\"spec\":{\"vlan\":11},\"resource_version\":%lld}",
             (long long)rv);
    ASSERT_EQ(call(&f, "PUT", "/api/v1/portgroups/s1/pg-a", NULL, body, f.admin), 200);
    ASSERT_GT(json_integer_value(json_object_get(last.body, "resource_version")), rv);
    int64_t before = revision(&f);
    ASSERT_EQ(call(&f, "PUT", "/api/v1/portgroups/s1/pg-a", NULL, body, f.admin), 409);
    ASSERT_STREQ(str("code"), "conflict");
    ASSERT_EQ(call(&f, "POST", "/api/v1/portgroups", NULL,
                   "{\"name\":\"s1/pg-a\",\"spec\":{\"vlan\":12}}", f.admin),
              409);
    ASSERT_EQ(call(&f, "DELETE", "/api/v1/switches/s1", NULL, NULL, f.admin), 409);
    ASSERT_STREQ(str("code"), "not-empty");
    char q[64];
    snprintf(q, sizeof q, "resource_version=%lld", (long long)rv);
    ASSERT_EQ(call(&f, "DELETE", "/api/v1/portgroups/s1/pg-a", q, NULL, f.admin), 409);
    ASSERT_EQ(revision(&f), before); /* none of these wrote */
    ASSERT_EQ(call(&f, "DELETE", "/api/v1/portgroups/s1/pg-a", NULL, NULL, f.admin), 200);
    ASSERT_EQ(call(&f, "GET", "/api/v1/portgroups/s1/pg-a", NULL, NULL, f.admin), 404);
    ASSERT_STREQ(str("code"), "not-found");
    fx_fini(&f);
}

/* Adds user 'name' with 'grants' (JSON) as the admin. */
static bool
add_user(struct fx *f, const char *name, const char *grants)
{
    char body[512];
    snprintf(body, sizeof body, "{\"name\":\"%s\",\"password\":\"password-of-%s\",\"grants\":%s}",
             name, name, grants);
    return call(f, "POST", "/api/v1/users", NULL, body, f->admin) == 201;
}

static void
who_may_do_what(void)
{
    struct fx f;
    ASSERT_TRUE(fx_init(&f));
    ASSERT_TRUE(build(&f));
    ASSERT_TRUE(add_user(&f, "ro", "[{\"object\":\"/dse/v1/\",\"role\":\"read-only\"}]"));
    ASSERT_TRUE(add_user(&f, "op", "[{\"object\":\"/dse/v1/cluster/c1\",\"role\":\"operator\"}]"));
    ASSERT_TRUE(add_user(&f, "nobody", "[]"));
    char ro[AUTH_TOKEN_LEN], op[AUTH_TOKEN_LEN], nobody[AUTH_TOKEN_LEN];
    ASSERT_EQ(login(&f, "ro", "password-of-ro", ro), 200);
    ASSERT_EQ(login(&f, "op", "password-of-op", op), 200);
    ASSERT_EQ(login(&f, "nobody", "password-of-nobody", nobody), 200);
    const char *h1 = "{\"name\":\"h1\",\"spec\":{\"cluster\":\"c1\"}}";
    const char *h2 = "{\"name\":\"h2\",\"spec\":{\"cluster\":\"c2\"}}";
    ASSERT_EQ(call(&f, "POST", "/api/v1/hosts", NULL, h1, ro), 403);
    ASSERT_STREQ(str("code"), "forbidden");
    ASSERT_EQ(call(&f, "POST", "/api/v1/hosts", NULL, h1, op), 201);
    ASSERT_EQ(call(&f, "POST", "/api/v1/hosts", NULL, h2, op), 403);
    ASSERT_EQ(call(&f, "POST", "/api/v1/hosts", NULL, h2, f.admin), 201);
    /* op may not move h1 out of reach, nor touch h2. */
    char body[128];
    ASSERT_EQ(call(&f, "GET", "/api/v1/hosts/h1", NULL, NULL, op), 200);
    snprintf(body, sizeof body, "{\"spec\":{\"cluster\":\"c2\"},\"resource_version\":%lld}",
             (long long)json_integer_value(json_object_get(last.body, "resource_version")));
    ASSERT_EQ(call(&f, "PUT", "/api/v1/hosts/h1", NULL, body, op), 403);
    ASSERT_EQ(call(&f, "GET", "/api/v1/hosts/h2", NULL, NULL, op), 403);
    /* Lists show what each may read. */
    ASSERT_EQ(call(&f, "GET", "/api/v1/hosts", NULL, NULL, ro), 200);
    ASSERT_EQ(json_array_size(json_object_get(last.body, "items")), 2);
    ASSERT_EQ(call(&f, "GET", "/api/v1/hosts", NULL, NULL, op), 200);
    ASSERT_EQ(json_array_size(json_object_get(last.body, "items")), 1);
    ASSERT_EQ(call(&f, "GET", "/api/v1/hosts", NULL, NULL, nobody), 200);
    ASSERT_EQ(json_array_size(json_object_get(last.body, "items")), 0);
    /* Users and the audit log: the root's admins only. */
    const char *const tokens[] = {ro, op, nobody};
    for (int i = 0; i < 3; i++) {
        ASSERT_EQ(call(&f, "GET", "/api/v1/users", NULL, NULL, tokens[i]), 403);
        ASSERT_EQ(call(&f, "GET", "/api/v1/audit", NULL, NULL, tokens[i]), 403);
        ASSERT_EQ(call(&f, "POST", "/api/v1/users", NULL,
                       "{\"name\":\"x\",\"password\":\"0123456789\",\"grants\":[]}", tokens[i]),
                  403);
    }
    ASSERT_EQ(call(&f, "GET", "/api/v1/users", NULL, NULL, f.admin), 200);
    ASSERT_EQ(json_array_size(json_object_get(last.body, "items")), 4);
    fx_fini(&f);
}

static void
every_change_is_in_the_audit_log(void)
{
    struct fx f;
    ASSERT_TRUE(fx_init(&f));
    ASSERT_TRUE(build(&f));
    ASSERT_EQ(call(&f, "GET", "/api/v1/portgroups/s1/pg-a", NULL, NULL, f.admin), 200);
    char body[128];
    snprintf(body, sizeof body, "{\"spec\":{\"vlan\":30},\"resource_version\":%lld}",
             (long long)json_integer_value(json_object_get(last.body, "resource_version")));
    ASSERT_EQ(call(&f, "PUT", "/api/v1/portgroups/s1/pg-a", NULL, body, f.admin), 200);
    ASSERT_EQ(call(&f, "GET", "/api/v1/audit", "prefix=%2Fdse%2Fv1%2Fportgroup%2F", NULL, f.admin),
              200);
    json_t *items = json_object_get(last.body, "items");
    ASSERT_EQ(json_array_size(items), 2);
    json_t *e = json_array_get(items, 1);
    ASSERT_STREQ(json_string_value(json_object_get(e, "who")), "admin");
    ASSERT_STREQ(json_string_value(json_object_get(e, "from")), "198.19.0.50:40000");
    ASSERT_STREQ(json_string_value(json_object_get(e, "what")), "portgroup.update");
    ASSERT_EQ(json_integer_value(json_object_get(json_object_get(e, "before"), "vlan")), 10);
    ASSERT_EQ(json_integer_value(json_object_get(json_object_get(e, "after"), "vlan")), 30);
    /* A user's entry hides the password hash. */
    ASSERT_TRUE(add_user(&f, "ro", "[]"));
    ASSERT_EQ(call(&f, "GET", "/api/v1/audit", "prefix=/dse/v1/user/ro", NULL, f.admin), 200);
    e = json_array_get(json_object_get(last.body, "items"), 0);
    ASSERT_STREQ(json_string_value(json_object_get(json_object_get(e, "after"), "password")),
                 "(hidden)");
    fx_fini(&f);
}

static void
bad_input_gets_4xx_and_writes_nothing(void)
{
    struct fx f;
    ASSERT_TRUE(fx_init(&f));
    ASSERT_TRUE(build(&f));
    int64_t before = revision(&f);
    static const struct {
        const char *method, *path, *query, *body;
        int status;
        const char *code;
    } bad[] = {
        {"POST", "/api/v1/portgroups", NULL, "{\"name\":", 400, "bad-request"},
        {"POST", "/api/v1/portgroups", NULL, "[1]", 400, "bad-request"},
        {"POST", "/api/v1/portgroups", NULL, "{\"name\":\"s1/x\"}", 400, "bad-request"},
        {"POST", "/api/v1/portgroups", NULL, "{\"name\":\"s1/x\",\"spec\":{\"vlan\":9999}}", 400,
         "bad-request"},
        {"POST", "/api/v1/portgroups", NULL, "{\"name\":\"s1/x\",\"spec\":{\"vlna\":1}}", 400,
         "bad-request"},
        {"POST", "/api/v1/portgroups", NULL, "{\"name\":\"../x\",\"spec\":{\"vlan\":1}}", 400,
         "bad-request"},
        {"POST", "/api/v1/portgroups", NULL, "{\"name\":\"s9/x\",\"spec\":{\"vlan\":1}}", 404,
         "not-found"},
        {"PUT", "/api/v1/portgroups/s1/pg-a", NULL, "{\"spec\":{\"vlan\":1}}", 400, "bad-request"},
        {"PUT", "/api/v1/portgroups/s1/pg-a", NULL,
         "{\"spec\":{\"vlan\":1},\"resource_version\":0}", 400, "bad-request"},
        {"GET", "/api/v1/portgroups", "limit=0", NULL, 400, "bad-request"},
        {"GET", "/api/v1/portgroups", "limit=abc", NULL, 400, "bad-request"},
        {"GET", "/api/v1/portgroups", "after=%00", NULL, 400, "bad-request"},
        {"DELETE", "/api/v1/portgroups/s1/pg-a", "resource_version=-5", NULL, 400, "bad-request"},
        {"PATCH", "/api/v1/portgroups/s1/pg-a", NULL, NULL, 405, "method-not-allowed"},
        {"POST", "/api/v1/portgroups/s1/pg-a", NULL, "{}", 405, "method-not-allowed"},
        {"GET", "/api/v1/nothing", NULL, NULL, 404, "not-found"},
        {"GET", "/elsewhere", NULL, NULL, 404, "not-found"},
        {"GET", "/api/v1/login", NULL, NULL, 405, "method-not-allowed"},
        {"POST", "/api/v1/users", NULL, "{\"name\":\"u\",\"password\":\"short\"}", 400,
         "bad-request"},
        {"POST", "/api/v1/users", NULL,
         "{\"name\":\"u\",\"password\":\"0123456789\",\"grants\":[{\"object\":\"/x\","
         "\"role\":\"admin\"}]}",
         400, "bad-request"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int status = call(&f, bad[i].method, bad[i].path, bad[i].query, bad[i].body, f.admin);
        if (status != bad[i].status)
            fprintf(stderr, "case %zu: %s\n", i, str("message"));
        ASSERT_EQ(status, bad[i].status);
        ASSERT_STREQ(str("code"), bad[i].code);
        ASSERT_TRUE(str("message") && str("message")[0] && !strchr(str("message"), '\n'));
    }
    ASSERT_EQ(revision(&f), before);
    fx_fini(&f);
}

/* What hosts h1 (cluster c1) and h2 (c2) reported: a red DPU alarm each,
 * and an event each. */
static void
report(struct fx *f)
{
    const char *hosts[] = {"h1", "h2"};
    for (int i = 0; i < 2; i++) {
        json_t *l = json_pack("[{s:s,s:s,s:s,s:s}]", "id", "dpu-temperature@dpu1/temp1", "def",
                              "dpu-temperature", "object", "dpu1/temp1", "state", "red");
        json_t *e = json_pack("[{s:i,s:s,s:s,s:I}]", "seq", 1, "type", "alarm.red", "object",
                              "dpu1/temp1", "time_ms", (json_int_t)(clock_ms + i));
        alarms_set_host(f->alarms, hosts[i], l, clock_ms);
        alarms_add_events(f->alarms, hosts[i], e, 1);
        json_decref(l);
        json_decref(e);
    }
}

static void
alarms_and_events_are_their_hosts(void)
{
    struct fx f;
    ASSERT_TRUE(fx_init(&f));
    ASSERT_TRUE(build(&f));
    ASSERT_EQ(call(&f, "POST", "/api/v1/hosts", NULL,
                   "{\"name\":\"h1\",\"spec\":{\"cluster\":\"c1\",\"address\":\"198.19.0.11\"}}",
                   f.admin),
              201);
    ASSERT_EQ(call(&f, "POST", "/api/v1/hosts", NULL,
                   "{\"name\":\"h2\",\"spec\":{\"cluster\":\"c2\"}}", f.admin),
              201);
    report(&f);
    ASSERT_TRUE(
        add_user(&f, "ro1", "[{\"object\":\"/dse/v1/cluster/c1\",\"role\":\"read-only\"}]"));
    ASSERT_TRUE(add_user(&f, "op1", "[{\"object\":\"/dse/v1/cluster/c1\",\"role\":\"operator\"}]"));
    char ro[AUTH_TOKEN_LEN], op[AUTH_TOKEN_LEN];
    ASSERT_EQ(login(&f, "ro1", "password-of-ro1", ro), 200);
    ASSERT_EQ(login(&f, "op1", "password-of-op1", op), 200);
    ASSERT_EQ(call(&f, "GET", "/api/v1/alarms", NULL, NULL, f.admin), 200);
    json_t *items = json_object_get(last.body, "items");
    ASSERT_EQ(json_array_size(items), 2);
    ASSERT_STREQ(json_string_value(json_object_get(json_array_get(items, 0), "dpu")), "dpu1");
    ASSERT_EQ(call(&f, "GET", "/api/v1/alarms", NULL, NULL, ro), 200); /* h1's only */
    ASSERT_EQ(json_array_size(json_object_get(last.body, "items")), 1);
    ASSERT_EQ(call(&f, "GET", "/api/v1/alarms", "host=h2", NULL, ro), 403);
    ASSERT_EQ(call(&f, "GET", "/api/v1/alarms", "host=h9", NULL, f.admin), 404);
    ASSERT_EQ(call(&f, "GET", "/api/v1/alarms", "severity=yellow&state=all", NULL, f.admin), 200);
    ASSERT_EQ(json_array_size(json_object_get(last.body, "items")), 0);
    ASSERT_EQ(call(&f, "GET", "/api/v1/alarms", "state=gone", NULL, f.admin), 400);
    ASSERT_EQ(call(&f, "GET", "/api/v1/events", "object=h1%2Fdpu1", NULL, f.admin), 200);
    ASSERT_EQ(json_array_size(json_object_get(last.body, "items")), 1);
    ASSERT_EQ(call(&f, "GET", "/api/v1/events", "type=alarm.&limit=1", NULL, f.admin), 200);
    ASSERT_TRUE(json_is_true(json_object_get(last.body, "more")));
    ASSERT_EQ(call(&f, "GET", "/api/v1/events", NULL, NULL, ro), 200);
    ASSERT_EQ(json_array_size(json_object_get(last.body, "items")), 1);
    ASSERT_EQ(call(&f, "GET", "/api/v1/events", "object=h2", NULL, ro), 403);
    ASSERT_EQ(call(&f, "GET", "/api/v1/events", "limit=0", NULL, f.admin), 400);
    /* An ack: operate on the host; a task for the reconciler, at once. */
    const char *ack = "/api/v1/alarms/h1/dpu-temperature%40dpu1%2Ftemp1/ack";
    ASSERT_EQ(call(&f, "POST", ack, NULL, NULL, ro), 403);
    int64_t before = revision(&f);
    int kicks = f.kicks;
    ASSERT_EQ(call(&f, "POST", ack, NULL, NULL, op), 202);
    ASSERT_STREQ(str("alarm"), "dpu-temperature@dpu1/temp1");
    ASSERT_EQ(f.kicks, kicks + 1);
    char task[64];
    snprintf(task, sizeof task, "/api/v1/tasks/%s", str("task"));
    ASSERT_EQ(atoll(str("task")), before + 1);
    ASSERT_EQ(call(&f, "GET", task, NULL, NULL, ro), 200);
    ASSERT_STREQ(str("kind"), "alarm.ack");
    ASSERT_STREQ(str("state"), "queued");
    ASSERT_STREQ(str("started_by"), "op1");
    ASSERT_EQ(call(&f, "POST", "/api/v1/alarms/h1/dpu-temperature@dpu1/temp1/ack", NULL, NULL, op),
              202); /* the id unencoded works too */
    ASSERT_EQ(call(&f, "POST", "/api/v1/alarms/h2/dpu-temperature@dpu1/temp1/ack", NULL, NULL, op),
              403);
    ASSERT_EQ(call(&f, "POST", "/api/v1/alarms/h1/nothing@host/ack", NULL, NULL, op), 404);
    ASSERT_EQ(call(&f, "POST", "/api/v1/alarms/h1/ack", NULL, NULL, op), 404);
    ASSERT_EQ(call(&f, "POST", "/api/v1/alarms/h1/%zz/ack", NULL, NULL, op), 400);
    fx_fini(&f);
}

/* POST {"items": [...]}: many objects in one transaction and one task; a
 * refused item refuses them all. */
static void
many_objects_are_created_at_once_or_not_at_all(void)
{
    struct fx f;
    char body[4096];
    ASSERT_TRUE(fx_init(&f));
    ASSERT_TRUE(build(&f));
    int64_t before = revision(&f);
    ASSERT_EQ(call(&f, "POST", "/api/v1/hosts", NULL,
                   "{\"items\":[{\"name\":\"h1\",\"spec\":{\"cluster\":\"c1\","
                   "\"address\":\"198.19.0.11\"}},{\"name\":\"h2\",\"spec\":{\"cluster\":"
                   "\"c2\"}}]}",
                   f.admin),
              201);
    ASSERT_EQ(json_array_size(json_object_get(last.body, "items")), 2);
    ASSERT_STREQ(json_string_value(json_object_get(
                     json_array_get(json_object_get(last.body, "items"), 1), "name")),
                 "h2");
    ASSERT_TRUE(str("task") != NULL);
    ASSERT_EQ(revision(&f), before + 2); /* one change, one task */
    ASSERT_EQ(call(&f, "GET", "/api/v1/hosts/h1", NULL, NULL, f.admin), 200);
    static const char *const refused[] = {
        "{\"items\":[{\"name\":\"h3\",\"spec\":{\"cluster\":\"c1\"}},{\"name\":\"h1\","
        "\"spec\":{\"cluster\":\"c1\"}}]}", /* h1 exists */
        "{\"items\":[{\"name\":\"h3\",\"spec\":{\"cluster\":\"c1\"}},{\"name\":\"h4\","
        "\"spec\":{\"cluster\":\"c9\"}}]}", /* no cluster c9 */
        "{\"items\":[{\"name\":\"h3\",\"spec\":{\"cluster\":\"c1\"}},{\"name\":\"h3\","
        "\"spec\":{\"cluster\":\"c1\"}}]}", /* twice */
        "{\"items\":[{\"name\":\"h3\",\"spec\":{\"clustre\":\"c1\"}}]}",
        "{\"items\":[]}",
    };
    before = revision(&f);
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        int status = call(&f, "POST", "/api/v1/hosts", NULL, refused[i], f.admin);
        ASSERT_TRUE(status == 400 || status == 404 || status == 409);
        ASSERT_TRUE(str("message") && !strchr(str("message"), '\n'));
    }
    ASSERT_EQ(call(&f, "GET", "/api/v1/hosts/h3", NULL, NULL, f.admin), 404);
    int n = snprintf(body, sizeof body, "{\"items\":[");
    for (int i = 0; i <= API_BULK_MAX; i++)
        n += snprintf(body + n, sizeof body - n, "%s{\"name\":\"d%d\",\"spec\":{}}", i ? "," : "",
                      i);
    snprintf(body + n, sizeof body - n, "]}");
    ASSERT_EQ(call(&f, "POST", "/api/v1/datacenters", NULL, body, f.admin), 400);
    ASSERT_EQ(revision(&f), before); /* nothing written */
    ASSERT_TRUE(add_user(&f, "op", "[{\"object\":\"/dse/v1/cluster/c1\",\"role\":\"operator\"}]"));
    char op[AUTH_TOKEN_LEN];
    ASSERT_EQ(login(&f, "op", "password-of-op", op), 200);
    ASSERT_EQ(call(&f, "POST", "/api/v1/hosts", NULL,
                   "{\"items\":[{\"name\":\"h5\",\"spec\":{\"cluster\":\"c1\"}},{\"name\":"
                   "\"h6\",\"spec\":{\"cluster\":\"c2\"}}]}",
                   op),
              403); /* c2 is not the operator's */
    ASSERT_EQ(call(&f, "GET", "/api/v1/hosts/h5", NULL, NULL, f.admin), 404);
    fx_fini(&f);
}

static void
failed_logins_are_slowed_down(void)
{
    struct fx f;
    ASSERT_TRUE(fx_init(&f));
    ASSERT_TRUE(add_user(&f, "eve", "[]"));
    for (int i = 0; i < AUTH_FREE_TRIES; i++)
        ASSERT_EQ(login(&f, "eve", "guess-guess-guess", NULL), 401);
    ASSERT_EQ(login(&f, "eve", "guess-guess-guess", NULL), 401);
    ASSERT_EQ(login(&f, "eve", "password-of-eve", NULL), 429); /* even the right one waits */
    ASSERT_STREQ(str("code"), "too-many-requests");
    clock_ms += AUTH_WAIT_BASE_MS;
    ASSERT_EQ(login(&f, "eve", "password-of-eve", NULL), 200);
    fx_fini(&f);
}

/* The roles a grant gives, for any user to read; alarm definitions for the
 * fleet, checked as hostd checks them, the root's. */
static void
roles_and_the_fleets_alarm_definitions(void)
{
    struct fx f;
    ASSERT_TRUE(fx_init(&f));
    ASSERT_TRUE(build(&f));
    ASSERT_TRUE(add_user(&f, "op1", "[{\"object\":\"/dse/v1/cluster/c1\",\"role\":\"operator\"}]"));
    ASSERT_TRUE(
        add_user(&f, "ro1", "[{\"object\":\"/dse/v1/cluster/c1\",\"role\":\"read-only\"}]"));
    char op[AUTH_TOKEN_LEN], ro[AUTH_TOKEN_LEN];
    ASSERT_EQ(login(&f, "op1", "password-of-op1", op), 200);
    ASSERT_EQ(login(&f, "ro1", "password-of-ro1", ro), 200);
    /* The roles a grant gives: any user reads them. */
    ASSERT_EQ(call(&f, "GET", "/api/v1/roles", NULL, NULL, ro), 200);
    json_t *roles = json_object_get(last.body, "items");
    ASSERT_EQ(json_array_size(roles), 3);
    ASSERT_STREQ(json_string_value(json_object_get(json_array_get(roles, 0), "name")), "read-only");
    ASSERT_EQ(json_array_size(json_object_get(json_array_get(roles, 0), "may")), 1);
    ASSERT_STREQ(
        json_string_value(json_array_get(json_object_get(json_array_get(roles, 2), "may"), 2)),
        "administer");
    ASSERT_EQ(call(&f, "POST", "/api/v1/alarmdefs", NULL,
                   "{\"name\":\"hot\",\"spec\":{\"metric\":\"m\",\"warning\":\"x\"}}", f.admin),
              400);
    ASSERT_TRUE(strstr(str("message"), "alarmdef: ") && strstr(str("message"), "warning"));
    ASSERT_EQ(call(&f, "POST", "/api/v1/alarmdefs", NULL,
                   "{\"name\":\"hot\",\"spec\":{\"name\":\"x\",\"event\":\"e\"}}", f.admin),
              400);
    ASSERT_EQ(call(&f, "POST", "/api/v1/alarmdefs", NULL,
                   "{\"name\":\"hot\",\"spec\":{\"metric\":\"m\",\"warning\":0.8}}", op),
              403); /* the root's */
    ASSERT_EQ(call(&f, "POST", "/api/v1/alarmdefs", NULL,
                   "{\"name\":\"hot\",\"spec\":{\"metric\":\"m\",\"warning\":0.8}}", f.admin),
              201);
    ASSERT_TRUE(str("task") != NULL);
    ASSERT_EQ(call(&f, "GET", "/api/v1/alarmdefs/hot", NULL, NULL, ro), 403);
    fx_fini(&f);
}

/* Installs (administer) and failovers (operate) are tasks queued for the
 * reconciler; bad bodies are refused whole; a queued one can be cancelled,
 * a configuration push cannot. */
static void
operations_on_a_host_are_tasks_and_may_be_cancelled(void)
{
    struct fx f;
    char task[TASK_ID_LEN], path[96];
    ASSERT_TRUE(fx_init(&f));
    ASSERT_TRUE(build(&f));
    ASSERT_EQ(call(&f, "POST", "/api/v1/hosts", NULL,
                   "{\"name\":\"h1\",\"spec\":{\"cluster\":\"c1\"}}", f.admin),
              201);
    char push[TASK_ID_LEN];
    snprintf(push, sizeof push, "%s", str("task"));
    ASSERT_TRUE(add_user(&f, "op1", "[{\"object\":\"/dse/v1/cluster/c1\",\"role\":\"operator\"}]"));
    ASSERT_TRUE(
        add_user(&f, "ro1", "[{\"object\":\"/dse/v1/cluster/c1\",\"role\":\"read-only\"}]"));
    char op[AUTH_TOKEN_LEN], ro[AUTH_TOKEN_LEN];
    ASSERT_EQ(login(&f, "op1", "password-of-op1", op), 200);
    ASSERT_EQ(login(&f, "ro1", "password-of-ro1", ro), 200);
    const char *inst = "/api/v1/hosts/h1/software/install";
    static const char *const bad[] = {
        NULL,
        "{}",
        "{\"bundle\":\"relative.dsebundle\"}",
        "{\"bundle\":\"/b\",\"update\":\"yes\"}",
        "{\"bundle\":\"/b\",\"reboot\":true}",
        "{\"bundle\":7}",
    };
    int64_t before = revision(&f);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ASSERT_EQ(call(&f, "POST", inst, NULL, bad[i], f.admin), 400);
        ASSERT_TRUE(str("message") && !strchr(str("message"), '\n'));
    }
    ASSERT_EQ(call(&f, "POST", inst, NULL, "{\"bundle\":\"/b\"}", op), 403); /* administer */
    ASSERT_EQ(
        call(&f, "POST", "/api/v1/hosts/h9/software/install", NULL, "{\"bundle\":\"/b\"}", f.admin),
        404);
    ASSERT_EQ(revision(&f), before); /* nothing written */
    ASSERT_EQ(hostops_pending(f.hostops), 0);
    int kicks = f.kicks;
    ASSERT_EQ(call(&f, "POST", inst, NULL, "{\"bundle\":\"/b\",\"update\":true}", f.admin), 202);
    ASSERT_STREQ(str("kind"), "software.install");
    ASSERT_EQ(f.kicks, kicks + 1);
    snprintf(task, sizeof task, "%s", str("task"));
    ASSERT_EQ(hostops_pending(f.hostops), 1);
    ASSERT_EQ(call(&f, "POST", "/api/v1/hosts/h1/failover", NULL, "{\"to\":\"dpu2\"}", ro), 403);
    ASSERT_EQ(call(&f, "POST", "/api/v1/hosts/h1/failover", NULL, "{\"to\":\"a b\"}", op), 400);
    ASSERT_EQ(call(&f, "POST", "/api/v1/hosts/h1/failover", NULL, "{\"to\":\"dpu2\"}", op), 202);
    ASSERT_STREQ(str("kind"), "dpu.failover");
    ASSERT_EQ(hostops_pending(f.hostops), 2);
    /* Cancel: operate on its host; once. */
    snprintf(path, sizeof path, "/api/v1/tasks/%s/cancel", task);
    ASSERT_EQ(call(&f, "POST", path, NULL, NULL, ro), 403);
    ASSERT_EQ(call(&f, "POST", path, NULL, NULL, op), 200);
    ASSERT_STREQ(str("state"), "cancelled");
    ASSERT_STREQ(str("kind"), "software.install");
    ASSERT_EQ(hostops_pending(f.hostops), 1);
    ASSERT_EQ(call(&f, "POST", path, NULL, NULL, op), 409);
    snprintf(path, sizeof path, "/api/v1/tasks/%s/cancel", push);
    ASSERT_EQ(call(&f, "POST", path, NULL, NULL, f.admin), 409); /* a change's push */
    ASSERT_EQ(call(&f, "POST", "/api/v1/tasks/12/cancel", NULL, NULL, f.admin), 404);
    ASSERT_EQ(call(&f, "POST", "/api/v1/tasks/00000000000000999999/cancel", NULL, NULL, f.admin),
              404);
    fx_fini(&f);
}

/* The firewall's objects through the generic CRUD (rights on the root),
 * a host's compiled policy (rights on the host), the counters. */
static void
the_firewall_through_the_api(void)
{
    static const char *const objs[][2] = {
        {"/api/v1/hosts", "{\"name\":\"h1\",\"spec\":{\"cluster\":\"c1\"}}"},
        {"/api/v1/vms", "{\"name\":\"vm1\",\"spec\":{\"host\":\"h1\",\"tags\":[\"web\"]}}"},
        {"/api/v1/vnics", "{\"name\":\"vm1/eth0\",\"spec\":{\"mac\":\"02:00:00:00:01:01\","
                          "\"portgroup\":\"s1/pg-a\"}}"},
        {"/api/v1/dfwgroups", "{\"name\":\"web\",\"spec\":{\"tags\":[\"web\"],"
                              "\"cidrs\":[\"198.18.1.0/24\"]}}"},
        {"/api/v1/dfwservices", "{\"name\":\"ssh\",\"spec\":{\"entries\":[{\"proto\":\"tcp\","
                                "\"ports\":[\"22\"]}]}}"},
        {"/api/v1/dfwsections", "{\"name\":\"app\",\"spec\":{\"order\":10}}"},
        {"/api/v1/dfwrules", "{\"name\":\"app/ssh\",\"spec\":{\"src\":[\"web\"],"
                             "\"services\":[\"ssh\"],\"action\":\"allow\",\"log\":true}}"},
    };
    struct fx f;
    char op[AUTH_TOKEN_LEN], ro[AUTH_TOKEN_LEN];
    ASSERT_TRUE(fx_init(&f));
    ASSERT_TRUE(build(&f));
    for (size_t i = 0; i < ARRAY_SIZE(objs); i++)
        ASSERT_EQ(call(&f, "POST", objs[i][0], NULL, objs[i][1], f.admin), 201);
    ASSERT_TRUE(str("task") != NULL); /* pushed to the hosts */
    int64_t rev = revision(&f);
    ASSERT_EQ(call(&f, "POST", "/api/v1/dfwrules", NULL,
                   "{\"name\":\"app/x\",\"spec\":{\"dst\":[\"nope\"],\"action\":\"drop\"}}",
                   f.admin),
              404);
    ASSERT_STREQ(str("message"), "dfwrule: dst: no dfwgroup nope");
    ASSERT_EQ(
        call(&f, "POST", "/api/v1/dfwservices", NULL,
             "{\"name\":\"x\",\"spec\":{\"entries\":[{\"proto\":\"udp\",\"ports\":[\"9-1\"]}]}}",
             f.admin),
        400);
    ASSERT_EQ(call(&f, "DELETE", "/api/v1/dfwgroups/web", NULL, NULL, f.admin), 409);
    ASSERT_STREQ(str("code"), "not-empty");
    ASSERT_EQ(revision(&f), rev);
    ASSERT_TRUE(add_user(&f, "op1", "[{\"object\":\"/dse/v1/cluster/c1\",\"role\":\"operator\"}]"));
    ASSERT_TRUE(
        add_user(&f, "ro1", "[{\"object\":\"/dse/v1/cluster/c1\",\"role\":\"read-only\"}]"));
    ASSERT_EQ(login(&f, "op1", "password-of-op1", op), 200);
    ASSERT_EQ(login(&f, "ro1", "password-of-ro1", ro), 200);
    ASSERT_EQ(call(&f, "POST", "/api/v1/dfwsections", NULL, "{\"name\":\"s\",\"spec\":{}}", op),
              403); /* the root's */
    ASSERT_EQ(call(&f, "GET", "/api/v1/dfwrules/app/ssh", NULL, NULL, ro), 403);
    /* The policy of h1: read on h1 is enough. */
    ASSERT_EQ(call(&f, "GET", "/api/v1/dfw/policy", "host=h1", NULL, ro), 200);
    json_t *rule =
        json_array_get(json_object_get(json_object_get(last.body, "policy"), "rules"), 0);
    ASSERT_STREQ(json_string_value(json_object_get(rule, "name")), "app/ssh");
    ASSERT_EQ(strlen(str("digest")), 64);
    json_t *g = json_array_get(json_object_get(json_object_get(last.body, "policy"), "groups"), 0);
    ASSERT_STREQ(json_string_value(json_array_get(json_object_get(g, "macs"), 0)),
                 "02:00:00:00:01:01");
    ASSERT_EQ(call(&f, "GET", "/api/v1/dfw/policy", NULL, NULL, ro), 400);
    ASSERT_EQ(call(&f, "GET", "/api/v1/dfw/policy", "host=nosuch", NULL, f.admin), 404);
    /* Counters: the fleet's (the root's), a host's once collected. */
    ASSERT_EQ(call(&f, "GET", "/api/v1/dfw/stats", NULL, NULL, ro), 403);
    ASSERT_EQ(call(&f, "GET", "/api/v1/dfw/stats", "host=h1", NULL, ro), 404);
    json_t *reply = json_loads("{\"dpus\":{\"dpu1\":{\"rules\":[{\"name\":\"app/ssh\","
                               "\"packets\":3,\"bytes\":300,\"sessions\":1}],\"conns\":1,"
                               "\"conn_max\":10}}}",
                               0, NULL);
    dfw_stats_record(f.dfw_stats, "h1", reply, 5);
    json_decref(reply);
    ASSERT_EQ(call(&f, "GET", "/api/v1/dfw/stats", "host=h1", NULL, ro), 200);
    ASSERT_EQ(json_integer_value(json_object_get(
                  json_array_get(json_object_get(last.body, "rules"), 0), "packets")),
              3);
    ASSERT_EQ(call(&f, "GET", "/api/v1/dfw/stats", NULL, NULL, f.admin), 200);
    ASSERT_EQ(json_integer_value(json_object_get(last.body, "hosts")), 1);
    fx_fini(&f);
}

TEST_MAIN(TEST(the_first_admin_logs_in_with_a_token),
          TEST(objects_carry_versions_and_conflicts_are_409), TEST(who_may_do_what),
          TEST(every_change_is_in_the_audit_log), TEST(bad_input_gets_4xx_and_writes_nothing),
          TEST(many_objects_are_created_at_once_or_not_at_all), TEST(failed_logins_are_slowed_down),
          TEST(alarms_and_events_are_their_hosts),
          TEST(operations_on_a_host_are_tasks_and_may_be_cancelled),
          TEST(roles_and_the_fleets_alarm_definitions), TEST(the_firewall_through_the_api))
