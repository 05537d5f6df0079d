/* SPDX-License-Identifier: Apache-2.0 */
/* dse-dpud: the DPU agent's main(): options, then its life (life.c). */
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
    struct dpud_setup s = {.platform_path = o.platform_path,
                           .eswitch_off = o.eswitch_off,
                           .cpus = cpus,
                           .n_cpus = (unsigned)n_cpus,
                           .ha_listen = o.ha_listen,
                           .tls = &c.tls,
                           .policy = &c.policy};
    char err[ERR_LEN] = "";
    struct daemon_servers *servers = NULL;
    struct cmdtab *tab = NULL;
    rc = 1;
    if (dpud_open(&d, &s, err, sizeof err) < 0 || !(tab = dpud_cmdtab(&d))) {
        fprintf(stderr, "dse-dpud: %s\n", err[0] ? err : "out of memory");
        goto out;
    }
    if (!(servers = daemon_start(d.base, &c, tab)))
        goto out;
    agent_identity_add_ctx(&d.identity, daemon_server_ctx(servers));
    if (dpud_start(&d, &s, err, sizeof err) < 0) {
        log_err("%s", err);
        goto out;
    }
    event_base_dispatch(d.base);
    log_info("stopped");
    rc = 0;
out:
    dpud_stop(&d);
    daemon_stop(servers);
    cmdtab_destroy(tab);
    dpud_close(&d);
    return rc;
}
