/* SPDX-License-Identifier: Apache-2.0 */
/*
 * l4: the IPv4/IPv6 and TCP/UDP/ICMP headers the distributed firewall and
 * its connection tracking need (issue 14), parsed from what follows the
 * Ethernet header and tag (parse.h's l3_ofs).
 *
 *   IPv4: IHL and total length checked, options skipped, fragments flagged
 *   IPv6: hop-by-hop, routing, destination options skipped (8 at most),
 *         the fragment header flagged
 *   TCP:  data offset checked; flags, seq, ack, window, and the window
 *         scale option of a SYN
 *   UDP, ICMP, ICMPv6: ports / echo id; an ICMP error's quoted packet
 *         parsed as 'inner' (its own IP and first 8 bytes of L4)
 *
 * The key of a packet is its connection's direction as seen: a reply has
 * the key with source and destination swapped (l4_key_reverse()).  An echo
 * request and its reply carry the id in both 'sport' and 'dport', so that
 * one is the other's reverse; the type goes into 'icmp_type'.
 *
 * The parser never reads past 'len' and trusts no length it has not
 * checked.  Thread-safety: pure functions.
 */
#ifndef DSE_L4_H
#define DSE_L4_H

#include <stdbool.h>
#include <stdint.h>

#define L4_PROTO_ICMP 1
#define L4_PROTO_TCP 6
#define L4_PROTO_UDP 17
#define L4_PROTO_ICMPV6 58

#define L4_TCP_FIN 0x01
#define L4_TCP_SYN 0x02
#define L4_TCP_RST 0x04
#define L4_TCP_PSH 0x08
#define L4_TCP_ACK 0x10

/* One direction of a connection.  Compared and hashed as bytes: zeroed
 * before it is filled. */
struct l4_key {               /* 40 bytes, no padding */
    uint8_t src[16], dst[16]; /* IPv4 in the first 4 bytes */
    uint16_t sport, dport;    /* ICMP echo: the id, twice */
    uint16_t zone;            /* the portgroup's VLAN: VMs of two may share addresses */
    uint8_t family;           /* 4 or 6 */
    uint8_t proto;
};

_Static_assert(sizeof(struct l4_key) == 40, "l4_key has no padding");

enum l4_result {
    L4_OK,
    L4_NOT_IP,      /* another ethertype: not the firewall's */
    L4_MALFORMED,   /* a length or field that does not hold */
    L4_FRAGMENT,    /* a fragment: reassembled or dropped by the caller */
    L4_UNSUPPORTED, /* an IP protocol without ports the firewall tracks */
};

struct l4_info {
    struct l4_key key;
    uint16_t payload_len; /* of TCP/UDP: after its header */
    uint8_t tcp_flags;
    int8_t tcp_wscale; /* the SYN's window scale option, -1 when absent */
    uint32_t seq, ack;
    uint16_t win;
    uint8_t icmp_type, icmp_code;
    bool icmp_error;     /* destination unreachable, time exceeded, ...: 'inner' set */
    struct l4_key inner; /* the quoted packet's key, as it was sent */
};

/* Parses the IP packet of ethertype 'eth_type' at 'l3' ('len' bytes) in
 * zone 'zone' into 'out'.  Returns L4_OK or why not. */
enum l4_result l4_parse(const uint8_t *l3, uint32_t len, uint16_t eth_type, uint16_t zone,
                        struct l4_info *out);

/* 'k' with its two ends swapped: the reply's key. */
void l4_key_reverse(const struct l4_key *k, struct l4_key *out);

/* Whether ICMP type 'type' of 'proto' (L4_PROTO_ICMP or _ICMPV6) is an
 * echo request (a connection's first packet) or reply. */
bool l4_icmp_is_echo_request(uint8_t proto, uint8_t type);
bool l4_icmp_is_echo_reply(uint8_t proto, uint8_t type);

#endif
