/* SPDX-License-Identifier: Apache-2.0 */
/*
 * manager: dse-manager's life, as daemons/manager/main.c wires it: its state
 * directory, the cluster CA it holds, its own TLS identity, the store, the
 * API and the HTTPS listener, which serves the web page too (web.h).
 *
 *     STATE/ca/            the cluster CA (ca.h); made at the first start
 *                          unless one is there (the lab puts its own)
 *     STATE/tls/           the manager's identity when no --cert is given:
 *                          issued by that CA, role manager, SAN IP the
 *                          listen address
 *     STATE/store.db       the store (store.h)
 *     STATE/admin-password the first admin's password (0600), written when
 *                          the store has no user
 *
 * Thread-safety: the event loop's.
 */
#ifndef DSE_MANAGER_H
#define DSE_MANAGER_H

#include <event2/event.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/cmdtab.h"

struct manager_params {
    const char *state_dir;
    const char *addr; /* to listen on: an IPv4 or IPv6 literal */
    uint16_t port;
    const char *name;       /* the CN of a certificate it issues itself */
    const char *cert, *key; /* its identity, or NULL: STATE/tls */
    const char *web_dir;    /* the web page's files (web.h), or NULL: no page */
    const char *js_dir;     /* the vendor libraries' (web.h), or NULL: none */
    unsigned interval_ms;   /* of the reconciler's rounds (reconcile.h); 0: its default */
    uint64_t task_keep_ms;  /* how long ended tasks are kept (task.h); 0: TASK_KEEP_MS */
};

struct manager;

/* Opens the state directory (created 0700), the CA, the TLS identity, the
 * store, and makes the first admin if there is no user.  Returns 0 and
 * '*out', or -errno with one line in 'err'. */
int manager_open(const struct manager_params *p, struct manager **out, char *err, size_t err_len);
/* Starts the HTTPS listener on 'base'.  Returns 0 or -errno with 'err'. */
int manager_start(struct manager *, struct event_base *base, char *err, size_t err_len);
void manager_close(struct manager *); /* stops and frees; accepts NULL */

/* The control socket's commands ("manager.info"): NULL on ENOMEM. */
struct cmdtab *manager_cmdtab(struct manager *);

/* Where the first admin's password is, or NULL when it was not written at
 * this start (users existed). */
const char *manager_admin_password_path(const struct manager *);

#endif
