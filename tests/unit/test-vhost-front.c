/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vhost-front tests: the front-end's blocking handshake against the real
 * device (vhost_dev, serviced on a thread over a socketpair) and against a
 * scripted device that refuses or hangs up; frames both ways through the
 * rings; used entries from a hostile device are refused.
 */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/unit/check.h"
#include "dataplane/vhost-front.h"
#include "dataplane/vhost-user.h"

#define NUM 64
#define BUF 2048

/* ---- the real device on a thread ---- */

struct dev_thread {
    struct vhost_dev *dev;
    pthread_t thread;
    atomic_bool stop;
};

static void *
dev_main(void *arg)
{
    struct dev_thread *t = arg;
    while (!atomic_load(&t->stop)) {
        struct pollfd pfd = {.fd = vhost_dev_conn_fd(t->dev), .events = POLLIN};
        if (pfd.fd < 0 || (poll(&pfd, 1, 10) > 0 && vhost_dev_service(t->dev) < 0))
            break;
    }
    return NULL;
}

/* A front-end attached to a vhost_dev, handshake done, the device's thread
 * stopped (vhost_dev is single-threaded: the test drives it from here on). */
static int
attach(struct vfront *f, struct vhost_dev **devp, char *err, size_t err_len)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 ||
        vfront_init(f, NUM, BUF, 0x100000000ULL, 0) < 0 || vfront_seal(f) < 0)
        abort();
    f->sock = sv[1];
    struct dev_thread t = {.dev = vhost_dev_create("t", NULL, NULL)};
    vhost_dev_attach(t.dev, sv[0]);
    pthread_create(&t.thread, NULL, dev_main, &t);
    uint64_t want = (1ULL << VIRTIO_NET_F_MRG_RXBUF) | (1ULL << VHOST_USER_F_PROTOCOL_FEATURES);
    int rc = vfront_handshake(f, want, true, 2000, err, err_len);
    atomic_store(&t.stop, true);
    pthread_join(t.thread, NULL);
    *devp = t.dev;
    return rc;
}

static void
handshake_with_the_device(void)
{
    struct vfront f;
    struct vhost_dev *d;
    char err[256] = "";
    ASSERT_EQ(attach(&f, &d, err, sizeof err), 0);
    /* All we offer but LOG_ALL, which a front-end turns on to migrate. */
    ASSERT_EQ(f.features, VHOST_DEV_FEATURES & ~(1ULL << VHOST_F_LOG_ALL));
    ASSERT_EQ(f.protocol_features, 1ULL << VHOST_USER_PROTOCOL_F_REPLY_ACK);
    ASSERT_EQ(f.hdr_len, 12);
    struct vhost_dev_info i;
    vhost_dev_get_info(d, &i);
    ASSERT_TRUE(i.vring[VHOST_RXQ].usable && i.vring[VHOST_TXQ].usable);
    ASSERT_EQ(i.vring[VHOST_TXQ].num, NUM);
    ASSERT_EQ(i.mem_bytes, f.mem_len);
    ASSERT_EQ(i.n_bad_msgs, 0);
    ASSERT_TRUE(fcntl(f.mem_fd, F_GET_SEALS) & F_SEAL_GROW);
    ASSERT_FALSE(vfront_hung_up(&f));

    /* transmit: the device takes two frames, hands both descriptors back */
    struct vfront_ring *tx = &f.ring[VHOST_TXQ];
    for (uint16_t id = 0; id < 2; id++) {
        uint8_t *b = vfront_buf(&f, VHOST_TXQ, id);
        memset(b, 0, 12);
        memset(b + 12, 0xa0 + id, 60);
        tx->desc[id] = (struct virtq_desc){.addr = vfront_gpa(&f, b), .len = 72};
        vfront_avail_put(tx, id);
    }
    vfront_avail_publish(tx);
    ASSERT_TRUE(vfront_kick(tx)); /* the device does not poll this ring */
    struct pkt *p[2] = {calloc(1, sizeof(struct pkt)), calloc(1, sizeof(struct pkt))};
    ASSERT_EQ(vhost_dev_dequeue(d, p, 2), 2);
    ASSERT_EQ(p[1]->len, 60);
    ASSERT_EQ(p[1]->data[0], 0xa1);
    struct virtq_used_elem e;
    ASSERT_EQ(vfront_used_get(tx, BUF, &e), 1);
    ASSERT_EQ(e.id, 0);
    ASSERT_EQ(vfront_used_get(tx, BUF, &e), 1);
    ASSERT_EQ(vfront_used_get(tx, BUF, &e), 0);

    /* receive: a posted buffer gets a frame with its header */
    struct vfront_ring *rx = &f.ring[VHOST_RXQ];
    rx->desc[5] = (struct virtq_desc){.addr = vfront_gpa(&f, vfront_buf(&f, VHOST_RXQ, 5)),
                                      .len = BUF,
                                      .flags = VIRTQ_DESC_F_WRITE};
    vfront_avail_put(rx, 5);
    vfront_avail_publish(rx);
    ASSERT_FALSE(vfront_kick(rx)); /* the device never waits for receive buffers */
    ASSERT_EQ(vhost_dev_enqueue(d, p, 1), 1);
    ASSERT_EQ(vfront_used_get(rx, BUF, &e), 1);
    ASSERT_EQ(e.id, 5);
    ASSERT_EQ(e.len, 72);
    struct virtio_net_hdr h;
    memcpy(&h, vfront_buf(&f, VHOST_RXQ, 5), sizeof h);
    ASSERT_EQ(h.num_buffers, 1);
    ASSERT_EQ(vfront_buf(&f, VHOST_RXQ, 5)[12], 0xa0);

    vhost_dev_destroy(d); /* hangs up */
    ASSERT_TRUE(vfront_hung_up(&f));
    free(p[0]);
    free(p[1]);
    vfront_fini(&f);
}

static void
hostile_used_entries_are_refused(void)
{
    struct vfront f;
    struct vhost_dev *d;
    char err[256];
    ASSERT_EQ(attach(&f, &d, err, sizeof err), 0);
    struct vfront_ring *r = &f.ring[VHOST_TXQ];
    struct virtq_used_elem e;
    vfront_avail_put(r, 3);
    vfront_avail_publish(r);
    /* a used index ahead of what we made available */
    r->used->idx = 2;
    ASSERT_EQ(vfront_used_count(r), -EPROTO);
    ASSERT_EQ(vfront_used_get(r, BUF, &e), -EPROTO);
    /* an id out of range, one we never gave, a length beyond the buffer */
    static const struct virtq_used_elem bad[] = {{NUM, 0}, {UINT32_MAX, 0}, {4, 0}, {3, BUF + 1}};
    r->used->idx = 1;
    for (unsigned k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        r->used->ring[0] = bad[k];
        ASSERT_EQ(vfront_used_get(r, BUF, &e), -EPROTO);
    }
    /* the right one, then the same id again */
    r->used->ring[0] = (struct virtq_used_elem){3, 0};
    ASSERT_EQ(vfront_used_get(r, BUF, &e), 1);
    r->used->idx = 2;
    ASSERT_EQ(vfront_used_count(r), -EPROTO); /* nothing was made available */
    vfront_avail_put(r, 7);
    vfront_avail_publish(r);
    r->used->ring[1] = (struct virtq_used_elem){3, 0};
    ASSERT_EQ(vfront_used_get(r, BUF, &e), -EPROTO);
    vhost_dev_destroy(d);
    vfront_fini(&f);
}

/* ---- a scripted device ---- */

struct fake {
    int sock;
    uint64_t features;   /* offered */
    uint32_t refuse_req; /* acknowledged with 1 */
    uint32_t hang_up_at; /* closes when this request comes */
    pthread_t thread;
};

static void *
fake_main(void *arg)
{
    struct fake *fk = arg;
    for (;;) {
        struct vhost_user_hdr h;
        uint8_t payload[512];
        char cbuf[CMSG_SPACE(sizeof(int) * 8)];
        struct iovec iov = {&h, sizeof h};
        struct msghdr mh = {
            .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
        if (recvmsg(fk->sock, &mh, MSG_WAITALL) != sizeof h || h.size > sizeof payload)
            break;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
            for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
                int fd;
                memcpy(&fd, CMSG_DATA(c) + i * sizeof fd, sizeof fd);
                close(fd);
            }
        if (h.size && recv(fk->sock, payload, h.size, MSG_WAITALL) != (ssize_t)h.size)
            break;
        if (h.request == fk->hang_up_at)
            break;
        struct vhost_user_hdr r = {
            .request = h.request, .flags = VHOST_USER_VERSION | VHOST_USER_FLAG_REPLY, .size = 8};
        uint64_t v;
        if (h.request == VHOST_USER_GET_FEATURES)
            v = fk->features;
        else if (h.request == VHOST_USER_GET_PROTOCOL_FEATURES)
            v = 1ULL << VHOST_USER_PROTOCOL_F_REPLY_ACK;
        else if (h.flags & VHOST_USER_FLAG_NEED_REPLY)
            v = h.request == fk->refuse_req;
        else
            continue;
        if (vhost_user_send(fk->sock, &r, &v, 8, NULL, 0) < 0)
            break;
    }
    shutdown(fk->sock, SHUT_RDWR);
    return NULL;
}

/* Runs the handshake against 'fk'; returns its result, the reason in 'err'. */
static int
handshake_with(struct fake fk, char *err, size_t err_len)
{
    int sv[2];
    struct vfront f;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 ||
        vfront_init(&f, NUM, BUF, 0, 0) < 0)
        abort();
    f.sock = sv[1];
    fk.sock = sv[0];
    pthread_create(&fk.thread, NULL, fake_main, &fk);
    int rc = vfront_handshake(&f, ~0ULL, true, 2000, err, err_len);
    vfront_fini(&f); /* hangs up: the fake device ends */
    pthread_join(fk.thread, NULL);
    close(sv[0]);
    return rc;
}

static void
refusing_devices_fail_with_a_reason(void)
{
    char err[256];
    const uint64_t ok = (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VHOST_USER_F_PROTOCOL_FEATURES);
    ASSERT_EQ(handshake_with((struct fake){.features = ok}, err, sizeof err), 0);
    ASSERT_EQ(
        handshake_with((struct fake){.features = 1ULL << VIRTIO_NET_F_MRG_RXBUF}, err, sizeof err),
        -ENOTSUP);
    ASSERT_TRUE(strstr(err, "does not offer VIRTIO_F_VERSION_1") != NULL);
    ASSERT_EQ(handshake_with((struct fake){.features = ok, .refuse_req = VHOST_USER_SET_MEM_TABLE},
                             err, sizeof err),
              -EINVAL);
    ASSERT_STREQ(err, "the device refused SET_MEM_TABLE");
    ASSERT_EQ(handshake_with((struct fake){.features = ok, .refuse_req = VHOST_USER_SET_VRING_KICK},
                             err, sizeof err),
              -EINVAL);
    ASSERT_STREQ(err, "the device refused SET_VRING_KICK");
    ASSERT_EQ(handshake_with((struct fake){.features = ok, .hang_up_at = VHOST_USER_GET_FEATURES},
                             err, sizeof err),
              -ECONNRESET);
    ASSERT_STREQ(err, "GET_FEATURES: the device closed the connection");
    ASSERT_LT(handshake_with((struct fake){.features = ok, .hang_up_at = VHOST_USER_SET_VRING_ADDR},
                             err, sizeof err),
              0);
    ASSERT_TRUE(strstr(err, "the device closed the connection") != NULL);
}

static void
connect_to_nothing(void)
{
    struct vfront f;
    ASSERT_EQ(vfront_init(&f, NUM, BUF, 0, 0), 0);
    ASSERT_EQ(vfront_connect(&f, "/nonexistent/dse/v.sock"), -ENOENT);
    char longp[200];
    memset(longp, 'x', sizeof longp - 1);
    longp[sizeof longp - 1] = '\0';
    ASSERT_EQ(vfront_connect(&f, longp), -ENAMETOOLONG);
    ASSERT_TRUE(vfront_hung_up(&f));
    vfront_fini(&f);
    ASSERT_EQ(vfront_init(&f, 3, BUF, 0, 0), -EINVAL); /* not a power of two */
    vfront_fini(&f);
}

TEST_MAIN(TEST(handshake_with_the_device), TEST(hostile_used_entries_are_refused),
          TEST(refusing_devices_fail_with_a_reason), TEST(connect_to_nothing))
