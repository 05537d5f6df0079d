#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# test-lab.sh: dse-lab builds the DESIGN.md §4 topology, is idempotent, and
# tears down completely even after a crash. Needs root (exit 77 otherwise).
#
#                          P-fab: bridge tor0 (8 ports)
#        h1-vmnic0 h1-vmnic1 h1-vmnic2 h1-vmnic3  h2-vmnic0 .. h2-vmnic3
#            |         |         |         |          |            |
#   P-h1-dpu1: vmnic0 vmnic1  P-h1-dpu2: vmnic2 vmnic3    (same for h2)
#     int0 169.254.1.2/24       int0 169.254.1.3/24
#     rep-vm1 ─ P-h1-vm1 eth0   rep-vm2 ─ P-h1-vm2 eth0
#       |                         |
#   P-h1: int-dpu1 169.254.1.1 peer .2, int-dpu2 169.254.1.1 peer .3
#         vmk0 198.19.0.11/24 ── h1-vmk0 ── P-mgmt: bridge mgmt0 198.19.0.1/24
#   P-h2: likewise with 169.254.2.x and 198.19.0.12
#
# DPU cgroups P-hN-dpuM: cpuset = the DPU CPUs; each holds the threaded NAPI
# kernel threads of int0, its vmnics and its representors.
set -uo pipefail

# shellcheck source=tests/system/lib.sh
. "$(dirname "$0")/lib.sh"

require_root
trap cleanup EXIT

P=$(lab_prefix) || exit 1
echo "# prefix $P, DSE_LAB_DIR $DSE_LAB_DIR"

# --- non-root refusal ------------------------------------------------------
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$DSE_LAB" up --prefix "$P" 2>&1)
rc=$?
check_eq "non-root up exits 1" 1 "$rc"
check "non-root up says 'must run as root'" grep -q "dse-lab: must run as root" <<<"$out"
check_eq "non-root up created no netns" 0 "$(netns_count_with_prefix "$P")"

# --- up --------------------------------------------------------------------
if ! lab_up "$P" --hosts 2 --dpus 2 >/dev/null; then
	not_ok "up --hosts 2 --dpus 2"
else
	ok "up --hosts 2 --dpus 2"
fi

topology_checks() {
	local n m x nic dns hns addr
	check "netns $P-fab with bridge tor0 up" link_up_in_ns "$P-fab" tor0
	check "netns $P-mgmt with mgmt0 198.19.0.1/24" has_addr "$P-mgmt" mgmt0 198.19.0.1/24
	check_eq "tor0 has 8 ports" 8 "$(bridge_port_count "$P-fab" tor0)"
	check_eq "mgmt0 has 2 ports" 2 "$(bridge_port_count "$P-mgmt" mgmt0)"
	for n in 1 2; do
		hns=$P-h$n
		check "$hns: lo up" link_up_in_ns "$hns" lo
		check "$hns: vmk0 198.19.0.$((10 + n))/24" has_addr "$hns" vmk0 "198.19.0.$((10 + n))/24"
		check "$P-mgmt: h$n-vmk0 in mgmt0" bash -c "ip -n $P-mgmt -o link show master mgmt0 | grep -q 'h$n-vmk0@'"
		check "mgmt ping h$n -> manager" ping_ok "$hns" 198.19.0.1
		for m in 1 2; do
			dns=$P-h$n-dpu$m
			addr=169.254.$n.$((1 + m))
			check "$dns: int0 $addr/24" has_addr "$dns" int0 "$addr/24"
			check "$hns: int-dpu$m 169.254.$n.1 peer $addr" has_addr "$hns" "int-dpu$m" "169.254.$n.1 peer $addr/32"
			for x in 0 1; do
				nic=vmnic$((2 * m - 2 + x))
				check "$dns: $nic up, mtu 9000" bash -c "ip -n $dns link show dev $nic | grep -q 'mtu 9000.*state UP'"
				check "$P-fab: h$n-$nic in tor0, mtu 9000" bash -c "ip -n $P-fab link show dev h$n-$nic | grep -q 'mtu 9000 .*master tor0'"
			done
			check "ping h$n -> dpu$m ($addr)" ping_ok "$hns" "$addr"
			check "ping dpu$m -> h$n" ping_ok "$dns" "169.254.$n.1"
			local cs dcpus
			cs=$(cg_path "$dns" cpuset)
			check "$dns: cpuset cgroup exists" test -n "$cs"
			dcpus=$(sed -n "s/^DPU${m}_CPUS=//p" "$DSE_LAB_DIR/$P/lab.env")
			check "$dns: its CPUs are DPU CPUs" cpus_within "$dcpus" "$DPU_CPUS"
			check_eq "$dns: cpuset.cpus is its CPUs" "$(cpus "$dcpus")" "$(cpus "$(cat "$cs/cpuset.cpus" 2>/dev/null)")"
			check_eq "$hns: cpuset.cpus is the host CPUs" "$HOST_CPUS" "$(cat "$(cg_path "$hns" cpuset)/cpuset.cpus" 2>/dev/null)"
			napi_checks "$dns" "$cs" "$dcpus" int0 "vmnic$((2 * m - 2))" "vmnic$((2 * m - 1))"
		done
	done
}

# napi_checks NS CPUSET_DIR CPUS DEV...: each DEV is threaded and its napi
# thread sits in the DPU's cpu, cpuacct and cpuset cgroups, pinned to CPUS.
napi_checks() {
	local ns=$1 cs=$2 want=$3 dev t c found cpu acct
	shift 3
	cpu=$(cg_path "$ns" cpu)
	acct=$(cg_path "$ns" cpuacct)
	for dev in "$@"; do
		check_eq "$ns: $dev threaded NAPI" 1 "$(in_ns "$ns" cat "/sys/class/net/$dev/threaded" 2>/dev/null)"
		found=
		while read -r t; do
			read -r c 2>/dev/null <"/proc/$t/comm" || continue
			[[ $c == "napi/$dev-"* ]] && found=$t
		done <"$cs/tasks"
		if [[ -z $found ]]; then
			not_ok "$ns: napi/$dev thread in DPU cpuset cgroup"
			continue
		fi
		ok "$ns: napi/$dev thread $found in DPU cpuset cgroup"
		check "$ns: napi/$dev thread in cpu and cpuacct cgroups" \
			bash -c "grep -qx $found $cpu/tasks && grep -qx $found $acct/tasks"
		check_eq "$ns: napi/$dev thread pinned to its DPU's CPUs" "$(cpus "$want")" \
			"$(cpus "$(taskset -pc "$found" 2>/dev/null | sed 's/.*: //')")"
	done
}

# lab.env says which CPUs went where.
HOST_CPUS=$(sed -n 's/^HOST_CPUS=//p' "$DSE_LAB_DIR/$P/lab.env" 2>/dev/null)
DPU_CPUS=$(sed -n 's/^DPU_CPUS=//p' "$DSE_LAB_DIR/$P/lab.env" 2>/dev/null)
check "lab.env records CPU plan" test -n "$HOST_CPUS" -a -n "$DPU_CPUS"
if (($(nproc) >= 2)); then
	check "DPU CPUs differ from host CPUs" test "$HOST_CPUS" != "$DPU_CPUS"
fi

topology_checks

check "DPU dir has platform.json" grep -q "\"serial\":\"$P-h1-dpu2\"" "$DSE_LAB_DIR/$P/h1-dpu2/platform.json"
check_eq "DPU hwmon temp1_input" 45000 "$(cat "$DSE_LAB_DIR/$P/h1-dpu2/hwmon/temp1_input" 2>/dev/null)"
check "host cert signed by lab CA" quiet openssl verify -CAfile "$DSE_LAB_DIR/$P/ca/ca.pem" "$DSE_LAB_DIR/$P/h1/certs/cert.pem"
check "DPU cert CN $P-h2-dpu1" bash -c "openssl x509 -noout -subject -in $DSE_LAB_DIR/$P/h2-dpu1/certs/cert.pem | grep -q 'CN = $P-h2-dpu1'"
check_eq "key.pem mode 0600" 600 "$(stat -c %a "$DSE_LAB_DIR/$P/h1/certs/key.pem" 2>/dev/null)"
check "status -j lists 4 DPUs with 3 napi threads" \
	bash -c "\"$DSE_LAB\" status --prefix $P -j | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin)[\"devices\"]; x=[v for v in d if v[\"kind\"]==\"dpu\"]; sys.exit(not (len(x)==4 and all(v[\"napi_threads\"]==3 for v in x)))'"

# --- idempotent up ---------------------------------------------------------
n_ns=$(netns_count_with_prefix "$P")
n_cg=$(cgroup_count_with_prefix "$P")
n_veth=$(veth_count_with_prefix "$P")
check_eq "8 netns" 8 "$n_ns"
check "second up succeeds" bash -c "\"$DSE_LAB\" up --prefix $P --hosts 2 --dpus 2 >/dev/null"
check_eq "second up: same netns count" "$n_ns" "$(netns_count_with_prefix "$P")"
check_eq "second up: same cgroup count" "$n_cg" "$(cgroup_count_with_prefix "$P")"
check_eq "second up: same veth count" "$n_veth" "$(veth_count_with_prefix "$P")"
out=$(topology_checks)
if grep -q '^not ok' <<<"$out"; then
	grep '^not ok' <<<"$out" | sed 's/^not ok - /# after second up: /'
	not_ok "second up: topology checks still pass"
else
	ok "second up: topology checks still pass ($(grep -c '^ok' <<<"$out") checks)"
fi

# --- VMs -------------------------------------------------------------------
check "vm-create h1 vm1 (from inside the host netns)" \
	quiet nsenter --net="/run/netns/$P-h1" "$DSE_LAB" vm-create --prefix "$P" h1 vm1 \
	--mac 02:00:00:00:01:01 --ip 198.18.1.11/24
check "vm-create h1 vm2 --dpu 2 --mtu 9000" \
	quiet "$DSE_LAB" vm-create --prefix "$P" h1 vm2 --mac 02:00:00:00:01:02 --ip 198.18.1.12/24 --dpu 2 --mtu 9000
check "VM netns $P-h1-vm1 eth0 198.18.1.11/24" has_addr "$P-h1-vm1" eth0 198.18.1.11/24
check "VM eth0 MAC" bash -c "ip -n $P-h1-vm1 link show dev eth0 | grep -q 02:00:00:00:01:01"
check_eq "VM eth0 default MTU 1500" 1500 "$(link_mtu "$P-h1-vm1" eth0)"
check_eq "VM2 eth0 MTU 9000" 9000 "$(link_mtu "$P-h1-vm2" eth0)"
check "rep-vm1 in $P-h1-dpu1, mtu 9000" bash -c "ip -n $P-h1-dpu1 link show dev rep-vm1 | grep -q 'mtu 9000.*state UP'"
check "rep-vm2 in $P-h1-dpu2" link_in_ns "$P-h1-dpu2" rep-vm2
napi_checks "$P-h1-dpu1" "$(cg_path "$P-h1-dpu1" cpuset)" "$(sed -n 's/^DPU1_CPUS=//p' "$DSE_LAB_DIR/$P/lab.env")" rep-vm1
check_eq "VM cgroup cpuset is the host CPUs" "$HOST_CPUS" "$(cat "$(cg_path "$P-h1-vm1" cpuset)/cpuset.cpus" 2>/dev/null)"
check_eq "10 netns with VMs" 10 "$(netns_count_with_prefix "$P")"

# --- exec ------------------------------------------------------------------
out=$("$DSE_LAB" exec --prefix "$P" h1-vm1 -- ip -o -4 addr show dev eth0 2>&1)
check "exec runs in the VM netns" grep -q 198.18.1.11 <<<"$out"
out=$("$DSE_LAB" exec --prefix "$P" h2-dpu1 cat /proc/self/cgroup 2>&1)
check "exec runs in the DPU cgroup" grep -q "cpuset:/.*$P-h2-dpu1" <<<"$out"
"$DSE_LAB" exec --prefix "$P" h1 false
check_eq "exec passes the exit status" 1 "$?"

check "vm-destroy h1 vm2" quiet "$DSE_LAB" vm-destroy --prefix "$P" h1 vm2
check "vm-destroy removed netns and rep-vm2" bash -c "! test -e /run/netns/$P-h1-vm2 && ! ip -n $P-h1-dpu2 link show dev rep-vm2 >/dev/null 2>&1"
check_eq "vm-destroy removed the VM cgroup" "" "$(cg_path "$P-h1-vm2" cpu)"

# --- crash, then down ------------------------------------------------------
# Processes left in the lab (as if daemons hung), one stopped, one frozen
# netns removed by hand: down must still leave nothing behind.
"$DSE_LAB" exec --prefix "$P" h2 sleep 600 >/dev/null 2>&1 &
"$DSE_LAB" exec --prefix "$P" h1-dpu1 sleep 600 >/dev/null 2>&1 &
stopme_pid=$!
"$DSE_LAB" exec --prefix "$P" h1-vm1 sleep 600 >/dev/null 2>&1 &
three_sleepers() { (($(lab_procs "$P" | wc -l) >= 3)); }
check "sleepers visible in the lab" wait_until 5 three_sleepers
kill -STOP "$stopme_pid" 2>/dev/null
ip netns del "$P-h2-dpu2"
ip -n "$P-h1" link del int-dpu1 2>/dev/null
check "down after a crash succeeds" bash -c "\"$DSE_LAB\" down --prefix $P >/dev/null"
check_eq "no netns left" 0 "$(netns_count_with_prefix "$P")"
check_eq "no veth left" 0 "$(veth_count_with_prefix "$P")"
check_eq "no cgroup left" 0 "$(cgroup_count_with_prefix "$P")"
check_eq "no process left" "" "$(lab_procs "$P")"
check "no lab dir left" test ! -e "$DSE_LAB_DIR/$P"
check "down twice is fine" bash -c "\"$DSE_LAB\" down --prefix $P >/dev/null"
check "down of a lab that never existed is fine" bash -c "\"$DSE_LAB\" down --prefix ${P}x >/dev/null"

# --- partial up, then down -------------------------------------------------
# An up killed half-way leaves some netns and cgroups; down cleans them.
ip netns add "$P-h1"
ip netns add "$P-h1-dpu1"
ip -n "$P-h1" link add int-dpu1 type veth peer name int0 netns "$P-h1-dpu1"
mkdir -p "/sys/fs/cgroup/cpu/$P-h1" "$DSE_LAB_DIR/$P/h1/run"
check "down after a partial up succeeds" bash -c "\"$DSE_LAB\" down --prefix $P >/dev/null"
check_eq "partial: no netns left" 0 "$(netns_count_with_prefix "$P")"
check_eq "partial: no cgroup left" 0 "$(cgroup_count_with_prefix "$P")"
check "partial: no lab dir left" test ! -e "$DSE_LAB_DIR/$P"

# --- daemons (stand-ins) ---------------------------------------------------
# Stand-ins for dse-dpud/dse-hostd exercise start, restart and down without
# the real daemons: each binds its --ctl socket, answers every request "ok"
# (the boot's health check asks) and waits for SIGTERM.  They travel in the
# factory image like the real ones, with the real firmware and image tools.
P2=$(lab_prefix) || exit 1
FAKE=$(mktemp -d /tmp/dse-lab-fakebin.XXXXXX)
TEST_TMPDIRS+=("$FAKE")
mkdir -p "$FAKE/daemons/dpud" "$FAKE/daemons/hostd" "$FAKE/cli" "$FAKE/tools/boot" \
	"$FAKE/tools/bundle" "$FAKE/dataplane/bpf"
cat >"$FAKE/stand-in" <<'PYEOF'
#!/usr/bin/python3
import os, signal, socket, sys, threading
ctl = sys.argv[sys.argv.index("--ctl") + 1]
s = socket.socket(socket.AF_UNIX)
s.bind(ctl)
s.listen()
signal.signal(signal.SIGTERM, lambda *a: (os.unlink(ctl), os._exit(0)))
print(" ".join(sys.argv), flush=True)
def serve(c):
    f = c.makefile("rwb")
    for _ in f:
        f.write(b'{"ok": true, "result": {}}\n')
        f.flush()
def accept():
    while True:
        threading.Thread(target=serve, args=(s.accept()[0],), daemon=True).start()
threading.Thread(target=accept, daemon=True).start()
signal.pause()
PYEOF
chmod +x "$FAKE/stand-in"
cp "$FAKE/stand-in" "$FAKE/daemons/dpud/dse-dpud"
cp "$FAKE/stand-in" "$FAKE/daemons/hostd/dse-hostd"
for f in cli/dsectl tools/boot/dse-boot tools/bundle/dse-bundle dataplane/bpf/xdp-pass.o; do
	cp "$DSE_BUILD_DIR/$f" "$FAKE/$f"
done
check "up with stand-in daemons" quiet lab_up "$P2" --hosts 1 --dpus 1 --bin-dir "$FAKE"
D=$DSE_LAB_DIR/$P2
dpid=$(cat "$D/h1-dpu1/run/dpud.pid" 2>/dev/null)
hpid=$(cat "$D/h1/run/hostd.pid" 2>/dev/null)
check "dpud control socket exists" test -S "$D/h1-dpu1/run/dpud.sock"
check "hostd control socket exists" test -S "$D/h1/run/hostd.sock"
check "dpud runs in the DPU netns" test "$(readlink "/proc/$dpid/ns/net")" = "net:[$(stat -L -c %i "/run/netns/$P2-h1-dpu1")]"
check "dpud runs in the DPU cgroup" grep -q "cpuset:/.*$P2-h1-dpu1\$" "/proc/$dpid/cgroup"
check "hostd runs in the host netns" test "$(readlink "/proc/$hpid/ns/net")" = "net:[$(stat -L -c %i "/run/netns/$P2-h1")]"
check "dpud command line" grep -q -- "--name $P2-h1-dpu1 .*--listen 169.254.1.2:7443 --ha-listen 169.254.1.2:7444 .*--allow host:$P2-h1 --uplink vmnic0 --uplink vmnic1" "$D/h1-dpu1/log/dpud.out"
check "hostd command line" grep -q -- "--listen 198.19.0.11:7443 --allow manager:$P2-manager --metrics-listen 198.19.0.11:9464 --dpu dpu1=169.254.1.2:7443,cn=$P2-h1-dpu1 --lab $P2 --lab-cmd $DSE_LAB" "$D/h1/log/hostd.out"
kill -TERM "$hpid"
check "hostd stopped by SIGTERM" wait_until 5 test ! -e "/proc/$hpid"
check "up again restarts hostd only" quiet "$DSE_LAB" up --prefix "$P2" --hosts 1 --dpus 1 --bin-dir "$FAKE"
check_eq "dpud kept its pid" "$dpid" "$(cat "$D/h1-dpu1/run/dpud.pid" 2>/dev/null)"
check "hostd has a new pid" test "$(cat "$D/h1/run/hostd.pid" 2>/dev/null)" != "$hpid"
check "status shows both daemons running" quiet bash -c "\"$DSE_LAB\" status --prefix $P2 | awk '\$2 == \"host\" || \$2 == \"dpu\" { if (\$6 != \"yes\") bad = 1; n++ } END { exit bad || n != 2 }'"
check "down stops the daemons" quiet lab_down "$P2"
check_eq "no process left in $P2" "" "$(lab_procs "$P2")"
check_eq "no netns left in $P2" 0 "$(netns_count_with_prefix "$P2")"

# --- a core per DPU ------------------------------------------------------
# Two DPUs and at least as many DPU CPUs: each DPU gets its own share, as a
# real DPU has its own cores (here every CPU, so that two exist).
if (($(nproc) >= 2)); then
	P3=$(lab_prefix) || exit 1
	all=$(cpus "$(cat /sys/devices/system/cpu/online)")
	check "up --dpus 2 --dpu-cpus (every CPU)" quiet lab_up "$P3" --hosts 1 --dpus 2 --bin-dir "$FAKE" \
		--dpu-cpus "$(tr ' ' , <<<"$all")"
	c1=$(cpus "$(cat "$(cg_path "$P3-h1-dpu1" cpuset)/cpuset.cpus")")
	c2=$(cpus "$(cat "$(cg_path "$P3-h1-dpu2" cpuset)/cpuset.cpus")")
	echo "# dpu1 CPUs: $c1; dpu2 CPUs: $c2"
	check "each DPU has CPUs of its own" bash -c '[[ -n $1 && -n $2 ]] && for c in $1; do [[ " $2 " != *" $c "* ]] || exit 1; done' _ "$c1" "$c2"
	check_eq "together they are the DPU CPUs" "$all" "$(tr ' ' '\n' <<<"$c1 $c2" | sort -n | xargs)"
	napi_checks "$P3-h1-dpu2" "$(cg_path "$P3-h1-dpu2" cpuset)" "$(tr ' ' , <<<"$c2")" int0
	check "down" quiet lab_down "$P3"
fi

finish
