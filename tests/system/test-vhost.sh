#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# vhost-user ports: Debian's dpdk-testpmd attaches with virtio_user to a port
# that dpud serves on a Unix socket, and answers a lab VM's ARP and ping
# (icmpecho) through the DPU's switch; testpmd restarts and attaches again;
# dpud restarts (testpmd's client does not reconnect by itself); a client
# that breaks the protocol is dropped without harm.  Client mode: testpmd
# listens (virtio_user server=1), dpud connects, and connects again after
# either side restarts.
#
#   h1-vm1 .11 --veth-- rep-vm1 --[h1-dpu1 dpud switch, pg-a]-- vhost0 (vhost-user)
#                                                                  | run/vhost/vhost0.sock
#                                                     dpdk-testpmd --vdev net_virtio_user0
#                                                     icmpecho: answers ARP/ping for .99
set -uo pipefail
. "$(dirname "$0")/lib.sh"
require_root
command -v dpdk-testpmd >/dev/null || skip "dpdk-testpmd not installed (scripts/install-deps)"
P=$(lab_prefix) || exit 1
TMP=$(mktemp -d /tmp/dse-vhost.XXXXXX)
TEST_TMPDIRS+=("$TMP")
TP_PREFIX=dse-$P-tp # testpmd's --file-prefix: its runtime dir /var/run/dpdk/$TP_PREFIX
TP_MAC=02:d5:00:01:ff:01
TP_PID=

# tp_start [VDEV-OPTIONS]: testpmd attached to vhost0 (or, with options, as
# they say), answering ARP and ping, in the background.
tp_start() {
	dpdk-testpmd --no-huge -m 256 --no-pci -l 0,1 --file-prefix "$TP_PREFIX" \
		--vdev "net_virtio_user0,${1:-path=$SOCK},queues=1,mac=$TP_MAC" \
		-- --forward-mode=icmpecho --auto-start --stats-period 1 --total-num-mbufs=2048 \
		</dev/null >>"$TMP/testpmd.log" 2>&1 &
	TP_PID=$!
}

trap tp_on_exit EXIT

vh() { port_field "$P" h1 vhost0 "$1"; }
attached() { [[ $(vh vhost.attached) == "$1" ]]; }
carrier() { [[ $(vh carrier) == "$1" ]]; }
running() {
	[[ $(dsectl_on "$P" h1 -j port list | jq '[.[] | select(.name == "vhost0") | .vhost.rings[] | select(.running)] | length') == 2 ]]
}

lab_vms "$P" --hosts 1 -- h1-vm1=198.18.10.11 || { not_ok "lab with a VM"; finish; exit 1; }
SOCK=$DSE_LAB_DIR/$P/h1-dpu1/run/vhost/vhost0.sock

check "dsectl port add --vhost-user" quiet dsectl_on "$P" h1 port add vhost0 --portgroup pg-a --vhost-user
check "dpud listens on the port's socket" wait_until 10 test -S "$SOCK"
check_eq "port list: backend vhost-user" vhost-user "$(vh backend)"
check_eq "port list: the socket path" "$SOCK" "$(vh vhost.socket)"
check "port list: no client attached yet, carrier down" bash -c "[[ \$(DSE_LAB_CMD=$DSE_LAB $DSECTL --lab $P -H h1 -j port list | jq -r '.[] | select(.name == \"vhost0\") | \"\(.vhost.attached) \(.carrier)\"') == 'false false' ]]"
check "port list says the vhost-user port is not on the eswitch" test "$(vh eswitch)" = null
check "a name that is not a vhost-user port is refused" bash -c "! DSE_LAB_CMD=$DSE_LAB $DSECTL --lab $P -H h1 port add rep-x --portgroup pg-a --vhost-user 2>/dev/null"

tp_start
check "testpmd attaches (virtio_user client)" wait_until 20 attached true
check "both rings run, with mergeable receive buffers" wait_until 10 running
check_eq "the client negotiated MRG_RXBUF" true "$(vh vhost.mrg_rxbuf)"
dsectl_on "$P" h1 port list | sed 's/^/# /'
check "the VM pings testpmd (ARP and ICMP echo through the switch)" wait_until 20 ping_ok "$P-h1-vm1" 198.18.10.99
check "the VM learned testpmd's MAC" bash -c "ip -n $P-h1-vm1 neigh show 198.18.10.99 | grep -q $TP_MAC"
check "frames crossed both ways" bash -c "(( \$(DSE_LAB_CMD=$DSE_LAB $DSECTL --lab $P -H h1 -j port list | jq '.[] | select(.name == \"vhost0\") | .vhost.from_guest * .vhost.to_guest') > 0 ))"
check_eq "testpmd's MAC is learned on vhost0" vhost0 "$(mac_port "$P" h1 "$TP_MAC")"
ip netns exec "$P-h1-vm1" ping -c 3 -i 0.2 -W 1 198.18.10.99 >/dev/null
check "flow list: the flows to vhost0 stay in software and say why" bash -c \
	"DSE_LAB_CMD=$DSE_LAB $DSECTL --lab $P -H h1 flow list | grep software | grep -q 'vhost0 is a vhost-user port'"
check_eq "no bad descriptors, oversize or short frames" 0 "$(($(vh drops.vhost_bad_desc) + $(vh drops.vhost_oversize) + $(vh drops.vhost_short)))"

# ---- testpmd restarts: the port listens again and it attaches again ----
tp_stop
check "after testpmd exits, the port has no client" wait_until 10 attached false
check "and its carrier is down" wait_until 5 carrier false
check "testpmd cleaned up (no runtime dir left)" test ! -e "/var/run/dpdk/$TP_PREFIX"
tp_start
check "a restarted testpmd attaches again" wait_until 20 attached true
check "traffic flows again" wait_until 20 ping_ok "$P-h1-vm1" 198.18.10.99
check "port list counts two attaches" test "$(vh vhost.attaches)" -ge 2

# ---- a client that breaks the protocol: dropped, the port lives on ----
tp_stop
wait_until 10 attached false
/usr/bin/python3 - "$SOCK" <<'PY'
import socket, struct, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(struct.pack("<III", 1, 1, 0) + struct.pack("<III", 99, 1, 3) + b"abc")
s.sendall(struct.pack("<III", 2, 1, 1 << 30))  # a payload larger than any message
s.recv(64)
PY
check "a client that breaks the framing is dropped and logged" wait_until 10 grep -q "port=vhost0: client broke the message framing" "$DSE_LAB_DIR/$P/h1-dpu1/log/dpud.log"
check "an unknown request is logged" grep -q "port=vhost0: unsupported request 99" "$DSE_LAB_DIR/$P/h1-dpu1/log/dpud.log"
check "dpud is still running" quiet daemon_pid "$P" h1-dpu1 dpud
tp_start
check "testpmd attaches after the bad client" wait_until 20 attached true
check "and traffic flows" wait_until 20 ping_ok "$P-h1-vm1" 198.18.10.99

# ---- dpud restarts: virtio_user (server=0) does not reconnect by itself ----
stop_daemon "$P" h1-dpu1 dpud
lab_up "$P" --hosts 1 >/dev/null
check "after dpud restarts, hostd re-creates the port and it listens" wait_until 15 attached false ||
	{ dsectl_on "$P" h1 port list; tail -20 "$DSE_LAB_DIR/$P/h1-dpu1/log/dpud.log"; } | sed 's/^/# /'
check "testpmd (virtio_user client) stays detached" bash -c "[[ \$(DSE_LAB_CMD=$DSE_LAB $DSECTL --lab $P -H h1 -j port list | jq -r '.[] | select(.name == \"vhost0\") | .vhost.attached') == false ]]"
tp_stop
tp_start
check "a new testpmd attaches to the restarted dpud" wait_until 20 attached true
check "traffic flows through the restarted dpud" wait_until 20 ping_ok "$P-h1-vm1" 198.18.10.99

# ---- port del ----
tp_stop
check "dsectl port del" quiet dsectl_on "$P" h1 port del vhost0
check "the port is gone" wait_until 10 bash -c "[[ -z \$(DSE_LAB_CMD=$DSE_LAB $DSECTL --lab $P -H h1 -j port list | jq -r '.[] | select(.name == \"vhost0\") | .name') ]]"
check "its socket is gone" test ! -e "$SOCK"

# ---- client mode: the front-end listens, dpud connects (and reconnects) ----
CSOCK=$TMP/testpmd.sock
v1() { port_field "$P" h1 vhost1 "$1"; }
attached1() { [[ $(v1 vhost.attached) == "$1" ]]; }
check "a relative --connect path is refused" \
	bash -c "! DSE_LAB_CMD=$DSE_LAB $DSECTL --lab $P -H h1 port add vhost1 --portgroup pg-a --vhost-user --connect x.sock 2>/dev/null"
check "dsectl port add --vhost-user --connect" \
	quiet dsectl_on "$P" h1 port add vhost1 --portgroup pg-a --vhost-user --connect "$CSOCK"
check_eq "port list: client mode" client "$(v1 vhost.mode)"
check_eq "port list: the front-end's socket" "$CSOCK" "$(v1 vhost.socket)"
check "no front-end yet: not attached" wait_until 10 attached1 false
tp_start "path=$CSOCK,server=1"
check "dpud connects to testpmd (virtio_user server=1)" wait_until 20 attached1 true
check "traffic flows" wait_until 20 ping_ok "$P-h1-vm1" 198.18.10.99
stop_daemon "$P" h1-dpu1 dpud
lab_up "$P" --hosts 1 >/dev/null
check "after dpud restarts, it connects again by itself" wait_until 20 attached1 true
check "traffic flows through the restarted dpud" wait_until 30 ping_ok "$P-h1-vm1" 198.18.10.99
tp_stop
check "after testpmd exits, dpud is detached" wait_until 10 attached1 false
tp_start "path=$CSOCK,server=1"
check "after testpmd restarts, dpud connects again" wait_until 20 attached1 true
check "traffic flows again" wait_until 30 ping_ok "$P-h1-vm1" 198.18.10.99
tp_stop
check "dsectl port del (client mode)" quiet dsectl_on "$P" h1 port del vhost1
finish
