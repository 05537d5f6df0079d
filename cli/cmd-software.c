/* SPDX-License-Identifier: Apache-2.0 */
/* dsectl software, dsectl host: images on the host and its DPUs, and reboots. */
#include "cli/dsectl.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/ctl.h"
#include "lib/util.h"

#define POLL_MS 200
#define INSTALL_WAIT_MS (10 * 60 * 1000)
#define REBOOT_WAIT_MS (3 * 60 * 1000)

static void
sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void
print_list(json_t *r, json_t *args)
{
    static const char *const h[] = {"DEVICE",  "ACTIVE",   "VERSION",   "ALTERNATE", "VERSION",
                                    "PENDING", "ATTEMPTS", "LAST-BOOT", "REASON"};
    struct table *t = table_create(9, h);
    size_t i;
    json_t *d;
    json_array_foreach (r, i, d) {
        const char *e = json_string_value(json_object_get(d, "error"));
        const char *why = json_string_value(json_object_get(d, "last_reason"));
        table_add(t, fmt_json(json_object_get(d, "device")), fmt_json(json_object_get(d, "active")),
                  fmt_json(json_object_get(d, "active_version")),
                  fmt_json(json_object_get(d, "alternate")),
                  fmt_json(json_object_get(d, "alternate_version")),
                  fmt_json(json_object_get(d, "pending")), fmt_json(json_object_get(d, "attempts")),
                  fmt_json(json_object_get(d, "last_result")),
                  e             ? e
                  : why && *why ? why
                                : "-");
    }
    table_print(t);
}

/* One line per device whose step or progress changed since the last print. */
static void
print_progress(json_t *p, char seen[][96])
{
    size_t i;
    json_t *d;
    json_array_foreach (json_object_get(p, "devices"), i, d) {
        if (i >= 8)
            break;
        json_int_t sent = json_integer_value(json_object_get(d, "sent"));
        json_int_t total = json_integer_value(json_object_get(d, "total"));
        const char *step = json_string_value(json_object_get(d, "step"));
        const char *err = json_string_value(json_object_get(d, "error"));
        char line[96];
        snprintf(line, sizeof line, "%s %d", step ? step : "?",
                 total > 0 ? (int)(sent * 100 / total) : 0);
        if (!strcmp(line, seen[i]))
            continue;
        snprintf(seen[i], 96, "%s", line);
        printf("  %-6s %-22s %-10s %3d%%%s%s\n", fmt_json(json_object_get(d, "device")),
               fmt_json(json_object_get(d, "target")), step ? step : "?",
               total > 0 ? (int)(sent * 100 / total) : 0, err ? "  " : "", err ? err : "");
        fflush(stdout);
    }
}

static int
run_install(struct cli *cli, const struct cli_cmd *c, json_t *args)
{
    /* hostd reads the file: give it an absolute path. */
    char abs[PATH_MAX];
    const char *path = json_string_value(json_object_get(args, "bundle"));
    if (!realpath(path, abs)) {
        fprintf(stderr, "dsectl: software: %s: %s\n", path, strerror(errno));
        return EXIT_FAILED;
    }
    json_object_set_new(args, "bundle", json_string(abs));
    if (!strcmp(c->name, "update"))
        json_object_set_new(args, "update", json_true());
    json_t *r = NULL;
    int rc = cli_call(cli, c->api, json_incref(args), &r);
    if (rc != EXIT_OK)
        return rc;
    bool dry = json_is_true(json_object_get(r, "dry_run"));
    if (!cli->json)
        printf("%s %s on the host and its DPUs%s\n", dry ? "would install" : "installing",
               fmt_json(json_object_get(r, "version")), dry ? " (dry run: all checks pass)" : "");
    char seen[8][96] = {{0}};
    uint64_t deadline = now_ms() + INSTALL_WAIT_MS;
    while (!dry && !strcmp(json_string_value(json_object_get(r, "state")), "running")) {
        if (!cli->json)
            print_progress(r, seen);
        if (now_ms() > deadline) {
            fprintf(stderr, "dsectl: software: still running after %d s\n", INSTALL_WAIT_MS / 1000);
            json_decref(r);
            return EXIT_FAILED;
        }
        sleep_ms(POLL_MS);
        json_decref(r);
        r = NULL;
        if ((rc = cli_call(cli, "software.progress", json_object(), &r)) != EXIT_OK)
            return rc;
    }
    const char *state = json_string_value(json_object_get(r, "state"));
    if (cli->json) {
        cli_print_json(r);
    } else {
        print_progress(r, seen);
        if (!strcmp(state, "ok"))
            printf("installed %s on every device in %.1f s: it boots at the next reboot "
                   "(dsectl host reboot)\n",
                   fmt_json(json_object_get(r, "version")),
                   (double)json_integer_value(json_object_get(r, "elapsed_ms")) / 1000);
    }
    rc = dry || !strcmp(state, "ok") ? EXIT_OK : EXIT_FAILED;
    if (rc != EXIT_OK)
        fprintf(stderr, "dsectl: software: %s; every device left as it was\n",
                fmt_json(json_object_get(r, "error")));
    json_decref(r);
    return rc;
}

static void
print_rollback(json_t *r, json_t *args)
{
    printf("the next boot rolls every device back to %s (dsectl host reboot)\n",
           fmt_json(json_object_get(r, "next_boot")));
}

static const char *const no_pos[] = {NULL};
static const struct cli_opt install_opts[] = {{"--bundle", "bundle", OPT_STR, true},
                                              {"--dry-run", "dry_run", OPT_FLAG, false},
                                              {"--fresh", "fresh", OPT_FLAG, false},
                                              {"--serial", "serial", OPT_FLAG, false},
                                              {0}};
static const struct cli_opt update_opts[] = {{"--bundle", "bundle", OPT_STR, true},
                                             {"--dry-run", "dry_run", OPT_FLAG, false},
                                             {"--serial", "serial", OPT_FLAG, false},
                                             {0}};
static const struct cli_cmd software_cmds[] = {
    {"list", "", "software.list", no_pos, 0, NULL, print_list, NULL},
    {"install", "--bundle FILE [--dry-run] [--fresh] [--serial]", "software.install", no_pos, 0,
     install_opts, NULL, run_install},
    {"update", "--bundle FILE [--dry-run] [--serial]", "software.install", no_pos, 0, update_opts,
     NULL, run_install},
    {"rollback", "", "software.rollback", no_pos, 0, NULL, print_rollback, NULL},
};
const struct cli_object cli_software = CLI_OBJECT("software", software_cmds);

/* ---- host reboot ---- */

/* hostd's boot count, or -1 while it does not answer (it is rebooting); and
 * the last reboot's outcome line, once the whole server has booted. */
static json_int_t
host_boots(struct cli *cli, char *outcome, size_t len)
{
    json_t *reply = NULL;
    json_int_t boots = -1;
    outcome[0] = '\0';
    if (ctl_call(cli->socket, "host.info", NULL, 2000, &reply) == 0 &&
        json_is_true(json_object_get(reply, "ok"))) {
        json_t *r = json_object_get(reply, "result");
        boots = json_integer_value(json_object_get(r, "boots"));
        const char *last = json_string_value(json_object_get(r, "last_reboot"));
        snprintf(outcome, len, "%s", last ? last : "");
    }
    json_decref(reply);
    return boots;
}

static int
run_reboot(struct cli *cli, const struct cli_cmd *c, json_t *args)
{
    char outcome[512];
    json_int_t before = host_boots(cli, outcome, sizeof outcome);
    json_t *r = NULL;
    int rc = cli_call(cli, "host.reboot", json_incref(args), &r);
    if (rc != EXIT_OK)
        return rc;
    printf("rebooting %s (log: %s)\n", fmt_json(json_object_get(r, "rebooting")),
           fmt_json(json_object_get(r, "log")));
    fflush(stdout);
    json_decref(r);
    /* Done when hostd is back (a new boot count) and the reboot's log ends
     * with its outcome: every round, DPUs brought in line included. */
    uint64_t deadline = now_ms() + REBOOT_WAIT_MS;
    json_int_t boots;
    do {
        sleep_ms(POLL_MS);
        boots = host_boots(cli, outcome, sizeof outcome);
        if (now_ms() > deadline) {
            fprintf(stderr, "dsectl: host: not back after %d s\n", REBOOT_WAIT_MS / 1000);
            return EXIT_FAILED;
        }
    } while (boots <= before || !outcome[0]);
    printf("%s\n", outcome);
    rc = cli_call(cli, "software.list", json_object(), &r);
    if (rc == EXIT_OK) {
        if (cli->json)
            cli_print_json(r);
        else
            print_list(r, NULL);
    }
    json_decref(r);
    return rc == EXIT_OK && strstr(outcome, "not booted") ? EXIT_FAILED : rc;
}

static const struct cli_opt watch_opts[] = {{"--watch", "watch", OPT_FLAG, false}, {0}};
static const char *const mode_pos[] = {"mode"};
static const struct cli_opt mode_opts[] = {{"--heartbeat-ms", "heartbeat_ms", OPT_INT, false},
                                           {"--auto-failback-s", "auto_failback_s", OPT_INT, false},
                                           {"--dfw-sync-ms", "dfw_sync_ms", OPT_INT, false},
                                           {0}};
/* ---- host join ---- */

static const struct cli_opt join_opts[] = {
    {"--manager", "manager", OPT_STR, true}, {"--token", "token", OPT_STR, true}, {0}};

static void
print_join(json_t *r, json_t *args)
{
    printf("joined as host %s (certificate CN %s, serial %s)\n",
           fmt_json(json_object_get(r, "host")), fmt_json(json_object_get(r, "cn")),
           fmt_json(json_object_get(r, "serial")));
    const char *name;
    json_t *v;
    json_object_foreach (json_object_get(r, "dpus"), name, v)
        printf("  %s: %s\n", name, fmt_json(v));
}

static const struct cli_cmd host_cmds[] = {
    {"join", "--manager https://ADDR:PORT --token TOKEN", "host.join", no_pos, 0, join_opts,
     print_join, NULL},
    {"reboot", "", "host.reboot", no_pos, 0, NULL, NULL, run_reboot},
    {"stats", "[--watch]", "host.stats", no_pos, 0, watch_opts, NULL, cli_host_stats},
    {"metrics", "", "host.metrics", no_pos, 0, NULL, cli_print_metrics, NULL},
    {"dpu-mode",
     "active-standby|independent [--heartbeat-ms N] [--auto-failback-s N] [--dfw-sync-ms N]",
     "host.dpu_mode", mode_pos, 1, mode_opts, cli_print_ha, NULL},
    {"ha", "", "host.info", no_pos, 0, NULL, cli_print_host_ha, NULL},
};
const struct cli_object cli_host = CLI_OBJECT("host", host_cmds);
