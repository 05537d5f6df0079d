#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# dpu-capacity-independent: how much switching a host's DPUs can do, with
# two DPUs independent (a pair of VMs on each: dsectl host dpu-mode
# independent; vm add --dpu dpu2) against one DPU doing it all (`one-dpu`:
# both pairs on dpu1, dpu2 idle).
#
# A DPU's capacity is the frames it switched per second of its own core's
# time: the frames handed to the sink VMs' representors (sent, or dropped at
# a full VM ring) in a flat-out run, over the CPU time its cgroup was charged
# in that run (dpud, its workers, and the NAPI threads of its ports, which
# the lab places there).  The figure is the sum over the DPUs that switched.
# So it does not depend on who else shares the cores: on this machine the
# VMs' generators and sinks run on the DPUs' two cores too (each DPU has one
# of its own: `up --dpu-cpus` of every CPU), so the frames the sinks count
# a second (`detail.sink_mpps`) measure the machine rather than the DPUs,
# and their ratio went past the possible 2x.  What the capacity assumes: a
# DPU's cost per frame stays what it was at the load measured.
#
# 66-byte frames from one VM of a pair to the other, flat out, dse-pktgen tx
# on each VM's leg to its DPU (eth0 to dpu1, eth1 to dpu2: the lab's VF mux
# moves a VM's kernel traffic, not XDP's); the generator is dse-pktgen's
# fastest on this kernel, or PKTGEN_GENERATOR; the figure names it.
#
#   [vm1] -> [h1-dpu1] -> [vm3]          one-dpu:  [vm1] -> [h1-dpu1] -> [vm3]
#   [vm2] -> [h1-dpu2] -> [vm4]                    [vm5] -> [h1-dpu1] -> [vm6]
#
# Prints one JSON object.
#
#   bench/capacity.sh [--quick]
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
lab_up "$P" --hosts 1 --dpus 2 --dpu-cpus "0-$(($(nproc) - 1))" >/dev/null
ds() { dsectl_on "$P" h1 "$@"; }
ds portgroup add pg-a --vlan 10
ds host dpu-mode independent >/dev/null
declare -A dev=([vm1]=eth0 [vm3]=eth0 [vm5]=eth0 [vm6]=eth0 [vm2]=eth1 [vm4]=eth1)
for v in vm1 vm2 vm3 vm4 vm5 vm6; do
	d=dpu1
	[[ ${dev[$v]} == eth1 ]] && d=dpu2
	ds vm add "$v" --portgroup pg-a --ip "198.18.10.1${v#vm}/24" --dpu "$d" >/dev/null
done
wait_until 10 ping_ok "$P-h1-vm1" 198.18.10.13 && wait_until 10 ping_ok "$P-h1-vm2" 198.18.10.14 &&
	wait_until 10 ping_ok "$P-h1-vm5" 198.18.10.16 || { echo "bench: the VM pairs do not reach each other" >&2; exit 1; }

# handed DPU SINK: the frames DPU handed to SINK's representor (tx + dropped).
handed() { ip -n "$P-h1-$1" -j -s link show "rep-$2" 2>/dev/null | jq '.[0].stats64.tx | .packets + .dropped'; }

# one_run FROM TO FROM TO: both pairs for secs (the sinks first).  Prints
# "CAPACITY SINK_MPPS": the sum over the DPUs that switched of frames per
# second of their cgroup's CPU time (Mpps), and the Mpps the sinks counted;
# "fail fail" when a report is missing.
one_run() {
	local i d to
	declare -A f0=() c0=()
	for d in dpu1 dpu2; do
		c0[$d]=$(cg_cpu_ns "$P-h1-$d")
		for ((i = 2; i <= $#; i += 2)); do f0[$d.${!i}]=$(handed "$d" "${!i}"); done
	done
	for ((i = 2; i <= $#; i += 2)); do
		to=${!i}
		ip netns exec "$P-h1-$to" "$PKTGEN" rx --dev "${dev[$to]}" --duration $((secs + 3)) --idle-ms 0 -j \
			>"$TMPB/rx.$to" 2>/dev/null &
		wait_until 5 bash -c "ip -n $P-h1-$to link show dev ${dev[$to]} | grep -q xdp"
	done
	for ((i = 1; i < $#; i += 2)); do
		local from=${!i} j=$((i + 1))
		to=${!j}
		"$DSE_LAB" exec --prefix "$P" "h1-$from" -- "$PKTGEN" tx --dev "${dev[$from]}" \
			--src-mac "$(vm_mac "$P" "h1-$from")" --dst-mac "$(vm_mac "$P" "h1-$to")" \
			--rate max --duration "$secs" --generator "${PKTGEN_GENERATOR:-auto}" -j \
			>"$TMPB/tx.$from" 2>/dev/null &
	done
	wait
	for f in "$TMPB"/tx.vm*; do pktgen_record "$f"; done
	rm -f "$TMPB"/tx.vm*
	local cap=0 frames cpu
	for d in dpu1 dpu2; do
		frames=0
		for ((i = 2; i <= $#; i += 2)); do
			frames=$((frames + $(handed "$d" "${!i}") - ${f0[$d.${!i}]}))
		done
		cpu=$(($(cg_cpu_ns "$P-h1-$d") - c0[$d]))
		# A DPU that switched (more than stray frames) counts; an idle one not.
		((frames > 1000 && cpu > 0)) || continue
		cap=$(awk -v c="$cap" -v f="$frames" -v t="$cpu" 'BEGIN { printf "%.4f", c + f / (t / 1e9) / 1e6 }')
		echo "bench: capacity: $d switched $frames frames in $((cpu / 1000000)) ms of its core" >&2
	done
	local sink
	sink=$(jq -s --argjson s "$secs" '(map(.rx_packets) | add) / $s / 1e6 * 1000 | round / 1000' "$TMPB"/rx.vm* 2>/dev/null)
	rm -f "$TMPB"/rx.vm*
	[[ $cap != 0 && -n $sink ]] || { echo "fail fail"; return; }
	echo "$cap $sink"
}

for ((i = 0; i < runs; i++)); do
	read -r cap sink <<<"$(one_run vm1 vm3 vm2 vm4)"
	record "$TMPB/dse" "$cap"
	record "$TMPB/sink.dse" "$sink"
	read -r cap sink <<<"$(one_run vm1 vm3 vm5 vm6)"
	record "$TMPB/one-dpu" "$cap"
	record "$TMPB/sink.one-dpu" "$sink"
	echo "bench: capacity round $((i + 1)): 2 independent DPUs $(tail -n1 "$TMPB/dse") Mpps a busy core" \
		"($(tail -n1 "$TMPB/sink.dse") counted), one DPU $(tail -n1 "$TMPB/one-dpu")" \
		"($(tail -n1 "$TMPB/sink.one-dpu") counted)" >&2
done
lab_down "$P" >/dev/null

ANCHORS=one-dpu
figure dpu-capacity-independent \
	"switching capacity of a host's DPUs: frames switched per second of DPU core time, summed over the DPUs (66 B, two pairs of VMs flat out), two DPUs independent (a pair on each) against one DPU with both pairs" \
	Mpps true "" | jq -c --argjson d "$(stats "$TMPB/sink.dse")" --argjson o "$(stats "$TMPB/sink.one-dpu")" \
	'. + {detail: {sink_mpps: {dse: $d, "one-dpu": $o}}}'
