/* SPDX-License-Identifier: Apache-2.0 */
/*
 * install-check: what an install checks before it writes anything
 * (install.h): the image, opened with the device's trust anchor and verified
 * whole in one read, its components and version, and the set of DPUs the
 * last install knew.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lcm/bundle.h"
#include "lcm/install.h"
#include "lcm/manifest.h"
#include "lcm/sign.h"
#include "lib/util.h"

/* ---- the image --------------------------------------------------------- */

int
install_trust_anchor(const char *devdir, struct sign_key **key, char *err, size_t err_len)
{
    char path[INSTALL_PATH_MAX + 32], why[ERR_LEN];
    snprintf(path, sizeof path, "%s/certs/bundle.pub", devdir);
    int rc = sign_key_load_public(path, key, why, sizeof why);
    return rc < 0 ? err_set(err, err_len, rc, "the trust anchor: %s", why) : 0;
}

int
install_image_open(struct install_image *img, const char *devdir, const char *path,
                   const char *keep, char *err, size_t err_len)
{
    char why[BUNDLE_ERR_LEN];
    uint8_t sha[SHA256_LEN];
    struct sign_key *key = NULL;
    memset(img, 0, sizeof *img);
    if (snprintf(img->path, sizeof img->path, "%s", path) >= (int)sizeof img->path)
        return err_set(err, err_len, -ENAMETOOLONG, "refused: %s: name too long", path);
    int rc = install_trust_anchor(devdir, &key, err, err_len);
    if (rc < 0)
        return rc;
    if ((rc = bundle_open(path, key, NULL, &img->bundle, why, sizeof why)) < 0 ||
        (rc = bundle_verify_keep(img->bundle, keep, sha, &img->size, why, sizeof why)) < 0) {
        err_set(err, err_len, rc, "refused: %s", why);
        install_image_close(img);
    } else {
        hex_format(sha, SHA256_LEN, img->sha256);
    }
    sign_key_destroy(key);
    return rc;
}

void
install_image_close(struct install_image *img)
{
    bundle_close(img->bundle);
    img->bundle = NULL;
}

int
install_image_has(const struct install_image *img, const char *target, const char *device,
                  char *err, size_t err_len)
{
    if (manifest_find_component(bundle_manifest(img->bundle), target))
        return 0;
    return err_set(err, err_len, -ENOEXEC, "refused: the image has no component for %s (%s)",
                   target, device);
}

int
install_image_newer(const struct install_image *img, const char *running, char *err, size_t err_len)
{
    const char *v = bundle_manifest(img->bundle)->version;
    if (manifest_version_cmp(v, running) > 0)
        return 0;
    return err_set(err, err_len, -ENOEXEC,
                   "refused: %s is not newer than the running %s (install it with `software "
                   "install`)",
                   v, running);
}

/* ---- the DPUs of the last install -------------------------------------- */

static const char *
str_of(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "?";
}

/* What differs between the set 'old' and 'set', by name and serial, into
 * 'what' (empty: nothing). */
static void
dpus_diff(json_t *old, json_t *set, char *what, size_t len)
{
    what[0] = '\0';
    for (size_t i = 0; i < json_array_size(set) && !what[0]; i++) {
        json_t *n = json_array_get(set, i);
        bool found = false;
        for (size_t j = 0; j < json_array_size(old); j++) {
            json_t *o = json_array_get(old, j);
            found |= !strcmp(str_of(o, "name"), str_of(n, "name")) &&
                     !strcmp(str_of(o, "serial"), str_of(n, "serial"));
        }
        if (!found)
            snprintf(what, len, "%s added", str_of(n, "name"));
    }
    if (!what[0] && json_array_size(old) != json_array_size(set))
        snprintf(what, len, "%zu DPUs then, %zu now", json_array_size(old), json_array_size(set));
}

int
install_dpus_check(const char *dir, json_t *set, char *err, size_t err_len)
{
    char path[INSTALL_PATH_MAX + 32], what[256];
    snprintf(path, sizeof path, "%s/software.json", dir);
    json_error_t je;
    json_t *rec = json_load_file(path, 0, &je);
    if (!rec)
        return 0; /* the first install on this host */
    dpus_diff(json_object_get(rec, "dpus"), set, what, sizeof what);
    json_decref(rec);
    if (what[0])
        return err_set(
            err, err_len, -ENOEXEC,
            "refused: the host's DPUs changed since the last install (%s): install host and "
            "all DPUs fresh (--fresh)",
            what);
    return 0;
}

int
install_dpus_record(const char *dir, const char *version, json_t *set)
{
    char path[INSTALL_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/software.json", dir);
    json_t *j = json_pack("{s:s,s:O}", "version", version, "dpus", set);
    char *s = j ? json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
    json_decref(j);
    int rc = s ? fs_write_atomic(path, s, strlen(s)) : -ENOMEM;
    free(s);
    return rc;
}
