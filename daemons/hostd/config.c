/* SPDX-License-Identifier: Apache-2.0 */
/* hostd config: the host's desired state, on disk as one JSON file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemons/hostd/hostd.h"
#include "lib/log.h"
#include "lib/util.h"

LOG_MODULE(hostd);

json_t *
hostd_config_find(json_t *array, const char *name)
{
    size_t i;
    json_t *e;
    json_array_foreach (array, i, e) {
        const char *n = json_string_value(json_object_get(e, "name"));
        if (n && !strcmp(n, name))
            return e;
    }
    return NULL;
}

json_t *
hostd_config_take(json_t *array, const char *name)
{
    size_t i;
    json_t *e;
    json_array_foreach (array, i, e) {
        const char *n = json_string_value(json_object_get(e, "name"));
        if (n && !strcmp(n, name)) {
            json_incref(e);
            json_array_remove(array, i);
            return e;
        }
    }
    return NULL;
}

/* Fills in what 'c' leaves out or gets wrong with the defaults.  Returns 0 or
 * -EINVAL when a list is not an array. */
static int
config_defaults(json_t *c, char *err, size_t err_len)
{
    static const char *const arrays[] = {"portgroups", "vms", "ports", "alarm_defs", "notify"};
    for (size_t i = 0; i < ARRAY_SIZE(arrays); i++) {
        json_t *a = json_object_get(c, arrays[i]);
        if (a && !json_is_array(a))
            return err_set(err, err_len, -EINVAL, "'%s' must be an array", arrays[i]);
        if (!a)
            json_object_set_new(c, arrays[i], json_array());
    }
    if (!json_is_integer(json_object_get(c, "generation")))
        json_object_set_new(c, "generation", json_integer(1));
    if (!json_is_integer(json_object_get(c, "mac_age_s")))
        json_object_set_new(c, "mac_age_s", json_integer(300));
    json_t *iv = json_object_get(c, "monitor_interval_s");
    if (!json_is_integer(iv) || json_integer_value(iv) < 0 || json_integer_value(iv) > 3600)
        json_object_set_new(c, "monitor_interval_s", json_integer(HOSTD_MONITOR_INTERVAL_S));
    const char *mode = json_string_value(json_object_get(c, "dpu_mode"));
    if (!mode || (strcmp(mode, "independent") && strcmp(mode, "active-standby")))
        json_object_set_new(c, "dpu_mode", json_string("independent"));
    json_t *hb = json_object_get(c, "heartbeat_ms");
    if (!json_is_integer(hb) || json_integer_value(hb) < 1 || json_integer_value(hb) > 1000)
        json_object_set_new(c, "heartbeat_ms", json_integer(HOSTD_HA_HEARTBEAT_MS));
    json_t *fb = json_object_get(c, "auto_failback_s");
    if (!json_is_integer(fb) || json_integer_value(fb) < 0 || json_integer_value(fb) > 3600)
        json_object_set_new(c, "auto_failback_s", json_integer(0));
    json_t *ds = json_object_get(c, "dfw_sync_ms");
    if (!json_is_integer(ds) || json_integer_value(ds) < 0 || json_integer_value(ds) > 60000)
        json_object_set_new(c, "dfw_sync_ms", json_integer(HOSTD_DFW_SYNC_MS));
    if (!json_is_integer(json_object_get(c, "next_vm")))
        json_object_set_new(c, "next_vm", json_integer(1));
    return 0;
}

int
hostd_config_parse(const char *text, size_t len, json_t **out, char *err, size_t err_len)
{
    json_error_t jerr;
    json_t *c = text ? json_loadb(text, len, 0, &jerr) : json_object();
    *out = NULL;
    if (!c && text)
        return err_set(err, err_len, -EINVAL, "%s (line %d)", jerr.text, jerr.line);
    if (!json_is_object(c)) {
        json_decref(c);
        return err_set(err, err_len, c ? -EINVAL : -ENOMEM,
                       c ? "not a JSON object" : "out of memory");
    }
    int rc = config_defaults(c, err, err_len);
    if (rc < 0) {
        json_decref(c);
        return rc;
    }
    *out = c;
    return 0;
}

int
hostd_config_load(struct hostd *h, char *err, size_t err_len)
{
    char why[256];
    size_t len = 0;
    snprintf(h->config_path, sizeof h->config_path, "%s/hostd.json", h->dir);
    char *text = fs_read_file(h->config_path, HOSTD_CONFIG_MAX, &len);
    if (!text && errno != ENOENT)
        return err_set(err, err_len, -errno, "%s: %s", h->config_path, strerror(errno));
    json_t *c;
    int rc = hostd_config_parse(text, len, &c, why, sizeof why);
    free(text);
    if (rc < 0)
        return err_set(err, err_len, rc, "%s: %s", h->config_path, why);
    json_decref(h->config);
    json_decref(h->saved);
    h->config = c;
    h->saved = json_deep_copy(c);
    return h->saved ? 0 : err_set(err, err_len, -ENOMEM, "out of memory");
}

/* Back to what is on disk. */
static void
restore(struct hostd *h)
{
    json_t *c = json_deep_copy(h->saved);
    if (!c)
        return; /* out of memory: what was changed stays, unsaved */
    json_decref(h->config);
    h->config = c;
}

int
hostd_config_commit(struct hostd *h, char *err, size_t err_len)
{
    json_int_t gen = json_integer_value(json_object_get(h->config, "generation")) + 1;
    json_object_set_new(h->config, "generation", json_integer(gen));
    char *text = json_dumps(h->config, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_t *copy = text ? json_deep_copy(h->config) : NULL;
    int rc = copy ? fs_write_atomic(h->config_path, text, strlen(text)) : -ENOMEM;
    free(text);
    if (rc < 0) {
        json_decref(copy);
        restore(h);
        /* -EIO whatever the cause: a state that cannot be saved is a failure
         * of the host, not a "not found" of what the caller named. */
        if (rc == -ENOMEM)
            return err_set(err, err_len, rc, "cannot save the configuration: out of memory");
        return err_set(err, err_len, -EIO, "cannot write %s: %s", h->config_path, strerror(-rc));
    }
    json_decref(h->saved);
    h->saved = copy;
    log_info("config generation %lld saved", (long long)gen);
    hostd_config_changed(h); /* the HA mode, the heartbeats, the VMs' VFs */
    return 0;
}

/* ---- the firewall's policy (dfw.c) ---- */

/* A copy of 'group' with the MACs of the VMs its "vms" names added to its
 * "macs" (an unknown VM named in '*unknown', when given). */
static json_t *
group_expand(struct hostd *h, json_t *group, const char **unknown)
{
    json_t *g = json_deep_copy(group), *vms = json_object_get(group, "vms"), *v;
    size_t i;
    if (!vms)
        return g;
    json_t *macs = json_object_get(g, "macs");
    if (!json_is_array(macs))
        json_object_set_new(g, "macs", macs = json_array());
    json_array_foreach (vms, i, v) {
        json_t *vm = hostd_config_find(json_object_get(h->config, "vms"), json_string_value(v));
        if (vm)
            json_array_append(macs, json_object_get(vm, "mac"));
        else if (unknown && !*unknown)
            *unknown = json_is_string(v) ? json_string_value(v) : "?";
    }
    json_object_del(g, "vms");
    return g;
}

json_t *
hostd_dfw_expand(struct hostd *h, json_t *policy, const char **unknown)
{
    if (!json_is_object(policy) || !json_is_array(json_object_get(policy, "groups")))
        return json_incref(policy);
    json_t *p = json_copy(policy), *groups = json_array(), *g;
    size_t i;
    json_array_foreach (json_object_get(policy, "groups"), i, g)
        json_array_append_new(groups, group_expand(h, g, unknown));
    json_object_set_new(p, "groups", groups);
    return p;
}

json_t *
hostd_dfw_for_dpus(struct hostd *h)
{
    json_t *p = json_object_get(h->config, "dfw");
    return p ? hostd_dfw_expand(h, p, NULL) : NULL;
}
