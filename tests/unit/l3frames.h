/* SPDX-License-Identifier: Apache-2.0 */
/* l3frames: IPv4 packets (what follows the Ethernet header) for the unit
 * tests of the firewall and its connection tracking. */
#ifndef DSE_TEST_L3FRAMES_H
#define DSE_TEST_L3FRAMES_H

#include <stdint.h>
#include <string.h>

#include "dataplane/l4.h"
#include "dataplane/packet.h"

/* A frame's L3 part under construction. */
struct frame {
    uint8_t b[256];
    uint32_t len;
    uint16_t eth_type;
};

static inline void
put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void
put32(uint8_t *p, uint32_t v)
{
    put16(p, v >> 16);
    put16(p + 2, v & 0xffff);
}

/* IPv4 198.18.0.A -> 198.18.0.B (a VM segment), protocol 'proto', 'l4' bytes of payload. */
static inline uint8_t *
ip4(struct frame *f, uint8_t a, uint8_t b, uint8_t proto, uint32_t l4)
{
    memset(f, 0, sizeof *f);
    f->eth_type = ETH_TYPE_IPV4;
    f->len = 20 + l4;
    f->b[0] = 0x45;
    put16(f->b + 2, f->len);
    f->b[8] = 64;
    f->b[9] = proto;
    uint8_t src[] = {198, 18, 0, a}, dst[] = {198, 18, 0, b};
    memcpy(f->b + 12, src, 4);
    memcpy(f->b + 16, dst, 4);
    return f->b + 20;
}

/* TCP from 198.18.0.A:AP to 198.18.0.B:BP. */
static inline void
tcp(struct frame *f, uint8_t a, uint16_t ap, uint8_t b, uint16_t bp, uint8_t flags, uint32_t seq,
    uint32_t ack, uint16_t win, uint32_t data)
{
    uint8_t *t = ip4(f, a, b, L4_PROTO_TCP, 20 + data);
    put16(t, ap);
    put16(t + 2, bp);
    put32(t + 4, seq);
    put32(t + 8, ack);
    t[12] = 5 << 4;
    t[13] = flags;
    put16(t + 14, win);
}

static inline void
udp(struct frame *f, uint8_t a, uint16_t ap, uint8_t b, uint16_t bp)
{
    uint8_t *u = ip4(f, a, b, L4_PROTO_UDP, 8 + 4);
    put16(u, ap);
    put16(u + 2, bp);
    put16(u + 4, 12);
}

static inline void
echo(struct frame *f, uint8_t a, uint8_t b, uint8_t type, uint16_t id)
{
    uint8_t *i = ip4(f, a, b, L4_PROTO_ICMP, 8);
    i[0] = type;
    put16(i + 4, id);
}

#endif
