/* SPDX-License-Identifier: Apache-2.0 */
/* pktgen-udp: `dse-pktgen tx|rx --udp`, the generator and the sink on UDP
 * sockets (pktgen-udp.h). */
#include "tools/pktgen/pktgen-udp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tools/pktgen/pktgen-tx.h"
#include "lib/util.h"

/* ---- tx ----------------------------------------------------------------- */

int
pktgen_udp_tx_open(const struct pktgen_opts *o)
{
    int family = o->udp_dst.in.sin_family;
    int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    socklen_t len = family == AF_INET6 ? sizeof o->udp_dst.in6 : sizeof o->udp_dst.in;
    if (connect(fd, (const struct sockaddr *)&o->udp_dst, len)) {
        int rc = -errno;
        close(fd);
        return rc;
    }
    return fd;
}

/* Refusals that the network causes, and that a failover brings: count, go on. */
static bool
is_network_error(int err)
{
    return err == ENOBUFS || err == EAGAIN || err == EWOULDBLOCK || err == ECONNREFUSED ||
           err == EHOSTUNREACH || err == ENETUNREACH || err == ENETDOWN || err == EHOSTDOWN;
}

int
pktgen_udp_tx_run(int fd, const struct pktgen_opts *o, volatile sig_atomic_t *stop,
                  struct pktgen_udp_tx_result *r)
{
    *r = (struct pktgen_udp_tx_result){0};
    /* Parsing made sure that the payload holds the header. */
    size_t len = o->size - pktgen_udp_overhead(o->udp_dst.in.sin_family);
    uint8_t buf[PKTGEN_MAX_SIZE] = {0};
    struct pktgen_hdr *h = (struct pktgen_hdr *)buf;
    uint64_t target = pktgen_tx_target(o), dur_ns = (uint64_t)(o->duration_s * 1e9);
    double ns_per_frame = o->rate_pps ? 1e9 / (double)o->rate_pps : 0;

    int rc = 0;
    uint64_t t0 = now_ns(), seq = 0;
    while (!*stop) {
        if (target ? seq >= target : now_ns() - t0 >= dur_ns)
            break;
        uint64_t now = now_ns();
        if (o->rate_pps) {
            uint64_t due = t0 + (uint64_t)((double)seq * ns_per_frame);
            if (due > now) {
                pktgen_sleep_until(due, stop);
                if (*stop)
                    break;
                now = now_ns();
            }
        }
        pktgen_hdr_stamp(h, o->stream, seq, now);
        if (send(fd, buf, len, 0) >= 0) {
            r->sent++;
        } else if (errno == EINTR) {
            continue; /* nothing went out: the same seq again, unless stopped */
        } else if (is_network_error(errno)) {
            r->send_errors++;
        } else {
            rc = -errno;
            break;
        }
        seq++;
    }
    /* --rate with --duration: the run lasts the whole duration. */
    if (o->rate_pps && target && !*stop && !rc)
        pktgen_sleep_until(t0 + (uint64_t)((double)target * ns_per_frame), stop);
    r->elapsed_ns = now_ns() - t0;
    return rc;
}

/* ---- rx ----------------------------------------------------------------- */

static int
bind_any(int family, uint16_t port)
{
    int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int off = 0, rcvbuf = PKTGEN_UDP_RCVBUF;
    /* Dual stack: IPv4 peers arrive as ::ffff:A.B.C.D. */
    if (family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off))
        goto fail;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf); /* best effort */
    union {
        struct sockaddr_in in;
        struct sockaddr_in6 in6;
    } a = {0};
    socklen_t len;
    if (family == AF_INET6) {
        a.in6.sin6_family = AF_INET6;
        a.in6.sin6_addr = in6addr_any;
        a.in6.sin6_port = htons(port);
        len = sizeof a.in6;
    } else {
        a.in.sin_family = AF_INET;
        a.in.sin_addr.s_addr = htonl(INADDR_ANY);
        a.in.sin_port = htons(port);
        len = sizeof a.in;
    }
    if (bind(fd, (const struct sockaddr *)&a, len))
        goto fail;
    return fd;
fail:;
    int rc = -errno;
    close(fd);
    return rc;
}

int
pktgen_udp_rx_open(const struct pktgen_opts *o)
{
    int fd = bind_any(AF_INET6, o->udp_port);
    if (fd == -EAFNOSUPPORT)
        fd = bind_any(AF_INET, o->udp_port);
    return fd;
}

int
pktgen_udp_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len))
        return -errno;
    if (ss.ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((const struct sockaddr_in *)&ss)->sin_port);
}

/* The frame that carried a datagram from 'peer': its headers on the wire. */
static unsigned
peer_overhead(const struct sockaddr_storage *peer)
{
    if (peer->ss_family == AF_INET6 &&
        !IN6_IS_ADDR_V4MAPPED(&((const struct sockaddr_in6 *)peer)->sin6_addr))
        return pktgen_udp_overhead(AF_INET6);
    return pktgen_udp_overhead(AF_INET);
}

struct rx_batch {
    struct mmsghdr msgs[PKTGEN_UDP_BATCH];
    struct iovec iovs[PKTGEN_UDP_BATCH];
    struct sockaddr_storage peers[PKTGEN_UDP_BATCH];
    uint8_t bufs[PKTGEN_UDP_BATCH][PKTGEN_UDP_BUF];
};

/* Reads one batch without waiting and counts it.  Returns the number of
 * pktgen datagrams (>= 0), -EAGAIN when there was nothing, or -errno. */
static int
rx_batch(int fd, struct rx_batch *b, struct pktgen_rx_table *t)
{
    for (unsigned i = 0; i < PKTGEN_UDP_BATCH; i++) {
        b->iovs[i] = (struct iovec){.iov_base = b->bufs[i], .iov_len = PKTGEN_UDP_BUF};
        b->msgs[i].msg_hdr = (struct msghdr){
            .msg_name = &b->peers[i],
            .msg_namelen = sizeof b->peers[i],
            .msg_iov = &b->iovs[i],
            .msg_iovlen = 1,
        };
    }
    int n = recvmmsg(fd, b->msgs, PKTGEN_UDP_BATCH, MSG_DONTWAIT, NULL);
    if (n < 0)
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    uint64_t now = now_ns();
    int counted = 0;
    for (int i = 0; i < n; i++) {
        size_t len = b->msgs[i].msg_len;
        if (len < sizeof(struct pktgen_hdr))
            continue;
        counted += pktgen_rx_count_hdr(t, (const struct pktgen_hdr *)b->bufs[i],
                                       len + peer_overhead(&b->peers[i]), now);
    }
    return counted;
}

int
pktgen_udp_rx_run(int fd, const struct pktgen_opts *o, volatile sig_atomic_t *stop,
                  struct pktgen_rx_table *t)
{
    struct rx_batch *b = malloc(sizeof *b);
    if (!b)
        return -ENOMEM;
    uint64_t start = now_ns(), last = 0;
    uint64_t dur_ns = (uint64_t)(o->duration_s * 1e9), idle_ns = o->idle_ms * 1000000ULL;
    bool started = false;
    int rc = 0;
    while (!*stop) {
        uint64_t now = now_ns();
        if (dur_ns && now - start >= dur_ns)
            break;
        int n = rx_batch(fd, b, t);
        if (n > 0) {
            last = now_ns();
            started = true;
        }
        if (n >= 0 || n == -EINTR)
            continue; /* a batch may have more behind it */
        if (n != -EAGAIN) {
            rc = n;
            break;
        }
        /* Nothing waiting: wait until the next deadline, at most POLL_MS. */
        uint64_t wait_ns = PKTGEN_UDP_POLL_MS * 1000000ULL;
        if (dur_ns)
            wait_ns = MIN(wait_ns, start + dur_ns - now);
        if (started && idle_ns) {
            if (now - last >= idle_ns)
                break;
            wait_ns = MIN(wait_ns, last + idle_ns - now);
        }
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int timeout_ms = (int)((wait_ns + 999999) / 1000000);
        if (poll(&pfd, 1, timeout_ms) < 0 && errno != EINTR) {
            rc = -errno;
            break;
        }
    }
    free(b);
    return rc;
}
