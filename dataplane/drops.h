/* SPDX-License-Identifier: Apache-2.0 */
/*
 * drops: every reason the data plane drops a frame, declared once.
 *
 * The packet path never returns errors: it drops and counts, one counter per
 * reason and port.  This X-macro list is the only place a reason is declared;
 * the enum, the names shown by `dsectl port list` and the JSON keys all come
 * from it.
 */
#ifndef DSE_DROPS_H
#define DSE_DROPS_H

/*  X(ENUM,              name,                 what it means) */
#define DROP_REASONS(X)                                                                            \
    X(RUNT, "runt", "frame shorter than an Ethernet header")                                       \
    X(TRUNC_VLAN, "trunc_vlan", "802.1Q tag cut short")                                            \
    X(OVERSIZE, "oversize", "frame larger than the port group's MTU allows")                       \
    X(QINQ, "qinq", "stacked VLAN tags (not supported)")                                           \
    X(BAD_VID, "bad_vid", "reserved VLAN id 4095")                                                 \
    X(BAD_SRC_MAC, "bad_src_mac", "multicast or all-zero source MAC")                              \
    X(TAGGED_ON_ACCESS, "tagged_on_access", "802.1Q frame on an access port")                      \
    X(VLAN_UNKNOWN, "vlan_unknown", "VLAN carried by no port group")                               \
    X(NO_PORTGROUP, "no_portgroup", "port is in no port group")                                    \
    X(STANDBY_UPLINK, "standby_uplink", "received on a standby uplink")                            \
    X(SAME_PORT, "same_port", "destination is the ingress port")                                   \
    X(NO_UPLINK, "no_uplink", "no uplink has carrier")                                             \
    X(TX_ERROR, "tx_error", "the port backend could not send")                                     \
    X(FENCED, "fenced", "vNIC of a DPU that does not own it (standby or fenced)")                  \
    X(BAD_IP, "bad_ip", "IP or TCP/UDP/ICMP header that does not hold (firewall)")                 \
    X(FRAGMENT, "fragment", "IP fragment (the firewall does not reassemble)")                      \
    X(CT_INVALID, "ct_invalid", "no connection and cannot begin one, or outside the TCP window")   \
    X(CT_FULL, "ct_full", "the firewall's connection table is full")                               \
    X(POLICY, "policy", "dropped or rejected by a firewall rule or default")

enum drop_reason {
    DROP_NONE = 0,
#define DROP_ENUM_(e, name, what) DROP_##e,
    DROP_REASONS(DROP_ENUM_)
#undef DROP_ENUM_
        DROP__N
};

/* Returns the short name of 'r' ("runt"), or "none".  Can't fail. */
const char *drop_reason_name(enum drop_reason r);
/* Returns the one-line description of 'r'.  Can't fail. */
const char *drop_reason_what(enum drop_reason r);

#endif
