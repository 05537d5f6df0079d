/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz-http-request: an HTTP API request as evhttp hands it to the server,
 * through http_request_decode() and on to the command table.  The input is
 * METHOD NUL PATH NUL CONTENT-TYPE NUL DSE-ARGS NUL BODY (an empty header is
 * an absent one; the body is the rest, NULs and all).  A refusal is an error
 * envelope with one of the API's statuses; a call names a valid command, and
 * its arguments are an object; a payload comes only with the payload type.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz-util.h"
#include "lib/http-private.h"
#include "lib/http.h"

static void
check_refusal(int rc, json_t *error, int status)
{
    const char *code = json_string_value(json_object_get(error, "code"));
    const char *msg = json_string_value(json_object_get(error, "error"));
    int want = rc == -EOPNOTSUPP ? 405 : rc == -ENOENT ? 404 : rc == -EINVAL ? 400 : -1;
    if (!json_is_false(json_object_get(error, "ok")) || !code || !msg || strchr(msg, '\n'))
        abort();
    if (rc != -ENOMEM && status != want)
        abort();
    if (rc == -ENOMEM && status != 400 && status != 500)
        abort();
}

static void
check_call(const struct http_request *req, const struct http_call *call)
{
    bool is_payload = req->method == HTTP_POST && req->content_type &&
                      !strcmp(req->content_type, HTTP_PAYLOAD_TYPE);
    if (!http_cmd_name_is_valid(call->name) ||
        strcmp(req->path + strlen(HTTP_API_PREFIX), call->name))
        abort();
    if (call->args && !json_is_object(call->args))
        abort();
    if (is_payload != (call->payload != NULL) || (is_payload && call->payload_len != req->body_len))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cmdtab *tab = fuzz_cmdtab();
    struct fuzz_pieces in;
    fuzz_split(data, size, 5, &in);
    const char *method = in.p[0];
    struct http_request req = {
        .method = !strcmp(method, "GET")    ? HTTP_GET
                  : !strcmp(method, "POST") ? HTTP_POST
                                            : HTTP_OTHER,
        .path = in.n > 1 && in.len[1] ? in.p[1] : NULL,
        .content_type = in.n > 2 && in.len[2] ? in.p[2] : NULL,
        .dse_args = in.n > 3 && in.len[3] ? in.p[3] : NULL,
        .body = in.n > 4 ? in.p[4] : "",
        .body_len = in.n > 4 ? in.len[4] : 0,
    };
    struct http_call call;
    json_t *error;
    int status;
    int rc = http_request_decode(&req, &call, &error, &status);
    if (rc < 0) {
        check_refusal(rc, error, status);
        json_decref(error);
    } else {
        check_call(&req, &call);
        json_t *env = cmdtab_dispatch_payload(tab, call.name, call.args, call.payload,
                                              call.payload_len, "fuzz", AUTHZ_HOST);
        if (!json_is_boolean(json_object_get(env, "ok")))
            abort();
        json_decref(env);
        json_decref(call.args);
    }
    fuzz_pieces_free(&in);
    return 0;
}
