/* SPDX-License-Identifier: Apache-2.0 */
/* dsectl port: switch ports of every DPU, with counters. */
#include "cli/dsectl.h"

#include <stdio.h>
#include <string.h>

static void
print_ports(json_t *r, json_t *args)
{
    static const char *const h[] = {"DPU",       "PORT",    "KIND",    "ROLE",
                                    "PORTGROUP", "BACKEND", "ESWITCH", "CARRIER",
                                    "RX-PKTS",   "TX-PKTS", "DROPS"};
    struct table *t = table_create(11, h);
    size_t i;
    json_t *p;
    json_array_foreach (r, i, p) {
        if (json_object_get(p, "error")) {
            table_add(t, fmt_json(json_object_get(p, "dpu")), "-", "-", "-", "-", "-", "-", "-",
                      "-", "-", fmt_json(json_object_get(p, "error")));
            continue;
        }
        table_add(t, fmt_json(json_object_get(p, "dpu")), fmt_json(json_object_get(p, "name")),
                  fmt_json(json_object_get(p, "kind")), fmt_json(json_object_get(p, "role")),
                  fmt_json(json_object_get(p, "portgroup")),
                  fmt_json(json_object_get(p, "backend")), fmt_json(json_object_get(p, "eswitch")),
                  json_is_true(json_object_get(p, "carrier")) ? "up" : "down",
                  fmt_count(json_integer_value(json_object_get(p, "rx_packets"))),
                  fmt_count(json_integer_value(json_object_get(p, "tx_packets"))),
                  fmt_count(json_integer_value(json_object_get(p, "drops_total"))));
    }
    table_print(t);
    bool first = true;
    json_array_foreach (r, i, p) {
        json_t *v = json_object_get(p, "vhost");
        if (!v)
            continue;
        if (first)
            printf("\nvhost-user ports:\n");
        first = false;
        json_t *rings = json_object_get(v, "rings");
        bool connects = !strcmp(fmt_json(json_object_get(v, "mode")), "client");
        printf("  %s %s  socket %s%s  front-end %s", fmt_json(json_object_get(p, "dpu")),
               fmt_json(json_object_get(p, "name")), fmt_json(json_object_get(v, "socket")),
               connects ? " (dpud connects)" : "",
               json_is_true(json_object_get(v, "attached")) ? "attached"
               : connects                                   ? "none (connecting)"
                                                            : "none (listening)");
        if (json_is_true(json_object_get(v, "attached")))
            printf(
                "  features %s%s  rings rx %s%s tx %s%s", fmt_json(json_object_get(v, "features")),
                json_is_true(json_object_get(v, "mrg_rxbuf")) ? " (mrg_rxbuf)" : "",
                fmt_json(json_object_get(json_array_get(rings, 0), "size")),
                json_is_true(json_object_get(json_array_get(rings, 0), "running")) ? ""
                                                                                   : " (stopped)",
                fmt_json(json_object_get(json_array_get(rings, 1), "size")),
                json_is_true(json_object_get(json_array_get(rings, 1), "running")) ? ""
                                                                                   : " (stopped)");
        printf("\n");
    }
    if (!json_is_true(json_object_get(args, "drops")))
        return;
    printf("\ndrops by reason:\n");
    json_array_foreach (r, i, p) {
        const char *reason;
        json_t *n;
        json_object_foreach (json_object_get(p, "drops"), reason, n)
            if (json_integer_value(n))
                printf("  %s %s %s %lld\n", fmt_json(json_object_get(p, "dpu")),
                       fmt_json(json_object_get(p, "name")), reason,
                       (long long)json_integer_value(n));
    }
}

static void
print_added(json_t *p, json_t *args)
{
    printf("port %s: vhost-user, portgroup %s, on %s\n", fmt_json(json_object_get(p, "name")),
           fmt_json(json_object_get(p, "portgroup")), fmt_json(json_object_get(p, "dpu")));
}

static const char *const name[] = {"name"};
static const struct cli_opt list_opts[] = {{"--drops", "drops", OPT_FLAG, false}, {0}};
static const struct cli_opt add_opts[] = {{"--portgroup", "portgroup", OPT_STR, true},
                                          {"--vhost-user", "vhost_user", OPT_FLAG, true},
                                          {"--connect", "connect", OPT_STR, false},
                                          {"--dpu", "dpu", OPT_STR, false},
                                          {0}};
static const struct cli_cmd cmds[] = {
    {"list", "[--drops]", "port.list", NULL, 0, list_opts, print_ports, NULL},
    {"add", "NAME --portgroup PG --vhost-user [--connect SOCKET] [--dpu DPU]", "port.add", name, 1,
     add_opts, print_added, NULL},
    {"del", "NAME", "port.del", name, 1, NULL, NULL, NULL},
};
const struct cli_object cli_port = CLI_OBJECT("port", cmds);
