#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `make demo` (scripts/demo) under a test prefix: it brings up the lab with
# traffic flowing, is idempotent, and `dse-lab down` removes all of it.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
require_root
trap cleanup EXIT

P=$(lab_prefix) || exit 1
LAB_PREFIXES+=("$P")
check "the demo runs to the end" quiet "$REPO_ROOT/scripts/demo" --prefix "$P"
check "the demo shows cross-host ping through the DPUs" \
	bash -c "$REPO_ROOT/scripts/demo --prefix $P | grep -A1 'ping -c 3 198.18.10.21' | grep -q ' 0% packet loss'"
check_eq "running it again adds nothing (4 VMs)" 4 \
	"$(( $(dsectl_on "$P" h1 -j vm list | jq length) + $(dsectl_on "$P" h2 -j vm list | jq length) ))"
check_eq "one background ping per portgroup, not more" 2 "$(lab_procs "$P" | xargs -r ps -o comm= -p | grep -c '^ping$')"
rx() { dsectl_on "$P" h1 -j port list | jq '[.[] | select(.name == "rep-vm1") | .tx_packets] | add'; }
r0=$(rx)
check "traffic keeps flowing through the DPU" wait_until 10 bash -c "[[ \$(DSE_LAB_CMD=$DSE_LAB $DSECTL --lab $P -H h1 -j port list | jq '[.[] | select(.name == \"rep-vm1\") | .tx_packets] | add') -gt $r0 ]]"
check "pg-web and pg-db stay apart" bash -c "! ip netns exec $P-h1-vm1 ping -c 2 -i 0.2 -W 1 198.18.10.22 >/dev/null"
lab_down "$P" >/dev/null
check_eq "down leaves no process" "" "$(lab_procs "$P")"
check_eq "down leaves no namespace" 0 "$(netns_count_with_prefix "$P")"
finish
