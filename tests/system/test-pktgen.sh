#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# dse-pktgen: live-frame XDP generator into an XDP sink over a direct veth
# pair; paced and max rate, loss, reordering, latency, flows, VLAN, usage
# errors, and the sink taking its program off the interface when it stops.
#
#   netns P-a                       netns P-b
#   dse-pktgen tx -- P-t ===veth=== P-r -- dse-pktgen rx (XDP, drops ours)
set -uo pipefail
. "$(dirname "$0")/lib.sh"
require_root

PKTGEN=${PKTGEN:-$DSE_BUILD_DIR/tools/pktgen/dse-pktgen}
TMP=$(mktemp -d /tmp/dse-pktgen.XXXXXX)
TEST_TMPDIRS+=("$TMP")

# A prefix of our own, "pg" + 3 hex digits, whose netns do not exist yet.
P=
for i in 1 2 3 4 5 6 7 8; do
	p=pg$(printf '%03x' $(((RANDOM ^ $$ ^ (i << 8)) & 0xfff)))
	[[ $(netns_count_with_prefix "$p") == 0 ]] && { P=$p; break; }
done
[[ -n $P ]] || { echo "no free netns prefix" >&2; exit 1; }
A=$P-a B=$P-b
RX_PIDS=()

pktgen_cleanup() {
	local rc=$? pid
	for pid in "${RX_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
	for pid in "${RX_PIDS[@]}"; do wait "$pid" 2>/dev/null; done
	ip netns del "$A" 2>/dev/null
	ip netns del "$B" 2>/dev/null
	(exit "$rc")
	cleanup
}
trap pktgen_cleanup EXIT

[[ -x $PKTGEN ]] || { not_ok "dse-pktgen built at $PKTGEN"; finish; exit 1; }
ip netns add "$A" && ip netns add "$B" &&
	ip link add "$P-t" netns "$A" type veth peer name "$P-r" netns "$B" &&
	ip -n "$A" link set "$P-t" up && ip -n "$B" link set "$P-r" up ||
	{ not_ok "netns and veth set up"; finish; exit 1; }
MAC_R=$(ip -n "$B" -o link show "$P-r" | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')

xdp_on() { grep -q 'prog/xdp' <<<"$(ip -n "$1" -d link show dev "$2" 2>/dev/null)"; }
sanitizer_clean() { ! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$@"; }
# field FILE KEY: one key of a JSON report.
field() { jq -r ".$2" "$1" 2>/dev/null; }
# num_between X LO HI (integers or decimals)
num_between() { awk -v x="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(x != "" && x + 0 >= lo && x + 0 <= hi) }'; }
num_gt() { awk -v x="$1" -v y="$2" 'BEGIN { exit !(x != "" && x + 0 > y + 0) }'; }

# rx_start NAME ARGS...: sink on P-r in the background, JSON into $TMP/NAME.json;
# returns once its program is on the interface.
rx_start() {
	local name=$1
	shift
	# ip netns exec execs: $! is the sink itself, for signals.
	ip netns exec "$B" "$PKTGEN" rx --dev "$P-r" -j "$@" >"$TMP/$name.json" 2>"$TMP/$name.err" &
	RX_PID=$!
	RX_PIDS+=("$RX_PID")
	wait_until 10 xdp_on "$B" "$P-r"
}

# rx_wait: wait for the sink to end on its own (idle timeout); its exit status.
rx_wait() {
	wait_until 20 bash -c "! kill -0 $RX_PID 2>/dev/null" || kill "$RX_PID"
	wait "$RX_PID"
}

tx() { in_ns "$A" "$PKTGEN" tx --dev "$P-t" --dst-mac "$MAC_R" -j "$@"; }

# ---- 10 kpps for 1 s --------------------------------------------------------
check "rx attaches its XDP program" rx_start paced
tx --rate 10000 --duration 1 >"$TMP/tx-paced.json" 2>"$TMP/tx-paced.err"
check_eq "tx at 10 kpps exits 0" 0 $?
rx_wait
check_eq "rx exits 0 after 1 s without frames" 0 $?
sent=$(field "$TMP/tx-paced.json" tx_packets)
got=$(field "$TMP/paced.json" rx_packets)
echo "# paced: sent $sent in $(field "$TMP/tx-paced.json" duration_s) s; rx $(cat "$TMP/paced.json")"
check "tx at 10 kpps for 1 s sends ~10000 (got '$sent')" num_between "$sent" 9900 10100
check_eq "rx received what tx sent" "$sent" "$got"
check_eq "nothing lost" 0 "$(field "$TMP/paced.json" lost)"
check_eq "nothing reordered" 0 "$(field "$TMP/paced.json" reordered)"
p50=$(field "$TMP/paced.json" lat_p50_us)
check "latency p50 in (0, 10000) us (got '$p50')" num_between "$p50" 0.001 9999.999
check "rx rate near 10 kpps ($(field "$TMP/paced.json" rx_pps))" \
	num_between "$(field "$TMP/paced.json" rx_pps)" 9000 11000
check "rx took its program off the interface" bash -c "! grep -q 'prog/xdp' <<<\"\$(ip -n $B -d link show dev $P-r)\""
check "tx left no program on its interface" bash -c "! grep -q 'prog/xdp' <<<\"\$(ip -n $A -d link show dev $P-t)\""

# ---- max rate for 1 s -------------------------------------------------------
rx_start max
tx --rate max --duration 1 >"$TMP/tx-max.json" 2>"$TMP/tx-max.err"
check_eq "tx at max rate exits 0" 0 $?
rx_wait
pps=$(field "$TMP/tx-max.json" tx_pps)
echo "# max rate: tx $(cat "$TMP/tx-max.json")"
echo "# max rate: rx $(cat "$TMP/max.json")"
check "max rate above 100000 pps (got '$pps')" num_gt "$pps" 100000
# Flat out, a veth may drop when its receive ring is full (the machine is
# shared): the sink must see no more than was sent, and nearly all of it.
sent=$(field "$TMP/tx-max.json" tx_packets) got=$(field "$TMP/max.json" rx_packets)
check "max rate: rx received at most what tx sent ($got of $sent)" test "$got" -le "$sent"
check "max rate: ... and at least 90% of it" test $((got * 10)) -ge $((sent * 9))

# ---- flows, VLAN, streams --------------------------------------------------
rx_start flows
tx --rate 50000 --count 5000 --flows 1000 --stream 7 --size 200 >"$TMP/tx-flows.json" 2>&1
check_eq "tx --flows 1000 exits 0" 0 $?
rx_wait
check_eq "--flows 1000: all 5000 received" 5000 "$(field "$TMP/flows.json" rx_packets)"
check_eq "--flows 1000: nothing lost" 0 "$(field "$TMP/flows.json" lost)"
check_eq "--size 200: bytes counted" 1000000 "$(field "$TMP/flows.json" rx_bytes)"

rx_start vlan --stream 3
tx --count 100 --rate 10000 --vlan 100 --stream 3 >/dev/null 2>&1
tx --count 50 --rate 10000 --stream 4 >/dev/null 2>&1
rx_wait
check_eq "802.1Q-tagged frames recognised; --stream 3 reports only stream 3" 100 \
	"$(field "$TMP/vlan.json" rx_packets)"

# The frames themselves, through the stack: GRO on gives the peer NAPI.
ethtool -K -n "$B" "$P-r" gro on >/dev/null 2>&1 || in_ns "$B" ethtool -K "$P-r" gro on >/dev/null
ip netns exec "$B" tcpdump -i "$P-r" -U -n -w "$TMP/flows.pcap" udp 2>"$TMP/tcpdump.err" &
TCPDUMP=$!
RX_PIDS+=("$TCPDUMP")
wait_until 10 grep -q 'listening on' "$TMP/tcpdump.err"
tx --rate 20000 --count 2000 --flows 1000 --src-macs 500 >/dev/null 2>&1
wait_until 5 bash -c "[[ \$(tcpdump -r $TMP/flows.pcap 2>/dev/null | wc -l) -ge 2000 ]]"
kill "$TCPDUMP"
wait "$TCPDUMP" 2>/dev/null
ports=$(tcpdump -r "$TMP/flows.pcap" -n 2>/dev/null | awk '{ split($3, a, "."); print a[5] }' | sort -u | wc -l)
check_eq "2000 frames over --flows 1000 use 1000 source ports" 1000 "$ports"
macs=$(tcpdump -r "$TMP/flows.pcap" -e -n 2>/dev/null | awk '{ print $2 }' | sort -u)
check_eq "--src-macs 500: 500 source MACs" 500 "$(wc -l <<<"$macs")"
check "--src-macs counts up from the interface's address in the last 3 bytes" \
	grep -qx "$(ip -n "$A" -o link show dev "$P-t" | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')" <<<"$macs"
verbose=$(tcpdump -r "$TMP/flows.pcap" -n -vv -c 20 2>/dev/null)
check "frames are 198.18.0.1 -> 198.18.0.2 UDP to port 9" grep -q '198.18.0.1.[0-9]* > 198.18.0.2.9: ' <<<"$verbose"
check "IPv4 checksums are valid, UDP checksum 0" \
	bash -c '! grep -qi "bad cksum" <<<"$1" && grep -q "no cksum" <<<"$1"' _ "$verbose"

# ---- signals and errors -----------------------------------------------------
rx_start sig --idle-ms 0
kill -TERM "$RX_PID"
wait "$RX_PID"
check_eq "rx exits 0 on SIGTERM" 0 $?
check_eq "rx on SIGTERM still reports" 0 "$(field "$TMP/sig.json" rx_packets)"
check "rx on SIGTERM took its program off" bash -c "! grep -q 'prog/xdp' <<<\"\$(ip -n $B -d link show dev $P-r)\""

# A program attached the old way (as the lab does) is replaced, then put back.
xdp_id() { ip -n "$B" -d link show dev "$P-r" | sed -n 's/.*prog\/xdp id \([0-9]*\).*/\1/p'; }
if ip -n "$B" link set dev "$P-r" xdpdrv obj "$DSE_BUILD_DIR/dataplane/bpf/xdp-pass.o" sec xdp.frags; then
	old=$(xdp_id)
	in_ns "$B" "$PKTGEN" rx --dev "$P-r" --duration 0.3 -j >/dev/null 2>"$TMP/restore.err"
	check_eq "rx over an attached program exits 0" 0 $?
	check_eq "rx put the previous program back" "$old" "$(xdp_id)"
	ip -n "$B" link set dev "$P-r" xdpdrv off
else
	not_ok "attach xdp-pass to $P-r"
fi

usage_error() { # ARGS...: exit status 2 and exactly one line on stderr
	local err rc
	err=$("$PKTGEN" "$@" 2>&1 >/dev/null)
	rc=$?
	[[ $rc == 2 && $(wc -l <<<"$err") == 1 && -n $err ]] ||
		{ echo "# $*: rc $rc: $err"; return 1; }
}
check "bad --size: exit 2, one line" usage_error tx --dev x --dst-mac 02:00:00:00:00:01 --size 10
check "bad --rate: exit 2, one line" usage_error tx --dev x --dst-mac 02:00:00:00:00:01 --rate 0
check "--count with --duration: exit 2" usage_error tx --dev x --dst-mac 02:00:00:00:00:01 --count 1 --duration 1
check "missing --dst-mac: exit 2" usage_error tx --dev x
check "rx without --dev: exit 2" usage_error rx
check "unknown option: exit 2" usage_error rx --dev x --bogus
check "unknown mode: exit 2" usage_error send
in_ns "$A" "$PKTGEN" tx --dev nosuchdev --dst-mac 02:00:00:00:00:01 --count 1 >/dev/null 2>&1
check_eq "missing interface: exit 1" 1 $?
check "no sanitizer reports" sanitizer_clean "$TMP"/*.err

finish
