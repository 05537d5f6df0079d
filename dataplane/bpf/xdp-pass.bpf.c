/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * xdp-pass: the smallest XDP program, attached by the lab to every DPU-side
 * veth while the AF_PACKET backend is in use.  Attaching XDP gives a veth its
 * own NAPI context (so its receive work can run in a threaded NAPI kthread
 * pinned to the DPU's cores) and disables GRO on it, so that the data plane
 * sees every frame as it was sent, never a coalesced super-frame.  The eswitch
 * tier (a later stage) replaces it with the real flow-table program.
 */
#include <linux/bpf.h>

#define SEC(name) __attribute__((section(name), used))

SEC("xdp.frags")
int
xdp_pass(struct xdp_md *ctx)
{
    return XDP_PASS;
}

char _license[] SEC("license") = "Dual BSD/GPL";
