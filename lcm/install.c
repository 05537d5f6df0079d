/* SPDX-License-Identifier: Apache-2.0 */
/*
 * install: the install transaction over its devices' ops (install.h): the
 * plan's checks, the stage threads, commit, finish, undo and the progress
 * that software.progress shows; and the ops of a device's own banks.
 */
#include "lcm/install.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lcm/bank.h"
#include "lcm/bundle.h"
#include "lib/fault.h"
#include "lib/log.h"
#include "lib/util.h"

LOG_MODULE(install);

struct install_device {
    struct install *op;
    char name[16];
    char target[96];
    char from[64]; /* the version it runs */
    char step[16]; /* queued, sending, staging, staged, committed, done, undone */
    uint64_t need; /* bytes of its component (bundle_space_needed()) */
    uint64_t sent, total;
    uint64_t stage_begin_ms, stage_end_ms; /* since start_ms; 0: not yet */
    char error[384];
    bool failed;
    const struct install_device_ops *ops;
    void *aux;
};

struct install {
    pthread_mutex_t mu; /* guards what install_progress() reads */
    pthread_t thread;
    struct install_params p;
    struct install_image img;
    bool has_img, is_started, is_joined, running, failed, is_released;
    uint64_t end_ms;
    char bundle[INSTALL_PATH_MAX], version[64];
    char error[512];
    struct install_device devs[INSTALL_MAX_DEVICES];
    unsigned n_devs;
};

/* ---- progress ---------------------------------------------------------- */

static void
set_step(struct install_device *d, const char *step)
{
    pthread_mutex_lock(&d->op->mu);
    snprintf(d->step, sizeof d->step, "%s", step);
    pthread_mutex_unlock(&d->op->mu);
}

void
install_device_progress(struct install_device *d, const char *step, uint64_t done)
{
    pthread_mutex_lock(&d->op->mu);
    if (step)
        snprintf(d->step, sizeof d->step, "%s", step);
    d->sent = done;
    pthread_mutex_unlock(&d->op->mu);
}

/* Device 'd' failed at 'step': the operation fails, named after the first. */
static void
dev_fail(struct install_device *d, const char *step, const char *why)
{
    struct install *op = d->op;
    pthread_mutex_lock(&op->mu);
    d->failed = true;
    snprintf(d->error, sizeof d->error, "%s: %s", step, why);
    if (!op->failed)
        snprintf(op->error, sizeof op->error, "%s failed at %s: %s", d->name, step, why);
    op->failed = true;
    pthread_mutex_unlock(&op->mu);
    log_warn("%s: %s: %s", d->name, step, why);
}

static json_t *
dev_json(const struct install_device *d)
{
    json_t *dev =
        json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:s?}", "device", d->name, "target", d->target, "from",
                  d->from, "step", d->step, "sent", (json_int_t)d->sent, "total",
                  (json_int_t)d->total, "error", d->failed ? d->error : NULL);
    if (dev && d->stage_begin_ms)
        json_object_set_new(dev, "stage_begin_ms", json_integer((json_int_t)d->stage_begin_ms));
    if (dev && d->stage_end_ms)
        json_object_set_new(dev, "stage_end_ms", json_integer((json_int_t)d->stage_end_ms));
    return dev;
}

json_t *
install_progress(const struct install *op)
{
    struct install *o = (struct install *)op; /* the mutex only */
    pthread_mutex_lock(&o->mu);
    json_t *devs = json_array();
    for (unsigned i = 0; devs && i < op->n_devs; i++)
        if (json_array_append_new(devs, dev_json(&op->devs[i])) < 0) {
            json_decref(devs);
            devs = NULL;
        }
    uint64_t end = op->running ? now_ms() : op->end_ms;
    uint64_t elapsed = op->p.start_ms && end ? end - op->p.start_ms : 0;
    const char *state = op->running ? "running" : op->failed ? "failed" : "ok";
    json_t *j = devs ? json_pack("{s:i,s:s,s:s,s:s,s:s?,s:b,s:I,s:o}", "op", (int)op->p.id, "state",
                                 state, "version", op->version, "bundle", op->bundle, "error",
                                 op->failed ? op->error : NULL, "serial", op->p.serial,
                                 "elapsed_ms", (json_int_t)elapsed, "devices", devs)
                     : NULL;
    pthread_mutex_unlock(&o->mu);
    return j;
}

bool
install_is_running(const struct install *op)
{
    struct install *o = (struct install *)op;
    pthread_mutex_lock(&o->mu);
    bool running = op->running;
    pthread_mutex_unlock(&o->mu);
    return running;
}

unsigned
install_id(const struct install *op)
{
    return op->p.id;
}

/* ---- the plan ---------------------------------------------------------- */

int
install_create(const struct install_params *p, struct install_image *img, const char *bundle,
               const char *version, struct install **out)
{
    struct install *op = calloc(1, sizeof *op);
    if (!op)
        return -ENOMEM;
    pthread_mutex_init(&op->mu, NULL);
    op->p = *p;
    if (img) {
        op->img = *img;
        op->has_img = true;
        memset(img, 0, sizeof *img);
        bundle = op->img.path;
        version = bundle_manifest(op->img.bundle)->version;
    }
    snprintf(op->bundle, sizeof op->bundle, "%s", bundle ? bundle : "");
    snprintf(op->version, sizeof op->version, "%s", version ? version : "");
    *out = op;
    return 0;
}

int
install_add_device(struct install *op, const char *name, const char *target, const char *from,
                   const struct install_device_ops *ops, void *aux)
{
    if (op->is_started)
        return -EBUSY;
    if (op->n_devs == INSTALL_MAX_DEVICES)
        return -ENOSPC;
    struct install_device *d = &op->devs[op->n_devs++];
    *d = (struct install_device){.op = op, .ops = ops, .aux = aux};
    snprintf(d->name, sizeof d->name, "%s", name);
    snprintf(d->target, sizeof d->target, "%s", target);
    snprintf(d->from, sizeof d->from, "%s", from);
    snprintf(d->step, sizeof d->step, "queued");
    return 0;
}

int
install_check(struct install *op, char *err, size_t err_len)
{
    const struct install_image *img = op->has_img ? &op->img : NULL;
    for (unsigned i = 0; img && i < op->n_devs; i++) {
        struct install_device *d = &op->devs[i];
        int rc = install_image_has(img, d->target, d->name, err, err_len);
        if (rc < 0)
            return rc;
        bundle_space_needed(img->bundle, d->target, &d->need);
    }
    for (unsigned i = 0; i < op->n_devs; i++) {
        struct install_device *d = &op->devs[i];
        char why[ERR_LEN] = "";
        d->total = d->need;
        int rc =
            d->ops->check ? d->ops->check(d->aux, img, d->need, &d->total, why, sizeof why) : 0;
        if (rc < 0)
            return err_set(err, err_len, rc, "refused: %s: %s", d->name, why);
    }
    return 0;
}

/* ---- the operation's threads ------------------------------------------- */

/* The beginning or the end of device 'd''s stage, in ms since the start. */
static void
stage_mark(struct install_device *d, bool end)
{
    pthread_mutex_lock(&d->op->mu);
    uint64_t t = now_ms() - d->op->p.start_ms;
    *(end ? &d->stage_end_ms : &d->stage_begin_ms) = t ? t : 1;
    pthread_mutex_unlock(&d->op->mu);
}

static void *
stage_one(void *arg)
{
    struct install_device *d = arg;
    const struct install *op = d->op;
    char err[ERR_LEN] = "";
    stage_mark(d, false);
    int rc = d->ops->stage(d->aux, op->has_img ? &op->img : NULL, d->need, d, err, sizeof err);
    if (rc < 0) /* a failure while sending is one of the transfer */
        dev_fail(d, !strcmp(d->step, "sending") ? "send" : "stage", err[0] ? err : strerror(-rc));
    else
        set_step(d, "staged");
    stage_mark(d, true);
    return NULL;
}

/* Every device at once, or one after another (--serial: the figure
 * install-2dpu-serial compares against). */
static void
stage_all(struct install *op)
{
    pthread_t th[INSTALL_MAX_DEVICES];
    bool started[INSTALL_MAX_DEVICES] = {false};
    for (unsigned i = 0; i < op->n_devs; i++) {
        started[i] = pthread_create(&th[i], NULL, stage_one, &op->devs[i]) == 0;
        if (!started[i]) /* no thread: staged here, one after another */
            stage_one(&op->devs[i]);
        else if (op->p.serial)
            pthread_join(th[i], NULL);
    }
    for (unsigned i = 0; i < op->n_devs && !op->p.serial; i++)
        if (started[i])
            pthread_join(th[i], NULL);
}

static bool
op_failed(struct install *op)
{
    pthread_mutex_lock(&op->mu);
    bool failed = op->failed;
    pthread_mutex_unlock(&op->mu);
    return failed;
}

/* Every device but the first, then the first (the host): a DPU that cannot
 * commit leaves the host as it was. */
static void
commit_all(struct install *op)
{
    for (unsigned k = 1; k <= op->n_devs && !op_failed(op); k++) {
        struct install_device *d = &op->devs[k % op->n_devs];
        char err[ERR_LEN] = "";
        int rc = d->ops->commit(d->aux, err, sizeof err);
        if (rc < 0)
            dev_fail(d, "commit", err[0] ? err : strerror(-rc));
        else
            set_step(d, "committed");
    }
}

/* The operation's end on every device: finish after a success, undo after
 * a failure.  A device that cannot is only logged: what is left (a pending
 * flag, the previous bank) is its next boot's to sort out (lcm/boot.h). */
static void
end_all(struct install *op, bool ok)
{
    for (unsigned i = 0; i < op->n_devs; i++) {
        struct install_device *d = &op->devs[i];
        char err[ERR_LEN] = "";
        int rc =
            ok ? d->ops->finish(d->aux, err, sizeof err) : d->ops->undo(d->aux, err, sizeof err);
        if (rc < 0)
            log_warn("%s: %s: %s%s", d->name, ok ? "finish" : "undo", err,
                     ok ? "" : " (its boot state is checked at the next boot)");
        if (ok || (rc == 0 && !d->failed))
            set_step(d, ok ? "done" : "undone");
    }
}

/* What the devices and the image held goes; once. */
static void
release_all(struct install *op)
{
    if (op->is_released)
        return;
    op->is_released = true;
    for (unsigned i = 0; i < op->n_devs; i++)
        if (op->devs[i].ops->release)
            op->devs[i].ops->release(op->devs[i].aux);
    install_image_close(&op->img);
}

static void *
run(void *arg)
{
    struct install *op = arg;
    stage_all(op);
    fault_point("install.staged");
    commit_all(op);
    bool ok = !op_failed(op);
    if (ok)
        fault_point("install.committed");
    end_all(op, ok);
    if (ok)
        log_info("%s staged on every device; pending until the next reboot", op->version);
    if (op->p.done)
        op->p.done(op->p.aux, ok);
    release_all(op);
    pthread_mutex_lock(&op->mu);
    op->running = false;
    op->end_ms = now_ms();
    pthread_mutex_unlock(&op->mu);
    return NULL;
}

int
install_start(struct install *op, json_t **progress, char *err, size_t err_len)
{
    if (op->is_started)
        return err_set(err, err_len, -EALREADY, "op %u started already", op->p.id);
    op->is_started = true;
    pthread_mutex_lock(&op->mu);
    op->running = true;
    pthread_mutex_unlock(&op->mu);
    if (progress)
        *progress = install_progress(op);
    int rc = pthread_create(&op->thread, NULL, run, op);
    if (rc == 0)
        return 0;
    op->is_joined = true; /* nothing to join */
    pthread_mutex_lock(&op->mu);
    op->running = false;
    op->failed = true;
    snprintf(op->error, sizeof op->error, "cannot start: %s", strerror(rc));
    pthread_mutex_unlock(&op->mu);
    if (progress) {
        json_decref(*progress);
        *progress = NULL;
    }
    return err_set(err, err_len, -rc, "cannot start the install: %s", strerror(rc));
}

void
install_wait(struct install *op)
{
    if (op->is_started && !op->is_joined) {
        pthread_join(op->thread, NULL);
        op->is_joined = true;
    }
}

void
install_destroy(struct install *op)
{
    if (!op)
        return;
    install_wait(op);
    release_all(op);
    pthread_mutex_destroy(&op->mu);
    free(op);
}

/* ---- a device's own banks ---------------------------------------------- */

static int
local_check(void *aux, const struct install_image *img, uint64_t need, uint64_t *total, char *err,
            size_t err_len)
{
    const struct install_local *l = aux;
    *total = need;
    return bank_space_check(l->devdir, 0, need, err, err_len);
}

static int
local_stage(void *aux, const struct install_image *img, uint64_t need, struct install_device *d,
            char *err, size_t err_len)
{
    const struct install_local *l = aux;
    install_device_progress(d, "staging", 0);
    int rc = bank_stage(l->devdir, img->bundle, l->target, err, err_len);
    install_device_progress(d, NULL, need);
    return rc;
}

static int
local_commit(void *aux, char *err, size_t err_len)
{
    return bank_commit(((const struct install_local *)aux)->devdir, err, err_len);
}

static int
local_finish(void *aux, char *err, size_t err_len)
{
    return bank_finish(((const struct install_local *)aux)->devdir, err, err_len);
}

static int
local_undo(void *aux, char *err, size_t err_len)
{
    return bank_undo(((const struct install_local *)aux)->devdir, err, err_len);
}

const struct install_device_ops install_local_ops = {
    .check = local_check,
    .stage = local_stage,
    .commit = local_commit,
    .finish = local_finish,
    .undo = local_undo,
};
