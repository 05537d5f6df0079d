/* SPDX-License-Identifier: Apache-2.0 */
/*
 * inventory: the manager's objects as an operator sees them, over the store
 * (store.h): their kinds, what each holds, where each sits in the tree, and
 * the rules of a change.
 *
 *     datacenter DC
 *       +-- cluster C          {"datacenter": DC, "dpu_rule": {...}}
 *       |     +-- host H       {"cluster": C, "address": IPv4, "cn": its certificate's}
 *       |           +-- dpu H/D       {"vendor", "model", "firmware", "serial"}
 *       |           +-- vm V          {"host": H}
 *       |                 +-- vnic V/N  {"mac", "portgroup": "S/P"}
 *       +-- switch S           {"datacenter": DC, "mtu", "teaming": {"failback", "order"}}
 *             +-- portgroup S/P        {"vlan": 0..4094, "mtu"}
 *     alarmdef A               an alarm definition for every host (monitor/alarm.h:
 *                              "metric" and its thresholds, or "event"; its name is
 *                              the object's), under the root
 *     dfwgroup G               {"vms", "tags", "portgroups": ["S/P"], "cidrs", "macs"}
 *     dfwservice SV            {"entries": [{"proto", "ports", "type", "code"}]}
 *     dfwsection SEC           {"order"}
 *       +-- dfwrule SEC/R      {"order", "src", "dst", "services", "applied_to",
 *                               "action", "direction", "log"}
 *                              the distributed firewall (docs/dfw.md, manager/dfw.h)
 *
 * A vm may carry "tags" (a dfwgroup's members by tag), a switch
 * "dfw_default" (allow, drop or reject: its portgroups' firewall default).
 *
 * A name is one segment ("h1"), or two for the kinds that live in their
 * parent's key (dpu, portgroup, vnic, dfwrule: "h1/dpu1").  Each segment
 * follows name_is_valid() (lib/util.h), 64 characters at most; a dfwrule's
 * whole name, which is its name on the DPUs, 127 at most.
 *
 * The rules: a value holds only the fields of its kind, each of its type
 * and range (an unknown field is refused: a typo must not pass for an
 * intent); the parent must exist, and every object a value names (a
 * reference, or a list of them: a dfwrule's groups and services), which
 * cannot be deleted while named; an object with children cannot be
 * deleted (-ENOTEMPTY); an update names the resource version it read, and
 * fails with -ESTALE (HTTP 409) when someone changed the object meanwhile.
 * Every change is one store transaction with its audit entry (store.h).
 *
 * Design: a table of kinds (struct inv_kind_def); the tree (under INV_ROOT)
 * is both in the keys (a child that never leaves its parent) and in the values (one that
 * moves: a host between clusters, a VM between hosts).  inv_parent() walks
 * it upwards for rbac.h.
 *
 * Thread-safety: as the store's: one thread at a time.
 */
#ifndef DSE_INVENTORY_H
#define DSE_INVENTORY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "manager/store.h"

enum inv_kind {
    INV_DATACENTER,
    INV_CLUSTER,
    INV_HOST,
    INV_DPU,
    INV_SWITCH,
    INV_PORTGROUP,
    INV_VM,
    INV_VNIC,
    INV_ALARMDEF,
    INV_DFWGROUP,
    INV_DFWSERVICE,
    INV_DFWSECTION,
    INV_DFWRULE,
    INV__N
};

#define INV_NAME_MAX 64          /* characters of one segment */
#define INV_DFWRULE_NAME_MAX 127 /* of a dfwrule's SECTION/RULE: its name on the DPUs */

/* The kind called 'name' ("portgroup").  Returns 0 or -EINVAL. */
int inv_kind_parse(const char *name, enum inv_kind *out);
const char *inv_kind_name(enum inv_kind); /* can't fail */

/* The store key of object 'name' of 'kind'.  Returns 0, or -EINVAL (a bad
 * name) with the reason. */
int inv_key(enum inv_kind, const char *name, char *key, size_t len, char *err, size_t err_len);

/* Checks 'obj' as a value of 'kind' (fields, types, ranges).  Returns 0 or
 * -EINVAL with the reason ("portgroup: vlan: 0 to 4094"). */
int inv_validate(enum inv_kind, json_t *obj, char *err, size_t err_len);

/* Every object under /dse/v1/'kind'/ (an inventory kind, or another kind
 * of key: "task") as {NAME: value}, read a page at a time.  Returns it (the
 * caller's), or NULL with the store's error in 'err' (may be NULL). */
json_t *inv_load_all(struct store *, const char *kind, char *err, size_t err_len);

/* The root of the tree: above every datacenter, and above every key that
 * is no inventory object (users, tokens): a grant there holds for all. */
#define INV_ROOT "/dse/v1/"

/* rbac_parent_fn (rbac.h) over the store 'aux': the key of the object above
 * 'key' (INV_ROOT above a datacenter, above keys of other kinds and above
 * an object that does not exist), or NULL at the root and for a key outside
 * it. */
const char *inv_parent(const char *key, char *buf, size_t len, void *aux);

/* The key of the object that would be the parent of object 'name' of
 * 'kind' with value 'obj' (which need not exist yet), into 'buf': for a
 * create, whose rights decide.  Returns buf, or NULL for a bad name or
 * value. */
const char *inv_parent_of_new(enum inv_kind, const char *name, json_t *obj, char *buf, size_t len);

/* Creates (expected STORE_MUST_NOT_EXIST) or updates (expected: the version
 * read, or STORE_ANY_VERSION) object 'name' of 'kind' with 'obj', by
 * 'actor'.  Returns 0 and '*revision' (may be NULL), or -EINVAL (name or
 * value), -ENOENT (its parent is missing, or the object for an update),
 * -EEXIST, -ESTALE, or the store's errors, with the reason. */
int inv_put(struct store *, enum inv_kind, const char *name, json_t *obj, int64_t expected,
            const struct store_actor *actor, int64_t *revision, char *err, size_t err_len);

/* Creates the 'n' objects 'names[i]' of 'kind' with values 'objs[i]' (1 to
 * STORE_TXN_MAX_OPS; all borrowed) in one transaction by 'actor': all or
 * none.  Returns as inv_put() with STORE_MUST_NOT_EXIST, the reason naming
 * the item refused ("item 3 (h4): ..."); a name twice is -EINVAL. */
int inv_create_many(struct store *, enum inv_kind, const char *const *names, json_t *const *objs,
                    size_t n, const struct store_actor *actor, int64_t *revision, char *err,
                    size_t err_len);

/* Deletes object 'name' of 'kind' (expected: a version, or
 * STORE_ANY_VERSION).  Returns 0, -ENOTEMPTY (it has children: it names
 * one), -ENOENT, -ESTALE, or the store's errors, with the reason. */
int inv_delete(struct store *, enum inv_kind, const char *name, int64_t expected,
               const struct store_actor *actor, int64_t *revision, char *err, size_t err_len);
/* The same checks, with the delete added to transaction 't' (the caller
 * adds what goes with it, and commits or aborts). */
int inv_delete_txn(struct store *, struct store_txn *t, enum inv_kind, const char *name,
                   int64_t expected, char *err, size_t err_len);

#endif
