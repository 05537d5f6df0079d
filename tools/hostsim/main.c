/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dse-hostsim: N simulated hosts (hostsim.h) behind one HTTPS listener, as
 * dse-manager meets hostd: mutual TLS, POST /api/v1/CMD, the cmdtab
 * envelope.  One wildcard listener serves every host: the local address of
 * a connection says which host the manager called (run it in a network
 * namespace of its own, where 127.0.0.0/8 is all local), and each host
 * presents its own certificate (CN its name, role host, issued at start by
 * the manager's CA from one key for all), chosen in the handshake.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "lib/authz.h"
#include "lib/cmdtab.h"
#include "lib/log.h"
#include "lib/tls.h"
#include "lib/util.h"
#include "manager/ca.h"
#include "tools/hostsim/hostsim.h"

LOG_MODULE(hostsim);

static const char usage[] =
    "usage: dse-hostsim --hosts N --ca-dir DIR [--dpus N] [--prefix NAME]\n"
    "                   [--interval-s S] [--listen ADDR:PORT] [--record FILE]\n"
    "       dse-hostsim --hosts N [--prefix NAME] --print-hosts\n"
    "N simulated hosts, each with its DPUs, answering dse-manager as hostd does.\n"
    "  --hosts       how many (1..64000); host I is PREFIX+I at 127.1.X.Y\n"
    "                (X = (I-1)/250, Y = (I-1)%250+1)\n"
    "  --ca-dir      the manager's CA (STATE/ca: ca.key, ca.pem): it issues each\n"
    "                host's certificate (CN its name, role host) at start\n"
    "  --dpus        DPUs per host (default 2)\n"
    "  --prefix      of the hosts' names (default sim-h)\n"
    "  --interval-s  a new sample of the figures every S s (default 20)\n"
    "  --listen      default 0.0.0.0:7443 (every host's address)\n"
    "  --record      appends 'T_MS HOST PORTGROUP' for each portgroup.add\n"
    "  --print-hosts prints 'NAME ADDRESS' per host and exits\n";

struct opts {
    unsigned hosts, dpus, interval_s;
    const char *prefix, *ca_dir, *listen, *record;
    bool print;
};

struct sim_server {
    struct hostsim *sim;
    X509 **certs; /* [1..n] */
    EVP_PKEY *key;
    SSL_CTX *ctx;
    FILE *record;
};

static int
parse(int argc, char **argv, struct opts *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        long n;
        if (!strcmp(a, "--help") || !strcmp(a, "-h"))
            return fputs(usage, stdout), 0;
        if (!strcmp(a, "--print-hosts")) {
            o->print = true;
            continue;
        }
        if (!v)
            return fprintf(stderr, "dse-hostsim: %s needs a value\n", a), 2;
        i++;
        if (!strcmp(a, "--hosts") && parse_long(v, 1, HOSTSIM_MAX_HOSTS, &n))
            o->hosts = (unsigned)n;
        else if (!strcmp(a, "--dpus") && parse_long(v, 0, HOSTSIM_MAX_DPUS, &n))
            o->dpus = (unsigned)n;
        else if (!strcmp(a, "--interval-s") && parse_long(v, 1, 3600, &n))
            o->interval_s = (unsigned)n;
        else if (!strcmp(a, "--prefix") && name_is_valid(v, 24))
            o->prefix = v;
        else if (!strcmp(a, "--ca-dir"))
            o->ca_dir = v;
        else if (!strcmp(a, "--listen"))
            o->listen = v;
        else if (!strcmp(a, "--record"))
            o->record = v;
        else
            return fprintf(stderr, "dse-hostsim: bad option %s %s (try --help)\n", a, v), 2;
    }
    if (!o->hosts || (!o->print && !o->ca_dir))
        return fprintf(stderr, "dse-hostsim: --hosts and --ca-dir are needed (try --help)\n"), 2;
    return -1;
}

/* ---- certificates ---- */

/* A CSR of 'key', PEM, into 'out'.  Returns its length, or 0. */
static size_t
make_csr(EVP_PKEY *key, char *out, size_t len)
{
    X509_REQ *req = X509_REQ_new();
    BIO *b = BIO_new(BIO_s_mem());
    size_t n = 0;
    if (req && b && X509_REQ_set_pubkey(req, key) && X509_REQ_sign(req, key, EVP_sha256()) &&
        PEM_write_bio_X509_REQ(b, req)) {
        char *p;
        long l = BIO_get_mem_data(b, &p);
        if (l > 0 && (size_t)l < len) {
            memcpy(out, p, (size_t)l);
            out[l] = '\0';
            n = (size_t)l;
        }
    }
    X509_REQ_free(req);
    BIO_free(b);
    return n;
}

/* Each host's certificate from the CA in 'dir', for one new key. */
static int
issue_certs(struct sim_server *sv, const char *dir, unsigned n)
{
    char err[ERR_LEN], csr[4096], pem[CA_PEM_MAX], serial[CA_SERIAL_HEX_LEN], ip[16];
    struct ca *ca = NULL;
    size_t csr_len;
    if (ca_open(dir, &ca, err, sizeof err) < 0)
        return fprintf(stderr, "dse-hostsim: %s\n", err), -1;
    sv->key = EVP_EC_gen("P-256");
    sv->certs = calloc(n + 1, sizeof *sv->certs);
    int rc = sv->key && sv->certs && (csr_len = make_csr(sv->key, csr, sizeof csr)) ? 0 : -1;
    for (unsigned i = 1; rc == 0 && i <= n; i++) {
        hostsim_addr(i, ip);
        rc = ca_sign_csr(ca, csr, csr_len, hostsim_name(sv->sim, i), AUTHZ_HOST, ip, 30, pem,
                         sizeof pem, serial, err, sizeof err);
        BIO *b = rc == 0 ? BIO_new_mem_buf(pem, -1) : NULL;
        if (rc == 0 && !(b && (sv->certs[i] = PEM_read_bio_X509(b, NULL, NULL, NULL))))
            rc = err_set(err, sizeof err, -EIO, "cannot read the certificate issued");
        BIO_free(b);
    }
    ca_close(ca);
    if (rc < 0)
        fprintf(stderr, "dse-hostsim: certificates: %s\n", rc == -1 ? "out of memory" : err);
    return rc;
}

/* The host a connection is for: its local address, kept with its TLS
 * session (SSL app data) once known.  0 when no host is there. */
static unsigned
host_of(struct sim_server *sv, SSL *ssl)
{
    uintptr_t h = (uintptr_t)SSL_get_app_data(ssl);
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    if (h)
        return (unsigned)h;
    if (getsockname(SSL_get_fd(ssl), (struct sockaddr *)&a, &len) < 0 || a.sin_family != AF_INET)
        return 0;
    h = hostsim_host_at(sv->sim, ntohl(a.sin_addr.s_addr));
    SSL_set_app_data(ssl, (void *)h);
    /* As hostd's server (lib/http.c): no Nagle on replies to kept-alive
     * callers. */
    int one = 1;
    setsockopt(SSL_get_fd(ssl), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return (unsigned)h;
}

/* The handshake's choice of certificate: the addressed host's. */
static int
cert_cb(SSL *ssl, void *arg)
{
    struct sim_server *sv = arg;
    unsigned h = host_of(sv, ssl);
    return h && SSL_use_certificate(ssl, sv->certs[h]) == 1 &&
           SSL_use_PrivateKey(ssl, sv->key) == 1;
}

/* A server context as hostd's (lib/tls.c): TLS 1.2 at least, a client
 * certificate from the CA required, resumption allowed. */
static SSL_CTX *
server_ctx(struct sim_server *sv, const char *ca_dir)
{
    char ca[4200];
    static const unsigned char sid[] = "dse";
    snprintf(ca, sizeof ca, "%s/ca.pem", ca_dir);
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(ca);
    if (!ctx || !names || !SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
        SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
        char e[256];
        tls_error_string(e, sizeof e);
        fprintf(stderr, "dse-hostsim: %s: %s\n", ca, e);
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_client_CA_list(ctx, names);
    SSL_CTX_set_session_id_context(ctx, sid, sizeof sid - 1);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    SSL_CTX_set_cert_cb(ctx, cert_cb, sv);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    return ctx;
}

/* ---- requests ---- */

static int
status_for(json_t *env)
{
    const char *code = json_string_value(json_object_get(env, "code"));
    if (json_is_true(json_object_get(env, "ok")))
        return 200;
    return !code                                                           ? 500
           : !strcmp(code, "usage") || !strcmp(code, "bad-request")        ? 400
           : !strcmp(code, "notfound") || !strcmp(code, "unknown-command") ? 404
           : !strcmp(code, "exists")                                       ? 409
           : !strcmp(code, "forbidden")                                    ? 403
                                                                           : 500;
}

static void
reply(struct evhttp_request *req, json_t *env)
{
    char *s = env ? json_dumps(env, JSON_COMPACT) : NULL;
    struct evbuffer *buf = evbuffer_new();
    if (!s || !buf || evbuffer_add(buf, s, strlen(s)) || evbuffer_add(buf, "\n", 1)) {
        evhttp_send_error(req, 500, NULL);
    } else {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                          "application/json");
        evhttp_send_reply(req, status_for(env), NULL, buf);
    }
    if (buf)
        evbuffer_free(buf);
    free(s);
    json_decref(env);
}

/* The caller must be the manager (role manager), as hostd's policy says. */
static json_t *
check_peer(SSL *ssl)
{
    char cn[AUTHZ_CN_MAX], why[256];
    unsigned role = 0;
    if (!ssl || tls_peer_identity(ssl, cn, sizeof cn, &role, why, sizeof why) < 0)
        return cmdtab_error("forbidden", "%s", ssl ? why : "no TLS");
    if (role != AUTHZ_MANAGER)
        return cmdtab_error("forbidden", "%s '%s' may not call this agent", authz_role_name(role),
                            cn);
    return NULL;
}

static void
request_cb(struct evhttp_request *req, void *arg)
{
    struct sim_server *sv = arg;
    struct bufferevent *bev = evhttp_connection_get_bufferevent(evhttp_request_get_connection(req));
    SSL *ssl = bev ? bufferevent_openssl_get_ssl(bev) : NULL;
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    json_t *env = check_peer(ssl), *args = NULL;
    unsigned h = ssl ? host_of(sv, ssl) : 0;
    if (env)
        return reply(req, env);
    if (!h || !path || strncmp(path, "/api/v1/", 8) ||
        evhttp_request_get_command(req) != EVHTTP_REQ_POST)
        return reply(req, cmdtab_error("notfound", "POST /api/v1/CMD to a simulated host"));
    if (len &&
        !json_is_object(args = json_loadb((const char *)evbuffer_pullup(in, -1), len, 0, NULL))) {
        json_decref(args);
        return reply(req, cmdtab_error("bad-request", "the arguments: a JSON object"));
    }
    reply(req, hostsim_call(sv->sim, h, path + 8, args, wall_ms()));
    json_decref(args);
}

/* ---- the loop ---- */

static void
flush_cb(evutil_socket_t fd, short what, void *arg)
{
    fflush(arg);
}

static void
stop_cb(evutil_socket_t sig, short what, void *arg)
{
    event_base_loopexit(arg, NULL);
}

static struct bufferevent *
bev_cb(struct event_base *base, void *arg)
{
    struct sim_server *sv = arg;
    return tls_bev_accepting(base, sv->ctx);
}

/* Listens on 'listen' and serves until SIGTERM or SIGINT. */
static int
serve(struct sim_server *sv, const char *listen)
{
    char addr[64];
    const char *colon = strrchr(listen, ':');
    long port;
    if (!colon || colon - listen >= (long)sizeof addr || !parse_long(colon + 1, 1, 65535, &port))
        return fprintf(stderr, "dse-hostsim: --listen: want ADDR:PORT\n"), 2;
    snprintf(addr, sizeof addr, "%.*s", (int)(colon - listen), listen);
    struct event_base *base = event_base_new();
    struct evhttp *http = base ? evhttp_new(base) : NULL;
    struct timeval tick = {0, 100000};
    struct event *flush = sv->record ? event_new(base, -1, EV_PERSIST, flush_cb, sv->record) : NULL;
    struct event *term = evsignal_new(base, SIGTERM, stop_cb, base),
                 *intr = evsignal_new(base, SIGINT, stop_cb, base);
    int rc = 1;
    if (!http || !term || !intr || evhttp_bind_socket(http, addr, (uint16_t)port) < 0) {
        fprintf(stderr, "dse-hostsim: cannot listen on %s\n", listen);
        goto out;
    }
    evhttp_set_bevcb(http, bev_cb, sv);
    evhttp_set_gencb(http, request_cb, sv);
    evhttp_set_timeout(http, 30); /* hostd's */
    evhttp_set_max_body_size(http, 1 << 20);
    evsignal_add(term, NULL);
    evsignal_add(intr, NULL);
    if (flush)
        event_add(flush, &tick);
    log_info("serving %s", listen);
    event_base_dispatch(base);
    rc = 0;
out:
    if (flush)
        event_free(flush);
    if (term)
        event_free(term);
    if (intr)
        event_free(intr);
    if (http)
        evhttp_free(http);
    if (base)
        event_base_free(base);
    return rc;
}

/* As many open files as allowed: a connection per host. */
static void
raise_nofile(void)
{
    struct rlimit r;
    if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
        r.rlim_cur = r.rlim_max;
        setrlimit(RLIMIT_NOFILE, &r);
    }
}

int
main(int argc, char **argv)
{
    struct opts o = {.dpus = 2, .interval_s = 20, .prefix = "sim-h", .listen = "0.0.0.0:7443"};
    int rc = parse(argc, argv, &o);
    if (rc >= 0)
        return rc;
    struct sim_server sv = {0};
    struct hostsim_params p = {
        .n_hosts = o.hosts, .n_dpus = o.dpus, .interval_s = o.interval_s, .prefix = o.prefix};
    if (o.record && !(sv.record = p.record = fopen(o.record, "a")))
        return fprintf(stderr, "dse-hostsim: %s: %s\n", o.record, strerror(errno)), 1;
    if (!(sv.sim = hostsim_create(&p)))
        return fprintf(stderr, "dse-hostsim: out of memory\n"), 1;
    if (o.print) {
        char ip[16];
        for (unsigned i = 1; i <= o.hosts; i++)
            hostsim_addr(i, ip), printf("%s %s\n", hostsim_name(sv.sim, i), ip);
        hostsim_destroy(sv.sim);
        return 0;
    }
    log_init("dse-hostsim", NULL, LL_INFO);
    signal(SIGPIPE, SIG_IGN);
    raise_nofile();
    uint64_t t0 = now_ms();
    rc = 1;
    if (issue_certs(&sv, o.ca_dir, o.hosts) == 0 && (sv.ctx = server_ctx(&sv, o.ca_dir))) {
        log_info("%u hosts, %u DPUs each, certificates issued in %llu ms", o.hosts, o.dpus,
                 (unsigned long long)(now_ms() - t0));
        rc = serve(&sv, o.listen);
    }
    json_t *counts = hostsim_counts(sv.sim);
    char *text = json_dumps(counts, JSON_COMPACT | JSON_SORT_KEYS);
    log_info("calls answered: %s", text ? text : "?");
    free(text);
    json_decref(counts);
    if (sv.record)
        fclose(sv.record);
    for (unsigned i = 1; sv.certs && i <= o.hosts; i++)
        X509_free(sv.certs[i]);
    free(sv.certs);
    EVP_PKEY_free(sv.key);
    SSL_CTX_free(sv.ctx);
    hostsim_destroy(sv.sim);
    return rc;
}
