/* SPDX-License-Identifier: Apache-2.0 */
/* hostd dpu: reaching each DPU over the internal network, heartbeat and push. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemons/common/daemon.h"
#include "lib/http.h"
#include "daemons/hostd/hostd.h"
#include "lib/log.h"
#include "lib/util.h"

LOG_MODULE(hostd);

/* "dpu1=169.254.1.2:7443,cn=dse-h1-dpu1" */
int
hostd_dpu_parse(struct hostd_dpu *dpu, const char *spec, char *err, size_t err_len)
{
    memset(dpu, 0, sizeof *dpu);
    const char *eq = strchr(spec, '=');
    const char *comma = eq ? strchr(eq, ',') : NULL;
    if (!eq || !comma || strncmp(comma, ",cn=", 4) || (size_t)(eq - spec) >= sizeof dpu->name)
        return err_set(err, err_len, -EINVAL, "bad --dpu '%s' (want NAME=ADDR:PORT,cn=CN)", spec);
    memcpy(dpu->name, spec, (size_t)(eq - spec));
    char hp[128];
    size_t n = (size_t)(comma - eq - 1);
    if (n >= sizeof hp)
        return err_set(err, err_len, -EINVAL, "bad --dpu '%s'", spec);
    memcpy(hp, eq + 1, n);
    hp[n] = '\0';
    if (parse_hostport(hp, dpu->addr, sizeof dpu->addr, &dpu->port) < 0 ||
        snprintf(dpu->cn, sizeof dpu->cn, "%s", comma + 4) >= (int)sizeof dpu->cn || !dpu->cn[0] ||
        !name_is_valid(dpu->name, 15) || dpu->port == 65535)
        return err_set(err, err_len, -EINVAL, "bad --dpu '%s' (want NAME=ADDR:PORT,cn=CN)", spec);
    dpu->ha_port = dpu->port + 1;
    return 0;
}

static const char *
dpu_str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "?";
}

struct hostd_dpu *
hostd_dpu_find(struct hostd *h, const char *name)
{
    for (unsigned i = 0; i < h->n_dpus; i++)
        if (!strcmp(h->dpus[i].name, name))
            return &h->dpus[i];
    return NULL;
}

static void
dpu_set_state(struct hostd_dpu *dpu, enum dpu_state st, const char *why)
{
    if (dpu->state != st) {
        if (st == DPU_READY)
            log_info("dpu=%s: reachable", dpu->name);
        else
            log_warn("dpu=%s: unreachable: %s", dpu->name, why);
    }
    dpu->state = st;
    snprintf(dpu->last_error, sizeof dpu->last_error, "%s", why ? why : "");
}

/* The peer to call for 'dpu' through 'ctx'. */
static struct httpc
dpu_peer_ctx(SSL_CTX *ctx, const struct hostd_dpu *dpu, int timeout_ms)
{
    return (struct httpc){
        .ctx = ctx,
        .host = dpu->addr,
        .port = dpu->port,
        .expect_cn = dpu->cn,
        .expect_role = AUTHZ_DPU,
        .timeout_ms = timeout_ms,
    };
}

static struct httpc
dpu_peer(const struct hostd *h, const struct hostd_dpu *dpu, int timeout_ms)
{
    return dpu_peer_ctx(h->client_ssl, dpu, timeout_ms);
}

/* The result of a call that returned 'rc' with 'reply' (taken) or the
 * reason 'cerr'. */
static int
unwrap(const struct hostd_dpu *dpu, int rc, json_t *reply, const char *cerr, json_t **result,
       bool *reached, char *err, size_t err_len)
{
    *reached = rc >= 0;
    if (rc < 0)
        return err_set(err, err_len, rc, "%s: %s", dpu->name, cerr[0] ? cerr : strerror(-rc));
    return httpc_unwrap(reply, dpu->name, result, err, err_len);
}

int
hostd_dpu_request(const struct hostd *h, const struct hostd_dpu *dpu, const char *cmd, json_t *args,
                  int timeout_ms, json_t **result, bool *reached, char *err, size_t err_len)
{
    struct httpc peer = dpu_peer(h, dpu, timeout_ms);
    json_t *reply = NULL;
    char cerr[ERR_LEN] = "";
    int rc = httpc_call(&peer, cmd, args, &reply, cerr, sizeof cerr);
    return unwrap(dpu, rc, reply, cerr, result, reached, err, err_len);
}

int
hostd_dpu_call_ctx(SSL_CTX *ctx, const struct hostd_dpu *dpu, const char *cmd, json_t *args,
                   json_t **result, char *err, size_t err_len)
{
    struct httpc peer = dpu_peer_ctx(ctx, dpu, HOSTD_DPU_TIMEOUT_MS);
    json_t *reply = NULL;
    char cerr[ERR_LEN] = "";
    bool reached;
    int rc = httpc_call(&peer, cmd, args, &reply, cerr, sizeof cerr);
    return unwrap(dpu, rc, reply, cerr, result, &reached, err, err_len);
}

struct httpc_session *
hostd_dpu_session(const struct hostd *h, const struct hostd_dpu *dpu)
{
    struct httpc peer = dpu_peer(h, dpu, HOSTD_DPU_TIMEOUT_MS);
    return httpc_session_create(&peer);
}

int
hostd_dpu_session_call(struct httpc_session *s, const struct hostd_dpu *dpu, const char *cmd,
                       json_t *args, const void *payload, size_t len, int timeout_ms,
                       json_t **result, char *err, size_t err_len)
{
    json_t *reply = NULL;
    char cerr[ERR_LEN] = "";
    bool reached;
    int rc = httpc_session_call(s, cmd, args, payload, len, timeout_ms, &reply, cerr, sizeof cerr);
    return unwrap(dpu, rc, reply, cerr, result, &reached, err, err_len);
}

int
hostd_dpu_call_ms(struct hostd *h, struct hostd_dpu *dpu, const char *cmd, json_t *args,
                  int timeout_ms, json_t **result, char *err, size_t err_len)
{
    bool reached;
    char why[ERR_LEN] = "";
    int rc = hostd_dpu_request(h, dpu, cmd, args, timeout_ms, result, &reached, why, sizeof why);
    if (rc < 0)
        err_set(err, err_len, rc, "%s", why);
    if (!reached) {
        dpu_set_state(dpu, DPU_UNREACHABLE, why);
        return rc;
    }
    dpu->last_seen_ms = now_ms();
    dpu_set_state(dpu, DPU_READY, NULL);
    return rc;
}

int
hostd_dpu_call(struct hostd *h, struct hostd_dpu *dpu, const char *cmd, json_t *args,
               json_t **result, char *err, size_t err_len)
{
    return hostd_dpu_call_ms(h, dpu, cmd, args, HOSTD_DPU_TIMEOUT_MS, result, err, err_len);
}

json_t *
hostd_dpus_call_all(struct hostd *h, const char *cmd, json_t *args)
{
    json_t *r = json_object();
    for (unsigned i = 0; i < h->n_dpus; i++) {
        json_t *res = NULL;
        char err[ERR_LEN] = "";
        if (hostd_dpu_call(h, &h->dpus[i], cmd, args, &res, err, sizeof err) < 0) {
            res = json_pack("{s:s}", "error", err);
        }
        json_object_set_new(r, h->dpus[i].name, res);
    }
    return r;
}

/* The part of the desired state that DPU 'dpu' runs. */
static json_t *
dpu_config(struct hostd *h, struct hostd_dpu *dpu)
{
    json_t *c = h->config, *ports = json_array();
    bool pair = !strcmp(json_string_value(json_object_get(c, "dpu_mode")), "active-standby") &&
                h->n_dpus == 2;
    size_t i;
    json_t *vm;
    /* An active-standby pair both hold every vNIC (the standby fenced); else
     * each DPU its own VMs'. */
    json_array_foreach (json_object_get(c, "vms"), i, vm) {
        if (!pair && strcmp(json_string_value(json_object_get(vm, "dpu")), dpu->name))
            continue;
        char rep[32];
        hostd_vm_rep_name(json_string_value(json_object_get(vm, "name")), rep, sizeof rep);
        json_t *p = json_pack("{s:s,s:O,s:O}", "name", rep, "portgroup",
                              json_object_get(vm, "portgroup"), "mac", json_object_get(vm, "mac"));
        /* A QEMU guest's virtio-net NIC: dpud serves its vhost-user socket. */
        if (!strcmp(json_string_value(json_object_get(vm, "kind")) ?: "", "qemu"))
            json_object_set_new(p, "backend", json_string("vhost-user"));
        json_array_append_new(ports, p);
    }
    json_t *port;
    json_array_foreach (json_object_get(c, "ports"), i, port) {
        if (strcmp(json_string_value(json_object_get(port, "dpu")), dpu->name))
            continue;
        json_t *p = json_pack("{s:O,s:O,s:O}", "name", json_object_get(port, "name"), "portgroup",
                              json_object_get(port, "portgroup"), "backend",
                              json_object_get(port, "backend"));
        if (json_object_get(port, "connect"))
            json_object_set(p, "connect", json_object_get(port, "connect"));
        json_array_append_new(ports, p);
    }
    return json_pack("{s:O,s:O,s:O,s:s,s:O*,s:O,s:o,s:o*}", "generation",
                     json_object_get(c, "generation"), "mac_age_s", json_object_get(c, "mac_age_s"),
                     "monitor_interval_s", json_object_get(c, "monitor_interval_s"), "dpu_mode",
                     pair ? "active-standby" : "independent", "teaming",
                     json_object_get(c, "teaming"), "portgroups", json_object_get(c, "portgroups"),
                     "ports", ports, "dfw", hostd_dfw_for_dpus(h));
}

static void
dpu_push(struct hostd *h, struct hostd_dpu *dpu)
{
    json_t *cfg = dpu_config(h, dpu), *res = NULL;
    char err[ERR_LEN] = "";
    if (hostd_dpu_call(h, dpu, "config.apply", cfg, &res, err, sizeof err) < 0) {
        log_warn("dpu=%s: push failed: %s", dpu->name, err);
    } else {
        json_t *errors = json_object_get(res, "errors");
        size_t i;
        json_t *e;
        json_array_foreach (errors, i, e)
            log_warn("dpu=%s: %s", dpu->name, json_string_value(e));
        log_info("dpu=%s: config generation %lld pushed", dpu->name,
                 (long long)json_integer_value(json_object_get(cfg, "generation")));
    }
    json_decref(res);
    json_decref(cfg);
}

void
hostd_dpus_push(struct hostd *h)
{
    for (unsigned i = 0; i < h->n_dpus; i++)
        dpu_push(h, &h->dpus[i]);
}

/* The host's revocation list to a DPU that has an older one (a DPU
 * restarted, replaced, or away when the manager sent it). */
static void
crl_push(struct hostd *h, struct hostd_dpu *dpu)
{
    size_t len;
    char *pem = fs_read_file(h->identity.tls.crl, 1 << 22, &len), err[ERR_LEN];
    json_t *args = pem ? json_pack("{s:s}", "pem", pem) : NULL;
    json_t *r = NULL;
    if (args && hostd_dpu_call(h, dpu, "crl.set", args, &r, err, sizeof err) < 0)
        log_warn("%s: revocation list: %s", dpu->name, err);
    json_decref(r);
    json_decref(args);
    free(pem);
}

void
hostd_dpus_sync(struct hostd *h)
{
    json_int_t gen = json_integer_value(json_object_get(h->config, "generation"));
    for (unsigned i = 0; i < h->n_dpus; i++) {
        struct hostd_dpu *dpu = &h->dpus[i];
        json_t *info = NULL;
        char err[ERR_LEN] = "";
        if (hostd_dpu_call(h, dpu, "dpu.info", NULL, &info, err, sizeof err) < 0) {
            continue;
        }
        json_decref(dpu->info);
        dpu->info = info;
        if (json_integer_value(json_object_get(info, "config_generation")) != gen)
            dpu_push(h, dpu);
        if (json_integer_value(json_object_get(info, "crl_number")) < h->identity.crl_number)
            crl_push(h, dpu);
    }
}

/* The DPUs' identities, from dpu.info; all must answer. */
int
hostd_dpu_identities(struct hostd *h, json_t **set, char *err, size_t err_len)
{
    *set = json_array();
    for (unsigned i = 0; i < h->n_dpus; i++) {
        json_t *info = NULL;
        int rc = hostd_dpu_call(h, &h->dpus[i], "dpu.info", NULL, &info, err, err_len);
        if (rc < 0) {
            json_decref(*set);
            *set = NULL;
            return rc;
        }
        json_array_append_new(
            *set,
            json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "name", h->dpus[i].name, "vendor",
                      dpu_str(info, "vendor"), "model", dpu_str(info, "model"), "hw_version",
                      dpu_str(info, "hw_version"), "firmware", dpu_str(info, "firmware"), "serial",
                      dpu_str(info, "serial"), "version", dpu_str(info, "version")));
        json_decref(info);
    }
    return 0;
}

/* The two DPUs of a host must be the same hardware running the same firmware. */
int
hostd_dpus_check_identical(json_t *set, char *err, size_t err_len)
{
    static const char *const keys[] = {"vendor", "model", "hw_version", "firmware"};
    json_t *a = json_array_get(set, 0);
    for (size_t i = 1; i < json_array_size(set); i++) {
        json_t *b = json_array_get(set, i);
        for (size_t k = 0; k < ARRAY_SIZE(keys); k++)
            if (strcmp(dpu_str(a, keys[k]), dpu_str(b, keys[k])))
                return err_set(
                    err, err_len, -ENOEXEC,
                    "refused: the DPUs of a host must be identical: %s has %s %s, %s has %s",
                    dpu_str(a, "name"), keys[k], dpu_str(a, keys[k]), dpu_str(b, "name"),
                    dpu_str(b, keys[k]));
    }
    return 0;
}

int
hostd_dpus_identical(struct hostd *h, char *err, size_t err_len)
{
    json_t *set = NULL;
    int rc = hostd_dpu_identities(h, &set, err, err_len);
    if (rc == 0)
        rc = hostd_dpus_check_identical(set, err, err_len);
    json_decref(set);
    return rc;
}
