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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemons/hostd/hostd.h"
#include "lib/log.h"
#include "lib/util.h"

LOG_MODULE(platform);

void
hostd_vm_rep_name(const char *vm, char *buf, size_t len)
{
    snprintf(buf, len, "rep-%s", vm);
}

/* The index of DPU 'name' among this host's, or -1. */
static int
dpu_index(const struct hostd *h, const char *name)
{
    for (unsigned i = 0; name && i < h->n_dpus; i++)
        if (!strcmp(h->dpus[i].name, name))
            return (int)i;
    return -1;
}

int
hostd_platform_vm_create(struct hostd *h, json_t *vm, const char *dpu, unsigned incoming, char *err,
                         size_t err_len)
{
    int i = dpu_index(h, dpu);
    if (i < 0)
        return err_set(err, err_len, -EINVAL, "vm: no DPU %s on this host", dpu ? dpu : "(none)");
    char accel[128] = "";
    struct platform_vm v = {
        .name = json_string_value(json_object_get(vm, "name")),
        .mac = json_string_value(json_object_get(vm, "mac")),
        .ip = json_string_value(json_object_get(vm, "ip")),
        .dpu = (unsigned)i,
        .kind = json_string_value(json_object_get(vm, "kind")),
        .mem_mib = (unsigned)json_integer_value(json_object_get(vm, "mem_mib")),
        .incoming = incoming,
        .accel = accel,
        .accel_len = sizeof accel,
    };
    int rc = platform_vm_create(&h->platform, &v, err, err_len);
    if (rc == 0 && accel[0])
        json_object_set_new(vm, "accel", json_string(accel));
    return rc;
}

int
hostd_platform_vm_destroy(struct hostd *h, json_t *vm, char *err, size_t err_len)
{
    return platform_vm_destroy(&h->platform, json_string_value(json_object_get(vm, "name")), err,
                               err_len);
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
