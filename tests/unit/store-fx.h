/* SPDX-License-Identifier: Apache-2.0 */
/* store-fx: a manager store (manager/store.h) in a fresh directory under
 * /tmp, for the manager's unit tests, and its removal. */
#ifndef DSE_TEST_STORE_FX_H
#define DSE_TEST_STORE_FX_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>

#include "lib/util.h"
#include "manager/store.h"

struct store_fx {
    char dir[64];
    struct store *st;
};

/* Opens a store in /tmp/dse-test-NAME-XXXXXX.  Returns it, or NULL (said
 * on stderr). */
static inline struct store *
store_fx_open(struct store_fx *f, const char *name)
{
    char path[128], err[ERR_LEN] = "";
    f->st = NULL;
    snprintf(f->dir, sizeof f->dir, "/tmp/dse-test-%s-XXXXXX", name);
    if (!mkdtemp(f->dir)) {
        perror(f->dir);
        return NULL;
    }
    snprintf(path, sizeof path, "%s/store.db", f->dir);
    if (store_open(path, &f->st, err, sizeof err) < 0)
        fprintf(stderr, "%s\n", err);
    return f->st;
}

/* Closes it and removes its directory. */
static inline void
store_fx_close(struct store_fx *f)
{
    store_close(f->st);
    f->st = NULL;
    if (fs_remove_at(AT_FDCWD, f->dir) < 0)
        fprintf(stderr, "cannot remove %s\n", f->dir);
}

#endif
