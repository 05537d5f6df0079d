/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz-http-reply: arbitrary bytes as what an HTTP API server sends back to
 * httpc (lib/httpc.c): status line, headers, body, then the reply envelope.
 * The bytes arrive as read_response() takes them, once in one read and once
 * 7 bytes a read; the outcome must not depend on how they were cut.  A
 * refusal says why in one line; a reply is an object with a boolean "ok".
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz-util.h"
#include "lib/http-private.h"

struct outcome {
    int rc; /* of reading */
    int status;
    long long content_len;
    size_t head_len;
    json_t *reply; /* or NULL */
};

/* Feeds 'data' 'chunk' bytes at a time until the reply is whole, then
 * takes the envelope as httpc does when the connection closes. */
static void
read_reply(const uint8_t *data, size_t size, size_t chunk, struct outcome *o)
{
    struct http_response r;
    char err[128] = "";
    http_response_init(&r);
    r.buf = malloc(size + 1); /* read_response() keeps a byte to spare too */
    if (!r.buf)
        abort();
    size_t off = 0;
    o->rc = 0;
    while (o->rc == 0 && off < size && !http_response_is_done(&r)) {
        size_t n = size - off < chunk ? size - off : chunk;
        memcpy(r.buf + r.len, data + off, n);
        off += n;
        o->rc = http_response_add(&r, n, err, sizeof err);
        fuzz_check_reason(o->rc, err);
    }
    o->reply = NULL;
    if (o->rc == 0 && (http_response_is_done(&r) || (r.head_len && r.content_len < 0))) {
        err[0] = '\0';
        int rc = http_response_envelope(&r, &o->reply, err, sizeof err);
        fuzz_check_reason(rc, err);
        if (rc == 0 &&
            (!json_is_object(o->reply) || !json_is_boolean(json_object_get(o->reply, "ok"))))
            abort();
    }
    if (r.head_len && o->rc == 0 && (r.status < 100 || r.status > 599))
        abort();
    o->status = r.status;
    o->content_len = r.content_len;
    o->head_len = r.head_len;
    free(r.buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct outcome whole, cut;
    read_reply(data, size, size ? size : 1, &whole);
    read_reply(data, size, 7, &cut);
    if (whole.rc != cut.rc || whole.status != cut.status || whole.head_len != cut.head_len ||
        whole.content_len != cut.content_len || !whole.reply != !cut.reply ||
        (whole.reply && !json_equal(whole.reply, cut.reply)))
        abort();
    json_decref(whole.reply);
    json_decref(cut.reply);
    return 0;
}
