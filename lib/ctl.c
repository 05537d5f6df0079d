/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ctl: the control socket server (libevent, one bufferevent per connection)
 * and its blocking client.  See ctl.h for the protocol.
 */
#include "lib/ctl.h"
#include "lib/ctl-private.h"
#include "lib/log.h"
#include "lib/util.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

LOG_MODULE(ctl);

struct ctl_conn {
    struct ctl_server *server;
    struct bufferevent *bev;
    struct ctl_conn *prev, *next;
    bool closing; /* reply queued; free once it is written */
};

struct ctl_server {
    struct evconnlistener *listener;
    struct cmdtab *tab;
    char *path;
    struct ctl_conn *conns;
};

static struct log_ratelimit ctl_rl = LOG_RATELIMIT_INIT(10, 10000);

static void
conn_free(struct ctl_conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        c->server->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    bufferevent_free(c->bev);
    free(c);
}

static void
conn_close_after_write(struct ctl_conn *c)
{
    c->closing = true;
    bufferevent_disable(c->bev, EV_READ);
    if (!evbuffer_get_length(bufferevent_get_output(c->bev)))
        conn_free(c);
}

/* Queues 'env' (consumed) as one line on 'out'.  Returns 0 or -ENOMEM. */
static int
queue_reply(struct evbuffer *out, json_t *env)
{
    char *s = json_dumps(env, JSON_COMPACT);
    json_decref(env);
    if (!s)
        return -ENOMEM;
    int rc = evbuffer_add(out, s, strlen(s)) || evbuffer_add(out, "\n", 1) ? -ENOMEM : 0;
    free(s);
    return rc;
}

int
ctl_serve(struct cmdtab *tab, struct evbuffer *in, struct evbuffer *out, size_t max_request)
{
    int rc;
    for (;;) {
        size_t len;
        char *line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF);
        if (!line)
            break;
        if (len > max_request) {
            free(line);
            goto too_long;
        }
        if (len && line[len - 1] == '\r')
            line[--len] = '\0';
        if (!len) {
            free(line);
            continue;
        }
        json_t *env = cmdtab_dispatch_text(tab, line, len, "unix");
        free(line);
        if ((rc = queue_reply(out, env)) < 0)
            return rc;
    }
    if (evbuffer_get_length(in) > max_request)
        goto too_long;
    return 0;

too_long:
    rc =
        queue_reply(out, cmdtab_error("bad-request", "request longer than %zu bytes", max_request));
    return rc < 0 ? rc : -EMSGSIZE;
}

static void
conn_read_cb(struct bufferevent *bev, void *c_)
{
    struct ctl_conn *c = c_;
    if (c->closing)
        return;
    int rc = ctl_serve(c->server->tab, bufferevent_get_input(bev), bufferevent_get_output(bev),
                       CTL_MAX_REQUEST);
    if (rc == -EMSGSIZE) {
        log_warn_rl(&ctl_rl, "path=%s: request over %d bytes, closing connection", c->server->path,
                    CTL_MAX_REQUEST);
        conn_close_after_write(c);
    } else if (rc < 0) {
        conn_free(c);
    }
}

static void
conn_write_cb(struct bufferevent *bev, void *c_)
{
    struct ctl_conn *c = c_;
    if (c->closing && !evbuffer_get_length(bufferevent_get_output(bev)))
        conn_free(c);
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *c_)
{
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
        conn_free(c_);
}

static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int socklen,
          void *server_)
{
    struct ctl_server *server = server_;
    struct event_base *base = evconnlistener_get_base(l);
    struct ctl_conn *c = calloc(1, sizeof *c);
    if (!c)
        goto err;
    c->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!c->bev)
        goto err_free;
    c->server = server;
    c->next = server->conns;
    if (c->next)
        c->next->prev = c;
    server->conns = c;
    /* Stop reading once a request cannot fit, so that a client cannot make
     * us buffer without bound; the read callback then refuses it. */
    bufferevent_setwatermark(c->bev, EV_READ, 0, CTL_MAX_REQUEST + 1);
    bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb, c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    return;

err_free:
    free(c);
err:
    log_warn_rl(&ctl_rl, "path=%s: out of memory accepting a connection", server->path);
    close(fd);
}

static int
fill_sockaddr(const char *path, struct sockaddr_un *sun)
{
    memset(sun, 0, sizeof *sun);
    sun->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof sun->sun_path)
        return -ENAMETOOLONG;
    strcpy(sun->sun_path, path);
    return 0;
}

/* Removes 'path' if it is a socket nobody listens on.  Returns 0, -EADDRINUSE
 * if a daemon answers there, or -EEXIST if it is not a socket. */
static int
remove_stale(const char *path, const struct sockaddr_un *sun)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (!S_ISSOCK(st.st_mode))
        return -EEXIST;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int rc = connect(fd, (const struct sockaddr *)sun, sizeof *sun);
    close(fd);
    if (!rc)
        return -EADDRINUSE;
    if (unlink(path) < 0 && errno != ENOENT)
        return -errno;
    return 0;
}

struct ctl_server *
ctl_server_create(struct event_base *base, const char *path, struct cmdtab *tab)
{
    struct sockaddr_un sun;
    int rc = fill_sockaddr(path, &sun);
    if (rc < 0)
        goto err;
    rc = remove_stale(path, &sun);
    if (rc < 0)
        goto err;

    struct ctl_server *server = calloc(1, sizeof *server);
    if (!server) {
        rc = -ENOMEM;
        goto err;
    }
    server->tab = tab;
    server->path = strdup(path);
    if (!server->path) {
        rc = -ENOMEM;
        goto err_free;
    }

    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        rc = -errno;
        goto err_free;
    }
    if (bind(fd, (struct sockaddr *)&sun, sizeof sun) < 0) {
        rc = -errno;
        goto err_close;
    }
    /* Nobody can connect before listen(), so there is no window at 0755. */
    if (chmod(path, 0600) < 0) {
        rc = -errno;
        goto err_unlink;
    }
    server->listener = evconnlistener_new(base, accept_cb, server,
                                          LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 64, fd);
    if (!server->listener) {
        rc = -ENOMEM;
        goto err_unlink;
    }
    return server;

err_unlink:
    unlink(path);
err_close:
    close(fd);
err_free:
    free(server->path);
    free(server);
err:
    errno = -rc;
    return NULL;
}

void
ctl_server_destroy(struct ctl_server *server)
{
    if (!server)
        return;
    while (server->conns)
        conn_free(server->conns);
    evconnlistener_free(server->listener);
    unlink(server->path);
    free(server->path);
    free(server);
}

static int
send_all(int fd, const char *buf, size_t len, uint64_t deadline)
{
    while (len) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n >= 0) {
            buf += n;
            len -= n;
            continue;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN)
            return -errno;
        int rc = fd_wait(fd, POLLOUT, deadline);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Replies are not bounded by the protocol; this only stops a runaway peer. */
#define CTL_MAX_REPLY (64 * 1024 * 1024)

/* Reads up to the first newline.  Returns the line (caller frees, without the
 * newline, NUL-terminated) in '*line' or -errno. */
static int
recv_line(int fd, uint64_t deadline, char **line, size_t *len)
{
    size_t cap = 4096, used = 0;
    char *buf = malloc(cap);
    if (!buf)
        return -ENOMEM;
    for (;;) {
        if (cap - used < 2048) {
            if (cap >= CTL_MAX_REPLY) {
                free(buf);
                return -EPROTO;
            }
            char *nbuf = realloc(buf, cap * 2);
            if (!nbuf) {
                free(buf);
                return -ENOMEM;
            }
            buf = nbuf;
            cap *= 2;
        }
        ssize_t n = recv(fd, buf + used, cap - used - 1, 0);
        if (n > 0) {
            char *nl = memchr(buf + used, '\n', n);
            used += n;
            if (nl) {
                *nl = '\0';
                *line = buf;
                *len = nl - buf;
                return 0;
            }
            continue;
        }
        int rc;
        if (!n)
            rc = -EPROTO; /* closed before a whole reply */
        else if (errno == EINTR)
            continue;
        else if (errno == EAGAIN)
            rc = fd_wait(fd, POLLIN, deadline);
        else
            rc = -errno;
        if (rc < 0) {
            free(buf);
            return rc;
        }
    }
}

static int
connect_unix(const char *path, uint64_t deadline)
{
    struct sockaddr_un sun;
    int rc = fill_sockaddr(path, &sun);
    if (rc < 0)
        return rc;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    while (connect(fd, (struct sockaddr *)&sun, sizeof sun) < 0) {
        /* A full backlog makes a non-blocking Unix connect fail with EAGAIN;
         * retry until the deadline. */
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN) {
            rc = -errno;
            close(fd);
            return rc;
        }
        if (now_ms() >= deadline) {
            close(fd);
            return -ETIMEDOUT;
        }
        usleep(10000);
    }
    return fd;
}

int
ctl_reply_decode(const char *line, size_t len, json_t **reply)
{
    json_t *env = json_loadb(line, len, 0, NULL);
    *reply = NULL;
    if (!json_is_object(env) || !json_is_boolean(json_object_get(env, "ok"))) {
        json_decref(env);
        return -EPROTO;
    }
    *reply = env;
    return 0;
}

int
ctl_call(const char *path, const char *cmd, json_t *args, int timeout_ms, json_t **reply)
{
    uint64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    int rc;

    *reply = NULL;
    json_t *req = json_pack("{s:s}", "cmd", cmd);
    if (!req)
        return -EINVAL; /* 'cmd' NULL or not UTF-8 */
    if (args && json_object_set(req, "args", args) < 0) {
        json_decref(req);
        return -ENOMEM;
    }
    char *text = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    if (!text)
        return -ENOMEM;

    int fd = connect_unix(path, deadline);
    if (fd < 0) {
        rc = fd;
        goto out_text;
    }
    size_t len = strlen(text);
    text[len] = '\n'; /* json_dumps output has its NUL to spare */
    rc = send_all(fd, text, len + 1, deadline);
    if (rc < 0)
        goto out_close;

    char *line;
    size_t line_len;
    rc = recv_line(fd, deadline, &line, &line_len);
    if (rc < 0)
        goto out_close;
    rc = ctl_reply_decode(line, line_len, reply);
    free(line);

out_close:
    close(fd);
out_text:
    free(text);
    return rc;
}
