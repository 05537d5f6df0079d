#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Real VMs (issue 15, point 1): `dsectl vm add --kind qemu` starts a QEMU
# guest on the host (its own cgroup on the host's CPUs, the host's netns),
# booted from the lab's Debian kernel and busybox initramfs (dse-guest),
# whose only NIC is virtio-net served by the DPU's dpud over vhost-user, with
# guest memory shared through a memfd.  The guest gets its address, answers
# ping, TCP echo and HTTP from a netns VM through the DPU's switch, and its
# serial console (`dse-lab console`) runs a shell whose prompt names it.
# `vm del` stops QEMU and leaves nothing behind.
#
#   h1-vm1 .11 --veth-- rep-vm1 --[h1-dpu1 dpud, pg-a]-- rep-web (vhost-user)
#                                                  | DPUDIR/run/vhost/rep-web.sock
#                                     QEMU h1-web: virtio-net-pci, memfd memory
set -uo pipefail
. "$(dirname "$0")/lib.sh"
require_root
require_qemu
trap cleanup EXIT

P=$(lab_prefix lq) || exit 1
lab_vms "$P" --hosts 1 -- h1-vm1=198.18.10.11 || { not_ok "lab with a netns VM"; finish; exit 1; }
ds() { dsectl_on "$P" h1 "$@"; }
VMDIR=$DSE_LAB_DIR/$P/h1-web

# ---- bad input first: refused, nothing made ----
out=$(ds vm add bad --portgroup pg-a --kind vmware 2>&1)
check "vm add --kind vmware is refused, saying what is wanted" grep -q "want netns or qemu" <<<"$out"
out=$(ds vm add bad --portgroup pg-a --kind qemu --mem 8 2>&1)
check "vm add --mem 8 is refused" grep -q "mem_mib" <<<"$out"
check_eq "neither was added" 0 "$(ds -j vm list | jq '[.[] | select(.name == "bad")] | length')"
out=$(DSE_QEMU=false "$DSE_LAB" vm-create --prefix "$P" h1 bad --kind qemu --mac 02:d5:00:01:00:99 2>&1)
check "a QEMU that does not start: vm-create fails, saying so" grep -q "QEMU did not start" <<<"$out"
check "... and leaves no directory or cgroup" bash -c "! test -e '$DSE_LAB_DIR/$P/h1-bad' && [[ -z \$(find /sys/fs/cgroup -maxdepth 4 -type d -name '$P-h1-bad' 2>/dev/null) ]]"

# ---- a QEMU guest ----
out=$(ds vm add web --portgroup pg-a --ip 198.18.10.12/24 --kind qemu --mem 192 2>&1)
echo "$out" | sed 's/^/# /'
check "vm add --kind qemu says how the guest runs (kvm or tcg, and why)" \
	grep -qE "QEMU guest, 192 MiB, (kvm|tcg): ." <<<"$out" || { finish; exit 1; }
kind=$(ds -j vm list | jq -r '.[] | select(.name == "web") | "\(.kind) \(.accel)"')
check "vm list: kind qemu with its accelerator" grep -qE "^qemu (kvm|tcg):" <<<"$kind"
ds vm list | sed 's/^/# /'
qpid=$(cat "$VMDIR/run/qemu.pid" 2>/dev/null)
check "QEMU runs" test -n "$qpid" -a -d "/proc/${qpid:-0}"
check "in the VM's own cgroup" grep -q "/$P-h1-web\$" "/proc/${qpid:-0}/cgroup"
check_eq "in the host's network namespace" "$P-h1" "$(ip netns identify "${qpid:-0}")"
# memfd_inodes PID: the inodes of the memfds PID maps (its guest memory).
memfd_inodes() { awk '$6 ~ /^\/memfd:/ { print $5 }' "/proc/$1/maps" 2>/dev/null | sort -u; }
has_memfd() { [[ -n $(memfd_inodes "$1") ]]; }
check "its guest memory is a memfd" wait_until 20 has_memfd "${qpid:-0}"
qino=$(memfd_inodes "${qpid:-0}")

vh() { port_field "$P" h1 rep-web "$1"; }
check_eq "the VM's port rep-web is vhost-user" vhost-user "$(vh backend)"
check "QEMU attaches to dpud's vhost-user socket" wait_until 30 bash -c "[[ \$(DSE_LAB_CMD=$DSE_LAB $DSECTL --lab $P -H h1 -j port list | jq -r '.[] | select(.name == \"rep-web\") | .vhost.attached') == true ]]"
dpid=$(daemon_pid "$P" h1-dpu1 dpud)
check "dpud maps the same memfd: the guest's memory, shared" \
	wait_until 60 bash -c "[[ -n '$qino' ]] && grep -qx '$qino' <(awk '\$6 ~ /^\\/memfd:/ { print \$5 }' /proc/${dpid:-0}/maps)"

# ---- the guest on the network ----
check "the netns VM pings the QEMU guest (boot, virtio-net, DPU switch)" \
	wait_until 90 ping_ok "$P-h1-vm1" 198.18.10.12
check_eq "the guest's MAC is learned on rep-web" rep-web \
	"$(mac_port "$P" h1 "$(ds -j vm list | jq -r '.[] | select(.name == "web") | .mac')")"
check_eq "HTTP from the netns VM to the guest" "<html><body>dse guest web</body></html>" \
	"$(in_ns "$P-h1-vm1" curl -s -m 5 http://198.18.10.12/)"
check_eq "TCP echo (port 7) from the netns VM" "dse-$P" \
	"$(echo "dse-$P" | in_ns "$P-h1-vm1" timeout 5 busybox nc 198.18.10.12 7)"
check "both rings run, frames crossed both ways" bash -c "[[ \$(DSE_LAB_CMD=$DSE_LAB $DSECTL --lab $P -H h1 -j port list | jq '.[] | select(.name == \"rep-web\") | [(.vhost.rings[] | select(.running)), (select(.vhost.from_guest > 0 and .vhost.to_guest > 0))] | length') == 3 ]]"
check_eq "no bad descriptors, oversize or short frames" 0 \
	"$(ds -j port list | jq '.[] | select(.name == "rep-web") | .drops | .vhost_bad_desc + .vhost_oversize + .vhost_short')"

# ---- its console ----
console_has() { grep -q "$1" "$VMDIR/log/console.log"; }
check "the console's shell prompt names the VM" wait_until 10 console_has "^web# "
printf 'echo "mark-$(hostname)-$(cat /sys/class/net/eth0/address)"\n' |
	"$DSE_LAB" console --prefix "$P" h1-web >/dev/null 2>&1
mac=$(ds -j vm list | jq -r '.[] | select(.name == "web") | .mac')
check "dse-lab console runs a command in the guest" wait_until 10 console_has "^mark-web-$mac"
out=$("$DSE_LAB" console --prefix "$P" h1-vm1 2>&1 </dev/null)
check "console of a netns VM says to use exec" grep -q "netns VM.*dse-lab exec h1-vm1" <<<"$out"

# ---- gone without a trace ----
check "vm del web" quiet ds vm del web
check "QEMU is gone" wait_until 10 test ! -d "/proc/$qpid"
check_eq "its cgroup is gone" "" "$(cg_path "$P-h1-web" cpu)"
check "its directory is gone" test ! -e "$VMDIR"
check "its port is gone from the DPU" wait_until 10 bash -c "[[ -z \$(DSE_LAB_CMD=$DSE_LAB $DSECTL --lab $P -H h1 -j port list | jq -r '.[] | select(.name == \"rep-web\") | .name') ]]"
check_eq "the netns VM still runs" ok "$(ping_ok "$P-h1-vm1" 198.18.10.11 && echo ok)"

finish
