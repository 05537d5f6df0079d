/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * pktgen-fwd: redirect every frame to one egress (devmap slot 0) and nothing
 * else: the ceiling of a port-to-port path that any switch must stay under.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_DEVMAP);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u32);
} out SEC(".maps");

SEC("xdp.frags")
int
fwd(struct xdp_md *ctx)
{
    return bpf_redirect_map(&out, 0, XDP_DROP);
}

char _license[] SEC("license") = "Dual BSD/GPL";
