/* SPDX-License-Identifier: Apache-2.0 */
/* notify: webhooks and commands, retried, on a thread of their own (notify.h). */
#include "monitor/notify.h"
#include "monitor/notify-private.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/util.h"

#define TRY_TIMEOUT_MS 5000
#define COMMAND_TIMEOUT_MS 10000
#define URL_MAX NOTIFY_URL_MAX
#define TARGETS_MAX 16
#define ARGS_MAX 16
#define ARG_MAX_LEN 256

extern char **environ;

enum kind { WEBHOOK, COMMAND };

struct delivery {
    enum kind kind;
    char *target;
    char **argv; /* for commands: NULL-terminated, argv[0] the target */
    char *body;  /* the notification, JSON */
    char **env;  /* for commands: NULL-terminated "KEY=VALUE" additions */
    unsigned tries;
    uint64_t next_ms;
    struct delivery *next;
};

struct target {
    enum kind kind;
    char *target;
    char **argv; /* for commands: NULL-terminated, argv[0] the target */
};

struct notifier {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    bool stop;
    struct delivery *queue; /* in arrival order */
    unsigned queued;
    struct target targets[TARGETS_MAX];
    unsigned n_targets;
    uint64_t sent, retries, failed, dropped;
    notify_failed_fn failed_fn;
    void *aux;
};

static void
strv_free(char **v)
{
    for (char **p = v; p && *p; p++)
        free(*p);
    free(v);
}

/* A NULL-terminated copy of 'v', or NULL on ENOMEM. */
static char **
strv_dup(char *const *v)
{
    size_t n = 0;
    while (v[n])
        n++;
    char **c = calloc(n + 1, sizeof *c);
    for (size_t i = 0; c && i < n; i++) {
        if (!(c[i] = strdup(v[i]))) {
            strv_free(c);
            return NULL;
        }
    }
    return c;
}

static void
delivery_free(struct delivery *d)
{
    if (!d)
        return;
    free(d->target);
    strv_free(d->argv);
    free(d->body);
    for (char **e = d->env; e && *e; e++)
        free(*e);
    free(d->env);
    free(d);
}

/* ---- webhook ---- */

/* A host that the request's Host header can carry as it is: no space,
 * control character, slash or bracket, and in brackets an IPv6 address. */
static bool
host_is_valid(const char *host, size_t len, bool in_brackets)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)host[i] <= ' ' || host[i] == 0x7f || strchr("/[]", host[i]))
            return false;
    return !in_brackets || memchr(host, ':', len);
}

bool
notify_url_parse(const char *s, struct notify_url *u)
{
    if (strncmp(s, "http://", 7) || strlen(s) >= URL_MAX)
        return false;
    s += 7;
    const char *host = s, *end;
    bool in_brackets = *s == '[';
    if (in_brackets) {
        end = strchr(s, ']');
        if (!end)
            return false;
        host = s + 1;
        s = end + 1;
    } else {
        end = s + strcspn(s, ":/");
        s = end;
    }
    size_t hlen = (size_t)(end - host);
    if (!hlen || hlen >= sizeof u->host || !host_is_valid(host, hlen, in_brackets))
        return false;
    memcpy(u->host, host, hlen);
    u->host[hlen] = '\0';
    snprintf(u->port, sizeof u->port, "80");
    if (*s == ':') {
        long port;
        char buf[8];
        size_t plen = strcspn(s + 1, "/");
        if (!plen || plen >= sizeof buf)
            return false;
        memcpy(buf, s + 1, plen);
        buf[plen] = '\0';
        if (!parse_long(buf, 1, 65535, &port))
            return false;
        snprintf(u->port, sizeof u->port, "%ld", port);
        s += 1 + plen;
    }
    if (*s && *s != '/')
        return false;
    snprintf(u->path, sizeof u->path, "%s", *s ? s : "/");
    for (const char *p = u->path; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return false;
    return true;
}

int
notify_reply_status(const char *resp, int *status)
{
    *status = 0;
    if (sscanf(resp, "HTTP/1.%*d %d", status) != 1 || *status < 200 || *status > 299)
        return -EPROTO;
    return 0;
}

static int
connect_to(const struct notify_url *u, uint64_t deadline, char *why, size_t len)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    int rc = getaddrinfo(u->host, u->port, &hints, &res);
    if (rc) {
        snprintf(why, len, "%.100s: %s", u->host, gai_strerror(rc));
        return -EHOSTUNREACH;
    }
    int fd = -1;
    for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
            continue;
        int err = 0;
        socklen_t l = sizeof err;
        if (connect(fd, a->ai_addr, a->ai_addrlen) < 0 &&
            (errno != EINPROGRESS || fd_wait(fd, POLLOUT, deadline) < 0 ||
             getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l) < 0 || err)) {
            snprintf(why, len, "connect to %.100s:%s: %s", u->host, u->port,
                     strerror(err     ? err
                              : errno ? errno
                                      : ETIMEDOUT));
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    return fd < 0 ? -ECONNREFUSED : fd;
}

static int
send_all(int fd, const char *buf, size_t len, uint64_t deadline)
{
    while (len) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n > 0) {
            buf += n;
            len -= (size_t)n;
        } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
            return -errno;
        } else if (fd_wait(fd, POLLOUT, deadline) < 0) {
            return -ETIMEDOUT;
        }
    }
    return 0;
}

static int
webhook(const char *target, const char *body, char *why, size_t len)
{
    struct notify_url u;
    if (!notify_url_parse(target, &u)) {
        snprintf(why, len, "not an http:// URL");
        return -EINVAL;
    }
    uint64_t deadline = now_ms() + TRY_TIMEOUT_MS;
    int fd = connect_to(&u, deadline, why, len);
    if (fd < 0)
        return fd;
    char *req = NULL;
    bool v6 = strchr(u.host, ':') != NULL;
    int n = asprintf(&req,
                     "POST %s HTTP/1.1\r\nHost: %s%s%s:%s\r\nUser-Agent: dse-hostd\r\n"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n%s",
                     u.path, v6 ? "[" : "", u.host, v6 ? "]" : "", u.port, strlen(body), body);
    int rc = n < 0 ? -ENOMEM : send_all(fd, req, (size_t)n, deadline);
    free(req);
    char resp[64] = "";
    size_t got = 0;
    while (rc == 0 && got < sizeof resp - 1 && !memchr(resp, '\n', got)) {
        ssize_t r = recv(fd, resp + got, sizeof resp - 1 - got, 0);
        if (r > 0)
            got += (size_t)r;
        else if (r == 0)
            break;
        else if (errno != EAGAIN && errno != EINTR)
            rc = -errno;
        else if (fd_wait(fd, POLLIN, deadline) < 0)
            rc = -ETIMEDOUT;
        resp[got] = '\0';
    }
    close(fd);
    int status = 0;
    if (rc == 0)
        rc = notify_reply_status(resp, &status);
    if (rc < 0 && !why[0] && status)
        snprintf(why, len, "HTTP %d", status);
    else if (rc < 0 && !why[0])
        snprintf(why, len, "%s", strerror(-rc));
    return rc;
}

/* ---- command ---- */

/* Runs 'argv' (argv[0] an absolute path) directly, without a shell: no
 * string of a notification target is ever parsed by one. */
static int
command(char *const *argv, const char *body, char *const *extra, char *why, size_t len)
{
    size_t n_env = 0, n_extra = 0;
    while (environ && environ[n_env])
        n_env++;
    while (extra && extra[n_extra])
        n_extra++;
    char **envp = calloc(n_env + n_extra + 1, sizeof *envp);
    int in[2];
    if (!envp || pipe2(in, O_CLOEXEC) < 0) {
        free(envp);
        snprintf(why, len, "cannot start: %s", strerror(errno ? errno : ENOMEM));
        return -ENOMEM;
    }
    memcpy(envp, extra, n_extra * sizeof *envp);
    memcpy(envp + n_extra, environ, n_env * sizeof *envp);
    pid_t pid = fork();
    if (pid == 0) {
        /* Only async-signal-safe calls from here. */
        dup2(in[0], 0);
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) {
            dup2(null, 1);
            dup2(null, 2);
        }
        close_range(3, ~0U, 0);
        execve(argv[0], argv, envp);
        _exit(127);
    }
    free(envp);
    close(in[0]);
    if (pid < 0) {
        close(in[1]);
        snprintf(why, len, "fork: %s", strerror(errno));
        return -errno;
    }
    ssize_t w = write(in[1], body, strlen(body));
    (void)w;
    close(in[1]);
    uint64_t deadline = now_ms() + COMMAND_TIMEOUT_MS;
    int status = 0;
    pid_t r;
    while ((r = waitpid(pid, &status, WNOHANG)) == 0 && now_ms() < deadline)
        usleep(10000);
    if (r == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        snprintf(why, len, "still running after %d s: killed", COMMAND_TIMEOUT_MS / 1000);
        return -ETIMEDOUT;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
        snprintf(why, len, "exit status 127 (%s could not be run?)", argv[0]);
    else if (WIFEXITED(status))
        snprintf(why, len, "exit status %d", WEXITSTATUS(status));
    else
        snprintf(why, len, "killed by signal %d", WTERMSIG(status));
    return -EIO;
}

/* ---- the thread ---- */

static struct delivery *
take_due(struct notifier *n, uint64_t now, uint64_t *wait_ms)
{
    struct delivery **pp = &n->queue, *d;
    *wait_ms = 1000;
    for (; (d = *pp); pp = &d->next) {
        if (d->next_ms <= now) {
            *pp = d->next;
            n->queued--;
            return d;
        }
        *wait_ms = MIN(*wait_ms, d->next_ms - now);
    }
    return NULL;
}

static void
enqueue_locked(struct notifier *n, struct delivery *d)
{
    if (n->queued >= NOTIFY_QUEUE_MAX && n->queue) {
        struct delivery *old = n->queue;
        n->queue = old->next;
        n->queued--;
        n->dropped++;
        delivery_free(old);
    }
    struct delivery **pp = &n->queue;
    while (*pp)
        pp = &(*pp)->next;
    d->next = NULL;
    *pp = d;
    n->queued++;
    pthread_cond_signal(&n->cv);
}

static void *
run(void *arg)
{
    struct notifier *n = arg;
    /* A command that does not read its input: EPIPE, not a dead daemon. */
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, NULL);
    pthread_mutex_lock(&n->mu);
    while (!n->stop) {
        uint64_t wait_ms;
        struct delivery *d = take_due(n, now_ms(), &wait_ms);
        if (!d) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += (time_t)(wait_ms / 1000);
            ts.tv_nsec += (long)(wait_ms % 1000) * 1000000;
            if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&n->cv, &n->mu, &ts);
            continue;
        }
        pthread_mutex_unlock(&n->mu);
        char why[256] = "";
        int rc = d->kind == WEBHOOK ? webhook(d->target, d->body, why, sizeof why)
                                    : command(d->argv, d->body, d->env, why, sizeof why);
        d->tries++;
        bool give_up = rc < 0 && d->tries >= NOTIFY_TRIES;
        if (give_up && n->failed_fn)
            n->failed_fn(n->aux, d->target, why);
        pthread_mutex_lock(&n->mu);
        if (rc == 0) {
            n->sent++;
        } else if (give_up) {
            n->failed++;
        } else {
            n->retries++;
            d->next_ms = now_ms() + (1000ULL << (d->tries - 1));
            enqueue_locked(n, d);
            d = NULL;
        }
        delivery_free(d);
    }
    pthread_mutex_unlock(&n->mu);
    return NULL;
}

struct notifier *
notify_create(notify_failed_fn failed, void *aux)
{
    struct notifier *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    pthread_mutex_init(&n->mu, NULL);
    pthread_cond_init(&n->cv, NULL);
    n->failed_fn = failed;
    n->aux = aux;
    if (pthread_create(&n->thread, NULL, run, n)) {
        free(n);
        return NULL;
    }
    return n;
}

void
notify_destroy(struct notifier *n)
{
    if (!n)
        return;
    pthread_mutex_lock(&n->mu);
    n->stop = true;
    pthread_cond_signal(&n->cv);
    pthread_mutex_unlock(&n->mu);
    pthread_join(n->thread, NULL);
    while (n->queue) {
        struct delivery *d = n->queue;
        n->queue = d->next;
        delivery_free(d);
    }
    for (unsigned i = 0; i < n->n_targets; i++) {
        free(n->targets[i].target);
        strv_free(n->targets[i].argv);
    }
    pthread_mutex_destroy(&n->mu);
    pthread_cond_destroy(&n->cv);
    free(n);
}

/* A command target's arguments: NULL (none) or an array of at most
 * ARGS_MAX strings, each shorter than ARG_MAX_LEN and without NUL. */
static bool
args_check(const json_t *args, char *err, size_t err_len)
{
    size_t i;
    json_t *a;
    if (!args)
        return true;
    if (!json_is_array(args) || json_array_size(args) > ARGS_MAX) {
        snprintf(err, err_len, "command arguments: a list of at most %d strings", ARGS_MAX);
        return false;
    }
    json_array_foreach (args, i, a) {
        if (!json_is_string(a) || json_string_length(a) >= ARG_MAX_LEN ||
            strlen(json_string_value(a)) != json_string_length(a)) {
            snprintf(err, err_len, "command argument %zu: a string of less than %d bytes", i + 1,
                     ARG_MAX_LEN);
            return false;
        }
    }
    return true;
}

bool
notify_target_check(const char *kind, const char *target, const json_t *args, char *err,
                    size_t err_len)
{
    struct notify_url u;
    if (!kind || (strcmp(kind, "webhook") && strcmp(kind, "command"))) {
        snprintf(err, err_len, "a notification goes to a webhook or a command");
        return false;
    }
    if (!target || !*target || strlen(target) >= URL_MAX) {
        snprintf(err, err_len, "%s: empty or longer than %d bytes", kind, URL_MAX - 1);
        return false;
    }
    if (!strcmp(kind, "webhook")) {
        if (!notify_url_parse(target, &u)) {
            err_set(err, err_len, 0, "webhook %s: want http://HOST[:PORT][/PATH]", target);
            return false;
        }
        if (args) {
            err_set(err, err_len, 0, "webhook %s: takes no arguments", target);
            return false;
        }
        return true;
    }
    if (target[0] != '/') {
        err_set(err, err_len, 0,
                "command '%.64s': want the absolute path of a program (its arguments "
                "apart; no shell runs it)",
                target);
        return false;
    }
    return args_check(args, err, err_len);
}

/* argv for a command: 'target', then 'args' (checked).  NULL on ENOMEM. */
static char **
command_argv(const char *target, const json_t *args)
{
    size_t n = json_array_size(args), i;
    char **v = calloc(n + 2, sizeof *v);
    if (!v || !(v[0] = strdup(target))) {
        free(v);
        return NULL;
    }
    json_t *a;
    json_array_foreach (args, i, a) {
        if (!(v[i + 1] = strdup(json_string_value(a)))) {
            strv_free(v);
            return NULL;
        }
    }
    return v;
}

int
notify_set_targets(struct notifier *n, const json_t *targets)
{
    struct target t[TARGETS_MAX];
    size_t i, k = 0;
    json_t *x;
    char why[128];
    int skipped = 0;
    if (!json_is_array(targets) || json_array_size(targets) > TARGETS_MAX)
        return -EINVAL;
    json_array_foreach (targets, i, x) {
        const char *kind = json_string_value(json_object_get(x, "kind"));
        const char *target = json_string_value(json_object_get(x, "target"));
        const json_t *args = json_object_get(x, "args");
        if (!notify_target_check(kind, target, args, why, sizeof why)) {
            skipped++;
            continue;
        }
        t[k].kind = strcmp(kind, "webhook") ? COMMAND : WEBHOOK;
        t[k].target = strdup(target);
        t[k].argv = t[k].kind == COMMAND ? command_argv(target, args) : NULL;
        if (!t[k].target || (t[k].kind == COMMAND && !t[k].argv)) {
            free(t[k].target);
            while (k--) {
                free(t[k].target);
                strv_free(t[k].argv);
            }
            return -ENOMEM;
        }
        k++;
    }
    pthread_mutex_lock(&n->mu);
    for (unsigned j = 0; j < n->n_targets; j++) {
        free(n->targets[j].target);
        strv_free(n->targets[j].argv);
    }
    memcpy(n->targets, t, k * sizeof t[0]);
    n->n_targets = (unsigned)k;
    pthread_mutex_unlock(&n->mu);
    return skipped;
}

/* "KEY=value of the notification's field", for commands. */
static char **
command_env(const json_t *msg)
{
    static const char *const fields[][2] = {
        {"DSE_ALARM_ID", "id"},           {"DSE_ALARM_STATE", "state"},
        {"DSE_ALARM_FROM", "from"},       {"DSE_ALARM_OBJECT", "object"},
        {"DSE_ALARM_MESSAGE", "message"}, {"DSE_EVENT_TYPE", "type"},
    };
    char **env = calloc(ARRAY_SIZE(fields) + 1, sizeof *env);
    size_t k = 0;
    for (size_t i = 0; env && i < ARRAY_SIZE(fields); i++) {
        const char *v = json_string_value(json_object_get(msg, fields[i][1]));
        if (v && asprintf(&env[k], "%s=%s", fields[i][0], v) >= 0)
            k++;
    }
    return env;
}

void
notify_send(struct notifier *n, const json_t *msg)
{
    char *body = json_dumps(msg, JSON_COMPACT);
    pthread_mutex_lock(&n->mu);
    for (unsigned i = 0; i < n->n_targets; i++) {
        struct delivery *d = calloc(1, sizeof *d);
        if (d) {
            d->kind = n->targets[i].kind;
            d->target = strdup(n->targets[i].target);
            d->body = body ? strdup(body) : NULL;
            if (d->kind == COMMAND) {
                d->env = command_env(msg);
                d->argv = strv_dup(n->targets[i].argv);
            }
        }
        if (!d || !d->target || !d->body || (d->kind == COMMAND && (!d->env || !d->argv))) {
            n->dropped++;
            delivery_free(d);
            continue;
        }
        d->next_ms = now_ms();
        enqueue_locked(n, d);
    }
    pthread_mutex_unlock(&n->mu);
    free(body);
}

json_t *
notify_stats(struct notifier *n)
{
    pthread_mutex_lock(&n->mu);
    json_t *j =
        json_pack("{s:I,s:I,s:I,s:I,s:i,s:i}", "sent", (json_int_t)n->sent, "retries",
                  (json_int_t)n->retries, "failed", (json_int_t)n->failed, "dropped",
                  (json_int_t)n->dropped, "queued", (int)n->queued, "targets", (int)n->n_targets);
    pthread_mutex_unlock(&n->mu);
    return j;
}
