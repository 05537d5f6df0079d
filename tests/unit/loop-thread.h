/* SPDX-License-Identifier: Apache-2.0 */
/*
 * loop-thread: a libevent loop on its own thread for unit tests of servers,
 * stopped by a flag that a 10 ms timer polls (no libevent_pthreads needed).
 *
 *     loop_thread_init(&lt);  ...create servers on lt.base...
 *     loop_thread_start(&lt); ...call them...  loop_thread_stop(&lt);
 *     ...destroy servers...   loop_thread_fini(&lt);
 */
#ifndef DSE_TEST_LOOP_THREAD_H
#define DSE_TEST_LOOP_THREAD_H

#include <event2/event.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

struct loop_thread {
    struct event_base *base;
    struct event *tick;
    pthread_t thread;
    atomic_bool stop;
    bool running;
};

static void
loop_thread_tick_(evutil_socket_t fd, short what, void *lt_)
{
    struct loop_thread *lt = lt_;
    if (atomic_load(&lt->stop))
        event_base_loopbreak(lt->base);
}

static void *
loop_thread_main_(void *lt_)
{
    struct loop_thread *lt = lt_;
    event_base_dispatch(lt->base);
    return NULL;
}

static inline bool
loop_thread_init(struct loop_thread *lt)
{
    lt->base = event_base_new();
    lt->tick = lt->base ? event_new(lt->base, -1, EV_PERSIST, loop_thread_tick_, lt) : NULL;
    atomic_store(&lt->stop, false);
    lt->running = false;
    return lt->tick != NULL;
}

static inline bool
loop_thread_start(struct loop_thread *lt)
{
    struct timeval tv = {0, 10000};
    event_add(lt->tick, &tv);
    lt->running = !pthread_create(&lt->thread, NULL, loop_thread_main_, lt);
    return lt->running;
}

static inline void
loop_thread_stop(struct loop_thread *lt)
{
    atomic_store(&lt->stop, true);
    if (lt->running)
        pthread_join(lt->thread, NULL);
    lt->running = false;
}

static inline void
loop_thread_fini(struct loop_thread *lt)
{
    if (lt->tick)
        event_free(lt->tick);
    /* What the destroyed servers left to the loop (a bufferevent's last
     * reference is dropped in a deferred callback) runs before the end. */
    for (int i = 0; lt->base && i < 4; i++)
        event_base_loop(lt->base, EVLOOP_NONBLOCK);
    if (lt->base)
        event_base_free(lt->base);
}

#endif
