/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmdtab: dispatch of named commands to handlers and the reply envelope that
 * every transport (ctl, http) sends back.  See cmdtab.h for the contract.
 */
#include "lib/cmdtab.h"
#include "lib/util.h"

#include <errno.h>
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cmdtab {
    struct cmd_def *defs; /* copies of the definitions */
    void **auxes;         /* each definition's aux */
    size_t n_defs;
    void *aux;
    void (*enter)(void *aux);
    void (*leave)(void *aux);
};

void
cmdtab_set_guard(struct cmdtab *tab, void (*enter)(void *aux), void (*leave)(void *aux))
{
    tab->enter = enter;
    tab->leave = leave;
}

int
cmdtab_add_aux(struct cmdtab *tab, const struct cmd_def *defs, size_t n_defs, void *aux)
{
    size_t n = tab->n_defs + n_defs;
    struct cmd_def *d = realloc(tab->defs, (n ? n : 1) * sizeof *d);
    if (!d)
        return -ENOMEM;
    tab->defs = d;
    void **a = realloc(tab->auxes, (n ? n : 1) * sizeof *a);
    if (!a)
        return -ENOMEM;
    tab->auxes = a;
    memcpy(tab->defs + tab->n_defs, defs, n_defs * sizeof *defs);
    for (size_t i = tab->n_defs; i < n; i++)
        tab->auxes[i] = aux;
    tab->n_defs = n;
    return 0;
}

int
cmdtab_add(struct cmdtab *tab, const struct cmd_def *defs, size_t n_defs)
{
    return cmdtab_add_aux(tab, defs, n_defs, tab->aux);
}

struct cmdtab *
cmdtab_create(const struct cmd_def *defs, size_t n_defs, void *aux)
{
    struct cmdtab *tab = calloc(1, sizeof *tab);
    if (!tab)
        return NULL;
    tab->aux = aux;
    if (cmdtab_add(tab, defs, n_defs) < 0) {
        cmdtab_destroy(tab);
        return NULL;
    }
    return tab;
}

void
cmdtab_destroy(struct cmdtab *tab)
{
    if (tab) {
        free(tab->defs);
        free(tab->auxes);
    }
    free(tab);
}

/* The envelope must always exist: callers write it to a socket and have no
 * better answer to give.  Jansson only fails here on allocation failure. */
static json_t *
must(json_t *j)
{
    if (!j)
        abort();
    return j;
}

/* A JSON string from 'msg', which may come from a handler and so need not be
 * valid UTF-8: bytes that are not get replaced by '?'. */
static json_t *
json_string_lossy(char *msg)
{
    str_one_line(msg);
    json_t *s = json_string(msg);
    if (s)
        return s;
    for (unsigned char *p = (unsigned char *)msg; *p; p++)
        if (*p >= 0x80)
            *p = '?';
    return must(json_string(msg));
}

static json_t *
envelope_error(const char *code, char *msg)
{
    json_t *env = must(json_object());
    json_object_set_new(env, "ok", json_false());
    json_object_set_new(env, "error", json_string_lossy(msg));
    json_object_set_new(env, "code", must(json_string(code)));
    return env;
}

json_t *
cmdtab_error(const char *code, const char *fmt, ...)
{
    char *msg;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&msg, fmt, ap);
    va_end(ap);
    if (n < 0)
        abort();
    json_t *env = envelope_error(code, msg);
    free(msg);
    return env;
}

static json_t *
envelope_ok(json_t *result)
{
    json_t *env = must(json_object());
    json_object_set_new(env, "ok", json_true());
    json_object_set_new(env, "result", result ? result : json_null());
    return env;
}

const char *
cmdtab_code_for_errno(int err)
{
    switch (err) {
    case -EINVAL:
        return "usage";
    case -ENOENT:
        return "notfound";
    case -EEXIST:
        return "exists";
    default:
        return "failed";
    }
}

static bool
may_call(const struct cmd_def *d, unsigned caller)
{
    return caller == CMD_LOCAL || (d->roles & caller & ~CMD_LOCAL);
}

static json_t *
help(const struct cmdtab *tab, unsigned caller)
{
    json_t *list = must(json_array());
    for (size_t i = 0; i < tab->n_defs; i++) {
        const struct cmd_def *d = &tab->defs[i];
        if (!may_call(d, caller))
            continue;
        json_array_append_new(list, must(json_pack("{s:s, s:s}", "name", d->name, "usage",
                                                   d->usage ? d->usage : "")));
    }
    json_array_append_new(list, must(json_pack("{s:s, s:s}", "name", "help", "usage", "")));
    return envelope_ok(list);
}

static const struct cmd_def *
lookup(const struct cmdtab *tab, const char *name)
{
    for (size_t i = 0; i < tab->n_defs; i++)
        if (!strcmp(tab->defs[i].name, name))
            return &tab->defs[i];
    return NULL;
}

json_t *
cmdtab_dispatch(struct cmdtab *tab, const char *name, json_t *args, const char *peer)
{
    return cmdtab_dispatch_payload(tab, name, args, NULL, 0, peer, CMD_LOCAL);
}

json_t *
cmdtab_dispatch_payload(struct cmdtab *tab, const char *name, json_t *args, const void *payload,
                        size_t payload_len, const char *peer, unsigned caller)
{
    if (!name)
        return cmdtab_error("bad-request", "missing command name");
    if (args && !json_is_object(args))
        return cmdtab_error("bad-request", "arguments must be a JSON object");

    const struct cmd_def *def = lookup(tab, name);
    if (!def) {
        if (!strcmp(name, "help"))
            return help(tab, caller);
        return cmdtab_error("unknown-command", "unknown command '%s' (try 'help')", name);
    }
    if (!may_call(def, caller))
        return cmdtab_error("forbidden", "%s: not allowed to this caller", name);

    json_t *empty = NULL;
    if (!args)
        args = empty = must(json_object());

    struct cmd_ctx ctx = {.aux = tab->auxes[def - tab->defs],
                          .peer = peer ? peer : "unknown",
                          .caller = caller,
                          .payload = payload,
                          .payload_len = payload ? payload_len : 0};
    json_t *result = NULL;
    char err[ERR_LEN] = "";
    bool guarded = !(def->flags & CMD_UNGUARDED);
    if (guarded && tab->enter)
        tab->enter(tab->aux);
    int rc = def->fn(&ctx, args, &result, err, sizeof err);
    if (guarded && tab->leave)
        tab->leave(tab->aux);
    json_decref(empty);

    if (!rc)
        return envelope_ok(result);
    json_decref(result);
    /* A handler that returns a positive errno meant the negative one. */
    if (rc > 0)
        rc = -rc;
    json_t *env;
    if (err[0])
        env = envelope_error(cmdtab_code_for_errno(rc), err);
    else
        env = cmdtab_error(cmdtab_code_for_errno(rc), "%s: %s", name, strerror(-rc));
    return env;
}

json_t *
cmdtab_dispatch_text(struct cmdtab *tab, const char *text, size_t len, const char *peer)
{
    json_error_t jerr;
    json_t *req = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!req)
        return cmdtab_error("bad-request", "malformed JSON at line %d column %d: %s", jerr.line,
                            jerr.column, jerr.text);

    json_t *env;
    json_t *cmd = json_object_get(req, "cmd");
    json_t *args = json_object_get(req, "args");
    if (!json_is_object(req))
        env = cmdtab_error("bad-request", "request must be a JSON object");
    else if (!json_is_string(cmd))
        env = cmdtab_error("bad-request", "request needs \"cmd\": a string");
    else if (args && !json_is_object(args))
        env = cmdtab_error("bad-request", "\"args\" must be a JSON object");
    else if (strlen(json_string_value(cmd)) != json_string_length(cmd))
        env = cmdtab_error("bad-request", "\"cmd\" contains a NUL character");
    else
        env = cmdtab_dispatch(tab, json_string_value(cmd), args, peer);
    json_decref(req);
    return env;
}

static json_t *
arg_get(json_t *args, const char *key)
{
    return json_is_object(args) ? json_object_get(args, key) : NULL;
}

static int
arg_str(json_t *args, const char *key, bool required, const char **out, char *err, size_t err_len)
{
    json_t *v = arg_get(args, key);
    if (!v) {
        if (required)
            return err_set(err, err_len, -EINVAL, "missing argument '%s'", key);
        return 0;
    }
    if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
        return err_set(err, err_len, -EINVAL, "argument '%s' must be a string", key);
    *out = json_string_value(v);
    return 0;
}

int
cmd_arg_str(json_t *args, const char *key, const char **out, char *err, size_t err_len)
{
    return arg_str(args, key, true, out, err, err_len);
}

const char *
cmd_arg_unknown(json_t *obj, const char *const *known)
{
    const char *k;
    json_t *v;
    json_object_foreach (obj, k, v) {
        size_t i = 0;
        while (known[i] && strcmp(known[i], k))
            i++;
        if (!known[i])
            return k;
    }
    return NULL;
}

int
cmd_arg_str_opt(json_t *args, const char *key, const char **out, char *err, size_t err_len)
{
    return arg_str(args, key, false, out, err, err_len);
}

static int
arg_int(json_t *args, const char *key, bool required, long min, long max, long *out, char *err,
        size_t err_len)
{
    json_t *v = arg_get(args, key);
    if (!v) {
        if (required)
            return err_set(err, err_len, -EINVAL, "missing argument '%s'", key);
        return 0;
    }
    json_int_t i = json_is_integer(v) ? json_integer_value(v) : 0;
    if (!json_is_integer(v) || i < min || i > max)
        return err_set(err, err_len, -EINVAL, "argument '%s' must be an integer in %ld..%ld", key,
                       min, max);
    *out = (long)i;
    return 0;
}

int
cmd_arg_int(json_t *args, const char *key, long min, long max, long *out, char *err, size_t err_len)
{
    return arg_int(args, key, true, min, max, out, err, err_len);
}

int
cmd_arg_int_opt(json_t *args, const char *key, long min, long max, long *out, char *err,
                size_t err_len)
{
    return arg_int(args, key, false, min, max, out, err, err_len);
}

int
json_digest(const json_t *v, char hex[JSON_DIGEST_HEX])
{
    char *text = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    if (!text)
        return -ENOMEM;
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)text, strlen(text), md);
    free(text);
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return 0;
}
