/* SPDX-License-Identifier: Apache-2.0 */
/* hostd: its life (open, start, stop, close) and its command table (hostd.h). */
#include "daemons/hostd/hostd.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "lib/authz.h"
#include "lib/log.h"
#include "lib/rtloop.h"
#include "lib/tls.h"
#include "lib/util.h"

int
hostd_open(struct hostd *h, const struct tls_paths *tls, char *err, size_t err_len)
{
    if (!(h->base = event_base_new()))
        return err_set(err, err_len, -ENOMEM, "out of memory");
    int rc = hostd_config_load(h, err, err_len);
    if (rc < 0)
        return rc;
    char why[ERR_LEN];
    if (!(h->client_ssl = tls_client_ctx(tls, why, sizeof why)))
        return err_set(err, err_len, -EINVAL, "tls: %s", why);
    agent_identity_init(&h->identity, tls, h->name, AUTHZ_HOST);
    return agent_identity_add_ctx(&h->identity, h->client_ssl);
}

struct cmdtab *
hostd_cmdtab(struct hostd *h)
{
    struct cmdtab *tab = cmdtab_create(hostd_commands, hostd_n_commands, h);
    if (tab && (cmdtab_add(tab, hostd_software_commands, hostd_n_software_commands) < 0 ||
                cmdtab_add(tab, hostd_monitor_commands, hostd_n_monitor_commands) < 0 ||
                cmdtab_add(tab, hostd_join_commands, hostd_n_join_commands) < 0 ||
                cmdtab_add(tab, hostd_dfw_commands, hostd_n_dfw_commands) < 0 ||
                cmdtab_add(tab, hostd_migrate_commands, hostd_n_migrate_commands) < 0 ||
                cmdtab_add_aux(tab, agent_crl_commands, agent_crl_n_commands, &h->identity) < 0)) {
        cmdtab_destroy(tab);
        return NULL;
    }
    return tab;
}

/* Every second: a heartbeat to each DPU, the config pushed where it lags. */
static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
    hostd_dpus_sync(arg);
}

int
hostd_start(struct hostd *h, char *err, size_t err_len)
{
    char why[ERR_LEN];
    if (hostd_monitor_start(h, why, sizeof why) < 0)
        return err_set(err, err_len, -EIO, "monitor: %s", why);
    if (hostd_ha_start(h, why, sizeof why) < 0)
        return err_set(err, err_len, -EIO, "ha: %s", why);
    if (hostd_dfwsync_start(h, why, sizeof why) < 0)
        return err_set(err, err_len, -EIO, "dfw sync: %s", why);
    hostd_dpus_sync(h);
    if (!(h->tick = event_new(h->base, -1, EV_PERSIST, on_tick, h)) ||
        event_add(h->tick, &(struct timeval){.tv_sec = 1}) < 0)
        return err_set(err, err_len, -ENOMEM, "out of memory");
    return 0;
}

void
hostd_stop(struct hostd *h)
{
    if (h->tick)
        event_free(h->tick);
    h->tick = NULL;
    hostd_dfwsync_stop(h);
    hostd_ha_stop(h);
    hostd_monitor_stop(h);
    hostd_software_stop(h);
}

void
hostd_close(struct hostd *h)
{
    for (unsigned i = 0; i < h->n_dpus; i++)
        json_decref(h->dpus[i].info);
    json_decref(h->config);
    json_decref(h->saved);
    agent_identity_fini(&h->identity);
    if (h->client_ssl)
        SSL_CTX_free(h->client_ssl);
    base_free_drained(h->base);
}
