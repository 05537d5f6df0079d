#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# Writes the seed corpora of fuzz-manifest and fuzz-bundle
# (tests/fuzz/corpus/manifest/, corpus/bundle/): valid manifests and bundles,
# and bundles with one thing wrong each (the refusals of test-bundle.c).
# With the path of a built dse-bundle, also a signed zstd bundle.
#   tests/fuzz/gen-bundle-corpus.py [build/tools/bundle/dse-bundle]
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
FILES = {
    "host/x86_64": {"bin/dse-hostd": b"#!hostd\n", "VERSION": b"0.1.0\n"},
    "dpu/dse-lab/vdpu-2": {"bin/dse-dpud": b"#!dpud\n", "lib/bpf/x.o": b"\x7fELF"},
}


def manifest(files=FILES, **over):
    comps = []
    for target, fs in sorted(files.items()):
        comps.append({"target": target, "files": [
            {"path": p, "size": len(d), "mode": "0755" if p.startswith("bin/") else "0644",
             "sha256": hashlib.sha256(d).hexdigest()} for p, d in sorted(fs.items())]})
    m = {"format": 1, "name": "dse", "version": "0.1.0", "build": "seed",
         "created": "2025-01-31T12:00:00Z", "components": comps}
    m.update(over)
    return json.dumps(m, sort_keys=True, separators=(",", ":")).encode()


def entry(name, data=b"", kind=tarfile.REGTYPE, link=""):
    ti = tarfile.TarInfo(name)
    ti.type, ti.linkname, ti.size, ti.mode = kind, link, len(data), 0o644
    return ti, data


def payload(files=FILES):
    return [entry(f"payload/{t}/{p}", d) for t, fs in sorted(files.items())
            for p, d in sorted(fs.items())]


def tar(entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
        for ti, data in entries:
            t.addfile(ti, io.BytesIO(data) if ti.isreg() else None)
    return buf.getvalue()


def write(sub, name, data):
    d = os.path.join(HERE, "corpus", sub)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def manifests():
    write("manifest", "valid", manifest())
    write("manifest", "valid-pretty", json.dumps(json.loads(manifest()), indent=2).encode())
    write("manifest", "format-2", manifest(format=2))
    write("manifest", "bad-path", manifest({"host/x86_64": {"../x": b"x"}}))
    write("manifest", "file-and-dir", manifest({"host/x86_64": {"a": b"", "a/b": b""}}))
    write("manifest", "bad-target", manifest({"dpu/x": {"a": b""}}))
    write("manifest", "version-long", manifest(version="1.2.3.4.5.6.7.8"))
    write("manifest", "empty-object", b"{}")


def bundles(tool):
    m = manifest()
    head = [entry("manifest.json", m)]
    sig = [entry("manifest.sig", bytes(64))]
    write("bundle", "unsigned", tar(head + payload()))
    write("bundle", "bad-sig", tar(head + sig + payload()))
    p = payload()
    write("bundle", "missing-file", tar(head + p[:-1]))
    write("bundle", "extra-file", tar(head + p + [entry("payload/host/x86_64/bin/x", b"x")]))
    write("bundle", "duplicate", tar(head + p + p[:1]))
    write("bundle", "dotdot", tar(head + [entry("../x", b"x")] + p))
    write("bundle", "symlink", tar(head + [entry("payload/host/x86_64/VERSION",
                                                 kind=tarfile.SYMTYPE, link="/etc/passwd")] + p[1:]))
    write("bundle", "hardlink", tar(head + p[:1] + [entry("payload/host/x86_64/VERSION",
                                                          kind=tarfile.LNKTYPE, link=p[0][0].name)] + p[2:]))
    write("bundle", "truncated", tar(head + p)[:1800])
    if tool:
        with tempfile.TemporaryDirectory() as tmp:
            for t, fs in FILES.items():
                for path, data in fs.items():
                    f = os.path.join(tmp, t.replace("/", "_"), path)
                    os.makedirs(os.path.dirname(f), exist_ok=True)
                    with open(f, "wb") as out:
                        out.write(data)
            env = dict(os.environ, SOURCE_DATE_EPOCH="1738324800")
            subprocess.run([tool, "keygen", "--out-dir", tmp + "/k"], check=True,
                           stdout=subprocess.DEVNULL)
            out = tmp + "/b.dsebundle"
            subprocess.run([tool, "build", "--name", "dse", "--version", "0.1.0", "--zstd",
                            "--key", tmp + "/k/dse-bundle.key", "-o", out] +
                           [a for t in FILES for a in
                            ("--component", f"{t}={tmp}/{t.replace('/', '_')}")],
                           check=True, env=env, stdout=subprocess.DEVNULL)
            with open(out, "rb") as f:
                write("bundle", "signed-zstd", f.read())


manifests()
bundles(sys.argv[1] if len(sys.argv) > 1 else None)
