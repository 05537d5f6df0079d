/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The support bundle (lcm/support.h) with a device directory in a temporary
 * directory: only allow-listed files are collected (no key, no bank payload,
 * no symbolic link, nothing but regular files), each file gives its tail,
 * the device's total is capped, and the .tgz holds index.json first and every
 * part under a safe name, whatever names a peer sends.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/base64.h"
#include "tests/unit/check.h"
#include "lcm/support.h"
#include "lib/util.h"

#define PEM_KEY "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n"

struct dev {
    char root[64]; /* the temporary directory */
    char dir[128]; /* the device directory in it */
};

static void
put(const struct dev *d, const char *rel, const void *data, size_t len)
{
    char path[512], parent[512];
    snprintf(path, sizeof path, "%s/%s", d->dir, rel);
    snprintf(parent, sizeof parent, "%s", path);
    *strrchr(parent, '/') = '\0';
    if (fs_mkdir_p(parent, 0755) < 0)
        abort();
    FILE *f = fopen(path, "w");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f))
        abort();
}

static void
put_str(const struct dev *d, const char *rel, const char *text)
{
    put(d, rel, text, strlen(text));
}

/* A device directory as the lab leaves one, with everything that must stay
 * out of a bundle beside what goes in. */
static void
dev_init(struct dev *d)
{
    snprintf(d->root, sizeof d->root, "/tmp/test-support.XXXXXX");
    if (!mkdtemp(d->root))
        abort();
    snprintf(d->dir, sizeof d->dir, "%s/h1-dpu1", d->root);
    put_str(d, "platform.json", "{\"vendor\":\"dse-lab\"}\n");
    put_str(d, "boot/state", "{\"active\":\"A\"}\nsha256 00\n");
    put_str(d, "boot/history", "{\"boot\":1,\"result\":\"ok\"}\n");
    put_str(d, "banks/A/bank.json",
            "{\"target\":\"dpu/dse-lab/vdpu-2\",\"name\":\"dse\",\"version\":\"1.0\","
            "\"build\":\"0\",\"signed\":true,\"installed\":\"2026-01-01T00:00:00Z\"}\n");
    put_str(d, "banks/A/manifest.json", "{}\n");
    put_str(d, "banks/A/root/bin/dse-dpud",
            "\x7f"
            "ELF payload\n");
    put_str(d, "certs/cert.pem", "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n");
    put_str(d, "certs/ca.pem", "-----BEGIN CERTIFICATE-----\nAB==\n-----END CERTIFICATE-----\n");
    put_str(d, "certs/key.pem", PEM_KEY);
    put_str(d, "certs/bundle.pub", "public\n");
    put_str(d, "bundle.key", PEM_KEY);
    put_str(d, "log/dpud.log", "started\n");
    put_str(d, "log/dpud.out", "stdout\n");
    put_str(d, "log/dpud.log.1", "older\n");
    put_str(d, "log/notes.txt", "not a log\n");
    put_str(d, "log/.hidden.log", "hidden\n");
    put_str(d, "run/dpud.pid", "42\n");
}

static void
dev_fini(struct dev *d)
{
    if (fs_remove_at(AT_FDCWD, d->root) < 0)
        abort();
}

static json_t *
find_file(json_t *part, const char *name)
{
    size_t i;
    json_t *f;
    json_array_foreach (json_object_get(part, "files"), i, f)
        if (!strcmp(json_string_value(json_object_get(f, "name")), name))
            return f;
    return NULL;
}

static const char *
omitted_reason(json_t *part, const char *name)
{
    size_t i;
    json_t *o;
    json_array_foreach (json_object_get(part, "omitted"), i, o)
        if (!strcmp(json_string_value(json_object_get(o, "name")), name))
            return json_string_value(json_object_get(o, "reason"));
    return NULL;
}

/* The decoded data of file 'name' of 'part' (caller frees), or NULL. */
static char *
file_data(json_t *part, const char *name, size_t *len)
{
    json_t *data = json_object_get(find_file(part, name), "data");
    if (!data)
        return NULL;
    char *buf = malloc(json_string_length(data) + 1);
    if (!base64_decode(json_string_value(data), json_string_length(data), (uint8_t *)buf, len)) {
        free(buf);
        return NULL;
    }
    buf[*len] = '\0';
    return buf;
}

static json_t *
collect(const struct dev *d, size_t file_max, size_t total_max)
{
    struct support_limits lim = {.file_max = file_max, .total_max = total_max};
    char err[SUPPORT_ERR_LEN];
    json_t *part = NULL;
    int rc = support_collect(d->dir, &lim, &part, err, sizeof err);
    if (rc)
        fprintf(stderr, "support_collect: %s\n", err);
    return rc ? NULL : part;
}

static void
collect_takes_only_the_allow_list(void)
{
    struct dev d;
    dev_init(&d);
    json_t *part = collect(&d, SUPPORT_FILE_MAX, SUPPORT_DEVICE_MAX);
    ASSERT_NOT_NULL(part);
    static const char *const want[] = {
        "platform.json",         "boot/state",   "boot/history",   "banks/A/bank.json",
        "banks/A/manifest.json", "certs/ca.pem", "certs/cert.pem", "log/dpud.log",
        "log/dpud.log.1",        "log/dpud.out",
    };
    json_t *files = json_object_get(part, "files");
    ASSERT_EQ(json_array_size(files), ARRAY_SIZE(want));
    for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
        /* The fixed paths in their order, then the logs by name. */
        ASSERT_STREQ(json_string_value(json_object_get(json_array_get(files, i), "name")), want[i]);
    }
    size_t len;
    char *log = file_data(part, "log/dpud.log", &len);
    ASSERT_STREQ(log, "started\n");
    free(log);
    json_t *f = find_file(part, "log/dpud.log");
    ASSERT_EQ(json_integer_value(json_object_get(f, "size")), 8);
    ASSERT_EQ(json_integer_value(json_object_get(f, "full_size")), 8);
    ASSERT_TRUE(json_is_false(json_object_get(f, "truncated")));
    ASSERT_EQ(json_array_size(json_object_get(part, "omitted")), 0);
    /* bank_status(): both banks and the boot state. */
    json_t *banks = json_object_get(json_object_get(part, "versions"), "banks");
    ASSERT_TRUE(json_is_object(json_object_get(banks, "A")));
    ASSERT_TRUE(json_is_null(json_object_get(banks, "B")));
    /* The test's boot state has a bad checksum: reported, not half-parsed. */
    json_t *v = json_object_get(part, "versions");
    ASSERT_NOT_NULL(json_object_get(v, "state_error"));
    ASSERT_STREQ(json_string_value(json_object_get(v, "active")), "A");
    char *text = json_dumps(part, 0);
    ASSERT_NULL(strstr(text, "PRIVATE KEY"));
    free(text);
    json_decref(part);
    dev_fini(&d);
}

static void
collect_refuses_keys_links_and_odd_files(void)
{
    struct dev d;
    dev_init(&d);
    char path[512], target[512];
    /* A key pasted into a log; a log that is a link to the key; a FIFO; a
     * boot directory that is a link to somewhere else. */
    put_str(&d, "log/evil.log", "line\n" PEM_KEY "more\n");
    snprintf(path, sizeof path, "%s/log/link.log", d.dir);
    snprintf(target, sizeof target, "%s/certs/key.pem", d.dir);
    ASSERT_EQ(symlink(target, path), 0);
    snprintf(path, sizeof path, "%s/log/fifo.log", d.dir);
    ASSERT_EQ(mkfifo(path, 0600), 0);
    snprintf(path, sizeof path, "%s/boot", d.dir);
    snprintf(target, sizeof target, "%s/boot.real", d.dir);
    ASSERT_EQ(rename(path, target), 0);
    ASSERT_EQ(symlink(target, path), 0);
    json_t *part = collect(&d, SUPPORT_FILE_MAX, SUPPORT_DEVICE_MAX);
    ASSERT_NOT_NULL(part);
    ASSERT_STREQ(omitted_reason(part, "log/evil.log"), "holds a private key");
    ASSERT_STREQ(omitted_reason(part, "log/link.log"), "a symbolic link");
    ASSERT_STREQ(omitted_reason(part, "log/fifo.log"), "not a regular file");
    ASSERT_STREQ(omitted_reason(part, "boot/state"), "a symbolic link");
    ASSERT_NULL(find_file(part, "boot/state"));
    ASSERT_NULL(find_file(part, "log/evil.log"));
    char *text = json_dumps(part, 0);
    ASSERT_NULL(strstr(text, "PRIVATE KEY"));
    ASSERT_NULL(strstr(text, "MC4CAQAwBQYDK2VwBCIEIA")); /* the key's body */
    free(text);
    json_decref(part);
    dev_fini(&d);
}

static void
collect_keeps_the_tail_of_a_long_file(void)
{
    struct dev d;
    dev_init(&d);
    char big[3000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)('a' + i % 26);
    put(&d, "log/dpud.log", big, sizeof big);
    json_t *part = collect(&d, 1000, SUPPORT_DEVICE_MAX);
    ASSERT_NOT_NULL(part);
    json_t *f = find_file(part, "log/dpud.log");
    ASSERT_EQ(json_integer_value(json_object_get(f, "size")), 1000);
    ASSERT_EQ(json_integer_value(json_object_get(f, "full_size")), 3000);
    ASSERT_TRUE(json_is_true(json_object_get(f, "truncated")));
    size_t len;
    char *data = file_data(part, "log/dpud.log", &len);
    ASSERT_EQ(len, 1000);
    ASSERT_EQ(memcmp(data, big + 2000, 1000), 0); /* the newest bytes */
    free(data);
    json_decref(part);
    dev_fini(&d);
}

static void
collect_caps_the_device_total(void)
{
    struct dev d;
    dev_init(&d);
    char big[900];
    memset(big, 'x', sizeof big);
    put(&d, "log/a.log", big, sizeof big);
    put(&d, "log/b.log", big, sizeof big);
    put(&d, "log/c.log", big, sizeof big);
    json_t *part = collect(&d, 1000, 2500);
    ASSERT_NOT_NULL(part);
    size_t total = 0, i;
    json_t *f;
    json_array_foreach (json_object_get(part, "files"), i, f)
        total += (size_t)json_integer_value(json_object_get(f, "size"));
    ASSERT_EQ(total, 2500); /* filled to the byte, no further */
    /* The small fixed files came first and whole, then the logs by name:
     * a.log and b.log whole, c.log what was left (its tail); the logs after
     * it are left out. */
    ASSERT_TRUE(json_is_false(json_object_get(find_file(part, "boot/history"), "truncated")));
    ASSERT_TRUE(json_is_false(json_object_get(find_file(part, "log/a.log"), "truncated")));
    ASSERT_EQ(json_integer_value(json_object_get(find_file(part, "log/b.log"), "size")), 900);
    json_t *c = find_file(part, "log/c.log");
    ASSERT_TRUE(json_is_true(json_object_get(c, "truncated")));
    ASSERT_LT(json_integer_value(json_object_get(c, "size")), 900);
    ASSERT_GT(json_integer_value(json_object_get(c, "size")), 0);
    ASSERT_NULL(find_file(part, "log/dpud.out"));
    const char *why = omitted_reason(part, "log/dpud.out");
    ASSERT_NOT_NULL(why);
    ASSERT_NOT_NULL(strstr(why, "cap"));
    json_decref(part);
    dev_fini(&d);
}

static void
collect_fails_without_the_directory(void)
{
    struct support_limits lim = SUPPORT_LIMITS_DEFAULT;
    char err[SUPPORT_ERR_LEN];
    json_t *part = NULL;
    ASSERT_EQ(support_collect("/nonexistent/dse-support", &lim, &part, err, sizeof err), -ENOENT);
    ASSERT_NULL(part);
    ASSERT_NOT_NULL(strstr(err, "/nonexistent/dse-support"));
}

static void
path_clean_makes_names_safe(void)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"log/dpud.log", "log/dpud.log"},
        {"/etc/passwd", "etc/passwd"},
        {"../../etc/passwd", "__/__/etc/passwd"},
        {"a//b/./c/", "a/b/c"},
        {"a b\nc\\d", "a_b_c_d"},
        {"\xff\xfe.log", "__.log"},
        {"", "_"},
        {"/./", "_"},
        {"..", "__"},
        {"banks/.prev-state", "banks/.prev-state"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        char out[SUPPORT_PATH_MAX];
        bool changed = support_path_clean(cases[i].in, out);
        ASSERT_STREQ(out, cases[i].out);
        ASSERT_EQ(changed, strcmp(cases[i].in, cases[i].out) != 0);
    }
    char longname[600], out[SUPPORT_PATH_MAX];
    memset(longname, 'n', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    ASSERT_TRUE(support_path_clean(longname, out));
    ASSERT_EQ(strlen(out), SUPPORT_PATH_MAX - 1);
    ASSERT_EQ(out[SUPPORT_PATH_MAX - 2], '~');
}

/* ---- the archive --------------------------------------------------------- */

struct entry {
    char path[512];
    char *data;
    size_t len;
};

/* Reads every entry of the .tgz 'buf' into 'out' (at most 'max'); returns
 * the count or -1 when the archive does not read. */
static int
read_tgz(const void *buf, size_t len, struct entry *out, int max)
{
    struct archive *a = archive_read_new();
    archive_read_support_filter_gzip(a);
    archive_read_support_format_tar(a);
    int n = -1;
    if (archive_read_open_memory(a, buf, len) == ARCHIVE_OK) {
        struct archive_entry *e;
        int r;
        n = 0;
        while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK && n < max) {
            snprintf(out[n].path, sizeof out[n].path, "%s", archive_entry_pathname(e));
            out[n].len = (size_t)archive_entry_size(e);
            out[n].data = calloc(1, out[n].len + 1);
            if (archive_read_data(a, out[n].data, out[n].len) != (la_ssize_t)out[n].len)
                r = ARCHIVE_FATAL;
            n++;
            if (r != ARCHIVE_OK)
                break;
        }
        if (r != ARCHIVE_EOF)
            n = -1;
    }
    archive_read_free(a);
    return n;
}

static void
free_entries(struct entry *e, int n)
{
    for (int i = 0; i < n; i++)
        free(e[i].data);
}

static const struct entry *
entry_named(const struct entry *e, int n, const char *path)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(e[i].path, path))
            return &e[i];
    return NULL;
}

static void
bundle_holds_index_first_and_every_part(void)
{
    struct dev d;
    dev_init(&d);
    struct support_limits lim = SUPPORT_LIMITS_DEFAULT;
    json_t *part = collect(&d, lim.file_max, lim.total_max);
    ASSERT_NOT_NULL(part);
    struct support_bundle *b = support_bundle_create(&lim, SUPPORT_BUNDLE_MAX);
    char err[SUPPORT_ERR_LEN];
    ASSERT_EQ(support_bundle_add_device(b, "host", "dse-h1", "local", NULL, part, err, sizeof err),
              0);
    ASSERT_EQ(support_bundle_add_device(b, "dpu1", "dse-h1-dpu1", "oob",
                                        "internal network: refused", part, err, sizeof err),
              0);
    json_t *state = json_pack("{s:i}", "dpus", 1);
    ASSERT_EQ(support_bundle_add_json(b, "host", "state/host.info.json", "local", state), 0);
    json_decref(state);
    ASSERT_EQ(support_bundle_add_error(b, "dpu2", "dse-h1-dpu2", "unreachable"), 0);
    void *tgz = NULL;
    size_t len = 0;
    json_t *index = NULL;
    ASSERT_EQ(support_bundle_finish(b, "dse-h1", 1767225600, &tgz, &len, &index, err, sizeof err),
              0);
    support_bundle_destroy(b);
    json_decref(part);

    struct entry e[64];
    int n = read_tgz(tgz, len, e, 64);
    ASSERT_GT(n, 0);
    ASSERT_STREQ(e[0].path, "index.json");
    json_t *idx = json_loads(e[0].data, 0, NULL);
    ASSERT_NOT_NULL(idx);
    ASSERT_STREQ(json_string_value(json_object_get(idx, "created")), "2026-01-01T00:00:00Z");
    ASSERT_STREQ(json_string_value(json_object_get(idx, "host")), "dse-h1");
    /* Every part in the index is in the archive, and nothing else. */
    json_t *parts = json_object_get(idx, "parts");
    ASSERT_EQ(json_array_size(parts), (size_t)n - 1);
    size_t i;
    json_t *p;
    json_array_foreach (parts, i, p) {
        const struct entry *x = entry_named(e, n, json_string_value(json_object_get(p, "path")));
        ASSERT_NOT_NULL(x);
        ASSERT_EQ(json_integer_value(json_object_get(p, "size")), x->len);
    }
    const struct entry *log = entry_named(e, n, "dpu1/log/dpud.log");
    ASSERT_NOT_NULL(log);
    ASSERT_STREQ(log->data, "started\n");
    ASSERT_NOT_NULL(entry_named(e, n, "host/boot/history"));
    ASSERT_NOT_NULL(entry_named(e, n, "host/versions.json"));
    ASSERT_NOT_NULL(entry_named(e, n, "host/state/host.info.json"));
    json_t *devs = json_object_get(idx, "devices");
    ASSERT_EQ(json_array_size(devs), 3);
    ASSERT_STREQ(json_string_value(json_object_get(json_array_get(devs, 1), "source")), "oob");
    ASSERT_STREQ(json_string_value(json_object_get(json_array_get(devs, 1), "reason")),
                 "internal network: refused");
    ASSERT_STREQ(json_string_value(json_object_get(json_array_get(devs, 2), "source")), "none");
    ASSERT_EQ(json_array_size(json_object_get(idx, "errors")), 1);
    for (int k = 0; k < n; k++)
        ASSERT_NULL(strstr(e[k].data, "PRIVATE KEY"));
    json_decref(idx);
    json_decref(index);
    free_entries(e, n);
    free(tgz);
    dev_fini(&d);
}

static void
bundle_survives_odd_names_and_bad_entries(void)
{
    /* What a confused or hostile peer might send as its part. */
    json_t *files = json_array();
    static const char *const names[] = {"../../etc/passwd", "/abs/x", "a\nb", "", ".",
                                        "a//b/./c",         "x y\\z"};
    for (size_t i = 0; i < ARRAY_SIZE(names); i++)
        json_array_append_new(files, json_pack("{s:s,s:s}", "name", names[i], "data", "b2s="));
    char longname[1000];
    memset(longname, 'L', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    json_array_append_new(files, json_pack("{s:s,s:s}", "name", longname, "data", "b2s="));
    json_t *odd = json_object();
    json_object_set_new(odd, "name", json_stringn_nocheck("\xff\xfe\x01", 3));
    json_object_set_new(odd, "data", json_string("b2s="));
    json_array_append_new(files, odd);
    json_array_append_new(files, json_pack("{s:s,s:s}", "name", "bad64", "data", "not base64!"));
    json_array_append_new(files, json_pack("{s:s}", "name", "nodata"));
    json_array_append_new(files, json_string("not an object"));
    json_array_append_new(files, json_pack("{s:s,s:s}", "name", "big", "data",
                                           "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB"));
    json_t *part =
        json_pack("{s:o,s:[{s:i}],s:s}", "files", files, "omitted", "name", 5, "versions", "odd");

    struct support_limits lim = {.file_max = 100, .total_max = 30}; /* "big" is over */
    struct support_bundle *b = support_bundle_create(&lim, SUPPORT_BUNDLE_MAX);
    char err[SUPPORT_ERR_LEN];
    ASSERT_EQ(
        support_bundle_add_device(b, "dpu1", "x", "internal-network", NULL, part, err, sizeof err),
        0);
    json_t *notpart = json_pack("{s:s}", "files", "none");
    ASSERT_EQ(support_bundle_add_device(b, "dpu2", "y", "internal-network", NULL, notpart, err,
                                        sizeof err),
              -EBADMSG);
    json_decref(notpart);
    void *tgz = NULL;
    size_t len = 0;
    json_t *index = NULL;
    ASSERT_EQ(support_bundle_finish(b, "dse-h1", 0, &tgz, &len, &index, err, sizeof err), 0);
    support_bundle_destroy(b);
    json_decref(part);

    struct entry e[64];
    int n = read_tgz(tgz, len, e, 64);
    /* index.json, versions.json and the eight well-formed files. */
    ASSERT_EQ(n, 2 + 8);
    for (int k = 0; k < n; k++) {
        ASSERT_TRUE(e[k].path[0] != '/');
        ASSERT_NULL(strstr(e[k].path, "../"));
        ASSERT_LT(strlen(e[k].path), SUPPORT_PATH_MAX);
        for (const char *c = e[k].path; *c; c++)
            ASSERT_TRUE(*c > 0x20 && *c < 0x7f && *c != '\\');
    }
    ASSERT_NOT_NULL(entry_named(e, n, "dpu1/__/__/etc/passwd"));
    ASSERT_NOT_NULL(entry_named(e, n, "dpu1/a/b/c"));
    ASSERT_NOT_NULL(entry_named(e, n, "dpu1/___"));
    /* "", bad64, nodata, the string and big are errors, not parts. */
    ASSERT_EQ(json_array_size(json_object_get(index, "errors")), 5);
    ASSERT_EQ(json_array_size(json_object_get(index, "devices")), 1);
    json_decref(index);
    free_entries(e, n);
    free(tgz);
}

static void
bundle_refuses_to_outgrow_its_cap(void)
{
    struct support_limits lim = SUPPORT_LIMITS_DEFAULT;
    struct support_bundle *b = support_bundle_create(&lim, 4096);
    /* 8 KiB that gzip cannot shrink. */
    uint8_t raw[8192];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof raw; i++) {
        x = x * 1103515245 + 12345;
        raw[i] = (uint8_t)(x >> 16);
    }
    char *text = malloc(base64_encoded_size(sizeof raw));
    size_t text_len = base64_encode(raw, sizeof raw, text);
    json_t *part = json_pack("{s:[{s:s,s:s%}]}", "files", "name", "noise", "data", text, text_len);
    free(text);
    char err[SUPPORT_ERR_LEN];
    ASSERT_EQ(support_bundle_add_device(b, "host", "h", "local", NULL, part, err, sizeof err), 0);
    json_decref(part);
    void *tgz = NULL;
    size_t len = 0;
    json_t *index = NULL;
    ASSERT_EQ(support_bundle_finish(b, "h", 0, &tgz, &len, &index, err, sizeof err), -EFBIG);
    ASSERT_NULL(tgz);
    ASSERT_NULL(index);
    ASSERT_NOT_NULL(strstr(err, "4096"));
    support_bundle_destroy(b);
}

TEST_MAIN(TEST(collect_takes_only_the_allow_list), TEST(collect_refuses_keys_links_and_odd_files),
          TEST(collect_keeps_the_tail_of_a_long_file), TEST(collect_caps_the_device_total),
          TEST(collect_fails_without_the_directory), TEST(path_clean_makes_names_safe),
          TEST(bundle_holds_index_first_and_every_part),
          TEST(bundle_survives_odd_names_and_bad_entries), TEST(bundle_refuses_to_outgrow_its_cap))
