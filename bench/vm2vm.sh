#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# VM-to-VM across two hosts through their DPUs, dse against the Linux bridge,
# side by side on one topology in one run:
#
#   h1-vm1 -- rep-vm1 [h1-dpu1: X] vmnic0 -- tor0 -- vmnic0 [h2-dpu1: X] rep-vm1 -- h2-vm1
#
#   X = dse-dpud (portgroup VLAN 10, tagged on the fabric): known flows in
#       its XDP eswitch; then dse-dpud --eswitch off: every frame through the
#       AF_PACKET slow path; then
#   X = a Linux bridge of rep-vm1 and vmnic0 (untagged; this kernel's bridge
#       has no VLAN filtering), with dpud stopped.
#
# Same veths, same threaded NAPI on the DPU core, same VMs.  Prints one JSON
# object per figure on stdout (bench/lib.sh's figure).
#
#   bench/vm2vm.sh [--quick]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/tests/system/lib.sh"
. "$top/bench/lib.sh"
bench_begin

runs=5 secs=5 pings=200
if [[ ${1:-} == --quick ]]; then runs=3 secs=2 pings=50; fi

P=$(lab_prefix)
lab_vms "$P" --hosts 2 -- h1-vm1=198.18.10.11 h2-vm1=198.18.10.21 ||
	{ echo "bench: VMs do not reach each other" >&2; exit 1; }

vmexec() { "$DSE_LAB" exec --prefix "$P" "$@"; }

tcp_gbps() { # one iperf3 run, h1-vm1 -> h2-vm1, Gbit/s
	vmexec h2-vm1 -- iperf3 -s -1 -p 5201 >/dev/null 2>&1 &
	local spid=$!
	wait_until 5 bash -c "ip netns exec $P-h2-vm1 ss -ltn | grep -q ':5201 '"
	vmexec h1-vm1 -- iperf3 -c 198.18.10.21 -p 5201 -t "$secs" -J 2>/dev/null |
		jq '.end.sum_received.bits_per_second / 1e9'
	wait "$spid" 2>/dev/null || true
}

rtt_us() { # median round trip of $pings pings, microseconds
	vmexec h1-vm1 -- ping -c "$pings" -i 0.01 -q 198.18.10.21 >/dev/null 2>&1 || true
	vmexec h1-vm1 -- ping -c "$pings" -i 0.01 198.18.10.21 2>/dev/null |
		sed -n 's/.*time=\([0-9.]*\) ms/\1/p' | sort -n |
		awk '{ a[NR] = $1 } END { print (NR ? a[int((NR + 1) / 2)] * 1000 : "null") }'
}

measure() { # NAME: runs of each figure into $TMPB/NAME.{tcp,rtt}
	local i
	for ((i = 0; i < runs; i++)); do
		record "$TMPB/$1.tcp" "$(tcp_gbps)"
		record "$TMPB/$1.rtt" "$(rtt_us)"
	done
}

measure dse

# dse without its eswitch: the AF_PACKET slow path alone.
for n in 1 2; do stop_daemon "$P" "h$n-dpu1" dpud; done
DSE_DPUD_ARGS="--eswitch off" "$DSE_LAB" up --prefix "$P" --hosts 2 --dpus 1 --bin-dir "$DSE_BUILD_DIR" >/dev/null
wait_until 15 ping_ok "$P-h1-vm1" 198.18.10.21 || { echo "bench: dse --eswitch off passes no traffic" >&2; exit 1; }
measure dse-software

# The anchor: the same DPUs switch with a Linux bridge instead of dpud.
for n in 1 2; do
	stop_daemon "$P" "h$n-dpu1" dpud
	ns=$P-h$n-dpu1
	ip -n "$ns" link add br-anchor type bridge stp_state 0
	ip -n "$ns" link set rep-vm1 master br-anchor
	ip -n "$ns" link set vmnic0 master br-anchor
	ip -n "$ns" link set br-anchor up
done
wait_until 10 ping_ok "$P-h1-vm1" 198.18.10.21 || { echo "bench: bridge anchor does not pass traffic" >&2; exit 1; }
measure linux-bridge

ANCHORS="linux-bridge dse-afpacket-only"
cp "$TMPB/dse-software.tcp" "$TMPB/dse-afpacket-only.tcp"
cp "$TMPB/dse-software.rtt" "$TMPB/dse-afpacket-only.rtt"
figure tcp-vm2vm-1stream "TCP, one stream, VM to VM across two hosts through their DPUs (iperf3 ${secs} s)" Gbit/s true .tcp
figure rtt-vm2vm "ping round trip, VM to VM across two hosts through their DPUs (each run the median of $pings pings)" us false .rtt
