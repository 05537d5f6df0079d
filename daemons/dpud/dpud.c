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
    dpud_port_update_carrier(pc->d, pc->id);
    if (full && pc->d->port_ev[pc->id])
        event_active(pc->d->port_ev[pc->id], EV_READ, 0);
}

void
dpud_port_update_carrier(struct dpud *d, uint16_t id)
{
    const struct sw_port *p = sw_port_at(d->sw, id);
    if (!p || !p->io->ops->carrier)
        return;
    bool up = p->io->ops->carrier(p->io);
    if (up != p->carrier)
        sw_port_set_carrier(d->sw, id, up, now_ms());
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
    d->on_eswitch[id] = false;
    if (d->es && p->io->ifindex > 0) {
        eswitch_port_stats_clear(d->es, (unsigned)id);
        int rc = attached ? 0 : eswitch_port_attach(d->es, p->io->ifindex);
        if (rc < 0)
            log_warn("port=%s: eswitch: %s (its flows stay in software)", name, strerror(-rc));
        d->on_eswitch[id] = rc == 0;
    }
    sw_port_set_carrier(d->sw, (uint16_t)id,
                        p->io->ops->carrier ? p->io->ops->carrier(p->io) : link_has_carrier(name),
                        now_ms());
    const char *sock = NULL;
    struct vhost_dev_info vi;
    port_vhost_user_info(p->io, &vi, &sock);
    log_info("port=%s: added (%s, backend %s%s%s%s%s%s)", name,
             kind == SW_PORT_UPLINK ? "uplink" : "vnic", port_backend_name(p->io),
             d->on_eswitch[id] ? ", eswitch xdp" : "", pg ? ", portgroup " : "", pg ? pg : "",
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
    if (d->on_eswitch[id]) {
        eswitch_port_detach(d->es, sw_port_at(d->sw, (unsigned)id)->io->ifindex);
        d->on_eswitch[id] = false;
    }
    log_info("port=%s: removed", name);
    return sw_port_del(d->sw, name);
}

/* ---- the eswitch tier ---- */

static bool
es_install(void *aux, const struct sw_flow *f)
{
    struct dpud *d = aux;
    if (!d->on_eswitch[f->in_port] || !d->on_eswitch[f->out_port] ||
        atomic_load_explicit(&d->es_full, memory_order_relaxed))
        return false;
    struct eswitch_key k = {
        .in_ifindex = (__u32)sw_port_at(d->sw, f->in_port)->io->ifindex,
        .tag = f->tag,
    };
    memcpy(k.src, f->src, 6);
    memcpy(k.dst, f->dst, 6);
    struct eswitch_action a = {
        .out_ifindex = (__u32)sw_port_at(d->sw, f->out_port)->io->ifindex,
        .push_vid = f->push_vid,
        .pop = f->pop,
        .max_len = f->max_len,
        .in_port = f->in_port,
        .out_port = f->out_port,
        .vnic = sw_port_at(d->sw, f->in_port)->kind == SW_PORT_VNIC ||
                sw_port_at(d->sw, f->out_port)->kind == SW_PORT_VNIC,
        .last_ns = eswitch_now_ns(),
    };
    int rc = eswitch_flow_add(d->es, &k, &a);
    if (rc == -ENOSPC) {
        /* Until the next revalidation frees room, don't pay a failed syscall
         * per miss: the flows that do not fit stay in software. */
        static struct log_ratelimit rl = LOG_RATELIMIT_INIT(1, 60000);
        log_warn_rl(&rl, "eswitch: flow table full (%d flows); new flows stay in software",
                    ESWITCH_MAX_FLOWS);
        atomic_store_explicit(&d->es_full, true, memory_order_relaxed);
        return false;
    }
    if (rc < 0) {
        static struct log_ratelimit rl = LOG_RATELIMIT_INIT(5, 10000);
        log_warn_rl(&rl, "eswitch: cannot install a flow: %s", strerror(-rc));
        return false;
    }
    return true;
}

static bool
touches_mac(const struct eswitch_key *k, const struct eswitch_action *a, void *aux)
{
    return !memcmp(k->src, aux, 6) || !memcmp(k->dst, aux, 6);
}

static void
es_flush_mac(void *aux, const uint8_t mac[6])
{
    struct dpud *d = aux;
    eswitch_flow_sweep(d->es, touches_mac, (void *)mac);
}

static void
es_flush_all(void *aux)
{
    struct dpud *d = aux;
    eswitch_flow_sweep(d->es, NULL, NULL);
}

void
dpud_eswitch_init(struct dpud *d, struct eswitch *es)
{
    d->es = es;
    if (es) {
        d->reval_keys = calloc(ESWITCH_MAX_FLOWS, sizeof *d->reval_keys);
        d->reval_actions = calloc(ESWITCH_MAX_FLOWS, sizeof *d->reval_actions);
        if (!d->reval_keys || !d->reval_actions)
            log_warn("eswitch: no memory to revalidate flows (they expire only when flushed)");
    }
    d->last_reval_ns = eswitch_now_ns();
    static const struct sw_offload hooks = {
        .install = es_install, .flush_mac = es_flush_mac, .flush_all = es_flush_all};
    struct sw_offload o = hooks;
    o.aux = d;
    if (d->no_offload)
        o.install = NULL; /* every frame is a miss: the software path alone */
    sw_set_offload(d->sw, es ? &o : NULL);
}

/* Flows idle this long leave the table; the slow path reinstalls them on
 * their next frame.  While the table is full, new flows wait for room: then
 * one idle second is enough. */
#define ESWITCH_IDLE_NS (10ull * 1000000000ull)
#define ESWITCH_IDLE_FULL_NS (1ull * 1000000000ull)

struct reval_ctx {
    struct dpud *d;
    uint64_t now_ms, now_ns;
    uint64_t idle_ns;
};

static bool
flow_is_stale(const struct eswitch_key *k, const struct eswitch_action *a, void *aux)
{
    struct reval_ctx *c = aux;
    bool hit = a->last_ns > c->d->last_reval_ns;
    if (!hit && c->now_ns - a->last_ns > c->idle_ns)
        return true;
    struct sw_flow f = {
        .in_port = a->in_port,
        .out_port = a->out_port,
        .tag = k->tag,
        .push_vid = a->push_vid,
        .pop = a->pop,
        .max_len = a->max_len,
    };
    memcpy(f.src, k->src, 6);
    memcpy(f.dst, k->dst, 6);
    /* The ports' ifindexes must still be the ones the flow was made for. */
    const struct sw_port *in = sw_port_at(c->d->sw, a->in_port);
    const struct sw_port *out = sw_port_at(c->d->sw, a->out_port);
    if (!in || !out || (__u32)in->io->ifindex != k->in_ifindex ||
        (__u32)out->io->ifindex != a->out_ifindex)
        return true;
    return !sw_flow_revalidate(c->d->sw, &f, hit, c->now_ms);
}

void
dpud_eswitch_revalidate(struct dpud *d)
{
    if (!d->es || !d->reval_keys)
        return;
    /* The table is read and pruned beside the workers (BPF maps allow it);
     * only the checks against the switch run with them paused.  A flow a
     * worker installs meanwhile is checked next time; one it replaces and we
     * then remove comes back with its next frame. */
    uint64_t t0 = now_ns();
    struct reval_ctx c = {.d = d,
                          .now_ms = now_ms(),
                          .now_ns = eswitch_now_ns(),
                          .idle_ns =
                              atomic_load(&d->es_full) ? ESWITCH_IDLE_FULL_NS : ESWITCH_IDLE_NS};
    unsigned n = eswitch_flow_read(d->es, d->reval_keys, d->reval_actions, ESWITCH_MAX_FLOWS);
    unsigned m = 0;
    uint64_t t1 = now_ns();
    dpud_pause(d);
    for (unsigned i = 0; i < n; i++)
        if (flow_is_stale(&d->reval_keys[i], &d->reval_actions[i], &c))
            d->reval_keys[m++] = d->reval_keys[i];
    d->last_reval_ns = c.now_ns;
    atomic_store(&d->es_full, false);
    dpud_resume(d);
    d->reval_pause_us = (now_ns() - t1) / 1000;
    d->reval_removed = eswitch_flow_del(d->es, d->reval_keys, m);
    d->reval_flows = n - MIN(n, d->reval_removed);
    d->reval_us = (now_ns() - t0) / 1000;
}
