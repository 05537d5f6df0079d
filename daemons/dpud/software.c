/* SPDX-License-Identifier: Apache-2.0 */
/*
 * software: the DPU's side of installing a unified image: command handlers
 * over lcm/incoming.h (the bundle hostd streams in chunks:
 * software.stage.begin, .chunk..., .end, checked and staged by the DPU
 * itself, which trusts only its own anchor, DIR/certs/bundle.pub) and
 * lcm/bank.h (software.commit, .finish and .undo of the host's two-phase
 * install, software.rollback for the next boot).  None of these touch the
 * switch: they run beside the workers.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemons/dpud/dpud.h"
#include "lcm/bank.h"
#include "lcm/incoming.h"
#include "lib/authz.h"
#include "lib/base64.h"
#include "lib/log.h"
#include "lib/util.h"

LOG_MODULE(software);

/* A transfer from hostd: its id, and the image arriving. */
struct dpud_incoming {
    char id[64];
    struct incoming *in;
};

static void
incoming_drop(struct dpud *d)
{
    if (!d->incoming)
        return;
    incoming_destroy(d->incoming->in);
    free(d->incoming);
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
    uint8_t md[SHA256_LEN];
    int rc = target(d, t, sizeof t, err, err_len);
    if (rc < 0)
        return rc;
    if (!id || strlen(id) >= sizeof d->incoming->id || !sha || !json_is_integer(size) ||
        json_integer_value(size) <= 0 || !json_is_integer(need) || json_integer_value(need) < 0)
        return err_set(err, err_len, -EINVAL,
                       "software.stage.begin wants {id, size, sha256, need}");
    incoming_drop(d);
    if (!hex_parse(sha, md, SHA256_LEN))
        return err_set(err, err_len, -EINVAL, "sha256: not 64 hex digits");
    struct dpud_incoming *x = calloc(1, sizeof *x);
    if (!x)
        return err_set(err, err_len, -ENOMEM, "out of memory");
    rc = incoming_begin(d->dir, (uint64_t)json_integer_value(size), md,
                        (uint64_t)json_integer_value(need), &x->in, err, err_len);
    if (rc < 0) {
        free(x);
        return rc;
    }
    snprintf(x->id, sizeof x->id, "%s", id);
    d->incoming = x;
    log_info("software: receiving an image (%llu bytes) for %s",
             (unsigned long long)json_integer_value(size), t);
    *result = json_pack("{s:s}", "target", t);
    return 0;
}

static struct incoming *
incoming_for(struct dpud *d, json_t *args, char *err, size_t err_len)
{
    const char *id = json_string_value(json_object_get(args, "id"));
    if (!d->incoming || !id || strcmp(id, d->incoming->id)) {
        err_set(err, err_len, -ENOENT, "no transfer %s in progress", id ? id : "(no id)");
        return NULL;
    }
    return d->incoming->in;
}

static int
cmd_chunk(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct dpud *d = ctx->aux;
    struct incoming *in = incoming_for(d, args, err, err_len);
    if (!in)
        return -ENOENT;
    json_t *off = json_object_get(args, "offset");
    const char *data = json_string_value(json_object_get(args, "data"));
    if (!json_is_integer(off) || (!data && !ctx->payload))
        return err_set(err, err_len, -EINVAL,
                       "software.stage.chunk wants {id, offset} and a payload (or base64 data)");
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
    bool is_broken = rc < 0; /* a chunk at another offset may come again */
    if (rc == 0 &&
        (rc = incoming_write(in, (uint64_t)json_integer_value(off), buf, n, err, err_len)) < 0)
        is_broken = incoming_is_broken(in);
    if (rc == 0)
        *result = json_pack("{s:I}", "received", (json_int_t)incoming_received(in));
    free(copy);
    if (is_broken)
        incoming_drop(d);
    return rc;
}

static int
cmd_end(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct dpud *d = ctx->aux;
    struct incoming *in = incoming_for(d, args, err, err_len);
    if (!in)
        return -ENOENT;
    char t[128], version[64];
    int rc = target(d, t, sizeof t, err, err_len);
    if (rc == 0 && (rc = incoming_stage(in, t, version, sizeof version, err, err_len)) == 0) {
        log_info("software: %s staged", version);
        *result = json_pack("{s:s,s:s}", "target", t, "version", version);
    }
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
