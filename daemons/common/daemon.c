/* SPDX-License-Identifier: Apache-2.0 */
/* daemon: shared option handling and server start-up for dse daemons. */
#include "daemons/common/daemon.h"

#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "lib/ctl.h"
#include "lib/http.h"
#include "lib/log.h"
#include "lib/util.h"

LOG_MODULE(daemon);

struct daemon_servers {
    struct ctl_server *ctl;
    struct http_server *http;
    struct event *sigint, *sigterm;
    SSL_CTX *ssl;
};

int
daemon_common_option(struct daemon_common *c, const char *opt, const char *val)
{
    static const struct {
        const char *opt;
        size_t ofs;
    } strs[] = {
        {"--name", offsetof(struct daemon_common, name)},
        {"--dir", offsetof(struct daemon_common, dir)},
        {"--ctl", offsetof(struct daemon_common, ctl_path)},
        {"--listen", offsetof(struct daemon_common, listen)},
        {"--log", offsetof(struct daemon_common, log_path)},
        {"--log-level", offsetof(struct daemon_common, log_level)},
        {"--cert", offsetof(struct daemon_common, tls.cert)},
        {"--key", offsetof(struct daemon_common, tls.key)},
        {"--ca", offsetof(struct daemon_common, tls.ca)},
        {"--crl", offsetof(struct daemon_common, tls.crl)},
    };
    for (size_t i = 0; i < ARRAY_SIZE(strs); i++) {
        if (!strcmp(opt, strs[i].opt)) {
            *(const char **)((char *)c + strs[i].ofs) = val;
            return 1;
        }
    }
    if (!strcmp(opt, "--allow")) {
        char err[160];
        if (authz_policy_add(&c->policy, val, err, sizeof err) < 0) {
            fprintf(stderr, "--allow: %s\n", err);
            return -1;
        }
        return 1;
    }
    return 0;
}

int
daemon_common_check(const struct daemon_common *c, const char *prog)
{
    const char *missing = !c->name ? "--name" : !c->ctl_path ? "--ctl" : !c->dir ? "--dir" : NULL;
    if (!missing && c->listen && (!c->tls.cert || !c->tls.key || !c->tls.ca))
        missing = "--cert, --key and --ca (needed by --listen)";
    if (!missing && c->listen && !c->policy.n_peers)
        missing = "--allow ROLE[:CN] (who may call --listen; without one it does not start)";
    if (missing) {
        fprintf(stderr, "%s: missing %s (try --help)\n", prog, missing);
        return -1;
    }
    return 0;
}

int
daemon_parse_args(int argc, char **argv, const char *prog, const char *usage,
                  struct daemon_common *c, daemon_opt_fn opt_fn, void *aux)
{
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        if (!strcmp(opt, "--help") || !strcmp(opt, "-h")) {
            fputs(usage, stdout);
            return 0;
        }
        if (!strcmp(opt, "--version")) {
            printf("%s %s\n", prog, DSE_VERSION);
            return 0;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "%s: %s needs a value (try --help)\n", prog, opt);
            return 2;
        }
        const char *val = argv[++i];
        int r = daemon_common_option(c, opt, val);
        if (r == 0)
            r = opt_fn(opt, val, aux);
        if (r < 0)
            return 2;
        if (r == 0) {
            fprintf(stderr, "%s: unknown option %s (try --help)\n", prog, opt);
            return 2;
        }
    }
    if (daemon_common_check(c, prog) < 0)
        return 2;
    /* The revocation list lives beside the CA unless --crl says where. */
    if (c->tls.ca && !c->tls.crl) {
        const char *slash = strrchr(c->tls.ca, '/');
        int n = slash ? (int)(slash - c->tls.ca) : 1;
        if (snprintf(c->crl_default, sizeof c->crl_default, "%.*s/crl.pem", n,
                     slash ? c->tls.ca : ".") >= (int)sizeof c->crl_default) {
            fprintf(stderr, "%s: --ca path too long\n", prog);
            return 2;
        }
        c->tls.crl = c->crl_default;
    }
    return -1;
}

SSL_CTX *
daemon_server_ctx(const struct daemon_servers *s)
{
    return s ? s->ssl : NULL;
}

int
parse_hostport(const char *s, char *addr, size_t addr_len, uint16_t *port)
{
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s)
        return -EINVAL;
    const char *a = s;
    size_t n = (size_t)(colon - s);
    if (*a == '[' && colon[-1] == ']') {
        a++;
        n -= 2;
    }
    long p;
    if (n == 0 || n >= addr_len || !parse_long(colon + 1, 1, 65535, &p))
        return -EINVAL;
    memcpy(addr, a, n);
    addr[n] = '\0';
    *port = (uint16_t)p;
    return 0;
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
    log_info("signal %d: shutting down", (int)sig);
    event_base_loopbreak(arg);
}

struct daemon_servers *
daemon_start(struct event_base *base, const struct daemon_common *c, struct cmdtab *tab)
{
    enum log_level level = LL_INFO;
    if (c->log_level && !log_level_parse(c->log_level, &level)) {
        fprintf(stderr, "bad --log-level '%s' (err, warn, info, debug)\n", c->log_level);
        return NULL;
    }
    int rc = log_init(c->name, c->log_path, level);
    if (rc < 0) {
        fprintf(stderr, "cannot open log %s: %s\n", c->log_path, strerror(-rc));
        return NULL;
    }
    signal(SIGPIPE, SIG_IGN);

    struct daemon_servers *s = xcalloc(1, sizeof *s);
    s->ctl = ctl_server_create(base, c->ctl_path, tab);
    if (!s->ctl) {
        log_err("control socket %s: %s", c->ctl_path, strerror(errno));
        goto fail;
    }
    if (c->listen) {
        char addr[64], err[ERR_LEN] = "";
        uint16_t port;
        if (parse_hostport(c->listen, addr, sizeof addr, &port) < 0) {
            log_err("bad --listen '%s' (want ADDR:PORT)", c->listen);
            goto fail;
        }
        s->ssl = tls_server_ctx(&c->tls, err, sizeof err);
        if (!s->ssl) {
            log_err("tls: %s", err);
            goto fail;
        }
        s->http = http_server_create(base, addr, port, s->ssl, tab, &c->policy, err, sizeof err);
        if (!s->http) {
            log_err("api %s: %s", c->listen, err);
            goto fail;
        }
    }
    s->sigint = evsignal_new(base, SIGINT, on_signal, base);
    s->sigterm = evsignal_new(base, SIGTERM, on_signal, base);
    event_add(s->sigint, NULL);
    event_add(s->sigterm, NULL);
    json_t *who = authz_policy_json(&c->policy);
    char *whos = who ? json_dumps(who, JSON_COMPACT) : NULL;
    log_info("started: ctl=%s api=%s allow=%s", c->ctl_path, c->listen ? c->listen : "off",
             c->listen && whos ? whos : "-");
    free(whos);
    json_decref(who);
    return s;
fail:
    daemon_stop(s);
    return NULL;
}

void
daemon_stop(struct daemon_servers *s)
{
    if (!s)
        return;
    if (s->sigint)
        event_free(s->sigint);
    if (s->sigterm)
        event_free(s->sigterm);
    http_server_destroy(s->http);
    ctl_server_destroy(s->ctl);
    if (s->ssl)
        SSL_CTX_free(s->ssl);
    free(s);
}
