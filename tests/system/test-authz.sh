#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The authorization matrix (DESIGN.md section 11, issue 11 point 3): every
# command of hostd's and of dpud's API, tried from every kind of caller, is
# allowed or refused as the trust model says; refusals are logged,
# rate-limited and counted in Prometheus.  First the attack that found the
# hole: host h2, with its own lab certificate, asks h1's hostd to run a shell
# line as a notification.
#
#   P-mgmt (manager's place) --+-- mgmt0 --+-- vmk0 P-h1: hostd 198.19.0.11:7443
#   P-h2: hostd 198.19.0.12 ---+           |    int-dpu1 == P-h1-dpu1: dpud 169.254.1.2:7443 (+ HA :7444)
#                                          |    int-dpu2 == P-h1-dpu2
#
# Callers (a certificate each; every call goes over the network):
#   none        no certificate
#   other-ca    a certificate of another CA that claims the manager's name
#   expired     a lab certificate whose validity ended
#   no-role     a lab certificate without a role (as issued before roles)
#   wrong-cn    the right role, another name (manager 'P-impostor' for
#               hostd, host 'P-impostor' for dpud)
#   other-host  h2            other-dpu  h2-dpu1
#   own-dpu     h1-dpu1       own-dpu2   h1-dpu2
#   own-host    h1            manager    P-manager
#
# Expected: hostd runs commands for the manager only (its own DPUs get
# through the door, as DPUs, but no command is a DPU's); dpud runs commands
# for its own host only.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
require_root
trap cleanup EXIT

P=$(lab_prefix) || exit 1
TMP=$(mktemp -d /tmp/dse-authz.XXXXXX)
TEST_TMPDIRS+=("$TMP")
lab_up "$P" --hosts 2 --dpus 2 >/dev/null || { not_ok "lab up"; finish; exit 1; }
LD=$DSE_LAB_DIR/$P
CA=$LD/ca
HOSTD=https://198.19.0.11:7443
DPUD=https://169.254.1.2:7443
HLOG=$LD/h1/log/hostd.log
DLOG=$LD/h1-dpu1/log/dpud.log

# cert NAME CN ROLE|- DAYS [CADIR]: a client certificate in $TMP/NAME.
cert() {
	local d=$TMP/$1 ca=${5:-$CA} san=
	mkdir -p "$d"
	[[ $3 != - ]] && san="subjectAltName=URI:urn:dse:role:$3"
	printf '%s\n' "basicConstraints=CA:FALSE" "extendedKeyUsage=clientAuth" $san >"$d/ext"
	openssl ecparam -name prime256v1 -genkey -noout -out "$d/key.pem" 2>/dev/null &&
		openssl req -new -key "$d/key.pem" -subj "/CN=$2" 2>/dev/null |
		openssl x509 -req -CA "$ca/ca.pem" -CAkey "$ca/ca.key" -days "$4" -sha256 \
			-set_serial "0x$(openssl rand -hex 8)" -extfile "$d/ext" -out "$d/cert.pem" 2>/dev/null
}
mkdir -p "$TMP/evilca"
openssl ecparam -name prime256v1 -genkey -noout -out "$TMP/evilca/ca.key" 2>/dev/null
openssl req -x509 -new -key "$TMP/evilca/ca.key" -subj "/CN=evil CA" -days 2 \
	-out "$TMP/evilca/ca.pem" 2>/dev/null
check "test certificates made" bash -c "$(declare -f cert); TMP=$TMP CA=$CA
	cert other-ca $P-manager manager 2 $TMP/evilca && cert expired $P-h2 host -1 &&
	cert no-role $P-h2 - 2 && cert wrong-cn-mgr $P-impostor manager 2 &&
	cert wrong-cn-host $P-impostor host 2"
check "the lab issued certificates with roles" bash -c \
	"openssl x509 -in $LD/h1-dpu1/certs/cert.pem -noout -ext subjectAltName | grep -q 'URI:urn:dse:role:dpu' &&
	 openssl x509 -in $LD/mgmt/certs/cert.pem -noout -ext subjectAltName | grep -q 'URI:urn:dse:role:manager'"

# creds CALLER WRONG-CN-NAME: curl's certificate options for a caller.
creds() {
	case $1 in
	none) ;;
	other-ca | expired | no-role) echo "--cert $TMP/$1/cert.pem --key $TMP/$1/key.pem" ;;
	wrong-cn) echo "--cert $TMP/$2/cert.pem --key $TMP/$2/key.pem" ;;
	manager) echo "--cert $LD/mgmt/certs/cert.pem --key $LD/mgmt/certs/key.pem" ;;
	other-host) echo "--cert $LD/h2/certs/cert.pem --key $LD/h2/certs/key.pem" ;;
	other-dpu) echo "--cert $LD/h2-dpu1/certs/cert.pem --key $LD/h2-dpu1/certs/key.pem" ;;
	own-dpu) echo "--cert $LD/h1-dpu1/certs/cert.pem --key $LD/h1-dpu1/certs/key.pem" ;;
	own-dpu2) echo "--cert $LD/h1-dpu2/certs/cert.pem --key $LD/h1-dpu2/certs/key.pem" ;;
	own-host) echo "--cert $LD/h1/certs/cert.pem --key $LD/h1/certs/key.pem" ;;
	esac
}

# call NS URL CMD JSON CREDS...: the HTTP status (000: the TLS handshake
# was refused); the body in $TMP/body.
call() {
	local ns=$1 url=$2 cmd=$3 json=$4
	shift 4
	ip netns exec "$ns" curl -s -o "$TMP/body" -w '%{http_code}' --max-time 20 \
		--cacert "$CA/ca.pem" "$@" -H 'Content-Type: application/json' -d "$json" "$url/api/v1/$cmd"
}

metric() { # NAME REASON [DPU]: the value hostd's /metrics shows
	local sel="reason=\"$2\""
	[[ -n ${3:-} ]] && sel="dpu=\"$3\",$sel"
	ip netns exec "$P-mgmt" curl -s --max-time 5 http://198.19.0.11:9464/metrics |
		grep "^$1{.*$sel" | awk '{ print $2 }'
}

# ---- the attack of the issue, replayed ---------------------------------------
PWNED=$TMP/pwned
code=$(call "$P-h2" "$HOSTD" notify.add "{\"kind\": \"command\", \"target\": \"touch $PWNED\"}" \
	$(creds other-host))
check_eq "h2 with its own certificate: notify.add on h1 is refused (403)" 403 "$code"
check "... with a one-line reason" quiet jq -e ".code == \"forbidden\" and (.error | test(\"host '$P-h2' may not call this agent\"))" "$TMP/body"
check "... logged with the caller" grep -q "cn=$P-h2: refused (peer): host '$P-h2' may not call" "$HLOG"
check "... and nothing was added" bash -c "[[ \$(DSE_LAB_CMD=$DSE_LAB $DSECTL --lab $P -H h1 -j alarm notify list | jq '.targets | length') == 0 ]]"
# Even the manager may not hand hostd a shell line: a program by absolute
# path, its arguments apart.
code=$(call "$P-mgmt" "$HOSTD" notify.add "{\"kind\": \"command\", \"target\": \"touch $PWNED\"}" \
	$(creds manager))
check_eq "the manager's shell line is refused as a usage error (400)" 400 "$code"
check "... saying why" quiet jq -e '.error | test("want the absolute path of a program")' "$TMP/body"
code=$(call "$P-mgmt" "$HOSTD" notify.add \
	"{\"kind\": \"command\", \"target\": \"/usr/bin/touch\", \"args\": [\"$PWNED\"]}" $(creds manager))
check_eq "the manager adds a command target (program and arguments)" 200 "$code"
# Fire it: a temperature alarm on h1-dpu1, collected every second.
quiet dsectl_on "$P" h1 monitor set --interval 1
quiet lab sensor --prefix "$P" h1-dpu1 temp1 96
check "an alarm runs the program with its argument (no shell)" wait_until 30 test -e "$PWNED"
quiet lab sensor --prefix "$P" h1-dpu1 temp1 40

# ---- the matrix --------------------------------------------------------------
ROWS="none other-ca expired no-role wrong-cn other-host other-dpu own-dpu own-dpu2 own-host manager"
# commands CTL-SOCKET: the daemon's commands, from its local control socket.
commands() { "$DSECTL" -s "$1" -j call help | jq -r '.[].name | select(. != "help")'; }
# host.join is the control socket's alone (a person with a token joins the
# host; the manager never sends it elsewhere): checked on its own below.
HOST_CMDS=$(commands "$LD/h1/run/hostd.sock" | grep -vx -e host.reboot -e host.join)
HOST_CMDS="$HOST_CMDS host.reboot" # last: the manager's call reboots h1
DPU_CMDS=$(commands "$LD/h1-dpu1/run/dpud.sock")
check "hostd and dpud list their commands" test "$(wc -w <<<"$HOST_CMDS")" -gt 30 -a "$(wc -w <<<"$DPU_CMDS")" -gt 10

declare -A EXPECT_REFUSED=() # "daemon reason" -> refusals this test caused
check_eq "host.join: refused to the manager (control socket only)" 403 \
	"$(call "$P-mgmt" "$HOSTD" host.join '{"manager":"https://198.19.0.1:8443","token":"x"}' $(creds manager))"
EXPECT_REFUSED[hostd command]=1

# row DAEMON NS URL CALLER WRONG-CN CMDS...: calls every command as CALLER;
# prints "allow", "refuse-403", "refuse-tls" or "mixed: CMD=CODE ...".
row() {
	local daemon=$1 ns=$2 url=$3 who=$4 wrong=$5 cmd code out=() n_a=0 n_f=0 n_t=0
	shift 5
	for cmd in "$@"; do
		code=$(call "$ns" "$url" "$cmd" '{}' $(creds "$who" "$wrong"))
		case $code in
		000) n_t=$((n_t + 1)) ;;
		403) n_f=$((n_f + 1)) ;;
		*) n_a=$((n_a + 1)) ;;
		esac
		out+=("$cmd=$code")
	done
	if ((n_a == $#)); then echo allow
	elif ((n_f == $#)); then echo refuse-403
	elif ((n_t == $#)); then echo refuse-tls
	else echo "mixed: ${out[*]}"
	fi
}

# reason DAEMON CALLER: the refusal reason a refused caller is counted under.
reason() {
	case $2 in
	none) echo no-certificate ;;
	other-ca) echo untrusted ;;
	expired) echo expired ;;
	no-role) echo no-role ;;
	own-dpu | own-dpu2) [[ $1 == hostd ]] && echo command || echo peer ;;
	*) echo peer ;;
	esac
}

declare -A GOT=()
# matrix DAEMON WHO...: fills GOT and EXPECT_REFUSED, checks each row.  hostd
# is reached over the management network, from the caller's own place where
# it has one; dpud over its host's internal network.
matrix() {
	local daemon=$1 who want n r
	shift
	for who in "$@"; do
		if [[ $daemon == hostd ]]; then
			ns=$P-h2
			[[ $who == manager ]] && ns=$P-mgmt
			GOT[hostd $who]=$(row hostd "$ns" "$HOSTD" "$who" wrong-cn-mgr $HOST_CMDS)
			n=$(wc -w <<<"$HOST_CMDS") want=refuse-403
			[[ $who == manager ]] && want=allow
		else
			GOT[dpud $who]=$(row dpud "$P-h1" "$DPUD" "$who" wrong-cn-host $DPU_CMDS)
			n=$(wc -w <<<"$DPU_CMDS") want=refuse-403
			[[ $who == own-host ]] && want=allow
		fi
		case $who in none | other-ca | expired) want=refuse-tls ;; esac
		check_eq "$daemon, caller $who: $want ($n commands)" "$want" "${GOT[$daemon $who]}"
		if [[ $want != allow ]]; then
			r="$daemon $(reason "$daemon" "$who")"
			EXPECT_REFUSED[$r]=$((${EXPECT_REFUSED[$r]:-0} + n))
		fi
	done
}
EXPECT_REFUSED[hostd peer]=1 # the attack replayed above
# dpud first: the manager's host.reboot, last of all, reboots the server.
matrix dpud $ROWS
matrix hostd ${ROWS% manager}

# ---- a listener without a policy does not start --------------------------------
C=$LD/h1/certs
no_policy() { # DAEMON ARGS...: its output, and its exit status in $rc
	out=$("$DSE_BUILD_DIR/daemons/$1/dse-$1" --name x --dir "$TMP" --ctl "$TMP/$1.sock" \
		--cert "$C/cert.pem" --key "$C/key.pem" --ca "$C/ca.pem" --listen 127.0.0.1:1 "${@:2}" 2>&1)
	rc=$?
}
for d in hostd dpud; do
	if [[ $d == hostd ]]; then no_policy hostd --dpu dpu1=169.254.9.2:7443,cn=x; else no_policy dpud; fi
	check_eq "dse-$d --listen without --allow: exit 2" 2 "$rc"
	check "... in one line that says why ($out)" bash -c '[[ $(wc -l <<<"$1") == 1 ]] && grep -q -- "--allow ROLE\[:CN\]" <<<"$1"' _ "$out"
done
out=$("$DSE_BUILD_DIR/daemons/dpud/dse-dpud" --name x --dir "$TMP" --ctl "$TMP/d.sock" --allow root:x 2>&1)
check_eq "dse-dpud --allow with an unknown role: exit 2" 2 $?

# ---- the HA listener of dpud: the same door -----------------------------------
# A peer that is let in gets dpud's uplink state at once; a refused one is
# closed with nothing.
ha_try() { # CALLER: what dpud sent
	ip netns exec "$P-h1" timeout 5 openssl s_client -quiet -connect 169.254.1.2:7444 \
		-CAfile "$CA/ca.pem" $(creds "$1" wrong-cn-host) </dev/null 2>/dev/null | head -c 200
}
for who in other-host own-dpu2 manager wrong-cn; do
	check_eq "dpud's HA listener closes on caller $who at once" "" "$(ha_try "$who")"
	r="dpud peer"
	EXPECT_REFUSED[$r]=$((${EXPECT_REFUSED[$r]} + 1))
done
check "dpud logs the HA refusals" grep -q "refused a peer (peer): manager '$P-manager' may not call" "$DLOG"
check "hostd's own heartbeats to dpu1 stayed up" bash -c \
	"DSE_LAB_CMD=$DSE_LAB $DSECTL --lab $P -H h1 -j dpu list | jq -e '.[] | select(.name == \"dpu1\") | .state == \"ready\"' >/dev/null"

# ---- counted, logged, rate-limited -------------------------------------------
# (dpud's counts reach hostd's /metrics with its next sample: every second.)
dpu_metric_is() { [[ $(metric dse_dpu_api_refused_total "$1" dpu1) == "$2" ]]; }
refuse_once_more() {
	call "$P-h2" "$HOSTD" host.info '{}' $(creds other-host) >/dev/null
	grep -q 'similar messages suppressed' "$HLOG"
}
for k in "${!EXPECT_REFUSED[@]}"; do
	d=${k% *} r=${k#* }
	if [[ $d == hostd ]]; then
		check_eq "Prometheus: dse_host_api_refused_total{reason=\"$r\"}" "${EXPECT_REFUSED[$k]}" "$(metric dse_host_api_refused_total "$r")"
	else
		check "Prometheus: dse_dpu_api_refused_total{dpu=\"dpu1\",reason=\"$r\"} reaches ${EXPECT_REFUSED[$k]}" \
			wait_until 20 dpu_metric_is "$r" "${EXPECT_REFUSED[$k]}"
	fi
done
n_logged=$(grep -c 'refused (' "$HLOG")
check "hostd's refusal log is rate-limited ($n_logged lines for ${EXPECT_REFUSED[hostd peer]} peer refusals alone)" \
	test "$n_logged" -lt "${EXPECT_REFUSED[hostd peer]}"
# The next refusal after the window says how many were left out.
check "... and says how many it left out" wait_until 15 refuse_once_more
# ---- last: the manager runs every command of hostd (host.reboot last) ----
old_pid=$(cat "$LD/h1/run/hostd.pid")
matrix hostd manager
echo "# matrix (caller: hostd / dpud):"
for who in $ROWS; do echo "#   $who: ${GOT[hostd $who]} / ${GOT[dpud $who]}"; done
hostd_reborn() {
	[[ $(cat "$LD/h1/run/hostd.pid" 2>/dev/null) != "$old_pid" ]] &&
		DSE_LAB_CMD=$DSE_LAB "$DSECTL" --lab "$P" -H h1 call host.info >/dev/null 2>&1
}
check "the manager's host.reboot rebooted h1: a new hostd answers" wait_until 90 hostd_reborn
finish
