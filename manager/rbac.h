/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rbac: who may do what on which object of the manager's inventory
 * (DESIGN.md section 11).  A grant gives a principal (a user) one role on one
 * inventory object; it holds for that object and every object below it
 * (datacenter > cluster > host > DPUs and VMs), unless a grant for the same
 * principal on an object further down says otherwise: the nearest grant
 * decides, as in vCenter, so an administrator of a datacenter can be made
 * read-only on one cluster.  Several grants on the same object: the
 * strongest.  No grant on the way to the root: no access.
 *
 *   role        read   operate (inventory, desired state,   administer (users,
 *                              alarms, tasks)               roles, trust)
 *   read-only    yes    no                                  no
 *   operator     yes    yes                                 no
 *   admin        yes    yes                                 yes
 *
 * Design: pure.  The inventory's shape reaches rbac through a 'parent'
 * callback (the store's layout is the store's), so rbac neither reads the
 * store nor allocates.
 *
 * Thread-safety: reentrant.
 */
#ifndef DSE_RBAC_H
#define DSE_RBAC_H

#include <stdbool.h>
#include <stddef.h>

enum rbac_role { RBAC_NONE, RBAC_READ_ONLY, RBAC_OPERATOR, RBAC_ADMIN };
enum rbac_action { RBAC_READ, RBAC_OPERATE, RBAC_ADMINISTER };

struct rbac_grant {
    const char *principal; /* a user's name */
    const char *object;    /* an inventory object's key */
    enum rbac_role role;
};

/* Writes the key of the object above 'key' into 'buf' ('len' bytes) and
 * returns buf, or returns NULL at the root (or for an unknown key). */
typedef const char *(*rbac_parent_fn)(const char *key, char *buf, size_t len, void *aux);

/* The key length rbac walks with; a deeper key is treated as unknown. */
#define RBAC_KEY_MAX 512
/* How far up it walks at most: a cycle in 'parent' ends there. */
#define RBAC_MAX_DEPTH 32

/* The role of 'principal' on 'object': the nearest grant on the way from
 * the object to the root (the strongest among that object's grants), or
 * RBAC_NONE.  This function can't fail. */
enum rbac_role rbac_role_on(const struct rbac_grant *grants, size_t n_grants, const char *principal,
                            const char *object, rbac_parent_fn parent, void *aux);

/* Whether 'role' may do 'action'.  This function can't fail. */
bool rbac_allows(enum rbac_role role, enum rbac_action action);

/* "none", "read-only", "operator", "admin"; parse: -EINVAL for another. */
const char *rbac_role_name(enum rbac_role role);
int rbac_role_parse(const char *name, enum rbac_role *out);

#endif
