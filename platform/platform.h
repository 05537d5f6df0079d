/* SPDX-License-Identifier: Apache-2.0 */
/*
 * platform: what hostd asks of the server it runs on, and nothing else knows
 * how it is done: give a VM its vNIC on a DPU (in the lab a network namespace
 * and a veth whose DPU end is the VF representor; on hardware an SR-IOV VF),
 * take it away, move a vNIC to the other DPU (a two-DPU host's failover), and
 * reboot the whole server.  platform/lab/lab.h implements it for the lab; a
 * hardware platform is one more struct platform_ops.
 *
 * Each operation returns 0 or a negative errno with a one-line reason in
 * 'err' (lib/util.h).  A platform without an operation (NULL) refuses it
 * with -EOPNOTSUPP (platform_*() below say so).
 *
 * Thread-safety: as each implementation says; the lab's are reentrant.
 */
#ifndef DSE_PLATFORM_H
#define DSE_PLATFORM_H

#include <stddef.h>

/* A VM as the platform sees it: its name, its vNIC's MAC, an address to set
 * inside it (or NULL), the DPU (0 or 1) whose VF it gets, its kind ("netns",
 * the default when NULL, or "qemu": a guest whose virtio-net NIC the DPU
 * serves over vhost-user) and a QEMU guest's memory.  vm_create writes into
 * 'accel' (when not NULL) how a QEMU guest runs: "tcg: why" or "kvm: why". */
struct platform_vm {
    const char *name;
    const char *mac;
    const char *ip;
    unsigned dpu;
    const char *kind;
    unsigned mem_mib;
    unsigned incoming; /* qemu: not booted, it comes from a live migration to this TCP port */
    char *accel;
    size_t accel_len;
};

/* A reboot under way: the server's name on the platform ("h1") and the file
 * the reboot writes its output to. */
struct platform_reboot {
    char name[64];
    char log[4200];
};

struct platform_ops {
    const char *name; /* "lab" */
    int (*vm_create)(void *aux, const struct platform_vm *vm, char *err, size_t err_len);
    int (*vm_destroy)(void *aux, const char *vm, char *err, size_t err_len);
    /* Live-migrates QEMU VM 'vm' to the one that waits for it on server 'to'
     * (vm_create with 'incoming' = 'port'), the stream capped at 'mib_s'
     * MiB/s (0: QEMU's default); returns once it completed, with
     * the migration's figures as a JSON object in 'out'.  The VM stays here
     * (stopped) for vm_destroy; on failure it runs on here. */
    int (*vm_migrate)(void *aux, const char *vm, const char *to, unsigned port, unsigned mib_s,
                      char *out, size_t out_len, char *err, size_t err_len);
    /* Any thread (hostd's HA moves vNICs from its own). */
    int (*vnic_move)(void *aux, const char *vm, unsigned dpu, char *err, size_t err_len);
    /* Starts rebooting the server, which stops the caller; returns once the
     * reboot runs apart, with 'r' filled. */
    int (*reboot)(void *aux, struct platform_reboot *r, char *err, size_t err_len);
};

/* A platform: its operations and their argument.  Zeroed: no platform (a
 * host whose VMs and reboots are someone else's). */
struct platform {
    const struct platform_ops *ops;
    void *aux;
};

/* The operations, refused with -EOPNOTSUPP ("WHAT: not on this platform")
 * where the platform has none. */
int platform_vm_create(const struct platform *, const struct platform_vm *vm, char *err,
                       size_t err_len);
int platform_vm_destroy(const struct platform *, const char *vm, char *err, size_t err_len);
int platform_vm_migrate(const struct platform *, const char *vm, const char *to, unsigned port,
                        unsigned mib_s, char *out, size_t out_len, char *err, size_t err_len);
int platform_vnic_move(const struct platform *, const char *vm, unsigned dpu, char *err,
                       size_t err_len);
int platform_reboot(const struct platform *, struct platform_reboot *r, char *err, size_t err_len);

#endif
