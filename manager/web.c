/* SPDX-License-Identifier: Apache-2.0 */
/* web: the manager's web page as static files (web.h). */
#include "manager/web.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/util.h"

static const struct {
    const char *ext, *type;
} types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".map", "application/json"},
    {".json", "application/json"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".txt", "text/plain; charset=utf-8"},
};

static const char *const vendors[] = {"chart.js", "bootstrap5"};

static const char *
type_of(const char *path)
{
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < ARRAY_SIZE(types); i++)
        if (!strcmp(dot, types[i].ext))
            return types[i].type;
    return "application/octet-stream";
}

bool
web_path_is_safe(const char *path)
{
    size_t len = strlen(path);
    if (path[0] != '/' || len > WEB_PATH_MAX)
        return false;
    for (const char *seg = path + 1;; seg += strcspn(seg, "/") + 1) {
        size_t n = strcspn(seg, "/");
        if (n == 0 || seg[0] == '.')
            return false;
        for (size_t i = 0; i < n; i++)
            if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-",
                        seg[i]))
                return false;
        if (!seg[n])
            return true;
    }
}

static void
text(struct web_file *out, int status, const char *msg)
{
    out->status = status;
    out->type = "text/plain; charset=utf-8";
    out->len = strlen(msg);
    out->data = strdup(msg);
    if (!out->data)
        out->len = 0;
}

/* File 'file' (checked) into 'out'. */
static void
serve(const char *file, struct web_file *out)
{
    struct stat st;
    int fd = open(file, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        return text(out, 404, "not found\n");
    }
    char *data = st.st_size <= WEB_FILE_MAX ? malloc((size_t)st.st_size + 1) : NULL;
    size_t got = 0;
    while (data && got < (size_t)st.st_size) {
        ssize_t r = read(fd, data + got, (size_t)st.st_size - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    if (!data || got != (size_t)st.st_size) {
        free(data);
        return text(out, 500, "cannot read the file\n");
    }
    *out = (struct web_file){.status = 200, .type = type_of(file), .data = data, .len = got};
}

void
web_get(const struct web_dirs *dirs, const char *path, struct web_file *out)
{
    static const char vendor[] = "/vendor/";
    char file[4096 + WEB_PATH_MAX];
    int n_file;
    *out = (struct web_file){0};
    if (!path || !strcmp(path, "/"))
        path = "/index.html";
    if (!web_path_is_safe(path))
        return text(out, 404, "not found\n");
    if (!strncmp(path, vendor, sizeof vendor - 1)) {
        const char *lib = path + sizeof vendor - 1;
        size_t n = strcspn(lib, "/");
        bool known = false;
        for (size_t i = 0; i < ARRAY_SIZE(vendors); i++)
            known |= strlen(vendors[i]) == n && !strncmp(lib, vendors[i], n) && lib[n] == '/';
        if (!known || !dirs->js)
            return text(out, 404, "not found\n");
        n_file = snprintf(file, sizeof file, "%s/%s", dirs->js, lib);
    } else {
        if (!dirs->web)
            return text(out, 404, "not found\n");
        n_file = snprintf(file, sizeof file, "%s%s", dirs->web, path);
    }
    if (n_file < 0 || (size_t)n_file >= sizeof file)
        return text(out, 404, "not found\n");
    serve(file, out);
}
