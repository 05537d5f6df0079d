/* SPDX-License-Identifier: Apache-2.0 */
/*
 * auth: Argon2id password hashes (a cheap cost: the default takes 64 MiB),
 * API tokens, and the login limiter over a simulated clock.
 */
#include "tests/unit/check.h"
#include "lib/util.h"
#include "manager/auth.h"

static const struct auth_cost cheap = {.t_cost = 1, .m_cost_kib = 64, .lanes = 1};

static void
a_password_matches_its_hash_only(void)
{
    char h[AUTH_HASH_LEN], err[ERR_LEN];
    ASSERT_EQ(auth_password_hash("correct horse battery", &cheap, h, sizeof h, err, sizeof err), 0);
    ASSERT_EQ(strncmp(h, "$argon2id$v=19$m=64,t=1,p=1$", 28), 0);
    ASSERT_EQ(auth_password_verify(h, "correct horse battery"), 0);
    ASSERT_EQ(auth_password_verify(h, "correct horse batterz"), -EACCES);
    ASSERT_EQ(auth_password_verify(h, ""), -EACCES);
    /* The same password again: another salt, another string, both match. */
    char h2[AUTH_HASH_LEN];
    ASSERT_EQ(auth_password_hash("correct horse battery", &cheap, h2, sizeof h2, err, sizeof err),
              0);
    ASSERT_TRUE(strcmp(h, h2) != 0);
    ASSERT_EQ(auth_password_verify(h2, "correct horse battery"), 0);
}

static void
the_default_cost_is_rfc9106s(void)
{
    char h[AUTH_HASH_LEN], err[ERR_LEN];
    ASSERT_EQ(auth_password_hash("a long enough one", NULL, h, sizeof h, err, sizeof err), 0);
    ASSERT_EQ(strncmp(h, "$argon2id$v=19$m=65536,t=3,p=1$", 31), 0);
    ASSERT_EQ(auth_password_verify(h, "a long enough one"), 0);
}

static void
stored_strings_not_ours_are_refused(void)
{
    char h[AUTH_HASH_LEN], err[ERR_LEN];
    ASSERT_EQ(auth_password_hash("correct horse battery", &cheap, h, sizeof h, err, sizeof err), 0);
    ASSERT_EQ(auth_password_verify("", "x"), -EINVAL);
    ASSERT_EQ(auth_password_verify("$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaA", "x"), -EINVAL);
    /* A cost that would take gigabytes: refused before any work. */
    ASSERT_EQ(auth_password_verify("$argon2id$v=19$m=4194304,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaA", "x"),
              -EINVAL);
    char cut[AUTH_HASH_LEN];
    snprintf(cut, sizeof cut, "%.*s", (int)strlen(h) - 5, h);
    ASSERT_EQ(auth_password_verify(cut, "correct horse battery"), -EINVAL);
    ASSERT_EQ(auth_password_verify(NULL, "x"), -EINVAL);
}

static void
hashing_refuses_what_it_cannot_do(void)
{
    char h[AUTH_HASH_LEN], err[ERR_LEN] = "";
    ASSERT_EQ(auth_password_hash("correct horse battery", &cheap, h, 20, err, sizeof err), -ENOSPC);
    ASSERT_TRUE(strstr(err, "bytes needed") != NULL);
    char big[AUTH_PASSWORD_MAX + 2];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    ASSERT_EQ(auth_password_hash(big, &cheap, h, sizeof h, err, sizeof err), -EINVAL);
    struct auth_cost huge = {.t_cost = 1, .m_cost_kib = 1u << 22, .lanes = 1};
    ASSERT_EQ(auth_password_hash("correct horse battery", &huge, h, sizeof h, err, sizeof err),
              -EINVAL);
}

static void
acceptable_passwords(void)
{
    char err[ERR_LEN] = "";
    ASSERT_EQ(auth_password_acceptable("0123456789", err, sizeof err), 0);
    ASSERT_EQ(auth_password_acceptable("012345678", err, sizeof err), -EINVAL);
    ASSERT_TRUE(strstr(err, "at least 10") != NULL);
    ASSERT_EQ(auth_password_acceptable("0123456789\n", err, sizeof err), -EINVAL);
    ASSERT_TRUE(strstr(err, "control") != NULL);
}

static void
a_token_is_known_by_its_id_only(void)
{
    char t[AUTH_TOKEN_LEN], id[AUTH_TOKEN_ID_LEN], id2[AUTH_TOKEN_ID_LEN];
    ASSERT_EQ(auth_token_new(t, id), 0);
    ASSERT_EQ(strlen(t), AUTH_TOKEN_LEN - 1);
    ASSERT_EQ(strncmp(t, "dse_", 4), 0);
    ASSERT_EQ(auth_token_id(t, id2), 0);
    ASSERT_STREQ(id, id2);
    ASSERT_TRUE(strstr(id, t + 4) == NULL); /* the id is no part of the token */
    char t2[AUTH_TOKEN_LEN], id3[AUTH_TOKEN_ID_LEN];
    ASSERT_EQ(auth_token_new(t2, id3), 0);
    ASSERT_TRUE(strcmp(t, t2) != 0 && strcmp(id, id3) != 0);
    /* One digit changed: another id. */
    t[10] = t[10] == '0' ? '1' : '0';
    ASSERT_EQ(auth_token_id(t, id2), 0);
    ASSERT_TRUE(strcmp(id, id2) != 0);
}

static void
malformed_tokens_match_nothing(void)
{
    char id[AUTH_TOKEN_ID_LEN];
    ASSERT_EQ(auth_token_id("", id), -EINVAL);
    ASSERT_EQ(auth_token_id(NULL, id), -EINVAL);
    ASSERT_EQ(auth_token_id("dse_0123", id), -EINVAL);
    char t[AUTH_TOKEN_LEN];
    memset(t, 'a', sizeof t - 1);
    t[sizeof t - 1] = '\0';
    ASSERT_EQ(auth_token_id(t, id), -EINVAL); /* no prefix */
    memcpy(t, "dse_", 4);
    ASSERT_EQ(auth_token_id(t, id), 0);
    t[20] = 'G';
    ASSERT_EQ(auth_token_id(t, id), -EINVAL);
}

static void
tokens_expire(void)
{
    ASSERT_TRUE(auth_token_is_valid(0, 123456789));
    ASSERT_TRUE(auth_token_is_valid(1000, 999));
    ASSERT_FALSE(auth_token_is_valid(1000, 1000));
    ASSERT_FALSE(auth_token_is_valid(1000, 5000));
}

static void
failed_logins_wait_longer_and_longer(void)
{
    struct auth_limiter *l = auth_limiter_create(16);
    ASSERT_NOT_NULL(l);
    uint64_t t = 1000000;
    for (int i = 0; i < AUTH_FREE_TRIES; i++) {
        ASSERT_EQ(auth_limiter_wait_ms(l, "user:alice", t), 0);
        auth_limiter_failed(l, "user:alice", t);
    }
    ASSERT_EQ(auth_limiter_wait_ms(l, "user:alice", t), 0); /* the free tries are free */
    uint64_t want = AUTH_WAIT_BASE_MS;
    for (int i = 0; i < 10; i++) {
        auth_limiter_failed(l, "user:alice", t);
        ASSERT_EQ(auth_limiter_wait_ms(l, "user:alice", t), want);
        ASSERT_EQ(auth_limiter_wait_ms(l, "user:bob", t), 0); /* keys are apart */
        t += want;
        ASSERT_EQ(auth_limiter_wait_ms(l, "user:alice", t), 0);
        want = want * 2 > AUTH_WAIT_MAX_MS ? AUTH_WAIT_MAX_MS : want * 2;
    }
    ASSERT_EQ(want, AUTH_WAIT_MAX_MS);
    auth_limiter_succeeded(l, "user:alice");
    auth_limiter_failed(l, "user:alice", t);
    ASSERT_EQ(auth_limiter_wait_ms(l, "user:alice", t), 0); /* starts over */
    auth_limiter_destroy(l);
}

static void
the_limiter_forgets_idle_keys_and_the_oldest(void)
{
    struct auth_limiter *l = auth_limiter_create(2);
    uint64_t t = 5000;
    for (int i = 0; i <= AUTH_FREE_TRIES; i++)
        auth_limiter_failed(l, "addr:198.19.0.50", t);
    ASSERT_EQ(auth_limiter_wait_ms(l, "addr:198.19.0.50", t), AUTH_WAIT_BASE_MS);
    /* Quiet for AUTH_FORGET_MS: forgotten. */
    t += AUTH_FORGET_MS;
    auth_limiter_failed(l, "addr:198.19.0.50", t);
    ASSERT_EQ(auth_limiter_wait_ms(l, "addr:198.19.0.50", t), 0);
    /* Full: a new key pushes the one idle longest out. */
    for (int i = 0; i <= AUTH_FREE_TRIES; i++)
        auth_limiter_failed(l, "addr:a", t + 1);
    for (int i = 0; i <= AUTH_FREE_TRIES; i++)
        auth_limiter_failed(l, "addr:b", t + 2);
    ASSERT_EQ(auth_limiter_wait_ms(l, "addr:a", t + 2), AUTH_WAIT_BASE_MS - 1);
    ASSERT_EQ(auth_limiter_wait_ms(l, "addr:b", t + 2), AUTH_WAIT_BASE_MS);
    auth_limiter_failed(l, "addr:c", t + 3);
    ASSERT_EQ(auth_limiter_wait_ms(l, "addr:a", t + 3), 0);                     /* pushed out */
    ASSERT_EQ(auth_limiter_wait_ms(l, "addr:b", t + 3), AUTH_WAIT_BASE_MS - 1); /* kept */
    auth_limiter_destroy(l);
    auth_limiter_destroy(NULL);
}

TEST_MAIN(TEST(a_password_matches_its_hash_only), TEST(the_default_cost_is_rfc9106s),
          TEST(stored_strings_not_ours_are_refused), TEST(hashing_refuses_what_it_cannot_do),
          TEST(acceptable_passwords), TEST(a_token_is_known_by_its_id_only),
          TEST(malformed_tokens_match_nothing), TEST(tokens_expire),
          TEST(failed_logins_wait_longer_and_longer),
          TEST(the_limiter_forgets_idle_keys_and_the_oldest))
