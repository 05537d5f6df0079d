/* SPDX-License-Identifier: Apache-2.0 */
/* manifest: parsing, validation and canonical emission of manifest.json. */
#include "lcm/manifest.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lcm/lcm-private.h"
#include "lib/util.h"

#define Q(s, b) lcm_quote((s), (b), sizeof(b))

/* ---- syntax of the fields ---------------------------------------------- */

static bool
path_char_ok(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-' || c == '+' || c == '@';
}

bool
manifest_path_is_valid(const char *path)
{
    size_t len = strnlen(path, MANIFEST_MAX_PATH + 1);
    if (len == 0 || len > MANIFEST_MAX_PATH)
        return false;
    unsigned depth = 0;
    for (const char *p = path; *p;) {
        size_t n = 0;
        while (p[n] && p[n] != '/') {
            if (!path_char_ok((unsigned char)p[n]))
                return false;
            n++;
        }
        /* An empty component covers "/x", "x//y" and "x/". */
        if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && !strncmp(p, "..", 2)))
            return false;
        if (++depth > MANIFEST_MAX_DEPTH)
            return false;
        p += n;
        if (*p == '/' && !*++p)
            return false;
    }
    return true;
}

bool
manifest_target_is_valid(const char *target)
{
    char buf[MANIFEST_MAX_TARGET + 1];
    if (strnlen(target, sizeof buf) >= sizeof buf)
        return false;
    strcpy(buf, target);
    /* Split at every '/' (strtok_r would merge "a//b" into two parts). */
    char *parts[3];
    size_t n = 0;
    for (char *p = buf; p; n++) {
        if (n == 3)
            return false;
        parts[n] = p;
        p = strchr(p, '/');
        if (p)
            *p++ = '\0';
    }
    for (size_t i = 1; i < n; i++)
        if (!name_is_valid(parts[i], 32))
            return false;
    return (n == 2 && !strcmp(parts[0], "host")) || (n == 3 && !strcmp(parts[0], "dpu"));
}

/* Parses one part of a version at '*s': "0" or 1 to 9 digits without a
 * leading zero. */
static bool
version_part(const char **s, unsigned long *out)
{
    const char *p = *s;
    unsigned long v = 0;
    size_t n = 0;
    while (p[n] >= '0' && p[n] <= '9') {
        if (n == 9)
            return false;
        v = v * 10 + (unsigned long)(p[n] - '0');
        n++;
    }
    if (n == 0 || (n > 1 && p[0] == '0'))
        return false;
    *s = p + n;
    *out = v;
    return true;
}

/* Splits 'v' into its parts; returns their count or 0 when invalid. */
static size_t
version_split(const char *v, unsigned long parts[static 8])
{
    size_t n = 0;
    for (;;) {
        if (n == 8 || !version_part(&v, &parts[n]))
            return 0;
        n++;
        if (!*v)
            return n;
        if (*v++ != '.')
            return 0;
    }
}

bool
manifest_version_is_valid(const char *v)
{
    unsigned long parts[8];
    return strlen(v) <= MANIFEST_MAX_VERSION && version_split(v, parts) > 0;
}

int
manifest_version_cmp(const char *a, const char *b)
{
    unsigned long pa[8], pb[8];
    size_t na = version_split(a, pa), nb = version_split(b, pb);
    if (!na || !nb)
        return (na != 0) - (nb != 0);
    for (size_t i = 0; i < 8 && (i < na || i < nb); i++) {
        unsigned long x = i < na ? pa[i] : 0, y = i < nb ? pb[i] : 0;
        if (x != y)
            return x < y ? -1 : 1;
    }
    return 0;
}

static bool
build_is_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > MANIFEST_MAX_BUILD)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!path_char_ok((unsigned char)s[i]))
            return false;
    return true;
}

/* "YYYY-MM-DDTHH:MM:SSZ", UTC. */
static bool
created_is_valid(const char *s)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
    if (strlen(s) != sizeof shape - 1)
        return false;
    for (size_t i = 0; shape[i]; i++)
        if (shape[i] == 'd' ? s[i] < '0' || s[i] > '9' : s[i] != shape[i])
            return false;
    int mon = atoi(s + 5), day = atoi(s + 8), hour = atoi(s + 11), min = atoi(s + 14),
        sec = atoi(s + 17);
    return mon >= 1 && mon <= 12 && day >= 1 && day <= 31 && hour < 24 && min < 60 && sec <= 60;
}

/* ---- building ---------------------------------------------------------- */

struct manifest *
manifest_create(const char *name, const char *version, const char *build, const char *created)
{
    struct manifest *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->format = MANIFEST_FORMAT;
    m->name = strdup(name);
    m->version = strdup(version);
    m->build = strdup(build);
    m->created = strdup(created);
    if (!m->name || !m->version || !m->build || !m->created) {
        manifest_destroy(m);
        return NULL;
    }
    return m;
}

struct manifest_component *
manifest_add_component(struct manifest *m, const char *target)
{
    struct manifest_component *cs = realloc(m->components, (m->n_components + 1) * sizeof *cs);
    if (!cs)
        return NULL;
    m->components = cs;
    struct manifest_component *c = &cs[m->n_components];
    memset(c, 0, sizeof *c);
    c->target = strdup(target);
    if (!c->target)
        return NULL;
    m->n_components++;
    return c;
}

int
manifest_add_file(struct manifest *m, struct manifest_component *c, const char *path, uint64_t size,
                  unsigned mode, const uint8_t sha256[static 32])
{
    struct manifest_file *fs = realloc(c->files, (c->n_files + 1) * sizeof *fs);
    if (!fs)
        return -ENOMEM;
    c->files = fs;
    struct manifest_file *f = &fs[c->n_files];
    f->path = strdup(path);
    if (!f->path)
        return -ENOMEM;
    f->size = size;
    f->mode = mode;
    memcpy(f->sha256, sha256, 32);
    c->n_files++;
    c->total_size += size;
    m->total_size += size;
    m->n_files++;
    return 0;
}

void
manifest_destroy(struct manifest *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n_components; i++) {
        struct manifest_component *c = &m->components[i];
        for (size_t j = 0; j < c->n_files; j++)
            free(c->files[j].path);
        free(c->files);
        free(c->target);
    }
    free(m->components);
    free(m->name);
    free(m->version);
    free(m->build);
    free(m->created);
    free(m);
}

/* ---- sorting and lookups ----------------------------------------------- */

static int
component_cmp(const void *a, const void *b)
{
    const struct manifest_component *x = a, *y = b;
    return strcmp(x->target, y->target);
}

static int
file_cmp(const void *a, const void *b)
{
    const struct manifest_file *x = a, *y = b;
    return strcmp(x->path, y->path);
}

static void
manifest_sort(struct manifest *m)
{
    if (m->n_components > 1)
        qsort(m->components, m->n_components, sizeof *m->components, component_cmp);
    for (size_t i = 0; i < m->n_components; i++) {
        struct manifest_component *c = &m->components[i];
        if (c->n_files > 1)
            qsort(c->files, c->n_files, sizeof *c->files, file_cmp);
    }
}

const struct manifest_component *
manifest_find_component(const struct manifest *m, const char *target)
{
    struct manifest_component key = {.target = (char *)target};
    return bsearch(&key, m->components, m->n_components, sizeof key, component_cmp);
}

/* Compares the first 'len' bytes of 'key' (a string of that length) with 's',
 * in strcmp() order. */
static int
cmp_n(const char *key, size_t len, const char *s)
{
    int r = strncmp(key, s, len);
    if (r)
        return r;
    return s[len] ? -1 : 0;
}

static const struct manifest_file *
find_file_n(const struct manifest_component *c, const char *path, size_t len)
{
    size_t lo = 0, hi = c->n_files;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = cmp_n(path, len, c->files[mid].path);
        if (r == 0)
            return &c->files[mid];
        if (r < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

const struct manifest_file *
manifest_find_file(const struct manifest_component *c, const char *path)
{
    return find_file_n(c, path, strlen(path));
}

/* ---- parsing ----------------------------------------------------------- */

/* Refuses a key of 'obj' that is not in 'keys' (NULL-terminated). */
static bool
only_keys(json_t *obj, const char *const *keys, const char *what, char *err, size_t err_len)
{
    const char *k;
    json_t *v;
    json_object_foreach (obj, k, v) {
        size_t i = 0;
        while (keys[i] && strcmp(keys[i], k))
            i++;
        if (!keys[i]) {
            char q[LCM_QUOTE_LEN];
            return lcm_fail(err, err_len, "%s: unknown key '%s'", what, Q(k, q));
        }
    }
    return true;
}

/* Gets string member 'key' of 'obj': present, a string, no NUL inside. */
static const char *
get_string(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
        return NULL;
    return json_string_value(v);
}

static bool
parse_mode(const char *s, unsigned *mode)
{
    if (strlen(s) != 4 || s[0] != '0')
        return false;
    unsigned v = 0;
    for (int i = 1; i < 4; i++) {
        if (s[i] < '0' || s[i] > '7')
            return false;
        v = v * 8 + (unsigned)(s[i] - '0');
    }
    *mode = v;
    return true;
}

static bool
parse_sha256(const char *s, uint8_t out[static 32])
{
    return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64 && hex_parse(s, out, 32);
}

static bool
parse_file(json_t *jf, struct manifest *m, struct manifest_component *c, char *err, size_t err_len)
{
    static const char *const keys[] = {"path", "size", "mode", "sha256", NULL};
    char what[MANIFEST_MAX_TARGET + 32], q[LCM_QUOTE_LEN];
    snprintf(what, sizeof what, "component %s: file %zu", c->target, c->n_files + 1);
    if (!json_is_object(jf))
        return lcm_fail(err, err_len, "%s: not an object", what);
    if (!only_keys(jf, keys, what, err, err_len))
        return false;
    const char *path = get_string(jf, "path"), *mode_s = get_string(jf, "mode"),
               *hex = get_string(jf, "sha256");
    json_t *jsize = json_object_get(jf, "size");
    if (!path || !mode_s || !hex || !jsize)
        return lcm_fail(err, err_len, "%s: missing or mistyped path, size, mode or sha256", what);
    if (!manifest_path_is_valid(path))
        return lcm_fail(err, err_len, "%s: bad path '%s'", what, Q(path, q));
    if (!json_is_integer(jsize) || json_integer_value(jsize) < 0 ||
        (uint64_t)json_integer_value(jsize) > MANIFEST_MAX_FILE_SIZE)
        return lcm_fail(err, err_len, "%s: size not an integer in [0, %llu]", what,
                        (unsigned long long)MANIFEST_MAX_FILE_SIZE);
    unsigned mode;
    if (!parse_mode(mode_s, &mode))
        return lcm_fail(err, err_len, "%s: mode '%s' is not 0000 to 0777", what, Q(mode_s, q));
    uint8_t sha[32];
    if (!parse_sha256(hex, sha))
        return lcm_fail(err, err_len, "%s: sha256 is not 64 lowercase hex digits", what);
    if (manifest_add_file(m, c, path, (uint64_t)json_integer_value(jsize), mode, sha) < 0)
        return lcm_fail(err, err_len, "out of memory");
    return true;
}

/* Once sorted: no path twice, and no path that is also another's directory. */
static bool
check_paths(const struct manifest_component *c, char *err, size_t err_len)
{
    char q[LCM_QUOTE_LEN];
    for (size_t i = 0; i < c->n_files; i++) {
        const char *p = c->files[i].path;
        if (i > 0 && !strcmp(p, c->files[i - 1].path))
            return lcm_fail(err, err_len, "component %s: path '%s' twice", c->target, Q(p, q));
        for (const char *s = strchr(p, '/'); s; s = strchr(s + 1, '/'))
            if (find_file_n(c, p, (size_t)(s - p)))
                return lcm_fail(err, err_len, "component %s: '%.*s' is both a file and a directory",
                                c->target, (int)(s - p), p);
    }
    return true;
}

static bool
parse_component(json_t *jc, struct manifest *m, size_t idx, char *err, size_t err_len)
{
    static const char *const keys[] = {"target", "files", NULL};
    char what[32], q[LCM_QUOTE_LEN];
    snprintf(what, sizeof what, "component %zu", idx + 1);
    if (!json_is_object(jc))
        return lcm_fail(err, err_len, "%s: not an object", what);
    if (!only_keys(jc, keys, what, err, err_len))
        return false;
    const char *target = get_string(jc, "target");
    json_t *files = json_object_get(jc, "files");
    if (!target || !json_is_array(files))
        return lcm_fail(err, err_len, "%s: missing or mistyped target or files", what);
    if (!manifest_target_is_valid(target))
        return lcm_fail(err, err_len, "%s: bad target '%s' (host/ARCH or dpu/VENDOR/MODEL)", what,
                        Q(target, q));
    if (json_array_size(files) == 0 || json_array_size(files) > MANIFEST_MAX_FILES)
        return lcm_fail(err, err_len, "component %s: 1 to %d files", target, MANIFEST_MAX_FILES);
    struct manifest_component *c = manifest_add_component(m, target);
    if (!c)
        return lcm_fail(err, err_len, "out of memory");
    size_t i;
    json_t *jf;
    json_array_foreach (files, i, jf) {
        if (!parse_file(jf, m, c, err, err_len))
            return false;
    }
    return true;
}

static bool
parse_header(json_t *root, struct manifest **out, char *err, size_t err_len)
{
    static const char *const keys[] = {"format",  "name",       "version", "build",
                                       "created", "components", NULL};
    char q[LCM_QUOTE_LEN];
    if (!json_is_object(root))
        return lcm_fail(err, err_len, "manifest is not a JSON object");
    json_t *fmt = json_object_get(root, "format");
    if (!json_is_integer(fmt))
        return lcm_fail(err, err_len, "missing or mistyped format");
    if (json_integer_value(fmt) != MANIFEST_FORMAT)
        return lcm_fail(err, err_len, "unknown manifest format %lld (this reads %d)",
                        (long long)json_integer_value(fmt), MANIFEST_FORMAT);
    if (!only_keys(root, keys, "manifest", err, err_len))
        return false;
    const char *name = get_string(root, "name"), *version = get_string(root, "version"),
               *build = get_string(root, "build"), *created = get_string(root, "created");
    if (!name || !version || !build || !created)
        return lcm_fail(err, err_len, "missing or mistyped name, version, build or created");
    if (!name_is_valid(name, MANIFEST_MAX_NAME))
        return lcm_fail(err, err_len, "bad name '%s'", Q(name, q));
    if (!manifest_version_is_valid(version))
        return lcm_fail(err, err_len, "bad version '%s' (dotted numbers)", Q(version, q));
    if (!build_is_valid(build))
        return lcm_fail(err, err_len, "bad build '%s'", Q(build, q));
    if (!created_is_valid(created))
        return lcm_fail(err, err_len, "bad created '%s' (YYYY-MM-DDTHH:MM:SSZ)", Q(created, q));
    *out = manifest_create(name, version, build, created);
    return *out ? true : lcm_fail(err, err_len, "out of memory");
}

static bool
parse_root(json_t *root, struct manifest **out, char *err, size_t err_len)
{
    struct manifest *m = NULL;
    if (!parse_header(root, &m, err, err_len))
        return false;
    json_t *comps = json_object_get(root, "components"), *jc;
    if (!json_is_array(comps) || json_array_size(comps) == 0 ||
        json_array_size(comps) > MANIFEST_MAX_COMPONENTS) {
        lcm_fail(err, err_len, "components: an array of 1 to %d", MANIFEST_MAX_COMPONENTS);
        goto err_free;
    }
    size_t i;
    json_array_foreach (comps, i, jc) {
        if (!parse_component(jc, m, i, err, err_len))
            goto err_free;
    }
    manifest_sort(m);
    for (i = 0; i < m->n_components; i++) {
        if (i > 0 && !strcmp(m->components[i].target, m->components[i - 1].target)) {
            lcm_fail(err, err_len, "target %s twice", m->components[i].target);
            goto err_free;
        }
        if (!check_paths(&m->components[i], err, err_len))
            goto err_free;
    }
    if (m->total_size > MANIFEST_MAX_TOTAL_SIZE) {
        lcm_fail(err, err_len, "files total %llu bytes, more than %llu",
                 (unsigned long long)m->total_size, (unsigned long long)MANIFEST_MAX_TOTAL_SIZE);
        goto err_free;
    }
    *out = m;
    return true;

err_free:
    manifest_destroy(m);
    return false;
}

bool
manifest_parse(const char *data, size_t len, struct manifest **out, char *err, size_t err_len)
{
    *out = NULL;
    if (len > MANIFEST_MAX_LEN)
        return lcm_fail(err, err_len, "manifest is %zu bytes, more than %d", len, MANIFEST_MAX_LEN);
    json_error_t jerr;
    json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        char q[LCM_QUOTE_LEN];
        return lcm_fail(err, err_len, "manifest is not JSON: line %d: %s", jerr.line,
                        Q(jerr.text, q));
    }
    bool ok = parse_root(root, out, err, err_len);
    json_decref(root);
    return ok;
}

/* ---- canonical emission ------------------------------------------------ */

/* The 'n' elements of 'base' ('size' bytes each) as a JSON array, each by
 * 'emit', in the order 'cmp' (over pointers to elements) gives, without
 * moving them.  NULL on ENOMEM. */
static json_t *
emit_sorted(const void *base, size_t n, size_t size, int (*cmp)(const void *, const void *),
            json_t *(*emit)(const void *))
{
    const void **sorted = malloc((n ? n : 1) * sizeof *sorted);
    json_t *array = sorted ? json_array() : NULL;
    for (size_t i = 0; array && i < n; i++)
        sorted[i] = (const char *)base + i * size;
    if (array)
        qsort(sorted, n, sizeof *sorted, cmp);
    for (size_t i = 0; array && i < n; i++) {
        if (json_array_append_new(array, emit(sorted[i])) < 0) {
            json_decref(array);
            array = NULL;
        }
    }
    free(sorted);
    return array;
}

static int
file_ptr_cmp(const void *a, const void *b)
{
    return file_cmp(*(const void *const *)a, *(const void *const *)b);
}

static int
component_ptr_cmp(const void *a, const void *b)
{
    return component_cmp(*(const void *const *)a, *(const void *const *)b);
}

static json_t *
emit_file(const void *p)
{
    const struct manifest_file *f = p;
    char hex[65], mode[8];
    hex_format(f->sha256, 32, hex);
    snprintf(mode, sizeof mode, "%04o", f->mode & 0777);
    return json_pack("{s:s, s:I, s:s, s:s}", "path", f->path, "size", (json_int_t)f->size, "mode",
                     mode, "sha256", hex);
}

static json_t *
emit_component(const void *p)
{
    const struct manifest_component *c = p;
    json_t *files = emit_sorted(c->files, c->n_files, sizeof *c->files, file_ptr_cmp, emit_file);
    return files ? json_pack("{s:s, s:o}", "target", c->target, "files", files) : NULL;
}

char *
manifest_emit(const struct manifest *m, size_t *len)
{
    json_t *comps = emit_sorted(m->components, m->n_components, sizeof *m->components,
                                component_ptr_cmp, emit_component);
    json_t *root = comps ? json_pack("{s:i, s:s, s:s, s:s, s:s, s:o}", "format", m->format, "name",
                                     m->name, "version", m->version, "build", m->build, "created",
                                     m->created, "components", comps)
                         : NULL;
    char *s = root ? json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(root);
    if (!s) {
        errno = root ? ENOMEM : EINVAL;
        return NULL;
    }
    *len = strlen(s);
    return s;
}
