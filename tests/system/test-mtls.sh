#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Zero trust between host and DPU: dpud serves its API on the internal network
# only over mutual TLS, to its own host's certificate.
#
#   P-h1: hostd, curl ---- int-dpu1 ==== int0 ---- P-h1-dpu1: dpud 169.254.1.2:7443
#
# A client without a certificate, with one from another CA, or with a lab
# certificate of another identity is refused, and dpud logs who and why.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
require_root
trap cleanup EXIT

P=$(lab_prefix) || exit 1
TMP=$(mktemp -d /tmp/dse-mtls.XXXXXX)
TEST_TMPDIRS+=("$TMP")
lab_up "$P" --hosts 1 --dpus 1 >/dev/null || { not_ok "lab up"; finish; exit 1; }
LD=$DSE_LAB_DIR/$P
URL=https://169.254.1.2:7443/api/v1/dpu.info
LOG=$LD/h1-dpu1/log/dpud.log

# api CERT_DIR|none: call dpud from the host's netns; prints the HTTP status
# (000 when the TLS handshake failed).
api() {
	local creds=()
	[[ $1 == none ]] || creds=(--cert "$1/cert.pem" --key "$1/key.pem")
	ip netns exec "$P-h1" curl -s -o "$TMP/body" -w '%{http_code}' --max-time 5 \
		--cacert "$LD/ca/ca.pem" "${creds[@]}" "$URL"
}

check_eq "the host's certificate is accepted" 200 "$(api "$LD/h1/certs")"
check "the reply is the DPU's identity" bash -c "jq -e '.ok and .result.name == \"$P-h1-dpu1\"' $TMP/body >/dev/null"

check_eq "a client without a certificate is refused" 000 "$(api none)"
check "the refusal is logged with the peer address and reason" \
	wait_until 5 grep -q "peer=169.254.1.1:.*no client certificate" "$LOG"

# Another CA, with a certificate that claims the host's very name.
mkdir -p "$TMP/evil"
openssl ecparam -name prime256v1 -genkey -noout -out "$TMP/evil/ca.key" 2>/dev/null
openssl req -x509 -new -key "$TMP/evil/ca.key" -subj "/CN=evil CA" -days 1 -out "$TMP/evil/ca.pem" 2>/dev/null
openssl ecparam -name prime256v1 -genkey -noout -out "$TMP/evil/key.pem" 2>/dev/null
openssl req -new -key "$TMP/evil/key.pem" -subj "/CN=$P-h1" -out "$TMP/evil/req.pem" 2>/dev/null
openssl x509 -req -in "$TMP/evil/req.pem" -CA "$TMP/evil/ca.pem" -CAkey "$TMP/evil/ca.key" \
	-CAcreateserial -days 1 -out "$TMP/evil/cert.pem" 2>/dev/null
check_eq "a client with a certificate from another CA is refused" 000 "$(api "$TMP/evil")"
check "the refusal names the untrusted certificate" \
	wait_until 5 grep -q "refused .*certificate.*subject=.*CN *= *$P-h1" "$LOG"

# A genuine lab certificate, but not the host's identity: the DPU's own.
check_eq "a lab certificate of another identity gets 403" 403 "$(api "$LD/h1-dpu1/certs")"
check "the 403 is logged with the CN and the reason" wait_until 5 grep -q "cn=$P-h1-dpu1: refused (peer): dpu .$P-h1-dpu1. may not call this agent" "$LOG"

check "the API is not reachable from the fabric or a VM's side (no address there)" \
	bash -c "! ip netns exec $P-fab curl -s --max-time 2 -k $URL >/dev/null"
# An error path of the channel: a config naming an interface the DPU lacks is
# applied as far as it goes, and the reply says what failed.
ip netns exec "$P-h1" curl -s -o "$TMP/body" --max-time 5 --cacert "$LD/ca/ca.pem" \
	--cert "$LD/h1/certs/cert.pem" --key "$LD/h1/certs/key.pem" \
	-d '{"generation": 7, "portgroups": [{"name": "pg-x", "vlan": 33, "mtu": 1500}],
	     "ports": [{"name": "rep-nope", "portgroup": "pg-x"}]}' \
	https://169.254.1.2:7443/api/v1/config.apply
check "config.apply reports a port whose interface is missing" \
	jq -e '.ok and (.result.errors | length == 1) and (.result.errors[0] | test("rep-nope: no such interface"))' "$TMP/body"
check "a malformed config is refused as a usage error, nothing applied" bash -c \
	"ip netns exec $P-h1 curl -s -o $TMP/body2 -w '%{http_code}' --max-time 5 --cacert $LD/ca/ca.pem \
	 --cert $LD/h1/certs/cert.pem --key $LD/h1/certs/key.pem -d '{\"generation\": 8, \"portgroups\": {}}' \
	 https://169.254.1.2:7443/api/v1/config.apply | grep -qx 400 && jq -e '.code == \"usage\"' $TMP/body2 >/dev/null"
check "hostd still reaches the DPU after the refusals" \
	bash -c "DSE_LAB_CMD=$DSE_LAB $DSECTL --lab $P -H h1 dpu list | grep -q ready"
finish
