/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dsectl: the one CLI.  `dsectl OBJECT COMMAND [ARGS]`; each object lives in its
 * own file (cmd-OBJECT.c) and calls the host agent's command table through its
 * control socket.  Human tables by default, `-j` prints the same result as
 * JSON.  Exit status: 0 ok, 1 failed, 2 usage.
 */
#ifndef DSE_DSECTL_H
#define DSE_DSECTL_H

#include <jansson.h>
#include <stdbool.h>

enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2 };

struct cli {
    bool json;
    const char *socket;
};

struct cli_object {
    const char *name;
    const char *usage; /* one line per command, without "dsectl NAME " */
    int (*run)(struct cli *, int argc, char **argv); /* argv[0] is the command */
};

/* Calls 'cmd' with 'args' (consumed) on hostd.  Returns EXIT_OK with '*result'
 * set (caller frees), or prints a one-line error and returns EXIT_FAILED or
 * EXIT_USAGE. */
int cli_call(struct cli *, const char *cmd, json_t *args, json_t **result);

/* Calls 'cmd' and, on success, prints the result with 'print' (or as JSON with
 * -j).  Returns the exit status. */
int cli_run(struct cli *, const char *cmd, json_t *args, void (*print)(json_t *result));

/* Option parsing for commands: positional names first, then --flags. */
enum cli_opt_type { OPT_STR, OPT_INT };
struct cli_opt {
    const char *flag; /* "--vlan" */
    const char *key;  /* "vlan" */
    enum cli_opt_type type;
    bool required;
};
/* Fills 'args' from argv[1..]: 'n_pos' positional arguments named by 'pos_keys',
 * then flags.  Prints a usage error and returns EXIT_USAGE on bad input. */
int cli_parse(const char *object, int argc, char **argv, const char *const *pos_keys,
              int n_pos, const struct cli_opt *opts, json_t *args);

/* Prints "dsectl: OBJECT: unknown command 'x'" etc. and returns EXIT_USAGE. */
int cli_usage_error(const char *object, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A text table: add a header, rows of cells, print aligned. */
struct table;
struct table *table_create(int n_cols, const char *const *headers);
void table_add(struct table *, ...); /* n_cols strings (copied) */
void table_print(struct table *);    /* prints and frees */

/* Formats JSON scalars for tables into a static ring of buffers. */
const char *fmt_json(json_t *v);
const char *fmt_count(json_int_t n); /* 1234567 -> "1.2M" */

extern const struct cli_object cli_dpu, cli_switch, cli_portgroup, cli_port, cli_mac,
    cli_vm;

#endif
