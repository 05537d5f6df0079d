/* SPDX-License-Identifier: Apache-2.0 */
/*
 * alarm-private: what alarm.c (the engine) and alarm-def.c (definitions:
 * parsing, checking, built-ins, JSON) share.  A definition is parsed once into
 * a struct alarm_def, so that the engine never looks at JSON on the sample
 * path.
 *
 * Thread-safety: reentrant; the structures follow the engine's rule.
 */
#ifndef DSE_ALARM_PRIVATE_H
#define DSE_ALARM_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "monitor/alarm.h"

#define ALARM_DESC_MAX 200
#define ALARM_KEY_MAX 64 /* metric names and event types */
#define ALARM_FOR_S_MAX 86400

struct alarm_def {
    char name[ALARM_NAME_MAX + 1];
    char description[ALARM_DESC_MAX + 1]; /* "" when none */
    char key[ALARM_KEY_MAX + 1];          /* the metric, or the raising event */
    char clear_event[ALARM_KEY_MAX + 1];  /* event definitions; "" when none */
    bool is_event, is_below, is_builtin;
    bool has_warning, has_critical; /* metric definitions: at least one */
    double warning, critical, hysteresis;
    uint32_t for_s;
    enum alarm_state level; /* event definitions: yellow or red */
};

/* Parses and checks definition 'j' into 'def' (is_builtin false).  Returns
 * true, or false with a one-line reason in 'err' ('err_len' bytes, may be 0). */
bool alarm_def_parse(const json_t *j, struct alarm_def *def, char *err, size_t err_len);

/* The canonical JSON of 'def', defaults filled in, with "builtin".  A new
 * object, or NULL on ENOMEM. */
json_t *alarm_def_to_json(const struct alarm_def *def);

/* The name under which 'def' speaks in messages: its description, or its
 * metric or event when it has none.  Can't fail. */
const char *alarm_def_label(const struct alarm_def *def);

/* Copies 's' into 'buf' ('len' >= 4 bytes) as one line of valid UTF-8:
 * control characters become ' ', invalid UTF-8 becomes '?', and what does
 * not fit is cut at a character boundary and ends in "...".  Returns 'buf'.
 * This function can't fail. */
const char *alarm_copy_line(char *buf, size_t len, const char *s);

/* FNV-1a of 's'.  Can't fail. */
uint32_t alarm_hash_str(const char *s);

#endif
