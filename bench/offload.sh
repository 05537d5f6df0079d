#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# host-cpu-offload: the CPU time the host spends on its infrastructure (its
# cgroup: hostd, and, without offload, the switch and the kernel threads that
# receive for it) while two VMs on different hosts exchange the same traffic,
# with the switch on the DPUs divided by the same with the switch on the hosts
# (`dse-lab up --switch-on host`, the no-offload baseline).  The VMs' own
# sending and receiving is in the VMs' cgroups and counts in neither.
#
#   h1-vm1 --[switch on h1-dpu1 | on h1]-- fabric --[h2-dpu1 | h2]-- h2-vm1
#
# Prints one JSON object.   bench/offload.sh [--quick]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/tests/system/lib.sh"
. "$top/bench/lib.sh"
bench_begin

runs=3 bytes=400000000
if [[ ${1:-} == --quick ]]; then runs=3 bytes=100000000; fi

host_cpu_us() { # SWITCH_ON FILE: a line per run: host cgroup CPU us for the transfer
	local P on=$1 i h0
	P=$(lab_prefix)
	lab_vms "$P" --hosts 2 --switch-on "$on" -- h1-vm1=198.18.10.11 h2-vm1=198.18.10.21
	for ((i = 0; i < runs; i++)); do
		rm -f "$TMPB/sink" "$TMPB/sink.ready"
		"$DSE_LAB" exec --prefix "$P" h2-vm1 -- /usr/bin/python3 "$SYSTEST_DIR/tcp-sink.py" 5201 "$TMPB/sink" &
		wait_until 10 test -e "$TMPB/sink.ready"
		h0=$(cg_cpu_ns "$P-h1")
		"$DSE_LAB" exec --prefix "$P" h1-vm1 -- timeout 120 bash -c "head -c $bytes /dev/zero >/dev/tcp/198.18.10.21/5201"
		wait
		# A transfer that did not arrive whole is a failed run.
		if [[ $(cut -d' ' -f1 "$TMPB/sink" 2>/dev/null) == "$bytes" ]]; then
			record "$2" $((($(cg_cpu_ns "$P-h1") - h0) / 1000))
		else
			record "$2" fail
		fi
	done
	lab_down "$P" >/dev/null
}

host_cpu_us dpu "$TMPB/offload"
host_cpu_us host "$TMPB/baseline"
echo "bench: host CPU us per ${bytes} B transfer: offload $(tr '\n' ' ' <"$TMPB/offload"), on host $(tr '\n' ' ' <"$TMPB/baseline")" >&2
# The ratio of each run with the switch on the DPU to the same run with it on
# the host (runs paired in order; a failed one fails its pair).
paste -d' ' "$TMPB/offload" "$TMPB/baseline" | while read -r o b; do
	record "$TMPB/dse" "$(awk -v o="$o" -v b="$b" 'BEGIN { if (o ~ /^[0-9]/ && b ~ /^[0-9]/ && b > 0) printf "%.5f", o / b; else print "fail" }')"
done
ANCHORS=""
figure host-cpu-offload "host infrastructure CPU time with the switch on the DPU / with it on the host, same VM traffic (TCP, $bytes B across hosts)" \
	ratio false "" | jq -c --argjson o "$(stats "$TMPB/offload")" --argjson b "$(stats "$TMPB/baseline")" \
	'. + {detail: {host_cpu_us_offload: $o, host_cpu_us_switch_on_host: $b}}'
