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
