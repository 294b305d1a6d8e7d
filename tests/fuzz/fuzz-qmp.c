/* fuzz-qmp.c: libFuzzer target for vmm-client/qmp.c's reader, the code that
 * splits and parses what QEMU writes on the QMP socket. The input is the
 * peer's byte stream, fed through a real socketpair to a client on a real
 * libevent loop, then the peer hangs up. Two leading bytes shape the run:
 *   byte 0: bits 0-2  commands queued after qmp_capabilities (ids 2..8)
 *           bits 3-7  bytes per write, one loop turn each (0: all at once)
 *   byte 1: bits 0-5  free the client inside the n-th callback (0: never)
 *           bit 6     queue a command from each event callback (up to 4)
 * Whatever the stream says, every command is called back exactly once,
 * with a return or an error but not both; the closed callback runs once,
 * after them, unless the client was freed first; nothing runs after
 * qmp_free but the replies it fails itself. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "qmp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_CMDS 16

struct run {
	struct qmp *qmp;
	unsigned calls[MAX_CMDS]; /* per command; 0 is qmp_capabilities' slot, unused */
	unsigned n_cmds;
	unsigned callbacks;
	unsigned free_at;
	unsigned event_cmds;
	bool exec_in_event;
	bool in_free; /* inside our own qmp_free call */
	bool freed;
	unsigned closed;
};

struct cmd {
	struct run *run;
	unsigned idx;
};

static struct cmd cmds[MAX_CMDS];

static void must(int cond)
{
	if (!cond)
		abort();
}

/* Reads all of it, so ASan sees any overrun or use after free. */
static void touch(json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	free(s);
}

static void maybe_free(struct run *r)
{
	if (r->freed || ++r->callbacks != r->free_at)
		return;
	r->in_free = true;
	qmp_free(r->qmp);
	r->in_free = false;
	r->freed = true;
	r->qmp = NULL;
}

static void on_reply(struct qmp *qmp, json_t *ret, const char *error, void *arg)
{
	struct cmd *c = arg;
	struct run *r = c->run;

	must(!r->freed || r->in_free);
	must(r->closed == 0);
	must((ret == NULL) != (error == NULL));
	must(++r->calls[c->idx] == 1);
	if (ret)
		touch(ret);
	else
		must(strlen(error) > 0);
	if (!r->in_free)
		maybe_free(r);
}

static int queue(struct run *r, const char *command)
{
	if (r->n_cmds >= MAX_CMDS)
		return -ENOSPC;
	struct cmd *c = &cmds[r->n_cmds];
	c->run = r;
	c->idx = r->n_cmds;
	int rc = qmp_execute(r->qmp, command, json_pack("{s:i}", "n", (int)c->idx), -1, on_reply, c);
	if (rc == 0)
		r->n_cmds++;
	return rc;
}

static void on_event(struct qmp *qmp, const char *event, json_t *data, void *arg)
{
	struct run *r = arg;

	must(!r->freed && r->closed == 0);
	must(strlen(event) < 1u << 20);
	touch(data);
	if (r->exec_in_event && r->event_cmds < 4) {
		r->event_cmds++;
		must(queue(r, "query-status") == 0);
	}
	maybe_free(r);
}

static void on_closed(struct qmp *qmp, const char *why, void *arg)
{
	struct run *r = arg;

	must(!r->freed && ++r->closed == 1);
	must(why && why[0]);
	/* Every command was failed before this. */
	for (unsigned i = 1; i < r->n_cmds; i++)
		must(r->calls[i] == 1);
	must(queue(r, "cont") == -ENOTCONN);
	maybe_free(r);
}

static bool done(const struct run *r)
{
	return r->freed || r->closed;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct event_base *base;
	struct run r = {0};
	int sp[2];

	if (size < 2)
		return 0;
	if (!base) {
		signal(SIGPIPE, SIG_IGN); /* as runnerd does */
		base = event_base_new();
		must(base != NULL);
	}
	unsigned extra = data[0] & 7, chunk = data[0] >> 3;
	r.free_at = data[1] & 63;
	r.exec_in_event = data[1] & 64;
	data += 2;
	size -= 2;

	must(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == 0);
	must(fcntl(sp[0], F_SETFL, O_NONBLOCK) == 0 && fcntl(sp[1], F_SETFL, O_NONBLOCK) == 0);
	must(qmp_new(base, sp[0], on_event, on_closed, &r, &r.qmp) == 0);
	r.n_cmds = 1; /* qmp_capabilities, id 1, has no callback */
	for (unsigned i = 0; i < extra; i++)
		must(queue(&r, i % 2 ? "stop" : "query-status") == 0);

	/* The peer's stream, then EOF. */
	size_t off = 0;
	unsigned stuck = 0;
	while (off < size && !done(&r) && stuck < 1000) {
		size_t want = chunk ? chunk : size - off;
		ssize_t n = send(sp[1], data + off, want < size - off ? want : size - off, MSG_NOSIGNAL);
		if (n > 0) {
			off += (size_t)n;
			stuck = 0;
		} else {
			must(n < 0 && errno == EAGAIN);
			stuck++;
		}
		event_base_loop(base, EVLOOP_NONBLOCK);
	}
	close(sp[1]);
	for (unsigned i = 0; i < 1000 && !done(&r); i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
	must(done(&r));

	if (!r.freed) {
		must(r.closed == 1);
		qmp_free(r.qmp);
	}
	for (unsigned i = 1; i < r.n_cmds; i++)
		must(r.calls[i] == 1);
	/* libevent finishes freeing a bufferevent on the next loop turn. */
	event_base_loop(base, EVLOOP_NONBLOCK);
	return 0;
}
