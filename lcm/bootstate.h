/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bootstate: the boot state record of one device (host or DPU): which of its
 * two banks is active, which one is pending (to be tried at the next boot),
 * how many times the pending one was tried, and how the last boot ended.
 *
 * On disk it is one small text file, DEVDIR/boot/state: a JSON object on one
 * line, then a line "sha256 HEX" over that line.  It is only ever replaced
 * whole (fs_write_atomic: temporary file, fsync, rename, fsync of the
 * directory), so at any instant the file is the old record or the new one,
 * never a mix; a record whose checksum does not match (a bad sector, a hand
 * edit) is refused, and the boot loader then boots whichever bank verifies.
 *
 *     fresh:    active A, pending none
 *     install:  pending B          (the alternate bank holds the new image)
 *     boot:     B tried; ok -> active B, pending none
 *                       failed before jumpstart -> pending none (rolled back)
 *                       not finished after max_attempts -> pending none
 *
 * Thread-safety: none needed; functions work on the caller's struct.
 */
#ifndef DSE_BOOTSTATE_H
#define DSE_BOOTSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define BOOTSTATE_FORMAT 1
#define BOOTSTATE_MAX_ATTEMPTS 3
#define BOOTSTATE_MAX_LEN 4096 /* a record is never longer */

enum boot_result {
    BOOT_RESULT_NONE,        /* never booted */
    BOOT_RESULT_OK,          /* the last boot reached ready */
    BOOT_RESULT_ROLLED_BACK, /* the pending bank failed before jumpstart */
    BOOT_RESULT_FAILED,      /* failed after jumpstart: no rollback */
};

struct bootstate {
    char active;             /* 'A' or 'B' */
    char pending;            /* 'A', 'B', or 0: none */
    char booted;             /* the bank the last boot ran, or 0 */
    unsigned attempts;       /* boots of 'pending' so far */
    unsigned max_attempts;   /* then the pending bank is given up */
    bool rollback_requested; /* boot the other bank next (a key pressed) */
    enum boot_result last_result;
    char last_stage[16]; /* boot-loader, early-boot, jumpstart, ready */
    char last_reason[192];
    uint64_t boots; /* every boot, for the history */
};

/* A fresh device: bank A active, nothing pending.  This function can't fail. */
void bootstate_init(struct bootstate *);

/* Parses a record (file contents, 'len' bytes).  Returns false with a one-line
 * reason in 'err' on a bad checksum, bad JSON or a field out of range. */
bool bootstate_parse(const char *text, size_t len, struct bootstate *, char *err, size_t err_len);

/* Reads DEVDIR/boot/state.  Returns 0, -ENOENT (never written), -EBADMSG (a
 * record that does not parse: 'err' says why) or another -errno. */
int bootstate_load(const char *devdir, struct bootstate *, char *err, size_t err_len);

/* Formats the record (with its checksum) into 'buf'.  Returns its length, or 0
 * when 'buf' is too short. */
size_t bootstate_format(const struct bootstate *, char *buf, size_t buf_len);

/* Writes DEVDIR/boot/state atomically (creating DEVDIR/boot).  Returns 0 or
 * -errno; on failure the previous record stays. */
int bootstate_save(const char *devdir, const struct bootstate *);

/* The other bank.  This function can't fail. */
static inline char
bootstate_other(char bank)
{
    return bank == 'A' ? 'B' : 'A';
}

const char *boot_result_name(enum boot_result);

/* The record as JSON (a new reference). */
json_t *bootstate_to_json(const struct bootstate *);

#endif
