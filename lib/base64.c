/* SPDX-License-Identifier: Apache-2.0 */
/* base64: RFC 4648 §4 encoding and strict decoding. */
#include "lib/base64.h"

#include <stdint.h>

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t
base64_encoded_size(size_t len)
{
    size_t groups = len / 3 + (len % 3 != 0);
    if (groups > (SIZE_MAX - 1) / 4)
        return 0;
    return groups * 4 + 1;
}

size_t
base64_encode(const uint8_t *data, size_t len, char *out)
{
    char *o = out;
    size_t i = 0;
    for (; i + 3 <= len; i += 3) {
        uint32_t v = (uint32_t)data[i] << 16 | (uint32_t)data[i + 1] << 8 | data[i + 2];
        *o++ = alphabet[v >> 18];
        *o++ = alphabet[(v >> 12) & 63];
        *o++ = alphabet[(v >> 6) & 63];
        *o++ = alphabet[v & 63];
    }
    if (i < len) {
        uint32_t v = (uint32_t)data[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)data[i + 1] << 8;
        *o++ = alphabet[v >> 18];
        *o++ = alphabet[(v >> 12) & 63];
        *o++ = i + 1 < len ? alphabet[(v >> 6) & 63] : '=';
        *o++ = '=';
    }
    *o = '\0';
    return (size_t)(o - out);
}

/* The 6-bit value of 'c', or -1 outside the alphabet. */
static int
sextet(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

bool
base64_decode(const char *text, size_t text_len, uint8_t *out, size_t *len)
{
    if (text_len % 4)
        return false;
    size_t n = 0;
    for (size_t i = 0; i < text_len; i += 4) {
        bool last = i + 4 == text_len;
        int s[4];
        unsigned pad = 0;
        for (unsigned k = 0; k < 4; k++) {
            unsigned char c = (unsigned char)text[i + k];
            /* '=' only at the end of the last group: "xx==" or "xxx=". */
            if (c == '=' && last && k >= 2 && (k == 3 || text[i + 3] == '=')) {
                s[k] = 0;
                pad++;
                continue;
            }
            s[k] = sextet(c);
            if (s[k] < 0)
                return false;
        }
        uint32_t v =
            (uint32_t)s[0] << 18 | (uint32_t)s[1] << 12 | (uint32_t)s[2] << 6 | (uint32_t)s[3];
        /* The bits the padding drops must be zero (one encoding per input). */
        if ((pad == 1 && (v & 0xff)) || (pad == 2 && (v & 0xffff)))
            return false;
        out[n++] = (uint8_t)(v >> 16);
        if (pad < 2)
            out[n++] = (uint8_t)(v >> 8);
        if (pad < 1)
            out[n++] = (uint8_t)v;
    }
    *len = n;
    return true;
}
