/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hostd's part of the firewall (docs/dfw.md): the policy in its config
 * ("dfw"), as the manager or an operator sets it, checked by the DPUs
 * before it is kept, and pushed to them with the rest of the config; its
 * groups' "vms" become the VMs' MACs on the way.  dfw.stats and
 * dfw.conn.list ask every DPU; dfw.stats adds the pair's sync (dfwsync.c).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "daemons/hostd/hostd.h"
#include "lib/authz.h"
#include "lib/log.h"
#include "lib/util.h"

LOG_MODULE(hostd);

/* Whether every DPU that answers takes 'policy'; else -EINVAL with its
 * line.  A DPU that does not answer gets it when it is back. */
static int
dpus_check(struct hostd *h, json_t *policy, char *err, size_t err_len)
{
    json_t *args = json_pack("{s:O}", "policy", policy);
    int rc = 0;
    for (unsigned i = 0; i < h->n_dpus && !rc; i++) {
        char why[ERR_LEN] = "";
        json_t *res = NULL;
        if (hostd_dpu_call(h, &h->dpus[i], "dfw.check", args, &res, why, sizeof why) == -EINVAL)
            rc = err_set(err, err_len, -EINVAL, "%s", why);
        json_decref(res);
    }
    json_decref(args);
    return rc;
}

/* {"digest", "rules", "policy"} of the policy in the config (nulls: off);
 * 'brief': without the policy (2 MiB at 10,000 rules). */
static json_t *
show_json(struct hostd *h, bool brief)
{
    json_t *p = json_object_get(h->config, "dfw");
    char dg[JSON_DIGEST_HEX];
    bool have = p && json_digest(p, dg) == 0;
    json_t *r = json_pack("{s:s?,s:I}", "digest", have ? dg : NULL, "rules",
                          (json_int_t)json_array_size(json_object_get(p, "rules")));
    if (!brief)
        json_object_set(r, "policy", p ? p : json_null());
    return r;
}

static int
cmd_dfw_set(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct hostd *h = ctx->aux;
    json_t *policy = json_object_get(args, "policy");
    const char *unknown = NULL;
    if (!policy)
        return err_set(err, err_len, -EINVAL, "missing argument 'policy' (null: off)");
    if (!json_is_null(policy)) {
        if (!json_is_object(policy))
            return err_set(err, err_len, -EINVAL, "the policy is an object (docs/dfw.md)");
        json_t *p = hostd_dfw_expand(h, policy, &unknown);
        int rc = unknown ? err_set(err, err_len, -EINVAL, "no VM '%s' on this host", unknown)
                         : dpus_check(h, p, err, err_len);
        json_decref(p);
        if (rc < 0)
            return rc;
        json_object_set(h->config, "dfw", policy);
    } else {
        json_object_del(h->config, "dfw");
    }
    int rc = hostd_commit(h, err, err_len); /* on failure, the config as it was */
    if (rc < 0)
        return rc;
    *result = show_json(h, true);
    return 0;
}

static int
cmd_dfw_show(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    json_t *b = json_object_get(args, "brief");
    if (b && !json_is_boolean(b))
        return err_set(err, err_len, -EINVAL, "'brief' is true or false");
    *result = show_json(ctx->aux, json_is_true(b));
    return 0;
}

static int
cmd_dfw_stats(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    *result = json_pack("{s:o,s:o}", "dpus", hostd_dpus_call_all(ctx->aux, "dfw.stats", NULL),
                        "sync", hostd_dfwsync_json(ctx->aux));
    return 0;
}

static int
cmd_dfw_conn_list(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct hostd *h = ctx->aux;
    const char *name = NULL;
    json_t *q = NULL;
    if (cmd_arg_str_opt(args, "vm", &name, err, err_len) < 0)
        return -EINVAL;
    if (name) {
        json_t *vm = hostd_config_find(json_object_get(h->config, "vms"), name);
        if (!vm)
            return err_set(err, err_len, -ENOENT, "no VM %s", name);
        q = json_pack("{s:O}", "mac", json_object_get(vm, "mac"));
    }
    *result = json_pack("{s:o}", "dpus", hostd_dpus_call_all(h, "dfw.conn.list", q));
    json_decref(q);
    return 0;
}

const struct cmd_def hostd_dfw_commands[] = {
    {.name = "dfw.set", .usage = "{policy}", .fn = cmd_dfw_set, .roles = AUTHZ_MANAGER},
    {.name = "dfw.show", .usage = "[brief]", .fn = cmd_dfw_show, .roles = AUTHZ_MANAGER},
    {.name = "dfw.stats", .usage = "", .fn = cmd_dfw_stats, .roles = AUTHZ_MANAGER},
    {.name = "dfw.conn.list", .usage = "[vm]", .fn = cmd_dfw_conn_list, .roles = AUTHZ_MANAGER},
};
const size_t hostd_n_dfw_commands = ARRAY_SIZE(hostd_dfw_commands);
