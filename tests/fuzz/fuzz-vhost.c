/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz-vhost: a vhost-user front-end's messages through the device's framing
 * and parser (vhost_dev_service() over a socketpair), with the guest memory
 * they describe, and the packet copies in both directions after each message.
 *
 * Input: LE16 length L, then L bytes of guest memory (the start of a 256 KiB
 * memfd), then messages as on the wire: a 12-byte header and its payload.  The
 * harness attaches descriptors as a real front-end would: n_regions copies of
 * the memfd to SET_MEM_TABLE, an eventfd to SET_VRING_KICK/CALL/ERR unless
 * the NOFD bit is set, the memfd to SET_LOG_BASE (its dirty log: the guest's
 * own memory, so that the marks land where the harness looks); header flag
 * bit 31 withholds them, to exercise
 * mismatches.  Seeds: tests/fuzz/gen-vhost-corpus.py.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/log.h"
#include "dataplane/vhost-user.h"

#define GUEST_MEM (256 * 1024)
#define NO_FDS_FLAG (1U << 31)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
send_msg(int sock, const uint8_t *msg, size_t len, int memfd)
{
    struct vhost_user_hdr h;
    memcpy(&h, msg, sizeof h);
    int fds[VHOST_USER_MAX_FDS];
    unsigned n_fds = 0;
    if (!(h.flags & NO_FDS_FLAG)) {
        uint64_t arg = 0;
        if (len >= sizeof h + 8)
            memcpy(&arg, msg + sizeof h, 8);
        if (h.request == VHOST_USER_SET_MEM_TABLE) {
            unsigned n = (unsigned)(arg & 0xffffffffu);
            for (; n_fds < n && n_fds < VHOST_USER_MAX_FDS; n_fds++)
                fds[n_fds] = dup(memfd);
        } else if (h.request == VHOST_USER_SET_LOG_BASE) {
            fds[n_fds++] = dup(memfd);
        } else if (h.request >= VHOST_USER_SET_VRING_KICK &&
                   h.request <= VHOST_USER_SET_VRING_ERR && !(arg & VHOST_USER_VRING_NOFD)) {
            fds[n_fds++] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        }
    }
    /* The device hung up or the buffer is full: then nothing more is tested. */
    vhost_user_send(sock, &h, msg + sizeof h, len - sizeof h, fds, n_fds);
    for (unsigned i = 0; i < n_fds; i++)
        close(fds[i]);
}

static void
drain_replies(int sock)
{
    uint8_t buf[4096];
    while (recv(sock, buf, sizeof buf, MSG_DONTWAIT) > 0)
        ;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct pkt *pkts[4];
    if (!pkts[0]) {
        log_init("fuzz", NULL, LL_ERR);
        for (int i = 0; i < 4; i++)
            pkts[i] = malloc(sizeof *pkts[i]);
    }
    if (size < 2)
        return 0;
    size_t img = (size_t)data[0] | (size_t)data[1] << 8;
    data += 2;
    size -= 2;
    if (img > size)
        img = size;
    int memfd = memfd_create("fuzz-guest", MFD_CLOEXEC);
    if (memfd < 0 || ftruncate(memfd, GUEST_MEM) < 0 || pwrite(memfd, data, img, 0) != (ssize_t)img)
        abort();
    data += img;
    size -= img;

    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        abort();
    struct vhost_dev *d = vhost_dev_create("fuzz", NULL, NULL);
    vhost_dev_attach(d, sv[0]);
    while (size >= sizeof(struct vhost_user_hdr) && vhost_dev_is_attached(d)) {
        struct vhost_user_hdr h;
        memcpy(&h, data, sizeof h);
        size_t len = sizeof h + (h.size < size - sizeof h ? h.size : size - sizeof h);
        send_msg(sv[1], data, len, memfd);
        data += len;
        size -= len;
        vhost_dev_service(d);
        drain_replies(sv[1]);
        vhost_dev_dequeue(d, pkts, 4);
        for (int i = 0; i < 2; i++) {
            pkt_reset(pkts[i]);
            pkts[i]->len = i ? 3000 : 60;
            memset(pkts[i]->data, 0xab, pkts[i]->len);
        }
        vhost_dev_enqueue(d, pkts, 2);
    }
    struct vhost_dev_info info;
    vhost_dev_get_info(d, &info);
    if (getenv("FUZZ_VHOST_VERBOSE")) /* to check what a seed reaches */
        fprintf(stderr,
                "attached %d regions %u from_guest %llu to_guest %llu bad_msgs %llu "
                "bad_desc %llu\n",
                info.attached, info.n_regions, (unsigned long long)info.rx_packets,
                (unsigned long long)info.tx_packets, (unsigned long long)info.n_bad_msgs,
                (unsigned long long)info.drops[VHOST_DROP_BAD_DESC]);
    vhost_dev_destroy(d);
    close(sv[1]);
    close(memfd);
    return 0;
}
