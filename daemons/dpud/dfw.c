/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dpud's firewall: the policy config.apply carries ("dfw": docs/dfw.md),
 * compiled before anything of the config changes and put in force after
 * the portgroups; and what it shows (dfw.check, dfw.stats, dfw.conn.list);
 * its connection table carried to the standby DPU (dfw.conn.export and
 * dfw.conn.import: dataplane/dfw-sync.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "daemons/dpud/dpud.h"
#include "dataplane/dfw-sync.h"
#include "dataplane/dfw.h"
#include "lib/authz.h"
#include "lib/log.h"
#include "lib/util.h"

LOG_MODULE(dpud);

int
dpud_dfw_prepare(struct dpud *d, json_t *cfg, struct dfw_policy **pol, bool *change, char *err,
                 size_t err_len)
{
    json_t *doc = json_object_get(cfg, "dfw");
    char dg[JSON_DIGEST_HEX] = "";
    *pol = NULL;
    if (doc && !json_is_null(doc) && json_digest(doc, dg) < 0)
        return err_set(err, err_len, -ENOMEM, "dfw: out of memory");
    *change = strcmp(dg, d->dfw_digest) != 0;
    if (!*change || !dg[0])
        return 0;
    char why[ERR_LEN];
    int rc = dfw_policy_compile(doc, pol, why, sizeof why);
    return rc < 0 ? err_set(err, err_len, rc, "dfw: %s", why) : 0;
}

void
dpud_dfw_apply(struct dpud *d, json_t *cfg, struct dfw_policy *pol, json_t *errors)
{
    uint64_t t0 = now_ns();
    size_t n = pol ? dfw_policy_rules(pol) : 0;
    if (sw_dfw_set(d->sw, pol) < 0) {
        json_array_append_new(errors, json_string("dfw: out of memory: the policy in force stays"));
        return;
    }
    json_t *doc = json_object_get(cfg, "dfw");
    if (!pol || json_digest(doc, d->dfw_digest) < 0)
        d->dfw_digest[0] = 0;
    d->dfw_apply_us = (now_ns() - t0) / 1000;
    if (pol)
        log_info("dfw: policy %.12s in force: %zu rules, applied in %llu us", d->dfw_digest, n,
                 (unsigned long long)d->dfw_apply_us);
    else
        log_info("dfw: off");
}

static int
cmd_dfw_check(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct dfw_policy *pol;
    int rc = dfw_policy_compile(json_object_get(args, "policy"), &pol, err, err_len);
    if (rc < 0)
        return rc;
    *result = json_pack("{s:I}", "rules", (json_int_t)dfw_policy_rules(pol));
    dfw_policy_free(pol);
    return 0;
}

/* The firewall's drops, summed over the ports. */
static json_t *
dfw_drops(struct dpud *d)
{
    static const enum drop_reason reasons[] = {DROP_BAD_IP, DROP_FRAGMENT, DROP_CT_INVALID,
                                               DROP_CT_FULL, DROP_POLICY};
    uint64_t sum[ARRAY_SIZE(reasons)] = {0};
    for (unsigned id = 0; id < SW_MAX_PORTS; id++) {
        struct sw_port_stats s;
        if (!sw_port_at(d->sw, id))
            continue;
        sw_port_stats(d->sw, id, &s);
        for (size_t r = 0; r < ARRAY_SIZE(reasons); r++)
            sum[r] += s.drops[reasons[r]];
    }
    json_t *o = json_object();
    for (size_t r = 0; r < ARRAY_SIZE(reasons); r++)
        json_object_set_new(o, drop_reason_name(reasons[r]), json_integer((json_int_t)sum[r]));
    return o;
}

static json_t *sync_json(const struct dpud *d);

static int
cmd_dfw_stats(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct dpud *d = ctx->aux;
    struct dfw *fw = sw_dfw(d->sw);
    json_t *rules = json_array();
    for (uint32_t i = 0; fw && i <= dfw_policy_rules(fw->pol); i++) {
        struct dfw_counts c;
        dfw_rule_counts(fw->pol, i, &c);
        json_array_append_new(
            rules, json_pack("{s:s,s:s,s:I,s:I,s:I}", "name", dfw_rule_name(fw->pol, i), "action",
                             i < dfw_policy_rules(fw->pol)
                                 ? dfw_action_name(dfw_rule_action(fw->pol, i))
                                 : dfw_action_name(dfw_policy_default(fw->pol, NULL)),
                             "packets", (json_int_t)c.packets, "bytes", (json_int_t)c.bytes,
                             "sessions", (json_int_t)c.sessions));
    }
    *result = json_pack("{s:b,s:s?,s:I,s:I,s:I,s:I,s:I,s:o,s:o}", "enabled", fw != NULL, "digest",
                        fw ? d->dfw_digest : NULL, "conns", (json_int_t)(fw ? ct_count(fw->ct) : 0),
                        "conn_max", (json_int_t)(fw ? ct_max(fw->ct) : 0), "conns_removed",
                        (json_int_t)(fw ? fw->removed : 0), "table_full",
                        (json_int_t)(fw ? ct_full_drops(fw->ct) : 0), "apply_us",
                        (json_int_t)d->dfw_apply_us, "drops", dfw_drops(d), "rules", rules);
    json_object_set_new(*result, "sync", sync_json(d));
    return 0;
}

/* ---- the connection table ---- */

#define CONN_LIST_MAX 10000

struct conn_list {
    const struct dfw *fw;
    json_t *a;
    uint8_t mac[6];
    bool by_mac;
    uint64_t now_ms;
    size_t skipped;
};

static const char *
tcp_state_name(enum ct_tcp_state s)
{
    static const char *const names[] = {"-",        "syn_sent", "syn_recv",  "established",
                                        "fin_wait", "closing",  "time_wait", "closed"};
    return (unsigned)s < ARRAY_SIZE(names) ? names[s] : "?";
}

static void
conn_json(const struct ct_conn *c, void *aux)
{
    struct conn_list *l = aux;
    if (l->by_mac && memcmp(c->mac[0], l->mac, 6) && memcmp(c->mac[1], l->mac, 6))
        return;
    if (json_array_size(l->a) >= CONN_LIST_MAX) {
        l->skipped++;
        return;
    }
    char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
    int af = c->key.family == 4 ? AF_INET : AF_INET6;
    inet_ntop(af, c->key.src, src, sizeof src);
    inet_ntop(af, c->key.dst, dst, sizeof dst);
    json_array_append_new(
        l->a, json_pack("{s:i,s:s,s:i,s:s,s:i,s:i,s:s,s:s,s:[I,I],s:[I,I],s:I,s:s}", "proto",
                        c->key.proto, "src", src, "sport", c->key.sport, "dst", dst, "dport",
                        c->key.dport, "vlan", c->key.zone, "state", tcp_state_name(c->tcp), "rule",
                        dfw_rule_name(l->fw->pol, c->rule), "packets", (json_int_t)c->packets[0],
                        (json_int_t)c->packets[1], "bytes", (json_int_t)c->bytes[0],
                        (json_int_t)c->bytes[1], "expires_ms",
                        (json_int_t)(c->expires_ms > l->now_ms ? c->expires_ms - l->now_ms : 0),
                        "tier", c->offloaded ? "eswitch" : "software"));
}

static int
cmd_dfw_conn_list(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct dpud *d = ctx->aux;
    struct dfw *fw = sw_dfw(d->sw);
    const char *mac = NULL;
    struct conn_list l = {.fw = fw, .a = json_array(), .now_ms = now_ms()};
    if (cmd_arg_str_opt(args, "mac", &mac, err, err_len) < 0) {
        json_decref(l.a);
        return -EINVAL;
    }
    if (mac && !(l.by_mac = mac_parse(mac, l.mac))) {
        json_decref(l.a);
        return err_set(err, err_len, -EINVAL, "'%s' is no MAC address", mac);
    }
    if (fw)
        ct_foreach(fw->ct, conn_json, &l);
    *result = json_pack("{s:o,s:I}", "conns", l.a, "not_shown", (json_int_t)l.skipped);
    return 0;
}

/* ---- the table carried to the standby (HA) ---- */

static json_t *
sync_json(const struct dpud *d)
{
    const struct dfw_sync_counts *n = &d->dfw_sync;
    return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I}", "exported", (json_int_t)d->dfw_exported,
                     "imported", (json_int_t)n->imported, "malformed", (json_int_t)n->malformed,
                     "no_rule", (json_int_t)n->no_rule, "not_allowed", (json_int_t)n->not_allowed,
                     "table_full", (json_int_t)n->table_full);
}

static int
cmd_dfw_conn_export(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct dpud *d = ctx->aux;
    struct dfw *fw = sw_dfw(d->sw);
    const char *since = NULL, *mac = NULL;
    long max = DFW_SYNC_PAGE;
    uint8_t m[6];
    if (cmd_arg_str_opt(args, "since", &since, err, err_len) < 0 ||
        cmd_arg_int_opt(args, "max", 1, 65536, &max, err, err_len) < 0 ||
        cmd_arg_str_opt(args, "mac", &mac, err, err_len) < 0)
        return -EINVAL;
    if (mac && !mac_parse(mac, m))
        return err_set(err, err_len, -EINVAL, "bad MAC '%s'", mac);
    if (!fw) { /* nothing to carry */
        *result = json_pack("{s:s,s:b,s:b,s:b,s:[],s:[]}", "cursor", "", "full", 1, "more", 0,
                            "enabled", 0, "rules", "conns");
        return 0;
    }
    int rc =
        dfw_sync_export_mac(fw, since, (size_t)max, mac ? m : NULL, now_ms(), result, err, err_len);
    if (rc == 0)
        d->dfw_exported += json_array_size(json_object_get(*result, "conns"));
    return rc;
}

static int
cmd_dfw_conn_import(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct dpud *d = ctx->aux;
    struct dfw *fw = sw_dfw(d->sw);
    if (!fw)
        return err_set(err, err_len, -ENOENT, "the firewall is off on this DPU: nothing to import");
    return dfw_sync_import(fw, args, now_ms(), &d->dfw_sync, result, err, err_len);
}

const struct cmd_def dpud_dfw_commands[] = {
    /* A pure function of its argument. */
    {.name = "dfw.check",
     .usage = "{policy}",
     .fn = cmd_dfw_check,
     .roles = AUTHZ_HOST,
     .flags = CMD_UNGUARDED},
    {.name = "dfw.stats", .usage = "", .fn = cmd_dfw_stats, .roles = AUTHZ_HOST},
    /* The table has its own locks; the policy changes on this thread only. */
    {.name = "dfw.conn.list",
     .usage = "[mac]",
     .fn = cmd_dfw_conn_list,
     .roles = AUTHZ_HOST,
     .flags = CMD_UNGUARDED},
    /* The same, and what they take of the policy (rule names, actions)
     * changes on this thread only: the workers keep forwarding. */
    {.name = "dfw.conn.export",
     .usage = "[since] [max] [mac]",
     .fn = cmd_dfw_conn_export,
     .roles = AUTHZ_HOST,
     .flags = CMD_UNGUARDED},
    {.name = "dfw.conn.import",
     .usage = "{rules, conns, [flush], [table]}",
     .fn = cmd_dfw_conn_import,
     .roles = AUTHZ_HOST,
     .flags = CMD_UNGUARDED},
};
const size_t dpud_n_dfw_commands = ARRAY_SIZE(dpud_dfw_commands);
