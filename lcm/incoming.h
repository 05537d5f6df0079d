/* SPDX-License-Identifier: Apache-2.0 */
/*
 * incoming: a unified image arriving in chunks, a DPU's side of the host's
 * transfer (software.stage.begin, .chunk..., .end), kept in
 * DEVDIR/banks/.incoming until it is staged.
 *
 *     incoming_begin()   size and SHA-256 announced; room checked for the
 *                        file and the component it holds (bank_space_check())
 *     incoming_write()   the bytes, in order, each chunk at the offset where
 *                        the last one ended; fault point software.receive
 *                        after each chunk is written
 *     incoming_stage()   every byte there and the SHA-256 right, fsynced;
 *                        then the device stages its own component from it,
 *                        trusting only its own anchor (install_trust_anchor())
 *     incoming_destroy() removes the file
 *
 * The device trusts nothing it did not check itself: the transfer's digest
 * only says that the bytes arrived as they were sent; the signature and the
 * payload are checked while the component is staged (bank_stage()).
 *
 * Thread-safety: an incoming belongs to one thread at a time.
 */
#ifndef DSE_INCOMING_H
#define DSE_INCOMING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lcm/sha256.h"

struct incoming;

/* Starts receiving 'size' bytes (> 0) whose SHA-256 is 'sha256', a bundle
 * whose component for this device takes 'need' bytes, into
 * DEVDIR/banks/.incoming (created anew).  Returns 0 and sets '*out', or
 * -errno with a reason: -ENOSPC, file system errors, -ENOMEM. */
int incoming_begin(const char *devdir, uint64_t size, const uint8_t sha256[static SHA256_LEN],
                   uint64_t need, struct incoming **out, char *err, size_t err_len);

/* Writes 'len' bytes at 'offset', which must be incoming_received().
 * Returns 0, or -EINVAL (another offset: nothing changed; or more bytes than
 * announced) or -errno of the write.  After any failure but the offset's,
 * the transfer is broken (incoming_is_broken()): destroy it. */
int incoming_write(struct incoming *in, uint64_t offset, const void *buf, size_t len, char *err,
                   size_t err_len);

/* The bytes written so far.  This function can't fail. */
uint64_t incoming_received(const struct incoming *in);
/* True once a failed write made the transfer unusable. */
bool incoming_is_broken(const struct incoming *in);

/* Checks that every byte arrived and that their SHA-256 is the announced
 * one (-EINVAL, -EBADMSG "the image arrived damaged"), fsyncs the file, then
 * stages component 'target' of it into 'devdir''s alternate bank
 * (install_trust_anchor(), bundle_open(), bank_stage()) and writes its
 * version into 'version' ('version_len' bytes).  Returns 0 or -errno with a
 * reason. */
int incoming_stage(struct incoming *in, const char *target, char *version, size_t version_len,
                   char *err, size_t err_len);

/* Removes the file and frees 'in'.  Accepts NULL. */
void incoming_destroy(struct incoming *in);

#endif
