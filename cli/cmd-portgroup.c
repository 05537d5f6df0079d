/* SPDX-License-Identifier: Apache-2.0 */
/* dsectl portgroup: segments of the switch (VLAN, MTU). */
#include "dsectl.h"

#include <stdio.h>
#include <string.h>

static void
print_portgroups(json_t *r)
{
    static const char *const h[] = {"PORTGROUP", "VLAN", "MTU", "VMS"};
    struct table *t = table_create(4, h);
    size_t i, j;
    json_t *pg, *vm;
    json_array_foreach(r, i, pg) {
        char vms[256] = "";
        size_t n = 0;
        json_array_foreach(json_object_get(pg, "vms"), j, vm)
            n += (size_t)snprintf(vms + n, n < sizeof vms ? sizeof vms - n : 0, "%s%s",
                                  j ? "," : "", json_string_value(vm));
        table_add(t, fmt_json(json_object_get(pg, "name")), fmt_json(json_object_get(pg, "vlan")),
                  fmt_json(json_object_get(pg, "mtu")), vms[0] ? vms : "-");
    }
    table_print(t);
}

static int
portgroup_run(struct cli *cli, int argc, char **argv)
{
    static const char *const name[] = {"name"};
    static const struct cli_opt add_opts[] = {
        {"--vlan", "vlan", OPT_INT, true}, {"--mtu", "mtu", OPT_INT, false}, {0}};
    json_t *args = json_object();
    int rc;
    if (!strcmp(argv[0], "add")) {
        if ((rc = cli_parse("portgroup", argc, argv, name, 1, add_opts, args)))
            goto usage;
        return cli_run(cli, "portgroup.add", args, NULL);
    }
    if (!strcmp(argv[0], "list")) {
        if ((rc = cli_parse("portgroup", argc, argv, NULL, 0, NULL, args)))
            goto usage;
        return cli_run(cli, "portgroup.list", args, print_portgroups);
    }
    if (!strcmp(argv[0], "del")) {
        if ((rc = cli_parse("portgroup", argc, argv, name, 1, NULL, args)))
            goto usage;
        return cli_run(cli, "portgroup.del", args, NULL);
    }
    rc = cli_usage_error("portgroup", "unknown command '%s'", argv[0]);
usage:
    json_decref(args);
    return rc;
}

const struct cli_object cli_portgroup = {
    "portgroup", "add NAME --vlan ID [--mtu BYTES]\nlist\ndel NAME", portgroup_run};
