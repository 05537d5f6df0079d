/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pktgen-udp: dse-pktgen's generator and sink on UDP sockets, for
 * `tx|rx --udp`: measuring through a host's normal network stack (routing,
 * tc, netfilter, a VM's own interface), which the XDP generator's frames,
 * redirected below it, bypass.
 *
 * tx connects one UDP socket to the destination and sends datagrams whose
 * payload is the pktgen header (pktgen-abi.h: magic, stream, seq, tx_ns from
 * CLOCK_MONOTONIC) padded with zeros so that the frame on the wire has --size
 * bytes (Ethernet, IPv4 or IPv6, UDP, payload).  With --rate each datagram
 * has its due time t0 + seq / rate, waited for with absolute sleeps; late
 * ones go out at once and catch up, as the XDP generator's chunks do.  Every
 * datagram takes its seq whether or not the kernel accepts it: a send that
 * the network refuses (ENOBUFS, EAGAIN, ECONNREFUSED - an ICMP port
 * unreachable for an earlier datagram -, EHOSTUNREACH, ENETUNREACH, ENETDOWN,
 * EHOSTDOWN) counts as a send error and the run goes on, and the sink counts
 * that seq as lost.
 *
 * rx binds one socket to the port on every address ([::] dual-stack, or
 * 0.0.0.0 where the host has no IPv6), reads batches with recvmmsg() and
 * counts each datagram with pktgen_rx_count_hdr(), as the XDP sink counts a
 * frame; its frame length is the datagram's plus the headers it had on the
 * wire (14 + 20 + 8 from an IPv4 peer, 14 + 40 + 8 from IPv6), so rx_bytes
 * matches tx's --size.  The arrival time is read once per batch, when
 * recvmmsg() returns.
 *
 * Thread-safety: a run uses only its own socket and table; runs on different
 * threads are independent.
 */
#ifndef DSE_PKTGEN_UDP_H
#define DSE_PKTGEN_UDP_H

#include <signal.h>
#include <stdint.h>

#include "tools/pktgen/pktgen.h"

#define PKTGEN_UDP_BATCH 64         /* datagrams per recvmmsg() */
#define PKTGEN_UDP_BUF 2048         /* bytes per datagram buffer: any --size fits */
#define PKTGEN_UDP_POLL_MS 100      /* longest wait before looking at '*stop' */
#define PKTGEN_UDP_RCVBUF (8 << 20) /* asked for; the kernel caps it (rmem_max) */

/* Opens tx's socket for 'o' (tx, 'o->udp' set): a UDP socket connected to
 * 'o->udp_dst'.  Returns the fd (the caller closes it), or -errno of socket()
 * or connect() (-ENETUNREACH: no route).  */
int pktgen_udp_tx_open(const struct pktgen_opts *o);

struct pktgen_udp_tx_result {
    uint64_t sent;        /* datagrams the kernel took */
    uint64_t send_errors; /* datagrams it refused for a reason of the network */
    uint64_t elapsed_ns;  /* from the first send to the end of the run */
};

/* Sends on 'fd' (from pktgen_udp_tx_open()) what 'o' asks for: --count
 * datagrams, or rate x duration, or flat out until --duration; stops early
 * once '*stop' is set (a signal handler's flag).  Fills 'r' in any case.
 * Returns 0, or -errno of a send that failed for another reason than those in
 * the comment at the top (-EMSGSIZE: --size over the path's MTU). */
int pktgen_udp_tx_run(int fd, const struct pktgen_opts *o, volatile sig_atomic_t *stop,
                      struct pktgen_udp_tx_result *r);

/* Opens rx's socket for 'o' (rx, 'o->udp' set), bound to 'o->udp_port' (0:
 * a port the kernel picks, see pktgen_udp_port()).  Returns the fd (the
 * caller closes it), or -errno of socket() or bind() (-EADDRINUSE). */
int pktgen_udp_rx_open(const struct pktgen_opts *o);

/* The local port of socket 'fd' in host order, or -errno of getsockname(). */
int pktgen_udp_port(int fd);

/* Receives on 'fd' (from pktgen_udp_rx_open()) and counts every pktgen
 * datagram into 't' (whose 'stats' has PKTGEN_MAX_STREAMS entries), others
 * ignored, until '*stop', 'o->duration_s' after the start (if given), or
 * 'o->idle_ms' (if not 0) without a pktgen datagram once one came.  Returns
 * 0, -ENOMEM, or -errno of poll() or recvmmsg() (other than EINTR). */
int pktgen_udp_rx_run(int fd, const struct pktgen_opts *o, volatile sig_atomic_t *stop,
                      struct pktgen_rx_table *t);

#endif
