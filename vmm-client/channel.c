/* channel.c: frame reassembly on a bufferevent. The header is read first
 * and checked (magic, version, type, length against both RD_FRAME_MAX and
 * the remaining budget) before a single payload byte is buffered, so a
 * guest announcing a 4 GB frame costs us 16 bytes. */
#include "channel.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

struct channel {
	struct bufferevent *bev; /* owned, owns the fd */
	channel_frame_cb frame_cb;
	channel_closed_cb closed_cb;
	void *userdata;
	size_t budget;
	bool have_hdr;
	struct rd_frame_hdr hdr;
	int dispatching;
	bool dead;
	bool closed;
};

static void channel_destroy(struct channel *ch)
{
	if (ch->bev)
		bufferevent_free(ch->bev);
	free(ch);
}

void channel_free(struct channel *ch)
{
	if (!ch)
		return;
	if (ch->dispatching) {
		ch->dead = true;
		bufferevent_disable(ch->bev, EV_READ | EV_WRITE);
		return;
	}
	channel_destroy(ch);
}

static void channel_fail(struct channel *ch, const char *why)
{
	if (ch->closed)
		return;
	ch->closed = true;
	bufferevent_disable(ch->bev, EV_READ);
	if (!ch->dead && ch->closed_cb)
		ch->closed_cb(ch, why, ch->userdata);
}

static void channel_read_cb(struct bufferevent *bev, void *arg)
{
	struct channel *ch = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	ch->dispatching++;
	while (!ch->dead && !ch->closed) {
		size_t avail = evbuffer_get_length(in);
		if (!ch->have_hdr) {
			uint8_t raw[RD_FRAME_HDR_SIZE];
			if (avail < RD_FRAME_HDR_SIZE)
				break;
			evbuffer_remove(in, raw, sizeof(raw));
			if (ch->budget < RD_FRAME_HDR_SIZE) {
				channel_fail(ch, "agent exceeded its byte budget");
				break;
			}
			ch->budget -= RD_FRAME_HDR_SIZE;
			uint32_t max = ch->budget < RD_FRAME_MAX ? (uint32_t)ch->budget : RD_FRAME_MAX;
			int r = rd_frame_hdr_decode(raw, max, &ch->hdr);
			if (r < 0) {
				channel_fail(ch, r == -EMSGSIZE ? "agent frame too large"
								: "agent sent a malformed frame");
				break;
			}
			ch->have_hdr = true;
			/* Never buffer more than the frame we are waiting for. */
			bufferevent_setwatermark(bev, EV_READ, 0,
						 ch->hdr.len ? ch->hdr.len : RD_FRAME_HDR_SIZE);
			continue;
		}
		if (avail < ch->hdr.len)
			break;
		uint8_t *payload = evbuffer_pullup(in, ch->hdr.len);
		if (!payload && ch->hdr.len > 0) {
			channel_fail(ch, "out of memory");
			break;
		}
		ch->budget -= ch->hdr.len;
		ch->have_hdr = false;
		struct rd_frame_hdr hdr = ch->hdr;
		ch->frame_cb(ch, &hdr, payload, ch->userdata);
		if (ch->dead)
			break;
		evbuffer_drain(in, hdr.len);
		bufferevent_setwatermark(bev, EV_READ, 0, 64u << 10);
	}
	ch->dispatching--;
	if (ch->dead && !ch->dispatching)
		channel_destroy(ch);
}

static void channel_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct channel *ch = arg;

	if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)))
		return;
	ch->dispatching++;
	channel_fail(ch, what & BEV_EVENT_EOF ? "agent channel closed" : "agent channel error");
	ch->dispatching--;
	if (ch->dead && !ch->dispatching)
		channel_destroy(ch);
}

int channel_new(struct event_base *base, int fd, channel_frame_cb frame_cb, channel_closed_cb closed_cb,
		void *userdata, struct channel **ret)
{
	struct channel *ch = calloc(1, sizeof(*ch));
	if (!ch) {
		close(fd);
		return -ENOMEM;
	}
	ch->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!ch->bev) {
		close(fd);
		free(ch);
		return -ENOMEM;
	}
	ch->frame_cb = frame_cb;
	ch->closed_cb = closed_cb;
	ch->userdata = userdata;
	ch->budget = 64u << 10;
	bufferevent_setcb(ch->bev, channel_read_cb, NULL, channel_event_cb, ch);
	bufferevent_setwatermark(ch->bev, EV_READ, 0, 64u << 10);
	bufferevent_enable(ch->bev, EV_READ | EV_WRITE);
	*ret = ch;
	return 0;
}

void channel_set_budget(struct channel *ch, size_t bytes)
{
	ch->budget = bytes;
}

int channel_send(struct channel *ch, const void *frame, size_t len)
{
	if (ch->closed || ch->dead)
		return -ENOTCONN;
	return bufferevent_write(ch->bev, frame, len) < 0 ? -ENOMEM : 0;
}
