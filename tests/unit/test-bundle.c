/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of lcm/bundle: build, open, verify, extract and re-sign, and every
 * refusal with its reason and nothing left behind.  Refused bundles are made by
 * hand here with libarchive's writer (bundle-shaped tars with one thing wrong),
 * signed with a test key where the signature must not be what refuses them.
 */
#include "lcm/bundle.h"
#include "tests/unit/check.h"
#include "lcm/manifest.h"
#include "lcm/sign.h"
#include "lib/util.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <ftw.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define ASSERT_CONTAINS(hay, needle)                                                               \
    do {                                                                                           \
        const char *h_ = (hay), *n_ = (needle);                                                    \
        if (!strstr(h_, n_))                                                                       \
            CHECK_FAIL_("\"%s\" does not contain \"%s\"", h_, n_);                                 \
    } while (0)

#define HOST "host/x86_64"
#define DPU "dpu/dse-lab/vdpu-2"
#define CREATED "2025-01-31T12:00:00Z"

static const char data_a[] = "alpha: the host's first file\n";
static const char data_b[] = "bravo: the host's second file\n";
static const char data_d[] = "delta: the DPU's file\n";

/* ---- fixture: sources, keys, paths ------------------------------------- */

struct fx {
    char dir[64];
    char host[96], dpu[96], out[96], dest[96], raw[96];
    struct sign_key *key, *pub, *other;
};

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static void
rm_rf(const char *path)
{
    nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static bool
put_file(const char *dir, const char *rel, const void *data, size_t len, unsigned mode)
{
    char path[256], parent[256];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    snprintf(parent, sizeof parent, "%s", path);
    *strrchr(parent, '/') = '\0';
    if (fs_mkdir_p(parent, 0755) < 0)
        return false;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    bool ok = fd >= 0 && write(fd, data, len) == (ssize_t)len;
    if (fd >= 0)
        close(fd);
    return ok && chmod(path, mode) == 0;
}

static bool
fx_init(struct fx *x)
{
    memset(x, 0, sizeof *x);
    snprintf(x->dir, sizeof x->dir, "/tmp/dse-test-bundle-XXXXXX");
    if (!mkdtemp(x->dir))
        return false;
    snprintf(x->host, sizeof x->host, "%s/src-host", x->dir);
    snprintf(x->dpu, sizeof x->dpu, "%s/src-dpu", x->dir);
    snprintf(x->out, sizeof x->out, "%s/out.dsebundle", x->dir);
    snprintf(x->dest, sizeof x->dest, "%s/dest", x->dir);
    snprintf(x->raw, sizeof x->raw, "%s/raw.dsebundle", x->dir);
    char keyp[128], pubp[128], err[256];
    snprintf(keyp, sizeof keyp, "%s/k.key", x->dir);
    snprintf(pubp, sizeof pubp, "%s/k.pub", x->dir);
    return put_file(x->host, "bin/a", data_a, strlen(data_a), 0755) &&
           put_file(x->host, "lib/deep/b", data_b, strlen(data_b), 0640) &&
           put_file(x->host, "VERSION", "0.1.0\n", 6, 0644) &&
           put_file(x->dpu, "bin/d", data_d, strlen(data_d), 0755) &&
           sign_key_generate(&x->key) == 0 && sign_key_save(x->key, keyp, pubp) == 0 &&
           sign_key_load_public(pubp, &x->pub, err, sizeof err) == 0 &&
           sign_key_generate(&x->other) == 0;
}

static void
fx_fini(struct fx *x)
{
    sign_key_destroy(x->key);
    sign_key_destroy(x->pub);
    sign_key_destroy(x->other);
    rm_rf(x->dir);
}

static int
fx_build(struct fx *x, const char *out, bool sign, bool zstd, char *err, size_t err_len)
{
    const struct bundle_source srcs[] = {{HOST, x->host}, {DPU, x->dpu}};
    const struct bundle_spec spec = {.name = "dse",
                                     .version = "0.1.0",
                                     .build = "test",
                                     .created = CREATED,
                                     .sources = srcs,
                                     .n_sources = 2,
                                     .zstd = zstd};
    return bundle_build(&spec, out, sign ? x->key : NULL, err, err_len);
}

/* Entries under 'dir' (not counting it); 0 if it does not exist. */
static int n_seen;

static int
count_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    n_seen += ftw->level > 0;
    return 0;
}

static int
tree_count(const char *dir)
{
    n_seen = 0;
    nftw(dir, count_one, 16, FTW_PHYS);
    return n_seen;
}

static bool
file_is(const char *dir, const char *rel, const char *data, unsigned mode)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    size_t len;
    char *s = fs_read_file(path, 1 << 20, &len);
    struct stat st;
    bool ok = s && len == strlen(data) && !memcmp(s, data, len) && stat(path, &st) == 0 &&
              (st.st_mode & 07777) == mode;
    free(s);
    return ok;
}

/* ---- hand-made archives ------------------------------------------------ */

struct raw {
    const char *name;
    const char *data; /* NULL: 'len' zero bytes */
    size_t len;
    int type;         /* AE_IFREG when 0 */
    const char *link; /* symlink target, or hard link target with is_hardlink */
    bool is_hardlink;
};

#define RAW(n, d)                                                                                  \
    {                                                                                              \
        .name = (n), .data = (d), .len = sizeof(d) - 1                                             \
    }
#define P_A RAW("payload/" HOST "/bin/a", data_a)
#define P_B RAW("payload/" HOST "/lib/deep/b", data_b)
#define P_D RAW("payload/" DPU "/bin/d", data_d)

static bool
raw_entry(struct archive *a, const struct raw *r)
{
    static const char zeros[65536];
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, r->name);
    archive_entry_set_filetype(e, r->type ? (unsigned)r->type : AE_IFREG);
    archive_entry_set_perm(e, 0644);
    if (r->is_hardlink)
        archive_entry_set_hardlink(e, r->link);
    else if (r->link)
        archive_entry_set_symlink(e, r->link);
    bool has_data = !r->type && !r->link;
    archive_entry_set_size(e, has_data ? (la_int64_t)r->len : 0);
    bool ok = archive_write_header(a, e) == ARCHIVE_OK;
    archive_entry_free(e);
    for (size_t off = 0; ok && has_data && off < r->len;) {
        size_t n = MIN(r->len - off, sizeof zeros);
        ok = archive_write_data(a, r->data ? r->data + off : zeros, n) == (la_ssize_t)n;
        off += n;
    }
    return ok;
}

/* Writes a tar of 'n' entries to 'path'; 'n_zstd' zstd filters on top. */
static bool
raw_write(const char *path, int n_zstd, const struct raw *r, size_t n)
{
    struct archive *a = archive_write_new();
    bool ok = archive_write_set_format_pax_restricted(a) == ARCHIVE_OK;
    for (int i = 0; i < n_zstd; i++)
        ok = ok && archive_write_add_filter_zstd(a) == ARCHIVE_OK;
    ok = ok && archive_write_open_filename(a, path) == ARCHIVE_OK;
    for (size_t i = 0; ok && i < n; i++)
        ok = raw_entry(a, &r[i]);
    ok = archive_write_close(a) == ARCHIVE_OK && ok;
    archive_write_free(a);
    return ok;
}

/* A file the manifest declares: 'data' NULL is 'len' zero bytes. */
struct decl {
    const char *target, *path, *data;
    size_t len;
};

#define DECL(t, p, d)                                                                              \
    {                                                                                              \
        (t), (p), (d), sizeof(d) - 1                                                               \
    }
static const struct decl std_decl[] = {
    DECL(HOST, "bin/a", data_a),
    DECL(HOST, "lib/deep/b", data_b),
    DECL(DPU, "bin/d", data_d),
};

static void
sha256_of(const struct decl *d, uint8_t out[static 32])
{
    static const char zeros[65536];
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    for (size_t off = 0; off < d->len;) {
        size_t n = MIN(d->len - off, sizeof zeros);
        EVP_DigestUpdate(md, d->data ? d->data + off : zeros, n);
        off += n;
    }
    EVP_DigestFinal_ex(md, out, NULL);
    EVP_MD_CTX_free(md);
}

static char *
decl_manifest(const struct decl *d, size_t n, size_t *len)
{
    struct manifest *m = manifest_create("dse", "0.1.0", "test", CREATED);
    struct manifest_component *c = NULL;
    for (size_t i = 0; i < n; i++) {
        uint8_t sha[32];
        if (!c || strcmp(c->target, d[i].target))
            c = manifest_add_component(m, d[i].target);
        sha256_of(&d[i], sha);
        manifest_add_file(m, c, d[i].path, d[i].len, 0644, sha);
    }
    char *s = manifest_emit(m, len);
    manifest_destroy(m);
    return s;
}

/* A bundle declaring 'd' and carrying 'payload', signed by 'key' (or not),
 * written to x->raw. */
static bool
craft(struct fx *x, const struct decl *d, size_t nd, const struct raw *payload, size_t np,
      const struct sign_key *key, int n_zstd)
{
    size_t len;
    char *json = decl_manifest(d, nd, &len);
    uint8_t sig[SIGN_SIG_LEN];
    if (!json || (key && sign_bytes(key, json, len, sig)))
        return false;
    struct raw *r = calloc(np + 2, sizeof *r);
    size_t n = 0;
    r[n++] = (struct raw){.name = "manifest.json", .data = json, .len = len};
    if (key)
        r[n++] = (struct raw){.name = "manifest.sig", .data = (char *)sig, .len = sizeof sig};
    memcpy(r + n, payload, np * sizeof *r);
    bool ok = raw_write(x->raw, n_zstd, r, n + np);
    free(r);
    free(json);
    return ok;
}

#define CRAFT(x, payload, key)                                                                     \
    craft((x), std_decl, ARRAY_SIZE(std_decl), (payload), ARRAY_SIZE(payload), (key), 0)

/* Opening 'path' with 'pub' must fail with 'want' (0: any error) and
 * 'reason'; or else both verifying and extracting the host's component into
 * x->dest must.  Either way x->dest must be left absent. */
static void
expect_refused_limits(struct fx *x, const char *path, const struct sign_key *pub,
                      const struct bundle_limits *limits, int want, const char *reason)
{
    char err[BUNDLE_ERR_LEN] = "", verr[BUNDLE_ERR_LEN] = "";
    struct bundle *b = NULL;
    int rc = bundle_open(path, pub, limits, &b, err, sizeof err);
    if (!rc) {
        int vrc = bundle_verify(b, verr, sizeof verr);
        rc = bundle_extract(b, HOST, x->dest, err, sizeof err);
        bundle_close(b);
        ASSERT_EQ(vrc, rc);
        ASSERT_STREQ(verr, err);
    }
    if (want)
        ASSERT_EQ(rc, want);
    else
        ASSERT_LT(rc, 0);
    if (reason)
        ASSERT_CONTAINS(err, reason);
    ASSERT_NULL(strchr(err, '\n'));
    ASSERT_EQ(tree_count(x->dest), 0);
    ASSERT_EQ(access(x->dest, F_OK), -1);
}

static void
expect_refused(struct fx *x, const char *path, const struct sign_key *pub, int want,
               const char *reason)
{
    expect_refused_limits(x, path, pub, NULL, want, reason);
}

/* ---- the good path ----------------------------------------------------- */

static void
check_round_trip(bool zstd)
{
    struct fx x;
    char err[BUNDLE_ERR_LEN] = "", dest2[128];
    ASSERT_TRUE(fx_init(&x));
    ASSERT_EQ(fx_build(&x, x.out, true, zstd, err, sizeof err), 0);
    struct bundle *b;
    ASSERT_EQ(bundle_open(x.out, x.pub, NULL, &b, err, sizeof err), 0);
    ASSERT_TRUE(bundle_is_signed(b));
    ASSERT_TRUE(bundle_is_verified(b));
    ASSERT_EQ(bundle_is_compressed(b), zstd);
    const struct manifest *m = bundle_manifest(b);
    ASSERT_STREQ(m->version, "0.1.0");
    ASSERT_EQ(m->n_components, 2);
    ASSERT_EQ(bundle_verify(b, err, sizeof err), 0);

    ASSERT_EQ(bundle_extract(b, HOST, x.dest, err, sizeof err), 0);
    ASSERT_TRUE(file_is(x.dest, "bin/a", data_a, 0755));
    ASSERT_TRUE(file_is(x.dest, "lib/deep/b", data_b, 0640));
    ASSERT_TRUE(file_is(x.dest, "VERSION", "0.1.0\n", 0644));
    ASSERT_EQ(tree_count(x.dest), 6); /* bin lib lib/deep + 3 files */
    struct stat st;
    char p[160];
    snprintf(p, sizeof p, "%s/lib/deep", x.dest);
    ASSERT_EQ(stat(p, &st), 0);
    ASSERT_EQ(st.st_mode & 0777, 0755);

    /* An existing empty directory is fine; only the target's files land. */
    snprintf(dest2, sizeof dest2, "%s/dest2", x.dir);
    ASSERT_EQ(mkdir(dest2, 0700), 0);
    ASSERT_EQ(bundle_extract(b, DPU, dest2, err, sizeof err), 0);
    ASSERT_TRUE(file_is(dest2, "bin/d", data_d, 0755));
    ASSERT_EQ(tree_count(dest2), 2);

    uint64_t need;
    ASSERT_EQ(bundle_space_needed(b, HOST, &need), 0);
    ASSERT_EQ(need, 3 * 4096);
    ASSERT_EQ(bundle_space_needed(b, "dpu/x/y", &need), -ENOENT);

    json_t *j = bundle_inspect(b);
    ASSERT_STREQ(json_string_value(json_object_get(j, "signature")), "valid");
    ASSERT_STREQ(json_string_value(json_object_get(j, "compression")), zstd ? "zstd" : "none");
    ASSERT_EQ(json_integer_value(json_object_get(j, "files")), 4);
    ASSERT_EQ(json_array_size(json_object_get(j, "components")), 2);
    json_decref(j);
    bundle_close(b);
    fx_fini(&x);
}

static void
bundle_round_trip_signed(void)
{
    check_round_trip(false);
}

static void
bundle_round_trip_zstd(void)
{
    check_round_trip(true);
}

static void
bundle_build_is_deterministic(void)
{
    struct fx x;
    char err[BUNDLE_ERR_LEN], out2[128];
    ASSERT_TRUE(fx_init(&x));
    snprintf(out2, sizeof out2, "%s/out2.dsebundle", x.dir);
    ASSERT_EQ(fx_build(&x, x.out, true, true, err, sizeof err), 0);
    ASSERT_EQ(fx_build(&x, out2, true, true, err, sizeof err), 0);
    size_t n1, n2;
    char *a = fs_read_file(x.out, 1 << 20, &n1), *b = fs_read_file(out2, 1 << 20, &n2);
    ASSERT_TRUE(a && b && n1 == n2 && !memcmp(a, b, n1));
    free(a);
    free(b);
    fx_fini(&x);
}

static void
bundle_unsigned_needs_no_key_only(void)
{
    struct fx x;
    char err[BUNDLE_ERR_LEN];
    ASSERT_TRUE(fx_init(&x));
    ASSERT_EQ(fx_build(&x, x.out, false, false, err, sizeof err), 0);
    expect_refused(&x, x.out, x.pub, -ENOKEY, "not signed");
    struct bundle *b;
    ASSERT_EQ(bundle_open(x.out, NULL, NULL, &b, err, sizeof err), 0);
    ASSERT_FALSE(bundle_is_signed(b));
    ASSERT_EQ(bundle_verify(b, err, sizeof err), 0);
    json_t *j = bundle_inspect(b);
    ASSERT_STREQ(json_string_value(json_object_get(j, "signature")), "none");
    json_decref(j);
    bundle_close(b);
    fx_fini(&x);
}

/* ---- signatures -------------------------------------------------------- */

static void
bundle_wrong_key_is_refused(void)
{
    struct fx x;
    char err[BUNDLE_ERR_LEN];
    ASSERT_TRUE(fx_init(&x));
    ASSERT_EQ(fx_build(&x, x.out, true, false, err, sizeof err), 0);
    expect_refused(&x, x.out, x.other, -EKEYREJECTED, "bad signature");
    fx_fini(&x);
}

/* Flips the byte of 'path' at the first occurrence of 'needle', plus 'skew'. */
static bool
flip_at(const char *path, const char *needle, size_t skew)
{
    size_t len;
    char *s = fs_read_file(path, 1 << 24, &len);
    char *at = s ? memmem(s, len, needle, strlen(needle)) : NULL;
    bool ok = false;
    if (at) {
        at[skew] ^= 0x01;
        ok = fs_write_atomic(path, s, len) == 0;
    }
    free(s);
    return ok;
}

static void
bundle_tampered_manifest_is_refused(void)
{
    struct fx x;
    char err[BUNDLE_ERR_LEN];
    ASSERT_TRUE(fx_init(&x));
    ASSERT_EQ(fx_build(&x, x.out, true, false, err, sizeof err), 0);
    ASSERT_TRUE(flip_at(x.out, "\"name\":\"dse\"", 9)); /* "dse" -> "dre" */
    expect_refused(&x, x.out, x.pub, -EKEYREJECTED, "bad signature");
    /* A signature that is not 64 bytes, or is zeros. */
    uint8_t zeros[SIGN_SIG_LEN] = {0};
    size_t len;
    char *json = decl_manifest(std_decl, ARRAY_SIZE(std_decl), &len);
    struct raw r[] = {{.name = "manifest.json", .data = json, .len = len},
                      {.name = "manifest.sig", .data = (char *)zeros, .len = 63},
                      P_A,
                      P_B,
                      P_D};
    ASSERT_TRUE(raw_write(x.raw, 0, r, ARRAY_SIZE(r)));
    expect_refused(&x, x.raw, x.pub, -EKEYREJECTED, "manifest.sig is 63 bytes");
    r[1].len = SIGN_SIG_LEN;
    ASSERT_TRUE(raw_write(x.raw, 0, r, ARRAY_SIZE(r)));
    expect_refused(&x, x.raw, x.pub, -EKEYREJECTED, "bad signature");
    free(json);
    fx_fini(&x);
}

static void
bundle_missing_signature_is_refused(void)
{
    struct fx x;
    ASSERT_TRUE(fx_init(&x));
    const struct raw payload[] = {P_A, P_B, P_D};
    ASSERT_TRUE(CRAFT(&x, payload, NULL));
    expect_refused(&x, x.raw, x.pub, -ENOKEY, "the bundle is not signed");
    fx_fini(&x);
}

static void
bundle_tampered_payload_is_refused(void)
{
    struct fx x;
    char err[BUNDLE_ERR_LEN];
    ASSERT_TRUE(fx_init(&x));
    ASSERT_EQ(fx_build(&x, x.out, true, false, err, sizeof err), 0);
    ASSERT_TRUE(flip_at(x.out, "bravo", 2));
    expect_refused(&x, x.out, x.pub, -EBADMSG, "lib/deep/b': SHA-256 does not match");
    fx_fini(&x);
}

/* ---- damaged archives -------------------------------------------------- */

static void
cut_and_expect_refused(struct fx *x, const char *data, size_t len, size_t at)
{
    char path[128];
    snprintf(path, sizeof path, "%s/cut.dsebundle", x->dir);
    ASSERT_EQ(fs_write_atomic(path, data, at), 0);
    expect_refused(x, path, x->pub, 0, NULL);
    if (check_failed_)
        fprintf(stderr, "  (cut at %zu of %zu)\n", at, len);
}

static void
bundle_truncated_is_refused(void)
{
    struct fx x;
    char err[BUNDLE_ERR_LEN];
    ASSERT_TRUE(fx_init(&x));
    for (int zstd = 0; zstd < 2; zstd++) {
        ASSERT_EQ(fx_build(&x, x.out, true, zstd, err, sizeof err), 0);
        size_t len;
        char *s = fs_read_file(x.out, 1 << 20, &len);
        ASSERT_NOT_NULL(s);
        /* A plain bundle ends in two zero blocks: a cut there loses nothing
         * and is accepted (libarchive, like tar, does not need them). */
        size_t end = zstd ? len : len - 1024;
        const size_t cuts[] = {0,    1,    100,  511,     512,     700,         1024,
                               1500, 2048, 2600, end / 3, end / 2, end * 3 / 4, end - 1};
        for (size_t i = 0; i < ARRAY_SIZE(cuts) && !check_failed_; i++)
            cut_and_expect_refused(&x, s, len, cuts[i]);
        free(s);
    }
    fx_fini(&x);
}

static void
bundle_not_a_bundle_is_refused(void)
{
    struct fx x;
    ASSERT_TRUE(fx_init(&x));
    ASSERT_EQ(fs_write_atomic(x.raw, "just some text, not a tar\n", 26), 0);
    expect_refused(&x, x.raw, NULL, -EBADMSG, "not a readable bundle (tar, plain or zstd)");
    const struct raw first_not_manifest[] = {P_A, P_B};
    ASSERT_TRUE(raw_write(x.raw, 0, first_not_manifest, 2));
    expect_refused(&x, x.raw, NULL, -EBADMSG, "first entry is 'payload/host/x86_64/bin/a'");
    const struct raw manifest_symlink[] = {
        {.name = "manifest.json", .link = "/etc/passwd", .type = AE_IFLNK}};
    ASSERT_TRUE(raw_write(x.raw, 0, manifest_symlink, 1));
    expect_refused(&x, x.raw, NULL, -EBADMSG, "manifest.json is a symlink");
    const struct raw manifest_huge[] = {{.name = "manifest.json", .len = (1 << 20) + 1}};
    ASSERT_TRUE(raw_write(x.raw, 0, manifest_huge, 1));
    expect_refused(&x, x.raw, NULL, -EMSGSIZE, "manifest.json is 1048577 bytes");
    const struct raw manifest_bad[] = {RAW("manifest.json", "{\"format\":1}"), P_A};
    ASSERT_TRUE(raw_write(x.raw, 0, manifest_bad, 2));
    expect_refused(&x, x.raw, NULL, -EBADMSG, "bad manifest: ");
    /* zstd over zstd: one filter deep only. */
    const struct raw payload[] = {P_A, P_B, P_D};
    ASSERT_TRUE(craft(&x, std_decl, ARRAY_SIZE(std_decl), payload, 3, x.key, 2));
    expect_refused(&x, x.raw, x.pub, -EBADMSG, "compressed more than once");
    fx_fini(&x);
}

/* ---- payloads that do not match the manifest --------------------------- */

static void
bundle_missing_file_is_refused(void)
{
    struct fx x;
    ASSERT_TRUE(fx_init(&x));
    const struct raw payload[] = {P_A, P_D};
    ASSERT_TRUE(CRAFT(&x, payload, x.key));
    expect_refused(&x, x.raw, x.pub, -EBADMSG, "payload/host/x86_64/lib/deep/b is missing");
    fx_fini(&x);
}

static void
bundle_extra_or_duplicate_file_is_refused(void)
{
    struct fx x;
    ASSERT_TRUE(fx_init(&x));
    const struct raw extra[] = {P_A, P_B, P_D, RAW("payload/" HOST "/bin/evil", "x")};
    ASSERT_TRUE(CRAFT(&x, extra, x.key));
    expect_refused(&x, x.raw, x.pub, -EBADMSG, "'payload/host/x86_64/bin/evil' is not in");
    const struct raw outside[] = {P_A, RAW("etc/x", "x"), P_B, P_D};
    ASSERT_TRUE(CRAFT(&x, outside, x.key));
    expect_refused(&x, x.raw, x.pub, -EBADMSG, "'etc/x' is not in the manifest");
    const struct raw twice[] = {P_A, P_B, P_A, P_D};
    ASSERT_TRUE(CRAFT(&x, twice, x.key));
    expect_refused(&x, x.raw, x.pub, -EBADMSG, "bin/a' twice");
    const struct raw longer[] = {P_A, RAW("payload/" HOST "/lib/deep/b", "bravo, longer"), P_D};
    ASSERT_TRUE(CRAFT(&x, longer, x.key));
    expect_refused(&x, x.raw, x.pub, -EBADMSG, "is 13 bytes, the manifest says 30");
    fx_fini(&x);
}

static void
bundle_unsafe_names_are_refused(void)
{
    struct fx x;
    ASSERT_TRUE(fx_init(&x));
    static const char *const names[] = {"../x", "/etc/x", "payload/host/x86_64/../../../x",
                                        "payload/..", "./../x"};
    for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
        const struct raw payload[] = {P_A, {.name = names[i], .data = "x", .len = 1}, P_B, P_D};
        ASSERT_TRUE(CRAFT(&x, payload, x.key));
        expect_refused(&x, x.raw, x.pub, -EBADMSG, "unsafe entry name");
    }
    fx_fini(&x);
}

static void
bundle_links_and_specials_are_refused(void)
{
    struct fx x;
    ASSERT_TRUE(fx_init(&x));
    const struct {
        struct raw r;
        const char *reason;
    } cases[] = {
        {{.name = "payload/" HOST "/lib/deep/b", .link = "/etc/shadow", .type = AE_IFLNK},
         "is a symlink"},
        {{.name = "payload/" HOST "/lib/deep/b",
          .link = "payload/" HOST "/bin/a",
          .is_hardlink = true},
         "is a hard link"},
        {{.name = "payload/" HOST "/lib/deep/b", .type = AE_IFDIR}, "is a directory"},
        {{.name = "payload/" HOST "/lib/deep/b", .type = AE_IFCHR}, "is a device"},
        {{.name = "payload/" HOST "/lib/deep/b", .type = AE_IFIFO}, "is a FIFO"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        const struct raw payload[] = {P_A, cases[i].r, P_D};
        ASSERT_TRUE(CRAFT(&x, payload, x.key));
        expect_refused(&x, x.raw, x.pub, -EBADMSG, cases[i].reason);
    }
    fx_fini(&x);
}

/* ---- decompression bombs ----------------------------------------------- */

static void
bundle_bombs_are_refused(void)
{
    struct fx x;
    ASSERT_TRUE(fx_init(&x));
    /* A 64 MiB entry (64 KiB of zstd) where the manifest says 30 bytes:
     * refused on its header, before its data is inflated. */
    const struct raw big_b[] = {P_A, {.name = "payload/" HOST "/lib/deep/b", .len = 64 << 20}, P_D};
    ASSERT_TRUE(craft(&x, std_decl, 3, big_b, 3, x.key, 1));
    expect_refused(&x, x.raw, x.pub, -EBADMSG, "is 67108864 bytes, the manifest says 30");

    /* A manifest that declares the zeros (so sizes and digests agree): the
     * compression ratio stops it early. */
    const struct decl zeros_decl[] = {DECL(HOST, "bin/a", data_a),
                                      {HOST, "lib/deep/b", NULL, 32 << 20},
                                      DECL(DPU, "bin/d", data_d)};
    const struct raw zeros[] = {P_A, {.name = "payload/" HOST "/lib/deep/b", .len = 32 << 20}, P_D};
    ASSERT_TRUE(craft(&x, zeros_decl, 3, zeros, 3, x.key, 1));
    const struct bundle_limits tight = {.max_ratio = 100, .ratio_after = 1 << 20};
    expect_refused_limits(&x, x.raw, x.pub, &tight, -EMSGSIZE, "compression ratio above 100");

    /* More than the reader accepts in all, refused before reading on. */
    const struct bundle_limits small = {.max_total = 1 << 20};
    expect_refused_limits(&x, x.raw, x.pub, &small, -EMSGSIZE, "more than the limit 1048576");

    /* The default limits refuse it too: 32 MiB of zeros inflate far beyond
     * 200:1 once past 16 MiB. */
    expect_refused(&x, x.raw, x.pub, -EMSGSIZE, "compression ratio above 200");
    fx_fini(&x);
}

/* ---- extraction -------------------------------------------------------- */

static void
bundle_extract_wants_a_new_or_empty_directory(void)
{
    struct fx x;
    char err[BUNDLE_ERR_LEN], link[128], orphan[128];
    ASSERT_TRUE(fx_init(&x));
    ASSERT_EQ(fx_build(&x, x.out, true, false, err, sizeof err), 0);
    struct bundle *b;
    ASSERT_EQ(bundle_open(x.out, x.pub, NULL, &b, err, sizeof err), 0);

    ASSERT_TRUE(put_file(x.dest, "keep", "mine", 4, 0600));
    ASSERT_EQ(bundle_extract(b, HOST, x.dest, err, sizeof err), -ENOTEMPTY);
    ASSERT_TRUE(file_is(x.dest, "keep", "mine", 0600));
    ASSERT_EQ(tree_count(x.dest), 1);

    snprintf(link, sizeof link, "%s/link", x.dir);
    ASSERT_EQ(symlink(x.host, link), 0);
    ASSERT_EQ(bundle_extract(b, HOST, link, err, sizeof err), -ENOTDIR);

    snprintf(orphan, sizeof orphan, "%s/no/such", x.dir);
    ASSERT_EQ(bundle_extract(b, HOST, orphan, err, sizeof err), -ENOENT);
    ASSERT_EQ(bundle_extract(b, "dpu/other/model", orphan, err, sizeof err), -ENOENT);
    ASSERT_CONTAINS(err, "no component for dpu/other/model");
    bundle_close(b);
    fx_fini(&x);
}

/* No root, so no full file system to fill: RLIMIT_FSIZE makes write() fail
 * with EFBIG instead of ENOSPC, through the same path. */
static void
bundle_extract_cleans_up_when_writes_fail(void)
{
    struct fx x;
    char err[BUNDLE_ERR_LEN] = "";
    ASSERT_TRUE(fx_init(&x));
    const struct decl d[] = {DECL(HOST, "bin/a", data_a),
                             {HOST, "lib/deep/b", NULL, 256 << 10},
                             DECL(DPU, "bin/d", data_d)};
    const struct raw payload[] = {
        P_A, {.name = "payload/" HOST "/lib/deep/b", .len = 256 << 10}, P_D};
    ASSERT_TRUE(craft(&x, d, 3, payload, 3, x.key, 0));
    struct bundle *b;
    ASSERT_EQ(bundle_open(x.raw, x.pub, NULL, &b, err, sizeof err), 0);
    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = 64 << 10;
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &lim), 0);
    int rc = bundle_extract(b, HOST, x.dest, err, sizeof err);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, old_handler);
    bundle_close(b);
    ASSERT_EQ(rc, -EFBIG);
    ASSERT_CONTAINS(err, "writing lib/deep/b: File too large");
    ASSERT_EQ(access(x.dest, F_OK), -1);
    fx_fini(&x);
}

static void
bundle_changed_after_open_is_refused(void)
{
    struct fx x;
    char err[BUNDLE_ERR_LEN];
    ASSERT_TRUE(fx_init(&x));
    ASSERT_EQ(fx_build(&x, x.out, true, false, err, sizeof err), 0);
    struct bundle *b;
    ASSERT_EQ(bundle_open(x.out, x.pub, NULL, &b, err, sizeof err), 0);
    /* Rewrite in place (the bundle keeps its descriptor, so a rename would
     * not be seen). */
    int fd = open(x.out, O_WRONLY);
    ASSERT_EQ(pwrite(fd, "{\"build\":\"evil\"", 15, 512), 15);
    close(fd);
    ASSERT_EQ(bundle_verify(b, err, sizeof err), -ESTALE);
    ASSERT_CONTAINS(err, "changed since it was opened");
    ASSERT_EQ(bundle_extract(b, HOST, x.dest, err, sizeof err), -ESTALE);
    ASSERT_EQ(access(x.dest, F_OK), -1);
    bundle_close(b);
    fx_fini(&x);
}

/* ---- building and signing ---------------------------------------------- */

static void
bundle_build_refuses_odd_sources(void)
{
    struct fx x;
    char err[BUNDLE_ERR_LEN] = "", path[160];
    ASSERT_TRUE(fx_init(&x));
    snprintf(path, sizeof path, "%s/bin/link", x.host);
    ASSERT_EQ(symlink("a", path), 0);
    ASSERT_EQ(fx_build(&x, x.out, true, false, err, sizeof err), -EINVAL);
    ASSERT_CONTAINS(err, "bin/link: a symlink");
    unlink(path);
    snprintf(path, sizeof path, "%s/fifo", x.dpu);
    ASSERT_EQ(mkfifo(path, 0600), 0);
    ASSERT_EQ(fx_build(&x, x.out, true, false, err, sizeof err), -EINVAL);
    ASSERT_CONTAINS(err, "fifo: a special file");
    unlink(path);
    ASSERT_TRUE(put_file(x.host, "bad name", "x", 1, 0644));
    ASSERT_EQ(fx_build(&x, x.out, true, false, err, sizeof err), -EINVAL);
    ASSERT_CONTAINS(err, "cannot carry");
    snprintf(path, sizeof path, "%s/bad name", x.host);
    unlink(path);
    /* Nothing was written: no bundle, no temporary file. */
    ASSERT_EQ(access(x.out, F_OK), -1);
    ASSERT_EQ(tree_count(x.dir), 2 + 7 + 3); /* keys, host and dpu trees */

    const struct bundle_source dup[] = {{HOST, x.host}, {HOST, x.dpu}};
    struct bundle_spec spec = {.name = "dse",
                               .version = "1",
                               .build = "b",
                               .created = CREATED,
                               .sources = dup,
                               .n_sources = 2};
    ASSERT_EQ(bundle_build(&spec, x.out, NULL, err, sizeof err), -EINVAL);
    ASSERT_CONTAINS(err, "twice");
    const struct bundle_source bad[] = {{"dpu/x", x.dpu}};
    spec.sources = bad;
    spec.n_sources = 1;
    ASSERT_EQ(bundle_build(&spec, x.out, NULL, err, sizeof err), -EINVAL);
    ASSERT_CONTAINS(err, "bad target");
    const struct bundle_source missing[] = {{HOST, "/nonexistent/dir"}};
    spec.sources = missing;
    ASSERT_EQ(bundle_build(&spec, x.out, NULL, err, sizeof err), -ENOENT);
    const struct bundle_source empty[] = {{HOST, x.dest}};
    ASSERT_EQ(mkdir(x.dest, 0755), 0);
    spec.sources = empty;
    ASSERT_EQ(bundle_build(&spec, x.out, NULL, err, sizeof err), -EINVAL);
    ASSERT_CONTAINS(err, "no files");
    spec.version = "1.0-rc1";
    const struct bundle_source good[] = {{HOST, x.host}};
    spec.sources = good;
    ASSERT_EQ(bundle_build(&spec, x.out, NULL, err, sizeof err), -EINVAL);
    ASSERT_CONTAINS(err, "bad version");
    ASSERT_EQ(access(x.out, F_OK), -1);
    fx_fini(&x);
}

static void
bundle_sign_rewrites_in_place(void)
{
    struct fx x;
    char err[BUNDLE_ERR_LEN];
    ASSERT_TRUE(fx_init(&x));
    ASSERT_EQ(fx_build(&x, x.out, false, true, err, sizeof err), 0);
    ASSERT_EQ(bundle_sign(x.out, x.key, err, sizeof err), 0);
    struct bundle *b;
    ASSERT_EQ(bundle_open(x.out, x.pub, NULL, &b, err, sizeof err), 0);
    ASSERT_TRUE(bundle_is_compressed(b));
    ASSERT_EQ(bundle_verify(b, err, sizeof err), 0);
    bundle_close(b);
    /* Signing again with another key replaces the signature. */
    ASSERT_EQ(bundle_sign(x.out, x.other, err, sizeof err), 0);
    expect_refused(&x, x.out, x.pub, -EKEYREJECTED, "bad signature");
    /* A public key cannot sign. */
    ASSERT_EQ(bundle_sign(x.out, x.pub, err, sizeof err), -EINVAL);
    fx_fini(&x);
}

static void
bundle_sign_refuses_a_bad_payload(void)
{
    struct fx x;
    char err[BUNDLE_ERR_LEN];
    ASSERT_TRUE(fx_init(&x));
    ASSERT_EQ(fx_build(&x, x.out, false, false, err, sizeof err), 0);
    ASSERT_TRUE(flip_at(x.out, "delta", 0));
    size_t n1, n2;
    char *before = fs_read_file(x.out, 1 << 20, &n1);
    ASSERT_EQ(bundle_sign(x.out, x.key, err, sizeof err), -EBADMSG);
    ASSERT_CONTAINS(err, "SHA-256 does not match");
    char *after = fs_read_file(x.out, 1 << 20, &n2);
    ASSERT_TRUE(before && after && n1 == n2 && !memcmp(before, after, n1));
    free(before);
    free(after);
    ASSERT_EQ(tree_count(x.dir), 2 + 7 + 3 + 1); /* and the bundle */
    fx_fini(&x);
}

TEST_MAIN(TEST(bundle_round_trip_signed), TEST(bundle_round_trip_zstd),
          TEST(bundle_build_is_deterministic), TEST(bundle_unsigned_needs_no_key_only),
          TEST(bundle_wrong_key_is_refused), TEST(bundle_tampered_manifest_is_refused),
          TEST(bundle_missing_signature_is_refused), TEST(bundle_tampered_payload_is_refused),
          TEST(bundle_truncated_is_refused), TEST(bundle_not_a_bundle_is_refused),
          TEST(bundle_missing_file_is_refused), TEST(bundle_extra_or_duplicate_file_is_refused),
          TEST(bundle_unsafe_names_are_refused), TEST(bundle_links_and_specials_are_refused),
          TEST(bundle_bombs_are_refused), TEST(bundle_extract_wants_a_new_or_empty_directory),
          TEST(bundle_extract_cleans_up_when_writes_fail),
          TEST(bundle_changed_after_open_is_refused), TEST(bundle_build_refuses_odd_sources),
          TEST(bundle_sign_rewrites_in_place), TEST(bundle_sign_refuses_a_bad_payload))
