/* SPDX-License-Identifier: Apache-2.0 */
/* dsectl vm: lab VMs and their vNICs. */
#include "cli/dsectl.h"

#include <stdio.h>
#include <string.h>

static void
print_vms(json_t *r, json_t *args)
{
    static const char *const h[] = {"VM", "KIND", "PORTGROUP", "MAC", "IP", "DPU", "PORT"};
    struct table *t = table_create(7, h);
    size_t i;
    json_t *v;
    json_array_foreach (r, i, v) {
        const char *kind = json_string_value(json_object_get(v, "kind"));
        const char *accel = json_string_value(json_object_get(v, "accel"));
        char k[32];
        /* "qemu/tcg": how the guest runs, without the probe's reason. */
        snprintf(k, sizeof k, "%s%s%.*s", kind ? kind : "netns", accel ? "/" : "",
                 accel ? (int)strcspn(accel, ":") : 0, accel ? accel : "");
        table_add(t, fmt_json(json_object_get(v, "name")), k,
                  fmt_json(json_object_get(v, "portgroup")), fmt_json(json_object_get(v, "mac")),
                  fmt_json(json_object_get(v, "ip")), fmt_json(json_object_get(v, "dpu")),
                  fmt_json(json_object_get(v, "port")));
    }
    table_print(t);
}

static void
print_added(json_t *v, json_t *args)
{
    printf("vm %s: mac %s, portgroup %s, on %s\n", fmt_json(json_object_get(v, "name")),
           fmt_json(json_object_get(v, "mac")), fmt_json(json_object_get(v, "portgroup")),
           fmt_json(json_object_get(v, "dpu")));
    if (json_object_get(v, "accel"))
        printf("vm %s: QEMU guest, %u MiB, %s\n", fmt_json(json_object_get(v, "name")),
               (unsigned)json_integer_value(json_object_get(v, "mem_mib")),
               json_string_value(json_object_get(v, "accel")));
}

static const char *const name[] = {"name"};
static const struct cli_opt add_opts[] = {{"--portgroup", "portgroup", OPT_STR, true},
                                          {"--ip", "ip", OPT_STR, false},
                                          {"--mac", "mac", OPT_STR, false},
                                          {"--dpu", "dpu", OPT_STR, false},
                                          {"--kind", "kind", OPT_STR, false},
                                          {"--mem", "mem_mib", OPT_INT, false},
                                          {"--incoming", "incoming", OPT_INT, false},
                                          {0}};
static const struct cli_opt migrate_opts[] = {{"--to", "to", OPT_STR, true},
                                              {"--port", "port", OPT_INT, true},
                                              {"--bandwidth", "bandwidth_mib", OPT_INT, false},
                                              {0}};

static void
print_migrated(json_t *v, json_t *args)
{
    json_t *m = json_object_get(v, "migration");
    json_t *down = json_object_get(m, "downtime_ms");
    char dt[48] = "downtime not measured by QEMU";
    if (json_is_integer(down))
        snprintf(dt, sizeof dt, "downtime %lld ms", (long long)json_integer_value(down));
    printf("vm %s: migrated to %s in %lld ms (%s, %.1f MiB of memory sent)\n",
           fmt_json(json_object_get(v, "name")), fmt_json(json_object_get(v, "to")),
           (long long)json_integer_value(json_object_get(m, "total_time_ms")), dt,
           (double)json_integer_value(json_object_get(m, "ram_transferred_bytes")) / (1 << 20));
}
static const struct cli_cmd cmds[] = {
    {"add",
     "NAME --portgroup PG [--ip ADDR/LEN] [--mac MAC] [--dpu DPU] [--kind netns|qemu] [--mem MIB] "
     "[--incoming PORT]",
     "vm.add", name, 1, add_opts, print_added, NULL},
    {"list", "", "vm.list", NULL, 0, NULL, print_vms, NULL},
    {"del", "NAME", "vm.del", name, 1, NULL, NULL, NULL},
    {"migrate", "NAME --to HOST --port PORT [--bandwidth MIB]", "vm.migrate", name, 1, migrate_opts,
     print_migrated, NULL},
};
const struct cli_object cli_vm = CLI_OBJECT("vm", cmds);
