/* SPDX-License-Identifier: Apache-2.0 */
/* monitor-private.h: what monitor.c and monitor-cmd.c share (hostd.h says
 * what the monitor does). */
#ifndef DSE_HOSTD_MONITOR_PRIVATE_H
#define DSE_HOSTD_MONITOR_PRIVATE_H

#include <event2/http.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "monitor/alarm.h"
#include "monitor/device.h"
#include "monitor/eventlog.h"
#include "monitor/history.h"
#include "daemons/hostd/hostd.h"
#include "monitor/metrics.h"
#include "monitor/notify.h"

#define POLL_MS 200
#define POLL_TIMEOUT_MS 1000
#define HISTORY_S 3600
#define MAX_SERIES 256
#define EVENTS_MAX_BYTES (1 << 20)
#define EVENTS_KEEP 5

struct mon_dpu {
    struct httpc_session *s;
    uint64_t seq;            /* the last sample taken from it */
    bool up, contacted;      /* answers now; has answered since we started */
    bool boots_checked;      /* its boot outcome since it last became reachable */
    char why[256];           /* why it does not answer */
    uint64_t last_sample_ms; /* monotonic */
    char active_uplink[METRIC_LABEL_VALUE_MAX];
    struct metric_set cur; /* the last sample (with dse_dpu_up), or just dse_dpu_up 0 */
};

struct hostd_monitor {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    bool running, stop;
    struct hostd *h;
    unsigned interval_s;
    struct alarm_engine *alarms;
    struct eventlog *events;
    struct notifier *notify;
    uint64_t events_total;
    bool dev_ok;
    struct mon_device dev;
    struct metric_set host_cur;
    struct history *host_hist;
    uint64_t host_last_ms, host_seq;
    struct mon_dpu dpu[HOSTD_MAX_DPUS];
    struct evhttp *metrics_http;
};

/* The Prometheus exposition of everything hostd knows; call under 'mu'.
 * Caller frees; NULL on ENOMEM. */
char *hostd_monitor_exposition(struct hostd_monitor *, size_t *len);

#endif
