# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# bench/lib.sh: what the side-by-side benchmarks share (sourced after
# tests/system/lib.sh).  Each variant's runs are one number a line in
# $TMPB/VARIANT[SUFFIX] (record() appends them, "fail" for a failed run);
# ANCHORS lists the variants other than dse, in the order they are printed;
# runs is the number of rounds planned (a figure reports the runs it got).  A
# benchmark that runs dse-pktgen tx hands each run's -j report to
# pktgen_record, and every figure it then writes names the generators used
# ("generator").  PKTGEN_GENERATOR (default auto) is what such a benchmark
# passes to `tx --dev ... --generator`.

# bench_tmp: $TMPB, the run's scratch directory, removed by cleanup.
bench_tmp() {
	TMPB=$(mktemp -d /tmp/dse-bench.XXXXXX)
	TEST_TMPDIRS+=("$TMPB")
}

# bench_begin: what a benchmark does first: root, cleanup on exit, $TMPB.
bench_begin() {
	require_root
	trap cleanup EXIT
	bench_tmp
}

# record FILE VALUE: one run's number, appended to FILE; anything else (an
# empty or broken report, "fail") is appended as a failed run, said on stderr,
# and counted by the figure: no run is dropped silently.
record() {
	if [[ $2 =~ ^-?[0-9]+([.][0-9]*)?([eE][-+]?[0-9]+)?$ ]]; then
		echo "$2" >>"$1"
	else
		echo fail >>"$1"
		echo "bench: ${1##*/}: a failed run (got '${2:0:60}')" >&2
	fi
}

# stats FILE: {"runs", "failed", "min", "median", "max"} of FILE's runs (one
# number a line; "fail" for a failed run).  With no number the median is null.
stats() {
	local f=$1
	[[ -s $f ]] || { echo '{"runs": 0, "failed": 0, "min": null, "median": null, "max": null}'; return; }
	grep -E '^-?[0-9]' "$f" | sort -g | awk -v failed="$(grep -vcE '^-?[0-9]' "$f")" '
		{ a[NR] = $1 }
		END {
			if (!NR) { printf "{\"runs\": 0, \"failed\": %d, \"min\": null, \"median\": null, \"max\": null}\n", failed; exit }
			printf "{\"runs\": %d, \"failed\": %d, \"min\": %s, \"median\": %s, \"max\": %s}\n",
				NR, failed, a[1], a[int((NR + 1) / 2)], a[NR]
		}'
}

# median FILE: the median of the numbers in FILE, or null.
median() { stats "$1" | jq .median; }

# pktgen_record TX_JSON: note which generator a dse-pktgen tx run used (its
# -j report's "generator": xdp-live, afxdp, afpacket, vhost-user, udp).
pktgen_record() { jq -r '.generator // empty' "$1" >>"$TMPB/generators" 2>/dev/null || true; }

# pktgen_generators: the generators noted, comma-separated, or nothing.
pktgen_generators() { [[ -s $TMPB/generators ]] && sort -u "$TMPB/generators" | paste -sd, - || true; }

# figure ID WHAT UNIT HIGHER_IS_BETTER SUFFIX: one JSON line (DESIGN.md §10):
# dse's median and every anchor's that has runs with that file suffix, in
# "stats" each one's real number of runs, failed runs, min, median and max,
# and the dse-pktgen generators of the run when there were any
# (pktgen_record).  A figure whose dse runs all failed (or never ran) carries
# "error": the run of bench/run then fails.  FIGURE_KEY=max makes the figure
# the maximum of the runs rather than their median (figure_max).
figure() {
	local id=$1 what=$2 unit=$3 hib=$4 sfx=$5 v st all='{}' key=${FIGURE_KEY:-median}
	for v in dse $ANCHORS; do
		[[ $v == dse || -s $TMPB/$v$sfx ]] || continue
		st=$(stats "$TMPB/$v$sfx")
		all=$(jq -c --arg k "$v" --argjson s "$st" '. + {($k): $s}' <<<"$all")
	done
	jq -nc --arg id "$id" --arg what "$what" --arg unit "$unit" --argjson hib "$hib" \
		--argjson all "$all" --arg key "$key" --arg gen "$(pktgen_generators)" '
		{id: $id, what: $what, unit: $unit, higher_is_better: $hib,
		 runs: $all.dse.runs, failed: $all.dse.failed, dse: $all.dse[$key],
		 anchors: ($all | del(.dse) | map_values(.[$key])), stats: $all}
		+ (if $key != "median" then {statistic: $key} else {} end)
		+ (if $gen == "" then {} else {generator: $gen} end)
		+ (if $all.dse.runs == 0 then {error: "no successful run of dse (\($all.dse.failed) failed)"} else {} end)'
	if [[ $(stats "$TMPB/dse$sfx" | jq .runs) == 0 ]]; then
		echo "bench: $id: no successful run of dse" >&2
	fi
}

# figure_max ...: figure's arguments; the figure is the maximum of the runs.
figure_max() { FIGURE_KEY=max figure "$@"; }

# ---- anchors on the DPU of a lab: $P the lab's prefix, $DNS its DPU's netns
# (P-h1-dpu1), the VMs' ports rep-vm1 and rep-vm2 (bench/l2veth.sh, bench/dfw.sh)

# setnf 0|1: bridge netfilter in the DPU's netns.
setnf() { ip netns exec "$DNS" sysctl -qw net.bridge.bridge-nf-call-iptables=$1 \
	net.bridge.bridge-nf-call-ip6tables=$1 net.bridge.bridge-nf-call-arptables=$1 2>/dev/null || true; }

# place: the DPU-side ports' receive threads (threaded NAPI) into the DPU's
# cgroup and onto its core again, after a variant loaded its own XDP programs.
place() { "$DSE_LAB" napi --prefix "$P" h1-dpu1 rep-vm1 rep-vm2 >/dev/null 2>&1 || true; }

# plain_ports: the lab's pass-through XDP program on the DPU-side ports
# instead of whatever is there (dse's eswitch stays attached when dpud
# stops): what an anchor switch gets, the NAPI context and nothing more.
plain_ports() {
	local d
	for d in rep-vm1 rep-vm2; do
		ip -n "$DNS" link set dev "$d" xdpdrv off 2>/dev/null || true
		ip -n "$DNS" link set dev "$d" xdpdrv obj "$DSE_BUILD_DIR/dataplane/bpf/xdp-pass.o" sec xdp.frags
	done
	place
}

# Open vSwitch, private to this run: its database, sockets and logs in
# $TMPB/ovs, its daemons in the DPU's netns and cgroup (so on the DPU core).
# ovs_begin sets it up (call it after bench_begin); have_ovs says whether
# OVS is installed.
ovs_begin() {
	OVS=$TMPB/ovs
	ovs_env=(env OVS_RUNDIR="$OVS" OVS_DBDIR="$OVS" OVS_LOGDIR="$OVS" OVS_SYSCONFDIR="$OVS")
	have_ovs=0
	command -v ovs-vswitchd >/dev/null && have_ovs=1
	((have_ovs)) || echo "bench: Open vSwitch not installed (scripts/install-deps --bench): no OVS anchor" >&2
}
vsctl() { ovs-vsctl --db="unix:$OVS/db.sock" "$@"; }
ovs_start() {
	rm -rf "$OVS"
	mkdir -p "$OVS"
	ovsdb-tool create "$OVS/conf.db" /usr/share/openvswitch/vswitch.ovsschema
	"$DSE_LAB" exec --prefix "$P" h1-dpu1 -- "${ovs_env[@]}" ovsdb-server "$OVS/conf.db" \
		--remote="punix:$OVS/db.sock" --pidfile="$OVS/ovsdb.pid" --detach \
		--log-file="$OVS/ovsdb.log" --unixctl="$OVS/ovsdb.ctl" 2>/dev/null
	vsctl --no-wait init
	"$DSE_LAB" exec --prefix "$P" h1-dpu1 -- "${ovs_env[@]}" ovs-vswitchd "unix:$OVS/db.sock" \
		--pidfile="$OVS/vswitchd.pid" --detach --log-file="$OVS/vswitchd.log" \
		--unixctl="$OVS/vswitchd.ctl" 2>/dev/null
	vsctl add-br br-ovs -- set bridge br-ovs datapath_type=netdev
}
ovs_stop() {
	ovs-appctl -t "$OVS/vswitchd.ctl" exit 2>/dev/null || true
	ovs-appctl -t "$OVS/ovsdb.ctl" exit 2>/dev/null || true
}
