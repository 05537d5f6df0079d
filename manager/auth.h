/* SPDX-License-Identifier: Apache-2.0 */
/*
 * auth: the secrets of the manager's users and the checks around a login
 * (DESIGN.md section 11).  Passwords are hashed with Argon2id (RFC 9106,
 * libargon2) and kept as PHC strings ("$argon2id$v=19$m=...,t=...,p=...$
 * SALT$HASH"), so that each hash names its own cost and a stronger default
 * applies to new hashes only.  API tokens are 32 random bytes shown once to
 * their owner ("dse_" and 64 hex digits); the manager keeps only their
 * SHA-256 (the token's id) and when they expire.  A limiter slows down
 * repeated failed logins, per user and per source address.
 *
 * Design: no storage and no clock here.  The store keeps hashes and token
 * ids; every time is passed in (ms), so that tests drive the limiter over a
 * simulated clock.
 *
 *   limiter, per key:  AUTH_FREE_TRIES failures free --> each further one
 *   doubles the wait (AUTH_WAIT_BASE_MS .. AUTH_WAIT_MAX_MS) --success--> forgotten
 *                      (and forgotten after AUTH_FORGET_MS without a failure)
 *
 * Thread-safety: the hashing and token functions are reentrant; a limiter
 * belongs to one thread at a time (the manager's event loop).
 */
#ifndef DSE_AUTH_H
#define DSE_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The cost of a new hash.  AUTH_COST_DEFAULT is RFC 9106's second
 * recommended option with one lane (the lab's machines have two cores):
 * about 0.1 s and 64 MiB per login.  Tests may use less. */
struct auth_cost {
    uint32_t t_cost;     /* passes */
    uint32_t m_cost_kib; /* memory */
    uint32_t lanes;
};
#define AUTH_COST_DEFAULT ((struct auth_cost){.t_cost = 3, .m_cost_kib = 65536, .lanes = 1})

#define AUTH_PASSWORD_MIN 10   /* characters a new password needs */
#define AUTH_PASSWORD_MAX 1024 /* bytes we hash at most */
#define AUTH_HASH_LEN 160      /* room for a PHC string of ours */

/* Whether 'password' may become a user's: AUTH_PASSWORD_MIN to
 * AUTH_PASSWORD_MAX bytes, no control character.  Returns 0, or -EINVAL
 * with the reason. */
int auth_password_acceptable(const char *password, char *err, size_t err_len);

/* Hashes 'password' (any bytes but NUL, at most AUTH_PASSWORD_MAX) with a
 * fresh random salt at 'cost' (NULL: AUTH_COST_DEFAULT) into 'out' (at least
 * AUTH_HASH_LEN bytes).  Returns 0, or -EINVAL (password too long, a cost
 * libargon2 refuses), -ENOSPC (out too small), -ENOMEM, -EIO (no randomness),
 * with the reason. */
int auth_password_hash(const char *password, const struct auth_cost *cost, char *out,
                       size_t out_len, char *err, size_t err_len);

/* Checks 'password' against PHC string 'encoded', in time independent of
 * where they differ.  Returns 0 (it matches), -EACCES (it does not), or
 * -EINVAL ('encoded' is no Argon2id string of ours). */
int auth_password_verify(const char *encoded, const char *password);

/* ---- API tokens ---- */

#define AUTH_TOKEN_PREFIX "dse_"
#define AUTH_TOKEN_LEN (4 + 64 + 1) /* "dse_", 64 hex digits, NUL */
#define AUTH_TOKEN_ID_LEN (64 + 1)  /* hex SHA-256, NUL */

/* A new token into 'token' and its id (what the store keeps) into 'id'.
 * Returns 0 or -EIO (no randomness). */
int auth_token_new(char token[AUTH_TOKEN_LEN], char id[AUTH_TOKEN_ID_LEN]);
/* The id of a presented token.  Returns 0, or -EINVAL when 'token' does not
 * look like one of ours (then it matches nothing). */
int auth_token_id(const char *token, char id[AUTH_TOKEN_ID_LEN]);
/* Whether a token that expires at 'expires_ms' (0: never) is valid at
 * 'now_ms'.  This function can't fail. */
bool auth_token_is_valid(uint64_t expires_ms, uint64_t now_ms);

/* ---- the login limiter ---- */

#define AUTH_FREE_TRIES 3
#define AUTH_WAIT_BASE_MS 1000
#define AUTH_WAIT_MAX_MS 60000
#define AUTH_FORGET_MS (15 * 60 * 1000)

struct auth_limiter;

/* A limiter that remembers at most 'capacity' keys (the oldest go first).
 * Returns NULL on ENOMEM. */
struct auth_limiter *auth_limiter_create(unsigned capacity);
void auth_limiter_destroy(struct auth_limiter *); /* accepts NULL */

/* How long key 'key' ("user:NAME", "addr:IP": the caller checks both) must
 * still wait at 'now_ms' before its next try: 0 when it may try now.  This
 * function can't fail. */
uint64_t auth_limiter_wait_ms(struct auth_limiter *, const char *key, uint64_t now_ms);
/* A failed try of 'key' at 'now_ms'.  This function can't fail (a full
 * limiter forgets its oldest key). */
void auth_limiter_failed(struct auth_limiter *, const char *key, uint64_t now_ms);
/* A successful try: 'key' starts over.  This function can't fail. */
void auth_limiter_succeeded(struct auth_limiter *, const char *key);

#endif
