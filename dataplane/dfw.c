/* SPDX-License-Identifier: Apache-2.0 */
/* dfw: a switch's firewall at run time: conntrack, the rules, rejects
 * (dfw.h). */
#include "dataplane/dfw.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/util.h"

LOG_MODULE(dfw);

struct dfw *
dfw_create(struct dfw_policy *pol)
{
    struct dfw *fw = calloc(1, sizeof *fw);
    if (fw)
        fw->ct = ct_create(dfw_policy_ct(pol));
    if (!fw || !fw->ct) {
        free(fw);
        dfw_policy_free(pol);
        return NULL;
    }
    fw->pol = pol;
    fw->log_rl = (struct log_ratelimit)LOG_RATELIMIT_INIT(20, 1000);
    for (unsigned z = 0; z < DFW_MAX_VLANS; z++)
        fw->zone_default[z] = (uint8_t)dfw_policy_default(pol, NULL);
    return fw;
}

void
dfw_destroy(struct dfw *fw)
{
    if (!fw)
        return;
    ct_destroy(fw->ct);
    dfw_policy_free(fw->pol);
    free(fw);
}

/* The action of rule 'ri' of the policy in force for zone 'zone'. */
static enum dfw_action
action_of(const struct dfw *fw, uint32_t ri, uint16_t zone)
{
    if (ri < dfw_policy_rules(fw->pol))
        return dfw_rule_action(fw->pol, ri);
    return (enum dfw_action)fw->zone_default[zone % DFW_MAX_VLANS];
}

/* The ICMP type of the packet that began connection 'k' (an echo request),
 * for the rules' matching. */
static uint8_t
begin_type(const struct l4_key *k)
{
    return k->proto == L4_PROTO_ICMP ? 8 : k->proto == L4_PROTO_ICMPV6 ? 128 : 0;
}

/* ct_retain(): a connection the new policy still allows stays, under the
 * rule that allows it now. */
static bool
still_allowed(struct ct_conn *c, void *aux)
{
    const struct dfw *fw = aux;
    struct dfw_match m = {&c->key, begin_type(&c->key), 0, c->mac[0], c->mac[1]};
    uint32_t ri = dfw_classify(fw->pol, &m);
    if (action_of(fw, ri, c->key.zone) != DFW_ALLOW)
        return false;
    c->rule = ri;
    return true;
}

int
dfw_set(struct dfw *fw, struct dfw_policy *pol)
{
    if (dfw_policy_ct(pol)->max_conns != ct_max(fw->ct)) {
        struct ct *ct = ct_create(dfw_policy_ct(pol));
        if (!ct) {
            dfw_policy_free(pol);
            return -ENOMEM;
        }
        fw->removed += ct_count(fw->ct);
        ct_destroy(fw->ct);
        fw->ct = ct;
        ct_set_offload(ct, fw->off.install != NULL);
    } else {
        ct_set_timeouts(fw->ct, dfw_policy_ct(pol));
    }
    dfw_counts_carry(pol, fw->pol);
    dfw_policy_free(fw->pol);
    fw->pol = pol;
    fw->gen++;
    return 0;
}

void
dfw_set_offload(struct dfw *fw, const struct dfw_offload *off)
{
    fw->off = off ? *off : (struct dfw_offload){0};
    ct_set_offload(fw->ct, fw->off.install != NULL);
}

size_t
dfw_recheck(struct dfw *fw)
{
    size_t n = ct_retain(fw->ct, still_allowed, fw);
    fw->removed += n;
    return n;
}

void
dfw_zone_default(struct dfw *fw, uint16_t zone, const char *pg)
{
    fw->zone_default[zone % DFW_MAX_VLANS] = (uint8_t)dfw_policy_default(fw->pol, pg);
}

/* ---- a packet ---- */

static bool
is_neighbour_discovery(const struct l4_info *pi)
{
    return pi->key.proto == L4_PROTO_ICMPV6 && pi->icmp_type >= 133 && pi->icmp_type <= 137;
}

static void
log_hit(struct dfw *fw, uint32_t ri, enum dfw_action a, const struct l4_info *pi)
{
    if (!dfw_rule_log(fw->pol, ri) || !log_ratelimit_ok(&fw->log_rl))
        return;
    char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
    int af = pi->key.family == 4 ? AF_INET : AF_INET6;
    inet_ntop(af, pi->key.src, src, sizeof src);
    inet_ntop(af, pi->key.dst, dst, sizeof dst);
    log_info("rule %s: %s proto %u %s:%u -> %s:%u (VLAN %u)", dfw_rule_name(fw->pol, ri),
             dfw_action_name(a), pi->key.proto, src, pi->key.sport, dst, pi->key.dport,
             pi->key.zone);
}

/* A packet that may begin a connection (or one never tracked: 'track'
 * false): the rules decide. */
static enum drop_reason
decide(struct dfw *fw, const struct dfw_frame *f, struct dfw_result *res, bool track,
       uint64_t now_ms)
{
    const struct l4_info *pi = &res->pi;
    struct dfw_match m = {&pi->key, pi->icmp_type, pi->icmp_code, f->smac, f->dmac};
    uint32_t ri = dfw_classify(fw->pol, &m);
    enum dfw_action a = action_of(fw, ri, pi->key.zone);
    log_hit(fw, ri, a, pi);
    res->rule = ri;
    if (a != DFW_ALLOW) {
        dfw_rule_count(fw->pol, ri, 1, f->bytes, 0);
        res->reject = a == DFW_REJECT;
        return DROP_POLICY;
    }
    if (track) {
        struct ct_new n = {
            .pi = pi, .bytes = f->bytes, .rule = ri, .smac = f->smac, .dmac = f->dmac};
        int rc = ct_commit(fw->ct, &n, now_ms);
        if (rc == -ENOSPC) {
            res->rule = DFW_NO_RULE;
            return DROP_CT_FULL;
        }
        if (rc == -EEXIST) { /* another worker was first: one of its packets now */
            struct ct_result cr;
            return ct_track(fw->ct, pi, f->bytes, now_ms, &cr) == CT_INVALID ? DROP_CT_INVALID
                                                                             : DROP_NONE;
        }
    }
    dfw_rule_count(fw->pol, ri, 1, f->bytes, track);
    return DROP_NONE;
}

/* Connection 'cr' leaves the eswitch: what it counted there since the
 * last revalidation goes to its rule. */
static void
take_back(struct dfw *fw, const struct ct_result *cr)
{
    uint64_t p[2] = {0}, b[2] = {0}, dp = 0, db = 0;
    fw->off.remove(fw->off.aux, &cr->key, p, b);
    for (int d = 0; d < 2; d++) {
        dp += p[d] > cr->es_packets[d] ? p[d] - cr->es_packets[d] : 0;
        db += b[d] > cr->es_bytes[d] ? b[d] - cr->es_bytes[d] : 0;
    }
    dfw_rule_count(fw->pol, cr->rule, dp, db, 0);
}

enum drop_reason
dfw_check(struct dfw *fw, const struct dfw_frame *f, uint64_t now_ms, struct dfw_result *r)
{
    struct l4_info *pi = &r->pi;
    r->reject = false;
    r->rule = DFW_NO_RULE;
    switch (l4_parse(f->l3, f->l3_len, f->eth_type, f->zone, pi)) {
    case L4_NOT_IP:
        return DROP_NONE;
    case L4_MALFORMED:
        return DROP_BAD_IP;
    case L4_FRAGMENT:
        return DROP_FRAGMENT;
    case L4_UNSUPPORTED:
        return decide(fw, f, r, false, now_ms);
    case L4_OK:
        break;
    }
    if (is_neighbour_discovery(pi))
        return DROP_NONE;
    struct ct_result cr;
    switch (ct_track(fw->ct, pi, f->bytes, now_ms, &cr)) {
    case CT_ESTABLISHED:
    case CT_RELATED:
        r->rule = cr.rule;
        dfw_rule_count(fw->pol, cr.rule, 1, f->bytes, 0);
        if (cr.offload && !fw->off.install(fw->off.aux, &cr.key))
            ct_offload_lost(fw->ct, &cr.key); /* the eswitch is full: in software */
        if (cr.unoffload)
            take_back(fw, &cr);
        return DROP_NONE;
    case CT_INVALID:
        return DROP_CT_INVALID;
    case CT_NEW:
        break;
    }
    bool icmp = pi->key.proto == L4_PROTO_ICMP || pi->key.proto == L4_PROTO_ICMPV6;
    bool track = !icmp || l4_icmp_is_echo_request(pi->key.proto, pi->icmp_type);
    return decide(fw, f, r, track, now_ms);
}

/* ---- rejects ---- */

static uint32_t
csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        sum += (uint32_t)p[i] << 8 | p[i + 1];
    if (n & 1)
        sum += (uint32_t)p[n - 1] << 8;
    return sum;
}

static uint16_t
csum_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static void
put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void
put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)(v >> 16));
    put16(p + 2, (uint16_t)v);
}

/* The IP header of the answer at 'ip' (from the packet's destination to its
 * source) carrying 'l4_len' bytes of 'proto'.  Returns its length. */
static uint32_t
ip_header(uint8_t *ip, const struct l4_key *k, uint8_t proto, uint32_t l4_len)
{
    if (k->family == 4) {
        memset(ip, 0, 20);
        ip[0] = 0x45;
        put16(ip + 2, (uint16_t)(20 + l4_len));
        ip[8] = 64;
        ip[9] = proto;
        memcpy(ip + 12, k->dst, 4);
        memcpy(ip + 16, k->src, 4);
        put16(ip + 10, csum_fold(csum_add(0, ip, 20)));
        return 20;
    }
    memset(ip, 0, 40);
    ip[0] = 0x60;
    put16(ip + 4, (uint16_t)l4_len);
    ip[6] = proto;
    ip[7] = 64;
    memcpy(ip + 8, k->dst, 16);
    memcpy(ip + 24, k->src, 16);
    return 40;
}

/* The checksum of 'l4_len' bytes at 'l4' after IP header 'ip' (with the
 * pseudo-header, except for ICMPv4). */
static uint16_t
l4_csum(const uint8_t *ip, const uint8_t *l4, uint32_t l4_len, uint8_t proto)
{
    uint32_t sum = 0;
    if (proto != L4_PROTO_ICMP) {
        bool v4 = ip[0] >> 4 == 4;
        sum = csum_add(0, ip + (v4 ? 12 : 8), v4 ? 8 : 32) + proto + l4_len;
    }
    return csum_fold(csum_add(sum, l4, l4_len));
}

/* A TCP RST|ACK (or RST at the acked sequence) into 'l4'.  Returns 20. */
static uint32_t
tcp_rst(uint8_t *l4, const struct l4_info *pi)
{
    memset(l4, 0, 20);
    put16(l4, pi->key.dport);
    put16(l4 + 2, pi->key.sport);
    l4[12] = 5 << 4;
    if (pi->tcp_flags & L4_TCP_ACK) {
        put32(l4 + 4, pi->ack);
        l4[13] = L4_TCP_RST;
    } else {
        uint32_t end = pi->seq + pi->payload_len + !!(pi->tcp_flags & L4_TCP_SYN) +
                       !!(pi->tcp_flags & L4_TCP_FIN);
        put32(l4 + 8, end);
        l4[13] = L4_TCP_RST | L4_TCP_ACK;
    }
    return 20;
}

/* An ICMP(v6) "administratively prohibited" quoting the packet.  Returns
 * its length. */
static uint32_t
icmp_prohibited(uint8_t *l4, const struct dfw_frame *f, uint8_t proto)
{
    bool v4 = proto == L4_PROTO_ICMP;
    uint32_t quote = v4 ? (uint32_t)(f->l3[0] & 15) * 4 + 8 : 1280 - 40 - 8;
    if (quote > f->l3_len)
        quote = f->l3_len;
    memset(l4, 0, 8);
    l4[0] = v4 ? 3 : 1;  /* destination unreachable */
    l4[1] = v4 ? 13 : 1; /* administratively prohibited */
    memcpy(l4 + 8, f->l3, quote);
    return 8 + quote;
}

bool
dfw_reject_build(const struct dfw_frame *f, const struct l4_info *pi, struct pkt *out)
{
    if (pi->icmp_error || eth_addr_is_multicast(f->dmac) || eth_addr_is_multicast(f->smac))
        return false;
    pkt_reset(out);
    uint8_t *eth = out->data, *ip = eth + ETH_HDR_LEN;
    uint8_t scratch_ip[40];
    bool tcp = pi->key.proto == L4_PROTO_TCP;
    uint8_t proto = tcp ? L4_PROTO_TCP : pi->key.family == 4 ? L4_PROTO_ICMP : L4_PROTO_ICMPV6;
    uint32_t ip_len = pi->key.family == 4 ? 20 : 40;
    uint8_t *l4 = ip + ip_len;
    uint32_t l4_len = tcp ? tcp_rst(l4, pi) : icmp_prohibited(l4, f, proto);
    ip_header(ip, &pi->key, proto, l4_len);
    memcpy(scratch_ip, ip, ip_len);
    put16(l4 + (tcp ? 16 : 2), l4_csum(scratch_ip, l4, l4_len, proto));
    memcpy(eth, f->smac, 6);
    memcpy(eth + 6, f->dmac, 6);
    put16(eth + 12, f->eth_type);
    out->len = ETH_HDR_LEN + ip_len + l4_len;
    return true;
}
