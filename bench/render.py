#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Render bench/results.json as the RESULTS.md table people read."""
import json
import sys

COMMANDS = {
    "tcp-vm2vm-1stream": "bench/vm2vm.sh",
    "rtt-vm2vm": "bench/vm2vm.sh",
    "host-cpu-offload": "bench/offload.sh",
    "l2-veth-64b": "bench/l2veth.sh",
    "l2-veth-512b": "bench/l2veth.sh",
    "l2-veth-64b-cpu": "bench/l2veth.sh",
    "l2-veth-1500b": "bench/l2veth.sh",
    "l2-veth-lat-p50": "bench/l2veth.sh",
    "l2-veth-lat-p99": "bench/l2veth.sh",
    "vhost-64b": "bench/vhost.sh",
    "vhost-64b-lat-p50": "bench/vhost.sh",
    "vhost-64b-lat-p99": "bench/vhost.sh",
    "ns-parse": "build/tests/bench/bench-dataplane",
    "ns-mac-lookup": "build/tests/bench/bench-dataplane",
    "ns-switch-known-unicast": "build/tests/bench/bench-dataplane",
    "ns-flow-cache-hit": "build/tests/bench/bench-dataplane",
    "l2-veth-64b-1kflows": "bench/l2veth.sh",
    "l2-veth-64b-switched": "bench/l2veth.sh",
    "l2-veth-64b-100kflows": "bench/l2veth.sh",
    "install-2dpu": "bench/install.sh",
    "install-2dpu-own-cores": "bench/install.sh",
    "monitor-cost-1s": "bench/monitor.sh",
    "monitor-cost-20s": "bench/monitor.sh",
    "alarm-latency-p50": "bench/monitor.sh",
    "alarm-latency-p99": "bench/monitor.sh",
    "dpu-capacity-independent": "bench/capacity.sh",
    "ha-cost-host": "bench/hacost.sh",
    "ha-cost-dpu": "bench/hacost.sh",
}


def fmt(v):
    if v is None:
        return "-"
    return f"{v:.3g}" if isinstance(v, float) else str(v)


def spread(st):
    """'median (min-max)' of one variant's stats, or its median alone."""
    if not st or st.get("median") is None:
        return "-"
    if st["min"] == st["max"]:
        return fmt(st["median"])
    return f"{fmt(st['median'])} ({fmt(st['min'])}-{fmt(st['max'])})"


def runs(st):
    """'5' or '4 +1 failed': the real number of runs, and failed ones."""
    if not st:
        return "-"
    return f"{st['runs']}" + (f" +{st['failed']} failed" if st.get("failed") else "")


def main():
    r = json.load(open(sys.argv[1]))
    m = r["machine"]
    print("# Figures\n")
    print("Written by `make bench` (bench/run); do not edit by hand. Each value is the median")
    print("of the runs it got, with their min-max in brackets; `runs` is the real number of")
    print("successful runs of dse (and anchors, after a slash) and the failed ones, counted, never")
    print("dropped. Anchors are measured in the same invocation on the same topology. Ratio:")
    print("dse / anchor (above 1 is better for dse when higher is better, below 1 when lower")
    print("is better). `gen`: the traffic generator the figure used (dse-pktgen names it).\n")
    print(f"Machine: {m['cores']} cores ({m.get('cpu', '?')}), kernel {m['kernel']}, {m['date']}"
          + (", QUICK run" if m.get("quick") else "") + ".\n")
    print("| id | what | unit | dse | anchors | ratio | runs | gen | command |")
    print("|---|---|---|---|---|---|---|---|---|")
    for x in r["results"]:
        st = x.get("stats", {})
        anchors = ", ".join(f"{k} {spread(st.get(k)) if st.get(k) else fmt(v)}"
                            for k, v in x.get("anchors", {}).items())
        ratios = ", ".join(
            f"{fmt(x['dse'] / v)} vs {k}" for k, v in x.get("anchors", {}).items()
            if v and x.get("dse") is not None)
        cmd = COMMANDS.get(x["id"], "build/tests/bench/bench-dataplane"
                           if x["id"].startswith("mpps-pipeline-") else "bench/failover.sh"
                           if x["id"].startswith("failover-") else "bench/manager.sh"
                           if x["id"].startswith("manager-") else "bench/dfw.sh"
                           if x["id"].startswith("dfw-") else "bench/migrate.sh"
                           if x["id"].startswith("migrate-") else "bench/run")
        what = x["what"] + (f" (measured {x['measured']})" if x.get("measured") else "")
        if x.get("statistic"):
            what += f" [the {x['statistic']} of the runs]"
        dse = spread(st.get("dse")) if st.get("dse") else fmt(x["dse"])
        if x.get("statistic") and st.get("dse") and x.get("dse") is not None:
            # A p99 (or max) of the runs: that value, with their range.
            d = st["dse"]
            dse = fmt(x["dse"]) + (f" ({fmt(d['min'])}-{fmt(d['max'])})"
                                   if d.get("min") != d.get("max") else "")
        if x.get("error"):
            dse = f"**{x['error']}**"
        n = runs(st.get("dse")) if st.get("dse") else str(x.get("runs", "-"))
        n_anchor = "/".join(runs(st[k]) for k in x.get("anchors", {}) if st.get(k))
        print(f"| `{x['id']}` | {what} | {x['unit']} | {dse} | {anchors} | {ratios} "
              f"| {n}{' / ' + n_anchor if n_anchor else ''} | {x.get('generator', '-')} | `{cmd}` |")
    print("""
## How to reproduce

As root on a Debian 12 machine: `make bench` (or `make bench QUICK=1` for the short
version). Each benchmark builds its own lab under a private prefix and removes it.
`bench/run install` (or `l2veth`, `vhost`, `vm2vm`, `offload`, `monitor`, `failover`, `capacity`,
`hacost`, `manager`, `dfw`, `micro`) runs only
those and replaces their figures in place; such a figure says when it was measured.

## Notes

How each figure is taken. The numbers are in the table above (and in
`results.json`); this prose states none of its own.

- dse-pktgen generators (`gen`): `xdp-live` (BPF_PROG_RUN with live frames,
  in the kernel) where the kernel allows it, else `afxdp` (AF_XDP transmit in
  copy mode, the frames stamped in userspace), else `afpacket` (AF_PACKET
  `sendmmsg`, the qdisc bypassed); `vhost-user` and `udp` for those modes.
  Where the host core bounds a figure (see `l2-veth-*`), the generator's own
  speed does too: compare figures measured with the same generator.
- `l2-veth-*`: dse-pktgen (on the host core, in h1-vm1; the generator it used
  is in `gen`) sends UDP frames of 66 B (the smallest that carries its
  sequence header; the id keeps the 64 B name of DESIGN section 10) to h1-vm2
  on the same host, through the DPU; the sink (dse-pktgen rx, XDP) counts what
  arrives. The DPU-side receive work runs in threaded NAPI on the DPU core
  for every variant: dse with its
  eswitch (flow hit in XDP), dse with `--eswitch slowpath` and with
  `--eswitch off` (`dse-afpacket-only`), the Linux bridge with bridge
  netfilter on (`linux-bridge`) and off, Open vSwitch 3.1's userspace
  datapath (`datapath_type=netdev`, started privately in the DPU's netns and
  cgroup) with plain ports (`ovs-netdev`) and with `type=afxdp` ports, and
  `dse-pktgen fwd`, a one-line XDP redirect (`xdp-redirect-ceiling`). Runs
  are taken in rounds (every variant once per round). With two cores the DPU
  core runs the switch and the host core runs both the generator and the
  sink VM's receive thread, so the fastest variants can be bound by the host
  core rather than by the switch: read `xdp-redirect-ceiling` as the ceiling
  of the whole path on this machine, and `l2-veth-64b-switched` as the
  switch's own rate (the frames each variant handed to rep-vm2 a second, its
  tx packets plus tx drops, whether or not the sink kept up).
  `l2-veth-512b`, `-1500b` and the latency figures (one-way, sender and sink
  on one clock, at 100,000 frames a second for every variant, below the
  slowest one's rate: at a rate of its own, a faster switch loaded the host
  core that the generator and the sink share, and its latency measured that
  queue) are taken for dse and the closest anchors only. Before each
  variant's runs its programs are on the DPU-side ports (dse's eswitch, the
  lab's pass-through XDP program for the anchors and for
  `dse-afpacket-only`, dse-pktgen fwd's, OVS's), and its ports' receive
  threads are checked in the DPU's cgroup and on its core, before and after
  each run: a run with them elsewhere counts as failed. `l2-veth-64b-cpu`
  divides the CPU time charged to the DPU's cgroup during a full-rate run
  (dpud or OVS, and the NAPI threads of the DPU-side ports) by the frames
  delivered. `bench/l2veth.sh` prints every round on stderr.
- `dfw-*`: the distributed firewall (`bench/dfw.sh`), VM to VM on one host
  through one DPU core, every variant with the same policy translated: 1,000
  rules, default deny, 999 that never match (TCP to another port from another
  address each) before the one that allows h1-vm1 to h1-vm2 (the generator's
  UDP port, TCP 5201 and 5202) and ping. `dse` is the firewall on (its
  established connections in the eswitch, once they carried 16 packets);
  `dse-no-firewall` the same switch with it off (the goal's base);
  `nftables-bridge` a Linux bridge with bridge netfilter into nftables'
  inet forward chain (`ct state established,related accept` first: this
  kernel lacks the NF_CONNTRACK_BRIDGE the bridge family would need);
  `ovs-netdev-ct` Open vSwitch's userspace datapath with its conntrack
  (`ct(table=1)`, `+est` forwarded, `+new` by the rules and committed).
  `dfw-established-64b`: one UDP flow of 66 B frames from dse-pktgen, answered
  once from the sink first so that every firewall holds it as established.
  `dfw-established-64b-tcp`: the ACK segments of one TCP connection (78 B,
  `dse-pktgen --tcp`), the connection opened first by the VMs' kernels (a
  listener in h1-vm2, a socket bound to the generator's source port in
  h1-vm1) so that every firewall tracks it as established; the generator's
  sequence numbers are not the connection's, so every firewall runs in its
  liberal TCP mode (dse's `tcp_liberal`, Linux's
  `nf_conntrack_tcp_be_liberal`, OVS's `ct-disable-tcp-seq-chk`).
  `dfw-established-tcp`: one iperf3 stream. `dfw-cps`: `tools/cps/dse-cps`,
  one thread and epoll each side, 64 connections at a time, each a three-way
  handshake then a reset (no TIME_WAIT). Both VMs' TCP stacks run on the
  host core, so they may bound the TCP figures as much as the switch does:
  compare each with `dse-no-firewall`, the same path without the firewall. `dfw-rules-10k-apply`:
  dse's `dsectl dfw set` of a 10,000-rule policy (10,000 groups and
  services, 2 MiB of JSON), which returns once the DPU runs it (the DPU checks
  it, hostd writes its config, pushes it, the DPU compiles it);
  `dfw-rules-10k-compile` the DPU's own share. `dfw-conn-bytes`: the growth of
  dpud's (and ovs-vswitchd's) resident memory over 20,000 UDP flows of one
  packet each; for nftables, the size of the kernel's nf_conntrack slab
  object (its hash table not counted).
- `vhost-64b`: dse-pktgen's virtio front-end (`tx|rx --vhost-user`, busy-polling,
  in the host's cgroup, on the host core) sends 66 B frames into one vhost-user
  port of dpud and counts them out of another in the same portgroup: dpud's
  software path on the DPU core (vhost-user ports never use the eswitch; the
  sink announces its MAC, so the flow cache serves known unicast). The anchor
  `dpdk-testpmd-iofwd` is Debian's dpdk-testpmd with two `net_vhost` ports in io
  forwarding mode, both lcores on the DPU core: a forwarder that does no
  switching, the ceiling of this path. Generator and sink share the host core.
  `vhost-64b-lat-p50/p99`: one-way latency at 100,000 frames a second for both.
- `tcp-vm2vm-1stream`, `rtt-vm2vm`: VM to VM across two hosts; on each DPU either
  dse-dpud (portgroup VLAN 10, tagged on the fabric), dse-dpud with `--eswitch off`
  (`dse-afpacket-only`: every frame through the AF_PACKET slow path), or a Linux
  bridge of the representor and the uplink (untagged: this kernel's bridge cannot
  filter VLANs). Same veths, same XDP-attached ports with threaded NAPI on the DPU
  core, same VMs. With its eswitch, dse forwards known flows in XDP (devmap
  redirect, 802.1Q push/pop) and its slow path sees only the first frame of a
  flow. Without it, each frame is copied through a TPACKET_V3 ring whose block
  retire timer (1 ms, the kernel's smallest) dominates the round trip.
- `host-cpu-offload`: CPU time of the host's cgroup (hostd, and without offload
  also dpud and the NAPI threads receiving for the switch) during the same VM
  traffic (a TCP transfer between VMs on two hosts), with the switch on the DPUs
  divided by the same with `dse-lab up --switch-on host`. The VMs' own work is in
  their own cgroups. Goal: at most 0.01.
- `ns-*`: micro-benchmarks of the slow path (tests/bench/bench-dataplane.c), one
  thread, in-memory ports, bursts of 32 frames; the switch figure includes
  copying the 64 B frame in and out of the test ports. The tool's own five
  runs give the median, min and max.
- `mpps-pipeline-Nw`: the same pipeline run by N threads at once, each pinned to
  its own CPU with its own pipeline context and its own pair of ports, through
  one switch (dpud's parallel workers without the I/O): aggregate Mpps, and the
  ratio to one thread. It measures what the workers share (the MAC table, the
  generation number, counters' cache lines), not the ports. Runs up to every
  CPU the process may use (at most 8).
- `install-2dpu`: `dsectl software install` of one signed image on a lab server
  (hostd's `elapsed_ms`: the checks of the whole image, staging on every device,
  the commit), with one DPU (`install-1dpu`), two DPUs in parallel (dse, the
  product) and two DPUs one after another (`--serial`, `install-2dpu-serial`).
  The image is this build's with 64 MiB of random bytes added to each component
  (`scripts/make-bundle --pad-mib 64`), so that it weighs what an image does;
  each DPU receives all of it over its internal network (mTLS, one kept-alive
  connection, 1 MiB binary chunks), checks the transfer, the signature and
  every file itself, and writes its own component. Goal: two DPUs at most 1.1x
  one. On a machine with under 8 CPUs the lab gives both DPUs the same core, so
  their work queues on it: `install-2dpu-own-cores` repeats the two-DPU install
  with each DPU on a core of its own (`dse-lab up --dpu-cpus` of every CPU; the
  host then shares those cores), as on a real server.
- `monitor-cost-1s`, `-20s`: the CPU time of an idle lab DPU's cgroup (dpud, its
  worker, its NAPI threads) over 30 s windows with collection every 1 s (20 s),
  less the same with collection off (`dsectl monitor set --interval 0`; hostd
  still polls each DPU five times a second, its liveness check, in both), as %
  of one core; medians of rounds. The difference sits at the noise of an idle
  DPU, so it can come out below 0: `detail.sampler_us_per_collection` is the
  sampler's own time per collection, the part that grows with the interval.
  Goal: at most 1% at 1 s.
- `alarm-latency-p50`, `-p99`: a definition on `dse_dpu_temperature_celsius`
  (critical 70, no for-time) and a webhook receiver in the host's namespace;
  the DPU's emulated sensor is written hot and cool in turn, at a random phase
  against the 1 s collection; each latency runs from the write to the
  receiver's arrival of that change's notification. Goal: p99 at most 1.5 s.
- `failover-gap-kill`, `-hang`, `-cut`: h1's two DPUs active-standby with hostd's
  defaults (a heartbeat every 2 ms, failure after 3 unanswered, standbys
  fenced); two UDP sequence streams of 10,000 packets/s (dse-pktgen `--udp`,
  through the VMs' kernels), one each way between h1-vm1 and h2-vm1 on another
  host; 1 s in, the active DPU's dpud is killed (SIGKILL), stopped (SIGSTOP) or
  both its uplink cables are cut (carrier lost); the figure is the longest gap
  between two packets either stream received, `failover-lost-*` the packets
  both lost. A run that did not make exactly one failover counts as failed.
  Where dpud dies or hangs, the flows its eswitch holds in XDP go on being
  forwarded by the kernel until hostd moves the vNICs (as a real DPU's
  hardware tables would): the gap can be shorter than the detection.
  `failover-detect-*` is the time from the fault to hostd's decision, against
  the configured 3 x 2 ms. `failover-gap-max` is the worst run of all three.
  Goal: median at most 10 ms, worst at most 50 ms. Anchors (this kernel has no
  bonding or team driver, so no kernel bond), the same streams in namespaces
  of their own, each in its fair setting and, labelled `-slow`, in the slower
  setting of the first figures: `ovs-bond-carrier` is Open vSwitch's
  userspace datapath between a VM and two uplinks bonded active-backup in its
  default carrier detection (`bond-detect-mode=carrier`, the kernel's link
  notifications), the active member's cable cut; `ovs-bond-miimon100-slow`
  the same bond polling every 100 ms; `keepalived-vrrp3-10ms` is two routers
  running keepalived 2.2 VRRPv3 at the shortest advertisement interval it
  accepts (10 ms), a sync group of both segments' gateways, the master's
  keepalived killed and its forwarding stopped (a hang is the same to VRRP:
  its advertisements stop); `keepalived-vrrp-1s-slow` the same with VRRPv2
  and the default 1 s. A bond sees no software failure (the link stays up),
  and VRRP no cut cable of a host: each anchor stands where it applies.
- `dpu-capacity-independent`: a DPU's capacity is the frames it switched
  per second of its own core's time (frames handed to the sink VMs'
  representors in a flat-out run, over the CPU time its cgroup was charged:
  dpud, its workers, its ports' NAPI threads); the figure sums it over the
  DPUs that switched, two independent DPUs with a pair of VMs each against
  one DPU with both pairs. It does not depend on who else shares the cores:
  on a small machine the VMs' generators and sinks run on the DPUs' cores
  too, so what the sinks count a second (`detail.sink_mpps`) measures the
  machine rather than the DPUs (that ratio once went past the possible 2x).
  It assumes a DPU's cost per frame stays what it was at the load measured.
- `ha-cost-host`, `ha-cost-dpu`: what failover readiness costs an idle server
  with two DPUs: the CPU time of the host's cgroup (dse-hostd) and of the
  active DPU's (dse-dpud and its NAPI threads) over a window, % of one core,
  with the DPUs active-standby at the default 2 ms heartbeat, against a 10 ms
  heartbeat (`heartbeat-10ms`) and independent DPUs (`independent`: health
  every 100 ms, no failover), in rounds.
- `manager-*`: one dse-manager (`--interval 20`: each host visited in full,
  figures included, every 20 s) and `dse-hostsim`, one process that answers
  as N hostds with 2 DPUs each would (mutual TLS, each host its own
  certificate from the manager's CA and its own address in 127.1.0.0/16,
  figures of 30 host and 49 DPU metrics that change every 20 s), both in a
  network namespace of their own; N = 1,000 (ids ending `-1k`) and 10,000
  (the ids without; `--quick`: 1,000 alone). The inventory is made through
  the REST API, 100 hosts a request. `manager-rss-per-host`: the manager's
  RSS once every host was reached and visited once in full, less its RSS
  with no host, over N (`detail` has the RSS at the end of the run, the
  manager's CPU between changes, the simulator's). `manager-api-*`: one
  client on one kept-alive HTTPS connection GETs a random host and PUTs it
  back with the version read (its description changed), 10 of each a
  second for 60 s; every PUT is a change, a task, and a push round over
  every host, so the API is measured under that churn (20 calls a second,
  the condition of the Kubernetes SLO): p50 and p99 of all the calls of
  the window (`runs`: their number), GET and PUT apart and together. The
  anchors: the Kubernetes API SLO (p99 at most 1 s for mutating and for
  single-object read calls) and etcd's own figure for one client's write
  (1.6 ms, an average on 3 x 8 vCPU with SSD, etcd's op-guide). Goal: p99
  at most 50 ms at 10,000 hosts. `manager-propagation-*`: 5 portgroups
  (3 with `--quick`) created one after another at a random phase; each
  one's latency on each host runs from just before its POST to the
  simulated host's receipt of `portgroup.add`; p50 and p99 over every
  host of every portgroup (`detail` has each portgroup's). Goal: p99 at
  most 1 s at 10,000 hosts. `manager-hosts`: the most hosts tried that
  the manager held within both goals, against vCenter's published limit
  of 2,500 hosts per vCenter and Kubernetes' 5,000 nodes. Both the manager
  and the simulator share this machine's cores, and the simulator is one
  thread: what it costs counts against the manager here.
""")


if __name__ == "__main__":
    main()
