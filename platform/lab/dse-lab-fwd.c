/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dse-lab-fwd: the lab's door to its manager (DESIGN.md section 4).  It
 * listens on a loopback address of the namespace it starts in (the root
 * one), then moves into the lab's management namespace, where every
 * connection it accepts is relayed to the manager's address.  Living in
 * that namespace, it goes when the lab goes (dse-lab down stops every
 * process of the lab's namespaces).
 *
 *   usage: dse-lab-fwd LISTEN_ADDR:PORT NETNS_PATH TARGET_ADDR:PORT
 *
 * Only a loopback address may be listened on.  One process per connection
 * (a fork): a browser's few connections, not a load balancer.  Exit status:
 * 2 for bad arguments, 1 when it cannot listen or enter the namespace.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int
parse_addr(const char *s, struct sockaddr_in *sa)
{
    char host[64];
    const char *colon = strrchr(s, ':');
    char *end;
    if (!colon || colon == s || (size_t)(colon - s) >= sizeof host)
        return -1;
    snprintf(host, sizeof host, "%.*s", (int)(colon - s), s);
    long port = strtol(colon + 1, &end, 10);
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    return *end || port < 1 || port > 65535 || inet_pton(AF_INET, host, &sa->sin_addr) != 1 ? -1
                                                                                            : 0;
}

/* Copies what is readable on 'from' to 'to'.  Returns false at EOF or on an
 * error (then 'from' is done). */
static bool
pump(int from, int to)
{
    char buf[65536];
    ssize_t n = read(from, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
        return true;
    if (n <= 0)
        return false;
    for (ssize_t off = 0; off < n;) {
        ssize_t w = write(to, buf + off, (size_t)(n - off));
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        off += w;
    }
    return true;
}

/* Relays 'a' <-> 'b' until both sides are done. */
static void
relay(int a, int b)
{
    struct pollfd p[2] = {{.fd = a, .events = POLLIN}, {.fd = b, .events = POLLIN}};
    while (p[0].fd >= 0 || p[1].fd >= 0) {
        if (poll(p, 2, -1) < 0 && errno != EINTR)
            return;
        for (int i = 0; i < 2; i++) {
            if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            if (!pump(p[i].fd, i ? a : b)) {
                shutdown(i ? a : b, SHUT_WR); /* half-close, as the peer did */
                p[i].fd = -1;
            }
        }
    }
}

static void
serve(int conn, const struct sockaddr_in *target)
{
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0 || connect(s, (const struct sockaddr *)target, sizeof *target) < 0) {
        fprintf(stderr, "dse-lab-fwd: connect: %s\n", strerror(errno));
        _exit(1);
    }
    relay(conn, s);
    _exit(0);
}

int
main(int argc, char **argv)
{
    struct sockaddr_in listen_sa, target;
    if (argc != 4 || parse_addr(argv[1], &listen_sa) < 0 || parse_addr(argv[3], &target) < 0) {
        fprintf(stderr, "usage: dse-lab-fwd LISTEN_ADDR:PORT NETNS_PATH TARGET_ADDR:PORT\n");
        return 2;
    }
    if ((ntohl(listen_sa.sin_addr.s_addr) >> 24) != 127) {
        fprintf(stderr, "dse-lab-fwd: %s: only a loopback address\n", argv[1]);
        return 2;
    }
    int one = 1, ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int ns = open(argv[2], O_RDONLY | O_CLOEXEC);
    if (ls < 0 || setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(ls, (struct sockaddr *)&listen_sa, sizeof listen_sa) < 0 || listen(ls, 64) < 0) {
        fprintf(stderr, "dse-lab-fwd: cannot listen on %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    if (ns < 0 || setns(ns, CLONE_NEWNET) < 0) {
        fprintf(stderr, "dse-lab-fwd: %s: %s\n", argv[2], strerror(errno));
        return 1;
    }
    close(ns);
    signal(SIGCHLD, SIG_IGN); /* children reap themselves */
    fprintf(stderr, "dse-lab-fwd: %s -> %s (in %s)\n", argv[1], argv[3], argv[2]);
    for (;;) {
        int c = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            fprintf(stderr, "dse-lab-fwd: accept: %s\n", strerror(errno));
            return 1;
        }
        pid_t pid = fork();
        if (pid == 0) {
            close(ls);
            serve(c, &target);
        }
        close(c);
    }
}
