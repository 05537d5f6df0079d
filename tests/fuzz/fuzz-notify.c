/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz-notify: a webhook target URL, as an operator configures it, and the
 * start of the receiver's reply (monitor/notify.c).  The input is URL NUL
 * REPLY; of the reply, the first 63 bytes count, as webhook() reads them.
 * An accepted URL puts no space or control character into the request,
 * writes back as a URL that parses the same, and is what
 * notify_target_check() accepts; a reply is taken only with a 2xx status.
 * The URL's text is also tried as a command target: accepted only as an
 * absolute path.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz-util.h"
#include "monitor/notify-private.h"
#include "monitor/notify.h"

static void
check_clean(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s <= ' ' || *s == 0x7f)
            abort();
}

static void
check_url(const char *text)
{
    struct notify_url u, again;
    char err[NOTIFY_URL_MAX + 64] = "";
    bool ok = notify_url_parse(text, &u);
    if (ok != notify_target_check("webhook", text, NULL, err, sizeof err) ||
        (!ok && strchr(err, '\n')))
        abort();
    /* The same text as a command target: a program by absolute path, never
     * a line for a shell. */
    bool cmd = notify_target_check("command", text, NULL, err, sizeof err);
    if (cmd != (text[0] == '/' && strlen(text) < NOTIFY_URL_MAX) || (!cmd && strchr(err, '\n')))
        abort();
    if (!ok)
        return;
    check_clean(u.host);
    check_clean(u.path);
    char *end;
    long port = strtol(u.port, &end, 10);
    if (!u.host[0] || *end || port < 1 || port > 65535 || u.path[0] != '/')
        abort();
    /* The URL written back from its parts, as the request's Host and path use them. */
    char url[2 * NOTIFY_URL_MAX];
    bool v6 = strchr(u.host, ':') != NULL;
    snprintf(url, sizeof url, "http://%s%s%s:%s%s", v6 ? "[" : "", u.host, v6 ? "]" : "", u.port,
             u.path);
    if (strlen(url) < NOTIFY_URL_MAX &&
        (!notify_url_parse(url, &again) || strcmp(u.host, again.host) ||
         strcmp(u.port, again.port) || strcmp(u.path, again.path)))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_pieces in;
    fuzz_split(data, size, 2, &in);
    check_url(in.p[0]);
    if (in.n > 1) {
        char resp[64];
        size_t n = in.len[1] < sizeof resp - 1 ? in.len[1] : sizeof resp - 1;
        memcpy(resp, in.p[1], n);
        resp[n] = '\0';
        int status = -1;
        int rc = notify_reply_status(resp, &status);
        if ((rc == 0) != (status >= 200 && status <= 299) || (rc < 0 && rc != -EPROTO))
            abort();
    }
    fuzz_pieces_free(&in);
    return 0;
}
