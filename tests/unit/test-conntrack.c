/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The firewall's L3/L4 parser (dataplane/l4.h) and connection tracking
 * (dataplane/conntrack.h), on frames built here byte by byte: a TCP
 * connection through its states with the windows checked, a stray ACK,
 * data outside the window, RST; UDP and ICMP echo with their timeouts; an
 * ICMP error related to its connection; IPv6 with an extension header;
 * fragments and malformed headers refused; zones; a full table.
 */
#include "tests/unit/check.h"
#include "dataplane/conntrack.h"
#include "dataplane/l4.h"
#include "dataplane/packet.h"
#include "tests/unit/l3frames.h"

#include <errno.h>
#include <string.h>

static enum l4_result
parse(const struct frame *f, uint16_t zone, struct l4_info *pi)
{
    return l4_parse(f->b, f->len, f->eth_type, zone, pi);
}

/* Parses and tracks 'f' at 'now'; a NEW one is committed. */
static enum ct_verdict
see(struct ct *t, const struct frame *f, uint64_t now, bool *reply)
{
    struct l4_info pi;
    struct ct_result res;
    if (parse(f, 0, &pi) != L4_OK)
        return (enum ct_verdict) - 1;
    enum ct_verdict v = ct_track(t, &pi, f->len, now, &res);
    struct ct_new n = {.pi = &pi, .bytes = f->len, .rule = 7, .smac = f->b, .dmac = f->b};
    if (v == CT_NEW && ct_commit(t, &n, now) < 0)
        return (enum ct_verdict) - 2;
    if (reply)
        *reply = res.reply;
    return v;
}

static enum ct_tcp_state
state_of(struct ct *t, const struct frame *f, uint64_t now)
{
    struct l4_info pi;
    struct ct_result res = {.tcp = CT_TCP_NONE};
    /* A pure ACK at the current edge changes nothing but the timeout. */
    if (parse(f, 0, &pi) == L4_OK)
        ct_track(t, &pi, 0, now, &res);
    return res.tcp;
}

static void
tcp_goes_through_its_states_inside_the_windows(void)
{
    struct ct *t = ct_create(&(struct ct_params){.max_conns = 64});
    struct frame f;
    bool reply;
    uint32_t a = 1000, b = 5000; /* each side's initial sequence number */
    /* A stray ACK begins nothing. */
    tcp(&f, 1, 40000, 2, 80, L4_TCP_ACK, a + 1, b + 1, 1000, 0);
    ASSERT_EQ(see(t, &f, 1, NULL), CT_INVALID);
    ASSERT_EQ(ct_count(t), 0);
    tcp(&f, 1, 40000, 2, 80, L4_TCP_SYN, a, 0, 1000, 0);
    ASSERT_EQ(see(t, &f, 1, NULL), CT_NEW);
    ASSERT_EQ(ct_count(t), 1);
    /* A SYN+ACK that acks another SYN is not the reply. */
    tcp(&f, 2, 80, 1, 40000, L4_TCP_SYN | L4_TCP_ACK, b, a + 7, 2000, 0);
    ASSERT_EQ(see(t, &f, 2, NULL), CT_INVALID);
    tcp(&f, 2, 80, 1, 40000, L4_TCP_SYN | L4_TCP_ACK, b, a + 1, 2000, 0);
    ASSERT_EQ(see(t, &f, 2, &reply), CT_ESTABLISHED);
    ASSERT_TRUE(reply);
    tcp(&f, 1, 40000, 2, 80, L4_TCP_ACK, a + 1, b + 1, 1000, 100);
    ASSERT_EQ(see(t, &f, 3, &reply), CT_ESTABLISHED);
    ASSERT_FALSE(reply);
    tcp(&f, 1, 40000, 2, 80, L4_TCP_ACK, a + 101, b + 1, 1000, 0);
    ASSERT_EQ(state_of(t, &f, 4), CT_TCP_ESTABLISHED);
    /* The reply's data within the window the client gave (1000). */
    tcp(&f, 2, 80, 1, 40000, L4_TCP_ACK, b + 1, a + 101, 2000, 500);
    ASSERT_EQ(see(t, &f, 5, NULL), CT_ESTABLISHED);
    /* Far beyond that window: invalid, and nothing changed. */
    tcp(&f, 2, 80, 1, 40000, L4_TCP_ACK, b + 501 + 100000, a + 101, 2000, 10);
    ASSERT_EQ(see(t, &f, 6, NULL), CT_INVALID);
    /* An ACK of data never sent: invalid. */
    tcp(&f, 1, 40000, 2, 80, L4_TCP_ACK, a + 101, b + 501 + 70000, 1000, 0);
    ASSERT_EQ(see(t, &f, 6, NULL), CT_INVALID);
    /* Closing: FIN, FIN, the last ACK. */
    tcp(&f, 1, 40000, 2, 80, L4_TCP_FIN | L4_TCP_ACK, a + 101, b + 501, 1000, 0);
    ASSERT_EQ(see(t, &f, 7, NULL), CT_ESTABLISHED);
    tcp(&f, 1, 40000, 2, 80, L4_TCP_ACK, a + 102, b + 501, 1000, 0);
    ASSERT_EQ(state_of(t, &f, 7), CT_TCP_FIN_WAIT);
    tcp(&f, 2, 80, 1, 40000, L4_TCP_FIN | L4_TCP_ACK, b + 501, a + 102, 2000, 0);
    ASSERT_EQ(see(t, &f, 8, NULL), CT_ESTABLISHED);
    tcp(&f, 1, 40000, 2, 80, L4_TCP_ACK, a + 102, b + 502, 1000, 0);
    ASSERT_EQ(state_of(t, &f, 9), CT_TCP_TIME_WAIT);
    /* A new SYN on the same ports begins a new connection. */
    tcp(&f, 1, 40000, 2, 80, L4_TCP_SYN, a + 90000, 0, 1000, 0);
    ASSERT_EQ(see(t, &f, 10, NULL), CT_NEW);
    ASSERT_EQ(ct_count(t), 1);
    ct_destroy(t);
}

static void
rst_closes_and_the_idle_expire(void)
{
    struct ct *t = ct_create(&(struct ct_params){.max_conns = 64});
    struct frame f;
    uint32_t a = 0xfffffff0u, b = 7; /* 'a' wraps around 2^32 */
    tcp(&f, 1, 40001, 2, 22, L4_TCP_SYN, a, 0, 1000, 0);
    ASSERT_EQ(see(t, &f, 1, NULL), CT_NEW);
    tcp(&f, 2, 22, 1, 40001, L4_TCP_SYN | L4_TCP_ACK, b, a + 1, 2000, 0);
    ASSERT_EQ(see(t, &f, 2, NULL), CT_ESTABLISHED);
    tcp(&f, 1, 40001, 2, 22, L4_TCP_ACK, a + 1, b + 1, 1000, 64);
    ASSERT_EQ(see(t, &f, 3, NULL), CT_ESTABLISHED); /* over the wrap */
    /* An RST outside the window changes nothing; one inside closes. */
    tcp(&f, 2, 22, 1, 40001, L4_TCP_RST, b + 1 + 500000, 0, 0, 0);
    ASSERT_EQ(see(t, &f, 4, NULL), CT_INVALID);
    tcp(&f, 2, 22, 1, 40001, L4_TCP_RST, b + 1, 0, 0, 0);
    ASSERT_EQ(see(t, &f, 4, NULL), CT_ESTABLISHED);
    ASSERT_EQ(ct_expire(t, 4 + 9999, SIZE_MAX), 0);
    ASSERT_EQ(ct_expire(t, 4 + 10000, SIZE_MAX), 1); /* closed: 10 s */
    ASSERT_EQ(ct_count(t), 0);
    ct_destroy(t);
}

static void
a_refused_syn_closes(void)
{
    struct ct *t = ct_create(&(struct ct_params){.max_conns = 64});
    struct frame f;
    tcp(&f, 1, 40002, 2, 23, L4_TCP_SYN, 100, 0, 1000, 0);
    ASSERT_EQ(see(t, &f, 1, NULL), CT_NEW);
    tcp(&f, 2, 23, 1, 40002, L4_TCP_RST | L4_TCP_ACK, 0, 999, 0, 0);
    ASSERT_EQ(see(t, &f, 2, NULL), CT_INVALID); /* it acks no SYN of ours */
    tcp(&f, 2, 23, 1, 40002, L4_TCP_RST | L4_TCP_ACK, 0, 101, 0, 0);
    ASSERT_EQ(see(t, &f, 2, NULL), CT_ESTABLISHED); /* the port is closed: it passes */
    ASSERT_EQ(state_of(t, &f, 3), CT_TCP_CLOSED);
    tcp(&f, 1, 40002, 2, 23, L4_TCP_SYN, 5000, 0, 1000, 0);
    ASSERT_EQ(see(t, &f, 4, NULL), CT_NEW); /* and may be tried again */
    ct_destroy(t);
}

/* Tracks 'f' at 'now' into '*res' (no commit). */
static enum ct_verdict
track(struct ct *t, const struct frame *f, uint64_t now, struct ct_result *res)
{
    struct l4_info pi;
    if (parse(f, 0, &pi) != L4_OK)
        return (enum ct_verdict) - 1;
    return ct_track(t, &pi, f->len, now, res);
}

/* The eswitch tier: established, a connection is proposed for offload once;
 * while there, its windows are re-learned (the eswitch saw the segments
 * between); its counts fold in; a FIN takes it back. */
static void
an_established_connection_goes_to_the_eswitch_and_back(void)
{
    struct ct *t = ct_create(&(struct ct_params){.max_conns = 64});
    ct_set_offload(t, true);
    struct frame f;
    struct ct_result res;
    tcp(&f, 1, 40003, 2, 80, L4_TCP_SYN, 100, 0, 1000, 0);
    ASSERT_EQ(see(t, &f, 1, NULL), CT_NEW);
    tcp(&f, 2, 80, 1, 40003, L4_TCP_SYN | L4_TCP_ACK, 500, 101, 1000, 0);
    ASSERT_EQ(track(t, &f, 2, &res), CT_ESTABLISHED);
    ASSERT_FALSE(res.offload); /* not established yet */
    for (int i = 0; i < CT_OFFLOAD_AFTER - 3; i++) { /* established, but short yet */
        tcp(&f, 1, 40003, 2, 80, L4_TCP_ACK, 101, 501, 1000, 0);
        ASSERT_EQ(track(t, &f, 3, &res), CT_ESTABLISHED);
        ASSERT_FALSE(res.offload);
    }
    tcp(&f, 1, 40003, 2, 80, L4_TCP_ACK, 101, 501, 1000, 0);
    ASSERT_EQ(track(t, &f, 3, &res), CT_ESTABLISHED);
    ASSERT_TRUE(res.offload);
    ASSERT_EQ(res.key.sport, 40003); /* the original direction's key */
    struct l4_key k = res.key;
    tcp(&f, 1, 40003, 2, 80, L4_TCP_ACK, 101, 501, 1000, 10);
    ASSERT_EQ(track(t, &f, 4, &res), CT_ESTABLISHED);
    ASSERT_FALSE(res.offload); /* once */
    struct ct_seen seen;
    ASSERT_TRUE(ct_offload_seen(t, &k, 1000, 1500000, true, 5, &seen));
    ASSERT_EQ(seen.rule, 7);
    ASSERT_EQ(seen.packets, 1000);
    ASSERT_TRUE(ct_offload_seen(t, &k, 1010, 1515000, true, 6, &seen));
    ASSERT_EQ(seen.packets, 10); /* the difference */
    ASSERT_EQ(seen.bytes, 15000);
    /* 1.5 MB later the FIN comes up: far past the windows last seen. */
    tcp(&f, 1, 40003, 2, 80, L4_TCP_FIN | L4_TCP_ACK, 101 + 1500000, 501, 1000, 0);
    ASSERT_EQ(track(t, &f, 7, &res), CT_ESTABLISHED);
    ASSERT_TRUE(res.unoffload);
    ASSERT_EQ(res.es_packets[0], 1010);
    ASSERT_FALSE(ct_offload_seen(t, &k, 1020, 0, true, 8, &seen)); /* taken back */
    tcp(&f, 2, 80, 1, 40003, L4_TCP_ACK, 501, 101 + 1500001, 1000, 0);
    ASSERT_EQ(track(t, &f, 8, &res), CT_ESTABLISHED); /* the other side re-learned too */
    tcp(&f, 2, 80, 1, 40003, L4_TCP_ACK, 501 + 900000, 101 + 1500001, 1000, 0);
    ASSERT_EQ(track(t, &f, 9, &res), CT_INVALID); /* then checked again */
    /* Another one in the eswitch ends with an RST far past what software
     * saw: it passes and closes (the eswitch checks no window). */
    tcp(&f, 1, 40006, 2, 80, L4_TCP_SYN, 100, 0, 1000, 0);
    ASSERT_EQ(see(t, &f, 10, NULL), CT_NEW);
    tcp(&f, 2, 80, 1, 40006, L4_TCP_SYN | L4_TCP_ACK, 500, 101, 1000, 0);
    ASSERT_EQ(track(t, &f, 10, &res), CT_ESTABLISHED);
    for (int i = 0; i < CT_OFFLOAD_AFTER && !res.offload; i++) {
        tcp(&f, 1, 40006, 2, 80, L4_TCP_ACK, 101, 501, 1000, 0);
        ASSERT_EQ(track(t, &f, 11, &res), CT_ESTABLISHED);
    }
    ASSERT_TRUE(res.offload);
    tcp(&f, 2, 80, 1, 40006, L4_TCP_RST, 501 + 2000000, 0, 0, 0);
    ASSERT_EQ(track(t, &f, 12, &res), CT_ESTABLISHED);
    ASSERT_TRUE(res.unoffload);
    ASSERT_EQ(res.tcp, CT_TCP_CLOSED);
    ct_destroy(t);
}

/* tcp_liberal: a segment outside the windows passes, and the state is kept. */
static void
a_liberal_table_lets_segments_outside_the_windows_pass(void)
{
    struct ct *t = ct_create(&(struct ct_params){.max_conns = 64, .tcp_liberal = true});
    struct frame f;
    tcp(&f, 1, 40004, 2, 80, L4_TCP_SYN, 100, 0, 1000, 0);
    ASSERT_EQ(see(t, &f, 1, NULL), CT_NEW);
    tcp(&f, 2, 80, 1, 40004, L4_TCP_SYN | L4_TCP_ACK, 500, 101, 1000, 0);
    ASSERT_EQ(see(t, &f, 2, NULL), CT_ESTABLISHED);
    tcp(&f, 1, 40004, 2, 80, L4_TCP_ACK, 101, 501, 1000, 0);
    ASSERT_EQ(see(t, &f, 3, NULL), CT_ESTABLISHED);
    tcp(&f, 1, 40004, 2, 80, L4_TCP_ACK, 1, 1, 1000, 24); /* far outside: passes */
    ASSERT_EQ(see(t, &f, 4, NULL), CT_ESTABLISHED);
    ASSERT_EQ(state_of(t, &f, 5), CT_TCP_ESTABLISHED);
    tcp(&f, 1, 40005, 2, 80, L4_TCP_ACK, 1, 1, 1000, 24); /* no connection: still invalid */
    ASSERT_EQ(see(t, &f, 6, NULL), CT_INVALID);
    ct_destroy(t);
}

static void
udp_and_echo_live_by_their_timeouts(void)
{
    struct ct *t = ct_create(&(struct ct_params){.max_conns = 64});
    struct frame f;
    bool reply;
    udp(&f, 1, 5353, 2, 53);
    ASSERT_EQ(see(t, &f, 0, NULL), CT_NEW);
    udp(&f, 2, 53, 1, 5353);
    ASSERT_EQ(see(t, &f, 1000, &reply), CT_ESTABLISHED);
    ASSERT_TRUE(reply);
    udp(&f, 1, 5354, 2, 53); /* never answered */
    ASSERT_EQ(see(t, &f, 1000, NULL), CT_NEW);
    ASSERT_EQ(ct_expire(t, 31000, SIZE_MAX), 1);  /* unreplied: 30 s */
    ASSERT_EQ(ct_expire(t, 180999, SIZE_MAX), 0); /* replied: 180 s after its last */
    ASSERT_EQ(ct_expire(t, 181000, SIZE_MAX), 1);
    /* Echo: a request begins, its reply follows; a reply alone does not. */
    echo(&f, 2, 1, 0, 77);
    ASSERT_EQ(see(t, &f, 200000, NULL), CT_INVALID);
    echo(&f, 1, 2, 8, 77);
    ASSERT_EQ(see(t, &f, 200000, NULL), CT_NEW);
    echo(&f, 2, 1, 0, 77);
    ASSERT_EQ(see(t, &f, 200001, &reply), CT_ESTABLISHED);
    ASSERT_TRUE(reply);
    echo(&f, 2, 1, 8, 77); /* a request the reply way */
    ASSERT_EQ(see(t, &f, 200001, NULL), CT_INVALID);
    /* Lazily: a lookup past the timeout finds nothing. */
    echo(&f, 2, 1, 0, 77);
    ASSERT_EQ(see(t, &f, 200001 + 30000, NULL), CT_INVALID);
    ASSERT_EQ(ct_count(t), 0);
    ct_destroy(t);
}

static void
an_icmp_error_is_related_to_its_connection(void)
{
    struct ct *t = ct_create(&(struct ct_params){.max_conns = 64});
    struct frame f, q;
    bool reply;
    udp(&q, 1, 5353, 2, 53);
    ASSERT_EQ(see(t, &q, 0, NULL), CT_NEW);
    /* 198.18.0.2 says port unreachable, quoting the datagram. */
    uint8_t *i = ip4(&f, 2, 1, L4_PROTO_ICMP, 8 + 28);
    i[0] = 3;
    i[1] = 3;
    memcpy(i + 8, q.b, 28);
    ASSERT_EQ(see(t, &f, 1, &reply), CT_RELATED);
    ASSERT_TRUE(reply);
    /* About a datagram never seen: invalid. */
    put16(i + 8 + 20, 6000);
    ASSERT_EQ(see(t, &f, 1, NULL), CT_INVALID);
    /* Quoting too little: malformed. */
    struct l4_info pi;
    f.len = 20 + 8 + 20 + 4;
    put16(f.b + 2, f.len);
    ASSERT_EQ(parse(&f, 0, &pi), L4_MALFORMED);
    ct_destroy(t);
}

static void
ipv6_with_an_extension_header_and_zones(void)
{
    struct ct *t = ct_create(&(struct ct_params){.max_conns = 64});
    struct frame f;
    memset(&f, 0, sizeof f);
    f.eth_type = ETH_TYPE_IPV6;
    f.b[0] = 0x60;
    put16(f.b + 4, 8 + 20); /* payload: hop-by-hop (8) + TCP (20) */
    f.b[6] = 0;             /* next: hop-by-hop */
    f.b[7] = 64;
    static const uint8_t net[4] = {0x20, 0x01, 0x0d, 0xb8}; /* 2001:db8::/32 */
    memcpy(f.b + 8, net, 4);
    f.b[23] = 1; /* 2001:db8::1 */
    memcpy(f.b + 24, net, 4);
    f.b[39] = 2;            /* 2001:db8::2 */
    f.b[40] = L4_PROTO_TCP; /* the extension's next header; its length 0: 8 bytes */
    uint8_t *tc = f.b + 48;
    put16(tc, 40000);
    put16(tc + 2, 443);
    put32(tc + 4, 1);
    tc[12] = 8 << 4; /* 32 bytes of header with options ... */
    tc[13] = L4_TCP_SYN;
    f.len = 40 + 8 + 20;
    struct l4_info pi;
    ASSERT_EQ(parse(&f, 0, &pi), L4_MALFORMED); /* ... which are not there */
    tc[12] = 5 << 4;
    ASSERT_EQ(parse(&f, 10, &pi), L4_OK);
    ASSERT_EQ(pi.key.family, 6);
    ASSERT_EQ(pi.key.dport, 443);
    struct ct_result res;
    struct ct_new n = {.pi = &pi, .bytes = f.len, .rule = 1, .smac = f.b, .dmac = f.b};
    ASSERT_EQ(ct_track(t, &pi, f.len, 0, &res), CT_NEW);
    ASSERT_EQ(ct_commit(t, &n, 0), 0);
    ASSERT_EQ(ct_commit(t, &n, 0), -EEXIST);
    /* The same addresses in another zone: another connection. */
    ASSERT_EQ(parse(&f, 20, &pi), L4_OK);
    ASSERT_EQ(ct_track(t, &pi, f.len, 0, &res), CT_NEW);
    /* A fragment header: the caller's to reassemble or drop. */
    f.b[6] = 44;
    ASSERT_EQ(parse(&f, 0, &pi), L4_FRAGMENT);
    ct_destroy(t);
}

static void
malformed_headers_are_refused(void)
{
    struct frame f;
    struct l4_info pi;
    udp(&f, 1, 1, 2, 2);
    f.len = 19;
    ASSERT_EQ(parse(&f, 0, &pi), L4_MALFORMED); /* shorter than its header */
    udp(&f, 1, 1, 2, 2);
    f.b[0] = 0x44; /* IHL 16 bytes */
    ASSERT_EQ(parse(&f, 0, &pi), L4_MALFORMED);
    udp(&f, 1, 1, 2, 2);
    put16(f.b + 2, 200); /* longer than the frame */
    ASSERT_EQ(parse(&f, 0, &pi), L4_MALFORMED);
    udp(&f, 1, 1, 2, 2);
    put16(f.b + 20 + 4, 40); /* UDP longer than its packet */
    ASSERT_EQ(parse(&f, 0, &pi), L4_MALFORMED);
    udp(&f, 1, 1, 2, 2);
    put16(f.b + 6, 0x2000); /* more fragments */
    ASSERT_EQ(parse(&f, 0, &pi), L4_FRAGMENT);
    ip4(&f, 1, 2, 47, 8); /* GRE */
    ASSERT_EQ(parse(&f, 0, &pi), L4_UNSUPPORTED);
    f.eth_type = 0x0806;
    ASSERT_EQ(parse(&f, 0, &pi), L4_NOT_IP);
    /* A SYN's window scale option is read. */
    tcp(&f, 1, 1, 2, 2, L4_TCP_SYN, 1, 0, 100, 0);
    f.b[20 + 12] = 6 << 4;
    uint8_t opt[] = {1, 3, 3, 7};
    memcpy(f.b + 40, opt, 4);
    f.len += 4;
    put16(f.b + 2, f.len);
    ASSERT_EQ(parse(&f, 0, &pi), L4_OK);
    ASSERT_EQ(pi.tcp_wscale, 7);
}

static void
a_full_table_refuses_and_counts(void)
{
    struct ct *t = ct_create(&(struct ct_params){.max_conns = 2});
    struct frame f;
    udp(&f, 1, 1001, 2, 53);
    ASSERT_EQ(see(t, &f, 0, NULL), CT_NEW);
    udp(&f, 1, 1002, 2, 53);
    ASSERT_EQ(see(t, &f, 0, NULL), CT_NEW);
    udp(&f, 1, 1003, 2, 53);
    ASSERT_EQ(see(t, &f, 0, NULL), (enum ct_verdict) - 2); /* -ENOSPC */
    ASSERT_EQ(ct_full_drops(t), 1);
    ASSERT_EQ(ct_expire(t, 30000, SIZE_MAX), 2); /* both, unreplied for 30 s */
    ASSERT_EQ(see(t, &f, 30000, NULL), CT_NEW);  /* room again */
    ct_destroy(t);
}

/* ---- HA: export, import ---- */

struct copied {
    struct ct_conn c[16];
    size_t n;
};

static void
copy_one(const struct ct_conn *c, void *aux)
{
    struct copied *k = aux;
    if (k->n < 16)
        k->c[k->n++] = *c;
}

/* What changed since 'since', in pages of 'max'. */
static struct copied
export_since(struct ct *t, uint64_t since, uint64_t now, size_t max)
{
    struct copied k = {.n = 0};
    uint32_t pos = 0;
    while (!ct_export(t, since, now, &pos, max, copy_one, &k))
        ;
    return k;
}

static void
export_gives_what_changed_since_a_cursor(void)
{
    struct ct *t = ct_create(&(struct ct_params){.max_conns = 64});
    struct frame f;
    ASSERT_NE(ct_id(t), 0);
    for (uint16_t p = 1; p <= 3; p++) {
        udp(&f, 1, (uint16_t)(1000 + p), 2, 53);
        ASSERT_EQ(see(t, &f, 10, NULL), CT_NEW);
    }
    ASSERT_EQ(export_since(t, 0, 10, 1).n, 3); /* pages of one */
    uint64_t cursor = ct_seq(t);
    ASSERT_EQ(export_since(t, cursor, 10, 100).n, 0);
    /* More of the same (the expiry barely moves): no change. */
    udp(&f, 1, 1001, 2, 53);
    ASSERT_EQ(see(t, &f, 20, NULL), CT_ESTABLISHED);
    ASSERT_EQ(export_since(t, cursor, 20, 100).n, 0);
    /* A reply (UDP replied: a state) is one; so is a quarter of the
     * timeout's refresh. */
    udp(&f, 2, 53, 1, 1002);
    ASSERT_EQ(see(t, &f, 30, NULL), CT_ESTABLISHED);
    udp(&f, 1, 1003, 2, 53);
    ASSERT_EQ(see(t, &f, 10 + 30000 / 4 + 1, NULL), CT_ESTABLISHED);
    struct copied k = export_since(t, cursor, 10 + 30000 / 4 + 1, 100);
    ASSERT_EQ(k.n, 2);
    ASSERT_GT(k.c[0].seq, cursor);
    /* An expired one is not given. */
    ASSERT_EQ(export_since(t, 0, 20 + 30000, 100).n, 2); /* 1001: quiet since 20 */
    ct_destroy(t);
}

/* A TCP connection a -> b at 'now', established, 1000 bytes sent. */
static void
tcp_connect(struct ct *t, uint32_t a, uint32_t b, uint64_t now)
{
    struct frame f;
    tcp(&f, 1, 40000, 2, 80, L4_TCP_SYN, a, 0, 65535, 0);
    ASSERT_EQ(see(t, &f, now, NULL), CT_NEW);
    tcp(&f, 2, 80, 1, 40000, L4_TCP_SYN | L4_TCP_ACK, b, a + 1, 65535, 0);
    ASSERT_EQ(see(t, &f, now, NULL), CT_ESTABLISHED);
    tcp(&f, 1, 40000, 2, 80, L4_TCP_ACK, a + 1, b + 1, 65535, 1000);
    ASSERT_EQ(see(t, &f, now, NULL), CT_ESTABLISHED);
}

static void
import_inserts_and_replaces(void)
{
    struct ct *a = ct_create(&(struct ct_params){.max_conns = 64});
    struct ct *b = ct_create(&(struct ct_params){.max_conns = 64});
    struct frame f;
    ASSERT_NE(ct_id(a), ct_id(b));
    tcp_connect(a, 1000, 5000, 10);
    udp(&f, 1, 1001, 2, 53);
    ASSERT_EQ(see(a, &f, 10, NULL), CT_NEW);
    struct copied k = export_since(a, 0, 10, 100);
    ASSERT_EQ(k.n, 2);
    for (size_t i = 0; i < k.n; i++)
        ASSERT_EQ(ct_import(b, &k.c[i], 10), 0);
    ASSERT_EQ(ct_count(b), 2);
    /* Again: replaced, not added; the UDP reply belongs to it. */
    for (size_t i = 0; i < k.n; i++)
        ASSERT_EQ(ct_import(b, &k.c[i], 10), 0);
    ASSERT_EQ(ct_count(b), 2);
    bool reply;
    udp(&f, 2, 53, 1, 1001);
    ASSERT_EQ(see(b, &f, 11, &reply), CT_ESTABLISHED);
    ASSERT_TRUE(reply);
    ASSERT_EQ(state_of(b, &f, 11), CT_TCP_NONE);
    /* What no table holds is refused; a full table says so. */
    struct ct_conn bad = k.c[0];
    bad.key.family = 5;
    ASSERT_EQ(ct_import(b, &bad, 10), -EINVAL);
    bad = k.c[0];
    bad.expires_ms = 10;
    ASSERT_EQ(ct_import(b, &bad, 10), -EINVAL);
    struct ct *tiny = ct_create(&(struct ct_params){.max_conns = 1});
    ASSERT_EQ(ct_import(tiny, &k.c[0], 10), 0);
    ASSERT_EQ(ct_import(tiny, &k.c[1], 10), -ENOSPC);
    ASSERT_EQ(ct_flush(tiny), 1);
    ASSERT_EQ(ct_count(tiny), 0);
    ct_destroy(tiny);
    ct_destroy(a);
    ct_destroy(b);
}

static void
a_stale_window_is_picked_up_mid_stream(void)
{
    struct ct *a = ct_create(&(struct ct_params){.max_conns = 64});
    struct ct *b = ct_create(&(struct ct_params){.max_conns = 64});
    struct frame f;
    uint32_t ca = 1000, sb = 5000;
    tcp_connect(a, ca, sb, 10);
    struct copied k = export_since(a, 0, 10, 100); /* the copy, then 5 MB more on 'a' */
    ASSERT_EQ(k.n, 1);
    ASSERT_EQ(k.c[0].tcp, CT_TCP_ESTABLISHED);
    ASSERT_EQ(ct_import(b, &k.c[0], 10), 0);
    uint32_t far = ca + 1001 + 5000000;
    /* The table that saw no such data refuses it: far beyond its window. */
    tcp(&f, 1, 40000, 2, 80, L4_TCP_ACK, far, sb + 1, 65535, 1000);
    ASSERT_EQ(see(a, &f, 20, NULL), CT_INVALID);
    /* The copy takes the first segment each way as it is... */
    ASSERT_EQ(see(b, &f, 20, NULL), CT_ESTABLISHED);
    tcp(&f, 2, 80, 1, 40000, L4_TCP_ACK, sb + 1, far + 1000, 65535, 0);
    ASSERT_EQ(see(b, &f, 20, NULL), CT_ESTABLISHED);
    tcp(&f, 1, 40000, 2, 80, L4_TCP_ACK, far + 1000, sb + 1, 65535, 1000);
    ASSERT_EQ(see(b, &f, 21, NULL), CT_ESTABLISHED);
    /* ...then checks the windows again. */
    tcp(&f, 1, 40000, 2, 80, L4_TCP_ACK, far + 9000000, sb + 1, 65535, 1000);
    ASSERT_EQ(see(b, &f, 22, NULL), CT_INVALID);
    tcp(&f, 2, 80, 1, 40000, L4_TCP_ACK, sb + 1, far + 9000000, 65535, 0);
    ASSERT_EQ(see(b, &f, 22, NULL), CT_INVALID);
    ct_destroy(a);
    ct_destroy(b);
}

static void
imported_connections_expire(void)
{
    struct ct *a = ct_create(&(struct ct_params){.max_conns = 64});
    struct ct *b = ct_create(&(struct ct_params){.max_conns = 64});
    struct frame f;
    udp(&f, 1, 1001, 2, 53);
    ASSERT_EQ(see(a, &f, 0, NULL), CT_NEW);
    struct copied k = export_since(a, 0, 0, 100);
    ASSERT_EQ(k.n, 1);
    k.c[0].expires_ms = 5000 + 1000; /* imported at 5000 with 1 s left */
    ASSERT_EQ(ct_import(b, &k.c[0], 5000), 0);
    ASSERT_EQ(ct_expire(b, 5999, SIZE_MAX), 0);
    ASSERT_EQ(ct_expire(b, 6000, SIZE_MAX), 1);
    ASSERT_EQ(ct_count(b), 0);
    ct_destroy(a);
    ct_destroy(b);
}

TEST_MAIN(TEST(tcp_goes_through_its_states_inside_the_windows),
          TEST(rst_closes_and_the_idle_expire), TEST(a_refused_syn_closes),
          TEST(udp_and_echo_live_by_their_timeouts),
          TEST(a_liberal_table_lets_segments_outside_the_windows_pass),
          TEST(an_established_connection_goes_to_the_eswitch_and_back),
          TEST(an_icmp_error_is_related_to_its_connection),
          TEST(ipv6_with_an_extension_header_and_zones), TEST(malformed_headers_are_refused),
          TEST(a_full_table_refuses_and_counts), TEST(export_gives_what_changed_since_a_cursor),
          TEST(import_inserts_and_replaces), TEST(a_stale_window_is_picked_up_mid_stream),
          TEST(imported_connections_expire))
