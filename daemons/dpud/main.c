/* SPDX-License-Identifier: Apache-2.0 */
/* dse-dpud: the DPU agent's main(): options, wiring, event loop. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "daemon.h"
#include "dpud.h"
#include "linkwatch.h"
#include "log.h"
#include "util.h"

LOG_MODULE(dpud);

static const char usage[] =
    "usage: dse-dpud --name NAME --dir DIR --ctl SOCKET [--listen ADDR:PORT\n"
    "                --cert PEM --key PEM --ca PEM [--allow-cn CN]...]\n"
    "                [--uplink IF]... [--platform FILE] [--backend afpacket]\n"
    "                [--eswitch xdp|off]\n"
    "                [--log FILE] [--log-level err|warn|info|debug]\n"
    "The DPU agent: runs this DPU's switch and serves hostd over mutual TLS.\n";

static void
on_link(int ifindex, const char *ifname, bool carrier, bool gone, void *aux)
{
    struct dpud *d = aux;
    int id = sw_port_find(d->sw, ifname);
    if (id < 0)
        return;
    const struct sw_port *p = sw_port_at(d->sw, (unsigned)id);
    if (!p->io->ifindex)
        return; /* not a kernel interface that happens to share the name */
    if (p->carrier != carrier)
        log_info("port=%s: carrier %s", ifname, carrier ? "up" : "down");
    sw_port_set_carrier(d->sw, (uint16_t)id, carrier, now_ms());
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct dpud *d = arg;
    dpud_eswitch_revalidate(d); /* first: it refreshes MACs the eswitch saw */
    sw_tick(d->sw, now_ms());
}

static json_t *
load_platform(const char *path)
{
    json_t *defaults = json_pack("{s:s,s:s,s:s,s:s,s:s}", "vendor", "unknown", "model",
                                 "unknown", "hw_version", "unknown", "firmware", "unknown",
                                 "serial", "unknown");
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

struct dpud_opts {
    struct dpud *d;
    const char *platform_path;
    bool eswitch_off;
};

static int
dpud_option(const char *opt, const char *val, void *aux)
{
    struct dpud_opts *o = aux;
    if (!strcmp(opt, "--uplink")) {
        if (o->d->n_uplinks == DPUD_MAX_UPLINKS) {
            fprintf(stderr, "dse-dpud: at most %d uplinks\n", DPUD_MAX_UPLINKS);
            return -1;
        }
        o->d->uplinks[o->d->n_uplinks++] = val;
    } else if (!strcmp(opt, "--platform")) {
        o->platform_path = val;
    } else if (!strcmp(opt, "--backend")) {
        o->d->backend = val;
    } else if (!strcmp(opt, "--eswitch")) {
        if (strcmp(val, "xdp") && strcmp(val, "off")) {
            fprintf(stderr, "dse-dpud: --eswitch takes xdp or off\n");
            return -1;
        }
        o->eswitch_off = !strcmp(val, "off");
    } else {
        return 0;
    }
    return 1;
}

int
main(int argc, char **argv)
{
    struct daemon_common c = {0};
    struct dpud d = {.generation = -1};

    struct dpud_opts o = {.d = &d};
    int rc = daemon_parse_args(argc, argv, "dse-dpud", usage, &c, dpud_option, &o);
    if (rc >= 0)
        return rc;

    d.name = c.name;
    d.started_ms = now_ms();
    char vhost_dir[4096];
    if (c.dir && snprintf(vhost_dir, sizeof vhost_dir, "%s/run/vhost", c.dir) < (int)sizeof vhost_dir)
        d.vhost_dir = vhost_dir;
    rc = 1;
    struct daemon_servers *servers = NULL;
    struct linkwatch *lw = NULL;
    struct event *tick = NULL;
    d.base = event_base_new();
    struct sw_params params = SW_PARAMS_DEFAULT;
    d.sw = sw_create(&params);
    struct cmdtab *tab = cmdtab_create(dpud_commands, dpud_n_commands, &d);
    if (!d.base || !d.sw || !tab) {
        fprintf(stderr, "dse-dpud: out of memory\n");
        goto out;
    }
    servers = daemon_start(d.base, &c, tab);
    if (!servers)
        goto out;
    d.platform = load_platform(o.platform_path);
    if (!o.eswitch_off) {
        char *err = NULL;
        struct eswitch *es = eswitch_create(&err);
        if (es)
            log_info("eswitch: xdp flow tier loaded");
        else
            log_warn("eswitch: %s (every flow runs in software)", err ? err : "unavailable");
        free(err);
        dpud_eswitch_init(&d, es);
    }

    lw = linkwatch_create(d.base, on_link, &d);
    if (!lw)
        log_warn("linkwatch: %s (carrier changes will be missed)", strerror(errno));
    for (unsigned i = 0; i < d.n_uplinks; i++) {
        char *err = NULL;
        if (dpud_port_add(&d, d.uplinks[i], SW_PORT_UPLINK, NULL, NULL, &err) < 0) {
            log_err("%s", err);
            free(err);
        }
    }
    tick = event_new(d.base, -1, EV_PERSIST, on_tick, &d);
    event_add(tick, &(struct timeval){.tv_sec = 1});

    event_base_dispatch(d.base);
    log_info("stopped");
    rc = 0;

out:
    if (tick)
        event_free(tick);
    linkwatch_destroy(lw);
    for (unsigned i = 0; i < SW_MAX_PORTS; i++)
        if (d.port_ev[i])
            event_free(d.port_ev[i]);
    daemon_stop(servers);
    cmdtab_destroy(tab);
    sw_destroy(d.sw);
    eswitch_destroy(d.es);
    json_decref(d.platform);
    if (d.base)
        event_base_free(d.base);
    return rc;
}
