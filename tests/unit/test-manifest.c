/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of lcm/manifest: strict parsing, canonical form, versions. */
#include "tests/unit/check.h"
#include "lcm/manifest.h"

#include <stdlib.h>
#include <string.h>

#define ASSERT_CONTAINS(hay, needle)                                                               \
    do {                                                                                           \
        const char *h_ = (hay), *n_ = (needle);                                                    \
        if (!strstr(h_, n_))                                                                       \
            CHECK_FAIL_("\"%s\" does not contain \"%s\"", h_, n_);                                 \
    } while (0)

#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA_B "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* A valid manifest, keys out of order and with whitespace, files unsorted. */
static const char valid[] =
    "{ \"name\": \"dse\", \"format\": 1, \"version\": \"0.1.0\", \"build\": \"g1\",\n"
    "  \"created\": \"2025-01-31T12:00:00Z\",\n"
    "  \"components\": [\n"
    "    {\"target\": \"host/x86_64\", \"files\": [\n"
    "      {\"path\": \"bin/dsectl\", \"size\": 10, \"mode\": \"0755\", \"sha256\": "
    "\"" SHA_A "\"},\n"
    "      {\"sha256\": \"" SHA_B "\", \"mode\": \"0644\", \"size\": 0, \"path\": \"VERSION\"}]},\n"
    "    {\"files\": [{\"path\": \"bin/dse-dpud\", \"size\": 5, \"mode\": \"0755\",\n"
    "                  \"sha256\": \"" SHA_B "\"}], \"target\": \"dpu/dse-lab/vdpu-2\"}]}";

static void
manifest_parse_accepts_valid_and_sorts(void)
{
    struct manifest *m;
    char err[MANIFEST_ERR_LEN] = "";
    ASSERT_TRUE(manifest_parse(valid, strlen(valid), &m, err, sizeof err));
    ASSERT_STREQ(m->name, "dse");
    ASSERT_STREQ(m->version, "0.1.0");
    ASSERT_EQ(m->n_components, 2);
    ASSERT_STREQ(m->components[0].target, "dpu/dse-lab/vdpu-2");
    ASSERT_EQ(m->total_size, 15);
    ASSERT_EQ(m->n_files, 3);
    const struct manifest_component *c = manifest_find_component(m, "host/x86_64");
    ASSERT_NOT_NULL(c);
    ASSERT_EQ(c->n_files, 2);
    ASSERT_STREQ(c->files[0].path, "VERSION");
    ASSERT_EQ(c->total_size, 10);
    const struct manifest_file *f = manifest_find_file(c, "bin/dsectl");
    ASSERT_NOT_NULL(f);
    ASSERT_EQ(f->mode, 0755);
    ASSERT_EQ(f->sha256[0], 0xaa);
    ASSERT_NULL(manifest_find_file(c, "bin"));
    ASSERT_NULL(manifest_find_file(c, "bin/dse-dpud"));
    ASSERT_NULL(manifest_find_component(m, "dpu/other/x"));
    manifest_destroy(m);
}

static void
manifest_emit_is_canonical(void)
{
    struct manifest *m, *m2;
    char err[MANIFEST_ERR_LEN];
    size_t len, len2;
    ASSERT_TRUE(manifest_parse(valid, strlen(valid), &m, err, sizeof err));
    char *s = manifest_emit(m, &len);
    ASSERT_NOT_NULL(s);
    ASSERT_EQ(strlen(s), len);
    static const char prefix[] = "{\"build\":\"g1\",\"components\":[{\"files\":[{\"mode\":"
                                 "\"0755\",\"path\":\"bin/dse-dpud\",";
    ASSERT_EQ(strncmp(s, prefix, sizeof prefix - 1), 0);
    ASSERT_NULL(strchr(s, ' '));
    ASSERT_TRUE(manifest_parse(s, len, &m2, err, sizeof err));
    char *s2 = manifest_emit(m2, &len2);
    ASSERT_STREQ(s, s2);
    free(s);
    free(s2);
    manifest_destroy(m);
    manifest_destroy(m2);
}

static void
manifest_builder_round_trips(void)
{
    uint8_t sha[32] = {1, 2, 3};
    struct manifest *m = manifest_create("dse", "1.2.3", "b", "2025-01-01T00:00:00Z");
    ASSERT_NOT_NULL(m);
    struct manifest_component *c = manifest_add_component(m, "host/x86_64");
    ASSERT_NOT_NULL(c);
    ASSERT_EQ(manifest_add_file(m, c, "z", 7, 0600, sha), 0);
    ASSERT_EQ(manifest_add_file(m, c, "a/b", 9, 0755, sha), 0);
    size_t len;
    char *s = manifest_emit(m, &len), err[MANIFEST_ERR_LEN];
    struct manifest *p;
    /* Emitted sorted; 'm' left as it was built. */
    ASSERT_STREQ(m->components[0].files[0].path, "z");
    ASSERT_TRUE(strstr(s, "\"a/b\"") < strstr(s, "\"z\""));
    ASSERT_TRUE(manifest_parse(s, len, &p, err, sizeof err));
    ASSERT_EQ(p->total_size, 16);
    ASSERT_EQ(manifest_find_file(&p->components[0], "z")->mode, 0600);
    ASSERT_EQ(manifest_find_file(&p->components[0], "a/b")->sha256[2], 3);
    free(s);
    manifest_destroy(m);
    manifest_destroy(p);
}

/* Replaces the first "from" of 'valid' by 'to'. */
static char *
mutate(const char *from, const char *to)
{
    const char *at = strstr(valid, from);
    if (!at)
        abort();
    size_t n = strlen(valid) - strlen(from) + strlen(to) + 1;
    char *s = malloc(n);
    snprintf(s, n, "%.*s%s%s", (int)(at - valid), valid, to, at + strlen(from));
    return s;
}

static void
manifest_parse_refuses_with_a_reason(void)
{
    static const struct {
        const char *from, *to, *reason;
    } cases[] = {
        {"\"format\": 1", "\"format\": 2", "unknown manifest format 2"},
        {"\"format\": 1", "\"format\": \"1\"", "format"},
        {"\"format\": 1,", "", "format"},
        {"\"build\": \"g1\",", "\"build\": \"g1\", \"extra\": 1,", "unknown key 'extra'"},
        {"\"name\": \"dse\",", "", "missing or mistyped name"},
        {"\"dse\"", "\"-dse\"", "bad name"},
        {"\"0.1.0\"", "\"0.1.x\"", "bad version"},
        {"\"g1\"", "\"g 1\"", "bad build"},
        {"\"g1\"", "\"\"", "bad build"},
        {"2025-01-31T12:00:00Z", "2025-13-31T12:00:00Z", "bad created"},
        {"2025-01-31T12:00:00Z", "yesterday", "bad created"},
        {"\"target\": \"host/x86_64\"", "\"target\": \"host\"", "bad target"},
        {"\"target\": \"host/x86_64\"", "\"target\": \"host/\"", "bad target"},
        {"\"target\": \"host/x86_64\"", "\"target\": \"host//x\"", "bad target"},
        {"\"target\": \"host/x86_64\"", "\"target\": \"vm/x86_64\"", "bad target"},
        {"\"target\": \"host/x86_64\"", "\"target\": \"dpu/a/b/c\"", "bad target"},
        {"\"target\": \"host/x86_64\"", "\"target\": \"dpu/x86_64\"", "bad target"},
        {"\"target\": \"host/x86_64\"", "\"target\": \"dpu/dse-lab/vdpu-2\"", "twice"},
        {"\"target\": \"host/x86_64\",", "\"target\": \"host/x86_64\", \"x\": 0,", "unknown key"},
        {"\"path\": \"bin/dsectl\"", "\"path\": \"../dsectl\"", "bad path"},
        {"\"path\": \"bin/dsectl\"", "\"path\": \"/bin/dsectl\"", "bad path"},
        {"\"path\": \"bin/dsectl\"", "\"path\": \"bin//dsectl\"", "bad path"},
        {"\"path\": \"bin/dsectl\"", "\"path\": \"bin/\"", "bad path"},
        {"\"path\": \"bin/dsectl\"", "\"path\": \"bin/./dsectl\"", "bad path"},
        {"\"path\": \"bin/dsectl\"", "\"path\": \"bin/..\"", "bad path"},
        {"\"path\": \"bin/dsectl\"", "\"path\": \"\"", "bad path"},
        {"\"path\": \"bin/dsectl\"", "\"path\": \"bin/a b\"", "bad path"},
        {"\"path\": \"bin/dsectl\"", "\"path\": \"bin/a\\nb\"", "bad path"},
        {"\"path\": \"bin/dsectl\"", "\"path\": \"bin/a\\u0000b\"", "not JSON"},
        {"\"path\": \"bin/dsectl\"", "\"path\": \"VERSION\"", "path 'VERSION' twice"},
        {"\"path\": \"bin/dsectl\"", "\"path\": \"VERSION/x\"", "both a file and a directory"},
        {"\"size\": 10", "\"size\": -1", "size"},
        {"\"size\": 10", "\"size\": 4294967297", "size"},
        {"\"size\": 10", "\"size\": 1.5", "size"},
        {"\"size\": 10", "\"size\": \"10\"", "size"},
        {"\"size\": 10", "\"size\": 99999999999999999999999", "not JSON"},
        {"\"mode\": \"0755\"", "\"mode\": \"755\"", "mode"},
        {"\"mode\": \"0755\"", "\"mode\": \"0855\"", "mode"},
        {"\"mode\": \"0755\"", "\"mode\": \"4755\"", "mode"},
        {"\"mode\": \"0755\"", "\"mode\": 493", "mistyped"},
        {SHA_A, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "sha256"},
        {SHA_A, "aaaa", "sha256"},
        {SHA_A, "gaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "sha256"},
        {"\"size\": 10,", "\"size\": 10, \"size\": 11,", "not JSON"},
        {"\"files\": [\n", "\"files\": [], \"x\": [\n", "unknown key"},
        {"{\"target\": \"host", "7, {\"target\": \"host", "component 1: not an object"},
        {"\"0.1.0\"", "0.1", "mistyped name, version"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *s = mutate(cases[i].from, cases[i].to), err[MANIFEST_ERR_LEN] = "";
        struct manifest *m = (struct manifest *)1;
        bool ok = manifest_parse(s, strlen(s), &m, err, sizeof err);
        free(s);
        if (ok)
            CHECK_FAIL_("case %zu (%s) accepted", i, cases[i].to);
        ASSERT_NULL(m);
        ASSERT_NULL(strchr(err, '\n'));
        ASSERT_CONTAINS(err, cases[i].reason);
    }
}

static void
manifest_parse_refuses_odd_documents(void)
{
    static const char *const docs[] = {
        "",
        "[]",
        "null",
        "{}",
        "{\"format\":1}",
        "{\"format\":1} x",
        "{\"format\":1,\"name\":\"a\",\"version\":\"1\",\"build\":\"b\","
        "\"created\":\"2025-01-01T00:00:00Z\",\"components\":[]}",
        "{\"format\":1,\"name\":\"a\",\"version\":\"1\",\"build\":\"b\","
        "\"created\":\"2025-01-01T00:00:00Z\",\"components\":[{\"target\":\"host/x\","
        "\"files\":[]}]}",
    };
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        struct manifest *m;
        char err[MANIFEST_ERR_LEN] = "";
        ASSERT_FALSE(manifest_parse(docs[i], strlen(docs[i]), &m, err, sizeof err));
        ASSERT_TRUE(err[0] != '\0');
    }
    char err[MANIFEST_ERR_LEN];
    struct manifest *m;
    ASSERT_FALSE(manifest_parse(valid, MANIFEST_MAX_LEN + 1, &m, err, sizeof err));
    ASSERT_CONTAINS(err, "more than");
}

/* A manifest of 'n_comps' components of 'n_files' files of 'size' bytes. */
static char *
big_manifest(int n_comps, int n_files, unsigned long long size)
{
    size_t cap = 1 << 22, n = 0;
    char *s = malloc(cap);
    n += (size_t)snprintf(s + n, cap - n,
                          "{\"format\":1,\"name\":\"a\",\"version\":\"1\",\"build\":\"b\","
                          "\"created\":\"2025-01-01T00:00:00Z\",\"components\":[");
    for (int c = 0; c < n_comps; c++) {
        n += (size_t)snprintf(s + n, cap - n, "%s{\"target\":\"dpu/v/m%d\",\"files\":[",
                              c ? "," : "", c);
        for (int f = 0; f < n_files; f++)
            n += (size_t)snprintf(s + n, cap - n,
                                  "%s{\"path\":\"f%d\",\"size\":%llu,\"mode\":\"0644\","
                                  "\"sha256\":\"" SHA_A "\"}",
                                  f ? "," : "", f, size);
        n += (size_t)snprintf(s + n, cap - n, "]}");
    }
    snprintf(s + n, cap - n, "]}");
    return s;
}

static void
manifest_parse_enforces_limits(void)
{
    struct manifest *m;
    char err[MANIFEST_ERR_LEN];
    char *s = big_manifest(MANIFEST_MAX_COMPONENTS, 1, 1);
    ASSERT_TRUE(manifest_parse(s, strlen(s), &m, err, sizeof err));
    manifest_destroy(m);
    free(s);
    s = big_manifest(MANIFEST_MAX_COMPONENTS + 1, 1, 1);
    ASSERT_FALSE(manifest_parse(s, strlen(s), &m, err, sizeof err));
    ASSERT_CONTAINS(err, "components");
    free(s);
    s = big_manifest(1, MANIFEST_MAX_FILES + 1, 1);
    ASSERT_FALSE(manifest_parse(s, strlen(s), &m, err, sizeof err));
    ASSERT_CONTAINS(err, "files");
    free(s);
    s = big_manifest(5, 1, MANIFEST_MAX_FILE_SIZE); /* 20 GiB in all */
    ASSERT_FALSE(manifest_parse(s, strlen(s), &m, err, sizeof err));
    ASSERT_CONTAINS(err, "files total");
    free(s);
}

static void
manifest_path_is_valid_refuses_escapes(void)
{
    ASSERT_TRUE(manifest_path_is_valid("bin/dse-hostd"));
    ASSERT_TRUE(manifest_path_is_valid("lib/bpf/xdp-pass.o"));
    ASSERT_TRUE(manifest_path_is_valid("..."));
    ASSERT_TRUE(manifest_path_is_valid("a..b/.c"));
    ASSERT_FALSE(manifest_path_is_valid(".."));
    ASSERT_FALSE(manifest_path_is_valid("a/../b"));
    ASSERT_FALSE(manifest_path_is_valid("/etc/passwd"));
    ASSERT_FALSE(manifest_path_is_valid("./a"));
    ASSERT_FALSE(manifest_path_is_valid("a\\b"));
    ASSERT_FALSE(manifest_path_is_valid("a:b"));
    char deep[64] = "";
    for (int i = 0; i < MANIFEST_MAX_DEPTH; i++)
        strcat(deep, i ? "/a" : "a");
    ASSERT_TRUE(manifest_path_is_valid(deep));
    strcat(deep, "/a");
    ASSERT_FALSE(manifest_path_is_valid(deep));
    char longp[MANIFEST_MAX_PATH + 2];
    memset(longp, 'x', sizeof longp - 1);
    longp[sizeof longp - 1] = '\0';
    ASSERT_FALSE(manifest_path_is_valid(longp));
    longp[MANIFEST_MAX_PATH] = '\0';
    ASSERT_TRUE(manifest_path_is_valid(longp));
}

static void
manifest_version_cmp_is_numeric(void)
{
    ASSERT_LT(manifest_version_cmp("0.1.0", "0.1.10"), 0);
    ASSERT_LT(manifest_version_cmp("0.1.9", "0.1.10"), 0);
    ASSERT_GT(manifest_version_cmp("0.2", "0.1.99"), 0);
    ASSERT_GT(manifest_version_cmp("2", "1.999999999"), 0);
    ASSERT_EQ(manifest_version_cmp("1.2", "1.2.0"), 0);
    ASSERT_EQ(manifest_version_cmp("1.2.0.0", "1.2"), 0);
    ASSERT_EQ(manifest_version_cmp("0.1.0", "0.1.0"), 0);
    ASSERT_LT(manifest_version_cmp("1.2", "1.2.0.1"), 0);
    /* Invalid versions sort first, and among themselves as equal. */
    ASSERT_LT(manifest_version_cmp("garbage", "0"), 0);
    ASSERT_GT(manifest_version_cmp("0", "1..2"), 0);
    ASSERT_EQ(manifest_version_cmp("x", "y"), 0);
}

static void
manifest_version_is_valid_refuses_odd_forms(void)
{
    ASSERT_TRUE(manifest_version_is_valid("0"));
    ASSERT_TRUE(manifest_version_is_valid("0.1.0"));
    ASSERT_TRUE(manifest_version_is_valid("1.2.3.4.5.6.7.8"));
    ASSERT_TRUE(manifest_version_is_valid("999999999.0"));
    ASSERT_FALSE(manifest_version_is_valid(""));
    ASSERT_FALSE(manifest_version_is_valid("1."));
    ASSERT_FALSE(manifest_version_is_valid(".1"));
    ASSERT_FALSE(manifest_version_is_valid("1..2"));
    ASSERT_FALSE(manifest_version_is_valid("01.2"));
    ASSERT_FALSE(manifest_version_is_valid("1.2.3.4.5.6.7.8.9"));
    ASSERT_FALSE(manifest_version_is_valid("1234567890"));
    ASSERT_FALSE(manifest_version_is_valid("1.2-rc1"));
    ASSERT_FALSE(manifest_version_is_valid("v1"));
}

static void
manifest_target_is_valid_knows_host_and_dpu(void)
{
    ASSERT_TRUE(manifest_target_is_valid("host/x86_64"));
    ASSERT_TRUE(manifest_target_is_valid("host/aarch64"));
    ASSERT_TRUE(manifest_target_is_valid("dpu/dse-lab/vdpu-2"));
    ASSERT_TRUE(manifest_target_is_valid("dpu/nvidia/bf3"));
    ASSERT_FALSE(manifest_target_is_valid("host"));
    ASSERT_FALSE(manifest_target_is_valid("host/x86_64/x"));
    ASSERT_FALSE(manifest_target_is_valid("dpu/nvidia"));
    ASSERT_FALSE(manifest_target_is_valid("dpu/nvidia/bf3/"));
    ASSERT_FALSE(manifest_target_is_valid("dpu//bf3"));
    ASSERT_FALSE(manifest_target_is_valid("dpu/../bf3"));
    ASSERT_FALSE(manifest_target_is_valid("/host/x86_64"));
    ASSERT_FALSE(manifest_target_is_valid(""));
}

TEST_MAIN(TEST(manifest_parse_accepts_valid_and_sorts), TEST(manifest_emit_is_canonical),
          TEST(manifest_builder_round_trips), TEST(manifest_parse_refuses_with_a_reason),
          TEST(manifest_parse_refuses_odd_documents), TEST(manifest_parse_enforces_limits),
          TEST(manifest_path_is_valid_refuses_escapes), TEST(manifest_version_cmp_is_numeric),
          TEST(manifest_version_is_valid_refuses_odd_forms),
          TEST(manifest_target_is_valid_knows_host_and_dpu))
