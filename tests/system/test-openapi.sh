#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The manager's OpenAPI document (manager/openapi.json, served at
# /api/v1/openapi.json): valid by a maintained validator, and true of the
# API.  Every operation is called on a live manager, with its successes and
# its refusals; each reply is recorded and checked against the document
# (tests/openapi/check.mjs: swagger-parser, then Ajv on every body).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
require_root
OA=$REPO_ROOT/tests/openapi
[[ -d $OA/node_modules/@apidevtools/swagger-parser && -d $OA/node_modules/ajv ]] ||
	skip "the validator is not installed (scripts/install-npm-deps: npm ci in tests/openapi)"
command -v node >/dev/null || skip "no node"
trap cleanup EXIT

P=$(lab_prefix) || exit 1
TMP=$(mktemp -d /tmp/dse-openapi.XXXXXX)
TEST_TMPDIRS+=("$TMP")
lab_up "$P" --hosts 1 --dpus 1 >/dev/null || { not_ok "lab up"; finish; exit 1; }
LD=$DSE_LAB_DIR/$P
S=$LD/mgmt/manager
URL=https://198.19.0.1:8443
R=$TMP/replies.jsonl

# rec METHOD PATH [BODY] [TOKEN]: one call from P-mgmt; its reply recorded
# in $R; prints the status.  The body in $TMP/body.
rec() {
	local auth=() status body
	[[ -n ${4:-} ]] && auth=(-H "Authorization: Bearer $4")
	status=$(ip netns exec "$P-mgmt" curl -s -o "$TMP/body" -w '%{http_code}' --max-time 10 \
		--cacert "$S/ca/ca.pem" -X "$1" "${auth[@]}" ${3:+-d "$3"} "$URL$2")
	body=$(jq -c . "$TMP/body" 2>/dev/null) || body=null
	[[ -n $body ]] || body=null
	jq -cn --arg m "$1" --arg p "${2%%\?*}" --argjson s "$status" --argjson b "$body" \
		'{method: $m, path: $p, status: $s, body: $b}' >>"$R"
	echo "$status"
}
body() { jq -r "$1" "$TMP/body"; }

check_eq "the document is served" 200 "$(rec GET /api/v1/openapi.json)"
check "... and is manager/openapi.json" bash -c "diff <(jq -S . '$REPO_ROOT/manager/openapi.json') <(jq -S . '$TMP/body')"
check_eq "login" 200 "$(rec POST /api/v1/login "{\"user\":\"admin\",\"password\":\"$(cat "$S/admin-password")\"}")"
T=$(body .token)
rec POST /api/v1/login '{"user":"admin"}' >/dev/null
rec POST /api/v1/login '{"user":"admin","password":"wrong-wrong-wrong"}' >/dev/null

# Every kind: create, list, read, update, and the refusals on the way.
objs=(
	"datacenters dc1 {}"
	"clusters c1 {\"datacenter\":\"dc1\"}"
	"hosts h1 {\"cluster\":\"c1\",\"address\":\"198.19.0.11\",\"cn\":\"$P-h1\"}"
	"dpus h1/dpu9 {\"vendor\":\"dse-lab\"}"
	"switches s1 {\"datacenter\":\"dc1\"}"
	"portgroups s1/pg-a {\"vlan\":10}"
	"vms vm1 {\"host\":\"h1\"}"
	"vnics vm1/eth0 {\"mac\":\"02:00:00:00:00:01\",\"portgroup\":\"s1/pg-a\"}"
	"alarmdefs hot-dpu {\"metric\":\"dse_dpu_cpu_usage_ratio\",\"warning\":0.8,\"critical\":0.95}"
	"dfwgroups web {\"tags\":[\"web\"],\"cidrs\":[\"198.18.1.0/24\",\"2001:db8:1::/64\"]}"
	"dfwservices ssh {\"entries\":[{\"proto\":\"tcp\",\"ports\":[\"22\",\"8000-8080\"]}]}"
	"dfwsections app {\"order\":10}"
	"dfwrules app/ssh {\"src\":[\"web\"],\"services\":[\"ssh\"],\"action\":\"allow\",\"log\":true}"
)
for o in "${objs[@]}"; do
	read -r kinds name spec <<<"$o"
	check_eq "create $kinds/$name" 201 "$(rec POST "/api/v1/$kinds" "{\"name\":\"$name\",\"spec\":$spec}" "$T")"
	rv=$(body .resource_version)
	check_eq "... list" 200 "$(rec GET "/api/v1/$kinds?limit=10" "" "$T")"
	check_eq "... read" 200 "$(rec GET "/api/v1/$kinds/$name" "" "$T")"
	check_eq "... update" 200 "$(rec PUT "/api/v1/$kinds/$name" "{\"spec\":$spec,\"resource_version\":$rv}" "$T")"
	check_eq "... an old version: 409" 409 "$(rec PUT "/api/v1/$kinds/$name" "{\"spec\":$spec,\"resource_version\":$rv}" "$T")"
	check_eq "... the same name again: 409" 409 "$(rec POST "/api/v1/$kinds" "{\"name\":\"$name\",\"spec\":$spec}" "$T")"
	[[ $name == */* ]] && rec GET "/api/v1/$kinds/${name%/*}/nosuch" "" "$T" >/dev/null ||
		rec GET "/api/v1/$kinds/nosuch" "" "$T" >/dev/null
	rec POST "/api/v1/$kinds" '{"name":' "$T" >/dev/null
	rec GET "/api/v1/$kinds?limit=0" "" "$T" >/dev/null
done
check_eq "many at once" 201 "$(rec POST /api/v1/datacenters '{"items":[{"name":"bulk1","spec":{}},{"name":"bulk2","spec":{}}]}' "$T")"
check_eq "... all or none: 409" 409 "$(rec POST /api/v1/datacenters '{"items":[{"name":"bulk3","spec":{}},{"name":"bulk1","spec":{}}]}' "$T")"
check_eq "... none" 404 "$(rec GET /api/v1/datacenters/bulk3 "" "$T")"
check_eq "... away" 200 "$(rec DELETE /api/v1/datacenters/bulk1 "" "$T")"
rec DELETE /api/v1/datacenters/bulk2 "" "$T" >/dev/null
check_eq "no token: 401" 401 "$(rec GET /api/v1/hosts)"
# (not recorded: a method a path lacks is not in the document)
check_eq "a method that is not there: 405" 405 "$(ip netns exec "$P-mgmt" curl -s -o /dev/null -w '%{http_code}' \
	--cacert "$S/ca/ca.pem" -X DELETE -H "Authorization: Bearer $T" "$URL/api/v1/hosts")"
check_eq "a datacenter with things in it stays: 409" 409 "$(rec DELETE /api/v1/datacenters/dc1 "" "$T")"
check_eq "a user" 201 "$(rec POST /api/v1/users '{"name":"ro","password":"read-only-password","grants":[{"object":"/dse/v1/","role":"read-only"}]}' "$T")"
rec POST /api/v1/users '{"name":"ro"}' "$T" >/dev/null
check_eq "users" 200 "$(rec GET /api/v1/users "" "$T")"
check_eq "roles" 200 "$(rec GET /api/v1/roles "" "$T")"
rec GET /api/v1/roles >/dev/null
rec POST /api/v1/login '{"user":"ro","password":"read-only-password"}' >/dev/null
RO=$(body .token)
check_eq "read-only may not change: 403" 403 "$(rec POST /api/v1/datacenters '{"name":"dc2","spec":{}}' "$RO")"
rec GET /api/v1/users "" "$RO" >/dev/null
rec GET /api/v1/audit "" "$RO" >/dev/null
check_eq "the audit log" 200 "$(rec GET "/api/v1/audit?limit=5" "" "$T")"
rec GET "/api/v1/audit?limit=x" "" "$T" >/dev/null

# Tasks, a host's status and figures, joins, the CA and CRL, /metrics.
check_eq "tasks" 200 "$(rec GET "/api/v1/tasks?limit=5" "" "$T")"
tid=$(body '.items[0].id')
check_eq "a task" 200 "$(rec GET "/api/v1/tasks/$tid" "" "$T")"
rec GET /api/v1/tasks/123 "" "$T" >/dev/null
rec GET /api/v1/tasks/99999999999999999999 "" "$T" >/dev/null
check "the host's status" wait_until 20 bash -c "[[ \$(ip netns exec '$P-mgmt' curl -s -o /dev/null -w '%{http_code}' --cacert '$S/ca/ca.pem' -H 'Authorization: Bearer $T' '$URL/api/v1/hosts/h1/status') == 200 ]]"
rec GET /api/v1/hosts/h1/status "" "$T" >/dev/null
check "the host's figures" wait_until 30 bash -c "[[ \$(ip netns exec '$P-mgmt' curl -s -o /dev/null -w '%{http_code}' --cacert '$S/ca/ca.pem' -H 'Authorization: Bearer $T' '$URL/api/v1/hosts/h1/metrics') == 200 ]]"
rec GET /api/v1/hosts/h1/metrics "" "$T" >/dev/null
rec GET "/api/v1/hosts/h1/metrics?window=day" "" "$T" >/dev/null
rec GET "/api/v1/hosts/h1/metrics?window=week" "" "$T" >/dev/null
rec GET /api/v1/hosts/nosuch/status "" "$T" >/dev/null
check_eq "a join token" 201 "$(rec POST /api/v1/hosts/h1/join-token '{}' "$T")"
JT=$(body .token)
rec POST /api/v1/hosts/h1/join-token '{}' "$RO" >/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$TMP/k.pem" \
	-subj /CN=x -out "$TMP/csr.pem" 2>/dev/null
check_eq "a join" 200 "$(rec POST /api/v1/join "$(jq -cn --arg t "$JT" --rawfile c "$TMP/csr.pem" '{token: $t, csr: $c}')")"
check_eq "... once" 401 "$(rec POST /api/v1/join "$(jq -cn --arg t "$JT" --rawfile c "$TMP/csr.pem" '{token: $t, csr: $c}')")"
rec POST /api/v1/join '{"token":1}' >/dev/null
# Operations on a host, as tasks; cancelling.
check_eq "an install: a task" 202 "$(rec POST /api/v1/hosts/h1/software/install '{"bundle":"/nonexistent.dsebundle","dry_run":true}' "$T")"
itid=$(body .task)
rec POST /api/v1/hosts/h1/software/install '{"bundle":"relative"}' "$T" >/dev/null
rec POST /api/v1/hosts/h1/software/install '{"bundle":"/x"}' "$RO" >/dev/null
check_eq "a failover: a task" 202 "$(rec POST /api/v1/hosts/h1/failover '{"to":"dpu1"}' "$T")"
rec POST /api/v1/hosts/h1/failover '{}' "$T" >/dev/null
rec POST /api/v1/hosts/nosuch/failover '{"to":"dpu1"}' "$T" >/dev/null
check_eq "a configuration push cannot be cancelled: 409" 409 "$(rec POST "/api/v1/tasks/$tid/cancel" '' "$T")"
rec POST /api/v1/tasks/00000000000000000001/cancel '' "$T" >/dev/null
rec POST "/api/v1/tasks/$itid/cancel" '' "$RO" >/dev/null
# Alarms and events: a hot DPU, seen and acknowledged through the manager.
quiet dsectl_on "$P" h1 monitor set --interval 1
quiet "$DSE_LAB" sensor --prefix "$P" h1-dpu1 temp1 96
red() { ip netns exec "$P-mgmt" curl -s --cacert "$S/ca/ca.pem" -H "Authorization: Bearer $T" "$URL/api/v1/alarms?severity=red" | jq -e '.items | length > 0' >/dev/null; }
check "a hot DPU's alarm reaches the manager" wait_until 40 red
check_eq "alarms" 200 "$(rec GET "/api/v1/alarms?severity=red" "" "$T")"
AID=$(body '.items[0].id')
rec GET "/api/v1/alarms?state=all&host=h1" "" "$T" >/dev/null
rec GET "/api/v1/alarms?severity=purple" "" "$T" >/dev/null
check_eq "an ack: a task" 202 "$(rec POST "/api/v1/alarms/h1/$(jq -rn --arg i "$AID" '$i|@uri')/ack" '{}' "$T")"
rec POST "/api/v1/alarms/h1/nosuch@x/ack" '{}' "$T" >/dev/null
rec POST "/api/v1/alarms/h1/$(jq -rn --arg i "$AID" '$i|@uri')/ack" '{}' "$RO" >/dev/null
check_eq "events" 200 "$(rec GET "/api/v1/events?object=h1&limit=5" "" "$T")"
rec GET "/api/v1/events?since=x" "" "$T" >/dev/null
quiet "$DSE_LAB" sensor --prefix "$P" h1-dpu1 temp1 40
check_eq "the CA" 200 "$(rec GET /api/v1/ca)"
check_eq "the CRL" 200 "$(rec GET /api/v1/crl)"
check_eq "/metrics" 200 "$(rec GET /metrics "" "$T")"
rec GET /metrics >/dev/null
# The firewall: a host's compiled policy, the counters.
check_eq "a host's firewall policy" 200 "$(rec GET "/api/v1/dfw/policy?host=h1" "" "$T")"
rec GET /api/v1/dfw/policy "" "$T" >/dev/null
rec GET "/api/v1/dfw/policy?host=nosuch" "" "$T" >/dev/null
check_eq "the firewall's counters" 200 "$(rec GET /api/v1/dfw/stats "" "$T")"
rec GET "/api/v1/dfw/stats?host=h1" "" "$T" >/dev/null
rec GET "/api/v1/dfw/stats?host=nosuch" "" "$T" >/dev/null
check_eq "a group a rule names stays: 409" 409 "$(rec DELETE /api/v1/dfwgroups/web "" "$T")"

# And away again, children first.
for ((i = ${#objs[@]} - 1; i >= 0; i--)); do
	read -r kinds name spec <<<"${objs[$i]}"
	check_eq "delete $kinds/$name" 200 "$(rec DELETE "/api/v1/$kinds/$name" "" "$T")"
	rec DELETE "/api/v1/$kinds/$name" "" "$T" >/dev/null
done

check "every reply matches the document, every operation exercised ($(wc -l <"$R") replies)" \
	bash -c "cd '$OA' && node check.mjs '$REPO_ROOT/manager/openapi.json' '$R' >'$TMP/check.out' 2>&1 || { cat '$TMP/check.out' | grep -v '^ok' | head -20 | sed 's/^/# /'; false; }"
check "down" quiet lab_down "$P"
finish
