/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The HTTP API over mutual TLS, end to end on 127.0.0.1: a throwaway PKI made
 * with the openssl command line, the server on an event loop thread, and
 * httpc_call() (or a raw TLS client, to see status codes) against it.
 *
 *     CA1 --+-- srv      (server, role dpu)
 *           +-- cli      (allowed client, role host)
 *           +-- other    (valid client, role host, CN not allowed)
 *           +-- mgr      (allowed client, role manager: may run "admin" too)
 *           +-- norole   (valid client, CN allowed, no role in its certificate)
 *           +-- twice    (valid client, two roles)
 *           +-- expired  (client of CA1 whose validity ended yesterday)
 *     CA2 ----- evil     (client from a foreign CA, role host)
 *
 * The server's policy: host:cli and manager (any CN).
 */
#include "tests/unit/check.h"
#include "tests/unit/loop-thread.h"
#include "lib/authz.h"
#include "lib/http.h"
#include "lib/log.h"
#include "lib/tls.h"
#include "lib/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <unistd.h>

static char pki[] = "/tmp/dse-test-http-XXXXXX";
static char log_path[128];
static bool pki_ready;

static void
pki_remove(void)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", pki);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", pki);
}

static bool sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static bool
sh(const char *fmt, ...)
{
    char cmd[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    return system(cmd) == 0;
}

#define EC "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"

static bool
make_ca(const char *name)
{
    return sh("cd '%s' && openssl req -x509 " EC " -keyout %s.key -out %s.crt "
              "-subj /CN=%s -days 2 2>/dev/null",
              pki, name, name, name);
}

/* A leaf certificate 'name' (its CN) of 'ca', valid for 'days' (-1: it
 * expired yesterday), with the SAN URIs 'uris' ("" for none, else
 * "URI:urn:dse:role:host" or several, comma-separated). */
static bool
make_leaf(const char *name, const char *ca, int serial, const char *uris, int days)
{
    return sh("cd '%s' && openssl req -new " EC " -keyout %s.key -out %s.csr "
              "-subj /CN=%s 2>/dev/null && "
              "printf 'basicConstraints=CA:FALSE\\n%s%s\\n' >%s.ext && "
              "openssl x509 -req -in %s.csr -CA %s.crt -CAkey %s.key -set_serial %d "
              "-days %d -extfile %s.ext -out %s.crt 2>/dev/null",
              pki, name, name, name, *uris ? "subjectAltName=" : "", uris, name, name, ca, ca,
              serial, days, name, name);
}

/* Makes the PKI once and directs the log to a file that tests read back.
 * Called at the start of every test, before any thread exists. */
static bool
pki_setup(void)
{
    if (pki_ready)
        return true;
    signal(SIGPIPE, SIG_IGN);
    if (!mkdtemp(pki))
        return false;
    atexit(pki_remove);
    const char *host = "URI:" AUTHZ_ROLE_URI_PREFIX "host";
    if (!make_ca("ca1") || !make_ca("ca2") ||
        !make_leaf("srv", "ca1", 1, "URI:" AUTHZ_ROLE_URI_PREFIX "dpu", 2) ||
        !make_leaf("cli", "ca1", 2, host, 2) || !make_leaf("other", "ca1", 3, host, 2) ||
        !make_leaf("mgr", "ca1", 4, "URI:" AUTHZ_ROLE_URI_PREFIX "manager", 2) ||
        !make_leaf("norole", "ca1", 5, "", 2) ||
        !make_leaf("twice", "ca1", 6,
                   "URI:" AUTHZ_ROLE_URI_PREFIX "host,URI:" AUTHZ_ROLE_URI_PREFIX "manager", 2) ||
        !make_leaf("expired", "ca1", 7, host, -1) || !make_leaf("evil", "ca2", 1, host, 2))
        return false;
    snprintf(log_path, sizeof log_path, "%s/log", pki);
    log_init("test-http", log_path, LL_INFO);
    pki_ready = true;
    return true;
}

static SSL_CTX *
ctx_for(const char *name, const char *ca, bool is_server)
{
    char cert[128], key[128], cafile[128];
    snprintf(cert, sizeof cert, "%s/%s.crt", pki, name ? name : "none");
    snprintf(key, sizeof key, "%s/%s.key", pki, name ? name : "none");
    snprintf(cafile, sizeof cafile, "%s/%s.crt", pki, ca);
    struct tls_paths paths = {.cert = name ? cert : NULL, .key = key, .ca = cafile};
    char err[ERR_LEN] = "";
    SSL_CTX *ctx = is_server ? tls_server_ctx(&paths, err, sizeof err)
                             : tls_client_ctx(&paths, err, sizeof err);
    if (!ctx) {
        fprintf(stderr, "tls ctx %s: %s\n", name ? name : "(none)", err);
    }
    return ctx;
}

/* Does the log contain 'needle'?  Waits a little: the server logs on its own
 * thread. */
static bool
log_has(const char *needle)
{
    for (int i = 0; i < 100; i++) {
        char *text = fs_read_file(log_path, 1 << 20, NULL);
        bool found = text && strstr(text, needle);
        free(text);
        if (found)
            return true;
        usleep(10000);
    }
    return false;
}

/* A free port on 127.0.0.1: bound to 0, read back, released. */
static uint16_t
free_port(void)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
    socklen_t len = sizeof sin;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    bind(fd, (struct sockaddr *)&sin, sizeof sin);
    getsockname(fd, (struct sockaddr *)&sin, &len);
    close(fd);
    return ntohs(sin.sin_port);
}

static int
cmd_echo(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    *result = json_pack("{s:O, s:s}", "args", args, "peer", ctx->peer);
    return 0;
}

static int
cmd_missing(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    return err_set(err, err_len, -ENOENT, "no such port");
}

/* What came as a binary payload: its length and an FNV-1a hash of it. */
static int
cmd_payload(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    if (!ctx->payload)
        return err_set(err, err_len, -EINVAL, "no payload");
    uint64_t h = 14695981039346656037ULL;
    for (size_t i = 0; i < ctx->payload_len; i++)
        h = (h ^ ((const uint8_t *)ctx->payload)[i]) * 1099511628211ULL;
    *result = json_pack("{s:O,s:I,s:I}", "args", args, "len", (json_int_t)ctx->payload_len, "fnv",
                        (json_int_t)(h >> 1));
    return 0;
}

static const struct cmd_def defs[] = {
    {.name = "echo", .usage = "[ARGS]", .fn = cmd_echo, .roles = AUTHZ_HOST | AUTHZ_MANAGER},
    {.name = "port.get", .usage = "NAME", .fn = cmd_missing, .roles = AUTHZ_HOST | AUTHZ_MANAGER},
    {.name = "payload",
     .usage = "[ARGS] + payload",
     .fn = cmd_payload,
     .roles = AUTHZ_HOST | AUTHZ_MANAGER},
    {.name = "admin", .usage = "", .fn = cmd_echo, .roles = AUTHZ_MANAGER},
    {.name = "local", .usage = "", .fn = cmd_echo},
};

/* host:cli and any manager. */
static struct authz_policy
test_policy(void)
{
    struct authz_policy p = {0};
    authz_policy_add(&p, "host:cli", NULL, 0);
    authz_policy_add(&p, "manager", NULL, 0);
    return p;
}

struct fixture {
    struct loop_thread lt;
    struct cmdtab *tab;
    SSL_CTX *srv_ctx;
    struct http_server *server;
    uint16_t port;
};

static bool
fixture_start(struct fixture *f)
{
    struct authz_policy policy = test_policy();
    memset(f, 0, sizeof *f);
    if (!pki_setup())
        return false;
    if (!loop_thread_init(&f->lt))
        return false;
    f->tab = cmdtab_create(defs, sizeof defs / sizeof defs[0], NULL);
    f->srv_ctx = ctx_for("srv", "ca1", true);
    if (!f->srv_ctx)
        return false;
    char err[ERR_LEN] = "";
    for (int tries = 0; !f->server && tries < 5; tries++) {
        f->port = free_port();
        f->server = http_server_create(f->lt.base, "127.0.0.1", f->port, f->srv_ctx, f->tab,
                                       &policy, err, sizeof err);
    }
    if (!f->server) {
        fprintf(stderr, "http_server_create: %s\n", err);
        return false;
    }
    return loop_thread_start(&f->lt);
}

static void
fixture_stop(struct fixture *f)
{
    loop_thread_stop(&f->lt);
    http_server_destroy(f->server);
    SSL_CTX_free(f->srv_ctx); /* the server held its own reference */
    loop_thread_fini(&f->lt);
    cmdtab_destroy(f->tab);
}

/* httpc_call() as client 'name' (NULL: no certificate) trusting 'ca'. */
static int
call_as(struct fixture *f, const char *name, const char *ca, const char *expect_cn, const char *cmd,
        json_t *args, json_t **reply, char *err, size_t err_len)
{
    SSL_CTX *ctx = ctx_for(name, ca, false);
    if (!ctx)
        return -999;
    struct httpc peer = {
        .ctx = ctx,
        .host = "127.0.0.1",
        .port = f->port,
        .expect_cn = expect_cn,
        .timeout_ms = 5000,
    };
    int rc = httpc_call(&peer, cmd, args, reply, err, err_len);
    SSL_CTX_free(ctx);
    return rc;
}

/* Sends 'head' (and 'body_len' bytes of 'x') over TLS as client cli and
 * returns the whole raw response (caller frees), or NULL. */
static char *
raw_request(struct fixture *f, const char *head, size_t body_len)
{
    SSL_CTX *ctx = ctx_for("cli", "ca1", false);
    struct sockaddr_in sin = {
        .sin_family = AF_INET, .sin_port = htons(f->port), .sin_addr.s_addr = htonl(0x7f000001)};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    char *out = NULL;
    size_t len = 0;
    SSL *ssl = NULL;
    if (!ctx || connect(fd, (struct sockaddr *)&sin, sizeof sin) < 0)
        goto out;
    ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    SSL_set_options(ssl, SSL_OP_IGNORE_UNEXPECTED_EOF);
    if (SSL_connect(ssl) != 1)
        goto out;
    SSL_write(ssl, head, (int)strlen(head));
    if (body_len) {
        char *body = malloc(body_len);
        memset(body, 'x', body_len);
        SSL_write(ssl, body, (int)body_len);
        free(body);
    }
    out = calloc(1, 65536);
    for (int n; len < 65535 && (n = SSL_read(ssl, out + len, 65535 - len)) > 0;)
        len += n;
out:
    SSL_free(ssl);
    close(fd);
    SSL_CTX_free(ctx);
    ERR_clear_error();
    return out;
}

static void
ok_call_echoes_args(void)
{
    struct fixture f;
    ASSERT_TRUE(fixture_start(&f));
    json_t *args = json_pack("{s:s, s:i}", "name", "pg1", "vlan", 10);
    json_t *reply = NULL;
    char err[ERR_LEN] = "";
    int rc = call_as(&f, "cli", "ca1", "srv", "echo", args, &reply, err, sizeof err);
    json_decref(args);
    if (rc)
        fprintf(stderr, "httpc_call: %s\n", err);
    ASSERT_EQ(rc, 0);
    ASSERT_STREQ(err, "");
    json_t *res = json_object_get(reply, "result");
    ASSERT_TRUE(json_is_true(json_object_get(reply, "ok")));
    ASSERT_EQ(json_integer_value(json_object_get(json_object_get(res, "args"), "vlan")), 10);
    const char *peer = json_string_value(json_object_get(res, "peer"));
    ASSERT_NOT_NULL(peer);
    ASSERT_TRUE(!strncmp(peer, "127.0.0.1:", 10));
    ASSERT_NOT_NULL(strstr(peer, " cn=cli"));
    json_decref(reply);

    /* No arguments at all, and an error envelope that is still a reply. */
    ASSERT_EQ(call_as(&f, "cli", "ca1", NULL, "port.get", NULL, &reply, err, sizeof err), 0);
    ASSERT_STREQ(json_string_value(json_object_get(reply, "code")), "notfound");
    ASSERT_STREQ(json_string_value(json_object_get(reply, "error")), "no such port");
    json_decref(reply);
    fixture_stop(&f);
}

static bool
is_refusal(int rc)
{
    return rc == -EACCES || rc == -ECONNRESET || rc == -EPIPE || rc == -EPROTO;
}

static void
client_without_certificate_is_refused(void)
{
    struct fixture f;
    ASSERT_TRUE(fixture_start(&f));
    json_t *reply = NULL;
    char err[ERR_LEN] = "";
    /* httpc must not die of SIGPIPE when the server has hung up on it. */
    signal(SIGPIPE, SIG_DFL);
    int rc = call_as(&f, NULL, "ca1", "srv", "echo", NULL, &reply, err, sizeof err);
    signal(SIGPIPE, SIG_IGN);
    ASSERT_TRUE(is_refusal(rc));
    ASSERT_NULL(reply);
    ASSERT_TRUE(err[0] != 0);
    ASSERT_TRUE(log_has("refused handshake: no client certificate"));
    ASSERT_TRUE(log_has("warn tls: peer=127.0.0.1:"));
    fixture_stop(&f);
}

static void
client_from_other_ca_is_refused(void)
{
    struct fixture f;
    ASSERT_TRUE(fixture_start(&f));
    json_t *reply = NULL;
    char err[ERR_LEN] = "";
    int rc = call_as(&f, "evil", "ca1", "srv", "echo", NULL, &reply, err, sizeof err);
    ASSERT_TRUE(is_refusal(rc));
    ASSERT_NULL(reply);
    ASSERT_TRUE(log_has("refused client certificate: unable to get local issuer "
                        "certificate (depth=0 subject=/CN=evil)"));
    fixture_stop(&f);
}

static void
client_cn_not_allowed_gets_403(void)
{
    struct fixture f;
    ASSERT_TRUE(fixture_start(&f));
    json_t *reply = NULL;
    char err[ERR_LEN] = "";
    int rc = call_as(&f, "other", "ca1", "srv", "echo", NULL, &reply, err, sizeof err);
    ASSERT_EQ(rc, 0);
    ASSERT_TRUE(json_is_false(json_object_get(reply, "ok")));
    ASSERT_STREQ(json_string_value(json_object_get(reply, "code")), "forbidden");
    ASSERT_STREQ(json_string_value(json_object_get(reply, "error")),
                 "host 'other' may not call this agent");
    json_decref(reply);
    ASSERT_TRUE(log_has("cn=other: refused (peer): host 'other' may not call this agent"));
    fixture_stop(&f);
}

/* Calls 'cmd' as 'name' and checks a 403 "forbidden" whose error contains
 * 'msg' and that counted one refusal of 'reason'. */
static void
assert_forbidden(struct fixture *f, const char *name, const char *cmd, const char *msg,
                 enum authz_reason reason)
{
    uint64_t before = authz_refused(reason);
    json_t *reply = NULL;
    char err[ERR_LEN] = "";
    ASSERT_EQ(call_as(f, name, "ca1", "srv", cmd, NULL, &reply, err, sizeof err), 0);
    ASSERT_TRUE(json_is_false(json_object_get(reply, "ok")));
    ASSERT_STREQ(json_string_value(json_object_get(reply, "code")), "forbidden");
    ASSERT_NOT_NULL(strstr(json_string_value(json_object_get(reply, "error")), msg));
    json_decref(reply);
    ASSERT_EQ(authz_refused(reason), before + 1);
}

static void
command_roles_decide_who_runs_it(void)
{
    struct fixture f;
    ASSERT_TRUE(fixture_start(&f));
    json_t *reply = NULL;
    char err[ERR_LEN] = "";
    /* The manager runs the manager-only command; the host may not. */
    ASSERT_EQ(call_as(&f, "mgr", "ca1", "srv", "admin", NULL, &reply, err, sizeof err), 0);
    ASSERT_TRUE(json_is_true(json_object_get(reply, "ok")));
    ASSERT_NOT_NULL(
        strstr(json_string_value(json_object_get(json_object_get(reply, "result"), "peer")),
               " cn=mgr role=manager"));
    json_decref(reply);
    assert_forbidden(&f, "cli", "admin", "admin: not allowed to role host", AUTHZ_R_COMMAND);
    ASSERT_TRUE(log_has("cn=cli: refused (command): admin: not allowed to role host"));
    /* A command of the local control socket only: nobody over the network. */
    assert_forbidden(&f, "mgr", "local", "local: not allowed to role manager", AUTHZ_R_COMMAND);
    /* help lists what the caller may run, and nothing else. */
    ASSERT_EQ(call_as(&f, "cli", "ca1", "srv", "help", NULL, &reply, err, sizeof err), 0);
    json_t *list = json_object_get(reply, "result");
    ASSERT_EQ(json_array_size(list), 4); /* echo, port.get, payload, help */
    size_t i;
    json_t *c;
    json_array_foreach (list, i, c) {
        const char *n = json_string_value(json_object_get(c, "name"));
        ASSERT_TRUE(strcmp(n, "admin") && strcmp(n, "local"));
    }
    json_decref(reply);
    fixture_stop(&f);
}

static void
certificate_without_one_role_is_refused(void)
{
    struct fixture f;
    ASSERT_TRUE(fixture_start(&f));
    assert_forbidden(&f, "norole", "echo", "names no role", AUTHZ_R_NO_ROLE);
    ASSERT_TRUE(log_has("cn=norole: refused (no-role)"));
    assert_forbidden(&f, "twice", "echo", "several roles", AUTHZ_R_NO_ROLE);
    fixture_stop(&f);
}

static void
expired_client_is_refused_and_counted(void)
{
    struct fixture f;
    ASSERT_TRUE(fixture_start(&f));
    uint64_t before = authz_refused(AUTHZ_R_EXPIRED);
    json_t *reply = NULL;
    char err[ERR_LEN] = "";
    int rc = call_as(&f, "expired", "ca1", "srv", "echo", NULL, &reply, err, sizeof err);
    ASSERT_TRUE(is_refusal(rc));
    ASSERT_NULL(reply);
    ASSERT_TRUE(log_has("refused client certificate: certificate has expired"));
    ASSERT_EQ(authz_refused(AUTHZ_R_EXPIRED), before + 1);
    fixture_stop(&f);
}

static void
server_without_policy_does_not_start(void)
{
    struct fixture f;
    ASSERT_TRUE(fixture_start(&f));
    struct authz_policy none = {0};
    char err[ERR_LEN] = "";
    struct http_server *s = http_server_create(f.lt.base, "127.0.0.1", free_port(), f.srv_ctx,
                                               f.tab, &none, err, sizeof err);
    ASSERT_NULL(s);
    ASSERT_STREQ(err, "no authorization policy (who may call): not listening");
    ASSERT_NULL(http_server_create(f.lt.base, "127.0.0.1", free_port(), f.srv_ctx, f.tab, NULL, err,
                                   sizeof err));
    fixture_stop(&f);
}

static void
client_checks_the_server_role(void)
{
    struct fixture f;
    ASSERT_TRUE(fixture_start(&f));
    SSL_CTX *ctx = ctx_for("cli", "ca1", false);
    ASSERT_NOT_NULL(ctx);
    struct httpc peer = {.ctx = ctx,
                         .host = "127.0.0.1",
                         .port = f.port,
                         .expect_cn = "srv",
                         .expect_role = AUTHZ_DPU,
                         .timeout_ms = 5000};
    json_t *reply = NULL;
    char err[ERR_LEN] = "";
    ASSERT_EQ(httpc_call(&peer, "echo", NULL, &reply, err, sizeof err), 0);
    json_decref(reply);
    peer.expect_role = AUTHZ_HOST; /* the server is a DPU, not a host */
    ASSERT_EQ(httpc_call(&peer, "echo", NULL, &reply, err, sizeof err), -EACCES);
    ASSERT_STREQ(err, "server 'srv' has role dpu, not host");
    SSL_CTX_free(ctx);
    fixture_stop(&f);
}

static void
server_cn_mismatch_is_eacces(void)
{
    struct fixture f;
    ASSERT_TRUE(fixture_start(&f));
    json_t *reply = NULL;
    char err[ERR_LEN] = "";
    int rc = call_as(&f, "cli", "ca1", "not-srv", "echo", NULL, &reply, err, sizeof err);
    ASSERT_EQ(rc, -EACCES);
    ASSERT_STREQ(err, "server CN 'srv' is not the expected 'not-srv'");

    /* A server certificate from a CA we do not trust. */
    rc = call_as(&f, "cli", "ca2", NULL, "echo", NULL, &reply, err, sizeof err);
    ASSERT_EQ(rc, -EACCES);
    ASSERT_NULL(reply);
    ASSERT_TRUE(log_has("refused server certificate"));
    fixture_stop(&f);
}

static void
unknown_command_and_path_get_404(void)
{
    struct fixture f;
    ASSERT_TRUE(fixture_start(&f));
    json_t *reply = NULL;
    char err[ERR_LEN] = "";
    ASSERT_EQ(call_as(&f, "cli", "ca1", "srv", "nope", NULL, &reply, err, sizeof err), 0);
    ASSERT_STREQ(json_string_value(json_object_get(reply, "code")), "unknown-command");
    json_decref(reply);

    char *resp = raw_request(&f,
                             "GET /api/v1/nope HTTP/1.1\r\nHost: x\r\n"
                             "Connection: close\r\n\r\n",
                             0);
    ASSERT_NOT_NULL(resp);
    ASSERT_TRUE(!strncmp(resp, "HTTP/1.1 404 ", 13));
    ASSERT_NOT_NULL(strstr(resp, "Content-Type: application/json"));
    ASSERT_NOT_NULL(strstr(resp, "\"code\":\"unknown-command\""));
    free(resp);

    resp = raw_request(&f,
                       "GET /api/v1/Bad%20Name HTTP/1.1\r\nHost: x\r\n"
                       "Connection: close\r\n\r\n",
                       0);
    ASSERT_NOT_NULL(resp);
    ASSERT_TRUE(!strncmp(resp, "HTTP/1.1 404 ", 13));
    ASSERT_NOT_NULL(strstr(resp, "\"code\":\"notfound\""));
    free(resp);

    resp = raw_request(&f,
                       "GET /api/v1/echo HTTP/1.1\r\nHost: x\r\n"
                       "Connection: close\r\n\r\n",
                       0);
    ASSERT_NOT_NULL(resp);
    ASSERT_TRUE(!strncmp(resp, "HTTP/1.1 200 ", 13));
    free(resp);

    resp = raw_request(&f,
                       "POST /api/v1/echo HTTP/1.1\r\nHost: x\r\n"
                       "Content-Length: 3\r\nConnection: close\r\n\r\n[1]",
                       0);
    ASSERT_NOT_NULL(resp);
    ASSERT_TRUE(!strncmp(resp, "HTTP/1.1 400 ", 13));
    ASSERT_NOT_NULL(strstr(resp, "\"code\":\"bad-request\""));
    free(resp);

    resp = raw_request(&f,
                       "DELETE /api/v1/echo HTTP/1.1\r\nHost: x\r\n"
                       "Connection: close\r\n\r\n",
                       0);
    ASSERT_NOT_NULL(resp);
    ASSERT_TRUE(!strncmp(resp, "HTTP/1.1 405 ", 13));
    free(resp);
    fixture_stop(&f);
}

static void
status_403_and_413_on_the_wire(void)
{
    struct fixture f;
    ASSERT_TRUE(fixture_start(&f));
    char head[256];
    size_t big = HTTP_MAX_BODY + 1;
    snprintf(head, sizeof head,
             "POST /api/v1/echo HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n"
             "Connection: close\r\n\r\n",
             big);
    char *resp = raw_request(&f, head, big);
    ASSERT_NOT_NULL(resp);
    ASSERT_TRUE(!strncmp(resp, "HTTP/1.1 413 ", 13));
    free(resp);
    fixture_stop(&f);

    /* The policy refusal: use a raw client with CN=other. */
    ASSERT_TRUE(fixture_start(&f));
    SSL_CTX *ctx = ctx_for("other", "ca1", false);
    ASSERT_NOT_NULL(ctx);
    struct sockaddr_in sin = {
        .sin_family = AF_INET, .sin_port = htons(f.port), .sin_addr.s_addr = htonl(0x7f000001)};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_EQ(connect(fd, (struct sockaddr *)&sin, sizeof sin), 0);
    SSL *ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    SSL_set_options(ssl, SSL_OP_IGNORE_UNEXPECTED_EOF);
    ASSERT_EQ(SSL_connect(ssl), 1);
    const char *req = "GET /api/v1/echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    SSL_write(ssl, req, (int)strlen(req));
    char buf[4096] = "";
    int len = 0;
    for (int n; len < (int)sizeof buf - 1 &&
                (n = SSL_read(ssl, buf + len, (int)sizeof buf - 1 - len)) > 0;)
        len += n;
    buf[len] = '\0';
    SSL_free(ssl);
    close(fd);
    SSL_CTX_free(ctx);
    ERR_clear_error();
    ASSERT_TRUE(!strncmp(buf, "HTTP/1.1 403 ", 13));
    ASSERT_NOT_NULL(strstr(buf, "{\"ok\":false,"));
    fixture_stop(&f);
}

static struct httpc
cli_peer(struct fixture *f, SSL_CTX *ctx)
{
    return (struct httpc){.ctx = ctx, .host = "127.0.0.1", .port = f->port, .timeout_ms = 5000};
}

static void
binary_payload_reaches_the_handler_whole(void)
{
    struct fixture f;
    ASSERT_TRUE(fixture_start(&f));
    SSL_CTX *ctx = ctx_for("cli", "ca1", false);
    ASSERT_NOT_NULL(ctx);
    struct httpc peer = cli_peer(&f, ctx);
    /* The largest payload, every byte value (NULs and CR LF included). */
    size_t len = HTTP_MAX_BODY;
    uint8_t *data = malloc(len + 1);
    uint64_t h = 14695981039346656037ULL;
    for (size_t i = 0; i < len; i++) {
        data[i] = (uint8_t)(i * 7 + (i >> 11));
        h = (h ^ data[i]) * 1099511628211ULL;
    }
    json_t *args = json_pack("{s:s,s:i}", "id", "op1", "offset", 42);
    json_t *reply = NULL;
    char err[ERR_LEN] = "";
    ASSERT_EQ(httpc_call_payload(&peer, "payload", args, data, len, &reply, err, sizeof err), 0);
    json_t *r = json_object_get(reply, "result");
    ASSERT_EQ(json_integer_value(json_object_get(r, "len")), (json_int_t)len);
    ASSERT_EQ(json_integer_value(json_object_get(r, "fnv")), (json_int_t)(h >> 1));
    ASSERT_TRUE(json_equal(json_object_get(r, "args"), args));
    json_decref(reply);
    /* An empty payload is still a payload. */
    ASSERT_EQ(httpc_call_payload(&peer, "payload", NULL, data, 0, &reply, err, sizeof err), 0);
    ASSERT_EQ(json_integer_value(json_object_get(json_object_get(reply, "result"), "len")), 0);
    json_decref(reply);
    /* One byte too many is refused before anything is sent. */
    ASSERT_EQ(httpc_call_payload(&peer, "payload", args, data, len + 1, &reply, err, sizeof err),
              -EMSGSIZE);
    ASSERT_NULL(reply);
    /* A plain JSON call has no payload. */
    ASSERT_EQ(httpc_call(&peer, "payload", NULL, &reply, err, sizeof err), 0);
    ASSERT_STREQ(json_string_value(json_object_get(reply, "error")), "no payload");
    json_decref(reply);
    json_decref(args);
    free(data);
    SSL_CTX_free(ctx);
    /* Arguments that are not a JSON object, in the header, are refused. */
    char *resp = raw_request(&f,
                             "POST /api/v1/payload HTTP/1.1\r\nHost: x\r\n"
                             "Content-Type: application/octet-stream\r\nDse-Args: [1,\r\n"
                             "Content-Length: 0\r\nConnection: close\r\n\r\n",
                             0);
    ASSERT_NOT_NULL(resp);
    ASSERT_TRUE(!strncmp(resp, "HTTP/1.1 400 ", 13));
    ASSERT_NOT_NULL(strstr(resp, "Dse-Args"));
    free(resp);
    fixture_stop(&f);
}

/* The client's address:port as the server saw it ("127.0.0.1:PORT cn=cli"). */
static char *
seen_peer(json_t *reply)
{
    const char *p = json_string_value(json_object_get(json_object_get(reply, "result"), "peer"));
    return p ? strdup(p) : NULL;
}

static void
session_keeps_one_connection_and_survives_a_server_restart(void)
{
    struct fixture f;
    ASSERT_TRUE(fixture_start(&f));
    SSL_CTX *ctx = ctx_for("cli", "ca1", false);
    ASSERT_NOT_NULL(ctx);
    struct httpc peer = cli_peer(&f, ctx);
    struct httpc_session *s = httpc_session_create(&peer);
    ASSERT_NOT_NULL(s);
    json_t *reply = NULL;
    char err[ERR_LEN] = "", *first = NULL;
    uint8_t byte = 7;
    for (int i = 0; i < 20; i++) {
        ASSERT_EQ(httpc_session_call(s, i % 2 ? "payload" : "echo", NULL, i % 2 ? &byte : NULL, 1,
                                     0, &reply, err, sizeof err),
                  0);
        ASSERT_TRUE(json_is_true(json_object_get(reply, "ok")));
        char *p = seen_peer(reply);
        json_decref(reply);
        if (i == 0)
            first = p;
        else if (i % 2 == 0) {
            ASSERT_STREQ(p, first); /* the same client port: one connection */
            free(p);
        } else
            free(p);
    }
    /* A plain call is a connection of its own ... */
    ASSERT_EQ(httpc_call(&peer, "echo", NULL, &reply, err, sizeof err), 0);
    char *other = seen_peer(reply);
    json_decref(reply);
    ASSERT_TRUE(strcmp(other, first) != 0);
    free(other);
    /* ... but for a peer that carries the session, which it goes over. */
    struct httpc with = peer;
    with.session = s;
    ASSERT_EQ(httpc_call(&with, "echo", NULL, &reply, err, sizeof err), 0);
    other = seen_peer(reply);
    json_decref(reply);
    ASSERT_STREQ(other, first);
    free(other);

    /* The server goes away and comes back on the same port: the session's
     * kept connection is dead, and the next call makes a new one. */
    uint16_t port = f.port;
    fixture_stop(&f);
    ASSERT_TRUE(loop_thread_init(&f.lt));
    f.tab = cmdtab_create(defs, sizeof defs / sizeof defs[0], NULL);
    f.srv_ctx = ctx_for("srv", "ca1", true);
    struct authz_policy policy = test_policy();
    f.server = http_server_create(f.lt.base, "127.0.0.1", port, f.srv_ctx, f.tab, &policy, err,
                                  sizeof err);
    ASSERT_NOT_NULL(f.server);
    ASSERT_TRUE(loop_thread_start(&f.lt));
    ASSERT_EQ(httpc_session_call(s, "echo", NULL, NULL, 0, 0, &reply, err, sizeof err), 0);
    char *again = seen_peer(reply);
    json_decref(reply);
    ASSERT_TRUE(strcmp(again, first) != 0);
    /* ... which it keeps in turn. */
    ASSERT_EQ(httpc_session_call(s, "echo", NULL, NULL, 0, 0, &reply, err, sizeof err), 0);
    char *kept = seen_peer(reply);
    json_decref(reply);
    ASSERT_STREQ(kept, again);
    free(kept);
    free(again);
    free(first);
    httpc_session_destroy(s);
    fixture_stop(&f);

    /* No server at all: refused, not hung. */
    ASSERT_EQ(httpc_session_call(s = httpc_session_create(&peer), "echo", NULL, NULL, 0, 500,
                                 &reply, err, sizeof err),
              -ECONNREFUSED);
    httpc_session_destroy(s);
    httpc_session_destroy(NULL);
    SSL_CTX_free(ctx);
}

static void
closed_port_is_econnrefused(void)
{
    ASSERT_TRUE(pki_setup());
    SSL_CTX *ctx = ctx_for("cli", "ca1", false);
    ASSERT_NOT_NULL(ctx);
    struct httpc peer = {.ctx = ctx, .host = "127.0.0.1", .port = free_port(), .timeout_ms = 2000};
    json_t *reply = NULL;
    char err[ERR_LEN] = "";
    ASSERT_EQ(httpc_call(&peer, "echo", NULL, &reply, err, sizeof err), -ECONNREFUSED);
    ASSERT_EQ(httpc_call(&peer, "bad/name", NULL, &reply, err, sizeof err), -EINVAL);
    SSL_CTX_free(ctx);
}

/* ---- tls_bev_write_now: heartbeats straight through SSL_write ---- */

struct pair_state {
    int connected;
    struct evbuffer *got; /* what the server read */
};

static void
pair_event(struct bufferevent *bev, short what, void *arg)
{
    struct pair_state *st = arg;
    if (what & BEV_EVENT_CONNECTED)
        st->connected++;
}

static void
pair_read(struct bufferevent *bev, void *arg)
{
    struct pair_state *st = arg;
    evbuffer_add_buffer(st->got, bufferevent_get_input(bev));
}

/* Runs 'base' until 'done' holds or 5 s pass. */
#define LOOP_UNTIL(base, done)                                                                     \
    for (uint64_t t0_ = now_ms(); !(done) && now_ms() - t0_ < 5000;)                               \
    event_base_loop((base), EVLOOP_ONCE | EVLOOP_NONBLOCK)

static void
bev_write_now_sends_at_once_queues_behind_and_fails_when_backed_up(void)
{
    ASSERT_TRUE(pki_setup());
    SSL_CTX *sctx = ctx_for("srv", "ca1", true), *cctx = ctx_for("cli", "ca1", false);
    ASSERT_TRUE(sctx && cctx);
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    struct event_base *base = event_base_new();
    struct pair_state st = {.got = evbuffer_new()};
    struct bufferevent *srv = bufferevent_openssl_socket_new(
        base, sv[0], SSL_new(sctx), BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
    struct bufferevent *cli = bufferevent_openssl_socket_new(
        base, sv[1], SSL_new(cctx), BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
    ASSERT_TRUE(srv && cli);
    bufferevent_setcb(srv, pair_read, NULL, pair_event, &st);
    bufferevent_setcb(cli, NULL, NULL, pair_event, &st);
    bufferevent_enable(srv, EV_READ | EV_WRITE);
    bufferevent_enable(cli, EV_READ | EV_WRITE);
    LOOP_UNTIL(base, st.connected == 2);
    ASSERT_EQ(st.connected, 2);

    /* At once: nothing left queued in the bufferevent, the server reads it. */
    ASSERT_EQ(tls_bev_write_now(cli, "hb 1\n", 5), 0);
    ASSERT_EQ(evbuffer_get_length(bufferevent_get_output(cli)), 0);
    LOOP_UNTIL(base, evbuffer_get_length(st.got) >= 5);
    ASSERT_EQ(evbuffer_get_length(st.got), 5);

    /* Behind what is queued, in order. */
    bufferevent_write(cli, "queued\n", 7);
    ASSERT_EQ(tls_bev_write_now(cli, "hb 2\n", 5), 0);
    ASSERT_EQ(evbuffer_get_length(bufferevent_get_output(cli)), 12);
    LOOP_UNTIL(base, evbuffer_get_length(st.got) >= 17);
    char text[32] = "";
    evbuffer_remove(st.got, text, sizeof text - 1);
    ASSERT_STREQ(text, "hb 1\nqueued\nhb 2\n");

    /* A peer that reads nothing: the send buffer fills and the write says
     * so, rather than queueing without end. */
    bufferevent_disable(srv, EV_READ);
    char rec[1024];
    memset(rec, 'x', sizeof rec);
    int rc = 0, n = 0;
    while (n < 100000 && (rc = tls_bev_write_now(cli, rec, sizeof rec)) == 0)
        n++;
    ASSERT_EQ(rc, -1);
    ASSERT_GT(n, 0);
    ASSERT_EQ(evbuffer_get_length(bufferevent_get_output(cli)), 0);

    bufferevent_free(cli);
    bufferevent_free(srv);
    evbuffer_free(st.got);
    event_base_free(base);
    SSL_CTX_free(sctx);
    SSL_CTX_free(cctx);
}

/* A reply envelope unwrapped: the result, or the agent's own reason. */
static void
envelopes_unwrap_to_the_result_or_the_reason(void)
{
    char err[ERR_LEN] = "";
    json_t *r = NULL;
    ASSERT_EQ(httpc_unwrap(json_pack("{s:b,s:{s:i}}", "ok", 1, "result", "n", 7), "h1", &r, err,
                           sizeof err),
              0);
    ASSERT_EQ(json_integer_value(json_object_get(r, "n")), 7);
    json_decref(r);
    ASSERT_EQ(httpc_unwrap(json_pack("{s:b,s:s,s:s}", "ok", 0, "error", "no portgroup pg-x", "code",
                                     "notfound"),
                           "h1", &r, err, sizeof err),
              -ENOENT);
    ASSERT_STREQ(err, "h1: no portgroup pg-x");
    ASSERT_EQ(
        httpc_unwrap(json_pack("{s:b,s:s}", "ok", 0, "code", "usage"), "h1", NULL, err, sizeof err),
        -EINVAL);
    ASSERT_EQ(httpc_unwrap(json_pack("{s:b}", "ok", 0), "h1", NULL, err, sizeof err), -EIO);
    ASSERT_STREQ(err, "h1: failed");
}

TEST_MAIN(TEST(envelopes_unwrap_to_the_result_or_the_reason), TEST(ok_call_echoes_args),
          TEST(client_without_certificate_is_refused), TEST(client_from_other_ca_is_refused),
          TEST(client_cn_not_allowed_gets_403), TEST(command_roles_decide_who_runs_it),
          TEST(certificate_without_one_role_is_refused),
          TEST(expired_client_is_refused_and_counted), TEST(server_without_policy_does_not_start),
          TEST(client_checks_the_server_role), TEST(server_cn_mismatch_is_eacces),
          TEST(unknown_command_and_path_get_404), TEST(status_403_and_413_on_the_wire),
          TEST(binary_payload_reaches_the_handler_whole),
          TEST(session_keeps_one_connection_and_survives_a_server_restart),
          TEST(closed_port_is_econnrefused),
          TEST(bev_write_now_sends_at_once_queues_behind_and_fails_when_backed_up))
