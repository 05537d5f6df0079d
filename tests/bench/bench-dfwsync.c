/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench-dfwsync: what carrying a full connection table to a standby costs
 * (dataplane/dfw-sync.h), on one core: N connections exported in pages of
 * DFW_SYNC_PAGE (walk, pack, base64, JSON text as the reply), the text
 * parsed again and imported into another table.  Prints ms and MB.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/dfw-sync.h"
#include "dataplane/dfw.h"
#include "lib/util.h"

static struct dfw *
firewall(void)
{
    const char *text = "{\"default\": \"drop\", \"services\": [{\"name\": \"app\", \"entries\": "
                       "[{\"proto\": \"tcp\"}]}], \"rules\": [{\"name\": \"app/allow\", "
                       "\"services\": [\"app\"], \"action\": \"allow\"}]}";
    json_t *doc = json_loads(text, 0, NULL);
    struct dfw_policy *p = NULL;
    char err[256];
    if (!doc || dfw_policy_compile(doc, &p, err, sizeof err) < 0)
        abort();
    json_decref(doc);
    return dfw_create(p);
}

/* 'n' established TCP connections, imported as a peer would give them. */
static void
fill(struct dfw *fw, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        struct ct_conn c = {.key = {.family = 4, .proto = L4_PROTO_TCP, .zone = 10}};
        c.key.src[0] = 198, c.key.src[1] = 18, c.key.src[2] = (uint8_t)(i >> 16), c.key.src[3] = 1;
        c.key.dst[0] = 198, c.key.dst[1] = 18, c.key.dst[3] = 2;
        c.key.sport = (uint16_t)i;
        c.key.dport = 5201;
        c.tcp = CT_TCP_ESTABLISHED;
        c.dir[0] = c.dir[1] =
            (struct ct_tcp_dir){.end = i, .maxend = i + 65535, .maxwin = 65535, .wscale = 7};
        c.expires_ms = 1000000;
        int rc = ct_import(fw->ct, &c, 0);
        if (rc < 0) {
            fprintf(stderr, "ct_import: %d\n", rc);
            abort();
        }
    }
}

int
main(int argc, char **argv)
{
    uint32_t n = argc > 1 ? (uint32_t)atoi(argv[1]) : 65536;
    struct dfw *a = firewall(), *b = firewall();
    fill(a, n);
    char cursor[DFW_SYNC_CURSOR_LEN] = "", err[256];
    size_t bytes = 0, pages = 0;
    uint64_t t_exp = 0, t_imp = 0;
    struct dfw_sync_counts cnt = {0};
    for (bool more = true; more; pages++) {
        uint64_t t0 = now_ns();
        json_t *page = NULL;
        int rc = dfw_sync_export(a, cursor, DFW_SYNC_PAGE, 1000, &page, err, sizeof err);
        if (rc < 0) {
            fprintf(stderr, "export: %d %s\n", rc, err);
            abort();
        }
        char *text = json_dumps(page, JSON_COMPACT);
        uint64_t t1 = now_ns();
        bytes += strlen(text);
        json_t *got = json_loads(text, 0, NULL), *res = NULL;
        json_t *req = json_pack("{s:O,s:O,s:b}", "rules", json_object_get(got, "rules"), "conns",
                                json_object_get(got, "conns"), "flush", pages == 0);
        json_decref(got);
        if (dfw_sync_import(b, req, 1000, &cnt, &res, err, sizeof err) < 0)
            abort();
        t_exp += t1 - t0;
        t_imp += now_ns() - t1;
        more = json_is_true(json_object_get(page, "more"));
        snprintf(cursor, sizeof cursor, "%s", json_string_value(json_object_get(page, "cursor")));
        free(text);
        json_decref(page);
        json_decref(req);
        json_decref(res);
    }
    uint64_t t0 = now_ns();
    json_t *page = NULL;
    dfw_sync_export(a, cursor, DFW_SYNC_PAGE, 1000, &page, err, sizeof err);
    uint64_t t_idle = now_ns() - t0;
    printf("dfwsync: %u connections, %zu pages, %.2f MB of JSON: export %.1f ms, import %.1f ms "
           "(imported %llu); an idle round's export (nothing changed) %.2f ms\n",
           n, pages, bytes / 1e6, t_exp / 1e6, t_imp / 1e6, (unsigned long long)cnt.imported,
           t_idle / 1e6);
    json_decref(page);
    dfw_destroy(a);
    dfw_destroy(b);
    return cnt.imported == n ? 0 : 1;
}
