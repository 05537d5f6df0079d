/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tls: OpenSSL 3 contexts for mutual TLS, and the logging of refused peers.
 *
 * A refusal is reported once per handshake: the verify callback reports a
 * certificate that does not chain to our CA (with the verify error and the
 * subject); the info callback reports the fatal alert we send for any other
 * reason, "no client certificate" included.  Both mark the SSL so that the
 * other stays quiet.
 */
#include "lib/tls.h"
#include "lib/authz.h"
#include "lib/log.h"
#include "lib/tls-private.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/util.h"

LOG_MODULE(tls);

/* Peers can trigger these logs, and any thread may log: one bucket, locked. */
static struct log_ratelimit refusal_rl = LOG_RATELIMIT_INIT(20, 10000);
static pthread_mutex_t refusal_lock = PTHREAD_MUTEX_INITIALIZER;

static int reported_idx = -1;
static pthread_once_t reported_once = PTHREAD_ONCE_INIT;

static void
reported_idx_init(void)
{
    reported_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

static int
get_reported_idx(void)
{
    pthread_once(&reported_once, reported_idx_init);
    return reported_idx;
}

void
tls_format_addr(const struct sockaddr *sa, char *buf, size_t len)
{
    char host[INET6_ADDRSTRLEN];
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        snprintf(buf, len, "%s:%u", host, ntohs(in->sin_port));
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        snprintf(buf, len, "[%s]:%u", host, ntohs(in6->sin6_port));
    } else if (sa->sa_family == AF_UNIX) {
        snprintf(buf, len, "unix");
    } else {
        snprintf(buf, len, "?");
    }
}

void
tls_format_peer_fd(int fd, char *buf, size_t len)
{
    struct sockaddr_storage ss;
    socklen_t sslen = sizeof ss;
    if (fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &sslen) < 0) {
        snprintf(buf, len, "?");
        return;
    }
    tls_format_addr((struct sockaddr *)&ss, buf, len);
}

void
tls_log_refusal(SSL *ssl, const char *fmt, ...)
{
    char peer[INET6_ADDRSTRLEN + 16];
    char msg[512];
    va_list ap;

    SSL_set_ex_data(ssl, get_reported_idx(), (void *)1);
    tls_format_peer_fd(SSL_get_fd(ssl), peer, sizeof peer);
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);

    pthread_mutex_lock(&refusal_lock);
    bool ok = log_ratelimit_ok(&refusal_rl);
    pthread_mutex_unlock(&refusal_lock);
    if (ok)
        log_warn("peer=%s: %s", peer, msg);
}

static bool
was_reported(const SSL *ssl)
{
    return SSL_get_ex_data(ssl, get_reported_idx()) != NULL;
}

static int
verify_cb(int ok, X509_STORE_CTX *store)
{
    if (ok)
        return ok;
    /* A stale revocation list is still the best one there is: an agent
     * whose manager is away keeps working (tls_ctx_reload). */
    int e = X509_STORE_CTX_get_error(store);
    if (e == X509_V_ERR_CRL_HAS_EXPIRED || e == X509_V_ERR_CRL_NOT_YET_VALID)
        return 1;
    SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
    if (!ssl || was_reported(ssl))
        return ok;

    int err = X509_STORE_CTX_get_error(store);
    if (SSL_is_server(ssl))
        authz_count(err == X509_V_ERR_CERT_HAS_EXPIRED || err == X509_V_ERR_CERT_NOT_YET_VALID
                        ? AUTHZ_R_EXPIRED
                    : err == X509_V_ERR_CERT_REVOKED ? AUTHZ_R_REVOKED
                                                     : AUTHZ_R_UNTRUSTED);
    X509 *cert = X509_STORE_CTX_get_current_cert(store);
    char subject[256] = "?";
    if (cert)
        X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof subject);
    tls_log_refusal(ssl, "refused %s certificate: %s (depth=%d subject=%s)",
                    SSL_is_server(ssl) ? "client" : "server", X509_verify_cert_error_string(err),
                    X509_STORE_CTX_get_error_depth(store), subject);
    return ok;
}

static void
info_cb(const SSL *cssl, int where, int ret)
{
    /* Only fatal alerts that we send mean that we refused the peer. */
    if (!(where & SSL_CB_ALERT) || !(where & SSL_CB_WRITE) || (ret >> 8) != SSL3_AL_FATAL)
        return;
    if (was_reported(cssl))
        return;
    SSL *ssl = (SSL *)cssl; /* OpenSSL passes const but we only mark it */
    int desc = ret & 0xff;
    if (SSL_is_server(ssl) && !SSL_get0_peer_certificate(ssl) &&
        (desc == SSL_AD_CERTIFICATE_REQUIRED || desc == SSL_AD_HANDSHAKE_FAILURE)) {
        authz_count(AUTHZ_R_NO_CERT);
        tls_log_refusal(ssl, "refused handshake: no client certificate");
        return;
    }
    if (SSL_is_server(ssl))
        authz_count(AUTHZ_R_HANDSHAKE);
    tls_log_refusal(ssl, "refused handshake: sent alert '%s'", SSL_alert_desc_string_long(ret));
}

void
tls_error_string(char *buf, size_t len)
{
    unsigned long e;
    size_t off = 0;
    if (!len)
        return;
    buf[0] = '\0';
    while ((e = ERR_get_error()) != 0) {
        char one[256];
        ERR_error_string_n(e, one, sizeof one);
        int n = snprintf(buf + off, len - off, "%s%s", off ? "; " : "", one);
        if (n < 0 || (size_t)n >= len - off) {
            ERR_clear_error();
            break;
        }
        off += n;
    }
    if (!off)
        snprintf(buf, len, "unknown TLS error");
}

static SSL_CTX *
ctx_fail(SSL_CTX *ctx, char *err, size_t err_len, const char *what, const char *path)
{
    char ossl[512];
    tls_error_string(ossl, sizeof ossl);
    err_set(err, err_len, 0, "%s '%s': %s", what, path ? path : "", ossl);
    SSL_CTX_free(ctx);
    return NULL;
}

static SSL_CTX *
ctx_new(const SSL_METHOD *method, const struct tls_paths *paths, bool is_server, char *err,
        size_t err_len)
{
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(method);
    if (!ctx)
        return ctx_fail(NULL, err, err_len, "cannot create TLS context", NULL);
    if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION))
        return ctx_fail(ctx, err, err_len, "cannot set TLS version floor", NULL);

    /* A client may go without a certificate (is_server needs one). */
    if (paths->cert || is_server) {
        if (SSL_CTX_use_certificate_chain_file(ctx, paths->cert) != 1)
            return ctx_fail(ctx, err, err_len, "cannot load certificate", paths->cert);
        if (SSL_CTX_use_PrivateKey_file(ctx, paths->key, SSL_FILETYPE_PEM) != 1)
            return ctx_fail(ctx, err, err_len, "cannot load private key", paths->key);
        if (SSL_CTX_check_private_key(ctx) != 1)
            return ctx_fail(ctx, err, err_len, "private key does not match certificate",
                            paths->key);
    }
    if (SSL_CTX_load_verify_locations(ctx, paths->ca, NULL) != 1)
        return ctx_fail(ctx, err, err_len, "cannot load CA", paths->ca);
    if (paths->crl && access(paths->crl, F_OK) == 0 &&
        tls_ctx_reload(ctx, paths, err, err_len) < 0) {
        SSL_CTX_free(ctx);
        return NULL;
    }

    int mode = SSL_VERIFY_PEER;
    if (is_server) {
        mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(paths->ca);
        if (!names)
            return ctx_fail(ctx, err, err_len, "cannot read CA names", paths->ca);
        SSL_CTX_set_client_CA_list(ctx, names);
        /* Resumption with client certificates needs a session id context. */
        static const unsigned char sid_ctx[] = "dse";
        SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof sid_ctx - 1);
    }
    SSL_CTX_set_verify(ctx, mode, verify_cb);
    SSL_CTX_set_info_callback(ctx, info_cb);
    return ctx;
}

SSL_CTX *
tls_server_ctx(const struct tls_paths *paths, char *err, size_t err_len)
{
    return ctx_new(TLS_server_method(), paths, true, err, err_len);
}

struct bufferevent *
tls_bev_accepting(struct event_base *base, SSL_CTX *ctx)
{
    SSL *ssl = SSL_new(ctx);
    if (!ssl)
        return NULL;
    /* evhttp sets the fd later (bufferevent_setfd), which attaches the socket
     * BIO; the handshake starts when the connection is enabled. */
    struct bufferevent *bev = bufferevent_openssl_socket_new(
        base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
    if (!bev) {
        SSL_free(ssl);
        return NULL;
    }
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    return bev;
}

void
tls_ctx_peer_cert_optional(SSL_CTX *ctx)
{
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_cb);
}

SSL_CTX *
tls_client_ctx(const struct tls_paths *paths, char *err, size_t err_len)
{
    return ctx_new(TLS_client_method(), paths, false, err, err_len);
}

/* The one CN of 'cert' into 'buf'. */
static bool
cert_cn(X509 *cert, char *buf, size_t len)
{
    if (!cert || !len)
        return false;
    X509_NAME *name = X509_get_subject_name(cert);
    int idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
    if (idx < 0)
        return false;
    /* Two CNs would make "the" CN ambiguous: refuse rather than pick one. */
    if (X509_NAME_get_index_by_NID(name, NID_commonName, idx) >= 0)
        return false;
    ASN1_STRING *data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
    unsigned char *utf8;
    int n = ASN1_STRING_to_UTF8(&utf8, data);
    if (n < 0)
        return false;
    bool ok = (size_t)n < len && memchr(utf8, '\0', n) == NULL;
    if (ok) {
        memcpy(buf, utf8, n);
        buf[n] = '\0';
    }
    OPENSSL_free(utf8);
    return ok;
}

bool
tls_peer_cn(SSL *ssl, char *buf, size_t len)
{
    return cert_cn(SSL_get0_peer_certificate(ssl), buf, len);
}

/* The SAN URIs of 'cert' into 'uris' (at most 'max', pointers into
 * '*names', which the caller frees with GENERAL_NAMES_free). */
static size_t
cert_uris(X509 *cert, GENERAL_NAMES **names, const char **uris, size_t max)
{
    size_t n = 0;
    *names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    for (int i = 0; *names && i < sk_GENERAL_NAME_num(*names) && n < max; i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(*names, i);
        if (g->type != GEN_URI)
            continue;
        const ASN1_IA5STRING *s = g->d.uniformResourceIdentifier;
        int len = ASN1_STRING_length(s);
        const unsigned char *data = ASN1_STRING_get0_data(s);
        /* An embedded NUL would let "urn:dse:role:host\0..." pass as host. */
        if (len <= 0 || memchr(data, '\0', (size_t)len) || data[len] != '\0')
            continue;
        uris[n++] = (const char *)data;
    }
    return n;
}

int
tls_peer_identity(SSL *ssl, char *cn, size_t cn_len, unsigned *role, char *err, size_t err_len)
{
    return tls_cert_identity(SSL_get0_peer_certificate(ssl), cn, cn_len, role, err, err_len);
}

int
tls_cert_identity(X509 *cert, char *cn, size_t cn_len, unsigned *role, char *err, size_t err_len)
{
    if (!cert_cn(cert, cn, cn_len))
        return err_set(err, err_len, -ENOENT, "certificate has no usable CN");
    GENERAL_NAMES *names = NULL;
    const char *uris[16];
    size_t n = cert_uris(cert, &names, uris, 16);
    int rc = authz_role_from_uris(uris, n, role, err, err_len);
    GENERAL_NAMES_free(names);
    return rc;
}

int
tls_peer_authorize(SSL *ssl, const struct authz_policy *policy, char *cn, size_t cn_len,
                   unsigned *role, enum authz_reason *reason, char *why, size_t why_len)
{
    if (tls_peer_identity(ssl, cn, cn_len, role, why, why_len) < 0) {
        if (!tls_peer_cn(ssl, cn, cn_len))
            snprintf(cn, cn_len, "?");
        *reason = AUTHZ_R_NO_ROLE;
        return -EACCES;
    }
    if (!authz_policy_allows(policy, *role, cn)) {
        *reason = AUTHZ_R_PEER;
        return err_set(why, why_len, -EACCES, "%s '%.96s' may not call this agent",
                       authz_role_name(*role), cn);
    }
    return 0;
}

int
tls_bev_write_now(struct bufferevent *bev, const void *buf, size_t len)
{
    SSL *ssl = bufferevent_openssl_get_ssl(bev);
    if (!ssl || evbuffer_get_length(bufferevent_get_output(bev)) || len > 16384)
        return bufferevent_write(bev, buf, len);
    ERR_clear_error();
    int n = SSL_write(ssl, buf, (int)len);
    if (n == (int)len)
        return 0;
    ERR_clear_error();
    return -1;
}

/* ---- reloading an identity and a revocation list ---- */

/* The CRL in PEM file 'path', or NULL with one line in 'err'. */
static X509_CRL *
crl_read_file(const char *path, char *err, size_t err_len)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        err_set(err, err_len, 0, "cannot open CRL '%s': %s", path, strerror(errno));
        return NULL;
    }
    X509_CRL *crl = PEM_read_X509_CRL(f, NULL, NULL, NULL);
    fclose(f);
    if (!crl) {
        char ossl[256];
        tls_error_string(ossl, sizeof ossl);
        err_set(err, err_len, 0, "bad CRL '%s': %s", path, ossl);
    }
    return crl;
}

/* Whether 'crl' is signed by one of the certificates of PEM file 'ca'. */
static int
crl_signed_by(X509_CRL *crl, const char *ca, char *err, size_t err_len)
{
    FILE *f = fopen(ca, "r");
    if (!f)
        return err_set(err, err_len, -EINVAL, "cannot open CA '%s': %s", ca, strerror(errno));
    int rc = err_set(err, err_len, -EINVAL, "CRL not signed by the CA of '%s'", ca);
    X509 *x;
    while ((x = PEM_read_X509(f, NULL, NULL, NULL))) {
        if (X509_NAME_cmp(X509_get_subject_name(x), X509_CRL_get_issuer(crl)) == 0 &&
            X509_CRL_verify(crl, X509_get0_pubkey(x)) == 1)
            rc = 0;
        X509_free(x);
        if (rc == 0)
            break;
    }
    ERR_clear_error(); /* the end of the file */
    fclose(f);
    return rc;
}

static int64_t
crl_number(X509_CRL *crl)
{
    int64_t n = 0;
    ASN1_INTEGER *i = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
    if (!i || ASN1_INTEGER_get_int64(&n, i) != 1)
        n = 0;
    ASN1_INTEGER_free(i);
    return n;
}

int
tls_crl_check(const char *pem, size_t len, const char *ca, int64_t *number, char *err,
              size_t err_len)
{
    if (len > INT_MAX)
        return err_set(err, err_len, -EINVAL, "CRL too large");
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    X509_CRL *crl = b ? PEM_read_bio_X509_CRL(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    ERR_clear_error();
    if (!crl)
        return err_set(err, err_len, -EINVAL, "not a PEM CRL");
    int rc = crl_signed_by(crl, ca, err, err_len);
    if (rc == 0)
        *number = crl_number(crl);
    X509_CRL_free(crl);
    return rc;
}

/* Replaces the CRLs of 'st' with 'crl', under the store's lock (what
 * X509_STORE_add_crl does, less the old lists), so that a lookup sees the
 * old list or the new one, never none; then checks every leaf against it. */
static int
store_set_crl(X509_STORE *st, X509_CRL *crl)
{
    X509_OBJECT *obj = X509_OBJECT_new();
    if (!obj || !X509_OBJECT_set1_X509_CRL(obj, crl)) {
        X509_OBJECT_free(obj);
        return -ENOMEM;
    }
    if (!X509_STORE_lock(st)) {
        X509_OBJECT_free(obj);
        return -EIO;
    }
    STACK_OF(X509_OBJECT) *objs = X509_STORE_get0_objects(st);
    for (int i = sk_X509_OBJECT_num(objs) - 1; i >= 0; i--) {
        X509_OBJECT *o = sk_X509_OBJECT_value(objs, i);
        if (X509_OBJECT_get_type(o) == X509_LU_CRL)
            X509_OBJECT_free(sk_X509_OBJECT_delete(objs, i));
    }
    int ok = sk_X509_OBJECT_push(objs, obj) > 0;
    X509_STORE_unlock(st);
    if (!ok) {
        X509_OBJECT_free(obj);
        return -ENOMEM;
    }
    X509_STORE_set_flags(st, X509_V_FLAG_CRL_CHECK);
    return 0;
}

int
tls_ctx_reload(SSL_CTX *ctx, const struct tls_paths *paths, char *err, size_t err_len)
{
    ERR_clear_error();
    X509 *cert = NULL;
    EVP_PKEY *key = NULL;
    X509_CRL *crl = NULL;
    int rc = 0;
    if (paths->cert && SSL_CTX_get0_certificate(ctx)) {
        FILE *f = fopen(paths->cert, "r");
        cert = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
        if (f)
            fclose(f);
        f = fopen(paths->key, "r");
        key = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
        if (f)
            fclose(f);
        if (!cert || !key)
            rc = err_set(err, err_len, -EINVAL, "cannot read %s '%s'",
                         cert ? "private key" : "certificate", cert ? paths->key : paths->cert);
        else if (X509_check_private_key(cert, key) != 1)
            rc = err_set(err, err_len, -EINVAL, "private key '%s' does not match certificate '%s'",
                         paths->key, paths->cert);
    }
    if (rc == 0 && paths->crl && access(paths->crl, F_OK) == 0) {
        if (!(crl = crl_read_file(paths->crl, err, err_len)))
            rc = -EINVAL;
        else
            rc = crl_signed_by(crl, paths->ca, err, err_len);
    }
    if (rc == 0 && cert &&
        (SSL_CTX_use_certificate(ctx, cert) != 1 || SSL_CTX_use_PrivateKey(ctx, key) != 1)) {
        char ossl[256];
        tls_error_string(ossl, sizeof ossl);
        rc = err_set(err, err_len, -EIO, "cannot use the new identity: %s", ossl);
    }
    if (rc == 0 && crl && store_set_crl(SSL_CTX_get_cert_store(ctx), crl) < 0)
        rc = err_set(err, err_len, -ENOMEM, "cannot load CRL '%s'", paths->crl);
    X509_free(cert);
    EVP_PKEY_free(key);
    X509_CRL_free(crl);
    ERR_clear_error();
    return rc;
}
