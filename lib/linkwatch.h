/* SPDX-License-Identifier: Apache-2.0 */
/*
 * linkwatch: hears carrier changes of network interfaces the moment the kernel
 * announces them (rtnetlink RTMGRP_LINK, libmnl), on a libevent loop.
 *
 * Thread-safety: one event base; callbacks run on it.
 */
#ifndef DSE_LINKWATCH_H
#define DSE_LINKWATCH_H

#include <event2/event.h>
#include <stdbool.h>

struct linkwatch;

/* 'cb' gets the interface index and name and whether it has carrier (running
 * and lower layer up); 'gone' is true when the interface was deleted. */
typedef void (*linkwatch_cb)(int ifindex, const char *ifname, bool carrier, bool gone, void *aux);

/* Returns NULL and sets errno on failure. */
struct linkwatch *linkwatch_create(struct event_base *base, linkwatch_cb cb, void *aux);
void linkwatch_destroy(struct linkwatch *); /* accepts NULL */

/* Current carrier of 'ifname' (false if it does not exist). */
bool link_has_carrier(const char *ifname);

#endif
