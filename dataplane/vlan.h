/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vlan: push and pop an 802.1Q tag in place.
 *
 * Pushing moves the two MAC addresses 4 bytes into the headroom and writes the
 * tag behind them; popping moves them back.  The payload never moves.
 *
 * Thread-safety: operates on one packet; no shared state.
 */
#ifndef DSE_VLAN_H
#define DSE_VLAN_H

#include <stdbool.h>
#include <stdint.h>

#include "dataplane/packet.h"

/* Inserts a tag with 'vid' and 'pcp' after the source MAC.  Returns false (and
 * leaves 'p' unchanged) when there is no headroom or 'p' is shorter than an
 * Ethernet header. */
bool vlan_push(struct pkt *p, uint16_t vid, uint8_t pcp);

/* Removes the outer 802.1Q tag.  Returns false (unchanged) when 'p' carries no
 * complete tag. */
bool vlan_pop(struct pkt *p);

#endif
