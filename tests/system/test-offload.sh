#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Proof of offload: VM-to-VM traffic is switched by the DPU, not the host.
#
#   h1-vm1 --rep-vm1-- [h1-dpu1 dpud] --vmnic0-- tor0 --vmnic0-- [h2-dpu1 dpud] --rep-vm1-- h2-vm1
#        host h1 runs hostd only: it configures the DPU, it never touches a frame
#
# During a TCP transfer the DPU's port counters and its cgroup's CPU time grow
# with the traffic, while the host's cgroup spends (almost) nothing: its only
# work is the one-a-second heartbeat to its DPU.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
require_root
trap cleanup EXIT

P=$(lab_prefix) || exit 1
TMP=$(mktemp -d /tmp/dse-offload.XXXXXX)
TEST_TMPDIRS+=("$TMP")
lab_vms "$P" --hosts 2 -- h1-vm1=198.18.10.11 h2-vm1=198.18.10.21 || not_ok "VMs reach each other"

BYTES=200000000
rx0=$(port_field "$P" h1 rep-vm1 rx_packets)
up0=$(port_field "$P" h1 vmnic0 tx_packets)
host0=$(cg_cpu_ns "$P-h1") dpu0=$(cg_cpu_ns "$P-h1-dpu1") vm0=$(cg_cpu_ns "$P-h1-vm1")

ip netns exec "$P-h2-vm1" /usr/bin/python3 "$SYSTEST_DIR/tcp-sink.py" 5201 "$TMP/sink" &
wait_until 10 test -e "$TMP/sink.ready"
"$DSE_LAB" exec --prefix "$P" h1-vm1 -- timeout 120 bash -c "head -c $BYTES /dev/zero >/dev/tcp/198.18.10.21/5201"
wait
check_eq "the transfer arrived" "$BYTES" "$(cut -d' ' -f1 "$TMP/sink")"

rx=$(($(port_field "$P" h1 rep-vm1 rx_packets) - rx0))
up=$(($(port_field "$P" h1 vmnic0 tx_packets) - up0))
host=$((($(cg_cpu_ns "$P-h1") - host0) / 1000000))
dpu=$((($(cg_cpu_ns "$P-h1-dpu1") - dpu0) / 1000000))
vmcpu=$((($(cg_cpu_ns "$P-h1-vm1") - vm0) / 1000000))
segs=$((BYTES / 1448))
echo "# frames from the VM through the DPU: $rx (>= $segs segments), out of the uplink: $up"
echo "# CPU during the transfer: DPU ${dpu} ms, host ${host} ms, VM ${vmcpu} ms"
check "the DPU's vNIC port counted every segment the VM sent" test "$rx" -ge "$segs"
check "the DPU's uplink carried them to the fabric" test "$up" -ge "$segs"
check "the DPU's cgroup spent CPU time switching (>= 100 ms)" test "$dpu" -ge 100
check "the host's cgroup spent less than 10% of the DPU's time, its heartbeats (${host} vs ${dpu} ms)" \
	test $((host * 10)) -lt "$dpu"
check "the DPU's NAPI threads are charged to the DPU" \
	bash -c "grep -q . $(cg_path "$P-h1-dpu1" cpuacct)/tasks && for t in \$(cat $(cg_path "$P-h1-dpu1" cpuacct)/tasks); do grep -q '^napi/' /proc/\$t/comm 2>/dev/null && exit 0; done; exit 1"

# The no-offload baseline: `dse-lab up --switch-on host` runs the same switch on
# the host's cgroup and cores, and then the host pays for the same traffic.
lab_down "$P" >/dev/null
P=$(lab_prefix) || exit 1
lab_vms "$P" --hosts 2 --switch-on host -- h1-vm1=198.18.10.11 h2-vm1=198.18.10.21 ||
	not_ok "VMs reach each other (switch on host)"
check "with --switch-on host, dpud runs in the host's cgroup" \
	grep -qx "$(daemon_pid "$P" h1-dpu1 dpud)" "$(cg_path "$P-h1" cpuacct)/tasks"
host0=$(cg_cpu_ns "$P-h1") dpu0=$(cg_cpu_ns "$P-h1-dpu1")
rm -f "$TMP/sink" "$TMP/sink.ready"
ip netns exec "$P-h2-vm1" /usr/bin/python3 "$SYSTEST_DIR/tcp-sink.py" 5201 "$TMP/sink" &
wait_until 10 test -e "$TMP/sink.ready"
"$DSE_LAB" exec --prefix "$P" h1-vm1 -- timeout 120 bash -c "head -c $BYTES /dev/zero >/dev/tcp/198.18.10.21/5201"
wait
host=$((($(cg_cpu_ns "$P-h1") - host0) / 1000000))
dpu=$((($(cg_cpu_ns "$P-h1-dpu1") - dpu0) / 1000000))
echo "# switch on the host: host ${host} ms, DPU ${dpu} ms"
check "without offload the host's cgroup pays for the switching (>= 100 ms)" test "$host" -ge 100
check "... and the DPU's cgroup is idle (${dpu} ms)" test "$dpu" -le 20
finish
