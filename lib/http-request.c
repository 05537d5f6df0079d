/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http-request: from an HTTP request to a command call (http-private.h): the
 * method, the path's command name, the JSON body or the binary payload and its
 * Dse-Args header.  Pure, so that the server calls it and a fuzzer can feed
 * it whatever a peer might send.
 */
#include "lib/http-private.h"
#include "lib/http.h"

#include <errno.h>
#include <string.h>

bool
http_cmd_name_is_valid(const char *s)
{
    if (!s || !*s)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' ||
              *s == '-'))
            return false;
    return true;
}

static int
refuse(int rc, int status, json_t *env, json_t **error, int *status_out)
{
    *error = env;
    *status_out = status;
    return rc;
}

/* A binary payload: the body is the data, the arguments ride in the Dse-Args
 * header. */
static int
decode_payload(const struct http_request *req, struct http_call *call, json_t **error, int *status)
{
    call->payload = req->body_len ? req->body : "";
    call->payload_len = req->body_len;
    if (!call->payload)
        return refuse(-ENOMEM, 500, cmdtab_error("failed", "out of memory"), error, status);
    if (!req->dse_args)
        return 0;
    json_error_t jerr;
    call->args = json_loads(req->dse_args, JSON_REJECT_DUPLICATES, &jerr);
    if (!call->args)
        return refuse(-EINVAL, 400,
                      cmdtab_error("bad-request", "malformed Dse-Args header: %s", jerr.text),
                      error, status);
    return 0;
}

static int
decode_body(const struct http_request *req, struct http_call *call, json_t **error, int *status)
{
    json_error_t jerr;
    if (!req->body)
        return refuse(-ENOMEM, 400,
                      cmdtab_error("bad-request", "malformed JSON body: out of memory"), error,
                      status);
    call->args = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!call->args)
        return refuse(-EINVAL, 400,
                      cmdtab_error("bad-request", "malformed JSON body: %s", jerr.text), error,
                      status);
    return 0;
}

int
http_request_decode(const struct http_request *req, struct http_call *call, json_t **error,
                    int *status)
{
    const size_t plen = strlen(HTTP_API_PREFIX);
    int rc = 0;
    memset(call, 0, sizeof *call);
    *error = NULL;
    *status = 200;
    if (req->method != HTTP_GET && req->method != HTTP_POST)
        return refuse(-EOPNOTSUPP, 405,
                      cmdtab_error("bad-request", "method not allowed (GET, POST)"), error, status);
    if (!req->path || strncmp(req->path, HTTP_API_PREFIX, plen) ||
        !http_cmd_name_is_valid(req->path + plen))
        return refuse(-ENOENT, 404,
                      cmdtab_error("notfound", "no such resource (want %sCMD)", HTTP_API_PREFIX),
                      error, status);
    call->name = req->path + plen;
    if (req->method == HTTP_POST && req->content_type &&
        !strcmp(req->content_type, HTTP_PAYLOAD_TYPE))
        rc = decode_payload(req, call, error, status);
    else if (req->method == HTTP_POST && req->body_len)
        rc = decode_body(req, call, error, status);
    if (rc == 0 && call->args && !json_is_object(call->args))
        rc = refuse(-EINVAL, 400, cmdtab_error("bad-request", "arguments must be a JSON object"),
                    error, status);
    if (rc < 0) {
        json_decref(call->args);
        memset(call, 0, sizeof *call);
    }
    return rc;
}
