/* SPDX-License-Identifier: Apache-2.0 */
/* dse-hostd: the host agent's main(): options, wiring, event loop. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "daemons/common/daemon.h"
#include "daemons/hostd/hostd.h"
#include "lib/log.h"
#include "lib/util.h"

LOG_MODULE(hostd);

static const char usage[] =
    "usage: dse-hostd --name NAME --dir DIR --ctl SOCKET --cert PEM --key PEM --ca PEM\n"
    "                 --dpu NAME=ADDR:PORT,cn=CN [--dpu ...] [--listen ADDR:PORT]\n"
    "                 [--allow ROLE[:CN]]... [--lab PREFIX --lab-cmd PATH]\n"
    "                 [--dpu-oob NAME=DIR]... [--metrics-listen ADDR:PORT]\n"
    "                 [--log FILE] [--log-level err|warn|info|debug]\n"
    "The host agent: keeps the host's switch config and drives its DPUs over the\n"
    "internal network with mutual TLS.\n"
    "  --allow    who may call the API of --listen (needed with it): manager or\n"
    "             manager:CN.  Management commands come from the manager only;\n"
    "             this host's DPUs (their CNs from --dpu) are let in for what DPUs\n"
    "             send; other hosts and DPUs get nothing\n"
    "  --dpu-oob  where DPU NAME's device directory can be read when it does not\n"
    "             answer (the out-of-band path, for support bundles)\n"
    "  --metrics-listen  serve Prometheus text on http://ADDR:PORT/metrics\n";

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
    hostd_dpus_sync(arg);
}

static int
hostd_option(const char *opt, const char *val, void *aux)
{
    struct hostd *h = aux;
    if (!strcmp(opt, "--dpu")) {
        char err[ERR_LEN] = "";
        if (h->n_dpus == HOSTD_MAX_DPUS) {
            fprintf(stderr, "dse-hostd: at most %d DPUs\n", HOSTD_MAX_DPUS);
            return -1;
        }
        if (hostd_dpu_parse(&h->dpus[h->n_dpus++], val, err, sizeof err) < 0) {
            fprintf(stderr, "dse-hostd: %s\n", err);
            return -1;
        }
    } else if (!strcmp(opt, "--dpu-oob")) {
        char err[ERR_LEN] = "";
        if (hostd_support_oob_parse(h, val, err, sizeof err) < 0) {
            fprintf(stderr, "dse-hostd: %s\n", err);
            return -1;
        }
    } else if (!strcmp(opt, "--lab")) {
        h->lab_prefix = val;
    } else if (!strcmp(opt, "--lab-cmd")) {
        h->lab_cmd = val;
    } else if (!strcmp(opt, "--metrics-listen")) {
        char addr[128];
        uint16_t port;
        if (parse_hostport(val, addr, sizeof addr, &port) < 0) {
            fprintf(stderr, "dse-hostd: --metrics-listen %s: want ADDR:PORT\n", val);
            return -1;
        }
        h->metrics_listen = val;
    } else {
        return 0;
    }
    return 1;
}

int
main(int argc, char **argv)
{
    struct daemon_common c = {0};
    struct hostd h = {0};

    int rc = daemon_parse_args(argc, argv, "dse-hostd", usage, &c, hostd_option, &h);
    if (rc >= 0)
        return rc;
    if (!c.tls.cert || !c.tls.key || !c.tls.ca) {
        fprintf(stderr, "dse-hostd: missing --cert, --key or --ca (DPUs need mTLS)\n");
        return 2;
    }
    if (h.lab_prefix && !h.lab_cmd) {
        fprintf(stderr, "dse-hostd: --lab needs --lab-cmd\n");
        return 2;
    }
    char err[ERR_LEN] = "";
    if (hostd_support_oob_check(&h, err, sizeof err) < 0) {
        fprintf(stderr, "dse-hostd: %s\n", err);
        return 2;
    }
    for (unsigned i = 0; i < h.n_dpus; i++) {
        char aerr[160];
        if (authz_policy_add_peer(&c.policy, AUTHZ_DPU, h.dpus[i].cn, aerr, sizeof aerr) < 0) {
            fprintf(stderr, "dse-hostd: --dpu %s: %s\n", h.dpus[i].name, aerr);
            return 2;
        }
    }
    h.name = c.name;
    h.hooks = (struct hostd_hooks){.config_changed = hostd_ha_reconfigure,
                                   .event = hostd_monitor_event,
                                   .metrics = hostd_ha_metrics};
    h.dir = c.dir;
    rc = 1;
    struct daemon_servers *servers = NULL;
    struct event *tick = NULL;
    h.base = event_base_new();
    struct cmdtab *tab = cmdtab_create(hostd_commands, hostd_n_commands, &h);
    if (tab && (cmdtab_add(tab, hostd_software_commands, hostd_n_software_commands) < 0 ||
                cmdtab_add(tab, hostd_monitor_commands, hostd_n_monitor_commands) < 0)) {
        cmdtab_destroy(tab);
        tab = NULL;
    }
    if (!h.base || !tab) {
        fprintf(stderr, "dse-hostd: out of memory\n");
        goto out;
    }
    if (hostd_config_load(&h, err, sizeof err) < 0) {
        fprintf(stderr, "dse-hostd: %s\n", err);
        goto out;
    }
    h.client_ssl = tls_client_ctx(&c.tls, err, sizeof err);
    if (!h.client_ssl) {
        fprintf(stderr, "dse-hostd: tls: %s\n", err);
        goto out;
    }
    servers = daemon_start(h.base, &c, tab);
    if (!servers)
        goto out;
    if (hostd_monitor_start(&h, err, sizeof err) < 0) {
        log_err("monitor: %s", err);
        goto out;
    }
    if (hostd_ha_start(&h, err, sizeof err) < 0) {
        log_err("ha: %s", err);
        goto out;
    }

    hostd_dpus_sync(&h);
    tick = event_new(h.base, -1, EV_PERSIST, on_tick, &h);
    event_add(tick, &(struct timeval){.tv_sec = 1});

    event_base_dispatch(h.base);
    log_info("stopped");
    rc = 0;

out:
    if (tick)
        event_free(tick);
    hostd_ha_stop(&h);
    hostd_monitor_stop(&h);
    daemon_stop(servers);
    cmdtab_destroy(tab);
    for (unsigned i = 0; i < h.n_dpus; i++)
        json_decref(h.dpus[i].info);
    json_decref(h.config);
    json_decref(h.saved);
    if (h.client_ssl)
        SSL_CTX_free(h.client_ssl);
    if (h.base)
        event_base_free(h.base);
    return rc;
}
