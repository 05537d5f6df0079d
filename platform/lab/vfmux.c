/* SPDX-License-Identifier: Apache-2.0 */
/* vfmux: load, pin and steer the lab's VF mux (vfmux.h). */
#include "platform/lab/vfmux.h"
#include "lib/util.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern const unsigned char vfmux_bpf_obj[];
extern const size_t vfmux_bpf_obj_len;

const char *
vfmux_counter_name(enum vfmux_counter c)
{
    static const char *const names[] = {"tx_leg1", "tx_leg2", "rx_leg1",
                                        "rx_leg2", "drop_tx", "drop_rx"};
    return (unsigned)c < VFMUX__N ? names[c] : "?";
}

int
vfmux_load(struct bpf_object **out, char *err, size_t err_len)
{
    libbpf_set_print(NULL);
    struct bpf_object *obj = bpf_object__open_mem(vfmux_bpf_obj, vfmux_bpf_obj_len, NULL);
    int rc = obj ? bpf_object__load(obj) : -errno;
    *out = NULL;
    if (rc < 0) {
        bpf_object__close(obj);
        return err_set(err, err_len, rc, "load the mux: %s", strerror(-rc));
    }
    *out = obj;
    return 0;
}

/* One tc program on 'ifindex' at 'where'. */
static int
hook(struct bpf_object *obj, const char *prog, int ifindex, enum bpf_tc_attach_point where,
     char *err, size_t len)
{
    struct bpf_program *p = bpf_object__find_program_by_name(obj, prog);
    DECLARE_LIBBPF_OPTS(bpf_tc_hook, h, .ifindex = ifindex, .attach_point = where);
    DECLARE_LIBBPF_OPTS(bpf_tc_opts, o, .handle = 1, .priority = 1,
                        .prog_fd = p ? bpf_program__fd(p) : -1, .flags = BPF_TC_F_REPLACE);
    int rc = bpf_tc_hook_create(&h);
    if (rc < 0 && rc != -EEXIST)
        return err_set(err, len, rc, "clsact on ifindex %d: %s", ifindex, strerror(-rc));
    if ((rc = bpf_tc_attach(&h, &o)) < 0)
        return err_set(err, len, rc, "%s on ifindex %d: %s", prog, ifindex, strerror(-rc));
    return 0;
}

static int
pin(struct bpf_object *obj, const char *map, const char *path, char *err, size_t len)
{
    struct bpf_map *m = bpf_object__find_map_by_name(obj, map);
    unlink(path);
    int rc = m ? bpf_map__pin(m, path) : -ENOENT;
    return rc < 0 ? err_set(err, len, rc, "pin %s at %s: %s", map, path, strerror(-rc)) : 0;
}

int
vfmux_attach(const char *dev0, const char *dev1, const char *pin_at, unsigned leg, char *err,
             size_t err_len)
{
    int if0 = (int)if_nametoindex(dev0), if1 = (int)if_nametoindex(dev1);
    if (!if0 || !if1)
        return err_set(err, err_len, -ENODEV, "no interface %s", !if0 ? dev0 : dev1);
    if (leg > 2)
        return err_set(err, err_len, -EINVAL, "leg %u: 0, 1 or 2", leg);
    struct bpf_object *obj;
    int rc = vfmux_load(&obj, err, err_len);
    if (rc < 0)
        return rc;
    struct vfmux_cfg c = {.leg = leg, .ifindex0 = (__u32)if0, .ifindex1 = (__u32)if1};
    __u32 k = 0;
    struct bpf_map *m = bpf_object__find_map_by_name(obj, "vfmux_cfg");
    char path[4096];
    rc = m ? bpf_map_update_elem(bpf_map__fd(m), &k, &c, BPF_ANY) : -ENOENT;
    if (rc < 0)
        err_set(err, err_len, rc, "configure the mux: %s", strerror(errno));
    if (rc == 0)
        snprintf(path, sizeof path, "%s-cfg", pin_at),
            rc = pin(obj, "vfmux_cfg", path, err, err_len);
    if (rc == 0)
        snprintf(path, sizeof path, "%s-stats", pin_at),
            rc = pin(obj, "vfmux_stats", path, err, err_len);
    if (rc == 0)
        rc = hook(obj, "vfmux_egress0", if0, BPF_TC_EGRESS, err, err_len);
    if (rc == 0)
        rc = hook(obj, "vfmux_ingress0", if0, BPF_TC_INGRESS, err, err_len);
    if (rc == 0)
        rc = hook(obj, "vfmux_egress1", if1, BPF_TC_EGRESS, err, err_len);
    if (rc == 0)
        rc = hook(obj, "vfmux_ingress1", if1, BPF_TC_INGRESS, err, err_len);
    bpf_object__close(obj); /* tc and the pins keep what they hold */
    return rc;
}

static int
open_pin(const char *pin_at, const char *what, char *err, size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s-%s", pin_at, what); /* bpffs refuses dots in names */
    int fd = bpf_obj_get(path);
    return fd < 0 ? err_set(err, len, -errno, "%s: %s", path, strerror(errno)) : fd;
}

/* The mux's configuration, and with 'leg' <= 2 that leg set in it. */
static int
cfg_access(const char *pin_at, struct vfmux_cfg *c, unsigned leg, char *err, size_t err_len)
{
    int fd = open_pin(pin_at, "cfg", err, err_len);
    if (fd < 0)
        return fd;
    __u32 k = 0;
    int rc = bpf_map_lookup_elem(fd, &k, c) < 0 ? -errno : 0;
    if (rc == 0 && leg <= 2) {
        c->leg = leg;
        if (bpf_map_update_elem(fd, &k, c, BPF_EXIST) < 0)
            rc = -errno;
    }
    close(fd);
    return rc < 0 ? err_set(err, err_len, rc, "%s: %s", pin_at, strerror(-rc)) : 0;
}

int
vfmux_set_leg(const char *pin_at, unsigned leg, char *err, size_t err_len)
{
    if (leg > 2)
        return err_set(err, err_len, -EINVAL, "leg %u: 0, 1 or 2", leg);
    struct vfmux_cfg c;
    return cfg_access(pin_at, &c, leg, err, err_len);
}

int
vfmux_get(const char *pin_at, unsigned *leg, uint64_t counters[VFMUX__N], char *err, size_t err_len)
{
    struct vfmux_cfg c;
    int rc = cfg_access(pin_at, &c, UINT_MAX, err, err_len);
    if (rc < 0)
        return rc;
    *leg = c.leg;
    if (!counters)
        return 0;
    int fd = open_pin(pin_at, "stats", err, err_len);
    if (fd < 0)
        return fd;
    int n_cpus = libbpf_num_possible_cpus();
    __u64 *v = calloc((size_t)(n_cpus > 0 ? n_cpus : 1), sizeof *v);
    bool ok = v != NULL;
    for (__u32 i = 0; v && i < VFMUX__N; i++) {
        counters[i] = 0;
        if (bpf_map_lookup_elem(fd, &i, v) == 0)
            for (int cpu = 0; cpu < n_cpus; cpu++)
                counters[i] += v[cpu];
    }
    free(v);
    close(fd);
    return ok ? 0 : err_set(err, err_len, -ENOMEM, "out of memory");
}
