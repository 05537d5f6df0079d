/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz-hostd-config: arbitrary bytes as hostd.json, the host's desired state
 * on disk (daemons/hostd/config.c).  A refusal says why in one line; what
 * is accepted has every list and setting, in range, and is what it loads as
 * again once written back (hostd_config_commit()'s format).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz-util.h"
#include "daemons/hostd/hostd.h"

static void
check_int(json_t *c, const char *key, json_int_t min, json_int_t max)
{
    json_t *v = json_object_get(c, key);
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
        abort();
}

static void
check_config(json_t *c)
{
    static const char *const arrays[] = {"portgroups", "vms", "ports", "alarm_defs", "notify"};
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++)
        if (!json_is_array(json_object_get(c, arrays[i])))
            abort();
    const char *mode = json_string_value(json_object_get(c, "dpu_mode"));
    if (!mode || (strcmp(mode, "independent") && strcmp(mode, "active-standby")))
        abort();
    check_int(c, "generation", INT64_MIN, INT64_MAX);
    check_int(c, "mac_age_s", INT64_MIN, INT64_MAX);
    check_int(c, "next_vm", INT64_MIN, INT64_MAX);
    check_int(c, "monitor_interval_s", 0, 3600);
    check_int(c, "heartbeat_ms", 1, 1000);
    check_int(c, "auto_failback_s", 0, 3600);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *c, *again;
    char err[256] = "";
    int rc = hostd_config_parse((const char *)data, size, &c, err, sizeof err);
    fuzz_check_reason(rc, err);
    if (rc < 0)
        return 0;
    check_config(c);
    char *text = json_dumps(c, JSON_INDENT(2) | JSON_SORT_KEYS);
    if (!text || hostd_config_parse(text, strlen(text), &again, err, sizeof err) < 0 ||
        !json_equal(c, again))
        abort();
    free(text);
    json_decref(again);
    json_decref(c);
    return 0;
}
