/* SPDX-License-Identifier: Apache-2.0 */
/* identity: an agent's key, certificate and CRL on disk (identity.h). */
#include "lib/identity.h"

#include <errno.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/authz.h"
#include "lib/util.h"

static int
pending_path(const struct tls_paths *p, char *buf, size_t len, char *err, size_t err_len)
{
    if (!p->cert || !p->key || !p->ca)
        return err_set(err, err_len, -EINVAL, "no identity configured (--cert, --key, --ca)");
    if (snprintf(buf, len, "%s.pending", p->key) >= (int)len)
        return err_set(err, err_len, -ENAMETOOLONG, "key path too long");
    return 0;
}

static int
ossl_fail(char *err, size_t err_len, int rc, const char *what)
{
    char ossl[256];
    tls_error_string(ossl, sizeof ossl);
    return err_set(err, err_len, rc, "%s: %s", what, ossl);
}

/* The contents of memory BIO 'b' as a NUL-terminated string (caller frees). */
static char *
bio_string(BIO *b)
{
    char *data;
    long n = BIO_get_mem_data(b, &data);
    if (n < 0)
        return NULL;
    char *s = xmalloc((size_t)n + 1);
    memcpy(s, data, (size_t)n);
    s[n] = '\0';
    return s;
}

int
identity_csr(const struct tls_paths *p, const char *cn, char **csr, char *err, size_t err_len)
{
    char pending[4096];
    int rc = pending_path(p, pending, sizeof pending, err, err_len);
    if (rc < 0)
        return rc;
    ERR_clear_error();
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509_REQ *req = X509_REQ_new();
    X509_NAME *name = X509_NAME_new();
    BIO *kb = BIO_new(BIO_s_mem()), *rb = BIO_new(BIO_s_mem());
    char *keypem = NULL;
    *csr = NULL;
    if (!key || !req || !name || !kb || !rb ||
        !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1,
                                    0) ||
        !X509_REQ_set_subject_name(req, name) || !X509_REQ_set_pubkey(req, key) ||
        !X509_REQ_sign(req, key, EVP_sha256()) ||
        !PEM_write_bio_PrivateKey(kb, key, NULL, NULL, 0, NULL, NULL) ||
        !PEM_write_bio_X509_REQ(rb, req) || !(keypem = bio_string(kb)))
        rc = ossl_fail(err, err_len, -EIO, "cannot make a key and CSR");
    if (rc == 0 && (rc = fs_write_atomic_mode(pending, keypem, strlen(keypem), 0600)) < 0)
        err_set(err, err_len, rc, "cannot write %s: %s", pending, strerror(-rc));
    if (rc == 0)
        *csr = bio_string(rb);
    if (keypem)
        OPENSSL_cleanse(keypem, strlen(keypem));
    free(keypem);
    BIO_free(kb);
    BIO_free(rb);
    X509_NAME_free(name);
    X509_REQ_free(req);
    EVP_PKEY_free(key);
    return rc;
}

static X509 *
cert_from_pem(const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    return x;
}

/* Whether 'cert' chains to the CA file 'ca'. */
static int
chains_to(X509 *cert, const char *ca, char *err, size_t err_len)
{
    X509_STORE *st = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    int rc = 0;
    if (!st || !ctx || X509_STORE_load_file(st, ca) != 1 ||
        X509_STORE_CTX_init(ctx, st, cert, NULL) != 1)
        rc = ossl_fail(err, err_len, -EIO, "cannot load the CA");
    else if (X509_verify_cert(ctx) != 1)
        rc = err_set(err, err_len, -EINVAL, "certificate does not chain to this agent's CA %s: %s",
                     ca, X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(st);
    return rc;
}

int
identity_install(const struct tls_paths *p, const char *cert, unsigned role, char *cn,
                 size_t cn_len, char *err, size_t err_len)
{
    char pending[4096], name[AUTHZ_CN_MAX];
    int rc = pending_path(p, pending, sizeof pending, err, err_len);
    if (rc < 0)
        return rc;
    ERR_clear_error();
    X509 *x = cert_from_pem(cert);
    EVP_PKEY *key = NULL;
    FILE *f = NULL;
    unsigned got = 0;
    if (!x)
        rc = err_set(err, err_len, -EINVAL, "not a PEM certificate");
    else if (!(f = fopen(pending, "r")))
        rc = err_set(err, err_len, -ENOENT, "no pending key %s (make a CSR first): %s", pending,
                     strerror(errno));
    else if (!(key = PEM_read_PrivateKey(f, NULL, NULL, NULL)))
        rc = ossl_fail(err, err_len, -EIO, "cannot read the pending key");
    else if (X509_check_private_key(x, key) != 1)
        rc = err_set(err, err_len, -EINVAL, "certificate is not for the pending key");
    else if ((rc = chains_to(x, p->ca, err, err_len)) < 0)
        ;
    else if ((rc = tls_cert_identity(x, name, sizeof name, &got, err, err_len)) < 0)
        ;
    else if (got != role)
        rc = err_set(err, err_len, -EINVAL, "certificate has role %s, not %s", authz_role_name(got),
                     authz_role_name(role));
    if (f)
        fclose(f);
    EVP_PKEY_free(key);
    X509_free(x);
    ERR_clear_error();
    if (rc < 0)
        return rc;
    if (rename(pending, p->key) < 0)
        return err_set(err, err_len, -errno, "cannot move the key to %s: %s", p->key,
                       strerror(errno));
    if ((rc = fs_write_atomic(p->cert, cert, strlen(cert))) < 0)
        return err_set(err, err_len, rc, "cannot write %s: %s", p->cert, strerror(-rc));
    if (cn)
        snprintf(cn, cn_len, "%s", name);
    return 0;
}

int
identity_cert_sha256(const char *pem, size_t len, char hex[IDENTITY_SHA256_HEX], char *err,
                     size_t err_len)
{
    if (len > INT_MAX)
        return err_set(err, err_len, -EINVAL, "certificate too large");
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    unsigned char md[32];
    unsigned n = 0;
    int rc = x && X509_digest(x, EVP_sha256(), md, &n) == 1 && n == sizeof md
                 ? 0
                 : err_set(err, err_len, -EINVAL, "not a PEM certificate");
    if (rc == 0)
        hex_format(md, sizeof md, hex);
    X509_free(x);
    ERR_clear_error();
    return rc;
}

static bool
all_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

int
identity_token_parse(const char *token, char secret[IDENTITY_SECRET_HEX],
                     char pin[IDENTITY_SHA256_HEX])
{
    size_t pre = strlen(IDENTITY_TOKEN_PREFIX), ns = IDENTITY_SECRET_HEX - 1,
           np = IDENTITY_SHA256_HEX - 1;
    if (!token || strlen(token) != pre + ns + 1 + np ||
        strncmp(token, IDENTITY_TOKEN_PREFIX, pre) || token[pre + ns] != '.' ||
        !all_hex(token + pre, ns) || !all_hex(token + pre + ns + 1, np))
        return -EINVAL;
    memcpy(secret, token + pre, ns);
    secret[ns] = '\0';
    memcpy(pin, token + pre + ns + 1, np);
    pin[np] = '\0';
    return 0;
}

int64_t
identity_crl_number(const struct tls_paths *p)
{
    size_t len;
    char *pem = p->crl ? fs_read_file(p->crl, 1 << 22, &len) : NULL;
    int64_t n = 0;
    char err[ERR_LEN];
    if (pem && tls_crl_check(pem, len, p->ca, &n, err, sizeof err) < 0)
        n = 0;
    free(pem);
    return n;
}

int
identity_crl_store(const struct tls_paths *p, const char *pem, size_t len, int64_t *number,
                   char *err, size_t err_len)
{
    int64_t have = p->crl ? identity_crl_number(p) : 0, got;
    *number = have;
    if (!p->crl || !p->ca)
        return err_set(err, err_len, -EINVAL, "no CRL path configured");
    int rc = tls_crl_check(pem, len, p->ca, &got, err, err_len);
    if (rc < 0)
        return rc;
    if (got <= have)
        return 0;
    if ((rc = fs_write_atomic(p->crl, pem, len)) < 0)
        return err_set(err, err_len, rc, "cannot write %s: %s", p->crl, strerror(-rc));
    *number = got;
    return 1;
}
