/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmdtab: one command table per daemon, served by its control socket (ctl) and
 * its HTTP API (http), and called by dsectl through either.
 *
 * A request is a command name plus a JSON object of arguments.  A reply is an
 * envelope, the same on every transport:
 *
 *     {"ok": true,  "result": <any JSON>}
 *     {"ok": false, "error": "one line", "code": "usage"|"notfound"|"exists"|
 *                   "failed"|"unknown-command"|"bad-request"|"forbidden"}
 *
 * Handlers return 0 and set '*result' (a new reference; NULL means JSON null),
 * or a negative errno, with one line in 'err' (ERR_LEN bytes) where a reason
 * helps (else the envelope says "NAME: strerror").  The errno is
 * mapped to "code": -EINVAL -> "usage", -ENOENT -> "notfound", -EEXIST -> "exists",
 * anything else -> "failed".  The built-in command "help" lists every command with
 * its usage.
 *
 * Authorization (DESIGN.md section 11, lib/authz.h): each definition names the
 * roles that may call it over the network ('roles', authz role bits); 0 means
 * the local control socket only.  A call from the network carries its
 * caller's one role bit and is refused with code "forbidden" when the command
 * does not allow it; a local call (CMD_LOCAL) may run everything.  "help"
 * lists what the caller may run.
 *
 * Thread-safety: a cmdtab is immutable after creation (but for its guard, set
 * once before serving); dispatch runs the handler in the caller's thread,
 * between the guard's enter and leave when there is one, so handlers see
 * whatever locking their daemon chose.
 */
#ifndef DSE_CMDTAB_H
#define DSE_CMDTAB_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* The caller of a local control socket: may run every command. */
#define CMD_LOCAL (1U << 31)

struct cmd_ctx {
    void *aux;        /* the 'aux' given to cmdtab_create() */
    const char *peer; /* "unix" or "ADDR:PORT cn=NAME role=ROLE" */
    unsigned caller;  /* CMD_LOCAL, or the network caller's authz role bit */
    /* The request's binary payload (HTTP application/octet-stream, beside
     * the arguments), or NULL: bulk data without base64 inside JSON. */
    const void *payload;
    size_t payload_len;
};

typedef int (*cmd_fn)(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err,
                      size_t err_len);

enum cmd_flags {
    /* Runs outside the table's guard (cmdtab_set_guard): the handler reads
     * nothing the guard protects, or must not wait for it. */
    CMD_UNGUARDED = 1U << 0,
};

/* One command.  Tables are written with designated initializers; a field
 * left out is 0, which for 'roles' means the control socket only. */
struct cmd_def {
    const char *name;  /* "port.list" */
    const char *usage; /* "[--port NAME]": shown by help and dsectl */
    cmd_fn fn;
    unsigned roles; /* authz roles that may call it over the network; 0: local only */
    unsigned flags; /* enum cmd_flags */
};

struct cmdtab;

/* Copies the definitions (their strings must outlive the table).  Returns
 * NULL on ENOMEM. */
struct cmdtab *cmdtab_create(const struct cmd_def *defs, size_t n_defs, void *aux);
/* Adds more definitions (a module's own commands).  Returns 0 or -ENOMEM. */
int cmdtab_add(struct cmdtab *, const struct cmd_def *defs, size_t n_defs);
/* The same, with their own 'aux' in their cmd_ctx (a module shared by
 * several daemons; the guard still gets the table's). */
int cmdtab_add_aux(struct cmdtab *, const struct cmd_def *defs, size_t n_defs, void *aux);
void cmdtab_destroy(struct cmdtab *);

/* Runs every handler but those flagged CMD_UNGUARDED between enter(aux) and
 * leave(aux) (e.g. to keep worker threads away from the tables the handlers
 * read and write). */
void cmdtab_set_guard(struct cmdtab *, void (*enter)(void *aux), void (*leave)(void *aux));

/* Runs command 'name' with 'args' (borrowed; NULL means {}) for a local
 * caller (CMD_LOCAL).  Returns the reply envelope (caller owns the
 * reference).  Never returns NULL. */
json_t *cmdtab_dispatch(struct cmdtab *, const char *name, json_t *args, const char *peer);
/* The same for 'caller' (CMD_LOCAL, or a network caller's one authz role
 * bit: a command whose 'roles' lack it is refused with code "forbidden"),
 * with a binary payload (borrowed; the handler sees it in its cmd_ctx). */
json_t *cmdtab_dispatch_payload(struct cmdtab *, const char *name, json_t *args,
                                const void *payload, size_t payload_len, const char *peer,
                                unsigned caller);

/* Parses 'text' as a request {"cmd": NAME, "args": {...}} and dispatches it
 * for a local caller.  Malformed requests get an envelope with code
 * "bad-request".  Never NULL. */
json_t *cmdtab_dispatch_text(struct cmdtab *, const char *text, size_t len, const char *peer);

/* Builds an error envelope; 'code' as above.  Never returns NULL. */
json_t *cmdtab_error(const char *code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Maps a negative errno to the envelope's "code" string.  Can't fail. */
const char *cmdtab_code_for_errno(int err);

/* Argument helpers for handlers.  Each returns 0, or -EINVAL with one line in
 * 'err' ("missing argument 'name'", "argument 'vlan' must be an integer in
 * 1..4094").  Optional variants leave '*out' untouched when the key is absent. */
/* The first key of object 'obj' that is not one of 'known' (NULL-terminated),
 * or NULL when every key is known: what a refusal of an unknown field names. */
const char *cmd_arg_unknown(json_t *obj, const char *const *known);
int cmd_arg_str(json_t *args, const char *key, const char **out, char *err, size_t err_len);
int cmd_arg_str_opt(json_t *args, const char *key, const char **out, char *err, size_t err_len);
int cmd_arg_int(json_t *args, const char *key, long min, long max, long *out, char *err,
                size_t err_len);
int cmd_arg_int_opt(json_t *args, const char *key, long min, long max, long *out, char *err,
                    size_t err_len);

/* The SHA-256 of 'v''s canonical text (compact, keys sorted), in lowercase
 * hex: what two daemons compare to know they hold the same document (the
 * firewall's policy: docs/dfw.md).  Returns 0, or -ENOMEM. */
#define JSON_DIGEST_HEX 65
int json_digest(const json_t *v, char hex[JSON_DIGEST_HEX]);

#endif
