/* SPDX-License-Identifier: Apache-2.0 */
/* pktgen: argument parsing, template frame and its stamping, the userspace
 * sink's counting, histogram percentiles, reports (pktgen.h). */
#include "tools/pktgen/pktgen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

#define PKTGEN_HDR_LEN ((unsigned)sizeof(struct pktgen_hdr))

static void
put_be16(uint8_t *p, uint16_t v)
{
    p[0] = v >> 8;
    p[1] = v & 0xff;
}

unsigned
pktgen_min_size(bool has_vlan)
{
    return PKTGEN_ETH_LEN + (has_vlan ? PKTGEN_VLAN_LEN : 0) + PKTGEN_IP_LEN + PKTGEN_UDP_LEN +
           PKTGEN_HDR_LEN;
}

unsigned
pktgen_udp_overhead(int family)
{
    return PKTGEN_ETH_LEN + (family == AF_INET6 ? PKTGEN_IP6_LEN : PKTGEN_IP_LEN) + PKTGEN_UDP_LEN;
}

unsigned
pktgen_l4_off(const struct pktgen_opts *o)
{
    return PKTGEN_ETH_LEN + (o->vlan >= 0 ? PKTGEN_VLAN_LEN : 0) + PKTGEN_IP_LEN;
}

static bool
fail(char *err, size_t err_len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
    return false;
}

static bool
parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    if (!*s || *s == '-' || *s == '+' || *s == ' ')
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return false;
    *out = v;
    return true;
}

static bool
parse_seconds(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v > 0) || v > 86400 * 365)
        return false;
    *out = v;
    return true;
}

/* Parses tx --udp's "A.B.C.D:PORT" or "[IPv6]:PORT" into 'o->udp_dst'. */
static bool
parse_udp_dst(const char *v, struct pktgen_opts *o, char *err, size_t err_len)
{
    const char *addr = v, *port_s;
    size_t addr_len;
    bool is_v6 = v[0] == '[';
    if (is_v6) {
        const char *close = strchr(v, ']');
        if (!close || close[1] != ':')
            return fail(err, err_len, "--udp '%s': not [IPv6]:PORT", v);
        addr = v + 1;
        addr_len = (size_t)(close - addr);
        port_s = close + 2;
    } else {
        const char *colon = strrchr(v, ':');
        if (!colon)
            return fail(err, err_len, "--udp '%s': not ADDR:PORT (A.B.C.D:PORT or [IPv6]:PORT)", v);
        addr_len = (size_t)(colon - v);
        if (memchr(v, ':', addr_len))
            return fail(err, err_len, "--udp '%s': an IPv6 address is written [ADDR]:PORT", v);
        port_s = colon + 1;
    }
    uint64_t port;
    if (!parse_u64(port_s, 1, 65535, &port))
        return fail(err, err_len, "--udp '%s': port '%s' is not in 1..65535", v, port_s);
    char buf[INET6_ADDRSTRLEN];
    if (!addr_len)
        return fail(err, err_len, "--udp '%s': no address before the port", v);
    if (addr_len >= sizeof buf)
        return fail(err, err_len, "--udp '%s': the address is too long", v);
    memcpy(buf, addr, addr_len);
    buf[addr_len] = '\0';

    memset(&o->udp_dst, 0, sizeof o->udp_dst);
    if (is_v6) {
        struct sockaddr_in6 *a = &o->udp_dst.in6;
        if (inet_pton(AF_INET6, buf, &a->sin6_addr) != 1)
            return fail(err, err_len, "--udp '%s': '%s' is not an IPv6 address", v, buf);
        if (IN6_IS_ADDR_UNSPECIFIED(&a->sin6_addr))
            return fail(err, err_len, "--udp '%s': '%s' is no destination", v, buf);
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
    } else {
        struct sockaddr_in *a = &o->udp_dst.in;
        if (inet_pton(AF_INET, buf, &a->sin_addr) != 1)
            return fail(err, err_len, "--udp '%s': '%s' is not an IPv4 address", v, buf);
        if (a->sin_addr.s_addr == htonl(INADDR_ANY))
            return fail(err, err_len, "--udp '%s': '%s' is no destination", v, buf);
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port);
    }
    return true;
}

/* Options: name, which modes take it, whether it takes a value.  IN_UDP: it
 * also goes with --udp (the others shape headers that the kernel writes). */
enum { IN_TX = 1U << 0, IN_RX = 1U << 1, IN_UDP = 1U << 2 };
static const struct {
    const char *name;
    unsigned modes;
    bool has_arg;
} options[] = {
    {"--dev", IN_TX | IN_RX, true},
    {"--vhost-user", IN_TX | IN_RX, true},
    {"--udp", IN_TX | IN_RX | IN_UDP, true},
    {"--announce", IN_RX, true},
    {"--dst-mac", IN_TX, true},
    {"--src-mac", IN_TX, true},
    {"--vlan", IN_TX, true},
    {"--size", IN_TX | IN_UDP, true},
    {"--rate", IN_TX | IN_UDP, true},
    {"--duration", IN_TX | IN_RX | IN_UDP, true},
    {"--count", IN_TX | IN_UDP, true},
    {"--flows", IN_TX, true},
    {"--src-macs", IN_TX, true},
    {"--src-ip", IN_TX, true},
    {"--dst-ip", IN_TX, true},
    {"--stream", IN_TX | IN_RX | IN_UDP, true},
    {"--idle-ms", IN_RX | IN_UDP, true},
    {"-j", IN_TX | IN_RX | IN_UDP, false},
    {"--json", IN_TX | IN_RX | IN_UDP, false},
    {"--generator", IN_TX, true},
    {"--tcp", IN_TX, false},
};

static const char *const generator_names[] = {
    [PKTGEN_GEN_AUTO] = "auto",
    [PKTGEN_GEN_XDP_LIVE] = "xdp-live",
    [PKTGEN_GEN_AFXDP] = "afxdp",
    [PKTGEN_GEN_AFPACKET] = "afpacket",
};

const char *
pktgen_generator_name(enum pktgen_generator g)
{
    return (unsigned)g < ARRAY_SIZE(generator_names) ? generator_names[g] : "?";
}

static bool
parse_generator(const char *v, struct pktgen_opts *o, char *err, size_t err_len)
{
    for (unsigned g = 0; g < ARRAY_SIZE(generator_names); g++)
        if (!strcmp(v, generator_names[g])) {
            o->generator = (enum pktgen_generator)g;
            return true;
        }
    return fail(err, err_len, "--generator '%s': not auto, xdp-live, afxdp or afpacket", v);
}

/* The option groups below return 1 when they took 'name' (its value good),
 * 0 after writing why it is bad into 'err', -1 when 'name' is not theirs. */

/* What to send to or receive from: an interface, a vhost-user device, UDP. */
static int
parse_target(struct pktgen_opts *o, const char *name, const char *v, char *err, size_t err_len)
{
    uint64_t n;
    if (!strcmp(name, "--dev")) {
        if (!*v || strlen(v) >= 16 || strchr(v, '/'))
            return fail(err, err_len, "--dev '%s': not an interface name", v);
        o->dev = v;
    } else if (!strcmp(name, "--vhost-user")) {
        if (!*v || strlen(v) >= 108) /* sun_path */
            return fail(err, err_len, "--vhost-user '%s': not a Unix socket path", v);
        o->vhost_user = v;
    } else if (!strcmp(name, "--udp")) {
        o->udp = v;
        if (o->mode == PKTGEN_TX)
            return parse_udp_dst(v, o, err, err_len);
        if (!parse_u64(v, 1, 65535, &n))
            return fail(err, err_len, "--udp '%s': not a UDP port (1..65535)", v);
        o->udp_port = (uint16_t)n;
    } else if (!strcmp(name, "--announce")) {
        if (!mac_parse(v, o->announce_mac))
            return fail(err, err_len, "--announce '%s': not a MAC address", v);
        o->has_announce = true;
    } else {
        return -1;
    }
    return 1;
}

/* The frame's addresses and headers. */
static int
parse_addresses(struct pktgen_opts *o, const char *name, const char *v, bool *has_dst, char *err,
                size_t err_len)
{
    uint64_t n;
    struct in_addr a;
    if (!strcmp(name, "--dst-mac")) {
        if (!mac_parse(v, o->dst_mac))
            return fail(err, err_len, "--dst-mac '%s': not a MAC address", v);
        *has_dst = true;
    } else if (!strcmp(name, "--src-mac")) {
        if (!mac_parse(v, o->src_mac))
            return fail(err, err_len, "--src-mac '%s': not a MAC address", v);
        o->has_src_mac = true;
    } else if (!strcmp(name, "--vlan")) {
        if (!parse_u64(v, 0, 4095, &n))
            return fail(err, err_len, "--vlan '%s': not a VLAN id (0..4095)", v);
        o->vlan = (int)n;
    } else if (!strcmp(name, "--src-ip") || !strcmp(name, "--dst-ip")) {
        if (inet_pton(AF_INET, v, &a) != 1)
            return fail(err, err_len, "%s '%s': not an IPv4 address", name, v);
        *(name[2] == 's' ? &o->src_ip_be : &o->dst_ip_be) = a.s_addr;
    } else {
        return -1;
    }
    return 1;
}

/* How many frames, of what size, over how many flows and streams. */
static int
parse_frames(struct pktgen_opts *o, const char *name, const char *v, bool *has_size, char *err,
             size_t err_len)
{
    uint64_t n;
    if (!strcmp(name, "--size")) {
        if (!parse_u64(v, 60, PKTGEN_MAX_SIZE, &n))
            return fail(err, err_len, "--size '%s': not a frame size (60..%d)", v, PKTGEN_MAX_SIZE);
        o->size = (unsigned)n;
        *has_size = true;
    } else if (!strcmp(name, "--count")) {
        if (!parse_u64(v, 1, 1000000000000ULL, &o->count))
            return fail(err, err_len, "--count '%s': not a packet count (>= 1)", v);
    } else if (!strcmp(name, "--flows")) {
        if (!parse_u64(v, 1, PKTGEN_MAX_FLOWS, &n))
            return fail(err, err_len, "--flows '%s': not a flow count (1..%d)", v,
                        PKTGEN_MAX_FLOWS);
        o->n_flows = (unsigned)n;
    } else if (!strcmp(name, "--src-macs")) {
        if (!parse_u64(v, 1, PKTGEN_MAX_MACS, &n))
            return fail(err, err_len, "--src-macs '%s': not a MAC count (1..%d)", v,
                        PKTGEN_MAX_MACS);
        o->n_macs = (unsigned)n;
    } else if (!strcmp(name, "--stream")) {
        if (!parse_u64(v, 0, UINT32_MAX, &n))
            return fail(err, err_len, "--stream '%s': not a stream id (0..%u)", v, UINT32_MAX);
        o->stream = (uint32_t)n;
        o->has_stream = true;
    } else {
        return -1;
    }
    return 1;
}

/* When and how fast: rate, duration, the generator, the sink's patience. */
static int
parse_pacing(struct pktgen_opts *o, const char *name, const char *v, char *err, size_t err_len)
{
    uint64_t n;
    if (!strcmp(name, "--rate")) {
        if (!strcmp(v, "max"))
            o->rate_pps = 0;
        else if (!parse_u64(v, 1, 100000000, &n))
            return fail(err, err_len, "--rate '%s': not a rate (1..100000000 or max)", v);
        else
            o->rate_pps = n;
    } else if (!strcmp(name, "--duration")) {
        if (!parse_seconds(v, &o->duration_s))
            return fail(err, err_len, "--duration '%s': not a number of seconds > 0", v);
    } else if (!strcmp(name, "--generator")) {
        return parse_generator(v, o, err, err_len);
    } else if (!strcmp(name, "--idle-ms")) {
        if (!parse_u64(v, 0, 3600000, &n))
            return fail(err, err_len, "--idle-ms '%s': not a time in ms", v);
        o->idle_ms = (unsigned)n;
    } else {
        return -1;
    }
    return 1;
}

static bool
parse_one(struct pktgen_opts *o, const char *name, const char *v, bool *has_dst, bool *has_size,
          char *err, size_t err_len)
{
    int r = parse_target(o, name, v, err, err_len);
    if (r < 0)
        r = parse_addresses(o, name, v, has_dst, err, err_len);
    if (r < 0)
        r = parse_frames(o, name, v, has_size, err, err_len);
    if (r < 0)
        r = parse_pacing(o, name, v, err, err_len);
    if (r < 0 && !strcmp(name, "--tcp"))
        o->tcp = true;
    else if (r < 0)
        o->json = true; /* -j, --json: the caller knows every other name */
    return r != 0;
}

static bool
tx_duration_default(struct pktgen_opts *o, char *err, size_t err_len)
{
    if (o->duration_s > 0 && o->count)
        return fail(err, err_len, "tx: give --duration or --count, not both");
    if (!o->duration_s && !o->count)
        o->duration_s = PKTGEN_DEFAULT_DURATION_S;
    return true;
}

/* tx --udp: the frame on the wire is --size bytes, its payload what is left
 * after the headers; it must hold the pktgen header. */
static bool
tx_udp_finish(struct pktgen_opts *o, bool has_size, char *err, size_t err_len)
{
    if (!tx_duration_default(o, err, err_len))
        return false;
    int family = o->udp_dst.in.sin_family;
    unsigned min = pktgen_udp_overhead(family) + PKTGEN_HDR_LEN;
    if (!has_size)
        o->size = min;
    else if (o->size < min)
        return fail(err, err_len,
                    "--size %u: datagrams carrying the pktgen header make frames of at "
                    "least %u bytes over %s",
                    o->size, min, family == AF_INET6 ? "IPv6" : "IPv4");
    return true;
}

bool
pktgen_parse_args(int argc, char **argv, struct pktgen_opts *o, char *err, size_t err_len)
{
    memset(o, 0, sizeof *o);
    o->vlan = -1;
    o->n_flows = 1;
    o->n_macs = 1;
    o->idle_ms = PKTGEN_DEFAULT_IDLE_MS;
    o->src_ip_be = htonl(0xc6120001); /* 198.18.0.1, RFC 2544 benchmarking */
    o->dst_ip_be = htonl(0xc6120002);
    if (argc < 1 || !argv[0])
        return fail(err, err_len, "missing mode (tx or rx)");
    if (!strcmp(argv[0], "tx"))
        o->mode = PKTGEN_TX;
    else if (!strcmp(argv[0], "rx"))
        o->mode = PKTGEN_RX;
    else
        return fail(err, err_len, "unknown mode '%s' (tx or rx)", argv[0]);
    unsigned mode_bit = o->mode == PKTGEN_TX ? IN_TX : IN_RX;

    bool has_dst = false, has_size = false;
    const char *not_udp = NULL; /* the first option given that --udp refuses */
    for (int i = 1; i < argc; i++) {
        size_t k;
        for (k = 0; k < ARRAY_SIZE(options); k++)
            if (!strcmp(argv[i], options[k].name))
                break;
        if (k == ARRAY_SIZE(options) || !(options[k].modes & mode_bit))
            return fail(err, err_len, "%s: unknown option '%s'", argv[0], argv[i]);
        const char *v = NULL;
        if (options[k].has_arg) {
            if (i + 1 >= argc)
                return fail(err, err_len, "%s needs a value", argv[i]);
            v = argv[++i];
        }
        if (!(options[k].modes & IN_UDP) && !not_udp)
            not_udp = options[k].name;
        if (!parse_one(o, options[k].name, v, &has_dst, &has_size, err, err_len))
            return false;
    }
    if (o->dev && o->vhost_user)
        return fail(err, err_len, "%s: give --dev or --vhost-user, not both", argv[0]);
    if (o->udp && (o->dev || o->vhost_user))
        return fail(err, err_len, "%s: give --udp or %s, not both", argv[0],
                    o->dev ? "--dev" : "--vhost-user");
    if (!o->dev && !o->vhost_user && !o->udp)
        return fail(err, err_len, "%s: --dev, --vhost-user or --udp is required", argv[0]);
    if (o->has_announce && !o->vhost_user)
        return fail(err, err_len, "rx: --announce goes with --vhost-user");
    if (o->udp && not_udp)
        return fail(err, err_len, "%s: %s does not go with --udp", argv[0], not_udp);
    if (o->vhost_user && o->generator != PKTGEN_GEN_AUTO)
        return fail(err, err_len, "tx: --generator goes with --dev");
    if (o->mode == PKTGEN_RX)
        return true;
    if (o->udp)
        return tx_udp_finish(o, has_size, err, err_len);
    if (o->vhost_user && !o->has_src_mac) {
        mac_parse(PKTGEN_VHOST_SRC_MAC, o->src_mac);
        o->has_src_mac = true;
    }

    if (!has_dst)
        return fail(err, err_len, "tx: --dst-mac is required");
    if (!tx_duration_default(o, err, err_len))
        return false;
    unsigned min = pktgen_min_size(o->vlan >= 0) + (o->tcp ? PKTGEN_TCP_LEN - PKTGEN_UDP_LEN : 0);
    if (o->tcp && !o->dev)
        return fail(err, err_len, "tx: --tcp: with --dev only");
    if (!has_size)
        o->size = min;
    else if (o->size < min)
        return fail(err, err_len,
                    "--size %u: frames carrying the pktgen header need at least %u bytes%s",
                    o->size, min, o->vlan >= 0 ? " with --vlan" : "");
    return true;
}

uint64_t
pktgen_tx_target(const struct pktgen_opts *o)
{
    if (!o->rate_pps || !(o->duration_s > 0))
        return o->count;
    uint64_t n = (uint64_t)((double)o->rate_pps * o->duration_s + 0.5);
    return n ? n : 1;
}

unsigned
pktgen_rarp_build(const uint8_t mac[static 6], uint8_t *buf)
{
    memset(buf, 0, 60);
    memset(buf, 0xff, 6);
    memcpy(buf + 6, mac, 6);
    put_be16(buf + 12, 0x8035);
    uint8_t *a = buf + PKTGEN_ETH_LEN;
    put_be16(a, 1);          /* Ethernet */
    put_be16(a + 2, 0x0800); /* IPv4 */
    a[4] = 6;
    a[5] = 4;
    put_be16(a + 6, 3); /* reverse request */
    memcpy(a + 8, mac, 6);
    memcpy(a + 18, mac, 6);
    return 60;
}

const char *
pktgen_target(const struct pktgen_opts *o)
{
    return o->dev ? o->dev : o->vhost_user ? o->vhost_user : o->udp ? o->udp : "?";
}

uint16_t
pktgen_csum(const void *data, size_t len, uint32_t sum)
{
    const uint8_t *p = data;
    uint64_t s = sum;
    for (; len > 1; p += 2, len -= 2)
        s += (uint32_t)p[0] << 8 | p[1];
    if (len)
        s += (uint32_t)p[0] << 8;
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

static uint16_t
get_be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

/* The checksum of the 'len' bytes of L4 at 'l4' of protocol 'proto' under
 * IPv4 header 'ip' (RFC 768, RFC 793: with the pseudo-header), its own
 * field counted as it is (zero it first). */
static uint16_t
l4_csum(const uint8_t *ip, const uint8_t *l4, uint16_t len, uint8_t proto)
{
    uint32_t sum = 0;
    for (int i = 12; i < 20; i += 2)
        sum += (uint32_t)ip[i] << 8 | ip[i + 1];
    sum += proto + len;
    return pktgen_csum(l4, len, sum);
}

/* The L4 header at 'l4' ('len' bytes of segment or datagram): UDP, or with
 * --tcp an ACK of one connection (sequence 1, acknowledging 1, window
 * 65535); the pktgen header after it; the checksum. */
static void
l4_build(const struct pktgen_opts *o, const uint8_t *ip, uint8_t *l4, uint16_t len)
{
    struct pktgen_hdr h = {.magic = htonl(PKTGEN_MAGIC), .stream = htonl(o->stream)};
    put_be16(l4, PKTGEN_SPORT_BASE);
    put_be16(l4 + 2, PKTGEN_DPORT);
    if (o->tcp) {
        l4[7] = 1;  /* seq */
        l4[11] = 1; /* ack */
        l4[12] = (PKTGEN_TCP_LEN / 4) << 4;
        l4[13] = 0x10; /* ACK */
        put_be16(l4 + 14, 65535);
        memcpy(l4 + PKTGEN_TCP_LEN, &h, sizeof h);
        put_be16(l4 + 16, l4_csum(ip, l4, len, 6));
        return;
    }
    put_be16(l4 + 4, len);
    memcpy(l4 + PKTGEN_UDP_LEN, &h, sizeof h);
    uint16_t c = l4_csum(ip, l4, len, 17);
    put_be16(l4 + 6, c ? c : 0xffff);
}

size_t
pktgen_frame_build(const struct pktgen_opts *o, uint8_t *buf, size_t buf_len)
{
    bool has_vlan = o->vlan >= 0;
    unsigned min = pktgen_min_size(has_vlan) + (o->tcp ? PKTGEN_TCP_LEN - PKTGEN_UDP_LEN : 0);
    if (o->size < min || o->size > buf_len)
        return 0;
    memset(buf, 0, o->size);

    uint8_t *p = buf;
    memcpy(p, o->dst_mac, 6);
    memcpy(p + 6, o->src_mac, 6);
    p += 12;
    if (has_vlan) {
        put_be16(p, 0x8100);
        put_be16(p + 2, (uint16_t)o->vlan);
        p += 4;
    }
    put_be16(p, 0x0800);
    p += 2;

    uint8_t *ip = p;
    uint16_t ip_len = (uint16_t)(o->size - (ip - buf));
    ip[0] = 0x45;
    put_be16(ip + 2, ip_len);
    put_be16(ip + 6, 0x4000); /* DF */
    ip[8] = 64;
    ip[9] = o->tcp ? 6 : 17;
    memcpy(ip + 12, &o->src_ip_be, 4);
    memcpy(ip + 16, &o->dst_ip_be, 4);
    put_be16(ip + 10, pktgen_csum(ip, PKTGEN_IP_LEN, 0));
    l4_build(o, ip, ip + PKTGEN_IP_LEN, ip_len - PKTGEN_IP_LEN);
    return o->size;
}

void
pktgen_tx_cfg_init(const struct pktgen_opts *o, struct pktgen_tx_cfg *cfg)
{
    *cfg = (struct pktgen_tx_cfg){
        .stream = o->stream,
        .n_flows = o->n_flows,
        .sport_base = PKTGEN_SPORT_BASE,
        .l4_off = (uint16_t)pktgen_l4_off(o),
        .n_macs = o->n_macs,
        .mac_low = (uint32_t)o->src_mac[3] << 16 | (uint32_t)o->src_mac[4] << 8 | o->src_mac[5],
        .tcp = o->tcp,
    };
}

static void
put_be32(uint8_t *p, uint32_t v)
{
    put_be16(p, (uint16_t)(v >> 16));
    put_be16(p + 2, (uint16_t)v);
}

static void
put_be64(uint8_t *p, uint64_t v)
{
    put_be32(p, (uint32_t)(v >> 32));
    put_be32(p + 4, (uint32_t)v);
}

void
pktgen_frame_stamp(const struct pktgen_tx_cfg *cfg, uint8_t *frame, uint64_t seq, uint64_t now_ns)
{
    uint8_t *l4 = frame + cfg->l4_off;
    uint32_t n_flows = cfg->n_flows ? cfg->n_flows : 1;
    put_be16(l4, (uint16_t)(cfg->sport_base + seq % n_flows));
    if (cfg->n_macs > 1) {
        uint32_t low = cfg->mac_low + (uint32_t)(seq % cfg->n_macs);
        frame[9] = (uint8_t)(low >> 16);
        frame[10] = (uint8_t)(low >> 8);
        frame[11] = (uint8_t)low;
    }
    if (!cfg->tcp) {
        put_be16(l4 + 6, 0); /* UDP: no checksum */
        pktgen_hdr_stamp((struct pktgen_hdr *)(l4 + PKTGEN_UDP_LEN), cfg->stream, seq, now_ns);
        return;
    }
    /* TCP has no "none": the checksum again, over the IPv4 header's segment. */
    const uint8_t *ip = l4 - PKTGEN_IP_LEN;
    uint16_t len = (uint16_t)(get_be16(ip + 2) - PKTGEN_IP_LEN);
    pktgen_hdr_stamp((struct pktgen_hdr *)(l4 + PKTGEN_TCP_LEN), cfg->stream, seq, now_ns);
    put_be16(l4 + 16, 0);
    put_be16(l4 + 16, l4_csum(ip, l4, len, 6));
}

void
pktgen_hdr_stamp(struct pktgen_hdr *hdr, uint32_t stream, uint64_t seq, uint64_t now_ns)
{
    uint8_t *h = (uint8_t *)hdr;
    put_be32(h + offsetof(struct pktgen_hdr, magic), PKTGEN_MAGIC);
    put_be32(h + offsetof(struct pktgen_hdr, stream), stream);
    put_be64(h + offsetof(struct pktgen_hdr, seq), seq);
    put_be64(h + offsetof(struct pktgen_hdr, tx_ns), now_ns);
}

double
pktgen_bucket_lo_us(uint32_t b)
{
    if (b < PKTGEN_LIN_US)
        return b;
    if (b >= PKTGEN_N_BUCKETS - 1)
        return (double)(1ULL << (PKTGEN_LOG_LAST + 1));
    uint32_t i = b - PKTGEN_LIN_US;
    uint32_t e = PKTGEN_LOG_FIRST + (i >> PKTGEN_SUB_BITS);
    uint32_t sub = i & ((1U << PKTGEN_SUB_BITS) - 1);
    return (double)(1ULL << e) + (double)sub * (double)(1ULL << (e - PKTGEN_SUB_BITS));
}

double
pktgen_bucket_hi_us(uint32_t b)
{
    if (b >= PKTGEN_N_BUCKETS - 1)
        return INFINITY;
    return pktgen_bucket_lo_us(b + 1);
}

double
pktgen_percentile_us(const uint64_t hist[PKTGEN_N_BUCKETS], double p, double max_us)
{
    uint64_t n = 0;
    for (uint32_t b = 0; b < PKTGEN_N_BUCKETS; b++)
        n += hist[b];
    if (!n)
        return 0;
    double want = p * (double)n;
    uint64_t rank = (uint64_t)want;
    if ((double)rank < want)
        rank++; /* ceil() without libm */
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    uint64_t seen = 0;
    for (uint32_t b = 0; b < PKTGEN_N_BUCKETS; b++) {
        seen += hist[b];
        if (seen >= rank)
            return MIN(pktgen_bucket_hi_us(b), max_us);
    }
    return max_us; /* not reached */
}

void
pktgen_rx_summarize(const struct pktgen_stream_stats *streams, size_t n, uint64_t *hist,
                    struct pktgen_rx_summary *s)
{
    memset(s, 0, sizeof *s);
    memset(hist, 0, PKTGEN_N_BUCKETS * sizeof *hist);
    uint64_t first = UINT64_MAX, last = 0, lat_max = 0, lat_sum = 0, gap_max = 0;
    for (size_t i = 0; i < n; i++) {
        const struct pktgen_stream_stats *st = &streams[i];
        if (!st->packets)
            continue;
        s->n_streams++;
        s->packets += st->packets;
        s->bytes += st->bytes;
        s->reordered += st->reordered;
        if (st->highest_seq + 1 > st->packets)
            s->lost += st->highest_seq + 1 - st->packets;
        first = MIN(first, st->first_ns);
        last = MAX(last, st->last_ns);
        lat_max = MAX(lat_max, st->lat_max_ns);
        lat_sum += st->lat_sum_ns;
        gap_max = MAX(gap_max, st->max_gap_ns);
        s->max_lost_run = MAX(s->max_lost_run, st->max_lost_run);
        for (uint32_t b = 0; b < PKTGEN_N_BUCKETS; b++)
            hist[b] += st->hist[b];
    }
    if (!s->packets)
        return;
    s->duration_s = last > first ? (double)(last - first) / 1e9 : 0;
    if (s->packets > 1 && s->duration_s > 0)
        s->pps = (double)(s->packets - 1) / s->duration_s;
    s->max_gap_us = (double)gap_max / 1e3;
    s->lat_max_us = (double)lat_max / 1e3;
    s->lat_avg_us = (double)lat_sum / 1e3 / (double)s->packets;
    s->lat_p50_us = pktgen_percentile_us(hist, 0.50, s->lat_max_us);
    s->lat_p99_us = pktgen_percentile_us(hist, 0.99, s->lat_max_us);
    s->lat_p999_us = pktgen_percentile_us(hist, 0.999, s->lat_max_us);
}

static uint64_t
get_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static struct pktgen_stream_stats *
stream_get(struct pktgen_rx_table *t, uint32_t id)
{
    if (t->last < t->n && t->ids[t->last] == id)
        return &t->stats[t->last];
    for (unsigned i = 0; i < t->n; i++)
        if (t->ids[i] == id) {
            t->last = i;
            return &t->stats[i];
        }
    if (t->n == PKTGEN_MAX_STREAMS)
        return NULL;
    t->ids[t->n] = id;
    memset(&t->stats[t->n], 0, sizeof t->stats[t->n]);
    t->last = t->n;
    return &t->stats[t->n++];
}

bool
pktgen_rx_count(struct pktgen_rx_table *t, const uint8_t *frame, size_t len, size_t frame_len,
                uint64_t now_ns)
{
    size_t l3 = PKTGEN_ETH_LEN;
    if (len < l3)
        return false;
    uint16_t proto = get_be16(frame + 12);
    if (proto == 0x8100) {
        if (len < l3 + PKTGEN_VLAN_LEN)
            return false;
        proto = get_be16(frame + 16);
        l3 += PKTGEN_VLAN_LEN;
    }
    if (proto != 0x0800 || len < l3 + PKTGEN_IP_LEN)
        return false;
    const uint8_t *ip = frame + l3;
    unsigned ihl = ip[0] & 0xf;
    if (ip[0] >> 4 != 4 || ihl < 5 || (ip[9] != 17 && ip[9] != 6) || (get_be16(ip + 6) & 0x3fff))
        return false;
    size_t h_off = l3 + ihl * 4 + PKTGEN_UDP_LEN;
    if (ip[9] == 6) { /* --tcp: after its header, whose length it says */
        if (len < l3 + ihl * 4 + PKTGEN_TCP_LEN)
            return false;
        h_off = l3 + ihl * 4 + (size_t)(ip[ihl * 4 + 12] >> 4) * 4;
    }
    if (len < h_off + PKTGEN_HDR_LEN)
        return false;
    return pktgen_rx_count_hdr(t, (const struct pktgen_hdr *)(frame + h_off), frame_len, now_ns);
}

bool
pktgen_rx_count_hdr(struct pktgen_rx_table *t, const struct pktgen_hdr *hdr, size_t frame_len,
                    uint64_t now_ns)
{
    const uint8_t *h = (const uint8_t *)hdr;
    if (get_be16(h) != PKTGEN_MAGIC >> 16 || get_be16(h + 2) != (PKTGEN_MAGIC & 0xffff))
        return false;

    uint32_t id = (uint32_t)get_be16(h + 4) << 16 | get_be16(h + 6);
    uint64_t seq = get_be64(h + offsetof(struct pktgen_hdr, seq));
    uint64_t tx_ns = get_be64(h + offsetof(struct pktgen_hdr, tx_ns));
    struct pktgen_stream_stats *s = stream_get(t, id);
    if (!s) {
        t->untracked++;
        return true;
    }
    /* As bpf/pktgen-rx.bpf.c: against the previous frame, before updating. */
    if (s->packets) {
        if (now_ns > s->last_ns && now_ns - s->last_ns > s->max_gap_ns)
            s->max_gap_ns = now_ns - s->last_ns;
        if (seq > s->highest_seq + 1 && seq - s->highest_seq - 1 > s->max_lost_run)
            s->max_lost_run = seq - s->highest_seq - 1;
    }
    if (!s->first_ns)
        s->first_ns = now_ns;
    if (now_ns > s->last_ns)
        s->last_ns = now_ns;
    if (s->packets && seq < s->highest_seq)
        s->reordered++;
    else
        s->highest_seq = seq;
    s->packets++;
    s->bytes += frame_len;
    uint64_t lat_ns = now_ns > tx_ns ? now_ns - tx_ns : 0;
    if (lat_ns > s->lat_max_ns)
        s->lat_max_ns = lat_ns;
    s->lat_sum_ns += lat_ns;
    s->hist[pktgen_lat_bucket(lat_ns / 1000)]++;
    return true;
}

size_t
pktgen_rx_select(const struct pktgen_rx_table *t, const struct pktgen_opts *o,
                 const struct pktgen_stream_stats **first)
{
    *first = t->stats;
    if (!o->has_stream)
        return t->n;
    for (unsigned i = 0; i < t->n; i++)
        if (t->ids[i] == o->stream) {
            *first = &t->stats[i];
            return 1;
        }
    return 0;
}

void
pktgen_rx_print(const struct pktgen_opts *o, const struct pktgen_rx_summary *s, uint64_t untracked)
{
    if (o->json) {
        printf("{\"rx_packets\": %llu, \"rx_bytes\": %llu, \"rx_pps\": %.0f, "
               "\"lost\": %llu, \"reordered\": %llu, \"max_lost_run\": %llu, "
               "\"max_gap_us\": %.1f, \"lat_p50_us\": %.1f, "
               "\"lat_p99_us\": %.1f, \"lat_p999_us\": %.1f, \"lat_max_us\": %.1f, "
               "\"lat_avg_us\": %.1f, \"duration_s\": %.6f, \"streams\": %u, "
               "\"untracked\": %llu}\n",
               (unsigned long long)s->packets, (unsigned long long)s->bytes, s->pps,
               (unsigned long long)s->lost, (unsigned long long)s->reordered,
               (unsigned long long)s->max_lost_run, s->max_gap_us, s->lat_p50_us, s->lat_p99_us,
               s->lat_p999_us, s->lat_max_us, s->lat_avg_us, s->duration_s, s->n_streams,
               (unsigned long long)untracked);
        return;
    }
    printf("received %llu packets (%llu bytes, %u streams) in %.3f s: %.0f pps\n",
           (unsigned long long)s->packets, (unsigned long long)s->bytes, s->n_streams,
           s->duration_s, s->pps);
    printf("lost %llu, reordered %llu\n", (unsigned long long)s->lost,
           (unsigned long long)s->reordered);
    printf("longest gap between frames %.1f us, longest run lost %llu frames\n", s->max_gap_us,
           (unsigned long long)s->max_lost_run);
    printf("latency us: p50 %.1f  p99 %.1f  p99.9 %.1f  max %.1f  avg %.1f\n", s->lat_p50_us,
           s->lat_p99_us, s->lat_p999_us, s->lat_max_us, s->lat_avg_us);
    if (untracked)
        printf("warning: %llu frames of streams beyond the first %d were not tracked\n",
               (unsigned long long)untracked, PKTGEN_MAX_STREAMS);
}

void
pktgen_tx_print(const struct pktgen_opts *o, const struct pktgen_tx_report *r)
{
    double pps = r->secs > 0 ? (double)r->sent / r->secs : 0;
    if (o->json) {
        printf("{\"tx_packets\": %llu, \"duration_s\": %.6f, \"tx_pps\": %.0f, "
               "\"size\": %u, \"flows\": %u, \"src_macs\": %u, \"stream\": %u, "
               "\"rate_pps\": %llu, \"generator\": \"%s\"",
               (unsigned long long)r->sent, r->secs, pps, o->size, o->n_flows, o->n_macs, o->stream,
               (unsigned long long)o->rate_pps, r->generator);
        if (r->pinned >= 0)
            printf(", \"pinned\": %s", r->pinned ? "true" : "false");
        if (o->udp)
            printf(", \"send_errors\": %llu", (unsigned long long)r->send_errors);
        printf("}\n");
        return;
    }
    if (o->udp) {
        printf("sent %llu packets of %u bytes in %.3f s: %.0f pps (udp %s, stream %u, "
               "%llu send errors%s)\n",
               (unsigned long long)r->sent, o->size, r->secs, pps, o->udp, o->stream,
               (unsigned long long)r->send_errors, r->interrupted ? ", interrupted" : "");
        return;
    }
    printf("sent %llu packets of %u bytes in %.3f s: %.0f pps (%s %s%s%s, stream %u, "
           "%u flows%s)\n",
           (unsigned long long)r->sent, o->size, r->secs, pps, o->dev ? "dev" : "vhost-user",
           pktgen_target(o), o->dev ? ", generator " : "", o->dev ? r->generator : "", o->stream,
           o->n_flows, r->interrupted ? ", interrupted" : "");
}
