/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the unit tests of the manager's API share: a call as the HTTPS server
 * would make it (its reply in 'last' until the next), and a scratch store
 * with the API over it, its first admin logged in.  Header-only, static:
 * each test program includes it once.
 */
#ifndef DSE_TESTS_API_FX_H
#define DSE_TESTS_API_FX_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "manager/api.h"

/* Argon2 at its cheapest: tests log in often. */
static const struct auth_cost cheap = {.t_cost = 1, .m_cost_kib = 64, .lanes = 1};

static struct api_reply last;

/* One call from 198.19.0.50; its reply stays in 'last'.  Returns the status. */
static int
api_fx_call(struct api *api, const char *method, const char *path, const char *query,
            const char *body, const char *token)
{
    json_decref(last.body);
    free(last.text);
    struct api_request req = {.method = method,
                              .path = path,
                              .query = query,
                              .body = body,
                              .body_len = body ? strlen(body) : 0,
                              .bearer = token,
                              .peer = "198.19.0.50:40000"};
    api_handle(api, &req, &last);
    return last.status;
}

/* A string field of the last reply, or NULL. */
static const char *
str(const char *field)
{
    return json_string_value(json_object_get(last.body, field));
}

/* The store DIR/store.db and the API over it with 'p' (its store set here),
 * the first admin made (password in 'pwfile') and logged in: the token into
 * 'admin'.  Returns false, saying why on stderr. */
static bool
api_fx_start(const char *dir, const char *pwfile, struct api_params *p, struct store **st,
             struct api **api, char admin[AUTH_TOKEN_LEN])
{
    char path[128], err[ERR_LEN] = "", pw[64] = "", body[256];
    snprintf(path, sizeof path, "%s/store.db", dir);
    if (store_open(path, st, err, sizeof err) < 0 || (p->store = *st, 0) ||
        api_create(p, api) < 0 || api_bootstrap_admin(*api, pwfile, err, sizeof err) != 1)
        return fprintf(stderr, "%s\n", err), false;
    FILE *fp = fopen(pwfile, "r");
    bool ok = fp && fgets(pw, sizeof pw, fp);
    if (fp)
        fclose(fp);
    pw[strcspn(pw, "\n")] = '\0';
    snprintf(body, sizeof body, "{\"user\":\"admin\",\"password\":\"%s\"}", pw);
    if (!ok || api_fx_call(*api, "POST", "/api/v1/login", NULL, body, NULL) != 200)
        return false;
    snprintf(admin, AUTH_TOKEN_LEN, "%s", str("token"));
    return true;
}

/* Forgets the last reply. */
static void
api_fx_forget(void)
{
    json_decref(last.body);
    free(last.text);
    last = (struct api_reply){0};
}

#endif
