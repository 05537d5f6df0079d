#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The distributed firewall on the DPU (docs/dfw.md), packet by packet:
#
#   h1-vm1 (web) --+                      +-- dpud: conntrack, the rules,
#   h1-vm2 (db)  --+-- rep-vmN -- h1-dpu1 |   rejects, counters
#   h1-vm3       --+                      +-- dsectl dfw set|show|stats|conn list
#
# One portgroup, default deny: vm1 may reach vm2's TCP 5201, vm1 may ping,
# SSH and UDP 9999 are rejected, everything else is dropped.  Crafted packets
# (tests/system/dfw-probe.py, scapy) show each state: a SYN allowed, a stray
# ACK dropped, the reply allowed, a refusing RST, an ICMP error related to
# its connection, expiry; then rejects, counters, a full table, IPv6,
# fragments, malformed headers, and policy changes under a running stream.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
require_root
trap cleanup EXIT

P=$(lab_prefix lf) || exit 1
T=$(mktemp -d /tmp/dse-dfw.XXXXXX)
TEST_TMPDIRS+=("$T")
lab_vms "$P" --hosts 1 -- h1-vm1=198.18.10.11 h1-vm2=198.18.10.12 h1-vm3=198.18.10.13 ||
	not_ok "three VMs in one portgroup reach each other"
D() { dsectl_on "$P" h1 "$@"; }
quiet D monitor set --interval 1 # the table's figures and alarm sooner
probe() { local vm=$1; shift; ip netns exec "$P-h1-$vm" /usr/bin/python3 "$SYSTEST_DIR/dfw-probe.py" "$@"; }
stat_of() { D -j dfw stats | jq -r ".dpus.dpu1$1"; }
rule_stat() { stat_of ".rules[] | select(.name == \"$1\") | .$2"; }
drops() { stat_of ".drops.$1"; }
conns() { D -j dfw conn list | jq -r "[.dpus.dpu1.conns[] | select($1)] | length"; }
conns_are() { [[ $(conns "$1") == "$2" ]]; }
conns_at_least() { (($(conns "$1") >= $2)); }
drops_above() { (($(drops "$1") > $2)); }
no_ping() { ! ping_ok "$@"; }
no_tcp() { ! ip netns exec "$1" timeout 2 bash -c "echo >/dev/tcp/$2/$3" 2>/dev/null; }

policy() { # policy FILE [EXTRA-JSON]: the test's policy, merged with EXTRA
	jq -n --argjson extra "${2:-{\}}" '{
	  default: "drop",
	  groups: [{name: "web", vms: ["vm1"]}, {name: "db", vms: ["vm2"]}],
	  services: [{name: "app", entries: [{proto: "tcp", ports: ["5201"]}, {proto: "udp", ports: ["5201"]}]},
	             {name: "ping", entries: [{proto: "icmp", type: 8}, {proto: "icmpv6", type: 128}]},
	             {name: "closed", entries: [{proto: "tcp", ports: ["22"]}, {proto: "udp", ports: ["9999"]}]}],
	  rules: [{name: "app/web-db", src: ["web"], dst: ["db"], services: ["app"], action: "allow", log: true},
	          {name: "app/ping", src: ["web"], services: ["ping"], action: "allow"},
	          {name: "app/closed", services: ["closed"], action: "reject"}]} * $extra' >"$1"
}

# ---- set, show, refusals ----
policy "$T/p1.json" '{"timeouts": {"udp_s": 2, "udp_reply_s": 2}}'
check "dsectl dfw set takes the policy" quiet D dfw set "$T/p1.json"
digest=$(D -j dfw show | jq -r .digest)
enabled() { [[ $(stat_of .enabled) == true ]]; }
check "the DPU runs it" wait_until 10 enabled
jq '.rules[0].src = ["nosuch"]' "$T/p1.json" >"$T/bad.json"
out=$(D dfw set "$T/bad.json" 2>&1)
check "an unknown group is refused with one line naming it" grep -q "rule app/web-db: src: no group 'nosuch'" <<<"$out"
jq '.services[0].entries[0].ports = ["80-20"]' "$T/p1.json" >"$T/bad.json"
check "a bad port range is refused" grep -q "'80-20' is no port or range" <<<"$(D dfw set "$T/bad.json" 2>&1)"
check_eq "... and the policy in force did not change" "$digest" "$(D -j dfw show | jq -r .digest)"

# ---- states, with crafted packets ----
check_eq "a SYN the rules allow passes (vm2's closed port answers RST)" "RA" "$(probe vm1 tcp 198.18.10.12 5201 S 41000)"
check "... and the refused connection is tracked as closed" \
	test "$(conns '.dport == 5201 and .sport == 41000 and .state == "closed"')" = 1
inv0=$(drops ct_invalid)
check_eq "a stray ACK is dropped (vm2 never answers it)" none "$(probe vm1 tcp 198.18.10.12 5201 A 41001)"
check "... counted as ct_invalid" test "$(drops ct_invalid)" -gt "$inv0"
check_eq "an allowed UDP datagram's ICMP error comes back, related" "icmp 3 3" "$(probe vm1 udp 198.18.10.12 5201 41002)"
check "... and that UDP connection is tracked" test "$(conns '.proto == 17 and .sport == 41002')" = 1
check "... and expires after its 2 s timeout" wait_until 15 conns_are '.sport == 41002' 0

# ---- real TCP, default deny, isolation within the portgroup ----
ip netns exec "$P-h1-vm2" /usr/bin/python3 "$SYSTEST_DIR/tcp-sink.py" 5201 "$T/sink" &
wait_until 10 test -e "$T/sink.ready"
lab exec --prefix "$P" h1-vm1 -- timeout 20 bash -c "head -c 3000000 /dev/zero >/dev/tcp/198.18.10.12/5201"
wait
check_eq "web reaches db on TCP 5201 (3 MB through conntrack)" 3000000 "$(cut -d' ' -f1 "$T/sink")"
counted_3mb() { (($(rule_stat app/web-db bytes) > 3000000)); }
check "... and the rule counted its bytes, from both tiers" wait_until 10 counted_3mb
flows_by() { D -j flow list | jq "[.[] | select($1)] | length"; }
check "flow list names the rule and tier that decided vm1 -> vm2" \
	test "$(flows_by '.rule == "app/web-db" and .where == "software" and .in_port == "rep-vm1"')" -ge 1
check "the rule's hit is logged (it asks for it)" grep -q "rule app/web-db: allow proto 6 198.18.10.11" "$DSE_LAB_DIR/$P"/h1-dpu1/log/*.log
check "vm3 cannot reach db (default deny within one portgroup)" no_tcp "$P-h1-vm3" 198.18.10.12 5201
check "vm3 cannot ping vm1" no_ping "$P-h1-vm3" 198.18.10.11
check "flow list shows vm3's dropped frames under the default rule" \
	test "$(flows_by '.rule == "default" and .actions == "drop" and .in_port == "rep-vm3"')" -ge 1
check "... though ARP passes the firewall (vm3 knows vm1's MAC)" grep -q lladdr <<<"$(ip -n "$P-h1-vm3" neigh show 198.18.10.11)"

# ---- rejects ----
check_eq "a rejected SYN gets a RST at once" "RA" "$(probe vm1 tcp 198.18.10.13 22 S)"
check_eq "a rejected UDP datagram gets ICMP administratively prohibited" "icmp 3 13" "$(probe vm1 udp 198.18.10.13 9999)"

# ---- many new connections (dse-cps): each one a session of its rule ----
CPS=$DSE_BUILD_DIR/tools/cps/dse-cps
s0=$(rule_stat app/web-db sessions)
ip netns exec "$P-h1-vm2" "$CPS" server 5201 --duration 5 &
cps_srv=$!
wait_until 5 bash -c "ip netns exec $P-h1-vm2 ss -ltn | grep -q :5201"
r=$(ip netns exec "$P-h1-vm1" "$CPS" client 198.18.10.12 5201 --duration 1 --concurrency 16)
wait "$cps_srv"
check "dse-cps opens connections through the firewall, none refused ($(jq -c . <<<"$r"))" \
	test "$(jq '.connections > 100 and .failed == 0' <<<"$r")" = true
check "... each one a session of app/web-db" \
	test $(($(rule_stat app/web-db sessions) - s0)) -ge "$(jq .connections <<<"$r")"

# ---- counters match what was sent ----
p0=$(rule_stat app/ping packets) b0=$(rule_stat app/ping bytes) s0=$(rule_stat app/ping sessions)
ip netns exec "$P-h1-vm1" ping -c 5 -i 0.2 -W 1 198.18.10.12 >/dev/null
# The first request and reply in software, the rest in the eswitch, whose
# counts come up at its revalidation (about once a second).
pinged() { (($(rule_stat app/ping packets) - p0 >= 10)); }
wait_until 10 pinged
check_eq "5 pings: 10 packets on the ping rule (both ways, both tiers)" 10 $(($(rule_stat app/ping packets) - p0))
check_eq "... of 98 bytes each" 980 $(($(rule_stat app/ping bytes) - b0))
check_eq "... in one session" 1 $(($(rule_stat app/ping sessions) - s0))
d0=$(rule_stat default packets)
for port in 7001 7002 7003; do probe vm3 udp 198.18.10.12 $port >/dev/null; done
check_eq "3 datagrams nothing allows: 3 packets on the default rule" 3 $(($(rule_stat default packets) - d0))

# ---- IPv6 ----
ip -n "$P-h1-vm1" addr add 2001:db8:10::11/64 dev eth0 nodad
ip -n "$P-h1-vm2" addr add 2001:db8:10::12/64 dev eth0 nodad
ping6_ok() { ip netns exec "$1" ping -6 -c1 -W1 "$2" >/dev/null 2>&1; }
check "IPv6 ping is allowed (neighbour discovery passes)" wait_until 10 ping6_ok "$P-h1-vm1" 2001:db8:10::12
check_eq "IPv6 TCP to the allowed port passes" "RA" "$(probe vm1 tcp 2001:db8:10::12 5201 S 42000)"
check_eq "IPv6 TCP to another port is dropped" none "$(probe vm1 tcp 2001:db8:10::12 5300 S 42001)"

# ---- fragments and malformed headers: counted, traffic continues ----
f0=$(drops fragment) m0=$(drops bad_ip)
probe vm1 frag 198.18.10.12 5201 >/dev/null
probe vm1 badihl 198.18.10.12 >/dev/null
check "fragments are dropped and counted" test $(($(drops fragment) - f0)) -ge 2
check "a malformed IP header is dropped and counted" test $(($(drops bad_ip) - m0)) -ge 1
check "traffic goes on after them" ping_ok "$P-h1-vm1" 198.18.10.12

# ---- group membership follows the VM, not its address ----
ip -n "$P-h1-vm2" addr add 198.18.10.22/24 dev eth0
check_eq "db's new address is still db (by its MAC)" "RA" "$(probe vm1 tcp 198.18.10.22 5201 S 43000)"

# ---- a policy change under a running stream ----
stream() { # stream DST SECONDS: a paced TCP stream to DST:5201, in the background
	ip netns exec "$P-h1-vm1" /usr/bin/python3 -c "
import socket, sys, time
s = socket.create_connection(('$1', 5201), timeout=5)
for i in range(int($2 * 20)):
    s.sendall(b'x' * 16384)
    time.sleep(0.05)
s.close()" 2>/dev/null
}
rm -f "$T/sink" "$T/sink.ready"
ip netns exec "$P-h1-vm2" /usr/bin/python3 "$SYSTEST_DIR/tcp-sink.py" 5201 "$T/sink" &
sink=$!
wait_until 10 test -e "$T/sink.ready"
stream 198.18.10.12 3 &
sender=$!
wait_until 10 conns_at_least '.dport == 5201 and .state == "established"' 1
check "an established connection runs in the eswitch (dfw conn list: tier)" \
	wait_until 10 conns_at_least '.dport == 5201 and .state == "established" and .tier == "eswitch"' 1
# The same allow, renamed and moved below a new rule: the stream must not notice.
policy "$T/p2.json" '{"rules": [{"name": "app/first", "services": ["closed"], "action": "drop"},
	{"name": "app/web-db-2", "src": ["web"], "dst": ["db"], "services": ["app"], "action": "allow"},
	{"name": "app/ping", "src": ["web"], "services": ["ping"], "action": "allow"}]}'
check "a policy that still allows the stream is set meanwhile" quiet D dfw set "$T/p2.json"
wait "$sender"
check_eq "the stream never noticed (every byte arrived)" $((3 * 20 * 16384)) "$(wait $sink; cut -d' ' -f1 "$T/sink")"
check_eq "... no connection was ended by the change (all are still allowed)" 0 "$(stat_of .conns_removed)"
rm -f "$T/sink" "$T/sink.ready"
ip netns exec "$P-h1-vm2" timeout 15 /usr/bin/python3 "$SYSTEST_DIR/tcp-sink.py" 5201 "$T/sink" &
sink=$!
wait_until 10 test -e "$T/sink.ready"
stream 198.18.10.12 3 &
sender=$!
wait_until 10 conns_at_least '.dport == 5201 and .state == "established"' 1
inv0=$(drops ct_invalid)
policy "$T/p3.json" '{"rules": [{"name": "app/ping", "src": ["web"], "services": ["ping"], "action": "allow"}]}'
check "a policy that no longer allows it is set" quiet D dfw set "$T/p3.json"
check "... the connection was ended (and the pings' sessions, the UDP ones)" test "$(stat_of .conns_removed)" -ge 1
check "... and its next segments are dropped" wait_until 10 drops_above ct_invalid "$inv0"
kill "$sender" "$sink" 2>/dev/null
wait 2>/dev/null

# ---- a full table ----
policy "$T/p4.json" '{"conn_max": 3, "rules": [{"name": "app/any-udp", "services": ["app"], "action": "allow"}]}'
jq '.services[0].entries = [{proto: "udp"}]' "$T/p4.json" >"$T/p5.json"
check "a policy with a table of 3 connections is set" quiet D dfw set "$T/p5.json"
for port in 1 2 3 4; do probe vm3 udp 198.18.10.12 $((8000 + port)) >/dev/null; done
check_eq "the table holds 3" 3 "$(stat_of .conns)"
check "the 4th was refused: table full, counted" test "$(stat_of .table_full)" -ge 1
check "... and a ct_full drop" test "$(drops ct_full)" -ge 1
metric() { D -j dpu stats --dpu dpu1 | jq -r --arg n "$1" '[.[0].sample.metrics[] | select(.[0] == $n) | .[2]] | first // empty'; }
table_ratio_is_1() { [[ $(metric dse_dpu_dfw_connection_table_ratio) == 1 ]]; }
check "the DPU's figures: the table's use at 1" wait_until 10 table_ratio_is_1
alarm_red() { [[ $(D -j alarm list --all | jq -r '[.[] | select(.id == "dfw-table-full@dpu1") | .state] | first // "none"') == red ]]; }
check "... and the dfw-table-full alarm red" wait_until 15 alarm_red

check "dsectl dfw off turns it off" quiet D dfw off
check "vm3 reaches db again" wait_until 10 ping_ok "$P-h1-vm3" 198.18.10.12
finish
