#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# dse-pktgen: its generators (tx --dev: --generator afxdp and afpacket always,
# xdp-live where the kernel allows XDP live frames, else each of its checks is
# a counted skip) into an XDP sink over a direct veth pair: paced runs send
# exactly what they are asked, the sink accounts for every frame, in order,
# flows, source MACs, VLAN, streams, the frames' format on the wire, SIGINT;
# then what does not depend on the generator: auto's choice and its fallback
# where AF_XDP is refused, usage errors, the sink taking its program off the
# interface when it stops.  Then --udp
# through the kernel's stack over a second pair: every datagram arrives, and an
# outage of the sink's interface shows as a gap and a run of lost frames.
# No check here depends on how fast this machine is.
#
#   netns P-a                                 netns P-b
#   dse-pktgen tx --generator G -- P-t ===veth=== P-r -- dse-pktgen rx (XDP, drops ours)
#
#   netns U-a                                          netns U-b
#   dse-pktgen tx --udp -- U-t ===veth=== U-r -- dse-pktgen rx --udp 9000
#                 198.18.7.1/24            198.18.7.2/24 (set down for 0.2 s)
set -uo pipefail
. "$(dirname "$0")/lib.sh"
require_root

PKTGEN=${PKTGEN:-$DSE_BUILD_DIR/tools/pktgen/dse-pktgen}
TMP=$(mktemp -d /tmp/dse-pktgen.XXXXXX)
TEST_TMPDIRS+=("$TMP")

# Prefixes of our own: "pg" + 3 hex digits for the XDP pair, "pgu" for the
# --udp pair.
P=$(lab_prefix pg) && U=$(lab_prefix pgu) || exit 1
A=$P-a B=$P-b
UA=$U-a UB=$U-b
RX_PIDS=()

pktgen_cleanup() {
	local rc=$? pid
	for pid in "${RX_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
	for pid in "${RX_PIDS[@]}"; do wait "$pid" 2>/dev/null; done
	ip netns del "$A" 2>/dev/null
	ip netns del "$B" 2>/dev/null
	ip netns del "$UA" 2>/dev/null
	ip netns del "$UB" 2>/dev/null
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

tx_bg() { # NAME ARGS...: tx in the background ($TX_PID is tx itself), JSON into $TMP/NAME.json
	local name=$1
	shift
	ip netns exec "$A" "$PKTGEN" tx --dev "$P-t" --dst-mac "$MAC_R" -j "$@" >"$TMP/$name.json" 2>"$TMP/$name.err" &
	TX_PID=$!
	RX_PIDS+=("$TX_PID")
}
no_xdp_on() { ! xdp_on "$@"; }
# Frames the sink's interface received (veth counts what its XDP program saw).
peer_rx_packets() { in_ns "$B" cat "/sys/class/net/$P-r/statistics/rx_packets"; }
peer_rx_over() { (($(peer_rx_packets) > $1)); }

# gcheck DESC CMD... / gcheck_eq DESC EXPECTED ACTUAL: a check of generator
# $GEN, named "$GEN: DESC"; the first pass records the names in GEN_CHECKS, so
# that a pass the kernel refuses can report each of its checks as skipped.
GEN_CHECKS=()
RECORD=1
gcheck() { local d=$1; shift; ((RECORD)) && GEN_CHECKS+=("$d"); check "$GEN: $d" "$@"; }
gcheck_eq() { ((RECORD)) && GEN_CHECKS+=("$1"); check_eq "$GEN: $1" "$2" "$3"; }

# generator_checks G: everything tx --dev promises, with --generator G.
generator_checks() {
	GEN=$1
	local t=$TMP/$GEN sent got lost base
	mkdir -p "$t"

	# -- 10 kpps for 1 s: exactly 10000 frames, spread over the second
	rx_start "$GEN/paced" --idle-ms 300
	tx --generator "$GEN" --rate 10000 --duration 1 >"$t/tx-paced.json" 2>"$t/tx-paced.err"
	gcheck_eq "tx at 10 kpps for 1 s exits 0" 0 $?
	rx_wait
	gcheck_eq "rx exits 0 once idle" 0 $?
	echo "# $GEN paced: tx $(cat "$t/tx-paced.json")"
	echo "# $GEN paced: rx $(cat "$t/paced.json")"
	sent=$(field "$t/tx-paced.json" tx_packets) got=$(field "$t/paced.json" rx_packets)
	gcheck_eq "the report names the generator" "$GEN" "$(field "$t/tx-paced.json" generator)"
	gcheck_eq "--rate 10000 --duration 1 sends exactly 10000" 10000 "$sent"
	gcheck "the run lasts the whole second" num_between "$(field "$t/tx-paced.json" duration_s)" 0.999 60
	gcheck_eq "rx received what tx sent" "$sent" "$got"
	gcheck_eq "nothing lost, reordered, no lost run" "0 0 0" \
		"$(field "$t/paced.json" lost) $(field "$t/paced.json" reordered) $(field "$t/paced.json" max_lost_run)"
	# Paced, not in a burst: a burst of 10000 frames takes milliseconds.
	gcheck "the frames arrive over more than half a second" \
		num_between "$(field "$t/paced.json" duration_s)" 0.5 60
	gcheck "latency p50 in (0, 1 s): frames carry the time they left" \
		num_between "$(field "$t/paced.json" lat_p50_us)" 0.001 999999
	gcheck "rx took its program off the interface" no_xdp_on "$B" "$P-r"
	gcheck "tx left no program on its interface" no_xdp_on "$A" "$P-t"

	# -- flat out for 1 s: the sink accounts for every frame
	rx_start "$GEN/max" --idle-ms 300
	tx --generator "$GEN" --rate max --duration 1 >"$t/tx-max.json" 2>"$t/tx-max.err"
	gcheck_eq "tx flat out exits 0" 0 $?
	rx_wait
	echo "# $GEN max rate: tx $(cat "$t/tx-max.json")"
	echo "# $GEN max rate: rx $(cat "$t/max.json")"
	# A veth drops when its receive ring is full, more or less as the shared
	# machine schedules the sink: the sink must see no more than was sent, and
	# account for every frame it missed as lost (from the sequence numbers;
	# only frames after the last one it saw can escape the count).
	sent=$(field "$t/tx-max.json" tx_packets) got=$(field "$t/max.json" rx_packets)
	lost=$(field "$t/max.json" lost)
	gcheck "flat out: tx sent frames and rx received some" \
		bash -c '(( $1 > 0 && $2 > 0 && $2 <= $1 ))' _ "$sent" "$got"
	gcheck "flat out: received + lost is what was sent, within 1%" \
		bash -c '(( $1 + $2 <= $3 && ($1 + $2) * 100 >= $3 * 99 ))' _ "$got" "$lost" "$sent"
	gcheck_eq "flat out: nothing reordered" 0 "$(field "$t/max.json" reordered)"

	# -- flows, sizes, VLAN, streams
	rx_start "$GEN/flows" --idle-ms 300
	tx --generator "$GEN" --rate 50000 --count 5000 --flows 1000 --stream 7 --size 200 >"$t/tx-flows.json" 2>&1
	gcheck_eq "tx --flows 1000 --size 200 exits 0" 0 $?
	rx_wait
	gcheck_eq "--count 5000: all 5000 sent and received, nothing lost" "5000 5000 0" \
		"$(field "$t/tx-flows.json" tx_packets) $(field "$t/flows.json" rx_packets) $(field "$t/flows.json" lost)"
	gcheck_eq "--size 200: bytes counted" 1000000 "$(field "$t/flows.json" rx_bytes)"

	rx_start "$GEN/vlan" --stream 3 --idle-ms 300
	tx --generator "$GEN" --count 100 --rate 10000 --vlan 100 --stream 3 >/dev/null 2>&1
	tx --generator "$GEN" --count 50 --rate 10000 --stream 4 >/dev/null 2>&1
	rx_wait
	gcheck_eq "802.1Q-tagged frames recognised; --stream 3 reports only stream 3" "100 0" \
		"$(field "$t/vlan.json" rx_packets) $(field "$t/vlan.json" lost)"

	# -- SIGINT: the report counts what left, and the sink saw exactly that
	rx_start "$GEN/sig" --idle-ms 300
	base=$(peer_rx_packets)
	tx_bg "$GEN/tx-sig" --generator "$GEN" --rate 2000 --duration 60
	wait_until 10 peer_rx_over $((base + 100))
	kill -INT "$TX_PID"
	wait "$TX_PID"
	gcheck_eq "tx exits 0 on SIGINT" 0 $?
	rx_wait
	sent=$(field "$t/tx-sig.json" tx_packets)
	echo "# $GEN SIGINT: tx $(cat "$t/tx-sig.json")"
	gcheck "tx on SIGINT reports the frames it sent" num_between "$sent" 100 119999
	gcheck_eq "tx on SIGINT: rx received exactly those, none lost" "$sent 0" \
		"$(field "$t/sig.json" rx_packets) $(field "$t/sig.json" lost)"

	# -- the frames themselves, through the stack (GRO gives the peer NAPI)
	in_ns "$B" ethtool -K "$P-r" gro on >/dev/null
	ip netns exec "$B" tcpdump -i "$P-r" -U -n -w "$t/flows.pcap" udp 2>"$t/tcpdump.err" &
	local tcpdump=$!
	RX_PIDS+=("$tcpdump")
	wait_until 10 grep -q 'listening on' "$t/tcpdump.err"
	tx --generator "$GEN" --rate 20000 --count 2000 --flows 1000 --src-macs 500 >/dev/null 2>&1
	wait_until 5 bash -c "[[ \$(tcpdump -r $t/flows.pcap 2>/dev/null | wc -l) -ge 2000 ]]"
	kill "$tcpdump"
	wait "$tcpdump" 2>/dev/null
	local ports macs verbose
	ports=$(tcpdump -r "$t/flows.pcap" -n 2>/dev/null | awk '{ split($3, a, "."); print a[5] }' | sort -u | wc -l)
	gcheck_eq "2000 frames over --flows 1000 use 1000 source ports" 1000 "$ports"
	macs=$(tcpdump -r "$t/flows.pcap" -e -n 2>/dev/null | awk '{ print $2 }' | sort -u)
	gcheck_eq "--src-macs 500: 500 source MACs" 500 "$(wc -l <<<"$macs")"
	gcheck "--src-macs counts up from the interface's address in the last 3 bytes" \
		grep -qx "$(ip -n "$A" -o link show dev "$P-t" | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')" <<<"$macs"
	verbose=$(tcpdump -r "$t/flows.pcap" -n -vv -c 20 2>/dev/null)
	gcheck "frames are 198.18.0.1 -> 198.18.0.2 UDP to port 9" grep -q '198.18.0.1.[0-9]* > 198.18.0.2.9: ' <<<"$verbose"
	gcheck "IPv4 checksums are valid, UDP checksum 0" \
		bash -c '! grep -qi "bad cksum" <<<"$1" && grep -q "no cksum" <<<"$1"' _ "$verbose"
	# The next pass's sink attaches XDP; GRO off again as at the start.
	in_ns "$B" ethtool -K "$P-r" gro off >/dev/null 2>&1
	RECORD=0
}

# Forced xdp-live where the kernel refuses live frames: exit 1, one line.
in_ns "$A" "$PKTGEN" tx --dev "$P-t" --dst-mac "$MAC_R" --generator xdp-live --count 1 \
	>"$TMP/xdp-live.out" 2>"$TMP/xdp-live-probe.err"
xdp_live_rc=$?
XDP_LIVE_WHY=
if ((xdp_live_rc != 0)); then
	XDP_LIVE_WHY="this kernel refuses XDP live frames ($(uname -r))"
	check_eq "forced xdp-live where the kernel refuses it: exit 1, one line" "1 1" \
		"$xdp_live_rc $(grep -c 'refuses XDP live frames' "$TMP/xdp-live-probe.err")"
else
	skip_check "forced xdp-live where the kernel refuses it: exit 1, one line" \
		"this kernel allows XDP live frames"
fi

generator_checks afxdp
generator_checks afpacket
if [[ -z $XDP_LIVE_WHY ]]; then
	generator_checks xdp-live
else
	for d in "${GEN_CHECKS[@]}"; do skip_check "xdp-live: $d" "$XDP_LIVE_WHY"; done
fi

# auto: the fastest generator this kernel allows; named in the text report too.
expect=xdp-live
[[ -z $XDP_LIVE_WHY ]] || expect=afxdp
out=$(in_ns "$A" "$PKTGEN" tx --dev "$P-t" --dst-mac "$MAC_R" --count 10 --rate 1000 2>&1)
check "auto picks $expect (text report: '$out')" grep -q "^sent 10 packets .* generator $expect," <<<"$out"

# AF_XDP refused (an AF_XDP socket holds queue 0 already): auto falls back to
# afpacket, and says why; forcing afxdp there fails in one line.
base=$(peer_rx_packets)
tx_bg tx-hold --generator afxdp --rate 1000 --duration 60
wait_until 10 peer_rx_over $((base + 10))
if [[ -n $XDP_LIVE_WHY ]]; then
	out=$(in_ns "$A" "$PKTGEN" tx --dev "$P-t" --dst-mac "$MAC_R" --count 10 --rate 1000 2>&1)
	check "AF_XDP refused: auto falls back to afpacket, saying why ('$out')" \
		bash -c 'grep -q "^sent 10 packets .* generator afpacket," <<<"$1" && grep -q "afxdp: .*busy" <<<"$1"' _ "$out"
else
	skip_check "AF_XDP refused: auto falls back to afpacket, saying why" "auto takes xdp-live on this kernel"
fi
in_ns "$A" "$PKTGEN" tx --dev "$P-t" --dst-mac "$MAC_R" --count 10 --generator afxdp >/dev/null 2>"$TMP/afxdp-busy.err"
check_eq "AF_XDP refused: forced afxdp exits 1, one line" "1 1" "$? $(wc -l <"$TMP/afxdp-busy.err")"
kill -INT "$TX_PID"
wait "$TX_PID"
echo "# holding queue 0: $(cat "$TMP/tx-hold.json" "$TMP/tx-hold.err")"

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
check "unknown --generator: exit 2, one line" usage_error tx --dev x --dst-mac 02:00:00:00:00:01 --generator trafgen
check "--generator with --udp: exit 2, one line" usage_error tx --udp 198.18.7.2:9000 --generator afxdp
in_ns "$A" "$PKTGEN" tx --dev nosuchdev --dst-mac 02:00:00:00:00:01 --count 1 >/dev/null 2>&1
check_eq "missing interface: exit 1" 1 $?

# ---- --udp through the kernel's stack ---------------------------------------
UDP_SINK=198.18.7.2:9000
ip netns add "$UA" && ip netns add "$UB" &&
	ip link add "$U-t" netns "$UA" type veth peer name "$U-r" netns "$UB" &&
	ip -n "$UA" addr add 198.18.7.1/24 dev "$U-t" &&
	ip -n "$UB" addr add 198.18.7.2/24 dev "$U-r" &&
	ip -n "$UA" link set "$U-t" up && ip -n "$UB" link set "$U-r" up ||
	{ not_ok "--udp: netns, veth and addresses set up"; finish; exit 1; }
# Permanent neighbours: the outage below takes the carrier away, which flushes
# learned entries, and ARP would then add up to a second of its own retries.
mac_of() { ip -n "$1" -o link show dev "$2" | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p'; }
ip -n "$UA" neigh replace 198.18.7.2 lladdr "$(mac_of "$UB" "$U-r")" dev "$U-t" nud permanent
ip -n "$UB" neigh replace 198.18.7.1 lladdr "$(mac_of "$UA" "$U-t")" dev "$U-r" nud permanent

# udp_rx_start NAME ARGS...: rx --udp 9000 in U-b in the background, JSON into
# $TMP/NAME.json; returns once its socket is bound.
udp_rx_start() {
	local name=$1
	shift
	ip netns exec "$UB" "$PKTGEN" rx --udp 9000 -j "$@" >"$TMP/$name.json" 2>"$TMP/$name.err" &
	RX_PID=$!
	RX_PIDS+=("$RX_PID")
	wait_until 10 grep -q 'listening on udp port 9000' "$TMP/$name.err"
}
udp_tx() { in_ns "$UA" "$PKTGEN" tx --udp "$UDP_SINK" -j "$@"; }
# udp_tx_start NAME ARGS...: tx --udp in the background ($TX_PID is tx itself,
# for signals), JSON into $TMP/NAME.json.
udp_tx_start() {
	local name=$1
	shift
	ip netns exec "$UA" "$PKTGEN" tx --udp "$UDP_SINK" -j "$@" >"$TMP/$name.json" 2>"$TMP/$name.err" &
	TX_PID=$!
	RX_PIDS+=("$TX_PID")
}
sink_rx_packets() { in_ns "$UB" cat "/sys/class/net/$U-r/statistics/rx_packets"; }
rx_packets_over() { (($(sink_rx_packets) > $1)); }
num_lt() { awk -v x="$1" -v y="$2" 'BEGIN { exit !(x != "" && x + 0 < y + 0) }'; }

check "rx --udp binds its port" udp_rx_start udp-paced
udp_tx --rate 1000 --duration 1 >"$TMP/tx-udp-paced.json" 2>"$TMP/tx-udp-paced.err"
check_eq "tx --udp at 1000 pps exits 0" 0 $?
rx_wait
check_eq "rx --udp exits 0 after 1 s without datagrams" 0 $?
echo "# udp paced: tx $(cat "$TMP/tx-udp-paced.json")"
echo "# udp paced: rx $(cat "$TMP/udp-paced.json")"
check_eq "tx --udp sent 1000, no send errors" "1000 0" \
	"$(field "$TMP/tx-udp-paced.json" tx_packets) $(field "$TMP/tx-udp-paced.json" send_errors)"
check_eq "--udp: all 1000 received" 1000 "$(field "$TMP/udp-paced.json" rx_packets)"
check_eq "--udp: nothing lost or reordered, no lost run" "0 0 0" \
	"$(field "$TMP/udp-paced.json" lost) $(field "$TMP/udp-paced.json" reordered) $(field "$TMP/udp-paced.json" max_lost_run)"
gap=$(field "$TMP/udp-paced.json" max_gap_us)
# No gap as long as the outage below is checked to make.
check "--udp at 1000 pps: longest gap under 150 ms (got '$gap' us)" num_lt "$gap" 150000
check_eq "--udp: bytes counted as 66-byte frames" 66000 "$(field "$TMP/udp-paced.json" rx_bytes)"

# An outage: the sink's interface down for 0.2 s while tx sends (the sleep is
# the fault); tx starts it once the first 100 datagrams arrived.
udp_rx_start udp-gap
udp_tx_start tx-udp-gap --rate 1000 --duration 1.5
base=$(sink_rx_packets)
if wait_until 10 rx_packets_over $((base + 100)); then
	ip -n "$UB" link set "$U-r" down
	sleep 0.2
	ip -n "$UB" link set "$U-r" up
else
	not_ok "--udp: datagrams reach the sink before the outage"
fi
wait "$TX_PID"
check_eq "tx --udp through an outage exits 0" 0 $?
rx_wait
echo "# udp outage: tx $(cat "$TMP/tx-udp-gap.json")"
echo "# udp outage: rx $(cat "$TMP/udp-gap.json")"
gap=$(field "$TMP/udp-gap.json" max_gap_us) run=$(field "$TMP/udp-gap.json" max_lost_run)
check "outage of 0.2 s: longest gap >= 150 ms (got '$gap' us)" num_between "$gap" 150000 10000000
check "outage of 0.2 s: a run of lost frames (got '$run')" num_between "$run" 1 1500
check "outage: lost counts the run ($(field "$TMP/udp-gap.json" lost) >= $run)" \
	test "$(field "$TMP/udp-gap.json" lost)" -ge "${run:-1}"

# Signals: both end cleanly with their report.
udp_rx_start udp-sig --idle-ms 0
udp_tx_start tx-udp-sig --rate 1000 --duration 60
base=$(sink_rx_packets)
wait_until 10 rx_packets_over $((base + 50))
kill -INT "$TX_PID"
wait "$TX_PID"
check_eq "tx --udp exits 0 on SIGINT" 0 $?
check "tx --udp on SIGINT still reports ($(field "$TMP/tx-udp-sig.json" tx_packets) sent)" \
	num_between "$(field "$TMP/tx-udp-sig.json" tx_packets)" 50 59999
kill -TERM "$RX_PID"
wait "$RX_PID"
check_eq "rx --udp exits 0 on SIGTERM" 0 $?
check_eq "rx --udp on SIGTERM reports what came" "$(field "$TMP/tx-udp-sig.json" tx_packets)" \
	"$(field "$TMP/udp-sig.json" rx_packets)"

check "--udp without a port: exit 2, one line" usage_error tx --udp 198.18.7.2
check "--udp with port 0: exit 2, one line" usage_error tx --udp 198.18.7.2:0
check "--udp with a name: exit 2, one line" usage_error tx --udp localhost:9000
check "--udp with --dev: exit 2, one line" usage_error tx --udp 198.18.7.2:9000 --dev x
check "--udp with --dst-mac: exit 2, one line" usage_error tx --udp 198.18.7.2:9000 --dst-mac 02:00:00:00:00:01
check "rx --udp with an address: exit 2, one line" usage_error rx --udp 198.18.7.2:9000
in_ns "$UA" "$PKTGEN" tx --udp 198.18.9.1:9000 --count 1 >/dev/null 2>"$TMP/udp-noroute.err"
check_eq "tx --udp without a route: exit 1" 1 $?

check "no sanitizer reports" sanitizer_clean "$TMP"/*.err "$TMP"/*/*.err

finish
