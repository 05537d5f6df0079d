/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio: wire formats of virtio split virtqueues and of the virtio-net header
 * (virtio 1.1 §2.6 "Split Virtqueues", §5.1.6 "Device Operation"), shared by
 * the vhost-user device (dataplane/vhost-user.c) and every driver-side user
 * (the unit tests' in-test client).
 *
 * A split ring of 'num' entries (a power of two, at most VIRTQ_MAX_SIZE) is
 * three areas in the driver's memory:
 *
 *     descriptor table  num x {addr, len, flags, next}      driver writes
 *     available ring    {flags, idx, ring[num]}             driver writes
 *     used ring         {flags, idx, ring[num] of {id,len}} device writes
 *
 * Indexes are free-running 16-bit counters; an entry's slot is idx % num.
 * Everything is little-endian (VIRTIO_F_VERSION_1; legacy devices use the
 * guest's order, which is little-endian on every machine we run on).
 *
 * Thread-safety: definitions only.
 */
#ifndef DSE_VIRTIO_H
#define DSE_VIRTIO_H

#include <stddef.h>
#include <stdint.h>

/* Feature bits (virtio 1.1 §6, §5.1.3) and the vhost-user one (bit 30). */
enum {
    VIRTIO_NET_F_MRG_RXBUF = 15,
    VIRTIO_RING_F_INDIRECT_DESC = 28,
    VIRTIO_RING_F_EVENT_IDX = 29,
    VHOST_F_LOG_ALL = 26, /* vhost: log every write to guest memory (migration) */
    VHOST_USER_F_PROTOCOL_FEATURES = 30,
    VIRTIO_F_VERSION_1 = 32,
};

#define VIRTQ_DESC_F_NEXT (1U << 0)
#define VIRTQ_DESC_F_WRITE (1U << 1)
#define VIRTQ_DESC_F_INDIRECT (1U << 2)
#define VIRTQ_AVAIL_F_NO_INTERRUPT (1U << 0)
#define VIRTQ_USED_F_NO_NOTIFY (1U << 0)

#define VIRTQ_MAX_SIZE 32768

struct virtq_desc {
    uint64_t addr; /* guest physical address */
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};
_Static_assert(sizeof(struct virtq_desc) == 16, "virtq descriptor is 16 bytes");

struct virtq_avail {
    uint16_t flags;
    uint16_t idx;
    uint16_t ring[]; /* then uint16_t used_event with EVENT_IDX */
};

struct virtq_used_elem {
    uint32_t id;  /* head of the descriptor chain */
    uint32_t len; /* bytes written into the chain */
};
_Static_assert(sizeof(struct virtq_used_elem) == 8, "used element is 8 bytes");

struct virtq_used {
    uint16_t flags;
    uint16_t idx;
    struct virtq_used_elem ring[]; /* then uint16_t avail_event with EVENT_IDX */
};

/* Sizes in bytes of the three areas of a ring of 'num' entries, including the
 * event index fields (their space is reserved whether or not they are used). */
static inline size_t
virtq_desc_size(unsigned num)
{
    return 16 * (size_t)num;
}

static inline size_t
virtq_avail_size(unsigned num)
{
    return 6 + 2 * (size_t)num;
}

static inline size_t
virtq_used_size(unsigned num)
{
    return 6 + 8 * (size_t)num;
}

/* The virtio-net header in front of every frame.  It is 12 bytes (with
 * num_buffers) when VIRTIO_F_VERSION_1 or VIRTIO_NET_F_MRG_RXBUF is
 * negotiated, 10 bytes otherwise. */
struct virtio_net_hdr {
    uint8_t flags;
    uint8_t gso_type;
    uint16_t hdr_len;
    uint16_t gso_size;
    uint16_t csum_start;
    uint16_t csum_offset;
    uint16_t num_buffers; /* receive chains this frame used (mergeable buffers) */
};
_Static_assert(sizeof(struct virtio_net_hdr) == 12, "virtio-net header is 12 bytes");
#define VIRTIO_NET_HDR_LEN_LEGACY 10

static inline unsigned
virtio_net_hdr_len(uint64_t features)
{
    return features & ((1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_NET_F_MRG_RXBUF))
               ? sizeof(struct virtio_net_hdr)
               : VIRTIO_NET_HDR_LEN_LEGACY;
}

#endif
