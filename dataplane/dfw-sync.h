/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dfw-sync: a switch's connection table carried to the standby DPU of an
 * active-standby pair (issue 14; docs/dfw.md "High availability"): what
 * dpud's dfw.conn.export gives and dfw.conn.import takes.
 *
 *   export {since: CURSOR}  -> {"cursor", "full", "more", "table",
 *                               "rules": [NAME, ...], "conns": [RECORD, ...]}
 *   import {"rules", "conns", ["flush"], ["table"]}
 *                           -> {"imported", "skipped": {...}, "conns", "table"}
 *
 * RECORD: the base64 of one packed record, little-endian, 66 bytes (IPv4)
 * or 90 (IPv6):
 *
 *    0 version (1)   1 family (4, 6)   2 protocol   3 TCP state (ct_tcp_state)
 *    4 flags: 1 replied, 2 original side's FIN, 4 reply side's FIN
 *    5, 6 window scale of each side (int8, -1: none)   7 zero
 *    8 zone (VLAN)   10 source port   12 destination port
 *   14 rule: its place in "rules" (so the rule travels by name)
 *   18 idle time left, ms (> 0)
 *   22 MAC of the original source   28 of its destination
 *   34 original side: end, maxend, maxwin   46 reply side: the same
 *   58 source address, then destination address (4 or 16 bytes each)
 *
 * CURSOR: "ID:SEQ", the table's ct_id() and ct_seq() when the walk that
 * gave it began; while a walk goes on (pages: "more"), "ID:SINCE:SNAP:POS".
 * No cursor, or one of another table (dpud restarted, the table was
 * resized), begins a full walk: "full" says the reader should drop what it
 * holds of this table.
 *
 * Import: each rule name is looked up in the policy in force; a connection
 * whose rule it lacks ("no_rule") or does not allow ("not_allowed": a drop
 * or reject rule, a default that is not allow in the connection's zone) is
 * skipped; so is a record that does not decode ("malformed") and one the
 * table has no room for ("table_full").  Each is counted.
 *
 * Thread-safety: on the thread that changes the firewall's policy (dpud's
 * control thread), with the workers running: the table has its own locks.
 */
#ifndef DSE_DFW_SYNC_H
#define DSE_DFW_SYNC_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct dfw;

#define DFW_SYNC_PAGE 8192  /* records per export page, by default */
#define DFW_SYNC_RECORD4 66 /* bytes of an IPv4 record */
#define DFW_SYNC_RECORD6 90 /* of an IPv6 one */
#define DFW_SYNC_CURSOR_LEN 96

/* One page (at most 'max' connections, give or take a bucket's chain) of
 * what changed in 'fw''s table since 'cursor' (NULL or "": all), as above,
 * at 'now_ms', into '*out' (a new reference).  Returns 0, or -EINVAL (a
 * cursor that is no cursor: one line in 'err'), -ENOMEM. */
int dfw_sync_export(struct dfw *fw, const char *cursor, size_t max, uint64_t now_ms, json_t **out,
                    char *err, size_t err_len);
/* The same, of the connections whose original source or destination is
 * 'mac' only (NULL: all): a VM's, which move with it when it migrates.  A
 * page then holds the matches among 'max' connections walked. */
int dfw_sync_export_mac(struct dfw *fw, const char *cursor, size_t max, const uint8_t *mac,
                        uint64_t now_ms, json_t **out, char *err, size_t err_len);

/* Skipped records, and those imported: running totals a caller keeps. */
struct dfw_sync_counts {
    uint64_t imported, malformed, no_rule, not_allowed, table_full;
};

/* Imports request 'args' into 'fw''s table at 'now_ms' (a "flush" first
 * empties it), adding to '*n', with the outcome in '*out' (a new
 * reference).  When 'args' names a "table" that is not this one (the
 * standby restarted), nothing is imported and the outcome says "stale".
 * Returns 0, or -EINVAL (not the request above: one line in 'err'),
 * -ENOMEM. */
int dfw_sync_import(struct dfw *fw, json_t *args, uint64_t now_ms, struct dfw_sync_counts *n,
                    json_t **out, char *err, size_t err_len);

/* "%016llx" of the table's identity: what "table" holds. */
void dfw_sync_table_id(const struct dfw *fw, char buf[17]);

#endif
