/* SPDX-License-Identifier: Apache-2.0 */
/*
 * alarms (manager/alarms.h): the fleet's alarms as hosts report them (their
 * DPUs' placed, worst first, filters), the ring of events (a host's seq
 * kept once, the oldest dropped past ALARMS_EVENTS_MAX, a host's new log,
 * searches by object, time and type), and acks queued for the reconciler
 * that end their task when the host cannot be reached.
 */
#include "tests/unit/check.h"
#include "lib/util.h"
#include "manager/alarms.h"

#include <fcntl.h>
#include <stdlib.h>

/* hostd's alarm.list of one host: a hot DPU sensor, a quiet host alarm. */
static json_t *
host_alarms(const char *temp_state)
{
    return json_pack("[{s:s,s:s,s:s,s:s,s:I,s:b,s:f},{s:s,s:s,s:s,s:s,s:I,s:b}]", "id",
                     "dpu-temperature@dpu1/temp1", "def", "dpu-temperature", "object", "dpu1/temp1",
                     "state", temp_state, "since_ms", (json_int_t)1000, "acknowledged", 0, "value",
                     96.0, "id", "boot-rolled-back@host", "def", "boot-rolled-back", "object",
                     "host", "state", "green", "since_ms", (json_int_t)900, "acknowledged", 0);
}

/* One event as hostd's log has it. */
static json_t *
event(uint64_t seq, const char *type, const char *object, uint64_t t)
{
    return json_pack("{s:I,s:s,s:s,s:s,s:I}", "seq", (json_int_t)seq, "type", type, "object",
                     object, "host", "lt1-h1", "time_ms", (json_int_t)t);
}

static void
add(struct alarms *a, const char *host, uint64_t seq, const char *type, const char *object,
    uint64_t t, uint64_t last)
{
    json_t *evs = json_pack("[o]", event(seq, type, object, t));
    alarms_add_events(a, host, evs, last);
    json_decref(evs);
}

static const char *
field(json_t *arr, size_t i, const char *k)
{
    return json_string_value(json_object_get(json_array_get(arr, i), k));
}

static bool
only_h1(const char *host, void *aux)
{
    return !strcmp(host, "h1");
}

static void
alarms_name_their_host_and_dpu_worst_first(void)
{
    struct alarms *a = alarms_create();
    ASSERT_NOT_NULL(a);
    json_t *l1 = host_alarms("red"), *l2 = host_alarms("yellow");
    alarms_set_host(a, "h2", l2, 5000);
    alarms_set_host(a, "h1", l1, 5000);
    json_t *all = alarms_list(a, &(struct alarms_query){.all = true});
    ASSERT_EQ(json_array_size(all), 4);
    ASSERT_STREQ(field(all, 0, "host"), "h1"); /* red first */
    ASSERT_STREQ(field(all, 0, "state"), "red");
    ASSERT_STREQ(field(all, 0, "dpu"), "dpu1");
    ASSERT_STREQ(field(all, 0, "object"), "dpu1/temp1"); /* hostd's, kept */
    ASSERT_EQ(json_integer_value(json_object_get(json_array_get(all, 0), "collected_ms")), 5000);
    ASSERT_STREQ(field(all, 1, "state"), "yellow");
    ASSERT_STREQ(field(all, 2, "state"), "green");
    ASSERT_NULL(field(all, 2, "dpu")); /* the host's own */
    json_decref(all);
    json_t *active = alarms_list(a, &(struct alarms_query){0});
    ASSERT_EQ(json_array_size(active), 2); /* not the green ones */
    json_decref(active);
    json_t *some = alarms_list(a, &(struct alarms_query){.state = "yellow"});
    ASSERT_EQ(json_array_size(some), 1);
    ASSERT_STREQ(field(some, 0, "host"), "h2");
    json_decref(some);
    some = alarms_list(a, &(struct alarms_query){.host = "h2", .all = true});
    ASSERT_EQ(json_array_size(some), 2);
    json_decref(some);
    some = alarms_list(a, &(struct alarms_query){.all = true, .may = only_h1});
    ASSERT_EQ(json_array_size(some), 2);
    ASSERT_STREQ(field(some, 1, "host"), "h1");
    json_decref(some);
    ASSERT_TRUE(alarms_has(a, "h1", "dpu-temperature@dpu1/temp1"));
    ASSERT_FALSE(alarms_has(a, "h1", "dpu-temperature@dpu2/temp1"));
    /* A new collection replaces the host's list; a forgotten host is gone. */
    json_t *none = json_array();
    alarms_set_host(a, "h1", none, 6000);
    ASSERT_FALSE(alarms_has(a, "h1", "dpu-temperature@dpu1/temp1"));
    alarms_forget(a, "h2");
    some = alarms_list(a, &(struct alarms_query){.all = true});
    ASSERT_EQ(json_array_size(some), 0);
    json_decref(some);
    json_decref(none);
    json_decref(l1);
    json_decref(l2);
    alarms_destroy(a);
    alarms_destroy(NULL);
}

static size_t
count(struct alarms *a, const struct alarms_event_query *q)
{
    json_t *evs = alarms_events(a, q, NULL);
    size_t n = json_array_size(evs);
    json_decref(evs);
    return n;
}

static void
events_are_kept_once_and_searched(void)
{
    struct alarms *a = alarms_create();
    add(a, "h1", 1, "alarm.red", "dpu1/temp1", 1000, 1);
    add(a, "h1", 1, "alarm.red", "dpu1/temp1", 1000, 1); /* collected again: kept once */
    add(a, "h1", 2, "dpu.unreachable", "dpu1", 2000, 2);
    add(a, "h1", 3, "boot.ok", "host", 3000, 3);
    add(a, "h2", 1, "alarm.yellow", "dpu1/uplink0", 1500, 1);
    ASSERT_EQ(alarms_last_seq(a, "h1"), 3);
    ASSERT_EQ(alarms_last_seq(a, "h3"), 0);
    bool more = true;
    json_t *evs = alarms_events(a, &(struct alarms_event_query){.limit = 100}, &more);
    ASSERT_EQ(json_array_size(evs), 4);
    ASSERT_FALSE(more);
    ASSERT_STREQ(field(evs, 1, "host"), "h2"); /* by time across hosts */
    ASSERT_STREQ(field(evs, 0, "host"), "h1"); /* the manager's name, not hostd's */
    ASSERT_STREQ(field(evs, 0, "dpu"), "dpu1");
    ASSERT_NULL(field(evs, 3, "dpu"));
    json_decref(evs);
    ASSERT_EQ(count(a, &(struct alarms_event_query){.object = "h1"}), 3);
    ASSERT_EQ(count(a, &(struct alarms_event_query){.object = "h1/dpu1"}), 2);
    ASSERT_EQ(count(a, &(struct alarms_event_query){.object = "h1/dpu1/temp1"}), 1);
    ASSERT_EQ(count(a, &(struct alarms_event_query){.object = "h1/dpu"}), 0); /* whole segments */
    ASSERT_EQ(count(a, &(struct alarms_event_query){.object = "h1/host"}), 1);
    ASSERT_EQ(count(a, &(struct alarms_event_query){.object = "h"}), 0);
    ASSERT_EQ(count(a, &(struct alarms_event_query){.since_ms = 1500, .until_ms = 3000}), 2);
    ASSERT_EQ(count(a, &(struct alarms_event_query){.type = "alarm."}), 2);
    ASSERT_EQ(count(a, &(struct alarms_event_query){.may = only_h1}), 3);
    /* The newest 'limit', oldest first, and more said. */
    evs = alarms_events(a, &(struct alarms_event_query){.limit = 2}, &more);
    ASSERT_EQ(json_array_size(evs), 2);
    ASSERT_TRUE(more);
    ASSERT_STREQ(field(evs, 0, "type"), "dpu.unreachable");
    ASSERT_STREQ(field(evs, 1, "type"), "boot.ok");
    json_decref(evs);
    /* h1 restarted with a new log: its events count from 1 again. */
    add(a, "h1", 1, "boot.ok", "host", 9000, 1);
    ASSERT_EQ(alarms_last_seq(a, "h1"), 1);
    ASSERT_EQ(count(a, &(struct alarms_event_query){.object = "h1/host"}), 2);
    alarms_destroy(a);
}

static void
the_ring_drops_its_oldest(void)
{
    struct alarms *a = alarms_create();
    json_t *evs = json_array();
    for (uint64_t s = 1; s <= ALARMS_EVENTS_MAX + 50; s++)
        json_array_append_new(evs, event(s, "alarm.red", "dpu1", 1000 + s));
    alarms_add_events(a, "h1", evs, ALARMS_EVENTS_MAX + 50);
    json_decref(evs);
    bool more = false;
    evs = alarms_events(a, &(struct alarms_event_query){.limit = ALARMS_EVENTS_MAX}, &more);
    ASSERT_EQ(json_array_size(evs), ALARMS_EVENTS_MAX);
    ASSERT_FALSE(more);
    ASSERT_EQ(json_integer_value(json_object_get(json_array_get(evs, 0), "seq")), 51);
    json_decref(evs);
    alarms_destroy(a);
}

TEST_MAIN(TEST(alarms_name_their_host_and_dpu_worst_first), TEST(events_are_kept_once_and_searched),
          TEST(the_ring_drops_its_oldest))
