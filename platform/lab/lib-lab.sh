# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# lib-lab.sh: helpers of dse-lab (sourced, not run): messages, time, locking,
# cgroup hierarchies (v1 and v2), network namespaces, veths, NAPI threads,
# certificates. Every network command names its namespace explicitly
# (`ip -n NS`, `ip netns exec NS`): dse-lab may be run by hostd, which sits in
# a host's netns, so the current netns means nothing.

PROG=dse-lab
LAB_LOCK=${DSE_LAB_LOCK:-/run/dse-lab.lock}

# ---- messages -------------------------------------------------------------

die() { echo "$PROG: $*" >&2; exit 1; }
warn() { echo "$PROG: $*" >&2; }
say() { echo "lab $PREFIX: $*"; }

now_ms() { local t=${EPOCHREALTIME/./}; echo $((10#$t / 1000)); }

# wait_for TIMEOUT_MS CMD...: poll CMD every 50 ms until it succeeds or the
# deadline passes. Returns 0 on success, 1 on timeout.
wait_for() {
	local deadline=$(($(now_ms) + $1))
	shift
	while ! "$@"; do
		(($(now_ms) >= deadline)) && return 1
		sleep 0.05
	done
	return 0
}

# One lock for every lab on the machine: serialises creation, teardown and
# the before/after diff that identifies NAPI threads. fd 9; daemons must not
# inherit it.
lab_lock() {
	exec 9>"$LAB_LOCK"
	flock -w 120 9 || die "another dse-lab holds $LAB_LOCK for over 120 s"
}
lab_unlock() { flock -u 9 2>/dev/null || true; exec 9>&-; }

# ---- CPUs -----------------------------------------------------------------

# expand_cpulist "0-2,5" -> "0 1 2 5"
expand_cpulist() {
	local part a b out=() IFS=,
	for part in $1; do
		if [[ $part == *-* ]]; then
			a=${part%-*} b=${part#*-}
			while ((a <= b)); do out+=("$a"); a=$((a + 1)); done
		elif [[ -n $part ]]; then
			out+=("$part")
		fi
	done
	IFS=' '
	echo "${out[*]}"
}

join_comma() { local IFS=,; echo "$*"; }

# Sets NCPUS, HOST_CPUS, DPU_CPUS. With >= 2 CPUs the DPUs get the last one
# (a quarter of them from 4 CPUs on); hosts and VMs get the rest.  With
# DPU_CPUS_WANT (`up --dpu-cpus`) the DPUs get those (each must be online) and
# hosts the others, or, when none is left, the same ones.
# shellcheck disable=SC2034 # NCPUS, HOST_CPUS, DPU_CPUS are read by dse-lab
cpu_plan() {
	local online cpul
	if [[ -r /sys/fs/cgroup/cpuset/cpuset.effective_cpus ]]; then
		online=$(cat /sys/fs/cgroup/cpuset/cpuset.effective_cpus)
	elif [[ -r /sys/fs/cgroup/cpuset.cpus.effective ]]; then
		online=$(cat /sys/fs/cgroup/cpuset.cpus.effective)
	else
		online=$(cat /sys/devices/system/cpu/online)
	fi
	read -r -a cpul <<<"$(expand_cpulist "$online")"
	NCPUS=${#cpul[@]}
	if [[ -n ${DPU_CPUS_WANT:-} ]]; then
		local want c rest=()
		read -r -a want <<<"$(expand_cpulist "$DPU_CPUS_WANT")"
		for c in "${want[@]}"; do
			[[ " ${cpul[*]} " == *" $c "* ]] || die "--dpu-cpus: CPU $c is not available (online: $online)"
		done
		for c in "${cpul[@]}"; do
			[[ " ${want[*]} " == *" $c "* ]] || rest+=("$c")
		done
		((${#rest[@]})) || rest=("${want[@]}")
		DPU_CPUS=$(join_comma "${want[@]}") HOST_CPUS=$(join_comma "${rest[@]}")
		return
	fi
	if ((NCPUS < 2)); then
		HOST_CPUS=${cpul[0]} DPU_CPUS=${cpul[0]}
		return
	fi
	local k=$((NCPUS / 4))
	((k < 1)) && k=1
	HOST_CPUS=$(join_comma "${cpul[@]:0:NCPUS-k}")
	DPU_CPUS=$(join_comma "${cpul[@]:NCPUS-k}")
}

# dpu_cpus M: the CPUs of DPU M of a host.  Each DPU of a host gets its own
# share of DPU_CPUS when there are at least as many CPUs as DPUs (a real
# DPU has its own cores); with fewer, the DPUs share them all.
dpu_cpus() {
	local cpul per
	read -r -a cpul <<<"$(expand_cpulist "$DPU_CPUS")"
	if ((${DPUS:-1} < 2 || ${#cpul[@]} < ${DPUS:-1})); then
		echo "$DPU_CPUS"
		return
	fi
	per=$((${#cpul[@]} / DPUS))
	join_comma "${cpul[@]:($1 - 1) * per:per}"
}

# ---- cgroups --------------------------------------------------------------
#
# CG_MP[i]   mount point of hierarchy i
# CG_KIND[i] "v2" or the v1 controller we use it for (cpu, cpuacct, ...)
# CG_ALT[i]  our own cgroup in that hierarchy (from /proc/self/cgroup), used
#            as the parent when the hierarchy root is not writable (e.g. a
#            memory controller delegated to a sandbox); "" when it is "/".

CG_V1_WANT="cpu cpuacct cpuset memory pids freezer"
CG_MP=() CG_KIND=() CG_ALT=()

cg_self_path() { # KIND
	local id ctrls path
	while IFS=: read -r id ctrls path; do
		if [[ $1 == v2 ]]; then
			[[ $id == 0 && -z $ctrls ]] && { echo "$path"; return; }
		elif [[ ",$ctrls," == *",$1,"* ]]; then
			echo "$path"
			return
		fi
	done </proc/self/cgroup
	echo /
}

cg_discover() {
	CG_MP=() CG_KIND=() CG_ALT=()
	local dev mp type opts rest c kind alt
	while read -r dev mp type opts rest; do
		kind=
		case $type in
		cgroup2) kind=v2 ;;
		cgroup)
			for c in $CG_V1_WANT; do
				if [[ ",$opts," == *",$c,"* ]]; then kind=$c; break; fi
			done
			;;
		esac
		[[ -n $kind ]] || continue
		alt=$(cg_self_path "$kind")
		[[ $alt == / ]] && alt=
		CG_MP+=("$mp") CG_KIND+=("$kind") CG_ALT+=("$alt")
	done </proc/mounts
}

# cg_dirs NAME [KIND...]: existing directories of cgroup NAME, one a line.
cg_dirs() {
	local name=$1 i k
	shift
	for i in "${!CG_MP[@]}"; do
		if (($# > 0)); then
			local hit=0
			for k in "$@"; do [[ ${CG_KIND[i]} == "$k" ]] && hit=1; done
			((hit)) || continue
		fi
		if [[ -d ${CG_MP[i]}/$name ]]; then
			echo "${CG_MP[i]}/$name"
		elif [[ -n ${CG_ALT[i]} && -d ${CG_MP[i]}${CG_ALT[i]}/$name ]]; then
			echo "${CG_MP[i]}${CG_ALT[i]}/$name"
		fi
	done
}

cg_exists() { [[ -n $(cg_dirs "$1") ]]; }

# cg_create NAME CPUS: create NAME in every hierarchy; cpuset gets CPUS.
cg_create() {
	local name=$1 cpus=$2 i dir parent c
	for i in "${!CG_MP[@]}"; do
		dir=${CG_MP[i]}/$name
		if [[ ! -d $dir && -n ${CG_ALT[i]} && -d ${CG_MP[i]}${CG_ALT[i]}/$name ]]; then
			dir=${CG_MP[i]}${CG_ALT[i]}/$name
		fi
		if [[ ! -d $dir ]] && ! mkdir "$dir" 2>/dev/null; then
			[[ -n ${CG_ALT[i]} ]] || { warn "cannot create cgroup $dir"; return 1; }
			dir=${CG_MP[i]}${CG_ALT[i]}/$name
			mkdir -p "$dir" 2>/dev/null || { warn "cannot create cgroup $dir"; return 1; }
		fi
		parent=${dir%/*}
		case ${CG_KIND[i]} in
		cpu)
			# Real-time runtime for the agents' heartbeat threads (SCHED_FIFO),
			# per period (a second): a host's hostd sends a pair of DPUs a
			# heartbeat each every 2 ms, about 35 ms of a core a second, a DPU
			# answers in about 20 ms.  A group that runs out stops until the
			# next period, its heartbeats with it: hosts get 100 ms, DPUs 50 ms.
			# Without it a child cgroup may run no real-time task at all.
			local rt=''
			[[ $name =~ -h[0-9]+$ ]] && rt=100000
			[[ $name =~ -h[0-9]+-dpu[0-9]+$ ]] && rt=50000
			if [[ -n $rt && -f $dir/cpu.rt_runtime_us ]]; then
				{ echo "$rt" >"$dir/cpu.rt_runtime_us"; } 2>/dev/null ||
					warn "$name: no real-time runtime left for its heartbeats"
			fi
			;;
		cpuset)
			[[ -s $dir/cpuset.mems ]] || cat "$parent/cpuset.mems" >"$dir/cpuset.mems"
			echo "$cpus" >"$dir/cpuset.cpus" || { warn "cannot set $dir/cpuset.cpus"; return 1; }
			;;
		v2)
			for c in cpu cpuset memory pids; do
				grep -qw "$c" "$parent/cgroup.controllers" 2>/dev/null || continue
				echo "+$c" >"$parent/cgroup.subtree_control" 2>/dev/null || true
			done
			if [[ -f $dir/cpuset.cpus ]]; then
				echo "$cpus" >"$dir/cpuset.cpus" 2>/dev/null || true
			fi
			;;
		esac
	done
	return 0
}

# cg_procs_files NAME: the cgroup.procs files a process writes itself into
# to join device NAME (space separated, paths have no spaces).
cg_procs_files() {
	local d out=()
	while read -r d; do [[ -n $d ]] && out+=("$d/cgroup.procs"); done < <(cg_dirs "$1")
	echo "${out[*]}"
}

# All lab cgroup directories of prefix P, children before parents. Searched
# a few levels deep, not just at the root and under our own cgroup: the lab
# may have been built from another (sandboxed) cgroup than the one tearing
# it down.
cg_lab_dirs() {
	local p=$1 mp
	for mp in $(printf '%s\n' "${CG_MP[@]}" | sort -u); do
		find "$mp" -mindepth 1 -maxdepth 3 -type d -name "$p-*" -prune -print0 2>/dev/null |
			xargs -0 -r -I{} find {} -depth -type d 2>/dev/null
	done
	return 0
}

is_kthread() { # PID
	local stat rest f
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	rest=${stat##*) }
	read -r -a f <<<"$rest"
	(((f[6] & 0x00200000) != 0))
}

# ---- netns, links ---------------------------------------------------------

ns_exists() { [[ -e /run/netns/$1 ]] && ip netns exec "$1" true 2>/dev/null; }

lab_netns() { # P: every netns named P-*
	local f
	for f in /run/netns/"$1"-*; do
		[[ -e $f ]] && echo "${f##*/}"
	done
	return 0
}

ensure_netns() {
	local ns=$1
	if [[ -e /run/netns/$ns ]] && ! ip netns exec "$ns" true 2>/dev/null; then
		ip netns del "$ns" 2>/dev/null || rm -f "/run/netns/$ns"
	fi
	[[ -e /run/netns/$ns ]] || ip netns add "$ns" || { warn "cannot create netns $ns"; return 1; }
	ip -n "$ns" link set lo up
}

# no_ipv6 NS: switch ports (representors, uplinks, fabric bridge ports) carry
# frames, they are not hosts: no IPv6 stack chattering on them.
no_ipv6() {
	ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 2>/dev/null || true
}

# cpu_list_norm LIST: a CPU list ("0-2,5") as its CPUs, one per word, sorted.
cpu_list_norm() {
	local part out=()
	for part in ${1//,/ }; do
		if [[ $part == *-* ]]; then out+=($(seq "${part%-*}" "${part#*-}")); else out+=("$part"); fi
	done
	printf '%s\n' "${out[@]}" | sort -n | tr '\n' ' '
}

link_exists() { ip -n "$1" link show dev "$2" >/dev/null 2>&1; }

# ensure_veth NS_A IF_A NS_B IF_B [INDEX_A INDEX_B]: a veth pair between two
# namespaces (with those interface indexes); a half left over from an
# earlier crash is removed and the pair recreated.
#
# Cables (uplinks) get indexes of their own: the kernel reports a carrier
# change at once only for an interface whose index differs from its peer's
# (linkwatch_urgent_event() compares ifindex and iflink); two ends that
# happen to share a number in their namespaces would hear a cut cable up to
# a second late.
ensure_veth() {
	local na=$1 ia=$2 nb=$3 ib=$4 ea=0 eb=0 xa=() xb=()
	[[ -n ${5:-} ]] && xa=(index "$5") xb=(index "$6")
	link_exists "$na" "$ia" && ea=1
	link_exists "$nb" "$ib" && eb=1
	((ea && eb)) && return 0
	((ea)) && ip -n "$na" link del "$ia"
	((eb)) && ip -n "$nb" link del "$ib"
	ip -n "$na" link add "$ia" "${xa[@]}" type veth peer name "$ib" "${xb[@]}" netns "$nb" ||
		{ warn "cannot create veth $na/$ia <-> $nb/$ib"; return 1; }
}

link_up() { # NS IF [MTU]
	if [[ -n ${3:-} ]]; then ip -n "$1" link set dev "$2" mtu "$3"; fi
	ip -n "$1" link set dev "$2" up
}

# gro_on NS DEV: the DPU's eswitch redirects frames in XDP into its end of a
# veth; the other end (a VM's eth0, a fabric port) takes such frames only when
# it has a NAPI context, which GRO gives it.  The context is created only if
# GRO is switched on while the link is up: toggle it after link_up.
gro_on() {
	ip netns exec "$1" ethtool -K "$2" gro off >/dev/null 2>&1 || true
	ip netns exec "$1" ethtool -K "$2" gro on >/dev/null 2>&1 || warn "$1/$2: cannot turn GRO on"
}

# ---- NAPI threads ---------------------------------------------------------

# napi_pids DEV: pids of kernel threads named napi/DEV-<id> (all netns).
napi_pids() {
	local f c pid
	for f in /proc/[0-9]*/comm; do
		read -r c 2>/dev/null <"$f" || continue
		[[ $c == "napi/$1-"* ]] || continue
		pid=${f#/proc/}
		echo "${pid%/comm}"
	done
	return 0
}

# napi_in_cg CG DEV: napi/DEV-* threads already in cgroup CG (cpuset).
napi_in_cg() {
	local d t c
	d=$(cg_dirs "$1" cpuset)
	d=${d%%$'\n'*}
	[[ -n $d ]] || return 0
	while read -r t; do
		read -r c 2>/dev/null <"/proc/$t/comm" || continue
		[[ $c == "napi/$2-"* ]] && echo "$t"
	done <"$d/tasks"
	return 0
}

napi_count_in_cg() {
	local d t c n=0
	d=$(cg_dirs "$1" cpuset)
	d=${d%%$'\n'*}
	[[ -n $d ]] || { echo 0; return; }
	while read -r t; do
		read -r c 2>/dev/null <"/proc/$t/comm" || continue
		[[ $c == napi/* ]] && n=$((n + 1))
	done <"$d/tasks"
	echo "$n"
}

# napi_attach NS DEV CG CPUS: NAPI context (XDP pass-through), threaded NAPI on, and the NAPI kernel
# thread(s) of NS/DEV charged to cgroup CG and pinned to CPUS. Thread names
# are not unique across namespaces, so the thread is found by diffing the
# napi/DEV-* list around the switch to threaded mode; the caller holds the
# lab lock so no other dse-lab toggles a same-named device meanwhile.
napi_attach() {
	local ns=$1 dev=$2 cg=$3 cpus=$4
	# A veth gets a NAPI context (needed for threaded NAPI) from GRO or from an
	# XDP program.  GRO would hand the data plane coalesced super-frames, so we
	# attach the pass-through XDP program with GRO off; without the program
	# (not built), fall back to GRO.
	if grep -q 'prog/xdp' <<<"$(ip -n "$ns" link show dev "$dev" 2>/dev/null)"; then
		: # a program is there already (dpud's eswitch): the context exists
	elif [[ -n ${XDP_OBJ:-} && -r $XDP_OBJ ]]; then
		ip netns exec "$ns" ethtool -K "$dev" gro off >/dev/null 2>&1 || true
		ip -n "$ns" link set dev "$dev" xdpdrv obj "$XDP_OBJ" sec xdp.frags 2>/dev/null ||
			warn "$ns/$dev: cannot attach $XDP_OBJ"
	else
		ip netns exec "$ns" ethtool -K "$dev" gro on >/dev/null 2>&1 ||
			warn "$ns/$dev: cannot turn GRO on"
	fi
	napi_place "$ns" "$dev" "$cg" "$cpus"
}

# napi_place NS DEV CG CPUS: threaded NAPI on for NS/DEV (which must have a NAPI
# context already), its kernel thread charged to cgroup CG and pinned to CPUS.
napi_place() {
	local ns=$1 dev=$2 cg=$3 cpus=$4 before new t d have
	have=$(napi_in_cg "$cg" "$dev")
	if [[ -n $have ]] && [[ $(ip netns exec "$ns" cat "/sys/class/net/$dev/threaded") == 1 ]]; then
		new=$have
	else
		before=" $(napi_pids "$dev" | tr '\n' ' ') "
		ip netns exec "$ns" sh -c "echo 0 > /sys/class/net/$dev/threaded; echo 1 > /sys/class/net/$dev/threaded" ||
			{ warn "$ns/$dev: cannot enable threaded NAPI"; return 1; }
		new=
		local deadline=$(($(now_ms) + 2000))
		while :; do
			for t in $(napi_pids "$dev"); do
				[[ $before == *" $t "* ]] || new+="$t "
			done
			[[ -n $new ]] && break
			(($(now_ms) >= deadline)) && { warn "$ns/$dev: no napi thread appeared"; return 1; }
			sleep 0.02
		done
	fi
	for t in $new; do
		while read -r d; do
			echo "$t" >"$d/tasks" 2>/dev/null || warn "$ns/$dev: cannot move napi thread $t to $d"
		done < <(cg_dirs "$cg" cpu cpuacct cpuset)
		# v2 may refuse kernel threads; accounting then stays v1-only.
		while read -r d; do
			echo "$t" >"$d/cgroup.procs" 2>/dev/null || true
		done < <(cg_dirs "$cg" v2)
		taskset -pc "$cpus" "$t" >/dev/null 2>&1 || warn "$ns/$dev: cannot pin napi thread $t"
	done
}

# ---- certificates ---------------------------------------------------------

ensure_ca() { # DIR CN
	local dir=$1
	mkdir -p "$dir"
	chmod 0700 "$dir"
	[[ -s $dir/ca.pem && -s $dir/ca.key ]] && return 0
	(umask 077; openssl ecparam -name prime256v1 -genkey -noout -out "$dir/ca.key") 2>/dev/null
	openssl req -x509 -new -key "$dir/ca.key" -subj "/CN=$2" -days 3650 -sha256 \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" \
		-out "$dir/ca.pem" 2>/dev/null || { warn "cannot create lab CA"; return 1; }
}

# ensure_cert CADIR CERTDIR CN ROLE SAN: key.pem, cert.pem, ca.pem in CERTDIR.
# ROLE is manager, host or dpu (DESIGN.md section 11): the certificate carries
# it as the SAN URI urn:dse:role:ROLE, beside SAN like
# "IP:169.254.1.1,IP:198.19.0.11". Kept when still valid for CADIR and it
# names that role (a lab made before roles existed gets new certificates).
ensure_cert() {
	local ca=$1 dir=$2 cn=$3 role=$4 san=$5 ext
	mkdir -p "$dir"
	cp "$ca/ca.pem" "$dir/ca.pem"
	if [[ -s $dir/key.pem && -s $dir/cert.pem ]] &&
		openssl verify -CAfile "$ca/ca.pem" "$dir/cert.pem" >/dev/null 2>&1 &&
		openssl x509 -in "$dir/cert.pem" -noout -ext subjectAltName 2>/dev/null |
		grep -q "URI:urn:dse:role:$role\b"; then
		return 0
	fi
	(umask 077; openssl ecparam -name prime256v1 -genkey -noout -out "$dir/key.pem") 2>/dev/null
	chmod 0600 "$dir/key.pem"
	ext=$(mktemp)
	printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature" \
		"extendedKeyUsage=serverAuth,clientAuth" "subjectAltName=URI:urn:dse:role:$role,$san" >"$ext"
	if ! openssl req -new -key "$dir/key.pem" -subj "/CN=$cn" 2>/dev/null |
		openssl x509 -req -CA "$ca/ca.pem" -CAkey "$ca/ca.key" -days 825 -sha256 \
			-set_serial "0x$(openssl rand -hex 16)" -extfile "$ext" -out "$dir/cert.pem" 2>/dev/null; then
		rm -f "$ext"
		warn "cannot issue certificate for $cn"
		return 1
	fi
	rm -f "$ext"
}
