/* SPDX-License-Identifier: Apache-2.0 */
/*
 * install: installing a unified image on a server, its host and every DPU at
 * once (DESIGN.md §6), as one transaction over devices that each sit behind a
 * struct install_device_ops: lcm's own for a device's local banks
 * (install_local_ops over lcm/bank.h: the host's; dpud calls the same bank
 * functions for itself), and hostd's for a DPU over the internal network.
 *
 *   check   install_image_open(): the bundle signed by the key the device
 *           trusts (DIR/certs/bundle.pub) and whole, in one read of the file
 *           that also takes its SHA-256 and keeps the host's component
 *           (bundle_verify_keep()); install_check(): a component for every
 *           device, then each device's own check (free space).  Nothing is
 *           written before these pass.
 *   plan    install_create(), install_add_device(): devices, targets, sizes
 *   stage   install_start(): on threads of its own, every device stages its
 *           component into its alternate bank, all at once (or one after
 *           another: 'serial')
 *   commit  every device but the first, then the first (the host): its
 *           alternate bank becomes pending
 *   finish  every device drops what its commit replaced
 *   undo    after a failure anywhere (a stage or a commit, on any device):
 *           every device, so that no pending flag is left anywhere
 *
 * A device's step, as install_progress() shows it:
 *
 *     queued --> [sending -->] staging --> staged --> committed --> done
 *                                  \            \           \
 *                                   +------------+-----------+--> undone
 *
 * A device that fails keeps its step and gets "error": "STEP: why"; the
 * operation's error names the first failure, "DEVICE failed at STEP: why",
 * STEP being send (a stage that said "sending"), stage or commit.  A finish
 * or an undo that fails is logged: the device's next boot sorts it out
 * (lcm/boot.h).  The fault points (lib/fault.h) install.staged (every stage
 * over, nothing committed) and install.committed (every commit over, nothing
 * finished) sit between the phases.
 *
 * Thread-safety: an install is created, planned, started and destroyed by
 * one thread; install_progress() and install_is_running() may be called from
 * any thread meanwhile.  Device ops run on the install's threads: stage on
 * one thread per device (at the same time), the others on one thread, one
 * device after another.
 */
#ifndef DSE_INSTALL_H
#define DSE_INSTALL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lcm/bundle.h"
#include "lcm/sha256.h"

#define INSTALL_MAX_DEVICES 8
#define INSTALL_PATH_MAX 4096

struct sign_key;

/* ---- the image --------------------------------------------------------- */

struct install_image {
    char path[INSTALL_PATH_MAX];
    struct bundle *bundle; /* verified whole */
    uint64_t size;         /* bytes of the file */
    char sha256[SHA256_HEX_LEN];
};

/* Loads the key that device directory 'devdir' trusts for images,
 * DEVDIR/certs/bundle.pub.  Returns 0 and sets '*key' (sign_key_destroy()),
 * or sign_key_load_public()'s errors, with "the trust anchor: why". */
int install_trust_anchor(const char *devdir, struct sign_key **key, char *err, size_t err_len);

/* Opens the bundle at 'path' (absolute) for an install checked on device
 * directory 'devdir': install_trust_anchor(), then bundle_open() and
 * bundle_verify_keep() with 'keep' (the component staged here; may be NULL).
 * Fills 'img' (free with install_image_close()).  Returns 0, the anchor's
 * errors, or bundle.h's with "refused: why". */
int install_image_open(struct install_image *img, const char *devdir, const char *path,
                       const char *keep, char *err, size_t err_len);
/* Closes 'img' (and frees what it kept).  Accepts one never opened (zeroed)
 * or closed already. */
void install_image_close(struct install_image *img);

/* -ENOEXEC, "refused: the image has no component for TARGET (DEVICE)",
 * unless the image has one for 'target'. */
int install_image_has(const struct install_image *img, const char *target, const char *device,
                      char *err, size_t err_len);
/* -ENOEXEC, "refused: V is not newer than the running R ...", unless the
 * image's version is newer than 'running' (an update). */
int install_image_newer(const struct install_image *img, const char *running, char *err,
                        size_t err_len);

/* The set of DPUs of the last good install, DIR/software.json: {"version",
 * "dpus": [{"name", "serial", ...}]}.  install_dpus_check() refuses
 * (-ENOEXEC, "refused: the host's DPUs changed since the last install
 * (WHAT): ... (--fresh)") when 'set' ([{"name", "serial", ...}]) differs by
 * name and serial from the record; no record: 0 (the first install).
 * install_dpus_record() writes the record (atomically): 0 or -errno. */
int install_dpus_check(const char *dir, json_t *set, char *err, size_t err_len);
int install_dpus_record(const char *dir, const char *version, json_t *set);

/* ---- devices ----------------------------------------------------------- */

/* A device of an install, as its ops see it while they run. */
struct install_device;

/* Reports progress from a stage: 'step' (a string literal: "sending",
 * "staging"; NULL keeps the step) and 'done' of the device's total bytes.
 * This function can't fail. */
void install_device_progress(struct install_device *d, const char *step, uint64_t done);

/* What an install does with one device.  Each returns 0 or -errno with a
 * one-line reason in 'err'; 'aux' is install_add_device()'s. */
struct install_device_ops {
    /* Before anything is written: can the device take the image ('need':
     * bundle_space_needed() of its component)?  Sets '*total', the bytes its
     * stage reports progress against.  NULL: it can, total 'need'. */
    int (*check)(void *aux, const struct install_image *img, uint64_t need, uint64_t *total,
                 char *err, size_t err_len);
    /* Its component into its alternate bank; reports progress on 'd'. */
    int (*stage)(void *aux, const struct install_image *img, uint64_t need,
                 struct install_device *d, char *err, size_t err_len);
    int (*commit)(void *aux, char *err, size_t err_len);
    int (*finish)(void *aux, char *err, size_t err_len);
    int (*undo)(void *aux, char *err, size_t err_len);
    /* The operation is over: drop what it held (a connection).  Optional. */
    void (*release)(void *aux);
};

/* A device's own banks (lcm/bank.h): check is the free space of 'devdir',
 * stage bank_stage() of 'target' (from the bytes install_image_open() kept),
 * commit, finish and undo bank_commit(), bank_finish(), bank_undo(). */
struct install_local {
    const char *devdir;
    const char *target;
};
extern const struct install_device_ops install_local_ops;

/* ---- the operation ----------------------------------------------------- */

struct install;

struct install_params {
    unsigned id;       /* the caller's number for it */
    bool serial;       /* stage one device after another (for comparison) */
    uint64_t start_ms; /* now_ms() when its checks began: elapsed_ms counts them */
    /* Called on the install's thread when it is over, before it says so:
     * 'ok' when every device committed.  Optional. */
    void (*done)(void *aux, bool ok);
    void *aux;
};

/* A new install of 'img', which it takes over (the caller's copy is zeroed;
 * closed when the operation is over, or destroyed), or of no image at all
 * (NULL: for tests; then 'bundle' and 'version' name it).  Returns 0 and
 * sets '*out', or -ENOMEM. */
int install_create(const struct install_params *p, struct install_image *img, const char *bundle,
                   const char *version, struct install **out);

/* Adds device 'name' ("host", "dpu1"), which installs component 'target' and
 * runs version 'from' now, driven by 'ops' with 'aux' (borrowed until the
 * install is destroyed).  The first device added commits last.  Returns 0,
 * -ENOSPC (INSTALL_MAX_DEVICES already) or -EBUSY (started). */
int install_add_device(struct install *op, const char *name, const char *target, const char *from,
                       const struct install_device_ops *ops, void *aux);

/* The checks of the plan: a component for every device (install_image_has()),
 * then each device's check ("refused: DEVICE: why").  Returns 0 or the first
 * refusal. */
int install_check(struct install *op, char *err, size_t err_len);

/* Starts the operation on a thread of its own.  '*progress', when not NULL,
 * gets install_progress() as it starts (state "running").  Returns 0, or
 * -errno of pthread_create() (the install is then over, failed). */
int install_start(struct install *op, json_t **progress, char *err, size_t err_len);

bool install_is_running(const struct install *op);
unsigned install_id(const struct install *op);

/* {"op", "state": "running" | "ok" | "failed", "version", "bundle",
 * "error"?, "serial", "elapsed_ms", "devices": [{"device", "target", "from",
 * "step", "sent", "total", "error"?, "stage_begin_ms"?, "stage_end_ms"?}]}
 * (the stage's times in ms since start_ms).  A new reference, or NULL on
 * ENOMEM. */
json_t *install_progress(const struct install *op);

/* Waits until a started install is over.  This function can't fail. */
void install_wait(struct install *op);

/* Waits for 'op' (install_wait()) and frees it.  Accepts NULL. */
void install_destroy(struct install *op);

#endif
