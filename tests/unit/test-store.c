/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The manager's store (manager/store.h) on scratch files: keys, values and
 * resource versions; lists in pages; transactions that apply whole or not at
 * all, with their audit entries; bad input refused with nothing written; the
 * schema upgraded from version 1 and a newer one refused; and what a SIGKILL
 * of a busy writer (tests/unit/store-writer.c, named by $STORE_WRITER)
 * leaves: every revision it printed, and a file that passes integrity_check.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "lib/util.h"
#include "manager/store-private.h"
#include "manager/store.h"
#include "tests/unit/check.h"

extern char **environ;

static const struct store_actor actor = {
    .who = "alice", .from = "198.19.0.10:5000", .what = "test.op"};

struct fx {
    char dir[64];
    char path[96];
    struct store *st;
};

/* A scratch directory with a path for a store in it; 'open': the store. */
static int
fx_init(struct fx *f, bool open)
{
    char err[ERR_LEN];
    memset(f, 0, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/dse-test-store-XXXXXX");
    if (!mkdtemp(f->dir))
        return -errno;
    snprintf(f->path, sizeof f->path, "%s/store.db", f->dir);
    int rc = open ? store_open(f->path, &f->st, err, sizeof err) : 0;
    if (rc < 0)
        fprintf(stderr, "store_open: %s\n", err);
    return rc;
}

static void
fx_fini(struct fx *f)
{
    store_close(f->st);
    f->st = NULL;
    fs_remove_at(AT_FDCWD, f->dir);
}

static int
put1(struct store *st, const char *key, const char *value, int64_t expected, int64_t *rev)
{
    char err[ERR_LEN];
    struct store_txn *t = store_txn_begin(st);
    if (!t)
        return -ENOMEM;
    store_txn_put(t, key, value, expected, err, sizeof err);
    return store_txn_commit(t, &actor, rev, err, sizeof err);
}

static int
del1(struct store *st, const char *key, int64_t expected)
{
    char err[ERR_LEN];
    struct store_txn *t = store_txn_begin(st);
    if (!t)
        return -ENOMEM;
    store_txn_delete(t, key, expected, err, sizeof err);
    return store_txn_commit(t, &actor, NULL, err, sizeof err);
}

static int64_t
revision(struct store *st)
{
    char err[ERR_LEN];
    int64_t rev = -1;
    return store_revision(st, &rev, err, sizeof err) < 0 ? -1 : rev;
}

/* How many audit entries the store holds (-1 on failure). */
static long
n_audit(struct store *st)
{
    char err[ERR_LEN];
    struct store_audit_list l;
    struct store_audit_query q = {.limit = STORE_LIST_MAX};
    if (store_audit_list(st, &q, &l, err, sizeof err) < 0)
        return -1;
    long n = (long)l.n_entries;
    store_audit_list_fini(&l);
    return n;
}

/* The value of 'key' (caller frees), NULL when missing; its versions. */
static char *
value_of(struct store *st, const char *key, int64_t *create_rev, int64_t *mod_rev)
{
    char err[ERR_LEN];
    struct store_kv kv;
    if (store_get(st, key, &kv, err, sizeof err) < 0)
        return NULL;
    char *v = kv.value;
    kv.value = NULL;
    if (create_rev)
        *create_rev = kv.create_revision;
    if (mod_rev)
        *mod_rev = kv.mod_revision;
    store_kv_fini(&kv);
    return v;
}

static bool
is_one_line(const char *err)
{
    return err[0] && !strchr(err, '\n');
}

static void
store_puts_and_gets(void)
{
    struct fx f;
    char err[ERR_LEN];
    ASSERT_EQ(fx_init(&f, true), 0);
    int64_t rev = 0;
    ASSERT_EQ(revision(f.st), 0);
    ASSERT_EQ(put1(f.st, "/dse/v1/vm/web1", "{ \"host\" : \"h1\", \"cpus\": 2 }",
                   STORE_MUST_NOT_EXIST, &rev),
              0);
    ASSERT_EQ(rev, 1);
    struct store_kv kv;
    ASSERT_EQ(store_get(f.st, "/dse/v1/vm/web1", &kv, err, sizeof err), 0);
    ASSERT_STREQ(kv.key, "/dse/v1/vm/web1");
    ASSERT_STREQ(kv.value, "{\"host\":\"h1\",\"cpus\":2}");
    ASSERT_EQ(kv.create_revision, 1);
    ASSERT_EQ(kv.mod_revision, 1);
    store_kv_fini(&kv);
    ASSERT_EQ(store_get(f.st, "/dse/v1/vm/web2", &kv, err, sizeof err), -ENOENT);
    ASSERT_TRUE(is_one_line(err));
    ASSERT_NULL(kv.value);
    ASSERT_EQ(revision(f.st), 1);
    fx_fini(&f);
}

static void
store_update_keeps_create_revision(void)
{
    struct fx f;
    ASSERT_EQ(fx_init(&f, true), 0);
    int64_t rev = 0, create = 0, mod = 0;
    ASSERT_EQ(put1(f.st, "/dse/v1/host/h1", "{\"v\":1}", STORE_MUST_NOT_EXIST, &rev), 0);
    ASSERT_EQ(put1(f.st, "/dse/v1/vm/other", "{}", STORE_MUST_NOT_EXIST, &rev), 0);
    ASSERT_EQ(put1(f.st, "/dse/v1/host/h1", "{\"v\":2}", 1, &rev), 0);
    ASSERT_EQ(rev, 3);
    char *v = value_of(f.st, "/dse/v1/host/h1", &create, &mod);
    ASSERT_STREQ(v, "{\"v\":2}");
    free(v);
    ASSERT_EQ(create, 1);
    ASSERT_EQ(mod, 3);
    ASSERT_EQ(put1(f.st, "/dse/v1/host/h1", "{\"v\":3}", STORE_ANY_VERSION, &rev), 0);
    ASSERT_EQ(rev, 4);
    free(value_of(f.st, "/dse/v1/host/h1", &create, &mod));
    ASSERT_EQ(create, 1);
    ASSERT_EQ(mod, 4);
    /* Deleted and created again: a new life, a new create_revision. */
    ASSERT_EQ(del1(f.st, "/dse/v1/host/h1", 4), 0);
    ASSERT_EQ(put1(f.st, "/dse/v1/host/h1", "{\"v\":4}", STORE_MUST_NOT_EXIST, &rev), 0);
    free(value_of(f.st, "/dse/v1/host/h1", &create, &mod));
    ASSERT_EQ(create, 6);
    ASSERT_EQ(mod, 6);
    fx_fini(&f);
}

static void
store_revision_counts_transactions(void)
{
    struct fx f;
    char err[ERR_LEN];
    ASSERT_EQ(fx_init(&f, true), 0);
    struct store_txn *t = store_txn_begin(f.st);
    ASSERT_NOT_NULL(t);
    ASSERT_EQ(store_txn_put(t, "/dse/v1/vm/a", "{}", 0, err, sizeof err), 0);
    ASSERT_EQ(store_txn_put(t, "/dse/v1/vm/b", "{}", 0, err, sizeof err), 0);
    ASSERT_EQ(store_txn_put(t, "/dse/v1/vnic/a/eth0", "{}", 0, err, sizeof err), 0);
    int64_t rev = 0, mod = 0;
    ASSERT_EQ(store_txn_commit(t, &actor, &rev, err, sizeof err), 0);
    ASSERT_EQ(rev, 1);
    const char *keys[] = {"/dse/v1/vm/a", "/dse/v1/vm/b", "/dse/v1/vnic/a/eth0"};
    for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
        free(value_of(f.st, keys[i], NULL, &mod));
        ASSERT_EQ(mod, 1);
    }
    ASSERT_EQ(revision(f.st), 1);
    ASSERT_EQ(n_audit(f.st), 3);
    /* Nothing in it: nothing written, no revision, no audit. */
    t = store_txn_begin(f.st);
    ASSERT_EQ(store_txn_commit(t, &actor, &rev, err, sizeof err), 0);
    ASSERT_EQ(rev, 1);
    ASSERT_EQ(revision(f.st), 1);
    ASSERT_EQ(n_audit(f.st), 3);
    /* Aborted: the same. */
    t = store_txn_begin(f.st);
    ASSERT_EQ(store_txn_put(t, "/dse/v1/vm/c", "{}", 0, err, sizeof err), 0);
    store_txn_abort(t);
    ASSERT_NULL(value_of(f.st, "/dse/v1/vm/c", NULL, NULL));
    ASSERT_EQ(revision(f.st), 1);
    fx_fini(&f);
}

/* Lists 'prefix' in pages of 'limit' into 'keys' (at most 64).  Returns
 * the count, or -1. */
static int
list_all(struct store *st, const char *prefix, size_t limit, char keys[][32], int *n_pages)
{
    char err[ERR_LEN], after[32] = "";
    int n = 0;
    *n_pages = 0;
    for (;;) {
        struct store_list l;
        if (store_list(st, prefix, after, limit, &l, err, sizeof err) < 0 || l.n_kvs > limit)
            return -1;
        (*n_pages)++;
        for (size_t i = 0; i < l.n_kvs && n < 64; i++)
            snprintf(keys[n++], 32, "%s", l.kvs[i].key);
        bool more = l.more;
        if (l.n_kvs)
            snprintf(after, sizeof after, "%s", l.kvs[l.n_kvs - 1].key);
        store_list_fini(&l);
        if (!more)
            return n;
    }
}

static void
store_lists_by_prefix_in_pages(void)
{
    struct fx f;
    char err[ERR_LEN], key[64], keys[64][32];
    ASSERT_EQ(fx_init(&f, true), 0);
    for (int i = 24; i >= 0; i--) { /* created backwards: listed in key order */
        snprintf(key, sizeof key, "/dse/v1/vm/k%02d", i);
        ASSERT_EQ(put1(f.st, key, "{}", 0, NULL), 0);
    }
    ASSERT_EQ(put1(f.st, "/dse/v1/vmx/a", "{}", 0, NULL), 0);
    ASSERT_EQ(put1(f.st, "/dse/v1/host/h", "{}", 0, NULL), 0);
    int n_pages;
    ASSERT_EQ(list_all(f.st, "/dse/v1/vm/", 10, keys, &n_pages), 25);
    ASSERT_EQ(n_pages, 3);
    for (int i = 0; i < 25; i++) {
        snprintf(key, sizeof key, "/dse/v1/vm/k%02d", i);
        ASSERT_STREQ(keys[i], key);
    }
    ASSERT_EQ(list_all(f.st, "/dse/v1/vm/", 25, keys, &n_pages), 25);
    ASSERT_EQ(n_pages, 1); /* exactly full: no "more" */
    ASSERT_EQ(list_all(f.st, "/dse/v1/vm", 1000, keys, &n_pages), 26);
    ASSERT_EQ(list_all(f.st, "/dse/v1/", 7, keys, &n_pages), 27);
    ASSERT_STREQ(keys[0], "/dse/v1/host/h");
    ASSERT_EQ(list_all(f.st, "/dse/v1/dpu/", 7, keys, &n_pages), 0);

    struct store_list l;
    ASSERT_EQ(store_list(f.st, "/dse/v1/vm/k1", NULL, 2, &l, err, sizeof err), 0);
    ASSERT_EQ(l.n_kvs, 2);
    ASSERT_TRUE(l.more);
    ASSERT_EQ(l.revision, 27);
    ASSERT_STREQ(l.kvs[0].key, "/dse/v1/vm/k10");
    ASSERT_STREQ(l.kvs[0].value, "{}");
    ASSERT_EQ(l.kvs[0].create_revision, 15); /* k24 first, k10 the 15th */
    ASSERT_EQ(l.kvs[0].mod_revision, 15);
    store_list_fini(&l);
    ASSERT_EQ(store_list(f.st, "/dse/v1/vm/", NULL, 0, &l, err, sizeof err), -EINVAL);
    ASSERT_EQ(store_list(f.st, "/dse/v1/vm/", NULL, STORE_LIST_MAX + 1, &l, err, sizeof err),
              -EINVAL);
    ASSERT_EQ(store_list(f.st, "/etc/", NULL, 10, &l, err, sizeof err), -EINVAL);
    ASSERT_TRUE(is_one_line(err));
    ASSERT_EQ(store_list(f.st, "/dse/v1//", NULL, 10, &l, err, sizeof err), -EINVAL);
    fx_fini(&f);
}

static void
store_stale_update_changes_nothing(void)
{
    struct fx f;
    char err[ERR_LEN];
    ASSERT_EQ(fx_init(&f, true), 0);
    ASSERT_EQ(put1(f.st, "/dse/v1/vm/a", "{\"v\":1}", 0, NULL), 0);
    struct store_txn *t = store_txn_begin(f.st);
    ASSERT_EQ(store_txn_put(t, "/dse/v1/vm/b", "{\"v\":1}", 0, err, sizeof err), 0);
    ASSERT_EQ(store_txn_put(t, "/dse/v1/vm/a", "{\"v\":2}", 7, err, sizeof err), 0);
    ASSERT_EQ(store_txn_commit(t, &actor, NULL, err, sizeof err), -ESTALE);
    ASSERT_TRUE(is_one_line(err));
    ASSERT_TRUE(strstr(err, "/dse/v1/vm/a") != NULL);
    int64_t create = 0, mod = 0;
    char *v = value_of(f.st, "/dse/v1/vm/a", &create, &mod);
    ASSERT_STREQ(v, "{\"v\":1}");
    free(v);
    ASSERT_EQ(mod, 1);
    ASSERT_NULL(value_of(f.st, "/dse/v1/vm/b", NULL, NULL));
    ASSERT_EQ(revision(f.st), 1);
    ASSERT_EQ(n_audit(f.st), 1);

    /* A stale delete, after a good put in the same transaction. */
    t = store_txn_begin(f.st);
    ASSERT_EQ(store_txn_put(t, "/dse/v1/vm/c", "{}", 0, err, sizeof err), 0);
    ASSERT_EQ(store_txn_delete(t, "/dse/v1/vm/a", 2, err, sizeof err), 0);
    ASSERT_EQ(store_txn_commit(t, &actor, NULL, err, sizeof err), -ESTALE);
    v = value_of(f.st, "/dse/v1/vm/a", NULL, &mod);
    ASSERT_STREQ(v, "{\"v\":1}");
    free(v);
    ASSERT_NULL(value_of(f.st, "/dse/v1/vm/c", NULL, NULL));
    ASSERT_EQ(revision(f.st), 1);
    ASSERT_EQ(n_audit(f.st), 1);

    /* The right version passes. */
    ASSERT_EQ(put1(f.st, "/dse/v1/vm/a", "{\"v\":2}", 1, NULL), 0);
    ASSERT_EQ(revision(f.st), 2);
    fx_fini(&f);
}

static void
store_refuses_existing_and_missing(void)
{
    struct fx f;
    char err[ERR_LEN];
    ASSERT_EQ(fx_init(&f, true), 0);
    ASSERT_EQ(put1(f.st, "/dse/v1/vm/a", "{\"v\":1}", 0, NULL), 0);
    ASSERT_EQ(put1(f.st, "/dse/v1/vm/a", "{\"v\":2}", STORE_MUST_NOT_EXIST, NULL), -EEXIST);
    ASSERT_EQ(put1(f.st, "/dse/v1/vm/b", "{\"v\":2}", 1, NULL), -ENOENT);
    ASSERT_EQ(del1(f.st, "/dse/v1/vm/b", STORE_ANY_VERSION), -ENOENT);
    ASSERT_EQ(del1(f.st, "/dse/v1/vm/b", 1), -ENOENT);
    ASSERT_NULL(value_of(f.st, "/dse/v1/vm/b", NULL, NULL));
    char *v = value_of(f.st, "/dse/v1/vm/a", NULL, NULL);
    ASSERT_STREQ(v, "{\"v\":1}");
    free(v);
    ASSERT_EQ(revision(f.st), 1);
    ASSERT_EQ(n_audit(f.st), 1);

    /* A missing key fails the others in its transaction. */
    struct store_txn *t = store_txn_begin(f.st);
    ASSERT_EQ(store_txn_delete(t, "/dse/v1/vm/a", 1, err, sizeof err), 0);
    ASSERT_EQ(store_txn_delete(t, "/dse/v1/vm/zz", STORE_ANY_VERSION, err, sizeof err), 0);
    ASSERT_EQ(store_txn_commit(t, &actor, NULL, err, sizeof err), -ENOENT);
    ASSERT_TRUE(strstr(err, "/dse/v1/vm/zz") != NULL);
    ASSERT_NOT_NULL(v = value_of(f.st, "/dse/v1/vm/a", NULL, NULL));
    free(v);
    ASSERT_EQ(del1(f.st, "/dse/v1/vm/a", 1), 0);
    ASSERT_NULL(value_of(f.st, "/dse/v1/vm/a", NULL, NULL));
    ASSERT_EQ(revision(f.st), 2);
    fx_fini(&f);
}

static void
check_entry(const struct store_audit_entry *e, int64_t rev, const char *key, const char *before,
            const char *after)
{
    ASSERT_EQ(e->revision, rev);
    ASSERT_STREQ(e->key, key);
    if (before)
        ASSERT_STREQ(e->before, before);
    else
        ASSERT_NULL(e->before);
    if (after)
        ASSERT_STREQ(e->after, after);
    else
        ASSERT_NULL(e->after);
}

static void
store_audits_each_key_of_a_transaction(void)
{
    struct fx f;
    char err[ERR_LEN];
    ASSERT_EQ(fx_init(&f, true), 0);
    struct store_txn *t = store_txn_begin(f.st);
    ASSERT_EQ(store_txn_put(t, "/dse/v1/vm/a", "{\"v\":1}", 0, err, sizeof err), 0);
    ASSERT_EQ(store_txn_put(t, "/dse/v1/vm/b", "{\"v\":1}", 0, err, sizeof err), 0);
    ASSERT_EQ(store_txn_commit(t, &actor, NULL, err, sizeof err), 0);

    int64_t t0 = wall_ms();
    t = store_txn_begin(f.st);
    ASSERT_EQ(store_txn_put(t, "/dse/v1/vm/c", "{\"v\":1}", 0, err, sizeof err), 0);
    ASSERT_EQ(store_txn_put(t, "/dse/v1/vm/a", "{\"v\":2}", 1, err, sizeof err), 0);
    ASSERT_EQ(store_txn_delete(t, "/dse/v1/vm/b", 1, err, sizeof err), 0);
    struct store_actor bob = {.who = "bob", .from = "198.19.0.10:443", .what = "vm.update"};
    int64_t rev = 0;
    ASSERT_EQ(store_txn_commit(t, &bob, &rev, err, sizeof err), 0);
    ASSERT_EQ(rev, 2);
    int64_t t1 = wall_ms();

    struct store_audit_list l;
    struct store_audit_query q = {.after_revision = 1, .limit = 10};
    ASSERT_EQ(store_audit_list(f.st, &q, &l, err, sizeof err), 0);
    ASSERT_EQ(l.n_entries, 3);
    ASSERT_FALSE(l.more);
    check_entry(&l.entries[0], 2, "/dse/v1/vm/a", "{\"v\":1}", "{\"v\":2}");
    check_entry(&l.entries[1], 2, "/dse/v1/vm/b", "{\"v\":1}", NULL);
    check_entry(&l.entries[2], 2, "/dse/v1/vm/c", NULL, "{\"v\":1}");
    for (size_t i = 0; i < l.n_entries && !check_failed_; i++) {
        ASSERT_STREQ(l.entries[i].who, "bob");
        ASSERT_STREQ(l.entries[i].from, "198.19.0.10:443");
        ASSERT_STREQ(l.entries[i].what, "vm.update");
        ASSERT_GE(l.entries[i].time_ms, t0);
        ASSERT_LE(l.entries[i].time_ms, t1);
    }
    store_audit_list_fini(&l);
    if (check_failed_)
        return;
    /* A missing 'from' is an empty one. */
    bob.from = NULL;
    ASSERT_EQ(put1(f.st, "/dse/v1/vm/d", "{}", 0, NULL), 0);
    t = store_txn_begin(f.st);
    ASSERT_EQ(store_txn_delete(t, "/dse/v1/vm/d", 3, err, sizeof err), 0);
    ASSERT_EQ(store_txn_commit(t, &bob, NULL, err, sizeof err), 0);
    q.after_revision = 3;
    ASSERT_EQ(store_audit_list(f.st, &q, &l, err, sizeof err), 0);
    ASSERT_EQ(l.n_entries, 1);
    ASSERT_STREQ(l.entries[0].from, "");
    check_entry(&l.entries[0], 4, "/dse/v1/vm/d", "{}", NULL);
    store_audit_list_fini(&l);
    fx_fini(&f);
}

/* Pages through the audit with 'q' in pages of 3; returns the count. */
static long
audit_pages(struct store *st, struct store_audit_query q, int64_t *revs, char keys[][32])
{
    char err[ERR_LEN], after[32] = "";
    long n = 0;
    q.limit = 3;
    for (;;) {
        struct store_audit_list l;
        if (store_audit_list(st, &q, &l, err, sizeof err) < 0)
            return -1;
        for (size_t i = 0; i < l.n_entries && n < 64; i++, n++) {
            revs[n] = l.entries[i].revision;
            snprintf(keys[n], 32, "%s", l.entries[i].key);
        }
        bool more = l.more;
        if (l.n_entries) {
            q.after_revision = l.entries[l.n_entries - 1].revision;
            snprintf(after, sizeof after, "%s", l.entries[l.n_entries - 1].key);
            q.after_key = after;
        }
        store_audit_list_fini(&l);
        if (!more)
            return n;
    }
}

static void
store_lists_audit_by_prefix_time_and_page(void)
{
    struct fx f;
    char err[ERR_LEN], keys[64][32];
    int64_t revs[64];
    ASSERT_EQ(fx_init(&f, true), 0);
    int64_t t0 = wall_ms();
    for (int i = 1; i <= 5; i++) {
        struct store_txn *t = store_txn_begin(f.st);
        ASSERT_EQ(store_txn_put(t, "/dse/v1/vm/x", "{}", i == 1 ? 0 : i - 1, err, sizeof err), 0);
        ASSERT_EQ(store_txn_put(t, "/dse/v1/host/y", "{}", i == 1 ? 0 : i - 1, err, sizeof err), 0);
        ASSERT_EQ(store_txn_commit(t, &actor, NULL, err, sizeof err), 0);
    }
    int64_t t1 = wall_ms();

    struct store_audit_query q = {0};
    ASSERT_EQ(audit_pages(f.st, q, revs, keys), 10);
    for (int i = 0; i < 10; i++) { /* revision, then key */
        ASSERT_EQ(revs[i], i / 2 + 1);
        ASSERT_STREQ(keys[i], i % 2 ? "/dse/v1/vm/x" : "/dse/v1/host/y");
    }
    q.prefix = "/dse/v1/vm/";
    ASSERT_EQ(audit_pages(f.st, q, revs, keys), 5);
    for (int i = 0; i < 5; i++) {
        ASSERT_EQ(revs[i], i + 1);
        ASSERT_STREQ(keys[i], "/dse/v1/vm/x");
    }
    q.prefix = NULL;
    q.since_ms = t0;
    q.until_ms = t1 + 1;
    ASSERT_EQ(audit_pages(f.st, q, revs, keys), 10);
    q.since_ms = t1 + 1;
    q.until_ms = 0;
    ASSERT_EQ(audit_pages(f.st, q, revs, keys), 0);
    q.since_ms = 0;
    q.until_ms = t0;
    ASSERT_EQ(audit_pages(f.st, q, revs, keys), 0);
    /* Mid-revision cursor: the rest of revision 3, then 4 and 5. */
    q.until_ms = 0;
    q.after_revision = 3;
    q.after_key = "/dse/v1/host/y";
    ASSERT_EQ(audit_pages(f.st, q, revs, keys), 5);
    ASSERT_EQ(revs[0], 3);
    ASSERT_STREQ(keys[0], "/dse/v1/vm/x");

    struct store_audit_list l;
    struct store_audit_query bad = {.limit = 0};
    ASSERT_EQ(store_audit_list(f.st, &bad, &l, err, sizeof err), -EINVAL);
    bad = (struct store_audit_query){.prefix = "/dse", .limit = 1};
    ASSERT_EQ(store_audit_list(f.st, &bad, &l, err, sizeof err), -EINVAL);
    ASSERT_TRUE(is_one_line(err));
    fx_fini(&f);
}

/* Nothing at all in the store: no key, no revision, no audit entry. */
static bool
is_empty(struct store *st)
{
    char err[ERR_LEN];
    struct store_list l;
    if (store_list(st, STORE_KEY_PREFIX, NULL, 10, &l, err, sizeof err) < 0)
        return false;
    bool empty = !l.n_kvs && !l.revision;
    store_list_fini(&l);
    return empty && revision(st) == 0 && n_audit(st) == 0;
}

static void
store_refuses_bad_keys(void)
{
    static char long_key[STORE_KEY_MAX + 2];
    memset(long_key, 'k', sizeof long_key - 1);
    memcpy(long_key, "/dse/v1/vm/", 11);
    const char *bad[] = {
        "",
        "dse/v1/vm/a",
        "/dse/v2/vm/a",
        "/dse/v1/vm",
        "/dse/v1/",
        "/dse/v1/vm/",
        "/dse/v1//a",
        "/dse/v1/vm//a",
        "/dse/v1/vm/a b",
        "/dse/v1/vm/a\tb",
        "/dse/v1/vm/\xc3\xa9",
        "/dse/v1/vm/a\n",
        "/dse/v1/vm/\x7f",
        "/dse/v1/audit/1",
        "/dse/v1/meta/revision",
        long_key,
        NULL,
    };
    struct fx f;
    char err[ERR_LEN];
    ASSERT_EQ(fx_init(&f, true), 0);
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        err[0] = '\0';
        ASSERT_EQ(store_key_check(bad[i], err, sizeof err), -EINVAL);
        ASSERT_TRUE(is_one_line(err));
        struct store_kv kv;
        ASSERT_EQ(store_get(f.st, bad[i], &kv, err, sizeof err), -EINVAL);
        /* A good put first: the bad one must take it down too. */
        struct store_txn *t = store_txn_begin(f.st);
        ASSERT_EQ(store_txn_put(t, "/dse/v1/vm/good", "{}", 0, err, sizeof err), 0);
        ASSERT_EQ(store_txn_put(t, bad[i], "{}", 0, err, sizeof err), -EINVAL);
        ASSERT_EQ(store_txn_commit(t, &actor, NULL, err, sizeof err), -EINVAL);
        ASSERT_TRUE(is_one_line(err));
        t = store_txn_begin(f.st);
        ASSERT_EQ(store_txn_put(t, "/dse/v1/vm/good", "{}", 0, err, sizeof err), 0);
        ASSERT_EQ(store_txn_delete(t, bad[i], STORE_ANY_VERSION, err, sizeof err), -EINVAL);
        ASSERT_EQ(store_txn_commit(t, &actor, NULL, err, sizeof err), -EINVAL);
        ASSERT_TRUE(is_empty(f.st));
    }
    /* The longest key there may be, and others at the edges, pass. */
    long_key[STORE_KEY_MAX] = '\0';
    const char *good[] = {long_key, "/dse/v1/vm/a", "/dse/v1/dpu/h1/dpu1", "/dse/v1/x/~!@#$%"};
    for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
        ASSERT_EQ(store_key_check(good[i], err, sizeof err), 0);
        ASSERT_EQ(put1(f.st, good[i], "{}", 0, NULL), 0);
    }
    ASSERT_EQ(revision(f.st), (int64_t)ARRAY_SIZE(good));
    fx_fini(&f);
}

/* A JSON object {"p": "xxx..."} of exactly 'len' bytes (caller frees). */
static char *
object_of_len(size_t len)
{
    char *s = malloc(len + 1);
    if (!s)
        return NULL;
    memset(s, 'x', len);
    memcpy(s, "{\"p\":\"", 6);
    memcpy(s + len - 2, "\"}", 3);
    return s;
}

static void
store_refuses_bad_values(void)
{
    char *huge = object_of_len(STORE_VALUE_MAX + 1);
    const char *bad[] = {
        "",
        "[]",
        "\"s\"",
        "1",
        "null",
        "{",
        "{\"a\":1,\"a\":2}",
        "{} {}",
        "{\"a\":\"\\u0000\"}",
        "{\"a\":\"\xff\"}",
        "{'a':1}",
        "{\"a\":1e400}",
        huge,
        NULL,
    };
    struct fx f;
    char err[ERR_LEN];
    ASSERT_NOT_NULL(huge);
    ASSERT_EQ(fx_init(&f, true), 0);
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        struct store_txn *t = store_txn_begin(f.st);
        ASSERT_EQ(store_txn_put(t, "/dse/v1/vm/good", "{}", 0, err, sizeof err), 0);
        err[0] = '\0';
        ASSERT_EQ(store_txn_put(t, "/dse/v1/vm/bad", bad[i], STORE_ANY_VERSION, err, sizeof err),
                  -EINVAL);
        ASSERT_TRUE(is_one_line(err));
        ASSERT_EQ(store_txn_commit(t, &actor, NULL, err, sizeof err), -EINVAL);
        ASSERT_TRUE(is_empty(f.st));
    }
    free(huge);

    /* Bad expectations, a key twice, bad actors. */
    struct store_txn *t = store_txn_begin(f.st);
    ASSERT_EQ(store_txn_put(t, "/dse/v1/vm/a", "{}", -2, err, sizeof err), -EINVAL);
    store_txn_abort(t);
    t = store_txn_begin(f.st);
    ASSERT_EQ(store_txn_delete(t, "/dse/v1/vm/a", STORE_MUST_NOT_EXIST, err, sizeof err), -EINVAL);
    store_txn_abort(t);
    t = store_txn_begin(f.st);
    ASSERT_EQ(store_txn_put(t, "/dse/v1/vm/a", "{}", 0, err, sizeof err), 0);
    ASSERT_EQ(store_txn_delete(t, "/dse/v1/vm/a", STORE_ANY_VERSION, err, sizeof err), -EINVAL);
    ASSERT_TRUE(strstr(err, "twice") != NULL);
    ASSERT_EQ(store_txn_commit(t, &actor, NULL, err, sizeof err), -EINVAL);
    const struct store_actor bad_actors[] = {
        {.who = NULL, .what = "x"},
        {.who = "", .what = "x"},
        {.who = "a", .what = NULL},
        {.who = "a\nb", .what = "x"},
        {.who = "a", .from = "x\r", .what = "x"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad_actors); i++) {
        t = store_txn_begin(f.st);
        ASSERT_EQ(store_txn_put(t, "/dse/v1/vm/a", "{}", 0, err, sizeof err), 0);
        ASSERT_EQ(store_txn_commit(t, &bad_actors[i], NULL, err, sizeof err), -EINVAL);
    }
    ASSERT_TRUE(is_empty(f.st));

    /* A value of exactly 1 MiB passes, and is kept whole. */
    char *max = object_of_len(STORE_VALUE_MAX);
    ASSERT_NOT_NULL(max);
    ASSERT_EQ(put1(f.st, "/dse/v1/vm/big", max, 0, NULL), 0);
    char *v = value_of(f.st, "/dse/v1/vm/big", NULL, NULL);
    ASSERT_TRUE(v && !strcmp(v, max));
    free(v);
    free(max);
    fx_fini(&f);
}

static void
store_refuses_too_many_operations(void)
{
    struct fx f;
    char err[ERR_LEN], key[64];
    ASSERT_EQ(fx_init(&f, true), 0);
    struct store_txn *t = store_txn_begin(f.st);
    for (int i = 0; i < STORE_TXN_MAX_OPS; i++) {
        snprintf(key, sizeof key, "/dse/v1/vm/%d", i);
        ASSERT_EQ(store_txn_put(t, key, "{}", 0, err, sizeof err), 0);
    }
    ASSERT_EQ(store_txn_put(t, "/dse/v1/vm/one-more", "{}", 0, err, sizeof err), -EINVAL);
    ASSERT_EQ(store_txn_commit(t, &actor, NULL, err, sizeof err), -EINVAL);
    ASSERT_TRUE(is_empty(f.st));
    fx_fini(&f);
}

static void
store_persists_across_reopen(void)
{
    struct fx f;
    char err[ERR_LEN];
    ASSERT_EQ(fx_init(&f, true), 0);
    ASSERT_EQ(put1(f.st, "/dse/v1/user/alice", "{\"role\":\"admin\"}", 0, NULL), 0);
    ASSERT_EQ(put1(f.st, "/dse/v1/user/bob", "{\"role\":\"operator\"}", 0, NULL), 0);
    ASSERT_EQ(del1(f.st, "/dse/v1/user/bob", 2), 0);
    store_close(f.st);
    f.st = NULL;
    struct stat sb;
    ASSERT_EQ(stat(f.path, &sb), 0);
    ASSERT_EQ(sb.st_mode & 0777, 0600);
    ASSERT_EQ(store_open(f.path, &f.st, err, sizeof err), 0);
    ASSERT_EQ(revision(f.st), 3);
    int64_t create = 0, mod = 0;
    char *v = value_of(f.st, "/dse/v1/user/alice", &create, &mod);
    ASSERT_STREQ(v, "{\"role\":\"admin\"}");
    free(v);
    ASSERT_EQ(create, 1);
    ASSERT_EQ(mod, 1);
    ASSERT_NULL(value_of(f.st, "/dse/v1/user/bob", NULL, NULL));
    ASSERT_EQ(n_audit(f.st), 3);
    int64_t rev = 0;
    ASSERT_EQ(put1(f.st, "/dse/v1/user/alice", "{\"role\":\"read-only\"}", 1, &rev), 0);
    ASSERT_EQ(rev, 4);
    fx_fini(&f);
}

/* Runs 'sql' on the file itself, beside the store. */
static int
raw_exec(const char *path, const char *sql)
{
    sqlite3 *db;
    int rc = sqlite3_open(path, &db);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(db));
    sqlite3_close(db);
    return rc;
}

/* The first column of the first row of 'sql' as text, in 'out'. */
static int
raw_text(const char *path, const char *sql, char *out, size_t len)
{
    sqlite3 *db;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st) == SQLITE_ROW ? SQLITE_OK : SQLITE_ERROR;
    if (rc == SQLITE_OK)
        snprintf(out, len, "%s", (const char *)sqlite3_column_text(st, 0));
    else
        snprintf(out, len, "(%s: %s)", sql, sqlite3_errmsg(db));
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rc;
}

/* Schema version 1 as it shipped: a file of that version, by hand. */
static const char schema_v1[] =
    "PRAGMA application_id = 1685284145; PRAGMA user_version = 1;"
    "CREATE TABLE kv (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL,"
    "  create_rev INTEGER NOT NULL, mod_rev INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE revisions (rev INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL,"
    "  who TEXT NOT NULL, origin TEXT NOT NULL, what TEXT NOT NULL);"
    "CREATE TABLE audit (rev INTEGER NOT NULL REFERENCES revisions (rev),"
    "  key TEXT NOT NULL, before_json TEXT, after_json TEXT,"
    "  PRIMARY KEY (rev, key)) WITHOUT ROWID;"
    "INSERT INTO revisions VALUES (1, 1000, 'old', 'ctl', 'seed');"
    "INSERT INTO revisions VALUES (2, 2000, 'old', 'ctl', 'seed');"
    "INSERT INTO kv VALUES ('/dse/v1/vm/old', '{\"a\":2}', 1, 2);"
    "INSERT INTO audit VALUES (1, '/dse/v1/vm/old', NULL, '{\"a\":1}');"
    "INSERT INTO audit VALUES (2, '/dse/v1/vm/old', '{\"a\":1}', '{\"a\":2}');";

static void
store_upgrades_schema_1(void)
{
    _Static_assert(STORE_SQLITE_APP_ID == 1685284145, "schema_v1 above");
    struct fx f;
    char err[ERR_LEN], text[128];
    ASSERT_EQ(fx_init(&f, false), 0);
    ASSERT_EQ(raw_exec(f.path, schema_v1), SQLITE_OK);
    ASSERT_EQ(store_open(f.path, &f.st, err, sizeof err), 0);
    ASSERT_EQ(raw_text(f.path, "PRAGMA user_version", text, sizeof text), SQLITE_OK);
    ASSERT_EQ(atoi(text), STORE_SQLITE_SCHEMA_VERSION);
    ASSERT_EQ(raw_text(f.path,
                       "SELECT count(*) FROM sqlite_schema WHERE name IN "
                       "('audit_by_key', 'revisions_by_time')",
                       text, sizeof text),
              SQLITE_OK);
    ASSERT_STREQ(text, "2");
    int64_t create = 0, mod = 0;
    char *v = value_of(f.st, "/dse/v1/vm/old", &create, &mod);
    ASSERT_STREQ(v, "{\"a\":2}");
    free(v);
    ASSERT_EQ(create, 1);
    ASSERT_EQ(mod, 2);
    ASSERT_EQ(revision(f.st), 2);
    struct store_audit_list l;
    struct store_audit_query q = {.prefix = "/dse/v1/vm/old", .limit = 10};
    ASSERT_EQ(store_audit_list(f.st, &q, &l, err, sizeof err), 0);
    ASSERT_EQ(l.n_entries, 2);
    ASSERT_STREQ(l.entries[1].after, "{\"a\":2}");
    ASSERT_EQ(l.entries[1].time_ms, 2000);
    store_audit_list_fini(&l);
    int64_t rev = 0;
    ASSERT_EQ(put1(f.st, "/dse/v1/vm/old", "{\"a\":3}", 2, &rev), 0);
    ASSERT_EQ(rev, 3);
    /* Open again: nothing left to upgrade. */
    store_close(f.st);
    ASSERT_EQ(store_open(f.path, &f.st, err, sizeof err), 0);
    ASSERT_EQ(revision(f.st), 3);
    fx_fini(&f);
}

static void
store_refuses_newer_schema(void)
{
    struct fx f;
    char err[ERR_LEN] = "", text[128], sql[96];
    ASSERT_EQ(fx_init(&f, true), 0);
    ASSERT_EQ(put1(f.st, "/dse/v1/vm/a", "{}", 0, NULL), 0);
    store_close(f.st);
    f.st = NULL;
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", STORE_SQLITE_SCHEMA_VERSION + 1);
    ASSERT_EQ(raw_exec(f.path, sql), SQLITE_OK);
    struct store *st = NULL;
    ASSERT_EQ(store_open(f.path, &st, err, sizeof err), -ENOTSUP);
    ASSERT_NULL(st);
    ASSERT_TRUE(is_one_line(err));
    ASSERT_TRUE(strstr(err, "newer") != NULL);
    ASSERT_EQ(raw_text(f.path, "PRAGMA user_version", text, sizeof text), SQLITE_OK);
    ASSERT_EQ(atoi(text), STORE_SQLITE_SCHEMA_VERSION + 1);
    ASSERT_EQ(raw_text(f.path, "SELECT count(*) FROM kv", text, sizeof text), SQLITE_OK);
    ASSERT_STREQ(text, "1");
    fx_fini(&f);
}

static void
store_refuses_other_files(void)
{
    struct fx f;
    char err[ERR_LEN] = "", text[64];
    ASSERT_EQ(fx_init(&f, false), 0);
    ASSERT_EQ(fs_write_atomic(f.path, "hello, world\n", 13), 0);
    struct store *st = NULL;
    ASSERT_EQ(store_open(f.path, &st, err, sizeof err), -EBADMSG);
    ASSERT_TRUE(is_one_line(err));
    size_t len = 0;
    char *data = fs_read_file(f.path, 100, &len);
    ASSERT_TRUE(data && len == 13 && !memcmp(data, "hello, world\n", 13));
    free(data);
    unlink(f.path);
    ASSERT_EQ(raw_exec(f.path, "CREATE TABLE t (x)"), SQLITE_OK);
    ASSERT_EQ(store_open(f.path, &st, err, sizeof err), -EBADMSG);
    ASSERT_TRUE(strstr(err, "not a dse store") != NULL);
    ASSERT_EQ(raw_text(f.path, "PRAGMA journal_mode", text, sizeof text), SQLITE_OK);
    ASSERT_STREQ(text, "delete"); /* untouched */
    char dir_path[128];
    snprintf(dir_path, sizeof dir_path, "%s/no/such/dir/store.db", f.dir);
    ASSERT_EQ(store_open(dir_path, &st, err, sizeof err), -ENOENT);
    fx_fini(&f);
}

static void
store_file_is_wal_with_foreign_keys(void)
{
    struct fx f;
    char text[128];
    ASSERT_EQ(fx_init(&f, true), 0);
    ASSERT_EQ(put1(f.st, "/dse/v1/vm/a", "{}", 0, NULL), 0);
    ASSERT_EQ(raw_text(f.path, "PRAGMA journal_mode", text, sizeof text), SQLITE_OK);
    ASSERT_STREQ(text, "wal");
    /* An audit row must name a revision that exists. */
    ASSERT_NE(raw_exec(f.path, "PRAGMA foreign_keys = ON;"
                               "INSERT INTO audit VALUES (99, '/dse/v1/vm/a', NULL, '{}')"),
              SQLITE_OK);
    fx_fini(&f);
}

/* fsync() and fdatasync() of this process, libsqlite3's among them (ours
 * come first in the symbol lookup), counted. */
static int n_syncs;

int
fsync(int fd)
{
    n_syncs++;
    return (int)syscall(SYS_fsync, fd);
}

int
fdatasync(int fd)
{
    n_syncs++;
    return (int)syscall(SYS_fdatasync, fd);
}

/* synchronous=FULL: the WAL is on disk before commit returns, so that a
 * power cut (which no kill test can make) loses no acknowledged change. */
static void
store_commit_syncs_before_it_returns(void)
{
    struct fx f;
    ASSERT_EQ(fx_init(&f, true), 0);
    for (int i = 0; i < 3; i++) {
        char key[32];
        snprintf(key, sizeof key, "/dse/v1/vm/%d", i);
        int before = n_syncs;
        ASSERT_EQ(put1(f.st, key, "{}", 0, NULL), 0);
        ASSERT_GE(n_syncs, before + 1);
    }
    int before = n_syncs; /* a refused transaction has nothing to sync */
    ASSERT_EQ(put1(f.st, "/dse/v1/vm/0", "{}", 0, NULL), -EEXIST);
    ASSERT_EQ(n_syncs, before);
    fx_fini(&f);
}

/* ---- crash safety: store-writer killed ---- */

#define MAX_ACKED 100000

struct acked {
    int64_t rev[MAX_ACKED];
    long i[MAX_ACKED];
    size_t n;
    char line[64];
    size_t line_len;
};

/* Starts store-writer on 'path' with 'tag' and 'fault' as DSE_FAULT (NULL:
 * none); its stdout is '*fd'. */
static int
writer_start(const char *path, const char *tag, const char *fault, pid_t *pid, int *fd)
{
    const char *writer = getenv("STORE_WRITER");
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return -errno;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
    char *argv[] = {(char *)writer, (char *)path, (char *)tag, NULL};
    if (fault)
        setenv("DSE_FAULT", fault, 1);
    int rc = posix_spawn(pid, writer, &fa, NULL, argv, environ);
    unsetenv("DSE_FAULT");
    posix_spawn_file_actions_destroy(&fa);
    close(p[1]);
    if (rc) {
        close(p[0]);
        return -rc;
    }
    *fd = p[0];
    return 0;
}

/* Reads the writer's lines into 'a' until it printed 'want' of them (0:
 * until it ends) or 'deadline'.  Returns 0 or -ETIMEDOUT. */
static int
writer_read(int fd, struct acked *a, size_t want, uint64_t deadline)
{
    while (!want || a->n < want) {
        int rc = fd_wait(fd, POLLIN, deadline);
        if (rc < 0)
            return rc;
        char buf[4096];
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : 0; /* 0: the end */
        for (ssize_t k = 0; k < n; k++) {
            if (buf[k] != '\n') {
                if (a->line_len < sizeof a->line - 1)
                    a->line[a->line_len++] = buf[k];
                continue;
            }
            a->line[a->line_len] = '\0';
            a->line_len = 0;
            long long rev;
            long i;
            if (a->n < MAX_ACKED && sscanf(a->line, "%lld %ld", &rev, &i) == 2) {
                a->rev[a->n] = rev;
                a->i[a->n++] = i;
            }
        }
    }
    return 0;
}

/* Kills the writer with SIGKILL after 'want' acknowledged transactions
 * (0: lets it die by itself) and reads what it printed up to its death.
 * Returns its wait status, or -1. */
static int
writer_run(const char *path, const char *tag, const char *fault, size_t want, struct acked *a)
{
    pid_t pid;
    int fd = -1, status = -1;
    memset(a, 0, sizeof *a);
    if (writer_start(path, tag, fault, &pid, &fd) < 0)
        return -1;
    uint64_t deadline = now_ms() + 30000;
    int rc = writer_read(fd, a, want, deadline);
    kill(pid, SIGKILL);
    if (!rc)
        rc = writer_read(fd, a, 0, deadline); /* what it printed before it died */
    close(fd);
    waitpid(pid, &status, 0);
    if (rc < 0)
        fprintf(stderr, "store-writer: %zu lines, then: %s\n", a->n, strerror(-rc));
    return rc < 0 ? -1 : status;
}

/* integrity_check and foreign_key_check of the file, as SQLite sees it. */
static void
check_file_integrity(const char *path)
{
    char text[256];
    ASSERT_EQ(raw_text(path, "PRAGMA integrity_check", text, sizeof text), SQLITE_OK);
    ASSERT_STREQ(text, "ok");
    /* No row: no violation (raw_text() fails on an empty answer). */
    ASSERT_NE(raw_text(path, "PRAGMA foreign_key_check", text, sizeof text), SQLITE_OK);
}

/* Every transaction the writer acknowledged is in the store, whole. */
static void
check_acked(struct store *st, const char *tag, const struct acked *a)
{
    char key[64], err[ERR_LEN];
    for (size_t k = 0; k < a->n; k++) {
        snprintf(key, sizeof key, "/dse/v1/vm/%s-%ld", tag, a->i[k]);
        int64_t create = 0;
        char *v = value_of(st, key, &create, NULL);
        ASSERT_NOT_NULL(v);
        json_t *j = json_loads(v, 0, NULL);
        free(v);
        json_int_t i = json_integer_value(json_object_get(j, "i"));
        json_decref(j);
        ASSERT_EQ(i, a->i[k]);
        ASSERT_EQ(create, a->rev[k]);
        struct store_audit_list l;
        struct store_audit_query q = {.after_revision = a->rev[k] - 1, .limit = 3};
        ASSERT_EQ(store_audit_list(st, &q, &l, err, sizeof err), 0);
        size_t n = 0;
        for (size_t e = 0; e < l.n_entries; e++)
            n += l.entries[e].revision == a->rev[k];
        store_audit_list_fini(&l);
        ASSERT_EQ(n, 2);
    }
    if (!a->n)
        return;
    snprintf(key, sizeof key, "/dse/v1/host/%s", tag);
    int64_t mod = 0;
    char *v = value_of(st, key, NULL, &mod);
    ASSERT_NOT_NULL(v);
    free(v);
    ASSERT_GE(mod, a->rev[a->n - 1]);
    ASSERT_GE(revision(st), a->rev[a->n - 1]);
}

static void
store_keeps_what_it_acknowledged_across_kill_9(void)
{
    static struct acked a;
    struct fx f;
    char err[ERR_LEN], tag[16];
    ASSERT_NOT_NULL(getenv("STORE_WRITER")); /* meson sets it */
    ASSERT_EQ(fx_init(&f, false), 0);
    for (int round = 1; round <= 4; round++) {
        snprintf(tag, sizeof tag, "k%d", round);
        size_t want = 100 + 97 * (size_t)round; /* a kill at a different step each time */
        int status = writer_run(f.path, tag, NULL, want, &a);
        ASSERT_TRUE(status != -1 && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        ASSERT_GE(a.n, want);
        check_file_integrity(f.path);
        if (check_failed_)
            return;
        ASSERT_EQ(store_open(f.path, &f.st, err, sizeof err), 0);
        check_acked(f.st, tag, &a);
        store_close(f.st);
        f.st = NULL;
        if (check_failed_)
            return;
    }
    fx_fini(&f);
}

static void
store_loses_a_whole_transaction_killed_in_commit(void)
{
    static struct acked a;
    struct fx f;
    char err[ERR_LEN];
    ASSERT_NOT_NULL(getenv("STORE_WRITER")); /* meson sets it */
    ASSERT_EQ(fx_init(&f, false), 0);
    int status = writer_run(f.path, "f", "store-writer/store.commit.written:50", 0, &a);
    ASSERT_TRUE(status != -1 && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    ASSERT_EQ(a.n, 49);
    check_file_integrity(f.path);
    ASSERT_EQ(store_open(f.path, &f.st, err, sizeof err), 0);
    check_acked(f.st, "f", &a);
    ASSERT_EQ(revision(f.st), 49);
    ASSERT_NULL(value_of(f.st, "/dse/v1/vm/f-50", NULL, NULL));
    char *v = value_of(f.st, "/dse/v1/host/f", NULL, NULL);
    ASSERT_STREQ(v, "{\"i\":49}");
    free(v);
    struct store_audit_list l;
    struct store_audit_query q = {.after_revision = 49, .limit = 10};
    ASSERT_EQ(store_audit_list(f.st, &q, &l, err, sizeof err), 0);
    ASSERT_EQ(l.n_entries, 0);
    store_audit_list_fini(&l);
    fx_fini(&f);
}

TEST_MAIN(TEST(store_puts_and_gets), TEST(store_update_keeps_create_revision),
          TEST(store_revision_counts_transactions), TEST(store_lists_by_prefix_in_pages),
          TEST(store_stale_update_changes_nothing), TEST(store_refuses_existing_and_missing),
          TEST(store_audits_each_key_of_a_transaction),
          TEST(store_lists_audit_by_prefix_time_and_page), TEST(store_refuses_bad_keys),
          TEST(store_refuses_bad_values), TEST(store_refuses_too_many_operations),
          TEST(store_persists_across_reopen), TEST(store_upgrades_schema_1),
          TEST(store_refuses_newer_schema), TEST(store_refuses_other_files),
          TEST(store_file_is_wal_with_foreign_keys), TEST(store_commit_syncs_before_it_returns),
          TEST(store_keeps_what_it_acknowledged_across_kill_9),
          TEST(store_loses_a_whole_transaction_killed_in_commit))
