/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store-sqlite: the store in one SQLite file (store-private.h), WAL mode,
 * synchronous=FULL, foreign keys on.
 *
 * Tables: kv (key -> value, create_rev, mod_rev: etcd's KeyValue), revisions
 * (one row per committed transaction: its time, who, from where, what) and
 * audit (one row per key a revision changed, the object before and after;
 * each row references its revision).  The store's revision is the highest
 * row of revisions.  kv references nothing: a key means the same here as in
 * etcd, and old revisions can be compacted away without touching it.
 *
 * The schema is versioned (PRAGMA user_version) and upgraded at open by the
 * migrations below, all in one transaction: add one at the end, never edit
 * one that shipped.
 */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/fault.h"
#include "lib/util.h"
#include "manager/store-private.h"

/* Migration N - 1 takes the schema from version N - 1 to N. */
static const char *const migrations[] = {
    /* 1: the keys, the revisions and their audit rows. */
    "CREATE TABLE kv (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL,"
    "  create_rev INTEGER NOT NULL, mod_rev INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE revisions (rev INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL,"
    "  who TEXT NOT NULL, origin TEXT NOT NULL, what TEXT NOT NULL);"
    "CREATE TABLE audit (rev INTEGER NOT NULL REFERENCES revisions (rev),"
    "  key TEXT NOT NULL, before_json TEXT, after_json TEXT,"
    "  PRIMARY KEY (rev, key)) WITHOUT ROWID;",
    /* 2: the audit by key and by time. */
    "CREATE INDEX audit_by_key ON audit (key, rev);"
    "CREATE INDEX revisions_by_time ON revisions (time_ms);",
};
_Static_assert(ARRAY_SIZE(migrations) == STORE_SQLITE_SCHEMA_VERSION, "one migration a version");

enum sq_stmt {
    SQ_BEGIN,
    SQ_BEGIN_READ,
    SQ_COMMIT,
    SQ_ROLLBACK,
    SQ_REVISION,
    SQ_GET,
    SQ_LIST,
    SQ_PUT,
    SQ_DELETE,
    SQ_ADD_REVISION,
    SQ_ADD_AUDIT,
    SQ_AUDIT_LIST,
    SQ_N_STMTS
};

static const char *const stmt_sql[SQ_N_STMTS] = {
    [SQ_BEGIN] = "BEGIN IMMEDIATE",
    [SQ_BEGIN_READ] = "BEGIN",
    [SQ_COMMIT] = "COMMIT",
    [SQ_ROLLBACK] = "ROLLBACK",
    [SQ_REVISION] = "SELECT COALESCE(MAX(rev), 0) FROM revisions",
    [SQ_GET] = "SELECT value, create_rev, mod_rev FROM kv WHERE key = ?1",
    [SQ_LIST] = "SELECT key, value, create_rev, mod_rev FROM kv"
                " WHERE key >= ?1 AND key < ?2 AND key > ?3 ORDER BY key LIMIT ?4",
    [SQ_PUT] = "INSERT INTO kv (key, value, create_rev, mod_rev) VALUES (?1, ?2, ?3, ?3)"
               " ON CONFLICT (key) DO UPDATE SET value = excluded.value,"
               " mod_rev = excluded.mod_rev",
    [SQ_DELETE] = "DELETE FROM kv WHERE key = ?1",
    [SQ_ADD_REVISION] = "INSERT INTO revisions (rev, time_ms, who, origin, what)"
                        " VALUES (?1, ?2, ?3, ?4, ?5)",
    [SQ_ADD_AUDIT] = "INSERT INTO audit (rev, key, before_json, after_json)"
                     " VALUES (?1, ?2, ?3, ?4)",
    [SQ_AUDIT_LIST] = "SELECT a.rev, r.time_ms, r.who, r.origin, r.what, a.key,"
                      " a.before_json, a.after_json"
                      " FROM audit AS a JOIN revisions AS r ON r.rev = a.rev"
                      " WHERE a.key >= ?1 AND a.key < ?2 AND r.time_ms >= ?3"
                      " AND r.time_ms < ?4 AND (a.rev, a.key) > (?5, ?6)"
                      " ORDER BY a.rev, a.key LIMIT ?7",
};

#define BUSY_TIMEOUT_MS 5000

struct sq {
    sqlite3 *db;
    char *path;
    sqlite3_stmt *stmts[SQ_N_STMTS];
};

static int
errno_of(int code)
{
    switch (code & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return -EBUSY;
    case SQLITE_NOMEM:
        return -ENOMEM;
    case SQLITE_FULL:
        return -ENOSPC;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return -EBADMSG;
    case SQLITE_READONLY:
        return -EROFS;
    case SQLITE_PERM:
    case SQLITE_AUTH:
        return -EACCES;
    default:
        return -EIO;
    }
}

/* Fails with SQLite's reason for 'code' while doing 'what'. */
static int
sq_fail(struct sq *s, int code, const char *what, char *err, size_t err_len)
{
    return err_set(err, err_len, errno_of(code), "store %s: %s: %s", s->path, what,
                   sqlite3_errmsg(s->db));
}

/* Resets a statement for its next use.  Its error, if any, was taken. */
static void
sq_done(sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

/* Runs a statement that returns no rows. */
static int
sq_run(struct sq *s, enum sq_stmt i, const char *what, char *err, size_t err_len)
{
    int code = sqlite3_step(s->stmts[i]);
    int rc = code == SQLITE_DONE ? 0 : sq_fail(s, code, what, err, err_len);
    sq_done(s->stmts[i]);
    return rc;
}

/* Ends a failed transaction, whose error was already taken. */
static void
sq_rollback(struct sq *s)
{
    if (!sqlite3_get_autocommit(s->db))
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

/* One integer from 'sql' (a pragma or a query; before the statements). */
static int
sq_query_int(struct sq *s, const char *sql, int64_t *out, char *err, size_t err_len)
{
    sqlite3_stmt *st;
    int code = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (code != SQLITE_OK)
        return sq_fail(s, code, sql, err, err_len);
    code = sqlite3_step(st);
    int rc = code == SQLITE_ROW
                 ? 0
                 : sq_fail(s, code == SQLITE_DONE ? SQLITE_ERROR : code, sql, err, err_len);
    if (!rc)
        *out = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return rc;
}

static int
sq_exec(struct sq *s, const char *sql, const char *what, char *err, size_t err_len)
{
    int code = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    return code == SQLITE_OK ? 0 : sq_fail(s, code, what, err, err_len);
}

/* Creates the file with mode 0600 (it will hold users and tokens) and makes
 * its name durable, or leaves an existing one as it is. */
static int
sq_create_file(const char *path, char *err, size_t err_len)
{
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return errno == EEXIST
                   ? 0
                   : err_set(err, err_len, -errno, "store %s: %s", path, strerror(errno));
    close(fd);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else
        slash[slash == dir] = '\0'; /* "/x" -> "/" */
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) < 0) {
        int e = errno;
        if (dfd >= 0)
            close(dfd);
        return err_set(err, err_len, -e, "store %s: sync of %s: %s", path, dir, strerror(e));
    }
    close(dfd);
    return 0;
}

/* Refuses a file that is not a store of ours, or one of a newer schema.
 * Sets '*version' to its schema version (0: an empty file). */
static int
sq_check_file(struct sq *s, int64_t *version, char *err, size_t err_len)
{
    int64_t app_id, n_tables;
    int rc = sq_query_int(s, "PRAGMA user_version", version, err, err_len);
    if (!rc)
        rc = sq_query_int(s, "PRAGMA application_id", &app_id, err, err_len);
    if (!rc)
        rc = sq_query_int(s, "SELECT count(*) FROM sqlite_schema", &n_tables, err, err_len);
    if (rc < 0)
        return rc;
    if (*version ? app_id != STORE_SQLITE_APP_ID : n_tables != 0)
        return err_set(err, err_len, -EBADMSG, "store %s: an SQLite file, but not a dse store",
                       s->path);
    if (*version > STORE_SQLITE_SCHEMA_VERSION)
        return err_set(err, err_len, -ENOTSUP,
                       "store %s: schema version %lld is newer than this program's %d (written "
                       "by a newer dse?): refusing to open it",
                       s->path, (long long)*version, STORE_SQLITE_SCHEMA_VERSION);
    return 0;
}

/* Brings the schema to STORE_SQLITE_SCHEMA_VERSION in one transaction. */
static int
sq_migrate(struct sq *s, char *err, size_t err_len)
{
    int64_t version = 0;
    int rc = sq_exec(s, "BEGIN IMMEDIATE", "begin", err, err_len);
    if (!rc)
        rc = sq_check_file(s, &version, err, err_len); /* again, under the lock */
    for (int64_t v = version; !rc && v < STORE_SQLITE_SCHEMA_VERSION; v++) {
        char what[64];
        snprintf(what, sizeof what, "upgrade to schema version %lld", (long long)v + 1);
        rc = sq_exec(s, migrations[v], what, err, err_len);
    }
    if (!rc && version < STORE_SQLITE_SCHEMA_VERSION) {
        char sql[128];
        snprintf(sql, sizeof sql, "PRAGMA user_version = %d; PRAGMA application_id = %d",
                 STORE_SQLITE_SCHEMA_VERSION, STORE_SQLITE_APP_ID);
        rc = sq_exec(s, sql, "set the schema version", err, err_len);
    }
    if (!rc)
        rc = sq_exec(s, "COMMIT", "commit the schema", err, err_len);
    if (rc < 0)
        sq_rollback(s);
    return rc;
}

/* Pragmas first (foreign_keys is ignored inside a transaction), the checks
 * before WAL mode (which rewrites the header of a file we may refuse). */
static int
sq_setup(struct sq *s, char *err, size_t err_len)
{
    int64_t version;
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
    int rc =
        sq_exec(s, "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL", "pragmas", err, err_len);
    if (!rc)
        rc = sq_check_file(s, &version, err, err_len);
    if (rc < 0)
        return rc;
    sqlite3_stmt *st;
    int code = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
    const char *mode = NULL;
    if (code == SQLITE_OK && (code = sqlite3_step(st)) == SQLITE_ROW &&
        (!(mode = (const char *)sqlite3_column_text(st, 0)) || strcmp(mode, "wal")))
        rc = err_set(err, err_len, -EIO, "store %s: WAL mode refused (journal mode %s)", s->path,
                     mode ? mode : "unknown");
    else if (code != SQLITE_ROW)
        rc = sq_fail(s, code, "WAL mode", err, err_len);
    sqlite3_finalize(st);
    if (!rc)
        rc = sq_migrate(s, err, err_len);
    for (int i = 0; !rc && i < SQ_N_STMTS; i++) {
        code = sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->stmts[i],
                                  NULL);
        if (code != SQLITE_OK)
            rc = sq_fail(s, code, "prepare", err, err_len);
    }
    return rc;
}

static void
sq_close(void *be)
{
    struct sq *s = be;
    if (!s)
        return;
    for (int i = 0; i < SQ_N_STMTS; i++)
        sqlite3_finalize(s->stmts[i]);
    sqlite3_close_v2(s->db);
    free(s->path);
    free(s);
}

static int
sq_open(const char *path, void **out, char *err, size_t err_len)
{
    struct sq *s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(path))) {
        free(s);
        return err_set(err, err_len, -ENOMEM, "store: out of memory");
    }
    int rc = sq_create_file(path, err, err_len);
    if (rc < 0)
        goto err_free;
    int code = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (code != SQLITE_OK) {
        int e = sqlite3_system_errno(s->db);
        rc = e ? err_set(err, err_len, -e, "store %s: %s", path, strerror(e))
               : sq_fail(s, code, "open", err, err_len);
        goto err_free;
    }
    rc = sq_setup(s, err, err_len);
    if (rc < 0)
        goto err_free;
    *out = s;
    return 0;

err_free:
    sq_close(s);
    return rc;
}

/* A copy of text column 'i', NULL for SQL NULL.  Returns false when out of
 * memory. */
static bool
col_dup(sqlite3_stmt *st, int i, char **out)
{
    const char *t = (const char *)sqlite3_column_text(st, i);
    *out = t ? strdup(t) : NULL;
    return !t || *out;
}

static int
sq_revision_locked(struct sq *s, int64_t *rev, char *err, size_t err_len)
{
    sqlite3_stmt *st = s->stmts[SQ_REVISION];
    int code = sqlite3_step(st);
    int rc = code == SQLITE_ROW ? 0 : sq_fail(s, code, "revision", err, err_len);
    if (!rc)
        *rev = sqlite3_column_int64(st, 0);
    sq_done(st);
    return rc;
}

static int
sq_revision(void *be, int64_t *rev, char *err, size_t err_len)
{
    return sq_revision_locked(be, rev, err, err_len);
}

/* Reads 'key' into 'out' (zeroed when missing).  Returns 0, -ENOENT (with
 * no reason) or another error. */
static int
sq_read(struct sq *s, const char *key, struct store_kv *out, char *err, size_t err_len)
{
    sqlite3_stmt *st = s->stmts[SQ_GET];
    memset(out, 0, sizeof *out);
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int code = sqlite3_step(st), rc = 0;
    if (code == SQLITE_DONE)
        rc = -ENOENT;
    else if (code != SQLITE_ROW)
        rc = sq_fail(s, code, "get", err, err_len);
    else if (!(out->key = strdup(key)) || !col_dup(st, 0, &out->value))
        rc = err_set(err, err_len, -ENOMEM, "store: out of memory");
    if (!rc) {
        out->create_revision = sqlite3_column_int64(st, 1);
        out->mod_revision = sqlite3_column_int64(st, 2);
    }
    sq_done(st);
    if (rc < 0)
        store_kv_fini(out);
    return rc;
}

static int
sq_get(void *be, const char *key, struct store_kv *out, char *err, size_t err_len)
{
    int rc = sq_read(be, key, out, err, err_len);
    if (rc == -ENOENT)
        err_set(err, err_len, rc, "key '%.80s': not found", key);
    return rc;
}

/* The end of the range of keys that start with 'prefix': its last byte
 * plus one (a printable byte, so no overflow). */
static void
prefix_end(const char *prefix, char end[static STORE_KEY_MAX + 1])
{
    size_t len = strlen(prefix);
    memcpy(end, prefix, len + 1);
    end[len - 1]++;
}

/* Steps the list statement, already bound, into 'out' ('limit' + 1 asked). */
static int
sq_list_rows(struct sq *s, size_t limit, struct store_list *out, char *err, size_t err_len)
{
    sqlite3_stmt *st = s->stmts[SQ_LIST];
    int code;
    while ((code = sqlite3_step(st)) == SQLITE_ROW) {
        if (out->n_kvs == limit) {
            out->more = true;
            break;
        }
        struct store_kv *kv = &out->kvs[out->n_kvs++];
        if (!col_dup(st, 0, &kv->key) || !col_dup(st, 1, &kv->value))
            return err_set(err, err_len, -ENOMEM, "store: out of memory");
        kv->create_revision = sqlite3_column_int64(st, 2);
        kv->mod_revision = sqlite3_column_int64(st, 3);
    }
    return code == SQLITE_ROW || code == SQLITE_DONE ? 0 : sq_fail(s, code, "list", err, err_len);
}

static int
sq_list(void *be, const char *prefix, const char *after, size_t limit, struct store_list *out,
        char *err, size_t err_len)
{
    struct sq *s = be;
    char end[STORE_KEY_MAX + 1];
    prefix_end(prefix, end);
    if (!(out->kvs = calloc(limit, sizeof *out->kvs)))
        return err_set(err, err_len, -ENOMEM, "store: out of memory");
    /* One read transaction: the revision is that of the keys listed. */
    int rc = sq_run(s, SQ_BEGIN_READ, "begin", err, err_len);
    if (!rc)
        rc = sq_revision_locked(s, &out->revision, err, err_len);
    if (!rc) {
        sqlite3_stmt *st = s->stmts[SQ_LIST];
        sqlite3_bind_text(st, 1, prefix, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, end, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, after, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, (int64_t)limit + 1);
        rc = sq_list_rows(s, limit, out, err, err_len);
        sq_done(st);
    }
    if (!rc)
        rc = sq_run(s, SQ_COMMIT, "end of read", err, err_len);
    if (rc < 0) {
        sq_rollback(s);
        store_list_fini(out);
    }
    return rc;
}

/* Whether 'op' may apply to a key at version 'mod_rev' (0: missing). */
static int
expect_check(const struct store_op *op, int64_t mod_rev, char *err, size_t err_len)
{
    if (op->expected == STORE_MUST_NOT_EXIST && mod_rev)
        return err_set(err, err_len, -EEXIST, "key '%.80s': exists (version %lld)", op->key,
                       (long long)mod_rev);
    if (!mod_rev && op->expected != STORE_MUST_NOT_EXIST && (op->expected > 0 || !op->value))
        return err_set(err, err_len, -ENOENT, "key '%.80s': not found", op->key);
    if (op->expected > 0 && mod_rev != op->expected)
        return err_set(err, err_len, -ESTALE, "key '%.80s': version %lld, not the %lld expected",
                       op->key, (long long)mod_rev, (long long)op->expected);
    return 0;
}

/* Writes 'op' of revision 'rev' and its audit row, 'before' being the
 * key's value before it (NULL: missing). */
static int
sq_write(struct sq *s, const struct store_op *op, int64_t rev, const char *before, char *err,
         size_t err_len)
{
    sqlite3_stmt *st = s->stmts[op->value ? SQ_PUT : SQ_DELETE];
    sqlite3_bind_text(st, 1, op->key, -1, SQLITE_STATIC);
    if (op->value) {
        sqlite3_bind_text(st, 2, op->value, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, rev);
    }
    int rc = sq_run(s, op->value ? SQ_PUT : SQ_DELETE, "write", err, err_len);
    if (rc < 0)
        return rc;
    st = s->stmts[SQ_ADD_AUDIT];
    sqlite3_bind_int64(st, 1, rev);
    sqlite3_bind_text(st, 2, op->key, -1, SQLITE_STATIC);
    if (before)
        sqlite3_bind_text(st, 3, before, -1, SQLITE_STATIC);
    if (op->value)
        sqlite3_bind_text(st, 4, op->value, -1, SQLITE_STATIC);
    return sq_run(s, SQ_ADD_AUDIT, "audit", err, err_len);
}

static int
sq_apply(struct sq *s, const struct store_op *op, int64_t rev, char *err, size_t err_len)
{
    struct store_kv cur;
    int rc = sq_read(s, op->key, &cur, err, err_len);
    if (rc < 0 && rc != -ENOENT)
        return rc;
    rc = expect_check(op, cur.mod_revision, err, err_len);
    if (!rc)
        rc = sq_write(s, op, rev, cur.value, err, err_len);
    store_kv_fini(&cur);
    return rc;
}

static int
sq_add_revision(struct sq *s, int64_t rev, const struct store_commit *c, char *err, size_t err_len)
{
    sqlite3_stmt *st = s->stmts[SQ_ADD_REVISION];
    sqlite3_bind_int64(st, 1, rev);
    sqlite3_bind_int64(st, 2, c->time_ms);
    sqlite3_bind_text(st, 3, c->actor->who, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, c->actor->from, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, c->actor->what, -1, SQLITE_STATIC);
    return sq_run(s, SQ_ADD_REVISION, "revision", err, err_len);
}

static int
sq_commit(void *be, const struct store_commit *c, int64_t *rev_out, char *err, size_t err_len)
{
    struct sq *s = be;
    int64_t rev = 0;
    int rc = sq_run(s, SQ_BEGIN, "begin", err, err_len);
    if (!rc)
        rc = sq_revision_locked(s, &rev, err, err_len);
    if (!rc)
        rc = sq_add_revision(s, ++rev, c, err, err_len);
    for (size_t i = 0; !rc && i < c->n_ops; i++)
        rc = sq_apply(s, &c->ops[i], rev, err, err_len);
    if (!rc) {
        /* Everything written, nothing committed: a crash here loses it all. */
        fault_point("store.commit.written");
        rc = sq_run(s, SQ_COMMIT, "commit", err, err_len);
    }
    if (rc < 0) {
        sq_rollback(s);
        return rc;
    }
    *rev_out = rev;
    return 0;
}

static bool
audit_row(sqlite3_stmt *st, struct store_audit_entry *e)
{
    e->revision = sqlite3_column_int64(st, 0);
    e->time_ms = sqlite3_column_int64(st, 1);
    return col_dup(st, 2, &e->who) && col_dup(st, 3, &e->from) && col_dup(st, 4, &e->what) &&
           col_dup(st, 5, &e->key) && col_dup(st, 6, &e->before) && col_dup(st, 7, &e->after);
}

static int
sq_audit_list(void *be, const struct store_audit_query *q, struct store_audit_list *out, char *err,
              size_t err_len)
{
    struct sq *s = be;
    sqlite3_stmt *st = s->stmts[SQ_AUDIT_LIST];
    char end[STORE_KEY_MAX + 1];
    prefix_end(q->prefix, end);
    if (!(out->entries = calloc(q->limit, sizeof *out->entries)))
        return err_set(err, err_len, -ENOMEM, "store: out of memory");
    sqlite3_bind_text(st, 1, q->prefix, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, end, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, q->since_ms);
    sqlite3_bind_int64(st, 4, q->until_ms);
    sqlite3_bind_int64(st, 5, q->after_revision);
    sqlite3_bind_text(st, 6, q->after_key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 7, (int64_t)q->limit + 1);
    int code = SQLITE_DONE, rc = 0;
    while (!rc && (code = sqlite3_step(st)) == SQLITE_ROW) {
        if (out->n_entries == q->limit) {
            out->more = true;
            break;
        }
        if (!audit_row(st, &out->entries[out->n_entries++]))
            rc = err_set(err, err_len, -ENOMEM, "store: out of memory");
    }
    if (!rc && code != SQLITE_ROW && code != SQLITE_DONE)
        rc = sq_fail(s, code, "audit", err, err_len);
    sq_done(st);
    if (rc < 0)
        store_audit_list_fini(out);
    return rc;
}

const struct store_backend store_sqlite_backend = {
    .name = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .revision = sq_revision,
    .get = sq_get,
    .list = sq_list,
    .commit = sq_commit,
    .audit_list = sq_audit_list,
};
