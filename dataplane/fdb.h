/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fdb: the MAC table (forwarding database) of one switch.
 *
 * Maps (VLAN, MAC) to the logical port the MAC was last seen on.  Entries are
 * learned from source addresses, refreshed on every frame, moved when a MAC
 * shows up on another port (a VM that migrated, or a loop), and aged out
 * 'age_ms' after they were last seen.  Static entries never age or move.
 *
 * Time is passed in by the caller ('now_ms'), so tests drive ageing with a
 * fake clock and the packet path reads the clock once per burst.
 *
 * Memory: a fixed pool of entries and buckets allocated by fdb_create(); the
 * packet path never allocates.  When the pool is full, new MACs are not learned
 * (their frames flood) and fdb_stats.n_full counts them.
 *
 *     lookup(vid, mac):  bucket = hash(vid, mac) -> chain -> entry
 *     entry states:      free --learn--> live --age/flush/del--> free
 *
 * Thread-safety: fdb_lookup() and fdb_learn() may run in any number of
 * threads at once (the data plane's workers): lookups and refreshes take no
 * lock, learning a new MAC or a move takes the table's mutex.  Everything else
 * that changes the table (fdb_add_static, fdb_del, fdb_age, fdb_flush,
 * fdb_set_age) and fdb_foreach() need it to themselves: no lookup or learn may
 * run meanwhile (dpud pauses its workers, an RCU grace period, first).  That
 * is what makes reusing a removed entry safe.
 */
#ifndef DSE_FDB_H
#define DSE_FDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fdb;

enum fdb_learn_result {
    FDB_NEW,       /* first time seen */
    FDB_REFRESHED, /* same port, timestamp refreshed */
    FDB_MOVED,     /* was on another port; now here ('*old_port' says where) */
    FDB_STATIC,    /* a static entry exists; not changed */
    FDB_FULL,      /* no free entry: not learned */
};

struct fdb_entry_info {
    uint16_t vid;
    uint8_t mac[6];
    uint16_t port;
    bool is_static;
    uint64_t age_ms; /* time since last seen */
};

struct fdb_stats {
    uint64_t n_entries;
    uint64_t n_learned;
    uint64_t n_moved;
    uint64_t n_aged;
    uint64_t n_full;
};

/* Creates a table of at most 'capacity' entries that age after 'age_ms'.
 * Returns NULL on ENOMEM or when 'capacity' is 0. */
struct fdb *fdb_create(size_t capacity, uint64_t age_ms);
void fdb_destroy(struct fdb *); /* accepts NULL */

void fdb_set_age(struct fdb *, uint64_t age_ms);
uint64_t fdb_get_age(const struct fdb *);

/* Learns that 'mac' in 'vid' is behind 'port' at time 'now_ms'. */
enum fdb_learn_result fdb_learn(struct fdb *, uint16_t vid, const uint8_t mac[static 6],
                                uint16_t port, uint64_t now_ms, uint16_t *old_port);

/* Returns true and sets '*port' when (vid, mac) is known and not expired. */
bool fdb_lookup(const struct fdb *, uint16_t vid, const uint8_t mac[static 6], uint64_t now_ms,
                uint16_t *port);

/* Adds a static entry.  Returns 0, -ENOSPC when full. */
int fdb_add_static(struct fdb *, uint16_t vid, const uint8_t mac[static 6], uint16_t port);

/* Removes one entry; returns 0 or -ENOENT. */
int fdb_del(struct fdb *, uint16_t vid, const uint8_t mac[static 6]);

/* Removes every entry older than the ageing time.  Returns how many. */
size_t fdb_age(struct fdb *, uint64_t now_ms);

/* Removes the dynamic entries of 'port' (e.g. on link down or port removal);
 * or of every port when 'port' is FDB_ALL_PORTS.  Returns how many. */
#define FDB_ALL_PORTS 0xffff
size_t fdb_flush(struct fdb *, uint16_t port);

/* Calls 'cb' for every live entry (in no particular order). */
void fdb_foreach(const struct fdb *, uint64_t now_ms,
                 void (*cb)(const struct fdb_entry_info *, void *aux), void *aux);

void fdb_get_stats(const struct fdb *, struct fdb_stats *);

#endif
