/* SPDX-License-Identifier: Apache-2.0 */
/* incoming: an image received in chunks, checked and staged (incoming.h). */
#include "lcm/incoming.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lcm/bank.h"
#include "lcm/bundle.h"
#include "lcm/install.h"
#include "lcm/sign.h"
#include "lib/fault.h"
#include "lib/util.h"

struct incoming {
    char devdir[INSTALL_PATH_MAX];
    char path[INSTALL_PATH_MAX + 32];
    int fd;
    uint64_t size, written;
    uint8_t sha256[SHA256_LEN];
    struct sha256 *md;
    bool is_broken;
};

int
incoming_begin(const char *devdir, uint64_t size, const uint8_t sha256[static SHA256_LEN],
               uint64_t need, struct incoming **out, char *err, size_t err_len)
{
    struct incoming *in = calloc(1, sizeof *in);
    if (!in)
        return err_set(err, err_len, -ENOMEM, "out of memory");
    in->fd = -1;
    in->size = size;
    memcpy(in->sha256, sha256, SHA256_LEN);
    char dir[INSTALL_PATH_MAX + 16];
    snprintf(in->devdir, sizeof in->devdir, "%s", devdir);
    snprintf(dir, sizeof dir, "%s/banks", devdir);
    snprintf(in->path, sizeof in->path, "%s/.incoming", dir);
    int rc = fs_mkdir_p(dir, 0755);
    if (rc < 0) {
        err_set(err, err_len, rc, "%s: %s", dir, strerror(-rc));
        goto err_free;
    }
    if ((rc = bank_space_check(dir, size, need, err, err_len)) < 0)
        goto err_free;
    in->fd = open(in->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    in->md = sha256_create();
    if (in->fd < 0 || !in->md) {
        rc = in->fd < 0 ? -errno : -ENOMEM;
        err_set(err, err_len, rc, "%s: %s", in->path, strerror(-rc));
        goto err_free;
    }
    *out = in;
    return 0;

err_free:
    incoming_destroy(in);
    return rc;
}

int
incoming_write(struct incoming *in, uint64_t offset, const void *buf, size_t len, char *err,
               size_t err_len)
{
    if (offset != in->written)
        return err_set(err, err_len, -EINVAL, "chunk at %llu, expected %llu",
                       (unsigned long long)offset, (unsigned long long)in->written);
    int rc = 0;
    errno = 0;
    if (in->written + (uint64_t)len > in->size)
        rc = err_set(err, err_len, -EINVAL, "chunk: more bytes than announced");
    else if (pwrite(in->fd, buf, len, (off_t)in->written) != (ssize_t)len)
        rc = err_set(err, err_len, errno ? -errno : -EIO, "chunk: %s",
                     strerror(errno ? errno : EIO));
    if (rc < 0) {
        in->is_broken = true;
        return rc;
    }
    fault_point("software.receive");
    sha256_update(in->md, buf, len);
    in->written += (uint64_t)len;
    return 0;
}

uint64_t
incoming_received(const struct incoming *in)
{
    return in->written;
}

bool
incoming_is_broken(const struct incoming *in)
{
    return in->is_broken;
}

/* Every byte, the announced digest, on disk. */
static int
incoming_check(struct incoming *in, char *err, size_t err_len)
{
    uint8_t md[SHA256_LEN];
    if (in->written != in->size)
        return err_set(err, err_len, -EINVAL, "transfer ended after %llu of %llu bytes",
                       (unsigned long long)in->written, (unsigned long long)in->size);
    if (sha256_final(in->md, md) || memcmp(md, in->sha256, SHA256_LEN))
        return err_set(err, err_len, -EBADMSG, "the image arrived damaged (SHA-256 mismatch)");
    if (fsync(in->fd) < 0)
        return err_set(err, err_len, -errno, "fsync: %s", strerror(errno));
    return 0;
}

int
incoming_stage(struct incoming *in, const char *target, char *version, size_t version_len,
               char *err, size_t err_len)
{
    char why[BUNDLE_ERR_LEN];
    struct sign_key *key = NULL;
    struct bundle *b = NULL;
    int rc = incoming_check(in, err, err_len);
    if (rc == 0)
        rc = install_trust_anchor(in->devdir, &key, err, err_len);
    if (rc == 0 && (rc = bundle_open(in->path, key, NULL, &b, why, sizeof why)) < 0)
        err_set(err, err_len, rc, "%s", why);
    if (rc == 0 && (rc = bank_stage(in->devdir, b, target, why, sizeof why)) < 0)
        err_set(err, err_len, rc, "%s", why);
    if (rc == 0)
        snprintf(version, version_len, "%s", bundle_manifest(b)->version);
    bundle_close(b);
    sign_key_destroy(key);
    return rc;
}

void
incoming_destroy(struct incoming *in)
{
    if (!in)
        return;
    if (in->fd >= 0)
        close(in->fd);
    sha256_destroy(in->md);
    unlink(in->path);
    free(in);
}
