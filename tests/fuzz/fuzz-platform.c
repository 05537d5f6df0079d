/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz-platform: arbitrary bytes as the host's platform.json (where its
 * sensors are; daemons/hostd/platform.c).  A refusal says why in one line
 * and leaves no sensors; what is accepted fits the device's buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz-util.h"
#include "daemons/hostd/hostd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct hostd_platform p;
    char err[256] = "";
    int rc = hostd_platform_parse((const char *)data, size, &p, err, sizeof err);
    fuzz_check_reason(rc, err);
    if (strnlen(p.hwmon, sizeof p.hwmon) >= sizeof p.hwmon || (rc < 0 && p.hwmon[0]))
        abort();
    return 0;
}
