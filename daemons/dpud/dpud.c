/* SPDX-License-Identifier: Apache-2.0 */
/* dpud: the DPU agent's ports on the event loop (see dpud.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemons/dpud/dpud.h"
#include "lib/linkwatch.h"
#include "lib/log.h"
#include "lib/util.h"
#include "dataplane/vhost-user.h"

LOG_MODULE(dpud);

static void
on_readable(evutil_socket_t fd, short what, void *arg)
{
    struct dpud_port_cb *pc = arg;
    uint64_t now = now_ms();
    /* Drain a bounded number of bursts so one busy port cannot starve the
     * rest; a port still busy after them runs again on the next loop. */
    bool full = false;
    for (int i = 0; i < 16 && (full = sw_poll(pc->d->sw, pc->id, now) == SW_BURST); i++)
        ;
    sw_port_sync_carrier(pc->d->sw, pc->id, now);
    if (full && pc->d->port_ev[pc->id])
        event_active(pc->d->port_ev[pc->id], EV_READ, 0);
}

void
dpud_port_totals(struct dpud *d, const struct sw_port *p, struct dpud_port_totals *t)
{
    memset(t, 0, sizeof *t);
    sw_port_stats(d->sw, p->id, &t->sw);
    /* Frames the eswitch forwarded never reached the slow path's counters. */
    if (offload_port_on_eswitch(d->off, p->id))
        eswitch_port_stats(d->es, p->id, &t->es);
    t->rx_packets = t->sw.rx_packets + t->es.rx_packets;
    t->rx_bytes = t->sw.rx_bytes + t->es.rx_bytes;
    t->tx_packets = t->sw.tx_packets + t->es.tx_packets;
    t->tx_bytes = t->sw.tx_bytes + t->es.tx_bytes;
    for (int r = 1; r < DROP__N; r++)
        t->drops_total += t->sw.drops[r];
    struct vhost_dev_info vi;
    const char *sock;
    if (port_vhost_user_info(p->io, &vi, &sock))
        for (int r = 0; r < VHOST_DROP__N; r++)
            t->drops_total += vi.drops[r];
}

int
dpud_vhost_path(const struct dpud *d, const char *name, char *buf, size_t len)
{
    if (!d->vhost_dir)
        return -ENOTDIR;
    int n = snprintf(buf, len, "%s/%s.sock", d->vhost_dir, name);
    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static struct port *
open_vhost(struct dpud *d, const char *name, const char *connect, char *err, size_t err_len)
{
    if (connect) {
        struct port *io = port_open_vhost_user_client(name, connect);
        if (!io)
            err_set(err, err_len, -errno, "port %s: vhost-user socket %s: %s", name, connect,
                    strerror(errno));
        return io;
    }
    char path[108]; /* sizeof sun_path */
    int rc = dpud_vhost_path(d, name, path, sizeof path);
    if (rc == 0)
        rc = fs_mkdir_p(d->vhost_dir, 0755);
    if (rc < 0) {
        err_set(err, err_len, rc, "port %s: vhost-user socket: %s", name,
                rc == -ENOTDIR ? "dpud runs without --dir" : strerror(-rc));
        return NULL;
    }
    struct port *io = port_open_vhost_user(name, path);
    if (!io)
        err_set(err, err_len, -errno, "port %s: vhost-user socket %s: %s", name, path,
                strerror(errno));
    return io;
}

static int port_add(struct dpud *, const char *name, enum sw_port_kind, const char *pg,
                    const char *backend, const char *connect, char *err, size_t err_len);
static int port_del(struct dpud *, const char *name);

/* Opens port 'name''s backend.  With the eswitch loaded, the slow path's
 * door is an AF_XDP socket that the eswitch program (attached here) steers
 * misses into; where that cannot be set up, and unless --backend afxdp forced
 * it, the automatic choice (AF_PACKET), which gets what the program passes to
 * the kernel.  Returns NULL with errno set. */
static struct port *
open_io(struct dpud *d, const char *name)
{
    bool forced = d->backend && !strcmp(d->backend, "afxdp");
    if (!d->es || (d->backend && !forced))
        return port_open(name, d->backend);
    int rc;
    struct port *io = port_open(name, "afxdp");
    if (!io) {
        rc = -errno;
    } else {
        rc = eswitch_port_attach(d->es, io->ifindex);
        if (rc == 0)
            rc = eswitch_port_steer(d->es, io->ifindex, port_afxdp_fd(io));
        if (rc == 0)
            return io;
        port_close(io);
    }
    if (forced || rc == -ENODEV) {
        errno = -rc;
        return NULL;
    }
    log_warn("port=%s: afxdp: %s (falling back to afpacket)", name, strerror(-rc));
    return port_open(name, NULL);
}

int
dpud_port_add(struct dpud *d, const char *name, enum sw_port_kind kind, const char *pg,
              const char *backend, const char *connect, char *err, size_t err_len)
{
    dpud_pause(d);
    int rc = port_add(d, name, kind, pg, backend, connect, err, err_len);
    dpud_resume(d);
    return rc;
}

static int
port_add(struct dpud *d, const char *name, enum sw_port_kind kind, const char *pg,
         const char *backend, const char *connect, char *err, size_t err_len)
{
    struct port *io;
    if (backend && !strcmp(backend, DPUD_VHOST_USER)) {
        if (!name_is_valid(name, IF_NAMESIZE - 1))
            return err_set(err, err_len, -EINVAL, "port %s: bad name for a vhost-user port", name);
        if (!(io = open_vhost(d, name, connect, err, err_len)))
            return -EINVAL;
    } else if (!(io = open_io(d, name))) {
        return err_set(err, err_len, -errno, "port %s: %s", name,
                       errno == ENODEV ? "no such interface" : strerror(errno));
    }
    bool attached = port_afxdp_fd(io) >= 0; /* open_io() attached the eswitch */
    int id = sw_port_add(d->sw, name, kind, pg, io);
    if (id < 0)
        return err_set(err, err_len, id, "port %s: %s", name,
                       id == -ENOENT ? "no such portgroup" : strerror(-id));
    const struct sw_port *p = sw_port_at(d->sw, (unsigned)id);
    d->port_cb[id] = (struct dpud_port_cb){.d = d, .id = (uint16_t)id};
    int fd = p->io->ops->fd(p->io);
    if (d->n_workers) {
        int w = dpud_worker_attach(d, (uint16_t)id, fd);
        if (w < 0) {
            sw_port_del(d->sw, name);
            return err_set(err, err_len, w, "port %s: no worker takes it: %s", name, strerror(-w));
        }
    } else if (fd >= 0) {
        d->port_ev[id] = event_new(d->base, fd, EV_READ | EV_PERSIST, on_readable, &d->port_cb[id]);
        event_add(d->port_ev[id], NULL);
    }
    bool on_eswitch = offload_port_add(d->off, (uint16_t)id, attached);
    sw_port_set_carrier(d->sw, (uint16_t)id,
                        p->io->ops->carrier ? p->io->ops->carrier(p->io) : link_has_carrier(name),
                        now_ms());
    const char *sock = NULL;
    struct vhost_dev_info vi;
    port_vhost_user_info(p->io, &vi, &sock);
    log_info("port=%s: added (%s, backend %s%s%s%s%s%s)", name,
             kind == SW_PORT_UPLINK ? "uplink" : "vnic", port_backend_name(p->io),
             on_eswitch ? ", eswitch xdp" : "", pg ? ", portgroup " : "", pg ? pg : "",
             sock ? ", socket " : "", sock ? sock : "");
    return id;
}

int
dpud_port_del(struct dpud *d, const char *name)
{
    dpud_pause(d);
    int rc = port_del(d, name);
    dpud_resume(d);
    return rc;
}

static int
port_del(struct dpud *d, const char *name)
{
    int id = sw_port_find(d->sw, name);
    if (id < 0)
        return id;
    if (d->n_workers) {
        const struct sw_port *p = sw_port_at(d->sw, (unsigned)id);
        dpud_worker_detach(d, (uint16_t)id, p->io->ops->fd(p->io));
    }
    if (d->port_ev[id]) {
        event_free(d->port_ev[id]);
        d->port_ev[id] = NULL;
    }
    offload_port_del(d->off, (uint16_t)id);
    log_info("port=%s: removed", name);
    return sw_port_del(d->sw, name);
}

/* ---- the eswitch tier (dataplane/offload.h) ---- */

static void
pause_workers(void *aux)
{
    dpud_pause(aux);
}

static void
resume_workers(void *aux)
{
    dpud_resume(aux);
}

void
dpud_eswitch_init(struct dpud *d, struct eswitch *es)
{
    d->es = es;
    if (!es) {
        sw_set_offload(d->sw, NULL);
        return;
    }
    struct offload_params p = {.sw = d->sw,
                               .es = es,
                               .no_install = d->no_offload,
                               .pause = pause_workers,
                               .resume = resume_workers,
                               .aux = d};
    if (!(d->off = offload_create(&p)))
        log_warn("eswitch: out of memory (every flow runs in software)");
}
