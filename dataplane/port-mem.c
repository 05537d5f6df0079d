/* SPDX-License-Identifier: Apache-2.0 */
/* port-mem: a port backend made of two in-memory frame queues, for tests.  It
 * also checks the port contract that its caller must keep: one thread at a
 * time in the backend (each call marks the port busy while it runs and counts
 * the calls that found it busy already). */
#include "dataplane/port.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define MEM_QLEN 64

struct mem_frame {
    unsigned len;
    uint8_t data[PKT_DATA_MAX];
};

struct mem_queue {
    unsigned head, n;
    struct mem_frame f[MEM_QLEN];
};

struct mem_port {
    struct mem_queue rx, tx;
    atomic_bool busy;
    atomic_uint overlaps;
};

/* Plain loads and stores, no read-modify-write: the check must not cost the
 * micro-benchmarks that run on this backend a locked instruction per frame.
 * It may miss an overlap that starts in the same instant; not a run of them. */
static void
enter(struct mem_port *m)
{
    if (atomic_load_explicit(&m->busy, memory_order_relaxed))
        atomic_fetch_add_explicit(&m->overlaps, 1, memory_order_relaxed);
    atomic_store_explicit(&m->busy, true, memory_order_relaxed);
}

static void
leave(struct mem_port *m)
{
    atomic_store_explicit(&m->busy, false, memory_order_release);
}

static bool
queue_put(struct mem_queue *q, const void *data, unsigned len)
{
    if (q->n == MEM_QLEN || len > PKT_DATA_MAX)
        return false;
    struct mem_frame *f = &q->f[(q->head + q->n) % MEM_QLEN];
    memcpy(f->data, data, len);
    f->len = len;
    q->n++;
    return true;
}

static struct mem_frame *
queue_get(struct mem_queue *q)
{
    if (!q->n)
        return NULL;
    struct mem_frame *f = &q->f[q->head];
    q->head = (q->head + 1) % MEM_QLEN;
    q->n--;
    return f;
}

static int
mem_open(struct port *port)
{
    port->priv = calloc(1, sizeof(struct mem_port));
    return port->priv ? 0 : -ENOMEM;
}

static void
mem_close(struct port *port)
{
    free(port->priv);
}

static unsigned
mem_rx_burst(struct port *port, struct pkt **pkts, unsigned n)
{
    struct mem_port *m = port->priv;
    unsigned i;
    enter(m);
    for (i = 0; i < n; i++) {
        struct mem_frame *f = queue_get(&m->rx);
        if (!f)
            break;
        pkt_reset(pkts[i]);
        memcpy(pkts[i]->data, f->data, f->len);
        pkts[i]->len = f->len;
    }
    leave(m);
    return i;
}

static unsigned
mem_tx_burst(struct port *port, struct pkt **pkts, unsigned n)
{
    struct mem_port *m = port->priv;
    unsigned i;
    enter(m);
    for (i = 0; i < n; i++)
        if (!queue_put(&m->tx, pkts[i]->data, pkts[i]->len))
            break;
    leave(m);
    return i;
}

static int
mem_fd(const struct port *port)
{
    return -1;
}

const struct port_ops port_mem_ops = {
    .name = "mem",
    .open = mem_open,
    .close = mem_close,
    .rx_burst = mem_rx_burst,
    .tx_burst = mem_tx_burst,
    .fd = mem_fd,
};

bool
port_mem_inject(struct port *port, const void *frame, unsigned len)
{
    return queue_put(&((struct mem_port *)port->priv)->rx, frame, len);
}

int
port_mem_take(struct port *port, void *buf, unsigned buf_len)
{
    struct mem_frame *f = queue_get(&((struct mem_port *)port->priv)->tx);
    if (!f)
        return -1;
    unsigned n = f->len < buf_len ? f->len : buf_len;
    memcpy(buf, f->data, n);
    return (int)f->len;
}

unsigned
port_mem_n_tx(const struct port *port)
{
    return ((const struct mem_port *)port->priv)->tx.n;
}

unsigned
port_mem_overlaps(const struct port *port)
{
    return atomic_load(&((struct mem_port *)port->priv)->overlaps);
}
