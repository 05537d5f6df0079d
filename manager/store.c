/* SPDX-License-Identifier: Apache-2.0 */
/* store: the checks, the transaction buffer and the backend calls (store.h). */
#include "manager/store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "lib/util.h"
#include "manager/store-private.h"

struct store {
    const struct store_backend *be_ops;
    void *be;
};

struct store_txn {
    struct store *st;
    struct store_op ops[STORE_TXN_MAX_OPS];
    size_t n_ops;
    int rc; /* the first refusal of a put or delete: commit returns it */
    char err[ERR_LEN];
};

/* Kinds whose keys only the store writes (the audit records and the
 * revision key of the etcd backend, docs/store.md). */
static const char *const reserved_kinds[] = {"audit/", "meta/"};

#define PREFIX_LEN (sizeof STORE_KEY_PREFIX - 1)

/* The rules of a key (store.h) or, with 'is_prefix', of a list prefix. */
static int
path_check(const char *s, bool is_prefix, char *err, size_t err_len)
{
    const char *what = is_prefix ? "prefix" : "key";
    if (!s)
        return err_set(err, err_len, -EINVAL, "%s: missing", what);
    size_t len = strnlen(s, STORE_KEY_MAX + 1);
    if (len > STORE_KEY_MAX)
        return err_set(err, err_len, -EINVAL, "%s of over %d bytes", what, STORE_KEY_MAX);
    for (size_t i = 0; i < len; i++)
        if (s[i] < 0x21 || s[i] > 0x7e)
            return err_set(err, err_len, -EINVAL,
                           "%s: byte 0x%02x at offset %zu is not printable ASCII (nor a space)",
                           what, (unsigned char)s[i], i);
    if (strncmp(s, STORE_KEY_PREFIX, PREFIX_LEN))
        return err_set(err, err_len, -EINVAL, "%s '%.80s': does not start with %s", what, s,
                       STORE_KEY_PREFIX);
    if (strstr(s, "//"))
        return err_set(err, err_len, -EINVAL, "%s '%.80s': empty segment (//)", what, s);
    if (is_prefix)
        return 0;
    if (s[len - 1] == '/')
        return err_set(err, err_len, -EINVAL, "key '%.80s': ends with '/'", s);
    if (!strchr(s + PREFIX_LEN, '/'))
        return err_set(err, err_len, -EINVAL, "key '%.80s': not %sKIND/NAME", s, STORE_KEY_PREFIX);
    for (size_t i = 0; i < ARRAY_SIZE(reserved_kinds); i++)
        if (!strncmp(s + PREFIX_LEN, reserved_kinds[i], strlen(reserved_kinds[i])))
            return err_set(err, err_len, -EINVAL, "key '%.80s': only the store writes %s%s", s,
                           STORE_KEY_PREFIX, reserved_kinds[i]);
    return 0;
}

int
store_key_check(const char *key, char *err, size_t err_len)
{
    return path_check(key, false, err, err_len);
}

/* Checks 'value' (store.h) and sets '*out' to its compact form (caller
 * frees).  Returns 0, -EINVAL or -ENOMEM. */
static int
value_compact(const char *value, char **out, char *err, size_t err_len)
{
    if (!value)
        return err_set(err, err_len, -EINVAL, "value: missing");
    size_t len = strnlen(value, STORE_VALUE_MAX + 1);
    if (len > STORE_VALUE_MAX)
        return err_set(err, err_len, -EINVAL, "value of over %d bytes", STORE_VALUE_MAX);
    json_error_t je;
    json_t *j = json_loadb(value, len, JSON_REJECT_DUPLICATES, &je);
    if (!j)
        return err_set(err, err_len, -EINVAL, "value: not JSON: %s (line %d column %d)", je.text,
                       je.line, je.column);
    if (!json_is_object(j)) {
        json_decref(j);
        return err_set(err, err_len, -EINVAL, "value: not a JSON object");
    }
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (!s)
        return err_set(err, err_len, -ENOMEM, "value: out of memory");
    if (strlen(s) > STORE_VALUE_MAX) { /* numbers can grow: 1e5 -> 100000.0 */
        free(s);
        return err_set(err, err_len, -EINVAL, "value of over %d bytes in compact form",
                       STORE_VALUE_MAX);
    }
    *out = s;
    return 0;
}

/* One line of printable text of at most STORE_ACTOR_MAX bytes. */
static bool
actor_field_is_valid(const char *s, bool may_be_empty)
{
    if (!s)
        return may_be_empty;
    size_t len = strnlen(s, STORE_ACTOR_MAX + 1);
    if (len > STORE_ACTOR_MAX || (!len && !may_be_empty))
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

static int
actor_check(const struct store_actor *a, char *err, size_t err_len)
{
    if (!a || !actor_field_is_valid(a->who, false) || !actor_field_is_valid(a->from, true) ||
        !actor_field_is_valid(a->what, false))
        return err_set(err, err_len, -EINVAL,
                       "audit: who and what must be given, each field one line of at most %d "
                       "bytes",
                       STORE_ACTOR_MAX);
    return 0;
}

int
store_open(const char *path, struct store **out, char *err, size_t err_len)
{
    struct store *st = calloc(1, sizeof *st);
    if (!st)
        return err_set(err, err_len, -ENOMEM, "store: out of memory");
    st->be_ops = &store_sqlite_backend;
    int rc = st->be_ops->open(path, &st->be, err, err_len);
    if (rc < 0) {
        free(st);
        return rc;
    }
    *out = st;
    return 0;
}

void
store_close(struct store *st)
{
    if (!st)
        return;
    st->be_ops->close(st->be);
    free(st);
}

int
store_revision(struct store *st, int64_t *rev, char *err, size_t err_len)
{
    return st->be_ops->revision(st->be, rev, err, err_len);
}

int
store_get(struct store *st, const char *key, struct store_kv *out, char *err, size_t err_len)
{
    memset(out, 0, sizeof *out);
    int rc = path_check(key, false, err, err_len);
    return rc < 0 ? rc : st->be_ops->get(st->be, key, out, err, err_len);
}

void
store_kv_fini(struct store_kv *kv)
{
    free(kv->key);
    free(kv->value);
    memset(kv, 0, sizeof *kv);
}

int
store_list(struct store *st, const char *prefix, const char *after, size_t limit,
           struct store_list *out, char *err, size_t err_len)
{
    memset(out, 0, sizeof *out);
    int rc = path_check(prefix, true, err, err_len);
    if (rc < 0)
        return rc;
    if (!limit || limit > STORE_LIST_MAX)
        return err_set(err, err_len, -EINVAL, "list: limit %zu not in 1..%d", limit,
                       STORE_LIST_MAX);
    return st->be_ops->list(st->be, prefix, after ? after : "", limit, out, err, err_len);
}

int
store_each(struct store *st, const char *prefix, int (*fn)(const struct store_kv *, void *),
           void *aux, char *err, size_t err_len)
{
    char after[STORE_KEY_MAX] = "";
    for (;;) {
        struct store_list l = {0};
        int rc = store_list(st, prefix, after, STORE_LIST_MAX, &l, err, err_len);
        for (size_t i = 0; rc == 0 && i < l.n_kvs; i++)
            rc = fn(&l.kvs[i], aux);
        bool more = rc == 0 && l.more && l.n_kvs;
        if (more)
            snprintf(after, sizeof after, "%s", l.kvs[l.n_kvs - 1].key);
        store_list_fini(&l);
        if (!more)
            return rc;
    }
}

void
store_list_fini(struct store_list *l)
{
    for (size_t i = 0; i < l->n_kvs; i++)
        store_kv_fini(&l->kvs[i]);
    free(l->kvs);
    memset(l, 0, sizeof *l);
}

struct store_txn *
store_txn_begin(struct store *st)
{
    struct store_txn *t = calloc(1, sizeof *t);
    if (t)
        t->st = st;
    return t;
}

/* Records the first refusal, which commit returns. */
static int
txn_refuse(struct store_txn *t, int rc, const char *err)
{
    if (!t->rc) {
        t->rc = rc;
        snprintf(t->err, sizeof t->err, "%s", err);
    }
    return rc;
}

/* Adds one operation; 'value' (compact, or NULL: a delete) passes to 't'. */
static int
txn_add(struct store_txn *t, const char *key, char *value, int64_t expected, char *err,
        size_t err_len)
{
    int rc = 0;
    if (t->n_ops == STORE_TXN_MAX_OPS)
        rc = err_set(err, err_len, -EINVAL, "transaction of over %d operations", STORE_TXN_MAX_OPS);
    for (size_t i = 0; !rc && i < t->n_ops; i++)
        if (!strcmp(t->ops[i].key, key))
            rc = err_set(err, err_len, -EINVAL, "key '%.80s': twice in one transaction", key);
    char *k = rc ? NULL : strdup(key);
    if (!rc && !k)
        rc = err_set(err, err_len, -ENOMEM, "transaction: out of memory");
    if (rc < 0) {
        free(value);
        return rc;
    }
    t->ops[t->n_ops++] = (struct store_op){.key = k, .value = value, .expected = expected};
    return 0;
}

int
store_txn_put(struct store_txn *t, const char *key, const char *value, int64_t expected, char *err,
              size_t err_len)
{
    char reason[ERR_LEN] = "", *compact = NULL;
    int rc = path_check(key, false, reason, sizeof reason);
    if (!rc && expected < STORE_ANY_VERSION)
        rc = err_set(reason, sizeof reason, -EINVAL, "key '%.80s': expected version %lld", key,
                     (long long)expected);
    if (!rc)
        rc = value_compact(value, &compact, reason, sizeof reason);
    if (!rc)
        rc = txn_add(t, key, compact, expected, reason, sizeof reason);
    if (rc < 0) {
        err_set(err, err_len, rc, "%s", reason);
        return txn_refuse(t, rc, reason);
    }
    return 0;
}

int
store_txn_delete(struct store_txn *t, const char *key, int64_t expected, char *err, size_t err_len)
{
    char reason[ERR_LEN] = "";
    int rc = path_check(key, false, reason, sizeof reason);
    if (!rc && expected != STORE_ANY_VERSION && expected <= 0)
        rc = err_set(reason, sizeof reason, -EINVAL,
                     "key '%.80s': a delete expects any version or one above 0, not %lld", key,
                     (long long)expected);
    if (!rc)
        rc = txn_add(t, key, NULL, expected, reason, sizeof reason);
    if (rc < 0) {
        err_set(err, err_len, rc, "%s", reason);
        return txn_refuse(t, rc, reason);
    }
    return 0;
}

void
store_txn_abort(struct store_txn *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n_ops; i++) {
        free(t->ops[i].key);
        free(t->ops[i].value);
    }
    free(t);
}

int
store_txn_commit(struct store_txn *t, const struct store_actor *actor, int64_t *revision, char *err,
                 size_t err_len)
{
    struct store *st = t->st;
    int64_t rev = 0;
    int rc = t->rc ? err_set(err, err_len, t->rc, "%s", t->err) : actor_check(actor, err, err_len);
    if (!rc && !t->n_ops)
        rc = st->be_ops->revision(st->be, &rev, err, err_len);
    else if (!rc) {
        struct store_actor a = *actor;
        if (!a.from)
            a.from = "";
        struct store_commit c = {
            .ops = t->ops, .n_ops = t->n_ops, .actor = &a, .time_ms = wall_ms()};
        rc = st->be_ops->commit(st->be, &c, &rev, err, err_len);
    }
    if (!rc && revision)
        *revision = rev;
    store_txn_abort(t);
    return rc;
}

int
store_audit_list(struct store *st, const struct store_audit_query *q, struct store_audit_list *out,
                 char *err, size_t err_len)
{
    memset(out, 0, sizeof *out);
    struct store_audit_query c = *q;
    if (!c.prefix)
        c.prefix = STORE_KEY_PREFIX;
    if (!c.after_key)
        c.after_key = "\x7f"; /* sorts after every key */
    if (!c.until_ms)
        c.until_ms = INT64_MAX;
    int rc = path_check(c.prefix, true, err, err_len);
    if (rc < 0)
        return rc;
    if (!c.limit || c.limit > STORE_LIST_MAX)
        return err_set(err, err_len, -EINVAL, "audit: limit %zu not in 1..%d", c.limit,
                       STORE_LIST_MAX);
    if (c.since_ms < 0 || c.until_ms < 0 || c.after_revision < 0)
        return err_set(err, err_len, -EINVAL, "audit: negative time or revision");
    return st->be_ops->audit_list(st->be, &c, out, err, err_len);
}

void
store_audit_list_fini(struct store_audit_list *l)
{
    for (size_t i = 0; i < l->n_entries; i++) {
        struct store_audit_entry *e = &l->entries[i];
        free(e->who);
        free(e->from);
        free(e->what);
        free(e->key);
        free(e->before);
        free(e->after);
    }
    free(l->entries);
    memset(l, 0, sizeof *l);
}
