/* SPDX-License-Identifier: Apache-2.0 */
/* bootstate: the checksummed, atomically replaced boot record (bootstate.h). */
#include "lcm/bootstate.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

static const char *const result_names[] = {
    [BOOT_RESULT_NONE] = "none",
    [BOOT_RESULT_OK] = "ok",
    [BOOT_RESULT_ROLLED_BACK] = "rolled-back",
    [BOOT_RESULT_FAILED] = "failed",
};

const char *
boot_result_name(enum boot_result r)
{
    return (unsigned)r < ARRAY_SIZE(result_names) ? result_names[r] : "?";
}

void
bootstate_init(struct bootstate *st)
{
    memset(st, 0, sizeof *st);
    st->active = 'A';
    st->max_attempts = BOOTSTATE_MAX_ATTEMPTS;
}

static void
sha256_hex(const char *data, size_t len, char hex[65])
{
    unsigned char md[32];
    unsigned int md_len = 0;
    EVP_Digest(data, len, md, &md_len, EVP_sha256(), NULL);
    for (unsigned i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

static json_t *
bank_json(char bank)
{
    char s[2] = {bank, 0};
    return bank ? json_string(s) : json_null();
}

json_t *
bootstate_to_json(const struct bootstate *st)
{
    return json_pack("{s:i,s:o,s:o,s:o,s:i,s:i,s:b,s:s,s:s,s:s,s:I}", "format", BOOTSTATE_FORMAT,
                     "active", bank_json(st->active), "pending", bank_json(st->pending), "booted",
                     bank_json(st->booted), "attempts", (int)st->attempts, "max_attempts",
                     (int)st->max_attempts, "rollback_requested", st->rollback_requested,
                     "last_result", boot_result_name(st->last_result), "last_stage", st->last_stage,
                     "last_reason", st->last_reason, "boots", (json_int_t)st->boots);
}

size_t
bootstate_format(const struct bootstate *st, char *buf, size_t buf_len)
{
    json_t *j = bootstate_to_json(st);
    char *body = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(j);
    if (!body)
        return 0;
    char hex[65];
    sha256_hex(body, strlen(body), hex);
    int n = snprintf(buf, buf_len, "%s\nsha256 %s\n", body, hex);
    free(body);
    return n < 0 || (size_t)n >= buf_len ? 0 : (size_t)n;
}

/* 'A', 'B' or (when 'may_be_none') 0 from a JSON string or null. */
static bool
parse_bank(json_t *v, bool may_be_none, char *out)
{
    if (json_is_null(v) && may_be_none) {
        *out = 0;
        return true;
    }
    const char *s = json_string_value(v);
    if (!s || (strcmp(s, "A") && strcmp(s, "B")))
        return false;
    *out = s[0];
    return true;
}

static bool
fail(char *err, size_t err_len, const char *why)
{
    snprintf(err, err_len, "boot state: %s", why);
    return false;
}

bool
bootstate_parse(const char *text, size_t len, struct bootstate *st, char *err, size_t err_len)
{
    if (len > BOOTSTATE_MAX_LEN || memchr(text, 0, len))
        return fail(err, err_len, "not a boot state record");
    const char *nl = memchr(text, '\n', len);
    if (!nl)
        return fail(err, err_len, "truncated (no checksum line)");
    size_t body_len = (size_t)(nl - text);
    const char *sum = nl + 1;
    size_t sum_len = len - body_len - 1;
    char hex[65];
    sha256_hex(text, body_len, hex);
    if (sum_len != 7 + 64 + 1 || memcmp(sum, "sha256 ", 7) || memcmp(sum + 7, hex, 64) ||
        sum[71] != '\n')
        return fail(err, err_len, "checksum mismatch (torn or corrupted record)");

    json_error_t je;
    json_t *j = json_loadb(text, body_len, 0, &je);
    if (!json_is_object(j)) {
        json_decref(j);
        return fail(err, err_len, "not a JSON object");
    }
    struct bootstate s;
    bootstate_init(&s);
    json_int_t format = json_integer_value(json_object_get(j, "format"));
    json_t *attempts = json_object_get(j, "attempts"), *max = json_object_get(j, "max_attempts");
    json_t *boots = json_object_get(j, "boots");
    const char *result = json_string_value(json_object_get(j, "last_result"));
    const char *stage = json_string_value(json_object_get(j, "last_stage"));
    const char *reason = json_string_value(json_object_get(j, "last_reason"));
    json_t *rb = json_object_get(j, "rollback_requested");
    bool ok = false;
    const char *why = NULL;
    if (format != BOOTSTATE_FORMAT)
        why = "unknown format";
    else if (!parse_bank(json_object_get(j, "active"), false, &s.active) ||
             !parse_bank(json_object_get(j, "pending"), true, &s.pending) ||
             !parse_bank(json_object_get(j, "booted"), true, &s.booted))
        why = "bad bank (A or B)";
    else if (s.pending && s.pending == s.active)
        why = "pending bank is the active one";
    else if (!json_is_integer(attempts) || !json_is_integer(max) || !json_is_integer(boots) ||
             json_integer_value(attempts) < 0 || json_integer_value(attempts) > 1000 ||
             json_integer_value(max) < 1 || json_integer_value(max) > 100 ||
             json_integer_value(boots) < 0)
        why = "bad counter";
    else if (!json_is_boolean(rb) || !result || !stage || !reason ||
             strlen(stage) >= sizeof s.last_stage || strlen(reason) >= sizeof s.last_reason)
        why = "missing or oversized field";
    else
        ok = true;
    if (ok) {
        ok = false;
        for (unsigned r = 0; r < ARRAY_SIZE(result_names); r++)
            if (!strcmp(result, result_names[r])) {
                s.last_result = (enum boot_result)r;
                ok = true;
            }
        if (!ok)
            why = "unknown last_result";
    }
    if (ok) {
        s.attempts = (unsigned)json_integer_value(attempts);
        s.max_attempts = (unsigned)json_integer_value(max);
        s.boots = (uint64_t)json_integer_value(boots);
        s.rollback_requested = json_is_true(rb);
        snprintf(s.last_stage, sizeof s.last_stage, "%s", stage);
        snprintf(s.last_reason, sizeof s.last_reason, "%s", reason);
        *st = s;
    }
    json_decref(j);
    return ok ? true : fail(err, err_len, why);
}

static int
state_path(const char *devdir, char *buf, size_t len)
{
    int n = snprintf(buf, len, "%s/boot/state", devdir);
    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int
bootstate_load(const char *devdir, struct bootstate *st, char *err, size_t err_len)
{
    char path[4096];
    int rc = state_path(devdir, path, sizeof path);
    if (rc < 0)
        return rc;
    size_t len;
    char *text = fs_read_file(path, BOOTSTATE_MAX_LEN + 1, &len);
    if (!text) {
        rc = -errno;
        snprintf(err, err_len, "boot state: %s: %s", path, strerror(errno));
        return rc;
    }
    rc = bootstate_parse(text, len, st, err, err_len) ? 0 : -EBADMSG;
    free(text);
    return rc;
}

int
bootstate_save(const char *devdir, const struct bootstate *st)
{
    char path[4096], dir[4096], buf[BOOTSTATE_MAX_LEN];
    int rc = state_path(devdir, path, sizeof path);
    if (rc < 0)
        return rc;
    snprintf(dir, sizeof dir, "%s/boot", devdir);
    if ((rc = fs_mkdir_p(dir, 0755)) < 0)
        return rc;
    size_t len = bootstate_format(st, buf, sizeof buf);
    if (!len)
        return -EOVERFLOW;
    return fs_write_atomic(path, buf, len);
}
