#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A VM's firewall connections move with it (issue 15, points 2 and 4): 100
# established TCP connections through a default-deny firewall to a QEMU
# guest, all still working after it live-migrates h1 -> h2, because the
# steps the manager runs carry them: vm.state.export on the source (its
# connections, from its DPU, by its MAC), vm.state.import on the target,
# then vm.migrate.  The same migration h2 -> h3 without them kills every
# connection: the target's firewall has never seen them and denies.  The
# client lives on a fourth host, so that no target DPU sees the connections
# but through the state carried.
#
#   h4-vm1 .41 ── conns-hold.py: 100 TCP connections to web:7 (echo)
#   firewall on every host: default drop; allow .41 -> .12 TCP 7
#   QEMU web .12: h1 -> h2 (with its state) -> h3 (without)
set -uo pipefail
. "$(dirname "$0")/lib.sh"
require_root
require_qemu
trap cleanup EXIT

P=$(lab_prefix lf) || exit 1
T=$(mktemp -d /tmp/dse-migdfw.XXXXXX)
TEST_TMPDIRS+=("$T")
lab_vms "$P" --hosts 4 -- h4-vm1=198.18.10.41 || { not_ok "lab of 4 hosts, a netns VM on h4"; finish; exit 1; }
ds() { local h=$1; shift; dsectl_on "$P" "$h" "$@"; }
GUEST=198.18.10.12
N=100

jq -n '{
  default: "drop",
  groups: [{name: "client", cidrs: ["198.18.10.41/32"]}, {name: "web", cidrs: ["198.18.10.12/32"]}],
  services: [{name: "echo", entries: [{proto: "tcp", ports: ["7"]}]}],
  rules: [{name: "app/echo", src: ["client"], dst: ["web"], services: ["echo"], action: "allow"}]}' >"$T/policy.json"
for h in h1 h2 h3 h4; do
	check "$h: default deny, but h4-vm1 -> web TCP 7" quiet ds "$h" dfw set "$T/policy.json"
done

check "a QEMU guest web on h1" quiet ds h1 vm add web --portgroup pg-a --ip "$GUEST/24" --kind qemu ||
	{ finish; exit 1; }
MAC=$(ds h1 -j vm list | jq -r '.[] | select(.name == "web") | .mac')
echo_ok() { [[ $(echo hi | ip netns exec "$P-h4-vm1" timeout 3 busybox nc "$GUEST" 7 2>/dev/null) == hi ]]; }
check "its echo service answers through the firewall" wait_until 120 echo_ok

mkfifo "$T/ctl"
ip netns exec "$P-h4-vm1" /usr/bin/python3 "$SYSTEST_DIR/conns-hold.py" "$GUEST" 7 "$N" "$T/ctl" 2>"$T/hold.err" &
HOLD=$!
TEST_CLEANUPS+=("kill $HOLD")
check "$N connections to web's echo service" wait_until 60 test -e "$T/ctl.ready"
# probe NAME: every connection says a line; prints how many echo it.
probe() {
	echo "probe $T/$1" >"$T/ctl"
	wait_until 30 test -e "$T/$1" && jq -r .alive "$T/$1"
}
check_eq "all $N echo before the migration" "$N" "$(probe p0)"

# ---- h1 -> h2, its connections with it ----
check "h2: a QEMU that waits for web" quiet ds h2 vm add web --portgroup pg-a --kind qemu --mac "$MAC" --incoming 4801
state=$(ds h1 call vm.state.export '{"name":"web"}')
check "vm.state.export: at least its $N connections" test "$(jq .conns <<<"$state")" -ge "$N"
imp=$(ds h2 call vm.state.import "$(jq -c '{name: "web", state: .state}' <<<"$state")")
echo "# import: $(jq -c .dfw <<<"$imp")"
check "vm.state.import on h2: every one imported" test "$(jq .dfw.imported <<<"$imp")" -ge "$N"
out=$(ds h1 vm migrate web --to h2 --port 4801 2>&1)
echo "# $out"
check "vm migrate h1 -> h2" grep -q "migrated to h2" <<<"$out"
check_eq "all $N connections still echo on h2" "$N" "$(probe p1)"

# ---- h2 -> h3 without them: the target's firewall denies every one ----
check "h3: a QEMU that waits for web" quiet ds h3 vm add web --portgroup pg-a --kind qemu --mac "$MAC" --incoming 4802
drops0=$(ds h3 -j port list | jq '[.[] | .drops.ct_invalid + .drops.policy] | add')
out=$(ds h2 vm migrate web --to h3 --port 4802 2>&1)
echo "# $out"
check "vm migrate h2 -> h3 (no state carried)" grep -q "migrated to h3" <<<"$out"
check_eq "no connection survives it" 0 "$(probe p2)"
check "h3's firewall dropped their segments" test "$(ds h3 -j port list | jq '[.[] | .drops.ct_invalid + .drops.policy] | add')" -gt "$drops0"
check "a new connection is allowed on h3" wait_until 20 echo_ok

echo quit >"$T/ctl"
wait "$HOLD"
finish
