/* SPDX-License-Identifier: Apache-2.0 */
/*
 * parse: the first stage of the slow path: Ethernet and one 802.1Q tag.
 *
 * Every frame that enters the switch is parsed exactly once.  The parser never
 * trusts a length it has not checked: it reads nothing past 'len'.  A priority
 * tag (VID 0) is reported as untagged with its PCP kept; stacked tags (QinQ)
 * are refused, not guessed at.
 *
 * Thread-safety: pure function.
 */
#ifndef DSE_PARSE_H
#define DSE_PARSE_H

#include <stdint.h>

#include "dataplane/drops.h"
#include "dataplane/packet.h"

/* Parses the frame at 'data' of 'len' bytes into 'meta'.  Returns DROP_NONE, or
 * the reason to drop it: DROP_RUNT, DROP_TRUNC_VLAN, DROP_QINQ, DROP_BAD_VID,
 * DROP_BAD_SRC_MAC. */
enum drop_reason pkt_parse(const uint8_t *data, uint32_t len, struct pkt_meta *meta);

#endif
