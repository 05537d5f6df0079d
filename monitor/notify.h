/* SPDX-License-Identifier: Apache-2.0 */
/*
 * notify: delivers notifications (alarm changes) to webhooks and commands,
 * on a thread of its own, so that a slow or dead receiver never holds up
 * collection or alarms.
 *
 *   webhook  "http://HOST[:PORT][/PATH]": an HTTP/1.1 POST of the
 *            notification (application/json); any 2xx is delivered.  HOST is
 *            an address or a name (getaddrinfo).  Plain HTTP: send it to a
 *            local relay for anything further.
 *   command  the absolute path of a program and its arguments (a list of
 *            strings, apart), run directly with execve: no shell ever parses
 *            a target.  The notification goes as JSON on its standard
 *            input and its fields in the environment (DSE_ALARM_ID,
 *            DSE_ALARM_STATE, DSE_ALARM_FROM, DSE_ALARM_OBJECT,
 *            DSE_ALARM_MESSAGE, DSE_EVENT_TYPE); exit 0 is delivered.  It
 *            gets 10 s, then SIGKILL.
 *
 * A delivery that fails is tried again after 1, 2, 4 and 8 s (5 tries in
 * all, each at most 5 s), then given up and reported through the 'failed'
 * callback (on the notifier's thread).  The queue holds NOTIFY_QUEUE_MAX
 * deliveries; beyond that the oldest is dropped and counted.
 *
 * Thread-safety: notify_send(), notify_set_targets() and notify_stats() may
 * be called from any thread.
 */
#ifndef DSE_MONITOR_NOTIFY_H
#define DSE_MONITOR_NOTIFY_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define NOTIFY_QUEUE_MAX 1024
#define NOTIFY_TRIES 5

struct notifier;

/* Called when a delivery was given up: 'target' and a one-line 'why'. */
typedef void (*notify_failed_fn)(void *aux, const char *target, const char *why);

/* Starts the notifier's thread.  NULL on failure (ENOMEM, no thread). */
struct notifier *notify_create(notify_failed_fn failed, void *aux);
/* Stops the thread; deliveries still queued are dropped.  Accepts NULL. */
void notify_destroy(struct notifier *);

/* Checks a target: "webhook" with an http:// URL and no 'args', or "command"
 * with the absolute path of a program and 'args' NULL or a list of at most 16
 * strings (each under 256 bytes).  Whether the program exists is not checked
 * (the caller may).  Returns true, or false with a one-line reason. */
bool notify_target_check(const char *kind, const char *target, const json_t *args, char *err,
                         size_t err_len);

/* Replaces the targets: 'targets' is [{"kind": "webhook"|"command",
 * "target": "...", ["args": [...]]}] (borrowed).  A target that
 * notify_target_check() refuses is skipped (and stays wherever the caller
 * keeps it): a command line of a version before argument vectors is never
 * run.  Deliveries already queued keep their target.  Returns how many were
 * skipped, or -EINVAL ('targets' not a list of at most 16) / -ENOMEM. */
int notify_set_targets(struct notifier *, const json_t *targets);

/* Queues 'n' (borrowed; copied) for every target.  This function can't fail
 * but for ENOMEM (the notification is then counted as dropped). */
void notify_send(struct notifier *, const json_t *n);

/* {"sent", "retries", "failed", "dropped", "queued"}: a new object. */
json_t *notify_stats(struct notifier *);

#endif
