/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vhost-user device tests.  An in-test front-end ("guest", the shared
 * vhost-front.h, its memfd left unsealed so that the device's own sealing
 * shows) talks the protocol over a socketpair to a vhost_dev, or over a real
 * Unix socket to a "vhost-user" port.  Guest physical and front-end virtual
 * addresses differ on purpose, so that a translation through the wrong space
 * shows.
 *
 *     guest memory (MEM_LEN, vfront_init()'s layout for 16-entry rings)
 *       0x00000 rx desc  0x01000 rx avail  0x02000 rx used
 *       0x03000 tx desc  0x04000 tx avail  0x05000 tx used
 *       0x06000 + i * 4 KiB: buffer of descriptor i (rx: 0..15, tx: 16..31)
 */
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "tests/unit/check.h"
#include "lib/log.h"
#include "dataplane/port.h"
#include "dataplane/vhost-front.h"
#include "lib/util.h"
#include "dataplane/vhost-user.h"

#define GPA_BASE 0x40000000ULL
#define UA_BASE 0x7f1200000000ULL
#define BUF_LEN 4096u
#define NUM 16
#define MEM_LEN (0x6000u + 2 * NUM * BUF_LEN) /* vfront_init()'s layout */

/* The in-test guest: the shared front-end (vhost-front.h) plus the next
 * descriptor each ring hands out, round robin, so that chains can span. */
struct guest {
    struct vfront f;
    uint16_t next_desc[2];
};

static uint64_t
gpa(const struct guest *g, const void *p)
{
    return vfront_gpa(&g->f, p);
}

static struct virtq_desc *
g_desc(struct guest *g, unsigned q)
{
    return g->f.ring[q].desc;
}

static struct virtq_avail *
g_avail(struct guest *g, unsigned q)
{
    return g->f.ring[q].avail;
}

static struct virtq_used *
g_used(struct guest *g, unsigned q)
{
    return g->f.ring[q].used;
}

static uint8_t *
g_buf(struct guest *g, unsigned q, unsigned desc)
{
    return vfront_buf(&g->f, q, desc);
}

static void
g_init(struct guest *g, int sock)
{
    memset(g, 0, sizeof *g);
    if (vfront_init(&g->f, NUM, BUF_LEN, GPA_BASE, UA_BASE) < 0 || g->f.mem_len != MEM_LEN)
        abort();
    g->f.sock = sock;
}

static void
g_fini(struct guest *g)
{
    vfront_fini(&g->f);
}

static void
g_send(struct guest *g, uint32_t req, uint32_t flags, const void *payload, uint32_t size,
       const int *fds, unsigned n_fds)
{
    int rc = vfront_send(&g->f, req, flags, payload, size, fds, n_fds);
    if (rc < 0)
        fprintf(stderr, "vhost_user_send: %s\n", strerror(-rc));
}

/* Reads one reply; returns its u64 payload (or state.num), or -1 if none. */
static int64_t
g_reply(struct guest *g, uint32_t req)
{
    uint64_t v;
    return vfront_recv_reply(&g->f, req, &v, 0) < 0 ? -1 : (int64_t)v;
}

static void
g_u64(struct guest *g, uint32_t req, uint64_t v)
{
    vfront_send_u64(&g->f, req, 0, v);
}

static void
g_state(struct guest *g, uint32_t req, uint32_t flags, uint32_t index, uint32_t num)
{
    vfront_send_state(&g->f, req, flags, index, num);
}

static void
g_mem_table(struct guest *g, uint64_t size)
{
    vfront_send_mem_table(&g->f, 0, size);
}

/* The whole handshake, as DPDK's virtio_user does it, without waiting for
 * answers (the device is serviced afterwards, on this thread). */
static void
g_setup(struct guest *g, struct vhost_dev *d, uint64_t features)
{
    g_send(g, VHOST_USER_SET_OWNER, 0, NULL, 0, NULL, 0);
    g_send(g, VHOST_USER_GET_FEATURES, 0, NULL, 0, NULL, 0);
    g_u64(g, VHOST_USER_SET_FEATURES, features);
    g_u64(g, VHOST_USER_SET_PROTOCOL_FEATURES, 1ULL << VHOST_USER_PROTOCOL_F_REPLY_ACK);
    g_mem_table(g, MEM_LEN);
    vfront_send_vring(&g->f, VHOST_RXQ, 0, true);
    vfront_send_vring(&g->f, VHOST_TXQ, 0, true);
    if (d)
        vhost_dev_service(d);
    g_reply(g, VHOST_USER_GET_FEATURES);
}

static uint16_t
g_next(struct guest *g, unsigned q)
{
    uint16_t i = g->next_desc[q];
    g->next_desc[q] = (uint16_t)((i + 1) % NUM);
    return i;
}

/* Posts a frame on the transmit ring in 'n_segs' descriptors, the virtio-net
 * header (12 bytes) in the first one. */
static void
g_tx(struct guest *g, const uint8_t *frame, unsigned len, unsigned n_segs)
{
    uint8_t stream[3 * BUF_LEN];
    memset(stream, 0, 12);
    memcpy(stream + 12, frame, len);
    unsigned total = 12 + len, ofs = 0, head = g->next_desc[VHOST_TXQ];
    for (unsigned s = 0; s < n_segs; s++) {
        unsigned i = g_next(g, VHOST_TXQ);
        unsigned k = s == n_segs - 1 ? total - ofs : (total / n_segs);
        memcpy(g_buf(g, VHOST_TXQ, i), stream + ofs, k);
        g_desc(g, VHOST_TXQ)[i] =
            (struct virtq_desc){.addr = gpa(g, g_buf(g, VHOST_TXQ, i)),
                                .len = k,
                                .flags = s < n_segs - 1 ? VIRTQ_DESC_F_NEXT : 0,
                                .next = g->next_desc[VHOST_TXQ]};
        ofs += k;
    }
    vfront_avail_put(&g->f.ring[VHOST_TXQ], (uint16_t)head);
    vfront_avail_publish(&g->f.ring[VHOST_TXQ]);
}

/* Posts 'n' receive buffers of 'len' bytes each. */
static void
g_rx_post(struct guest *g, unsigned n, unsigned len)
{
    for (unsigned k = 0; k < n; k++) {
        unsigned i = g_next(g, VHOST_RXQ);
        g_desc(g, VHOST_RXQ)[i] = (struct virtq_desc){
            .addr = gpa(g, g_buf(g, VHOST_RXQ, i)), .len = len, .flags = VIRTQ_DESC_F_WRITE};
        vfront_avail_put(&g->f.ring[VHOST_RXQ], (uint16_t)i);
    }
    vfront_avail_publish(&g->f.ring[VHOST_RXQ]);
}

/* Takes the next received frame (following num_buffers) into 'out'.
 * Returns its length without the header, or -1 if none. */
static int
g_rx_take(struct guest *g, uint8_t *out, unsigned *n_bufs)
{
    struct vfront_ring *r = &g->f.ring[VHOST_RXQ];
    struct virtq_used_elem e;
    if (vfront_used_get(r, BUF_LEN, &e) != 1)
        return -1;
    struct virtio_net_hdr h;
    memcpy(&h, g_buf(g, VHOST_RXQ, e.id), sizeof h);
    *n_bufs = h.num_buffers;
    unsigned len = 0;
    for (unsigned b = 0; b < h.num_buffers; b++) {
        if (b && vfront_used_get(r, BUF_LEN, &e) != 1)
            return -1;
        unsigned skip = b == 0 ? 12 : 0;
        memcpy(out + len, g_buf(g, VHOST_RXQ, e.id) + skip, e.len - skip);
        len += e.len - skip;
    }
    return (int)len;
}

static uint64_t
eventfd_take(int fd)
{
    uint64_t v = 0;
    if (read(fd, &v, sizeof v) != sizeof v)
        return 0;
    return v;
}

static void
frame_fill(uint8_t *f, unsigned len, uint8_t seed)
{
    for (unsigned i = 0; i < len; i++)
        f[i] = (uint8_t)(seed + i * 7);
    memcpy(f, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01", 12);
}

/* A device with a guest attached over a socketpair and fully set up. */
struct fixture {
    struct vhost_dev *dev;
    struct guest g;
    struct pkt *pkts[4];
};

static void
fx_init(struct fixture *f, uint64_t features)
{
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
    f->dev = vhost_dev_create("t", NULL, NULL);
    vhost_dev_attach(f->dev, sv[0]);
    g_init(&f->g, sv[1]);
    g_setup(&f->g, f->dev, features);
    for (int i = 0; i < 4; i++) {
        f->pkts[i] = calloc(1, sizeof(struct pkt));
        pkt_reset(f->pkts[i]);
    }
}

static void
fx_fini(struct fixture *f)
{
    vhost_dev_destroy(f->dev);
    g_fini(&f->g);
    for (int i = 0; i < 4; i++)
        free(f->pkts[i]);
}

static struct vhost_dev_info
info(struct vhost_dev *d)
{
    struct vhost_dev_info i;
    vhost_dev_get_info(d, &i);
    return i;
}

#define ALL_FEATURES VHOST_DEV_FEATURES

static void
negotiation_and_replies(void)
{
    struct fixture f;
    fx_init(&f, ALL_FEATURES);
    struct vhost_dev_info i = info(f.dev);
    ASSERT_TRUE(i.attached);
    ASSERT_EQ(i.features, ALL_FEATURES);
    ASSERT_EQ(i.hdr_len, 12);
    ASSERT_EQ(i.n_regions, 1);
    ASSERT_TRUE(fcntl(f.g.f.mem_fd, F_GET_SEALS) & F_SEAL_SHRINK); /* cannot be cut under us */
    ASSERT_EQ(i.vring[0].num, NUM);
    ASSERT_TRUE(i.vring[0].usable);
    ASSERT_TRUE(i.vring[1].usable);
    ASSERT_EQ(i.n_bad_msgs, 0);

    g_send(&f.g, VHOST_USER_GET_PROTOCOL_FEATURES, 0, NULL, 0, NULL, 0);
    g_send(&f.g, VHOST_USER_GET_QUEUE_NUM, 0, NULL, 0, NULL, 0);
    vhost_dev_service(f.dev);
    ASSERT_EQ(g_reply(&f.g, VHOST_USER_GET_PROTOCOL_FEATURES), VHOST_DEV_PROTOCOL_FEATURES);
    ASSERT_EQ(g_reply(&f.g, VHOST_USER_GET_QUEUE_NUM), 1);

    /* REPLY_ACK: 0 for a good message, non-zero for a bad one */
    g_state(&f.g, VHOST_USER_SET_VRING_NUM, VHOST_USER_FLAG_NEED_REPLY, 0, NUM);
    vhost_dev_service(f.dev);
    ASSERT_EQ(g_reply(&f.g, VHOST_USER_SET_VRING_NUM), 0);
    static const uint32_t bad_nums[] = {0, 3, 65536, 1u << 31};
    for (unsigned k = 0; k < 4; k++) {
        g_state(&f.g, VHOST_USER_SET_VRING_NUM, VHOST_USER_FLAG_NEED_REPLY, 1, bad_nums[k]);
        vhost_dev_service(f.dev);
        ASSERT_EQ(g_reply(&f.g, VHOST_USER_SET_VRING_NUM), 1);
    }
    g_state(&f.g, VHOST_USER_SET_VRING_NUM, VHOST_USER_FLAG_NEED_REPLY, 7, NUM); /* no ring 7 */
    vhost_dev_service(f.dev);
    ASSERT_EQ(g_reply(&f.g, VHOST_USER_SET_VRING_NUM), 1);
    /* an unknown request is refused, not fatal */
    g_send(&f.g, 99, VHOST_USER_FLAG_NEED_REPLY, "xyz", 3, NULL, 0);
    vhost_dev_service(f.dev);
    ASSERT_EQ(g_reply(&f.g, 99), 1);
    /* a kick fd that is not an eventfd, and a call without its fd */
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    uint64_t v = 1;
    g_send(&f.g, VHOST_USER_SET_VRING_KICK, VHOST_USER_FLAG_NEED_REPLY, &v, 8, &p[0], 1);
    g_send(&f.g, VHOST_USER_SET_VRING_CALL, VHOST_USER_FLAG_NEED_REPLY, &v, 8, NULL, 0);
    vhost_dev_service(f.dev);
    ASSERT_EQ(g_reply(&f.g, VHOST_USER_SET_VRING_KICK), 1);
    ASSERT_EQ(g_reply(&f.g, VHOST_USER_SET_VRING_CALL), 1);
    close(p[0]);
    close(p[1]);
    /* features we did not offer */
    g_send(&f.g, VHOST_USER_SET_FEATURES, VHOST_USER_FLAG_NEED_REPLY,
           &(uint64_t){1ULL << VIRTIO_RING_F_EVENT_IDX}, 8, NULL, 0);
    vhost_dev_service(f.dev);
    ASSERT_EQ(g_reply(&f.g, VHOST_USER_SET_FEATURES), 1);
    i = info(f.dev);
    ASSERT_TRUE(i.attached);
    ASSERT_TRUE(i.vring[1].usable);
    ASSERT_GE(i.n_bad_msgs, 7);
    /* GET_VRING_BASE stops the ring and says where it was */
    g_state(&f.g, VHOST_USER_GET_VRING_BASE, 0, 1, 0);
    vhost_dev_service(f.dev);
    ASSERT_EQ(g_reply(&f.g, VHOST_USER_GET_VRING_BASE), 0);
    ASSERT_FALSE(info(f.dev).vring[1].usable);
    ASSERT_EQ(vhost_dev_kick_fd(f.dev, 1), -1);
    fx_fini(&f);
}

static void
mem_table_is_checked(void)
{
    struct fixture f;
    fx_init(&f, ALL_FEATURES);
    /* larger than the file: refused, the old table stays */
    struct vhost_user_mem m = {.n_regions = 1};
    m.regions[0] = (struct vhost_user_region){.guest_addr = 0, .size = 2 * MEM_LEN, .user_addr = 0};
    g_send(&f.g, VHOST_USER_SET_MEM_TABLE, VHOST_USER_FLAG_NEED_REPLY, &m, 40, &f.g.f.mem_fd, 1);
    /* wrapping around the address space */
    m.regions[0] = (struct vhost_user_region){.guest_addr = UINT64_MAX - 10, .size = 4096};
    g_send(&f.g, VHOST_USER_SET_MEM_TABLE, VHOST_USER_FLAG_NEED_REPLY, &m, 40, &f.g.f.mem_fd, 1);
    /* more regions than fds, and more than fit */
    m.n_regions = 2;
    g_send(&f.g, VHOST_USER_SET_MEM_TABLE, VHOST_USER_FLAG_NEED_REPLY, &m, 72, &f.g.f.mem_fd, 1);
    m.n_regions = 9;
    g_send(&f.g, VHOST_USER_SET_MEM_TABLE, VHOST_USER_FLAG_NEED_REPLY, &m, 40, &f.g.f.mem_fd, 1);
    vhost_dev_service(f.dev);
    for (int k = 0; k < 4; k++)
        ASSERT_EQ(g_reply(&f.g, VHOST_USER_SET_MEM_TABLE), 1);
    ASSERT_EQ(info(f.dev).mem_bytes, MEM_LEN);
    ASSERT_TRUE(info(f.dev).vring[1].usable);
    /* a ring that lies outside memory does not run */
    struct vhost_user_vring_addr a = {
        .index = 1, .desc = UA_BASE + MEM_LEN - 8, .avail = UA_BASE, .used = UA_BASE};
    g_send(&f.g, VHOST_USER_SET_VRING_ADDR, VHOST_USER_FLAG_NEED_REPLY, &a, sizeof a, NULL, 0);
    vhost_dev_service(f.dev);
    ASSERT_EQ(g_reply(&f.g, VHOST_USER_SET_VRING_ADDR), 1);
    ASSERT_FALSE(info(f.dev).vring[1].usable);
    ASSERT_EQ(vhost_dev_dequeue(f.dev, f.pkts, 4), 0);
    fx_fini(&f);
}

static void
guest_tx_is_received(void)
{
    struct fixture f;
    fx_init(&f, ALL_FEATURES);
    uint8_t fr[1500];
    frame_fill(fr, 60, 1);
    g_tx(&f.g, fr, 60, 1);
    frame_fill(fr, 1500, 2);
    g_tx(&f.g, fr, 1500, 4); /* header and frame over four descriptors */
    ASSERT_TRUE(vhost_dev_tx_pending(f.dev));
    ASSERT_EQ(vhost_dev_dequeue(f.dev, f.pkts, 4), 2);
    ASSERT_EQ(f.pkts[0]->len, 60);
    ASSERT_EQ(f.pkts[1]->len, 1500);
    ASSERT_EQ(memcmp(f.pkts[1]->data, fr, 1500), 0);
    ASSERT_EQ(g_used(&f.g, 1)->idx, 2);
    ASSERT_EQ(eventfd_take(f.g.f.ring[1].call_fd), 1);
    ASSERT_FALSE(vhost_dev_tx_pending(f.dev));
    /* the guest asks not to be called */
    g_avail(&f.g, 1)->flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
    g_tx(&f.g, fr, 100, 1);
    ASSERT_EQ(vhost_dev_dequeue(f.dev, f.pkts, 4), 1);
    ASSERT_EQ(eventfd_take(f.g.f.ring[1].call_fd), 0);
    ASSERT_EQ(info(f.dev).rx_packets, 3);
    fx_fini(&f);
}

static void
guest_rx_uses_mergeable_buffers(void)
{
    struct fixture f;
    fx_init(&f, ALL_FEATURES);
    ASSERT_EQ(g_used(&f.g, 0)->flags, VIRTQ_USED_F_NO_NOTIFY);
    g_rx_post(&f.g, 8, 1024);
    frame_fill(f.pkts[0]->data, 3000, 3);
    f.pkts[0]->len = 3000;
    frame_fill(f.pkts[1]->data, 64, 4);
    f.pkts[1]->len = 64;
    ASSERT_EQ(vhost_dev_enqueue(f.dev, f.pkts, 2), 2);
    ASSERT_EQ(eventfd_take(f.g.f.ring[0].call_fd), 1);
    uint8_t out[PKT_DATA_MAX];
    unsigned nb;
    ASSERT_EQ(g_rx_take(&f.g, out, &nb), 3000);
    ASSERT_EQ(nb, 3); /* 12 + 3000 bytes in 1024-byte buffers */
    ASSERT_EQ(memcmp(out, f.pkts[0]->data, 3000), 0);
    ASSERT_EQ(g_rx_take(&f.g, out, &nb), 64);
    ASSERT_EQ(nb, 1);
    /* 4 buffers left: a 5000-byte frame does not fit and is not half-sent */
    frame_fill(f.pkts[2]->data, 5000, 5);
    f.pkts[2]->len = 5000;
    ASSERT_EQ(vhost_dev_enqueue(f.dev, &f.pkts[2], 1), 0);
    ASSERT_EQ(info(f.dev).drops[VHOST_DROP_NO_RX_BUFFER], 1);
    g_rx_post(&f.g, 4, 1024);
    ASSERT_EQ(vhost_dev_enqueue(f.dev, &f.pkts[2], 1), 1);
    ASSERT_EQ(g_rx_take(&f.g, out, &nb), 5000);
    ASSERT_EQ(nb, 5);
    ASSERT_EQ(memcmp(out, f.pkts[2]->data, 5000), 0);
    fx_fini(&f);
}

static void
rx_without_mergeable_buffers(void)
{
    struct fixture f;
    fx_init(&f, (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VHOST_USER_F_PROTOCOL_FEATURES));
    ASSERT_EQ(info(f.dev).hdr_len, 12);
    g_rx_post(&f.g, 2, 1024);
    f.pkts[0]->len = 2000; /* one buffer per frame: does not fit */
    ASSERT_EQ(vhost_dev_enqueue(f.dev, f.pkts, 1), 0);
    f.pkts[0]->len = 1000;
    ASSERT_EQ(vhost_dev_enqueue(f.dev, f.pkts, 1), 1);
    uint8_t out[PKT_DATA_MAX];
    unsigned nb;
    ASSERT_EQ(g_rx_take(&f.g, out, &nb), 1000);
    ASSERT_EQ(nb, 1);
    fx_fini(&f);

    /* legacy: a 10-byte header, rings enabled without SET_VRING_ENABLE */
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
    struct vhost_dev *d = vhost_dev_create("legacy", NULL, NULL);
    vhost_dev_attach(d, sv[0]);
    struct guest g;
    g_init(&g, sv[1]);
    g_u64(&g, VHOST_USER_SET_FEATURES, 0);
    g_mem_table(&g, MEM_LEN);
    for (unsigned q = 0; q < 2; q++) {
        g_state(&g, VHOST_USER_SET_VRING_NUM, 0, q, NUM);
        struct vhost_user_vring_addr a = {.index = q,
                                          .desc = UA_BASE + g.f.ring[q].desc_ofs,
                                          .avail = UA_BASE + g.f.ring[q].avail_ofs,
                                          .used = UA_BASE + g.f.ring[q].used_ofs};
        g_send(&g, VHOST_USER_SET_VRING_ADDR, 0, &a, sizeof a, NULL, 0);
        uint64_t v = q | VHOST_USER_VRING_NOFD; /* no kick fd: the device polls */
        g_send(&g, VHOST_USER_SET_VRING_KICK, 0, &v, 8, NULL, 0);
    }
    vhost_dev_service(d);
    ASSERT_EQ(info(d).hdr_len, 10);
    ASSERT_TRUE(info(d).vring[1].usable);
    ASSERT_TRUE(vhost_dev_tx_polled(d));
    vhost_dev_destroy(d);
    g_fini(&g);
}

/* A client cannot make the device block on its eventfds. */
static void
eventfds_never_block(void)
{
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
    struct vhost_dev *d = vhost_dev_create("t", NULL, NULL);
    vhost_dev_attach(d, sv[0]);
    struct guest g;
    g_init(&g, sv[1]);
    for (unsigned q = 0; q < 2; q++) { /* blocking ones this time */
        close(g.f.ring[q].call_fd);
        g.f.ring[q].call_fd = eventfd(0, EFD_CLOEXEC);
    }
    g_setup(&g, d, ALL_FEATURES);
    ASSERT_TRUE(info(d).vring[0].usable);
    ASSERT_EQ(eventfd_write(g.f.ring[0].call_fd, UINT64_MAX - 1), 0); /* counter full */
    g_rx_post(&g, 2, 2048);
    struct pkt *p = calloc(1, sizeof *p);
    pkt_reset(p);
    p->len = 60;
    ASSERT_EQ(vhost_dev_enqueue(d, &p, 1), 1); /* returns: the call is skipped */
    free(p);
    vhost_dev_destroy(d);
    g_fini(&g);
}

static void
rings_wrap(void)
{
    struct fixture f;
    fx_init(&f, ALL_FEATURES);
    uint8_t fr[200], out[PKT_DATA_MAX];
    unsigned nb;
    /* 5 x NUM frames each way, a few at a time: indexes wrap the ring */
    for (unsigned k = 0; k < 5 * NUM; k++) {
        frame_fill(fr, 100 + k, (uint8_t)k);
        g_tx(&f.g, fr, 100 + k, 1 + k % 3);
        ASSERT_EQ(vhost_dev_dequeue(f.dev, f.pkts, 4), 1);
        ASSERT_EQ(f.pkts[0]->len, 100 + k);
        ASSERT_EQ(memcmp(f.pkts[0]->data, fr, 100 + k), 0);
        g_rx_post(&f.g, 1, 2048);
        ASSERT_EQ(vhost_dev_enqueue(f.dev, f.pkts, 1), 1);
        ASSERT_EQ(g_rx_take(&f.g, out, &nb), (int)(100 + k));
    }
    ASSERT_EQ(info(f.dev).vring[1].last_avail, 5 * NUM);
    ASSERT_EQ(info(f.dev).drops[VHOST_DROP_BAD_DESC], 0);
    fx_fini(&f);
}

/* Posts a raw one-descriptor chain on the transmit ring. */
static void
g_tx_raw(struct guest *g, struct virtq_desc d)
{
    unsigned i = g_next(g, VHOST_TXQ);
    g_desc(g, VHOST_TXQ)[i] = d;
    vfront_avail_put(&g->f.ring[VHOST_TXQ], (uint16_t)i);
    vfront_avail_publish(&g->f.ring[VHOST_TXQ]);
}

static void
bad_descriptors_are_counted(void)
{
    struct fixture f;
    uint8_t fr[64];
    frame_fill(fr, 64, 9);
    const struct virtq_desc bad[] = {
        {.addr = GPA_BASE + MEM_LEN - 16, .len = 100}, /* runs off memory */
        {.addr = UA_BASE + 0x10000, .len = 100},       /* a user address */
        {.addr = GPA_BASE + 0x10000, .len = 100, .flags = VIRTQ_DESC_F_NEXT, .next = 999},
        {.addr = GPA_BASE + 0x10000, .len = 100, .flags = VIRTQ_DESC_F_INDIRECT},
        {.addr = GPA_BASE + 0x10000, .len = 100, .flags = VIRTQ_DESC_F_WRITE},
    };
    for (unsigned k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        fx_init(&f, ALL_FEATURES);
        g_tx(&f.g, fr, 64, 1);
        g_tx_raw(&f.g, bad[k]);
        g_tx(&f.g, fr, 64, 1);
        ASSERT_EQ(vhost_dev_dequeue(f.dev, f.pkts, 4), 1); /* stops at the bad one */
        ASSERT_EQ(info(f.dev).drops[VHOST_DROP_BAD_DESC], 1);
        ASSERT_TRUE(info(f.dev).vring[1].broken);
        ASSERT_EQ(vhost_dev_dequeue(f.dev, f.pkts, 4), 0);
        fx_fini(&f);
    }

    /* a chain that loops back on itself */
    fx_init(&f, ALL_FEATURES);
    struct guest *g = &f.g;
    g_desc(g, 1)[0] = (struct virtq_desc){
        .addr = gpa(g, g_buf(g, 1, 0)), .len = 64, .flags = VIRTQ_DESC_F_NEXT, .next = 1};
    g_desc(g, 1)[1] = (struct virtq_desc){
        .addr = gpa(g, g_buf(g, 1, 1)), .len = 64, .flags = VIRTQ_DESC_F_NEXT, .next = 0};
    g_avail(g, 1)->ring[0] = 0;
    g_avail(g, 1)->idx = 1;
    ASSERT_EQ(vhost_dev_dequeue(f.dev, f.pkts, 4), 0);
    ASSERT_EQ(info(f.dev).drops[VHOST_DROP_BAD_DESC], 1);
    /* an available index that runs ahead of the ring */
    g_state(g, VHOST_USER_SET_VRING_BASE, 0, 1, 0); /* repairs the ring */
    vhost_dev_service(f.dev);
    ASSERT_FALSE(info(f.dev).vring[1].broken);
    g_avail(g, 1)->idx = NUM + 1;
    ASSERT_EQ(vhost_dev_dequeue(f.dev, f.pkts, 4), 0);
    ASSERT_EQ(info(f.dev).drops[VHOST_DROP_BAD_DESC], 2);
    /* the receive ring: a read-only buffer */
    g_desc(g, 0)[0] = (struct virtq_desc){.addr = gpa(g, g_buf(g, 0, 0)), .len = 2048};
    g_avail(g, 0)->ring[0] = 0;
    g_avail(g, 0)->idx = 1;
    f.pkts[0]->len = 64;
    ASSERT_EQ(vhost_dev_enqueue(f.dev, f.pkts, 1), 0);
    ASSERT_EQ(info(f.dev).drops[VHOST_DROP_BAD_DESC], 3);
    fx_fini(&f);

    /* oversize and short frames are dropped, the ring goes on */
    fx_init(&f, ALL_FEATURES);
    static uint8_t big[3 * BUF_LEN - 12];
    g_tx(&f.g, big, sizeof big, 3);
    g_tx_raw(&f.g, (struct virtq_desc){.addr = gpa(&f.g, g_buf(&f.g, 1, 10)), .len = 6});
    g_tx(&f.g, fr, 64, 1);
    ASSERT_EQ(vhost_dev_dequeue(f.dev, f.pkts, 4), 1);
    ASSERT_EQ(f.pkts[0]->len, 64);
    ASSERT_EQ(info(f.dev).drops[VHOST_DROP_OVERSIZE], 1);
    ASSERT_EQ(info(f.dev).drops[VHOST_DROP_SHORT], 1);
    ASSERT_FALSE(info(f.dev).vring[1].broken);
    ASSERT_EQ(g_used(&f.g, 1)->idx, 3);
    fx_fini(&f);
}

static void
disconnect_and_reconnect(void)
{
    struct fixture f;
    fx_init(&f, ALL_FEATURES);
    close(f.g.f.sock);
    f.g.f.sock = -1;
    ASSERT_EQ(vhost_dev_service(f.dev), -ECONNRESET);
    struct vhost_dev_info i = info(f.dev);
    ASSERT_FALSE(i.attached);
    ASSERT_EQ(i.n_regions, 0);
    ASSERT_EQ(i.vring[1].num, 0);
    ASSERT_EQ(vhost_dev_dequeue(f.dev, f.pkts, 4), 0);
    ASSERT_EQ(vhost_dev_enqueue(f.dev, f.pkts, 1), 0);
    ASSERT_EQ(info(f.dev).drops[VHOST_DROP_NOT_READY], 1);

    /* a new client (fresh memory and rings) attaches to the same device */
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
    ASSERT_EQ(vhost_dev_attach(f.dev, sv[0]), 0);
    struct guest g2;
    g_init(&g2, sv[1]);
    g_setup(&g2, f.dev, ALL_FEATURES);
    uint8_t fr[64];
    frame_fill(fr, 64, 7);
    g_tx(&g2, fr, 64, 1);
    ASSERT_EQ(vhost_dev_dequeue(f.dev, f.pkts, 4), 1);
    ASSERT_EQ(info(f.dev).n_attach, 2);
    /* a client that breaks the framing is dropped */
    struct vhost_user_hdr h = {.request = 1, .flags = VHOST_USER_VERSION, .size = 1u << 20};
    ASSERT_EQ(write(g2.f.sock, &h, sizeof h), (ssize_t)sizeof h);
    ASSERT_EQ(vhost_dev_service(f.dev), -EPROTO);
    ASSERT_FALSE(vhost_dev_is_attached(f.dev));
    g_fini(&g2);
    fx_fini(&f);
}

/* The port backend over a real socket: one fd for its whole life, readable
 * when there is work, back to listening after a disconnect. */
static void
port_listens_and_reattaches(void)
{
    char dir[] = "/tmp/test-vhost.XXXXXX", path[64];
    ASSERT_NOT_NULL(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/p.sock", dir);
    struct port *p = port_open_vhost_user("vh0", path);
    ASSERT_NOT_NULL(p);
    ASSERT_EQ(p->ifindex, 0);
    int fd = p->ops->fd(p);
    struct pkt *pk = calloc(1, sizeof *pk);
    struct pkt *pkts[1] = {pk};
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    for (int round = 0; round < 2; round++) {
        int c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
        ASSERT_EQ(connect(c, (struct sockaddr *)&sa, sizeof sa), 0);
        ASSERT_EQ(poll(&pfd, 1, 1000), 1);
        p->ops->rx_burst(p, pkts, 1); /* accepts */
        ASSERT_TRUE(p->ops->carrier(p));
        struct guest g;
        g_init(&g, c);
        g_setup(&g, NULL, ALL_FEATURES);
        ASSERT_EQ(poll(&pfd, 1, 1000), 1);
        p->ops->rx_burst(p, pkts, 1); /* handles the handshake */
        ASSERT_EQ(g_reply(&g, VHOST_USER_GET_FEATURES), (int64_t)VHOST_DEV_FEATURES);
        struct vhost_dev_info vi;
        ASSERT_TRUE(port_vhost_user_info(p, &vi, NULL));
        ASSERT_TRUE(vi.vring[1].usable);
        ASSERT_EQ(poll(&pfd, 1, 0), 0); /* nothing to do: not readable */
        uint8_t fr[80];
        frame_fill(fr, 80, 1);
        g_tx(&g, fr, 80, 1);
        g_tx(&g, fr, 80, 1);
        eventfd_write(g.f.ring[1].kick_fd, 1);
        ASSERT_EQ(poll(&pfd, 1, 1000), 1);
        /* A full burst: the caller calls again before waiting (port.h). */
        ASSERT_EQ(p->ops->rx_burst(p, pkts, 1), 1);
        ASSERT_EQ(p->ops->rx_burst(p, pkts, 1), 1);
        ASSERT_EQ(p->ops->rx_burst(p, pkts, 1), 0); /* short: looks at epoll */
        ASSERT_EQ(poll(&pfd, 1, 0), 0);
        g_rx_post(&g, 2, 2048);
        ASSERT_EQ(p->ops->tx_burst(p, pkts, 1), 1);
        ASSERT_EQ(p->ops->fd(p), fd);
        g_fini(&g); /* hangs up */
        ASSERT_EQ(poll(&pfd, 1, 1000), 1);
        p->ops->rx_burst(p, pkts, 1);
        ASSERT_FALSE(p->ops->carrier(p));
    }
    ASSERT_NULL(port_open_vhost_user("vh1", path)); /* someone listens there */
    ASSERT_EQ(errno, EADDRINUSE);
    port_close(p);
    ASSERT_EQ(access(path, F_OK), -1); /* the socket goes with the port */
    free(pk);
    rmdir(dir);
}

/* Client mode: the front-end listens; the port connects, and connects again
 * after the front-end hangs up; a relative path is refused. */
static void
port_connects_and_reconnects(void)
{
    char dir[] = "/tmp/test-vhost.XXXXXX", path[64];
    ASSERT_NOT_NULL(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/fe.sock", dir);
    ASSERT_NULL(port_open_vhost_user_client("vh0", "fe.sock"));
    ASSERT_EQ(errno, EINVAL);
    struct port *p = port_open_vhost_user_client("vh0", path); /* nobody listens yet */
    ASSERT_NOT_NULL(p);
    ASSERT_TRUE(port_vhost_user_is_client(p));
    struct pkt *pk = calloc(1, sizeof *pk);
    struct pkt *pkts[1] = {pk};
    struct pollfd pfd = {.fd = p->ops->fd(p), .events = POLLIN};
    ASSERT_EQ(poll(&pfd, 1, 1000), 1); /* the first attempt is due */
    p->ops->rx_burst(p, pkts, 1);      /* fails: no socket */
    ASSERT_FALSE(p->ops->carrier(p));
    int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    ASSERT_EQ(bind(l, (struct sockaddr *)&sa, sizeof sa), 0);
    ASSERT_EQ(listen(l, 1), 0);
    for (int round = 0; round < 2; round++) {
        /* The retry timer wakes the port; it connects; we accept. */
        uint64_t deadline = now_ms() + 2000;
        while (!p->ops->carrier(p) && now_ms() < deadline)
            if (poll(&pfd, 1, 100) == 1)
                p->ops->rx_burst(p, pkts, 1);
        ASSERT_TRUE(p->ops->carrier(p));
        int c = accept(l, NULL, NULL);
        ASSERT_GE(c, 0);
        struct guest g;
        g_init(&g, c);
        g_setup(&g, NULL, ALL_FEATURES);
        ASSERT_EQ(poll(&pfd, 1, 1000), 1);
        p->ops->rx_burst(p, pkts, 1); /* the handshake, as in server mode */
        ASSERT_EQ(g_reply(&g, VHOST_USER_GET_FEATURES), (int64_t)VHOST_DEV_FEATURES);
        g_fini(&g); /* the front-end goes */
        ASSERT_EQ(poll(&pfd, 1, 1000), 1);
        p->ops->rx_burst(p, pkts, 1);
        ASSERT_FALSE(p->ops->carrier(p));
    }
    close(l);
    port_close(p);
    ASSERT_EQ(access(path, F_OK), 0); /* the front-end's socket is not ours */
    unlink(path);
    free(pk);
    rmdir(dir);
}

/* ---- live migration: the dirty log and the announcement ---- */

#define LOG_LEN ((GPA_BASE + MEM_LEN) / VHOST_LOG_PAGE / 8 + 1)

static bool
dirty(const uint8_t *log, uint64_t gpa)
{
    uint64_t page = gpa / VHOST_LOG_PAGE;
    return log[page / 8] & (1U << (page % 8));
}

/* Sends SET_LOG_BASE with 'fd' and returns whether the device answered it
 * (an empty reply, as QEMU waits for). */
static bool
g_log_base(struct guest *g, struct vhost_dev *d, uint64_t size, int fd)
{
    struct vhost_user_log l = {.mmap_size = size, .mmap_offset = 0};
    g_send(g, VHOST_USER_SET_LOG_BASE, 0, &l, sizeof l, &fd, 1);
    vhost_dev_service(d);
    struct vhost_user_hdr h;
    return recv(g->f.sock, &h, sizeof h, MSG_DONTWAIT) == sizeof h &&
           h.request == VHOST_USER_SET_LOG_BASE && (h.flags & VHOST_USER_FLAG_REPLY) && h.size == 0;
}

/* The ring's address again, with the used ring logged (as QEMU sends when a
 * migration starts). */
static void
g_log_ring(struct guest *g, struct vhost_dev *d, unsigned q)
{
    const struct vfront_ring *r = &g->f.ring[q];
    struct vhost_user_vring_addr a = {.index = q,
                                      .flags = VHOST_VRING_F_LOG,
                                      .desc = g->f.ua_base + r->desc_ofs,
                                      .avail = g->f.ua_base + r->avail_ofs,
                                      .used = g->f.ua_base + r->used_ofs,
                                      .log = gpa(g, r->used)};
    g_send(g, VHOST_USER_SET_VRING_ADDR, 0, &a, sizeof a, NULL, 0);
    vhost_dev_service(d);
}

static void
dirty_log_marks_every_write(void)
{
    struct fixture f;
    fx_init(&f, ALL_FEATURES & ~(1ULL << VHOST_F_LOG_ALL));
    int fd = memfd_create("log", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    ASSERT_EQ(ftruncate(fd, LOG_LEN), 0);
    uint8_t *log = mmap(NULL, LOG_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ASSERT_TRUE(log != MAP_FAILED);
    ASSERT_TRUE(g_log_base(&f.g, f.dev, LOG_LEN, fd));
    g_log_ring(&f.g, f.dev, VHOST_RXQ);
    g_log_ring(&f.g, f.dev, VHOST_TXQ);
    ASSERT_EQ(info(f.dev).log_bytes, LOG_LEN);
    /* a log, but LOG_ALL off: nothing is marked */
    ASSERT_FALSE(info(f.dev).logging);
    g_rx_post(&f.g, 4, BUF_LEN);
    frame_fill(f.pkts[0]->data, 100, 1);
    f.pkts[0]->len = 100;
    ASSERT_EQ(vhost_dev_enqueue(f.dev, f.pkts, 1), 1);
    for (uint64_t i = 0; i < LOG_LEN; i++)
        ASSERT_EQ(log[i], 0);
    /* LOG_ALL on: every page we write is marked, no other */
    g_u64(&f.g, VHOST_USER_SET_FEATURES, ALL_FEATURES);
    vhost_dev_service(f.dev);
    ASSERT_TRUE(info(f.dev).logging);
    frame_fill(f.pkts[0]->data, 2 * BUF_LEN, 2); /* spans buffers 1, 2 and 3 */
    f.pkts[0]->len = 2 * BUF_LEN;
    ASSERT_EQ(vhost_dev_enqueue(f.dev, f.pkts, 1), 1);
    ASSERT_FALSE(dirty(log, gpa(&f.g, g_buf(&f.g, VHOST_RXQ, 0)))); /* written before */
    for (unsigned b = 1; b <= 3; b++)
        ASSERT_TRUE(dirty(log, gpa(&f.g, g_buf(&f.g, VHOST_RXQ, b))));
    ASSERT_FALSE(dirty(log, gpa(&f.g, g_buf(&f.g, VHOST_RXQ, 4)))); /* not written */
    ASSERT_TRUE(dirty(log, gpa(&f.g, g_used(&f.g, VHOST_RXQ))));
    ASSERT_FALSE(dirty(log, gpa(&f.g, g_used(&f.g, VHOST_TXQ))));
    ASSERT_FALSE(dirty(log, gpa(&f.g, g_desc(&f.g, VHOST_RXQ)))); /* only read */
    /* what the guest sent: its used ring, not its buffers (we only read them) */
    frame_fill(f.pkts[1]->data, 60, 3);
    g_tx(&f.g, f.pkts[1]->data, 60, 1);
    ASSERT_EQ(vhost_dev_dequeue(f.dev, f.pkts, 4), 1);
    ASSERT_TRUE(dirty(log, gpa(&f.g, g_used(&f.g, VHOST_TXQ))));
    ASSERT_FALSE(dirty(log, gpa(&f.g, g_buf(&f.g, VHOST_TXQ, 0))));
    ASSERT_GE(info(f.dev).log_marks, 5);
    /* a bad log is refused, answered all the same, and the old one stays */
    uint64_t bad = info(f.dev).n_bad_msgs;
    ASSERT_TRUE(g_log_base(&f.g, f.dev, 0, fd));
    ASSERT_TRUE(g_log_base(&f.g, f.dev, LOG_LEN * 2, fd)); /* beyond the file */
    ASSERT_EQ(info(f.dev).n_bad_msgs, bad + 2);
    ASSERT_TRUE(info(f.dev).logging);
    /* LOG_ALL off again: logging stops */
    g_u64(&f.g, VHOST_USER_SET_FEATURES, ALL_FEATURES & ~(1ULL << VHOST_F_LOG_ALL));
    vhost_dev_service(f.dev);
    ASSERT_FALSE(info(f.dev).logging);
    munmap(log, LOG_LEN);
    close(fd);
    fx_fini(&f);
}

static void
send_rarp_announces_the_guest(void)
{
    struct fixture f;
    fx_init(&f, ALL_FEATURES);
    const uint8_t mac[8] = {0x02, 0xd5, 0x00, 0x01, 0x00, 0x07};
    g_send(&f.g, VHOST_USER_SEND_RARP, 0, mac, 8, NULL, 0);
    const uint8_t group[8] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0x01}; /* not a guest's */
    g_send(&f.g, VHOST_USER_SEND_RARP, 0, group, 8, NULL, 0);
    vhost_dev_service(f.dev);
    ASSERT_TRUE(vhost_dev_tx_pending(f.dev));
    /* the announcement comes first, then what the guest sent */
    frame_fill(f.pkts[3]->data, 60, 4);
    g_tx(&f.g, f.pkts[3]->data, 60, 1);
    ASSERT_EQ(vhost_dev_dequeue(f.dev, f.pkts, 2), 2);
    const uint8_t *p = f.pkts[0]->data;
    ASSERT_EQ(f.pkts[0]->len, 60);
    ASSERT_EQ(memcmp(p, "\xff\xff\xff\xff\xff\xff", 6), 0);
    ASSERT_EQ(memcmp(p + 6, mac, 6), 0);
    ASSERT_EQ(p[12] << 8 | p[13], 0x8035);
    ASSERT_EQ(p[20] << 8 | p[21], 3); /* reverse request */
    ASSERT_EQ(f.pkts[1]->len, 60);
    ASSERT_EQ(info(f.dev).n_rarps, 1);
    ASSERT_EQ(vhost_dev_dequeue(f.dev, f.pkts, 2), 0); /* once only */
    ASSERT_EQ(info(f.dev).n_bad_msgs, 1);              /* the group address */
    fx_fini(&f);
}

TEST_MAIN(TEST(negotiation_and_replies), TEST(mem_table_is_checked), TEST(guest_tx_is_received),
          TEST(guest_rx_uses_mergeable_buffers), TEST(rx_without_mergeable_buffers),
          TEST(eventfds_never_block), TEST(rings_wrap), TEST(bad_descriptors_are_counted),
          TEST(disconnect_and_reconnect), TEST(port_listens_and_reattaches),
          TEST(port_connects_and_reconnects), TEST(dirty_log_marks_every_write),
          TEST(send_rarp_announces_the_guest))
