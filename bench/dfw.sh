#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The distributed firewall (docs/dfw.md) against the stateful firewalls a
# user would otherwise pick, side by side in one run, one DPU core, the same
# policy translated for each:
#
#   h1-vm1 (web) --rep-vm1-- [h1-dpu1: SWITCH + FIREWALL] --rep-vm2-- h1-vm2 (db)
#
#   the policy: 1,000 rules, default deny: 999 that never match (TCP to
#   another port from another address each) before the one that allows web
#   to db (the generator's UDP port, TCP 5201, 5202), and ping
#
#   dse              dse's firewall on: established connections in the eswitch
#   dse-no-firewall  the same switch with the firewall off (the goal's base)
#   nftables-bridge  a Linux bridge with bridge netfilter into nftables' inet
#                    forward chain: `ct state established,related accept`
#                    first, then the rules (the NF_CONNTRACK_BRIDGE that the
#                    bridge family would need is not in this kernel)
#   ovs-netdev-ct    Open vSwitch's userspace datapath with its conntrack:
#                    ct(table=1) then +est accepted, +new by the rules, commit
#
# Figures:
#   dfw-established-64b   Mpps of one established UDP flow, 66 B (dse-pktgen)
#   dfw-established-64b-tcp  Mpps of one established TCP connection's ACK
#                         segments, 78 B (dse-pktgen --tcp: the connection
#                         opened by the VMs' kernels first; every firewall in
#                         its liberal TCP mode, since the generator's sequence
#                         numbers are not the connection's: dse tcp_liberal,
#                         nf_conntrack_tcp_be_liberal, OVS tcp-seq-chk off)
#   dfw-established-tcp   Gbit/s of one established TCP stream (iperf3)
#   dfw-cps               new TCP connections a second (dse-cps, 64 at once)
#   dfw-rules-10k-apply   ms to put 10,000 rules in force (dse: dsectl dfw set,
#                         which returns once the DPU runs them: the CLI, hostd,
#                         the DPU's check, hostd's config on disk, the push;
#                         nftables: nft -f; OVS: ovs-ofctl add-flows)
#   dfw-conn-bytes        memory per tracked connection, from 20,000 UDP flows
#                         (dse: dpud's RSS; nftables: the nf_conntrack slab's
#                         object; OVS: ovs-vswitchd's RSS)
#
# Prints one JSON object per figure.   bench/dfw.sh [--quick]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/tests/system/lib.sh"
. "$top/bench/lib.sh"
bench_begin

runs=5 secs=3
if [[ ${1:-} == --quick ]]; then runs=1 secs=1; fi
PKTGEN=$DSE_BUILD_DIR/tools/pktgen/dse-pktgen
CPS=$DSE_BUILD_DIR/tools/cps/dse-cps
[[ -x $PKTGEN && -x $CPS ]] || { echo "bench: $PKTGEN or $CPS not built" >&2; exit 1; }
DPORT=$(sed -n 's/^#define PKTGEN_DPORT \([0-9]*\).*/\1/p' "$top/tools/pktgen/pktgen.h")
SPORT=$(sed -n 's/^#define PKTGEN_SPORT_BASE \([0-9]*\).*/\1/p' "$top/tools/pktgen/pktgen.h")
A1=198.18.10.11 A2=198.18.10.12 FLOWS=20000

P=$(lab_prefix lb)
lab_vms "$P" --hosts 1 -- h1-vm1=$A1 h1-vm2=$A2
M1=$(vm_mac "$P" h1-vm1) M2=$(vm_mac "$P" h1-vm2)
DNS=$P-h1-dpu1
D() { dsectl_on "$P" h1 "$@"; }

# ---- the policy, in each one's words ----

# dse_policy N FILE: N rules (N-1 that never match, then the allows).
dse_policy() {
	jq -n --argjson n "$1" --arg m1 "$M1" --arg m2 "$M2" --argjson dport "$DPORT" '{
	  default: "drop", tcp_liberal: true,
	  groups: ([{name: "web", macs: [$m1]}, {name: "db", macs: [$m2]}] +
	           [range($n - 1) | {name: "g\(.)", cidrs: ["198.18.\(200 + (. / 250 | floor)).\(. % 250)/32"]}]),
	  services: ([{name: "app", entries: [{proto: "udp", ports: ["\($dport)"]}, {proto: "tcp", ports: ["\($dport)", "5201", "5202"]}]},
	              {name: "ping", entries: [{proto: "icmp", type: 8}]}] +
	             [range($n - 1) | {name: "s\(.)", entries: [{proto: "tcp", ports: ["\(20000 + .)"]}]}]),
	  rules: ([range($n - 1) | {name: "never/\(.)", src: ["g\(.)"], services: ["s\(.)"], action: "allow"}] +
	          [{name: "app/web-db", src: ["web"], dst: ["db"], services: ["app"], action: "allow"},
	           {name: "app/ping", services: ["ping"], action: "allow"}])}' >"$2"
}
nft_policy() { # N FILE
	{
		echo "flush ruleset"
		echo "table inet dfw {"
		echo " chain dfw_forward {"
		echo "  type filter hook forward priority 0; policy drop;"
		echo "  ct state established,related accept"
		echo "  ct state invalid drop"
		for ((i = 0; i < $1 - 1; i++)); do
			echo "  ip saddr 198.18.$((200 + i / 250)).$((i % 250)) tcp dport $((20000 + i)) accept"
		done
		echo "  ip saddr $A1 ip daddr $A2 udp dport $DPORT accept"
		echo "  ip saddr $A1 ip daddr $A2 tcp dport { $DPORT, 5201, 5202 } accept"
		echo "  icmp type echo-request accept"
		echo " }"
		echo "}"
	} >"$2"
}
ovs_policy() { # N FILE
	{
		echo "table=0,priority=100,ip,actions=ct(table=1,zone=1)"
		echo "table=0,priority=10,arp,actions=NORMAL"
		echo "table=0,priority=0,actions=drop"
		echo "table=1,priority=200,ct_state=+trk+est,ip,actions=NORMAL"
		echo "table=1,priority=200,ct_state=+trk+rel,ip,actions=NORMAL"
		for ((i = 0; i < $1 - 1; i++)); do
			echo "table=1,priority=100,ct_state=+trk+new,tcp,nw_src=198.18.$((200 + i / 250)).$((i % 250)),tp_dst=$((20000 + i)),actions=ct(commit,zone=1),NORMAL"
		done
		echo "table=1,priority=100,ct_state=+trk+new,udp,nw_src=$A1,nw_dst=$A2,tp_dst=$DPORT,actions=ct(commit,zone=1),NORMAL"
		for p in $DPORT 5201 5202; do
			echo "table=1,priority=100,ct_state=+trk+new,tcp,nw_src=$A1,nw_dst=$A2,tp_dst=$p,actions=ct(commit,zone=1),NORMAL"
		done
		echo "table=1,priority=100,ct_state=+trk+new,icmp,actions=ct(commit,zone=1),NORMAL"
		echo "table=1,priority=0,actions=drop"
	} >"$2"
}
dse_policy 1000 "$TMPB/dse-1k.json"
dse_policy 10000 "$TMPB/dse-10k.json"
nft_policy 1000 "$TMPB/nft-1k.nft"
nft_policy 10000 "$TMPB/nft-10k.nft"
ovs_policy 1000 "$TMPB/ovs-1k.flows"
ovs_policy 10000 "$TMPB/ovs-10k.flows"

# ---- one measurement of each kind ----

# reply: the generator's flow answered once from db, so that every firewall
# holds it as established (UDP is established by its first reply).
reply() {
	ip netns exec "$P-h1-vm2" /usr/bin/python3 -c "
from scapy.all import Ether, IP, UDP, sendp
sendp(Ether(src='$M2', dst='$M1') / IP(src='$A2', dst='$A1') / UDP(sport=$DPORT, dport=$SPORT), iface='eth0', verbose=False)"
}
udp_mpps() { # one generator run of one UDP flow, established; prints Mpps
	local out=$TMPB/rx.json
	ip netns exec "$P-h1-vm1" ping -c 2 -i 0.2 -W 1 $A2 >/dev/null 2>&1 || true
	"$DSE_LAB" exec --prefix "$P" h1-vm1 -- "$PKTGEN" tx --dev eth0 --src-mac "$M1" --dst-mac "$M2" \
		--src-ip $A1 --dst-ip $A2 --count 1 -j >/dev/null 2>&1 || true
	reply
	ip netns exec "$P-h1-vm2" "$PKTGEN" rx --dev eth0 --duration $((secs + 3)) -j >"$out" 2>/dev/null &
	local rpid=$!
	wait_until 5 bash -c "ip -n $P-h1-vm2 link show dev eth0 | grep -q xdp"
	"$DSE_LAB" exec --prefix "$P" h1-vm1 -- "$PKTGEN" tx --dev eth0 --src-mac "$M1" --dst-mac "$M2" \
		--src-ip $A1 --dst-ip $A2 --size 66 --rate max --duration "$secs" \
		--generator "${PKTGEN_GENERATOR:-auto}" -j >"$TMPB/tx.json" 2>/dev/null
	pktgen_record "$TMPB/tx.json"
	wait "$rpid" || true
	jq '.rx_pps / 1e6' "$out" 2>/dev/null
}
tcp_mpps() { # ACK segments of one established connection web:SPORT -> db:DPORT; Mpps
	local out=$TMPB/rx.json
	ip netns exec "$P-h1-vm2" /usr/bin/python3 -c "
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('$A2', $DPORT)); s.listen(1); c, _ = s.accept(); time.sleep(60)" &
	local lpid=$!
	wait_until 5 bash -c "ip netns exec $P-h1-vm2 ss -ltn | grep -q ':$DPORT '"
	ip netns exec "$P-h1-vm1" /usr/bin/python3 -c "
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('$A1', $SPORT)); s.connect(('$A2', $DPORT)); time.sleep(60)" &
	local cpid=$!
	wait_until 5 bash -c "ip netns exec $P-h1-vm1 ss -tn state established | grep -q ':$DPORT'"
	ip netns exec "$P-h1-vm2" "$PKTGEN" rx --dev eth0 --duration $((secs + 3)) -j >"$out" 2>/dev/null &
	local rpid=$!
	wait_until 5 bash -c "ip -n $P-h1-vm2 link show dev eth0 | grep -q xdp"
	"$DSE_LAB" exec --prefix "$P" h1-vm1 -- "$PKTGEN" tx --dev eth0 --src-mac "$M1" --dst-mac "$M2" \
		--src-ip $A1 --dst-ip $A2 --tcp --rate max --duration "$secs" \
		--generator "${PKTGEN_GENERATOR:-auto}" -j >"$TMPB/tx.json" 2>/dev/null
	pktgen_record "$TMPB/tx.json"
	wait "$rpid" || true
	kill "$lpid" "$cpid" 2>/dev/null || true
	wait "$lpid" "$cpid" 2>/dev/null || true
	jq '.rx_pps / 1e6' "$out" 2>/dev/null
}
tcp_gbps() { # one iperf3 stream web -> db:5201
	ip netns exec "$P-h1-vm2" iperf3 -s -1 -p 5201 >/dev/null 2>&1 &
	local spid=$!
	wait_until 5 bash -c "ip netns exec $P-h1-vm2 ss -ltn | grep -q :5201"
	ip netns exec "$P-h1-vm1" iperf3 -c $A2 -p 5201 -t "$secs" -J 2>/dev/null |
		jq '.end.sum_received.bits_per_second / 1e9 * 1000 | round / 1000' 2>/dev/null || true
	kill "$spid" 2>/dev/null || true
	wait "$spid" 2>/dev/null || true
}
cps() { # dse-cps web -> db:5202
	ip netns exec "$P-h1-vm2" "$CPS" server 5202 &
	local spid=$!
	wait_until 5 bash -c "ip netns exec $P-h1-vm2 ss -ltn | grep -q :5202"
	ip netns exec "$P-h1-vm1" "$CPS" client $A2 5202 --duration "$secs" --concurrency 64 | jq .cps 2>/dev/null || true
	kill "$spid" 2>/dev/null || true
	wait "$spid" 2>/dev/null || true
}
ms_of() { local t0; t0=$(now_ms); "$@" >/dev/null 2>&1 || { echo fail; return; }; echo $(($(now_ms) - t0)); }
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
flows() { # FLOWS UDP flows web -> db, one packet each, at a rate every switch keeps
	"$DSE_LAB" exec --prefix "$P" h1-vm1 -- "$PKTGEN" tx --dev eth0 --src-mac "$M1" --dst-mac "$M2" \
		--src-ip $A1 --dst-ip $A2 --flows $FLOWS --count $FLOWS --rate 20000 -j >/dev/null 2>&1 || true
}
# bytes_per_conn PID: the RSS a process grew by for FLOWS connections.
bytes_per_conn() {
	local pid=$1 r0 r1
	r0=$(rss_kb "$pid")
	flows
	r1=$(rss_kb "$pid")
	[[ -n $r0 && -n $r1 ]] && echo $(((r1 - r0) * 1024 / FLOWS)) || echo fail
}

measure_all() { # NAME: every figure of the variant in place
	record "$TMPB/$1" "$(udp_mpps)"
	record "$TMPB/$1.tcp64" "$(tcp_mpps)"
	record "$TMPB/$1.tcp" "$(tcp_gbps)"
	record "$TMPB/$1.cps" "$(cps)"
}

dse_up() { # [DPUD-ARGS]
	stop_daemon "$P" h1-dpu1 dpud
	DSE_DPUD_ARGS=${1:-} "$DSE_LAB" up --prefix "$P" --hosts 1 --dpus 1 --bin-dir "$DSE_BUILD_DIR" >/dev/null
	wait_until 15 ping_ok "$P-h1-vm1" $A2
}
in_force() { [[ $(D -j dfw stats | jq -r .dpus.dpu1.digest) == "$1" ]]; }
dse_apply() { # FILE: dsectl dfw set, which returns once hostd pushed it to the
	# DPU and the DPU put it in force; prints ms (fail if the DPU does not run it)
	local t0 t1 dg
	t0=$(now_ms)
	dg=$(D -j dfw set "$1" | jq -r .digest) || { echo fail; return; }
	t1=$(now_ms)
	in_force "$dg" && echo $((t1 - t0)) || echo fail
}

ofctl() { ovs-ofctl "$@"; }
ovs_begin
have_nft=0
command -v nft >/dev/null && have_nft=1
((have_nft)) || echo "bench: nftables not installed (scripts/install-deps --bench): no nftables anchor" >&2

for ((round = 0; round < runs; round++)); do
	dse_up
	D dfw off >/dev/null
	measure_all dse-no-firewall
	record "$TMPB/dse.apply" "$(dse_apply "$TMPB/dse-10k.json")"
	record "$TMPB/dse.applydpu" "$(D -j dfw stats | jq '.dpus.dpu1.apply_us / 1000')"
	dse_apply "$TMPB/dse-1k.json" >/dev/null
	measure_all dse
	record "$TMPB/dse.bytes" "$(bytes_per_conn "$(daemon_pid "$P" h1-dpu1 dpud)")"
	echo "bench: dse: $(D -j dfw stats | jq -c '.dpus.dpu1 | {conns, table_full, drops}')" >&2
	D dfw off >/dev/null

	stop_daemon "$P" h1-dpu1 dpud
	plain_ports
	if ((have_nft)); then
		ip -n "$DNS" link add br-anchor type bridge stp_state 0
		ip -n "$DNS" link set rep-vm1 master br-anchor
		ip -n "$DNS" link set rep-vm2 master br-anchor
		ip -n "$DNS" link set br-anchor up
		setnf 1
		ip netns exec "$DNS" sysctl -qw net.netfilter.nf_conntrack_tcp_be_liberal=1 2>/dev/null || true
		record "$TMPB/nftables-bridge.apply" "$(ms_of ip netns exec "$DNS" nft -f "$TMPB/nft-10k.nft")"
		ip netns exec "$DNS" nft -f "$TMPB/nft-1k.nft"
		wait_until 10 ping_ok "$P-h1-vm1" $A2 || true
		measure_all nftables-bridge
		obj=$(awk '$1 == "nf_conntrack" { print $4 }' /proc/slabinfo 2>/dev/null)
		record "$TMPB/nftables-bridge.bytes" "${obj:-fail}"
		ip netns exec "$DNS" nft flush ruleset
		setnf 0
		ip -n "$DNS" link del br-anchor
	fi
	if ((have_ovs)); then
		ovs_start
		vsctl add-port br-ovs rep-vm1 -- add-port br-ovs rep-vm2
		br=unix:$OVS/br-ovs.mgmt
		record "$TMPB/ovs-netdev-ct.apply" "$(ms_of ofctl add-flows "$br" "$TMPB/ovs-10k.flows")"
		ofctl del-flows "$br"
		ofctl add-flows "$br" "$TMPB/ovs-1k.flows"
		ovs-appctl -t "$OVS/vswitchd.ctl" dpctl/ct-disable-tcp-seq-chk >/dev/null 2>&1 || true
		wait_until 10 ping_ok "$P-h1-vm1" $A2 || true
		measure_all ovs-netdev-ct
		record "$TMPB/ovs-netdev-ct.bytes" "$(bytes_per_conn "$(cat "$OVS/vswitchd.pid")")"
		vsctl del-port br-ovs rep-vm1 -- del-port br-ovs rep-vm2
		ovs_stop
	fi
	echo "bench: round $((round + 1)): $(for f in dse dse-no-firewall nftables-bridge ovs-netdev-ct; do
		[[ -s $TMPB/$f ]] && printf '%s %s Mpps %s Gb/s %s cps  ' "$f" "$(tail -n1 "$TMPB/$f")" \
			"$(tail -n1 "$TMPB/$f.tcp")" "$(tail -n1 "$TMPB/$f.cps")"
	done)" >&2
done

ANCHORS="dse-no-firewall nftables-bridge ovs-netdev-ct"
base="one DPU core, VM to VM on one host, 1,000 rules, default deny, ${secs} s runs"
figure dfw-established-64b "established UDP through the firewall, 66 B, one flow (dse-pktgen), $base" Mpps true ""
figure dfw-established-64b-tcp "established TCP through the firewall, 78 B ACK segments of one connection (dse-pktgen --tcp; every firewall in its liberal TCP mode), $base" Mpps true .tcp64
figure dfw-established-tcp "established TCP through the firewall, one iperf3 stream, $base" Gbit/s true .tcp
figure dfw-cps "new TCP connections a second through the firewall (dse-cps: handshake, then reset; 64 at once), $base" cps true .cps
ANCHORS="nftables-bridge ovs-netdev-ct"
figure dfw-rules-10k-apply "ms to put 10,000 rules in force (dse: dsectl dfw set, which returns once the DPU runs them; nftables: nft -f; OVS: ovs-ofctl add-flows)" ms false .apply
ANCHORS=""
figure dfw-rules-10k-compile "ms the DPU takes to compile 10,000 rules and put them in force (dpud alone: the share of dfw-rules-10k-apply past the CLI, hostd and the transfer)" ms false .applydpu
ANCHORS="nftables-bridge ovs-netdev-ct"
figure dfw-conn-bytes "bytes of memory per tracked connection ($FLOWS UDP flows; dse: dpud's RSS growth; nftables: the nf_conntrack slab object; OVS: ovs-vswitchd's RSS growth)" B false .bytes
