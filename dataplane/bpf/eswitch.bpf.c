/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * eswitch: the DPU's flow tier, an XDP program on every switch port.
 *
 * A frame whose (ingress, tag, source, destination) is in the flow table is
 * rewritten (802.1Q push or pop) and redirected to its egress interface here,
 * in the driver, without ever reaching the DPU agent.  Everything else -
 * broadcast, multicast, unknown flows, frames longer than the flow allows,
 * malformed frames - goes up to the slow path unchanged (through the port's
 * AF_XDP socket, or the kernel when it has none), which decides, counts, and
 * may install a flow.  See eswitch-abi.h for the maps.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "dataplane/eswitch-abi.h"

/* IP protocol numbers (linux/in.h would bring in the C library's headers). */
#define PROTO_ICMP 1
#define PROTO_TCP 6
#define PROTO_UDP 17
#define PROTO_ICMPV6 58

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, ESWITCH_MAX_FLOWS);
    __type(key, struct eswitch_key);
    __type(value, struct eswitch_action);
} flows SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, ESWITCH_MAX_CONNS);
    __type(key, struct eswitch_conn_key);
    __type(value, struct eswitch_conn);
} conns SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
    __uint(max_entries, ESWITCH_MAX_PORTS);
    __type(key, __u32);
    __type(value, __u32);
} tx_ports SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, ESWITCH_MAX_PORTS);
    __type(key, __u32);
    __type(value, struct eswitch_port_stats);
} port_stats SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, ESWITCH_MAX_PORTS);
    __type(key, __u32);
    __type(value, __u32);
} miss_slot SEC(".maps");

/* [0] != 0: the vNIC ports are fenced (dual-DPU high availability): their
 * flows go to the slow path, which drops and counts them. */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u32);
} fence SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_XSKMAP);
    __uint(max_entries, ESWITCH_MAX_PORTS);
    __type(key, __u32);
    __type(value, __u32);
} xsks SEC(".maps");

/* Hands the frame, unchanged, to the slow path. */
static __always_inline int
slow_path(struct xdp_md *ctx)
{
    __u32 ifindex = ctx->ingress_ifindex;
    __u32 *slot = bpf_map_lookup_elem(&miss_slot, &ifindex);
    if (!slot)
        return XDP_PASS;
    return bpf_redirect_map(&xsks, *slot, XDP_PASS);
}

struct vlan_hdr_ {
    __be16 tci;
    __be16 proto;
};

static __always_inline void
copy_macs(__u8 *to, const __u8 *from)
{
    /* Overlapping copies: dst before src moves forward, so go front to back
     * when moving towards the start, back to front otherwise. */
    if (to < from) {
#pragma unroll
        for (int i = 0; i < 12; i++)
            to[i] = from[i];
    } else {
#pragma unroll
        for (int i = 11; i >= 0; i--)
            to[i] = from[i];
    }
}

/* The L4 part of a connection's key at 'l4': ports, or an echo's id.
 * Returns 0, or -1 for what the slow path must see. */
static __always_inline int
l4_ports(void *l4, void *end, struct eswitch_conn_key *k)
{
    if (k->proto == PROTO_TCP) {
        struct tcphdr *t = l4;
        if ((void *)(t + 1) > end || t->syn || t->fin || t->rst)
            return -1; /* state changes are the slow path's */
        k->sport = bpf_ntohs(t->source);
        k->dport = bpf_ntohs(t->dest);
        return 0;
    }
    if (k->proto == PROTO_UDP) {
        struct udphdr *u = l4;
        if ((void *)(u + 1) > end)
            return -1;
        k->sport = bpf_ntohs(u->source);
        k->dport = bpf_ntohs(u->dest);
        return 0;
    }
    __u8 *ic = l4;
    if ((void *)(ic + 8) > end)
        return -1;
    int echo = k->proto == PROTO_ICMP ? ic[0] == 0 || ic[0] == 8
                                      : k->proto == PROTO_ICMPV6 && (ic[0] == 128 || ic[0] == 129);
    if (!echo)
        return -1;
    k->sport = k->dport = (__u16)(ic[4] << 8 | ic[5]);
    return 0;
}

/* Whether IP packet 'l3' (ethertype 'proto') of a 'fw' flow belongs to a
 * connection the firewall offloaded; counts it.  Frames that are not IP
 * pass. */
static __always_inline int
fw_pass(void *l3, void *end, __be16 proto, const struct eswitch_action *a, __u32 len)
{
    struct eswitch_conn_key k = {.zone = a->zone};
    void *l4;
    if (proto == bpf_htons(ETH_P_IP)) {
        struct iphdr *ip = l3;
        if ((void *)(ip + 1) > end || ip->ihl != 5 || (ip->frag_off & bpf_htons(0x3fff)))
            return 0; /* options, fragments: the slow path */
        k.family = 4;
        k.proto = ip->protocol;
        __builtin_memcpy(k.src, &ip->saddr, 4);
        __builtin_memcpy(k.dst, &ip->daddr, 4);
        l4 = ip + 1;
    } else if (proto == bpf_htons(ETH_P_IPV6)) {
        struct ipv6hdr *ip6 = l3;
        if ((void *)(ip6 + 1) > end)
            return 0;
        k.family = 6;
        k.proto = ip6->nexthdr; /* an extension header: no key, the slow path */
        __builtin_memcpy(k.src, &ip6->saddr, 16);
        __builtin_memcpy(k.dst, &ip6->daddr, 16);
        l4 = ip6 + 1;
    } else {
        return 1;
    }
    if ((k.proto != PROTO_TCP && k.proto != PROTO_UDP && k.proto != PROTO_ICMP &&
         k.proto != PROTO_ICMPV6) ||
        l4_ports(l4, end, &k) < 0)
        return 0;
    struct eswitch_conn *c = bpf_map_lookup_elem(&conns, &k);
    if (!c)
        return 0;
    c->packets++;
    c->bytes += len;
    c->last_ns = bpf_ktime_get_coarse_ns();
    return 1;
}

/* A hit of flow 'a': 'rx_len' bytes received, 'len' sent.  One receive
 * queue per port, so one CPU at a time runs a given flow: plain increments,
 * and the coarse clock (the slow path needs seconds). */
static __always_inline void
count_hit(struct eswitch_action *a, __u32 rx_len, __u32 len)
{
    a->packets++;
    a->bytes += len;
    a->last_ns = bpf_ktime_get_coarse_ns();
    __u32 in = a->in_port, out = a->out_port;
    struct eswitch_port_stats *s = bpf_map_lookup_elem(&port_stats, &in);
    if (s) {
        s->rx_packets++;
        s->rx_bytes += rx_len;
    }
    s = bpf_map_lookup_elem(&port_stats, &out);
    if (s) {
        s->tx_packets++;
        s->tx_bytes += len;
    }
}

SEC("xdp.frags")
int
eswitch(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > end)
        return slow_path(ctx);
    if (eth->h_dest[0] & 1)
        return slow_path(ctx); /* broadcast and multicast flood in the slow path */

    struct eswitch_key k = {.in_ifindex = ctx->ingress_ifindex, .tag = ESWITCH_UNTAGGED};
    __builtin_memcpy(k.src, eth->h_source, 6);
    __builtin_memcpy(k.dst, eth->h_dest, 6);
    void *l3 = eth + 1;
    __be16 proto = eth->h_proto;
    if (eth->h_proto == bpf_htons(ETH_P_8021Q)) {
        struct vlan_hdr_ *v = (void *)(eth + 1);
        if ((void *)(v + 1) > end)
            return slow_path(ctx);
        k.tag = bpf_ntohs(v->tci) & 0x0fff;
        l3 = v + 1;
        proto = v->proto;
    }
    struct eswitch_action *a = bpf_map_lookup_elem(&flows, &k);
    if (!a)
        return slow_path(ctx);
    if (a->vnic) {
        __u32 zero = 0, *fenced = bpf_map_lookup_elem(&fence, &zero);
        if (!fenced || *fenced)
            return slow_path(ctx);
    }
    __u32 len = bpf_xdp_get_buff_len(ctx), rx_len = len;
    if (len > a->max_len)
        return slow_path(ctx);
    if (a->fw && !fw_pass(l3, end, proto, a, len))
        return slow_path(ctx);
    /* The redirect itself happens after we return: ask for it first, so that
     * an egress that is not (yet) ours leaves the frame untouched for the
     * slow path. */
    long act = bpf_redirect_map(&tx_ports, a->out_ifindex, XDP_PASS);
    if (act != XDP_REDIRECT)
        return slow_path(ctx);

    if (a->pop) {
        if (data + 16 > end)
            return slow_path(ctx);
        copy_macs(data + 4, data);
        if (bpf_xdp_adjust_head(ctx, 4))
            return slow_path(ctx);
        len -= 4;
    } else if (a->push_vid != ESWITCH_NO_PUSH) {
        if (bpf_xdp_adjust_head(ctx, -4))
            return slow_path(ctx);
        data = (void *)(long)ctx->data;
        end = (void *)(long)ctx->data_end;
        if (data + 18 > end)
            return XDP_DROP; /* cannot happen: we just made the room */
        copy_macs(data, data + 4);
        __u8 *p = data;
        p[12] = 0x81;
        p[13] = 0x00;
        p[14] = (a->push_vid >> 8) & 0x0f;
        p[15] = a->push_vid & 0xff;
        len += 4;
    }

    count_hit(a, rx_len, len);
    return act;
}

char _license[] SEC("license") = "Dual BSD/GPL";
