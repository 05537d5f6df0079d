/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store: the manager's store.  Everything dse-manager keeps (inventory,
 * desired state, alarms, events, tasks, users, roles, tokens) is a JSON
 * object under a path key, and every change is a transaction that writes its
 * own audit record.  The interface is etcd v3's, so that an etcd backend can
 * follow with the same keys and no schema change (docs/store.md); today the
 * one backend is SQLite (store-sqlite.c): one file in WAL mode, synchronous=
 * FULL, so a transaction whose commit returned survives kill -9 of the
 * process and a power cut.
 *
 * Keys: "/dse/v1/KIND/NAME", printable ASCII without spaces, no empty segment
 * ("//"), no trailing '/', 512 bytes at most.  An object that belongs to a
 * parent for life has the parent in its key; one that can move names its
 * parent in its value:
 *
 *     /dse/v1/datacenter/DC
 *     /dse/v1/cluster/CLUSTER        {"datacenter": "DC", ...}
 *     /dse/v1/host/HOST              {"cluster": "CLUSTER", ...}   (moves)
 *     /dse/v1/dpu/HOST/DPU           a DPU never leaves its host
 *     /dse/v1/switch/SWITCH          {"datacenter": "DC", ...}
 *     /dse/v1/portgroup/SWITCH/PG    a portgroup never leaves its switch
 *     /dse/v1/vm/VM                  {"host": "HOST", ...}         (migrates)
 *     /dse/v1/vnic/VM/VNIC           a vNIC never leaves its VM
 *     /dse/v1/alarmdef/NAME
 *     /dse/v1/alarm/SEQ              {"alarmdef": "NAME", "object": KEY, ...}
 *     /dse/v1/event/SEQ              SEQ: 20 decimal digits, so that key
 *     /dse/v1/task/SEQ                 order is creation order
 *     /dse/v1/user/NAME
 *     /dse/v1/role/NAME
 *     /dse/v1/token/SHA256           hex of the token's hash, never the token
 *     /dse/v1/audit/..., /dse/v1/meta/...  the store's own: refused to callers
 *
 * Values: a JSON object of 1 MiB at most, kept in compact form (what get()
 * returns may differ from what put() took in white space and number format,
 * never in meaning); duplicate names in an object are refused.
 *
 * Revisions: one store-wide counter, as etcd's.  Each committed transaction
 * that changes anything gets the next revision; each key keeps the revision
 * that created it ('create_revision') and the one that last changed it
 * ('mod_revision': its resource version, what a caller passes back as
 * 'expected' to update it only if nobody else did meanwhile).
 *
 *     txn = begin ---- put(key, value, expected) ---+--> commit: all or nothing
 *                 \--- delete(key, expected) -------+--> abort:  nothing
 *
 *     expected:  STORE_MUST_NOT_EXIST (0)  else -EEXIST
 *                STORE_ANY_VERSION (-1)    put: create or replace; delete:
 *                                          must exist, else -ENOENT
 *                N > 0                     must exist (else -ENOENT) with
 *                                          mod_revision N (else -ESTALE)
 *
 * A put or delete is checked when called (key, value, a key twice in one
 * transaction); a refused one fails the whole transaction: commit returns
 * the same error and writes nothing.  The expectations are checked at
 * commit, where the first that does not hold fails the whole transaction.
 *
 * Audit: commit takes who did it, from where and what (struct store_actor)
 * and writes, in the same transaction, one audit entry per changed key with
 * the object before and after (NULL where it did not exist), the revision and
 * the time.  No change without its audit entry, no audit entry without its
 * change.
 *
 * Thread-safety: none inside.  A struct store and its transactions are used
 * by one thread at a time (dse-manager's event loop).  Another process may
 * open the same file (SQLite locks it; a writer waits up to 5 s for another
 * one), but one manager per store is the design.
 */
#ifndef DSE_STORE_H
#define DSE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_KEY_PREFIX "/dse/v1/"
#define STORE_KEY_MAX 512             /* bytes */
#define STORE_VALUE_MAX (1024 * 1024) /* bytes of JSON */
#define STORE_LIST_MAX 1000           /* a page of store_list(), store_audit_list() */
#define STORE_TXN_MAX_OPS 128         /* etcd's default --max-txn-ops */
#define STORE_ACTOR_MAX 256           /* bytes of who, from, what */

#define STORE_MUST_NOT_EXIST 0
#define STORE_ANY_VERSION (-1)

struct store;
struct store_txn;

struct store_kv {
    char *key;
    char *value; /* a JSON object, compact */
    int64_t create_revision;
    int64_t mod_revision; /* the resource version */
};

struct store_list {
    struct store_kv *kvs;
    size_t n_kvs;
    bool more;        /* keys follow: ask again with 'after' = the last key */
    int64_t revision; /* the store's revision as read */
};

/* Who changed the store: each field one line of printable text of at most
 * STORE_ACTOR_MAX bytes; 'who' and 'what' not empty. */
struct store_actor {
    const char *who;  /* the user, or "dse-manager" for its own work */
    const char *from; /* the peer, e.g. "198.19.0.10:51234" or "ctl"; may be NULL */
    const char *what; /* the operation, e.g. "vm.create" */
};

struct store_audit_entry {
    int64_t revision;
    int64_t time_ms; /* wall clock, milliseconds since the epoch */
    char *who, *from, *what;
    char *key;
    char *before; /* JSON object, or NULL: created */
    char *after;  /* JSON object, or NULL: deleted */
};

/* Which audit entries: those of keys under 'prefix' (NULL: all), committed
 * in [since_ms, until_ms) (0: no bound), that come after the cursor
 * ('after_revision', 'after_key': the last entry of the page before; 0 and
 * NULL: from the first), 'limit' (1..STORE_LIST_MAX) at most, in order of
 * revision, then key. */
struct store_audit_query {
    const char *prefix;
    int64_t since_ms, until_ms;
    int64_t after_revision;
    const char *after_key; /* NULL: after every entry of 'after_revision' */
    size_t limit;
};

struct store_audit_list {
    struct store_audit_entry *entries;
    size_t n_entries;
    bool more; /* entries follow: ask again from the last one's revision and key */
};

/* Opens the store in file 'path', creating it (mode 0600) when missing, and
 * upgrades its schema in one transaction.  Returns 0 and '*out', or -ENOTSUP
 * (a store written by a newer dse), -EBADMSG (not a dse store, or corrupt),
 * -EBUSY (locked by another process), -ENOMEM, or another -errno; 'err' says
 * why.  Close with store_close(). */
int store_open(const char *path, struct store **out, char *err, size_t err_len);
void store_close(struct store *); /* accepts NULL */

/* The store's current revision (0: nothing committed yet).  Returns 0, or
 * -EIO and friends from the backend, with 'err'. */
int store_revision(struct store *, int64_t *rev, char *err, size_t err_len);

/* Reads one key into 'out' (free with store_kv_fini()).  Returns 0, -ENOENT,
 * -EINVAL (a bad key), -ENOMEM, -EIO. */
int store_get(struct store *, const char *key, struct store_kv *out, char *err, size_t err_len);
void store_kv_fini(struct store_kv *); /* accepts a zeroed one */

/* Lists the keys that start with 'prefix' (a key's rules, but it may end in
 * '/' and be STORE_KEY_PREFIX alone) and sort after 'after' (NULL or "":
 * from the first), in byte order, 'limit' (1..STORE_LIST_MAX) at most.
 * Returns 0 and 'out' (free with store_list_fini()), -EINVAL, -ENOMEM, -EIO. */
int store_list(struct store *, const char *prefix, const char *after, size_t limit,
               struct store_list *out, char *err, size_t err_len);
void store_list_fini(struct store_list *); /* accepts a zeroed one */
/* Calls 'fn' on every key under 'prefix', in order, a page at a time (each
 * page one read), until it returns non-zero.  Returns that, 0, or
 * store_list()'s error. */
int store_each(struct store *, const char *prefix, int (*fn)(const struct store_kv *, void *),
               void *aux, char *err, size_t err_len);

/* Begins a transaction.  Returns NULL when out of memory.  It ends with
 * store_txn_commit() or store_txn_abort(), which free it. */
struct store_txn *store_txn_begin(struct store *);

/* Adds a put of 'value' (JSON text) to 'key' to the transaction, expecting
 * the key's version 'expected' (above).  Returns 0, or -EINVAL (bad key,
 * value or expectation, the key already in this transaction, more than
 * STORE_TXN_MAX_OPS operations) or -ENOMEM, which commit will return too. */
int store_txn_put(struct store_txn *, const char *key, const char *value, int64_t expected,
                  char *err, size_t err_len);

/* Adds a delete of 'key', expecting STORE_ANY_VERSION or a version N > 0.
 * Returns as store_txn_put(). */
int store_txn_delete(struct store_txn *, const char *key, int64_t expected, char *err,
                     size_t err_len);

/* Commits the transaction with its audit entries from 'actor', and frees it.
 * Sets '*revision' (may be NULL) to the transaction's revision (the current
 * one for a transaction with nothing in it, which writes nothing).  Returns
 * 0, or with nothing written: -ESTALE (a version was not the one expected),
 * -ENOENT (a key missing), -EEXIST (a key expected not to exist does), the
 * refusal of a put or delete, -EINVAL (a bad actor), -EBUSY (another process
 * held the store for 5 s), -ENOSPC, -ENOMEM, -EIO; 'err' says which key. */
int store_txn_commit(struct store_txn *, const struct store_actor *actor, int64_t *revision,
                     char *err, size_t err_len);
void store_txn_abort(struct store_txn *); /* accepts NULL */

/* Lists audit entries (struct store_audit_query).  Returns 0 and 'out' (free
 * with store_audit_list_fini()), -EINVAL, -ENOMEM, -EIO. */
int store_audit_list(struct store *, const struct store_audit_query *, struct store_audit_list *out,
                     char *err, size_t err_len);
void store_audit_list_fini(struct store_audit_list *); /* accepts a zeroed one */

/* Checks a key (the rules above; the store's own kinds are refused).
 * Returns 0 or -EINVAL with 'err'.  This function touches no store. */
int store_key_check(const char *key, char *err, size_t err_len);

#endif
