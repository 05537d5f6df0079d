#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# vhost-user forwarding rate, 66 B frames (the smallest dse-pktgen frame),
# one DPU core, side by side in one run with the same generator and sink
# (dse-pktgen's virtio front-end, both on the host core):
#
#   dse-pktgen tx --vhost-user --> vhost1 [h1-dpu1: dpud, pg-a] vhost2 --> dse-pktgen rx --vhost-user
#   (host core: h1's cgroup)        (DPU core: software path, flow cache)    (host core)
#
#   dpdk-testpmd-iofwd: Debian's dpdk-testpmd, two net_vhost ports (it is the
#   vhost-user server) in io forwarding mode, in the DPU's cgroup with both
#   of its lcores on the DPU core: a forwarder that does no switching, the
#   ceiling of this path.
#
# The sink announces its MAC (rx --announce) so that dpud forwards known
# unicast, as it would to a VM.  Latency is taken at half of each variant's
# own rate in the same round.  Prints one JSON object per figure.
#   bench/vhost.sh [--quick]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/tests/system/lib.sh"
. "$top/bench/lib.sh"
require_root

runs=5 secs=3
LAT_PPS=100000 # the latency figures' rate, for both forwarders
if [[ ${1:-} == --quick ]]; then runs=3 secs=1; fi
PKTGEN=$DSE_BUILD_DIR/tools/pktgen/dse-pktgen
[[ -x $PKTGEN ]] || { echo "bench: $PKTGEN not built" >&2; exit 1; }
have_tp=1
command -v dpdk-testpmd >/dev/null || { have_tp=0; echo "bench: dpdk-testpmd not installed (scripts/install-deps): no testpmd anchor" >&2; }

P=$(lab_prefix)
bench_tmp
TP_PREFIX=dse-$P-bench # testpmd's --file-prefix: its runtime dir /var/run/dpdk/$TP_PREFIX
TP_PID=

trap tp_on_exit EXIT

lab_up "$P" --hosts 1 --dpus 1 >/dev/null
dsectl_on "$P" h1 portgroup add pg-a --vlan 10 >/dev/null
dsectl_on "$P" h1 port add vhost1 --portgroup pg-a --vhost-user >/dev/null
dsectl_on "$P" h1 port add vhost2 --portgroup pg-a --vhost-user >/dev/null
RUN=$DSE_LAB_DIR/$P/h1-dpu1/run/vhost
wait_until 10 bash -c "[[ -S $RUN/vhost1.sock && -S $RUN/vhost2.sock ]]"
DPU_CPU=$(. "$DSE_LAB_DIR/$P/lab.env" && echo "${DPU_CPUS%%,*}")
SINK_MAC=02:d5:70:67:00:02

one_run() { # TX-SOCK RX-SOCK RATE: one generator run; prints the sink's JSON report
	local out=$TMPB/rx.json err=$TMPB/rx.err
	"$DSE_LAB" exec --prefix "$P" h1 -- "$PKTGEN" rx --vhost-user "$2" --announce "$SINK_MAC" \
		--duration $((secs + 5)) --idle-ms 500 -j >"$out" 2>"$err" &
	local rpid=$!
	wait_until 10 grep -q 'attached to' "$err"
	"$DSE_LAB" exec --prefix "$P" h1 -- "$PKTGEN" tx --vhost-user "$1" --dst-mac "$SINK_MAC" \
		--rate "$3" --duration "$secs" -j >"$TMPB/tx.json" 2>/dev/null
	pktgen_record "$TMPB/tx.json"
	wait "$rpid" || true
	cat "$out"
}

measure() { # NAME TX-SOCK RX-SOCK: one round of a variant, appended to $TMPB/NAME*
	local report mpps half
	report=$(one_run "$2" "$3" max)
	# Frames delivered over the generator's sending time: the sink's own
	# first-to-last rate overstates when it shares the core and sees bursts.
	mpps=$(jq --slurpfile tx "$TMPB/tx.json" '.rx_packets / $tx[0].duration_s / 1e6 * 1000 | round / 1000' <<<"$report" 2>/dev/null)
	record "$TMPB/$1" "$mpps"
	# Latency at one rate for both forwarders (LAT_PPS), well below either's
	# capacity, so that it is not the host core's queue (generator and sink
	# share it) that is measured.
	one_run "$2" "$3" "$LAT_PPS" >"$TMPB/lat.json"
	record "$TMPB/$1.p50" "$(jq '.lat_p50_us' "$TMPB/lat.json" 2>/dev/null)"
	record "$TMPB/$1.p99" "$(jq '.lat_p99_us' "$TMPB/lat.json" 2>/dev/null)"
}

tp_start() { # testpmd forwarding between two vhost-user sockets, on the DPU core
	rm -f "$TMPB"/tp0.sock "$TMPB"/tp1.sock
	"$DSE_LAB" exec --prefix "$P" h1-dpu1 -- dpdk-testpmd --no-huge -m 512 --no-pci \
		--file-prefix "$TP_PREFIX" --lcores "0@$DPU_CPU,1@$DPU_CPU" \
		--vdev "net_vhost0,iface=$TMPB/tp0.sock" --vdev "net_vhost1,iface=$TMPB/tp1.sock" \
		-- --forward-mode=io --auto-start --stats-period 1 --total-num-mbufs=16384 \
		</dev/null >>"$TMPB/testpmd.log" 2>&1 &
	TP_PID=$!
	wait_until 20 bash -c "[[ -S $TMPB/tp0.sock && -S $TMPB/tp1.sock ]]"
}

# Rounds: every variant once per round, so that a change in the machine's
# state (the other core's load, frequency) hits both alike.
for ((round = 0; round < runs; round++)); do
	measure dse "$RUN/vhost1.sock" "$RUN/vhost2.sock"
	if ((have_tp)); then
		tp_start
		measure dpdk-testpmd-iofwd "$TMPB/tp0.sock" "$TMPB/tp1.sock"
		tp_stop
	fi
	echo "bench: round $((round + 1)): $(for f in dse dpdk-testpmd-iofwd; do
		[[ -s $TMPB/$f ]] && printf '%s %s Mpps  ' "$f" "$(tail -n1 "$TMPB/$f")"; done)" >&2
done

ANCHORS="dpdk-testpmd-iofwd"
base="one DPU core, dse-pktgen's virtio front-end as generator and sink on the host core, ${secs} s runs"
figure vhost-64b "vhost-user to vhost-user forwarding, 66 B (the smallest dse-pktgen frame), $base" Mpps true ""
figure vhost-64b-lat-p50 "vhost-user one-way latency of 66 B frames at $LAT_PPS frames/s, p50, $base" us false .p50
figure vhost-64b-lat-p99 "vhost-user one-way latency of 66 B frames at $LAT_PPS frames/s, p99, $base" us false .p99
