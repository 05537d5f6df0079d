/* SPDX-License-Identifier: Apache-2.0 */
/* dfw-policy: a firewall policy compiled from its JSON, and its classifier
 * (dfw.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/dfw.h"
#include "lib/cmdtab.h"
#include "lib/util.h"

typedef unsigned __int128 u128;

/* An address range: IPv4 addresses are the values below 2^32. */
struct range {
    u128 lo, hi;
};

struct group {
    char *name;
    uint64_t *macs;
    struct range *ranges[2]; /* IPv4, IPv6: sorted, merged */
    uint32_t n_macs, n_ranges[2];
};

struct port_range {
    uint16_t lo, hi;
};

struct svc_entry {
    uint8_t proto;            /* 0: any */
    int16_t type, code;       /* ICMP; -1: any */
    struct port_range *ports; /* TCP, UDP; NULL: all */
    uint32_t n_ports;
};

struct service {
    char *name;
    struct svc_entry *e;
    uint32_t n;
};

/* A list of group or service indexes. */
struct refs {
    uint32_t *at;
    uint32_t n;
};

struct rule {
    char name[DFW_RULE_NAME_MAX + 1];
    struct refs src, dst, svc, applied;
    uint8_t action, dir;
    bool log;
};

/* Names to indexes: open addressing, for compiling and carrying counters. */
struct names {
    const char **key;
    uint32_t *val;
    size_t mask;
};

/* Protocol classes of the index. */
enum { C_TCP, C_UDP, C_ICMP, C_ICMP6, C_OTHER, C__N };

/* The exact index: (class, destination port) -> a run of rule indexes. */
struct xslot {
    uint32_t key; /* class << 16 | port; UINT32_MAX: empty */
    uint32_t off, n;
};

struct pgdef {
    char *name;
    uint8_t action;
};

struct dfw_policy {
    struct group *groups;
    struct service *svcs;
    struct rule *rules;
    uint32_t n_groups, n_svcs, n_rules;
    struct dfw_counts *counts; /* n_rules + 1: the default last */
    struct names gnames, snames, rnames;
    uint8_t def;
    struct pgdef *pgdefs;
    uint32_t n_pgdefs;
    struct ct_params ct; /* the table's size and timeouts */
    struct xslot *x;
    uint32_t xmask;
    uint32_t *xrules;
    struct refs rest[C__N];
};

/* ---- names ---- */

static int
names_init(struct names *t, size_t n)
{
    size_t cap = 16;
    while (cap < 2 * n)
        cap *= 2;
    t->key = calloc(cap, sizeof *t->key);
    t->val = calloc(cap, sizeof *t->val);
    t->mask = cap - 1;
    return t->key && t->val ? 0 : -ENOMEM;
}

static void
names_free(struct names *t)
{
    free(t->key);
    free(t->val);
}

/* The slot of 'name': its own, or the empty one it would take. */
static size_t
names_slot(const struct names *t, const char *name)
{
    size_t i = hash_fnv1a(name, strlen(name), HASH_FNV1A_SEED) & t->mask;
    while (t->key[i] && strcmp(t->key[i], name))
        i = (i + 1) & t->mask;
    return i;
}

static bool
names_get(const struct names *t, const char *name, uint32_t *out)
{
    if (!t->key)
        return false;
    size_t i = names_slot(t, name);
    if (!t->key[i])
        return false;
    *out = t->val[i];
    return true;
}

/* Adds 'name' (borrowed: it must outlive the table).  False if it is
 * there already. */
static bool
names_add(struct names *t, const char *name, uint32_t val)
{
    size_t i = names_slot(t, name);
    if (t->key[i])
        return false;
    t->key[i] = name;
    t->val[i] = val;
    return true;
}

/* ---- small parsers ---- */

static int
parse_action(const char *s, uint8_t *out)
{
    static const char *const names[] = {"allow", "drop", "reject"};
    for (unsigned i = 0; s && i < ARRAY_SIZE(names); i++)
        if (!strcmp(s, names[i])) {
            *out = (uint8_t)i;
            return 0;
        }
    return -EINVAL;
}

const char *
dfw_action_name(enum dfw_action a)
{
    return a == DFW_DROP ? "drop" : a == DFW_REJECT ? "reject" : "allow";
}

/* The address at 'b' as a number: 4 bytes (IPv4) or 16 ('v6'). */
static u128
addr_value(const uint8_t *b, int v6)
{
    u128 v = 0;
    for (int i = 0; i < (v6 ? 16 : 4); i++)
        v = v << 8 | b[i];
    return v;
}

/* "198.18.1.0/24", "2001:db8::/64", or an address alone (all its bits). */
static int
add_cidr(struct group *g, const char *s)
{
    char buf[64];
    const char *slash = strchr(s, '/');
    size_t n = slash ? (size_t)(slash - s) : strlen(s);
    if (n >= sizeof buf)
        return -EINVAL;
    memcpy(buf, s, n);
    buf[n] = 0;
    uint8_t a[16];
    int family = strchr(buf, ':') ? AF_INET6 : AF_INET, bits = family == AF_INET ? 32 : 128;
    long len = bits;
    char *end = NULL;
    if (inet_pton(family, buf, a) != 1)
        return -EINVAL;
    if (slash && (!slash[1] || (len = strtol(slash + 1, &end, 10)) < 0 || len > bits || *end))
        return -EINVAL;
    int f = family == AF_INET6;
    u128 v = addr_value(a, f), host = len == bits ? 0 : (~(u128)0 >> (128 - bits)) >> len;
    g->ranges[f][g->n_ranges[f]++] = (struct range){v & ~host, v | host};
    return 0;
}

static int
cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int
cmp_range(const void *a, const void *b)
{
    const struct range *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Sorts a group's members and merges overlapping ranges, for binary
 * search. */
static void
group_sort(struct group *g)
{
    qsort(g->macs, g->n_macs, sizeof *g->macs, cmp_u64);
    for (int f = 0; f < 2; f++) {
        struct range *r = g->ranges[f];
        uint32_t n = 0;
        qsort(r, g->n_ranges[f], sizeof *r, cmp_range);
        for (uint32_t i = 0; i < g->n_ranges[f]; i++)
            if (n && r[i].lo <= r[n - 1].hi)
                r[n - 1].hi = r[i].hi > r[n - 1].hi ? r[i].hi : r[n - 1].hi;
            else
                r[n++] = r[i];
        g->n_ranges[f] = n;
    }
}

static uint64_t
mac_u64(const uint8_t *m)
{
    uint64_t v = 0;
    for (int i = 0; i < 6; i++)
        v = v << 8 | m[i];
    return v;
}

/* ---- groups ---- */

static int
parse_group(struct group *g, json_t *o, char *err, size_t err_len)
{
    static const char *const known[] = {"name", "macs", "cidrs", NULL};
    json_t *macs = json_object_get(o, "macs"), *cidrs = json_object_get(o, "cidrs"), *e;
    const char *bad = cmd_arg_unknown(o, known);
    size_t i;
    if (bad)
        return err_set(err, err_len, -EINVAL, "group %s: unknown field '%s'", g->name, bad);
    if ((macs && !json_is_array(macs)) || (cidrs && !json_is_array(cidrs)))
        return err_set(err, err_len, -EINVAL, "group %s: 'macs' and 'cidrs' are lists", g->name);
    size_t nm = json_array_size(macs), nc = json_array_size(cidrs);
    g->macs = malloc((nm + 1) * sizeof *g->macs);
    g->ranges[0] = malloc((nc + 1) * sizeof *g->ranges[0]);
    g->ranges[1] = malloc((nc + 1) * sizeof *g->ranges[1]);
    if (!g->macs || !g->ranges[0] || !g->ranges[1])
        return -ENOMEM;
    json_array_foreach (macs, i, e) {
        uint8_t m[6];
        if (!json_is_string(e) || !mac_parse(json_string_value(e), m))
            return err_set(err, err_len, -EINVAL, "group %s: '%s' is no MAC address", g->name,
                           json_is_string(e) ? json_string_value(e) : "?");
        g->macs[g->n_macs++] = mac_u64(m);
    }
    json_array_foreach (cidrs, i, e)
        if (!json_is_string(e) || add_cidr(g, json_string_value(e)) < 0)
            return err_set(err, err_len, -EINVAL, "group %s: '%s' is no IPv4 or IPv6 prefix",
                           g->name, json_is_string(e) ? json_string_value(e) : "?");
    group_sort(g);
    return 0;
}

/* The name of list element 'o' (an object with a valid "name"), or NULL
 * with the reason. */
static const char *
elem_name(json_t *o, const char *what, size_t i, size_t max, char *err, size_t err_len)
{
    const char *n = json_string_value(json_object_get(o, "name"));
    if (!json_is_object(o) || !n) {
        err_set(err, err_len, -EINVAL, "%s %zu: an object with a 'name'", what, i + 1);
        return NULL;
    }
    bool ok = n[0] && strlen(n) <= max;
    for (const char *p = n; ok && *p; p++)
        ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
             strchr("._-/", *p);
    if (!ok)
        err_set(err, err_len, -EINVAL, "%s '%s': a name is 1 to %zu of A-Z a-z 0-9 . _ - /", what,
                n, max);
    return ok ? n : NULL;
}

/* Sets up list 'what' of 'doc' for parsing: its size, checked, and the
 * table of its names. */
static int
list_begin(json_t *doc, const char *what, size_t max, json_t **list, struct names *t, char *err,
           size_t err_len)
{
    *list = json_object_get(doc, what);
    if (*list && !json_is_array(*list))
        return err_set(err, err_len, -EINVAL, "'%s' must be a list", what);
    if (json_array_size(*list) > max)
        return err_set(err, err_len, -EINVAL, "'%s': at most %zu", what, max);
    return names_init(t, json_array_size(*list));
}

static int
parse_groups(struct dfw_policy *p, json_t *doc, char *err, size_t err_len)
{
    json_t *list, *o;
    size_t i;
    int rc = list_begin(doc, "groups", DFW_MAX_GROUPS, &list, &p->gnames, err, err_len);
    if (rc < 0)
        return rc;
    if (!(p->groups = calloc(json_array_size(list) + 1, sizeof *p->groups)))
        return -ENOMEM;
    json_array_foreach (list, i, o) {
        const char *n = elem_name(o, "group", i, 64, err, err_len);
        if (!n)
            return -EINVAL;
        struct group *g = &p->groups[p->n_groups];
        if (!(g->name = strdup(n)))
            return -ENOMEM;
        p->n_groups++;
        if (!names_add(&p->gnames, g->name, (uint32_t)i))
            return err_set(err, err_len, -EINVAL, "group %s: named twice", n);
        if ((rc = parse_group(g, o, err, err_len)) < 0)
            return rc;
    }
    return 0;
}

/* ---- services ---- */

static int
parse_proto(const char *s, uint8_t *out)
{
    static const struct {
        const char *name;
        uint8_t proto;
    } t[] = {{"any", 0},
             {"tcp", L4_PROTO_TCP},
             {"udp", L4_PROTO_UDP},
             {"icmp", L4_PROTO_ICMP},
             {"icmpv6", L4_PROTO_ICMPV6}};
    for (unsigned i = 0; s && i < ARRAY_SIZE(t); i++)
        if (!strcmp(s, t[i].name)) {
            *out = t[i].proto;
            return 0;
        }
    return -EINVAL;
}

/* "22", "8000-8080" or 22. */
static int
parse_port_range(json_t *v, struct port_range *out)
{
    if (json_is_integer(v)) {
        json_int_t n = json_integer_value(v);
        if (n < 0 || n > 65535)
            return -EINVAL;
        *out = (struct port_range){(uint16_t)n, (uint16_t)n};
        return 0;
    }
    const char *s = json_string_value(v);
    char *end;
    if (!s || *s < '0' || *s > '9')
        return -EINVAL;
    unsigned long lo = strtoul(s, &end, 10), hi = lo;
    if (*end == '-' && end[1] >= '0' && end[1] <= '9')
        hi = strtoul(end + 1, &end, 10);
    if (*end || lo > hi || hi > 65535)
        return -EINVAL;
    *out = (struct port_range){(uint16_t)lo, (uint16_t)hi};
    return 0;
}

static int
parse_icmp_field(json_t *o, const char *key, int16_t *out)
{
    json_t *v = json_object_get(o, key);
    *out = -1;
    if (!v)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 255)
        return -EINVAL;
    *out = (int16_t)json_integer_value(v);
    return 0;
}

static int
parse_entry(struct svc_entry *e, json_t *o, const char *svc, char *err, size_t err_len)
{
    static const char *const known[] = {"proto", "ports", "type", "code", NULL};
    const char *bad = json_is_object(o) ? cmd_arg_unknown(o, known) : "?";
    if (bad)
        return err_set(err, err_len, -EINVAL, "service %s: unknown field '%s'", svc, bad);
    if (parse_proto(json_string_value(json_object_get(o, "proto")), &e->proto) < 0)
        return err_set(err, err_len, -EINVAL,
                       "service %s: 'proto' is tcp, udp, icmp, icmpv6 or any", svc);
    json_t *ports = json_object_get(o, "ports"), *v;
    bool l4 = e->proto == L4_PROTO_TCP || e->proto == L4_PROTO_UDP;
    bool icmp = e->proto == L4_PROTO_ICMP || e->proto == L4_PROTO_ICMPV6;
    if ((ports && !l4) || ((json_object_get(o, "type") || json_object_get(o, "code")) && !icmp))
        return err_set(err, err_len, -EINVAL,
                       "service %s: ports are for tcp and udp, type and code for icmp", svc);
    if (parse_icmp_field(o, "type", &e->type) < 0 || parse_icmp_field(o, "code", &e->code) < 0)
        return err_set(err, err_len, -EINVAL, "service %s: ICMP type and code are 0 to 255", svc);
    if (!ports)
        return 0;
    if (!json_is_array(ports) || !json_array_size(ports))
        return err_set(err, err_len, -EINVAL, "service %s: 'ports' is a list of N or N-M", svc);
    if (!(e->ports = malloc(json_array_size(ports) * sizeof *e->ports)))
        return -ENOMEM;
    size_t i;
    json_array_foreach (ports, i, v) {
        if (parse_port_range(v, &e->ports[e->n_ports++]) < 0)
            return err_set(err, err_len, -EINVAL,
                           "service %s: '%s' is no port or range (N or N-M, 0 to 65535)", svc,
                           json_is_string(v) ? json_string_value(v) : "?");
    }
    return 0;
}

static int
parse_service(struct service *s, json_t *o, char *err, size_t err_len)
{
    static const char *const known[] = {"name", "entries", NULL};
    json_t *entries = json_object_get(o, "entries"), *e;
    const char *bad = cmd_arg_unknown(o, known);
    size_t i;
    if (bad)
        return err_set(err, err_len, -EINVAL, "service %s: unknown field '%s'", s->name, bad);
    if (!json_is_array(entries) || !json_array_size(entries))
        return err_set(err, err_len, -EINVAL, "service %s: 'entries' is a list of one or more",
                       s->name);
    if (!(s->e = calloc(json_array_size(entries), sizeof *s->e)))
        return -ENOMEM;
    json_array_foreach (entries, i, e) {
        int rc = parse_entry(&s->e[s->n++], e, s->name, err, err_len);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int
parse_services(struct dfw_policy *p, json_t *doc, char *err, size_t err_len)
{
    json_t *list, *o;
    size_t i;
    int rc = list_begin(doc, "services", DFW_MAX_GROUPS, &list, &p->snames, err, err_len);
    if (rc < 0)
        return rc;
    if (!(p->svcs = calloc(json_array_size(list) + 1, sizeof *p->svcs)))
        return -ENOMEM;
    json_array_foreach (list, i, o) {
        const char *n = elem_name(o, "service", i, 64, err, err_len);
        if (!n)
            return -EINVAL;
        struct service *s = &p->svcs[p->n_svcs];
        if (!(s->name = strdup(n)))
            return -ENOMEM;
        p->n_svcs++;
        if (!names_add(&p->snames, s->name, (uint32_t)i))
            return err_set(err, err_len, -EINVAL, "service %s: named twice", n);
        if ((rc = parse_service(s, o, err, err_len)) < 0)
            return rc;
    }
    return 0;
}

/* ---- rules ---- */

/* A rule's list of names 'key' into indexes of table 't'. */
static int
parse_refs(struct rule *r, json_t *o, const char *key, const struct names *t, const char *what,
           struct refs *out, char *err, size_t err_len)
{
    json_t *a = json_object_get(o, key), *e;
    size_t i;
    if (a && !json_is_array(a))
        return err_set(err, err_len, -EINVAL, "rule %s: '%s' is a list of %s names", r->name, key,
                       what);
    if (!json_array_size(a))
        return 0;
    if (!(out->at = malloc(json_array_size(a) * sizeof *out->at)))
        return -ENOMEM;
    json_array_foreach (a, i, e) {
        if (!json_is_string(e) || !names_get(t, json_string_value(e), &out->at[out->n]))
            return err_set(err, err_len, -EINVAL, "rule %s: %s: no %s '%s'", r->name, key, what,
                           json_is_string(e) ? json_string_value(e) : "?");
        out->n++;
    }
    return 0;
}

static int
parse_rule(struct dfw_policy *p, struct rule *r, json_t *o, char *err, size_t err_len)
{
    static const char *const known[] = {"name",   "src", "dst",       "services", "applied_to",
                                        "action", "log", "direction", NULL};
    const char *bad = cmd_arg_unknown(o, known), *dir = "inout";
    if (bad)
        return err_set(err, err_len, -EINVAL, "rule %s: unknown field '%s'", r->name, bad);
    if (parse_action(json_string_value(json_object_get(o, "action")), &r->action) < 0)
        return err_set(err, err_len, -EINVAL, "rule %s: 'action' is allow, drop or reject",
                       r->name);
    json_t *d = json_object_get(o, "direction"), *log = json_object_get(o, "log");
    if (d)
        dir = json_is_string(d) ? json_string_value(d) : "?";
    r->dir = !strcmp(dir, "in")      ? DFW_DIR_IN
             : !strcmp(dir, "out")   ? DFW_DIR_OUT
             : !strcmp(dir, "inout") ? DFW_DIR_IN | DFW_DIR_OUT
                                     : 0;
    if (!r->dir)
        return err_set(err, err_len, -EINVAL, "rule %s: 'direction' is in, out or inout", r->name);
    if (log && !json_is_boolean(log))
        return err_set(err, err_len, -EINVAL, "rule %s: 'log' is true or false", r->name);
    r->log = json_is_true(log);
    int rc;
    if ((rc = parse_refs(r, o, "src", &p->gnames, "group", &r->src, err, err_len)) < 0 ||
        (rc = parse_refs(r, o, "dst", &p->gnames, "group", &r->dst, err, err_len)) < 0 ||
        (rc = parse_refs(r, o, "applied_to", &p->gnames, "group", &r->applied, err, err_len)) < 0 ||
        (rc = parse_refs(r, o, "services", &p->snames, "service", &r->svc, err, err_len)) < 0)
        return rc;
    return 0;
}

static int
parse_rules(struct dfw_policy *p, json_t *doc, char *err, size_t err_len)
{
    json_t *list, *o;
    size_t i;
    int rc = list_begin(doc, "rules", DFW_MAX_RULES, &list, &p->rnames, err, err_len);
    if (rc < 0)
        return rc;
    size_t n = json_array_size(list);
    p->rules = calloc(n + 1, sizeof *p->rules);
    p->counts = calloc(n + 1, sizeof *p->counts);
    if (!p->rules || !p->counts)
        return -ENOMEM;
    json_array_foreach (list, i, o) {
        const char *name = elem_name(o, "rule", i, DFW_RULE_NAME_MAX, err, err_len);
        if (!name)
            return -EINVAL;
        struct rule *r = &p->rules[p->n_rules++];
        snprintf(r->name, sizeof r->name, "%s", name);
        if (!strcmp(name, "default") || !names_add(&p->rnames, r->name, (uint32_t)i))
            return err_set(err, err_len, -EINVAL, "rule %s: named twice (or 'default')", name);
        if ((rc = parse_rule(p, r, o, err, err_len)) < 0)
            return rc;
    }
    snprintf(p->rules[p->n_rules].name, sizeof p->rules[0].name, "default");
    return 0;
}

/* ---- the index ---- */

/* A growing list of rule indexes. */
struct vec {
    uint32_t *v;
    size_t n, cap;
};

static int
vec_push(struct vec *a, uint32_t x)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 64;
        uint32_t *v = realloc(a->v, cap * sizeof *v);
        if (!v)
            return -ENOMEM;
        a->v = v;
        a->cap = cap;
    }
    a->v[a->n++] = x;
    return 0;
}

/* Adds rule 'r' to a list built in rule order, once. */
static int
list_add(struct vec *a, uint32_t r)
{
    return a->n && a->v[a->n - 1] == r ? 0 : vec_push(a, r);
}

static int
class_of(uint8_t proto)
{
    switch (proto) {
    case L4_PROTO_TCP:
        return C_TCP;
    case L4_PROTO_UDP:
        return C_UDP;
    case L4_PROTO_ICMP:
        return C_ICMP;
    case L4_PROTO_ICMPV6:
        return C_ICMP6;
    default:
        return C_OTHER;
    }
}

static uint32_t
entry_ports(const struct svc_entry *e)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < e->n_ports && n <= DFW_NARROW_PORTS; i++)
        n += (uint32_t)e->ports[i].hi - e->ports[i].lo + 1;
    return e->ports ? n : UINT32_MAX;
}

/* Where rule 'ri' goes: (class << 16 | port, rule) pairs into 'pairs' for
 * narrow TCP and UDP services, the rest lists otherwise. */
static int
index_rule(const struct dfw_policy *p, uint32_t ri, struct vec *pairs, struct vec *rest)
{
    const struct rule *r = &p->rules[ri];
    int rc = 0;
    if (!r->svc.n)
        for (int c = 0; c < C__N && !rc; c++)
            rc = list_add(&rest[c], ri);
    for (uint32_t s = 0; s < r->svc.n && !rc; s++) {
        const struct service *sv = &p->svcs[r->svc.at[s]];
        for (uint32_t k = 0; k < sv->n && !rc; k++) {
            const struct svc_entry *e = &sv->e[k];
            int c = class_of(e->proto);
            if (!e->proto)
                for (int cc = 0; cc < C__N && !rc; cc++)
                    rc = list_add(&rest[cc], ri);
            else if (c > C_UDP || entry_ports(e) > DFW_NARROW_PORTS)
                rc = list_add(&rest[c], ri);
            else
                for (uint32_t q = 0; q < e->n_ports && !rc; q++)
                    for (uint32_t port = e->ports[q].lo; port <= e->ports[q].hi && !rc; port++)
                        if (!(rc = vec_push(pairs, (uint32_t)c << 16 | port)))
                            rc = vec_push(pairs, ri);
        }
    }
    return rc;
}

static int
cmp_pair(const void *a, const void *b)
{
    const uint32_t *x = a, *y = b;
    return x[0] != y[0] ? (x[0] < y[0] ? -1 : 1) : x[1] < y[1] ? -1 : x[1] > y[1];
}

/* The exact index from the sorted (key, rule) pairs. */
static int
index_exact(struct dfw_policy *p, struct vec *pairs)
{
    size_t n = pairs->n / 2, cap = 16;
    if (n) /* none: no array at all */
        qsort(pairs->v, n, 2 * sizeof(uint32_t), cmp_pair);
    while (cap < 2 * n)
        cap *= 2;
    p->x = malloc(cap * sizeof *p->x);
    p->xrules = malloc((n + 1) * sizeof *p->xrules);
    if (!p->x || !p->xrules)
        return -ENOMEM;
    memset(p->x, 0xff, cap * sizeof *p->x);
    p->xmask = (uint32_t)cap - 1;
    uint32_t out = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t key = pairs->v[2 * i], r = pairs->v[2 * i + 1];
        if (i && key == pairs->v[2 * i - 2] && r == pairs->v[2 * i - 1])
            continue; /* the same rule twice for the port */
        uint32_t h = (key * 2654435761u) & p->xmask;
        while (p->x[h].key != UINT32_MAX && p->x[h].key != key)
            h = (h + 1) & p->xmask;
        if (p->x[h].key == UINT32_MAX)
            p->x[h] = (struct xslot){.key = key, .off = out, .n = 0};
        p->xrules[out++] = r;
        p->x[h].n++;
    }
    return 0;
}

static int
build_index(struct dfw_policy *p)
{
    struct vec pairs = {0}, rest[C__N] = {0};
    int rc = 0;
    for (uint32_t r = 0; r < p->n_rules && !rc; r++)
        rc = index_rule(p, r, &pairs, rest);
    if (!rc)
        rc = index_exact(p, &pairs);
    free(pairs.v);
    for (int c = 0; c < C__N; c++)
        p->rest[c] = (struct refs){rest[c].v, (uint32_t)rest[c].n};
    return rc;
}

/* ---- the policy ---- */

/* "timeouts": {"tcp_established_s", "udp_s", "udp_reply_s", "icmp_s"}, each
 * 1 s to 30 days; absent: conntrack.h's defaults. */
static int
parse_timeouts(struct dfw_policy *p, json_t *t, char *err, size_t err_len)
{
    static const char *const known[] = {"tcp_established_s", "udp_s", "udp_reply_s", "icmp_s",
                                        NULL};
    uint32_t *to[] = {&p->ct.tcp_est_ms, &p->ct.udp_ms, &p->ct.udp_reply_ms, &p->ct.icmp_ms};
    const char *bad = t && json_is_object(t) ? cmd_arg_unknown(t, known) : t ? "?" : NULL;
    if (bad)
        return err_set(err, err_len, -EINVAL, "timeouts: unknown field '%s' (%s, %s, %s, %s)", bad,
                       known[0], known[1], known[2], known[3]);
    for (size_t i = 0; t && known[i]; i++) {
        json_t *v = json_object_get(t, known[i]);
        if (!v)
            continue;
        if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 30 * 86400)
            return err_set(err, err_len, -EINVAL, "timeouts: %s is 1 to 2592000 seconds", known[i]);
        *to[i] = (uint32_t)json_integer_value(v) * 1000;
    }
    return 0;
}

static int
parse_defaults(struct dfw_policy *p, json_t *doc, char *err, size_t err_len)
{
    json_t *d = json_object_get(doc, "default"), *pgd = json_object_get(doc, "portgroup_defaults");
    json_t *cm = json_object_get(doc, "conn_max"), *v;
    const char *name;
    p->def = DFW_ALLOW;
    if (d && parse_action(json_string_value(d), &p->def) < 0)
        return err_set(err, err_len, -EINVAL, "'default' is allow, drop or reject");
    if (pgd && (!json_is_object(pgd) || json_object_size(pgd) > 64))
        return err_set(err, err_len, -EINVAL, "'portgroup_defaults' is {portgroup: action}");
    if (!(p->pgdefs = calloc(json_object_size(pgd) + 1, sizeof *p->pgdefs)))
        return -ENOMEM;
    json_object_foreach (pgd, name, v) {
        struct pgdef *e = &p->pgdefs[p->n_pgdefs++];
        if (!(e->name = strdup(name)))
            return -ENOMEM;
        if (parse_action(json_string_value(v), &e->action) < 0)
            return err_set(err, err_len, -EINVAL,
                           "portgroup_defaults: %s: the action is allow, drop or reject", name);
    }
    p->ct.max_conns = CT_DEFAULT_MAX;
    if (cm && (!json_is_integer(cm) || json_integer_value(cm) < 1 ||
               json_integer_value(cm) > DFW_MAX_CONNS))
        return err_set(err, err_len, -EINVAL, "'conn_max' is 1 to %u", DFW_MAX_CONNS);
    if (cm)
        p->ct.max_conns = (size_t)json_integer_value(cm);
    json_t *lib = json_object_get(doc, "tcp_liberal");
    if (lib && !json_is_boolean(lib))
        return err_set(err, err_len, -EINVAL, "'tcp_liberal' is true or false");
    p->ct.tcp_liberal = json_is_true(lib);
    return parse_timeouts(p, json_object_get(doc, "timeouts"), err, err_len);
}

int
dfw_policy_compile(json_t *doc, struct dfw_policy **out, char *err, size_t err_len)
{
    static const char *const known[] = {
        "default", "portgroup_defaults", "conn_max", "timeouts", "tcp_liberal",
        "groups",  "services",           "rules",    NULL};
    *out = NULL;
    if (!json_is_object(doc))
        return err_set(err, err_len, -EINVAL, "the policy is an object (docs/dfw.md)");
    const char *bad = cmd_arg_unknown(doc, known);
    if (bad)
        return err_set(err, err_len, -EINVAL, "policy: unknown field '%s'", bad);
    struct dfw_policy *p = calloc(1, sizeof *p);
    if (!p)
        return -ENOMEM;
    int rc;
    if ((rc = parse_defaults(p, doc, err, err_len)) < 0 ||
        (rc = parse_groups(p, doc, err, err_len)) < 0 ||
        (rc = parse_services(p, doc, err, err_len)) < 0 ||
        (rc = parse_rules(p, doc, err, err_len)) < 0 || (rc = build_index(p)) < 0) {
        if (rc == -ENOMEM)
            err_set(err, err_len, rc, "policy: out of memory");
        dfw_policy_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

static void
refs_free(struct refs *r)
{
    free(r->at);
}

void
dfw_policy_free(struct dfw_policy *p)
{
    if (!p)
        return;
    for (uint32_t i = 0; i < p->n_groups; i++) {
        free(p->groups[i].name);
        free(p->groups[i].macs);
        free(p->groups[i].ranges[0]);
        free(p->groups[i].ranges[1]);
    }
    for (uint32_t i = 0; i < p->n_svcs; i++) {
        for (uint32_t k = 0; k < p->svcs[i].n; k++)
            free(p->svcs[i].e[k].ports);
        free(p->svcs[i].e);
        free(p->svcs[i].name);
    }
    for (uint32_t i = 0; p->rules && i < p->n_rules; i++) {
        refs_free(&p->rules[i].src);
        refs_free(&p->rules[i].dst);
        refs_free(&p->rules[i].svc);
        refs_free(&p->rules[i].applied);
    }
    for (uint32_t i = 0; i < p->n_pgdefs; i++)
        free(p->pgdefs[i].name);
    for (int c = 0; c < C__N; c++)
        refs_free(&p->rest[c]);
    names_free(&p->gnames);
    names_free(&p->snames);
    names_free(&p->rnames);
    free(p->groups);
    free(p->svcs);
    free(p->rules);
    free(p->counts);
    free(p->pgdefs);
    free(p->x);
    free(p->xrules);
    free(p);
}

enum dfw_action
dfw_policy_default(const struct dfw_policy *p, const char *pg)
{
    for (uint32_t i = 0; pg && i < p->n_pgdefs; i++)
        if (!strcmp(p->pgdefs[i].name, pg))
            return (enum dfw_action)p->pgdefs[i].action;
    return (enum dfw_action)p->def;
}

const struct ct_params *
dfw_policy_ct(const struct dfw_policy *p)
{
    return &p->ct;
}

size_t
dfw_policy_rules(const struct dfw_policy *p)
{
    return p->n_rules;
}

/* ---- classifying ---- */

static bool
in_group(const struct group *g, const uint8_t *mac, const struct l4_key *k, int end)
{
    uint64_t m = mac_u64(mac);
    for (uint32_t lo = 0, hi = g->n_macs; lo < hi;) {
        uint32_t mid = (lo + hi) / 2;
        if (g->macs[mid] == m)
            return true;
        if (g->macs[mid] < m)
            lo = mid + 1;
        else
            hi = mid;
    }
    int f = k->family == 6;
    u128 v = addr_value(end ? k->dst : k->src, f);
    const struct range *r = g->ranges[f];
    uint32_t lo = 0, hi = g->n_ranges[f];
    while (lo < hi) { /* the first range that ends at or after v */
        uint32_t mid = (lo + hi) / 2;
        if (r[mid].hi < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < g->n_ranges[f] && r[lo].lo <= v;
}

/* Whether end 'end' (0 source, 1 destination) of 'm' is in one of 'r'. */
static bool
in_refs(const struct dfw_policy *p, const struct refs *r, const struct dfw_match *m, int end)
{
    for (uint32_t i = 0; i < r->n; i++)
        if (in_group(&p->groups[r->at[i]], end ? m->dmac : m->smac, m->key, end))
            return true;
    return false;
}

static bool
entry_matches(const struct svc_entry *e, const struct dfw_match *m)
{
    if (e->proto && e->proto != m->key->proto)
        return false;
    if (e->ports) {
        for (uint32_t i = 0; i < e->n_ports; i++)
            if (m->key->dport >= e->ports[i].lo && m->key->dport <= e->ports[i].hi)
                return true;
        return false;
    }
    return (e->type < 0 || e->type == m->icmp_type) && (e->code < 0 || e->code == m->icmp_code);
}

static bool
rule_matches(const struct dfw_policy *p, const struct rule *r, const struct dfw_match *m)
{
    if (r->applied.n && !(((r->dir & DFW_DIR_OUT) && in_refs(p, &r->applied, m, 0)) ||
                          ((r->dir & DFW_DIR_IN) && in_refs(p, &r->applied, m, 1))))
        return false;
    if ((r->src.n && !in_refs(p, &r->src, m, 0)) || (r->dst.n && !in_refs(p, &r->dst, m, 1)))
        return false;
    if (!r->svc.n)
        return true;
    for (uint32_t s = 0; s < r->svc.n; s++) {
        const struct service *sv = &p->svcs[r->svc.at[s]];
        for (uint32_t k = 0; k < sv->n; k++)
            if (entry_matches(&sv->e[k], m))
                return true;
    }
    return false;
}

uint32_t
dfw_classify(const struct dfw_policy *p, const struct dfw_match *m)
{
    int c = class_of(m->key->proto);
    const uint32_t *a = NULL, *b = p->rest[c].at;
    uint32_t na = 0, nb = p->rest[c].n, i = 0, j = 0;
    if (c <= C_UDP) {
        uint32_t key = (uint32_t)c << 16 | m->key->dport, h = (key * 2654435761u) & p->xmask;
        while (p->x[h].key != UINT32_MAX && p->x[h].key != key)
            h = (h + 1) & p->xmask;
        if (p->x[h].key == key) {
            a = p->xrules + p->x[h].off;
            na = p->x[h].n;
        }
    }
    while (i < na || j < nb) {
        uint32_t r = j >= nb || (i < na && a[i] < b[j]) ? a[i++] : b[j++];
        if (rule_matches(p, &p->rules[r], m))
            return r;
    }
    return p->n_rules;
}

/* ---- rules and counters ---- */

const char *
dfw_rule_name(const struct dfw_policy *p, uint32_t i)
{
    return i <= p->n_rules ? p->rules[i].name : "?";
}

enum dfw_action
dfw_rule_action(const struct dfw_policy *p, uint32_t i)
{
    return i < p->n_rules ? (enum dfw_action)p->rules[i].action : (enum dfw_action)p->def;
}

bool
dfw_rule_log(const struct dfw_policy *p, uint32_t i)
{
    return i < p->n_rules && p->rules[i].log;
}

void
dfw_rule_counts(const struct dfw_policy *p, uint32_t i, struct dfw_counts *out)
{
    const struct dfw_counts *c = &p->counts[i <= p->n_rules ? i : p->n_rules];
    out->packets = __atomic_load_n(&c->packets, __ATOMIC_RELAXED);
    out->bytes = __atomic_load_n(&c->bytes, __ATOMIC_RELAXED);
    out->sessions = __atomic_load_n(&c->sessions, __ATOMIC_RELAXED);
}

void
dfw_rule_count(const struct dfw_policy *p, uint32_t i, uint64_t packets, uint64_t bytes,
               uint64_t sessions)
{
    struct dfw_counts *c = &p->counts[i <= p->n_rules ? i : p->n_rules];
    __atomic_fetch_add(&c->packets, packets, __ATOMIC_RELAXED);
    __atomic_fetch_add(&c->bytes, bytes, __ATOMIC_RELAXED);
    if (sessions)
        __atomic_fetch_add(&c->sessions, sessions, __ATOMIC_RELAXED);
}

void
dfw_counts_carry(struct dfw_policy *to, const struct dfw_policy *from)
{
    for (uint32_t i = 0; i <= from->n_rules; i++) {
        uint32_t k = to->n_rules;
        if (i < from->n_rules && !names_get(&to->rnames, from->rules[i].name, &k))
            continue;
        dfw_rule_counts(from, i, &to->counts[k]);
    }
}

uint32_t
dfw_rule_find(const struct dfw_policy *p, const char *name)
{
    uint32_t i;
    if (!strcmp(name, "default"))
        return p->n_rules;
    return names_get(&p->rnames, name, &i) ? i : UINT32_MAX;
}
