/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vhost-front: the front-end side of vhost-user (see vhost-front.h): guest
 * memory in a sealed memfd, the protocol's requests and replies over a
 * blocking Unix socket, and the driver's half of the split rings, which
 * checks everything the device writes back.
 */
#include "dataplane/vhost-front.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define AREA_ALIGN 4096U

static uint64_t
align_up(uint64_t v)
{
    return (v + AREA_ALIGN - 1) & ~(uint64_t)(AREA_ALIGN - 1);
}

static void
close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

int
vfront_init(struct vfront *f, unsigned num, unsigned buf_len, uint64_t gpa_base, uint64_t ua_base)
{
    memset(f, 0, sizeof *f);
    f->sock = f->mem_fd = -1;
    for (unsigned q = 0; q < VHOST_N_VRINGS; q++)
        f->ring[q].kick_fd = f->ring[q].call_fd = -1;
    if (!num || num > VIRTQ_MAX_SIZE || (num & (num - 1)) || buf_len < 64 || buf_len > 65536)
        return -EINVAL;

    uint64_t ofs = 0;
    for (unsigned q = 0; q < VHOST_N_VRINGS; q++) {
        struct vfront_ring *r = &f->ring[q];
        r->num = num;
        r->desc_ofs = ofs;
        r->avail_ofs = ofs = align_up(ofs + virtq_desc_size(num));
        r->used_ofs = ofs = align_up(ofs + virtq_avail_size(num));
        ofs = align_up(ofs + virtq_used_size(num));
    }
    f->buf_ofs = ofs;
    f->buf_len = buf_len;
    f->mem_len = align_up(ofs + (uint64_t)VHOST_N_VRINGS * num * buf_len);
    f->gpa_base = gpa_base;
    f->ua_base = ua_base;
    f->hdr_len = virtio_net_hdr_len(0);

    int rc;
    f->mem_fd = memfd_create("vhost-front", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (f->mem_fd < 0 || ftruncate(f->mem_fd, (off_t)f->mem_len) < 0)
        goto fail_errno;
    f->mem = mmap(NULL, f->mem_len, PROT_READ | PROT_WRITE, MAP_SHARED, f->mem_fd, 0);
    if (f->mem == MAP_FAILED) {
        f->mem = NULL;
        goto fail_errno;
    }
    for (unsigned q = 0; q < VHOST_N_VRINGS; q++) {
        struct vfront_ring *r = &f->ring[q];
        r->desc = (struct virtq_desc *)(f->mem + r->desc_ofs);
        r->avail = (struct virtq_avail *)(f->mem + r->avail_ofs);
        r->used = (struct virtq_used *)(f->mem + r->used_ofs);
        r->busy = calloc(num, 1);
        r->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        r->call_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (!r->busy) {
            rc = -ENOMEM;
            goto fail;
        }
        if (r->kick_fd < 0 || r->call_fd < 0)
            goto fail_errno;
    }
    return 0;
fail_errno:
    rc = -errno;
fail:
    vfront_fini(f);
    return rc;
}

void
vfront_fini(struct vfront *f)
{
    for (unsigned q = 0; q < VHOST_N_VRINGS; q++) {
        free(f->ring[q].busy);
        f->ring[q].busy = NULL;
        close_fd(&f->ring[q].kick_fd);
        close_fd(&f->ring[q].call_fd);
    }
    if (f->mem)
        munmap(f->mem, f->mem_len);
    f->mem = NULL;
    close_fd(&f->mem_fd);
    close_fd(&f->sock);
}

int
vfront_seal(struct vfront *f)
{
    return fcntl(f->mem_fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0 ? -errno
                                                                                        : 0;
}

int
vfront_connect(struct vfront *f, const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path)
        return -ENAMETOOLONG;
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        int rc = -errno;
        close(fd);
        return rc;
    }
    close_fd(&f->sock);
    f->sock = fd;
    return 0;
}

uint8_t *
vfront_buf(const struct vfront *f, unsigned q, unsigned id)
{
    return f->mem + f->buf_ofs + ((uint64_t)q * f->ring[q].num + id) * f->buf_len;
}

uint64_t
vfront_gpa(const struct vfront *f, const void *p)
{
    return f->gpa_base + (uint64_t)((const uint8_t *)p - f->mem);
}

/* ---- messages ---- */

int
vfront_send(struct vfront *f, uint32_t req, uint32_t flags, const void *payload, uint32_t size,
            const int *fds, unsigned n_fds)
{
    struct vhost_user_hdr h = {.request = req, .flags = VHOST_USER_VERSION | flags, .size = size};
    return vhost_user_send(f->sock, &h, payload, size, fds, n_fds);
}

int
vfront_send_u64(struct vfront *f, uint32_t req, uint32_t flags, uint64_t v)
{
    return vfront_send(f, req, flags, &v, sizeof v, NULL, 0);
}

int
vfront_send_state(struct vfront *f, uint32_t req, uint32_t flags, uint32_t index, uint32_t num)
{
    struct vhost_user_vring_state s = {index, num};
    return vfront_send(f, req, flags, &s, sizeof s, NULL, 0);
}

int
vfront_send_mem_table(struct vfront *f, uint32_t flags, uint64_t len)
{
    struct vhost_user_mem m = {.n_regions = 1};
    m.regions[0] = (struct vhost_user_region){
        .guest_addr = f->gpa_base, .size = len, .user_addr = f->ua_base, .mmap_offset = 0};
    return vfront_send(f, VHOST_USER_SET_MEM_TABLE, flags, &m, 8 + sizeof m.regions[0], &f->mem_fd,
                       1);
}

int
vfront_send_vring(struct vfront *f, unsigned q, uint32_t flags, bool enable)
{
    const struct vfront_ring *r = &f->ring[q];
    struct vhost_user_vring_addr a = {.index = q,
                                      .desc = f->ua_base + r->desc_ofs,
                                      .avail = f->ua_base + r->avail_ofs,
                                      .used = f->ua_base + r->used_ofs};
    uint64_t v = q;
    int rc;
    if ((rc = vfront_send_state(f, VHOST_USER_SET_VRING_NUM, flags, q, r->num)) < 0 ||
        (rc = vfront_send_state(f, VHOST_USER_SET_VRING_BASE, flags, q, 0)) < 0 ||
        (rc = vfront_send(f, VHOST_USER_SET_VRING_ADDR, flags, &a, sizeof a, NULL, 0)) < 0 ||
        (rc = vfront_send(f, VHOST_USER_SET_VRING_CALL, flags, &v, 8, &r->call_fd, 1)) < 0 ||
        (rc = vfront_send(f, VHOST_USER_SET_VRING_KICK, flags, &v, 8, &r->kick_fd, 1)) < 0)
        return rc;
    if (!enable)
        return 5;
    rc = vfront_send_state(f, VHOST_USER_SET_VRING_ENABLE, flags, q, 1);
    return rc < 0 ? rc : 6;
}

/* Reads exactly 'len' bytes, waiting up to 'timeout_ms' for each piece. */
static int
recv_all(int sock, void *buf, size_t len, int timeout_ms)
{
    uint8_t *p = buf;
    while (len) {
        ssize_t n = recv(sock, p, len, MSG_DONTWAIT);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        if (n == 0)
            return -ECONNRESET;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return -errno;
        struct pollfd pfd = {.fd = sock, .events = POLLIN};
        int k = poll(&pfd, 1, timeout_ms);
        if (k < 0 && errno != EINTR)
            return -errno;
        if (k == 0)
            return -ETIMEDOUT;
    }
    return 0;
}

int
vfront_recv_reply(struct vfront *f, uint32_t req, uint64_t *v, int timeout_ms)
{
    struct vhost_user_hdr h;
    union {
        uint64_t u64;
        struct vhost_user_vring_state state;
    } payload = {0};
    int rc = recv_all(f->sock, &h, sizeof h, timeout_ms);
    if (rc < 0)
        return rc;
    if (h.request != req || !(h.flags & VHOST_USER_FLAG_REPLY) || h.size != 8)
        return -EPROTO;
    if ((rc = recv_all(f->sock, &payload, h.size, timeout_ms)) < 0)
        return rc;
    *v = req == VHOST_USER_GET_VRING_BASE ? payload.state.num : payload.u64;
    return 0;
}

static int
failf(char *err, size_t err_len, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
    /* A device that hung up shows as a reset when we read and as a broken
     * pipe when we write next, whichever comes first: the same to the user. */
    if (n >= 0 && (size_t)n < err_len && rc != -EPROTO)
        snprintf(err + n, err_len - (size_t)n, ": %s",
                 rc == -ECONNRESET || rc == -EPIPE ? "the device closed the connection"
                                                   : strerror(-rc));
    else if (n >= 0 && (size_t)n < err_len)
        snprintf(err + n, err_len - (size_t)n, ": the device answered out of protocol");
    return rc;
}

/* Waits for 'n_acks' REPLY_ACKs to 'req' (none without REPLY_ACK). */
static int
acks(struct vfront *f, uint32_t req, int n_acks, int timeout_ms, char *err, size_t err_len)
{
    if (!(f->protocol_features & (1ULL << VHOST_USER_PROTOCOL_F_REPLY_ACK)))
        return 0;
    for (int i = 0; i < n_acks; i++) {
        uint64_t v;
        int rc = vfront_recv_reply(f, req, &v, timeout_ms);
        if (rc < 0)
            return failf(err, err_len, rc, "%s", vhost_user_request_name(req));
        if (v) {
            snprintf(err, err_len, "the device refused %s", vhost_user_request_name(req));
            return -EINVAL;
        }
    }
    return 0;
}

int
vfront_handshake(struct vfront *f, uint64_t want, bool no_interrupt, int timeout_ms, char *err,
                 size_t err_len)
{
    uint64_t offered, pf = 0;
    int rc;
    if ((rc = vfront_send(f, VHOST_USER_SET_OWNER, 0, NULL, 0, NULL, 0)) < 0 ||
        (rc = vfront_send(f, VHOST_USER_GET_FEATURES, 0, NULL, 0, NULL, 0)) < 0)
        return failf(err, err_len, rc, "GET_FEATURES");
    if ((rc = vfront_recv_reply(f, VHOST_USER_GET_FEATURES, &offered, timeout_ms)) < 0)
        return failf(err, err_len, rc, "GET_FEATURES");
    if (!(offered & (1ULL << VIRTIO_F_VERSION_1))) {
        snprintf(err, err_len, "the device does not offer VIRTIO_F_VERSION_1 (features %#llx)",
                 (unsigned long long)offered);
        return -ENOTSUP;
    }
    f->features = offered & (want | (1ULL << VIRTIO_F_VERSION_1));
    f->features &= (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_NET_F_MRG_RXBUF) |
                   (1ULL << VHOST_USER_F_PROTOCOL_FEATURES);
    f->hdr_len = virtio_net_hdr_len(f->features);
    bool has_pf = f->features & (1ULL << VHOST_USER_F_PROTOCOL_FEATURES);
    if (has_pf) {
        if ((rc = vfront_send(f, VHOST_USER_GET_PROTOCOL_FEATURES, 0, NULL, 0, NULL, 0)) < 0 ||
            (rc = vfront_recv_reply(f, VHOST_USER_GET_PROTOCOL_FEATURES, &pf, timeout_ms)) < 0)
            return failf(err, err_len, rc, "GET_PROTOCOL_FEATURES");
        pf &= 1ULL << VHOST_USER_PROTOCOL_F_REPLY_ACK;
    }
    /* Features first, as DPDK's virtio_user does: the device sizes its header. */
    if ((rc = vfront_send_u64(f, VHOST_USER_SET_FEATURES, 0, f->features)) < 0)
        return failf(err, err_len, rc, "SET_FEATURES");
    if (has_pf) {
        if ((rc = vfront_send_u64(f, VHOST_USER_SET_PROTOCOL_FEATURES, 0, pf)) < 0)
            return failf(err, err_len, rc, "SET_PROTOCOL_FEATURES");
        f->protocol_features = pf;
    }
    uint32_t ack = pf ? VHOST_USER_FLAG_NEED_REPLY : 0;
    if ((rc = vfront_send_mem_table(f, ack, f->mem_len)) < 0)
        return failf(err, err_len, rc, "SET_MEM_TABLE");
    if ((rc = acks(f, VHOST_USER_SET_MEM_TABLE, 1, timeout_ms, err, err_len)) < 0)
        return rc;
    for (unsigned q = 0; q < VHOST_N_VRINGS; q++) {
        struct vfront_ring *r = &f->ring[q];
        r->avail->flags = no_interrupt ? VIRTQ_AVAIL_F_NO_INTERRUPT : 0;
        static const uint32_t reqs[] = {VHOST_USER_SET_VRING_NUM,  VHOST_USER_SET_VRING_BASE,
                                        VHOST_USER_SET_VRING_ADDR, VHOST_USER_SET_VRING_CALL,
                                        VHOST_USER_SET_VRING_KICK, VHOST_USER_SET_VRING_ENABLE};
        int n = vfront_send_vring(f, q, ack, has_pf);
        if (n < 0)
            return failf(err, err_len, n, "ring %u set-up", q);
        for (int k = 0; k < n; k++)
            if ((rc = acks(f, reqs[k], 1, timeout_ms, err, err_len)) < 0)
                return rc;
    }
    return 0;
}

bool
vfront_hung_up(const struct vfront *f)
{
    struct pollfd pfd = {.fd = f->sock, .events = POLLIN};
    if (f->sock < 0)
        return true;
    if (poll(&pfd, 1, 0) <= 0)
        return false;
    if (pfd.revents & (POLLHUP | POLLERR | POLLNVAL))
        return true;
    /* Readable: the device has nothing to say to us unasked; EOF means gone. */
    char c;
    ssize_t n = recv(f->sock, &c, 1, MSG_DONTWAIT | MSG_PEEK);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

/* ---- rings ---- */

bool
vfront_kick(struct vfront_ring *r)
{
    /* Publish the index before reading the device's flag (virtio 1.1
     * §2.6.13.6), or a device going to sleep could miss both. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (__atomic_load_n(&r->used->flags, __ATOMIC_RELAXED) & VIRTQ_USED_F_NO_NOTIFY)
        return false;
    uint64_t one = 1;
    if (write(r->kick_fd, &one, sizeof one) != sizeof one)
        return false; /* a full counter: the device has a kick pending anyway */
    r->n_kicks++;
    return true;
}

int
vfront_used_count(const struct vfront_ring *r)
{
    uint16_t idx = __atomic_load_n(&r->used->idx, __ATOMIC_ACQUIRE);
    uint16_t n = (uint16_t)(idx - r->used_idx);
    uint16_t out = (uint16_t)(r->avail_idx - r->used_idx);
    return n <= out ? n : -EPROTO;
}

int
vfront_used_get(struct vfront_ring *r, uint32_t max_len, struct virtq_used_elem *e)
{
    int n = vfront_used_count(r);
    if (n <= 0)
        return n;
    /* Read once: the device may rewrite the entry under us. */
    struct virtq_used_elem raw;
    memcpy(&raw, (const void *)&r->used->ring[r->used_idx & (r->num - 1)], sizeof raw);
    if (raw.id >= r->num || !r->busy[raw.id] || raw.len > max_len)
        return -EPROTO;
    r->busy[raw.id] = 0;
    r->used_idx++;
    *e = raw;
    return 1;
}
