/* notify.h: runnerd's side of the service manager's protocol (sd_notify):
 * READY=1 once no language is still making its first template (every
 * pool serving or failed), STATUS= with the pools' counts and the
 * accelerator every second, WATCHDOG=1 from the event loop at a third of
 * WatchdogSec= (a loop that stops turning stops pinging), and
 * RELOADING=1 / READY=1 around a reload. Without NOTIFY_SOCKET every
 * call is a no-op. */
#pragma once

#include <event2/event.h>
#include <jansson.h>

#include "cleanup.h"

struct notifier;

/* health returns GET /health's body (a new reference). */
int notifier_new(struct event_base *base, const char *accel, json_t *(*health)(void *ctx), void *ctx,
		 struct notifier **ret);
void notifier_reloading(struct notifier *n);
void notifier_reloaded(struct notifier *n);
void notifier_free(struct notifier *n);
DEFINE_CLEANUP(struct notifier *, notifier_free)
