/* SPDX-License-Identifier: Apache-2.0 */
/* api: the manager's REST API, request in, reply out (api.h). */
#include "manager/api.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/cmdtab.h"
#include "lib/log.h"
#include "lib/util.h"
#include "lib/identity.h"
#include "manager/dfw.h"
#include "manager/inventory.h"
#include "manager/join.h"
#include "manager/rbac.h"
#include "manager/task.h"

LOG_MODULE(api);

#define MAX_GRANTS 64
#define LIMITER_KEYS 4096

struct api {
    struct api_params p;
    struct auth_limiter *limiter;
};

/* Who is calling: a user and the grants they hold (borrowed from 'user'). */
struct caller {
    char name[INV_NAME_MAX + 1];
    json_t *user; /* the user's object */
    struct rbac_grant grants[MAX_GRANTS];
    size_t n_grants;
};

int
api_create(const struct api_params *p, struct api **out)
{
    struct api *a = calloc(1, sizeof *a);
    if (!a || !(a->limiter = auth_limiter_create(LIMITER_KEYS))) {
        free(a);
        return -ENOMEM;
    }
    a->p = *p;
    if (!a->p.now_ms)
        a->p.now_ms = wall_ms;
    if (!a->p.token_ttl_ms)
        a->p.token_ttl_ms = API_TOKEN_TTL_MS;
    *out = a;
    return 0;
}

void
api_destroy(struct api *a)
{
    if (!a)
        return;
    auth_limiter_destroy(a->limiter);
    free(a);
}

/* ---- replies ---- */

static void __attribute__((format(printf, 4, 5)))
fail(struct api_reply *rep, int status, const char *code, const char *fmt, ...)
{
    char msg[ERR_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* One line of ASCII: what the caller sent (a path, a name) may hold
     * anything, and JSON strings are UTF-8. */
    for (char *c = msg; *c; c++)
        if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
            *c = '?';
    json_decref(rep->body);
    rep->status = status;
    rep->body = json_pack("{s:s,s:s}", "code", code, "message", msg);
}

/* The reply for store or inventory error 'rc' with reason 'why'. */
static void
fail_errno(struct api_reply *rep, int rc, const char *why)
{
    switch (rc) {
    case -EINVAL:
        return fail(rep, 400, "bad-request", "%s", why);
    case -ENOENT:
        return fail(rep, 404, "not-found", "%s", why);
    case -EEXIST:
    case -ESTALE:
        return fail(rep, 409, "conflict", "%s", why);
    case -ENOTEMPTY:
        return fail(rep, 409, "not-empty", "%s", why);
    default:
        log_warn("%s", why);
        return fail(rep, 500, "internal", "%s", why);
    }
}

static void
ok(struct api_reply *rep, int status, json_t *body)
{
    rep->status = body ? status : 500;
    rep->body =
        body ? body : json_pack("{s:s,s:s}", "code", "internal", "message", "out of memory");
}

/* ---- query strings ---- */

static int
hexval(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* The 'n' bytes of 's' percent-decoded into 'buf' ('+' as a space when
 * 'plus': a query's).  Returns 0, or -1 (malformed, too long for 'buf', or a
 * NUL in it). */
static int
pct_decode(const char *s, size_t n, bool plus, char *buf, size_t len)
{
    size_t o = 0;
    for (const char *end = s + n; s < end; s++) {
        int c = plus && *s == '+' ? ' ' : (unsigned char)*s;
        if (*s == '%') {
            int hi = end - s > 2 ? hexval(s[1]) : -1, lo = hi < 0 ? -1 : hexval(s[2]);
            if (lo < 0 || (c = hi * 16 + lo) == 0)
                return -1;
            s += 2;
        }
        if (o + 1 >= len)
            return -1;
        buf[o++] = (char)c;
    }
    buf[o] = '\0';
    return 0;
}

/* The value of 'name' in query 'q', percent-decoded into 'buf'.  Returns 1,
 * 0 (absent) or -1 (malformed, too long for 'buf', or a NUL in it). */
static int
query_get(const char *q, const char *name, char *buf, size_t len)
{
    size_t n = strlen(name);
    for (const char *p = q; p && *p; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL) {
        if (strncmp(p, name, n) || p[n] != '=')
            continue;
        return pct_decode(p + n + 1, strcspn(p + n + 1, "&"), true, buf, len) < 0 ? -1 : 1;
    }
    return 0;
}

/* Integer 'name' of query 'q' in [min, max], or 'dflt' when absent.
 * Returns false when present and not such a number. */
static bool
query_int(const char *q, const char *name, int64_t min, int64_t max, int64_t dflt, int64_t *out)
{
    char buf[32], *end;
    *out = dflt;
    int rc = query_get(q, name, buf, sizeof buf);
    if (rc <= 0)
        return rc == 0;
    errno = 0;
    long long v = strtoll(buf, &end, 10);
    if (errno || end == buf || *end || v < min || v > max)
        return false;
    *out = v;
    return true;
}

/* ---- the store, as JSON ---- */

/* Object 'key' as JSON into '*obj' (and its versions into 'kv', when not
 * NULL: the caller's to free).  Returns 0 or the store's error. */
static int
load(struct api *a, const char *key, json_t **obj, struct store_kv *kv, char *err, size_t err_len)
{
    struct store_kv mine = {0};
    struct store_kv *k = kv ? kv : &mine;
    int rc = store_get(a->p.store, key, k, err, err_len);
    *obj = rc == 0 ? json_loads(k->value, 0, NULL) : NULL;
    if (rc == 0 && !*obj)
        rc = err_set(err, err_len, -EIO, "%s: not JSON in the store", key);
    store_kv_fini(&mine);
    return rc;
}

/* One put (or delete, 'value' NULL) committed by 'who' from the request. */
static int
commit_one(struct api *a, const struct api_request *req, const char *who, const char *what,
           const char *key, json_t *value, int64_t expected, int64_t *rev, char *err,
           size_t err_len)
{
    struct store_txn *t = store_txn_begin(a->p.store);
    char *text = value ? json_dumps(value, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    int rc = !t || (value && !text) ? err_set(err, err_len, -ENOMEM, "out of memory") : 0;
    if (rc == 0)
        rc = value ? store_txn_put(t, key, text, expected, err, err_len)
                   : store_txn_delete(t, key, expected, err, err_len);
    free(text);
    if (rc < 0) {
        store_txn_abort(t);
        return rc;
    }
    struct store_actor actor = {.who = who, .from = req->peer, .what = what};
    return store_txn_commit(t, &actor, rev, err, err_len);
}

/* ---- who is calling ---- */

/* Fills 'c' from user object 'user' (taken) named 'name'. */
static void
caller_set(struct caller *c, const char *name, json_t *user)
{
    snprintf(c->name, sizeof c->name, "%s", name);
    c->user = user;
    c->n_grants = 0;
    size_t i;
    json_t *g;
    json_array_foreach (json_object_get(user, "grants"), i, g) {
        enum rbac_role role;
        const char *object = json_string_value(json_object_get(g, "object"));
        if (c->n_grants == MAX_GRANTS || !object ||
            rbac_role_parse(json_string_value(json_object_get(g, "role")), &role) < 0)
            continue;
        c->grants[c->n_grants++] = (struct rbac_grant){c->name, object, role};
    }
}

/* The caller of 'req' from its bearer token, or a 401 in 'rep'. */
static int
authenticate(struct api *a, const struct api_request *req, struct caller *c, struct api_reply *rep)
{
    char id[AUTH_TOKEN_ID_LEN], key[STORE_KEY_MAX], err[ERR_LEN];
    json_t *tok = NULL, *user = NULL;
    if (!req->bearer) {
        fail(rep, 401, "unauthenticated",
             "log in first (POST /api/v1/login), then send "
             "Authorization: Bearer TOKEN");
        return -EACCES;
    }
    if (auth_token_id(req->bearer, id) < 0 ||
        (snprintf(key, sizeof key, "%stoken/%s", STORE_KEY_PREFIX, id),
         load(a, key, &tok, NULL, err, sizeof err)) < 0 ||
        !auth_token_is_valid((uint64_t)json_integer_value(json_object_get(tok, "expires_ms")),
                             a->p.now_ms())) {
        json_decref(tok);
        fail(rep, 401, "unauthenticated", "unknown or expired token: log in again");
        return -EACCES;
    }
    const char *name = json_string_value(json_object_get(tok, "user"));
    snprintf(key, sizeof key, "%suser/%s", STORE_KEY_PREFIX, name ? name : "");
    int rc = name ? load(a, key, &user, NULL, err, sizeof err) : -ENOENT;
    if (rc == 0)
        caller_set(c, name, user);
    json_decref(tok);
    if (rc < 0)
        fail(rep, 401, "unauthenticated", "the token's user is gone");
    return rc < 0 ? -EACCES : 0;
}

static bool
may(struct api *a, const struct caller *c, const char *key, enum rbac_action action)
{
    return rbac_allows(rbac_role_on(c->grants, c->n_grants, c->name, key, inv_parent, a->p.store),
                       action);
}

/* 403 unless 'c' may do 'action' on 'key'. */
static bool
check_may(struct api *a, const struct caller *c, const char *key, enum rbac_action action,
          struct api_reply *rep)
{
    static const char *const verbs[] = {"read", "change", "administer"};
    if (may(a, c, key, action))
        return true;
    fail(rep, 403, "forbidden", "%s may not %s %s", c->name, verbs[action], key);
    return false;
}

/* ---- login, the first admin ---- */

/* The address of 'peer' ("ADDR:PORT") into 'buf' as a limiter key. */
static void
addr_key(const char *peer, char *buf, size_t len)
{
    const char *colon = peer ? strrchr(peer, ':') : NULL;
    int n = colon ? (int)(colon - peer) : (int)strlen(peer ? peer : "");
    snprintf(buf, len, "addr:%.*s", n, peer ? peer : "");
}

/* A PHC string that matches no password, checked for a user that does not
 * exist, so that a login takes as long whether the user exists or not. */
static const char *
decoy_hash(struct api *a)
{
    static char h[AUTH_HASH_LEN];
    char err[ERR_LEN];
    if (!h[0] &&
        auth_password_hash("decoy, never a password", a->p.cost, h, sizeof h, err, sizeof err) < 0)
        h[0] = '\0';
    return h;
}

/* Checks 'user''s 'password' against the store and the limiter.  Returns 0
 * or fills 'rep'. */
static int
check_login(struct api *a, const struct api_request *req, const char *user, const char *password,
            struct api_reply *rep)
{
    char ukey[STORE_KEY_MAX], lu[STORE_KEY_MAX], la[128], err[ERR_LEN];
    snprintf(lu, sizeof lu, "user:%s", user);
    addr_key(req->peer, la, sizeof la);
    uint64_t now = a->p.now_ms(), wu = auth_limiter_wait_ms(a->limiter, lu, now),
             wa = auth_limiter_wait_ms(a->limiter, la, now), wait = wu > wa ? wu : wa;
    if (wait) {
        fail(rep, 429, "too-many-requests", "too many failed logins: try again in %llu s",
             (unsigned long long)(wait + 999) / 1000);
        return -EAGAIN;
    }
    json_t *u = NULL;
    snprintf(ukey, sizeof ukey, "%suser/%s", STORE_KEY_PREFIX, user);
    bool named = name_is_valid(user, INV_NAME_MAX) && load(a, ukey, &u, NULL, err, sizeof err) == 0;
    const char *hash = named ? json_string_value(json_object_get(u, "password")) : NULL;
    int rc = auth_password_verify(hash ? hash : decoy_hash(a), password);
    json_decref(u);
    if (rc == 0 && hash) {
        auth_limiter_succeeded(a->limiter, lu);
        auth_limiter_succeeded(a->limiter, la);
        return 0;
    }
    auth_limiter_failed(a->limiter, lu, now);
    auth_limiter_failed(a->limiter, la, now);
    log_warn("login of %.64s from %s refused", user, req->peer ? req->peer : "?");
    fail(rep, 401, "unauthenticated", "wrong user or password");
    return -EACCES;
}

static void
do_login(struct api *a, const struct api_request *req, json_t *body, struct api_reply *rep)
{
    const char *user = json_string_value(json_object_get(body, "user"));
    const char *password = json_string_value(json_object_get(body, "password"));
    if (!user || !password)
        return fail(rep, 400, "bad-request", "login wants {\"user\", \"password\"}");
    if (check_login(a, req, user, password, rep) < 0)
        return;
    char token[AUTH_TOKEN_LEN], id[AUTH_TOKEN_ID_LEN], key[STORE_KEY_MAX], err[ERR_LEN];
    if (auth_token_new(token, id) < 0)
        return fail(rep, 500, "internal", "no randomness for a token");
    uint64_t expires = a->p.now_ms() + a->p.token_ttl_ms;
    snprintf(key, sizeof key, "%stoken/%s", STORE_KEY_PREFIX, id);
    json_t *t = json_pack("{s:s,s:I}", "user", user, "expires_ms", (json_int_t)expires);
    int rc = commit_one(a, req, user, "login", key, t, STORE_MUST_NOT_EXIST, NULL, err, sizeof err);
    json_decref(t);
    if (rc < 0)
        return fail_errno(rep, rc, err);
    ok(rep, 200, json_pack("{s:s,s:I}", "token", token, "expires_ms", (json_int_t)expires));
}

int
api_bootstrap_admin(struct api *a, const char *path, char *err, size_t err_len)
{
    struct store_list l = {0};
    char prefix[64], pw[33], hash[AUTH_HASH_LEN];
    snprintf(prefix, sizeof prefix, "%suser/", STORE_KEY_PREFIX);
    int rc = store_list(a->p.store, prefix, NULL, 1, &l, err, err_len);
    size_t n = l.n_kvs;
    store_list_fini(&l);
    if (rc < 0 || n)
        return rc < 0 ? rc : 0;
    uint8_t r[16];
    if (RAND_bytes(r, sizeof r) != 1)
        return err_set(err, err_len, -EIO, "no randomness for a password");
    for (int i = 0; i < 16; i++)
        snprintf(pw + 2 * i, 3, "%02x", r[i]);
    if ((rc = auth_password_hash(pw, a->p.cost, hash, sizeof hash, err, err_len)) < 0)
        return rc;
    char line[40];
    int len = snprintf(line, sizeof line, "%s\n", pw);
    if ((rc = fs_write_atomic_mode(path, line, (size_t)len, 0600)) < 0)
        return err_set(err, err_len, rc, "%s: %s", path, strerror(-rc));
    json_t *u = json_pack("{s:s,s:[{s:s,s:s}]}", "password", hash, "grants", "object", INV_ROOT,
                          "role", "admin");
    struct api_request req = {.peer = "dse-manager"};
    rc = commit_one(a, &req, "dse-manager", "user.bootstrap", "/dse/v1/user/admin", u,
                    STORE_MUST_NOT_EXIST, NULL, err, err_len);
    json_decref(u);
    return rc < 0 ? rc : 1;
}

/* ---- inventory ---- */

static const char *const plurals[INV__N] = {
    [INV_DATACENTER] = "datacenters",
    [INV_CLUSTER] = "clusters",
    [INV_HOST] = "hosts",
    [INV_DPU] = "dpus",
    [INV_SWITCH] = "switches",
    [INV_PORTGROUP] = "portgroups",
    [INV_VM] = "vms",
    [INV_VNIC] = "vnics",
    [INV_ALARMDEF] = "alarmdefs",
    [INV_DFWGROUP] = "dfwgroups",
    [INV_DFWSERVICE] = "dfwservices",
    [INV_DFWSECTION] = "dfwsections",
    [INV_DFWRULE] = "dfwrules",
};

/* OBJ (api.h) of 'kv', an object of kind 'k' under 'prefix'. */
static json_t *
obj_json(enum inv_kind k, const char *prefix, const struct store_kv *kv)
{
    json_t *spec = json_loads(kv->value, 0, NULL);
    return json_pack("{s:s,s:s,s:o?,s:I,s:I}", "kind", inv_kind_name(k), "name",
                     kv->key + strlen(prefix), "spec", spec, "resource_version",
                     (json_int_t)kv->mod_revision, "create_revision",
                     (json_int_t)kv->create_revision);
}

static void
inv_list(struct api *a, const struct caller *c, enum inv_kind k, const char *query,
         struct api_reply *rep)
{
    char prefix[64], after[STORE_KEY_MAX] = "", name[STORE_KEY_MAX - 64], err[ERR_LEN];
    int64_t limit;
    snprintf(prefix, sizeof prefix, "%s%s/", STORE_KEY_PREFIX, inv_kind_name(k));
    int has_after = query_get(query, "after", name, sizeof name);
    if (has_after < 0 || !query_int(query, "limit", 1, API_LIST_LIMIT, API_LIST_LIMIT, &limit))
        return fail(rep, 400, "bad-request", "after=NAME, limit=1..%d", API_LIST_LIMIT);
    if (has_after)
        snprintf(after, sizeof after, "%s%s", prefix, name);
    struct store_list l = {0};
    int rc = store_list(a->p.store, prefix, after, (size_t)limit, &l, err, sizeof err);
    if (rc < 0)
        return fail_errno(rep, rc, err);
    json_t *items = json_array();
    for (size_t i = 0; i < l.n_kvs; i++)
        if (may(a, c, l.kvs[i].key, RBAC_READ))
            json_array_append_new(items, obj_json(k, prefix, &l.kvs[i]));
    json_t *body = json_pack("{s:o}", "items", items);
    if (body && l.more && l.n_kvs)
        json_object_set_new(body, "next", json_string(l.kvs[l.n_kvs - 1].key + strlen(prefix)));
    store_list_fini(&l);
    ok(rep, 200, body);
}

static void
inv_get(struct api *a, const struct caller *c, enum inv_kind k, const char *name,
        struct api_reply *rep)
{
    char key[STORE_KEY_MAX], prefix[64], err[ERR_LEN];
    int rc = inv_key(k, name, key, sizeof key, err, sizeof err);
    if (rc < 0)
        return fail_errno(rep, rc, err);
    if (!check_may(a, c, key, RBAC_READ, rep))
        return;
    struct store_kv kv = {0};
    if ((rc = store_get(a->p.store, key, &kv, err, sizeof err)) < 0)
        return fail_errno(rep, rc, err);
    snprintf(prefix, sizeof prefix, "%s%s/", STORE_KEY_PREFIX, inv_kind_name(k));
    ok(rep, 200, obj_json(k, prefix, &kv));
    store_kv_fini(&kv);
}

/* Object 'name' of 'k' as stored now (OBJ), or NULL with the store's
 * error in '*rc' and 'err'. */
static json_t *
stored_obj(struct api *a, enum inv_kind k, const char *name, int *rc, char *err, size_t err_len)
{
    char key[STORE_KEY_MAX], prefix[64];
    struct store_kv kv = {0};
    inv_key(k, name, key, sizeof key, NULL, 0);
    snprintf(prefix, sizeof prefix, "%s%s/", STORE_KEY_PREFIX, inv_kind_name(k));
    *rc = store_get(a->p.store, key, &kv, err, err_len);
    json_t *o = *rc == 0 ? obj_json(k, prefix, &kv) : NULL;
    store_kv_fini(&kv);
    return o;
}

/* Replies with object 'name' of 'k' as stored now, with 'status'. */
static void
reply_obj(struct api *a, enum inv_kind k, const char *name, int status, struct api_reply *rep)
{
    char err[ERR_LEN];
    int rc;
    json_t *o = stored_obj(a, k, name, &rc, err, sizeof err);
    if (rc < 0)
        fail_errno(rep, rc, err);
    else
        ok(rep, status, o);
}

/* After a change at revision 'rev' of 'key': the task that pushes it to
 * the hosts, named in the reply, and the hook that starts it.  A task that
 * cannot be recorded only goes unrecorded: the change stands. */
static void
push_task(struct api *a, const struct store_actor *actor, const char *key, int64_t rev,
          struct api_reply *rep)
{
    char id[TASK_ID_LEN], err[ERR_LEN];
    struct store_actor ta = *actor;
    ta.what = "task.create";
    if (task_create(a->p.store, "config.push", key, rev, &ta, id, err, sizeof err) < 0) {
        log_warn("task of %s: %s", key, err);
        id[0] = '\0';
    } else if (json_is_object(rep->body)) {
        json_object_set_new(rep->body, "task", json_string(id));
    }
    if (a->p.changed)
        a->p.changed(a->p.aux, id[0] ? id : NULL);
}

/* The items of a bulk create into 'names' and 'specs', each checked and
 * allowed to 'c'.  Returns their number, or 0 with 'rep' filled. */
static size_t
bulk_items(struct api *a, const struct caller *c, enum inv_kind k, json_t *items,
           const char **names, json_t **specs, struct api_reply *rep)
{
    char up[STORE_KEY_MAX], key[STORE_KEY_MAX], err[ERR_LEN];
    size_t n = json_array_size(items), i;
    json_t *it;
    if (!json_is_array(items) || n < 1 || n > API_BULK_MAX) {
        fail(rep, 400, "bad-request", "items: 1 to %d of {\"name\", \"spec\"}", API_BULK_MAX);
        return 0;
    }
    json_array_foreach (items, i, it) {
        names[i] = json_string_value(json_object_get(it, "name"));
        specs[i] = json_object_get(it, "spec");
        int rc = -EINVAL;
        if (!names[i] || !json_is_object(specs[i]) || json_object_size(it) != 2)
            snprintf(err, sizeof err, "items[%zu]: {\"name\", \"spec\"}", i);
        else if ((rc = inv_key(k, names[i], key, sizeof key, err, sizeof err)) == 0)
            rc = inv_validate(k, specs[i], err, sizeof err);
        if (rc < 0) {
            fail_errno(rep, rc, err);
            return 0;
        }
        if (!check_may(a, c, inv_parent_of_new(k, names[i], specs[i], up, sizeof up), RBAC_OPERATE,
                       rep))
            return 0;
    }
    return n;
}

/* POST {"items": [{"name", "spec"}...]}: up to API_BULK_MAX objects of 'k'
 * in one transaction (all or none) and one task, named by the first. */
static void
inv_bulk(struct api *a, const struct api_request *req, const struct caller *c, enum inv_kind k,
         json_t *items, struct api_reply *rep)
{
    const char *names[API_BULK_MAX];
    json_t *specs[API_BULK_MAX];
    char key[STORE_KEY_MAX], err[ERR_LEN], what[64];
    size_t n = bulk_items(a, c, k, items, names, specs, rep);
    if (!n)
        return;
    snprintf(what, sizeof what, "%s.create", inv_kind_name(k));
    struct store_actor actor = {.who = c->name, .from = req->peer, .what = what};
    int64_t rev = 0;
    int rc = inv_create_many(a->p.store, k, names, specs, n, &actor, &rev, err, sizeof err);
    if (rc < 0)
        return fail_errno(rep, rc, err);
    json_t *objs = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *o = stored_obj(a, k, names[i], &rc, err, sizeof err);
        json_array_append_new(objs, o ? o : json_null());
    }
    ok(rep, 201, json_pack("{s:o}", "items", objs));
    inv_key(k, names[0], key, sizeof key, NULL, 0);
    push_task(a, &actor, key, rev, rep);
}

/* POST (name NULL: in the body) or PUT. */
static void
inv_write(struct api *a, const struct api_request *req, const struct caller *c, enum inv_kind k,
          const char *name, json_t *body, struct api_reply *rep)
{
    char key[STORE_KEY_MAX], up[STORE_KEY_MAX], err[ERR_LEN], what[64];
    json_t *spec = json_object_get(body, "spec"), *rv = json_object_get(body, "resource_version");
    bool create = !name;
    if (create && json_object_get(body, "items"))
        return inv_bulk(a, req, c, k, json_object_get(body, "items"), rep);
    if (create)
        name = json_string_value(json_object_get(body, "name"));
    if (!name || !json_is_object(spec) || (create ? rv != NULL : !json_is_integer(rv)) ||
        (!create && json_integer_value(rv) <= 0))
        return fail(rep, 400, "bad-request", "%s",
                    create ? "create wants {\"name\", \"spec\"}"
                           : "update wants {\"spec\", "
                             "\"resource_version\"}");
    int rc = inv_key(k, name, key, sizeof key, err, sizeof err);
    if (rc < 0 || (rc = inv_validate(k, spec, err, sizeof err)) < 0)
        return fail_errno(rep, rc, err);
    /* Changing an object needs its rights; placing it needs the parent's. */
    if ((!create && !check_may(a, c, key, RBAC_OPERATE, rep)) ||
        !check_may(a, c, inv_parent_of_new(k, name, spec, up, sizeof up), RBAC_OPERATE, rep))
        return;
    snprintf(what, sizeof what, "%s.%s", inv_kind_name(k), create ? "create" : "update");
    struct store_actor actor = {.who = c->name, .from = req->peer, .what = what};
    int64_t rev = 0;
    rc = inv_put(a->p.store, k, name, spec, create ? STORE_MUST_NOT_EXIST : json_integer_value(rv),
                 &actor, &rev, err, sizeof err);
    if (rc < 0)
        return fail_errno(rep, rc, err);
    reply_obj(a, k, name, create ? 201 : 200, rep);
    push_task(a, &actor, key, rev, rep);
}

static void
inv_del(struct api *a, const struct api_request *req, const struct caller *c, enum inv_kind k,
        const char *name, struct api_reply *rep)
{
    char key[STORE_KEY_MAX], err[ERR_LEN], what[64];
    int64_t expected, rev = 0;
    if (!query_int(req->query, "resource_version", 1, INT64_MAX, STORE_ANY_VERSION, &expected))
        return fail(rep, 400, "bad-request", "resource_version: a positive integer");
    int rc = inv_key(k, name, key, sizeof key, err, sizeof err);
    if (rc < 0)
        return fail_errno(rep, rc, err);
    if (!check_may(a, c, key, RBAC_OPERATE, rep))
        return;
    snprintf(what, sizeof what, "%s.delete", inv_kind_name(k));
    struct store_actor actor = {.who = c->name, .from = req->peer, .what = what};
    /* A host or DPU leaves with its certificates: revoked in the same
     * transaction (join.h). */
    struct store_txn *t = store_txn_begin(a->p.store);
    bool revoked = false;
    if (!t)
        return fail(rep, 500, "internal", "out of memory");
    rc = inv_delete_txn(a->p.store, t, k, name, expected, err, sizeof err);
    if (rc == 0 && a->p.ca && (k == INV_HOST || k == INV_DPU))
        rc = join_revoke_txn(a->p.store, a->p.ca, t, key, a->p.now_ms(), &revoked, err, sizeof err);
    if (rc < 0) {
        store_txn_abort(t);
        return fail_errno(rep, rc, err);
    }
    if ((rc = store_txn_commit(t, &actor, &rev, err, sizeof err)) < 0)
        return fail_errno(rep, rc, err);
    if (revoked && a->p.revoked)
        a->p.revoked(a->p.aux);
    if (k == INV_HOST && a->p.fleet) /* its figures and alarms go with it */
        fleet_forget(a->p.fleet, name);
    if (k == INV_HOST && a->p.alarms)
        alarms_forget(a->p.alarms, name);
    if (k == INV_HOST && a->p.dfw_stats)
        dfw_stats_forget(a->p.dfw_stats, name);
    ok(rep, 200, json_pack("{s:I,s:b}", "revision", (json_int_t)rev, "revoked", revoked));
    push_task(a, &actor, key, rev, rep);
}

/* POST /api/v1/hosts/NAME/join-token: administer on the host. */
static void
join_token(struct api *a, const struct api_request *req, const struct caller *c, const char *name,
           struct api_reply *rep)
{
    char key[STORE_KEY_MAX], token[JOIN_TOKEN_LEN], err[ERR_LEN];
    int64_t expires = 0;
    int rc = inv_key(INV_HOST, name, key, sizeof key, err, sizeof err);
    if (rc < 0)
        return fail_errno(rep, rc, err);
    if (!check_may(a, c, key, RBAC_ADMINISTER, rep))
        return;
    if (!a->p.ca)
        return fail(rep, 404, "not-found", "this manager holds no CA");
    struct store_actor actor = {.who = c->name, .from = req->peer, .what = "host.join-token"};
    if ((rc = join_token_create(a->p.store, a->p.ca, name, a->p.now_ms(), JOIN_TOKEN_TTL_MS, &actor,
                                token, &expires, err, sizeof err)) < 0)
        return fail_errno(rep, rc, err);
    ok(rep, 201,
       json_pack("{s:s,s:s,s:I}", "host", name, "token", token, "expires_ms", (json_int_t)expires));
}

/* POST /api/v1/join: the token is the credential; failures count as failed
 * logins of the caller's address. */
static void
do_join(struct api *a, const struct api_request *req, json_t *body, struct api_reply *rep)
{
    char la[128], err[ERR_LEN];
    addr_key(req->peer, la, sizeof la);
    uint64_t now = a->p.now_ms(), wait = auth_limiter_wait_ms(a->limiter, la, now);
    if (wait)
        return fail(rep, 429, "too-many-requests", "too many failed joins: try again in %llu s",
                    (unsigned long long)(wait + 999) / 1000);
    if (!a->p.ca)
        return fail(rep, 404, "not-found", "this manager holds no CA");
    json_t *reply = NULL;
    int rc = join_host(a->p.store, a->p.ca, body, req->peer, now, &reply, err, sizeof err);
    if (rc == -EACCES) {
        auth_limiter_failed(a->limiter, la, now);
        log_warn("join from %s refused: %s", req->peer ? req->peer : "?", err);
        return fail(rep, 401, "unauthenticated", "%s", err);
    }
    if (rc < 0)
        return fail_errno(rep, rc, err);
    auth_limiter_succeeded(a->limiter, la);
    char id[TASK_ID_LEN], key[STORE_KEY_MAX];
    const char *host = json_string_value(json_object_get(reply, "host"));
    int64_t rev = json_integer_value(json_object_get(reply, "revision"));
    inv_key(INV_HOST, host, key, sizeof key, NULL, 0);
    struct store_actor actor = {.who = "dse-manager", .from = req->peer, .what = "task.create"};
    json_t *results = json_pack("{s:{s:b}}", host, "ok", 1);
    const char *dpu;
    json_t *cert;
    json_object_foreach (json_object_get(reply, "dpus"), dpu, cert) {
        char name[2 * INV_NAME_MAX + 2];
        snprintf(name, sizeof name, "%s/%s", host, dpu);
        json_object_set_new(results, name, json_pack("{s:b}", "ok", 1));
    }
    if (task_create(a->p.store, "host.join", key, rev, &actor, id, err, sizeof err) == 0 &&
        task_update(a->p.store, id, "success", 100, results, err, sizeof err) == 0)
        json_object_set_new(reply, "task", json_string(id));
    json_decref(results);
    log_info("host %s joined from %s", host, req->peer ? req->peer : "?");
    if (a->p.revoked) /* a join again revokes what the host had */
        a->p.revoked(a->p.aux);
    ok(rep, 200, reply);
    if (a->p.changed)
        a->p.changed(a->p.aux, NULL);
}

/* GET /api/v1/openapi.json: manager/openapi.json, built in (public). */
extern const char manager_openapi_json[];
extern const size_t manager_openapi_json_len;

static void
openapi(struct api_reply *rep)
{
    json_error_t je;
    json_t *doc = json_loadb(manager_openapi_json, manager_openapi_json_len, 0, &je);
    if (!doc)
        return fail(rep, 500, "internal", "openapi.json: %s", je.text);
    ok(rep, 200, doc);
}

/* GET /api/v1/ca and /api/v1/crl: public, as certificates and CRLs are. */
static void
trust_get(struct api *a, bool crl, struct api_reply *rep)
{
    char pem[CA_PEM_MAX], pin[IDENTITY_SHA256_HEX], err[ERR_LEN];
    if (!a->p.ca)
        return fail(rep, 404, "not-found", "this manager holds no CA");
    if (crl) {
        int64_t number;
        char *text = NULL;
        int rc = join_crl(a->p.store, &number, &text, err, sizeof err);
        if (rc == 0)
            ok(rep, 200, json_pack("{s:I,s:s*}", "number", (json_int_t)number, "pem", text));
        else
            fail_errno(rep, rc, err);
        free(text);
        return;
    }
    int rc = ca_cert_pem(a->p.ca, pem, sizeof pem, err, sizeof err);
    if (rc == 0)
        rc = identity_cert_sha256(pem, strlen(pem), pin, err, sizeof err);
    if (rc < 0)
        return fail_errno(rep, rc, err);
    ok(rep, 200, json_pack("{s:s,s:s}", "pem", pem, "sha256", pin));
}

/* GET /api/v1/hosts/NAME/status */
static void
host_status(struct api *a, const struct caller *c, const char *name, struct api_reply *rep)
{
    char key[STORE_KEY_MAX], skey[STORE_KEY_MAX], err[ERR_LEN];
    int rc = inv_key(INV_HOST, name, key, sizeof key, err, sizeof err);
    if (rc < 0)
        return fail_errno(rep, rc, err);
    if (!check_may(a, c, key, RBAC_READ, rep))
        return;
    snprintf(skey, sizeof skey, "%sstatus/%s", STORE_KEY_PREFIX, name);
    json_t *st = NULL;
    struct store_kv kv = {0};
    if ((rc = load(a, skey, &st, &kv, err, sizeof err)) < 0) {
        store_kv_fini(&kv);
        return fail_errno(rep, rc,
                          rc == -ENOENT ? "the manager has not reached the host yet" : err);
    }
    json_object_set_new(st, "revision", json_integer((json_int_t)kv.mod_revision));
    store_kv_fini(&kv);
    ok(rep, 200, st);
}

/* GET /api/v1/hosts/NAME/metrics?window=hour|day */
static void
host_metrics(struct api *a, const struct caller *c, const char *name, const char *query,
             struct api_reply *rep)
{
    char key[STORE_KEY_MAX], window[8] = "hour", err[ERR_LEN];
    int rc = inv_key(INV_HOST, name, key, sizeof key, err, sizeof err);
    if (rc < 0)
        return fail_errno(rep, rc, err);
    if (query_get(query, "window", window, sizeof window) < 0 ||
        (strcmp(window, "hour") && strcmp(window, "day")))
        return fail(rep, 400, "bad-request", "window=hour or window=day");
    if (!check_may(a, c, key, RBAC_READ, rep))
        return;
    json_t *h =
        a->p.fleet ? fleet_history(a->p.fleet, name, !strcmp(window, "day"), a->p.now_ms()) : NULL;
    if (!h)
        return fail(rep, 404, "not-found", "no figures of host %s yet", name);
    ok(rep, 200, h);
}

/* GET /metrics: the fleet in Prometheus text. */
static void
fleet_metrics(struct api *a, const struct caller *c, struct api_reply *rep)
{
    if (!check_may(a, c, INV_ROOT, RBAC_READ, rep))
        return;
    size_t len = 0;
    char *text = a->p.fleet ? fleet_prometheus(a->p.fleet, &len) : strdup("");
    if (!text)
        return fail(rep, 500, "internal", "out of memory");
    rep->status = 200;
    rep->text = text;
    rep->text_len = a->p.fleet ? len : 0;
}

static void software_install(struct api *, const struct api_request *, const struct caller *,
                             const char *host, json_t *body, struct api_reply *);
static void failover(struct api *, const struct api_request *, const struct caller *,
                     const char *host, json_t *body, struct api_reply *);

/* /api/v1/KINDS[/NAME] */
static bool
inv_route(struct api *a, const struct api_request *req, const struct caller *c, const char *rest,
          json_t *body, struct api_reply *rep)
{
    for (int k = 0; k < INV__N; k++) {
        size_t n = strlen(plurals[k]);
        if (strncmp(rest, plurals[k], n) || (rest[n] && rest[n] != '/'))
            continue;
        const char *name = rest[n] ? rest + n + 1 : NULL;
        const char *m = req->method, *sub = name ? strchr(name, '/') : NULL;
        bool get = !strcmp(m, "GET"), post = !strcmp(m, "POST");
        if (k == INV_HOST && sub &&
            (((!strcmp(sub, "/status") || !strcmp(sub, "/metrics")) && get) ||
             ((!strcmp(sub, "/join-token") || !strcmp(sub, "/software/install") ||
               !strcmp(sub, "/failover")) &&
              post))) {
            char host[INV_NAME_MAX + 1];
            if (sub - name > INV_NAME_MAX) {
                fail(rep, 400, "bad-request", "host: a name is 1 to 64 characters");
            } else {
                snprintf(host, sizeof host, "%.*s", (int)(sub - name), name);
                !strcmp(sub, "/status")             ? host_status(a, c, host, rep)
                : !strcmp(sub, "/metrics")          ? host_metrics(a, c, host, req->query, rep)
                : !strcmp(sub, "/join-token")       ? join_token(a, req, c, host, rep)
                : !strcmp(sub, "/software/install") ? software_install(a, req, c, host, body, rep)
                                                    : failover(a, req, c, host, body, rep);
            }
        } else if (!strcmp(m, "GET"))
            name ? inv_get(a, c, k, name, rep) : inv_list(a, c, k, req->query, rep);
        else if (!strcmp(m, "POST") && !name)
            inv_write(a, req, c, k, NULL, body, rep);
        else if (!strcmp(m, "PUT") && name)
            inv_write(a, req, c, k, name, body, rep);
        else if (!strcmp(m, "DELETE") && name)
            inv_del(a, req, c, k, name, rep);
        else
            fail(rep, 405, "method-not-allowed", "%s %s", m, req->path);
        return true;
    }
    return false;
}

/* ---- users ---- */

/* Checks grants [{"object", "role"}]: each object the root or a key. */
static int
grants_check(json_t *grants, char *err, size_t err_len)
{
    size_t i;
    json_t *g;
    if (!json_is_array(grants) || json_array_size(grants) > MAX_GRANTS)
        return err_set(err, err_len, -EINVAL, "grants: an array of at most %d", MAX_GRANTS);
    json_array_foreach (grants, i, g) {
        const char *object = json_string_value(json_object_get(g, "object"));
        enum rbac_role role;
        if (!json_is_object(g) || json_object_size(g) != 2 || !object ||
            rbac_role_parse(json_string_value(json_object_get(g, "role")), &role) < 0 ||
            role == RBAC_NONE)
            return err_set(err, err_len, -EINVAL,
                           "grants: {\"object\": KEY, \"role\": admin|operator|read-only}");
        if (strcmp(object, INV_ROOT) && store_key_check(object, err, err_len) < 0)
            return -EINVAL;
    }
    return 0;
}

static void
user_create(struct api *a, const struct api_request *req, const struct caller *c, json_t *body,
            struct api_reply *rep)
{
    const char *name = json_string_value(json_object_get(body, "name"));
    const char *password = json_string_value(json_object_get(body, "password"));
    json_t *given = json_object_get(body, "grants");
    char key[STORE_KEY_MAX], hash[AUTH_HASH_LEN], err[ERR_LEN];
    if (!name || !name_is_valid(name, INV_NAME_MAX) || !password)
        return fail(rep, 400, "bad-request", "a user wants {\"name\", \"password\", \"grants\"}");
    json_t *grants = given ? json_incref(given) : json_array();
    int rc = auth_password_acceptable(password, err, sizeof err);
    if (rc == 0 && (rc = grants_check(grants, err, sizeof err)) == 0 &&
        (rc = auth_password_hash(password, a->p.cost, hash, sizeof hash, err, sizeof err)) < 0)
        rc = -EIO;
    json_t *u = rc == 0 ? json_pack("{s:s,s:O}", "password", hash, "grants", grants) : NULL;
    snprintf(key, sizeof key, "%suser/%s", STORE_KEY_PREFIX, name);
    if (rc == 0)
        rc = commit_one(a, req, c->name, "user.create", key, u, STORE_MUST_NOT_EXIST, NULL, err,
                        sizeof err);
    if (rc == 0)
        ok(rep, 201, json_pack("{s:s,s:O}", "name", name, "grants", grants));
    else
        fail_errno(rep, rc, err);
    json_decref(u);
    json_decref(grants);
}

static void
user_list(struct api *a, struct api_reply *rep)
{
    char prefix[64], err[ERR_LEN];
    snprintf(prefix, sizeof prefix, "%suser/", STORE_KEY_PREFIX);
    struct store_list l = {0};
    int rc = store_list(a->p.store, prefix, NULL, STORE_LIST_MAX, &l, err, sizeof err);
    if (rc < 0)
        return fail_errno(rep, rc, err);
    json_t *items = json_array();
    for (size_t i = 0; i < l.n_kvs; i++) {
        json_t *u = json_loads(l.kvs[i].value, 0, NULL);
        json_array_append_new(items, json_pack("{s:s,s:O?}", "name", l.kvs[i].key + strlen(prefix),
                                               "grants", json_object_get(u, "grants")));
        json_decref(u);
    }
    store_list_fini(&l);
    ok(rep, 200, json_pack("{s:o}", "items", items));
}

/* ---- audit ---- */

/* An audit entry's object as JSON, without a user's password hash. */
static json_t *
audit_value(const char *text)
{
    json_t *v = text ? json_loads(text, 0, NULL) : NULL;
    if (json_object_get(v, "password"))
        json_object_set_new(v, "password", json_string("(hidden)"));
    return v ? v : json_null();
}

static void
audit_list(struct api *a, const char *query, struct api_reply *rep)
{
    char prefix[STORE_KEY_MAX], after_key[STORE_KEY_MAX], err[ERR_LEN];
    struct store_audit_query q = {0};
    int64_t limit;
    int hp = query_get(query, "prefix", prefix, sizeof prefix);
    int hk = query_get(query, "after_key", after_key, sizeof after_key);
    if (hp < 0 || hk < 0 || !query_int(query, "since_ms", 0, INT64_MAX, 0, &q.since_ms) ||
        !query_int(query, "until_ms", 0, INT64_MAX, 0, &q.until_ms) ||
        !query_int(query, "after", 0, INT64_MAX, 0, &q.after_revision) ||
        !query_int(query, "limit", 1, API_LIST_LIMIT, API_LIST_LIMIT, &limit))
        return fail(rep, 400, "bad-request",
                    "prefix=KEY, since_ms, until_ms, after=REVISION, "
                    "after_key=KEY, limit=1..%d",
                    API_LIST_LIMIT);
    q.prefix = hp ? prefix : NULL;
    q.after_key = hk ? after_key : NULL;
    q.limit = (size_t)limit;
    struct store_audit_list l = {0};
    int rc = store_audit_list(a->p.store, &q, &l, err, sizeof err);
    if (rc < 0)
        return fail_errno(rep, rc, err);
    json_t *items = json_array();
    for (size_t i = 0; i < l.n_entries; i++) {
        const struct store_audit_entry *e = &l.entries[i];
        json_array_append_new(
            items, json_pack("{s:I,s:I,s:s,s:s?,s:s,s:s,s:o,s:o}", "revision",
                             (json_int_t)e->revision, "time_ms", (json_int_t)e->time_ms, "who",
                             e->who, "from", e->from, "what", e->what, "key", e->key, "before",
                             audit_value(e->before), "after", audit_value(e->after)));
    }
    json_t *body = json_pack("{s:o,s:b}", "items", items, "more", l.more);
    store_audit_list_fini(&l);
    ok(rep, 200, body);
}

/* ---- tasks ---- */

/* TASK (task.h) with its id, from the store's 'kv'. */
static json_t *
task_json(const struct store_kv *kv)
{
    json_t *t = json_loads(kv->value, 0, NULL);
    if (t)
        json_object_set_new(t, "id", json_string(strrchr(kv->key, '/') + 1));
    return t;
}

static void
task_list(struct api *a, const struct caller *c, const char *query, struct api_reply *rep)
{
    char prefix[64], after[STORE_KEY_MAX] = "", id[32], err[ERR_LEN];
    int64_t limit;
    snprintf(prefix, sizeof prefix, "%stask/", STORE_KEY_PREFIX);
    int has_after = query_get(query, "after", id, sizeof id);
    if (has_after < 0 || (has_after && !task_id_is_valid(id)) ||
        !query_int(query, "limit", 1, API_LIST_LIMIT, API_LIST_LIMIT, &limit))
        return fail(rep, 400, "bad-request", "after=ID, limit=1..%d", API_LIST_LIMIT);
    if (has_after)
        snprintf(after, sizeof after, "%s%s", prefix, id);
    struct store_list l = {0};
    int rc = store_list(a->p.store, prefix, after, (size_t)limit, &l, err, sizeof err);
    if (rc < 0)
        return fail_errno(rep, rc, err);
    json_t *items = json_array();
    for (size_t i = 0; i < l.n_kvs; i++) {
        json_t *t = task_json(&l.kvs[i]);
        const char *object = json_string_value(json_object_get(t, "object"));
        if (t && may(a, c, object ? object : INV_ROOT, RBAC_READ))
            json_array_append(items, t);
        json_decref(t);
    }
    json_t *body = json_pack("{s:o}", "items", items);
    if (body && l.more && l.n_kvs)
        json_object_set_new(body, "next", json_string(strrchr(l.kvs[l.n_kvs - 1].key, '/') + 1));
    store_list_fini(&l);
    ok(rep, 200, body);
}

/* Task 'id' that the caller may 'action' on (its object's): the task
 * (caller frees) and its object's key in '*object' (into the task), or NULL
 * with the refusal in 'rep'. */
static json_t *
task_load(struct api *a, const struct caller *c, const char *id, enum rbac_action action,
          const char **object, struct api_reply *rep)
{
    char key[STORE_KEY_MAX], err[ERR_LEN];
    if (!task_id_is_valid(id)) {
        fail(rep, 400, "bad-request", "a task id is 20 digits");
        return NULL;
    }
    snprintf(key, sizeof key, "%stask/%s", STORE_KEY_PREFIX, id);
    struct store_kv kv = {0};
    int rc = store_get(a->p.store, key, &kv, err, sizeof err);
    json_t *t = rc == 0 ? task_json(&kv) : NULL;
    store_kv_fini(&kv);
    *object = json_string_value(json_object_get(t, "object"));
    if (rc < 0 || !t)
        fail_errno(rep, rc < 0 ? rc : -EIO,
                   rc == -ENOENT ? "no such task"
                   : rc < 0      ? err
                                 : "task: not JSON");
    else if (check_may(a, c, *object ? *object : INV_ROOT, action, rep))
        return t;
    json_decref(t);
    return NULL;
}

static void
task_get(struct api *a, const struct caller *c, const char *id, struct api_reply *rep)
{
    const char *object;
    json_t *t = task_load(a, c, id, RBAC_READ, &object, rep);
    if (t)
        ok(rep, 200, t);
}

/* POST /api/v1/tasks/ID/cancel: operate on the task's object.  Only an
 * operation still queued for its host (hostop.h) can be cancelled: one
 * under way runs to its end on the host, and a configuration push is its
 * change, undone by another change. */
static void
task_cancel(struct api *a, const struct api_request *req, const struct caller *c, const char *id,
            struct api_reply *rep)
{
    char err[ERR_LEN];
    const char *object;
    json_t *t = task_load(a, c, id, RBAC_OPERATE, &object, rep);
    if (!t)
        return;
    const char *kind = json_string_value(json_object_get(t, "kind")),
               *state = json_string_value(json_object_get(t, "state"));
    if (!hostop_kind_is_valid(kind)) {
        fail(rep, 409, "conflict",
             "task %s (%s) cannot be cancelled: it goes with its change; change the object back",
             id, kind ? kind : "?");
    } else if (!state || strcmp(state, "queued") || !a->p.hostops ||
               hostops_cancel(a->p.hostops, id) < 0) {
        fail(rep, 409, "conflict", "task %s is %s: only a queued operation can be cancelled", id,
             state && strcmp(state, "queued") ? state : "on its way to its host");
    } else {
        const char *host = object + strlen(STORE_KEY_PREFIX "host/");
        json_t *why = json_pack("{s:{s:b,s:s}}", host, "ok", 0, "error", "cancelled");
        int rc = task_update(a->p.store, id, "cancelled", 0, why, err, sizeof err);
        json_decref(why);
        if (rc < 0)
            fail_errno(rep, rc, err);
        else
            log_info("task %s (%s) cancelled by %s from %s", id, kind, c->name, req->peer);
        if (rc == 0)
            task_get(a, c, id, rep);
    }
    json_decref(t);
}

/* GET /api/v1/roles: the roles a grant may give (rbac.h), fixed, with what
 * each may do; any user may read them. */
static void
role_list(struct api_reply *rep)
{
    static const char *const actions[] = {"read", "operate", "administer"};
    static const char *const what[] = {
        "sees the inventory, alarms, events, tasks and figures",
        "sees all that, changes the inventory and desired state, acknowledges alarms, fails "
        "DPUs over, cancels tasks",
        "does all an operator does, and manages users, grants, joins, software installs and "
        "the audit log"};
    json_t *items = json_array();
    for (enum rbac_role r = RBAC_READ_ONLY; r <= RBAC_ADMIN; r++) {
        json_t *may = json_array();
        const char *desc = what[0];
        for (enum rbac_action x = RBAC_READ; x <= RBAC_ADMINISTER; x++)
            if (rbac_allows(r, x)) {
                json_array_append_new(may, json_string(actions[x]));
                desc = what[x];
            }
        json_array_append_new(items, json_pack("{s:s,s:o,s:s}", "name", rbac_role_name(r), "may",
                                               may, "description", desc));
    }
    ok(rep, 200, json_pack("{s:o}", "items", items));
}

/* ---- alarms and events (alarms.h) ---- */

/* What alarms_may_fn needs: the caller, and the hosts already decided. */
struct readable {
    struct api *a;
    const struct caller *c;
    json_t *seen; /* {HOST: bool} */
};

/* alarms_may_fn: host 'host' exists and the caller may read it. */
static bool
may_read_host(const char *host, void *aux)
{
    struct readable *r = aux;
    json_t *known = json_object_get(r->seen, host);
    if (known)
        return json_is_true(known);
    char key[STORE_KEY_MAX];
    struct store_kv kv = {0};
    bool yes = inv_key(INV_HOST, host, key, sizeof key, NULL, 0) == 0 &&
               store_get(r->a->p.store, key, &kv, NULL, 0) == 0 && may(r->a, r->c, key, RBAC_READ);
    store_kv_fini(&kv);
    json_object_set_new(r->seen, host, json_boolean(yes));
    return yes;
}

/* Host 'host' exists and the caller may 'action' on it; else a reply. */
static bool
check_host(struct api *a, const struct caller *c, const char *host, enum rbac_action action,
           json_t **obj, struct api_reply *rep)
{
    char key[STORE_KEY_MAX], err[ERR_LEN];
    json_t *h = NULL;
    int rc = inv_key(INV_HOST, host, key, sizeof key, err, sizeof err);
    if (rc < 0) {
        fail_errno(rep, rc, err);
        return false;
    }
    if (!check_may(a, c, key, action, rep))
        return false;
    if ((rc = load(a, key, &h, NULL, err, sizeof err)) < 0) {
        fail_errno(rep, rc, err);
        return false;
    }
    if (obj)
        *obj = h;
    else
        json_decref(h);
    return true;
}

/* GET /api/v1/alarms?host=H&severity=S&state=active|all */
static void
alarm_list(struct api *a, const struct caller *c, const char *query, struct api_reply *rep)
{
    char host[INV_NAME_MAX + 1], sev[16], state[16] = "active";
    int hh = query_get(query, "host", host, sizeof host);
    int hs = query_get(query, "severity", sev, sizeof sev);
    if (hh < 0 || hs < 0 || query_get(query, "state", state, sizeof state) < 0 ||
        (strcmp(state, "active") && strcmp(state, "all")) ||
        (hs && strcmp(sev, "red") && strcmp(sev, "yellow") && strcmp(sev, "gray") &&
         strcmp(sev, "green")))
        return fail(rep, 400, "bad-request",
                    "host=NAME, severity=red|yellow|gray|green, state=active|all");
    if (hh && !check_host(a, c, host, RBAC_READ, NULL, rep))
        return;
    struct readable r = {a, c, json_object()};
    struct alarms_query q = {.host = hh ? host : NULL,
                             .state = hs ? sev : NULL,
                             .all = !strcmp(state, "all"),
                             .may = may_read_host,
                             .aux = &r};
    json_t *items = a->p.alarms ? alarms_list(a->p.alarms, &q) : json_array();
    json_decref(r.seen);
    ok(rep, 200, items ? json_pack("{s:o}", "items", items) : NULL);
}

/* A task of 'kind' on 'key' by 'actor', numbered after the store's
 * revision (the revision its own record takes, unless the reconciler wrote
 * meanwhile: unique either way).  Returns 0 and 'id', or the store's error. */
static int
own_task(struct api *a, const char *kind, const char *key, const struct store_actor *actor,
         char id[TASK_ID_LEN], char *err, size_t err_len)
{
    int rc = -EEXIST;
    for (int tries = 0; rc == -EEXIST && tries < 3; tries++) {
        int64_t rev = 0;
        if ((rc = store_revision(a->p.store, &rev, err, err_len)) == 0)
            rc = task_create(a->p.store, kind, key, rev + 1, actor, id, err, err_len);
    }
    return rc;
}

/* Queues operation 'kind' with 'args' (borrowed) on 'host' (the caller
 * checked) for the reconciler (hostop.h): 202 {"task", "host", "kind"}. */
static void
host_op(struct api *a, const struct api_request *req, const struct caller *c, const char *host,
        const char *kind, json_t *args, struct api_reply *rep)
{
    char key[STORE_KEY_MAX], task[TASK_ID_LEN], err[ERR_LEN];
    if (!a->p.hostops || !hostops_has_room(a->p.hostops)) /* before the task: nothing written */
        return fail(rep, 429, "too-many-requests", "too many operations wait: try again");
    inv_key(INV_HOST, host, key, sizeof key, NULL, 0);
    struct store_actor actor = {.who = c->name, .from = req->peer, .what = kind};
    int rc = own_task(a, kind, key, &actor, task, err, sizeof err);
    if (rc < 0)
        return fail_errno(rep, rc, err);
    if ((rc = hostops_queue(a->p.hostops, host, kind, args, task, a->p.now_ms())) < 0) {
        /* Not for want of room (checked), so out of memory: the task says so. */
        json_t *why = json_pack("{s:{s:b,s:s}}", host, "ok", 0, "error", strerror(-rc));
        task_update(a->p.store, task, "error", 0, why, err, sizeof err);
        json_decref(why);
        return fail(rep, 500, "internal", "%s: cannot queue it", kind);
    }
    ok(rep, 202, json_pack("{s:s,s:s,s:s}", "task", task, "host", host, "kind", kind));
    if (a->p.changed)
        a->p.changed(a->p.aux, NULL); /* a round soon, which runs it */
}

/* Whether 'body' has only the keys of 'allowed' (NULL-terminated); else
 * a 400 naming the first other one. */
static bool
only_keys(json_t *body, const char *const *allowed, struct api_reply *rep)
{
    const char *k = cmd_arg_unknown(body, allowed);
    if (k)
        fail(rep, 400, "bad-request", "body: unknown field '%s'", k);
    return !k;
}

/* POST /api/v1/hosts/NAME/software/install {"bundle", "update"?, "dry_run"?,
 * "fresh"?}: administer on the host; a task that installs the signed image
 * at path 'bundle' on the host (hostd's software.install: it checks the
 * signature against its own trust anchor) and follows it to its end. */
static void
software_install(struct api *a, const struct api_request *req, const struct caller *c,
                 const char *host, json_t *body, struct api_reply *rep)
{
    static const char *const keys[] = {"bundle", "update", "dry_run", "fresh", NULL};
    const char *bundle = json_string_value(json_object_get(body, "bundle"));
    if (!body || !only_keys(body, keys, rep))
        return body ? (void)0 : fail(rep, 400, "bad-request", "body: {\"bundle\": PATH}");
    if (!bundle || bundle[0] != '/' || strlen(bundle) >= PATH_MAX)
        return fail(rep, 400, "bad-request",
                    "bundle: the absolute path of a signed image on the host (dse-bundle)");
    for (size_t i = 1; keys[i]; i++)
        if (json_object_get(body, keys[i]) && !json_is_boolean(json_object_get(body, keys[i])))
            return fail(rep, 400, "bad-request", "%s: true or false", keys[i]);
    if (check_host(a, c, host, RBAC_ADMINISTER, NULL, rep))
        host_op(a, req, c, host, "software.install", body, rep);
}

/* POST /api/v1/hosts/NAME/failover {"to"}: operate on the host; a task that
 * makes DPU 'to' the active one of the host's pair (hostd's dpu.failover). */
static void
failover(struct api *a, const struct api_request *req, const struct caller *c, const char *host,
         json_t *body, struct api_reply *rep)
{
    static const char *const keys[] = {"to", NULL};
    const char *to = json_string_value(json_object_get(body, "to"));
    if (!body || !only_keys(body, keys, rep))
        return body ? (void)0 : fail(rep, 400, "bad-request", "body: {\"to\": DPU}");
    if (!to || !name_is_valid(to, INV_NAME_MAX))
        return fail(rep, 400, "bad-request", "to: the name of one of the host's DPUs");
    if (check_host(a, c, host, RBAC_OPERATE, NULL, rep))
        host_op(a, req, c, host, "dpu.failover", body, rep);
}

/* POST /api/v1/alarms/HOST/ID/ack (ID percent-encoded or not): a task that
 * the reconciler runs. */
static void
alarm_ack(struct api *a, const struct api_request *req, const struct caller *c, const char *rest,
          struct api_reply *rep)
{
    char host[INV_NAME_MAX + 1], id[ALARMS_ID_MAX + 1];
    const char *slash = strchr(rest, '/');
    size_t len = strlen(rest);
    if (!slash || len < 4 || strcmp(rest + len - 4, "/ack") || slash + 1 >= rest + len - 4 ||
        (size_t)(slash - rest) > INV_NAME_MAX)
        return fail(rep, 404, "not-found", "POST /api/v1/alarms/HOST/ID/ack");
    snprintf(host, sizeof host, "%.*s", (int)(slash - rest), rest);
    if (pct_decode(slash + 1, (size_t)(rest + len - 4 - slash - 1), false, id, sizeof id) < 0)
        return fail(rep, 400, "bad-request", "an alarm id is DEF@OBJECT, %d bytes at most",
                    ALARMS_ID_MAX);
    if (!check_host(a, c, host, RBAC_OPERATE, NULL, rep))
        return;
    if (!a->p.alarms || !alarms_has(a->p.alarms, host, id))
        return fail(rep, 404, "not-found", "host %s had no alarm %s when last collected", host, id);
    json_t *args = json_pack("{s:s}", "id", id);
    host_op(a, req, c, host, "alarm.ack", args, rep);
    json_decref(args);
    if (rep->status == 202)
        json_object_set_new(rep->body, "alarm", json_string(id));
}

/* GET /api/v1/events?object=NAME&since=MS&until=MS&type=PREFIX&limit=N */
static void
event_list(struct api *a, const struct caller *c, const char *query, struct api_reply *rep)
{
    char object[STORE_KEY_MAX], type[72], host[INV_NAME_MAX + 1];
    int64_t since, until, limit;
    int ho = query_get(query, "object", object, sizeof object);
    int ht = query_get(query, "type", type, sizeof type);
    if (ho < 0 || ht < 0 || !query_int(query, "since", 0, INT64_MAX, 0, &since) ||
        !query_int(query, "until", 0, INT64_MAX, 0, &until) ||
        !query_int(query, "limit", 1, API_EVENTS_LIMIT, API_LIST_LIMIT, &limit) ||
        (ho && strcspn(object, "/") > INV_NAME_MAX))
        return fail(rep, 400, "bad-request",
                    "object=HOST[/OBJECT], since=MS, until=MS, type=PREFIX, limit=1..%d",
                    API_EVENTS_LIMIT);
    if (ho) { /* the host it names must be readable */
        snprintf(host, sizeof host, "%.*s", (int)strcspn(object, "/"), object);
        if (!check_host(a, c, host, RBAC_READ, NULL, rep))
            return;
    }
    struct readable r = {a, c, json_object()};
    struct alarms_event_query q = {.object = ho ? object : NULL,
                                   .since_ms = (uint64_t)since,
                                   .until_ms = (uint64_t)until,
                                   .type = ht ? type : NULL,
                                   .limit = (size_t)limit,
                                   .may = may_read_host,
                                   .aux = &r};
    bool more = false;
    json_t *items = a->p.alarms ? alarms_events(a->p.alarms, &q, &more) : json_array();
    json_decref(r.seen);
    ok(rep, 200, items ? json_pack("{s:o,s:b}", "items", items, "more", more) : NULL);
}

/* ---- the firewall (dfw.h, dfwstats.h) ---- */

/* GET /api/v1/dfw/policy?host=H: the policy host H gets, compiled now. */
static void
dfw_policy(struct api *a, const struct caller *c, const char *query, struct api_reply *rep)
{
    char host[INV_NAME_MAX + 1], err[ERR_LEN], hex[JSON_DIGEST_HEX];
    json_t *p = NULL;
    if (query_get(query, "host", host, sizeof host) <= 0)
        return fail(rep, 400, "bad-request", "host=NAME: the host whose policy to show");
    if (!check_host(a, c, host, RBAC_READ, NULL, rep))
        return;
    int rc = dfw_compile(a->p.store, host, &p, err, sizeof err);
    if (rc == 0 && !json_is_null(p) && json_digest(p, hex) < 0)
        rc = err_set(err, sizeof err, -ENOMEM, "out of memory");
    if (rc < 0) {
        json_decref(p);
        return fail_errno(rep, rc, err);
    }
    ok(rep, 200,
       json_pack("{s:s,s:o,s:s?}", "host", host, "policy", p, "digest",
                 json_is_null(p) ? NULL : hex));
}

/* GET /api/v1/dfw/stats[?host=H]: the counters summed over the fleet (read
 * on the root) or over host H's DPUs (read on the host). */
static void
dfw_stats_get(struct api *a, const struct caller *c, const char *query, struct api_reply *rep)
{
    char host[INV_NAME_MAX + 1];
    int hh = query_get(query, "host", host, sizeof host);
    if (hh < 0)
        return fail(rep, 400, "bad-request", "host=NAME");
    if (hh ? !check_host(a, c, host, RBAC_READ, NULL, rep)
           : !check_may(a, c, INV_ROOT, RBAC_READ, rep))
        return;
    struct dfw_stats *none = a->p.dfw_stats ? NULL : dfw_stats_create();
    struct dfw_stats *s = a->p.dfw_stats ? a->p.dfw_stats : none;
    json_t *r = s ? dfw_stats_json(s, hh ? host : NULL) : NULL;
    dfw_stats_destroy(none);
    if (!r && hh && s)
        return fail(rep, 404, "not-found", "no firewall counters of host %s yet", host);
    ok(rep, 200, r);
}

/* ---- the routes ---- */

static void
route(struct api *a, const struct api_request *req, const struct caller *c, const char *rest,
      json_t *body, struct api_reply *rep)
{
    bool get = !strcmp(req->method, "GET"), post = !strcmp(req->method, "POST");
    if (inv_route(a, req, c, rest, body, rep))
        return;
    if (!strcmp(rest, "users") && (get || post)) {
        if (check_may(a, c, INV_ROOT, RBAC_ADMINISTER, rep))
            get ? user_list(a, rep) : user_create(a, req, c, body, rep);
    } else if (!strcmp(rest, "roles") && get) {
        role_list(rep);
    } else if (!strcmp(rest, "tasks") && get) {
        task_list(a, c, req->query, rep);
    } else if (!strncmp(rest, "tasks/", 6) && get) {
        task_get(a, c, rest + 6, rep);
    } else if (!strncmp(rest, "tasks/", 6) && post && strlen(rest) == 6 + TASK_ID_LEN - 1 + 7 &&
               !strcmp(rest + 6 + TASK_ID_LEN - 1, "/cancel")) {
        char id[TASK_ID_LEN];
        snprintf(id, sizeof id, "%.*s", TASK_ID_LEN - 1, rest + 6);
        task_cancel(a, req, c, id, rep);
    } else if (!strcmp(rest, "alarms") && get) {
        alarm_list(a, c, req->query, rep);
    } else if (!strncmp(rest, "alarms/", 7) && post) {
        alarm_ack(a, req, c, rest + 7, rep);
    } else if (!strcmp(rest, "events") && get) {
        event_list(a, c, req->query, rep);
    } else if (!strcmp(rest, "dfw/policy") && get) {
        dfw_policy(a, c, req->query, rep);
    } else if (!strcmp(rest, "dfw/stats") && get) {
        dfw_stats_get(a, c, req->query, rep);
    } else if (!strcmp(rest, "audit") && get) {
        if (check_may(a, c, INV_ROOT, RBAC_ADMINISTER, rep))
            audit_list(a, req->query, rep);
    } else {
        fail(rep, 404, "not-found", "no %s %s", req->method, req->path);
    }
}

void
api_handle(struct api *a, const struct api_request *req, struct api_reply *rep)
{
    static const char v1[] = "/api/v1/";
    *rep = (struct api_reply){0};
    json_error_t je;
    json_t *body = NULL;
    if (req->body && req->body_len &&
        !(body = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &je)))
        return fail(rep, 400, "bad-request", "body: not JSON: %s", je.text);
    if (body && !json_is_object(body)) {
        json_decref(body);
        return fail(rep, 400, "bad-request", "body: not a JSON object");
    }
    if (req->path && !strcmp(req->path, "/metrics") && !strcmp(req->method, "GET")) {
        struct caller c = {0};
        if (authenticate(a, req, &c, rep) == 0)
            fleet_metrics(a, &c, rep);
        json_decref(c.user);
    } else if (!req->path || strncmp(req->path, v1, sizeof v1 - 1)) {
        fail(rep, 404, "not-found", "the API is under %s", v1);
    } else if (!strcmp(req->path + sizeof v1 - 1, "login")) {
        !strcmp(req->method, "POST") ? do_login(a, req, body, rep)
                                     : fail(rep, 405, "method-not-allowed", "POST to log in");
    } else if (!strcmp(req->path + sizeof v1 - 1, "openapi.json")) {
        !strcmp(req->method, "GET") ? openapi(rep)
                                    : fail(rep, 405, "method-not-allowed", "GET only");
    } else if (!strcmp(req->path + sizeof v1 - 1, "join")) {
        !strcmp(req->method, "POST") ? do_join(a, req, body, rep)
                                     : fail(rep, 405, "method-not-allowed", "POST to join");
    } else if (!strcmp(req->path + sizeof v1 - 1, "ca") ||
               !strcmp(req->path + sizeof v1 - 1, "crl")) {
        !strcmp(req->method, "GET") ? trust_get(a, !strcmp(req->path + sizeof v1 - 1, "crl"), rep)
                                    : fail(rep, 405, "method-not-allowed", "GET only");
    } else {
        struct caller c = {0};
        if (authenticate(a, req, &c, rep) == 0)
            route(a, req, &c, req->path + sizeof v1 - 1, body, rep);
        json_decref(c.user);
    }
    json_decref(body);
}
