#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# dpu-capacity-independent: what a host's DPUs switch at most, flat out, for
# two pairs of VMs (64-byte frames from one VM of a pair to the other, Mpps
# summed over both pairs), when
#
#   dse (2 DPUs)  the DPUs are independent, a pair on each (dsectl host
#                 dpu-mode independent; vm add --dpu dpu2)
#   one-dpu       both pairs on dpu1, dpu2 idle: the capacity of one DPU
#
# The generators and sinks are dse-pktgen's XDP ones (as in bench/l2veth.sh)
# on each VM's leg to its DPU (eth0 to dpu1, eth1 to dpu2: the lab's VF mux
# moves a VM's kernel traffic, not XDP's).  Each DPU has a core of its own
# (`up --dpu-cpus` of every CPU); the VMs' generators run on the same cores,
# there being no others on a small machine, so the ratio shows what a second
# DPU adds here, not a clean 2x.  The generator is dse-pktgen's fastest on this
# kernel (XDP live frames, else AF_XDP copy mode), or PKTGEN_GENERATOR; the
# figure names the one used ("generator").
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

# one_run FROM TO FROM TO: both pairs for secs (the sinks first); prints the
# Mpps the sinks counted.
one_run() {
	local i
	for ((i = 2; i <= $#; i += 2)); do
		local to=${!i}
		ip netns exec "$P-h1-$to" "$PKTGEN" rx --dev "${dev[$to]}" --duration $((secs + 3)) --idle-ms 0 -j \
			>"$TMPB/rx.$to" 2>/dev/null &
		wait_until 5 bash -c "ip -n $P-h1-$to link show dev ${dev[$to]} | grep -q xdp"
	done
	for ((i = 1; i < $#; i += 2)); do
		local from=${!i} j=$((i + 1))
		local to=${!j}
		"$DSE_LAB" exec --prefix "$P" "h1-$from" -- "$PKTGEN" tx --dev "${dev[$from]}" \
			--src-mac "$(vm_mac "$P" "h1-$from")" --dst-mac "$(vm_mac "$P" "h1-$to")" \
			--rate max --duration "$secs" --generator "${PKTGEN_GENERATOR:-auto}" -j \
			>"$TMPB/tx.$from" 2>/dev/null &
	done
	wait
	for f in "$TMPB"/tx.vm*; do pktgen_record "$f"; done
	rm -f "$TMPB"/tx.vm*
	jq -s --argjson s "$secs" '(map(.rx_packets) | add) / $s / 1e6 * 1000 | round / 1000' "$TMPB"/rx.vm*
	rm -f "$TMPB"/rx.vm*
}

for ((i = 0; i < runs; i++)); do
	one_run vm1 vm3 vm2 vm4 >>"$TMPB/dse"
	one_run vm1 vm3 vm5 vm6 >>"$TMPB/one-dpu"
	echo "bench: capacity round $((i + 1)): 2 independent DPUs $(tail -n1 "$TMPB/dse") Mpps," \
		"one DPU $(tail -n1 "$TMPB/one-dpu") Mpps" >&2
done
lab_down "$P" >/dev/null

ANCHORS=one-dpu
figure dpu-capacity-independent \
	"64-byte frames switched between two pairs of VMs flat out, summed, a host's two DPUs independent (a pair on each), each DPU on a core of its own, the generators sharing them" \
	Mpps true ""
