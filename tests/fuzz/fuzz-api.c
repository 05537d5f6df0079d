/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz-api: arbitrary requests to the manager's REST API (manager/api.h), as
 * its admin, with a cluster CA (join tokens and joins too).  The input is
 * METHOD NUL PATH NUL QUERY NUL BODY (fuzz-util.h).  Every reply has a
 * status from 200 to 599 and a JSON object; a refusal (4xx) says why in
 * {"code", "message"}, one line, and writes nothing (the store's revision
 * is unchanged).  The store lives in a scratch directory (in /dev/shm when
 * there is one), removed at exit.  Host h1 exists and has reported an
 * alarm, so that an ack's path is reached; operations on hosts queue (and
 * the queue fills: 429).
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "lib/util.h"
#include "manager/api.h"
#include "tests/fuzz/fuzz-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct auth_cost cheap = {.t_cost = 1, .m_cost_kib = 64, .lanes = 1};
static struct store *st;
static struct api *api;
static struct ca *ca;
static struct alarms *alarms;
static struct hostops *hostops;
static char dir[64], token[AUTH_TOKEN_LEN];

static void
remove_all(void)
{
    api_destroy(api);
    alarms_destroy(alarms);
    hostops_destroy(hostops);
    store_close(st);
    ca_close(ca);
    fs_remove_at(AT_FDCWD, dir);
}

/* dc1 > c1 > h1, with an alarm and an event reported. */
static void
seed_host(void)
{
    static const char *const objs[][2] = {
        {"/api/v1/datacenters", "{\"name\":\"dc1\",\"spec\":{}}"},
        {"/api/v1/clusters", "{\"name\":\"c1\",\"spec\":{\"datacenter\":\"dc1\"}}"},
        {"/api/v1/hosts", "{\"name\":\"h1\",\"spec\":{\"cluster\":\"c1\"}}"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(objs); i++) {
        struct api_request req = {.method = "POST",
                                  .path = objs[i][0],
                                  .body = objs[i][1],
                                  .body_len = strlen(objs[i][1]),
                                  .bearer = token,
                                  .peer = "fuzz:1"};
        struct api_reply rep;
        api_handle(api, &req, &rep);
        if (rep.status != 201)
            abort();
        json_decref(rep.body);
    }
    json_t *l = json_pack("[{s:s,s:s,s:s}]", "id", "dpu-temperature@dpu1/temp1", "object",
                          "dpu1/temp1", "state", "red");
    json_t *e = json_pack("[{s:i,s:s,s:s,s:i}]", "seq", 1, "type", "alarm.red", "object",
                          "dpu1/temp1", "time_ms", 1000);
    alarms_set_host(alarms, "h1", l, 1000);
    alarms_add_events(alarms, "h1", e, 1);
    json_decref(l);
    json_decref(e);
}

static void
setup_once(void)
{
    char err[ERR_LEN] = "", path[128], pw[64] = "";
    if (api)
        return;
    snprintf(dir, sizeof dir, "%s/dse-fuzz-api-XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    if (!mkdtemp(dir))
        abort();
    /* A CA, so that joins and tokens are fuzzed too. */
    snprintf(path, sizeof path, "%s/ca", dir);
    if (ca_create(path, "fuzz-ca", 30, err, sizeof err) < 0 ||
        ca_open(path, &ca, err, sizeof err) < 0)
        abort();
    snprintf(path, sizeof path, "%s/store.db", dir);
    struct api_params p = {.cost = &cheap,
                           .ca = ca,
                           .alarms = alarms = alarms_create(),
                           .hostops = hostops = hostops_create()};
    if (!alarms || !hostops || store_open(path, &st, err, sizeof err) < 0 ||
        (p.store = st, api_create(&p, &api)) < 0)
        abort();
    atexit(remove_all);
    snprintf(path, sizeof path, "%s/pw", dir);
    FILE *f = NULL;
    if (api_bootstrap_admin(api, path, err, sizeof err) != 1 || !(f = fopen(path, "r")) ||
        !fgets(pw, sizeof pw, f))
        abort();
    fclose(f);
    pw[strcspn(pw, "\n")] = '\0';
    json_t *body = json_pack("{s:s,s:s}", "user", "admin", "password", pw);
    char *text = json_dumps(body, 0);
    struct api_request req = {.method = "POST",
                              .path = "/api/v1/login",
                              .body = text,
                              .body_len = strlen(text),
                              .peer = "fuzz:1"};
    struct api_reply rep;
    api_handle(api, &req, &rep);
    if (rep.status != 200)
        abort();
    snprintf(token, sizeof token, "%s", json_string_value(json_object_get(rep.body, "token")));
    json_decref(rep.body);
    json_decref(body);
    free(text);
    seed_host();
}

static int64_t
revision(void)
{
    char err[ERR_LEN];
    int64_t rev;
    if (store_revision(st, &rev, err, sizeof err) < 0)
        abort();
    return rev;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup_once();
    struct fuzz_pieces in;
    fuzz_split(data, size, 4, &in);
    struct api_request req = {
        .method = in.p[0] ? in.p[0] : "GET",
        .path = in.p[1] ? in.p[1] : "/api/v1/hosts",
        .query = in.p[2],
        .body = in.p[3],
        .body_len = in.p[3] ? in.len[3] : 0,
        .bearer = token,
        .peer = "fuzz:2",
    };
    int64_t before = revision();
    struct api_reply rep;
    api_handle(api, &req, &rep);
    if (rep.text) { /* GET /metrics: text */
        if (rep.status != 200 || rep.body)
            abort();
        free(rep.text);
        fuzz_pieces_free(&in);
        return 0;
    }
    if (rep.status < 200 || rep.status > 599 || !json_is_object(rep.body))
        abort();
    if (rep.status >= 400) {
        const char *msg = json_string_value(json_object_get(rep.body, "message"));
        if (!json_string_value(json_object_get(rep.body, "code")) || !msg || !msg[0] ||
            strchr(msg, '\n'))
            abort();
        if (rep.status < 500 && revision() != before)
            abort(); /* a refusal wrote something */
    }
    json_decref(rep.body);
    fuzz_pieces_free(&in);
    return 0;
}
