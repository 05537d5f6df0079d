# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# bench/lib.sh: what the side-by-side benchmarks share (sourced after
# tests/system/lib.sh).  Each variant's runs are one number a line in
# $TMPB/VARIANT[SUFFIX]; ANCHORS lists the variants other than dse, in the
# order they are printed; runs is the number of rounds.  A benchmark that
# runs dse-pktgen tx hands each run's -j report to pktgen_record, and every
# figure it then writes names the generators used ("generator").
# PKTGEN_GENERATOR (default auto) is what such a benchmark passes to
# `tx --dev ... --generator`.

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

# median FILE: the median of the numbers in FILE, or null.
median() { [[ -s $1 ]] || { echo null; return; }; sort -n "$1" | awk '{ a[NR] = $1 } END { print (NR ? a[int((NR + 1) / 2)] : "null") }'; }

# pktgen_record TX_JSON: note which generator a dse-pktgen tx run used (its
# -j report's "generator": xdp-live, afxdp, afpacket, vhost-user, udp).
pktgen_record() { jq -r '.generator // empty' "$1" >>"$TMPB/generators" 2>/dev/null || true; }

# pktgen_generators: the generators noted, comma-separated, or nothing.
pktgen_generators() { [[ -s $TMPB/generators ]] && sort -u "$TMPB/generators" | paste -sd, - || true; }

# figure ID WHAT UNIT HIGHER_IS_BETTER SUFFIX: one JSON line (DESIGN.md §10),
# dse and every anchor that has runs with that file suffix, and the dse-pktgen
# generators of the run when there were any (pktgen_record).
figure() {
	local id=$1 what=$2 unit=$3 hib=$4 sfx=$5 anchors='{}' v m
	for v in $ANCHORS; do
		[[ -s $TMPB/$v$sfx ]] || continue
		m=$(median "$TMPB/$v$sfx")
		anchors=$(jq -c --arg k "$v" --argjson m "$m" '. + {($k): $m}' <<<"$anchors")
	done
	jq -nc --arg id "$id" --arg what "$what" --arg unit "$unit" --argjson hib "$hib" \
		--argjson runs "$runs" --argjson d "$(median "$TMPB/dse$sfx")" --argjson a "$anchors" \
		--arg gen "$(pktgen_generators)" \
		'{id: $id, what: $what, unit: $unit, higher_is_better: $hib, runs: $runs, dse: $d, anchors: $a}
		 + (if $gen == "" then {} else {generator: $gen} end)'
}
