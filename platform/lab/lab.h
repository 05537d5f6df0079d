/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lab: the emulated platform (platform/platform.h) that dse-lab builds.  A VM
 * is `dse-lab vm-create` (its netns, a veth whose DPU end is the VF
 * representor, and on a two-DPU host the VF mux: vfmux.h); a vNIC moves by
 * one update of the mux's pinned map (DIR/../bpf/HOST-VM); the server reboots
 * with `dse-lab reboot`, run apart from the caller (its own session), which
 * it stops.
 *
 * Thread-safety: the operations are reentrant; lab_platform_init() is the
 * caller's before any.
 */
#ifndef DSE_LAB_H
#define DSE_LAB_H

#include <stddef.h>

#include "platform/platform.h"

struct lab_platform {
    char prefix[64]; /* the lab's: "dse" */
    char cmd[4096];  /* the path of dse-lab */
    char host[64];   /* this server's name in the lab: "h1" */
    char dir[4096];  /* the host's directory in the lab (DIR/h1) */
};

/* Fills 'lab' for host 'name' ("dse-h1": prefix, a dash, the lab's name)
 * with directory 'dir', in lab 'prefix' driven by 'cmd'.  Returns 0, or
 * -EINVAL (one of them NULL) or -ENAMETOOLONG with a reason. */
int lab_platform_init(struct lab_platform *lab, const char *prefix, const char *cmd,
                      const char *name, const char *dir, char *err, size_t err_len);

/* The operations, 'aux' a struct lab_platform. */
extern const struct platform_ops lab_platform_ops;

#endif
