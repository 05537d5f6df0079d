/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fleet: the figures of hosts and DPUs over a clock of our own: an hour at
 * the round's pace, a day downsampled, a full ring that drops its oldest,
 * and one Prometheus text with host and dpu labels.
 */
#include "tests/unit/check.h"
#include "manager/fleet.h"

#include <stdlib.h>

/* A sample (metric_set_json()'s shape) with one figure. */
static json_t *
sample(const char *name, double v, uint64_t t)
{
    return json_pack("{s:I,s:I,s:i,s:[[s,{},f]]}", "seq", (json_int_t)1, "time_ms", (json_int_t)t,
                     "interval_s", 10, "metrics", name, v);
}

static void
record(struct fleet *f, const char *host, double v, uint64_t t)
{
    json_t *hs = sample("dse_cpu_percent", v, t);
    json_t *ds = json_pack("[{s:s,s:b,s:o}]", "dpu", "dpu1", "up", 1, "sample",
                           sample("dse_cpu_percent", v * 2, t));
    fleet_record(f, host, hs, ds, t);
    json_decref(hs);
    json_decref(ds);
}

static size_t
points(struct fleet *f, const char *host, bool day, uint64_t now)
{
    json_t *h = fleet_history(f, host, day, now);
    size_t n = json_array_size(json_object_get(h, "points"));
    json_decref(h);
    return n;
}

static void
an_hour_at_the_rounds_pace_and_a_day_downsampled(void)
{
    struct fleet *f = fleet_create();
    ASSERT_NOT_NULL(f);
    uint64_t t0 = 1800000000000ull, t = t0;
    for (int i = 0; i < 2 * 360; i++, t += 10000) /* two hours of 10 s rounds */
        record(f, "h1", i, t);
    uint64_t now = t - 10000;
    ASSERT_EQ(points(f, "h1", false, now), 361); /* the last hour, both ends */
    ASSERT_EQ(points(f, "h1", true, now), 24);   /* one in 5 min over two hours */
    json_t *d = fleet_history(f, "h1", true, now);
    json_t *pts = json_object_get(d, "points");
    json_t *newest = json_array_get(pts, json_array_size(pts) - 1);
    ASSERT_EQ(json_integer_value(json_object_get(newest, "at_ms")), now); /* the day ends now */
    ASSERT_EQ(json_integer_value(json_object_get(json_array_get(pts, 1), "at_ms")) -
                  json_integer_value(json_object_get(json_array_get(pts, 0), "at_ms")),
              FLEET_DAY_STEP_MS); /* each the newest of its 5 min */
    json_decref(d);
    json_t *h = fleet_history(f, "h1", false, now);
    json_t *first = json_array_get(json_object_get(h, "points"), 0);
    ASSERT_EQ(json_integer_value(json_object_get(first, "at_ms")), now - FLEET_HOUR_MS);
    ASSERT_STREQ(json_string_value(json_object_get(h, "window")), "hour");
    json_decref(h);
    ASSERT_NULL(fleet_history(f, "h2", false, now)); /* never reported */
    fleet_forget(f, "h1");
    ASSERT_NULL(fleet_history(f, "h1", false, now));
    fleet_destroy(f);
}

static void
a_full_ring_drops_its_oldest(void)
{
    struct fleet *f = fleet_create();
    uint64_t t = 1000;
    for (int i = 0; i < FLEET_HOUR_POINTS + 50; i++, t += 1) /* fast rounds */
        record(f, "h1", i, t);
    ASSERT_EQ(points(f, "h1", false, t), FLEET_HOUR_POINTS);
    json_t *h = fleet_history(f, "h1", false, t);
    json_t *first = json_array_get(json_object_get(h, "points"), 0);
    ASSERT_EQ(json_integer_value(json_object_get(first, "at_ms")), 1000 + 50);
    json_decref(h);
    fleet_destroy(f);
}

static void
one_prometheus_text_with_host_and_dpu_labels(void)
{
    struct fleet *f = fleet_create();
    record(f, "h1", 10, 5000);
    record(f, "h1", 12, 15000); /* the latest counts */
    record(f, "h2", 30, 15000);
    size_t len = 0;
    char *text = fleet_prometheus(f, &len);
    ASSERT_NOT_NULL(text);
    ASSERT_EQ(strlen(text), len);
    ASSERT_TRUE(strstr(text, "dse_cpu_percent{host=\"h1\"} 12") != NULL);
    ASSERT_TRUE(strstr(text, "dse_cpu_percent{host=\"h1\",dpu=\"dpu1\"} 24") != NULL);
    ASSERT_TRUE(strstr(text, "dse_cpu_percent{host=\"h2\",dpu=\"dpu1\"} 60") != NULL);
    ASSERT_TRUE(strstr(text, "} 10\n") == NULL);                  /* not the older point */
    ASSERT_TRUE(strstr(text, "# TYPE dse_cpu_percent ") != NULL); /* once, for both hosts */
    ASSERT_TRUE(strstr(strstr(text, "# TYPE dse_cpu_percent ") + 1, "# TYPE dse_cpu_percent ") ==
                NULL);
    free(text);
    fleet_destroy(f);
    fleet_destroy(NULL);
}

/* What is kept compact comes back as it was given: names, labels, values,
 * a DPU that is down with its reason; a sample against metrics.h's rules
 * is not kept. */
static void
history_gives_back_what_was_recorded(void)
{
    struct fleet *f = fleet_create();
    json_t *hs = json_pack("{s:I,s:I,s:i,s:[[s,{},f],[s,{s:s,s:s},f]]}", "seq", (json_int_t)7,
                           "time_ms", (json_int_t)5000, "interval_s", 20, "metrics", "dse_host_up",
                           1.0, "dse_host_interface_rx_bytes_total", "interface", "vmk0", "kind",
                           "mgmt \"quoted\"", 123456789012.0);
    json_t *ds =
        json_pack("[{s:s,s:b,s:i,s:o},{s:s,s:b,s:s},{s:s,s:b,s:{s:s}}]", "dpu", "dpu1", "up", 1,
                  "interval_s", 20, "sample", json_deep_copy(hs), "dpu", "dpu2", "up", 0, "why",
                  "no answer", "dpu", "dpu3", "up", 1, "sample", "bad", "sample");
    for (int i = 0; i < 3; i++) /* the same names each time: shared */
        fleet_record(f, i == 2 ? "h2" : "h1", hs, ds, 5000 + i);
    json_t *h = fleet_history(f, "h1", false, 6000);
    json_t *p = json_array_get(json_object_get(h, "points"), 1);
    ASSERT_EQ(json_array_size(json_object_get(h, "points")), 2);
    ASSERT_EQ(json_integer_value(json_object_get(p, "at_ms")), 5001);
    ASSERT_TRUE(json_equal(json_object_get(p, "host"), hs));
    json_t *d = json_object_get(p, "dpus");
    ASSERT_EQ(json_array_size(d), 3);
    ASSERT_TRUE(json_equal(json_object_get(json_array_get(d, 0), "sample"), hs));
    ASSERT_EQ(json_integer_value(json_object_get(json_array_get(d, 0), "interval_s")), 20);
    ASSERT_STREQ(json_string_value(json_object_get(json_array_get(d, 1), "why")), "no answer");
    ASSERT_TRUE(json_is_false(json_object_get(json_array_get(d, 1), "up")));
    ASSERT_NULL(json_object_get(json_array_get(d, 1), "sample"));
    ASSERT_NULL(json_object_get(json_array_get(d, 2), "sample")); /* against the rules */
    json_decref(h);
    fleet_forget(f, "h1");
    h = fleet_history(f, "h2", false, 6000);
    p = json_array_get(json_object_get(h, "points"), 0);
    ASSERT_TRUE(json_equal(json_object_get(p, "host"), hs)); /* its names outlive h1 */
    json_decref(h);
    json_decref(hs);
    json_decref(ds);
    fleet_destroy(f);
}

TEST_MAIN(TEST(an_hour_at_the_rounds_pace_and_a_day_downsampled),
          TEST(history_gives_back_what_was_recorded), TEST(a_full_ring_drops_its_oldest),
          TEST(one_prometheus_text_with_host_and_dpu_labels))
