/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http-private: the pure parts of the HTTP API, shared by http.c and httpc.c
 * and fuzzed on their own (tests/fuzz/fuzz-http-request.c, -http-reply.c):
 * decoding a request into a command call (http-request.c), and reading a
 * reply's head and envelope (httpc.c).  No sockets, no TLS, no event loop:
 * text in, a call or a reply or a one-line reason out.
 *
 * Thread-safety: reentrant.
 */
#ifndef DSE_HTTP_PRIVATE_H
#define DSE_HTTP_PRIVATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define HTTP_API_PREFIX "/api/v1/"

/* True if 's' is a command name as a path may carry it: one or more of
 * [a-z0-9._-].  Accepts NULL (false). */
bool http_cmd_name_is_valid(const char *s);

/* ---- the server: a request as evhttp has parsed it ---- */

enum http_method { HTTP_GET, HTTP_POST, HTTP_OTHER };

struct http_request {
    enum http_method method;
    const char *path;         /* the URI's path, or NULL */
    const char *content_type; /* header value, or NULL */
    const char *dse_args;     /* header value, or NULL */
    /* The body; NULL with 'body_len' > 0 when it could not be made
     * contiguous (out of memory). */
    const char *body;
    size_t body_len;
};

/* What to dispatch.  'name' and 'payload' point into the request. */
struct http_call {
    const char *name;
    json_t *args;        /* NULL ({}) or an object; the caller decrefs it */
    const char *payload; /* with Content-Type HTTP_PAYLOAD_TYPE, else NULL */
    size_t payload_len;
};

/* Decodes 'req' into '*call': a GET or POST of HTTP_API_PREFIX + a valid
 * command name; a POST's JSON body, or with Content-Type HTTP_PAYLOAD_TYPE
 * its binary payload and the Dse-Args header's JSON; arguments, when there
 * are any, must be an object.  Returns 0, or -errno with '*error' set to
 * the error envelope (a new reference) and '*status' to the HTTP status to
 * send it with: -EOPNOTSUPP (405: another method), -ENOENT (404: another
 * path), -EINVAL (400: malformed JSON, arguments not an object), -ENOMEM
 * (500, or 400 for a JSON body that could not be read, as the server always
 * answered). */
int http_request_decode(const struct http_request *req, struct http_call *call, json_t **error,
                        int *status);

/* ---- the client: a reply as it arrives ---- */

struct http_response {
    char *buf; /* what arrived so far (the caller's buffer) */
    size_t len;
    size_t head_len;       /* through the blank line, 0 until it is there */
    long long content_len; /* -1: the body runs until the connection closes */
    int status;
};

/* Replies are not bounded by the API; this only stops a runaway peer. */
#define HTTP_RESPONSE_MAX (64 * 1024 * 1024)

/* Starts reading a reply into 'r' (nothing arrived yet).  Can't fail. */
void http_response_init(struct http_response *r);

/* 'n' more bytes arrived at r->buf + r->len: counts them and, once the head
 * is whole, parses its status line and headers (writing a NUL over the
 * head's last CRLF; the body is left as it came).  Returns 0, or -EPROTO
 * with a one-line reason in 'err' ('err_len' bytes): a bad status line or
 * Content-Length, a chunked body, a body over HTTP_RESPONSE_MAX. */
int http_response_add(struct http_response *r, size_t n, char *err, size_t err_len);

/* True when the whole reply is there (its Content-Length reached; a reply
 * without one is whole when the connection closes). */
bool http_response_is_done(const struct http_response *r);

/* The reply envelope of a whole reply (or, 'r' without Content-Length, of
 * everything until the close): 0 with '*reply' (caller owns), or -EPROTO
 * with a one-line reason when no head came or the body is not a JSON
 * object with a boolean "ok". */
int http_response_envelope(const struct http_response *r, json_t **reply, char *err,
                           size_t err_len);

#endif
