/* SPDX-License-Identifier: Apache-2.0 */
/*
 * web (manager/web.h): the manager's static files from a scratch directory:
 * / is index.html, types by extension, the two vendor libraries and no
 * other, and every way out of the directories refused (dot segments,
 * percent-encoding, empty segments, hidden files, what is not a regular
 * file).
 */
#include "tests/unit/check.h"
#include "lib/util.h"
#include "manager/web.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static void
paths_that_could_leave_the_directory_are_refused(void)
{
    static const char *const good[] = {"/index.html", "/app.js", "/img/a-b_c.png",
                                       "/vendor/chart.js/chart.min.js"};
    static const char *const bad[] = {
        "",      "index.html", "/",        "/..",        "/../etc/passwd", "/a/../b", "/./a",
        "/a//b", "/a/",        "/.hidden", "/%2e%2e/x",  "/a%2fb",         "/a b",    "/a\\b",
        "/a?b",  "/\xc3\xa9",  "/a/.b",    "/vendor/..", "/a:b",
    };
    for (size_t i = 0; i < ARRAY_SIZE(good); i++)
        ASSERT_TRUE(web_path_is_safe(good[i]));
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        if (web_path_is_safe(bad[i]))
            fprintf(stderr, "accepted: %s\n", bad[i]);
        ASSERT_FALSE(web_path_is_safe(bad[i]));
    }
    char longer[WEB_PATH_MAX + 2];
    memset(longer, 'a', sizeof longer - 1);
    longer[0] = '/';
    longer[sizeof longer - 1] = '\0';
    ASSERT_FALSE(web_path_is_safe(longer));
}

static bool
put(const char *dir, const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return fs_write_atomic(path, text, strlen(text)) == 0;
}

static int
get(const struct web_dirs *d, const char *path, const char **type, char *body, size_t len)
{
    struct web_file f;
    web_get(d, path, &f);
    if (type)
        *type = f.type;
    if (body)
        snprintf(body, len, "%.*s", (int)f.len, f.data ? f.data : "");
    free(f.data);
    return f.status;
}

static void
files_are_served_with_their_type(void)
{
    char dir[] = "/tmp/dse-test-web-XXXXXX", web[64], js[64], sub[96], body[64];
    ASSERT_NOT_NULL(mkdtemp(dir));
    snprintf(web, sizeof web, "%s/web", dir);
    snprintf(js, sizeof js, "%s/js", dir);
    snprintf(sub, sizeof sub, "%s/chart.js", js);
    ASSERT_EQ(fs_mkdir_p(web, 0755), 0);
    ASSERT_EQ(fs_mkdir_p(sub, 0755), 0);
    ASSERT_TRUE(put(web, "index.html", "<!doctype html>"));
    ASSERT_TRUE(put(web, "app.js", "go()"));
    ASSERT_TRUE(put(web, "app.css", "body{}"));
    ASSERT_TRUE(put(dir, "secret", "s3cret"));
    ASSERT_TRUE(put(sub, "chart.min.js", "Chart"));
    snprintf(sub, sizeof sub, "%s/other", js);
    ASSERT_EQ(fs_mkdir_p(sub, 0755), 0);
    ASSERT_TRUE(put(sub, "x.js", "other"));
    snprintf(sub, sizeof sub, "%s/dir.js", web);
    ASSERT_EQ(fs_mkdir_p(sub, 0755), 0);
    snprintf(sub, sizeof sub, "%s/fifo.js", web);
    ASSERT_EQ(mkfifo(sub, 0600), 0);
    struct web_dirs d = {.web = web, .js = js};
    const char *type = NULL;
    ASSERT_EQ(get(&d, "/", &type, body, sizeof body), 200);
    ASSERT_STREQ(body, "<!doctype html>");
    ASSERT_STREQ(type, "text/html; charset=utf-8");
    ASSERT_EQ(get(&d, "/app.js", &type, body, sizeof body), 200);
    ASSERT_STREQ(type, "text/javascript; charset=utf-8");
    ASSERT_EQ(get(&d, "/app.css", &type, NULL, 0), 200);
    ASSERT_STREQ(type, "text/css; charset=utf-8");
    ASSERT_EQ(get(&d, "/vendor/chart.js/chart.min.js", &type, body, sizeof body), 200);
    ASSERT_STREQ(body, "Chart");
    ASSERT_EQ(get(&d, "/vendor/other/x.js", NULL, NULL, 0), 404); /* not a library of ours */
    ASSERT_EQ(get(&d, "/vendor/chart.js", NULL, NULL, 0), 404);
    ASSERT_EQ(get(&d, "/../secret", &type, body, sizeof body), 404);
    ASSERT_STREQ(type, "text/plain; charset=utf-8");
    ASSERT_STREQ(body, "not found\n");
    ASSERT_EQ(get(&d, "/%2e%2e/secret", NULL, NULL, 0), 404);
    ASSERT_EQ(get(&d, "/nothing.html", NULL, NULL, 0), 404);
    ASSERT_EQ(get(&d, "/dir.js", NULL, NULL, 0), 404);  /* a directory */
    ASSERT_EQ(get(&d, "/fifo.js", NULL, NULL, 0), 404); /* not a regular file: never blocks */
    struct web_dirs none = {0};
    ASSERT_EQ(get(&none, "/", NULL, NULL, 0), 404);
    ASSERT_EQ(fs_remove_at(AT_FDCWD, dir), 0);
}

TEST_MAIN(TEST(paths_that_could_leave_the_directory_are_refused),
          TEST(files_are_served_with_their_type))
