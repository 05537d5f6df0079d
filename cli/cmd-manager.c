/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dsectl against the manager (`dsectl --manager URL ...`): the same OBJECT
 * VERB grammar over the manager's REST API (manager/api.h).
 *
 *   dsectl --manager https://127.0.0.1:8443 --ca CA.pem login --user admin
 *           (the password from --password-file F, or the first line of stdin)
 *   dsectl -M portgroup list | show NAME | del NAME
 *   dsectl -M portgroup add dvs1/pg-web --vlan 10     (any --FIELD VALUE of the spec)
 *   dsectl -M portgroup set dvs1/pg-web --vlan 11     (read, change, write back:
 *                                                      409 if someone changed it)
 *   dsectl -M host status h1
 *   dsectl -M host join-token h1     (prints a one-time token; on the host:
 *                                     dsectl host join --manager URL --token T)
 *   dsectl -M user list | add NAME --password-file F [--grant OBJECT=ROLE]...
 *   dsectl -M role list                              (what each role may do)
 *   dsectl -M audit list [--prefix KEY] [--limit N]
 *   dsectl -M task list | show ID | watch ID | cancel ID
 *   dsectl -M software install HOST --bundle PATH [--update] [--dry-run] [--fresh]
 *                                       (a task; PATH on the host; administer on it)
 *   dsectl -M dpu failover HOST --to DPU (a task)
 *   dsectl -M alarm list [--host H] [--severity red|yellow|gray|green] [--all]
 *   dsectl -M alarm ack HOST ID                      (a task: dsectl -M task watch)
 *   dsectl -M event list [--object H[/OBJECT]] [--since T] [--until T] [--type PREFIX]
 *                        [--limit N]    (T: ms since the epoch, or ago: 30s, 10m, 2h, 1d)
 *   dsectl -M dfw group|service|section|rule list | show NAME | del NAME
 *   dsectl -M dfw group add|set NAME [--vm VM] [--tag T] [--portgroup S/P] [--cidr C]
 *                        [--mac M] [--description D]
 *   dsectl -M dfw service add|set NAME --proto tcp|udp|icmp|icmpv6|any [--port N[-M]]
 *                        [--type N] [--code N] [--proto ...]  (each --proto an entry)
 *   dsectl -M dfw section add|set NAME [--order N]
 *   dsectl -M dfw rule add|set SECTION/RULE --action allow|drop|reject [--src G]
 *                        [--dst G] [--service S] [--applied-to G]
 *                        [--direction in|out|inout] [--log] [--order N]
 *                        (a list flag repeats, or takes a,b; set replaces the lists given)
 *   dsectl -M dfw stats [--host H]    (the counters per rule, over the fleet or one host)
 *   dsectl -M dfw policy --host H     (the policy the host gets, as JSON)
 *
 * The manager's URL, CA and token: --manager URL and --ca PEM, else
 * $DSE_MANAGER and $DSE_MANAGER_CA, else the config file that login writes,
 * $XDG_CONFIG_HOME/dse/manager.json (~/.config/dse/manager.json, 0600); the
 * token: $DSE_TOKEN, else that file.
 */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/dsectl.h"
#include "lib/http.h"
#include "lib/tls.h"
#include "lib/util.h"

#define CALL_MS 30000
#define WATCH_MS (15 * 60 * 1000) /* task watch gives up after */

static const char *const kinds[][2] = {
    {"datacenter", "datacenters"},
    {"cluster", "clusters"},
    {"host", "hosts"},
    {"dpu", "dpus"},
    {"switch", "switches"},
    {"portgroup", "portgroups"},
    {"vm", "vms"},
    {"vnic", "vnics"},
    {"alarmdef", "alarmdefs"},
};

/* The config file's path into 'buf'. */
static void
config_path(char *buf, size_t len)
{
    const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
    if (xdg && xdg[0])
        snprintf(buf, len, "%s/dse/manager.json", xdg);
    else
        snprintf(buf, len, "%s/.config/dse/manager.json", home ? home : "/root");
}

static json_t *
config_load(void)
{
    char path[4096];
    config_path(path, sizeof path);
    json_t *j = json_load_file(path, 0, NULL);
    return json_is_object(j) ? j : (json_decref(j), json_object());
}

static int
config_save(json_t *cfg)
{
    char path[4096], *slash;
    config_path(path, sizeof path);
    char *text = json_dumps(cfg, JSON_INDENT(2));
    if (!text)
        return -ENOMEM;
    slash = strrchr(path, '/');
    *slash = '\0';
    int rc = fs_mkdir_p(path, 0700);
    *slash = '/';
    if (rc == 0)
        rc = fs_write_atomic_mode(path, text, strlen(text), 0600);
    free(text);
    return rc;
}

/* https://ADDR:PORT into 'peer' (an IP literal: the lab's and the manager's
 * own certificate name addresses). */
static int
parse_url(const char *url, char *host, size_t host_len, struct httpc *peer)
{
    const char *p = url && !strncmp(url, "https://", 8) ? url + 8 : NULL;
    const char *colon = p ? strrchr(p, ':') : NULL;
    long port = 0;
    if (!colon || colon == p || (size_t)(colon - p) >= host_len ||
        !parse_long(colon + 1, 1, 65535, &port))
        return -EINVAL;
    snprintf(host, host_len, "%.*s", (int)(colon - p), p);
    if (host[0] == '[') { /* [v6] */
        memmove(host, host + 1, strlen(host));
        host[strcspn(host, "]")] = '\0';
    }
    peer->host = host;
    peer->port = (uint16_t)port;
    return 0;
}

struct dfw_flag;

struct mgr {
    struct httpc peer;
    char host[64];
    const char *token;
    bool json;
    const struct dfw_flag *flags; /* of a dfw write: a refusal names the flag, not the field */
};

static const char *in_flags(const struct dfw_flag *flags, const char *msg, char *buf, size_t len);

/* One call; prints the refusal and returns EXIT_FAILED unless 2xx.  On
 * EXIT_OK, '*reply' is the caller's. */
static int
call(struct mgr *m, const char *method, const char *target, json_t *body, json_t **reply)
{
    char err[ERR_LEN] = "";
    int status = 0;
    *reply = NULL;
    int rc = httpc_rest(&m->peer, method, target, m->token, body, &status, reply, err, sizeof err);
    json_decref(body);
    if (rc < 0) {
        fprintf(stderr, "dsectl: manager %s:%u: %s\n", m->peer.host, m->peer.port, err);
        return EXIT_FAILED;
    }
    if (status >= 200 && status < 300)
        return EXIT_OK;
    const char *code = json_string_value(json_object_get(*reply, "code"));
    const char *msg = json_string_value(json_object_get(*reply, "message"));
    char said[ERR_LEN + 64];
    if (msg && m->flags)
        msg = in_flags(m->flags, msg, said, sizeof said);
    fprintf(stderr, "dsectl: %s: %s%s\n", code ? code : "error", msg ? msg : "?",
            status == 401 ? " (dsectl --manager URL login --user NAME)" : "");
    json_decref(*reply);
    *reply = NULL;
    return EXIT_FAILED;
}

/* Whether 'v' is a finite decimal number with a fraction or an exponent
 * ("0.8", "1e3"), into '*d'. */
static bool
parse_real(const char *v, double *d)
{
    char *end;
    errno = 0;
    *d = strtod(v, &end);
    return *v && !*end && !errno && isfinite(*d) && strspn(v, "0123456789.eE+-") == strlen(v);
}

/* "--dpu-rule VALUE" -> spec["dpu_rule"]: an integer, a real (0.8),
 * true/false, JSON ({...}, [...]) or a string. */
static int
spec_from_args(int argc, char **argv, json_t *spec)
{
    for (int i = 0; i < argc; i += 2) {
        if (strncmp(argv[i], "--", 2) || !argv[i][2] || i + 1 >= argc)
            return cli_usage_error(NULL, "want --FIELD VALUE pairs, not '%s'", argv[i]);
        char key[64];
        snprintf(key, sizeof key, "%s", argv[i] + 2);
        for (char *c = key; *c; c++)
            *c = *c == '-' ? '_' : *c;
        const char *v = argv[i + 1];
        long n;
        double d;
        json_t *val = parse_long(v, -(1L << 53), 1L << 53, &n) ? json_integer(n)
                      : parse_real(v, &d)                      ? json_real(d)
                      : !strcmp(v, "true")                     ? json_true()
                      : !strcmp(v, "false")                    ? json_false()
                      : (v[0] == '{' || v[0] == '[')           ? json_loads(v, 0, NULL)
                                                               : json_string(v);
        if (!val)
            return cli_usage_error(NULL, "--%s: not JSON", argv[i] + 2);
        json_object_set_new(spec, key, val);
    }
    return EXIT_OK;
}

static void
print_obj(struct mgr *m, json_t *o)
{
    if (m->json)
        return cli_print_json(o);
    char *spec = json_dumps(json_object_get(o, "spec"), JSON_COMPACT | JSON_SORT_KEYS);
    printf("%s %s (resource version %lld): %s\n", json_string_value(json_object_get(o, "kind")),
           json_string_value(json_object_get(o, "name")),
           (long long)json_integer_value(json_object_get(o, "resource_version")),
           spec ? spec : "?");
    free(spec);
    const char *task = json_string_value(json_object_get(o, "task"));
    if (task)
        printf("  to the hosts: dsectl -M task watch %s\n", task);
}

/* Every object of 'plural', page after page, into '*all' (the caller's,
 * even on a failure). */
static int
fetch_all(struct mgr *m, const char *plural, json_t **all)
{
    json_t *r = NULL;
    char target[4200], next[4096] = "";
    int rc;
    *all = json_array();
    do { /* every page */
        snprintf(target, sizeof target, "/api/v1/%s?limit=100%s%s", plural,
                 next[0] ? "&after=" : "", next);
        if ((rc = call(m, "GET", target, NULL, &r)) != EXIT_OK)
            break;
        json_array_extend(*all, json_object_get(r, "items"));
        const char *n = json_string_value(json_object_get(r, "next"));
        snprintf(next, sizeof next, "%s", n && !strchr(n, '&') ? n : "");
        json_decref(r);
    } while (next[0]);
    return rc;
}

static int
obj_list(struct mgr *m, const char *plural)
{
    static const char *const head[] = {"NAME", "VERSION", "SPEC"};
    json_t *all;
    int rc = fetch_all(m, plural, &all);
    if (rc == EXIT_OK && m->json) {
        cli_print_json(all);
    } else if (rc == EXIT_OK) {
        struct table *t = table_create(3, head);
        size_t i;
        json_t *o;
        json_array_foreach (all, i, o) {
            char *spec = json_dumps(json_object_get(o, "spec"), JSON_COMPACT | JSON_SORT_KEYS);
            table_add(t, json_string_value(json_object_get(o, "name")),
                      fmt_json(json_object_get(o, "resource_version")), spec ? spec : "?");
            free(spec);
        }
        table_print(t);
    }
    json_decref(all);
    return rc;
}

/* add (POST) or set (read, change the fields of 'spec' (taken), write back)
 * object 'name' of 'plural'. */
static int
obj_put(struct mgr *m, const char *plural, const char *verb, const char *name, json_t *spec)
{
    char target[4200];
    json_t *r = NULL, *body = NULL;
    int rc = EXIT_OK;
    snprintf(target, sizeof target, "/api/v1/%s/%s", plural, name);
    if (!strcmp(verb, "add")) {
        snprintf(target, sizeof target, "/api/v1/%s", plural);
        body = json_pack("{s:s,s:O}", "name", name, "spec", spec);
    } else if ((rc = call(m, "GET", target, NULL, &r)) == EXIT_OK) {
        json_t *have = json_deep_copy(json_object_get(r, "spec"));
        json_object_update(have, spec); /* what was read, with the fields given */
        body = json_pack("{s:o,s:O}", "spec", have, "resource_version",
                         json_object_get(r, "resource_version"));
        json_decref(r);
    }
    json_decref(spec);
    if (rc != EXIT_OK)
        return rc;
    if ((rc = call(m, !strcmp(verb, "add") ? "POST" : "PUT", target, body, &r)) == EXIT_OK)
        print_obj(m, r);
    json_decref(r);
    return rc;
}

static int
obj_write(struct mgr *m, const char *plural, const char *verb, const char *name, int argc,
          char **argv)
{
    json_t *spec = json_object();
    int rc = spec_from_args(argc, argv, spec);
    if (rc != EXIT_OK) {
        json_decref(spec);
        return rc;
    }
    return obj_put(m, plural, verb, name, spec);
}

/* OBJECT VERB [NAME] [--FIELD VALUE]... */
static int
obj_run(struct mgr *m, const char *plural, int argc, char **argv)
{
    const char *verb = argv[0], *name = argc > 1 ? argv[1] : NULL;
    char target[4200];
    json_t *r = NULL;
    int rc;
    if (!strcmp(verb, "list") && argc == 1)
        return obj_list(m, plural);
    if (!name || (argc > 2 && strcmp(verb, "add") && strcmp(verb, "set")))
        return cli_usage_error(NULL,
                               "%s: list | show NAME | add NAME [--FIELD VALUE]... | set "
                               "NAME [--FIELD VALUE]... | del NAME",
                               plural);
    snprintf(target, sizeof target, "/api/v1/%s/%s", plural, name);
    if (!strcmp(verb, "add") || !strcmp(verb, "set"))
        return obj_write(m, plural, verb, name, argc - 2, argv + 2);
    if (!strcmp(verb, "join-token") && !strcmp(plural, "hosts")) {
        /* The token alone on stdout, for a script to hand to the host. */
        snprintf(target, sizeof target, "/api/v1/hosts/%s/join-token", name);
        if ((rc = call(m, "POST", target, json_object(), &r)) == EXIT_OK) {
            if (m->json)
                cli_print_json(r);
            else
                printf("%s\n", fmt_json(json_object_get(r, "token")));
        }
    } else if (!strcmp(verb, "show") || !strcmp(verb, "status")) {
        if (!strcmp(verb, "status"))
            snprintf(target, sizeof target, "/api/v1/%s/%s/status", plural, name);
        if ((rc = call(m, "GET", target, NULL, &r)) == EXIT_OK)
            !strcmp(verb, "show") ? print_obj(m, r) : cli_print_json(r);
    } else if (!strcmp(verb, "del")) {
        if ((rc = call(m, "DELETE", target, NULL, &r)) == EXIT_OK && m->json)
            cli_print_json(r);
    } else {
        return cli_usage_error(NULL, "%s: unknown command '%s'", plural, verb);
    }
    json_decref(r);
    return rc;
}

/* The first line of file 'path' ("-": stdin) into 'buf'. */
static int
read_secret(const char *path, char *buf, size_t len)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
    bool ok = f && fgets(buf, (int)len, f);
    if (f && f != stdin)
        fclose(f);
    if (!ok)
        return cli_usage_error(NULL, "cannot read a password from %s", path);
    buf[strcspn(buf, "\r\n")] = '\0';
    return EXIT_OK;
}

static int
login(struct mgr *m, const char *url, const char *ca, int argc, char **argv)
{
    const char *user = NULL, *pwfile = "-";
    for (int i = 0; i + 1 < argc; i += 2)
        if (!strcmp(argv[i], "--user"))
            user = argv[i + 1];
        else if (!strcmp(argv[i], "--password-file"))
            pwfile = argv[i + 1];
    char pw[1100];
    if (!user || argc % 2)
        return cli_usage_error(NULL, "login --user NAME [--password-file F] (default: stdin)");
    int rc = read_secret(pwfile, pw, sizeof pw);
    json_t *r = NULL;
    if (rc != EXIT_OK ||
        (rc = call(m, "POST", "/api/v1/login", json_pack("{s:s,s:s}", "user", user, "password", pw),
                   &r)) != EXIT_OK)
        return rc;
    json_t *cfg = config_load();
    json_object_set_new(cfg, "url", json_string(url));
    json_object_set_new(cfg, "ca", json_string(ca));
    json_object_set(cfg, "token", json_object_get(r, "token"));
    json_object_set(cfg, "expires_ms", json_object_get(r, "expires_ms"));
    char path[4096];
    config_path(path, sizeof path);
    if ((rc = config_save(cfg)) < 0)
        fprintf(stderr, "dsectl: %s: %s\n", path, strerror(-rc));
    else
        printf("logged in as %s; token saved in %s\n", user, path);
    json_decref(cfg);
    json_decref(r);
    return rc < 0 ? EXIT_FAILED : EXIT_OK;
}

static int
user_run(struct mgr *m, int argc, char **argv)
{
    json_t *r = NULL;
    int rc;
    if (!strcmp(argv[0], "list") && argc == 1) {
        if ((rc = call(m, "GET", "/api/v1/users", NULL, &r)) == EXIT_OK)
            cli_print_json(json_object_get(r, "items"));
        json_decref(r);
        return rc;
    }
    if (strcmp(argv[0], "add") || argc < 2 || argc % 2)
        return cli_usage_error("user",
                               "list | add NAME --password-file F [--grant OBJECT=ROLE]...");
    const char *pwfile = NULL;
    json_t *grants = json_array();
    for (int i = 2; i + 1 < argc; i += 2) {
        const char *eq = strchr(argv[i + 1], '=');
        if (!strcmp(argv[i], "--password-file"))
            pwfile = argv[i + 1];
        else if (!strcmp(argv[i], "--grant") && eq)
            json_array_append_new(grants, json_pack("{s:s#,s:s}", "object", argv[i + 1],
                                                    (int)(eq - argv[i + 1]), "role", eq + 1));
    }
    char pw[1100];
    if (!pwfile || (rc = read_secret(pwfile, pw, sizeof pw)) != EXIT_OK) {
        json_decref(grants);
        return pwfile ? rc : cli_usage_error("user", "add NAME --password-file F");
    }
    rc = call(m, "POST", "/api/v1/users",
              json_pack("{s:s,s:s,s:o}", "name", argv[1], "password", pw, "grants", grants), &r);
    if (rc == EXIT_OK && m->json)
        cli_print_json(r);
    json_decref(r);
    return rc;
}

/* A list's cell: a string as it is, strings joined with ',', anything
 * else as fmt_json() shows it.  Returns 'buf' or the string. */
static const char *
cell(json_t *v, char *buf, size_t len)
{
    size_t i;
    json_t *e;
    if (json_is_string(v))
        return json_string_value(v);
    if (!json_is_array(v))
        return fmt_json(v);
    buf[0] = '\0';
    json_array_foreach (v, i, e)
        snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", i ? "," : "",
                 json_string_value(e) ? json_string_value(e) : fmt_json(e));
    return buf;
}

/* GET 'target' and print its "items": with -j as JSON, else a table of the
 * 'n' columns 'cols' ({HEADER, KEY} each). */
#define LIST_COLS_MAX 8
/* A table of the 'n' columns 'cols' ({HEADER, KEY} each) of 'r''s "items". */
static void
print_items(json_t *r, const char *const (*cols)[2], int n)
{
    const char *head[LIST_COLS_MAX], *row[LIST_COLS_MAX];
    char bufs[LIST_COLS_MAX][256];
    json_t *o;
    for (int c = 0; c < n; c++)
        head[c] = cols[c][0];
    struct table *t = table_create(n, head);
    size_t i;
    json_array_foreach (json_object_get(r, "items"), i, o) {
        for (int c = 0; c < n; c++)
            row[c] = cell(json_object_get(o, cols[c][1]), bufs[c], sizeof bufs[c]);
        table_add_row(t, row);
    }
    table_print(t);
}

static int
list_items(struct mgr *m, const char *target, const char *const (*cols)[2], int n)
{
    json_t *r = NULL;
    int rc = call(m, "GET", target, NULL, &r);
    if (rc == EXIT_OK && m->json)
        cli_print_json(json_object_get(r, "items"));
    else if (rc == EXIT_OK)
        print_items(r, cols, n);
    json_decref(r);
    return rc;
}

static int
audit_run(struct mgr *m, int argc, char **argv)
{
    static const char *const cols[][2] = {{"REVISION", "revision"},
                                          {"WHO", "who"},
                                          {"FROM", "from"},
                                          {"WHAT", "what"},
                                          {"KEY", "key"}};
    const char *prefix = NULL, *limit = "100";
    for (int i = 1; i + 1 < argc; i += 2)
        if (!strcmp(argv[i], "--prefix"))
            prefix = argv[i + 1];
        else if (!strcmp(argv[i], "--limit"))
            limit = argv[i + 1];
    if (strcmp(argv[0], "list") || argc % 2 == 0 || strchr(limit, '&') ||
        (prefix && strpbrk(prefix, "&= ")))
        return cli_usage_error("audit", "list [--prefix KEY] [--limit N]");
    char target[4200];
    snprintf(target, sizeof target, "/api/v1/audit?limit=%s%s%s", limit, prefix ? "&prefix=" : "",
             prefix ? prefix : "");
    return list_items(m, target, cols, 5);
}

/* The manager's URL and CA, from the options, the environment or the
 * config file, in that order. */
static const char *
pick(const char *given, const char *env, json_t *cfg, const char *key)
{
    return given ? given : getenv(env) ? getenv(env) : json_string_value(json_object_get(cfg, key));
}

static void
print_task(struct mgr *m, json_t *t)
{
    if (m->json)
        return cli_print_json(t);
    printf("task %s: %s %s: %s %lld%%\n", json_string_value(json_object_get(t, "id")),
           json_string_value(json_object_get(t, "kind")),
           json_string_value(json_object_get(t, "object")),
           json_string_value(json_object_get(t, "state")),
           (long long)json_integer_value(json_object_get(t, "progress")));
    const char *host;
    json_t *r;
    json_object_foreach (json_object_get(t, "results"), host, r) {
        static const char *const more[] = {"version", "step", "active", "alarm"};
        const char *e = json_string_value(json_object_get(r, "error"));
        printf("  %-12s %s", host, json_is_true(json_object_get(r, "ok")) ? "ok" : "failed");
        for (size_t i = 0; i < sizeof more / sizeof more[0]; i++)
            if (json_string_value(json_object_get(r, more[i])))
                printf(" %s %s", more[i], json_string_value(json_object_get(r, more[i])));
        printf("%s%s\n", e ? ": " : "", e ? e : "");
    }
}

static bool
task_over(json_t *t)
{
    const char *s = json_string_value(json_object_get(t, "state"));
    return s && (!strcmp(s, "success") || !strcmp(s, "error") || !strcmp(s, "cancelled"));
}

/* task list | show ID | watch ID: watch polls until the task ends, and
 * exits 1 if it failed. */
static int
task_run(struct mgr *m, int argc, char **argv)
{
    static const char *const cols[][2] = {
        {"ID", "id"},       {"KIND", "kind"},         {"OBJECT", "object"},
        {"STATE", "state"}, {"PROGRESS", "progress"}, {"BY", "started_by"}};
    char target[256];
    json_t *r = NULL;
    int rc;
    if (!strcmp(argv[0], "list") && argc == 1)
        return list_items(m, "/api/v1/tasks", cols, 6);
    if (argc != 2 ||
        (strcmp(argv[0], "show") && strcmp(argv[0], "watch") && strcmp(argv[0], "cancel")) ||
        strspn(argv[1], "0123456789") != strlen(argv[1]))
        return cli_usage_error("task", "list | show ID | watch ID | cancel ID");
    if (!strcmp(argv[0], "cancel")) {
        snprintf(target, sizeof target, "/api/v1/tasks/%s/cancel", argv[1]);
        if ((rc = call(m, "POST", target, NULL, &r)) == EXIT_OK)
            print_task(m, r);
        json_decref(r);
        return rc;
    }
    snprintf(target, sizeof target, "/api/v1/tasks/%s", argv[1]);
    uint64_t deadline = now_ms() + WATCH_MS;
    while ((rc = call(m, "GET", target, NULL, &r)) == EXIT_OK && !strcmp(argv[0], "watch") &&
           !task_over(r) && now_ms() < deadline) {
        json_decref(r);
        poll(NULL, 0, 200); /* the task's pace: a human's watch, not a sync */
    }
    if (rc == EXIT_OK)
        print_task(m, r);
    if (rc == EXIT_OK && !strcmp(argv[0], "watch"))
        rc = !task_over(r)                                                        ? EXIT_FAILED
             : !strcmp(json_string_value(json_object_get(r, "state")), "success") ? EXIT_OK
                                                                                  : EXIT_FAILED;
    json_decref(r);
    return rc;
}

/* 's' percent-encoded (all but RFC 3986's unreserved) into 'buf'. */
static const char *
pct_encode(const char *s, char *buf, size_t len)
{
    size_t o = 0;
    for (; *s && o + 4 < len; s++)
        if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~", *s))
            buf[o++] = *s;
        else
            o += (size_t)snprintf(buf + o, len - o, "%%%02X", (unsigned char)*s);
    buf[o] = '\0';
    return buf;
}

/* Appends "&NAME=VALUE" (encoded) to query 'q' when 'value' is set. */
static void
query_add(char *q, size_t len, const char *name, const char *value)
{
    char enc[1024];
    size_t n = strlen(q);
    if (value)
        snprintf(q + n, len - n, "&%s=%s", name, pct_encode(value, enc, sizeof enc));
}

/* The value of option 'name' in 'argv' (--NAME VALUE pairs after the verb),
 * or NULL; '*flag' (when not NULL) says whether --NAME stood alone. */
static const char *
opt(int argc, char **argv, const char *name, bool *flag)
{
    for (int i = 1; i < argc; i++) {
        bool alone = flag && !strcmp(argv[i], name);
        if (alone)
            *flag = true;
        else if (!strcmp(argv[i], name) && i + 1 < argc)
            return argv[i + 1];
    }
    return NULL;
}

/* Whether every option of 'argv' (after the verb) is one of 'known'
 * ("--x=" takes a value, "--x" stands alone). */
static bool
opts_known(int argc, char **argv, const char *const *known)
{
    for (int i = 1; i < argc; i++) {
        bool ok = false;
        for (const char *const *k = known; *k && !ok; k++) {
            size_t n = strlen(*k);
            bool value = (*k)[n - 1] == '=';
            if (!strncmp(argv[i], *k, value ? n - 1 : n) && argv[i][value ? n - 1 : n] == '\0') {
                ok = !value || i + 1 < argc;
                i += value;
            }
        }
        if (!ok)
            return false;
    }
    return true;
}

static int
alarm_ack(struct mgr *m, const char *host, const char *id)
{
    char target[1200], enc[600];
    json_t *r = NULL;
    snprintf(target, sizeof target, "/api/v1/alarms/%s/%s/ack", host,
             pct_encode(id, enc, sizeof enc));
    int rc = call(m, "POST", target, NULL, &r);
    if (rc == EXIT_OK && m->json)
        cli_print_json(r);
    else if (rc == EXIT_OK)
        printf("alarm %s on %s: acknowledgement queued: dsectl -M task watch %s\n", id, host,
               json_string_value(json_object_get(r, "task")));
    json_decref(r);
    return rc;
}

/* What an operation queued on a host says (202 {"task", "host", "kind"}). */
static int
print_queued(struct mgr *m, json_t *r)
{
    if (m->json)
        cli_print_json(r);
    else
        printf("%s on %s: queued: dsectl -M task watch %s\n",
               json_string_value(json_object_get(r, "kind")),
               json_string_value(json_object_get(r, "host")),
               json_string_value(json_object_get(r, "task")));
    json_decref(r);
    return EXIT_OK;
}

/* role list: the roles a grant may give. */
static int
role_run(struct mgr *m, int argc, char **argv)
{
    static const char *const cols[][2] = {
        {"ROLE", "name"}, {"MAY", "may"}, {"WHAT", "description"}};
    if (argc != 1 || strcmp(argv[0], "list"))
        return cli_usage_error("role", "list");
    return list_items(m, "/api/v1/roles", cols, 3);
}

/* software install HOST --bundle PATH [--update] [--dry-run] [--fresh] */
static int
software_run(struct mgr *m, int argc, char **argv)
{
    static const char *const known[] = {"--bundle=", "--update", "--dry-run", "--fresh", NULL};
    const char *bundle = argc >= 2 ? opt(argc - 1, argv + 1, "--bundle", NULL) : NULL;
    if (strcmp(argv[0], "install") || argc < 2 || !strncmp(argv[1], "--", 2) ||
        !opts_known(argc - 1, argv + 1, known) || !bundle)
        return cli_usage_error("software", "install HOST --bundle PATH [--update] [--dry-run] "
                                           "[--fresh] (PATH: on the host)");
    bool update = false, dry = false, fresh = false;
    opt(argc - 1, argv + 1, "--update", &update);
    opt(argc - 1, argv + 1, "--dry-run", &dry);
    opt(argc - 1, argv + 1, "--fresh", &fresh);
    char target[256];
    snprintf(target, sizeof target, "/api/v1/hosts/%s/software/install", argv[1]);
    json_t *r = NULL, *body = json_pack("{s:s,s:b,s:b,s:b}", "bundle", bundle, "update", update,
                                        "dry_run", dry, "fresh", fresh);
    int rc = call(m, "POST", target, body, &r);
    return rc == EXIT_OK ? print_queued(m, r) : rc;
}

/* dpu failover HOST --to DPU */
static int
failover_run(struct mgr *m, int argc, char **argv)
{
    static const char *const known[] = {"--to=", NULL};
    const char *to = argc >= 2 ? opt(argc - 1, argv + 1, "--to", NULL) : NULL;
    if (argc < 2 || !strncmp(argv[1], "--", 2) || !opts_known(argc - 1, argv + 1, known) || !to)
        return cli_usage_error("dpu", "failover HOST --to DPU");
    char target[256];
    snprintf(target, sizeof target, "/api/v1/hosts/%s/failover", argv[1]);
    json_t *r = NULL;
    int rc = call(m, "POST", target, json_pack("{s:s}", "to", to), &r);
    return rc == EXIT_OK ? print_queued(m, r) : rc;
}

/* alarm list [--host H] [--severity S] [--all] | ack HOST ID */
static int
alarm_run(struct mgr *m, int argc, char **argv)
{
    static const char *const cols[][2] = {{"HOST", "host"},   {"DPU", "dpu"},
                                          {"STATE", "state"}, {"ACK", "acknowledged"},
                                          {"ID", "id"},       {"MESSAGE", "message"}};
    static const char *const known[] = {"--host=", "--severity=", "--all", NULL};
    bool all = false;
    if (!strcmp(argv[0], "ack") && argc == 3)
        return alarm_ack(m, argv[1], argv[2]);
    if (strcmp(argv[0], "list") || !opts_known(argc, argv, known))
        return cli_usage_error("alarm",
                               "list [--host H] [--severity red|yellow|gray|green] [--all] | "
                               "ack HOST ID");
    char target[4200] = "/api/v1/alarms?";
    const char *host = opt(argc, argv, "--host", NULL), *sev = opt(argc, argv, "--severity", NULL);
    opt(argc, argv, "--all", &all);
    query_add(target, sizeof target, "host", host);
    query_add(target, sizeof target, "severity", sev);
    query_add(target, sizeof target, "state", all ? "all" : NULL);
    return list_items(m, target, cols, 6);
}

/* A time of event list: ms since the epoch, or a time ago ("30s", "10m",
 * "2h", "1d") as ms since the epoch into 'buf'; NULL when neither. */
static const char *
when(const char *t, char *buf, size_t len)
{
    char *end;
    long long v = t ? strtoll(t, &end, 10) : -1;
    if (!t || v < 0 || end == t)
        return NULL;
    static const struct {
        char unit;
        long long ms;
    } units[] = {{'s', 1000}, {'m', 60000}, {'h', 3600000}, {'d', 86400000}};
    if (*end == '\0') {
        snprintf(buf, len, "%lld", v);
        return buf;
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (end[0] == units[i].unit && end[1] == '\0' && v <= 3650LL * 86400000 / units[i].ms) {
            snprintf(buf, len, "%lld", (long long)wall_ms() - v * units[i].ms);
            return buf;
        }
    return NULL;
}

/* event list [--object NAME] [--since T] [--until T] [--type PREFIX] [--limit N] */
static int
event_run(struct mgr *m, int argc, char **argv)
{
    static const char *const cols[][2] = {{"TIME", "time"},
                                          {"HOST", "host"},
                                          {"OBJECT", "object"},
                                          {"TYPE", "type"},
                                          {"MESSAGE", "message"}};
    static const char *const known[] = {
        "--object=", "--since=", "--until=", "--type=", "--limit=", NULL};
    char since[32], until[32], target[4200] = "/api/v1/events?";
    const char *s = opt(argc, argv, "--since", NULL), *u = opt(argc, argv, "--until", NULL);
    if (strcmp(argv[0], "list") || !opts_known(argc, argv, known) ||
        (s && !when(s, since, sizeof since)) || (u && !when(u, until, sizeof until)))
        return cli_usage_error("event", "list [--object H[/OBJECT]] [--since T] [--until T] "
                                        "[--type PREFIX] [--limit N] (T: ms since the epoch, "
                                        "or ago: 30s, 10m, 2h, 1d)");
    query_add(target, sizeof target, "object", opt(argc, argv, "--object", NULL));
    query_add(target, sizeof target, "since", s ? since : NULL);
    query_add(target, sizeof target, "until", u ? until : NULL);
    query_add(target, sizeof target, "type", opt(argc, argv, "--type", NULL));
    query_add(target, sizeof target, "limit", opt(argc, argv, "--limit", NULL));
    return list_items(m, target, cols, 5);
}

/* ---- the firewall: dfw group|service|section|rule|stats|policy ---- */

/* A flag of `dfw OBJECT add|set` and the field of the spec it sets. */
struct dfw_flag {
    const char *flag, *field;
    enum { DF_LIST, DF_TEXT, DF_INT, DF_BOOL, DF_ENUM } type;
    const char *const *choices; /* DF_ENUM */
};

static const char *const dfw_actions[] = {"allow", "drop", "reject", NULL};
static const char *const dfw_protos[] = {"tcp", "udp", "icmp", "icmpv6", "any", NULL};
static const char *const dfw_directions[] = {"in", "out", "inout", NULL};

static const struct dfw_flag group_flags[] = {{"--vm", "vms", DF_LIST, NULL},
                                              {"--tag", "tags", DF_LIST, NULL},
                                              {"--portgroup", "portgroups", DF_LIST, NULL},
                                              {"--cidr", "cidrs", DF_LIST, NULL},
                                              {"--mac", "macs", DF_LIST, NULL},
                                              {"--description", "description", DF_TEXT, NULL},
                                              {0}};
static const struct dfw_flag section_flags[] = {
    {"--order", "order", DF_INT, NULL}, {"--description", "description", DF_TEXT, NULL}, {0}};
static const struct dfw_flag rule_flags[] = {{"--src", "src", DF_LIST, NULL},
                                             {"--dst", "dst", DF_LIST, NULL},
                                             {"--service", "services", DF_LIST, NULL},
                                             {"--applied-to", "applied_to", DF_LIST, NULL},
                                             {"--action", "action", DF_ENUM, dfw_actions},
                                             {"--direction", "direction", DF_ENUM, dfw_directions},
                                             {"--log", "log", DF_BOOL, NULL},
                                             {"--order", "order", DF_INT, NULL},
                                             {"--description", "description", DF_TEXT, NULL},
                                             {0}};
/* A service's: each --proto begins an entry, which the others after it fill. */
static const struct dfw_flag service_flags[] = {{"--proto", "proto", DF_ENUM, dfw_protos},
                                                {"--port", "ports", DF_LIST, NULL},
                                                {"--type", "type", DF_INT, NULL},
                                                {"--code", "code", DF_INT, NULL},
                                                {"--description", "description", DF_TEXT, NULL},
                                                {0}};

/* 'msg' ("dfwrule: src: no dfwgroup x") with its first segment that is a
 * field of 'flags' said as the flag ("dfwrule: --src: ..."), into 'buf'. */
static const char *
in_flags(const struct dfw_flag *flags, const char *msg, char *buf, size_t len)
{
    for (const char *seg = msg; (seg = strstr(seg, ": ")); seg += 2) {
        size_t n = strcspn(seg + 2, ":");
        for (const struct dfw_flag *f = flags; f->flag; f++)
            if (strlen(f->field) == n && !strncmp(seg + 2, f->field, n)) {
                snprintf(buf, len, "%.*s: %s%s", (int)(seg - msg), msg, f->flag, seg + 2 + n);
                return buf;
            }
    }
    return msg;
}

/* Appends the items of 'v' ("a,b" or "a") to list 'o'['field']. */
static void
list_add(json_t *o, const char *field, const char *v)
{
    json_t *l = json_object_get(o, field);
    if (!l)
        json_object_set_new(o, field, l = json_array());
    for (const char *p = v; *p; p += strcspn(p, ",") + (p[strcspn(p, ",")] == ',')) {
        size_t n = strcspn(p, ",");
        if (n)
            json_array_append_new(l, json_stringn(p, n));
    }
}

/* The value of flag 'f' ('v') into 'o'.  Returns EXIT_OK or a usage error
 * naming the flag. */
static int
dfw_flag_set(const char *what, const struct dfw_flag *f, const char *v, json_t *o)
{
    long n;
    switch (f->type) {
    case DF_LIST:
        list_add(o, f->field, v);
        return EXIT_OK;
    case DF_TEXT:
        json_object_set_new(o, f->field, json_string(v));
        return EXIT_OK;
    case DF_INT:
        if (!parse_long(v, 0, !strcmp(f->flag, "--order") ? INT32_MAX : 255, &n))
            return cli_usage_error(what, "%s: a number from 0 to %s", f->flag,
                                   !strcmp(f->flag, "--order") ? "2147483647" : "255");
        json_object_set_new(o, f->field, json_integer(n));
        return EXIT_OK;
    case DF_BOOL:
        json_object_set_new(o, f->field, json_true());
        return EXIT_OK;
    case DF_ENUM: {
        char choices[128] = "";
        for (const char *const *c = f->choices; *c; c++) {
            if (!strcmp(v, *c)) {
                json_object_set_new(o, f->field, json_string(v));
                return EXIT_OK;
            }
            snprintf(choices + strlen(choices), sizeof choices - strlen(choices), "%s%s",
                     c == f->choices ? ""
                     : c[1]          ? ", "
                                     : " or ",
                     *c);
        }
        return cli_usage_error(what, "%s: %s", f->flag, choices);
    }
    }
    return EXIT_USAGE;
}

/* The flag of 'flags' that 'arg' is, or a usage error (NULL). */
static const struct dfw_flag *
dfw_flag_of(const char *what, const struct dfw_flag *flags, const char *arg)
{
    char known[256] = "";
    for (const struct dfw_flag *f = flags; f->flag; f++) {
        if (!strcmp(arg, f->flag))
            return f;
        snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s", f == flags ? "" : " ",
                 f->flag);
    }
    cli_usage_error(what, "%s: no such flag (%s)", arg, known);
    return NULL;
}

/* The spec that flags 'argv' ('argc') of 'flags' give, into 'spec'; a
 * service's entries ('service') each begin with --proto. */
static int
dfw_spec(const char *what, const struct dfw_flag *flags, bool service, int argc, char **argv,
         json_t *spec)
{
    json_t *entry = NULL;
    for (int i = 0; i < argc; i++) {
        const struct dfw_flag *f = dfw_flag_of(what, flags, argv[i]);
        if (!f)
            return EXIT_USAGE;
        if (f->type != DF_BOOL && i + 1 >= argc)
            return cli_usage_error(what, "%s: wants a value", f->flag);
        const char *v = f->type == DF_BOOL ? "" : argv[++i];
        json_t *into = spec;
        if (service && !strcmp(f->flag, "--proto")) {
            list_add(spec, "entries", "");
            json_array_append_new(json_object_get(spec, "entries"), entry = json_object());
        }
        if (service && strcmp(f->flag, "--description")) {
            if (!entry)
                return cli_usage_error(what, "%s: after the --proto it belongs to", f->flag);
            into = entry;
        }
        int rc = dfw_flag_set(what, f, v, into);
        if (rc != EXIT_OK)
            return rc;
    }
    return EXIT_OK;
}

/* Each of 'items' ({"name", "spec"}) with a sort key, to sort by. */
struct keyed {
    char key[320];
    json_t *o;
};

static int
keyed_cmp(const void *a, const void *b)
{
    return strcmp(((const struct keyed *)a)->key, ((const struct keyed *)b)->key);
}

/* 'items' sorted by "order" then name; rules ('sections' not NULL) by their
 * section's first.  A new list. */
static json_t *
dfw_sorted(json_t *items, json_t *sections)
{
    size_t n = json_array_size(items), i;
    struct keyed *k = calloc(n + 1, sizeof *k);
    json_t *out = json_array(), *o, *s;
    json_array_foreach (k ? items : NULL, i, o) {
        const char *name = json_string_value(json_object_get(o, "name"));
        long long order = json_integer_value(json_object_get(json_object_get(o, "spec"), "order"));
        size_t sec = sections ? strcspn(name, "/") : 0;
        long long so = 0;
        json_array_foreach (sections, n, s) /* few: a scan */
            if (!strncmp(json_string_value(json_object_get(s, "name")), name, sec) &&
                !json_string_value(json_object_get(s, "name"))[sec])
                so = json_integer_value(json_object_get(json_object_get(s, "spec"), "order"));
        /* \001 sorts a name before the longer names it begins */
        snprintf(k[i].key, sizeof k[i].key, "%010lld %.*s\001%010lld %s", so, (int)sec, name, order,
                 name + sec);
        k[i].o = o;
    }
    n = json_array_size(items);
    if (k)
        qsort(k, n, sizeof *k, keyed_cmp);
    for (i = 0; k && i < n; i++)
        json_array_append(out, k[i].o);
    free(k);
    return out;
}

/* A service's entries as words: "tcp 22,8000-8080; icmp type 8". */
static const char *
entries_cell(json_t *entries, char *buf, size_t len)
{
    size_t i;
    json_t *e;
    char ports[256];
    buf[0] = '\0';
    json_array_foreach (entries, i, e) {
        json_t *t = json_object_get(e, "type"), *c = json_object_get(e, "code");
        snprintf(
            buf + strlen(buf), len - strlen(buf), "%s%s%s%s%s%s%s%s", i ? "; " : "",
            json_string_value(json_object_get(e, "proto")), json_object_get(e, "ports") ? " " : "",
            json_object_get(e, "ports") ? cell(json_object_get(e, "ports"), ports, sizeof ports)
                                        : "",
            t ? " type " : "", t ? fmt_json(t) : "", c ? " code " : "", c ? fmt_json(c) : "");
    }
    return buf;
}

/* dfw group|service|section|rule list: rules in the order they apply. */
static int
dfw_list(struct mgr *m, const char *obj, const char *plural)
{
    static const struct {
        const char *obj;
        int n;
        const char *head[7], *field[7]; /* field[0]: the name */
    } views[] = {
        {"group",
         6,
         {"GROUP", "VMS", "TAGS", "PORTGROUPS", "CIDRS", "MACS"},
         {"", "vms", "tags", "portgroups", "cidrs", "macs"}},
        {"service", 2, {"SERVICE", "ENTRIES"}, {"", "entries"}},
        {"section", 3, {"SECTION", "ORDER", "DESCRIPTION"}, {"", "order", "description"}},
        {"rule",
         7,
         {"RULE", "ACTION", "DIRECTION", "SRC", "DST", "SERVICES", "APPLIED-TO"},
         {"", "action", "direction", "src", "dst", "services", "applied_to"}},
    };
    json_t *all = NULL, *sections = NULL, *o;
    size_t v = 0, i;
    while (strcmp(views[v].obj, obj))
        v++;
    int rc = fetch_all(m, plural, &all);
    if (rc == EXIT_OK && v == 3)
        rc = fetch_all(m, "dfwsections", &sections);
    json_t *sorted = v >= 2 ? dfw_sorted(all, sections) : json_incref(all);
    if (rc == EXIT_OK && m->json) {
        cli_print_json(sorted);
    } else if (rc == EXIT_OK) {
        struct table *t = table_create(views[v].n, views[v].head);
        const char *row[7];
        char bufs[7][1024];
        json_array_foreach (sorted, i, o) {
            json_t *spec = json_object_get(o, "spec");
            row[0] = json_string_value(json_object_get(o, "name"));
            for (int k = 1; k < views[v].n; k++) {
                json_t *x = json_object_get(spec, views[v].field[k]);
                row[k] = v == 1             ? entries_cell(x, bufs[k], sizeof bufs[k])
                         : x                ? cell(x, bufs[k], sizeof bufs[k])
                         : k == 2 && v == 3 ? "inout"
                                            : "-";
            }
            table_add_row(t, row);
        }
        table_print(t);
    }
    json_decref(sorted);
    json_decref(all);
    json_decref(sections);
    return rc;
}

/* dfw stats [--host H]: the counters per rule, then the totals. */
static int
dfw_stats_run(struct mgr *m, int argc, char **argv)
{
    static const char *const known[] = {"--host=", NULL};
    static const char *const cols[][2] = {
        {"RULE", "name"}, {"PACKETS", "packets"}, {"BYTES", "bytes"}, {"SESSIONS", "sessions"}};
    char target[1200] = "/api/v1/dfw/stats?";
    if (!opts_known(argc, argv, known))
        return cli_usage_error("dfw", "stats [--host H]");
    query_add(target, sizeof target, "host", opt(argc, argv, "--host", NULL));
    json_t *r = NULL;
    int rc = call(m, "GET", target, NULL, &r);
    if (rc == EXIT_OK && m->json) {
        cli_print_json(r);
    } else if (rc == EXIT_OK) {
        json_t *items = json_pack("{s:O}", "items", json_object_get(r, "rules"));
        print_items(items, cols, 4);
        json_decref(items);
        printf("%lld hosts, %lld DPUs: %lld connections of %lld; drops:",
               (long long)json_integer_value(json_object_get(r, "hosts")),
               (long long)json_integer_value(json_object_get(r, "dpus")),
               (long long)json_integer_value(json_object_get(r, "conns")),
               (long long)json_integer_value(json_object_get(r, "conn_max")));
        const char *why;
        json_t *n;
        json_object_foreach (json_object_get(r, "drops"), why, n)
            printf(" %s %lld", why, (long long)json_integer_value(n));
        printf("%s\n", json_object_size(json_object_get(r, "drops")) ? "" : " none");
    }
    json_decref(r);
    return rc;
}

/* dfw policy --host H: the document the host gets, as JSON. */
static int
dfw_policy_run(struct mgr *m, int argc, char **argv)
{
    static const char *const known[] = {"--host=", NULL};
    const char *host = opt(argc, argv, "--host", NULL);
    char target[1200] = "/api/v1/dfw/policy?";
    if (!opts_known(argc, argv, known) || !host)
        return cli_usage_error("dfw", "policy --host H");
    query_add(target, sizeof target, "host", host);
    json_t *r = NULL;
    int rc = call(m, "GET", target, NULL, &r);
    if (rc == EXIT_OK)
        cli_print_json(r);
    json_decref(r);
    return rc;
}

#define DFW_USAGE                                                                                  \
    "group|service|section|rule list | show NAME | del NAME | add|set NAME [FLAGS]; stats "        \
    "[--host H]; policy --host H"

/* dfw OBJECT add|set NAME FLAGS... */
static int
dfw_write(struct mgr *m, const char *obj, const char *plural, const char *verb, const char *name,
          int argc, char **argv)
{
    static const struct {
        const char *obj;
        const struct dfw_flag *flags;
        const char *required; /* at an add */
    } objs[] = {{"group", group_flags, NULL},
                {"service", service_flags, "--proto"},
                {"section", section_flags, NULL},
                {"rule", rule_flags, "--action"}};
    char what[64];
    size_t o = 0;
    while (strcmp(objs[o].obj, obj))
        o++;
    snprintf(what, sizeof what, "dfw %s %s", obj, verb);
    json_t *spec = json_object();
    int rc = dfw_spec(what, objs[o].flags, o == 1, argc, argv, spec);
    const char *field = o == 1 ? "entries" : "action";
    if (rc == EXIT_OK && objs[o].required && !strcmp(verb, "add") && !json_object_get(spec, field))
        rc = cli_usage_error(what, "%s is required", objs[o].required);
    if (rc != EXIT_OK) {
        json_decref(spec);
        return rc;
    }
    m->flags = objs[o].flags;
    rc = obj_put(m, plural, verb, name, spec);
    m->flags = NULL;
    return rc;
}

/* dfw group|service|section|rule VERB ... | stats | policy */
static int
dfw_run(struct mgr *m, int argc, char **argv)
{
    static const char *const objs[][2] = {{"group", "dfwgroups"},
                                          {"service", "dfwservices"},
                                          {"section", "dfwsections"},
                                          {"rule", "dfwrules"}};
    if (!strcmp(argv[0], "stats"))
        return dfw_stats_run(m, argc, argv);
    if (!strcmp(argv[0], "policy"))
        return dfw_policy_run(m, argc, argv);
    for (size_t i = 0; argc >= 2 && i < ARRAY_SIZE(objs); i++) {
        if (strcmp(argv[0], objs[i][0]))
            continue;
        const char *verb = argv[1];
        if (!strcmp(verb, "list") && argc == 2)
            return dfw_list(m, objs[i][0], objs[i][1]);
        if ((!strcmp(verb, "add") || !strcmp(verb, "set")) && argc >= 3)
            return dfw_write(m, objs[i][0], objs[i][1], verb, argv[2], argc - 3, argv + 3);
        if ((!strcmp(verb, "show") || !strcmp(verb, "del")) && argc == 3)
            return obj_run(m, objs[i][1], argc - 1, argv + 1);
        break;
    }
    return cli_usage_error("dfw", DFW_USAGE);
}

/* OBJECT VERB... with a reachable manager. */
static int
dispatch(struct mgr *m, const char *url, const char *ca, int argc, char **argv)
{
    if (!strcmp(argv[0], "login"))
        return login(m, url, ca, argc - 1, argv + 1);
    if (argc < 2)
        return cli_usage_error(argv[0], "missing command");
    if (!strcmp(argv[0], "user"))
        return user_run(m, argc - 1, argv + 1);
    if (!strcmp(argv[0], "audit"))
        return audit_run(m, argc - 1, argv + 1);
    if (!strcmp(argv[0], "task"))
        return task_run(m, argc - 1, argv + 1);
    if (!strcmp(argv[0], "alarm"))
        return alarm_run(m, argc - 1, argv + 1);
    if (!strcmp(argv[0], "event"))
        return event_run(m, argc - 1, argv + 1);
    if (!strcmp(argv[0], "role"))
        return role_run(m, argc - 1, argv + 1);
    if (!strcmp(argv[0], "software"))
        return software_run(m, argc - 1, argv + 1);
    if (!strcmp(argv[0], "dfw"))
        return dfw_run(m, argc - 1, argv + 1);
    if (!strcmp(argv[0], "dpu") && !strcmp(argv[1], "failover"))
        return failover_run(m, argc - 1, argv + 1);
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
        if (!strcmp(argv[0], kinds[k][0]))
            return obj_run(m, kinds[k][1], argc - 1, argv + 1);
    return cli_usage_error(NULL,
                           "unknown object '%s' (the manager's: datacenter, cluster, "
                           "host, dpu, switch, portgroup, vm, vnic, alarmdef, dfw, task, alarm, "
                           "event, "
                           "software, role, user, audit, login)",
                           argv[0]);
}

int
cli_manager(const char *url_opt, const char *ca_opt, bool json, int argc, char **argv)
{
    json_t *cfg = config_load();
    const char *url = pick(url_opt, "DSE_MANAGER", cfg, "url");
    const char *ca = pick(ca_opt, "DSE_MANAGER_CA", cfg, "ca");
    const char *saved = json_string_value(json_object_get(cfg, "url"));
    struct mgr m = {.json = json, .peer.timeout_ms = CALL_MS};
    char err[ERR_LEN] = "";
    struct tls_paths tp = {.ca = ca};
    int rc;
    if (!url || parse_url(url, m.host, sizeof m.host, &m.peer) < 0) {
        rc = cli_usage_error(NULL, "--manager https://ADDR:PORT (or $DSE_MANAGER)");
    } else if (!ca) {
        rc = cli_usage_error(NULL, "--ca PEM: the manager's CA (or $DSE_MANAGER_CA)");
    } else if (!(m.peer.ctx = tls_client_ctx(&tp, err, sizeof err))) {
        fprintf(stderr, "dsectl: %s\n", err);
        rc = EXIT_FAILED;
    } else {
        m.token = getenv("DSE_TOKEN");
        if (!m.token && saved && !strcmp(saved, url))
            m.token = json_string_value(json_object_get(cfg, "token"));
        rc = dispatch(&m, url, ca, argc, argv);
    }
    if (m.peer.ctx)
        SSL_CTX_free(m.peer.ctx);
    json_decref(cfg);
    return rc;
}
