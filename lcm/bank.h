/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bank: a device's two software banks (A and B) and its side of an install.
 *
 *     DEVDIR/banks/X/bank.json       {"target", "name", "version", "build",
 *                                     "signed", "installed"}
 *     DEVDIR/banks/X/manifest.json   the image's manifest (canonical form)
 *     DEVDIR/banks/X/root/...        the component's files (root/bin/dse-dpud)
 *     DEVDIR/banks/.staging/         a bank being written
 *     DEVDIR/banks/.prev-X/          what the last commit replaced, until the
 *                                    install finishes or is undone
 *     DEVDIR/banks/.prev-state       the boot state before that commit
 *
 * An install writes only the alternate bank (the one not active) and marks it
 * pending in the boot state only after it is complete, in three steps:
 *
 *     stage   extract the device's component from a verified bundle into
 *             .staging (every file hashed as it is read, fsynced)
 *     commit  X -> .prev-X, .staging -> X (fsync of banks/), then the boot
 *             state's pending bank := X (an atomic write: the commit point)
 *     finish  drop .prev-X          undo  X := .prev-X, the old boot state
 *
 * A crash anywhere leaves a bootable device: before the boot state's write the
 * old record still points at the active bank, which no step touches; after
 * it, the pending bank is complete.  A half-written alternate bank is never
 * pending; leftovers are cleared by the next install.  Every step has a fault
 * point (lib/fault.h) for the tests that kill it there.
 *
 * Early boot verifies a bank: bank.json and manifest.json parse, every file of
 * the component is under root/ with its size, mode and SHA-256, and nothing
 * else is (no extra file, no symlink).
 *
 * Thread-safety: none; one install per device at a time (the caller's job).
 */
#ifndef DSE_BANK_H
#define DSE_BANK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "lcm/bundle.h"

#define BANK_ERR_LEN 320

struct bank_info {
    char target[96];
    char name[64];
    char version[64];
    char build[64];
    bool is_signed;
    char installed[32]; /* ISO 8601, UTC */
};

/* Reads bank 'bank' ('A' or 'B') of 'devdir'.  Returns 0, -ENOENT (empty) or
 * -EBADMSG (unreadable bank.json). */
int bank_read(const char *devdir, char bank, struct bank_info *out);

/* Path of bank 'bank''s root/ (its files).  Returns 0 or -ENAMETOOLONG. */
int bank_root(const char *devdir, char bank, char *buf, size_t len);

/* Checks bank 'bank' file by file (see above).  Returns 0, or -ENOENT (empty),
 * -EBADMSG (a file missing, changed, extra, or unreadable metadata) with the
 * first problem in 'err'. */
int bank_verify(const char *devdir, char bank, char *err, size_t err_len);

/* A factory-fresh device: 'target' of 'b' into bank A, bank B empty, boot
 * state fresh (bank A active).  Refused (-EEXIST) when the device has a boot
 * state already. */
int bank_install_fresh(const char *devdir, struct bundle *b, const char *target, char *err,
                       size_t err_len);

/* The install steps (see above).  Each returns 0 or -errno with a one-line
 * reason in 'err'.  install_stage checks the component exists (-ENOENT) and
 * fits in the device's file system (-ENOSPC) before writing anything. */
int bank_stage(const char *devdir, struct bundle *b, const char *target, char *err, size_t err_len);
int bank_commit(const char *devdir, char *err, size_t err_len);
int bank_finish(const char *devdir, char *err, size_t err_len);
int bank_undo(const char *devdir, char *err, size_t err_len);
/* Removes what an interrupted stage left (.staging). */
void bank_discard_staging(const char *devdir);

/* The one free-space rule of a device: staging 'need' bytes of files (in
 * 4 KiB blocks: bundle_space_needed()) wants them plus a tenth and 1 MiB,
 * besides 'extra' bytes (a bundle kept beside the banks), free in 'devdir''s
 * file system.  Returns 0, -ENOSPC ("not enough space: N KiB free, M KiB
 * needed"), or -errno of statvfs(). */
int bank_space_check(const char *devdir, uint64_t extra, uint64_t need, char *err, size_t err_len);

/* Asks the next boot to boot the other bank (boot_request_rollback() with
 * the banks' versions).  Returns 0, -ENOENT (the other bank is empty). */
int bank_request_rollback(const char *devdir, char *err, size_t err_len);

/* The version of the bank the device booted into 'buf'.  Returns 0, or
 * -ENOENT (never booted, or its bank is empty); 'buf' is then unchanged. */
int bank_running_version(const char *devdir, char *buf, size_t len);

/* The boot hooks (lcm/boot.h) of devices whose banks are these: a bank's
 * version, a bank's verification. */
struct boot_dev;
int bank_boot_version(void *aux, const struct boot_dev *, char bank, char *out, size_t len);
int bank_boot_verify(void *aux, const struct boot_dev *, char bank, char *why, size_t len);

/* For `software list`: {"active", "pending", "booted", "attempts", "last_result",
 * "last_stage", "last_reason", "boots", "banks": {"A": {...}|null, "B": ...}}.
 * A new reference, or NULL on ENOMEM. */
json_t *bank_status(const char *devdir);

#endif
