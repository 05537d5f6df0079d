#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""tcp-sink.py PORT OUT: accept one TCP connection, read it to the end, and
write "BYTES SHA256" to OUT.  Writes OUT.ready once listening."""
import hashlib
import socket
import sys

port, out = int(sys.argv[1]), sys.argv[2]
srv = socket.socket(socket.AF_INET6 if ":" in sys.argv[3:4] else socket.AF_INET)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("", port))
srv.listen(1)
srv.settimeout(60)
open(out + ".ready", "w").close()
conn, _ = srv.accept()
conn.settimeout(60)
h, n = hashlib.sha256(), 0
while True:
    b = conn.recv(1 << 16)
    if not b:
        break
    h.update(b)
    n += len(b)
with open(out, "w") as f:
    f.write(f"{n} {h.hexdigest()}\n")
