/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz-sample: arbitrary bytes as a DPU's sample (monitor.sample), as hostd
 * receives it.  What is accepted must round-trip through JSON to the same
 * metrics, write as Prometheus text and go into a history; what is refused
 * must say why.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/history.h"
#include "monitor/metrics.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *j = json_loadb((const char *)data, size, 0, NULL);
    if (!j)
        return 0;
    struct metric_set s, t;
    metric_set_init(&s);
    metric_set_init(&t);
    char err[256] = "";
    if (!metric_set_from_json(j, &s, err, sizeof err)) {
        if (!err[0] || strchr(err, '\n'))
            abort();
    } else {
        json_t *again = metric_set_json(&s);
        if (!again || !metric_set_from_json(again, &t, err, sizeof err) || t.n != s.n)
            abort();
        for (size_t i = 0; i < s.n; i++)
            if (strcmp(s.m[i].name, t.m[i].name) || s.m[i].n_labels != t.m[i].n_labels)
                abort();
        json_decref(again);
        const struct metric_set *sets[] = {&s};
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        if (!f || metric_prom_write(f, sets, NULL, 1) < 0)
            abort();
        fclose(f);
        free(text);
        struct history *h = history_create(4, 16);
        history_add(h, &s);
        json_decref(history_json(h, "", 0, 2));
        history_destroy(h);
    }
    metric_set_fini(&s);
    metric_set_fini(&t);
    json_decref(j);
    return 0;
}
