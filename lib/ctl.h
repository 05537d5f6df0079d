/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ctl: the local control socket of a daemon (a Unix stream socket), used by
 * dsectl on the same machine.
 *
 * Protocol: newline-delimited JSON.  The client writes one request per line,
 * {"cmd": "port.list", "args": {...}}, and reads one reply envelope per line
 * (cmdtab.h).  A connection may carry any number of requests.  A request longer
 * than CTL_MAX_REQUEST bytes is answered with a "bad-request" envelope and the
 * connection is closed.  The socket file is created mode 0600 (root only) and
 * replaced if stale.
 *
 * Thread-safety: the server runs on one libevent base; ctl_call() is a blocking
 * client usable from any thread.
 */
#ifndef DSE_CTL_H
#define DSE_CTL_H

#include <event2/event.h>
#include <jansson.h>

#include "lib/cmdtab.h"

#define CTL_MAX_REQUEST (16 * 1024 * 1024) /* as lib/http.h's HTTP_MAX_BODY: a policy */

struct ctl_server;

/* Listens on 'path'.  Returns NULL and sets errno on failure. */
struct ctl_server *ctl_server_create(struct event_base *base, const char *path, struct cmdtab *tab);
/* Closes the socket and unlinks its path.  Accepts NULL. */
void ctl_server_destroy(struct ctl_server *);

/* Sends one request to the daemon at 'path' and waits at most 'timeout_ms' for
 * its reply.  Returns 0 and sets '*reply' (the envelope; caller owns), or -errno
 * (-ENOENT/-ECONNREFUSED: no daemon, -ETIMEDOUT, -EPROTO: bad reply). */
int ctl_call(const char *path, const char *cmd, json_t *args, int timeout_ms, json_t **reply);

#endif
