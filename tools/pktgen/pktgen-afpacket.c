/* SPDX-License-Identifier: Apache-2.0 */
/* pktgen-afpacket: the AF_PACKET sendmmsg(2) generator (pktgen-afpacket.h). */
#include "tools/pktgen/pktgen-afpacket.h"

#include <errno.h>
#include <linux/if_packet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/util.h"

struct afpacket {
    int fd;
    uint64_t seq; /* the next frame's; as many were sent */
    struct pktgen_tx_cfg cfg;
    struct mmsghdr msgs[PKTGEN_AFP_BATCH];
    struct iovec iov[PKTGEN_AFP_BATCH];
    uint8_t bufs[PKTGEN_AFP_BATCH][PKTGEN_MAX_SIZE];
};

static void
afpacket_close(void *ctx)
{
    struct afpacket *a = ctx;
    if (!a)
        return;
    if (a->fd >= 0)
        close(a->fd);
    free(a);
}

/* Returns the socket or -errno. */
static int
afpacket_socket(int ifindex)
{
    int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    /* Best effort: without it the frames take the qdisc's path, the same
     * frames a little slower. */
    int one = 1;
    setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one);
    struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_ifindex = ifindex};
    if (bind(fd, (struct sockaddr *)&sll, sizeof sll)) {
        int rc = -errno;
        close(fd);
        return rc;
    }
    return fd;
}

static int
afpacket_open(const struct pktgen_opts *o, int ifindex, void **ctx, char *err, size_t err_len)
{
    struct afpacket *a = calloc(1, sizeof *a);
    if (!a)
        return err_set(err, err_len, -ENOMEM, "out of memory");
    a->fd = -1;
    size_t len = pktgen_frame_build(o, a->bufs[0], sizeof a->bufs[0]);
    if (!len) {
        afpacket_close(a);
        return err_set(err, err_len, -EINVAL, "cannot build a %u byte frame", o->size);
    }
    for (unsigned i = 0; i < PKTGEN_AFP_BATCH; i++) {
        memcpy(a->bufs[i], a->bufs[0], len);
        a->iov[i] = (struct iovec){.iov_base = a->bufs[i], .iov_len = len};
        a->msgs[i].msg_hdr = (struct msghdr){.msg_iov = &a->iov[i], .msg_iovlen = 1};
    }
    pktgen_tx_cfg_init(o, &a->cfg);
    a->fd = afpacket_socket(ifindex);
    if (a->fd < 0) {
        int rc = a->fd;
        afpacket_close(a);
        return err_set(err, err_len, rc, "cannot open an AF_PACKET socket: %s", strerror(-rc));
    }
    *ctx = a;
    return 0;
}

static int64_t
afpacket_send(void *ctx, uint64_t n)
{
    struct afpacket *a = ctx;
    unsigned k = (unsigned)MIN(n, PKTGEN_AFP_BATCH);
    uint64_t now = now_ns();
    for (unsigned i = 0; i < k; i++)
        pktgen_frame_stamp(&a->cfg, a->bufs[i], a->seq + i, now);
    int r = sendmmsg(a->fd, a->msgs, k, 0);
    if (r < 0)
        return errno == ENOBUFS || errno == EAGAIN ? 0 : -errno;
    a->seq += (unsigned)r;
    return r;
}

static int
afpacket_finish(void *ctx, uint64_t *sent, char *err, size_t err_len)
{
    *sent = ((struct afpacket *)ctx)->seq; /* sendmmsg() returns once they left */
    return 0;
}

const struct pktgen_gen_ops pktgen_afpacket_ops = {
    .name = "afpacket",
    .chunk_max = 8192,
    .open = afpacket_open,
    .send = afpacket_send,
    .finish = afpacket_finish,
    .close = afpacket_close,
};
