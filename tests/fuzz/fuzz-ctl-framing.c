/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz-ctl-framing: arbitrary bytes as what a client writes on the control
 * socket, through the server's framing (ctl_serve(): lines, CRLF, empty lines,
 * a request too long, here over 128 bytes), once in one read and once 5 bytes
 * a read: the replies must be the same, one envelope line per request (and
 * one refusal), each read back by the client's decoder.  The same bytes, up
 * to their first newline, as a reply the client reads (ctl_reply_decode()).
 */
#include <errno.h>
#include <event2/buffer.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cmdtab.h"
#include "lib/ctl-private.h"
#include "tests/fuzz/fuzz-util.h"

#define MAX_REQUEST 128

/* What the server answers to 'data' fed 'chunk' bytes a read, as a string
 * (caller frees), and whether it closed the connection. */
static char *
serve(struct cmdtab *tab, const uint8_t *data, size_t size, size_t chunk, int *rc)
{
    struct evbuffer *in = evbuffer_new(), *out = evbuffer_new();
    if (!in || !out)
        abort();
    *rc = 0;
    for (size_t off = 0; off < size && *rc == 0; off += chunk) {
        if (evbuffer_add(in, data + off, size - off < chunk ? size - off : chunk))
            abort();
        *rc = ctl_serve(tab, in, out, MAX_REQUEST);
    }
    if (*rc != 0 && *rc != -EMSGSIZE)
        abort();
    size_t len = evbuffer_get_length(out);
    char *text = malloc(len + 1);
    if (!text || evbuffer_remove(out, text, len) != (int)len)
        abort();
    text[len] = '\0';
    evbuffer_free(in);
    evbuffer_free(out);
    return text;
}

/* Every reply line is an envelope the client takes; the last one, when the
 * server closed, is the refusal. */
static void
check_replies(char *text, int rc)
{
    char *line = text, *nl;
    json_t *env = NULL;
    while ((nl = strchr(line, '\n'))) {
        json_decref(env);
        if (ctl_reply_decode(line, (size_t)(nl - line), &env) < 0)
            abort();
        line = nl + 1;
    }
    if (*line || (rc == -EMSGSIZE && (!env || !json_is_false(json_object_get(env, "ok")))))
        abort();
    json_decref(env);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cmdtab *tab = fuzz_cmdtab();
    int rc_whole, rc_cut;
    char *whole = serve(tab, data, size, size ? size : 1, &rc_whole);
    char *cut = serve(tab, data, size, 5, &rc_cut);
    if (rc_whole != rc_cut || strcmp(whole, cut))
        abort();
    check_replies(whole, rc_whole);
    free(whole);
    free(cut);

    const uint8_t *nl = memchr(data, '\n', size);
    json_t *reply;
    if (ctl_reply_decode((const char *)data, nl ? (size_t)(nl - data) : size, &reply) == 0 &&
        !json_is_boolean(json_object_get(reply, "ok")))
        abort();
    json_decref(reply);
    return 0;
}
