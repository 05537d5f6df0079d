#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Hosts join the manager and leave it (DESIGN.md section 11, manager/join.h):
#
#   dsectl -M host join-token h1  ->  dsectl host join --manager URL --token T
#     hostd: a key and CSR of its own, one from each DPU, to the manager;
#     the certificates it signs back, in use at once on both sides
#   dsectl -M host del h2  ->  its certificates revoked; the manager refuses
#     h2 at once, every agent once the reconciler (and the host, for its
#     DPUs) has brought it the new CRL
#
# The token is one-time and pins the manager's CA; a removed host can join
# again.  Everything talks through the new certificates afterwards.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
require_root
trap cleanup EXIT

P=$(lab_prefix) || exit 1
TMP=$(mktemp -d /tmp/dse-join.XXXXXX)
TEST_TMPDIRS+=("$TMP")
lab_up "$P" --hosts 2 --dpus 2 >/dev/null || { not_ok "lab up"; finish; exit 1; }
LD=$DSE_LAB_DIR/$P
S=$LD/mgmt/manager
MURL=https://198.19.0.1:8443
M() { ip netns exec "$P-mgmt" env -u DSE_TOKEN -u DSE_MANAGER XDG_CONFIG_HOME="$TMP/cfg" "$DSECTL" --manager "$MURL" --ca "$S/ca/ca.pem" "$@"; }
serial() { openssl x509 -in "$LD/$1/certs/cert.pem" -noout -serial | cut -d= -f2; }
# tls_get NETNS DEVICE URL: the HTTP status of a GET with DEVICE's certificate ("000": refused).
tls_get() {
	ip netns exec "$1" curl -s -o /dev/null -w '%{http_code}' --max-time 5 --cacert "$LD/ca/ca.pem" \
		--cert "$LD/$2/certs/cert.pem" --key "$LD/$2/certs/key.pem" "$3"
}
# tls_post NETNS CERTDIR URL: the same, a POST of {} (hostd's API).
tls_post() {
	ip netns exec "$1" curl -s -o /dev/null -w '%{http_code}' --max-time 5 --cacert "$LD/ca/ca.pem" \
		--cert "$2/cert.pem" --key "$2/key.pem" -d '{}' "$3"
}
has() { grep -q -- "$1" <<<"$2"; }
crl_is() { [[ $("$DSECTL" -s "$LD/$1/run/$2.sock" -j call crl.show | jq -r .number) == "$N" ]]; }

check "log in as the first admin" quiet M login --user admin --password-file "$S/admin-password"
check "a datacenter, a cluster, a switch" quiet bash -c "$(declare -f M); P=$P TMP=$TMP DSECTL=$DSECTL MURL=$MURL S=$S; M datacenter add dc1 && M cluster add c1 --datacenter dc1 && M switch add s1 --datacenter dc1"
h1_before=$(serial h1) d1_before=$(serial h1-dpu1)
dsectl_on "$P" h1 monitor set --interval 1 >/dev/null # the refusal counters sooner

check "dse-lab join: both hosts join (added to c1 first)" quiet "$DSE_LAB" join --prefix "$P" --cluster c1 h1 h2
check "h1 has a new certificate" test "$(serial h1)" != "$h1_before"
check "... of the manager's CA" quiet openssl verify -CAfile "$S/ca/ca.pem" "$LD/h1/certs/cert.pem"
check "... for its name, with role host" bash -c "openssl x509 -in '$LD/h1/certs/cert.pem' -noout -subject -ext subjectAltName | tr -d ' ' | grep -q 'CN=$P-h1' && openssl x509 -in '$LD/h1/certs/cert.pem' -noout -ext subjectAltName | grep -q 'URI:urn:dse:role:host'"
check_eq "... and its key stays private (0600)" 600 "$(stat -c %a "$LD/h1/certs/key.pem")"
check "... no key left pending" test ! -e "$LD/h1/certs/key.pem.pending"
check "its DPU got one through it" test "$(serial h1-dpu1)" != "$d1_before"
check "... for the name hostd expects, with role dpu" bash -c "openssl x509 -in '$LD/h1-dpu1/certs/cert.pem' -noout -subject -ext subjectAltName | tr -d ' ' | grep -q 'CN=$P-h1-dpu1' && openssl x509 -in '$LD/h1-dpu1/certs/cert.pem' -noout -ext subjectAltName | grep -q 'URI:urn:dse:role:dpu'"
check "the DPU is in the inventory, with what its host reported" bash -c "$(declare -f M); P=$P TMP=$TMP DSECTL=$DSECTL MURL=$MURL S=$S; M -j dpu show h1/dpu1 | jq -e '.spec.vendor == \"dse-lab\" and (.spec.model | length > 0)' >/dev/null"
check "the join is a task, ended in success for the host and each DPU" bash -c "$(declare -f M); P=$P TMP=$TMP DSECTL=$DSECTL MURL=$MURL S=$S; M -j task list | jq -e 'any(.[]; .kind == \"host.join\" and .object == \"/dse/v1/host/h1\" and .state == \"success\" and .results.h1.ok and .results[\"h1/dpu1\"].ok and .results[\"h1/dpu2\"].ok)' >/dev/null"
dpu_ready() { dsectl_on "$P" h1 -j dpu list | jq -e '.[0].state == "ready"' >/dev/null; }
check "hostd and its DPU talk with their new certificates" wait_until 10 dpu_ready
check "the manager reaches the hosts with theirs: a portgroup" quiet M portgroup add s1/pg-j --vlan 12
pg_on() { dsectl_on "$P" "$1" -j portgroup list | jq -e 'any(.[]; .name == "pg-j")' >/dev/null; }
for h in h1 h2; do check "... on $h" wait_until 20 pg_on "$h"; done

both_dpus() { dsectl_on "$P" h1 -j dpu list | jq -e 'length == 2 and all(.[]; .state == "ready")' >/dev/null; }
check "... both of h1's DPUs" wait_until 10 both_dpus
check "h1-dpu2 has a certificate of the manager's CA too" quiet openssl verify -CAfile "$S/ca/ca.pem" "$LD/h1-dpu2/certs/cert.pem"

# The data plane never depends on the manager: with it stopped, the VMs
# keep talking and the DPUs of h1 (their certificates from the join) fail
# over; on its return it reaches the hosts again.
healthy() { dsectl_on "$P" h1 -j dpu list | jq -e 'all(.[]; .ha.healthy)' >/dev/null; }
check "h1's DPUs active-standby" quiet dsectl_on "$P" h1 host dpu-mode active-standby --heartbeat-ms 10
check "... both healthy" wait_until 15 healthy
dsectl_on "$P" h1 vm add vm1 --portgroup pg-j --ip 198.18.12.11/24 >/dev/null
dsectl_on "$P" h2 vm add vm1 --portgroup pg-j --ip 198.18.12.21/24 >/dev/null
reaches() { ping_ok "$P-h1-vm1" 198.18.12.21; }
check "VMs on the manager's portgroup talk across hosts" wait_until 15 reaches
mpid=$(cat "$LD/mgmt/run/manager.pid")
kill -TERM "$mpid"
check "the manager stops" wait_until 10 bash -c "[[ ! -d /proc/$mpid ]]"
was=$(dsectl_on "$P" h1 -j dpu list | jq -r '.[] | select(.ha.role == "active") | .name')
stop_daemon "$P" "h1-$was" dpud KILL
other=dpu1; [[ $was == dpu1 ]] && other=dpu2
check "with the manager down, h1's active DPU ($was) killed: $other takes over" wait_until 10 bash -c "[[ \$(DSE_LAB_CMD=$DSE_LAB $DSECTL --lab $P -H h1 -j dpu list | jq -r '.[] | select(.name == \"$other\") | .ha.role') == active ]]"
check "... and the VMs still talk" wait_until 10 reaches
check "the manager and the DPU come back (dse-lab up)" quiet "$DSE_LAB" up --prefix "$P" --hosts 2 --dpus 2
check "... the manager reaches h1 again" wait_until 25 bash -c "$(declare -f M); P=$P TMP=$TMP DSECTL=$DSECTL MURL=$MURL S=$S; M -j host status h1 | jq -e .reachable >/dev/null"
# A failover asked of the manager: a task that the reconciler runs on h1.
check "... both DPUs healthy again" wait_until 20 healthy
tid=$(M -j dpu failover h1 --to "$was" | jq -r .task)
check "dsectl -M dpu failover h1 --to $was: a task" bash -c "[[ '$tid' =~ ^[0-9]{20}\$ ]]"
check "... that ends in success" quiet M task watch "$tid"
check "... naming the DPU now active" bash -c "$(declare -f M); P=$P TMP=$TMP DSECTL=$DSECTL MURL=$MURL S=$S; M -j task show $tid | jq -e '.kind == \"dpu.failover\" and .results.h1.ok and .results.h1.active == \"$was\"' >/dev/null"
check_eq "... and h1 says so" active "$(dsectl_on "$P" h1 -j dpu list | jq -r --arg d "$was" '.[] | select(.name == $d) | .ha.role')"
tid=$(M -j dpu failover h1 --to dpu7 | jq -r .task)
check "a failover to a DPU h1 lacks: the task fails" bash -c "$(declare -f M); P=$P TMP=$TMP DSECTL=$DSECTL MURL=$MURL S=$S; ! M task watch $tid >/dev/null && M -j task show $tid | jq -e '.state == \"error\" and (.results.h1.error | length > 0)' >/dev/null"

# The token: one-time, pinned to the manager's CA.
T=$(M host join-token h1)
check "a token is dsejoin.SECRET.PIN" bash -c "[[ '$T' =~ ^dsejoin\.[0-9a-f]{32}\.[0-9a-f]{64}\$ ]]"
check_eq "... whose PIN is the CA's fingerprint" "$(openssl x509 -in "$S/ca/ca.pem" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : | tr A-F a-f)" "${T##*.}"
check "h1 joins again with it" quiet dsectl_on "$P" h1 host join --manager "$MURL" --token "$T"
out=$(dsectl_on "$P" h1 host join --manager "$MURL" --token "$T" 2>&1)
check_eq "... but not twice" 1 "$?"
check "... in one line that says why" has 'unknown or used join token' "$out"
check_eq "... one line" 1 "$(wc -l <<<"$out")"
T=$(M host join-token h1)
out=$(dsectl_on "$P" h1 host join --manager "$MURL" --token "${T%.*}.$(printf '0%.0s' {1..64})" 2>&1)
check "a token pinned to another CA: refused before anything is sent" has "CA is not this host's" "$out"
out=$(dsectl_on "$P" h1 host join --manager "$MURL" --token dsejoin.nope 2>&1)
check "not a token: refused" has 'not a join token' "$out"
check_eq "a join with a made-up secret: 401" 401 "$(ip netns exec "$P-mgmt" curl -s -o /dev/null -w '%{http_code}' --max-time 5 --cacert "$S/ca/ca.pem" \
	-d "{\"token\":\"dsejoin.$(printf 'a%.0s' {1..32}).${T##*.}\",\"csr\":\"x\"}" "$MURL/api/v1/join")"

# Leaving: what was signed for h2 and its DPU is revoked.
cp -r "$LD/h2/certs" "$TMP/h2-certs"
check_eq "the manager takes h2's certificate" 200 "$(tls_get "$P-h2" h2 "$MURL/api/v1/ca")"
check "h2's DPUs go" quiet bash -c "$(declare -f M); P=$P TMP=$TMP DSECTL=$DSECTL MURL=$MURL S=$S; M dpu del h2/dpu1 && M dpu del h2/dpu2"
check_eq "h2 goes, its certificates revoked" true "$(M -j host del h2 | jq .revoked)"
check_eq "the manager refuses h2 at once" 000 "$(tls_get "$P-h2" h2 "$MURL/api/v1/ca")"
check_eq "... and still takes h1" 200 "$(tls_get "$P-h1" h1 "$MURL/api/v1/ca")"
N=$(ip netns exec "$P-mgmt" curl -s --cacert "$S/ca/ca.pem" "$MURL/api/v1/crl" | jq .number)
check "the CRL has a number" test "$N" -ge 2
check "h1's hostd gets it from the manager" wait_until 25 crl_is h1 hostd
check "h1's DPU gets it from its host" wait_until 10 crl_is h1-dpu1 dpud
check_eq "h1's hostd refuses h2's certificate" 000 "$(tls_post "$P-h2" "$TMP/h2-certs" https://198.19.0.11:7443/api/v1/help)"
check_eq "... and still obeys the manager" 200 "$(tls_post "$P-mgmt" "$LD/mgmt/certs" https://198.19.0.11:7443/api/v1/help)"
counted() { ip netns exec "$P-mgmt" curl -s http://198.19.0.11:9464/metrics | grep -Eq 'dse_host_api_refused_total\{[^}]*reason="revoked"[^}]*\} [1-9]'; }
check "... and counts the refusal as revoked" wait_until 25 counted
rm -f "$LD/h1-dpu1/certs/crl.pem"
kill -KILL "$(cat "$LD/h1-dpu1/run/dpud.pid")"
check "a DPU replaced (no CRL) and restarted" quiet "$DSE_LAB" up --prefix "$P" --hosts 2 --dpus 2
check "... gets the list again from its host" wait_until 15 crl_is h1-dpu1 dpud

check "a removed host joins again" quiet "$DSE_LAB" join --prefix "$P" --cluster c1 h2
check_eq "... and the manager takes its new certificate" 200 "$(tls_get "$P-h2" h2 "$MURL/api/v1/ca")"

check "down" quiet lab_down "$P"
check_eq "no process left in $P" "" "$(lab_procs "$P")"
finish
