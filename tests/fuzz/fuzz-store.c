/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz-store: arbitrary keys and values into the manager's store.  The input
 * is KEY NUL VALUE NUL PREFIX (fuzz-util.h).  Each input is put beside a
 * good key in one transaction: a refused key or value must say why in one
 * line and write nothing (the store's revision and the good key unchanged);
 * an accepted one must read back as the same JSON, be audited, and delete
 * again.  PREFIX lists and pages the audit: every key returned is under it.
 * The store is one file in a scratch directory (in /dev/shm when there is
 * one: synchronous=FULL syncs each commit), removed at exit.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "lib/util.h"
#include "manager/store.h"
#include "tests/fuzz/fuzz-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define GOOD_KEY "/dse/v1/fuzz/good"

static const struct store_actor actor = {.who = "fuzz", .from = "", .what = "fuzz"};
static struct store *st;
static char dir[64];

static void
store_remove(void)
{
    store_close(st);
    fs_remove_at(AT_FDCWD, dir);
}

static struct store *
store_get_once(void)
{
    char err[ERR_LEN], path[96];
    if (st)
        return st;
    snprintf(dir, sizeof dir, "%s/dse-fuzz-store-XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    if (!mkdtemp(dir))
        abort();
    snprintf(path, sizeof path, "%s/store.db", dir);
    if (store_open(path, &st, err, sizeof err) < 0) {
        fprintf(stderr, "fuzz-store: %s\n", err);
        abort();
    }
    atexit(store_remove);
    return st;
}

static int64_t
revision(void)
{
    char err[ERR_LEN];
    int64_t rev;
    if (store_revision(st, &rev, err, sizeof err) < 0)
        abort();
    return rev;
}

static int64_t
mod_revision(const char *key)
{
    char err[ERR_LEN];
    struct store_kv kv;
    int rc = store_get(st, key, &kv, err, sizeof err);
    fuzz_check_reason(rc, err);
    int64_t mod = rc < 0 ? 0 : kv.mod_revision;
    store_kv_fini(&kv);
    return mod;
}

/* 'stored' holds the same JSON as 'value'. */
static bool
same_json(const char *stored, const char *value)
{
    json_t *a = json_loads(stored, 0, NULL), *b = json_loads(value, 0, NULL);
    bool same = a && b && json_equal(a, b);
    json_decref(a);
    json_decref(b);
    return same;
}

/* Puts 'key' = 'value' with GOOD_KEY; checks all or nothing happened. */
static void
put_and_check(const char *key, const char *value)
{
    char err[ERR_LEN] = "";
    int64_t rev = revision(), good = mod_revision(GOOD_KEY), new_rev = 0;
    struct store_txn *t = store_txn_begin(st);
    if (!t)
        abort();
    if (store_txn_put(t, GOOD_KEY, "{\"n\":1}", STORE_ANY_VERSION, err, sizeof err) < 0)
        abort();
    int rc = store_txn_put(t, key, value, STORE_ANY_VERSION, err, sizeof err);
    fuzz_check_reason(rc, err);
    int crc = store_txn_commit(t, &actor, &new_rev, err, sizeof err);
    fuzz_check_reason(crc, err);
    if (rc < 0) {
        if (crc != rc || revision() != rev || mod_revision(GOOD_KEY) != good)
            abort(); /* a refusal wrote something */
        return;
    }
    if (crc < 0 || new_rev != rev + 1 || mod_revision(GOOD_KEY) != new_rev)
        abort();
    struct store_kv kv;
    if (store_get(st, key, &kv, err, sizeof err) < 0 || kv.mod_revision != new_rev ||
        !same_json(kv.value, value))
        abort();
    store_kv_fini(&kv);
    t = store_txn_begin(st);
    if (!t || store_txn_delete(t, key, new_rev, err, sizeof err) < 0 ||
        store_txn_commit(t, &actor, NULL, err, sizeof err) < 0 || mod_revision(key))
        abort();
}

/* Lists and pages the audit under 'prefix' after 'after'. */
static void
list_and_check(const char *prefix, const char *after)
{
    char err[ERR_LEN] = "";
    struct store_list l;
    int rc = store_list(st, prefix, after, 3, &l, err, sizeof err);
    fuzz_check_reason(rc, err);
    for (size_t i = 0; rc == 0 && i < l.n_kvs; i++)
        if (strncmp(l.kvs[i].key, prefix, strlen(prefix)) || strcmp(l.kvs[i].key, after) <= 0)
            abort();
    store_list_fini(&l);
    struct store_audit_list a;
    struct store_audit_query q = {
        .prefix = prefix, .after_revision = 1, .after_key = after, .limit = 3};
    rc = store_audit_list(st, &q, &a, err, sizeof err);
    fuzz_check_reason(rc, err);
    for (size_t i = 0; rc == 0 && i < a.n_entries; i++)
        if (strncmp(a.entries[i].key, prefix, strlen(prefix)) || a.entries[i].revision < 1)
            abort();
    store_audit_list_fini(&a);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_pieces p;
    char err[ERR_LEN] = "";
    store_get_once();
    fuzz_split(data, size, 3, &p);
    fuzz_check_reason(store_key_check(p.p[0], err, sizeof err), err);
    if (p.n >= 2 && strcmp(p.p[0], GOOD_KEY))
        put_and_check(p.p[0], p.p[1]);
    if (p.n >= 3)
        list_and_check(p.p[2], p.p[0]);
    fuzz_pieces_free(&p);
    return 0;
}
