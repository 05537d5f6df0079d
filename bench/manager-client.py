#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The REST client of bench/manager.sh: one kept-alive HTTPS connection to
dse-manager, as an operator's tool (kubectl, dsectl) holds one.

  manager-client.py URL CA TOKEN create HOSTS_FILE [--bulk N]
      the inventory's hosts, "NAME ADDRESS" a line, in cluster c1: N to a
      request (POST /api/v1/hosts {"items": [...]}), or one POST each (N=1)
  manager-client.py URL CA TOKEN load HOSTS_FILE SECONDS RATE OUT
      every 1/RATE s: GET a random host, then PUT it back with the version
      read (a changed description): each call's latency in ms, one a line, in
      OUT.get and OUT.put ("fail" for a reply other than 200)
  manager-client.py URL CA TOKEN propagate RECORD N_HOSTS COUNT OUT
      COUNT portgroups, one after another at a random phase: POST one, then
      wait for every host to have received it (RECORD: dse-hostsim's lines
      "T_MS HOST PORTGROUP"); each host's delay in ms, one a line, in OUT;
      each portgroup's p50/p99 in OUT.pg; hosts never reached: "fail"
"""
import http.client
import json
import random
import ssl
import sys
import time
import urllib.parse


def connect(url, ca):
    u = urllib.parse.urlsplit(url)
    ctx = ssl.create_default_context(cafile=ca)
    ctx.check_hostname = False  # the manager's certificate names its address
    return http.client.HTTPSConnection(u.hostname, u.port, context=ctx, timeout=60)


class Api:
    def __init__(self, url, ca, token):
        self.url, self.ca, self.token = url, ca, token
        self.conn = connect(url, ca)

    def call(self, method, path, body=None):
        """(status, reply, ms) of one call; the connection is made again
        once if the manager closed it."""
        data = json.dumps(body) if body is not None else None
        headers = {"Authorization": "Bearer " + self.token}
        if data is not None:
            headers["Content-Type"] = "application/json"
        for attempt in (0, 1):
            t0 = time.perf_counter()
            try:
                self.conn.request(method, "/api/v1/" + path, data, headers)
                r = self.conn.getresponse()
                text = r.read()
                ms = (time.perf_counter() - t0) * 1000
                return r.status, json.loads(text or b"{}"), ms
            except (http.client.HTTPException, ConnectionError, OSError):
                self.conn.close()
                self.conn = connect(self.url, self.ca)
                if attempt:
                    raise
        raise RuntimeError("unreachable")


def hosts_of(path):
    return [line.split() for line in open(path) if line.strip()]


def create(api, hosts_file, bulk):
    hosts = hosts_of(hosts_file)
    t0 = time.time()
    for i in range(0, len(hosts), bulk):
        chunk = [{"name": n, "spec": {"cluster": "c1", "address": a}} for n, a in hosts[i:i + bulk]]
        if bulk == 1:
            st, rep, _ = api.call("POST", "hosts", chunk[0])
        else:
            st, rep, _ = api.call("POST", "hosts", {"items": chunk})
        if st != 201:
            sys.exit(f"create: hosts {i}..: HTTP {st}: {rep}")
    print(f"{(time.time() - t0) * 1000:.0f}")


def load(api, hosts_file, seconds, rate, out):
    names = [h[0] for h in hosts_of(hosts_file)]
    period, n = 1.0 / rate, 0
    fget, fput = open(out + ".get", "a"), open(out + ".put", "a")
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        due = start + n * period
        n += 1
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        name = random.choice(names)
        st, obj, ms = api.call("GET", "hosts/" + name)
        fget.write(f"{ms:.3f}\n" if st == 200 else "fail\n")
        if st != 200:
            continue
        spec = dict(obj["spec"], description=f"bench {n}")
        st, rep, ms = api.call("PUT", "hosts/" + name,
                               {"spec": spec, "resource_version": obj["resource_version"]})
        fput.write(f"{ms:.3f}\n" if st == 200 else "fail\n")
    fget.close()
    fput.close()


class Record:
    """dse-hostsim's record, read as it grows: {portgroup: {host: t_ms}}."""

    def __init__(self, path):
        self.f = open(path)
        self.pgs = {}
        self.rest = ""

    def arrivals(self, pg):
        text = self.rest + self.f.read()
        lines = text.split("\n")
        self.rest = lines.pop()  # a line not yet whole
        for line in lines:
            p = line.split()
            if len(p) == 3:
                self.pgs.setdefault(p[2], {}).setdefault(p[1], int(p[0]))
        return self.pgs.get(pg, {})


def pct(a, q):
    a = sorted(a)
    return a[max(0, min(len(a) - 1, int(q * len(a) + 0.999) - 1))] if a else None


def propagate(api, record, n_hosts, count, out):
    fout, fpg, rec = open(out, "a"), open(out + ".pg", "a"), Record(record)
    for k in range(count):
        time.sleep(random.uniform(1, 6))  # a random phase against the rounds
        pg = f"pgb{k}-{random.randrange(1 << 30)}"
        vlan = 100 + k
        t0 = time.time() * 1000
        st, rep, _ = api.call("POST", "portgroups", {"name": "s1/" + pg, "spec": {"vlan": vlan}})
        if st != 201:
            sys.exit(f"propagate: portgroup {pg}: HTTP {st}: {rep}")
        deadline = time.time() + 120
        while True:
            got = rec.arrivals(pg)
            if len(got) >= n_hosts or time.time() > deadline:
                break
            time.sleep(0.05)
        d = [t - t0 for t in got.values()]
        for v in d:
            fout.write(f"{v:.0f}\n")
        for _ in range(n_hosts - len(d)):
            fout.write("fail\n")
        fpg.write(f"{pct(d, 0.5)} {pct(d, 0.99)} {len(d)}\n")
        print(f"bench: portgroup {pg}: {len(d)}/{n_hosts} hosts, p50 {pct(d, 0.5)} ms, "
              f"p99 {pct(d, 0.99)} ms, last {max(d) if d else None} ms", file=sys.stderr)
    fout.close()
    fpg.close()


def main():
    url, ca, token, what = sys.argv[1:5]
    a = sys.argv[5:]
    api = Api(url, ca, token)
    if what == "create":
        create(api, a[0], int(a[2]) if len(a) > 2 and a[1] == "--bulk" else 1)
    elif what == "load":
        load(api, a[0], float(a[1]), float(a[2]), a[3])
    elif what == "propagate":
        propagate(api, a[0], int(a[1]), int(a[2]), a[3])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
