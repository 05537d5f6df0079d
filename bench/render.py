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


def main():
    r = json.load(open(sys.argv[1]))
    m = r["machine"]
    print("# Figures\n")
    print("Written by `make bench` (bench/run); do not edit by hand. Medians of the runs shown;")
    print("anchors measured in the same invocation on the same topology. Ratio: dse / anchor")
    print("(above 1 is better for dse when higher is better, below 1 when lower is better).")
    print("Figures from dse-pktgen measured since it has fallback generators name the one that")
    print("sent their frames (see Notes); earlier ones used `xdp-live`.\n")
    print(f"Machine: {m['cores']} cores ({m.get('cpu', '?')}), kernel {m['kernel']}, {m['date']}"
          + (", QUICK run" if m.get("quick") else "") + ".\n")
    print("| id | what | unit | dse | anchors | ratio | runs | command |")
    print("|---|---|---|---|---|---|---|---|")
    for x in r["results"]:
        anchors = ", ".join(f"{k} {fmt(v)}" for k, v in x.get("anchors", {}).items())
        ratios = ", ".join(
            f"{fmt(x['dse'] / v)} vs {k}" for k, v in x.get("anchors", {}).items()
            if v and x.get("dse") is not None)
        cmd = COMMANDS.get(x["id"], "build/tests/bench/bench-dataplane"
                           if x["id"].startswith("mpps-pipeline-") else "bench/failover.sh"
                           if x["id"].startswith("failover-") else "bench/run")
        what = x["what"] + (f" (measured {x['measured']})" if x.get("measured") else "")
        if x.get("generator"):
            what += f"; dse-pktgen generator: {x['generator']}"
        print(f"| `{x['id']}` | {what} | {x['unit']} | {fmt(x['dse'])} | {anchors} | {ratios} "
              f"| {x.get('runs', '-')} | `{cmd}` |")
    print("""
## How to reproduce

As root on a Debian 12 machine: `make bench` (or `make bench QUICK=1` for the short
version). Each benchmark builds its own lab under a private prefix and removes it.
`bench/run install` (or `l2veth`, `vhost`, `vm2vm`, `offload`, `monitor`, `failover`, `capacity`,
`micro`) runs only
those and replaces their figures in place; such a figure says when it was measured.

## Notes

- dse-pktgen generators: `xdp-live` (BPF_PROG_RUN live frames, in the kernel)
  where the kernel allows it, else `afxdp` (AF_XDP transmit in copy mode, the
  frames stamped in userspace: about 0.65 Mpps of 66 B frames from one core
  into an XDP sink over a veth pair on kernel 6.18.44-fc-v1300, which refuses
  live frames), else `afpacket` (AF_PACKET sendmmsg, about 0.44 there);
  `vhost-user` and `udp` for those modes. A generator's speed bounds the
  figures that the host core limits (see `l2-veth-64b`): compare figures
  measured with the same generator.
- `l2-veth-64b`: dse-pktgen (XDP live frames or AF_XDP, on the host core, in h1-vm1) sends
  UDP frames of 66 B (the smallest that carries its sequence header; the id keeps
  the 64 B name of DESIGN §10) to h1-vm2 on the same host, through the DPU; the
  sink (dse-pktgen rx, XDP) counts what arrives. The DPU-side receive work runs
  in threaded NAPI on the DPU core for every variant: dse with its eswitch (flow
  hit in XDP), dse with `--eswitch off` (`dse-afpacket-only`), the Linux bridge
  with bridge netfilter on (`linux-bridge`) and off, Open vSwitch 3.1's userspace
  datapath (`datapath_type=netdev`, started privately in the DPU's netns and
  cgroup) with plain ports (`ovs-netdev`) and with `type=afxdp` ports, and
  `dse-pktgen fwd`, a one-line XDP redirect (`xdp-redirect-ceiling`). Medians
  of the runs, measured in rounds (every variant once per round). With two
  cores, the DPU core runs the switch and the host core runs both the generator
  and the sink VM's receive thread (the lab places a VM's NAPI thread in the
  VM's cgroup, on the host cores). So the fastest variants (dse's eswitch, the
  bare XDP redirect) can be limited by the host core rather than by the switch:
  read `xdp-redirect-ceiling` as the ceiling of the whole path on this machine.
  Measured 2026-12-06 with `perf record -C` during full-rate runs: the host core
  is 100% busy (generator 58-63%, sink receive thread 36-41%) while the DPU core
  is about 30% idle at dse's rate, and interleaved 2 s runs gave dse 0.96-1.07
  Mpps against the ceiling's 0.98-1.62. So the dse/ceiling ratio moves by a
  quarter from run to run (0.92 in one full run, 0.82 in the next) with the host
  core's split between generator and sink, not with the switch; the switch's own
  cost is `l2-veth-64b-cpu` (about 1.5x the bare redirect: the flow-table hash
  lookup, counters and clock). A generator and sink on cores of their own would
  make the 0.9x goal measurable; this machine has two. Where the frames go
  (one 2 s run each, `sysctl kernel.bpf_stats_enabled=1` for the programs'
  run counts and times, `ip -s link show rep-vm2` in the DPU): dse's eswitch
  forwarded 1.9 M frames a second and the bare redirect 2.4 M, but the sink
  VM took only 0.86 and 1.04 M: 55% of what the DPU forwarded was dropped at
  the full receive ring of the sink VM, whose receive thread shares the host
  core with the generator. The eswitch program ran in 120-150 ns a frame,
  the bare redirect in 36-50 (both with the stats' own overhead); the sink's
  program took 214 ns a frame behind dse and 136 behind the bare redirect,
  likely the cache lines of frames the DPU core read.
  `l2-veth-64b-switched` is therefore the switch's own rate: the frames each
  variant handed to rep-vm2 a second (its tx packets plus tx drops), whether
  or not the sink kept up, in the same full-rate runs.
  Before the lab pinned VMs' NAPI threads, the sink's work landed on either core
  from one run to the next and the figures jumped by 2x. `bench/l2veth.sh`
  prints every round on stderr. `l2-veth-512b`, `-1500b` and the latency
  figures (one-way, sender and sink on one clock, at half of the rate each
  switch reached at 66 B in the same round) are taken for dse and the closest
  anchors only. `l2-veth-64b-cpu` divides the CPU time charged to the DPU's
  cgroup during a full-rate run (dpud or OVS, and the NAPI threads of the
  DPU-side ports) by the frames delivered.
- `vhost-64b`: dse-pktgen's virtio front-end (`tx|rx --vhost-user`, busy-polling,
  in the host's cgroup, on the host core) sends 66 B frames into one vhost-user
  port of dpud and counts them out of another in the same portgroup: dpud's
  software path on the DPU core (vhost-user ports never use the eswitch; the
  sink announces its MAC, so the flow cache serves known unicast). The anchor
  `dpdk-testpmd-iofwd` is Debian's dpdk-testpmd with two `net_vhost` ports in io
  forwarding mode, both lcores on the DPU core: a forwarder that does no
  switching, the ceiling of this path. Generator and sink share the host core.
  `vhost-64b-lat-p50/p99`: one-way latency at half of each forwarder's own rate.
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
  copying the 64 B frame in and out of the test ports.
- `mpps-pipeline-Nw`: the same pipeline run by N threads at once, each pinned to
  its own CPU with its own pipeline context and its own pair of ports, through
  one switch (dpud's parallel workers without the I/O): aggregate Mpps, and the
  ratio to one thread. It measures what the workers share (the MAC table, the
  generation number, counters' cache lines), not the ports: on this 2-core
  machine a veth benchmark with two workers would have no core left for the
  generator. Runs up to every CPU the process may use (at most 8).
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
  host then shares those cores), as on a real server, where each DPU has its
  own.
- `monitor-cost-1s`, `-20s`: the CPU time of an idle lab DPU's cgroup (dpud, its
  worker, its NAPI threads) over 30 s windows with collection every 1 s (20 s),
  less the same with collection off (`dsectl monitor set --interval 0`; hostd
  still polls each DPU five times a second, its liveness check, in both), as %
  of one core; medians of rounds. The difference sits at the noise of an idle
  DPU (about 0.55% of a core, varying by some 0.02% between windows), so it can
  come out below 0: `detail.sampler_us_per_collection` is the sampler's own
  time per collection (CPU, memory, sensors, every port's counters), the part
  that grows with the interval. Goal: at most 1% at 1 s.
- `alarm-latency-p50`, `-p99`: a definition on `dse_dpu_temperature_celsius`
  (critical 70, no for-time) and a webhook receiver in the host's namespace;
  the DPU's emulated sensor is written hot and cool in turn, at a random phase
  against the 1 s collection; each latency runs from the write to the
  receiver's arrival of that change's notification (the DPU's next
  collection, hostd's next poll, the alarm, the POST). Goal: p99 at most 1.5 s.
- `failover-gap-kill`, `-hang`, `-cut`: h1's two DPUs active-standby with hostd's
  defaults (a heartbeat every 2 ms, failure after 3 unanswered, standbys
  fenced); two UDP sequence streams of 10,000 packets/s (dse-pktgen `--udp`,
  through the VMs' kernels), one each way between h1-vm1 and h2-vm1 on another
  host; 1 s in, the active DPU's dpud is killed (SIGKILL), stopped (SIGSTOP) or
  both its uplink cables are cut (carrier lost); the figure is the longest gap
  between two packets either stream received, `failover-lost-*` the packets
  both lost. Then the failed DPU comes back as the fenced standby and the next
  run fails the other. Where dpud dies or hangs, the flows its eswitch holds
  in XDP go on being forwarded by the kernel until hostd moves the vNICs (as a
  real DPU's hardware tables would): the gap is shorter than the detection.
  `failover-detect-*` is the time from the fault to hostd's decision (its
  `last_failover_unix_us` less the fault's moment, one clock), against the
  configured 3 x 2 ms; for a cut, from just before the `ip` command that takes
  both links down (so starting ip is in it) to the decision on dpud's carrier
  report. `failover-gap-max` is the
  worst run of all three. Goal: median at most 10 ms, worst at most 50 ms.
  Anchors (this kernel has no bonding or team driver, so no kernel bond), the
  same streams in namespaces of their own: `ovs-bond-miimon100` is Open
  vSwitch's userspace datapath between a VM and two uplinks bonded
  active-backup (`bond-detect-mode=miimon`, `bond-miimon-interval=100`), the
  active member's cable cut; `keepalived-vrrp` is two routers running
  keepalived 2.2 VRRP with its default 1 s advertisements (a sync group of both
  segments' gateways), the master's keepalived killed and its forwarding
  stopped (a hang is the same to VRRP: its advertisements stop). A bond with
  miimon sees no software failure (the link stays up), and VRRP no cut cable
  of a host: each anchor stands where it applies.
- `dpu-capacity-independent`: a host's two DPUs independent (`dsectl host
  dpu-mode independent`, a pair of VMs on each, `vm add --dpu`): 64 B frames
  from one VM of each pair to the other, flat out (dse-pktgen tx --dev, on each VM's
  leg to its DPU), the Mpps both sinks count, against both pairs on dpu1
  (`one-dpu`). Each DPU has a core of its own (`dse-lab up --dpu-cpus` of every
  CPU); the generators and sinks share those two cores, so the figure says what
  the second DPU adds on this machine, not the clean 2x of DPUs with cores of
  their own and generators elsewhere.
- `ha-cost-host`, `ha-cost-dpu`: what failover readiness costs an idle server
  with two DPUs: the CPU time of the host's cgroup (dse-hostd) and of the
  active DPU's (dse-dpud and its NAPI threads) over a window, % of one core,
  with the DPUs active-standby at the default 2 ms heartbeat, against a 10 ms
  heartbeat (`heartbeat-10ms`) and independent DPUs (`independent`: health
  every 100 ms, no failover), in rounds. What a heartbeat costs is mostly
  waking the HA threads and the kernel's TCP and TLS work, not the JSON. Per
  beat and DPU, hostd makes about 4.5 system calls (a write, two reads for a
  TLS record, a share of the loop's waits) and dpud 5, since both write
  through `SSL_write` at once rather than through libevent's bufferevent
  (which armed and disarmed write interest around every write: 4.0% and
  3.6% before, 2026-12-06), and dpud writes its eswitch's fence map only
  when it changes.
""")


if __name__ == "__main__":
    main()
