/* SPDX-License-Identifier: Apache-2.0 */
/*
 * join: hosts join the cluster and leave it (DESIGN.md section 11).  A
 * one-time token lets a host send CSRs for itself and its DPUs; the CA
 * signs them with the names and roles the manager decides; removing a host
 * or a DPU revokes what was signed for it, and the CRL that says so goes to
 * every agent (the reconciler to hosts, each host to its DPUs).
 *
 *   /dse/v1/jointoken/SHA256  {"host", "expires_ms"}      the secret's hash
 *   /dse/v1/cert/SERIAL       {"object": KEY, "cn", "role", "issued_ms",
 *                              "revoked_ms"?}             every certificate signed
 *   /dse/v1/crl/cluster       {"number", "serials", "pem"} the list in force
 *
 * Design:
 *   - A token is "dsejoin.SECRET.PIN" (lib/identity.h): the store keeps only
 *     the SHA-256 of SECRET; PIN, the CA's fingerprint, lets the host check
 *     the manager before it sends anything.  A new token for a host replaces
 *     its unused one.  Using it deletes it in the transaction that records
 *     the certificates, expecting its version: two joins racing with one
 *     token, one wins.
 *   - The host's certificate: CN the host's "cn" (else its name), role host,
 *     SAN IP its address; a DPU's: CN "HOSTCN-DPU", role dpu (what hostd
 *     expects of its DPUs).  The DPUs' inventory objects are made or updated
 *     from what the host reports (vendor, model, firmware).
 *   - A join again (a reinstalled host) revokes what was signed before for
 *     the host and its DPUs, in the same transaction.  So does a delete of
 *     the host or DPU (join_revoke_txn(), in the delete's transaction): no
 *     removed object whose certificate still counts.
 *   - CRL numbers only go up; agents keep only a higher one.
 *
 * Errors: -EACCES (an unknown, used or expired token), -EINVAL (a bad
 * request), -ENOENT (the token's host is gone), the store's and the CA's,
 * with one line in 'err'.
 * Thread-safety: the store's and the CA's (the manager's event loop).
 */
#ifndef DSE_JOIN_H
#define DSE_JOIN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "manager/ca.h"
#include "manager/store.h"

#define JOIN_TOKEN_TTL_MS (24ull * 3600 * 1000)
#define JOIN_TOKEN_LEN 128
#define JOIN_CERT_DAYS 825
#define JOIN_CRL_DAYS 30
#define JOIN_MAX_DPUS 8

/* A new token for host 'host' (which must exist), valid 'ttl_ms' from
 * 'now_ms', into 'token'; its expiry into '*expires_ms'. */
int join_token_create(struct store *, struct ca *, const char *host, uint64_t now_ms,
                      uint64_t ttl_ms, const struct store_actor *actor, char token[JOIN_TOKEN_LEN],
                      int64_t *expires_ms, char *err, size_t err_len);

/* A join: 'req' {"token", "csr", "dpus": {NAME: {"csr", "vendor"?, "model"?,
 * "firmware"?}}} from 'peer'.  Returns 0 with '*reply' {"host", "cn",
 * "cert", "serial", "ca", "dpus": {NAME: CERT}, "crl"?, "revision"}. */
int join_host(struct store *, struct ca *, json_t *req, const char *peer, uint64_t now_ms,
              json_t **reply, char *err, size_t err_len);

/* Adds to 't' the revocation of every certificate signed for inventory
 * object 'key' (a host's also covers its DPUs'), and the new CRL when any
 * was revoked ('*revoked' true). */
int join_revoke_txn(struct store *, struct ca *, struct store_txn *t, const char *key,
                    uint64_t now_ms, bool *revoked, char *err, size_t err_len);

/* The CRL in force: '*number' (0: none yet) and '*pem' (caller frees;
 * NULL when none). */
int join_crl(struct store *, int64_t *number, char **pem, char *err, size_t err_len);

#endif
