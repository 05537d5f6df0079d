/* SPDX-License-Identifier: Apache-2.0 */
/* pktgen-afxdp: the AF_XDP copy-mode generator (pktgen-afxdp.h). */
#include "tools/pktgen/pktgen-afxdp.h"

#include <errno.h>
#include <linux/if_xdp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>

#include "lib/util.h"

#define AREA_LEN ((size_t)PKTGEN_AFXDP_FRAMES * PKTGEN_AFXDP_FRAME_SIZE)
#define FILL_RING 64 /* the kernel wants one; nothing is received */
#define FINISH_WAIT_NS 1000000000ULL
#define BUSY_WAIT_MS 500 /* how long open waits for a queue that is busy */
#define BUSY_RETRY_MS 2

struct afxdp {
    void *area;
    struct xsk_umem *umem;
    struct xsk_socket *xsk;
    struct xsk_ring_prod fill;
    struct xsk_ring_cons comp;
    struct xsk_ring_prod tx;
    uint64_t seq;  /* the next frame's */
    uint64_t sent; /* frames back from the completion ring */
    struct pktgen_afxdp_frames frames;
};

/* ---- the rings ---------------------------------------------------------- */

void
pktgen_afxdp_frames_init(struct pktgen_afxdp_frames *f, void *area, const uint8_t *tmpl,
                         unsigned len, const struct pktgen_tx_cfg *cfg)
{
    f->area = area;
    f->frame_len = len;
    f->cfg = *cfg;
    f->n_free = 0;
    /* Stacked so that frame 0 goes first. */
    for (unsigned i = PKTGEN_AFXDP_FRAMES; i-- > 0;) {
        uint64_t addr = (uint64_t)i * PKTGEN_AFXDP_FRAME_SIZE;
        memcpy(f->area + addr, tmpl, len);
        f->free[f->n_free++] = addr;
    }
}

unsigned
pktgen_afxdp_fill(struct pktgen_afxdp_frames *f, struct xsk_ring_prod *tx, uint64_t seq, unsigned n,
                  uint64_t now_ns)
{
    uint32_t idx;
    n = MIN(n, f->n_free);
    /* The ring has room for every free frame: it has as many entries as
     * there are frames. */
    if (!n || xsk_ring_prod__reserve(tx, n, &idx) != n)
        return 0;
    for (unsigned i = 0; i < n; i++) {
        uint64_t addr = f->free[--f->n_free];
        pktgen_frame_stamp(&f->cfg, f->area + addr, seq + i, now_ns);
        *xsk_ring_prod__tx_desc(tx, idx + i) = (struct xdp_desc){.addr = addr, .len = f->frame_len};
    }
    xsk_ring_prod__submit(tx, n);
    return n;
}

unsigned
pktgen_afxdp_reap(struct pktgen_afxdp_frames *f, struct xsk_ring_cons *comp)
{
    uint32_t idx;
    unsigned n = xsk_ring_cons__peek(comp, PKTGEN_AFXDP_FRAMES, &idx);
    for (unsigned i = 0; i < n && f->n_free < PKTGEN_AFXDP_FRAMES; i++)
        f->free[f->n_free++] = *xsk_ring_cons__comp_addr(comp, idx + i);
    xsk_ring_cons__release(comp, n);
    return n;
}

/* ---- the socket --------------------------------------------------------- */

/* Closes the socket and the umem, keeping the area. */
static void
afxdp_unbind(struct afxdp *x)
{
    xsk_socket__delete(x->xsk);
    xsk_umem__delete(x->umem);
    x->xsk = NULL;
    x->umem = NULL;
}

static void
afxdp_close(void *ctx)
{
    struct afxdp *x = ctx;
    if (!x)
        return;
    afxdp_unbind(x);
    if (x->area)
        munmap(x->area, AREA_LEN);
    free(x);
}

static int
afxdp_socket(struct afxdp *x, const char *dev)
{
    const struct xsk_umem_config ucfg = {
        .fill_size = FILL_RING,
        .comp_size = PKTGEN_AFXDP_FRAMES,
        .frame_size = PKTGEN_AFXDP_FRAME_SIZE,
    };
    int rc = xsk_umem__create(&x->umem, x->area, AREA_LEN, &x->fill, &x->comp, &ucfg);
    if (rc)
        return rc < 0 ? rc : -rc;
    const struct xsk_socket_config scfg = {
        .tx_size = PKTGEN_AFXDP_FRAMES,
        .libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
        .bind_flags = XDP_COPY,
    };
    rc = xsk_socket__create(&x->xsk, dev, 0, x->umem, NULL, &x->tx, &scfg);
    return rc <= 0 ? rc : -rc;
}

static int
afxdp_open(const struct pktgen_opts *o, int ifindex, void **ctx, char *err, size_t err_len)
{
    uint8_t tmpl[PKTGEN_MAX_SIZE];
    unsigned len = (unsigned)pktgen_frame_build(o, tmpl, sizeof tmpl);
    if (!len)
        return err_set(err, err_len, -EINVAL, "cannot build a %u byte frame", o->size);
    struct afxdp *x = calloc(1, sizeof *x);
    if (!x)
        return err_set(err, err_len, -ENOMEM, "out of memory");
    x->area = mmap(NULL, AREA_LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (x->area == MAP_FAILED) {
        x->area = NULL;
        afxdp_close(x);
        return err_set(err, err_len, -ENOMEM, "out of memory for the umem");
    }
    struct pktgen_tx_cfg cfg;
    pktgen_tx_cfg_init(o, &cfg);
    pktgen_afxdp_frames_init(&x->frames, x->area, tmpl, len, &cfg);
    /* The kernel lets go of a queue in deferred work after its last AF_XDP
     * socket closed: a run right after another finds it busy for a while. */
    uint64_t busy_end = now_ns() + BUSY_WAIT_MS * 1000000ULL;
    int rc;
    while ((rc = afxdp_socket(x, o->dev)) == -EBUSY && now_ns() < busy_end) {
        afxdp_unbind(x);
        nanosleep(&(struct timespec){.tv_nsec = BUSY_RETRY_MS * 1000000L}, NULL);
    }
    if (rc < 0) {
        afxdp_close(x);
        return err_set(err, err_len, rc, "cannot bind an AF_XDP socket to its queue 0: %s",
                       strerror(-rc));
    }
    *ctx = x;
    return 0;
}

/* Has the kernel send what is on the transmit ring and takes back what it
 * sent.  Returns 0 or -errno (the interface went down or away). */
static int
afxdp_kick(struct afxdp *x)
{
    /* EAGAIN: the device was busy, or the socket's send buffer full; EBUSY:
     * the device dropped a frame (it counts as sent).  The rest go next time. */
    if (sendto(xsk_socket__fd(x->xsk), NULL, 0, MSG_DONTWAIT, NULL, 0) < 0 && errno != EAGAIN &&
        errno != EBUSY && errno != ENOBUFS && errno != EINTR)
        return -errno;
    x->sent += pktgen_afxdp_reap(&x->frames, &x->comp);
    return 0;
}

static int64_t
afxdp_send(void *ctx, uint64_t n)
{
    struct afxdp *x = ctx;
    unsigned k = pktgen_afxdp_fill(&x->frames, &x->tx, x->seq, (unsigned)MIN(n, PKTGEN_AFXDP_BATCH),
                                   now_ns());
    x->seq += k;
    int rc = afxdp_kick(x);
    return rc < 0 ? (int64_t)rc : (int64_t)k;
}

static int
afxdp_finish(void *ctx, uint64_t *sent, char *err, size_t err_len)
{
    struct afxdp *x = ctx;
    uint64_t end = now_ns() + FINISH_WAIT_NS;
    int rc = 0;
    while (x->sent < x->seq && now_ns() < end && !(rc = afxdp_kick(x)))
        ;
    *sent = x->sent;
    if (rc < 0)
        return err_set(err, err_len, rc, "AF_XDP send failed after %llu frames: %s",
                       (unsigned long long)x->sent, strerror(-rc));
    return 0;
}

const struct pktgen_gen_ops pktgen_afxdp_ops = {
    .name = "afxdp",
    .chunk_max = 8192,
    .open = afxdp_open,
    .send = afxdp_send,
    .finish = afxdp_finish,
    .close = afxdp_close,
};
