/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dse-cps: new TCP connections a second between two hosts (bench/dfw.sh's
 * dfw-cps): what a stateful firewall between them does for each connection
 * (a SYN, the SYN+ACK, the ACK, a reset) at a rate the generator itself
 * does not bound.
 *
 *   dse-cps server PORT [--duration S]
 *       accepts and closes connections on PORT (every address), until S
 *       seconds (default: until killed)
 *   dse-cps client ADDR PORT [--duration S] [--concurrency N]
 *       opens connections to ADDR:PORT (IPv4 or IPv6) for S seconds (default
 *       3), N at a time (default 64): each one connects (the handshake) and
 *       is then reset (SO_LINGER 0: no TIME_WAIT, so that the ports last);
 *       prints {"connections", "failed", "seconds", "cps"}
 *
 * One thread and epoll on each side.  Exit status: 0 ok, 1 failed, 2 usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/util.h"

#define EVENTS 256

static int
usage(void)
{
    fprintf(stderr, "usage: dse-cps server PORT [--duration S]\n"
                    "       dse-cps client ADDR PORT [--duration S] [--concurrency N]\n");
    return 2;
}

static int
server(const char *port, double secs)
{
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)atoi(port))};
    int one = 1, zero = 0, fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero) ||
        bind(fd, (struct sockaddr *)&a, sizeof a) || listen(fd, 4096)) {
        fprintf(stderr, "dse-cps: server: port %s: %s\n", port, strerror(errno));
        return 1;
    }
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN};
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    uint64_t end = secs > 0 ? now_ns() + (uint64_t)(secs * 1e9) : UINT64_MAX;
    while (now_ns() < end) {
        struct epoll_event evs[1];
        if (epoll_wait(ep, evs, 1, 100) <= 0)
            continue;
        int c;
        while ((c = accept4(fd, NULL, NULL, SOCK_CLOEXEC)) >= 0)
            close(c); /* the client resets it: no FIN, no TIME_WAIT */
    }
    return 0;
}

struct client {
    struct sockaddr_storage dst;
    socklen_t dst_len;
    int ep;
    unsigned open;
    uint64_t done, failed;
};

/* One more connection under way.  False when the kernel refuses a socket. */
static bool
start(struct client *c)
{
    int fd = socket(c->dst.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct linger l = {.l_onoff = 1, .l_linger = 0};
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l) ||
        (connect(fd, (struct sockaddr *)&c->dst, c->dst_len) && errno != EINPROGRESS)) {
        if (fd >= 0)
            close(fd);
        c->failed++;
        return false;
    }
    struct epoll_event ev = {.events = EPOLLOUT, .data.fd = fd};
    epoll_ctl(c->ep, EPOLL_CTL_ADD, fd, &ev);
    c->open++;
    return true;
}

/* A connection's outcome: connected (then reset) or failed. */
static void
finish(struct client *c, int fd)
{
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err)
        c->failed++;
    else
        c->done++;
    close(fd);
    c->open--;
}

static int
client(const char *addr, const char *port, double secs, unsigned conc)
{
    struct client c = {.ep = epoll_create1(EPOLL_CLOEXEC)};
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST}, *ai;
    int rc = getaddrinfo(addr, port, &hints, &ai);
    if (rc) {
        fprintf(stderr, "dse-cps: client: %s port %s: %s\n", addr, port, gai_strerror(rc));
        return 1;
    }
    memcpy(&c.dst, ai->ai_addr, ai->ai_addrlen);
    c.dst_len = ai->ai_addrlen;
    freeaddrinfo(ai);
    uint64_t t0 = now_ns(), end = t0 + (uint64_t)(secs * 1e9);
    while (c.open < conc && start(&c))
        ;
    while (now_ns() < end) {
        struct epoll_event evs[EVENTS];
        int n = epoll_wait(c.ep, evs, EVENTS, 100);
        for (int i = 0; i < n; i++) {
            finish(&c, evs[i].data.fd);
            start(&c);
        }
        while (c.open < conc && start(&c)) /* after a refusal, room again */
            ;
    }
    double s = (double)(now_ns() - t0) / 1e9;
    printf("{\"connections\": %llu, \"failed\": %llu, \"seconds\": %.3f, \"cps\": %.0f}\n",
           (unsigned long long)c.done, (unsigned long long)c.failed, s, (double)c.done / s);
    return c.done ? 0 : 1;
}

/* --duration S and --concurrency N from argv[i...]; false on a bad one. */
static bool
options(int argc, char **argv, int i, double *secs, unsigned *conc)
{
    for (; i + 1 < argc; i += 2) {
        char *end;
        if (!strcmp(argv[i], "--duration"))
            *secs = strtod(argv[i + 1], &end);
        else if (!strcmp(argv[i], "--concurrency"))
            *conc = (unsigned)strtoul(argv[i + 1], &end, 10);
        else
            return false;
        if (*end || *secs < 0 || *secs > 3600 || *conc < 1 || *conc > 10000)
            return false;
    }
    return i == argc;
}

int
main(int argc, char **argv)
{
    double secs = 3;
    unsigned conc = 64;
    if (argc >= 3 && !strcmp(argv[1], "server")) {
        secs = 0;
        return options(argc, argv, 3, &secs, &conc) ? server(argv[2], secs) : usage();
    }
    if (argc >= 4 && !strcmp(argv[1], "client"))
        return options(argc, argv, 4, &secs, &conc) ? client(argv[2], argv[3], secs, conc)
                                                    : usage();
    return usage();
}
