/* SPDX-License-Identifier: Apache-2.0 */
/* auth: password hashes, API tokens, the login limiter (auth.h). */
#include "manager/auth.h"

#include <argon2.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

#define SALT_LEN 16
#define HASH_LEN 32
/* What auth_password_verify() accepts in a stored string: a stolen or
 * corrupted store must not make a login take gigabytes or minutes. */
#define MAX_M_KIB (1u << 20)
#define MAX_T 16
#define MAX_LANES 16

int
auth_password_acceptable(const char *password, char *err, size_t err_len)
{
    size_t n = strlen(password);
    if (n < AUTH_PASSWORD_MIN)
        return err_set(err, err_len, -EINVAL, "a password needs at least %d characters",
                       AUTH_PASSWORD_MIN);
    if (n > AUTH_PASSWORD_MAX)
        return err_set(err, err_len, -EINVAL, "a password has at most %d bytes", AUTH_PASSWORD_MAX);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)password[i] < 0x20 || password[i] == 0x7f)
            return err_set(err, err_len, -EINVAL, "a password has no control characters");
    return 0;
}

int
auth_password_hash(const char *password, const struct auth_cost *cost, char *out, size_t out_len,
                   char *err, size_t err_len)
{
    const struct auth_cost c = cost ? *cost : AUTH_COST_DEFAULT;
    size_t n = strlen(password);
    if (n > AUTH_PASSWORD_MAX)
        return err_set(err, err_len, -EINVAL, "a password has at most %d bytes", AUTH_PASSWORD_MAX);
    if (c.m_cost_kib > MAX_M_KIB || c.t_cost > MAX_T || c.lanes > MAX_LANES)
        return err_set(err, err_len, -EINVAL, "password hash: cost out of range");
    size_t need = argon2_encodedlen(c.t_cost, c.m_cost_kib, c.lanes, SALT_LEN, HASH_LEN, Argon2_id);
    if (need > out_len)
        return err_set(err, err_len, -ENOSPC, "password hash: %zu bytes needed", need);
    uint8_t salt[SALT_LEN];
    if (RAND_bytes(salt, sizeof salt) != 1)
        return err_set(err, err_len, -EIO, "password hash: no randomness");
    int rc = argon2id_hash_encoded(c.t_cost, c.m_cost_kib, c.lanes, password, n, salt, SALT_LEN,
                                   HASH_LEN, out, out_len);
    if (rc == ARGON2_MEMORY_ALLOCATION_ERROR)
        return err_set(err, err_len, -ENOMEM, "password hash: out of memory");
    if (rc != ARGON2_OK)
        return err_set(err, err_len, -EINVAL, "password hash: %s", argon2_error_message(rc));
    return 0;
}

/* Whether 'encoded' is an Argon2id PHC string within our limits: our
 * costs, a salt of 16 bytes and a hash of 32 (unpadded base64: 22 and 43
 * characters). */
static bool
is_ours(const char *encoded)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    unsigned long m, t, p;
    int used = 0;
    if (sscanf(encoded, "$argon2id$v=19$m=%lu,t=%lu,p=%lu$%n", &m, &t, &p, &used) != 3 || !used)
        return false;
    const char *salt = encoded + used;
    size_t ns = strspn(salt, b64);
    return m >= 8 && m <= MAX_M_KIB && t >= 1 && t <= MAX_T && p >= 1 && p <= MAX_LANES &&
           ns == 22 && salt[ns] == '$' && strspn(salt + ns + 1, b64) == 43 && !salt[ns + 44];
}

int
auth_password_verify(const char *encoded, const char *password)
{
    if (!encoded || !password || !is_ours(encoded) || strlen(password) > AUTH_PASSWORD_MAX)
        return -EINVAL;
    int rc = argon2id_verify(encoded, password, strlen(password));
    if (rc == ARGON2_OK)
        return 0;
    return rc == ARGON2_VERIFY_MISMATCH ? -EACCES : -EINVAL;
}

/* ---- API tokens ---- */

static void
hex(const uint8_t *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

int
auth_token_id(const char *token, char id[AUTH_TOKEN_ID_LEN])
{
    size_t plen = strlen(AUTH_TOKEN_PREFIX);
    if (!token || strlen(token) != AUTH_TOKEN_LEN - 1 || strncmp(token, AUTH_TOKEN_PREFIX, plen) ||
        strspn(token + plen, "0123456789abcdef") != AUTH_TOKEN_LEN - 1 - plen)
        return -EINVAL;
    uint8_t md[32];
    unsigned md_len = 0;
    if (!EVP_Digest(token, AUTH_TOKEN_LEN - 1, md, &md_len, EVP_sha256(), NULL) || md_len != 32)
        return -EINVAL;
    hex(md, sizeof md, id);
    return 0;
}

int
auth_token_new(char token[AUTH_TOKEN_LEN], char id[AUTH_TOKEN_ID_LEN])
{
    uint8_t r[32];
    if (RAND_bytes(r, sizeof r) != 1)
        return -EIO;
    memcpy(token, AUTH_TOKEN_PREFIX, strlen(AUTH_TOKEN_PREFIX));
    hex(r, sizeof r, token + strlen(AUTH_TOKEN_PREFIX));
    OPENSSL_cleanse(r, sizeof r);
    return auth_token_id(token, id);
}

bool
auth_token_is_valid(uint64_t expires_ms, uint64_t now_ms)
{
    return expires_ms == 0 || now_ms < expires_ms;
}

/* ---- the login limiter ---- */

struct limiter_entry {
    char key[128];
    unsigned failures;
    uint64_t next_ms; /* no try before */
    uint64_t last_ms; /* last failure */
};

struct auth_limiter {
    unsigned capacity, n;
    struct limiter_entry *e;
};

struct auth_limiter *
auth_limiter_create(unsigned capacity)
{
    struct auth_limiter *l = calloc(1, sizeof *l);
    if (!l || !capacity || !(l->e = calloc(capacity, sizeof *l->e))) {
        free(l);
        return NULL;
    }
    l->capacity = capacity;
    return l;
}

void
auth_limiter_destroy(struct auth_limiter *l)
{
    if (!l)
        return;
    free(l->e);
    free(l);
}

/* Key 'key''s entry, or NULL.  Entries idle for AUTH_FORGET_MS are dropped
 * on the way (a dropped entry makes room by moving the last one in). */
static struct limiter_entry *
find(struct auth_limiter *l, const char *key, uint64_t now_ms)
{
    for (unsigned i = 0; i < l->n;) {
        struct limiter_entry *e = &l->e[i];
        if (now_ms >= e->last_ms + AUTH_FORGET_MS) {
            *e = l->e[--l->n];
            continue;
        }
        if (!strncmp(e->key, key, sizeof e->key - 1))
            return e;
        i++;
    }
    return NULL;
}

uint64_t
auth_limiter_wait_ms(struct auth_limiter *l, const char *key, uint64_t now_ms)
{
    const struct limiter_entry *e = find(l, key, now_ms);
    return e && e->next_ms > now_ms ? e->next_ms - now_ms : 0;
}

void
auth_limiter_failed(struct auth_limiter *l, const char *key, uint64_t now_ms)
{
    struct limiter_entry *e = find(l, key, now_ms);
    if (!e) {
        if (l->n == l->capacity) { /* forget the key idle longest */
            unsigned oldest = 0;
            for (unsigned i = 1; i < l->n; i++)
                if (l->e[i].last_ms < l->e[oldest].last_ms)
                    oldest = i;
            l->e[oldest] = l->e[--l->n];
        }
        e = &l->e[l->n++];
        *e = (struct limiter_entry){0};
        snprintf(e->key, sizeof e->key, "%s", key);
    }
    e->failures++;
    e->last_ms = now_ms;
    if (e->failures > AUTH_FREE_TRIES) {
        unsigned shift = e->failures - AUTH_FREE_TRIES - 1;
        uint64_t wait = shift >= 16 ? AUTH_WAIT_MAX_MS : (uint64_t)AUTH_WAIT_BASE_MS << shift;
        e->next_ms = now_ms + (wait < AUTH_WAIT_MAX_MS ? wait : AUTH_WAIT_MAX_MS);
    }
}

void
auth_limiter_succeeded(struct auth_limiter *l, const char *key)
{
    for (unsigned i = 0; i < l->n; i++)
        if (!strncmp(l->e[i].key, key, sizeof l->e[i].key - 1)) {
            l->e[i] = l->e[--l->n];
            return;
        }
}
