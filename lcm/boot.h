/* SPDX-License-Identifier: Apache-2.0 */
/*
 * boot: the emulated boot of a server (its host and DPUs) and of one device,
 * with the rollback rules that keep every device bootable and the whole server
 * on one version.
 *
 * Each device boots in four stages:
 *
 *     boot loader   picks the bank: a manual rollback request turns the other
 *                   bank into the pending one; the pending bank while it has
 *                   attempts left (counted before the bank runs, so a device
 *                   that dies while booting gives it up after max_attempts);
 *                   else the active bank
 *     early boot    verifies the bank (every file's SHA-256); a pending bank
 *                   that fails rolls back to the active bank at once (no
 *                   reboot); an active bank that fails falls back to the other
 *                   bank when that one verifies
 *     jumpstart     starts the daemons from the bank's binaries
 *     ready         health check; a failure after jumpstart does not roll
 *                   back: the device stays on that bank, marked failed
 *
 * A server boots its DPUs first, then its host.  The host waits for them
 * before its own jumpstart: when a DPU rolled back and the host was trying its
 * pending bank, the host rolls back too (still before jumpstart, so no extra
 * reboot).  Then the versions are compared: the server must run one version,
 * the oldest that runs (rolling back is the safe direction), so every device
 * on another one is set to boot its other bank (when that holds the oldest)
 * and rebooted, a second round.  That gives the rollback table of the product
 * description, counted in rounds of reboots:
 *
 *     both DPUs fine, host fails early:       host rolls back; DPUs rebooted  2
 *     both DPUs fail early, host fine:        all roll back in the first boot 1
 *     one DPU older (failed early), host ok:  host follows it; other DPU      2
 *     one DPU older, host fails early:        the newer DPU rebooted          2
 *
 * Every boot appends a line to DEVDIR/boot/history (JSON: time, boot, round,
 * bank, version, result, stage, reason).
 *
 * Thread-safety: none; one boot at a time per server (the caller locks).
 */
#ifndef DSE_BOOT_H
#define DSE_BOOT_H

#include <stdbool.h>
#include <stddef.h>

#include "lcm/bootstate.h"

#define BOOT_MAX_DEVICES 8
#define BOOT_MAX_ROUNDS 3
#define BOOT_VERSION_MAX 64

struct boot_dev {
    const char *name; /* "h1", "h1-dpu1" */
    const char *dir;  /* its device directory */
    bool is_host;
    bool reboot; /* boot it in the first round (else it keeps running) */
    /* Filled in by boot_server(): */
    char bank; /* the bank it runs, or 0 */
    char version[BOOT_VERSION_MAX];
    bool tried_pending, rolled_back, ok;
    bool recovered; /* its boot state was unreadable: booted what verifies */
    struct bootstate st;
};

/* What the platform does at each stage (the lab runs commands; tests use
 * functions).  Each returns 0 or -errno with a one-line reason in 'why'. */
struct boot_hooks {
    int (*verify)(void *aux, const struct boot_dev *, char bank, char *why, size_t len);
    /* The version held in 'bank', or -ENOENT when the bank is empty. */
    int (*version)(void *aux, const struct boot_dev *, char bank, char *out, size_t len);
    int (*stop)(void *aux, const struct boot_dev *, char *why, size_t len);
    int (*jumpstart)(void *aux, const struct boot_dev *, char bank, char *why, size_t len);
    int (*health)(void *aux, const struct boot_dev *, char *why, size_t len);
    void (*say)(void *aux, const struct boot_dev *, const char *msg); /* optional */
    void *aux;
};

/* Boots the devices with 'reboot' set (all of them for a server reboot; one
 * DPU for a DPU reboot), then brings the server to one version.  'devs'
 * holds exactly one host.  Sets '*rounds' to the rounds of reboots it took.
 * Returns 0 when every device ended ready on one version, else -EIO
 * with 'err' naming the first device that did not (its state says why), or
 * another -errno (boot state unwritable: 'err' says). */
int boot_server(struct boot_dev *devs, unsigned n, const struct boot_hooks *, unsigned *rounds,
                char *err, size_t err_len);

/* Asks 'dir''s next boot to boot its other bank (the key pressed before the
 * boot loader).  Returns 0, -ENOENT (the other bank is empty) or -errno. */
int boot_request_rollback(const char *dir, const struct boot_hooks *, const struct boot_dev *,
                          char *err, size_t err_len);

#endif
