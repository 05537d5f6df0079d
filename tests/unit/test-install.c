/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The install transaction (lcm/install.h) over fake devices: every phase in
 * order, a failure at each step of each device undoing all of them and named
 * in the result, stages in parallel and one after another, progress while a
 * stage runs; then over real banks (install_local_ops) with a real signed
 * image read once, refusals that write nothing, the DPU set of the last
 * install, and an image received in chunks (lcm/incoming.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lcm/bank.h"
#include "lcm/bootstate.h"
#include "lcm/bundle.h"
#include "lcm/incoming.h"
#include "lcm/install.h"
#include "lcm/sign.h"
#include "lib/util.h"
#include "tests/unit/check.h"

#define ASSERT_CONTAINS(hay, needle)                                                               \
    do {                                                                                           \
        if (!strstr((hay), (needle)))                                                              \
            CHECK_FAIL_("'%s' does not contain '%s'", (hay), (needle));                            \
    } while (0)

/* ---- fake devices ------------------------------------------------------ */

enum step { NONE, CHECK, SEND, STAGE, COMMIT };

struct world {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned n_devs;
    unsigned inside, max_inside; /* stages running at once */
    bool barrier;                /* a stage waits until every device is in one */
    bool hold;                   /* a stage waits until the test lets it go */
    char commits[64];            /* the order of the commits: "120" */
};

struct fake {
    struct world *w;
    unsigned idx;
    enum step fail_at;
    unsigned n_stage, n_commit, n_finish, n_undo, n_release;
};

static int
fake_check(void *aux, const struct install_image *img, uint64_t need, uint64_t *total, char *err,
           size_t err_len)
{
    struct fake *f = aux;
    *total = 100 + f->idx;
    return f->fail_at == CHECK ? err_set(err, err_len, -ENOSPC, "no room here") : 0;
}

/* Waits on the world's condition while 'cond' holds, 5 s at the most. */
static void
world_wait(struct world *w, bool (*cond)(const struct world *))
{
    uint64_t deadline = now_ms() + 5000;
    while (cond(w) && now_ms() < deadline) {
        pthread_mutex_unlock(&w->mu);
        usleep(1000);
        pthread_mutex_lock(&w->mu);
    }
}

static bool
not_all_inside(const struct world *w)
{
    return w->barrier && w->inside < w->n_devs;
}

static bool
held(const struct world *w)
{
    return w->hold;
}

static int
fake_stage(void *aux, const struct install_image *img, uint64_t need, struct install_device *d,
           char *err, size_t err_len)
{
    struct fake *f = aux;
    struct world *w = f->w;
    install_device_progress(d, "sending", 10);
    pthread_mutex_lock(&w->mu);
    f->n_stage++;
    w->inside++;
    w->max_inside = MAX(w->max_inside, w->inside);
    world_wait(w, not_all_inside);
    world_wait(w, held);
    pthread_mutex_unlock(&w->mu);
    usleep(2000); /* so that a serial install's stages cannot share a millisecond */
    if (f->fail_at == SEND) {
        pthread_mutex_lock(&w->mu);
        w->inside--;
        pthread_mutex_unlock(&w->mu);
        return err_set(err, err_len, -ECONNRESET, "injected");
    }
    install_device_progress(d, "staging", 100 + f->idx);
    pthread_mutex_lock(&w->mu);
    w->inside--;
    pthread_mutex_unlock(&w->mu);
    return f->fail_at == STAGE ? err_set(err, err_len, -EIO, "injected") : 0;
}

static int
fake_commit(void *aux, char *err, size_t err_len)
{
    struct fake *f = aux;
    size_t n = strlen(f->w->commits);
    f->w->commits[n] = (char)('0' + f->idx);
    f->w->commits[n + 1] = '\0';
    f->n_commit++;
    return f->fail_at == COMMIT ? err_set(err, err_len, -EIO, "injected") : 0;
}

static int
fake_finish(void *aux, char *err, size_t err_len)
{
    ((struct fake *)aux)->n_finish++;
    return 0;
}

static int
fake_undo(void *aux, char *err, size_t err_len)
{
    ((struct fake *)aux)->n_undo++;
    return 0;
}

static void
fake_release(void *aux)
{
    ((struct fake *)aux)->n_release++;
}

static const struct install_device_ops fake_ops = {
    .check = fake_check,
    .stage = fake_stage,
    .commit = fake_commit,
    .finish = fake_finish,
    .undo = fake_undo,
    .release = fake_release,
};

static const char *const names[] = {"host", "dpu1", "dpu2"};

struct rig {
    struct world w;
    struct fake f[3];
    struct install *op;
    unsigned done_calls;
    bool done_ok;
};

static void
rig_done(void *aux, bool ok)
{
    struct rig *r = aux;
    r->done_calls++;
    r->done_ok = ok;
}

/* Three fake devices, host first; device 'fail_dev' fails at 'fail_at'. */
static int
rig_init(struct rig *r, bool serial, unsigned fail_dev, enum step fail_at)
{
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->w.mu, NULL);
    pthread_cond_init(&r->w.cv, NULL);
    r->w.n_devs = 3;
    struct install_params p = {
        .id = 7, .serial = serial, .start_ms = now_ms(), .done = rig_done, .aux = r};
    int rc = install_create(&p, NULL, "/tmp/x.dsebundle", "1.2.3", &r->op);
    for (unsigned i = 0; !rc && i < 3; i++) {
        r->f[i] = (struct fake){.w = &r->w, .idx = i, .fail_at = i == fail_dev ? fail_at : NONE};
        rc = install_add_device(r->op, names[i], "host/x86_64", "1.0", &fake_ops, &r->f[i]);
    }
    return rc;
}

static void
rig_fini(struct rig *r)
{
    install_destroy(r->op);
    pthread_mutex_destroy(&r->w.mu);
    pthread_cond_destroy(&r->w.cv);
}

/* Checks, starts and waits for the rig's install; its progress after. */
static json_t *
rig_run(struct rig *r, char *err, size_t err_len)
{
    json_t *start = NULL;
    if (install_check(r->op, err, err_len) < 0 || install_start(r->op, &start, err, err_len) < 0)
        return NULL;
    json_decref(start);
    install_wait(r->op);
    return install_progress(r->op);
}

/* A rig of three devices that all succeed, run to its end. */
static json_t *
rig_run_ok(struct rig *r, bool serial, bool barrier)
{
    char err[ERR_LEN] = "";
    if (rig_init(r, serial, 0, NONE) < 0)
        return NULL;
    r->w.barrier = barrier;
    return rig_run(r, err, sizeof err);
}

static const char *
dev_str(json_t *p, unsigned i, const char *key)
{
    const char *s =
        json_string_value(json_object_get(json_array_get(json_object_get(p, "devices"), i), key));
    return s ? s : "(none)";
}

static json_int_t
dev_int(json_t *p, unsigned i, const char *key)
{
    return json_integer_value(
        json_object_get(json_array_get(json_object_get(p, "devices"), i), key));
}

/* ---- the transaction --------------------------------------------------- */

static void
install_runs_every_phase_in_order(void)
{
    struct rig r;
    json_t *p = rig_run_ok(&r, false, false);
    ASSERT_NOT_NULL(p);
    ASSERT_STREQ(json_string_value(json_object_get(p, "state")), "ok");
    ASSERT_EQ(json_integer_value(json_object_get(p, "op")), 7);
    ASSERT_STREQ(json_string_value(json_object_get(p, "version")), "1.2.3");
    ASSERT_STREQ(r.w.commits, "120"); /* the DPUs, then the host */
    for (unsigned i = 0; i < 3; i++) {
        ASSERT_STREQ(dev_str(p, i, "device"), names[i]);
        ASSERT_STREQ(dev_str(p, i, "step"), "done");
        ASSERT_EQ(dev_int(p, i, "total"), 100 + i);
        ASSERT_EQ(dev_int(p, i, "sent"), 100 + i);
        ASSERT_GT(dev_int(p, i, "stage_end_ms"), 0);
        ASSERT_EQ(r.f[i].n_stage + r.f[i].n_commit + r.f[i].n_finish, 3);
        ASSERT_EQ(r.f[i].n_undo, 0);
        ASSERT_EQ(r.f[i].n_release, 1);
    }
    ASSERT_EQ(r.done_calls, 1);
    ASSERT_TRUE(r.done_ok);
    ASSERT_FALSE(install_is_running(r.op));
    json_decref(p);
    rig_fini(&r);
}

/* Device 'dev' fails at 'at': every device is undone, none finished, and
 * the result names the device and the step. */
static void
check_failure(unsigned dev, enum step at, const char *step)
{
    struct rig r;
    char err[ERR_LEN] = "", want[64];
    ASSERT_EQ(rig_init(&r, false, dev, at), 0);
    json_t *p = rig_run(&r, err, sizeof err);
    ASSERT_NOT_NULL(p);
    snprintf(want, sizeof want, "%s failed at %s: injected", names[dev], step);
    ASSERT_STREQ(json_string_value(json_object_get(p, "state")), "failed");
    ASSERT_STREQ(json_string_value(json_object_get(p, "error")), want);
    snprintf(want, sizeof want, "%s: injected", step);
    ASSERT_STREQ(dev_str(p, dev, "error"), want);
    for (unsigned i = 0; i < 3; i++) {
        ASSERT_EQ(r.f[i].n_stage, 1); /* a stage that fails stops no other */
        ASSERT_EQ(r.f[i].n_undo, 1);
        ASSERT_EQ(r.f[i].n_finish, 0);
        ASSERT_EQ(r.f[i].n_release, 1);
        if (i != dev)
            ASSERT_STREQ(dev_str(p, i, "step"), "undone");
    }
    /* A commit that fails is the last: the host, committed last, was not. */
    ASSERT_EQ(r.f[0].n_commit, at == COMMIT && dev == 0);
    ASSERT_EQ(r.done_calls, 1);
    ASSERT_FALSE(r.done_ok);
    json_decref(p);
    rig_fini(&r);
}

static void
install_failure_anywhere_undoes_every_device(void)
{
    for (unsigned dev = 0; dev < 3; dev++) {
        check_failure(dev, SEND, "send");
        check_failure(dev, STAGE, "stage");
        check_failure(dev, COMMIT, "commit");
        if (check_failed_)
            return;
    }
}

static void
install_check_refuses_and_names_the_device(void)
{
    for (unsigned dev = 0; dev < 3; dev++) {
        struct rig r;
        char err[ERR_LEN] = "", want[64];
        ASSERT_EQ(rig_init(&r, false, dev, CHECK), 0);
        ASSERT_EQ(install_check(r.op, err, sizeof err), -ENOSPC);
        snprintf(want, sizeof want, "refused: %s: no room here", names[dev]);
        ASSERT_STREQ(err, want);
        for (unsigned i = 0; i < 3; i++)
            ASSERT_EQ(r.f[i].n_stage + r.f[i].n_undo, 0);
        rig_fini(&r);
        ASSERT_EQ(r.f[0].n_release, 1); /* destroyed without a start */
    }
}

static void
install_stages_in_parallel(void)
{
    struct rig r;
    json_t *p = rig_run_ok(&r, false, true);
    ASSERT_NOT_NULL(p);
    ASSERT_EQ(r.w.max_inside, 3);
    ASSERT_FALSE(json_is_true(json_object_get(p, "serial")));
    json_int_t last_begin = 0, first_end = INT64_MAX;
    for (unsigned i = 0; i < 3; i++) {
        last_begin = MAX(last_begin, dev_int(p, i, "stage_begin_ms"));
        first_end = MIN(first_end, dev_int(p, i, "stage_end_ms"));
    }
    ASSERT_LE(last_begin, first_end);
    json_decref(p);
    rig_fini(&r);
}

static void
install_serial_stages_one_after_another(void)
{
    struct rig r;
    json_t *p = rig_run_ok(&r, true, false);
    ASSERT_NOT_NULL(p);
    ASSERT_EQ(r.w.max_inside, 1);
    ASSERT_TRUE(json_is_true(json_object_get(p, "serial")));
    for (unsigned i = 1; i < 3; i++)
        ASSERT_GE(dev_int(p, i, "stage_begin_ms"), dev_int(p, i - 1, "stage_end_ms"));
    ASSERT_STREQ(json_string_value(json_object_get(p, "state")), "ok");
    json_decref(p);
    rig_fini(&r);
}

static bool
all_sending(struct install *op)
{
    json_t *p = install_progress(op);
    bool yes = true;
    for (unsigned i = 0; i < 3; i++)
        yes &= !strcmp(dev_str(p, i, "step"), "sending") && dev_int(p, i, "sent") == 10;
    json_decref(p);
    return yes;
}

static void
install_progress_is_readable_while_it_runs(void)
{
    struct rig r;
    char err[ERR_LEN] = "";
    json_t *p = NULL;
    ASSERT_EQ(rig_init(&r, false, 0, NONE), 0);
    r.w.hold = true;
    ASSERT_EQ(install_check(r.op, err, sizeof err), 0);
    p = install_progress(r.op); /* planned, not started */
    ASSERT_STREQ(dev_str(p, 1, "step"), "queued");
    ASSERT_EQ(dev_int(p, 1, "total"), 101);
    json_decref(p);
    ASSERT_EQ(install_start(r.op, &p, err, sizeof err), 0);
    ASSERT_STREQ(json_string_value(json_object_get(p, "state")), "running");
    json_decref(p);
    ASSERT_EQ(install_start(r.op, NULL, err, sizeof err), -EALREADY);
    for (uint64_t end = now_ms() + 5000; !all_sending(r.op) && now_ms() < end;)
        usleep(1000);
    ASSERT_TRUE(all_sending(r.op));
    ASSERT_TRUE(install_is_running(r.op));
    p = install_progress(r.op);
    ASSERT_STREQ(json_string_value(json_object_get(p, "state")), "running");
    ASSERT_GE(json_integer_value(json_object_get(p, "elapsed_ms")), 0);
    json_decref(p);
    pthread_mutex_lock(&r.w.mu);
    r.w.hold = false;
    pthread_mutex_unlock(&r.w.mu);
    install_wait(r.op);
    ASSERT_FALSE(install_is_running(r.op));
    p = install_progress(r.op);
    ASSERT_STREQ(json_string_value(json_object_get(p, "state")), "ok");
    ASSERT_STREQ(dev_str(p, 2, "step"), "done");
    json_decref(p);
    rig_fini(&r);
}

/* ---- real banks, a real image ------------------------------------------ */

#define HOST "host/x86_64"
#define DPU "dpu/dse-lab/vdpu-2"

struct lab {
    char root[64], dev[128], src[128], bundle[128];
    struct sign_key *key;
};

static int
put(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -errno;
    fputs(text, f);
    return fclose(f) == 0 ? 0 : -EIO;
}

/* A device directory that trusts a new key, and a bundle of 'version' with a
 * host and a DPU component ('signed': by that key). */
static int
lab_init(struct lab *l, const char *version, bool is_signed)
{
    char path[256], pub[256];
    snprintf(l->root, sizeof l->root, "/tmp/test-install.XXXXXX");
    if (!mkdtemp(l->root))
        return -errno;
    snprintf(l->dev, sizeof l->dev, "%s/h1", l->root);
    snprintf(l->src, sizeof l->src, "%s/src", l->root);
    snprintf(l->bundle, sizeof l->bundle, "%s/image.dsebundle", l->root);
    snprintf(path, sizeof path, "%s/certs", l->dev);
    snprintf(pub, sizeof pub, "%s/certs/bundle.pub", l->dev);
    int rc = fs_mkdir_p(path, 0755);
    snprintf(path, sizeof path, "%s/bin", l->src);
    if (!rc)
        rc = fs_mkdir_p(path, 0755);
    snprintf(path, sizeof path, "%s/bin/dse-hostd", l->src);
    if (!rc && !(rc = put(path, "a host daemon\n"))) {
        snprintf(path, sizeof path, "%s/key.pem", l->root);
        rc = sign_key_generate(&l->key);
    }
    if (!rc)
        rc = sign_key_save(l->key, path, pub);
    struct bundle_source src[] = {{.target = HOST, .dir = l->src}, {.target = DPU, .dir = l->src}};
    struct bundle_spec spec = {.name = "dse",
                               .version = version,
                               .build = "0",
                               .created = "2026-12-01T00:00:00Z",
                               .sources = src,
                               .n_sources = 2};
    char err[BUNDLE_ERR_LEN];
    return rc ? rc : bundle_build(&spec, l->bundle, is_signed ? l->key : NULL, err, sizeof err);
}

static void
lab_fini(struct lab *l)
{
    sign_key_destroy(l->key);
    ASSERT_EQ(fs_remove_at(AT_FDCWD, l->root), 0);
}

static bool
exists(const char *dir, const char *rel)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    return access(path, F_OK) == 0;
}

static void
install_local_stages_the_verified_bytes_only(void)
{
    struct lab l;
    struct install_image img;
    char err[BUNDLE_ERR_LEN] = "";
    ASSERT_EQ(lab_init(&l, "2.0", true), 0);
    ASSERT_EQ(install_image_open(&img, l.dev, l.bundle, HOST, err, sizeof err), 0);
    /* The file's digest, from the same read. */
    uint8_t md[SHA256_LEN];
    uint64_t size;
    char hex[SHA256_HEX_LEN];
    int fd = open(l.bundle, O_RDONLY);
    ASSERT_EQ(sha256_fd(fd, md, &size, NULL, NULL), 0);
    close(fd);
    hex_format(md, SHA256_LEN, hex);
    ASSERT_STREQ(img.sha256, hex);
    ASSERT_EQ(img.size, size);
    /* Emptied in place: a stage that read the file again would fail. */
    ASSERT_EQ(truncate(l.bundle, 0), 0);
    struct install *op;
    struct install_params p = {.id = 1, .start_ms = now_ms()};
    struct install_local host = {.devdir = l.dev, .target = HOST};
    ASSERT_EQ(install_create(&p, &img, NULL, NULL, &op), 0);
    ASSERT_NULL(img.bundle); /* taken over */
    ASSERT_EQ(install_add_device(op, "host", HOST, "1.0", &install_local_ops, &host), 0);
    ASSERT_EQ(install_check(op, err, sizeof err), 0);
    ASSERT_EQ(install_start(op, NULL, err, sizeof err), 0);
    install_wait(op);
    json_t *j = install_progress(op);
    ASSERT_STREQ(json_string_value(json_object_get(j, "state")), "ok");
    ASSERT_STREQ(json_string_value(json_object_get(j, "version")), "2.0");
    json_decref(j);
    install_destroy(op);
    struct bootstate st;
    ASSERT_EQ(bootstate_load(l.dev, &st, err, sizeof err), 0);
    ASSERT_EQ(st.pending, 'B');
    ASSERT_EQ(bank_verify(l.dev, 'B', err, sizeof err), 0);
    ASSERT_FALSE(exists(l.dev, "banks/.prev-state")); /* finished */
    lab_fini(&l);
}

static void
install_image_refusals_write_nothing(void)
{
    struct lab l;
    struct install_image img;
    char err[BUNDLE_ERR_LEN] = "";
    ASSERT_EQ(lab_init(&l, "2.0", false), 0);
    ASSERT_EQ(install_image_open(&img, l.dev, l.bundle, HOST, err, sizeof err), -ENOKEY);
    ASSERT_CONTAINS(err, "refused: the bundle is not signed");
    ASSERT_NULL(img.bundle);
    lab_fini(&l);

    ASSERT_EQ(lab_init(&l, "2.0", true), 0);
    struct stat sb;
    ASSERT_EQ(stat(l.bundle, &sb), 0);
    ASSERT_EQ(truncate(l.bundle, sb.st_size / 2), 0);
    ASSERT_EQ(install_image_open(&img, l.dev, l.bundle, HOST, err, sizeof err), -EBADMSG);
    ASSERT_CONTAINS(err, "refused: ");
    ASSERT_FALSE(exists(l.dev, "banks"));
    /* No key to trust: not even the bundle is read. */
    char pub[256];
    snprintf(pub, sizeof pub, "%s/certs/bundle.pub", l.dev);
    ASSERT_EQ(unlink(pub), 0);
    ASSERT_EQ(install_image_open(&img, l.dev, l.bundle, HOST, err, sizeof err), -ENOENT);
    ASSERT_CONTAINS(err, "the trust anchor: ");
    lab_fini(&l);
}

static void
install_image_checks_components_and_versions(void)
{
    struct lab l;
    struct install_image img;
    char err[BUNDLE_ERR_LEN] = "";
    ASSERT_EQ(lab_init(&l, "2.0", true), 0);
    ASSERT_EQ(install_image_open(&img, l.dev, l.bundle, NULL, err, sizeof err), 0);
    ASSERT_EQ(install_image_has(&img, DPU, "dpu1", err, sizeof err), 0);
    ASSERT_EQ(install_image_has(&img, "dpu/x/y", "dpu2", err, sizeof err), -ENOEXEC);
    ASSERT_STREQ(err, "refused: the image has no component for dpu/x/y (dpu2)");
    ASSERT_EQ(install_image_newer(&img, "1.9.9", err, sizeof err), 0);
    ASSERT_EQ(install_image_newer(&img, "2.0.0", err, sizeof err), -ENOEXEC);
    ASSERT_CONTAINS(err, "not newer than the running 2.0.0");
    /* The plan's check: a component for every device. */
    struct install *op;
    struct install_params p = {.id = 1};
    struct install_local host = {.devdir = l.dev, .target = HOST};
    ASSERT_EQ(install_create(&p, &img, NULL, NULL, &op), 0);
    ASSERT_EQ(install_add_device(op, "host", HOST, "1.0", &install_local_ops, &host), 0);
    ASSERT_EQ(install_add_device(op, "dpu9", "dpu/x/y", "1.0", &install_local_ops, &host), 0);
    ASSERT_EQ(install_check(op, err, sizeof err), -ENOEXEC);
    ASSERT_STREQ(err, "refused: the image has no component for dpu/x/y (dpu9)");
    install_destroy(op);
    ASSERT_FALSE(exists(l.dev, "banks"));
    lab_fini(&l);
}

static void
install_dpus_must_be_the_last_ones(void)
{
    char dir[] = "/tmp/test-install-dpus.XXXXXX", err[ERR_LEN] = "";
    ASSERT_NOT_NULL(mkdtemp(dir));
    json_t *one = json_pack("[{s:s,s:s}]", "name", "dpu1", "serial", "S1");
    json_t *two = json_pack("[{s:s,s:s},{s:s,s:s}]", "name", "dpu1", "serial", "S1", "name", "dpu2",
                            "serial", "S2");
    json_t *other = json_pack("[{s:s,s:s}]", "name", "dpu1", "serial", "S9");
    ASSERT_EQ(install_dpus_check(dir, two, err, sizeof err), 0); /* the first install */
    ASSERT_EQ(install_dpus_record(dir, "1.0", one), 0);
    ASSERT_EQ(install_dpus_check(dir, one, err, sizeof err), 0);
    ASSERT_EQ(install_dpus_check(dir, two, err, sizeof err), -ENOEXEC);
    ASSERT_CONTAINS(err, "DPUs changed since the last install (dpu2 added)");
    ASSERT_EQ(install_dpus_check(dir, other, err, sizeof err), -ENOEXEC);
    ASSERT_CONTAINS(err, "(dpu1 added)");
    ASSERT_EQ(install_dpus_record(dir, "1.0", two), 0);
    ASSERT_EQ(install_dpus_check(dir, one, err, sizeof err), -ENOEXEC);
    ASSERT_CONTAINS(err, "(2 DPUs then, 1 now)");
    json_decref(one);
    json_decref(two);
    json_decref(other);
    ASSERT_EQ(fs_remove_at(AT_FDCWD, dir), 0);
}

/* ---- an image received in chunks -------------------------------------- */

static void
incoming_checks_what_arrives_then_stages(void)
{
    struct lab l;
    struct incoming *in;
    char err[BUNDLE_ERR_LEN] = "", version[64] = "";
    size_t len;
    ASSERT_EQ(lab_init(&l, "3.1", true), 0);
    char *data = fs_read_file(l.bundle, 1 << 24, &len);
    ASSERT_NOT_NULL(data);
    uint8_t md[SHA256_LEN], bad[SHA256_LEN] = {0};
    struct sha256 *h = sha256_create();
    sha256_update(h, data, len);
    ASSERT_EQ(sha256_final(h, md), 0);
    sha256_destroy(h);

    /* Damaged on the way: refused, nothing staged. */
    ASSERT_EQ(incoming_begin(l.dev, len, bad, 4096, &in, err, sizeof err), 0);
    ASSERT_TRUE(exists(l.dev, "banks/.incoming"));
    ASSERT_EQ(incoming_write(in, 0, data, len, err, sizeof err), 0);
    ASSERT_EQ(incoming_stage(in, DPU, version, sizeof version, err, sizeof err), -EBADMSG);
    ASSERT_CONTAINS(err, "arrived damaged");
    incoming_destroy(in);
    ASSERT_FALSE(exists(l.dev, "banks/.incoming"));

    /* In two chunks, one sent at the wrong offset first. */
    ASSERT_EQ(incoming_begin(l.dev, len, md, 4096, &in, err, sizeof err), 0);
    ASSERT_EQ(incoming_write(in, 0, data, 100, err, sizeof err), 0);
    ASSERT_EQ(incoming_write(in, 50, data + 50, 100, err, sizeof err), -EINVAL);
    ASSERT_FALSE(incoming_is_broken(in));
    ASSERT_EQ(incoming_received(in), 100);
    ASSERT_EQ(incoming_write(in, 100, data + 100, len - 100, err, sizeof err), 0);
    ASSERT_EQ(incoming_write(in, len, data, 1, err, sizeof err), -EINVAL); /* one too many */
    ASSERT_TRUE(incoming_is_broken(in));
    incoming_destroy(in);

    ASSERT_EQ(incoming_begin(l.dev, len, md, 4096, &in, err, sizeof err), 0);
    ASSERT_EQ(incoming_write(in, 0, data, len, err, sizeof err), 0);
    ASSERT_EQ(incoming_stage(in, DPU, version, sizeof version, err, sizeof err), 0);
    ASSERT_STREQ(version, "3.1");
    ASSERT_TRUE(exists(l.dev, "banks/.staging/root/bin/dse-hostd"));
    incoming_destroy(in);
    ASSERT_EQ(bank_commit(l.dev, err, sizeof err), 0);
    ASSERT_EQ(bank_verify(l.dev, 'B', err, sizeof err), 0);

    /* No room: refused before the file is made. */
    ASSERT_EQ(incoming_begin(l.dev, 1ULL << 60, md, 0, &in, err, sizeof err), -ENOSPC);
    ASSERT_CONTAINS(err, "not enough space");
    ASSERT_FALSE(exists(l.dev, "banks/.incoming"));
    free(data);
    lab_fini(&l);
}

TEST_MAIN(TEST(install_runs_every_phase_in_order),
          TEST(install_failure_anywhere_undoes_every_device),
          TEST(install_check_refuses_and_names_the_device), TEST(install_stages_in_parallel),
          TEST(install_serial_stages_one_after_another),
          TEST(install_progress_is_readable_while_it_runs),
          TEST(install_local_stages_the_verified_bytes_only),
          TEST(install_image_refusals_write_nothing),
          TEST(install_image_checks_components_and_versions),
          TEST(install_dpus_must_be_the_last_ones), TEST(incoming_checks_what_arrives_then_stages))
