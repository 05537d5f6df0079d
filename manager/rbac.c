/* SPDX-License-Identifier: Apache-2.0 */
/* rbac: the nearest grant decides (rbac.h). */
#include "manager/rbac.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char *const role_names[] = {
    [RBAC_NONE] = "none",
    [RBAC_READ_ONLY] = "read-only",
    [RBAC_OPERATOR] = "operator",
    [RBAC_ADMIN] = "admin",
};

const char *
rbac_role_name(enum rbac_role role)
{
    return (unsigned)role <= RBAC_ADMIN ? role_names[role] : "?";
}

int
rbac_role_parse(const char *name, enum rbac_role *out)
{
    for (int r = RBAC_NONE; r <= RBAC_ADMIN; r++)
        if (name && !strcmp(name, role_names[r])) {
            *out = (enum rbac_role)r;
            return 0;
        }
    return -EINVAL;
}

bool
rbac_allows(enum rbac_role role, enum rbac_action action)
{
    switch (action) {
    case RBAC_READ:
        return role >= RBAC_READ_ONLY;
    case RBAC_OPERATE:
        return role >= RBAC_OPERATOR;
    case RBAC_ADMINISTER:
        return role == RBAC_ADMIN;
    }
    return false;
}

/* The strongest grant of 'principal' on exactly 'object', or RBAC_NONE with
 * '*found' false. */
static enum rbac_role
grant_on(const struct rbac_grant *g, size_t n, const char *principal, const char *object,
         bool *found)
{
    enum rbac_role best = RBAC_NONE;
    *found = false;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(g[i].principal, principal) && !strcmp(g[i].object, object)) {
            *found = true;
            if (g[i].role > best)
                best = g[i].role;
        }
    return best;
}

enum rbac_role
rbac_role_on(const struct rbac_grant *grants, size_t n_grants, const char *principal,
             const char *object, rbac_parent_fn parent, void *aux)
{
    char a[RBAC_KEY_MAX], b[RBAC_KEY_MAX];
    if (!principal || !object || (size_t)snprintf(a, sizeof a, "%s", object) >= sizeof a)
        return RBAC_NONE;
    const char *key = a;
    for (int depth = 0; key && depth < RBAC_MAX_DEPTH; depth++) {
        bool found;
        enum rbac_role r = grant_on(grants, n_grants, principal, key, &found);
        if (found)
            return r;
        char *next = key == a ? b : a; /* the parent's key may not overwrite the child's */
        key = parent ? parent(key, next, sizeof a, aux) : NULL;
    }
    return RBAC_NONE;
}
