#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# What high availability costs in CPU (issue 6), on an idle lab server with
# two DPUs, as % of one core over a window:
#
#   ha-cost-host   the host's cgroup (dse-hostd: its HA thread sends each DPU a
#                  heartbeat and reads the answer) with the DPUs active-standby
#                  at the default heartbeat (2 ms)
#   ha-cost-dpu    one DPU's cgroup (dse-dpud: its HA thread answers; its
#                  workers, its NAPI threads), the active one, the same way
#
#   Anchors, measured the same way in the same rounds: active-standby with a
#   10 ms heartbeat (`heartbeat-10ms`), and independent DPUs (`independent`:
#   a heartbeat every 100 ms, health only), which is what a server pays
#   without failover.
#
# Prints one JSON object per figure.   bench/hacost.sh [--quick]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/tests/system/lib.sh"
. "$top/bench/lib.sh"
bench_begin

runs=5 window=10
if [[ ${1:-} == --quick ]]; then runs=3 window=4; fi

P=$(lab_prefix)
lab_up "$P" --hosts 1 --dpus 2 >/dev/null
ds() { dsectl_on "$P" h1 "$@"; }
healthy() { ds -j dpu list | jq -e 'all(.[]; .ha.healthy)' >/dev/null; }

# measure VARIANT MODE [ARGS]: the host's and the active DPU's CPU over the
# window after switching to MODE, % of one core, appended to $TMPB/VARIANT{.host,.dpu}
measure() {
	local v=$1 h0 d0 t0 t1
	shift
	ds host dpu-mode "$@" >/dev/null
	wait_until 10 healthy || { echo "bench: DPUs not healthy in $*" >&2; return 1; }
	h0=$(cg_cpu_ns "$P-h1") d0=$(cg_cpu_ns "$P-h1-dpu1") t0=$(now_ms)
	# The window itself is what is measured: nothing to wait for.
	sleep "$window"
	t1=$(now_ms)
	record "$TMPB/$v.host" "$(awk -v c=$((($(cg_cpu_ns "$P-h1") - h0) / 10000)) -v t=$((t1 - t0)) 'BEGIN { printf "%.3f", c / t }')"
	record "$TMPB/$v.dpu" "$(awk -v c=$((($(cg_cpu_ns "$P-h1-dpu1") - d0) / 10000)) -v t=$((t1 - t0)) 'BEGIN { printf "%.3f", c / t }')"
}

for ((round = 0; round < runs; round++)); do
	measure dse active-standby --heartbeat-ms 2 # the default, but a mode change keeps the last one set
	measure heartbeat-10ms active-standby --heartbeat-ms 10
	measure independent independent
	echo "bench: round $((round + 1)): host $(for v in dse heartbeat-10ms independent; do printf '%s %s%%  ' "$v" "$(tail -n1 "$TMPB/$v.host")"; done)" \
		"dpu $(for v in dse heartbeat-10ms independent; do printf '%s %s%%  ' "$v" "$(tail -n1 "$TMPB/$v.dpu")"; done)" >&2
done

ANCHORS="heartbeat-10ms independent"
base="idle lab server with two DPUs, active-standby at the default 2 ms heartbeat, ${window} s windows"
figure ha-cost-host "CPU of the host's cgroup (dse-hostd and its HA thread), $base" "% of a core" false .host
figure ha-cost-dpu "CPU of the active DPU's cgroup (dse-dpud, its HA thread, workers and NAPI threads), $base" "% of a core" false .dpu
