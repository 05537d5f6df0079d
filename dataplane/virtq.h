/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtq: the device side of virtio split rings (virtio 1.1 §2.6) in a guest's
 * memory: where the rings are, and the packet copies between them and struct
 * pkt buffers.  vhost-user.c drives it: the protocol sets the rings up, this
 * module moves frames.
 *
 *     ring 0 (receiveq): frames TO the guest     virtq_stage(), virtq_publish()
 *     ring 1 (transmitq): frames FROM the guest  virtq_dequeue()
 *
 * Design: the guest's memory is a table of regions (struct virtq_mem), each
 * mapped once; every address the guest or its front-end gives (ring areas in
 * the front-end's virtual addresses, descriptors in guest physical ones) is
 * translated and bounds-checked against it, and nothing is followed that does
 * not lie inside one region.  The guest may change its memory under us, so
 * each descriptor and ring index is read once into a local copy; a chain is at
 * most 'num' descriptors, indexes < num.  A bad descriptor breaks the ring: it
 * is not followed until the protocol sets it up again.  Received frames are
 * staged past the used index and published once per burst (one index store,
 * at most one call), with mergeable buffers when negotiated; the guest is
 * called unless it asked not to be (no EVENT_IDX, no indirect descriptors).
 *
 * Thread-safety: none; the one thread that runs the device calls everything
 * for its rings.  Nothing here allocates.
 */
#ifndef DSE_VIRTQ_H
#define DSE_VIRTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dataplane/packet.h"
#include "dataplane/vhost-user.h"
#include "dataplane/virtio.h"
#include "lib/log.h"

/* One region of guest memory, mapped. */
struct virtq_region {
    uint64_t guest_addr, user_addr, size;
    uint8_t *host; /* where guest_addr is mapped */
    void *map;
    size_t map_len;
};

struct virtq_mem {
    unsigned n_regions;
    struct virtq_region regions[VHOST_USER_MAX_REGIONS];
};

/* The device around its rings: what they share.  Embedded in it. */
struct virtq_dev {
    char name[32]; /* for logs */
    struct log_ratelimit rl;
    struct virtq_mem mem;
    /* The dirty log (migration): one bit per VHOST_LOG_PAGE of guest
     * physical memory, set for every write while 'logging'. */
    uint8_t *log;
    uint64_t log_len;
    void *log_map;
    size_t log_map_len;
    bool logging;
    uint64_t features;           /* acked by the front-end */
    unsigned hdr_len;            /* virtio-net header in use */
    struct vhost_dev_info stats; /* counters only; the rest is filled on demand */
};

/* One ring.  The protocol sets 'num', the eventfds and the flags. */
struct virtq {
    unsigned idx; /* which ring, for logs */
    unsigned num; /* 0: not set */
    bool addr_set;
    uint64_t desc_ua, avail_ua, used_ua;
    uint64_t used_gpa;       /* the used ring's guest physical address, for the log */
    bool log_used;           /* VHOST_VRING_F_LOG: log what we write to the used ring */
    struct virtq_desc *desc; /* translated; NULL while the addresses are not valid */
    struct virtq_avail *avail;
    struct virtq_used *used;
    uint16_t last_avail, last_used;
    bool unpublished; /* used entries staged past used->idx (receive ring) */
    int kick_fd, call_fd, err_fd;
    bool started, enabled, broken;
};

/* Whether frames may move on 'vq': its addresses are valid, it is started and
 * enabled, and not broken. */
bool virtq_usable(const struct virtq *vq);

/* Translates the ring areas again ('num' or the memory table changed); they
 * stay unset until both 'num' and the addresses are known and valid. */
void virtq_map(const struct virtq_dev *, struct virtq *vq);

/* The front-end's addresses of the ring areas (SET_VRING_ADDR).  Returns 0, or
 * -EINVAL if they are not inside guest memory yet (they are kept, for a later
 * memory table).  A front-end that outlived its back-end resumes where its
 * used ring says, as DPDK's vhost library does. */
int virtq_set_addr(struct virtq_dev *, struct virtq *vq, uint64_t desc_ua, uint64_t avail_ua,
                   uint64_t used_ua);

/* Marks 'len' bytes at guest physical 'gpa' dirty in the log (pages past
 * the log's end are not marked); virtq_log() only while logging, so that the
 * packet path pays one test when no migration runs. */
void virtq_log_mark(struct virtq_dev *, uint64_t gpa, uint64_t len);
static inline void
virtq_log(struct virtq_dev *qd, uint64_t gpa, uint64_t len)
{
    if (__builtin_expect(qd->logging, 0))
        virtq_log_mark(qd, gpa, len);
}

/* Copies up to 'n' frames the guest transmitted on 'vq' into 'pkts'
 * (caller-owned), without the virtio-net header, returns them to the guest
 * and calls it.  Returns the number of frames.  Frames too long or too short
 * are dropped and counted; a bad descriptor is counted and breaks the ring. */
unsigned virtq_dequeue(struct virtq_dev *, struct virtq *vq, struct pkt **pkts, unsigned n);

/* True when the guest has transmitted frames on 'vq' that dequeue has not
 * taken. */
bool virtq_pending(const struct virtq *vq);

/* Copies up to 'n' frames into the guest's receive buffers on 'vq' (the guest
 * sees nothing yet).  Returns how many were staged, in order; the rest found
 * no room, or the ring is not usable (counted).  The caller keeps every
 * buffer. */
unsigned virtq_stage(struct virtq_dev *, struct virtq *vq, struct pkt *const *pkts, unsigned n);
/* Makes every staged frame visible and calls the guest. */
void virtq_publish(struct virtq_dev *, struct virtq *vq);

#endif
