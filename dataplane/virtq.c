/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtq: the split rings' set-up checks and the packet copies (see virtq.h).
 * Every descriptor is read once, translated through the memory table and
 * checked before a byte is copied; nothing here allocates.
 */
#include "dataplane/virtq.h"

#include <endian.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

LOG_MODULE(vhost);

/* Host address of 'len' bytes at 'addr' in the guest's physical ('user' false)
 * or the front-end's virtual ('user' true) address space, or NULL unless they
 * lie inside one region. */
static void *
translate(const struct virtq_mem *mem, uint64_t addr, uint64_t len, bool user)
{
    for (unsigned i = 0; i < mem->n_regions; i++) {
        const struct virtq_region *r = &mem->regions[i];
        uint64_t base = user ? r->user_addr : r->guest_addr;
        if (addr < base)
            continue;
        uint64_t ofs = addr - base;
        if (ofs <= r->size && len <= r->size - ofs)
            return r->host + ofs;
    }
    return NULL;
}

void
virtq_log_mark(struct virtq_dev *qd, uint64_t gpa, uint64_t len)
{
    if (!len)
        return;
    uint64_t first = gpa / VHOST_LOG_PAGE, last = (gpa + len - 1) / VHOST_LOG_PAGE;
    for (uint64_t page = first; page <= last && page / 8 < qd->log_len; page++)
        __atomic_fetch_or(&qd->log[page / 8], (uint8_t)(1U << (page % 8)), __ATOMIC_RELAXED);
    qd->stats.log_marks++;
}

/* Logs a write of 'len' bytes at 'ofs' into the used ring of 'vq'. */
static inline void
used_log(struct virtq_dev *qd, const struct virtq *vq, uint64_t ofs, uint64_t len)
{
    if (vq->log_used)
        virtq_log(qd, vq->used_gpa + ofs, len);
}

static uint16_t
load_u16(const uint16_t *p)
{
    return le16toh(__atomic_load_n(p, __ATOMIC_ACQUIRE));
}

/* ---- set-up ---- */

void
virtq_map(const struct virtq_dev *qd, struct virtq *vq)
{
    vq->desc = NULL;
    vq->avail = NULL;
    vq->used = NULL;
    if (!vq->num || !vq->addr_set)
        return;
    void *desc = translate(&qd->mem, vq->desc_ua, virtq_desc_size(vq->num), true);
    void *avail = translate(&qd->mem, vq->avail_ua, virtq_avail_size(vq->num), true);
    void *used = translate(&qd->mem, vq->used_ua, virtq_used_size(vq->num), true);
    /* virtio 1.1 §2.6: alignment 16, 2 and 4 */
    if (!desc || !avail || !used || (uintptr_t)desc % 16 || (uintptr_t)avail % 2 ||
        (uintptr_t)used % 4)
        return;
    vq->desc = desc;
    vq->avail = avail;
    vq->used = used;
}

int
virtq_set_addr(struct virtq_dev *qd, struct virtq *vq, uint64_t desc_ua, uint64_t avail_ua,
               uint64_t used_ua)
{
    vq->desc_ua = desc_ua;
    vq->avail_ua = avail_ua;
    vq->used_ua = used_ua;
    vq->addr_set = true;
    vq->broken = false;
    virtq_map(qd, vq);
    if (!vq->desc)
        return -EINVAL;
    /* A front-end that outlived its back-end (we restarted) resumes where
     * its used ring says, as DPDK's vhost library does. */
    uint16_t used_idx = load_u16(&vq->used->idx);
    if (used_idx != vq->last_used)
        vq->last_avail = vq->last_used = used_idx;
    if (vq->idx == VHOST_RXQ) {
        __atomic_store_n(&vq->used->flags, htole16(VIRTQ_USED_F_NO_NOTIFY), __ATOMIC_RELAXED);
        used_log(qd, vq, 0, 2);
    }
    return 0;
}

bool
virtq_usable(const struct virtq *vq)
{
    return vq->desc && vq->started && vq->enabled && !vq->broken;
}

static void
ring_break(struct virtq_dev *qd, struct virtq *vq, const char *why)
{
    vq->broken = true;
    qd->stats.drops[VHOST_DROP_BAD_DESC]++;
    if (log_ratelimit_ok(&qd->rl))
        log_warn("port=%s: ring %u: %s: the ring is stopped until it is set up again", qd->name,
                 vq->idx, why);
}

/* ---- descriptors and ring indexes ---- */

/* Reads descriptor 'idx' once into 'out' and translates it.  Returns its host
 * address, or NULL (after breaking the ring) if it is bad. */
static uint8_t *
desc_get(struct virtq_dev *qd, struct virtq *vq, uint16_t idx, struct virtq_desc *out,
         uint16_t want_write)
{
    struct virtq_desc raw;
    memcpy(&raw, (const void *)&vq->desc[idx], sizeof raw);
    out->addr = le64toh(raw.addr);
    out->len = le32toh(raw.len);
    out->flags = le16toh(raw.flags);
    out->next = le16toh(raw.next);
    if (out->flags & VIRTQ_DESC_F_INDIRECT) {
        ring_break(qd, vq, "indirect descriptor (not negotiated)");
        return NULL;
    }
    if ((out->flags & VIRTQ_DESC_F_WRITE) != want_write) {
        ring_break(qd, vq,
                   want_write ? "read-only descriptor on the receive ring"
                              : "writable descriptor on the transmit ring");
        return NULL;
    }
    uint8_t *p = translate(&qd->mem, out->addr, out->len, false);
    if (!p)
        ring_break(qd, vq, "descriptor address outside guest memory");
    return p;
}

/* Follows the chain after 'cur'.  Returns false at its end; breaks the ring
 * (and returns false with '*bad') on an index out of range or a loop. */
static bool
desc_next(struct virtq_dev *qd, struct virtq *vq, const struct virtq_desc *cur, uint16_t *idx,
          unsigned *n_seen, bool *bad)
{
    if (!(cur->flags & VIRTQ_DESC_F_NEXT))
        return false;
    if (cur->next >= vq->num || ++*n_seen >= vq->num) {
        ring_break(qd, vq,
                   cur->next >= vq->num ? "descriptor index out of range"
                                        : "descriptor chain loops");
        *bad = true;
        return false;
    }
    *idx = cur->next;
    return true;
}

/* Slots the guest made available and we did not take, or -1 (ring broken) if
 * the guest claims more than the ring holds. */
static int
avail_count(struct virtq_dev *qd, struct virtq *vq, uint16_t *avail_idx)
{
    *avail_idx = load_u16(&vq->avail->idx);
    uint16_t n = (uint16_t)(*avail_idx - vq->last_avail);
    if (n > vq->num) {
        ring_break(qd, vq, "available index ran ahead of the ring");
        return -1;
    }
    return n;
}

static uint16_t
avail_head(struct virtq_dev *qd, struct virtq *vq, uint16_t slot, bool *bad)
{
    uint16_t head =
        le16toh(__atomic_load_n(&vq->avail->ring[slot & (vq->num - 1)], __ATOMIC_RELAXED));
    if (head >= vq->num) {
        ring_break(qd, vq, "descriptor index out of range");
        *bad = true;
    }
    return head;
}

static void
used_put(struct virtq_dev *qd, struct virtq *vq, uint16_t slot, uint16_t head, uint32_t len)
{
    unsigned i = slot & (vq->num - 1);
    struct virtq_used_elem *e = &vq->used->ring[i];
    e->id = htole32(head);
    e->len = htole32(len);
    used_log(qd, vq, offsetof(struct virtq_used, ring) + i * sizeof *e, sizeof *e);
}

/* Publishes the used entries up to last_used and calls the guest unless it
 * asked not to be (VRING_AVAIL_F_NO_INTERRUPT; no EVENT_IDX). */
static void
used_publish(struct virtq_dev *qd, struct virtq *vq)
{
    __atomic_store_n(&vq->used->idx, htole16(vq->last_used), __ATOMIC_RELEASE);
    used_log(qd, vq, offsetof(struct virtq_used, idx), sizeof vq->used->idx);
    __atomic_thread_fence(__ATOMIC_SEQ_CST); /* store idx before reading flags */
    if (vq->call_fd >= 0 && !(load_u16(&vq->avail->flags) & VIRTQ_AVAIL_F_NO_INTERRUPT)) {
        uint64_t one = 1;
        if (write(vq->call_fd, &one, sizeof one) == sizeof one)
            qd->stats.n_calls++;
    }
}

/* ---- from the guest ---- */

enum chain_result { CHAIN_OK, CHAIN_BAD, CHAIN_OVERSIZE, CHAIN_SHORT };

/* Copies the frame of the transmit chain at 'head' into 'p', skipping the
 * virtio-net header (which may span descriptors). */
static enum chain_result
chain_read(struct virtq_dev *qd, struct virtq *vq, uint16_t head, struct pkt *p)
{
    unsigned skip = qd->hdr_len, n_seen = 0;
    uint16_t idx = head;
    bool bad = false;
    pkt_reset(p);
    for (;;) {
        struct virtq_desc desc;
        const uint8_t *src = desc_get(qd, vq, idx, &desc, 0);
        if (!src)
            return CHAIN_BAD;
        uint32_t len = desc.len;
        if (skip) {
            unsigned k = len < skip ? len : skip;
            src += k;
            len -= k;
            skip -= k;
        }
        if (len > PKT_DATA_MAX - p->len)
            return CHAIN_OVERSIZE;
        memcpy(p->data + p->len, src, len);
        p->len += len;
        if (!desc_next(qd, vq, &desc, &idx, &n_seen, &bad))
            break;
    }
    if (bad)
        return CHAIN_BAD;
    return skip ? CHAIN_SHORT : CHAIN_OK;
}

unsigned
virtq_dequeue(struct virtq_dev *qd, struct virtq *vq, struct pkt **pkts, unsigned n)
{
    if (!virtq_usable(vq))
        return 0;
    uint16_t avail_idx;
    if (avail_count(qd, vq, &avail_idx) <= 0)
        return 0;
    unsigned got = 0;
    uint16_t used0 = vq->last_used;
    while (got < n && vq->last_avail != avail_idx) {
        bool bad = false;
        uint16_t head = avail_head(qd, vq, vq->last_avail, &bad);
        if (bad)
            break;
        enum chain_result r = chain_read(qd, vq, head, pkts[got]);
        if (r == CHAIN_BAD)
            break;
        vq->last_avail++;
        used_put(qd, vq, vq->last_used++, head, 0);
        if (r == CHAIN_OK)
            got++;
        else
            qd->stats.drops[r == CHAIN_OVERSIZE ? VHOST_DROP_OVERSIZE : VHOST_DROP_SHORT]++;
    }
    if (vq->last_used != used0)
        used_publish(qd, vq);
    qd->stats.rx_packets += got;
    return got;
}

bool
virtq_pending(const struct virtq *vq)
{
    return virtq_usable(vq) && load_u16(&vq->avail->idx) != vq->last_avail;
}

/* ---- to the guest ---- */

/* The byte stream a received frame becomes: the header, then the frame. */
struct rx_stream {
    const uint8_t *hdr;
    unsigned hdr_len;
    const uint8_t *data;
    unsigned len;
    unsigned ofs;            /* bytes written so far */
    uint8_t *num_buffers[2]; /* where header bytes 10 and 11 landed */
    uint64_t num_buffers_gpa[2];
};

/* Copies the next 'k' bytes of 's' to 'dst', guest physical 'gpa'. */
static void
stream_copy(struct rx_stream *s, uint8_t *dst, uint64_t gpa, unsigned k)
{
    while (k) {
        if (s->ofs < s->hdr_len) {
            unsigned c = s->hdr_len - s->ofs < k ? s->hdr_len - s->ofs : k;
            for (unsigned i = 0; i < c; i++) {
                unsigned o = s->ofs + i;
                if (o == 10 || o == 11) {
                    s->num_buffers[o - 10] = dst + i;
                    s->num_buffers_gpa[o - 10] = gpa + i;
                }
            }
            memcpy(dst, s->hdr + s->ofs, c);
            dst += c;
            gpa += c;
            s->ofs += c;
            k -= c;
        } else {
            memcpy(dst, s->data + (s->ofs - s->hdr_len), k);
            s->ofs += k;
            k = 0;
        }
    }
}

/* Writes as much of 's' as fits into the receive chain at 'head'.  Returns
 * the bytes written, or -1 (ring broken) on a bad descriptor. */
static long
chain_write(struct virtq_dev *qd, struct virtq *vq, uint16_t head, struct rx_stream *s)
{
    unsigned n_seen = 0, total = s->hdr_len + s->len;
    uint16_t idx = head;
    bool bad = false;
    long written = 0;
    for (;;) {
        struct virtq_desc desc;
        uint8_t *dst = desc_get(qd, vq, idx, &desc, VIRTQ_DESC_F_WRITE);
        if (!dst)
            return -1;
        unsigned k = total - s->ofs < desc.len ? total - s->ofs : desc.len;
        stream_copy(s, dst, desc.addr, k);
        virtq_log(qd, desc.addr, k);
        written += k;
        if (s->ofs == total || !desc_next(qd, vq, &desc, &idx, &n_seen, &bad))
            break;
    }
    return bad ? -1 : written;
}

/* Stages frame 's' into as many receive chains from 'vq->last_avail' on as it
 * needs (one without mergeable buffers), up to 'avail_idx'.  Returns true if
 * it fit; false with '*bad' if a descriptor broke the ring. */
static bool
stage_one(struct virtq_dev *qd, struct virtq *vq, uint16_t avail_idx, struct rx_stream *s,
          bool *bad)
{
    bool mrg = qd->features & (1ULL << VIRTIO_NET_F_MRG_RXBUF);
    uint16_t cursor = vq->last_avail, n_bufs = 0;
    while (s->ofs < s->hdr_len + s->len && cursor != avail_idx && (mrg || !n_bufs)) {
        uint16_t head = avail_head(qd, vq, cursor, bad);
        long w = *bad ? -1 : chain_write(qd, vq, head, s);
        if (w < 0) {
            *bad = true;
            return false;
        }
        /* Staged past used->idx: the guest reads nothing there yet. */
        used_put(qd, vq, (uint16_t)(vq->last_used + n_bufs), head, (uint32_t)w);
        n_bufs++;
        cursor++;
    }
    if (s->ofs < s->hdr_len + s->len)
        return false;
    if (s->num_buffers[0]) {
        /* Written after its chain was logged: logged again, so that a log
         * pass in between cannot have sent the page without it. */
        *s->num_buffers[0] = (uint8_t)n_bufs;
        *s->num_buffers[1] = (uint8_t)(n_bufs >> 8);
        virtq_log(qd, s->num_buffers_gpa[0], 1);
        virtq_log(qd, s->num_buffers_gpa[1], 1);
    }
    vq->last_avail = cursor;
    vq->last_used = (uint16_t)(vq->last_used + n_bufs);
    return true;
}

unsigned
virtq_stage(struct virtq_dev *qd, struct virtq *vq, struct pkt *const *pkts, unsigned n)
{
    if (!virtq_usable(vq)) {
        qd->stats.drops[VHOST_DROP_NOT_READY] += n;
        return 0;
    }
    uint16_t avail_idx;
    if (avail_count(qd, vq, &avail_idx) < 0)
        return 0;
    struct virtio_net_hdr hdr = {0};
    unsigned sent;
    uint16_t used0 = vq->last_used;
    for (sent = 0; sent < n; sent++) {
        struct rx_stream s = {.hdr = (const uint8_t *)&hdr,
                              .hdr_len = qd->hdr_len,
                              .data = pkts[sent]->data,
                              .len = pkts[sent]->len};
        bool bad = false;
        if (!stage_one(qd, vq, avail_idx, &s, &bad)) {
            if (!bad)
                qd->stats.drops[VHOST_DROP_NO_RX_BUFFER] += n - sent;
            break;
        }
    }
    vq->unpublished |= vq->last_used != used0;
    qd->stats.tx_packets += sent;
    return sent;
}

void
virtq_publish(struct virtq_dev *qd, struct virtq *vq)
{
    if (vq->unpublished && virtq_usable(vq))
        used_publish(qd, vq);
    vq->unpublished = false;
}
