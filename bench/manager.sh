#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The manager's figures (issue 13, point 11): dse-manager with N hosts of
# two DPUs each, simulated by dse-hostsim in one process, on this machine.
#
#   netns P-mN (lo only; 127.0.0.0/8 is all local there):
#     manager-client.py --HTTPS, kept alive--> dse-manager 127.0.0.1:8443
#                                                 | mTLS, hosts every 20 s
#                                                 v  and after each change
#     dse-hostsim 0.0.0.0:7443: host I at 127.1.X.Y, its own certificate
#
# For each N (1,000 and 10,000; QUICK: 1,000), the inventory (datacenter,
# cluster, switch, N hosts with their addresses, 100 to a request) through
# the REST API, then:
#
#   manager-rss-per-host     the manager's RSS once every host was reached
#       and its figures collected (a collection interval later) less its RSS
#       with no host, over N
#   manager-api-*            GET of one host and PUT of it back (its version
#       read, its description changed), 10 of each a second for a window, by
#       one client on one kept-alive connection; every PUT is a change that
#       the manager pushes to every host: latency p50 and p99 of each
#   manager-propagation-*    from the POST of a portgroup to its arrival on
#       each simulated host (portgroup.add received), over every host of
#       several portgroups created one after another at a random phase
#   manager-hosts            the hosts the manager held within the goals
#
# Prints one JSON object per figure.   bench/manager.sh [--quick]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/tests/system/lib.sh"
. "$top/bench/lib.sh"
bench_begin

sizes=(1000 10000) window=60 rate=10 pgs=5
if [[ ${1:-} == --quick ]]; then sizes=(1000) window=20 pgs=3; fi
[[ -n ${MANAGER_SIZES:-} ]] && read -ra sizes <<<"$MANAGER_SIZES"
interval=20
bulk=${MANAGER_BULK:-100} # hosts per create request (1: one POST each)
MGR=$DSE_BUILD_DIR/daemons/manager/dse-manager
SIM=$DSE_BUILD_DIR/tools/hostsim/dse-hostsim
CLIENT=$top/bench/manager-client.py
P=$(lab_prefix lm)
ulimit -n "$(ulimit -Hn)" # a connection per host, on each side

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
listening() { ip netns exec "$1" ss -Hltn "sport = :$2" | grep -q .; }
# pct FILE Q: the Q-quantile (0..1) of FILE's numbers, or null.
qname() { [[ $1 == 0.5 ]] && echo p50 || echo "p${1#0.}"; }
pct() { grep -E '^[0-9]' "$1" | sort -g | awk -v p="$2" '{ a[NR] = $1 } END { i = int(p * NR + 0.999); if (i < 1) i = 1; print (NR ? a[i] : "null") }'; }

# One size: every figure's samples into $TMPB/*-N, details into $TMPB/detail-N.
run_size() {
	local n=$1 ns=$P-m$1 st=$TMPB/state-$1 rec=$TMPB/record-$1 mpid spid t0 t1 c0 c1 rss0 rssn
	ip netns add "$ns"
	TEST_CLEANUPS+=("ip netns del $ns")
	ip -n "$ns" link set lo up
	ip netns exec "$ns" "$MGR" --state-dir "$st" --listen 127.0.0.1:8443 --interval "$interval" \
		--log "$TMPB/manager-$n.log" --log-level "${MANAGER_LOG_LEVEL:-info}" &
	mpid=$!
	TEST_CLEANUPS+=("kill $mpid")
	wait_until 10 listening "$ns" 8443 || { echo "bench: the manager did not start" >&2; return 1; }
	local url=https://127.0.0.1:8443/api/v1 ca=$st/ca/ca.pem tok
	api() { ip netns exec "$ns" curl -sf --cacert "$ca" -H "Authorization: Bearer $tok" "$url/$1" ${2:+-d "$2"}; }
	tok=$(ip netns exec "$ns" curl -sf --cacert "$ca" "$url/login" \
		-d "{\"user\":\"admin\",\"password\":\"$(cat "$st/admin-password")\"}" | jq -r .token)
	api datacenters '{"name":"dc1","spec":{}}' >/dev/null
	api clusters '{"name":"c1","spec":{"datacenter":"dc1"}}' >/dev/null
	api switches '{"name":"s1","spec":{"datacenter":"dc1"}}' >/dev/null
	rss0=$(rss_kib "$mpid")
	"$SIM" --hosts "$n" --print-hosts >"$TMPB/hosts-$n"
	ip netns exec "$ns" "$SIM" --hosts "$n" --ca-dir "$st/ca" --record "$rec" --interval-s "$interval" \
		2>"$TMPB/sim-$n.log" &
	spid=$!
	TEST_CLEANUPS+=("kill $spid")
	wait_until 120 listening "$ns" 7443 || { echo "bench: dse-hostsim did not start" >&2; return 1; }
	client() { ip netns exec "$ns" python3 "$CLIENT" "https://127.0.0.1:8443" "$ca" "$tok" "$@"; }
	local create_ms
	create_ms=$(client create "$TMPB/hosts-$n" --bulk "$bulk")
	# Every host reached: the first portgroup on all of them (the first
	# connection to each host is a full TLS handshake).
	t0=$(now_ms)
	api portgroups '{"name":"s1/pg0","spec":{"vlan":10}}' >/dev/null
	local have=0 until=$((t0 + 900000))
	while (($(now_ms) < until)); do
		have=$(awk '$3 == "pg0"' "$rec" 2>/dev/null | wc -l)
		((have >= n)) && break
		sleep 1
	done
	t1=$(now_ms)
	echo "bench: $n hosts created in $create_ms ms, $have reached in $((t1 - t0)) ms" >&2
	((have >= n)) || { echo "bench: only $have of $n hosts got the first portgroup" >&2; return 1; }
	# A collection interval and a bit: every host's figures are in the fleet.
	sleep $((interval + 5))
	rssn=$(rss_kib "$mpid")
	local t_rssn
	t_rssn=$(now_ms)
	record "$TMPB/rss-$n" "$(awk -v a="$rssn" -v b="$rss0" -v n="$n" 'BEGIN { printf "%.2f", (a - b) / n }')"
	# The manager's CPU with nothing but the rounds: one interval.
	c0=$(cpu_ticks "$mpid") t0=$(now_ms)
	sleep "$interval"
	c1=$(cpu_ticks "$mpid") t1=$(now_ms)
	local idle_cpu
	idle_cpu=$(awk -v c=$((c1 - c0)) -v t=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", c / hz / (t / 1000) * 100 }')
	echo "bench: $n hosts: manager RSS $rss0 -> $rssn KiB, CPU $idle_cpu% of a core between changes" >&2
	client load "$TMPB/hosts-$n" "$window" "$rate" "$TMPB/api-$n"
	echo "bench: $n hosts: GET p50 $(pct "$TMPB/api-$n.get" 0.5) p99 $(pct "$TMPB/api-$n.get" 0.99) ms, PUT p50 $(pct "$TMPB/api-$n.put" 0.5) p99 $(pct "$TMPB/api-$n.put" 0.99) ms" >&2
	client propagate "$rec" "$n" "$pgs" "$TMPB/prop-$n"
	local rss_end sim_rss t_end
	rss_end=$(rss_kib "$mpid") sim_rss=$(rss_kib "$spid") t_end=$(now_ms)
	kill -TERM "$spid"
	wait "$spid" 2>/dev/null || true
	jq -nc --argjson n "$n" --argjson create "$create_ms" --argjson rss0 "$rss0" --argjson rssn "$rssn" \
		--argjson rss_end "$rss_end" --argjson cpu "$idle_cpu" --argjson sim_rss "$sim_rss" \
		--argjson rounds "$(((t_end - t_rssn) / (interval * 1000)))" \
		--argjson store "$(du -cb "$st"/store.db* | tail -n1 | cut -f1)" \
		--arg calls "$(sed -n 's/.*calls answered: //p' "$TMPB/sim-$n.log")" \
		--arg pg "$(cat "$TMPB/prop-$n.pg" 2>/dev/null)" \
		'{hosts: $n, dpus: (2 * $n), create_ms: $create, manager_rss_kib: {none: $rss0, hosts: $rssn, end: $rss_end},
		  rounds_after: $rounds, growth_kib_per_host_and_round: (if $rounds > 0 then (($rss_end - $rssn) / $n / $rounds * 100 | round) / 100 else null end),
		  manager_cpu_pct_between_changes: $cpu, store_mib: ($store / 1048576 | round), hostsim_rss_kib: $sim_rss, hostsim_calls: ($calls | fromjson? // null),
		  propagation_per_portgroup: ($pg | split("\n") | map(select(length > 0) | split(" ") | map(tonumber? // null)
		    | {p50_ms: .[0], p99_ms: .[1], hosts: .[2]}))}' >"$TMPB/detail-$n"
	kill "$mpid"
	wait "$mpid" 2>/dev/null || true
	ip netns del "$ns"
	# MANAGER_LOGS=DIR keeps the manager's and the simulator's logs.
	[[ -z ${MANAGER_LOGS:-} ]] || cp "$TMPB/manager-$n.log" "$TMPB/sim-$n.log" "$MANAGER_LOGS/"
}

for n in "${sizes[@]}"; do
	echo "bench: manager with $n hosts" >&2
	run_size "$n" || record "$TMPB/rss-$n" fail
done

# pfig ID WHAT FILE Q ANCHORS [DETAIL]: a figure that is the Q-quantile (0.5,
# 0.99) of FILE's samples (runs: their number), as alarm-latency's.
pfig() {
	local id=$1 what=$2 f=$3 q=$4 anchors=$5 st v
	st=$(stats "$f")
	v=$(pct "$f" "$q")
	jq -nc --arg id "$id" --arg what "$what" --argjson v "$v" --argjson st "$st" --arg q "$(qname "$q")" \
		--argjson anchors "$anchors" --argjson detail "${6:-null}" \
		'{id: $id, what: $what, unit: "ms", higher_is_better: false, runs: $st.runs, failed: $st.failed,
		  dse: $v, anchors: $anchors, statistic: $q, stats: {dse: $st}}
		 + (if $detail != null then {detail: $detail} else {} end)
		 + (if $st.runs == 0 then {error: "no sample"} else {} end)'
}
big=${sizes[-1]}
for n in "${sizes[@]}"; do
	sfx=-$((n / 1000))k
	[[ $n == "$big" ]] && sfx=
	detail=$(cat "$TMPB/detail-$n" 2>/dev/null || echo null)
	load="$n hosts of 2 DPUs (dse-hostsim), 20 s rounds, GET+PUT of a random host 10/s each, one kept-alive client"
	for op in get put; do
		OP=${op^^}
		anchors='{"k8s-slo-read-p99": 1000}'
		[[ $op == put ]] && anchors='{"k8s-slo-mutating-p99": 1000, "etcd-write-1-client": 1.6}'
		pfig "manager-api-$op-p50$sfx" "REST $OP of one host, p50, $load, $window s" "$TMPB/api-$n.$op" 0.5 "$anchors"
		pfig "manager-api-$op-p99$sfx" "REST $OP of one host, p99, $load, $window s" "$TMPB/api-$n.$op" 0.99 "$anchors"
	done
	cat "$TMPB/api-$n.get" "$TMPB/api-$n.put" >"$TMPB/api-$n.all" 2>/dev/null || true
	pfig "manager-api-p99$sfx" "REST GET and PUT of one host together, p99, $load, $window s" \
		"$TMPB/api-$n.all" 0.99 '{"k8s-slo-p99": 1000, "etcd-write-1-client": 1.6}' "$detail"
	for q in 0.5 0.99; do
		pfig "manager-propagation-$(qname "$q")$sfx" "portgroup created through the API to received by each simulated host, $(qname "$q") over $n hosts x $pgs portgroups, 20 s rounds" \
			"$TMPB/prop-$n" "$q" '{}' "$([[ $q == 0.99 ]] && echo "$detail" || echo null)"
	done
	ANCHORS=""
	cp "$TMPB/rss-$n" "$TMPB/dse.rss$sfx"
	figure "manager-rss-per-host$sfx" "manager RSS with $n hosts of 2 DPUs reached and their figures collected, less with none, per host" \
		KiB false ".rss$sfx" | jq -c --argjson d "$detail" '. + {detail: $d}'
done
# The hosts (and DPUs) the manager held at the goals (API p99 <= 50 ms,
# propagation p99 <= 1 s), against the published limits.
held=0
for n in "${sizes[@]}"; do
	a=$(pct "$TMPB/api-$n.all" 0.99) p=$(pct "$TMPB/prop-$n" 0.99)
	[[ $a != null && $p != null ]] && awk -v a="$a" -v p="$p" 'BEGIN { exit !(a <= 50 && p <= 1000) }' && held=$n
done
jq -nc --argjson n "$held" --arg sizes "${sizes[*]}" \
	'{id: "manager-hosts", what: "hosts of 2 DPUs one manager held on this machine within the goals (API p99 <= 50 ms, propagation p99 <= 1 s), of \($sizes | split(" ") | join(", ")) tried",
	  unit: "hosts", higher_is_better: true, runs: 1, failed: 0, dse: $n,
	  anchors: {"vcenter-max-hosts": 2500, "k8s-max-nodes": 5000}, stats: {dse: {runs: 1, failed: 0, min: $n, median: $n, max: $n}}}'
