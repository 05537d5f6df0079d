/* SPDX-License-Identifier: Apache-2.0 */
/* hamsg: the heartbeat lines of high availability (hamsg.h). */
#include "ha/hamsg.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

static const char *const role_names[] = {"none", "standby", "active"};

const char *
ha_role_name(enum ha_role r)
{
    return (unsigned)r < 3 ? role_names[r] : "?";
}

static int
fail(char *err, size_t len, const char *what)
{
    snprintf(err, len, "%s", what);
    return -EINVAL;
}

/* An optional non-negative integer field no larger than 'max': 1 set, 0 absent, -1 bad. */
static int
get_uint(json_t *o, const char *key, uint64_t max, uint64_t *v)
{
    json_t *x = json_object_get(o, key);
    if (!x)
        return 0;
    if (!json_is_integer(x) || json_integer_value(x) < 0 || (uint64_t)json_integer_value(x) > max)
        return -1;
    *v = (uint64_t)json_integer_value(x);
    return 1;
}

static int
parse(json_t *o, struct ha_msg *m, char *err, size_t err_len)
{
    if (!json_is_object(o))
        return fail(err, err_len, "not a JSON object");
    const char *t = json_string_value(json_object_get(o, "t"));
    if (!t)
        return fail(err, err_len, "no type (\"t\")");
    if (!strcmp(t, "hb"))
        m->type = HA_MSG_HB;
    else if (!strcmp(t, "uplinks"))
        m->type = HA_MSG_UPLINKS;
    else
        return fail(err, err_len, "an unknown type");
    uint64_t v;
    int rc;
    if ((rc = get_uint(o, "seq", INT64_MAX, &v)) < 0)
        return fail(err, err_len, "a bad seq");
    m->seq = rc ? v : 0;
    if ((rc = get_uint(o, "uplinks", HA_UPLINKS_MAX, &v)) < 0)
        return fail(err, err_len, "a bad uplinks");
    m->uplinks = rc ? (int)v : -1;
    if ((rc = get_uint(o, "uplinks_total", HA_UPLINKS_MAX, &v)) < 0)
        return fail(err, err_len, "a bad uplinks_total");
    m->uplinks_total = rc ? (int)v : -1;
    if (m->type == HA_MSG_UPLINKS)
        return m->uplinks >= 0 && m->uplinks_total >= 0
                   ? 0
                   : fail(err, err_len, "an uplink report without its counts");
    if ((rc = get_uint(o, "epoch", INT64_MAX, &v)) <= 0)
        return fail(err, err_len, "a heartbeat without a good epoch");
    m->epoch = v;
    const char *role = json_string_value(json_object_get(o, "role"));
    unsigned r = 0;
    while (role && r < 3 && strcmp(role, role_names[r]))
        r++;
    if (!role || r == 3)
        return fail(err, err_len, "a heartbeat without a good role");
    m->role = (enum ha_role)r;
    if ((rc = get_uint(o, "fence_ms", HA_FENCE_MS_MAX, &v)) < 0)
        return fail(err, err_len, "a bad fence_ms");
    m->fence_ms = rc ? (unsigned)v : 0;
    json_t *f = json_object_get(o, "fenced");
    if (f && !json_is_boolean(f))
        return fail(err, err_len, "a bad fenced");
    m->fenced = json_is_true(f);
    return 0;
}

int
ha_msg_parse(const char *line, size_t len, struct ha_msg *m, char *err, size_t err_len)
{
    memset(m, 0, sizeof *m);
    m->uplinks = m->uplinks_total = -1;
    if (len > HA_MSG_MAX)
        return fail(err, err_len, "a line too long");
    json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
    if (!o)
        return fail(err, err_len, "not JSON");
    int rc = parse(o, m, err, err_len);
    json_decref(o);
    return rc;
}

int
ha_msg_format(const struct ha_msg *m, bool from_dpu, char *buf, size_t len)
{
    int n;
    if (m->type == HA_MSG_UPLINKS)
        n = snprintf(buf, len, "{\"t\":\"uplinks\",\"uplinks\":%d,\"uplinks_total\":%d}\n",
                     m->uplinks, m->uplinks_total);
    else if (from_dpu && m->uplinks >= 0 && m->uplinks_total >= 0)
        n = snprintf(buf, len,
                     "{\"t\":\"hb\",\"seq\":%llu,\"epoch\":%llu,\"role\":\"%s\",\"fenced\":%s,"
                     "\"uplinks\":%d,\"uplinks_total\":%d}\n",
                     (unsigned long long)m->seq, (unsigned long long)m->epoch,
                     ha_role_name(m->role), m->fenced ? "true" : "false", m->uplinks,
                     m->uplinks_total);
    else if (from_dpu)
        n = snprintf(buf, len,
                     "{\"t\":\"hb\",\"seq\":%llu,\"epoch\":%llu,\"role\":\"%s\",\"fenced\":%s}\n",
                     (unsigned long long)m->seq, (unsigned long long)m->epoch,
                     ha_role_name(m->role), m->fenced ? "true" : "false");
    else
        n = snprintf(buf, len,
                     "{\"t\":\"hb\",\"seq\":%llu,\"epoch\":%llu,\"role\":\"%s\",\"fence_ms\":%u}\n",
                     (unsigned long long)m->seq, (unsigned long long)m->epoch,
                     ha_role_name(m->role), m->fence_ms);
    return n < 0 || (size_t)n >= len ? -1 : n;
}
