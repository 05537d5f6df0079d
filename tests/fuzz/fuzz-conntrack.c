/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz-conntrack: the firewall's path for arbitrary frames: Ethernet
 * (parse.h), IP and L4 (l4.h), the connection table (conntrack.h).  The
 * input is records of LEN (2 bytes, big-endian), DT (1 byte: ms that pass
 * before it, times 100), then LEN bytes of frame.  Every frame that may
 * begin a connection is committed, as a policy that allows all would; the
 * table is small (16), so it fills and expires.  Checks: no read past a
 * frame (ASan), the table never holds more than it may, every verdict is
 * one of the four, a connection returned has counted its first packet and
 * has not expired.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/conntrack.h"
#include "dataplane/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ct *t = ct_create(&(struct ct_params){.max_conns = 16});
    if (!t)
        abort();
    ct_set_offload(t, true); /* connections go to a make-believe eswitch, and come back */
    uint64_t now = 1000;
    for (size_t at = 0; at + 3 <= size;) {
        size_t len = (size_t)data[at] << 8 | data[at + 1];
        now += (uint64_t)data[at + 2] * 100;
        at += 3;
        if (len > size - at)
            len = size - at;
        uint8_t *frame = malloc(len ? len : 1); /* its own block: ASan sees its end */
        if (!frame)
            abort();
        memcpy(frame, data + at, len);
        at += len;
        struct pkt_meta m;
        struct l4_info pi;
        if (pkt_parse(frame, (uint32_t)len, &m) == DROP_NONE &&
            l4_parse(frame + m.l3_ofs, (uint32_t)len - m.l3_ofs, m.eth_type, m.vid, &pi) == L4_OK) {
            struct ct_result res;
            struct ct_seen seen;
            enum ct_verdict v = ct_track(t, &pi, (uint32_t)len, now, &res);
            if (res.offload && !ct_offload_seen(t, &res.key, len, len * 64, true, now, &seen))
                abort(); /* just offloaded: the eswitch's counts fold in */
            if (res.unoffload && ct_offload_seen(t, &res.key, 0, 0, true, now, &seen))
                abort(); /* taken back: no more */
            if (v > CT_INVALID || ((v == CT_ESTABLISHED || v == CT_RELATED) && res.rule != 1))
                abort(); /* a connection found is one committed */
            struct ct_new n = {
                .pi = &pi, .bytes = (uint32_t)len, .rule = 1, .smac = frame, .dmac = frame};
            if (v == CT_NEW && len >= 12 && ct_commit(t, &n, now) == 0 &&
                ct_track(t, &pi, 0, now, &res) == CT_INVALID && pi.key.proto != L4_PROTO_TCP)
                abort(); /* what was just committed is known */
        }
        free(frame);
        if (ct_count(t) > 16)
            abort();
        if ((at & 7) == 0)
            ct_expire(t, now, 4);
    }
    ct_destroy(t);
    return 0;
}
