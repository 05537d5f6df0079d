/* SPDX-License-Identifier: Apache-2.0 */
/*
 * httpc: the blocking HTTPS client of http.h, on OpenSSL directly.  One call is
 * one connection: non-blocking connect, TLS handshake, one HTTP/1.1 POST with
 * "Connection: close", and the whole response, every step bounded by poll()
 * against a single deadline.
 */
#include "lib/http.h"
#include "lib/authz.h"
#include "lib/http-private.h"
#include "lib/tls-private.h"
#include "lib/tls.h"
#include "lib/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

struct call {
    int fd;
    SSL *ssl;
    uint64_t deadline;
    char *err; /* the caller's buffer for the reason */
    size_t err_len;
};

static int call_fail(struct call *c, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
call_fail(struct call *c, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err_vset(c->err, c->err_len, rc, fmt, ap);
    va_end(ap);
    return rc;
}

static int
wait_fd(struct call *c, short events)
{
    int rc = fd_wait(c->fd, events, c->deadline);
    return rc == -ETIMEDOUT ? call_fail(c, rc, "timed out")
           : rc < 0         ? call_fail(c, rc, "poll: %s", strerror(-rc))
                            : 0;
}

static int
parse_addr(const char *host, uint16_t port, struct sockaddr_storage *ss, socklen_t *len)
{
    struct sockaddr_in *in = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    memset(ss, 0, sizeof *ss);
    if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        in->sin_port = htons(port);
        *len = sizeof *in;
        return 0;
    }
    if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        *len = sizeof *in6;
        return 0;
    }
    return -EINVAL;
}

static int
do_connect(struct call *c, const struct httpc *peer)
{
    struct sockaddr_storage ss;
    socklen_t sslen;
    if (!peer->host || parse_addr(peer->host, peer->port, &ss, &sslen) < 0)
        return call_fail(c, -EINVAL, "host '%s' is not an IP address",
                         peer->host ? peer->host : "(null)");
    c->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (c->fd < 0)
        return call_fail(c, -errno, "socket: %s", strerror(errno));
    /* Requests are written in pieces (head, then payload) and wait for their
     * answer: Nagle would hold the last piece for the peer's delayed ACK. */
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, (struct sockaddr *)&ss, sslen) < 0) {
        if (errno != EINPROGRESS)
            return call_fail(c, -errno, "connect: %s", strerror(errno));
        int rc = wait_fd(c, POLLOUT);
        if (rc < 0)
            return rc;
        int soerr = 0;
        socklen_t l = sizeof soerr;
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &l) < 0)
            soerr = errno;
        if (soerr)
            return call_fail(c, -soerr, "connect: %s", strerror(soerr));
    }
    return 0;
}

/* True if the peer's alert says it refused our certificate (or us). */
static bool
is_refusal_alert(int reason)
{
    switch (reason) {
    case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
    case SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
    case SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE:
    case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
    case SSL_R_TLSV1_ALERT_ACCESS_DENIED:
    case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
    case SSL_R_CERTIFICATE_VERIFY_FAILED:
        return true;
    default:
        return false;
    }
}

/* Turns a failed SSL_* call into -errno and a reason in 'c->err'. */
static int
ssl_fail(struct call *c, int ret, const char *what)
{
    int e = SSL_get_error(c->ssl, ret);
    long vr = SSL_get_verify_result(c->ssl);
    char ossl[512];

    if (vr != X509_V_OK) {
        ERR_clear_error();
        return call_fail(c, -EACCES, "%s: server certificate refused: %s", what,
                         X509_verify_cert_error_string(vr));
    }
    if (e == SSL_ERROR_SYSCALL && !ERR_peek_error()) {
        int saved = errno;
        if (saved)
            return call_fail(c, -saved, "%s: %s", what, strerror(saved));
        return call_fail(c, -EPROTO, "%s: connection closed by peer", what);
    }
    if (e == SSL_ERROR_ZERO_RETURN)
        return call_fail(c, -EPROTO, "%s: connection closed by peer", what);
    int reason = ERR_GET_REASON(ERR_peek_error());
    tls_error_string(ossl, sizeof ossl);
    if (is_refusal_alert(reason))
        return call_fail(c, -EACCES, "%s: refused by server: %s", what, ossl);
    return call_fail(c, -EPROTO, "%s: %s", what, ossl);
}

/* Waits as SSL_get_error() asks after 'ret'.  Returns 1 to retry, or -errno. */
static int
ssl_retry(struct call *c, int ret, const char *what)
{
    switch (SSL_get_error(c->ssl, ret)) {
    case SSL_ERROR_WANT_READ:
        return wait_fd(c, POLLIN) < 0 ? -ETIMEDOUT : 1;
    case SSL_ERROR_WANT_WRITE:
        return wait_fd(c, POLLOUT) < 0 ? -ETIMEDOUT : 1;
    default:
        return ssl_fail(c, ret, what);
    }
}

static int
do_handshake(struct call *c, const struct httpc *peer)
{
    ERR_clear_error();
    c->ssl = SSL_new(peer->ctx);
    if (!c->ssl || !SSL_set_fd(c->ssl, c->fd)) {
        char ossl[256];
        tls_error_string(ossl, sizeof ossl);
        return call_fail(c, -ENOMEM, "cannot create TLS session: %s", ossl);
    }
    /* We stop at Content-Length, so a missing close_notify is no truncation. */
    SSL_set_options(c->ssl, SSL_OP_IGNORE_UNEXPECTED_EOF);
    int ret;
    while ((ret = SSL_connect(c->ssl)) != 1) {
        int rc = ssl_retry(c, ret, "TLS handshake");
        if (rc < 0)
            return rc;
    }
    if (peer->expect_cn) {
        char cn[256];
        if (!tls_peer_cn(c->ssl, cn, sizeof cn))
            return call_fail(c, -EACCES, "server certificate has no usable CN");
        if (strcmp(cn, peer->expect_cn))
            return call_fail(c, -EACCES, "server CN '%s' is not the expected '%s'", cn,
                             peer->expect_cn);
    }
    if (peer->expect_role) {
        char cn[256], why[128];
        unsigned role;
        if (tls_peer_identity(c->ssl, cn, sizeof cn, &role, why, sizeof why) < 0)
            return call_fail(c, -EACCES, "server certificate: %s", why);
        if (role != peer->expect_role)
            return call_fail(c, -EACCES, "server '%s' has role %s, not %s", cn,
                             authz_role_name(role), authz_role_name(peer->expect_role));
    }
    return 0;
}

/* In TLS 1.3 the server checks our certificate after SSL_connect() returned,
 * so its refusal may surface as a failed write: the alert that says why can
 * still be waiting to be read.  Returns -EACCES with the reason replaced if so. */
static int
refusal_after_write(struct call *c, int rc)
{
    char byte;
    ERR_clear_error();
    int n = SSL_read(c->ssl, &byte, 1);
    if (n > 0 || SSL_get_error(c->ssl, n) != SSL_ERROR_SSL ||
        !is_refusal_alert(ERR_GET_REASON(ERR_peek_error()))) {
        ERR_clear_error();
        return rc;
    }
    return ssl_fail(c, n, "sending request");
}

static int
ssl_write_all(struct call *c, const char *buf, size_t len)
{
    int ret;
    ERR_clear_error();
    /* Without partial writes, SSL_write() writes it all or asks for a retry
     * with the same arguments. */
    while ((ret = SSL_write(c->ssl, buf, (int)len)) <= 0) {
        int rc = ssl_retry(c, ret, "sending request");
        if (rc == -EPIPE || rc == -ECONNRESET)
            return refusal_after_write(c, rc);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* ---- the reply (http-private.h) ---- */

void
http_response_init(struct http_response *r)
{
    *r = (struct http_response){.content_len = -1};
}

/* The status line and headers, NUL-terminated.  Returns 0 or -EPROTO. */
static int
parse_head(struct http_response *r, char *head, char *err, size_t err_len)
{
    char *line = head;
    if (strncmp(line, "HTTP/1.", 7) || !line[7] || line[8] != ' ' ||
        sscanf(line + 9, "%3d", &r->status) != 1 || r->status < 100 || r->status > 599)
        return err_set(err, err_len, -EPROTO, "bad HTTP status line");
    for (line = strstr(line, "\r\n"); line; line = strstr(line, "\r\n")) {
        line += 2;
        if (!strncasecmp(line, "Content-Length:", 15)) {
            char *p = line + 15, *q;
            errno = 0;
            long long v = strtoll(p, &q, 10);
            if (errno || v < 0 || q == p || (*q && *q != '\r'))
                return err_set(err, err_len, -EPROTO, "bad Content-Length");
            r->content_len = v;
        } else if (!strncasecmp(line, "Transfer-Encoding:", 18)) {
            return err_set(err, err_len, -EPROTO, "chunked responses are not supported");
        }
    }
    if (r->content_len > HTTP_RESPONSE_MAX)
        return err_set(err, err_len, -EPROTO, "response body too large");
    return 0;
}

int
http_response_add(struct http_response *r, size_t n, char *err, size_t err_len)
{
    r->len += n;
    if (r->head_len)
        return 0;
    char *end = memmem(r->buf, r->len, "\r\n\r\n", 4);
    if (!end)
        return 0;
    r->head_len = (size_t)(end + 4 - r->buf);
    *end = '\0'; /* the head is parsed as a string; the body follows untouched */
    return parse_head(r, r->buf, err, err_len);
}

bool
http_response_is_done(const struct http_response *r)
{
    return r->head_len && r->content_len >= 0 && r->len - r->head_len >= (size_t)r->content_len;
}

int
http_response_envelope(const struct http_response *r, json_t **reply, char *err, size_t err_len)
{
    *reply = NULL;
    if (!r->head_len)
        return err_set(err, err_len, -EPROTO, "incomplete HTTP response");
    const char *body = r->buf + r->head_len;
    size_t body_len = r->len - r->head_len;
    if (r->content_len >= 0)
        body_len = MIN(body_len, (size_t)r->content_len);
    json_t *env = json_loadb(body, body_len, 0, NULL);
    if (!json_is_object(env) || !json_is_boolean(json_object_get(env, "ok"))) {
        json_decref(env);
        return err_set(err, err_len, -EPROTO, "HTTP %d without a JSON reply envelope", r->status);
    }
    *reply = env;
    return 0;
}

static int
read_response(struct call *c, struct http_response *r)
{
    char err[128];
    size_t cap = 0;
    ERR_clear_error();
    while (!http_response_is_done(r)) {
        if (cap - r->len < 4096) {
            if (cap >= HTTP_RESPONSE_MAX)
                return call_fail(c, -EPROTO, "response too large");
            size_t ncap = cap ? cap * 2 : 16384;
            char *nbuf = realloc(r->buf, ncap);
            if (!nbuf)
                return call_fail(c, -ENOMEM, "out of memory");
            r->buf = nbuf;
            cap = ncap;
        }
        int n = SSL_read(c->ssl, r->buf + r->len, (int)(cap - r->len - 1));
        if (n > 0) {
            if (http_response_add(r, (size_t)n, err, sizeof err) < 0)
                return call_fail(c, -EPROTO, "%s", err);
            continue;
        }
        int e = SSL_get_error(c->ssl, n);
        if (e == SSL_ERROR_ZERO_RETURN && r->head_len && r->content_len < 0)
            break; /* body delimited by close */
        int rc = ssl_retry(c, n, "reading response");
        if (rc < 0)
            return rc;
    }
    if (!r->head_len)
        return call_fail(c, -EPROTO, "incomplete HTTP response");
    return 0;
}

/* SSL_write() ends in write(2), which raises SIGPIPE when the server has gone
 * (as it does after refusing us), and a library must not kill a CLI that kept
 * the default action.  So SIGPIPE is blocked in this thread for the call, and
 * one that we raised is taken off the pending set before unblocking [libpq]. */
struct sigpipe_guard {
    sigset_t old;
    bool was_pending;
};

static void
sigpipe_block(struct sigpipe_guard *g)
{
    sigset_t set, pending;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, &g->old);
    sigpending(&pending);
    g->was_pending = sigismember(&pending, SIGPIPE);
}

static void
sigpipe_restore(struct sigpipe_guard *g)
{
    sigset_t set, pending;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    sigpending(&pending);
    if (!g->was_pending && sigismember(&pending, SIGPIPE)) {
        const struct timespec zero = {0, 0};
        while (sigtimedwait(&set, NULL, &zero) < 0 && errno == EINTR)
            continue;
    }
    pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

/* The request's head and, without a payload, its JSON body; with one, the
 * arguments go in the Dse-Args header and the payload follows the head. */
static char *
build_request(const struct httpc *peer, const char *cmd, json_t *args, bool has_payload,
              size_t payload_len, bool keep_alive, size_t *len)
{
    json_t *empty = NULL;
    if (!args)
        args = empty = json_object();
    char *body = args ? json_dumps(args, JSON_COMPACT) : NULL;
    json_decref(empty);
    if (!body)
        return NULL;
    bool v6 = strchr(peer->host, ':') != NULL;
    const char *conn = keep_alive ? "keep-alive" : "close";
    char *req;
    int n = has_payload ? asprintf(&req,
                                   "POST /api/v1/%s HTTP/1.1\r\n"
                                   "Host: %s%s%s:%u\r\n"
                                   "Content-Type: " HTTP_PAYLOAD_TYPE "\r\n"
                                   "Dse-Args: %s\r\n"
                                   "Content-Length: %zu\r\n"
                                   "Connection: %s\r\n"
                                   "\r\n",
                                   cmd, v6 ? "[" : "", peer->host, v6 ? "]" : "", peer->port, body,
                                   payload_len, conn)
                        : asprintf(&req,
                                   "POST /api/v1/%s HTTP/1.1\r\n"
                                   "Host: %s%s%s:%u\r\n"
                                   "Content-Type: application/json\r\n"
                                   "Content-Length: %zu\r\n"
                                   "Connection: %s\r\n"
                                   "\r\n"
                                   "%s",
                                   cmd, v6 ? "[" : "", peer->host, v6 ? "]" : "", peer->port,
                                   strlen(body), conn, body);
    free(body);
    if (n < 0)
        return NULL;
    *len = n;
    return req;
}

/* One request and its response on the connection of 'c' (connected). */
static int
exchange(struct call *c, const struct httpc *peer, const char *cmd, json_t *args,
         const void *payload, size_t payload_len, bool keep_alive, json_t **reply, bool *got_bytes)
{
    struct http_response r;
    char err[128];
    http_response_init(&r);
    size_t req_len;
    char *req = build_request(peer, cmd, args, payload != NULL, payload_len, keep_alive, &req_len);
    int rc = req ? ssl_write_all(c, req, req_len) : call_fail(c, -ENOMEM, "out of memory");
    free(req);
    if (rc == 0 && payload && payload_len)
        rc = ssl_write_all(c, payload, payload_len);
    if (rc == 0)
        rc = read_response(c, &r);
    *got_bytes = r.len > 0;
    if (rc == 0 && (rc = http_response_envelope(&r, reply, err, sizeof err)) < 0)
        call_fail(c, rc, "%s", err);
    free(r.buf);
    return rc;
}

static int
check_call(struct call *c, const char *cmd, json_t *args, const void *payload, size_t payload_len)
{
    if (!http_cmd_name_is_valid(cmd))
        return call_fail(c, -EINVAL, "bad command name '%s'", cmd ? cmd : "(null)");
    if (args && !json_is_object(args))
        return call_fail(c, -EINVAL, "arguments must be a JSON object");
    if (payload && payload_len > HTTP_MAX_BODY)
        return call_fail(c, -EMSGSIZE, "payload of %zu bytes: at most %d", payload_len,
                         HTTP_MAX_BODY);
    return 0;
}

static void
call_close(struct call *c, bool clean)
{
    if (c->ssl) {
        if (clean)
            SSL_shutdown(c->ssl); /* best effort, non-blocking: no waiting */
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

int
httpc_call(const struct httpc *peer, const char *cmd, json_t *args, json_t **reply, char *err,
           size_t err_len)
{
    return httpc_call_payload(peer, cmd, args, NULL, 0, reply, err, err_len);
}

int
httpc_call_payload(const struct httpc *peer, const char *cmd, json_t *args, const void *payload,
                   size_t payload_len, json_t **reply, char *err, size_t err_len)
{
    if (peer->session)
        return httpc_session_call(peer->session, cmd, args, payload, payload_len, peer->timeout_ms,
                                  reply, err, err_len);
    struct call c = {
        .fd = -1,
        .deadline = now_ms() + (peer->timeout_ms > 0 ? peer->timeout_ms : 0),
        .err = err,
        .err_len = err_len,
    };
    bool got;
    *reply = NULL;
    int rc = check_call(&c, cmd, args, payload, payload_len);
    if (rc < 0)
        return rc;
    struct sigpipe_guard guard;
    sigpipe_block(&guard);
    if ((rc = do_connect(&c, peer)) == 0 && (rc = do_handshake(&c, peer)) == 0)
        rc = exchange(&c, peer, cmd, args, payload, payload_len, false, reply, &got);
    call_close(&c, rc == 0);
    sigpipe_restore(&guard);
    ERR_clear_error();
    return rc;
}

/* ---- sessions: one connection for many calls ---- */

struct httpc_session {
    struct httpc peer;
    struct call c;
};

struct httpc_session *
httpc_session_create(const struct httpc *peer)
{
    struct httpc_session *s = calloc(1, sizeof *s);
    if (s) {
        s->peer = *peer;
        s->peer.session = NULL;
        s->c.fd = -1;
    }
    return s;
}

void
httpc_session_destroy(struct httpc_session *s)
{
    if (!s)
        return;
    struct sigpipe_guard guard;
    sigpipe_block(&guard);
    call_close(&s->c, true);
    sigpipe_restore(&guard);
    ERR_clear_error();
    free(s);
}

int
httpc_session_call(struct httpc_session *s, const char *cmd, json_t *args, const void *payload,
                   size_t payload_len, int timeout_ms, json_t **reply, char *err, size_t err_len)
{
    struct call *c = &s->c;
    if (timeout_ms <= 0)
        timeout_ms = s->peer.timeout_ms > 0 ? s->peer.timeout_ms : 0;
    c->deadline = now_ms() + (uint64_t)timeout_ms;
    c->err = err;
    c->err_len = err_len;
    *reply = NULL;
    int rc = check_call(c, cmd, args, payload, payload_len);
    if (rc < 0)
        return rc;
    struct sigpipe_guard guard;
    sigpipe_block(&guard);
    /* A connection kept from an earlier call may have been closed by the
     * server meanwhile (idle timeout, restart): when it fails before a byte
     * of the response came back, the request is sent again on a new one. */
    for (int attempt = 0; attempt < 2; attempt++) {
        bool reused = c->ssl != NULL, got = false;
        if (!reused && ((rc = do_connect(c, &s->peer)) < 0 || (rc = do_handshake(c, &s->peer)) < 0))
            break;
        rc = exchange(c, &s->peer, cmd, args, payload, payload_len, true, reply, &got);
        if (rc < 0)
            call_close(c, false);
        if (rc == 0 || !reused || got || rc == -ETIMEDOUT)
            break;
    }
    if (rc < 0)
        call_close(c, false);
    sigpipe_restore(&guard);
    ERR_clear_error();
    return rc;
}

/* ---- REST calls (the manager's API) ---- */

static bool
is_token_text(const char *s, size_t max)
{
    size_t n = strnlen(s, max + 1);
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
            return false;
    return true;
}

static char *
build_rest(const struct httpc *peer, const char *method, const char *target, const char *bearer,
           const char *body, size_t *len)
{
    bool v6 = strchr(peer->host, ':') != NULL;
    char auth[600] = "", clen[96] = "";
    if (bearer)
        snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", bearer);
    if (body)
        snprintf(clen, sizeof clen, "Content-Type: application/json\r\nContent-Length: %zu\r\n",
                 strlen(body));
    char *req;
    int n = asprintf(&req, "%s %s HTTP/1.1\r\nHost: %s%s%s:%u\r\n%s%sConnection: close\r\n\r\n%s",
                     method, target, v6 ? "[" : "", peer->host, v6 ? "]" : "", peer->port, auth,
                     clen, body ? body : "");
    if (n < 0)
        return NULL;
    *len = (size_t)n;
    return req;
}

/* The response's status and its body, a JSON object. */
static int
rest_reply(struct call *c, struct http_response *r, int *status, json_t **reply)
{
    size_t body_len = r->len - r->head_len;
    if (r->content_len >= 0)
        body_len = MIN(body_len, (size_t)r->content_len);
    json_t *j = json_loadb(r->buf + r->head_len, body_len, 0, NULL);
    if (!json_is_object(j)) {
        json_decref(j);
        return call_fail(c, -EPROTO, "HTTP %d without a JSON object", r->status);
    }
    *status = r->status;
    *reply = j;
    return 0;
}

int
httpc_rest(const struct httpc *peer, const char *method, const char *target, const char *bearer,
           json_t *body, int *status, json_t **reply, char *err, size_t err_len)
{
    struct call c = {.fd = -1,
                     .deadline = now_ms() + (peer->timeout_ms > 0 ? peer->timeout_ms : 0),
                     .err = err,
                     .err_len = err_len};
    *reply = NULL;
    if (!method ||
        (strcmp(method, "GET") && strcmp(method, "POST") && strcmp(method, "PUT") &&
         strcmp(method, "DELETE")) ||
        !target || target[0] != '/' || !is_token_text(target, 4096) ||
        (bearer && !is_token_text(bearer, 512)) || (body && !json_is_object(body)))
        return call_fail(&c, -EINVAL,
                         "a REST call wants GET, POST, PUT or DELETE, a /path, "
                         "a token and a JSON object");
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    size_t len = 0;
    char *req = !body || text ? build_rest(peer, method, target, bearer, text, &len) : NULL;
    free(text);
    if (!req)
        return call_fail(&c, -ENOMEM, "out of memory");
    struct sigpipe_guard guard;
    struct http_response r;
    http_response_init(&r);
    sigpipe_block(&guard);
    int rc = do_connect(&c, peer);
    if (rc == 0 && (rc = do_handshake(&c, peer)) == 0 && (rc = ssl_write_all(&c, req, len)) == 0 &&
        (rc = read_response(&c, &r)) == 0)
        rc = rest_reply(&c, &r, status, reply);
    call_close(&c, rc == 0);
    sigpipe_restore(&guard);
    ERR_clear_error();
    free(r.buf);
    free(req);
    return rc;
}

int
httpc_unwrap(json_t *env, const char *what, json_t **result, char *err, size_t err_len)
{
    int rc = 0;
    if (!json_is_true(json_object_get(env, "ok"))) {
        const char *msg = json_string_value(json_object_get(env, "error"));
        const char *code = json_string_value(json_object_get(env, "code"));
        rc = err_set(err, err_len,
                     code && !strcmp(code, "usage")      ? -EINVAL
                     : code && !strcmp(code, "notfound") ? -ENOENT
                                                         : -EIO,
                     "%s: %s", what, msg ? msg : "failed");
    } else if (result) {
        *result = json_incref(json_object_get(env, "result"));
    }
    json_decref(env);
    return rc;
}

int
httpc_call_result(const struct httpc *peer, const char *cmd, json_t *args, json_t **result,
                  char *err, size_t err_len)
{
    json_t *env = NULL;
    int rc = httpc_call(peer, cmd, args, &env, err, err_len);
    return rc < 0 ? rc : httpc_unwrap(env, cmd, result, err, err_len);
}
