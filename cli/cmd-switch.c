/* SPDX-License-Identifier: Apache-2.0 */
/* dsectl switch: the host's share of the distributed switch. */
#include "cli/dsectl.h"

#include <stdio.h>
#include <string.h>

static void
print_switch(json_t *r, json_t *args)
{
    printf("host %s  config generation %s  MAC ageing %ss\n", fmt_json(json_object_get(r, "host")),
           fmt_json(json_object_get(r, "config_generation")),
           fmt_json(json_object_get(r, "mac_age_s")));
    const char *name;
    json_t *s;
    json_object_foreach (json_object_get(r, "dpus"), name, s) {
        if (json_object_get(s, "error")) {
            printf("\n%s: %s\n", name, fmt_json(json_object_get(s, "error")));
            continue;
        }
        json_t *team = json_object_get(s, "team"), *mt = json_object_get(s, "mac_table");
        printf("\n%s (%s)  applied generation %s\n", name, fmt_json(json_object_get(s, "dpu")),
               fmt_json(json_object_get(s, "config_generation")));
        printf(
            "  uplinks %s%s: active %s, failovers %s:", fmt_json(json_object_get(team, "policy")),
            json_is_false(json_object_get(team, "failback")) ? " (no failback)" : "",
            fmt_json(json_object_get(team, "active")),
            fmt_json(json_object_get(team, "failovers")));
        size_t i;
        json_t *u;
        json_array_foreach (json_object_get(team, "uplinks"), i, u)
            printf(" %s(%s)", fmt_json(json_object_get(u, "name")),
                   json_is_true(json_object_get(u, "carrier")) ? "up" : "down");
        printf("\n  MAC table: %s entries, %s learned, %s moved, %s aged\n",
               fmt_json(json_object_get(mt, "entries")), fmt_json(json_object_get(mt, "learned")),
               fmt_json(json_object_get(mt, "moved")), fmt_json(json_object_get(mt, "aged")));
        json_t *fc = json_object_get(s, "flow_cache");
        printf("  flow cache: %s hits, %s misses, generation %s\n",
               fmt_json(json_object_get(fc, "hits")), fmt_json(json_object_get(fc, "misses")),
               fmt_json(json_object_get(fc, "generation")));
        json_t *w;
        json_array_foreach (json_object_get(s, "workers"), i, w)
            printf("  worker %s on CPU %s: %s ports, %s frames, %s sleeps (polls %sus when idle)\n",
                   fmt_json(json_object_get(w, "worker")), fmt_json(json_object_get(w, "cpu")),
                   fmt_json(json_object_get(w, "ports")), fmt_json(json_object_get(w, "packets")),
                   fmt_json(json_object_get(w, "sleeps")), fmt_json(json_object_get(s, "poll_us")));
        json_t *es = json_object_get(s, "eswitch");
        if (es)
            printf("  eswitch: xdp%s, last revalidation %s us (workers paused %s us), "
                   "%s flows removed\n",
                   json_is_true(json_object_get(es, "offload")) ? "" : " (slowpath: no offload)",
                   fmt_json(json_object_get(es, "last_revalidation_us")),
                   fmt_json(json_object_get(es, "last_revalidation_paused_us")),
                   fmt_json(json_object_get(es, "last_revalidation_removed")));
        if (!json_array_size(json_object_get(s, "workers")))
            printf("  no workers: ports polled on the control thread\n");
        json_t *pg;
        json_array_foreach (json_object_get(s, "portgroups"), i, pg)
            printf("  portgroup %-16s VLAN %-4s MTU %s\n", fmt_json(json_object_get(pg, "name")),
                   fmt_json(json_object_get(pg, "vlan")), fmt_json(json_object_get(pg, "mtu")));
    }
}

/* switch set: --failback yes|no and --uplink-order A,B as hostd takes them
 * ('args' stays the caller's). */
static int
run_set(struct cli *c, const struct cli_cmd *cmd, json_t *args)
{
    const char *fb = json_string_value(json_object_get(args, "failback"));
    const char *order = json_string_value(json_object_get(args, "uplink_order"));
    if (!json_object_size(args))
        return cli_usage_error("switch", "set: --mac-age, --failback or --uplink-order");
    if (fb && strcmp(fb, "yes") && strcmp(fb, "no"))
        return cli_usage_error("switch", "--failback yes or no, not '%s'", fb);
    if (fb)
        json_object_set_new(args, "failback", json_boolean(!strcmp(fb, "yes")));
    if (order) {
        json_t *list = json_array();
        char buf[256];
        snprintf(buf, sizeof buf, "%s", order);
        for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
            json_array_append_new(list, json_string(t));
        json_object_set_new(args, "uplink_order", list);
    }
    json_t *r = NULL;
    int rc = cli_call(c, cmd->api, json_incref(args), &r); /* 'args' is the caller's */
    json_decref(r);
    return rc;
}

static const struct cli_opt set_opts[] = {{"--mac-age", "mac_age_s", OPT_INT, false},
                                          {"--failback", "failback", OPT_STR, false},
                                          {"--uplink-order", "uplink_order", OPT_STR, false},
                                          {0}};
static const struct cli_cmd cmds[] = {
    {"show", "", "switch.show", NULL, 0, NULL, print_switch, NULL},
    {"set", "[--mac-age SECONDS] [--failback yes|no] [--uplink-order UPLINK,...]", "switch.set",
     NULL, 0, set_opts, NULL, run_set},
};
const struct cli_object cli_switch = CLI_OBJECT("switch", cmds);
