/* SPDX-License-Identifier: Apache-2.0 */
/*
 * port-afpacket: AF_PACKET backend with a TPACKET_V3 receive ring.
 *
 * The kernel fills blocks of the mmap'ed ring with frames and hands a block to
 * us when it is full or its retire timer fires (1 ms), so one wakeup carries a
 * burst.  We copy each frame into the caller's buffer (the later AF_XDP backend
 * avoids the copy) and give the block back once every frame of it is read.
 *
 * The kernel strips an 802.1Q tag before AF_PACKET sees the frame and reports it
 * in the frame header (TP_STATUS_VLAN_VALID); we put the tag back so that the
 * switch sees the frame as it was on the wire.  A frame whose tag the kernel
 * could not parse never reaches us: the kernel drops it.
 *
 * Transmit is send(2) on the same socket, bypassing the qdisc.  Outgoing frames
 * are not looped back to our ring (PACKET_IGNORE_OUTGOING).
 */
#include "dataplane/port.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#define RING_BLOCK_SIZE (1u << 20)
#define RING_BLOCK_NR 8
#define RING_FRAME_SIZE 2048
#define RING_RETIRE_MS 1

struct afp_port {
    int fd;
    uint8_t *ring;
    size_t ring_len;
    unsigned block;            /* block being read */
    struct tpacket3_hdr *next; /* next frame in it, NULL if none started */
    unsigned left;             /* frames left in it */
};

static struct tpacket_block_desc *
afp_block(struct afp_port *a, unsigned i)
{
    return (struct tpacket_block_desc *)(a->ring + (size_t)i * RING_BLOCK_SIZE);
}

static void
afp_close(struct port *port)
{
    struct afp_port *a = port->priv;
    if (!a)
        return;
    if (a->ring && a->ring != MAP_FAILED)
        munmap(a->ring, a->ring_len);
    if (a->fd >= 0)
        close(a->fd);
    free(a);
    port->priv = NULL;
}

static int
afp_open(struct port *port)
{
    int ifindex = (int)if_nametoindex(port->ifname);
    if (!ifindex)
        return -ENODEV;
    struct afp_port *a = calloc(1, sizeof *a);
    if (!a)
        return -ENOMEM;
    port->priv = a;
    port->ifindex = ifindex;
    a->ring = MAP_FAILED;
    a->fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL));
    if (a->fd < 0)
        goto fail;

    int one = 1, v3 = TPACKET_V3;
    if (setsockopt(a->fd, SOL_PACKET, PACKET_VERSION, &v3, sizeof v3) < 0)
        goto fail;
    setsockopt(a->fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one);
    if (setsockopt(a->fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) < 0)
        goto fail;

    struct tpacket_req3 req = {
        .tp_block_size = RING_BLOCK_SIZE,
        .tp_block_nr = RING_BLOCK_NR,
        .tp_frame_size = RING_FRAME_SIZE,
        .tp_frame_nr = RING_BLOCK_SIZE / RING_FRAME_SIZE * RING_BLOCK_NR,
        .tp_retire_blk_tov = RING_RETIRE_MS,
    };
    if (setsockopt(a->fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof req) < 0)
        goto fail;
    a->ring_len = (size_t)RING_BLOCK_SIZE * RING_BLOCK_NR;
    a->ring = mmap(NULL, a->ring_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_LOCKED, a->fd, 0);
    if (a->ring == MAP_FAILED)
        a->ring = mmap(NULL, a->ring_len, PROT_READ | PROT_WRITE, MAP_SHARED, a->fd, 0);
    if (a->ring == MAP_FAILED)
        goto fail;

    struct sockaddr_ll sll = {
        .sll_family = AF_PACKET,
        .sll_protocol = htons(ETH_P_ALL),
        .sll_ifindex = ifindex,
    };
    if (bind(a->fd, (struct sockaddr *)&sll, sizeof sll) < 0)
        goto fail;
    struct packet_mreq mr = {.mr_ifindex = ifindex, .mr_type = PACKET_MR_PROMISC};
    setsockopt(a->fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr);
    return 0;

fail:;
    int err = -errno;
    afp_close(port);
    return err;
}

/* Copies one ring frame into 'p', re-inserting the VLAN tag the kernel took. */
static void
afp_copy(const struct tpacket3_hdr *h, struct pkt *p)
{
    const uint8_t *src = (const uint8_t *)h + h->tp_mac;
    uint32_t len = h->tp_snaplen;
    pkt_reset(p);
    if (len > PKT_DATA_MAX - VLAN_TAG_LEN)
        len = PKT_DATA_MAX - VLAN_TAG_LEN; /* longer than any port may carry */
    if ((h->tp_status & TP_STATUS_VLAN_VALID) && len >= 2 * ETH_ADDR_LEN) {
        uint16_t tpid =
            (h->tp_status & TP_STATUS_VLAN_TPID_VALID) ? h->hv1.tp_vlan_tpid : ETH_TYPE_VLAN;
        uint16_t tci = h->hv1.tp_vlan_tci;
        memcpy(p->data, src, 2 * ETH_ADDR_LEN);
        p->data[12] = (uint8_t)(tpid >> 8);
        p->data[13] = (uint8_t)tpid;
        p->data[14] = (uint8_t)(tci >> 8);
        p->data[15] = (uint8_t)tci;
        memcpy(p->data + 16, src + 12, len - 12);
        p->len = len + VLAN_TAG_LEN;
    } else {
        memcpy(p->data, src, len);
        p->len = len;
    }
    /* The kernel reports a truncated capture in tp_len > tp_snaplen; it cannot
     * happen with our frame size, but never forward a cut frame as whole. */
    if (h->tp_len != h->tp_snaplen)
        p->len = 0;
}

static unsigned
afp_rx_burst(struct port *port, struct pkt **pkts, unsigned n)
{
    struct afp_port *a = port->priv;
    unsigned got = 0;
    while (got < n) {
        struct tpacket_block_desc *b = afp_block(a, a->block);
        if (!a->next) {
            if (!(__atomic_load_n(&b->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER))
                break;
            a->left = b->hdr.bh1.num_pkts;
            a->next = (struct tpacket3_hdr *)((uint8_t *)b + b->hdr.bh1.offset_to_first_pkt);
        }
        while (a->left && got < n) {
            afp_copy(a->next, pkts[got++]);
            a->next = (struct tpacket3_hdr *)((uint8_t *)a->next + a->next->tp_next_offset);
            a->left--;
        }
        if (!a->left) {
            __atomic_store_n(&b->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
            a->next = NULL;
            a->block = (a->block + 1) % RING_BLOCK_NR;
        }
    }
    return got;
}

static unsigned
afp_tx_burst(struct port *port, struct pkt **pkts, unsigned n)
{
    struct afp_port *a = port->priv;
    unsigned i;
    for (i = 0; i < n; i++) {
        ssize_t w;
        do
            w = send(a->fd, pkts[i]->data, pkts[i]->len, MSG_DONTWAIT);
        while (w < 0 && errno == EINTR);
        if (w < 0)
            break;
    }
    return i;
}

static int
afp_fd(const struct port *port)
{
    return ((const struct afp_port *)port->priv)->fd;
}

const struct port_ops port_afpacket_ops = {
    .name = "afpacket",
    .open = afp_open,
    .close = afp_close,
    .rx_burst = afp_rx_burst,
    .tx_burst = afp_tx_burst,
    .fd = afp_fd,
};
