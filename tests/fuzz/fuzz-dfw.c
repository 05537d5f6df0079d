/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz-dfw: the firewall's policy as a DPU takes it (dataplane/dfw.h,
 * docs/dfw.md): JSON text of any shape compiled, and when it compiles, put
 * in force and run over packets of each protocol it indexes.  Checks: no
 * crash nor read past a buffer (ASan), a refusal has its one line, a rule
 * index is one of the policy's or the default, a policy put in force twice
 * keeps its counters.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/dfw.h"
#include "lib/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An IPv4 packet 198.18.0.1 -> 198.18.0.2 of protocol 'proto' to 'port'. */
static uint32_t
packet(uint8_t *b, uint8_t proto, uint16_t port)
{
    memset(b, 0, 48);
    b[0] = 0x45;
    b[3] = 48;
    b[8] = 64;
    b[9] = proto;
    b[12] = 198, b[13] = 18, b[15] = 1;
    b[16] = 198, b[17] = 18, b[19] = 2;
    uint8_t *l4 = b + 20;
    l4[0] = 0x9c, l4[1] = 0x40; /* 40000 */
    l4[2] = (uint8_t)(port >> 8), l4[3] = (uint8_t)port;
    if (proto == 6) {
        l4[12] = 5 << 4;
        l4[13] = 0x02; /* SYN */
    } else if (proto == 17) {
        l4[5] = 28;
    } else {
        l4[0] = 8; /* echo request */
        l4[1] = 0;
    }
    return 48;
}

static void
run(struct dfw *fw)
{
    static const uint8_t smac[6] = {2, 0, 0, 0, 0, 1}, dmac[6] = {2, 0, 0, 0, 0, 2};
    static const uint8_t protos[] = {6, 17, 1, 47};
    static const uint16_t ports[] = {22, 80, 5201, 65535};
    uint8_t b[48];
    for (size_t i = 0; i < sizeof protos; i++)
        for (size_t k = 0; k < sizeof ports / sizeof ports[0]; k++) {
            struct dfw_frame f = {.dmac = dmac,
                                  .smac = smac,
                                  .l3 = b,
                                  .l3_len = packet(b, protos[i], ports[k]),
                                  .eth_type = ETH_TYPE_IPV4,
                                  .zone = 10,
                                  .bytes = 62};
            struct dfw_result res;
            enum drop_reason r = dfw_check(fw, &f, 1000, &res);
            if (r >= DROP__N || (res.rule != DFW_NO_RULE && res.rule > dfw_policy_rules(fw->pol)))
                abort();
            static struct pkt out;
            if (res.reject)
                dfw_reject_build(&f, &res.pi, &out);
            struct dfw_match m = {&res.pi.key, res.pi.icmp_type, res.pi.icmp_code, smac, dmac};
            if (dfw_classify(fw->pol, &m) > dfw_policy_rules(fw->pol))
                abort();
        }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool quiet;
    if (!quiet) {
        log_init("fuzz", NULL, LL_ERR); /* rules that log, at every run */
        quiet = true;
    }
    json_t *doc = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
    struct dfw_policy *p = NULL, *again = NULL;
    char err[256] = "";
    if (!doc)
        return 0;
    int rc = dfw_policy_compile(doc, &p, err, sizeof err);
    if (rc < 0 && (!err[0] || strchr(err, '\n') || p))
        abort(); /* a refusal is one line, and nothing */
    if (rc == 0 && dfw_policy_compile(doc, &again, err, sizeof err) < 0)
        abort();
    json_decref(doc);
    if (rc < 0)
        return 0;
    if (dfw_policy_ct(p)->max_conns > 65536) { /* a table of up to 0.8 GB: compiled, not made */
        dfw_policy_free(p);
        dfw_policy_free(again);
        return 0;
    }
    struct dfw *fw = dfw_create(p);
    if (!fw) {
        dfw_policy_free(again);
        return 0;
    }
    dfw_zone_default(fw, 10, "pg-a");
    run(fw);
    struct dfw_counts before, after;
    dfw_rule_counts(fw->pol, (uint32_t)dfw_policy_rules(fw->pol), &before);
    if (dfw_set(fw, again) == 0) {
        dfw_recheck(fw);
        dfw_rule_counts(fw->pol, (uint32_t)dfw_policy_rules(fw->pol), &after);
        if (memcmp(&before, &after, sizeof before))
            abort(); /* the default's counters, carried */
        run(fw);
    }
    dfw_destroy(fw);
    return 0;
}
