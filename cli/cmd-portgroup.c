/* SPDX-License-Identifier: Apache-2.0 */
/* dsectl portgroup: segments of the switch (VLAN, MTU). */
#include "cli/dsectl.h"

#include <stdio.h>
#include <string.h>

static void
print_portgroups(json_t *r, json_t *args)
{
    static const char *const h[] = {"PORTGROUP", "VLAN", "MTU", "VMS"};
    struct table *t = table_create(4, h);
    size_t i, j;
    json_t *pg, *vm;
    json_array_foreach (r, i, pg) {
        char vms[256] = "";
        size_t n = 0;
        json_array_foreach (json_object_get(pg, "vms"), j, vm)
            n += (size_t)snprintf(vms + n, n < sizeof vms ? sizeof vms - n : 0, "%s%s",
                                  j ? "," : "", json_string_value(vm));
        table_add(t, fmt_json(json_object_get(pg, "name")), fmt_json(json_object_get(pg, "vlan")),
                  fmt_json(json_object_get(pg, "mtu")), vms[0] ? vms : "-");
    }
    table_print(t);
}

static const char *const name[] = {"name"};
static const struct cli_opt add_opts[] = {
    {"--vlan", "vlan", OPT_INT, true}, {"--mtu", "mtu", OPT_INT, false}, {0}};
static const struct cli_cmd cmds[] = {
    {"add", "NAME --vlan ID [--mtu BYTES]", "portgroup.add", name, 1, add_opts, NULL, NULL},
    {"list", "", "portgroup.list", NULL, 0, NULL, print_portgroups, NULL},
    {"del", "NAME", "portgroup.del", name, 1, NULL, NULL, NULL},
};
const struct cli_object cli_portgroup = CLI_OBJECT("portgroup", cmds);
