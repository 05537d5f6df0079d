/* SPDX-License-Identifier: Apache-2.0 */
/* server: evhttp over TLS in, api_handle() out (server.h). */
#include "manager/server.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/tls.h"
#include "lib/util.h"
#include "manager/web.h"

LOG_MODULE(server);

struct server {
    struct evhttp *http;
    SSL_CTX *ctx;
    struct api *api;
    char *web_dir, *js_dir; /* the page's files (web.h); NULL: none */
};

static struct bufferevent *
bev_cb(struct event_base *base, void *arg)
{
    struct server *s = arg;
    return tls_bev_accepting(base, s->ctx);
}

static const char *
method_name(enum evhttp_cmd_type m)
{
    switch (m) {
    case EVHTTP_REQ_GET:
        return "GET";
    case EVHTTP_REQ_POST:
        return "POST";
    case EVHTTP_REQ_PUT:
        return "PUT";
    case EVHTTP_REQ_DELETE:
        return "DELETE";
    case EVHTTP_REQ_PATCH:
        return "PATCH";
    default:
        return "OTHER";
    }
}

/* Sends 'len' bytes of 'type' with 'status' (libevent names the reason). */
static void
send_body(struct evhttp_request *req, int status, const char *type, const char *data, size_t len)
{
    struct evbuffer *buf = data ? evbuffer_new() : NULL;
    if (!buf || evbuffer_add(buf, data, len)) {
        evhttp_send_error(req, 500, NULL);
    } else {
        struct evkeyvalq *h = evhttp_request_get_output_headers(req);
        evhttp_add_header(h, "Content-Type", type);
        evhttp_add_header(h, "Cache-Control", "no-store");
        evhttp_send_reply(req, status, NULL, buf);
    }
    if (buf)
        evbuffer_free(buf);
}

/* The bearer token of 'req', or NULL. */
static const char *
bearer_of(struct evhttp_request *req)
{
    const char *a = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
    return a && !strncasecmp(a, "Bearer ", 7) ? a + 7 : NULL;
}

/* Whether 'path' is the API's (the rest is the web page's). */
static bool
is_api(const char *path)
{
    return path &&
           (!strncmp(path, "/api/", 5) || !strcmp(path, "/api") || !strcmp(path, "/metrics"));
}

/* A GET of the web page's 'path' (web.h); other methods: 405. */
static void
web_request(struct server *s, struct evhttp_request *req, const char *path)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
        evhttp_add_header(h, "Allow", "GET");
        static const char msg[] = "the web page is GET only\n";
        return send_body(req, 405, "text/plain; charset=utf-8", msg, sizeof msg - 1);
    }
    struct web_dirs dirs = {.web = s->web_dir, .js = s->js_dir};
    struct web_file f;
    web_get(&dirs, path, &f);
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    evhttp_add_header(h, "Referrer-Policy", "no-referrer");
    evhttp_add_header(h, "Content-Security-Policy",
                      "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'");
    send_body(req, f.status, f.type, f.data ? f.data : "", f.len);
    free(f.data);
}

static void
request_cb(struct evhttp_request *req, void *arg)
{
    struct server *s = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    if (!is_api(evhttp_uri_get_path(uri)))
        return web_request(s, req, evhttp_uri_get_path(uri));
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    struct bufferevent *bev = evhttp_connection_get_bufferevent(evhttp_request_get_connection(req));
    /* A kept-alive client waits for this reply before it sends again: Nagle
     * would hold the reply's last segment for the client's delayed ACK (40
     * ms a call), as in lib/http.c. */
    int one = 1;
    if (bev)
        setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    char peer[80];
    char *host = NULL;
    ev_uint16_t port = 0;
    evhttp_connection_get_peer(evhttp_request_get_connection(req), &host, &port);
    snprintf(peer, sizeof peer, "%s:%u", host ? host : "?", port);
    size_t len = evbuffer_get_length(in);
    struct api_request r = {
        .method = method_name(evhttp_request_get_command(req)),
        .path = evhttp_uri_get_path(uri),
        .query = evhttp_uri_get_query(uri),
        .body = len ? (const char *)evbuffer_pullup(in, (ev_ssize_t)len) : NULL,
        .body_len = len,
        .bearer = bearer_of(req),
        .peer = peer,
    };
    struct api_reply rep;
    api_handle(s->api, &r, &rep);
    char *json = rep.text ? NULL : json_dumps(rep.body, JSON_COMPACT);
    if (rep.text)
        send_body(req, rep.status, "text/plain; version=0.0.4", rep.text, rep.text_len);
    else
        send_body(req, rep.status, "application/json", json, json ? strlen(json) : 0);
    free(json);
    json_decref(rep.body);
    free(rep.text);
}

struct server *
server_create(struct event_base *base, const char *addr, uint16_t port, SSL_CTX *ctx,
              struct api *api, char *err, size_t err_len)
{
    struct server *s = calloc(1, sizeof *s);
    if (!s || !(s->http = evhttp_new(base))) {
        free(s);
        err_set(err, err_len, -ENOMEM, "out of memory");
        return NULL;
    }
    SSL_CTX_up_ref(ctx);
    s->ctx = ctx;
    s->api = api;
    evhttp_set_bevcb(s->http, bev_cb, s);
    evhttp_set_gencb(s->http, request_cb, s);
    evhttp_set_max_body_size(s->http, SERVER_MAX_BODY);
    evhttp_set_max_headers_size(s->http, 16384);
    evhttp_set_timeout(s->http, SERVER_TIMEOUT_S);
    evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
                                            EVHTTP_REQ_DELETE | EVHTTP_REQ_PATCH);
    if (!evhttp_bind_socket_with_handle(s->http, addr, port)) {
        err_set(err, err_len, -EADDRNOTAVAIL, "cannot listen on %s port %u: %s", addr, port,
                errno ? strerror(errno) : "bad address");
        server_destroy(s);
        return NULL;
    }
    log_info("listening on https://%s:%u", addr, port);
    return s;
}

int
server_set_web(struct server *s, const char *web_dir, const char *js_dir)
{
    char *w = web_dir ? strdup(web_dir) : NULL, *j = js_dir ? strdup(js_dir) : NULL;
    if ((web_dir && !w) || (js_dir && !j)) {
        free(w);
        free(j);
        return -ENOMEM;
    }
    free(s->web_dir);
    free(s->js_dir);
    s->web_dir = w;
    s->js_dir = j;
    return 0;
}

void
server_destroy(struct server *s)
{
    if (!s)
        return;
    if (s->http)
        evhttp_free(s->http);
    SSL_CTX_free(s->ctx);
    free(s->web_dir);
    free(s->js_dir);
    free(s);
}
