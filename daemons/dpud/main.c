/* SPDX-License-Identifier: Apache-2.0 */
/* dse-dpud: the DPU agent's main(): options, wiring, event loop. */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "daemons/common/daemon.h"
#include "daemons/dpud/dpud.h"
#include "lib/linkwatch.h"
#include "lib/log.h"
#include "lib/util.h"

LOG_MODULE(dpud);

static const char usage[] =
    "usage: dse-dpud --name NAME --dir DIR --ctl SOCKET [--listen ADDR:PORT\n"
    "                --cert PEM --key PEM --ca PEM --allow host:CN]\n"
    "                [--uplink IF]... [--platform FILE]\n"
    "                [--backend afxdp|afpacket] [--eswitch xdp|slowpath|off]\n"
    "                [--cores LIST|none] [--poll-us N] [--ha-listen ADDR:PORT]\n"
    "                [--log FILE] [--log-level err|warn|info|debug]\n"
    "The DPU agent: runs this DPU's switch and serves hostd over mutual TLS.\n"
    "  --cores    one poll-mode worker per listed CPU (\"1\", \"2-5\"); default the\n"
    "             first CPU dpud may run on; none: poll on the control thread\n"
    "  --poll-us  how long an idle worker keeps polling before it sleeps (default 0:\n"
    "             sleep as soon as a round finds nothing; the ports' kernel threads\n"
    "             share the core)\n"
    "  --allow    who may call the API (and --ha-listen): host:CN, this DPU's own\n"
    "             host (its certificate has role host and that CN); every command\n"
    "             is for the host role only\n"
    "  --ha-listen  heartbeats of dual-DPU high availability (mTLS, the API's\n"
    "             certificates and --allow)\n";

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

struct dpud_opts {
    struct dpud *d;
    const char *platform_path;
    bool eswitch_off;
    const char *cores;
    const char *ha_listen;
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
        if (strcmp(val, "afxdp") && strcmp(val, "afpacket")) {
            fprintf(stderr, "dse-dpud: --backend takes afxdp or afpacket\n");
            return -1;
        }
        o->d->backend = val;
    } else if (!strcmp(opt, "--cores")) {
        o->cores = val;
    } else if (!strcmp(opt, "--ha-listen")) {
        char addr[128];
        uint16_t port;
        if (parse_hostport(val, addr, sizeof addr, &port) < 0) {
            fprintf(stderr, "dse-dpud: --ha-listen %s: want ADDR:PORT\n", val);
            return -1;
        }
        o->ha_listen = val;
    } else if (!strcmp(opt, "--poll-us")) {
        long v;
        if (!parse_long(val, 0, 1000000, &v)) {
            fprintf(stderr, "dse-dpud: --poll-us takes microseconds (0..1000000)\n");
            return -1;
        }
        o->d->poll_us = (unsigned)v;
    } else if (!strcmp(opt, "--eswitch")) {
        if (strcmp(val, "xdp") && strcmp(val, "slowpath") && strcmp(val, "off")) {
            fprintf(stderr, "dse-dpud: --eswitch takes xdp, slowpath or off\n");
            return -1;
        }
        o->eswitch_off = !strcmp(val, "off");
        o->d->no_offload = !strcmp(val, "slowpath");
    } else {
        return 0;
    }
    return 1;
}

/* The workers' CPUs from --cores: by default the first CPU this process may
 * run on (in the lab, the DPU's core).  Returns the count, or -1 after a
 * one-line error. */
static int
worker_cpus(const char *cores, int *cpus)
{
    if (cores && !strcmp(cores, "none"))
        return 0;
    cpu_set_t allowed;
    if (sched_getaffinity(0, sizeof allowed, &allowed) < 0) {
        fprintf(stderr, "dse-dpud: cannot read the CPUs it may use: %s\n", strerror(errno));
        return -1;
    }
    if (!cores) {
        for (int c = 0; c < CPU_SETSIZE; c++)
            if (CPU_ISSET(c, &allowed)) {
                cpus[0] = c;
                return 1;
            }
        return -1;
    }
    int n = parse_cpu_list(cores, cpus, DPUD_MAX_WORKERS, CPU_SETSIZE);
    if (n < 0) {
        fprintf(stderr,
                "dse-dpud: --cores '%s': not a CPU list (\"1\", \"2-5\", \"1,3\"; "
                "at most %d) or none\n",
                cores, DPUD_MAX_WORKERS);
        return -1;
    }
    for (int i = 0; i < n; i++)
        if (!CPU_ISSET(cpus[i], &allowed)) {
            fprintf(stderr, "dse-dpud: --cores: CPU %d is not one dpud may run on\n", cpus[i]);
            return -1;
        }
    return n;
}

/* The command table: dpud's commands, guarded (they pause the workers), and
 * the software and monitor commands.  NULL on ENOMEM. */
static struct cmdtab *
commands_create(struct dpud *d)
{
    struct cmdtab *tab = cmdtab_create(dpud_commands, dpud_n_commands, d);
    if (!tab)
        return NULL;
    cmdtab_set_guard(tab, guard_enter, guard_leave);
    if (cmdtab_add(tab, dpud_software_commands, dpud_n_software_commands) < 0 ||
        cmdtab_add(tab, dpud_monitor_commands, dpud_n_monitor_commands) < 0) {
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

/* Starts 'n_cpus' workers, if any.  Returns 0, or -errno after logging why. */
static int
workers_start(struct dpud *d, const int *cpus, int n_cpus)
{
    char err[ERR_LEN] = "";
    int rc = n_cpus ? dpud_workers_start(d, cpus, (unsigned)n_cpus, err, sizeof err) : 0;
    if (rc < 0)
        log_err("%s", err);
    return rc;
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

/* Undoes main(), whatever part of it ran (NULLs are not there yet). */
static void
teardown(struct dpud *d, struct event *tick, struct linkwatch *lw, struct daemon_servers *servers,
         struct cmdtab *tab)
{
    dpud_ha_stop(d);
    dpud_workers_stop(d);
    if (tick)
        event_free(tick);
    linkwatch_destroy(lw);
    for (unsigned i = 0; i < SW_MAX_PORTS; i++)
        if (d->port_ev[i])
            event_free(d->port_ev[i]);
    daemon_stop(servers);
    cmdtab_destroy(tab);
    sw_destroy(d->sw);
    offload_destroy(d->off);
    eswitch_destroy(d->es);
    dpud_software_fini(d);
    dpud_monitor_fini(d);
    json_decref(d->platform);
    if (d->base)
        event_base_free(d->base);
}

int
main(int argc, char **argv)
{
    struct daemon_common c = {0};
    struct dpud d = {.generation = -1, .poll_us = DPUD_POLL_US_DEFAULT};

    struct dpud_opts o = {.d = &d};
    int rc = daemon_parse_args(argc, argv, "dse-dpud", usage, &c, dpud_option, &o);
    if (rc >= 0)
        return rc;

    if (o.eswitch_off && d.backend && !strcmp(d.backend, "afxdp")) {
        fprintf(stderr, "dse-dpud: --backend afxdp needs the eswitch (not --eswitch off)\n");
        return 2;
    }
    int cpus[DPUD_MAX_WORKERS];
    int n_cpus = worker_cpus(o.cores, cpus);
    if (n_cpus < 0)
        return 2;
    d.name = c.name;
    d.dir = c.dir;
    d.started_ms = now_ms();
    char vhost_dir[4096];
    if (c.dir &&
        snprintf(vhost_dir, sizeof vhost_dir, "%s/run/vhost", c.dir) < (int)sizeof vhost_dir)
        d.vhost_dir = vhost_dir;
    rc = 1;
    struct daemon_servers *servers = NULL;
    struct linkwatch *lw = NULL;
    struct event *tick = NULL;
    d.base = event_base_new();
    struct sw_params params = SW_PARAMS_DEFAULT;
    d.sw = sw_create(&params);
    struct cmdtab *tab = commands_create(&d);
    if (!d.base || !d.sw || !tab) {
        fprintf(stderr, "dse-dpud: out of memory\n");
        goto out;
    }
    servers = daemon_start(d.base, &c, tab);
    if (!servers)
        goto out;
    d.platform = load_platform(o.platform_path);
    char merr[ERR_LEN] = "";
    if (dpud_monitor_init(&d, merr, sizeof merr) < 0) {
        log_err("%s", merr);
        goto out;
    }
    if (!o.eswitch_off)
        eswitch_start(&d);
    if (workers_start(&d, cpus, n_cpus) < 0)
        goto out;
    lw = linkwatch_create(d.base, on_link, &d);
    if (!lw)
        log_warn("linkwatch: %s (carrier changes will be missed)", strerror(errno));
    uplinks_add(&d);
    if (o.ha_listen) {
        char err[ERR_LEN] = "";
        if (!c.tls.cert || !c.policy.n_peers ||
            dpud_ha_start(&d, o.ha_listen, &c.tls, &c.policy, err, sizeof err) < 0) {
            log_err("%s", err[0] ? err : "--ha-listen needs --cert, --key, --ca and --allow");
            goto out;
        }
    }
    tick = event_new(d.base, -1, EV_PERSIST, on_tick, &d);
    event_add(tick, &(struct timeval){.tv_sec = 1});

    event_base_dispatch(d.base);
    log_info("stopped");
    rc = 0;

out:
    teardown(&d, tick, lw, servers, tab);
    return rc;
}
