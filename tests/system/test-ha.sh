#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Dual-DPU high availability (issue 6): an active-standby pair on h1 fails
# over on dpud killed, hung, in a crash loop and both cables cut, under a TCP connection
# between VMs on two hosts that must survive each; no failover to an
# unhealthy standby; a DPU cut off from hostd fences itself; manual failover
# and failback; automatic failback after a hold time; independent DPUs; a
# pair that is not identical is refused.
#
#                  fabric tor0
#     h1-vmnic0,1 /   h1-vmnic2,3 \          h2-vmnic0
#   [h1-dpu1]      [h1-dpu2]            [h2-dpu1]
#       rep-vm1      rep-vm1                rep-vm1
#         \ eth0   eth1 /                     |
#          h1-vm1 (VF mux)                 h2-vm1
#   P-h1: dse-hostd --heartbeats, 10 ms, mTLS--> both DPUs of h1
set -uo pipefail
. "$(dirname "$0")/lib.sh"
require_root
trap cleanup EXIT

P=$(lab_prefix) || exit 1
T=$(mktemp -d /tmp/dse-ha.XXXXXX)
TEST_TMPDIRS+=("$T")
lab_vms "$P" --hosts 2 --dpus 2 -- h1-vm1=198.18.10.11 h2-vm1=198.18.10.21 ||
	{ not_ok "lab with two VMs"; finish; exit 1; }
ds() { dsectl_on "$P" h1 "$@"; }
D=$DSE_LAB_DIR/$P

role_of() { ds -j dpu list | jq -r --arg d "$1" '.[] | select(.name == $d) | .ha.role'; }
active() { ds -j dpu list | jq -r '.[] | select(.ha.role == "active") | .name'; }
other() { [[ $1 == dpu1 ]] && echo dpu2 || echo dpu1; }
healthy() { [[ $(ds -j dpu list | jq -r --arg d "$1" '.[] | select(.name == $d) | .ha.healthy') == true ]]; }
both_healthy() { healthy dpu1 && healthy dpu2; }
dpud_ha() { "$DSECTL" -s "$D/h1-$1/run/dpud.sock" call dpu.info 2>/dev/null | jq -r ".ha.$2"; }
fenced() { [[ $(dpud_ha "$1" fenced) == true ]]; }
failovers() { ds call host.info | jq .ha.failovers; }
reaches() { ping_ok "$P-h1-vm1" 198.18.10.21; }

# --- a pair must be identical ---------------------------------------------
cp "$D/h1-dpu2/platform.json" "$T/platform.json"
jq '.firmware = "9.9.9"' "$T/platform.json" >"$D/h1-dpu2/platform.json"
stop_daemon "$P" h1-dpu2 dpud
lab_up "$P" --hosts 2 --dpus 2 >/dev/null
out=$(ds host dpu-mode active-standby 2>&1)
echo "# $out"
check "two DPUs that differ: refused in one line" \
	bash -c '[[ $(wc -l <<<"$1") == 1 ]] && grep -q "^dsectl: refused: the DPUs of a host must be identical: .*firmware" <<<"$1"' _ "$out"
cp "$T/platform.json" "$D/h1-dpu2/platform.json"
stop_daemon "$P" h1-dpu2 dpud
lab_up "$P" --hosts 2 --dpus 2 >/dev/null

# --- an active-standby pair -------------------------------------------------
# Heartbeats every 10 ms (failure after 30): this test is about what a
# failover does, and on two shared cores, under the sanitizer, a 2 ms beat
# (the default, whose gap bench/failover.sh measures) would see false failures.
check "dpu-mode active-standby" quiet ds host dpu-mode active-standby --heartbeat-ms 10
check_eq "... failure declared after 3 heartbeats" 30 "$(ds call host.info | jq .ha.failure_after_ms)"
check "both DPUs healthy" wait_until 10 both_healthy
check_eq "dpu list: dpu1 active" active "$(role_of dpu1)"
check_eq "dpu list: dpu2 standby" standby "$(role_of dpu2)"
check "host ha: the mode, the active DPU, the heartbeat" \
	grep -q "^DPUs active-standby, active dpu1, epoch [0-9]*, heartbeat every 10 ms (failed after 30 ms" <<<"$(ds host ha)"
check "the standby fences its vNIC ports" wait_until 5 fenced dpu2
check "the active does not" bash -c '[[ $1 == false ]]' _ "$(dpud_ha dpu1 fenced)"
check "VMs on two hosts reach each other" wait_until 5 reaches

# tcp_start / tcp_end NAME: a TCP stream h1-vm1 -> h2-vm1 (iperf3, 4 s,
# 20 Mbit/s), running for a second when tcp_start returns; tcp_end waits for
# it and checks that it ended without an error and still moved data in its
# last second, after the fault (a stalled path would leave it empty); how long
# the path was gone is a figure of bench/failover.sh, not a check here.
tcp_start() {
	"$DSE_LAB" exec --prefix "$P" h2-vm1 -- iperf3 -s -1 -p 5201 >/dev/null 2>&1 &
	TCP_SRV=$!
	wait_until 5 bash -c "ip netns exec $P-h2-vm1 ss -ltn | grep -q ':5201 '"
	"$DSE_LAB" exec --prefix "$P" h1-vm1 -- iperf3 -c 198.18.10.21 -p 5201 -t 4 -b 20M -J \
		>"$T/iperf.json" 2>/dev/null &
	TCP_CLI=$!
	wait_until 5 bash -c "ip netns exec $P-h1-vm1 ss -tn | grep -q ':5201 '"
	sleep 1 # traffic for a second before the fault: a deliberate delay, not a wait
}
tcp_end() {
	local name=$1 rc out
	wait "$TCP_CLI"
	rc=$?
	wait "$TCP_SRV" 2>/dev/null
	out=$(jq -c '{error, sent: .end.sum_sent.bytes, received: .end.sum_received.bytes, retransmits: .end.sum_sent.retransmits}' "$T/iperf.json")
	echo "# $name: iperf3 exit $rc, $out; $(ds call host.info | jq -r .ha.last_failover)"
	check "$name: the TCP connection survives (iperf3 ends without an error, data in its last second)" \
		bash -c '(( $1 == 0 )) && jq -e ".error == null and .intervals[-1].sum.bytes > 0" "$2" >/dev/null' _ "$rc" "$T/iperf.json"
}

# tcp_across NAME FAULT RESTORE: the TCP stream across FAULT, run on the
# active DPU 1 s in; the other DPU must then be active; RESTORE brings the
# failed one back, as a healthy standby.
tcp_across() {
	local name=$1 fault=$2 restore=$3 was n0
	was=$(active) n0=$(failovers)
	tcp_start
	"$fault" "$was"
	tcp_end "$name on $was"
	check_eq "$name: the other DPU is active" "$(other "$was")" "$(active)"
	check "$name: one failover more" test "$(failovers)" -eq $((n0 + 1))
	"$restore" "$was"
	check "$name: the failed DPU back, a healthy standby" wait_until 15 both_healthy
	check "$name: ... and fenced" wait_until 5 fenced "$was" ||
		grep -h "failover\|heartbeat\|fence\|role" "$D"/h1*/log/*.log | tail -n 30 | sed 's/^/# /'
}
kill_dpud() { stop_daemon "$P" "h1-$1" dpud KILL; }
restart_dpud() { lab_up "$P" --hosts 2 --dpus 2 >/dev/null; }
hang_dpud() { kill -STOP "$(daemon_pid "$P" "h1-$1" dpud)"; }
resume_dpud() { kill -CONT "$(daemon_pid "$P" "h1-$1" dpud)"; }
# A crash loop: killed, restarted (as a supervisor would), killed again.
crash_loop() {
	local i
	for i in 1 2 3; do
		kill_dpud "$1"
		((i < 3)) && restart_dpud
	done
}
nics_of() { local m=${1#dpu}; echo "h1-vmnic$((2 * m - 2)) h1-vmnic$((2 * m - 1))"; }
cut_cables() { local c; for c in $(nics_of "$1"); do ip -n "$P-fab" link set "$c" down; done; }
mend_cables() { local c; for c in $(nics_of "$1"); do ip -n "$P-fab" link set "$c" up; done; }

tcp_across "dpud killed" kill_dpud restart_dpud
tcp_across "dpud hung (SIGSTOP)" hang_dpud resume_dpud
tcp_across "both cables cut" cut_cables mend_cables
tcp_across "dpud in a crash loop" crash_loop restart_dpud
check "the failover is an event" \
	quiet jq -e -s 'map(select(.type == "dpu.failover")) | length >= 4' <<<"$(ds -j event list --type dpu.failover -n 50)"
check "... and raises the dpu-failover alarm" \
	quiet jq -e 'map(select(.def == "dpu-failover" and .state == "yellow")) | length >= 1' <<<"$(ds -j alarm list)"
metrics=$(ds host metrics)
check "Prometheus: the failovers" \
	grep -q "^dse_host_dpu_failovers_total{host=\"$P-h1\"} $(failovers)$" <<<"$metrics"
check "Prometheus: each DPU's role and health" \
	bash -c 'grep -q "^dse_dpu_ha_role{host=\"$2-h1\",dpu=\"$3\",role=\"active\"} 1$" <<<"$1" &&
		grep -q "^dse_dpu_ha_role{host=\"$2-h1\",dpu=\"$4\",role=\"standby\"} 1$" <<<"$1" &&
		[[ $(grep -c "^dse_dpu_ha_healthy{.*} 1$" <<<"$1") == 2 ]]' _ "$metrics" "$P" "$(active)" "$(other "$(active)")"

# --- no failover to an unhealthy standby -----------------------------------
a=$(active) s=$(other "$(active)")
stop_daemon "$P" "h1-$s" dpud KILL
unhealthy() { ! healthy "$1"; }
check "the standby's death is seen" wait_until 5 unhealthy "$s"
n0=$(failovers)
stop_daemon "$P" "h1-$a" dpud KILL
why() { ds call host.info | jq -r '.ha.no_failover // empty'; }
has_why() { [[ -n $(why) ]]; }
check "the active's death: no failover to the dead standby" wait_until 5 has_why
echo "# $(why)"
check "... the state says why" grep -q "no failover to $s .*: connection" <<<"$(why)"
check_eq "... the failovers did not change" "$n0" "$(failovers)"
check_eq "... $a is still the active one" "$a" "$(active)"
restart_dpud
check "both back" wait_until 15 both_healthy
check "traffic again through $a" wait_until 10 reaches

# --- split brain: the active cut off from hostd, its data plane alive -------
a=$(active) s=$(other "$(active)")
ip netns exec "$P-h1-vm1" ping -q -i 0.005 -c 1000 198.18.10.21 >"$T/ping" 2>&1 &
pinger=$!
sleep 1 # traffic first: a deliberate delay
m=${a#dpu}
ip -n "$P-h1" link set "int-dpu$m" down
active_is() { [[ $(active) == "$1" ]]; }
check "internal network to $a cut: $s takes over" wait_until 5 active_is "$s"
check "$a, alone, fences itself" wait_until 5 fenced "$a"
rep_tx() { "$DSECTL" -s "$D/h1-$1/run/dpud.sock" call port.list | jq '.[] | select(.name == "rep-vm1") | .tx_packets'; }
t0=$(rep_tx "$a") u0=$(rep_tx "$s")
wait "$pinger"
t1=$(rep_tx "$a") u1=$(rep_tx "$s")
echo "# $(tail -2 "$T/ping" | head -1); rep-vm1 sent the VM $t0 -> $t1 frames on $a, $u0 -> $u1 on $s meanwhile"
check "the VM's traffic went on through $s (its rep-vm1 sent the VM frames)" test "$u1" -gt "$u0"
check "... and the VM still reaches h2-vm1" wait_until 5 reaches
check "$a sent the VM nothing once fenced" test "$t0" = "$t1"
ip -n "$P-h1" link set "int-dpu$m" up
check "$a back: a healthy standby" wait_until 10 both_healthy
check_eq "... still standby" standby "$(role_of "$a")"

# --- manual failover and failback ---------------------------------------------
# How long the path is gone is a figure of bench/failover.sh; here: a TCP
# stream across both loses nothing.
a=$(active) s=$(other "$(active)")
tcp_start
check "dpu failover --to $s" quiet ds dpu failover --to "$s"
check_eq "$s active" active "$(role_of "$s")"
check "dpu failover --to $a (failback)" quiet ds dpu failover --to "$a"
check_eq "$a active again" active "$(role_of "$a")"
tcp_end "manual failover and failback"
out=$(ds dpu failover --to "$a" 2>&1)
check "failover to the active one: refused" grep -q "active already" <<<"$out"
out=$(ds dpu failover --to dpu9 2>&1)
check "failover to no DPU: refused" grep -q "no DPU dpu9" <<<"$out"

# --- automatic failback ----------------------------------------------------------
# The failback by hand above made $a the operator's choice: automatic failback
# returns the VMs to it once it has been healthy for the hold time.
a=$(active) s=$(other "$(active)")
check_eq "the preferred DPU is the one chosen last" "$a" "$(ds call host.info | jq -r .ha.preferred)"
check "host ha: failback by hand (the default)" grep -q "^failback: by hand" <<<"$(ds host ha)"
check "dpu-mode active-standby --auto-failback-s 1" quiet ds host dpu-mode active-standby --auto-failback-s 1
check "host ha: failback automatic" \
	grep -q "^failback: automatic, to $a once it has been healthy for 1 s" <<<"$(ds host ha)"
n0=$(failovers)
kill_dpud "$a"
check "$a killed: $s takes over" wait_until 5 active_is "$s"
restart_dpud
check "$a back and healthy for 1 s: the VMs go back to it by themselves" wait_until 15 active_is "$a"
check "... through an automatic failback" \
	grep -q "^$s -> $a (automatic failback)" <<<"$(ds call host.info | jq -r .ha.last_failover)"
check_eq "... two failovers, no more" $((n0 + 2)) "$(failovers)"
check "traffic through $a again" wait_until 10 reaches
out=$(ds host dpu-mode active-standby --auto-failback-s 4000 2>&1)
check "a hold time out of range: refused in one line" \
	bash -c '[[ $(wc -l <<<"$1") == 1 ]] && grep -q "auto_failback_s.* 0..3600" <<<"$1"' _ "$out"
check "failback by hand again" quiet ds host dpu-mode active-standby --auto-failback-s 0

# --- independent DPUs -----------------------------------------------------------
check "dpu-mode independent" quiet ds host dpu-mode independent
unfenced() { [[ $(dpud_ha dpu1 fenced) == false && $(dpud_ha dpu2 fenced) == false ]]; }
check "no role, no fencing" wait_until 5 unfenced
check_eq "independent DPUs: a heartbeat every 100 ms, health only" 100 "$(ds call host.info | jq .ha.heartbeat_ms)"
check "a VM on dpu2" quiet ds vm add vm2 --portgroup pg-a --ip 198.18.10.12/24 --dpu dpu2
check "it reaches h2-vm1 through dpu2" wait_until 10 ping_ok "$P-h1-vm2" 198.18.10.21
check "h1-vm1 still through dpu1" wait_until 5 reaches
n0=$(failovers)
stop_daemon "$P" h1-dpu2 dpud KILL
sleep 1 # far more than a failover would take: a deliberate delay
check_eq "dpud of dpu2 killed: no failover" "$n0" "$(failovers)"
check "h1-vm1 unaffected" reaches
restart_dpud
out=$(ds host dpu-mode sideways 2>&1)
check "dpu-mode refuses nonsense in one line" grep -q "active-standby or independent" <<<"$out"
finish
