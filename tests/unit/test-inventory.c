/* SPDX-License-Identifier: Apache-2.0 */
/*
 * inventory over a scratch store: the tree built top-down, values checked
 * field by field, updates that name their version, deletes refused while
 * something belongs to or names the object, and the tree walked upwards
 * for rbac (a host that moves to another cluster changes who may touch it).
 */
#include "tests/unit/check.h"
#include "tests/unit/store-fx.h"
#include "lib/util.h"
#include "manager/inventory.h"
#include "manager/rbac.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

static const struct store_actor actor = {.who = "ann", .from = "test", .what = "inventory.put"};

static struct store_fx fx;

static struct store *
open_scratch(void)
{
    return store_fx_open(&fx, "inventory");
}

static void
close_scratch(struct store *st)
{
    store_fx_close(&fx);
}

/* inv_put() of JSON text 'json'; the error into 'err' (ERR_LEN). */
static int
put(struct store *st, enum inv_kind k, const char *name, const char *json, int64_t expected,
    int64_t *rev, char *err)
{
    json_t *obj = json_loads(json, 0, NULL);
    int rc = inv_put(st, k, name, obj, expected, &actor, rev, err, ERR_LEN);
    json_decref(obj);
    return rc;
}

static bool
exists(struct store *st, enum inv_kind k, const char *name)
{
    char key[STORE_KEY_MAX];
    struct store_kv kv = {0};
    bool found =
        inv_key(k, name, key, sizeof key, NULL, 0) == 0 && store_get(st, key, &kv, NULL, 0) == 0;
    store_kv_fini(&kv);
    return found;
}

/* dc1 > c1 > h1 > {h1/dpu1, vm1 > vm1/eth0 on s1/pg-a}; dc1 > s1 > s1/pg-a; c2. */
static bool
build(struct store *st)
{
    char err[ERR_LEN] = "";
    static const struct {
        enum inv_kind k;
        const char *name, *json;
    } objs[] = {
        {INV_DATACENTER, "dc1", "{}"},
        {INV_CLUSTER, "c1", "{\"datacenter\":\"dc1\",\"dpu_rule\":{\"vendor\":\"lab\"}}"},
        {INV_CLUSTER, "c2", "{\"datacenter\":\"dc1\"}"},
        {INV_HOST, "h1", "{\"cluster\":\"c1\",\"address\":\"198.19.0.11\"}"},
        {INV_DPU, "h1/dpu1", "{\"vendor\":\"lab\",\"model\":\"emu\"}"},
        {INV_SWITCH, "s1", "{\"datacenter\":\"dc1\",\"mtu\":9000}"},
        {INV_PORTGROUP, "s1/pg-a", "{\"vlan\":10,\"mtu\":9000}"},
        {INV_VM, "vm1", "{\"host\":\"h1\"}"},
        {INV_VNIC, "vm1/eth0", "{\"mac\":\"02:d5:00:00:00:01\",\"portgroup\":\"s1/pg-a\"}"},
    };
    for (size_t i = 0; i < sizeof objs / sizeof objs[0]; i++)
        if (put(st, objs[i].k, objs[i].name, objs[i].json, STORE_MUST_NOT_EXIST, NULL, err) < 0) {
            fprintf(stderr, "%s %s: %s\n", inv_kind_name(objs[i].k), objs[i].name, err);
            return false;
        }
    return true;
}

static void
the_tree_is_built_top_down(void)
{
    struct store *st = open_scratch();
    ASSERT_NOT_NULL(st);
    ASSERT_TRUE(build(st));
    char err[ERR_LEN] = "";
    ASSERT_EQ(put(st, INV_CLUSTER, "c9", "{\"datacenter\":\"nope\"}", 0, NULL, err), -ENOENT);
    ASSERT_STREQ(err, "cluster: no datacenter nope");
    ASSERT_EQ(put(st, INV_DPU, "h9/dpu1", "{}", 0, NULL, err), -ENOENT);
    ASSERT_STREQ(err, "dpu: no host h9");
    ASSERT_EQ(put(st, INV_VNIC, "vm1/eth1",
                  "{\"mac\":\"02:00:00:00:00:09\",\"portgroup\":\"s1/x\"}", 0, NULL, err),
              -ENOENT);
    ASSERT_FALSE(exists(st, INV_CLUSTER, "c9"));
    ASSERT_FALSE(exists(st, INV_DPU, "h9/dpu1"));
    ASSERT_FALSE(exists(st, INV_VNIC, "vm1/eth1"));
    close_scratch(st);
}

static void
values_are_checked_field_by_field(void)
{
    struct store *st = open_scratch();
    ASSERT_NOT_NULL(st);
    ASSERT_TRUE(build(st));
    static const struct {
        enum inv_kind k;
        const char *name, *json, *why;
    } bad[] = {
        {INV_PORTGROUP, "s1/pg-b", "{\"vlan\":5000}", "portgroup: vlan: 0 to 4094"},
        {INV_PORTGROUP, "s1/pg-b", "{\"vlan\":\"10\"}", "portgroup: vlan: 0 to 4094"},
        {INV_PORTGROUP, "s1/pg-b", "{\"vlna\":10}", "portgroup: vlna: no such field"},
        {INV_PORTGROUP, "s1/pg-b", "{}", "portgroup: vlan is required"},
        {INV_PORTGROUP, "s1/pg-b", "{\"vlan\":1,\"mtu\":20}", "portgroup: mtu: 68 to 9000"},
        {INV_PORTGROUP, "s1/pg-b", "[]", "portgroup: a JSON object"},
        {INV_HOST, "h2", "{\"cluster\":\"c1\",\"address\":\"1.2.3\"}",
         "host: address: an IPv4 address"},
        {INV_VNIC, "vm1/eth1", "{\"mac\":\"01:00:5e:00:00:01\",\"portgroup\":\"s1/pg-a\"}",
         "vnic: mac: a unicast MAC, xx:xx:xx:xx:xx:xx"},
        {INV_CLUSTER, "c3", "{\"datacenter\":\"dc1\",\"dpu_rule\":{\"colour\":\"red\"}}",
         "cluster: dpu_rule: dpu_rule: colour: not vendor, model or firmware"},
        {INV_SWITCH, "s2", "{\"datacenter\":\"dc1\",\"teaming\":{\"order\":[\"a\",\"a\"]}}",
         "switch: teaming: order: a twice"},
        {INV_SWITCH, "s2", "{\"datacenter\":\"dc1\",\"teaming\":{\"failback\":\"no\"}}",
         "switch: teaming: failback: true or false"},
        {INV_SWITCH, "s2", "{\"datacenter\":\"dc1\",\"teaming\":{\"mode\":\"lacp\"}}",
         "switch: teaming: mode: not failback or order"},
        {INV_PORTGROUP, "s1/pg-b", "{\"vlan\":1,\"failback\":true}",
         "portgroup: failback: no such field"},
        {INV_DATACENTER, "dc/2", "{}",
         "datacenter: a name is 1 to 64 characters of letters, "
         "digits, '.-_'"},
        {INV_DPU, "dpu1", "{}", "dpu: a name is PARENT/NAME, each of letters, digits, '.-_'"},
        {INV_VM, "vm 2", "{\"host\":\"h1\"}",
         "vm: a name is 1 to 64 characters of letters, digits, '.-_'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[ERR_LEN] = "";
        ASSERT_EQ(put(st, bad[i].k, bad[i].name, bad[i].json, 0, NULL, err), -EINVAL);
        ASSERT_STREQ(err, bad[i].why);
    }
    int64_t rev = -1;
    char err[ERR_LEN];
    ASSERT_EQ(store_revision(st, &rev, err, sizeof err), 0);
    ASSERT_EQ(rev, 9); /* the nine of build(), nothing since */
    close_scratch(st);
}

static void
an_update_names_the_version_it_read(void)
{
    struct store *st = open_scratch();
    ASSERT_NOT_NULL(st);
    ASSERT_TRUE(build(st));
    char err[ERR_LEN] = "";
    int64_t r1, r2;
    ASSERT_EQ(put(st, INV_PORTGROUP, "s1/pg-b", "{\"vlan\":20}", 0, &r1, err), 0);
    ASSERT_EQ(put(st, INV_PORTGROUP, "s1/pg-b", "{\"vlan\":21}", r1, &r2, err), 0);
    ASSERT_GT(r2, r1);
    ASSERT_EQ(put(st, INV_PORTGROUP, "s1/pg-b", "{\"vlan\":22}", r1, NULL, err), -ESTALE);
    ASSERT_EQ(put(st, INV_PORTGROUP, "s1/pg-b", "{\"vlan\":23}", 0, NULL, err), -EEXIST);
    struct store_kv kv = {0};
    ASSERT_EQ(store_get(st, "/dse/v1/portgroup/s1/pg-b", &kv, err, sizeof err), 0);
    ASSERT_STREQ(kv.value, "{\"vlan\":21}");
    ASSERT_EQ(kv.mod_revision, r2);
    store_kv_fini(&kv);
    close_scratch(st);
}

static void
nothing_goes_while_something_belongs_to_it(void)
{
    struct store *st = open_scratch();
    ASSERT_NOT_NULL(st);
    ASSERT_TRUE(build(st));
    char err[ERR_LEN] = "";
    ASSERT_EQ(inv_delete(st, INV_HOST, "h1", STORE_ANY_VERSION, &actor, NULL, err, sizeof err),
              -ENOTEMPTY);
    ASSERT_STREQ(err, "host h1: dpu h1/dpu1 still belongs to it");
    ASSERT_EQ(
        inv_delete(st, INV_PORTGROUP, "s1/pg-a", STORE_ANY_VERSION, &actor, NULL, err, sizeof err),
        -ENOTEMPTY);
    ASSERT_STREQ(err, "portgroup s1/pg-a: vnic vm1/eth0 still belongs to it");
    ASSERT_EQ(
        inv_delete(st, INV_DATACENTER, "dc1", STORE_ANY_VERSION, &actor, NULL, err, sizeof err),
        -ENOTEMPTY);
    ASSERT_TRUE(exists(st, INV_HOST, "h1") && exists(st, INV_PORTGROUP, "s1/pg-a"));
    /* Bottom-up, everything goes. */
    static const struct {
        enum inv_kind k;
        const char *name;
    } order[] = {
        {INV_VNIC, "vm1/eth0"},     {INV_VM, "vm1"},    {INV_DPU, "h1/dpu1"}, {INV_HOST, "h1"},
        {INV_PORTGROUP, "s1/pg-a"}, {INV_SWITCH, "s1"}, {INV_CLUSTER, "c1"},  {INV_CLUSTER, "c2"},
        {INV_DATACENTER, "dc1"}};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        ASSERT_EQ(inv_delete(st, order[i].k, order[i].name, STORE_ANY_VERSION, &actor, NULL, err,
                             sizeof err),
                  0);
        ASSERT_FALSE(exists(st, order[i].k, order[i].name));
    }
    ASSERT_EQ(
        inv_delete(st, INV_DATACENTER, "dc1", STORE_ANY_VERSION, &actor, NULL, err, sizeof err),
        -ENOENT);
    close_scratch(st);
}

static void
the_tree_walked_upwards_decides_who_may(void)
{
    struct store *st = open_scratch();
    ASSERT_NOT_NULL(st);
    ASSERT_TRUE(build(st));
    char buf[STORE_KEY_MAX];
    static const char *const chain[] = {"/dse/v1/vnic/vm1/eth0", "/dse/v1/vm/vm1",
                                        "/dse/v1/host/h1", "/dse/v1/cluster/c1",
                                        "/dse/v1/datacenter/dc1"};
    for (size_t i = 0; i + 1 < sizeof chain / sizeof chain[0]; i++)
        ASSERT_STREQ(inv_parent(chain[i], buf, sizeof buf, st), chain[i + 1]);
    ASSERT_STREQ(inv_parent("/dse/v1/datacenter/dc1", buf, sizeof buf, st), INV_ROOT);
    ASSERT_NULL(inv_parent(INV_ROOT, buf, sizeof buf, st));
    ASSERT_NULL(inv_parent("/elsewhere", buf, sizeof buf, st));
    ASSERT_STREQ(inv_parent("/dse/v1/portgroup/s1/pg-a", buf, sizeof buf, st), "/dse/v1/switch/s1");
    ASSERT_STREQ(inv_parent("/dse/v1/user/ann", buf, sizeof buf, st), INV_ROOT);

    const struct rbac_grant g[] = {{"bob", "/dse/v1/cluster/c1", RBAC_OPERATOR}};
    ASSERT_EQ(rbac_role_on(g, 1, "bob", "/dse/v1/vnic/vm1/eth0", inv_parent, st), RBAC_OPERATOR);
    /* h1 moves to c2: bob's grant on c1 no longer reaches it. */
    char err[ERR_LEN] = "";
    ASSERT_EQ(put(st, INV_HOST, "h1", "{\"cluster\":\"c2\"}", STORE_ANY_VERSION, NULL, err), 0);
    ASSERT_EQ(rbac_role_on(g, 1, "bob", "/dse/v1/vnic/vm1/eth0", inv_parent, st), RBAC_NONE);
    close_scratch(st);
}

static void
each_change_is_audited_with_its_actor(void)
{
    struct store *st = open_scratch();
    ASSERT_NOT_NULL(st);
    ASSERT_TRUE(build(st));
    struct store_audit_query q = {.prefix = "/dse/v1/portgroup/", .limit = 10};
    struct store_audit_list l = {0};
    char err[ERR_LEN];
    ASSERT_EQ(store_audit_list(st, &q, &l, err, sizeof err), 0);
    ASSERT_EQ(l.n_entries, 1);
    ASSERT_STREQ(l.entries[0].who, "ann");
    ASSERT_STREQ(l.entries[0].key, "/dse/v1/portgroup/s1/pg-a");
    ASSERT_NULL(l.entries[0].before);
    ASSERT_STREQ(l.entries[0].after, "{\"mtu\":9000,\"vlan\":10}");
    store_audit_list_fini(&l);
    close_scratch(st);
}

TEST_MAIN(TEST(the_tree_is_built_top_down), TEST(values_are_checked_field_by_field),
          TEST(an_update_names_the_version_it_read),
          TEST(nothing_goes_while_something_belongs_to_it),
          TEST(the_tree_walked_upwards_decides_who_may),
          TEST(each_change_is_audited_with_its_actor))
