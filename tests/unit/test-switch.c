/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Switch pipeline tests on in-memory ports:
 *
 *     vm1, vm2: pg-a (VLAN 10)     vm3: pg-b (VLAN 20)
 *     u0 (active), u1 (standby): 802.1Q trunk uplinks
 */
#include "tests/unit/check.h"
#include "tests/unit/frames.h"
#include "dataplane/parse.h"
#include "dataplane/flowcache.h"
#include "dataplane/switch.h"
#include "dataplane/team.h"

static const uint8_t *M1 = MAC(0x02, 0, 0, 0, 0, 1);
static const uint8_t *M2 = MAC(0x02, 0, 0, 0, 0, 2);
static const uint8_t *MR = MAC(0x02, 0, 0, 0, 0, 0x99); /* behind the fabric */

struct lab {
    struct sw *sw;
    int vm1, vm2, vm3, u0, u1;
    uint64_t now;
};

static int
add(struct sw *sw, const char *name, enum sw_port_kind kind, const char *pg)
{
    return sw_port_add(sw, name, kind, pg, port_open(name, "mem"));
}

static void
lab_init(struct lab *l)
{
    struct sw_params params = SW_PARAMS_DEFAULT;
    params.fdb_age_ms = 1000;
    l->sw = sw_create(&params);
    l->now = 0;
    sw_portgroup_set(l->sw, "pg-a", 10, 1500);
    sw_portgroup_set(l->sw, "pg-b", 20, 1500);
    l->vm1 = add(l->sw, "vm1", SW_PORT_VNIC, "pg-a");
    l->vm2 = add(l->sw, "vm2", SW_PORT_VNIC, "pg-a");
    l->vm3 = add(l->sw, "vm3", SW_PORT_VNIC, "pg-b");
    l->u0 = add(l->sw, "u0", SW_PORT_UPLINK, NULL);
    l->u1 = add(l->sw, "u1", SW_PORT_UPLINK, NULL);
    sw_port_set_carrier(l->sw, l->u0, true, 0);
    sw_port_set_carrier(l->sw, l->u1, true, 0);
    for (int id = 0; id < 5; id++)
        sw_port_set_carrier(l->sw, id, true, 0);
}

static struct port *
io(struct lab *l, int id)
{
    return sw_port_at(l->sw, id)->io;
}

static const struct sw_port_stats *
st(struct lab *l, int id)
{
    static struct sw_port_stats s[4]; /* a few may be compared in one expression */
    static unsigned next;
    struct sw_port_stats *r = &s[next++ % 4];
    sw_port_stats(l->sw, (unsigned)id, r);
    return r;
}

/* Injects a frame on port 'id' and runs one poll. */
static void
send_frame(struct lab *l, int id, const uint8_t *dst, const uint8_t *src, int vid, unsigned len)
{
    uint8_t f[PKT_DATA_MAX];
    frame_build(f, dst, src, vid, len);
    port_mem_inject(io(l, id), f, len);
    sw_poll(l->sw, id, l->now);
}

/* Pops the frame sent on 'id'; returns its length (or -1) and parsed meta. */
static int
take(struct lab *l, int id, struct pkt_meta *m)
{
    static uint8_t buf[PKT_DATA_MAX];
    int n = port_mem_take(io(l, id), buf, sizeof buf);
    if (n >= 0 && m)
        pkt_parse(buf, (uint32_t)n, m);
    return n;
}

static void
drain(struct lab *l)
{
    for (int id = 0; id < 5; id++)
        while (take(l, id, NULL) >= 0)
            ;
}

static void
switch_fenced_vnics_neither_receive_nor_send(void)
{
    struct lab l;
    lab_init(&l);
    send_frame(&l, l.vm1, M2, M1, -1, 60); /* both learned: M1 on vm1, ... */
    send_frame(&l, l.vm2, M1, M2, -1, 60); /* ... M2 on vm2 */
    drain(&l);
    sw_set_vnics_fenced(l.sw, true);
    ASSERT_TRUE(sw_vnics_fenced(l.sw));
    send_frame(&l, l.vm1, M2, M1, -1, 60);        /* a vNIC sends: dropped */
    send_frame(&l, l.vm1, mac_bcast, M1, -1, 60); /* not even flooded */
    ASSERT_EQ(port_mem_n_tx(io(&l, l.vm2)), 0);
    ASSERT_EQ(port_mem_n_tx(io(&l, l.u0)), 0);
    ASSERT_EQ(st(&l, l.vm1)->drops[DROP_FENCED], 2);
    send_frame(&l, l.u0, M1, MR, 10, 64); /* the fabric to a vNIC: dropped */
    ASSERT_EQ(port_mem_n_tx(io(&l, l.vm1)), 0);
    ASSERT_EQ(st(&l, l.vm1)->drops[DROP_FENCED], 3);
    send_frame(&l, l.u0, mac_bcast, MR, 10, 64); /* a flood reaches no vNIC */
    ASSERT_EQ(port_mem_n_tx(io(&l, l.vm1)) + port_mem_n_tx(io(&l, l.vm2)), 0);
    /* Unfenced (promoted), the flow cache and the MAC table serve again. */
    sw_set_vnics_fenced(l.sw, false);
    send_frame(&l, l.vm1, M2, M1, -1, 60);
    ASSERT_EQ(port_mem_n_tx(io(&l, l.vm2)), 1);
    send_frame(&l, l.u0, M1, MR, 10, 64);
    ASSERT_EQ(port_mem_n_tx(io(&l, l.vm1)), 1);
    sw_destroy(l.sw);
}

static void
switch_floods_broadcast_within_vlan_only(void)
{
    struct lab l;
    lab_init(&l);
    struct pkt_meta m;
    send_frame(&l, l.vm1, mac_bcast, M1, -1, 60);
    ASSERT_EQ(take(&l, l.vm2, &m), 60);         /* same portgroup */
    ASSERT_FALSE(m.has_vlan);                   /* untagged to a vNIC */
    ASSERT_EQ(port_mem_n_tx(io(&l, l.vm3)), 0); /* other portgroup */
    ASSERT_EQ(port_mem_n_tx(io(&l, l.vm1)), 0); /* never back to ingress */
    ASSERT_EQ(take(&l, l.u0, &m), 64);          /* tagged to the fabric */
    ASSERT_TRUE(m.has_vlan);
    ASSERT_EQ(m.vid, 10);
    ASSERT_EQ(port_mem_n_tx(io(&l, l.u1)), 0); /* not the standby */
    sw_destroy(l.sw);
}

static void
switch_floods_unknown_unicast_once_then_learns(void)
{
    struct lab l;
    lab_init(&l);
    send_frame(&l, l.vm1, M2, M1, -1, 60); /* M2 unknown: flood */
    ASSERT_EQ(port_mem_n_tx(io(&l, l.vm2)), 1);
    ASSERT_EQ(port_mem_n_tx(io(&l, l.u0)), 1);
    drain(&l);
    send_frame(&l, l.vm2, M1, M2, -1, 60); /* M1 known: unicast */
    ASSERT_EQ(port_mem_n_tx(io(&l, l.vm1)), 1);
    ASSERT_EQ(port_mem_n_tx(io(&l, l.u0)), 0);
    drain(&l);
    send_frame(&l, l.vm1, M2, M1, -1, 60); /* now M2 is known too */
    ASSERT_EQ(port_mem_n_tx(io(&l, l.vm2)), 1);
    ASSERT_EQ(port_mem_n_tx(io(&l, l.u0)), 0);
    ASSERT_EQ(st(&l, l.vm1)->rx_flood, 1);
    sw_destroy(l.sw);
}

static void
switch_pops_tag_from_fabric_and_learns_remote(void)
{
    struct lab l;
    lab_init(&l);
    struct pkt_meta m;
    send_frame(&l, l.u0, mac_bcast, MR, 10, 64);
    ASSERT_EQ(take(&l, l.vm1, &m), 60);
    ASSERT_FALSE(m.has_vlan);
    ASSERT_EQ(take(&l, l.vm2, &m), 60);
    ASSERT_EQ(port_mem_n_tx(io(&l, l.vm3)), 0);
    ASSERT_EQ(port_mem_n_tx(io(&l, l.u1)), 0); /* split horizon */
    send_frame(&l, l.vm1, MR, M1, -1, 60);     /* reply goes to the uplink only */
    ASSERT_EQ(take(&l, l.u0, &m), 64);
    ASSERT_EQ(m.vid, 10);
    ASSERT_EQ(port_mem_n_tx(io(&l, l.vm2)), 0);
    sw_destroy(l.sw);
}

static void
switch_drops_on_standby_uplink(void)
{
    struct lab l;
    lab_init(&l);
    send_frame(&l, l.u1, mac_bcast, MR, 10, 64);
    ASSERT_EQ(port_mem_n_tx(io(&l, l.vm1)), 0);
    ASSERT_EQ(st(&l, l.u1)->drops[DROP_STANDBY_UPLINK], 1);
    sw_destroy(l.sw);
}

static void
switch_fails_over_to_standby_and_announces(void)
{
    struct lab l;
    lab_init(&l);
    send_frame(&l, l.vm1, mac_bcast, M1, -1, 60); /* learn M1 locally */
    drain(&l);
    ASSERT_EQ(sw_team_active(l.sw), l.u0);
    ASSERT_TRUE(sw_port_set_carrier(l.sw, l.u0, false, l.now));
    ASSERT_EQ(sw_team_active(l.sw), l.u1);
    struct pkt_meta m;
    ASSERT_EQ(take(&l, l.u1, &m), 64); /* RARP for M1, tagged */
    ASSERT_EQ(m.eth_type, ETH_TYPE_RARP);
    ASSERT_EQ(m.vid, 10);
    send_frame(&l, l.vm1, mac_bcast, M1, -1, 60);
    ASSERT_EQ(port_mem_n_tx(io(&l, l.u1)), 1);
    ASSERT_EQ(port_mem_n_tx(io(&l, l.u0)), 0);
    drain(&l);
    /* Failback when the first uplink returns (the default). */
    ASSERT_TRUE(sw_port_set_carrier(l.sw, l.u0, true, l.now));
    ASSERT_EQ(sw_team_active(l.sw), l.u0);
    ASSERT_EQ(sw_team_failovers(l.sw), 2);
    drain(&l);
    /* No uplink at all: frames to the fabric are dropped and counted. */
    sw_port_set_carrier(l.sw, l.u0, false, l.now);
    sw_port_set_carrier(l.sw, l.u1, false, l.now);
    ASSERT_EQ(sw_team_active(l.sw), -1);
    send_frame(&l, l.vm1, MR, M1, -1, 60);
    ASSERT_EQ(st(&l, l.vm1)->drops[DROP_NO_UPLINK], 1);
    sw_destroy(l.sw);
}

/* The teaming policy: the order of preference and failback, set at run
 * time; a new active uplink announces as at a failover; a name that is no
 * uplink changes nothing. */
static void
switch_teaming_policy_is_set_at_run_time(void)
{
    struct lab l;
    lab_init(&l);
    const char *names[SW_MAX_UPLINKS];
    bool failback = false;
    const char *u0 = sw_port_at(l.sw, l.u0)->name, *u1 = sw_port_at(l.sw, l.u1)->name;
    send_frame(&l, l.vm1, mac_bcast, M1, -1, 60);
    drain(&l);
    ASSERT_EQ(sw_team_active(l.sw), l.u0);
    const char *order[] = {u1};
    ASSERT_EQ(sw_team_set(l.sw, false, order, 1, l.now), 0);
    ASSERT_EQ(sw_team_active(l.sw), l.u1); /* preferred now, with carrier */
    struct pkt_meta m;
    ASSERT_EQ(take(&l, l.u1, &m), 64); /* it announces M1 */
    ASSERT_EQ(m.eth_type, ETH_TYPE_RARP);
    ASSERT_EQ(sw_team_order(l.sw, names, &failback), 2);
    ASSERT_STREQ(names[0], u1);
    ASSERT_STREQ(names[1], u0);
    ASSERT_FALSE(failback);
    drain(&l);
    /* Without failback, u1 back after a loss does not take over again. */
    sw_port_set_carrier(l.sw, l.u1, false, l.now);
    ASSERT_EQ(sw_team_active(l.sw), l.u0);
    sw_port_set_carrier(l.sw, l.u1, true, l.now);
    ASSERT_EQ(sw_team_active(l.sw), l.u0);
    /* Failback on: the preferred one at once. */
    ASSERT_EQ(sw_team_set(l.sw, true, order, 1, l.now), 0);
    ASSERT_EQ(sw_team_active(l.sw), l.u1);
    const char *bad[] = {"nosuch"}, *vnic[] = {sw_port_at(l.sw, l.vm1)->name};
    ASSERT_EQ(sw_team_set(l.sw, false, bad, 1, l.now), -ENOENT);
    ASSERT_EQ(sw_team_set(l.sw, false, vnic, 1, l.now), -ENOENT);
    sw_team_order(l.sw, names, &failback);
    ASSERT_TRUE(failback); /* unchanged */
    ASSERT_STREQ(names[0], u1);
    sw_destroy(l.sw);
}

static void
switch_handles_mac_move(void)
{
    struct lab l;
    lab_init(&l);
    send_frame(&l, l.vm1, mac_bcast, M1, -1, 60);
    drain(&l);
    /* M1 shows up behind vm2 (the VM moved). */
    send_frame(&l, l.vm2, mac_bcast, M1, -1, 60);
    drain(&l);
    ASSERT_EQ(st(&l, l.vm2)->mac_moves, 1);
    send_frame(&l, l.u0, M1, MR, 10, 64);
    ASSERT_EQ(port_mem_n_tx(io(&l, l.vm2)), 1);
    ASSERT_EQ(port_mem_n_tx(io(&l, l.vm1)), 0);
    sw_destroy(l.sw);
}

static void
switch_ages_out_and_floods_again(void)
{
    struct lab l;
    lab_init(&l);
    send_frame(&l, l.vm1, mac_bcast, M1, -1, 60);
    drain(&l);
    l.now = 500;
    send_frame(&l, l.vm2, M1, M2, -1, 60);
    ASSERT_EQ(port_mem_n_tx(io(&l, l.u0)), 0); /* known: unicast */
    drain(&l);
    l.now = 1200;
    sw_tick(l.sw, l.now);
    send_frame(&l, l.vm2, M1, M2, -1, 60);
    ASSERT_EQ(port_mem_n_tx(io(&l, l.u0)), 1); /* aged: flooded */
    ASSERT_EQ(port_mem_n_tx(io(&l, l.vm1)), 1);
    sw_destroy(l.sw);
}

static void
switch_counts_malformed_and_keeps_going(void)
{
    struct lab l;
    lab_init(&l);
    send_frame(&l, l.vm1, M2, M1, -1, 10);   /* runt */
    send_frame(&l, l.vm1, M2, M1, 10, 64);   /* tagged on access port */
    send_frame(&l, l.vm1, M2, M1, -1, 1515); /* payload 1501 > MTU */
    send_frame(&l, l.u0, M1, MR, 30, 64);    /* VLAN nobody carries */
    send_frame(&l, l.vm1, M2, mac_bcast, -1, 60);
    uint8_t f[64];
    frame_build(f, M2, M1, 10, 64);
    port_mem_inject(io(&l, l.u0), f, 16); /* truncated tag */
    sw_poll(l.sw, l.u0, 0);
    const struct sw_port_stats *s = st(&l, l.vm1);
    ASSERT_EQ(s->drops[DROP_RUNT], 1);
    ASSERT_EQ(s->drops[DROP_TAGGED_ON_ACCESS], 1);
    ASSERT_EQ(s->drops[DROP_OVERSIZE], 1);
    ASSERT_EQ(s->drops[DROP_BAD_SRC_MAC], 1);
    ASSERT_EQ(st(&l, l.u0)->drops[DROP_VLAN_UNKNOWN], 1);
    ASSERT_EQ(st(&l, l.u0)->drops[DROP_TRUNC_VLAN], 1);
    for (int id = 0; id < 5; id++)
        ASSERT_EQ(port_mem_n_tx(io(&l, id)), 0);
    send_frame(&l, l.vm1, M2, M1, -1, 1514); /* exactly the MTU still passes */
    ASSERT_EQ(port_mem_n_tx(io(&l, l.vm2)), 1);
    sw_destroy(l.sw);
}

static void
switch_config_validation(void)
{
    struct sw_params params = SW_PARAMS_DEFAULT;
    struct sw *sw = sw_create(&params);
    ASSERT_GE(sw_portgroup_set(sw, "pg-a", 10, 1500), 0);
    ASSERT_EQ(sw_portgroup_set(sw, "pg-b", 10, 1500), -EEXIST); /* VLAN taken */
    ASSERT_EQ(sw_portgroup_set(sw, "pg-c", 4095, 1500), -EINVAL);
    ASSERT_EQ(sw_portgroup_set(sw, "pg-c", 30, 67), -EINVAL);
    ASSERT_EQ(sw_portgroup_set(sw, "pg-c", 30, 9001), -EINVAL);
    ASSERT_EQ(sw_portgroup_set(sw, "bad name", 30, 1500), -EINVAL);
    ASSERT_GE(sw_portgroup_set(sw, "pg-a", 10, 9000), 0); /* update in place */
    ASSERT_EQ(sw_port_add(sw, "p1", SW_PORT_VNIC, "nope", port_open("p1", "mem")), -ENOENT);
    ASSERT_EQ(sw_port_add(sw, "p1", SW_PORT_UPLINK, "pg-a", port_open("p1", "mem")), -EINVAL);
    int id = sw_port_add(sw, "p1", SW_PORT_VNIC, "pg-a", port_open("p1", "mem"));
    ASSERT_GE(id, 0);
    ASSERT_EQ(sw_port_add(sw, "p1", SW_PORT_VNIC, "pg-a", port_open("p1", "mem")), -EEXIST);
    ASSERT_EQ(sw_portgroup_del(sw, "pg-a"), -EBUSY);
    ASSERT_EQ(sw_port_del(sw, "p1"), 0);
    ASSERT_EQ(sw_portgroup_del(sw, "pg-a"), 0);
    ASSERT_EQ(sw_portgroup_del(sw, "pg-a"), -ENOENT);
    for (int i = 0; i < SW_MAX_UPLINKS; i++) {
        char n[8];
        snprintf(n, sizeof n, "u%d", i);
        ASSERT_GE(sw_port_add(sw, n, SW_PORT_UPLINK, NULL, port_open(n, "mem")), 0);
    }
    ASSERT_EQ(sw_port_add(sw, "u9", SW_PORT_UPLINK, NULL, port_open("u9", "mem")), -ENOSPC);
    sw_destroy(sw);
}

/* A fake eswitch: remembers what the switch asked of it. */
struct fake_eswitch {
    int n_install, n_flush_mac, n_flush_all;
    struct sw_flow last;
};

static bool
fake_install(void *aux, const struct sw_flow *f)
{
    struct fake_eswitch *e = aux;
    e->n_install++;
    e->last = *f;
    return true;
}

static void
fake_flush_mac(void *aux, const uint8_t mac[6])
{
    ((struct fake_eswitch *)aux)->n_flush_mac++;
}

static void
fake_flush_all(void *aux)
{
    ((struct fake_eswitch *)aux)->n_flush_all++;
}

static void
lab_offload(struct lab *l, struct fake_eswitch *e)
{
    memset(e, 0, sizeof *e);
    struct sw_offload o = {.install = fake_install,
                           .flush_mac = fake_flush_mac,
                           .flush_all = fake_flush_all,
                           .aux = e};
    sw_set_offload(l->sw, &o);
}

static void
switch_offloads_known_unicast_only(void)
{
    struct lab l;
    struct fake_eswitch e;
    lab_init(&l);
    lab_offload(&l, &e);
    send_frame(&l, l.vm1, mac_bcast, M1, -1, 60); /* broadcast: never offloaded */
    send_frame(&l, l.vm1, M2, M1, -1, 60);        /* unknown: flooded, not offloaded */
    ASSERT_EQ(e.n_install, 0);
    send_frame(&l, l.vm2, M1, M2, -1, 60); /* known: vm2 -> vm1 */
    ASSERT_EQ(e.n_install, 1);
    ASSERT_EQ(e.last.in_port, l.vm2);
    ASSERT_EQ(e.last.out_port, l.vm1);
    ASSERT_EQ(e.last.tag, SW_UNTAGGED);
    ASSERT_EQ(e.last.push_vid, SW_NO_PUSH);
    ASSERT_FALSE(e.last.pop);
    ASSERT_EQ(e.last.max_len, 1514);
    ASSERT_TRUE(sw_flow_revalidate(l.sw, &e.last, false, l.now));
    /* From the fabric to vm1: pop; from vm1 to the fabric: push 10. */
    send_frame(&l, l.u0, M1, MR, 10, 64);
    ASSERT_EQ(e.last.in_port, l.u0);
    ASSERT_EQ(e.last.tag, 10);
    ASSERT_TRUE(e.last.pop);
    ASSERT_EQ(e.last.max_len, 1518);
    send_frame(&l, l.vm1, MR, M1, -1, 60);
    ASSERT_EQ(e.last.out_port, l.u0);
    ASSERT_EQ(e.last.push_vid, 10);
    struct sw_flow to_fabric = e.last;
    ASSERT_TRUE(sw_flow_revalidate(l.sw, &to_fabric, false, l.now));
    /* Failover: every flow may be stale, and this one is. */
    sw_port_set_carrier(l.sw, l.u0, false, l.now);
    ASSERT_GE(e.n_flush_all, 1);
    ASSERT_FALSE(sw_flow_revalidate(l.sw, &to_fabric, false, l.now));
    sw_destroy(l.sw);
}

static void
switch_flushes_flows_of_a_moved_mac(void)
{
    struct lab l;
    struct fake_eswitch e;
    lab_init(&l);
    lab_offload(&l, &e);
    send_frame(&l, l.vm1, mac_bcast, M1, -1, 60);
    send_frame(&l, l.vm2, M1, M2, -1, 60);
    struct sw_flow f = e.last;
    ASSERT_TRUE(sw_flow_revalidate(l.sw, &f, false, l.now));
    send_frame(&l, l.u0, mac_bcast, M1, 10, 64); /* M1 now behind the fabric */
    ASSERT_EQ(e.n_flush_mac, 1);
    ASSERT_FALSE(sw_flow_revalidate(l.sw, &f, false, l.now));
    sw_destroy(l.sw);
}

static void
switch_revalidation_refreshes_sources_seen_by_the_eswitch(void)
{
    struct lab l;
    struct fake_eswitch e;
    lab_init(&l);
    lab_offload(&l, &e);
    send_frame(&l, l.vm1, mac_bcast, M1, -1, 60);
    send_frame(&l, l.vm2, M1, M2, -1, 60);
    struct sw_flow f = e.last; /* vm2 (M2) -> vm1 (M1) */
    /* The eswitch forwards M2's frames for 900 ms; M1 answers at 800 ms. */
    l.now = 800;
    send_frame(&l, l.vm1, mac_bcast, M1, -1, 60);
    l.now = 900;
    ASSERT_TRUE(sw_flow_revalidate(l.sw, &f, true, l.now));
    l.now = 1500; /* M2 was refreshed at 900 by the hit: still known */
    ASSERT_TRUE(sw_flow_revalidate(l.sw, &f, false, l.now));
    l.now = 2000; /* no hit since: M2 aged out, the flow goes */
    ASSERT_FALSE(sw_flow_revalidate(l.sw, &f, false, l.now));
    sw_destroy(l.sw);
}

static void
count_reason(const struct sw_soft_flow *f, void *aux)
{
    int *seen = aux;
    seen[f->reason] += (int)f->packets;
}

static void
switch_records_why_frames_stayed_in_software(void)
{
    struct lab l;
    lab_init(&l);
    send_frame(&l, l.vm1, mac_bcast, M1, -1, 60);
    send_frame(&l, l.vm1, M2, M1, 10, 64);
    send_frame(&l, l.vm2, M1, M2, -1, 60); /* known, but no eswitch */
    int seen[SW_SOFT__N] = {0};
    sw_soft_flows_foreach(l.sw, count_reason, seen);
    ASSERT_EQ(seen[SW_SOFT_BROADCAST], 1);
    ASSERT_EQ(seen[SW_SOFT_DROP], 1);
    ASSERT_EQ(seen[SW_SOFT_NO_ESWITCH], 1);
    sw_destroy(l.sw);
}

static uint64_t
cache_hits(struct lab *l)
{
    struct sw_cache_stats cs;
    sw_cache_stats(l->sw, &cs);
    return cs.hits;
}

/* vm1 -> M2 known on vm2: the first frame takes the long way, the rest hit. */
static void
cached_flow_setup(struct lab *l)
{
    lab_init(l);
    send_frame(l, l->vm1, mac_bcast, M1, -1, 60);
    send_frame(l, l->vm2, mac_bcast, M2, -1, 60);
    drain(l);
}

static void
switch_flow_cache_replays_known_unicast(void)
{
    struct lab l;
    cached_flow_setup(&l);
    struct pkt_meta m;
    for (int i = 0; i < 3; i++)
        send_frame(&l, l.vm1, M2, M1, -1, 60);
    ASSERT_EQ(cache_hits(&l), 2);
    for (int i = 0; i < 3; i++)
        ASSERT_EQ(take(&l, l.vm2, &m), 60);
    ASSERT_EQ(port_mem_n_tx(io(&l, l.u0)), 0);
    /* From the fabric, tagged: the tag comes off on the cached path too. */
    send_frame(&l, l.u0, M1, MR, 10, 64);
    send_frame(&l, l.u0, M1, MR, 10, 64);
    ASSERT_EQ(cache_hits(&l), 3);
    ASSERT_EQ(take(&l, l.vm1, &m), 60);
    ASSERT_EQ(take(&l, l.vm1, &m), 60);
    ASSERT_FALSE(m.has_vlan);
    /* To the fabric: pushed on the cached path. */
    send_frame(&l, l.vm1, MR, M1, -1, 60);
    send_frame(&l, l.vm1, MR, M1, -1, 60);
    ASSERT_EQ(cache_hits(&l), 4);
    ASSERT_EQ(take(&l, l.u0, &m), 64);
    ASSERT_EQ(take(&l, l.u0, &m), 64);
    ASSERT_TRUE(m.has_vlan && m.vid == 10);
    /* Longer than the portgroup allows: the long way, which drops it. */
    send_frame(&l, l.vm1, M2, M1, -1, 1515);
    ASSERT_EQ(st(&l, l.vm1)->drops[DROP_OVERSIZE], 1);
    ASSERT_EQ(port_mem_n_tx(io(&l, l.vm2)), 0);
    sw_destroy(l.sw);
}

static void
switch_flow_cache_follows_every_change(void)
{
    struct lab l;
    cached_flow_setup(&l);
    struct pkt_meta m;
    send_frame(&l, l.vm1, M2, M1, -1, 60);
    send_frame(&l, l.vm1, M2, M1, -1, 60);
    drain(&l);
    /* M2 moves behind the fabric: the cached way to vm2 is gone. */
    send_frame(&l, l.u0, mac_bcast, M2, 10, 64);
    drain(&l);
    send_frame(&l, l.vm1, M2, M1, -1, 60);
    ASSERT_EQ(port_mem_n_tx(io(&l, l.vm2)), 0);
    ASSERT_EQ(take(&l, l.u0, &m), 64);
    send_frame(&l, l.vm1, M2, M1, -1, 60); /* cached again, via u0 */
    ASSERT_EQ(take(&l, l.u0, &m), 64);
    /* Failover: the same flow now leaves by u1. */
    sw_port_set_carrier(l.sw, l.u0, false, l.now);
    drain(&l);
    send_frame(&l, l.vm1, M2, M1, -1, 60);
    ASSERT_EQ(port_mem_n_tx(io(&l, l.u0)), 0);
    ASSERT_EQ(take(&l, l.u1, &m), 64);
    ASSERT_EQ(m.vid, 10);
    /* The portgroup's VLAN changes: what was learned is forgotten, so the
     * frame floods, tagged with the new VLAN. */
    send_frame(&l, l.vm1, M2, M1, -1, 60);
    drain(&l);
    ASSERT_GE(sw_portgroup_set(l.sw, "pg-a", 30, 1500), 0);
    send_frame(&l, l.vm1, M2, M1, -1, 60);
    ASSERT_EQ(take(&l, l.u1, &m), 64);
    ASSERT_EQ(m.vid, 30);
    ASSERT_EQ(port_mem_n_tx(io(&l, l.vm2)), 1);
    sw_destroy(l.sw);
}

static void
switch_flow_cache_keeps_sources_alive_and_lets_destinations_age(void)
{
    struct lab l;
    cached_flow_setup(&l); /* both learned at 0; they age after 1000 ms */
    /* Two seconds of traffic both ways, all of it on the cached path after the
     * first frame each way: the hits alone keep both MACs alive. */
    int frames = 0;
    for (l.now = 100; l.now <= 2100; l.now += 100, frames += 2) {
        send_frame(&l, l.vm1, M2, M1, -1, 60);
        send_frame(&l, l.vm2, M1, M2, -1, 60);
        sw_tick(l.sw, l.now);
    }
    ASSERT_EQ(cache_hits(&l), (uint64_t)frames - 2);
    ASSERT_EQ(port_mem_n_tx(io(&l, l.u0)), 0); /* never flooded */
    drain(&l);
    /* Now only vm1 talks: M2 ages out within the ageing time, and frames to
     * it flood again. */
    for (; l.now <= 3300; l.now += 100) {
        send_frame(&l, l.vm1, M2, M1, -1, 60);
        sw_tick(l.sw, l.now);
    }
    drain(&l);
    send_frame(&l, l.vm1, M2, M1, -1, 60);
    ASSERT_EQ(port_mem_n_tx(io(&l, l.u0)), 1);
    sw_destroy(l.sw);
}

TEST_MAIN(TEST(switch_flow_cache_replays_known_unicast),
          TEST(switch_flow_cache_follows_every_change),
          TEST(switch_flow_cache_keeps_sources_alive_and_lets_destinations_age),
          TEST(switch_offloads_known_unicast_only), TEST(switch_flushes_flows_of_a_moved_mac),
          TEST(switch_revalidation_refreshes_sources_seen_by_the_eswitch),
          TEST(switch_records_why_frames_stayed_in_software),
          TEST(switch_floods_broadcast_within_vlan_only),
          TEST(switch_fenced_vnics_neither_receive_nor_send),
          TEST(switch_floods_unknown_unicast_once_then_learns),
          TEST(switch_pops_tag_from_fabric_and_learns_remote), TEST(switch_drops_on_standby_uplink),
          TEST(switch_fails_over_to_standby_and_announces), TEST(switch_handles_mac_move),
          TEST(switch_teaming_policy_is_set_at_run_time), TEST(switch_ages_out_and_floods_again),
          TEST(switch_counts_malformed_and_keeps_going), TEST(switch_config_validation))
