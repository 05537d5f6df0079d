/* SPDX-License-Identifier: Apache-2.0 */
/* frames: builders of test frames shared by the data-plane unit tests. */
#ifndef DSE_TEST_FRAMES_H
#define DSE_TEST_FRAMES_H

#include <stdint.h>
#include <string.h>

#include "dataplane/packet.h"

#define MAC(a, b, c, d, e, f) ((const uint8_t[6]){a, b, c, d, e, f})
static const uint8_t mac_bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

/* Writes an Ethernet frame of 'len' bytes (>= 14; 18 more if vid) into 'buf':
 * dst, src, optional 802.1Q tag, ethertype 0x0800 and a patterned payload.
 * Returns 'len'. */
static inline unsigned
frame_build(uint8_t *buf, const uint8_t dst[6], const uint8_t src[6], int vid, unsigned len)
{
    memcpy(buf, dst, 6);
    memcpy(buf + 6, src, 6);
    unsigned ofs = 12;
    if (vid >= 0) {
        buf[12] = 0x81;
        buf[13] = 0x00;
        buf[14] = (uint8_t)(vid >> 8);
        buf[15] = (uint8_t)vid;
        ofs = 16;
    }
    buf[ofs] = 0x08;
    buf[ofs + 1] = 0x00;
    for (unsigned i = ofs + 2; i < len; i++)
        buf[i] = (uint8_t)i;
    return len;
}

#endif
