/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dse-vfmux: the lab's VF mux from the command line (vfmux.h).
 *
 *   dse-vfmux attach --pin PATH --leg 0|1|2 [--dev0 eth0] [--dev1 eth1]
 *                                      (in the VM's namespace: ip netns exec)
 *   dse-vfmux set --pin PATH --leg 0|1|2
 *   dse-vfmux show --pin PATH          {"leg": N, "counters": {...}}
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "platform/lab/vfmux.h"

static int
usage(const char *why)
{
    fprintf(stderr,
            "dse-vfmux: %s\nusage: dse-vfmux attach|set|show --pin PATH [--leg 0|1|2] "
            "[--dev0 IF] [--dev1 IF]\n",
            why);
    return 2;
}

int
main(int argc, char **argv)
{
    const char *pin = NULL, *dev0 = "eth0", *dev1 = "eth1";
    long leg = -1;
    if (argc < 2)
        return usage("which command?");
    for (int i = 2; i < argc; i += 2) {
        if (i + 1 >= argc)
            return usage("an option without its value");
        if (!strcmp(argv[i], "--pin"))
            pin = argv[i + 1];
        else if (!strcmp(argv[i], "--dev0"))
            dev0 = argv[i + 1];
        else if (!strcmp(argv[i], "--dev1"))
            dev1 = argv[i + 1];
        else if (!strcmp(argv[i], "--leg")) {
            if (!parse_long(argv[i + 1], 0, 2, &leg))
                return usage("--leg is 0, 1 or 2");
        } else
            return usage("unknown option");
    }
    if (!pin)
        return usage("--pin PATH, please");
    char err[512];
    int rc;
    const char *cmd = argv[1];
    if (!strcmp(cmd, "attach") || !strcmp(cmd, "set")) {
        if (leg < 0)
            return usage("--leg, please");
        rc = !strcmp(cmd, "attach") ? vfmux_attach(dev0, dev1, pin, (unsigned)leg, err, sizeof err)
                                    : vfmux_set_leg(pin, (unsigned)leg, err, sizeof err);
    } else if (!strcmp(cmd, "show")) {
        unsigned l;
        uint64_t c[VFMUX__N];
        if ((rc = vfmux_get(pin, &l, c, err, sizeof err)) == 0) {
            printf("{\"leg\": %u, \"counters\": {", l);
            for (int i = 0; i < VFMUX__N; i++)
                printf("%s\"%s\": %llu", i ? ", " : "", vfmux_counter_name(i),
                       (unsigned long long)c[i]);
            printf("}}\n");
        }
    } else {
        return usage("attach, set or show");
    }
    if (rc < 0) {
        fprintf(stderr, "dse-vfmux: %s\n", err);
        return 1;
    }
    return 0;
}
