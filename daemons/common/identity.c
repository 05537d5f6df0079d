/* SPDX-License-Identifier: Apache-2.0 */
/* identity: an agent's identity at run time (identity.h). */
#include "daemons/common/identity.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/authz.h"
#include "lib/identity.h"
#include "lib/log.h"
#include "lib/util.h"

LOG_MODULE(identity);

void
agent_identity_init(struct agent_identity *id, const struct tls_paths *tls, const char *name,
                    unsigned role)
{
    *id = (struct agent_identity){.tls = *tls, .name = name, .role = role};
    id->crl_number = identity_crl_number(&id->tls);
}

int
agent_identity_add_ctx(struct agent_identity *id, SSL_CTX *ctx)
{
    if (!ctx)
        return 0;
    if (id->n_ctxs == AGENT_IDENTITY_MAX_CTX)
        return -ENOSPC;
    SSL_CTX_up_ref(ctx);
    id->ctxs[id->n_ctxs++] = ctx;
    return 0;
}

void
agent_identity_fini(struct agent_identity *id)
{
    for (unsigned i = 0; i < id->n_ctxs; i++)
        SSL_CTX_free(id->ctxs[i]);
    id->n_ctxs = 0;
}

int
agent_identity_reload(struct agent_identity *id, char *err, size_t err_len)
{
    int first = 0;
    for (unsigned i = 0; i < id->n_ctxs; i++) {
        char why[ERR_LEN];
        int rc = tls_ctx_reload(id->ctxs[i], &id->tls, why, sizeof why);
        if (rc < 0 && first == 0)
            first = err_set(err, err_len, rc, "%s", why);
    }
    return first;
}

int
agent_identity_install(struct agent_identity *id, const char *cert, char *err, size_t err_len)
{
    char cn[AUTHZ_CN_MAX];
    int rc = identity_install(&id->tls, cert, id->role, cn, sizeof cn, err, err_len);
    if (rc == 0 && (rc = agent_identity_reload(id, err, err_len)) == 0)
        log_info("new identity installed: cn=%s role=%s", cn, authz_role_name(id->role));
    return rc;
}

int
agent_identity_crl_set(struct agent_identity *id, const char *pem, int64_t *number, char *err,
                       size_t err_len)
{
    int rc = identity_crl_store(&id->tls, pem, strlen(pem), number, err, err_len);
    if (rc == 1) {
        int r = agent_identity_reload(id, err, err_len);
        if (r < 0)
            return r;
        id->crl_number = *number;
        log_info("revocation list %lld in use", (long long)*number);
    }
    return rc;
}

static int
cmd_csr(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct agent_identity *id = ctx->aux;
    const char *cn = json_string_value(json_object_get(args, "cn"));
    if (json_object_get(args, "cn") && (!cn || !name_is_valid(cn, AUTHZ_CN_MAX - 1)))
        return err_set(err, err_len, -EINVAL, "cn: a name of 1 to %d characters", AUTHZ_CN_MAX - 1);
    char *csr = NULL;
    int rc = identity_csr(&id->tls, cn ? cn : id->name, &csr, err, err_len);
    if (rc == 0)
        *result = json_pack("{s:s}", "csr", csr);
    free(csr);
    return rc;
}

static int
cmd_install(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    const char *cert = json_string_value(json_object_get(args, "cert"));
    if (!cert)
        return err_set(err, err_len, -EINVAL, "identity.install wants {\"cert\": PEM}");
    return agent_identity_install(ctx->aux, cert, err, err_len);
}

static int
cmd_crl_set(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    const char *pem = json_string_value(json_object_get(args, "pem"));
    if (!pem)
        return err_set(err, err_len, -EINVAL, "crl.set wants {\"pem\": PEM}");
    int64_t number = 0;
    int rc = agent_identity_crl_set(ctx->aux, pem, &number, err, err_len);
    if (rc < 0)
        return rc;
    *result = json_pack("{s:I,s:b}", "number", (json_int_t)number, "changed", rc == 1);
    return 0;
}

static int
cmd_crl_show(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct agent_identity *id = ctx->aux;
    *result = json_pack("{s:I}", "number", (json_int_t)id->crl_number);
    return 0;
}

const struct cmd_def agent_identity_commands[] = {
    {.name = "identity.csr",
     .usage = "{[cn]}",
     .fn = cmd_csr,
     .roles = AUTHZ_HOST,
     .flags = CMD_UNGUARDED},
    {.name = "identity.install",
     .usage = "{cert}",
     .fn = cmd_install,
     .roles = AUTHZ_HOST,
     .flags = CMD_UNGUARDED},
};
const size_t agent_identity_n_commands = ARRAY_SIZE(agent_identity_commands);

const struct cmd_def agent_crl_commands[] = {
    {.name = "crl.set",
     .usage = "{pem}",
     .fn = cmd_crl_set,
     .roles = AUTHZ_HOST | AUTHZ_MANAGER,
     .flags = CMD_UNGUARDED},
    {.name = "crl.show",
     .usage = "",
     .fn = cmd_crl_show,
     .roles = AUTHZ_HOST | AUTHZ_MANAGER,
     .flags = CMD_UNGUARDED},
};
const size_t agent_crl_n_commands = ARRAY_SIZE(agent_crl_commands);
