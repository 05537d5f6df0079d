/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ha: dpud's side of dual-DPU high availability (DESIGN §7), on a thread of
 * its own so that nothing the control thread does (a configuration, a
 * revalidation) delays a heartbeat.
 *
 *   hostd --mTLS, JSON lines, every heartbeat interval--> {"t":"hb", seq, epoch,
 *         role: active|standby|none, fence_ms}
 *   dpud  --> {"t":"hb", seq, epoch, role, fenced, uplinks, uplinks_total}
 *         --> {"t":"uplinks", ...} at once when an uplink's carrier changes
 *
 *   role none (independent DPUs):  never fenced
 *   role standby:                  fenced: its vNIC ports neither receive nor
 *                                  send (switch and eswitch)
 *   role active:                   unfenced; on becoming so it announces every
 *                                  vNIC MAC (RARP, tagged with its portgroup's
 *                                  VLAN) on the active uplink, so that the
 *                                  fabric relearns where the VMs are
 *   no heartbeat for fence_ms while active: fenced (a DPU cut off from hostd
 *                                  stops forwarding for vNICs it may no
 *                                  longer own); the next heartbeat that says
 *                                  active unfences it
 *
 * A role comes with an epoch; one older than the DPU's is ignored (a late
 * message from before a failover).  Until the first heartbeat, a DPU whose
 * configuration says active-standby is fenced: it forwards only once hostd
 * made it active.  The uplinks' carrier is heard from rtnetlink on this
 * thread, not from the control thread's.
 *
 * Thread-safety: the thread owns everything here but the announce list,
 * which the control thread replaces under 'mu' (dpud_ha_set_vnics).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemons/common/daemon.h"
#include "daemons/dpud/dpud.h"
#include "ha/hamsg.h"
#include "ha/member.h"
#include "lib/linkwatch.h"
#include "lib/log.h"
#include "lib/rtloop.h"
#include "lib/tls.h"
#include "lib/util.h"
#include "dataplane/vlan.h"

LOG_MODULE(ha);

static struct log_ratelimit ha_rl = LOG_RATELIMIT_INIT(5, 10000);

#define FENCE_MS_DEFAULT 500
#define RT_PRIORITY 20

struct ha_vnic {
    uint8_t mac[6];
    uint16_t vid;  /* 0: untagged */
    uint16_t port; /* its switch port */
};

struct dpud_ha {
    struct dpud *d;
    struct rtloop loop;
    struct evconnlistener *listener;
    SSL_CTX *ssl;
    const struct authz_policy *policy; /* who may connect: its own host */
    struct bufferevent *conn;          /* hostd, once it said who it is */
    struct bufferevent *pending;       /* a connection in its handshake */
    struct linkwatch *lw;
    struct event *fence_ev;

    /* The thread's own. */
    struct ha_member m;    /* role, epoch, fenced (ha/member.h) */
    _Atomic int es_fenced; /* what the eswitch holds: -1 unknown, 0, 1 */
    unsigned fence_ms;
    uint64_t last_hb_ms;
    char why[160]; /* of the fencing */
    int up_ifindex[DPUD_MAX_UPLINKS];
    bool up_carrier[DPUD_MAX_UPLINKS];
    int raw_fd[DPUD_MAX_UPLINKS]; /* AF_PACKET, for announcements */
    struct pkt *scratch;
    char held[HA_MSG_MAX]; /* hostd's newest line, not yet acted on */
    size_t held_len;
    unsigned held_rounds;

    /* Shared with the control thread. */
    pthread_mutex_t mu;
    bool standby_by_default; /* the configuration says active-standby */
    struct ha_vnic vnics[SW_MAX_PORTS];
    unsigned n_vnics;
    _Atomic unsigned status; /* role | fenced << 4, for dpu.info */
};

/* ---- fencing and announcing ---- */

/* Puts the member's fencing ('ha->m.fenced', 'was' before) into the switch
 * and the eswitch. */
static void
set_fenced(struct dpud_ha *ha, bool was, const char *why)
{
    struct dpud *d = ha->d;
    bool fenced = ha->m.fenced;
    sw_set_vnics_fenced(d->sw, fenced);
    /* Every heartbeat restates the role: a system call only for a change
     * (or after one that failed). */
    if (d->es && ha->es_fenced != (int)fenced)
        ha->es_fenced = eswitch_set_fenced(d->es, fenced) == 0 ? (int)fenced : -1;
    if (fenced != was)
        log_info("vNIC ports %s: %s", fenced ? "fenced" : "unfenced", why);
    snprintf(ha->why, sizeof ha->why, "%s", fenced ? why : "");
    atomic_store(&ha->status, (unsigned)ha->m.role | (fenced ? 0x10u : 0));
}

/* The VMs' MACs are ours now, whatever the uplinks said while we stood by. */
static void
claim(struct dpud_ha *ha)
{
    pthread_mutex_lock(&ha->mu);
    for (unsigned i = 0; i < ha->n_vnics; i++)
        sw_claim_mac(ha->d->sw, ha->vnics[i].port, ha->vnics[i].mac, now_ms());
    pthread_mutex_unlock(&ha->mu);
}

/* RARP from every vNIC MAC out of the team's active uplink. */
static void
announce(struct dpud_ha *ha)
{
    struct dpud *d = ha->d;
    int active = sw_team_active(d->sw); /* an int the control thread writes */
    const struct sw_port *p = active >= 0 ? sw_port_at(d->sw, (unsigned)active) : NULL;
    int fd = -1;
    for (unsigned i = 0; p && i < d->n_uplinks; i++)
        if (!strcmp(d->uplinks[i], p->name))
            fd = ha->raw_fd[i];
    if (fd < 0)
        return;
    pthread_mutex_lock(&ha->mu);
    unsigned sent = 0;
    for (unsigned i = 0; i < ha->n_vnics; i++) {
        pkt_rarp_build(ha->scratch, ha->vnics[i].mac);
        if (ha->vnics[i].vid && !vlan_push(ha->scratch, ha->vnics[i].vid, 0))
            continue;
        sent += send(fd, ha->scratch->data, ha->scratch->len, MSG_DONTWAIT) > 0;
    }
    unsigned n = ha->n_vnics;
    pthread_mutex_unlock(&ha->mu);
    log_info("announced %u of %u vNIC MACs on %s", sent, n, p->name);
}

/* Does what the member says (ha/member.h); 'was' is its fencing before. */
static void
act(struct dpud_ha *ha, unsigned acts, bool was, const char *why)
{
    if (acts & (HA_ACT_FENCE | HA_ACT_UNFENCE))
        set_fenced(ha, was, ha->m.fenced ? why : "");
    if (acts & HA_ACT_ANNOUNCE) {
        claim(ha);
        announce(ha);
    }
}

/* ---- the connection to hostd ---- */

static unsigned
uplinks_up(const struct dpud_ha *ha)
{
    unsigned n = 0;
    for (unsigned i = 0; i < ha->d->n_uplinks; i++)
        n += ha->up_carrier[i];
    return n;
}

/* Tells hostd where this DPU stands: a heartbeat's answer (its seq) or, on a
 * carrier change, the uplinks alone. */
static void
send_state(struct dpud_ha *ha, enum ha_msg_type type, uint64_t seq)
{
    struct ha_msg m = {.type = type,
                       .seq = seq,
                       .epoch = ha->m.epoch,
                       .role = ha->m.role,
                       .fenced = ha->m.fenced,
                       .uplinks = (int)uplinks_up(ha),
                       .uplinks_total = (int)ha->d->n_uplinks};
    char line[256];
    int n = ha_msg_format(&m, true, line, sizeof line);
    if (n > 0 && ha->conn && tls_bev_write_now(ha->conn, line, (size_t)n) < 0) {
        log_warn("hostd reads nothing (its answers back up): connection closed");
        bufferevent_free(ha->conn);
        ha->conn = NULL;
        ha->held_len = 0;
    }
}

static void
arm_fence(struct dpud_ha *ha)
{
    struct timeval tv = {.tv_sec = ha->fence_ms / 1000,
                         .tv_usec = (suseconds_t)(ha->fence_ms % 1000) * 1000};
    evtimer_add(ha->fence_ev, &tv);
}

static void
on_heartbeat(struct dpud_ha *ha, const struct ha_msg *hb)
{
    if (hb->fence_ms)
        ha->fence_ms = hb->fence_ms;
    ha->last_hb_ms = now_ms();
    bool was = ha->m.fenced;
    act(ha, ha_member_heartbeat(&ha->m, hb->role, hb->epoch), was, "standby");
    arm_fence(ha);
    send_state(ha, HA_MSG_HB, hb->seq);
}

/* Is more of hostd's stream here already, decrypted or not? */
static bool
more_pending(struct bufferevent *bev)
{
    SSL *ssl = bufferevent_openssl_get_ssl(bev);
    int n = 0;
    if (ssl && SSL_pending(ssl) > 0)
        return true;
    return ioctl(bufferevent_getfd(bev), FIONREAD, &n) == 0 && n > 0;
}

static void
on_read(struct bufferevent *bev, void *arg)
{
    struct dpud_ha *ha = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    char *line;
    size_t n;
    /* Only the newest heartbeat counts: after a stall (this process was
     * stopped, the core was busy) the older ones are history.  Acting on one
     * (an old "active") would undo what hostd decided since, and parsing
     * each would keep the core from the other DPU's heartbeats: keep the
     * last line, and parse it once the stream has no more to give (or after
     * a few rounds, should heartbeats arrive as fast as they are read). */
    while ((line = evbuffer_readln(in, &n, EVBUFFER_EOL_LF))) {
        if (n < sizeof ha->held) {
            memcpy(ha->held, line, n);
            ha->held_len = n;
        }
        free(line);
    }
    if (evbuffer_get_length(in) > HA_MSG_MAX) {
        log_warn("hostd: a line longer than %d bytes: connection closed", HA_MSG_MAX);
        bufferevent_free(bev);
        ha->conn = NULL;
        ha->held_len = 0;
        return;
    }
    if (!ha->held_len || (more_pending(bev) && ++ha->held_rounds < 8))
        return;
    ha->held_rounds = 0;
    struct ha_msg m;
    char err[96];
    int rc = ha_msg_parse(ha->held, ha->held_len, &m, err, sizeof err);
    ha->held_len = 0;
    if (rc == 0 && m.type == HA_MSG_HB)
        on_heartbeat(ha, &m);
    else
        log_warn_rl(&ha_rl, "hostd: %s: ignored", rc ? err : "not a heartbeat");
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
    struct dpud_ha *ha = arg;
    if (what & BEV_EVENT_CONNECTED) {
        SSL *ssl = bufferevent_openssl_get_ssl(bev);
        char cn[256], why[160];
        unsigned role;
        enum authz_reason reason = AUTHZ_R_HANDSHAKE;
        if (ssl && tls_peer_authorize(ssl, ha->policy, cn, sizeof cn, &role, &reason, why,
                                      sizeof why) == 0)
            goto allowed;
        authz_count(reason);
        log_warn_rl(&ha_rl, "refused a peer (%s): %s", authz_reason_name(reason),
                    ssl ? why : "not TLS");
        if (ha->pending == bev)
            ha->pending = NULL;
        bufferevent_free(bev);
        return;
    allowed:
        if (ha->pending == bev)
            ha->pending = NULL;
        if (ha->conn && ha->conn != bev)
            bufferevent_free(ha->conn); /* hostd came back: the new one wins */
        ha->conn = bev;
        ha->held_len = 0;
        log_info("hostd %s connected", cn);
        send_state(ha, HA_MSG_UPLINKS, 0);
        return;
    }
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        if (ha->conn == bev)
            ha->conn = NULL;
        if (ha->pending == bev)
            ha->pending = NULL;
        bufferevent_free(bev);
    }
}

static void
on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len, void *arg)
{
    struct dpud_ha *ha = arg;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    SSL *ssl = SSL_new(ha->ssl);
    struct bufferevent *bev =
        ssl ? bufferevent_openssl_socket_new(ha->loop.base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                             BEV_OPT_CLOSE_ON_FREE)
            : NULL;
    if (!bev) {
        if (ssl)
            SSL_free(ssl);
        close(fd);
        return;
    }
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    bufferevent_setcb(bev, on_read, NULL, on_event, ha);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
    /* One handshake at a time (hostd is the only peer): a newer one wins. */
    if (ha->pending)
        bufferevent_free(ha->pending);
    ha->pending = bev;
}

/* ---- carrier, the fence watchdog, stopping ---- */

static void
on_link(int ifindex, const char *ifname, bool carrier, bool gone, void *arg)
{
    struct dpud_ha *ha = arg;
    for (unsigned i = 0; i < ha->d->n_uplinks; i++) {
        if (strcmp(ha->d->uplinks[i], ifname) || ha->up_carrier[i] == (carrier && !gone))
            continue;
        ha->up_carrier[i] = carrier && !gone;
        ha->up_ifindex[i] = ifindex;
        send_state(ha, HA_MSG_UPLINKS, 0); /* at once, not at the next heartbeat */
    }
}

static void
on_fence_timer(evutil_socket_t fd, short what, void *arg)
{
    struct dpud_ha *ha = arg;
    char why[96];
    snprintf(why, sizeof why, "no heartbeat from hostd for %u ms", ha->fence_ms);
    bool was = ha->m.fenced;
    act(ha, ha_member_silence(&ha->m), was, why);
}

int
dpud_ha_start(struct dpud *d, const char *listen, const struct tls_paths *tls,
              const struct authz_policy *policy, char *err, size_t err_len)
{
    char addr[128];
    uint16_t port;
    if (parse_hostport(listen, addr, sizeof addr, &port) < 0)
        return err_set(err, err_len, -EINVAL, "--ha-listen %s: want ADDR:PORT", listen);
    struct dpud_ha *ha = calloc(1, sizeof *ha);
    if (!ha || !(ha->scratch = malloc(sizeof *ha->scratch))) {
        free(ha);
        return err_set(err, err_len, -ENOMEM, "out of memory");
    }
    d->ha = ha;
    ha->d = d;
    ha->policy = policy;
    ha->fence_ms = FENCE_MS_DEFAULT;
    ha->es_fenced = -1;
    ha_member_init(&ha->m, false); /* the control thread fences a new pair (configure) */
    pthread_mutex_init(&ha->mu, NULL);
    for (unsigned i = 0; i < DPUD_MAX_UPLINKS; i++)
        ha->raw_fd[i] = -1;
    int rc = rtloop_init(&ha->loop, NULL, NULL, err, err_len);
    if (rc < 0)
        return rc;
    if (!(ha->ssl = tls_server_ctx(tls, err, err_len)) ||
        agent_identity_add_ctx(&d->identity, ha->ssl) < 0)
        return -EINVAL;
    struct sockaddr_storage ss;
    int sslen = sizeof ss;
    char spec[160];
    snprintf(spec, sizeof spec, strchr(addr, ':') ? "[%s]:%u" : "%s:%u", addr, port);
    if (evutil_parse_sockaddr_port(spec, (struct sockaddr *)&ss, &sslen) < 0)
        return err_set(err, err_len, -EINVAL, "--ha-listen %s: not an address", listen);
    ha->listener = evconnlistener_new_bind(ha->loop.base, on_accept, ha,
                                           LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 8,
                                           (struct sockaddr *)&ss, sslen);
    if (!ha->listener)
        return err_set(err, err_len, -errno, "--ha-listen %s: %s", listen, strerror(errno));
    ha->lw = linkwatch_create(ha->loop.base, on_link, ha);
    for (unsigned i = 0; i < d->n_uplinks; i++) {
        ha->up_carrier[i] = link_has_carrier(d->uplinks[i]);
        ha->up_ifindex[i] = (int)if_nametoindex(d->uplinks[i]);
        int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
        struct sockaddr_ll ll = {.sll_family = AF_PACKET, .sll_ifindex = ha->up_ifindex[i]};
        if (fd >= 0 && bind(fd, (struct sockaddr *)&ll, sizeof ll) < 0) {
            close(fd);
            fd = -1;
        }
        ha->raw_fd[i] = fd;
    }
    ha->fence_ev = evtimer_new(ha->loop.base, on_fence_timer, ha);
    if (!ha->lw || !ha->fence_ev)
        return err_set(err, err_len, -ENOMEM, "cannot set up the HA thread's events");
    /* Heartbeats answered on time even on a busy DPU core. */
    if ((rc = rtloop_start(&ha->loop, "ha", RT_PRIORITY, "the data plane", err, err_len)) < 0)
        return rc;
    log_info("heartbeats on %s", listen);
    return 0;
}

void
dpud_ha_stop(struct dpud *d)
{
    struct dpud_ha *ha = d->ha;
    if (!ha)
        return;
    rtloop_stop(&ha->loop);
    if (ha->conn)
        bufferevent_free(ha->conn);
    if (ha->pending)
        bufferevent_free(ha->pending);
    if (ha->listener)
        evconnlistener_free(ha->listener);
    linkwatch_destroy(ha->lw);
    if (ha->fence_ev)
        event_free(ha->fence_ev);
    for (unsigned i = 0; i < DPUD_MAX_UPLINKS; i++)
        if (ha->raw_fd[i] >= 0)
            close(ha->raw_fd[i]);
    if (ha->ssl)
        SSL_CTX_free(ha->ssl);
    rtloop_fini(&ha->loop);
    pthread_mutex_destroy(&ha->mu);
    free(ha->scratch);
    free(ha);
    d->ha = NULL;
}

/* ---- from the control thread ---- */

void
dpud_ha_configure(struct dpud *d, bool active_standby, json_t *ports)
{
    struct dpud_ha *ha = d->ha;
    if (!ha)
        return;
    pthread_mutex_lock(&ha->mu);
    bool was = ha->standby_by_default;
    ha->standby_by_default = active_standby;
    ha->n_vnics = 0;
    size_t i;
    json_t *p;
    json_array_foreach (ports, i, p) {
        uint8_t mac[6];
        const char *m = json_string_value(json_object_get(p, "mac"));
        int id = sw_port_find(d->sw, json_string_value(json_object_get(p, "name")));
        const struct sw_port *sp = id >= 0 ? sw_port_at(d->sw, (unsigned)id) : NULL;
        if (!m || !mac_parse(m, mac) || !sp || sp->pg < 0 || ha->n_vnics == SW_MAX_PORTS)
            continue;
        memcpy(ha->vnics[ha->n_vnics].mac, mac, 6);
        ha->vnics[ha->n_vnics].vid = sw_portgroup_at(d->sw, (unsigned)sp->pg)->vid;
        ha->vnics[ha->n_vnics].port = sp->id;
        ha->n_vnics++;
    }
    pthread_mutex_unlock(&ha->mu);
    /* Becoming part of a pair: fenced until hostd says active.  The HA
     * thread's own state is only read here (status), never written but for
     * es_fenced, which makes it restate the eswitch's fence: a fence set now
     * is undone by the next heartbeat that says active. */
    unsigned st = atomic_load(&ha->status);
    if (active_standby && !was && (st & 0xf) != HA_ROLE_ACTIVE) {
        sw_set_vnics_fenced(d->sw, true);
        if (d->es) {
            eswitch_set_fenced(d->es, true);
            atomic_store(&ha->es_fenced, -1); /* the HA thread writes it again */
        }
    }
}

json_t *
dpud_ha_json(const struct dpud *d)
{
    const struct dpud_ha *ha = d->ha;
    if (!ha)
        return json_null();
    unsigned st = atomic_load(&((struct dpud_ha *)ha)->status);
    return json_pack("{s:s,s:b}", "role", ha_role_name((enum ha_role)(st & 0xf)), "fenced",
                     sw_vnics_fenced(d->sw));
}
