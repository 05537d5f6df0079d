/* SPDX-License-Identifier: Apache-2.0 */
/* eswitch: loading the XDP flow tier and managing its maps (libbpf). */
#include "dataplane/eswitch.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <pthread.h>
#include <linux/if_link.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include <time.h>
#include <unistd.h>

extern const unsigned char eswitch_bpf_obj[];
extern const size_t eswitch_bpf_obj_len;

struct eswitch {
    struct bpf_object *obj;
    int prog_fd;
    int flows_fd, tx_fd, stats_fd, slot_fd, xsks_fd, fence_fd, conns_fd;
    int n_cpus;
    bool slot_used[ESWITCH_MAX_PORTS]; /* AF_XDP slots in 'xsks' */
};

static int
libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
    return 0; /* failures are reported through our own errors */
}

struct eswitch *
eswitch_create(char *err, size_t err_len)
{
    libbpf_set_print(libbpf_quiet);
    struct eswitch *e = calloc(1, sizeof *e);
    if (!e) {
        err_set(err, err_len, 0, "out of memory");
        return NULL;
    }
    e->n_cpus = libbpf_num_possible_cpus();
    e->flows_fd = e->conns_fd = -1;
    e->obj = bpf_object__open_mem(eswitch_bpf_obj, eswitch_bpf_obj_len, NULL);
    if (!e->obj) {
        err_set(err, err_len, 0, "cannot open the eswitch program: %s", strerror(errno));
        goto fail;
    }
    int rc = bpf_object__load(e->obj);
    if (rc) {
        err_set(err, err_len, 0, "cannot load the eswitch program: %s", strerror(-rc));
        goto fail;
    }
    e->prog_fd = bpf_program__fd(bpf_object__find_program_by_name(e->obj, "eswitch"));
    e->flows_fd = bpf_object__find_map_fd_by_name(e->obj, "flows");
    e->tx_fd = bpf_object__find_map_fd_by_name(e->obj, "tx_ports");
    e->stats_fd = bpf_object__find_map_fd_by_name(e->obj, "port_stats");
    e->slot_fd = bpf_object__find_map_fd_by_name(e->obj, "miss_slot");
    e->xsks_fd = bpf_object__find_map_fd_by_name(e->obj, "xsks");
    e->fence_fd = bpf_object__find_map_fd_by_name(e->obj, "fence");
    e->conns_fd = bpf_object__find_map_fd_by_name(e->obj, "conns");
    if (e->prog_fd < 0 || e->flows_fd < 0 || e->tx_fd < 0 || e->stats_fd < 0 || e->slot_fd < 0 ||
        e->xsks_fd < 0 || e->fence_fd < 0 || e->conns_fd < 0 || e->n_cpus <= 0) {
        err_set(err, err_len, 0, "eswitch program lacks its maps");
        goto fail;
    }
    return e;
fail:
    eswitch_destroy(e);
    return NULL;
}

void
eswitch_destroy(struct eswitch *e)
{
    if (!e)
        return;
    /* The program stays on the ports (removing it would tear down their NAPI
     * contexts); with no flows it passes everything up, to nobody. */
    if (e->flows_fd >= 0)
        eswitch_flow_sweep(e, NULL, NULL);
    if (e->conns_fd >= 0)
        eswitch_conn_flush(e);
    bpf_object__close(e->obj);
    free(e);
}

int
eswitch_port_attach(struct eswitch *e, int ifindex)
{
    int rc = bpf_xdp_attach(ifindex, e->prog_fd, XDP_FLAGS_DRV_MODE, NULL);
    if (rc)
        return rc;
    __u32 k = (__u32)ifindex, v = (__u32)ifindex;
    if (bpf_map_update_elem(e->tx_fd, &k, &v, BPF_ANY))
        return -errno;
    return 0;
}

static bool
touches_ifindex(const struct eswitch_key *k, const struct eswitch_action *a, void *aux)
{
    int ifindex = *(int *)aux;
    return k->in_ifindex == (__u32)ifindex || a->out_ifindex == (__u32)ifindex;
}

void
eswitch_port_detach(struct eswitch *e, int ifindex)
{
    __u32 k = (__u32)ifindex, slot;
    bpf_map_delete_elem(e->tx_fd, &k);
    if (bpf_map_lookup_elem(e->slot_fd, &k, &slot) == 0 && slot < ESWITCH_MAX_PORTS) {
        bpf_map_delete_elem(e->slot_fd, &k);
        bpf_map_delete_elem(e->xsks_fd, &slot);
        e->slot_used[slot] = false;
    }
    eswitch_flow_sweep(e, touches_ifindex, &ifindex);
}

int
eswitch_port_steer(struct eswitch *e, int ifindex, int xsk_fd)
{
    __u32 slot = 0, k = (__u32)ifindex, fd = (__u32)xsk_fd;
    while (slot < ESWITCH_MAX_PORTS && e->slot_used[slot])
        slot++;
    if (slot == ESWITCH_MAX_PORTS)
        return -ENOSPC;
    /* The socket first, so that a steered miss always finds it. */
    if (bpf_map_update_elem(e->xsks_fd, &slot, &fd, BPF_ANY) ||
        bpf_map_update_elem(e->slot_fd, &k, &slot, BPF_ANY)) {
        int err = -errno;
        bpf_map_delete_elem(e->xsks_fd, &slot);
        return err;
    }
    e->slot_used[slot] = true;
    return 0;
}

int
eswitch_flow_add(struct eswitch *e, const struct eswitch_key *key,
                 const struct eswitch_action *action)
{
    if (bpf_map_update_elem(e->flows_fd, key, action, BPF_ANY))
        return errno == E2BIG ? -ENOSPC : -errno;
    return 0;
}

/* Reads the table in batches (one syscall per ESWITCH_BATCH flows, not two
 * per flow: a full table is walked every second).  Kernels without batch
 * lookups for hash maps get the walk one key at a time.  The batch lives on
 * the caller's stack (18 KiB): the control thread reads the table while a
 * worker may be sweeping it. */
#define ESWITCH_BATCH 256

static void
foreach_one_by_one(struct eswitch *e,
                   void (*cb)(const struct eswitch_key *, const struct eswitch_action *, void *),
                   void *aux)
{
    struct eswitch_key key, next;
    struct eswitch_action a;
    const void *prev = NULL;
    while (bpf_map_get_next_key(e->flows_fd, prev, &next) == 0) {
        key = next;
        prev = &key;
        if (bpf_map_lookup_elem(e->flows_fd, &key, &a) == 0)
            cb(&key, &a, aux);
    }
}

void
eswitch_flow_foreach(struct eswitch *e,
                     void (*cb)(const struct eswitch_key *, const struct eswitch_action *, void *),
                     void *aux)
{
    struct eswitch_key keys[ESWITCH_BATCH];
    struct eswitch_action vals[ESWITCH_BATCH];
    __u32 token = 0;
    bool first = true;
    for (;;) {
        __u32 n = ESWITCH_BATCH;
        int rc =
            bpf_map_lookup_batch(e->flows_fd, first ? NULL : &token, &token, keys, vals, &n, NULL);
        if (rc && errno != ENOENT) {
            if (first)
                foreach_one_by_one(e, cb, aux);
            return;
        }
        for (__u32 i = 0; i < n; i++)
            cb(&keys[i], &vals[i], aux);
        if (rc) /* ENOENT: that was the last batch */
            return;
        first = false;
    }
}

struct sweep {
    bool (*doomed)(const struct eswitch_key *, const struct eswitch_action *, void *);
    void *aux;
    unsigned n;
    struct eswitch_key *victims; /* ESWITCH_MAX_FLOWS of them */
};

static void
sweep_one(const struct eswitch_key *k, const struct eswitch_action *a, void *aux)
{
    struct sweep *s = aux;
    if ((!s->doomed || s->doomed(k, a, s->aux)) && s->n < ESWITCH_MAX_FLOWS)
        s->victims[s->n++] = *k;
}

/* Collects the keys to delete first, then deletes: deleting while walking a
 * BPF hash would restart the walk.  The victim list is static (a full table's
 * worth is too big for a worker's stack), so sweeps take turns. */
static pthread_mutex_t sweep_mu = PTHREAD_MUTEX_INITIALIZER;

unsigned
eswitch_flow_sweep(struct eswitch *e,
                   bool (*doomed)(const struct eswitch_key *, const struct eswitch_action *,
                                  void *),
                   void *aux)
{
    static struct eswitch_key victims[ESWITCH_MAX_FLOWS];
    pthread_mutex_lock(&sweep_mu);
    struct sweep s = {.doomed = doomed, .aux = aux, .victims = victims};
    eswitch_flow_foreach(e, sweep_one, &s);
    unsigned n = eswitch_flow_del(e, victims, s.n);
    pthread_mutex_unlock(&sweep_mu);
    return n;
}

unsigned
eswitch_flow_del(struct eswitch *e, const struct eswitch_key *keys, unsigned n)
{
    unsigned done = 0;
    for (unsigned i = 0; i < n; i++)
        done += bpf_map_delete_elem(e->flows_fd, &keys[i]) == 0;
    return done;
}

struct snapshot {
    struct eswitch_key *keys;
    struct eswitch_action *actions;
    unsigned n, max;
};

static void
snapshot_one(const struct eswitch_key *k, const struct eswitch_action *a, void *aux)
{
    struct snapshot *s = aux;
    if (s->n < s->max) {
        s->keys[s->n] = *k;
        s->actions[s->n++] = *a;
    }
}

unsigned
eswitch_flow_read(struct eswitch *e, struct eswitch_key *keys, struct eswitch_action *actions,
                  unsigned max)
{
    struct snapshot s = {.keys = keys, .actions = actions, .max = max};
    eswitch_flow_foreach(e, snapshot_one, &s);
    return s.n;
}

bool
eswitch_port_stats(struct eswitch *e, unsigned port_id, struct eswitch_port_stats *out)
{
    struct eswitch_port_stats per_cpu[e->n_cpus];
    __u32 k = port_id;
    memset(out, 0, sizeof *out);
    if (port_id >= ESWITCH_MAX_PORTS || bpf_map_lookup_elem(e->stats_fd, &k, per_cpu))
        return false;
    for (int i = 0; i < e->n_cpus; i++) {
        out->rx_packets += per_cpu[i].rx_packets;
        out->rx_bytes += per_cpu[i].rx_bytes;
        out->tx_packets += per_cpu[i].tx_packets;
        out->tx_bytes += per_cpu[i].tx_bytes;
    }
    return true;
}

void
eswitch_port_stats_clear(struct eswitch *e, unsigned port_id)
{
    struct eswitch_port_stats zero[e->n_cpus];
    memset(zero, 0, sizeof zero);
    __u32 k = port_id;
    if (port_id < ESWITCH_MAX_PORTS)
        bpf_map_update_elem(e->stats_fd, &k, zero, BPF_ANY);
}

int
eswitch_prog_fd(const struct eswitch *e)
{
    return e->prog_fd;
}

uint64_t
eswitch_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int
eswitch_set_fenced(struct eswitch *e, bool fenced)
{
    __u32 k = 0, v = fenced;
    return bpf_map_update_elem(e->fence_fd, &k, &v, BPF_ANY) ? -errno : 0;
}

/* ---- the firewall's connections ---- */

int
eswitch_conn_add(struct eswitch *e, const struct eswitch_conn_key *key)
{
    struct eswitch_conn c = {.last_ns = eswitch_now_ns()};
    if (bpf_map_update_elem(e->conns_fd, key, &c, BPF_NOEXIST) && errno != EEXIST)
        return errno == E2BIG ? -ENOSPC : -errno;
    return 0;
}

void
eswitch_conn_del(struct eswitch *e, const struct eswitch_conn_key *key)
{
    bpf_map_delete_elem(e->conns_fd, key);
}

bool
eswitch_conn_take(struct eswitch *e, const struct eswitch_conn_key *key, struct eswitch_conn *out)
{
    bool found = bpf_map_lookup_and_delete_elem(e->conns_fd, key, out) == 0;
    if (!found && errno == EINVAL) /* kernels without lookup-and-delete for hash maps */
        found = bpf_map_lookup_elem(e->conns_fd, key, out) == 0 &&
                bpf_map_delete_elem(e->conns_fd, key) == 0;
    return found;
}

void
eswitch_conn_foreach(struct eswitch *e,
                     bool (*cb)(const struct eswitch_conn_key *, const struct eswitch_conn *,
                                void *aux),
                     void *aux)
{
    struct eswitch_conn_key key, next, *prev = NULL;
    struct eswitch_conn c;
    bool del_prev = false;
    /* One key at a time: deleting the key just visited is safe for the walk
     * once the next key is known. */
    while (bpf_map_get_next_key(e->conns_fd, prev, &next) == 0) {
        if (del_prev)
            bpf_map_delete_elem(e->conns_fd, &key);
        key = next;
        prev = &key;
        del_prev = bpf_map_lookup_elem(e->conns_fd, &key, &c) == 0 && !cb(&key, &c, aux);
    }
    if (del_prev)
        bpf_map_delete_elem(e->conns_fd, &key);
}

static bool
drop_all(const struct eswitch_conn_key *k, const struct eswitch_conn *c, void *aux)
{
    return false;
}

void
eswitch_conn_flush(struct eswitch *e)
{
    eswitch_conn_foreach(e, drop_all, NULL);
}
