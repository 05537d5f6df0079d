/* SPDX-License-Identifier: Apache-2.0 */
/*
 * base64: RFC 4648 §4 base64 (the standard alphabet, '=' padding, no line
 * breaks), for binary data carried in JSON strings (support bundles).
 *
 * The decoder is strict: it refuses characters outside the alphabet, a length
 * that is not a multiple of 4, padding anywhere but at the end, and non-zero
 * bits in the last symbol before the padding, so that each byte string has
 * exactly one encoding.
 *
 * Thread-safety: every function here is reentrant.
 */
#ifndef DSE_BASE64_H
#define DSE_BASE64_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bytes base64_encode() writes for 'len' bytes, the terminating NUL included.
 * Returns 0 when that does not fit a size_t. */
size_t base64_encoded_size(size_t len);

/* Encodes 'len' bytes of 'data' into 'out' (base64_encoded_size('len') bytes)
 * and NUL-terminates it.  Returns the length of the text (without the NUL).
 * This function can't fail. */
size_t base64_encode(const uint8_t *data, size_t len, char *out);

/* The most bytes base64_decode() writes for 'text_len' characters. */
static inline size_t
base64_decoded_max(size_t text_len)
{
    return text_len / 4 * 3;
}

/* Decodes 'text_len' characters of 'text' into 'out' (at least
 * base64_decoded_max('text_len') bytes) and sets '*len'.  Returns false on
 * malformed input (see above); 'out' is then undefined. */
bool base64_decode(const char *text, size_t text_len, uint8_t *out, size_t *len);

#endif
