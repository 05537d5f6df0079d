#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Crashes during an install and during a boot (issue 4, point 8): the
# installer killed with SIGKILL at every step on each device (dpud on a DPU,
# hostd on the host: lib/fault.h's DSE_FAULT makes the process kill itself at
# that exact step), and the boot firmware killed at every boot state write of
# a server boot (the device dying while it writes its boot state).  After each
# crash the server is rebooted: every device must boot, all on one version.
# Prints the table: cases run, bootable, mixed versions (mixed must be 0).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
require_root
trap cleanup EXIT

P=$(lab_prefix) || exit 1
T=$(mktemp -d) && TEST_TMPDIRS+=("$T")
D=$DSE_LAB_DIR/$P
sw() { dsectl_on "$P" h1 "$@"; }
versions() { sw -j software list | jq -r '[.[] | .active_version // "none"] | unique | join(" ")'; }

lab_up "$P" --hosts 1 --dpus 2 >/dev/null || { not_ok "lab up"; finish; exit 1; }

# case_result NAME FIRED: reboot the server (no fault armed) and check the
# case: its fault fired (FIRED is 1), every device booted, one version.
case_result() {
	local name=$1 fired=$2 out v why=
	out=$(DSE_FAULT= "$DSE_LAB" reboot --prefix "$P" h1 2>&1)
	v=$(versions)
	((fired)) || why="the fault point was not reached"
	grep -q "every device ready on" <<<"$out" || why="${why:+$why; }not bootable: $(tail -n1 <<<"$out")"
	[[ $v == *" "* || $v == none ]] && why="${why:+$why; }versions $v"
	if [[ -z $why ]]; then ok "$name: fired, bootable, one version ($v)"; else not_ok "$name: $why"; fi
}

# fired_after FILE LINES NAME: the DSE_FAULT line of NAME (without its :N)
# is in FILE past its first LINES lines.
fired_after() {
	tail -n "+$(($2 + 1))" "$1" 2>/dev/null | grep -qF "fault: ${3%%:*}: killed here (DSE_FAULT)"
}

# restart DEV's daemon with DSE_FAULT=SPEC (empty: none).
arm() { # DEV DAEMON SPEC
	stop_daemon "$P" "$1" "$2"
	DSE_FAULT=$3 lab_up "$P" --hosts 1 --dpus 2 >/dev/null 2>&1
}

n=0
image() { n=$((n + 1)); "$REPO_ROOT/scripts/make-bundle" --bin-dir "$DSE_BUILD_DIR" --version "1.$n.0" -o "$T/img.dsebundle" >/dev/null; }

# --- the installer killed at every step, on each device --------------------
DPU_STEPS="software.receive bank.stage.begin bank.stage.extracted write_atomic.written:1
	write_atomic.renamed:2 bank.commit.saved bank.commit.moved bank.commit.swapped
	write_atomic.synced:4 write_atomic.renamed:4 bank.commit.pending"
HOST_STEPS="bank.stage.begin bank.stage.extracted install.staged bank.commit.moved
	bank.commit.swapped write_atomic.renamed:4 bank.commit.pending install.committed"
for dev in h1-dpu1 h1-dpu2 h1; do
	if [[ $dev == h1 ]]; then daemon=hostd prog=dse-hostd steps=$HOST_STEPS; else daemon=dpud prog=dse-dpud steps=$DPU_STEPS; fi
	for step in $steps; do
		image
		arm "$dev" "$daemon" "$prog/$step"
		out=$D/$dev/log/$daemon.out
		lines=$(wc -l <"$out")
		timeout 120 "$DSECTL" --lab "$P" -H h1 software install --bundle "$T/img.dsebundle" >/dev/null 2>&1
		fired=0
		wait_until 10 fired_after "$out" "$lines" "$step" && fired=1
		case_result "install, $dev killed at $step" "$fired"
	done
done

# --- the boot firmware killed at each boot state write of a server boot ----
# A boot of a host and two DPUs writes the boot state about 6 times (each
# device: chosen bank, outcome); kill it at each write's three instants.
for k in 1 2 3 4 5 6; do
	for at in written synced renamed; do
		image
		quiet sw software install --bundle "$T/img.dsebundle"
		boot_out=$(DSE_FAULT="dse-boot/write_atomic.$at:$k" "$DSE_LAB" reboot --prefix "$P" h1 2>&1)
		fired=0
		grep -qF "fault: write_atomic.$at: killed here (DSE_FAULT)" <<<"$boot_out" && fired=1
		case_result "boot killed at boot state write $k ($at)" "$fired"
	done
done
finish
