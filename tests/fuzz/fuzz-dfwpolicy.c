/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz-dfwpolicy: arbitrary bytes as the manager's firewall objects.  The
 * first byte picks what the rest (JSON) is: a value of a kind the firewall
 * reads (dfwgroup, dfwservice, dfwsection, dfwrule, vm, switch), checked by
 * inv_validate() as the API checks it, or (any other byte) a whole
 * inventory as dfw_model_create() reads it (manager/dfw.h).  A refusal is
 * one line that says why; a value accepted joins a small inventory; every
 * inventory compiles to a policy whose rules name only groups and services
 * it holds, with an action and a direction the DPUs take, that digests,
 * the same every time.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cmdtab.h"
#include "lib/util.h"
#include "manager/dfw.h"
#include "manager/inventory.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct {
    enum inv_kind kind;
    const char *name; /* of the object in the inventory */
} kinds[] = {
    {INV_DFWGROUP, "g"},    {INV_DFWSERVICE, "s"}, {INV_DFWSECTION, "sec"},
    {INV_DFWRULE, "sec/x"}, {INV_VM, "vm1"},       {INV_SWITCH, "s1"},
};

/* A small inventory that every kind may join. */
static json_t *
base(void)
{
    return json_loads(
        "{\"dfwgroup\":{\"g\":{\"tags\":[\"web\"],\"portgroups\":[\"s1/pg\"]}},"
        "\"dfwservice\":{\"s\":{\"entries\":[{\"proto\":\"tcp\",\"ports\":[\"22\"]}]}},"
        "\"dfwsection\":{\"sec\":{\"order\":1}},"
        "\"dfwrule\":{\"sec/r\":{\"src\":[\"g\"],\"services\":[\"s\"],\"action\":\"allow\"}},"
        "\"vm\":{\"vm1\":{\"host\":\"h1\",\"tags\":[\"web\"]}},"
        "\"vnic\":{\"vm1/eth0\":{\"mac\":\"02:00:00:00:01:01\",\"portgroup\":\"s1/pg\"}},"
        "\"switch\":{\"s1\":{\"datacenter\":\"dc1\",\"dfw_default\":\"drop\"}},"
        "\"portgroup\":{\"s1/pg\":{\"vlan\":10}}}",
        0, NULL);
}

/* Whether every name of list 'field' of 'rule' is in 'have' ({NAME: 1}). */
static bool
names_known(json_t *rule, const char *field, json_t *have)
{
    size_t i;
    json_t *x;
    json_array_foreach (json_object_get(rule, field), i, x)
        if (!json_object_get(have, json_string_value(x)))
            return false;
    return json_is_array(json_object_get(rule, field));
}

static json_t *
names_of(json_t *list)
{
    json_t *o = json_object(), *x;
    size_t i;
    json_array_foreach (list, i, x)
        json_object_set_new(o, json_string_value(json_object_get(x, "name")), json_true());
    return o;
}

static void
check_policy(json_t *p)
{
    if (json_is_null(p))
        return;
    json_t *groups = names_of(json_object_get(p, "groups"));
    json_t *services = names_of(json_object_get(p, "services"));
    size_t i;
    json_t *r;
    json_array_foreach (json_object_get(p, "rules"), i, r) {
        const char *a = json_string_value(json_object_get(r, "action"));
        const char *d = json_string_value(json_object_get(r, "direction"));
        const char *n = json_string_value(json_object_get(r, "name"));
        if (!names_known(r, "src", groups) || !names_known(r, "dst", groups) ||
            !names_known(r, "applied_to", groups) || !names_known(r, "services", services) || !a ||
            (strcmp(a, "allow") && strcmp(a, "drop") && strcmp(a, "reject")) || !d ||
            (strcmp(d, "in") && strcmp(d, "out") && strcmp(d, "inout")) || !n ||
            strlen(n) > INV_DFWRULE_NAME_MAX || !strchr(n, '/'))
            abort();
    }
    json_decref(groups);
    json_decref(services);
}

/* Compiles 'inv' twice: the same policy, whole, the same digest. */
static void
compile(json_t *inv)
{
    char h1[JSON_DIGEST_HEX], h2[JSON_DIGEST_HEX];
    struct dfw_model *m = dfw_model_create(inv), *m2 = dfw_model_create(inv);
    if (!m || !m2)
        abort();
    json_t *p = dfw_model_policy(m, "dc1"), *p2 = dfw_model_policy(m2, "dc1");
    json_t *none = dfw_model_policy(m, NULL);
    if (!p || !p2 || !none || json_digest(p, h1) || json_digest(p2, h2) || strcmp(h1, h2))
        abort();
    check_policy(p);
    check_policy(none);
    json_decref(p);
    json_decref(p2);
    json_decref(none);
    dfw_model_destroy(m);
    dfw_model_destroy(m2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    json_t *v = json_loadb((const char *)data + 1, size - 1, 0, NULL);
    size_t k = data[0];
    if (k >= ARRAY_SIZE(kinds)) { /* a whole inventory */
        if (json_is_object(v))
            compile(v);
        json_decref(v);
        return 0;
    }
    char err[ERR_LEN] = "";
    int rc = inv_validate(kinds[k].kind, v, err, sizeof err);
    if (rc < 0 && (rc != -EINVAL || !err[0] || strchr(err, '\n')))
        abort();
    if (rc == 0) {
        json_t *inv = base();
        json_object_set(json_object_get(inv, inv_kind_name(kinds[k].kind)), kinds[k].name, v);
        compile(inv);
        json_decref(inv);
    }
    json_decref(v);
    return 0;
}
