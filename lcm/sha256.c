/* SPDX-License-Identifier: Apache-2.0 */
/* sha256: OpenSSL's SHA-256, as a digest and over a whole file (sha256.h). */
#include "lcm/sha256.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <unistd.h>

#define READ_LEN (64 * 1024)

struct sha256 {
    EVP_MD_CTX *ctx;
};

struct sha256 *
sha256_create(void)
{
    struct sha256 *md = malloc(sizeof *md);
    if (!md)
        return NULL;
    md->ctx = EVP_MD_CTX_new();
    if (!md->ctx || EVP_DigestInit_ex(md->ctx, EVP_sha256(), NULL) != 1) {
        sha256_destroy(md);
        return NULL;
    }
    return md;
}

void
sha256_destroy(struct sha256 *md)
{
    if (!md)
        return;
    EVP_MD_CTX_free(md->ctx);
    free(md);
}

void
sha256_update(struct sha256 *md, const void *data, size_t len)
{
    EVP_DigestUpdate(md->ctx, data, len);
}

int
sha256_final(struct sha256 *md, uint8_t out[static SHA256_LEN])
{
    unsigned len = 0;
    if (EVP_DigestFinal_ex(md->ctx, out, &len) != 1 || len != SHA256_LEN ||
        EVP_DigestInit_ex(md->ctx, EVP_sha256(), NULL) != 1)
        return -ENOMEM;
    return 0;
}

int
sha256_fd(int fd, uint8_t out[static SHA256_LEN], uint64_t *size,
          int (*each)(void *aux, const void *buf, size_t len), void *aux)
{
    struct sha256 *md = sha256_create();
    uint8_t *buf = malloc(READ_LEN);
    int rc = md && buf ? 0 : -ENOMEM;
    *size = 0;
    while (!rc) {
        ssize_t n = read(fd, buf, READ_LEN);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = n < 0 ? -errno : 0;
            break;
        }
        *size += (uint64_t)n;
        sha256_update(md, buf, (size_t)n);
        if (each)
            rc = each(aux, buf, (size_t)n);
    }
    if (!rc)
        rc = sha256_final(md, out);
    sha256_destroy(md);
    free(buf);
    return rc;
}
