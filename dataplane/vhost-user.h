/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vhost-user: the device (back-end, "slave") side of the vhost-user protocol
 * (QEMU docs/interop/vhost-user.rst) for one virtio-net device with one queue
 * pair, and its packet path: frames between its split rings and struct pkt
 * buffers (the rings and the copies are virtq.h's; this module sets the rings
 * up as the front-end says and hands them to it).
 *
 * A front-end (QEMU's vhost-user netdev, DPDK's virtio_user) connects over a
 * Unix stream socket, hands us its memory as file descriptors (SET_MEM_TABLE),
 * tells us where its rings are (SET_VRING_*) and gives us an eventfd per ring
 * to be kicked on (guest -> us) and one to call (us -> guest).  This module
 * owns one connection at a time (vhost_dev_attach); whoever listens and
 * accepts is the caller's business (port-vhost.c).
 *
 *     ring 0 (receiveq): frames TO the guest     vhost_dev_enqueue()
 *     ring 1 (transmitq): frames FROM the guest  vhost_dev_dequeue()
 *
 * Per ring state machine (spec "Starting and stopping rings"):
 *
 *     stopped --SET_VRING_KICK--> started --GET_VRING_BASE--> stopped
 *     enabled: from the start without PROTOCOL_FEATURES, else by SET_VRING_ENABLE
 *     usable  = started && enabled && num set && addresses inside guest memory
 *     broken  : a bad descriptor was seen; the ring is not followed until it
 *               is set up again (SET_VRING_ADDR/BASE/KICK) or the client goes
 *
 * Everything from the socket and from guest memory is untrusted: message sizes,
 * counts, ring sizes (power of two, <= 32768), every address (translated and
 * bounds-checked against the memory table), descriptor chains (at most 'num'
 * descriptors, indexes < num).  The guest may change its memory under us, so
 * each descriptor and ring index is read once into a local copy (virtq.h).
 * Each request has one handler, in a table indexed by request (vhost-user.c).
 *
 * Features offered: VERSION_1, MRG_RXBUF, PROTOCOL_FEATURES, LOG_ALL; protocol
 * features REPLY_ACK, LOG_SHMFD, RARP.  Not offered (and so never used):
 * EVENT_IDX, INDIRECT_DESC, MQ, packed rings.
 *
 * Live migration (spec "Migration"): the front-end hands us a dirty log in
 * shared memory (SET_LOG_BASE with a memfd: a bitmap, one bit per 4 KiB page
 * of guest physical memory) and turns LOG_ALL on; from then on every byte we
 * write into guest memory (received frames, used rings) sets its pages' bits,
 * so that the front-end sends them again.  It stops the rings with
 * GET_VRING_BASE before the last pass; the destination's front-end starts
 * them at the migrated index (SET_VRING_BASE), and asks us to announce the
 * guest (SEND_RARP): a RARP from its MAC enters the switch as if the guest
 * had sent it.
 *
 * Thread-safety: none; one thread calls everything for a device.  The packet
 * path (enqueue/dequeue) does not allocate.
 */
#ifndef DSE_VHOST_USER_H
#define DSE_VHOST_USER_H

#include <stdbool.h>
#include <stdint.h>

#include "dataplane/packet.h"
#include "dataplane/virtio.h"

/* ---- wire format (spec "Message Specification") ---- */

enum vhost_user_request {
    VHOST_USER_GET_FEATURES = 1,
    VHOST_USER_SET_FEATURES = 2,
    VHOST_USER_SET_OWNER = 3,
    VHOST_USER_RESET_OWNER = 4,
    VHOST_USER_SET_MEM_TABLE = 5,
    VHOST_USER_SET_LOG_BASE = 6,
    VHOST_USER_SET_LOG_FD = 7,
    VHOST_USER_SET_VRING_NUM = 8,
    VHOST_USER_SET_VRING_ADDR = 9,
    VHOST_USER_SET_VRING_BASE = 10,
    VHOST_USER_GET_VRING_BASE = 11,
    VHOST_USER_SET_VRING_KICK = 12,
    VHOST_USER_SET_VRING_CALL = 13,
    VHOST_USER_SET_VRING_ERR = 14,
    VHOST_USER_GET_PROTOCOL_FEATURES = 15,
    VHOST_USER_SET_PROTOCOL_FEATURES = 16,
    VHOST_USER_GET_QUEUE_NUM = 17,
    VHOST_USER_SET_VRING_ENABLE = 18,
    VHOST_USER_SEND_RARP = 19,
};

/* Protocol feature bits. */
enum {
    VHOST_USER_PROTOCOL_F_MQ = 0,
    VHOST_USER_PROTOCOL_F_LOG_SHMFD = 1,
    VHOST_USER_PROTOCOL_F_RARP = 2,
    VHOST_USER_PROTOCOL_F_REPLY_ACK = 3,
    VHOST_USER_PROTOCOL_F_CONFIG = 9,
};

#define VHOST_USER_VERSION 0x1
#define VHOST_USER_FLAG_VERSION_MASK 0x3U
#define VHOST_USER_FLAG_REPLY (1U << 2)
#define VHOST_USER_FLAG_NEED_REPLY (1U << 3)

#define VHOST_USER_HDR_SIZE 12
#define VHOST_USER_MAX_PAYLOAD 4096 /* larger messages end the connection */
#define VHOST_USER_MAX_REGIONS 8
#define VHOST_USER_MAX_FDS 8
#define VHOST_USER_VRING_IDX_MASK 0xffU
#define VHOST_USER_VRING_NOFD (1U << 8)
#define VHOST_VRING_F_LOG (1U << 0) /* vring address flag: log writes to the used ring */
#define VHOST_LOG_PAGE 4096         /* guest memory per bit of the dirty log */
#define VHOST_LOG_MAX (64U << 20)   /* the largest log we map: 2 TiB of guest memory */

#define VHOST_RXQ 0 /* the guest's receiveq: we write */
#define VHOST_TXQ 1 /* the guest's transmitq: we read */
#define VHOST_N_VRINGS 2

struct vhost_user_hdr {
    uint32_t request;
    uint32_t flags;
    uint32_t size; /* of the payload that follows */
};
_Static_assert(sizeof(struct vhost_user_hdr) == VHOST_USER_HDR_SIZE, "header is 12 bytes");

struct vhost_user_vring_state {
    uint32_t index;
    uint32_t num;
};

struct vhost_user_vring_addr {
    uint32_t index;
    uint32_t flags;
    uint64_t desc; /* front-end virtual addresses ("user addresses") */
    uint64_t used;
    uint64_t avail;
    uint64_t log;
};
_Static_assert(sizeof(struct vhost_user_vring_addr) == 40, "vring address is 40 bytes");

struct vhost_user_log {
    uint64_t mmap_size;
    uint64_t mmap_offset;
};

struct vhost_user_region {
    uint64_t guest_addr; /* guest physical: what descriptors carry */
    uint64_t size;
    uint64_t user_addr; /* front-end virtual: what SET_VRING_ADDR carries */
    uint64_t mmap_offset;
};
_Static_assert(sizeof(struct vhost_user_region) == 32, "region is 32 bytes");

struct vhost_user_mem {
    uint32_t n_regions;
    uint32_t padding;
    struct vhost_user_region regions[VHOST_USER_MAX_REGIONS];
};

/* A message as held in memory: the header, then the payload at an aligned
 * address (on the wire the payload follows the 12-byte header directly). */
struct vhost_user_msg {
    struct vhost_user_hdr hdr;
    union {
        uint64_t u64;
        struct vhost_user_vring_state state;
        struct vhost_user_vring_addr addr;
        struct vhost_user_mem mem;
        struct vhost_user_log log;
        uint8_t raw[VHOST_USER_MAX_PAYLOAD];
    } payload;
};

/* Sends one message on stream socket 'sock' without blocking: the 12-byte
 * 'hdr', 'payload_len' bytes of 'payload' (normally hdr->size) and 'n_fds'
 * (<= VHOST_USER_MAX_FDS) descriptors with it.  For both sides: the device's
 * replies and a front-end's requests.  Returns 0, or -errno (-EIO: sent in
 * part, -EINVAL: too many fds). */
int vhost_user_send(int sock, const struct vhost_user_hdr *hdr, const void *payload,
                    size_t payload_len, const int *fds, unsigned n_fds);

/* The name of request 'req' ("SET_MEM_TABLE"), or "unknown".  This function
 * can't fail. */
const char *vhost_user_request_name(uint32_t req);

/* ---- the device ---- */

/* Frames the device drops or cannot deliver, per reason (X(ENUM, name, what)). */
#define VHOST_DROPS(X)                                                                             \
    X(BAD_DESC, "vhost_bad_desc", "descriptor outside guest memory, looped or malformed")          \
    X(OVERSIZE, "vhost_oversize", "guest frame longer than a port may carry")                      \
    X(SHORT, "vhost_short", "guest frame shorter than the virtio-net header")                      \
    X(NO_RX_BUFFER, "vhost_no_rx_buffer", "the guest posted no receive buffer")                    \
    X(NOT_READY, "vhost_not_ready", "no client, or its receive ring is not running")
enum vhost_drop {
#define VHOST_DROP_ENUM_(e, name, what) VHOST_DROP_##e,
    VHOST_DROPS(VHOST_DROP_ENUM_)
#undef VHOST_DROP_ENUM_
        VHOST_DROP__N
};
const char *vhost_drop_name(enum vhost_drop d); /* can't fail */

struct vhost_vring_info {
    unsigned num; /* ring size, 0 if not set */
    bool started, enabled, usable, broken;
    uint16_t last_avail, last_used;
};

struct vhost_dev_info {
    bool attached;
    uint64_t features;          /* acked by the front-end */
    uint64_t protocol_features; /* acked */
    unsigned hdr_len;           /* virtio-net header in use */
    unsigned n_regions;
    uint64_t mem_bytes;
    struct vhost_vring_info vring[VHOST_N_VRINGS];
    uint64_t n_attach;               /* clients attached so far */
    uint64_t rx_packets, tx_packets; /* from, to the guest */
    uint64_t drops[VHOST_DROP__N];
    uint64_t n_calls;    /* call eventfd signals */
    uint64_t n_bad_msgs; /* refused messages */
    bool logging;        /* LOG_ALL on, with a dirty log: a migration runs */
    uint64_t log_bytes;  /* the dirty log's size */
    uint64_t log_marks;  /* writes into guest memory logged */
    uint64_t n_rarps;    /* announcements sent for the guest (SEND_RARP) */
};

/* Told when the kick eventfd of ring 'idx' changes, before 'old_fd' (or -1) is
 * closed, so that the caller can move its poll registration to 'new_fd' (or
 * -1). */
typedef void vhost_kick_changed_fn(void *aux, unsigned idx, int old_fd, int new_fd);

struct vhost_dev;

/* Creates a device named 'name' (for logs; copied).  Returns NULL on ENOMEM. */
struct vhost_dev *vhost_dev_create(const char *name, vhost_kick_changed_fn *kick_changed,
                                   void *aux);
/* Detaches any client and frees.  Accepts NULL. */
void vhost_dev_destroy(struct vhost_dev *);

/* Takes connected socket 'fd' (ownership passes, also on error) as the
 * client.  Returns 0, or -EBUSY when a client is attached (then 'fd' is
 * closed). */
int vhost_dev_attach(struct vhost_dev *, int fd);
/* Drops the client: unmaps its memory, stops and forgets the rings, closes
 * every descriptor it gave.  Counters stay.  No-op without a client. */
void vhost_dev_detach(struct vhost_dev *);
bool vhost_dev_is_attached(const struct vhost_dev *);
int vhost_dev_conn_fd(const struct vhost_dev *); /* -1 without a client */

/* Reads (non-blocking) and handles every complete message waiting on the
 * connection, and replies.  Returns 0 while the client stays, or -ECONNRESET
 * (it hung up), -EPROTO (it broke the framing) or another -errno of the
 * socket; in those cases the device has detached it. */
int vhost_dev_service(struct vhost_dev *);

/* Handles one message without any socket: 'msg''s payload holds
 * msg->hdr.size bytes (<= VHOST_USER_MAX_PAYLOAD); 'fds' are the 'n_fds'
 * descriptors that came with it, all of which this function consumes (keeps
 * or closes).  Returns true with 'reply' filled when a reply must be sent.
 * Bad messages are refused with a (rate-limited) log line and counted. */
bool vhost_dev_handle_msg(struct vhost_dev *, const struct vhost_user_msg *msg, int *fds,
                          unsigned n_fds, struct vhost_user_msg *reply);

/* The kick eventfd of ring 'idx', or -1. */
int vhost_dev_kick_fd(const struct vhost_dev *, unsigned idx);

/* Copies up to 'n' frames the guest transmitted into 'pkts' (caller-owned),
 * without the virtio-net header, returns them to the guest and calls it
 * unless it asked not to be.  Returns the number of frames.  Frames that are
 * too long or too short are dropped and counted; a bad descriptor is counted
 * and breaks the ring. */
unsigned vhost_dev_dequeue(struct vhost_dev *, struct pkt **pkts, unsigned n);

/* True when the guest has transmitted frames that dequeue has not taken. */
bool vhost_dev_tx_pending(const struct vhost_dev *);

/* True when the transmit ring runs but the client gave no kick eventfd
 * (VHOST_USER_VRING_NOFD): then it must be polled. */
bool vhost_dev_tx_polled(const struct vhost_dev *);

/* Copies up to 'n' frames into the guest's receive buffers (mergeable when
 * negotiated) and calls it.  Returns how many were delivered, in order; the
 * rest found no room.  The caller keeps ownership of every buffer. */
unsigned vhost_dev_enqueue(struct vhost_dev *, struct pkt *const *pkts, unsigned n);
/* The same in two steps, so that a burst's frames cost one publish and at most
 * one call: vhost_dev_stage() copies (the guest sees nothing yet),
 * vhost_dev_publish() makes every staged frame visible and calls the guest. */
unsigned vhost_dev_stage(struct vhost_dev *, struct pkt *const *pkts, unsigned n);
void vhost_dev_publish(struct vhost_dev *);

void vhost_dev_get_info(const struct vhost_dev *, struct vhost_dev_info *info);

/* What we offer. */
#define VHOST_DEV_FEATURES                                                                         \
    ((1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_NET_F_MRG_RXBUF) |                             \
     (1ULL << VHOST_USER_F_PROTOCOL_FEATURES) | (1ULL << VHOST_F_LOG_ALL))
#define VHOST_DEV_PROTOCOL_FEATURES                                                                \
    ((1ULL << VHOST_USER_PROTOCOL_F_REPLY_ACK) | (1ULL << VHOST_USER_PROTOCOL_F_LOG_SHMFD) |       \
     (1ULL << VHOST_USER_PROTOCOL_F_RARP))

#endif
