/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hostd: the host agent.  Holds the host's desired switch state (portgroups,
 * VMs and their vNICs), keeps it on disk, pushes it to each DPU over the
 * internal network (HTTP/JSON over mutual TLS) and reads the DPUs' state back.
 * It reaches a DPU only through that channel.
 *
 *     desired state (hostd.json) --generation N--> dpud config.apply
 *     every second: dpu.info (heartbeat); generation differs -> push again
 *
 * The modules, lowest first; each calls only those below it, and what must
 * go up (an event, a changed configuration, the HA figures) goes through
 * the hooks that main() wires (struct hostd_hooks):
 *
 *     main.c            options and wiring
 *     hostd.c           its life: open, start, stop, close; the command table
 *     commands.c, monitor-cmd.c, software.c, support.c   the command tables
 *     ha.c (a thread), monitor.c (a thread)
 *     dpu.c             calls to the DPUs, the config push
 *     platform.c        what the platform (the lab) does: VMs, VFs, reboot
 *     config.c, hooks.c the desired state on disk; the hooks
 *
 * Thread-safety: the event loop's thread runs the commands and owns the
 * desired state ('config') and the DPUs' view; ha.c and monitor.c run a
 * thread each and keep their state under their own mutex (their headers
 * below say what may be called from where).  Calls to DPUs block the calling
 * thread for at most their timeout (short: the internal network is one veth
 * hop).
 */
#ifndef DSE_HOSTD_H
#define DSE_HOSTD_H

#include <event2/event.h>
#include <jansson.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdint.h>

#include "daemons/common/identity.h"
#include "lib/cmdtab.h"
#include "platform/platform.h"

struct httpc_session;
struct hostd_monitor;
struct hostd_ha;
struct hostd_dfwsync;
struct hostd_install;

/* join.c: host.join {manager, token}, from the control socket only: the
 * host and its DPUs get certificates of the manager's CA (DESIGN.md
 * section 11). */
extern const struct cmd_def hostd_join_commands[];
extern const size_t hostd_n_join_commands;

/* dfw.c: the firewall's policy (docs/dfw.md): dfw.set, dfw.show, dfw.stats,
 * dfw.conn.list.  In config.c: hostd_dfw_for_dpus(), the policy of the
 * config as the DPUs take it (config.apply's "dfw"), or NULL (off);
 * hostd_dfw_expand(), 'policy' so (a new reference): its groups' "vms"
 * become their MACs ('*unknown', when given, names a VM this host lacks). */
extern const struct cmd_def hostd_dfw_commands[];
extern const size_t hostd_n_dfw_commands;
extern const struct cmd_def hostd_migrate_commands[]; /* migrate.c */
extern const size_t hostd_n_migrate_commands;
struct hostd;
json_t *hostd_dfw_for_dpus(struct hostd *);
json_t *hostd_dfw_expand(struct hostd *, json_t *policy, const char **unknown);

#define HOSTD_MAX_DPUS 2
#define HOSTD_DPU_TIMEOUT_MS 1000

enum dpu_state { DPU_UNKNOWN, DPU_READY, DPU_UNREACHABLE };

struct hostd_dpu {
    char name[16]; /* "dpu1" */
    char addr[64]; /* internal network address */
    uint16_t port;
    uint16_t ha_port; /* heartbeats (ha.c): the API port + 1 */
    char cn[64];      /* expected certificate CN */
    enum dpu_state state;
    char last_error[256];
    json_t *info; /* last dpu.info reply, or NULL */
    uint64_t last_seen_ms;
};

/* Where a DPU's device directory can be read without its agent (--dpu-oob):
 * the out-of-band path, as a BMC console would give it. */
struct hostd_oob {
    char name[16]; /* "dpu1" */
    const char *dir;
};

struct hostd;
struct metric_set;

/* Calls from a lower module to a higher one, wired by main(). */
struct hostd_hooks {
    /* The desired state changed and was saved (config.c): the HA mode,
     * heartbeats and the VMs' VFs follow.  Event loop. */
    void (*config_changed)(struct hostd *);
    /* An event {type, object, message} to log (and to feed event alarms).
     * Any thread. */
    void (*event)(struct hostd *, const char *type, const char *object, const char *msg);
    /* Adds figures of other modules (HA) to the host's own metrics.  The
     * monitor's thread or the event loop. */
    void (*metrics)(const struct hostd *, struct metric_set *);
};

struct hostd {
    const char *name; /* "dse-h1" */
    const char *dir;
    const char *lab_prefix;   /* --lab: the lab's prefix, or NULL on hardware */
    const char *lab_cmd;      /* --lab-cmd: the path of dse-lab */
    struct platform platform; /* main.c's: VMs, vNICs, reboot (zeroed: none) */
    struct event_base *base;
    SSL_CTX *client_ssl;
    struct agent_identity identity; /* the certificate and CRL of client_ssl and the API */
    struct hostd_dpu dpus[HOSTD_MAX_DPUS];
    unsigned n_dpus;
    json_t *config; /* desired state, see config.c */
    json_t *saved;  /* 'config' as it is on disk: what a failed save restores */
    char config_path[4096];
    struct hostd_oob oob[HOSTD_MAX_DPUS];
    unsigned n_oob;
    struct hostd_monitor *mon;     /* monitor.c */
    struct hostd_ha *ha;           /* ha.c, with DPUs */
    struct hostd_dfwsync *dfwsync; /* dfwsync.c, with two DPUs */
    const char *metrics_listen;    /* --metrics-listen ADDR:PORT, or NULL */
    struct hostd_hooks hooks;
    struct event *tick; /* hostd_start()'s, every second */

    /* software.c: the last install (NULL: none yet), and how many were
     * planned (their ids). */
    struct hostd_install *install;
    unsigned n_installs;
};

struct tls_paths;
/* hostd.c: its life.  hostd_open() makes the event base, loads the desired
 * state and the TLS client context (the fields of 'h' from the options set);
 * hostd_start() starts the monitor, HA and the second's tick (after the
 * servers); hostd_stop() and hostd_close() undo them (each accepts a
 * half-done one).  Each returns 0, or -errno with one line in 'err'. */
int hostd_open(struct hostd *, const struct tls_paths *tls, char *err, size_t err_len);
int hostd_start(struct hostd *, char *err, size_t err_len);
void hostd_stop(struct hostd *);
void hostd_close(struct hostd *);
/* The command table of every module: NULL on ENOMEM. */
struct cmdtab *hostd_cmdtab(struct hostd *);

/* hooks.c: the hooks, called by the modules.  hostd_event() formats the
 * message and logs it through hooks.event (or the log, when none); any
 * thread.  hostd_config_changed() runs hooks.config_changed; event loop. */
void hostd_event(struct hostd *, const char *type, const char *object, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void hostd_config_changed(struct hostd *);

/* ha.c: dual-DPU high availability (ha.c draws it).  hostd.json says the
 * mode ("dpu_mode": "active-standby" or "independent", the default) and the
 * heartbeat interval ("heartbeat_ms", default HOSTD_HA_HEARTBEAT_MS); a DPU
 * that misses HOSTD_HA_MISS heartbeats has failed; a DPU cut off from hostd
 * fences itself after fence_ms (HOSTD_HA_FENCE_MS, at least 10 heartbeats).
 * Independent DPUs only report their health: a heartbeat every
 * HOSTD_HA_IDLE_MS, not a failover's worth of them.  The active DPU and the
 * epoch are kept in DIR/ha.json. */
#define HOSTD_HA_HEARTBEAT_MS 2
#define HOSTD_HA_IDLE_MS 100
#define HOSTD_HA_MISS 3
#define HOSTD_HA_FENCE_MS 500
int hostd_ha_start(struct hostd *, char *err, size_t err_len);
void hostd_ha_stop(struct hostd *);
/* DIR/ha.json: the active and the preferred DPU (indices into h->dpus) and
 * the epoch. */
struct hostd_ha_state {
    int active, preferred;
    uint64_t epoch;
};
/* Parses ha.json's 'text' ('len' bytes; NULL: no file) for 'h''s DPUs: 0,
 * or -EINVAL with a one-line reason (not JSON, a DPU this host does not
 * have, an epoch out of 0..INT64_MAX-1); '*out' then holds what the file
 * says that is good, and the defaults (the first DPU, epoch 0) for the
 * rest. */
int hostd_ha_state_parse(const struct hostd *h, const char *text, size_t len,
                         struct hostd_ha_state *out, char *err, size_t err_len);
/* The configuration changed: mode, interval, VMs (their VFs are put with
 * their owner).  Event loop (a hooks.config_changed). */
void hostd_ha_reconfigure(struct hostd *);
/* A manual failover (or failback) to DPU 'to'; waits for it.  Returns 0,
 * -ENOENT, -ENOTSUP (not active-standby), -EALREADY, -EHOSTUNREACH (the
 * target is not healthy: '*err' says why). */
int hostd_ha_failover(struct hostd *, const char *to, char *err, size_t err_len);
/* A pair just formed (dpu-mode active-standby): its active DPU is the
 * preferred one, where automatic failback returns. */
void hostd_ha_prefer_active(struct hostd *);
/* The pair as the firewall's sync sees it: whether the DPUs are one, the
 * active and the standby (indices), whether each is healthy now, the epoch
 * (a failover changes it) and the sync interval ("dfw_sync_ms", 0: off).
 * Any thread: a moment under the HA mutex. */
struct hostd_ha_view {
    bool pair, active_ok, standby_ok;
    int active, standby;
    uint64_t epoch;
    unsigned sync_ms;
};
void hostd_ha_view(struct hostd *, struct hostd_ha_view *out);
/* DPU 'i''s role and health: {role, healthy, why, fenced, uplinks, ...}. */
json_t *hostd_ha_json(struct hostd *, unsigned i);
/* {mode, active, epoch, heartbeat_ms, failovers, last_failover, ...}. */
json_t *hostd_ha_status(struct hostd *);
/* Adds the HA figures (role and health of each DPU, failovers) to 's'
 * (a hooks.metrics). */
void hostd_ha_metrics(const struct hostd *, struct metric_set *s);
/* The DPU that owns VM 'vm''s vNIC: the active one in active-standby mode,
 * else the VM's own ("dpu"). */
const char *hostd_vm_owner(struct hostd *, json_t *vm);

/* dfwsync.c: the firewall's connections carried from the active DPU to
 * the standby (docs/dfw.md "High availability"), on a thread of its own so
 * that a slow DPU delays neither heartbeats nor commands: every
 * "dfw_sync_ms" (HOSTD_DFW_SYNC_MS; 0: off) what changed since the last
 * round (dfw.conn.export since its cursor) goes to the standby
 * (dfw.conn.import); everything, the standby's table emptied first, when
 * the pair forms, after a failover, when either DPU's table is new (a
 * restart, a resize) or a round failed.  hostd_dfwsync_json(): its state
 * for dfw.stats; event loop or any thread. */
#define HOSTD_DFW_SYNC_MS 500
int hostd_dfwsync_start(struct hostd *, char *err, size_t err_len);
void hostd_dfwsync_stop(struct hostd *);
json_t *hostd_dfwsync_json(struct hostd *);

/* monitor.c: the host's and its DPUs' figures, alarms, events and
 * notifications.  A thread of its own polls every DPU's last sample
 * (monitor.sample, 5 times a second on a kept-alive connection), samples the
 * host every interval, feeds the alarm engine, logs events (DIR/log/
 * events.jsonl) and sends notifications; commands read its state under its
 * mutex.  /metrics (Prometheus text) is served on --metrics-listen. */
#define HOSTD_MONITOR_INTERVAL_S 20
extern const struct cmd_def hostd_monitor_commands[];
extern const size_t hostd_n_monitor_commands;
int hostd_monitor_start(struct hostd *, char *err, size_t err_len);
void hostd_monitor_stop(struct hostd *);
/* The configuration changed (interval, alarm definitions, notifications). */
void hostd_monitor_reconfigure(struct hostd *);
/* Logs an event {type, object, message} (and feeds event alarms).  Any
 * thread (a hooks.event). */
void hostd_monitor_event(struct hostd *, const char *type, const char *object, const char *msg);

/* software.c: install, list, rollback, reboot (their own command table). */
extern const struct cmd_def hostd_software_commands[];
extern const size_t hostd_n_software_commands;
/* Waits for a running install to end (its threads use 'h') and frees the
 * last one.  Event loop, at stop. */
void hostd_software_stop(struct hostd *);

/* config.c: the desired state {generation, mac_age_s, next_vm, portgroups: [{name,
 * vlan, mtu}], vms: [{name, portgroup, mac, ip, dpu}]}. */
#define HOSTD_CONFIG_MAX (16 * 1024 * 1024) /* a state file hostd reads */
int hostd_config_load(struct hostd *, char *err, size_t err_len);
/* Parses hostd.json's 'text' ('len' bytes; NULL: no file, the defaults) into
 * '*out' (a new object, every list and setting there).  Returns 0, or -EINVAL
 * (-ENOMEM) with a one-line reason: not JSON, not an object, a list that is
 * not an array. */
int hostd_config_parse(const char *text, size_t len, json_t **out, char *err, size_t err_len);
/* Bumps the generation and writes the state atomically.  Returns 0, or -EIO
 * (-ENOMEM) with a reason, and then 'config' is again what is on disk: a
 * change that cannot be saved is undone whole, so no command half-applies.
 * Whatever the caller held of 'config' is stale after a failure. */
int hostd_config_commit(struct hostd *, char *err, size_t err_len);
/* hostd_config_commit(), then the config pushed to the DPUs at once (the
 * heartbeat would catch up within a second anyway). */
int hostd_commit(struct hostd *, char *err, size_t err_len);
json_t *hostd_config_find(json_t *array, const char *name);
/* Removes the element named 'name' from 'array' and returns it (a new
 * reference; put it back with json_array_append_new() to undo), or NULL. */
json_t *hostd_config_take(json_t *array, const char *name);

/* dpu.c */
int hostd_dpu_parse(struct hostd_dpu *dpu, const char *spec, char *err, size_t err_len);
struct hostd_dpu *hostd_dpu_find(struct hostd *, const char *name);
/* The DPUs' identities from dpu.info ([{name, vendor, model, hw_version,
 * firmware, serial, version}]; every DPU must answer).  Returns 0 or -errno. */
int hostd_dpu_identities(struct hostd *, json_t **set, char *err, size_t err_len);
/* The two DPUs of a host must be the same hardware running the same
 * firmware: 0, or -ENOEXEC with '*err' naming what differs. */
int hostd_dpus_check_identical(json_t *set, char *err, size_t err_len);
/* Both of the above.  Returns 0 or -errno. */
int hostd_dpus_identical(struct hostd *, char *err, size_t err_len);
/* Calls 'cmd' on 'dpu' without touching hostd's view of it, so that any
 * thread may: returns 0 with '*result' (the envelope's result) or -errno with
 * '*err'; '*reached' says whether the DPU answered at all. */
int hostd_dpu_request(const struct hostd *, const struct hostd_dpu *dpu, const char *cmd,
                      json_t *args, int timeout_ms, json_t **result, bool *reached, char *err,
                      size_t err_len);
/* A stream of calls to 'dpu' on one connection (lib/http.h), for one thread
 * at a time.  NULL on ENOMEM; the caller destroys it with
 * httpc_session_destroy(). */
struct httpc_session *hostd_dpu_session(const struct hostd *, const struct hostd_dpu *dpu);
/* hostd_dpu_request() on session 's', with an optional binary payload (at
 * most HTTP_MAX_BODY bytes, borrowed). */
int hostd_dpu_session_call(struct httpc_session *s, const struct hostd_dpu *dpu, const char *cmd,
                           json_t *args, const void *payload, size_t len, int timeout_ms,
                           json_t **result, char *err, size_t err_len);
/* The same through TLS context 'ctx' rather than the host's own (a join:
 * one that checks no CRL, so that a removed host can join again with its
 * DPUs). */
int hostd_dpu_call_ctx(SSL_CTX *ctx, const struct hostd_dpu *dpu, const char *cmd, json_t *args,
                       json_t **result, char *err, size_t err_len);
/* Calls 'cmd' with 'args' (borrowed) on every DPU; returns {"dpu1": result,
 * ...} with failures as {"error": "..."} so that one unreachable DPU does
 * not hide the others. */
json_t *hostd_dpus_call_all(struct hostd *, const char *cmd, json_t *args);
/* The same, from the event loop, updating the DPU's state (ready/unreachable). */
int hostd_dpu_call(struct hostd *, struct hostd_dpu *dpu, const char *cmd, json_t *args,
                   json_t **result, char *err, size_t err_len);
/* The same with a timeout of 'timeout_ms' instead of HOSTD_DPU_TIMEOUT_MS. */
int hostd_dpu_call_ms(struct hostd *, struct hostd_dpu *dpu, const char *cmd, json_t *args,
                      int timeout_ms, json_t **result, char *err, size_t err_len);
/* Heartbeat every DPU and push the config where its generation differs,
 * and the revocation list where the DPU's is older than the host's. */
void hostd_dpus_sync(struct hostd *);
/* Pushes the config to every reachable DPU now. */
void hostd_dpus_push(struct hostd *);

/* platform.c: hostd's VMs on its platform (h->platform: platform/platform.h;
 * the reboot and a vNIC's move are platform_reboot() and platform_vnic_move()
 * of it).  Creates VM 'vm' with its vNIC on DPU 'dpu' ("dpu1":
 * hostd_vm_owner()). */
int hostd_platform_vm_create(struct hostd *, json_t *vm, const char *dpu, unsigned incoming,
                             char *err, size_t err_len);
int hostd_platform_vm_destroy(struct hostd *, json_t *vm, char *err, size_t err_len);
/* DIR/platform.json of the host: {"hwmon": DIR} (its sensors, "" for none). */
struct hostd_platform {
    char hwmon[1024];
};
/* Parses platform.json's 'text' ('len' bytes; NULL: no file, no sensors).
 * Returns 0, or -EINVAL with a one-line reason (not a JSON object, "hwmon"
 * not a path that fits); '*out' is then empty. */
int hostd_platform_parse(const char *text, size_t len, struct hostd_platform *out, char *err,
                         size_t err_len);
/* Representor name of a VM's vNIC on its DPU ("rep-vm1"). */
void hostd_vm_rep_name(const char *vm, char *buf, size_t len);

/* support.c: the support bundle.  hostd_support_oob_parse() takes a --dpu-oob
 * "NAME=DIR"; hostd_support_oob_check() then checks that each names a --dpu.
 * Both return 0 or -EINVAL with '*err'.  support.bundle collects the host's
 * directory and live state, and each DPU's part over the internal network or,
 * when the DPU does not answer, through its out-of-band path (lcm/support.h);
 * it blocks the loop while it runs (seconds). */
int hostd_support_oob_parse(struct hostd *, const char *spec, char *err, size_t err_len);
int hostd_support_oob_check(const struct hostd *, char *err, size_t err_len);
int hostd_cmd_support_bundle(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err,
                             size_t err_len);

extern const struct cmd_def hostd_commands[];
extern const size_t hostd_n_commands;

#endif
