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
out=$("$REPO_ROOT/scripts/demo" --prefix "$P" 2>&1)
check "the demo shows cross-host ping through the DPUs" \
	bash -c "grep -A1 'ping -c 3 198.18.10.21' <<<\"\$1\" | grep -q ' 0% packet loss'" _ "$out"
check "the demo kills h1's active DPU's agent and the standby takes over" \
	bash -c "grep -A2 'dse-lab fail h1-dpu1 kill' <<<\"\$1\" | grep -q 'active dpu2'" _ "$out"
check_eq "... every ping after the failover and the failback arrives" 2 \
	"$(sed -n '/dse-lab fail h1-dpu1 kill/,$p' <<<"$out" | grep -c '3 received, 0% packet loss')"
ha() { dsectl_on "$P" h1 -j host ha | jq -r ".ha.$1"; }
check_eq "... and fails back by hand: dpu1 active again" active-standby/dpu1 "$(ha mode)/$(ha active)"
check_eq "h2's DPUs are independent, vm2 on dpu2" independent/dpu2 \
	"$(dsectl_on "$P" h2 -j host ha | jq -r .ha.mode)/$(dsectl_on "$P" h2 -j vm list | jq -r '.[] | select(.name == "vm2") | .dpu')"
check "the demo's QEMU guest web1 on h2 answers h1-vm1's ping and HTTP" bash -c \
	"grep -A1 'ping -c 3 198.18.10.23' <<<\"\$1\" | grep -q ' 0% packet loss' && grep -q 'dse guest web1' <<<\"\$1\"" _ "$out"
check_eq "web1 is a QEMU VM" qemu "$(dsectl_on "$P" h2 -j vm list | jq -r '.[] | select(.name == "web1") | .kind')"
check_eq "running it again adds nothing (5 VMs)" 5 \
	"$(( $(dsectl_on "$P" h1 -j vm list | jq length) + $(dsectl_on "$P" h2 -j vm list | jq length) ))"
check_eq "one background ping per portgroup, not more" 2 "$(lab_procs "$P" | xargs -r ps -o comm= -p | grep -c '^ping$')"
rx() { dsectl_on "$P" h1 -j port list | jq '[.[] | select(.name == "rep-vm1") | .tx_packets] | add'; }
r0=$(rx)
check "traffic keeps flowing through the DPU" wait_until 10 bash -c "[[ \$(DSE_LAB_CMD=$DSE_LAB $DSECTL --lab $P -H h1 -j port list | jq '[.[] | select(.name == \"rep-vm1\") | .tx_packets] | add') -gt $r0 ]]"
M=$DSE_LAB_DIR/$P/mgmt/manager
mcurl() { ip netns exec "$P-h1" curl -s --max-time 10 --cacert "$M/ca/ca.pem" "$@"; }
tok=$(mcurl https://198.19.0.1:8443/api/v1/login \
	-d "{\"user\":\"admin\",\"password\":\"$(cat "$M/admin-password" 2>/dev/null)\"}" | jq -r .token)
check_eq "the demo made portgroup dvs1/pg-web on the manager (VLAN 10)" 10 \
	"$(mcurl -H "Authorization: Bearer $tok" https://198.19.0.1:8443/api/v1/portgroups/dvs1/pg-web | jq .spec.vlan)"
check "the demo joined both hosts to the manager" bash -c "grep -q '^joined as host h1' <<<\"\$1\" && grep -q '^joined as host h2' <<<\"\$1\"" _ "$out"
check "... h1's certificate is the join's (on record at the manager)" bash -c \
	"mcurl() { ip netns exec $P-h1 curl -s --max-time 10 --cacert '$M/ca/ca.pem' \"\$@\"; }; mcurl -H 'Authorization: Bearer $tok' 'https://198.19.0.1:8443/api/v1/tasks?limit=100' | jq -e 'any(.items[]; .kind == \"host.join\" and .object == \"/dse/v1/host/h1\" and .state == \"success\")' >/dev/null"
check "it prints the web page's URL and where the admin password is" bash -c \
	"grep -q \"THE MANAGER'S WEB PAGE: *https://127.0.0.1:8443/\" <<<\"\$1\" && grep -q 'password in .*/mgmt/manager/admin-password' <<<\"\$1\"" _ "$out"
check "pg-web and pg-db stay apart" bash -c "! ip netns exec $P-h1-vm1 ping -c 2 -i 0.2 -W 1 198.18.10.22 >/dev/null"
# the lab's fault injection, which the demo and its "try it" lines use
out=$("$DSE_LAB" fail --prefix "$P" h1 kill 2>&1)
check_eq "dse-lab fail refuses a device that is not a DPU (exit 2)" 2 "$?"
check "... in one line" bash -c '[[ $(wc -l <<<"$1") == 1 ]] && grep -q "DPU is hN-dpuM" <<<"$1"' _ "$out"
check "dse-lab fail refuses an unknown fault" bash -c "! $DSE_LAB fail --prefix $P h1-dpu2 melt 2>/dev/null"
check "dse-lab fail cut: h1-dpu2's cables lose carrier" bash -c "$DSE_LAB fail --prefix $P h1-dpu2 cut && [[ \$(ip netns exec $P-h1-dpu2 cat /sys/class/net/vmnic2/carrier) == 0 ]]"
check "dse-lab fail mend: carrier back" wait_until 5 bash -c "$DSE_LAB fail --prefix $P h1-dpu2 mend && [[ \$(ip netns exec $P-h1-dpu2 cat /sys/class/net/vmnic2/carrier) == 1 ]]"
lab_down "$P" >/dev/null
# A lab left by an older demo, one DPU a host: refused, not half converted.
lab_up "$P" --hosts 1 --dpus 1 >/dev/null
out=$("$REPO_ROOT/scripts/demo" --prefix "$P" 2>&1)
check_eq "over a one-DPU lab the demo stops (exit 1)" 1 "$?"
check "... and says what to do, in one line" \
	bash -c '[[ $(wc -l <<<"$1") == 1 ]] && grep -q "one DPU a host .*make demo-down" <<<"$1"' _ "$out"
check "dse-lab fail kill" quiet "$DSE_LAB" fail --prefix "$P" h1-dpu1 kill
gone() { [[ $("$DSE_LAB" status --prefix "$P" -j | jq '.devices[] | select(.name == "h1-dpu1") | .running') == false ]]; }
check "... the DPU's dpud is gone" wait_until 5 gone
out=$("$DSE_LAB" fail --prefix "$P" h1-dpu1 kill 2>&1)
check_eq "... killing it again fails (exit 1)" 1 "$?"
check "... and says it is not running" grep -qx "dse-lab: h1-dpu1: dpud is not running" <<<"$out"
lab_down "$P" >/dev/null
check_eq "down leaves no process" "" "$(lab_procs "$P")"
check_eq "down leaves no namespace" 0 "$(netns_count_with_prefix "$P")"
finish
