/* SPDX-License-Identifier: Apache-2.0 */
/* ca: the cluster CA: keys, certificates from CSRs, the CRL (ca.h). */
#include "manager/ca.h"

#include <errno.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/authz.h"
#include "lib/util.h"

struct ca {
    EVP_PKEY *key;
    X509 *cert;
};

/* err_set() with OpenSSL's last error appended. */
static int
ssl_fail(char *err, size_t err_len, const char *what)
{
    char e[160] = "";
    unsigned long code = ERR_peek_last_error();
    if (code)
        ERR_error_string_n(code, e, sizeof e);
    ERR_clear_error();
    return err_set(err, err_len, -EIO, "%s%s%s", what, e[0] ? ": " : "", e);
}

static void
ca_path(const char *dir, const char *file, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s", dir, file);
}

/* A random positive 128-bit serial, into 'x' and, as hex, 'hex'. */
static int
set_serial(X509 *x, char hex[CA_SERIAL_HEX_LEN])
{
    BIGNUM *bn = BN_new();
    int ok = bn && BN_rand(bn, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) &&
             BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
    char *h = ok ? BN_bn2hex(bn) : NULL;
    if (h)
        snprintf(hex, CA_SERIAL_HEX_LEN, "%s", h);
    OPENSSL_free(h);
    BN_free(bn);
    return h ? 0 : -EIO;
}

/* Adds extension 'value' of 'nid' to 'x', issued by 'issuer'. */
static int
add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    int ok = e && X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
    return ok ? 0 : -EIO;
}

/* A certificate of 'key' for 'cn', valid 'days', its serial into 'hex'. */
static X509 *
cert_new(EVP_PKEY *key, const char *cn, unsigned days, char hex[CA_SERIAL_HEX_LEN])
{
    X509 *x = X509_new();
    X509_NAME *name = x ? X509_get_subject_name(x) : NULL;
    if (!x || !X509_set_version(x, 2) || set_serial(x, hex) < 0 ||
        !X509_gmtime_adj(X509_getm_notBefore(x), -300) ||
        !X509_gmtime_adj(X509_getm_notAfter(x), (long)days * 86400) ||
        !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1,
                                    0) ||
        !X509_set_pubkey(x, key)) {
        X509_free(x);
        return NULL;
    }
    return x;
}

/* 'x' (PEM) or 'key' (PEM, private) into 'out'. */
static int
pem_out(X509 *x, X509_CRL *crl, char *out, size_t out_len, char *err, size_t err_len)
{
    BIO *b = BIO_new(BIO_s_mem());
    if (!b || (x && !PEM_write_bio_X509(b, x)) || (crl && !PEM_write_bio_X509_CRL(b, crl))) {
        BIO_free(b);
        return ssl_fail(err, err_len, "PEM");
    }
    char *p;
    long n = BIO_get_mem_data(b, &p);
    int rc = 0;
    if (n < 0 || (size_t)n >= out_len)
        rc = err_set(err, err_len, -ENOSPC, "PEM: %ld bytes do not fit", n);
    else
        memcpy(out, p, (size_t)n), out[n] = '\0';
    BIO_free(b);
    return rc;
}

static int
write_pem(const char *path, EVP_PKEY *key, X509 *x, char *err, size_t err_len)
{
    BIO *b = BIO_new(BIO_s_mem());
    if (!b || (key && !PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL)) ||
        (x && !PEM_write_bio_X509(b, x))) {
        BIO_free(b);
        return ssl_fail(err, err_len, path);
    }
    char *p;
    long n = BIO_get_mem_data(b, &p);
    int rc = fs_write_atomic(path, p, (size_t)n);
    OPENSSL_cleanse(p, (size_t)n);
    BIO_free(b);
    if (rc == 0 && key && chmod(path, 0600) < 0)
        rc = -errno;
    return rc < 0 ? err_set(err, err_len, rc, "%s: %s", path, strerror(-rc)) : 0;
}

int
ca_create(const char *dir, const char *cn, unsigned days, char *err, size_t err_len)
{
    char kpath[4200], cpath[4200], serial[CA_SERIAL_HEX_LEN];
    ca_path(dir, "ca.key", kpath, sizeof kpath);
    ca_path(dir, "ca.pem", cpath, sizeof cpath);
    int rc = fs_mkdir_p(dir, 0700);
    if (rc < 0)
        return err_set(err, err_len, rc, "%s: %s", dir, strerror(-rc));
    if (access(kpath, F_OK) == 0)
        return err_set(err, err_len, -EEXIST, "%s: a CA is there already", kpath);
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = key ? cert_new(key, cn, days, serial) : NULL;
    if (!x || !X509_set_issuer_name(x, X509_get_subject_name(x)) ||
        add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") < 0 ||
        add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign") < 0 ||
        add_ext(x, x, NID_subject_key_identifier, "hash") < 0 || !X509_sign(x, key, EVP_sha256()))
        rc = ssl_fail(err, err_len, "CA certificate");
    if (rc == 0 && (rc = write_pem(kpath, key, NULL, err, err_len)) == 0)
        rc = write_pem(cpath, NULL, x, err, err_len);
    X509_free(x);
    EVP_PKEY_free(key);
    return rc;
}

int
ca_open(const char *dir, struct ca **out, char *err, size_t err_len)
{
    char kpath[4200], cpath[4200];
    ca_path(dir, "ca.key", kpath, sizeof kpath);
    ca_path(dir, "ca.pem", cpath, sizeof cpath);
    FILE *kf = fopen(kpath, "re"), *cf = fopen(cpath, "re");
    int rc = !kf || !cf ? err_set(err, err_len, -ENOENT, "no CA in %s", dir) : 0;
    struct ca *ca = rc == 0 ? calloc(1, sizeof *ca) : NULL;
    if (rc == 0 && !ca)
        rc = err_set(err, err_len, -ENOMEM, "out of memory");
    if (rc == 0 && (!(ca->key = PEM_read_PrivateKey(kf, NULL, NULL, NULL)) ||
                    !(ca->cert = PEM_read_X509(cf, NULL, NULL, NULL)) ||
                    X509_check_private_key(ca->cert, ca->key) != 1))
        rc = ssl_fail(err, err_len, "the CA's key and certificate");
    if (kf)
        fclose(kf);
    if (cf)
        fclose(cf);
    if (rc < 0)
        ca_close(ca);
    else
        *out = ca;
    return rc;
}

void
ca_close(struct ca *ca)
{
    if (!ca)
        return;
    EVP_PKEY_free(ca->key);
    X509_free(ca->cert);
    free(ca);
}

int
ca_cert_pem(const struct ca *ca, char *out, size_t out_len, char *err, size_t err_len)
{
    return pem_out(ca->cert, NULL, out, out_len, err, err_len);
}

/* The CSR in 'csr', its signature checked: the requester holds the key. */
static EVP_PKEY *
csr_key(const char *csr, size_t csr_len, char *err, size_t err_len)
{
    BIO *b = BIO_new_mem_buf(csr, (int)strnlen(csr, csr_len));
    X509_REQ *req = b ? PEM_read_bio_X509_REQ(b, NULL, NULL, NULL) : NULL;
    EVP_PKEY *key = req ? X509_REQ_get_pubkey(req) : NULL;
    if (!req)
        err_set(err, err_len, -EINVAL, "not a PEM certificate signing request");
    else if (!key || X509_REQ_verify(req, key) != 1) {
        err_set(err, err_len, -EINVAL, "the request's signature does not match its key");
        EVP_PKEY_free(key);
        key = NULL;
    } else if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC &&
               EVP_PKEY_get_base_id(key) != EVP_PKEY_ED25519 &&
               !(EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA && EVP_PKEY_get_bits(key) >= 2048)) {
        err_set(err, err_len, -EINVAL,
                "the request's key: EC, Ed25519 or RSA of 2048 bits or more");
        EVP_PKEY_free(key);
        key = NULL;
    }
    ERR_clear_error();
    X509_REQ_free(req);
    BIO_free(b);
    return key;
}

/* Checks what a certificate will say and writes its SAN into 'san'. */
static int
check_names(const char *cn, unsigned role, const char *ip, char *san, size_t san_len, char *err,
            size_t err_len)
{
    const char *rname = authz_role_name(role);
    if (!cn || !cn[0] || strlen(cn) >= AUTHZ_CN_MAX || !name_is_valid(cn, AUTHZ_CN_MAX - 1))
        return err_set(err, err_len, -EINVAL, "a certificate's name: letters, digits, '.-_'");
    if (!rname || role & (role - 1))
        return err_set(err, err_len, -EINVAL, "a certificate carries one role");
    if (ip && (strlen(ip) > 45 || strspn(ip, "0123456789abcdefABCDEF.:") != strlen(ip)))
        return err_set(err, err_len, -EINVAL, "%s: not an IP address", ip);
    snprintf(san, san_len, "URI:%s%s%s%s", AUTHZ_ROLE_URI_PREFIX, rname, ip ? ",IP:" : "",
             ip ? ip : "");
    return 0;
}

/* A certificate of 'key' signed by the CA (ca.h says what it holds). */
static int
sign_key(struct ca *ca, EVP_PKEY *key, const char *cn, unsigned role, const char *ip, unsigned days,
         char *out, size_t out_len, char serial[CA_SERIAL_HEX_LEN], char *err, size_t err_len)
{
    char san[256];
    int rc = check_names(cn, role, ip, san, sizeof san, err, err_len);
    if (rc < 0)
        return rc;
    X509 *x = cert_new(key, cn, days, serial);
    if (!x || !X509_set_issuer_name(x, X509_get_subject_name(ca->cert)) ||
        add_ext(x, ca->cert, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
        add_ext(x, ca->cert, NID_key_usage, "critical,digitalSignature") < 0 ||
        add_ext(x, ca->cert, NID_ext_key_usage, "serverAuth,clientAuth") < 0 ||
        add_ext(x, ca->cert, NID_authority_key_identifier, "keyid") < 0 ||
        add_ext(x, ca->cert, NID_subject_alt_name, san) < 0 || !X509_sign(x, ca->key, EVP_sha256()))
        rc = ssl_fail(err, err_len,
                      ip ? "the certificate (is the IP address right?)" : "the certificate");
    if (rc == 0)
        rc = pem_out(x, NULL, out, out_len, err, err_len);
    X509_free(x);
    return rc;
}

int
ca_sign_csr(struct ca *ca, const char *csr, size_t csr_len, const char *cn, unsigned role,
            const char *ip, unsigned days, char *out, size_t out_len,
            char serial[CA_SERIAL_HEX_LEN], char *err, size_t err_len)
{
    char san[256];
    if (check_names(cn, role, ip, san, sizeof san, err, err_len) < 0)
        return -EINVAL; /* the arguments, before the CSR */
    EVP_PKEY *key = csr_key(csr, csr_len, err, err_len);
    if (!key)
        return -EINVAL;
    int rc = sign_key(ca, key, cn, role, ip, days, out, out_len, serial, err, err_len);
    EVP_PKEY_free(key);
    return rc;
}

int
ca_issue(struct ca *ca, const char *dir, const char *cn, unsigned role, const char *ip,
         unsigned days, char *err, size_t err_len)
{
    char path[4200], pem[CA_PEM_MAX], serial[CA_SERIAL_HEX_LEN];
    EVP_PKEY *key = EVP_EC_gen("P-256");
    int rc = key ? fs_mkdir_p(dir, 0700) : err_set(err, err_len, -ENOMEM, "no key");
    if (rc < 0 && key)
        err_set(err, err_len, rc, "%s: %s", dir, strerror(-rc));
    if (rc == 0)
        rc = sign_key(ca, key, cn, role, ip, days, pem, sizeof pem, serial, err, err_len);
    if (rc == 0) {
        ca_path(dir, "key.pem", path, sizeof path);
        rc = write_pem(path, key, NULL, err, err_len);
    }
    if (rc == 0) {
        ca_path(dir, "cert.pem", path, sizeof path);
        rc = fs_write_atomic(path, pem, strlen(pem));
        if (rc == 0 && (rc = ca_cert_pem(ca, pem, sizeof pem, err, err_len)) == 0) {
            ca_path(dir, "ca.pem", path, sizeof path);
            rc = fs_write_atomic(path, pem, strlen(pem));
        }
        if (rc < 0)
            err_set(err, err_len, rc, "%s: %s", path, strerror(-rc));
    }
    EVP_PKEY_free(key);
    return rc;
}

/* Adds revoked serial 'hex' to 'crl' at 'at'. */
static int
crl_add(X509_CRL *crl, const char *hex, const ASN1_TIME *at)
{
    BIGNUM *bn = NULL;
    X509_REVOKED *r = X509_REVOKED_new();
    ASN1_INTEGER *serial = NULL;
    int ok = r && strlen(hex) < CA_SERIAL_HEX_LEN && BN_hex2bn(&bn, hex) == (int)strlen(hex) &&
             (serial = BN_to_ASN1_INTEGER(bn, NULL)) && X509_REVOKED_set_serialNumber(r, serial) &&
             X509_REVOKED_set_revocationDate(r, (ASN1_TIME *)at) && X509_CRL_add0_revoked(crl, r);
    if (!ok)
        X509_REVOKED_free(r);
    ASN1_INTEGER_free(serial);
    BN_free(bn);
    return ok ? 0 : -EINVAL;
}

int
ca_crl_pem(struct ca *ca, const char *const *serials, size_t n, int64_t number, int64_t now_s,
           unsigned days, char *out, size_t out_len, char *err, size_t err_len)
{
    X509_CRL *crl = X509_CRL_new();
    ASN1_TIME *now = ASN1_TIME_set(NULL, (time_t)now_s);
    ASN1_TIME *next = ASN1_TIME_set(NULL, (time_t)(now_s + (int64_t)days * 86400));
    ASN1_INTEGER *num = ASN1_INTEGER_new();
    int rc = 0;
    if (!crl || !now || !next || !num || !ASN1_INTEGER_set_int64(num, number) ||
        !X509_CRL_set_version(crl, 1) ||
        !X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca->cert)) ||
        !X509_CRL_set1_lastUpdate(crl, now) || !X509_CRL_set1_nextUpdate(crl, next) ||
        !X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0))
        rc = ssl_fail(err, err_len, "CRL");
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (crl_add(crl, serials[i], now) < 0)
            rc = err_set(err, err_len, -EINVAL, "%s: not a serial of ours", serials[i]);
    if (rc == 0 && (!X509_CRL_sort(crl) || !X509_CRL_sign(crl, ca->key, EVP_sha256())))
        rc = ssl_fail(err, err_len, "CRL");
    if (rc == 0)
        rc = pem_out(NULL, crl, out, out_len, err, err_len);
    ASN1_TIME_free(now);
    ASN1_TIME_free(next);
    ASN1_INTEGER_free(num);
    X509_CRL_free(crl);
    return rc;
}
