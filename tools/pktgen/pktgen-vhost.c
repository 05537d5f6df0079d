/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pktgen-vhost: `dse-pktgen tx|rx --vhost-user SOCK` (pktgen-vhost.h).
 *
 * tx writes the template frame behind a zeroed virtio-net header into every
 * transmit buffer once, then per frame only stamps it (pktgen_frame_stamp())
 * and makes its descriptor available.  Descriptor i always points at buffer
 * i; free descriptors wait on a stack.  rx posts every receive buffer, counts
 * what the device returns (pktgen_rx_count()) and posts the buffer again.
 * Nothing in either loop allocates.  Whatever the device writes (used ids,
 * lengths, num_buffers) is checked before use: a device that breaks the ring
 * protocol ends the run with an error, never a wild read.
 */
#include "tools/pktgen/pktgen-vhost.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/pktgen/pktgen-tx.h"
#include "lib/util.h"
#include "dataplane/vhost-front.h"

#define HANGUP_CHECK_NS 1000000ULL /* look at the socket every 1 ms */
#define RX_SCRATCH 128             /* headers of a frame spread over buffers */

static int
fail(const char *mode, const struct pktgen_opts *o, const char *what, const char *why)
{
    fprintf(stderr, "dse-pktgen: %s: vhost-user %s: %s%s%s\n", mode, o->vhost_user, what,
            why ? ": " : "", why ? why : "");
    return 1;
}

/* Connects and negotiates.  Returns 0, or 1 after the error line. */
static int
start(struct vfront *f, const char *mode, const struct pktgen_opts *o)
{
    int rc = vfront_init(f, PKTGEN_VHOST_RING, PKTGEN_VHOST_BUF, 0, 0);
    if (rc < 0 || (rc = vfront_seal(f)) < 0) {
        vfront_fini(f);
        return fail(mode, o, "cannot create guest memory", strerror(-rc));
    }
    if ((rc = vfront_connect(f, o->vhost_user)) < 0) {
        vfront_fini(f);
        return fail(mode, o, "cannot connect", strerror(-rc));
    }
    char err[256];
    uint64_t want = (1ULL << VIRTIO_NET_F_MRG_RXBUF) | (1ULL << VHOST_USER_F_PROTOCOL_FEATURES);
    if (vfront_handshake(f, want, true, PKTGEN_VHOST_TIMEOUT_MS, err, sizeof err) < 0) {
        vfront_fini(f);
        return fail(mode, o, "handshake failed", err);
    }
    return 0;
}

/* ---- tx ----------------------------------------------------------------- */

struct tx_state {
    struct vfront f;
    uint16_t *free_ids;
    unsigned n_free;
};

/* Returns used transmit descriptors to the free stack: 0, or -EPROTO. */
static int
tx_reclaim(struct tx_state *t)
{
    struct vfront_ring *r = &t->f.ring[VHOST_TXQ];
    struct virtq_used_elem e;
    int rc;
    while ((rc = vfront_used_get(r, t->f.buf_len, &e)) == 1)
        t->free_ids[t->n_free++] = (uint16_t)e.id;
    return rc;
}

/* Frames the pacing allows now: all that are due at --rate since 't0' (the
 * first one at 't0'), none beyond 'target'. */
static uint64_t
tx_allowed(const struct pktgen_opts *o, uint64_t target, uint64_t sent, uint64_t t0, uint64_t now)
{
    uint64_t due = UINT64_MAX;
    if (o->rate_pps)
        due = (uint64_t)((double)(now - t0) * (double)o->rate_pps / 1e9) + 1;
    if (target && due > target)
        due = target;
    return due > sent ? due - sent : 0;
}

/* Every transmit descriptor: a buffer with the header and the template. */
static int
tx_fill(struct tx_state *t, const struct pktgen_opts *o)
{
    struct vfront_ring *r = &t->f.ring[VHOST_TXQ];
    unsigned hdr_len = t->f.hdr_len;
    uint8_t tmpl[PKTGEN_MAX_SIZE];
    if (!(t->free_ids = calloc(r->num, sizeof *t->free_ids)))
        return fail("tx", o, "out of memory", NULL);
    if (!pktgen_frame_build(o, tmpl, sizeof tmpl))
        return fail("tx", o, "cannot build the frame", NULL);
    for (unsigned id = 0; id < r->num; id++) {
        uint8_t *buf = vfront_buf(&t->f, VHOST_TXQ, id);
        memset(buf, 0, hdr_len); /* no offloads; num_buffers is 0 on transmit */
        memcpy(buf + hdr_len, tmpl, o->size);
        r->desc[id] = (struct virtq_desc){.addr = vfront_gpa(&t->f, buf), .len = hdr_len + o->size};
        t->free_ids[t->n_free++] = (uint16_t)(r->num - 1 - id); /* 0 on top */
    }
    return 0;
}

/* Sends as 'o' says until done or '*stop': the frames sent in '*seq' and
 * the time the sending began in '*t0'.  NULL, or what went wrong. */
static const char *
tx_send(struct tx_state *t, const struct pktgen_opts *o, volatile sig_atomic_t *stop, uint64_t *seq,
        uint64_t *t0)
{
    struct vfront_ring *r = &t->f.ring[VHOST_TXQ];
    struct pktgen_tx_cfg cfg;
    pktgen_tx_cfg_init(o, &cfg);
    uint64_t target = pktgen_tx_target(o), dur_ns = (uint64_t)(o->duration_s * 1e9);
    uint64_t start = now_ns(), next_check = start + HANGUP_CHECK_NS;
    *t0 = start;
    while (!*stop) {
        if (tx_reclaim(t) < 0)
            return "the device returned a bad used entry on the transmit ring";
        uint64_t now = now_ns();
        if (target ? *seq >= target : now - start >= dur_ns)
            break;
        uint64_t n = tx_allowed(o, target, *seq, start, now);
        n = MIN(n, MIN(t->n_free, PKTGEN_VHOST_BATCH));
        for (uint64_t i = 0; i < n; i++) {
            uint16_t id = t->free_ids[--t->n_free];
            pktgen_frame_stamp(&cfg, vfront_buf(&t->f, VHOST_TXQ, id) + t->f.hdr_len, (*seq)++,
                               now);
            vfront_avail_put(r, id);
        }
        if (n) {
            vfront_avail_publish(r);
            vfront_kick(r);
        }
        /* Each batch, not only when idle: a sink on the same core (the
         * bench's placement) then runs between our batches instead of
         * whole time slices later, after its ring overflowed. */
        sched_yield();
        if (now >= next_check) {
            next_check = now + HANGUP_CHECK_NS;
            if (vfront_hung_up(&t->f))
                return "the device closed the connection";
        }
    }
    if (o->rate_pps && target && !*stop)
        pktgen_sleep_until(start + (uint64_t)((double)target * 1e9 / (double)o->rate_pps), stop);
    return NULL;
}

/* Lets the device take what is in the ring before we hang up (a device drops
 * the rings of a front-end that goes), for at most a second.  NULL, or what
 * went wrong. */
static const char *
tx_drain(struct tx_state *t)
{
    struct vfront_ring *r = &t->f.ring[VHOST_TXQ];
    uint64_t drain_end = now_ns() + 1000000000ULL;
    while (t->n_free < r->num && now_ns() < drain_end) {
        if (tx_reclaim(t) < 0)
            return "the device returned a bad used entry on the transmit ring";
        if (t->n_free < r->num)
            sched_yield();
    }
    return NULL;
}

int
pktgen_vhost_tx(const struct pktgen_opts *o, volatile sig_atomic_t *stop)
{
    struct tx_state t = {0};
    if (start(&t.f, "tx", o))
        return 1;
    int ret = 1;
    uint64_t seq = 0, t0 = 0;
    if (tx_fill(&t, o))
        goto out;
    const char *error = tx_send(&t, o, stop, &seq, &t0);
    uint64_t t1 = now_ns();
    if (!error)
        error = tx_drain(&t);
    if (error) {
        fail("tx", o, error, NULL);
        goto out;
    }
    uint64_t left = t.f.ring[VHOST_TXQ].num - t.n_free;
    if (left)
        fprintf(stderr,
                "dse-pktgen: tx: vhost-user %s: the device did not take the last "
                "%llu frames\n",
                o->vhost_user, (unsigned long long)left);
    struct pktgen_tx_report rep = {.generator = "vhost-user",
                                   .sent = seq - left,
                                   .secs = (double)(t1 - t0) / 1e9,
                                   .interrupted = *stop,
                                   .pinned = -1};
    pktgen_tx_print(o, &rep);
    ret = 0;
out:
    free(t.free_ids);
    vfront_fini(&t.f);
    return ret;
}

/* ---- rx ----------------------------------------------------------------- */

/* Sends one RARP announcement of 'mac' on the transmit ring. */
static void
rx_announce(struct vfront *f, const uint8_t mac[static 6])
{
    struct vfront_ring *r = &f->ring[VHOST_TXQ];
    uint8_t *buf = vfront_buf(f, VHOST_TXQ, 0);
    memset(buf, 0, f->hdr_len);
    unsigned len = pktgen_rarp_build(mac, buf + f->hdr_len);
    r->desc[0] = (struct virtq_desc){.addr = vfront_gpa(f, buf), .len = f->hdr_len + len};
    vfront_avail_put(r, 0);
    vfront_avail_publish(r);
    vfront_kick(r);
}

struct rx_frame {
    unsigned pending; /* buffers still to come (mergeable receive buffers) */
    size_t len;       /* frame bytes so far */
    size_t head_len;  /* bytes in 'head' */
    uint8_t head[RX_SCRATCH];
};

/* Takes what the device returned on the receive ring, counts complete frames
 * into 't' at 'now' and posts the buffers again.  Returns the frames, or
 * -EPROTO when the device broke the protocol. */
static int
rx_poll(struct vfront *f, struct pktgen_rx_table *t, struct rx_frame *fr, uint64_t now)
{
    struct vfront_ring *r = &f->ring[VHOST_RXQ];
    bool mrg = f->features & (1ULL << VIRTIO_NET_F_MRG_RXBUF);
    unsigned hdr_len = f->hdr_len;
    struct virtq_used_elem e;
    int rc = 0, n = 0, n_bufs = 0;
    while (n_bufs < PKTGEN_VHOST_BATCH * 4 && (rc = vfront_used_get(r, f->buf_len, &e)) == 1) {
        const uint8_t *buf = vfront_buf(f, VHOST_RXQ, e.id);
        n_bufs++;
        if (!fr->pending) {
            if (e.len < hdr_len)
                return -EPROTO;
            unsigned nb = 1;
            if (mrg) {
                struct virtio_net_hdr h;
                memcpy(&h, buf, sizeof h);
                nb = h.num_buffers;
                if (!nb || nb > r->num)
                    return -EPROTO;
            }
            fr->len = e.len - hdr_len;
            if (nb == 1) { /* the common case: count in place */
                n += pktgen_rx_count(t, buf + hdr_len, fr->len, fr->len, now);
            } else {
                fr->head_len = MIN(fr->len, sizeof fr->head);
                memcpy(fr->head, buf + hdr_len, fr->head_len);
                fr->pending = nb - 1;
            }
        } else {
            fr->len += e.len;
            if (!--fr->pending)
                n += pktgen_rx_count(t, fr->head, fr->head_len, fr->len, now);
        }
        vfront_avail_put(r, (uint16_t)e.id);
    }
    if (rc < 0)
        return rc;
    if (n_bufs) {
        vfront_avail_publish(r);
        vfront_kick(r);
    }
    return n;
}

int
pktgen_vhost_rx(const struct pktgen_opts *o, volatile sig_atomic_t *stop)
{
    struct vfront f;
    if (start(&f, "rx", o))
        return 1;
    int ret = 1;
    struct pktgen_rx_table t = {.stats = calloc(PKTGEN_MAX_STREAMS, sizeof *t.stats)};
    uint64_t *hist = calloc(PKTGEN_N_BUCKETS, sizeof *hist);
    struct rx_frame *fr = calloc(1, sizeof *fr);
    if (!t.stats || !hist || !fr) {
        fail("rx", o, "out of memory", NULL);
        goto out;
    }
    struct vfront_ring *r = &f.ring[VHOST_RXQ];
    for (unsigned id = 0; id < r->num; id++) {
        r->desc[id] = (struct virtq_desc){.addr = vfront_gpa(&f, vfront_buf(&f, VHOST_RXQ, id)),
                                          .len = f.buf_len,
                                          .flags = VIRTQ_DESC_F_WRITE};
        vfront_avail_put(r, (uint16_t)id);
    }
    vfront_avail_publish(r);
    vfront_kick(r);
    if (o->has_announce)
        rx_announce(&f, o->announce_mac);
    fprintf(stderr, "dse-pktgen: rx: attached to %s\n", o->vhost_user);

    uint64_t start_ns = now_ns(), last_change = start_ns, next_check = start_ns;
    uint64_t dur_ns = (uint64_t)(o->duration_s * 1e9), idle_ns = o->idle_ms * 1000000ULL;
    bool started = false;
    const char *error = NULL;
    while (!*stop) {
        uint64_t now = now_ns();
        int n = rx_poll(&f, &t, fr, now);
        if (n < 0) {
            error = "the device returned a bad used entry on the receive ring";
            break;
        }
        if (n) {
            last_change = now;
            started = true;
        }
        if (dur_ns && now - start_ns >= dur_ns)
            break;
        if (started && idle_ns && now - last_change >= idle_ns)
            break;
        if (now >= next_check) {
            next_check = now + HANGUP_CHECK_NS;
            if (vfront_hung_up(&f)) {
                error = "the device closed the connection";
                break;
            }
        }
        sched_yield(); /* see tx */
    }
    const struct pktgen_stream_stats *first;
    size_t n = pktgen_rx_select(&t, o, &first);
    struct pktgen_rx_summary s;
    pktgen_rx_summarize(first, n, hist, &s);
    pktgen_rx_print(o, &s, t.untracked);
    if (error)
        fail("rx", o, error, NULL);
    else
        ret = 0;
out:
    free(fr);
    free(hist);
    free(t.stats);
    vfront_fini(&f);
    return ret;
}
