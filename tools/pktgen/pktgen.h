/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pktgen: the pure parts of dse-pktgen, kept apart from the BPF glue (main.c,
 * pktgen-xdp.c), the generators (pktgen-afxdp.c, pktgen-afpacket.c) and the
 * vhost-user front-end (pktgen-vhost.c) so that unit tests can reach them:
 * command-line parsing, building the template frame with valid IPv4 and UDP
 * checksums, stamping it per frame as bpf/pktgen-tx.bpf.c does (the
 * userspace generators do it with pktgen_frame_stamp()), counting received
 * frames (or the pktgen header of a UDP socket's datagram) as
 * bpf/pktgen-rx.bpf.c does, turning the per-stream counters and latency
 * histograms into one summary with percentiles, and printing the reports (one
 * format whichever path - a generator of tx --dev, vhost-user, UDP socket -
 * sent or received; tx's names the generator).
 *
 * Thread-safety: every function here is reentrant.
 */
#ifndef DSE_PKTGEN_H
#define DSE_PKTGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <netinet/in.h>

#include "tools/pktgen/pktgen-abi.h"

#define PKTGEN_ETH_LEN 14
#define PKTGEN_VLAN_LEN 4
#define PKTGEN_IP_LEN 20
#define PKTGEN_IP6_LEN 40
#define PKTGEN_UDP_LEN 8
#define PKTGEN_TCP_LEN 20 /* --tcp: no options */
#define PKTGEN_MAX_SIZE 1514
#define PKTGEN_SPORT_BASE 10000
#define PKTGEN_DPORT 9 /* discard */
#define PKTGEN_MAX_FLOWS 50000
#define PKTGEN_MAX_MACS 1000000
#define PKTGEN_DEFAULT_DURATION_S 10.0
#define PKTGEN_DEFAULT_IDLE_MS 1000

enum pktgen_mode { PKTGEN_TX, PKTGEN_RX };

/* How tx --dev generates its frames (--generator). */
enum pktgen_generator {
    PKTGEN_GEN_AUTO,     /* the first of the others that this kernel allows */
    PKTGEN_GEN_XDP_LIVE, /* BPF_PROG_RUN live frames (pktgen-xdp.h) */
    PKTGEN_GEN_AFXDP,    /* AF_XDP transmit, copy mode (pktgen-afxdp.h) */
    PKTGEN_GEN_AFPACKET, /* AF_PACKET sendmmsg() (pktgen-afpacket.h) */
};

/* The name of 'g' as --generator and the reports write it.  This function
 * can't fail. */
const char *pktgen_generator_name(enum pktgen_generator g);

#define PKTGEN_VHOST_SRC_MAC "02:d5:70:67:00:01" /* tx --vhost-user without --src-mac */

struct pktgen_opts {
    enum pktgen_mode mode;
    /* Exactly one of 'dev', 'vhost_user', 'udp' is set. */
    const char *dev;        /* points into argv */
    const char *vhost_user; /* socket path, points into argv */
    const char *udp;        /* --udp's value (tx ADDR:PORT, rx PORT), into argv */
    union {
        struct sockaddr_in in;
        struct sockaddr_in6 in6;
    } udp_dst;               /* tx --udp: the destination; family AF_INET or AF_INET6 */
    uint16_t udp_port;       /* rx --udp: the port to bind, host order */
    uint8_t announce_mac[6]; /* rx --vhost-user --announce MAC */
    bool has_announce;
    uint8_t dst_mac[6];
    uint8_t src_mac[6];
    bool has_src_mac;  /* else the interface's own address */
    int vlan;          /* 802.1Q VID 0..4095, or -1 for none */
    unsigned size;     /* frame bytes incl. Ethernet header, without FCS */
    uint64_t rate_pps; /* 0 = as fast as possible */
    double duration_s; /* 0 = not given */
    uint64_t count;    /* 0 = not given */
    unsigned n_flows;
    unsigned n_macs; /* source MACs the frames cycle through */
    uint32_t src_ip_be, dst_ip_be;
    uint32_t stream;
    bool has_stream;
    unsigned idle_ms; /* rx: stop after this long without frames; 0 = never */
    bool json;
    bool tcp; /* tx --dev --tcp: ACK segments of one TCP connection instead of UDP */
    enum pktgen_generator generator; /* tx --dev */
};

/* The smallest frame that carries the whole pktgen header. */
unsigned pktgen_min_size(bool has_vlan);

/* Bytes a frame has around a UDP payload: Ethernet, IPv4 (no options) or
 * IPv6 (no extension headers) after 'family' (AF_INET or AF_INET6), UDP.
 * This function can't fail. */
unsigned pktgen_udp_overhead(int family);

/* Parses 'argv' (argv[0] is the mode, "tx" or "rx") into 'o', filling
 * defaults.  On failure returns false and writes a one-line reason into 'err'.
 * Takes no ownership: 'o->dev' points into 'argv'.
 *
 * --udp takes "A.B.C.D:PORT" or "[IPv6]:PORT" (literals, PORT 1..65535, no
 * unspecified address) in tx, a PORT in rx; it goes with neither --dev nor
 * --vhost-user, nor with the options that shape the frame's headers (MACs,
 * VLAN, addresses, flows): the kernel writes those. */
bool pktgen_parse_args(int argc, char **argv, struct pktgen_opts *o, char *err, size_t err_len);

/* Writes the template frame that 'o' describes (with 'o->src_mac' set) into
 * 'buf': IPv4 header and UDP checksums valid, pktgen header with magic and
 * stream and seq 0.  Returns the frame length, or 0 if 'buf_len' is too small
 * or 'o->size' is below pktgen_min_size(). */
size_t pktgen_frame_build(const struct pktgen_opts *o, uint8_t *buf, size_t buf_len);

/* Offset of the UDP header in frames built for 'o'.  This function can't fail. */
unsigned pktgen_l4_off(const struct pktgen_opts *o);

/* Fills what 'o' says of the per-frame stamping into 'cfg' (stream, flows,
 * source MACs from 'o->src_mac', UDP offset); cookie and ifindex are left 0.
 * This function can't fail. */
void pktgen_tx_cfg_init(const struct pktgen_opts *o, struct pktgen_tx_cfg *cfg);

/* Stamps 'frame' (a template from pktgen_frame_build()) as frame number 'seq'
 * sent at 'now_ns' (CLOCK_MONOTONIC), exactly as bpf/pktgen-tx.bpf.c does:
 * UDP source port of its flow, source MAC of its L2 flow, checksum 0, the
 * pktgen header.  This function can't fail. */
void pktgen_frame_stamp(const struct pktgen_tx_cfg *cfg, uint8_t *frame, uint64_t seq,
                        uint64_t now_ns);

/* Writes the pktgen header of frame 'seq' of 'stream', sent at 'now_ns'
 * (CLOCK_MONOTONIC), into 'h' (24 bytes, any alignment), in network byte
 * order.  This function can't fail. */
void pktgen_hdr_stamp(struct pktgen_hdr *h, uint32_t stream, uint64_t seq, uint64_t now_ns);

/* Frames tx sends: --count, or --rate x --duration (at least 1); 0 when it
 * sends flat out until --duration.  This function can't fail. */
uint64_t pktgen_tx_target(const struct pktgen_opts *o);

/* Writes the RARP announcement of 'mac' that rx --announce sends (as QEMU's
 * qemu_announce_self() does: broadcast, ethertype 0x8035, reverse request)
 * into 'buf' (at least 60 bytes).  Returns its length, 60.  This function
 * can't fail. */
unsigned pktgen_rarp_build(const uint8_t mac[static 6], uint8_t *buf);

/* The display name of what 'o' sends to or receives from: the interface or
 * the socket.  This function can't fail. */
const char *pktgen_target(const struct pktgen_opts *o);

/* RFC 1071 Internet checksum of 'len' bytes, the bytes read as big-endian
 * 16-bit words, starting from partial sum 'sum'.  Returns the folded,
 * complemented value in host order (store it with htons()).  This function
 * can't fail. */
uint16_t pktgen_csum(const void *data, size_t len, uint32_t sum);

/* Lower and upper edge (microseconds) of histogram bucket 'b'. */
double pktgen_bucket_lo_us(uint32_t b);
double pktgen_bucket_hi_us(uint32_t b);

/* The 'p'-quantile (0 < p <= 1) of 'hist' in microseconds: the upper edge of
 * the bucket holding the ceil(p * n)-th sample, but no more than 'max_us'.
 * Returns 0 for an empty histogram. */
double pktgen_percentile_us(const uint64_t hist[PKTGEN_N_BUCKETS], double p, double max_us);

struct pktgen_rx_summary {
    uint64_t packets, bytes;
    uint64_t lost; /* sum over streams of (highest seq + 1) - packets, >= 0 */
    uint64_t reordered;
    uint64_t max_lost_run; /* the most consecutive seqs lost, over streams */
    double max_gap_us;     /* the longest time between two arrivals, over streams */
    unsigned n_streams;
    double duration_s; /* first to last frame, over all streams */
    double pps;        /* (packets - 1) / duration_s; 0 with fewer than 2 */
    double lat_p50_us, lat_p99_us, lat_p999_us, lat_max_us, lat_avg_us;
};

/* Sums 'n' streams into 's'; 'hist_scratch' (PKTGEN_N_BUCKETS entries)
 * receives the merged histogram.  This function can't fail. */
void pktgen_rx_summarize(const struct pktgen_stream_stats *streams, size_t n,
                         uint64_t *hist_scratch, struct pktgen_rx_summary *s);

/* A sink in userspace: the streams of bpf/pktgen-rx.bpf.c's 'streams' map and
 * its 'untracked' counter.  'stats' holds PKTGEN_MAX_STREAMS entries, owned by
 * the caller. */
struct pktgen_rx_table {
    uint32_t ids[PKTGEN_MAX_STREAMS];
    struct pktgen_stream_stats *stats;
    unsigned n, last;
    uint64_t untracked;
};

/* Counts one received frame of 'frame_len' bytes whose first 'len' bytes are
 * at 'frame', at time 'now_ns', as bpf/pktgen-rx.bpf.c counts it.  Returns
 * false (and counts nothing) when it is not a pktgen frame.  Never allocates. */
bool pktgen_rx_count(struct pktgen_rx_table *t, const uint8_t *frame, size_t len, size_t frame_len,
                     uint64_t now_ns);

/* The counting of pktgen_rx_count() once the header is found: counts the
 * frame of 'frame_len' bytes that carries the pktgen header at 'h' (24
 * readable bytes, any alignment), received at 'now_ns' (CLOCK_MONOTONIC).
 * Returns false (and counts nothing) when the magic is not ours.  Never
 * allocates. */
bool pktgen_rx_count_hdr(struct pktgen_rx_table *t, const struct pktgen_hdr *h, size_t frame_len,
                         uint64_t now_ns);

/* The entries of 't' that 'o' reports (only 'o->stream' with --stream):
 * sets '*first' and returns how many.  This function can't fail. */
size_t pktgen_rx_select(const struct pktgen_rx_table *t, const struct pktgen_opts *o,
                        const struct pktgen_stream_stats **first);

/* Prints the sink's report of 's' (JSON with 'o->json') on stdout. */
void pktgen_rx_print(const struct pktgen_opts *o, const struct pktgen_rx_summary *s,
                     uint64_t untracked);

/* What tx reports. */
struct pktgen_tx_report {
    const char *generator; /* "xdp-live", "afpacket", "vhost-user", "udp" */
    uint64_t sent;         /* frames */
    double secs;
    bool interrupted;     /* by a signal */
    int pinned;           /* xdp-live: whether its program stayed attached
                           * (pktgen-xdp.h); -1 elsewhere, not reported */
    uint64_t send_errors; /* --udp: datagrams the socket refused */
};

/* Prints the generator's report 'r' (JSON with 'o->json') on stdout. */
void pktgen_tx_print(const struct pktgen_opts *o, const struct pktgen_tx_report *r);

#endif
