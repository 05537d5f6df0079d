#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# dpud's poll-mode workers: one per DPU core by default, pinned there, every
# port polled by one of them; an idle worker sleeps instead of spinning;
# --cores chooses the CPUs (refused when dpud may not run there), --cores none
# polls on the control thread; traffic flows in every mode.
#
#   h1-vm1 .11 --rep-vm1--[h1-dpu1: dpud workers]--rep-vm2-- h1-vm2 .12
set -uo pipefail
. "$(dirname "$0")/lib.sh"
require_root
trap cleanup EXIT

P=$(lab_prefix) || exit 1
lab_vms "$P" --hosts 1 -- h1-vm1=198.18.10.11 h1-vm2=198.18.10.12 ||
	{ not_ok "lab with VMs"; finish; exit 1; }
DPU=$P-h1-dpu1
show() { dsectl_on "$P" h1 -j switch show | jq -c ".dpus.dpu1$1"; }

# The DPU's CPU: the one its cgroup's cpuset allows.
cs=$(cg_path "$DPU" cpuset) || cs=$(find /sys/fs/cgroup -maxdepth 3 -type d -name "$DPU" | head -n1)
dpu_cpu=$(cat "$cs/cpuset.cpus")
check_eq "one worker by default" 1 "$(show '.workers | length')"
check_eq "on the DPU's CPU ($dpu_cpu)" "$dpu_cpu" "$(show '.workers[0].cpu')"
check_eq "it polls every port" "$(dsectl_on "$P" h1 -j port list | jq length)" "$(show '.workers[0].ports')"
check "every port names its worker" bash -c \
	"[[ \$(DSE_LAB_CMD=$DSE_LAB $DSECTL --lab $P -H h1 -j port list | jq '[.[] | select(.worker != 0)] | length') == 0 ]]"
pid=$(daemon_pid "$P" h1-dpu1 dpud)
tid=$(grep -l '^dpud-w0$' /proc/"$pid"/task/*/comm 2>/dev/null | head -n1 | cut -d/ -f5)
check "the worker thread is pinned to the DPU's CPU" \
	bash -c "[[ \$(taskset -cp $tid 2>/dev/null | sed 's/.*: //') == $dpu_cpu ]]"

check "traffic flows through the worker" ping_ok "$P-h1-vm1" 198.18.10.12
check "the worker counts the frames it switched" test "$(show '.workers[0].packets')" -gt 0

# Idle: the worker sleeps in epoll_wait; it must not spin.  Its count of
# sleeps grows, and its thread is seen blocked (state S): a spinning worker
# is always runnable (R).  What idling costs is a figure, not a check.
s0=$(show '.workers[0].sleeps') cpu0=$(cg_cpu_ns "$DPU") t0=$(now_ms)
wait_until 5 bash -c "(( \$(DSE_LAB_CMD=$DSE_LAB $DSECTL --lab $P -H h1 -j switch show | jq .dpus.dpu1.workers[0].sleeps) >= $s0 + 2 ))"
cpu_ms=$((($(cg_cpu_ns "$DPU") - cpu0) / 1000000)) wall_ms=$(($(now_ms) - t0))
echo "# idle: the DPU's cgroup used $cpu_ms ms of CPU in $wall_ms ms"
check "an idle worker sleeps" test "$(show '.workers[0].sleeps')" -ge $((s0 + 2))
asleep() { [[ $(awk '{ print $3 }' "/proc/$pid/task/$tid/stat" 2>/dev/null) == S ]]; }
check "... its thread blocks (seen in state S)" wait_until 5 asleep

# Options: refused with a one-line error; none polls on the control thread.
out=$("$DSE_BUILD_DIR/daemons/dpud/dse-dpud" --name x --dir /nonexistent --ctl /nonexistent/s --cores 4096 2>&1)
check_eq "--cores with a CPU that does not exist exits 2" 2 $?
check_eq "... with a one-line error" 1 "$(wc -l <<<"$out")"
check "... that names the option" grep -q -- --cores <<<"$out"
stop_daemon "$P" h1-dpu1 dpud
DSE_DPUD_ARGS="--cores none" lab_up "$P" --hosts 1 >/dev/null
check "with --cores none, traffic flows (polled on the control thread)" \
	wait_until 15 ping_ok "$P-h1-vm1" 198.18.10.12
check_eq "... and switch show lists no worker" 0 "$(show '.workers | length')"
check_eq "... and no port names one" 0 \
	"$(dsectl_on "$P" h1 -j port list | jq '[.[] | select(.worker != null)] | length')"

# Two workers switching at once: the DPU gets two CPUs (up --dpu-cpus), every
# frame goes through the workers (--eswitch slowpath), and the VMs' ports sit
# on different workers, so each worker sends to ports the other one polls.
two=$(/usr/bin/python3 -c 'import os; print(",".join(map(str, sorted(os.sched_getaffinity(0))[:2])))')
if [[ $two == *,* ]]; then
	TMPD=$(mktemp -d) && TEST_TMPDIRS+=("$TMPD")
	stop_daemon "$P" h1-dpu1 dpud
	DSE_DPUD_ARGS="--cores $two --eswitch slowpath" lab_up "$P" --hosts 1 --dpu-cpus "$two" >/dev/null
	check "with --cores $two, traffic flows" wait_until 15 ping_ok "$P-h1-vm1" 198.18.10.12
	check_eq "... two workers" 2 "$(show '.workers | length')"
	w1=$(port_field "$P" h1 rep-vm1 worker) w2=$(port_field "$P" h1 rep-vm2 worker)
	check "... the VMs' ports on different workers ($w1, $w2)" test "$w1" != "$w2"
	in_ns "$P-h1-vm2" ping -f -c 3000 198.18.10.11 >"$TMPD/p2" 2>&1 &
	pid2=$!
	in_ns "$P-h1-vm1" ping -f -c 3000 198.18.10.12 >"$TMPD/p1" 2>&1
	wait "$pid2"
	for f in p1 p2; do
		sed -n 's/^\(.*packets transmitted.*\)$/# \1/p' "$TMPD/$f"
		check "ping floods both ways at once: none lost ($f)" grep -q ' 0% packet loss' "$TMPD/$f"
	done
	check "both workers switched frames" test "$(show '.workers | map(.packets) | min')" -gt 3000
else
	echo "# one CPU: the two-worker checks need two"
fi
finish
