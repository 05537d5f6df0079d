/* SPDX-License-Identifier: Apache-2.0 */
/* dsectl mac: the MAC tables of the host's DPUs. */
#include "dsectl.h"

#include <stdio.h>
#include <string.h>

static void
print_macs(json_t *r)
{
    static const char *const h[] = {"DPU", "VLAN", "MAC", "PORT", "AGE-S"};
    struct table *t = table_create(5, h);
    size_t i;
    json_t *m;
    json_array_foreach(r, i, m) {
        table_add(t, fmt_json(json_object_get(m, "dpu")), fmt_json(json_object_get(m, "vlan")),
                  fmt_json(json_object_get(m, "mac")), fmt_json(json_object_get(m, "port")),
                  json_is_true(json_object_get(m, "static")) ? "static"
                                                            : fmt_json(json_object_get(m, "age_s")));
    }
    table_print(t);
}

static int
mac_run(struct cli *cli, int argc, char **argv)
{
    if (strcmp(argv[0], "list"))
        return cli_usage_error("mac", "unknown command '%s'", argv[0]);
    json_t *args = json_object();
    int rc = cli_parse("mac", argc, argv, NULL, 0, NULL, args);
    if (rc) {
        json_decref(args);
        return rc;
    }
    return cli_run(cli, "mac.list", args, print_macs);
}

const struct cli_object cli_mac = {"mac", "list", mac_run};
