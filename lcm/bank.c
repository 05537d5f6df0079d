/* SPDX-License-Identifier: Apache-2.0 */
/* bank: A/B banks, early-boot verification and the install steps (bank.h). */
#include "lcm/bank.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lcm/boot.h"
#include "lcm/bootstate.h"
#include "lib/fault.h"
#include "lcm/lcm-private.h"
#include "lcm/manifest.h"
#include "lcm/sha256.h"
#include "lib/util.h"

#define PATH_LEN 4096

static int
path_of(char *buf, const char *devdir, const char *what)
{
    int n = snprintf(buf, PATH_LEN, "%s/banks/%s", devdir, what);
    return n < 0 || n >= PATH_LEN ? -ENAMETOOLONG : 0;
}

static int
bank_dir(char *buf, const char *devdir, char bank)
{
    char name[2] = {bank, '\0'};
    return path_of(buf, devdir, name);
}

int
bank_root(const char *devdir, char bank, char *buf, size_t len)
{
    int n = snprintf(buf, len, "%s/banks/%c/root", devdir, bank);
    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static void
fsync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

int
bank_read(const char *devdir, char bank, struct bank_info *out)
{
    char dir[PATH_LEN], path[PATH_LEN + 16];
    int rc = bank_dir(dir, devdir, bank);
    if (rc < 0)
        return rc;
    snprintf(path, sizeof path, "%s/bank.json", dir);
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    if (!j)
        return access(path, F_OK) == 0 ? -EBADMSG : -ENOENT;
    memset(out, 0, sizeof *out);
    const char *target = json_string_value(json_object_get(j, "target"));
    const char *version = json_string_value(json_object_get(j, "version"));
    const char *name = json_string_value(json_object_get(j, "name"));
    const char *build = json_string_value(json_object_get(j, "build"));
    const char *installed = json_string_value(json_object_get(j, "installed"));
    rc = target && version && name && build && installed ? 0 : -EBADMSG;
    if (rc == 0) {
        snprintf(out->target, sizeof out->target, "%s", target);
        snprintf(out->version, sizeof out->version, "%s", version);
        snprintf(out->name, sizeof out->name, "%s", name);
        snprintf(out->build, sizeof out->build, "%s", build);
        snprintf(out->installed, sizeof out->installed, "%s", installed);
        out->is_signed = json_is_true(json_object_get(j, "signed"));
    }
    json_decref(j);
    return rc;
}

/* ---- verification ---- */

static int
hash_file(int dirfd, const char *path, uint64_t size, const uint8_t want[SHA256_LEN], char *err,
          size_t err_len)
{
    int fd = openat(dirfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return lcm_error(err, err_len, -EBADMSG, "%s: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || (uint64_t)sb.st_size != size) {
        close(fd);
        return lcm_error(err, err_len, -EBADMSG, "%s: not the file the manifest lists", path);
    }
    uint8_t md[SHA256_LEN];
    uint64_t got;
    int rc = sha256_fd(fd, md, &got, NULL, NULL);
    close(fd);
    if (rc < 0)
        return lcm_error(err, err_len, rc, "%s: %s", path, strerror(-rc));
    if (got != size || memcmp(md, want, SHA256_LEN))
        return lcm_error(err, err_len, -EBADMSG, "%s: SHA-256 mismatch", path);
    return 0;
}

/* Counting the files of a bank's root/, one directory. */
struct count {
    const char *at; /* the directory's path, for messages */
    int depth;
    long n;
    char *err;
    size_t err_len;
};

static long count_files(int dirfd, const char *at, int depth, char *err, size_t err_len);

/* fs_dir_each()'s callback: one entry; anything but a regular file or a
 * directory is refused. */
static int
count_one(int dirfd, const char *name, void *aux)
{
    struct count *c = aux;
    struct stat sb;
    char sub[PATH_LEN];
    snprintf(sub, sizeof sub, "%s/%s", c->at, name);
    if (fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
        return lcm_error(c->err, c->err_len, -EBADMSG, "%s: %s", sub, strerror(errno));
    if (S_ISREG(sb.st_mode)) {
        c->n++;
        return 0;
    }
    if (!S_ISDIR(sb.st_mode))
        return lcm_error(c->err, c->err_len, -EBADMSG, "%s: not a regular file", sub);
    int sfd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sfd < 0)
        return lcm_error(c->err, c->err_len, -EBADMSG, "%s: %s", sub, strerror(errno));
    long m = count_files(sfd, sub, c->depth + 1, c->err, c->err_len);
    close(sfd);
    if (m < 0)
        return (int)m;
    c->n += m;
    return 0;
}

/* Counts the regular files under 'dirfd' and refuses anything else but
 * directories.  Returns the count or -EBADMSG. */
static long
count_files(int dirfd, const char *at, int depth, char *err, size_t err_len)
{
    if (depth > MANIFEST_MAX_DEPTH)
        return lcm_error(err, err_len, -EBADMSG, "%s: too deep", at);
    struct count c = {.at = at, .depth = depth, .err = err, .err_len = err_len};
    int rc = fs_dir_each(dirfd, count_one, &c);
    if (rc == -EBADMSG)
        return rc;
    if (rc < 0)
        return lcm_error(err, err_len, -EBADMSG, "%s: %s", at, strerror(-rc));
    return c.n;
}

/* Loads bank 'bank''s manifest and finds its component. */
static int
load_manifest(const char *dir, const struct bank_info *info, struct manifest **m,
              const struct manifest_component **c, char *err, size_t err_len)
{
    char path[PATH_LEN + 16], why[MANIFEST_ERR_LEN];
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    size_t len;
    char *text = fs_read_file(path, MANIFEST_MAX_LEN, &len);
    if (!text)
        return lcm_error(err, err_len, -EBADMSG, "manifest.json: %s", strerror(errno));
    bool ok = manifest_parse(text, len, m, why, sizeof why);
    free(text);
    if (!ok)
        return lcm_error(err, err_len, -EBADMSG, "manifest.json: %s", why);
    if (!(*c = manifest_find_component(*m, info->target))) {
        manifest_destroy(*m);
        return lcm_error(err, err_len, -EBADMSG, "manifest.json has no %s", info->target);
    }
    return 0;
}

int
bank_verify(const char *devdir, char bank, char *err, size_t err_len)
{
    struct bank_info info;
    char dir[PATH_LEN], root[PATH_LEN + 8];
    int rc = bank_dir(dir, devdir, bank);
    if (rc == 0 && (rc = bank_read(devdir, bank, &info)) < 0)
        return lcm_error(err, err_len, rc, "bank %c: %s", bank,
                         rc == -ENOENT ? "empty" : "unreadable bank.json");
    if (rc < 0)
        return lcm_error(err, err_len, rc, "bank %c: %s", bank, strerror(-rc));
    struct manifest *m;
    const struct manifest_component *c;
    if ((rc = load_manifest(dir, &info, &m, &c, err, err_len)) < 0)
        return rc;
    snprintf(root, sizeof root, "%s/root", dir);
    int rfd = open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (rfd < 0)
        rc = lcm_error(err, err_len, -EBADMSG, "root/: %s", strerror(errno));
    for (size_t i = 0; rc == 0 && i < c->n_files; i++)
        rc = hash_file(rfd, c->files[i].path, c->files[i].size, c->files[i].sha256, err, err_len);
    if (rc == 0) {
        long n = count_files(rfd, "root", 0, err, err_len);
        if (n >= 0 && (size_t)n != c->n_files)
            rc = lcm_error(err, err_len, -EBADMSG, "root/ holds %ld files, the manifest %zu", n,
                           c->n_files);
        else if (n < 0)
            rc = (int)n;
    }
    if (rfd >= 0)
        close(rfd);
    manifest_destroy(m);
    return rc;
}

/* ---- removing ---- */

/* rm -rf DEVDIR/banks/WHAT (never following a symlink). */
static int
remove_in_banks(const char *devdir, const char *what)
{
    char dir[PATH_LEN];
    int rc = path_of(dir, devdir, "");
    if (rc < 0)
        return rc;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -errno;
    rc = fs_remove_at(fd, what);
    close(fd);
    return rc;
}

void
bank_discard_staging(const char *devdir)
{
    remove_in_banks(devdir, ".staging");
}

/* ---- staging ---- */

static void
utc_now(char buf[32])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Writes bank.json and manifest.json next to 'dir''s root/. */
static int
write_metadata(const char *dir, struct bundle *b, const char *target, char *err, size_t err_len)
{
    const struct manifest *m = bundle_manifest(b);
    char path[PATH_LEN + 16], when[32];
    utc_now(when);
    json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:b,s:s}", "target", target, "name", m->name, "version",
                          m->version, "build", m->build, "signed", bundle_is_verified(b),
                          "installed", when);
    char *text = j ? json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
    json_decref(j);
    snprintf(path, sizeof path, "%s/bank.json", dir);
    int rc = text ? fs_write_atomic(path, text, strlen(text)) : -ENOMEM;
    free(text);
    if (rc == 0) { /* the manifest in canonical form */
        size_t len;
        char *raw = manifest_emit(m, &len);
        snprintf(path, sizeof path, "%s/manifest.json", dir);
        rc = raw ? fs_write_atomic(path, raw, len) : -ENOMEM;
        free(raw);
    }
    return rc < 0 ? lcm_error(err, err_len, rc, "bank metadata: %s", strerror(-rc)) : 0;
}

int
bank_space_check(const char *devdir, uint64_t extra, uint64_t need, char *err, size_t err_len)
{
    return fs_space_check(devdir, extra + need + need / 10 + (1 << 20), err, err_len);
}

/* Free space for 'target' in 'devdir''s file system. */
static int
check_space(const char *devdir, struct bundle *b, const char *target, char *err, size_t err_len)
{
    uint64_t need;
    if (bundle_space_needed(b, target, &need) < 0)
        return lcm_error(err, err_len, -ENOENT, "the image has no component for %s", target);
    return bank_space_check(devdir, 0, need, err, err_len);
}

static int
stage_into(const char *devdir, const char *name, struct bundle *b, const char *target, char *err,
           size_t err_len)
{
    char banks[PATH_LEN], dir[PATH_LEN], root[PATH_LEN + 8];
    int rc = path_of(banks, devdir, "");
    if (rc == 0)
        rc = path_of(dir, devdir, name);
    if (rc < 0)
        return lcm_error(err, err_len, rc, "%s: %s", devdir, strerror(-rc));
    if ((rc = check_space(devdir, b, target, err, err_len)) < 0)
        return rc;
    if ((rc = fs_mkdir_p(banks, 0755)) < 0 || (rc = remove_in_banks(devdir, name)) < 0 ||
        (mkdir(dir, 0755) < 0 && (rc = -errno)))
        return lcm_error(err, err_len, rc, "%s: %s", dir, strerror(-rc));
    fault_point("bank.stage.begin");
    snprintf(root, sizeof root, "%s/root", dir);
    if ((rc = bundle_extract(b, target, root, err, err_len)) < 0)
        goto fail;
    fault_point("bank.stage.extracted");
    if ((rc = write_metadata(dir, b, target, err, err_len)) < 0)
        goto fail;
    fsync_dir(dir);
    fsync_dir(banks);
    return 0;
fail:
    remove_in_banks(devdir, name);
    return rc;
}

int
bank_stage(const char *devdir, struct bundle *b, const char *target, char *err, size_t err_len)
{
    return stage_into(devdir, ".staging", b, target, err, err_len);
}

int
bank_install_fresh(const char *devdir, struct bundle *b, const char *target, char *err,
                   size_t err_len)
{
    struct bootstate st;
    char why[256];
    if (bootstate_load(devdir, &st, why, sizeof why) != -ENOENT)
        return lcm_error(err, err_len, -EEXIST, "%s is installed already (it has a boot state)",
                         devdir);
    int rc = stage_into(devdir, "A", b, target, err, err_len);
    if (rc == 0)
        remove_in_banks(devdir, "B");
    bootstate_init(&st);
    if (rc == 0 && (rc = bootstate_save(devdir, &st)) < 0)
        lcm_error(err, err_len, rc, "boot state: %s", strerror(-rc));
    return rc;
}

/* ---- commit, finish, undo ---- */

/* The alternate bank: the one a commit writes. */
static int
alternate(const char *devdir, char *bank, struct bootstate *st, char *err, size_t err_len)
{
    char why[256];
    int rc = bootstate_load(devdir, st, why, sizeof why);
    if (rc == -ENOENT)
        bootstate_init(st);
    else if (rc < 0)
        return lcm_error(err, err_len, rc, "%s", why);
    *bank = bootstate_other(st->active);
    return 0;
}

int
bank_commit(const char *devdir, char *err, size_t err_len)
{
    struct bootstate st;
    char bank = 0, banks[PATH_LEN], staging[PATH_LEN], dir[PATH_LEN], prev[PATH_LEN], name[8];
    char state[PATH_LEN + 16], saved[PATH_LEN];
    int rc = alternate(devdir, &bank, &st, err, err_len);
    if (rc < 0)
        return rc;
    snprintf(name, sizeof name, ".prev-%c", bank);
    if ((rc = path_of(banks, devdir, "")) < 0 || (rc = path_of(staging, devdir, ".staging")) < 0 ||
        (rc = bank_dir(dir, devdir, bank)) < 0 || (rc = path_of(prev, devdir, name)) < 0 ||
        (rc = path_of(saved, devdir, ".prev-state")) < 0)
        return lcm_error(err, err_len, rc, "%s: %s", devdir, strerror(-rc));
    if (access(staging, F_OK) < 0)
        return lcm_error(err, err_len, -ENOENT, "nothing staged");
    /* The boot state as it was, for an undo. */
    snprintf(state, sizeof state, "%s/boot/state", devdir);
    size_t len = 0;
    char *old = fs_read_file(state, BOOTSTATE_MAX_LEN + 1, &len);
    rc = old ? fs_write_atomic(saved, old, len) : errno == ENOENT ? 0 : -errno;
    free(old);
    if (rc < 0)
        return lcm_error(err, err_len, rc, "saving the boot state: %s", strerror(-rc));
    remove_in_banks(devdir, name);
    fault_point("bank.commit.saved");
    if (rename(dir, prev) < 0 && errno != ENOENT)
        return lcm_error(err, err_len, -errno, "%s: %s", dir, strerror(errno));
    fault_point("bank.commit.moved");
    if (rename(staging, dir) < 0)
        return lcm_error(err, err_len, -errno, "%s: %s", staging, strerror(errno));
    fsync_dir(banks);
    fault_point("bank.commit.swapped");
    st.pending = bank;
    st.attempts = 0;
    if ((rc = bootstate_save(devdir, &st)) < 0)
        return lcm_error(err, err_len, rc, "boot state: %s", strerror(-rc));
    fault_point("bank.commit.pending");
    return 0;
}

int
bank_finish(const char *devdir, char *err, size_t err_len)
{
    remove_in_banks(devdir, ".prev-A");
    remove_in_banks(devdir, ".prev-B");
    remove_in_banks(devdir, ".prev-state");
    return 0;
}

int
bank_undo(const char *devdir, char *err, size_t err_len)
{
    char banks[PATH_LEN], saved[PATH_LEN], state[PATH_LEN + 16];
    int rc = path_of(banks, devdir, "");
    if (rc == 0)
        rc = path_of(saved, devdir, ".prev-state");
    if (rc < 0)
        return lcm_error(err, err_len, rc, "%s: %s", devdir, strerror(-rc));
    bank_discard_staging(devdir);
    size_t len;
    char *old = fs_read_file(saved, BOOTSTATE_MAX_LEN + 1, &len);
    if (!old) /* nothing was committed: nothing to undo */
        return 0;
    /* The old boot state first: from here on nothing points at the new bank. */
    snprintf(state, sizeof state, "%s/boot/state", devdir);
    rc = fs_write_atomic(state, old, len);
    free(old);
    if (rc < 0)
        return lcm_error(err, err_len, rc, "boot state: %s", strerror(-rc));
    fault_point("bank.undo.state");
    for (char bank = 'A'; bank <= 'B'; bank++) {
        char dir[PATH_LEN], prev[PATH_LEN], name[8];
        snprintf(name, sizeof name, ".prev-%c", bank);
        if (path_of(prev, devdir, name) < 0 || bank_dir(dir, devdir, bank) < 0 ||
            access(prev, F_OK) < 0)
            continue;
        char what[2] = {bank, '\0'};
        remove_in_banks(devdir, what);
        if (rename(prev, dir) < 0)
            return lcm_error(err, err_len, -errno, "%s: %s", prev, strerror(errno));
    }
    fsync_dir(banks);
    remove_in_banks(devdir, ".prev-state");
    return 0;
}

/* ---- status ---- */

json_t *
bank_status(const char *devdir)
{
    struct bootstate st;
    char why[256];
    int rc = bootstate_load(devdir, &st, why, sizeof why);
    if (rc < 0) /* never written, or unreadable ("state_error"): no half-parsed record */
        bootstate_init(&st);
    json_t *j = bootstate_to_json(&st);
    if (!j)
        return NULL;
    if (rc < 0 && rc != -ENOENT)
        json_object_set_new(j, "state_error", json_string(why));
    json_t *banks = json_object();
    for (char bank = 'A'; bank <= 'B'; bank++) {
        struct bank_info info;
        char key[2] = {bank, '\0'};
        json_object_set_new(banks, key,
                            bank_read(devdir, bank, &info) == 0
                                ? json_pack("{s:s,s:s,s:s,s:s,s:b,s:s}", "target", info.target,
                                            "name", info.name, "version", info.version, "build",
                                            info.build, "signed", info.is_signed, "installed",
                                            info.installed)
                                : json_null());
    }
    json_object_set_new(j, "banks", banks);
    return j;
}

int
bank_boot_version(void *aux, const struct boot_dev *d, char bank, char *out, size_t len)
{
    struct bank_info info;
    int rc = bank_read(d->dir, bank, &info);
    if (rc == 0)
        snprintf(out, len, "%s", info.version);
    return rc;
}

int
bank_request_rollback(const char *devdir, char *err, size_t err_len)
{
    struct boot_hooks h = {.version = bank_boot_version};
    struct boot_dev d = {.name = devdir, .dir = devdir};
    return boot_request_rollback(devdir, &h, &d, err, err_len);
}

int
bank_boot_verify(void *aux, const struct boot_dev *d, char bank, char *why, size_t len)
{
    return bank_verify(d->dir, bank, why, len);
}

int
bank_running_version(const char *devdir, char *buf, size_t len)
{
    struct bootstate st;
    struct bank_info info;
    char why[256];
    if (bootstate_load(devdir, &st, why, sizeof why) < 0)
        return -ENOENT;
    char bank = st.booted ? st.booted : st.active;
    if (bank_read(devdir, bank, &info) < 0)
        return -ENOENT;
    snprintf(buf, len, "%s", info.version);
    return 0;
}
