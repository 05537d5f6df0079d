/* SPDX-License-Identifier: Apache-2.0 */
/*
 * log: structured, levelled logging for every dse daemon and tool.
 *
 * One line per event: "TIME LEVEL MODULE: key=value context: message".  A file
 * declares its module once with LOG_MODULE(name) and then calls log_err(),
 * log_warn(), log_info() or log_debug().  Messages a peer can trigger go through
 * a struct log_ratelimit so that a flood of bad input cannot flood the log.
 *
 * Thread-safety: log_msg() may be called from any thread; each line is written
 * with one write(2), so lines never interleave.  log_init() must be called
 * before other threads start.
 */
#ifndef DSE_LOG_H
#define DSE_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum log_level { LL_ERR, LL_WARN, LL_INFO, LL_DEBUG };

/* Directs logging to 'path' (appended), or to stderr when 'path' is NULL.
 * Returns 0 or -errno when 'path' cannot be opened (logging stays on stderr). */
int log_init(const char *prog, const char *path, enum log_level level);

/* Parses "err", "warn", "info" or "debug".  Returns false on anything else. */
bool log_level_parse(const char *s, enum log_level *level);

void log_msg(enum log_level level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define LOG_MODULE(name) static const char *const log_module_ __attribute__((unused)) = #name
#define log_err(...) log_msg(LL_ERR, log_module_, __VA_ARGS__)
#define log_warn(...) log_msg(LL_WARN, log_module_, __VA_ARGS__)
#define log_info(...) log_msg(LL_INFO, log_module_, __VA_ARGS__)
#define log_debug(...) log_msg(LL_DEBUG, log_module_, __VA_ARGS__)

/* Token bucket: at most 'burst' messages per 'interval_ms'; the rest are counted
 * and their number is reported with the next message that passes. */
struct log_ratelimit {
    unsigned burst;
    unsigned interval_ms;
    uint64_t window_start_ms;
    unsigned n_in_window;
    unsigned n_suppressed;
};
#define LOG_RATELIMIT_INIT(burst_, interval_ms_)                                                   \
    {                                                                                              \
        .burst = (burst_), .interval_ms = (interval_ms_)                                           \
    }

/* Returns true if a message may be logged now.  Thread-safe: threads may
 * share one struct. */
bool log_ratelimit_ok(struct log_ratelimit *rl);

#define log_warn_rl(rl, ...)                                                                       \
    do {                                                                                           \
        if (log_ratelimit_ok(rl))                                                                  \
            log_warn(__VA_ARGS__);                                                                 \
    } while (0)

#endif
