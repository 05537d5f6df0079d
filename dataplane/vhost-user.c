/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vhost-user: the back-end side of the protocol and the split-ring copies
 * (see vhost-user.h).  Messages are framed from a non-blocking stream socket
 * into one buffer per device, handled by vhost_dev_handle_msg() (which never
 * trusts a field), and answered.  The packet path translates every descriptor
 * through the memory table and copies; nothing on it allocates.
 */
#include "dataplane/vhost-user.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"

LOG_MODULE(vhost);

struct vhost_region {
    uint64_t guest_addr, user_addr, size;
    uint8_t *host; /* where guest_addr is mapped */
    void *map;
    size_t map_len;
};

struct vhost_vring {
    unsigned num; /* 0: not set */
    bool addr_set;
    uint64_t desc_ua, avail_ua, used_ua;
    struct virtq_desc *desc; /* translated; NULL while the addresses are not valid */
    struct virtq_avail *avail;
    struct virtq_used *used;
    uint16_t last_avail, last_used;
    bool unpublished; /* used entries staged past used->idx (receive ring) */
    int kick_fd, call_fd, err_fd;
    bool started, enabled, broken;
};

struct vhost_dev {
    char name[32];
    vhost_kick_changed_fn *kick_changed;
    void *aux;
    int conn;
    uint64_t features, protocol_features;
    unsigned hdr_len;
    unsigned n_regions;
    struct vhost_region regions[VHOST_USER_MAX_REGIONS];
    struct vhost_vring vq[VHOST_N_VRINGS];
    struct vhost_dev_info stats; /* counters only; the rest is filled on demand */
    struct log_ratelimit rl;
    /* framing of the message being received */
    size_t rlen;
    int rfds[VHOST_USER_MAX_FDS];
    unsigned n_rfds;
    struct vhost_user_msg msg, reply;
};

static const char *const drop_names[] = {
#define VHOST_DROP_NAME_(e, name, what) name,
    VHOST_DROPS(VHOST_DROP_NAME_)
#undef VHOST_DROP_NAME_
};

const char *
vhost_drop_name(enum vhost_drop d)
{
    return (unsigned)d < VHOST_DROP__N ? drop_names[d] : "none";
}

static void
close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* ---- guest memory ---- */

/* Host address of 'len' bytes at 'addr' in the guest's physical ('user' false)
 * or the front-end's virtual ('user' true) address space, or NULL unless they
 * lie inside one region. */
static void *
translate(const struct vhost_dev *d, uint64_t addr, uint64_t len, bool user)
{
    for (unsigned i = 0; i < d->n_regions; i++) {
        const struct vhost_region *r = &d->regions[i];
        uint64_t base = user ? r->user_addr : r->guest_addr;
        if (addr < base)
            continue;
        uint64_t ofs = addr - base;
        if (ofs <= r->size && len <= r->size - ofs)
            return r->host + ofs;
    }
    return NULL;
}

static void
mem_unmap(struct vhost_region *regions, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (regions[i].map)
            munmap(regions[i].map, regions[i].map_len);
}

static void vring_translate(struct vhost_dev *d, struct vhost_vring *vq);

/* Maps a new memory table; the old one stays until the new one is complete. */
static int
mem_set(struct vhost_dev *d, const struct vhost_user_mem *mem, int *fds, unsigned n_fds)
{
    struct vhost_region nr[VHOST_USER_MAX_REGIONS] = {0};
    unsigned n = mem->n_regions;
    if (n == 0 || n > VHOST_USER_MAX_REGIONS || n != n_fds)
        return -EINVAL;
    for (unsigned i = 0; i < n; i++) {
        const struct vhost_user_region *r = &mem->regions[i];
        struct stat st;
        uint64_t end;
        if (!r->size || __builtin_add_overflow(r->mmap_offset, r->size, &end) ||
            r->guest_addr + r->size < r->guest_addr || r->user_addr + r->size < r->user_addr ||
            end > SIZE_MAX / 2 || fstat(fds[i], &st) < 0 || !S_ISREG(st.st_mode) ||
            (uint64_t)st.st_size < end)
            goto bad;
        /* A client that shrank the file under our mapping would crash us
         * (SIGBUS): seal it against that where the file allows (a memfd made
         * with MFD_ALLOW_SEALING, as QEMU's are); others stay a risk. */
        fcntl(fds[i], F_ADD_SEALS, F_SEAL_SHRINK);
        /* hugetlbfs wants whole huge pages */
        uint64_t align = st.st_blksize >= 4096 && st.st_blksize <= (1 << 30) &&
                                 !(st.st_blksize & (st.st_blksize - 1))
                             ? (uint64_t)st.st_blksize
                             : 4096;
        size_t len = (size_t)((end + align - 1) & ~(align - 1));
        void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fds[i], 0);
        if (m == MAP_FAILED)
            goto bad;
        nr[i] = (struct vhost_region){.guest_addr = r->guest_addr,
                                      .user_addr = r->user_addr,
                                      .size = r->size,
                                      .host = (uint8_t *)m + r->mmap_offset,
                                      .map = m,
                                      .map_len = len};
    }
    mem_unmap(d->regions, d->n_regions);
    memcpy(d->regions, nr, sizeof nr);
    d->n_regions = n;
    for (unsigned i = 0; i < VHOST_N_VRINGS; i++)
        vring_translate(d, &d->vq[i]);
    return 0;
bad:
    mem_unmap(nr, n);
    return -EINVAL;
}

/* ---- rings ---- */

static void
vring_translate(struct vhost_dev *d, struct vhost_vring *vq)
{
    vq->desc = NULL;
    vq->avail = NULL;
    vq->used = NULL;
    if (!vq->num || !vq->addr_set)
        return;
    void *desc = translate(d, vq->desc_ua, virtq_desc_size(vq->num), true);
    void *avail = translate(d, vq->avail_ua, virtq_avail_size(vq->num), true);
    void *used = translate(d, vq->used_ua, virtq_used_size(vq->num), true);
    /* virtio 1.1 §2.6: alignment 16, 2 and 4 */
    if (!desc || !avail || !used || (uintptr_t)desc % 16 || (uintptr_t)avail % 2 ||
        (uintptr_t)used % 4)
        return;
    vq->desc = desc;
    vq->avail = avail;
    vq->used = used;
}

static bool
vring_usable(const struct vhost_vring *vq)
{
    return vq->desc && vq->started && vq->enabled && !vq->broken;
}

static void
vring_set_kick(struct vhost_dev *d, unsigned idx, int fd)
{
    struct vhost_vring *vq = &d->vq[idx];
    if (vq->kick_fd == fd)
        return;
    if (d->kick_changed)
        d->kick_changed(d->aux, idx, vq->kick_fd, fd);
    close_fd(&vq->kick_fd);
    vq->kick_fd = fd;
}

static void
vring_reset(struct vhost_dev *d, unsigned idx)
{
    struct vhost_vring *vq = &d->vq[idx];
    vring_set_kick(d, idx, -1);
    close_fd(&vq->call_fd);
    close_fd(&vq->err_fd);
    *vq = (struct vhost_vring){.kick_fd = -1, .call_fd = -1, .err_fd = -1};
}

static void
vring_break(struct vhost_dev *d, struct vhost_vring *vq, const char *why)
{
    vq->broken = true;
    d->stats.drops[VHOST_DROP_BAD_DESC]++;
    if (log_ratelimit_ok(&d->rl))
        log_warn("port=%s: ring %u: %s: the ring is stopped until it is set up again", d->name,
                 (unsigned)(vq - d->vq), why);
}

static uint16_t
load_u16(const uint16_t *p)
{
    return le16toh(__atomic_load_n(p, __ATOMIC_ACQUIRE));
}

/* Reads descriptor 'idx' once into 'out' and translates it.  Returns its host
 * address, or NULL (after breaking the ring) if it is bad. */
static uint8_t *
desc_get(struct vhost_dev *d, struct vhost_vring *vq, uint16_t idx, struct virtq_desc *out,
         uint16_t want_write)
{
    struct virtq_desc raw;
    memcpy(&raw, (const void *)&vq->desc[idx], sizeof raw);
    out->addr = le64toh(raw.addr);
    out->len = le32toh(raw.len);
    out->flags = le16toh(raw.flags);
    out->next = le16toh(raw.next);
    if (out->flags & VIRTQ_DESC_F_INDIRECT) {
        vring_break(d, vq, "indirect descriptor (not negotiated)");
        return NULL;
    }
    if ((out->flags & VIRTQ_DESC_F_WRITE) != want_write) {
        vring_break(d, vq,
                    want_write ? "read-only descriptor on the receive ring"
                               : "writable descriptor on the transmit ring");
        return NULL;
    }
    uint8_t *p = translate(d, out->addr, out->len, false);
    if (!p)
        vring_break(d, vq, "descriptor address outside guest memory");
    return p;
}

/* Follows the chain after 'cur'.  Returns false at its end; breaks the ring
 * (and returns false with '*bad') on an index out of range or a loop. */
static bool
desc_next(struct vhost_dev *d, struct vhost_vring *vq, const struct virtq_desc *cur, uint16_t *idx,
          unsigned *n_seen, bool *bad)
{
    if (!(cur->flags & VIRTQ_DESC_F_NEXT))
        return false;
    if (cur->next >= vq->num || ++*n_seen >= vq->num) {
        vring_break(d, vq,
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
vring_avail_count(struct vhost_dev *d, struct vhost_vring *vq, uint16_t *avail_idx)
{
    *avail_idx = load_u16(&vq->avail->idx);
    uint16_t n = (uint16_t)(*avail_idx - vq->last_avail);
    if (n > vq->num) {
        vring_break(d, vq, "available index ran ahead of the ring");
        return -1;
    }
    return n;
}

static uint16_t
vring_head(struct vhost_dev *d, struct vhost_vring *vq, uint16_t slot, bool *bad)
{
    uint16_t head =
        le16toh(__atomic_load_n(&vq->avail->ring[slot & (vq->num - 1)], __ATOMIC_RELAXED));
    if (head >= vq->num) {
        vring_break(d, vq, "descriptor index out of range");
        *bad = true;
    }
    return head;
}

static void
vring_used_put(struct vhost_vring *vq, uint16_t slot, uint16_t head, uint32_t len)
{
    struct virtq_used_elem *e = &vq->used->ring[slot & (vq->num - 1)];
    e->id = htole32(head);
    e->len = htole32(len);
}

/* Publishes the used entries up to last_used and calls the guest unless it
 * asked not to be (VRING_AVAIL_F_NO_INTERRUPT; no EVENT_IDX). */
static void
vring_publish(struct vhost_dev *d, struct vhost_vring *vq)
{
    __atomic_store_n(&vq->used->idx, htole16(vq->last_used), __ATOMIC_RELEASE);
    __atomic_thread_fence(__ATOMIC_SEQ_CST); /* store idx before reading flags */
    if (vq->call_fd >= 0 && !(load_u16(&vq->avail->flags) & VIRTQ_AVAIL_F_NO_INTERRUPT)) {
        uint64_t one = 1;
        if (write(vq->call_fd, &one, sizeof one) == sizeof one)
            d->stats.n_calls++;
    }
}

enum chain_result { CHAIN_OK, CHAIN_BAD, CHAIN_OVERSIZE, CHAIN_SHORT };

/* Copies the frame of the transmit chain at 'head' into 'p', skipping the
 * virtio-net header (which may span descriptors). */
static enum chain_result
chain_read(struct vhost_dev *d, struct vhost_vring *vq, uint16_t head, struct pkt *p)
{
    unsigned skip = d->hdr_len, n_seen = 0;
    uint16_t idx = head;
    bool bad = false;
    pkt_reset(p);
    for (;;) {
        struct virtq_desc desc;
        const uint8_t *src = desc_get(d, vq, idx, &desc, 0);
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
        if (!desc_next(d, vq, &desc, &idx, &n_seen, &bad))
            break;
    }
    if (bad)
        return CHAIN_BAD;
    return skip ? CHAIN_SHORT : CHAIN_OK;
}

unsigned
vhost_dev_dequeue(struct vhost_dev *d, struct pkt **pkts, unsigned n)
{
    struct vhost_vring *vq = &d->vq[VHOST_TXQ];
    if (!vring_usable(vq))
        return 0;
    uint16_t avail_idx;
    if (vring_avail_count(d, vq, &avail_idx) <= 0)
        return 0;
    unsigned got = 0;
    uint16_t used0 = vq->last_used;
    while (got < n && vq->last_avail != avail_idx) {
        bool bad = false;
        uint16_t head = vring_head(d, vq, vq->last_avail, &bad);
        if (bad)
            break;
        enum chain_result r = chain_read(d, vq, head, pkts[got]);
        if (r == CHAIN_BAD)
            break;
        vq->last_avail++;
        vring_used_put(vq, vq->last_used++, head, 0);
        if (r == CHAIN_OK)
            got++;
        else
            d->stats.drops[r == CHAIN_OVERSIZE ? VHOST_DROP_OVERSIZE : VHOST_DROP_SHORT]++;
    }
    if (vq->last_used != used0)
        vring_publish(d, vq);
    d->stats.rx_packets += got;
    return got;
}

bool
vhost_dev_tx_pending(const struct vhost_dev *d)
{
    const struct vhost_vring *vq = &d->vq[VHOST_TXQ];
    return vring_usable(vq) && load_u16(&vq->avail->idx) != vq->last_avail;
}

bool
vhost_dev_tx_polled(const struct vhost_dev *d)
{
    const struct vhost_vring *vq = &d->vq[VHOST_TXQ];
    return vring_usable(vq) && vq->kick_fd < 0;
}

/* The byte stream a received frame becomes: the header, then the frame. */
struct rx_stream {
    const uint8_t *hdr;
    unsigned hdr_len;
    const uint8_t *data;
    unsigned len;
    unsigned ofs;            /* bytes written so far */
    uint8_t *num_buffers[2]; /* where header bytes 10 and 11 landed */
};

static void
stream_copy(struct rx_stream *s, uint8_t *dst, unsigned k)
{
    while (k) {
        if (s->ofs < s->hdr_len) {
            unsigned c = s->hdr_len - s->ofs < k ? s->hdr_len - s->ofs : k;
            for (unsigned i = 0; i < c; i++) {
                unsigned o = s->ofs + i;
                if (o == 10 || o == 11)
                    s->num_buffers[o - 10] = dst + i;
            }
            memcpy(dst, s->hdr + s->ofs, c);
            dst += c;
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
chain_write(struct vhost_dev *d, struct vhost_vring *vq, uint16_t head, struct rx_stream *s)
{
    unsigned n_seen = 0, total = s->hdr_len + s->len;
    uint16_t idx = head;
    bool bad = false;
    long written = 0;
    for (;;) {
        struct virtq_desc desc;
        uint8_t *dst = desc_get(d, vq, idx, &desc, VIRTQ_DESC_F_WRITE);
        if (!dst)
            return -1;
        unsigned k = total - s->ofs < desc.len ? total - s->ofs : desc.len;
        stream_copy(s, dst, k);
        written += k;
        if (s->ofs == total || !desc_next(d, vq, &desc, &idx, &n_seen, &bad))
            break;
    }
    return bad ? -1 : written;
}

unsigned
vhost_dev_enqueue(struct vhost_dev *d, struct pkt *const *pkts, unsigned n)
{
    unsigned sent = vhost_dev_stage(d, pkts, n);
    vhost_dev_publish(d);
    return sent;
}

void
vhost_dev_publish(struct vhost_dev *d)
{
    struct vhost_vring *vq = &d->vq[VHOST_RXQ];
    if (vq->unpublished && d->conn >= 0 && vring_usable(vq))
        vring_publish(d, vq);
    vq->unpublished = false;
}

unsigned
vhost_dev_stage(struct vhost_dev *d, struct pkt *const *pkts, unsigned n)
{
    struct vhost_vring *vq = &d->vq[VHOST_RXQ];
    if (d->conn < 0 || !vring_usable(vq)) {
        d->stats.drops[VHOST_DROP_NOT_READY] += n;
        return 0;
    }
    uint16_t avail_idx;
    if (vring_avail_count(d, vq, &avail_idx) < 0)
        return 0;
    bool mrg = d->features & (1ULL << VIRTIO_NET_F_MRG_RXBUF);
    struct virtio_net_hdr hdr = {0};
    unsigned sent;
    uint16_t used0 = vq->last_used;
    for (sent = 0; sent < n; sent++) {
        struct rx_stream s = {.hdr = (const uint8_t *)&hdr,
                              .hdr_len = d->hdr_len,
                              .data = pkts[sent]->data,
                              .len = pkts[sent]->len};
        uint16_t cursor = vq->last_avail, n_bufs = 0;
        bool bad = false;
        while (s.ofs < s.hdr_len + s.len && cursor != avail_idx && (mrg || !n_bufs)) {
            uint16_t head = vring_head(d, vq, cursor, &bad);
            long w = bad ? -1 : chain_write(d, vq, head, &s);
            if (w < 0) {
                bad = true;
                break;
            }
            /* Staged past used->idx: the guest reads nothing there yet. */
            vring_used_put(vq, (uint16_t)(vq->last_used + n_bufs), head, (uint32_t)w);
            n_bufs++;
            cursor++;
        }
        if (bad || s.ofs < s.hdr_len + s.len) {
            if (!bad)
                d->stats.drops[VHOST_DROP_NO_RX_BUFFER] += n - sent;
            break;
        }
        if (s.num_buffers[0]) {
            *s.num_buffers[0] = (uint8_t)n_bufs;
            *s.num_buffers[1] = (uint8_t)(n_bufs >> 8);
        }
        vq->last_avail = cursor;
        vq->last_used = (uint16_t)(vq->last_used + n_bufs);
    }
    vq->unpublished |= vq->last_used != used0;
    d->stats.tx_packets += sent;
    return sent;
}

/* ---- messages ---- */

static bool
fd_is_eventfd(int fd)
{
    char path[64], target[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(path, target, sizeof target - 1);
    if (n < 0)
        return false;
    target[n] = '\0';
    return !strcmp(target, "anon_inode:[eventfd]");
}

const char *
vhost_user_request_name(uint32_t req)
{
    static const char *const names[] = {
        [VHOST_USER_GET_FEATURES] = "GET_FEATURES",
        [VHOST_USER_SET_FEATURES] = "SET_FEATURES",
        [VHOST_USER_SET_OWNER] = "SET_OWNER",
        [VHOST_USER_RESET_OWNER] = "RESET_OWNER",
        [VHOST_USER_SET_MEM_TABLE] = "SET_MEM_TABLE",
        [VHOST_USER_SET_LOG_BASE] = "SET_LOG_BASE",
        [VHOST_USER_SET_LOG_FD] = "SET_LOG_FD",
        [VHOST_USER_SET_VRING_NUM] = "SET_VRING_NUM",
        [VHOST_USER_SET_VRING_ADDR] = "SET_VRING_ADDR",
        [VHOST_USER_SET_VRING_BASE] = "SET_VRING_BASE",
        [VHOST_USER_GET_VRING_BASE] = "GET_VRING_BASE",
        [VHOST_USER_SET_VRING_KICK] = "SET_VRING_KICK",
        [VHOST_USER_SET_VRING_CALL] = "SET_VRING_CALL",
        [VHOST_USER_SET_VRING_ERR] = "SET_VRING_ERR",
        [VHOST_USER_GET_PROTOCOL_FEATURES] = "GET_PROTOCOL_FEATURES",
        [VHOST_USER_SET_PROTOCOL_FEATURES] = "SET_PROTOCOL_FEATURES",
        [VHOST_USER_GET_QUEUE_NUM] = "GET_QUEUE_NUM",
        [VHOST_USER_SET_VRING_ENABLE] = "SET_VRING_ENABLE",
    };
    return req < sizeof names / sizeof names[0] && names[req] ? names[req] : "unknown";
}

/* Takes fds[0] out of 'fds' for a SET_VRING_KICK/CALL/ERR message. */
static int
vring_fd_arg(const struct vhost_user_msg *m, int *fds, unsigned n_fds, unsigned *idx, int *fd)
{
    if (m->hdr.size < 8)
        return -EINVAL;
    uint64_t v = m->payload.u64;
    *idx = (unsigned)(v & VHOST_USER_VRING_IDX_MASK);
    *fd = -1;
    if (*idx >= VHOST_N_VRINGS ||
        (v & ~(uint64_t)(VHOST_USER_VRING_IDX_MASK | VHOST_USER_VRING_NOFD)))
        return -EINVAL;
    if (v & VHOST_USER_VRING_NOFD)
        return n_fds == 0 ? 0 : -EINVAL;
    /* Never block on it: a client could fill the counter (our call write
     * would wait) or empty it first (our kick read would).  The flag is on the
     * shared file description; QEMU and DPDK use non-blocking eventfds anyway. */
    int fl = fcntl(fds[0], F_GETFL);
    if (n_fds != 1 || !fd_is_eventfd(fds[0]) || fl < 0 ||
        fcntl(fds[0], F_SETFL, fl | O_NONBLOCK) < 0)
        return -EINVAL;
    *fd = fds[0];
    fds[0] = -1;
    return 0;
}

static int
vring_state_arg(const struct vhost_user_msg *m, unsigned n_fds)
{
    if (m->hdr.size < sizeof m->payload.state || n_fds)
        return -EINVAL;
    return m->payload.state.index < VHOST_N_VRINGS ? (int)m->payload.state.index : -EINVAL;
}

static void
dev_reset(struct vhost_dev *d)
{
    for (unsigned i = 0; i < VHOST_N_VRINGS; i++)
        vring_reset(d, i);
    mem_unmap(d->regions, d->n_regions);
    d->n_regions = 0;
    d->features = 0;
    d->protocol_features = 0;
    d->hdr_len = virtio_net_hdr_len(0);
}

/* Handles 'm'; returns <0 to refuse it, 0 done, 1 with a reply in 'r'. */
static int
dispatch(struct vhost_dev *d, const struct vhost_user_msg *m, int *fds, unsigned n_fds,
         struct vhost_user_msg *r)
{
    uint32_t size = m->hdr.size;
    int idx, fd, rc;
    unsigned ui;
    struct vhost_vring *vq;
    switch (m->hdr.request) {
    case VHOST_USER_GET_FEATURES:
        r->payload.u64 = VHOST_DEV_FEATURES;
        r->hdr.size = 8;
        return 1;
    case VHOST_USER_GET_PROTOCOL_FEATURES:
        r->payload.u64 = VHOST_DEV_PROTOCOL_FEATURES;
        r->hdr.size = 8;
        return 1;
    case VHOST_USER_GET_QUEUE_NUM:
        r->payload.u64 = 1;
        r->hdr.size = 8;
        return 1;
    case VHOST_USER_GET_VRING_BASE:
        idx = vring_state_arg(m, n_fds);
        r->hdr.size = sizeof r->payload.state;
        r->payload.state.index = m->payload.state.index;
        r->payload.state.num = 0;
        if (idx < 0)
            return 1; /* the front-end waits for an answer even to a bad question */
        vq = &d->vq[idx];
        r->payload.state.num = vq->last_avail;
        vq->started = false;
        vring_set_kick(d, (unsigned)idx, -1);
        return 1;
    case VHOST_USER_SET_FEATURES:
        if (size < 8 || n_fds || (m->payload.u64 & ~VHOST_DEV_FEATURES))
            return -EINVAL;
        d->features = m->payload.u64;
        d->hdr_len = virtio_net_hdr_len(d->features);
        for (unsigned i = 0; i < VHOST_N_VRINGS; i++)
            if (!(d->features & (1ULL << VHOST_USER_F_PROTOCOL_FEATURES)))
                d->vq[i].enabled = true;
        return 0;
    case VHOST_USER_SET_PROTOCOL_FEATURES:
        if (size < 8 || n_fds || (m->payload.u64 & ~VHOST_DEV_PROTOCOL_FEATURES))
            return -EINVAL;
        d->protocol_features = m->payload.u64;
        return 0;
    case VHOST_USER_SET_OWNER:
        return n_fds ? -EINVAL : 0;
    case VHOST_USER_RESET_OWNER:
        dev_reset(d);
        return 0;
    case VHOST_USER_SET_MEM_TABLE:
        ui = m->payload.mem.n_regions;
        if (size < 8 || ui > VHOST_USER_MAX_REGIONS ||
            size < 8 + sizeof(struct vhost_user_region) * ui)
            return -EINVAL;
        return mem_set(d, &m->payload.mem, fds, n_fds);
    case VHOST_USER_SET_VRING_NUM:
        if ((idx = vring_state_arg(m, n_fds)) < 0)
            return idx;
        ui = m->payload.state.num;
        if (!ui || ui > VIRTQ_MAX_SIZE || (ui & (ui - 1)))
            return -EINVAL;
        d->vq[idx].num = ui;
        vring_translate(d, &d->vq[idx]);
        return 0;
    case VHOST_USER_SET_VRING_BASE:
        if ((idx = vring_state_arg(m, n_fds)) < 0)
            return idx;
        if (m->payload.state.num > UINT16_MAX)
            return -EINVAL;
        d->vq[idx].last_avail = d->vq[idx].last_used = (uint16_t)m->payload.state.num;
        d->vq[idx].broken = false;
        return 0;
    case VHOST_USER_SET_VRING_ADDR:
        if (size < sizeof m->payload.addr || n_fds || m->payload.addr.index >= VHOST_N_VRINGS)
            return -EINVAL;
        vq = &d->vq[m->payload.addr.index];
        vq->desc_ua = m->payload.addr.desc;
        vq->avail_ua = m->payload.addr.avail;
        vq->used_ua = m->payload.addr.used;
        vq->addr_set = true;
        vq->broken = false;
        vring_translate(d, vq);
        if (!vq->desc)
            return -EINVAL;
        /* A front-end that outlived its back-end (we restarted) resumes where
         * its used ring says, as DPDK's vhost library does. */
        uint16_t used_idx = load_u16(&vq->used->idx);
        if (used_idx != vq->last_used)
            vq->last_avail = vq->last_used = used_idx;
        if (m->payload.addr.index == VHOST_RXQ)
            __atomic_store_n(&vq->used->flags, htole16(VIRTQ_USED_F_NO_NOTIFY), __ATOMIC_RELAXED);
        return 0;
    case VHOST_USER_SET_VRING_KICK:
        if ((rc = vring_fd_arg(m, fds, n_fds, &ui, &fd)) < 0)
            return rc;
        vring_set_kick(d, ui, fd);
        d->vq[ui].started = true;
        d->vq[ui].broken = false;
        return 0;
    case VHOST_USER_SET_VRING_CALL:
        if ((rc = vring_fd_arg(m, fds, n_fds, &ui, &fd)) < 0)
            return rc;
        close_fd(&d->vq[ui].call_fd);
        d->vq[ui].call_fd = fd;
        return 0;
    case VHOST_USER_SET_VRING_ERR:
        if ((rc = vring_fd_arg(m, fds, n_fds, &ui, &fd)) < 0)
            return rc;
        close_fd(&d->vq[ui].err_fd);
        d->vq[ui].err_fd = fd;
        return 0;
    case VHOST_USER_SET_VRING_ENABLE:
        if ((idx = vring_state_arg(m, n_fds)) < 0)
            return idx;
        d->vq[idx].enabled = m->payload.state.num != 0;
        return 0;
    default:
        if (log_ratelimit_ok(&d->rl))
            log_warn("port=%s: unsupported request %u (%s, %u bytes, %u fds): ignored", d->name,
                     m->hdr.request, vhost_user_request_name(m->hdr.request), size, n_fds);
        d->stats.n_bad_msgs++;
        return -ENOTSUP;
    }
}

bool
vhost_dev_handle_msg(struct vhost_dev *d, const struct vhost_user_msg *m, int *fds, unsigned n_fds,
                     struct vhost_user_msg *r)
{
    memset(&r->hdr, 0, sizeof r->hdr);
    r->payload.u64 = 0;
    int rc = m->hdr.size <= VHOST_USER_MAX_PAYLOAD ? dispatch(d, m, fds, n_fds, r) : -EINVAL;
    for (unsigned i = 0; i < n_fds; i++)
        close_fd(&fds[i]);
    if (rc < 0 && rc != -ENOTSUP) {
        d->stats.n_bad_msgs++;
        if (log_ratelimit_ok(&d->rl))
            log_warn("port=%s: refused %s (%u bytes, %u fds): bad arguments", d->name,
                     vhost_user_request_name(m->hdr.request), m->hdr.size, n_fds);
    }
    if (rc <= 0) {
        /* REPLY_ACK: 0 for success, non-zero for failure */
        if (!(m->hdr.flags & VHOST_USER_FLAG_NEED_REPLY) ||
            !(d->protocol_features & (1ULL << VHOST_USER_PROTOCOL_F_REPLY_ACK)))
            return false;
        r->payload.u64 = rc < 0;
        r->hdr.size = 8;
    }
    r->hdr.request = m->hdr.request;
    r->hdr.flags = VHOST_USER_VERSION | VHOST_USER_FLAG_REPLY;
    return true;
}

/* ---- connection ---- */

struct vhost_dev *
vhost_dev_create(const char *name, vhost_kick_changed_fn *kick_changed, void *aux)
{
    struct vhost_dev *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    snprintf(d->name, sizeof d->name, "%s", name);
    d->kick_changed = kick_changed;
    d->aux = aux;
    d->conn = -1;
    d->rl = (struct log_ratelimit)LOG_RATELIMIT_INIT(10, 10000);
    for (unsigned i = 0; i < VHOST_N_VRINGS; i++)
        d->vq[i] = (struct vhost_vring){.kick_fd = -1, .call_fd = -1, .err_fd = -1};
    d->hdr_len = virtio_net_hdr_len(0);
    return d;
}

void
vhost_dev_destroy(struct vhost_dev *d)
{
    if (!d)
        return;
    vhost_dev_detach(d);
    free(d);
}

int
vhost_dev_attach(struct vhost_dev *d, int fd)
{
    if (d->conn >= 0) {
        close(fd);
        return -EBUSY;
    }
    d->conn = fd;
    d->rlen = 0;
    d->n_rfds = 0;
    d->stats.n_attach++;
    return 0;
}

void
vhost_dev_detach(struct vhost_dev *d)
{
    if (d->conn < 0)
        return;
    dev_reset(d);
    close_fd(&d->conn);
    for (unsigned i = 0; i < d->n_rfds; i++)
        close_fd(&d->rfds[i]);
    d->n_rfds = 0;
    d->rlen = 0;
}

bool
vhost_dev_is_attached(const struct vhost_dev *d)
{
    return d->conn >= 0;
}

int
vhost_dev_conn_fd(const struct vhost_dev *d)
{
    return d->conn;
}

int
vhost_dev_kick_fd(const struct vhost_dev *d, unsigned idx)
{
    return idx < VHOST_N_VRINGS ? d->vq[idx].kick_fd : -1;
}

int
vhost_user_send(int sock, const struct vhost_user_hdr *hdr, const void *payload, size_t payload_len,
                const int *fds, unsigned n_fds)
{
    if (n_fds > VHOST_USER_MAX_FDS)
        return -EINVAL;
    struct iovec iov[2] = {
        {.iov_base = (void *)hdr, .iov_len = VHOST_USER_HDR_SIZE},
        {.iov_base = (void *)payload, .iov_len = payload_len},
    };
    union {
        char buf[CMSG_SPACE(sizeof(int) * VHOST_USER_MAX_FDS)];
        struct cmsghdr align;
    } cbuf;
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
    if (n_fds) {
        mh.msg_control = cbuf.buf;
        mh.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * n_fds);
    }
    ssize_t w;
    do
        w = sendmsg(sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
    while (w < 0 && errno == EINTR);
    if (w == (ssize_t)(VHOST_USER_HDR_SIZE + payload_len))
        return 0;
    return w < 0 ? -errno : -EIO;
}

static int
send_reply(struct vhost_dev *d)
{
    return vhost_user_send(d->conn, &d->reply.hdr, &d->reply.payload, d->reply.hdr.size, NULL, 0);
}

/* Reads what is still missing of the current message.  Returns 1 when it is
 * complete, 2 when it is not yet, 0 when the socket has nothing more now, <0
 * on error or hang-up. */
static int
recv_some(struct vhost_dev *d)
{
    size_t want = d->rlen < VHOST_USER_HDR_SIZE ? VHOST_USER_HDR_SIZE - d->rlen
                                                : VHOST_USER_HDR_SIZE + d->msg.hdr.size - d->rlen;
    if (!want)
        return 1;
    uint8_t *dst = d->rlen < VHOST_USER_HDR_SIZE
                       ? (uint8_t *)&d->msg.hdr + d->rlen
                       : d->msg.payload.raw + (d->rlen - VHOST_USER_HDR_SIZE);
    union {
        char buf[CMSG_SPACE(sizeof(int) * VHOST_USER_MAX_FDS)];
        struct cmsghdr align;
    } cbuf;
    struct iovec iov = {.iov_base = dst, .iov_len = want};
    struct msghdr mh = {.msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = cbuf.buf,
                        .msg_controllen = sizeof cbuf.buf};
    ssize_t n;
    do
        n = recvmsg(d->conn, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        unsigned k = (unsigned)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        for (unsigned i = 0; i < k; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
            if (d->n_rfds < VHOST_USER_MAX_FDS)
                d->rfds[d->n_rfds++] = fd;
            else
                close(fd);
        }
    }
    if (n == 0)
        return -ECONNRESET;
    if (mh.msg_flags & MSG_CTRUNC)
        return -EPROTO;
    d->rlen += (size_t)n;
    if (d->rlen == VHOST_USER_HDR_SIZE) {
        if ((d->msg.hdr.flags & VHOST_USER_FLAG_VERSION_MASK) != VHOST_USER_VERSION ||
            d->msg.hdr.size > VHOST_USER_MAX_PAYLOAD)
            return -EPROTO;
        memset(&d->msg.payload, 0, sizeof d->msg.payload);
    }
    return d->rlen >= VHOST_USER_HDR_SIZE && d->rlen == VHOST_USER_HDR_SIZE + d->msg.hdr.size ? 1
                                                                                              : 2;
}

int
vhost_dev_service(struct vhost_dev *d)
{
    if (d->conn < 0)
        return -ENOTCONN;
    for (;;) {
        int rc = recv_some(d);
        if (rc == 0)
            return 0;
        if (rc < 0) {
            if (rc == -EPROTO && log_ratelimit_ok(&d->rl))
                log_warn("port=%s: client broke the message framing: disconnecting", d->name);
            vhost_dev_detach(d);
            return rc;
        }
        if (rc == 2)
            continue;
        unsigned n_fds = d->n_rfds;
        d->n_rfds = 0;
        d->rlen = 0;
        log_debug("port=%s: %s (%u bytes, %u fds)", d->name,
                  vhost_user_request_name(d->msg.hdr.request), d->msg.hdr.size, n_fds);
        if (vhost_dev_handle_msg(d, &d->msg, d->rfds, n_fds, &d->reply)) {
            rc = send_reply(d);
            if (rc < 0) {
                vhost_dev_detach(d);
                return rc;
            }
        }
    }
}

void
vhost_dev_get_info(const struct vhost_dev *d, struct vhost_dev_info *info)
{
    *info = d->stats;
    info->attached = d->conn >= 0;
    info->features = d->features;
    info->protocol_features = d->protocol_features;
    info->hdr_len = d->hdr_len;
    info->n_regions = d->n_regions;
    info->mem_bytes = 0;
    for (unsigned i = 0; i < d->n_regions; i++)
        info->mem_bytes += d->regions[i].size;
    for (unsigned i = 0; i < VHOST_N_VRINGS; i++) {
        const struct vhost_vring *vq = &d->vq[i];
        info->vring[i] = (struct vhost_vring_info){.num = vq->num,
                                                   .started = vq->started,
                                                   .enabled = vq->enabled,
                                                   .usable = vring_usable(vq),
                                                   .broken = vq->broken,
                                                   .last_avail = vq->last_avail,
                                                   .last_used = vq->last_used};
    }
}
