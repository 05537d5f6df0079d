/* SPDX-License-Identifier: Apache-2.0 */
/* authz: roles, listener policies and refusal counters (authz.h). */
#include "lib/authz.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "lib/util.h"

static const struct {
    unsigned role;
    const char *name;
} roles[] = {
    {AUTHZ_MANAGER, "manager"},
    {AUTHZ_HOST, "host"},
    {AUTHZ_DPU, "dpu"},
};

static const char *const reason_names[] = {
#define AUTHZ_NAME(id, name) name,
    AUTHZ_REASONS(AUTHZ_NAME)
#undef AUTHZ_NAME
};
_Static_assert(ARRAY_SIZE(reason_names) == AUTHZ_N_REASONS, "one name per reason");

static _Atomic uint64_t refused[AUTHZ_N_REASONS];

int
authz_role_parse(const char *name, unsigned *role)
{
    for (size_t i = 0; i < ARRAY_SIZE(roles); i++) {
        if (!strcmp(name, roles[i].name)) {
            *role = roles[i].role;
            return 0;
        }
    }
    return -EINVAL;
}

const char *
authz_role_name(unsigned role)
{
    for (size_t i = 0; i < ARRAY_SIZE(roles); i++)
        if (role == roles[i].role)
            return roles[i].name;
    return "none";
}

void
authz_roles_format(unsigned mask, char *buf, size_t len)
{
    size_t off = 0;
    if (!len)
        return;
    buf[0] = '\0';
    for (size_t i = 0; i < ARRAY_SIZE(roles); i++) {
        if (!(mask & roles[i].role))
            continue;
        int n = snprintf(buf + off, len - off, "%s%s", off ? "," : "", roles[i].name);
        if (n < 0 || (size_t)n >= len - off)
            return;
        off += (size_t)n;
    }
    if (!off)
        snprintf(buf, len, "local");
}

static bool
cn_is_valid(const char *cn)
{
    size_t n = strlen(cn);
    if (n == 0 || n >= AUTHZ_CN_MAX)
        return false;
    for (; *cn; cn++)
        if ((unsigned char)*cn <= ' ' || (unsigned char)*cn >= 0x7f)
            return false;
    return true;
}

int
authz_policy_add_peer(struct authz_policy *p, unsigned role, const char *cn, char *err,
                      size_t err_len)
{
    if (!cn)
        cn = "";
    if (*cn && !cn_is_valid(cn))
        return err_set(err, err_len, -EINVAL, "bad CN '%s' (1..%d printable characters)", cn,
                       AUTHZ_CN_MAX - 1);
    if (!strcmp(authz_role_name(role), "none"))
        return err_set(err, err_len, -EINVAL, "a peer has exactly one role");
    for (unsigned i = 0; i < p->n_peers; i++)
        if (p->peers[i].role == role && !strcmp(p->peers[i].cn, cn))
            return 0;
    if (p->n_peers >= AUTHZ_MAX_PEERS)
        return err_set(err, err_len, -ENOSPC, "more than %d peers", AUTHZ_MAX_PEERS);
    p->peers[p->n_peers].role = role;
    snprintf(p->peers[p->n_peers].cn, sizeof p->peers[p->n_peers].cn, "%s", cn);
    p->n_peers++;
    return 0;
}

int
authz_policy_add(struct authz_policy *p, const char *spec, char *err, size_t err_len)
{
    char name[16];
    const char *colon = strchr(spec, ':');
    size_t n = colon ? (size_t)(colon - spec) : strlen(spec);
    unsigned role;
    if (n >= sizeof name)
        n = sizeof name - 1;
    memcpy(name, spec, n);
    name[n] = '\0';
    if (authz_role_parse(name, &role) < 0)
        return err_set(err, err_len, -EINVAL,
                       "peer '%s': want ROLE or ROLE:CN, ROLE manager, host or dpu", spec);
    if (colon && !colon[1])
        return err_set(err, err_len, -EINVAL, "peer '%s': empty CN", spec);
    return authz_policy_add_peer(p, role, colon ? colon + 1 : NULL, err, err_len);
}

bool
authz_policy_allows(const struct authz_policy *p, unsigned role, const char *cn)
{
    for (unsigned i = 0; i < p->n_peers; i++) {
        const struct authz_peer *e = &p->peers[i];
        if (e->role == role && (!e->cn[0] || (cn && !strcmp(e->cn, cn))))
            return true;
    }
    return false;
}

json_t *
authz_policy_json(const struct authz_policy *p)
{
    json_t *a = json_array();
    for (unsigned i = 0; a && i < p->n_peers; i++) {
        char s[AUTHZ_CN_MAX + 16];
        const struct authz_peer *e = &p->peers[i];
        snprintf(s, sizeof s, "%s%s%s", authz_role_name(e->role), e->cn[0] ? ":" : "", e->cn);
        if (json_array_append_new(a, json_string(s)) < 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

int
authz_role_from_uris(const char *const *uris, size_t n, unsigned *role, char *err, size_t err_len)
{
    const size_t plen = strlen(AUTHZ_ROLE_URI_PREFIX);
    unsigned found = 0;
    for (size_t i = 0; i < n; i++) {
        if (strncmp(uris[i], AUTHZ_ROLE_URI_PREFIX, plen))
            continue;
        unsigned r;
        if (authz_role_parse(uris[i] + plen, &r) < 0)
            return err_set(err, err_len, -EINVAL, "unknown role '%.32s'", uris[i] + plen);
        if (found && found != r)
            return err_set(err, err_len, -EINVAL, "the certificate names several roles");
        found = r;
    }
    if (!found)
        return err_set(err, err_len, -ENOENT, "the certificate names no role (%s...)",
                       AUTHZ_ROLE_URI_PREFIX);
    *role = found;
    return 0;
}

void
authz_count(enum authz_reason reason)
{
    if ((unsigned)reason < AUTHZ_N_REASONS)
        atomic_fetch_add_explicit(&refused[reason], 1, memory_order_relaxed);
}

uint64_t
authz_refused(enum authz_reason reason)
{
    if ((unsigned)reason >= AUTHZ_N_REASONS)
        return 0;
    return atomic_load_explicit(&refused[reason], memory_order_relaxed);
}

const char *
authz_reason_name(enum authz_reason reason)
{
    return (unsigned)reason < AUTHZ_N_REASONS ? reason_names[reason] : "?";
}

json_t *
authz_refused_json(void)
{
    json_t *o = json_object();
    for (unsigned i = 0; o && i < AUTHZ_N_REASONS; i++) {
        if (json_object_set_new(o, reason_names[i], json_integer((json_int_t)authz_refused(i))) <
            0) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}
