/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hostd support: support.bundle, the .tgz of the host's and every DPU's logs,
 * configuration, boot history and versions (lcm/support.h), and --dpu-oob.
 *
 * A DPU's part comes over the internal network (dpud's support.collect) when
 * its agent answers a heartbeat; otherwise hostd reads the DPU's device
 * directory through the out-of-band path, and the index says which path each
 * part took and why.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/base64.h"
#include "daemons/hostd/hostd.h"
#include "lib/log.h"
#include "lcm/support.h"
#include "lib/util.h"

LOG_MODULE(hostd);

/* A DPU's part is up to 8 MiB (11 MiB of base64) over one veth hop. */
#define SUPPORT_DPU_TIMEOUT_MS 10000

/* hostd's own live state, from its command table, as host/state/CMD.json. */
static const char *const state_cmds[] = {"host.info", "dpu.list", "switch.show", "port.list"};

int
hostd_support_oob_parse(struct hostd *h, const char *spec, char *err, size_t err_len)
{
    const char *eq = strchr(spec, '=');
    size_t n = eq ? (size_t)(eq - spec) : 0;
    if (!eq || !n || n >= sizeof h->oob[0].name || !eq[1])
        return err_set(err, err_len, -EINVAL, "bad --dpu-oob '%s' (want NAME=DIR)", spec);
    if (h->n_oob == HOSTD_MAX_DPUS)
        return err_set(err, err_len, -EINVAL, "at most %d --dpu-oob", HOSTD_MAX_DPUS);
    struct hostd_oob *o = &h->oob[h->n_oob];
    memcpy(o->name, spec, n);
    o->name[n] = '\0';
    if (!name_is_valid(o->name, sizeof o->name - 1))
        return err_set(err, err_len, -EINVAL, "bad --dpu-oob '%s' (want NAME=DIR)", spec);
    for (unsigned i = 0; i < h->n_oob; i++)
        if (!strcmp(h->oob[i].name, o->name))
            return err_set(err, err_len, -EINVAL, "--dpu-oob %s given twice", o->name);
    o->dir = eq + 1;
    h->n_oob++;
    return 0;
}

int
hostd_support_oob_check(const struct hostd *h, char *err, size_t err_len)
{
    for (unsigned i = 0; i < h->n_oob; i++) {
        bool found = false;
        for (unsigned k = 0; k < h->n_dpus && !found; k++)
            found = !strcmp(h->dpus[k].name, h->oob[i].name);
        if (!found)
            return err_set(err, err_len, -EINVAL, "--dpu-oob %s: no --dpu of that name",
                           h->oob[i].name);
    }
    return 0;
}

static const char *
oob_dir(const struct hostd *h, const char *dpu)
{
    for (unsigned i = 0; i < h->n_oob; i++)
        if (!strcmp(h->oob[i].name, dpu))
            return h->oob[i].dir;
    return NULL;
}

/* Runs hostd's own command 'name' (no arguments); its result, or {"error"}. */
static json_t *
run_state_cmd(struct hostd *h, const char *name)
{
    for (size_t i = 0; i < hostd_n_commands; i++) {
        if (strcmp(hostd_commands[i].name, name))
            continue;
        struct cmd_ctx ctx = {.aux = h, .peer = "support"};
        json_t *args = json_object(), *res = NULL;
        char err[ERR_LEN] = "";
        int rc = hostd_commands[i].fn(&ctx, args, &res, err, sizeof err);
        json_decref(args);
        if (rc < 0) {
            json_decref(res);
            res = json_pack("{s:s}", "error", err[0] ? err : strerror(-rc));
        }
        return res ? res : json_null();
    }
    return json_pack("{s:s}", "error", "no such command");
}

/* Adds DPU 'dpu' to 'b': over the internal network, else through its
 * out-of-band path, else as an error.  Returns 0 or -ENOMEM. */
static int
add_dpu(struct hostd *h, struct hostd_dpu *dpu, struct support_bundle *b,
        const struct support_limits *lim)
{
    char reason[SUPPORT_ERR_LEN + 64], why[SUPPORT_ERR_LEN];
    char msg[sizeof reason + sizeof why + 32];
    json_t *part = NULL;
    char err[ERR_LEN] = "";
    /* A short heartbeat first: a DPU cut off costs one second, not the
     * collection's timeout. */
    int rc = hostd_dpu_call(h, dpu, "dpu.info", NULL, &part, err, sizeof err);
    json_decref(part);
    part = NULL;
    if (rc == 0)
        rc = hostd_dpu_call_ms(h, dpu, "support.collect", NULL, SUPPORT_DPU_TIMEOUT_MS, &part, err,
                               sizeof err);
    if (rc == 0) {
        rc = support_bundle_add_device(b, dpu->name, dpu->cn, "internal-network", NULL, part, why,
                                       sizeof why);
        json_decref(part);
        if (rc != -EBADMSG)
            return rc;
        snprintf(reason, sizeof reason, "internal network: %s: %s", dpu->name, why);
    } else {
        snprintf(reason, sizeof reason, "internal network: %s", err[0] ? err : strerror(-rc));
    }

    const char *dir = oob_dir(h, dpu->name);
    if (!dir) {
        log_warn("dpu=%s: support: %s; no out-of-band path (--dpu-oob)", dpu->name, reason);
        snprintf(msg, sizeof msg, "%s; no out-of-band path (--dpu-oob)", reason);
        return support_bundle_add_error(b, dpu->name, dpu->cn, msg);
    }
    rc = support_collect(dir, lim, &part, why, sizeof why);
    if (rc == -ENOMEM)
        return rc;
    if (rc < 0) {
        log_warn("dpu=%s: support: %s; out-of-band: %s", dpu->name, reason, why);
        snprintf(msg, sizeof msg, "%s; out-of-band: %s", reason, why);
        return support_bundle_add_error(b, dpu->name, dpu->cn, msg);
    }
    log_info("dpu=%s: support: %s; collected through the out-of-band path", dpu->name, reason);
    rc = support_bundle_add_device(b, dpu->name, dpu->cn, "oob", reason, part, why, sizeof why);
    json_decref(part);
    return rc;
}

/* Collects everything into 'b'.  Returns 0 or -ENOMEM. */
static int
collect(struct hostd *h, struct support_bundle *b, const struct support_limits *lim)
{
    char why[SUPPORT_ERR_LEN];
    json_t *part = NULL;
    int rc = support_collect(h->dir, lim, &part, why, sizeof why);
    if (rc == 0) {
        rc = support_bundle_add_device(b, "host", h->name, "local", NULL, part, why, sizeof why);
        json_decref(part);
    } else if (rc != -ENOMEM) {
        rc = support_bundle_add_error(b, "host", h->name, why);
    }
    for (size_t i = 0; i < ARRAY_SIZE(state_cmds) && !rc; i++) {
        char name[64];
        snprintf(name, sizeof name, "state/%s.json", state_cmds[i]);
        json_t *v = run_state_cmd(h, state_cmds[i]);
        rc = v ? support_bundle_add_json(b, "host", name, "local", v) : -ENOMEM;
        json_decref(v);
    }
    for (unsigned i = 0; i < h->n_dpus && !rc; i++)
        rc = add_dpu(h, &h->dpus[i], b, lim);
    return rc;
}

int
hostd_cmd_support_bundle(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err,
                         size_t err_len)
{
    struct hostd *h = ctx->aux;
    const struct support_limits lim = SUPPORT_LIMITS_DEFAULT;
    struct support_bundle *b = support_bundle_create(&lim, SUPPORT_BUNDLE_MAX);
    if (!b)
        return err_set(err, err_len, -ENOMEM, "support bundle: out of memory");
    char why[SUPPORT_ERR_LEN] = "out of memory";
    void *tgz = NULL;
    size_t len = 0;
    json_t *index = NULL;
    int rc = collect(h, b, &lim);
    if (rc == 0)
        rc = support_bundle_finish(b, h->name, time(NULL), &tgz, &len, &index, why, sizeof why);
    support_bundle_destroy(b);
    if (rc < 0) {
        log_warn("peer=%s: support bundle: %s", ctx->peer, why);
        return err_set(err, err_len, rc, "support bundle: %s", why);
    }
    char *text = malloc(base64_encoded_size(len));
    if (!text) {
        free(tgz);
        json_decref(index);
        return err_set(err, err_len, -ENOMEM, "support bundle: out of memory");
    }
    size_t text_len = base64_encode(tgz, len, text);
    free(tgz);
    log_info("peer=%s: support bundle: %zu bytes, %zu parts, %zu errors", ctx->peer, len,
             json_array_size(json_object_get(index, "parts")),
             json_array_size(json_object_get(index, "errors")));
    *result = json_pack("{s:o,s:I,s:s%}", "index", index, "size", (json_int_t)len, "data", text,
                        text_len);
    free(text);
    return *result ? 0 : err_set(err, err_len, -ENOMEM, "support bundle: out of memory");
}
