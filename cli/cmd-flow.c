/* SPDX-License-Identifier: Apache-2.0 */
/* dsectl flow: every flow of the host's DPUs, where it runs (the tier), why, and
 * the firewall rule that decided its last IP frame. */
#include "cli/dsectl.h"

#include <stdio.h>
#include <string.h>

static void
print_flows(json_t *r, json_t *args)
{
    static const char *const h[] = {"DPU",     "WHERE",   "IN-PORT", "VLAN", "SRC", "DST",
                                    "ACTIONS", "PACKETS", "IDLE-MS", "RULE", "WHY"};
    struct table *t = table_create(11, h);
    size_t i;
    json_t *f;
    unsigned n_es = 0, n_sw = 0;
    json_array_foreach (r, i, f) {
        if (json_object_get(f, "error")) {
            table_add(t, fmt_json(json_object_get(f, "dpu")), "-", "-", "-", "-", "-", "-", "-",
                      "-", "-", fmt_json(json_object_get(f, "error")));
            continue;
        }
        const char *where = json_string_value(json_object_get(f, "where"));
        if (where && !strcmp(where, "eswitch"))
            n_es++;
        else
            n_sw++;
        table_add(t, fmt_json(json_object_get(f, "dpu")), where,
                  fmt_json(json_object_get(f, "in_port")), fmt_json(json_object_get(f, "vlan")),
                  fmt_json(json_object_get(f, "src")), fmt_json(json_object_get(f, "dst")),
                  fmt_json(json_object_get(f, "actions")),
                  fmt_count(json_integer_value(json_object_get(f, "packets"))),
                  fmt_json(json_object_get(f, "idle_ms")), fmt_json(json_object_get(f, "rule")),
                  fmt_json(json_object_get(f, "why")));
    }
    table_print(t);
    printf("%u flows in the eswitch, %u recent flows in software\n", n_es, n_sw);
}

static const struct cli_cmd cmds[] = {
    {"list", "", "flow.list", NULL, 0, NULL, print_flows, NULL},
};
const struct cli_object cli_flow = CLI_OBJECT("flow", cmds);
