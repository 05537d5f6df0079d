/* SPDX-License-Identifier: Apache-2.0 */
/* dsectl dpu: the host's DPUs. */
#include "cli/dsectl.h"

#include <stdio.h>
#include <string.h>

static void
print_dpus(json_t *r, json_t *args)
{
    static const char *const h[] = {"DPU",           "VENDOR", "MODEL",
                                    "FIRMWARE",      "STATE",  "INTERNAL-ADDRESS",
                                    "ACTIVE-UPLINK", "ROLE",   "HA-HEALTH"};
    struct table *t = table_create(9, h);
    size_t i;
    json_t *d;
    json_array_foreach (r, i, d) {
        json_t *ha = json_object_get(d, "ha");
        char health[240];
        snprintf(health, sizeof health, "%s%s%s%s",
                 !ha || json_is_null(ha)                        ? "-"
                 : json_is_true(json_object_get(ha, "healthy")) ? "healthy"
                                                                : "unhealthy",
                 json_object_get(ha, "why") ? ": " : "",
                 json_object_get(ha, "why") ? fmt_json(json_object_get(ha, "why")) : "",
                 json_is_true(json_object_get(ha, "fenced")) ? " (fenced)" : "");
        table_add(t, fmt_json(json_object_get(d, "name")), fmt_json(json_object_get(d, "vendor")),
                  fmt_json(json_object_get(d, "model")), fmt_json(json_object_get(d, "firmware")),
                  fmt_json(json_object_get(d, "state")), fmt_json(json_object_get(d, "address")),
                  fmt_json(json_object_get(d, "active_uplink")),
                  ha && !json_is_null(ha) ? fmt_json(json_object_get(ha, "role")) : "-", health);
    }
    table_print(t);
}

static const struct cli_opt stats_opts[] = {
    {"--dpu", "dpu", OPT_STR, false}, {"--watch", "watch", OPT_FLAG, false}, {0}};
void
cli_print_ha(json_t *r, json_t *args)
{
    /* host.info gives null for what does not apply (no active DPU when they
     * are independent, no failover yet) */
    const char *active = json_string_value(json_object_get(r, "active"));
    const char *last = json_string_value(json_object_get(r, "last_failover"));
    const char *none = json_string_value(json_object_get(r, "no_failover"));
    if (!strcmp(fmt_json(json_object_get(r, "mode")), "independent")) {
        printf("DPUs independent, heartbeat every %s ms (health only: no failover, no fencing)\n",
               fmt_json(json_object_get(r, "heartbeat_ms")));
        return;
    }
    printf("DPUs %s%s%s, epoch %s, heartbeat every %s ms (failed after %s ms, a DPU cut off "
           "fences itself after %s ms), failovers %s\n",
           fmt_json(json_object_get(r, "mode")), active ? ", active " : "", active ?: "",
           fmt_json(json_object_get(r, "epoch")), fmt_json(json_object_get(r, "heartbeat_ms")),
           fmt_json(json_object_get(r, "failure_after_ms")),
           fmt_json(json_object_get(r, "fence_ms")), fmt_json(json_object_get(r, "failovers")));
    long fb = (long)json_integer_value(json_object_get(r, "auto_failback_s"));
    if (fb > 0)
        printf("failback: automatic, to %s once it has been healthy for %ld s\n",
               fmt_json(json_object_get(r, "preferred")), fb);
    else
        printf("failback: by hand (dsectl dpu failover --to %s)\n",
               fmt_json(json_object_get(r, "preferred")));
    if (last)
        printf("last failover: %s\n", last);
    if (none)
        printf("%s\n", none);
}

/* dsectl host ha: the "ha" of host.info. */
void
cli_print_host_ha(json_t *r, json_t *args)
{
    json_t *ha = json_object_get(r, "ha");
    if (!ha || json_is_null(ha))
        printf("no DPUs: no high availability\n");
    else
        cli_print_ha(ha, args);
}

static const struct cli_opt failover_opts[] = {{"--to", "to", OPT_STR, true}, {0}};
static const struct cli_cmd cmds[] = {
    {"list", "", "dpu.list", NULL, 0, NULL, print_dpus, NULL},
    {"failover", "--to DPU", "dpu.failover", NULL, 0, failover_opts, cli_print_ha, NULL},
    {"stats", "[--dpu NAME] [--watch]", "dpu.stats", NULL, 0, stats_opts, NULL, cli_dpu_stats},
};
const struct cli_object cli_dpu = CLI_OBJECT("dpu", cmds);
