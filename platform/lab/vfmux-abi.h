/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vfmux-abi: what the lab's VF mux program (bpf/vfmux.bpf.c) shares with the
 * code that loads and steers it (vfmux.c).
 *
 * On a lab host with two DPUs every VM has one leg to each: eth0 to the
 * representor rep-vmK of dpu1, eth1 to rep-vmK of dpu2.  The mux is the
 * emulated PCIe path that a hypervisor re-plumbs when it moves a vNIC to the
 * other DPU: tc programs on the VM's interfaces connect its stack (which
 * lives on eth0) to one leg and cut the other.
 *
 *   eth0 egress   leg 1: out of eth0; leg 2: redirected out of eth1; else dropped
 *   eth0 ingress  leg 1: in; frames the mux moved over from eth1 (marked): in;
 *                 else dropped
 *   eth1 ingress  leg 2: marked and redirected into eth0's receive path; else
 *                 dropped
 *   eth1 egress   frames the mux moved over from eth0 (marked): out; else
 *                 dropped (the stack never speaks on eth1)
 *
 * Moving the vNIC is one map update (vfmux_cfg.leg), where moving a veth to
 * another namespace costs 11 to 27 ms here (netdev unregister waits for RCU).
 */
#ifndef DSE_VFMUX_ABI_H
#define DSE_VFMUX_ABI_H

#include <linux/types.h>

#define VFMUX_MARK 0x64736576U /* skb->mark of frames the mux moves between legs */

struct vfmux_cfg {
    __u32 leg;      /* 1: dpu1 (eth0), 2: dpu2 (eth1), 0: none */
    __u32 ifindex0; /* eth0 */
    __u32 ifindex1; /* eth1 */
    __u32 pad;
};

enum vfmux_counter {
    VFMUX_TX_LEG1, /* frames out to dpu1 */
    VFMUX_TX_LEG2, /* frames out to dpu2 */
    VFMUX_RX_LEG1, /* frames in from dpu1 */
    VFMUX_RX_LEG2, /* frames in from dpu2 */
    VFMUX_DROP_TX, /* frames the VM sent with no leg */
    VFMUX_DROP_RX, /* frames from the DPU that does not own the vNIC */
    VFMUX__N
};

#endif
