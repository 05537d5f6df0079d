/* SPDX-License-Identifier: Apache-2.0 */
/*
 * util: small helpers with no dse policy: time, MAC addresses, strings, files,
 * and the error convention of every module in the tree:
 *
 *   - A fallible function returns int: 0, or a negative errno, each listed
 *     in its header.  A lookup returns a pointer or NULL.
 *   - Where a reason helps the user, the caller passes a buffer, 'char *err,
 *     size_t err_len' (ERR_LEN bytes hold any of ours), and the function
 *     writes one line into it (err_set()).  Never a malloc'd message.
 *   - A command handler (lib/cmdtab.h) is such a function too.
 *
 * Thread-safety: every function here is reentrant.
 */
#ifndef DSE_UTIL_H
#define DSE_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/* Monotonic clock in milliseconds / nanoseconds.  These functions can't fail. */
uint64_t now_ms(void);
/* The wall clock (CLOCK_REALTIME) in ms since the epoch: for times a person
 * or another machine reads; now_ms() is for intervals.  Can't fail. */
uint64_t wall_ms(void);
uint64_t now_ns(void);

/* Names the calling thread (15 characters at most) and gives it real-time
 * priority 'prio' (SCHED_FIFO).  0, or the errno of the refusal (EPERM
 * without the right, or a cgroup with no real-time runtime). */
int thread_realtime(const char *name, int prio);

/* Allocators that abort on exhaustion: daemon and CLI glue only (STYLE). */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
char *xstrdup(const char *s);

/* "02:00:00:00:00:01" <-> 6 bytes.  mac_parse() returns false on bad input. */
#define MAC_STRLEN 18
bool mac_parse(const char *s, uint8_t mac[static 6]);
void mac_format(const uint8_t mac[static 6], char buf[static MAC_STRLEN]);

/* Writes 'len' bytes as 2 * 'len' lowercase hex digits and a NUL into 'out'
 * (2 * 'len' + 1 bytes).  This function can't fail. */
void hex_format(const uint8_t *data, size_t len, char *out);
/* Parses exactly 2 * 'len' hex digits (either case), nothing after them, into
 * 'out'.  Returns false on bad input ('out' is then undefined). */
bool hex_parse(const char *s, uint8_t *out, size_t len);

/* Parses a decimal integer in [min, max] with nothing after it. */
bool parse_long(const char *s, long min, long max, long *out);

/* Parses a CPU list ("3", "1,2", "0-3,6") into 'out' (at most 'max' CPUs, each
 * below 'n_cpus', no repeats).  Returns the count, or -1 when malformed. */
int parse_cpu_list(const char *s, int *out, unsigned max, int n_cpus);

/* True if 's' is a name we accept for objects (portgroups, VMs, ports):
 * 1..max_len characters of [A-Za-z0-9_.-], starting with a letter or digit. */
bool name_is_valid(const char *s, size_t max_len);

/* FNV-1a over 'n' bytes at 'p', continuing from 'h' (HASH_FNV1A_SEED to
 * begin): cheap and good enough for hash tables of keys we make.  Can't
 * fail. */
#define HASH_FNV1A_SEED 2166136261u
static inline uint32_t
hash_fnv1a(const void *p, size_t n, uint32_t h)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 16777619u;
    return h;
}

/* Reads a whole file (at most 'max_len' bytes) and NUL-terminates it.
 * Returns the buffer (caller frees) or NULL with errno set. */
char *fs_read_file(const char *path, size_t max_len, size_t *len);

/* Writes 'len' bytes to 'path' atomically: temporary file, fsync, rename, fsync
 * of the directory.  Returns 0 or -errno; on failure 'path' is unchanged. */
int fs_write_atomic(const char *path, const void *data, size_t len);
/* The same with file mode 'mode' (a key: 0600) from the start. */
int fs_write_atomic_mode(const char *path, const void *data, size_t len, unsigned mode);

/* Waits for 'events' (poll(2)'s) on 'fd' until 'deadline' (a now_ms() time).
 * Returns 0, -ETIMEDOUT, or -errno of poll(). */
int fd_wait(int fd, short events, uint64_t deadline);

/* mkdir -p with 'mode'.  Returns 0 or -errno. */
int fs_mkdir_p(const char *path, unsigned mode);

/* The directory walk: calls 'fn' on each entry of directory 'dfd' but "."
 * and "..", in readdir() order, with 'dfd' and the entry's name; 'fn' returns
 * 0 to go on, or a negative errno that stops the walk.  'dfd' stays open and
 * its position is its own (the walk reads a duplicate from the start).
 * Returns the number of entries seen, or that errno, or -errno of opening
 * the directory.  Recursion is the caller's: open a subdirectory with
 * openat(O_DIRECTORY | O_NOFOLLOW) and walk it. */
int fs_dir_each(int dfd, int (*fn)(int dfd, const char *name, void *aux), void *aux);

/* rm -rf of 'name' under directory 'at' ("." or a path; NULL: empties 'at'
 * itself), never following a symbolic link.  A missing 'name' is not an
 * error.  Returns 0 or -errno of the first entry that could not go. */
int fs_remove_at(int at, const char *name);

/* Refuses with -ENOSPC, "not enough space: N KiB free, M KiB needed", when
 * the file system of 'path' has less than 'need' bytes free for unprivileged
 * writers.  Returns 0, that, or -errno of statvfs() with its reason. */
int fs_space_check(const char *path, uint64_t need, char *err, size_t err_len);

/* Makes 's' one printable line in place: control characters (newlines among
 * them) become spaces.  Returns 's'. */
char *str_one_line(char *s);

/* A buffer for one reason line (the error convention above). */
#define ERR_LEN 256

/* Formats a reason into 'err' (of 'len' bytes; nothing when NULL or 0), one
 * line whatever it quotes (str_one_line()), and returns 'rc'. */
int err_set(char *err, size_t len, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int err_vset(char *err, size_t len, int rc, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

#endif
