/* SPDX-License-Identifier: Apache-2.0 */
/* linkwatch: rtnetlink link notifications via libmnl. */
#include "lib/linkwatch.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

struct linkwatch {
    struct mnl_socket *nl;
    struct event *ev;
    linkwatch_cb cb;
    void *aux;
};

static int
attr_cb(const struct nlattr *attr, void *data)
{
    const struct nlattr **tb = data;
    int type = mnl_attr_get_type(attr);
    if (mnl_attr_type_valid(attr, IFLA_MAX) < 0)
        return MNL_CB_OK;
    if (type == IFLA_IFNAME && mnl_attr_validate(attr, MNL_TYPE_STRING) < 0)
        return MNL_CB_ERROR;
    tb[type] = attr;
    return MNL_CB_OK;
}

static int
msg_cb(const struct nlmsghdr *nlh, void *data)
{
    struct linkwatch *lw = data;
    if (nlh->nlmsg_type != RTM_NEWLINK && nlh->nlmsg_type != RTM_DELLINK)
        return MNL_CB_OK;
    const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
    const struct nlattr *tb[IFLA_MAX + 1] = {0};
    if (mnl_attr_parse(nlh, sizeof *ifm, attr_cb, tb) != MNL_CB_OK || !tb[IFLA_IFNAME])
        return MNL_CB_OK;
    bool gone = nlh->nlmsg_type == RTM_DELLINK;
    bool carrier = !gone && (ifm->ifi_flags & IFF_RUNNING) && (ifm->ifi_flags & IFF_LOWER_UP);
    lw->cb(ifm->ifi_index, mnl_attr_get_str(tb[IFLA_IFNAME]), carrier, gone, lw->aux);
    return MNL_CB_OK;
}

static void
on_readable(evutil_socket_t fd, short what, void *arg)
{
    struct linkwatch *lw = arg;
    char buf[16384];
    for (;;) {
        ssize_t n = mnl_socket_recvfrom(lw->nl, buf, sizeof buf);
        if (n <= 0)
            break; /* EAGAIN, or ENOBUFS after an overrun: the next event resyncs */
        mnl_cb_run(buf, (size_t)n, 0, 0, msg_cb, lw);
    }
}

struct linkwatch *
linkwatch_create(struct event_base *base, linkwatch_cb cb, void *aux)
{
    struct linkwatch *lw = calloc(1, sizeof *lw);
    if (!lw)
        return NULL;
    lw->cb = cb;
    lw->aux = aux;
    lw->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (!lw->nl || mnl_socket_bind(lw->nl, RTMGRP_LINK, MNL_SOCKET_AUTOPID) < 0)
        goto fail;
    lw->ev = event_new(base, mnl_socket_get_fd(lw->nl), EV_READ | EV_PERSIST, on_readable, lw);
    if (!lw->ev || event_add(lw->ev, NULL) < 0)
        goto fail;
    return lw;
fail:;
    int err = errno;
    linkwatch_destroy(lw);
    errno = err ? err : ENOMEM;
    return NULL;
}

void
linkwatch_destroy(struct linkwatch *lw)
{
    if (!lw)
        return;
    if (lw->ev)
        event_free(lw->ev);
    if (lw->nl)
        mnl_socket_close(lw->nl);
    free(lw);
}

bool
link_has_carrier(const char *ifname)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    struct ifreq ifr = {0};
    strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
    bool up = ioctl(fd, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_RUNNING);
    close(fd);
    return up;
}
