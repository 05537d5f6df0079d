/* SPDX-License-Identifier: Apache-2.0 */
/* dsectl port: switch ports of every DPU, with counters. */
#include "dsectl.h"

#include <stdio.h>
#include <string.h>

static bool show_drops;

static void
print_ports(json_t *r)
{
    static const char *const h[] = {"DPU",     "PORT",    "KIND",    "ROLE",  "PORTGROUP",
                                    "BACKEND", "CARRIER", "RX-PKTS", "TX-PKTS", "DROPS"};
    struct table *t = table_create(10, h);
    size_t i;
    json_t *p;
    json_array_foreach(r, i, p) {
        if (json_object_get(p, "error")) {
            table_add(t, fmt_json(json_object_get(p, "dpu")), "-", "-", "-", "-", "-", "-", "-",
                      "-", fmt_json(json_object_get(p, "error")));
            continue;
        }
        table_add(t, fmt_json(json_object_get(p, "dpu")), fmt_json(json_object_get(p, "name")),
                  fmt_json(json_object_get(p, "kind")), fmt_json(json_object_get(p, "role")),
                  fmt_json(json_object_get(p, "portgroup")), fmt_json(json_object_get(p, "backend")),
                  json_is_true(json_object_get(p, "carrier")) ? "up" : "down",
                  fmt_count(json_integer_value(json_object_get(p, "rx_packets"))),
                  fmt_count(json_integer_value(json_object_get(p, "tx_packets"))),
                  fmt_count(json_integer_value(json_object_get(p, "drops_total"))));
    }
    table_print(t);
    if (!show_drops)
        return;
    printf("\ndrops by reason:\n");
    json_array_foreach(r, i, p) {
        const char *reason;
        json_t *n;
        json_object_foreach(json_object_get(p, "drops"), reason, n)
            if (json_integer_value(n))
                printf("  %s %s %s %lld\n", fmt_json(json_object_get(p, "dpu")),
                       fmt_json(json_object_get(p, "name")), reason,
                       (long long)json_integer_value(n));
    }
}

static int
port_run(struct cli *cli, int argc, char **argv)
{
    if (strcmp(argv[0], "list"))
        return cli_usage_error("port", "unknown command '%s'", argv[0]);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--drops"))
            return cli_usage_error("port", "list: unexpected argument '%s'", argv[i]);
        show_drops = true;
    }
    return cli_run(cli, "port.list", json_object(), print_ports);
}

const struct cli_object cli_port = {"port", "list [--drops]", port_run};
