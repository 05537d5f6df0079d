/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pktgen-xdp: dse-pktgen's xdp-live generator.  An embedded XDP program
 * (bpf/pktgen-tx.bpf.c) runs with BPF_PROG_RUN and BPF_F_TEST_XDP_LIVE_FRAMES
 * over copies of the template frame, one run per chunk of frames
 * (pktgen-tx.h); it stamps each frame in the kernel (seq from its map, time
 * from bpf_ktime_get_ns()) and redirects it out of the interface: the fastest
 * generator, where the kernel allows it.  Some kernel builds refuse live
 * frames (EPERM, for root too) while running XDP programs otherwise:
 * pktgen_xdp_probe() asks this one, and dse-pktgen falls back to AF_PACKET
 * (pktgen-afpacket.h).
 *
 * BPF_PROG_RUN with repeat > 1 adds the program to the kernel's XDP dispatcher
 * and removes it afterwards, two dispatcher updates that wait for RCU: ~25 ms
 * per call, which would make 1 ms chunks impossible.  A program attached to
 * some interface stays in the dispatcher, so for the run the program is also
 * attached ("pinned"), in generic (skb) mode, to the tx interface; it passes
 * every real frame untouched (no metadata cookie) and its bpf link goes away
 * with the process.  DSE_PKTGEN_NO_PIN=1 skips that.
 *
 * Thread-safety: one generator per process (its program has one counter).
 */
#ifndef DSE_PKTGEN_XDP_H
#define DSE_PKTGEN_XDP_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tools/pktgen/pktgen-tx.h"

struct bpf_object;

/* Opens and loads the embedded BPF object 'img' ('len' bytes), the 'what'
 * program (tx, rx, fwd; for the message).  Returns it (the caller closes it
 * with bpf_object__close()), or NULL with one line in 'err'. */
struct bpf_object *pktgen_xdp_obj_load(const unsigned char *img, size_t len, const char *what,
                                       char *err, size_t err_len);

/* Whether this kernel runs XDP live frames: one BPF_PROG_RUN with
 * BPF_F_TEST_XDP_LIVE_FRAMES of a program that drops its frame, so nothing
 * leaves.  Returns 0 where it does, else -errno of the load or the run
 * (-EPERM: refused; -EINVAL: a kernel before 5.18). */
int pktgen_xdp_probe(void);

/* The generator (its ctx a struct pktgen_xdp).  open fails with one line in
 * 'err' when the program does not load; send with -errno of BPF_PROG_RUN. */
extern const struct pktgen_gen_ops pktgen_xdp_ops;

struct pktgen_xdp;

/* Whether the program stayed attached to the interface for the run, see
 * above: 'ctx' from pktgen_xdp_ops' open.  This function can't fail. */
bool pktgen_xdp_pinned(const void *ctx);

#endif
