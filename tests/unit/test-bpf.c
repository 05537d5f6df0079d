/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The BPF programs in the kernel, run on frames with plain BPF_PROG_RUN (no
 * live frames: nothing is sent, the verdict and the frame as the program
 * left it come back):
 *
 *   eswitch  dataplane/bpf/eswitch.bpf.c, loaded by eswitch.c, its flows
 *            installed with eswitch_flow_add(): known unicast redirected
 *            with a tag pushed, popped or kept, misses, broadcast, fenced
 *            vNIC flows, frames too long, an egress not ours and short
 *            frames left unchanged to the slow path (XDP_PASS to the kernel,
 *            or XDP_REDIRECT into the port's AF_XDP socket), and the
 *            counters of the flows and ports;
 *   vfmux    platform/lab/bpf/vfmux.bpf.c, loaded by vfmux_load(): with the
 *            vNIC on leg 1, on leg 2 and on none, what each of its four tc
 *            programs does to a frame and its mark, and the counters.
 *
 * Frames come in on "lo" and flows go out to it: a device that every network
 * namespace has (the kernel wants an existing ingress and a devmap wants an
 * existing egress), and nothing is attached to it.  Without the right to load
 * BPF programs (not root) the whole test is skipped: exit 77, counted as a
 * skip by meson and scripts/run-tests.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/if_xdp.h>
#include <linux/pkt_cls.h>
#include <net/if.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/unit/check.h"
#include "dataplane/eswitch.h"
#include "lib/util.h"
#include "platform/lab/vfmux.h"

#ifndef AF_XDP
#define AF_XDP 44
#endif

static struct eswitch *esw;
static struct bpf_object *mux;
static int lo;

/* Loads both programs once; skips the whole test when BPF is refused. */
static void
setup(void)
{
    char why[ERR_LEN] = "";
    if (esw)
        return;
    lo = (int)if_nametoindex("lo");
    esw = eswitch_create(why, sizeof why);
    if (!esw || vfmux_load(&mux, why, sizeof why) < 0) {
        printf("skip - test-bpf: cannot load BPF programs (root, CAP_BPF): %s\n", why);
        eswitch_destroy(esw);
        exit(77);
    }
}

/* ---- frames ---- */

static const uint8_t mac_a[6] = {0x02, 0, 0, 0, 0x0a, 0x01};
static const uint8_t mac_b[6] = {0x02, 0, 0, 0, 0x0b, 0x02};
static const uint8_t mac_bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

#define NO_TAG -1

/* An IPv4-looking frame of 'len' bytes, with an 802.1Q tag of TCI 'tci'
 * unless NO_TAG; the payload counts up from 'seed'. */
static size_t
frame(uint8_t *buf, size_t len, const uint8_t dst[6], const uint8_t src[6], int tci, uint8_t seed)
{
    size_t off = 12;
    memcpy(buf, dst, 6);
    memcpy(buf + 6, src, 6);
    if (tci != NO_TAG) {
        buf[off++] = 0x81, buf[off++] = 0x00;
        buf[off++] = (uint8_t)(tci >> 8), buf[off++] = (uint8_t)tci;
    }
    buf[off++] = 0x08, buf[off++] = 0x00;
    for (size_t i = off; i < len; i++)
        buf[i] = (uint8_t)(seed + i);
    return len;
}

struct run {
    int rc;          /* of BPF_PROG_RUN */
    uint32_t retval; /* the verdict */
    uint8_t out[2048];
    uint32_t out_len;
    uint32_t mark; /* tc: skb->mark after the run */
};

/* Runs the eswitch on 'len' bytes of 'in' arriving on lo. */
static void
run_xdp(const uint8_t *in, size_t len, struct run *r)
{
    struct xdp_md ctx = {.data_end = (uint32_t)len, .ingress_ifindex = (uint32_t)lo};
    DECLARE_LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in, .data_size_in = (uint32_t)len,
                        .data_out = r->out, .data_size_out = sizeof r->out, .ctx_in = &ctx,
                        .ctx_size_in = sizeof ctx, .repeat = 1);
    r->rc = bpf_prog_test_run_opts(eswitch_prog_fd(esw), &o) < 0 ? -errno : 0;
    r->retval = o.retval;
    r->out_len = o.data_size_out;
}

/* Runs vfmux program 'prog' on 'len' bytes of 'in' with skb->mark 'mark'. */
static void
run_tc(const char *prog, const uint8_t *in, size_t len, uint32_t mark, struct run *r)
{
    struct __sk_buff ctx = {.mark = mark}, ctx_out = {0};
    struct bpf_program *p = bpf_object__find_program_by_name(mux, prog);
    DECLARE_LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in, .data_size_in = (uint32_t)len,
                        .data_out = r->out, .data_size_out = sizeof r->out, .ctx_in = &ctx,
                        .ctx_size_in = sizeof ctx, .ctx_out = &ctx_out,
                        .ctx_size_out = sizeof ctx_out, .repeat = 1);
    r->rc = !p ? -ENOENT : bpf_prog_test_run_opts(bpf_program__fd(p), &o) < 0 ? -errno : 0;
    r->retval = o.retval;
    r->out_len = o.data_size_out;
    r->mark = ctx_out.mark;
}

/* ---- eswitch maps ---- */

/* The fd of map 'name' of program 'prog_fd' (caller closes), or -1. */
static int
map_fd(int prog_fd, const char *name)
{
    uint32_t ids[16];
    struct bpf_prog_info info = {.nr_map_ids = 16, .map_ids = (uint64_t)(uintptr_t)ids};
    uint32_t len = sizeof info;
    if (bpf_obj_get_info_by_fd(prog_fd, &info, &len))
        return -1;
    for (uint32_t i = 0; i < info.nr_map_ids && i < 16; i++) {
        int fd = bpf_map_get_fd_by_id(ids[i]);
        struct bpf_map_info m = {0};
        uint32_t mlen = sizeof m;
        if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &m, &mlen) && !strcmp(m.name, name))
            return fd;
        if (fd >= 0)
            close(fd);
    }
    return -1;
}

/* Makes 'ifindex' a valid egress without attaching the program to it (what
 * eswitch_port_attach() does after attaching). */
static bool
add_egress(int ifindex)
{
    int fd = map_fd(eswitch_prog_fd(esw), "tx_ports");
    uint32_t k = (uint32_t)ifindex, v = (uint32_t)ifindex;
    bool ok = fd >= 0 && bpf_map_update_elem(fd, &k, &v, BPF_ANY) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

enum { PORT_IN = 1, PORT_OUT = 2 };

/* A fresh table: every flow and counter gone, lo an egress, unfenced. */
static bool
reset(void)
{
    setup();
    eswitch_flow_sweep(esw, NULL, NULL);
    eswitch_port_stats_clear(esw, PORT_IN);
    eswitch_port_stats_clear(esw, PORT_OUT);
    return add_egress(lo) && eswitch_set_fenced(esw, false) == 0;
}

static struct eswitch_key
key(int tag, const uint8_t src[6], const uint8_t dst[6])
{
    struct eswitch_key k = {.in_ifindex = (uint32_t)lo, .tag = (uint16_t)tag};
    memcpy(k.src, src, 6);
    memcpy(k.dst, dst, 6);
    return k;
}

static struct eswitch_action
action(int out_ifindex, int push_vid, bool pop, bool vnic)
{
    return (struct eswitch_action){.out_ifindex = (uint32_t)out_ifindex,
                                   .push_vid = (uint16_t)push_vid,
                                   .pop = pop,
                                   .vnic = vnic,
                                   .max_len = 1518,
                                   .in_port = PORT_IN,
                                   .out_port = PORT_OUT};
}

/* The counters of the flow with key 'k'. */
static struct eswitch_action
counters_of(const struct eswitch_key *k)
{
    struct eswitch_key keys[8];
    struct eswitch_action acts[8], none = {0};
    unsigned n = eswitch_flow_read(esw, keys, acts, 8);
    for (unsigned i = 0; i < n; i++)
        if (!memcmp(&keys[i], k, sizeof *k))
            return acts[i];
    return none;
}

#define ASSERT_FRAME(r, want, want_len)                                                            \
    do {                                                                                           \
        ASSERT_EQ((r).out_len, (want_len));                                                        \
        ASSERT_TRUE(!memcmp((r).out, (want), (want_len)));                                         \
    } while (0)

/* ---- eswitch ---- */

static void
eswitch_hit_pushes_vlan(void)
{
    uint8_t in[64], want[68];
    struct run r;
    ASSERT_TRUE(reset());
    struct eswitch_key k = key(ESWITCH_UNTAGGED, mac_a, mac_b);
    struct eswitch_action a = action(lo, 100, false, false);
    ASSERT_EQ(eswitch_flow_add(esw, &k, &a), 0);
    run_xdp(in, frame(in, 64, mac_b, mac_a, NO_TAG, 7), &r);
    ASSERT_EQ(r.rc, 0);
    ASSERT_EQ(r.retval, XDP_REDIRECT);
    /* The same frame with the tag after the MACs: payload and type kept. */
    frame(want, 68, mac_b, mac_a, 100, 7 - 4);
    ASSERT_FRAME(r, want, 68);

    struct eswitch_action c = counters_of(&k);
    struct eswitch_port_stats rx, tx;
    ASSERT_EQ(c.packets, 1);
    ASSERT_EQ(c.bytes, 68);
    ASSERT_GT(c.last_ns, 0);
    ASSERT_TRUE(eswitch_port_stats(esw, PORT_IN, &rx));
    ASSERT_TRUE(eswitch_port_stats(esw, PORT_OUT, &tx));
    ASSERT_EQ(rx.rx_packets, 1);
    ASSERT_EQ(rx.rx_bytes, 64);
    ASSERT_EQ(tx.tx_packets, 1);
    ASSERT_EQ(tx.tx_bytes, 68);
}

static void
eswitch_hit_pops_vlan(void)
{
    uint8_t in[68], want[64];
    struct run r;
    ASSERT_TRUE(reset());
    /* Priority bits in the TCI: the flow is on the VLAN id alone. */
    struct eswitch_key k = key(200, mac_b, mac_a);
    struct eswitch_action a = action(lo, ESWITCH_NO_PUSH, true, false);
    ASSERT_EQ(eswitch_flow_add(esw, &k, &a), 0);
    run_xdp(in, frame(in, 68, mac_a, mac_b, 0xa000 | 200, 9), &r);
    ASSERT_EQ(r.rc, 0);
    ASSERT_EQ(r.retval, XDP_REDIRECT);
    frame(want, 64, mac_a, mac_b, NO_TAG, 9 + 4);
    ASSERT_FRAME(r, want, 64);
    struct eswitch_action c = counters_of(&k);
    ASSERT_EQ(c.packets, 1);
    ASSERT_EQ(c.bytes, 64);
}

static void
eswitch_hit_keeps_frame(void)
{
    uint8_t in[1518];
    struct run r;
    ASSERT_TRUE(reset());
    struct eswitch_key k = key(300, mac_a, mac_b);
    struct eswitch_action a = action(lo, ESWITCH_NO_PUSH, false, false);
    ASSERT_EQ(eswitch_flow_add(esw, &k, &a), 0);
    for (int i = 0; i < 3; i++) {
        run_xdp(in, frame(in, 1518, mac_b, mac_a, 300, 1), &r);
        ASSERT_EQ(r.retval, XDP_REDIRECT);
        ASSERT_FRAME(r, in, 1518);
    }
    struct eswitch_action c = counters_of(&k);
    struct eswitch_port_stats rx;
    ASSERT_EQ(c.packets, 3);
    ASSERT_EQ(c.bytes, 3 * 1518);
    ASSERT_TRUE(eswitch_port_stats(esw, PORT_IN, &rx));
    ASSERT_EQ(rx.rx_packets, 3);
}

/* Frames the slow path must see as they came, its counters untouched. */
static void
expect_slow_path(const uint8_t *in, size_t len, uint32_t verdict)
{
    struct run r;
    struct eswitch_port_stats rx;
    run_xdp(in, len, &r);
    ASSERT_EQ(r.rc, 0);
    ASSERT_EQ(r.retval, verdict);
    ASSERT_FRAME(r, in, len);
    ASSERT_TRUE(eswitch_port_stats(esw, PORT_IN, &rx));
    ASSERT_EQ(rx.rx_packets, 0);
}

static void
eswitch_miss_goes_to_kernel(void)
{
    uint8_t in[64];
    ASSERT_TRUE(reset());
    struct eswitch_key k = key(ESWITCH_UNTAGGED, mac_a, mac_b);
    struct eswitch_action a = action(lo, 100, false, false);
    ASSERT_EQ(eswitch_flow_add(esw, &k, &a), 0);
    /* The reverse direction, another tag: no flow. */
    expect_slow_path(in, frame(in, 64, mac_a, mac_b, NO_TAG, 0), XDP_PASS);
    expect_slow_path(in, frame(in, 64, mac_b, mac_a, 100, 0), XDP_PASS);
    ASSERT_EQ(counters_of(&k).packets, 0);
}

static void
eswitch_miss_goes_to_afxdp_socket(void)
{
    uint8_t in[64];
    ASSERT_TRUE(reset());
    int xsk = socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);
    ASSERT_GE(xsk, 0);
    int rc = eswitch_port_steer(esw, lo, xsk);
    if (rc == 0)
        expect_slow_path(in, frame(in, 64, mac_a, mac_b, NO_TAG, 0), XDP_REDIRECT);
    eswitch_port_detach(esw, lo); /* the steering goes, and with it the socket */
    close(xsk);
    ASSERT_EQ(rc, 0);
    ASSERT_TRUE(add_egress(lo));
    expect_slow_path(in, frame(in, 64, mac_a, mac_b, NO_TAG, 0), XDP_PASS);
}

static void
eswitch_broadcast_goes_to_slow_path(void)
{
    uint8_t in[64];
    ASSERT_TRUE(reset());
    struct eswitch_key k = key(ESWITCH_UNTAGGED, mac_a, mac_bcast);
    struct eswitch_action a = action(lo, ESWITCH_NO_PUSH, false, false);
    ASSERT_EQ(eswitch_flow_add(esw, &k, &a), 0); /* never installed; even so */
    expect_slow_path(in, frame(in, 64, mac_bcast, mac_a, NO_TAG, 0), XDP_PASS);
}

static void
eswitch_fenced_vnic_goes_to_slow_path(void)
{
    uint8_t in[68], out_tagged[68];
    struct run r;
    ASSERT_TRUE(reset());
    struct eswitch_key vnic = key(ESWITCH_UNTAGGED, mac_a, mac_b);
    struct eswitch_key uplink = key(100, mac_b, mac_a);
    struct eswitch_action va = action(lo, 100, false, true);
    struct eswitch_action ua = action(lo, ESWITCH_NO_PUSH, false, false);
    ASSERT_EQ(eswitch_flow_add(esw, &vnic, &va), 0);
    ASSERT_EQ(eswitch_flow_add(esw, &uplink, &ua), 0);
    ASSERT_EQ(eswitch_set_fenced(esw, true), 0);
    /* The slow path drops what a fenced vNIC sends; here it arrives there
     * unchanged, no tag pushed. */
    expect_slow_path(in, frame(in, 64, mac_b, mac_a, NO_TAG, 3), XDP_PASS);
    ASSERT_EQ(counters_of(&vnic).packets, 0);
    /* Flows of no vNIC go on. */
    run_xdp(in, frame(in, 68, mac_a, mac_b, 100, 3), &r);
    ASSERT_EQ(r.retval, XDP_REDIRECT);
    ASSERT_EQ(eswitch_set_fenced(esw, false), 0);
    run_xdp(in, frame(in, 64, mac_b, mac_a, NO_TAG, 3), &r);
    ASSERT_EQ(r.retval, XDP_REDIRECT);
    frame(out_tagged, 68, mac_b, mac_a, 100, 3 - 4);
    ASSERT_FRAME(r, out_tagged, 68);
}

static void
eswitch_too_long_goes_to_slow_path(void)
{
    uint8_t in[1522];
    ASSERT_TRUE(reset());
    struct eswitch_key k = key(ESWITCH_UNTAGGED, mac_a, mac_b);
    struct eswitch_action a = action(lo, 100, false, false);
    ASSERT_EQ(eswitch_flow_add(esw, &k, &a), 0);
    expect_slow_path(in, frame(in, 1519, mac_b, mac_a, NO_TAG, 0), XDP_PASS);
}

static void
eswitch_unknown_egress_goes_to_slow_path(void)
{
    uint8_t in[64];
    ASSERT_TRUE(reset());
    struct eswitch_key k = key(ESWITCH_UNTAGGED, mac_a, mac_b);
    struct eswitch_action a = action(999999, 100, false, false); /* not in tx_ports */
    ASSERT_EQ(eswitch_flow_add(esw, &k, &a), 0);
    expect_slow_path(in, frame(in, 64, mac_b, mac_a, NO_TAG, 0), XDP_PASS);
}

static void
eswitch_short_frames_go_to_slow_path(void)
{
    uint8_t in[64];
    struct run r;
    ASSERT_TRUE(reset());
    struct eswitch_key k = key(5, mac_a, mac_b);
    struct eswitch_action a = action(lo, ESWITCH_NO_PUSH, true, false);
    ASSERT_EQ(eswitch_flow_add(esw, &k, &a), 0);
    /* An 802.1Q type with the tag cut off, and with it cut after its TCI: a
     * pop needs 16 bytes. */
    frame(in, 64, mac_b, mac_a, 5, 0);
    expect_slow_path(in, 15, XDP_PASS);
    expect_slow_path(in, 17, XDP_PASS);
    /* What the kernel refuses to run at all: less than an Ethernet header. */
    run_xdp(in, ETH_HLEN - 1, &r);
    ASSERT_EQ(r.rc, -EINVAL);
    /* The shortest a flow takes: a tag and nothing after it. */
    run_xdp(in, 18, &r);
    ASSERT_EQ(r.retval, XDP_REDIRECT);
    ASSERT_EQ(r.out_len, 14);
}

/* ---- VF mux ---- */

static bool
mux_set_leg(unsigned leg)
{
    struct bpf_map *m = bpf_object__find_map_by_name(mux, "vfmux_cfg");
    struct vfmux_cfg c = {.leg = leg, .ifindex0 = (uint32_t)lo, .ifindex1 = (uint32_t)lo};
    uint32_t k = 0;
    return m && bpf_map_update_elem(bpf_map__fd(m), &k, &c, BPF_ANY) == 0;
}

/* Counters summed over CPUs, then zeroed. */
static bool
mux_counters(uint64_t out[VFMUX__N])
{
    struct bpf_map *m = bpf_object__find_map_by_name(mux, "vfmux_stats");
    int n_cpus = libbpf_num_possible_cpus();
    uint64_t v[n_cpus > 0 ? n_cpus : 1];
    for (uint32_t i = 0; m && i < VFMUX__N; i++) {
        out[i] = 0;
        if (bpf_map_lookup_elem(bpf_map__fd(m), &i, v))
            return false;
        for (int cpu = 0; cpu < n_cpus; cpu++)
            out[i] += v[cpu];
        memset(v, 0, sizeof v);
        if (bpf_map_update_elem(bpf_map__fd(m), &i, v, BPF_ANY))
            return false;
    }
    return m != NULL;
}

struct mux_case {
    const char *prog;
    uint32_t mark_in;
    int verdict;
    uint32_t mark_out;
};

static void
expect_mux(const struct mux_case *cases, size_t n, const uint64_t want[VFMUX__N])
{
    uint8_t in[64];
    uint64_t got[VFMUX__N];
    struct run r;
    frame(in, 64, mac_b, mac_a, NO_TAG, 5);
    ASSERT_TRUE(mux_counters(got)); /* zeroes them */
    for (size_t i = 0; i < n; i++) {
        run_tc(cases[i].prog, in, 64, cases[i].mark_in, &r);
        if (r.rc || (int)r.retval != cases[i].verdict || r.mark != cases[i].mark_out)
            fprintf(stderr, "%s mark %#x: rc %d verdict %u mark %#x\n", cases[i].prog,
                    cases[i].mark_in, r.rc, r.retval, r.mark);
        ASSERT_EQ(r.rc, 0);
        ASSERT_EQ(r.retval, cases[i].verdict);
        ASSERT_EQ(r.mark, cases[i].mark_out);
        ASSERT_FRAME(r, in, 64);
    }
    ASSERT_TRUE(mux_counters(got));
    for (int c = 0; c < VFMUX__N; c++)
        if (got[c] != want[c])
            fprintf(stderr, "counter %s: %llu, want %llu\n", vfmux_counter_name(c),
                    (unsigned long long)got[c], (unsigned long long)want[c]);
    ASSERT_TRUE(!memcmp(got, want, sizeof got));
}

static void
vfmux_leg1_passes_eth0_and_cuts_eth1(void)
{
    static const struct mux_case cases[] = {
        {"vfmux_egress0", 0, TC_ACT_OK, 0},
        {"vfmux_ingress0", 0, TC_ACT_OK, 0},
        {"vfmux_ingress1", 0, TC_ACT_SHOT, 0},
        {"vfmux_egress1", 0, TC_ACT_SHOT, 0},
    };
    static const uint64_t want[VFMUX__N] = {
        [VFMUX_TX_LEG1] = 1, [VFMUX_RX_LEG1] = 1, [VFMUX_DROP_RX] = 1};
    setup();
    ASSERT_TRUE(mux_set_leg(1));
    expect_mux(cases, sizeof cases / sizeof cases[0], want);
}

static void
vfmux_leg2_moves_frames_marked(void)
{
    static const struct mux_case cases[] = {
        {"vfmux_egress0", 0, TC_ACT_REDIRECT, VFMUX_MARK},  /* out of eth1 */
        {"vfmux_egress1", VFMUX_MARK, TC_ACT_OK, 0},        /* ... which lets it go */
        {"vfmux_ingress1", 0, TC_ACT_REDIRECT, VFMUX_MARK}, /* into eth0 */
        {"vfmux_ingress0", VFMUX_MARK, TC_ACT_OK, 0},       /* ... which takes it */
        {"vfmux_ingress0", 0, TC_ACT_SHOT, 0},              /* dpu1 is cut off */
        {"vfmux_egress1", 0, TC_ACT_SHOT, 0},               /* the stack is on eth0 */
    };
    static const uint64_t want[VFMUX__N] = {
        [VFMUX_TX_LEG2] = 1, [VFMUX_RX_LEG2] = 1, [VFMUX_DROP_RX] = 1};
    setup();
    ASSERT_TRUE(mux_set_leg(2));
    expect_mux(cases, sizeof cases / sizeof cases[0], want);
}

static void
vfmux_no_leg_drops_both_ways(void)
{
    static const struct mux_case cases[] = {
        {"vfmux_egress0", 0, TC_ACT_SHOT, 0},
        {"vfmux_ingress0", 0, TC_ACT_SHOT, 0},
        {"vfmux_ingress1", 0, TC_ACT_SHOT, 0},
    };
    static const uint64_t want[VFMUX__N] = {[VFMUX_DROP_TX] = 1, [VFMUX_DROP_RX] = 2};
    setup();
    ASSERT_TRUE(mux_set_leg(0));
    expect_mux(cases, sizeof cases / sizeof cases[0], want);
}

/* An IPv4 TCP segment 198.18.0.1:40000 -> 198.18.0.2:80 with 'flags', in
 * a frame from a to b tagged 'tci' unless NO_TAG.  Returns its length. */
static size_t
tcp_frame(uint8_t *buf, int tci, uint8_t flags)
{
    frame(buf, 78, mac_b, mac_a, tci, 0);
    size_t l3 = tci == NO_TAG ? 14 : 18;
    uint8_t *ip = buf + l3, *t = ip + 20;
    memset(ip, 0, 40);
    ip[0] = 0x45, ip[3] = 40, ip[8] = 64, ip[9] = 6;
    ip[12] = 198, ip[13] = 18, ip[15] = 1, ip[16] = 198, ip[17] = 18, ip[19] = 2;
    t[0] = 40000 >> 8, t[1] = 40000 & 0xff, t[3] = 80;
    t[12] = 5 << 4, t[13] = flags;
    return l3 + 40;
}

/* The firewall's tier: a flow marked 'fw' forwards the IP packets of the
 * connections in 'conns' (and counts them), sends up a new connection's,
 * a state change's (SYN, FIN, RST) and a fragment's, and passes ARP. */
static void
eswitch_firewall_forwards_only_offloaded_connections(void)
{
    uint8_t in[128];
    struct run r;
    ASSERT_TRUE(reset());
    eswitch_conn_flush(esw);
    struct eswitch_key k = key(ESWITCH_UNTAGGED, mac_a, mac_b);
    struct eswitch_action a = action(lo, ESWITCH_NO_PUSH, false, false);
    a.fw = 1, a.zone = 10;
    ASSERT_EQ(eswitch_flow_add(esw, &k, &a), 0);
    size_t len = tcp_frame(in, NO_TAG, 0x10 /* ACK */);
    run_xdp(in, len, &r);
    ASSERT_EQ(r.retval, XDP_PASS); /* no connection: the slow path */
    struct eswitch_conn_key ck = {.sport = 40000, .dport = 80, .zone = 10, .family = 4, .proto = 6};
    ck.src[0] = 198, ck.src[1] = 18, ck.src[3] = 1, ck.dst[0] = 198, ck.dst[1] = 18, ck.dst[3] = 2;
    ASSERT_EQ(eswitch_conn_add(esw, &ck), 0);
    run_xdp(in, len, &r);
    ASSERT_EQ(r.retval, XDP_REDIRECT); /* offloaded: forwarded */
    run_xdp(in, tcp_frame(in, NO_TAG, 0x11 /* FIN|ACK */), &r);
    ASSERT_EQ(r.retval, XDP_PASS); /* a state change: the slow path */
    tcp_frame(in, NO_TAG, 0x10);
    in[14 + 6] = 0x20; /* more fragments */
    run_xdp(in, len, &r);
    ASSERT_EQ(r.retval, XDP_PASS);
    in[14 + 6] = 0;
    ck.zone = 11; /* the same addresses in another portgroup: another connection */
    struct eswitch_conn c = {0};
    ASSERT_FALSE(eswitch_conn_take(esw, &ck, &c));
    ck.zone = 10;
    ASSERT_TRUE(eswitch_conn_take(esw, &ck, &c));
    ASSERT_EQ(c.packets, 1);
    ASSERT_EQ(c.bytes, len);
    run_xdp(in, len, &r);
    ASSERT_EQ(r.retval, XDP_PASS); /* taken back */
    frame(in, 64, mac_b, mac_a, NO_TAG, 1);
    in[12] = 0x08, in[13] = 0x06; /* ARP */
    run_xdp(in, 64, &r);
    ASSERT_EQ(r.retval, XDP_REDIRECT);
}

TEST_MAIN(TEST(eswitch_hit_pushes_vlan), TEST(eswitch_hit_pops_vlan), TEST(eswitch_hit_keeps_frame),
          TEST(eswitch_miss_goes_to_kernel), TEST(eswitch_miss_goes_to_afxdp_socket),
          TEST(eswitch_broadcast_goes_to_slow_path), TEST(eswitch_fenced_vnic_goes_to_slow_path),
          TEST(eswitch_too_long_goes_to_slow_path), TEST(eswitch_unknown_egress_goes_to_slow_path),
          TEST(eswitch_short_frames_go_to_slow_path),
          TEST(eswitch_firewall_forwards_only_offloaded_connections),
          TEST(vfmux_leg1_passes_eth0_and_cuts_eth1), TEST(vfmux_leg2_moves_frames_marked),
          TEST(vfmux_no_leg_drops_both_ways))
