/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz-hamsg: arbitrary bytes as a heartbeat line of high availability, as
 * hostd and dpud read them from each other.  What is refused must say why in
 * one line; what is accepted must write back as a line that reads the same.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ha/hamsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ha_msg m, again;
    char err[128] = "", line[512];
    if (ha_msg_parse((const char *)data, size, &m, err, sizeof err) < 0) {
        if (!err[0] || strchr(err, '\n'))
            abort();
        return 0;
    }
    /* Both writers: hostd's heartbeat, a DPU's answer or report. */
    for (int from_dpu = 0; from_dpu < 2; from_dpu++) {
        int n = ha_msg_format(&m, from_dpu, line, sizeof line);
        if (n <= 0 || line[n - 1] != '\n' || memchr(line, '\n', (size_t)n - 1))
            abort();
        if (ha_msg_parse(line, (size_t)n - 1, &again, err, sizeof err) < 0)
            abort();
        if (again.type != m.type || again.seq != m.seq)
            abort();
        if (m.type == HA_MSG_HB && (again.epoch != m.epoch || again.role != m.role))
            abort();
        if (m.type == HA_MSG_HB && !from_dpu && again.fence_ms != m.fence_ms)
            abort();
        /* Uplink counts go out as a pair or not at all. */
        bool both = m.uplinks >= 0 && m.uplinks_total >= 0;
        if (from_dpu && (again.fenced != m.fenced || again.uplinks != (both ? m.uplinks : -1) ||
                         again.uplinks_total != (both ? m.uplinks_total : -1)))
            abort();
    }
    return 0;
}
