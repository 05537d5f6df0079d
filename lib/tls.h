/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tls: OpenSSL contexts for mutual TLS between dse agents.
 *
 * Every agent has a certificate and key issued by its lab (or cluster) CA.  A
 * server context demands a client certificate that chains to the CA
 * (SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT); a client context verifies
 * the server's chain.  TLS 1.2 is the floor.  Verification failures and refused
 * handshakes are logged with the peer's address and the reason, rate-limited,
 * and a server counts each (authz_count: no certificate, untrusted, expired,
 * other handshake failures).
 *
 * Thread-safety: an SSL_CTX may be shared by threads once created.
 */
#ifndef DSE_TLS_H
#define DSE_TLS_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/authz.h"
#include <stddef.h>

struct tls_paths {
    const char *cert; /* PEM certificate of this agent */
    const char *key;  /* PEM private key */
    const char *ca;   /* PEM CA certificate(s) that peers must chain to */
    const char *crl;  /* PEM CRL of that CA, checked when the file exists; NULL: none */
};

/* Return a new context, or NULL with one line in 'err'. */
SSL_CTX *tls_server_ctx(const struct tls_paths *paths, char *err, size_t err_len);
SSL_CTX *tls_client_ctx(const struct tls_paths *paths, char *err, size_t err_len);

/* Loads the certificate, key and CRL of 'paths' again into 'ctx' (one of
 * the above, for the same CA): after a join gave this agent a new identity,
 * or the manager a new revocation list.  All or nothing: the key must match
 * the certificate and the CRL must be signed by the CA, else nothing
 * changes.  A CRL replaces the one loaded before; once a CRL is loaded,
 * every peer certificate is checked against it (X509_V_FLAG_CRL_CHECK),
 * and a list past its next-update time is still used: a stale list is
 * better than none, and agents never depend on the manager being up.
 * Connections already made keep their session.  Any thread. */
int tls_ctx_reload(SSL_CTX *ctx, const struct tls_paths *paths, char *err, size_t err_len);

/* Checks PEM CRL 'pem' ('len' bytes) against CA file 'ca': signed by it.
 * Returns 0 with its CRL number (0 when it has none) in '*number', or
 * -EINVAL with one line in 'err'. */
int tls_crl_check(const char *pem, size_t len, const char *ca, int64_t *number, char *err,
                  size_t err_len);

/* Makes server context 'ctx' accept clients without a certificate (the
 * manager's users, who log in with a password); a certificate that is
 * presented is still verified.  This function can't fail. */
void tls_ctx_peer_cert_optional(SSL_CTX *ctx);

/* Copies the peer certificate's subject CN into 'buf'.  Returns false when the
 * peer presented no certificate or it has no CN. */
bool tls_peer_cn(SSL *ssl, char *buf, size_t len);

/* The peer's identity: its certificate's CN into 'cn' and its one role
 * (authz.h: a SAN URI "urn:dse:role:ROLE") into '*role'.  Returns 0, or
 * -ENOENT (no certificate, no usable CN, no role) or -EINVAL (an unknown
 * role, several roles) with one line in 'err'. */
int tls_peer_identity(SSL *ssl, char *cn, size_t cn_len, unsigned *role, char *err, size_t err_len);

/* The same of certificate 'cert'. */
int tls_cert_identity(X509 *cert, char *cn, size_t cn_len, unsigned *role, char *err,
                      size_t err_len);

/* Whether the peer of 'ssl' may talk to a listener of 'policy': its identity
 * (above) matches one of the policy's peers.  Returns 0 with 'cn' and
 * '*role' set, or -EACCES with '*reason' (AUTHZ_R_NO_ROLE or AUTHZ_R_PEER),
 * 'cn' ("?" when unknown) and one line in 'why'.  Counts nothing. */
int tls_peer_authorize(SSL *ssl, const struct authz_policy *policy, char *cn, size_t cn_len,
                       unsigned *role, enum authz_reason *reason, char *why, size_t why_len);

/* Formats the pending OpenSSL error queue into one line (and clears it). */
void tls_error_string(char *buf, size_t len);

struct bufferevent;
struct event_base;
/* The bufferevent of one accepted connection for evhttp_set_bevcb(): a
 * server-side TLS session of 'ctx' on a socket evhttp attaches later (the
 * handshake starts when the connection is enabled); a peer that closes
 * without close_notify is no error.  NULL on ENOMEM. */
struct bufferevent *tls_bev_accepting(struct event_base *base, SSL_CTX *ctx);

/* Writes a short message (one TLS record) on a connected SSL socket
 * bufferevent at once: through SSL_write when nothing is queued, so that no
 * write event is armed and disarmed around it (two epoll_ctl calls and a
 * turn of the loop fewer: what a heartbeat costs), else queued behind what
 * is.  Returns 0, or -1 when the record could not go out whole (the peer has
 * read nothing for so long that the socket's send buffer is full, or the
 * connection failed): the connection is then unusable, close it. */
int tls_bev_write_now(struct bufferevent *bev, const void *buf, size_t len);

#endif
