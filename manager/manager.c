/* SPDX-License-Identifier: Apache-2.0 */
/* manager: the state directory, CA, identity, store, API and listener. */
#include "manager/manager.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/authz.h"
#include "lib/log.h"
#include "lib/tls.h"
#include "lib/util.h"
#include "manager/alarms.h"
#include "manager/api.h"
#include "manager/ca.h"
#include "manager/fleet.h"
#include "manager/join.h"
#include "manager/reconcile.h"
#include "manager/server.h"
#include "manager/store.h"

LOG_MODULE(manager);

#define CERT_DAYS 825
#define CA_DAYS 3650

struct manager {
    struct manager_params p;
    char dir[4096];
    char ca_dir[4200], tls_dir[4200], pwfile[4200], crl_path[4200];
    struct tls_paths tp; /* the listener's: its CRL reloaded on a revocation */
    char cert[4300], key[4300], cap[4300];
    struct ca *ca;
    bool wrote_password;
    struct store *store;
    struct api *api;
    struct server *server;
    SSL_CTX *ssl;    /* the listener's */
    SSL_CTX *client; /* to call hosts, as the manager */
    struct reconciler *reconcile;
    struct fleet *fleet;
    struct alarms *alarms;
    struct hostops *hostops;
    struct dfw_stats *dfw_stats;
};

static bool
exists(const char *path)
{
    return access(path, F_OK) == 0;
}

/* STATE/ca (made if missing, kept open: it signs joins), and the
 * manager's identity: --cert and --key, or STATE/tls (issued if missing). */
static int
open_trust(struct manager *m, char *err, size_t err_len)
{
    char path[4300];
    snprintf(path, sizeof path, "%s/ca.key", m->ca_dir);
    int rc = exists(path) ? 0 : ca_create(m->ca_dir, "dse-cluster-ca", CA_DAYS, err, err_len);
    if (rc == 0 && (rc = ca_open(m->ca_dir, &m->ca, err, err_len)) == 0 && !m->p.cert) {
        snprintf(path, sizeof path, "%s/cert.pem", m->tls_dir);
        if (!exists(path))
            rc = ca_issue(m->ca, m->tls_dir, m->p.name, AUTHZ_MANAGER, m->p.addr, CERT_DAYS, err,
                          err_len);
    }
    if (rc < 0)
        return rc;
    snprintf(m->cert, sizeof m->cert, "%s/cert.pem", m->tls_dir);
    snprintf(m->key, sizeof m->key, "%s/key.pem", m->tls_dir);
    snprintf(m->cap, sizeof m->cap, "%s/ca.pem", m->ca_dir);
    m->tp = (struct tls_paths){.cert = m->p.cert ? m->p.cert : m->cert,
                               .key = m->p.key ? m->p.key : m->key,
                               .ca = m->cap,
                               .crl = m->crl_path};
    if (!(m->ssl = tls_server_ctx(&m->tp, err, err_len)) ||
        !(m->client = tls_client_ctx(
              &(struct tls_paths){.cert = m->tp.cert, .key = m->tp.key, .ca = m->tp.ca}, err,
              err_len)))
        return -EIO;
    tls_ctx_peer_cert_optional(m->ssl);
    /* A connection to each host stays open between rounds (reconcile.h):
     * its buffers go back while it idles (13 KiB a host). */
    SSL_CTX_set_mode(m->client, SSL_MODE_RELEASE_BUFFERS);
    return 0;
}

/* The CRL in force, from the store to STATE/crl.pem and into the
 * listener: a revoked host is refused from the next handshake on. */
static int
crl_sync(struct manager *m, char *err, size_t err_len)
{
    int64_t number = 0;
    char *pem = NULL;
    int rc = join_crl(m->store, &number, &pem, err, err_len);
    if (rc == 0 && pem && (rc = fs_write_atomic(m->crl_path, pem, strlen(pem))) < 0)
        err_set(err, err_len, rc, "%s: %s", m->crl_path, strerror(-rc));
    if (rc == 0 && pem)
        rc = tls_ctx_reload(m->ssl, &m->tp, err, err_len);
    free(pem);
    return rc;
}

/* The API's hook: the CRL changed. */
static void
revoked(void *aux)
{
    struct manager *m = aux;
    char err[ERR_LEN];
    if (crl_sync(m, err, sizeof err) < 0)
        log_err("revocation list: %s", err);
}

/* The API's hook: the inventory changed, reconcile soon. */
static void
reconcile_kick_of(void *aux, const char *task)
{
    struct manager *m = aux;
    reconcile_kick(m->reconcile, task);
}

int
manager_open(const struct manager_params *p, struct manager **out, char *err, size_t err_len)
{
    struct manager *m = calloc(1, sizeof *m);
    if (!m)
        return err_set(err, err_len, -ENOMEM, "out of memory");
    m->p = *p;
    snprintf(m->dir, sizeof m->dir, "%s", p->state_dir);
    snprintf(m->ca_dir, sizeof m->ca_dir, "%s/ca", m->dir);
    snprintf(m->tls_dir, sizeof m->tls_dir, "%s/tls", m->dir);
    snprintf(m->pwfile, sizeof m->pwfile, "%s/admin-password", m->dir);
    snprintf(m->crl_path, sizeof m->crl_path, "%s/crl.pem", m->dir);
    char db[4300];
    snprintf(db, sizeof db, "%s/store.db", m->dir);
    int rc = fs_mkdir_p(m->dir, 0700);
    if (rc < 0 || chmod(m->dir, 0700) < 0)
        rc = err_set(err, err_len, rc < 0 ? rc : -errno, "%s: %s", m->dir,
                     strerror(rc < 0 ? -rc : errno));
    if (rc == 0)
        rc = open_trust(m, err, err_len);
    if (rc == 0)
        rc = store_open(db, &m->store, err, err_len);
    if (rc == 0 && (!(m->fleet = fleet_create()) || !(m->alarms = alarms_create()) ||
                    !(m->hostops = hostops_create()) || !(m->dfw_stats = dfw_stats_create())))
        rc = err_set(err, err_len, -ENOMEM, "out of memory");
    if (rc == 0)
        rc = crl_sync(m, err, err_len);
    struct api_params ap = {.store = m->store,
                            .changed = reconcile_kick_of,
                            .revoked = revoked,
                            .aux = m,
                            .fleet = m->fleet,
                            .alarms = m->alarms,
                            .hostops = m->hostops,
                            .dfw_stats = m->dfw_stats,
                            .ca = m->ca};
    if (rc == 0 && api_create(&ap, &m->api) < 0)
        rc = err_set(err, err_len, -ENOMEM, "out of memory");
    if (rc == 0 && (rc = api_bootstrap_admin(m->api, m->pwfile, err, err_len)) >= 0) {
        m->wrote_password = rc == 1;
        rc = 0;
    }
    if (rc < 0) {
        manager_close(m);
        return rc;
    }
    *out = m;
    return 0;
}

int
manager_start(struct manager *m, struct event_base *base, char *err, size_t err_len)
{
    char db[4300];
    snprintf(db, sizeof db, "%s/store.db", m->dir);
    struct reconcile_params rp = {.store_path = db,
                                  .client = m->client,
                                  .fleet = m->fleet,
                                  .alarms = m->alarms,
                                  .hostops = m->hostops,
                                  .dfw_stats = m->dfw_stats,
                                  .interval_ms = m->p.interval_ms,
                                  .task_keep_ms = m->p.task_keep_ms};
    int rc = reconcile_start(&rp, &m->reconcile, err, err_len);
    if (rc < 0)
        return rc;
    m->server = server_create(base, m->p.addr, m->p.port, m->ssl, m->api, err, err_len);
    if (m->server && server_set_web(m->server, m->p.web_dir, m->p.js_dir) < 0)
        return err_set(err, err_len, -ENOMEM, "out of memory");
    return m->server ? 0 : -EADDRNOTAVAIL;
}

void
manager_close(struct manager *m)
{
    if (!m)
        return;
    server_destroy(m->server);
    reconcile_stop(m->reconcile);
    api_destroy(m->api);
    fleet_destroy(m->fleet);
    alarms_destroy(m->alarms);
    hostops_destroy(m->hostops);
    dfw_stats_destroy(m->dfw_stats);
    store_close(m->store);
    ca_close(m->ca);
    if (m->ssl)
        SSL_CTX_free(m->ssl);
    if (m->client)
        SSL_CTX_free(m->client);
    free(m);
}

const char *
manager_admin_password_path(const struct manager *m)
{
    return m->wrote_password ? m->pwfile : NULL;
}

static int
cmd_info(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct manager *m = ctx->aux;
    int64_t rev = 0;
    int rc = store_revision(m->store, &rev, err, err_len);
    if (rc < 0)
        return rc;
    *result = json_pack("{s:s,s:s,s:i,s:I,s:s?}", "state_dir", m->dir, "address", m->p.addr, "port",
                        (int)m->p.port, "revision", (json_int_t)rev, "admin_password",
                        manager_admin_password_path(m));
    return 0;
}

static const struct cmd_def commands[] = {
    {.name = "manager.info", .usage = "", .fn = cmd_info, .flags = CMD_UNGUARDED},
};

struct cmdtab *
manager_cmdtab(struct manager *m)
{
    return cmdtab_create(commands, sizeof commands / sizeof commands[0], m);
}
