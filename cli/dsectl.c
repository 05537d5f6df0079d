/* SPDX-License-Identifier: Apache-2.0 */
/* dsectl: main(): the objects, call, lab, and usage (the shared parts: cli.c). */
#include "cli/dsectl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "lib/ctl.h"
#include "lib/util.h"

static const struct cli_object *const objects[] = {
    &cli_dpu, &cli_switch,   &cli_portgroup, &cli_port,  &cli_mac,   &cli_flow,
    &cli_vm,  &cli_software, &cli_host,      &cli_alarm, &cli_event, &cli_monitor, &cli_dfw,
};

static void
usage(FILE *f)
{
    fprintf(f, "usage: dsectl [-j] [-s SOCKET | --lab PREFIX -H HOST] OBJECT COMMAND [ARGS]\n"
               "       dsectl [-j] --manager https://ADDR:PORT [--ca PEM] | -M  OBJECT COMMAND "
               "[ARGS]\n\n");
    for (size_t i = 0; i < ARRAY_SIZE(objects); i++)
        for (size_t k = 0; k < objects[i]->n_cmds; k++)
            fprintf(f, "  dsectl %s %s%s%s\n", objects[i]->name, objects[i]->cmds[k].name,
                    *objects[i]->cmds[k].usage ? " " : "", objects[i]->cmds[k].usage);
    fprintf(f, "  dsectl support-bundle -o FILE.tgz [--force]\n"
               "  dsectl call COMMAND [JSON-ARGS]      any command of the daemon behind -s\n"
               "  dsectl lab up|down|status|exec ...   (runs dse-lab)\n"
               "\n"
               "  -j          print JSON instead of tables\n"
               "  -s SOCKET   hostd control socket (default: the lab's host socket)\n"
               "  --lab P     lab prefix (default $DSE_LAB_PREFIX or dse)\n"
               "  -H HOST     lab host, h1 by default\n"
               "  --manager URL, --ca PEM, -M   the manager instead of a host (-M: the URL,\n"
               "              CA and token of $DSE_MANAGER, $DSE_MANAGER_CA, $DSE_TOKEN or of\n"
               "              ~/.config/dse/manager.json, which `login --user NAME` writes):\n"
               "              datacenter|cluster|host|dpu|switch|portgroup|vm|vnic\n"
               "              list | show NAME | add NAME [--FIELD VALUE]... | set NAME\n"
               "              [--FIELD VALUE]... | del NAME; host status NAME; user list |\n"
               "              add NAME --password-file F [--grant OBJECT=ROLE]...; audit list\n"
               "              [--prefix KEY] [--limit N]; task list | show ID | watch ID;\n"
               "              alarm list [--host H] [--severity S] [--all] | ack HOST ID;\n"
               "              event list [--object H[/OBJ]] [--since T] [--until T]\n"
               "              [--type PREFIX] [--limit N]; dfw group|service|section|rule\n"
               "              list | show NAME | del NAME | add|set NAME [FLAGS]; dfw stats\n"
               "              [--host H]; dfw policy --host H (the flags: docs/dfw.md)\n"
               "Exit status: 0 ok, 1 failed, 2 usage.\n");
}

/* `dsectl [-s SOCKET] call COMMAND [JSON-ARGS]`: any command of the daemon
 * behind the socket, its result printed as JSON (hostd's, or a DPU's own:
 * -s DIR/run/dpud.sock). */
static int
run_call(struct cli *cli, int argc, char **argv)
{
    if (argc < 2 || argc > 3)
        return cli_usage_error("call", "COMMAND [JSON-ARGS]");
    json_error_t jerr;
    json_t *args = argc == 3 ? json_loads(argv[2], 0, &jerr) : json_object();
    if (!json_is_object(args)) {
        json_decref(args);
        return cli_usage_error("call", "arguments: a JSON object, please");
    }
    json_t *r = NULL;
    int rc = cli_call(cli, argv[1], args, &r);
    if (rc == EXIT_OK)
        cli_print_json(r);
    json_decref(r);
    return rc;
}

/* ---- main ---- */

static int
run_lab(int argc, char **argv)
{
    char self[4096], path[4200];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    const char *lab = getenv("DSE_LAB_CMD");
    if (!lab && n > 0) {
        self[n] = '\0';
        /* build/cli/dsectl -> platform/lab/dse-lab in the source tree */
        char *slash = strrchr(self, '/');
        *slash = '\0';
        snprintf(path, sizeof path, "%s/../../platform/lab/dse-lab", self);
        if (access(path, X_OK) == 0)
            lab = path;
    }
    if (!lab)
        lab = "dse-lab";
    argv[0] = (char *)lab;
    execvp(lab, argv);
    fprintf(stderr, "dsectl: cannot run %s: %s\n", lab, strerror(errno));
    return EXIT_FAILED;
}

int
main(int argc, char **argv)
{
    struct cli cli = {0};
    const char *prefix = getenv("DSE_LAB_PREFIX"), *host = "h1";
    const char *labdir = getenv("DSE_LAB_DIR");
    const char *url = NULL, *ca = NULL;
    bool manager = getenv("DSE_MANAGER") != NULL;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *o = argv[i];
        if (!strcmp(o, "-j") || !strcmp(o, "--json")) {
            cli.json = true;
        } else if (!strcmp(o, "-h") || !strcmp(o, "--help")) {
            usage(stdout);
            return EXIT_OK;
        } else if (!strcmp(o, "--version")) {
            printf("dsectl %s\n", DSE_VERSION);
            return EXIT_OK;
        } else if (!strcmp(o, "-M")) {
            manager = true;
        } else if ((!strcmp(o, "--manager") || !strcmp(o, "--ca")) && i + 1 < argc) {
            manager = true;
            *(!strcmp(o, "--ca") ? &ca : &url) = argv[++i];
        } else if ((!strcmp(o, "-s") || !strcmp(o, "--lab") || !strcmp(o, "-H")) && i + 1 < argc) {
            const char *v = argv[++i];
            if (!strcmp(o, "-s"))
                cli.socket = v;
            else if (!strcmp(o, "--lab"))
                prefix = v;
            else
                host = v;
        } else {
            return cli_usage_error(NULL, "unknown option '%s'", o);
        }
    }
    if (i >= argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!strcmp(argv[i], "help")) {
        usage(stdout);
        return EXIT_OK;
    }
    if (!strcmp(argv[i], "lab"))
        return run_lab(argc - i, argv + i);
    if (manager && !cli.socket && strcmp(argv[i], "support-bundle") && strcmp(argv[i], "call"))
        return cli_manager(url, ca, cli.json, argc - i, argv + i);

    char sock[4096];
    if (!cli.socket) {
        if (!name_is_valid(prefix ? prefix : "dse", 16) || !name_is_valid(host, 16))
            return cli_usage_error(NULL, "bad lab prefix or host name");
        snprintf(sock, sizeof sock, "%s/%s/%s/run/hostd.sock", labdir ? labdir : "/var/lib/dse-lab",
                 prefix ? prefix : "dse", host);
        cli.socket = sock;
    }
    if (!strcmp(argv[i], "support-bundle"))
        return cli_support_bundle(&cli, argc - i, argv + i);
    if (!strcmp(argv[i], "call"))
        return run_call(&cli, argc - i, argv + i);
    for (size_t k = 0; k < ARRAY_SIZE(objects); k++) {
        if (strcmp(objects[k]->name, argv[i]))
            continue;
        if (i + 1 >= argc)
            return cli_usage_error(argv[i], "missing command");
        return cli_object_run(&cli, objects[k], argc - i - 1, argv + i + 1);
    }
    return cli_usage_error(NULL, "unknown object '%s'", argv[i]);
}
