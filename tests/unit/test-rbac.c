/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rbac over a small inventory: dc1 > c1 > h1 > {dpu1, vm1}, dc1 > c2 > h2.
 * The nearest grant decides; no grant on the way: no access.
 */
#include "tests/unit/check.h"
#include "manager/rbac.h"

#include <stdio.h>

/* The inventory's shape: each key's parent, NULL at the root. */
static const char *
parent(const char *key, char *buf, size_t len, void *aux)
{
    static const char *const up[][2] = {
        {"c1", "dc1"},  {"c2", "dc1"}, {"h1", "c1"},         {"h2", "c2"},
        {"dpu1", "h1"}, {"vm1", "h1"}, {"loop-a", "loop-b"}, {"loop-b", "loop-a"},
    };
    (void)aux;
    for (size_t i = 0; i < sizeof up / sizeof up[0]; i++)
        if (!strcmp(key, up[i][0])) {
            snprintf(buf, len, "%s", up[i][1]);
            return buf;
        }
    return NULL;
}

static enum rbac_role
role(const struct rbac_grant *g, size_t n, const char *who, const char *what)
{
    return rbac_role_on(g, n, who, what, parent, NULL);
}

static void
a_grant_holds_for_everything_below(void)
{
    const struct rbac_grant g[] = {{"ann", "dc1", RBAC_OPERATOR}};
    const char *const all[] = {"dc1", "c1", "c2", "h1", "h2", "dpu1", "vm1"};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        ASSERT_EQ(role(g, 1, "ann", all[i]), RBAC_OPERATOR);
    ASSERT_EQ(role(g, 1, "bob", "vm1"), RBAC_NONE); /* another user: nothing */
    ASSERT_EQ(role(g, 1, "ann", "elsewhere"), RBAC_NONE);
}

static void
the_nearest_grant_decides(void)
{
    const struct rbac_grant g[] = {
        {"ann", "dc1", RBAC_ADMIN},
        {"ann", "c1", RBAC_READ_ONLY}, /* restricted below */
        {"bob", "h1", RBAC_OPERATOR},
    };
    ASSERT_EQ(role(g, 3, "ann", "dc1"), RBAC_ADMIN);
    ASSERT_EQ(role(g, 3, "ann", "c2"), RBAC_ADMIN);
    ASSERT_EQ(role(g, 3, "ann", "h2"), RBAC_ADMIN);
    ASSERT_EQ(role(g, 3, "ann", "c1"), RBAC_READ_ONLY);
    ASSERT_EQ(role(g, 3, "ann", "dpu1"), RBAC_READ_ONLY);
    ASSERT_EQ(role(g, 3, "bob", "vm1"), RBAC_OPERATOR);
    ASSERT_EQ(role(g, 3, "bob", "c1"), RBAC_NONE); /* nothing flows up */
}

static void
several_grants_on_one_object_the_strongest(void)
{
    const struct rbac_grant g[] = {{"ann", "h1", RBAC_READ_ONLY}, {"ann", "h1", RBAC_OPERATOR}};
    ASSERT_EQ(role(g, 2, "ann", "vm1"), RBAC_OPERATOR);
}

static void
a_cycle_in_the_inventory_ends(void)
{
    const struct rbac_grant g[] = {{"ann", "dc1", RBAC_ADMIN}};
    ASSERT_EQ(role(g, 1, "ann", "loop-a"), RBAC_NONE);
    char deep[RBAC_KEY_MAX + 8];
    memset(deep, 'k', sizeof deep - 1);
    deep[sizeof deep - 1] = '\0';
    ASSERT_EQ(role(g, 1, "ann", deep), RBAC_NONE);
    ASSERT_EQ(rbac_role_on(g, 1, NULL, "dc1", parent, NULL), RBAC_NONE);
}

static void
what_each_role_may_do(void)
{
    static const bool want[4][3] = {
        [RBAC_NONE] = {false, false, false},
        [RBAC_READ_ONLY] = {true, false, false},
        [RBAC_OPERATOR] = {true, true, false},
        [RBAC_ADMIN] = {true, true, true},
    };
    for (int r = RBAC_NONE; r <= RBAC_ADMIN; r++)
        for (int a = RBAC_READ; a <= RBAC_ADMINISTER; a++)
            ASSERT_EQ(rbac_allows((enum rbac_role)r, (enum rbac_action)a), want[r][a]);
}

static void
role_names_round_trip(void)
{
    for (int r = RBAC_NONE; r <= RBAC_ADMIN; r++) {
        enum rbac_role back;
        ASSERT_EQ(rbac_role_parse(rbac_role_name((enum rbac_role)r), &back), 0);
        ASSERT_EQ(back, r);
    }
    enum rbac_role x;
    ASSERT_EQ(rbac_role_parse("root", &x), -EINVAL);
    ASSERT_EQ(rbac_role_parse(NULL, &x), -EINVAL);
    ASSERT_STREQ(rbac_role_name((enum rbac_role)9), "?");
}

TEST_MAIN(TEST(a_grant_holds_for_everything_below), TEST(the_nearest_grant_decides),
          TEST(several_grants_on_one_object_the_strongest), TEST(a_cycle_in_the_inventory_ends),
          TEST(what_each_role_may_do), TEST(role_names_round_trip))
