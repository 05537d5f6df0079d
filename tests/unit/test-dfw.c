/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The distributed firewall (dataplane/dfw.h): its policy refused with one
 * line when wrong, its classifier (checked against a linear scan of the
 * same rules), and its verdicts on packets with connection tracking,
 * rejects, counters, a full table and a policy change.
 */
#include "tests/unit/check.h"
#include "dataplane/dfw.h"
#include "tests/unit/l3frames.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t mac_a[6] = {2, 0, 0, 0, 0, 1}, mac_b[6] = {2, 0, 0, 0, 0, 2};

static struct dfw_policy *
compile(const char *text, int want_rc, const char *want_err)
{
    json_error_t je;
    json_t *doc = json_loads(text, 0, &je);
    if (!doc) {
        fprintf(stderr, "bad test JSON: %s\n", je.text);
        abort();
    }
    struct dfw_policy *p = NULL;
    char err[256] = "";
    int rc = dfw_policy_compile(doc, &p, err, sizeof err);
    json_decref(doc);
    if (rc != want_rc || (want_err && !strstr(err, want_err))) {
        fprintf(stderr, "compile: %d '%s', not %d '%s'\n", rc, err, want_rc,
                want_err ? want_err : "");
        check_failed_ = 1;
    }
    return p;
}

static void
a_bad_policy_is_refused_with_one_line(void)
{
    compile("{\"rules\": [{\"name\": \"r\", \"action\": \"allow\", \"src\": [\"web\"]}]}", -EINVAL,
            "rule r: src: no group 'web'");
    compile("{\"services\": [{\"name\": \"s\", \"entries\": [{\"proto\": \"tcp\", \"ports\": "
            "[\"80-20\"]}]}]}",
            -EINVAL, "'80-20' is no port or range");
    compile("{\"groups\": [{\"name\": \"g\", \"cidrs\": [\"198.18.0.0/33\"]}]}", -EINVAL,
            "'198.18.0.0/33' is no IPv4 or IPv6 prefix");
    compile("{\"groups\": [{\"name\": \"g\", \"macs\": [\"02:00:00:00:00\"]}]}", -EINVAL,
            "is no MAC address");
    compile("{\"rules\": [{\"name\": \"r\", \"action\": \"allow\", \"colour\": 1}]}", -EINVAL,
            "rule r: unknown field 'colour'");
    compile("{\"rules\": [{\"name\": \"r\", \"action\": \"allow\"}, {\"name\": \"r\", \"action\": "
            "\"drop\"}]}",
            -EINVAL, "rule r: named twice");
    compile("{\"rules\": [{\"name\": \"r\", \"action\": \"permit\"}]}", -EINVAL,
            "'action' is allow, drop or reject");
    compile("{\"services\": [{\"name\": \"s\", \"entries\": [{\"proto\": \"icmp\", \"ports\": "
            "[\"1\"]}]}]}",
            -EINVAL, "ports are for tcp and udp");
    compile("{\"default\": \"deny\"}", -EINVAL, "'default' is allow, drop or reject");
    compile("{\"conn_max\": 0}", -EINVAL, "'conn_max' is 1 to");
    compile("{\"timeouts\": {\"udp\": 5}}", -EINVAL, "timeouts: unknown field 'udp'");
    compile("{\"tcp_liberal\": 1}", -EINVAL, "'tcp_liberal' is true or false");
    compile("[]", -EINVAL, "the policy is an object");
}

/* The rule index 'p' gives a TCP or UDP packet. */
static uint32_t
classify(const struct dfw_policy *p, const struct frame *f, const uint8_t *smac,
         const uint8_t *dmac)
{
    struct l4_info pi;
    if (l4_parse(f->b, f->len, f->eth_type, 0, &pi) != L4_OK)
        return UINT32_MAX;
    struct dfw_match m = {&pi.key, pi.icmp_type, pi.icmp_code, smac, dmac};
    return dfw_classify(p, &m);
}

static const char *const policy_web_db =
    "{\"default\": \"drop\","
    " \"groups\": [{\"name\": \"web\", \"macs\": [\"02:00:00:00:00:01\"]},"
    "              {\"name\": \"db\", \"cidrs\": [\"198.18.0.2\", \"2001:db8::/64\"]}],"
    " \"services\": [{\"name\": \"http\", \"entries\": [{\"proto\": \"tcp\", \"ports\": [80, "
    "\"8000-8080\"]}]},"
    "                {\"name\": \"ping\", \"entries\": [{\"proto\": \"icmp\", \"type\": 8}]}],"
    " \"rules\": [{\"name\": \"app/web-db\", \"src\": [\"web\"], \"dst\": [\"db\"], \"services\": "
    "[\"http\"], \"action\": \"allow\"},"
    "           {\"name\": \"app/ping\", \"services\": [\"ping\"], \"action\": \"allow\"},"
    "           {\"name\": \"app/db-in\", \"applied_to\": [\"db\"], \"direction\": \"in\", "
    "\"action\": \"reject\"}]}";

static void
the_first_rule_that_matches_decides(void)
{
    struct dfw_policy *p = compile(policy_web_db, 0, NULL);
    struct frame f;
    ASSERT_EQ(dfw_policy_rules(p), 3);
    tcp(&f, 1, 40000, 2, 80, L4_TCP_SYN, 1, 0, 1000, 0);
    ASSERT_EQ(classify(p, &f, mac_a, mac_b), 0); /* web -> db:80 */
    tcp(&f, 1, 40000, 2, 8080, L4_TCP_SYN, 1, 0, 1000, 0);
    ASSERT_EQ(classify(p, &f, mac_a, mac_b), 0); /* the range */
    tcp(&f, 1, 40000, 2, 8081, L4_TCP_SYN, 1, 0, 1000, 0);
    ASSERT_EQ(classify(p, &f, mac_a, mac_b), 2); /* past it: db's own rule, inbound */
    tcp(&f, 1, 40000, 2, 80, L4_TCP_SYN, 1, 0, 1000, 0);
    ASSERT_EQ(classify(p, &f, mac_b, mac_a), 2); /* not from web (by MAC) */
    tcp(&f, 2, 40000, 1, 80, L4_TCP_SYN, 1, 0, 1000, 0);
    ASSERT_EQ(classify(p, &f, mac_b, mac_a), 3); /* out of db: the rule is "in": default */
    echo(&f, 3, 4, 8, 7);
    ASSERT_EQ(classify(p, &f, mac_a, mac_b), 1);
    echo(&f, 3, 4, 0, 7); /* a reply is no echo request */
    ASSERT_EQ(classify(p, &f, mac_a, mac_b), 3);
    /* IPv6: db's 2001:db8::/64 takes 2001:db8::5, not 2001:db8:0:1::5. */
    struct l4_key k6 = {.family = 6, .proto = L4_PROTO_UDP, .sport = 1, .dport = 53};
    const uint8_t in64[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 5};
    const uint8_t out64[16] = {0x20, 0x01, 0x0d, 0xb8, [7] = 1, [15] = 5};
    memcpy(k6.dst, in64, 16);
    struct dfw_match m6 = {&k6, 0, 0, mac_a, mac_b};
    ASSERT_EQ(dfw_classify(p, &m6), 2); /* inbound to db: rejected */
    memcpy(k6.dst, out64, 16);
    ASSERT_EQ(dfw_classify(p, &m6), 3);
    ASSERT_STREQ(dfw_rule_name(p, 3), "default");
    ASSERT_EQ(dfw_rule_action(p, 3), DFW_DROP);
    ASSERT_EQ(dfw_rule_action(p, 2), DFW_REJECT);
    dfw_policy_free(p);
}

/* ---- the index against a linear scan ---- */

struct ref_rule {
    int proto;        /* 0 any */
    int lo, hi;       /* destination ports; -1: any */
    uint8_t net, len; /* source 198.18.NET.0/LEN; len 0: any */
};

static bool
ref_matches(const struct ref_rule *r, uint8_t proto, uint8_t src3, uint16_t dport)
{
    if (r->proto && r->proto != proto)
        return false;
    if (r->lo >= 0 && (dport < r->lo || dport > r->hi))
        return false;
    return !r->len || (src3 & (uint8_t)(0xffu << (24 - r->len))) == r->net;
}

/* A policy of 'n' random rules: narrow and wide port ranges, any port, any
 * protocol, with and without a source group. */
static json_t *
random_policy(struct ref_rule *rr, unsigned n, unsigned seed)
{
    json_t *groups = json_array(), *svcs = json_array(), *rules = json_array();
    srand(seed);
    for (unsigned i = 0; i < n; i++) {
        struct ref_rule *r = &rr[i];
        int kind = rand() % 100; /* few catch-alls, so that packets go deep */
        r->proto = kind < 2 ? 0 : kind % 2 ? L4_PROTO_TCP : L4_PROTO_UDP;
        r->lo = kind < 4 ? -1 : rand() % 2000;
        r->hi = r->lo < 0 ? -1 : r->lo + (kind < 20 ? 100 + rand() % 500 : rand() % 3);
        r->len = kind < 20 || rand() % 3 == 0 ? 16 + (uint8_t)(rand() % 9) : 0;
        r->net = (uint8_t)(rand() % 256) & (uint8_t)(0xffu << (24 - r->len));
        json_t *rule = json_pack("{s:s%,s:s}", "name", "r", (size_t)1, "action",
                                 rand() % 2 ? "allow" : "drop");
        json_object_set_new(rule, "name", json_sprintf("r%u", i));
        if (r->proto) {
            json_t *e = json_pack("{s:s}", "proto", r->proto == L4_PROTO_TCP ? "tcp" : "udp");
            if (r->lo >= 0)
                json_object_set_new(e, "ports",
                                    json_pack("[o]", json_sprintf("%d-%d", r->lo, r->hi)));
            json_array_append_new(
                svcs, json_pack("{s:o,s:[o]}", "name", json_sprintf("s%u", i), "entries", e));
            json_object_set_new(rule, "services", json_pack("[o]", json_sprintf("s%u", i)));
        }
        if (r->len) {
            json_array_append_new(groups,
                                  json_pack("{s:o,s:[o]}", "name", json_sprintf("g%u", i), "cidrs",
                                            json_sprintf("198.18.%u.0/%u", r->net, r->len)));
            json_object_set_new(rule, "src", json_pack("[o]", json_sprintf("g%u", i)));
        }
        json_array_append_new(rules, rule);
    }
    return json_pack("{s:o,s:o,s:o}", "groups", groups, "services", svcs, "rules", rules);
}

static void
the_index_agrees_with_a_linear_scan(void)
{
    enum { N = 3000, PACKETS = 20000 };
    static struct ref_rule rr[N];
    json_t *doc = random_policy(rr, N, 7);
    struct dfw_policy *p;
    char err[256];
    ASSERT_EQ(dfw_policy_compile(doc, &p, err, sizeof err), 0);
    json_decref(doc);
    for (unsigned k = 0; k < PACKETS; k++) {
        uint8_t proto = rand() % 2 ? L4_PROTO_TCP : L4_PROTO_UDP, src3 = (uint8_t)(rand() % 256);
        uint16_t dport = (uint16_t)(rand() % 2100);
        struct l4_key key = {.family = 4, .proto = proto, .sport = 1234, .dport = dport};
        key.src[0] = 198, key.src[1] = 18, key.src[2] = src3, key.src[3] = 9;
        struct dfw_match m = {&key, 0, 0, mac_a, mac_b};
        uint32_t want = N;
        for (uint32_t i = 0; i < N && want == N; i++)
            if (ref_matches(&rr[i], proto, src3, dport))
                want = i;
        ASSERT_EQ(dfw_classify(p, &m), want);
    }
    dfw_policy_free(p);
}

/* ---- verdicts on packets ---- */

static enum drop_reason
send(struct dfw *fw, const struct frame *f, const uint8_t *smac, const uint8_t *dmac, uint64_t now,
     bool *reject)
{
    struct dfw_frame df = {.dmac = dmac,
                           .smac = smac,
                           .l3 = f->b,
                           .l3_len = f->len,
                           .eth_type = f->eth_type,
                           .zone = 0,
                           .bytes = f->len + 14};
    struct dfw_result res;
    enum drop_reason r = dfw_check(fw, &df, now, &res);
    if (reject)
        *reject = res.reject;
    return r;
}

static void
check_tracks_connections_both_ways(void)
{
    struct dfw *fw = dfw_create(compile(policy_web_db, 0, NULL));
    dfw_zone_default(fw, 0, NULL);
    struct frame f;
    tcp(&f, 1, 40000, 2, 80, L4_TCP_SYN, 100, 0, 1000, 0);
    ASSERT_EQ(send(fw, &f, mac_a, mac_b, 0, NULL), DROP_NONE);
    tcp(&f, 2, 80, 1, 40000, L4_TCP_SYN | L4_TCP_ACK, 500, 101, 1000, 0);
    ASSERT_EQ(send(fw, &f, mac_b, mac_a, 1, NULL), DROP_NONE); /* the reply way */
    tcp(&f, 1, 40000, 2, 80, L4_TCP_ACK, 101, 501, 1000, 10);
    ASSERT_EQ(send(fw, &f, mac_a, mac_b, 2, NULL), DROP_NONE);
    tcp(&f, 1, 40000, 2, 80, L4_TCP_ACK, 900000, 501, 1000, 10);
    ASSERT_EQ(send(fw, &f, mac_a, mac_b, 3, NULL), DROP_CT_INVALID); /* outside the window */
    tcp(&f, 1, 40001, 2, 80, L4_TCP_ACK, 5, 5, 1000, 0);
    ASSERT_EQ(send(fw, &f, mac_a, mac_b, 3, NULL), DROP_CT_INVALID); /* a stray ACK */
    udp(&f, 1, 5000, 3, 53);
    ASSERT_EQ(send(fw, &f, mac_a, mac_b, 3, NULL), DROP_POLICY); /* the default: drop */
    struct dfw_counts c;
    dfw_rule_counts(fw->pol, 0, &c);
    ASSERT_EQ(c.packets, 3);
    ASSERT_EQ(c.sessions, 1);
    ASSERT_EQ(c.bytes, 3 * 14 + 40 + 40 + 50);
    dfw_rule_counts(fw->pol, 3, &c);
    ASSERT_EQ(c.packets, 1);
    ASSERT_EQ(c.sessions, 0);
    /* A fragment, a header that does not hold. */
    tcp(&f, 1, 40000, 2, 80, L4_TCP_SYN, 100, 0, 1000, 0);
    f.b[6] = 0x20; /* more fragments */
    ASSERT_EQ(send(fw, &f, mac_a, mac_b, 4, NULL), DROP_FRAGMENT);
    f.b[6] = 0;
    f.b[0] = 0x44; /* IHL 16 bytes */
    ASSERT_EQ(send(fw, &f, mac_a, mac_b, 4, NULL), DROP_BAD_IP);
    ASSERT_EQ(ct_count(fw->ct), 1);
    dfw_destroy(fw);
}

/* Whether the checksum at 'l4' (with the IPv4 pseudo-header of 'ip', or
 * none) holds. */
static bool
csum_ok(const uint8_t *ip, const uint8_t *l4, uint32_t len, bool pseudo)
{
    uint32_t sum = 0;
    if (pseudo) {
        for (int i = 12; i < 20; i += 2)
            sum += (uint32_t)ip[i] << 8 | ip[i + 1];
        sum += ip[9] + len;
    }
    for (uint32_t i = 0; i + 1 < len; i += 2)
        sum += (uint32_t)l4[i] << 8 | l4[i + 1];
    if (len & 1)
        sum += (uint32_t)l4[len - 1] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return sum == 0xffff;
}

static void
reject_answers_with_a_rst_or_an_icmp_error(void)
{
    struct dfw *fw = dfw_create(compile(policy_web_db, 0, NULL));
    struct frame f;
    static struct pkt out;
    tcp(&f, 1, 40000, 2, 22, L4_TCP_SYN, 100, 0, 1000, 0);
    struct dfw_frame df = {.dmac = mac_b,
                           .smac = mac_a,
                           .l3 = f.b,
                           .l3_len = f.len,
                           .eth_type = f.eth_type,
                           .bytes = f.len + 14};
    struct dfw_result res;
    ASSERT_EQ(dfw_check(fw, &df, 0, &res), DROP_POLICY);
    ASSERT_TRUE(res.reject);
    ASSERT_STREQ(dfw_rule_name(fw->pol, res.rule), "app/db-in");
    ASSERT_TRUE(dfw_reject_build(&df, &res.pi, &out));
    const uint8_t *ip = out.data + 14, *t = ip + 20;
    ASSERT_EQ(memcmp(out.data, mac_a, 6), 0); /* back to the sender */
    ASSERT_EQ(memcmp(out.data + 6, mac_b, 6), 0);
    ASSERT_EQ(memcmp(ip + 12, f.b + 16, 4), 0); /* from the destination */
    ASSERT_EQ(t[0] << 8 | t[1], 22);
    ASSERT_EQ(t[13], L4_TCP_RST | L4_TCP_ACK);
    ASSERT_EQ((uint32_t)t[8] << 24 | (uint32_t)t[9] << 16 | t[10] << 8 | t[11], 101);
    ASSERT_TRUE(csum_ok(ip, ip, 20, false));
    ASSERT_TRUE(csum_ok(ip, t, 20, true));
    udp(&f, 1, 5000, 2, 53); /* to db, inbound: rejected */
    df.l3_len = f.len;
    ASSERT_EQ(dfw_check(fw, &df, 0, &res), DROP_POLICY);
    ASSERT_TRUE(res.reject && dfw_reject_build(&df, &res.pi, &out));
    ASSERT_EQ(out.len, 14 + 20 + 8 + 28); /* the IP header and 8 bytes quoted */
    ASSERT_EQ(t[0], 3);                   /* unreachable */
    ASSERT_EQ(t[1], 13);                  /* administratively prohibited */
    ASSERT_EQ(memcmp(t + 8, f.b, 28), 0);
    ASSERT_TRUE(csum_ok(ip, t, 8 + 28, false));
    dfw_destroy(fw);
}

static void
a_policy_change_keeps_what_it_still_allows(void)
{
    struct dfw *fw = dfw_create(compile(policy_web_db, 0, NULL));
    struct frame f;
    tcp(&f, 1, 40000, 2, 80, L4_TCP_SYN, 100, 0, 1000, 0);
    ASSERT_EQ(send(fw, &f, mac_a, mac_b, 0, NULL), DROP_NONE);
    tcp(&f, 1, 40001, 2, 8000, L4_TCP_SYN, 100, 0, 1000, 0);
    ASSERT_EQ(send(fw, &f, mac_a, mac_b, 0, NULL), DROP_NONE);
    ASSERT_EQ(ct_count(fw->ct), 2);
    /* Port 80 still allowed (by a rule of another name), 8000 no more. */
    ASSERT_EQ(dfw_set(fw, compile("{\"default\": \"drop\", \"services\": [{\"name\": \"h\", "
                                  "\"entries\": [{\"proto\": \"tcp\", \"ports\": [80]}]}],"
                                  " \"rules\": [{\"name\": \"app/web-db\", \"services\": [\"h\"], "
                                  "\"action\": \"allow\"}]}",
                                  0, NULL)),
              0);
    dfw_zone_default(fw, 0, NULL);
    ASSERT_EQ(dfw_recheck(fw), 1);
    ASSERT_EQ(ct_count(fw->ct), 1);
    struct dfw_counts c;
    dfw_rule_counts(fw->pol, 0, &c); /* carried by name */
    ASSERT_EQ(c.sessions, 2);
    tcp(&f, 2, 80, 1, 40000, L4_TCP_SYN | L4_TCP_ACK, 500, 101, 1000, 0);
    ASSERT_EQ(send(fw, &f, mac_b, mac_a, 1, NULL), DROP_NONE);
    tcp(&f, 2, 8000, 1, 40001, L4_TCP_SYN | L4_TCP_ACK, 500, 101, 1000, 0);
    ASSERT_EQ(send(fw, &f, mac_b, mac_a, 1, NULL), DROP_CT_INVALID);
    dfw_destroy(fw);
}

static void
a_full_table_is_a_drop_and_defaults_are_per_portgroup(void)
{
    struct dfw *fw = dfw_create(compile("{\"conn_max\": 1, \"default\": \"allow\", "
                                        "\"timeouts\": {\"udp_s\": 2}, "
                                        "\"portgroup_defaults\": {\"locked\": \"drop\"}}",
                                        0, NULL));
    dfw_zone_default(fw, 20, "locked");
    struct frame f;
    udp(&f, 1, 5000, 2, 53);
    ASSERT_EQ(send(fw, &f, mac_a, mac_b, 0, NULL), DROP_NONE);
    udp(&f, 1, 5001, 2, 53);
    ASSERT_EQ(send(fw, &f, mac_a, mac_b, 0, NULL), DROP_CT_FULL);
    ASSERT_EQ(ct_full_drops(fw->ct), 1);
    struct dfw_frame df = {.dmac = mac_b,
                           .smac = mac_a,
                           .l3 = f.b,
                           .l3_len = f.len,
                           .eth_type = f.eth_type,
                           .zone = 20,
                           .bytes = f.len};
    struct dfw_result res;
    ASSERT_EQ(dfw_check(fw, &df, 0, &res), DROP_POLICY);
    ASSERT_FALSE(res.reject);
    ASSERT_EQ(res.rule, dfw_policy_rules(fw->pol)); /* the default */
    ASSERT_EQ(ct_expire(fw->ct, 1999, SIZE_MAX), 0);
    ASSERT_EQ(ct_expire(fw->ct, 2000, SIZE_MAX), 1); /* the policy's UDP timeout */
    dfw_destroy(fw);
}

TEST_MAIN(TEST(a_bad_policy_is_refused_with_one_line), TEST(the_first_rule_that_matches_decides),
          TEST(the_index_agrees_with_a_linear_scan), TEST(check_tracks_connections_both_ways),
          TEST(reject_answers_with_a_rst_or_an_icmp_error),
          TEST(a_policy_change_keeps_what_it_still_allows),
          TEST(a_full_table_is_a_drop_and_defaults_are_per_portgroup))
