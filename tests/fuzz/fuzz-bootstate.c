/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz-bootstate: arbitrary bytes as a boot state record.  A record that
 * parses must format to one that parses back to the same record.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lcm/bootstate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct bootstate st, back;
    char err[256], buf[BOOTSTATE_MAX_LEN], buf2[BOOTSTATE_MAX_LEN];
    if (!bootstate_parse((const char *)data, size, &st, err, sizeof err)) {
        if (!err[0])
            abort(); /* a refusal always says why */
        return 0;
    }
    size_t len = bootstate_format(&st, buf, sizeof buf);
    if (!len || !bootstate_parse(buf, len, &back, err, sizeof err) ||
        bootstate_format(&back, buf2, sizeof buf2) != len || memcmp(buf, buf2, len))
        abort();
    return 0;
}
