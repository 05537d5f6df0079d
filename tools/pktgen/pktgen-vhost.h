/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pktgen-vhost: dse-pktgen's generator and sink as a vhost-user front-end
 * (dataplane/vhost-front.h), for `tx|rx --vhost-user SOCK`.  They send and
 * count the same frames as the XDP programs (pktgen.h) and print the same
 * reports.
 *
 * Both busy-poll their rings on the calling thread, yielding the CPU after
 * each batch (so that a generator and a sink on one core interleave finely),
 * until '*stop', the end of the run, or, for rx, --duration or --idle-ms.
 *
 * Thread-safety: one run per process.
 */
#ifndef DSE_PKTGEN_VHOST_H
#define DSE_PKTGEN_VHOST_H

#include <signal.h>

#include "tools/pktgen/pktgen.h"

#define PKTGEN_VHOST_RING 4096 /* entries per ring */
#define PKTGEN_VHOST_BUF 2048  /* bytes per buffer: a whole frame and its header */
#define PKTGEN_VHOST_BATCH 64  /* frames per kick */
#define PKTGEN_VHOST_TIMEOUT_MS 5000

/* Runs tx or rx for 'o' (o->vhost_user set) and prints the report.  Returns
 * the exit status: 0, or 1 after one line on stderr (no socket, a device that
 * refuses the handshake, closes, or breaks the ring protocol). */
int pktgen_vhost_tx(const struct pktgen_opts *o, volatile sig_atomic_t *stop);
int pktgen_vhost_rx(const struct pktgen_opts *o, volatile sig_atomic_t *stop);

#endif
