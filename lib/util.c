/* SPDX-License-Identifier: Apache-2.0 */
/* util: time, allocation, MAC, parsing and file helpers. */
#include "lib/util.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "lib/fault.h"

uint64_t
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int
thread_realtime(const char *name, int prio)
{
    pthread_setname_np(pthread_self(), name);
    struct sched_param sp = {.sched_priority = prio};
    return pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
}

uint64_t
now_ms(void)
{
    return now_ns() / 1000000ull;
}

uint64_t
wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
oom(void)
{
    fputs("out of memory\n", stderr);
    abort();
}

void *
xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom();
    return p;
}

void *
xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        oom();
    return p;
}

char *
xstrdup(const char *s)
{
    char *p = strdup(s);
    if (!p)
        oom();
    return p;
}

static int
hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

bool
mac_parse(const char *s, uint8_t mac[static 6])
{
    for (int i = 0; i < 6; i++) {
        int hi = hexval((unsigned char)s[0]);
        int lo = hi < 0 ? -1 : hexval((unsigned char)s[1]);
        if (hi < 0 || lo < 0)
            return false;
        mac[i] = (uint8_t)(hi << 4 | lo);
        s += 2;
        if (i < 5 && *s++ != ':')
            return false;
    }
    return *s == '\0';
}

void
mac_format(const uint8_t mac[static 6], char buf[static MAC_STRLEN])
{
    snprintf(buf, MAC_STRLEN, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
             mac[4], mac[5]);
}

void
hex_format(const uint8_t *data, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[data[i] >> 4];
        out[2 * i + 1] = digits[data[i] & 15];
    }
    out[2 * len] = '\0';
}

bool
hex_parse(const char *s, uint8_t *out, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        int hi = hexval((unsigned char)s[2 * i]);
        int lo = hi < 0 ? -1 : hexval((unsigned char)s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return s[2 * len] == '\0';
}

int
parse_cpu_list(const char *s, int *out, unsigned max, int n_cpus)
{
    unsigned n = 0;
    while (s && *s) {
        char *end;
        errno = 0;
        long a = strtol(s, &end, 10), b = a;
        if (end == s || errno || a < 0)
            return -1;
        if (*end == '-') {
            const char *t = end + 1;
            b = strtol(t, &end, 10);
            if (end == t || errno || b < a)
                return -1;
        }
        if (*end != ',' && *end)
            return -1;
        for (long c = a; c <= b; c++) {
            if (c >= n_cpus || n == max)
                return -1;
            for (unsigned i = 0; i < n; i++)
                if (out[i] == c)
                    return -1;
            out[n++] = (int)c;
        }
        s = *end ? end + 1 : end;
        if (*end == ',' && !*s)
            return -1; /* trailing comma */
    }
    return n ? (int)n : -1;
}

bool
parse_long(const char *s, long min, long max, long *out)
{
    if (!s || !*s)
        return false;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return false;
    *out = v;
    return true;
}

bool
name_is_valid(const char *s, size_t max_len)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > max_len || !isalnum((unsigned char)s[0]))
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!isalnum(c) && c != '_' && c != '.' && c != '-')
            return false;
    }
    return true;
}

char *
fs_read_file(const char *path, size_t max_len, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    size_t cap = MIN((size_t)4096, max_len), n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        if (n == cap) {
            char extra;
            ssize_t r1 = cap >= max_len ? read(fd, &extra, 1) : 1;
            if (r1 == 0) {
                buf[n] = '\0';
                if (len)
                    *len = n;
                break;
            }
            if (cap >= max_len) {
                free(buf);
                buf = NULL;
                errno = EFBIG;
                break;
            }
            cap = MIN(cap * 2, max_len);
            char *nb = realloc(buf, cap + 1);
            if (!nb) {
                free(buf);
                buf = NULL;
                errno = ENOMEM;
                break;
            }
            buf = nb;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            free(buf);
            buf = NULL;
            break;
        }
        if (r == 0) {
            buf[n] = '\0';
            if (len)
                *len = n;
            break;
        }
        n += (size_t)r;
    }
    int saved = errno;
    close(fd);
    errno = saved;
    return buf;
}

int
fs_write_atomic(const char *path, const void *data, size_t len)
{
    return fs_write_atomic_mode(path, data, len, 0644);
}

int
fs_write_atomic_mode(const char *path, const void *data, size_t len, unsigned mode)
{
    char tmp[4096], dir[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof tmp)
        return -ENAMETOOLONG;
    snprintf(dir, sizeof dir, "%s", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, (mode_t)mode);
    if (fd < 0)
        return -errno;
    if (fchmod(fd, (mode_t)mode) < 0) { /* a stale temporary of another mode */
        int e = -errno;
        close(fd);
        unlink(tmp);
        return e;
    }
    const char *p = data;
    size_t left = len;
    int err = 0;
    while (left) {
        ssize_t w = write(fd, p, left);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            err = -errno;
            break;
        }
        p += w;
        left -= (size_t)w;
    }
    fault_point("write_atomic.written");
    if (!err && fsync(fd) < 0)
        err = -errno;
    if (close(fd) < 0 && !err)
        err = -errno;
    fault_point("write_atomic.synced");
    if (!err && rename(tmp, path) < 0)
        err = -errno;
    if (err) {
        unlink(tmp);
        return err;
    }
    fault_point("write_atomic.renamed");
    int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
}

int
fs_mkdir_p(const char *path, unsigned mode)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return -ENAMETOOLONG;
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, mode) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(buf, mode) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

int
fs_dir_each(int dfd, int (*fn)(int dfd, const char *name, void *aux), void *aux)
{
    /* A new open file description: its own position, whatever 'dfd' has. */
    int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd < 0 ? NULL : fdopendir(fd);
    if (!d) {
        int rc = -errno;
        if (fd >= 0)
            close(fd);
        return rc;
    }
    int n = 0, rc = 0;
    for (struct dirent *e; !rc && (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        n++;
        if (fn)
            rc = fn(dfd, e->d_name, aux);
    }
    closedir(d);
    return rc ? rc : n;
}

/* fs_dir_each()'s callback of fs_remove_at(): keeps the first failure in
 * '*aux' and goes on (the others may still go). */
static int
remove_one(int dfd, const char *name, void *aux)
{
    int *first = aux, rc = fs_remove_at(dfd, name);
    if (rc && !*first)
        *first = rc;
    return 0;
}

int
fs_remove_at(int at, const char *name)
{
    int fd = openat(at, name ? name : ".", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && !name)
        return -errno;
    if (fd < 0) /* a file, a symlink (to a directory, too), or nothing */
        return errno == ENOENT || unlinkat(at, name, 0) == 0 || errno == ENOENT ? 0 : -errno;
    /* Entries removed while a directory is read may make readdir() skip
     * others: read it again until nothing is left. */
    int rc = 0;
    for (int tries = 0; tries < 8; tries++) {
        int n = fs_dir_each(fd, remove_one, &rc);
        if (n <= 0) {
            if (n < 0 && !rc)
                rc = n;
            break;
        }
    }
    close(fd);
    if (name && unlinkat(at, name, AT_REMOVEDIR) < 0 && errno != ENOENT && !rc)
        rc = -errno;
    return rc;
}

int
fs_space_check(const char *path, uint64_t need, char *err, size_t err_len)
{
    struct statvfs sv;
    if (statvfs(path, &sv) < 0)
        return err_set(err, err_len, -errno, "%s: %s", path, strerror(errno));
    uint64_t have = (uint64_t)sv.f_bavail * sv.f_frsize;
    if (have < need)
        return err_set(err, err_len, -ENOSPC, "not enough space: %llu KiB free, %llu KiB needed",
                       (unsigned long long)(have >> 10), (unsigned long long)(need >> 10));
    return 0;
}

int
fd_wait(int fd, short events, uint64_t deadline)
{
    for (;;) {
        uint64_t now = now_ms();
        if (now >= deadline)
            return -ETIMEDOUT;
        struct pollfd pfd = {.fd = fd, .events = events};
        int n = poll(&pfd, 1, (int)MIN(deadline - now, (uint64_t)INT32_MAX));
        if (n > 0)
            return 0;
        if (n < 0 && errno != EINTR)
            return -errno;
    }
}

char *
str_one_line(char *s)
{
    for (unsigned char *p = (unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            *p = ' ';
    return s;
}

int
err_vset(char *err, size_t len, int rc, const char *fmt, va_list ap)
{
    if (err && len) {
        vsnprintf(err, len, fmt, ap);
        str_one_line(err); /* a reason may quote input: a JSON parser's error does */
    }
    return rc;
}

int
err_set(char *err, size_t len, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err_vset(err, len, rc, fmt, ap);
    va_end(ap);
    return rc;
}
