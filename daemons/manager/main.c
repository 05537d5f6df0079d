/* SPDX-License-Identifier: Apache-2.0 */
/* dse-manager: options, then the manager's life (manager/manager.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "config.h"
#include "daemons/common/daemon.h"
#include "lib/log.h"
#include "lib/rtloop.h"
#include "lib/util.h"
#include "manager/manager.h"

LOG_MODULE(manager);

static const char usage[] =
    "usage: dse-manager --state-dir DIR [--listen ADDR:PORT] [--name NAME]\n"
    "                   [--cert PEM --key PEM] [--ctl SOCKET] [--web-dir DIR]\n"
    "                   [--interval SECONDS] [--task-keep-hours N]\n"
    "                   [--log FILE] [--log-level err|warn|info|debug]\n"
    "The datacenter's manager: inventory, users and audit, over HTTPS (/api/v1).\n"
    "  --state-dir  its state: the cluster CA (DIR/ca, made if missing), the store\n"
    "               (DIR/store.db), the first admin's password (DIR/admin-password)\n"
    "  --listen     the HTTPS API (default 127.0.0.1:8443)\n"
    "  --name       its name (default dse-manager): the CN of the certificate it\n"
    "               issues itself (DIR/tls) when --cert and --key are not given\n"
    "  --ctl        its control socket for dsectl (default DIR/manager.sock)\n"
    "  --web-dir    the web page's files, served at / (default " DSE_WEB_DIR ");\n"
    "               its libraries from " DSE_JS_DIR " at /vendor/\n"
    "  --interval   how often each host is reconciled and its figures collected\n"
    "               (1..3600 s, default 10)\n"
    "  --task-keep-hours  how long an ended task is kept (1..8760, default 168)\n";

struct opts {
    struct daemon_common c;
    const char *state_dir, *listen, *web_dir;
    long interval_s, task_keep_h;
    char addr[64];
    uint16_t port;
};

/* One option: the manager's own, then the common ones it uses. */
static int
option(struct opts *o, const char *opt, const char *val)
{
    if (!strcmp(opt, "--state-dir"))
        o->state_dir = val;
    else if (!strcmp(opt, "--listen"))
        o->listen = val;
    else if (!strcmp(opt, "--web-dir"))
        o->web_dir = val;
    else if (!strcmp(opt, "--interval"))
        return parse_long(val, 1, 3600, &o->interval_s) ? 1 : -1;
    else if (!strcmp(opt, "--task-keep-hours"))
        return parse_long(val, 1, 8760, &o->task_keep_h) ? 1 : -1;
    else if (!strcmp(opt, "--name") || !strcmp(opt, "--ctl") || !strcmp(opt, "--log") ||
             !strcmp(opt, "--log-level") || !strcmp(opt, "--cert") || !strcmp(opt, "--key"))
        return daemon_common_option(&o->c, opt, val);
    else
        return 0;
    return 1;
}

/* Returns -1 to go on, or the exit status. */
static int
parse(int argc, char **argv, struct opts *o)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
            return fputs(usage, stdout), 0;
        if (!strcmp(argv[i], "--version"))
            return printf("dse-manager %s\n", DSE_VERSION), 0;
        if (i + 1 >= argc)
            return fprintf(stderr, "dse-manager: %s needs a value (try --help)\n", argv[i]), 2;
        int r = option(o, argv[i], argv[i + 1]);
        if (r <= 0) {
            if (r == 0)
                fprintf(stderr, "dse-manager: unknown option %s (try --help)\n", argv[i]);
            else if (!strcmp(argv[i], "--interval"))
                fprintf(stderr, "dse-manager: --interval: 1 to 3600 seconds\n");
            return 2;
        }
        i++;
    }
    const char *bad = !o->state_dir ? "missing --state-dir"
                      : parse_hostport(o->listen, o->addr, sizeof o->addr, &o->port) < 0
                          ? "--listen: want ADDR:PORT"
                      : !o->c.tls.cert != !o->c.tls.key ? "--cert and --key go together"
                                                        : NULL;
    if (bad)
        return fprintf(stderr, "dse-manager: %s (try --help)\n", bad), 2;
    return -1;
}

/* As many open files as the hard limit allows: the reconciler keeps a
 * connection to each host (manager/reconcile.h). */
static void
raise_nofile(void)
{
    struct rlimit r;
    if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
        r.rlim_cur = r.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &r) < 0)
            log_warn("cannot raise the open-file limit: %s", strerror(errno));
    }
}

int
main(int argc, char **argv)
{
    struct opts o = {.listen = "127.0.0.1:8443", .web_dir = DSE_WEB_DIR};
    int rc = parse(argc, argv, &o);
    if (rc >= 0)
        return rc;
    char ctl[4200], err[ERR_LEN] = "";
    snprintf(ctl, sizeof ctl, "%s/manager.sock", o.state_dir);
    o.c.name = o.c.name ? o.c.name : "dse-manager";
    o.c.ctl_path = o.c.ctl_path ? o.c.ctl_path : ctl;
    struct manager_params p = {.state_dir = o.state_dir,
                               .addr = o.addr,
                               .port = o.port,
                               .name = o.c.name,
                               .cert = o.c.tls.cert,
                               .key = o.c.tls.key,
                               .web_dir = o.web_dir,
                               .js_dir = DSE_JS_DIR,
                               .interval_ms = (unsigned)o.interval_s * 1000,
                               .task_keep_ms = (uint64_t)o.task_keep_h * 3600 * 1000};
    raise_nofile();
    struct manager *m = NULL;
    struct cmdtab *tab = NULL;
    struct daemon_servers *servers = NULL;
    struct event_base *base = event_base_new();
    rc = 1;
    if (!base || manager_open(&p, &m, err, sizeof err) < 0 || !(tab = manager_cmdtab(m))) {
        fprintf(stderr, "dse-manager: %s\n", err[0] ? err : "out of memory");
        goto out;
    }
    if (!(servers = daemon_start(base, &o.c, tab)))
        goto out;
    if (manager_start(m, base, err, sizeof err) < 0) {
        log_err("%s", err);
        goto out;
    }
    if (manager_admin_password_path(m))
        log_info("the first admin's password (user admin) is in %s",
                 manager_admin_password_path(m));
    event_base_dispatch(base);
    log_info("stopped");
    rc = 0;
out:
    daemon_stop(servers);
    cmdtab_destroy(tab);
    manager_close(m);
    base_free_drained(base);
    return rc;
}
