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
    int timeout_ms; /* of a call to hostd; 0: the default (30 s) */
};

/* Option parsing for commands: positional names first, then --flags. */
enum cli_opt_type { OPT_STR, OPT_INT, OPT_NUM, OPT_FLAG };
struct cli_opt {
    const char *flag; /* "--vlan" */
    const char *key;  /* "vlan" */
    enum cli_opt_type type;
    bool required;
};

/* One command of an object: how its words become the API call's arguments,
 * and how the result is printed (NULL: print nothing on success). */
struct cli_cmd {
    const char *name;           /* "add" */
    const char *usage;          /* "NAME --vlan ID [--mtu BYTES]" */
    const char *api;            /* "portgroup.add" */
    const char *const *pos;     /* keys of the positional arguments */
    int n_pos;                  /* -1: the arguments go to 'run' as "_argv" */
    const struct cli_opt *opts; /* terminated by {0}; NULL: none */
    void (*print)(json_t *result, json_t *args);
    /* Instead of one call and 'print': does the whole command (calls, waits,
     * prints) and returns the exit status. */
    int (*run)(struct cli *, const struct cli_cmd *, json_t *args);
};

struct cli_object {
    const char *name;
    const struct cli_cmd *cmds;
    size_t n_cmds;
};
#define CLI_OBJECT(name_, cmds_)                                                                   \
    {                                                                                              \
        name_, cmds_, sizeof cmds_ / sizeof cmds_[0]                                               \
    }

/* Calls 'cmd' with 'args' (consumed) on hostd.  Returns EXIT_OK with '*result'
 * set (caller frees), or prints a one-line error and returns EXIT_FAILED or
 * EXIT_USAGE. */
int cli_call(struct cli *, const char *cmd, json_t *args, json_t **result);

/* Runs command argv[0] of 'obj' (parse, call, print).  Returns the exit status. */
int cli_object_run(struct cli *, const struct cli_object *obj, int argc, char **argv);
/* The same with the words of 'args' "_argv" (a command of n_pos -1): a
 * command of a sub-object ("alarm def list"). */
int cli_object_run_sub(struct cli *, const struct cli_object *obj, json_t *args);

/* Prints "dsectl: OBJECT: unknown command 'x'" etc. and returns EXIT_USAGE. */
int cli_usage_error(const char *object, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A text table: add a header, rows of cells, print aligned. */
struct table;
struct table *table_create(int n_cols, const char *const *headers);
void table_add(struct table *, ...); /* n_cols strings (copied; NULL: "-") */
void table_add_row(struct table *, const char *const *cells); /* the same, from an array */
void table_print(struct table *);                             /* prints and frees */

/* Formats JSON scalars for tables into a static ring of buffers. */
const char *fmt_json(json_t *v);
const char *fmt_count(json_int_t n); /* 1234567 -> "1.2M" */

/* Prints 'result' as -j wants it. */
void cli_print_json(json_t *result);
/* `dsectl support-bundle -o FILE [--force]` (cmd-support.c): argv[0] is
 * "support-bundle".  Returns the exit status. */
int cli_support_bundle(struct cli *, int argc, char **argv);

/* cmd-manager.c: OBJECT VERB against the manager's REST API ('url' and 'ca'
 * may be NULL: the environment, then the config file login writes). */
int cli_manager(const char *url, const char *ca, bool json, int argc, char **argv);

extern const struct cli_object cli_dpu, cli_switch, cli_portgroup, cli_port, cli_mac, cli_vm,
    cli_flow, cli_software, cli_host, cli_alarm, cli_event, cli_monitor, cli_dfw;

/* cmd-monitor.c: `dpu stats` and `host stats` ([--watch]), `host metrics`. */
int cli_dpu_stats(struct cli *, const struct cli_cmd *, json_t *args);
int cli_host_stats(struct cli *, const struct cli_cmd *, json_t *args);
void cli_print_metrics(json_t *result, json_t *args);
/* cmd-dpu.c: the HA state (dpu failover, host dpu-mode, host ha). */
void cli_print_ha(json_t *result, json_t *args);
void cli_print_host_ha(json_t *result, json_t *args);

#endif
