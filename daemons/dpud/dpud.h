/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dpud: the DPU agent.  Owns the DPU's switch (dataplane/switch.h), runs it on
 * the event loop, and serves its command table to hostd (mTLS over the
 * internal network) and to local dsectl (control socket).
 *
 * Thread-safety: single-threaded (libevent); the data plane polls on the same
 * loop.  Poll-mode workers are a later stage.
 */
#ifndef DSE_DPUD_H
#define DSE_DPUD_H

#include <event2/event.h>
#include <jansson.h>
#include <stdint.h>

#include "cmdtab.h"
#include "eswitch.h"
#include "switch.h"

#define DPUD_MAX_UPLINKS SW_MAX_UPLINKS

struct dpud_port_cb {
    struct dpud *d;
    uint16_t id;
};

struct dpud {
    const char *name;
    struct event_base *base;
    struct sw *sw;
    struct event *port_ev[SW_MAX_PORTS];
    struct dpud_port_cb port_cb[SW_MAX_PORTS];
    const char *uplinks[DPUD_MAX_UPLINKS];
    unsigned n_uplinks;
    const char *backend; /* forced port backend, or NULL for automatic */
    const char *vhost_dir; /* where vhost-user ports listen (DIR/run/vhost), or NULL */
    struct eswitch *es;  /* the flow tier, or NULL (all flows in software) */
    bool on_eswitch[SW_MAX_PORTS];
    uint64_t last_reval_ns;
    json_t *platform;    /* vendor, model, hw_version, firmware, serial */
    int64_t generation;  /* of the config hostd last applied; -1: none */
    uint64_t started_ms;
};

/* The command table (commands.c). */
extern const struct cmd_def dpud_commands[];
extern const size_t dpud_n_commands;

/* Adds a port to the switch and to the event loop.  'backend' NULL: the
 * interface 'name' with dpud's backend; DPUD_VHOST_USER: a vhost-user port
 * listening on vhost_dir/NAME.sock.  Returns the port id or -errno with '*err'
 * set. */
#define DPUD_VHOST_USER "vhost-user"
int dpud_port_add(struct dpud *, const char *name, enum sw_port_kind kind, const char *pg,
                  const char *backend, char **err);
/* Updates the carrier of ports without a kernel interface (vhost-user: a
 * client is attached). */
void dpud_port_update_carrier(struct dpud *, uint16_t id);
/* Writes the socket path of vhost-user port 'name' into 'buf'.  Returns
 * -ENAMETOOLONG, -ENOTDIR (dpud has no --dir) or 0. */
int dpud_vhost_path(const struct dpud *, const char *name, char *buf, size_t len);
int dpud_port_del(struct dpud *, const char *name);

/* Sets up the eswitch tier (NULL 'es': none).  Takes ownership of 'es'. */
void dpud_eswitch_init(struct dpud *, struct eswitch *es);
/* Revalidates every eswitch flow against the switch; removes the stale and the
 * idle ones.  Call about once a second. */
void dpud_eswitch_revalidate(struct dpud *);

/* Applies a whole desired configuration (see config.apply in commands.c). */
int dpud_config_apply(struct dpud *, json_t *config, char **err);

#endif
