/* SPDX-License-Identifier: Apache-2.0 */
/* authz: roles, listener policies, the role of a certificate, the counters. */
#include "tests/unit/check.h"
#include "lib/authz.h"

static void
roles_parse_and_print(void)
{
    unsigned r = 0;
    ASSERT_EQ(authz_role_parse("manager", &r), 0);
    ASSERT_EQ(r, AUTHZ_MANAGER);
    ASSERT_EQ(authz_role_parse("dpu", &r), 0);
    ASSERT_EQ(r, AUTHZ_DPU);
    ASSERT_EQ(authz_role_parse("Host", &r), -EINVAL);
    ASSERT_EQ(authz_role_parse("", &r), -EINVAL);
    ASSERT_STREQ(authz_role_name(AUTHZ_HOST), "host");
    ASSERT_STREQ(authz_role_name(AUTHZ_HOST | AUTHZ_DPU), "none");
    ASSERT_STREQ(authz_role_name(0), "none");
    char buf[64];
    authz_roles_format(AUTHZ_MANAGER | AUTHZ_DPU, buf, sizeof buf);
    ASSERT_STREQ(buf, "manager,dpu");
    authz_roles_format(0, buf, sizeof buf);
    ASSERT_STREQ(buf, "local");
}

static void
policy_lets_in_its_peers_only(void)
{
    struct authz_policy p = {0};
    char err[160];
    ASSERT_EQ(authz_policy_add(&p, "host:dse-h1", err, sizeof err), 0);
    ASSERT_EQ(authz_policy_add(&p, "manager", err, sizeof err), 0);
    ASSERT_EQ(authz_policy_add(&p, "host:dse-h1", err, sizeof err), 0); /* again: harmless */
    ASSERT_EQ(p.n_peers, 2);
    ASSERT_TRUE(authz_policy_allows(&p, AUTHZ_HOST, "dse-h1"));
    ASSERT_FALSE(authz_policy_allows(&p, AUTHZ_HOST, "dse-h2"));
    ASSERT_FALSE(authz_policy_allows(&p, AUTHZ_HOST, NULL));
    ASSERT_FALSE(authz_policy_allows(&p, AUTHZ_DPU, "dse-h1")); /* the name, another role */
    ASSERT_TRUE(authz_policy_allows(&p, AUTHZ_MANAGER, "any-manager"));
    ASSERT_FALSE(authz_policy_allows(&p, AUTHZ_HOST | AUTHZ_MANAGER, "dse-h1"));
    json_t *j = authz_policy_json(&p);
    char *s = json_dumps(j, JSON_COMPACT);
    ASSERT_STREQ(s, "[\"host:dse-h1\",\"manager\"]");
    free(s);
    json_decref(j);
}

static void
bad_peers_are_refused_in_one_line(void)
{
    struct authz_policy p = {0};
    char err[160];
    ASSERT_EQ(authz_policy_add(&p, "admin:x", err, sizeof err), -EINVAL);
    ASSERT_STREQ(err, "peer 'admin:x': want ROLE or ROLE:CN, ROLE manager, host or dpu");
    ASSERT_EQ(authz_policy_add(&p, "host:", err, sizeof err), -EINVAL);
    ASSERT_STREQ(err, "peer 'host:': empty CN");
    ASSERT_EQ(authz_policy_add(&p, "host:a b", err, sizeof err), -EINVAL);
    ASSERT_EQ(authz_policy_add(&p, "verylongrolenamethatoverflows:x", err, sizeof err), -EINVAL);
    ASSERT_EQ(authz_policy_add_peer(&p, AUTHZ_HOST | AUTHZ_DPU, "x", err, sizeof err), -EINVAL);
    ASSERT_EQ(p.n_peers, 0);
    for (int i = 0; i < AUTHZ_MAX_PEERS; i++) {
        char cn[16];
        snprintf(cn, sizeof cn, "h%d", i);
        ASSERT_EQ(authz_policy_add_peer(&p, AUTHZ_HOST, cn, err, sizeof err), 0);
    }
    ASSERT_EQ(authz_policy_add(&p, "dpu", err, sizeof err), -ENOSPC);
}

static void
a_certificate_names_exactly_one_role(void)
{
    unsigned r = 0;
    char err[160];
    const char *one[] = {"https://example/x", "urn:dse:role:dpu"};
    ASSERT_EQ(authz_role_from_uris(one, 2, &r, err, sizeof err), 0);
    ASSERT_EQ(r, AUTHZ_DPU);
    const char *same[] = {"urn:dse:role:host", "urn:dse:role:host"};
    ASSERT_EQ(authz_role_from_uris(same, 2, &r, err, sizeof err), 0);
    ASSERT_EQ(r, AUTHZ_HOST);
    const char *two[] = {"urn:dse:role:host", "urn:dse:role:manager"};
    ASSERT_EQ(authz_role_from_uris(two, 2, &r, err, sizeof err), -EINVAL);
    ASSERT_STREQ(err, "the certificate names several roles");
    const char *unknown[] = {"urn:dse:role:root"};
    ASSERT_EQ(authz_role_from_uris(unknown, 1, &r, err, sizeof err), -EINVAL);
    ASSERT_STREQ(err, "unknown role 'root'");
    const char *none[] = {"urn:dse:rolex:host", "URN:DSE:ROLE:HOST"};
    ASSERT_EQ(authz_role_from_uris(none, 2, &r, err, sizeof err), -ENOENT);
    ASSERT_EQ(authz_role_from_uris(NULL, 0, &r, err, sizeof err), -ENOENT);
}

static void
refusals_are_counted_per_reason(void)
{
    uint64_t before = authz_refused(AUTHZ_R_PEER);
    authz_count(AUTHZ_R_PEER);
    authz_count(AUTHZ_R_PEER);
    authz_count(AUTHZ_N_REASONS); /* out of range: ignored */
    ASSERT_EQ(authz_refused(AUTHZ_R_PEER), before + 2);
    ASSERT_STREQ(authz_reason_name(AUTHZ_R_NO_CERT), "no-certificate");
    ASSERT_STREQ(authz_reason_name(AUTHZ_N_REASONS), "?");
    json_t *j = authz_refused_json();
    ASSERT_EQ(json_object_size(j), AUTHZ_N_REASONS);
    ASSERT_EQ(json_integer_value(json_object_get(j, "peer")), (json_int_t)(before + 2));
    json_decref(j);
}

TEST_MAIN(TEST(roles_parse_and_print), TEST(policy_lets_in_its_peers_only),
          TEST(bad_peers_are_refused_in_one_line), TEST(a_certificate_names_exactly_one_role),
          TEST(refusals_are_counted_per_reason))
