/* test-loop.h: the event loop and socketpair of the unit tests that play
 * the peer of a stream client on a real libevent loop (test-channel.c: a
 * hostile guest, test-qmp.c: a scripted QEMU). Header-only, like check.h,
 * so that its CHECKs count with the test's own. */
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "check.h"

/* A new event base and a socketpair, both ends non-blocking. Returns the
 * end for the code under test; *peer is the test's. */
static inline int loop_open(struct event_base **base, int *peer)
{
	int sp[2] = {-1, -1};

	*base = event_base_new();
	CHECK(*base != NULL);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == 0);
	CHECK(fcntl(sp[0], F_SETFL, O_NONBLOCK) == 0);
	CHECK(fcntl(sp[1], F_SETFL, O_NONBLOCK) == 0);
	*peer = sp[1];
	return sp[0];
}

/* Closes the test's end unless the test has (-1), and frees the base. */
static inline void loop_close(struct event_base *base, int peer)
{
	if (peer >= 0)
		close(peer);
	event_base_free(base);
}

/* Runs the loop until nothing is pending (a few idle rounds). */
static inline void loop_pump(struct event_base *base)
{
	for (int i = 0; i < 50; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
}

/* Writes all of it to the test's end, running the loop whenever the socket
 * is full so that the code under test drains it. Stops early, returning
 * what went, when the client can take no more: stopped(arg) says it closed
 * or was freed (it reads no further), its end is gone, or 100 full rounds
 * passed without progress. */
static inline size_t loop_write(struct event_base *base, int peer, const void *data, size_t len,
				bool (*stopped)(void *arg), void *arg)
{
	const char *p = data;
	size_t done = 0;
	int stuck = 0;

	while (done < len) {
		ssize_t n = send(peer, p + done, len - done, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if (stopped(arg) || ++stuck > 100)
				break;
			loop_pump(base);
			continue;
		}
		if (n <= 0)
			break;
		stuck = 0;
		done += (size_t)n;
	}
	return done;
}
