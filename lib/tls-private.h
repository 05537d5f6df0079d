/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tls-private: helpers shared by tls.c, http.c and httpc.c only.
 *
 * Thread-safety: every function here may be called from any thread.
 */
#ifndef DSE_TLS_PRIVATE_H
#define DSE_TLS_PRIVATE_H

#include <openssl/ssl.h>
#include <stddef.h>
#include <sys/socket.h>

/* Writes "ADDR:PORT" ("[ADDR]:PORT" for IPv6) of 'sa' into 'buf'. */
void tls_format_addr(const struct sockaddr *sa, char *buf, size_t len);

/* Writes the address of the peer of socket 'fd' into 'buf', or "?" if unknown. */
void tls_format_peer_fd(int fd, char *buf, size_t len);

/* Logs, rate-limited, at warn level: "peer=ADDR: MESSAGE" for 'ssl's peer, and
 * marks 'ssl' so that its failed handshake is not reported a second time. */
void tls_log_refusal(SSL *ssl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
