/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz-cmdtab: a command table for the harnesses of transports (fuzz-util.h). */
#include <stdlib.h>

#include "lib/authz.h"
#include "lib/cmdtab.h"
#include "tests/fuzz/fuzz-util.h"

static int
cmd_echo(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    *result = json_pack("{s:O, s:I}", "args", args, "payload_len", (json_int_t)ctx->payload_len);
    return 0;
}

static const struct cmd_def defs[] = {
    {.name = "echo", .usage = "[ANY]", .fn = cmd_echo, .roles = AUTHZ_HOST},
    {.name = "port.list",
     .usage = "",
     .fn = cmd_echo}, /* local only: a network caller is refused */
};

struct cmdtab *
fuzz_cmdtab(void)
{
    static struct cmdtab *tab;
    if (!tab && !(tab = cmdtab_create(defs, sizeof defs / sizeof defs[0], NULL)))
        abort();
    return tab;
}
