/* SPDX-License-Identifier: Apache-2.0 */
/*
 * software: hostd's software commands: install a unified image on the host
 * and every DPU at once, its progress, list what each device runs, ask for a
 * rollback, reboot the server (DESIGN §6).  Wiring: the install is
 * lcm/install.h's transaction over the host's own banks (install_local_ops)
 * and each DPU over the internal network (software-dpu.c).
 *
 * An install is checked whole before anything is written: the image signed
 * by the host's trust anchor (DIR/certs/bundle.pub) and every payload file,
 * a component for the host and for every DPU model present, two identical
 * DPUs, the same DPU set as the last install (else --fresh), a newer version
 * for an update, room on the host.  Then it runs on its own threads, so that
 * the event loop keeps answering software.progress.  The DPU set of the last
 * good install is kept in DIR/software.json.
 *
 * Thread-safety: commands run on the event loop; an install's threads use
 * only its struct hostd_install (and hostd_dpu_session(), which keeps no
 * state).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "daemons/hostd/hostd.h"
#include "daemons/hostd/software-private.h"
#include "lcm/bank.h"
#include "lcm/install.h"
#include "lib/authz.h"
#include "lib/log.h"
#include "lib/util.h"

LOG_MODULE(software);

#define HOST_TARGET "host/x86_64"

/* One install and what its devices use, until the next one replaces it. */
struct hostd_install {
    struct hostd *h;
    struct install *op;
    char version[64];
    json_t *dpu_set; /* recorded in DIR/software.json when it succeeds */
    struct install_local host;
    struct hostd_install_dpu dpus[HOSTD_MAX_DPUS];
};

static void
hostd_install_destroy(struct hostd_install *hi)
{
    if (!hi)
        return;
    install_destroy(hi->op);
    json_decref(hi->dpu_set);
    free(hi);
}

static const char *
str_of(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "?";
}

/* ---- install ---- */

struct install_args {
    const char *bundle;
    bool dry, fresh, update, serial;
};

static int
install_args_parse(json_t *args, struct install_args *a, char *err, size_t err_len)
{
    *a = (struct install_args){
        .dry = json_is_true(json_object_get(args, "dry_run")),
        .fresh = json_is_true(json_object_get(args, "fresh")),
        .update = json_is_true(json_object_get(args, "update")),
        .serial = json_is_true(json_object_get(args, "serial")),
    };
    int rc = cmd_arg_str(args, "bundle", &a->bundle, err, err_len);
    if (rc < 0)
        return rc;
    if (a->bundle[0] != '/')
        return err_set(err, err_len, -EINVAL, "bundle: an absolute path, please (%s)", a->bundle);
    return 0;
}

/* The image (signed by the key this host trusts, whole: one read that keeps
 * the host's component), newer for an update, with a host component; every
 * DPU reachable, the DPUs alike, and the ones the last install knew.  On
 * success '*set' holds the DPUs' identities (dpu.info). */
static int
install_check_server(struct hostd *h, const struct install_args *a, struct install_image *img,
                     const char *running, json_t **set, char *err, size_t err_len)
{
    int rc = install_image_open(img, h->dir, a->bundle, HOST_TARGET, err, err_len);
    if (rc < 0 || (a->update && (rc = install_image_newer(img, running, err, err_len)) < 0) ||
        (rc = install_image_has(img, HOST_TARGET, "host", err, err_len)) < 0)
        return rc;
    if ((rc = hostd_dpu_identities(h, set, err, err_len)) < 0) {
        char e[ERR_LEN];
        snprintf(e, sizeof e, "%s", err);
        return err_set(err, err_len, rc, "refused: every DPU must be reachable: %s", e);
    }
    if ((rc = hostd_dpus_check_identical(*set, err, err_len)) < 0 ||
        (!a->fresh && (rc = install_dpus_check(h->dir, *set, err, err_len)) < 0))
        return rc;
    return 0;
}

static void
install_done(void *aux, bool ok)
{
    struct hostd_install *hi = aux;
    if (ok && install_dpus_record(hi->h->dir, hi->version, hi->dpu_set) < 0)
        log_warn("install: cannot record the DPU set in %s/software.json", hi->h->dir);
}

/* The plan: the host (committed last), then each DPU; then its checks (a
 * component for every DPU, room on the host).  Takes 'img' over. */
static int
install_plan(struct hostd_install *hi, const struct install_args *a, struct install_image *img,
             const char *running, uint64_t t0, char *err, size_t err_len)
{
    struct hostd *h = hi->h;
    struct install_params p = {.id = h->n_installs + 1,
                               .serial = a->serial,
                               .start_ms = t0,
                               .done = install_done,
                               .aux = hi};
    int rc = install_create(&p, img, NULL, NULL, &hi->op);
    if (rc < 0)
        return err_set(err, err_len, rc, "out of memory");
    hi->host = (struct install_local){.devdir = h->dir, .target = HOST_TARGET};
    install_add_device(hi->op, "host", HOST_TARGET, running, &install_local_ops, &hi->host);
    for (unsigned i = 0; i < h->n_dpus; i++) {
        json_t *info = json_array_get(hi->dpu_set, i);
        char target[128];
        snprintf(target, sizeof target, "dpu/%s/%s", str_of(info, "vendor"), str_of(info, "model"));
        hi->dpus[i] = (struct hostd_install_dpu){.h = h, .dpu = &h->dpus[i], .op_id = p.id};
        install_add_device(hi->op, h->dpus[i].name, target, str_of(info, "version"),
                           &hostd_install_dpu_ops, &hi->dpus[i]);
    }
    if ((rc = install_check(hi->op, err, err_len)) < 0)
        return rc;
    h->n_installs = p.id;
    return 0;
}

/* Checked and planned: 'hi' becomes the last install, and starts. */
static int
install_run(struct hostd_install *hi, const struct install_args *a, json_t **result, char *err,
            size_t err_len)
{
    struct hostd *h = hi->h;
    hostd_install_destroy(h->install); /* over: cmd_install checked */
    h->install = hi;
    log_info("install: %s from %s on the host and %u DPU(s)%s", hi->version, a->bundle, h->n_dpus,
             a->serial ? ", one after another" : "");
    int rc = install_start(hi->op, result, err, err_len);
    if (rc == 0)
        json_object_set_new(*result, "dry_run", json_false());
    return rc;
}

static int
cmd_install(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct hostd *h = ctx->aux;
    uint64_t t0 = now_ms(); /* the install's time includes its checks */
    struct install_args a;
    int rc = install_args_parse(args, &a, err, err_len);
    if (rc < 0)
        return rc;
    if (h->install && install_is_running(h->install->op))
        return err_set(err, err_len, -EBUSY, "an install is running (op %u)",
                       install_id(h->install->op));
    struct hostd_install *hi = calloc(1, sizeof *hi);
    if (!hi)
        return err_set(err, err_len, -ENOMEM, "out of memory");
    hi->h = h;
    struct install_image img;
    char running[64] = DSE_VERSION;
    bank_running_version(h->dir, running, sizeof running);
    rc = install_check_server(h, &a, &img, running, &hi->dpu_set, err, err_len);
    if (rc == 0) {
        snprintf(hi->version, sizeof hi->version, "%s", bundle_manifest(img.bundle)->version);
        rc = install_plan(hi, &a, &img, running, t0, err, err_len);
    }
    install_image_close(&img); /* unless the plan took it */
    if (rc == 0 && !a.dry)
        return install_run(hi, &a, result, err, err_len);
    if (rc == 0) {
        *result = install_progress(hi->op);
        json_object_set_new(*result, "dry_run", json_true());
        json_object_set_new(*result, "state", json_string("checked"));
    }
    hostd_install_destroy(hi);
    return rc;
}

void
hostd_software_stop(struct hostd *h)
{
    hostd_install_destroy(h->install);
    h->install = NULL;
}

static int
cmd_progress(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct hostd *h = ctx->aux;
    if (!h->install)
        return err_set(err, err_len, -ENOENT, "no install since hostd started");
    *result = install_progress(h->install->op);
    return 0;
}

/* ---- list, rollback, reboot ---- */

static json_t *
device_row(const char *device, const char *role, json_t *status, const char *error)
{
    json_t *banks = json_object_get(status, "banks");
    const char *active = json_string_value(json_object_get(status, "active"));
    char other[2] = {active && active[0] == 'A' ? 'B' : 'A', '\0'};
    json_t *a = active ? json_object_get(banks, active) : NULL;
    json_t *o = json_object_get(banks, other);
    return json_pack("{s:s,s:s,s:O?,s:O?,s:s,s:O?,s:O?,s:O?,s:O?,s:O?,s:O?,s:s?}", "device", device,
                     "role", role, "active", json_object_get(status, "active"), "active_version",
                     json_object_get(a, "version"), "alternate", other, "alternate_version",
                     json_object_get(o, "version"), "pending", json_object_get(status, "pending"),
                     "attempts", json_object_get(status, "attempts"), "last_result",
                     json_object_get(status, "last_result"), "last_stage",
                     json_object_get(status, "last_stage"), "last_reason",
                     json_object_get(status, "last_reason"), "error", error);
}

static int
cmd_list(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct hostd *h = ctx->aux;
    json_t *rows = json_array(), *st = bank_status(h->dir);
    json_array_append_new(rows, device_row(h->name, "host", st, NULL));
    json_decref(st);
    for (unsigned i = 0; i < h->n_dpus; i++) {
        char e[ERR_LEN] = "";
        st = NULL;
        hostd_dpu_call(h, &h->dpus[i], "software.show", NULL, &st, e, sizeof e);
        json_array_append_new(rows, device_row(h->dpus[i].name, "dpu", st, e[0] ? e : NULL));
        json_decref(st);
    }
    *result = rows;
    return 0;
}

static int
cmd_rollback(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct hostd *h = ctx->aux;
    json_t *rows = NULL;
    int rc = cmd_list(ctx, NULL, &rows, err, err_len);
    if (rc < 0)
        return rc;
    /* Every device must hold the same version in its other bank. */
    const char *want = NULL;
    size_t i;
    json_t *r;
    json_array_foreach (rows, i, r) {
        const char *v = json_string_value(json_object_get(r, "alternate_version"));
        const char *e = json_string_value(json_object_get(r, "error"));
        if (e || !v || (want && strcmp(v, want))) {
            rc = err_set(err, err_len, -ENOEXEC, "refused: %s %s", str_of(r, "device"),
                         e    ? e
                         : !v ? "has nothing to roll back to"
                              : "holds another version in its other bank");
            json_decref(rows);
            return rc;
        }
        want = v;
    }
    char why[BANK_ERR_LEN];
    for (unsigned k = 0; k < h->n_dpus && rc == 0; k++) {
        json_t *res = NULL;
        rc = hostd_dpu_call(h, &h->dpus[k], "software.rollback", NULL, &res, err, err_len);
        json_decref(res);
    }
    if (rc == 0 && (rc = bank_request_rollback(h->dir, why, sizeof why)) < 0)
        err_set(err, err_len, rc, "host: %s", why);
    if (rc == 0)
        *result = json_pack("{s:s}", "next_boot", want);
    json_decref(rows);
    return rc;
}

static int
cmd_reboot(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct hostd *h = ctx->aux;
    struct platform_reboot r;
    int rc = platform_reboot(&h->platform, &r, err, err_len);
    if (rc == 0)
        *result = json_pack("{s:s,s:s}", "rebooting", r.name, "log", r.log);
    return rc;
}

const struct cmd_def hostd_software_commands[] = {
    {.name = "software.list", .usage = "", .fn = cmd_list, .roles = AUTHZ_MANAGER},
    {.name = "software.install",
     .usage = "{bundle, [dry_run], [fresh], [update], [serial]}",
     .fn = cmd_install,
     .roles = AUTHZ_MANAGER},
    {.name = "software.progress", .usage = "", .fn = cmd_progress, .roles = AUTHZ_MANAGER},
    {.name = "software.rollback", .usage = "", .fn = cmd_rollback, .roles = AUTHZ_MANAGER},
    {.name = "host.reboot", .usage = "", .fn = cmd_reboot, .roles = AUTHZ_MANAGER},
};
const size_t hostd_n_software_commands =
    sizeof hostd_software_commands / sizeof hostd_software_commands[0];
