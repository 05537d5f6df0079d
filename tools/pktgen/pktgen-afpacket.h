/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pktgen-afpacket: dse-pktgen's afpacket generator, the last resort of `tx
 * --dev` where the kernel refuses both XDP live frames and AF_XDP (a kernel
 * without AF_XDP sockets, a queue that has one already): an AF_PACKET raw
 * socket bound to the interface (protocol 0: it receives nothing), past the
 * qdisc (PACKET_QDISC_BYPASS, as XDP's redirect goes), sending batches of
 * PKTGEN_AFP_BATCH frames with one sendmmsg(2).
 *
 * Its PKTGEN_AFP_BATCH buffers each hold a copy of the template
 * (pktgen_frame_build()) from the start; per batch we read the time once and
 * stamp each buffer in place (pktgen_frame_stamp()).  Frames the kernel did
 * not take (sendmmsg() returned fewer, or ENOBUFS: the device dropped the
 * first of them) are stamped again with the same seqs and sent next, so
 * "sent" is what the kernel took and no seq is skipped.  Nothing is
 * allocated after open.
 *
 * Slower than AF_XDP copy mode on veth (0.44 against 0.65 Mpps, see
 * pktgen-afxdp.h), a little faster than an AF_PACKET TPACKET_V2 transmit ring
 * (0.40), whose frames veth copies twice: so sendmmsg(), the simpler one.
 *
 * Thread-safety: one thread per generator.
 */
#ifndef DSE_PKTGEN_AFPACKET_H
#define DSE_PKTGEN_AFPACKET_H

#include "tools/pktgen/pktgen-tx.h"

#define PKTGEN_AFP_BATCH 64 /* frames per sendmmsg(2) */

/* The generator.  open fails with -EPERM (no CAP_NET_RAW), -ENOMEM; send with
 * -EMSGSIZE (a frame over the MTU), -ENETDOWN, -ENXIO (the interface went
 * down or away). */
extern const struct pktgen_gen_ops pktgen_afpacket_ops;

#endif
