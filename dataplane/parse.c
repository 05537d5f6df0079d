/* SPDX-License-Identifier: Apache-2.0 */
/* parse: Ethernet + 802.1Q parsing with a drop reason for every bad frame. */
#include "dataplane/parse.h"

#include <arpa/inet.h>
#include <string.h>

static inline uint16_t
read_be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static inline int
is_tag_type(uint16_t t)
{
    return t == ETH_TYPE_VLAN || t == ETH_TYPE_QINQ;
}

enum drop_reason
pkt_parse(const uint8_t *data, uint32_t len, struct pkt_meta *meta)
{
    memset(meta, 0, sizeof *meta);
    if (len < ETH_HDR_LEN)
        return DROP_RUNT;
    const struct eth_hdr *eth = (const struct eth_hdr *)data;
    if (eth_addr_is_multicast(eth->src) || eth_addr_is_zero(eth->src))
        return DROP_BAD_SRC_MAC;

    uint16_t type = read_be16(data + 12);
    uint32_t ofs = ETH_HDR_LEN;
    if (is_tag_type(type)) {
        if (type == ETH_TYPE_QINQ)
            return DROP_QINQ;
        if (len < ETH_HDR_LEN + VLAN_TAG_LEN)
            return DROP_TRUNC_VLAN;
        uint16_t tci = read_be16(data + 14);
        type = read_be16(data + 16);
        ofs += VLAN_TAG_LEN;
        if (is_tag_type(type))
            return DROP_QINQ;
        meta->pcp = (uint8_t)(tci >> 13);
        meta->vid = tci & 0x0fff;
        if (meta->vid == 0x0fff)
            return DROP_BAD_VID;
        meta->has_vlan = meta->vid != 0; /* VID 0: priority tag only */
    }
    meta->eth_type = type;
    meta->l3_ofs = (uint16_t)ofs;
    return DROP_NONE;
}
