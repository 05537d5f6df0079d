/* SPDX-License-Identifier: Apache-2.0 */
/* fault: DSE_FAULT=[PROG/]NAME[:N] kills the process at the Nth pass of NAME. */
#include "lib/fault.h"

#include <errno.h>

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char armed[128];
static long armed_at = 1;
static atomic_long passes;

static void
arm(void)
{
    const char *s = getenv("DSE_FAULT");
    if (!s || !*s || strlen(s) >= sizeof armed)
        return;
    /* PROG/NAME: only in the program of that name (its daemons inherit the
     * environment of the tools that start them). */
    const char *slash = strchr(s, '/');
    if (slash) {
        size_t n = (size_t)(slash - s);
        if (strlen(program_invocation_short_name) != n ||
            strncmp(s, program_invocation_short_name, n))
            return;
        s = slash + 1;
    }
    snprintf(armed, sizeof armed, "%s", s);
    char *colon = strrchr(armed, ':');
    if (colon) {
        char *end;
        long n = strtol(colon + 1, &end, 10);
        if (*end || n < 1)
            return; /* malformed: never fires */
        *colon = '\0';
        armed_at = n;
    }
}

void
fault_point(const char *name)
{
    pthread_once(&once, arm);
    if (!armed[0] || strcmp(armed, name))
        return;
    if (atomic_fetch_add(&passes, 1) + 1 != armed_at)
        return;
    char line[192];
    int n = snprintf(line, sizeof line, "fault: %s: killed here (DSE_FAULT)\n", name);
    ssize_t w = write(STDERR_FILENO, line, (size_t)n);
    (void)w;
    raise(SIGKILL);
}
