/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * pktgen-tx: the sending half of dse-pktgen, run by BPF_PROG_RUN with
 * BPF_F_TEST_XDP_LIVE_FRAMES on copies of one template frame.  Each run stamps
 * the frame with the next sequence number and the current time, picks the UDP
 * source port (and, for L2 flows, the source MAC) of its flow, and redirects it out of the configured interface.
 * The UDP checksum is cleared (0 = none, RFC 768; legal over IPv4) because the
 * stamped payload changes per frame.  See pktgen-abi.h for the maps.
 */
#include <linux/bpf.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "tools/pktgen/pktgen-abi.h"

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct pktgen_tx_cfg);
} tx_cfg SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} tx_seq SEC(".maps");

SEC("xdp")
int
pktgen_tx(struct xdp_md *ctx)
{
    __u32 k = 0;
    struct pktgen_tx_cfg *cfg = bpf_map_lookup_elem(&tx_cfg, &k);
    __u64 *next_seq = bpf_map_lookup_elem(&tx_seq, &k);
    if (!cfg || !next_seq)
        return XDP_ABORTED;

    void *meta = (void *)(long)ctx->data_meta;
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    if (meta + sizeof(__u32) > data || *(__u32 *)meta != cfg->cookie)
        return XDP_PASS; /* not one of ours: a real frame */
    __u32 off = cfg->l4_off;
    if (off > 64)
        return XDP_ABORTED;
    struct udphdr *udp = data + off;
    struct pktgen_hdr *h = (void *)(udp + 1);
    if ((void *)(h + 1) > data_end)
        return XDP_ABORTED;

    /* BPF_PROG_RUN runs us on one CPU at a time, and the tool has one runner. */
    __u64 seq = *next_seq;
    *next_seq = seq + 1;

    __u32 n_flows = cfg->n_flows ? cfg->n_flows : 1;
    udp->source = bpf_htons((__u16)(cfg->sport_base + seq % n_flows));
    udp->check = 0;
    if (cfg->n_macs > 1) {
        __u8 *src = (__u8 *)data + 6;
        if ((void *)(src + 6) > data_end)
            return XDP_ABORTED;
        __u32 low = cfg->mac_low + (__u32)(seq % cfg->n_macs);
        src[3] = (__u8)(low >> 16);
        src[4] = (__u8)(low >> 8);
        src[5] = (__u8)low;
    }
    h->magic = bpf_htonl(PKTGEN_MAGIC);
    h->stream = bpf_htonl(cfg->stream);
    h->seq = bpf_cpu_to_be64(seq);
    h->tx_ns = bpf_cpu_to_be64(bpf_ktime_get_ns());
    return bpf_redirect(cfg->ifindex, 0);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
