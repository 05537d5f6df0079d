/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sign: Ed25519 keys and signatures for unified images (OpenSSL 3, EVP).
 *
 * A key is an Ed25519 key pair or a public key alone, read from or written to
 * PEM files: the private key as PKCS#8 ("PRIVATE KEY", unencrypted; mode 0600),
 * the public key as SubjectPublicKeyInfo ("PUBLIC KEY").  Ed25519 signs the
 * message itself (no separate digest: RFC 8032 §5.1, PureEdDSA), and its
 * signatures are SIGN_SIG_LEN bytes, so a manifest.sig file is the raw 64 bytes.
 * Development keys come from sign_key_generate(); production keys are the
 * operator's and never live in a build tree.
 *
 * Thread-safety: a key is read-only after loading and may be used from any
 * thread; everything here is reentrant.
 */
#ifndef DSE_SIGN_H
#define DSE_SIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIGN_SIG_LEN 64
#define SIGN_MAX_PEM_LEN (16 * 1024)

struct sign_key;

/* Makes a new key pair.  Returns 0 and sets '*out' (free with
 * sign_key_destroy()), or -ENOMEM, or -EIO when OpenSSL fails otherwise. */
int sign_key_generate(struct sign_key **out);

/* Writes the private key to 'key_path' (mode 0600) and the public key to
 * 'pub_path' (mode 0644), each created anew and fsynced.  Returns 0, -EINVAL
 * if 'key' has no private half, -EEXIST if either file exists (nothing is
 * written then), -EIO if OpenSSL fails, or -errno from the file system; on
 * failure neither file is left behind. */
int sign_key_save(const struct sign_key *key, const char *key_path, const char *pub_path);

/* Reads a private key (PEM, unencrypted) or a public key (PEM).  Returns 0 and
 * sets '*out', or -errno with a one-line reason in 'err': -ENOENT and other
 * errors of open()/read(), -EFBIG for a file over SIGN_MAX_PEM_LEN, -EINVAL
 * when the file is not such a PEM key or not an Ed25519 one, -ENOMEM. */
int sign_key_load_private(const char *path, struct sign_key **out, char *err, size_t err_len);
int sign_key_load_public(const char *path, struct sign_key **out, char *err, size_t err_len);

/* True if 'key' holds a private half (it can sign). */
bool sign_key_is_private(const struct sign_key *key);

/* Frees 'key'.  Accepts NULL. */
void sign_key_destroy(struct sign_key *key);

/* Signs 'len' bytes at 'data'.  Returns 0 and fills 'sig', -EINVAL if 'key'
 * cannot sign, -ENOMEM or -EIO. */
int sign_bytes(const struct sign_key *key, const void *data, size_t len,
               uint8_t sig[static SIGN_SIG_LEN]);

/* True if 'sig' ('sig_len' bytes) is a valid signature of 'data' by 'key'
 * (public or private).  Any failure, out of memory too, is false. */
bool sign_verify(const struct sign_key *key, const void *data, size_t len, const uint8_t *sig,
                 size_t sig_len);

#endif
