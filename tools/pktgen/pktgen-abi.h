/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pktgen-abi: what the dse-pktgen XDP programs (bpf/pktgen-tx.bpf.c,
 * bpf/pktgen-rx.bpf.c) share with the tool that loads them (pktgen-xdp.c,
 * main.c), and the payload header that every generator writes and the sink
 * reads.  Both sides include
 * this file; a change here changes both.
 *
 * Frame: Ethernet [802.1Q] IPv4 (no options) UDP, then struct pktgen_hdr, all
 * fields in network byte order, then zero padding up to the frame size (in
 * --udp mode the same header and padding are a UDP socket's payload):
 *
 *   0      4        8               16              24
 *   +------+--------+---------------+---------------+
 *   |magic |stream  |seq            |tx_ns          |
 *   +------+--------+---------------+---------------+
 *
 * The tx program runs on generated frames only, which carry 'cookie' in 4
 * bytes of XDP metadata; anything else (the program may also sit on a real
 * interface, see pktgen-xdp.h) passes untouched.
 *
 * tx maps:  tx_cfg  ARRAY[1] pktgen_tx_cfg   set once before the first run
 *           tx_seq  ARRAY[1] u64             next seq; one runner at a time
 * rx maps:  streams HASH  stream id -> pktgen_stream_stats
 *           rx_zero ARRAY[1] pktgen_stream_stats   all zero, the initial value
 *           rx_misc ARRAY[1] pktgen_rx_misc
 *
 * Latency histogram (microseconds): buckets 0..1023 are 1 us wide; then each
 * power of two from 2^10 to 2^19 us is split into 64 equal buckets (error
 * under 1.6%); the last bucket holds everything from 2^20 us (~1.05 s) on.
 */
#ifndef DSE_PKTGEN_ABI_H
#define DSE_PKTGEN_ABI_H

#include <linux/types.h>

#define PKTGEN_MAGIC 0x64736531U /* "dse1" */
#define PKTGEN_MAX_STREAMS 64
#define PKTGEN_LIN_US 1024U /* 1 us buckets below this */
#define PKTGEN_LOG_FIRST 10 /* 2^10 == PKTGEN_LIN_US */
#define PKTGEN_LOG_LAST 19
#define PKTGEN_SUB_BITS 6 /* 64 buckets per power of two */
#define PKTGEN_N_BUCKETS                                                                           \
    (PKTGEN_LIN_US + ((PKTGEN_LOG_LAST - PKTGEN_LOG_FIRST + 1) << PKTGEN_SUB_BITS) + 1)

struct pktgen_hdr {
    __be32 magic;
    __be32 stream;
    __be64 seq;
    __be64 tx_ns; /* bpf_ktime_get_ns() (CLOCK_MONOTONIC) when generated */
} __attribute__((packed));
_Static_assert(sizeof(struct pktgen_hdr) == 24, "pktgen_hdr is 24 bytes on the wire");

struct pktgen_tx_cfg {
    __u32 cookie;  /* in the 4 metadata bytes of every generated frame */
    __u32 ifindex; /* bpf_redirect() target */
    __u32 stream;
    __u32 n_flows; /* UDP source port = sport_base + seq % n_flows */
    __u16 sport_base;
    __u16 l4_off;  /* offset of the UDP (or TCP) header in the frame */
    __u32 n_macs;  /* source MAC's low 24 bits = mac_low + seq % n_macs */
    __u32 mac_low; /* (when n_macs > 1) */
    __u32 tcp;     /* 1: a TCP header at l4_off (the userspace generators only) */
};

struct pktgen_stream_stats {
    __u64 packets;
    __u64 bytes;
    __u64 highest_seq; /* valid once packets > 0 */
    __u64 reordered;   /* frames whose seq was below highest_seq */
    __u64 first_ns;    /* bpf_ktime_get_ns() of the first and last frame */
    __u64 last_ns;
    __u64 lat_max_ns;
    __u64 lat_sum_ns;
    /* The longest silence and the longest hole in the sequence, both measured
     * only between two received frames of the stream (what the sink missed
     * before its first frame shows in the loss, not here): */
    __u64 max_gap_ns;   /* largest now - last_ns on a frame's arrival */
    __u64 max_lost_run; /* largest seq - highest_seq - 1: consecutive frames lost */
    __u64 hist[PKTGEN_N_BUCKETS];
};

struct pktgen_rx_misc {
    __u64 untracked; /* recognised frames dropped because 'streams' was full */
};

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/* The histogram bucket of a latency of 'us' microseconds. */
static __always_inline __u32
pktgen_lat_bucket(__u64 us)
{
    if (us < PKTGEN_LIN_US)
        return (__u32)us;
    if (us >= (1ULL << (PKTGEN_LOG_LAST + 1)))
        return PKTGEN_N_BUCKETS - 1;
    __u32 e = PKTGEN_LOG_FIRST;
#ifdef __clang__
#pragma unroll
#endif
    for (__u32 i = PKTGEN_LOG_FIRST + 1; i <= PKTGEN_LOG_LAST; i++)
        if (us >= (1ULL << i))
            e = i;
    return PKTGEN_LIN_US + ((e - PKTGEN_LOG_FIRST) << PKTGEN_SUB_BITS) +
           (__u32)((us >> (e - PKTGEN_SUB_BITS)) & ((1U << PKTGEN_SUB_BITS) - 1));
}

#endif
