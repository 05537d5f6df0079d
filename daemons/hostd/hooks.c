/* SPDX-License-Identifier: Apache-2.0 */
/* hooks: how a lower module of hostd calls a higher one, through the hooks
 * main() wires (hostd.h). */
#include "daemons/hostd/hostd.h"

#include <stdarg.h>
#include <stdio.h>

#include "lib/log.h"

LOG_MODULE(hostd);

void
hostd_event(struct hostd *h, const char *type, const char *object, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (h->hooks.event)
        h->hooks.event(h, type, object, msg);
    else
        log_info("event %s %s: %s", type, object, msg);
}

void
hostd_config_changed(struct hostd *h)
{
    if (h->hooks.config_changed)
        h->hooks.config_changed(h);
}
