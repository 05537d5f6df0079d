/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz-util: what the harnesses share.  An input that carries several texts
 * (a request's method, path and headers; a sensor's files) carries them one
 * after the other, each ended by a NUL: no text that these parsers take can
 * hold a NUL, so the split loses nothing, and the corpus stays readable.
 */
#ifndef DSE_FUZZ_UTIL_H
#define DSE_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define FUZZ_PIECES_MAX 8

struct fuzz_pieces {
    char *buf;                /* a NUL-terminated copy of the input */
    char *p[FUZZ_PIECES_MAX]; /* each piece, NUL-terminated; NULL past the end */
    size_t len[FUZZ_PIECES_MAX];
    unsigned n;
};

/* Cuts a copy of 'data' at its first 'max' - 1 NULs into 'max' pieces at
 * most; the last one is the rest, NULs and all (see its len).  Aborts when
 * out of memory.  Free with fuzz_pieces_free(). */
void fuzz_split(const uint8_t *data, size_t size, unsigned max, struct fuzz_pieces *out);
void fuzz_pieces_free(struct fuzz_pieces *);

/* fuzz-cmdtab.c, for harnesses of a transport: a command table (made once)
 * with "echo" and "port.list", which answer {"args": ARGS, "payload_len": N}. */
struct cmdtab *fuzz_cmdtab(void);

/* A parser's refusal must say why in one line: aborts if 'rc' < 0 and 'err'
 * is empty or holds a newline. */
void fuzz_check_reason(int rc, const char *err);

#endif
