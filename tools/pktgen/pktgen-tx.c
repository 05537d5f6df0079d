/* SPDX-License-Identifier: Apache-2.0 */
/* pktgen-tx: the pacing of `dse-pktgen tx --dev` over any generator
 * (pktgen-tx.h). */
#include "tools/pktgen/pktgen-tx.h"

#include <errno.h>
#include <time.h>

#include "lib/util.h"

void
pktgen_sleep_until(uint64_t t_ns, volatile sig_atomic_t *stop)
{
    struct timespec ts = {.tv_sec = (time_t)(t_ns / 1000000000ULL),
                          .tv_nsec = (long)(t_ns % 1000000000ULL)};
    while (!*stop && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

/* When frame 'done' is due at 'rate_pps' from 't0'. */
static uint64_t
due_ns(uint64_t t0, uint64_t done, uint64_t rate_pps)
{
    return t0 + (uint64_t)((double)done * 1e9 / (double)rate_pps);
}

/* Has 'g' send 'n' frames, batch after batch, adding them to '*done', until
 * 'end_ns' if not 0 (a kernel that takes nothing must not hold a run past
 * its --duration).  Returns 0, or -errno of a send (-EINTR also when '*stop'
 * came). */
static int
tx_chunk(const struct pktgen_gen_ops *g, void *ctx, uint64_t n, uint64_t end_ns,
         volatile sig_atomic_t *stop, uint64_t *done)
{
    while (n) {
        if (*stop)
            return -EINTR;
        if (end_ns && now_ns() >= end_ns)
            return 0;
        int64_t sent = g->send(ctx, n);
        if (sent < 0)
            return (int)sent;
        *done += (uint64_t)sent;
        n -= MIN((uint64_t)sent, n);
    }
    return 0;
}

int
pktgen_tx_run(const struct pktgen_opts *o, const struct pktgen_gen_ops *g, void *ctx,
              volatile sig_atomic_t *stop, uint64_t *elapsed_ns)
{
    /* --rate with --duration sends exactly rate * duration frames. */
    uint64_t target = pktgen_tx_target(o);
    uint64_t chunk = o->rate_pps ? MAX(o->rate_pps / 1000, 1) : MAX(g->chunk_max, 1);
    uint64_t dur_ns = (uint64_t)(o->duration_s * 1e9);
    uint64_t t0 = now_ns(), done = 0;
    int rc = 0;
    while (!*stop) {
        uint64_t n = chunk;
        if (target) {
            if (done >= target)
                break;
            n = MIN(chunk, target - done);
        } else if (now_ns() - t0 >= dur_ns) {
            break;
        }
        if (o->rate_pps) {
            pktgen_sleep_until(due_ns(t0, done, o->rate_pps), stop);
            if (*stop)
                break;
        }
        rc = tx_chunk(g, ctx, n, target ? 0 : t0 + dur_ns, stop, &done);
        if (rc < 0)
            break;
    }
    if (rc == -EINTR)
        rc = 0;
    if (o->rate_pps && target && !*stop && !rc)
        pktgen_sleep_until(due_ns(t0, target, o->rate_pps), stop);
    *elapsed_ns = now_ns() - t0;
    return rc;
}
