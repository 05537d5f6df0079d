/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz-bundle: arbitrary bytes as a .dsebundle file (in a memfd): opened
 * without a key (so that the whole reader is reachable) and with one (the
 * signature check), verified, inspected, and when it verifies, its first
 * component extracted into a fresh directory and removed again.  A refused
 * extraction must leave nothing behind.
 */
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lcm/bundle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct sign_key *key;
static char dir[64], dest[96];

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static void
cleanup(void)
{
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    sign_key_destroy(key);
}

static void
init(void)
{
    snprintf(dir, sizeof dir, "/tmp/dse-fuzz-bundle-XXXXXX");
    if (!mkdtemp(dir) || sign_key_generate(&key))
        abort();
    snprintf(dest, sizeof dest, "%s/dest", dir);
    atexit(cleanup);
}

static void
extract_first(struct bundle *b)
{
    char err[BUNDLE_ERR_LEN];
    const struct manifest *m = bundle_manifest(b);
    int rc = bundle_extract(b, m->components[0].target, dest, err, sizeof err);
    if (rc && access(dest, F_OK) == 0)
        abort(); /* a refusal left something behind */
    nftw(dest, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!key)
        init();
    int fd = memfd_create("fuzz-bundle", MFD_CLOEXEC);
    if (fd < 0 || write(fd, data, size) != (ssize_t)size)
        abort();
    const struct bundle_limits limits = {.max_total = 64 << 20};
    char err[BUNDLE_ERR_LEN];
    struct bundle *b;
    if (!bundle_open_fd(fd, key, &limits, &b, err, sizeof err))
        abort(); /* signed by a key made a moment ago: a forgery */
    if (!bundle_open_fd(fd, NULL, &limits, &b, err, sizeof err)) {
        json_decref(bundle_inspect(b));
        if (!bundle_verify(b, err, sizeof err))
            extract_first(b);
        bundle_close(b);
    }
    close(fd);
    return 0;
}
