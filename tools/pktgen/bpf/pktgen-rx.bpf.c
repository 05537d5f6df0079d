/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * pktgen-rx: the sink half of dse-pktgen, an XDP program on the receiving
 * interface.  Frames that carry a dse-pktgen header (IPv4/UDP, at most one
 * 802.1Q tag, magic "dse1") are counted per stream - packets, bytes, highest
 * sequence number, reordering, longest gap between arrivals and longest run
 * of lost sequence numbers, one-way latency histogram - and dropped;
 * everything else passes.  Counters use atomic adds, so receive work on several
 * CPUs is counted right; highest_seq, first/last time and the maxima are plain
 * stores and can be off by a frame under such races.  See pktgen-abi.h.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "tools/pktgen/pktgen-abi.h"

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, PKTGEN_MAX_STREAMS);
    __type(key, __u32);
    __type(value, struct pktgen_stream_stats);
} streams SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct pktgen_stream_stats);
} rx_zero SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct pktgen_rx_misc);
} rx_misc SEC(".maps");

struct vlan_hdr_ {
    __be16 tci;
    __be16 proto;
};

static __always_inline struct pktgen_stream_stats *
stream_get(__u32 stream)
{
    struct pktgen_stream_stats *s = bpf_map_lookup_elem(&streams, &stream);
    if (s)
        return s;
    __u32 k = 0;
    struct pktgen_stream_stats *zero = bpf_map_lookup_elem(&rx_zero, &k);
    if (!zero)
        return NULL;
    bpf_map_update_elem(&streams, &stream, zero, BPF_NOEXIST);
    return bpf_map_lookup_elem(&streams, &stream);
}

SEC("xdp.frags")
int
pktgen_rx(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > data_end)
        return XDP_PASS;
    __be16 proto = eth->h_proto;
    void *l3 = eth + 1;
    if (proto == bpf_htons(ETH_P_8021Q)) {
        struct vlan_hdr_ *vh = l3;
        if ((void *)(vh + 1) > data_end)
            return XDP_PASS;
        proto = vh->proto;
        l3 = vh + 1;
    }
    if (proto != bpf_htons(ETH_P_IP))
        return XDP_PASS;
    struct iphdr *ip = l3;
    if ((void *)(ip + 1) > data_end)
        return XDP_PASS;
    if (ip->version != 4 || ip->ihl < 5 ||
        (ip->protocol != IPPROTO_UDP && ip->protocol != IPPROTO_TCP) ||
        (ip->frag_off & bpf_htons(0x3fff)))
        return XDP_PASS;
    void *l4 = l3 + ip->ihl * 4;
    struct pktgen_hdr *h = l4 + sizeof(struct udphdr);
    if (ip->protocol == IPPROTO_TCP) { /* tx --tcp: after the TCP header */
        struct tcphdr *t = l4;
        if ((void *)(t + 1) > data_end || t->doff != 5)
            return XDP_PASS;
        h = (void *)(t + 1);
    }
    if ((void *)(h + 1) > data_end)
        return XDP_PASS;
    if (h->magic != bpf_htonl(PKTGEN_MAGIC))
        return XDP_PASS;

    __u64 now = bpf_ktime_get_ns();
    __u32 stream = bpf_ntohl(h->stream);
    __u64 seq = bpf_be64_to_cpu(h->seq);
    __u64 tx_ns = bpf_be64_to_cpu(h->tx_ns);

    struct pktgen_stream_stats *s = stream_get(stream);
    if (!s) {
        __u32 k = 0;
        struct pktgen_rx_misc *m = bpf_map_lookup_elem(&rx_misc, &k);
        if (m)
            __sync_fetch_and_add(&m->untracked, 1);
        return XDP_DROP;
    }
    /* Same order as pktgen_rx_count_hdr() (pktgen.c): gap and lost run
     * against the previous frame's time and highest seq, then the update. */
    if (s->packets) {
        if (now > s->last_ns && now - s->last_ns > s->max_gap_ns)
            s->max_gap_ns = now - s->last_ns;
        if (seq > s->highest_seq + 1 && seq - s->highest_seq - 1 > s->max_lost_run)
            s->max_lost_run = seq - s->highest_seq - 1;
    }
    if (!s->first_ns)
        s->first_ns = now;
    if (now > s->last_ns)
        s->last_ns = now;
    if (s->packets && seq < s->highest_seq)
        __sync_fetch_and_add(&s->reordered, 1);
    else
        s->highest_seq = seq;
    __sync_fetch_and_add(&s->packets, 1);
    __sync_fetch_and_add(&s->bytes, (__u64)(data_end - data));

    __u64 lat_ns = now > tx_ns ? now - tx_ns : 0;
    if (lat_ns > s->lat_max_ns)
        s->lat_max_ns = lat_ns;
    __sync_fetch_and_add(&s->lat_sum_ns, lat_ns);
    __u32 b = pktgen_lat_bucket(lat_ns / 1000);
    /* Keep the bound check in a register the verifier sees: clang would
     * otherwise fold it into the bucket computation and lose the bound. */
    asm volatile("" : "+r"(b));
    if (b < PKTGEN_N_BUCKETS)
        __sync_fetch_and_add(&s->hist[b], 1);
    return XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
