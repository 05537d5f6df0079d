#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# Writes the seed corpus of fuzz-vhost (tests/fuzz/corpus/vhost/): whole
# front-end sessions in the harness's input format (see fuzz-vhost.c).
import os
import struct
import sys

GPA, UA, MEMSZ = 0x10000000, 0x70000000, 256 * 1024
NUM = 8
TXQ_DESC, TXQ_AVAIL, TXQ_USED = 0x0, 0x100, 0x200
RXQ_DESC, RXQ_AVAIL, RXQ_USED = 0x400, 0x500, 0x600
BUF = 0x1000
F_VERSION_1, F_MRG, F_PROTO, F_LOG_ALL = 1 << 32, 1 << 15, 1 << 30, 1 << 26
NEXT, WRITE, INDIRECT = 1, 2, 4


def msg(req, payload=b"", flags=1):
    return struct.pack("<III", req, flags, len(payload)) + payload


def u64(req, v, flags=1):
    return msg(req, struct.pack("<Q", v), flags)


def state(req, idx, num, flags=1):
    return msg(req, struct.pack("<II", idx, num), flags)


def mem_table(n=1, size=MEMSZ):
    regions = b"".join(struct.pack("<QQQQ", GPA + i * size, size, UA + i * size, 0) for i in range(n))
    return msg(5, struct.pack("<II", n, 0) + regions)


def vring(q, desc, avail, used, kick_nofd=False):
    return (state(8, q, NUM) + state(10, q, 0) +
            msg(9, struct.pack("<IIQQQQ", q, 0, UA + desc, UA + used, UA + avail, 0)) +
            u64(13, q) + u64(12, q | (0x100 if kick_nofd else 0)) + state(18, q, 1))


def setup(features=F_VERSION_1 | F_MRG | F_PROTO, kick_nofd=False):
    return (msg(3) + msg(1) + msg(15) + u64(16, 1 << 3) + u64(2, features) + mem_table() +
            vring(0, RXQ_DESC, RXQ_AVAIL, RXQ_USED, kick_nofd) +
            vring(1, TXQ_DESC, TXQ_AVAIL, TXQ_USED, kick_nofd))


class Image:
    def __init__(self):
        self.b = bytearray(0x1000 + NUM * 2 * 0x800)

    def put(self, ofs, data):
        self.b[ofs:ofs + len(data)] = data

    def desc(self, ring, i, addr, ln, flags=0, nxt=0):
        self.put(ring + 16 * i, struct.pack("<QIHH", addr, ln, flags, nxt))

    def avail(self, ring, heads):
        self.put(ring, struct.pack("<HH", 0, len(heads)) + b"".join(struct.pack("<H", h) for h in heads))


def frame(n, seed):
    return bytes([0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0]) + bytes((seed + i) % 256 for i in range(n - 14))


def tx_frames(img, frames, segs=1):
    heads, d = [], 0
    for k, f in enumerate(frames):
        data = bytes(12) + f
        heads.append(d)
        step = (len(data) + segs - 1) // segs
        for s in range(segs):
            part = data[s * step:(s + 1) * step]
            buf = BUF + d * 0x800
            img.put(buf, part)
            img.desc(TXQ_DESC, d, GPA + buf, len(part), NEXT if s < segs - 1 else 0, d + 1)
            d += 1
    img.avail(TXQ_AVAIL, heads)


def rx_bufs(img, n, ln):
    for i in range(n):
        buf = BUF + (NUM + i) * 0x800
        img.desc(RXQ_DESC, i, GPA + buf, ln, WRITE)
    img.avail(RXQ_AVAIL, list(range(n)))


def seed(img, msgs):
    b = bytes(img.b)
    return struct.pack("<H", len(b)) + b + msgs


def main(out):
    os.makedirs(out, exist_ok=True)
    seeds = {}
    img = Image()
    tx_frames(img, [frame(60, 1), frame(1000, 2)])
    rx_bufs(img, 8, 1024)
    seeds["session"] = seed(img, setup())
    img = Image()
    tx_frames(img, [frame(1400, 3)], segs=3)
    rx_bufs(img, 8, 512)
    seeds["chains-mergeable"] = seed(img, setup() + state(11, 1, 0) + state(11, 0, 0))
    img = Image()
    tx_frames(img, [frame(100, 4)])
    rx_bufs(img, 4, 2048)
    seeds["legacy-polled"] = seed(img, setup(features=0, kick_nofd=True))
    img = Image()
    img.desc(TXQ_DESC, 0, GPA + BUF, 100, NEXT, 0)  # loops
    img.desc(TXQ_DESC, 1, GPA + MEMSZ - 8, 100)  # off the end
    img.desc(TXQ_DESC, 2, GPA + BUF, 100, INDIRECT)
    img.avail(TXQ_AVAIL, [0, 1, 2])
    img.desc(RXQ_DESC, 0, GPA + BUF, 100, 0)  # read-only on rx
    img.avail(RXQ_AVAIL, [0])
    seeds["bad-descriptors"] = seed(img, setup())
    # a migration: the dirty log, LOG_ALL, the used rings logged, the rings
    # stopped, and the announcement
    img = Image()
    tx_frames(img, [frame(300, 5)])
    rx_bufs(img, 4, 1024)
    logged = b"".join(msg(9, struct.pack("<IIQQQQ", q, 1, UA + d, UA + u, UA + a, GPA + u))
                      for q, d, a, u in ((0, RXQ_DESC, RXQ_AVAIL, RXQ_USED), (1, TXQ_DESC, TXQ_AVAIL, TXQ_USED)))
    seeds["migration"] = seed(img, setup() + msg(6, struct.pack("<QQ", 4096, 0)) +
                              u64(2, F_VERSION_1 | F_MRG | F_PROTO | F_LOG_ALL) + logged +
                              state(11, 0, 0) + state(11, 1, 0) +
                              msg(19, bytes([2, 0xd5, 0, 1, 0, 7, 0, 0])) + msg(6, struct.pack("<QQ", 1 << 40, 0)))
    img = Image()
    seeds["bad-messages"] = seed(img, msg(3) + msg(99, b"xyz", 1 | 8) + state(8, 0, 3, 1 | 8) +
                                 state(8, 5, 8) + u64(2, 1 << 29) + mem_table(9) +
                                 msg(5, struct.pack("<II", 1, 0)) + u64(12, 7) +
                                 msg(1, flags=1 | (1 << 31)) + u64(13, 0, flags=1 | (1 << 31)) +
                                 msg(4) + msg(2, b"", 2) + struct.pack("<III", 1, 1, 1 << 20))
    for name, data in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus", "vhost"))
