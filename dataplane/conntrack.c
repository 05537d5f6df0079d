/* SPDX-License-Identifier: Apache-2.0 */
/* conntrack: the firewall's connection table (conntrack.h). */
#include "dataplane/conntrack.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "lib/util.h"

#define S_MS 1000ull
#define MAXACKWIN_MIN 66000 /* Linux's: the slack an ACK may lag behind */

/* A connection's slot. */
struct slot {
    struct ct_conn c;
    uint32_t next;   /* in its bucket's chain, or NONE */
    uint32_t bucket; /* where it hangs */
    bool used;
};

#define NONE UINT32_MAX

struct ct {
    struct ct_params p;
    struct slot *slots;
    uint32_t *buckets; /* the first slot of each chain, or NONE */
    uint32_t mask;
    pthread_spinlock_t stripe[CT_STRIPES]; /* bucket b: stripe[b % CT_STRIPES] */
    pthread_spinlock_t free_mu;
    uint32_t *free; /* a stack of free slots */
    size_t n_free;
    size_t n_used;       /* (atomic) */
    size_t cursor;       /* the bucket ct_expire() goes on from */
    uint64_t full_drops; /* (atomic) */
    bool offload_on;     /* propose offloads (ct_result.offload) */
    uint64_t seq;        /* changes so far (atomic): ct_export()'s cursor */
    uint64_t id;         /* random: whose cursor it is */
};

/* A hash both directions of a connection share: of the key with its ends
 * in a fixed order. */
static uint32_t
sym_hash(const struct l4_key *k)
{
    struct l4_key r;
    l4_key_reverse(k, &r);
    const struct l4_key *lo = memcmp(k, &r, sizeof *k) <= 0 ? k : &r;
    return hash_fnv1a(lo, sizeof *lo, HASH_FNV1A_SEED);
}

static pthread_spinlock_t *
stripe_of(struct ct *t, uint32_t bucket)
{
    return &t->stripe[bucket % CT_STRIPES];
}

static uint64_t table_id(const struct ct *t);

struct ct *
ct_create(const struct ct_params *p)
{
    struct ct *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->p.max_conns = p->max_conns ? p->max_conns : CT_DEFAULT_MAX;
    ct_set_timeouts(t, p);
    size_t nb = CT_STRIPES;
    while (nb < t->p.max_conns)
        nb *= 2;
    t->mask = (uint32_t)nb - 1;
    if (t->p.max_conns < NONE / 2) {
        t->slots = calloc(t->p.max_conns, sizeof *t->slots);
        t->buckets = malloc(nb * sizeof *t->buckets);
        t->free = malloc(t->p.max_conns * sizeof *t->free);
    }
    if (!t->slots || !t->buckets || !t->free) {
        free(t->slots);
        free(t->buckets);
        free(t->free);
        free(t);
        return NULL;
    }
    memset(t->buckets, 0xff, nb * sizeof *t->buckets);
    for (size_t i = 0; i < t->p.max_conns; i++)
        t->free[t->n_free++] = (uint32_t)(t->p.max_conns - 1 - i);
    for (int i = 0; i < CT_STRIPES; i++)
        pthread_spin_init(&t->stripe[i], PTHREAD_PROCESS_PRIVATE);
    pthread_spin_init(&t->free_mu, PTHREAD_PROCESS_PRIVATE);
    t->id = table_id(t);
    return t;
}

void
ct_set_timeouts(struct ct *t, const struct ct_params *p)
{
    t->p.udp_ms = p->udp_ms ? p->udp_ms : 30 * S_MS;
    t->p.udp_reply_ms = p->udp_reply_ms ? p->udp_reply_ms : 180 * S_MS;
    t->p.icmp_ms = p->icmp_ms ? p->icmp_ms : 30 * S_MS;
    t->p.tcp_est_ms = p->tcp_est_ms ? p->tcp_est_ms : 5 * 24 * 3600 * S_MS;
    t->p.tcp_liberal = p->tcp_liberal;
}

void
ct_destroy(struct ct *t)
{
    if (!t)
        return;
    for (int i = 0; i < CT_STRIPES; i++)
        pthread_spin_destroy(&t->stripe[i]);
    pthread_spin_destroy(&t->free_mu);
    free(t->slots);
    free(t->buckets);
    free(t->free);
    free(t);
}

size_t
ct_max(const struct ct *t)
{
    return t->p.max_conns;
}

size_t
ct_count(const struct ct *t)
{
    return __atomic_load_n(&t->n_used, __ATOMIC_RELAXED);
}

uint64_t
ct_full_drops(const struct ct *t)
{
    return __atomic_load_n(&t->full_drops, __ATOMIC_RELAXED);
}

/* Unlinks slot 'i' from its chain and frees it (its stripe held). */
static void
slot_free(struct ct *t, uint32_t i)
{
    struct slot *s = &t->slots[i];
    uint32_t *at = &t->buckets[s->bucket];
    while (*at != NONE && *at != i)
        at = &t->slots[*at].next;
    if (*at == i)
        *at = s->next;
    s->used = false;
    pthread_spin_lock(&t->free_mu);
    t->free[t->n_free++] = i;
    pthread_spin_unlock(&t->free_mu);
    __atomic_sub_fetch(&t->n_used, 1, __ATOMIC_RELAXED);
}

/* Whether 'k' is 'c''s key reversed: the reply way. */
static bool
is_reverse(const struct l4_key *c, const struct l4_key *k)
{
    return c->sport == k->dport && c->dport == k->sport && c->zone == k->zone &&
           c->family == k->family && c->proto == k->proto && !memcmp(c->src, k->dst, 16) &&
           !memcmp(c->dst, k->src, 16);
}

/* The live slot whose connection 'k' belongs to in bucket 'b' (its stripe
 * held), or NONE (an expired one met is freed); '*dir' 1 for the reply
 * way. */
static uint32_t
lookup(struct ct *t, uint32_t b, const struct l4_key *k, uint64_t now_ms, int *dir)
{
    for (uint32_t i = t->buckets[b]; i != NONE; i = t->slots[i].next) {
        const struct ct_conn *c = &t->slots[i].c;
        if (!memcmp(&c->key, k, sizeof *k))
            *dir = 0;
        else if (is_reverse(&c->key, k))
            *dir = 1;
        else
            continue;
        if (c->expires_ms > now_ms)
            return i;
        slot_free(t, i);
        return NONE;
    }
    return NONE;
}

/* ---- TCP ---- */

/* Sequence arithmetic modulo 2^32 (RFC 1982). */
static bool
seq_after(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) > 0;
}

static uint64_t
tcp_timeout(const struct ct *t, enum ct_tcp_state s)
{
    switch (s) {
    case CT_TCP_SYN_SENT:
        return 120 * S_MS;
    case CT_TCP_SYN_RECV:
        return 60 * S_MS;
    case CT_TCP_ESTABLISHED:
        return t->p.tcp_est_ms;
    case CT_TCP_FIN_WAIT:
        return 120 * S_MS;
    case CT_TCP_CLOSING:
        return 60 * S_MS;
    case CT_TCP_TIME_WAIT:
        return 120 * S_MS;
    default:
        return 10 * S_MS;
    }
}

/* The segment's end: its sequence number plus what it carries (a SYN and a
 * FIN count one each). */
static uint32_t
seg_end(const struct l4_info *pi)
{
    return pi->seq + pi->payload_len + !!(pi->tcp_flags & L4_TCP_SYN) +
           !!(pi->tcp_flags & L4_TCP_FIN);
}

/* The window 'pi' advertises, scaled when both SYNs agreed on scaling. */
static uint32_t
seg_win(const struct ct_conn *c, const struct ct_tcp_dir *s, const struct l4_info *pi)
{
    bool scaled = c->dir[0].wscale >= 0 && c->dir[1].wscale >= 0 && !(pi->tcp_flags & L4_TCP_SYN);
    return (uint32_t)pi->win << (scaled ? s->wscale : 0);
}

/* The reply's first segment, a SYN+ACK that acks the SYN: the reply side
 * begins.  Returns false when it is not that. */
static bool
tcp_synack(struct ct_conn *c, const struct l4_info *pi)
{
    struct ct_tcp_dir *o = &c->dir[0], *r = &c->dir[1];
    if ((pi->tcp_flags & (L4_TCP_SYN | L4_TCP_ACK | L4_TCP_RST)) != (L4_TCP_SYN | L4_TCP_ACK) ||
        pi->ack != o->end)
        return false;
    *r = (struct ct_tcp_dir){
        .end = pi->seq + 1, .maxwin = pi->win ? pi->win : 1, .wscale = pi->tcp_wscale};
    r->maxend = r->end + o->maxwin;
    o->maxend = pi->ack + r->maxwin;
    c->tcp = CT_TCP_SYN_RECV;
    return true;
}

/* Whether segment 'pi' from side 'd' lies in the windows (Rooij's four
 * checks), and if so what it changes of the sides. */
static bool
tcp_in_window(struct ct_conn *c, int d, const struct l4_info *pi)
{
    struct ct_tcp_dir *s = &c->dir[d], *r = &c->dir[!d];
    uint32_t end = seg_end(pi), ack = pi->tcp_flags & L4_TCP_ACK ? pi->ack : r->end;
    uint32_t maxack = s->maxwin > MAXACKWIN_MIN ? s->maxwin : MAXACKWIN_MIN;
    if (!(!seq_after(pi->seq, s->maxend) && seq_after(end, s->end - r->maxwin - 1) &&
          !seq_after(ack, r->end) && seq_after(ack, r->end - maxack - 1)))
        return false;
    uint32_t win = seg_win(c, s, pi);
    if (seq_after(end, s->end))
        s->end = end;
    if (win > s->maxwin)
        s->maxwin = win;
    if ((pi->tcp_flags & L4_TCP_ACK) && seq_after(ack + (win ? win : 1), r->maxend))
        r->maxend = ack + (win ? win : 1);
    if (seq_after(s->end, s->maxend)) /* the peer's window may have opened unseen */
        s->maxend = s->end;
    return true;
}

/* The next state after segment 'pi' from side 'd' (in the windows). */
static void
tcp_next(struct ct_conn *c, int d, const struct l4_info *pi)
{
    uint8_t f = pi->tcp_flags;
    if (f & L4_TCP_RST) {
        c->tcp = CT_TCP_CLOSED;
        return;
    }
    if (f & L4_TCP_FIN)
        c->dir[d].fin = true;
    switch (c->tcp) {
    case CT_TCP_SYN_RECV:
        if (d == 0 && (f & L4_TCP_ACK) && !(f & L4_TCP_SYN))
            c->tcp = CT_TCP_ESTABLISHED;
        break;
    case CT_TCP_ESTABLISHED:
    case CT_TCP_FIN_WAIT:
        c->tcp = c->dir[0].fin && c->dir[1].fin   ? CT_TCP_CLOSING
                 : c->dir[0].fin || c->dir[1].fin ? CT_TCP_FIN_WAIT
                                                  : CT_TCP_ESTABLISHED;
        break;
    case CT_TCP_CLOSING:
        if ((f & L4_TCP_ACK) && pi->ack == c->dir[!d].end) /* the last FIN acked */
            c->tcp = CT_TCP_TIME_WAIT;
        break;
    default:
        break;
    }
}

static bool tcp_pickup(struct ct_conn *c, int d, const struct l4_info *pi);

/* A segment of TCP connection 'c' from side 'd'.  Returns its verdict. */
static enum ct_verdict
tcp_track(struct ct *t, struct ct_conn *c, int d, const struct l4_info *pi, uint64_t now_ms)
{
    if (c->tcp == CT_TCP_SYN_SENT) {
        if (d == 0 && (pi->tcp_flags & L4_TCP_SYN) && !(pi->tcp_flags & L4_TCP_ACK))
            return CT_ESTABLISHED; /* the SYN again */
        if (d == 1 && (pi->tcp_flags & (L4_TCP_RST | L4_TCP_ACK)) == (L4_TCP_RST | L4_TCP_ACK) &&
            pi->ack == c->dir[0].end)
            c->tcp = CT_TCP_CLOSED; /* refused: the RST that acks the SYN */
        else if (d == 0 || !tcp_synack(c, pi))
            return CT_INVALID;
    } else if (c->tcp == CT_TCP_SYN_RECV && d == 1 && (pi->tcp_flags & L4_TCP_SYN)) {
        if (pi->ack != c->dir[0].end)
            return CT_INVALID; /* the SYN+ACK again, which must ack the same SYN */
    } else if (!tcp_pickup(c, d, pi) && !t->p.tcp_liberal && !tcp_in_window(c, d, pi)) {
        return CT_INVALID;
    } else {
        tcp_next(c, d, pi);
        if (c->offloaded && c->tcp == CT_TCP_ESTABLISHED)
            c->pickup = 3; /* the eswitch goes on carrying it: its windows unseen */
    }
    c->expires_ms = now_ms + tcp_timeout(t, c->tcp);
    return CT_ESTABLISHED;
}

/* ---- the table ---- */

/* Whether 'pi' may begin a connection. */
static bool
may_begin(const struct l4_info *pi)
{
    switch (pi->key.proto) {
    case L4_PROTO_TCP:
        return (pi->tcp_flags & (L4_TCP_SYN | L4_TCP_ACK | L4_TCP_RST | L4_TCP_FIN)) == L4_TCP_SYN;
    case L4_PROTO_UDP:
        return true;
    default:
        return l4_icmp_is_echo_request(pi->key.proto, pi->icmp_type);
    }
}

static uint64_t
idle_ms(const struct ct *t, const struct ct_conn *c)
{
    if (c->key.proto == L4_PROTO_TCP)
        return tcp_timeout(t, c->tcp);
    if (c->key.proto == L4_PROTO_UDP)
        return c->replied ? t->p.udp_reply_ms : t->p.udp_ms;
    return t->p.icmp_ms;
}

/* The verdict on a packet of connection 'c' from side 'd' (its stripe
 * held): its state, counters and timeout updated.  NEW when it begins a new
 * connection over a closed one (which it frees). */
static enum ct_verdict
track_conn(struct ct *t, uint32_t i, int d, const struct l4_info *pi, uint32_t bytes,
           uint64_t now_ms)
{
    struct ct_conn *c = &t->slots[i].c;
    bool icmp = c->key.proto == L4_PROTO_ICMP || c->key.proto == L4_PROTO_ICMPV6;
    if (c->key.proto == L4_PROTO_TCP) {
        if (d == 0 && c->tcp >= CT_TCP_TIME_WAIT && may_begin(pi)) {
            slot_free(t, i); /* a new connection on the same ports */
            return CT_NEW;
        }
        if (tcp_track(t, c, d, pi, now_ms) == CT_INVALID)
            return CT_INVALID;
    } else if (icmp && l4_icmp_is_echo_request(pi->key.proto, pi->icmp_type) == (d == 1)) {
        return CT_INVALID; /* a request the reply way, or a reply the original way */
    }
    if (d == 1)
        c->replied = true;
    if (c->key.proto != L4_PROTO_TCP)
        c->expires_ms = now_ms + idle_ms(t, c);
    c->packets[d]++;
    c->bytes[d] += bytes;
    return CT_ESTABLISHED;
}

/* Whether the eswitch may carry 'c': no state change ahead but a FIN or an
 * RST, which it sends up. */
static bool
offloadable(const struct ct_conn *c)
{
    if (!c->offloaded && c->packets[0] + c->packets[1] < CT_OFFLOAD_AFTER)
        return false; /* a short one stays in software */
    return c->key.proto == L4_PROTO_TCP ? c->tcp == CT_TCP_ESTABLISHED : c->replied;
}

/* Proposes to offload 'c', or to take it back, when that changed. */
static void
offload_turn(struct ct_conn *c, struct ct_result *out)
{
    bool can = offloadable(c);
    if (can == c->offloaded)
        return;
    c->offloaded = can;
    if (can) {
        memset(c->es_packets, 0, sizeof c->es_packets);
        memset(c->es_bytes, 0, sizeof c->es_bytes);
        c->pickup = 3; /* what the eswitch carries, software does not see */
    }
    out->offload = can;
    out->unoffload = !can;
    out->key = c->key;
    memcpy(out->es_packets, c->es_packets, sizeof out->es_packets);
    memcpy(out->es_bytes, c->es_bytes, sizeof out->es_bytes);
}
static enum ct_verdict track_noted(struct ct *t, uint32_t i, int d, const struct l4_info *pi,
                                   uint32_t bytes, uint64_t now_ms);

enum ct_verdict
ct_track(struct ct *t, const struct l4_info *pi, uint32_t bytes, uint64_t now_ms,
         struct ct_result *out)
{
    *out = (struct ct_result){.verdict = CT_INVALID};
    bool icmp = pi->key.proto == L4_PROTO_ICMP || pi->key.proto == L4_PROTO_ICMPV6;
    bool related = icmp && pi->icmp_error; /* about a connection: one way or the other */
    if (icmp && !related && !l4_icmp_is_echo_request(pi->key.proto, pi->icmp_type) &&
        !l4_icmp_is_echo_reply(pi->key.proto, pi->icmp_type))
        return out->verdict = CT_NEW; /* informational (neighbour discovery...): the rules say */
    const struct l4_key *k = related ? &pi->inner : &pi->key;
    uint32_t b = sym_hash(k) & t->mask;
    int d;
    pthread_spin_lock(stripe_of(t, b));
    uint32_t i = lookup(t, b, k, now_ms, &d);
    if (i == NONE)
        out->verdict = related ? CT_INVALID : may_begin(pi) ? CT_NEW : CT_INVALID;
    else if (related)
        out->verdict = CT_RELATED;
    else
        out->verdict = track_noted(t, i, d, pi, bytes, now_ms);
    if (out->verdict == CT_ESTABLISHED || out->verdict == CT_RELATED) {
        struct ct_conn *c = &t->slots[i].c;
        out->reply = related ? d == 0 : d == 1; /* an error's quote went the other way */
        out->rule = c->rule;
        out->tcp = c->tcp;
        if (!related && t->offload_on)
            offload_turn(c, out);
    }
    pthread_spin_unlock(stripe_of(t, b));
    return out->verdict;
}

static void note_change(struct ct *t, struct ct_conn *c);

/* A free slot, or NONE (counted). */
static uint32_t
slot_take(struct ct *t)
{
    uint32_t i = NONE;
    pthread_spin_lock(&t->free_mu);
    if (t->n_free)
        i = t->free[--t->n_free];
    pthread_spin_unlock(&t->free_mu);
    if (i == NONE)
        __atomic_add_fetch(&t->full_drops, 1, __ATOMIC_RELAXED);
    else
        __atomic_add_fetch(&t->n_used, 1, __ATOMIC_RELAXED);
    return i;
}

/* Fills the new connection of slot 's'. */
static void
conn_init(struct ct *t, struct ct_conn *c, const struct ct_new *n, uint64_t now_ms)
{
    const struct l4_info *pi = n->pi;
    c->key = pi->key;
    c->rule = n->rule;
    memcpy(c->mac[0], n->smac, 6);
    memcpy(c->mac[1], n->dmac, 6);
    c->packets[0] = 1;
    c->bytes[0] = n->bytes;
    if (pi->key.proto == L4_PROTO_TCP) {
        c->tcp = CT_TCP_SYN_SENT;
        c->dir[0] = (struct ct_tcp_dir){.end = pi->seq + 1,
                                        .maxend = pi->seq + 1,
                                        .maxwin = pi->win ? pi->win : 1,
                                        .wscale = pi->tcp_wscale};
        c->dir[1].wscale = -1;
    }
    c->expires_ms = now_ms + idle_ms(t, c);
}

int
ct_commit(struct ct *t, const struct ct_new *n, uint64_t now_ms)
{
    if (!may_begin(n->pi))
        return -EINVAL;
    uint32_t b = sym_hash(&n->pi->key) & t->mask;
    int d, rc = 0;
    pthread_spin_lock(stripe_of(t, b));
    uint32_t i = lookup(t, b, &n->pi->key, now_ms, &d);
    if (i != NONE) {
        rc = -EEXIST;
    } else if ((i = slot_take(t)) == NONE) {
        rc = -ENOSPC;
    } else {
        struct slot *s = &t->slots[i];
        *s = (struct slot){.used = true, .bucket = b, .next = t->buckets[b]};
        conn_init(t, &s->c, n, now_ms);
        note_change(t, &s->c);
        t->buckets[b] = i;
    }
    pthread_spin_unlock(stripe_of(t, b));
    return rc;
}

/* Calls 'fn' on each connection of bucket 'b' (its stripe held); frees
 * those it returns false for.  Returns how many. */
static size_t
bucket_walk(struct ct *t, uint32_t b, bool (*fn)(struct ct_conn *, void *), void *aux)
{
    size_t n = 0;
    for (uint32_t i = t->buckets[b], next; i != NONE; i = next) {
        next = t->slots[i].next;
        if (!fn(&t->slots[i].c, aux)) {
            slot_free(t, i);
            n++;
        }
    }
    return n;
}

static bool
alive(struct ct_conn *c, void *aux)
{
    return c->expires_ms > *(const uint64_t *)aux;
}

size_t
ct_expire(struct ct *t, uint64_t now_ms, size_t max)
{
    size_t n = 0;
    for (size_t seen = 0; seen <= t->mask && seen < max; seen++) {
        uint32_t b = (uint32_t)t->cursor;
        t->cursor = (t->cursor + 1) & t->mask;
        if (t->buckets[b] == NONE) /* a racy peek: a miss is caught next time */
            continue;
        pthread_spin_lock(stripe_of(t, b));
        n += bucket_walk(t, b, alive, &now_ms);
        pthread_spin_unlock(stripe_of(t, b));
    }
    return n;
}

size_t
ct_retain(struct ct *t, bool (*keep)(struct ct_conn *, void *aux), void *aux)
{
    size_t n = 0;
    for (uint32_t b = 0; b <= t->mask; b++) {
        pthread_spin_lock(stripe_of(t, b));
        n += bucket_walk(t, b, keep, aux);
        pthread_spin_unlock(stripe_of(t, b));
    }
    return n;
}

struct foreach_run {
    void (*fn)(const struct ct_conn *, void *);
    void *aux;
};

static bool
foreach_one(struct ct_conn *c, void *aux)
{
    struct foreach_run *r = aux;
    r->fn(c, r->aux);
    return true;
}

void
ct_foreach(struct ct *t, void (*fn)(const struct ct_conn *, void *aux), void *aux)
{
    struct foreach_run r = {fn, aux};
    ct_retain(t, foreach_one, &r);
}

/* ---- the eswitch tier ---- */

void
ct_set_offload(struct ct *t, bool on)
{
    t->offload_on = on;
}

/* Calls 'fn' on the connection of 'key' with its direction, its stripe
 * held.  Returns what 'fn' does, or false when there is none. */
static bool
with_conn(struct ct *t, const struct l4_key *key, uint64_t now_ms,
          bool (*fn)(struct ct *, struct ct_conn *, int d, void *aux), void *aux)
{
    uint32_t b = sym_hash(key) & t->mask;
    int d;
    pthread_spin_lock(stripe_of(t, b));
    uint32_t i = lookup(t, b, key, now_ms, &d);
    bool r = i != NONE && fn(t, &t->slots[i].c, d, aux);
    pthread_spin_unlock(stripe_of(t, b));
    return r;
}

static bool
lost(struct ct *t, struct ct_conn *c, int d, void *aux)
{
    c->offloaded = false;
    return true;
}

void
ct_offload_lost(struct ct *t, const struct l4_key *key)
{
    with_conn(t, key, 0, lost, NULL);
}

static bool
reset_one(struct ct_conn *c, void *aux)
{
    c->offloaded = false;
    return true;
}

void
ct_offload_reset(struct ct *t)
{
    ct_retain(t, reset_one, NULL);
}

struct seen_run {
    uint64_t packets, bytes, now_ms;
    bool hit;
    struct ct_seen *out;
};

static bool
seen(struct ct *t, struct ct_conn *c, int d, void *aux)
{
    struct seen_run *r = aux;
    if (!c->offloaded)
        return false;
    r->out->rule = c->rule;
    r->out->packets = r->packets - c->es_packets[d];
    r->out->bytes = r->bytes - c->es_bytes[d];
    c->es_packets[d] = r->packets;
    c->es_bytes[d] = r->bytes;
    c->packets[d] += r->out->packets;
    c->bytes[d] += r->out->bytes;
    if (r->hit)
        c->expires_ms = r->now_ms + idle_ms(t, c);
    if (c->expires_ms > c->seq_exp_ms + idle_ms(t, c) / 4)
        note_change(t, c); /* the standby learns it lives on (HA) */
    return true;
}

bool
ct_offload_seen(struct ct *t, const struct l4_key *key, uint64_t packets, uint64_t bytes, bool hit,
                uint64_t now_ms, struct ct_seen *out)
{
    struct seen_run r = {packets, bytes, now_ms, hit, out};
    return with_conn(t, key, now_ms, seen, &r);
}

/* ---- carried to another table: HA (ct_export, ct_import) ---- */

static uint64_t
table_id(const struct ct *t)
{
    uint64_t id;
    if (getrandom(&id, sizeof id, GRND_NONBLOCK) != sizeof id) /* a clock and an address will do */
        id = hash_fnv1a(&t, sizeof t, (uint32_t)now_ns()) ^ now_ns() << 20;
    return id ? id : 1;
}

/* Connection 'c' changed (its stripe held): it gets the next sequence
 * number, and its expiry is noted. */
static void
note_change(struct ct *t, struct ct_conn *c)
{
    c->seq = __atomic_add_fetch(&t->seq, 1, __ATOMIC_RELAXED);
    c->seq_exp_ms = c->expires_ms;
}

/* track_conn(), and a change noted when the packet changed the state or
 * pushed the expiry more than a quarter of the timeout past the one last
 * noted: a copy elsewhere then outlives the connection's quiet spells of up
 * to three quarters of its timeout, for a note per quarter, not per
 * packet. */
static enum ct_verdict
track_noted(struct ct *t, uint32_t i, int d, const struct l4_info *pi, uint32_t bytes,
            uint64_t now_ms)
{
    struct ct_conn *c = &t->slots[i].c;
    enum ct_tcp_state was = c->tcp;
    bool replied = c->replied;
    enum ct_verdict v = track_conn(t, i, d, pi, bytes, now_ms);
    if (v == CT_ESTABLISHED && (c->tcp != was || c->replied != replied ||
                                c->expires_ms > c->seq_exp_ms + idle_ms(t, c) / 4))
        note_change(t, c);
    return v;
}

/* Mid-stream pickup, for a connection whose segments software did not see:
 * imported (its windows may be a second old) or carried by the eswitch
 * (which checks no window).  Side 'd''s first segment since is taken as it
 * is and its edges learnt from it; until the other side speaks, what this
 * one acks is taken as that side's edge.  Returns true when the segment was
 * so taken (the windows were not checked).  A SYN never is, nor an RST
 * but of a connection in the eswitch: its windows are stale for sure, and
 * the RST must close it. */
static bool
tcp_pickup(struct ct_conn *c, int d, const struct l4_info *pi)
{
    struct ct_tcp_dir *s = &c->dir[d], *r = &c->dir[!d];
    bool ack = pi->tcp_flags & L4_TCP_ACK;
    if (!c->pickup || (pi->tcp_flags & L4_TCP_SYN) ||
        ((pi->tcp_flags & L4_TCP_RST) && !c->offloaded))
        return false;
    if (ack && (c->pickup & (1u << !d)) && seq_after(pi->ack, r->end)) {
        r->end = pi->ack;
        if (seq_after(r->end, r->maxend))
            r->maxend = r->end;
    }
    if (!(c->pickup & (1u << d)))
        return false;
    c->pickup &= (uint8_t) ~(1u << d);
    uint32_t win = seg_win(c, s, pi);
    s->end = seg_end(pi);
    s->maxwin = MAX(s->maxwin, win ? win : 1);
    s->maxend = s->end + MAX(r->maxwin, 1);
    if (ack && seq_after(pi->ack + (win ? win : 1), r->maxend))
        r->maxend = pi->ack + (win ? win : 1);
    return true;
}

uint64_t
ct_id(const struct ct *t)
{
    return t->id;
}

uint64_t
ct_seq(const struct ct *t)
{
    return __atomic_load_n(&t->seq, __ATOMIC_RELAXED);
}

uint32_t
ct_buckets(const struct ct *t)
{
    return t->mask + 1;
}

bool
ct_export(struct ct *t, uint64_t since, uint64_t now_ms, uint32_t *pos, size_t max,
          void (*fn)(const struct ct_conn *, void *aux), void *aux)
{
    size_t n = 0;
    uint32_t b = *pos;
    for (; b <= t->mask && n < max; b++) {
        pthread_spin_lock(stripe_of(t, b));
        for (uint32_t i = t->buckets[b]; i != NONE; i = t->slots[i].next) {
            const struct ct_conn *c = &t->slots[i].c;
            if (c->seq > since && c->expires_ms > now_ms) {
                fn(c, aux);
                n++;
            }
        }
        pthread_spin_unlock(stripe_of(t, b));
    }
    *pos = b;
    return b > t->mask;
}

/* Whether 'c' is a connection this table could hold at 'now_ms'. */
static bool
importable(const struct ct_conn *c, uint64_t now_ms)
{
    bool tcp = c->key.proto == L4_PROTO_TCP;
    if ((c->key.family != 4 && c->key.family != 6) || c->expires_ms <= now_ms)
        return false;
    if (!tcp && c->key.proto != L4_PROTO_UDP && c->key.proto != L4_PROTO_ICMP &&
        c->key.proto != L4_PROTO_ICMPV6)
        return false;
    if (tcp != (c->tcp != CT_TCP_NONE) || c->tcp > CT_TCP_CLOSED)
        return false;
    for (int d = 0; d < 2; d++)
        if (c->dir[d].wscale < -1 || c->dir[d].wscale > 14)
            return false;
    return true;
}

/* What 'c' becomes in the table: its fields, no counters of this table's. */
static void
import_into(struct ct *t, struct ct_conn *to, const struct ct_conn *c)
{
    *to = *c;
    to->pickup = c->tcp > CT_TCP_SYN_SENT ? 3 : 0;
    note_change(t, to);
}

int
ct_import(struct ct *t, const struct ct_conn *c, uint64_t now_ms)
{
    if (!importable(c, now_ms))
        return -EINVAL;
    uint32_t b = sym_hash(&c->key) & t->mask;
    int d, rc = 0;
    pthread_spin_lock(stripe_of(t, b));
    uint32_t i = lookup(t, b, &c->key, now_ms, &d);
    if (i != NONE) {
        import_into(t, &t->slots[i].c, c);
    } else if ((i = slot_take(t)) == NONE) {
        rc = -ENOSPC;
    } else {
        struct slot *s = &t->slots[i];
        *s = (struct slot){.used = true, .bucket = b, .next = t->buckets[b]};
        import_into(t, &s->c, c);
        t->buckets[b] = i;
    }
    pthread_spin_unlock(stripe_of(t, b));
    return rc;
}

static bool
drop_all(struct ct_conn *c, void *aux)
{
    return false;
}

size_t
ct_flush(struct ct *t)
{
    return ct_retain(t, drop_all, NULL);
}
