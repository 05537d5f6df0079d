/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vfmux: the lab's emulated PCIe path between a VM on a two-DPU host and the
 * DPU that owns its vNIC (vfmux-abi.h draws it).  vfmux_attach() runs in the
 * VM's network namespace (dse-vfmux attach, from dse-lab vm-create): it loads
 * the tc programs onto eth0 and eth1 and pins their configuration and
 * counters at PIN-cfg and PIN-stats in a bpffs (the lab mounts a private one
 * per lab).  Anyone may then steer the vNIC from any namespace through the
 * pins: hostd does at failover (one map update).
 *
 * Errors are -errno with a one-line reason in 'err' ('err_len' bytes).
 * Thread-safety: reentrant.
 */
#ifndef DSE_VFMUX_H
#define DSE_VFMUX_H

#include <stddef.h>
#include <stdint.h>

#include "platform/lab/vfmux-abi.h"

struct bpf_object;

/* Loads the mux's programs and creates its maps, attached nowhere (what
 * vfmux_attach() attaches; tests run them on frames): 0 with '*obj' (close
 * it with bpf_object__close()), or -errno. */
int vfmux_load(struct bpf_object **obj, char *err, size_t err_len);
/* In the caller's namespace: programs on 'dev0' and 'dev1' (eth0, eth1),
 * leg 'leg' (0..2), maps pinned at 'pin'-cfg and -stats (replaced when there). */
int vfmux_attach(const char *dev0, const char *dev1, const char *pin, unsigned leg, char *err,
                 size_t err_len);
/* Steers the vNIC to 'leg' (0: none, 1, 2). */
int vfmux_set_leg(const char *pin, unsigned leg, char *err, size_t err_len);
/* Its leg and counters (summed over CPUs; 'counters' may be NULL). */
int vfmux_get(const char *pin, unsigned *leg, uint64_t counters[VFMUX__N], char *err,
              size_t err_len);
/* "tx_leg1", ... for counter 'c'.  Can't fail. */
const char *vfmux_counter_name(enum vfmux_counter c);

#endif
