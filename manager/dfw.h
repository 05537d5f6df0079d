/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dfw: the distributed firewall's policy compiled from the inventory
 * (inventory.h: dfwgroup, dfwservice, dfwsection, dfwrule, a vm's "tags",
 * a switch's "dfw_default") into the document each host takes (docs/dfw.md:
 * hostd's dfw.set {"policy"}).
 *
 *     inventory (dfw_inventory_load: one read of each kind)
 *        | dfw_model_create: groups resolved, rules flattened -- once
 *        v
 *     model: {"groups", "services", "rules"}, shared by every host
 *        | dfw_model_policy(datacenter): + "default", "portgroup_defaults"
 *        v
 *     the policy of the hosts of that datacenter, or null (the firewall off)
 *
 * A group's members are recomputed from the inventory at each compilation,
 * so that they follow VMs added, removed, retagged and vNICs moved: its
 * "macs" are its own "macs", the MACs of the vNICs of the VMs it names and
 * of the VMs that carry one of its tags, and of the vNICs in the portgroups
 * it names (lowercase, sorted, each once); its "cidrs" are its own.  The
 * rules are those of every section, sections in order of "order" then name,
 * each section's rules in order of "order" then name; a rule's name is
 * SECTION/RULE.  Only the groups and services the rules name go into the
 * policy.  A name a rule gives that the inventory lacks (the inventory
 * refuses it: only a store edited by hand has one) is an empty group or a
 * service of no entry, so that the policy stays whole.
 *
 * "default" is allow; "portgroup_defaults" gives each portgroup P of a
 * switch S of the host's datacenter (named P on the host, as the
 * reconciler pushes it) whose "dfw_default" is set that default (a name two
 * switches give: the first switch by name's, as for the portgroup itself).
 * The policy is null, the firewall off, when the inventory has no dfw
 * object and no switch of the datacenter sets "dfw_default": a lab without
 * a firewall keeps it off.
 *
 * Thread-safety: a model is read-only once made: its policies may be made
 * from any threads at once (json_t reference counts are atomic).
 */
#ifndef DSE_MANAGER_DFW_H
#define DSE_MANAGER_DFW_H

#include <jansson.h>
#include <stddef.h>

#include "manager/store.h"

/* What compilation reads: {"dfwgroup": {NAME: spec}, "dfwservice",
 * "dfwsection", "dfwrule", "switch", and when anything of the firewall is
 * set, "vm", "vnic", "portgroup"}, each {NAME: spec}.  Returns it (the
 * caller's), or NULL with the store's error. */
json_t *dfw_inventory_load(struct store *, char *err, size_t err_len);

struct dfw_model;

/* The part of the policy every host shares, from 'inv' (borrowed: as
 * dfw_inventory_load() gives it; values the inventory would refuse are
 * skipped, never trusted).  NULL on ENOMEM. */
struct dfw_model *dfw_model_create(json_t *inv);
void dfw_model_destroy(struct dfw_model *); /* accepts NULL */

/* The policy of a host of datacenter 'dc' (NULL: none), or json_null()
 * when the firewall is off there.  The caller's; NULL on ENOMEM. */
json_t *dfw_model_policy(const struct dfw_model *, const char *dc);

/* The policy of host 'host' now, from store 'st', into '*policy' (the
 * caller's; json_null() when off).  Returns 0, or -ENOENT (no such host),
 * -ENOMEM or the store's error, with the reason. */
int dfw_compile(struct store *st, const char *host, json_t **policy, char *err, size_t err_len);

#endif
