/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dsectl support-bundle: asks hostd for the support bundle of the host and its
 * DPUs (a .tgz, lcm/support.h) and writes it to a file, never over an existing
 * one unless --force.  Prints one line per device: where its part came from.
 */
#include "cli/dsectl.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/base64.h"

#define SUPPORT_TIMEOUT_MS 120000 /* hostd waits up to 10 s per DPU */

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints a one-line error and returns EXIT_FAILED. */
static int
fail(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "dsectl: support-bundle: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return EXIT_FAILED;
}

static int
write_all(int fd, const uint8_t *buf, size_t len)
{
    while (len) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        buf += n;
        len -= (size_t)n;
    }
    return fsync(fd) < 0 ? -errno : 0;
}

/* Decodes the reply's "data" into 'tmp' (open as 'fd').  Returns 0 or -errno
 * (-EPROTO: a reply that is not a bundle). */
static int
write_bundle(int fd, json_t *result)
{
    json_t *data = json_object_get(result, "data");
    json_t *size = json_object_get(result, "size");
    if (!json_is_string(data) || !json_is_integer(size))
        return -EPROTO;
    size_t text_len = json_string_length(data);
    uint8_t *buf = malloc(base64_decoded_max(text_len) + 1);
    if (!buf)
        return -ENOMEM;
    size_t len;
    int rc = 0;
    if (!base64_decode(json_string_value(data), text_len, buf, &len) ||
        (json_int_t)len != json_integer_value(size))
        rc = -EPROTO;
    if (!rc)
        rc = write_all(fd, buf, len);
    free(buf);
    return rc;
}

/* Moves 'tmp' to 'out': over an existing file only when 'force'. */
static int
install(const char *tmp, const char *out, bool force)
{
    if (force)
        return rename(tmp, out) < 0 ? -errno : 0;
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, out, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS)
        return -errno;
    /* A file system without RENAME_NOREPLACE: link() does not replace either. */
    if (link(tmp, out) < 0)
        return -errno;
    unlink(tmp);
    return 0;
}

static void
print_devices(json_t *index, const char *out, json_int_t size)
{
    size_t i;
    json_t *d;
    json_array_foreach (json_object_get(index, "devices"), i, d) {
        const char *err = json_string_value(json_object_get(d, "error"));
        const char *reason = json_string_value(json_object_get(d, "reason"));
        printf("%-6s %-16s ", fmt_json(json_object_get(d, "device")),
               fmt_json(json_object_get(d, "source")));
        if (err)
            printf("not collected: %s\n", err);
        else
            printf("%lld files%s%s%s\n", (long long)json_integer_value(json_object_get(d, "files")),
                   reason ? " (" : "", reason ? reason : "", reason ? ")" : "");
    }
    size_t n_omitted = json_array_size(json_object_get(index, "omitted"));
    size_t n_errors = json_array_size(json_object_get(index, "errors"));
    printf("wrote %s (%lld bytes)", out, (long long)size);
    if (n_omitted || n_errors)
        printf(": %zu files left out, %zu errors (see index.json)", n_omitted, n_errors);
    printf("\n");
}

int
cli_support_bundle(struct cli *cli, int argc, char **argv)
{
    const char *out = NULL;
    bool force = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-o") || !strcmp(argv[i], "--output")) {
            if (i + 1 >= argc || !*argv[i + 1])
                return cli_usage_error("support-bundle", "%s needs a file name", argv[i]);
            out = argv[++i];
        } else if (!strcmp(argv[i], "--force")) {
            force = true;
        } else {
            return cli_usage_error("support-bundle", "unexpected argument '%s'", argv[i]);
        }
    }
    if (!out)
        return cli_usage_error("support-bundle", "missing -o FILE");
    struct stat st;
    if (!force && lstat(out, &st) == 0)
        return fail("%s exists (--force replaces it)", out);

    /* Written beside 'out' first, so that a failure leaves no half bundle. */
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp-XXXXXX", out) >= (int)sizeof tmp)
        return fail("%s: %s", out, strerror(ENAMETOOLONG));
    int fd = mkstemp(tmp); /* mode 0600: the logs are the operator's */
    if (fd < 0)
        return fail("cannot write %s: %s", out, strerror(errno));

    json_t *result = NULL;
    cli->timeout_ms = SUPPORT_TIMEOUT_MS;
    int rc = cli_call(cli, "support.bundle", json_object(), &result);
    if (rc == EXIT_OK) {
        int e = write_bundle(fd, result);
        if (!e && close(fd) < 0)
            e = -errno;
        fd = -1;
        if (!e)
            e = install(tmp, out, force);
        if (e == -EPROTO)
            rc = fail("hostd sent no bundle");
        else if (e == -EEXIST)
            rc = fail("%s exists (--force replaces it)", out);
        else if (e)
            rc = fail("cannot write %s: %s", out, strerror(-e));
    }
    if (fd >= 0)
        close(fd);
    if (rc != EXIT_OK) {
        unlink(tmp);
    } else if (cli->json) {
        json_dumpf(json_object_get(result, "index"), stdout, JSON_INDENT(2));
        putchar('\n');
    } else {
        print_devices(json_object_get(result, "index"), out,
                      json_integer_value(json_object_get(result, "size")));
    }
    json_decref(result);
    return rc;
}
