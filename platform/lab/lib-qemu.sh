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

# mgmt_addr HOST: the host's address on the management network.
mgmt_addr() { echo "198.19.0.$((10 + ${1#h}))"; }

# qemu_start HOST VM MAC IP DPU MEM [PORT]: starts the guest, returns once
# QEMU listens on its QMP socket (it then waits for dpud's vhost-user socket
# and boots).  With PORT, the guest comes from a live migration instead: QEMU
# waits for it on the host's management address, TCP PORT.  Prints "accel
# KIND: why".
qemu_start() {
	local host=$1 vm=$2 mac=$3 ip=$4 dpu=$5 mem=$6 incoming=${7:-} g d sock accel cpu nic ns=$PREFIX-$1-$2 pid
	local in=()
	[[ -n $incoming ]] && in=(-incoming "tcp:$(mgmt_addr "$host"):$incoming")
	command -v "$QEMU" >/dev/null || die "$QEMU is not installed (scripts/install-deps)"
	# Built beforehand (scripts/install-deps): hosts cannot reach the archive.
	g=$("$GUEST" path 2>/dev/null) ||
		die "no QEMU guest image: run scripts/install-deps (or $GUEST build) as root"
	accel=$(qemu_accel "$g")
	# The guest's timer is the local APIC's own, not its TSC deadline mode
	# (lapic=notscdeadline): across migrations under load, a TCG guest's
	# deadline timer could stop firing, and the guest hung (a soft lockup,
	# then silence) in 3 of 5 runs of bench/migrate.sh; none since.
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
		-append "console=ttyS0 quiet panic=-1 lapic=notscdeadline dse.name=$vm${ip:+ dse.ip=$ip}" \
		-chardev "socket,id=con,path=$d/run/console.sock,server=on,wait=off,logfile=$d/log/console.log" \
		-serial chardev:con -qmp "unix:$d/run/qmp.sock,server=on,wait=off" \
		-chardev "socket,id=vnic,path=$sock,reconnect=1" -netdev vhost-user,id=net0,chardev=vnic \
		-device "virtio-net-pci,netdev=net0,mac=$mac$nic" -pidfile "$d/run/qemu.pid" "${in[@]}" \
		</dev/null >>"$d/log/qemu.log" 2>&1 9>&- &
	pid=$!
	if ! wait_for 10000 qemu_up "$d" "$pid" || ! pid_alive "$pid"; then
		# Nothing left behind: its process, cgroup and directory.
		local why c
		why=$(grep -v '^$' "$d/log/qemu.log" | tail -n1 || true)
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		while read -r c; do
			if [[ -n $c ]]; then rmdir "$c" 2>/dev/null || warn "cannot remove cgroup $c"; fi
		done < <(cg_dirs "$ns")
		rm -rf --one-file-system "$d"
		die "QEMU did not start: ${why:-it exited at once}"
	fi
	echo "accel $accel"
}

# dse-lab vm-migrate [--prefix P] HOST VM --to HOST2 --port N [--bandwidth MIB]:
# live-migrates QEMU guest VM to the QEMU that waits for it on HOST2
# (vm-create --incoming N), over the management network, the stream capped
# at MIB MiB/s if asked; prints "migration JSON" (the figures) once done.
# The source QEMU stays, stopped, for the caller to destroy; on failure the
# guest runs on here.
cmd_vm_migrate() {
	local host='' vm='' to='' port='' bw=0 d
	while (($#)); do
		case $1 in
		--prefix) need_arg "$@"; PREFIX=$2; shift 2 ;;
		--to) need_arg "$@"; to=$2; shift 2 ;;
		--bandwidth) need_arg "$@"; bw=$2; shift 2 ;;
		--port) need_arg "$@"; port=$2; shift 2 ;;
		-*) usage_err "vm-migrate: unknown option '$1'" ;;
		*)
			if [[ -z $host ]]; then host=$1; elif [[ -z $vm ]]; then vm=$1; else usage_err "vm-migrate: extra argument '$1'"; fi
			shift
			;;
		esac
	done
	check_prefix
	[[ $host =~ ^h[0-9]+$ && $to =~ ^h[0-9]+$ ]] || usage_err "vm-migrate: HOST and --to HOST2 must look like h1"
	[[ $host != "$to" ]] || usage_err "vm-migrate: --to $to is where $vm runs"
	[[ $port =~ ^[0-9]+$ ]] && ((port > 0 && port < 65536)) || usage_err "vm-migrate: --port must be a TCP port"
	[[ $bw =~ ^[0-9]+$ ]] || usage_err "vm-migrate: --bandwidth wants MiB/s"
	require_root
	[[ -e /run/netns/$PREFIX-$to ]] || die "no host $to in lab $PREFIX"
	d=$(devdir "$host-$vm")
	[[ -S $d/run/qmp.sock ]] || die "no QEMU VM $host-$vm in lab $PREFIX"
	# The waiting QEMU listens once its own start is done (its vhost-user
	# back-end answered): look, without connecting (a connection would be
	# taken for the migration stream).
	listening() { [[ -n $(ip netns exec "$PREFIX-$to" ss -Hltn "sport = :$port" 2>/dev/null) ]]; }
	wait_for 15000 listening || die "nothing waits for $vm on $to, TCP port $port (vm-create --incoming $port)"
	local out
	local bwopt=()
	((bw)) && bwopt=(--bandwidth "$bw")
	out=$("$LIBDIR/dse-qmp" "$d/run/qmp.sock" migrate "tcp:$(mgmt_addr "$to"):$port" "${bwopt[@]}" 2>&1) ||
		die "migration of $host-$vm to $to failed, it runs on $host: ${out#dse-qmp: migrate: }"
	echo "migration $out"
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
