#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# install-2dpu: the time `dsectl software install` takes to check a unified
# image and stage it on the host and its DPUs, from the command to "installed"
# (hostd's elapsed_ms: checks, staging, commit), for the same image on
#
#   install-1dpu         a server with one DPU
#   install-2dpu         a server with two DPUs, staged in parallel (the product)
#   install-2dpu-serial  the same server, one device after another (--serial)
#   install-2dpu-own-cores  two DPUs with a core each, where the lab's default
#                        plan makes them share one (machines with under 8
#                        CPUs): `up --dpu-cpus` of every CPU, so each DPU has
#                        its own and the host shares them (as a real DPU has
#                        its own cores; from 8 CPUs on, the default plan gives
#                        each DPU its own and this variant is not run)
#
#   h1: dse-hostd --internal network, mTLS--> h1-dpu1 [, h1-dpu2]: dse-dpud
#
# The image is this build's (scripts/make-bundle) with PAD MiB of random
# bytes added to each of its components, so that it has a real image's weight
# (zstd cannot shrink random bytes): each DPU receives the whole image over
# its internal network, checks it and writes its own component.  Rounds: each
# variant once per round, medians.  Prints one JSON object.
#
#   bench/install.sh [--quick]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/tests/system/lib.sh"
. "$top/bench/lib.sh"
bench_begin

runs=5 pad=64
if [[ ${1:-} == --quick ]]; then runs=3 pad=16; fi
img=$TMPB/image.dsebundle
"$REPO_ROOT/scripts/make-bundle" --bin-dir "$DSE_BUILD_DIR" --version 0.9.0 --pad-mib "$pad" -o "$img" >/dev/null

P1=$(lab_prefix) && lab_up "$P1" --hosts 1 --dpus 1 >/dev/null
P2=$(lab_prefix) && lab_up "$P2" --hosts 1 --dpus 2 >/dev/null
P3=
env2=$DSE_LAB_DIR/$P2/lab.env
if [[ $(sed -n 's/^DPU1_CPUS=//p' "$env2") == "$(sed -n 's/^DPU2_CPUS=//p' "$env2")" ]] && (($(nproc) >= 2)); then
	P3=$(lab_prefix) && lab_up "$P3" --hosts 1 --dpus 2 --dpu-cpus "0-$(($(nproc) - 1))" >/dev/null
fi

install_ms() { # P [--serial]: one install, its elapsed ms
	local out
	out=$(dsectl_on "$1" h1 -j software install --bundle "$img" ${2:+"$2"}) || {
		echo "bench: install on $1 failed" >&2
		return 1
	}
	jq -e 'select(.state == "ok") | .elapsed_ms' <<<"$out"
}

for ((i = 0; i < runs; i++)); do
	record "$TMPB/install-1dpu" "$(install_ms "$P1")"
	record "$TMPB/dse" "$(install_ms "$P2")"
	record "$TMPB/install-2dpu-serial" "$(install_ms "$P2" --serial)"
	[[ -z $P3 ]] || record "$TMPB/dse.own" "$(install_ms "$P3")"
	echo "bench: install round $((i + 1)): 1 DPU $(tail -n1 "$TMPB/install-1dpu") ms," \
		"2 DPUs $(tail -n1 "$TMPB/dse") ms, serially $(tail -n1 "$TMPB/install-2dpu-serial") ms" \
		"${P3:+, 2 DPUs with a core each $(tail -n1 "$TMPB/dse.own") ms}" >&2
done
for p in "$P1" "$P2" $P3; do lab_down "$p" >/dev/null; done

size=$(stat -c %s "$img")
what="install of one unified image ($((size >> 20)) MiB: this build plus $pad MiB per component) on a host and 2 DPUs in parallel, from the command to installed"
ANCHORS="install-1dpu install-2dpu-serial"
figure install-2dpu "$what" ms false ""
if [[ -n $P3 ]]; then
	cp "$TMPB/install-1dpu" "$TMPB/install-1dpu.own"
	ANCHORS=install-1dpu
	figure install-2dpu-own-cores "$what, each DPU on a core of its own (the host sharing them)" ms false .own
fi
