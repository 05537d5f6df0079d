/* SPDX-License-Identifier: Apache-2.0 */
/* rtloop: an event loop on a real-time thread (rtloop.h). */
#include "lib/rtloop.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"

LOG_MODULE(rtloop);

static void
on_wake_fd(evutil_socket_t fd, short what, void *arg)
{
    struct rtloop *l = arg;
    uint64_t v;
    if (read(fd, &v, sizeof v) < 0 && errno != EAGAIN)
        log_warn("%s: wake: %s", l->name, strerror(errno));
    if (atomic_load(&l->stop))
        event_base_loopbreak(l->base);
    else if (l->on_wake)
        l->on_wake(l->aux);
}

static void *
run(void *arg)
{
    struct rtloop *l = arg;
    int rc = thread_realtime(l->name, l->prio);
    if (rc)
        log_warn("%s: no real-time priority (%s): it competes with %s", l->name, strerror(rc),
                 l->competes_with);
    event_base_dispatch(l->base);
    return NULL;
}

int
rtloop_init(struct rtloop *l, void (*on_wake)(void *aux), void *aux, char *err, size_t err_len)
{
    *l = (struct rtloop){.wake_fd = -1, .on_wake = on_wake, .aux = aux};
    l->base = event_base_new();
    l->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (l->base && l->wake_fd >= 0)
        l->wake_ev = event_new(l->base, l->wake_fd, EV_READ | EV_PERSIST, on_wake_fd, l);
    if (!l->wake_ev || event_add(l->wake_ev, NULL) < 0)
        return err_set(err, err_len, -ENOMEM, "cannot make an event loop for a thread");
    return 0;
}

int
rtloop_start(struct rtloop *l, const char *name, int prio, const char *competes_with, char *err,
             size_t err_len)
{
    snprintf(l->name, sizeof l->name, "%s", name);
    l->prio = prio;
    l->competes_with = competes_with;
    int rc = pthread_create(&l->thread, NULL, run, l);
    if (rc)
        return err_set(err, err_len, -rc, "%s thread: %s", name, strerror(rc));
    l->started = true;
    return 0;
}

void
rtloop_wake(struct rtloop *l)
{
    uint64_t one = 1;
    if (write(l->wake_fd, &one, sizeof one) < 0)
        log_warn("%s: cannot wake it: %s", l->name, strerror(errno));
}

void
rtloop_stop(struct rtloop *l)
{
    if (!l->started)
        return;
    atomic_store(&l->stop, true);
    rtloop_wake(l);
    pthread_join(l->thread, NULL);
    l->started = false;
}

void
rtloop_fini(struct rtloop *l)
{
    if (l->wake_ev)
        event_free(l->wake_ev);
    if (l->wake_fd >= 0)
        close(l->wake_fd);
    base_free_drained(l->base);
    *l = (struct rtloop){.wake_fd = -1};
}

void
base_free_drained(struct event_base *base)
{
    if (!base)
        return;
    event_base_loop(base, EVLOOP_NONBLOCK);
    event_base_free(base);
}
