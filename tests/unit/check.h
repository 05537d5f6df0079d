/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check: typed asserts for unit tests that print both sides on failure, and a
 * tiny runner.  A test is a function; TEST_MAIN lists them.  Each prints one
 * line, "ok   NAME", "FAIL NAME" or "skip NAME: REASON" (TEST_SKIP: it cannot
 * run here, e.g. without root; scripts/run-tests counts it as skipped).  Exit
 * status is 1 when a test failed, so meson counts a failure.
 */
#ifndef DSE_CHECK_H
#define DSE_CHECK_H

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern int check_failed_;
extern const char *check_skipped_;

/* Ends the test as skipped, saying why (a string literal). */
#define TEST_SKIP(reason)                                                                          \
    do {                                                                                           \
        check_skipped_ = (reason);                                                                 \
        return;                                                                                    \
    } while (0)

#define CHECK_FAIL_(fmt, ...)                                                                      \
    do {                                                                                           \
        fprintf(stderr, "%s:%d: " fmt "\n", __FILE__, __LINE__, __VA_ARGS__);                      \
        check_failed_ = 1;                                                                         \
        return;                                                                                    \
    } while (0)

#define ASSERT_TRUE(c)                                                                             \
    do {                                                                                           \
        if (!(c))                                                                                  \
            CHECK_FAIL_("ASSERT_TRUE(%s) failed", #c);                                             \
    } while (0)
#define ASSERT_FALSE(c) ASSERT_TRUE(!(c))

#define ASSERT_OP_(a, op, b)                                                                       \
    do {                                                                                           \
        intmax_t a_ = (intmax_t)(a), b_ = (intmax_t)(b);                                           \
        if (!(a_ op b_))                                                                           \
            CHECK_FAIL_("ASSERT %s %s %s failed: %jd vs %jd", #a, #op, #b, a_, b_);                \
    } while (0)
#define ASSERT_EQ(a, b) ASSERT_OP_(a, ==, b)
#define ASSERT_NE(a, b) ASSERT_OP_(a, !=, b)
#define ASSERT_LT(a, b) ASSERT_OP_(a, <, b)
#define ASSERT_LE(a, b) ASSERT_OP_(a, <=, b)
#define ASSERT_GT(a, b) ASSERT_OP_(a, >, b)
#define ASSERT_GE(a, b) ASSERT_OP_(a, >=, b)

#define ASSERT_STREQ(a, b)                                                                         \
    do {                                                                                           \
        const char *a_ = (a), *b_ = (b);                                                           \
        if (!a_ || !b_ || strcmp(a_, b_))                                                          \
            CHECK_FAIL_("ASSERT_STREQ(%s, %s) failed: \"%s\" vs \"%s\"", #a, #b,                   \
                        a_ ? a_ : "(null)", b_ ? b_ : "(null)");                                   \
    } while (0)

#define ASSERT_NULL(p) ASSERT_TRUE((p) == NULL)
#define ASSERT_NOT_NULL(p) ASSERT_TRUE((p) != NULL)

struct check_test {
    const char *name;
    void (*fn)(void);
};

#define TEST(name)                                                                                 \
    {                                                                                              \
#name, name                                                                                \
    }

#define TEST_MAIN(...)                                                                             \
    int check_failed_;                                                                             \
    const char *check_skipped_;                                                                    \
    int main(int argc, char **argv)                                                                \
    {                                                                                              \
        static const struct check_test tests_[] = {__VA_ARGS__};                                   \
        int n_failed = 0, n_run = 0, n_skipped = 0;                                                \
        for (size_t i = 0; i < sizeof tests_ / sizeof tests_[0]; i++) {                            \
            if (argc > 1 && strcmp(argv[1], tests_[i].name))                                       \
                continue;                                                                          \
            check_failed_ = 0;                                                                     \
            check_skipped_ = NULL;                                                                 \
            tests_[i].fn();                                                                        \
            n_run++;                                                                               \
            if (check_skipped_ && !check_failed_) {                                                \
                printf("skip %s: %s\n", tests_[i].name, check_skipped_);                           \
                n_skipped++;                                                                       \
                continue;                                                                          \
            }                                                                                      \
            printf("%s %s\n", check_failed_ ? "FAIL" : "ok  ", tests_[i].name);                    \
            n_failed += check_failed_;                                                             \
        }                                                                                          \
        printf("%d tests, %d failed, %d skipped\n", n_run, n_failed, n_skipped);                   \
        return n_failed ? 1 : 0;                                                                   \
    }

#endif
