/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hostd's steps of a VM's live migration (issue 15; docs/migration.md).  The
 * manager runs them in this order, hostd does each:
 *
 *   target: vm.add {..., kind: qemu, incoming: PORT}   a QEMU that waits for
 *           the guest, its port on the DPU ready but idle until the guest
 *           arrives
 *   source: vm.state.export {name}   what moves with the VM besides its
 *           memory: its firewall connections (on its DPU, by its MAC)
 *   target: vm.state.import {name, state}   into the DPU that owns its vNIC
 *           (an active-standby pair's standby gets them by the pair's sync,
 *           dfwsync.c, as it gets every connection)
 *   source: vm.migrate {name, to, port}   QEMU's live migration over the
 *           management network, while the DPU logs the guest memory it
 *           writes (vhost-user); once the guest runs on the target, whose
 *           DPU announces it (RARP), the source lets it go
 *
 * A failure before the last step leaves the VM where it was; the target's
 * waiting VM is the manager's to delete (vm.del).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "daemons/hostd/hostd.h"
#include "lib/log.h"
#include "lib/util.h"
#include "platform/platform.h"

LOG_MODULE(hostd);

/* The VM called 'args'.name in the config, into '*vm', and the DPU that
 * owns its vNIC into '*dpu'.  Returns 0, or -EINVAL (no name), -ENOENT with a
 * reason. */
static int
vm_arg(struct hostd *h, json_t *args, json_t **vm, struct hostd_dpu **dpu, char *err,
       size_t err_len)
{
    const char *name;
    if (cmd_arg_str(args, "name", &name, err, err_len) < 0)
        return -EINVAL;
    if (!(*vm = hostd_config_find(json_object_get(h->config, "vms"), name)))
        return err_set(err, err_len, -ENOENT, "no VM %s", name);
    if (!(*dpu = hostd_dpu_find(h, hostd_vm_owner(h, *vm))))
        return err_set(err, err_len, -ENOENT, "VM %s: its DPU is not this host's", name);
    return 0;
}

/* Its firewall connections, from the DPU that owns its vNIC: every page of
 * dfw.conn.export {mac}, as they come (each names its rules). */
static int
cmd_vm_state_export(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct hostd *h = ctx->aux;
    json_t *vm;
    struct hostd_dpu *dpu;
    int rc = vm_arg(h, args, &vm, &dpu, err, err_len);
    if (rc < 0)
        return rc;
    json_t *pages = json_array();
    const char *cursor = NULL;
    json_t *page = NULL;
    size_t n = 0;
    for (;;) {
        json_t *q = json_pack("{s:O,s:i,s:s*}", "mac", json_object_get(vm, "mac"), "max", 65536,
                              "since", cursor);
        json_t *res = NULL;
        rc = hostd_dpu_call(h, dpu, "dfw.conn.export", q, &res, err, err_len);
        json_decref(q);
        if (rc < 0) {
            json_decref(pages);
            json_decref(page);
            return rc;
        }
        json_decref(page); /* the cursor was the previous page's */
        page = res;
        n += json_array_size(json_object_get(page, "conns"));
        if (json_array_size(json_object_get(page, "conns")))
            json_array_append_new(pages,
                                  json_pack("{s:O,s:O}", "rules", json_object_get(page, "rules"),
                                            "conns", json_object_get(page, "conns")));
        if (!json_is_true(json_object_get(page, "more")))
            break;
        cursor = json_string_value(json_object_get(page, "cursor"));
    }
    json_decref(page);
    log_info("vm=%s: exported its state: %zu firewall connections",
             json_string_value(json_object_get(vm, "name")), n);
    *result = json_pack("{s:O,s:{s:o},s:I}", "name", json_object_get(vm, "name"), "state", "dfw",
                        pages, "conns", (json_int_t)n);
    return 0;
}

/* Adds an import page's outcome to the totals in 'sum'. */
static void
sum_import(json_t *sum, json_t *res)
{
    const char *k;
    json_t *v;
    json_object_foreach (res, k, v) {
        if (json_is_integer(v) && strcmp(k, "conns"))
            json_object_set_new(
                sum, k,
                json_integer(json_integer_value(json_object_get(sum, k)) + json_integer_value(v)));
    }
}

/* What vm.state.export gave, into the DPU that owns the VM's vNIC.  A page
 * that fails stops the import: what came before it stays (each connection
 * stands alone), the reply says how far it got. */
static int
cmd_vm_state_import(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct hostd *h = ctx->aux;
    json_t *vm;
    struct hostd_dpu *dpu;
    int rc = vm_arg(h, args, &vm, &dpu, err, err_len);
    if (rc < 0)
        return rc;
    json_t *pages = json_object_get(json_object_get(args, "state"), "dfw");
    if (!json_is_array(pages))
        return err_set(err, err_len, -EINVAL, "'state' is what vm.state.export gave: {dfw: [...]}");
    json_t *sum = json_object();
    size_t i;
    json_t *pg;
    json_array_foreach (pages, i, pg) {
        json_t *q = json_pack("{s:O,s:O}", "rules", json_object_get(pg, "rules"), "conns",
                              json_object_get(pg, "conns")),
               *res = NULL;
        rc = hostd_dpu_call(h, dpu, "dfw.conn.import", q, &res, err, err_len);
        json_decref(q);
        if (rc < 0) {
            json_decref(sum);
            return rc;
        }
        sum_import(sum, res);
        json_decref(res);
    }
    log_info("vm=%s: imported its state: %lld firewall connections",
             json_string_value(json_object_get(vm, "name")),
             (long long)json_integer_value(json_object_get(sum, "imported")));
    *result = json_pack("{s:O,s:s,s:o}", "name", json_object_get(vm, "name"), "dpu", dpu->name,
                        "dfw", sum);
    return 0;
}

/* Live-migrates a QEMU VM to server 'to', where vm.add {incoming: port} made
 * a QEMU that waits for it; once it runs there, this host lets it go.  On
 * failure it runs on here, as it was. */
static int
cmd_vm_migrate(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct hostd *h = ctx->aux;
    const char *to;
    long port, bw = 0;
    json_t *vm;
    struct hostd_dpu *dpu;
    int rc = vm_arg(h, args, &vm, &dpu, err, err_len);
    if (rc < 0)
        return rc;
    if (cmd_arg_str(args, "to", &to, err, err_len) < 0 ||
        cmd_arg_int(args, "port", 1, 65535, &port, err, err_len) < 0 ||
        cmd_arg_int_opt(args, "bandwidth_mib", 1, 100000, &bw, err, err_len) < 0)
        return -EINVAL;
    char name[64]; /* the VM's, kept past its removal below */
    snprintf(name, sizeof name, "%s", json_string_value(json_object_get(vm, "name")));
    if (strcmp(json_string_value(json_object_get(vm, "kind")) ?: "netns", "qemu"))
        return err_set(err, err_len, -EOPNOTSUPP, "VM %s is a netns VM: only QEMU VMs migrate live",
                       name);
    char out[2048];
    rc = platform_vm_migrate(&h->platform, name, to, (unsigned)port, (unsigned)bw, out, sizeof out,
                             err, err_len);
    if (rc < 0)
        return rc;
    json_t *figures = json_loads(out, 0, NULL);
    /* It runs on 'to': its port here goes, then its stopped QEMU. */
    vm = hostd_config_take(json_object_get(h->config, "vms"), name);
    char err2[256];
    if (hostd_commit(h, err2, sizeof err2) < 0 ||
        hostd_platform_vm_destroy(h, vm, err2, sizeof err2) < 0)
        log_warn("vm=%s: migrated, but cleaning up here failed: %s", name, err2);
    json_decref(vm);
    log_info("vm=%s: migrated to %s", name, to);
    *result = json_pack("{s:s,s:s,s:o}", "name", name, "to", to, "migration",
                        figures ? figures : json_object());
    return 0;
}

const struct cmd_def hostd_migrate_commands[] = {
    {.name = "vm.state.export",
     .usage = "{name}",
     .fn = cmd_vm_state_export,
     .roles = AUTHZ_MANAGER},
    {.name = "vm.state.import",
     .usage = "{name, state}",
     .fn = cmd_vm_state_import,
     .roles = AUTHZ_MANAGER},
    {.name = "vm.migrate",
     .usage = "{name, to, port, [bandwidth_mib]}",
     .fn = cmd_vm_migrate,
     .roles = AUTHZ_MANAGER},
};
const size_t hostd_n_migrate_commands = ARRAY_SIZE(hostd_migrate_commands);
