# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# tests/system/lib.sh: helpers shared by the system tests (sourced). A test
# sources this file, calls require_root, takes a prefix from lab_prefix, sets
# `trap cleanup EXIT` and reports every check with check/ok/not_ok (TAP-like
# "ok - ..." / "not ok - ..."). finish exits 1 if a check failed.
#
# Tests build labs only under their own prefix (lt + 3 hex digits) so they
# never touch a running demo (prefix dse).

SYSTEST_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SYSTEST_DIR/../.." && pwd)
DSE_LAB=${DSE_LAB:-$REPO_ROOT/platform/lab/dse-lab}
# Keep test labs out of the real state dir unless the caller chose one.
export DSE_LAB_DIR=${DSE_LAB_DIR:-/tmp/dse-lab-test.$$}

N_FAILED=0
N_CHECKS=0
N_SKIPPED=0
LAB_PREFIXES=()
TEST_TMPDIRS=()
TEST_CLEANUPS=() # commands cleanup runs first (e.g. undoing chattr +i)

ok() { N_CHECKS=$((N_CHECKS + 1)); echo "ok - $*"; }
# skip_check NAME REASON: a check that cannot run here, counted as a skip
# by scripts/run-tests (never as a pass).
skip_check() { N_SKIPPED=$((N_SKIPPED + 1)); echo "skip - $1: $2"; }
not_ok() { N_CHECKS=$((N_CHECKS + 1)); N_FAILED=$((N_FAILED + 1)); echo "not ok - $*"; }

# check DESCRIPTION CMD...: run CMD, report ok/not ok.
check() {
	local desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; return 1; fi
}

# check_eq DESCRIPTION EXPECTED ACTUAL
check_eq() {
	if [[ $2 == "$3" ]]; then ok "$1"; else not_ok "$1 (expected '$2', got '$3')"; fi
}

# quiet CMD...: CMD with its stdout discarded (keeps check's own output).
quiet() { "$@" >/dev/null; }

finish() {
	local skipped=
	((N_SKIPPED == 0)) || skipped=", $N_SKIPPED skipped"
	echo "# $N_CHECKS checks, $N_FAILED failed$skipped"
	((N_FAILED == 0))
}

# skip REASON: the whole test cannot run here: one counted skip, exit 77.
skip() { echo "skip - $(basename "$0" .sh): $*"; exit 77; }

require_root() { [[ $(id -u) == 0 ]] || skip "needs root"; }

# require_qemu: QEMU VMs can run here (scripts/install-deps), or a skip.
require_qemu() {
	command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not installed (scripts/install-deps)"
	command -v socat >/dev/null || skip "socat not installed (scripts/install-deps)"
}

# lab_prefix [STEM]: a fresh prefix, STEM (default "lt") + 3 hex digits,
# whose netns do not exist yet.
lab_prefix() {
	local p i
	for i in 1 2 3 4 5 6 7 8; do
		p=${1:-lt}$(printf '%03x' $(((RANDOM ^ $$ ^ (i << 8)) & 0xfff)))
		[[ $(netns_count_with_prefix "$p") == 0 && ! -e $DSE_LAB_DIR/$p ]] && { echo "$p"; return 0; }
	done
	echo "lab_prefix: no free prefix" >&2
	return 1
}

lab() { "$DSE_LAB" "$@"; }

# lab_up P ARGS...: up a lab and remember it for cleanup.
lab_up() {
	local p=$1
	shift
	LAB_PREFIXES+=("$p")
	"$DSE_LAB" up --prefix "$p" --bin-dir "$DSE_BUILD_DIR" "$@"
}

# sanitizer_check P: the daemons of lab P may run a sanitizer build
# (scripts/run-tests uses build-asan): any report in their output is a failure.
sanitizer_check() {
	local f hits=()
	for f in "$DSE_LAB_DIR/$1"/*/log/*.out; do
		[[ -s $f ]] || continue
		grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$f" && hits+=("$f")
	done
	if ((${#hits[@]})); then
		not_ok "sanitizer reports in lab $1: ${hits[*]}"
		# The report whole (its direct leaks and their stacks come after
		# the first lines), and a copy among the artifacts.
		grep -hE -A60 'ERROR: (Address|Leak)Sanitizer|runtime error:' "${hits[@]}" | head -150 | sed 's/^/# /'
		if [[ -n ${DSE_ARTIFACTS:-} ]] && mkdir -p "$DSE_ARTIFACTS/sanitizer"; then
			for f in "${hits[@]}"; do cp "$f" "$DSE_ARTIFACTS/sanitizer/$1-$(basename "$(dirname "$(dirname "$f")")")-$(basename "$f")"; done
		fi
		return 1
	fi
	return 0
}

lab_down() { sanitizer_check "$1"; "$DSE_LAB" down --prefix "$1"; }

# cleanup: tear down every lab this test started. Use with `trap cleanup EXIT`;
# keeps the exit status of the test.
cleanup() {
	local rc=$? p
	capture_stop_all 2>/dev/null
	for p in "${TEST_CLEANUPS[@]}"; do eval "$p" 2>/dev/null || true; done
	for p in "${LAB_PREFIXES[@]}"; do
		[[ -d $DSE_LAB_DIR/$p ]] || continue
		sanitizer_check "$p" || rc=1
		if ((N_FAILED)) && [[ -n ${DSE_TEST_LOGDIR:-} ]]; then
			local d dev
			for d in "$DSE_LAB_DIR/$p"/*/log; do
				[[ -d $d ]] || continue
				dev=${d%/log} dev=${dev##*/}
				mkdir -p "$DSE_TEST_LOGDIR/$p" && cp -r "$d" "$DSE_TEST_LOGDIR/$p/$dev"
			done
		fi
		"$DSE_LAB" down --prefix "$p" >/dev/null 2>&1 || echo "# cleanup: down $p failed" >&2
	done
	if [[ $DSE_LAB_DIR == /tmp/dse-lab-test.* ]]; then rm -rf "$DSE_LAB_DIR"; fi
	for p in "${TEST_TMPDIRS[@]}"; do rm -rf "$p"; done
	exit "$rc"
}

now_ms() { local t=${EPOCHREALTIME/./}; echo $((10#$t / 1000)); }

# wait_until TIMEOUT_S CMD...: poll CMD (every 50 ms) until it succeeds.
wait_until() {
	local deadline=$(($(now_ms) + $1 * 1000))
	shift
	until "$@"; do
		(($(now_ms) >= deadline)) && return 1
		sleep 0.05
	done
}

in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

ping_ok() { ip netns exec "$1" ping -c 1 -W 1 "$2" >/dev/null 2>&1; }

netns_count_with_prefix() {
	local f n=0
	for f in /run/netns/"$1"-*; do [[ -e $f ]] && n=$((n + 1)); done
	echo "$n"
}

# Lab cgroups in every v1 hierarchy and v2 mount, also below our own cgroup.
lab_cgroup_dirs() {
	local mp
	awk '$3 == "cgroup" || $3 == "cgroup2" { print $2 }' /proc/mounts | while read -r mp; do
		find "$mp" -maxdepth 4 -type d -name "$1-*" 2>/dev/null
	done
}

cgroup_count_with_prefix() { lab_cgroup_dirs "$1" | wc -l; }

# veths named P-* in the root netns plus every veth in netns P-*.
veth_count_with_prefix() {
	local n ns
	n=$(ip -o link show type veth 2>/dev/null | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | grep -c "^$1-" || true)
	for ns in /run/netns/"$1"-*; do
		[[ -e $ns ]] || continue
		n=$((n + $(ip -n "${ns##*/}" -o link show type veth 2>/dev/null | wc -l)))
	done
	echo "$n"
}

# lab_procs P: user processes in the lab's cgroups or netns, one pid a line.
lab_procs() {
	local d ns pid
	{
		lab_cgroup_dirs "$1" | while read -r d; do cat "$d/cgroup.procs" 2>/dev/null; done
		for ns in /run/netns/"$1"-*; do
			[[ -e $ns ]] && ip netns pids "${ns##*/}" 2>/dev/null
		done
	} | sort -un | while read -r pid; do
		# kernel threads (NAPI) have an empty cmdline (and procfs sizes are 0)
		[[ -n $(tr -d '\0' 2>/dev/null <"/proc/$pid/cmdline") ]] && echo "$pid"
	done
	return 0
}

link_in_ns() { ip -n "$1" link show dev "$2" >/dev/null 2>&1; }

# has_addr NS DEV ADDR: ADDR (like 169.254.1.2/24) is on NS/DEV.
# (Helpers capture output before grep -q: with pipefail, grep -q closing the
# pipe early would make the writer's SIGPIPE fail the check.)
has_addr() { grep -qw "inet6\? $3" <<<"$(ip -n "$1" -o addr show dev "$2" 2>/dev/null)"; }

link_up_in_ns() { grep -q ',UP' <<<"$(ip -n "$1" link show dev "$2" 2>/dev/null)"; }

link_mtu() { ip -n "$1" -o link show dev "$2" 2>/dev/null | sed -n 's/.* mtu \([0-9]*\).*/\1/p'; }

bridge_port_count() { ip -n "$1" -o link show master "$2" 2>/dev/null | wc -l; }

# cg_path P-DEV CONTROLLER: the v1 cgroup dir of a device.
cg_path() {
	local mp
	mp=$(awk -v c="$2" '$3 == "cgroup" && ("," $4 ",") ~ ("," c ",") { print $2; exit }' /proc/mounts)
	[[ -n $mp ]] || return 1
	find "$mp" -maxdepth 4 -type d -name "$1" 2>/dev/null | head -n1
}

# ---- dse daemons and the switch -------------------------------------------

DSE_BUILD_DIR=${DSE_BUILD_DIR:-$REPO_ROOT/build}
DSECTL=${DSECTL:-$DSE_BUILD_DIR/cli/dsectl}
FRAMES=$SYSTEST_DIR/frames.py
CAPTURE_PIDS=()

# cpus LIST: a CPU list ("1-3,5") as one CPU number per word ("1 2 3 5").
cpus() {
	local part out=() a IFS=,
	for part in $1; do
		[[ $part == *-* ]] || { out+=("$part"); continue; }
		for ((a = ${part%-*}; a <= ${part#*-}; a++)); do out+=("$a"); done
	done
	IFS=' '
	echo "${out[*]}"
}
# cpus_within LIST ALL: every CPU of LIST is in ALL.
cpus_within() {
	local c
	for c in $(cpus "$1"); do [[ " $(cpus "$2") " == *" $c "* ]] || return 1; done
}

# dsectl_on P HOST ARGS...: dsectl against host HOST of lab P.
dsectl_on() { local p=$1 h=$2; shift 2; DSE_LAB_CMD=$DSE_LAB "$DSECTL" --lab "$p" -H "$h" "$@"; }

# port_field P HOST PORT FIELD: a field of `dsectl -j port list` (drops.X too).
port_field() {
	dsectl_on "$1" "$2" -j port list | jq -r --arg p "$3" --arg f "$4" \
		'.[] | select(.name == $p) | getpath($f | split("."))'
}

# mac_port P HOST MAC: the port a MAC is learned on, or nothing.
mac_port() {
	dsectl_on "$1" "$2" -j mac list | jq -r --arg m "$3" '.[] | select(.mac == $m) | .port'
}

# send_frames NS FRAME...: craft and send frames from NS/eth0 (frames.py).
send_frames() { local ns=$1; shift; ip netns exec "$ns" /usr/bin/python3 "$FRAMES" eth0 "$@"; }

# capture_start NS FILE: tcpdump on NS/eth0 into FILE until capture_stop_all;
# returns once tcpdump is listening.
capture_start() {
	local ns=$1 file=$2
	ip netns exec "$ns" tcpdump -i eth0 -U -n -w "$file" 2>"$file.err" &
	CAPTURE_PIDS+=($!)
	wait_until 10 grep -q 'listening on' "$file.err"
}

capture_stop_all() {
	local pid
	for pid in "${CAPTURE_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
	for pid in "${CAPTURE_PIDS[@]}"; do wait "$pid" 2>/dev/null; done
	CAPTURE_PIDS=()
}

# capture_count FILE FILTER...: frames in FILE matching a tcpdump filter.  A
# capture tcpdump cannot read prints "tcpdump-error: WHY" instead of a number,
# so that a check of 0 frames fails rather than passes on a broken capture.
capture_count() {
	local file=$1 out
	shift
	out=$(tcpdump -r "$file" --count "$@" 2>"$file.count-err")
	if (($?)) || [[ ! $out =~ ^[0-9]+\ packet ]]; then
		echo "tcpdump-error: $(tail -n1 "$file.count-err")"
		return
	fi
	echo "${out%% *}"
}

# cg_cpu_ns P-DEV: CPU time (ns) charged to a device's cgroup (v1 cpuacct, or v2).
cg_cpu_ns() {
	local d
	d=$(cg_path "$1" cpuacct)
	if [[ -n $d && -r $d/cpuacct.usage ]]; then
		cat "$d/cpuacct.usage"
		return
	fi
	d=$(find /sys/fs/cgroup -maxdepth 3 -type d -name "$1" 2>/dev/null | head -n1)
	awk '$1 == "usage_usec" { print $2 * 1000 }' "$d/cpu.stat"
}

# daemon_pid P DEV NAME: pid of daemon NAME (dpud, hostd) of device DEV, from
# the pid file the lab keeps; fails if it is not running.
daemon_pid() {
	local pid
	read -r pid 2>/dev/null <"$DSE_LAB_DIR/$1/$2/run/$3.pid" || return 1
	kill -0 "$pid" 2>/dev/null && echo "$pid"
}

# stop_daemon P DEV NAME [SIGNAL]: signal the daemon and wait until it is gone.
stop_daemon() {
	local pid
	pid=$(daemon_pid "$1" "$2" "$3") || return 0
	kill -"${4:-TERM}" "$pid"
	wait_until 10 bash -c "! kill -0 $pid 2>/dev/null"
}

# lab_vms P [UP-ARGS...] -- HN-VM=ADDR...: a lab (dse-lab up P UP-ARGS) with
# portgroup pg-a (VLAN 10) on every host and the given VMs in it (addresses
# /24), e.g. `lab_vms "$P" --hosts 2 -- h1-vm1=198.18.10.11 h2-vm1=198.18.10.21`.
# Returns once the first VM reaches the second (when there are two).
lab_vms() {
	local p=$1 hosts=2 up=() v h name addr first='' second=''
	shift
	while (($#)) && [[ $1 != -- ]]; do
		[[ $1 == --hosts ]] && hosts=$2
		up+=("$1")
		shift
	done
	shift
	lab_up "$p" "${up[@]}" >/dev/null || return 1
	for ((h = 1; h <= hosts; h++)); do
		dsectl_on "$p" "h$h" portgroup add pg-a --vlan 10 || return 1
	done
	for v in "$@"; do
		h=${v%%-*} name=${v#*-} name=${name%%=*} addr=${v#*=}
		dsectl_on "$p" "$h" vm add "$name" --portgroup pg-a --ip "$addr/24" >/dev/null || return 1
		if [[ -z $first ]]; then first=$p-$h-$name; elif [[ -z $second ]]; then second=$addr; fi
	done
	[[ -z $second ]] || wait_until 10 ping_ok "$first" "$second"
}

# vm_mac P HN-VM: the MAC of a lab VM's eth0.
vm_mac() { ip -n "$1-$2" -o link show eth0 | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p'; }

# ---- dpdk-testpmd (vhost-user tests and benches) ---------------------------
# The caller sets TP_PID (a testpmd in the background) and TP_PREFIX (its
# --file-prefix: its runtime dir is /var/run/dpdk/$TP_PREFIX).

# tp_stop: testpmd gone (SIGINT, then SIGKILL) and its runtime files removed.
tp_stop() {
	if [[ -n ${TP_PID:-} ]]; then
		kill -INT "$TP_PID" 2>/dev/null || true
		wait_until 10 bash -c "! kill -0 $TP_PID 2>/dev/null" || kill -KILL "$TP_PID" 2>/dev/null || true
		wait "$TP_PID" 2>/dev/null || true
		TP_PID=
	fi
	rm -rf "/var/run/dpdk/${TP_PREFIX:?}"
}

# tp_on_exit: for `trap tp_on_exit EXIT`: testpmd first, then cleanup.
tp_on_exit() {
	local rc=$?
	tp_stop
	(exit "$rc")
	cleanup
}
