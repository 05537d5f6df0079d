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
#include "platform/lab/lab.h"

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

/* What parsing one option at a time cannot check. */
static int
check_options(struct daemon_common *c, struct hostd *h)
{
    char err[ERR_LEN] = "";
    if (!c->tls.cert || !c->tls.key || !c->tls.ca)
        snprintf(err, sizeof err, "missing --cert, --key or --ca (DPUs need mTLS)");
    else if (h->lab_prefix && !h->lab_cmd)
        snprintf(err, sizeof err, "--lab needs --lab-cmd");
    else
        hostd_support_oob_check(h, err, sizeof err);
    /* The host's own DPUs may call it, as DPUs (DESIGN.md section 11). */
    for (unsigned i = 0; !err[0] && i < h->n_dpus; i++)
        authz_policy_add_peer(&c->policy, AUTHZ_DPU, h->dpus[i].cn, err, sizeof err);
    if (!err[0])
        return 0;
    fprintf(stderr, "dse-hostd: %s\n", err);
    return -1;
}

int
main(int argc, char **argv)
{
    struct daemon_common c = {0};
    struct hostd h = {0};
    int rc = daemon_parse_args(argc, argv, "dse-hostd", usage, &c, hostd_option, &h);
    if (rc >= 0)
        return rc;
    if (check_options(&c, &h) < 0)
        return 2;
    h.name = c.name;
    h.dir = c.dir;
    struct lab_platform lab;
    char err[ERR_LEN] = "";
    if (h.lab_prefix) {
        if (lab_platform_init(&lab, h.lab_prefix, h.lab_cmd, h.name, h.dir, err, sizeof err) < 0) {
            fprintf(stderr, "dse-hostd: %s\n", err);
            return 2;
        }
        h.platform = (struct platform){.ops = &lab_platform_ops, .aux = &lab};
    }
    h.hooks = (struct hostd_hooks){.config_changed = hostd_ha_reconfigure,
                                   .event = hostd_monitor_event,
                                   .metrics = hostd_ha_metrics};
    struct daemon_servers *servers = NULL;
    struct cmdtab *tab = NULL;
    rc = 1;
    if (hostd_open(&h, &c.tls, err, sizeof err) < 0 || !(tab = hostd_cmdtab(&h))) {
        fprintf(stderr, "dse-hostd: %s\n", err[0] ? err : "out of memory");
        goto out;
    }
    if (!(servers = daemon_start(h.base, &c, tab)))
        goto out;
    agent_identity_add_ctx(&h.identity, daemon_server_ctx(servers));
    if (hostd_start(&h, err, sizeof err) < 0) {
        log_err("%s", err);
        goto out;
    }
    event_base_dispatch(h.base);
    log_info("stopped");
    rc = 0;
out:
    hostd_stop(&h);
    daemon_stop(servers);
    cmdtab_destroy(tab);
    hostd_close(&h);
    return rc;
}
