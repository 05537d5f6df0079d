#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The image lifecycle on a lab server (issue 4): factory images in bank A,
# `dsectl software install|update|list|rollback`, `dsectl host reboot`, the
# dual-DPU rules, refused images that write nothing, and the rollback table of
# the product description counted in rounds of reboots:
#   (a) both DPUs fine, host fails: 2   (b) both DPUs fail, host fine: 1
#   (c) one DPU older: 2                (d) one DPU older and host fails: 2
set -uo pipefail
. "$(dirname "$0")/lib.sh"
require_root
trap cleanup EXIT

P=$(lab_prefix) || exit 1
T=$(mktemp -d) && TEST_TMPDIRS+=("$T")
D=$DSE_LAB_DIR/$P
KEYS=$DSE_BUILD_DIR/bundle/keys
sw() { dsectl_on "$P" h1 "$@"; }
# versions V: every device's active version, "device=version ...".
versions() { sw -j software list | jq -r '[.[] | "\(.device | sub(".*-"; ""))=\(.active_version)"] | join(" ")'; }
all_on() { # VERSION [2]: every device (of 1 or 2 DPUs) runs VERSION
	local v
	v=$(versions)
	[[ $v == "h1=$1 dpu1=$1${2:+ dpu2=$1}" ]] || { echo "# versions: $v" >&2; return 1; }
}
pending() { sw -j software list | jq -r '[.[] | .pending // "-"] | join(" ")'; }
mkimage() { "$REPO_ROOT/scripts/make-bundle" --bin-dir "$DSE_BUILD_DIR" --version "$1" -o "$T/$1.dsebundle" >/dev/null; }
# A digest of every bank of every device: what "nothing written" compares.
banks_digest() { (cd "$D" && find . -path '*/banks/*' -printf '%p %s\n' | sort | sha256sum); }
reboots() { grep -o '[0-9]* rounds\? of reboots' <<<"$1" | cut -d' ' -f1; }

lab_up "$P" --hosts 1 --dpus 1 >/dev/null || { not_ok "lab up"; finish; exit 1; }
factory=$(jq -r .version "$D/h1/banks/A/bank.json")
check "factory image in bank A of every device" all_on "$factory"
check_eq "nothing pending" "- -" "$(pending)"
check "the daemons run from bank A" grep -q "$D/h1-dpu1/banks/A/root/bin/dse-dpud" "/proc/$(daemon_pid "$P" h1-dpu1 dpud)/cmdline"

mkimage 0.2.0 && mkimage 0.3.0 && mkimage 0.4.0 || { not_ok "make-bundle"; finish; exit 1; }

# --- refusals: one line, nothing written ----------------------------------
before=$(banks_digest)
refuse() { # NAME FILE PATTERN [ARGS]
	local name=$1 file=$2 pat=$3 out
	shift 3
	out=$(sw software install --bundle "$file" "$@" 2>&1)
	local rc=$?
	echo "# $name: $out"
	check "refused: $name (exit 1)" test "$rc" = 1
	check "... one line that says why ($pat)" bash -c '[[ $(wc -l <<<"$1") == 1 ]] && grep -q -- "$2" <<<"$1"' _ "$out" "$pat"
}
mkdir -p "$T/src/bin" && echo x >"$T/src/bin/x"
"$DSE_BUILD_DIR/tools/bundle/dse-bundle" build --name dse --version 0.9.0 \
	--component "host/x86_64=$T/src" --component "dpu/dse-lab/vdpu-2=$T/src" -o "$T/unsigned.dsebundle" >/dev/null
refuse "unsigned image" "$T/unsigned.dsebundle" "not signed"
"$DSE_BUILD_DIR/tools/bundle/dse-bundle" keygen --out-dir "$T/other" >/dev/null
cp "$T/0.2.0.dsebundle" "$T/wrongkey.dsebundle"
"$DSE_BUILD_DIR/tools/bundle/dse-bundle" sign --key "$T/other/dse-bundle.key" "$T/wrongkey.dsebundle" >/dev/null
refuse "signed by another key" "$T/wrongkey.dsebundle" "signature"
size=$(stat -c %s "$T/0.2.0.dsebundle")
head -c $((size / 2)) "$T/0.2.0.dsebundle" >"$T/truncated.dsebundle"
refuse "truncated image" "$T/truncated.dsebundle" "refused"
cp "$T/0.2.0.dsebundle" "$T/corrupt.dsebundle"
printf '\xff\xff\xff\xff' | dd of="$T/corrupt.dsebundle" bs=1 seek=$((size - 4096)) conv=notrunc status=none
refuse "corrupted payload" "$T/corrupt.dsebundle" "refused"
mkdir -p "$T/h/bin" && cp "$DSE_BUILD_DIR/daemons/hostd/dse-hostd" "$T/h/bin/"
"$DSE_BUILD_DIR/tools/bundle/dse-bundle" build --name dse --version 0.9.0 --component "host/x86_64=$T/h" \
	--key "$KEYS/dse-bundle.key" -o "$T/hostonly.dsebundle" >/dev/null
refuse "no component for the DPU" "$T/hostonly.dsebundle" "no component for dpu/dse-lab/vdpu-2"
"$DSE_BUILD_DIR/tools/bundle/dse-bundle" build --name dse --version 0.9.0 --component "dpu/dse-lab/vdpu-2=$T/h" \
	--key "$KEYS/dse-bundle.key" -o "$T/dpuonly.dsebundle" >/dev/null
refuse "no component for the host (host and DPU content never apart)" "$T/dpuonly.dsebundle" "no component for host/x86_64"
# Hostile archives signed with the right key (the manifest and its signature
# are genuine, the tar around them is not), a tampered manifest, a bomb.
mkdir -p "$T/h2/bin" && echo payload >"$T/h2/bin/x"
"$DSE_BUILD_DIR/tools/bundle/dse-bundle" build --name dse --version 0.9.0 --component "host/x86_64=$T/h2" \
	--component "dpu/dse-lab/vdpu-2=$T/h2" --key "$KEYS/dse-bundle.key" -o "$T/good.dsebundle" >/dev/null
hostile() { # KIND OUT: rewrite good.dsebundle's tar
	/usr/bin/python3 - "$T/good.dsebundle" "$2" "$1" <<'PYEOF'
import io, sys, tarfile
src, out, kind = sys.argv[1:]
tin, tout = tarfile.open(src), tarfile.open(out, "w", format=tarfile.PAX_FORMAT)
for m in tin.getmembers():
    data = tin.extractfile(m).read() if m.isfile() else None
    if m.name == "manifest.json" and kind == "tampered":
        data = data.replace(b'"0.9.0"', b'"9.9.9"')
        m.size = len(data)
    if m.name == "payload/host/x86_64/bin/x":
        if kind == "dotdot":
            m.name = "payload/host/x86_64/../../../../tmp/dse-evil"
        elif kind == "absolute":
            m.name = "/tmp/dse-evil"
        elif kind == "symlink":
            m.type, m.linkname, m.size, data = tarfile.SYMTYPE, "/etc/passwd", 0, None
        elif kind == "hardlink":
            m.type, m.linkname, m.size, data = tarfile.LNKTYPE, "manifest.json", 0, None
    tout.addfile(m, io.BytesIO(data) if data is not None else None)
tout.close()
PYEOF
}
for kind in tampered dotdot absolute symlink hardlink; do hostile "$kind" "$T/$kind.dsebundle"; done
refuse "tampered manifest" "$T/tampered.dsebundle" "signature"
refuse "an entry with .." "$T/dotdot.dsebundle" "refused"
refuse "an absolute entry" "$T/absolute.dsebundle" "refused"
refuse "a symlink entry" "$T/symlink.dsebundle" "refused"
refuse "a hard link entry" "$T/hardlink.dsebundle" "refused"
check "nothing written outside the banks either" test ! -e /tmp/dse-evil
mkdir -p "$T/bomb/bin" && truncate -s 300M "$T/bomb/bin/zeros"
"$DSE_BUILD_DIR/tools/bundle/dse-bundle" build --name dse --version 0.9.0 --zstd --component "host/x86_64=$T/bomb" \
	--component "dpu/dse-lab/vdpu-2=$T/bomb" --key "$KEYS/dse-bundle.key" -o "$T/bomb.dsebundle" >/dev/null
echo "# bomb: $(stat -c %s "$T/bomb.dsebundle") bytes that inflate to 2 x 300 MiB"
rm -rf "$T/bomb"
refuse "a decompression bomb" "$T/bomb.dsebundle" "refused"
out=$(sw software update --bundle "$T/0.2.0.dsebundle" --dry-run 2>&1)
check "dry run: every check passes" grep -q "dry run: all checks pass" <<<"$out"
check_eq "refusals and the dry run wrote nothing to any bank" "$before" "$(banks_digest)"
check "no staging left anywhere" bash -c "! ls -d $D/*/banks/.staging $D/*/banks/.incoming 2>/dev/null | grep -q ."

# --- install, progress, reboot --------------------------------------------
out=$(sw software install --bundle "$T/0.2.0.dsebundle")
echo "$out" | sed 's/^/# /'
check "install 0.2.0: progress per device" grep -q "dpu1 .*done *100%" <<<"$out"
check_eq "pending on every device" "B B" "$(pending)"
check "still running the factory image" all_on "$factory"
out=$(sw host reboot 2>&1)
check "dsectl host reboot comes back" grep -q "^dpu1 *B *0.2.0" <<<"$out"
check "every device on 0.2.0" all_on 0.2.0
check "the daemons run from bank B" grep -q "$D/h1-dpu1/banks/B/root/bin/dse-dpud" "/proc/$(daemon_pid "$P" h1-dpu1 dpud)/cmdline"
out=$(sw software update --bundle "$T/0.2.0.dsebundle" 2>&1)
check "update to the running version refused" grep -q "not newer than the running 0.2.0" <<<"$out"

# --- dual-DPU rules -------------------------------------------------------
# A second DPU appears (the host is restarted with it): an upgrade is refused
# until host and all DPUs are installed fresh.
stop_daemon "$P" h1 hostd
lab_up "$P" --hosts 1 --dpus 2 >/dev/null
out=$(sw software install --bundle "$T/0.3.0.dsebundle" 2>&1)
check "DPU set changed: refused" grep -q "DPUs changed since the last install (dpu2 added).*--fresh" <<<"$out"
# Two DPUs that differ are refused, fresh or not.
cp "$D/h1-dpu2/platform.json" "$T/platform.json"
jq '.firmware = "9.9.9"' "$T/platform.json" >"$D/h1-dpu2/platform.json"
stop_daemon "$P" h1-dpu2 dpud
lab_up "$P" --hosts 1 --dpus 2 >/dev/null
out=$(sw software install --bundle "$T/0.3.0.dsebundle" --fresh 2>&1)
check "DPUs not identical: refused" grep -q "must be identical: .*firmware" <<<"$out"
cp "$T/platform.json" "$D/h1-dpu2/platform.json"
stop_daemon "$P" h1-dpu2 dpud
lab_up "$P" --hosts 1 --dpus 2 >/dev/null
check "install --fresh on host and both DPUs" quiet sw software install --bundle "$T/0.3.0.dsebundle" --fresh
out=$(lab reboot --prefix "$P" h1)
check_eq "reboot after the fresh install: 1 round" 1 "$(reboots "$out")"
check "every device on 0.3.0" all_on 0.3.0 2

# --- host and DPUs staged in parallel; --serial one after another ---------
out=$(sw -j software install --bundle "$T/0.4.0.dsebundle")
check "install -j: ok, with its time" jq -e '.state == "ok" and .elapsed_ms > 0 and .serial == false' <<<"$out"
check "host and both DPUs staged in parallel (each began before any finished)" \
	jq -e '(.devices | length) == 3 and ([.devices[].stage_begin_ms] | max) <= ([.devices[].stage_end_ms] | min)' <<<"$out"
out=$(sw -j software install --serial --bundle "$T/0.4.0.dsebundle")
check "install --serial: one device after another" \
	jq -e '.state == "ok" and .serial and (.devices | sort_by(.stage_begin_ms) | . as $d
		| [range(1; length) | $d[.].stage_begin_ms >= $d[. - 1].stage_end_ms] | all)' <<<"$out"
check_eq "... pending on every device (the other bank)" "A A A" "$(pending)"

# --- the rollback table -----------------------------------------------------
# Each case installs 0.4.0 into the alternate banks, breaks some of them
# (a flipped byte: early boot's verification fails) and reboots the server.
flip_byte() { # FILE OFFSET: that byte + 1
	local b
	b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	printf "\\$(printf %o $(((b + 1) % 256)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
corrupt() { # DEV...: the pending bank's dse-* binary gets one byte changed
	local dev bank f
	for dev in "$@"; do
		bank=$(jq -r .pending <(DSE_LAB_DIR=$DSE_LAB_DIR "$DSE_BUILD_DIR/tools/boot/dse-boot" status --dev "$D/$dev"))
		f=$(ls "$D/$dev/banks/$bank/root/bin/dse-"* | head -n1)
		flip_byte "$f" 1000
	done
}
table_case() { # NAME ROUNDS DEV...
	local name=$1 want=$2 out
	shift 2
	sw software install --bundle "$T/0.4.0.dsebundle" >/dev/null || { not_ok "$name: install"; return; }
	corrupt "$@"
	out=$(lab reboot --prefix "$P" h1)
	check_eq "$name: rounds of reboots" "$want" "$(reboots "$out")"
	check "$name: one version everywhere (0.3.0)" all_on 0.3.0 2
	check_eq "$name: nothing pending" "- - -" "$(pending)"
}
table_case "(a) both DPUs fine, host fails" 2 h1
table_case "(b) both DPUs fail, host fine" 1 h1-dpu1 h1-dpu2
table_case "(c) one DPU boots an older version" 2 h1-dpu2
table_case "(d) one DPU older and the host fails" 2 h1-dpu2 h1
out=$(sw -j software list)
check "software list: the host's last boot rolled back, with the reason" \
	bash -c 'jq -e ".[0].last_result == \"rolled-back\" and (.[0].last_reason | test(\"SHA-256 mismatch\"))" <<<"$1" >/dev/null' _ "$out"

# --- manual rollback --------------------------------------------------------
sw software install --bundle "$T/0.4.0.dsebundle" >/dev/null
lab reboot --prefix "$P" h1 >/dev/null
check "upgraded to 0.4.0" all_on 0.4.0 2
out=$(sw software rollback)
check "software rollback: next boot 0.3.0" grep -q "back to 0.3.0" <<<"$out"
sw host reboot >/dev/null
check "after the reboot every device on 0.3.0" all_on 0.3.0 2
out=$(lab reboot --prefix "$P" h1 --rollback)
check_eq "a key pressed at boot (reboot --rollback): 1 round" 1 "$(reboots "$out")"
check "... every device back on 0.4.0" all_on 0.4.0 2

# --- a full disk during staging ------------------------------------------
mkdir -p "$T/small"
if mount -t tmpfs -o size=256k tmpfs "$T/small" 2>/dev/null; then
	TEST_CLEANUPS+=("umount '$T/small'")
	before=$(banks_digest)
	mv "$D/h1-dpu2/banks" "$T/banks.save" && mkdir "$T/small/banks" && cp -a "$T/banks.save/." "$T/small/banks/" 2>/dev/null
	rm -rf "$T/small/banks" && mkdir "$T/small/banks"
	ln -s "$T/small/banks" "$D/h1-dpu2/banks"
	out=$(sw software install --bundle "$T/0.2.0.dsebundle" 2>&1)
	check "full disk on dpu2: the install fails and names it" grep -q "dpu2.*space" <<<"$out"
	rm "$D/h1-dpu2/banks" && mv "$T/banks.save" "$D/h1-dpu2/banks"
	check_eq "... every other device as it was (no pending flag)" "- - -" "$(pending)"
	check_eq "... and their banks unchanged" "$before" "$(banks_digest)"
else
	skip_check "full disk on dpu2" "cannot mount a small tmpfs here"
fi
finish
