/* SPDX-License-Identifier: Apache-2.0 */
/*
 * eswitch: the slow path's handle on the flow tier (the "xdp" eswitch backend:
 * bpf/eswitch.bpf.c attached to every switch port, maps in eswitch-abi.h).
 *
 * The slow path installs an exact-match flow when it forwards a known unicast
 * frame; from then on that flow's frames are rewritten and redirected in the
 * driver and never reach userspace.  Flows are removed when what they were
 * derived from changes (MAC move, port or portgroup change, failover) and by a
 * periodic revalidation against the slow path's own tables.
 *
 * On real DPUs the same interface maps onto tc-flower or a vendor SDK.
 *
 * Thread-safety: the program runs in the kernel concurrently and only ever
 * updates counters in the maps.  dpud's workers install and sweep flows (the
 * slow path's hooks) while its control thread may read and delete them
 * (revalidation): the maps allow that, and eswitch_flow_foreach/read/del keep
 * no state but eswitch_flow_sweep()'s victim list, which sweeps take turns
 * with (a mutex: sweeps are rare, a MAC move or a configuration change).
 * Attaching and detaching ports is the control thread's.
 */
#ifndef DSE_ESWITCH_H
#define DSE_ESWITCH_H

#include <stdbool.h>
#include <stdint.h>

#include <stddef.h>

#include "dataplane/eswitch-abi.h"

struct eswitch;

/* Loads the program and creates its maps.  Returns NULL with one line in
 * 'err' when BPF is not available (no privilege, old kernel). */
struct eswitch *eswitch_create(char *err, size_t err_len);
/* Removes every flow and frees the handle; the program stays attached to the
 * ports and passes all their frames up.  Accepts NULL. */
void eswitch_destroy(struct eswitch *);

/* Attaches the program to 'ifindex' (native XDP, replacing what is there) and
 * makes it a valid egress.  Returns 0 or -errno. */
int eswitch_port_attach(struct eswitch *, int ifindex);
/* Forgets 'ifindex' as an egress, stops steering its misses and removes its
 * flows (both directions).  The program stays attached and passes everything
 * of it to the kernel. */
void eswitch_port_detach(struct eswitch *, int ifindex);

/* Steers the misses of attached port 'ifindex' into the AF_XDP socket
 * 'xsk_fd' (bound to the interface's queue 0) instead of the kernel.  Returns
 * 0, -ENOSPC (ESWITCH_MAX_PORTS steered already) or -errno. */
int eswitch_port_steer(struct eswitch *, int ifindex, int xsk_fd);

/* Installs (or replaces) a flow.  Returns 0, -ENOSPC when the table is full. */
int eswitch_flow_add(struct eswitch *, const struct eswitch_key *key,
                     const struct eswitch_action *action);

/* Removes every flow for which 'doomed' returns true ('doomed' NULL: all).
 * Returns how many. */
unsigned eswitch_flow_sweep(struct eswitch *,
                            bool (*doomed)(const struct eswitch_key *,
                                           const struct eswitch_action *, void *aux),
                            void *aux);

/* Reads up to 'max' flows with their counters into 'keys' and 'actions': a
 * snapshot, the program and other threads may change the table meanwhile.
 * Returns how many. */
unsigned eswitch_flow_read(struct eswitch *, struct eswitch_key *keys,
                           struct eswitch_action *actions, unsigned max);
/* Removes the flows with these keys (those gone already are skipped).  Returns
 * how many it removed. */
unsigned eswitch_flow_del(struct eswitch *, const struct eswitch_key *keys, unsigned n);

/* Calls 'cb' for every flow with its current counters. */
void eswitch_flow_foreach(struct eswitch *,
                          void (*cb)(const struct eswitch_key *, const struct eswitch_action *,
                                     void *aux),
                          void *aux);

/* The firewall's offloaded connections (one entry per direction, counted
 * by the program).  eswitch_conn_add() installs a direction (one already
 * there keeps its counters): 0, -ENOSPC (ESWITCH_MAX_CONNS), -errno.
 * eswitch_conn_foreach() calls 'cb' on each with its counters and removes
 * those it returns false for; eswitch_conn_flush() removes all.  Any
 * thread, beside the program. */
int eswitch_conn_add(struct eswitch *, const struct eswitch_conn_key *key);
void eswitch_conn_del(struct eswitch *, const struct eswitch_conn_key *key);
/* Removes direction 'key', with its counters into '*out'.  False if absent. */
bool eswitch_conn_take(struct eswitch *, const struct eswitch_conn_key *key,
                       struct eswitch_conn *out);
void eswitch_conn_foreach(struct eswitch *,
                          bool (*cb)(const struct eswitch_conn_key *, const struct eswitch_conn *,
                                     void *aux),
                          void *aux);
void eswitch_conn_flush(struct eswitch *);

/* Fences (or unfences) the vNIC ports: flows marked 'vnic' go to the slow
 * path (which drops them while the switch is fenced too, sw_set_vnics_fenced).
 * Any thread.  Returns 0 or -errno. */
int eswitch_set_fenced(struct eswitch *, bool fenced);

/* Sums the per-CPU counters of switch port 'port_id'.  Returns false if none. */
bool eswitch_port_stats(struct eswitch *, unsigned port_id, struct eswitch_port_stats *out);
/* Zeroes them (when a port id is reused). */
void eswitch_port_stats_clear(struct eswitch *, unsigned port_id);

/* The program's fd, to run it on test frames (BPF_PROG_RUN).  Can't fail. */
int eswitch_prog_fd(const struct eswitch *);

/* The kernel's monotonic clock in ns, as the program's bpf_ktime_get_coarse_ns()
 * reads it (to within a tick). */
uint64_t eswitch_now_ns(void);

#endif
