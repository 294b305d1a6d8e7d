/* notify.c: readiness, status and watchdog for the service manager (see
 * notify.h). */
#include "notify.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "event-util.h"
#include "log.h"
#include "time-util.h"

struct notifier {
	struct event *tick;
	char accel[16];
	json_t *(*health)(void *ctx);
	void *ctx;
	bool ready;
	char last_status[512];
};

/* "accel tcg; 3 languages serving, 0 starting, 0 failed; VMs 2 ready,
 * 0 restoring, 1 busy; 1 run in flight" */
static void status_line(struct notifier *n, json_t *h, char *buf, size_t size, bool *ret_starting)
{
	unsigned serving = 0, starting = 0, failed = 0, ready = 0, restoring = 0, busy = 0;
	const char *name;
	json_t *p;

	json_object_foreach(json_object_get(h, "pools"), name, p)
	{
		const char *st = json_string_value(json_object_get(p, "status"));
		if (st && strcmp(st, "serving") == 0)
			serving++;
		else if (st && strcmp(st, "failed") == 0)
			failed++;
		else
			starting++;
		ready += (unsigned)json_integer_value(json_object_get(p, "ready"));
		restoring += (unsigned)json_integer_value(json_object_get(p, "restoring"));
		busy += (unsigned)json_integer_value(json_object_get(p, "busy"));
	}
	snprintf(
	    buf, size,
	    "accel %s; %u languages serving, %u starting, %u failed; VMs %u ready, %u restoring, %u busy; "
	    "%d runs in flight",
	    n->accel, serving, starting, failed, ready, restoring, busy,
	    (int)json_integer_value(json_object_get(h, "in_flight")));
	*ret_starting = starting > 0;
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct notifier *n = arg;
	json_t *h = n->health(n->ctx);
	char status[512];
	bool starting = true;

	if (!h)
		return;
	status_line(n, h, status, sizeof(status), &starting);
	json_decref(h);
	if (!n->ready && !starting) {
		n->ready = true;
		sd_notifyf(0, "READY=1\nSTATUS=%s", status);
		log_info("ready: %s", status);
	} else if (strcmp(status, n->last_status) != 0)
		sd_notifyf(0, "STATUS=%s", status);
	snprintf(n->last_status, sizeof(n->last_status), "%s", status);
	sd_notify(0, "WATCHDOG=1");
}

int notifier_new(struct event_base *base, const char *accel, json_t *(*health)(void *ctx), void *ctx,
		 struct notifier **ret)
{
	struct notifier *n = calloc(1, sizeof(*n));
	uint64_t watchdog_us = 0;

	if (!n)
		return -ENOMEM;
	snprintf(n->accel, sizeof(n->accel), "%s", accel);
	n->health = health;
	n->ctx = ctx;
	n->tick = event_new(base, -1, EV_PERSIST, tick_cb, n);
	if (!n->tick) {
		free(n);
		return -ENOMEM;
	}
	/* Every second, or a third of the watchdog's period if shorter. */
	uint64_t period_ms = 1000;
	if (sd_watchdog_enabled(0, &watchdog_us) > 0 && watchdog_us / 3000 < period_ms)
		period_ms = watchdog_us / 3000 ? watchdog_us / 3000 : 1;
	struct timeval tv = timeval_from_ms(period_ms);
	event_add(n->tick, &tv);
	sd_notifyf(0, "STATUS=starting: making the languages' snapshot templates (accel %s)", accel);
	tick_cb(-1, 0, n);
	*ret = n;
	return 0;
}

void notifier_reloading(struct notifier *n)
{
	sd_notify(0, "RELOADING=1\nSTATUS=reloading the configuration");
}

void notifier_reloaded(struct notifier *n)
{
	n->last_status[0] = 0;
	sd_notify(0, "READY=1");
	tick_cb(-1, 0, n);
}

void notifier_free(struct notifier *n)
{
	if (!n)
		return;
	safe_event_free(n->tick);
	free(n);
}
