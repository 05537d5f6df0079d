/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vhost-front: the front-end (driver, "master") side of vhost-user for one
 * virtio-net device with one queue pair, the counterpart of vhost-user.h:
 * what QEMU or DPDK's virtio_user do, small enough for dse-pktgen's vhost-user
 * generator and sink and for the unit tests' in-test guest.
 *
 * Guest memory is one memfd (mapped MAP_SHARED; vfront_seal() seals its size)
 * laid out as
 *
 *     ring 0 (receiveq):  desc | avail | used      each area 4 KiB aligned
 *     ring 1 (transmitq): desc | avail | used
 *     buffers: ring q, descriptor i at buf_ofs + (q * num + i) * buf_len
 *
 * Guest physical addresses (what descriptors carry) start at 'gpa_base' and
 * front-end virtual addresses (what SET_VRING_ADDR carries) at 'ua_base': the
 * device translates both through the memory table, so they need not be the
 * mapping's real address.
 *
 * Ring bookkeeping (driver side of virtio 1.1 §2.6.13): avail_idx counts the
 * chains made available, used_idx the used entries consumed; both free-run
 * over 16 bits.  'busy' marks the heads the device holds, so that a used
 * entry naming a head we did not give, or giving it twice, is caught: the
 * device is not trusted (vfront_used_get()).
 *
 * Thread-safety: none; one thread uses a front-end.  The ring functions do
 * not allocate and make no system call except the kick's eventfd write.
 */
#ifndef DSE_VHOST_FRONT_H
#define DSE_VHOST_FRONT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dataplane/vhost-user.h"

struct vfront_ring {
    unsigned num;                           /* power of two, <= VIRTQ_MAX_SIZE */
    uint64_t desc_ofs, avail_ofs, used_ofs; /* in guest memory */
    struct virtq_desc *desc;
    struct virtq_avail *avail;
    struct virtq_used *used;
    uint16_t avail_idx; /* chains made available so far */
    uint16_t used_idx;  /* used entries consumed so far */
    uint8_t *busy;      /* 'num' flags: head given to the device */
    int kick_fd, call_fd;
    uint64_t n_kicks;
};

struct vfront {
    int sock; /* -1 until connected */
    int mem_fd;
    uint8_t *mem;
    size_t mem_len;
    uint64_t gpa_base, ua_base;
    unsigned buf_len;
    uint64_t buf_ofs;
    uint64_t features, protocol_features; /* negotiated */
    unsigned hdr_len;                     /* virtio-net header in use */
    struct vfront_ring ring[VHOST_N_VRINGS];
};

/* Creates guest memory for two rings of 'num' entries (a power of two) and
 * 'num' buffers of 'buf_len' bytes per ring, and the rings' eventfds (non-
 * blocking).  Returns 0 or -errno (-EINVAL for a bad 'num' or 'buf_len').  On
 * error nothing is left to free. */
int vfront_init(struct vfront *, unsigned num, unsigned buf_len, uint64_t gpa_base,
                uint64_t ua_base);
/* Unmaps and closes everything, the socket too.  Accepts a zeroed struct after
 * a failed init. */
void vfront_fini(struct vfront *);

/* Seals the size of guest memory for good (F_SEAL_SHRINK, _GROW, _SEAL), so
 * that no one can cut it under the device's mapping.  Returns 0 or -errno. */
int vfront_seal(struct vfront *);

/* Connects to the device listening on Unix socket 'path'.  Returns 0 or
 * -errno (-ENAMETOOLONG, -ENOENT, -ECONNREFUSED...). */
int vfront_connect(struct vfront *, const char *path);

/* Buffer 'id' of ring 'q', and the guest physical address of 'p' (inside
 * guest memory).  These functions can't fail. */
uint8_t *vfront_buf(const struct vfront *, unsigned q, unsigned id);
uint64_t vfront_gpa(const struct vfront *, const void *p);

/* ---- messages (all without waiting for an answer) ---- */

/* Sends request 'req' with 'flags' (VHOST_USER_FLAG_NEED_REPLY) besides the
 * version, 'size' bytes of 'payload' and 'n_fds' descriptors.  Returns 0 or
 * -errno of vhost_user_send(). */
int vfront_send(struct vfront *, uint32_t req, uint32_t flags, const void *payload, uint32_t size,
                const int *fds, unsigned n_fds);
int vfront_send_u64(struct vfront *, uint32_t req, uint32_t flags, uint64_t v);
int vfront_send_state(struct vfront *, uint32_t req, uint32_t flags, uint32_t index, uint32_t num);
/* SET_MEM_TABLE: one region, the first 'len' bytes of guest memory. */
int vfront_send_mem_table(struct vfront *, uint32_t flags, uint64_t len);
/* SET_VRING_NUM, _BASE (0), _ADDR, _CALL, _KICK and, with 'enable',
 * SET_VRING_ENABLE 1 for ring 'q', each with 'flags'.  Returns the number of
 * messages sent (for counting acks), or -errno. */
int vfront_send_vring(struct vfront *, unsigned q, uint32_t flags, bool enable);

/* Reads one reply to 'req' into '*v' (its u64 payload; GET_VRING_BASE: the
 * state's num), waiting up to 'timeout_ms' (0: only what is there).  Returns
 * 0, -ETIMEDOUT, -ECONNRESET (the device hung up), -EPROTO (not a reply to
 * 'req', or a bad size) or another -errno. */
int vfront_recv_reply(struct vfront *, uint32_t req, uint64_t *v, int timeout_ms);

/* The whole handshake, waiting for each answer up to 'timeout_ms': SET_OWNER,
 * GET_FEATURES, SET_FEATURES (VERSION_1 required; 'want' & offered: what of
 * MRG_RXBUF and PROTOCOL_FEATURES the caller wants), GET/SET_PROTOCOL_FEATURES
 * (REPLY_ACK when offered; then every later message is acknowledged and
 * checked), SET_MEM_TABLE, then both rings.  Every avail ring is flagged
 * VIRTQ_AVAIL_F_NO_INTERRUPT when 'no_interrupt' (a polling driver).
 * Returns 0, or -errno with a one-line reason in 'err'. */
int vfront_handshake(struct vfront *, uint64_t want, bool no_interrupt, int timeout_ms, char *err,
                     size_t err_len);

/* True when the device has hung up or the connection failed. */
bool vfront_hung_up(const struct vfront *);

/* ---- rings ---- */

/* Makes chain 'head' (< num) available in the next slot; the device sees it
 * after vfront_avail_publish().  The caller keeps at most 'num' chains out. */
static inline void
vfront_avail_put(struct vfront_ring *r, uint16_t head)
{
    r->avail->ring[r->avail_idx & (r->num - 1)] = head; /* little-endian host */
    r->busy[head] = 1;
    r->avail_idx++;
}

static inline void
vfront_avail_publish(struct vfront_ring *r)
{
    __atomic_store_n(&r->avail->idx, r->avail_idx, __ATOMIC_RELEASE);
}

/* Kicks the device unless it set VIRTQ_USED_F_NO_NOTIFY (no EVENT_IDX).  Call
 * after vfront_avail_publish().  Returns true if it kicked. */
bool vfront_kick(struct vfront_ring *r);

/* Used entries the device has published and we did not consume, or -EPROTO
 * when it claims more than we made available. */
int vfront_used_count(const struct vfront_ring *r);

/* Takes the next used entry into 'e' after checking it: its head is one the
 * device holds (which it then no longer does) and its length at most
 * 'max_len'.  Returns 1, 0 when there is none, or -EPROTO (the ring is then
 * not to be used again). */
int vfront_used_get(struct vfront_ring *r, uint32_t max_len, struct virtq_used_elem *e);

#endif
