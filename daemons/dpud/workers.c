/* SPDX-License-Identifier: Apache-2.0 */
/*
 * workers: dpud's poll-mode data-plane threads (see dpud.h).
 *
 * Each worker is pinned to one DPU core and polls the ports assigned to it
 * (every port to exactly one worker: its single receive queue), running
 * bursts through the switch with its own pipeline context (receive buffers,
 * flow cache).  Adaptive polling: after a round without frames a worker keeps
 * polling, yielding the core between rounds (the ports' kernel receive
 * threads share it), for --poll-us; then it sleeps in epoll_wait on its ports'
 * descriptors and its wake-up eventfd, so an idle DPU burns no core.  After
 * frames from a shared-memory port (vhost-user: no kernel thread to starve)
 * it polls at least DPUD_POLL_US_SHM: waking a sleeping thread costs more
 * than the gap between a guest's bursts (milliseconds on a virtual CPU).
 *
 * The control thread and the workers never touch the switch at once.  Workers
 * are userspace-RCU (QSBR) readers that pass a quiescent state after every
 * round and go offline while they sleep or park.  dpud_pause() raises a flag
 * and waits for a grace period: afterwards every worker is asleep, parked, or
 * will park at its next round, so the control thread owns the switch until
 * dpud_resume().  That costs the control thread one grace period per command
 * or tick, and the workers one atomic load per round.  Workers switch in
 * parallel: each has its own pipeline context, the MAC table is read without
 * locks, and a port's backend is locked once per burst that uses it
 * (switch.h).  Nothing is locked per frame.
 *
 * A worker never changes the switch's configuration: when a port's backend
 * reports a carrier the switch does not have yet (a vhost-user front-end came
 * or went), it wakes the control thread, which applies it while paused.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <event2/event.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <urcu/urcu-qsbr.h>

#include "daemons/dpud/dpud.h"
#include "lib/log.h"
#include "lib/util.h"

LOG_MODULE(dpud);

#define BURSTS_PER_PORT 16 /* a busy port cannot starve the others of a worker */

static void
park(struct dpud_worker *w)
{
    struct dpud *d = w->d;
    while (atomic_load(&d->paused) && !atomic_load(&d->stopping)) {
        urcu_qsbr_thread_offline();
        pthread_mutex_lock(&d->park_mu);
        while (atomic_load(&d->paused) && !atomic_load(&d->stopping))
            pthread_cond_wait(&d->park_cv, &d->park_mu);
        pthread_mutex_unlock(&d->park_mu);
        urcu_qsbr_thread_online();
    }
}

/* Tells the control thread that a port's carrier changed (once until it has
 * looked). */
static void
carrier_changed(struct dpud *d)
{
    if (atomic_exchange(&d->carrier_pending, true))
        return;
    uint64_t one = 1;
    ssize_t r = write(d->carrier_fd, &one, sizeof one);
    (void)r;
}

static void
on_carrier(evutil_socket_t fd, short what, void *arg)
{
    struct dpud *d = arg;
    uint64_t v;
    ssize_t r = read(fd, &v, sizeof v);
    (void)r;
    atomic_store(&d->carrier_pending, false);
    dpud_pause(d);
    uint64_t now = now_ms();
    for (unsigned id = 0; id < SW_MAX_PORTS; id++)
        sw_port_sync_carrier(d->sw, (uint16_t)id, now);
    dpud_resume(d);
}

/* One round over the worker's ports.  Returns the frames it switched. */
static unsigned
poll_round(struct dpud_worker *w, bool *from_shm)
{
    struct dpud *d = w->d;
    unsigned got = 0;
    *from_shm = false;
    uint64_t now = now_ms();
    for (unsigned i = 0; i < w->n_ports; i++) {
        unsigned from_port = 0;
        for (int b = 0; b < BURSTS_PER_PORT; b++) {
            unsigned n = sw_poll_ctx(w->ctx, w->ports[i], now);
            from_port += n;
            if (n < SW_BURST)
                break;
        }
        got += from_port;
        const struct sw_port *p = sw_port_at(d->sw, w->ports[i]);
        if (from_port && !p->io->ifindex)
            *from_shm = true;
        if (p->io->ops->carrier && sw_port_io_carrier(d->sw, p->id) != p->carrier)
            carrier_changed(d); /* vhost-user: a front-end came or went */
    }
    return got;
}

static void
sleep_on_ports(struct dpud_worker *w)
{
    struct epoll_event ev[16];
    urcu_qsbr_thread_offline();
    int n = epoll_wait(w->epfd, ev, 16, 1000);
    for (int i = 0; i < n; i++) {
        if (ev[i].data.fd == w->wake_fd) {
            uint64_t v;
            ssize_t r = read(w->wake_fd, &v, sizeof v);
            (void)r;
        }
    }
    urcu_qsbr_thread_online();
    atomic_fetch_add_explicit(&w->sleeps, 1, memory_order_relaxed);
}

static void *
worker_main(void *arg)
{
    struct dpud_worker *w = arg;
    struct dpud *d = w->d;
    char name[16];
    snprintf(name, sizeof name, "dpud-w%u", w->idx);
    pthread_setname_np(pthread_self(), name);
    urcu_qsbr_register_thread();
    uint64_t idle_since = 0;
    unsigned poll_us = d->poll_us;
    while (!atomic_load(&d->stopping)) {
        park(w);
        if (atomic_load(&d->stopping))
            break;
        bool from_shm;
        unsigned got = poll_round(w, &from_shm);
        urcu_qsbr_quiescent_state();
        if (got) {
            atomic_fetch_add_explicit(&w->packets, got, memory_order_relaxed);
            idle_since = 0;
            poll_us = from_shm && d->poll_us < DPUD_POLL_US_SHM ? DPUD_POLL_US_SHM : d->poll_us;
            continue;
        }
        uint64_t now = now_ns();
        if (!idle_since)
            idle_since = now;
        if (now - idle_since < (uint64_t)poll_us * 1000) {
            sched_yield();
            continue;
        }
        sleep_on_ports(w);
        idle_since = 0;
        poll_us = d->poll_us;
    }
    urcu_qsbr_unregister_thread();
    return NULL;
}

void
dpud_pause(struct dpud *d)
{
    if (!d->n_workers || d->pause_depth++)
        return;
    atomic_store(&d->paused, true);
    urcu_qsbr_synchronize_rcu();
}

void
dpud_resume(struct dpud *d)
{
    if (!d->n_workers || --d->pause_depth)
        return;
    pthread_mutex_lock(&d->park_mu);
    atomic_store(&d->paused, false);
    pthread_cond_broadcast(&d->park_cv);
    pthread_mutex_unlock(&d->park_mu);
}

static void
wake(struct dpud_worker *w)
{
    uint64_t one = 1;
    ssize_t r = write(w->wake_fd, &one, sizeof one);
    (void)r;
}

int
dpud_workers_start(struct dpud *d, const int *cpus, unsigned n, char *err, size_t err_len)
{
    pthread_mutex_init(&d->park_mu, NULL);
    pthread_cond_init(&d->park_cv, NULL);
    for (unsigned i = 0; i < SW_MAX_PORTS; i++)
        d->port_worker[i] = -1;
    d->carrier_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (d->carrier_fd < 0)
        return err_set(err, err_len, -errno, "workers: eventfd: %s", strerror(errno));
    if (d->base) {
        d->carrier_ev = event_new(d->base, d->carrier_fd, EV_READ | EV_PERSIST, on_carrier, d);
        if (!d->carrier_ev || event_add(d->carrier_ev, NULL) < 0)
            return err_set(err, err_len, -ENOMEM, "workers: cannot watch carrier changes");
    }
    for (unsigned i = 0; i < n; i++) {
        struct dpud_worker *w = &d->workers[i];
        w->d = d;
        w->idx = i;
        w->cpu = cpus[i];
        w->epfd = epoll_create1(EPOLL_CLOEXEC);
        w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        w->ctx = sw_ctx_create(d->sw);
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = w->wake_fd};
        if (w->epfd < 0 || w->wake_fd < 0 || !w->ctx ||
            epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->wake_fd, &ev) < 0)
            return err_set(err, err_len, -errno, "worker %u: %s", i,
                           strerror(errno ? errno : ENOMEM));
    }
    /* Pausing needs the count; no worker runs a frame before its first port. */
    d->n_workers = n;
    for (unsigned i = 0; i < n; i++) {
        struct dpud_worker *w = &d->workers[i];
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(w->cpu, &set);
        pthread_attr_setaffinity_np(&attr, sizeof set, &set);
        int rc = pthread_create(&w->thread, &attr, worker_main, w);
        pthread_attr_destroy(&attr);
        if (rc) {
            d->n_workers = i;
            return err_set(err, err_len, -rc, "worker %u: cannot start: %s", i, strerror(rc));
        }
        w->started = true;
        log_info("worker %u: polling on cpu %d", i, w->cpu);
    }
    return 0;
}

void
dpud_workers_stop(struct dpud *d)
{
    if (!d->workers[0].d)
        return; /* never started */
    atomic_store(&d->stopping, true);
    pthread_mutex_lock(&d->park_mu);
    pthread_cond_broadcast(&d->park_cv);
    pthread_mutex_unlock(&d->park_mu);
    for (unsigned i = 0; i < DPUD_MAX_WORKERS; i++) {
        struct dpud_worker *w = &d->workers[i];
        if (w->started) {
            wake(w);
            pthread_join(w->thread, NULL);
            w->started = false;
        }
        sw_ctx_destroy(w->ctx);
        w->ctx = NULL;
        if (w->epfd > 0)
            close(w->epfd);
        if (w->wake_fd > 0)
            close(w->wake_fd);
        w->epfd = w->wake_fd = 0;
    }
    d->n_workers = 0;
    if (d->carrier_ev)
        event_free(d->carrier_ev);
    d->carrier_ev = NULL;
    if (d->carrier_fd > 0)
        close(d->carrier_fd);
    d->carrier_fd = 0;
}

int
dpud_worker_attach(struct dpud *d, uint16_t id, int fd)
{
    struct dpud_worker *best = &d->workers[0];
    for (unsigned i = 1; i < d->n_workers; i++)
        if (d->workers[i].n_ports < best->n_ports)
            best = &d->workers[i];
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
    if (fd >= 0 && epoll_ctl(best->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
        return -errno;
    best->ports[best->n_ports++] = id;
    d->port_worker[id] = (int)best->idx;
    wake(best); /* it may have frames waiting already */
    return (int)best->idx;
}

void
dpud_worker_detach(struct dpud *d, uint16_t id, int fd)
{
    int wi = d->port_worker[id];
    if (wi < 0)
        return;
    struct dpud_worker *w = &d->workers[wi];
    if (fd >= 0)
        epoll_ctl(w->epfd, EPOLL_CTL_DEL, fd, NULL);
    unsigned j = 0;
    for (unsigned i = 0; i < w->n_ports; i++)
        if (w->ports[i] != id)
            w->ports[j++] = w->ports[i];
    w->n_ports = j;
    d->port_worker[id] = -1;
}
