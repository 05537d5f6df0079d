/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ca: a CA in a scratch directory signs CSRs made here; what the
 * certificates say is the CA's, not the requester's; a CRL revokes.
 */
#include "tests/unit/check.h"
#include "lib/authz.h"
#include "lib/util.h"
#include "manager/ca.h"

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];
static char pem[CA_PEM_MAX];

static struct ca *
ca_fresh(void)
{
    snprintf(dir, sizeof dir, "/tmp/dse-test-ca-XXXXXX");
    if (!mkdtemp(dir))
        return NULL;
    char sub[128], err[ERR_LEN] = "";
    snprintf(sub, sizeof sub, "%s/ca", dir);
    struct ca *ca = NULL;
    if (ca_create(sub, "lt1-ca", 3650, err, sizeof err) < 0 ||
        ca_open(sub, &ca, err, sizeof err) < 0)
        fprintf(stderr, "%s\n", err);
    return ca;
}

static void
ca_done(struct ca *ca)
{
    ca_close(ca);
    if (fs_remove_at(AT_FDCWD, dir) < 0)
        fprintf(stderr, "cannot remove %s\n", dir);
}

/* A CSR for a new P-256 key, asking for CN 'cn' and, with 'greedy', to be a
 * CA with role manager.  'tamper': its key replaced after signing. */
static void
make_csr(const char *cn, bool greedy, bool tamper, char *out, size_t len)
{
    EVP_PKEY *key = EVP_EC_gen("P-256"), *other = EVP_EC_gen("P-256");
    X509_REQ *req = X509_REQ_new();
    X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req), "CN", MBSTRING_UTF8,
                               (const unsigned char *)cn, -1, -1, 0);
    X509_REQ_set_pubkey(req, key);
    if (greedy) {
        STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
        sk_X509_EXTENSION_push(
            exts, X509V3_EXT_conf_nid(NULL, NULL, NID_basic_constraints, "critical,CA:TRUE"));
        sk_X509_EXTENSION_push(exts, X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name,
                                                         "URI:urn:dse:role:manager"));
        X509_REQ_add_extensions(req, exts);
        sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    }
    X509_REQ_sign(req, key, EVP_sha256());
    if (tamper)
        X509_REQ_set_pubkey(req, other);
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509_REQ(b, req);
    char *p;
    long n = BIO_get_mem_data(b, &p);
    snprintf(out, len, "%.*s", (int)n, p);
    BIO_free(b);
    X509_REQ_free(req);
    EVP_PKEY_free(key);
    EVP_PKEY_free(other);
}

static X509 *
cert_of(const char *p)
{
    BIO *b = BIO_new_mem_buf(p, -1);
    X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    return x;
}

/* X509_verify_cert() of 'leaf' against the CA's certificate, with 'crl'
 * (PEM) when not NULL.  Returns the verify result code. */
static int
verify(struct ca *ca, X509 *leaf, const char *crl)
{
    char cap[CA_PEM_MAX], err[ERR_LEN];
    ca_cert_pem(ca, cap, sizeof cap, err, sizeof err);
    X509 *root = cert_of(cap);
    X509_STORE *st = X509_STORE_new();
    X509_STORE_add_cert(st, root);
    if (crl) {
        BIO *b = BIO_new_mem_buf(crl, -1);
        X509_CRL *c = PEM_read_bio_X509_CRL(b, NULL, NULL, NULL);
        X509_STORE_add_crl(st, c);
        X509_CRL_free(c);
        BIO_free(b);
        X509_STORE_set_flags(st, X509_V_FLAG_CRL_CHECK);
    }
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    X509_STORE_CTX_init(ctx, st, leaf, NULL);
    int ok = X509_verify_cert(ctx);
    int code = ok == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(st);
    X509_free(root);
    return code;
}

static void
a_csr_becomes_what_the_ca_says(void)
{
    struct ca *ca = ca_fresh();
    ASSERT_NOT_NULL(ca);
    char csr[4096], serial[CA_SERIAL_HEX_LEN], err[ERR_LEN] = "";
    make_csr("evil", true, false, csr, sizeof csr);
    ASSERT_EQ(ca_sign_csr(ca, csr, sizeof csr, "lt1-h1", AUTHZ_HOST, "198.19.0.11", 825, pem,
                          sizeof pem, serial, err, sizeof err),
              0);
    X509 *x = cert_of(pem);
    ASSERT_NOT_NULL(x);
    char cn[64];
    X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof cn);
    ASSERT_STREQ(cn, "lt1-h1");
    BASIC_CONSTRAINTS *bc = X509_get_ext_d2i(x, NID_basic_constraints, NULL, NULL);
    ASSERT_NOT_NULL(bc);
    ASSERT_FALSE(bc->ca); /* CA:TRUE asked, not given */
    BASIC_CONSTRAINTS_free(bc);
    ASSERT_EQ(X509_check_ca(x), 0);
    ASSERT_EQ(verify(ca, x, NULL), X509_V_OK); /* the chain holds */
    /* One role, the CA's choice, and the address. */
    GENERAL_NAMES *names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    ASSERT_EQ(sk_GENERAL_NAME_num(names), 2);
    GENERAL_NAME *g = sk_GENERAL_NAME_value(names, 0);
    ASSERT_EQ(g->type, GEN_URI);
    ASSERT_STREQ((const char *)ASN1_STRING_get0_data(g->d.uniformResourceIdentifier),
                 "urn:dse:role:host");
    ASSERT_EQ(X509_check_ip_asc(x, "198.19.0.11", 0), 1);
    GENERAL_NAMES_free(names);
    /* The serial it reported is the certificate's. */
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get_serialNumber(x), NULL);
    char *hex = BN_bn2hex(bn);
    ASSERT_STREQ(hex, serial);
    OPENSSL_free(hex);
    BN_free(bn);
    X509_free(x);
    ca_done(ca);
}

static void
bad_requests_are_refused(void)
{
    struct ca *ca = ca_fresh();
    ASSERT_NOT_NULL(ca);
    char csr[4096], serial[CA_SERIAL_HEX_LEN], err[ERR_LEN] = "";
    ASSERT_EQ(ca_sign_csr(ca, "junk", 4, "h1", AUTHZ_HOST, NULL, 1, pem, sizeof pem, serial, err,
                          sizeof err),
              -EINVAL);
    ASSERT_TRUE(strstr(err, "not a PEM") != NULL);
    make_csr("h1", false, true, csr, sizeof csr);
    ASSERT_EQ(ca_sign_csr(ca, csr, sizeof csr, "h1", AUTHZ_HOST, NULL, 1, pem, sizeof pem, serial,
                          err, sizeof err),
              -EINVAL);
    ASSERT_TRUE(strstr(err, "signature") != NULL);
    make_csr("h1", false, false, csr, sizeof csr);
    ASSERT_EQ(ca_sign_csr(ca, csr, sizeof csr, "h1", AUTHZ_HOST | AUTHZ_DPU, NULL, 1, pem,
                          sizeof pem, serial, err, sizeof err),
              -EINVAL);
    ASSERT_EQ(ca_sign_csr(ca, csr, sizeof csr, "h 1", AUTHZ_HOST, NULL, 1, pem, sizeof pem, serial,
                          err, sizeof err),
              -EINVAL);
    ASSERT_EQ(ca_sign_csr(ca, csr, sizeof csr, "h1", AUTHZ_HOST, "1.2.3.4,URI:x", 1, pem,
                          sizeof pem, serial, err, sizeof err),
              -EINVAL);
    ASSERT_EQ(ca_sign_csr(ca, csr, sizeof csr, "h1", AUTHZ_HOST, NULL, 1, pem, 100, serial, err,
                          sizeof err),
              -ENOSPC);
    ca_done(ca);
}

static void
a_crl_revokes_one_and_not_the_other(void)
{
    struct ca *ca = ca_fresh();
    ASSERT_NOT_NULL(ca);
    char csr[4096], sa[CA_SERIAL_HEX_LEN], sb[CA_SERIAL_HEX_LEN], err[ERR_LEN] = "";
    char pa[CA_PEM_MAX], crl[CA_PEM_MAX];
    make_csr("a", false, false, csr, sizeof csr);
    ASSERT_EQ(ca_sign_csr(ca, csr, sizeof csr, "lt1-h1", AUTHZ_HOST, NULL, 30, pa, sizeof pa, sa,
                          err, sizeof err),
              0);
    make_csr("b", false, false, csr, sizeof csr);
    ASSERT_EQ(ca_sign_csr(ca, csr, sizeof csr, "lt1-h2", AUTHZ_HOST, NULL, 30, pem, sizeof pem, sb,
                          err, sizeof err),
              0);
    const char *revoked[] = {sa};
    ASSERT_EQ(ca_crl_pem(ca, revoked, 1, 1, (int64_t)time(NULL), 7, crl, sizeof crl, err, sizeof err),
              0);
    X509 *a = cert_of(pa), *b = cert_of(pem);
    ASSERT_EQ(verify(ca, a, crl), X509_V_ERR_CERT_REVOKED);
    ASSERT_EQ(verify(ca, b, crl), X509_V_OK);
    /* An empty list revokes nothing; a serial not ours is refused. */
    ASSERT_EQ(ca_crl_pem(ca, NULL, 0, 2, (int64_t)time(NULL), 7, crl, sizeof crl, err, sizeof err), 0);
    ASSERT_EQ(verify(ca, a, crl), X509_V_OK);
    const char *bad[] = {"xyz"};
    ASSERT_EQ(ca_crl_pem(ca, bad, 1, 3, (int64_t)time(NULL), 7, crl, sizeof crl, err, sizeof err),
              -EINVAL);
    X509_free(a);
    X509_free(b);
    ca_done(ca);
}

static void
the_key_is_private_and_not_replaced(void)
{
    struct ca *ca = ca_fresh();
    ASSERT_NOT_NULL(ca);
    char path[128], sub[128], err[ERR_LEN] = "";
    snprintf(path, sizeof path, "%s/ca/ca.key", dir);
    snprintf(sub, sizeof sub, "%s/ca", dir);
    struct stat st;
    ASSERT_EQ(stat(path, &st), 0);
    ASSERT_EQ(st.st_mode & 0777, 0600);
    ASSERT_EQ(stat(sub, &st), 0);
    ASSERT_EQ(st.st_mode & 0077, 0);
    ASSERT_EQ(ca_create(sub, "another", 1, err, sizeof err), -EEXIST);
    struct ca *none = NULL;
    ASSERT_EQ(ca_open("/nonexistent-dse", &none, err, sizeof err), -ENOENT);
    ca_done(ca);
}

static void
the_manager_issues_itself_an_identity(void)
{
    struct ca *ca = ca_fresh();
    ASSERT_NOT_NULL(ca);
    char sub[128], path[160], err[ERR_LEN] = "";
    snprintf(sub, sizeof sub, "%s/tls", dir);
    ASSERT_EQ(ca_issue(ca, sub, "dse-manager", AUTHZ_MANAGER, "127.0.0.1", 825, err, sizeof err),
              0);
    snprintf(path, sizeof path, "%s/key.pem", sub);
    struct stat st;
    ASSERT_EQ(stat(path, &st), 0);
    ASSERT_EQ(st.st_mode & 0777, 0600);
    snprintf(path, sizeof path, "%s/cert.pem", sub);
    size_t len;
    char *text = fs_read_file(path, 65536, &len);
    ASSERT_NOT_NULL(text);
    X509 *x = cert_of(text);
    free(text);
    ASSERT_NOT_NULL(x);
    ASSERT_EQ(verify(ca, x, NULL), X509_V_OK);
    ASSERT_EQ(X509_check_ip_asc(x, "127.0.0.1", 0), 1);
    X509_free(x);
    ASSERT_EQ(ca_issue(ca, sub, "bad name", AUTHZ_MANAGER, NULL, 1, err, sizeof err), -EINVAL);
    ca_done(ca);
}

TEST_MAIN(TEST(a_csr_becomes_what_the_ca_says), TEST(bad_requests_are_refused),
          TEST(a_crl_revokes_one_and_not_the_other), TEST(the_key_is_private_and_not_replaced),
          TEST(the_manager_issues_itself_an_identity))
