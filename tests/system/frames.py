#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Send hand-made Ethernet frames with scapy (Debian's python3-scapy).

usage: frames.py IFACE FRAME [FRAME...]

FRAME is a comma-separated list of key=value:
  dst=MAC src=MAC       addresses (default: broadcast, 02:00:00:00:00:fe)
  vlan=N                add an 802.1Q tag (repeatable as vlan2=N for a second)
  type=0xNNNN           ethertype after the tags (default 0x88b5, local experimental)
  len=N                 pad or cut the whole frame to N bytes
  payload=TEXT          marker text at the start of the payload
  count=N               send it N times
Frames are written with a raw socket exactly as given: nothing is padded or
fixed up, so runts and cut tags reach the wire as they are.
"""
import sys

from scapy.all import Dot1Q, Ether, Raw, conf, sendp  # noqa: E402


def build(spec):
    kv = dict(item.split("=", 1) for item in spec.split(",") if item)
    eth = Ether(dst=kv.get("dst", "ff:ff:ff:ff:ff:ff"), src=kv.get("src", "02:00:00:00:00:fe"))
    etype = int(kv.get("type", "0x88b5"), 16)
    pkt = eth
    tags = [kv[k] for k in ("vlan", "vlan2") if k in kv]
    if tags:
        pkt.type = 0x8100
        for i, vid in enumerate(tags):
            last = i == len(tags) - 1
            pkt = pkt / Dot1Q(vlan=int(vid), type=etype if last else 0x8100)
    else:
        pkt.type = etype
    pkt = pkt / Raw(load=kv.get("payload", "dse-test").encode())
    raw = bytes(pkt)
    if "len" in kv:
        n = int(kv["len"])
        raw = raw[:n] if n <= len(raw) else raw + bytes(n - len(raw))
    return raw, int(kv.get("count", "1"))


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    conf.verb = 0
    iface = sys.argv[1]
    for spec in sys.argv[2:]:
        raw, count = build(spec)
        try:
            sendp(raw, iface=iface, count=count, verbose=False)
        except OSError as e:
            print(f"frames.py: the kernel refused a {len(raw)}-byte frame: {e}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
