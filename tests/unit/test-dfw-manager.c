/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The firewall in the manager (manager/dfw.h, manager/dfwstats.h, the dfw
 * kinds of manager/inventory.h) over a scratch store: values refused with
 * one line and nothing written; a group or service a rule names kept from
 * deletion; groups that follow VMs added, retagged, moved and removed;
 * sections and rules flattened in order; the defaults of each datacenter's
 * switches, and no policy where nothing of the firewall is set; 10,000
 * rules and 1,000 groups compiled (the time printed); counters summed per
 * rule over DPUs and hosts.
 */
#include "tests/unit/check.h"
#include "tests/unit/store-fx.h"
#include "lib/cmdtab.h"
#include "lib/util.h"
#include "manager/dfw.h"
#include "manager/dfwstats.h"
#include "manager/inventory.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

static const struct store_actor actor = {.who = "ann", .from = "test", .what = "test"};
static char err[ERR_LEN];

static struct store_fx fx;

static struct store *
open_scratch(void)
{
    return store_fx_open(&fx, "dfw-manager");
}

static void
close_scratch(struct store *st)
{
    store_fx_close(&fx);
}

/* inv_put() of JSON text 'json' (any version); the reason into 'err'. */
static int
put(struct store *st, enum inv_kind k, const char *name, const char *json)
{
    json_t *obj = json_loads(json, 0, NULL);
    err[0] = '\0';
    int rc = inv_put(st, k, name, obj, STORE_ANY_VERSION, &actor, NULL, err, sizeof err);
    json_decref(obj);
    return rc;
}

static int
del(struct store *st, enum inv_kind k, const char *name)
{
    err[0] = '\0';
    return inv_delete(st, k, name, STORE_ANY_VERSION, &actor, NULL, err, sizeof err);
}

/* dc1 > c1 > h1; dc2 > c2 > h2; s1 (dc1) > pg-a, pg-b; vm1 (web), vm2 on h1. */
static bool
base(struct store *st)
{
    return put(st, INV_DATACENTER, "dc1", "{}") == 0 && put(st, INV_DATACENTER, "dc2", "{}") == 0 &&
           put(st, INV_CLUSTER, "c1", "{\"datacenter\":\"dc1\"}") == 0 &&
           put(st, INV_CLUSTER, "c2", "{\"datacenter\":\"dc2\"}") == 0 &&
           put(st, INV_HOST, "h1", "{\"cluster\":\"c1\"}") == 0 &&
           put(st, INV_HOST, "h2", "{\"cluster\":\"c2\"}") == 0 &&
           put(st, INV_SWITCH, "s1", "{\"datacenter\":\"dc1\"}") == 0 &&
           put(st, INV_PORTGROUP, "s1/pg-a", "{\"vlan\":10}") == 0 &&
           put(st, INV_PORTGROUP, "s1/pg-b", "{\"vlan\":20}") == 0 &&
           put(st, INV_VM, "vm1", "{\"host\":\"h1\",\"tags\":[\"web\"]}") == 0 &&
           put(st, INV_VM, "vm2", "{\"host\":\"h1\"}") == 0 &&
           put(st, INV_VNIC, "vm1/eth0",
               "{\"mac\":\"02:00:00:00:01:01\",\"portgroup\":\"s1/pg-a\"}") == 0 &&
           put(st, INV_VNIC, "vm2/eth0",
               "{\"mac\":\"02:00:00:00:02:01\",\"portgroup\":\"s1/pg-b\"}") == 0;
}

/* Host 'host''s policy now (the caller's). */
static json_t *
policy_of(struct store *st, const char *host)
{
    json_t *p = NULL;
    if (dfw_compile(st, host, &p, err, sizeof err) < 0)
        fprintf(stderr, "dfw_compile: %s\n", err);
    return p;
}

/* Group 'name' of 'policy', its "macs" joined with ','. */
static const char *
macs_of(json_t *policy, const char *name)
{
    static char buf[512];
    size_t i, j;
    json_t *g, *m;
    snprintf(buf, sizeof buf, "(no group %s)", name);
    json_array_foreach (json_object_get(policy, "groups"), i, g) {
        if (strcmp(json_string_value(json_object_get(g, "name")), name))
            continue;
        buf[0] = '\0';
        json_array_foreach (json_object_get(g, "macs"), j, m)
            snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%s", j ? "," : "",
                     json_string_value(m));
    }
    return buf;
}

/* The names of 'policy''s rules, joined with ' '. */
static const char *
rule_names(json_t *policy)
{
    static char buf[512];
    size_t i;
    json_t *r;
    buf[0] = '\0';
    json_array_foreach (json_object_get(policy, "rules"), i, r)
        snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%s", i ? " " : "",
                 json_string_value(json_object_get(r, "name")));
    return buf;
}

static int64_t
revision(struct store *st)
{
    int64_t rev = 0;
    store_revision(st, &rev, NULL, 0);
    return rev;
}

/* Each bad value is refused with its one line, and the store is as it was. */
static void
bad_values_are_refused_with_one_line(void)
{
    static const struct {
        enum inv_kind k;
        const char *name, *json, *why;
        int rc;
    } cases[] = {
        {INV_DFWRULE, "app/r1", "{\"action\":\"allow\",\"src\":[\"nope\"]}",
         "dfwrule: src: no dfwgroup nope", -ENOENT},
        {INV_DFWRULE, "app/r1", "{\"action\":\"allow\",\"services\":[\"web\"]}",
         "dfwrule: services: no dfwservice web", -ENOENT},
        {INV_DFWRULE, "nosec/r1", "{\"action\":\"allow\"}", "dfwrule: no dfwsection nosec",
         -ENOENT},
        {INV_DFWRULE, "app/r1", "{\"action\":\"permit\"}", "dfwrule: action: allow, drop or reject",
         -EINVAL},
        {INV_DFWRULE, "app/r1", "{\"src\":[]}", "dfwrule: action is required", -EINVAL},
        {INV_DFWRULE, "app/r1", "{\"action\":\"drop\",\"direction\":\"both\"}",
         "dfwrule: direction: in, out or inout", -EINVAL},
        {INV_DFWRULE, "app/r1", "{\"action\":\"drop\",\"order\":-1}",
         "dfwrule: order: 0 to 2147483647", -EINVAL},
        {INV_DFWRULE, "app/r1", "{\"action\":\"drop\",\"log\":\"yes\"}",
         "dfwrule: log: true or false", -EINVAL},
        {INV_DFWRULE, "r1", "{\"action\":\"drop\"}",
         "dfwrule: a name is PARENT/NAME, each of letters, digits, '.-_'", -EINVAL},
        {INV_DFWSERVICE, "s", "{\"entries\":[{\"proto\":\"tcp\",\"ports\":[\"8080-80\"]}]}",
         "dfwservice: entries: [0]: ports: 8080-80: \"N\" or \"N-M\", 1 <= N <= M <= 65535",
         -EINVAL},
        {INV_DFWSERVICE, "s", "{\"entries\":[{\"proto\":\"udp\",\"ports\":[\"0\"]}]}",
         "dfwservice: entries: [0]: ports: 0: \"N\" or \"N-M\", 1 <= N <= M <= 65535", -EINVAL},
        {INV_DFWSERVICE, "s", "{\"entries\":[{\"proto\":\"icmp\",\"ports\":[\"22\"]}]}",
         "dfwservice: entries: [0]: ports: only for tcp and udp", -EINVAL},
        {INV_DFWSERVICE, "s", "{\"entries\":[{\"proto\":\"tcp\",\"type\":8}]}",
         "dfwservice: entries: [0]: type: only for icmp and icmpv6", -EINVAL},
        {INV_DFWSERVICE, "s", "{\"entries\":[{\"proto\":\"icmpv6\",\"code\":256}]}",
         "dfwservice: entries: [0]: code: 0 to 255", -EINVAL},
        {INV_DFWSERVICE, "s", "{\"entries\":[{\"proto\":\"sctp\"}]}",
         "dfwservice: entries: [0]: proto: tcp, udp, icmp, icmpv6 or any", -EINVAL},
        {INV_DFWSERVICE, "s", "{\"entries\":[]}",
         "dfwservice: entries: a list of 1 to 256 {\"proto\", ...}", -EINVAL},
        {INV_DFWGROUP, "g", "{\"cidrs\":[\"198.18.1.5/24\"]}",
         "dfwgroup: cidrs: [0]: 198.18.1.5/24: host bits set past /24", -EINVAL},
        {INV_DFWGROUP, "g", "{\"cidrs\":[\"198.18.1.0/33\"]}",
         "dfwgroup: cidrs: [0]: 198.18.1.0/33: an IPv4 or IPv6 ADDR/LEN", -EINVAL},
        {INV_DFWGROUP, "g", "{\"cidrs\":[\"2001:db8::/64\",\"2001:db8::x/64\"]}",
         "dfwgroup: cidrs: [1]: 2001:db8::x/64: an IPv4 or IPv6 ADDR/LEN", -EINVAL},
        {INV_DFWGROUP, "g", "{\"macs\":[\"03:00:00:00:00:01\"]}",
         "dfwgroup: macs: [0]: 03:00:00:00:00:01: a unicast MAC, xx:xx:xx:xx:xx:xx", -EINVAL},
        {INV_DFWGROUP, "g", "{\"portgroups\":[\"pg-a\"]}",
         "dfwgroup: portgroups: [0]: portgroup: a name is PARENT/NAME, each of letters, "
         "digits, '.-_'",
         -EINVAL},
        {INV_DFWGROUP, "g", "{\"colour\":\"red\"}", "dfwgroup: colour: no such field", -EINVAL},
        {INV_DFWSECTION, "app", "{\"order\":\"1\"}", "dfwsection: order: 0 to 2147483647", -EINVAL},
        {INV_VM, "vm9", "{\"host\":\"h1\",\"tags\":[\"a b\"]}",
         "vm: tags: [0]: a tag is 1 to 64 of letters, digits, '.-_'", -EINVAL},
        {INV_SWITCH, "s9", "{\"datacenter\":\"dc1\",\"dfw_default\":\"deny\"}",
         "switch: dfw_default: allow, drop or reject", -EINVAL},
    };
    struct store *st = open_scratch();
    ASSERT_NOT_NULL(st);
    ASSERT_TRUE(base(st));
    ASSERT_EQ(put(st, INV_DFWSECTION, "app", "{\"order\":10}"), 0);
    char long_name[160];
    snprintf(long_name, sizeof long_name, "%064d/%063d", 0, 0); /* 128 characters */
    ASSERT_EQ(put(st, INV_DFWSECTION,
                  "0000000000000000000000000000000000000000000000000000000000000000", "{}"),
              0);
    int64_t rev = revision(st);
    ASSERT_EQ(put(st, INV_DFWRULE, long_name, "{\"action\":\"drop\"}"), -EINVAL);
    ASSERT_STREQ(err, "dfwrule: a name is SECTION/RULE, 127 characters at most");
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        int rc = put(st, cases[i].k, cases[i].name, cases[i].json);
        if (rc != cases[i].rc || strcmp(err, cases[i].why))
            fprintf(stderr, "case %zu: %d %s\n", i, rc, err);
        ASSERT_EQ(rc, cases[i].rc);
        ASSERT_STREQ(err, cases[i].why);
        ASSERT_TRUE(strchr(err, '\n') == NULL);
    }
    ASSERT_EQ(revision(st), rev); /* nothing written */
    close_scratch(st);
}

/* What a rule names stays while it does; a section goes after its rules. */
static void
what_a_rule_names_cannot_be_deleted(void)
{
    struct store *st = open_scratch();
    ASSERT_NOT_NULL(st);
    ASSERT_TRUE(base(st));
    ASSERT_EQ(put(st, INV_DFWGROUP, "web", "{\"tags\":[\"web\"]}"), 0);
    ASSERT_EQ(put(st, INV_DFWGROUP, "db", "{\"vms\":[\"vm2\"]}"), 0);
    ASSERT_EQ(
        put(st, INV_DFWSERVICE, "ssh", "{\"entries\":[{\"proto\":\"tcp\",\"ports\":[\"22\"]}]}"),
        0);
    ASSERT_EQ(put(st, INV_DFWSECTION, "app", "{}"), 0);
    ASSERT_EQ(put(st, INV_DFWRULE, "app/ssh",
                  "{\"src\":[\"web\"],\"applied_to\":[\"db\"],\"services\":[\"ssh\"],"
                  "\"action\":\"allow\"}"),
              0);
    ASSERT_EQ(del(st, INV_DFWGROUP, "web"), -ENOTEMPTY);
    ASSERT_STREQ(err, "dfwgroup web: dfwrule app/ssh still belongs to it");
    ASSERT_EQ(del(st, INV_DFWGROUP, "db"), -ENOTEMPTY); /* named in applied_to */
    ASSERT_EQ(del(st, INV_DFWSERVICE, "ssh"), -ENOTEMPTY);
    ASSERT_EQ(del(st, INV_DFWSECTION, "app"), -ENOTEMPTY);
    ASSERT_STREQ(err, "dfwsection app: dfwrule app/ssh still belongs to it");
    /* A VM a group names may go: the group loses its members. */
    ASSERT_EQ(del(st, INV_VNIC, "vm2/eth0"), 0);
    ASSERT_EQ(del(st, INV_VM, "vm2"), 0);
    ASSERT_EQ(del(st, INV_DFWRULE, "app/ssh"), 0);
    ASSERT_EQ(del(st, INV_DFWGROUP, "web"), 0);
    ASSERT_EQ(del(st, INV_DFWSERVICE, "ssh"), 0);
    ASSERT_EQ(del(st, INV_DFWSECTION, "app"), 0);
    close_scratch(st);
}

/* A group's MACs follow the VMs: added, retagged, a vNIC moved, removed. */
static void
groups_follow_the_vms(void)
{
    struct store *st = open_scratch();
    ASSERT_NOT_NULL(st);
    ASSERT_TRUE(base(st));
    ASSERT_EQ(put(st, INV_DFWGROUP, "web",
                  "{\"tags\":[\"web\"],\"macs\":[\"02:00:00:00:00:AA\",\"02:00:00:00:01:01\"],"
                  "\"cidrs\":[\"198.18.1.0/24\",\"2001:db8:1::/64\",\"198.18.1.0/24\"]}"),
              0);
    ASSERT_EQ(put(st, INV_DFWGROUP, "db", "{\"vms\":[\"vm2\",\"vm3\"]}"), 0);
    ASSERT_EQ(put(st, INV_DFWGROUP, "pg-a", "{\"portgroups\":[\"s1/pg-a\"]}"), 0);
    ASSERT_EQ(put(st, INV_DFWGROUP, "unused", "{\"vms\":[\"vm1\"]}"), 0);
    ASSERT_EQ(put(st, INV_DFWSECTION, "app", "{}"), 0);
    ASSERT_EQ(put(st, INV_DFWRULE, "app/r",
                  "{\"src\":[\"web\",\"pg-a\",\"web\"],\"dst\":[\"db\"],\"action\":\"allow\"}"),
              0);
    json_t *p = policy_of(st, "h1");
    ASSERT_NOT_NULL(p);
    /* Its own MACs lowercased, its VMs', each once, sorted. */
    ASSERT_STREQ(macs_of(p, "web"), "02:00:00:00:00:aa,02:00:00:00:01:01");
    ASSERT_STREQ(macs_of(p, "db"), "02:00:00:00:02:01");
    ASSERT_STREQ(macs_of(p, "pg-a"), "02:00:00:00:01:01");
    ASSERT_STREQ(macs_of(p, "unused"), "(no group unused)"); /* no rule names it */
    json_t *web = json_array_get(json_object_get(p, "groups"), 2);
    ASSERT_EQ(json_array_size(json_object_get(web, "cidrs")), 2);
    json_t *r = json_array_get(json_object_get(p, "rules"), 0);
    ASSERT_EQ(json_array_size(json_object_get(r, "src")), 2);
    json_decref(p);
    /* vm3 comes, tagged web too; vm1 is retagged; vm2's vNIC moves to pg-a. */
    ASSERT_EQ(put(st, INV_VM, "vm3", "{\"host\":\"h2\",\"tags\":[\"db\",\"web\"]}"), 0);
    ASSERT_EQ(
        put(st, INV_VNIC, "vm3/eth0", "{\"mac\":\"02:00:00:00:03:01\",\"portgroup\":\"s1/pg-b\"}"),
        0);
    ASSERT_EQ(
        put(st, INV_VNIC, "vm3/eth1", "{\"mac\":\"02:00:00:00:03:02\",\"portgroup\":\"s1/pg-b\"}"),
        0);
    ASSERT_EQ(put(st, INV_VM, "vm1", "{\"host\":\"h1\",\"tags\":[\"app\"]}"), 0);
    ASSERT_EQ(
        put(st, INV_VNIC, "vm2/eth0", "{\"mac\":\"02:00:00:00:02:01\",\"portgroup\":\"s1/pg-a\"}"),
        0);
    p = policy_of(st, "h1");
    ASSERT_STREQ(macs_of(p, "web"), "02:00:00:00:00:aa,02:00:00:00:01:01,02:00:00:00:03:01,"
                                    "02:00:00:00:03:02"); /* 01:01 its own */
    ASSERT_STREQ(macs_of(p, "db"), "02:00:00:00:02:01,02:00:00:00:03:01,02:00:00:00:03:02");
    ASSERT_STREQ(macs_of(p, "pg-a"), "02:00:00:00:01:01,02:00:00:00:02:01");
    json_decref(p);
    /* vm3 goes. */
    ASSERT_EQ(del(st, INV_VNIC, "vm3/eth0"), 0);
    ASSERT_EQ(del(st, INV_VNIC, "vm3/eth1"), 0);
    ASSERT_EQ(del(st, INV_VM, "vm3"), 0);
    p = policy_of(st, "h2"); /* the same groups on every host */
    ASSERT_STREQ(macs_of(p, "web"), "02:00:00:00:00:aa,02:00:00:00:01:01");
    ASSERT_STREQ(macs_of(p, "db"), "02:00:00:00:02:01");
    json_decref(p);
    close_scratch(st);
}

/* Sections by order then name, their rules by order then name, flattened;
 * a rule as the DPUs take it. */
static void
sections_and_rules_are_flattened_in_order(void)
{
    struct store *st = open_scratch();
    ASSERT_NOT_NULL(st);
    ASSERT_TRUE(base(st));
    ASSERT_EQ(put(st, INV_DFWSERVICE, "ping",
                  "{\"entries\":[{\"proto\":\"icmp\",\"type\":8},"
                  "{\"proto\":\"icmpv6\",\"type\":128}]}"),
              0);
    ASSERT_EQ(put(st, INV_DFWSECTION, "late", "{\"order\":20}"), 0);
    ASSERT_EQ(put(st, INV_DFWSECTION, "b-early", "{\"order\":10}"), 0);
    ASSERT_EQ(put(st, INV_DFWSECTION, "a-early", "{\"order\":10}"), 0);
    ASSERT_EQ(put(st, INV_DFWSECTION, "first", "{}"), 0);
    ASSERT_EQ(put(st, INV_DFWRULE, "late/x", "{\"action\":\"drop\"}"), 0);
    ASSERT_EQ(put(st, INV_DFWRULE, "b-early/z", "{\"order\":1,\"action\":\"drop\"}"), 0);
    ASSERT_EQ(put(st, INV_DFWRULE, "b-early/y", "{\"order\":2,\"action\":\"drop\"}"), 0);
    ASSERT_EQ(put(st, INV_DFWRULE, "b-early/a", "{\"order\":2,\"action\":\"drop\"}"), 0);
    ASSERT_EQ(
        put(st, INV_DFWRULE, "a-early/q",
            "{\"action\":\"reject\",\"services\":[\"ping\"],\"direction\":\"in\",\"log\":true}"),
        0);
    ASSERT_EQ(put(st, INV_DFWRULE, "first/all", "{\"action\":\"allow\",\"order\":99}"), 0);
    json_t *p = policy_of(st, "h1");
    ASSERT_STREQ(rule_names(p), "first/all a-early/q b-early/z b-early/a b-early/y late/x");
    json_t *q = json_array_get(json_object_get(p, "rules"), 1);
    json_t *want = json_pack("{s:s,s:[],s:[],s:[s],s:[],s:s,s:s,s:b}", "name", "a-early/q", "src",
                             "dst", "services", "ping", "applied_to", "action", "reject",
                             "direction", "in", "log", 1);
    ASSERT_TRUE(json_equal(q, want));
    json_decref(want);
    q = json_array_get(json_object_get(p, "rules"), 0);
    ASSERT_STREQ(json_string_value(json_object_get(q, "direction")), "inout"); /* the default */
    ASSERT_TRUE(json_is_false(json_object_get(q, "log")));
    want = json_pack("[{s:s,s:[{s:s,s:i},{s:s,s:i}]}]", "name", "ping", "entries", "proto", "icmp",
                     "type", 8, "proto", "icmpv6", "type", 128);
    ASSERT_TRUE(json_equal(json_object_get(p, "services"), want));
    json_decref(want);
    json_decref(p);
    close_scratch(st);
}

/* No policy where nothing of the firewall is set; a switch's default
 * reaches its datacenter's portgroups by their names on the hosts. */
static void
defaults_come_from_each_datacenters_switches(void)
{
    struct store *st = open_scratch();
    ASSERT_NOT_NULL(st);
    ASSERT_TRUE(base(st));
    json_t *p = policy_of(st, "h1");
    ASSERT_TRUE(json_is_null(p)); /* the firewall off */
    json_decref(p);
    ASSERT_EQ(put(st, INV_SWITCH, "s1", "{\"datacenter\":\"dc1\",\"dfw_default\":\"drop\"}"), 0);
    ASSERT_EQ(put(st, INV_SWITCH, "s2", "{\"datacenter\":\"dc1\",\"dfw_default\":\"reject\"}"), 0);
    ASSERT_EQ(put(st, INV_PORTGROUP, "s2/pg-a", "{\"vlan\":30}"), 0); /* s1's pg-a on the hosts */
    ASSERT_EQ(put(st, INV_PORTGROUP, "s2/pg-c", "{\"vlan\":40}"), 0);
    ASSERT_EQ(put(st, INV_SWITCH, "s3", "{\"datacenter\":\"dc1\"}"), 0);
    ASSERT_EQ(put(st, INV_PORTGROUP, "s3/pg-d", "{\"vlan\":50}"), 0);
    p = policy_of(st, "h1");
    json_t *want =
        json_pack("{s:s,s:{s:s,s:s,s:s},s:[],s:[],s:[]}", "default", "allow", "portgroup_defaults",
                  "pg-a", "drop", "pg-b", "drop", "pg-c", "reject", "groups", "services", "rules");
    ASSERT_TRUE(json_equal(p, want));
    json_decref(want);
    json_decref(p);
    p = policy_of(st, "h2"); /* dc2: none of its switches sets one */
    ASSERT_TRUE(json_is_null(p));
    json_decref(p);
    ASSERT_EQ(put(st, INV_DFWSECTION, "app", "{}"), 0); /* an object, but nothing it restricts */
    p = policy_of(st, "h2");
    ASSERT_TRUE(json_is_null(p)); /* no rule, every default allow: off, and cheaper */
    json_decref(p);
    ASSERT_EQ(put(st, INV_DFWRULE, "app/all", "{\"action\":\"allow\"}"), 0); /* a rule: on */
    p = policy_of(st, "h2");
    ASSERT_STREQ(json_string_value(json_object_get(p, "default")), "allow");
    ASSERT_EQ(json_object_size(json_object_get(p, "portgroup_defaults")), 0);
    json_decref(p);
    ASSERT_EQ(dfw_compile(st, "h9", &p, err, sizeof err), -ENOENT);
    ASSERT_STREQ(err, "no host h9");
    close_scratch(st);
}

/* An inventory of 1,000 groups (2,000 VMs, 4,000 vNICs, by tag, VM and
 * portgroup), 100 services, 100 sections, 10,000 rules. */
static json_t *
big_inventory(void)
{
    json_t *inv = json_pack("{s:{},s:{},s:{},s:{},s:{},s:{},s:{s:{s:s,s:s}},s:{}}", "dfwgroup",
                            "dfwservice", "dfwsection", "dfwrule", "vm", "vnic", "switch", "s1",
                            "datacenter", "dc1", "dfw_default", "drop", "portgroup");
    char a[64], b[64];
    for (int i = 0; i < 50; i++) {
        snprintf(a, sizeof a, "s1/pg%d", i);
        json_object_set_new(json_object_get(inv, "portgroup"), a, json_pack("{s:i}", "vlan", i));
    }
    for (int i = 0; i < 2000; i++) {
        snprintf(a, sizeof a, "vm%d", i);
        snprintf(b, sizeof b, "t%d", i % 500);
        json_object_set_new(json_object_get(inv, "vm"), a,
                            json_pack("{s:s,s:[s]}", "host", "h1", "tags", b));
        for (int n = 0; n < 2; n++) {
            char nic[80], mac[18], pg[32];
            snprintf(nic, sizeof nic, "vm%d/eth%d", i, n);
            snprintf(mac, sizeof mac, "02:00:00:%02x:%02x:%02x", n, i >> 8, i & 0xff);
            snprintf(pg, sizeof pg, "s1/pg%d", i % 50);
            json_object_set_new(json_object_get(inv, "vnic"), nic,
                                json_pack("{s:s,s:s}", "mac", mac, "portgroup", pg));
        }
    }
    for (int i = 0; i < 1000; i++) {
        snprintf(a, sizeof a, "g%d", i);
        json_t *g =
            i % 3 == 0 ? json_pack("{s:[s]}", "tags", (snprintf(b, sizeof b, "t%d", i % 500), b))
            : i % 3 == 1
                ? json_pack("{s:[s,s]}", "vms", (snprintf(b, sizeof b, "vm%d", i), b), "vm1")
                : json_pack("{s:[s],s:[s]}", "portgroups",
                            (snprintf(b, sizeof b, "s1/pg%d", i % 50), b), "cidrs",
                            "198.18.0.0/16");
        json_object_set_new(json_object_get(inv, "dfwgroup"), a, g);
    }
    for (int i = 0; i < 100; i++) {
        snprintf(a, sizeof a, "svc%d", i);
        snprintf(b, sizeof b, "%d", 1000 + i);
        json_object_set_new(json_object_get(inv, "dfwservice"), a,
                            json_pack("{s:[{s:s,s:[s]}]}", "entries", "proto", "tcp", "ports", b));
        snprintf(a, sizeof a, "sec%d", i);
        json_object_set_new(json_object_get(inv, "dfwsection"), a,
                            json_pack("{s:i}", "order", 100 - i));
    }
    for (int i = 0; i < 10000; i++) {
        char g1[16], g2[16], s[16];
        snprintf(a, sizeof a, "sec%d/rule%d", i % 100, i);
        snprintf(g1, sizeof g1, "g%d", i % 1000);
        snprintf(g2, sizeof g2, "g%d", (i * 7) % 1000);
        snprintf(s, sizeof s, "svc%d", i % 100);
        json_object_set_new(json_object_get(inv, "dfwrule"), a,
                            json_pack("{s:i,s:[s],s:[s],s:[s],s:[s],s:s}", "order", i % 17, "src",
                                      g1, "dst", g2, "services", s, "applied_to", g2, "action",
                                      i % 2 ? "allow" : "drop"));
    }
    return inv;
}

/* 10,000 rules and 1,000 groups: the time it takes is printed. */
static void
ten_thousand_rules_compile_quickly(void)
{
    json_t *inv = big_inventory();
    ASSERT_NOT_NULL(inv);
    uint64_t t0 = now_ms();
    struct dfw_model *m = dfw_model_create(inv);
    ASSERT_NOT_NULL(m);
    uint64_t t1 = now_ms();
    json_t *p = dfw_model_policy(m, "dc1");
    char hex[JSON_DIGEST_HEX];
    ASSERT_EQ(json_digest(p, hex), 0);
    uint64_t t2 = now_ms();
    printf("# 10000 rules, 1000 groups, 4000 vNICs: compiled in %llu ms, policy and digest in "
           "%llu ms\n",
           (unsigned long long)(t1 - t0), (unsigned long long)(t2 - t1));
    ASSERT_EQ(json_array_size(json_object_get(p, "rules")), 10000);
    ASSERT_EQ(json_array_size(json_object_get(p, "groups")), 1000);
    ASSERT_EQ(json_object_size(json_object_get(p, "portgroup_defaults")), 50);
    json_t *first = json_array_get(json_object_get(p, "rules"), 0);
    ASSERT_STREQ(json_string_value(json_object_get(first, "name")), "sec99/rule2499"); /* order 0 */
    json_decref(p);
    dfw_model_destroy(m);
    json_decref(inv);
}

/* dfw.stats of two hosts, two DPUs each: summed per rule, per host and
 * over the fleet; what is not of its shape left out; a host forgotten. */
static void
counters_are_summed_per_rule(void)
{
    struct dfw_stats *s = dfw_stats_create();
    ASSERT_NOT_NULL(s);
    json_t *h1 = json_loads(
        "{\"dpus\":{\"dpu1\":{\"rules\":[{\"name\":\"app/ssh\",\"packets\":10,\"bytes\":1000,"
        "\"sessions\":2},{\"name\":\"default\",\"packets\":1,\"bytes\":60,\"sessions\":0}],"
        "\"conns\":2,\"conn_max\":65536,\"drops\":{\"policy\":1}},"
        "\"dpu2\":{\"rules\":[{\"name\":\"app/ssh\",\"packets\":5,\"bytes\":500,\"sessions\":1},"
        "{\"packets\":7},{\"name\":\"bad\",\"packets\":-3,\"bytes\":\"x\"}],\"conns\":1,"
        "\"conn_max\":65536,\"drops\":{\"policy\":2,\"ct_invalid\":4}}}}",
        0, NULL);
    json_t *h2 = json_loads("{\"dpus\":{\"dpu1\":{\"rules\":[{\"name\":\"app/ssh\",\"packets\":1,"
                            "\"bytes\":100,\"sessions\":1}],\"conns\":0,\"conn_max\":1024}}}",
                            0, NULL);
    dfw_stats_record(s, "h1", h1, 1000);
    dfw_stats_record(s, "h2", h2, 2000);
    dfw_stats_record(s, "h3", json_object_get(h2, "nothing"), 3000); /* no answer of shape */
    json_t *got = dfw_stats_json(s, "h1");
    json_t *want =
        json_pack("{s:s,s:i,s:i,s:i,s:i,s:i,s:{s:i,s:i},s:[{s:s,s:i,s:i,s:i},{s:s,s:i,s:i,s:i},"
                  "{s:s,s:i,s:i,s:i}]}",
                  "host", "h1", "hosts", 1, "at_ms", 1000, "dpus", 2, "conns", 3, "conn_max",
                  131072, "drops", "policy", 3, "ct_invalid", 4, "rules", "name", "app/ssh",
                  "packets", 15, "bytes", 1500, "sessions", 3, "name", "bad", "packets", 0, "bytes",
                  0, "sessions", 0, "name", "default", "packets", 1, "bytes", 60, "sessions", 0);
    ASSERT_TRUE(json_equal(got, want));
    json_decref(got);
    json_decref(want);
    got = dfw_stats_json(s, NULL);
    json_t *ssh = json_array_get(json_object_get(got, "rules"), 0);
    ASSERT_EQ(json_integer_value(json_object_get(got, "hosts")), 3);
    ASSERT_EQ(json_integer_value(json_object_get(got, "dpus")), 3);
    ASSERT_EQ(json_integer_value(json_object_get(ssh, "packets")), 16);
    ASSERT_EQ(json_integer_value(json_object_get(ssh, "sessions")), 4);
    ASSERT_EQ(json_integer_value(json_object_get(got, "conn_max")), 132096);
    json_decref(got);
    dfw_stats_forget(s, "h1");
    ASSERT_NULL(dfw_stats_json(s, "h1"));
    got = dfw_stats_json(s, NULL);
    ssh = json_array_get(json_object_get(got, "rules"), 0);
    ASSERT_EQ(json_integer_value(json_object_get(ssh, "packets")), 1);
    json_decref(got);
    json_decref(h1);
    json_decref(h2);
    dfw_stats_destroy(s);
}

TEST_MAIN(TEST(bad_values_are_refused_with_one_line), TEST(what_a_rule_names_cannot_be_deleted),
          TEST(groups_follow_the_vms), TEST(sections_and_rules_are_flattened_in_order),
          TEST(defaults_come_from_each_datacenters_switches),
          TEST(ten_thousand_rules_compile_quickly), TEST(counters_are_summed_per_rule))
