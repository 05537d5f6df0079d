/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http: the HTTP/JSON API server: evhttp on bufferevent_openssl, one route
 * (/api/v1/CMD) onto the command table.  See http.h.
 *
 * TLS refusals (no certificate, wrong CA, expired) happen inside the
 * handshake and are logged and counted by tls.c's callbacks; the policy (the
 * peer's role and CN) and the command's roles are checked here, per request,
 * because only then is the peer's certificate known to evhttp's handler.
 */
#include "lib/http.h"
#include "lib/authz.h"
#include "lib/http-private.h"
#include "lib/log.h"
#include "lib/tls-private.h"
#include "lib/tls.h"
#include "lib/util.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

LOG_MODULE(http);

#define HTTP_TIMEOUT_S 30

struct http_server {
    struct evhttp *http;
    SSL_CTX *ctx;
    struct cmdtab *tab;
    struct authz_policy policy; /* who may call; never empty */
};

static struct log_ratelimit http_rl = LOG_RATELIMIT_INIT(20, 10000);

static struct bufferevent *
bev_cb(struct event_base *base, void *server_)
{
    struct http_server *server = server_;
    return tls_bev_accepting(base, server->ctx);
}

static int
status_for(json_t *env)
{
    if (json_is_true(json_object_get(env, "ok")))
        return 200;
    const char *code = json_string_value(json_object_get(env, "code"));
    if (!code)
        return 500;
    if (!strcmp(code, "usage") || !strcmp(code, "bad-request"))
        return 400;
    if (!strcmp(code, "notfound") || !strcmp(code, "unknown-command"))
        return 404;
    if (!strcmp(code, "exists"))
        return 409;
    if (!strcmp(code, "forbidden"))
        return 403;
    return 500;
}

/* Sends 'env' (consumed) with 'status', or the status from 'env' if 0. */
static void
reply(struct evhttp_request *req, int status, json_t *env)
{
    if (!status)
        status = status_for(env);
    char *s = json_dumps(env, JSON_COMPACT);
    json_decref(env);
    struct evbuffer *buf = evbuffer_new();
    if (!s || !buf || evbuffer_add(buf, s, strlen(s)) || evbuffer_add(buf, "\n", 1)) {
        evhttp_send_error(req, 500, NULL);
        goto out;
    }
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    evhttp_send_reply(req, status, NULL, buf); /* libevent names the reason */
out:
    if (buf)
        evbuffer_free(buf);
    free(s);
}

/* The request as http_request_decode() takes it (http-request.c). */
static int
decode(struct evhttp_request *req, struct http_call *call, json_t **error, int *status)
{
    enum evhttp_cmd_type method = evhttp_request_get_command(req);
    struct evkeyvalq *headers = evhttp_request_get_input_headers(req);
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    struct http_request r = {
        .method = method == EVHTTP_REQ_GET    ? HTTP_GET
                  : method == EVHTTP_REQ_POST ? HTTP_POST
                                              : HTTP_OTHER,
        .path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req)),
        .content_type = evhttp_find_header(headers, "Content-Type"),
        .dse_args = evhttp_find_header(headers, "Dse-Args"),
        .body_len = evbuffer_get_length(in),
    };
    if (r.method == HTTP_POST && r.body_len)
        r.body = (const char *)evbuffer_pullup(in, -1);
    return http_request_decode(&r, call, error, status);
}

/* Refuses a request with 403: logged (rate-limited) and counted. */
static void
refuse(struct evhttp_request *req, enum authz_reason why, const char *addr, const char *cn,
       const char *msg)
{
    authz_count(why);
    log_warn_rl(&http_rl, "peer=%s cn=%s: refused (%s): %s", addr, cn, authz_reason_name(why), msg);
    reply(req, 403, cmdtab_error("forbidden", "%s", msg));
}

static void
request_cb(struct evhttp_request *req, void *server_)
{
    struct http_server *server = server_;
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct bufferevent *bev = evhttp_connection_get_bufferevent(evcon);
    SSL *ssl = bufferevent_openssl_get_ssl(bev);
    char addr[INET6_ADDRSTRLEN + 16];
    char cn[256], why[128];
    unsigned role;

    tls_format_peer_fd(bufferevent_getfd(bev), addr, sizeof addr);
    /* A kept-alive client waits for this reply before it sends again: Nagle
     * would hold the reply's last segment for the client's delayed ACK. */
    int one = 1;
    setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    /* The handshake verified the chain, so a certificate is there; it must
     * name one device (CN) and one role that the policy lets in. */
    enum authz_reason reason;
    if (!ssl) {
        refuse(req, AUTHZ_R_HANDSHAKE, addr, "?", "not a TLS connection");
        return;
    }
    if (tls_peer_authorize(ssl, &server->policy, cn, sizeof cn, &role, &reason, why, sizeof why) <
        0) {
        refuse(req, reason, addr, cn, why);
        return;
    }

    struct http_call call;
    json_t *error;
    int status;
    if (decode(req, &call, &error, &status) < 0) {
        reply(req, status, error);
        return;
    }

    char peer[sizeof addr + sizeof cn + 32];
    snprintf(peer, sizeof peer, "%s cn=%s role=%s", addr, cn, authz_role_name(role));
    json_t *env = cmdtab_dispatch_payload(server->tab, call.name, call.args, call.payload,
                                          call.payload_len, peer, role);
    json_decref(call.args);
    const char *code = json_string_value(json_object_get(env, "code"));
    if (code && !strcmp(code, "forbidden")) {
        json_decref(env);
        snprintf(why, sizeof why, "%.48s: not allowed to role %s", call.name,
                 authz_role_name(role));
        refuse(req, AUTHZ_R_COMMAND, addr, cn, why);
        return;
    }
    reply(req, 0, env);
}

/* Writes the reason into 'err', frees 'server' (may be NULL), returns NULL. */
static struct http_server *create_fail(struct http_server *server, char *err, size_t err_len,
                                       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static struct http_server *
create_fail(struct http_server *server, char *err, size_t err_len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err_vset(err, err_len, 0, fmt, ap);
    va_end(ap);
    http_server_destroy(server);
    return NULL;
}

struct http_server *
http_server_create(struct event_base *base, const char *addr, uint16_t port, SSL_CTX *ctx,
                   struct cmdtab *tab, const struct authz_policy *policy, char *err, size_t err_len)
{
    if (!policy || !policy->n_peers)
        return create_fail(NULL, err, err_len,
                           "no authorization policy (who may call): not listening");
    struct http_server *server = calloc(1, sizeof *server);
    if (!server)
        return create_fail(NULL, err, err_len, "out of memory");
    server->tab = tab;
    server->policy = *policy;
    SSL_CTX_up_ref(ctx);
    server->ctx = ctx;

    server->http = evhttp_new(base);
    if (!server->http)
        return create_fail(server, err, err_len, "cannot create HTTP server");
    evhttp_set_bevcb(server->http, bev_cb, server);
    evhttp_set_gencb(server->http, request_cb, server);
    evhttp_set_max_body_size(server->http, HTTP_MAX_BODY);
    evhttp_set_timeout(server->http, HTTP_TIMEOUT_S);
    evhttp_set_allowed_methods(server->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
                                                 EVHTTP_REQ_DELETE | EVHTTP_REQ_HEAD |
                                                 EVHTTP_REQ_PATCH);
    errno = 0;
    if (!evhttp_bind_socket_with_handle(server->http, addr, port))
        return create_fail(server, err, err_len, "cannot listen on %s port %u: %s", addr, port,
                           errno ? strerror(errno) : "bad address");
    return server;
}

void
http_server_destroy(struct http_server *server)
{
    if (!server)
        return;
    if (server->http)
        evhttp_free(server->http);
    SSL_CTX_free(server->ctx);
    free(server);
}
