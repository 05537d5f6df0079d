/* SPDX-License-Identifier: Apache-2.0 */
/* inventory: the kinds, their fields, the tree and the rules (inventory.h). */
#include "manager/inventory.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cmdtab.h"
#include "lib/util.h"
#include "monitor/alarm.h"

enum field_type {
    F_TEXT,
    F_REF,
    F_INT,
    F_BOOL,
    F_IPV4,
    F_MAC,
    F_DPU_RULE,
    F_TEAMING,
    F_ENUM,  /* one of 'choices' */
    F_REFS,  /* a list of names of existing objects of kind 'ref' */
    F_NAMES, /* a list of names of kind 'ref', which need not exist */
    F_TAGS,  /* a list of tags (name_is_valid()) */
    F_CIDRS, /* a list of IPv4 or IPv6 prefixes, no host bits set */
    F_MACS,  /* a list of unicast MACs */
    F_SERVICE_ENTRIES,
};

struct field {
    const char *name;
    enum field_type type;
    bool required;
    int64_t min, max;           /* F_INT */
    enum inv_kind ref;          /* F_REF, F_REFS, F_NAMES: the kind it names */
    const char *const *choices; /* F_ENUM: NULL-terminated */
};

/* The longest list a field holds. */
#define LIST_MAX 4096

struct inv_kind_def {
    const char *name;
    unsigned segments;          /* of a name: 2 when the parent is in the key */
    int key_parent;             /* the kind of the first segment, or -1 */
    const char *parent_field;   /* the F_REF field naming the parent, or NULL */
    const struct field *fields; /* ends with a NULL name */
    /* Checks the whole value instead of 'fields' (NULL: the fields do). */
    int (*check)(json_t *obj, char *err, size_t err_len);
};

#define TEXT(n)                                                                                    \
    {                                                                                              \
        .name = (n), .type = F_TEXT                                                                \
    }
#define MTU                                                                                        \
    {                                                                                              \
        .name = "mtu", .type = F_INT, .min = 68, .max = 9000                                       \
    }
static const char *const dfw_actions[] = {"allow", "drop", "reject", NULL};
static const char *const dfw_directions[] = {"in", "out", "inout", NULL};
#define ORDER                                                                                      \
    {                                                                                              \
        .name = "order", .type = F_INT, .min = 0, .max = INT32_MAX                                 \
    }
static const struct field dc_fields[] = {TEXT("description"), {0}};
static const struct field cluster_fields[] = {
    {.name = "datacenter", .type = F_REF, .required = true, .ref = INV_DATACENTER},
    {.name = "dpu_rule", .type = F_DPU_RULE},
    TEXT("description"),
    {0}};
static const struct field host_fields[] = {
    {.name = "cluster", .type = F_REF, .required = true, .ref = INV_CLUSTER},
    {.name = "address", .type = F_IPV4},
    TEXT("cn"),
    TEXT("description"),
    {0}};
static const struct field dpu_fields[] = {
    TEXT("vendor"), TEXT("model"), TEXT("firmware"), TEXT("serial"), {0}};
static const struct field switch_fields[] = {
    {.name = "datacenter", .type = F_REF, .required = true, .ref = INV_DATACENTER},
    MTU,
    {.name = "teaming", .type = F_TEAMING},
    {.name = "dfw_default", .type = F_ENUM, .choices = dfw_actions},
    TEXT("description"),
    {0}};
static const struct field pg_fields[] = {
    {.name = "vlan", .type = F_INT, .required = true, .min = 0, .max = 4094},
    MTU,
    TEXT("description"),
    {0}};
static const struct field vm_fields[] = {
    {.name = "host", .type = F_REF, .required = true, .ref = INV_HOST},
    {.name = "tags", .type = F_TAGS},
    TEXT("description"),
    {0}};
static const struct field vnic_fields[] = {
    {.name = "mac", .type = F_MAC, .required = true},
    {.name = "portgroup", .type = F_REF, .required = true, .ref = INV_PORTGROUP},
    {0}};

static const struct field dfwgroup_fields[] = {
    {.name = "vms", .type = F_NAMES, .ref = INV_VM},
    {.name = "tags", .type = F_TAGS},
    {.name = "portgroups", .type = F_NAMES, .ref = INV_PORTGROUP},
    {.name = "cidrs", .type = F_CIDRS},
    {.name = "macs", .type = F_MACS},
    TEXT("description"),
    {0}};
static const struct field dfwsection_fields[] = {ORDER, TEXT("description"), {0}};
static const struct field dfwrule_fields[] = {
    ORDER,
    {.name = "src", .type = F_REFS, .ref = INV_DFWGROUP},
    {.name = "dst", .type = F_REFS, .ref = INV_DFWGROUP},
    {.name = "services", .type = F_REFS, .ref = INV_DFWSERVICE},
    {.name = "applied_to", .type = F_REFS, .ref = INV_DFWGROUP},
    {.name = "action", .type = F_ENUM, .required = true, .choices = dfw_actions},
    {.name = "direction", .type = F_ENUM, .choices = dfw_directions},
    {.name = "log", .type = F_BOOL},
    TEXT("description"),
    {0}};
static const struct field dfwservice_fields[] = {
    {.name = "entries", .type = F_SERVICE_ENTRIES, .required = true}, TEXT("description"), {0}};

static const struct field no_fields[] = {{0}};

/* An alarm definition (monitor/alarm.h) without its name: the object's. */
static int
check_alarmdef(json_t *obj, char *err, size_t err_len)
{
    char why[ERR_LEN];
    json_t *def = json_deep_copy(obj);
    if (!def)
        return err_set(err, err_len, -ENOMEM, "out of memory");
    int rc = json_object_get(def, "name")
                 ? err_set(why, sizeof why, -EINVAL, "name: the object's, not a field")
             : json_object_set_new(def, "name", json_string("x")) == 0 &&
                     alarm_def_check(def, why, sizeof why)
                 ? 0
                 : -EINVAL;
    json_decref(def);
    return rc < 0 ? err_set(err, err_len, rc, "alarmdef: %s", why) : 0;
}

static const struct inv_kind_def kinds[INV__N] = {
    [INV_DATACENTER] = {"datacenter", 1, -1, NULL, dc_fields},
    [INV_CLUSTER] = {"cluster", 1, -1, "datacenter", cluster_fields},
    [INV_HOST] = {"host", 1, -1, "cluster", host_fields},
    [INV_DPU] = {"dpu", 2, INV_HOST, NULL, dpu_fields},
    [INV_SWITCH] = {"switch", 1, -1, "datacenter", switch_fields},
    [INV_PORTGROUP] = {"portgroup", 2, INV_SWITCH, NULL, pg_fields},
    [INV_VM] = {"vm", 1, -1, "host", vm_fields},
    [INV_VNIC] = {"vnic", 2, INV_VM, NULL, vnic_fields},
    [INV_ALARMDEF] = {"alarmdef", 1, -1, NULL, no_fields, check_alarmdef},
    [INV_DFWGROUP] = {"dfwgroup", 1, -1, NULL, dfwgroup_fields},
    [INV_DFWSERVICE] = {"dfwservice", 1, -1, NULL, dfwservice_fields},
    [INV_DFWSECTION] = {"dfwsection", 1, -1, NULL, dfwsection_fields},
    [INV_DFWRULE] = {"dfwrule", 2, INV_DFWSECTION, NULL, dfwrule_fields},
};

int
inv_kind_parse(const char *name, enum inv_kind *out)
{
    for (int k = 0; k < INV__N; k++)
        if (name && !strcmp(name, kinds[k].name)) {
            *out = (enum inv_kind)k;
            return 0;
        }
    return -EINVAL;
}

const char *
inv_kind_name(enum inv_kind k)
{
    return (unsigned)k < INV__N ? kinds[k].name : "?";
}

int
inv_key(enum inv_kind k, const char *name, char *key, size_t len, char *err, size_t err_len)
{
    const struct inv_kind_def *d = &kinds[k];
    const char *slash = name ? strchr(name, '/') : NULL;
    char a[INV_NAME_MAX + 1] = "", b[INV_NAME_MAX + 1] = "";
    bool ok = name && (d->segments == 2) == (slash != NULL);
    if (ok && slash) {
        ok = slash - name <= INV_NAME_MAX && strlen(slash + 1) <= INV_NAME_MAX;
        if (ok) {
            snprintf(a, sizeof a, "%.*s", (int)(slash - name), name);
            snprintf(b, sizeof b, "%s", slash + 1);
        }
        ok = ok && name_is_valid(a, INV_NAME_MAX) && name_is_valid(b, INV_NAME_MAX);
    } else if (ok) {
        ok = name_is_valid(name, INV_NAME_MAX);
    }
    if (ok && k == INV_DFWRULE && strlen(name) > INV_DFWRULE_NAME_MAX)
        return err_set(err, err_len, -EINVAL,
                       "dfwrule: a name is SECTION/RULE, %d characters at most",
                       INV_DFWRULE_NAME_MAX);
    if (!ok)
        return err_set(err, err_len, -EINVAL, "%s: a name is %s of letters, digits, '.-_'", d->name,
                       d->segments == 2 ? "PARENT/NAME, each" : "1 to 64 characters");
    snprintf(key, len, "%s%s/%s", STORE_KEY_PREFIX, d->name, name);
    return 0;
}

/* ---- values ---- */

static int
check_dpu_rule(json_t *v, char *err, size_t err_len)
{
    const char *k;
    json_t *x;
    if (!json_is_object(v))
        return err_set(err, err_len, -EINVAL, "dpu_rule: an object");
    json_object_foreach (v, k, x) {
        if (strcmp(k, "vendor") && strcmp(k, "model") && strcmp(k, "firmware"))
            return err_set(err, err_len, -EINVAL, "dpu_rule: %s: not vendor, model or firmware", k);
        if (!json_is_string(x))
            return err_set(err, err_len, -EINVAL, "dpu_rule: %s: a string", k);
    }
    return 0;
}

/* {"failback": bool, "order": [UPLINK]}: the uplinks' teaming (4 at most,
 * each named once). */
static int
check_teaming(json_t *v, char *err, size_t err_len)
{
    const char *k;
    json_t *x, *order = json_object_get(v, "order");
    size_t i, j;
    if (!json_is_object(v))
        return err_set(err, err_len, -EINVAL, "{\"failback\": true|false, \"order\": [UPLINK]}");
    static const char *const known[] = {"failback", "order", NULL};
    if ((k = cmd_arg_unknown(v, known)))
        return err_set(err, err_len, -EINVAL, "%s: not failback or order", k);
    if (json_object_get(v, "failback") && !json_is_boolean(json_object_get(v, "failback")))
        return err_set(err, err_len, -EINVAL, "failback: true or false");
    if (order && (!json_is_array(order) || json_array_size(order) > 4))
        return err_set(err, err_len, -EINVAL, "order: at most 4 uplinks, by name");
    json_array_foreach (order, i, x) {
        if (!name_is_valid(json_string_value(x), 31))
            return err_set(err, err_len, -EINVAL, "order: an uplink's name");
        for (j = 0; j < i; j++)
            if (json_equal(json_array_get(order, j), x))
                return err_set(err, err_len, -EINVAL, "order: %s twice", json_string_value(x));
    }
    return 0;
}

static bool
is_mac(const char *s)
{
    unsigned b[6];
    char end;
    return s && strlen(s) == 17 &&
           sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &end) ==
               6 &&
           !(b[0] & 1); /* a unicast address */
}

/* "N" or "N-M", 1 <= N <= M <= 65535, decimal without sign or spaces. */
static bool
is_port_range(const char *s)
{
    long lo, hi;
    char a[8], b[8];
    size_t n = s ? strspn(s, "0123456789") : 0;
    if (!n || n > 5)
        return false;
    snprintf(a, sizeof a, "%.*s", (int)n, s);
    lo = strtol(a, NULL, 10);
    if (s[n] == '\0')
        return lo >= 1 && lo <= 65535;
    size_t m = strspn(s + n + 1, "0123456789");
    if (s[n] != '-' || !m || m > 5 || s[n + 1 + m])
        return false;
    snprintf(b, sizeof b, "%s", s + n + 1);
    hi = strtol(b, NULL, 10);
    return lo >= 1 && lo <= hi && hi <= 65535;
}

/* A dfwservice entry: {"proto", "ports"? (tcp, udp), "type"?, "code"? (icmp,
 * icmpv6)}. */
static int
check_service_entry(json_t *e, char *err, size_t err_len)
{
    static const char *const known[] = {"proto", "ports", "type", "code", NULL};
    static const char *const protos[] = {"tcp", "udp", "icmp", "icmpv6", "any", NULL};
    const char *proto = json_string_value(json_object_get(e, "proto")), *k;
    json_t *ports = json_object_get(e, "ports"), *p;
    size_t i, n = 0;
    if (!json_is_object(e))
        return err_set(err, err_len, -EINVAL, "{\"proto\", \"ports\"?, \"type\"?, \"code\"?}");
    if ((k = cmd_arg_unknown(e, known)))
        return err_set(err, err_len, -EINVAL, "%s: not proto, ports, type or code", k);
    while (proto && protos[n] && strcmp(protos[n], proto))
        n++;
    if (!proto || !protos[n])
        return err_set(err, err_len, -EINVAL, "proto: tcp, udp, icmp, icmpv6 or any");
    bool l4 = n < 2, icmp = n == 2 || n == 3;
    if (ports && !l4)
        return err_set(err, err_len, -EINVAL, "ports: only for tcp and udp");
    if (ports &&
        (!json_is_array(ports) || !json_array_size(ports) || json_array_size(ports) > 1024))
        return err_set(err, err_len, -EINVAL, "ports: a list of 1 to 1024 \"N\" or \"N-M\"");
    json_array_foreach (ports, i, p) {
        if (!is_port_range(json_string_value(p)))
            return err_set(err, err_len, -EINVAL,
                           "ports: %.32s: \"N\" or \"N-M\", 1 <= N <= M <= 65535",
                           json_is_string(p) ? json_string_value(p) : "not a string");
    }
    static const char *const icmp_keys[] = {"type", "code"};
    for (i = 0; i < 2; i++) {
        json_t *v = json_object_get(e, icmp_keys[i]);
        if (v && !icmp)
            return err_set(err, err_len, -EINVAL, "%s: only for icmp and icmpv6", icmp_keys[i]);
        if (v && (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 255))
            return err_set(err, err_len, -EINVAL, "%s: 0 to 255", icmp_keys[i]);
    }
    return 0;
}

static int
check_service_entries(json_t *v, char *err, size_t err_len)
{
    size_t i;
    json_t *e;
    char why[ERR_LEN];
    if (!json_is_array(v) || !json_array_size(v) || json_array_size(v) > 256)
        return err_set(err, err_len, -EINVAL, "a list of 1 to 256 {\"proto\", ...}");
    json_array_foreach (v, i, e) {
        if (check_service_entry(e, why, sizeof why) < 0)
            return err_set(err, err_len, -EINVAL, "[%zu]: %s", i, why);
    }
    return 0;
}

/* "ADDR/LEN", IPv4 or IPv6, without host bits (a typo in the length must not
 * widen a group silently). */
static int
check_cidr(const char *s, char *err, size_t err_len)
{
    char addr[64];
    unsigned char b[16];
    const char *slash = s ? strchr(s, '/') : NULL;
    long len;
    if (!slash || (size_t)(slash - s) >= sizeof addr)
        return err_set(err, err_len, -EINVAL, "%.64s: ADDR/LEN", s ? s : "not a string");
    snprintf(addr, sizeof addr, "%.*s", (int)(slash - s), s);
    bool v6 = strchr(addr, ':') != NULL;
    int bits = v6 ? 128 : 32;
    if (inet_pton(v6 ? AF_INET6 : AF_INET, addr, b) != 1 || !parse_long(slash + 1, 0, bits, &len) ||
        strspn(slash + 1, "0123456789") != strlen(slash + 1))
        return err_set(err, err_len, -EINVAL, "%.64s: an IPv4 or IPv6 ADDR/LEN", s);
    for (int i = (int)len; i < bits; i++)
        if (b[i / 8] & (0x80 >> (i % 8)))
            return err_set(err, err_len, -EINVAL, "%.64s: host bits set past /%ld", s, len);
    return 0;
}

/* A list (LIST_MAX at most) whose items each pass the check of field
 * 'f''s type. */
static int
check_list(const struct field *f, json_t *v, char *err, size_t err_len)
{
    size_t i;
    json_t *x;
    char key[STORE_KEY_MAX], why[ERR_LEN];
    if (!json_is_array(v) || json_array_size(v) > LIST_MAX)
        return err_set(err, err_len, -EINVAL, "a list of at most %d", LIST_MAX);
    json_array_foreach (v, i, x) {
        const char *s = json_string_value(x);
        int rc = 0;
        if (!s)
            rc = err_set(why, sizeof why, -EINVAL, "not a string");
        else if (f->type == F_REFS || f->type == F_NAMES)
            rc = inv_key(f->ref, s, key, sizeof key, why, sizeof why);
        else if (f->type == F_TAGS && !name_is_valid(s, INV_NAME_MAX))
            rc = err_set(why, sizeof why, -EINVAL, "a tag is 1 to 64 of letters, digits, '.-_'");
        else if (f->type == F_CIDRS)
            rc = check_cidr(s, why, sizeof why);
        else if (f->type == F_MACS && !is_mac(s))
            rc = err_set(why, sizeof why, -EINVAL, "%.32s: a unicast MAC, xx:xx:xx:xx:xx:xx", s);
        if (rc < 0)
            return err_set(err, err_len, rc, "[%zu]: %s", i, why);
    }
    return 0;
}

/* Checks 'v', the value of field 'f'. */
static int
check_field(const struct field *f, json_t *v, char *err, size_t err_len)
{
    const char *s = json_string_value(v);
    char key[STORE_KEY_MAX];
    struct in_addr in;
    switch (f->type) {
    case F_TEXT:
        return s && strlen(s) <= 1024 ? 0 : err_set(err, err_len, -EINVAL, "a string");
    case F_REF:
        return inv_key(f->ref, s, key, sizeof key, err, err_len);
    case F_INT:
        if (!json_is_integer(v) || json_integer_value(v) < f->min || json_integer_value(v) > f->max)
            return err_set(err, err_len, -EINVAL, "%lld to %lld", (long long)f->min,
                           (long long)f->max);
        return 0;
    case F_BOOL:
        return json_is_boolean(v) ? 0 : err_set(err, err_len, -EINVAL, "true or false");
    case F_IPV4:
        return s && inet_pton(AF_INET, s, &in) == 1
                   ? 0
                   : err_set(err, err_len, -EINVAL, "an IPv4 address");
    case F_MAC:
        return is_mac(s) ? 0 : err_set(err, err_len, -EINVAL, "a unicast MAC, xx:xx:xx:xx:xx:xx");
    case F_DPU_RULE:
        return check_dpu_rule(v, err, err_len);
    case F_TEAMING:
        return check_teaming(v, err, err_len);
    case F_ENUM:
        for (const char *const *c = f->choices; *c; c++)
            if (s && !strcmp(s, *c))
                return 0;
        return err_set(err, err_len, -EINVAL, "%s, %s or %s", f->choices[0], f->choices[1],
                       f->choices[2]);
    case F_REFS:
    case F_NAMES:
    case F_TAGS:
    case F_CIDRS:
    case F_MACS:
        return check_list(f, v, err, err_len);
    case F_SERVICE_ENTRIES:
        return check_service_entries(v, err, err_len);
    }
    return -EINVAL;
}

static const struct field *
field_of(const struct inv_kind_def *d, const char *name)
{
    for (const struct field *f = d->fields; f->name; f++)
        if (!strcmp(f->name, name))
            return f;
    return NULL;
}

int
inv_validate(enum inv_kind k, json_t *obj, char *err, size_t err_len)
{
    const struct inv_kind_def *d = &kinds[k];
    if (!json_is_object(obj))
        return err_set(err, err_len, -EINVAL, "%s: a JSON object", d->name);
    if (d->check)
        return d->check(obj, err, err_len);
    const char *name;
    json_t *v;
    json_object_foreach (obj, name, v) {
        const struct field *f = field_of(d, name);
        char why[ERR_LEN];
        if (!f)
            return err_set(err, err_len, -EINVAL, "%s: %s: no such field", d->name, name);
        if (check_field(f, v, why, sizeof why) < 0)
            return err_set(err, err_len, -EINVAL, "%s: %s: %s", d->name, name, why);
    }
    for (const struct field *f = d->fields; f->name; f++)
        if (f->required && !json_object_get(obj, f->name))
            return err_set(err, err_len, -EINVAL, "%s: %s is required", d->name, f->name);
    return 0;
}

json_t *
inv_load_all(struct store *st, const char *kind, char *err, size_t err_len)
{
    char prefix[64], after[STORE_KEY_MAX] = "";
    snprintf(prefix, sizeof prefix, "%s%s/", STORE_KEY_PREFIX, kind);
    json_t *all = json_object();
    for (;;) {
        struct store_list l = {0};
        if (!all || store_list(st, prefix, after, STORE_LIST_MAX, &l, err, err_len) < 0) {
            if (!all)
                err_set(err, err_len, -ENOMEM, "out of memory");
            json_decref(all);
            return NULL;
        }
        for (size_t i = 0; i < l.n_kvs; i++)
            json_object_set_new(all, l.kvs[i].key + strlen(prefix),
                                json_loads(l.kvs[i].value, 0, NULL));
        bool more = l.more && l.n_kvs;
        if (more)
            snprintf(after, sizeof after, "%s", l.kvs[l.n_kvs - 1].key);
        store_list_fini(&l);
        if (!more)
            return all;
    }
}

/* ---- the tree ---- */

/* The kind of store key 'key' and where its name starts, or -1. */
static int
kind_of_key(const char *key, const char **name)
{
    size_t p = strlen(STORE_KEY_PREFIX);
    if (!key || strncmp(key, STORE_KEY_PREFIX, p))
        return -1;
    for (int k = 0; k < INV__N; k++) {
        size_t n = strlen(kinds[k].name);
        if (!strncmp(key + p, kinds[k].name, n) && key[p + n] == '/') {
            *name = key + p + n + 1;
            return k;
        }
    }
    return -1;
}

static const char root[] = INV_ROOT;

/* The key of the parent of object 'key' (kind 'k', name 'name') into 'buf',
 * 'root' for a kind without one, or NULL. */
static const char *
inv_parent_of(struct store *st, int k, const char *key, const char *name, char *buf, size_t len)
{
    const struct inv_kind_def *d = &kinds[k];
    if (d->key_parent >= 0) {
        const char *slash = strchr(name, '/');
        if (!slash)
            return NULL;
        snprintf(buf, len, "%s%s/%.*s", STORE_KEY_PREFIX, kinds[d->key_parent].name,
                 (int)(slash - name), name);
        return buf;
    }
    if (!d->parent_field)
        return root;
    struct store_kv kv = {0};
    int rc = store_get(st, key, &kv, NULL, 0);
    if (rc < 0) /* an object that does not exist sits under the root alone */
        return rc == -ENOENT ? root : NULL;
    json_t *obj = json_loads(kv.value, 0, NULL);
    const char *parent = json_string_value(json_object_get(obj, d->parent_field));
    const struct field *f = field_of(d, d->parent_field);
    const char *r = parent && inv_key(f->ref, parent, buf, len, NULL, 0) == 0 ? buf : NULL;
    json_decref(obj);
    store_kv_fini(&kv);
    return r;
}

const char *
inv_parent(const char *key, char *buf, size_t len, void *aux)
{
    struct store *st = aux;
    const char *name;
    if (!key || strncmp(key, INV_ROOT, strlen(INV_ROOT)) || !strcmp(key, INV_ROOT))
        return NULL;
    int k = kind_of_key(key, &name);
    const char *up = k < 0 ? root : inv_parent_of(st, k, key, name, buf, len);
    if (up == root)
        snprintf(buf, len, "%s", root);
    return up ? buf : NULL;
}

const char *
inv_parent_of_new(enum inv_kind k, const char *name, json_t *obj, char *buf, size_t len)
{
    const struct inv_kind_def *d = &kinds[k];
    char key[STORE_KEY_MAX];
    if (inv_key(k, name, key, sizeof key, NULL, 0) < 0)
        return NULL;
    if (d->key_parent >= 0) {
        const char *slash = strchr(name, '/');
        snprintf(buf, len, "%s%s/%.*s", STORE_KEY_PREFIX, kinds[d->key_parent].name,
                 (int)(slash - name), name);
        return buf;
    }
    if (!d->parent_field) {
        snprintf(buf, len, "%s", root);
        return buf;
    }
    const char *parent = json_string_value(json_object_get(obj, d->parent_field));
    const struct field *f = field_of(d, d->parent_field);
    return parent && inv_key(f->ref, parent, buf, len, NULL, 0) == 0 ? buf : NULL;
}

/* -ENOENT unless object 'name' of the kind field 'f' names exists. */
static int
check_ref(struct store *st, const struct inv_kind_def *d, const struct field *f, const char *name,
          char *err, size_t err_len)
{
    char key[STORE_KEY_MAX];
    struct store_kv kv = {0};
    if (!name || inv_key(f->ref, name, key, sizeof key, NULL, 0) < 0)
        return 0;
    int rc = store_get(st, key, &kv, err, err_len);
    store_kv_fini(&kv);
    if (rc == -ENOENT && f->type == F_REFS) /* which of the lists */
        return err_set(err, err_len, -ENOENT, "%s: %s: no %s %s", d->name, f->name,
                       kinds[f->ref].name, name);
    if (rc == -ENOENT)
        return err_set(err, err_len, -ENOENT, "%s: no %s %s", d->name, kinds[f->ref].name, name);
    return rc;
}

/* -ENOENT unless every object 'obj' names (its F_REF and F_REFS fields)
 * exists. */
static int
check_refs(struct store *st, const struct inv_kind_def *d, json_t *obj, char *err, size_t err_len)
{
    for (const struct field *f = d->fields; f->name; f++) {
        json_t *v = json_object_get(obj, f->name), *x;
        size_t i;
        int rc = 0;
        if (f->type == F_REF)
            rc = check_ref(st, d, f, json_string_value(v), err, err_len);
        else if (f->type == F_REFS)
            json_array_foreach (v, i, x) {
                if ((rc = check_ref(st, d, f, json_string_value(x), err, err_len)) < 0)
                    break;
            }
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* -ENOENT unless the parent that a two-segment name starts with exists. */
static int
check_key_parent(struct store *st, const struct inv_kind_def *d, const char *name, char *err,
                 size_t err_len)
{
    if (d->key_parent < 0)
        return 0;
    char key[STORE_KEY_MAX];
    const char *slash = strchr(name, '/');
    snprintf(key, sizeof key, "%s%s/%.*s", STORE_KEY_PREFIX, kinds[d->key_parent].name,
             (int)(slash - name), name);
    struct store_kv kv = {0};
    int rc = store_get(st, key, &kv, err, err_len);
    store_kv_fini(&kv);
    if (rc == -ENOENT)
        return err_set(err, err_len, -ENOENT, "%s: no %s %.*s", d->name, kinds[d->key_parent].name,
                       (int)(slash - name), name);
    return rc;
}

/* The checks of inv_put() before writing 'obj' as 'name' of 'k': its key
 * into 'key'. */
static int
check_put(struct store *st, enum inv_kind k, const char *name, json_t *obj, char *key,
          size_t key_len, char *err, size_t err_len)
{
    const struct inv_kind_def *d = &kinds[k];
    int rc = inv_key(k, name, key, key_len, err, err_len);
    if (rc < 0 || (rc = inv_validate(k, obj, err, err_len)) < 0 ||
        (rc = check_key_parent(st, d, name, err, err_len)) < 0 ||
        (rc = check_refs(st, d, obj, err, err_len)) < 0)
        return rc;
    return 0;
}

/* Adds the put of 'obj' at 'key' to 't'. */
static int
txn_put_json(struct store_txn *t, const char *key, json_t *obj, int64_t expected, char *err,
             size_t err_len)
{
    char *text = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
    int rc = text ? store_txn_put(t, key, text, expected, err, err_len)
                  : err_set(err, err_len, -ENOMEM, "out of memory");
    free(text);
    return rc;
}

int
inv_put(struct store *st, enum inv_kind k, const char *name, json_t *obj, int64_t expected,
        const struct store_actor *actor, int64_t *revision, char *err, size_t err_len)
{
    char key[STORE_KEY_MAX];
    int rc = check_put(st, k, name, obj, key, sizeof key, err, err_len);
    if (rc < 0)
        return rc;
    struct store_txn *t = store_txn_begin(st);
    if (!t)
        return err_set(err, err_len, -ENOMEM, "out of memory");
    if ((rc = txn_put_json(t, key, obj, expected, err, err_len)) < 0) {
        store_txn_abort(t);
        return rc;
    }
    return store_txn_commit(t, actor, revision, err, err_len);
}

int
inv_create_many(struct store *st, enum inv_kind k, const char *const *names, json_t *const *objs,
                size_t n, const struct store_actor *actor, int64_t *revision, char *err,
                size_t err_len)
{
    char key[STORE_KEY_MAX], why[ERR_LEN];
    if (n < 1 || n > STORE_TXN_MAX_OPS)
        return err_set(err, err_len, -EINVAL, "%s: 1 to %d at once", kinds[k].name,
                       STORE_TXN_MAX_OPS);
    struct store_txn *t = store_txn_begin(st);
    int rc = t ? 0 : err_set(err, err_len, -ENOMEM, "out of memory");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = check_put(st, k, names[i], objs[i], key, sizeof key, why, sizeof why);
        if (rc == 0)
            rc = txn_put_json(t, key, objs[i], STORE_MUST_NOT_EXIST, why, sizeof why);
        if (rc < 0)
            err_set(err, err_len, rc, "item %zu (%.64s): %s", i, names[i] ? names[i] : "?", why);
    }
    if (rc < 0) {
        store_txn_abort(t);
        return rc;
    }
    return store_txn_commit(t, actor, revision, err, err_len);
}

/* Whether a 'c' object names 'name' in its F_REF field 'f': scans them all.
 * Sets 'who' to the first.  Returns 1, 0 or an error. */
struct referrer {
    const struct field *f;
    const char *name, *kind;
    size_t skip; /* the prefix's length */
    char *who;
    size_t who_len;
};

static int
is_referrer(const struct store_kv *kv, void *aux)
{
    struct referrer *r = aux;
    json_t *obj = json_loads(kv->value, 0, NULL), *field = json_object_get(obj, r->f->name), *x;
    const char *v = json_string_value(field);
    int rc = v && !strcmp(v, r->name);
    size_t i;
    json_array_foreach (r->f->type == F_REFS ? field : NULL, i, x) /* a list of them */
        rc |= json_is_string(x) && !strcmp(json_string_value(x), r->name);
    if (rc)
        snprintf(r->who, r->who_len, "%s %s", r->kind, kv->key + r->skip);
    json_decref(obj);
    return rc;
}

static int
find_referrer(struct store *st, enum inv_kind c, const struct field *f, const char *name, char *who,
              size_t who_len, char *err, size_t err_len)
{
    char prefix[STORE_KEY_MAX];
    snprintf(prefix, sizeof prefix, "%s%s/", STORE_KEY_PREFIX, kinds[c].name);
    struct referrer r = {.f = f,
                         .name = name,
                         .kind = kinds[c].name,
                         .skip = strlen(prefix),
                         .who = who,
                         .who_len = who_len};
    return store_each(st, prefix, is_referrer, &r, err, err_len);
}

/* Sets 'who' to an object below or naming object 'name' of kind 'k'.
 * Returns 1 (one exists), 0 or an error. */
static int
find_child(struct store *st, enum inv_kind k, const char *name, char *who, size_t who_len,
           char *err, size_t err_len)
{
    for (int c = 0; c < INV__N; c++) {
        int rc = 0;
        if (kinds[c].key_parent == (int)k) {
            char prefix[STORE_KEY_MAX];
            struct store_list l = {0};
            snprintf(prefix, sizeof prefix, "%s%s/%s/", STORE_KEY_PREFIX, kinds[c].name, name);
            rc = store_list(st, prefix, NULL, 1, &l, err, err_len);
            if (rc == 0 && l.n_kvs) {
                snprintf(who, who_len, "%s %s", kinds[c].name,
                         l.kvs[0].key + strlen(STORE_KEY_PREFIX) + strlen(kinds[c].name) + 1);
                rc = 1;
            }
            store_list_fini(&l);
        }
        for (const struct field *f = kinds[c].fields; rc == 0 && f->name; f++)
            if ((f->type == F_REF || f->type == F_REFS) && f->ref == k)
                rc = find_referrer(st, (enum inv_kind)c, f, name, who, who_len, err, err_len);
        if (rc)
            return rc;
    }
    return 0;
}

int
inv_delete_txn(struct store *st, struct store_txn *t, enum inv_kind k, const char *name,
               int64_t expected, char *err, size_t err_len)
{
    char key[STORE_KEY_MAX], who[STORE_KEY_MAX + 32];
    int rc = inv_key(k, name, key, sizeof key, err, err_len);
    if (rc < 0 || (rc = find_child(st, k, name, who, sizeof who, err, err_len)) < 0)
        return rc;
    if (rc == 1)
        return err_set(err, err_len, -ENOTEMPTY, "%s %s: %s still belongs to it", kinds[k].name,
                       name, who);
    return store_txn_delete(t, key, expected, err, err_len);
}

int
inv_delete(struct store *st, enum inv_kind k, const char *name, int64_t expected,
           const struct store_actor *actor, int64_t *revision, char *err, size_t err_len)
{
    struct store_txn *t = store_txn_begin(st);
    if (!t)
        return err_set(err, err_len, -ENOMEM, "out of memory");
    int rc = inv_delete_txn(st, t, k, name, expected, err, err_len);
    if (rc < 0) {
        store_txn_abort(t);
        return rc;
    }
    return store_txn_commit(t, actor, revision, err, err_len);
}
