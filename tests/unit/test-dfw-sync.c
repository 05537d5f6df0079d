/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The connection table carried to a standby (dataplane/dfw-sync.h): pages
 * exported and imported through their JSON, rules mapped by name to
 * another policy's indexes, cursors (since, another table's, not one),
 * and what an import skips and counts: a rule the policy lacks or does
 * not allow, records that do not decode, a request that is not one.
 */
#include "tests/unit/check.h"
#include "dataplane/dfw-sync.h"
#include "dataplane/dfw.h"
#include "lib/base64.h"
#include "tests/unit/l3frames.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t mac_a[6] = {2, 0, 0, 0, 0, 1}, mac_b[6] = {2, 0, 0, 0, 0, 2};

#define SVC "\"services\": [{\"name\": \"app\", \"entries\": [{\"proto\": \"any\"}]}]"

/* A firewall with policy 'rules' (a JSON list), default drop. */
static struct dfw *
firewall(const char *rules)
{
    char text[1024];
    snprintf(text, sizeof text, "{\"default\": \"drop\", " SVC ", \"rules\": %s}", rules);
    json_t *doc = json_loads(text, 0, NULL);
    struct dfw_policy *p = NULL;
    char err[256];
    if (!doc || dfw_policy_compile(doc, &p, err, sizeof err) < 0) {
        fprintf(stderr, "bad test policy: %s\n", text);
        abort();
    }
    json_decref(doc);
    return dfw_create(p);
}

#define ALLOW(n) "{\"name\": \"" n "\", \"services\": [\"app\"], \"action\": \"allow\"}"
#define DROP(n) "{\"name\": \"" n "\", \"services\": [\"app\"], \"action\": \"drop\"}"

/* Begins connection 'f' from 'smac' to 'dmac' in 'fw' under rule 'rule' at
 * 'now'. */
static void
begin_macs(struct dfw *fw, const struct frame *f, const char *rule, uint64_t now,
           const uint8_t *smac, const uint8_t *dmac)
{
    struct l4_info pi;
    ASSERT_EQ(l4_parse(f->b, f->len, f->eth_type, 0, &pi), L4_OK);
    struct ct_new n = {.pi = &pi,
                       .bytes = f->len,
                       .rule = dfw_rule_find(fw->pol, rule),
                       .smac = smac,
                       .dmac = dmac};
    ASSERT_EQ(ct_commit(fw->ct, &n, now), 0);
}

static void
begin(struct dfw *fw, const struct frame *f, const char *rule, uint64_t now)
{
    begin_macs(fw, f, rule, now, mac_a, mac_b);
}

/* Exports all of 'from' since 'cursor' in pages of 'max' into 'to' (the
 * first page flushing it when the walk is full).  Returns the pages; the
 * cursor to go on with in 'cursor'. */
static int
carry(struct dfw *from, struct dfw *to, char cursor[DFW_SYNC_CURSOR_LEN], size_t max,
      struct dfw_sync_counts *n, bool *full)
{
    int pages = 0;
    bool more = true;
    char err[256];
    while (more) {
        json_t *page = NULL, *res = NULL;
        if (dfw_sync_export(from, cursor, max, 1000, &page, err, sizeof err) < 0) {
            fprintf(stderr, "export: %s\n", err);
            abort();
        }
        more = json_is_true(json_object_get(page, "more"));
        if (!pages)
            *full = json_is_true(json_object_get(page, "full"));
        snprintf(cursor, DFW_SYNC_CURSOR_LEN, "%s",
                 json_string_value(json_object_get(page, "cursor")));
        json_t *req = json_pack("{s:O,s:O,s:b}", "rules", json_object_get(page, "rules"), "conns",
                                json_object_get(page, "conns"), "flush", *full && !pages);
        if (dfw_sync_import(to, req, 1000, n, &res, err, sizeof err) < 0) {
            fprintf(stderr, "import: %s\n", err);
            abort();
        }
        json_decref(req);
        json_decref(res);
        json_decref(page);
        pages++;
    }
    return pages;
}

static void
pages_carry_the_table_rules_by_name(void)
{
    struct dfw *a = firewall("[" ALLOW("r/one") "," ALLOW("r/two") "]");
    struct dfw *b = firewall("[" DROP("r/first") "," ALLOW("r/two") "," ALLOW("r/one") "]");
    struct frame f;
    for (uint16_t p = 1; p <= 5; p++) {
        udp(&f, 1, (uint16_t)(1000 + p), 2, 53);
        begin(a, &f, p % 2 ? "r/one" : "r/two", 500);
    }
    tcp(&f, 1, 40000, 2, 80, L4_TCP_SYN, 77, 0, 1000, 0);
    begin(a, &f, "r/two", 500);
    char cursor[DFW_SYNC_CURSOR_LEN] = "";
    struct dfw_sync_counts n = {0};
    bool full;
    ASSERT_GE(carry(a, b, cursor, 2, &n, &full), 3); /* pages of 2 */
    ASSERT_TRUE(full);
    ASSERT_EQ(n.imported, 6);
    ASSERT_EQ(ct_count(b->ct), 6);
    /* The reply of one passes on 'b', under b's index of its rule. */
    struct l4_info pi;
    struct ct_result cr;
    udp(&f, 2, 53, 1, 1001);
    ASSERT_EQ(l4_parse(f.b, f.len, f.eth_type, 0, &pi), L4_OK);
    ASSERT_EQ(ct_track(b->ct, &pi, f.len, 1001, &cr), CT_ESTABLISHED);
    ASSERT_EQ(cr.rule, dfw_rule_find(b->pol, "r/one"));
    ASSERT_EQ(cr.rule, 2);
    /* Since the cursor: nothing; a new connection: that one alone. */
    ASSERT_EQ(carry(a, b, cursor, 100, &n, &full), 1);
    ASSERT_FALSE(full);
    ASSERT_EQ(n.imported, 6);
    udp(&f, 1, 2000, 2, 53);
    begin(a, &f, "r/one", 900);
    carry(a, b, cursor, 100, &n, &full);
    ASSERT_EQ(n.imported, 7);
    /* A cursor of another table: all again, full. */
    carry(b, a, cursor, 100, &n, &full);
    ASSERT_TRUE(full);
    ASSERT_EQ(ct_count(a->ct), 7);
    dfw_destroy(a);
    dfw_destroy(b);
}

/* Imports 'conns' (JSON text) under rules 'rules' into 'fw'. */
static int
import_text(struct dfw *fw, const char *text, struct dfw_sync_counts *n, json_t **res, char *err)
{
    json_t *req = json_loads(text, 0, NULL);
    if (!req)
        abort();
    int rc = dfw_sync_import(fw, req, 1000, n, res, err, 256);
    json_decref(req);
    return rc;
}

static void
an_import_skips_and_counts_what_it_cannot_take(void)
{
    struct dfw *a = firewall("[" ALLOW("r/one") "," ALLOW("r/gone") "," ALLOW("r/banned") "]");
    struct dfw *b = firewall("[" ALLOW("r/one") "," DROP("r/banned") "]");
    struct frame f;
    udp(&f, 1, 1001, 2, 53);
    begin(a, &f, "r/one", 500);
    udp(&f, 1, 1002, 2, 53);
    begin(a, &f, "r/gone", 500);
    udp(&f, 1, 1003, 2, 53);
    begin(a, &f, "r/banned", 500);
    udp(&f, 1, 1004, 2, 53);
    begin(a, &f, "default", 500); /* the default drops on 'b' */
    char cursor[DFW_SYNC_CURSOR_LEN] = "", err[256] = "";
    struct dfw_sync_counts n = {0};
    bool full;
    carry(a, b, cursor, 100, &n, &full);
    ASSERT_EQ(n.imported, 1);
    ASSERT_EQ(n.no_rule, 1);
    ASSERT_EQ(n.not_allowed, 2);
    /* Records that do not decode: skipped, counted. */
    uint8_t rec[DFW_SYNC_RECORD4] = {9, 4};
    char b64[128], text[512];
    base64_encode(rec, sizeof rec, b64);
    snprintf(text, sizeof text,
             "{\"rules\": [\"r/one\"], \"conns\": [\"!!\", \"AAAA\", 7, \"%s\", \"%.40s\"]}", b64,
             b64);
    json_t *res = NULL;
    ASSERT_EQ(import_text(b, text, &n, &res, err), 0);
    ASSERT_EQ(json_integer_value(json_object_get(json_object_get(res, "skipped"), "malformed")), 5);
    json_decref(res);
    /* Not a request: refused in one line. */
    ASSERT_EQ(import_text(b, "{\"conns\": []}", &n, &res, err), -EINVAL);
    ASSERT_TRUE(strstr(err, "wants {rules: [names], conns: [records]}") != NULL);
    ASSERT_EQ(import_text(b, "{\"rules\": [], \"conns\": [], \"colour\": 1}", &n, &res, err),
              -EINVAL);
    ASSERT_TRUE(strstr(err, "unknown field 'colour'") != NULL);
    /* Another table than the one named: nothing imported, "stale". */
    ASSERT_EQ(import_text(b, "{\"rules\": [], \"conns\": [], \"table\": \"1\"}", &n, &res, err), 0);
    ASSERT_TRUE(json_is_true(json_object_get(res, "stale")));
    json_decref(res);
    /* A cursor that is none. */
    ASSERT_EQ(dfw_sync_export(a, "12:x", 10, 1000, &res, err, sizeof err), -EINVAL);
    ASSERT_TRUE(strstr(err, "is no cursor") != NULL);
    dfw_destroy(a);
    dfw_destroy(b);
}

/* A VM's connections, by its MAC on either side, move with it. */
static void
an_export_by_mac_takes_that_vms_connections_only(void)
{
    static const uint8_t vm[6] = {2, 0xd5, 0, 1, 0, 9}, other[6] = {2, 0xd5, 0, 1, 0, 10};
    struct dfw *a = firewall("[" ALLOW("r/one") "]");
    struct frame f;
    for (uint16_t p = 1; p <= 30; p++) {
        udp(&f, 1, (uint16_t)(1000 + p), 2, 53);
        /* the VM as client (10), as server (10), not at all (10) */
        begin_macs(a, &f, "r/one", 500, p <= 10 ? vm : other, p > 10 && p <= 20 ? vm : mac_b);
    }
    size_t n = 0;
    char cursor[DFW_SYNC_CURSOR_LEN] = "", err[256];
    bool more = true;
    while (more) { /* pages of 4 walked: fewer found */
        json_t *page = NULL;
        ASSERT_EQ(dfw_sync_export_mac(a, cursor, 4, vm, 1000, &page, err, sizeof err), 0);
        n += json_array_size(json_object_get(page, "conns"));
        more = json_is_true(json_object_get(page, "more"));
        snprintf(cursor, sizeof cursor, "%s", json_string_value(json_object_get(page, "cursor")));
        json_decref(page);
    }
    ASSERT_EQ(n, 20);
    json_t *all = NULL;
    ASSERT_EQ(dfw_sync_export_mac(a, NULL, 100, NULL, 1000, &all, err, sizeof err), 0);
    ASSERT_EQ(json_array_size(json_object_get(all, "conns")), 30);
    json_decref(all);
    dfw_destroy(a);
}

TEST_MAIN(TEST(pages_carry_the_table_rules_by_name),
          TEST(an_import_skips_and_counts_what_it_cannot_take),
          TEST(an_export_by_mac_takes_that_vms_connections_only))
