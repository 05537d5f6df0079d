#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The eswitch tier: known unicast flows run in XDP on the DPU's ports, never
# reaching dpud; everything else stays in the slow path, which says why.
#
#   h1-vm1 .11 --rep-vm1--+                          +--rep-vm1-- h2-vm1 .21
#   h1-vm2 .12 --rep-vm2--[h1-dpu1 xdp+dpud] vmnic0/1 == tor0 == vmnic0/1 [h2-dpu1 xdp+dpud]
set -uo pipefail
. "$(dirname "$0")/lib.sh"
require_root
trap cleanup EXIT

P=$(lab_prefix) || exit 1
TMP=$(mktemp -d /tmp/dse-eswitch.XXXXXX)
TEST_TMPDIRS+=("$TMP")
lab_vms "$P" --hosts 2 -- h1-vm1=198.18.10.11 h2-vm1=198.18.10.21 h1-vm2=198.18.10.12 ||
	{ not_ok "lab with VMs"; finish; exit 1; }
M11=$(vm_mac "$P" h1-vm1) M12=$(vm_mac "$P" h1-vm2) M21=$(vm_mac "$P" h2-vm1)
check "dpud loaded the eswitch" grep -q "eswitch: xdp flow tier loaded" "$DSE_LAB_DIR/$P/h1-dpu1/log/dpud.log"
check "every switch port runs the eswitch" bash -c "[[ \$(DSE_LAB_CMD=$DSE_LAB $DSECTL --lab $P -H h1 -j port list | jq '[.[] | select(.eswitch != \"xdp\")] | length') == 0 ]]"
check "every switch port's misses reach dpud through AF_XDP" bash -c "[[ \$(DSE_LAB_CMD=$DSE_LAB $DSECTL --lab $P -H h1 -j port list | jq '[.[] | select(.backend != \"afxdp\")] | length') == 0 ]]"

# flows FILTER: eswitch flows of h1 matching a jq condition on a flow.
flows() { dsectl_on "$P" h1 -j flow list | jq "[.[] | select(.where == \"eswitch\") | select($1)] | length"; }
slow_rx() { dsectl_on "$P" h1 -j port list | jq --arg p "$1" '.[] | select(.name == $p) | .rx_packets - .eswitch_rx_packets'; }

rx0=$(port_field "$P" h1 rep-vm1 rx_packets) slow0=$(slow_rx rep-vm1)
ip netns exec "$P-h2-vm1" /usr/bin/python3 "$SYSTEST_DIR/tcp-sink.py" 5201 "$TMP/sink" &
wait_until 10 test -e "$TMP/sink.ready"
"$DSE_LAB" exec --prefix "$P" h1-vm1 -- timeout 60 bash -c "head -c 50000000 /dev/zero >/dev/tcp/198.18.10.21/5201"
wait
check_eq "50 MB crossed the fabric" 50000000 "$(cut -d' ' -f1 "$TMP/sink")"
rx=$(($(port_field "$P" h1 rep-vm1 rx_packets) - rx0)) slow=$(($(slow_rx rep-vm1) - slow0))
echo "# rep-vm1 received $rx frames, $slow of them in the slow path"
check "the transfer's flow to the fabric ran in the eswitch (push VLAN 10)" \
	test "$(flows ".in_port == \"rep-vm1\" and .src == \"$M11\" and .dst == \"$M21\" and .actions == \"push_vlan:10,output:vmnic0\"")" = 1
check "the reverse flow ran in the eswitch (pop VLAN)" \
	test "$(flows ".in_port == \"vmnic0\" and .vlan == \"10\" and .src == \"$M21\" and .dst == \"$M11\" and .actions == \"pop_vlan,output:rep-vm1\"")" = 1
check "at most 1% of the transfer's frames reached dpud ($slow of $rx)" test $((slow * 100)) -le "$rx"
check "port counters include what the eswitch forwarded" test "$rx" -ge 34000
check "the slow path says why broadcasts stay in software" bash -c \
	"DSE_LAB_CMD=$DSE_LAB $DSECTL --lab $P -H h1 flow list | grep software | grep -q 'broadcast or multicast: flooded'"

# MTU policing still holds for a flow that is in the eswitch.
ip netns exec "$P-h1-vm1" ping -c 2 -i 0.2 -W 1 198.18.10.12 >/dev/null
check "a local flow h1-vm1 -> h1-vm2 is in the eswitch" test "$(flows ".src == \"$M11\" and .dst == \"$M12\"")" = 1
ov0=$(port_field "$P" h1 rep-vm1 drops.oversize)
ip -n "$P-h1-vm1" link set eth0 mtu 9000
send_frames "$P-h1-vm1" "dst=$M12,src=$M11,type=0x0800,len=3000"
ip -n "$P-h1-vm1" link set eth0 mtu 1500
check "an oversize frame on an eswitch flow is still dropped and counted" \
	wait_until 5 bash -c "[[ \$(DSE_LAB_CMD=$DSE_LAB $DSECTL --lab $P -H h1 -j port list | jq '.[] | select(.name == \"rep-vm1\") | .drops.oversize') -gt $ov0 ]]"

# Jumbo frames: the AF_XDP slow path takes a 9000-byte frame as a chain of
# umem chunks (and sends it as one), then the eswitch carries the flow.
for h in 1 2; do
	dsectl_on "$P" h$h portgroup add pg-j --vlan 30 --mtu 9000 >/dev/null
	dsectl_on "$P" h$h vm add vm9 --portgroup pg-j --ip 198.18.30.$((h * 10 + 9))/24 >/dev/null
	ip -n "$P-h$h-vm9" link set eth0 mtu 9000
done
M19=$(vm_mac "$P" h1-vm9) M29=$(vm_mac "$P" h2-vm9)
check "an 8900-byte ping crosses hosts in a portgroup of MTU 9000" \
	wait_until 10 ip netns exec "$P-h1-vm9" ping -c 1 -W 1 -s 8900 -M do 198.18.30.29
check "its first frame went through the AF_XDP slow path" bash -c \
	"DSE_LAB_CMD=$DSE_LAB $DSECTL --lab $P -H h1 -j flow list | jq -e '.[] | select(.where == \"software\" and .src == \"$M19\" and .dst == \"$M29\" and .packets >= 1)' >/dev/null"
ip netns exec "$P-h1-vm9" ping -c 3 -i 0.2 -W 1 -s 8900 -M do 198.18.30.29 >/dev/null
check "and the rest through the eswitch" test "$(flows ".src == \"$M19\" and .dst == \"$M29\" and .packets >= 2")" = 1

# A MAC move invalidates the flows of that MAC at once.
send_frames "$P-h1-vm2" "src=$M11,type=0x88b9"
check "after h1-vm1's MAC moves, no eswitch flow uses it" \
	wait_until 5 bash -c "[[ \$(DSE_LAB_CMD=$DSE_LAB $DSECTL --lab $P -H h1 -j flow list | jq '[.[] | select(.where == \"eswitch\") | select(.src == \"$M11\" or .dst == \"$M11\")] | length') == 0 ]]"
send_frames "$P-h1-vm1" "src=$M11,type=0x88b9" # move it back

# Failover: flows through vmnic0 go; new ones use vmnic1.
ip netns exec "$P-h1-vm1" ping -c 2 -i 0.2 -W 1 198.18.10.21 >/dev/null
ip -n "$P-fab" link set h1-vmnic0 down
wait_until 5 bash -c "[[ \$(DSE_LAB_CMD=$DSE_LAB $DSECTL --lab $P -H h1 -j port list | jq -r '.[] | select(.role == \"active\") | .name') == vmnic1 ]]"
check_eq "after failover no flow outputs to the dead uplink" 0 "$(flows '.actions | test("vmnic0")')"
check "traffic resumes over vmnic1" wait_until 10 ping_ok "$P-h1-vm1" 198.18.10.21
check "and its flow to the fabric runs in the eswitch via vmnic1" \
	test "$(flows ".src == \"$M11\" and .dst == \"$M21\" and .actions == \"push_vlan:10,output:vmnic1\"")" = 1
ip -n "$P-fab" link set h1-vmnic0 up

# Frames on the standby uplink never hit a flow: they are dropped and counted.
wait_until 5 bash -c "[[ \$(DSE_LAB_CMD=$DSE_LAB $DSECTL --lab $P -H h1 -j port list | jq -r '.[] | select(.role == \"active\") | .name') == vmnic0 ]]"
check "traffic after failback" wait_until 10 ping_ok "$P-h1-vm1" 198.18.10.21
sb0=$(port_field "$P" h1 vmnic1 drops.standby_uplink)
send_frames "$P-h2-vm1" "src=$M21,type=0x88b7"
check "a broadcast the fabric floods to the standby uplink is dropped there" \
	wait_until 5 bash -c "[[ \$(DSE_LAB_CMD=$DSE_LAB $DSECTL --lab $P -H h1 -j port list | jq '.[] | select(.name == \"vmnic1\") | .drops.standby_uplink') -gt $sb0 ]]"

ip netns exec "$P-h1-vm1" ping -c 2 -i 0.2 -W 1 198.18.10.12 >/dev/null
stop_daemon "$P" h1-dpu1 dpud
check "with dpud stopped, the eswitch forwards nothing (no orphan flows)" \
	bash -c "! ip netns exec $P-h1-vm1 ping -c 2 -i 0.2 -W 1 198.18.10.12 >/dev/null"

# Without the eswitch nothing steers frames to an AF_XDP socket: dpud picks
# AF_PACKET by itself, and the switch works as before.
DSE_DPUD_ARGS="--eswitch off" lab_up "$P" --hosts 2 >/dev/null
check "with --eswitch off every port falls back to AF_PACKET" wait_until 15 bash -c \
	"[[ \$(DSE_LAB_CMD=$DSE_LAB $DSECTL --lab $P -H h1 -j port list | jq -r '[.[] | .backend] | unique | join(\",\")') == afpacket ]]"
check "and traffic flows through it" wait_until 10 ping_ok "$P-h1-vm1" 198.18.10.12
finish
