/* SPDX-License-Identifier: Apache-2.0 */
/*
 * port-afxdp: AF_XDP backend (libxdp's xsk rings), the slow path's door to the
 * eswitch tier.
 *
 * The socket is bound in copy mode (veth refuses zero-copy) to the interface's
 * queue 0, with scatter-gather so that a jumbo frame arrives as a chain of
 * umem chunks.  We load no XDP program of our own: the eswitch program already
 * on the interface redirects every miss into this socket once the slow path
 * has put it in the program's XSKMAP (eswitch_port_steer()).  Until then, or
 * without the eswitch, nothing arrives here, which is why dpud only picks this
 * backend when the eswitch is loaded and falls back to AF_PACKET otherwise.
 *
 * The umem is split in two: the first half of its chunks circulates through
 * the fill and receive rings, the second half is a free list for transmit,
 * refilled from the completion ring.  Receive copies each frame into the
 * caller's buffer and gives its chunks back at once; transmit copies into free
 * chunks, and flush (once per burst, see port.h) kicks the kernel with
 * sendto(2), which in copy mode sends a bounded batch per call.
 *
 * Thread-safety: one thread per port (see port.h).
 */
#include "dataplane/port.h"

#include <errno.h>
#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <xdp/xsk.h>

#ifndef XDP_USE_SG
#define XDP_USE_SG (1 << 4) /* linux 6.6 */
#endif
#ifndef XDP_PKT_CONTD
#define XDP_PKT_CONTD (1 << 0) /* xdp_desc.options: more chunks follow */
#endif

#define XSK_CHUNK 4096u
#define XSK_N_CHUNKS 4096u
#define XSK_N_RX (XSK_N_CHUNKS / 2) /* chunks for fill/receive; the rest transmit */
#define XSK_RING 2048u
#define XSK_KICKS 8 /* sendto calls per burst at most (each sends up to 32) */

struct xsk_port {
    void *area;
    struct xsk_umem *umem;
    struct xsk_socket *xsk;
    struct xsk_ring_prod fill;
    struct xsk_ring_cons comp;
    struct xsk_ring_cons rx;
    struct xsk_ring_prod tx;
    uint64_t free_tx[XSK_N_CHUNKS - XSK_N_RX];
    unsigned n_free_tx;
    bool unsent;        /* descriptors submitted since the last kick */
    uint64_t rx_bad;    /* chains that did not fit a buffer */
    uint64_t fill_lost; /* chunks the fill ring had no room for */
};

static void
xp_close(struct port *port)
{
    struct xsk_port *x = port->priv;
    if (!x)
        return;
    xsk_socket__delete(x->xsk);
    xsk_umem__delete(x->umem);
    if (x->area)
        munmap(x->area, (size_t)XSK_N_CHUNKS * XSK_CHUNK);
    free(x);
    port->priv = NULL;
}

static int
xp_open(struct port *port)
{
    int ifindex = (int)if_nametoindex(port->ifname);
    if (!ifindex)
        return -ENODEV;
    struct xsk_port *x = calloc(1, sizeof *x);
    if (!x)
        return -ENOMEM;
    port->priv = x;
    port->ifindex = ifindex;
    int rc;
    size_t len = (size_t)XSK_N_CHUNKS * XSK_CHUNK;
    x->area = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (x->area == MAP_FAILED) {
        x->area = NULL;
        rc = -errno;
        goto fail;
    }
    const struct xsk_umem_config ucfg = {
        .fill_size = XSK_RING,
        .comp_size = XSK_RING,
        .frame_size = XSK_CHUNK,
        .frame_headroom = 0,
    };
    rc = xsk_umem__create(&x->umem, x->area, len, &x->fill, &x->comp, &ucfg);
    if (rc)
        goto fail;
    struct xsk_socket_config scfg = {
        .rx_size = XSK_RING,
        .tx_size = XSK_RING,
        .libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
        .xdp_flags = XDP_FLAGS_DRV_MODE,
        .bind_flags = XDP_COPY | XDP_USE_SG,
    };
    rc = xsk_socket__create(&x->xsk, port->ifname, 0, x->umem, &x->rx, &x->tx, &scfg);
    if (rc)
        goto fail;

    uint32_t idx;
    if (xsk_ring_prod__reserve(&x->fill, XSK_N_RX, &idx) != XSK_N_RX) {
        rc = -ENOSPC;
        goto fail;
    }
    for (uint32_t i = 0; i < XSK_N_RX; i++)
        *xsk_ring_prod__fill_addr(&x->fill, idx + i) = (uint64_t)i * XSK_CHUNK;
    xsk_ring_prod__submit(&x->fill, XSK_N_RX);
    for (uint32_t i = XSK_N_RX; i < XSK_N_CHUNKS; i++)
        x->free_tx[x->n_free_tx++] = (uint64_t)i * XSK_CHUNK;
    return 0;

fail:
    xp_close(port);
    return rc < 0 ? rc : -rc;
}

/* Reads one frame (a chain of descriptors from 'idx') into 'p'; returns how
 * many descriptors it spans, 0 if the chain is not complete yet.  A frame that
 * does not fit gets length 0, which the switch counts as a runt. */
static unsigned
xp_read_frame(struct xsk_port *x, uint32_t idx, uint32_t avail, struct pkt *p)
{
    pkt_reset(p);
    uint32_t len = 0;
    bool fits = true;
    for (unsigned n = 1; n <= avail; n++) {
        const struct xdp_desc *d = xsk_ring_cons__rx_desc(&x->rx, idx + n - 1);
        if (d->len <= PKT_DATA_MAX - len && fits) {
            memcpy(p->data + len, xsk_umem__get_data(x->area, d->addr), d->len);
            len += d->len;
        } else {
            fits = false;
        }
        if (!(d->options & XDP_PKT_CONTD)) {
            p->len = fits ? len : 0;
            if (!fits)
                x->rx_bad++;
            return n;
        }
    }
    return 0;
}

static unsigned
xp_rx_burst(struct port *port, struct pkt **pkts, unsigned n)
{
    struct xsk_port *x = port->priv;
    uint32_t idx;
    uint32_t avail = xsk_ring_cons__peek(&x->rx, XSK_RING, &idx);
    uint32_t used = 0;
    unsigned got = 0;
    while (got < n && used < avail) {
        unsigned span = xp_read_frame(x, idx + used, avail - used, pkts[got]);
        if (!span)
            break; /* the rest of the chain is not there yet */
        used += span;
        got++;
    }
    if (!used) {
        xsk_ring_cons__cancel(&x->rx, avail);
        return 0;
    }
    /* Every chunk read goes straight back to the fill ring: it has room for
     * all of them, since fill + receive never hold more than XSK_N_RX. */
    uint32_t fidx;
    if (xsk_ring_prod__reserve(&x->fill, used, &fidx) == used) {
        for (uint32_t i = 0; i < used; i++)
            *xsk_ring_prod__fill_addr(&x->fill, fidx + i) =
                xsk_ring_cons__rx_desc(&x->rx, idx + i)->addr;
        xsk_ring_prod__submit(&x->fill, used);
    } else {
        x->fill_lost += used; /* cannot happen; if it did, they leave circulation */
    }
    xsk_ring_cons__cancel(&x->rx, avail - used);
    xsk_ring_cons__release(&x->rx, used);
    return got;
}

static void
xp_reap(struct xsk_port *x)
{
    uint32_t idx;
    uint32_t done = xsk_ring_cons__peek(&x->comp, XSK_RING, &idx);
    for (uint32_t i = 0; i < done; i++)
        x->free_tx[x->n_free_tx++] = *xsk_ring_cons__comp_addr(&x->comp, idx + i);
    xsk_ring_cons__release(&x->comp, done);
}

static void
xp_kick(struct xsk_port *x)
{
    x->unsent = false;
    for (int i = 0; i < XSK_KICKS; i++) {
        if (sendto(xsk_socket__fd(x->xsk), NULL, 0, MSG_DONTWAIT, NULL, 0) >= 0)
            return;
        if (errno != EAGAIN && errno != EBUSY && errno != EINTR)
            return; /* ENOBUFS, ENETDOWN: the frames wait for the next kick */
    }
}

/* Reserves 'chunks' transmit descriptors and as many free chunks; when either
 * runs out, sends what waits and takes back what the kernel sent. */
static bool
xp_reserve(struct xsk_port *x, unsigned chunks, uint32_t *idx)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        if (chunks <= x->n_free_tx && xsk_ring_prod__reserve(&x->tx, chunks, idx) == chunks)
            return true;
        xp_kick(x);
        xp_reap(x);
    }
    return false;
}

static unsigned
xp_tx_burst(struct port *port, struct pkt **pkts, unsigned n)
{
    struct xsk_port *x = port->priv;
    xp_reap(x);
    unsigned sent = 0;
    for (; sent < n; sent++) {
        const struct pkt *p = pkts[sent];
        unsigned chunks = p->len ? (p->len + XSK_CHUNK - 1) / XSK_CHUNK : 1;
        uint32_t idx;
        if (!xp_reserve(x, chunks, &idx))
            break;
        for (unsigned c = 0; c < chunks; c++) {
            uint32_t off = c * XSK_CHUNK;
            uint32_t len = p->len - off < XSK_CHUNK ? p->len - off : XSK_CHUNK;
            uint64_t addr = x->free_tx[--x->n_free_tx];
            memcpy(xsk_umem__get_data(x->area, addr), p->data + off, len);
            struct xdp_desc *d = xsk_ring_prod__tx_desc(&x->tx, idx + c);
            d->addr = addr;
            d->len = len;
            d->options = c + 1 < chunks ? XDP_PKT_CONTD : 0;
        }
        xsk_ring_prod__submit(&x->tx, chunks);
        x->unsent = true;
    }
    return sent;
}

static void
xp_flush(struct port *port)
{
    struct xsk_port *x = port->priv;
    if (x->unsent)
        xp_kick(x);
}

static int
xp_fd(const struct port *port)
{
    return xsk_socket__fd(((const struct xsk_port *)port->priv)->xsk);
}

int
port_afxdp_fd(const struct port *port)
{
    return port->ops == &port_afxdp_ops ? xp_fd(port) : -1;
}

const struct port_ops port_afxdp_ops = {
    .name = "afxdp",
    .open = xp_open,
    .close = xp_close,
    .rx_burst = xp_rx_burst,
    .tx_burst = xp_tx_burst,
    .flush = xp_flush,
    .fd = xp_fd,
};
