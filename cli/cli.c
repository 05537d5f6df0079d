/* SPDX-License-Identifier: Apache-2.0 */
/* cli: what every dsectl object shares (cli/dsectl.h): the call to hostd over
 * its control socket, option parsing, tables and the formatting of values. */
#include "cli/dsectl.h"

#include <errno.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ctl.h"
#include "lib/util.h"

#define CALL_TIMEOUT_MS 30000

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

int
cli_object_run_sub(struct cli *cli, const struct cli_object *obj, json_t *args)
{
    json_t *argv_j = json_object_get(args, "_argv");
    int argc = (int)json_array_size(argv_j);
    if (!argc)
        return cli_usage_error(obj->name, "which command? (dsectl help)");
    char **argv = xcalloc((size_t)argc + 1, sizeof *argv);
    for (int i = 0; i < argc; i++)
        argv[i] = (char *)json_string_value(json_array_get(argv_j, (size_t)i));
    int rc = cli_object_run(cli, obj, argc, argv);
    free(argv);
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
table_add_row(struct table *t, const char *const *cells)
{
    if (t->n_rows == t->cap) {
        t->cap *= 2;
        t->cells = realloc(t->cells, (size_t)t->cap * (size_t)t->n_cols * sizeof *t->cells);
        if (!t->cells)
            abort();
    }
    for (int c = 0; c < t->n_cols; c++)
        t->cells[t->n_rows * t->n_cols + c] = xstrdup(cells[c] ? cells[c] : "-");
    t->n_rows++;
}

void
table_add(struct table *t, ...)
{
    const char *cells[32];
    va_list ap;
    va_start(ap, t);
    for (int c = 0; c < t->n_cols && c < 32; c++)
        cells[c] = va_arg(ap, const char *);
    va_end(ap);
    table_add_row(t, cells);
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
        /* Large or whole: no decimals; else as many as it has (0.75, not
         * 1).  The size first: a cast of a huge value would be undefined. */
        snprintf(b, 128,
                 fabs(json_real_value(v)) >= 1e6 ||
                         json_real_value(v) == (double)(long long)json_real_value(v)
                     ? "%.0f"
                     : "%.6g",
                 json_real_value(v));
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
