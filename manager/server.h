/* SPDX-License-Identifier: Apache-2.0 */
/*
 * server: the manager's HTTPS listener.  It moves bytes between evhttp (on
 * OpenSSL bufferevents) and api_handle() (api.h): the method, path, query,
 * body, "Authorization: Bearer" and the peer's address in; the status and
 * the JSON body out.  Clients need no certificate (users log in with a
 * password); one that is presented must chain to the cluster CA.  Paths
 * outside /api/ and /metrics are the web page's static files (web.h), GET
 * only, with no login.
 *
 * Limits: bodies of at most SERVER_MAX_BODY bytes (413 beyond), headers of
 * 16 KiB, SERVER_TIMEOUT_S per connection.
 *
 * Thread-safety: the server and its API run on one event base.
 */
#ifndef DSE_SERVER_H
#define DSE_SERVER_H

#include <event2/event.h>
#include <openssl/ssl.h>
#include <stddef.h>
#include <stdint.h>

#include "manager/api.h"

#define SERVER_MAX_BODY (1024 * 1024)
#define SERVER_TIMEOUT_S 30

struct server;

/* Listens on 'addr':'port' with TLS context 'ctx' (a reference is taken),
 * serving 'api' (borrowed).  Returns NULL with the reason in 'err'. */
struct server *server_create(struct event_base *base, const char *addr, uint16_t port, SSL_CTX *ctx,
                             struct api *api, char *err, size_t err_len);
void server_destroy(struct server *); /* accepts NULL */

/* Serves the web page from 'web_dir' and the vendor libraries from
 * 'js_dir' (web.h; copied; NULL: none).  Returns 0 or -ENOMEM. */
int server_set_web(struct server *, const char *web_dir, const char *js_dir);

#endif
