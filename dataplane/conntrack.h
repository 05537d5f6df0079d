/* SPDX-License-Identifier: Apache-2.0 */
/*
 * conntrack: the slow path's connection table for the distributed firewall
 * (issue 14): what a packet is to the connections already seen.
 *
 *   ct_track(packet) -> NEW          no connection; one may begin here (a TCP
 *                                    SYN, any UDP, an ICMP echo request): the
 *                                    firewall's rules decide, and ct_commit()
 *                                    records it if they allow it; also an
 *                                    ICMP message that is neither an echo nor
 *                                    an error (neighbour discovery): never
 *                                    tracked, the rules alone decide
 *                    -> ESTABLISHED  part of a connection, either direction
 *                    -> RELATED      an ICMP error about one
 *                    -> INVALID      no connection and cannot begin one (a
 *                                    stray ACK), outside the TCP window, an
 *                                    error about nothing known: dropped
 *
 * TCP follows each direction's sequence space (RFC 793 and the window
 * checks of Rooij's "Real stateful TCP packet filtering in IP Filter", as
 * Linux and OVS do): a segment must end after what the receiver may still
 * ask again and start within what it advertised; its SYN's window scale
 * applies when both ends sent one.  States: SYN_SENT, SYN_RECV,
 * ESTABLISHED, FIN_WAIT (one side sent its FIN), CLOSING (both did),
 * TIME_WAIT (the last FIN acked), CLOSED (an RST in window).  Each
 * state has its idle timeout; UDP and ICMP have theirs, longer once a
 * reply was seen.
 *
 * Design: a table of at most 'max_conns' connections allocated at
 * creation (no malloc per packet), each hashed once, by a hash both
 * directions share, on a power-of-two bucket array, chained; a packet
 * finds its connection the original way or the reply way by comparing its
 * key with the connection's or its reverse.  Expiry is lazy on lookup and
 * by ct_expire() in slices.  A full table refuses a new connection
 * (ct_commit(): -ENOSPC) and counts it (ct_full_drops()).
 *
 * Thread-safety: any number of threads track and commit at once (the
 * workers of one switch share its table, since a connection's two
 * directions may come in on ports that different workers serve).  Buckets
 * are guarded by CT_STRIPES spinlocks, the one of a bucket taken for one
 * packet's lookup and update: both directions of a connection take the
 * same, and two packets of different connections rarely meet.  The free
 * list has its own, taken only when a connection begins or ends.  Results
 * are copied out (struct ct_result): no pointer into the table outlives
 * its lock.  ct_expire() and ct_retain() from one thread at a time.
 */
#ifndef DSE_CONNTRACK_H
#define DSE_CONNTRACK_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dataplane/l4.h"

enum ct_verdict { CT_NEW, CT_ESTABLISHED, CT_RELATED, CT_INVALID };

enum ct_tcp_state {
    CT_TCP_NONE, /* not TCP */
    CT_TCP_SYN_SENT,
    CT_TCP_SYN_RECV,
    CT_TCP_ESTABLISHED,
    CT_TCP_FIN_WAIT,
    CT_TCP_CLOSING,
    CT_TCP_TIME_WAIT,
    CT_TCP_CLOSED,
};

struct ct_params {
    size_t max_conns;      /* 0: CT_DEFAULT_MAX */
    uint32_t udp_ms;       /* unreplied; 0: 30 s */
    uint32_t udp_reply_ms; /* replied; 0: 180 s */
    uint32_t icmp_ms;      /* 0: 30 s */
    uint32_t tcp_est_ms;   /* established; 0: 5 days, as Linux */
    bool tcp_liberal;      /* segments outside the windows pass (and move them), as
                              Linux's nf_conntrack_tcp_be_liberal; state is still kept */
};
#define CT_DEFAULT_MAX 65536

/* One direction's view of a TCP connection. */
struct ct_tcp_dir {
    uint32_t end;    /* the highest seq + len sent */
    uint32_t maxend; /* the highest ack + window the peer allows */
    uint32_t maxwin; /* the largest window it advertised (scaled) */
    int8_t wscale;   /* from its SYN, -1 when absent */
    bool fin;        /* it sent a FIN */
};

struct ct_conn {
    struct l4_key key; /* the original direction */
    uint64_t expires_ms;
    uint64_t packets[2], bytes[2]; /* original, reply */
    uint32_t rule;                 /* the rule that allowed it (the firewall's) */
    uint8_t mac[2][6];             /* the original direction's source and destination */
    enum ct_tcp_state tcp;
    struct ct_tcp_dir dir[2];
    bool replied;
    bool offloaded;                      /* its directions are in the eswitch (ct_result.offload) */
    uint64_t es_packets[2], es_bytes[2]; /* the eswitch's counts, as last folded in */
    /* HA (ct_export, ct_import): */
    uint64_t seq;        /* the table's change count at its last change */
    uint64_t seq_exp_ms; /* its expiry then */
    uint8_t pickup;      /* 1 << side: that side's next segment re-learns its edges (imported,
                            or in the eswitch) */
};

/* What ct_track() found, copied out of the table. */
struct ct_result {
    enum ct_verdict verdict;
    bool reply;    /* the packet goes the reply way */
    uint32_t rule; /* ESTABLISHED, RELATED: the connection's */
    enum ct_tcp_state tcp;
    /* With offload on (ct_set_offload): the connection just became one the
     * eswitch may carry (TCP established, UDP or an echo replied): install
     * 'key' and its reverse; or it just stopped being one (a FIN, an RST):
     * remove them. */
    bool offload, unoffload;
    struct l4_key key;
    uint64_t es_packets[2], es_bytes[2]; /* unoffload: the eswitch's counts already folded in */
};

/* A connection to begin: the NEW packet, its size, the rule that allowed
 * it and the MAC addresses of its ends (6 bytes each). */
struct ct_new {
    const struct l4_info *pi;
    uint32_t bytes;
    uint32_t rule;
    const uint8_t *smac, *dmac;
};

struct ct;

#define CT_STRIPES 256 /* bucket locks */

struct ct *ct_create(const struct ct_params *); /* NULL on ENOMEM */
void ct_destroy(struct ct *);                   /* accepts NULL */
size_t ct_max(const struct ct *);               /* max_conns as created */
/* The timeouts of 'p' (its max_conns is ignored; 0s: the defaults) for
 * what comes next.  With no packet being tracked. */
void ct_set_timeouts(struct ct *, const struct ct_params *p);

/* What packet 'pi' of 'bytes' bytes is at 'now_ms', into '*out'.  A packet
 * of a known connection updates it (state, window, counters, timeout).
 * Returns out->verdict.  Can't fail. */
enum ct_verdict ct_track(struct ct *, const struct l4_info *pi, uint32_t bytes, uint64_t now_ms,
                         struct ct_result *out);

/* Records the connection 'n' begins (the firewall allowed it).  Returns 0,
 * -ENOSPC (the table is full: counted), -EEXIST (another thread was first:
 * track the packet again), or -EINVAL (a packet that begins none). */
int ct_commit(struct ct *, const struct ct_new *n, uint64_t now_ms);

/* Removes the connections idle past their timeout, looking at 'max'
 * buckets at most (going on where the last call stopped).  Returns how
 * many it removed. */
size_t ct_expire(struct ct *, uint64_t now_ms, size_t max);

/* Calls 'keep' on each connection; removes those it returns false for.
 * 'keep' may change the connection's 'rule' and nothing else, and must not
 * call into the table.  Returns how many it removed. */
size_t ct_retain(struct ct *, bool (*keep)(struct ct_conn *, void *aux), void *aux);

/* ---- the eswitch tier ----
 *
 * A connection the eswitch carries sees only its state changes (SYN, FIN,
 * RST) in software: while it is offloaded, and for each side's first
 * segment after, its TCP windows are re-learned from what comes instead of
 * checked (as Linux does for connections in a hardware flowtable).  Its
 * idle timeout and counters follow the eswitch's (ct_offload_seen()). */

/* Connections are proposed once they carried this many packets (both ways):
 * a short one (a request and its answer, a connection opened and closed at
 * once) would cost the eswitch two installs and two removals for nothing. */
#define CT_OFFLOAD_AFTER 16

/* Whether ct_track() proposes offloads (there is an eswitch to take them). */
void ct_set_offload(struct ct *, bool on);
/* The eswitch lost connection 'key' (full, flushed): it is in software
 * again. */
void ct_offload_lost(struct ct *, const struct l4_key *key);
/* Every connection in software again (the eswitch's table was flushed). */
void ct_offload_reset(struct ct *);

/* What the eswitch counted for direction 'key' of a connection ('packets',
 * 'bytes' in all; 'hit': since the last call), folded in at 'now_ms': its
 * counters grow by the difference, its idle timeout restarts when hit.
 * Returns true with the connection's rule and the differences, or false
 * when the connection is gone or no longer offloaded (remove the entry). */
struct ct_seen {
    uint32_t rule;
    uint64_t packets, bytes;
};
bool ct_offload_seen(struct ct *, const struct l4_key *key, uint64_t packets, uint64_t bytes,
                     bool hit, uint64_t now_ms, struct ct_seen *out);

/* Connections in the table, and refusals for want of room. */
size_t ct_count(const struct ct *);
uint64_t ct_full_drops(const struct ct *);

/* Calls 'fn' on each connection, its bucket locked meanwhile ('fn' must not
 * call into the table). */
void ct_foreach(struct ct *, void (*fn)(const struct ct_conn *, void *aux), void *aux);

/* ---- HA: a table carried to another (a standby DPU's) ----
 *
 * Each connection carries the table's change count ('seq') at its last
 * change: its commit, a change of state (TCP state, UDP replied), or a
 * packet that pushed its expiry more than a quarter of its timeout past
 * the one last noted (so a copy lives as long, less that quarter); not
 * every packet.  A reader keeps the count it last read (a cursor) and asks
 * for what changed since.  A connection removed here (expired, closed, a
 * policy change) is not reported: a copy expires by itself, no later than
 * the original, and a policy change reaches every DPU alike.
 *
 *   active:   ct_export(since = cursor) --records--> standby: ct_import()
 *
 * An imported TCP connection (past SYN_SENT) is picked up mid-stream: the
 * first segment each way after the import is taken as it is and its window
 * edges learnt from it (the copy may be a second old), then the checks are
 * the usual ones. */

/* The table's identity (random, nonzero: a cursor of another table is no
 * cursor here), its change count, its buckets (what ct_export() walks). */
uint64_t ct_id(const struct ct *);
uint64_t ct_seq(const struct ct *);
uint32_t ct_buckets(const struct ct *);

/* Calls 'fn' on each live connection whose 'seq' is over 'since' (0: all)
 * in buckets '*pos' onwards, bucket by bucket, each locked meanwhile ('fn'
 * must not call into the table), until 'max' were given (a page; the last
 * bucket is given whole).  Sets '*pos' to the next bucket; returns true when
 * the walk reached the end.  Read ct_seq() before the first page: what
 * changes meanwhile gets a later seq. */
bool ct_export(struct ct *, uint64_t since, uint64_t now_ms, uint32_t *pos, size_t max,
               void (*fn)(const struct ct_conn *, void *aux), void *aux);

/* Inserts connection 'c' as given (its 'expires_ms' on this table's clock),
 * or replaces the one of its key (either way round); TCP past SYN_SENT is
 * picked up mid-stream.  Returns 0, -ENOSPC (full: counted), or -EINVAL (a
 * connection no table holds: family, protocol, TCP state, window scale, or
 * already expired at 'now_ms'). */
int ct_import(struct ct *, const struct ct_conn *c, uint64_t now_ms);

/* Removes every connection.  Returns how many. */
size_t ct_flush(struct ct *);

#endif
