/* SPDX-License-Identifier: Apache-2.0 */
/*
 * identity: what an agent (hostd, dpud) does with its own identity at run
 * time: the TLS contexts that carry it, loaded again together when a join
 * gave a new certificate or the manager a new revocation list, and the
 * commands that do it (lib/identity.h does the files).
 *
 *     identity.csr      {[cn]} -> {"csr"}: a new key kept pending, its CSR
 *                       (host: the host asks each DPU when it joins)
 *     identity.install  {"cert"}: the signed certificate of that key, in
 *                       use at once
 *     crl.set           {"pem"} -> {"number", "changed"}: a newer CRL, in use
 *                       at once (the manager to a host, a host to its DPUs)
 *     crl.show          {} -> {"number"}
 *
 * Design: contexts are registered with a reference (SSL_CTX_up_ref) and
 * reloaded in place (tls_ctx_reload), so that the threads that use them
 * (HA, workers) need no hand-over.  Commands run on the control thread.
 */
#ifndef DSE_AGENT_IDENTITY_H
#define DSE_AGENT_IDENTITY_H

#include <openssl/ssl.h>
#include <stdint.h>

#include "lib/cmdtab.h"
#include "lib/tls.h"

#define AGENT_IDENTITY_MAX_CTX 4

struct agent_identity {
    struct tls_paths tls;
    const char *name; /* the CN a CSR asks for by default (--name) */
    unsigned role;    /* the agent's role (AUTHZ_HOST, AUTHZ_DPU) */
    SSL_CTX *ctxs[AGENT_IDENTITY_MAX_CTX];
    unsigned n_ctxs;
    int64_t crl_number; /* of the list in use: 0 none (control thread) */
};

/* 'tls' and 'name' are borrowed: they must outlive 'id'.  Reads the kept
 * CRL's number. */
void agent_identity_init(struct agent_identity *id, const struct tls_paths *tls, const char *name,
                         unsigned role);
/* Registers 'ctx' (NULL: ignored; a reference is taken).  Returns 0 or
 * -ENOSPC. */
int agent_identity_add_ctx(struct agent_identity *id, SSL_CTX *ctx);
void agent_identity_fini(struct agent_identity *id);

/* Loads the files again into every registered context.  Returns 0 or the
 * first failure (-errno, one line in 'err'); the others are still tried. */
int agent_identity_reload(struct agent_identity *id, char *err, size_t err_len);

/* Installs certificate 'cert' for the pending key and reloads.  (What
 * identity.install runs; hostd's join uses it for its own.) */
int agent_identity_install(struct agent_identity *id, const char *cert, char *err, size_t err_len);
/* Keeps PEM CRL 'pem' if newer and reloads.  Returns 1 (newer, in use), 0
 * (not newer) or -errno; '*number' is the list in use after. */
int agent_identity_crl_set(struct agent_identity *id, const char *pem, int64_t *number, char *err,
                           size_t err_len);

/* The commands (aux: the struct agent_identity): identity.*, a DPU's, for
 * its host (AUTHZ_HOST); crl.*, a host's and a DPU's, for the manager or
 * the host (AUTHZ_MANAGER | AUTHZ_HOST; each listener's policy admits one
 * of them). */
extern const struct cmd_def agent_identity_commands[];
extern const size_t agent_identity_n_commands;
extern const struct cmd_def agent_crl_commands[];
extern const size_t agent_crl_n_commands;

#endif
