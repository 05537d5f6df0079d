/* SPDX-License-Identifier: Apache-2.0 */
/*
 * join: host.join, the host and its DPUs get certificates of the manager's
 * CA from a one-time token (hostd.h; DESIGN.md section 11).
 *
 *     token "dsejoin.SECRET.PIN" -> PIN must be our CA's fingerprint
 *     a key and CSR of our own, one from each DPU (identity.csr)
 *     POST /api/v1/join {token, csr, dpus: {NAME: {csr, vendor, model, firmware}}}
 *        (TLS to the manager, verified against that CA, no client certificate:
 *        a removed host that joins again has none that counts)
 *     each DPU's certificate to it (identity.install), then ours, then the CRL
 *
 * The calls to our own DPUs check no CRL: the internal link is the
 * server's own, and a host removed (its and its DPUs' certificates
 * revoked) must be able to join again.  Private keys never leave their
 * device.  A DPU that does not answer fails
 * the join before anything is sent; one that fails its install is named in
 * the result, and a join again repairs it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemons/common/daemon.h"
#include "daemons/hostd/hostd.h"
#include "lib/authz.h"
#include "lib/http.h"
#include "lib/identity.h"
#include "lib/log.h"
#include "lib/tls.h"
#include "lib/util.h"

LOG_MODULE(hostd);

#define JOIN_TIMEOUT_MS 10000

/* Checks that 'pin' is the fingerprint of our CA file. */
static int
check_pin(const struct tls_paths *tls, const char *pin, char *err, size_t err_len)
{
    size_t len;
    char *pem = fs_read_file(tls->ca, 1 << 20, &len), hex[IDENTITY_SHA256_HEX];
    if (!pem)
        return err_set(err, err_len, -errno, "cannot read CA %s: %s", tls->ca, strerror(errno));
    int rc = identity_cert_sha256(pem, len, hex, err, err_len);
    free(pem);
    if (rc == 0 && strcmp(hex, pin))
        rc = err_set(err, err_len, -EPERM,
                     "the token is for a manager whose CA is not this host's (%s): "
                     "a host joins the cluster whose CA it was installed with",
                     tls->ca);
    return rc;
}

/* '{NAME: {csr, vendor, model, firmware}}' of every DPU, or -errno. */
static int
dpu_csrs(struct hostd *h, SSL_CTX *ctx, json_t **out, char *err, size_t err_len)
{
    *out = json_object();
    for (unsigned i = 0; i < h->n_dpus; i++) {
        struct hostd_dpu *dpu = &h->dpus[i];
        json_t *args = json_pack("{s:s}", "cn", dpu->cn), *r = NULL, *info = NULL;
        char why[ERR_LEN];
        int rc = hostd_dpu_call_ctx(ctx, dpu, "identity.csr", args, &r, why, sizeof why);
        if (rc == 0)
            rc = hostd_dpu_call_ctx(ctx, dpu, "dpu.info", NULL, &info, why, sizeof why);
        json_decref(args);
        const char *csr = json_string_value(json_object_get(r, "csr"));
        if (rc == 0 && csr)
            json_object_set_new(*out, dpu->name,
                                json_pack("{s:s,s:O?,s:O?,s:O?}", "csr", csr, "vendor",
                                          json_object_get(info, "vendor"), "model",
                                          json_object_get(info, "model"), "firmware",
                                          json_object_get(info, "firmware")));
        json_decref(r);
        json_decref(info);
        if (rc < 0 || !csr) {
            json_decref(*out);
            *out = NULL;
            return err_set(err, err_len, rc < 0 ? rc : -EPROTO, "%s: %s", dpu->name,
                           rc < 0 ? why : "no CSR in its reply");
        }
    }
    return 0;
}

/* The manager's "[https://]ADDR:PORT[/]" into 'addr' and '*port'. */
static int
manager_addr(const char *url, char *addr, size_t addr_len, uint16_t *port)
{
    char buf[256];
    if (!strncmp(url, "https://", 8))
        url += 8;
    snprintf(buf, sizeof buf, "%s", url);
    size_t n = strlen(buf);
    if (n && buf[n - 1] == '/')
        buf[n - 1] = '\0';
    return parse_hostport(buf, addr, addr_len, port);
}

/* Installs what the manager signed: the DPUs' first, then ours, then the
 * CRL.  Fills 'res' with each DPU's outcome; returns the first failure. */
static int
install(struct hostd *h, SSL_CTX *ctx, json_t *reply, json_t *res, char *err, size_t err_len)
{
    json_t *certs = json_object_get(reply, "dpus"), *dres = json_object();
    json_object_set_new(res, "dpus", dres);
    int first = 0;
    for (unsigned i = 0; i < h->n_dpus; i++) {
        struct hostd_dpu *dpu = &h->dpus[i];
        const char *cert = json_string_value(json_object_get(certs, dpu->name));
        json_t *args = json_pack("{s:s?}", "cert", cert);
        char why[ERR_LEN] = "no certificate in the manager's reply";
        json_t *r = NULL;
        int rc = cert ? hostd_dpu_call_ctx(ctx, dpu, "identity.install", args, &r, why, sizeof why)
                      : -EPROTO;
        json_decref(r);
        json_decref(args);
        json_object_set_new(dres, dpu->name, json_string(rc == 0 ? "installed" : why));
        if (rc < 0 && first == 0)
            first = err_set(err, err_len, rc, "%s: %s", dpu->name, why);
    }
    const char *cert = json_string_value(json_object_get(reply, "cert"));
    int rc = cert ? agent_identity_install(&h->identity, cert, err, err_len)
                  : err_set(err, err_len, -EPROTO, "no certificate in the manager's reply");
    if (rc < 0)
        return rc;
    const char *crl = json_string_value(json_object_get(reply, "crl"));
    int64_t number = 0;
    char why[ERR_LEN];
    if (crl && agent_identity_crl_set(&h->identity, crl, &number, why, sizeof why) < 0)
        log_warn("join: revocation list: %s", why);
    return first;
}

static int
cmd_join(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct hostd *h = ctx->aux;
    const char *url = json_string_value(json_object_get(args, "manager"));
    const char *token = json_string_value(json_object_get(args, "token"));
    char secret[IDENTITY_SECRET_HEX], pin[IDENTITY_SHA256_HEX], addr[128];
    uint16_t port;
    if (!url || !token)
        return err_set(err, err_len, -EINVAL, "host.join wants {\"manager\", \"token\"}");
    if (identity_token_parse(token, secret, pin) < 0)
        return err_set(err, err_len, -EINVAL,
                       "--token: not a join token (dsejoin.SECRET.PIN, from the manager)");
    if (manager_addr(url, addr, sizeof addr, &port) < 0)
        return err_set(err, err_len, -EINVAL, "--manager %s: want [https://]ADDR:PORT", url);
    const struct tls_paths *tls = &h->identity.tls;
    int rc = check_pin(tls, pin, err, err_len);
    if (rc < 0)
        return rc;
    json_t *dpus = NULL, *reply = NULL;
    char *csr = NULL, why[ERR_LEN];
    /* Our own DPUs through the internal link, whatever our CRL says of us
     * or them: a host removed and joining again has both revoked. */
    SSL_CTX *own = tls_client_ctx(
        &(struct tls_paths){.cert = tls->cert, .key = tls->key, .ca = tls->ca}, why, sizeof why);
    if (!own)
        return err_set(err, err_len, -EIO, "tls: %s", why);
    if ((rc = dpu_csrs(h, own, &dpus, err, err_len)) < 0 ||
        (rc = identity_csr(tls, h->name, &csr, err, err_len)) < 0) {
        json_decref(dpus);
        SSL_CTX_free(own);
        return rc;
    }
    SSL_CTX *anon = tls_client_ctx(&(struct tls_paths){.ca = tls->ca}, why, sizeof why);
    struct httpc mgr = {.ctx = anon,
                        .host = addr,
                        .port = port,
                        .expect_role = AUTHZ_MANAGER,
                        .timeout_ms = JOIN_TIMEOUT_MS};
    json_t *body = json_pack("{s:s,s:s,s:O}", "token", token, "csr", csr, "dpus", dpus);
    int status = 0;
    if (!anon)
        rc = err_set(err, err_len, -EIO, "tls: %s", why);
    else if ((rc = httpc_rest(&mgr, "POST", "/api/v1/join", NULL, body, &status, &reply, why,
                              sizeof why)) < 0)
        err_set(err, err_len, rc, "manager %s: %s", url, why);
    else if (status != 200)
        rc = err_set(err, err_len, status == 401 || status == 403 ? -EACCES : -EIO,
                     "manager %s refused the join: %s", url,
                     json_string_value(json_object_get(reply, "message"))
                         ? json_string_value(json_object_get(reply, "message"))
                         : "no reason given");
    json_t *res = json_object();
    if (rc == 0 && (rc = install(h, own, reply, res, err, err_len)) == 0)
        log_info("joined manager %s as host %s (cn %s)", url,
                 json_string_value(json_object_get(reply, "host")),
                 json_string_value(json_object_get(reply, "cn")));
    if (rc == 0) {
        json_object_set(res, "host", json_object_get(reply, "host"));
        json_object_set(res, "cn", json_object_get(reply, "cn"));
        json_object_set(res, "serial", json_object_get(reply, "serial"));
        json_object_set(res, "task", json_object_get(reply, "task"));
        *result = json_incref(res);
    }
    json_decref(res);
    json_decref(body);
    json_decref(reply);
    json_decref(dpus);
    free(csr);
    if (anon)
        SSL_CTX_free(anon);
    SSL_CTX_free(own);
    return rc;
}

const struct cmd_def hostd_join_commands[] = {
    {.name = "host.join", .usage = "{manager, token}", .fn = cmd_join},
};
const size_t hostd_n_join_commands = ARRAY_SIZE(hostd_join_commands);
