#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# dsectl support-bundle: the host's and both DPUs' logs, configuration, boot
# history and versions in one .tgz; each DPU's part over the internal network
# while its dpud answers, through the out-of-band path (its device directory,
# as a BMC console would give it) once dpud is dead; never a private key;
# bad arguments and an existing file refused.
#
#   dsectl --ctl--> P-h1: dse-hostd --internal network, mTLS--> P-h1-dpu1: dse-dpud
#                        |                                 \--> P-h1-dpu2: dse-dpud
#                        +--oob (--dpu-oob dpuM=DEVDIR)--> $DSE_LAB_DIR/P/h1-dpu{1,2}/
set -uo pipefail
. "$(dirname "$0")/lib.sh"
require_root
trap cleanup EXIT

P=$(lab_prefix) || exit 1
TMP=$(mktemp -d /tmp/dse-support.XXXXXX)
TEST_TMPDIRS+=("$TMP")
lab_up "$P" --hosts 1 --dpus 2 >/dev/null || { not_ok "lab up"; finish; exit 1; }

# expect RC DESCRIPTION ARGS...: dsectl exits RC, and on error says one line.
expect() {
	local want=$1 desc=$2 rc lines
	shift 2
	dsectl_on "$P" h1 "$@" >"$TMP/out" 2>"$TMP/err"
	rc=$?
	lines=$(wc -l <"$TMP/err")
	if [[ $rc == "$want" ]] && { ((want == 0)) || ((lines == 1)); }; then
		ok "$desc (exit $rc${lines:+, }$(head -c 100 "$TMP/err" | tr -d '\n'))"
	else
		not_ok "$desc: exit $rc, want $want; stderr: $(head -c 600 "$TMP/err")"
	fi
}

# sources F DEVICE: the distinct sources of DEVICE's parts in bundle F's index.
sources() {
	tar xzOf "$1" index.json | jq -r --arg d "$2" '[.parts[] | select(.device == $d) | .source] | unique | join(",")'
}

# has_part F PATH: PATH is in bundle F and is not empty.
has_part() { [[ -n $(tar xzOf "$1" "$2" 2>/dev/null | head -c 1) ]]; }

no_private_key() {
	local n
	n=$(tar xzOf "$1" | grep -c 'PRIVATE KEY')
	[[ $n == 0 ]] && ! tar tzf "$1" | grep -qiE 'key\.pem|\.key$|/root/'
}

# A desired state for hostd.json to hold.
quiet dsectl_on "$P" h1 portgroup add pg-a --vlan 10 || not_ok "portgroup add"

B1=$TMP/one.tgz
expect 0 "support-bundle writes a bundle" support-bundle -o "$B1"
sed 's/^/# /' "$TMP/out"
check "it is a gzip'd tar" quiet tar tzf "$B1"
check_eq "index.json comes first" index.json "$(tar tzf "$B1" | head -n1)"
check_eq "the file is the operator's alone (0600)" 600 "$(stat -c %a "$B1")"
check_eq "the host's parts are local" local "$(sources "$B1" host)"
check_eq "dpu1's parts came over the internal network" internal-network "$(sources "$B1" dpu1)"
check_eq "dpu2's parts came over the internal network" internal-network "$(sources "$B1" dpu2)"
check "one line per device says where it came from" bash -c \
	"grep -qE '^host +local ' $TMP/out && grep -qE '^dpu1 +internal-network ' $TMP/out && grep -qE '^dpu2 +internal-network ' $TMP/out"
for d in host dpu1 dpu2; do
	log=dpud.log
	[[ $d == host ]] && log=hostd.log
	check "$d: its daemon's log" has_part "$B1" "$d/log/$log"
	check "$d: its boot history" has_part "$B1" "$d/boot/history"
	[[ $d == host ]] || check "$d: its platform identity" has_part "$B1" "$d/platform.json"
	check "$d: its versions (bank A holds the factory image)" bash -c \
		"tar xzOf $B1 $d/versions.json | jq -e '.banks.A.version | length > 0' >/dev/null"
done
check "the host's desired state (hostd.json)" bash -c \
	"tar xzOf $B1 host/hostd.json | jq -e '.portgroups[] | select(.name == \"pg-a\")' >/dev/null"
check "the host's live state lists both DPUs ready" bash -c \
	"tar xzOf $B1 host/state/dpu.list.json | jq -e '[.[] | select(.state == \"ready\")] | length == 2' >/dev/null"
check "every part in the index is in the archive" bash -c \
	"diff <(tar xzOf $B1 index.json | jq -r '.parts[].path' | sort) <(tar tzf $B1 | grep -v '^index.json$' | sort) >/dev/null"
check "no private key anywhere in the bundle" no_private_key "$B1"
check_eq "nothing failed" 0 "$(tar xzOf "$B1" index.json | jq '.errors | length')"
check "dpud logs who collected" grep -q 'support: collected' "$DSE_LAB_DIR/$P/h1-dpu1/log/dpud.log"

# dpu2's agent dies: its part now comes through the out-of-band path, and
# shows why; dpu1 still answers over the internal network.
stop_daemon "$P" h1-dpu2 dpud
B2=$TMP/two.tgz
expect 0 "support-bundle with dpu2's dpud dead" support-bundle -o "$B2"
sed 's/^/# /' "$TMP/out"
check_eq "dpu2's parts came through oob" oob "$(sources "$B2" dpu2)"
check_eq "dpu1's parts still came over the internal network" internal-network "$(sources "$B2" dpu1)"
check "dsectl says so, and why" grep -qE '^dpu2 +oob .*internal network' "$TMP/out"
check "the index says why not the internal network" bash -c \
	"tar xzOf $B2 index.json | jq -e '.devices[] | select(.device == \"dpu2\") | .reason | test(\"internal network\")' >/dev/null"
check "dpu2's log came through oob, with dpud's last words" bash -c \
	"tar xzOf $B2 dpu2/log/dpud.log | grep -q stopped"
check "dpu2's boot history and versions came through oob" bash -c \
	"tar xzOf $B2 dpu2/boot/history >/dev/null && tar xzOf $B2 dpu2/versions.json | jq -e .banks.A >/dev/null"
check "no private key through oob either" no_private_key "$B2"

# dpu1's internal link cut too (dpud alive, unreachable): through oob.
ip -n "$P-h1" link set int-dpu1 down
expect 0 "support-bundle with dpu1's internal link down" support-bundle -o "$TMP/three.tgz"
sed 's/^/# /' "$TMP/out"
check_eq "dpu1's parts came through oob" oob "$(sources "$TMP/three.tgz" dpu1)"
ip -n "$P-h1" link set int-dpu1 up

# dpu1's dpud hung (SIGSTOP): it accepts connections but never answers, so
# the heartbeat times out (1 s) and the part comes through oob within
# seconds, not after the collection's own timeout.
pid=$(daemon_pid "$P" h1-dpu1 dpud)
kill -STOP "$pid"
TEST_CLEANUPS+=("kill -CONT $pid")
t0=$(now_ms)
expect 0 "support-bundle with dpu1's dpud hung" support-bundle -o "$TMP/four.tgz"
t1=$(now_ms)
kill -CONT "$pid"
sed 's/^/# /' "$TMP/out"
check_eq "dpu1's parts came through oob" oob "$(sources "$TMP/four.tgz" dpu1)"
check "... within 15 s ($((t1 - t0)) ms)" test $((t1 - t0)) -lt 15000
check "dpu1 answers again over the internal network" bash -c \
	"DSE_LAB_CMD=$DSE_LAB $DSECTL --lab $P -H h1 support-bundle -o $TMP/five.tgz >/dev/null && tar xzOf $TMP/five.tgz index.json | jq -e '.devices[] | select(.device == \"dpu1\") | .source == \"internal-network\"' >/dev/null"

# Bad arguments and an existing file.
expect 2 "no -o is a usage error" support-bundle
expect 2 "-o without a file is a usage error" support-bundle -o
expect 2 "an unknown argument is a usage error" support-bundle -o "$TMP/x.tgz" --bogus
check "... and wrote nothing" bash -c "! ls $TMP/x.tgz* 2>/dev/null"
cp "$B1" "$TMP/keep"
expect 1 "-o onto an existing file is refused" support-bundle -o "$B1"
check "... and leaves it as it was" cmp -s "$B1" "$TMP/keep"
check "... with no temporary file left" bash -c "! ls $B1.tmp-* 2>/dev/null"
expect 0 "--force replaces it" support-bundle -o "$B1" --force
check "... with a new bundle" bash -c "! cmp -s $B1 $TMP/keep && tar tzf $B1 | grep -q '^dpu2/'"
expect 1 "-o into a missing directory fails" support-bundle -o "$TMP/nope/b.tgz"
check "-j prints the index" bash -c \
	"DSE_LAB_CMD=$DSE_LAB $DSECTL --lab $P -H h1 -j support-bundle -o $TMP/j.tgz | jq -e '.devices | length == 3' >/dev/null"
check "hostd still answers" quiet dsectl_on "$P" h1 dpu list

# hostd refuses a bad --dpu-oob at start, on one line, exit 2.
LD=$DSE_LAB_DIR/$P/h1/certs
hostd_args() {
	"$DSE_BUILD_DIR/daemons/hostd/dse-hostd" --name x --dir "$TMP" --ctl "$TMP/s" \
		--cert "$LD/cert.pem" --key "$LD/key.pem" --ca "$LD/ca.pem" \
		--dpu dpu1=169.254.9.2:7443,cn=x "$@" >/dev/null 2>"$TMP/err"
	local rc=$?
	[[ $rc == 2 && $(wc -l <"$TMP/err") == 1 ]] || { echo "# exit $rc: $(cat "$TMP/err")"; return 1; }
}
check "dse-hostd: --dpu-oob without =DIR exits 2" hostd_args --dpu-oob dpu1
check "dse-hostd: --dpu-oob of an unknown DPU exits 2" hostd_args --dpu-oob dpu3=/tmp
check "dse-hostd: --dpu-oob twice exits 2" hostd_args --dpu-oob dpu1=/a --dpu-oob dpu1=/b
finish
