/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * vfmux: the lab's emulated PCIe path between a VM and the DPU that owns its
 * vNIC (see ../vfmux-abi.h).  Four tc programs on the VM's two legs, one
 * configuration map, counters per direction.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#include "platform/lab/vfmux-abi.h"

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct vfmux_cfg);
} vfmux_cfg SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, VFMUX__N);
    __type(key, __u32);
    __type(value, __u64);
} vfmux_stats SEC(".maps");

static __always_inline struct vfmux_cfg *
cfg(void)
{
    __u32 k = 0;
    return bpf_map_lookup_elem(&vfmux_cfg, &k);
}

static __always_inline void
count(__u32 c)
{
    __u64 *v = bpf_map_lookup_elem(&vfmux_stats, &c);
    if (v)
        (*v)++;
}

SEC("tc")
int
vfmux_egress0(struct __sk_buff *skb)
{
    struct vfmux_cfg *c = cfg();
    if (c && c->leg == 1) {
        count(VFMUX_TX_LEG1);
        return TC_ACT_OK;
    }
    if (c && c->leg == 2) {
        count(VFMUX_TX_LEG2);
        skb->mark = VFMUX_MARK; /* eth1's egress lets it through */
        return bpf_redirect(c->ifindex1, 0);
    }
    count(VFMUX_DROP_TX);
    return TC_ACT_SHOT;
}

SEC("tc")
int
vfmux_ingress0(struct __sk_buff *skb)
{
    struct vfmux_cfg *c = cfg();
    if (skb->mark == VFMUX_MARK) { /* moved over from eth1 */
        skb->mark = 0;
        return TC_ACT_OK;
    }
    if (c && c->leg == 1) {
        count(VFMUX_RX_LEG1);
        return TC_ACT_OK;
    }
    count(VFMUX_DROP_RX);
    return TC_ACT_SHOT;
}

SEC("tc")
int
vfmux_ingress1(struct __sk_buff *skb)
{
    struct vfmux_cfg *c = cfg();
    if (c && c->leg == 2) {
        count(VFMUX_RX_LEG2);
        skb->mark = VFMUX_MARK;
        return bpf_redirect(c->ifindex0, BPF_F_INGRESS);
    }
    count(VFMUX_DROP_RX);
    return TC_ACT_SHOT;
}

SEC("tc")
int
vfmux_egress1(struct __sk_buff *skb)
{
    if (skb->mark == VFMUX_MARK) { /* moved over from eth0 */
        skb->mark = 0;
        return TC_ACT_OK;
    }
    return TC_ACT_SHOT;
}

char _license[] SEC("license") = "Dual BSD/GPL";
