/* SPDX-License-Identifier: Apache-2.0 */
/* dpud support: support.collect, this DPU's part of a support bundle. */
#include <errno.h>
#include <stdlib.h>

#include "config.h"
#include "daemons/dpud/dpud.h"
#include "lib/log.h"
#include "lcm/support.h"
#include "lib/util.h"

LOG_MODULE(dpud);

int
dpud_cmd_support_collect(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err,
                         size_t err_len)
{
    struct dpud *d = ctx->aux;
    if (!d->dir)
        return err_set(err, err_len, -ENOTDIR, "support: dpud has no device directory (--dir)");
    const struct support_limits lim = SUPPORT_LIMITS_DEFAULT;
    char why[SUPPORT_ERR_LEN];
    json_t *part = NULL;
    int rc = support_collect(d->dir, &lim, &part, why, sizeof why);
    if (rc < 0) {
        log_warn("peer=%s: support: %s", ctx->peer, why);
        return err_set(err, err_len, rc, "support: %s", why);
    }
    json_object_set_new(part, "device", json_string(d->name));
    json_object_set_new(part, "daemon",
                        json_pack("{s:s,s:s,s:I}", "name", "dse-dpud", "version", DSE_VERSION,
                                  "uptime_s", (json_int_t)((now_ms() - d->started_ms) / 1000)));
    log_info("peer=%s: support: collected %zu files, %zu left out", ctx->peer,
             json_array_size(json_object_get(part, "files")),
             json_array_size(json_object_get(part, "omitted")));
    *result = part;
    return 0;
}
