#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The DPU-offloaded L2 switch, end to end: hostd pushes config to dpud over
# mTLS, VMs reach each other through the DPUs and the fabric.
#
#   h1-vm1 pg-a .11   h1-vm2 pg-a .12   h1-vm3 pg-b .13     h2-vm1 pg-a .21   h2-vm2 pg-b .22
#         \                |                /                      \                /
#        rep-vm1        rep-vm2        rep-vm3                   rep-vm1        rep-vm2
#         [ h1-dpu1: dse-dpud, VLAN 10 = pg-a, 20 = pg-b ]       [ h2-dpu1: dse-dpud ]
#           vmnic0 (active)  vmnic1 (standby)                      vmnic0     vmnic1
#               \________________\______ tor0 in P-fab _______________/__________/
#
# Every VM is in 198.18.10.0/24: what keeps pg-a and pg-b apart is the switch.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
require_root
trap cleanup EXIT

P=$(lab_prefix) || exit 1
TMP=$(mktemp -d /tmp/dse-switch.XXXXXX)
TEST_TMPDIRS+=("$TMP")
ctl() { dsectl_on "$P" "$@"; }
vm() { echo "$P-$1"; } # vm h1-vm1 -> netns name

echo "# lab $P"
lab_up "$P" --hosts 2 --dpus 1 >/dev/null || { not_ok "lab up"; finish; exit 1; }
check "hostd and dpud of both hosts answer" ctl h1 dpu list
check "dpu list shows the DPU ready with its vendor, model and firmware" \
	bash -c "[[ \$(DSE_LAB_CMD=$DSE_LAB $DSECTL --lab $P -H h1 -j dpu list | jq -r '.[0] | \"\(.state) \(.vendor) \(.model) \(.firmware) \(.address)\"') == 'ready dse-lab vdpu-2 1.0.0 169.254.1.2' ]]"

for h in h1 h2; do
	ctl $h portgroup add pg-a --vlan 10 && ctl $h portgroup add pg-b --vlan 20 ||
		not_ok "portgroup add on $h"
done
ctl h1 vm add vm1 --portgroup pg-a --ip 198.18.10.11/24 >/dev/null &&
	ctl h1 vm add vm2 --portgroup pg-a --ip 198.18.10.12/24 >/dev/null &&
	ctl h1 vm add vm3 --portgroup pg-b --ip 198.18.10.13/24 >/dev/null &&
	ctl h2 vm add vm1 --portgroup pg-a --ip 198.18.10.21/24 >/dev/null &&
	ctl h2 vm add vm2 --portgroup pg-b --ip 198.18.10.22/24 >/dev/null ||
	not_ok "vm add"
check "vm list shows three VMs on h1" \
	bash -c "[[ \$(DSE_LAB_CMD=$DSE_LAB $DSECTL --lab $P -H h1 -j vm list | jq length) == 3 ]]"
check "portgroup list shows pg-a with vm1,vm2" \
	bash -c "DSE_LAB_CMD=$DSE_LAB $DSECTL --lab $P -H h1 portgroup list | grep -Eq '^pg-a +10 +1500 +vm1,vm2'"
M11=$(ip -n "$(vm h1-vm1)" -o link show eth0 | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
M12=$(ip -n "$(vm h1-vm2)" -o link show eth0 | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
M21=$(ip -n "$(vm h2-vm1)" -o link show eth0 | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')

# ---- reachability and isolation ----
check "ping within a portgroup on one host (h1-vm1 -> h1-vm2)" wait_until 10 ping_ok "$(vm h1-vm1)" 198.18.10.12
check "ping within a portgroup across hosts (h1-vm1 -> h2-vm1)" wait_until 10 ping_ok "$(vm h1-vm1)" 198.18.10.21
check "ping within pg-b across hosts (h1-vm3 -> h2-vm2)" wait_until 10 ping_ok "$(vm h1-vm3)" 198.18.10.22
check "no ping across portgroups on one host (h1-vm1 -> h1-vm3)" bash -c "! ip netns exec $(vm h1-vm1) ping -c 2 -i 0.2 -W 1 198.18.10.13 >/dev/null"
check "no ping across portgroups across hosts (h1-vm1 -> h2-vm2)" bash -c "! ip netns exec $(vm h1-vm1) ping -c 2 -i 0.2 -W 1 198.18.10.22 >/dev/null"

head -c 20000000 /dev/urandom >"$TMP/blob"
WANT="20000000 $(sha256sum "$TMP/blob" | cut -d' ' -f1)"
tcp_transfer() { # SERVER_NS SERVER_IP CLIENT_NS: 20 MB over TCP arrive intact
	local out=$TMP/sink.$RANDOM
	ip netns exec "$1" /usr/bin/python3 "$SYSTEST_DIR/tcp-sink.py" 5201 "$out" &
	local spid=$!
	wait_until 10 test -e "$out.ready" || return 1
	ip netns exec "$3" timeout 60 bash -c "cat $TMP/blob >/dev/tcp/$2/5201"
	wait "$spid"
	[[ $(cat "$out" 2>/dev/null) == "$WANT" ]]
}
check "TCP transfer of 20 MB within a host, byte for byte (h1-vm2 -> h1-vm1)" tcp_transfer "$(vm h1-vm1)" 198.18.10.11 "$(vm h1-vm2)"
check "TCP transfer of 20 MB across hosts, byte for byte (h2-vm1 -> h1-vm1)" tcp_transfer "$(vm h1-vm1)" 198.18.10.11 "$(vm h2-vm1)"

# ---- flooding stays in the VLAN, learning stops flooding ----
for v in h1-vm2 h1-vm3 h2-vm1 h2-vm2; do
	check "capture on $v started" capture_start "$(vm $v)" "$TMP/$v.pcap"
done
UNKNOWN=02:d5:ee:00:00:01
# Each probe has its own ethertype so that captures can count it exactly.
T_FLOOD=0x88b5 T_UNICAST=0x88b6 T_BARRIER1=0x88b7 T_BARRIER2=0x88b8 T_HELLO=0x88b9
T_PGB=0x88ba
count() { capture_count "$TMP/$1.pcap" ether proto "$2"; }
send_frames "$(vm h1-vm1)" "dst=$UNKNOWN,src=$M11,type=$T_FLOOD"
# A broadcast barrier: once h2-vm1 sees it, anything sent before it has arrived.
send_frames "$(vm h1-vm1)" "src=$M11,type=$T_BARRIER1"
wait_until 10 bash -c "[[ \$(tcpdump -r $TMP/h2-vm1.pcap --count ether proto $T_BARRIER1 2>/dev/null | cut -d' ' -f1) -ge 1 ]]"
# The unknown MAC now speaks from h1-vm2: learned on rep-vm2.
send_frames "$(vm h1-vm2)" "src=$UNKNOWN,type=$T_HELLO"
wait_until 10 bash -c "[[ \$(DSE_LAB_CMD=$DSE_LAB $DSECTL --lab $P -H h1 -j mac list | jq -r '.[] | select(.mac == \"$UNKNOWN\") | .port') == rep-vm2 ]]"
send_frames "$(vm h1-vm1)" "dst=$UNKNOWN,src=$M11,type=$T_UNICAST" "src=$M11,type=$T_BARRIER2"
wait_until 10 bash -c "[[ \$(tcpdump -r $TMP/h2-vm1.pcap --count ether proto $T_BARRIER2 2>/dev/null | cut -d' ' -f1) -ge 1 ]]"
wait_until 10 bash -c "[[ \$(tcpdump -r $TMP/h1-vm2.pcap --count ether proto $T_BARRIER2 2>/dev/null | cut -d' ' -f1) -ge 1 ]]"
# The positive control of pg-b's captures: a broadcast inside pg-b, from each
# of its VMs, reaches the other; so a count of 0 below is a frame that did
# not come, not a capture that saw nothing.
M13=$(ip -n "$(vm h1-vm3)" -o link show eth0 | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
M22=$(ip -n "$(vm h2-vm2)" -o link show eth0 | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
send_frames "$(vm h2-vm2)" "src=$M22,type=$T_PGB"
send_frames "$(vm h1-vm3)" "src=$M13,type=$T_PGB"
pgb_seen() {
	[[ $(capture_count "$TMP/h1-vm3.pcap" ether src "$M22" and ether proto $T_PGB) == 1 &&
		$(capture_count "$TMP/h2-vm2.pcap" ether src "$M13" and ether proto $T_PGB) == 1 ]]
}
check "control: pg-b's captures see pg-b's own broadcasts (h2-vm2 <-> h1-vm3)" wait_until 10 pgb_seen
check_eq "unknown unicast flooded to h1-vm2 (same portgroup, same DPU)" 1 "$(count h1-vm2 $T_FLOOD)"
check_eq "unknown unicast flooded across the fabric to h2-vm1" 1 "$(count h2-vm1 $T_FLOOD)"
check_eq "unknown unicast not flooded into pg-b (h1-vm3)" 0 "$(count h1-vm3 $T_FLOOD)"
check_eq "unknown unicast not flooded into pg-b on the other host (h2-vm2)" 0 "$(count h2-vm2 $T_FLOOD)"
check_eq "broadcast not seen in pg-b" 0 "$(count h1-vm3 $T_BARRIER1)"
check_eq "once learned, unicast reaches h1-vm2" 1 "$(count h1-vm2 $T_UNICAST)"
check_eq "once learned, unicast no longer crosses the fabric" 0 "$(count h2-vm1 $T_UNICAST)"
check_eq "once learned, unicast no longer reaches pg-b" 0 "$(count h1-vm3 $T_UNICAST)"
capture_stop_all
check "the learned MAC is listed on rep-vm2" bash -c "[[ \$(DSE_LAB_CMD=$DSE_LAB $DSECTL --lab $P -H h1 mac list | grep $UNKNOWN | awk '{print \$4}') == rep-vm2 ]]"

# ---- MAC move ----
moves0=$(port_field "$P" h1 rep-vm1 mac_moves)
send_frames "$(vm h1-vm1)" "src=$UNKNOWN,type=$T_HELLO"
check "a MAC that shows up on another port moves there" wait_until 10 bash -c "[[ \$(DSE_LAB_CMD=$DSE_LAB $DSECTL --lab $P -H h1 -j mac list | jq -r '.[] | select(.mac == \"$UNKNOWN\") | .port') == rep-vm1 ]]"
check_eq "the move is counted on the new port" $((moves0 + 1)) "$(port_field "$P" h1 rep-vm1 mac_moves)"
check "the move is logged by dpud" grep -q "mac $UNKNOWN moved from rep-vm2" "$DSE_LAB_DIR/$P/h1-dpu1/log/dpud.log"

# ---- ageing ----
ctl h1 switch set --mac-age 2
check "switch show reports the new ageing time" bash -c "DSE_LAB_CMD=$DSE_LAB $DSECTL --lab $P -H h1 switch show | grep -q 'MAC ageing 2s'"
check "a silent MAC ages out of the table" wait_until 15 bash -c "[[ -z \$(DSE_LAB_CMD=$DSE_LAB $DSECTL --lab $P -H h1 -j mac list | jq -r '.[] | select(.mac == \"$UNKNOWN\") | .port') ]]"
# The listing hides an expired entry at once; the once-a-second sweep counts it.
check "ageing is counted" wait_until 5 bash -c "[[ \$(DSE_LAB_CMD=$DSE_LAB $DSECTL --lab $P -H h1 -j switch show | jq '.dpus.dpu1.mac_table.aged') -ge 1 ]]"
ctl h1 switch set --mac-age 300

# ---- malformed frames ----
ip -n "$(vm h1-vm1)" link set eth0 mtu 9000
before=$(dsectl_on "$P" h1 -j port list | jq -c '.[] | select(.name == "rep-vm1") | .drops')
send_frames "$(vm h1-vm1)" \
	"dst=$M12,src=$M11,len=3000,payload=too-big" \
	"dst=$M12,src=$M11,vlan=10,payload=tagged-on-access" \
	"dst=$M12,src=01:00:5e:00:00:01,payload=multicast-source" \
	"dst=$M12,src=$M11,vlan=10,vlan2=20,payload=qinq" \
	"dst=$M12,src=$M11,vlan=10,len=16" \
	"dst=$M12,src=$M11,len=10" 2>/dev/null
drop() { dsectl_on "$P" h1 -j port list | jq --arg r "$1" '.[] | select(.name == "rep-vm1") | .drops[$r]'; }
delta() { echo $(($(drop "$1") - $(jq --arg r "$1" '.[$r]' <<<"$before"))); }
wait_until 10 bash -c "[[ \$(DSE_LAB_CMD=$DSE_LAB $DSECTL --lab $P -H h1 -j port list | jq '.[] | select(.name == \"rep-vm1\") | .drops.qinq') -ge 1 ]]"
check_eq "oversize frame counted as a drop" 1 "$(delta oversize)"
check_eq "802.1Q frame on an access port counted as a drop" 1 "$(delta tagged_on_access)"
check_eq "multicast source MAC counted as a drop" 1 "$(delta bad_src_mac)"
check_eq "stacked 802.1Q tags counted as a drop" 1 "$(delta qinq)"
ip -n "$(vm h1-vm1)" link set eth0 mtu 1500
check "traffic continues after malformed frames" ping_ok "$(vm h1-vm1)" 198.18.10.21
check "dpud is still running" quiet daemon_pid "$P" h1-dpu1 dpud

# ---- uplink teaming: failover on carrier loss ----
active() { dsectl_on "$P" h1 -j port list | jq -r '.[] | select(.role == "active") | .name'; }
check_eq "vmnic0 is the active uplink" vmnic0 "$(active)"
ip -n "$P-fab" link set h1-vmnic0 down
check "cutting vmnic0 makes vmnic1 active" wait_until 5 bash -c "[[ \$(DSE_LAB_CMD=$DSE_LAB $DSECTL --lab $P -H h1 -j port list | jq -r '.[] | select(.role == \"active\") | .name') == vmnic1 ]]"
check "cross-host traffic flows over the standby uplink" wait_until 10 ping_ok "$(vm h1-vm1)" 198.18.10.21
check "the failover is counted" bash -c "[[ \$(DSE_LAB_CMD=$DSE_LAB $DSECTL --lab $P -H h1 -j switch show | jq '.dpus.dpu1.team.failovers') -ge 1 ]]"
ip -n "$P-fab" link set h1-vmnic0 up
check "vmnic0 becomes active again when its carrier returns" wait_until 5 bash -c "[[ \$(DSE_LAB_CMD=$DSE_LAB $DSECTL --lab $P -H h1 -j port list | jq -r '.[] | select(.role == \"active\") | .name') == vmnic0 ]]"
check "traffic flows after failback" wait_until 10 ping_ok "$(vm h1-vm1)" 198.18.10.21

# ---- dpud restart: hostd pushes the config again ----
check "dpud stops on SIGTERM" stop_daemon "$P" h2-dpu1 dpud
check "dpu list shows a killed DPU unreachable" wait_until 5 bash -c "DSE_LAB_CMD=$DSE_LAB $DSECTL --lab $P -H h2 dpu list | grep -q unreachable"
lab_up "$P" --hosts 2 --dpus 1 >/dev/null
check "after dpud restarts, hostd re-pushes config and traffic flows" wait_until 15 ping_ok "$(vm h1-vm1)" 198.18.10.21

# ---- vm del ----
ctl h1 vm del vm2
check "vm del removes the VM's namespace" bash -c "! ip netns list | grep -qw $P-h1-vm2"
check "vm del removes the switch port" bash -c "[[ -z \$(DSE_LAB_CMD=$DSE_LAB $DSECTL --lab $P -H h1 -j port list | jq -r '.[] | select(.name == \"rep-vm2\") | .name') ]]"

lab_down "$P" >/dev/null
check_eq "down leaves no namespace" 0 "$(netns_count_with_prefix "$P")"
check_eq "down leaves no cgroup" 0 "$(cgroup_count_with_prefix "$P")"
check_eq "down leaves no process" "" "$(lab_procs "$P")"
finish
