#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Live migration of a QEMU guest (issue 15, point 2, the QEMU part): a real
# QEMU live migration between a QEMU on h1 and one on h2, over the
# management network, while dpud on the source DPU logs the guest memory it
# writes (VHOST_F_LOG_ALL, SET_LOG_BASE with a memfd: the dirty log), QEMU
# hands the rings over (GET/SET_VRING_BASE) and the target DPU announces the
# guest (SEND_RARP).  The guest keeps one TCP connection busy and answers a
# ping every 10 ms while it moves h1 -> h2 -> h1.  A migration to a host
# where nothing waits is refused; one whose target QEMU dies half-way fails
# and leaves the guest running where it was.
#
#   h2-vm1 .21 (netns) ── echo-hold.py: TCP to web:7, a line every 20 ms
#        │                ping -i 0.01 web
#   [h2-dpu1] ── fabric ── [h1-dpu1]
#    rep-web (vhost-user)   rep-web (vhost-user)
#    QEMU web (incoming) <── migration, 198.19.0.11 -> 198.19.0.12:PORT ── QEMU web
set -uo pipefail
. "$(dirname "$0")/lib.sh"
require_root
require_qemu
trap cleanup EXIT

P=$(lab_prefix lm) || exit 1
T=$(mktemp -d /tmp/dse-migrate.XXXXXX)
TEST_TMPDIRS+=("$T")
lab_vms "$P" --hosts 2 -- h2-vm1=198.18.10.21 || { not_ok "lab with a netns VM on h2"; finish; exit 1; }
ds() { local h=$1; shift; dsectl_on "$P" "$h" "$@"; }
D=$DSE_LAB_DIR/$P
GUEST=198.18.10.12

check "a QEMU guest web on h1" quiet ds h1 vm add web --portgroup pg-a --ip "$GUEST/24" --kind qemu ||
	{ finish; exit 1; }
MAC=$(ds h1 -j vm list | jq -r '.[] | select(.name == "web") | .mac')
check "h2-vm1 reaches it" wait_until 90 ping_ok "$P-h2-vm1" "$GUEST"

# The load: a TCP connection kept busy and a ping every 10 ms, all along.
# (ip netns exec execs: $! is the program itself)
ip netns exec "$P-h2-vm1" /usr/bin/python3 "$SYSTEST_DIR/echo-hold.py" "$GUEST" 7 "$T/stop" "$T/echo" &
ECHO_PID=$!
ip netns exec "$P-h2-vm1" ping -i 0.01 -W 1 "$GUEST" >"$T/ping" 2>&1 &
PING_PID=$!
TEST_CLEANUPS+=("kill $ECHO_PID $PING_PID")
check "the TCP connection to web's echo service is up" wait_until 20 test -e "$T/echo.ready"

qemu_pid() { cat "$D/$1-web/run/qemu.pid" 2>/dev/null; }
where() { local h; for h in h1 h2; do ds "$h" -j vm list | jq -e '.[] | select(.name == "web")' >/dev/null && echo "$h"; done; }
port_gone() { [[ -z $(ds "$1" -j port list | jq -r '.[] | select(.name == "rep-web") | .name') ]]; }

# migrate FROM TO PORT: web from FROM to TO, as the manager will do it.
migrate() {
	local from=$1 to=$2 port=$3 src out
	src=$(qemu_pid "$from")
	check "$to: a QEMU that waits for web (vm add --incoming $port)" \
		quiet ds "$to" vm add web --portgroup pg-a --kind qemu --mac "$MAC" --incoming "$port"
	out=$(ds "$from" vm migrate web --to "$to" --port "$port" 2>&1)
	echo "# $out"
	check "vm migrate web $from -> $to completes" grep -q "migrated to $to in" <<<"$out"
	check_eq "web is configured on $to only" "$to" "$(where | tr '\n' ' ' | sed 's/ $//')"
	check "the source QEMU is gone" wait_until 10 test ! -d "/proc/${src:-0}"
	check "the source DPU let go of rep-web" wait_until 10 port_gone "$from"
	check "the source DPU logged the guest memory it wrote while the migration ran" \
		grep -qE "port=rep-web: dirty logging off \([1-9][0-9]* writes logged" "$D/$from-dpu1/log/dpud.log"
	check "the target DPU announced the guest (RARP)" bash -c \
		"(( \$(DSE_LAB_CMD=$DSE_LAB $DSECTL --lab $P -H $to -j port list | jq '.[] | select(.name == \"rep-web\") | .vhost.rarps') > 0 ))"
	check "h2-vm1 reaches web on $to" wait_until 10 ping_ok "$P-h2-vm1" "$GUEST"
	check "the TCP connection is still busy" kill -0 "$ECHO_PID"
}

migrate h1 h2 4701
migrate h2 h1 4702

# ---- refused: nothing waits on the target ----
out=$(ds h1 vm migrate web --to h2 --port 4703 2>&1)
check "a migration to a host where nothing waits is refused, saying so" \
	grep -q "nothing waits for web on h2, TCP port 4703" <<<"$out"
out=$(ds h1 vm migrate web --to h9 --port 4703 2>&1)
check "... and one to a host that does not exist" grep -q "no host h9" <<<"$out"
check_eq "web still runs on h1" h1 "$(where)"

# ---- the target QEMU dies half-way: the guest runs on where it was ----
check "h2: a QEMU that waits for web" quiet ds h2 vm add web --portgroup pg-a --kind qemu --mac "$MAC" --incoming 4704
n0=$(grep -c "dirty logging on" "$D/h1-dpu1/log/dpud.log")
ds h1 vm migrate web --to h2 --port 4704 --bandwidth 2 >"$T/mig" 2>&1 &
MIG=$!
sent() { (($(grep -c "dirty logging on" "$D/h1-dpu1/log/dpud.log") > n0)); }
check "the migration runs (h1's DPU logs dirty pages)" wait_until 30 sent
kill -KILL "$(qemu_pid h2)"
wait "$MIG"
check "the migration fails, saying where the guest runs" grep -q "failed, it runs on h1" "$T/mig"
sed 's/^/# /' "$T/mig"
check_eq "web is still configured on h1" h1 "$(ds h1 -j vm list | jq -r '.[] | select(.name == "web") | "h1"')"
check "h2-vm1 still reaches web on h1" wait_until 20 ping_ok "$P-h2-vm1" "$GUEST"
check "dirty logging stopped on h1's DPU" wait_until 10 bash -c \
	"[[ \$(DSE_LAB_CMD=$DSE_LAB $DSECTL --lab $P -H h1 -j port list | jq '.[] | select(.name == \"rep-web\") | .vhost.dirty_log.logging') == false ]]"
check "h2 lets go of the VM that never came (vm del)" quiet ds h2 vm del web

# ---- the TCP connection lived through all of it ----
touch "$T/stop"
wait "$ECHO_PID"
kill -INT "$PING_PID" 2>/dev/null
wait "$PING_PID" 2>/dev/null
echo "# echo: $(cat "$T/echo")"
echo "# ping: $(grep -E 'transmitted' "$T/ping")"
check_eq "the TCP connection survived both migrations and the failed one" true "$(jq -r .ok "$T/echo")"
check "... and carried echoes all along" test "$(jq -r .echoes "$T/echo")" -gt 100

finish
