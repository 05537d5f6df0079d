/* SPDX-License-Identifier: Apache-2.0 */
/* dsectl vm: lab VMs and their vNICs. */
#include "dsectl.h"

#include <stdio.h>
#include <string.h>

static void
print_vms(json_t *r)
{
    static const char *const h[] = {"VM", "PORTGROUP", "MAC", "IP", "DPU", "PORT"};
    struct table *t = table_create(6, h);
    size_t i;
    json_t *v;
    json_array_foreach(r, i, v) {
        table_add(t, fmt_json(json_object_get(v, "name")), fmt_json(json_object_get(v, "portgroup")),
                  fmt_json(json_object_get(v, "mac")), fmt_json(json_object_get(v, "ip")),
                  fmt_json(json_object_get(v, "dpu")), fmt_json(json_object_get(v, "port")));
    }
    table_print(t);
}

static void
print_added(json_t *v)
{
    printf("vm %s: mac %s, portgroup %s, on %s\n", fmt_json(json_object_get(v, "name")),
           fmt_json(json_object_get(v, "mac")), fmt_json(json_object_get(v, "portgroup")),
           fmt_json(json_object_get(v, "dpu")));
}

static int
vm_run(struct cli *cli, int argc, char **argv)
{
    static const char *const name[] = {"name"};
    static const struct cli_opt add_opts[] = {{"--portgroup", "portgroup", OPT_STR, true},
                                              {"--ip", "ip", OPT_STR, false},
                                              {"--mac", "mac", OPT_STR, false},
                                              {"--dpu", "dpu", OPT_STR, false},
                                              {0}};
    json_t *args = json_object();
    int rc;
    if (!strcmp(argv[0], "add")) {
        if ((rc = cli_parse("vm", argc, argv, name, 1, add_opts, args)))
            goto usage;
        return cli_run(cli, "vm.add", args, print_added);
    }
    if (!strcmp(argv[0], "list")) {
        if ((rc = cli_parse("vm", argc, argv, NULL, 0, NULL, args)))
            goto usage;
        return cli_run(cli, "vm.list", args, print_vms);
    }
    if (!strcmp(argv[0], "del")) {
        if ((rc = cli_parse("vm", argc, argv, name, 1, NULL, args)))
            goto usage;
        return cli_run(cli, "vm.del", args, NULL);
    }
    rc = cli_usage_error("vm", "unknown command '%s'", argv[0]);
usage:
    json_decref(args);
    return rc;
}

const struct cli_object cli_vm = {
    "vm", "add NAME --portgroup PG [--ip ADDR/LEN] [--mac MAC] [--dpu DPU]\nlist\ndel NAME",
    vm_run};
