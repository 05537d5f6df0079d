/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz-manifest: arbitrary bytes as manifest.json.  What parses must emit
 * canonically, parse again to the same bytes, and find each of its own
 * components and files; what does not parse must say why, on one line.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lcm/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_lookups(const struct manifest *m)
{
    for (size_t i = 0; i < m->n_components; i++) {
        const struct manifest_component *c = &m->components[i];
        if (manifest_find_component(m, c->target) != c)
            abort();
        for (size_t j = 0; j < c->n_files; j++)
            if (manifest_find_file(c, c->files[j].path) != &c->files[j] ||
                !manifest_path_is_valid(c->files[j].path))
                abort();
    }
    if (manifest_version_cmp(m->version, m->version) != 0 || !manifest_version_is_valid(m->version))
        abort();
}

static void
check_round_trip(struct manifest *m)
{
    size_t len, len2;
    char *s = manifest_emit(m, &len), err[MANIFEST_ERR_LEN];
    struct manifest *m2;
    if (!s || !manifest_parse(s, len, &m2, err, sizeof err))
        abort();
    char *s2 = manifest_emit(m2, &len2);
    if (!s2 || len2 != len || memcmp(s, s2, len))
        abort();
    free(s);
    free(s2);
    manifest_destroy(m2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct manifest *m;
    char err[MANIFEST_ERR_LEN] = "";
    if (!manifest_parse((const char *)data, size, &m, err, sizeof err)) {
        if (!err[0] || strchr(err, '\n'))
            abort();
        return 0;
    }
    check_lookups(m);
    check_round_trip(m);
    manifest_destroy(m);
    return 0;
}
