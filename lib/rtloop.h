/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rtloop: a libevent loop on a thread of its own at real-time priority,
 * woken and stopped through an eventfd: what the agents' HA threads run on,
 * so that nothing on the control thread delays a heartbeat.
 *
 *     rtloop_init(&l, on_wake, aux, &err);   ...events on l.base...
 *     rtloop_start(&l, "ha", 20, "the data plane", &err);
 *     rtloop_wake(&l);                       from any thread: on_wake(aux) runs on it
 *     rtloop_stop(&l);  ...free what lives on l.base...  rtloop_fini(&l);
 *
 * Thread-safety: rtloop_wake() and rtloop_stop() from any thread; the rest
 * from the owner, before start or after stop.
 */
#ifndef DSE_RTLOOP_H
#define DSE_RTLOOP_H

#include <event2/event.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

struct rtloop {
    struct event_base *base;
    int wake_fd;
    struct event *wake_ev;
    pthread_t thread;
    bool started;
    atomic_bool stop;
    void (*on_wake)(void *aux); /* may be NULL */
    void *aux;
    char name[16];
    int prio;
    const char *competes_with; /* what it competes with without real time */
};

/* The base and the wake event.  Returns 0, or -ENOMEM with one line in 'err'. */
int rtloop_init(struct rtloop *, void (*on_wake)(void *aux), void *aux, char *err, size_t err_len);
/* The thread, named 'name' (at most 15 characters), SCHED_FIFO 'prio' where
 * allowed (else a warning that it competes with 'competes_with'). */
int rtloop_start(struct rtloop *, const char *name, int prio, const char *competes_with, char *err,
                 size_t err_len);
void rtloop_wake(struct rtloop *);
/* Breaks the loop and joins the thread (if started). */
void rtloop_stop(struct rtloop *);
/* Frees event base 'base' (NULL: nothing) after one non-blocking turn of
 * its loop: a bufferevent freed while a deferred callback of its was queued
 * keeps a reference until that callback runs, and event_base_free()
 * cancels such callbacks unrun, which leaks the bufferevent and its TLS
 * session.  For shutdown, once the base's own events are freed. */
void base_free_drained(struct event_base *base);

/* Frees the base: after stop, and after freeing what lives on it. */
void rtloop_fini(struct rtloop *);

#endif
