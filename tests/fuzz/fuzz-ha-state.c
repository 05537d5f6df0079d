/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz-ha-state: arbitrary bytes as ha.json, where hostd keeps the active and
 * the preferred DPU and the epoch across restarts (daemons/hostd/ha.c), on a
 * host with two DPUs.  Whatever the file holds, hostd starts with DPUs it has
 * and an epoch that a failover can still raise within what a heartbeat
 * carries; what is wrong with it is said in one line.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz-util.h"
#include "daemons/hostd/hostd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct hostd h = {.n_dpus = 2, .dpus = {{.name = "dpu1"}, {.name = "dpu2"}}};
    struct hostd_ha_state st, again;
    char err[256] = "", text[256];
    int rc = hostd_ha_state_parse(&h, (const char *)data, size, &st, err, sizeof err);
    fuzz_check_reason(rc, err);
    if (st.active < 0 || st.active >= (int)h.n_dpus || st.preferred < 0 ||
        st.preferred >= (int)h.n_dpus || st.epoch >= INT64_MAX)
        abort();
    /* As save_state() writes it back, after a failover. */
    snprintf(text, sizeof text, "{\"active\":\"%s\",\"preferred\":\"%s\",\"epoch\":%llu}",
             h.dpus[st.active].name, h.dpus[st.preferred].name, (unsigned long long)st.epoch + 1);
    if (st.epoch + 1 < INT64_MAX &&
        (hostd_ha_state_parse(&h, text, strlen(text), &again, err, sizeof err) < 0 ||
         again.active != st.active || again.preferred != st.preferred ||
         again.epoch != st.epoch + 1))
        abort();
    return 0;
}
