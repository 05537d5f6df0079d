/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pktgen-tx: what the generators of `dse-pktgen tx --dev` share: their
 * interface (struct pktgen_gen_ops: xdp-live in pktgen-xdp.h, afxdp in
 * pktgen-afxdp.h, afpacket in pktgen-afpacket.h) and one run loop, so that
 * they pace alike and differ only in how a chunk of frames leaves.
 *
 * A generator sends copies of the template frame (pktgen_frame_build()),
 * frame number seq stamped as pktgen_frame_stamp() says, seqs from 0 without
 * holes.  The loop asks it for chunks of frames:
 *
 *   --rate R     chunks of max(R / 1000, 1) frames (~1 ms), chunk k due at
 *                t0 + (frames before it) / R, waited for with an absolute
 *                sleep: a late chunk goes out at once and the next ones catch
 *                up.  With a target (--count, or R x --duration) exactly that
 *                many, and the run ends at the due time of frame 'target'.
 *   --rate max   chunks of the generator's 'chunk_max' frames until --count
 *                frames or --duration (looked at between chunks).
 *
 * Thread-safety: a generator is used by one thread; runs on different
 * threads with different generators are independent.
 */
#ifndef DSE_PKTGEN_TX_H
#define DSE_PKTGEN_TX_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "tools/pktgen/pktgen.h"

struct pktgen_gen_ops {
    const char *name;   /* as --generator and the report write it */
    uint64_t chunk_max; /* frames per chunk at --rate max */
    /* Sets up the generator of the frames 'o' describes ('o->src_mac' set)
     * to go out of 'o->dev', whose index is 'ifindex', into '*ctx'.  Returns
     * 0, or -errno with one line in 'err' (nothing left to close). */
    int (*open)(const struct pktgen_opts *o, int ifindex, void **ctx, char *err, size_t err_len);
    /* Sends up to 'n' of the next frames (n >= 1), one batch of its own.
     * Returns how many went out (0: the kernel took none this time), or
     * -errno: the run ends (-EINTR: a signal came). */
    int64_t (*send)(void *ctx, uint64_t n);
    /* Ends the run: waits (a second at most) for the frames handed to the
     * kernel and sets '*sent' to the frames sent in all.  Returns 0, or
     * -errno with one line in 'err'. */
    int (*finish)(void *ctx, uint64_t *sent, char *err, size_t err_len);
    void (*close)(void *ctx); /* accepts NULL */
};

/* Runs the generator 'g' ('ctx' from its open) for what 'o' asks (tx, --dev)
 * until done or '*stop' (a signal handler's flag).  Sets '*elapsed_ns' to
 * the run's time, from before the first chunk to the end.  Returns 0 (also
 * when stopped), or the -errno of the generator's send other than -EINTR.
 * Frames sent are the generator's to count (finish). */
int pktgen_tx_run(const struct pktgen_opts *o, const struct pktgen_gen_ops *g, void *ctx,
                  volatile sig_atomic_t *stop, uint64_t *elapsed_ns);

/* Sleeps until 't_ns' (CLOCK_MONOTONIC) or until '*stop' is set (a signal
 * interrupts the sleep).  This function can't fail. */
void pktgen_sleep_until(uint64_t t_ns, volatile sig_atomic_t *stop);

#endif
