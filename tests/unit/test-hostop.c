/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Operations on hosts (manager/hostop.h): the queue checks what it takes,
 * gives a round each host's in order, cancels what still waits, and fails
 * what had no turn in time; an operation that cannot reach its host ends
 * its task with the reason.  Ended tasks past their keep are pruned.  Their run against a host:
 * test-reconcile.
 */
#include "tests/unit/check.h"
#include "lib/util.h"
#include "manager/hostop.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>

static json_t *
task_of(struct store *st, const char *id)
{
    char key[STORE_KEY_MAX], err[ERR_LEN];
    struct store_kv kv = {0};
    snprintf(key, sizeof key, "%stask/%s", STORE_KEY_PREFIX, id);
    json_t *t =
        store_get(st, key, &kv, err, sizeof err) == 0 ? json_loads(kv.value, 0, NULL) : NULL;
    store_kv_fini(&kv);
    return t;
}

static const char *
state_of(struct store *st, const char *id)
{
    static char state[32];
    json_t *t = task_of(st, id);
    const char *v = json_string_value(json_object_get(t, "state"));
    snprintf(state, sizeof state, "%s", v ? v : "");
    json_decref(t);
    return state;
}

static void
operations_wait_for_their_host_or_are_cancelled(void)
{
    char dir[] = "/tmp/dse-test-hostop-XXXXXX", path[64], err[ERR_LEN] = "";
    ASSERT_NOT_NULL(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/store.db", dir);
    struct store *st = NULL;
    ASSERT_EQ(store_open(path, &st, err, sizeof err), 0);
    struct hostops *q = hostops_create();
    struct store_actor who = {.who = "op", .from = "test", .what = "test"};
    char t[4][TASK_ID_LEN];
    for (int i = 0; i < 4; i++)
        ASSERT_EQ(
            task_create(st, "alarm.ack", "/dse/v1/host/h1", i + 1, &who, t[i], err, sizeof err), 0);
    json_t *ack = json_pack("{s:s}", "id", "hot@dpu1"), *inst = json_pack("{s:s}", "bundle", "/b");
    ASSERT_EQ(hostops_queue(q, "h2", "alarm.ack", ack, t[0], wall_ms()), 0);
    ASSERT_EQ(hostops_queue(q, "h1", "software.install", inst, t[1], wall_ms()), 0);
    ASSERT_EQ(hostops_queue(q, "h1", "alarm.ack", ack, t[2], wall_ms() + 1), 0);
    ASSERT_EQ(hostops_queue(q, "h1", "rm -rf", ack, t[3], wall_ms()), -EINVAL);
    ASSERT_EQ(hostops_queue(q, "h1", "alarm.ack", ack, "not-a-task", wall_ms()), -EINVAL);
    ASSERT_EQ(hostops_queue(q, "", "alarm.ack", ack, t[3], wall_ms()), -EINVAL);
    ASSERT_EQ(hostops_queue(q, "h1", "alarm.ack", NULL, t[3], wall_ms()), -EINVAL);
    ASSERT_TRUE(hostop_kind_is_long("software.install"));
    ASSERT_FALSE(hostop_kind_is_long("dpu.failover"));
    /* Cancelled while it waits; not once it is gone. */
    ASSERT_EQ(hostops_queue(q, "h3", "dpu.failover", ack, t[3], wall_ms()), 0);
    ASSERT_EQ(hostops_cancel(q, t[3]), 0);
    ASSERT_EQ(hostops_cancel(q, t[3]), -ENOENT);
    /* A round takes them by host, each host's in its order. */
    struct hostop ops[HOSTOPS_MAX];
    ASSERT_EQ(hostops_take(q, ops), 3);
    ASSERT_EQ(hostops_take(q, ops + 3), 0);
    ASSERT_STREQ(ops[0].task, t[1]);
    ASSERT_STREQ(ops[1].task, t[2]);
    ASSERT_STREQ(ops[2].host, "h2");
    /* h1 does not answer: the ack fails with the reason. */
    struct httpc peer = {.host = "127.0.0.1", .port = 1, .timeout_ms = 1000};
    hostop_begin(st, &ops[1]);
    ASSERT_STREQ(state_of(st, t[2]), "running");
    hostop_run(&peer, &ops[1], wall_ms());
    ASSERT_TRUE(ops[1].error[0] != '\0');
    ASSERT_FALSE(ops[1].polling);
    hostop_report(st, &ops[1]);
    json_t *task = task_of(st, t[2]);
    ASSERT_STREQ(json_string_value(json_object_get(task, "state")), "error");
    json_t *r = json_object_get(json_object_get(task, "results"), "h1");
    ASSERT_FALSE(json_is_true(json_object_get(r, "ok")));
    ASSERT_STREQ(json_string_value(json_object_get(r, "alarm")), "hot@dpu1");
    ASSERT_STREQ(json_string_value(json_object_get(r, "error")), ops[1].error);
    json_decref(task);
    hostop_fini(&ops[1]);
    /* Waiting behind another long one: no limit; without a turn: one. */
    ops[0].at_ms = ops[2].at_ms = wall_ms() - HOSTOPS_WAIT_MS - 1;
    hostops_requeue(q, st, &ops[0], true, wall_ms());
    hostops_requeue(q, st, &ops[2], false, wall_ms());
    ASSERT_STREQ(state_of(st, t[0]), "error");
    task = task_of(st, t[0]);
    ASSERT_STREQ(json_string_value(json_object_get(
                     json_object_get(json_object_get(task, "results"), "h2"), "error")),
                 "the host had no turn in time");
    json_decref(task);
    ASSERT_EQ(hostops_take(q, ops), 1);
    ASSERT_STREQ(ops[0].kind, "software.install");
    ASSERT_STREQ(json_string_value(json_object_get(ops[0].args, "bundle")), "/b");
    hostop_fini(&ops[0]);
    /* A full queue refuses. */
    for (int i = 0; i < HOSTOPS_MAX; i++)
        ASSERT_EQ(hostops_queue(q, "h3", "alarm.ack", ack, t[3], wall_ms()), 0);
    ASSERT_FALSE(hostops_has_room(q));
    ASSERT_EQ(hostops_queue(q, "h3", "alarm.ack", ack, t[3], wall_ms()), -ENOSPC);
    json_decref(ack);
    json_decref(inst);
    hostops_destroy(q);
    store_close(st);
    ASSERT_EQ(fs_remove_at(AT_FDCWD, dir), 0);
}

/* Ended tasks past their keep go, oldest first; one under way stays. */
static void
ended_tasks_are_pruned(void)
{
    char dir[] = "/tmp/dse-test-hostop-XXXXXX", path[64], err[ERR_LEN] = "";
    ASSERT_NOT_NULL(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/store.db", dir);
    struct store *st = NULL;
    ASSERT_EQ(store_open(path, &st, err, sizeof err), 0);
    struct store_actor who = {.who = "op", .from = "test", .what = "test"};
    static const char *const states[] = {"success", "running", "error", "cancelled", "queued"};
    char t[5][TASK_ID_LEN];
    for (int i = 0; i < 5; i++) {
        ASSERT_EQ(
            task_create(st, "alarm.ack", "/dse/v1/host/h1", i + 1, &who, t[i], err, sizeof err), 0);
        if (strcmp(states[i], "queued"))
            ASSERT_EQ(task_update(st, t[i], states[i], 100, NULL, err, sizeof err), 0);
    }
    ASSERT_EQ(task_prune(st, wall_ms() - 60000, 100, err, sizeof err), 0); /* all too new */
    ASSERT_EQ(task_prune(st, wall_ms() + 1000, 1, err, sizeof err), 1);    /* the oldest */
    ASSERT_STREQ(state_of(st, t[0]), "");
    ASSERT_STREQ(state_of(st, t[2]), "error");
    ASSERT_EQ(task_prune(st, wall_ms() + 1000, 100, err, sizeof err), 2);
    ASSERT_STREQ(state_of(st, t[1]), "running");
    ASSERT_STREQ(state_of(st, t[2]), "");
    ASSERT_STREQ(state_of(st, t[3]), "");
    ASSERT_STREQ(state_of(st, t[4]), "queued");
    store_close(st);
    ASSERT_EQ(fs_remove_at(AT_FDCWD, dir), 0);
}

TEST_MAIN(TEST(operations_wait_for_their_host_or_are_cancelled), TEST(ended_tasks_are_pruned))
