/* stream.c: see stream.h. Every libevent callback is one dispatch, so a
 * protocol never needs to count them itself. */
#include "stream.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include <event2/bufferevent.h>

static void stream_destroy(struct stream *s)
{
	if (s->ops->destroy)
		s->ops->destroy(s);
	bufferevent_free(s->bev);
	free(s);
}

void stream_enter(struct stream *s)
{
	s->dispatching++;
}

void stream_leave(struct stream *s)
{
	if (--s->dispatching == 0 && s->dead)
		stream_destroy(s);
}

bool stream_usable(const struct stream *s)
{
	return !s->dead && !s->closed;
}

bool stream_close(struct stream *s, short events)
{
	if (s->closed)
		return false;
	s->closed = true;
	bufferevent_disable(s->bev, events);
	return true;
}

void stream_free(struct stream *s)
{
	stream_enter(s);
	s->dead = true;
	bufferevent_disable(s->bev, EV_READ | EV_WRITE);
	stream_leave(s);
}

static void stream_read_cb(struct bufferevent *bev, void *arg)
{
	struct stream *s = arg;

	stream_enter(s);
	s->ops->read(s, bufferevent_get_input(bev));
	stream_leave(s);
}

static void stream_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct stream *s = arg;

	if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)))
		return;
	stream_enter(s);
	s->ops->fail(s, what & BEV_EVENT_EOF ? s->ops->eof_why : s->ops->error_why);
	stream_leave(s);
}

int stream_new(struct event_base *base, int fd, const struct stream_ops *ops, size_t size,
	       struct stream **ret)
{
	struct stream *s = calloc(1, size);

	if (!s) {
		close(fd);
		return -ENOMEM;
	}
	s->ops = ops;
	s->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!s->bev) {
		close(fd);
		free(s);
		return -ENOMEM;
	}
	bufferevent_setcb(s->bev, stream_read_cb, NULL, stream_event_cb, s);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	*ret = s;
	return 0;
}
