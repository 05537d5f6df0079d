#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# L2 forwarding rate between two VMs on one host through its DPU, 64 B frames,
# dse against the switches a user would otherwise pick, side by side in one run:
#
#   h1-vm1: dse-pktgen tx --> eth0 == rep-vm1 [h1-dpu1: SWITCH] rep-vm2 == eth0 :h1-vm2: dse-pktgen rx
#   (host core)                  (DPU core: threaded NAPI of the DPU-side ports)
#   The sink VM's receive work (its eth0 NAPI thread) is the VM's, on the host
#   core with the generator, as the lab places it.
#
#   SWITCH = dse (eswitch hit), dse --eswitch slowpath (every frame through the
#   software path, via AF_XDP), dse --eswitch off (AF_PACKET software path), Linux
#   bridge (bridge netfilter on, then off), a trivial XDP redirect
#   rep-vm1 -> rep-vm2 (the ceiling of this veth path), and Open vSwitch's
#   userspace datapath (netdev) with plain and with afxdp ports, started
#   privately in the DPU's netns and cgroup.
#
#   With many flows (1,000 and 100,000 source MACs to one destination, after a
#   1 s warm-up), dse's eswitch holds at most 65,536 flows: beyond that the
#   rest stay on the miss path, which the 100,000-flow figure shows.
#
# The generator is dse-pktgen's fastest on this kernel (--generator auto: XDP
# live frames, else AF_XDP copy mode), or PKTGEN_GENERATOR; each figure names
# the one used ("generator").
#
# Prints one JSON object per figure.   bench/l2veth.sh [--quick]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/tests/system/lib.sh"
. "$top/bench/lib.sh"
bench_begin

runs=5 secs=3
if [[ ${1:-} == --quick ]]; then runs=3 secs=1; fi
PKTGEN=$DSE_BUILD_DIR/tools/pktgen/dse-pktgen
[[ -x $PKTGEN ]] || { echo "bench: $PKTGEN not built" >&2; exit 1; }

P=$(lab_prefix)
lab_vms "$P" --hosts 1 -- h1-vm1=198.18.10.11 h1-vm2=198.18.10.12
M1=$(vm_mac "$P" h1-vm1) M2=$(vm_mac "$P" h1-vm2)
DNS=$P-h1-dpu1

one_run() { # SIZE RATE [TX-ARGS...]: one generator run; prints the sink's JSON report
	local out=$TMPB/rx.json size=$1 rate=$2
	shift 2
	ip netns exec "$P-h1-vm2" "$PKTGEN" rx --dev eth0 --duration $((secs + 3)) -j >"$out" 2>/dev/null &
	local rpid=$!
	wait_until 5 bash -c "ip -n $P-h1-vm2 link show dev eth0 | grep -q xdp"
	"$DSE_LAB" exec --prefix "$P" h1-vm1 -- "$PKTGEN" tx --dev eth0 --src-mac "$M1" --dst-mac "$M2" \
		--size "$size" --rate "$rate" --duration "$secs" --generator "${PKTGEN_GENERATOR:-auto}" \
		-j "$@" >"$TMPB/tx.json" 2>/dev/null
	pktgen_record "$TMPB/tx.json"
	wait "$rpid" || true
	cat "$out"
}

# Variants measured beyond 66 B at full rate: at 512 and 1500 B, and for
# latency at a fixed rate (LAT_PPS).
DETAILED=" dse linux-bridge-nf-off xdp-redirect-ceiling ovs-afxdp "
# ... and with many flows.
FLOWED=" dse dse-slowpath linux-bridge-nf-off xdp-redirect-ceiling ovs-afxdp "
FLOW_BASE=02:d5:ff:00:00:00 # source MACs from here up, outside the lab's own
LAT_PPS=100000              # the latency figures' rate, for every variant

# handed_off: the frames the switch handed to rep-vm2, the sink VM's port:
# sent, or dropped because the VM's receive ring was full.
handed_off() { ip -n "$DNS" -j -s link show rep-vm2 | jq '.[0].stats64.tx | .packets + .dropped'; }

# placed: the DPU-side ports' receive threads (threaded NAPI) in the DPU's
# cgroup and on its core, as the lab puts them; say why not on stderr.
placed() { "$DSE_LAB" napi --prefix "$P" h1-dpu1 rep-vm1 rep-vm2 --check >&2; }
prog_on() { ip -n "$DNS" -d link show dev "$1" | sed -n 's/.*prog\/xdp id [0-9]* name \([a-z_0-9]*\).*/\1/p' | head -n1; }

# measure NAME: one round of the current variant, recorded in $TMPB/NAME*.
# Its receive threads are checked before and after: a run with them
# elsewhere (or any run that gave no report) is recorded as a failed run.
measure() {
	local name=$1 mpps half sw cpu ok=1 v
	place
	placed || ok=0
	echo "bench: $name: XDP on the DPU ports: $(prog_on rep-vm1)/$(prog_on rep-vm2)" >&2
	# learn both MACs (and install the flow where there is an eswitch)
	ip netns exec "$P-h1-vm1" ping -c 2 -i 0.2 -W 1 198.18.10.12 >/dev/null 2>&1 || true
	local cpu0 report h0
	cpu0=$(cg_cpu_ns "$DNS") h0=$(handed_off)
	report=$(one_run 66 max)
	mpps=$(jq '.rx_pps / 1e6' <<<"$report" 2>/dev/null)
	# What the switch itself forwarded, whether or not the sink kept up
	sw=$(jq -n --argjson n $(($(handed_off) - h0)) --argjson s "$(jq .duration_s "$TMPB/tx.json" 2>/dev/null || echo null)" \
		'if $s > 0 then $n / $s / 1e6 * 1000 | round / 1000 else null end' 2>/dev/null)
	# DPU CPU time per delivered frame: the switch core's cost of a frame
	cpu=$(jq --argjson cpu $(($(cg_cpu_ns "$DNS") - cpu0)) \
		'if .rx_packets > 0 then ($cpu / .rx_packets * 10 | round / 10) else null end' <<<"$report" 2>/dev/null)
	placed || ok=0
	if ((!ok)); then
		echo "bench: $name: receive threads not on the DPU core and in its cgroup: a failed run" >&2
		mpps=fail sw=fail cpu=fail
	fi
	record "$TMPB/$name" "$mpps"
	record "$TMPB/$name.sw" "$sw"
	record "$TMPB/$name.cpu" "$cpu"
	[[ $DETAILED == *" $name "* ]] || return 0
	for v in 512 1500; do
		record "$TMPB/$name.$v" "$( ((ok)) && one_run "$v" max | jq '.rx_pps / 1e6' 2>/dev/null)"
	done
	# Latency at one rate for every variant, well below the slowest one's
	# capacity: at a rate of its own (half of each variant's, as before) the
	# faster switches loaded the host core, which the generator and the
	# sink share, and measured its queue rather than the switch.
	: >"$TMPB/lat.json"
	if ((ok)); then
		one_run 66 "$LAT_PPS" >"$TMPB/lat.json"
		placed || : >"$TMPB/lat.json"
	fi
	record "$TMPB/$name.p50" "$(jq '.lat_p50_us' "$TMPB/lat.json" 2>/dev/null)"
	record "$TMPB/$name.p99" "$(jq '.lat_p99_us' "$TMPB/lat.json" 2>/dev/null)"
}

# measure_flows NAME: with many flows, last in a variant's turn: 100,000 flows
# fill dse's eswitch, and the idle ones leave it only a second later.
measure_flows() {
	[[ $FLOWED == *" $1 "* ]] || return 0
	local n v
	for n in 1000 100000; do
		secs=1 one_run 66 max --src-mac $FLOW_BASE --src-macs $n >/dev/null # warm-up
		v=$(one_run 66 max --src-mac $FLOW_BASE --src-macs $n | jq '.rx_pps / 1e6' 2>/dev/null)
		placed || v=fail
		record "$TMPB/$1.f$n" "$v"
	done
}

lab_again() { # [DPUD-ARGS]: dpud (re)started with these options; NAPI placement redone
	stop_daemon "$P" h1-dpu1 dpud
	# --eswitch off: no eswitch program left from the last dpud on the ports,
	# the pass-through one as for the anchors.
	[[ ${1:-} != *"--eswitch off"* ]] || plain_ports
	DSE_DPUD_ARGS=${1:-} "$DSE_LAB" up --prefix "$P" --hosts 1 --dpus 1 --bin-dir "$DSE_BUILD_DIR" >/dev/null
	wait_until 15 ping_ok "$P-h1-vm1" 198.18.10.12
}

ovs_begin

# Rounds: every variant once per round, so that a change in the machine's
# state (the other core's load, frequency) hits all of them alike.
for ((round = 0; round < runs; round++)); do
	lab_again
	measure dse
	measure_flows dse
	lab_again "--eswitch slowpath"
	measure dse-slowpath
	measure_flows dse-slowpath
	lab_again "--eswitch off"
	measure dse-afpacket-only
	measure_flows dse-afpacket-only

	stop_daemon "$P" h1-dpu1 dpud
	plain_ports # dse's eswitch program off the ports for the anchors
	ip -n "$DNS" link add br-anchor type bridge stp_state 0
	ip -n "$DNS" link set rep-vm1 master br-anchor
	ip -n "$DNS" link set rep-vm2 master br-anchor
	ip -n "$DNS" link set br-anchor up
	wait_until 10 ping_ok "$P-h1-vm1" 198.18.10.12
	setnf 1
	measure linux-bridge
	measure_flows linux-bridge
	setnf 0
	measure linux-bridge-nf-off
	measure_flows linux-bridge-nf-off
	ip -n "$DNS" link del br-anchor

	ip netns exec "$DNS" "$PKTGEN" fwd --in rep-vm1 --out rep-vm2 >"$TMPB/fwd.out" 2>&1 &
	FWD=$!
	wait_until 5 grep -q "until SIGINT" "$TMPB/fwd.out"
	measure xdp-redirect-ceiling
	measure_flows xdp-redirect-ceiling
	kill "$FWD" 2>/dev/null
	wait "$FWD" 2>/dev/null || true

	if ((have_ovs)); then
		ovs_start
		vsctl add-port br-ovs rep-vm1 -- add-port br-ovs rep-vm2
		wait_until 10 ping_ok "$P-h1-vm1" 198.18.10.12
		measure ovs-netdev
		measure_flows ovs-netdev
		vsctl del-port br-ovs rep-vm1 -- del-port br-ovs rep-vm2
		vsctl add-port br-ovs rep-vm1 -- set interface rep-vm1 type=afxdp options:xdp-mode=native \
			-- add-port br-ovs rep-vm2 -- set interface rep-vm2 type=afxdp options:xdp-mode=native
		if wait_until 15 ping_ok "$P-h1-vm1" 198.18.10.12; then
			measure ovs-afxdp
			measure_flows ovs-afxdp
		else
			echo "bench: ovs afxdp ports pass no traffic (see $OVS/vswitchd.log): a failed run" >&2
			for f in "" .sw .cpu .512 .1500 .p50 .p99 .f1000 .f100000; do record "$TMPB/ovs-afxdp$f" fail; done
		fi
		ovs_stop
	fi
	echo "bench: round $((round + 1)): $(for f in dse dse-slowpath dse-afpacket-only linux-bridge linux-bridge-nf-off \
		xdp-redirect-ceiling ovs-netdev ovs-afxdp; do [[ -s $TMPB/$f ]] && printf '%s %s  ' "$f" "$(tail -n1 "$TMPB/$f")"; done)" >&2
done

ANCHORS="linux-bridge linux-bridge-nf-off xdp-redirect-ceiling ovs-netdev ovs-afxdp dse-slowpath dse-afpacket-only"
base="one DPU core, VM to VM on one host, dse-pktgen, ${secs} s runs"
figure l2-veth-64b "L2 forwarding, veth, 66 B (the smallest dse-pktgen frame), $base" Mpps true ""
figure l2-veth-512b "L2 forwarding, veth, 512 B, $base" Mpps true .512
figure l2-veth-1500b "L2 forwarding, veth, 1500 B, $base" Mpps true .1500
figure l2-veth-64b-switched "frames the switch handed to the sink VM's port a second, delivered or dropped at the VM's full receive ring (the switch's own rate, not the sink's), 66 B, $base" Mpps true .sw
figure l2-veth-64b-cpu "DPU CPU time per delivered 66 B frame at full rate (the DPU cgroup: switch, its NAPI threads), $base" ns false .cpu
figure l2-veth-lat-p50 "one-way latency of 66 B frames at $LAT_PPS frames/s, p50, $base" us false .p50
figure l2-veth-lat-p99 "one-way latency of 66 B frames at $LAT_PPS frames/s, p99, $base" us false .p99
figure l2-veth-64b-1kflows "L2 forwarding, veth, 66 B, 1,000 flows (source MACs), $base" Mpps true .f1000
figure l2-veth-64b-100kflows "L2 forwarding, veth, 66 B, 100,000 flows (source MACs; the eswitch holds 65,536, the rest take the miss path), $base" Mpps true .f100000
