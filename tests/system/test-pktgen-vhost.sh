#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# dse-pktgen as a vhost-user front-end: the generator on one vhost-user port
# of dpud, the sink on another in the same portgroup; paced (every frame, in
# order, with latency) and flat out; the sink unknown to the switch (frames
# flooded, counted as such) and announced (known unicast, no flooding);
# errors: no socket, a device that hangs up or refuses, bad arguments.
#
#   dse-pktgen tx --vhost-user --> vhost1 [h1-dpu1 dpud switch, pg-a] vhost2 --> dse-pktgen rx --vhost-user
#                 run/vhost/vhost1.sock                                run/vhost/vhost2.sock
#                                               (and unknown unicast floods to the uplink too)
set -uo pipefail
. "$(dirname "$0")/lib.sh"
require_root

PKTGEN=${PKTGEN:-$DSE_BUILD_DIR/tools/pktgen/dse-pktgen}
P=$(lab_prefix) || exit 1
TMP=$(mktemp -d /tmp/dse-pktgen-vhost.XXXXXX)
TEST_TMPDIRS+=("$TMP")
SINK_MAC=02:d5:70:67:00:02
PIDS=()

on_exit() {
	local rc=$? pid
	for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
	for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null; done
	(exit "$rc")
	cleanup
}
trap on_exit EXIT

[[ -x $PKTGEN ]] || { not_ok "dse-pktgen built at $PKTGEN"; finish; exit 1; }
lab_up "$P" --hosts 1 >/dev/null &&
	dsectl_on "$P" h1 portgroup add pg-a --vlan 10 >/dev/null &&
	dsectl_on "$P" h1 port add vhost1 --portgroup pg-a --vhost-user >/dev/null &&
	dsectl_on "$P" h1 port add vhost2 --portgroup pg-a --vhost-user >/dev/null ||
	{ not_ok "lab with two vhost-user ports"; finish; exit 1; }
RUN=$DSE_LAB_DIR/$P/h1-dpu1/run/vhost
S1=$RUN/vhost1.sock S2=$RUN/vhost2.sock
check "dpud listens on both sockets" wait_until 10 bash -c "[[ -S $S1 && -S $S2 ]]"

field() { jq -r ".$2" "$1" 2>/dev/null; }
num_between() { awk -v x="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(x != "" && x + 0 >= lo && x + 0 <= hi) }'; }
num_gt() { awk -v x="$1" -v y="$2" 'BEGIN { exit !(x != "" && x + 0 > y + 0) }'; }
sanitizer_clean() { ! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$@"; }
running() { # PORT: the client's two rings run
	[[ $(dsectl_on "$P" h1 -j port list | jq --arg p "$1" '[.[] | select(.name == $p) | .vhost.rings[] | select(.running)] | length') == 2 ]]
}
flooded() { port_field "$P" h1 vhost1 rx_flood; }
learned() { [[ $(mac_port "$P" h1 "$SINK_MAC") == vhost2 ]]; }

# rx_start NAME ARGS...: the sink on vhost2 in the background, JSON into
# $TMP/NAME.json; returns once dpud runs both of its rings.
rx_start() {
	local name=$1
	shift
	"$PKTGEN" rx --vhost-user "$S2" -j "$@" >"$TMP/$name.json" 2>"$TMP/$name.err" &
	RX_PID=$!
	PIDS+=("$RX_PID")
	wait_until 10 running vhost2
}

# rx_wait: the sink ends on its own (--idle-ms); its exit status.
rx_wait() {
	wait_until 20 bash -c "! kill -0 $RX_PID 2>/dev/null" || kill "$RX_PID"
	wait "$RX_PID"
}

tx() { "$PKTGEN" tx --vhost-user "$S1" --dst-mac "$SINK_MAC" -j "$@"; }

# ---- the sink unknown to the switch: 10 kpps for 1 s, flooded -------------
# The sink sends nothing, so dpud never learns SINK_MAC: each frame is
# unknown unicast, flooded in the portgroup (vhost2, the uplink), and
# vhost2 gets each one exactly once.
check "rx attaches to vhost2 (both rings run)" rx_start flood
f0=$(flooded)
tx --rate 10000 --duration 1 >"$TMP/tx-flood.json" 2>"$TMP/tx-flood.err"
check_eq "tx at 10 kpps exits 0" 0 $?
check "tx attached to vhost1 and ran both rings" grep -q '"tx_packets"' "$TMP/tx-flood.json"
rx_wait
check_eq "rx exits 0 after 1 s without frames" 0 $?
sent=$(field "$TMP/tx-flood.json" tx_packets)
echo "# flooded: tx $(cat "$TMP/tx-flood.json")"
echo "# flooded: rx $(cat "$TMP/flood.json")"
check_eq "tx sent exactly rate x duration" 10000 "$sent"
check_eq "rx received every frame" "$sent" "$(field "$TMP/flood.json" rx_packets)"
check_eq "rx bytes: 66 B frames, without the virtio-net header" $((sent * 66)) "$(field "$TMP/flood.json" rx_bytes)"
check_eq "nothing lost" 0 "$(field "$TMP/flood.json" lost)"
check_eq "nothing reordered" 0 "$(field "$TMP/flood.json" reordered)"
check_eq "dpud flooded every frame (the sink's MAC is unknown)" "$sent" "$(($(flooded) - f0))"
check "rx rate near 10 kpps ($(field "$TMP/flood.json" rx_pps))" num_between "$(field "$TMP/flood.json" rx_pps)" 9000 11000
check "latency reported: p50 in (0, 10000) us ($(field "$TMP/flood.json" lat_p50_us))" \
	num_between "$(field "$TMP/flood.json" lat_p50_us)" 0.001 9999.999
check "latency reported: p99 >= p50" awk -v a="$(field "$TMP/flood.json" lat_p99_us)" \
	-v b="$(field "$TMP/flood.json" lat_p50_us)" 'BEGIN { exit !(a + 0 >= b + 0) }'

# ---- the sink announced: known unicast -------------------------------------
check "rx --announce attaches" rx_start known --announce "$SINK_MAC"
check "dpud learned the sink's MAC on vhost2 from its RARP" wait_until 5 learned
f0=$(flooded)
tx --rate 10000 --duration 1 --flows 100 >"$TMP/tx-known.json" 2>"$TMP/tx-known.err"
check_eq "tx to a known MAC exits 0" 0 $?
rx_wait
sent=$(field "$TMP/tx-known.json" tx_packets)
check_eq "known unicast: every frame received" "$sent" "$(field "$TMP/known.json" rx_packets)"
check_eq "known unicast: nothing lost or reordered" "0 0" "$(field "$TMP/known.json" lost) $(field "$TMP/known.json" reordered)"
check_eq "known unicast: nothing flooded" 0 "$(($(flooded) - f0))"

# ---- flat out for 1 s ------------------------------------------------------
rx_start max --announce "$SINK_MAC"
wait_until 5 learned
tx --rate max --duration 1 >"$TMP/tx-max.json" 2>"$TMP/tx-max.err"
check_eq "tx at max rate exits 0" 0 $?
rx_wait
echo "# max rate: tx $(cat "$TMP/tx-max.json")"
echo "# max rate: rx $(cat "$TMP/max.json")"
check "tx at max reports a positive rate" num_gt "$(field "$TMP/tx-max.json" tx_pps)" 0
check "rx at max reports a positive rate" num_gt "$(field "$TMP/max.json" rx_pps)" 0
check "no frame counted twice or out of order" bash -c "(( $(field "$TMP/max.json" rx_packets) <= $(field "$TMP/tx-max.json" tx_packets) )) && [[ $(field "$TMP/max.json" reordered) == 0 ]]"
check_eq "dpud saw no bad descriptor from either" 0 "$(($(port_field "$P" h1 vhost1 drops.vhost_bad_desc) + $(port_field "$P" h1 vhost2 drops.vhost_bad_desc)))"

# ---- signals ---------------------------------------------------------------
rx_start sig --idle-ms 0
kill -TERM "$RX_PID"
wait "$RX_PID"
check_eq "rx exits 0 on SIGTERM" 0 $?
check_eq "rx on SIGTERM still reports" 0 "$(field "$TMP/sig.json" rx_packets)"
detached() { [[ $(port_field "$P" h1 vhost2 vhost.attached) == false ]]; }
check "after rx goes, vhost2 has no client" wait_until 10 detached

# ---- errors ----------------------------------------------------------------
one_line_error() { # RC ARGS...: exit status RC and exactly one line on stderr
	local want=$1 err rc
	shift
	err=$("$PKTGEN" "$@" 2>&1 >/dev/null)
	rc=$?
	[[ $rc == "$want" && $(wc -l <<<"$err") == 1 && -n $err ]] ||
		{ echo "# $*: rc $rc: $err"; return 1; }
	echo "# $err"
}
check "tx to a socket that is not there: exit 1, one line" one_line_error 1 tx --vhost-user "$TMP/none.sock" --dst-mac "$SINK_MAC" --count 1
check "rx on a socket that is not there: exit 1, one line" one_line_error 1 rx --vhost-user "$TMP/none.sock"
check "--dev with --vhost-user: exit 2, one line" one_line_error 2 rx --vhost-user "$S2" --dev eth0
check "--announce without --vhost-user: exit 2, one line" one_line_error 2 rx --dev eth0 --announce "$SINK_MAC"

# A device that hangs up at once, then one that offers no VIRTIO_F_VERSION_1.
/usr/bin/python3 - "$TMP/bad.sock" <<'PY' >"$TMP/bad.log" 2>&1 &
import socket, struct, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(2)
c, _ = s.accept()
c.close()
c, _ = s.accept()
while True:
    h = c.recv(12)
    if len(h) < 12:
        break
    req, flags, size = struct.unpack("<III", h)
    if size:
        c.recv(size)
    if req == 1:  # GET_FEATURES: only MRG_RXBUF
        c.sendall(struct.pack("<IIIQ", 1, 0x5, 8, 1 << 15))
PY
PIDS+=($!)
wait_until 5 test -S "$TMP/bad.sock"
check "a device that hangs up: exit 1, one line" one_line_error 1 tx --vhost-user "$TMP/bad.sock" --dst-mac "$SINK_MAC" --count 1
check "a device without VIRTIO_F_VERSION_1: exit 1, one line" one_line_error 1 rx --vhost-user "$TMP/bad.sock"
check "dpud is still running" quiet daemon_pid "$P" h1-dpu1 dpud
check "no sanitizer reports from dse-pktgen" sanitizer_clean "$TMP"/*.err
finish
