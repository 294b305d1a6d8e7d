/* stream.h: the transport under the QMP client (qmp.c) and the agent
 * channel (channel.c): a stream socket on a bufferevent, read by a
 * protocol whose owner may free it from inside any of its callbacks.
 * While such callbacks may run the stream is dispatching; a free then only
 * marks it dead and stops its I/O, and the dispatch that ends last
 * destroys it, so no protocol code ever touches freed memory. EOF and
 * socket errors reach the protocol in its own words. */
#pragma once

#include <event2/buffer.h>
#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>

struct stream;

struct stream_ops {
	/* Bytes arrived in `in`: consume what is complete, and stop once
	 * stream_usable() is false. */
	void (*read)(struct stream *s, struct evbuffer *in);
	/* EOF or a socket error; why is eof_why or error_why. */
	void (*fail)(struct stream *s, const char *why);
	/* Frees what the protocol holds besides the stream (may be NULL); the
	 * object itself is freed after it. */
	void (*destroy)(struct stream *s);
	const char *eof_why;
	const char *error_why;
};

/* The first member of the protocol's object (qmp, channel), which
 * stream_new() allocates: a struct stream * is a pointer to that object. */
struct stream {
	struct bufferevent *bev; /* owned, owns the fd */
	const struct stream_ops *ops;
	int dispatching; /* > 0 while protocol callbacks may run */
	bool dead;	 /* freed by its owner; destroyed when dispatching ends */
	bool closed;	 /* reads nothing more: EOF, an error, a protocol violation */
};

/* Allocates a zeroed object of `size` bytes beginning with a struct stream
 * and opens the stream on fd, reading and writing. Takes fd: it is closed
 * on failure too. */
int stream_new(struct event_base *base, int fd, const struct stream_ops *ops, size_t size,
	       struct stream **ret);
/* Neither freed nor closed: the protocol may read and call its owner. */
bool stream_usable(const struct stream *s);
/* Stops `events` (EV_READ, EV_WRITE) for good and marks the stream closed;
 * false if it was closed already (the protocol then says nothing more). */
bool stream_close(struct stream *s, short events);
/* Brackets code that may call the owner, who may free the stream: after
 * stream_leave() the stream may be gone. */
void stream_enter(struct stream *s);
void stream_leave(struct stream *s);
/* The owner frees it: I/O stops, and it is destroyed now or when the
 * dispatch in progress ends. */
void stream_free(struct stream *s);
