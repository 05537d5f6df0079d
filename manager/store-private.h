/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store-private: what store.c shares with its backends.  store.c checks
 * every input (keys, values, expectations, actors) and buffers a
 * transaction's operations; a backend (struct store_backend) only stores
 * them: it gets checked keys and compact JSON values, and applies a whole
 * transaction at once, all or nothing, with its audit entries.
 *
 * Thread-safety: as store.h.
 */
#ifndef DSE_STORE_PRIVATE_H
#define DSE_STORE_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#include "manager/store.h"

/* The SQLite schema this code writes (PRAGMA user_version); a file at a
 * lower one is upgraded at open, a higher one refused.  Its PRAGMA
 * application_id is STORE_SQLITE_APP_ID ("dse1"). */
#define STORE_SQLITE_SCHEMA_VERSION 2
#define STORE_SQLITE_APP_ID 0x64736531

/* One operation of a transaction.  'value' NULL: a delete. */
struct store_op {
    char *key;
    char *value;
    int64_t expected;
};

/* A transaction as the backend gets it: checked, at most STORE_TXN_MAX_OPS
 * operations on distinct keys, at least one. */
struct store_commit {
    const struct store_op *ops;
    size_t n_ops;
    const struct store_actor *actor; /* checked; 'from' never NULL */
    int64_t time_ms;
};

/* A backend.  Each function returns 0 or a negative errno as its store.h
 * counterpart, with a reason in 'err'; 'be' is what open() made. */
struct store_backend {
    const char *name;
    int (*open)(const char *path, void **be, char *err, size_t err_len);
    void (*close)(void *be);
    int (*revision)(void *be, int64_t *rev, char *err, size_t err_len);
    int (*get)(void *be, const char *key, struct store_kv *out, char *err, size_t err_len);
    /* 'after' is never NULL ("": from the first); 'limit' in 1..STORE_LIST_MAX. */
    int (*list)(void *be, const char *prefix, const char *after, size_t limit,
                struct store_list *out, char *err, size_t err_len);
    /* Sets '*rev' to the transaction's revision. */
    int (*commit)(void *be, const struct store_commit *, int64_t *rev, char *err, size_t err_len);
    /* 'q' is checked: 'prefix' and 'after_key' never NULL, 'until_ms' > 0. */
    int (*audit_list)(void *be, const struct store_audit_query *q, struct store_audit_list *out,
                      char *err, size_t err_len);
};

extern const struct store_backend store_sqlite_backend;

#endif
