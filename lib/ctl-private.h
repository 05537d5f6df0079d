/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ctl-private: the framing of the control socket (ctl.h) without the socket,
 * so that a fuzzer feeds it what a client might write
 * (tests/fuzz/fuzz-ctl-framing.c).
 *
 * Thread-safety: as the command table's dispatch.
 */
#ifndef DSE_CTL_PRIVATE_H
#define DSE_CTL_PRIVATE_H

#include <event2/buffer.h>
#include <jansson.h>
#include <stddef.h>

#include "lib/cmdtab.h"

/* Answers every whole request line in 'in' (LF or CRLF ended; empty lines
 * skipped; what follows the last newline stays for the next call) with one
 * reply envelope line on 'out'.  A line, or an unfinished one, longer than
 * 'max_request' bytes is answered with a "bad-request" envelope and
 * -EMSGSIZE: the connection is to be closed once that is written.  Returns
 * 0, -EMSGSIZE, or -ENOMEM (a reply could not be queued). */
int ctl_serve(struct cmdtab *tab, struct evbuffer *in, struct evbuffer *out, size_t max_request);

/* The reply envelope on one line (without its newline), as the client reads
 * it: 0 with '*reply' (caller owns), or -EPROTO when it is not a JSON object
 * with a boolean "ok". */
int ctl_reply_decode(const char *line, size_t len, json_t **reply);

#endif
