/* test-qmp.c: vmm-client/qmp.c against a scripted QMP peer. The test holds
 * the "QEMU" end of a real socketpair, reads the commands the client sends
 * and answers them the way QEMU does (or does not), while a real libevent
 * loop drives the client: the greeting and the pipelined qmp_capabilities,
 * replies in and out of order, error replies, events, getfd with
 * SCM_RIGHTS, a peer that hangs up in the middle of a reply, protocol
 * violations, and lines over QMP_LINE_MAX (with replies before and after
 * them in the same stream). Every command must be called back
 * exactly once (reply, error or failure), a failure must reach every pending
 * command before the closed callback, and memory must stay bounded. Run it
 * under valgrind or ASan to check that nothing leaks. */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "check.h"
#include "qmp.h"
#include "test-loop.h"

#define MAX_CMDS 8

struct fixture;

struct reply {
	struct fixture *f;
	int calls;
	int order; /* f->seq when called */
	bool ok;
	char text[256]; /* the "return" member (compact, sorted keys) or the error */
};

struct fixture {
	struct event_base *base;
	struct qmp *qmp;
	int peer;	  /* our end: the scripted QEMU */
	char in[1 << 16]; /* bytes the client sent, not yet consumed */
	size_t in_len;
	int fd_in; /* last fd received with SCM_RIGHTS, or -1 */
	struct reply replies[MAX_CMDS];
	int seq;
	unsigned events;
	char event_names[8][32];
	char event_data[8][64]; /* compact data, or "-" when absent */
	size_t big_event_len;	/* length of a long "data"."s" string */
	unsigned closed;
	int closed_order;
	char why[128];
	/* behaviour switches for the callbacks */
	int free_in_reply; /* index of the reply callback that frees the client, -1 none */
	bool free_in_event, free_in_closed, execute_in_reply;
	int execute_rc; /* what qmp_execute returned inside a reply callback */
};

static void on_reply(struct qmp *qmp, json_t *ret, const char *error, void *arg)
{
	struct reply *r = arg;
	struct fixture *f = r->f;

	r->calls++;
	r->order = ++f->seq;
	r->ok = ret != NULL;
	CHECK((ret == NULL) != (error == NULL));
	if (ret) {
		char *s = json_dumps(ret, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
		snprintf(r->text, sizeof(r->text), "%s", s ? s : "?");
		free(s);
	} else {
		snprintf(r->text, sizeof(r->text), "%s", error ? error : "");
	}
	if (f->execute_in_reply)
		f->execute_rc = qmp_execute(qmp, "cont", json_pack("{s:s}", "x", "y"), -1, on_reply,
					    &f->replies[MAX_CMDS - 1]);
	if (f->free_in_reply == r - f->replies) {
		qmp_free(qmp);
		f->qmp = NULL;
	}
}

static void on_event(struct qmp *qmp, const char *event, json_t *data, void *arg)
{
	struct fixture *f = arg;
	unsigned i = f->events++;
	json_t *s = json_object_get(data, "s");

	++f->seq;
	CHECK(event != NULL);
	if (json_is_string(s)) {
		/* A long event: remember its size, check its content. */
		const char *v = json_string_value(s);
		size_t len = json_string_length(s), bad = 0;
		for (size_t k = 0; k < len; k++)
			bad += v[k] != 'e';
		f->big_event_len = bad ? 0 : len;
	}
	if (i < 8) {
		snprintf(f->event_names[i], sizeof(f->event_names[i]), "%s", event ? event : "");
		char *d = data ? json_dumps(data, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
		snprintf(f->event_data[i], sizeof(f->event_data[i]), "%s", d ? d : "-");
		free(d);
	}
	if (f->free_in_event) {
		qmp_free(qmp);
		f->qmp = NULL;
	}
}

static void on_closed(struct qmp *qmp, const char *why, void *arg)
{
	struct fixture *f = arg;

	f->closed++;
	f->closed_order = ++f->seq;
	snprintf(f->why, sizeof(f->why), "%s", why ? why : "");
	if (f->free_in_closed) {
		qmp_free(qmp);
		f->qmp = NULL;
	}
}

static void setup(struct fixture *f)
{
	*f = (struct fixture){.fd_in = -1, .free_in_reply = -1};
	for (int i = 0; i < MAX_CMDS; i++)
		f->replies[i].f = f;
	int fd = loop_open(&f->base, &f->peer);
	CHECK(qmp_new(f->base, fd, on_event, on_closed, f, &f->qmp) == 0);
}

static void teardown(struct fixture *f)
{
	qmp_free(f->qmp);
	if (f->fd_in >= 0)
		close(f->fd_in);
	loop_close(f->base, f->peer);
}

/* A failed client reads no further, nor does one the test freed. */
static bool client_gone(void *arg)
{
	struct fixture *f = arg;

	return f->closed || !f->qmp;
}

/* Writes all of it unless the client stops reading; returns what went. */
static size_t peer_write_raw(struct fixture *f, const void *data, size_t len)
{
	return loop_write(f->base, f->peer, data, len, client_gone, f);
}

static void peer_write(struct fixture *f, const char *s)
{
	peer_write_raw(f, s, strlen(s));
}

static void peer_close(struct fixture *f)
{
	close(f->peer);
	f->peer = -1;
}

/* Collects what the client sent, with any SCM_RIGHTS fd. */
static void peer_recv(struct fixture *f)
{
	for (;;) {
		char cbuf[CMSG_SPACE(sizeof(int))];
		struct iovec iov = {.iov_base = f->in + f->in_len, .iov_len = sizeof(f->in) - f->in_len};
		struct msghdr mh = {
		    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
		if (iov.iov_len == 0)
			return;
		ssize_t n = recvmsg(f->peer, &mh, MSG_CMSG_CLOEXEC);
		if (n <= 0)
			return;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
				if (f->fd_in >= 0)
					close(f->fd_in);
				memcpy(&f->fd_in, CMSG_DATA(c), sizeof(int));
			}
		}
		f->in_len += (size_t)n;
	}
}

/* Pops the next command the client sent; checks its name and returns its
 * id (-1 if there is none or it is not what was expected). */
static json_int_t peer_expect(struct fixture *f, const char *command, json_t **args)
{
	json_int_t id = -1;

	loop_pump(f->base);
	peer_recv(f);
	char *nl = memchr(f->in, '\n', f->in_len);
	if (!nl) {
		printf("# expected \"%s\", the client sent nothing\n", command);
		return -1;
	}
	size_t len = (size_t)(nl - f->in);
	json_t *msg = json_loadb(f->in, len, JSON_REJECT_DUPLICATES, NULL);
	memmove(f->in, nl + 1, f->in_len - len - 1);
	f->in_len -= len + 1;

	const char *name = json_string_value(json_object_get(msg, "execute"));
	json_t *jid = json_object_get(msg, "id");
	if (name && strcmp(name, command) == 0 && json_is_integer(jid))
		id = json_integer_value(jid);
	else
		printf("# expected \"%s\", the client sent \"%s\"\n", command, name ? name : "?");
	if (args)
		*args = json_incref(json_object_get(msg, "arguments"));
	json_decref(msg);
	return id;
}

static void peer_reply(struct fixture *f, json_int_t id, const char *ret)
{
	char line[512];

	snprintf(line, sizeof(line), "{\"return\": %s, \"id\": %lld}\r\n", ret, (long long)id);
	peer_write(f, line);
}

static json_int_t cmd(struct fixture *f, int i, const char *command)
{
	CHECK(qmp_execute(f->qmp, command, NULL, -1, on_reply, &f->replies[i]) == 0);
	return peer_expect(f, command, NULL);
}

static const char greeting[] =
    "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 8}, "
    "\"package\": \"\"}, \"capabilities\": [\"oob\"]}}\r\n";

/* Connects and finishes the handshake. */
static void setup_ready(struct fixture *f)
{
	setup(f);
	json_int_t id = peer_expect(f, "qmp_capabilities", NULL);
	CHECK(id == 1);
	peer_write(f, greeting);
	peer_reply(f, id, "{}");
	loop_pump(f->base);
	CHECK(f->closed == 0 && f->events == 0);
}

static bool reply_is(const struct reply *r, bool ok, const char *text)
{
	if (r->calls == 1 && r->ok == ok && strcmp(r->text, text) == 0)
		return true;
	printf("# reply: %d call(s), %s \"%s\", expected %s \"%s\"\n", r->calls, r->ok ? "ok" : "error",
	       r->text, ok ? "ok" : "error", text);
	return false;
}

static void test_handshake(void)
{
	struct fixture f;
	json_t *args = NULL;

	setup(&f);
	/* qmp_capabilities goes out before the greeting arrives. */
	json_int_t id = peer_expect(&f, "qmp_capabilities", &args);
	CHECK(id == 1 && args == NULL, "qmp_capabilities pipelined ahead of the greeting");
	peer_write(&f, greeting);
	loop_pump(f.base);
	CHECK(f.closed == 0 && f.events == 0, "greeting consumed silently");
	/* A command queued before capabilities are acknowledged is only sent. */
	CHECK(qmp_execute(f.qmp, "query-status", NULL, -1, on_reply, &f.replies[0]) == 0);
	json_int_t id2 = peer_expect(&f, "query-status", NULL);
	CHECK(id2 > id);
	peer_reply(&f, id, "{}");
	loop_pump(f.base);
	CHECK(f.replies[0].calls == 0);
	peer_reply(&f, id2, "{\"status\": \"running\", \"singlestep\": false, \"running\": true}");
	loop_pump(f.base);
	CHECK(reply_is(&f.replies[0], true, "{\"running\":true,\"singlestep\":false,\"status\":\"running\"}"),
	      "handshake, then a command answered");
	CHECK(f.closed == 0);
	teardown(&f);
}

/* Three commands in flight at once, all answered in one write. */
static void test_pipelined(bool in_order)
{
	struct fixture f;
	json_int_t id[3];
	char line[512];

	setup_ready(&f);
	for (int i = 0; i < 3; i++)
		CHECK(qmp_execute(f.qmp, "query-status", NULL, -1, on_reply, &f.replies[i]) == 0);
	for (int i = 0; i < 3; i++)
		id[i] = peer_expect(&f, "query-status", NULL);
	CHECK(id[0] > 0 && id[1] > id[0] && id[2] > id[1], "distinct increasing ids");
	/* in order: 0 1 2; out of order: 2 0 1 */
	int answer[3] = {0, 1, 2};
	if (!in_order) {
		answer[0] = 2;
		answer[1] = 0;
		answer[2] = 1;
	}
	snprintf(line, sizeof(line),
		 "{\"return\": {\"n\": %d}, \"id\": %lld}\r\n"
		 "{\"id\": %lld, \"return\": {\"n\": %d}}\r\n"
		 "{\"return\": {\"n\": %d}, \"id\": %lld}\r\n",
		 answer[0], (long long)id[answer[0]], (long long)id[answer[1]], answer[1], answer[2],
		 (long long)id[answer[2]]);
	peer_write(&f, line);
	loop_pump(f.base);
	CHECK(f.closed == 0);
	CHECK(reply_is(&f.replies[0], true, "{\"n\":0}") && reply_is(&f.replies[1], true, "{\"n\":1}") &&
		  reply_is(&f.replies[2], true, "{\"n\":2}"),
	      in_order ? "pipelined replies in order" : "pipelined replies out of order, matched by id");
	CHECK(f.replies[answer[0]].order < f.replies[answer[1]].order &&
	      f.replies[answer[1]].order < f.replies[answer[2]].order);
	/* The connection still works. */
	json_int_t id4 = cmd(&f, 3, "stop");
	peer_reply(&f, id4, "{}");
	loop_pump(f.base);
	CHECK(reply_is(&f.replies[3], true, "{}") && f.closed == 0);
	teardown(&f);
}

static void test_errors(void)
{
	struct fixture f;
	char line[256];

	setup_ready(&f);
	json_int_t a = cmd(&f, 0, "migrate");
	json_int_t b = cmd(&f, 1, "cont");
	json_int_t c = cmd(&f, 2, "query-status");
	snprintf(line, sizeof(line),
		 "{\"id\": %lld, \"error\": {\"class\": \"GenericError\", \"desc\": \"no migration\"}}\r\n"
		 "{\"id\": %lld, \"error\": {\"class\": \"GenericError\"}}\r\n",
		 (long long)a, (long long)b);
	peer_write(&f, line);
	peer_reply(&f, c, "\"scalar\"");
	loop_pump(f.base);
	CHECK(reply_is(&f.replies[0], false, "no migration"), "error reply: its description");
	CHECK(reply_is(&f.replies[1], false, "QMP: error without description"), "error reply without desc");
	CHECK(reply_is(&f.replies[2], true, "\"scalar\""), "a non-object return is passed on");
	CHECK(f.closed == 0, "errors leave the connection up");
	teardown(&f);
}

static void test_events(void)
{
	struct fixture f;
	char line[512];

	setup(&f);
	json_int_t caps = peer_expect(&f, "qmp_capabilities", NULL);
	/* An event may come before anything else is answered. */
	peer_write(&f, greeting);
	peer_write(&f, "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": \"RESUME\"}\r\n");
	peer_reply(&f, caps, "{}");
	json_int_t a = cmd(&f, 0, "stop");
	json_int_t b = cmd(&f, 1, "query-status");
	/* Events between pipelined replies do not disturb the matching. */
	snprintf(line, sizeof(line),
		 "{\"event\": \"STOP\", \"timestamp\": {\"seconds\": 3, \"microseconds\": 4}}\r\n"
		 "{\"return\": {}, \"id\": %lld}\r\n"
		 "{\"event\": \"MIGRATION\", \"data\": {\"status\": \"completed\"}, \"timestamp\": {}}\n"
		 "{\"return\": {\"status\": \"paused\"}, \"id\": %lld}\r\n"
		 "{\"event\": \"SHUTDOWN\", \"data\": {\"guest\": true, \"reason\": \"guest-shutdown\"}}\r\n",
		 (long long)a, (long long)b);
	peer_write(&f, line);
	loop_pump(f.base);
	CHECK(f.events == 4 && f.closed == 0, "four events delivered");
	CHECK(strcmp(f.event_names[0], "RESUME") == 0 && strcmp(f.event_data[0], "-") == 0,
	      "event without data: data is NULL");
	CHECK(strcmp(f.event_names[1], "STOP") == 0);
	CHECK(strcmp(f.event_names[2], "MIGRATION") == 0 &&
	      strcmp(f.event_data[2], "{\"status\":\"completed\"}") == 0);
	CHECK(strcmp(f.event_names[3], "SHUTDOWN") == 0 &&
		  strcmp(f.event_data[3], "{\"guest\":true,\"reason\":\"guest-shutdown\"}") == 0,
	      "event data passed on");
	CHECK(reply_is(&f.replies[0], true, "{}") &&
	      reply_is(&f.replies[1], true, "{\"status\":\"paused\"}"));
	CHECK(f.replies[0].order < f.replies[1].order && f.replies[1].order < f.seq,
	      "events and replies in stream order");
	teardown(&f);
}

/* The greeting, an event and a reply trickle in one byte per loop turn,
 * with bare "\n" line ends and blank lines. */
static void test_fragments(void)
{
	struct fixture f;
	char script[512];

	setup(&f);
	json_int_t caps = peer_expect(&f, "qmp_capabilities", NULL);
	json_int_t a = cmd(&f, 0, "query-kvm");
	snprintf(script, sizeof(script),
		 "{\"QMP\": {\"version\": {}, \"capabilities\": []}}\n\n"
		 "{\"return\": {}, \"id\": %lld}\r\n\r\n"
		 "{\"event\": \"RESET\"}\n"
		 "{\"return\": {\"enabled\": false, \"present\": true}, \"id\": %lld}\n",
		 (long long)caps, (long long)a);
	size_t len = strlen(script);
	for (size_t i = 0; i < len; i++) {
		peer_write_raw(&f, script + i, 1);
		event_base_loop(f.base, EVLOOP_NONBLOCK);
		if (i + 1 < len)
			CHECK(f.replies[0].calls == 0);
	}
	loop_pump(f.base);
	CHECK(f.closed == 0 && f.events == 1 && strcmp(f.event_names[0], "RESET") == 0);
	CHECK(reply_is(&f.replies[0], true, "{\"enabled\":false,\"present\":true}"), "reply byte by byte");
	teardown(&f);
}

/* getfd: the fd rides with the command; it stays the caller's. */
static void test_getfd(void)
{
	struct fixture f;
	int p[2];
	struct stat st_sent, st_got;
	json_t *args = NULL;

	CHECK(pipe2(p, O_CLOEXEC) == 0);
	setup(&f);
	/* qmp_capabilities is still queued: the fd cannot be sent in order. */
	CHECK(qmp_execute(f.qmp, "getfd", json_pack("{s:s}", "fdname", "x"), p[1], on_reply, &f.replies[0]) ==
		  -EBUSY,
	      "getfd refused while output is queued");
	CHECK(f.replies[0].calls == 0);
	json_int_t caps = peer_expect(&f, "qmp_capabilities", NULL);
	peer_write(&f, greeting);
	peer_reply(&f, caps, "{}");
	loop_pump(f.base);
	CHECK(qmp_execute(f.qmp, "getfd", json_pack("{s:s}", "fdname", "snapshot"), p[1], on_reply,
			  &f.replies[1]) == 0);
	json_int_t id = peer_expect(&f, "getfd", &args);
	CHECK(id > caps);
	CHECK(json_object_size(args) == 1 &&
	      strcmp(json_string_value(json_object_get(args, "fdname")) ?: "", "snapshot") == 0);
	json_decref(args);
	CHECK(f.fd_in >= 0, "getfd carries the fd");
	CHECK(f.fd_in >= 0 && fstat(f.fd_in, &st_got) == 0 && fstat(p[1], &st_sent) == 0 &&
		  st_got.st_ino == st_sent.st_ino,
	      "the same file arrives");
	peer_reply(&f, id, "{}");
	loop_pump(f.base);
	CHECK(reply_is(&f.replies[1], true, "{}"));
	CHECK(fcntl(p[1], F_GETFD) >= 0, "the caller still owns its fd");
	teardown(&f);
	close(p[0]);
	close(p[1]);
}

/* QEMU dies in the middle of a reply: the complete reply is delivered, the
 * cut one and the unanswered one fail (once each) before the closed
 * callback, and nothing can be queued any more. */
static void test_eof_mid_reply(bool free_in_closed)
{
	struct fixture f;
	char line[256];

	setup_ready(&f);
	f.free_in_closed = free_in_closed;
	json_int_t a = cmd(&f, 0, "query-status");
	cmd(&f, 1, "stop");
	cmd(&f, 2, "cont");
	snprintf(line, sizeof(line), "{\"return\": {\"n\": 0}, \"id\": %lld}\r\n{\"return\": {\"n\": 1}, \"i",
		 (long long)a);
	peer_write(&f, line);
	loop_pump(f.base);
	CHECK(reply_is(&f.replies[0], true, "{\"n\":0}") && f.replies[1].calls == 0 && f.closed == 0);
	f.execute_in_reply = true;
	peer_close(&f);
	loop_pump(f.base);
	CHECK(reply_is(&f.replies[1], false, "QMP: connection closed") &&
		  reply_is(&f.replies[2], false, "QMP: connection closed"),
	      "EOF mid-reply fails every pending command once");
	CHECK(f.execute_rc == -ENOTCONN, "no new command once failed");
	CHECK(f.replies[MAX_CMDS - 1].calls == 0);
	CHECK(f.closed == 1 && strcmp(f.why, "QMP: connection closed") == 0 &&
		  f.closed_order > f.replies[2].order && f.replies[2].order > f.replies[1].order,
	      "closed callback once, after the pending commands");
	if (!free_in_closed) {
		CHECK(qmp_execute(f.qmp, "cont", json_pack("{s:i}", "n", 1), -1, on_reply, &f.replies[3]) ==
			  -ENOTCONN,
		      "qmp_execute after close: ENOTCONN");
		loop_pump(f.base);
		CHECK(f.replies[3].calls == 0 && f.closed == 1);
	} else {
		CHECK(f.qmp == NULL, "freed inside the closed callback");
	}
	teardown(&f);
}

/* EOF before anything was answered, not even the capabilities. */
static void test_eof_at_once(void)
{
	struct fixture f;

	setup(&f);
	CHECK(qmp_execute(f.qmp, "query-status", NULL, -1, on_reply, &f.replies[0]) == 0);
	peer_close(&f);
	loop_pump(f.base);
	/* The unsent commands may meet EPIPE before the EOF is read. */
	const char *why = strcmp(f.why, "QMP: connection error") == 0 ? f.why : "QMP: connection closed";
	CHECK(reply_is(&f.replies[0], false, why) && f.closed == 1 && strcmp(f.why, why) == 0,
	      "EOF before the greeting");
	teardown(&f);
}

static bool dropped_or_failed(const struct reply *r)
{
	return r->calls == 0 || (r->calls == 1 && !r->ok);
}

/* The owner frees the client inside a reply or event callback while more
 * lines wait in the same read: nothing more is delivered, nothing crashes.
 * Whether qmp_free drops the pending commands or fails them is qmp_free's
 * business; either way none of them may succeed. */
static void test_free_in_callback(bool in_event)
{
	struct fixture f;
	char line[512];

	setup_ready(&f);
	json_int_t a = cmd(&f, 0, "query-status");
	json_int_t b = cmd(&f, 1, "stop");
	if (in_event)
		f.free_in_event = true;
	else
		f.free_in_reply = 0;
	snprintf(line, sizeof(line),
		 "{\"event\": \"STOP\"}\r\n{\"return\": {}, \"id\": %lld}\r\n{\"event\": \"RESUME\"}\r\n"
		 "{\"return\": {}, \"id\": %lld}\r\n",
		 (long long)a, (long long)b);
	peer_write(&f, line);
	loop_pump(f.base);
	CHECK(f.qmp == NULL);
	CHECK(f.events == 1 && (in_event ? dropped_or_failed(&f.replies[0]) : f.replies[0].calls == 1),
	      in_event ? "freed inside the event callback" : "freed inside a reply callback");
	CHECK(dropped_or_failed(&f.replies[1]));
	teardown(&f);
}

/* One violation with one command pending: the command fails with the
 * reason, the closed callback follows, nothing is delivered. */
static void test_violation(const char *what, const char *fmt, const char *why)
{
	struct fixture f;
	char line[512];

	setup_ready(&f);
	json_int_t a = cmd(&f, 0, "query-status");
	size_t len = (size_t)snprintf(line, sizeof(line), fmt, (long long)a);
	for (size_t i = 0; i < len; i++) /* '~' stands for a NUL byte */
		if (line[i] == '~')
			line[i] = 0;
	peer_write_raw(&f, line, len);
	loop_pump(f.base);
	bool ok =
	    reply_is(&f.replies[0], false, why) && f.closed == 1 && strcmp(f.why, why) == 0 && f.events == 0;
	if (!ok)
		printf("# %s: closed %u time(s) (\"%s\"), %u event(s)\n", what, f.closed, f.why, f.events);
	CHECK(ok, what);
	teardown(&f);
}

/* A reply for a command that was already answered. */
static void test_duplicate_reply(void)
{
	struct fixture f;

	setup_ready(&f);
	json_int_t a = cmd(&f, 0, "query-status");
	cmd(&f, 1, "stop");
	peer_reply(&f, a, "{}");
	peer_reply(&f, a, "{}");
	loop_pump(f.base);
	CHECK(reply_is(&f.replies[0], true, "{}") &&
		  reply_is(&f.replies[1], false, "QMP: reply with an unexpected id") && f.closed == 1,
	      "second reply for the same id refused");
	teardown(&f);
}

/* An event line of exactly line_len bytes before its "\r\n"; *data_len is
 * the length of its string. */
static char *event_line(size_t line_len, size_t *data_len)
{
	static const char head[] = "{\"event\": \"BIG\", \"data\": {\"s\": \"", tail[] = "\"}}\r\n";
	char *s = malloc(line_len + 3);

	*data_len = line_len - (sizeof(head) - 1) - (sizeof(tail) - 3);
	memcpy(s, head, sizeof(head) - 1);
	memset(s + sizeof(head) - 1, 'e', *data_len);
	memcpy(s + sizeof(head) - 1 + *data_len, tail, sizeof(tail));
	return s;
}

/* A long but legal line is delivered whole across many reads. */
static void test_long_line_ok(void)
{
	struct fixture f;
	size_t data_len;
	char *s = event_line(200u << 10, &data_len);

	setup_ready(&f);
	peer_write(&f, s);
	loop_pump(f.base);
	CHECK(f.events == 1 && f.big_event_len == data_len && f.closed == 0, "200 KiB event line delivered");
	free(s);
	teardown(&f);
}

/* A complete, well-formed line just over QMP_LINE_MAX must be refused,
 * not parsed, wherever the reads happen to cut it. */
static void test_long_line_complete(size_t over)
{
	struct fixture f;
	size_t data_len;
	char *s = event_line(QMP_LINE_MAX + over, &data_len);
	char name[80];

	setup_ready(&f);
	cmd(&f, 0, "query-status");
	peer_write(&f, s);
	loop_pump(f.base);
	snprintf(name, sizeof(name), "line of QMP_LINE_MAX + %zu bytes refused", over);
	bool ok = f.events == 0 && f.closed == 1 && strcmp(f.why, "QMP: line too long") == 0 &&
		  reply_is(&f.replies[0], false, "QMP: line too long");
	if (!ok)
		printf("# %zu-byte line: %u event(s), closed %u (\"%s\")\n", strlen(s) - 2, f.events,
		       f.closed, f.why);
	CHECK(ok, name);
	free(s);
	teardown(&f);
}

/* Replies and events that came whole before an over-long line are
 * delivered; the line is refused, and the reply behind it, which arrives
 * in the same stream, is never parsed: its command fails with the rest. */
static void test_long_line_between_replies(void)
{
	struct fixture f;
	size_t data_len;
	char *s = event_line(QMP_LINE_MAX + 10, &data_len);
	char line[256];

	setup_ready(&f);
	json_int_t a = cmd(&f, 0, "query-status");
	json_int_t b = cmd(&f, 1, "stop");
	cmd(&f, 2, "cont");
	snprintf(line, sizeof(line), "{\"return\": {\"n\": 0}, \"id\": %lld}\r\n{\"event\": \"STOP\"}\r\n",
		 (long long)a);
	peer_write(&f, line);
	peer_write(&f, s);
	snprintf(line, sizeof(line), "{\"return\": {\"n\": 1}, \"id\": %lld}\r\n", (long long)b);
	peer_write(&f, line);
	loop_pump(f.base);
	CHECK(reply_is(&f.replies[0], true, "{\"n\":0}") && f.events == 1 &&
		  strcmp(f.event_names[0], "STOP") == 0,
	      "what came before an over-long line is delivered");
	CHECK(reply_is(&f.replies[1], false, "QMP: line too long") &&
		  reply_is(&f.replies[2], false, "QMP: line too long") &&
		  f.replies[1].order > f.replies[0].order,
	      "the commands still pending fail, the one answered behind the line too");
	CHECK(f.closed == 1 && strcmp(f.why, "QMP: line too long") == 0 &&
		  f.closed_order > f.replies[2].order,
	      "then the closed callback, once");
	free(s);
	teardown(&f);
}

/* A line that never ends: refused once it passes QMP_LINE_MAX, and the
 * client stops reading, so the peer cannot make it buffer more. */
static void test_endless_line(void)
{
	struct fixture f;
	size_t total = 8u << 20, chunk = 64u << 10, sent = 0;
	char *junk = malloc(chunk);
	int sndbuf = 64 << 10;

	memset(junk, 'x', chunk);
	junk[0] = '{';
	setup_ready(&f);
	CHECK(setsockopt(f.peer, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)) == 0);
	cmd(&f, 0, "query-status");
	while (sent < total) {
		size_t n = peer_write_raw(&f, junk, chunk);
		sent += n;
		if (n < chunk)
			break;
	}
	loop_pump(f.base);
	/* Whatever the socket still holds is not the client's memory. */
	sent += peer_write_raw(&f, junk, chunk);
	printf("# endless line: the peer got %zu bytes in before the client stopped reading\n", sent);
	CHECK(f.closed == 1 && strcmp(f.why, "QMP: line too long") == 0 &&
		  reply_is(&f.replies[0], false, "QMP: line too long"),
	      "endless line refused, pending command failed");
	CHECK(sent < QMP_LINE_MAX + (1u << 20), "the client stopped reading (bounded memory)");
	free(junk);
	teardown(&f);
}

int main(void)
{
	/* As in runnerd and vmbench: a write to a QEMU that died is EPIPE. */
	signal(SIGPIPE, SIG_IGN);
	test_handshake();
	test_pipelined(true);
	test_pipelined(false);
	test_errors();
	test_events();
	test_fragments();
	test_getfd();
	test_eof_mid_reply(false);
	test_eof_mid_reply(true);
	test_eof_at_once();
	test_free_in_callback(false);
	test_free_in_callback(true);
	test_duplicate_reply();
	test_violation("malformed JSON", "{\"return\": {}, \"id\": %lld\r\n", "QMP: malformed message");
	test_violation("not an object", "[%lld]\r\n", "QMP: malformed message");
	test_violation("duplicate key", "{\"return\": {}, \"id\": %lld, \"id\": 1}\r\n",
		       "QMP: malformed message");
	test_violation("NUL byte", "{\"return\": {}~, \"id\": %lld}\r\n", "QMP: malformed message");
	test_violation("unknown id", "{\"return\": {}, \"id\": %lld99}\r\n",
		       "QMP: reply with an unexpected id");
	test_violation("string id", "{\"return\": {}, \"id\": \"%lld\"}\r\n",
		       "QMP: reply with an unexpected id");
	test_violation("no id", "{\"return\": {}}\r\n", "QMP: reply with an unexpected id");
	test_long_line_ok();
	test_long_line_complete(1);
	test_long_line_complete(100);
	test_long_line_complete(20000);
	test_long_line_between_replies();
	test_endless_line();
	return check_done();
}
