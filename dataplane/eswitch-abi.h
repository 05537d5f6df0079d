/* SPDX-License-Identifier: Apache-2.0 */
/*
 * eswitch-abi: the maps shared by the eswitch XDP program (bpf/eswitch.bpf.c)
 * and the slow path that programs it (eswitch.c).  Both sides include this
 * file; a change here changes both.
 *
 *   flows      HASH  eswitch_key -> eswitch_action   exact-match L2 flows
 *   tx_ports   DEVMAP_HASH  ifindex -> ifindex        where a hit may go
 *   port_stats PERCPU_ARRAY  switch port id -> eswitch_port_stats
 *   miss_slot  HASH  ifindex -> slot                  where a port's misses go
 *   xsks       XSKMAP  slot -> AF_XDP socket           the slow path's sockets
 *   conns      HASH  eswitch_conn_key -> eswitch_conn  the firewall's established
 *                                                     connections, one entry a direction
 *
 * A miss (no flow, broadcast, multicast, too long, malformed) is redirected to
 * the AF_XDP socket in its ingress port's slot when the
 * port has one, else passed to the kernel, where an AF_PACKET socket takes it.
 *
 * A flow marked 'fw' (the switch runs the distributed firewall) forwards an
 * IP packet only when it belongs to a connection in 'conns' and changes no
 * TCP state (no SYN, FIN, RST); everything else of it (a new connection, a
 * fragment, IP options, IPv6 extension headers, ICMP but echoes) goes to the
 * slow path, where conntrack and the rules decide.  Frames that are not IP
 * (ARP) pass, as in the slow path.
 *
 * A flow is (ingress interface, VLAN tag as received, source MAC, destination
 * MAC).  Keying on the source too means that a hit proves the source is still
 * where the slow path learned it, so the slow path can refresh its MAC table
 * from the flows' last-hit times instead of seeing every frame.
 */
#ifndef DSE_ESWITCH_ABI_H
#define DSE_ESWITCH_ABI_H

#include <linux/types.h>

#define ESWITCH_UNTAGGED 0xffff /* eswitch_key.tag of a frame without 802.1Q */
#define ESWITCH_NO_PUSH 0xffff  /* eswitch_action.push_vid: push nothing */
#define ESWITCH_MAX_FLOWS 65536
#define ESWITCH_MAX_PORTS 256 /* also the number of AF_XDP slots */

struct eswitch_key {
    __u32 in_ifindex;
    __u16 tag; /* VLAN id of the received tag, or ESWITCH_UNTAGGED */
    __u8 src[6];
    __u8 dst[6];
    __u16 pad;
};

struct eswitch_action {
    __u32 out_ifindex;
    __u16 push_vid; /* tag to push, or ESWITCH_NO_PUSH */
    __u8 pop;       /* 1: remove the received tag */
    __u8 vnic;      /* 1: from or to a vNIC port (fenced with them) */
    __u32 max_len;  /* longer frames go to the slow path (MTU policing) */
    __u16 in_port;  /* switch port ids, for port_stats */
    __u16 out_port;
    __u16 zone; /* fw: the portgroup's VLAN, the connections' zone */
    __u8 fw;    /* 1: IP only for connections in 'conns' */
    __u8 pad_[5];
    __u64 packets; /* updated by the program */
    __u64 bytes;
    __u64 last_ns; /* bpf_ktime_get_ns() of the last hit */
};

/* One direction of a connection, as dataplane/l4.h's struct l4_key (the
 * same bytes: addresses in network order, IPv4 in the first 4; ports, zone
 * in host order). */
#define ESWITCH_MAX_CONNS 131072 /* directions: 65536 connections */
struct eswitch_conn_key {
    __u8 src[16], dst[16];
    __u16 sport, dport; /* ICMP echo: its id, twice */
    __u16 zone;
    __u8 family; /* 4 or 6 */
    __u8 proto;
};

struct eswitch_conn {
    __u64 packets, bytes; /* updated by the program */
    __u64 last_ns;
};

struct eswitch_port_stats {
    __u64 rx_packets, rx_bytes;
    __u64 tx_packets, tx_bytes;
};

#endif
