/* SPDX-License-Identifier: Apache-2.0 */
/*
 * software-dpu: a DPU as a device of an install (software-private.h): each
 * step is one of the DPU's software.* commands, on one connection per DPU,
 * so that the whole bundle goes without a handshake per chunk.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemons/hostd/software-private.h"
#include "lib/http.h"
#include "lib/util.h"

#define CHUNK (1024 * 1024)     /* raw bytes a call (HTTP_MAX_BODY allows more) */
#define STAGE_TIMEOUT_MS 120000 /* a DPU verifies and unpacks the whole image */
#define STEP_TIMEOUT_MS 30000

/* Calls 'cmd' on the DPU with 'args' (taken) and an optional binary
 * payload, on the device's own connection. */
static int
dpu_step(struct hostd_install_dpu *x, const char *cmd, json_t *args, const void *payload,
         size_t len, int timeout_ms, char *err, size_t err_len)
{
    json_t *r = NULL;
    if (!x->session)
        x->session = hostd_dpu_session(x->h, x->dpu);
    int rc = x->session ? hostd_dpu_session_call(x->session, x->dpu, cmd, args, payload, len,
                                                 timeout_ms, &r, err, err_len)
                        : err_set(err, err_len, -ENOMEM, "out of memory");
    json_decref(args);
    json_decref(r);
    return rc;
}

/* The file at 'fd', chunk after chunk, as transfer 'id'. */
static int
send_chunks(struct hostd_install_dpu *x, int fd, const struct install_image *img, const char *id,
            struct install_device *d, char *err, size_t err_len)
{
    uint8_t *buf = malloc(CHUNK);
    int rc = buf ? 0 : err_set(err, err_len, -ENOMEM, "out of memory");
    uint64_t off = 0;
    while (rc == 0 && off < img->size) {
        ssize_t n = pread(fd, buf, CHUNK, (off_t)off);
        if (n <= 0) {
            rc = err_set(err, err_len, n < 0 ? -errno : -EIO, "%s: short read", img->path);
            break;
        }
        rc = dpu_step(x, "software.stage.chunk",
                      json_pack("{s:s,s:I}", "id", id, "offset", (json_int_t)off), buf, (size_t)n,
                      STEP_TIMEOUT_MS, err, err_len);
        off += (uint64_t)n;
        install_device_progress(d, NULL, off);
    }
    free(buf);
    return rc;
}

static int
dpu_check(void *aux, const struct install_image *img, uint64_t need, uint64_t *total, char *err,
          size_t err_len)
{
    *total = img->size; /* the whole bundle goes */
    return 0;
}

static int
dpu_stage(void *aux, const struct install_image *img, uint64_t need, struct install_device *d,
          char *err, size_t err_len)
{
    struct hostd_install_dpu *x = aux;
    char id[32];
    snprintf(id, sizeof id, "op%u", x->op_id);
    install_device_progress(d, "sending", 0);
    int fd = open(img->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_set(err, err_len, -errno, "%s: %s", img->path, strerror(errno));
    int rc = dpu_step(x, "software.stage.begin",
                      json_pack("{s:s,s:I,s:s,s:I}", "id", id, "size", (json_int_t)img->size,
                                "sha256", img->sha256, "need", (json_int_t)need),
                      NULL, 0, STEP_TIMEOUT_MS, err, err_len);
    if (rc == 0)
        rc = send_chunks(x, fd, img, id, d, err, err_len);
    close(fd);
    if (rc == 0) {
        install_device_progress(d, "staging", img->size);
        rc = dpu_step(x, "software.stage.end", json_pack("{s:s}", "id", id), NULL, 0,
                      STAGE_TIMEOUT_MS, err, err_len);
    }
    return rc;
}

static int
dpu_commit(void *aux, char *err, size_t err_len)
{
    return dpu_step(aux, "software.commit", NULL, NULL, 0, STEP_TIMEOUT_MS, err, err_len);
}

static int
dpu_finish(void *aux, char *err, size_t err_len)
{
    return dpu_step(aux, "software.finish", NULL, NULL, 0, STEP_TIMEOUT_MS, err, err_len);
}

static int
dpu_undo(void *aux, char *err, size_t err_len)
{
    return dpu_step(aux, "software.undo", NULL, NULL, 0, STEP_TIMEOUT_MS, err, err_len);
}

static void
dpu_release(void *aux)
{
    struct hostd_install_dpu *x = aux;
    httpc_session_destroy(x->session);
    x->session = NULL;
}

const struct install_device_ops hostd_install_dpu_ops = {
    .check = dpu_check,
    .stage = dpu_stage,
    .commit = dpu_commit,
    .finish = dpu_finish,
    .undo = dpu_undo,
    .release = dpu_release,
};
