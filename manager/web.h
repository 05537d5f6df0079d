/* SPDX-License-Identifier: Apache-2.0 */
/*
 * web: the manager's web page, as static files.  A GET of a path that is not
 * the API's goes here:
 *
 *     /                         WEB_DIR/index.html
 *     /FILE, /DIR/FILE          WEB_DIR/FILE ... (app.js, app.css)
 *     /vendor/chart.js/FILE     JS_DIR/chart.js/FILE     (Debian: libjs-chart.js)
 *     /vendor/bootstrap5/FILE   JS_DIR/bootstrap5/FILE   (Debian: libjs-bootstrap5)
 *
 * The page holds no secret: it needs no login (it logs in through the API,
 * whose every call but login needs a token).
 *
 * Design: the path is checked before the file system sees it: segments of
 * [A-Za-z0-9._-] that do not begin with a dot (so no "..", no hidden file,
 * no percent-encoding, no empty segment), at most WEB_PATH_MAX bytes; then
 * only a regular file of at most WEB_FILE_MAX bytes is served (links inside
 * the directories are followed: Debian's JS_DIR is links into its
 * packages).  The type comes from the extension.
 *
 * Thread-safety: reentrant.
 */
#ifndef DSE_WEB_H
#define DSE_WEB_H

#include <stdbool.h>
#include <stddef.h>

#define WEB_PATH_MAX 256
#define WEB_FILE_MAX (8 * 1024 * 1024)

struct web_dirs {
    const char *web; /* the page's files */
    const char *js;  /* the vendor libraries' (Debian's /usr/share/javascript) */
};

struct web_file {
    int status;       /* 200, 404 (no such file, or a path refused), 500 */
    const char *type; /* its Content-Type (static) */
    char *data;       /* the body (the caller frees) */
    size_t len;
};

/* The reply to a GET of 'path' (the URL's path, not decoded) from 'dirs'.
 * This function can't fail: every failure is a status, with a one-line
 * text/plain body. */
void web_get(const struct web_dirs *dirs, const char *path, struct web_file *out);

/* Whether 'path' is one that web_get() may open (the rules above).  Can't
 * fail. */
bool web_path_is_safe(const char *path);

#endif
