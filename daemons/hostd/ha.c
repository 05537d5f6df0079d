/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ha: dual-DPU high availability, hostd's side (DESIGN §7): fast heartbeats
 * with both DPUs on a thread of its own, failure detection, failover.
 *
 *   every heartbeat interval (default 2 ms), to each DPU on its own kept
 *   connection (mTLS, JSON lines; dpud/ha.c answers on its own thread):
 *       {"t":"hb", seq, epoch, role, fence_ms} -> {"t":"hb", ..., uplinks, fenced}
 *
 *   the active DPU fails when  its connection breaks (dpud killed or
 *                                crashed: the kernel closes it at once)
 *                              no answer for 'miss' intervals (dpud hung)
 *                              it reports no uplink with carrier (a cut cable;
 *                                dpud says so the moment it hears it)
 *   then, if the standby is healthy (answering, an uplink up):
 *       epoch + 1; every vNIC's VF moves to the standby (the platform: in the
 *       lab one map update per VM, vfmux.h); the standby is told it is active
 *       (it unfences its vNIC ports and announces the VMs' MACs on its active
 *       uplink); the old one, if it still listens, that it is standby; then
 *       the event "dpu.failover" (and its alarm), the new state on disk.
 *   otherwise nothing moves and the state says why.
 *
 * Failback is by hand (dpu.failover --to), or automatic after a hold time
 * (auto_failback_s) to the preferred DPU: the one the operator chose last,
 * with dpu-mode or dpu failover.  In independent mode the DPUs get role
 * "none": heartbeats still tell their health, nothing fails over.
 *
 * Thread-safety: the thread owns the connections; commands (event loop)
 * read and change the state under 'mu' and ask for failovers through
 * 'req_to' and an eventfd, waiting on 'cv' for the outcome.
 */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ha/detector.h"
#include "ha/hamsg.h"
#include "daemons/hostd/hostd.h"
#include "lib/log.h"
#include "monitor/metrics.h"
#include "lib/rtloop.h"
#include "lib/tls.h"
#include "lib/util.h"

LOG_MODULE(ha);

static struct log_ratelimit ha_rl = LOG_RATELIMIT_INIT(5, 10000);

#define RECONNECT_MS 50
#define RT_PRIORITY 20
#define HA_VMS_MAX 256

/* A DPU's connection (its health is the detector's: hostd_ha.health). */
struct ha_peer {
    struct bufferevent *bev;
    uint64_t connect_ms; /* when the last attempt began */
    bool fenced;
    char role[16]; /* as it says */
};

struct hostd_ha {
    struct hostd *h;
    struct rtloop loop;
    struct event *tick_ev;
    pthread_mutex_t mu;
    pthread_cond_t cv;

    /* Configuration (under mu): from hostd.json. */
    struct ha_detector_cfg cfg; /* heartbeat interval, misses that fail */
    unsigned fence_ms;
    unsigned dfw_sync_ms;     /* the firewall's sync (dfwsync.c); 0: off */
    char vms[HA_VMS_MAX][32]; /* every VM, for moving their VFs */
    unsigned n_vms;

    /* State (under mu).  'pair': the mode, the active DPU (active-standby
     * only), the preferred one (the operator's last choice: failback's aim),
     * the failback hold time (0: by hand). */
    struct ha_pair pair;
    uint64_t epoch;
    struct ha_peer peer[HOSTD_MAX_DPUS];
    struct ha_peer_health health[HOSTD_MAX_DPUS]; /* what the heartbeats said (ha/detector.h) */
    uint64_t seq;
    unsigned failovers;
    char last_failover[400];        /* what happened last, for dpu list */
    uint64_t last_failover_unix_us; /* its decision, wall clock */
    char no_failover[400];          /* why the last failover could not happen */
    int req_to;                     /* a requested failover (command), -1 none */
    int req_rc;
    char req_err[256];
    bool req_done;
};

static enum ha_role
role_of(const struct hostd_ha *ha, int i)
{
    return !ha->pair.active_standby ? HA_ROLE_NONE
           : i == ha->pair.active   ? HA_ROLE_ACTIVE
                                    : HA_ROLE_STANDBY;
}

/* ---- state on disk: which DPU is active, the epoch ---- */

static void
save_state(struct hostd_ha *ha)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/ha.json", ha->h->dir);
    json_t *j = json_pack("{s:s,s:s,s:I}", "active",
                          ha->h->dpus[ha->pair.active < 0 ? 0 : ha->pair.active].name, "preferred",
                          ha->h->dpus[ha->pair.preferred].name, "epoch", (json_int_t)ha->epoch);
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!s || fs_write_atomic(path, s, strlen(s)) < 0)
        log_warn("cannot save %s: after a restart the DPUs' answers set the epoch", path);
    free(s);
}

/* The index of DPU 'name' (a JSON string) of 'h', or -1. */
static int
dpu_index(const struct hostd *h, const json_t *name)
{
    for (unsigned i = 0; json_is_string(name) && i < h->n_dpus; i++)
        if (!strcmp(h->dpus[i].name, json_string_value(name)))
            return (int)i;
    return -1;
}

/* The DPU index at 'key' of 'j' into '*out' (unchanged when absent).
 * Returns 0, or -EINVAL when it names no DPU of 'h'. */
static int
state_dpu(const struct hostd *h, const json_t *j, const char *key, int *out, char *err,
          size_t err_len)
{
    const json_t *v = json_object_get(j, key);
    int i = dpu_index(h, v);
    if (!v)
        return 0;
    if (i < 0)
        return err_set(err, err_len, -EINVAL, "'%s' names no DPU of this host", key);
    *out = i;
    return 0;
}

/* 'epoch' of 'j' into '*out' (unchanged when absent): it must leave room for
 * one more failover within what a heartbeat carries (hamsg.h). */
static int
state_epoch(const json_t *j, uint64_t *out, char *err, size_t err_len)
{
    const json_t *v = json_object_get(j, "epoch");
    json_int_t e = json_integer_value(v);
    if (!v)
        return 0;
    if (!json_is_integer(v) || e < 0 || e == INT64_MAX)
        return err_set(err, err_len, -EINVAL, "'epoch' must be an integer in 0..%lld",
                       (long long)INT64_MAX - 1);
    *out = (uint64_t)e;
    return 0;
}

int
hostd_ha_state_parse(const struct hostd *h, const char *text, size_t len,
                     struct hostd_ha_state *out, char *err, size_t err_len)
{
    json_error_t jerr;
    *out = (struct hostd_ha_state){0};
    if (!text)
        return 0;
    json_t *j = json_loadb(text, len, 0, &jerr);
    if (!j)
        return err_set(err, err_len, -EINVAL, "%s (line %d)", jerr.text, jerr.line);
    if (!json_is_object(j)) {
        json_decref(j);
        return err_set(err, err_len, -EINVAL, "not a JSON object");
    }
    /* Each field on its own: what is good is used. */
    int a = state_dpu(h, j, "active", &out->active, err, err_len);
    out->preferred = out->active;
    int p = state_dpu(h, j, "preferred", &out->preferred, err, err_len);
    int e = state_epoch(j, &out->epoch, err, err_len);
    json_decref(j);
    return a < 0 ? a : p < 0 ? p : e;
}

/* A bad file is no reason not to start: the first DPU is active, and the
 * DPUs' answers set the epoch. */
static void
load_state(struct hostd_ha *ha)
{
    char path[4200], why[200];
    struct hostd_ha_state st;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/ha.json", ha->h->dir);
    char *text = fs_read_file(path, HOSTD_CONFIG_MAX, &len);
    if (!text && errno != ENOENT)
        log_warn("cannot read %s: %s", path, strerror(errno));
    if (hostd_ha_state_parse(ha->h, text, len, &st, why, sizeof why) < 0)
        log_warn("%s: %s: ignored", path, why);
    free(text);
    ha->pair.active = st.active;
    ha->pair.preferred = st.preferred;
    ha->epoch = st.epoch;
}

/* ---- heartbeats ---- */

static void peer_down(struct hostd_ha *ha, int i, const char *why);

static void
send_hb(struct hostd_ha *ha, int i)
{
    struct ha_peer *p = &ha->peer[i];
    uint64_t now = now_ms();
    if (!ha_peer_should_send(&ha->cfg, &ha->health[i], now))
        return;
    ha_peer_sent(&ha->health[i], now);
    struct ha_msg m = {.type = HA_MSG_HB,
                       .seq = ++ha->seq,
                       .epoch = ha->epoch,
                       .role = role_of(ha, i),
                       .fence_ms = ha->fence_ms};
    char line[256];
    int n = ha_msg_format(&m, false, line, sizeof line);
    if (n > 0 && tls_bev_write_now(p->bev, line, (size_t)n) < 0)
        peer_down(ha, i, "heartbeats back up, unread: connection closed");
}

/* Healthy at 'now' (ha/detector.h); if not, why. */
static bool
healthy(const struct hostd_ha *ha, int i, uint64_t now, char *why, size_t len)
{
    return ha_peer_healthy(&ha->cfg, &ha->health[i], now, why, len);
}

/* Moves every vNIC to DPU 'to' and tells both DPUs.  Under mu. */
static int
failover(struct hostd_ha *ha, int to, const char *reason, uint64_t detected_at_ns, char *err,
         size_t err_len)
{
    struct hostd *h = ha->h;
    uint64_t now = now_ms();
    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    char why[200];
    int rc = ha_may_fail_over(&ha->cfg, &ha->pair, ha->health, to, now, why, sizeof why);
    if (rc == -EALREADY)
        return err_set(err, err_len, rc, "%s is %s", h->dpus[to].name, why);
    if (rc < 0) {
        snprintf(ha->no_failover, sizeof ha->no_failover, "no failover to %s (%s): %s",
                 h->dpus[to].name, reason, why);
        return err_set(err, err_len, rc, "%s", ha->no_failover);
    }
    int from = ha->pair.active;
    ha->epoch++;
    ha->pair.active = to;
    unsigned moved = 0;
    char perr[256] = "";
    for (unsigned v = 0; v < ha->n_vms; v++)
        moved += platform_vnic_move(&h->platform, ha->vms[v], (unsigned)to, perr, sizeof perr) == 0;
    send_hb(ha, to);
    send_hb(ha, from);
    uint64_t took_us = (now_ns() - detected_at_ns) / 1000;
    ha->failovers++;
    ha->last_failover_unix_us = (uint64_t)wall.tv_sec * 1000000 + (uint64_t)wall.tv_nsec / 1000;
    ha->no_failover[0] = '\0';
    snprintf(ha->last_failover, sizeof ha->last_failover,
             "%s -> %s (%s), epoch %llu, %u of %u vNICs moved in %llu us%s%s", h->dpus[from].name,
             h->dpus[to].name, reason, (unsigned long long)ha->epoch, moved, ha->n_vms,
             (unsigned long long)took_us, perr[0] ? ": " : "", perr);
    log_warn("failover %s", ha->last_failover);
    return 0;
}

/* After a failover: what takes time (the disk, the event log) comes last. */
static void
after_failover(struct hostd_ha *ha, const char *to)
{
    save_state(ha);
    char msg[sizeof ha->last_failover];
    snprintf(msg, sizeof msg, "%s", ha->last_failover);
    pthread_mutex_unlock(&ha->mu);
    hostd_event(ha->h, "dpu.failover", to, "%s", msg);
    pthread_mutex_lock(&ha->mu);
}

/* DPU 'i' failed for 'reason': what the policy says (ha/detector.h). */
static void
dpu_failed(struct hostd_ha *ha, int i, const char *reason)
{
    char err[400], why[200];
    int to = -1;
    uint64_t now = now_ms();
    switch (ha_on_failure(&ha->cfg, &ha->pair, ha->health, i, now, &to, why, sizeof why)) {
    case HA_FAILOVER:
        if (failover(ha, to, reason, now_ns(), err, sizeof err) == 0)
            after_failover(ha, ha->h->dpus[to].name);
        else
            log_warn("%s", err);
        break;
    case HA_NO_FAILOVER:
        snprintf(err, sizeof err, "no failover to %s (%s): %s", ha->h->dpus[1 - i].name, reason,
                 why);
        if (strcmp(err, ha->no_failover))
            log_warn("%s", err);
        snprintf(ha->no_failover, sizeof ha->no_failover, "%s", err);
        break;
    default:
        break;
    }
}

/* ---- the connections ---- */

static void peer_connect(struct hostd_ha *ha, int i);

static void
peer_down(struct hostd_ha *ha, int i, const char *why)
{
    struct ha_peer *p = &ha->peer[i];
    if (p->bev)
        bufferevent_free(p->bev);
    p->bev = NULL;
    bool was = ha->health[i].connected;
    ha_peer_lost(&ha->health[i], why);
    if (was) {
        log_warn("dpu=%s: %s", ha->h->dpus[i].name, why);
        dpu_failed(ha, i, why);
    }
}

static void
on_message(struct hostd_ha *ha, int i, const struct ha_msg *m)
{
    struct ha_peer *p = &ha->peer[i];
    struct ha_peer_health *health = &ha->health[i];
    ha_peer_heard(health, m->uplinks, m->uplinks_total, now_ms());
    if (m->type == HA_MSG_HB) {
        snprintf(p->role, sizeof p->role, "%s", ha_role_name(m->role));
        p->fenced = m->fenced;
        /* A DPU that knows a later epoch (our state was lost): go past it. */
        if (m->epoch > ha->epoch) {
            ha->epoch = m->epoch + 1;
            save_state(ha);
        }
    }
    if (health->uplinks_total && !health->uplinks)
        dpu_failed(ha, i, "its uplinks lost carrier");
}

struct peer_cb {
    struct hostd_ha *ha;
    int i;
};
static struct peer_cb peer_cbs[HOSTD_MAX_DPUS];

static void
on_peer_read(struct bufferevent *bev, void *arg)
{
    struct peer_cb *c = arg;
    struct hostd_ha *ha = c->ha;
    struct evbuffer *in = bufferevent_get_input(bev);
    char *line;
    size_t n;
    pthread_mutex_lock(&ha->mu);
    while (ha->peer[c->i].bev == bev && (line = evbuffer_readln(in, &n, EVBUFFER_EOL_LF))) {
        struct ha_msg m;
        char err[96];
        if (ha_msg_parse(line, n, &m, err, sizeof err) == 0)
            on_message(ha, c->i, &m);
        else
            log_warn_rl(&ha_rl, "dpu=%s: %s: ignored", ha->h->dpus[c->i].name, err);
        free(line);
    }
    if (ha->peer[c->i].bev == bev && evbuffer_get_length(in) > HA_MSG_MAX)
        peer_down(ha, c->i, "a line too long: connection closed");
    pthread_mutex_unlock(&ha->mu);
}

static void
on_peer_event(struct bufferevent *bev, short what, void *arg)
{
    struct peer_cb *c = arg;
    struct hostd_ha *ha = c->ha;
    struct ha_peer *p = &ha->peer[c->i];
    const struct hostd_dpu *dpu = &ha->h->dpus[c->i];
    pthread_mutex_lock(&ha->mu);
    if (p->bev != bev) {
        pthread_mutex_unlock(&ha->mu);
        return;
    }
    if (what & BEV_EVENT_CONNECTED) {
        SSL *ssl = bufferevent_openssl_get_ssl(bev);
        char cn[256], why[128];
        unsigned role;
        if (!ssl || tls_peer_identity(ssl, cn, sizeof cn, &role, why, sizeof why) < 0 ||
            role != AUTHZ_DPU || strcmp(cn, dpu->cn)) {
            peer_down(ha, c->i, "its certificate is not the DPU's");
        } else {
            int one = 1;
            setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            ha_peer_connected(&ha->health[c->i], now_ms());
            log_info("dpu=%s: heartbeats connected", dpu->name);
            send_hb(ha, c->i);
        }
    } else if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        char why[200];
        unsigned long e = bufferevent_get_openssl_error(bev);
        int se = EVUTIL_SOCKET_ERROR();
        snprintf(why, sizeof why, "connection %s%s%s", what & BEV_EVENT_EOF ? "closed" : "lost",
                 se && !(what & BEV_EVENT_EOF) ? ": " : "",
                 se && !(what & BEV_EVENT_EOF) ? strerror(se) : "");
        (void)e;
        peer_down(ha, c->i, why);
    }
    pthread_mutex_unlock(&ha->mu);
}

static void
peer_connect(struct hostd_ha *ha, int i)
{
    struct ha_peer *p = &ha->peer[i];
    const struct hostd_dpu *dpu = &ha->h->dpus[i];
    p->connect_ms = now_ms();
    struct sockaddr_storage ss;
    int len = sizeof ss;
    char spec[128];
    snprintf(spec, sizeof spec, strchr(dpu->addr, ':') ? "[%s]:%u" : "%s:%u", dpu->addr,
             dpu->ha_port);
    SSL *ssl = SSL_new(ha->h->client_ssl);
    if (!ssl || evutil_parse_sockaddr_port(spec, (struct sockaddr *)&ss, &len) < 0) {
        if (ssl)
            SSL_free(ssl);
        char why[160];
        snprintf(why, sizeof why, "bad address %s", spec);
        ha_peer_lost(&ha->health[i], why);
        return;
    }
    SSL_set_tlsext_host_name(ssl, dpu->addr);
    p->bev = bufferevent_openssl_socket_new(ha->loop.base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
                                            BEV_OPT_CLOSE_ON_FREE);
    if (!p->bev) {
        SSL_free(ssl);
        return;
    }
    bufferevent_openssl_set_allow_dirty_shutdown(p->bev, 1);
    peer_cbs[i] = (struct peer_cb){ha, i};
    bufferevent_setcb(p->bev, on_peer_read, NULL, on_peer_event, &peer_cbs[i]);
    bufferevent_enable(p->bev, EV_READ | EV_WRITE);
    if (bufferevent_socket_connect(p->bev, (struct sockaddr *)&ss, len) < 0) {
        bufferevent_free(p->bev);
        p->bev = NULL;
        char why[100];
        snprintf(why, sizeof why, "connect: %s", strerror(errno));
        ha_peer_lost(&ha->health[i], why);
    }
}

/* Back to the DPU the operator chose, once it has been healthy for the hold
 * time (a DPU that flaps never gets the VMs back).  Under mu. */
static void
auto_failback(struct hostd_ha *ha, uint64_t now)
{
    int to = -1;
    if (ha_on_tick(&ha->cfg, &ha->pair, ha->health, now, &to) != HA_FAILBACK)
        return;
    char err[400];
    if (failover(ha, to, "automatic failback", now_ns(), err, sizeof err) == 0)
        after_failover(ha, ha->h->dpus[to].name);
    else
        log_warn("%s", err);
}

/* Every interval: heartbeats, timeouts, reconnections. */
static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct hostd_ha *ha = arg;
    pthread_mutex_lock(&ha->mu);
    uint64_t now = now_ms();
    for (unsigned i = 0; i < ha->h->n_dpus; i++) {
        struct ha_peer *p = &ha->peer[i];
        struct ha_peer_health *health = &ha->health[i];
        if (health->connected && ha_peer_silent(&ha->cfg, health, now)) {
            char why[96];
            snprintf(why, sizeof why, "%u heartbeats unanswered in %llu ms", health->unanswered,
                     (unsigned long long)(now - health->first_unanswered_ms));
            dpu_failed(ha, (int)i, why);
        }
        if (!p->bev && now - p->connect_ms >= RECONNECT_MS)
            peer_connect(ha, (int)i);
        send_hb(ha, (int)i);
        ha_peer_update(&ha->cfg, health, now);
    }
    auto_failback(ha, now);
    pthread_mutex_unlock(&ha->mu);
}

/* A command asked for something: a failover, a new configuration. */
static void
on_wake(void *arg)
{
    struct hostd_ha *ha = arg;
    pthread_mutex_lock(&ha->mu);
    if (ha->req_to >= 0) {
        int to = ha->req_to;
        ha->req_to = -1;
        ha->req_rc = failover(ha, to, "requested", now_ns(), ha->req_err, sizeof ha->req_err);
        if (ha->req_rc == 0) {
            ha->pair.preferred = to; /* where the operator wants the VMs */
            after_failover(ha, ha->h->dpus[to].name);
        }
        ha->req_done = true;
        pthread_cond_broadcast(&ha->cv);
    }
    struct timeval tv = {.tv_sec = 0, .tv_usec = (suseconds_t)ha->cfg.interval_ms * 1000};
    event_add(ha->tick_ev, &tv); /* a changed interval */
    pthread_mutex_unlock(&ha->mu);
}

/* ---- configuration, from the event loop ---- */

void
hostd_ha_reconfigure(struct hostd *h)
{
    struct hostd_ha *ha = h->ha;
    if (!ha)
        return;
    json_t *c = h->config;
    pthread_mutex_lock(&ha->mu);
    ha->pair.n = h->n_dpus;
    ha->pair.active_standby =
        !strcmp(json_string_value(json_object_get(c, "dpu_mode")) ?: "", "active-standby") &&
        h->n_dpus == 2;
    ha->pair.auto_failback_ms =
        (unsigned)json_integer_value(json_object_get(c, "auto_failback_s")) * 1000;
    json_t *hb = json_object_get(c, "heartbeat_ms");
    ha->cfg.interval_ms =
        json_is_integer(hb) ? (unsigned)json_integer_value(hb) : HOSTD_HA_HEARTBEAT_MS;
    if (!ha->pair.active_standby) /* a core's worth of heartbeats for nothing */
        ha->cfg.interval_ms = MAX(ha->cfg.interval_ms, HOSTD_HA_IDLE_MS);
    ha->fence_ms = MAX(HOSTD_HA_FENCE_MS, 10 * ha->cfg.interval_ms);
    ha->dfw_sync_ms = (unsigned)json_integer_value(json_object_get(c, "dfw_sync_ms"));
    ha->n_vms = 0;
    size_t i;
    json_t *vm;
    json_array_foreach (json_object_get(c, "vms"), i, vm)
        if (ha->n_vms < HA_VMS_MAX)
            snprintf(ha->vms[ha->n_vms++], sizeof ha->vms[0], "%s",
                     json_string_value(json_object_get(vm, "name")));
    /* The VFs where they belong: every vNIC with the active DPU, or each with
     * its own DPU in independent mode. */
    json_array_foreach (json_object_get(c, "vms"), i, vm) {
        struct hostd_dpu *d = hostd_dpu_find(h, json_string_value(json_object_get(vm, "dpu")));
        int to = ha->pair.active_standby ? ha->pair.active : d ? (int)(d - h->dpus) : 0;
        char err[256];
        if (h->n_dpus == 2 &&
            platform_vnic_move(&h->platform, json_string_value(json_object_get(vm, "name")),
                               (unsigned)to, err, sizeof err) < 0)
            log_warn("vm=%s: %s", json_string_value(json_object_get(vm, "name")), err);
    }
    pthread_mutex_unlock(&ha->mu);
    rtloop_wake(&ha->loop);
}

const char *
hostd_vm_owner(struct hostd *h, json_t *vm)
{
    struct hostd_ha *ha = h->ha;
    const char *own = json_string_value(json_object_get(vm, "dpu"));
    if (ha) {
        pthread_mutex_lock(&ha->mu);
        if (ha->pair.active_standby)
            own = h->dpus[ha->pair.active].name;
        pthread_mutex_unlock(&ha->mu);
    }
    return own;
}

void
hostd_ha_prefer_active(struct hostd *h)
{
    struct hostd_ha *ha = h->ha;
    if (!ha)
        return;
    pthread_mutex_lock(&ha->mu);
    if (ha->pair.preferred != ha->pair.active) {
        ha->pair.preferred = ha->pair.active;
        save_state(ha);
    }
    pthread_mutex_unlock(&ha->mu);
}

int
hostd_ha_failover(struct hostd *h, const char *to, char *err, size_t err_len)
{
    struct hostd_ha *ha = h->ha;
    struct hostd_dpu *d = hostd_dpu_find(h, to);
    if (!d)
        return err_set(err, err_len, -ENOENT, "no DPU %s", to);
    if (!ha || !ha->pair.active_standby)
        return err_set(err, err_len, -ENOTSUP,
                       "failover: the DPUs are not an active-standby pair "
                       "(dsectl host dpu-mode active-standby)");
    pthread_mutex_lock(&ha->mu);
    ha->req_to = (int)(d - h->dpus);
    ha->req_done = false;
    pthread_mutex_unlock(&ha->mu);
    rtloop_wake(&ha->loop);
    pthread_mutex_lock(&ha->mu);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 5;
    while (!ha->req_done)
        if (pthread_cond_timedwait(&ha->cv, &ha->mu, &ts) == ETIMEDOUT)
            break;
    int rc = ha->req_done ? ha->req_rc : -ETIMEDOUT;
    if (rc < 0)
        err_set(err, err_len, rc, "%s",
                ha->req_done ? ha->req_err : "the HA thread did not answer");
    pthread_mutex_unlock(&ha->mu);
    return rc;
}

json_t *
hostd_ha_json(struct hostd *h, unsigned i)
{
    struct hostd_ha *ha = h->ha;
    if (!ha)
        return json_null();
    pthread_mutex_lock(&ha->mu);
    const struct ha_peer *p = &ha->peer[i];
    char why[200] = "";
    bool ok = healthy(ha, (int)i, now_ms(), why, sizeof why);
    json_t *j =
        json_pack("{s:s,s:b,s:s,s:b,s:i,s:i,s:I}", "role", ha_role_name(role_of(ha, (int)i)),
                  "healthy", ok, "reported_role", p->role[0] ? p->role : "-", "fenced", p->fenced,
                  "uplinks", (int)ha->health[i].uplinks, "uplinks_total",
                  (int)ha->health[i].uplinks_total, "epoch", (json_int_t)ha->epoch);
    if (!ok)
        json_object_set_new(j, "why", json_string(why));
    pthread_mutex_unlock(&ha->mu);
    return j;
}

json_t *
hostd_ha_status(struct hostd *h)
{
    struct hostd_ha *ha = h->ha;
    if (!ha)
        return json_null();
    pthread_mutex_lock(&ha->mu);
    json_t *j = json_pack(
        "{s:s,s:s?,s:s?,s:i,s:I,s:i,s:i,s:i,s:i,s:s?,s:s?}", "mode",
        ha->pair.active_standby ? "active-standby" : "independent", "active",
        ha->pair.active_standby ? h->dpus[ha->pair.active].name : NULL, "preferred",
        ha->pair.active_standby ? h->dpus[ha->pair.preferred].name : NULL, "auto_failback_s",
        (int)(ha->pair.auto_failback_ms / 1000), "epoch", (json_int_t)ha->epoch, "heartbeat_ms",
        (int)ha->cfg.interval_ms, "failure_after_ms", (int)(ha->cfg.miss * ha->cfg.interval_ms),
        "fence_ms", (int)ha->fence_ms, "failovers", (int)ha->failovers, "last_failover",
        ha->last_failover[0] ? ha->last_failover : NULL, "no_failover",
        ha->no_failover[0] ? ha->no_failover : NULL);
    if (ha->last_failover_unix_us) /* when it was decided: what a benchmark compares */
        json_object_set_new(j, "last_failover_unix_us",
                            json_integer((json_int_t)ha->last_failover_unix_us));
    pthread_mutex_unlock(&ha->mu);
    return j;
}

void
hostd_ha_metrics(const struct hostd *h, struct metric_set *s)
{
    struct hostd_ha *ha = h->ha;
    if (!ha)
        return;
    pthread_mutex_lock(&ha->mu);
    uint64_t now = now_ms();
    for (unsigned i = 0; i < h->n_dpus; i++) {
        char why[200];
        metric_set_add(s, "dse_dpu_ha_role", 1, "dpu", h->dpus[i].name, "role",
                       ha_role_name(role_of(ha, (int)i)), NULL);
        metric_set_add(s, "dse_dpu_ha_healthy", healthy(ha, (int)i, now, why, sizeof why), "dpu",
                       h->dpus[i].name, NULL);
    }
    metric_set_add(s, "dse_host_dpu_failovers_total", ha->failovers, NULL);
    pthread_mutex_unlock(&ha->mu);
}

/* ---- start, stop ---- */

int
hostd_ha_start(struct hostd *h, char *err, size_t err_len)
{
    if (h->n_dpus == 0)
        return 0;
    struct hostd_ha *ha = calloc(1, sizeof *ha);
    if (!ha)
        return err_set(err, err_len, -ENOMEM, "out of memory");
    h->ha = ha;
    ha->h = h;
    ha->req_to = -1;
    ha->cfg.miss = HOSTD_HA_MISS;
    ha->cfg.interval_ms = HOSTD_HA_HEARTBEAT_MS;
    ha->fence_ms = HOSTD_HA_FENCE_MS;
    pthread_mutex_init(&ha->mu, NULL);
    pthread_cond_init(&ha->cv, NULL);
    load_state(ha);
    int rc = rtloop_init(&ha->loop, on_wake, ha, err, err_len);
    if (rc < 0)
        return rc;
    ha->tick_ev = event_new(ha->loop.base, -1, EV_PERSIST, on_tick, ha);
    if (!ha->tick_ev)
        return err_set(err, err_len, -ENOMEM, "HA: cannot make its events");
    hostd_ha_reconfigure(h); /* and the first tick, through the wake */
    return rtloop_start(&ha->loop, "ha", RT_PRIORITY, "the host's work", err, err_len);
}

void
hostd_ha_stop(struct hostd *h)
{
    struct hostd_ha *ha = h->ha;
    if (!ha)
        return;
    rtloop_stop(&ha->loop);
    for (unsigned i = 0; i < HOSTD_MAX_DPUS; i++)
        if (ha->peer[i].bev)
            bufferevent_free(ha->peer[i].bev);
    if (ha->tick_ev)
        event_free(ha->tick_ev);
    rtloop_fini(&ha->loop);
    pthread_mutex_destroy(&ha->mu);
    pthread_cond_destroy(&ha->cv);
    free(ha);
    h->ha = NULL;
}

/* ---- what the firewall's sync reads (dfwsync.c) ---- */

void
hostd_ha_view(struct hostd *h, struct hostd_ha_view *out)
{
    struct hostd_ha *ha = h->ha;
    *out = (struct hostd_ha_view){.active = -1, .standby = -1};
    if (!ha)
        return;
    char why[200];
    uint64_t now = now_ms();
    pthread_mutex_lock(&ha->mu);
    out->pair = ha->pair.active_standby;
    out->epoch = ha->epoch;
    out->sync_ms = ha->dfw_sync_ms;
    if (out->pair) {
        out->active = ha->pair.active;
        out->standby = 1 - ha->pair.active;
        out->active_ok = healthy(ha, out->active, now, why, sizeof why);
        out->standby_ok = healthy(ha, out->standby, now, why, sizeof why);
    }
    pthread_mutex_unlock(&ha->mu);
}
