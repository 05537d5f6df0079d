/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ca: the cluster's certificate authority, held by the manager (DESIGN.md
 * section 11).  It signs the certificates of the hosts that join (and,
 * through them, their DPUs) from certificate signing requests, and keeps the
 * list of revoked ones as a CRL that agents load.
 *
 * Design: the manager decides everything a certificate says.  From a CSR it
 * takes the public key only (and checks the CSR's signature, so that the
 * requester holds the private key); the subject is the CN the manager
 * assigns, the role is one SAN URI "urn:dse:role:ROLE" (lib/authz.h), an
 * optional SAN IP the address the device answers on.  Certificates are
 * end-entity (CA:FALSE), for TLS servers and clients, with a random 128-bit
 * serial.  Keys are ECDSA P-256, as the lab's.
 *
 *     DIR/ca.key   the CA's private key (0600)     DIR/ca.pem   its certificate
 *
 * Errors are negative errno values with one line in 'err': -EINVAL (a CSR or
 * argument refused), -ENOENT (no CA in DIR), -EIO (OpenSSL failed),
 * -ENOSPC (an output buffer too small), -ENOMEM.
 *
 * Thread-safety: a struct ca is used by one thread at a time.
 */
#ifndef DSE_CA_H
#define DSE_CA_H

#include <stddef.h>
#include <stdint.h>

struct ca;

#define CA_SERIAL_HEX_LEN 33 /* 128 bits as hex, NUL */
#define CA_PEM_MAX 8192 /* enough for one certificate */

/* Creates a CA named 'cn' in directory 'dir' (created 0700 if missing),
 * valid 'days'.  Refuses (-EEXIST) when DIR/ca.key exists. */
int ca_create(const char *dir, const char *cn, unsigned days, char *err, size_t err_len);

/* Opens the CA in 'dir'.  Returns 0 with '*out' (ca_close()). */
int ca_open(const char *dir, struct ca **out, char *err, size_t err_len);
void ca_close(struct ca *); /* accepts NULL */

/* The CA's certificate, PEM, into 'out'. */
int ca_cert_pem(const struct ca *, char *out, size_t out_len, char *err, size_t err_len);

/* Signs the key of PEM CSR 'csr' (at most 'csr_len' bytes) for 'cn' with
 * role 'role' (one AUTHZ_* bit) and, when 'ip' is not NULL, that SAN IP,
 * valid 'days' from now.  Writes the certificate, PEM, into 'out' and its
 * serial, hex, into 'serial'. */
int ca_sign_csr(struct ca *, const char *csr, size_t csr_len, const char *cn, unsigned role,
                const char *ip, unsigned days, char *out, size_t out_len,
                char serial[CA_SERIAL_HEX_LEN], char *err, size_t err_len);

/* Issues a certificate to a new key of the CA's own making (the manager's
 * own identity): DIR/key.pem (0600), DIR/cert.pem and DIR/ca.pem, for 'cn',
 * 'role' and 'ip' as ca_sign_csr() says. */
int ca_issue(struct ca *, const char *dir, const char *cn, unsigned role, const char *ip,
             unsigned days, char *err, size_t err_len);

/* A CRL, PEM, into 'out': the 'n' serials (hex, as ca_sign_csr() wrote
 * them) revoked, with CRL number 'number' (agents keep only a higher one),
 * issued at 'now_s' (seconds since the epoch), valid 'days'.  'out_len':
 * CA_CRL_PEM_LEN(n). */
#define CA_CRL_PEM_LEN(n) (2048 + (size_t)(n) * 80)
int ca_crl_pem(struct ca *, const char *const *serials, size_t n, int64_t number, int64_t now_s,
               unsigned days, char *out, size_t out_len, char *err, size_t err_len);

#endif
