/* SPDX-License-Identifier: Apache-2.0 */
/* log: levelled, one-write-per-line logging with rate limiting. */
#include "lib/log.h"
#include "lib/util.h"

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int log_fd = 2;
static enum log_level log_max = LL_INFO;
static char log_prog[32] = "dse";

static const char *const level_names[] = {
    [LL_ERR] = "err",
    [LL_WARN] = "warn",
    [LL_INFO] = "info",
    [LL_DEBUG] = "debug",
};

int
log_init(const char *prog, const char *path, enum log_level level)
{
    log_max = level;
    if (prog)
        snprintf(log_prog, sizeof log_prog, "%s", prog);
    if (!path)
        return 0;
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0)
        return -errno;
    if (log_fd > 2)
        close(log_fd);
    log_fd = fd;
    return 0;
}

bool
log_level_parse(const char *s, enum log_level *level)
{
    for (size_t i = 0; i < sizeof level_names / sizeof level_names[0]; i++) {
        if (!strcmp(s, level_names[i])) {
            *level = (enum log_level)i;
            return true;
        }
    }
    return false;
}

void
log_msg(enum log_level level, const char *module, const char *fmt, ...)
{
    if (level > log_max)
        return;
    int saved_errno = errno;
    char line[1024];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof line,
                     "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s %s: ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     ts.tv_nsec / 1000000, log_prog, level_names[level], module);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - n - 1, fmt, ap);
    va_end(ap);
    size_t len = n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof line - 2)
        len = sizeof line - 2;
    line[len++] = '\n';
    ssize_t w = write(log_fd, line, len);
    (void)w;
    errno = saved_errno;
}

/* Rate limits are rare to consult (only when about to log) and may be shared
 * by threads (a data-plane worker's warnings): one lock serves them all. */
static pthread_mutex_t ratelimit_mu = PTHREAD_MUTEX_INITIALIZER;

bool
log_ratelimit_ok(struct log_ratelimit *rl)
{
    uint64_t now = now_ms();
    unsigned suppressed = 0;
    bool ok = false;
    pthread_mutex_lock(&ratelimit_mu);
    if (now - rl->window_start_ms >= rl->interval_ms) {
        rl->window_start_ms = now;
        rl->n_in_window = 0;
    }
    if (rl->n_in_window < rl->burst) {
        rl->n_in_window++;
        suppressed = rl->n_suppressed;
        rl->n_suppressed = 0;
        ok = true;
    } else {
        rl->n_suppressed++;
    }
    pthread_mutex_unlock(&ratelimit_mu);
    if (suppressed)
        log_msg(LL_WARN, "log", "%u similar messages suppressed", suppressed);
    return ok;
}
