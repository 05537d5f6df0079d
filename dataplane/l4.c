/* SPDX-License-Identifier: Apache-2.0 */
/* l4: IPv4/IPv6 and TCP/UDP/ICMP for the firewall (l4.h). */
#include "dataplane/l4.h"

#include <string.h>

#include "dataplane/packet.h"

#define IPV6_HDR_LEN 40
#define IPV6_MAX_EXT 8

static uint16_t
be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t
be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

bool
l4_icmp_is_echo_request(uint8_t proto, uint8_t type)
{
    return proto == L4_PROTO_ICMP ? type == 8 : proto == L4_PROTO_ICMPV6 && type == 128;
}

bool
l4_icmp_is_echo_reply(uint8_t proto, uint8_t type)
{
    return proto == L4_PROTO_ICMP ? type == 0 : proto == L4_PROTO_ICMPV6 && type == 129;
}

/* An error that quotes the packet that caused it. */
static bool
icmp_is_error(uint8_t proto, uint8_t type)
{
    if (proto == L4_PROTO_ICMP) /* unreachable, quench, redirect, time exceeded, parameter */
        return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
    return type >= 1 && type <= 4; /* unreachable, too big, time exceeded, parameter */
}

/* The IP header at 'p' ('len' bytes): the key's addresses and protocol,
 * where its L4 starts ('*l4') and its length ('*l4_len').  'quoted': the
 * packet an ICMP error quotes, whose end may be cut off. */
static enum l4_result
ip_parse(const uint8_t *p, uint32_t len, uint8_t family, bool quoted, struct l4_key *k,
         const uint8_t **l4, uint32_t *l4_len)
{
    if (family == 4) {
        if (len < 20 || p[0] >> 4 != 4)
            return L4_MALFORMED;
        uint32_t ihl = (uint32_t)(p[0] & 0xf) * 4, total = be16(p + 2);
        if (ihl < 20 || ihl > len || total < ihl || (!quoted && total > len))
            return L4_MALFORMED;
        if (be16(p + 6) & 0x3fff) /* more fragments, or an offset */
            return L4_FRAGMENT;
        memcpy(k->src, p + 12, 4);
        memcpy(k->dst, p + 16, 4);
        k->proto = p[9];
        *l4 = p + ihl;
        *l4_len = (quoted && total > len ? len : total) - ihl;
        return L4_OK;
    }
    if (len < IPV6_HDR_LEN || p[0] >> 4 != 6)
        return L4_MALFORMED;
    uint32_t total = IPV6_HDR_LEN + be16(p + 4), at = IPV6_HDR_LEN;
    if (!quoted && total > len)
        return L4_MALFORMED;
    if (total > len)
        total = len;
    memcpy(k->src, p + 8, 16);
    memcpy(k->dst, p + 24, 16);
    uint8_t next = p[6];
    for (int i = 0; next == 0 || next == 43 || next == 60 || next == 44; i++) {
        if (next == 44)
            return L4_FRAGMENT;
        if (i == IPV6_MAX_EXT || at + 8 > total)
            return L4_MALFORMED;
        uint32_t ext = ((uint32_t)p[at + 1] + 1) * 8;
        if (at + ext > total)
            return L4_MALFORMED;
        next = p[at];
        at += ext;
    }
    k->proto = next;
    *l4 = p + at;
    *l4_len = total - at;
    return L4_OK;
}

/* The TCP header's options of a SYN: its window scale, or -1. */
static int8_t
tcp_wscale(const uint8_t *opt, uint32_t n)
{
    for (uint32_t i = 0; i < n;) {
        if (opt[i] == 0) /* end of options */
            break;
        if (opt[i] == 1) { /* no-op */
            i++;
            continue;
        }
        if (i + 1 >= n || opt[i + 1] < 2 || i + opt[i + 1] > n)
            break;
        if (opt[i] == 3 && opt[i + 1] == 3)
            return (int8_t)(opt[i + 2] > 14 ? 14 : opt[i + 2]); /* RFC 7323: 14 at most */
        i += opt[i + 1];
    }
    return -1;
}

/* The L4 header at 'p' ('len' bytes) into 'out'.  'quoted': only its first
 * 8 bytes are there for sure (an ICMP error's quote). */
static enum l4_result
l4_header(const uint8_t *p, uint32_t len, bool quoted, struct l4_info *out, struct l4_key *k)
{
    switch (k->proto) {
    case L4_PROTO_TCP: {
        if (len < (quoted ? 8u : 20u))
            return L4_MALFORMED;
        k->sport = be16(p);
        k->dport = be16(p + 2);
        if (quoted)
            return L4_OK;
        uint32_t doff = (uint32_t)(p[12] >> 4) * 4;
        if (doff < 20 || doff > len)
            return L4_MALFORMED;
        out->seq = be32(p + 4);
        out->ack = be32(p + 8);
        out->tcp_flags = p[13] & 0x3f;
        out->win = be16(p + 14);
        out->payload_len = (uint16_t)(len - doff);
        out->tcp_wscale = out->tcp_flags & L4_TCP_SYN ? tcp_wscale(p + 20, doff - 20) : -1;
        return L4_OK;
    }
    case L4_PROTO_UDP: {
        if (len < 8)
            return L4_MALFORMED;
        k->sport = be16(p);
        k->dport = be16(p + 2);
        uint32_t ulen = be16(p + 4);
        if (!quoted && (ulen < 8 || ulen > len))
            return L4_MALFORMED;
        if (!quoted)
            out->payload_len = (uint16_t)(ulen - 8);
        return L4_OK;
    }
    case L4_PROTO_ICMP:
    case L4_PROTO_ICMPV6: {
        if (len < 8 || (k->family == 4) != (k->proto == L4_PROTO_ICMP))
            return L4_MALFORMED;
        uint8_t type = p[0];
        if (l4_icmp_is_echo_request(k->proto, type) || l4_icmp_is_echo_reply(k->proto, type))
            k->sport = k->dport = be16(p + 4); /* the echo's id, both ways */
        if (quoted)
            return L4_OK;
        out->icmp_type = type;
        out->icmp_code = p[1];
        return L4_OK;
    }
    default:
        return L4_UNSUPPORTED;
    }
}

/* The packet an ICMP error at 'p' ('len' bytes, its 8-byte header first)
 * quotes, into out->inner. */
static enum l4_result
quoted_parse(const uint8_t *p, uint32_t len, struct l4_info *out)
{
    struct l4_key *in = &out->inner;
    const uint8_t *l4;
    uint32_t l4_len;
    struct l4_info scratch;
    memset(in, 0, sizeof *in);
    in->family = out->key.family;
    in->zone = out->key.zone;
    enum l4_result r = ip_parse(p + 8, len - 8, in->family, true, in, &l4, &l4_len);
    if (r == L4_OK)
        r = l4_header(l4, l4_len, true, &scratch, in);
    if (r == L4_OK && (in->proto == L4_PROTO_ICMP || in->proto == L4_PROTO_ICMPV6) && l4_len >= 1 &&
        !l4_icmp_is_echo_request(in->proto, l4[0]) && !l4_icmp_is_echo_reply(in->proto, l4[0]))
        r = L4_MALFORMED; /* an error about an error: none is sent (RFC 1122) */
    return r == L4_OK ? L4_OK : L4_MALFORMED;
}

enum l4_result
l4_parse(const uint8_t *l3, uint32_t len, uint16_t eth_type, uint16_t zone, struct l4_info *out)
{
    memset(out, 0, sizeof *out);
    out->tcp_wscale = -1;
    if (eth_type != ETH_TYPE_IPV4 && eth_type != ETH_TYPE_IPV6)
        return L4_NOT_IP;
    struct l4_key *k = &out->key;
    const uint8_t *l4;
    uint32_t l4_len;
    k->family = eth_type == ETH_TYPE_IPV4 ? 4 : 6;
    k->zone = zone;
    enum l4_result r = ip_parse(l3, len, k->family, false, k, &l4, &l4_len);
    if (r == L4_OK)
        r = l4_header(l4, l4_len, false, out, k);
    if (r == L4_OK && (k->proto == L4_PROTO_ICMP || k->proto == L4_PROTO_ICMPV6) &&
        icmp_is_error(k->proto, out->icmp_type)) {
        out->icmp_error = true;
        r = quoted_parse(l4, l4_len, out);
    }
    return r;
}

void
l4_key_reverse(const struct l4_key *k, struct l4_key *out)
{
    struct l4_key r = *k;
    memcpy(r.src, k->dst, sizeof r.src);
    memcpy(r.dst, k->src, sizeof r.dst);
    r.sport = k->dport;
    r.dport = k->sport;
    *out = r;
}
