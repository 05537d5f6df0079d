/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sha256: the one SHA-256 of lcm (OpenSSL's): a digest fed as bytes arrive
 * (a bundle's entries, a transfer's chunks, a whole bundle file as it is
 * read), and sha256_fd(), a whole file's digest and size in one read, with
 * an optional look at every block (a copy that checks what it copies).
 *
 * Thread-safety: a struct sha256 belongs to one thread at a time; the
 * functions are reentrant.
 */
#ifndef DSE_SHA256_H
#define DSE_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32
#define SHA256_HEX_LEN 65 /* 64 lowercase hex digits and a NUL */

struct sha256;

/* A digest, started.  Returns NULL on ENOMEM.  Free with sha256_destroy(). */
struct sha256 *sha256_create(void);
/* Frees 'md'.  Accepts NULL. */
void sha256_destroy(struct sha256 *md);

/* Adds 'len' bytes.  This function can't fail. */
void sha256_update(struct sha256 *md, const void *data, size_t len);

/* Writes the digest of what was added since the start into 'out' and starts
 * 'md' over.  Returns 0 or -ENOMEM. */
int sha256_final(struct sha256 *md, uint8_t out[static SHA256_LEN]);

/* Reads file 'fd' from its current position to its end and writes the
 * bytes' SHA-256 into 'out' and their count into '*size'.  'each', when not
 * NULL, sees every block as it is read; a non-zero return stops the read and
 * is returned.  Returns 0, -ENOMEM, -errno of read(), or 'each''s return. */
int sha256_fd(int fd, uint8_t out[static SHA256_LEN], uint64_t *size,
              int (*each)(void *aux, const void *buf, size_t len), void *aux);

#endif
