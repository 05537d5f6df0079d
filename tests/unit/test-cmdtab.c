/* SPDX-License-Identifier: Apache-2.0 */
#include "tests/unit/check.h"
#include "lib/authz.h"
#include "lib/cmdtab.h"
#include "lib/util.h"

#include <errno.h>

static int
cmd_echo(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    *result = json_incref(args);
    return 0;
}

static int
cmd_null(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    return 0;
}

static int
cmd_peer(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    *result = json_pack("{s:s, s:i}", "peer", ctx->peer, "aux", *(int *)ctx->aux);
    return 0;
}

static int
cmd_vlan(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    const char *name;
    long vlan, mtu = 1500;
    int rc;
    if ((rc = cmd_arg_str(args, "name", &name, err, err_len)) ||
        (rc = cmd_arg_int(args, "vlan", 1, 4094, &vlan, err, err_len)) ||
        (rc = cmd_arg_int_opt(args, "mtu", 68, 9000, &mtu, err, err_len)))
        return rc;
    *result = json_pack("{s:s, s:i, s:i}", "name", name, "vlan", (int)vlan, "mtu", (int)mtu);
    return 0;
}

/* Fails with the errno given in args.rc, with a message unless args.quiet. */
static int
cmd_fails(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    long rc = -EIO;
    const char *quiet = NULL;
    cmd_arg_int_opt(args, "rc", -200, 200, &rc, err, err_len);
    cmd_arg_str_opt(args, "quiet", &quiet, err, err_len);
    *result = json_string("leaked unless the dispatcher frees it");
    if (quiet)
        return (int)rc;
    return err_set(err, err_len, (int)rc, "it failed with %ld", rc);
}

static const struct cmd_def defs[] = {
    {.name = "echo", .usage = "[ARGS]", .fn = cmd_echo, .roles = AUTHZ_HOST | AUTHZ_MANAGER},
    {.name = "null", .usage = "", .fn = cmd_null, .roles = AUTHZ_MANAGER},
    {.name = "peer", .usage = "", .fn = cmd_peer},
    {.name = "vlan.set", .usage = "--name NAME --vlan ID [--mtu N]", .fn = cmd_vlan},
    {.name = "fails", .usage = "[--rc ERRNO]", .fn = cmd_fails},
};

static int aux = 42;

static struct cmdtab *
tab_new(void)
{
    return cmdtab_create(defs, sizeof defs / sizeof defs[0], &aux);
}

static const char *
code_of(json_t *env)
{
    return json_string_value(json_object_get(env, "code"));
}

static const char *
error_of(json_t *env)
{
    return json_string_value(json_object_get(env, "error"));
}

static void
dispatch_ok_envelope_carries_result(void)
{
    struct cmdtab *tab = tab_new();
    json_t *args = json_pack("{s:i}", "x", 7);
    json_t *env = cmdtab_dispatch(tab, "echo", args, "unix");
    json_decref(args);
    ASSERT_TRUE(json_is_true(json_object_get(env, "ok")));
    ASSERT_EQ(json_integer_value(json_object_get(json_object_get(env, "result"), "x")), 7);
    json_decref(env);

    env = cmdtab_dispatch(tab, "null", NULL, "unix");
    ASSERT_TRUE(json_is_true(json_object_get(env, "ok")));
    ASSERT_TRUE(json_is_null(json_object_get(env, "result")));
    json_decref(env);

    env = cmdtab_dispatch(tab, "peer", NULL, "127.0.0.1:1 cn=cli");
    json_t *res = json_object_get(env, "result");
    ASSERT_STREQ(json_string_value(json_object_get(res, "peer")), "127.0.0.1:1 cn=cli");
    ASSERT_EQ(json_integer_value(json_object_get(res, "aux")), 42);
    json_decref(env);
    cmdtab_destroy(tab);
}

static void
dispatch_maps_errno_to_code(void)
{
    static const struct {
        int rc;
        const char *code;
    } cases[] = {
        {-EINVAL, "usage"}, {-ENOENT, "notfound"}, {-EEXIST, "exists"},
        {-EIO, "failed"},   {-EPERM, "failed"},    {EEXIST, "exists"},
    };
    struct cmdtab *tab = tab_new();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *args = json_pack("{s:i}", "rc", cases[i].rc);
        json_t *env = cmdtab_dispatch(tab, "fails", args, "unix");
        json_decref(args);
        ASSERT_TRUE(json_is_false(json_object_get(env, "ok")));
        ASSERT_STREQ(code_of(env), cases[i].code);
        ASSERT_NULL(json_object_get(env, "result"));
        json_decref(env);
    }
    ASSERT_STREQ(cmdtab_code_for_errno(-ENOENT), "notfound");
    ASSERT_STREQ(cmdtab_code_for_errno(0), "failed");
    cmdtab_destroy(tab);
}

static void
dispatch_without_message_uses_strerror(void)
{
    struct cmdtab *tab = tab_new();
    json_t *args = json_pack("{s:i, s:s}", "rc", -ENOENT, "quiet", "y");
    json_t *env = cmdtab_dispatch(tab, "fails", args, "unix");
    json_decref(args);
    ASSERT_STREQ(code_of(env), "notfound");
    ASSERT_STREQ(error_of(env), "fails: No such file or directory");
    json_decref(env);

    args = json_pack("{s:i}", "rc", -EIO);
    env = cmdtab_dispatch(tab, "fails", args, "unix");
    json_decref(args);
    ASSERT_STREQ(error_of(env), "it failed with -5");
    json_decref(env);
    cmdtab_destroy(tab);
}

static void
help_lists_every_command(void)
{
    struct cmdtab *tab = tab_new();
    json_t *env = cmdtab_dispatch(tab, "help", NULL, "unix");
    json_t *list = json_object_get(env, "result");
    ASSERT_TRUE(json_is_true(json_object_get(env, "ok")));
    ASSERT_EQ(json_array_size(list), sizeof defs / sizeof defs[0] + 1);
    json_t *vlan = json_array_get(list, 3);
    ASSERT_STREQ(json_string_value(json_object_get(vlan, "name")), "vlan.set");
    ASSERT_STREQ(json_string_value(json_object_get(vlan, "usage")),
                 "--name NAME --vlan ID [--mtu N]");
    json_t *help = json_array_get(list, json_array_size(list) - 1);
    ASSERT_STREQ(json_string_value(json_object_get(help, "name")), "help");
    json_decref(env);
    cmdtab_destroy(tab);
}

static void
unknown_command_suggests_help(void)
{
    struct cmdtab *tab = tab_new();
    json_t *env = cmdtab_dispatch(tab, "frob", NULL, "unix");
    ASSERT_TRUE(json_is_false(json_object_get(env, "ok")));
    ASSERT_STREQ(code_of(env), "unknown-command");
    ASSERT_STREQ(error_of(env), "unknown command 'frob' (try 'help')");
    json_decref(env);
    cmdtab_destroy(tab);
}

static void
dispatch_text_refuses_malformed_requests(void)
{
    static const char *const bad[] = {
        "",
        "{",
        "not json",
        "[1,2]",
        "{\"args\":{}}",
        "{\"cmd\":5}",
        "{\"cmd\":\"echo\",\"args\":[1]}",
        "{\"cmd\":\"echo\",\"args\":\"x\"}",
        "{\"cmd\":\"echo\",\"args\":null}",
        "{\"cmd\":\"echo\",\"cmd\":\"echo\"}",
    };
    struct cmdtab *tab = tab_new();
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *env = cmdtab_dispatch_text(tab, bad[i], strlen(bad[i]), "unix");
        ASSERT_TRUE(json_is_false(json_object_get(env, "ok")));
        ASSERT_STREQ(code_of(env), "bad-request");
        json_decref(env);
    }
    json_t *args = json_integer(3);
    json_t *env = cmdtab_dispatch(tab, "echo", args, "unix");
    json_decref(args);
    ASSERT_STREQ(code_of(env), "bad-request");
    json_decref(env);
    cmdtab_destroy(tab);
}

static void
dispatch_text_runs_valid_requests(void)
{
    struct cmdtab *tab = tab_new();
    const char *req = "{\"cmd\":\"vlan.set\",\"args\":{\"name\":\"pg1\",\"vlan\":10}}";
    json_t *env = cmdtab_dispatch_text(tab, req, strlen(req), "unix");
    json_t *res = json_object_get(env, "result");
    ASSERT_TRUE(json_is_true(json_object_get(env, "ok")));
    ASSERT_EQ(json_integer_value(json_object_get(res, "vlan")), 10);
    ASSERT_EQ(json_integer_value(json_object_get(res, "mtu")), 1500);
    json_decref(env);

    req = "{\"cmd\":\"help\"}";
    env = cmdtab_dispatch_text(tab, req, strlen(req), "unix");
    ASSERT_TRUE(json_is_true(json_object_get(env, "ok")));
    json_decref(env);
    cmdtab_destroy(tab);
}

static void
arg_helpers_report_missing_wrong_type_and_range(void)
{
    static const struct {
        const char *args;
        const char *error;
    } cases[] = {
        {"{}", "missing argument 'name'"},
        {"{\"name\":3}", "argument 'name' must be a string"},
        {"{\"name\":\"pg\"}", "missing argument 'vlan'"},
        {"{\"name\":\"pg\",\"vlan\":\"10\"}", "argument 'vlan' must be an integer in 1..4094"},
        {"{\"name\":\"pg\",\"vlan\":10.0}", "argument 'vlan' must be an integer in 1..4094"},
        {"{\"name\":\"pg\",\"vlan\":0}", "argument 'vlan' must be an integer in 1..4094"},
        {"{\"name\":\"pg\",\"vlan\":4095}", "argument 'vlan' must be an integer in 1..4094"},
        {"{\"name\":\"pg\",\"vlan\":9223372036854775807}",
         "argument 'vlan' must be an integer in 1..4094"},
        {"{\"name\":\"pg\",\"vlan\":1,\"mtu\":true}",
         "argument 'mtu' must be an integer in 68..9000"},
    };
    struct cmdtab *tab = tab_new();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *args = json_loads(cases[i].args, 0, NULL);
        ASSERT_NOT_NULL(args);
        json_t *env = cmdtab_dispatch(tab, "vlan.set", args, "unix");
        json_decref(args);
        ASSERT_STREQ(code_of(env), "usage");
        ASSERT_STREQ(error_of(env), cases[i].error);
        json_decref(env);
    }

    /* Optional helpers leave the output alone when the key is absent. */
    const char *s = "keep";
    long v = 99;
    char err[ERR_LEN] = "";
    json_t *args = json_object();
    ASSERT_EQ(cmd_arg_str_opt(args, "x", &s, err, sizeof err), 0);
    ASSERT_EQ(cmd_arg_int_opt(args, "x", 0, 1, &v, err, sizeof err), 0);
    ASSERT_STREQ(s, "keep");
    ASSERT_EQ(v, 99);
    ASSERT_STREQ(err, "");
    ASSERT_EQ(cmd_arg_int(args, "x", 0, 1, &v, err, sizeof err), -EINVAL);
    ASSERT_STREQ(err, "missing argument 'x'");
    json_decref(args);
    cmdtab_destroy(tab);
}

static void
error_envelope_is_one_valid_line(void)
{
    json_t *env = cmdtab_error("failed", "bad \xff byte\nand newline");
    ASSERT_STREQ(error_of(env), "bad ? byte and newline");
    ASSERT_STREQ(code_of(env), "failed");
    json_decref(env);
}

static int guard_depth, guard_max, guard_calls;

static void
guard_in(void *a)
{
    ASSERT_EQ(*(int *)a, 42);
    guard_calls++;
    if (++guard_depth > guard_max)
        guard_max = guard_depth;
}

static void
guard_out(void *a)
{
    guard_depth--;
}

static int
cmd_in_guard(struct cmd_ctx *ctx, json_t *args, json_t **result, char *err, size_t err_len)
{
    *result = json_integer(guard_depth);
    return 0;
}

static void
guard_surrounds_every_handler(void)
{
    static const struct cmd_def gdefs[] = {
        {.name = "depth", .usage = "", .fn = cmd_in_guard},
        {.name = "free", .usage = "", .fn = cmd_in_guard, .flags = CMD_UNGUARDED},
    };
    struct cmdtab *t = cmdtab_create(gdefs, 2, &aux);
    cmdtab_set_guard(t, guard_in, guard_out);
    json_t *env = cmdtab_dispatch(t, "depth", NULL, "unix");
    ASSERT_EQ(json_integer_value(json_object_get(env, "result")), 1); /* inside */
    ASSERT_EQ(guard_depth, 0);                                        /* left after */
    json_decref(env);
    env = cmdtab_dispatch(t, "nope", NULL, "unix"); /* unknown: no handler, no guard */
    ASSERT_EQ(guard_calls, 1);
    json_decref(env);
    env = cmdtab_dispatch(t, "free", NULL, "unix"); /* unguarded */
    ASSERT_EQ(json_integer_value(json_object_get(env, "result")), 0);
    ASSERT_EQ(guard_calls, 1);
    json_decref(env);
    cmdtab_destroy(t);
}

/* Over the network a command runs only for the roles it names; locally,
 * everything runs. */
static void
roles_decide_who_may_call(void)
{
    struct cmdtab *t = tab_new();
    json_t *env = cmdtab_dispatch_payload(t, "echo", NULL, NULL, 0, "h", AUTHZ_HOST);
    ASSERT_TRUE(json_is_true(json_object_get(env, "ok")));
    json_decref(env);
    env = cmdtab_dispatch_payload(t, "null", NULL, NULL, 0, "h", AUTHZ_HOST);
    ASSERT_STREQ(json_string_value(json_object_get(env, "code")), "forbidden");
    ASSERT_STREQ(json_string_value(json_object_get(env, "error")),
                 "null: not allowed to this caller");
    json_decref(env);
    env = cmdtab_dispatch_payload(t, "null", NULL, NULL, 0, "m", AUTHZ_MANAGER);
    ASSERT_TRUE(json_is_true(json_object_get(env, "ok")));
    json_decref(env);
    /* A local-only command: no role may, the control socket may. */
    env = cmdtab_dispatch_payload(t, "peer", NULL, NULL, 0, "m", AUTHZ_ANY_ROLE);
    ASSERT_STREQ(json_string_value(json_object_get(env, "code")), "forbidden");
    json_decref(env);
    env = cmdtab_dispatch_payload(t, "echo", NULL, NULL, 0, "x", 0); /* no role at all */
    ASSERT_STREQ(json_string_value(json_object_get(env, "code")), "forbidden");
    json_decref(env);
    env = cmdtab_dispatch(t, "peer", NULL, "unix");
    ASSERT_TRUE(json_is_true(json_object_get(env, "ok")));
    json_decref(env);
    /* help: a DPU may call nothing here, so it sees only help itself. */
    env = cmdtab_dispatch_payload(t, "help", NULL, NULL, 0, "d", AUTHZ_DPU);
    ASSERT_EQ(json_array_size(json_object_get(env, "result")), 1);
    json_decref(env);
    env = cmdtab_dispatch_payload(t, "help", NULL, NULL, 0, "m", AUTHZ_MANAGER);
    ASSERT_EQ(json_array_size(json_object_get(env, "result")), 3); /* echo, null, help */
    json_decref(env);
    cmdtab_destroy(t);
}

static void
arg_unknown_names_the_first_key_not_known(void)
{
    static const char *const known[] = {"failback", "order", NULL};
    json_t *o = json_pack("{s:b,s:[]}", "failback", 1, "order");
    ASSERT_TRUE(cmd_arg_unknown(o, known) == NULL);
    json_object_set_new(o, "mode", json_string("lacp"));
    ASSERT_STREQ(cmd_arg_unknown(o, known), "mode");
    json_decref(o);
}

TEST_MAIN(TEST(guard_surrounds_every_handler), TEST(roles_decide_who_may_call),
          TEST(dispatch_ok_envelope_carries_result), TEST(dispatch_maps_errno_to_code),
          TEST(dispatch_without_message_uses_strerror), TEST(help_lists_every_command),
          TEST(unknown_command_suggests_help), TEST(dispatch_text_refuses_malformed_requests),
          TEST(dispatch_text_runs_valid_requests),
          TEST(arg_helpers_report_missing_wrong_type_and_range),
          TEST(error_envelope_is_one_valid_line), TEST(arg_unknown_names_the_first_key_not_known))
