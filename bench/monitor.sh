#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The monitoring figures (issue 5), on an idle lab server with one DPU:
#
#   monitor-cost-1s, monitor-cost-20s   what collection costs the DPU: the CPU
#       time of its cgroup (dpud, its workers, its NAPI threads) over a window
#       with collection every 1 s (20 s) less the same with collection off
#       (`dsectl monitor set --interval 0`: hostd still polls each DPU, which
#       is its liveness check), as % of one core; the sampler's own time per
#       collection (dse_dpu_collection_seconds) is in "detail"
#   alarm-latency-p50, -p99   from writing a temperature into the DPU's
#       emulated sensor to the webhook receiving the notification, at a 1 s
#       interval, an alarm with no for-time: the sensor is written hot, then
#       cool, alternately; each change is one latency
#
#   P-h1: dse-hostd --> webhook receiver (127.0.0.1, P-h1)
#     `-- monitor.sample, 5/s --> P-h1-dpu1: dse-dpud <- hwmon/temp1_input
#
# Prints one JSON object per figure.   bench/monitor.sh [--quick]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/tests/system/lib.sh"
. "$top/bench/lib.sh"
bench_begin

runs=3 window=30 changes=40
if [[ ${1:-} == --quick ]]; then runs=3 window=8 changes=12; fi

P=$(lab_prefix)
lab_up "$P" --hosts 1 --dpus 1 >/dev/null
ds() { dsectl_on "$P" h1 "$@"; }

# cpu_pct INTERVAL: the DPU cgroup's CPU over the window, % of one core.
cpu_pct() {
	ds monitor set --interval "$1" >/dev/null
	local a b t0 t1
	a=$(cg_cpu_ns "$P-h1-dpu1") t0=$(now_ms)
	# The window itself is what is measured: nothing to wait for.
	sleep "$window"
	b=$(cg_cpu_ns "$P-h1-dpu1") t1=$(now_ms)
	awk -v d=$((b - a)) -v t=$((t1 - t0)) 'BEGIN { printf "%.4f\n", d / (t * 1e6) * 100 }'
}

for ((i = 0; i < runs; i++)); do
	record "$TMPB/off" "$(cpu_pct 0)"
	record "$TMPB/1s" "$(cpu_pct 1)"
	record "$TMPB/sampler_us" "$(ds -j dpu stats --dpu dpu1 | jq '.[0].sample.metrics[] | select(.[0] == "dse_dpu_collection_seconds") | .[2] * 1e6')"
	record "$TMPB/20s" "$(cpu_pct 20)"
	# The cost of each interval: its window less the round's window with
	# collection off.
	for iv in 1s 20s; do
		record "$TMPB/dse.$iv" "$(awk -v a="$(tail -n1 "$TMPB/$iv")" -v b="$(tail -n1 "$TMPB/off")" \
			'BEGIN { if (a ~ /^-?[0-9]/ && b ~ /^-?[0-9]/) printf "%.4f", a - b; else print "fail" }')"
	done
	echo "bench: monitor round $((i + 1)): DPU CPU off $(tail -n1 "$TMPB/off")%, 1 s $(tail -n1 "$TMPB/1s")%, 20 s $(tail -n1 "$TMPB/20s")%" >&2
done
sampler=$(median "$TMPB/sampler_us")
ANCHORS=""
for iv in 1 20; do
	figure "monitor-cost-${iv}s" "collection cost on the DPU at a $iv s interval: its cgroup CPU less with collection off (the same round), idle lab, $window s windows" \
		"% of a core" false ".${iv}s" | jq -c --argjson on "$(stats "$TMPB/${iv}s")" --argjson off "$(stats "$TMPB/off")" \
		--argjson s "$sampler" '. + {detail: {dpu_cpu_pct: $on, dpu_cpu_pct_collection_off: $off, sampler_us_per_collection: $s}}'
done

# --- alarm latency -----------------------------------------------------------
cat >"$TMPB/receiver.py" <<'PYEOF'
import http.server, json, sys, time
out = open(sys.argv[1], "a", buffering=1)
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        t = time.time_ns() // 1000000
        n = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        out.write("%d %s %s\n" % (t, n.get("alarm"), n.get("state")))
        self.send_response(204)
        self.end_headers()
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1] + ".port", "w").write(str(s.server_port))
s.serve_forever()
PYEOF
ip netns exec "$P-h1" /usr/bin/python3 "$TMPB/receiver.py" "$TMPB/hooks" &
TEST_CLEANUPS+=("kill $!")
wait_until 5 test -s "$TMPB/hooks.port"
ds monitor set --interval 1 >/dev/null
ds alarm notify add --webhook "http://127.0.0.1:$(cat "$TMPB/hooks.port")/hook" >/dev/null
ds alarm def add --name bench-temp --metric dse_dpu_temperature_celsius --critical 70 >/dev/null
got() { (($(grep -c " bench-temp $1$" "$TMPB/hooks" 2>/dev/null || true) >= $2)); }
for ((k = 1; k <= changes; k++)); do
	if ((k % 2)); then v=90 want=red; else v=40 want=green; fi
	n=$(((k + 1) / 2))
	# A random phase against the 1 s collection, as a real sensor has (a
	# deliberate delay, not a wait for anything).
	sleep "0.$((RANDOM % 10))"
	t0=$(now_ms)
	"$DSE_LAB" sensor --prefix "$P" h1-dpu1 temp1 "$v"
	wait_until 10 got "$want" "$n" || { echo "bench: no $want notification" >&2; exit 1; }
	t1=$(grep " bench-temp $want$" "$TMPB/hooks" | sed -n "${n}p" | cut -d' ' -f1)
	record "$TMPB/latency" $((t1 - t0))
done
lab_down "$P" >/dev/null
pct() { grep -E '^[0-9]' "$TMPB/latency" | sort -n | awk -v p="$1" '{ a[NR] = $1 } END { i = int(p * NR + 0.999); if (i < 1) i = 1; print (NR ? a[i] : "null") }'; }
echo "bench: alarm latency ms over $changes changes: $(sort -n "$TMPB/latency" | tr '\n' ' ')" >&2
for q in 50 99; do
	jq -nc --arg id "alarm-latency-p$q" --argjson q "$q" --argjson v "$(pct "0.$q")" --argjson st "$(stats "$TMPB/latency")" \
		'{id: $id, what: "sensor change to webhook notification, 1 s collection interval, p\($q) of \($st.runs) changes",
		  unit: "ms", higher_is_better: false, runs: $st.runs, failed: $st.failed, dse: $v, anchors: {},
		  statistic: "p\($q)", stats: {dse: ($st + {median: $st.median})}}
		  + (if $st.runs == 0 then {error: "no change was notified"} else {} end)'
done
