/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hostd platform: what hostd asks of the platform it runs on.  Giving a VM
 * its vNIC: in the lab that is `dse-lab vm-create`, which makes the VM's
 * netns and a veth whose DPU end is the VF representor; on hardware it will
 * be SR-IOV VF setup.  Rebooting the server: in the lab `dse-lab reboot`; on
 * hardware the BMC's or the kernel's.  And the host's platform file
 * (DIR/platform.json): where its sensors are.
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemons/hostd/hostd.h"
#include "platform/lab/vfmux.h"
#include "lib/log.h"
#include "lib/util.h"

LOG_MODULE(platform);

extern char **environ;

void
hostd_vm_rep_name(const char *vm, char *buf, size_t len)
{
    snprintf(buf, len, "rep-%s", vm);
}

/* The host's own name in the lab: "dse-h1" with prefix "dse" is "h1". */
static const char *
lab_host(const struct hostd *h)
{
    size_t n = strlen(h->lab_prefix);
    return !strncmp(h->name, h->lab_prefix, n) && h->name[n] == '-' ? h->name + n + 1 : h->name;
}

/* Runs argv, captures the last line of its stderr into 'err' on failure. */
static int
run_lab(struct hostd *h, char *const argv[], char *err, size_t err_len)
{
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) < 0)
        return err_set(err, err_len, -errno, "pipe: %s", strerror(errno));
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(pipefd[1]);
    if (rc) {
        close(pipefd[0]);
        return err_set(err, err_len, -rc, "cannot run %s: %s", argv[0], strerror(rc));
    }
    char out[4096];
    size_t n = 0;
    ssize_t r;
    while ((r = read(pipefd[0], out + n, sizeof out - 1 - n)) > 0 && n < sizeof out - 1)
        n += (size_t)r;
    out[n] = '\0';
    close(pipefd[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    while (n && (out[n - 1] == '\n' || out[n - 1] == ' '))
        out[--n] = '\0';
    char *last = strrchr(out, '\n');
    return err_set(err, err_len, -EIO, "%s", last ? last + 1 : n ? out : "lab command failed");
}

int
hostd_platform_vm_create(struct hostd *h, json_t *vm, const char *dpu, char *err,
                         size_t err_len)
{
    if (!h->lab_prefix)
        return err_set(err, err_len, -EOPNOTSUPP, "VMs are created by the lab platform only");
    const char *ip = json_string_value(json_object_get(vm, "ip"));
    char dpu_num[8];
    snprintf(dpu_num, sizeof dpu_num, "%s", dpu + 3); /* "dpu1" -> "1" */
    char *argv[16];
    int n = 0;
    argv[n++] = (char *)h->lab_cmd;
    argv[n++] = "vm-create";
    argv[n++] = "--prefix";
    argv[n++] = (char *)h->lab_prefix;
    argv[n++] = (char *)lab_host(h);
    argv[n++] = (char *)json_string_value(json_object_get(vm, "name"));
    argv[n++] = "--mac";
    argv[n++] = (char *)json_string_value(json_object_get(vm, "mac"));
    argv[n++] = "--dpu";
    argv[n++] = dpu_num;
    if (ip) {
        argv[n++] = "--ip";
        argv[n++] = (char *)ip;
    }
    argv[n] = NULL;
    return run_lab(h, argv, err, err_len);
}

int
hostd_platform_vm_destroy(struct hostd *h, json_t *vm, char *err, size_t err_len)
{
    if (!h->lab_prefix)
        return err_set(err, err_len, -EOPNOTSUPP, "VMs are managed by the lab platform only");
    char *argv[] = {(char *)h->lab_cmd,
                    "vm-destroy",
                    "--prefix",
                    (char *)h->lab_prefix,
                    (char *)lab_host(h),
                    (char *)json_string_value(json_object_get(vm, "name")),
                    NULL};
    return run_lab(h, argv, err, err_len);
}

int
hostd_platform_vnic_move(struct hostd *h, const char *vm, unsigned dpu, char *err, size_t err_len)
{
    if (!h->lab_prefix)
        return snprintf(err, err_len, "vNICs move on the lab platform only"), -EOPNOTSUPP;
    /* The lab's pins: DIR/../bpf/hN-VM (dse-lab vm-create attached the mux). */
    char pin[4200];
    const char *slash = strrchr(h->dir, '/');
    int n = slash ? (int)(slash - h->dir) : 0;
    snprintf(pin, sizeof pin, "%.*s/bpf/%s-%s", n, h->dir, lab_host(h), vm);
    return vfmux_set_leg(pin, dpu + 1, err, err_len);
}

int
hostd_platform_reboot(struct hostd *h, struct hostd_reboot *r, char *err, size_t err_len)
{
    if (!h->lab_prefix || !h->lab_cmd)
        return err_set(err, err_len, -ENOTSUP, "reboot: this platform has no reboot (lab only)");
    const char *log = r->log;
    snprintf(r->name, sizeof r->name, "%s", lab_host(h));
    snprintf(r->log, sizeof r->log, "%s/log/reboot.log", h->dir);
    /* The reboot stops this daemon: it runs apart (its own session; dse-lab
     * leaves our cgroup), and its output goes to the host's log. */
    pid_t pid = fork();
    if (pid < 0)
        return err_set(err, err_len, -errno, "reboot: fork: %s", strerror(errno));
    if (pid == 0) {
        if (fork() != 0)
            _exit(0);
        setsid();
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        int null = open("/dev/null", O_RDONLY);
        if (null >= 0)
            dup2(null, 0);
        execl(h->lab_cmd, h->lab_cmd, "reboot", "--prefix", h->lab_prefix, lab_host(h),
              (char *)NULL);
        _exit(127);
    }
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
    log_info("reboot: %s reboot %s (log %s)", h->lab_cmd, lab_host(h), log);
    return 0;
}

int
hostd_platform_parse(const char *text, size_t len, struct hostd_platform *out, char *err,
                     size_t err_len)
{
    json_error_t jerr;
    *out = (struct hostd_platform){""};
    if (!text)
        return 0;
    json_t *j = json_loadb(text, len, 0, &jerr);
    const json_t *hwmon = json_object_get(j, "hwmon");
    int rc = 0;
    if (!j)
        rc = err_set(err, err_len, -EINVAL, "%s (line %d)", jerr.text, jerr.line);
    else if (!json_is_object(j))
        rc = err_set(err, err_len, -EINVAL, "not a JSON object");
    else if (hwmon && (!json_is_string(hwmon) || json_string_length(hwmon) >= sizeof out->hwmon))
        rc = err_set(err, err_len, -EINVAL, "'hwmon' must be a directory's path, below %zu bytes",
                     sizeof out->hwmon);
    else if (hwmon)
        snprintf(out->hwmon, sizeof out->hwmon, "%s", json_string_value(hwmon));
    json_decref(j);
    return rc;
}
