/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz-support: arbitrary bytes as a DPU's support part (its reply to
 * support.collect, lcm/support.h).  What is JSON goes into a bundle, which
 * must then write; every path in the archive must be safe (relative, no
 * "..", printable ASCII), whatever names the part held.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lcm/support.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_paths(const void *tgz, size_t len)
{
    struct archive *a = archive_read_new();
    archive_read_support_filter_gzip(a);
    archive_read_support_format_tar(a);
    if (archive_read_open_memory(a, tgz, len) != ARCHIVE_OK)
        abort();
    struct archive_entry *e;
    int r;
    while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
        const char *p = archive_entry_pathname(e);
        if (!p || !*p || *p == '/' || strstr(p, "../") || strlen(p) >= SUPPORT_PATH_MAX)
            abort();
        for (const char *c = p; *c; c++)
            if (*c <= 0x20 || *c >= 0x7f || *c == '\\')
                abort();
    }
    if (r != ARCHIVE_EOF)
        abort();
    archive_read_free(a);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *part = json_loadb((const char *)data, size, JSON_ALLOW_NUL, NULL);
    if (!part)
        return 0;
    /* Small caps, so that the fuzzer reaches them. */
    struct support_limits lim = {.file_max = 4096, .total_max = 16384};
    struct support_bundle *b = support_bundle_create(&lim, 1 << 20);
    char err[SUPPORT_ERR_LEN];
    int rc = support_bundle_add_device(b, "dpu1", "dse-h1-dpu1", "internal-network", NULL, part,
                                       err, sizeof err);
    if (rc && rc != -EBADMSG)
        abort();
    void *tgz = NULL;
    size_t len = 0;
    json_t *index = NULL;
    if (support_bundle_finish(b, "dse-h1", 0, &tgz, &len, &index, err, sizeof err) == 0) {
        check_paths(tgz, len);
        free(tgz);
        json_decref(index);
    }
    support_bundle_destroy(b);
    json_decref(part);
    return 0;
}
