/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A device's banks (lcm/bank.h) with real bundles in a temporary directory: a
 * factory install, early-boot verification catching every kind of damage, an
 * install's stage/commit/finish, an undo that puts the banks and the boot state
 * back byte for byte, and refusals that write nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lcm/bank.h"
#include "lcm/bootstate.h"
#include "tests/unit/check.h"
#include "lib/util.h"

#define TARGET "dpu/dse-lab/vdpu-2"

struct lab {
    char root[64];
    char dev[128];
    char src[128];
    char b1[128], b2[128];
};

static void
write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        abort();
    fputs(text, f);
    fclose(f);
}

static void
make_bundle(struct lab *l, const char *out, const char *version, const char *content)
{
    char path[256], err[BUNDLE_ERR_LEN];
    snprintf(path, sizeof path, "%s/bin", l->src);
    fs_mkdir_p(path, 0755);
    snprintf(path, sizeof path, "%s/bin/dse-dpud", l->src);
    write_file(path, content);
    snprintf(path, sizeof path, "%s/VERSION", l->src);
    write_file(path, version);
    struct bundle_source src = {.target = TARGET, .dir = l->src};
    struct bundle_spec spec = {.name = "dse",
                               .version = version,
                               .build = "0",
                               .created = "2026-11-25T00:00:00Z",
                               .sources = &src,
                               .n_sources = 1};
    int rc = bundle_build(&spec, out, NULL, err, sizeof err);
    if (rc)
        fprintf(stderr, "bundle_build: %s\n", err);
    ASSERT_EQ(rc, 0);
}

static void
lab_init(struct lab *l)
{
    snprintf(l->root, sizeof l->root, "/tmp/test-bank.XXXXXX");
    if (!mkdtemp(l->root))
        abort();
    snprintf(l->dev, sizeof l->dev, "%s/h1-dpu1", l->root);
    snprintf(l->src, sizeof l->src, "%s/src", l->root);
    snprintf(l->b1, sizeof l->b1, "%s/one.dsebundle", l->root);
    snprintf(l->b2, sizeof l->b2, "%s/two.dsebundle", l->root);
    fs_mkdir_p(l->dev, 0755);
    make_bundle(l, l->b1, "1.0", "dpud one\n");
    make_bundle(l, l->b2, "2.0", "dpud two, longer\n");
}

static void
lab_fini(struct lab *l)
{
    ASSERT_EQ(fs_remove_at(AT_FDCWD, l->root), 0);
}

static struct bundle *
open_bundle(const char *path)
{
    struct bundle *b = NULL;
    char err[BUNDLE_ERR_LEN];
    if (bundle_open(path, NULL, NULL, &b, err, sizeof err) < 0) {
        fprintf(stderr, "bundle_open: %s\n", err);
        abort();
    }
    return b;
}

static void
install(struct lab *l, const char *bundle, bool fresh)
{
    char err[BUNDLE_ERR_LEN];
    struct bundle *b = open_bundle(bundle);
    if (fresh) {
        ASSERT_EQ(bank_install_fresh(l->dev, b, TARGET, err, sizeof err), 0);
    } else {
        ASSERT_EQ(bank_stage(l->dev, b, TARGET, err, sizeof err), 0);
        ASSERT_EQ(bank_commit(l->dev, err, sizeof err), 0);
    }
    bundle_close(b);
}

static char *
read_all(const char *path, size_t *len)
{
    char *s = fs_read_file(path, 1 << 20, len);
    if (!s)
        abort();
    return s;
}

static void
fresh_install_verifies_and_damage_is_caught(void)
{
    struct lab l;
    lab_init(&l);
    install(&l, l.b1, true);
    char err[BANK_ERR_LEN], path[256];
    struct bank_info info;
    ASSERT_EQ(bank_read(l.dev, 'A', &info), 0);
    ASSERT_STREQ(info.version, "1.0");
    ASSERT_STREQ(info.target, TARGET);
    ASSERT_EQ(bank_read(l.dev, 'B', &info), -ENOENT);
    ASSERT_EQ(bank_verify(l.dev, 'A', err, sizeof err), 0);
    struct bootstate st;
    ASSERT_EQ(bootstate_load(l.dev, &st, err, sizeof err), 0);
    ASSERT_EQ(st.active, 'A');
    ASSERT_EQ(st.pending, 0);
    /* A second factory install is refused. */
    struct bundle *b = open_bundle(l.b1);
    ASSERT_EQ(bank_install_fresh(l.dev, b, TARGET, err, sizeof err), -EEXIST);
    bundle_close(b);

    /* One byte changed, a file grown, an extra file, a symlink, a file gone. */
    snprintf(path, sizeof path, "%s/banks/A/root/bin/dse-dpud", l.dev);
    size_t len;
    char *orig = read_all(path, &len);
    write_file(path, "dpud ONE\n");
    ASSERT_EQ(bank_verify(l.dev, 'A', err, sizeof err), -EBADMSG);
    ASSERT_TRUE(strstr(err, "SHA-256 mismatch") != NULL);
    write_file(path, "dpud one\nand more\n");
    ASSERT_EQ(bank_verify(l.dev, 'A', err, sizeof err), -EBADMSG);
    write_file(path, orig);
    ASSERT_EQ(bank_verify(l.dev, 'A', err, sizeof err), 0);
    char extra[256];
    snprintf(extra, sizeof extra, "%s/banks/A/root/bin/implant", l.dev);
    write_file(extra, "x");
    ASSERT_EQ(bank_verify(l.dev, 'A', err, sizeof err), -EBADMSG);
    ASSERT_TRUE(strstr(err, "holds 3 files") != NULL);
    unlink(extra);
    ASSERT_EQ(symlink("/etc/passwd", extra), 0);
    ASSERT_EQ(bank_verify(l.dev, 'A', err, sizeof err), -EBADMSG);
    ASSERT_TRUE(strstr(err, "not a regular file") != NULL);
    unlink(extra);
    unlink(path);
    ASSERT_EQ(bank_verify(l.dev, 'A', err, sizeof err), -EBADMSG);
    write_file(path, orig);
    chmod(path, 0755);
    free(orig);
    ASSERT_EQ(bank_verify(l.dev, 'B', err, sizeof err), -ENOENT);
    lab_fini(&l);
}

static void
install_commits_into_the_alternate_bank(void)
{
    struct lab l;
    lab_init(&l);
    install(&l, l.b1, true);
    install(&l, l.b2, false);
    char err[BANK_ERR_LEN];
    struct bootstate st;
    struct bank_info info;
    ASSERT_EQ(bootstate_load(l.dev, &st, err, sizeof err), 0);
    ASSERT_EQ(st.active, 'A');
    ASSERT_EQ(st.pending, 'B');
    ASSERT_EQ(bank_read(l.dev, 'B', &info), 0);
    ASSERT_STREQ(info.version, "2.0");
    ASSERT_EQ(bank_verify(l.dev, 'B', err, sizeof err), 0);
    ASSERT_EQ(bank_verify(l.dev, 'A', err, sizeof err), 0); /* untouched */
    ASSERT_EQ(bank_finish(l.dev, err, sizeof err), 0);
    char path[256];
    snprintf(path, sizeof path, "%s/banks/.prev-state", l.dev);
    ASSERT_TRUE(access(path, F_OK) < 0);
    /* bank_status tells both banks apart. */
    json_t *j = bank_status(l.dev);
    ASSERT_STREQ(json_string_value(json_object_get(j, "pending")), "B");
    ASSERT_STREQ(json_string_value(
                     json_object_get(json_object_get(json_object_get(j, "banks"), "A"), "version")),
                 "1.0");
    json_decref(j);
    lab_fini(&l);
}

static void
undo_puts_everything_back(void)
{
    struct lab l;
    lab_init(&l);
    install(&l, l.b1, true);
    install(&l, l.b2, false);
    char err[BANK_ERR_LEN], state[256];
    ASSERT_EQ(bank_finish(l.dev, err, sizeof err), 0);
    /* Now: A 1.0 active, B 2.0 pending.  Install 2.0 again over B, undo. */
    snprintf(state, sizeof state, "%s/boot/state", l.dev);
    size_t len0, len1;
    char *before = read_all(state, &len0);
    struct bundle *b = open_bundle(l.b1);
    ASSERT_EQ(bank_stage(l.dev, b, TARGET, err, sizeof err), 0);
    bundle_close(b);
    ASSERT_EQ(bank_commit(l.dev, err, sizeof err), 0);
    struct bank_info info;
    ASSERT_EQ(bank_read(l.dev, 'B', &info), 0);
    ASSERT_STREQ(info.version, "1.0");
    ASSERT_EQ(bank_undo(l.dev, err, sizeof err), 0);
    ASSERT_EQ(bank_read(l.dev, 'B', &info), 0);
    ASSERT_STREQ(info.version, "2.0");
    ASSERT_EQ(bank_verify(l.dev, 'B', err, sizeof err), 0);
    char *after = read_all(state, &len1);
    ASSERT_EQ(len0, len1);
    ASSERT_TRUE(memcmp(before, after, len0) == 0);
    free(before);
    free(after);
    /* An undo with nothing committed does nothing. */
    ASSERT_EQ(bank_undo(l.dev, err, sizeof err), 0);
    ASSERT_EQ(bank_read(l.dev, 'B', &info), 0);
    lab_fini(&l);
}

static void
refused_component_writes_nothing(void)
{
    struct lab l;
    lab_init(&l);
    install(&l, l.b1, true);
    char err[BANK_ERR_LEN], path[256];
    struct bundle *b = open_bundle(l.b2);
    ASSERT_EQ(bank_stage(l.dev, b, "dpu/other/model", err, sizeof err), -ENOENT);
    ASSERT_TRUE(strstr(err, "no component") != NULL);
    bundle_close(b);
    snprintf(path, sizeof path, "%s/banks/.staging", l.dev);
    ASSERT_TRUE(access(path, F_OK) < 0);
    ASSERT_EQ(bank_commit(l.dev, err, sizeof err), -ENOENT); /* nothing staged */
    struct bootstate st;
    ASSERT_EQ(bootstate_load(l.dev, &st, err, sizeof err), 0);
    ASSERT_EQ(st.pending, 0);
    lab_fini(&l);
}

TEST_MAIN(TEST(fresh_install_verifies_and_damage_is_caught),
          TEST(install_commits_into_the_alternate_bank), TEST(undo_puts_everything_back),
          TEST(refused_component_writes_nothing))
