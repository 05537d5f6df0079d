/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Joining and leaving (manager/join.h through the API, lib/identity.h on the
 * agent's side), over a scratch CA, store and agent directory: a one-time
 * token, certificates signed from CSRs with the names and roles the manager
 * decides, only an administrator of the host issues tokens, removal revokes
 * (and forgets the host's figures),
 * CRL numbers only go up, and a reloaded TLS context refuses what is revoked.
 */
#include "tests/unit/check.h"
#include "tests/unit/api-fx.h"
#include "lib/authz.h"
#include "lib/identity.h"
#include "lib/util.h"
#include "manager/api.h"
#include "manager/ca.h"
#include "manager/join.h"

#include <fcntl.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <unistd.h>

static uint64_t clock_ms; /* now, at each fixture: CRLs and certificates are dated by it */
static uint64_t
fake_now(void)
{
    return clock_ms;
}

struct fx {
    char dir[64];
    struct ca *ca;
    struct fleet *fleet;
    struct store *st;
    struct api *api;
    char admin[AUTH_TOKEN_LEN];
    /* the agents' files: the host's and its DPU's */
    char paths[2][4][128];
    struct tls_paths host, dpu;
};

static int
call(struct fx *f, const char *method, const char *path, const char *body, const char *token)
{
    return api_fx_call(f->api, method, path, NULL, body, token);
}

static void
agent_paths(struct fx *f, int i, const char *name, struct tls_paths *p)
{
    static const char *const files[] = {"cert.pem", "key.pem", "ca.pem", "crl.pem"};
    for (int k = 0; k < 4; k++)
        snprintf(f->paths[i][k], sizeof f->paths[i][k], "%s/%s-%s", f->dir, name, files[k]);
    *p = (struct tls_paths){
        .cert = f->paths[i][0], .key = f->paths[i][1], .ca = f->paths[i][2], .crl = f->paths[i][3]};
}

static bool
fx_init(struct fx *f)
{
    memset(f, 0, sizeof *f);
    clock_ms = wall_ms();
    snprintf(f->dir, sizeof f->dir, "/tmp/dse-test-join-XXXXXX");
    if (!mkdtemp(f->dir))
        return false;
    char path[128], pwfile[128], err[ERR_LEN] = "", pem[CA_PEM_MAX];
    snprintf(path, sizeof path, "%s/ca", f->dir);
    if (ca_create(path, "lt1-ca", 3650, err, sizeof err) < 0 ||
        ca_open(path, &f->ca, err, sizeof err) < 0 ||
        ca_cert_pem(f->ca, pem, sizeof pem, err, sizeof err) < 0)
        return fprintf(stderr, "%s\n", err), false;
    agent_paths(f, 0, "host", &f->host);
    agent_paths(f, 1, "dpu", &f->dpu);
    if (fs_write_atomic(f->host.ca, pem, strlen(pem)) < 0 ||
        fs_write_atomic(f->dpu.ca, pem, strlen(pem)) < 0)
        return false;
    snprintf(pwfile, sizeof pwfile, "%s/admin-password", f->dir);
    f->fleet = fleet_create();
    struct api_params p = {.cost = &cheap, .now_ms = fake_now, .ca = f->ca, .fleet = f->fleet};
    if (!api_fx_start(f->dir, pwfile, &p, &f->st, &f->api, f->admin))
        return false;
    static const char *const objs[][2] = {
        {"/api/v1/datacenters", "{\"name\":\"dc1\",\"spec\":{}}"},
        {"/api/v1/clusters", "{\"name\":\"c1\",\"spec\":{\"datacenter\":\"dc1\"}}"},
        {"/api/v1/hosts", "{\"name\":\"h1\",\"spec\":{\"cluster\":\"c1\",\"address\":\"198.19.0."
                          "11\",\"cn\":\"lt1-h1\"}}"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(objs); i++)
        if (call(f, "POST", objs[i][0], objs[i][1], f->admin) != 201)
            return fprintf(stderr, "%s: %s\n", objs[i][0], str("message")), false;
    return true;
}

static void
fx_fini(struct fx *f)
{
    api_fx_forget();
    api_destroy(f->api);
    store_close(f->st);
    ca_close(f->ca);
    fleet_destroy(f->fleet);
    if (fs_remove_at(AT_FDCWD, f->dir) < 0)
        fprintf(stderr, "cannot remove %s\n", f->dir);
}

/* A token for h1, by 'who'.  Returns the status; the token into 'out'. */
static int
token_for(struct fx *f, const char *who, char out[JOIN_TOKEN_LEN])
{
    int status = call(f, "POST", "/api/v1/hosts/h1/join-token", "{}", who);
    if (status == 201)
        snprintf(out, JOIN_TOKEN_LEN, "%s", str("token"));
    return status;
}

/* The join request of the host and its DPU with 'token': new keys and CSRs. */
static char *
join_body(struct fx *f, const char *token)
{
    char *hcsr = NULL, *dcsr = NULL, err[ERR_LEN] = "";
    if (identity_csr(&f->host, "whatever-i-like", &hcsr, err, sizeof err) < 0 ||
        identity_csr(&f->dpu, "lt1-h1-dpu1", &dcsr, err, sizeof err) < 0)
        fprintf(stderr, "%s\n", err);
    json_t *b = json_pack("{s:s,s:s,s:{s:{s:s,s:s}}}", "token", token, "csr", hcsr, "dpus", "dpu1",
                          "csr", dcsr, "vendor", "dse-lab");
    char *text = json_dumps(b, 0);
    json_decref(b);
    free(hcsr);
    free(dcsr);
    return text;
}

/* Joins h1; installs the certificates.  Returns the join's status. */
static int
join(struct fx *f, const char *token)
{
    char *body = join_body(f, token), err[ERR_LEN] = "";
    int status = call(f, "POST", "/api/v1/join", body, NULL);
    free(body);
    if (status == 200) {
        const char *dcert =
            json_string_value(json_object_get(json_object_get(last.body, "dpus"), "dpu1"));
        if (identity_install(&f->host, str("cert"), AUTHZ_HOST, NULL, 0, err, sizeof err) < 0 ||
            !dcert || identity_install(&f->dpu, dcert, AUTHZ_DPU, NULL, 0, err, sizeof err) < 0) {
            fprintf(stderr, "install: %s\n", err);
            return -1;
        }
    }
    return status;
}

static X509 *
cert_file(const char *path)
{
    FILE *fp = fopen(path, "r");
    X509 *x = fp ? PEM_read_X509(fp, NULL, NULL, NULL) : NULL;
    if (fp)
        fclose(fp);
    return x;
}

static void
a_host_joins_once_with_its_token(void)
{
    struct fx f;
    ASSERT_TRUE(fx_init(&f));
    char token[JOIN_TOKEN_LEN], secret[IDENTITY_SECRET_HEX], pin[IDENTITY_SHA256_HEX];
    ASSERT_EQ(token_for(&f, f.admin, token), 201);
    ASSERT_EQ(identity_token_parse(token, secret, pin), 0);
    ASSERT_EQ(join(&f, token), 200);
    /* The manager decides the names and roles, whatever the CSR asked. */
    ASSERT_STREQ(str("cn"), "lt1-h1");
    char cn[AUTHZ_CN_MAX], err[ERR_LEN];
    unsigned role = 0;
    X509 *h = cert_file(f.host.cert), *d = cert_file(f.dpu.cert);
    ASSERT_TRUE(h && d);
    ASSERT_EQ(tls_cert_identity(h, cn, sizeof cn, &role, err, sizeof err), 0);
    ASSERT_STREQ(cn, "lt1-h1");
    ASSERT_EQ(role, AUTHZ_HOST);
    ASSERT_EQ(tls_cert_identity(d, cn, sizeof cn, &role, err, sizeof err), 0);
    ASSERT_STREQ(cn, "lt1-h1-dpu1");
    ASSERT_EQ(role, AUTHZ_DPU);
    X509_free(h);
    X509_free(d);
    /* The DPU is in the inventory; the join is a task. */
    ASSERT_EQ(call(&f, "GET", "/api/v1/dpus/h1/dpu1", NULL, f.admin), 200);
    ASSERT_STREQ(json_string_value(json_object_get(json_object_get(last.body, "spec"), "vendor")),
                 "dse-lab");
    /* Once. */
    ASSERT_EQ(join(&f, token), 401);
    ASSERT_STREQ(str("message"), "unknown or used join token");
    /* A new token replaces the unused one. */
    char t1[JOIN_TOKEN_LEN], t2[JOIN_TOKEN_LEN];
    ASSERT_EQ(token_for(&f, f.admin, t1), 201);
    ASSERT_EQ(token_for(&f, f.admin, t2), 201);
    ASSERT_EQ(join(&f, t1), 401);
    ASSERT_EQ(join(&f, t2), 200);
    /* It expires. */
    ASSERT_EQ(token_for(&f, f.admin, t1), 201);
    clock_ms += JOIN_TOKEN_TTL_MS;
    ASSERT_EQ(join(&f, t1), 401);
    ASSERT_STREQ(str("message"), "join token expired: ask for a new one");
    /* Bad requests: one line, nothing signed. */
    ASSERT_EQ(call(&f, "POST", "/api/v1/join", "{\"token\":\"x\"}", NULL), 400);
    ASSERT_EQ(call(&f, "POST", "/api/v1/join", "{\"token\":\"x\",\"csr\":\"y\"}", NULL), 401);
    fx_fini(&f);
}

static void
only_an_administrator_of_the_host_issues_tokens(void)
{
    struct fx f;
    ASSERT_TRUE(fx_init(&f));
    static const char *const roles[] = {"operator", "read-only"};
    for (size_t i = 0; i < ARRAY_SIZE(roles); i++) {
        char body[256], tok[AUTH_TOKEN_LEN], t[JOIN_TOKEN_LEN];
        snprintf(body, sizeof body,
                 "{\"name\":\"u%zu\",\"password\":\"password-of-u%zu\",\"grants\":[{\"object\":"
                 "\"/dse/v1/\",\"role\":\"%s\"}]}",
                 i, i, roles[i]);
        ASSERT_EQ(call(&f, "POST", "/api/v1/users", body, f.admin), 201);
        snprintf(body, sizeof body, "{\"user\":\"u%zu\",\"password\":\"password-of-u%zu\"}", i, i);
        ASSERT_EQ(call(&f, "POST", "/api/v1/login", body, NULL), 200);
        snprintf(tok, sizeof tok, "%s", str("token"));
        ASSERT_EQ(token_for(&f, tok, t), 403);
    }
    ASSERT_EQ(call(&f, "POST", "/api/v1/hosts/h1/join-token", "{}", NULL), 401);
    ASSERT_EQ(call(&f, "POST", "/api/v1/hosts/nosuch/join-token", "{}", f.admin), 404);
    fx_fini(&f);
}

/* Whether 'ctx''s trust store accepts certificate file 'path': the
 * verification error (X509_V_OK when it does). */
static int
ctx_verdict(SSL_CTX *ctx, const char *path)
{
    X509 *x = cert_file(path);
    X509_STORE_CTX *sc = X509_STORE_CTX_new();
    X509_STORE_CTX_init(sc, SSL_CTX_get_cert_store(ctx), x, NULL);
    int ok = X509_verify_cert(sc), e = ok == 1 ? X509_V_OK : X509_STORE_CTX_get_error(sc);
    X509_STORE_CTX_free(sc);
    X509_free(x);
    return e;
}

static void
removal_revokes_and_agents_take_only_newer_lists(void)
{
    struct fx f;
    ASSERT_TRUE(fx_init(&f));
    char token[JOIN_TOKEN_LEN], err[ERR_LEN] = "";
    ASSERT_EQ(token_for(&f, f.admin, token), 201);
    ASSERT_EQ(join(&f, token), 200);
    /* A peer's context (the DPU's), before any list: the host passes. */
    SSL_CTX *ctx = tls_server_ctx(&f.dpu, err, sizeof err);
    ASSERT_NOT_NULL(ctx);
    ASSERT_EQ(ctx_verdict(ctx, f.host.cert), X509_V_OK);
    ASSERT_EQ(call(&f, "DELETE", "/api/v1/hosts/h1", NULL, f.admin), 409); /* its DPU first */
    ASSERT_EQ(call(&f, "DELETE", "/api/v1/dpus/h1/dpu1", NULL, f.admin), 200);
    ASSERT_TRUE(json_is_true(json_object_get(last.body, "revoked")));
    ASSERT_EQ(call(&f, "GET", "/api/v1/crl", NULL, NULL), 200);
    char *first = xstrdup(str("pem"));
    json_t *sample = json_pack("{s:{s:f}}", "metrics", "cpu", 0.5);
    fleet_record(f.fleet, "h1", sample, NULL, clock_ms);
    json_decref(sample);
    json_t *h = fleet_history(f.fleet, "h1", false, clock_ms);
    ASSERT_NOT_NULL(h);
    json_decref(h);
    ASSERT_EQ(call(&f, "DELETE", "/api/v1/hosts/h1", NULL, f.admin), 200);
    ASSERT_TRUE(json_is_true(json_object_get(last.body, "revoked")));
    ASSERT_TRUE(fleet_history(f.fleet, "h1", false, clock_ms) == NULL); /* its figures went too */
    ASSERT_EQ(call(&f, "GET", "/api/v1/crl", NULL, NULL), 200);
    ASSERT_EQ(json_integer_value(json_object_get(last.body, "number")), 2);
    char *second = xstrdup(str("pem"));
    int64_t n = 0;
    ASSERT_EQ(identity_crl_store(&f.dpu, second, strlen(second), &n, err, sizeof err), 1);
    ASSERT_EQ(n, 2);
    ASSERT_EQ(identity_crl_store(&f.dpu, second, strlen(second), &n, err, sizeof err), 0);
    ASSERT_EQ(identity_crl_store(&f.dpu, first, strlen(first), &n, err, sizeof err), 0);
    ASSERT_EQ(identity_crl_number(&f.dpu), 2);
    ASSERT_EQ(identity_crl_store(&f.dpu, "junk", 4, &n, err, sizeof err), -EINVAL);
    /* In force once reloaded. */
    ASSERT_EQ(tls_ctx_reload(ctx, &f.dpu, err, sizeof err), 0);
    ASSERT_EQ(ctx_verdict(ctx, f.host.cert), X509_V_ERR_CERT_REVOKED);
    SSL_CTX_free(ctx);
    free(first);
    free(second);
    fx_fini(&f);
}

static void
an_agent_installs_only_what_is_for_its_key(void)
{
    struct fx f;
    ASSERT_TRUE(fx_init(&f));
    char token[JOIN_TOKEN_LEN], err[ERR_LEN] = "";
    ASSERT_EQ(token_for(&f, f.admin, token), 201);
    char *body = join_body(&f, token);
    ASSERT_EQ(call(&f, "POST", "/api/v1/join", body, NULL), 200);
    free(body);
    const char *hcert = str("cert");
    const char *dcert =
        json_string_value(json_object_get(json_object_get(last.body, "dpus"), "dpu1"));
    /* The DPU's certificate for the host's key; the wrong role; a stranger. */
    ASSERT_EQ(identity_install(&f.host, dcert, AUTHZ_DPU, NULL, 0, err, sizeof err), -EINVAL);
    ASSERT_EQ(identity_install(&f.dpu, dcert, AUTHZ_HOST, NULL, 0, err, sizeof err), -EINVAL);
    ASSERT_EQ(identity_install(&f.dpu, "not a certificate", AUTHZ_DPU, NULL, 0, err, sizeof err),
              -EINVAL);
    ASSERT_EQ(access(f.host.cert, F_OK), -1); /* nothing written */
    ASSERT_EQ(identity_install(&f.host, hcert, AUTHZ_HOST, NULL, 0, err, sizeof err), 0);
    ASSERT_EQ(identity_install(&f.host, hcert, AUTHZ_HOST, NULL, 0, err, sizeof err), -ENOENT);
    /* Tokens: the shape, checked before anything is sent. */
    char secret[IDENTITY_SECRET_HEX], pin[IDENTITY_SHA256_HEX];
    ASSERT_EQ(identity_token_parse("dsejoin.abc.def", secret, pin), -EINVAL);
    ASSERT_EQ(identity_token_parse(NULL, secret, pin), -EINVAL);
    fx_fini(&f);
}

TEST_MAIN(TEST(a_host_joins_once_with_its_token),
          TEST(only_an_administrator_of_the_host_issues_tokens),
          TEST(removal_revokes_and_agents_take_only_newer_lists),
          TEST(an_agent_installs_only_what_is_for_its_key))
