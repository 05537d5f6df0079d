/* SPDX-License-Identifier: Apache-2.0 */
/*
 * authz: who may call what over the network (DESIGN.md section 11).
 *
 * Every certificate the cluster CA (the lab CA until the manager exists)
 * issues names its device in the subject CN and exactly one role in a SAN URI
 * "urn:dse:role:ROLE", ROLE one of manager, host, dpu.  Authorization is two
 * questions, both answered here:
 *
 *   1. May this peer talk to this listener at all?  A listener has a policy:
 *      the peers it accepts, each a role with one CN or any CN of that role
 *      ("host:dse-h1", "dpu:dse-h1-dpu2", "manager").  A peer whose role and
 *      CN match no entry is refused.  A listener without a policy does not
 *      start (http_server_create refuses an empty one).
 *   2. May this peer's role run this command?  Each command table entry
 *      declares the roles that may call it over the network (cmd_def.roles);
 *      0 means the local control socket only, which may call everything.
 *
 * Refusals are counted process-wide per reason (authz_count), for the
 * daemons' metrics; the callers log them, rate-limited.
 *
 * Thread-safety: policies are immutable once built and may be read from any
 * thread; the counters are atomic.
 */
#ifndef DSE_AUTHZ_H
#define DSE_AUTHZ_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUTHZ_ROLE_URI_PREFIX "urn:dse:role:"

enum authz_role {
    AUTHZ_MANAGER = 1U << 0,
    AUTHZ_HOST = 1U << 1,
    AUTHZ_DPU = 1U << 2,
};
#define AUTHZ_ANY_ROLE (AUTHZ_MANAGER | AUTHZ_HOST | AUTHZ_DPU)

/* Why a caller was refused: the label of dse_*_api_refused_total. */
#define AUTHZ_REASONS(X)                                                                           \
    X(NO_CERT, "no-certificate") /* TLS: the client sent no certificate */                         \
    X(UNTRUSTED, "untrusted")    /* TLS: it does not chain to our CA */                            \
    X(EXPIRED, "expired")        /* TLS: outside its validity period */                            \
    X(REVOKED, "revoked")        /* TLS: on the CA's revocation list */                            \
    X(HANDSHAKE, "handshake")    /* TLS: any other failed handshake */                             \
    X(NO_ROLE, "no-role")        /* no CN, or not exactly one known role */                        \
    X(PEER, "peer")              /* role and CN not in the listener's policy */                    \
    X(COMMAND, "command")        /* the command does not allow the role */

enum authz_reason {
#define AUTHZ_ENUM(id, name) AUTHZ_R_##id,
    AUTHZ_REASONS(AUTHZ_ENUM)
#undef AUTHZ_ENUM
        AUTHZ_N_REASONS
};

#define AUTHZ_MAX_PEERS 16
#define AUTHZ_CN_MAX 128

struct authz_peer {
    unsigned role;         /* one enum authz_role bit */
    char cn[AUTHZ_CN_MAX]; /* "" for any CN of that role */
};

struct authz_policy {
    struct authz_peer peers[AUTHZ_MAX_PEERS];
    unsigned n_peers;
};

/* "manager", "host", "dpu" -> one role bit.  Returns 0, or -EINVAL. */
int authz_role_parse(const char *name, unsigned *role);
/* One role bit -> its name; "none" for 0 or several bits.  Can't fail. */
const char *authz_role_name(unsigned role);
/* A role mask as "manager,host" ("local" for 0) into 'buf'.  Can't fail. */
void authz_roles_format(unsigned roles, char *buf, size_t len);

/* Adds a peer "ROLE" or "ROLE:CN" to 'p'.  Returns 0, or -EINVAL (bad role or
 * CN, one line in 'err') or -ENOSPC (more than AUTHZ_MAX_PEERS).  Adding the
 * same peer twice is harmless. */
int authz_policy_add(struct authz_policy *p, const char *spec, char *err, size_t err_len);
/* The same with the parts apart; 'cn' NULL or "" for any CN of 'role'. */
int authz_policy_add_peer(struct authz_policy *p, unsigned role, const char *cn, char *err,
                          size_t err_len);
/* True when a peer of 'role' (one bit) with 'cn' matches an entry of 'p'. */
bool authz_policy_allows(const struct authz_policy *p, unsigned role, const char *cn);
/* The entries as ["host:dse-h1", "manager"], for logs and status.  NULL on
 * ENOMEM. */
json_t *authz_policy_json(const struct authz_policy *p);

/* Finds the role of a certificate from its SAN URIs, given as 'n' strings:
 * exactly one "urn:dse:role:ROLE" with a known ROLE.  Returns 0 and sets
 * '*role', or -ENOENT (none), -EINVAL (unknown role, or several) with one
 * line in 'err'. */
int authz_role_from_uris(const char *const *uris, size_t n, unsigned *role, char *err,
                         size_t err_len);

/* Counts one refusal.  Can't fail. */
void authz_count(enum authz_reason reason);
/* The count of 'reason' since the process started. */
uint64_t authz_refused(enum authz_reason reason);
/* The label of 'reason' ("no-certificate").  Can't fail. */
const char *authz_reason_name(enum authz_reason reason);
/* {"no-certificate": N, ...} with every reason.  NULL on ENOMEM. */
json_t *authz_refused_json(void);

#endif
