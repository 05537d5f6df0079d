# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# The lab's QEMU guests (DESIGN.md sections 4 and 8), sourced by dse-lab after
# lib-lab.sh.  A guest runs on its host: in the host's netns (its management
# network carries a live migration) and in its own cgroup on the host's CPUs,
# like a netns VM.  Its only NIC is virtio-net whose back-end is the DPU's
# dpud over vhost-user: QEMU connects (client, reconnecting every second) to
# the socket dpud serves for the VM's port, DPUDIR/run/vhost/rep-VM.sock, and
# shares the guest's memory with it through a memfd.
#
#   VMDIR/run/qemu.pid      QEMU's pid (a device's run/*.pid: dev_pids)
#   VMDIR/run/qmp.sock      QMP, QEMU's machine protocol
#   VMDIR/run/console.sock  the serial console (dse-lab console)
#   VMDIR/log/console.log   everything the console printed
#   VMDIR/log/qemu.log      QEMU's own messages
#   VMDIR/accel             "kvm" or "tcg", and why

GUEST=${DSE_GUEST:-$LIBDIR/dse-guest}
QEMU=${DSE_QEMU:-qemu-system-x86_64}

# qemu_probe_kvm GUESTDIR: succeeds when a guest boots under KVM within 10 s
# (nested KVM may create VMs yet crawl or fail: KERNEL-FACTS.md); prints why
# not otherwise.
qemu_probe_kvm() {
	local g=$1 t0 out
	[[ -r /dev/kvm && -w /dev/kvm ]] || { echo "no usable /dev/kvm"; return 1; }
	t0=$(now_ms)
	out=$(timeout 10 "$QEMU" -nodefaults -no-user-config -nographic -no-reboot -m 128 \
		-accel kvm -cpu host,-cx16 -kernel "$g/vmlinuz" -initrd "$g/initrd.img" \
		-append "console=ttyS0 quiet panic=-1 dse.probe=1" -serial stdio </dev/null 2>&1) || true
	if [[ $out == *dse-probe-ok* ]]; then
		echo "a probe boot took $(($(now_ms) - t0)) ms"
		return 0
	fi
	out=$(grep -m1 -i 'error\|fail' <<<"$out" || true)
	echo "KVM probe: ${out:-no boot within 10 s}"
	return 1
}

# qemu_accel GUESTDIR: "kvm|tcg: why", probed once per boot of this machine
# and kernel ($DSE_LAB_ACCEL=kvm|tcg decides instead).
qemu_accel() {
	local g=$1 key cache why
	case ${DSE_LAB_ACCEL:-} in
	kvm | tcg) echo "$DSE_LAB_ACCEL: chosen by DSE_LAB_ACCEL"; return ;;
	'') ;;
	*) die "DSE_LAB_ACCEL must be kvm or tcg" ;;
	esac
	key="$(cat /proc/sys/kernel/random/boot_id) $(cat "$g/kernel")"
	cache=$g/accel
	if [[ -r $cache && $(head -n1 "$cache") == "$key" ]]; then
		sed -n 2p "$cache"
		return
	fi
	if why=$(qemu_probe_kvm "$g"); then why="kvm: $why"; else why="tcg: $why"; fi
	printf '%s\n%s\n' "$key" "$why" >"$cache.tmp" && mv -f "$cache.tmp" "$cache"
	echo "$why"
}

qemu_up() { [[ -S $1/run/qmp.sock ]] || ! pid_alive "$2"; }

# qemu_start HOST VM MAC IP DPU MEM: starts the guest, returns once QEMU
# listens on its QMP socket (it then waits for dpud's vhost-user socket and
# boots).  Prints "accel KIND: why".
qemu_start() {
	local host=$1 vm=$2 mac=$3 ip=$4 dpu=$5 mem=$6 g d sock accel cpu nic ns=$PREFIX-$1-$2 pid
	command -v "$QEMU" >/dev/null || die "$QEMU is not installed (scripts/install-deps)"
	# Built beforehand (scripts/install-deps): hosts cannot reach the archive.
	g=$("$GUEST" path 2>/dev/null) ||
		die "no QEMU guest image: run scripts/install-deps (or $GUEST build) as root"
	accel=$(qemu_accel "$g")
	# Under TCG, QEMU 7.2 (Debian 12) dereferences NULL in
	# msix_set_vector_notifiers when a vhost-user virtio-net starts with
	# MSI-X (no KVM irqfds): the NIC gets no MSI-X vectors there, INTx.
	cpu=max nic=,vectors=0
	[[ $accel == kvm* ]] && cpu=host,-cx16 nic=
	d=$(devdir "$host-$vm")
	make_devdir "$host-$vm"
	sock=$(devdir "$host-dpu$dpu")/run/vhost/rep-$vm.sock
	echo "$accel" >"$d/accel"
	cg_create "$ns" "$HOST_CPUS"
	# Apart from us (its own session), its cgroup joined before the netns,
	# whose `ip netns exec` hides /sys/fs/cgroup.
	DSE_LAB_CGFILES=$(cg_procs_files "$ns") setsid sh -c '
		for f in $DSE_LAB_CGFILES; do echo $$ > "$f" || exit 1; done
		unset DSE_LAB_CGFILES
		exec ip netns exec "$0" "$@"' "$PREFIX-$host" "$QEMU" \
		-name "$host-$vm,process=$ns" -nodefaults -no-user-config -nographic -no-reboot \
		-machine "pc,accel=${accel%%:*},memory-backend=mem" -cpu "$cpu" -smp 1 -m "$mem" \
		-object "memory-backend-memfd,id=mem,size=${mem}M,share=on" \
		-kernel "$g/vmlinuz" -initrd "$g/initrd.img" \
		-append "console=ttyS0 quiet panic=-1 dse.name=$vm${ip:+ dse.ip=$ip}" \
		-chardev "socket,id=con,path=$d/run/console.sock,server=on,wait=off,logfile=$d/log/console.log" \
		-serial chardev:con -qmp "unix:$d/run/qmp.sock,server=on,wait=off" \
		-chardev "socket,id=vnic,path=$sock,reconnect=1" -netdev vhost-user,id=net0,chardev=vnic \
		-device "virtio-net-pci,netdev=net0,mac=$mac$nic" -pidfile "$d/run/qemu.pid" \
		</dev/null >>"$d/log/qemu.log" 2>&1 9>&- &
	pid=$!
	if ! wait_for 10000 qemu_up "$d" "$pid" || ! pid_alive "$pid"; then
		kill -KILL "$pid" 2>/dev/null || true
		die "QEMU did not start: $(grep -v '^$' "$d/log/qemu.log" | tail -n1)"
	fi
	echo "accel $accel"
}

cmd_console() {
	local dev d
	while (($#)); do
		case $1 in
		--prefix) need_arg "$@"; PREFIX=$2; shift 2 ;;
		-*) usage_err "console: unknown option '$1'" ;;
		*) [[ -z ${dev:-} ]] || usage_err "console: extra argument '$1'"; dev=$1; shift ;;
		esac
	done
	[[ -n ${dev:-} ]] || usage_err "console: VM required (like h1-web)"
	check_prefix
	require_root
	d=$(devdir "$dev")
	if [[ ! -S $d/run/console.sock ]]; then
		[[ -e /run/netns/$PREFIX-$dev ]] && die "$dev is a netns VM, it has no console: dse-lab exec $dev"
		die "no QEMU VM $dev in lab $PREFIX"
	fi
	command -v socat >/dev/null || die "socat is not installed (scripts/install-deps)"
	if [[ -t 0 ]]; then
		echo "console of $dev (Ctrl-] leaves)" >&2
		exec socat -,raw,echo=0,escape=0x1d "UNIX-CONNECT:$d/run/console.sock"
	fi
	exec socat - "UNIX-CONNECT:$d/run/console.sock"
}
