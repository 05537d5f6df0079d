/* SPDX-License-Identifier: Apache-2.0 */
/*
 * software-private: what software.c (the commands) and software-dpu.c share:
 * a DPU as a device of an install (lcm/install.h), driven over the internal
 * network with the DPU's software.stage.begin, .chunk, .end, software.commit,
 * .finish and .undo.
 *
 * Thread-safety: one install thread at a time uses a struct
 * hostd_install_dpu (lcm/install.h says which).
 */
#ifndef DSE_HOSTD_SOFTWARE_PRIVATE_H
#define DSE_HOSTD_SOFTWARE_PRIVATE_H

#include "daemons/hostd/hostd.h"
#include "lcm/install.h"

struct hostd_install_dpu {
    const struct hostd *h;
    const struct hostd_dpu *dpu;
    unsigned op_id;                /* names the transfer on the DPU: "opN" */
    struct httpc_session *session; /* one connection for the whole operation */
};

/* Stage: the bundle streamed in chunks (the whole file: the DPU checks it
 * and stages its own component); progress counts the bytes sent of the
 * file's.  Commit, finish, undo: the DPU's commands of those names. */
extern const struct install_device_ops hostd_install_dpu_ops;

#endif
