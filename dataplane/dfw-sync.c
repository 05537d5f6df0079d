/* SPDX-License-Identifier: Apache-2.0 */
/* dfw-sync: the connection table carried to a standby DPU (dfw-sync.h). */
#include "dataplane/dfw-sync.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/dfw.h"
#include "lib/base64.h"
#include "lib/cmdtab.h"
#include "lib/util.h"

#define RECORD_VERSION 1
#define RECORD_MAX DFW_SYNC_RECORD6
#define FIXED 58 /* the record up to its addresses */

_Static_assert(FIXED + 8 == DFW_SYNC_RECORD4 && FIXED + 32 == DFW_SYNC_RECORD6, "record sizes");

/* ---- the record ---- */

static void
le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void
le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t
get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t
get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Packs 'c' with rule place 'rule' and 'left_ms' to live into 'p'.
 * Returns its length. */
static size_t
record_pack(const struct ct_conn *c, uint32_t rule, uint32_t left_ms, uint8_t p[RECORD_MAX])
{
    size_t alen = c->key.family == 4 ? 4 : 16;
    p[0] = RECORD_VERSION;
    p[1] = c->key.family;
    p[2] = c->key.proto;
    p[3] = (uint8_t)c->tcp;
    p[4] = (uint8_t)(c->replied | c->dir[0].fin << 1 | c->dir[1].fin << 2);
    p[5] = (uint8_t)c->dir[0].wscale;
    p[6] = (uint8_t)c->dir[1].wscale;
    p[7] = 0;
    le16(p + 8, c->key.zone);
    le16(p + 10, c->key.sport);
    le16(p + 12, c->key.dport);
    le32(p + 14, rule);
    le32(p + 18, left_ms);
    memcpy(p + 22, c->mac[0], 6);
    memcpy(p + 28, c->mac[1], 6);
    for (int d = 0; d < 2; d++) {
        le32(p + 34 + 12 * d, c->dir[d].end);
        le32(p + 38 + 12 * d, c->dir[d].maxend);
        le32(p + 42 + 12 * d, c->dir[d].maxwin);
    }
    memcpy(p + FIXED, c->key.src, alen);
    memcpy(p + FIXED + alen, c->key.dst, alen);
    return FIXED + 2 * alen;
}

/* Unpacks record 'p' of 'len' bytes into '*c' (its rule: the place in
 * "rules", in '*rule'; its expiry: 'left_ms' into '*left').  Returns false
 * when it is no record. */
static bool
record_unpack(const uint8_t *p, size_t len, struct ct_conn *c, uint32_t *rule, uint32_t *left)
{
    if (len < FIXED || p[0] != RECORD_VERSION || p[7] || p[4] > 7)
        return false;
    size_t alen = p[1] == 4 ? 4 : p[1] == 6 ? 16 : 0;
    if (!alen || len != FIXED + 2 * alen || get16(p + 8) >= DFW_MAX_VLANS)
        return false;
    *c = (struct ct_conn){.key = {.family = p[1], .proto = p[2]}};
    c->tcp = (enum ct_tcp_state)p[3];
    c->replied = p[4] & 1;
    c->dir[0].fin = p[4] & 2;
    c->dir[1].fin = p[4] & 4;
    c->dir[0].wscale = (int8_t)p[5];
    c->dir[1].wscale = (int8_t)p[6];
    c->key.zone = get16(p + 8);
    c->key.sport = get16(p + 10);
    c->key.dport = get16(p + 12);
    *rule = get32(p + 14);
    *left = get32(p + 18);
    memcpy(c->mac[0], p + 22, 6);
    memcpy(c->mac[1], p + 28, 6);
    for (int d = 0; d < 2; d++) {
        c->dir[d].end = get32(p + 34 + 12 * d);
        c->dir[d].maxend = get32(p + 38 + 12 * d);
        c->dir[d].maxwin = get32(p + 42 + 12 * d);
    }
    memcpy(c->key.src, p + FIXED, alen);
    memcpy(c->key.dst, p + FIXED + alen, alen);
    return *left > 0;
}

void
dfw_sync_table_id(const struct dfw *fw, char buf[17])
{
    snprintf(buf, 17, "%016" PRIx64, ct_id(fw->ct));
}

/* ---- export ---- */

/* Where a walk is: from a cursor, or from the start. */
struct walk {
    uint64_t since, snap;
    uint32_t pos;
    bool full;
};

/* The walk cursor 'cur' goes on with in 'fw''s table.  Returns 0, or
 * -EINVAL for what is no cursor. */
static int
walk_of(const struct dfw *fw, const char *cur, struct walk *w, char *err, size_t err_len)
{
    uint64_t id = 0, a = 0, b = 0, seq = ct_seq(fw->ct);
    uint32_t pos = 0;
    int n = 0, k = 0;
    *w = (struct walk){.snap = seq, .full = true};
    if (!cur || !*cur)
        return 0;
    if (sscanf(cur, "%16" SCNx64 ":%" SCNu64 "%n:%" SCNu64 ":%" SCNu32 "%n", &id, &a, &n, &b, &pos,
               &k) >= 2 &&
        (cur[n] == '\0' || (k && cur[k] == '\0')) && cur[0] != '-') {
        bool walking = cur[n] != '\0';
        if (id != ct_id(fw->ct)) /* another table's: all of this one */
            return 0;
        if (!walking && a <= seq)
            *w = (struct walk){.since = a, .snap = seq};
        else if (walking && a <= b && b <= seq && pos <= ct_buckets(fw->ct))
            *w = (struct walk){.since = a, .snap = b, .pos = pos};
        return 0;
    }
    return err_set(err, err_len, -EINVAL, "'%.40s' is no cursor of dfw.conn.export", cur);
}

struct page {
    struct ct_conn *c;
    size_t n, cap;
    bool oom;
    const uint8_t *mac; /* only the connections to or from it (NULL: all) */
};

/* ct_export(): a copy, packed once the bucket is unlocked. */
static void
page_add(const struct ct_conn *c, void *aux)
{
    struct page *pg = aux;
    if (pg->mac && memcmp(c->mac[0], pg->mac, 6) && memcmp(c->mac[1], pg->mac, 6))
        return;
    if (pg->n == pg->cap) { /* a chain longer than the slack: rare */
        struct ct_conn *more = realloc(pg->c, 2 * pg->cap * sizeof *more);
        if (!more) {
            pg->oom = true;
            return;
        }
        pg->c = more;
        pg->cap *= 2;
    }
    pg->c[pg->n++] = *c;
}

/* The page's records, their rules named once each in 'rules'. */
static int
page_json(const struct dfw *fw, const struct page *pg, uint64_t now_ms, json_t *rules,
          json_t *conns)
{
    uint32_t n_rules = (uint32_t)dfw_policy_rules(fw->pol) + 1;
    uint32_t *place = calloc(n_rules, sizeof *place); /* rule -> its place + 1 */
    if (!place)
        return -ENOMEM;
    for (size_t i = 0; i < pg->n; i++) {
        const struct ct_conn *c = &pg->c[i];
        uint32_t r = c->rule < n_rules ? c->rule : n_rules - 1;
        if (!place[r]) {
            json_array_append_new(rules, json_string(dfw_rule_name(fw->pol, r)));
            place[r] = (uint32_t)json_array_size(rules);
        }
        uint64_t left = c->expires_ms - now_ms;
        uint8_t rec[RECORD_MAX];
        char text[128];
        size_t len =
            record_pack(c, place[r] - 1, left > UINT32_MAX ? UINT32_MAX : (uint32_t)left, rec);
        base64_encode(rec, len, text);
        json_array_append_new(conns, json_string_nocheck(text));
    }
    free(place);
    return 0;
}

int
dfw_sync_export(struct dfw *fw, const char *cursor, size_t max, uint64_t now_ms, json_t **out,
                char *err, size_t err_len)
{
    return dfw_sync_export_mac(fw, cursor, max, NULL, now_ms, out, err, err_len);
}

int
dfw_sync_export_mac(struct dfw *fw, const char *cursor, size_t max, const uint8_t *mac,
                    uint64_t now_ms, json_t **out, char *err, size_t err_len)
{
    struct walk w;
    int rc = walk_of(fw, cursor, &w, err, err_len);
    if (rc < 0)
        return rc;
    struct page pg = {.cap = max + 64, .mac = mac};
    if (!(pg.c = malloc(pg.cap * sizeof *pg.c)))
        return -ENOMEM;
    bool done = ct_export(fw->ct, w.since, now_ms, &w.pos, max, page_add, &pg);
    json_t *rules = json_array(), *conns = json_array();
    rc = pg.oom ? -ENOMEM : page_json(fw, &pg, now_ms, rules, conns);
    free(pg.c);
    char cur[DFW_SYNC_CURSOR_LEN], id[17];
    dfw_sync_table_id(fw, id);
    if (done)
        snprintf(cur, sizeof cur, "%s:%" PRIu64, id, w.snap);
    else
        snprintf(cur, sizeof cur, "%s:%" PRIu64 ":%" PRIu64 ":%" PRIu32, id, w.since, w.snap,
                 w.pos);
    *out = rc < 0 ? NULL
                  : json_pack("{s:s,s:b,s:b,s:s,s:o,s:o}", "cursor", cur, "full", w.full, "more",
                              !done, "table", id, "rules", rules, "conns", conns);
    if (rc < 0) {
        json_decref(rules);
        json_decref(conns);
    }
    return rc < 0 ? rc : *out ? 0 : -ENOMEM;
}

/* ---- import ---- */

/* The policy's rule for each name of 'names' (DFW_NO_RULE: none), into a
 * new array, or NULL on ENOMEM. */
static uint32_t *
rules_map(const struct dfw *fw, json_t *names)
{
    size_t n = json_array_size(names);
    uint32_t *m = malloc((n ? n : 1) * sizeof *m);
    for (size_t i = 0; m && i < n; i++) {
        const char *s = json_string_value(json_array_get(names, i));
        m[i] = s ? dfw_rule_find(fw->pol, s) : DFW_NO_RULE;
    }
    return m;
}

/* Imports record 'rec' (a JSON string, base64), its rule mapped by 'map'
 * of 'n_map'; counts what becomes of it. */
static void
import_one(struct dfw *fw, json_t *rec, const uint32_t *map, size_t n_map, uint64_t now_ms,
           struct dfw_sync_counts *n)
{
    uint8_t buf[RECORD_MAX];
    size_t len = 0, tlen = json_string_length(rec);
    struct ct_conn c;
    uint32_t place, left;
    if (!json_is_string(rec) || base64_decoded_max(tlen) > sizeof buf ||
        !base64_decode(json_string_value(rec), tlen, buf, &len) ||
        !record_unpack(buf, len, &c, &place, &left) || place >= n_map) {
        n->malformed++;
        return;
    }
    uint32_t ri = map[place];
    if (ri == DFW_NO_RULE) {
        n->no_rule++;
        return;
    }
    enum dfw_action a = ri < dfw_policy_rules(fw->pol)
                            ? dfw_rule_action(fw->pol, ri)
                            : (enum dfw_action)fw->zone_default[c.key.zone % DFW_MAX_VLANS];
    if (a != DFW_ALLOW) {
        n->not_allowed++;
        return;
    }
    c.rule = ri;
    c.expires_ms = now_ms + left;
    int rc = ct_import(fw->ct, &c, now_ms);
    if (rc == 0)
        n->imported++;
    else if (rc == -ENOSPC)
        n->table_full++;
    else
        n->malformed++;
}

/* Checks request 'args'.  Returns 0, or -EINVAL with one line. */
static int
import_args(json_t *args, char *err, size_t err_len)
{
    static const char *const known[] = {"rules", "conns", "flush", "table", NULL};
    const char *bad = cmd_arg_unknown(args, known);
    json_t *fl = json_object_get(args, "flush"), *tb = json_object_get(args, "table");
    if (bad)
        return err_set(err, err_len, -EINVAL, "dfw.conn.import: unknown field '%s'", bad);
    if (!json_is_array(json_object_get(args, "rules")) ||
        !json_is_array(json_object_get(args, "conns")))
        return err_set(err, err_len, -EINVAL,
                       "dfw.conn.import wants {rules: [names], conns: [records]}");
    if (json_array_size(json_object_get(args, "rules")) > (size_t)DFW_MAX_RULES + 1)
        return err_set(err, err_len, -EINVAL, "dfw.conn.import: more rules than a policy has");
    if ((fl && !json_is_boolean(fl)) || (tb && !json_is_string(tb)))
        return err_set(err, err_len, -EINVAL,
                       "dfw.conn.import: 'flush' is a boolean, 'table' a string");
    return 0;
}

int
dfw_sync_import(struct dfw *fw, json_t *args, uint64_t now_ms, struct dfw_sync_counts *n,
                json_t **out, char *err, size_t err_len)
{
    int rc = import_args(args, err, err_len);
    if (rc < 0)
        return rc;
    char id[17];
    dfw_sync_table_id(fw, id);
    const char *want = json_string_value(json_object_get(args, "table"));
    if (want && strcmp(want, id)) {
        *out = json_pack("{s:i,s:b,s:s,s:I}", "imported", 0, "stale", 1, "table", id, "conns",
                         (json_int_t)ct_count(fw->ct));
        return *out ? 0 : -ENOMEM;
    }
    json_t *rules = json_object_get(args, "rules"), *conns = json_object_get(args, "conns");
    uint32_t *map = rules_map(fw, rules);
    if (!map)
        return -ENOMEM;
    if (json_is_true(json_object_get(args, "flush")))
        ct_flush(fw->ct);
    struct dfw_sync_counts was = *n;
    size_t i;
    json_t *rec;
    json_array_foreach (conns, i, rec)
        import_one(fw, rec, map, json_array_size(rules), now_ms, n);
    free(map);
    *out = json_pack("{s:I,s:{s:I,s:I,s:I,s:I},s:b,s:s,s:I}", "imported",
                     (json_int_t)(n->imported - was.imported), "skipped", "malformed",
                     (json_int_t)(n->malformed - was.malformed), "no_rule",
                     (json_int_t)(n->no_rule - was.no_rule), "not_allowed",
                     (json_int_t)(n->not_allowed - was.not_allowed), "table_full",
                     (json_int_t)(n->table_full - was.table_full), "stale", 0, "table", id, "conns",
                     (json_int_t)ct_count(fw->ct));
    return *out ? 0 : -ENOMEM;
}
