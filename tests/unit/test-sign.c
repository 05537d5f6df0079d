/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of lcm/sign: Ed25519 key files and signatures. */
#include "tests/unit/check.h"
#include "lcm/sign.h"

#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

struct keydir {
    char dir[64], key[96], pub[96];
};

static bool
keydir_init(struct keydir *k)
{
    snprintf(k->dir, sizeof k->dir, "/tmp/dse-test-sign-XXXXXX");
    if (!mkdtemp(k->dir))
        return false;
    snprintf(k->key, sizeof k->key, "%s/k.key", k->dir);
    snprintf(k->pub, sizeof k->pub, "%s/k.pub", k->dir);
    return true;
}

static void
keydir_fini(struct keydir *k)
{
    nftw(k->dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

static void
sign_key_round_trips_through_pem(void)
{
    struct keydir kd;
    ASSERT_TRUE(keydir_init(&kd));
    struct sign_key *k, *priv, *pub;
    char err[256];
    ASSERT_EQ(sign_key_generate(&k), 0);
    ASSERT_EQ(sign_key_save(k, kd.key, kd.pub), 0);
    struct stat st;
    ASSERT_EQ(stat(kd.key, &st), 0);
    ASSERT_EQ(st.st_mode & 0777, 0600);
    ASSERT_EQ(sign_key_load_private(kd.key, &priv, err, sizeof err), 0);
    ASSERT_EQ(sign_key_load_public(kd.pub, &pub, err, sizeof err), 0);
    ASSERT_TRUE(sign_key_is_private(priv));
    ASSERT_FALSE(sign_key_is_private(pub));

    uint8_t sig[SIGN_SIG_LEN];
    ASSERT_EQ(sign_bytes(priv, "manifest", 8, sig), 0);
    ASSERT_TRUE(sign_verify(pub, "manifest", 8, sig, sizeof sig));
    ASSERT_TRUE(sign_verify(k, "manifest", 8, sig, sizeof sig));
    ASSERT_FALSE(sign_verify(pub, "manifesT", 8, sig, sizeof sig));
    ASSERT_FALSE(sign_verify(pub, "manifest", 8, sig, sizeof sig - 1));
    sig[10] ^= 1;
    ASSERT_FALSE(sign_verify(pub, "manifest", 8, sig, sizeof sig));
    ASSERT_EQ(sign_bytes(pub, "x", 1, sig), -EINVAL);

    /* Ed25519 is deterministic: the same key signs the same bytes alike. */
    uint8_t sig1[SIGN_SIG_LEN], sig2[SIGN_SIG_LEN];
    ASSERT_EQ(sign_bytes(k, "abc", 3, sig1), 0);
    ASSERT_EQ(sign_bytes(priv, "abc", 3, sig2), 0);
    ASSERT_EQ(memcmp(sig1, sig2, sizeof sig1), 0);

    sign_key_destroy(k);
    sign_key_destroy(priv);
    sign_key_destroy(pub);
    sign_key_destroy(NULL);
    keydir_fini(&kd);
}

static void
sign_verify_refuses_another_key(void)
{
    struct sign_key *a, *b;
    ASSERT_EQ(sign_key_generate(&a), 0);
    ASSERT_EQ(sign_key_generate(&b), 0);
    uint8_t sig[SIGN_SIG_LEN];
    ASSERT_EQ(sign_bytes(a, "x", 1, sig), 0);
    ASSERT_FALSE(sign_verify(b, "x", 1, sig, sizeof sig));
    sign_key_destroy(a);
    sign_key_destroy(b);
}

static void
sign_key_save_never_overwrites(void)
{
    struct keydir kd;
    ASSERT_TRUE(keydir_init(&kd));
    struct sign_key *k;
    ASSERT_EQ(sign_key_generate(&k), 0);
    FILE *f = fopen(kd.pub, "w");
    fputs("precious", f);
    fclose(f);
    ASSERT_EQ(sign_key_save(k, kd.key, kd.pub), -EEXIST);
    ASSERT_EQ(access(kd.key, F_OK), -1);
    struct sign_key *pub;
    char err[256];
    ASSERT_EQ(sign_key_load_public(kd.pub, &pub, err, sizeof err), -EINVAL);
    sign_key_destroy(k);
    keydir_fini(&kd);
}

static void
sign_key_load_refuses_wrong_files(void)
{
    struct keydir kd;
    ASSERT_TRUE(keydir_init(&kd));
    struct sign_key *k, *x = NULL;
    char err[256] = "";
    ASSERT_EQ(sign_key_generate(&k), 0);
    ASSERT_EQ(sign_key_save(k, kd.key, kd.pub), 0);
    /* A public key is not a private one, and the other way round. */
    ASSERT_EQ(sign_key_load_private(kd.pub, &x, err, sizeof err), -EINVAL);
    ASSERT_TRUE(strstr(err, "not an unencrypted Ed25519 private key") != NULL);
    ASSERT_EQ(sign_key_load_public(kd.key, &x, err, sizeof err), -EINVAL);
    ASSERT_EQ(sign_key_load_public("/nonexistent/k.pub", &x, err, sizeof err), -ENOENT);
    ASSERT_TRUE(strstr(err, "/nonexistent/k.pub") != NULL);
    ASSERT_NULL(x);
    sign_key_destroy(k);
    keydir_fini(&kd);
}

TEST_MAIN(TEST(sign_key_round_trips_through_pem), TEST(sign_verify_refuses_another_key),
          TEST(sign_key_save_never_overwrites), TEST(sign_key_load_refuses_wrong_files))
