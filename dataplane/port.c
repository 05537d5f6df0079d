/* SPDX-License-Identifier: Apache-2.0 */
/* port: backend registry and automatic choice. */
#include "dataplane/port.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* In order of preference for real interfaces that need nothing else; "afxdp"
 * (needs an XDP program to steer frames) and "mem" are only ever asked for. */
static const struct port_ops *const auto_backends[] = {
    &port_afpacket_ops,
};

static const struct port_ops *const all_backends[] = {
    &port_afxdp_ops,
    &port_afpacket_ops,
    &port_mem_ops,
};

static struct port *
port_try(const char *ifname, const struct port_ops *ops)
{
    struct port *p = calloc(1, sizeof *p);
    if (!p) {
        errno = ENOMEM;
        return NULL;
    }
    snprintf(p->ifname, sizeof p->ifname, "%s", ifname);
    p->ops = ops;
    int rc = ops->open(p);
    if (rc < 0) {
        free(p);
        errno = -rc;
        return NULL;
    }
    return p;
}

struct port *
port_open(const char *ifname, const char *backend)
{
    if (!ifname || strlen(ifname) >= IF_NAMESIZE) {
        errno = EINVAL;
        return NULL;
    }
    if (backend) {
        for (size_t i = 0; i < sizeof all_backends / sizeof all_backends[0]; i++)
            if (!strcmp(all_backends[i]->name, backend))
                return port_try(ifname, all_backends[i]);
        errno = ENOENT;
        return NULL;
    }
    int err = ENODEV;
    for (size_t i = 0; i < sizeof auto_backends / sizeof auto_backends[0]; i++) {
        struct port *p = port_try(ifname, auto_backends[i]);
        if (p)
            return p;
        err = errno;
    }
    errno = err;
    return NULL;
}

void
port_close(struct port *p)
{
    if (!p)
        return;
    p->ops->close(p);
    free(p);
}
