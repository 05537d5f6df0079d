/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bundle-extract: unpacking one component of a bundle into a directory, in
 * the verifying pass, and removing it all again when the pass refuses.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lcm/bundle-private.h"
#include "lcm/bundle.h"
#include "lcm/lcm-private.h"
#include "lib/util.h"

#define Q(s, b) lcm_quote((s), (b), sizeof(b))

/* ---- fsync of a tree, by descriptor, never through a symlink ----------- */

static int fsync_tree_at(int dfd);

/* fs_dir_each()'s callback: fsync()s directory 'name' under 'dfd' and the
 * directories below it; keeps the first failure in '*aux' (an int, -errno). */
static int
fsync_entry(int dfd, const char *name, void *aux)
{
    int *rc = aux;
    int sub = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub < 0)
        return 0; /* a file: fsynced when it was written */
    int r = fsync_tree_at(sub);
    if (r && !*rc)
        *rc = r;
    close(sub);
    return 0;
}

/* fsync()s every directory under 'dfd' and 'dfd' itself. */
static int
fsync_tree_at(int dfd)
{
    int rc = 0;
    fs_dir_each(dfd, fsync_entry, &rc);
    if (fsync(dfd) < 0 && !rc)
        rc = -errno;
    return rc;
}

/* ---- the destination --------------------------------------------------- */

struct dest {
    const char *path;
    int fd;
    bool is_created;
};

static int
dest_open(struct dest *d, const char *path, char *err, size_t err_len)
{
    char q[LCM_QUOTE_LEN];
    d->path = path;
    d->fd = -1;
    d->is_created = mkdir(path, 0755) == 0;
    if (!d->is_created && errno != EEXIST)
        return lcm_error(err, err_len, -errno, "%s: %s", Q(path, q), strerror(errno));
    d->fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (d->fd < 0) {
        int rc = errno == ELOOP ? -ENOTDIR : -errno;
        if (d->is_created)
            rmdir(path);
        return lcm_error(err, err_len, rc, "%s: %s", Q(path, q), strerror(-rc));
    }
    if (d->is_created)
        fchmod(d->fd, 0755); /* as its subdirectories, whatever the umask */
    int n = d->is_created ? 0 : fs_dir_each(d->fd, NULL, NULL);
    if (n != 0) {
        close(d->fd);
        d->fd = -1;
        n = n > 0 ? -ENOTEMPTY : n;
        return lcm_error(err, err_len, n, "%s: %s", Q(path, q), strerror(-n));
    }
    return 0;
}

/* Leaves the destination as it was: gone if we made it, else empty. */
static void
dest_undo(struct dest *d)
{
    fs_remove_at(d->fd, NULL);
    close(d->fd);
    if (d->is_created)
        rmdir(d->path);
}

static int
dest_commit(struct dest *d, char *err, size_t err_len)
{
    int rc = fsync_tree_at(d->fd);
    if (!rc && d->is_created) {
        char parent[PATH_MAX];
        snprintf(parent, sizeof parent, "%s/..", d->path);
        int pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (pfd < 0 || fsync(pfd) < 0)
            rc = -errno;
        if (pfd >= 0)
            close(pfd);
    }
    if (rc)
        return lcm_error(err, err_len, rc, "fsync: %s", strerror(-rc));
    close(d->fd);
    return 0;
}

/* ---- the sink that writes files ---------------------------------------- */

struct extract {
    const struct manifest_component *target;
    int root_fd;
    int fd; /* the file being written, or -1 */
    const struct manifest_file *f;
};

/* Opens (creating as needed) the directory that holds 'path', relative to
 * 'root'; returns its descriptor or -errno, and the last component. */
static int
open_parent(int root, const char *path, const char **leaf)
{
    int cur = fcntl(root, F_DUPFD_CLOEXEC, 0);
    const char *p = path;
    for (const char *slash; cur >= 0 && (slash = strchr(p, '/')); p = slash + 1) {
        char comp[MANIFEST_MAX_PATH + 1];
        memcpy(comp, p, (size_t)(slash - p));
        comp[slash - p] = '\0';
        bool is_new = mkdirat(cur, comp, 0755) == 0;
        int next = (is_new || errno == EEXIST)
                       ? openat(cur, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                       : -1;
        int saved = errno;
        if (next >= 0 && is_new)
            fchmod(next, 0755);
        close(cur);
        cur = next;
        errno = saved;
    }
    *leaf = p;
    return cur < 0 ? -errno : cur;
}

static int
extract_begin(void *ctx, const struct manifest_component *c, const struct manifest_file *f,
              char *err, size_t err_len)
{
    struct extract *x = ctx;
    x->f = f;
    if (c != x->target)
        return 0;
    const char *leaf;
    int rc = open_parent(x->root_fd, f->path, &leaf);
    if (rc >= 0) {
        int dfd = rc;
        x->fd = openat(dfd, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        rc = x->fd < 0 ? -errno : 0;
        close(dfd);
    }
    if (rc < 0)
        return lcm_error(err, err_len, rc, "creating %s: %s", f->path, strerror(-rc));
    return 0;
}

static int
extract_data(void *ctx, const void *buf, size_t len, char *err, size_t err_len)
{
    struct extract *x = ctx;
    for (const char *p = buf; x->fd >= 0 && len;) {
        ssize_t w = write(x->fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return lcm_error(err, err_len, -errno, "writing %s: %s", x->f->path, strerror(errno));
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

static int
extract_end(void *ctx, char *err, size_t err_len)
{
    struct extract *x = ctx;
    if (x->fd < 0)
        return 0;
    int rc = fchmod(x->fd, x->f->mode) < 0 || fsync(x->fd) < 0 ? -errno : 0;
    if (close(x->fd) < 0 && !rc)
        rc = -errno;
    x->fd = -1;
    if (rc)
        return lcm_error(err, err_len, rc, "writing %s: %s", x->f->path, strerror(-rc));
    return 0;
}

int
bundle_extract(struct bundle *b, const char *target, const char *dest_dir, char *err,
               size_t err_len)
{
    char q[LCM_QUOTE_LEN];
    const struct manifest_component *c = manifest_find_component(b->m, target);
    if (!c)
        return lcm_error(err, err_len, -ENOENT, "the bundle has no component for %s", Q(target, q));
    uint64_t need;
    bundle_space_needed(b, target, &need);
    struct dest d;
    int rc = dest_open(&d, dest_dir, err, err_len);
    if (rc)
        return rc;
    rc = fs_space_check(dest_dir, need, err, err_len);
    struct extract x = {.target = c, .root_fd = d.fd, .fd = -1};
    const struct bundle_sink sink = {
        .begin = extract_begin, .data = extract_data, .end = extract_end, .ctx = &x};
    if (!rc)
        rc = bundle_walk_component(b, c, &sink, err, err_len);
    if (x.fd >= 0)
        close(x.fd);
    if (!rc)
        rc = dest_commit(&d, err, err_len);
    if (rc)
        dest_undo(&d);
    return rc;
}
