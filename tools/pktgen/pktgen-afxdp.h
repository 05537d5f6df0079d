/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pktgen-afxdp: dse-pktgen's afxdp generator, what `tx --dev` uses where the
 * kernel refuses XDP live frames: an AF_XDP socket (libxdp's xsk rings) bound
 * in copy mode to queue 0 of the interface, transmit only.  It loads no XDP
 * program and needs none; veth refuses zero-copy, and copy mode works on any
 * interface.
 *
 * The umem holds PKTGEN_AFXDP_FRAMES frames of PKTGEN_AFXDP_FRAME_SIZE bytes,
 * each a copy of the template (pktgen_frame_build()) from the start.  Per
 * frame we take a free one off a stack, stamp it in place
 * (pktgen_frame_stamp(): seq, time, the flow's source port and MAC, as
 * bpf/pktgen-tx.bpf.c does) and put its descriptor on the transmit ring; per
 * batch of PKTGEN_AFXDP_BATCH frames one sendto(2) has the kernel send them
 * (in copy mode it builds an skb per frame, copies the frame in and hands it
 * to the driver, by default at most 32 per call); the completion ring gives the frames
 * back to the stack.  The time is read once per batch, before the first.
 * Nothing is allocated after open.
 *
 *   frame:  free --fill--> transmit ring --kernel--> completion ring --reap--> free
 *
 * The transmit and completion rings have as many entries as there are
 * frames, so neither can overflow.  A frame counts as sent once it is back
 * on the completion ring, whether the device delivered it or dropped it (a
 * veth whose peer's ring is full): as with XDP live frames, it used its seq
 * and the sink counts it as lost.  A frame the device is too busy for stays
 * on the transmit ring for the next sendto().
 *
 * Why this one: 66 B frames flat out over a veth pair between two netns
 * into dse-pktgen rx's XDP sink, 9 interleaved 3 s runs each, kernel
 * 6.18.44-fc-v1300 (live frames refused), 2 cores shared with other work;
 * frames the sink counted a second, median (min-max):
 *
 *   AF_XDP copy mode (this)                 0.65 Mpps (0.56-0.86)
 *   AF_PACKET sendmmsg() (pktgen-afpacket)  0.44 Mpps (0.35-0.59)
 *   AF_PACKET TPACKET_V2 transmit ring      0.40 Mpps (0.36-0.51), dropped
 *
 * AF_XDP won every round (1.35-1.85x sendmmsg).  All three spend ~95% in
 * the kernel: an skb per frame, veth's copy for XDP; the ring's frames sit in
 * page fragments, which veth copies once more.
 *
 * Thread-safety: one thread per generator.
 */
#ifndef DSE_PKTGEN_AFXDP_H
#define DSE_PKTGEN_AFXDP_H

#include <stdint.h>
#include <xdp/xsk.h>

#include "tools/pktgen/pktgen-abi.h"
#include "tools/pktgen/pktgen-tx.h"

#define PKTGEN_AFXDP_FRAMES 1024     /* umem frames, and entries of both rings */
#define PKTGEN_AFXDP_FRAME_SIZE 2048 /* a whole frame; a power of two */
#define PKTGEN_AFXDP_BATCH 32        /* frames per sendto(2): what copy mode sends per call */

/* The umem's frames and their free stack, apart from the socket so that unit
 * tests can run the rings over plain memory. */
struct pktgen_afxdp_frames {
    uint8_t *area;                      /* PKTGEN_AFXDP_FRAMES * PKTGEN_AFXDP_FRAME_SIZE bytes */
    uint64_t free[PKTGEN_AFXDP_FRAMES]; /* umem addresses */
    unsigned n_free;
    unsigned frame_len;
    struct pktgen_tx_cfg cfg;
};

/* Sets up 'f' over 'area' with every frame free and a copy of the 'len' byte
 * template 'tmpl' (len <= PKTGEN_AFXDP_FRAME_SIZE), stamped by 'cfg' later.
 * This function can't fail. */
void pktgen_afxdp_frames_init(struct pktgen_afxdp_frames *f, void *area, const uint8_t *tmpl,
                              unsigned len, const struct pktgen_tx_cfg *cfg);

/* Puts the next frames, 'seq', 'seq' + 1 ..., stamped as sent at 'now_ns', on
 * the transmit ring 'tx': 'n' of them, or as many as are free.  Returns how
 * many.  This function can't fail. */
unsigned pktgen_afxdp_fill(struct pktgen_afxdp_frames *f, struct xsk_ring_prod *tx, uint64_t seq,
                           unsigned n, uint64_t now_ns);

/* Takes the frames on the completion ring 'comp' back.  Returns how many.
 * This function can't fail. */
unsigned pktgen_afxdp_reap(struct pktgen_afxdp_frames *f, struct xsk_ring_cons *comp);

/* The generator.  open fails with -EAFNOSUPPORT (a kernel without AF_XDP),
 * -EBUSY (queue 0 has an AF_XDP socket, still after half a second: the
 * kernel lets go of a queue in deferred work once its last socket closed, so
 * a run right after another finds it busy for some milliseconds), -EPERM,
 * -ENOMEM; send with -ENETDOWN, -ENXIO (the interface went down or away). */
extern const struct pktgen_gen_ops pktgen_afxdp_ops;

#endif
