/* SPDX-License-Identifier: Apache-2.0 */
/*
 * packet: the frame buffer every stage works on, and Ethernet wire formats.
 *
 * A struct pkt owns a fixed buffer with PKT_HEADROOM bytes in front of the
 * frame so that an 802.1Q tag can be pushed without moving the payload.
 * Buffers come from pools sized at start: nothing on the packet path allocates.
 */
#ifndef DSE_PACKET_H
#define DSE_PACKET_H

#include <stdbool.h>
#include <stdint.h>

#define ETH_ADDR_LEN 6
#define ETH_HDR_LEN 14
#define VLAN_TAG_LEN 4
#define ETH_TYPE_VLAN 0x8100 /* IEEE 802.1Q */
#define ETH_TYPE_QINQ 0x88a8 /* IEEE 802.1ad */
#define ETH_TYPE_ARP 0x0806
#define ETH_TYPE_RARP 0x8035
#define ETH_TYPE_IPV4 0x0800
#define ETH_TYPE_IPV6 0x86dd

#define PKT_HEADROOM 64
#define PKT_DATA_MAX (9216 + VLAN_TAG_LEN) /* largest frame a port may carry */

struct eth_hdr {
    uint8_t dst[ETH_ADDR_LEN];
    uint8_t src[ETH_ADDR_LEN];
    uint16_t type_be16;
} __attribute__((packed));
_Static_assert(sizeof(struct eth_hdr) == ETH_HDR_LEN, "Ethernet header is 14 bytes");

struct vlan_tag {
    uint16_t tci_be16; /* PCP:3 DEI:1 VID:12 */
    uint16_t type_be16;
} __attribute__((packed));
_Static_assert(sizeof(struct vlan_tag) == VLAN_TAG_LEN, "802.1Q tag is 4 bytes");

/* What the parser learned of a frame; offsets are from pkt->data. */
struct pkt_meta {
    bool has_vlan;     /* a non-priority 802.1Q tag is present */
    uint16_t vid;      /* VLAN id when has_vlan, else 0 */
    uint8_t pcp;       /* priority code point of the tag */
    uint16_t eth_type; /* ethertype after any tag, host order */
    uint16_t l3_ofs;   /* start of the payload after Ethernet and tag */
};

struct pkt {
    uint8_t *data; /* first byte of the frame, inside buf */
    uint32_t len;  /* frame length in bytes */
    uint16_t in_port;
    struct pkt_meta meta;
    uint8_t buf[PKT_HEADROOM + PKT_DATA_MAX];
};

/* Points 'p' at an empty frame with full headroom.  Can't fail. */
static inline void
pkt_reset(struct pkt *p)
{
    p->data = p->buf + PKT_HEADROOM;
    p->len = 0;
}

static inline bool
eth_addr_is_multicast(const uint8_t mac[ETH_ADDR_LEN])
{
    return mac[0] & 1; /* includes broadcast */
}

static inline bool
eth_addr_is_zero(const uint8_t mac[ETH_ADDR_LEN])
{
    return !(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]);
}

/* Makes 'p' the RARP request (RFC 903) that announces 'mac' after a move, as
 * hypervisors send it: broadcast, from 'mac', untagged, 60 bytes.  Can't
 * fail. */
static inline void
pkt_rarp_build(struct pkt *p, const uint8_t mac[static ETH_ADDR_LEN])
{
    static const uint8_t body[] = {0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x03};
    pkt_reset(p);
    p->len = 60; /* the shortest Ethernet frame, without FCS */
    __builtin_memset(p->data, 0, p->len);
    __builtin_memset(p->data, 0xff, ETH_ADDR_LEN);
    __builtin_memcpy(p->data + 6, mac, ETH_ADDR_LEN);
    p->data[12] = ETH_TYPE_RARP >> 8;
    p->data[13] = ETH_TYPE_RARP & 0xff;
    uint8_t *b = p->data + ETH_HDR_LEN;
    __builtin_memcpy(b, body, sizeof body);
    __builtin_memcpy(b + 8, mac, ETH_ADDR_LEN);  /* sender hardware address */
    __builtin_memcpy(b + 18, mac, ETH_ADDR_LEN); /* target hardware address */
    p->meta.pcp = 0;
}

#endif
