#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# dse-manager's web page in a browser: a headless Chromium driven by
# tests/browser/test-web.py (selenium 4) against the lab's manager.
#
#   root netns: chromium + chromedriver -> 127.0.0.1:PORT (dse-lab-fwd)
#                                  \--> P-mgmt: dse-manager 198.19.0.1:8443
#                                         | mTLS (reconciler)
#                        P-h1: hostd -- dpu1       P-h2: hostd -- dpu1
#
# The page and its libraries are served without a login and nothing else
# (a path out of web/ is refused); the browser logs in, walks the tree to
# h1's DPU and reads real points out of its Chart.js charts, acknowledges
# the alarm that a hot emulated sensor raised (then h1 itself says it is
# acknowledged), and creates a portgroup with the form, which the page then
# shows applied on both hosts (and both hosts have it).  Screenshots are
# kept in $DSE_ARTIFACTS/test-web (default build/artifacts/test-web).  Skipped without
# chromium, chromedriver, python3-selenium or the vendor libraries.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
require_root
for f in /usr/bin/chromium /usr/bin/chromedriver; do
	[[ -x $f ]] || skip "$f missing (scripts/install-deps: chromium chromium-driver)"
done
/usr/bin/python3 -c 'import selenium' 2>/dev/null || skip "python3-selenium missing (scripts/install-deps)"
for f in chart.js/chart.min.js bootstrap5/css/bootstrap.min.css; do
	[[ -r /usr/share/javascript/$f ]] || skip "/usr/share/javascript/$f missing (libjs-chart.js, libjs-bootstrap5)"
done
trap cleanup EXIT

P=$(lab_prefix) || exit 1
TMP=$(mktemp -d /tmp/dse-web.XXXXXX)
TEST_TMPDIRS+=("$TMP")
ART=${DSE_ARTIFACTS:-$REPO_ROOT/build/artifacts}/test-web
PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
lab_up "$P" --hosts 2 --dpus 1 --manager-port "$PORT" >/dev/null || { not_ok "lab up"; finish; exit 1; }
LD=$DSE_LAB_DIR/$P
S=$LD/mgmt/manager
for h in h1 h2; do dsectl_on "$P" "$h" monitor set --interval 1 >/dev/null; done # figures sooner
URL=https://127.0.0.1:$PORT

# get PATH [TOKEN]: prints the HTTP status and the type; the body in $TMP/body.
get() {
	curl -s -o "$TMP/body" -w '%{http_code} %{content_type}' --max-time 10 --path-as-is \
		--cacert "$S/ca/ca.pem" ${2:+-H "Authorization: Bearer $2"} "$URL$1"
}
check_eq "the page, without a login (and a certificate the lab's CA signed)" \
	"200 text/html; charset=utf-8" "$(get /)"
check "... is web/index.html" cmp -s "$TMP/body" "$REPO_ROOT/web/index.html"
check_eq "its script" "200 text/javascript; charset=utf-8" "$(get /app.js)"
check_eq "Chart.js from libjs-chart.js" "200 text/javascript; charset=utf-8" "$(get /vendor/chart.js/chart.min.js)"
check_eq "Bootstrap from libjs-bootstrap5" "200 text/css; charset=utf-8" "$(get /vendor/bootstrap5/css/bootstrap.min.css)"
for p in /../../../etc/passwd /vendor/chart.js/../../../../etc/passwd /%2e%2e/%2e%2e/etc/passwd /.git/config /vendor/jquery/jquery.js; do
	check_eq "nothing out of web/ and the two libraries: $p" 404 "$(get "$p" | cut -d' ' -f1)"
done
check_eq "the page is GET only" 405 "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$S/ca/ca.pem" -X POST "$URL/")"
check_eq "the API still wants its token" 401 "$(get /api/v1/hosts | cut -d' ' -f1)"

# The inventory the browser walks: dc1 > c1 > h1, h2 (and their DPUs), s1.
T=$(curl -s --cacert "$S/ca/ca.pem" -d "{\"user\":\"admin\",\"password\":\"$(cat "$S/admin-password")\"}" \
	"$URL/api/v1/login" | jq -r .token)
post() {
	curl -s -o /dev/null -w '%{http_code}' --cacert "$S/ca/ca.pem" -H "Authorization: Bearer $T" \
		-d "$2" "$URL/api/v1/$1"
}
for o in 'datacenters {"name":"dc1","spec":{}}' 'clusters {"name":"c1","spec":{"datacenter":"dc1"}}' \
	"hosts {\"name\":\"h1\",\"spec\":{\"cluster\":\"c1\",\"address\":\"198.19.0.11\",\"cn\":\"$P-h1\"}}" \
	"hosts {\"name\":\"h2\",\"spec\":{\"cluster\":\"c1\",\"address\":\"198.19.0.12\",\"cn\":\"$P-h2\"}}" \
	'dpus {"name":"h1/dpu1","spec":{}}' 'dpus {"name":"h2/dpu1","spec":{}}' \
	'switches {"name":"s1","spec":{"datacenter":"dc1"}}' 'vms {"name":"vm1","spec":{"host":"h1"}}'; do
	check_eq "create ${o%% *} $(jq -r .name <<<"${o#* }")" 201 "$(post "${o%% *}" "${o#* }")"
done

# A hot DPU: dpu-temperature (critical at 95 C, for 5 s) turns red on h1.
A=dpu-temperature@dpu1/temp1
alarm_red() {
	curl -s --cacert "$S/ca/ca.pem" -H "Authorization: Bearer $T" "$URL/api/v1/alarms?host=h1" |
		jq -e --arg id "$A" 'any(.items[]; .id == $id and .state == "red" and (.acknowledged | not))' >/dev/null
}
quiet lab sensor --prefix "$P" h1-dpu1 temp1 97
check "h1-dpu1 at 97 C: the manager shows $A red" wait_until 40 alarm_red

echo "# tests/browser/test-web.py (screenshots in $ART)"
/usr/bin/python3 "$REPO_ROOT/tests/browser/test-web.py" --url "$URL/" --user admin \
	--password-file "$S/admin-password" --artifacts "$ART" --alarm-host h1 --alarm "$A" \
	--dpu h1/dpu1 --hosts h1,h2 --portgroup s1/pg-web --vlan 77 | tee "$TMP/browser"
rc=${PIPESTATUS[0]}
# The browser's checks were counted from its "ok"/"not ok" lines: fold them in.
N_CHECKS=$((N_CHECKS + $(grep -c '^ok - \|^not ok - ' "$TMP/browser")))
N_FAILED=$((N_FAILED + $(grep -c '^not ok - ' "$TMP/browser")))
check_eq "the browser test ran to its end" 0 "$rc"
check "... and left its screenshots" bash -c "ls '$ART'/*-dpu.png '$ART'/*-host-applied.png >/dev/null"

# What the page did, seen on the hosts themselves.
acked_on_h1() { dsectl_on "$P" h1 -j alarm list | jq -e --arg id "$A" 'any(.[]; .id == $id and .acknowledged)' >/dev/null; }
check "dsectl -H h1 alarm list: the ack reached h1" acked_on_h1
pg_on_host() { dsectl_on "$P" "$1" -j portgroup list | jq -e 'any(.[]; .name == "pg-web" and .vlan == 77)' >/dev/null; }
for h in h1 h2; do
	check "dsectl -H $h portgroup list: pg-web (VLAN 77), created in the page" wait_until 15 pg_on_host "$h"
done
quiet lab sensor --prefix "$P" h1-dpu1 temp1 45

check "down" quiet lab_down "$P"
check_eq "no process left in $P" "" "$(lab_procs "$P")"
finish
