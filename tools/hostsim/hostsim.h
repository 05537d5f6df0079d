/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hostsim: many simulated hosts in one process, each answering the part of
 * hostd's command table that dse-manager calls (manager/reconcile.c), for
 * measuring the manager at fleet scale (bench/manager.sh) without a lab
 * server per host.
 *
 * Host i (1..n) is named PREFIX + i and lives at one loopback address,
 * hostsim_addr(): 127.1.X.Y with X = (i - 1) / 250 and Y = (i - 1) % 250 +
 * 1, so up to 64,000 hosts.  The server side (main.c) tells them apart by
 * the local address of each connection.  Each host holds what hostd holds
 * for the manager: its portgroups (hostd's rules: a name or VLAN used once),
 * its figures and its DPUs' (hostsim_params.n_dpus each), which change every
 * 'interval_s' (a new sample: load that wanders with a per-host phase,
 * counters that grow), as hostd's monitor does.
 *
 *   portgroup.list, portgroup.add {name, vlan, [mtu]}, portgroup.del {name}
 *   host.stats, dpu.stats    {"sample"} and [{"dpu", "up", "sample"}]
 *   host.info, dpu.list, alarm.list, event.list   enough to answer
 *
 * Every portgroup.add that succeeds is written to 'record' as one line
 * "T_MS HOST PORTGROUP" (T_MS: the wall clock at its arrival), so that a
 * benchmark sees when each host received a change.
 *
 * Thread-safety: one thread (the server's event loop).
 */
#ifndef DSE_HOSTSIM_H
#define DSE_HOSTSIM_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#define HOSTSIM_MAX_HOSTS 64000
#define HOSTSIM_MAX_DPUS 4

struct hostsim_params {
    unsigned n_hosts;    /* 1..HOSTSIM_MAX_HOSTS */
    unsigned n_dpus;     /* per host, 0..HOSTSIM_MAX_DPUS */
    unsigned interval_s; /* a new sample every so often (>= 1) */
    const char *prefix;  /* of the hosts' names: PREFIX1, PREFIX2, ... */
    FILE *record;        /* where portgroup.add arrivals go, or NULL */
};

struct hostsim;

/* NULL on ENOMEM.  Copies 'prefix'; 'record' stays the caller's. */
struct hostsim *hostsim_create(const struct hostsim_params *);
void hostsim_destroy(struct hostsim *); /* accepts NULL */

/* Host 'i''s address ("127.1.X.Y") into 'buf'.  Can't fail. */
void hostsim_addr(unsigned i, char buf[static 16]);
/* The host at IPv4 address 'addr' (host byte order): 1..n, or 0. */
unsigned hostsim_host_at(const struct hostsim *, uint32_t addr);
/* Host 'i''s name (1..n).  Can't fail. */
const char *hostsim_name(const struct hostsim *, unsigned i);

/* Runs command 'cmd' with 'args' (borrowed; NULL: {}) on host 'i' at wall
 * clock 'now_ms'.  Returns the reply envelope (lib/cmdtab.h's: {"ok",
 * "result"} or {"ok": false, "error", "code"}); never NULL but on ENOMEM. */
json_t *hostsim_call(struct hostsim *, unsigned i, const char *cmd, json_t *args, uint64_t now_ms);

/* Calls answered so far, by command: {"portgroup.add": N, ...}. */
json_t *hostsim_counts(const struct hostsim *);

#endif
