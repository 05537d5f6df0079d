/* SPDX-License-Identifier: Apache-2.0 */
/* task: a long operation's record in the store (task.h). */
#include "manager/task.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/util.h"

bool
task_id_is_valid(const char *id)
{
    return id && strlen(id) == TASK_ID_LEN - 1 && strspn(id, "0123456789") == TASK_ID_LEN - 1;
}

/* Puts 'task' at task 'id' (expected as given) in one transaction. */
static int
put(struct store *st, const char *id, json_t *task, int64_t expected,
    const struct store_actor *actor, char *err, size_t err_len)
{
    char key[STORE_KEY_MAX];
    snprintf(key, sizeof key, "%stask/%s", STORE_KEY_PREFIX, id);
    char *text = json_dumps(task, JSON_COMPACT | JSON_SORT_KEYS);
    struct store_txn *t = text ? store_txn_begin(st) : NULL;
    int rc = t ? store_txn_put(t, key, text, expected, err, err_len)
               : err_set(err, err_len, -ENOMEM, "out of memory");
    free(text);
    if (rc == 0)
        return store_txn_commit(t, actor, NULL, err, err_len);
    store_txn_abort(t);
    return rc;
}

int
task_create(struct store *st, const char *kind, const char *object, int64_t seq,
            const struct store_actor *actor, char id[TASK_ID_LEN], char *err, size_t err_len)
{
    snprintf(id, TASK_ID_LEN, "%020lld", (long long)seq);
    json_t *task = json_pack("{s:s,s:s,s:s,s:i,s:s,s:s?,s:I,s:{}}", "kind", kind, "object", object,
                             "state", "queued", "progress", 0, "started_by", actor->who, "from",
                             actor->from, "created_ms", (json_int_t)wall_ms(), "results");
    int rc = task ? put(st, id, task, STORE_MUST_NOT_EXIST, actor, err, err_len)
                  : err_set(err, err_len, -ENOMEM, "out of memory");
    json_decref(task);
    return rc;
}

int
task_update(struct store *st, const char *id, const char *state, int progress, json_t *results,
            char *err, size_t err_len)
{
    char key[STORE_KEY_MAX];
    struct store_kv kv = {0};
    snprintf(key, sizeof key, "%stask/%s", STORE_KEY_PREFIX, id);
    int rc = store_get(st, key, &kv, err, err_len);
    json_t *task = rc == 0 ? json_loads(kv.value, 0, NULL) : NULL;
    if (rc == 0 && !task)
        rc = err_set(err, err_len, -EIO, "task %s: not JSON", id);
    if (rc == 0) {
        bool done = strcmp(state, "running") != 0;
        json_object_set_new(task, "state", json_string(state));
        json_object_set_new(task, "progress", json_integer(progress));
        if (!json_object_get(task, "start_ms"))
            json_object_set_new(task, "start_ms", json_integer((json_int_t)wall_ms()));
        if (done)
            json_object_set_new(task, "end_ms", json_integer((json_int_t)wall_ms()));
        if (results)
            json_object_set(task, "results", results);
        struct store_actor actor = {.who = "dse-manager", .from = "task", .what = "task.update"};
        rc = put(st, id, task, kv.mod_revision, &actor, err, err_len);
    }
    json_decref(task);
    store_kv_fini(&kv);
    return rc;
}

static bool
ended(const char *state)
{
    return state &&
           (!strcmp(state, "success") || !strcmp(state, "error") || !strcmp(state, "cancelled"));
}

/* Deletes the keys of 'l' that are ended tasks created before 'before_ms',
 * up to 'max', in one transaction; '*past' when a task created since was
 * met (the rest are newer still).  Returns the number deleted or -errno. */
static int
prune_page(struct store *st, const struct store_list *l, uint64_t before_ms, size_t max, bool *past,
           char *err, size_t err_len)
{
    struct store_txn *t = store_txn_begin(st);
    int n = 0, rc = t ? 0 : err_set(err, err_len, -ENOMEM, "out of memory");
    for (size_t i = 0; rc == 0 && i < l->n_kvs && (size_t)n < max && !*past; i++) {
        json_t *task = json_loads(l->kvs[i].value, 0, NULL);
        json_int_t created = json_integer_value(json_object_get(task, "created_ms"));
        *past = (uint64_t)created >= before_ms;
        if (!*past && ended(json_string_value(json_object_get(task, "state"))) &&
            (rc = store_txn_delete(t, l->kvs[i].key, l->kvs[i].mod_revision, err, err_len)) == 0)
            n++;
        json_decref(task);
    }
    struct store_actor actor = {.who = "dse-manager", .from = "task", .what = "task.prune"};
    if (rc == 0 && n)
        rc = store_txn_commit(t, &actor, NULL, err, err_len);
    else
        store_txn_abort(t);
    return rc < 0 ? rc : n;
}

int
task_prune(struct store *st, uint64_t before_ms, size_t max, char *err, size_t err_len)
{
    static const char prefix[] = STORE_KEY_PREFIX "task/";
    /* A page holds what a transaction may delete; tasks are read oldest
     * first (their ids are in creation order) until one is too new. */
    char after[STORE_KEY_MAX] = "";
    size_t deleted = 0;
    bool past = false;
    while (!past && deleted < max) {
        struct store_list l = {0};
        int rc = store_list(st, prefix, after, STORE_TXN_MAX_OPS, &l, err, err_len);
        if (rc == 0 && l.n_kvs)
            snprintf(after, sizeof after, "%s", l.kvs[l.n_kvs - 1].key);
        int n = rc < 0 ? rc : prune_page(st, &l, before_ms, max - deleted, &past, err, err_len);
        bool more = l.more && l.n_kvs;
        store_list_fini(&l);
        if (n < 0)
            return n;
        deleted += (size_t)n;
        if (!more)
            break;
    }
    return (int)deleted;
}
