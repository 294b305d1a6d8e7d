/* event-util.h: for code on the libevent loop (whoever includes it links
 * libevent; common/ itself does not): freeing an event that may never have
 * been made, as destructors of half-built objects must. */
#pragma once

#include <event2/event.h>

/* event_free() that accepts NULL (libevent's does not); returns NULL, for
 * `x->ev = safe_event_free(x->ev)`. */
static inline struct event *safe_event_free(struct event *ev)
{
	if (ev)
		event_free(ev);
	return NULL;
}
