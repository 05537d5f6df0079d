/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dpud: the DPU agent.  Owns the DPU's switch (dataplane/switch.h), runs it on
 * the event loop, and serves its command table to hostd (mTLS over the
 * internal network) and to local dsectl (control socket).
 *
 * Threads: one control thread (libevent: commands, carrier, ticks) and N
 * poll-mode workers pinned to the DPU's cores (workers.c), or, with no
 * workers (--cores none), the ports polled on the control thread's loop.
 * The control thread touches the switch only between dpud_pause() and
 * dpud_resume(); the command table's guard, the carrier callback and the tick
 * do that for it.
 */
#ifndef DSE_DPUD_H
#define DSE_DPUD_H

#include <event2/event.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "daemons/common/identity.h"
#include "lib/authz.h"
#include "lib/cmdtab.h"
#include "dataplane/dfw-sync.h"
#include "dataplane/eswitch.h"
#include "dataplane/flowcache.h"
#include "dataplane/offload.h"
#include "dataplane/pipeline.h"
#include "dataplane/switch.h"
#include "dataplane/team.h"

#define DPUD_MAX_UPLINKS SW_MAX_UPLINKS
#define DPUD_MAX_WORKERS 64
#define DPUD_POLL_US_DEFAULT 0
#define DPUD_POLL_US_SHM 1000 /* after frames from a vhost-user port (workers.c) */

struct dpud_worker {
    struct dpud *d;
    unsigned idx;
    int cpu;
    bool started;
    pthread_t thread;
    struct sw_ctx *ctx;
    int epfd, wake_fd;
    uint16_t ports[SW_MAX_PORTS]; /* polled by this worker (changed while paused) */
    unsigned n_ports;
    _Atomic uint64_t packets, sleeps;
};

struct dpud_port_cb {
    struct dpud *d;
    uint16_t id;
};

struct dpud_incoming;
struct dpud_monitor;
struct dpud_ha;
struct tls_paths;

struct dpud {
    struct agent_identity identity; /* its certificate and CRL (daemons/common/identity.h) */
    const char *name;
    const char *dir;                /* the device directory (banks, logs), or NULL */
    struct dpud_incoming *incoming; /* an image being received (software.c) */
    struct dpud_monitor *mon;       /* metrics collection (monitor.c) */
    struct dpud_ha *ha;             /* dual-DPU high availability (ha.c), or NULL */
    struct event_base *base;
    struct sw *sw;
    struct event *port_ev[SW_MAX_PORTS];
    struct dpud_port_cb port_cb[SW_MAX_PORTS];
    const char *uplinks[DPUD_MAX_UPLINKS];
    unsigned n_uplinks;
    const char *backend;              /* forced port backend, or NULL for automatic */
    const char *vhost_dir;            /* where vhost-user ports listen (DIR/run/vhost), or NULL */
    char vhost_path[4096];            /* what vhost_dir points to */
    struct eswitch *es;               /* the flow tier, or NULL (all flows in software) */
    struct offload *off;              /* what drives it: installs, flushes, revalidation; or NULL */
    bool no_offload;                  /* --eswitch slowpath: es steers misses, holds no flows */
    json_t *platform;                 /* vendor, model, hw_version, firmware, serial */
    int64_t generation;               /* of the config hostd last applied; -1: none */
    char dfw_digest[JSON_DIGEST_HEX]; /* of the firewall's policy in force; "": off */
    uint64_t dfw_apply_us;            /* how long putting it in force took */
    struct dfw_sync_counts dfw_sync;  /* what dfw.conn.import did (HA) */
    uint64_t dfw_exported;            /* connections dfw.conn.export gave */
    uint64_t started_ms;

    /* poll-mode workers (workers.c) */
    struct dpud_worker workers[DPUD_MAX_WORKERS];
    unsigned n_workers;            /* 0: ports are polled on the control thread */
    unsigned poll_us;              /* how long an idle worker keeps polling before it sleeps */
    int port_worker[SW_MAX_PORTS]; /* worker index per port id, or -1 */
    atomic_bool paused, stopping;
    unsigned pause_depth; /* control thread only */
    pthread_mutex_t park_mu;
    pthread_cond_t park_cv;
    int carrier_fd; /* eventfd: a worker saw a port's carrier change */
    struct event *carrier_ev;
    atomic_bool carrier_pending;

    /* life.c */
    struct linkwatch *lw; /* the uplinks' carrier, or NULL */
    struct event *tick;   /* every second: revalidation, ageing, monitoring */
};

/* life.c: dpud's life, as main() wires it.  dpud_open() makes the event
 * base and the switch, loads the platform file and starts monitoring;
 * dpud_cmdtab() is the command table (dpud's commands guarded: they pause
 * the workers; the software and monitor commands beside them), NULL on
 * ENOMEM; dpud_start() (after the servers) loads the eswitch, starts the
 * workers, the link watch, the uplinks, HA and the tick; dpud_stop() and
 * dpud_close() undo them, whatever part ran.  Each returns 0, or -errno
 * with one line in 'err'. */
struct tls_paths;
struct dpud_setup {
    const char *platform_path; /* --platform, or NULL */
    bool eswitch_off;          /* --eswitch off */
    const int *cpus;           /* the workers' CPUs (--cores) */
    unsigned n_cpus;           /* 0: ports polled on the control thread */
    const char *ha_listen;     /* --ha-listen, or NULL */
    const struct tls_paths *tls;
    const struct authz_policy *policy;
};
int dpud_open(struct dpud *, const struct dpud_setup *s, char *err, size_t err_len);
struct cmdtab *dpud_cmdtab(struct dpud *);
int dpud_start(struct dpud *, const struct dpud_setup *s, char *err, size_t err_len);
void dpud_stop(struct dpud *);
void dpud_close(struct dpud *);

/* The command table (commands.c), and the software commands (software.c),
 * which touch no switch state and run beside the workers. */
extern const struct cmd_def dpud_commands[];
extern const size_t dpud_n_commands;
extern const struct cmd_def dpud_software_commands[];
extern const size_t dpud_n_software_commands;
void dpud_software_fini(struct dpud *);

/* dfw.c: the firewall (docs/dfw.md).  dpud_dfw_prepare() compiles the
 * policy of config 'cfg' ("dfw") when it differs from the one in force
 * ('*change'; '*pol' NULL when it turns the firewall off), before anything
 * changes: -EINVAL names what is wrong.  dpud_dfw_apply() puts it in force
 * once the portgroups are set (a failure goes to 'errors').  Commands:
 * dfw.check, dfw.stats, dfw.conn.list. */
struct dfw_policy;
int dpud_dfw_prepare(struct dpud *, json_t *cfg, struct dfw_policy **pol, bool *change, char *err,
                     size_t err_len);
void dpud_dfw_apply(struct dpud *, json_t *cfg, struct dfw_policy *pol, json_t *errors);
extern const struct cmd_def dpud_dfw_commands[];
extern const size_t dpud_n_dfw_commands;

/* monitor.c: collects the DPU's figures every interval (default
 * DPUD_MONITOR_INTERVAL_S, monitor_interval_s in the config; 0: off) and
 * keeps an hour of them; monitor.sample and monitor.history serve them to
 * hostd.  The switch's counters are read in the 1 s tick's pause
 * (dpud_monitor_switch), the rest after it (dpud_monitor_finish). */
#define DPUD_MONITOR_INTERVAL_S 20
extern const struct cmd_def dpud_monitor_commands[];
extern const size_t dpud_n_monitor_commands;
int dpud_monitor_init(struct dpud *, char *err, size_t err_len);
void dpud_monitor_fini(struct dpud *);
/* Whether a collection is due at 'now_ms' (monotonic). */
bool dpud_monitor_due(const struct dpud *, uint64_t now_ms);
void dpud_monitor_switch(struct dpud *);
void dpud_monitor_finish(struct dpud *);
/* A new interval (seconds, 0..3600; 0 turns collection off). */
void dpud_monitor_set_interval(struct dpud *, unsigned interval_s);

/* ha.c: dual-DPU high availability: heartbeats with hostd on 'listen' (mTLS,
 * peers of 'policy', kept by the caller), roles, fencing, announcements, on a
 * thread of its own (ha.c says how).  dpud_ha_configure() (control thread, at each
 * configuration) says whether this DPU is one of an active-standby pair and
 * which vNICs it would announce ('ports': the configuration's, with "mac").
 * dpud_ha_json(): {"role", "fenced"} or null without HA.  Accept NULL. */
int dpud_ha_start(struct dpud *, const char *listen, const struct tls_paths *tls,
                  const struct authz_policy *policy, char *err, size_t err_len);
void dpud_ha_stop(struct dpud *);
void dpud_ha_configure(struct dpud *, bool active_standby, json_t *ports);
json_t *dpud_ha_json(const struct dpud *);

/* A port's counters with what the eswitch forwarded for it. */
struct dpud_port_totals {
    uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes;
    uint64_t drops_total;
    struct sw_port_stats sw;      /* the slow path's own, drops by reason */
    struct eswitch_port_stats es; /* the eswitch's */
};
void dpud_port_totals(struct dpud *, const struct sw_port *, struct dpud_port_totals *out);

/* support.c: support.collect, this DPU's part of a support bundle (lcm/support.h):
 * its directory's logs, configuration, boot history and versions.  Reads only
 * files: runs unguarded, the workers keep switching. */
int dpud_cmd_support_collect(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err,
                             size_t err_len);

/* Adds a port to the switch and to the event loop.  'backend' NULL: the
 * interface 'name' with dpud's backend; DPUD_VHOST_USER: a vhost-user port
 * listening on vhost_dir/NAME.sock, or, with 'connect', connecting to the
 * front-end's socket at that path (client mode).  Returns the port id or
 * -errno with '*err' set. */
#define DPUD_VHOST_USER "vhost-user"
int dpud_port_add(struct dpud *, const char *name, enum sw_port_kind kind, const char *pg,
                  const char *backend, const char *connect, char *err, size_t err_len);
/* Writes the socket path of vhost-user port 'name' into 'buf'.  Returns
 * -ENAMETOOLONG, -ENOTDIR (dpud has no --dir) or 0. */
int dpud_vhost_path(const struct dpud *, const char *name, char *buf, size_t len);
int dpud_port_del(struct dpud *, const char *name);

/* Sets up the eswitch tier (NULL 'es': none): d->off, which pauses the
 * workers to revalidate (offload_revalidate(), about once a second).  Takes
 * ownership of 'es'. */
void dpud_eswitch_init(struct dpud *, struct eswitch *es);

/* Starts 'n' workers pinned to 'cpus'.  Returns 0 or -errno with '*err' set. */
int dpud_workers_start(struct dpud *, const int *cpus, unsigned n, char *err, size_t err_len);
void dpud_workers_stop(struct dpud *);
/* Keeps the workers off the switch until the matching dpud_resume(); nests.
 * Control thread only; no-ops without workers. */
void dpud_pause(struct dpud *);
void dpud_resume(struct dpud *);
/* Gives port 'id' (its backend's descriptor 'fd', or -1) to the least busy
 * worker; returns the worker's index or -errno.  Call while paused. */
int dpud_worker_attach(struct dpud *, uint16_t id, int fd);
void dpud_worker_detach(struct dpud *, uint16_t id, int fd);

/* Applies a whole desired configuration (see config.apply in commands.c). */
int dpud_config_apply(struct dpud *, json_t *config, char *err, size_t err_len);

#endif
