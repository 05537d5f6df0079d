/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz-util: what the harnesses share (fuzz-util.h). */
#include "tests/fuzz/fuzz-util.h"

#include <stdlib.h>
#include <string.h>

void
fuzz_split(const uint8_t *data, size_t size, unsigned max, struct fuzz_pieces *out)
{
    memset(out, 0, sizeof *out);
    out->buf = malloc(size + 1);
    if (!out->buf)
        abort();
    if (size)
        memcpy(out->buf, data, size);
    out->buf[size] = '\0';
    char *p = out->buf, *end = out->buf + size;
    for (max = max < FUZZ_PIECES_MAX ? max : FUZZ_PIECES_MAX; out->n < max; out->n++) {
        char *nul = out->n + 1 < max ? memchr(p, '\0', (size_t)(end - p)) : NULL;
        out->p[out->n] = p;
        out->len[out->n] = (size_t)((nul ? nul : end) - p);
        if (!nul) {
            out->n++;
            break;
        }
        p = nul + 1;
    }
}

void
fuzz_pieces_free(struct fuzz_pieces *f)
{
    free(f->buf);
    memset(f, 0, sizeof *f);
}

void
fuzz_check_reason(int rc, const char *err)
{
    if (rc < 0 && (!err[0] || strchr(err, '\n')))
        abort();
}
