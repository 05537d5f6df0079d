/* SPDX-License-Identifier: Apache-2.0 */
/* hostd commands: the one table served on the control socket and the API. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/authz.h"
#include "config.h"
#include "lcm/bank.h"
#include "lcm/bootstate.h"
#include "daemons/hostd/hostd.h"
#include "lib/log.h"
#include "lib/util.h"

LOG_MODULE(hostd);

#define VM_NAME_MAX 11 /* "rep-" + name must fit an interface name */

static const char *const dpu_state_names[] = {
    [DPU_UNKNOWN] = "unknown", [DPU_READY] = "ready", [DPU_UNREACHABLE] = "unreachable"};

/* Saves the desired state and pushes it to the DPUs at once (the heartbeat
 * would catch up within a second anyway).  A change that cannot be saved is
 * undone whole (hostd_config_commit): what the caller held of the
 * configuration is stale then. */
int
hostd_commit(struct hostd *h, char *err, size_t err_len)
{
    int rc = hostd_config_commit(h, err, err_len);
    if (rc == 0)
        hostd_dpus_push(h);
    return rc;
}

/* The outcome of the last `host.reboot` (the last line its log ends with once
 * the whole server booted), or null while it runs or when there was none. */
static json_t *
last_reboot(const struct hostd *h)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/log/reboot.log", h->dir);
    size_t len;
    char *text = fs_read_file(path, 1 << 20, &len);
    json_t *r = json_null();
    if (text && len && text[len - 1] == '\n') {
        text[len - 1] = '\0';
        char *last = strrchr(text, '\n');
        last = last ? last + 1 : text;
        if (!strncmp(last, "boot: ", 6) && strstr(last, " of reboots"))
            r = json_string(last);
    }
    free(text);
    return r;
}

static int
cmd_host_info(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct hostd *h = ctx->aux;
    /* The image it runs (its bank), and how often it booted. */
    char version[64] = DSE_VERSION, why[256];
    struct bootstate st;
    bank_running_version(h->dir, version, sizeof version);
    json_int_t boots = bootstate_load(h->dir, &st, why, sizeof why) == 0 ? (json_int_t)st.boots : 0;
    *result = json_pack("{s:s,s:s,s:O,s:i,s:s?,s:I,s:o,s:o}", "name", h->name, "version", version,
                        "config_generation", json_object_get(h->config, "generation"), "dpus",
                        h->n_dpus, "lab", h->lab_prefix, "boots", boots, "last_reboot",
                        last_reboot(h), "ha", hostd_ha_status(h));
    return 0;
}

static int
cmd_dpu_list(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct hostd *h = ctx->aux;
    hostd_dpus_sync(h); /* fresh state, not the last heartbeat's */
    json_t *a = json_array();
    for (unsigned i = 0; i < h->n_dpus; i++) {
        struct hostd_dpu *d = &h->dpus[i];
        json_t *info = d->info ? d->info : json_object();
        json_t *e = json_pack(
            "{s:s,s:s,s:O?,s:O?,s:O?,s:O?,s:O?,s:s,s:s,s:O?,s:I}", "name", d->name, "id", d->cn,
            "vendor", json_object_get(info, "vendor"), "model", json_object_get(info, "model"),
            "hw_version", json_object_get(info, "hw_version"), "firmware",
            json_object_get(info, "firmware"), "version", json_object_get(info, "version"), "state",
            dpu_state_names[d->state], "address", d->addr, "active_uplink",
            json_object_get(info, "active_uplink"), "last_seen_ms_ago",
            d->last_seen_ms ? (json_int_t)(now_ms() - d->last_seen_ms) : -1);
        if (d->state == DPU_UNREACHABLE)
            json_object_set_new(e, "error", json_string(d->last_error));
        json_object_set_new(e, "ha", hostd_ha_json(h, i));
        json_array_append_new(a, e);
        if (!d->info)
            json_decref(info);
    }
    *result = a;
    return 0;
}

/* host.dpu_mode {mode, [heartbeat_ms], [auto_failback_s], [dfw_sync_ms]}: an
 * active-standby pair of identical DPUs, or independent DPUs. */
static int
cmd_dpu_mode(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct hostd *h = ctx->aux;
    const char *mode;
    long hb = -1, fb = -1, ds = -1;
    if (cmd_arg_str(args, "mode", &mode, err, err_len) < 0 ||
        cmd_arg_int_opt(args, "heartbeat_ms", 1, 1000, &hb, err, err_len) < 0 ||
        cmd_arg_int_opt(args, "auto_failback_s", 0, 3600, &fb, err, err_len) < 0 ||
        cmd_arg_int_opt(args, "dfw_sync_ms", 0, 60000, &ds, err, err_len) < 0)
        return -EINVAL;
    bool pair = !strcmp(mode, "active-standby");
    if (!pair && strcmp(mode, "independent"))
        return err_set(err, err_len, -EINVAL, "mode: active-standby or independent, not %s", mode);
    if (pair && h->n_dpus != 2)
        return err_set(err, err_len, -ENOEXEC, "refused: active-standby needs two DPUs (%u here)",
                       h->n_dpus);
    if (pair) {
        char why[ERR_LEN] = "";
        int rc = hostd_dpus_identical(h, why, sizeof why);
        if (rc < 0) /* "refused: ..." already, or a DPU that did not answer. */
            return err_set(err, err_len, rc, "%s%s", strncmp(why, "refused", 7) ? "refused: " : "",
                           why);
    }
    json_t *old_mode = json_incref(json_object_get(h->config, "dpu_mode"));
    json_object_set_new(h->config, "dpu_mode", json_string(mode));
    if (hb > 0)
        json_object_set_new(h->config, "heartbeat_ms", json_integer(hb));
    if (fb >= 0)
        json_object_set_new(h->config, "auto_failback_s", json_integer(fb));
    if (ds >= 0)
        json_object_set_new(h->config, "dfw_sync_ms", json_integer(ds));
    int rc = hostd_commit(h, err, err_len);
    if (rc == 0 && strcmp(json_string_value(old_mode), mode)) {
        hostd_event(h, "dpu.mode", "host", "DPUs %s", mode);
        if (pair)
            hostd_ha_prefer_active(h);
    }
    json_decref(old_mode);
    if (rc == 0)
        *result = hostd_ha_status(h);
    return rc;
}

static int
cmd_dpu_failover(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct hostd *h = ctx->aux;
    const char *to;
    if (cmd_arg_str(args, "to", &to, err, err_len) < 0)
        return -EINVAL;
    int rc = hostd_ha_failover(h, to, err, err_len);
    if (rc == 0)
        *result = hostd_ha_status(h);
    return rc;
}

static int
cmd_switch_show(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct hostd *h = ctx->aux;
    json_t *tm = json_object_get(h->config, "teaming");
    *result = json_pack("{s:s,s:O,s:O,s:o,s:O,s:o}", "host", h->name, "config_generation",
                        json_object_get(h->config, "generation"), "mac_age_s",
                        json_object_get(h->config, "mac_age_s"), "teaming",
                        tm ? json_incref(tm) : json_pack("{s:b,s:[]}", "failback", 1, "order"),
                        "portgroups", json_object_get(h->config, "portgroups"), "dpus",
                        hostd_dpus_call_all(h, "switch.show", NULL));
    return 0;
}

/* What a DPU's switch takes (dataplane/switch.h: SW_MAX_UPLINKS, SW_NAME_MAX). */
#define TEAM_MAX_UPLINKS 4
#define TEAM_NAME_MAX 31

/* Whether every name of 'order' is an uplink of every DPU that answers (its
 * switch.show); else -EINVAL naming the first that is not. */
static int
uplinks_check(struct hostd *h, json_t *order, char *err, size_t err_len)
{
    size_t i, k;
    json_t *name, *u;
    for (unsigned d = 0; d < h->n_dpus; d++) {
        json_t *sw = NULL;
        char e[ERR_LEN];
        if (hostd_dpu_call(h, &h->dpus[d], "switch.show", NULL, &sw, e, sizeof e) < 0)
            continue; /* it gets the policy when it is back, and says so then */
        json_array_foreach (order, i, name) {
            bool found = false;
            json_array_foreach (json_object_get(json_object_get(sw, "team"), "uplinks"), k, u)
                found |= json_equal(json_object_get(u, "name"), name);
            if (!found) {
                json_decref(sw);
                return err_set(err, err_len, -EINVAL, "--uplink-order: %s has no uplink %s",
                               h->dpus[d].name, json_string_value(name));
            }
        }
        json_decref(sw);
    }
    return 0;
}

/* switch.set's teaming: "failback" and "uplink_order" ([UPLINK]) into the
 * config's "teaming".  Returns 1 (set), 0 (neither given) or -EINVAL. */
static int
teaming_set(struct hostd *h, json_t *args, char *err, size_t err_len)
{
    json_t *fb = json_object_get(args, "failback"), *order = json_object_get(args, "uplink_order");
    json_t *e;
    size_t i;
    if (!fb && !order)
        return 0;
    if (fb && !json_is_boolean(fb))
        return err_set(err, err_len, -EINVAL, "--failback: yes or no");
    if (order && (!json_is_array(order) || json_array_size(order) > TEAM_MAX_UPLINKS))
        return err_set(err, err_len, -EINVAL, "--uplink-order: at most %d uplinks, by name",
                       TEAM_MAX_UPLINKS);
    json_array_foreach (order, i, e)
        if (!name_is_valid(json_string_value(e), TEAM_NAME_MAX))
            return err_set(err, err_len, -EINVAL, "--uplink-order: '%s' is no uplink name",
                           json_is_string(e) ? json_string_value(e) : "?");
    if (order && uplinks_check(h, order, err, err_len) < 0)
        return -EINVAL;
    json_t *tm = json_object_get(h->config, "teaming");
    if (!tm)
        json_object_set_new(h->config, "teaming",
                            tm = json_pack("{s:b,s:[]}", "failback", 1, "order"));
    if (fb)
        json_object_set(tm, "failback", fb);
    if (order)
        json_object_set(tm, "order", order);
    return 1;
}

static int
cmd_switch_set(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct hostd *h = ctx->aux;
    long age = -1;
    if (cmd_arg_int_opt(args, "mac_age_s", 1, 86400, &age, err, err_len) < 0)
        return -EINVAL;
    int teaming = teaming_set(h, args, err, err_len);
    if (teaming < 0)
        return teaming;
    if (age < 0 && !teaming)
        return err_set(err, err_len, -EINVAL, "nothing to set (mac_age_s, failback, uplink_order)");
    if (age >= 0)
        json_object_set_new(h->config, "mac_age_s", json_integer(age));
    return hostd_commit(h, err, err_len);
}

static int
cmd_portgroup_add(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct hostd *h = ctx->aux;
    const char *name;
    long vlan, mtu = 1500;
    if (cmd_arg_str(args, "name", &name, err, err_len) < 0 ||
        cmd_arg_int(args, "vlan", 0, 4094, &vlan, err, err_len) < 0 ||
        cmd_arg_int_opt(args, "mtu", 68, 9000, &mtu, err, err_len) < 0)
        return -EINVAL;
    if (!name_is_valid(name, 31))
        return err_set(err, err_len, -EINVAL, "bad portgroup name '%s' (1-31 of A-Z a-z 0-9 . _ -)",
                       name);
    json_t *pgs = json_object_get(h->config, "portgroups");
    if (hostd_config_find(pgs, name))
        return err_set(err, err_len, -EEXIST, "portgroup %s exists", name);
    size_t i;
    json_t *pg;
    json_array_foreach (pgs, i, pg)
        if (json_integer_value(json_object_get(pg, "vlan")) == vlan)
            return err_set(err, err_len, -EEXIST, "VLAN %ld is used by portgroup %s", vlan,
                           json_string_value(json_object_get(pg, "name")));
    json_array_append_new(
        pgs, json_pack("{s:s,s:i,s:i}", "name", name, "vlan", (int)vlan, "mtu", (int)mtu));
    return hostd_commit(h, err, err_len);
}

static int
cmd_portgroup_list(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct hostd *h = ctx->aux;
    json_t *a = json_array();
    size_t i, j;
    json_t *pg, *vm;
    json_array_foreach (json_object_get(h->config, "portgroups"), i, pg) {
        json_t *e = json_deep_copy(pg);
        json_t *vms = json_array();
        json_array_foreach (json_object_get(h->config, "vms"), j, vm)
            if (json_equal(json_object_get(vm, "portgroup"), json_object_get(pg, "name")))
                json_array_append(vms, json_object_get(vm, "name"));
        json_object_set_new(e, "vms", vms);
        json_array_append_new(a, e);
    }
    *result = a;
    return 0;
}

static int
cmd_portgroup_del(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct hostd *h = ctx->aux;
    const char *name;
    if (cmd_arg_str(args, "name", &name, err, err_len) < 0)
        return -EINVAL;
    json_t *pgs = json_object_get(h->config, "portgroups");
    size_t i;
    json_t *e;
    json_array_foreach (json_object_get(h->config, "vms"), i, e)
        if (!strcmp(json_string_value(json_object_get(e, "portgroup")), name))
            return err_set(err, err_len, -EBUSY, "portgroup %s is used by VM %s", name,
                           json_string_value(json_object_get(e, "name")));
    json_array_foreach (json_object_get(h->config, "ports"), i, e)
        if (!strcmp(json_string_value(json_object_get(e, "portgroup")), name))
            return err_set(err, err_len, -EBUSY, "portgroup %s is used by port %s", name,
                           json_string_value(json_object_get(e, "name")));
    json_t *pg = hostd_config_take(pgs, name);
    if (!pg)
        return err_set(err, err_len, -ENOENT, "no portgroup %s", name);
    json_decref(pg);
    return hostd_commit(h, err, err_len);
}

/* Runs 'cmd' on every DPU and merges the arrays, each element tagged with its
 * DPU; a DPU that fails contributes {"dpu": ..., "error": ...}. */
static json_t *
merge_all(struct hostd *h, const char *cmd)
{
    json_t *per_dpu = hostd_dpus_call_all(h, cmd, NULL), *a = json_array();
    const char *dpu_name;
    json_t *items;
    json_object_foreach (per_dpu, dpu_name, items) {
        if (!json_is_array(items)) {
            json_array_append_new(a, json_pack("{s:s,s:O}", "dpu", dpu_name, "error",
                                               json_object_get(items, "error")));
            continue;
        }
        size_t i;
        json_t *item;
        json_array_foreach (items, i, item) {
            json_t *e = json_pack("{s:s}", "dpu", dpu_name);
            json_object_update(e, item);
            json_array_append_new(a, e);
        }
    }
    json_decref(per_dpu);
    return a;
}

static int
cmd_mac_list(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    *result = merge_all(ctx->aux, "mac.list");
    return 0;
}

static int
cmd_flow_list(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    *result = merge_all(ctx->aux, "flow.list");
    return 0;
}

/* Every port of every DPU, with "vm" added to representors. */
static int
cmd_port_list(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    json_t *a = merge_all(ctx->aux, "port.list");
    size_t i;
    json_t *p;
    json_array_foreach (a, i, p) {
        const char *pname = json_string_value(json_object_get(p, "name"));
        if (pname && !strncmp(pname, "rep-", 4))
            json_object_set_new(p, "vm", json_string(pname + 4));
    }
    *result = a;
    return 0;
}

/* Adds a vhost-user port (a QEMU or DPDK client attaches to its socket on
 * the DPU); VMs' ports come with vm.add instead. */
static int
cmd_port_add(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct hostd *h = ctx->aux;
    const char *name, *pg, *dpu = NULL, *connect = NULL;
    if (cmd_arg_str(args, "name", &name, err, err_len) < 0 ||
        cmd_arg_str(args, "portgroup", &pg, err, err_len) < 0 ||
        cmd_arg_str_opt(args, "dpu", &dpu, err, err_len) < 0 ||
        cmd_arg_str_opt(args, "connect", &connect, err, err_len) < 0)
        return -EINVAL;
    if (connect && (connect[0] != '/' || strlen(connect) >= 108 || strpbrk(connect, "\n\r")))
        return err_set(err, err_len, -EINVAL,
                       "--connect '%s': not an absolute socket path (under 108 bytes)", connect);
    if (!json_is_true(json_object_get(args, "vhost_user")))
        return err_set(err, err_len, -EINVAL,
                       "only vhost-user ports are added by hand (--vhost-user); VMs' come "
                       "with 'vm add'");
    /* The name becomes a socket file name and must fit an interface name. */
    if (!name_is_valid(name, 15) || !strncmp(name, "rep-", 4) || !strncmp(name, "vmnic", 5) ||
        !strcmp(name, "int0"))
        return err_set(err, err_len, -EINVAL,
                       "bad port name '%s' (1-15 of A-Z a-z 0-9 . _ -, not rep-*, vmnic*, int0)",
                       name);
    json_t *ports = json_object_get(h->config, "ports");
    if (hostd_config_find(ports, name))
        return err_set(err, err_len, -EEXIST, "port %s exists", name);
    if (!hostd_config_find(json_object_get(h->config, "portgroups"), pg))
        return err_set(err, err_len, -ENOENT, "no portgroup %s", pg);
    if (!dpu)
        dpu = h->n_dpus ? h->dpus[0].name : "dpu1";
    if (!hostd_dpu_find(h, dpu))
        return err_set(err, err_len, -ENOENT, "no DPU %s on this host", dpu);
    json_t *port = json_pack("{s:s,s:s,s:s,s:s}", "name", name, "portgroup", pg, "dpu", dpu,
                             "backend", "vhost-user");
    if (connect)
        json_object_set_new(port, "connect", json_string(connect));
    json_array_append(ports, port);
    int rc = hostd_commit(h, err, err_len);
    if (rc < 0) {
        json_decref(port);
        return rc;
    }
    log_info("port=%s: added (vhost-user, portgroup %s, %s)", name, pg, dpu);
    *result = port;
    return 0;
}

static int
cmd_port_del(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct hostd *h = ctx->aux;
    const char *name;
    if (cmd_arg_str(args, "name", &name, err, err_len) < 0)
        return -EINVAL;
    json_t *ports = json_object_get(h->config, "ports");
    json_t *port = hostd_config_take(ports, name);
    if (!port)
        return err_set(err, err_len, -ENOENT, "no port %s (VMs' ports go with 'vm del')", name);
    json_decref(port);
    int rc = hostd_commit(h, err, err_len);
    if (rc == 0)
        log_info("port=%s: deleted", name);
    return rc;
}

/* Lab VM segments must stay inside the special-purpose ranges (DESIGN §4). */
static bool
vm_ip_allowed(const char *cidr, char *err, size_t err_len)
{
    char addr[64];
    const char *slash = strchr(cidr, '/');
    long len;
    if (!slash || (size_t)(slash - cidr) >= sizeof addr)
        goto bad;
    memcpy(addr, cidr, (size_t)(slash - cidr));
    addr[slash - cidr] = '\0';
    uint8_t a[16];
    if (inet_pton(AF_INET, addr, a) == 1) {
        if (!parse_long(slash + 1, 8, 32, &len))
            goto bad;
        if (a[0] == 198 && a[1] == 18)
            return true;
        err_set(err, err_len, -EINVAL, "VM address %s is outside 198.18.0.0/16", cidr);
        return false;
    }
    if (inet_pton(AF_INET6, addr, a) == 1) {
        if (!parse_long(slash + 1, 32, 128, &len))
            goto bad;
        if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0d && a[3] == 0xb8)
            return true;
        err_set(err, err_len, -EINVAL, "VM address %s is outside 2001:db8::/32", cidr);
        return false;
    }
bad:
    err_set(err, err_len, -EINVAL, "bad address '%s' (want ADDR/LEN)", cidr);
    return false;
}

static int
host_number(const struct hostd *h)
{
    const char *p = strrchr(h->name, 'h');
    long n;
    return p && parse_long(p + 1, 0, 255, &n) ? (int)n : 0;
}

/* The MAC of a new VM: 'mac', checked, or one made up, locally
 * administered and unique per host and VM (02:d5:00:HOST:SEQ). */
static int
vm_mac(struct hostd *h, const char *mac, json_int_t seq, char *out, char *err, size_t err_len)
{
    uint8_t m[6];
    if (mac) {
        if (!mac_parse(mac, m) || (m[0] & 1) || !(m[0] | m[1] | m[2] | m[3] | m[4] | m[5]))
            return err_set(err, err_len, -EINVAL, "bad MAC '%s' (want a unicast xx:xx:xx:xx:xx:xx)",
                           mac);
    } else {
        uint8_t gen[6] = {0x02,        0xd5, 0x00, (uint8_t)host_number(h), (uint8_t)(seq >> 8),
                          (uint8_t)seq};
        memcpy(m, gen, 6);
    }
    mac_format(m, out);
    return 0;
}

/* The VM that vm.add's 'args' describe, checked, into '*out'; '*incoming' the
 * TCP port a QEMU VM comes to by live migration (0: it boots). */
static int
vm_spec(struct hostd *h, json_t *args, json_t **out, long *incoming, char *err, size_t err_len)
{
    const char *name, *pg, *ip = NULL, *mac = NULL, *dpu = NULL, *kind = "netns";
    long mem = 256;
    if (cmd_arg_str(args, "name", &name, err, err_len) < 0 ||
        cmd_arg_str(args, "portgroup", &pg, err, err_len) < 0 ||
        cmd_arg_str_opt(args, "ip", &ip, err, err_len) < 0 ||
        cmd_arg_str_opt(args, "mac", &mac, err, err_len) < 0 ||
        cmd_arg_str_opt(args, "dpu", &dpu, err, err_len) < 0 ||
        cmd_arg_str_opt(args, "kind", &kind, err, err_len) < 0 ||
        cmd_arg_int_opt(args, "mem_mib", 64, 16384, &mem, err, err_len) < 0 ||
        cmd_arg_int_opt(args, "incoming", 1, 65535, incoming, err, err_len) < 0)
        return -EINVAL;
    if (strcmp(kind, "netns") && strcmp(kind, "qemu"))
        return err_set(err, err_len, -EINVAL, "--kind '%s': want netns or qemu", kind);
    if ((json_object_get(args, "mem_mib") || *incoming) && strcmp(kind, "qemu"))
        return err_set(err, err_len, -EINVAL, "--%s is for --kind qemu",
                       *incoming ? "incoming" : "mem");
    if (!name_is_valid(name, VM_NAME_MAX))
        return err_set(err, err_len, -EINVAL, "bad VM name '%s' (1-%d of A-Z a-z 0-9 . _ -)", name,
                       VM_NAME_MAX);
    if (hostd_config_find(json_object_get(h->config, "vms"), name))
        return err_set(err, err_len, -EEXIST, "VM %s exists", name);
    if (!hostd_config_find(json_object_get(h->config, "portgroups"), pg))
        return err_set(err, err_len, -ENOENT, "no portgroup %s", pg);
    if (ip && !vm_ip_allowed(ip, err, err_len))
        return -EINVAL;
    if (!dpu)
        dpu = h->n_dpus ? h->dpus[0].name : "dpu1";
    if (!hostd_dpu_find(h, dpu))
        return err_set(err, err_len, -ENOENT, "no DPU %s on this host", dpu);
    char macbuf[MAC_STRLEN];
    int rc = vm_mac(h, mac, json_integer_value(json_object_get(h->config, "next_vm")), macbuf, err,
                    err_len);
    if (rc < 0)
        return rc;
    *out = json_pack("{s:s,s:s,s:s,s:s,s:s?,s:s}", "name", name, "portgroup", pg, "mac", macbuf,
                     "dpu", dpu, "ip", ip, "kind", kind);
    if (!strcmp(kind, "qemu"))
        json_object_set_new(*out, "mem_mib", json_integer(mem));
    return 0;
}

static int
cmd_vm_add(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct hostd *h = ctx->aux;
    json_t *vm = NULL;
    long incoming = 0;
    int rc = vm_spec(h, args, &vm, &incoming, err, err_len);
    if (rc < 0)
        return rc;
    rc = hostd_platform_vm_create(h, vm, hostd_vm_owner(h, vm), (unsigned)incoming, err, err_len);
    if (rc < 0) {
        json_decref(vm);
        return rc;
    }
    json_array_append(json_object_get(h->config, "vms"), vm);
    json_int_t seq = json_integer_value(json_object_get(h->config, "next_vm"));
    json_object_set_new(h->config, "next_vm", json_integer(seq + 1));
    rc = hostd_commit(h, err, err_len);
    if (rc < 0) {
        hostd_platform_vm_destroy(h, vm, NULL, 0);
        json_decref(vm);
        return rc;
    }
    const char *s = json_string_value(json_object_get(vm, "name"));
    log_info("vm=%s: added (%s%s, portgroup %s, mac %s, %s)", s,
             json_string_value(json_object_get(vm, "kind")),
             incoming ? ", waiting for its migration" : "",
             json_string_value(json_object_get(vm, "portgroup")),
             json_string_value(json_object_get(vm, "mac")),
             json_string_value(json_object_get(vm, "dpu")));
    *result = vm;
    return 0;
}

static int
cmd_vm_list(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct hostd *h = ctx->aux;
    json_t *a = json_deep_copy(json_object_get(h->config, "vms"));
    size_t i;
    json_t *vm;
    json_array_foreach (a, i, vm) {
        char rep[32];
        hostd_vm_rep_name(json_string_value(json_object_get(vm, "name")), rep, sizeof rep);
        json_object_set_new(vm, "port", json_string(rep));
    }
    *result = a;
    return 0;
}

static int
cmd_vm_del(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct hostd *h = ctx->aux;
    const char *name;
    if (cmd_arg_str(args, "name", &name, err, err_len) < 0)
        return -EINVAL;
    json_t *vms = json_object_get(h->config, "vms");
    json_t *vm = hostd_config_take(vms, name);
    if (!vm)
        return err_set(err, err_len, -ENOENT, "no VM %s", name);
    int rc = hostd_commit(h, err, err_len); /* the DPU lets go of the port first */
    if (rc == 0 && (rc = hostd_platform_vm_destroy(h, vm, err, err_len)) < 0) {
        /* Nothing half-done: the VM still runs, so it stays configured. */
        char err2[256];
        json_array_append(vms, vm);
        if (hostd_commit(h, err2, sizeof err2) < 0)
            log_warn("vm=%s: cannot restore its port: %s", name, err2);
    } else if (rc == 0) {
        log_info("vm=%s: deleted", name);
    } /* else not committed: the config is again what is on disk, the VM in it */
    json_decref(vm);
    return rc;
}

const struct cmd_def hostd_commands[] = {
    {.name = "host.info", .usage = "", .fn = cmd_host_info, .roles = AUTHZ_MANAGER},
    {.name = "dpu.list", .usage = "", .fn = cmd_dpu_list, .roles = AUTHZ_MANAGER},
    {.name = "dpu.failover", .usage = "{to}", .fn = cmd_dpu_failover, .roles = AUTHZ_MANAGER},
    {.name = "host.dpu_mode",
     .usage = "{mode: active-standby|independent, [heartbeat_ms], [auto_failback_s], "
              "[dfw_sync_ms]}",
     .fn = cmd_dpu_mode,
     .roles = AUTHZ_MANAGER},
    {.name = "switch.show", .usage = "", .fn = cmd_switch_show, .roles = AUTHZ_MANAGER},
    {.name = "switch.set",
     .usage = "{[mac_age_s], [failback], [uplink_order: [UPLINK]]}",
     .fn = cmd_switch_set,
     .roles = AUTHZ_MANAGER},
    {.name = "portgroup.add",
     .usage = "{name, vlan, [mtu]}",
     .fn = cmd_portgroup_add,
     .roles = AUTHZ_MANAGER},
    {.name = "portgroup.list", .usage = "", .fn = cmd_portgroup_list, .roles = AUTHZ_MANAGER},
    {.name = "portgroup.del", .usage = "{name}", .fn = cmd_portgroup_del, .roles = AUTHZ_MANAGER},
    {.name = "port.list", .usage = "", .fn = cmd_port_list, .roles = AUTHZ_MANAGER},
    {.name = "port.add",
     .usage = "{name, portgroup, vhost_user: true, [connect], [dpu]}",
     .fn = cmd_port_add,
     .roles = AUTHZ_MANAGER},
    {.name = "port.del", .usage = "{name}", .fn = cmd_port_del, .roles = AUTHZ_MANAGER},
    {.name = "mac.list", .usage = "", .fn = cmd_mac_list, .roles = AUTHZ_MANAGER},
    {.name = "flow.list", .usage = "", .fn = cmd_flow_list, .roles = AUTHZ_MANAGER},
    {.name = "vm.add",
     .usage = "{name, portgroup, [ip], [mac], [dpu], [kind: netns|qemu], [mem_mib], [incoming]}",
     .fn = cmd_vm_add,
     .roles = AUTHZ_MANAGER},
    {.name = "vm.list", .usage = "", .fn = cmd_vm_list, .roles = AUTHZ_MANAGER},
    {.name = "vm.del", .usage = "{name}", .fn = cmd_vm_del, .roles = AUTHZ_MANAGER},
    {.name = "support.bundle", .usage = "", .fn = hostd_cmd_support_bundle, .roles = AUTHZ_MANAGER},
};
const size_t hostd_n_commands = sizeof hostd_commands / sizeof hostd_commands[0];
