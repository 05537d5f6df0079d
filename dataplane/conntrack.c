/* SPDX-License-Identifier: Apache-2.0 */
/* conntrack: the firewall's connection table (conntrack.h). */
#include "dataplane/conntrack.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

#define S_MS 1000ull
#define MAXACKWIN_MIN 66000 /* Linux's: the slack an ACK may lag behind */

/* A connection's slot: the connection, its two hash entries, in use. */
struct slot {
    struct ct_conn c;
    struct l4_key rkey; /* the reply's key */
    uint32_t next[2];   /* the next entry in each direction's chain, or NONE */
    uint32_t bucket[2]; /* where each of its entries hangs */
    bool used;
};

#define NONE UINT32_MAX
/* An entry: slot index * 2 + direction. */
#define ENTRY(slot, dir) ((uint32_t)(slot)*2 + (dir))

struct ct {
    struct ct_params p;
    struct slot *slots;
    uint32_t *buckets; /* the first entry of each chain, or NONE */
    uint32_t mask;
    uint32_t *free; /* a stack of free slots */
    size_t n_free, n_used;
    size_t cursor; /* where ct_expire() goes on */
    uint64_t full_drops;
};

static uint32_t
key_hash(const struct l4_key *k)
{
    return hash_fnv1a(k, sizeof *k, HASH_FNV1A_SEED);
}

struct ct *
ct_create(const struct ct_params *p)
{
    struct ct *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->p = *p;
    if (!t->p.max_conns)
        t->p.max_conns = CT_DEFAULT_MAX;
    if (!t->p.udp_ms)
        t->p.udp_ms = 30 * S_MS;
    if (!t->p.udp_reply_ms)
        t->p.udp_reply_ms = 180 * S_MS;
    if (!t->p.icmp_ms)
        t->p.icmp_ms = 30 * S_MS;
    if (!t->p.tcp_est_ms)
        t->p.tcp_est_ms = 5 * 24 * 3600 * S_MS;
    size_t nb = 16;
    while (nb < 2 * t->p.max_conns)
        nb *= 2;
    t->mask = (uint32_t)nb - 1;
    t->slots = calloc(t->p.max_conns, sizeof *t->slots);
    t->buckets = malloc(nb * sizeof *t->buckets);
    t->free = malloc(t->p.max_conns * sizeof *t->free);
    if (!t->slots || !t->buckets || !t->free || t->p.max_conns >= NONE / 2) {
        ct_destroy(t);
        return NULL;
    }
    memset(t->buckets, 0xff, nb * sizeof *t->buckets);
    for (size_t i = 0; i < t->p.max_conns; i++)
        t->free[t->n_free++] = (uint32_t)(t->p.max_conns - 1 - i);
    return t;
}

void
ct_destroy(struct ct *t)
{
    if (!t)
        return;
    free(t->slots);
    free(t->buckets);
    free(t->free);
    free(t);
}

size_t
ct_count(const struct ct *t)
{
    return t->n_used;
}

uint64_t
ct_full_drops(const struct ct *t)
{
    return t->full_drops;
}

static const struct l4_key *
entry_key(const struct ct *t, uint32_t e)
{
    const struct slot *s = &t->slots[e / 2];
    return e % 2 ? &s->rkey : &s->c.key;
}

/* Unlinks entry 'e' from its chain. */
static void
unlink_entry(struct ct *t, uint32_t e)
{
    struct slot *s = &t->slots[e / 2];
    uint32_t *at = &t->buckets[s->bucket[e % 2]];
    while (*at != NONE && *at != e)
        at = &t->slots[*at / 2].next[*at % 2];
    if (*at == e)
        *at = s->next[e % 2];
}

static void
slot_free(struct ct *t, uint32_t i)
{
    unlink_entry(t, ENTRY(i, 0));
    unlink_entry(t, ENTRY(i, 1));
    t->slots[i].used = false;
    t->free[t->n_free++] = i;
    t->n_used--;
}

/* The live entry whose key is 'k', or NONE (an expired one met is freed). */
static uint32_t
lookup(struct ct *t, const struct l4_key *k, uint64_t now_ms)
{
    uint32_t e = t->buckets[key_hash(k) & t->mask];
    while (e != NONE) {
        uint32_t next = t->slots[e / 2].next[e % 2];
        if (!memcmp(entry_key(t, e), k, sizeof *k)) {
            if (t->slots[e / 2].c.expires_ms > now_ms)
                return e;
            slot_free(t, e / 2);
            return NONE;
        }
        e = next;
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

/* A segment of TCP connection 'c' from side 'd'.  Returns its verdict. */
static enum ct_verdict
tcp_track(struct ct *t, struct ct_conn *c, int d, const struct l4_info *pi, uint64_t now_ms)
{
    if (c->tcp == CT_TCP_SYN_SENT) {
        if (d == 0 && (pi->tcp_flags & L4_TCP_SYN) && !(pi->tcp_flags & L4_TCP_ACK))
            return CT_ESTABLISHED; /* the SYN again */
        if (d == 0 || !tcp_synack(c, pi))
            return CT_INVALID;
    } else if (c->tcp == CT_TCP_SYN_RECV && d == 1 && (pi->tcp_flags & L4_TCP_SYN)) {
        if (pi->ack != c->dir[0].end)
            return CT_INVALID; /* the SYN+ACK again, which must ack the same SYN */
    } else if (!tcp_in_window(c, d, pi)) {
        return CT_INVALID;
    } else {
        tcp_next(c, d, pi);
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

enum ct_verdict
ct_track(struct ct *t, const struct l4_info *pi, uint32_t bytes, uint64_t now_ms,
         struct ct_conn **conn, bool *reply)
{
    *conn = NULL;
    *reply = false;
    bool icmp = pi->key.proto == L4_PROTO_ICMP || pi->key.proto == L4_PROTO_ICMPV6;
    if (icmp && pi->icmp_error) { /* about a connection: one way or the other */
        uint32_t e = lookup(t, &pi->inner, now_ms);
        if (e == NONE)
            return CT_INVALID;
        *conn = &t->slots[e / 2].c;
        *reply = e % 2 == 0; /* the quote went the other way */
        return CT_RELATED;
    }
    if (icmp && !l4_icmp_is_echo_request(pi->key.proto, pi->icmp_type) &&
        !l4_icmp_is_echo_reply(pi->key.proto, pi->icmp_type))
        return CT_NEW; /* informational (neighbour discovery...): the rules alone say */
    uint32_t e = lookup(t, &pi->key, now_ms);
    if (e == NONE)
        return may_begin(pi) ? CT_NEW : CT_INVALID;
    struct ct_conn *c = &t->slots[e / 2].c;
    int d = (int)(e % 2);
    if (c->key.proto == L4_PROTO_TCP) {
        bool anew = d == 0 && c->tcp >= CT_TCP_TIME_WAIT && may_begin(pi);
        if (anew) { /* a new connection on the same ports */
            slot_free(t, e / 2);
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
    *conn = c;
    *reply = d == 1;
    return CT_ESTABLISHED;
}

int
ct_commit(struct ct *t, const struct l4_info *pi, uint32_t bytes, uint32_t rule, uint64_t now_ms,
          struct ct_conn **conn)
{
    if (!may_begin(pi))
        return -EINVAL;
    if (lookup(t, &pi->key, now_ms) != NONE)
        return -EEXIST;
    if (!t->n_free) {
        t->full_drops++;
        return -ENOSPC;
    }
    uint32_t i = t->free[--t->n_free];
    struct slot *s = &t->slots[i];
    *s = (struct slot){.used = true};
    struct ct_conn *c = &s->c;
    c->key = pi->key;
    l4_key_reverse(&pi->key, &s->rkey);
    c->rule = rule;
    c->packets[0] = 1;
    c->bytes[0] = bytes;
    if (pi->key.proto == L4_PROTO_TCP) {
        c->tcp = CT_TCP_SYN_SENT;
        c->dir[0] = (struct ct_tcp_dir){.end = pi->seq + 1,
                                        .maxend = pi->seq + 1,
                                        .maxwin = pi->win ? pi->win : 1,
                                        .wscale = pi->tcp_wscale};
        c->dir[1].wscale = -1;
    }
    c->expires_ms = now_ms + idle_ms(t, c);
    for (int d = 0; d < 2; d++) {
        s->bucket[d] = key_hash(d ? &s->rkey : &c->key) & t->mask;
        s->next[d] = t->buckets[s->bucket[d]];
        t->buckets[s->bucket[d]] = ENTRY(i, d);
    }
    t->n_used++;
    *conn = c;
    return 0;
}

size_t
ct_expire(struct ct *t, uint64_t now_ms, size_t max)
{
    size_t n = 0;
    for (size_t seen = 0; seen < t->p.max_conns && n < max; seen++) {
        uint32_t i = (uint32_t)t->cursor;
        t->cursor = (t->cursor + 1) % t->p.max_conns;
        if (t->slots[i].used && t->slots[i].c.expires_ms <= now_ms) {
            slot_free(t, i);
            n++;
        }
    }
    return n;
}

void
ct_foreach(struct ct *t, void (*fn)(const struct ct_conn *, void *aux), void *aux)
{
    for (size_t i = 0; i < t->p.max_conns; i++)
        if (t->slots[i].used)
            fn(&t->slots[i].c, aux);
}
