#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Send one hand-made packet with scapy (Debian's python3-scapy) from a lab
VM and print what came back: the firewall's system test asks what a packet
meets.

usage: dfw-probe.py CASE ARGS

  tcp DST DPORT FLAGS [SPORT [SEQ]]   one TCP segment (FLAGS: S, A, R, SA, FA...);
                                      prints the answer's flags ("SA", "RA") or "none"
  udp DST DPORT [SPORT]               one UDP datagram; prints "icmp TYPE CODE" for an
                                      ICMP (v6) error back, "udp" for a UDP answer, or "none"
  frag DST DPORT                      one UDP datagram in two IPv4 fragments; prints "sent"
  badihl DST                          an IPv4 header whose IHL runs past the packet; "sent"

DST may be IPv4 or IPv6.  Answers are awaited for 1 s.
"""
import subprocess
import sys

from scapy.all import (ICMP, IP, TCP, UDP, Ether, ICMPv6DestUnreach, IPv6, Raw,  # noqa: E402
                       conf, fragment, send, sr1, srp1)


def ip_layer(dst):
    return IPv6(dst=dst) if ":" in dst else IP(dst=dst)


def ask(pkt, dst):
    """Sends 'pkt' and returns the answer, or None.  To the MAC the
    kernel's neighbour table has for 'dst' (scapy's own IPv6 resolution
    does not work in a fresh namespace), else as scapy routes it."""
    out = subprocess.run(["ip", "neigh", "show", dst], capture_output=True, text=True).stdout.split()
    if "lladdr" in out:
        return srp1(Ether(dst=out[out.index("lladdr") + 1]) / pkt, iface="eth0", timeout=1)
    return sr1(pkt, timeout=1)


def show(ans):
    if ans is None:
        return "none"
    if ans.haslayer(TCP):
        return str(ans[TCP].flags)
    if ans.haslayer(ICMP):
        return f"icmp {ans[ICMP].type} {ans[ICMP].code}"
    if ans.haslayer(ICMPv6DestUnreach):
        return f"icmp {ans[ICMPv6DestUnreach].type} {ans[ICMPv6DestUnreach].code}"
    if ans.haslayer(UDP):
        return "udp"
    return ans.summary()


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    conf.verb = 0
    case, dst = sys.argv[1], sys.argv[2]
    a = sys.argv[3:]
    if case == "tcp":
        sport = int(a[2]) if len(a) > 2 else 40000
        seq = int(a[3]) if len(a) > 3 else 1000
        pkt = ip_layer(dst) / TCP(sport=sport, dport=int(a[0]), flags=a[1], seq=seq, ack=5000)
        print(show(ask(pkt, dst)))
    elif case == "udp":
        sport = int(a[1]) if len(a) > 1 else 40000
        pkt = ip_layer(dst) / UDP(sport=sport, dport=int(a[0])) / Raw(b"dse-dfw")
        print(show(ask(pkt, dst)))
    elif case == "frag":
        pkt = IP(dst=dst) / UDP(sport=40000, dport=int(a[0])) / Raw(b"x" * 64)
        send(fragment(pkt, fragsize=32))
        print("sent")
    elif case == "badihl":
        pkt = IP(dst=dst, ihl=15) / Raw(b"x" * 8)
        send(pkt)
        print("sent")
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
