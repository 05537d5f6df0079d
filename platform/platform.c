/* SPDX-License-Identifier: Apache-2.0 */
/* platform: the operations, or a refusal where the platform has none. */
#include "platform/platform.h"

#include <errno.h>

#include "lib/util.h"

int
platform_vm_create(const struct platform *p, const struct platform_vm *vm, char *err,
                   size_t err_len)
{
    if (!p->ops || !p->ops->vm_create)
        return err_set(err, err_len, -EOPNOTSUPP, "VMs are created by the lab platform only");
    return p->ops->vm_create(p->aux, vm, err, err_len);
}

int
platform_vm_destroy(const struct platform *p, const char *vm, char *err, size_t err_len)
{
    if (!p->ops || !p->ops->vm_destroy)
        return err_set(err, err_len, -EOPNOTSUPP, "VMs are managed by the lab platform only");
    return p->ops->vm_destroy(p->aux, vm, err, err_len);
}

int
platform_vm_migrate(const struct platform *p, const char *vm, const char *to, unsigned port,
                    unsigned mib_s, char *out, size_t out_len, char *err, size_t err_len)
{
    if (!p->ops || !p->ops->vm_migrate)
        return err_set(err, err_len, -EOPNOTSUPP, "VMs migrate on the lab platform only");
    return p->ops->vm_migrate(p->aux, vm, to, port, mib_s, out, out_len, err, err_len);
}

int
platform_vnic_move(const struct platform *p, const char *vm, unsigned dpu, char *err,
                   size_t err_len)
{
    if (!p->ops || !p->ops->vnic_move)
        return err_set(err, err_len, -EOPNOTSUPP, "vNICs move on the lab platform only");
    return p->ops->vnic_move(p->aux, vm, dpu, err, err_len);
}

int
platform_reboot(const struct platform *p, struct platform_reboot *r, char *err, size_t err_len)
{
    if (!p->ops || !p->ops->reboot)
        return err_set(err, err_len, -EOPNOTSUPP, "reboot: this platform has no reboot (lab only)");
    return p->ops->reboot(p->aux, r, err, err_len);
}
