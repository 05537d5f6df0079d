/* SPDX-License-Identifier: Apache-2.0 */
/*
 * life: dpud's life, in the order main() calls it (dpud.h: dpud_open(),
 * dpud_cmdtab(), dpud_start(), dpud_stop(), dpud_close()), and the events
 * of the control thread that keep the switch going: link changes, the
 * second's tick (revalidation, ageing, monitoring).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemons/dpud/dpud.h"
#include "lib/linkwatch.h"
#include "lib/log.h"
#include "lib/rtloop.h"
#include "lib/tls.h"
#include "lib/util.h"

LOG_MODULE(dpud);

static void
on_link(int ifindex, const char *ifname, bool carrier, bool gone, void *aux)
{
    struct dpud *d = aux;
    dpud_pause(d);
    int id = sw_port_find(d->sw, ifname);
    const struct sw_port *p = id >= 0 ? sw_port_at(d->sw, (unsigned)id) : NULL;
    /* A vhost-user port is no kernel interface, whatever shares its name. */
    if (p && p->io->ifindex) {
        if (p->carrier != carrier)
            log_info("port=%s: carrier %s", ifname, carrier ? "up" : "down");
        sw_port_set_carrier(d->sw, (uint16_t)id, carrier, now_ms());
    }
    dpud_resume(d);
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct dpud *d = arg;
    offload_revalidate(d->off); /* first: it refreshes MACs the eswitch saw */
    bool collect = dpud_monitor_due(d, now_ms());
    dpud_pause(d);
    sw_tick(d->sw, now_ms());
    if (collect)
        dpud_monitor_switch(d); /* the switch's counters, in the same pause */
    dpud_resume(d);
    if (collect)
        dpud_monitor_finish(d);
}

static void
guard_enter(void *aux)
{
    dpud_pause(aux);
}

static void
guard_leave(void *aux)
{
    dpud_resume(aux);
}

static json_t *
load_platform(const char *path)
{
    json_t *defaults =
        json_pack("{s:s,s:s,s:s,s:s,s:s}", "vendor", "unknown", "model", "unknown", "hw_version",
                  "unknown", "firmware", "unknown", "serial", "unknown");
    if (!path)
        return defaults;
    json_error_t jerr;
    json_t *j = json_load_file(path, 0, &jerr);
    if (!json_is_object(j)) {
        log_warn("platform file %s: %s", path, j ? "not an object" : jerr.text);
        json_decref(j);
        return defaults;
    }
    json_object_update_missing(j, defaults);
    json_decref(defaults);
    return j;
}

struct cmdtab *
dpud_cmdtab(struct dpud *d)
{
    struct cmdtab *tab = cmdtab_create(dpud_commands, dpud_n_commands, d);
    if (!tab)
        return NULL;
    cmdtab_set_guard(tab, guard_enter, guard_leave);
    if (cmdtab_add(tab, dpud_software_commands, dpud_n_software_commands) < 0 ||
        cmdtab_add_aux(tab, agent_identity_commands, agent_identity_n_commands, &d->identity) < 0 ||
        cmdtab_add_aux(tab, agent_crl_commands, agent_crl_n_commands, &d->identity) < 0 ||
        cmdtab_add(tab, dpud_monitor_commands, dpud_n_monitor_commands) < 0 ||
        cmdtab_add(tab, dpud_dfw_commands, dpud_n_dfw_commands) < 0) {
        cmdtab_destroy(tab);
        return NULL;
    }
    return tab;
}

/* Loads the eswitch tier; without it, every flow runs in software. */
static void
eswitch_start(struct dpud *d)
{
    char err[ERR_LEN] = "";
    struct eswitch *es = eswitch_create(err, sizeof err);
    if (es)
        log_info("eswitch: xdp flow tier loaded");
    else
        log_warn("eswitch: %s (every flow runs in software)", err[0] ? err : "unavailable");
    dpud_eswitch_init(d, es);
}

/* The uplinks of --uplink; one that cannot be added is logged and left out. */
static void
uplinks_add(struct dpud *d)
{
    for (unsigned i = 0; i < d->n_uplinks; i++) {
        char err[ERR_LEN] = "";
        if (dpud_port_add(d, d->uplinks[i], SW_PORT_UPLINK, NULL, NULL, NULL, err, sizeof err) <
            0) {
            log_err("%s", err);
        }
    }
}

int
dpud_open(struct dpud *d, const struct dpud_setup *s, char *err, size_t err_len)
{
    d->started_ms = now_ms();
    if (d->dir && snprintf(d->vhost_path, sizeof d->vhost_path, "%s/run/vhost", d->dir) <
                      (int)sizeof d->vhost_path)
        d->vhost_dir = d->vhost_path;
    d->base = event_base_new();
    struct sw_params params = SW_PARAMS_DEFAULT;
    d->sw = sw_create(&params);
    if (!d->base || !d->sw)
        return err_set(err, err_len, -ENOMEM, "out of memory");
    d->platform = load_platform(s->platform_path);
    agent_identity_init(&d->identity, s->tls, d->name, AUTHZ_DPU);
    return dpud_monitor_init(d, err, err_len);
}

int
dpud_start(struct dpud *d, const struct dpud_setup *s, char *err, size_t err_len)
{
    if (!s->eswitch_off)
        eswitch_start(d);
    int rc = s->n_cpus ? dpud_workers_start(d, s->cpus, s->n_cpus, err, err_len) : 0;
    if (rc < 0)
        return rc;
    if (!(d->lw = linkwatch_create(d->base, on_link, d)))
        log_warn("linkwatch: %s (carrier changes will be missed)", strerror(errno));
    uplinks_add(d);
    if (s->ha_listen && (!s->tls->cert || !s->policy->n_peers))
        return err_set(err, err_len, -EINVAL, "--ha-listen needs --cert, --key, --ca and --allow");
    if (s->ha_listen && (rc = dpud_ha_start(d, s->ha_listen, s->tls, s->policy, err, err_len)) < 0)
        return rc;
    if (!(d->tick = event_new(d->base, -1, EV_PERSIST, on_tick, d)) ||
        event_add(d->tick, &(struct timeval){.tv_sec = 1}) < 0)
        return err_set(err, err_len, -ENOMEM, "out of memory");
    return 0;
}

void
dpud_stop(struct dpud *d)
{
    dpud_ha_stop(d);
    dpud_workers_stop(d);
    if (d->tick)
        event_free(d->tick);
    d->tick = NULL;
    linkwatch_destroy(d->lw);
    d->lw = NULL;
    for (unsigned i = 0; i < SW_MAX_PORTS; i++) {
        if (d->port_ev[i])
            event_free(d->port_ev[i]);
        d->port_ev[i] = NULL;
    }
}

void
dpud_close(struct dpud *d)
{
    agent_identity_fini(&d->identity);
    sw_destroy(d->sw);
    offload_destroy(d->off);
    eswitch_destroy(d->es);
    dpud_software_fini(d);
    dpud_monitor_fini(d);
    json_decref(d->platform);
    base_free_drained(d->base);
}
