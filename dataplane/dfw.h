/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dfw: the distributed firewall of one DPU switch (issue 14; the model and
 * the policy's JSON: docs/dfw.md).
 *
 *   dfw_policy_compile(JSON) -> struct dfw_policy: groups (sorted MACs,
 *       IPv4 and IPv6 ranges), services, rules in order, and an index
 *   dfw_classify(policy, packet) -> the first rule that applies and
 *       matches, or the default
 *   dfw_check(firewall, frame) -> pass, or a drop reason (and whether to
 *       answer with a reject): conntrack first, the rules for what may
 *       begin a connection
 *
 * The classifier: a packet is matched only against the rules that could
 * match it, in rule order.  Each rule goes into the lists of the
 * (protocol, destination port) pairs its services name, when they name at
 * most DFW_NARROW_PORTS ports, else into its protocol's list of the rest
 * (any port, wide ranges, ICMP, rules without services).  A packet merges
 * its pair's list with its protocol's rest, both in rule order, and stops
 * at the first rule that matches: a policy of 10,000 rules on distinct
 * services costs a lookup a handful of checks.  A group is a sorted array
 * of MACs and two of merged address ranges: membership is a binary search.
 *
 * Counters: per rule (and the default), packets and bytes it decided,
 * sessions it allowed; relaxed atomics, since the workers share them.
 *
 * Thread-safety: a compiled policy is immutable but for its counters; a
 * firewall (struct dfw) is used by any number of packet threads at once
 * (its connection table is thread-safe), and changed (dfw_set) only with
 * them paused.
 */
#ifndef DSE_DFW_H
#define DSE_DFW_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dataplane/conntrack.h"
#include "dataplane/drops.h"
#include "dataplane/l4.h"
#include "dataplane/packet.h"
#include "lib/log.h"

enum dfw_action { DFW_ALLOW, DFW_DROP, DFW_REJECT };
#define DFW_DIR_IN 1
#define DFW_DIR_OUT 2

#define DFW_MAX_RULES 65536
#define DFW_MAX_GROUPS 65536
#define DFW_MAX_CONNS (1u << 22) /* about 4 M: 0.8 GB of table (bench: dfw-conn-bytes) */
#define DFW_NARROW_PORTS 64
#define DFW_RULE_NAME_MAX 127

struct dfw_policy;

/* Compiles policy 'doc' (docs/dfw.md).  Returns 0 and '*out', or -EINVAL
 * with one line naming what is wrong, or -ENOMEM. */
int dfw_policy_compile(json_t *doc, struct dfw_policy **out, char *err, size_t err_len);
void dfw_policy_free(struct dfw_policy *); /* accepts NULL */

/* The default action for portgroup 'pg' (its portgroup_defaults entry, or
 * the policy's). */
enum dfw_action dfw_policy_default(const struct dfw_policy *, const char *pg);
/* The connection table's size and timeouts ("conn_max", "timeouts"). */
const struct ct_params *dfw_policy_ct(const struct dfw_policy *);
size_t dfw_policy_rules(const struct dfw_policy *); /* the number of rules */

/* What the rules look at.  'smac' and 'dmac' point at 6 bytes each. */
struct dfw_match {
    const struct l4_key *key;
    uint8_t icmp_type, icmp_code;
    const uint8_t *smac, *dmac;
};

/* The index of the first rule that applies to 'm' and matches it, or
 * dfw_policy_rules() when none does (the default decides). */
uint32_t dfw_classify(const struct dfw_policy *, const struct dfw_match *m);

/* Rule 'i' (dfw_policy_rules() is the default: "default", no log). */
const char *dfw_rule_name(const struct dfw_policy *, uint32_t i);
enum dfw_action dfw_rule_action(const struct dfw_policy *, uint32_t i);
bool dfw_rule_log(const struct dfw_policy *, uint32_t i);

struct dfw_counts {
    uint64_t packets, bytes, sessions;
};
void dfw_rule_counts(const struct dfw_policy *, uint32_t i, struct dfw_counts *out);
/* Adds to rule 'i''s counters (the packet path's). */
void dfw_rule_count(const struct dfw_policy *, uint32_t i, uint64_t packets, uint64_t bytes,
                    uint64_t sessions);
/* Gives the rules of 'to' the counters of the rules of 'from' that have
 * their name. */
void dfw_counts_carry(struct dfw_policy *to, const struct dfw_policy *from);

const char *dfw_action_name(enum dfw_action); /* can't fail */

/* ---- the firewall of a switch ---- */

#define DFW_MAX_VLANS 4096

/* Where established connections go (the eswitch, through the switch's
 * hooks): both directions of 'key'. */
struct dfw_offload {
    bool (*install)(void *aux, const struct l4_key *key); /* false: not taken */
    /* Removes them, with what each direction counted (0s: nothing). */
    void (*remove)(void *aux, const struct l4_key *key, uint64_t packets[2], uint64_t bytes[2]);
    void *aux;
};

struct dfw {
    struct dfw_offload off; /* install NULL: everything in software */
    struct dfw_policy *pol;
    struct ct *ct;
    uint8_t zone_default[DFW_MAX_VLANS]; /* enum dfw_action, by the portgroup's VLAN */
    struct log_ratelimit log_rl;         /* of the rules that log */
    uint64_t removed;                    /* connections a policy change ended */
    uint32_t gen;                        /* of the policy: bumped by each dfw_set() */
};

/* A frame as the firewall sees it: its addresses, its IP packet, its
 * portgroup's VLAN. */
struct dfw_frame {
    const uint8_t *dmac, *smac;
    const uint8_t *l3;
    uint32_t l3_len;
    uint16_t eth_type;
    uint16_t zone;
    uint32_t bytes;
};

/* Creates the firewall with policy 'pol' (taken): an empty connection
 * table of the policy's size, every zone on the policy's default.  NULL on
 * ENOMEM (and 'pol' is freed). */
struct dfw *dfw_create(struct dfw_policy *pol);
void dfw_destroy(struct dfw *); /* accepts NULL */

/* Puts 'pol' (taken) in force, its counters carried by rule name; a
 * different table size starts an empty table.  Then the caller sets each
 * portgroup's default (dfw_zone_default) and checks the connections again
 * (dfw_recheck).  Returns 0, or -ENOMEM (nothing changed, 'pol' freed). */
int dfw_set(struct dfw *, struct dfw_policy *pol);

/* Zone (VLAN) 'zone' takes the default the policy gives portgroup 'pg'. */
void dfw_zone_default(struct dfw *, uint16_t zone, const char *pg);

/* Established connections go to 'off' from now on (NULL or no install:
 * none); those there already are the caller's to flush
 * (ct_offload_reset()). */
void dfw_set_offload(struct dfw *, const struct dfw_offload *off);

/* Checks every connection against the policy in force: one it no longer
 * allows is removed.  Returns how many. */
size_t dfw_recheck(struct dfw *);

/* What dfw_check() found: the packet, whether to answer it, and the rule
 * that decided (DFW_NO_RULE: none did: not IP, neighbour discovery, a
 * header that does not hold, a connection the table refused). */
#define DFW_NO_RULE UINT32_MAX
struct dfw_result {
    struct l4_info pi;
    bool reject;
    uint32_t rule;
};

/* What becomes of frame 'f' at 'now_ms': DROP_NONE (it passes) or why it
 * is dropped, and '*r' (a reject is answered with dfw_reject_build()).
 * Counts it. */
enum drop_reason dfw_check(struct dfw *, const struct dfw_frame *f, uint64_t now_ms,
                           struct dfw_result *r);

/* The answer to a rejected packet 'pi' of frame 'f' into 'out': a TCP RST
 * for TCP, else an ICMP or ICMPv6 "administratively prohibited" quoting
 * it, from the destination to the source, untagged.  Returns false when
 * there is nothing to answer (an ICMP error, a multicast source). */
bool dfw_reject_build(const struct dfw_frame *f, const struct l4_info *pi, struct pkt *out);

/* The index of rule 'name' in 'p' ("default": dfw_policy_rules()), or
 * DFW_NO_RULE. */
uint32_t dfw_rule_find(const struct dfw_policy *p, const char *name);

#endif
