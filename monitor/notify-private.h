/* SPDX-License-Identifier: Apache-2.0 */
/*
 * notify-private: the parsers of notify.c's webhooks, on their own so that a
 * fuzzer can feed them (tests/fuzz/fuzz-notify.c): the target URL an operator
 * configures, and the first line of the receiver's reply.
 *
 * Thread-safety: reentrant.
 */
#ifndef DSE_MONITOR_NOTIFY_PRIVATE_H
#define DSE_MONITOR_NOTIFY_PRIVATE_H

#include <stdbool.h>

#define NOTIFY_URL_MAX 512 /* a target, NUL included */

struct notify_url {
    char host[256];            /* a name, an IPv4 address, or an IPv6 one without brackets */
    char port[8];              /* decimal, 1..65535 ("80" when the URL has none) */
    char path[NOTIFY_URL_MAX]; /* "/" when the URL has none */
};

/* Parses "http://HOST[:PORT][/PATH]" (HOST "[IPv6]" for an IPv6 address)
 * into 'u'.  Returns false when 's' is anything else, is NOTIFY_URL_MAX
 * bytes or longer, or would put a space or a control character into the
 * request. */
bool notify_url_parse(const char *s, struct notify_url *u);

/* Whether the receiver took the notification, from 'resp' (the start of its
 * reply, NUL-terminated): 0 for "HTTP/1.x 2xx", else -EPROTO.  '*status' is
 * the status it sent, or 0 when 'resp' has none. */
int notify_reply_status(const char *resp, int *status);

#endif
