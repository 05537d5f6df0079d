#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# failover-gap-*: how long the VMs of a host lose their network when its
# active DPU fails, and how many packets they lose, for
#
#   kill  the active DPU's dpud killed (SIGKILL)
#   hang  the active DPU's dpud stopped (SIGSTOP): alive, silent
#   cut   both uplink cables of the active DPU cut (carrier lost)
#
# Two UDP sequence streams of RATE packets/s (dse-pktgen --udp), one each way
# between h1-vm1 (the host whose DPU fails) and h2-vm1 (another host); a run
# starts both, brings the fault 1 s in, and takes the longest gap between two
# packets either stream received (the fault's gap: at 10,000 packets/s a
# normal gap is 0.1 ms) and the packets both lost.  Then the failed DPU comes
# back as the standby and the next run fails the new active one.  hostd runs
# with its defaults (a heartbeat every 2 ms, failure after 3 missed); its
# decision's time (host.info's last_failover_unix_us) less the fault's is the
# measured detection time, against the configured 3 x 2 ms.
#
#   [h1-vm1] eth0 -VF mux- eth1        [h2-vm1]
#      |                     |             |
#   [h1-dpu1] active   [h1-dpu2] standby  [h2-dpu1]
#      h1-vmnic0,1          h1-vmnic2,3    h2-vmnic0
#        \____________ fabric tor0 ____________/
#
# Anchors, measured the same way in namespaces of their own (this kernel has
# no bonding or team driver, so no kernel bond), each in its fair setting and,
# labelled "-slow", in the slower setting the first figures used:
#
#   ovs-bond-carrier  (cut) Open vSwitch's userspace datapath between the VM
#       and two uplinks bonded active-backup, in its default carrier
#       detection (bond-detect-mode=carrier: the kernel's link notifications);
#       the fault: the active member's cable cut.
#   ovs-bond-miimon100-slow  the same bond polling the link every 100 ms
#       (bond-detect-mode=miimon, bond-miimon-interval=100).
#   keepalived-vrrp3-10ms  (kill) two routers between two VM segments,
#       keepalived VRRPv3 at the shortest advertisement interval it accepts
#       (advert_int 0.01: 10 ms; a sync group of both segments' gateway
#       addresses); the fault: the master's keepalived killed (SIGKILL) and
#       its forwarding stopped, as when a DPU's software dies.  A hang
#       (SIGSTOP) is the same to VRRP: advertisements stop.
#   keepalived-vrrp-1s-slow  the same with VRRPv2 and keepalived's default 1 s
#       advertisements.
#
#   [ovm1] - [OVS, bond up0|up1] = [tor bridge] - [ovm2]
#   [kvm1] - [lan bridge] < [r1 master, r2 backup] > [far bridge] - [kvm2]
#
# Prints one JSON object per figure.
#
#   bench/failover.sh [--quick]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/tests/system/lib.sh"
. "$top/bench/lib.sh"
require_root

runs=20 rate=10000
if [[ ${1:-} == --quick ]]; then runs=5; fi
bench_tmp
PKTGEN=$DSE_BUILD_DIR/tools/pktgen/dse-pktgen
DUR=3 # seconds of traffic a run; the fault 1 s in

# The anchors' namespaces: their own prefix, deleted with their processes.
A=$(lab_prefix)
anchor_ns=(ovm1 ovs tor ovm2 kvm1 lan r1 r2 far kvm2)
anchor_cleanup() {
	local n
	for n in "${anchor_ns[@]}"; do
		[[ -e /run/netns/$A-$n ]] || continue
		ip netns pids "$A-$n" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
		ip netns del "$A-$n" 2>/dev/null
	done
}
TEST_CLEANUPS+=(anchor_cleanup)
trap cleanup EXIT

# streams NS1 ADDR1 NS2 ADDR2 FAULT [ARG]: the two streams, FAULT ARG 1 s in;
# prints "GAP_MS LOST FAULT_UNIX_US" (FAULT calls mark at the fault's moment).
streams() {
	local ns1=$1 a1=$2 ns2=$3 a2=$4 fault=$5 arg=${6:-} r1 r2 t0
	ip netns exec "$ns2" "$PKTGEN" rx --udp 9000 --duration $((DUR + 1)) --idle-ms 0 -j >"$TMPB/rx2" 2>/dev/null &
	r2=$!
	ip netns exec "$ns1" "$PKTGEN" rx --udp 9001 --duration $((DUR + 1)) --idle-ms 0 -j >"$TMPB/rx1" 2>/dev/null &
	r1=$!
	wait_until 5 bash -c "ip netns exec $ns2 ss -lun | grep -q ':9000 ' && ip netns exec $ns1 ss -lun | grep -q ':9001 '"
	ip netns exec "$ns1" "$PKTGEN" tx --udp "$a2:9000" --rate "$rate" --duration "$DUR" >/dev/null 2>&1 &
	ip netns exec "$ns2" "$PKTGEN" tx --udp "$a1:9001" --rate "$rate" --duration "$DUR" >/dev/null 2>&1 &
	sleep 1 # traffic before the fault: a deliberate delay, not a wait
	"$fault" "$arg"
	wait # both tx and both rx
	t0=$(cat "$TMPB/t0" 2>/dev/null || echo 0)
	jq -s -r --arg t0 "$t0" '[(map(.max_gap_us) | max / 10 | round / 100), (map(.lost) | add), $t0] | @tsv' \
		"$TMPB/rx1" "$TMPB/rx2" | tr '\t' ' '
}

mark() { echo "${EPOCHREALTIME/./}" >"$TMPB/t0"; }

# ---- dse: h1's two DPUs active-standby -------------------------------------------
P=$(lab_prefix)
lab_vms "$P" --hosts 2 --dpus 2 -- h1-vm1=198.18.10.11 h2-vm1=198.18.10.21 >/dev/null
ds() { dsectl_on "$P" h1 "$@"; }
ds host dpu-mode active-standby >/dev/null
healthy_pair() { [[ $(ds -j dpu list | jq '[.[] | select(.ha.healthy and .ha.role != "none")] | length') == 2 ]]; }
wait_until 15 healthy_pair || { echo "bench: h1's DPUs are not a healthy pair" >&2; exit 1; }
configured=$(ds call host.info | jq .ha.failure_after_ms)
active() { ds -j dpu list | jq -r '.[] | select(.ha.role == "active") | .name'; }
standby_fenced() { [[ $("$DSECTL" -s "$DSE_LAB_DIR/$P/h1-$1/run/dpud.sock" call dpu.info | jq .ha.fenced) == true ]]; }

kill_dpud() {
	local pid
	pid=$(daemon_pid "$P" "h1-$1" dpud)
	mark
	kill -KILL "$pid"
	wait_until 10 bash -c "! kill -0 $pid 2>/dev/null"
}
restart_dpud() { "$DSE_LAB" up --prefix "$P" --hosts 2 --dpus 2 --bin-dir "$DSE_BUILD_DIR" >/dev/null; }
hang_dpud() {
	local pid
	pid=$(daemon_pid "$P" "h1-$1" dpud)
	mark
	kill -STOP "$pid"
}
resume_dpud() { kill -CONT "$(daemon_pid "$P" "h1-$1" dpud)"; }
nics_of() { local m=${1#dpu}; echo "h1-vmnic$((2 * m - 2)) h1-vmnic$((2 * m - 1))"; }
# Both cables in one command; the fault's moment is taken just before it, so
# the detection measured includes starting ip (a millisecond or two).
cut_cables() {
	local c cmds=''
	for c in $(nics_of "$1"); do cmds+="link set $c down"$'\n'; done
	mark
	ip -n "$P-fab" -batch - <<<"$cmds"
}
mend_cables() { local c; for c in $(nics_of "$1"); do ip -n "$P-fab" link set "$c" up; done; }

# dse_runs KIND FAULT RESTORE: RUNS runs; gaps in $TMPB/dse.KIND, packets lost in
# $TMPB/dse.KIND-lost, detection in $TMPB/dse.KIND-detect.
dse_runs() {
	local kind=$1 fault=$2 restore=$3 i was n0 out dec
	for ((i = 0; i < runs; i++)); do
		was=$(active) n0=$(ds call host.info | jq .ha.failovers)
		out=$(streams "$P-h1-vm1" 198.18.10.11 "$P-h2-vm1" 198.18.10.21 "$fault" "$was")
		read -r gap lost t0 <<<"$out"
		dec=$(ds call host.info | jq -r --argjson n0 "$n0" 'if .ha.failovers == $n0 + 1 then .ha.last_failover_unix_us else empty end')
		if [[ -z $dec ]]; then
			# Counted as a failed run of each figure: not exactly one failover.
			echo "bench: failover $kind run $((i + 1)) on $was: not exactly one failover, a failed run:" \
				"$(ds call host.info | jq -c --argjson n0 "$n0" '{failovers: (.ha.failovers - $n0), last: .ha.last_failover}')" >&2
			gap=fail lost=fail dec=fail
		else
			dec=$(awk -v d="$dec" -v t="$t0" 'BEGIN { printf "%.1f", (d - t) / 1000 }')
			echo "bench: failover $kind run $((i + 1)) on $was: gap $gap ms, $lost lost, detected in $dec ms" >&2
		fi
		record "$TMPB/dse.$kind" "$gap"
		record "$TMPB/dse.$kind-lost" "$lost"
		record "$TMPB/dse.$kind-detect" "$dec"
		"$restore" "$was"
		wait_until 15 healthy_pair && wait_until 5 standby_fenced "$was" ||
			{ echo "bench: $was did not come back as a fenced standby" >&2; exit 1; }
	done
}
dse_runs kill kill_dpud restart_dpud
dse_runs hang hang_dpud resume_dpud
dse_runs cut cut_cables mend_cables
lab_down "$P" >/dev/null

# anchor_failed NAME FAULT [N]: N runs (all RUNS by default) of an anchor
# that could not be set up or brought back, recorded as failed runs.
anchor_failed() {
	local k
	for ((k = 0; k < ${3:-$runs}; k++)); do
		record "$TMPB/$1.$2" fail
		record "$TMPB/$1.lost-$2" fail
	done
}

# ---- anchors: Open vSwitch, active-backup bond ------------------------------------
nsx() { local n=$1; shift; ip netns exec "$A-$n" "$@"; }
veth() { # NS1 IF1 NS2 IF2
	ip link add "$2" netns "$A-$1" type veth peer name "$4" netns "$A-$3"
	nsx "$1" ip link set "$2" up
	nsx "$3" ip link set "$4" up
}
OVS=$TMPB/ovs
ovs_env=(env OVS_RUNDIR="$OVS" OVS_DBDIR="$OVS" OVS_LOGDIR="$OVS" OVS_SYSCONFDIR="$OVS")
vsctl() { ovs-vsctl --db="unix:$OVS/db.sock" "$@"; }
ovs_active() { ovs-appctl -t "$OVS/vswitchd.ctl" bond/show bond0 | sed -n 's/^active member mac: .*(\(.*\))$/\1/p'; }
ovs_cut() { nsx tor ip link set "t${1#up}" down; }
ovs_mend() { nsx tor ip link set "t${1#up}" up; }
ovs_both_up() { ovs-appctl -t "$OVS/vswitchd.ctl" bond/show bond0 | grep -c ': enabled' | grep -qx 2; }
reach() { nsx ovm1 ping -c 1 -W 1 198.18.250.21 >/dev/null 2>&1; }
# ovs_stop: both daemons asked to exit, and gone (a new instance in the same
# directory refuses to start while the old one's pid lives).
ovs_stop() {
	local d pid
	for d in vswitchd ovsdb; do
		pid=$(cat "$OVS/$d.pid" 2>/dev/null) || pid=
		ovs-appctl -t "$OVS/$d.ctl" exit 2>/dev/null || true
		[[ -z $pid ]] || wait_until 10 bash -c "! kill -0 $pid 2>/dev/null" || kill -KILL "$pid" 2>/dev/null || true
	done
}

# ovs_anchor NAME DETECT-OPTIONS...: the bond with these other_config
# options, RUNS cable cuts; gaps in $TMPB/NAME.cut, losses in NAME.lost-cut.
ovs_anchor() {
	local name=$1 i was gap lost
	shift
	rm -rf "$OVS"
	mkdir -p "$OVS"
	ovsdb-tool create "$OVS/conf.db" /usr/share/openvswitch/vswitch.ovsschema
	if ! { nsx ovs "${ovs_env[@]}" ovsdb-server "$OVS/conf.db" --remote="punix:$OVS/db.sock" \
		--pidfile="$OVS/ovsdb.pid" --detach --log-file="$OVS/ovsdb.log" --unixctl="$OVS/ovsdb.ctl" 2>/dev/null &&
		vsctl --no-wait init &&
		nsx ovs "${ovs_env[@]}" ovs-vswitchd "unix:$OVS/db.sock" --pidfile="$OVS/vswitchd.pid" --detach \
			--log-file="$OVS/vswitchd.log" --unixctl="$OVS/vswitchd.ctl" 2>/dev/null &&
		vsctl add-br br0 -- set bridge br0 datapath_type=netdev \
			-- add-port br0 vm \
			-- add-bond br0 bond0 up0 up1 bond_mode=active-backup "$@"; }; then
		echo "bench: $name: Open vSwitch did not start (see $OVS)" >&2
		anchor_failed "$name" cut
		ovs_stop
		return
	fi
	if ! wait_until 15 reach; then
		echo "bench: $name: no traffic through OVS (see its log below)" >&2
		sed 's/^/bench:   /' "$OVS/vswitchd.log" | tail -n 20 >&2
		anchor_failed "$name" cut
		ovs_stop
		return
	fi
	for ((i = 0; i < runs; i++)); do
		was=$(ovs_active)
		read -r gap lost _ <<<"$(streams "$A-ovm1" 198.18.250.11 "$A-ovm2" 198.18.250.21 ovs_cut "$was")"
		record "$TMPB/$name.cut" "$gap"
		record "$TMPB/$name.lost-cut" "$lost"
		echo "bench: $name cut run $((i + 1)) on $was: gap $gap ms, $lost lost" >&2
		ovs_mend "$was"
		if ! wait_until 10 ovs_both_up; then
			echo "bench: $name: bond member $was did not come back" >&2
			anchor_failed "$name" cut $((runs - i - 1))
			break
		fi
	done
	ovs_stop
}
if command -v ovs-vswitchd >/dev/null; then
	for n in ovm1 ovs tor ovm2; do ip netns add "$A-$n"; nsx "$n" ip link set lo up; done
	veth ovm1 eth0 ovs vm
	veth ovs up0 tor t0
	veth ovs up1 tor t1
	veth ovm2 eth0 tor t2
	nsx tor ip link add br0 type bridge
	for c in t0 t1 t2; do nsx tor ip link set "$c" master br0; done
	nsx tor ip link set br0 up
	nsx ovm1 ip addr add 198.18.250.11/24 dev eth0
	nsx ovm2 ip addr add 198.18.250.21/24 dev eth0
	# OVS's userspace datapath reads the VMs' frames from AF_PACKET sockets,
	# checksums left to an offload it does not do: the VMs compute their own.
	nsx ovm1 ethtool -K eth0 tx off >/dev/null
	nsx ovm2 ethtool -K eth0 tx off >/dev/null
	ovs_anchor ovs-bond-carrier other_config:bond-detect-mode=carrier
	ovs_anchor ovs-bond-miimon100-slow other_config:bond-detect-mode=miimon \
		other_config:bond-miimon-interval=100
else
	echo "bench: Open vSwitch not installed (scripts/install-deps --bench): no OVS bond anchors" >&2
fi

# ---- anchors: keepalived VRRP -------------------------------------------------------
vrrp_conf() { # K VERSION ADVERT: rK's configuration
	local k=$1 name dev id net
	printf 'global_defs {\n router_id r%s\n vrrp_version %s\n}\n' "$k" "$2"
	printf 'vrrp_sync_group G {\n group {\n  LAN\n  FAR\n }\n}\n'
	for inst in LAN:lan:51:251 FAR:far:52:252; do
		IFS=: read -r name dev id net <<<"$inst"
		printf 'vrrp_instance %s {\n state BACKUP\n interface %s\n virtual_router_id %s\n' "$name" "$dev" "$id"
		printf ' priority %s\n advert_int %s\n virtual_ipaddress {\n  198.18.%s.1/24\n }\n}\n' \
			"$((k == 1 ? 150 : 100))" "$3" "$net"
	done
}
router_up() { # K: forwarding on, keepalived started (the pid files of a killed one removed)
	rm -f "$TMPB/r$1.pid" "$TMPB/r$1-vrrp.pid"
	nsx "r$1" sysctl -qw net.ipv4.ip_forward=1
	nsx "r$1" keepalived --vrrp -n -l -f "$TMPB/r$1.conf" -p "$TMPB/r$1.pid" -r "$TMPB/r$1-vrrp.pid" \
		>"$TMPB/r$1.log" 2>&1 &
}
router_die() { # rK: keepalived killed, forwarding stopped
	ip netns pids "$A-$1" | xargs -r kill -KILL
	nsx "$1" sysctl -qw net.ipv4.ip_forward=0
}
vrrp_master() { # K: rK holds both addresses
	nsx "r$1" ip -o addr show | grep -q '198.18.251.1/' && nsx "r$1" ip -o addr show | grep -q '198.18.252.1/'
}
vrrp_clear() { # K: rK's own addresses only (a killed keepalived leaves the virtual ones)
	nsx "r$1" ip addr flush dev lan
	nsx "r$1" ip addr flush dev far
	nsx "r$1" ip addr add "198.18.251.$((1 + $1))/24" dev lan
	nsx "r$1" ip addr add "198.18.252.$((1 + $1))/24" dev far
}
kreach() { nsx kvm1 ping -c 1 -W 1 198.18.252.21 >/dev/null 2>&1; }

# vrrp_anchor NAME VERSION ADVERT DUR: RUNS kills of the master; gaps in
# $TMPB/NAME.kill, losses in NAME.lost-kill; DUR seconds of traffic a run.
vrrp_anchor() {
	local name=$1 i gap lost k
	for k in 1 2; do vrrp_conf "$k" "$2" "$3" >"$TMPB/r$k.conf"; done # one keyword a line
	for k in 1 2; do vrrp_clear "$k"; done
	router_up 1
	if ! wait_until 10 vrrp_master 1; then
		echo "bench: $name: r1 not master; its log:" >&2
		sed 's/^/bench:   /' "$TMPB/r1.log" >&2
		anchor_failed "$name" kill
		return
	fi
	router_up 2
	wait_until 15 kreach || { echo "bench: $name: no traffic through the VRRP routers" >&2; anchor_failed "$name" kill; return; }
	local dur0=$DUR
	DUR=$4
	for ((i = 0; i < runs; i++)); do
		read -r gap lost _ <<<"$(streams "$A-kvm1" 198.18.251.11 "$A-kvm2" 198.18.252.21 router_die r1)"
		record "$TMPB/$name.kill" "$gap"
		record "$TMPB/$name.lost-kill" "$lost"
		echo "bench: $name kill run $((i + 1)): gap $gap ms, $lost lost" >&2
		vrrp_clear 1
		router_up 1
		if ! { wait_until 15 vrrp_master 1 && wait_until 15 kreach; }; then
			echo "bench: $name: r1 did not become the master again; its log:" >&2
			sed 's/^/bench:   /' "$TMPB/r1.log" >&2
			anchor_failed "$name" kill $((runs - i - 1))
			break
		fi
	done
	DUR=$dur0
	for k in 1 2; do ip netns pids "$A-r$k" | xargs -r kill -KILL; done
	for k in 1 2; do wait_until 5 bash -c "[[ -z \$(ip netns pids $A-r$k) ]]"; done
}
if command -v keepalived >/dev/null; then
	for n in kvm1 lan r1 r2 far kvm2; do ip netns add "$A-$n"; nsx "$n" ip link set lo up; done
	for n in lan far; do nsx "$n" ip link add br0 type bridge; nsx "$n" ip link set br0 up; done
	veth kvm1 eth0 lan p0
	veth kvm2 eth0 far p0
	for r in r1 r2; do
		veth "$r" lan lan "p$r"
		veth "$r" far far "p$r"
		nsx lan ip link set "p$r" master br0
		nsx far ip link set "p$r" master br0
	done
	nsx lan ip link set p0 master br0
	nsx far ip link set p0 master br0
	nsx kvm1 ip addr add 198.18.251.11/24 dev eth0
	nsx kvm1 ip route add default via 198.18.251.1
	nsx kvm2 ip addr add 198.18.252.21/24 dev eth0
	nsx kvm2 ip route add default via 198.18.252.1
	vrrp_anchor keepalived-vrrp3-10ms 3 0.01 3
	vrrp_anchor keepalived-vrrp-1s-slow 2 1 7 # a failover of seconds
else
	echo "bench: keepalived not installed (scripts/install-deps --bench): no VRRP anchors" >&2
fi

# ---- figures ----------------------------------------------------------------------
what="packet gap of a $rate packets/s UDP stream each way between VMs on two hosts, the active DPU's"
ANCHORS="keepalived-vrrp3-10ms keepalived-vrrp-1s-slow"
figure failover-gap-kill "$what dpud killed (SIGKILL); anchors: a VRRP master's software killed" ms false .kill
ANCHORS=""
figure failover-gap-hang "$what dpud hung (SIGSTOP)" ms false .hang
ANCHORS="ovs-bond-carrier ovs-bond-miimon100-slow"
figure failover-gap-cut "$what both uplink cables cut; anchors: the active bond member's cable cut" ms false .cut
cat "$TMPB/dse.kill" "$TMPB/dse.hang" "$TMPB/dse.cut" >"$TMPB/dse.all" 2>/dev/null || true
# The worst of all runs: its "median" is the maximum (figure_max).
ANCHORS=""
figure_max failover-gap-max "worst packet gap over every failover run (kill, hang, cut)" ms false .all
ANCHORS="keepalived-vrrp3-10ms keepalived-vrrp-1s-slow ovs-bond-carrier ovs-bond-miimon100-slow"
for k in kill hang cut; do
	cp "$TMPB/dse.$k-lost" "$TMPB/dse.lost-$k" 2>/dev/null || true
	figure "failover-lost-$k" "packets lost (both streams) in a failover, $k" packets false ".lost-$k"
done
for k in kill hang; do
	echo "$configured" >"$TMPB/configured.d-$k"
	cp "$TMPB/dse.$k-detect" "$TMPB/dse.d-$k" 2>/dev/null || true
	ANCHORS=configured
	figure "failover-detect-$k" "from the fault ($k) to hostd's decision; anchor: the configured detection (3 missed heartbeats of 2 ms)" ms false ".d-$k"
done
cp "$TMPB/dse.cut-detect" "$TMPB/dse.d-cut" 2>/dev/null || true
ANCHORS=""
figure failover-detect-cut "from the cables cut to hostd's decision (dpud reports a carrier loss at once)" ms false .d-cut
