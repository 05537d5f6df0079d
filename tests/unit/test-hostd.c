/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hostd's logic (hostd-core), without a lab: its command table over a desired
 * state in a scratch directory, two DPUs that do not answer (127.0.0.1, a
 * closed port), and a stand-in for the platform's command that records what
 * it was asked.  Commands apply completely or change nothing; a VM's vNIC is
 * placed on the DPU asked for, else the first.
 */
#include "tests/unit/check.h"

#include <fcntl.h>
#include "daemons/hostd/hostd.h"
#include "lib/cmdtab.h"
#include "lib/log.h"
#include "lib/util.h"
#include "platform/lab/lab.h"

#include <openssl/ssl.h>
#include <sys/stat.h>
#include <unistd.h>

struct fixture {
    char dir[64], lab[128], calls[128];
    struct lab_platform platform;
    struct hostd h;
    struct cmdtab *tab;
};

/* Makes the stand-in platform command record each call, one line, then run
 * 'body' (shell, "$1" the operation; nothing: succeed). */
static bool
platform_script(struct fixture *f, const char *body)
{
    char script[1024];
    int n = snprintf(script, sizeof script, "#!/bin/sh\necho \"$*\" >>%s\n%s\n", f->calls, body);
    return fs_write_atomic(f->lab, script, (size_t)n) == 0 && chmod(f->lab, 0755) == 0;
}

static bool
fixture_start(struct fixture *f)
{
    memset(f, 0, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/dse-test-hostd-XXXXXX");
    if (!mkdtemp(f->dir))
        return false;
    snprintf(f->lab, sizeof f->lab, "%s/lab", f->dir);
    snprintf(f->calls, sizeof f->calls, "%s/calls", f->dir);
    if (!platform_script(f, "")) /* the platform: records each call and succeeds */
        return false;
    struct hostd *h = &f->h;
    h->name = "lt1-h1";
    h->dir = f->dir;
    h->lab_prefix = "lt1";
    h->lab_cmd = f->lab;
    h->client_ssl = SSL_CTX_new(TLS_client_method());
    char err[ERR_LEN];
    if (lab_platform_init(&f->platform, "lt1", f->lab, h->name, h->dir, err, sizeof err) < 0)
        return false;
    h->platform = (struct platform){.ops = &lab_platform_ops, .aux = &f->platform};
    if (hostd_dpu_parse(&h->dpus[0], "dpu1=127.0.0.1:1,cn=lt1-h1-dpu1", err, sizeof err) < 0 ||
        hostd_dpu_parse(&h->dpus[1], "dpu2=127.0.0.1:1,cn=lt1-h1-dpu2", err, sizeof err) < 0)
        return false;
    h->n_dpus = 2;
    if (hostd_config_load(h, err, sizeof err) < 0)
        return false;
    f->tab = hostd_cmdtab(h);
    return f->tab != NULL;
}

static void
fixture_stop(struct fixture *f)
{
    cmdtab_destroy(f->tab);
    hostd_close(&f->h);
    if (fs_remove_at(AT_FDCWD, f->dir) < 0)
        fprintf(stderr, "cannot remove %s\n", f->dir);
}

/* Runs 'cmd' with 'args' (JSON text, consumed): the envelope's code, or "ok". */
static const char *
run(struct fixture *f, const char *cmd, const char *args)
{
    static char code[32];
    json_t *a = json_loads(args, 0, NULL);
    json_t *env = cmdtab_dispatch(f->tab, cmd, a, "unix");
    json_decref(a);
    const char *c = json_string_value(json_object_get(env, "code"));
    snprintf(code, sizeof code, "%s", json_is_true(json_object_get(env, "ok")) ? "ok" : c);
    json_decref(env);
    return code;
}

/* The desired state on disk, as text. */
static char *
on_disk(struct fixture *f)
{
    return fs_read_file(f->h.config_path, 1 << 20, NULL);
}

static void
a_change_is_saved_with_a_new_generation(void)
{
    struct fixture f;
    ASSERT_TRUE(fixture_start(&f));
    json_int_t gen = json_integer_value(json_object_get(f.h.config, "generation"));
    ASSERT_STREQ(run(&f, "portgroup.add", "{\"name\": \"pg-a\", \"vlan\": 10}"), "ok");
    ASSERT_STREQ(run(&f, "portgroup.add", "{\"name\": \"pg-a\", \"vlan\": 11}"), "exists");
    ASSERT_STREQ(run(&f, "portgroup.add", "{\"name\": \"pg-b\", \"vlan\": 10}"), "exists");
    /* What is on disk is what is in memory: a new hostd reads it back. */
    json_t *saved = json_deep_copy(f.h.config);
    char err[ERR_LEN];
    ASSERT_EQ(hostd_config_load(&f.h, err, sizeof err), 0);
    ASSERT_TRUE(json_equal(saved, f.h.config));
    ASSERT_EQ(json_integer_value(json_object_get(f.h.config, "generation")), gen + 1);
    json_decref(saved);
    fixture_stop(&f);
}

static void
a_change_that_cannot_be_saved_changes_nothing(void)
{
    struct fixture f;
    ASSERT_TRUE(fixture_start(&f));
    ASSERT_STREQ(run(&f, "portgroup.add", "{\"name\": \"pg-a\", \"vlan\": 10}"), "ok");
    char *before = on_disk(&f);
    json_t *mem = json_deep_copy(f.h.config);
    /* The state file's directory is gone: every change fails to save. */
    snprintf(f.h.config_path, sizeof f.h.config_path, "%s/gone/hostd.json", f.dir);
    ASSERT_STREQ(run(&f, "portgroup.add", "{\"name\": \"pg-b\", \"vlan\": 20}"), "failed");
    ASSERT_STREQ(run(&f, "portgroup.del", "{\"name\": \"pg-a\"}"), "failed");
    ASSERT_STREQ(run(&f, "switch.set", "{\"mac_age_s\": 60}"), "failed");
    ASSERT_STREQ(run(&f, "vm.add", "{\"name\": \"vm1\", \"portgroup\": \"pg-a\"}"), "failed");
    /* Nothing of those in memory ... */
    ASSERT_TRUE(json_equal(mem, f.h.config));
    json_decref(mem);
    /* ... nor on disk, and the VM the platform made for vm.add is gone again. */
    snprintf(f.h.config_path, sizeof f.h.config_path, "%s/hostd.json", f.dir);
    char *after = on_disk(&f);
    ASSERT_STREQ(after, before);
    free(before);
    free(after);
    char *calls = fs_read_file(f.calls, 4096, NULL);
    ASSERT_NOT_NULL(calls);
    ASSERT_NOT_NULL(strstr(calls, "vm-create --prefix lt1 h1 vm1"));
    ASSERT_NOT_NULL(strstr(calls, "vm-destroy --prefix lt1 h1 vm1"));
    free(calls);
    fixture_stop(&f);
}

static void
a_vm_is_placed_on_the_dpu_asked_for_else_the_first(void)
{
    struct fixture f;
    ASSERT_TRUE(fixture_start(&f));
    ASSERT_STREQ(run(&f, "portgroup.add", "{\"name\": \"pg-a\", \"vlan\": 10}"), "ok");
    ASSERT_STREQ(run(&f, "vm.add", "{\"name\": \"vm1\", \"portgroup\": \"pg-a\"}"), "ok");
    ASSERT_STREQ(
        run(&f, "vm.add", "{\"name\": \"vm2\", \"portgroup\": \"pg-a\", \"dpu\": \"dpu2\"}"), "ok");
    ASSERT_STREQ(
        run(&f, "vm.add", "{\"name\": \"vm3\", \"portgroup\": \"pg-a\", \"dpu\": \"dpu9\"}"),
        "notfound");
    ASSERT_STREQ(run(&f, "vm.add", "{\"name\": \"vm4\", \"portgroup\": \"pg-x\"}"), "notfound");
    json_t *vms = json_object_get(f.h.config, "vms");
    ASSERT_EQ(json_array_size(vms), 2);
    ASSERT_STREQ(json_string_value(json_object_get(json_array_get(vms, 0), "dpu")), "dpu1");
    ASSERT_STREQ(json_string_value(json_object_get(json_array_get(vms, 1), "dpu")), "dpu2");
    /* Without HA each vNIC stays with its own DPU. */
    ASSERT_STREQ(hostd_vm_owner(&f.h, json_array_get(vms, 1)), "dpu2");
    char *calls = fs_read_file(f.calls, 4096, NULL);
    ASSERT_NOT_NULL(calls);
    ASSERT_NOT_NULL(strstr(calls, "h1 vm1 --mac 02:d5:00:01:00:01 --dpu 1"));
    ASSERT_NOT_NULL(strstr(calls, "h1 vm2 --mac 02:d5:00:01:00:02 --dpu 2"));
    ASSERT_NULL(strstr(calls, "vm3"));
    free(calls);
    fixture_stop(&f);
}

/* The VMs in the config, by name, in one string ("vm1 web"). */
static const char *
vm_names(struct fixture *f)
{
    static char names[256];
    size_t i, n = 0;
    json_t *vm;
    names[0] = '\0';
    json_array_foreach (json_object_get(f->h.config, "vms"), i, vm)
        n += (size_t)snprintf(names + n, sizeof names - n, "%s%s", n ? " " : "",
                              json_string_value(json_object_get(vm, "name")));
    return names;
}

static void
a_vm_the_platform_cannot_destroy_stays_configured(void)
{
    struct fixture f;
    ASSERT_TRUE(fixture_start(&f));
    ASSERT_STREQ(run(&f, "portgroup.add", "{\"name\": \"pg-a\", \"vlan\": 10}"), "ok");
    ASSERT_STREQ(run(&f, "vm.add", "{\"name\": \"web-1\", \"portgroup\": \"pg-a\"}"), "ok");
    ASSERT_TRUE(platform_script(
        &f, "[ \"$1\" = vm-destroy ] && { echo 'dse-lab: cannot destroy' >&2; exit 1; }; exit 0"));
    ASSERT_TRUE(strcmp(run(&f, "vm.del", "{\"name\": \"web-1\"}"), "ok") != 0);
    ASSERT_STREQ(vm_names(&f), "web-1"); /* it still runs: it stays */
    char *disk = on_disk(&f);
    ASSERT_NOT_NULL(strstr(disk, "web-1"));
    free(disk);
    ASSERT_TRUE(platform_script(&f, ""));
    ASSERT_STREQ(run(&f, "vm.del", "{\"name\": \"web-1\"}"), "ok");
    ASSERT_STREQ(vm_names(&f), "");
    fixture_stop(&f);
}

static void
a_migration_lets_the_vm_go_only_once_it_runs_there(void)
{
    struct fixture f;
    ASSERT_TRUE(fixture_start(&f));
    ASSERT_STREQ(run(&f, "portgroup.add", "{\"name\": \"pg-a\", \"vlan\": 10}"), "ok");
    ASSERT_STREQ(run(&f, "vm.add", "{\"name\": \"vm1\", \"portgroup\": \"pg-a\"}"), "ok");
    ASSERT_STREQ(run(&f, "vm.add",
                     "{\"name\": \"web\", \"portgroup\": \"pg-a\", \"kind\": \"qemu\", "
                     "\"incoming\": 4444}"),
                 "ok");
    ASSERT_TRUE(strcmp(run(&f, "vm.add",
                           "{\"name\": \"vm2\", \"portgroup\": \"pg-a\", \"incoming\": 4444}"),
                       "ok") != 0); /* --incoming is for QEMU VMs */
    /* a netns VM, an unknown one: refused, nothing asked of the platform */
    ASSERT_TRUE(strcmp(run(&f, "vm.migrate", "{\"name\": \"vm1\", \"to\": \"h2\", \"port\": 1}"),
                       "ok") != 0);
    ASSERT_STREQ(run(&f, "vm.migrate", "{\"name\": \"nosuch\", \"to\": \"h2\", \"port\": 1}"),
                 "notfound");
    /* the platform's migration fails: the VM stays, nothing destroyed */
    ASSERT_TRUE(platform_script(&f, "[ \"$1\" = vm-migrate ] && { echo 'dse-lab: migration "
                                    "failed, it runs on h1' >&2; exit 1; }; exit 0"));
    ASSERT_TRUE(strcmp(run(&f, "vm.migrate", "{\"name\": \"web\", \"to\": \"h2\", \"port\": 4445}"),
                       "ok") != 0);
    ASSERT_STREQ(vm_names(&f), "vm1 web");
    /* it succeeds: the VM leaves the config, its QEMU here is destroyed */
    ASSERT_TRUE(platform_script(&f, "[ \"$1\" = vm-migrate ] && echo 'migration "
                                    "{\"total_time_ms\": 900, \"downtime_ms\": 7}'; exit 0"));
    json_t *a = json_loads("{\"name\": \"web\", \"to\": \"h2\", \"port\": 4445, "
                           "\"bandwidth_mib\": 8}",
                           0, NULL);
    json_t *env = cmdtab_dispatch(f.tab, "vm.migrate", a, "unix");
    ASSERT_TRUE(json_is_true(json_object_get(env, "ok")));
    json_t *m = json_object_get(json_object_get(env, "result"), "migration");
    ASSERT_EQ(json_integer_value(json_object_get(m, "total_time_ms")), 900);
    json_decref(env);
    json_decref(a);
    ASSERT_STREQ(vm_names(&f), "vm1");
    char *calls = fs_read_file(f.calls, 8192, NULL);
    ASSERT_NOT_NULL(calls);
    ASSERT_NOT_NULL(strstr(calls, "vm-create --prefix lt1 h1 web --mac 02:d5:00:01:00:02 --dpu 1 "
                                  "--kind qemu --mem 256 --incoming 4444"));
    ASSERT_NOT_NULL(
        strstr(calls, "vm-migrate --prefix lt1 h1 web --to h2 --port 4445 --bandwidth 8"));
    ASSERT_NOT_NULL(strstr(calls, "vm-destroy --prefix lt1 h1 web"));
    ASSERT_NULL(strstr(calls, "vm-migrate --prefix lt1 h1 vm1"));
    /* the failed attempt destroyed nothing: one vm-destroy of web, after the success */
    ASSERT_EQ(strstr(calls, "vm-destroy --prefix lt1 h1 web") > strstr(calls, "--bandwidth 8"), 1);
    free(calls);
    fixture_stop(&f);
}

TEST_MAIN(TEST(a_change_is_saved_with_a_new_generation),
          TEST(a_change_that_cannot_be_saved_changes_nothing),
          TEST(a_vm_is_placed_on_the_dpu_asked_for_else_the_first),
          TEST(a_vm_the_platform_cannot_destroy_stays_configured),
          TEST(a_migration_lets_the_vm_go_only_once_it_runs_there))
