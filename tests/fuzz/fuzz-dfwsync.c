/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz-dfwsync: what a standby DPU takes in dfw.conn.import
 * (dataplane/dfw-sync.h): JSON text of any shape imported into a firewall
 * with a small policy, then the table exported again in pages.  Checks: no
 * crash nor read past a buffer (ASan), a refusal has its one line, every
 * record is imported or counted as skipped, what was imported exports.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/dfw-sync.h"
#include "dataplane/dfw.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char policy[] =
    "{\"default\": \"drop\", \"conn_max\": 64, \"services\": [{\"name\": \"app\", \"entries\": "
    "[{\"proto\": \"any\"}]}], \"rules\": [{\"name\": \"r/one\", \"services\": [\"app\"], "
    "\"action\": \"allow\"}, {\"name\": \"r/no\", \"services\": [\"app\"], \"action\": "
    "\"drop\"}]}";

static struct dfw *
firewall(void)
{
    json_t *doc = json_loads(policy, 0, NULL);
    struct dfw_policy *p = NULL;
    char err[256];
    if (!doc || dfw_policy_compile(doc, &p, err, sizeof err) < 0)
        abort();
    json_decref(doc);
    struct dfw *fw = dfw_create(p);
    if (!fw)
        abort();
    return fw;
}

/* Exports the whole table in pages of 7: the records it gives. */
static size_t
export_all(struct dfw *fw)
{
    char cursor[DFW_SYNC_CURSOR_LEN] = "", err[256];
    size_t n = 0;
    for (bool more = true; more;) {
        json_t *page = NULL;
        if (dfw_sync_export(fw, cursor, 7, 1000, &page, err, sizeof err) < 0)
            abort();
        more = json_is_true(json_object_get(page, "more"));
        n += json_array_size(json_object_get(page, "conns"));
        strncpy(cursor, json_string_value(json_object_get(page, "cursor")), sizeof cursor - 1);
        json_decref(page);
    }
    return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *req = json_loadb((const char *)data, size, 0, NULL);
    if (!req)
        return 0;
    struct dfw *fw = firewall();
    struct dfw_sync_counts n = {0};
    json_t *res = NULL;
    char err[256] = "";
    int rc = dfw_sync_import(fw, req, 1000, &n, &res, err, sizeof err);
    if (rc < 0 && (!err[0] || strchr(err, '\n')))
        abort(); /* a refusal says why, in one line */
    if (rc == 0) {
        size_t given = json_array_size(json_object_get(req, "conns"));
        size_t counted = n.imported + n.malformed + n.no_rule + n.not_allowed + n.table_full;
        if (!json_is_true(json_object_get(res, "stale")) && counted != given)
            abort();
        if (export_all(fw) != ct_count(fw->ct) || ct_count(fw->ct) > n.imported)
            abort();
    }
    json_decref(res);
    json_decref(req);
    dfw_destroy(fw);
    return 0;
}
