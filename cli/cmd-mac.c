/* SPDX-License-Identifier: Apache-2.0 */
/* dsectl mac: the MAC tables of the host's DPUs. */
#include "cli/dsectl.h"

#include <stdio.h>
#include <string.h>

static void
print_macs(json_t *r, json_t *args)
{
    static const char *const h[] = {"DPU", "VLAN", "MAC", "PORT", "AGE-S"};
    struct table *t = table_create(5, h);
    size_t i;
    json_t *m;
    json_array_foreach (r, i, m) {
        table_add(t, fmt_json(json_object_get(m, "dpu")), fmt_json(json_object_get(m, "vlan")),
                  fmt_json(json_object_get(m, "mac")), fmt_json(json_object_get(m, "port")),
                  json_is_true(json_object_get(m, "static"))
                      ? "static"
                      : fmt_json(json_object_get(m, "age_s")));
    }
    table_print(t);
}

static const struct cli_cmd cmds[] = {
    {"list", "", "mac.list", NULL, 0, NULL, print_macs, NULL},
};
const struct cli_object cli_mac = CLI_OBJECT("mac", cmds);
