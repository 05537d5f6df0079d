/* SPDX-License-Identifier: Apache-2.0 */
/*
 * port: the port backend interface.  A backend moves bursts of frames between
 * a network interface (or a shared-memory ring, or a test queue) and the
 * switch; the switch never knows which one it talks to.
 *
 *     rx_burst(port, pkts, n)  fills up to n caller-owned buffers; returns count;
 *                              a caller that got n must call again before it
 *                              waits on fd (there may be more, unsignalled)
 *     tx_burst(port, pkts, n)  sends up to n frames; returns how many were sent;
 *                              the caller keeps ownership of every buffer
 *     flush(port)              (optional) backends that batch may hold what
 *                              tx_burst took until flush: the switch calls it
 *                              once per port per burst, so that one syscall
 *                              sends everything a burst sent to that port
 *     fd(port)                 a descriptor that becomes readable when rx_burst
 *                              has work, for event loops; -1 if none
 *
 * Backends: "afxdp" (an AF_XDP socket that an XDP program on the interface
 * must steer frames into: dpud uses it when its eswitch program is loaded, see
 * eswitch_port_steer()), "afpacket" (AF_PACKET TPACKET_V3 mmap ring; works on
 * any Linux interface, the fallback), "vhost-user" (virtio split rings in a
 * QEMU or DPDK client's memory, opened with port_open_vhost_user()) and "mem"
 * (in-memory queues for unit tests and fuzzing).  port_open() with backend
 * NULL picks the best one that works on its own (afpacket); dpud's choice is
 * shown by `dsectl port list`.
 *
 * Thread-safety: one thread polls a port at a time.
 */
#ifndef DSE_PORT_H
#define DSE_PORT_H

#include <net/if.h>
#include <stdbool.h>

#include "dataplane/packet.h"

struct port;

struct port_ops {
    const char *name;
    int (*open)(struct port *port);
    void (*close)(struct port *port);
    unsigned (*rx_burst)(struct port *port, struct pkt **pkts, unsigned n);
    unsigned (*tx_burst)(struct port *port, struct pkt **pkts, unsigned n);
    void (*flush)(struct port *port); /* NULL: tx_burst sends at once */
    int (*fd)(const struct port *port);
    /* Optional: whether the port can carry frames now, for backends without
     * a kernel interface (NULL: the interface's carrier). */
    bool (*carrier)(const struct port *port);
};

struct port {
    const struct port_ops *ops;
    char ifname[IF_NAMESIZE];
    int ifindex; /* 0 when the backend has no kernel interface */
    void *priv;  /* backend state */
};

extern const struct port_ops port_afxdp_ops;
extern const struct port_ops port_afpacket_ops;
extern const struct port_ops port_mem_ops;
extern const struct port_ops port_vhost_ops;

/* Opens a port on interface 'ifname' with backend 'backend' ("afpacket", "mem"),
 * or the best available one when 'backend' is NULL.  Returns a new port or NULL
 * with errno set (ENODEV: no such interface, ENOENT: no such backend). */
struct port *port_open(const char *ifname, const char *backend);

/* Closes the backend and frees the port.  Accepts NULL. */
void port_close(struct port *port);

static inline const char *
port_backend_name(const struct port *port)
{
    return port->ops->name;
}

/* The AF_XDP socket of an "afxdp" port (for the XDP program's XSKMAP), or -1
 * for a port of another backend. */
int port_afxdp_fd(const struct port *port);

/* Opens vhost-user port 'name' (< IF_NAMESIZE) listening on Unix socket
 * 'sock_path' (a stale socket there is replaced; anything else is not).  The
 * port has no kernel interface (ifindex 0).  Returns NULL with errno set
 * (EINVAL, ENAMETOOLONG, EEXIST: not a socket, EADDRINUSE: someone listens
 * there, ENOMEM, or bind(2)'s). */
struct port *port_open_vhost_user(const char *name, const char *sock_path);
/* The same in client mode: the front-end listens on 'sock_path' (absolute;
 * QEMU `server=on`, DPDK virtio_user `server=1`) and the port connects to it,
 * now and again after every disconnection, so either side may restart. */
struct port *port_open_vhost_user_client(const char *name, const char *sock_path);
bool port_vhost_user_is_client(const struct port *port);

/* For a vhost-user port: fills 'info' (vhost-user.h), points '*sock_path' (if
 * not NULL) at its socket's path and returns true.  False for other ports. */
struct vhost_dev_info;
bool port_vhost_user_info(const struct port *port, struct vhost_dev_info *info,
                          const char **sock_path);

/* The "mem" backend's test hooks.  port_mem_inject() queues one frame for the
 * next rx_burst (returns false when the queue is full); port_mem_take() pops the
 * oldest transmitted frame into 'buf' (returns its length, or -1 when none was
 * sent); port_mem_n_tx() says how many wait. */
bool port_mem_inject(struct port *port, const void *frame, unsigned len);
int port_mem_take(struct port *port, void *buf, unsigned buf_len);
unsigned port_mem_n_tx(const struct port *port);
/* How many calls into the port found another thread inside it (the switch's
 * callers must keep this at 0: one thread at a time per port). */
unsigned port_mem_overlaps(const struct port *port);

#endif
