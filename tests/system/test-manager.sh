#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# dse-manager in the lab: it runs in P-mgmt at 198.19.0.1:8443 with the
# lab's CA as the cluster CA, reached from the root netns through the lab's
# forwarder on a loopback port, and from the hosts' management network.
#
#   root netns: curl -> 127.0.0.1:PORT (dse-lab-fwd, living in P-mgmt)
#                                 \--> P-mgmt: dse-manager 198.19.0.1:8443
#   P-h1: curl ---- vmk0 ==== mgmt0 ----/
#
# The REST API as a user meets it: the first admin's password, login,
# inventory with resource versions (409), a read-only user refused, the
# audit log, bad input.  Desired state down: a portgroup created once is
# applied on both hosts and their DPUs; drift (a host changed by hand) is
# shown; with the manager stopped the VMs keep talking, and on its return
# what was undone by hand is put back.  A kill -9 of the manager in the
# middle of writes loses none that it acknowledged; down leaves no process.
# Fleet alarms: a hot DPU sensor on h1 seen through the manager,
# acknowledged through it (a task) and so on h1 itself, its events found
# by object and collected again by a restarted manager.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
require_root
trap cleanup EXIT

P=$(lab_prefix) || exit 1
TMP=$(mktemp -d /tmp/dse-manager.XXXXXX)
TEST_TMPDIRS+=("$TMP")
# A free loopback port for the forwarder.
PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
lab_up "$P" --hosts 2 --dpus 1 --manager-port "$PORT" >/dev/null || { not_ok "lab up"; finish; exit 1; }
LD=$DSE_LAB_DIR/$P
S=$LD/mgmt/manager
for h in h1 h2; do dsectl_on "$P" "$h" monitor set --interval 1 >/dev/null; done # figures sooner
URL=https://127.0.0.1:$PORT/api/v1

# call METHOD PATH [BODY] [TOKEN]: prints the HTTP status; the body in $TMP/body.
call() {
	local auth=()
	[[ -n ${4:-} ]] && auth=(-H "Authorization: Bearer $4")
	curl -s -o "$TMP/body" -w '%{http_code}' --max-time 10 --cacert "$S/ca/ca.pem" \
		-X "$1" "${auth[@]}" ${3:+-d "$3"} "$URL$2"
}
body() { jq -r "$1" "$TMP/body"; }
gone() { [[ ! -d /proc/$1 ]] || grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
one_line_with() { [[ $(wc -l <<<"$2") == 1 ]] && grep -q -- "$1" <<<"$2"; }

mpid=$(cat "$LD/mgmt/run/manager.pid" 2>/dev/null)
check "dse-manager runs in the management netns" \
	test "$(readlink "/proc/$mpid/ns/net")" = "net:[$(stat -L -c %i "/run/netns/$P-mgmt")]"
check "it holds the lab's CA as the cluster CA" cmp -s "$S/ca/ca.pem" "$LD/ca/ca.pem"
check_eq "its state is the operator's alone" 700 "$(stat -c %a "$S")"
check_eq "the first admin's password file is 0600" 600 "$(stat -c %a "$S/admin-password")"

PW=$(cat "$S/admin-password")
check_eq "login through the loopback port" 200 "$(call POST /login "{\"user\":\"admin\",\"password\":\"$PW\"}")"
T=$(body .token)
check_eq "a wrong password is refused" 401 "$(call POST /login '{"user":"admin","password":"nope-nope-nope"}')"
check_eq "no token, no inventory" 401 "$(call GET /hosts)"
check_eq "the hosts' management network reaches it too" 401 \
	"$(ip netns exec "$P-h1" curl -s -o /dev/null -w '%{http_code}' --max-time 10 \
		--cacert "$S/ca/ca.pem" https://198.19.0.1:8443/api/v1/hosts)"

for o in 'datacenters {"name":"dc1","spec":{}}' 'clusters {"name":"c1","spec":{"datacenter":"dc1"}}' \
	'hosts {"name":"h1","spec":{"cluster":"c1","address":"198.19.0.11"}}' \
	'switches {"name":"s1","spec":{"datacenter":"dc1"}}' 'portgroups {"name":"s1/pg-a","spec":{"vlan":10}}'; do
	check_eq "create ${o%% *}" 201 "$(call POST "/${o%% *}" "${o#* }" "$T")"
done
check_eq "read a portgroup" 200 "$(call GET /portgroups/s1/pg-a "" "$T")"
rv=$(body .resource_version)
check_eq "update with the version read" 200 \
	"$(call PUT /portgroups/s1/pg-a "{\"spec\":{\"vlan\":20},\"resource_version\":$rv}" "$T")"
check_eq "update again with the same, old version: conflict" 409 \
	"$(call PUT /portgroups/s1/pg-a "{\"spec\":{\"vlan\":30},\"resource_version\":$rv}" "$T")"
check_eq "... as {code, message}" conflict "$(body .code)"
check_eq "the first update stands" 20 "$(call GET /portgroups/s1/pg-a "" "$T" >/dev/null; body .spec.vlan)"

# --- desired state down, observed state up ---------------------------------
pg_on_host() { dsectl_on "$P" "$1" -j portgroup list | jq -e --arg n "$2" --argjson v "$3" 'any(.[]; .name == $n and .vlan == $v)' >/dev/null; }
pg_on_dpu() { "$DSECTL" -s "$LD/$1-dpu1/run/dpud.sock" -j switch show | jq -e --arg n "$2" 'any(.portgroups[]; .name == $n)' >/dev/null; }
check_eq "host h2 (its address and certificate name)" 201 \
	"$(call POST /hosts "{\"name\":\"h2\",\"spec\":{\"cluster\":\"c1\",\"address\":\"198.19.0.12\",\"cn\":\"$P-h2\"}}" "$T")"
check_eq "h1 gets its certificate name" 200 "$(call GET /hosts/h1 "" "$T" >/dev/null
	call PUT /hosts/h1 "{\"spec\":{\"cluster\":\"c1\",\"address\":\"198.19.0.11\",\"cn\":\"$P-h1\"},\"resource_version\":$(body .resource_version)}" "$T")"
check_eq "a portgroup created once" 201 "$(call POST /portgroups '{"name":"s1/pg-m","spec":{"vlan":31}}' "$T")"
for h in h1 h2; do
	check "... is applied on $h" wait_until 15 pg_on_host "$h" pg-m 31
	check "... and on its DPU's switch" wait_until 10 pg_on_dpu "$h" pg-m
	check "... and the manager says so" wait_until 10 bash -c \
		"[[ \$(curl -s --cacert '$S/ca/ca.pem' -H 'Authorization: Bearer $T' '$URL/hosts/$h/status' | jq -c '[.reachable, (.portgroups | index(\"pg-m\") != null)]') == '[true,true]' ]]"
done
check "the portgroup changed by the API earlier (VLAN 20) is there too" pg_on_host h1 pg-a 20
dsectl_on "$P" h2 portgroup add by-hand --vlan 99 >/dev/null
call POST /datacenters '{"name":"dc-kick","spec":{}}' "$T" >/dev/null # a change: a round at once
check "drift: a portgroup added by hand on h2 is shown" wait_until 15 bash -c \
	"curl -s --cacert '$S/ca/ca.pem' -H 'Authorization: Bearer $T' '$URL/hosts/h2/status' | jq -e '.drift | index(\"portgroup by-hand: not in the manager\")' >/dev/null"
check "... and left alone (a VM may use it)" pg_on_host h2 by-hand 99

# Figures, fleet-wide: each host's and DPU's, with history, and one /metrics.
figures() { curl -s --cacert "$S/ca/ca.pem" -H "Authorization: Bearer $T" "$URL/hosts/$1/metrics"; }
check "the manager collects h1's figures and its DPU's" wait_until 30 bash -c \
	"$(declare -f figures); S='$S' T='$T' URL='$URL'; figures h1 | jq -e '(.points | length) >= 1 and (.points[-1].host.metrics | length) > 0 and (.points[-1].dpus[0].dpu == \"dpu1\") and (.points[-1].dpus[0].sample.metrics | length) > 0' >/dev/null"
check_eq "... an hour and a day of them (window=day)" day "$(curl -s --cacert "$S/ca/ca.pem" -H "Authorization: Bearer $T" "$URL/hosts/h1/metrics?window=day" | jq -r .window)"
check_eq "a bad window: 400" 400 "$(call GET "/hosts/h1/metrics?window=week" "" "$T")"
curl -s --cacert "$S/ca/ca.pem" -H "Authorization: Bearer $T" "https://127.0.0.1:$PORT/metrics" >"$TMP/metrics"
check "one /metrics for the fleet: h2's DPU in it" grep -q 'host="h2",dpu="dpu1"' "$TMP/metrics"
check "... that promtool check metrics accepts" bash -c "promtool check metrics <'$TMP/metrics'"
check_eq "... and only with a token" 401 "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$S/ca/ca.pem" "https://127.0.0.1:$PORT/metrics")"
# A hot DPU (dpu-temperature: critical at 95 C for 5 s), seen further down.
quiet "$DSE_LAB" sensor --prefix "$P" h1-dpu1 temp1 97

# The data plane never depends on the manager.
dsectl_on "$P" h1 vm add vm1 --portgroup pg-m --ip 198.18.31.11/24 >/dev/null
dsectl_on "$P" h2 vm add vm1 --portgroup pg-m --ip 198.18.31.21/24 >/dev/null
check "VMs in the manager's portgroup talk across hosts" wait_until 10 ping_ok "$P-h1-vm1" 198.18.31.21
mpid=$(cat "$LD/mgmt/run/manager.pid")
kill -TERM "$mpid"
check "the manager stops" wait_until 10 gone "$mpid"
check "with the manager down, the VMs keep talking" ping_ok "$P-h1-vm1" 198.18.31.21
check "... and the hosts keep their portgroups" pg_on_host h2 pg-m 31
dsectl_on "$P" h1 portgroup del pg-a >/dev/null
check "pg-a removed by hand on h1 while the manager is down" bash -c "! DSE_LAB_CMD=$DSE_LAB $DSECTL --lab $P -H h1 -j portgroup list | jq -e 'any(.[]; .name == \"pg-a\")' >/dev/null"
check "the manager starts again (dse-lab up)" quiet "$DSE_LAB" up --prefix "$P" --hosts 2 --dpus 1 --manager-port "$PORT"
check "on its return pg-a is put back on h1" wait_until 20 pg_on_host h1 pg-a 20
check "... and the VMs still talk" ping_ok "$P-h1-vm1" 198.18.31.21
mpid=$(cat "$LD/mgmt/run/manager.pid")

# dsectl against the manager.
M=(env XDG_CONFIG_HOME="$TMP/cfg" "$DSECTL")
check "dsectl --manager URL --ca PEM login" quiet "${M[@]}" --manager "https://127.0.0.1:$PORT" \
	--ca "$S/ca/ca.pem" login --user admin --password-file "$S/admin-password"
check_eq "... keeps the token in a 0600 file" 600 "$(stat -c %a "$TMP/cfg/dse/manager.json")"
check "dsectl -M portgroup add (the same OBJECT VERB grammar)" quiet "${M[@]}" -M portgroup add s1/pg-cli --vlan 41
check "... applied on h2" wait_until 15 pg_on_host h2 pg-cli 41
check_eq "dsectl -M portgroup set reads, changes, writes back" 9000 \
	"$("${M[@]}" -M portgroup set s1/pg-cli --mtu 9000 >/dev/null; "${M[@]}" -M -j portgroup show s1/pg-cli | jq .spec.mtu)"
tid=$("${M[@]}" -M -j portgroup add s1/pg-task --vlan 42 | jq -r .task)
check "a change names the task that pushes it to the hosts" bash -c "[[ '$tid' =~ ^[0-9]{20}\$ ]]"
check "dsectl -M task watch: it ends in success" quiet "${M[@]}" -M task watch "$tid"
check "... with each host's result" bash -c "${M[*]} -M -j task show $tid | jq -e '.state == \"success\" and .progress == 100 and .results.h1.ok and .results.h2.ok and .started_by == \"admin\"' >/dev/null"
both_have() { pg_on_host h1 "$1" "$2" && pg_on_host h2 "$1" "$2"; }
check "... and the portgroup is on both hosts when it does" both_have pg-task 42
check "dsectl -M task list" bash -c "${M[*]} -M -j task list | jq -e 'any(.[]; .id == \"$tid\")' >/dev/null"
check "dsectl -M host status h1" bash -c "${M[*]} -M -j host status h1 | jq -e .reachable >/dev/null"
check "dsectl -M role list: read-only, operator, admin" bash -c "${M[*]} -M -j role list | jq -e '[.[].name] == [\"read-only\", \"operator\", \"admin\"]' >/dev/null"

# The uplinks' teaming, set once on the switch: every host's DPU follows it.
active_is() { dsectl_on "$P" "$1" -j switch show | jq -e --arg u "$2" --argjson fb "$3" \
	'.dpus.dpu1.team.active == $u and .dpus.dpu1.team.failback == $fb' >/dev/null; }
check "dsectl -M switch set s1 --teaming: vmnic1 first, no failback" quiet "${M[@]}" -M switch set s1 \
	--teaming '{"failback":false,"order":["vmnic1"]}'
check "... h1's DPU makes vmnic1 active" wait_until 15 active_is h1 vmnic1 false
check "... and so does h2's" wait_until 15 active_is h2 vmnic1 false
check "... the manager says h1 has it" bash -c "${M[*]} -M -j host status h1 | jq -e '.teaming.order == [\"vmnic1\"]' >/dev/null"
out=$(dsectl_on "$P" h1 switch set --uplink-order vmnic7 2>&1)
check "an uplink the DPU lacks: refused by hostd in one line" one_line_with 'has no uplink vmnic7' "$out"
check "back to vmnic0 first, with failback" quiet "${M[@]}" -M switch set s1 \
	--teaming '{"failback":true,"order":["vmnic0"]}'
check "... on h1" wait_until 15 active_is h1 vmnic0 true
check "... and on h2" wait_until 15 active_is h2 vmnic0 true

# Alarm definitions set once for the fleet: on every host, and gone again.
has_def() { dsectl_on "$P" "$1" -j alarm def list | jq -e --arg w "$2" 'any(.[]; .name == "hot-dpu" and (.warning | tostring) == $w)' >/dev/null; }
no_def() { ! dsectl_on "$P" "$1" -j alarm def list | jq -e 'any(.[]; .name == "hot-dpu")' >/dev/null; }
check "dsectl -M alarmdef add hot-dpu: a definition for every host" quiet "${M[@]}" -M alarmdef add hot-dpu \
	--metric dse_dpu_cpu_usage_ratio --warning 0.8 --critical 0.95 --description "a DPU's CPU is busy"
check "... on h1" wait_until 15 has_def h1 0.8
check "... and on h2" wait_until 15 has_def h2 0.8
check "... changed once, changed on both" quiet "${M[@]}" -M alarmdef set hot-dpu --warning 0.7
check "... on h1" wait_until 15 has_def h1 0.7
check "... and on h2" wait_until 15 has_def h2 0.7
out=$("${M[@]}" -M alarmdef add cold --metric x --warning nope 2>&1)
check "a bad definition: refused in one line that says why" one_line_with 'alarmdef: .*warning' "$out"
check "dsectl -M alarmdef del hot-dpu" quiet "${M[@]}" -M alarmdef del hot-dpu
check "... gone from h1" wait_until 15 no_def h1
check "... and from h2" wait_until 15 no_def h2

# The distributed firewall, defined once in the manager: groups resolved to
# the VMs' MACs, pushed to every host and applied by its DPU; a VM that
# joins a group (by its tag) is let in without touching a rule.
mac1=$(vm_mac "$P" h1-vm1) mac2=$(vm_mac "$P" h2-vm1)
quiet call POST /vms '{"name":"web1","spec":{"host":"h1"}}' "$T"
quiet call POST /vnics "{\"name\":\"web1/eth0\",\"spec\":{\"mac\":\"$mac1\",\"portgroup\":\"s1/pg-m\"}}" "$T"
quiet call POST /vms '{"name":"app2","spec":{"host":"h2"}}' "$T"
quiet call POST /vnics "{\"name\":\"app2/eth0\",\"spec\":{\"mac\":\"$mac2\",\"portgroup\":\"s1/pg-m\"}}" "$T"
check "dsectl -M dfw group add web --vm web1 --tag web" quiet "${M[@]}" -M dfw group add web --vm web1 --tag web
check "dsectl -M dfw group add vms --cidr 198.18.31.0/24" quiet "${M[@]}" -M dfw group add vms --cidr 198.18.31.0/24
check "dsectl -M dfw service add ping --proto icmp --type 8" quiet "${M[@]}" -M dfw service add ping --proto icmp --type 8
check "dsectl -M dfw section add app" quiet "${M[@]}" -M dfw section add app --order 10
out=$("${M[@]}" -M dfw rule add app/ping --src web --dst nosuch --service ping --action allow 2>&1)
check "a rule naming an unknown group: refused in one line, naming the flag" one_line_with 'dst.*nosuch' "$out"
check "dsectl -M dfw rule add app/ping --src web --dst vms --service ping --action allow" \
	quiet "${M[@]}" -M dfw rule add app/ping --src web --dst vms --service ping --action allow
check "dsectl -M switch set s1 --dfw-default drop" quiet "${M[@]}" -M switch set s1 --dfw-default drop
fw_on() { [[ $(dsectl_on "$P" "$1" -j dfw stats | jq -r .dpus.dpu1.enabled) == true && $(dsectl_on "$P" "$1" -j dfw show | jq -r '.policy.rules[0].name') == app/ping ]]; }
check "the policy reaches h1's DPU" wait_until 20 fw_on h1
check "... and h2's" wait_until 20 fw_on h2
check "web1 (h1-vm1) pings across hosts: allowed" wait_until 10 ping_ok "$P-h1-vm1" 198.18.31.21
no_ping() { ! ping_ok "$@"; }
check "app2 (h2-vm1) may not ping web1: default deny" no_ping "$P-h2-vm1" 198.18.31.11
check "app2 tagged web: it joins the group" quiet call PUT /vms/app2 \
	"{\"spec\":{\"host\":\"h2\",\"tags\":[\"web\"]},\"resource_version\":$(call GET /vms/app2 "" "$T" >/dev/null; body .resource_version)}" "$T"
check "... and may ping web1 now, no rule changed" wait_until 20 ping_ok "$P-h2-vm1" 198.18.31.11
ping_counted() { "${M[@]}" -M -j dfw stats | jq -e 'any(.rules[]; .name == "app/ping" and .packets > 0 and .sessions > 0)' >/dev/null; }
check "dsectl -M dfw stats: the fleet's counters of app/ping" wait_until 30 ping_counted
check "the firewall off again (the rule gone, the default back)" quiet "${M[@]}" -M dfw rule del app/ping
quiet "${M[@]}" -M switch set s1 --dfw-default allow
for o in "section del app" "service del ping" "group del web" "group del vms"; do quiet "${M[@]}" -M dfw $o; done
fw_off() { [[ $(dsectl_on "$P" "$1" -j dfw stats | jq -r .dpus.dpu1.enabled) == false ]]; }
check "... on h1" wait_until 20 fw_off h1
check "... and on h2" wait_until 20 fw_off h2

# Fleet alarms: h1-dpu1's hot sensor (above), through the manager.
A=dpu-temperature@dpu1/temp1
alarm_is() { "${M[@]}" -M -j alarm list --host h1 --all | jq -e --arg id "$A" "any(.[]; .id == \$id and $1)" >/dev/null; }
check "dsectl -M alarm list: h1-dpu1 at 97 C, red, on host h1 and DPU dpu1" \
	wait_until 30 alarm_is '.state == "red" and .host == "h1" and .dpu == "dpu1" and (.acknowledged | not)'
check_eq "... in the API's list of red alarms" "$A" \
	"$(call GET "/alarms?severity=red" "" "$T" >/dev/null; body '.items[] | select(.host == "h1") | .id')"
tid=$("${M[@]}" -M -j alarm ack h1 "$A" | jq -r .task)
check "dsectl -M alarm ack h1 ID: a task" bash -c "[[ '$tid' =~ ^[0-9]{20}\$ ]]"
check "... that the reconciler runs: success" quiet "${M[@]}" -M task watch "$tid"
check "... an alarm.ack task with h1's result" bash -c "${M[*]} -M -j task show $tid | jq -e '.kind == \"alarm.ack\" and .results.h1.ok and .results.h1.alarm == \"$A\" and .started_by == \"admin\"' >/dev/null"
acked_on_h1() { dsectl_on "$P" h1 -j alarm list | jq -e --arg id "$A" 'any(.[]; .id == $id and .acknowledged)' >/dev/null; }
check "... acknowledged on h1 itself (dsectl -H h1 alarm list)" acked_on_h1
check "... and in the manager's list" wait_until 15 alarm_is '.acknowledged'
check "dsectl -M event list --object h1/dpu1 --type alarm.: red, then the ack" bash -c \
	"${M[*]} -M -j event list --object h1/dpu1 --type alarm. --since 10m | jq -e '[.[] | select(.id == \"$A\") | .type] | index(\"alarm.red\") < index(\"alarm.ack\")' >/dev/null"
check_eq "events of a time range: none before the lab" 0 \
	"$(call GET "/events?object=h1&until=1000" "" "$T" >/dev/null; body '.items | length')"
check_eq "an alarm h1 never had: 404" 404 "$(call POST "/alarms/h1/nothing%40host/ack" "" "$T")"
check_eq "alarms of a host the manager does not know: 404" 404 "$(call GET "/alarms?host=h7" "" "$T")"
quiet "$DSE_LAB" sensor --prefix "$P" h1-dpu1 temp1 45
out=$("${M[@]}" -M portgroup add s1/pg-x --vlna 3 2>&1)
check_eq "a refusal: exit 1" 1 "$?"
check_eq "... and the manager's message in one line" "dsectl: bad-request: portgroup: vlna: no such field" "$out"
"${M[@]}" -M nothing list >/dev/null 2>&1
check_eq "an unknown object: exit 2" 2 "$?"

check_eq "an admin adds a read-only user" 201 "$(call POST /users \
	'{"name":"ro","password":"read-only-password","grants":[{"object":"/dse/v1/","role":"read-only"}]}' "$T")"
check_eq "... who logs in" 200 "$(call POST /login '{"user":"ro","password":"read-only-password"}')"
RO=$(body .token)
check_eq "... reads" 200 "$(call GET /portgroups "" "$RO")"
check_eq "... and may not change" 403 "$(call POST /portgroups '{"name":"s1/pg-b","spec":{"vlan":11}}' "$RO")"
check_eq "... nor read the audit log" 403 "$(call GET /audit "" "$RO")"
check_eq "... reads the fleet's alarms" 200 "$(call GET /alarms "" "$RO")"
check_eq "... and may not acknowledge one" 403 "$(call POST "/alarms/h1/$(jq -rn --arg a "$A" '$a | @uri')/ack" "" "$RO")"

check_eq "the audit log" 200 "$(call GET "/audit?prefix=%2Fdse%2Fv1%2Fportgroup%2F" "" "$T")"
check "... has the update with who, from where, before and after" bash -c \
	"jq -e '.items[1] | .who == \"admin\" and (.from | startswith(\"198.19.0.1:\")) and .before.vlan == 10 and .after.vlan == 20' $TMP/body >/dev/null"

check_eq "bad JSON: 400" 400 "$(call POST /portgroups '{"name":' "$T")"
check_eq "an unknown field: 400" 400 "$(call POST /portgroups '{"name":"s1/x","spec":{"vlna":1}}' "$T")"
check "... with one clear line" bash -c "jq -e '.message == \"portgroup: vlna: no such field\"' $TMP/body >/dev/null"
check_eq "a body over 1 MiB: refused" 413 "$(head -c 1100000 /dev/zero | tr '\0' a |
	curl -s -o /dev/null -w '%{http_code}' --max-time 10 --cacert "$S/ca/ca.pem" \
		-H "Authorization: Bearer $T" --data-binary @- "$URL/portgroups")"

# Software installed through the manager: a task that follows the install
# on the host to its end, with a result for the host and its DPU.
"$REPO_ROOT/scripts/make-bundle" --bin-dir "$DSE_BUILD_DIR" --version 0.2.0 -o "$TMP/0.2.0.dsebundle" >/dev/null
tid=$("${M[@]}" -M -j software install h1 --bundle "$TMP/0.2.0.dsebundle" | jq -r .task)
check "dsectl -M software install h1 --bundle F: a task" bash -c "[[ '$tid' =~ ^[0-9]{20}\$ ]]"
check "... that ends in success" quiet "${M[@]}" -M task watch "$tid"
check "... with a result for h1 and for h1's DPU" bash -c "${M[*]} -M -j task show $tid | jq -e '.kind == \"software.install\" and .progress == 100 and .results.h1.ok and .results.h1.version == \"0.2.0\" and .results[\"h1/dpu1\"].ok' >/dev/null"
staged() { dsectl_on "$P" h1 -j software list | jq -e 'length == 2 and all(.[]; .alternate_version == "0.2.0" and .pending)' >/dev/null; }
check "... and h1 and its DPU hold 0.2.0 for their next boot" staged
tid=$("${M[@]}" -M -j software install h1 --bundle /nonexistent.dsebundle | jq -r .task)
"${M[@]}" -M task watch "$tid" >/dev/null
check_eq "an install of a file h1 lacks: task watch exits 1" 1 "$?"
check_eq "... the task failed, saying why" "error: refused" \
	"$("${M[@]}" -M -j task show "$tid" | jq -r '.state + ": " + (.results.h1.error // "" | if contains("refused") then "refused" else . end)')"
out=$("${M[@]}" -M software install h1 --bundle relative.dsebundle 2>&1)
check_eq "a relative path: refused in one line" "dsectl: bad-request: bundle: the absolute path of a signed image on the host (dse-bundle)" "$out"

# A host the manager cannot reach: its status and the task's result say so.
check_eq "a host at an address where nothing answers" 201 \
	"$(call POST /hosts "{\"name\":\"h9\",\"spec\":{\"cluster\":\"c1\",\"address\":\"198.19.0.99\",\"cn\":\"$P-h9\"}}" "$T")"
tid=$(body .task)
check "... its task ends in error" wait_until 20 bash -c \
	"curl -s --cacert '$S/ca/ca.pem' -H 'Authorization: Bearer $T' '$URL/tasks/$tid' | jq -e '.state == \"error\" and (.results.h9.ok | not) and (.results.h9.error | length > 0) and .results.h1.ok' >/dev/null"
check_eq "... its status: not reachable" false "$(call GET /hosts/h9/status "" "$T" >/dev/null; body .reachable)"
check_eq "... and it goes" 200 "$(call DELETE /hosts/h9 "" "$T")"

# kill -9 in the middle of writes: every acknowledged one is there after.
: >"$TMP/acked"
(
	for i in $(seq 1 400); do
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --cacert "$S/ca/ca.pem" \
			-H "Authorization: Bearer $T" -d "{\"name\":\"vm$i\",\"spec\":{\"host\":\"h1\"}}" "$URL/vms")
		[[ $code == 201 ]] && echo "vm$i" >>"$TMP/acked"
	done
) &
writer=$!
wait_until 20 bash -c "[[ \$(wc -l <'$TMP/acked' 2>/dev/null) -ge 30 ]]"
kill -KILL "$mpid"
wait "$writer"
acked=$(wc -l <"$TMP/acked")
check "the manager was killed with writes under way (some acknowledged: $acked)" test "$acked" -ge 30
check "dse-lab up starts it again" quiet "$DSE_LAB" up --prefix "$P" --hosts 2 --dpus 1 --manager-port "$PORT"
check_eq "the old token still works" 200 "$(call GET "/vms?limit=100" "" "$T")"
events_again() { [[ $(call GET "/events?object=h1%2Fdpu1&type=alarm." "" "$T") == 200 ]] && jq -e '.items | length >= 2' "$TMP/body" >/dev/null; }
check "the restarted manager collects h1's alarm events again (hosts keep their logs)" wait_until 30 events_again
have=$(next=; while :; do
	call GET "/vms?limit=100${next:+&after=$next}" "" "$T" >/dev/null
	body '.items[].name'
	next=$(body '.next // empty')
	[[ -n $next ]] || break
done | sort)
missing=$(comm -23 <(sort "$TMP/acked") <(echo "$have"))
check_eq "every acknowledged VM is there ($acked)" "" "$missing"
check "the store passes integrity_check" bash -c \
	"[[ \$(sqlite3 '$S/store.db' 'PRAGMA integrity_check') == ok ]]"

mpid=$(cat "$LD/mgmt/run/manager.pid")
fpid=$(cat "$LD/mgmt/run/lab-fwd.pid")
check "down" quiet lab_down "$P"
check "no manager left" gone "$mpid"
check "no forwarder left" gone "$fpid"
check_eq "no process left in $P" "" "$(lab_procs "$P")"
check_eq "the loopback port is free again" 0 "$(ss -Hltn "sport = :$PORT" | wc -l)"
finish
