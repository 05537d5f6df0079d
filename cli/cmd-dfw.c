/* SPDX-License-Identifier: Apache-2.0 */
/* dsectl dfw: the host's firewall policy (docs/dfw.md), its counters and
 * its connections, per DPU. */
#include "cli/dsectl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

/* dfw set FILE ('-': standard input): the policy, as JSON. */
static int
run_set(struct cli *c, const struct cli_cmd *cmd, json_t *args)
{
    const char *file = json_string_value(json_object_get(args, "file"));
    json_error_t je;
    json_t *policy = !strcmp(file, "-") ? json_loadf(stdin, 0, &je) : json_load_file(file, 0, &je);
    if (!policy) {
        fprintf(stderr, "dsectl: dfw set: %s: %s (line %d)\n", file, je.text, je.line);
        return EXIT_FAILED;
    }
    json_t *r = NULL;
    int rc = cli_call(c, "dfw.set", json_pack("{s:o}", "policy", policy), &r);
    if (rc == EXIT_OK && c->json)
        cli_print_json(r);
    else if (rc == EXIT_OK)
        printf("policy %.12s set: %s rules\n", fmt_json(json_object_get(r, "digest")),
               fmt_json(json_object_get(r, "rules")));
    json_decref(r);
    return rc;
}

static int
run_off(struct cli *c, const struct cli_cmd *cmd, json_t *args)
{
    json_t *r = NULL;
    int rc = cli_call(c, "dfw.set", json_pack("{s:n}", "policy"), &r);
    if (rc == EXIT_OK)
        printf("firewall off\n");
    json_decref(r);
    return rc;
}

/* A list of names as "a,b", or "any". */
static const char *
names(json_t *a)
{
    static char buf[4][256];
    static int k;
    char *b = buf[k++ % 4];
    size_t i, n = 0;
    json_t *e;
    b[0] = 0;
    json_array_foreach (a, i, e)
        n += (size_t)snprintf(b + (n < 256 ? n : 255), n < 256 ? 256 - n : 1, "%s%s", i ? "," : "",
                              json_string_value(e));
    return b[0] ? b : "any";
}

static void
print_show(json_t *r, json_t *args)
{
    json_t *p = json_object_get(r, "policy");
    if (json_is_null(p) || !p) {
        printf("firewall off: every frame passes\n");
        return;
    }
    printf("policy %.12s: %zu groups, %zu services, %zu rules, default %s\n",
           fmt_json(json_object_get(r, "digest")), json_array_size(json_object_get(p, "groups")),
           json_array_size(json_object_get(p, "services")),
           json_array_size(json_object_get(p, "rules")),
           json_object_get(p, "default") ? fmt_json(json_object_get(p, "default")) : "allow");
    static const char *const h[] = {"RULE",       "SRC", "DST",   "SERVICES",
                                    "APPLIED-TO", "DIR", "ACTION"};
    struct table *t = table_create(7, h);
    size_t i;
    json_t *e;
    json_array_foreach (json_object_get(p, "rules"), i, e) {
        json_t *dir = json_object_get(e, "direction");
        table_add(t, fmt_json(json_object_get(e, "name")), names(json_object_get(e, "src")),
                  names(json_object_get(e, "dst")), names(json_object_get(e, "services")),
                  names(json_object_get(e, "applied_to")), dir ? json_string_value(dir) : "inout",
                  fmt_json(json_object_get(e, "action")));
    }
    table_print(t);
}

/* The pair's sync (hostd's dfw.stats "sync"; null without two DPUs). */
static void
print_sync(json_t *s)
{
    const char *state = json_string_value(json_object_get(s, "state"));
    json_t *why = json_object_get(s, "why");
    if (!state)
        return;
    if (strcmp(state, "syncing")) {
        printf("sync: %s%s%s%s\n", state, why ? " (" : "", why ? json_string_value(why) : "",
               why ? ")" : "");
        if (!json_object_get(s, "last_sync_age_ms"))
            return;
    }
    printf("sync %s -> %s every %s ms: last %s ms ago, %s connections in %s us; %s synced in %s "
           "rounds, %s full\n",
           fmt_json(json_object_get(s, "from")), fmt_json(json_object_get(s, "to")),
           fmt_json(json_object_get(s, "interval_ms")),
           fmt_json(json_object_get(s, "last_sync_age_ms")),
           fmt_json(json_object_get(s, "last_conns")), fmt_json(json_object_get(s, "last_took_us")),
           fmt_json(json_object_get(s, "conns_synced")), fmt_json(json_object_get(s, "rounds")),
           fmt_json(json_object_get(s, "full_syncs")));
}

static void
print_stats(json_t *r, json_t *args)
{
    const char *dpu;
    json_t *s;
    json_object_foreach (json_object_get(r, "dpus"), dpu, s) {
        if (json_object_get(s, "error")) {
            printf("%s: %s\n", dpu, fmt_json(json_object_get(s, "error")));
            continue;
        }
        if (!json_is_true(json_object_get(s, "enabled"))) {
            printf("%s: firewall off\n", dpu);
            continue;
        }
        json_t *d = json_object_get(s, "drops");
        printf("%s: policy %.12s, %s of %s connections, %s table-full drops, %s ended by a policy "
               "change\n  drops: %s policy, %s invalid, %s fragments, %s bad IP\n",
               dpu, fmt_json(json_object_get(s, "digest")), fmt_json(json_object_get(s, "conns")),
               fmt_json(json_object_get(s, "conn_max")), fmt_json(json_object_get(s, "table_full")),
               fmt_json(json_object_get(s, "conns_removed")),
               fmt_json(json_object_get(d, "policy")), fmt_json(json_object_get(d, "ct_invalid")),
               fmt_json(json_object_get(d, "fragment")), fmt_json(json_object_get(d, "bad_ip")));
        static const char *const h[] = {"RULE", "ACTION", "PACKETS", "BYTES", "SESSIONS"};
        struct table *t = table_create(5, h);
        size_t i;
        json_t *e;
        json_array_foreach (json_object_get(s, "rules"), i, e)
            table_add(
                t, fmt_json(json_object_get(e, "name")), fmt_json(json_object_get(e, "action")),
                fmt_json(json_object_get(e, "packets")), fmt_json(json_object_get(e, "bytes")),
                fmt_json(json_object_get(e, "sessions")));
        table_print(t);
    }
    print_sync(json_object_get(r, "sync"));
}

static const char *
proto_name(json_t *p)
{
    switch (json_integer_value(p)) {
    case 6:
        return "tcp";
    case 17:
        return "udp";
    case 1:
        return "icmp";
    case 58:
        return "icmpv6";
    default:
        return fmt_json(p);
    }
}

static void
print_conns(json_t *r, json_t *args)
{
    static const char *const h[] = {"DPU",   "PROTO", "SOURCE",  "DESTINATION", "VLAN",
                                    "STATE", "RULE",  "PACKETS", "BYTES",       "TIER"};
    struct table *t = table_create(10, h);
    const char *dpu;
    json_t *s, *c;
    size_t i;
    json_object_foreach (json_object_get(r, "dpus"), dpu, s) {
        json_array_foreach (json_object_get(s, "conns"), i, c) {
            char src[80], dst[80], pk[48], by[48];
            snprintf(src, sizeof src, "%s:%s", fmt_json(json_object_get(c, "src")),
                     fmt_json(json_object_get(c, "sport")));
            snprintf(dst, sizeof dst, "%s:%s", fmt_json(json_object_get(c, "dst")),
                     fmt_json(json_object_get(c, "dport")));
            json_t *p = json_object_get(c, "packets"), *b = json_object_get(c, "bytes");
            snprintf(pk, sizeof pk, "%s/%s", fmt_json(json_array_get(p, 0)),
                     fmt_json(json_array_get(p, 1)));
            snprintf(by, sizeof by, "%s/%s", fmt_json(json_array_get(b, 0)),
                     fmt_json(json_array_get(b, 1)));
            table_add(t, dpu, proto_name(json_object_get(c, "proto")), src, dst,
                      fmt_json(json_object_get(c, "vlan")), fmt_json(json_object_get(c, "state")),
                      fmt_json(json_object_get(c, "rule")), pk, by,
                      fmt_json(json_object_get(c, "tier")));
        }
        if (json_object_get(s, "error"))
            fprintf(stderr, "%s: %s\n", dpu, fmt_json(json_object_get(s, "error")));
    }
    table_print(t);
}

static const struct cli_opt conn_opts[] = {{"--vm", "vm", OPT_STR, false}, {0}};
static const struct cli_cmd conn_cmds[] = {
    {"list", "[--vm NAME]", "dfw.conn.list", NULL, 0, conn_opts, print_conns, NULL},
};
static const struct cli_object cli_dfw_conn = CLI_OBJECT("dfw conn", conn_cmds);

static int
run_conn(struct cli *c, const struct cli_cmd *cmd, json_t *args)
{
    return cli_object_run_sub(c, &cli_dfw_conn, args);
}

static const char *const file_pos[] = {"file"};
static const struct cli_cmd cmds[] = {
    {"set", "FILE.json (- : standard input)", "dfw.set", file_pos, 1, NULL, NULL, run_set},
    {"off", "", "dfw.set", NULL, 0, NULL, NULL, run_off},
    {"show", "", "dfw.show", NULL, 0, NULL, print_show, NULL},
    {"stats", "", "dfw.stats", NULL, 0, NULL, print_stats, NULL},
    {"conn", "list [--vm NAME]", NULL, NULL, -1, NULL, NULL, run_conn},
};
const struct cli_object cli_dfw = CLI_OBJECT("dfw", cmds);
