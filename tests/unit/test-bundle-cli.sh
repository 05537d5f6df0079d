#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# dse-bundle as a user runs it (no root): exit status 0/1/2, one line per
# refusal, keys' modes, and no crash on junk.  Usage: test-bundle-cli.sh DSE_BUNDLE
set -uo pipefail
tool=$1
tmp=$(mktemp -d /tmp/dse-test-bundle-cli-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
failed=0

fail() { echo "FAIL $*"; failed=1; }

# expect RC LINE-PATTERN CMD...: exit status RC and one line matching PATTERN
# (on stdout for 0, stderr otherwise).
expect() {
	local want=$1 pat=$2 out rc cmd
	shift 2
	cmd="$*"
	cmd=${cmd//"$tmp"/T}
	cmd=${cmd//"$tool"/dse-bundle}
	if ((want == 0)); then out=$("$@" 2>/dev/null); else out=$("$@" 2>&1 >/dev/null); fi
	rc=$?
	if ((rc != want)); then
		fail "$cmd: exit $rc, wanted $want ($out)"
	elif [[ $(wc -l <<<"$out") != 1 || ! $out =~ $pat ]]; then
		fail "$cmd: printed '$out', wanted one line like '$pat'"
	else
		echo "ok   $cmd"
	fi
}

mkdir -p "$tmp/host/bin" "$tmp/dpu/bin"
echo hostd >"$tmp/host/bin/dse-hostd" && chmod 0755 "$tmp/host/bin/dse-hostd"
echo dpud >"$tmp/dpu/bin/dse-dpud"
echo 0.1.0 >"$tmp/host/VERSION"
k=$tmp/keys
b=$tmp/b.dsebundle
comps=(--component "host/x86_64=$tmp/host" --component "dpu/dse-lab/vdpu-2=$tmp/dpu")

expect 2 'missing command' "$tool"
expect 2 "unknown command 'frobnicate'" "$tool" frobnicate
expect 2 "unknown option '--bogus'" "$tool" build --bogus
expect 2 'needs --name' "$tool" build -o "$b"
expect 2 'bad target' "$tool" build --name dse --version 1 --component host=x -o "$b"
expect 2 'bad version' "$tool" build --name dse --version 1.x "${comps[@]}" -o "$b"
expect 2 'needs --pubkey' "$tool" verify "$b"
expect 2 "unexpected argument" "$tool" verify --pubkey p a b
expect 2 '--key needs a value' "$tool" sign --key

expect 0 '^wrote .*dse-bundle.key' "$tool" keygen --out-dir "$k"
[[ $(stat -c %a "$k/dse-bundle.key") == 600 ]] || fail "private key mode $(stat -c %a "$k/dse-bundle.key")"
expect 1 'already there' "$tool" keygen --out-dir "$k"
expect 0 '^wrote .* \(signed\)$' "$tool" build --name dse --version 0.1.0 --build t1 "${comps[@]}" \
	--key "$k/dse-bundle.key" --zstd -o "$b"
expect 0 '^ok .*dse 0.1.0 build t1, 2 components, 3 files, signature valid$' \
	"$tool" verify --pubkey "$k/dse-bundle.pub" "$b"
"$tool" inspect -j --pubkey "$k/dse-bundle.pub" "$b" |
	python3 -c 'import json,sys; j=json.load(sys.stdin); assert j["signature"]=="valid" and j["files"]==3, j' ||
	fail "inspect -j"
"$tool" inspect "$b" | grep -q '^signature *unchecked' || fail "inspect without a key"

"$tool" keygen --out-dir "$tmp/other" >/dev/null
expect 1 'bad signature' "$tool" verify --pubkey "$tmp/other/dse-bundle.pub" "$b"
expect 1 'not an unencrypted Ed25519 public key' "$tool" verify --pubkey "$k/dse-bundle.key" "$b"

expect 0 '^wrote .* \(unsigned\)$' "$tool" build --name dse --version 0.1.0 "${comps[@]}" -o "$b"
expect 1 'not signed' "$tool" verify --pubkey "$k/dse-bundle.pub" "$b"
expect 0 '^signed ' "$tool" sign --key "$k/dse-bundle.key" "$b"
expect 0 '^ok ' "$tool" verify --pubkey "$k/dse-bundle.pub" "$b"

ln -s dse-hostd "$tmp/host/bin/link"
expect 1 'a symlink, a bundle carries only regular files' "$tool" build --name dse --version 1 \
	"${comps[@]}" -o "$tmp/c.dsebundle"
[[ ! -e $tmp/c.dsebundle ]] || fail "a refused build left a file"

for junk in /dev/null /etc/hostname "$tmp/none"; do
	expect 1 '' "$tool" verify --pubkey "$k/dse-bundle.pub" "$junk"
done
head -c 3000 "$b" >"$tmp/cut.dsebundle"
expect 1 '[Tt]runcated' "$tool" verify --pubkey "$k/dse-bundle.pub" "$tmp/cut.dsebundle"
exit $failed
