/* SPDX-License-Identifier: Apache-2.0 */
/* dsectl: main(), transport to hostd, option parsing and table printing. */
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

#define CALL_TIMEOUT_MS 30000

static const struct cli_object *const objects[] = {
    &cli_dpu, &cli_switch,   &cli_portgroup, &cli_port,  &cli_mac,   &cli_flow,
    &cli_vm,  &cli_software, &cli_host,      &cli_alarm, &cli_event, &cli_monitor,
};

static void
usage(FILE *f)
{
    fprintf(f, "usage: dsectl [-j] [-s SOCKET | --lab PREFIX -H HOST] OBJECT COMMAND [ARGS]\n\n");
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
               "Exit status: 0 ok, 1 failed, 2 usage.\n");
}

int
cli_usage_error(const char *object, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "dsectl: %s%s", object ? object : "", object ? ": " : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (try 'dsectl help')\n");
    return EXIT_USAGE;
}

int
cli_call(struct cli *cli, const char *cmd, json_t *args, json_t **result)
{
    json_t *reply = NULL;
    int timeout_ms = cli->timeout_ms ? cli->timeout_ms : CALL_TIMEOUT_MS;
    int rc = ctl_call(cli->socket, cmd, args, timeout_ms, &reply);
    json_decref(args);
    if (rc < 0) {
        fprintf(stderr, "dsectl: cannot reach hostd at %s: %s%s\n", cli->socket, strerror(-rc),
                rc == -ENOENT || rc == -ECONNREFUSED ? " (is the lab up? try 'make demo')" : "");
        return EXIT_FAILED;
    }
    if (!json_is_true(json_object_get(reply, "ok"))) {
        const char *msg = json_string_value(json_object_get(reply, "error"));
        const char *code = json_string_value(json_object_get(reply, "code"));
        fprintf(stderr, "dsectl: %s\n", msg ? msg : "failed");
        rc = code && (!strcmp(code, "usage") || !strcmp(code, "bad-request")) ? EXIT_USAGE
                                                                              : EXIT_FAILED;
        json_decref(reply);
        return rc;
    }
    *result = json_incref(json_object_get(reply, "result"));
    json_decref(reply);
    return EXIT_OK;
}

/* Fills 'args' from argv[1..] as 'c' describes.  Prints a usage error and
 * returns EXIT_USAGE on bad input. */
static int
cli_parse(const char *object, const struct cli_cmd *c, int argc, char **argv, json_t *args)
{
    int i = 1;
    if (c->n_pos < 0) { /* a command with commands of its own: the rest as is */
        json_t *rest = json_array();
        for (; i < argc; i++)
            json_array_append_new(rest, json_string(argv[i]));
        json_object_set_new(args, "_argv", rest);
        return EXIT_OK;
    }
    for (int p = 0; p < c->n_pos; p++, i++) {
        if (i >= argc || argv[i][0] == '-')
            return cli_usage_error(object, "%s: missing %s", argv[0], c->pos[p]);
        json_object_set_new(args, c->pos[p], json_string(argv[i]));
    }
    for (; i < argc; i++) {
        const struct cli_opt *o = c->opts;
        while (o && o->flag && strcmp(o->flag, argv[i]))
            o++;
        if (!o || !o->flag)
            return cli_usage_error(object, "%s: unexpected argument '%s'", argv[0], argv[i]);
        if (o->type == OPT_FLAG) {
            json_object_set_new(args, o->key, json_true());
            continue;
        }
        if (i + 1 >= argc)
            return cli_usage_error(object, "%s needs a value", o->flag);
        const char *val = argv[++i];
        if (o->type == OPT_NUM) {
            char *end;
            double v = strtod(val, &end);
            if (end == val || *end || v != v)
                return cli_usage_error(object, "%s wants a number, not '%s'", o->flag, val);
            json_object_set_new(args, o->key, json_real(v));
        } else if (o->type == OPT_INT) {
            long v;
            if (!parse_long(val, -1000000000L, 1000000000L, &v))
                return cli_usage_error(object, "%s wants a number, not '%s'", o->flag, val);
            json_object_set_new(args, o->key, json_integer(v));
        } else {
            json_object_set_new(args, o->key, json_string(val));
        }
    }
    for (const struct cli_opt *o = c->opts; o && o->flag; o++)
        if (o->required && !json_object_get(args, o->key))
            return cli_usage_error(object, "%s: missing %s", argv[0], o->flag);
    return EXIT_OK;
}

int
cli_object_run(struct cli *cli, const struct cli_object *obj, int argc, char **argv)
{
    const struct cli_cmd *c = NULL;
    for (size_t i = 0; i < obj->n_cmds && !c; i++)
        if (!strcmp(obj->cmds[i].name, argv[0]))
            c = &obj->cmds[i];
    if (!c)
        return cli_usage_error(obj->name, "unknown command '%s'", argv[0]);
    json_t *args = json_object(), *result = NULL;
    int rc = cli_parse(obj->name, c, argc, argv, args);
    if (rc == EXIT_OK && c->run) {
        rc = c->run(cli, c, args);
        json_decref(args);
        return rc;
    }
    if (rc == EXIT_OK)
        rc = cli_call(cli, c->api, json_incref(args), &result);
    if (rc == EXIT_OK) {
        if (cli->json) {
            cli_print_json(result);
        } else if (c->print) {
            c->print(result, args);
        }
    }
    json_decref(result);
    json_decref(args);
    return rc;
}

void
cli_print_json(json_t *result)
{
    json_dumpf(result, stdout, JSON_INDENT(2) | JSON_ENCODE_ANY);
    putchar('\n');
}

/* ---- tables ---- */

struct table {
    int n_cols, n_rows, cap;
    char **cells; /* row-major, header first */
};

struct table *
table_create(int n_cols, const char *const *headers)
{
    struct table *t = xcalloc(1, sizeof *t);
    t->n_cols = n_cols;
    t->cap = 16;
    t->cells = xcalloc((size_t)t->cap * (size_t)n_cols, sizeof *t->cells);
    for (int c = 0; c < n_cols; c++)
        t->cells[c] = xstrdup(headers[c]);
    t->n_rows = 1;
    return t;
}

void
table_add(struct table *t, ...)
{
    if (t->n_rows == t->cap) {
        t->cap *= 2;
        t->cells = realloc(t->cells, (size_t)t->cap * (size_t)t->n_cols * sizeof *t->cells);
        if (!t->cells)
            abort();
    }
    va_list ap;
    va_start(ap, t);
    for (int c = 0; c < t->n_cols; c++) {
        const char *s = va_arg(ap, const char *);
        t->cells[t->n_rows * t->n_cols + c] = xstrdup(s ? s : "-");
    }
    va_end(ap);
    t->n_rows++;
}

void
table_print(struct table *t)
{
    int w[32] = {0};
    for (int r = 0; r < t->n_rows; r++)
        for (int c = 0; c < t->n_cols && c < 32; c++)
            w[c] = MAX(w[c], (int)strlen(t->cells[r * t->n_cols + c]));
    for (int r = 0; r < t->n_rows; r++) {
        for (int c = 0; c < t->n_cols; c++) {
            const char *s = t->cells[r * t->n_cols + c];
            if (c == t->n_cols - 1)
                printf("%s\n", s);
            else
                printf("%-*s  ", w[c], s);
            free(t->cells[r * t->n_cols + c]);
        }
    }
    free(t->cells);
    free(t);
}

static char *
ring_buf(void)
{
    static char bufs[16][128];
    static unsigned next;
    return bufs[next++ % 16];
}

const char *
fmt_json(json_t *v)
{
    char *b = ring_buf();
    if (json_is_string(v))
        snprintf(b, 128, "%s", json_string_value(v));
    else if (json_is_integer(v))
        snprintf(b, 128, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        snprintf(b, 128, "%.0f", json_real_value(v));
    else if (json_is_boolean(v))
        snprintf(b, 128, "%s", json_is_true(v) ? "yes" : "no");
    else
        snprintf(b, 128, "-");
    return b;
}

const char *
fmt_count(json_int_t n)
{
    char *b = ring_buf();
    if (n < 100000)
        snprintf(b, 128, "%lld", (long long)n);
    else if (n < 100000000)
        snprintf(b, 128, "%.1fk", n / 1e3);
    else
        snprintf(b, 128, "%.1fM", n / 1e6);
    return b;
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
