/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http: a daemon's HTTP/JSON API over mutual TLS (libevent evhttp + OpenSSL),
 * serving its command table, and a small blocking client to call another
 * agent's API.
 *
 * Routes: "POST /api/v1/CMD" with a JSON object body (the arguments; an empty
 * body means {}), and "GET /api/v1/CMD" (no arguments).  Bulk data goes as
 * "POST /api/v1/CMD" with Content-Type application/octet-stream: the body is
 * the handler's binary payload (cmd_ctx.payload) and the arguments, a JSON
 * object, ride in the "Dse-Args" header.  The reply body is the
 * cmdtab envelope; the status is 200 when ok, 400 for code usage/bad-request,
 * 404 for notfound/unknown-command, 409 for exists, 500 otherwise, and 403
 * (code "forbidden") when the caller may not: its certificate names no role
 * (authz.h), its role and CN are not in the listener's policy, or the command
 * does not allow its role (cmd_def.roles).  Bodies over 1 MiB get 413.  Every
 * refused peer (TLS handshake failed, no certificate, certificate from another
 * CA or expired, no role, peer or command not allowed) is logged at warn level
 * with its address and reason (rate-limited) and counted (authz_count).
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

#include "lib/authz.h"
#include "lib/cmdtab.h"

struct http_server;

/* A JSON body or a binary payload: a firewall policy of 10,000 rules, each
 * with a group and a service, is about 2 MiB of JSON.  Only peers that
 * passed mTLS get to send one. */
#define HTTP_MAX_BODY (16 * 1024 * 1024)
#define HTTP_PAYLOAD_TYPE "application/octet-stream"

/* Listens on 'addr':'port' (an IPv4/IPv6 literal).  'policy' (copied) says
 * which peers may call at all; without one (NULL or no peer) the server does
 * not start.  The server takes a reference to 'ctx'.  Returns NULL and sets
 * one line in 'err' on failure. */
struct http_server *http_server_create(struct event_base *base, const char *addr, uint16_t port,
                                       SSL_CTX *ctx, struct cmdtab *tab,
                                       const struct authz_policy *policy, char *err,
                                       size_t err_len);
void http_server_destroy(struct http_server *); /* accepts NULL */

struct httpc_session;

/* A peer to call. */
struct httpc {
    SSL_CTX *ctx;     /* from tls_client_ctx() */
    const char *host; /* IPv4/IPv6 literal */
    uint16_t port;
    const char *expect_cn; /* server certificate CN must equal this; NULL: any */
    unsigned expect_role;  /* its one role (authz.h) must be this; 0: any */
    int timeout_ms;        /* for the whole call */
    /* When not NULL, httpc_call() and httpc_call_payload() go over this
     * session's kept connection (below), made for the same peer, instead
     * of a connection of their own: a caller that holds one per peer keeps
     * its calls as they are. */
    struct httpc_session *session;
};

/* POSTs 'args' (borrowed; NULL means {}) to /api/v1/'cmd' and returns 0 with
 * '*reply' set to the envelope (caller owns), or -errno with one line in 'err':
 * -ECONNREFUSED, -ETIMEDOUT, -EHOSTUNREACH,
 * -EACCES (TLS verification failed or CN mismatch), -EPROTO (bad HTTP/JSON). */
int httpc_call(const struct httpc *peer, const char *cmd, json_t *args, json_t **reply, char *err,
               size_t err_len);
/* The result of reply envelope 'env' (taken; lib/cmdtab.h): 0 and
 * '*result' (a new reference, NULL for JSON null; 'result' may be NULL),
 * or for {"ok": false} -EINVAL ("usage"), -ENOENT ("notfound"), -EIO (any
 * other code) with "WHAT: its error" in 'err'. */
int httpc_unwrap(json_t *env, const char *what, json_t **result, char *err, size_t err_len);
/* httpc_call() and httpc_unwrap() (WHAT: 'cmd'). */
int httpc_call_result(const struct httpc *peer, const char *cmd, json_t *args, json_t **result,
                      char *err, size_t err_len);
/* The same with a binary payload of 'len' bytes (at most HTTP_MAX_BODY;
 * borrowed) beside 'args'. */
int httpc_call_payload(const struct httpc *peer, const char *cmd, json_t *args, const void *payload,
                       size_t len, json_t **reply, char *err, size_t err_len);

/* A REST call (the manager's API, api.h): 'method' (GET, POST, PUT,
 * DELETE) of 'target' ("/api/v1/hosts?limit=5", percent-encoded), with
 * "Authorization: Bearer 'bearer'" when not NULL and 'body' (borrowed; NULL:
 * none).  Returns 0 with the HTTP status in '*status' and the reply's JSON
 * object in '*reply' (caller owns), whatever the status; or -errno with one
 * line in 'err' as httpc_call(), -EINVAL for bad arguments. */
int httpc_rest(const struct httpc *peer, const char *method, const char *target, const char *bearer,
               json_t *body, int *status, json_t **reply, char *err, size_t err_len);

/* A session keeps one TLS connection open across calls (HTTP/1.1
 * keep-alive), for a stream of calls to one peer: no handshake per call.
 * httpc_session_create() copies 'peer' (its strings and SSL_CTX must outlive
 * the session; its 'session' is not used) and connects at the first call;
 * returns NULL on ENOMEM.
 * httpc_session_call() is httpc_call_payload() on the session's connection
 * ('payload' may be NULL), waiting at most 'timeout_ms' (0: the peer's
 * timeout_ms); a kept connection that the server closed
 * meanwhile is replaced once, when it failed before any reply came.  A
 * session is used by one thread at a time. */
struct httpc_session *httpc_session_create(const struct httpc *peer);
int httpc_session_call(struct httpc_session *, const char *cmd, json_t *args, const void *payload,
                       size_t len, int timeout_ms, json_t **reply, char *err, size_t err_len);
void httpc_session_destroy(struct httpc_session *); /* accepts NULL */

#endif
