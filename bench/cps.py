#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""New TCP connections a second, for bench/dfw.sh.

  cps.py server PORT               accept and close, until killed
  cps.py client ADDR PORT SECONDS [CONCURRENCY]
                                   open connections to ADDR:PORT for SECONDS,
                                   CONCURRENCY at a time (default 64): each one
                                   is opened (the three-way handshake) and
                                   then reset (SO_LINGER 0: no TIME_WAIT, so
                                   that the ports last); prints one JSON line
                                   {"connections", "seconds", "cps", "failed"}

One process and epoll on each side: the same generator for every switch
compared, so its own cost is the same in every figure.
"""
import errno
import json
import select
import socket
import struct
import sys
import time

LINGER0 = struct.pack("ii", 1, 0)


def server(port):
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("", port))
    srv.listen(4096)
    srv.setblocking(False)
    ep = select.epoll()
    ep.register(srv.fileno(), select.EPOLLIN)
    while True:
        for _ in ep.poll(1):
            while True:
                try:
                    c, _ = srv.accept()
                except BlockingIOError:
                    break
                c.close()  # the client reset it already, or will: no FIN, no TIME_WAIT


def client(addr, port, seconds, conc):
    ep = select.epoll()
    socks = {}
    done = failed = 0

    def start():
        s = socket.socket()
        s.setblocking(False)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER0)
        rc = s.connect_ex((addr, port))
        if rc not in (0, errno.EINPROGRESS):
            s.close()
            return False
        socks[s.fileno()] = s
        ep.register(s.fileno(), select.EPOLLOUT)
        return True

    t0 = time.monotonic()
    end = t0 + seconds
    while len(socks) < conc and start():
        pass
    while time.monotonic() < end:
        for fd, ev in ep.poll(0.1):
            s = socks.pop(fd)
            ep.unregister(fd)
            ok = not (ev & (select.EPOLLERR | select.EPOLLHUP)) and \
                s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0
            done += ok
            failed += not ok
            s.close()
            start()
    secs = time.monotonic() - t0
    print(json.dumps({"connections": done, "seconds": round(secs, 3),
                      "cps": round(done / secs), "failed": failed}))


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "server":
        server(int(sys.argv[2]))
    elif len(sys.argv) >= 5 and sys.argv[1] == "client":
        client(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]),
               int(sys.argv[5]) if len(sys.argv) > 5 else 64)
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
