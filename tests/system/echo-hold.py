#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""echo-hold.py ADDR PORT STOP OUT: holds one TCP connection to an echo
service and keeps it busy (a numbered line every 20 ms, each echo awaited)
until file STOP appears; then writes to OUT one JSON object: the echoes, the
longest wait for one (ms) and "ok" (false with "error" when the connection
broke or an echo did not come back within 30 s).  Writes OUT.ready once
connected."""
import json
import os
import socket
import sys
import time

addr, port, stop, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
res = {"echoes": 0, "max_wait_ms": 0, "ok": False}
try:
    s = socket.create_connection((addr, port), timeout=30)
    s.settimeout(30)
    open(out + ".ready", "w").close()
    buf, n = b"", 0
    while not os.path.exists(stop):
        n += 1
        line = b"%d\n" % n
        t0 = time.monotonic()
        s.sendall(line)
        while line not in buf:
            b = s.recv(4096)
            if not b:
                raise ConnectionError("the peer closed the connection")
            buf += b
        buf = buf.split(line, 1)[1]
        res["echoes"] = n
        res["max_wait_ms"] = max(res["max_wait_ms"], round((time.monotonic() - t0) * 1000, 1))
        time.sleep(0.02)  # the pace of the stream, not a synchronisation
    res["ok"] = True
except (OSError, ConnectionError) as e:
    res["error"] = str(e)
with open(out, "w") as f:
    json.dump(res, f)
