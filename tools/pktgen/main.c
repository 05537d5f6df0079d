/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dse-pktgen: traffic generator (tx) and sink (rx), wiring only.  tx --dev
 * sends copies of one template frame, stamped per frame, paced in ~1 ms chunks
 * against CLOCK_MONOTONIC (pktgen-tx.c), with the fastest generator the
 * kernel allows or the one --generator names: an embedded XDP program run
 * with BPF_PROG_RUN live frames (pktgen-xdp.c), else AF_XDP transmit in copy
 * mode (pktgen-afxdp.c), else AF_PACKET (pktgen-afpacket.c).  rx attaches an
 * embedded XDP program that counts, times and drops the frames.  With
 * --vhost-user both are a virtio front-end instead (pktgen-vhost.c), with
 * --udp a UDP socket (pktgen-udp.c).  The pure parts live in pktgen.c.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tools/pktgen/pktgen-afpacket.h"
#include "tools/pktgen/pktgen-afxdp.h"
#include "tools/pktgen/pktgen-tx.h"
#include "tools/pktgen/pktgen-udp.h"
#include "tools/pktgen/pktgen-vhost.h"
#include "tools/pktgen/pktgen-xdp.h"
#include "tools/pktgen/pktgen.h"
#include "lib/util.h"

enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2 };

extern const unsigned char pktgen_rx_bpf_obj[];
extern const size_t pktgen_rx_bpf_obj_len;

#define RX_POLL_MS 20

static volatile sig_atomic_t stop_requested;

static void
on_signal(int sig)
{
    stop_requested = 1;
}

static void
usage(FILE *f)
{
    fprintf(f,
            "usage: dse-pktgen tx --dev IF --dst-mac MAC [--src-mac MAC] [--vlan VID]\n"
            "                     [--size BYTES] [--rate PPS|max] [--duration S | --count "
            "N]\n"
            "                     [--flows N] [--src-macs N] [--src-ip A] [--dst-ip B]\n"
            "                     [--stream ID] [--generator G] [--tcp] [-j]\n"
            "       dse-pktgen rx --dev IF [--duration S] [--idle-ms MS] [--stream ID] [-j]\n"
            "       dse-pktgen tx|rx --vhost-user SOCK [the same options] [rx: --announce "
            "MAC]\n"
            "       dse-pktgen tx --udp ADDR:PORT [--size BYTES] [--rate PPS|max]\n"
            "                     [--duration S | --count N] [--stream ID] [-j]\n"
            "       dse-pktgen rx --udp PORT [--duration S] [--idle-ms MS] [--stream ID] "
            "[-j]\n"
            "       dse-pktgen fwd --in IF --out IF\n"
            "\n"
            "tx sends IPv4/UDP frames out of IF, in the current network namespace.\n"
            "Each frame carries {magic \"dse1\", stream, seq, tx time} after the UDP "
            "header;\n"
            "the UDP source port varies over --flows values (from %d), the UDP checksum is "
            "0.\n"
            "  --tcp      TCP segments instead (ACKs of one connection, seq 1, ack 1, their\n"
            "             checksum computed; afxdp and afpacket generators): through a\n"
            "             stateful firewall that already tracks that connection\n"
            "  --src-macs the source MAC cycles through N addresses from --src-mac up\n"
            "             (its last 3 bytes count up): N distinct L2 flows\n"
            "  --size     frame bytes with Ethernet header, without FCS (60..1514); the\n"
            "             default and minimum is %u (%u with --vlan), what the header needs\n"
            "  --rate     frames per second, paced in ~1 ms chunks; max (default): flat out\n"
            "  --duration seconds to send (default %.0f); --count N: send N frames instead\n"
            "  defaults: --src-mac the address of IF, 198.18.0.1 -> 198.18.0.2, stream 0\n"
            "  --generator how the frames are made; the report names the one used:\n"
            "    auto      (default) the first of these that the kernel allows\n"
            "    xdp-live  an XDP program run with BPF_PROG_RUN (live frames) stamps and\n"
            "              redirects each frame in the kernel: fastest; some kernels refuse\n"
            "              it (then forcing it exits 1)\n"
            "    afxdp     AF_XDP transmit in copy mode, stamped in userspace\n"
            "    afpacket  AF_PACKET sendmmsg() past the qdisc, stamped in userspace\n"
            "\n"
            "rx attaches an XDP program to IF (driver mode, replacing and later restoring\n"
            "what is there) that counts and drops frames with the header, and passes the\n"
            "rest.  It stops after --duration, after --idle-ms (default %d, 0 = never)\n"
            "without new frames once traffic started, or on SIGINT/SIGTERM, then reports\n"
            "packets, rate (first to last frame), loss ((highest seq + 1) - received, per\n"
            "stream: seq starts at 0 in each tx run), reordering, the longest gap between\n"
            "two frames and the longest run of lost seqs (both between received frames),\n"
            "and one-way latency percentiles.  --stream reports one stream only.\n"
            "\n"
            "With xdp-live, a veth receiving the redirected frames needs a NAPI context:\n"
            "the peer of the tx --dev must run XDP (rx attaches its program, so a direct\n"
            "veth pair between tx and rx works) or have GRO on (ethtool -K PEER gro on,\n"
            "after link up).  Otherwise the frames tx counts as sent are dropped silently\n"
            "by the kernel.  (afxdp and afpacket frames reach the peer either way.)\n"
            "  -j         print JSON\n"
            "\n"
            "--vhost-user SOCK: instead of an interface, connect to the vhost-user device\n"
            "listening on SOCK as its front-end (the driver, like QEMU or virtio_user),\n"
            "with guest memory in a memfd, and send the same frames on its transmit ring\n"
            "(tx; --src-mac defaults to %s) or count them from its receive ring (rx),\n"
            "busy-polling the rings.  rx --announce MAC first sends one RARP frame from\n"
            "MAC (as QEMU announces a guest) so that a switch learns where MAC is.\n"
            "\n"
            "--udp: through the kernel's network stack instead (routing, tc, netfilter).\n"
            "tx sends from a UDP socket connected to ADDR:PORT (A.B.C.D:PORT or\n"
            "[IPv6]:PORT) datagrams with the same header, padded so that the frame on the\n"
            "wire has --size bytes, paced per datagram; a send the network refuses\n"
            "(ENOBUFS, EAGAIN, ECONNREFUSED, unreachable) counts as a send error and tx\n"
            "goes on.  rx binds PORT on every address and counts as the XDP sink does.\n"
            "\n"
            "While xdp-live runs, its program also sits on IF in generic XDP mode, passing\n"
            "every real frame: that keeps it in the kernel's XDP dispatcher, which\n"
            "BPF_PROG_RUN would otherwise update twice per chunk (~25 ms).\n"
            "DSE_PKTGEN_NO_PIN=1 skips that; DSE_PKTGEN_DEBUG=1 prints libbpf's log\n"
            "(verifier output).\n"
            "Exit status: 0 ok, 1 failed, 2 usage.\n",
            PKTGEN_SPORT_BASE, pktgen_min_size(false), pktgen_min_size(true),
            PKTGEN_DEFAULT_DURATION_S, PKTGEN_DEFAULT_IDLE_MS, PKTGEN_VHOST_SRC_MAC);
}

static int
fail_runtime(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "dse-pktgen: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return EXIT_FAILED;
}

static int
libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
    /* Failures are reported by us; the verifier log helps only when debugging. */
    if (getenv("DSE_PKTGEN_DEBUG"))
        return vfprintf(stderr, fmt, ap);
    return 0;
}

static void
signals_install(void)
{
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static int
if_hwaddr(const char *dev, uint8_t mac[static 6])
{
    struct ifreq ifr = {0};
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", dev);
    int rc = ioctl(fd, SIOCGIFHWADDR, &ifr) ? -errno : 0;
    close(fd);
    if (!rc)
        memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
    return rc;
}

static struct bpf_object *
obj_load(const unsigned char *img, size_t len, const char *what)
{
    char err[256];
    struct bpf_object *obj = pktgen_xdp_obj_load(img, len, what, err, sizeof err);
    if (!obj)
        fail_runtime("%s", err);
    return obj;
}

/* ---- tx ----------------------------------------------------------------- */

static const struct pktgen_gen_ops *const generators[] = {
    [PKTGEN_GEN_XDP_LIVE] = &pktgen_xdp_ops,
    [PKTGEN_GEN_AFXDP] = &pktgen_afxdp_ops,
    [PKTGEN_GEN_AFPACKET] = &pktgen_afpacket_ops,
};

/* Opens the generator --generator names.  Returns it, or NULL after the
 * error line. */
static const struct pktgen_gen_ops *
tx_open_forced(const struct pktgen_opts *o, int ifindex, void **ctx)
{
    const struct pktgen_gen_ops *g = generators[o->generator];
    char err[256];
    if (g == &pktgen_xdp_ops && o->tcp) {
        fail_runtime("tx: --generator xdp-live: it makes UDP only, not --tcp");
        return NULL;
    }
    int rc = g == &pktgen_xdp_ops ? pktgen_xdp_probe() : 0;
    if (rc < 0) {
        fail_runtime("tx: --generator xdp-live: this kernel refuses XDP live frames "
                     "(BPF_PROG_RUN: %s)",
                     strerror(-rc));
        return NULL;
    }
    if (g->open(o, ifindex, ctx, err, sizeof err) < 0) {
        fail_runtime("tx: dev=%s: %s: %s", o->dev, g->name, err);
        return NULL;
    }
    return g;
}

/* --generator auto: the fastest generator that this kernel allows and that
 * opens, in the order of enum pktgen_generator.  A kernel that refuses live
 * frames is no news (some builds do); any other failure is said in a line.
 * Returns it, or NULL after the error line. */
static const struct pktgen_gen_ops *
tx_open_auto(const struct pktgen_opts *o, int ifindex, void **ctx)
{
    char err[256];
    for (size_t i = PKTGEN_GEN_XDP_LIVE; i < ARRAY_SIZE(generators); i++) {
        const struct pktgen_gen_ops *g = generators[i];
        if (g == &pktgen_xdp_ops && (o->tcp || pktgen_xdp_probe() < 0))
            continue; /* it makes UDP only */
        if (!g->open(o, ifindex, ctx, err, sizeof err))
            return g;
        fprintf(stderr, "dse-pktgen: tx: dev=%s: %s: %s; trying the next generator\n", o->dev,
                g->name, err);
    }
    fail_runtime("tx: dev=%s: no generator works here", o->dev);
    return NULL;
}

static int
tx_main(struct pktgen_opts *o)
{
    int ifindex = (int)if_nametoindex(o->dev);
    if (!ifindex)
        return fail_runtime("tx: no interface '%s' in this network namespace", o->dev);
    if (!o->has_src_mac) {
        int rc = if_hwaddr(o->dev, o->src_mac);
        if (rc)
            return fail_runtime("tx: dev=%s: cannot read its MAC address: %s", o->dev,
                                strerror(-rc));
    }
    void *ctx;
    const struct pktgen_gen_ops *g = o->generator == PKTGEN_GEN_AUTO
                                         ? tx_open_auto(o, ifindex, &ctx)
                                         : tx_open_forced(o, ifindex, &ctx);
    if (!g)
        return EXIT_FAILED;
    bool is_xdp = g == &pktgen_xdp_ops;
    if (is_xdp && !pktgen_xdp_pinned(ctx) && !getenv("DSE_PKTGEN_NO_PIN"))
        fprintf(stderr,
                "dse-pktgen: tx: dev=%s: cannot add generic XDP next to what is "
                "there: each chunk waits ~25 ms for XDP dispatcher updates\n",
                o->dev);
    signals_install();
    uint64_t elapsed_ns, sent = 0;
    char err[256];
    int rc = pktgen_tx_run(o, g, ctx, &stop_requested, &elapsed_ns);
    int frc = g->finish(ctx, &sent, err, sizeof err);
    struct pktgen_tx_report r = {.generator = g->name,
                                 .sent = sent,
                                 .secs = (double)elapsed_ns / 1e9,
                                 .interrupted = stop_requested,
                                 .pinned = is_xdp ? pktgen_xdp_pinned(ctx) : -1};
    g->close(ctx);
    if (frc < 0)
        return fail_runtime("tx: dev=%s: %s", o->dev, err);
    if (rc < 0)
        return fail_runtime("tx: dev=%s: %s: sending failed after %llu frames: %s", o->dev, g->name,
                            (unsigned long long)sent, strerror(-rc));
    pktgen_tx_print(o, &r);
    return EXIT_OK;
}

/* ---- rx ----------------------------------------------------------------- */

struct rx_state {
    int streams_fd;
    struct pktgen_stream_stats *stats; /* PKTGEN_MAX_STREAMS entries */
};

/* Reads the streams (only 'o->stream' with --stream) into 'rx->stats'.
 * Returns how many, or -errno. */
static int
rx_read(const struct pktgen_opts *o, struct rx_state *rx)
{
    __u32 key, next, *prev = NULL;
    int n = 0;
    while (n < PKTGEN_MAX_STREAMS && !bpf_map_get_next_key(rx->streams_fd, prev, &next)) {
        key = next;
        prev = &key;
        if (o->has_stream && key != o->stream)
            continue;
        if (bpf_map_lookup_elem(rx->streams_fd, &key, &rx->stats[n]))
            continue; /* removed meanwhile: cannot happen, we never delete */
        n++;
    }
    return n;
}

static uint64_t
rx_packets(const struct pktgen_stream_stats *s, int n)
{
    uint64_t sum = 0;
    for (int i = 0; i < n; i++)
        sum += s[i].packets;
    return sum;
}

/* Attaches 'prog_fd' to 'ifindex' in driver mode through a bpf link (so it
 * goes away with us, however we die).  A program attached the old way is
 * taken off first, and '*old_fd' keeps it alive to be put back by
 * rx_restore() (else -1).  Returns the link fd or -errno. */
static int
rx_attach(int prog_fd, int ifindex, int *old_fd)
{
    LIBBPF_OPTS(bpf_link_create_opts, lopts, .flags = XDP_FLAGS_DRV_MODE);
    *old_fd = -1;
    int fd = bpf_link_create(prog_fd, ifindex, BPF_XDP, &lopts);
    if (fd >= 0 || errno != EBUSY)
        return fd >= 0 ? fd : -errno;
    __u32 old_id = 0;
    if (!bpf_xdp_query_id(ifindex, XDP_FLAGS_DRV_MODE, &old_id) && old_id)
        *old_fd = bpf_prog_get_fd_by_id(old_id);
    if (bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, NULL)) {
        if (*old_fd >= 0)
            close(*old_fd);
        *old_fd = -1;
        return -EBUSY; /* held by another bpf link */
    }
    fd = bpf_link_create(prog_fd, ifindex, BPF_XDP, &lopts);
    return fd >= 0 ? fd : -errno;
}

static void
rx_restore(int ifindex, int old_fd, const char *dev)
{
    if (old_fd < 0)
        return;
    if (bpf_xdp_attach(ifindex, old_fd, XDP_FLAGS_DRV_MODE, NULL))
        fprintf(stderr, "dse-pktgen: rx: dev=%s: cannot put back its XDP program: %s\n", dev,
                strerror(errno));
    close(old_fd);
}

static int
rx_main(struct pktgen_opts *o)
{
    int ifindex = (int)if_nametoindex(o->dev);
    if (!ifindex)
        return fail_runtime("rx: no interface '%s' in this network namespace", o->dev);
    struct bpf_object *obj = obj_load(pktgen_rx_bpf_obj, pktgen_rx_bpf_obj_len, "rx");
    if (!obj)
        return EXIT_FAILED;
    int ret = EXIT_FAILED;
    struct rx_state rx = {.streams_fd = bpf_object__find_map_fd_by_name(obj, "streams")};
    int misc_fd = bpf_object__find_map_fd_by_name(obj, "rx_misc");
    struct bpf_program *prog = bpf_object__find_program_by_name(obj, "pktgen_rx");
    rx.stats = calloc(PKTGEN_MAX_STREAMS, sizeof *rx.stats);
    uint64_t *hist = calloc(PKTGEN_N_BUCKETS, sizeof *hist);
    if (!rx.stats || !hist) {
        fail_runtime("rx: out of memory");
        goto out_free;
    }
    if (!prog || rx.streams_fd < 0 || misc_fd < 0) {
        fail_runtime("rx: the program lacks its maps");
        goto out_free;
    }

    signals_install();
    int old_fd;
    int link_fd = rx_attach(bpf_program__fd(prog), ifindex, &old_fd);
    if (link_fd < 0) {
        rx_restore(ifindex, old_fd, o->dev);
        fail_runtime("rx: dev=%s: cannot attach XDP in driver mode: %s", o->dev,
                     strerror(-link_fd));
        goto out_free;
    }
    fprintf(stderr, "dse-pktgen: rx: listening on %s\n", o->dev);

    uint64_t start = now_ns(), last_change = start, prev = 0;
    uint64_t dur_ns = (uint64_t)(o->duration_s * 1e9);
    bool started = false;
    int n = 0;
    while (!stop_requested) {
        struct timespec ts = {.tv_nsec = RX_POLL_MS * 1000000L};
        nanosleep(&ts, NULL);
        n = rx_read(o, &rx);
        uint64_t t = now_ns(), pk = rx_packets(rx.stats, n);
        if (pk != prev) {
            prev = pk;
            last_change = t;
            started = true;
        }
        if (dur_ns && t - start >= dur_ns)
            break;
        if (started && o->idle_ms && t - last_change >= o->idle_ms * 1000000ULL)
            break;
    }
    n = rx_read(o, &rx);
    __u32 k0 = 0;
    struct pktgen_rx_misc misc = {0};
    bpf_map_lookup_elem(misc_fd, &k0, &misc);
    close(link_fd);
    rx_restore(ifindex, old_fd, o->dev);

    struct pktgen_rx_summary s;
    pktgen_rx_summarize(rx.stats, (size_t)n, hist, &s);
    pktgen_rx_print(o, &s, misc.untracked);
    ret = EXIT_OK;
out_free:
    free(hist);
    free(rx.stats);
    bpf_object__close(obj);
    return ret;
}

/* ---- --udp -------------------------------------------------------------- */

static int
udp_tx_main(const struct pktgen_opts *o)
{
    int fd = pktgen_udp_tx_open(o);
    if (fd < 0)
        return fail_runtime("tx: udp %s: cannot connect: %s", o->udp, strerror(-fd));
    struct pktgen_udp_tx_result r;
    int rc = pktgen_udp_tx_run(fd, o, &stop_requested, &r);
    close(fd);
    if (rc < 0)
        return fail_runtime("tx: udp %s: send failed after %llu datagrams: %s", o->udp,
                            (unsigned long long)r.sent, strerror(-rc));
    struct pktgen_tx_report rep = {.generator = "udp",
                                   .sent = r.sent,
                                   .secs = (double)r.elapsed_ns / 1e9,
                                   .interrupted = stop_requested,
                                   .pinned = -1,
                                   .send_errors = r.send_errors};
    pktgen_tx_print(o, &rep);
    return EXIT_OK;
}

static int
udp_rx_main(const struct pktgen_opts *o)
{
    int fd = pktgen_udp_rx_open(o);
    if (fd < 0)
        return fail_runtime("rx: udp port %s: cannot bind: %s", o->udp, strerror(-fd));
    int ret = EXIT_FAILED;
    struct pktgen_rx_table t = {.stats = calloc(PKTGEN_MAX_STREAMS, sizeof *t.stats)};
    uint64_t *hist = calloc(PKTGEN_N_BUCKETS, sizeof *hist);
    if (!t.stats || !hist) {
        fail_runtime("rx: out of memory");
        goto out;
    }
    fprintf(stderr, "dse-pktgen: rx: listening on udp port %s\n", o->udp);
    int rc = pktgen_udp_rx_run(fd, o, &stop_requested, &t);
    if (rc < 0) {
        fail_runtime("rx: udp port %s: cannot receive: %s", o->udp, strerror(-rc));
        goto out;
    }
    const struct pktgen_stream_stats *first;
    size_t n = pktgen_rx_select(&t, o, &first);
    struct pktgen_rx_summary s;
    pktgen_rx_summarize(first, n, hist, &s);
    pktgen_rx_print(o, &s, t.untracked);
    ret = EXIT_OK;
out:
    free(hist);
    free(t.stats);
    close(fd);
    return ret;
}

/* ---- fwd ---------------------------------------------------------------- */

extern const unsigned char pktgen_fwd_bpf_obj[];
extern const size_t pktgen_fwd_bpf_obj_len;

/* dse-pktgen fwd --in IF --out IF: redirect everything arriving on IF to the
 * other in XDP until SIGINT/SIGTERM (then put back what was on IF). */
static int
fwd_main(int argc, char **argv)
{
    const char *in = NULL, *out = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--in"))
            in = argv[i + 1];
        else if (!strcmp(argv[i], "--out"))
            out = argv[i + 1];
        else
            in = out = NULL, i = argc;
    }
    if (!in || !out || argc % 2 == 0) {
        fprintf(stderr, "dse-pktgen: fwd needs --in IF --out IF (try 'dse-pktgen help')\n");
        return EXIT_USAGE;
    }
    int in_ifindex = (int)if_nametoindex(in), out_ifindex = (int)if_nametoindex(out);
    if (!in_ifindex || !out_ifindex)
        return fail_runtime("fwd: no interface %s", in_ifindex ? out : in);
    struct bpf_object *obj = obj_load(pktgen_fwd_bpf_obj, pktgen_fwd_bpf_obj_len, "fwd");
    if (!obj)
        return EXIT_FAILED;
    __u32 k = 0, v = (__u32)out_ifindex;
    int old_fd = -1, ret = EXIT_FAILED;
    if (bpf_map_update_elem(bpf_object__find_map_fd_by_name(obj, "out"), &k, &v, BPF_ANY)) {
        fail_runtime("fwd: %s cannot be an XDP egress: %s", out, strerror(errno));
        goto done;
    }
    signals_install();
    /* Replace what is on IF in place, never detach first: taking the last
     * program off a veth without GRO tears down its NAPI context, and the
     * threaded NAPI kthread that comes back is a new one, outside the cgroup
     * and off the core the lab put the old one on. */
    __u32 old_id = 0;
    if (!bpf_xdp_query_id(in_ifindex, XDP_FLAGS_DRV_MODE, &old_id) && old_id)
        old_fd = bpf_prog_get_fd_by_id(old_id);
    int prog_fd = bpf_program__fd(bpf_object__find_program_by_name(obj, "fwd"));
    if (bpf_xdp_attach(in_ifindex, prog_fd, XDP_FLAGS_DRV_MODE, NULL)) {
        fail_runtime("fwd: cannot attach to %s: %s", in, strerror(errno));
        goto done;
    }
    printf("dse-pktgen: fwd %s -> %s in XDP until SIGINT/SIGTERM\n", in, out);
    fflush(stdout);
    while (!stop_requested)
        pause();
    if (old_fd >= 0 ? bpf_xdp_attach(in_ifindex, old_fd, XDP_FLAGS_DRV_MODE, NULL)
                    : bpf_xdp_detach(in_ifindex, XDP_FLAGS_DRV_MODE, NULL))
        fprintf(stderr, "dse-pktgen: fwd: dev=%s: cannot put back its XDP program: %s\n", in,
                strerror(errno));
    ret = EXIT_OK;
done:
    if (old_fd >= 0)
        close(old_fd);
    bpf_object__close(obj);
    return ret;
}

int
main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "help") || !strcmp(argv[1], "-h") ||
        !strcmp(argv[1], "--help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    if (!strcmp(argv[1], "fwd")) {
        libbpf_set_print(libbpf_print);
        return fwd_main(argc - 1, argv + 1);
    }
    struct pktgen_opts o;
    char err[256];
    if (!pktgen_parse_args(argc - 1, argv + 1, &o, err, sizeof err)) {
        fprintf(stderr, "dse-pktgen: %s (try 'dse-pktgen help')\n", err);
        return EXIT_USAGE;
    }
    if (o.udp) {
        signals_install();
        return o.mode == PKTGEN_TX ? udp_tx_main(&o) : udp_rx_main(&o);
    }
    if (o.vhost_user) {
        signals_install();
        return o.mode == PKTGEN_TX ? pktgen_vhost_tx(&o, &stop_requested)
                                   : pktgen_vhost_rx(&o, &stop_requested);
    }
    libbpf_set_print(libbpf_print);
    return o.mode == PKTGEN_TX ? tx_main(&o) : rx_main(&o);
}
