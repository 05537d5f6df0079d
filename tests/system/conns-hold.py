#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""conns-hold.py ADDR PORT N CTL: opens N TCP connections to an echo service
and holds them.  Writes CTL.ready once all are up; then reads commands from
the FIFO CTL, one a line: "probe NAME" sends a line on every connection and
writes to file NAME one JSON object, {"alive": K, "dead": D} (an echo that
does not come back within 5 s, or a broken connection, is dead); "quit"
ends."""
import json
import os
import selectors
import socket
import sys
import time

addr, port, n, ctl = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
conns = []
for i in range(n):
    s = socket.create_connection((addr, port), timeout=10)
    s.setblocking(False)
    conns.append(s)
open(ctl + ".ready", "w").close()


def probe(tag):
    sel = selectors.DefaultSelector()
    want = {}
    for i, s in enumerate(conns):
        line = b"%s %d\n" % (tag.encode(), i)
        try:
            s.send(line)
            want[s] = [line, b""]
            sel.register(s, selectors.EVENT_READ)
        except OSError:
            pass
    alive, deadline = 0, time.monotonic() + 5
    while want and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=max(0, deadline - time.monotonic())):
            s = key.fileobj
            try:
                b = s.recv(4096)
            except OSError:
                b = b""
            if not b:
                sel.unregister(s)
                del want[s]
                continue
            want[s][1] += b
            if want[s][0] in want[s][1]:
                alive += 1
                sel.unregister(s)
                del want[s]
    return {"alive": alive, "dead": n - alive}


done = False
while not done:  # each writer of the FIFO ends one read: open it again
    with open(ctl) as f:
        for cmd in f:
            words = cmd.split()
            if words[:1] == ["probe"] and len(words) == 2:
                res = probe(words[1])
                with open(words[1] + ".tmp", "w") as o:
                    json.dump(res, o)
                os.rename(words[1] + ".tmp", words[1])
            elif words[:1] == ["quit"]:
                done = True
                break
