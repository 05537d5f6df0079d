/* SPDX-License-Identifier: Apache-2.0 */
#include "tests/unit/check.h"
#include "tools/pktgen/pktgen-afxdp.h"
#include "tools/pktgen/pktgen-tx.h"
#include "tools/pktgen/pktgen-udp.h"
#include "tools/pktgen/pktgen.h"
#include "lib/util.h"

#include <arpa/inet.h>
#include <linux/if_xdp.h>
#include <pthread.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <unistd.h>

static bool
parse(struct pktgen_opts *o, char *err, const char *a0, ...)
{
    char *argv[32];
    int argc = 0;
    va_list ap;
    va_start(ap, a0);
    for (const char *a = a0; a && argc < 31; a = va_arg(ap, const char *))
        argv[argc++] = (char *)a;
    va_end(ap);
    argv[argc] = NULL;
    return pktgen_parse_args(argc, argv, o, err, 256);
}

static void
tx_args_get_defaults(void)
{
    struct pktgen_opts o;
    char err[256];
    ASSERT_TRUE(parse(&o, err, "tx", "--dev", "eth0", "--dst-mac", "02:00:00:00:00:02", NULL));
    ASSERT_EQ(o.mode, PKTGEN_TX);
    ASSERT_STREQ(o.dev, "eth0");
    ASSERT_EQ(o.size, 66);
    ASSERT_EQ(o.rate_pps, 0);
    ASSERT_EQ(o.n_flows, 1);
    ASSERT_EQ(o.n_macs, 1);
    ASSERT_EQ(o.vlan, -1);
    ASSERT_EQ(o.count, 0);
    ASSERT_TRUE(o.duration_s == PKTGEN_DEFAULT_DURATION_S);
    ASSERT_EQ(o.src_ip_be, htonl(0xc6120001));
    ASSERT_EQ(o.dst_ip_be, htonl(0xc6120002));
    ASSERT_FALSE(o.has_src_mac);
    ASSERT_FALSE(o.json);
}

static void
tx_args_parse_everything(void)
{
    struct pktgen_opts o;
    char err[256];
    ASSERT_TRUE(parse(&o, err, "tx", "--dev", "v0", "--dst-mac", "02:00:00:00:00:02", "--src-mac",
                      "02:00:00:00:00:01", "--vlan", "100", "--size", "1514", "--rate", "10000",
                      "--count", "5", "--flows", "1000", "--src-macs", "100000", "--src-ip",
                      "198.18.1.1", "--dst-ip", "198.18.1.2", "--stream", "7", "-j", NULL));
    ASSERT_EQ(o.vlan, 100);
    ASSERT_EQ(o.size, 1514);
    ASSERT_EQ(o.rate_pps, 10000);
    ASSERT_EQ(o.count, 5);
    ASSERT_TRUE(o.duration_s == 0);
    ASSERT_EQ(o.n_flows, 1000);
    ASSERT_EQ(o.n_macs, 100000);
    ASSERT_EQ(o.stream, 7);
    ASSERT_TRUE(o.has_src_mac && o.json);
    ASSERT_EQ(o.src_mac[5], 1);
    ASSERT_EQ(o.dst_ip_be, htonl(0xc6120102));
    ASSERT_TRUE(parse(&o, err, "tx", "--dev", "v0", "--dst-mac", "02:00:00:00:00:02", "--rate",
                      "max", "--duration", "0.5", NULL));
    ASSERT_EQ(o.rate_pps, 0);
    ASSERT_TRUE(o.duration_s == 0.5);
}

static void
tx_args_refuse_bad_input(void)
{
    struct pktgen_opts o;
    char err[256];
#define DEV "--dev", "v0", "--dst-mac", "02:00:00:00:00:02"
    ASSERT_FALSE(parse(&o, err, "tx", "--dst-mac", "02:00:00:00:00:02", NULL));
    ASSERT_STREQ(err, "tx: --dev, --vhost-user or --udp is required");
    ASSERT_FALSE(parse(&o, err, "tx", "--dev", "v0", NULL));
    ASSERT_FALSE(parse(&o, err, "tx", DEV, "--size", "59", NULL));
    ASSERT_FALSE(parse(&o, err, "tx", DEV, "--size", "1515", NULL));
    ASSERT_FALSE(parse(&o, err, "tx", DEV, "--size", "64", NULL)); /* < header */
    ASSERT_TRUE(parse(&o, err, "tx", DEV, "--size", "66", NULL));
    ASSERT_FALSE(parse(&o, err, "tx", DEV, "--size", "66", "--vlan", "5", NULL));
    ASSERT_FALSE(parse(&o, err, "tx", DEV, "--rate", "0", NULL));
    ASSERT_FALSE(parse(&o, err, "tx", DEV, "--rate", "fast", NULL));
    ASSERT_FALSE(parse(&o, err, "tx", DEV, "--count", "5", "--duration", "1", NULL));
    ASSERT_STREQ(err, "tx: give --duration or --count, not both");
    ASSERT_FALSE(parse(&o, err, "tx", DEV, "--duration", "0", NULL));
    ASSERT_FALSE(parse(&o, err, "tx", DEV, "--flows", "0", NULL));
    ASSERT_FALSE(parse(&o, err, "tx", DEV, "--src-macs", "0", NULL));
    ASSERT_FALSE(parse(&o, err, "tx", DEV, "--src-macs", "1000001", NULL));
    ASSERT_TRUE(strstr(err, "--src-macs") != NULL);
    ASSERT_FALSE(parse(&o, err, "tx", DEV, "--vlan", "4096", NULL));
    ASSERT_FALSE(parse(&o, err, "tx", DEV, "--src-ip", "198.18.0", NULL));
    ASSERT_FALSE(parse(&o, err, "tx", DEV, "--idle-ms", "5", NULL)); /* rx only */
    ASSERT_FALSE(parse(&o, err, "tx", DEV, "--count", NULL));
    ASSERT_STREQ(err, "--count needs a value");
    ASSERT_FALSE(parse(&o, err, "tx", DEV, "--count", "-1", NULL));
    ASSERT_FALSE(parse(&o, err, "bogus", NULL));
    ASSERT_STREQ(err, "unknown mode 'bogus' (tx or rx)");
#undef DEV
}

static void
rx_args_parse(void)
{
    struct pktgen_opts o;
    char err[256];
    ASSERT_TRUE(parse(&o, err, "rx", "--dev", "eth0", NULL));
    ASSERT_EQ(o.mode, PKTGEN_RX);
    ASSERT_EQ(o.idle_ms, PKTGEN_DEFAULT_IDLE_MS);
    ASSERT_TRUE(o.duration_s == 0);
    ASSERT_TRUE(parse(&o, err, "rx", "--dev", "eth0", "--duration", "3", "--idle-ms", "0",
                      "--stream", "4", "-j", NULL));
    ASSERT_EQ(o.idle_ms, 0);
    ASSERT_TRUE(o.has_stream && o.stream == 4 && o.json);
    ASSERT_FALSE(parse(&o, err, "rx", "--dev", "eth0", "--rate", "5", NULL));
    ASSERT_STREQ(err, "rx: unknown option '--rate'");
}

static uint16_t
be16_at(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static void
frame_has_valid_checksums(void)
{
    struct pktgen_opts o;
    char err[256];
    ASSERT_TRUE(parse(&o, err, "tx", "--dev", "v0", "--dst-mac", "02:00:00:00:00:02", "--src-mac",
                      "02:00:00:00:00:01", "--size", "99", "--stream", "3", NULL));
    uint8_t f[PKTGEN_MAX_SIZE];
    ASSERT_EQ(pktgen_frame_build(&o, f, sizeof f), 99);
    ASSERT_EQ(f[0], 0x02);
    ASSERT_EQ(f[5], 0x02);
    ASSERT_EQ(f[11], 0x01);
    ASSERT_EQ(be16_at(f + 12), 0x0800);
    const uint8_t *ip = f + 14;
    ASSERT_EQ(ip[0], 0x45);
    ASSERT_EQ(be16_at(ip + 2), 99 - 14);
    ASSERT_EQ(pktgen_csum(ip, 20, 0), 0); /* a valid header sums to 0xffff */
    const uint8_t *udp = ip + 20;
    ASSERT_EQ(pktgen_l4_off(&o), 34);
    ASSERT_EQ(be16_at(udp), PKTGEN_SPORT_BASE);
    ASSERT_EQ(be16_at(udp + 4), 99 - 34);
    uint32_t sum = 0;
    for (int i = 12; i < 20; i += 2)
        sum += be16_at(ip + i);
    sum += 17 + be16_at(udp + 4);
    ASSERT_NE(be16_at(udp + 6), 0);
    ASSERT_EQ(pktgen_csum(udp, 99 - 34, sum), 0);
    struct pktgen_hdr h;
    memcpy(&h, udp + 8, sizeof h);
    ASSERT_EQ(ntohl(h.magic), PKTGEN_MAGIC);
    ASSERT_EQ(ntohl(h.stream), 3);
    ASSERT_EQ(h.seq, 0);
    ASSERT_EQ(f[98], 0);
}

/* --tcp: an ACK segment of one connection, its checksum valid as built and
 * after every stamp (TCP has no "none"), counted by the sink. */
static void
frame_carries_a_tcp_segment(void)
{
    struct pktgen_opts o;
    char err[256];
    ASSERT_TRUE(
        parse(&o, err, "tx", "--dev", "v0", "--dst-mac", "02:00:00:00:00:02", "--tcp", NULL));
    ASSERT_EQ(o.size, 78); /* 12 bytes more than UDP's */
    uint8_t f[PKTGEN_MAX_SIZE];
    ASSERT_EQ(pktgen_frame_build(&o, f, sizeof f), 78);
    const uint8_t *ip = f + 14, *t = ip + 20;
    ASSERT_EQ(ip[9], 6);
    ASSERT_EQ(pktgen_csum(ip, 20, 0), 0);
    ASSERT_EQ(be16_at(t + 2), PKTGEN_DPORT);
    ASSERT_EQ(t[12] >> 4, 5);
    ASSERT_EQ(t[13], 0x10); /* ACK, nothing else */
    uint32_t sum = 0;
    for (int i = 12; i < 20; i += 2)
        sum += be16_at(ip + i);
    sum += 6 + (78 - 34);
    ASSERT_EQ(pktgen_csum(t, 78 - 34, sum), 0);
    struct pktgen_tx_cfg cfg;
    pktgen_tx_cfg_init(&o, &cfg);
    pktgen_frame_stamp(&cfg, f, 12345, 777);
    ASSERT_EQ(pktgen_csum(t, 78 - 34, sum), 0); /* still valid */
    struct pktgen_hdr h;
    memcpy(&h, t + 20, sizeof h);
    ASSERT_EQ(ntohl(h.magic), PKTGEN_MAGIC);
    ASSERT_EQ(be64toh(h.seq), 12345);
    struct pktgen_rx_table rx = {.stats = calloc(PKTGEN_MAX_STREAMS, sizeof *rx.stats)};
    ASSERT_NOT_NULL(rx.stats);
    bool counted = pktgen_rx_count(&rx, f, 78, 78, 1000);
    free(rx.stats);
    ASSERT_TRUE(counted); /* the sink finds the header after the TCP header */
    ASSERT_FALSE(parse(&o, err, "tx", "--vhost-user", "/x", "--dst-mac", "02:00:00:00:00:02",
                       "--tcp", NULL));
    ASSERT_STREQ(err, "tx: --tcp: with --dev only");
}

static void
frame_carries_vlan_tag(void)
{
    struct pktgen_opts o;
    char err[256];
    ASSERT_TRUE(parse(&o, err, "tx", "--dev", "v0", "--dst-mac", "02:00:00:00:00:02", "--vlan",
                      "100", NULL));
    ASSERT_EQ(o.size, 70);
    uint8_t f[PKTGEN_MAX_SIZE];
    ASSERT_EQ(pktgen_frame_build(&o, f, sizeof f), 70);
    ASSERT_EQ(be16_at(f + 12), 0x8100);
    ASSERT_EQ(be16_at(f + 14), 100);
    ASSERT_EQ(be16_at(f + 16), 0x0800);
    ASSERT_EQ(pktgen_csum(f + 18, 20, 0), 0);
    ASSERT_EQ(pktgen_l4_off(&o), 38);
    ASSERT_EQ(pktgen_frame_build(&o, f, 69), 0); /* buffer too small */
}

static void
csum_matches_rfc1071_example(void)
{
    /* RFC 1071 §3: 0001 f203 f4f5 f6f7 sums to ddf2, complement 220d. */
    const uint8_t d[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    ASSERT_EQ(pktgen_csum(d, sizeof d, 0), 0x220d);
    const uint8_t odd[] = {0x01};
    ASSERT_EQ(pktgen_csum(odd, 1, 0), 0xfeff);
}

static void
lat_buckets_are_monotonic_and_fine(void)
{
    ASSERT_EQ(pktgen_lat_bucket(0), 0);
    ASSERT_EQ(pktgen_lat_bucket(999), 999);
    ASSERT_EQ(pktgen_lat_bucket(1023), 1023);
    ASSERT_EQ(pktgen_lat_bucket(1024), 1024);
    ASSERT_EQ(pktgen_lat_bucket(1039), 1024); /* 16 us wide from 1024 us */
    ASSERT_EQ(pktgen_lat_bucket(1040), 1025);
    ASSERT_EQ(pktgen_lat_bucket((1U << 20) - 1), PKTGEN_N_BUCKETS - 2);
    ASSERT_EQ(pktgen_lat_bucket(1U << 20), PKTGEN_N_BUCKETS - 1);
    ASSERT_EQ(pktgen_lat_bucket(UINT64_MAX / 2), PKTGEN_N_BUCKETS - 1);
    uint32_t prev = 0;
    for (uint64_t us = 0; us < (1U << 21); us += 7) {
        uint32_t b = pktgen_lat_bucket(us);
        ASSERT_GE(b, prev);
        ASSERT_LT(b, PKTGEN_N_BUCKETS);
        ASSERT_TRUE(pktgen_bucket_lo_us(b) <= (double)us);
        ASSERT_TRUE((double)us < pktgen_bucket_hi_us(b));
        /* Relative width under 1/64 beyond the linear part. */
        if (us >= PKTGEN_LIN_US && b < PKTGEN_N_BUCKETS - 1)
            ASSERT_TRUE(pktgen_bucket_hi_us(b) - pktgen_bucket_lo_us(b) <=
                        pktgen_bucket_lo_us(b) / 64);
        prev = b;
    }
}

static void
percentiles_from_histogram(void)
{
    static uint64_t hist[PKTGEN_N_BUCKETS];
    memset(hist, 0, sizeof hist);
    ASSERT_TRUE(pktgen_percentile_us(hist, 0.5, 10) == 0);
    /* 1000 samples: 900 at 3 us, 90 at 10 us, 9 at 500 us, 1 at 2000 us. */
    hist[pktgen_lat_bucket(3)] = 900;
    hist[pktgen_lat_bucket(10)] = 90;
    hist[pktgen_lat_bucket(500)] = 9;
    hist[pktgen_lat_bucket(2000)] = 1;
    ASSERT_TRUE(pktgen_percentile_us(hist, 0.50, 2010) == 4);
    ASSERT_TRUE(pktgen_percentile_us(hist, 0.90, 2010) == 4);
    ASSERT_TRUE(pktgen_percentile_us(hist, 0.99, 2010) == 11);
    ASSERT_TRUE(pktgen_percentile_us(hist, 0.999, 2010) == 501);
    ASSERT_TRUE(pktgen_percentile_us(hist, 1.0, 2010) == 2010); /* capped at max */
    /* Sub-microsecond latencies report the maximum, not 0. */
    memset(hist, 0, sizeof hist);
    hist[0] = 5;
    ASSERT_TRUE(pktgen_percentile_us(hist, 0.5, 0.4) == 0.4);
}

static void
summary_counts_loss_per_stream(void)
{
    static struct pktgen_stream_stats st[2];
    static uint64_t hist[PKTGEN_N_BUCKETS];
    memset(st, 0, sizeof st);
    /* Stream 0: seq 0..99, 98 received, 1 of them late. */
    st[0].packets = 98;
    st[0].bytes = 98 * 66;
    st[0].highest_seq = 99;
    st[0].reordered = 1;
    st[0].first_ns = 1000000000;
    st[0].last_ns = 1000000000 + 97000000; /* 97 ms */
    st[0].lat_max_ns = 7000;
    st[0].lat_sum_ns = 98 * 5000;
    st[0].hist[5] = 98;
    /* Stream 1: seq 0..9 all there, starts later. */
    st[1].packets = 10;
    st[1].highest_seq = 9;
    st[1].first_ns = 1010000000;
    st[1].last_ns = 1000000000 + 107000000;
    st[1].lat_max_ns = 3000;
    st[1].hist[3] = 10;
    struct pktgen_rx_summary s;
    pktgen_rx_summarize(st, 2, hist, &s);
    ASSERT_EQ(s.packets, 108);
    ASSERT_EQ(s.lost, 2);
    ASSERT_EQ(s.reordered, 1);
    ASSERT_EQ(s.n_streams, 2);
    ASSERT_TRUE(s.duration_s > 0.1069 && s.duration_s < 0.1071);
    ASSERT_TRUE(s.pps > 999 && s.pps < 1001);
    ASSERT_TRUE(s.lat_p50_us == 6);
    ASSERT_TRUE(s.lat_max_us == 7);
    ASSERT_EQ(hist[3], 10);
    pktgen_rx_summarize(st, 0, hist, &s);
    ASSERT_EQ(s.packets, 0);
    ASSERT_TRUE(s.pps == 0 && s.lat_p99_us == 0);
}

static void
vhost_user_args(void)
{
    struct pktgen_opts o;
    char err[256];
    ASSERT_TRUE(parse(&o, err, "tx", "--vhost-user", "/run/v.sock", "--dst-mac",
                      "02:00:00:00:00:02", "--rate", "10000", "--duration", "1", NULL));
    ASSERT_STREQ(o.vhost_user, "/run/v.sock");
    ASSERT_NULL(o.dev);
    ASSERT_TRUE(o.has_src_mac); /* no interface to take it from */
    uint8_t mac[6];
    ASSERT_TRUE(mac_parse(PKTGEN_VHOST_SRC_MAC, mac));
    ASSERT_EQ(memcmp(o.src_mac, mac, 6), 0);
    ASSERT_STREQ(pktgen_target(&o), "/run/v.sock");
    ASSERT_EQ(pktgen_tx_target(&o), 10000);
    ASSERT_TRUE(parse(&o, err, "tx", "--vhost-user", "/v", "--dst-mac", "02:00:00:00:00:02",
                      "--src-mac", "02:00:00:00:00:07", NULL));
    ASSERT_EQ(o.src_mac[5], 7);
    ASSERT_EQ(pktgen_tx_target(&o), 0); /* flat out for the default duration */
    ASSERT_TRUE(parse(&o, err, "rx", "--vhost-user", "/v", "--announce", "02:00:00:00:00:09",
                      "--idle-ms", "500", NULL));
    ASSERT_TRUE(o.has_announce && o.announce_mac[5] == 9);

    ASSERT_FALSE(parse(&o, err, "tx", "--vhost-user", "/v", "--dev", "eth0", "--dst-mac",
                       "02:00:00:00:00:02", NULL));
    ASSERT_STREQ(err, "tx: give --dev or --vhost-user, not both");
    ASSERT_FALSE(parse(&o, err, "rx", "--dev", "eth0", "--vhost-user", "/v", NULL));
    ASSERT_STREQ(err, "rx: give --dev or --vhost-user, not both");
    ASSERT_FALSE(parse(&o, err, "rx", NULL));
    ASSERT_STREQ(err, "rx: --dev, --vhost-user or --udp is required");
    ASSERT_FALSE(parse(&o, err, "rx", "--dev", "eth0", "--announce", "02:00:00:00:00:09", NULL));
    ASSERT_STREQ(err, "rx: --announce goes with --vhost-user");
    ASSERT_FALSE(parse(&o, err, "tx", "--vhost-user", "/v", "--dst-mac", "02:00:00:00:00:02",
                       "--announce", "02:00:00:00:00:09", NULL));
    ASSERT_STREQ(err, "tx: unknown option '--announce'");
    ASSERT_FALSE(parse(&o, err, "rx", "--vhost-user", "", NULL));
    char longpath[200];
    memset(longpath, 'a', sizeof longpath - 1);
    longpath[sizeof longpath - 1] = '\0';
    ASSERT_FALSE(parse(&o, err, "rx", "--vhost-user", longpath, NULL));
    ASSERT_TRUE(strstr(err, "not a Unix socket path") != NULL);
    ASSERT_FALSE(parse(&o, err, "rx", "--vhost-user", NULL));
    ASSERT_STREQ(err, "--vhost-user needs a value");
}

/* The template frame of 'o' into 'f' (PKTGEN_MAX_SIZE bytes) and its
 * stamping into 'cfg', as every generator starts; returns its length. */
static unsigned
template_for(const struct pktgen_opts *o, uint8_t *f, struct pktgen_tx_cfg *cfg)
{
    pktgen_tx_cfg_init(o, cfg);
    return (unsigned)pktgen_frame_build(o, f, PKTGEN_MAX_SIZE);
}

/* What the XDP generator does per frame (bpf/pktgen-tx.bpf.c), and what the
 * XDP sink counts (bpf/pktgen-rx.bpf.c), in userspace. */
static void
stamped_frames_are_counted_like_xdp(void)
{
    struct pktgen_opts o;
    char err[256];
    ASSERT_TRUE(parse(&o, err, "tx", "--vhost-user", "/v", "--dst-mac", "02:00:00:00:00:02",
                      "--src-mac", "02:00:00:00:00:fe", "--flows", "3", "--src-macs", "4",
                      "--stream", "5", "--vlan", "7", NULL));
    uint8_t f[PKTGEN_MAX_SIZE];
    struct pktgen_tx_cfg cfg;
    size_t len = template_for(&o, f, &cfg);
    ASSERT_EQ(len, 70);
    ASSERT_EQ(cfg.l4_off, 38);
    ASSERT_EQ(cfg.mac_low, 0xfe);

    struct pktgen_rx_table t = {.stats = calloc(PKTGEN_MAX_STREAMS, sizeof *t.stats)};
    static const uint64_t seqs[] = {0, 1, 2, 4, 3, 5}; /* 4 overtakes 3 */
    for (unsigned i = 0; i < 6; i++) {
        pktgen_frame_stamp(&cfg, f, seqs[i], 1000000 + seqs[i] * 1000);
        const uint8_t *udp = f + 38;
        ASSERT_EQ(be16_at(udp), PKTGEN_SPORT_BASE + seqs[i] % 3);
        ASSERT_EQ(be16_at(udp + 6), 0);                  /* checksum: none */
        ASSERT_EQ(f[11], (uint8_t)(0xfe + seqs[i] % 4)); /* counts up over 24 bits */
        ASSERT_EQ(f[10], (0xfe + seqs[i] % 4) >> 8);
        ASSERT_TRUE(pktgen_rx_count(&t, f, len, len, 1000000 + seqs[i] * 1000 + 3500));
    }
    ASSERT_EQ(t.n, 1);
    ASSERT_EQ(t.ids[0], 5);
    const struct pktgen_stream_stats *st = &t.stats[0];
    ASSERT_EQ(st->packets, 6);
    ASSERT_EQ(st->bytes, 6 * 70);
    ASSERT_EQ(st->highest_seq, 5);
    ASSERT_EQ(st->reordered, 1);
    ASSERT_EQ(st->lat_max_ns, 3500);
    ASSERT_EQ(st->hist[3], 6);

    /* not ours: another ethertype, a bad magic, a truncated frame */
    uint8_t other[PKTGEN_MAX_SIZE];
    ASSERT_EQ(pktgen_rarp_build(o.src_mac, other), 60);
    ASSERT_EQ(be16_at(other + 12), 0x8035);
    ASSERT_EQ(other[0], 0xff);
    ASSERT_FALSE(pktgen_rx_count(&t, other, 60, 60, 1));
    ASSERT_FALSE(pktgen_rx_count(&t, f, 60, 60, 1));
    memcpy(other, f, len);
    other[38 + 8] ^= 1; /* the magic */
    ASSERT_FALSE(pktgen_rx_count(&t, other, len, len, 1));
    ASSERT_EQ(t.stats[0].packets, 6);

    /* one stream over the table's size is counted as untracked */
    struct pktgen_tx_cfg c2 = cfg;
    for (uint32_t s = 100; s < 100 + PKTGEN_MAX_STREAMS; s++) {
        c2.stream = s;
        pktgen_frame_stamp(&c2, f, 0, 1);
        ASSERT_TRUE(pktgen_rx_count(&t, f, len, len, 2));
    }
    ASSERT_EQ(t.n, PKTGEN_MAX_STREAMS);
    ASSERT_EQ(t.untracked, 1);
    /* --stream reports one */
    const struct pktgen_stream_stats *first;
    o.has_stream = true;
    o.stream = 5;
    ASSERT_EQ(pktgen_rx_select(&t, &o, &first), 1);
    ASSERT_EQ(first->packets, 6);
    o.stream = 99;
    ASSERT_EQ(pktgen_rx_select(&t, &o, &first), 0);
    free(t.stats);
}

static void
udp_args_parse(void)
{
    struct pktgen_opts o;
    char err[256];
    ASSERT_TRUE(parse(&o, err, "tx", "--udp", "198.18.7.2:9000", NULL));
    ASSERT_STREQ(o.udp, "198.18.7.2:9000");
    ASSERT_NULL(o.dev);
    ASSERT_NULL(o.vhost_user);
    ASSERT_EQ(o.udp_dst.in.sin_family, AF_INET);
    ASSERT_EQ(o.udp_dst.in.sin_addr.s_addr, htonl(0xc6120702));
    ASSERT_EQ(ntohs(o.udp_dst.in.sin_port), 9000);
    ASSERT_EQ(o.size, 14 + 20 + 8 + 24); /* the smallest frame with the header */
    ASSERT_TRUE(o.duration_s == PKTGEN_DEFAULT_DURATION_S);
    ASSERT_STREQ(pktgen_target(&o), "198.18.7.2:9000");

    ASSERT_TRUE(parse(&o, err, "tx", "--udp", "[2001:db8::1]:65535", "--rate", "1000", "--count",
                      "50", "--size", "1514", "--stream", "9", "-j", NULL));
    ASSERT_EQ(o.udp_dst.in6.sin6_family, AF_INET6);
    ASSERT_EQ(ntohs(o.udp_dst.in6.sin6_port), 65535);
    ASSERT_EQ(o.udp_dst.in6.sin6_addr.s6_addr[1], 0x01);
    ASSERT_EQ(o.udp_dst.in6.sin6_addr.s6_addr[15], 0x01);
    ASSERT_EQ(o.size, 1514);
    ASSERT_EQ(o.count, 50);
    ASSERT_TRUE(o.json && o.stream == 9);
    ASSERT_TRUE(parse(&o, err, "tx", "--udp", "[::1]:9", NULL));
    ASSERT_EQ(o.size, 14 + 40 + 8 + 24);
    ASSERT_EQ(pktgen_udp_overhead(AF_INET6), 62);

    ASSERT_TRUE(parse(&o, err, "rx", "--udp", "9000", "--duration", "2", "--idle-ms", "50",
                      "--stream", "3", "-j", NULL));
    ASSERT_EQ(o.udp_port, 9000);
    ASSERT_EQ(o.idle_ms, 50);
    ASSERT_TRUE(o.has_stream && o.stream == 3);
}

/* Each wrong --udp, with the reason it names. */
static void
udp_args_refuse_bad_input(void)
{
    static const struct {
        const char *mode, *v, *reason;
    } bad[] = {
        {"tx", "198.18.7.2", "not ADDR:PORT"},
        {"tx", "198.18.7.2:", "port '' is not in 1..65535"},
        {"tx", "198.18.7.2:0", "port '0' is not in 1..65535"},
        {"tx", "198.18.7.2:65536", "port '65536' is not in 1..65535"},
        {"tx", "198.18.7.2:+80", "port '+80'"},
        {"tx", "198.18.7.2:80x", "port '80x'"},
        {"tx", ":80", "no address before the port"},
        {"tx", "198.18.7:80", "'198.18.7' is not an IPv4 address"},
        {"tx", "198.18.7.256:80", "is not an IPv4 address"},
        {"tx", "localhost:80", "'localhost' is not an IPv4 address"},
        {"tx", "0.0.0.0:80", "'0.0.0.0' is no destination"},
        {"tx", "::1:80", "an IPv6 address is written [ADDR]:PORT"},
        {"tx", "[::1]", "not [IPv6]:PORT"},
        {"tx", "[::1]80", "not [IPv6]:PORT"},
        {"tx", "[::1:80", "not [IPv6]:PORT"},
        {"tx", "[]:80", "no address before the port"},
        {"tx", "[198.18.7.2]:80", "is not an IPv6 address"},
        {"tx", "[fe80::1%eth0]:80", "is not an IPv6 address"},
        {"tx", "[::]:80", "'::' is no destination"},
        {"rx", "0", "not a UDP port (1..65535)"},
        {"rx", "65536", "not a UDP port"},
        {"rx", "198.18.7.2:80", "not a UDP port"},
        {"rx", "", "not a UDP port"},
    };
    struct pktgen_opts o;
    char err[256];
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        bool ok = parse(&o, err, bad[i].mode, "--udp", bad[i].v, NULL);
        if (ok || !strstr(err, bad[i].reason))
            fprintf(stderr, "# %s --udp '%s': %s\n", bad[i].mode, bad[i].v, ok ? "accepted" : err);
        ASSERT_FALSE(ok);
        ASSERT_TRUE(strstr(err, bad[i].reason) != NULL);
        ASSERT_TRUE(strchr(err, '\n') == NULL);
    }
}

static void
udp_excludes_dev_vhost_and_header_options(void)
{
    struct pktgen_opts o;
    char err[256];
    ASSERT_FALSE(parse(&o, err, "tx", "--udp", "198.18.7.2:9", "--dev", "eth0", NULL));
    ASSERT_STREQ(err, "tx: give --udp or --dev, not both");
    ASSERT_FALSE(parse(&o, err, "rx", "--dev", "eth0", "--udp", "9", NULL));
    ASSERT_STREQ(err, "rx: give --udp or --dev, not both");
    ASSERT_FALSE(parse(&o, err, "rx", "--udp", "9", "--vhost-user", "/v", NULL));
    ASSERT_STREQ(err, "rx: give --udp or --vhost-user, not both");
    /* The kernel writes MACs, VLAN, addresses and ports. */
    ASSERT_FALSE(
        parse(&o, err, "tx", "--udp", "198.18.7.2:9", "--dst-mac", "02:00:00:00:00:02", NULL));
    ASSERT_STREQ(err, "tx: --dst-mac does not go with --udp");
    ASSERT_FALSE(parse(&o, err, "tx", "--vlan", "5", "--udp", "198.18.7.2:9", NULL));
    ASSERT_STREQ(err, "tx: --vlan does not go with --udp");
    ASSERT_FALSE(parse(&o, err, "tx", "--udp", "198.18.7.2:9", "--flows", "4", NULL));
    ASSERT_FALSE(parse(&o, err, "rx", "--udp", "9", "--announce", "02:00:00:00:00:09", NULL));
    ASSERT_STREQ(err, "rx: --announce goes with --vhost-user");
    /* The frame must hold the header: 66 bytes over IPv4, 86 over IPv6. */
    ASSERT_FALSE(parse(&o, err, "tx", "--udp", "198.18.7.2:9", "--size", "65", NULL));
    ASSERT_TRUE(strstr(err, "at least 66 bytes over IPv4") != NULL);
    ASSERT_FALSE(parse(&o, err, "tx", "--udp", "[::1]:9", "--size", "85", NULL));
    ASSERT_TRUE(strstr(err, "at least 86 bytes over IPv6") != NULL);
    ASSERT_TRUE(parse(&o, err, "tx", "--udp", "[::1]:9", "--size", "86", NULL));
    ASSERT_FALSE(
        parse(&o, err, "tx", "--udp", "198.18.7.2:9", "--count", "1", "--duration", "1", NULL));
    ASSERT_STREQ(err, "tx: give --duration or --count, not both");
    ASSERT_FALSE(parse(&o, err, "tx", "--udp", NULL));
    ASSERT_STREQ(err, "--udp needs a value");
}

/* Stamps one frame of 'cfg' as 'seq' and counts it as arriving at 'at_ns'. */
static bool
count_at(struct pktgen_rx_table *t, const struct pktgen_tx_cfg *cfg, uint8_t *f, size_t len,
         uint64_t seq, uint64_t at_ns)
{
    pktgen_frame_stamp(cfg, f, seq, at_ns - 5000);
    return pktgen_rx_count(t, f, len, len, at_ns);
}

static void
rx_counter_tracks_longest_gap_and_lost_run(void)
{
    struct pktgen_opts o;
    char err[256];
    ASSERT_TRUE(parse(&o, err, "tx", "--vhost-user", "/v", "--dst-mac", "02:00:00:00:00:02",
                      "--stream", "1", NULL));
    uint8_t f[PKTGEN_MAX_SIZE];
    size_t len = pktgen_frame_build(&o, f, sizeof f);
    struct pktgen_tx_cfg cfg;
    pktgen_tx_cfg_init(&o, &cfg);
    struct pktgen_rx_table t = {.stats = calloc(PKTGEN_MAX_STREAMS, sizeof *t.stats)};
    ASSERT_NOT_NULL(t.stats);

    /* 1 ms apart, then 7 ms of silence in which seq 3..7 (5 frames) are lost. */
    const uint64_t t0 = 5000000000ULL, ms = 1000000;
    ASSERT_TRUE(count_at(&t, &cfg, f, len, 0, t0));
    ASSERT_EQ(t.stats[0].max_gap_ns, 0); /* nothing before the first frame */
    ASSERT_TRUE(count_at(&t, &cfg, f, len, 1, t0 + 1 * ms));
    ASSERT_TRUE(count_at(&t, &cfg, f, len, 2, t0 + 2 * ms));
    ASSERT_EQ(t.stats[0].max_gap_ns, 1 * ms);
    ASSERT_EQ(t.stats[0].max_lost_run, 0);
    ASSERT_TRUE(count_at(&t, &cfg, f, len, 8, t0 + 9 * ms));
    ASSERT_TRUE(count_at(&t, &cfg, f, len, 9, t0 + 10 * ms));
    /* Shorter holes and a late frame change neither maximum. */
    ASSERT_TRUE(count_at(&t, &cfg, f, len, 12, t0 + 11 * ms)); /* 2 lost */
    ASSERT_TRUE(count_at(&t, &cfg, f, len, 10, t0 + 12 * ms)); /* late */
    const struct pktgen_stream_stats *st = &t.stats[0];
    ASSERT_EQ(st->max_gap_ns, 7 * ms);
    ASSERT_EQ(st->max_lost_run, 5);
    ASSERT_EQ(st->packets, 7);
    ASSERT_EQ(st->reordered, 1);
    ASSERT_EQ(st->highest_seq, 12);

    /* A second stream whose first frame is seq 40: what came before it is
     * loss, not a run between received frames. */
    cfg.stream = 2;
    ASSERT_TRUE(count_at(&t, &cfg, f, len, 40, t0 + 20 * ms));
    ASSERT_TRUE(count_at(&t, &cfg, f, len, 41, t0 + 20 * ms + 500));
    ASSERT_EQ(t.n, 2);
    ASSERT_EQ(t.stats[1].max_lost_run, 0);
    ASSERT_EQ(t.stats[1].max_gap_ns, 500);

    /* The UDP path counts from the header alone, the same way. */
    struct pktgen_hdr h;
    pktgen_hdr_stamp(&h, 2, 50, t0 + 29 * ms);
    ASSERT_TRUE(pktgen_rx_count_hdr(&t, &h, 66, t0 + 30 * ms));
    ASSERT_EQ(t.stats[1].max_lost_run, 8);
    ASSERT_EQ(t.stats[1].max_gap_ns, 10 * ms - 500);
    ASSERT_EQ(t.stats[1].bytes, 3 * 66);
    h.magic ^= 1;
    ASSERT_FALSE(pktgen_rx_count_hdr(&t, &h, 66, t0 + 31 * ms));
    ASSERT_EQ(t.stats[1].packets, 3);

    /* The summary: the maxima over streams, gaps in microseconds. */
    static uint64_t hist[PKTGEN_N_BUCKETS];
    struct pktgen_rx_summary s;
    pktgen_rx_summarize(t.stats, t.n, hist, &s);
    ASSERT_EQ(s.max_lost_run, 8);
    ASSERT_TRUE(s.max_gap_us == 9999.5);
    ASSERT_EQ(s.lost, (13 - 7) + (51 - 3)); /* (highest seq + 1) - received */
    pktgen_rx_summarize(t.stats, 1, hist, &s);
    ASSERT_EQ(s.max_lost_run, 5);
    ASSERT_TRUE(s.max_gap_us == 7000);
    free(t.stats);
}

struct tx_thread {
    struct pktgen_opts o;
    int fd, rc;
    struct pktgen_udp_tx_result r;
};

static void *
tx_thread_run(void *arg)
{
    static volatile sig_atomic_t never;
    struct tx_thread *tx = arg;
    tx->rc = pktgen_udp_tx_run(tx->fd, &tx->o, &never, &tx->r);
    return NULL;
}

/* rx --udp and tx --udp to 127.0.0.1 in this process: 1000 datagrams/s for
 * 0.3 s, every one received, in order.  rx ends 500 ms after the last one
 * (its idle timeout), or at its 10 s deadline if they never come. */
static void
udp_loopback_delivers_every_datagram_in_order(void)
{
    struct pktgen_opts rxo;
    char err[256], dst[32];
    ASSERT_TRUE(parse(&rxo, err, "rx", "--udp", "9", "--duration", "10", "--idle-ms", "500", NULL));
    rxo.udp_port = 0; /* a free port */
    int rx_fd = pktgen_udp_rx_open(&rxo);
    ASSERT_GE(rx_fd, 0);
    int p = pktgen_udp_port(rx_fd);
    ASSERT_GT(p, 0);
    snprintf(dst, sizeof dst, "127.0.0.1:%d", p);

    struct tx_thread tx = {.fd = -1};
    ASSERT_TRUE(parse(&tx.o, err, "tx", "--udp", dst, "--rate", "1000", "--duration", "0.3",
                      "--stream", "4", "--size", "100", NULL));
    tx.fd = pktgen_udp_tx_open(&tx.o);
    ASSERT_GE(tx.fd, 0);
    /* Something else on the port is not counted (nor does it start the run). */
    ASSERT_EQ(send(tx.fd, "hello", 5, 0), 5);

    pthread_t th;
    ASSERT_EQ(pthread_create(&th, NULL, tx_thread_run, &tx), 0);
    struct pktgen_rx_table t = {.stats = calloc(PKTGEN_MAX_STREAMS, sizeof *t.stats)};
    volatile sig_atomic_t stop = 0;
    uint64_t t0 = now_ns();
    int rc = pktgen_udp_rx_run(rx_fd, &rxo, &stop, &t);
    uint64_t rx_ns = now_ns() - t0;
    pthread_join(th, NULL);
    close(tx.fd);
    close(rx_fd);

    ASSERT_EQ(rc, 0);
    ASSERT_EQ(tx.rc, 0);
    ASSERT_EQ(tx.r.sent, 300);
    ASSERT_EQ(tx.r.send_errors, 0);
    ASSERT_GE(tx.r.elapsed_ns, 299000000); /* paced: the whole 0.3 s */
    ASSERT_LT(rx_ns, 5000000000ULL);       /* ended by the idle timeout */
    ASSERT_EQ(t.n, 1);
    ASSERT_EQ(t.ids[0], 4);
    ASSERT_EQ(t.untracked, 0);
    static uint64_t hist[PKTGEN_N_BUCKETS];
    struct pktgen_rx_summary s;
    pktgen_rx_summarize(t.stats, t.n, hist, &s);
    ASSERT_EQ(s.packets, 300);
    ASSERT_EQ(t.stats[0].highest_seq, 299);
    ASSERT_EQ(s.lost, 0);
    ASSERT_EQ(s.reordered, 0);
    ASSERT_EQ(s.max_lost_run, 0);
    ASSERT_EQ(s.bytes, 300 * 100); /* counted as the frames on the wire */
    ASSERT_TRUE(s.max_gap_us > 0 && s.lat_max_us > 0);
    free(t.stats);
}

static void
generator_option_parses(void)
{
    struct pktgen_opts o;
    char err[256];
#define DEV "--dev", "v0", "--dst-mac", "02:00:00:00:00:02"
    ASSERT_TRUE(parse(&o, err, "tx", DEV, NULL));
    ASSERT_EQ(o.generator, PKTGEN_GEN_AUTO);
    static const char *const names[] = {"auto", "xdp-live", "afxdp", "afpacket"};
    for (unsigned g = 0; g < ARRAY_SIZE(names); g++) {
        ASSERT_TRUE(parse(&o, err, "tx", DEV, "--generator", names[g], NULL));
        ASSERT_EQ(o.generator, g);
        ASSERT_STREQ(pktgen_generator_name(o.generator), names[g]);
    }
    ASSERT_FALSE(parse(&o, err, "tx", DEV, "--generator", "pktgen", NULL));
    ASSERT_STREQ(err, "--generator 'pktgen': not auto, xdp-live, afxdp or afpacket");
    ASSERT_FALSE(parse(&o, err, "tx", DEV, "--generator", NULL));
    ASSERT_STREQ(err, "--generator needs a value");
    ASSERT_FALSE(parse(&o, err, "rx", "--dev", "v0", "--generator", "afxdp", NULL));
    ASSERT_STREQ(err, "rx: unknown option '--generator'");
    ASSERT_FALSE(parse(&o, err, "tx", "--udp", "198.18.7.2:9", "--generator", "afxdp", NULL));
    ASSERT_STREQ(err, "tx: --generator does not go with --udp");
    ASSERT_FALSE(parse(&o, err, "tx", "--vhost-user", "/v", "--dst-mac", "02:00:00:00:00:02",
                       "--generator", "afpacket", NULL));
    ASSERT_STREQ(err, "tx: --generator goes with --dev");
#undef DEV
}

/* A generator that sends nothing: it counts what pktgen_tx_run() asks of it,
 * in batches of at most 'batch' frames. */
struct fake_gen {
    uint64_t batch;
    uint64_t calls, frames, last_n, max_n;
    uint64_t first_ns, last_ns; /* when the first and the last call came */
    uint64_t stop_at;           /* sets '*stop' on this call (1 = the first), 0 never */
    uint64_t fail_at;           /* returns 'fail_rc' on this call, 0 never */
    int fail_rc;
    bool takes_none; /* a kernel that takes no frame, ever */
    volatile sig_atomic_t *stop;
};

static int64_t
fake_send(void *ctx, uint64_t n)
{
    struct fake_gen *f = ctx;
    f->last_ns = now_ns();
    if (!f->calls++)
        f->first_ns = f->last_ns;
    if (f->calls == f->fail_at)
        return f->fail_rc;
    n = f->takes_none ? 0 : MIN(n, f->batch ? f->batch : n);
    f->frames += n;
    f->last_n = n;
    f->max_n = MAX(f->max_n, n);
    if (f->calls == f->stop_at)
        *f->stop = 1;
    return (int64_t)n;
}

static const struct pktgen_gen_ops fake_ops = {
    .name = "fake", .chunk_max = 1000, .send = fake_send};

/* Runs the fake generator over the tx arguments after "tx --dev v0 ...". */
static int
fake_run(struct fake_gen *f, uint64_t *elapsed_ns, const char *a1, const char *a2, const char *a3,
         const char *a4)
{
    struct pktgen_opts o;
    char err[256];
    if (!parse(&o, err, "tx", "--dev", "v0", "--dst-mac", "02:00:00:00:00:02", a1, a2, a3, a4,
               NULL))
        return -EINVAL;
    volatile sig_atomic_t stop = 0;
    f->stop = &stop;
    return pktgen_tx_run(&o, &fake_ops, f, &stop, elapsed_ns);
}

static void
tx_run_paces_exact_counts_in_ms_chunks(void)
{
    struct fake_gen f = {0};
    uint64_t ns;
    /* 20 frames per ms: 12 chunks of 20, then 10; the run lasts until frame
     * 250 is due, 12.5 ms after the first. */
    ASSERT_EQ(fake_run(&f, &ns, "--rate", "20000", "--count", "250"), 0);
    ASSERT_EQ(f.frames, 250);
    ASSERT_EQ(f.calls, 13);
    ASSERT_EQ(f.max_n, 20);
    ASSERT_EQ(f.last_n, 10);
    /* The last chunk is due 12 ms after the first: not sent in a burst. */
    ASSERT_GE(f.last_ns - f.first_ns, 11000000);
    ASSERT_GE(ns, 12500000);
    ASSERT_LT(ns, 1000000000);
    /* rate x duration */
    f = (struct fake_gen){0};
    ASSERT_EQ(fake_run(&f, &ns, "--rate", "20000", "--duration", "0.01"), 0);
    ASSERT_EQ(f.frames, 200);
    ASSERT_GE(ns, 10000000);
    /* below 1000 pps, one frame per chunk */
    f = (struct fake_gen){0};
    ASSERT_EQ(fake_run(&f, &ns, "--rate", "500", "--count", "3"), 0);
    ASSERT_EQ(f.calls, 3);
    ASSERT_EQ(f.max_n, 1);
    ASSERT_GE(ns, 6000000); /* frame 3 is due at 6 ms */
    /* a generator that takes 7 frames at a time still sends exact chunks */
    f = (struct fake_gen){.batch = 7};
    ASSERT_EQ(fake_run(&f, &ns, "--rate", "20000", "--count", "250"), 0);
    ASSERT_EQ(f.frames, 250);
    ASSERT_EQ(f.calls, 12 * 3 + 2);
    ASSERT_EQ(f.max_n, 7);
    /* flat out: the generator's chunks, the last one short */
    f = (struct fake_gen){0};
    ASSERT_EQ(fake_run(&f, &ns, "--rate", "max", "--count", "2500"), 0);
    ASSERT_EQ(f.frames, 2500);
    ASSERT_EQ(f.calls, 3);
    ASSERT_EQ(f.last_n, 500);
    /* flat out for a duration */
    f = (struct fake_gen){0};
    ASSERT_EQ(fake_run(&f, &ns, "--rate", "max", "--duration", "0.02"), 0);
    ASSERT_GE(ns, 20000000);
    ASSERT_LT(ns, 1000000000);
    ASSERT_EQ(f.frames, f.calls * 1000);
}

static void
tx_run_ends_on_stop_and_errors(void)
{
    struct fake_gen f = {.stop_at = 3};
    uint64_t ns;
    ASSERT_EQ(fake_run(&f, &ns, "--rate", "1000", "--duration", "60"), 0);
    ASSERT_EQ(f.calls, 3);
    ASSERT_LT(ns, 1000000000); /* not the whole minute, nor its end */
    f = (struct fake_gen){.fail_at = 2, .fail_rc = -ENETDOWN};
    ASSERT_EQ(fake_run(&f, &ns, "--rate", "max", "--count", "5000"), -ENETDOWN);
    ASSERT_EQ(f.calls, 2);
    ASSERT_EQ(f.frames, 1000);
    /* a signal during a batched chunk: no more batches */
    f = (struct fake_gen){.batch = 10, .stop_at = 2};
    ASSERT_EQ(fake_run(&f, &ns, "--rate", "max", "--count", "5000"), 0);
    ASSERT_EQ(f.calls, 2);
    ASSERT_EQ(f.frames, 20);
    /* a kernel that takes nothing holds the run no longer than --duration */
    f = (struct fake_gen){.takes_none = true};
    ASSERT_EQ(fake_run(&f, &ns, "--rate", "max", "--duration", "0.02"), 0);
    ASSERT_EQ(f.frames, 0);
    ASSERT_GE(ns, 20000000);
    ASSERT_LT(ns, 1000000000);
    /* a signal: no error */
    f = (struct fake_gen){.fail_at = 1, .fail_rc = -EINTR};
    ASSERT_EQ(fake_run(&f, &ns, "--rate", "100", "--count", "5"), 0);
    ASSERT_EQ(f.calls, 1);
    ASSERT_LT(ns, 1000000000); /* it did not wait for frame 5 */
}

/* The afxdp generator's rings, over plain memory: the kernel's side played
 * by the test (it consumes descriptors and completes frames). */
static void
afxdp_rings_stamp_each_frame_and_reuse_completed(void)
{
    struct pktgen_opts o;
    char err[256];
    ASSERT_TRUE(parse(&o, err, "tx", "--dev", "v0", "--dst-mac", "02:00:00:00:00:02", "--src-mac",
                      "02:00:00:00:00:10", "--flows", "3", "--src-macs", "2", "--stream", "9",
                      "--size", "100", NULL));
    uint8_t tmpl[PKTGEN_MAX_SIZE];
    struct pktgen_tx_cfg cfg;
    unsigned len = template_for(&o, tmpl, &cfg);
    ASSERT_EQ(len, 100);
    static struct pktgen_afxdp_frames f;
    uint8_t *area = calloc(PKTGEN_AFXDP_FRAMES, PKTGEN_AFXDP_FRAME_SIZE);
    static struct xdp_desc descs[PKTGEN_AFXDP_FRAMES];
    static uint64_t done[PKTGEN_AFXDP_FRAMES];
    ASSERT_NOT_NULL(area);
    pktgen_afxdp_frames_init(&f, area, tmpl, len, &cfg);
    ASSERT_EQ(f.n_free, PKTGEN_AFXDP_FRAMES);
    uint32_t prod = 0, cons = 0, cprod = 0, ccons = 0;
    struct xsk_ring_prod tx = {.cached_cons = PKTGEN_AFXDP_FRAMES,
                               .mask = PKTGEN_AFXDP_FRAMES - 1,
                               .size = PKTGEN_AFXDP_FRAMES,
                               .producer = &prod,
                               .consumer = &cons,
                               .ring = descs};
    struct xsk_ring_cons comp = {.mask = PKTGEN_AFXDP_FRAMES - 1,
                                 .size = PKTGEN_AFXDP_FRAMES,
                                 .producer = &cprod,
                                 .consumer = &ccons,
                                 .ring = done};

    ASSERT_EQ(pktgen_afxdp_fill(&f, &tx, 0, 32, 5000), 32);
    ASSERT_EQ(prod, 32);
    struct pktgen_rx_table t = {.stats = calloc(PKTGEN_MAX_STREAMS, sizeof *t.stats)};
    for (unsigned i = 0; i < 32; i++) {
        ASSERT_EQ(descs[i].len, 100);
        ASSERT_EQ(descs[i].addr, (uint64_t)i * PKTGEN_AFXDP_FRAME_SIZE); /* frame 0 first */
        const uint8_t *fr = area + descs[i].addr;
        ASSERT_EQ(be16_at(fr + 34), PKTGEN_SPORT_BASE + i % 3);
        ASSERT_EQ(fr[11], 0x10 + i % 2);
        ASSERT_EQ(memcmp(fr, tmpl, 11), 0); /* the rest of the template is there */
        ASSERT_TRUE(pktgen_rx_count(&t, fr, len, len, 5000 + 2000));
    }
    ASSERT_EQ(t.n, 1);
    ASSERT_EQ(t.ids[0], 9);
    ASSERT_EQ(t.stats[0].packets, 32);
    ASSERT_EQ(t.stats[0].highest_seq, 31);
    ASSERT_EQ(t.stats[0].reordered, 0);
    ASSERT_EQ(t.stats[0].lat_max_ns, 2000); /* stamped with the time given */

    /* No more than are free, and nothing once none is. */
    ASSERT_EQ(pktgen_afxdp_fill(&f, &tx, 32, 2000, 6000), PKTGEN_AFXDP_FRAMES - 32);
    ASSERT_EQ(pktgen_afxdp_fill(&f, &tx, PKTGEN_AFXDP_FRAMES, 1, 7000), 0);
    ASSERT_EQ(prod, PKTGEN_AFXDP_FRAMES);

    /* The kernel takes every descriptor and completes frames 0..9. */
    cons = prod;
    for (unsigned i = 0; i < 10; i++)
        done[i] = descs[i].addr;
    __atomic_store_n(&cprod, 10, __ATOMIC_RELEASE);
    ASSERT_EQ(pktgen_afxdp_reap(&f, &comp), 10);
    ASSERT_EQ(ccons, 10);
    ASSERT_EQ(pktgen_afxdp_reap(&f, &comp), 0);
    ASSERT_EQ(f.n_free, 10);
    /* Those go out again as the next seqs, from the descriptors after. */
    ASSERT_EQ(pktgen_afxdp_fill(&f, &tx, PKTGEN_AFXDP_FRAMES, 32, 8000), 10);
    for (unsigned i = 0; i < 10; i++) {
        const struct xdp_desc *d = &descs[(PKTGEN_AFXDP_FRAMES + i) % PKTGEN_AFXDP_FRAMES];
        ASSERT_LT(d->addr, 10 * PKTGEN_AFXDP_FRAME_SIZE);
        ASSERT_TRUE(pktgen_rx_count(&t, area + d->addr, len, len, 9000));
    }
    ASSERT_EQ(t.stats[0].packets, 42);
    ASSERT_EQ(t.stats[0].highest_seq, PKTGEN_AFXDP_FRAMES + 9);
    ASSERT_EQ(t.stats[0].reordered, 0);
    free(t.stats);
    free(area);
}

TEST_MAIN(TEST(tx_args_get_defaults), TEST(tx_args_parse_everything),
          TEST(frame_carries_a_tcp_segment), TEST(tx_args_refuse_bad_input), TEST(rx_args_parse),
          TEST(frame_has_valid_checksums), TEST(frame_carries_vlan_tag),
          TEST(csum_matches_rfc1071_example), TEST(lat_buckets_are_monotonic_and_fine),
          TEST(percentiles_from_histogram), TEST(summary_counts_loss_per_stream),
          TEST(vhost_user_args), TEST(stamped_frames_are_counted_like_xdp), TEST(udp_args_parse),
          TEST(udp_args_refuse_bad_input), TEST(udp_excludes_dev_vhost_and_header_options),
          TEST(rx_counter_tracks_longest_gap_and_lost_run),
          TEST(udp_loopback_delivers_every_datagram_in_order), TEST(generator_option_parses),
          TEST(tx_run_paces_exact_counts_in_ms_chunks), TEST(tx_run_ends_on_stop_and_errors),
          TEST(afxdp_rings_stamp_each_frame_and_reuse_completed))
