/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http: a daemon's HTTP/JSON API over mutual TLS (libevent evhttp + OpenSSL),
 * serving its command table, and a small blocking client to call another
 * agent's API.
 *
 * Routes: "POST /api/v1/CMD" with a JSON object body (the arguments; an empty
 * body means {}), and "GET /api/v1/CMD" (no arguments).  The reply body is the
 * cmdtab envelope; the status is 200 when ok, 400 for code usage/bad-request,
 * 404 for notfound/unknown-command, 409 for exists, 500 otherwise, and 403 when
 * the peer's certificate CN is not in the allow-list.  Bodies over 1 MiB get
 * 413.  Every refused peer (TLS handshake failed, no certificate, certificate
 * from another CA, CN not allowed) is logged at warn level with its address and
 * reason (rate-limited).
 *
 * Thread-safety: the server lives on one event base.  httpc_call() blocks and is
 * safe from any thread as long as each thread passes its own 'struct httpc'
 * or the SSL_CTX is shared read-only.
 */
#ifndef DSE_HTTP_H
#define DSE_HTTP_H

#include <event2/event.h>
#include <jansson.h>
#include <openssl/ssl.h>
#include <stdint.h>

#include "cmdtab.h"

struct http_server;

/* Listens on 'addr':'port' (an IPv4/IPv6 literal).  'allowed_cns' is a
 * NULL-terminated list of client CNs that may call, or NULL to allow any peer
 * whose certificate chains to the CA.  The server takes a reference to 'ctx'.
 * Returns NULL and sets '*err' on failure. */
struct http_server *http_server_create(struct event_base *base, const char *addr,
                                       uint16_t port, SSL_CTX *ctx, struct cmdtab *tab,
                                       const char *const *allowed_cns, char **err);
void http_server_destroy(struct http_server *); /* accepts NULL */

/* A peer to call. */
struct httpc {
    SSL_CTX *ctx;        /* from tls_client_ctx() */
    const char *host;    /* IPv4/IPv6 literal */
    uint16_t port;
    const char *expect_cn; /* server certificate CN must equal this; NULL: any */
    int timeout_ms;      /* for the whole call */
};

/* POSTs 'args' (borrowed; NULL means {}) to /api/v1/'cmd' and returns 0 with
 * '*reply' set to the envelope (caller owns), or -errno with '*err' set
 * (malloc'd one line): -ECONNREFUSED, -ETIMEDOUT, -EHOSTUNREACH,
 * -EACCES (TLS verification failed or CN mismatch), -EPROTO (bad HTTP/JSON). */
int httpc_call(const struct httpc *peer, const char *cmd, json_t *args, json_t **reply,
               char **err);

#endif
