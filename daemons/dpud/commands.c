/* SPDX-License-Identifier: Apache-2.0 */
/* dpud commands: the one table served on the control socket and the API. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/authz.h"
#include "config.h"
#include "lcm/bank.h"
#include "daemons/dpud/dpud.h"
#include "lib/log.h"
#include "lib/util.h"
#include "dataplane/dfw.h"
#include "dataplane/vhost-user.h"

#include <stdio.h>

LOG_MODULE(dpud);

static int
cmd_dpu_info(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct dpud *d = ctx->aux;
    json_t *r = json_deep_copy(d->platform);
    json_object_set_new(r, "name", json_string(d->name));
    /* The image it runs, from its bank (the build's version outside a lab). */
    char version[64] = DSE_VERSION;
    if (d->dir)
        bank_running_version(d->dir, version, sizeof version);
    json_object_set_new(r, "version", json_string(version));
    json_object_set_new(r, "state", json_string("ready"));
    json_object_set_new(r, "uptime_s",
                        json_integer((json_int_t)((now_ms() - d->started_ms) / 1000)));
    json_object_set_new(r, "config_generation", json_integer(d->generation));
    int active = sw_team_active(d->sw);
    json_object_set_new(r, "active_uplink",
                        active >= 0 ? json_string(sw_port_at(d->sw, (unsigned)active)->name)
                                    : json_null());
    json_object_set_new(r, "ha", dpud_ha_json(d));
    json_object_set_new(r, "crl_number", json_integer((json_int_t)d->identity.crl_number));
    *result = r;
    return 0;
}

/* The teaming policy of a config: {"failback"?, "order"?: [UPLINK]}.  Names
 * into 'order' (room for SW_MAX_UPLINKS); whether each is an uplink is
 * sw_team_set()'s to say. */
static int
teaming_check(json_t *tm, bool *failback, const char **order, size_t *n, char *err, size_t err_len)
{
    json_t *fb = json_object_get(tm, "failback"), *o = json_object_get(tm, "order"), *e;
    const char *k;
    size_t i;
    *n = 0;
    *failback = !fb || json_is_true(fb);
    if (!json_is_object(tm) || (fb && !json_is_boolean(fb)) || (o && !json_is_array(o)) ||
        json_array_size(o) > SW_MAX_UPLINKS)
        return err_set(err, err_len, -EINVAL,
                       "teaming: {failback: true|false, order: [uplink, ...]} (at most %d)",
                       SW_MAX_UPLINKS);
    static const char *const known[] = {"failback", "order", NULL};
    if ((k = cmd_arg_unknown(tm, known)))
        return err_set(err, err_len, -EINVAL, "teaming: unknown field '%s'", k);
    json_array_foreach (o, i, e) {
        if (!json_is_string(e))
            return err_set(err, err_len, -EINVAL, "teaming: order: uplink names");
        order[(*n)++] = json_string_value(e);
    }
    return 0;
}

/* The config's teaming policy 'tm' (checked; NULL: none) to the switch; an
 * uplink it names that this DPU lacks leaves the policy as it was and says
 * so in 'errors'. */
static void
teaming_apply(struct dpud *d, json_t *tm, json_t *errors)
{
    const char *order[SW_MAX_UPLINKS];
    size_t n = 0;
    bool failback = true;
    char err[ERR_LEN];
    if (tm && (teaming_check(tm, &failback, order, &n, err, sizeof err) < 0 ||
               sw_team_set(d->sw, failback, order, n, now_ms()) < 0))
        json_array_append_new(errors, json_string("teaming: an uplink in its order is none of "
                                                  "this DPU's: the policy is left as it was"));
}

/* Validates a desired config completely before anything changes. */
static int
config_check(json_t *cfg, char *err, size_t err_len)
{
    json_t *pgs = json_object_get(cfg, "portgroups");
    json_t *ports = json_object_get(cfg, "ports");
    json_t *tm = json_object_get(cfg, "teaming");
    const char *order[SW_MAX_UPLINKS];
    size_t n_order;
    bool failback;
    if (!json_is_array(pgs) || !json_is_array(ports))
        return err_set(err, err_len, -EINVAL, "config needs arrays 'portgroups' and 'ports'");
    if (tm && teaming_check(tm, &failback, order, &n_order, err, err_len) < 0)
        return -EINVAL;
    size_t i, j;
    json_t *pg, *port, *other;
    json_array_foreach (pgs, i, pg) {
        const char *name;
        long vlan, mtu;
        if (cmd_arg_str(pg, "name", &name, err, err_len) < 0 ||
            cmd_arg_int(pg, "vlan", 0, 4094, &vlan, err, err_len) < 0 ||
            cmd_arg_int(pg, "mtu", SW_MTU_MIN, SW_MTU_MAX, &mtu, err, err_len) < 0)
            return -EINVAL;
        if (!name_is_valid(name, SW_NAME_MAX))
            return err_set(err, err_len, -EINVAL, "bad portgroup name '%s'", name);
        json_array_foreach (pgs, j, other) {
            if (j >= i)
                break;
            if (json_integer_value(json_object_get(other, "vlan")) == vlan)
                return err_set(err, err_len, -EINVAL, "portgroups %s and %s share VLAN %ld",
                               json_string_value(json_object_get(other, "name")), name, vlan);
        }
    }
    json_array_foreach (ports, i, port) {
        const char *name, *pgname, *backend = NULL, *sock = NULL;
        if (cmd_arg_str(port, "name", &name, err, err_len) < 0 ||
            cmd_arg_str(port, "portgroup", &pgname, err, err_len) < 0 ||
            cmd_arg_str_opt(port, "backend", &backend, err, err_len) < 0 ||
            cmd_arg_str_opt(port, "connect", &sock, err, err_len) < 0)
            return -EINVAL;
        if (backend && strcmp(backend, DPUD_VHOST_USER))
            return err_set(err, err_len, -EINVAL,
                           "port %s: unknown backend '%s' (only %s may be asked for)", name,
                           backend, DPUD_VHOST_USER);
        if (sock && (!backend || sock[0] != '/' || strlen(sock) >= 108))
            return err_set(err, err_len, -EINVAL,
                           "port %s: 'connect' is for vhost-user ports and takes an absolute "
                           "socket path shorter than 108 bytes",
                           name);
        bool found = false;
        json_array_foreach (pgs, j, pg)
            found |= !strcmp(json_string_value(json_object_get(pg, "name")), pgname);
        if (!found)
            return err_set(err, err_len, -EINVAL, "port %s: no portgroup '%s'", name, pgname);
    }
    return 0;
}

/* Is 'io' what a config entry with this backend and vhost-user socket asks for? */
static bool
port_matches(const struct port *io, const char *backend, const char *connect)
{
    if ((io->ops == &port_vhost_ops) != !!backend)
        return false;
    if (!backend)
        return true;
    const char *path = NULL;
    struct vhost_dev_info vi;
    port_vhost_user_info(io, &vi, &path);
    if (port_vhost_user_is_client(io) != !!connect)
        return false;
    return !connect || !strcmp(connect, path);
}

static json_t *
find_by_name(json_t *array, const char *name)
{
    size_t i;
    json_t *e;
    json_array_foreach (array, i, e)
        if (!strcmp(json_string_value(json_object_get(e, "name")), name))
            return e;
    return NULL;
}

/* The config's vNICs 'ports': added, moved, or opened again when their
 * backend changed; failures to 'errors'. */
static void
ports_apply(struct dpud *d, json_t *ports, json_t *errors)
{
    size_t i;
    json_t *e;
    json_array_foreach (ports, i, e) {
        const char *name = json_string_value(json_object_get(e, "name"));
        const char *pg = json_string_value(json_object_get(e, "portgroup"));
        const char *backend = json_string_value(json_object_get(e, "backend"));
        const char *connect = json_string_value(json_object_get(e, "connect"));
        int id = sw_port_find(d->sw, name);
        char perr[ERR_LEN] = "";
        /* A port whose backend or vhost-user socket changes is opened again. */
        if (id >= 0 && !port_matches(sw_port_at(d->sw, (unsigned)id)->io, backend, connect)) {
            dpud_port_del(d, name);
            id = -1;
        }
        if (id >= 0)
            id = sw_port_set_portgroup(d->sw, (uint16_t)id, pg) < 0 ? -1 : id;
        else
            id = dpud_port_add(d, name, SW_PORT_VNIC, pg, backend, connect, perr, sizeof perr);
        if (id < 0) {
            json_array_append_new(errors, json_string(perr[0] ? perr : name));
        }
    }
}

int
dpud_config_apply(struct dpud *d, json_t *cfg, char *err, size_t err_len)
{
    struct dfw_policy *pol;
    bool dfw_change;
    int rc = config_check(cfg, err, err_len);
    if (rc < 0)
        return rc;
    json_t *pgs = json_object_get(cfg, "portgroups");
    json_t *ports = json_object_get(cfg, "ports");
    long age_s, interval_s = DPUD_MONITOR_INTERVAL_S;
    const char *mode = "independent";
    if (cmd_arg_int_opt(cfg, "mac_age_s", 1, 86400, &age_s, err, err_len) < 0 ||
        cmd_arg_int_opt(cfg, "monitor_interval_s", 0, 3600, &interval_s, err, err_len) < 0 ||
        cmd_arg_str_opt(cfg, "dpu_mode", &mode, err, err_len) < 0)
        return -EINVAL;
    if (!mode)
        mode = "independent";
    if (strcmp(mode, "independent") && strcmp(mode, "active-standby"))
        return err_set(err, err_len, -EINVAL, "dpu_mode: independent or active-standby, not %s",
                       mode);
    if ((rc = dpud_dfw_prepare(d, cfg, &pol, &dfw_change, err, err_len)) < 0)
        return rc;
    dpud_monitor_set_interval(d, (unsigned)interval_s);
    json_t *errors = json_array();
    if (json_object_get(cfg, "mac_age_s"))
        fdb_set_age(sw_fdb(d->sw), (uint64_t)age_s * 1000);
    teaming_apply(d, json_object_get(cfg, "teaming"), errors);

    /* vNICs that are gone, then portgroups, then new or moved vNICs, then
     * portgroups that are gone: each step leaves a consistent switch. */
    for (unsigned id = 0; id < SW_MAX_PORTS; id++) {
        const struct sw_port *p = sw_port_at(d->sw, id);
        if (p && p->kind == SW_PORT_VNIC && !find_by_name(ports, p->name)) {
            char name[SW_NAME_MAX + 1];
            snprintf(name, sizeof name, "%s", p->name);
            dpud_port_del(d, name);
        }
    }
    size_t i;
    json_t *e;
    json_array_foreach (pgs, i, e) {
        const char *name = json_string_value(json_object_get(e, "name"));
        int r =
            sw_portgroup_set(d->sw, name, (uint16_t)json_integer_value(json_object_get(e, "vlan")),
                             (uint16_t)json_integer_value(json_object_get(e, "mtu")));
        if (r < 0)
            json_array_append_new(errors, json_sprintf("portgroup %s: %s", name, strerror(-r)));
    }
    ports_apply(d, ports, errors);
    for (unsigned k = 0; k < SW_MAX_PORTGROUPS; k++) {
        const struct sw_portgroup *pg = sw_portgroup_at(d->sw, k);
        if (pg && !find_by_name(pgs, pg->name)) {
            char name[SW_NAME_MAX + 1];
            snprintf(name, sizeof name, "%s", pg->name);
            sw_portgroup_del(d->sw, name);
        }
    }
    if (dfw_change)
        dpud_dfw_apply(d, cfg, pol, errors);
    dpud_ha_configure(d, !strcmp(mode, "active-standby"), ports);
    json_int_t gen = json_integer_value(json_object_get(cfg, "generation"));
    d->generation = gen;
    log_info("config generation %lld applied (%zu portgroups, %zu ports, %zu errors)",
             (long long)gen, json_array_size(pgs), json_array_size(ports), json_array_size(errors));
    json_object_set_new(cfg, "errors", errors);
    return 0;
}

static int
cmd_config_apply(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    long gen;
    if (cmd_arg_int(args, "generation", 0, INT64_MAX, &gen, err, err_len) < 0)
        return -EINVAL;
    json_t *cfg = json_deep_copy(args);
    int rc = dpud_config_apply(ctx->aux, cfg, err, err_len);
    if (rc == 0)
        *result = json_pack("{s:I,s:O}", "generation", (json_int_t)gen, "errors",
                            json_object_get(cfg, "errors"));
    json_decref(cfg);
    return rc;
}

static json_t *
portgroup_json(const struct sw_portgroup *pg)
{
    return json_pack("{s:s,s:i,s:i}", "name", pg->name, "vlan", pg->vid, "mtu", pg->mtu);
}

static json_t *
vhost_json(const struct vhost_dev_info *vi, const char *sock)
{
    char feat[24], pfeat[24];
    snprintf(feat, sizeof feat, "0x%llx", (unsigned long long)vi->features);
    snprintf(pfeat, sizeof pfeat, "0x%llx", (unsigned long long)vi->protocol_features);
    json_t *rings = json_array();
    for (unsigned i = 0; i < VHOST_N_VRINGS; i++) {
        const struct vhost_vring_info *r = &vi->vring[i];
        json_array_append_new(
            rings, json_pack("{s:s,s:i,s:b,s:b,s:b,s:b,s:i,s:i}", "name",
                             i == VHOST_RXQ ? "rx" : "tx", "size", r->num, "started", r->started,
                             "enabled", r->enabled, "running", r->usable, "broken", r->broken,
                             "last_avail", r->last_avail, "last_used", r->last_used));
    }
    json_t *log = json_pack("{s:b,s:I,s:I}", "logging", vi->logging, "bytes",
                            (json_int_t)vi->log_bytes, "marks", (json_int_t)vi->log_marks);
    return json_pack(
        "{s:s,s:b,s:s,s:s,s:b,s:i,s:i,s:I,s:o,s:I,s:I,s:I,s:I,s:I,s:o,s:I}", "socket", sock,
        "attached", vi->attached, "features", feat, "protocol_features", pfeat, "mrg_rxbuf",
        (vi->features >> VIRTIO_NET_F_MRG_RXBUF) & 1, "hdr_len", vi->hdr_len, "mem_regions",
        vi->n_regions, "mem_bytes", (json_int_t)vi->mem_bytes, "rings", rings, "attaches",
        (json_int_t)vi->n_attach, "from_guest", (json_int_t)vi->rx_packets, "to_guest",
        (json_int_t)vi->tx_packets, "calls", (json_int_t)vi->n_calls, "bad_messages",
        (json_int_t)vi->n_bad_msgs, "dirty_log", log, "rarps", (json_int_t)vi->n_rarps);
}

static json_t *
port_json(struct dpud *d, const struct sw_port *p)
{
    struct dpud_port_totals t;
    dpud_port_totals(d, p, &t);
    const struct sw_port_stats *s = &t.sw;
    const struct eswitch_port_stats es = t.es;
    json_t *drops = json_object();
    uint64_t total = t.drops_total;
    for (int r = 1; r < DROP__N; r++)
        json_object_set_new(drops, drop_reason_name(r), json_integer((json_int_t)s->drops[r]));
    const struct sw_portgroup *pg = p->pg >= 0 ? sw_portgroup_at(d->sw, (unsigned)p->pg) : NULL;
    const char *role = "vnic";
    if (p->kind == SW_PORT_UPLINK)
        role = sw_team_active(d->sw) == p->id ? "active" : "standby";
    bool on_es = offload_port_on_eswitch(d->off, p->id);
    json_t *j = json_pack(
        "{s:s,s:s,s:s,s:o,s:s,s:o,s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o}", "name", p->name,
        "kind", p->kind == SW_PORT_UPLINK ? "uplink" : "vnic", "role", role, "portgroup",
        pg ? json_string(pg->name) : json_null(), "backend", port_backend_name(p->io), "eswitch",
        on_es ? json_string("xdp") : json_null(), "carrier", p->carrier, "rx_packets",
        (json_int_t)t.rx_packets, "rx_bytes", (json_int_t)t.rx_bytes, "tx_packets",
        (json_int_t)t.tx_packets, "tx_bytes", (json_int_t)t.tx_bytes, "eswitch_rx_packets",
        (json_int_t)es.rx_packets, "eswitch_tx_packets", (json_int_t)es.tx_packets, "rx_flood",
        (json_int_t)s->rx_flood, "mac_moves", (json_int_t)s->mac_moves, "drops_total",
        (json_int_t)total, "drops", drops);
    int w = d->n_workers ? d->port_worker[p->id] : -1;
    json_object_set_new(j, "worker", w >= 0 ? json_integer(w) : json_null());
    struct vhost_dev_info vi;
    const char *sock;
    if (port_vhost_user_info(p->io, &vi, &sock)) {
        /* The backend's own drops join the switch's (in the total already). */
        for (int r = 0; r < VHOST_DROP__N; r++)
            json_object_set_new(drops, vhost_drop_name(r), json_integer((json_int_t)vi.drops[r]));
        json_t *vj = vhost_json(&vi, sock);
        json_object_set_new(vj, "mode",
                            json_string(port_vhost_user_is_client(p->io) ? "client" : "server"));
        json_object_set_new(j, "vhost", vj);
    }
    return j;
}

static int
cmd_port_list(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct dpud *d = ctx->aux;
    const char *only = NULL;
    if (cmd_arg_str_opt(args, "name", &only, err, err_len) < 0)
        return -EINVAL;
    json_t *a = json_array();
    for (unsigned id = 0; id < SW_MAX_PORTS; id++) {
        const struct sw_port *p = sw_port_at(d->sw, id);
        if (p && (!only || !strcmp(only, p->name)))
            json_array_append_new(a, port_json(d, p));
    }
    if (only && !json_array_size(a)) {
        json_decref(a);
        return err_set(err, err_len, -ENOENT, "no port '%s'", only);
    }
    *result = a;
    return 0;
}

static int
cmd_switch_show(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct dpud *d = ctx->aux;
    json_t *pgs = json_array(), *uplinks = json_array();
    for (unsigned k = 0; k < SW_MAX_PORTGROUPS; k++)
        if (sw_portgroup_at(d->sw, k))
            json_array_append_new(pgs, portgroup_json(sw_portgroup_at(d->sw, k)));
    const char *order[SW_MAX_UPLINKS];
    bool failback = true;
    size_t n_up = sw_team_order(d->sw, order, &failback);
    for (size_t i = 0; i < n_up; i++) { /* in order of preference */
        const struct sw_port *p = sw_port_at(d->sw, (unsigned)sw_port_find(d->sw, order[i]));
        json_array_append_new(uplinks,
                              json_pack("{s:s,s:b}", "name", p->name, "carrier", p->carrier));
    }
    struct fdb_stats fs;
    fdb_get_stats(sw_fdb(d->sw), &fs);
    struct sw_cache_stats cs;
    sw_cache_stats(d->sw, &cs);
    int active = sw_team_active(d->sw);
    *result = json_pack(
        "{s:s,s:I,s:o,s:{s:s,s:b,s:o,s:I,s:o},s:{s:I,s:I,s:I,s:I,s:I,s:I},s:{s:I,s:I,s:I}}", "dpu",
        d->name, "config_generation", (json_int_t)d->generation, "portgroups", pgs, "team",
        "policy", "active-standby", "failback", failback, "active",
        active >= 0 ? json_string(sw_port_at(d->sw, (unsigned)active)->name) : json_null(),
        "failovers", (json_int_t)sw_team_failovers(d->sw), "uplinks", uplinks, "mac_table",
        "entries", (json_int_t)fs.n_entries, "learned", (json_int_t)fs.n_learned, "moved",
        (json_int_t)fs.n_moved, "aged", (json_int_t)fs.n_aged, "full", (json_int_t)fs.n_full,
        "age_s", (json_int_t)(fdb_get_age(sw_fdb(d->sw)) / 1000), "flow_cache", "hits",
        (json_int_t)cs.hits, "misses", (json_int_t)cs.misses, "generation",
        (json_int_t)cs.generation);
    json_t *workers = json_array();
    for (unsigned i = 0; i < d->n_workers; i++) {
        const struct dpud_worker *w = &d->workers[i];
        json_array_append_new(workers, json_pack("{s:i,s:i,s:i,s:I,s:I}", "worker", i, "cpu",
                                                 w->cpu, "ports", w->n_ports, "packets",
                                                 (json_int_t)atomic_load(&w->packets), "sleeps",
                                                 (json_int_t)atomic_load(&w->sleeps)));
    }
    json_object_set_new(*result, "workers", workers);
    struct offload_stats os;
    offload_get_stats(d->off, &os);
    if (d->es)
        json_object_set_new(*result, "eswitch",
                            json_pack("{s:b,s:I,s:I,s:i,s:i}", "offload", !d->no_offload,
                                      "last_revalidation_us", (json_int_t)os.reval_us,
                                      "last_revalidation_paused_us", (json_int_t)os.reval_pause_us,
                                      "last_revalidation_removed", os.reval_removed,
                                      "firewall_connections", os.reval_conns / 2));
    json_object_set_new(*result, "poll_us", json_integer(d->poll_us));
    return 0;
}

struct mac_list_ctx {
    struct dpud *d;
    json_t *a;
};

static void
mac_one(const struct fdb_entry_info *e, void *aux)
{
    struct mac_list_ctx *m = aux;
    char mac[MAC_STRLEN];
    mac_format(e->mac, mac);
    json_array_append_new(m->a, json_pack("{s:i,s:s,s:s,s:b,s:f}", "vlan", e->vid, "mac", mac,
                                          "port", sw_lport_name(m->d->sw, e->port), "static",
                                          e->is_static, "age_s", e->age_ms / 1000.0));
}

static int
cmd_mac_list(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct mac_list_ctx m = {.d = ctx->aux, .a = json_array()};
    fdb_foreach(sw_fdb(m.d->sw), now_ms(), mac_one, &m);
    *result = m.a;
    return 0;
}

static const char *
tag_str(uint16_t tag, char buf[static 8])
{
    if (tag == SW_UNTAGGED)
        return "-";
    snprintf(buf, 8, "%u", tag);
    return buf;
}

struct flow_list_ctx {
    struct dpud *d;
    json_t *a;
    uint64_t now_ns, now_ms;
};

static void
eswitch_flow_json(const struct eswitch_key *k, const struct eswitch_action *a, void *aux)
{
    struct flow_list_ctx *c = aux;
    const struct sw_port *in = sw_port_at(c->d->sw, a->in_port);
    const struct sw_port *out = sw_port_at(c->d->sw, a->out_port);
    char src[MAC_STRLEN], dst[MAC_STRLEN], tag[8], action[80];
    mac_format(k->src, src);
    mac_format(k->dst, dst);
    if (a->push_vid != ESWITCH_NO_PUSH)
        snprintf(action, sizeof action, "push_vlan:%u,output:%s", a->push_vid,
                 out ? out->name : "?");
    else
        snprintf(action, sizeof action, "%soutput:%s", a->pop ? "pop_vlan," : "",
                 out ? out->name : "?");
    json_array_append_new(c->a,
                          json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:s}", "where", "eswitch",
                                    "in_port", in ? in->name : "?", "vlan", tag_str(k->tag, tag),
                                    "src", src, "dst", dst, "actions", action, "packets",
                                    (json_int_t)a->packets, "bytes", (json_int_t)a->bytes,
                                    "idle_ms", (json_int_t)((c->now_ns - a->last_ns) / 1000000),
                                    "why", "known unicast: installed by the slow path"));
}

/* The port of software flow 'f' that keeps it off the eswitch, if any. */
static const struct sw_port *
off_eswitch(struct dpud *d, const struct sw_soft_flow *f)
{
    const struct sw_port *in = sw_port_at(d->sw, f->in_port);
    const struct sw_port *out =
        f->out_port != SW_SOFT_NO_OUT ? sw_port_at(d->sw, f->out_port) : NULL;
    if (in && !offload_port_on_eswitch(d->off, in->id))
        return in;
    if (out && !offload_port_on_eswitch(d->off, out->id))
        return out;
    return NULL;
}

static void
soft_flow_json(const struct sw_soft_flow *f, void *aux)
{
    struct flow_list_ctx *c = aux;
    struct dpud *d = c->d;
    const struct sw_port *in = sw_port_at(d->sw, f->in_port), *off;
    char src[MAC_STRLEN], dst[MAC_STRLEN], tag[8], why[160];
    mac_format(f->src, src);
    mac_format(f->dst, dst);
    if (f->reason == SW_SOFT_DROP)
        snprintf(why, sizeof why, "dropped: %s", drop_reason_what(f->drop));
    else if (f->reason == SW_SOFT_NO_ESWITCH && !d->es)
        snprintf(why, sizeof why, "known unicast, but this DPU runs no eswitch");
    else if (f->reason == SW_SOFT_FIREWALL && (!d->es || !d->off))
        snprintf(why, sizeof why,
                 "under the firewall, without an eswitch: every IP packet "
                 "checked in software");
    else if (f->reason == SW_SOFT_NO_ESWITCH && (off = off_eswitch(d, f)))
        snprintf(why, sizeof why, "known unicast, but %s is %s: the eswitch cannot reach it",
                 off->name,
                 off->io->ops == &port_vhost_ops ? "a vhost-user port (shared memory)"
                                                 : "not on the eswitch");
    else
        snprintf(why, sizeof why, "%s", sw_soft_reason_what(f->reason));
    json_array_append_new(
        c->a,
        json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:s}", "where", "software", "in_port",
                  in ? in->name : "?", "vlan", tag_str(f->tag, tag), "src", src, "dst", dst,
                  "actions",
                  f->reason == SW_SOFT_DROP                                            ? "drop"
                  : f->reason == SW_SOFT_BROADCAST || f->reason == SW_SOFT_UNKNOWN_DST ? "flood"
                                                                                       : "output",
                  "packets", (json_int_t)f->packets, "bytes", (json_int_t)f->bytes, "idle_ms",
                  (json_int_t)(c->now_ms - f->last_ms), "why", why));
    const struct dfw *fw = sw_dfw(d->sw);
    if (f->rule) /* the firewall's rule, while it is one of the policy in force */
        json_object_set_new(json_array_get(c->a, json_array_size(c->a) - 1), "rule",
                            json_string(fw && f->rule_gen == fw->gen
                                            ? dfw_rule_name(fw->pol, f->rule - 1)
                                            : "(a rule of an earlier policy)"));
}

static int
cmd_flow_list(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct dpud *d = ctx->aux;
    struct flow_list_ctx c = {
        .d = d, .a = json_array(), .now_ns = eswitch_now_ns(), .now_ms = now_ms()};
    if (d->es)
        eswitch_flow_foreach(d->es, eswitch_flow_json, &c);
    sw_soft_flows_foreach(d->sw, soft_flow_json, &c);
    *result = c.a;
    return 0;
}

const struct cmd_def dpud_commands[] = {
    {.name = "flow.list", .usage = "", .fn = cmd_flow_list, .roles = AUTHZ_HOST},
    /* hostd's heartbeat, every second, must not pause the workers: it reads
     * the team's active uplink and port names, which only this thread changes. */
    {.name = "dpu.info",
     .usage = "",
     .fn = cmd_dpu_info,
     .roles = AUTHZ_HOST,
     .flags = CMD_UNGUARDED},
    {.name = "config.apply",
     .usage = "{generation, mac_age_s, [teaming], portgroups: [...], ports: [...]}",
     .fn = cmd_config_apply,
     .roles = AUTHZ_HOST},
    {.name = "switch.show", .usage = "", .fn = cmd_switch_show, .roles = AUTHZ_HOST},
    {.name = "port.list", .usage = "[name]", .fn = cmd_port_list, .roles = AUTHZ_HOST},
    {.name = "mac.list", .usage = "", .fn = cmd_mac_list, .roles = AUTHZ_HOST},
    /* Reads files only. */
    {.name = "support.collect",
     .usage = "",
     .fn = dpud_cmd_support_collect,
     .roles = AUTHZ_HOST,
     .flags = CMD_UNGUARDED},
};
const size_t dpud_n_commands = sizeof dpud_commands / sizeof dpud_commands[0];
