/* SPDX-License-Identifier: Apache-2.0 */
/* sign: Ed25519 key files, signatures and their checks with OpenSSL 3. */
#include "lcm/sign.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lcm/lcm-private.h"
#include "lib/util.h"

struct sign_key {
    EVP_PKEY *pkey;
    bool is_private;
};

static int
key_wrap(EVP_PKEY *pkey, bool is_private, struct sign_key **out)
{
    struct sign_key *k = malloc(sizeof *k);
    if (!k) {
        EVP_PKEY_free(pkey);
        return -ENOMEM;
    }
    k->pkey = pkey;
    k->is_private = is_private;
    *out = k;
    return 0;
}

int
sign_key_generate(struct sign_key **out)
{
    EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    if (!pkey) {
        ERR_clear_error();
        return -EIO;
    }
    return key_wrap(pkey, true, out);
}

void
sign_key_destroy(struct sign_key *key)
{
    if (!key)
        return;
    EVP_PKEY_free(key->pkey);
    free(key);
}

bool
sign_key_is_private(const struct sign_key *key)
{
    return key->is_private;
}

/* ---- files ------------------------------------------------------------- */

/* PEM text of 'key' into a memory BIO: the private or the public half. */
static BIO *
key_pem(const struct sign_key *key, bool private_half)
{
    BIO *bio = BIO_new(BIO_s_mem());
    if (!bio)
        return NULL;
    int ok = private_half ? PEM_write_bio_PrivateKey(bio, key->pkey, NULL, NULL, 0, NULL, NULL)
                          : PEM_write_bio_PUBKEY(bio, key->pkey);
    if (!ok) {
        BIO_free(bio);
        ERR_clear_error();
        return NULL;
    }
    return bio;
}

static int
write_all(int fd, const char *p, size_t len)
{
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* Creates 'path' (which must not exist) with 'mode' and writes 'bio' into it. */
static int
write_pem(const char *path, unsigned mode, BIO *bio)
{
    char *data;
    long len = BIO_get_mem_data(bio, &data);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0)
        return -errno;
    int rc = fchmod(fd, mode) < 0 ? -errno : 0;
    if (!rc)
        rc = write_all(fd, data, (size_t)len);
    if (!rc && fsync(fd) < 0)
        rc = -errno;
    if (close(fd) < 0 && !rc)
        rc = -errno;
    if (rc)
        unlink(path);
    return rc;
}

int
sign_key_save(const struct sign_key *key, const char *key_path, const char *pub_path)
{
    if (!key->is_private)
        return -EINVAL;
    if (access(key_path, F_OK) == 0 || access(pub_path, F_OK) == 0)
        return -EEXIST;
    BIO *priv = key_pem(key, true), *pub = key_pem(key, false);
    int rc = priv && pub ? 0 : -EIO;
    if (!rc)
        rc = write_pem(key_path, 0600, priv);
    if (!rc) {
        rc = write_pem(pub_path, 0644, pub);
        if (rc)
            unlink(key_path);
    }
    BIO_free(priv);
    BIO_free(pub);
    return rc;
}

/* A callback for encrypted keys: no passphrase, so that OpenSSL never prompts
 * on the terminal and the load fails instead. */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
    return 0;
}

static int
key_load(const char *path, bool is_private, struct sign_key **out, char *err, size_t err_len)
{
    char q[LCM_QUOTE_LEN];
    size_t len;
    char *pem = fs_read_file(path, SIGN_MAX_PEM_LEN, &len);
    if (!pem) {
        int rc = -errno;
        lcm_fail(err, err_len, "%s: %s", lcm_quote(path, q, sizeof q), strerror(-rc));
        return rc;
    }
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    EVP_PKEY *pkey = NULL;
    if (bio)
        pkey = is_private ? PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL)
                          : PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    BIO_free(bio);
    OPENSSL_cleanse(pem, len);
    free(pem);
    ERR_clear_error();
    if (!pkey || EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519) {
        EVP_PKEY_free(pkey);
        lcm_fail(err, err_len, "%s: not an unencrypted Ed25519 %s key in PEM",
                 lcm_quote(path, q, sizeof q), is_private ? "private" : "public");
        return -EINVAL;
    }
    int rc = key_wrap(pkey, is_private, out);
    if (rc)
        lcm_fail(err, err_len, "out of memory");
    return rc;
}

int
sign_key_load_private(const char *path, struct sign_key **out, char *err, size_t err_len)
{
    return key_load(path, true, out, err, err_len);
}

int
sign_key_load_public(const char *path, struct sign_key **out, char *err, size_t err_len)
{
    return key_load(path, false, out, err, err_len);
}

/* ---- signatures -------------------------------------------------------- */

int
sign_bytes(const struct sign_key *key, const void *data, size_t len,
           uint8_t sig[static SIGN_SIG_LEN])
{
    if (!key->is_private)
        return -EINVAL;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx)
        return -ENOMEM;
    size_t sig_len = SIGN_SIG_LEN;
    int rc = -EIO;
    if (EVP_DigestSignInit(ctx, NULL, NULL, NULL, key->pkey) == 1 &&
        EVP_DigestSign(ctx, sig, &sig_len, data, len) == 1 && sig_len == SIGN_SIG_LEN)
        rc = 0;
    EVP_MD_CTX_free(ctx);
    ERR_clear_error();
    return rc;
}

bool
sign_verify(const struct sign_key *key, const void *data, size_t len, const uint8_t *sig,
            size_t sig_len)
{
    if (sig_len != SIGN_SIG_LEN)
        return false;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx)
        return false;
    bool ok = EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key->pkey) == 1 &&
              EVP_DigestVerify(ctx, sig, sig_len, data, len) == 1;
    EVP_MD_CTX_free(ctx);
    ERR_clear_error();
    return ok;
}
