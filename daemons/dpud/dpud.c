/* SPDX-License-Identifier: Apache-2.0 */
/* dpud: the DPU agent's ports on the event loop (see dpud.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dpud.h"
#include "linkwatch.h"
#include "log.h"
#include "util.h"

LOG_MODULE(dpud);

static void
on_readable(evutil_socket_t fd, short what, void *arg)
{
    struct dpud_port_cb *pc = arg;
    uint64_t now = now_ms();
    /* Drain a bounded number of bursts so one busy port cannot starve the rest. */
    for (int i = 0; i < 16; i++)
        if (sw_poll(pc->d->sw, pc->id, now) < SW_BURST)
            break;
}

int
dpud_port_add(struct dpud *d, const char *name, enum sw_port_kind kind, const char *pg,
              char **err)
{
    struct port *io = port_open(name, d->backend);
    if (!io)
        return cmd_fail(err, -errno, "port %s: %s", name,
                        errno == ENODEV ? "no such interface" : strerror(errno));
    int id = sw_port_add(d->sw, name, kind, pg, io);
    if (id < 0)
        return cmd_fail(err, id, "port %s: %s", name,
                        id == -ENOENT ? "no such portgroup" : strerror(-id));
    const struct sw_port *p = sw_port_at(d->sw, (unsigned)id);
    d->port_cb[id] = (struct dpud_port_cb){.d = d, .id = (uint16_t)id};
    int fd = p->io->ops->fd(p->io);
    if (fd >= 0) {
        d->port_ev[id] = event_new(d->base, fd, EV_READ | EV_PERSIST, on_readable,
                                  &d->port_cb[id]);
        event_add(d->port_ev[id], NULL);
    }
    sw_port_set_carrier(d->sw, (uint16_t)id, link_has_carrier(name), now_ms());
    log_info("port=%s: added (%s, backend %s%s%s)", name,
             kind == SW_PORT_UPLINK ? "uplink" : "vnic", port_backend_name(p->io),
             pg ? ", portgroup " : "", pg ? pg : "");
    return id;
}

int
dpud_port_del(struct dpud *d, const char *name)
{
    int id = sw_port_find(d->sw, name);
    if (id < 0)
        return id;
    if (d->port_ev[id]) {
        event_free(d->port_ev[id]);
        d->port_ev[id] = NULL;
    }
    log_info("port=%s: removed", name);
    return sw_port_del(d->sw, name);
}
