/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz-ctl: control-socket requests (one line of JSON) through
 * cmdtab_dispatch_text(), with handlers that use every argument helper, and
 * the reply serialized as ctl would send it.
 */
#include "lib/cmdtab.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

static int
cmd_vlan(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    const char *name, *desc = "";
    long vlan, mtu = 1500;
    int rc;
    if ((rc = cmd_arg_str(args, "name", &name, err, err_len)) ||
        (rc = cmd_arg_str_opt(args, "desc", &desc, err, err_len)) ||
        (rc = cmd_arg_int(args, "vlan", 1, 4094, &vlan, err, err_len)) ||
        (rc = cmd_arg_int_opt(args, "mtu", 68, 9000, &mtu, err, err_len)))
        return rc;
    *result = json_pack("{s:s, s:s, s:I, s:I}", "name", name, "desc", desc, "vlan",
                        (json_int_t)vlan, "mtu", (json_int_t)mtu);
    return 0;
}

static int
cmd_echo(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    long rc = 0;
    if (cmd_arg_int_opt(args, "rc", -4095, 4095, &rc, err, err_len))
        return -EINVAL;
    if (rc)
        return (int)rc; /* without a message: the dispatcher supplies one */
    *result = json_incref(args);
    return 0;
}

static const struct cmd_def defs[] = {
    {.name = "vlan.set", .usage = "--name NAME --vlan ID [--mtu N] [--desc TEXT]", .fn = cmd_vlan},
    {.name = "echo", .usage = "[--rc ERRNO]", .fn = cmd_echo},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct cmdtab *tab;
    if (!tab)
        tab = cmdtab_create(defs, sizeof defs / sizeof defs[0], NULL);
    json_t *env = cmdtab_dispatch_text(tab, (const char *)data, size, "unix");
    if (!env || !json_is_boolean(json_object_get(env, "ok")))
        abort();
    char *s = json_dumps(env, JSON_COMPACT);
    if (!s)
        abort();
    free(s);
    json_decref(env);
    return 0;
}
