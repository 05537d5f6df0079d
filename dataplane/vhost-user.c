/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vhost-user: the back-end side of the protocol (see vhost-user.h).  Messages
 * are framed from a non-blocking stream socket into one buffer per device,
 * handled by vhost_dev_handle_msg() through a table of one handler per
 * request (each never trusts a field), and answered.  The rings themselves,
 * and the packet copies, are virtq.c's.
 */
#include "dataplane/vhost-user.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dataplane/virtq.h"
#include "lib/log.h"
#include "lib/util.h"

LOG_MODULE(vhost);

struct vhost_dev {
    struct virtq_dev q; /* name, guest memory, features, counters: what the rings share */
    vhost_kick_changed_fn *kick_changed;
    void *aux;
    int conn;
    uint64_t protocol_features;
    struct virtq vq[VHOST_N_VRINGS];
    /* framing of the message being received */
    size_t rlen;
    int rfds[VHOST_USER_MAX_FDS];
    unsigned n_rfds;
    struct vhost_user_msg msg, reply;
    /* SEND_RARP: an announcement of this MAC waits for the next dequeue */
    uint8_t rarp_mac[6];
    bool rarp_pending;
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

static void
mem_unmap(struct virtq_region *regions, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (regions[i].map)
            munmap(regions[i].map, regions[i].map_len);
}

/* Maps 'size' bytes at 'offset' of file 'fd' that a front-end handed us
 * (guest memory, the dirty log), all of it checked: a regular file at least
 * that long.  A client that shrank the file under our mapping would crash us
 * (SIGBUS): it is sealed against that where the file allows (a memfd made
 * with MFD_ALLOW_SEALING, as QEMU's are); others stay a risk.  The mapping,
 * whole pages of the file's block size (hugetlbfs wants whole huge pages),
 * goes to '*map' and '*map_len'.  Returns 0 or -EINVAL. */
static int
fd_map(int fd, uint64_t offset, uint64_t size, void **map, size_t *map_len)
{
    struct stat st;
    uint64_t end;
    if (!size || __builtin_add_overflow(offset, size, &end) || end > SIZE_MAX / 2 ||
        fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size < end)
        return -EINVAL;
    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK);
    uint64_t align = st.st_blksize >= 4096 && st.st_blksize <= (1 << 30) &&
                             !(st.st_blksize & (st.st_blksize - 1))
                         ? (uint64_t)st.st_blksize
                         : 4096;
    *map_len = (size_t)((end + align - 1) & ~(align - 1));
    *map = mmap(NULL, *map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
    return *map == MAP_FAILED ? -EINVAL : 0;
}

/* Maps a new memory table; the old one stays until the new one is complete. */
static int
mem_set(struct vhost_dev *d, const struct vhost_user_mem *mem, int *fds, unsigned n_fds)
{
    struct virtq_region nr[VHOST_USER_MAX_REGIONS] = {0};
    unsigned n = mem->n_regions;
    if (n == 0 || n > VHOST_USER_MAX_REGIONS || n != n_fds)
        return -EINVAL;
    for (unsigned i = 0; i < n; i++) {
        const struct vhost_user_region *r = &mem->regions[i];
        void *m;
        size_t len;
        if (r->guest_addr + r->size < r->guest_addr || r->user_addr + r->size < r->user_addr ||
            fd_map(fds[i], r->mmap_offset, r->size, &m, &len) < 0)
            goto bad;
        nr[i] = (struct virtq_region){.guest_addr = r->guest_addr,
                                      .user_addr = r->user_addr,
                                      .size = r->size,
                                      .host = (uint8_t *)m + r->mmap_offset,
                                      .map = m,
                                      .map_len = len};
    }
    mem_unmap(d->q.mem.regions, d->q.mem.n_regions);
    memcpy(d->q.mem.regions, nr, sizeof nr);
    d->q.mem.n_regions = n;
    for (unsigned i = 0; i < VHOST_N_VRINGS; i++)
        virtq_map(&d->q, &d->vq[i]);
    return 0;
bad:
    mem_unmap(nr, n);
    return -EINVAL;
}

/* ---- the dirty log ---- */

static void
log_update(struct vhost_dev *d)
{
    bool on = d->q.log && (d->q.features & (1ULL << VHOST_F_LOG_ALL));
    if (on == d->q.logging)
        return;
    d->q.logging = on;
    if (on)
        log_info("port=%s: dirty logging on (a migration starts; log of %llu bytes)", d->q.name,
                 (unsigned long long)d->q.log_len);
    else
        log_info("port=%s: dirty logging off (%llu writes logged so far)", d->q.name,
                 (unsigned long long)d->q.stats.log_marks);
}

static void
log_unmap(struct vhost_dev *d)
{
    if (d->q.log_map)
        munmap(d->q.log_map, d->q.log_map_len);
    d->q.log_map = NULL;
    d->q.log = NULL;
    d->q.log_len = 0;
    log_update(d);
}

/* Maps the log the front-end shares (SET_LOG_BASE); the old log stays
 * until the new one is mapped. */
static int
log_set(struct vhost_dev *d, const struct vhost_user_log *l, int fd)
{
    void *m;
    size_t len;
    if (l->mmap_size > VHOST_LOG_MAX || fd_map(fd, l->mmap_offset, l->mmap_size, &m, &len) < 0)
        return -EINVAL;
    log_unmap(d);
    d->q.log_map = m;
    d->q.log_map_len = len;
    d->q.log = (uint8_t *)m + l->mmap_offset;
    d->q.log_len = l->mmap_size;
    log_update(d);
    return 0;
}

/* ---- rings ---- */

static void
vring_set_kick(struct vhost_dev *d, unsigned idx, int fd)
{
    struct virtq *vq = &d->vq[idx];
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
    struct virtq *vq = &d->vq[idx];
    vring_set_kick(d, idx, -1);
    close_fd(&vq->call_fd);
    close_fd(&vq->err_fd);
    *vq = (struct virtq){.idx = idx, .kick_fd = -1, .call_fd = -1, .err_fd = -1};
}

static void
dev_reset(struct vhost_dev *d)
{
    for (unsigned i = 0; i < VHOST_N_VRINGS; i++)
        vring_reset(d, i);
    mem_unmap(d->q.mem.regions, d->q.mem.n_regions);
    d->q.mem.n_regions = 0;
    d->q.features = 0;
    d->protocol_features = 0;
    d->rarp_pending = false;
    log_unmap(d);
    d->q.hdr_len = virtio_net_hdr_len(0);
}

/* ---- the packet path: virtq.c's, on this device's rings ---- */

unsigned
vhost_dev_dequeue(struct vhost_dev *d, struct pkt **pkts, unsigned n)
{
    unsigned got = 0;
    if (d->rarp_pending && n) {
        /* The guest's announcement, first: as if it had sent it. */
        pkt_rarp_build(pkts[got++], d->rarp_mac);
        d->rarp_pending = false;
        d->q.stats.n_rarps++;
    }
    return got + virtq_dequeue(&d->q, &d->vq[VHOST_TXQ], pkts + got, n - got);
}

bool
vhost_dev_tx_pending(const struct vhost_dev *d)
{
    return d->rarp_pending || virtq_pending(&d->vq[VHOST_TXQ]);
}

bool
vhost_dev_tx_polled(const struct vhost_dev *d)
{
    const struct virtq *vq = &d->vq[VHOST_TXQ];
    return virtq_usable(vq) && vq->kick_fd < 0;
}

unsigned
vhost_dev_enqueue(struct vhost_dev *d, struct pkt *const *pkts, unsigned n)
{
    unsigned sent = vhost_dev_stage(d, pkts, n);
    vhost_dev_publish(d);
    return sent;
}

unsigned
vhost_dev_stage(struct vhost_dev *d, struct pkt *const *pkts, unsigned n)
{
    if (d->conn < 0) {
        d->q.stats.drops[VHOST_DROP_NOT_READY] += n;
        return 0;
    }
    return virtq_stage(&d->q, &d->vq[VHOST_RXQ], pkts, n);
}

void
vhost_dev_publish(struct vhost_dev *d)
{
    /* Frames are staged only with a client, and detaching resets the rings:
     * whatever is staged is this client's. */
    virtq_publish(&d->q, &d->vq[VHOST_RXQ]);
}

/* ---- messages: one handler per request ---- */

/* One request being handled: the message, the descriptors that came with it
 * (a handler that keeps one takes it out of 'fds'; the rest are closed after
 * it), and the reply it may fill. */
struct vhost_call {
    struct vhost_dev *d;
    const struct vhost_request *req; /* its entry in requests[] */
    const struct vhost_user_msg *m;
    int *fds;
    unsigned n_fds;
    struct vhost_user_msg *r;
    struct virtq *vq; /* the ring a vring state names (requests[].ring_state) */
};

/* Returns <0 to refuse the message, 0 when done, 1 with a reply in c->r. */
typedef int vhost_handler_fn(struct vhost_call *c);

/* A request we know: its name and, if we serve it, its handler.  'u64': the
 * answer of a question whose answer never changes; 'ring_state': the payload
 * is a vring state (index, num), checked before the handler runs, which finds
 * the ring in c->vq. */
struct vhost_request {
    const char *name;
    vhost_handler_fn *fn;
    uint64_t u64;
    bool ring_state;
};

static int
reply_u64(struct vhost_call *c, uint64_t v)
{
    c->r->payload.u64 = v;
    c->r->hdr.size = 8;
    return 1;
}

/* The u64 argument of a SET_*FEATURES message, if it offers no bit beyond
 * 'offered'. */
static int
features_arg(const struct vhost_call *c, uint64_t offered, uint64_t *v)
{
    if (c->m->hdr.size < 8 || c->n_fds || (c->m->payload.u64 & ~offered))
        return -EINVAL;
    *v = c->m->payload.u64;
    return 0;
}

/* The ring a SET/GET_VRING_NUM/BASE/ENABLE message names, or -EINVAL. */
static int
vring_state_arg(const struct vhost_call *c)
{
    const struct vhost_user_msg *m = c->m;
    if (m->hdr.size < sizeof m->payload.state || c->n_fds)
        return -EINVAL;
    return m->payload.state.index < VHOST_N_VRINGS ? (int)m->payload.state.index : -EINVAL;
}

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

/* Takes fds[0] out of the call for a SET_VRING_KICK/CALL/ERR message: '*fd'
 * is the eventfd of ring '*idx', or -1 with VHOST_USER_VRING_NOFD. */
static int
vring_fd_arg(struct vhost_call *c, unsigned *idx, int *fd)
{
    if (c->m->hdr.size < 8)
        return -EINVAL;
    uint64_t v = c->m->payload.u64;
    *idx = (unsigned)(v & VHOST_USER_VRING_IDX_MASK);
    *fd = -1;
    if (*idx >= VHOST_N_VRINGS ||
        (v & ~(uint64_t)(VHOST_USER_VRING_IDX_MASK | VHOST_USER_VRING_NOFD)))
        return -EINVAL;
    if (v & VHOST_USER_VRING_NOFD)
        return c->n_fds == 0 ? 0 : -EINVAL;
    /* Never block on it: a client could fill the counter (our call write
     * would wait) or empty it first (our kick read would).  The flag is on the
     * shared file description; QEMU and DPDK use non-blocking eventfds anyway. */
    int fl = fcntl(c->fds[0], F_GETFL);
    if (c->n_fds != 1 || !fd_is_eventfd(c->fds[0]) || fl < 0 ||
        fcntl(c->fds[0], F_SETFL, fl | O_NONBLOCK) < 0)
        return -EINVAL;
    *fd = c->fds[0];
    c->fds[0] = -1;
    return 0;
}

/* GET_FEATURES, GET_PROTOCOL_FEATURES, GET_QUEUE_NUM: what we offer. */
static int
get_constant(struct vhost_call *c)
{
    return reply_u64(c, c->req->u64);
}

static int
set_features(struct vhost_call *c)
{
    struct vhost_dev *d = c->d;
    int rc = features_arg(c, VHOST_DEV_FEATURES, &d->q.features);
    if (rc < 0)
        return rc;
    d->q.hdr_len = virtio_net_hdr_len(d->q.features);
    log_update(d);
    for (unsigned i = 0; i < VHOST_N_VRINGS; i++)
        if (!(d->q.features & (1ULL << VHOST_USER_F_PROTOCOL_FEATURES)))
            d->vq[i].enabled = true;
    return 0;
}

static int
set_protocol_features(struct vhost_call *c)
{
    return features_arg(c, VHOST_DEV_PROTOCOL_FEATURES, &c->d->protocol_features);
}

static int
set_owner(struct vhost_call *c)
{
    return c->n_fds ? -EINVAL : 0;
}

static int
reset_owner(struct vhost_call *c)
{
    dev_reset(c->d);
    return 0;
}

static int
set_mem_table(struct vhost_call *c)
{
    const struct vhost_user_msg *m = c->m;
    unsigned n = m->payload.mem.n_regions;
    if (m->hdr.size < 8 || n > VHOST_USER_MAX_REGIONS ||
        m->hdr.size < 8 + sizeof(struct vhost_user_region) * n)
        return -EINVAL;
    return mem_set(c->d, &m->payload.mem, c->fds, c->n_fds);
}

static int
set_vring_num(struct vhost_call *c)
{
    unsigned num = c->m->payload.state.num;
    if (!num || num > VIRTQ_MAX_SIZE || (num & (num - 1)))
        return -EINVAL;
    c->vq->num = num;
    virtq_map(&c->d->q, c->vq);
    return 0;
}

static int
set_vring_base(struct vhost_call *c)
{
    if (c->m->payload.state.num > UINT16_MAX)
        return -EINVAL;
    c->vq->last_avail = c->vq->last_used = (uint16_t)c->m->payload.state.num;
    c->vq->broken = false;
    return 0;
}

/* Stops the ring and answers where it stopped. */
static int
get_vring_base(struct vhost_call *c)
{
    int idx = vring_state_arg(c);
    c->r->hdr.size = sizeof c->r->payload.state;
    c->r->payload.state.index = c->m->payload.state.index;
    c->r->payload.state.num = 0;
    if (idx < 0)
        return 1; /* the front-end waits for an answer even to a bad question */
    struct virtq *vq = &c->d->vq[idx];
    c->r->payload.state.num = vq->last_avail;
    vq->started = false;
    vring_set_kick(c->d, (unsigned)idx, -1);
    return 1;
}

static int
set_vring_addr(struct vhost_call *c)
{
    const struct vhost_user_vring_addr *a = &c->m->payload.addr;
    if (c->m->hdr.size < sizeof *a || c->n_fds || a->index >= VHOST_N_VRINGS ||
        (a->flags & ~VHOST_VRING_F_LOG))
        return -EINVAL;
    struct virtq *vq = &c->d->vq[a->index];
    vq->log_used = a->flags & VHOST_VRING_F_LOG;
    vq->used_gpa = a->log;
    return virtq_set_addr(&c->d->q, vq, a->desc, a->avail, a->used);
}

/* The dirty log, in a memfd (LOG_SHMFD).  The front-end waits for an
 * answer without a payload, whatever the outcome (QEMU, DPDK). */
static int
set_log_base(struct vhost_call *c)
{
    c->r->hdr.size = 0;
    if (c->m->hdr.size < sizeof c->m->payload.log || c->n_fds != 1 ||
        log_set(c->d, &c->m->payload.log, c->fds[0]) < 0) {
        c->d->q.stats.n_bad_msgs++;
        if (log_ratelimit_ok(&c->d->q.rl))
            log_warn("port=%s: refused SET_LOG_BASE (%u bytes, %u fds): bad arguments",
                     c->d->q.name, c->m->hdr.size, c->n_fds);
    }
    return 1;
}

/* The guest moved here: announce it (its MAC in the payload's first bytes). */
static int
send_rarp(struct vhost_call *c)
{
    const uint8_t *mac = c->m->payload.raw;
    if (c->m->hdr.size < 6 || c->n_fds || eth_addr_is_multicast(mac) || eth_addr_is_zero(mac))
        return -EINVAL;
    memcpy(c->d->rarp_mac, mac, 6);
    c->d->rarp_pending = true;
    return 0;
}

/* Starts the ring. */
static int
set_vring_kick(struct vhost_call *c)
{
    unsigned idx;
    int fd, rc = vring_fd_arg(c, &idx, &fd);
    if (rc < 0)
        return rc;
    vring_set_kick(c->d, idx, fd);
    c->d->vq[idx].started = true;
    c->d->vq[idx].broken = false;
    return 0;
}

/* SET_VRING_CALL, SET_VRING_ERR: the eventfd replaces the ring's. */
static int
set_vring_eventfd(struct vhost_call *c)
{
    bool is_call = c->m->hdr.request == VHOST_USER_SET_VRING_CALL;
    unsigned idx;
    int fd, rc = vring_fd_arg(c, &idx, &fd);
    if (rc < 0)
        return rc;
    int *slot = is_call ? &c->d->vq[idx].call_fd : &c->d->vq[idx].err_fd;
    close_fd(slot);
    *slot = fd;
    return 0;
}

static int
set_vring_enable(struct vhost_call *c)
{
    c->vq->enabled = c->m->payload.state.num != 0;
    return 0;
}

/* Every request we know, by number; its name is its enum's. */
#define REQUEST_(r, ...) [VHOST_USER_##r] = {.name = #r, __VA_ARGS__}
static const struct vhost_request requests[] = {
    REQUEST_(GET_FEATURES, .fn = get_constant, .u64 = VHOST_DEV_FEATURES),
    REQUEST_(SET_FEATURES, .fn = set_features),
    REQUEST_(SET_OWNER, .fn = set_owner),
    REQUEST_(RESET_OWNER, .fn = reset_owner),
    REQUEST_(SET_MEM_TABLE, .fn = set_mem_table),
    REQUEST_(SET_LOG_BASE, .fn = set_log_base),
    REQUEST_(SET_LOG_FD),
    REQUEST_(SET_VRING_NUM, .fn = set_vring_num, .ring_state = true),
    REQUEST_(SET_VRING_ADDR, .fn = set_vring_addr),
    REQUEST_(SET_VRING_BASE, .fn = set_vring_base, .ring_state = true),
    REQUEST_(GET_VRING_BASE, .fn = get_vring_base),
    REQUEST_(SET_VRING_KICK, .fn = set_vring_kick),
    REQUEST_(SET_VRING_CALL, .fn = set_vring_eventfd),
    REQUEST_(SET_VRING_ERR, .fn = set_vring_eventfd),
    REQUEST_(GET_PROTOCOL_FEATURES, .fn = get_constant, .u64 = VHOST_DEV_PROTOCOL_FEATURES),
    REQUEST_(SET_PROTOCOL_FEATURES, .fn = set_protocol_features),
    REQUEST_(GET_QUEUE_NUM, .fn = get_constant, .u64 = 1),
    REQUEST_(SET_VRING_ENABLE, .fn = set_vring_enable, .ring_state = true),
    REQUEST_(SEND_RARP, .fn = send_rarp),
};
#undef REQUEST_

const char *
vhost_user_request_name(uint32_t req)
{
    return req < ARRAY_SIZE(requests) && requests[req].name ? requests[req].name : "unknown";
}

/* Handles 'c'; returns <0 to refuse it, 0 done, 1 with a reply in c->r. */
static int
dispatch(struct vhost_call *c)
{
    uint32_t req = c->m->hdr.request;
    if (req < ARRAY_SIZE(requests) && requests[req].fn) {
        c->req = &requests[req];
        if (c->req->ring_state) {
            int idx = vring_state_arg(c);
            if (idx < 0)
                return idx;
            c->vq = &c->d->vq[idx];
        }
        return c->req->fn(c);
    }
    if (log_ratelimit_ok(&c->d->q.rl))
        log_warn("port=%s: unsupported request %u (%s, %u bytes, %u fds): ignored", c->d->q.name,
                 req, vhost_user_request_name(req), c->m->hdr.size, c->n_fds);
    c->d->q.stats.n_bad_msgs++;
    return -ENOTSUP;
}

bool
vhost_dev_handle_msg(struct vhost_dev *d, const struct vhost_user_msg *m, int *fds, unsigned n_fds,
                     struct vhost_user_msg *r)
{
    memset(&r->hdr, 0, sizeof r->hdr);
    r->payload.u64 = 0;
    struct vhost_call c = {.d = d, .m = m, .fds = fds, .n_fds = n_fds, .r = r};
    int rc = m->hdr.size <= VHOST_USER_MAX_PAYLOAD ? dispatch(&c) : -EINVAL;
    for (unsigned i = 0; i < n_fds; i++)
        close_fd(&fds[i]);
    if (rc < 0 && rc != -ENOTSUP) {
        d->q.stats.n_bad_msgs++;
        if (log_ratelimit_ok(&d->q.rl))
            log_warn("port=%s: refused %s (%u bytes, %u fds): bad arguments", d->q.name,
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
    snprintf(d->q.name, sizeof d->q.name, "%s", name);
    d->kick_changed = kick_changed;
    d->aux = aux;
    d->conn = -1;
    d->q.rl = (struct log_ratelimit)LOG_RATELIMIT_INIT(10, 10000);
    for (unsigned i = 0; i < VHOST_N_VRINGS; i++)
        d->vq[i] = (struct virtq){.idx = i, .kick_fd = -1, .call_fd = -1, .err_fd = -1};
    d->q.hdr_len = virtio_net_hdr_len(0);
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
    d->q.stats.n_attach++;
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
            if (rc == -EPROTO && log_ratelimit_ok(&d->q.rl))
                log_warn("port=%s: client broke the message framing: disconnecting", d->q.name);
            vhost_dev_detach(d);
            return rc;
        }
        if (rc == 2)
            continue;
        unsigned n_fds = d->n_rfds;
        d->n_rfds = 0;
        d->rlen = 0;
        log_debug("port=%s: %s (%u bytes, %u fds)", d->q.name,
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
    *info = d->q.stats;
    info->attached = d->conn >= 0;
    info->features = d->q.features;
    info->protocol_features = d->protocol_features;
    info->hdr_len = d->q.hdr_len;
    info->logging = d->q.logging;
    info->log_bytes = d->q.log_len;
    info->n_regions = d->q.mem.n_regions;
    info->mem_bytes = 0;
    for (unsigned i = 0; i < d->q.mem.n_regions; i++)
        info->mem_bytes += d->q.mem.regions[i].size;
    for (unsigned i = 0; i < VHOST_N_VRINGS; i++) {
        const struct virtq *vq = &d->vq[i];
        info->vring[i] = (struct vhost_vring_info){.num = vq->num,
                                                   .started = vq->started,
                                                   .enabled = vq->enabled,
                                                   .usable = virtq_usable(vq),
                                                   .broken = vq->broken,
                                                   .last_avail = vq->last_avail,
                                                   .last_used = vq->last_used};
    }
}
