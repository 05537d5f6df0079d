/* SPDX-License-Identifier: Apache-2.0 */
/* dsectl dpu: the host's DPUs. */
#include "dsectl.h"

#include <string.h>

static void
print_dpus(json_t *r, json_t *args)
{
    static const char *const h[] = {"DPU", "VENDOR", "MODEL", "FIRMWARE", "STATE",
                                    "INTERNAL-ADDRESS", "ACTIVE-UPLINK"};
    struct table *t = table_create(7, h);
    size_t i;
    json_t *d;
    json_array_foreach(r, i, d) {
        table_add(t, fmt_json(json_object_get(d, "name")), fmt_json(json_object_get(d, "vendor")),
                  fmt_json(json_object_get(d, "model")), fmt_json(json_object_get(d, "firmware")),
                  fmt_json(json_object_get(d, "state")), fmt_json(json_object_get(d, "address")),
                  fmt_json(json_object_get(d, "active_uplink")));
    }
    table_print(t);
}

static const struct cli_opt stats_opts[] = {{"--dpu", "dpu", OPT_STR, false},
                                            {"--watch", "watch", OPT_FLAG, false},
                                            {0}};
static const struct cli_cmd cmds[] = {
    {"list", "", "dpu.list", NULL, 0, NULL, print_dpus, NULL},
    {"stats", "[--dpu NAME] [--watch]", "dpu.stats", NULL, 0, stats_opts, NULL, cli_dpu_stats},
};
const struct cli_object cli_dpu = CLI_OBJECT("dpu", cmds);
