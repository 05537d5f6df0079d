/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dse-bundle: makes, signs, checks and describes unified images
 * (NAME-VERSION.dsebundle, lcm/bundle.h).  Glue only: the work is in lcm/.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lcm/bundle.h"
#include "config.h"
#include "lcm/manifest.h"
#include "lcm/sign.h"
#include "lib/util.h"

enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2 };

#define KEY_NAME "dse-bundle.key"
#define PUB_NAME "dse-bundle.pub"

static void
usage(FILE *f)
{
    fprintf(f, "usage: dse-bundle keygen --out-dir DIR\n"
               "       dse-bundle build --name NAME --version VERSION [--build BUILD]\n"
               "                        --component TARGET=DIR... [--key KEY] [--zstd] -o FILE\n"
               "       dse-bundle sign --key KEY FILE\n"
               "       dse-bundle verify --pubkey PUB FILE\n"
               "       dse-bundle inspect [-j] [--pubkey PUB] FILE\n"
               "\n"
               "A unified image is a tar of manifest.json (every file's size, mode and\n"
               "SHA-256, per target), manifest.sig (Ed25519 over the manifest) and the\n"
               "payload, payload/TARGET/PATH.  TARGET is host/ARCH (host/x86_64) or\n"
               "dpu/VENDOR/MODEL (dpu/dse-lab/vdpu-2); DIR holds that target's files\n"
               "(regular files and directories only).\n"
               "  keygen   writes DIR/" KEY_NAME " (private, 0600) and DIR/" PUB_NAME "\n"
               "  build    --build defaults to 0; created is now, or $SOURCE_DATE_EPOCH;\n"
               "           without --key the bundle is unsigned (for tests only)\n"
               "  sign     checks FILE's payload against its manifest, then rewrites it\n"
               "           signed by KEY (replacing any signature)\n"
               "  verify   checks the signature with PUB and every payload file; prints\n"
               "           one line \"ok ...\" or the reason for refusing\n"
               "  inspect  prints the manifest's summary; the signature is checked only\n"
               "           with --pubkey, the payload never (use verify)\n"
               "Exit status: 0 ok, 1 failed, 2 usage.\n");
}

struct opts {
    const char *cmd;
    const char *out_dir, *name, *version, *build, *key, *pubkey, *output, *file;
    struct bundle_source comps[MANIFEST_MAX_COMPONENTS];
    size_t n_comps;
    bool zstd, json;
};

enum {
    C_KEYGEN = 1 << 0,
    C_BUILD = 1 << 1,
    C_SIGN = 1 << 2,
    C_VERIFY = 1 << 3,
    C_INSPECT = 1 << 4,
};

static const struct {
    const char *name;
    unsigned cmds;
} commands[] = {
    {"keygen", C_KEYGEN}, {"build", C_BUILD},     {"sign", C_SIGN},
    {"verify", C_VERIFY}, {"inspect", C_INSPECT},
};

static bool
usage_err(char *err, size_t len, const char *fmt, const char *arg)
{
    snprintf(err, len, fmt, arg);
    return false;
}

/* Parses "--component TARGET=DIR". */
static bool
opt_component(struct opts *o, const char *val, char *err, size_t len)
{
    const char *eq = strchr(val, '=');
    if (o->n_comps == MANIFEST_MAX_COMPONENTS)
        return usage_err(err, len, "too many --component (%s)", val);
    char target[MANIFEST_MAX_TARGET + 1];
    if (!eq || !eq[1] || (size_t)(eq - val) >= sizeof target)
        return usage_err(err, len, "--component wants TARGET=DIR, not '%s'", val);
    memcpy(target, val, (size_t)(eq - val));
    target[eq - val] = '\0';
    if (!manifest_target_is_valid(target))
        return usage_err(err, len, "bad target '%s' (host/ARCH or dpu/VENDOR/MODEL)", target);
    /* 'val' lives in argv: the target is the part before '='. */
    ((char *)val)[eq - val] = '\0';
    o->comps[o->n_comps++] = (struct bundle_source){.target = val, .dir = eq + 1};
    return true;
}

/* Options taking a value: where to store it, and for which commands. */
static const char **
opt_slot(struct opts *o, const char *opt, unsigned cmd)
{
    const struct {
        const char *name;
        unsigned cmds;
        const char **slot;
    } table[] = {
        {"--out-dir", C_KEYGEN, &o->out_dir}, {"--name", C_BUILD, &o->name},
        {"--version", C_BUILD, &o->version},  {"--build", C_BUILD, &o->build},
        {"--key", C_BUILD | C_SIGN, &o->key}, {"--pubkey", C_VERIFY | C_INSPECT, &o->pubkey},
        {"-o", C_BUILD, &o->output},          {"--output", C_BUILD, &o->output},
    };
    for (size_t i = 0; i < ARRAY_SIZE(table); i++)
        if (!strcmp(opt, table[i].name) && (table[i].cmds & cmd))
            return table[i].slot;
    return NULL;
}

static bool
parse_opt(struct opts *o, unsigned cmd, char **argv, int *i, int argc, char *err, size_t len)
{
    const char *a = argv[*i];
    if (!strcmp(a, "--zstd") && cmd == C_BUILD)
        return o->zstd = true;
    if (!strcmp(a, "-j") && cmd == C_INSPECT)
        return o->json = true;
    bool is_comp = !strcmp(a, "--component") && cmd == C_BUILD;
    const char **slot = is_comp ? NULL : opt_slot(o, a, cmd);
    if (!slot && !is_comp)
        return usage_err(err, len, "unknown option '%s'", a);
    if (*i + 1 >= argc)
        return usage_err(err, len, "%s needs a value", a);
    const char *val = argv[++*i];
    if (is_comp)
        return opt_component(o, val, err, len);
    if (*slot)
        return usage_err(err, len, "%s given twice", a);
    *slot = val;
    return true;
}

static bool
check_required(const struct opts *o, unsigned cmd, char *err, size_t len)
{
    if (cmd == C_KEYGEN && !o->out_dir)
        return usage_err(err, len, "%s needs --out-dir DIR", o->cmd);
    if (cmd == C_BUILD && (!o->name || !o->version || !o->n_comps || !o->output))
        return usage_err(err, len, "%s needs --name, --version, --component and -o", o->cmd);
    if (cmd == C_BUILD && !name_is_valid(o->name, MANIFEST_MAX_NAME))
        return usage_err(err, len, "bad name '%s' ([A-Za-z0-9_.-], 64 at most)", o->name);
    if (cmd == C_BUILD && !manifest_version_is_valid(o->version))
        return usage_err(err, len, "bad version '%s' (dotted numbers: 0.1.0)", o->version);
    if (cmd == C_SIGN && !o->key)
        return usage_err(err, len, "%s needs --key KEY", o->cmd);
    if (cmd == C_VERIFY && !o->pubkey)
        return usage_err(err, len, "%s needs --pubkey PUB", o->cmd);
    if ((cmd & (C_SIGN | C_VERIFY | C_INSPECT)) && !o->file)
        return usage_err(err, len, "%s needs a FILE", o->cmd);
    return true;
}

static bool
parse_args(int argc, char **argv, struct opts *o, unsigned *cmd, char *err, size_t len)
{
    *o = (struct opts){.cmd = argv[1]};
    *cmd = 0;
    for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
        if (!strcmp(argv[1], commands[i].name))
            *cmd = commands[i].cmds;
    if (!*cmd)
        return usage_err(err, len, "unknown command '%s'", argv[1]);
    for (int i = 2; i < argc; i++) {
        if (argv[i][0] == '-' && argv[i][1]) {
            if (!parse_opt(o, *cmd, argv, &i, argc, err, len))
                return false;
        } else if (!(*cmd & (C_SIGN | C_VERIFY | C_INSPECT)) || o->file) {
            return usage_err(err, len, "unexpected argument '%s'", argv[i]);
        } else {
            o->file = argv[i];
        }
    }
    return check_required(o, *cmd, err, len);
}

/* ---- commands ---------------------------------------------------------- */

static int
fail(const char *what, const char *reason)
{
    fprintf(stderr, "dse-bundle: %s: %s\n", what, reason);
    return EXIT_FAILED;
}

static int
cmd_keygen(const struct opts *o)
{
    char key[4096], pub[4096];
    snprintf(key, sizeof key, "%s/%s", o->out_dir, KEY_NAME);
    snprintf(pub, sizeof pub, "%s/%s", o->out_dir, PUB_NAME);
    int rc = fs_mkdir_p(o->out_dir, 0700);
    if (rc)
        return fail(o->out_dir, strerror(-rc));
    struct sign_key *k;
    rc = sign_key_generate(&k);
    if (!rc)
        rc = sign_key_save(k, key, pub);
    sign_key_destroy(k);
    if (rc == -EEXIST)
        return fail(o->out_dir, "a key is already there; not overwriting it");
    if (rc)
        return fail(o->out_dir, strerror(-rc));
    printf("wrote %s (private, 0600) and %s\n", key, pub);
    return EXIT_OK;
}

/* "now", or $SOURCE_DATE_EPOCH for reproducible builds. */
static bool
created_now(char buf[static 32])
{
    const char *sde = getenv("SOURCE_DATE_EPOCH");
    long t = (long)time(NULL);
    if (sde && !parse_long(sde, 0, 253402300799L, &t))
        return false;
    time_t tt = (time_t)t;
    struct tm tm;
    strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&tt, &tm));
    return true;
}

static int
cmd_build(const struct opts *o)
{
    char created[32], err[BUNDLE_ERR_LEN];
    if (!created_now(created))
        return fail("SOURCE_DATE_EPOCH", "not a number of seconds");
    struct sign_key *key = NULL;
    if (o->key && sign_key_load_private(o->key, &key, err, sizeof err))
        return fail("--key", err);
    const struct bundle_spec spec = {
        .name = o->name,
        .version = o->version,
        .build = o->build ? o->build : "0",
        .created = created,
        .sources = o->comps,
        .n_sources = o->n_comps,
        .zstd = o->zstd,
    };
    bool is_signed = key != NULL;
    int rc = bundle_build(&spec, o->output, key, err, sizeof err);
    sign_key_destroy(key);
    if (rc)
        return fail(o->output, err);
    printf("wrote %s (%s)\n", o->output, is_signed ? "signed" : "unsigned");
    return EXIT_OK;
}

static int
cmd_sign(const struct opts *o)
{
    char err[BUNDLE_ERR_LEN];
    struct sign_key *key;
    if (sign_key_load_private(o->key, &key, err, sizeof err))
        return fail("--key", err);
    int rc = bundle_sign(o->file, key, err, sizeof err);
    sign_key_destroy(key);
    if (rc)
        return fail(o->file, err);
    printf("signed %s\n", o->file);
    return EXIT_OK;
}

/* Opens o->file, checking the signature when --pubkey was given. */
static int
open_bundle(const struct opts *o, struct bundle **b)
{
    char err[BUNDLE_ERR_LEN];
    struct sign_key *pub = NULL;
    if (o->pubkey && sign_key_load_public(o->pubkey, &pub, err, sizeof err))
        return fail("--pubkey", err);
    int rc = bundle_open(o->file, pub, NULL, b, err, sizeof err);
    sign_key_destroy(pub);
    return rc ? fail(o->file, err) : EXIT_OK;
}

static int
cmd_verify(const struct opts *o)
{
    char err[BUNDLE_ERR_LEN];
    struct bundle *b;
    if (open_bundle(o, &b))
        return EXIT_FAILED;
    int rc = bundle_verify(b, err, sizeof err);
    if (!rc) {
        const struct manifest *m = bundle_manifest(b);
        printf("ok %s: %s %s build %s, %zu components, %zu files, signature valid\n", o->file,
               m->name, m->version, m->build, m->n_components, m->n_files);
    }
    bundle_close(b);
    return rc ? fail(o->file, err) : EXIT_OK;
}

static void
print_inspect(json_t *j)
{
    const char *sig = json_string_value(json_object_get(j, "signature"));
    printf("name         %s\n", json_string_value(json_object_get(j, "name")));
    printf("version      %s\n", json_string_value(json_object_get(j, "version")));
    printf("build        %s\n", json_string_value(json_object_get(j, "build")));
    printf("created      %s\n", json_string_value(json_object_get(j, "created")));
    printf("signature    %s%s\n", sig, strcmp(sig, "unchecked") ? "" : " (check it with --pubkey)");
    printf("compression  %s\n", json_string_value(json_object_get(j, "compression")));
    printf("size         %lld bytes in %lld files\n",
           (long long)json_integer_value(json_object_get(j, "size")),
           (long long)json_integer_value(json_object_get(j, "files")));
    printf("\n%-32s %6s %12s\n", "TARGET", "FILES", "BYTES");
    size_t i;
    json_t *c;
    json_array_foreach (json_object_get(j, "components"), i, c) {
        printf("%-32s %6lld %12lld\n", json_string_value(json_object_get(c, "target")),
               (long long)json_integer_value(json_object_get(c, "files")),
               (long long)json_integer_value(json_object_get(c, "size")));
    }
}

static int
cmd_inspect(const struct opts *o)
{
    struct bundle *b;
    if (open_bundle(o, &b))
        return EXIT_FAILED;
    json_t *j = bundle_inspect(b);
    bundle_close(b);
    if (!j)
        return fail(o->file, strerror(ENOMEM));
    if (o->json) {
        json_dumpf(j, stdout, JSON_INDENT(2));
        putchar('\n');
    } else {
        print_inspect(j);
    }
    json_decref(j);
    return EXIT_OK;
}

int
main(int argc, char **argv)
{
    if (argc >= 2 &&
        (!strcmp(argv[1], "help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        usage(stdout);
        return EXIT_OK;
    }
    if (argc >= 2 && !strcmp(argv[1], "--version")) {
        printf("dse-bundle %s\n", DSE_VERSION);
        return EXIT_OK;
    }
    struct opts o;
    unsigned cmd;
    char err[256];
    if (argc < 2) {
        fprintf(stderr, "dse-bundle: missing command (try 'dse-bundle help')\n");
        return EXIT_USAGE;
    }
    if (!parse_args(argc, argv, &o, &cmd, err, sizeof err)) {
        fprintf(stderr, "dse-bundle: %s (try 'dse-bundle help')\n", err);
        return EXIT_USAGE;
    }
    switch (cmd) {
    case C_KEYGEN:
        return cmd_keygen(&o);
    case C_BUILD:
        return cmd_build(&o);
    case C_SIGN:
        return cmd_sign(&o);
    case C_VERIFY:
        return cmd_verify(&o);
    default:
        return cmd_inspect(&o);
    }
}
