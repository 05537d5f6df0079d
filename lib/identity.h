/* SPDX-License-Identifier: Apache-2.0 */
/*
 * identity: an agent's own key and certificate, renewed when it joins the
 * cluster, and the revocation list it checks its peers against (DESIGN.md
 * section 11).
 *
 *     identity_csr()      a fresh ECDSA P-256 key, kept 0600 at KEY.pending,
 *                         and a CSR for it: what the manager signs
 *     identity_install()  the certificate signed for that key: the pending
 *                         key becomes KEY, the certificate CERT
 *     identity_crl_store() a CRL of the cluster CA, kept at CRL if it is
 *                         newer than the one there
 *
 * After either of the last two, tls_ctx_reload() puts them in use.  The
 * private key never leaves the agent: the manager gets a CSR.
 *
 * Design: install checks everything before it writes anything: the
 * certificate is for the pending key, chains to the CA the agent already
 * trusts (joining another cluster's CA is refused: the agent's peers trust
 * the one it has), and names role 'role'.  It then renames the key into
 * place and writes the certificate (each atomic; a crash between the two
 * leaves a key that does not match, which the agent's start refuses in one
 * line, and a join again repairs).  CRL numbers only go up: an old list
 * replayed is refused.
 *
 * Errors are negative errno values with one line in 'err'.
 * Thread-safety: none; one caller at a time per identity.
 */
#ifndef DSE_IDENTITY_H
#define DSE_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#include "lib/tls.h"

/* A new key at 'p->key'.pending and a PEM CSR for 'cn' into '*csr'
 * (caller frees). */
int identity_csr(const struct tls_paths *p, const char *cn, char **csr, char *err, size_t err_len);

/* Installs PEM certificate 'cert' (for the pending key, chaining to
 * 'p->ca', with role 'role': one AUTHZ_* bit) as 'p->cert' and the pending
 * key as 'p->key'.  Writes its CN into 'cn' when not NULL. */
int identity_install(const struct tls_paths *p, const char *cert, unsigned role, char *cn,
                     size_t cn_len, char *err, size_t err_len);

/* Keeps PEM CRL 'pem' ('len' bytes), signed by the CA of 'p->ca', at
 * 'p->crl' when its number is above the kept one's.  Returns 1 (kept), 0
 * (not newer: nothing changed) or -errno; '*number' is the kept list's
 * number after the call. */
int identity_crl_store(const struct tls_paths *p, const char *pem, size_t len, int64_t *number,
                       char *err, size_t err_len);

/* The SHA-256 of the first certificate of PEM 'pem' (its DER), as 64 hex
 * digits and a NUL: a CA's fingerprint, which a join token pins. */
#define IDENTITY_SHA256_HEX 65
int identity_cert_sha256(const char *pem, size_t len, char hex[IDENTITY_SHA256_HEX], char *err,
                         size_t err_len);

/* A join token, one-time, as the manager gives it and a host presents it:
 * "dsejoin.SECRET.PIN": SECRET 32 hex digits (128 random bits; the manager
 * keeps only its SHA-256), PIN the fingerprint of the manager's CA, so
 * that the host knows it talks to the right manager before it sends
 * anything.  Splits 'token' into 'secret' and 'pin'; -EINVAL if malformed. */
#define IDENTITY_TOKEN_PREFIX "dsejoin."
#define IDENTITY_SECRET_HEX 33
int identity_token_parse(const char *token, char secret[IDENTITY_SECRET_HEX],
                         char pin[IDENTITY_SHA256_HEX]);

/* The number of the CRL kept at 'p->crl': 0 when there is none. */
int64_t identity_crl_number(const struct tls_paths *p);

#endif
