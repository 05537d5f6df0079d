/* SPDX-License-Identifier: Apache-2.0 */
/*
 * port-vhost: the "vhost-user" port backend.  The port listens on a Unix
 * socket; one front-end (QEMU, DPDK virtio_user) at a time attaches and runs
 * the vhost-user protocol (vhost-user.h) over it.  When it goes, its memory
 * and rings are dropped and the port listens again.  A second client waits in
 * the listen backlog until the first one has gone.
 *
 * In client mode (port_open_vhost_user_client()) the roles of the sockets
 * swap, not those of the protocol: the front-end listens (QEMU's
 * `server=on`, virtio_user's `server=1`) and the port connects to it, and
 * connects again every VHOST_RETRY_MS while it cannot, so that either side
 * may restart.
 *
 * The port's one descriptor (fd()) is an epoll instance that never changes.
 * It holds whichever of these exists now:
 *
 *     listening socket   (server mode, while no client is attached)
 *     retry timerfd      (client mode, while not connected)
 *     connection socket  (control messages)
 *     kick eventfd of the guest's transmit ring
 *     wake eventfd       (ours: set when rx_burst left frames in the ring, or
 *                         the client asked us to poll: it gave no kick fd)
 *
 * rx_burst() first handles what epoll reports (accept, control messages,
 * draining the eventfds), then copies frames from the ring.  While it keeps
 * returning full bursts the caller comes back at once (port.h), so it looks at
 * epoll only every VHOST_SERVICE_EVERY such bursts: under load a burst costs
 * no system call, and control messages wait a few bursts at most.
 */
#include "dataplane/port.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/log.h"
#include "dataplane/vhost-user.h"

LOG_MODULE(vhost);

enum { TAG_LISTEN = 1, TAG_CONN, TAG_KICK, TAG_WAKE, TAG_RETRY };
#define VHOST_SERVICE_EVERY 16
#define VHOST_RETRY_MS 200

struct vhost_port {
    struct vhost_dev *dev;
    int epfd, listen_fd, wake_fd;
    int retry_fd;         /* client mode: a timerfd, armed while not connected; else -1 */
    unsigned full_bursts; /* in a row, since epoll was last looked at */
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    char name[IF_NAMESIZE];
};

static void
ep_add(struct vhost_port *v, int fd, uint32_t tag)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = tag};
    if (fd >= 0 && epoll_ctl(v->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
        log_warn("port=%s: epoll: %s", v->name, strerror(errno));
}

static void
ep_del(struct vhost_port *v, int fd)
{
    if (fd >= 0)
        epoll_ctl(v->epfd, EPOLL_CTL_DEL, fd, NULL);
}

static void
kick_changed(void *aux, unsigned idx, int old_fd, int new_fd)
{
    struct vhost_port *v = aux;
    if (idx != VHOST_TXQ)
        return; /* the receive ring's kicks are not needed: we never wait for buffers */
    ep_del(v, old_fd);
    ep_add(v, new_fd, TAG_KICK);
}

static void
vhost_port_free(struct vhost_port *v)
{
    vhost_dev_destroy(v->dev); /* before the epoll fd: it unregisters */
    if (v->listen_fd >= 0) {
        close(v->listen_fd);
        unlink(v->path);
    }
    if (v->wake_fd >= 0)
        close(v->wake_fd);
    if (v->retry_fd >= 0)
        close(v->retry_fd);
    if (v->epfd >= 0)
        close(v->epfd);
    free(v);
}

/* Binds the listening socket, replacing a stale socket (a previous dpud's:
 * nobody accepts on it) but nothing else. */
static int
listen_on(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path)
        return -ENAMETOOLONG;
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (lstat(path, &st) == 0) {
        int err = 0;
        if (!S_ISSOCK(st.st_mode))
            err = -EEXIST;
        else if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 || errno == EAGAIN)
            err = -EADDRINUSE;
        close(fd);
        if (err)
            return err;
        unlink(path);
        if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
            return -errno;
    }
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 1) < 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    return fd;
}

static int
vhost_open(struct port *port)
{
    return -EINVAL; /* needs a socket path: port_open_vhost_user() */
}

static void drain(int fd);

static void
arm_retry(struct vhost_port *v, bool now)
{
    struct itimerspec t = {
        .it_value = {.tv_nsec = now ? 1 : VHOST_RETRY_MS * 1000000L},
        .it_interval = {.tv_nsec = VHOST_RETRY_MS * 1000000L},
    };
    timerfd_settime(v->retry_fd, 0, &t, NULL);
}

static void
disarm_retry(struct vhost_port *v)
{
    struct itimerspec off = {0};
    timerfd_settime(v->retry_fd, 0, &off, NULL);
}

static struct port *
open_port(const char *name, const char *sock_path, bool client)
{
    if (!name || !*name || strlen(name) >= IF_NAMESIZE || !sock_path) {
        errno = EINVAL;
        return NULL;
    }
    struct port *p = calloc(1, sizeof *p);
    struct vhost_port *v = calloc(1, sizeof *v);
    int err = ENOMEM;
    if (!p || !v)
        goto fail;
    v->epfd = v->listen_fd = v->wake_fd = v->retry_fd = -1;
    snprintf(v->name, sizeof v->name, "%s", name);
    if (snprintf(v->path, sizeof v->path, "%s", sock_path) >= (int)sizeof v->path) {
        err = ENAMETOOLONG;
        goto fail;
    }
    v->dev = vhost_dev_create(name, kick_changed, v);
    v->epfd = epoll_create1(EPOLL_CLOEXEC);
    v->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (!v->dev || v->epfd < 0 || v->wake_fd < 0) {
        err = v->dev ? errno : ENOMEM;
        goto fail;
    }
    if (client) {
        if (sock_path[0] != '/') {
            err = EINVAL;
            goto fail;
        }
        v->retry_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        if (v->retry_fd < 0) {
            err = errno;
            goto fail;
        }
        ep_add(v, v->retry_fd, TAG_RETRY);
        arm_retry(v, true); /* the first attempt on the first poll */
    } else {
        v->listen_fd = listen_on(sock_path);
        if (v->listen_fd < 0) {
            err = -v->listen_fd;
            goto fail;
        }
        ep_add(v, v->listen_fd, TAG_LISTEN);
    }
    ep_add(v, v->wake_fd, TAG_WAKE);
    snprintf(p->ifname, sizeof p->ifname, "%s", name);
    p->ops = &port_vhost_ops;
    p->priv = v;
    return p;

fail:
    if (v)
        vhost_port_free(v);
    free(p);
    errno = err;
    return NULL;
}

struct port *
port_open_vhost_user(const char *name, const char *sock_path)
{
    return open_port(name, sock_path, false);
}

struct port *
port_open_vhost_user_client(const char *name, const char *sock_path)
{
    return open_port(name, sock_path, true);
}

static void attached(struct vhost_port *v, int fd, const char *how);

/* Client mode: one attempt to reach the front-end's socket. */
static void
on_retry(struct vhost_port *v)
{
    drain(v->retry_fd);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", v->path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
    /* A local stream socket connects at once or not at all (no EINPROGRESS
     * but for a full backlog, which the next attempt retries). */
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        close(fd);
        return;
    }
    disarm_retry(v);
    attached(v, fd, "connected to");
}

static void
vhost_close(struct port *port)
{
    if (port->priv)
        vhost_port_free(port->priv);
    port->priv = NULL;
}

static void
drain(int fd)
{
    uint64_t v;
    if (fd >= 0 && read(fd, &v, sizeof v) < 0 && errno != EAGAIN)
        return; /* nothing to do: the next kick or message tells us more */
}

static void
attached(struct vhost_port *v, int fd, const char *how)
{
    if (vhost_dev_attach(v->dev, fd) < 0)
        return;
    if (v->listen_fd >= 0)
        ep_del(v, v->listen_fd);
    ep_add(v, fd, TAG_CONN);
    log_info("port=%s: vhost-user front-end %s %s", v->name, how, v->path);
}

static void
on_accept(struct vhost_port *v)
{
    int fd = accept4(v->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0)
        attached(v, fd, "attached on");
}

static void
on_conn(struct vhost_port *v)
{
    int rc = vhost_dev_service(v->dev);
    if (rc == 0)
        return;
    /* The device closed the socket (epoll forgot it with it) and every kick
     * fd (through kick_changed). */
    if (v->retry_fd >= 0)
        arm_retry(v, false);
    else
        ep_add(v, v->listen_fd, TAG_LISTEN);
    log_info("port=%s: vhost-user front-end detached (%s); %s %s", v->name,
             rc == -ECONNRESET ? "it hung up" : strerror(-rc),
             v->retry_fd >= 0 ? "connecting again to" : "listening on", v->path);
}

static void
wake(struct vhost_port *v)
{
    uint64_t one = 1;
    if (write(v->wake_fd, &one, sizeof one) < 0)
        log_debug("port=%s: wake: %s", v->name, strerror(errno));
}

static unsigned
vhost_rx_burst(struct port *port, struct pkt **pkts, unsigned n)
{
    struct vhost_port *v = port->priv;
    unsigned got = 0;
    if (v->full_bursts && v->full_bursts < VHOST_SERVICE_EVERY) {
        got = vhost_dev_dequeue(v->dev, pkts, n);
        if (got == n) {
            v->full_bursts++;
            return got;
        }
    }
    struct epoll_event ev[8];
    int k = epoll_wait(v->epfd, ev, 8, 0);
    for (int i = 0; i < k; i++) {
        switch (ev[i].data.u32) {
        case TAG_LISTEN:
            on_accept(v);
            break;
        case TAG_CONN:
            on_conn(v);
            break;
        case TAG_KICK:
            drain(vhost_dev_kick_fd(v->dev, VHOST_TXQ));
            break;
        case TAG_WAKE:
            drain(v->wake_fd);
            break;
        case TAG_RETRY:
            on_retry(v);
            break;
        }
    }
    got += vhost_dev_dequeue(v->dev, pkts + got, n - got);
    v->full_bursts = got == n;
    /* Kicks were drained first: what is left now would wait for the next one
     * (after a full burst the caller comes back anyway). */
    if (got < n && (vhost_dev_tx_pending(v->dev) || vhost_dev_tx_polled(v->dev)))
        wake(v);
    return got;
}

static unsigned
vhost_tx_burst(struct port *port, struct pkt **pkts, unsigned n)
{
    struct vhost_port *v = port->priv;
    return vhost_dev_stage(v->dev, pkts, n);
}

static void
vhost_flush(struct port *port)
{
    struct vhost_port *v = port->priv;
    vhost_dev_publish(v->dev);
}

static int
vhost_fd(const struct port *port)
{
    return ((const struct vhost_port *)port->priv)->epfd;
}

static bool
vhost_carrier(const struct port *port)
{
    return vhost_dev_is_attached(((const struct vhost_port *)port->priv)->dev);
}

const struct port_ops port_vhost_ops = {
    .name = "vhost-user",
    .open = vhost_open,
    .close = vhost_close,
    .rx_burst = vhost_rx_burst,
    .tx_burst = vhost_tx_burst,
    .flush = vhost_flush,
    .fd = vhost_fd,
    .carrier = vhost_carrier,
};

bool
port_vhost_user_info(const struct port *port, struct vhost_dev_info *info, const char **sock_path)
{
    if (port->ops != &port_vhost_ops)
        return false;
    const struct vhost_port *v = port->priv;
    vhost_dev_get_info(v->dev, info);
    if (sock_path)
        *sock_path = v->path;
    return true;
}

bool
port_vhost_user_is_client(const struct port *port)
{
    return port->ops == &port_vhost_ops && ((const struct vhost_port *)port->priv)->retry_fd >= 0;
}
