/* SPDX-License-Identifier: Apache-2.0 */
/* vlan: in-place 802.1Q push/pop using the packet's headroom. */
#include "dataplane/vlan.h"

#include <string.h>

bool
vlan_push(struct pkt *p, uint16_t vid, uint8_t pcp)
{
    if (p->len < ETH_HDR_LEN || p->data - p->buf < VLAN_TAG_LEN ||
        p->len + VLAN_TAG_LEN > PKT_DATA_MAX)
        return false;
    uint8_t *d = p->data - VLAN_TAG_LEN;
    memmove(d, p->data, 2 * ETH_ADDR_LEN);
    uint16_t tci = (uint16_t)((pcp & 7) << 13 | (vid & 0x0fff));
    d[12] = ETH_TYPE_VLAN >> 8;
    d[13] = ETH_TYPE_VLAN & 0xff;
    d[14] = (uint8_t)(tci >> 8);
    d[15] = (uint8_t)tci;
    /* d[16..17] is the original ethertype, already in place. */
    p->data = d;
    p->len += VLAN_TAG_LEN;
    return true;
}

bool
vlan_pop(struct pkt *p)
{
    if (p->len < ETH_HDR_LEN + VLAN_TAG_LEN)
        return false;
    uint16_t type = (uint16_t)(p->data[12] << 8 | p->data[13]);
    if (type != ETH_TYPE_VLAN)
        return false;
    memmove(p->data + VLAN_TAG_LEN, p->data, 2 * ETH_ADDR_LEN);
    p->data += VLAN_TAG_LEN;
    p->len -= VLAN_TAG_LEN;
    return true;
}
