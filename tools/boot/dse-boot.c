/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dse-boot: the boot firmware of an emulated server (lcm/boot.h, lcm/bank.h).
 * The lab calls it to install a factory image, to boot or reboot a server or
 * one of its DPUs, and to request a rollback; the platform's own steps (stop a
 * device's processes, start its daemons from a bank, check their health) are
 * commands it runs.  Glue only: the rules are in lcm/.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lcm/bank.h"
#include "lcm/boot.h"
#include "lib/ctl.h"
#include "lcm/sign.h"
#include "lib/util.h"

enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2 };

static void
usage(FILE *f)
{
    fprintf(f,
            "usage: dse-boot install-fresh --dev DIR --target TARGET --bundle FILE [--pubkey PUB]\n"
            "       dse-boot server --host NAME=DIR [--dpu NAME=DIR]... [--reboot NAME]...\n"
            "                       --stop CMD --jumpstart CMD --health CMD\n"
            "       dse-boot rollback --dev DIR\n"
            "       dse-boot status --dev DIR\n"
            "       dse-boot verify --dev DIR --bank A|B\n"
            "       dse-boot ping SOCKET [COMMAND]\n"
            "\n"
            "  install-fresh  a factory-fresh device: TARGET's files into bank A\n"
            "  server         boots the devices named by --reboot (default: all),\n"
            "                 DPUs first, then brings the server to one version;\n"
            "                 the last line says how many rounds of reboots it took.\n"
            "                 Hooks run as `sh -c 'CMD \"$@\"' sh NAME DIR BANK ROOT`\n"
            "                 (stop: NAME DIR only); a hook's last line on stderr is\n"
            "                 the reason when it fails\n"
            "  rollback       the next boot boots the other bank (a key pressed)\n"
            "  status         the boot state and both banks (JSON)\n"
            "  ping           exit 0 when the daemon at SOCKET answers COMMAND\n"
            "                 (default dpu.info) within 2 s\n"
            "Exit status: 0 ok, 1 failed, 2 usage.\n");
}

static int
usage_err(const char *msg, const char *arg)
{
    fprintf(stderr, "dse-boot: %s%s%s (see dse-boot --help)\n", msg, arg ? ": " : "",
            arg ? arg : "");
    return EXIT_USAGE;
}

/* ---- hooks: commands ---- */

struct cmds {
    const char *stop, *jumpstart, *health;
};

/* Runs 'cmd' with 'args'; its stdout passes through, its stderr too, and the
 * last line of stderr becomes 'why' when it fails. */
static int
run_hook(const char *cmd, const char *const *args, unsigned n_args, char *why, size_t why_len)
{
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) < 0) {
        snprintf(why, why_len, "pipe: %s", strerror(errno));
        return -errno;
    }
    char script[4096];
    snprintf(script, sizeof script, "%s \"$@\"", cmd);
    const char *argv[16] = {"sh", "-c", script, "sh"};
    for (unsigned i = 0; i < n_args && i < 10; i++)
        argv[4 + i] = args[i];
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(pfd[1], STDERR_FILENO);
        execv("/bin/sh", (char *const *)argv);
        _exit(127);
    }
    close(pfd[1]);
    char buf[4096], last[512] = "";
    size_t have = 0;
    ssize_t n;
    while ((n = read(pfd[0], buf + have, sizeof buf - 1 - have)) > 0) {
        have += (size_t)n;
        buf[have] = '\0';
        char *nl;
        while ((nl = strchr(buf, '\n'))) {
            *nl = '\0';
            fprintf(stderr, "%s\n", buf);
            if (buf[0])
                snprintf(last, sizeof last, "%.500s", buf);
            memmove(buf, nl + 1, have - (size_t)(nl + 1 - buf) + 1);
            have -= (size_t)(nl + 1 - buf);
        }
        if (have == sizeof buf - 1)
            have = 0; /* an endless line: drop it */
    }
    close(pfd[0]);
    int status;
    if (pid < 0 || waitpid(pid, &status, 0) < 0) {
        snprintf(why, why_len, "%s: cannot run", cmd);
        return -ECHILD;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    snprintf(why, why_len, "%s", last[0] ? last : "failed without a reason");
    return -EIO;
}

static int
h_stop(void *aux, const struct boot_dev *d, char *why, size_t len)
{
    const struct cmds *c = aux;
    const char *args[] = {d->name, d->dir};
    return run_hook(c->stop, args, 2, why, len);
}

static int
h_jumpstart(void *aux, const struct boot_dev *d, char bank, char *why, size_t len)
{
    const struct cmds *c = aux;
    char b[2] = {bank, '\0'}, root[4096];
    bank_root(d->dir, bank, root, sizeof root);
    const char *args[] = {d->name, d->dir, b, root};
    return run_hook(c->jumpstart, args, 4, why, len);
}

static int
h_health(void *aux, const struct boot_dev *d, char *why, size_t len)
{
    const struct cmds *c = aux;
    char b[2] = {d->st.booted, '\0'}, root[4096];
    bank_root(d->dir, d->st.booted, root, sizeof root);
    const char *args[] = {d->name, d->dir, b, root};
    return run_hook(c->health, args, 4, why, len);
}

static void
h_say(void *aux, const struct boot_dev *d, const char *msg)
{
    printf("boot: %s: %s\n", d->name, msg);
    fflush(stdout);
}

/* ---- commands ---- */

static bool
split_dev(char *spec, const char **name, const char **dir)
{
    char *eq = strchr(spec, '=');
    if (!eq || eq == spec || !eq[1])
        return false;
    *eq = '\0';
    *name = spec;
    *dir = eq + 1;
    return true;
}

/* Which devices boot_server() reboots: those --reboot names, or every one
 * when none does.  EXIT_OK, or a usage error. */
static int
mark_reboots(struct boot_dev *devs, unsigned n, const char *const *reboot, unsigned n_reboot)
{
    for (unsigned i = 0; i < n; i++)
        devs[i].reboot = n_reboot == 0;
    for (unsigned k = 0; k < n_reboot; k++) {
        unsigned i;
        for (i = 0; i < n && strcmp(devs[i].name, reboot[k]); i++)
            ;
        if (i == n)
            return usage_err("--reboot names no device", reboot[k]);
        devs[i].reboot = true;
    }
    return EXIT_OK;
}

static int
cmd_server(int argc, char **argv)
{
    static const struct option opts[] = {{"host", required_argument, NULL, 'H'},
                                         {"dpu", required_argument, NULL, 'd'},
                                         {"reboot", required_argument, NULL, 'r'},
                                         {"stop", required_argument, NULL, 's'},
                                         {"jumpstart", required_argument, NULL, 'j'},
                                         {"health", required_argument, NULL, 'h'},
                                         {0}};
    struct boot_dev devs[BOOT_MAX_DEVICES];
    const char *reboot[BOOT_MAX_DEVICES];
    unsigned n = 0, n_reboot = 0;
    struct cmds c = {0};
    bool have_host = false;
    int o;
    memset(devs, 0, sizeof devs);
    optind = 1;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'H':
        case 'd':
            if (n == BOOT_MAX_DEVICES)
                return usage_err("too many devices", NULL);
            if (!split_dev(optarg, &devs[n].name, &devs[n].dir))
                return usage_err("a device is NAME=DIR", optarg);
            if (o == 'H' && have_host)
                return usage_err("one --host", NULL);
            devs[n].is_host = o == 'H';
            have_host |= o == 'H';
            n++;
            break;
        case 'r':
            if (n_reboot == BOOT_MAX_DEVICES)
                return usage_err("too many --reboot", NULL);
            reboot[n_reboot++] = optarg;
            break;
        case 's':
            c.stop = optarg;
            break;
        case 'j':
            c.jumpstart = optarg;
            break;
        case 'h':
            c.health = optarg;
            break;
        default:
            return EXIT_USAGE;
        }
    }
    if (!have_host || !c.stop || !c.jumpstart || !c.health || optind != argc)
        return usage_err("server needs --host, --stop, --jumpstart and --health", NULL);
    int rc = mark_reboots(devs, n, reboot, n_reboot);
    if (rc != EXIT_OK)
        return rc;
    struct boot_hooks h = {.verify = bank_boot_verify,
                           .version = bank_boot_version,
                           .stop = h_stop,
                           .jumpstart = h_jumpstart,
                           .health = h_health,
                           .say = h_say,
                           .aux = &c};
    unsigned rounds = 0;
    char err[512];
    rc = boot_server(devs, n, &h, &rounds, err, sizeof err);
    const char *version = NULL;
    for (unsigned i = 0; i < n; i++)
        if (devs[i].is_host)
            version = devs[i].version;
    if (rc < 0)
        printf("boot: %u round%s of reboots; not booted: %s\n", rounds, rounds == 1 ? "" : "s",
               err);
    else
        printf("boot: %u round%s of reboots; every device ready on %s\n", rounds,
               rounds == 1 ? "" : "s", version && version[0] ? version : "?");
    return rc < 0 ? EXIT_FAILED : EXIT_OK;
}

static int
cmd_install_fresh(const char *dev, const char *target, const char *file, const char *pub)
{
    char err[BUNDLE_ERR_LEN];
    struct sign_key *key = NULL;
    if (pub && sign_key_load_public(pub, &key, err, sizeof err) < 0) {
        fprintf(stderr, "dse-boot: %s\n", err);
        return EXIT_FAILED;
    }
    struct bundle *b;
    int rc = bundle_open(file, key, NULL, &b, err, sizeof err);
    if (rc == 0) {
        rc = bank_install_fresh(dev, b, target, err, sizeof err);
        bundle_close(b);
    }
    sign_key_destroy(key);
    if (rc < 0) {
        fprintf(stderr, "dse-boot: %s: %s\n", dev, err);
        return EXIT_FAILED;
    }
    return EXIT_OK;
}

static int
print_json(json_t *j)
{
    char *s = j ? json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
    json_decref(j);
    if (!s)
        return EXIT_FAILED;
    puts(s);
    free(s);
    return EXIT_OK;
}

static int
cmd_ping(const char *sock, const char *cmd)
{
    json_t *reply = NULL;
    int rc = ctl_call(sock, cmd, NULL, 2000, &reply);
    bool ok = rc == 0 && json_is_true(json_object_get(reply, "ok"));
    if (!ok)
        fprintf(stderr, "%s: %s\n", sock,
                rc < 0 ? strerror(-rc) : "the daemon answered with an error");
    json_decref(reply);
    return ok ? EXIT_OK : EXIT_FAILED;
}

int
main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "server"))
        return cmd_server(argc - 1, argv + 1);
    if (!strcmp(cmd, "ping")) {
        if (argc < 3 || argc > 4)
            return usage_err("ping SOCKET [COMMAND]", NULL);
        return cmd_ping(argv[2], argc == 4 ? argv[3] : "dpu.info");
    }
    static const struct option opts[] = {
        {"dev", required_argument, NULL, 'D'},    {"target", required_argument, NULL, 't'},
        {"bundle", required_argument, NULL, 'b'}, {"pubkey", required_argument, NULL, 'p'},
        {"bank", required_argument, NULL, 'k'},   {0}};
    const char *dev = NULL, *target = NULL, *file = NULL, *pub = NULL, *bank = NULL;
    int o;
    optind = 2;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'D':
            dev = optarg;
            break;
        case 't':
            target = optarg;
            break;
        case 'b':
            file = optarg;
            break;
        case 'p':
            pub = optarg;
            break;
        case 'k':
            bank = optarg;
            break;
        default:
            return EXIT_USAGE;
        }
    }
    if (optind != argc)
        return usage_err("unexpected argument", argv[optind]);
    if (!dev)
        return usage_err("--dev DIR is required", NULL);
    char err[512];
    if (!strcmp(cmd, "install-fresh")) {
        if (!target || !file)
            return usage_err("install-fresh needs --target and --bundle", NULL);
        return cmd_install_fresh(dev, target, file, pub);
    }
    if (!strcmp(cmd, "status"))
        return print_json(bank_status(dev));
    if (!strcmp(cmd, "verify")) {
        if (!bank || (strcmp(bank, "A") && strcmp(bank, "B")))
            return usage_err("--bank A or B", bank);
        if (bank_verify(dev, bank[0], err, sizeof err) < 0) {
            printf("bank %s: %s\n", bank, err);
            return EXIT_FAILED;
        }
        printf("bank %s: ok\n", bank);
        return EXIT_OK;
    }
    if (!strcmp(cmd, "rollback")) {
        if (bank_request_rollback(dev, err, sizeof err) < 0) {
            fprintf(stderr, "dse-boot: %s\n", err);
            return EXIT_FAILED;
        }
        return EXIT_OK;
    }
    return usage_err("unknown command", cmd);
}
