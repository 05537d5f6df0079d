/* SPDX-License-Identifier: Apache-2.0 */
/* boot: boot stages, rollback rules and version agreement (see boot.h). */
#include "lcm/boot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lcm/manifest.h"

static void
say(const struct boot_hooks *h, const struct boot_dev *d, const char *fmt, ...)
{
    if (!h->say)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    h->say(h->aux, d, msg);
}

static void
set_reason(struct bootstate *st, const char *stage, const char *fmt, ...)
{
    snprintf(st->last_stage, sizeof st->last_stage, "%s", stage);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->last_reason, sizeof st->last_reason, fmt, ap);
    va_end(ap);
}

static bool
bank_version(const struct boot_hooks *h, const struct boot_dev *d, char bank, char *out)
{
    return h->version(h->aux, d, bank, out, BOOT_VERSION_MAX) == 0;
}

/* Appends this boot's outcome to DEVDIR/boot/history. */
static void
history_append(const struct boot_dev *d, unsigned round)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/boot/history", d->dir);
    char bank[2] = {d->bank ? d->bank : '-', '\0'};
    json_t *j = json_pack("{s:I,s:I,s:i,s:s,s:s,s:s,s:s,s:s,s:b}", "time", (json_int_t)time(NULL),
                          "boot", (json_int_t)d->st.boots, "round", (int)round, "bank", bank,
                          "version", d->version, "result", boot_result_name(d->st.last_result),
                          "stage", d->st.last_stage, "reason", d->st.last_reason, "ready", d->ok);
    char *line = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    int fd = line ? open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644) : -1;
    if (fd >= 0) {
        size_t len = strlen(line);
        line[len] = '\n'; /* json_dumps leaves room for nothing: replace the NUL */
        ssize_t w = write(fd, line, len + 1);
        (void)w;
        fsync(fd);
        close(fd);
    }
    free(line);
}

static int
save(struct boot_dev *d, char *err, size_t err_len)
{
    int rc = bootstate_save(d->dir, &d->st);
    if (rc < 0)
        snprintf(err, err_len, "%s: cannot write its boot state: %s", d->name, strerror(-rc));
    return rc;
}

/* The pending bank is given up: the device goes on with its active bank. */
static void
roll_back(struct boot_dev *d, const char *stage, const char *why)
{
    char was = d->st.pending;
    d->st.pending = 0;
    d->st.attempts = 0;
    d->st.last_result = BOOT_RESULT_ROLLED_BACK;
    set_reason(&d->st, stage, "bank %c: %s; rolled back to bank %c", was, why, d->st.active);
    d->rolled_back = true;
    d->tried_pending = false;
}

/* Verifies 'bank', or when it fails and it is the active one, the other bank
 * (best effort: then that one becomes active).  Returns the bank to run or 0. */
static char
verify_or_other(struct boot_dev *d, const struct boot_hooks *h, char bank)
{
    char why[256], v[BOOT_VERSION_MAX];
    if (h->verify(h->aux, d, bank, why, sizeof why) == 0)
        return bank;
    say(h, d, "early boot: bank %c does not verify: %s", bank, why);
    char other = bootstate_other(bank);
    char why2[256];
    if (bank_version(h, d, other, v) && h->verify(h->aux, d, other, why2, sizeof why2) == 0) {
        d->st.active = other;
        d->st.pending = 0;
        d->st.last_result = BOOT_RESULT_ROLLED_BACK;
        set_reason(&d->st, "early-boot", "bank %c does not verify (%s): booting bank %c", bank, why,
                   other);
        d->rolled_back = true;
        return other;
    }
    d->st.last_result = BOOT_RESULT_FAILED;
    set_reason(&d->st, "early-boot", "no bank verifies (bank %c: %s)", bank, why);
    return 0;
}

/* Boot loader and early boot.  Sets '*out' to the bank to jumpstart, or 0
 * when none verifies.  The choice is saved before the bank runs, so a boot
 * that never finishes still counts as an attempt.  Returns 0 or -errno (the
 * state could not be saved: 'err' says). */
static int
boot_early(struct boot_dev *d, const struct boot_hooks *h, char *out, char *err, size_t err_len)
{
    struct bootstate *st = &d->st;
    char v[BOOT_VERSION_MAX];
    d->rolled_back = d->tried_pending = d->ok = false;
    d->bank = 0;
    d->version[0] = '\0';
    if (st->rollback_requested) {
        st->rollback_requested = false;
        char other = bootstate_other(st->active);
        if (bank_version(h, d, other, v)) {
            st->pending = other;
            st->attempts = 0;
            say(h, d, "boot loader: rollback requested: trying bank %c (%s)", other, v);
        }
    }
    if (st->pending && st->attempts >= st->max_attempts) {
        char why[96];
        snprintf(why, sizeof why, "did not finish booting in %u attempts", st->attempts);
        roll_back(d, "boot-loader", why);
        say(h, d, "boot loader: %s", st->last_reason);
    }
    char bank = st->pending ? st->pending : st->active;
    if (st->pending) {
        st->attempts++;
        d->tried_pending = true;
    }
    st->boots++;
    st->booted = bank;
    int rc = save(d, err, err_len);
    if (rc < 0)
        return rc;
    say(h, d, "boot loader: bank %c%s", bank, d->tried_pending ? " (pending)" : "");
    char why[256];
    if (d->tried_pending && h->verify(h->aux, d, bank, why, sizeof why) < 0) {
        roll_back(d, "early-boot", why);
        say(h, d, "early boot: %s", st->last_reason);
        bank = st->active;
    }
    bank = verify_or_other(d, h, bank);
    st->booted = bank;
    *out = bank;
    return 0;
}

/* Jumpstart and the health check of 'bank'; records the outcome. */
static int
boot_late(struct boot_dev *d, const struct boot_hooks *h, char bank, unsigned round, char *err,
          size_t err_len)
{
    struct bootstate *st = &d->st;
    char why[256];
    d->bank = bank;
    if (bank && !bank_version(h, d, bank, d->version))
        snprintf(d->version, sizeof d->version, "?");
    if (bank) {
        const char *stage = "jumpstart";
        int rc = h->jumpstart(h->aux, d, bank, why, sizeof why);
        if (rc == 0) {
            stage = "ready";
            rc = h->health(h->aux, d, why, sizeof why);
        }
        /* Whatever happens now, the device stays on this bank. */
        st->active = bank;
        st->pending = 0;
        st->attempts = 0;
        if (rc == 0) {
            d->ok = true;
            if (!d->rolled_back) {
                st->last_result = BOOT_RESULT_OK;
                if (!d->recovered) /* else the reason says what was recovered */
                    set_reason(st, "ready", "");
            }
            say(h, d, "ready: bank %c, version %s", bank, d->version);
        } else {
            st->last_result = BOOT_RESULT_FAILED;
            set_reason(st, stage, "%s", why);
            say(h, d, "%s failed (no rollback after jumpstart): %s", stage, why);
        }
    }
    history_append(d, round);
    return save(d, err, err_len);
}

static int
load(struct boot_dev *d, const struct boot_hooks *h)
{
    char err[256], why[256];
    int rc = bootstate_load(d->dir, &d->st, err, sizeof err);
    d->recovered = false;
    if (rc == 0)
        return 0;
    bootstate_init(&d->st);
    if (rc == -EBADMSG) {
        /* Unreadable record: boot whichever bank verifies, A first. */
        if (h->verify(h->aux, d, 'A', why, sizeof why) < 0)
            d->st.active = 'B';
        set_reason(&d->st, "boot-loader", "%s: booting bank %c", err, d->st.active);
        d->recovered = true;
        say(h, d, "%s", d->st.last_reason);
        return 0;
    }
    return rc == -ENOENT ? 0 : rc;
}

static int
boot_one(struct boot_dev *d, const struct boot_hooks *h, unsigned round, char *err, size_t err_len)
{
    char bank;
    int rc = boot_early(d, h, &bank, err, err_len);
    return rc < 0 ? rc : boot_late(d, h, bank, round, err, err_len);
}

static struct boot_dev *
find_host(struct boot_dev *devs, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (devs[i].is_host)
            return &devs[i];
    return NULL;
}

/* A device that is not rebooted keeps running what it booted. */
static void
keep_running(struct boot_dev *d, const struct boot_hooks *h)
{
    d->bank = d->st.booted ? d->st.booted : d->st.active;
    d->ok = d->st.last_result != BOOT_RESULT_FAILED;
    d->rolled_back = d->tried_pending = false;
    if (!bank_version(h, d, d->bank, d->version))
        snprintf(d->version, sizeof d->version, "?");
}

/* Every device's boot state; the ones to reboot stopped. */
static int
boot_prepare(struct boot_dev *devs, unsigned n, const struct boot_hooks *h, char *err,
             size_t err_len)
{
    char why[256];
    for (unsigned i = 0; i < n; i++) {
        int rc = load(&devs[i], h);
        if (rc < 0) {
            snprintf(err, err_len, "%s: boot state: %s", devs[i].name, strerror(-rc));
            return rc;
        }
        if (devs[i].reboot && h->stop(h->aux, &devs[i], why, sizeof why) < 0) {
            snprintf(err, err_len, "%s: cannot stop: %s", devs[i].name, why);
            return -EIO;
        }
        if (!devs[i].reboot)
            keep_running(&devs[i], h);
    }
    return 0;
}

/* Round 1: the DPUs, then the host, which follows a DPU's rollback. */
static int
boot_first_round(struct boot_dev *devs, unsigned n, struct boot_dev *host,
                 const struct boot_hooks *h, char *err, size_t err_len)
{
    const char *fell_back = NULL;
    int rc;
    for (unsigned i = 0; i < n; i++) {
        struct boot_dev *d = &devs[i];
        if (d->is_host || !d->reboot)
            continue;
        if ((rc = boot_one(d, h, 1, err, err_len)) < 0)
            return rc;
        if (d->rolled_back && !fell_back)
            fell_back = d->name;
    }
    if (!host->reboot)
        return 0;
    char bank, why[256];
    if ((rc = boot_early(host, h, &bank, err, err_len)) < 0)
        return rc;
    if (bank && host->tried_pending && fell_back) {
        snprintf(why, sizeof why, "%s rolled back", fell_back);
        roll_back(host, "early-boot", why);
        say(h, host, "early boot: %s", host->st.last_reason);
        bank = verify_or_other(host, h, host->st.active);
    }
    return boot_late(host, h, bank, 1, err, err_len);
}

/* The oldest version that runs, or NULL when none does. */
static const char *
oldest_running(const struct boot_dev *devs, unsigned n)
{
    const char *target = NULL;
    for (unsigned i = 0; i < n; i++)
        if (devs[i].bank && (!target || manifest_version_cmp(devs[i].version, target) < 0))
            target = devs[i].version;
    return target;
}

/* Sets every device on another version than 'target' to boot its other bank
 * when that holds 'target', and stops it.  '*again': some device was. */
static int
boot_plan_round(struct boot_dev *devs, unsigned n, const char *target, const struct boot_hooks *h,
                bool *again, char *err, size_t err_len)
{
    char why[256];
    *again = false;
    for (unsigned i = 0; i < n; i++) {
        struct boot_dev *d = &devs[i];
        char other = bootstate_other(d->bank), v[BOOT_VERSION_MAX];
        d->reboot = false;
        /* A device that just fell back from its other bank keeps its
         * version: booting that bank again would fail again. */
        if (!d->bank || d->rolled_back || !strcmp(d->version, target) ||
            !bank_version(h, d, other, v) || strcmp(v, target))
            continue;
        d->st.pending = other;
        d->st.attempts = 0;
        say(h, d, "runs %s, the server's oldest is %s: booting bank %c", d->version, target, other);
        int rc = save(d, err, err_len);
        if (rc < 0)
            return rc;
        if (h->stop(h->aux, d, why, sizeof why) < 0) {
            snprintf(err, err_len, "%s: cannot stop: %s", d->name, why);
            return -EIO;
        }
        d->reboot = *again = true;
    }
    return 0;
}

/* Then one version everywhere: the oldest one running (a rollback is the safe
 * direction).  Every device on another version boots its other bank when
 * that holds it: the DPUs a host left behind by rolling back, or the host and
 * DPUs ahead of a DPU that cannot come forward. */
static int
boot_agree(struct boot_dev *devs, unsigned n, const struct boot_hooks *h, unsigned *rounds,
           char *err, size_t err_len)
{
    for (unsigned round = 2; round <= BOOT_MAX_ROUNDS; round++) {
        const char *target = oldest_running(devs, n);
        bool again = false;
        int rc = target ? boot_plan_round(devs, n, target, h, &again, err, err_len) : 0;
        if (rc < 0)
            return rc;
        if (!again)
            break;
        *rounds = round;
        /* DPUs first, as in the first round. */
        for (int host_pass = 0; host_pass < 2; host_pass++)
            for (unsigned i = 0; i < n; i++)
                if (devs[i].reboot && devs[i].is_host == host_pass &&
                    (rc = boot_one(&devs[i], h, round, err, err_len)) < 0)
                    return rc;
    }
    return 0;
}

/* Every device ready, on the host's version. */
static int
boot_check(const struct boot_dev *devs, unsigned n, const struct boot_dev *host, char *err,
           size_t err_len)
{
    for (unsigned i = 0; i < n; i++) {
        const struct boot_dev *d = &devs[i];
        if (!d->ok || strcmp(d->version, host->version)) {
            snprintf(err, err_len, "%s: %s (bank %c, version %s; the host: %s)", d->name,
                     d->st.last_reason[0] ? d->st.last_reason : boot_result_name(d->st.last_result),
                     d->bank ? d->bank : '-', d->version[0] ? d->version : "none",
                     host->version[0] ? host->version : "none");
            return -EIO;
        }
    }
    return 0;
}

int
boot_server(struct boot_dev *devs, unsigned n, const struct boot_hooks *h, unsigned *rounds,
            char *err, size_t err_len)
{
    struct boot_dev *host = find_host(devs, n);
    *rounds = 0;
    if (!host || n > BOOT_MAX_DEVICES) {
        snprintf(err, err_len, "a server has one host and at most %d devices", BOOT_MAX_DEVICES);
        return -EINVAL;
    }
    int rc = boot_prepare(devs, n, h, err, err_len);
    if (rc < 0)
        return rc;
    *rounds = 1;
    if ((rc = boot_first_round(devs, n, host, h, err, err_len)) < 0 ||
        (rc = boot_agree(devs, n, h, rounds, err, err_len)) < 0)
        return rc;
    return boot_check(devs, n, host, err, err_len);
}

int
boot_request_rollback(const char *dir, const struct boot_hooks *h, const struct boot_dev *d,
                      char *err, size_t err_len)
{
    struct bootstate st;
    char v[BOOT_VERSION_MAX];
    int rc = bootstate_load(dir, &st, err, err_len);
    if (rc == -ENOENT)
        bootstate_init(&st);
    else if (rc < 0)
        return rc;
    char other = bootstate_other(st.active);
    if (!bank_version(h, d, other, v)) {
        snprintf(err, err_len, "%s: bank %c is empty: nothing to roll back to", d->name, other);
        return -ENOENT;
    }
    st.rollback_requested = true;
    rc = bootstate_save(dir, &st);
    if (rc < 0)
        snprintf(err, err_len, "%s: cannot write its boot state: %s", d->name, strerror(-rc));
    return rc;
}
