/* SPDX-License-Identifier: Apache-2.0 */
/* lab: the emulated platform's operations (lab.h), over dse-lab and vfmux. */
#include "platform/lab/lab.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"
#include "platform/lab/vfmux.h"

LOG_MODULE(platform);

extern char **environ;

static bool
copy(char *dst, size_t len, const char *src)
{
    return (size_t)snprintf(dst, len, "%s", src) < len;
}

int
lab_platform_init(struct lab_platform *lab, const char *prefix, const char *cmd, const char *name,
                  const char *dir, char *err, size_t err_len)
{
    if (!prefix || !cmd || !name || !dir)
        return err_set(err, err_len, -EINVAL,
                       "lab platform: wants a prefix, dse-lab, a name and a "
                       "directory");
    size_t n = strlen(prefix);
    const char *host = !strncmp(name, prefix, n) && name[n] == '-' ? name + n + 1 : name;
    if (!copy(lab->prefix, sizeof lab->prefix, prefix) || !copy(lab->cmd, sizeof lab->cmd, cmd) ||
        !copy(lab->host, sizeof lab->host, host) || !copy(lab->dir, sizeof lab->dir, dir))
        return err_set(err, err_len, -ENAMETOOLONG, "lab platform: a name or path is too long");
    return 0;
}

/* Waits for child 'pid'.  Returns its wait status. */
static int
reap(pid_t pid)
{
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return status;
}

/* Copies the rest of the line of 'out' that starts with 'key' into 'buf'. */
static void
find_line(const char *out, const char *key, char *buf, size_t len)
{
    size_t k = strlen(key);
    for (const char *l = out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        if (!strncmp(l, key, k)) {
            snprintf(buf, len, "%.*s", (int)strcspn(l + k, "\n"), l + k);
            return;
        }
    }
}

/* Runs dse-lab with 'argv' (argv[0] is its path); on failure the last line
 * of its stderr is the reason.  With 'key', its stdout is read too, and the
 * rest of its line that starts with 'key' goes to 'val'. */
static int
run_lab(char *const argv[], const char *key, char *val, size_t val_len, char *err, size_t err_len)
{
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) < 0)
        return err_set(err, err_len, -errno, "pipe: %s", strerror(errno));
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
    if (key)
        posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
    else
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
    int status = reap(pid);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        if (key && val_len)
            find_line(out, key, val, val_len);
        return 0;
    }
    while (n && (out[n - 1] == '\n' || out[n - 1] == ' '))
        out[--n] = '\0';
    char *last = strrchr(out, '\n');
    return err_set(err, err_len, -EIO, "%s", last ? last + 1 : n ? out : "lab command failed");
}

static int
vm_create(void *aux, const struct platform_vm *vm, char *err, size_t err_len)
{
    struct lab_platform *lab = aux;
    char dpu[12], mem[12], port[12];
    snprintf(dpu, sizeof dpu, "%u", vm->dpu + 1); /* dse-lab counts DPUs from 1 */
    snprintf(mem, sizeof mem, "%u", vm->mem_mib ? vm->mem_mib : 256);
    snprintf(port, sizeof port, "%u", vm->incoming);
    char *argv[24] = {lab->cmd,   "vm-create",
                      "--prefix", lab->prefix,
                      lab->host,  (char *)vm->name,
                      "--mac",    (char *)vm->mac,
                      "--dpu",    dpu,
                      "--kind",   vm->kind ? (char *)vm->kind : "netns",
                      "--mem",    mem};
    unsigned n = 14;
    if (vm->ip) {
        argv[n++] = "--ip";
        argv[n++] = (char *)vm->ip;
    }
    if (vm->incoming) {
        argv[n++] = "--incoming";
        argv[n++] = port;
    }
    return run_lab(argv, "accel ", vm->accel, vm->accel_len, err, err_len);
}

static int
vm_destroy(void *aux, const char *vm, char *err, size_t err_len)
{
    struct lab_platform *lab = aux;
    char *argv[] = {lab->cmd, "vm-destroy", "--prefix", lab->prefix, lab->host, (char *)vm, NULL};
    return run_lab(argv, NULL, NULL, 0, err, err_len);
}

static int
vm_migrate(void *aux, const char *vm, const char *to, unsigned port, unsigned mib_s, char *out,
           size_t out_len, char *err, size_t err_len)
{
    struct lab_platform *lab = aux;
    char p[12], bw[12];
    snprintf(p, sizeof p, "%u", port);
    snprintf(bw, sizeof bw, "%u", mib_s);
    char *argv[] = {lab->cmd,      "vm-migrate", "--prefix", lab->prefix, lab->host,
                    (char *)vm,    "--to",       (char *)to, "--port",    p,
                    "--bandwidth", bw,           NULL};
    if (out_len)
        out[0] = '\0';
    return run_lab(argv, "migration ", out, out_len, err, err_len);
}

static int
vnic_move(void *aux, const char *vm, unsigned dpu, char *err, size_t err_len)
{
    const struct lab_platform *lab = aux;
    /* The lab's pins: DIR/../bpf/HOST-VM (dse-lab vm-create attached the mux). */
    char pin[4200];
    const char *slash = strrchr(lab->dir, '/');
    int n = slash ? (int)(slash - lab->dir) : 0;
    snprintf(pin, sizeof pin, "%.*s/bpf/%s-%s", n, lab->dir, lab->host, vm);
    return vfmux_set_leg(pin, dpu + 1, err, err_len);
}

/* The child that reboots: apart from the caller (a grandchild in its own
 * session; dse-lab leaves the caller's cgroup), its output into 'log'. */
static void
reboot_child(const struct lab_platform *lab, const char *log)
{
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
    execl(lab->cmd, lab->cmd, "reboot", "--prefix", lab->prefix, lab->host, (char *)NULL);
    _exit(127);
}

static int
reboot(void *aux, struct platform_reboot *r, char *err, size_t err_len)
{
    const struct lab_platform *lab = aux;
    snprintf(r->name, sizeof r->name, "%s", lab->host);
    snprintf(r->log, sizeof r->log, "%s/log/reboot.log", lab->dir);
    pid_t pid = fork();
    if (pid < 0)
        return err_set(err, err_len, -errno, "reboot: fork: %s", strerror(errno));
    if (pid == 0)
        reboot_child(lab, r->log);
    reap(pid);
    log_info("reboot: %s reboot %s (log %s)", lab->cmd, lab->host, r->log);
    return 0;
}

const struct platform_ops lab_platform_ops = {
    .name = "lab",
    .vm_create = vm_create,
    .vm_destroy = vm_destroy,
    .vm_migrate = vm_migrate,
    .vnic_move = vnic_move,
    .reboot = reboot,
};
