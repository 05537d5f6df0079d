/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lcm-private: helpers shared by the lcm modules only: one-line reasons for
 * refusals, which quote untrusted text safely.
 *
 * Thread-safety: reentrant.
 */
#ifndef DSE_LCM_PRIVATE_H
#define DSE_LCM_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>

/* Formats a reason into 'err' ('err_len' bytes, may be 0) and returns false,
 * so that a parser can `return lcm_fail(...)`. */
bool lcm_fail(char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The same, for functions that return -errno: formats the reason and
 * returns 'rc'. */
int lcm_error(char *err, size_t err_len, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Copies at most 'len' - 1 bytes of untrusted 's' into 'buf' for a message:
 * bytes outside printable ASCII become '?', and a string cut short ends in
 * "...".  Returns 'buf'.  This function can't fail ('len' >= 4). */
#define LCM_QUOTE_LEN 72
const char *lcm_quote(const char *s, char *buf, size_t len);

#endif
