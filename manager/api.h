/* SPDX-License-Identifier: Apache-2.0 */
/*
 * api: the manager's REST API as a function.  A request (method, path,
 * query, body, the caller's bearer token, where it came from) goes in; a
 * status and a JSON body come out.  The HTTPS server only moves bytes, so
 * that unit tests drive everything a caller can do without a socket.
 *
 *   POST   /api/v1/login             {"user", "password"}
 *                                    -> {"token", "expires_ms"}
 *   POST   /api/v1/hosts/NAME/join-token  (administer on the host)
 *                                    -> 201 {"host", "token", "expires_ms"}
 *   POST   /api/v1/join              {"token", "csr", "dpus"} (no login: the
 *                                    token is the credential; join.h)
 *                                    -> {"host", "cn", "cert", "serial", "ca",
 *                                    "dpus": {NAME: CERT}, "crl"?, "task"}
 *   GET    /api/v1/ca, /api/v1/crl   (no login) {"pem", "sha256"}, {"number", "pem"?}
 *   GET    /api/v1/openapi.json      (no login) this API as OpenAPI 3.1
 *                                    (manager/openapi.json, built in)
 *   GET    /api/v1/KINDS             ?after=NAME&limit=N -> {"items": [OBJ], "next"?}
 *   GET    /api/v1/KINDS/NAME        -> OBJ
 *   POST   /api/v1/KINDS             {"name", "spec"} -> 201, OBJ
 *   POST   /api/v1/KINDS             {"items": [{"name", "spec"}...]} -> 201,
 *                                    {"items": [OBJ...]}: up to API_BULK_MAX
 *                                    at once, all or none, one task
 *   PUT    /api/v1/KINDS/NAME        {"spec", "resource_version"} -> OBJ
 *   DELETE /api/v1/KINDS/NAME        ?resource_version=N -> {"revision", "revoked"}
 *                                    (a host's or DPU's certificates revoked
 *                                    in the same transaction)
 *   GET    /api/v1/tasks             ?after=ID&limit=N -> {"items": [TASK], "next"?}
 *   GET    /api/v1/tasks/ID          TASK (task.h): a change's push to the hosts
 *   POST   /api/v1/tasks/ID/cancel   -> TASK, "cancelled": an operation on a host
 *                                    still queued (hostop.h); else 409
 *   POST   /api/v1/hosts/NAME/software/install {"bundle": PATH on the host,
 *                                    "update"?, "dry_run"?, "fresh"?} -> 202 {"task",
 *                                    "host", "kind"}: administer on the host
 *   POST   /api/v1/hosts/NAME/failover {"to": DPU} -> 202 {"task", "host",
 *                                    "kind"}: operate on the host
 *   GET    /api/v1/hosts/NAME/metrics ?window=hour|day: the figures of the host
 *                                    and its DPUs (fleet.h), oldest first
 *   GET    /metrics                  Prometheus text of the whole fleet (read on
 *                                    the root)
 *   GET    /api/v1/hosts/NAME/status what the manager last saw of the host
 *                                    (reconcile.h), 404 before it looked
 *   GET    /api/v1/alarms            ?host=H&severity=red|yellow|gray|green&state=active|all
 *                                    -> {"items": [ALARM]}, worst first (alarms.h: each
 *                                    names its host and DPU); active (the default):
 *                                    all but green
 *   POST   /api/v1/alarms/HOST/ID/ack -> 202 {"task", "host", "kind", "alarm"}: a task
 *                                    ("alarm.ack") that the reconciler runs on the host
 *   GET    /api/v1/events            ?object=H[/OBJECT]&since=MS&until=MS&type=PREFIX&limit=N
 *                                    -> {"items": [EVENT], "more"}: the newest N,
 *                                    oldest first (alarms.h)
 *   GET    /api/v1/dfw/policy        ?host=H -> {"host", "policy": POLICY|null, "digest":
 *                                    hex|null}: the firewall's policy host H gets,
 *                                    compiled now (dfw.h, docs/dfw.md); read on the host
 *   GET    /api/v1/dfw/stats         ?host=H -> the firewall's counters summed per rule
 *                                    over the fleet (read on the root), or over host
 *                                    H's DPUs (read on it; 404 before any) (dfwstats.h)
 *   GET    /api/v1/roles             -> {"items": [{"name", "may": [ACTION], "description"}]}:
 *                                    read-only, operator, admin (rbac.h); any user
 *   GET    /api/v1/users             -> {"items": [{"name", "grants"}]}
 *   POST   /api/v1/users             {"name", "password", "grants": [{"object", "role"}]}
 *   GET    /api/v1/audit             ?prefix=KEY&since_ms=&until_ms=&after=REV&limit=N
 *
 *   KINDS: datacenters, clusters, hosts, dpus, switches, portgroups, vms,
 *   vnics, alarmdefs, dfwgroups, dfwservices, dfwsections, dfwrules
 *   (inventory.h; NAME of a dpu, portgroup, vnic or dfwrule is PARENT/NAME).
 *   OBJ: {"kind", "name", "spec": {...}, "resource_version", "create_revision"},
 *   and after a change "task": the id of the task that pushes it to the hosts
 *
 * Every call but login carries "Authorization: Bearer TOKEN".  What it may
 * do is its user's role on the object (rbac.h over inventory.h's tree):
 * read to GET, operate to change inventory (on the parent, to create),
 * administer on the root for users and the audit log.  Alarms and events
 * are their host's: read to see them, operate to acknowledge.  A list shows only
 * the objects the caller may read.
 *
 * Errors are {"code", "message"}: 400 bad-request, 401 unauthenticated,
 * 403 forbidden, 404 not-found, 405 method-not-allowed, 409 conflict (an
 * update or delete that names an old resource_version, or a create of an
 * existing name), 409 not-empty (a delete of an object that still has
 * something), 429 too-many-requests (failed logins), 500 internal.  A
 * refused request writes nothing.
 *
 * Thread-safety: one thread at a time (the manager's event loop), as the
 * store.
 */
#ifndef DSE_API_H
#define DSE_API_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "manager/alarms.h"
#include "manager/hostop.h"
#include "manager/auth.h"
#include "manager/ca.h"
#include "manager/dfwstats.h"
#include "manager/fleet.h"
#include "manager/store.h"

#define API_TOKEN_TTL_MS (12ull * 3600 * 1000)
#define API_LIST_LIMIT 100    /* a page, unless 'limit' asks for fewer */
#define API_EVENTS_LIMIT 1000 /* events in one reply at most */
#define API_BULK_MAX 100      /* objects created by one request */

struct api;

struct api_params {
    struct store *store;          /* the caller's */
    const struct auth_cost *cost; /* of new password hashes; NULL: the default */
    uint64_t token_ttl_ms;        /* 0: API_TOKEN_TTL_MS */
    uint64_t (*now_ms)(void);     /* wall clock, ms since the epoch; NULL: the real one */
    /* Called after each change of the inventory with the id of the task
     * that pushes it to the hosts (task.h), and with NULL after an
     * operation on a host was queued (hostop.h: a round soon runs it).
     * Optional. */
    void (*changed)(void *aux, const char *task);
    struct fleet *fleet;         /* the figures (borrowed); NULL: none */
    struct alarms *alarms;       /* the alarms and events (borrowed); NULL: none */
    struct hostops *hostops;     /* where operations on hosts wait (borrowed); NULL: none */
    struct ca *ca;               /* the cluster CA (borrowed); NULL: no joins */
    struct dfw_stats *dfw_stats; /* the firewall's counters (borrowed); NULL: none */
    /* Called after a change of the CRL (a host or DPU removed, a host
     * joined again), to put it in force at once.  Optional. */
    void (*revoked)(void *aux);
    void *aux;
};

/* Returns 0 and '*out', or -ENOMEM. */
int api_create(const struct api_params *p, struct api **out);
void api_destroy(struct api *); /* accepts NULL */

/* With no user yet, creates user "admin" (admin on the root) with a random
 * password and writes that password into file 'path' (mode 0600): the first
 * login of a new manager.  Returns 1 (created), 0 (users exist: nothing
 * done), or -errno with the reason. */
int api_bootstrap_admin(struct api *, const char *path, char *err, size_t err_len);

struct api_request {
    const char *method; /* "GET", "POST", "PUT", "DELETE" */
    const char *path;   /* "/api/v1/portgroups/s1/pg-a", without the query */
    const char *query;  /* "after=x&limit=10" (percent-encoded), or NULL */
    const char *body;   /* may be NULL */
    size_t body_len;
    const char *bearer; /* the token of "Authorization: Bearer", or NULL */
    const char *peer;   /* "198.19.0.10:51234" */
};

struct api_reply {
    int status;
    json_t *body; /* the caller's (json_decref) */
    char *text;   /* instead of 'body': text/plain (GET /metrics); the caller's (free) */
    size_t text_len;
};

/* Handles 'req' into 'rep'.  This function can't fail: every failure is a
 * reply. */
void api_handle(struct api *, const struct api_request *req, struct api_reply *rep);

#endif
