/* SPDX-License-Identifier: Apache-2.0 */
/* lcm-private: reasons for refusals, shared by the lcm modules. */
#include "lcm/lcm-private.h"
#include "lib/util.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

bool
lcm_fail(char *err, size_t err_len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err_vset(err, err_len, 0, fmt, ap);
    va_end(ap);
    return false;
}

int
lcm_error(char *err, size_t err_len, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err_vset(err, err_len, rc, fmt, ap);
    va_end(ap);
    return rc;
}

const char *
lcm_quote(const char *s, char *buf, size_t len)
{
    size_t n = 0;
    if (!s)
        s = "(none)";
    for (; s[n] && n + 1 < len; n++) {
        unsigned char c = (unsigned char)s[n];
        buf[n] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    buf[n] = '\0';
    if (s[n] && len >= 4)
        memcpy(buf + len - 4, "...", 4);
    return buf;
}
