/* SPDX-License-Identifier: Apache-2.0 */
/* join: tokens, certificates from CSRs, revocation and the CRL (join.h). */
#include "manager/join.h"

#include <errno.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/authz.h"
#include "lib/identity.h"
#include "lib/util.h"
#include "manager/inventory.h"

#define CERT_PREFIX STORE_KEY_PREFIX "cert/"
#define TOKEN_PREFIX STORE_KEY_PREFIX "jointoken/"
#define CRL_KEY STORE_KEY_PREFIX "crl/cluster"

/* The store key of the token whose secret is 'secret'. */
static void
token_key(const char *secret, char key[STORE_KEY_MAX])
{
    unsigned char md[32];
    unsigned n = 0;
    char hex[65];
    EVP_Digest(secret, strlen(secret), md, &n, EVP_sha256(), NULL);
    hex_format(md, sizeof md, hex);
    snprintf(key, STORE_KEY_MAX, "%s%s", TOKEN_PREFIX, hex);
}

/* The unused tokens of a host, to delete when it gets a new one. */
struct host_tokens {
    const char *host;
    json_t *keys; /* [[KEY, REV]] */
};

static int
collect_token(const struct store_kv *kv, void *aux)
{
    struct host_tokens *ht = aux;
    json_t *v = json_loads(kv->value, 0, NULL);
    const char *h = json_string_value(json_object_get(v, "host"));
    if (h && !strcmp(h, ht->host))
        json_array_append_new(ht->keys, json_pack("[s,I]", kv->key, (json_int_t)kv->mod_revision));
    json_decref(v);
    return 0;
}

int
join_token_create(struct store *st, struct ca *ca, const char *host, uint64_t now_ms,
                  uint64_t ttl_ms, const struct store_actor *actor, char token[JOIN_TOKEN_LEN],
                  int64_t *expires_ms, char *err, size_t err_len)
{
    char hkey[STORE_KEY_MAX], key[STORE_KEY_MAX], pem[CA_PEM_MAX], pin[IDENTITY_SHA256_HEX];
    char secret[IDENTITY_SECRET_HEX];
    unsigned char raw[16];
    int rc = inv_key(INV_HOST, host, hkey, sizeof hkey, err, err_len);
    struct store_kv kv = {0};
    if (rc == 0 && (rc = store_get(st, hkey, &kv, err, err_len)) == -ENOENT)
        err_set(err, err_len, -ENOENT, "no host %s", host);
    store_kv_fini(&kv);
    if (rc < 0 || (rc = ca_cert_pem(ca, pem, sizeof pem, err, err_len)) < 0 ||
        (rc = identity_cert_sha256(pem, strlen(pem), pin, err, err_len)) < 0)
        return rc;
    if (RAND_bytes(raw, sizeof raw) != 1)
        return err_set(err, err_len, -EIO, "no randomness");
    hex_format(raw, sizeof raw, secret);
    snprintf(token, JOIN_TOKEN_LEN, "%s%s.%s", IDENTITY_TOKEN_PREFIX, secret, pin);
    token_key(secret, key);
    *expires_ms = (int64_t)(now_ms + ttl_ms);

    struct host_tokens ht = {.host = host, .keys = json_array()};
    rc = store_each(st, TOKEN_PREFIX, collect_token, &ht, err, err_len);
    json_t *v = json_pack("{s:s,s:I}", "host", host, "expires_ms", (json_int_t)*expires_ms);
    char *text = json_dumps(v, JSON_COMPACT);
    struct store_txn *t = text ? store_txn_begin(st) : NULL;
    if (rc == 0 && !t)
        rc = err_set(err, err_len, -ENOMEM, "out of memory");
    size_t i;
    json_t *old;
    json_array_foreach (rc == 0 ? ht.keys : NULL, i, old)
        if ((rc = store_txn_delete(t, json_string_value(json_array_get(old, 0)),
                                   json_integer_value(json_array_get(old, 1)), err, err_len)) < 0)
            break;
    if (rc == 0 && (rc = store_txn_put(t, key, text, STORE_MUST_NOT_EXIST, err, err_len)) == 0)
        rc = store_txn_commit(t, actor, NULL, err, err_len);
    else
        store_txn_abort(t);
    OPENSSL_cleanse(secret, sizeof secret);
    free(text);
    json_decref(v);
    json_decref(ht.keys);
    return rc;
}

/* ---- revocation ---- */

/* The certificates of an object (and, for a host, of its DPUs) still in
 * force. */
struct object_certs {
    const char *key;          /* the object's */
    char dpus[STORE_KEY_MAX]; /* "/dse/v1/dpu/HOST/" for a host, else "" */
    json_t *found;            /* [[CERTKEY, REV, VALUE]] */
};

static int
collect_cert(const struct store_kv *kv, void *aux)
{
    struct object_certs *oc = aux;
    json_t *v = json_loads(kv->value, 0, NULL);
    const char *o = json_string_value(json_object_get(v, "object"));
    if (o && !json_object_get(v, "revoked_ms") &&
        (!strcmp(o, oc->key) || (oc->dpus[0] && !strncmp(o, oc->dpus, strlen(oc->dpus)))))
        json_array_append_new(oc->found,
                              json_pack("[s,I,O]", kv->key, (json_int_t)kv->mod_revision, v));
    json_decref(v);
    return 0;
}

/* The CRL record: its number, serials (new reference) and version. */
static int
crl_load(struct store *st, int64_t *number, json_t **serials, int64_t *rev, char **pem, char *err,
         size_t err_len)
{
    struct store_kv kv = {0};
    int rc = store_get(st, CRL_KEY, &kv, err, err_len);
    *number = 0;
    *rev = STORE_MUST_NOT_EXIST;
    *serials = NULL;
    if (pem)
        *pem = NULL;
    if (rc == -ENOENT) {
        *serials = json_array();
        return 0;
    }
    json_t *v = rc == 0 ? json_loads(kv.value, 0, NULL) : NULL;
    if (rc == 0 && !v)
        rc = err_set(err, err_len, -EIO, "%s: not JSON", CRL_KEY);
    if (rc == 0) {
        *number = json_integer_value(json_object_get(v, "number"));
        *serials = json_incref(json_object_get(v, "serials"));
        *rev = kv.mod_revision;
        if (pem && json_string_value(json_object_get(v, "pem")))
            *pem = xstrdup(json_string_value(json_object_get(v, "pem")));
        if (!json_is_array(*serials)) {
            json_decref(*serials);
            *serials = json_array();
        }
    }
    json_decref(v);
    store_kv_fini(&kv);
    return rc;
}

int
join_crl(struct store *st, int64_t *number, char **pem, char *err, size_t err_len)
{
    json_t *serials;
    int64_t rev;
    int rc = crl_load(st, number, &serials, &rev, pem, err, err_len);
    json_decref(serials);
    return rc;
}

int
join_revoke_txn(struct store *st, struct ca *ca, struct store_txn *t, const char *key,
                uint64_t now_ms, bool *revoked, char *err, size_t err_len)
{
    struct object_certs oc = {.key = key, .found = json_array()};
    static const char hp[] = STORE_KEY_PREFIX "host/";
    if (!strncmp(key, hp, sizeof hp - 1))
        snprintf(oc.dpus, sizeof oc.dpus, "%sdpu/%s/", STORE_KEY_PREFIX, key + sizeof hp - 1);
    *revoked = false;
    json_t *serials = NULL;
    int64_t number, rev;
    int rc = store_each(st, CERT_PREFIX, collect_cert, &oc, err, err_len);
    if (rc == 0 && json_array_size(oc.found))
        rc = crl_load(st, &number, &serials, &rev, NULL, err, err_len);
    size_t i;
    json_t *f;
    json_array_foreach (rc == 0 ? oc.found : NULL, i, f) {
        const char *ck = json_string_value(json_array_get(f, 0));
        json_t *v = json_array_get(f, 2);
        json_object_set_new(v, "revoked_ms", json_integer((json_int_t)now_ms));
        char *text = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
        rc = text ? store_txn_put(t, ck, text, json_integer_value(json_array_get(f, 1)), err,
                                  err_len)
                  : err_set(err, err_len, -ENOMEM, "out of memory");
        free(text);
        if (rc < 0)
            break;
        json_array_append_new(serials, json_string(ck + strlen(CERT_PREFIX)));
    }
    if (rc == 0 && json_array_size(oc.found)) {
        size_t n = json_array_size(serials), len = CA_CRL_PEM_LEN(n);
        const char **list = xcalloc(n ? n : 1, sizeof *list);
        char *pem = xmalloc(len);
        json_array_foreach (serials, i, f)
            list[i] = json_string_value(f);
        rc = ca_crl_pem(ca, list, n, number + 1, (int64_t)(now_ms / 1000), JOIN_CRL_DAYS, pem, len,
                        err, err_len);
        json_t *v = rc == 0 ? json_pack("{s:I,s:O,s:s}", "number", (json_int_t)(number + 1),
                                        "serials", serials, "pem", pem)
                            : NULL;
        char *text = v ? json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        if (rc == 0)
            rc = text ? store_txn_put(t, CRL_KEY, text, rev, err, err_len)
                      : err_set(err, err_len, -ENOMEM, "out of memory");
        *revoked = rc == 0;
        free(text);
        json_decref(v);
        free(pem);
        free(list);
    }
    json_decref(serials);
    json_decref(oc.found);
    return rc;
}

/* ---- a join ---- */

/* Signs 'csr' for 'cn' with 'role' (and 'ip'), and adds its record for
 * 'object' to 't'.  The certificate goes into 'certs' under 'name'. */
static int
sign_one(struct store_txn *t, struct ca *ca, const char *csr, const char *cn, unsigned role,
         const char *ip, const char *object, uint64_t now_ms, json_t *certs, const char *name,
         char serial[CA_SERIAL_HEX_LEN], char *err, size_t err_len)
{
    char pem[CA_PEM_MAX], key[STORE_KEY_MAX];
    int rc = ca_sign_csr(ca, csr, strlen(csr), cn, role, ip, JOIN_CERT_DAYS, pem, sizeof pem,
                         serial, err, err_len);
    if (rc < 0)
        return rc;
    json_object_set_new(certs, name, json_string(pem));
    snprintf(key, sizeof key, "%s%s", CERT_PREFIX, serial);
    json_t *v = json_pack("{s:s,s:s,s:s,s:I}", "object", object, "cn", cn, "role",
                          authz_role_name(role), "issued_ms", (json_int_t)now_ms);
    char *text = v ? json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    rc = text ? store_txn_put(t, key, text, STORE_MUST_NOT_EXIST, err, err_len)
              : err_set(err, err_len, -ENOMEM, "out of memory");
    free(text);
    json_decref(v);
    return rc;
}

/* The DPU's inventory object from what its host reported. */
static int
put_dpu(struct store_txn *t, const char *host, const char *name, json_t *d, char *err,
        size_t err_len)
{
    char dname[2 * INV_NAME_MAX + 2], key[STORE_KEY_MAX];
    snprintf(dname, sizeof dname, "%s/%s", host, name);
    json_t *spec = json_object();
    static const char *const fields[] = {"vendor", "model", "firmware"};
    for (size_t i = 0; i < ARRAY_SIZE(fields); i++)
        if (json_is_string(json_object_get(d, fields[i])))
            json_object_set(spec, fields[i], json_object_get(d, fields[i]));
    int rc = inv_key(INV_DPU, dname, key, sizeof key, err, err_len);
    if (rc == 0)
        rc = inv_validate(INV_DPU, spec, err, err_len);
    char *text = rc == 0 ? json_dumps(spec, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    if (rc == 0)
        rc = text ? store_txn_put(t, key, text, STORE_ANY_VERSION, err, err_len)
                  : err_set(err, err_len, -ENOMEM, "out of memory");
    free(text);
    json_decref(spec);
    return rc;
}

/* The request's parts, checked: the token's record and the host. */
struct join_req {
    const char *csr;
    json_t *dpus;
    char token_key[STORE_KEY_MAX];
    int64_t token_rev;
    char host[INV_NAME_MAX + 1];
    json_t *host_obj;
};

static int
check_request(struct store *st, json_t *req, uint64_t now_ms, struct join_req *j, char *err,
              size_t err_len)
{
    const char *token = json_string_value(json_object_get(req, "token"));
    char secret[IDENTITY_SECRET_HEX], pin[IDENTITY_SHA256_HEX];
    j->csr = json_string_value(json_object_get(req, "csr"));
    j->dpus = json_object_get(req, "dpus");
    if (!token || !j->csr || (j->dpus && !json_is_object(j->dpus)))
        return err_set(err, err_len, -EINVAL,
                       "a join wants {\"token\", \"csr\", \"dpus\": {NAME: {\"csr\"}}}");
    if (json_object_size(j->dpus) > JOIN_MAX_DPUS)
        return err_set(err, err_len, -EINVAL, "dpus: at most %d", JOIN_MAX_DPUS);
    const char *name;
    json_t *d;
    json_object_foreach (j->dpus, name, d)
        if (!name_is_valid(name, 15) || !json_is_string(json_object_get(d, "csr")))
            return err_set(err, err_len, -EINVAL, "dpus: a DPU is NAME: {\"csr\": PEM}");
    if (identity_token_parse(token, secret, pin) < 0)
        return err_set(err, err_len, -EACCES, "not a join token");
    token_key(secret, j->token_key);
    OPENSSL_cleanse(secret, sizeof secret);
    struct store_kv kv = {0};
    int rc = store_get(st, j->token_key, &kv, err, err_len);
    json_t *v = rc == 0 ? json_loads(kv.value, 0, NULL) : NULL;
    j->token_rev = kv.mod_revision;
    store_kv_fini(&kv);
    const char *host = json_string_value(json_object_get(v, "host"));
    if (rc == -ENOENT || (rc == 0 && !host))
        rc = err_set(err, err_len, -EACCES, "unknown or used join token");
    else if (rc == 0 && json_integer_value(json_object_get(v, "expires_ms")) <= (int64_t)now_ms)
        rc = err_set(err, err_len, -EACCES, "join token expired: ask for a new one");
    if (rc == 0) {
        snprintf(j->host, sizeof j->host, "%s", host);
        char hkey[STORE_KEY_MAX];
        inv_key(INV_HOST, j->host, hkey, sizeof hkey, NULL, 0);
        if ((rc = store_get(st, hkey, &kv, err, err_len)) == -ENOENT)
            err_set(err, err_len, -ENOENT, "host %s is gone from the inventory", j->host);
        if (rc == 0)
            j->host_obj = json_loads(kv.value, 0, NULL);
        store_kv_fini(&kv);
    }
    json_decref(v);
    return rc;
}

int
join_host(struct store *st, struct ca *ca, json_t *req, const char *peer, uint64_t now_ms,
          json_t **reply, char *err, size_t err_len)
{
    struct join_req j = {0};
    int rc = check_request(st, req, now_ms, &j, err, err_len);
    if (rc < 0)
        return rc;
    const char *cn = json_string_value(json_object_get(j.host_obj, "cn"));
    const char *ip = json_string_value(json_object_get(j.host_obj, "address"));
    char hkey[STORE_KEY_MAX], hcn[INV_NAME_MAX + 1], serial[CA_SERIAL_HEX_LEN];
    char ds[CA_SERIAL_HEX_LEN];
    snprintf(hcn, sizeof hcn, "%s", cn ? cn : j.host);
    inv_key(INV_HOST, j.host, hkey, sizeof hkey, NULL, 0);
    json_t *certs = json_object(), *dcerts = json_object();
    struct store_txn *t = store_txn_begin(st);
    bool revoked = false;
    if (!t)
        rc = err_set(err, err_len, -ENOMEM, "out of memory");
    if (rc == 0)
        rc = store_txn_delete(t, j.token_key, j.token_rev, err, err_len);
    if (rc == 0)
        rc = join_revoke_txn(st, ca, t, hkey, now_ms, &revoked, err, err_len);
    if (rc == 0)
        rc = sign_one(t, ca, j.csr, hcn, AUTHZ_HOST, ip, hkey, now_ms, certs, "host", serial, err,
                      err_len);
    const char *name;
    json_t *d;
    json_object_foreach (rc == 0 ? j.dpus : NULL, name, d) {
        char dcn[AUTHZ_CN_MAX], dkey[STORE_KEY_MAX];
        snprintf(dcn, sizeof dcn, "%s-%s", hcn, name);
        snprintf(dkey, sizeof dkey, "%sdpu/%s/%s", STORE_KEY_PREFIX, j.host, name);
        if ((rc = sign_one(t, ca, json_string_value(json_object_get(d, "csr")), dcn, AUTHZ_DPU,
                           NULL, dkey, now_ms, dcerts, name, ds, err, err_len)) < 0 ||
            (rc = put_dpu(t, j.host, name, d, err, err_len)) < 0)
            break;
    }
    int64_t rev = 0;
    char who[INV_NAME_MAX + 8];
    snprintf(who, sizeof who, "host:%s", j.host);
    struct store_actor actor = {.who = who, .from = peer, .what = "host.join"};
    if (rc == 0)
        rc = store_txn_commit(t, &actor, &rev, err, err_len);
    else
        store_txn_abort(t);
    if (rc == -ESTALE || rc == -ENOENT) /* another join used the token first */
        rc = err_set(err, err_len, -EACCES, "unknown or used join token");
    char capem[CA_PEM_MAX];
    char *crl = NULL;
    int64_t number = 0;
    if (rc == 0 && (rc = ca_cert_pem(ca, capem, sizeof capem, err, err_len)) == 0 &&
        (rc = join_crl(st, &number, &crl, err, err_len)) == 0)
        *reply = json_pack("{s:s,s:s,s:O,s:s,s:s,s:O,s:s*,s:I}", "host", j.host, "cn", hcn, "cert",
                           json_object_get(certs, "host"), "serial", serial, "ca", capem, "dpus",
                           dcerts, "crl", crl, "revision", (json_int_t)rev);
    free(crl);
    json_decref(certs);
    json_decref(dcerts);
    json_decref(j.host_obj);
    return rc;
}
