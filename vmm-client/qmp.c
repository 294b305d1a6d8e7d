/* qmp.c: QMP over a UNIX stream socket with libevent bufferevents. QEMU
 * writes one JSON object per line ("\r\n"); a line longer than QMP_LINE_MAX
 * is a protocol violation and closes the connection. Ids are our own
 * counter; QEMU echoes them verbatim, and an id that is not pending (never
 * sent, or answered already) is an error. */
#include "qmp.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "stream.h"

struct qmp_pending {
	TAILQ_ENTRY(qmp_pending) link;
	json_int_t id;
	qmp_reply_cb cb;
	void *userdata;
};

struct qmp {
	struct stream s;		   /* first: the object is the stream's (stream.h) */
	TAILQ_HEAD(, qmp_pending) pending; /* in the order sent */
	json_int_t next_id;
	qmp_event_cb event_cb;
	qmp_closed_cb closed_cb;
	void *userdata;
};
_Static_assert(offsetof(struct qmp, s) == 0, "a struct stream * is a struct qmp *");

static void qmp_destroy(struct stream *s)
{
	struct qmp *q = (struct qmp *)s;
	struct qmp_pending *p;

	while ((p = TAILQ_FIRST(&q->pending))) {
		TAILQ_REMOVE(&q->pending, p, link);
		free(p);
	}
}

/* Answers every pending command with the error `why`, in the order sent,
 * so each owner can release what it gave as userdata. The connection is
 * closed or dead, so no command can be queued meanwhile; an owner that
 * frees the connection from its callback answers the rest itself. */
static void qmp_fail_pending(struct qmp *q, const char *why)
{
	struct qmp_pending *p;

	while ((p = TAILQ_FIRST(&q->pending))) {
		TAILQ_REMOVE(&q->pending, p, link);
		if (p->cb)
			p->cb(q, NULL, why, p->userdata);
		free(p);
	}
}

void qmp_free(struct qmp *q)
{
	if (!q || q->s.dead)
		return;
	q->event_cb = NULL;
	q->closed_cb = NULL;
	/* Dead from here on, but destroyed only once every pending command
	 * is answered: each callback is handed q. */
	stream_enter(&q->s);
	stream_free(&q->s);
	qmp_fail_pending(q, QMP_ERROR_FREED);
	stream_leave(&q->s);
}

/* Fails every pending command, then tells the owner. */
static void qmp_fail(struct qmp *q, const char *why)
{
	if (!stream_close(&q->s, EV_READ | EV_WRITE))
		return;
	qmp_fail_pending(q, why);
	if (!q->s.dead && q->closed_cb)
		q->closed_cb(q, why, q->userdata);
}

static void qmp_dispatch_line(struct qmp *q, const char *line, size_t len)
{
	json_error_t jerr;
	json_auto_t *msg = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);

	if (!msg || !json_is_object(msg)) {
		qmp_fail(q, "QMP: malformed message");
		return;
	}
	if (json_object_get(msg, "QMP"))
		return; /* greeting */

	const char *event = json_string_value(json_object_get(msg, "event"));
	if (event) {
		if (q->event_cb)
			q->event_cb(q, event, json_object_get(msg, "data"), q->userdata);
		return;
	}

	json_t *id = json_object_get(msg, "id");
	struct qmp_pending *p;
	TAILQ_FOREACH(p, &q->pending, link)
		if (json_is_integer(id) && json_integer_value(id) == p->id)
			break;
	if (!p) {
		/* Not a command we are waiting for: we lost track. */
		qmp_fail(q, "QMP: reply with an unexpected id");
		return;
	}
	TAILQ_REMOVE(&q->pending, p, link);

	json_t *ret = json_object_get(msg, "return");
	json_t *err = json_object_get(msg, "error");
	if (p->cb) {
		if (ret)
			p->cb(q, ret, NULL, p->userdata);
		else {
			const char *desc = json_string_value(json_object_get(err, "desc"));
			p->cb(q, NULL, desc ? desc : "QMP: error without description", p->userdata);
		}
	}
	free(p);
}

static void qmp_read(struct stream *s, struct evbuffer *in)
{
	struct qmp *q = (struct qmp *)s;

	while (stream_usable(s)) {
		size_t len;
		char *line = evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF);
		if (!line) {
			if (evbuffer_get_length(in) > QMP_LINE_MAX)
				qmp_fail(q, "QMP: line too long");
			break;
		}
		if (len > QMP_LINE_MAX) /* it came whole within one read */
			qmp_fail(q, "QMP: line too long");
		else if (len > 0)
			qmp_dispatch_line(q, line, len);
		free(line);
	}
}

static void qmp_stream_fail(struct stream *s, const char *why)
{
	qmp_fail((struct qmp *)s, why);
}

static const struct stream_ops qmp_stream_ops = {
    .read = qmp_read,
    .fail = qmp_stream_fail,
    .destroy = qmp_destroy,
    .eof_why = "QMP: connection closed",
    .error_why = "QMP: connection error",
};

int qmp_new(struct event_base *base, int fd, qmp_event_cb event_cb, qmp_closed_cb closed_cb, void *userdata,
	    struct qmp **ret)
{
	struct stream *s;
	int r = stream_new(base, fd, &qmp_stream_ops, sizeof(struct qmp), &s);
	if (r < 0)
		return r;
	struct qmp *q = (struct qmp *)s;
	TAILQ_INIT(&q->pending);
	q->event_cb = event_cb;
	q->closed_cb = closed_cb;
	q->userdata = userdata;
	q->next_id = 1;

	/* Capability negotiation is pipelined ahead of the first command. */
	r = qmp_execute(q, "qmp_capabilities", NULL, -1, NULL, NULL);
	if (r < 0) {
		stream_free(s);
		return r;
	}
	*ret = q;
	return 0;
}

/* getfd needs the fd in the same sendmsg as (part of) the command; the
 * output buffer must be empty so the bytes stay in order. */
static int qmp_send_with_fd(struct qmp *q, const char *data, size_t len, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = {0};
	struct iovec iov = {.iov_base = (void *)data, .iov_len = len};
	struct msghdr mh = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

	if (evbuffer_get_length(bufferevent_get_output(q->s.bev)) > 0)
		return -EBUSY;
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));

	ssize_t n = sendmsg(bufferevent_getfd(q->s.bev), &mh, MSG_NOSIGNAL);
	if (n < 0)
		return -errno;
	if ((size_t)n < len)
		return evbuffer_add(bufferevent_get_output(q->s.bev), data + n, len - (size_t)n) < 0 ? -ENOMEM
												     : 0;
	return 0;
}

int qmp_execute(struct qmp *q, const char *command, json_t *args, int pass_fd, qmp_reply_cb cb,
		void *userdata)
{
	json_auto_t *msg = json_object();
	struct qmp_pending *p;
	int r;

	if (!msg) {
		json_decref(args);
		return -ENOMEM;
	}
	if (!stream_usable(&q->s)) {
		json_decref(args);
		return -ENOTCONN;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		json_decref(args);
		return -ENOMEM;
	}
	p->id = q->next_id++;
	p->cb = cb;
	p->userdata = userdata;
	json_object_set_new(msg, "execute", json_string(command));
	if (args)
		json_object_set_new(msg, "arguments", args);
	json_object_set_new(msg, "id", json_integer(p->id));

	char *text = json_dumps(msg, JSON_COMPACT);
	if (!text) {
		free(p);
		return -ENOMEM;
	}
	size_t len = strlen(text);
	text[len] = '\n'; /* json_dumps' NUL becomes the line end */
	if (pass_fd >= 0)
		r = qmp_send_with_fd(q, text, len + 1, pass_fd);
	else
		r = bufferevent_write(q->s.bev, text, len + 1) < 0 ? -ENOMEM : 0;
	free(text);
	if (r < 0) {
		free(p);
		return r;
	}
	TAILQ_INSERT_TAIL(&q->pending, p, link);
	return 0;
}
