/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store-writer: commits transactions to a store as fast as it can and prints
 * each one's revision after its commit returned, for the crash tests of
 * test-store: a printed revision was acknowledged, so it must survive the
 * SIGKILL that test-store sends at any instant.
 *
 *     store-writer PATH TAG [COUNT]
 *
 * Transaction I (from 1) creates /dse/v1/vm/TAG-I = {"tag": TAG, "i": I,
 * "pad": ...} and updates /dse/v1/host/TAG to {"i": I} at the version it
 * last wrote; then "REVISION I" goes to stdout, flushed.  It stops after
 * COUNT transactions (0 or none: when killed).  Exit 0, or 1 with a reason.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "manager/store.h"

static int
commit_one(struct store *st, const char *tag, long i, int64_t *host_rev, char *err, size_t err_len)
{
    char key[128], host[128], value[512], pad[257];
    memset(pad, 'x', sizeof pad - 1);
    pad[sizeof pad - 1] = '\0';
    snprintf(key, sizeof key, "/dse/v1/vm/%s-%ld", tag, i);
    snprintf(host, sizeof host, "/dse/v1/host/%s", tag);
    snprintf(value, sizeof value, "{\"tag\": \"%s\", \"i\": %ld, \"pad\": \"%s\"}", tag, i, pad);
    struct store_txn *t = store_txn_begin(st);
    if (!t)
        return err_set(err, err_len, -1, "out of memory");
    store_txn_put(t, key, value, STORE_MUST_NOT_EXIST, err, err_len);
    snprintf(value, sizeof value, "{\"i\": %ld}", i);
    store_txn_put(t, host, value, *host_rev, err, err_len);
    struct store_actor a = {.who = "store-writer", .from = "test", .what = "write"};
    return store_txn_commit(t, &a, host_rev, err, err_len);
}

int
main(int argc, char **argv)
{
    char err[ERR_LEN] = "";
    long count = 0;
    if (argc < 3 || argc > 4 || (argc == 4 && !parse_long(argv[3], 0, 1000000000, &count))) {
        fprintf(stderr, "usage: store-writer PATH TAG [COUNT]\n");
        return 1;
    }
    struct store *st;
    if (store_open(argv[1], &st, err, sizeof err) < 0) {
        fprintf(stderr, "store-writer: %s\n", err);
        return 1;
    }
    int64_t host_rev = STORE_MUST_NOT_EXIST;
    int rc = 0;
    for (long i = 1; !count || i <= count; i++) {
        if ((rc = commit_one(st, argv[2], i, &host_rev, err, sizeof err)) < 0)
            break;
        printf("%" PRId64 " %ld\n", host_rev, i);
        fflush(stdout);
    }
    if (rc < 0)
        fprintf(stderr, "store-writer: %s\n", err);
    store_close(st);
    return rc < 0;
}
