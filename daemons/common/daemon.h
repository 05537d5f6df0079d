/* SPDX-License-Identifier: Apache-2.0 */
/*
 * daemon: what every dse daemon's main() shares: the TLS identity options,
 * signal handling on the event loop, and starting the control socket and the
 * mTLS HTTP API on one command table.
 */
#ifndef DSE_DAEMON_H
#define DSE_DAEMON_H

#include <event2/event.h>
#include <openssl/ssl.h>
#include <stdint.h>

#include "lib/authz.h"
#include "lib/cmdtab.h"
#include "lib/tls.h"

struct daemon_common {
    const char *name;      /* device name, e.g. "dse-h1-dpu1" */
    const char *dir;       /* device directory */
    const char *ctl_path;  /* Unix control socket */
    const char *listen;    /* "ADDR:PORT" of the HTTP API, or NULL */
    const char *log_path;  /* NULL: stderr */
    const char *log_level; /* "info" by default */
    struct tls_paths tls;       /* --cert, --key, --ca, --crl (default: CA's dir/crl.pem) */
    struct authz_policy policy; /* --allow ROLE[:CN]...: who may call the API */
    char crl_default[4096];
};

/* Handles one of the common options (--name, --dir, --ctl, --listen, --log,
 * --log-level, --cert, --key, --ca, --crl, --allow).  Returns 1 if 'opt' was one of
 * them, 0 if not, -1 if its value is bad (message printed). */
int daemon_common_option(struct daemon_common *c, const char *opt, const char *val);

/* Checks that the mandatory options are present (--listen needs the TLS
 * identity and at least one --allow: a listener without a policy does not
 * start); prints what is missing. */
int daemon_common_check(const struct daemon_common *c, const char *prog);

/* A daemon's own "--opt VALUE" options: return 1 if taken, 0 if unknown, -1
 * if the value is bad (after printing why). */
typedef int (*daemon_opt_fn)(const char *opt, const char *val, void *aux);

/* Parses the whole command line: --help, --version, the common options and,
 * through 'opt_fn', the daemon's own; then checks the mandatory ones.  Returns
 * -1 to go on, or the exit status to end with (0 after --help or --version, 2
 * on a usage error, with the reason printed). */
int daemon_parse_args(int argc, char **argv, const char *prog, const char *usage,
                      struct daemon_common *c, daemon_opt_fn opt_fn, void *aux);

struct daemon_servers;

/* Starts logging, the control socket and (when 'c->listen' is set) the HTTP API
 * serving 'tab' to the peers of 'c->policy', and makes SIGINT/SIGTERM end the
 * loop of 'base'.  Returns NULL after printing the reason. */
struct daemon_servers *daemon_start(struct event_base *base, const struct daemon_common *c,
                                    struct cmdtab *tab);
void daemon_stop(struct daemon_servers *);
/* The TLS context of the HTTP API (NULL without --listen): what a new
 * identity or revocation list is loaded into (identity.h). */
SSL_CTX *daemon_server_ctx(const struct daemon_servers *);

/* Splits "ADDR:PORT" (IPv6 in brackets) into 'addr' and '*port'. */
int parse_hostport(const char *s, char *addr, size_t addr_len, uint16_t *port);

#endif
