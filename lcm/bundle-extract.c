/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bundle-extract: unpacking one component of a bundle into a directory, in
 * the verifying pass, and removing it all again when the pass refuses.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "lcm/bundle-private.h"
#include "lcm/bundle.h"
#include "lcm/lcm-private.h"

#define Q(s, b) lcm_quote((s), (b), sizeof(b))

/* ---- directory trees, by descriptor, never through a symlink ----------- */

/* Calls 'fn' on each entry of directory 'dfd' but "." and "..".  Returns the
 * number of entries seen, or -errno. */
static int
dir_each(int dfd, void (*fn)(int dfd, const char *name, void *ctx), void *ctx)
{
    int fd = dup(dfd);
    DIR *d = fd < 0 ? NULL : fdopendir(fd);
    if (!d) {
        int rc = -errno;
        if (fd >= 0)
            close(fd);
        return rc;
    }
    int n = 0;
    rewinddir(d);
    for (struct dirent *e; (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        n++;
        if (fn)
            fn(dfd, e->d_name, ctx);
    }
    closedir(d);
    return n;
}

static void remove_entry(int dfd, const char *name, void *ctx);

/* Removes everything under 'dfd'.  Entries removed while reading a directory
 * may make readdir() skip others, so it reads again until nothing is left. */
static void
remove_tree_at(int dfd)
{
    for (int tries = 0; tries < 8 && dir_each(dfd, remove_entry, NULL) > 0; tries++)
        ;
}

static void
remove_entry(int dfd, const char *name, void *ctx)
{
    int sub = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub < 0) {
        unlinkat(dfd, name, 0);
        return;
    }
    remove_tree_at(sub);
    close(sub);
    unlinkat(dfd, name, AT_REMOVEDIR);
}

/* fsync()s the directory 'name' under 'dfd' and the directories below it;
 * keeps the first failure in '*ctx' (an int, -errno). */
static void
fsync_entry(int dfd, const char *name, void *ctx)
{
    int *rc = ctx;
    int sub = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub < 0)
        return; /* a file: fsynced when it was written */
    dir_each(sub, fsync_entry, ctx);
    if (fsync(sub) < 0 && !*rc)
        *rc = -errno;
    close(sub);
}

/* fsync()s every directory under 'dfd' and 'dfd' itself. */
static int
fsync_tree_at(int dfd)
{
    int rc = 0;
    dir_each(dfd, fsync_entry, &rc);
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
    int n = d->is_created ? 0 : dir_each(d->fd, NULL, NULL);
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
    remove_tree_at(d->fd);
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

static int
check_space(const struct dest *d, uint64_t need, char *err, size_t err_len)
{
    struct statvfs sv;
    if (fstatvfs(d->fd, &sv) < 0)
        return 0; /* unknown: the writes will tell */
    uint64_t avail = (uint64_t)sv.f_bavail * sv.f_frsize;
    if (avail < need)
        return lcm_error(err, err_len, -ENOSPC,
                         "%llu bytes needed, %llu free: No space left on device",
                         (unsigned long long)need, (unsigned long long)avail);
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
    rc = check_space(&d, need, err, err_len);
    struct extract x = {.target = c, .root_fd = d.fd, .fd = -1};
    const struct bundle_sink sink = {
        .begin = extract_begin, .data = extract_data, .end = extract_end, .ctx = &x};
    if (!rc)
        rc = bundle_walk(b, &sink, err, err_len);
    if (x.fd >= 0)
        close(x.fd);
    if (!rc)
        rc = dest_commit(&d, err, err_len);
    if (rc)
        dest_undo(&d);
    return rc;
}
