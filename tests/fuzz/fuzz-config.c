/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz-config: arbitrary JSON as the desired configuration that hostd pushes
 * to dpud (config.apply), followed by the read-back commands, on a dpud whose
 * ports use the in-memory backend.
 */
#include <event2/event.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>

#include "daemons/dpud/dpud.h"
#include "lib/log.h"

static struct dpud d;
static struct cmdtab *tab;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!tab) {
        log_init("fuzz", NULL, LL_ERR);
        struct sw_params params = SW_PARAMS_DEFAULT;
        d.name = "fuzz-dpu";
        d.base = event_base_new();
        d.sw = sw_create(&params);
        d.backend = "mem";
        d.generation = -1;
        d.platform = json_object();
        tab = cmdtab_create(dpud_commands, dpud_n_commands, &d);
    }
    json_t *args = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    static const char *const cmds[] = {"config.apply", "port.list", "switch.show", "mac.list",
                                       "dpu.info"};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        json_decref(cmdtab_dispatch(tab, cmds[i], i == 0 ? args : NULL, "fuzz"));
    json_decref(args);
    return 0;
}
