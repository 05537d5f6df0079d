/* SPDX-License-Identifier: Apache-2.0 */
/*
 * software: the DPU's side of installing a unified image (lcm/bank.h).
 *
 * hostd streams the whole bundle over the internal network in chunks
 * (software.stage.begin, .chunk..., .end); the DPU trusts nothing it did not
 * check itself: the transfer's SHA-256, then the bundle's signature against
 * its own trust anchor (DIR/certs/bundle.pub), then its own component, which it
 * stages into its alternate bank.  software.commit, .finish and .undo follow
 * the host's two-phase install; software.rollback asks the next boot for the
 * other bank.  None of these touch the switch: they run beside the workers.
 *
 *     DIR/banks/.incoming   the bundle being received (removed after staging)
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "lib/authz.h"
#include "lcm/bank.h"
#include "lib/base64.h"
#include "lcm/boot.h"
#include "daemons/dpud/dpud.h"
#include "lib/fault.h"
#include "lib/log.h"
#include "lcm/sign.h"
#include "lib/util.h"

LOG_MODULE(software);

struct dpud_incoming {
    char id[64];
    int fd;
    uint64_t size, written;
    uint8_t sha256[32];
    EVP_MD_CTX *md;
};

static void
incoming_drop(struct dpud *d)
{
    struct dpud_incoming *in = d->incoming;
    if (!in)
        return;
    if (in->fd >= 0)
        close(in->fd);
    EVP_MD_CTX_free(in->md);
    char path[4096];
    snprintf(path, sizeof path, "%s/banks/.incoming", d->dir);
    unlink(path);
    free(in);
    d->incoming = NULL;
}

void
dpud_software_fini(struct dpud *d)
{
    incoming_drop(d);
}

/* dpu/VENDOR/MODEL, from the platform file. */
static int
target(const struct dpud *d, char *buf, size_t len, char *err, size_t err_len)
{
    const char *vendor = json_string_value(json_object_get(d->platform, "vendor"));
    const char *model = json_string_value(json_object_get(d->platform, "model"));
    if (!d->dir)
        return err_set(err, err_len, -ENOTDIR, "dpud runs without --dir: it has no banks");
    if (!vendor || !model)
        return err_set(err, err_len, -EINVAL, "the platform file names no vendor and model");
    snprintf(buf, len, "dpu/%s/%s", vendor, model);
    return 0;
}

static int
cmd_show(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct dpud *d = ctx->aux;
    char t[128];
    int rc = target(d, t, sizeof t, err, err_len);
    if (rc < 0)
        return rc;
    json_t *j = bank_status(d->dir);
    if (!j)
        return err_set(err, err_len, -ENOMEM, "out of memory");
    json_object_set_new(j, "target", json_string(t));
    *result = j;
    return 0;
}

static int
cmd_begin(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct dpud *d = ctx->aux;
    const char *id = json_string_value(json_object_get(args, "id"));
    const char *sha = json_string_value(json_object_get(args, "sha256"));
    json_t *size = json_object_get(args, "size"), *need = json_object_get(args, "need");
    char t[128];
    int rc = target(d, t, sizeof t, err, err_len);
    if (rc < 0)
        return rc;
    if (!id || strlen(id) >= sizeof d->incoming->id || !sha || !json_is_integer(size) ||
        json_integer_value(size) <= 0 || !json_is_integer(need) || json_integer_value(need) < 0)
        return err_set(err, err_len, -EINVAL,
                       "software.stage.begin wants {id, size, sha256, need}");
    incoming_drop(d);
    struct dpud_incoming *in = calloc(1, sizeof *in);
    if (!in)
        return err_set(err, err_len, -ENOMEM, "out of memory");
    in->fd = -1;
    d->incoming = in;
    if (!hex_parse(sha, in->sha256, 32)) {
        incoming_drop(d);
        return err_set(err, err_len, -EINVAL, "sha256: not 64 hex digits");
    }
    snprintf(in->id, sizeof in->id, "%s", id);
    in->size = (uint64_t)json_integer_value(size);
    char dir[4096], path[4200];
    snprintf(dir, sizeof dir, "%s/banks", d->dir);
    snprintf(path, sizeof path, "%s/.incoming", dir);
    struct statvfs sv;
    uint64_t want = in->size + (uint64_t)json_integer_value(need) * 11 / 10 + (1 << 20);
    if ((rc = fs_mkdir_p(dir, 0755)) < 0 || statvfs(dir, &sv) < 0) {
        rc = rc < 0 ? rc : -errno;
        incoming_drop(d);
        return err_set(err, err_len, rc, "%s: %s", dir, strerror(-rc));
    }
    if ((uint64_t)sv.f_bavail * sv.f_frsize < want) {
        incoming_drop(d);
        return err_set(err, err_len, -ENOSPC,
                       "not enough space on the DPU: %llu KiB free, %llu KiB needed",
                       (unsigned long long)((uint64_t)sv.f_bavail * sv.f_frsize >> 10),
                       (unsigned long long)(want >> 10));
    }
    in->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    in->md = EVP_MD_CTX_new();
    if (in->fd < 0 || !in->md || !EVP_DigestInit_ex(in->md, EVP_sha256(), NULL)) {
        rc = in->fd < 0 ? -errno : -ENOMEM;
        incoming_drop(d);
        return err_set(err, err_len, rc, "%s: %s", path, strerror(-rc));
    }
    log_info("software: receiving an image (%llu bytes) for %s", (unsigned long long)in->size, t);
    *result = json_pack("{s:s}", "target", t);
    return 0;
}

static struct dpud_incoming *
incoming_for(struct dpud *d, json_t *args, char *err, size_t err_len)
{
    const char *id = json_string_value(json_object_get(args, "id"));
    if (!d->incoming || !id || strcmp(id, d->incoming->id)) {
        err_set(err, err_len, -ENOENT, "no transfer %s in progress", id ? id : "(no id)");
        return NULL;
    }
    return d->incoming;
}

static int
cmd_chunk(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct dpud *d = ctx->aux;
    struct dpud_incoming *in = incoming_for(d, args, err, err_len);
    if (!in)
        return -ENOENT;
    json_t *off = json_object_get(args, "offset");
    const char *data = json_string_value(json_object_get(args, "data"));
    if (!json_is_integer(off) || (!data && !ctx->payload))
        return err_set(err, err_len, -EINVAL,
                       "software.stage.chunk wants {id, offset} and a payload (or base64 data)");
    if ((uint64_t)json_integer_value(off) != in->written)
        return err_set(err, err_len, -EINVAL, "chunk at %lld, expected %llu",
                       (long long)json_integer_value(off), (unsigned long long)in->written);
    /* The bytes: the request's binary payload (hostd), or base64 in the
     * arguments (a JSON-only caller: the control socket). */
    uint8_t *copy = NULL;
    const uint8_t *buf = ctx->payload;
    size_t n = ctx->payload_len;
    int rc = 0;
    if (!buf) {
        size_t len = strlen(data);
        if (!(copy = malloc(base64_decoded_max(len) + 1)) || !base64_decode(data, len, copy, &n))
            rc = err_set(err, err_len, -EINVAL, "chunk: bad base64");
        buf = copy;
    }
    if (rc == 0 && in->written + (uint64_t)n > in->size)
        rc = err_set(err, err_len, -EINVAL, "chunk: more bytes than announced");
    else if (rc == 0 && pwrite(in->fd, buf, n, (off_t)in->written) != (ssize_t)n)
        rc = err_set(err, err_len, errno ? -errno : -EIO, "chunk: %s",
                     strerror(errno ? errno : EIO));
    if (rc == 0) {
        fault_point("software.receive");
        EVP_DigestUpdate(in->md, buf, n);
        in->written += (uint64_t)n;
        *result = json_pack("{s:I}", "received", (json_int_t)in->written);
    }
    free(copy);
    if (rc < 0)
        incoming_drop(d);
    return rc;
}

static int
cmd_end(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct dpud *d = ctx->aux;
    struct dpud_incoming *in = incoming_for(d, args, err, err_len);
    if (!in)
        return -ENOENT;
    uint8_t md[32];
    unsigned md_len = 0;
    char t[128], path[4200], pub[4200], why[BUNDLE_ERR_LEN];
    int rc = target(d, t, sizeof t, err, err_len);
    if (rc == 0 && in->written != in->size)
        rc = err_set(err, err_len, -EINVAL, "transfer ended after %llu of %llu bytes",
                     (unsigned long long)in->written, (unsigned long long)in->size);
    if (rc == 0 && (!EVP_DigestFinal_ex(in->md, md, &md_len) || memcmp(md, in->sha256, 32)))
        rc = err_set(err, err_len, -EBADMSG, "the image arrived damaged (SHA-256 mismatch)");
    if (rc == 0 && fsync(in->fd) < 0)
        rc = err_set(err, err_len, -errno, "fsync: %s", strerror(errno));
    snprintf(path, sizeof path, "%s/banks/.incoming", d->dir);
    snprintf(pub, sizeof pub, "%s/certs/bundle.pub", d->dir);
    struct sign_key *key = NULL;
    struct bundle *b = NULL;
    if (rc == 0 && (rc = sign_key_load_public(pub, &key, why, sizeof why)) < 0)
        err_set(err, err_len, rc, "the DPU's trust anchor: %s", why);
    if (rc == 0 && (rc = bundle_open(path, key, NULL, &b, why, sizeof why)) < 0)
        err_set(err, err_len, rc, "%s", why);
    if (rc == 0 && (rc = bank_stage(d->dir, b, t, why, sizeof why)) < 0)
        err_set(err, err_len, rc, "%s", why);
    if (rc == 0) {
        const struct manifest *m = bundle_manifest(b);
        log_info("software: %s %s staged", m->name, m->version);
        *result = json_pack("{s:s,s:s}", "target", t, "version", m->version);
    }
    bundle_close(b);
    sign_key_destroy(key);
    incoming_drop(d);
    return rc;
}

static int
bank_step(struct dpud *d, int (*step)(const char *, char *, size_t), const char *what,
          json_t **result, char *err, size_t err_len)
{
    char t[128], why[BANK_ERR_LEN];
    int rc = target(d, t, sizeof t, err, err_len);
    if (rc < 0)
        return rc;
    if ((rc = step(d->dir, why, sizeof why)) < 0)
        return err_set(err, err_len, rc, "%s: %s", what, why);
    log_info("software: %s", what);
    *result = bank_status(d->dir);
    return 0;
}

static int
cmd_commit(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    return bank_step(ctx->aux, bank_commit, "commit", result, err, err_len);
}

static int
cmd_finish(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    return bank_step(ctx->aux, bank_finish, "finish", result, err, err_len);
}

static int
cmd_undo(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    incoming_drop(ctx->aux);
    return bank_step(ctx->aux, bank_undo, "undo", result, err, err_len);
}

static int
rollback_request(const char *dir, char *why, size_t len)
{
    return bank_request_rollback(dir, why, len);
}

static int
cmd_rollback(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    return bank_step(ctx->aux, rollback_request, "rollback requested for the next boot", result,
                     err, err_len);
}

/* The banks, not the switch: none pauses the workers. */
const struct cmd_def dpud_software_commands[] = {
    {.name = "software.show",
     .usage = "",
     .fn = cmd_show,
     .roles = AUTHZ_HOST,
     .flags = CMD_UNGUARDED},
    {.name = "software.stage.begin",
     .usage = "{id, size, sha256, need}",
     .fn = cmd_begin,
     .roles = AUTHZ_HOST},
    {.name = "software.stage.chunk",
     .usage = "{id, offset} + payload, or {id, offset, data (base64)}",
     .fn = cmd_chunk,
     .roles = AUTHZ_HOST},
    {.name = "software.stage.end", .usage = "{id}", .fn = cmd_end, .roles = AUTHZ_HOST},
    {.name = "software.commit",
     .usage = "",
     .fn = cmd_commit,
     .roles = AUTHZ_HOST,
     .flags = CMD_UNGUARDED},
    {.name = "software.finish",
     .usage = "",
     .fn = cmd_finish,
     .roles = AUTHZ_HOST,
     .flags = CMD_UNGUARDED},
    {.name = "software.undo",
     .usage = "",
     .fn = cmd_undo,
     .roles = AUTHZ_HOST,
     .flags = CMD_UNGUARDED},
    {.name = "software.rollback",
     .usage = "",
     .fn = cmd_rollback,
     .roles = AUTHZ_HOST,
     .flags = CMD_UNGUARDED},
};
const size_t dpud_n_software_commands =
    sizeof dpud_software_commands / sizeof dpud_software_commands[0];
