/* SPDX-License-Identifier: Apache-2.0 */
#include "tests/unit/check.h"
#include "tests/unit/loop-thread.h"
#include "lib/ctl.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static int
cmd_echo(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    *result = json_pack("{s:O, s:s}", "args", args, "peer", ctx->peer);
    return 0;
}

static const struct cmd_def defs[] = {
    {.name = "echo", .usage = "[ARGS]", .fn = cmd_echo},
};

/* A server on its own event loop thread, stopped by a flag that a timer polls
 * (no libevent_pthreads needed). */
struct fixture {
    char dir[64];
    char path[128];
    struct loop_thread lt;
    struct cmdtab *tab;
    struct ctl_server *server;
};

static bool
fixture_start(struct fixture *f)
{
    memset(f, 0, sizeof *f);
    signal(SIGPIPE, SIG_IGN);
    strcpy(f->dir, "/tmp/dse-test-ctl-XXXXXX");
    if (!mkdtemp(f->dir))
        return false;
    snprintf(f->path, sizeof f->path, "%s/ctl.sock", f->dir);
    if (!loop_thread_init(&f->lt))
        return false;
    f->tab = cmdtab_create(defs, 1, NULL);
    f->server = ctl_server_create(f->lt.base, f->path, f->tab);
    if (!f->server)
        return false;
    return loop_thread_start(&f->lt);
}

static void
fixture_stop(struct fixture *f)
{
    loop_thread_stop(&f->lt);
    ctl_server_destroy(f->server);
    loop_thread_fini(&f->lt);
    cmdtab_destroy(f->tab);
    rmdir(f->dir);
}

static void
call_round_trips(void)
{
    struct fixture f;
    ASSERT_TRUE(fixture_start(&f));

    struct stat st;
    ASSERT_EQ(stat(f.path, &st), 0);
    ASSERT_EQ(st.st_mode & 0777, 0600);

    json_t *args = json_pack("{s:s}", "port", "vmnic0");
    json_t *reply = NULL;
    int rc = ctl_call(f.path, "echo", args, 2000, &reply);
    json_decref(args);
    ASSERT_EQ(rc, 0);
    json_t *res = json_object_get(reply, "result");
    ASSERT_TRUE(json_is_true(json_object_get(reply, "ok")));
    ASSERT_STREQ(json_string_value(json_object_get(json_object_get(res, "args"), "port")),
                 "vmnic0");
    ASSERT_STREQ(json_string_value(json_object_get(res, "peer")), "unix");
    json_decref(reply);

    rc = ctl_call(f.path, "nope", NULL, 2000, &reply);
    ASSERT_EQ(rc, 0);
    ASSERT_STREQ(json_string_value(json_object_get(reply, "code")), "unknown-command");
    json_decref(reply);

    fixture_stop(&f);
    ASSERT_EQ(access(f.path, F_OK), -1); /* unlinked on destroy */
}

static int
raw_connect(const char *path)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof sun) < 0) {
        close(fd);
        return -1;
    }
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

/* Reads until 'n_lines' newlines or EOF; returns bytes read. */
static size_t
read_lines(int fd, char *buf, size_t cap, int n_lines)
{
    size_t len = 0;
    while (len < cap - 1) {
        ssize_t n = recv(fd, buf + len, cap - 1 - len, 0);
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n; i++)
            n_lines -= buf[len + i] == '\n';
        len += n;
        if (n_lines <= 0)
            break;
    }
    buf[len] = '\0';
    return len;
}

static void
two_requests_on_one_connection(void)
{
    struct fixture f;
    ASSERT_TRUE(fixture_start(&f));
    int fd = raw_connect(f.path);
    ASSERT_GE(fd, 0);
    const char *reqs = "{\"cmd\":\"echo\",\"args\":{\"n\":1}}\n"
                       "\n"
                       "{\"cmd\":\"echo\",\"args\":{\"n\":2}}\r\n";
    ASSERT_EQ(send(fd, reqs, strlen(reqs), 0), (ssize_t)strlen(reqs));
    char buf[1024];
    read_lines(fd, buf, sizeof buf, 2);
    char *nl = strchr(buf, '\n');
    ASSERT_NOT_NULL(nl);
    *nl = '\0';
    ASSERT_STREQ(buf, "{\"ok\":true,\"result\":{\"args\":{\"n\":1},\"peer\":\"unix\"}}");
    ASSERT_STREQ(nl + 1, "{\"ok\":true,\"result\":{\"args\":{\"n\":2},\"peer\":\"unix\"}}\n");

    /* Still open: a bad request gets an answer, not a hang-up. */
    ASSERT_EQ(send(fd, "nonsense\n", 9, 0), 9);
    read_lines(fd, buf, sizeof buf, 1);
    ASSERT_TRUE(strstr(buf, "\"code\":\"bad-request\"") != NULL);
    close(fd);
    fixture_stop(&f);
}

static void
oversize_request_is_refused_and_closed(void)
{
    struct fixture f;
    ASSERT_TRUE(fixture_start(&f));
    int fd = raw_connect(f.path);
    ASSERT_GE(fd, 0);
    size_t len = CTL_MAX_REQUEST + 4096;
    char *big = malloc(len);
    memset(big, 'x', len);
    size_t sent = 0;
    while (sent < len) {
        ssize_t n = send(fd, big + sent, len - sent, MSG_NOSIGNAL);
        if (n <= 0)
            break; /* the server may close before taking it all */
        sent += n;
    }
    free(big);
    ASSERT_GT(sent, (size_t)CTL_MAX_REQUEST);
    char buf[1024];
    read_lines(fd, buf, sizeof buf, 1);
    ASSERT_TRUE(strstr(buf, "\"code\":\"bad-request\"") != NULL);
    /* Then EOF, or ECONNRESET since the server left our excess unread. */
    ASSERT_LE(recv(fd, buf, sizeof buf, 0), 0);
    close(fd);
    fixture_stop(&f);
}

static void
call_without_daemon_fails(void)
{
    json_t *reply = (json_t *)1;
    int rc = ctl_call("/tmp/dse-test-ctl-does-not-exist.sock", "echo", NULL, 500, &reply);
    ASSERT_TRUE(rc == -ENOENT || rc == -ECONNREFUSED);
    ASSERT_NULL(reply);

    /* A stale socket file (nobody listening) is refused, then replaced. */
    char dir[] = "/tmp/dse-test-ctl-XXXXXX";
    ASSERT_NOT_NULL(mkdtemp(dir));
    char path[100];
    snprintf(path, sizeof path, "%s/stale.sock", dir);
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    ASSERT_EQ(bind(fd, (struct sockaddr *)&sun, sizeof sun), 0);
    close(fd);
    ASSERT_EQ(ctl_call(path, "echo", NULL, 500, &reply), -ECONNREFUSED);

    struct event_base *base = event_base_new();
    struct cmdtab *tab = cmdtab_create(defs, 1, NULL);
    struct ctl_server *server = ctl_server_create(base, path, tab);
    ASSERT_NOT_NULL(server);
    /* A second server on a live socket is refused. */
    struct ctl_server *twice = ctl_server_create(base, path, tab);
    ASSERT_NULL(twice);
    ASSERT_EQ(errno, EADDRINUSE);
    ctl_server_destroy(server);
    cmdtab_destroy(tab);
    event_base_free(base);
    rmdir(dir);
}

TEST_MAIN(TEST(call_round_trips), TEST(two_requests_on_one_connection),
          TEST(oversize_request_is_refused_and_closed), TEST(call_without_daemon_fails))
