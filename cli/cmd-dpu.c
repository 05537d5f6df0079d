/* SPDX-License-Identifier: Apache-2.0 */
/* dsectl dpu: the host's DPUs. */
#include "dsectl.h"

#include <string.h>

static void
print_dpus(json_t *r)
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

static int
dpu_run(struct cli *cli, int argc, char **argv)
{
    if (!strcmp(argv[0], "list")) {
        json_t *args = json_object();
        int rc = cli_parse("dpu", argc, argv, NULL, 0, NULL, args);
        if (rc) {
            json_decref(args);
            return rc;
        }
        return cli_run(cli, "dpu.list", args, print_dpus);
    }
    return cli_usage_error("dpu", "unknown command '%s'", argv[0]);
}

const struct cli_object cli_dpu = {"dpu", "list", dpu_run};
