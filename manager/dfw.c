/* SPDX-License-Identifier: Apache-2.0 */
/* dfw: the firewall's policy compiled from the inventory (dfw.h). */
#include "manager/dfw.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "manager/inventory.h"

struct dfw_model {
    json_t *common;   /* {"groups", "services", "rules"} */
    bool has_objects; /* the inventory has a dfw object */
    json_t *defaults; /* {DC: {P: action or null}}: each name's first switch's */
};

static const char *
str(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* ---- reading ---- */

static const char *const dfw_kinds[] = {"dfwgroup", "dfwservice", "dfwsection", "dfwrule"};
static const char *const member_kinds[] = {"vm", "vnic", "portgroup"};

/* Loads each of 'kinds' ('n') into 'inv'.  Returns 0 or the store's error. */
static int
load_kinds(struct store *st, json_t *inv, const char *const *kinds, size_t n, char *err,
           size_t err_len)
{
    for (size_t i = 0; i < n; i++) {
        json_t *all = inv_load_all(st, kinds[i], err, err_len);
        if (!all || json_object_set_new(inv, kinds[i], all) < 0)
            return all ? err_set(err, err_len, -ENOMEM, "out of memory") : -EIO;
    }
    return 0;
}

/* Whether anything of the firewall is set in 'inv': a dfw object, or a
 * switch's "dfw_default". */
static bool
firewall_is_set(json_t *inv)
{
    const char *name;
    json_t *sw;
    for (size_t i = 0; i < ARRAY_SIZE(dfw_kinds); i++)
        if (json_object_size(json_object_get(inv, dfw_kinds[i])))
            return true;
    json_object_foreach (json_object_get(inv, "switch"), name, sw)
        if (json_object_get(sw, "dfw_default"))
            return true;
    return false;
}

json_t *
dfw_inventory_load(struct store *st, char *err, size_t err_len)
{
    json_t *inv = json_object();
    int rc = inv ? load_kinds(st, inv, dfw_kinds, ARRAY_SIZE(dfw_kinds), err, err_len)
                 : err_set(err, err_len, -ENOMEM, "out of memory");
    if (rc == 0)
        rc = load_kinds(st, inv, (const char *const[]){"switch"}, 1, err, err_len);
    /* VMs and vNICs only when there is something to resolve: a fleet
     * without a firewall pays nothing. */
    if (rc == 0 && firewall_is_set(inv))
        rc = load_kinds(st, inv, member_kinds, ARRAY_SIZE(member_kinds), err, err_len);
    if (rc < 0) {
        json_decref(inv);
        return NULL;
    }
    return inv;
}

/* The objects of 'kind' in 'inv' that the inventory would take, as
 * {NAME: spec} (borrowed from 'inv'); the others are left out. */
static json_t *
valid_of(json_t *inv, const char *kind)
{
    enum inv_kind k;
    json_t *out = json_object(), *spec;
    const char *name;
    char key[STORE_KEY_MAX];
    if (!out || inv_kind_parse(kind, &k) < 0)
        return out;
    json_object_foreach (json_object_get(inv, kind), name, spec) {
        if (inv_key(k, name, key, sizeof key, NULL, 0) == 0 && inv_validate(k, spec, NULL, 0) == 0)
            json_object_set(out, name, spec);
    }
    return out;
}

/* ---- groups ---- */

/* Where a group's members come from: {VM: [MAC]}, {TAG: [VM]}, {S/P: [MAC]}. */
struct index {
    json_t *vm_macs, *tag_vms, *pg_macs;
};

/* Appends 'item' (taken) to the list 'o'['key'], made if missing. */
static void
append_to(json_t *o, const char *key, json_t *item)
{
    json_t *l = json_object_get(o, key);
    if (!l && (l = json_array()) && json_object_set_new(o, key, l) < 0)
        l = NULL;
    json_array_append_new(l, item);
}

/* 'mac' in lowercase into 'buf'. */
static const char *
mac_lower(const char *mac, char buf[18])
{
    snprintf(buf, 18, "%s", mac ? mac : "");
    for (char *c = buf; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    return buf;
}

static bool
index_init(struct index *ix, json_t *vms, json_t *vnics)
{
    const char *name;
    json_t *o, *t;
    size_t i;
    char mac[18], vm[INV_NAME_MAX + 1];
    *ix = (struct index){json_object(), json_object(), json_object()};
    if (!ix->vm_macs || !ix->tag_vms || !ix->pg_macs)
        return false;
    json_object_foreach (vnics, name, o) {
        snprintf(vm, sizeof vm, "%.*s", (int)strcspn(name, "/"), name);
        mac_lower(str(o, "mac"), mac);
        append_to(ix->vm_macs, vm, json_string(mac));
        append_to(ix->pg_macs, str(o, "portgroup"), json_string(mac));
    }
    json_object_foreach (vms, name, o) {
        json_array_foreach (json_object_get(o, "tags"), i, t)
            append_to(ix->tag_vms, json_string_value(t), json_string(name));
    }
    return true;
}

static void
index_fini(struct index *ix)
{
    json_decref(ix->vm_macs);
    json_decref(ix->tag_vms);
    json_decref(ix->pg_macs);
}

/* Adds each string of list 'l' to set 'set' ({S: true}). */
static void
set_add(json_t *set, json_t *l)
{
    size_t i;
    json_t *x;
    json_array_foreach (l, i, x)
        json_object_set(set, json_string_value(x), json_true());
}

static int
strp_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The keys of 'set', sorted, as a list (NULL on ENOMEM). */
static json_t *
sorted_keys(json_t *set)
{
    size_t n = json_object_size(set), i = 0;
    const char **keys = malloc((n + 1) * sizeof *keys), *k;
    json_t *v, *l = keys ? json_array() : NULL;
    json_object_foreach (keys ? set : NULL, k, v)
        keys[i++] = k;
    if (l)
        qsort(keys, n, sizeof *keys, strp_cmp);
    for (i = 0; l && i < n; i++)
        json_array_append_new(l, json_string(keys[i]));
    free(keys);
    return l;
}

/* The strings of list 'l', each once, in their first order. */
static json_t *
uniq(json_t *l)
{
    json_t *seen = json_object(), *out = json_array(), *x;
    size_t i;
    json_array_foreach (seen &&out ? l : NULL, i, x) {
        const char *s = json_string_value(x);
        if (s && !json_object_get(seen, s)) {
            json_object_set(seen, s, json_true());
            json_array_append(out, x);
        }
    }
    json_decref(seen);
    return out;
}

/* Group 'name' as the policy has it: {"name", "macs", "cidrs"}. */
static json_t *
group_json(const char *name, json_t *spec, const struct index *ix)
{
    json_t *set = json_object(), *x;
    size_t i, j;
    char mac[18];
    json_array_foreach (json_object_get(spec, "macs"), i, x)
        json_object_set(set, mac_lower(json_string_value(x), mac), json_true());
    json_array_foreach (json_object_get(spec, "vms"), i, x)
        set_add(set, json_object_get(ix->vm_macs, json_string_value(x)));
    json_array_foreach (json_object_get(spec, "tags"), i, x) {
        json_t *vm, *vms = json_object_get(ix->tag_vms, json_string_value(x));
        json_array_foreach (vms, j, vm)
            set_add(set, json_object_get(ix->vm_macs, json_string_value(vm)));
    }
    json_array_foreach (json_object_get(spec, "portgroups"), i, x)
        set_add(set, json_object_get(ix->pg_macs, json_string_value(x)));
    json_t *g = json_pack("{s:s,s:o,s:o}", "name", name, "macs", sorted_keys(set), "cidrs",
                          uniq(json_object_get(spec, "cidrs")));
    json_decref(set);
    return g;
}

/* ---- rules ---- */

struct rule_ref {
    const char *name; /* SECTION/RULE */
    json_int_t section_order, order;
    json_t *spec;
};

static int
rule_cmp(const void *pa, const void *pb)
{
    const struct rule_ref *a = pa, *b = pb;
    if (a->section_order != b->section_order)
        return a->section_order < b->section_order ? -1 : 1;
    size_t la = strcspn(a->name, "/"), lb = strcspn(b->name, "/");
    int c = strncmp(a->name, b->name, la < lb ? la : lb);
    if (c || la != lb) /* the section's name */
        return c ? c : la < lb ? -1 : 1;
    if (a->order != b->order)
        return a->order < b->order ? -1 : 1;
    return strcmp(a->name + la, b->name + lb);
}

/* The names of list 'field' of rule 'spec', each once; each into 'used'. */
static json_t *
names_of(json_t *spec, const char *field, json_t *used)
{
    json_t *l = uniq(json_object_get(spec, field)), *x;
    size_t i;
    json_array_foreach (l, i, x)
        json_object_set(used, json_string_value(x), json_true());
    return l;
}

static json_t *
rule_json(const struct rule_ref *r, json_t *groups, json_t *services)
{
    const char *dir = str(r->spec, "direction");
    /* "o": a list missing (ENOMEM) fails the rule, and the policy with it:
     * a rule without its "src" would match any source. */
    return json_pack("{s:s,s:o,s:o,s:o,s:o,s:s,s:s,s:b}", "name", r->name, "src",
                     names_of(r->spec, "src", groups), "dst", names_of(r->spec, "dst", groups),
                     "services", names_of(r->spec, "services", services), "applied_to",
                     names_of(r->spec, "applied_to", groups), "action", str(r->spec, "action"),
                     "direction", dir ? dir : "inout", "log",
                     json_is_true(json_object_get(r->spec, "log")));
}

/* Every rule of 'rules' ({SEC/R: spec}) of a section of 'sections', in
 * order, into list 'out'; the groups and services they name into 'groups'
 * and 'services' ({NAME: true}).  Returns 0 or -ENOMEM. */
static int
rules_flatten(json_t *sections, json_t *rules, json_t *out, json_t *groups, json_t *services)
{
    struct rule_ref *refs = calloc(json_object_size(rules) + 1, sizeof *refs);
    size_t n = 0;
    const char *name;
    json_t *spec;
    char sec[INV_NAME_MAX + 1];
    if (!refs)
        return -ENOMEM;
    json_object_foreach (rules, name, spec) {
        snprintf(sec, sizeof sec, "%.*s", (int)strcspn(name, "/"), name);
        json_t *s = json_object_get(sections, sec);
        if (!s) /* its section is gone: a store edited by hand */
            continue;
        refs[n++] = (struct rule_ref){
            .name = name,
            .section_order = json_integer_value(json_object_get(s, "order")),
            .order = json_integer_value(json_object_get(spec, "order")),
            .spec = spec,
        };
    }
    qsort(refs, n, sizeof *refs, rule_cmp);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = json_array_append_new(out, rule_json(&refs[i], groups, services)) < 0 ? -ENOMEM : 0;
    free(refs);
    return rc;
}

/* The groups named in 'used' resolved, in order of name. */
static json_t *
groups_json(json_t *used, json_t *groups, json_t *vms, json_t *vnics)
{
    struct index ix = {0};
    json_t *names = sorted_keys(used), *out = json_array(), *x;
    size_t i;
    bool ok = names && out && index_init(&ix, vms, vnics);
    json_array_foreach (ok ? names : NULL, i, x) {
        const char *g = json_string_value(x);
        ok = json_array_append_new(out, group_json(g, json_object_get(groups, g), &ix)) == 0;
        if (!ok)
            break;
    }
    if (ix.vm_macs || ix.tag_vms || ix.pg_macs)
        index_fini(&ix);
    json_decref(names);
    return ok ? out : (json_decref(out), NULL);
}

/* The services named in 'used', in order of name: {"name", "entries"}. */
static json_t *
services_json(json_t *used, json_t *services)
{
    json_t *names = sorted_keys(used), *out = names ? json_array() : NULL, *x;
    size_t i;
    json_array_foreach (out ? names : NULL, i, x) {
        const char *s = json_string_value(x);
        json_t *entries = json_object_get(json_object_get(services, s), "entries");
        if (json_array_append_new(out, entries
                                           ? json_pack("{s:s,s:O}", "name", s, "entries", entries)
                                           : json_pack("{s:s,s:[]}", "name", s, "entries")) < 0) {
            json_decref(out);
            out = NULL;
            break;
        }
    }
    json_decref(names);
    return out;
}

/* ---- the model ---- */

/* Each datacenter's portgroup defaults into 'm': the first switch by name
 * of a portgroup name gives it (the host's portgroup is that switch's). */
static void
defaults_of(struct dfw_model *m, json_t *switches, json_t *pgs)
{
    const char *name;
    json_t *x;
    char sw[INV_NAME_MAX + 1];
    json_object_foreach (switches, name, x) {
        const char *dc = str(x, "datacenter");
        if (dc && str(x, "dfw_default") && !json_object_get(m->defaults, dc))
            json_object_set_new(m->defaults, dc, json_object());
    }
    json_object_foreach (pgs, name, x) {
        snprintf(sw, sizeof sw, "%.*s", (int)strcspn(name, "/"), name);
        json_t *s = json_object_get(switches, sw);
        json_t *d = json_object_get(m->defaults, str(s, "datacenter") ? str(s, "datacenter") : "");
        const char *pg = strchr(name, '/') ? strchr(name, '/') + 1 : NULL;
        const char *action = str(s, "dfw_default");
        if (d && pg && !json_object_get(d, pg))
            json_object_set_new(d, pg, action ? json_string(action) : json_null());
    }
}

/* The inventory's kinds as the model reads them, valid_of() each. */
static const char *const kinds[] = {"dfwgroup", "dfwservice", "dfwsection", "dfwrule",
                                    "vm",       "vnic",       "switch",     "portgroup"};
enum { K_GROUP, K_SERVICE, K_SECTION, K_RULE, K_VM, K_VNIC, K_SWITCH, K_PORTGROUP, K__N };
_Static_assert(ARRAY_SIZE(kinds) == K__N, "one name a kind");

/* The shared part of the policy of inventory 'v' into 'm'.  Returns 0 or
 * -ENOMEM. */
static int
model_fill(struct dfw_model *m, json_t *const v[K__N])
{
    json_t *groups = json_object(), *services = json_object(), *rules = json_array();
    int rc = groups && services && rules
                 ? rules_flatten(v[K_SECTION], v[K_RULE], rules, groups, services)
                 : -ENOMEM;
    json_t *g = rc == 0 ? groups_json(groups, v[K_GROUP], v[K_VM], v[K_VNIC]) : NULL;
    json_t *s = rc == 0 ? services_json(services, v[K_SERVICE]) : NULL;
    if (g && s && rules)
        m->common = json_pack("{s:O,s:O,s:O}", "groups", g, "services", s, "rules", rules);
    json_decref(g);
    json_decref(s);
    json_decref(groups);
    json_decref(services);
    json_decref(rules);
    return m->common ? 0 : -ENOMEM;
}

struct dfw_model *
dfw_model_create(json_t *inv)
{
    json_t *v[K__N];
    struct dfw_model *m = calloc(1, sizeof *m);
    bool ok = m && (m->defaults = json_object());
    for (size_t i = 0; i < K__N; i++)
        ok &= (v[i] = valid_of(inv, kinds[i])) != NULL;
    if (ok) {
        for (size_t i = K_GROUP; i <= K_RULE; i++)
            m->has_objects |= json_object_size(v[i]) > 0;
        defaults_of(m, v[K_SWITCH], v[K_PORTGROUP]);
        ok = model_fill(m, v) == 0;
    }
    for (size_t i = 0; i < K__N; i++)
        json_decref(v[i]);
    if (!ok) {
        dfw_model_destroy(m);
        return NULL;
    }
    return m;
}

void
dfw_model_destroy(struct dfw_model *m)
{
    if (!m)
        return;
    json_decref(m->common);
    json_decref(m->defaults);
    free(m);
}

json_t *
dfw_model_policy(const struct dfw_model *m, const char *dc)
{
    json_t *d = dc ? json_object_get(m->defaults, dc) : NULL, *pgd, *a;
    const char *pg;
    if (!m->has_objects && !d)
        return json_null();
    if (!(pgd = json_object()))
        return NULL;
    bool restricts = json_array_size(json_object_get(m->common, "rules")) > 0;
    json_object_foreach (d, pg, a)
        if (json_is_string(a)) {
            json_object_set(pgd, pg, a);
            restricts |= strcmp(json_string_value(a), "allow") != 0;
        }
    if (!restricts) { /* no rule, every default allow: what the firewall off does, cheaper */
        json_decref(pgd);
        return json_null();
    }
    return json_pack("{s:s,s:o,s:O,s:O,s:O}", "default", "allow", "portgroup_defaults", pgd,
                     "groups", json_object_get(m->common, "groups"), "services",
                     json_object_get(m->common, "services"), "rules",
                     json_object_get(m->common, "rules"));
}

/* The datacenter of host 'host' into 'dc' ("" for none).  Returns 0,
 * -ENOENT or the store's error. */
static int
host_dc(struct store *st, const char *host, char *dc, size_t len, char *err, size_t err_len)
{
    char key[STORE_KEY_MAX];
    struct store_kv kv = {0};
    int rc = inv_key(INV_HOST, host, key, sizeof key, err, err_len);
    if (rc == 0 && (rc = store_get(st, key, &kv, err, err_len)) == -ENOENT)
        err_set(err, err_len, rc, "no host %s", host);
    json_t *h = rc == 0 ? json_loads(kv.value, 0, NULL) : NULL, *c = NULL;
    store_kv_fini(&kv);
    dc[0] = '\0';
    if (h && inv_key(INV_CLUSTER, str(h, "cluster"), key, sizeof key, NULL, 0) == 0 &&
        store_get(st, key, &kv, NULL, 0) == 0)
        c = json_loads(kv.value, 0, NULL);
    store_kv_fini(&kv);
    snprintf(dc, len, "%s", str(c, "datacenter") ? str(c, "datacenter") : "");
    json_decref(h);
    json_decref(c);
    return rc;
}

int
dfw_compile(struct store *st, const char *host, json_t **policy, char *err, size_t err_len)
{
    char dc[INV_NAME_MAX + 1];
    *policy = NULL;
    int rc = host_dc(st, host, dc, sizeof dc, err, err_len);
    json_t *inv = rc == 0 ? dfw_inventory_load(st, err, err_len) : NULL;
    struct dfw_model *m = inv ? dfw_model_create(inv) : NULL;
    if (rc == 0 && !inv)
        rc = -EIO;
    else if (rc == 0 && (!m || !(*policy = dfw_model_policy(m, dc[0] ? dc : NULL))))
        rc = err_set(err, err_len, -ENOMEM, "out of memory");
    dfw_model_destroy(m);
    json_decref(inv);
    return rc;
}
