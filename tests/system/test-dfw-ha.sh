#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The firewall's connections survive a DPU failover (issue 14, point 3):
# a default-deny policy on both hosts that allows only h1-vm1 -> h2-vm1 TCP
# 5201 (iperf3: its control and data connections), and a TCP stream that
# keeps running through a kill, a hang and a cable cut of h1's active DPU,
# because hostd carries the active's connection table to the standby every
# 500 ms (dfw.conn.export -> dfw.conn.import).  Without the sync (turned off
# by hand once) the same failover kills the stream: its next segment is
# ct_invalid on the new active.  The standby's connection count follows the
# active's.
#
#                  fabric tor0
#     h1-vmnic0,1 /   h1-vmnic2,3 \          h2-vmnic0
#   [h1-dpu1]      [h1-dpu2]            [h2-dpu1]  firewall: the same policy
#       rep-vm1      rep-vm1                rep-vm1
#         \ eth0   eth1 /                     |
#          h1-vm1 (VF mux)                 h2-vm1
#   P-h1: dse-hostd --heartbeats, 10 ms--> both DPUs of h1
#                   --dfw sync, 500 ms: active -> standby
set -uo pipefail
. "$(dirname "$0")/lib.sh"
require_root
trap cleanup EXIT

P=$(lab_prefix lw) || exit 1
T=$(mktemp -d /tmp/dse-dfwha.XXXXXX)
TEST_TMPDIRS+=("$T")
lab_vms "$P" --hosts 2 --dpus 2 -- h1-vm1=198.18.10.11 h2-vm1=198.18.10.21 ||
	{ not_ok "lab with two VMs"; finish; exit 1; }
ds() { dsectl_on "$P" h1 "$@"; }
ds2() { dsectl_on "$P" h2 "$@"; }
D=$DSE_LAB_DIR/$P

active() { ds -j dpu list | jq -r '.[] | select(.ha.role == "active") | .name'; }
other() { [[ $1 == dpu1 ]] && echo dpu2 || echo dpu1; }
healthy() { [[ $(ds -j dpu list | jq -r --arg d "$1" '.[] | select(.name == $d) | .ha.healthy') == true ]]; }
both_healthy() { healthy dpu1 && healthy dpu2; }
failovers() { ds call host.info | jq .ha.failovers; }
stats() { ds -j dfw stats; }
sync_is() { [[ $(stats | jq -r .sync.state) == "$1" ]]; }
conns_on() { stats | jq -r --arg d "$1" '.dpus[$d].conns // -1'; }
enabled_on() { [[ $("$1" -j dfw stats | jq -r --arg d "$2" '.dpus[$d].enabled') == true ]]; }
# The standby holds what the active holds (at least 'min' connections).
standby_follows() {
	local a s n
	a=$(active) s=$(other "$a") n=$(conns_on "$a")
	((n >= ${1:-0})) && [[ $(conns_on "$s") == "$n" ]]
}
invalid_on() { stats | jq -r --arg d "$1" '.dpus[$d].drops.ct_invalid'; }

check "dpu-mode active-standby (heartbeat 10 ms)" quiet ds host dpu-mode active-standby --heartbeat-ms 10
check "both DPUs healthy" wait_until 15 both_healthy

# --- default deny: only h1-vm1 -> h2-vm1 TCP 5201, on both hosts ---------
jq -n '{
  default: "drop",
  groups: [{name: "client", cidrs: ["198.18.10.11/32"]}, {name: "server", cidrs: ["198.18.10.21/32"]}],
  services: [{name: "iperf", entries: [{proto: "tcp", ports: ["5201"]}]}],
  rules: [{name: "ha/iperf", src: ["client"], dst: ["server"], services: ["iperf"], action: "allow"}]}' >"$T/policy.json"
check "h1: the policy set" quiet ds dfw set "$T/policy.json"
check "h2: the same policy" quiet ds2 dfw set "$T/policy.json"
h1_enabled() { enabled_on ds dpu1 && enabled_on ds dpu2; }
check "h1's DPUs run it" wait_until 10 h1_enabled
check "h2's DPU runs it" wait_until 10 enabled_on ds2 dpu1
no_ping() { ! ping_ok "$P-h1-vm1" 198.18.10.21; }
check "default deny: h1-vm1 cannot ping h2-vm1" no_ping
check "the sync runs (both DPUs a healthy pair)" wait_until 10 sync_is syncing
out=$(ds dfw stats)
echo "$out" | grep "^sync" | sed 's/^/# /'
check "dsectl dfw stats: the sync, per DPU the connections" \
	bash -c 'grep -q "^sync dpu[12] -> dpu[12] every 500 ms: last [0-9]* ms ago" <<<"$1" &&
		[[ $(grep -c "^dpu[12]: policy .* of 65536 connections" <<<"$1") == 2 ]]' _ "$out"

# tcp_start / tcp_end NAME: an iperf3 stream h1-vm1 -> h2-vm1 (4 s, 20
# Mbit/s) running for a second when tcp_start returns; tcp_end waits (a
# stream the firewall cut would hang: 15 s at most) and tells whether it
# ended without an error and moved data in its last second.
tcp_start() {
	"$DSE_LAB" exec --prefix "$P" h2-vm1 -- timeout 20 iperf3 -s -1 -p 5201 >/dev/null 2>&1 &
	TCP_SRV=$!
	wait_until 5 bash -c "ip netns exec $P-h2-vm1 ss -ltn | grep -q ':5201 '"
	"$DSE_LAB" exec --prefix "$P" h1-vm1 -- timeout 15 iperf3 -c 198.18.10.21 -p 5201 -t 4 -b 20M -J \
		>"$T/iperf.json" 2>/dev/null &
	TCP_CLI=$!
	wait_until 5 bash -c "ip netns exec $P-h1-vm1 ss -tn | grep -q ':5201 '"
	sleep 1 # traffic for a second before the fault: a deliberate delay, not a wait
}
tcp_end() {
	local rc
	wait "$TCP_CLI"
	rc=$?
	kill "$TCP_SRV" 2>/dev/null
	wait "$TCP_SRV" 2>/dev/null
	echo "# $1: iperf3 exit $rc, $(jq -c '{error, sent: .end.sum_sent.bytes, retransmits: .end.sum_sent.retransmits}' "$T/iperf.json" 2>/dev/null); $(ds call host.info | jq -r .ha.last_failover)"
	(( rc == 0 )) && jq -e '.error == null and .intervals[-1].sum.bytes > 0' "$T/iperf.json" >/dev/null 2>&1
}

kill_dpud() { stop_daemon "$P" "h1-$1" dpud KILL; }
restart_dpud() { lab_up "$P" --hosts 2 --dpus 2 >/dev/null; }
hang_dpud() { kill -STOP "$(daemon_pid "$P" "h1-$1" dpud)"; }
resume_dpud() { kill -CONT "$(daemon_pid "$P" "h1-$1" dpud)"; }
nics_of() { local m=${1#dpu}; echo "h1-vmnic$((2 * m - 2)) h1-vmnic$((2 * m - 1))"; }
cut_cables() { local c; for c in $(nics_of "$1"); do ip -n "$P-fab" link set "$c" down; done; }
mend_cables() { local c; for c in $(nics_of "$1"); do ip -n "$P-fab" link set "$c" up; done; }

# tcp_across NAME FAULT RESTORE: the stream across FAULT on the active DPU,
# once the standby holds its connections; then RESTORE, and the failed DPU
# is a standby that holds the new active's table again (a full sync).
tcp_across() {
	local name=$1 fault=$2 restore=$3 was n0
	was=$(active) n0=$(failovers)
	tcp_start
	check "$name: the standby holds the stream's connections (as many as the active)" \
		wait_until 5 standby_follows 2
	"$fault" "$was"
	check "$name: the TCP stream through the firewall survives the failover" tcp_end "$name on $was"
	check "$name: one failover more" test "$(failovers)" -eq $((n0 + 1))
	"$restore" "$was"
	check "$name: the failed DPU back, a healthy standby" wait_until 20 both_healthy
	check "$name: ... synced again: it holds what the active holds" wait_until 15 synced_again
}
synced_again() { sync_is syncing && standby_follows 2; }
tcp_across "dpud killed" kill_dpud restart_dpud
tcp_across "dpud hung (SIGSTOP)" hang_dpud resume_dpud
tcp_across "both cables cut" cut_cables mend_cables
out=$(stats | jq -c .sync)
echo "# sync: $out"
grep -h "dfwsync" "$D"/h1/log/*.log | tail -n 8 | sed 's/^/# /'
check "a full sync when the pair formed and after each failover" test "$(jq .full_syncs <<<"$out")" -ge 4

# --- without the sync, the same failover kills the stream ------------------
check "the sync turned off (--dfw-sync-ms 0)" quiet ds host dpu-mode active-standby --dfw-sync-ms 0
check "... it says so" wait_until 5 sync_is off
a=$(active) s=$(other "$a")
inv0=$(invalid_on "$s")
tcp_start
kill_dpud "$a"
if tcp_end "no sync, dpud killed on $a"; then
	not_ok "without the sync, the stream dies at the failover"
else
	ok "without the sync, the stream dies at the failover"
fi
check "... its segments were ct_invalid on $s" test "$(invalid_on "$s")" -gt "$inv0"
restart_dpud
check "both back" wait_until 20 both_healthy
check "the sync on again (--dfw-sync-ms 500)" quiet ds host dpu-mode active-standby --dfw-sync-ms 500
check "... syncing" wait_until 10 sync_is syncing
tcp_start
check "a stream again, its connections on the standby" wait_until 5 standby_follows 2
kill_dpud "$(active)"
check "... and it survives the failover" tcp_end "sync on again"
restart_dpud
check "both back at the end" wait_until 20 both_healthy
finish
