#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# dsectl and the daemons with bad input: one-line errors, exit codes 0/1/2,
# nothing changed by a refused command.
#
#   P-h1: dse-hostd <--ctl socket-- dsectl      P-h1-dpu1: dse-dpud
set -uo pipefail
. "$(dirname "$0")/lib.sh"
require_root
trap cleanup EXIT

P=$(lab_prefix) || exit 1
TMP=$(mktemp -d /tmp/dse-cli.XXXXXX)
TEST_TMPDIRS+=("$TMP")
lab_up "$P" --hosts 1 --dpus 1 >/dev/null || { not_ok "lab up"; finish; exit 1; }

# expect RC DESCRIPTION ARGS...: dsectl exits RC, and on error says one line.
expect() {
	local want=$1 desc=$2 rc lines
	shift 2
	dsectl_on "$P" h1 "$@" >"$TMP/out" 2>"$TMP/err"
	rc=$?
	lines=$(wc -l <"$TMP/err")
	if [[ $rc == "$want" ]] && { ((want == 0)) || ((lines == 1)); }; then
		ok "$desc (exit $rc${lines:+, }$(head -c 80 "$TMP/err" | tr -d '\n'))"
	else
		not_ok "$desc: exit $rc, want $want; stderr: $(cat "$TMP/err")"
	fi
}

expect 0 "portgroup add" portgroup add pg-a --vlan 10
expect 2 "unknown object is a usage error" frobnicate list
expect 2 "unknown command is a usage error" portgroup frob
expect 2 "missing --vlan is a usage error" portgroup add pg-b
expect 2 "non-numeric VLAN is a usage error" portgroup add pg-b --vlan ten
expect 2 "VLAN 4095 is refused by hostd as a usage error" portgroup add pg-b --vlan 4095
expect 2 "bad portgroup name is refused" portgroup add 'bad/name' --vlan 11
expect 1 "a second portgroup of the same name is refused" portgroup add pg-a --vlan 11
expect 1 "a second portgroup on the same VLAN is refused" portgroup add pg-b --vlan 10
expect 1 "vm add to an unknown portgroup fails" vm add vm1 --portgroup nope
expect 2 "vm address outside the lab's ranges is refused" vm add vm1 --portgroup pg-a --ip 203.0.113.5/24
expect 2 "malformed vm address is refused" vm add vm1 --portgroup pg-a --ip 198.18.1.1
expect 2 "multicast vm MAC is refused" vm add vm1 --portgroup pg-a --mac 01:00:5e:00:00:01
expect 2 "over-long vm name is refused" vm add averyverylongname --portgroup pg-a
expect 1 "vm add on a DPU the host lacks fails" vm add vm1 --portgroup pg-a --dpu dpu2
check_eq "refused commands created no VM" 0 "$(dsectl_on "$P" h1 -j vm list | jq length)"
expect 0 "vm add" vm add vm1 --portgroup pg-a --ip 198.18.10.11/24
expect 1 "vm add of an existing name fails" vm add vm1 --portgroup pg-a
expect 1 "portgroup del while a VM uses it fails" portgroup del pg-a
expect 1 "vm del of an unknown VM fails" vm del nope
# A deletion that cannot be saved changes nothing (the state file's directory
# made immutable; skipped where the filesystem has no such attribute).
expect 0 "portgroup add pg-x" portgroup add pg-x --vlan 12
HDIR=$DSE_LAB_DIR/$P/h1
if chattr +i "$HDIR" 2>/dev/null; then
	TEST_CLEANUPS+=("chattr -i $HDIR")
	expect 1 "portgroup del that cannot be saved fails" portgroup del pg-x
	check "... and pg-x is still there" bash -c "DSE_LAB_CMD=$DSE_LAB $DSECTL --lab $P -H h1 -j portgroup list | jq -e '.[] | select(.name == \"pg-x\")' >/dev/null"
	expect 1 "vm del that cannot be saved fails" vm del vm1
	check_eq "... and vm1 is still there" 1 "$(dsectl_on "$P" h1 -j vm list | jq '[.[] | select(.name == "vm1")] | length')"
	chattr -i "$HDIR"
else
	skip_check "portgroup del and vm del that cannot be saved" "chattr +i not supported here"
fi
expect 0 "portgroup del once it can be saved" portgroup del pg-x
expect 2 "switch set without a value is a usage error" switch set
expect 2 "MAC ageing of 0 s is refused" switch set --mac-age 0
check "-j prints valid JSON" bash -c "DSE_LAB_CMD=$DSE_LAB $DSECTL --lab $P -H h1 -j port list | jq -e 'length >= 3' >/dev/null"
check "help lists every object" bash -c "$DSECTL help | grep -q 'dsectl vm add' && $DSECTL help | grep -q 'dsectl port list'"

dsectl_on "$P" h9 dpu list >/dev/null 2>"$TMP/err"
rc=$?
check_eq "a host without hostd: exit 1" 1 "$rc"
check "... with a one-line hint" bash -c "[[ \$(wc -l <$TMP/err) == 1 ]] && grep -q 'cannot reach hostd' $TMP/err"

# The daemons refuse bad options and bad state files, and lose nothing.
"$DSE_BUILD_DIR/daemons/dpud/dse-dpud" --bogus x >/dev/null 2>&1
check_eq "dse-dpud: unknown option exits 2" 2 "$?"
"$DSE_BUILD_DIR/daemons/hostd/dse-hostd" --name x --dir "$TMP" --ctl "$TMP/s" >/dev/null 2>&1
check_eq "dse-hostd: missing certificates exits 2" 2 "$?"
printf '{"portgroups": [' >"$TMP/hostd.json"
cp "$TMP/hostd.json" "$TMP/hostd.json.orig"
LD=$DSE_LAB_DIR/$P/h1/certs
"$DSE_BUILD_DIR/daemons/hostd/dse-hostd" --name x --dir "$TMP" --ctl "$TMP/s" \
	--cert "$LD/cert.pem" --key "$LD/key.pem" --ca "$LD/ca.pem" 2>"$TMP/err" >/dev/null
check_eq "dse-hostd: a corrupt state file stops it with exit 1" 1 "$?"
check "... and a one-line reason" bash -c "[[ \$(wc -l <$TMP/err) == 1 ]] && grep -q 'hostd.json' $TMP/err"
check "... and the file is left as it was" cmp -s "$TMP/hostd.json" "$TMP/hostd.json.orig"
check "a malformed API request gets a bad-request envelope" bash -c \
	"printf '{\"cmd\": 5}\n' | timeout 5 ip netns exec $P-h1 bash -c 'exec 3<>/dev/null' ; \
	 /usr/bin/python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b\"{\\\"cmd\\\": 5}\\n\"); print(s.recv(4096).decode())' $DSE_LAB_DIR/$P/h1/run/hostd.sock | jq -e '.ok == false and .code == \"bad-request\"' >/dev/null"
check "hostd still answers" quiet dsectl_on "$P" h1 dpu list
finish
