/* SPDX-License-Identifier: Apache-2.0 */
/*
 * software: hostd installs a unified image on the host and every DPU at once,
 * lists what each device runs, asks for a rollback and reboots the server
 * (DESIGN §6, lcm/bank.h).
 *
 * An install is checked whole before anything is written: the signature (the
 * host's trust anchor, DIR/certs/bundle.pub) and every payload file, a
 * component for the host and for every DPU model present, two identical DPUs,
 * the same DPU set as the last install (else --fresh), a newer version for an
 * update.  Then it runs as a two-phase operation on its own threads, so that
 * the event loop keeps answering (software.progress):
 *
 *     stage    host: its component into its alternate bank; each DPU, in
 *              parallel: the bundle streamed in chunks over the internal
 *              network, checked and staged by the DPU itself
 *     commit   every DPU, then the host: the alternate bank becomes pending
 *     finish   every device drops what the commit replaced
 *
 * A failure anywhere fails the whole operation, names the device and the
 * step, and undoes every device (staging dropped, commits reverted), so that
 * no pending flag is left anywhere.  The DPU set of the last good install is
 * kept in DIR/software.json.
 *
 * Thread-safety: the operation's threads share only 'struct sw_op', under its
 * mutex; they call DPUs with hostd_dpu_request(), which keeps no state.
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/authz.h"
#include "lcm/bank.h"
#include "lib/http.h"
#include "config.h"
#include "lib/fault.h"
#include "lcm/bundle.h"
#include "daemons/hostd/hostd.h"
#include "lib/log.h"
#include "lcm/manifest.h"
#include "lcm/sign.h"
#include "lib/util.h"

LOG_MODULE(software);

#define HOST_TARGET "host/x86_64"
#define CHUNK HTTP_MAX_BODY     /* raw bytes, the API's largest payload */
#define STAGE_TIMEOUT_MS 120000 /* a DPU verifies and unpacks the whole image */
#define STEP_TIMEOUT_MS 30000

struct sw_dev {
    char name[16];                 /* "host", "dpu1" */
    struct hostd_dpu *dpu;         /* NULL for the host */
    struct httpc_session *session; /* the DPU's connection during the operation */
    char target[96];
    char from[64]; /* the version it runs */
    char step[16]; /* queued, sending, staging, staged, committed, done, undone */
    uint64_t sent, total;
    uint64_t stage_begin_ms, stage_end_ms; /* since the operation began; 0: not yet */
    char error[384];
    bool failed, committed;
};

struct sw_op {
    pthread_mutex_t mu;
    pthread_t thread;
    struct hostd *h;
    unsigned id;
    bool running, failed;
    bool serial; /* stage one device after another (for comparison) */
    uint64_t start_ms, end_ms;
    char bundle[4096], version[64], sha256[65];
    uint64_t size, need_dpu;
    bool record_set; /* write software.json when done */
    json_t *dpu_set; /* what to write there */
    char error[512];
    struct sw_dev devs[1 + HOSTD_MAX_DPUS];
    unsigned n_devs;
};

static struct sw_op *op; /* the last operation (hostd runs one at a time) */

/* ---- progress ---- */

static void
set_step(struct sw_dev *d, const char *step)
{
    pthread_mutex_lock(&op->mu);
    snprintf(d->step, sizeof d->step, "%s", step);
    pthread_mutex_unlock(&op->mu);
}

static void
dev_fail(struct sw_dev *d, const char *step, const char *why)
{
    pthread_mutex_lock(&op->mu);
    d->failed = true;
    snprintf(d->error, sizeof d->error, "%s: %s", step, why);
    if (!op->failed)
        snprintf(op->error, sizeof op->error, "%s failed at %s: %s", d->name, step, why);
    op->failed = true;
    pthread_mutex_unlock(&op->mu);
    log_warn("install: %s: %s: %s", d->name, step, why);
}

static json_t *
op_json(void)
{
    pthread_mutex_lock(&op->mu);
    json_t *devs = json_array();
    for (unsigned i = 0; i < op->n_devs; i++) {
        const struct sw_dev *d = &op->devs[i];
        json_t *dev =
            json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:s?}", "device", d->name, "target", d->target,
                      "from", d->from, "step", d->step, "sent", (json_int_t)d->sent, "total",
                      (json_int_t)d->total, "error", d->failed ? d->error : NULL);
        if (d->stage_begin_ms)
            json_object_set_new(dev, "stage_begin_ms", json_integer((json_int_t)d->stage_begin_ms));
        if (d->stage_end_ms)
            json_object_set_new(dev, "stage_end_ms", json_integer((json_int_t)d->stage_end_ms));
        json_array_append_new(devs, dev);
    }
    uint64_t end = op->running ? now_ms() : op->end_ms;
    uint64_t elapsed = op->start_ms && end ? end - op->start_ms : 0;
    json_t *j = json_pack("{s:i,s:s,s:s,s:s,s:s?,s:b,s:I,s:o}", "op", (int)op->id, "state",
                          op->running  ? "running"
                          : op->failed ? "failed"
                                       : "ok",
                          "version", op->version, "bundle", op->bundle, "error",
                          op->failed ? op->error : NULL, "serial", op->serial, "elapsed_ms",
                          (json_int_t)elapsed, "devices", devs);
    pthread_mutex_unlock(&op->mu);
    return j;
}

/* ---- the operation's threads ---- */

/* Calls 'cmd' on the DPU of 'd' with 'args' (taken) and an optional binary
 * payload, on the device's own connection (one per device and thread: the
 * whole bundle goes without a handshake per chunk). */
static int
dpu_step(struct sw_dev *d, const char *cmd, json_t *args, const void *payload, size_t len,
         int timeout_ms, char *err, size_t err_len)
{
    json_t *r = NULL;
    int rc = d->session ? hostd_dpu_session_call(d->session, d->dpu, cmd, args, payload, len,
                                                 timeout_ms, &r, err, err_len)
                        : err_set(err, err_len, -ENOMEM, "out of memory");
    json_decref(args);
    json_decref(r);
    return rc;
}

/* Marks the beginning or the end of device 'd''s staging. */
static void
stage_mark(struct sw_dev *d, bool end)
{
    pthread_mutex_lock(&op->mu);
    uint64_t t = now_ms() - op->start_ms;
    *(end ? &d->stage_end_ms : &d->stage_begin_ms) = t ? t : 1;
    pthread_mutex_unlock(&op->mu);
}

/* Streams the bundle to one DPU, which checks and stages it. */
static void *
stage_dpu(void *arg)
{
    struct sw_dev *d = arg;
    stage_mark(d, false);
    char err[ERR_LEN] = "", id[32];
    snprintf(id, sizeof id, "op%u", op->id);
    set_step(d, "sending");
    int fd = open(op->bundle, O_RDONLY | O_CLOEXEC);
    int rc = fd < 0 ? err_set(err, sizeof err, -errno, "%s: %s", op->bundle, strerror(errno)) : 0;
    if (rc == 0)
        rc = dpu_step(d, "software.stage.begin",
                      json_pack("{s:s,s:I,s:s,s:I}", "id", id, "size", (json_int_t)op->size,
                                "sha256", op->sha256, "need", (json_int_t)op->need_dpu),
                      NULL, 0, STEP_TIMEOUT_MS, err, sizeof err);
    uint8_t *buf = malloc(CHUNK);
    if (!buf && rc == 0)
        rc = err_set(err, sizeof err, -ENOMEM, "out of memory");
    uint64_t off = 0;
    while (rc == 0 && off < op->size) {
        ssize_t n = pread(fd, buf, CHUNK, (off_t)off);
        if (n <= 0) {
            rc = err_set(err, sizeof err, n < 0 ? -errno : -EIO, "%s: short read", op->bundle);
            break;
        }
        rc = dpu_step(d, "software.stage.chunk",
                      json_pack("{s:s,s:I}", "id", id, "offset", (json_int_t)off), buf, (size_t)n,
                      STEP_TIMEOUT_MS, err, sizeof err);
        off += (uint64_t)n;
        pthread_mutex_lock(&op->mu);
        d->sent = off;
        pthread_mutex_unlock(&op->mu);
    }
    free(buf);
    if (fd >= 0)
        close(fd);
    if (rc == 0) {
        set_step(d, "staging");
        rc = dpu_step(d, "software.stage.end", json_pack("{s:s}", "id", id), NULL, 0,
                      STAGE_TIMEOUT_MS, err, sizeof err);
    }
    if (rc < 0)
        dev_fail(d, off < op->size ? "send" : "stage", err[0] ? err : strerror(-rc));
    else
        set_step(d, "staged");
    stage_mark(d, true);
    return NULL;
}

static void *
stage_host(void *arg)
{
    struct sw_dev *d = arg;
    char why[BUNDLE_ERR_LEN], pub[4200];
    struct sign_key *key = NULL;
    struct bundle *b = NULL;
    stage_mark(d, false);
    set_step(d, "staging");
    snprintf(pub, sizeof pub, "%s/certs/bundle.pub", op->h->dir);
    int rc = sign_key_load_public(pub, &key, why, sizeof why);
    if (rc == 0)
        rc = bundle_open(op->bundle, key, NULL, &b, why, sizeof why);
    if (rc == 0)
        rc = bank_stage(op->h->dir, b, HOST_TARGET, why, sizeof why);
    bundle_close(b);
    sign_key_destroy(key);
    pthread_mutex_lock(&op->mu);
    d->sent = d->total;
    pthread_mutex_unlock(&op->mu);
    if (rc < 0)
        dev_fail(d, "stage", why);
    else
        set_step(d, "staged");
    stage_mark(d, true);
    return NULL;
}

/* One of commit, finish, undo on device 'd'. */
static int
device_step(struct sw_dev *d, const char *what, char *err, size_t err_len)
{
    char why[BANK_ERR_LEN];
    if (d->dpu) {
        char cmd[32];
        snprintf(cmd, sizeof cmd, "software.%s", what);
        return dpu_step(d, cmd, NULL, NULL, 0, STEP_TIMEOUT_MS, err, err_len);
    }
    int rc = !strcmp(what, "commit")   ? bank_commit(op->h->dir, why, sizeof why)
             : !strcmp(what, "finish") ? bank_finish(op->h->dir, why, sizeof why)
                                       : bank_undo(op->h->dir, why, sizeof why);
    return rc < 0 ? err_set(err, err_len, rc, "%s", why) : 0;
}

static void
undo_all(void)
{
    for (unsigned i = 0; i < op->n_devs; i++) {
        struct sw_dev *d = &op->devs[i];
        char err[ERR_LEN] = "";
        if (device_step(d, "undo", err, sizeof err) < 0)
            log_warn("install: %s: undo: %s (its boot state is checked at the next boot)", d->name,
                     err);
        else if (!d->failed)
            set_step(d, "undone");
    }
}

static void
record_dpu_set(void)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/software.json", op->h->dir);
    json_t *j = json_pack("{s:s,s:O}", "version", op->version, "dpus", op->dpu_set);
    char *s = j ? json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
    json_decref(j);
    if (!s || fs_write_atomic(path, s, strlen(s)) < 0)
        log_warn("install: cannot record the DPU set in %s", path);
    free(s);
}

static void *
run_op(void *arg)
{
    pthread_t th[1 + HOSTD_MAX_DPUS];
    for (unsigned i = 0; i < op->n_devs; i++)
        if (op->devs[i].dpu)
            op->devs[i].session = hostd_dpu_session(op->h, op->devs[i].dpu);
    /* In parallel; --serial stages one device after another (the figure
     * install-2dpu-serial compares against). */
    for (unsigned i = 0; i < op->n_devs; i++) {
        pthread_create(&th[i], NULL, op->devs[i].dpu ? stage_dpu : stage_host, &op->devs[i]);
        if (op->serial)
            pthread_join(th[i], NULL);
    }
    for (unsigned i = 0; i < op->n_devs && !op->serial; i++)
        pthread_join(th[i], NULL);
    fault_point("install.staged");
    /* Commit: the DPUs, then the host (devs[0]). */
    for (unsigned k = 1; k <= op->n_devs && !op->failed; k++) {
        struct sw_dev *d = &op->devs[k % op->n_devs];
        char err[ERR_LEN] = "";
        if (device_step(d, "commit", err, sizeof err) < 0)
            dev_fail(d, "commit", err);
        else
            set_step(d, "committed");
    }
    if (op->failed) {
        undo_all();
    } else {
        fault_point("install.committed");
        for (unsigned i = 0; i < op->n_devs; i++) {
            char err[ERR_LEN] = "";
            if (device_step(&op->devs[i], "finish", err, sizeof err) < 0)
                log_warn("install: %s: finish: %s", op->devs[i].name, err);
            set_step(&op->devs[i], "done");
        }
        if (op->record_set)
            record_dpu_set();
        log_info("install: %s staged on every device; pending until the next reboot", op->version);
    }
    for (unsigned i = 0; i < op->n_devs; i++) {
        httpc_session_destroy(op->devs[i].session);
        op->devs[i].session = NULL;
    }
    pthread_mutex_lock(&op->mu);
    op->running = false;
    op->end_ms = now_ms();
    pthread_mutex_unlock(&op->mu);
    return NULL;
}

/* ---- checks ---- */

static int
sha256_file(const char *path, char hex[65], uint64_t *size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    uint8_t buf[65536], md[32];
    unsigned md_len = 0;
    ssize_t n;
    int rc = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) ? 0 : -ENOMEM;
    *size = 0;
    while (rc == 0 && (n = read(fd, buf, sizeof buf)) != 0) {
        if (n < 0)
            rc = -errno;
        else {
            EVP_DigestUpdate(ctx, buf, (size_t)n);
            *size += (uint64_t)n;
        }
    }
    if (rc == 0 && !EVP_DigestFinal_ex(ctx, md, &md_len))
        rc = -EIO;
    EVP_MD_CTX_free(ctx);
    close(fd);
    if (rc == 0)
        hex_format(md, 32, hex);
    return rc;
}

static const char *
str_of(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "?";
}

/* Has the set of DPUs (by name and serial) changed since the last install? */
static int
check_same_set(struct hostd *h, json_t *set, char *err, size_t err_len)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/software.json", h->dir);
    json_error_t je;
    json_t *rec = json_load_file(path, 0, &je);
    if (!rec)
        return 0; /* the first install on this host */
    json_t *old = json_object_get(rec, "dpus");
    char what[256] = "";
    for (size_t i = 0; i < json_array_size(set) && !what[0]; i++) {
        json_t *n = json_array_get(set, i);
        bool found = false;
        for (size_t j = 0; j < json_array_size(old); j++) {
            json_t *o = json_array_get(old, j);
            found |= !strcmp(str_of(o, "name"), str_of(n, "name")) &&
                     !strcmp(str_of(o, "serial"), str_of(n, "serial"));
        }
        if (!found)
            snprintf(what, sizeof what, "%s added", str_of(n, "name"));
    }
    if (!what[0] && json_array_size(old) != json_array_size(set))
        snprintf(what, sizeof what, "%zu DPUs then, %zu now", json_array_size(old),
                 json_array_size(set));
    json_decref(rec);
    if (what[0])
        return err_set(
            err, err_len, -ENOEXEC,
            "refused: the host's DPUs changed since the last install (%s): install host and "
            "all DPUs fresh (--fresh)",
            what);
    return 0;
}

static int
cmd_install(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct hostd *h = ctx->aux;
    uint64_t t0 = now_ms(); /* the install's time includes its checks */
    const char *path = NULL;
    bool dry = json_is_true(json_object_get(args, "dry_run"));
    bool fresh = json_is_true(json_object_get(args, "fresh"));
    bool update = json_is_true(json_object_get(args, "update"));
    bool serial = json_is_true(json_object_get(args, "serial"));
    int rc = cmd_arg_str(args, "bundle", &path, err, err_len);
    if (rc < 0)
        return rc;
    if (path[0] != '/')
        return err_set(err, err_len, -EINVAL, "bundle: an absolute path, please (%s)", path);
    if (op && op->running)
        return err_set(err, err_len, -EBUSY, "an install is running (op %u)", op->id);

    /* The image: signed by the key this host trusts, and whole. */
    char why[BUNDLE_ERR_LEN], pub[4200], running[64] = DSE_VERSION;
    snprintf(pub, sizeof pub, "%s/certs/bundle.pub", h->dir);
    struct sign_key *key = NULL;
    struct bundle *b = NULL;
    json_t *set = NULL;
    rc = sign_key_load_public(pub, &key, why, sizeof why);
    if (rc < 0) {
        rc = err_set(err, err_len, rc, "the host's trust anchor: %s", why);
        goto out;
    }
    if ((rc = bundle_open(path, key, NULL, &b, why, sizeof why)) < 0 ||
        (rc = bundle_verify(b, why, sizeof why)) < 0) {
        rc = err_set(err, err_len, rc, "refused: %s", why);
        goto out;
    }
    const struct manifest *m = bundle_manifest(b);
    bank_running_version(h->dir, running, sizeof running);
    if (update && manifest_version_cmp(m->version, running) <= 0) {
        rc = err_set(err, err_len, -ENOEXEC,
                     "refused: %s is not newer than the running %s (install it "
                     "with `software install`)",
                     m->version, running);
        goto out;
    }
    /* A component for the host and for every DPU; the DPUs alike, and the ones
     * the last install knew. */
    if (!manifest_find_component(m, HOST_TARGET)) {
        rc = err_set(err, err_len, -ENOEXEC, "refused: the image has no component for %s",
                     HOST_TARGET);
        goto out;
    }
    if ((rc = hostd_dpu_identities(h, &set, err, err_len)) < 0) {
        char e[ERR_LEN];
        snprintf(e, sizeof e, "%s", err);
        rc = err_set(err, err_len, rc, "refused: every DPU must be reachable: %s", e);
        goto out;
    }
    if ((rc = hostd_dpus_check_identical(set, err, err_len)) < 0 ||
        (!fresh && (rc = check_same_set(h, set, err, err_len)) < 0))
        goto out;
    uint64_t need_host = 0, need_dpu = 0;
    for (size_t i = 0; i < json_array_size(set); i++) {
        json_t *dpu = json_array_get(set, i);
        char t[128];
        snprintf(t, sizeof t, "dpu/%s/%s", str_of(dpu, "vendor"), str_of(dpu, "model"));
        if (bundle_space_needed(b, t, &need_dpu) < 0) {
            rc = err_set(err, err_len, -ENOEXEC, "refused: the image has no component for %s (%s)",
                         t, str_of(dpu, "name"));
            goto out;
        }
    }
    bundle_space_needed(b, HOST_TARGET, &need_host);
    struct statvfs sv;
    if (statvfs(h->dir, &sv) == 0 &&
        (uint64_t)sv.f_bavail * sv.f_frsize < need_host + need_host / 10 + (1 << 20)) {
        rc = err_set(err, err_len, -ENOSPC, "refused: not enough space on the host for %llu KiB",
                     (unsigned long long)(need_host >> 10));
        goto out;
    }

    /* The plan. */
    struct sw_op *o = calloc(1, sizeof *o);
    if (!o) {
        rc = err_set(err, err_len, -ENOMEM, "out of memory");
        goto out;
    }
    static unsigned next_id;
    o->id = ++next_id;
    o->h = h;
    pthread_mutex_init(&o->mu, NULL);
    snprintf(o->bundle, sizeof o->bundle, "%s", path);
    snprintf(o->version, sizeof o->version, "%s", m->version);
    o->need_dpu = need_dpu;
    o->serial = serial;
    o->start_ms = t0;
    o->record_set = true;
    o->dpu_set = set;
    set = NULL;
    struct sw_dev *d = &o->devs[o->n_devs++];
    snprintf(d->name, sizeof d->name, "host");
    snprintf(d->target, sizeof d->target, "%s", HOST_TARGET);
    snprintf(d->from, sizeof d->from, "%s", running);
    snprintf(d->step, sizeof d->step, "queued");
    d->total = need_host;
    for (unsigned i = 0; i < h->n_dpus; i++) {
        json_t *info = json_array_get(o->dpu_set, i);
        d = &o->devs[o->n_devs++];
        d->dpu = &h->dpus[i];
        snprintf(d->name, sizeof d->name, "%s", h->dpus[i].name);
        snprintf(d->target, sizeof d->target, "dpu/%s/%s", str_of(info, "vendor"),
                 str_of(info, "model"));
        snprintf(d->from, sizeof d->from, "%s", str_of(info, "version"));
        snprintf(d->step, sizeof d->step, "queued");
    }
    if ((rc = sha256_file(path, o->sha256, &o->size)) < 0) {
        rc = err_set(err, err_len, rc, "%s: %s", path, strerror(-rc));
        json_decref(o->dpu_set);
        free(o);
        goto out;
    }
    for (unsigned i = 1; i < o->n_devs; i++)
        o->devs[i].total = o->size;
    struct sw_op *prev = op;
    op = o;
    op->running = !dry;
    *result = op_json();
    json_object_set_new(*result, "dry_run", json_boolean(dry));
    if (dry) {
        op = prev;
        json_object_set_new(*result, "state", json_string("checked"));
        json_decref(o->dpu_set);
        free(o);
        goto out;
    }
    if (prev) {
        json_decref(prev->dpu_set);
        free(prev);
    }
    log_info("install: %s from %s on the host and %u DPU(s)%s", op->version, path, h->n_dpus,
             serial ? ", one after another" : "");
    if ((rc = pthread_create(&op->thread, NULL, run_op, NULL)) != 0) {
        op->running = false;
        op->failed = true;
        snprintf(op->error, sizeof op->error, "cannot start: %s", strerror(rc));
        json_decref(*result);
        *result = NULL;
        rc = err_set(err, err_len, -rc, "cannot start the install: %s", strerror(rc));
        goto out;
    }
    pthread_detach(op->thread);
out:
    json_decref(set);
    bundle_close(b);
    sign_key_destroy(key);
    return rc < 0 ? rc : 0;
}

static int
cmd_progress(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    if (!op)
        return err_set(err, err_len, -ENOENT, "no install since hostd started");
    *result = op_json();
    return 0;
}

/* ---- list, rollback, reboot ---- */

static json_t *
device_row(const char *device, const char *role, json_t *status, const char *error)
{
    json_t *banks = json_object_get(status, "banks");
    const char *active = json_string_value(json_object_get(status, "active"));
    char other[2] = {active && active[0] == 'A' ? 'B' : 'A', '\0'};
    json_t *a = active ? json_object_get(banks, active) : NULL;
    json_t *o = json_object_get(banks, other);
    return json_pack("{s:s,s:s,s:O?,s:O?,s:s,s:O?,s:O?,s:O?,s:O?,s:O?,s:O?,s:s?}", "device", device,
                     "role", role, "active", json_object_get(status, "active"), "active_version",
                     json_object_get(a, "version"), "alternate", other, "alternate_version",
                     json_object_get(o, "version"), "pending", json_object_get(status, "pending"),
                     "attempts", json_object_get(status, "attempts"), "last_result",
                     json_object_get(status, "last_result"), "last_stage",
                     json_object_get(status, "last_stage"), "last_reason",
                     json_object_get(status, "last_reason"), "error", error);
}

static int
cmd_list(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct hostd *h = ctx->aux;
    json_t *rows = json_array(), *st = bank_status(h->dir);
    json_array_append_new(rows, device_row(h->name, "host", st, NULL));
    json_decref(st);
    for (unsigned i = 0; i < h->n_dpus; i++) {
        char e[ERR_LEN] = "";
        st = NULL;
        hostd_dpu_call(h, &h->dpus[i], "software.show", NULL, &st, e, sizeof e);
        json_array_append_new(rows, device_row(h->dpus[i].name, "dpu", st, e[0] ? e : NULL));
        json_decref(st);
    }
    *result = rows;
    return 0;
}

static int
cmd_rollback(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct hostd *h = ctx->aux;
    json_t *rows = NULL;
    int rc = cmd_list(ctx, NULL, &rows, err, err_len);
    if (rc < 0)
        return rc;
    /* Every device must hold the same version in its other bank. */
    const char *want = NULL;
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r)
    {
        const char *v = json_string_value(json_object_get(r, "alternate_version"));
        const char *e = json_string_value(json_object_get(r, "error"));
        if (e || !v || (want && strcmp(v, want))) {
            rc = err_set(err, err_len, -ENOEXEC, "refused: %s %s", str_of(r, "device"),
                         e    ? e
                         : !v ? "has nothing to roll back to"
                              : "holds another version in its other bank");
            json_decref(rows);
            return rc;
        }
        want = v;
    }
    char why[BANK_ERR_LEN];
    for (unsigned k = 0; k < h->n_dpus && rc == 0; k++) {
        json_t *res = NULL;
        rc = hostd_dpu_call(h, &h->dpus[k], "software.rollback", NULL, &res, err, err_len);
        json_decref(res);
    }
    if (rc == 0 && (rc = bank_request_rollback(h->dir, why, sizeof why)) < 0)
        err_set(err, err_len, rc, "host: %s", why);
    if (rc == 0)
        *result = json_pack("{s:s}", "next_boot", want);
    json_decref(rows);
    return rc;
}

static int
cmd_reboot(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    struct hostd *h = ctx->aux;
    if (!h->lab_prefix || !h->lab_cmd)
        return err_set(err, err_len, -ENOTSUP, "reboot: this platform has no reboot (lab only)");
    const char *name = strrchr(h->name, '-'); /* "dse-h1" -> "h1" */
    if (!name)
        return err_set(err, err_len, -EINVAL, "reboot: cannot tell my host name from %s", h->name);
    char log[4200];
    snprintf(log, sizeof log, "%s/log/reboot.log", h->dir);
    /* The reboot stops this daemon: it runs apart (its own session; dse-lab
     * leaves our cgroup), and its output goes to the host's log. */
    pid_t pid = fork();
    if (pid < 0)
        return err_set(err, err_len, -errno, "reboot: fork: %s", strerror(errno));
    if (pid == 0) {
        if (fork() != 0)
            _exit(0);
        setsid();
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        int null = open("/dev/null", O_RDONLY);
        if (null >= 0)
            dup2(null, 0);
        execl(h->lab_cmd, h->lab_cmd, "reboot", "--prefix", h->lab_prefix, name + 1, (char *)NULL);
        _exit(127);
    }
    waitpid(pid, NULL, 0);
    log_info("reboot: %s reboot %s (log %s)", h->lab_cmd, name + 1, log);
    *result = json_pack("{s:s,s:s}", "rebooting", name + 1, "log", log);
    return 0;
}

const struct cmd_def hostd_software_commands[] = {
    {.name = "software.list", .usage = "", .fn = cmd_list, .roles = AUTHZ_MANAGER},
    {.name = "software.install",
     .usage = "{bundle, [dry_run], [fresh], [update], [serial]}",
     .fn = cmd_install,
     .roles = AUTHZ_MANAGER},
    {.name = "software.progress", .usage = "", .fn = cmd_progress, .roles = AUTHZ_MANAGER},
    {.name = "software.rollback", .usage = "", .fn = cmd_rollback, .roles = AUTHZ_MANAGER},
    {.name = "host.reboot", .usage = "", .fn = cmd_reboot, .roles = AUTHZ_MANAGER},
};
const size_t hostd_n_software_commands =
    sizeof hostd_software_commands / sizeof hostd_software_commands[0];
