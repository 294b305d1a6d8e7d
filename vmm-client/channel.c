/* channel.c: frame reassembly on a bufferevent. The header is read first
 * and checked (magic, version, type, length against both RD_FRAME_MAX and
 * the remaining budget) before a single payload byte is buffered, so a
 * guest announcing a 4 GB frame costs us 16 bytes. */
#include "channel.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "stream.h"

struct channel {
	struct stream s; /* first: the object is the stream's (stream.h) */
	channel_frame_cb frame_cb;
	channel_closed_cb closed_cb;
	void *userdata;
	size_t budget;
	bool have_hdr;
	struct rd_frame_hdr hdr;
};
_Static_assert(offsetof(struct channel, s) == 0, "a struct stream * is a struct channel *");

void channel_free(struct channel *ch)
{
	if (ch)
		stream_free(&ch->s);
}

static void channel_fail(struct channel *ch, const char *why)
{
	if (!stream_close(&ch->s, EV_READ))
		return;
	if (!ch->s.dead && ch->closed_cb)
		ch->closed_cb(ch, why, ch->userdata);
}

static void channel_read(struct stream *s, struct evbuffer *in)
{
	struct channel *ch = (struct channel *)s;
	struct bufferevent *bev = s->bev;

	while (stream_usable(s)) {
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
		if (s->dead)
			break;
		evbuffer_drain(in, hdr.len);
		bufferevent_setwatermark(bev, EV_READ, 0, 64u << 10);
	}
}

static void channel_stream_fail(struct stream *s, const char *why)
{
	channel_fail((struct channel *)s, why);
}

static const struct stream_ops channel_stream_ops = {
    .read = channel_read,
    .fail = channel_stream_fail,
    .eof_why = "agent channel closed",
    .error_why = "agent channel error",
};

int channel_new(struct event_base *base, int fd, channel_frame_cb frame_cb, channel_closed_cb closed_cb,
		void *userdata, struct channel **ret)
{
	struct stream *s;
	int r = stream_new(base, fd, &channel_stream_ops, sizeof(struct channel), &s);
	if (r < 0)
		return r;
	struct channel *ch = (struct channel *)s;
	ch->frame_cb = frame_cb;
	ch->closed_cb = closed_cb;
	ch->userdata = userdata;
	ch->budget = 64u << 10;
	bufferevent_setwatermark(s->bev, EV_READ, 0, 64u << 10);
	*ret = ch;
	return 0;
}

void channel_set_budget(struct channel *ch, size_t bytes)
{
	ch->budget = bytes;
}

int channel_send(struct channel *ch, const void *frame, size_t len)
{
	if (!stream_usable(&ch->s))
		return -ENOTCONN;
	return bufferevent_write(ch->s.bev, frame, len) < 0 ? -ENOMEM : 0;
}
