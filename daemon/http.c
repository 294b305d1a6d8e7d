/* http.c: the evhttp server behind http.h.
 *
 * Bounds, and how libevent 2.1 gives them to us:
 *  - Body: evhttp_set_max_body_size(). A Content-Length above it is refused
 *    as soon as the headers are read, a chunked body as soon as it passes the
 *    limit, so nothing past the limit is buffered. evhttp answers 413 itself,
 *    with a small HTML body (2.1 has no error-page hook); everything we
 *    answer ourselves is JSON.
 *  - Headers: evhttp_set_max_headers_size(). Over it evhttp fails the request
 *    and answers 400 (HTML), not 431: acceptable, documented.
 *  - Time: evhttp_set_timeout() is only an idle timeout, which a slowloris
 *    client resets with every byte. So each connection also gets an absolute
 *    deadline for a whole request to arrive (armed at accept and again after
 *    each response, disarmed while the request is being served); when it
 *    fires the socket is shut down and evhttp frees the connection on EOF.
 *  - Connections: 2.1 has no cap and no accept hook. evhttp_set_bevcb() is
 *    called once per accepted connection; we hand out the bufferevent and
 *    finish "adopting" the connection from an event activated there, which
 *    runs before the loop polls again: then the bufferevent has its fd and
 *    its callback argument is the evhttp_connection. Adoption reads
 *    SO_PEERCRED, logs CALLER_UID=, installs the close callback that keeps
 *    the count, and shuts down connections over the cap.
 *
 * Execute requests and disconnects: the request is handed to ops->execute()
 * and we wait for its done callback. If the client goes away first, evhttp
 * frees the connection and calls our close callback, which calls
 * ops->cancel() exactly once; done is then never called. On EOF or timeout
 * evhttp 2.1 detaches a request still being served from its connection
 * instead of freeing it, so we free it ourselves in that case; a request
 * that evhttp answered or freed on its own is forgotten through the
 * on-complete callback and never touched again. */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include "auth.h"
#include "event-util.h"
#include "listen.h"
#include "log.h"

struct http_exec;

struct http_conn {
	struct http_server *server;
	struct bufferevent *bev;	 /* borrowed: owned by evcon */
	struct evhttp_connection *evcon; /* borrowed; NULL until adopted */
	struct event *deadline;		 /* owned */
	struct event *hangup;		 /* owned: watches for EOF while a run is pending */
	struct http_exec *exec;		 /* the execute in flight on this connection, or NULL */
	struct http_call *call;		 /* the management call pending on it, or NULL */
	TAILQ_ENTRY(http_conn) link;	 /* on the server's fresh or conns list */
	uint64_t id;
	uid_t uid; /* SO_PEERCRED's; HTTP_TCP_CALLER on TCP */
	gid_t gid;
	pid_t pid;
	bool tcp; /* came through the TCP listener: peer says from where */
	char peer[64];
	bool refused; /* over the cap: being closed, not counted */
	/* Bytes arrived since its last response: a request is on its way.
	 * Such a connection is evicted only when no idle one is left. */
	bool receiving;
	struct evbuffer_cb_entry *input_cb; /* sets `receiving` */
};

struct http_exec {
	struct http_server *server;
	uid_t uid;		     /* the caller's: counted in server->callers until forgotten */
	struct http_conn *conn;	     /* set while the run is pending */
	struct evhttp_request *req;  /* NULL once evhttp answered or freed it */
	struct service_exec *handle; /* from ops->execute() */
	bool in_execute;	     /* inside ops->execute(): done may come synchronously */
	bool finished;		     /* done was called */
	char request_id[40];
};

/* A management call whose answer comes later (a remote listing). */
struct http_call {
	struct http_server *server;
	struct http_conn *conn;	    /* NULL once the client left */
	struct evhttp_request *req; /* NULL once evhttp answered or freed it */
	struct service_pending *pending;
	bool in_call; /* inside ops->call(): the reply may come synchronously */
	bool replied;
};

TAILQ_HEAD(conn_list, http_conn);

struct http_server {
	struct event_base *base;
	struct evhttp *http;
	struct event *adopt;	/* activated from the bev callback */
	struct conn_list fresh; /* accepted, not yet adopted, in accept order */
	struct conn_list conns; /* adopted, oldest first */
	unsigned n_conns;	/* adopted and not refused */
	uint64_t next_id;
	struct api_limits lim;
	struct service_ops ops;
	char *socket_path;
	char *token;	 /* TCP clients must present it; NULL: none (loopback only) */
	gid_t admin_gid; /* members may manage images and snapshots; -1: uid 0 only */
	/* Runs in flight or queued, per caller uid with any (a few callers:
	 * a short array). */
	struct caller_runs {
		uid_t uid;
		unsigned n;
	} * callers;
	size_t n_callers;
};

static struct caller_runs *caller_find(struct http_server *s, uid_t uid)
{
	for (size_t i = 0; i < s->n_callers; i++)
		if (s->callers[i].uid == uid)
			return &s->callers[i];
	return NULL;
}

/* Counts a run for its caller, unless the caller has caller_runs_max
 * already: -EAGAIN then. */
static int caller_take(struct http_server *s, uid_t uid)
{
	struct caller_runs *c = caller_find(s, uid);

	if (c && c->n >= s->lim.caller_runs_max)
		return -EAGAIN;
	if (!c) {
		struct caller_runs *grown = realloc(s->callers, (s->n_callers + 1) * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		s->callers = grown;
		c = &s->callers[s->n_callers++];
		*c = (struct caller_runs){.uid = uid};
	}
	c->n++;
	return 0;
}

static void caller_put(struct http_server *s, uid_t uid)
{
	struct caller_runs *c = caller_find(s, uid);

	if (c && --c->n == 0)
		*c = s->callers[--s->n_callers];
}

static struct http_conn *conn_find(struct http_server *s, struct evhttp_connection *evcon)
{
	struct http_conn *c;

	TAILQ_FOREACH(c, &s->conns, link)
		if (c->evcon == evcon)
			return c;
	return NULL;
}

static void deadline_arm(struct http_conn *c)
{
	struct timeval tv = {.tv_sec = c->server->lim.request_timeout_s};

	if (c->deadline)
		evtimer_add(c->deadline, &tv);
}

static void deadline_disarm(struct http_conn *c)
{
	if (c->deadline)
		evtimer_del(c->deadline);
}

static int dump_to_evbuffer(const char *buf, size_t size, void *data)
{
	return evbuffer_add(data, buf, size);
}

static const char *reason_phrase(int code)
{
	switch (code) {
	case 200:
		return "OK";
	case 202:
		return "Accepted";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 409:
		return "Conflict";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 413:
		return "Payload Too Large";
	case 429:
		return "Too Many Requests";
	case 503:
		return "Service Unavailable";
	default:
		return "Internal Server Error";
	}
}

/* Answers req with `json` (consumed; NULL gives a 500) as compact UTF-8 JSON
 * and a trailing newline. */
static void send_json(struct evhttp_request *req, int code, json_t *json)
{
	struct evbuffer *buf = evbuffer_new();
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	if (!json) {
		code = 500;
		json = api_render_error("out of memory");
	}
	if (!buf || !json || json_dump_callback(json, dump_to_evbuffer, buf, JSON_COMPACT) < 0 ||
	    evbuffer_add(buf, "\n", 1) < 0) {
		/* nothing sensible left to say: close without an answer */
		json_decref(json);
		if (buf)
			evbuffer_free(buf);
		evhttp_send_error(req, 500, NULL);
		return;
	}
	json_decref(json);
	evhttp_add_header(h, "Content-Type", "application/json");
	evhttp_add_header(h, "Cache-Control", "no-store");
	/* libevent 2.1 would write a HEAD's body too: headers only. */
	evhttp_send_reply(req, code, reason_phrase(code),
			  evhttp_request_get_command(req) == EVHTTP_REQ_HEAD ? NULL : buf);
	evbuffer_free(buf);
}

static void send_error(struct evhttp_request *req, int code, const char *message)
{
	send_json(req, code, api_render_error(message));
}

/* GET /metrics: the service's exposition text (consumed; NULL gives a 500).
 * evhttp 2.1 writes a reply's buffer even to a HEAD request, so HEAD gets
 * none. */
static void send_metrics(struct evhttp_request *req, char *text)
{
	bool head = evhttp_request_get_command(req) == EVHTTP_REQ_HEAD;
	struct evbuffer *buf = text ? evbuffer_new() : NULL;
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	if (!buf || evbuffer_add(buf, text, strlen(text)) < 0) {
		free(text);
		if (buf)
			evbuffer_free(buf);
		send_error(req, 500, "out of memory");
		return;
	}
	free(text);
	evhttp_add_header(h, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_send_reply(req, 200, reason_phrase(200), head ? NULL : buf);
	evbuffer_free(buf);
}

/* ---- connections ---- */

static void conn_free(struct http_conn *c)
{
	if (!c)
		return;
	safe_event_free(c->deadline);
	safe_event_free(c->hangup);
	free(c);
}

static void exec_forget(struct http_exec *e)
{
	caller_put(e->server, e->uid);
	free(e);
}

/* evhttp is about to free the connection: the client went away, timed out,
 * was over the cap, or the server is shutting down. */
static void conn_close_cb(struct evhttp_connection *evcon, void *userdata)
{
	struct http_conn *c = userdata;
	struct http_server *s = c->server;
	struct http_exec *e = c->exec;

	if (e) {
		log_info("client went away during run REQUEST_ID=%s CONN=%llu: cancelling", e->request_id,
			 (unsigned long long)c->id);
		c->exec = NULL;
		e->conn = NULL;
		s->ops.cancel(s->ops.ctx, e->handle);
		/* A request detached by evhttp (EOF or timeout while we were
		 * serving it) is ours to free; one still on the connection is
		 * freed by evhttp right after this callback. */
		if (e->req && !evhttp_request_get_connection(e->req))
			evhttp_request_free(e->req);
		exec_forget(e);
	}
	if (c->call) {
		struct http_call *k = c->call;
		c->call = NULL;
		k->conn = NULL;
		s->ops.forget(s->ops.ctx, k->pending);
		if (k->req && !evhttp_request_get_connection(k->req))
			evhttp_request_free(k->req);
		free(k);
	}
	log_debug("connection %llu closed", (unsigned long long)c->id);
	TAILQ_REMOVE(&s->conns, c, link);
	if (!c->refused)
		s->n_conns--;
	/* The bufferevent outlives this callback by a moment: no callback of
	 * its input may reach c after it is freed. */
	if (c->input_cb)
		evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->input_cb);
	conn_free(c);
}

/* evhttp stops reading while a request is being served, so it would notice
 * a client that left only when the answer is written, maybe a minute later.
 * While a run is pending we watch the socket ourselves for the peer's
 * close (EV_CLOSED: EPOLLRDHUP), which the kernel reports even when the
 * client pipelined bytes of a next request before it left. A client that
 * half-closes its sending side is treated as gone too, as evhttp does.
 * Where the backend cannot report a close early, we peek instead: EOF or
 * an error means gone, bytes mean a pipelined request, after which we
 * cannot tell and stop watching. */
static void hangup_cb(evutil_socket_t fd, short what, void *userdata)
{
	struct http_conn *c = userdata;
	char byte;

	if (!(what & EV_CLOSED)) {
		ssize_t n = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n > 0) {
			event_del(c->hangup);
			return;
		}
	}
	event_del(c->hangup);
	if (!c->evcon)
		return;
	/* Frees the pending request too, after conn_close_cb cancelled it. */
	evhttp_connection_free(c->evcon);
}

static void hangup_watch(struct http_conn *c, bool on)
{
	evutil_socket_t fd = bufferevent_getfd(c->bev);
	bool early_close = event_base_get_features(c->server->base) & EV_FEATURE_EARLY_CLOSE;

	if (!on) {
		if (c->hangup)
			event_del(c->hangup);
		return;
	}
	if (fd < 0)
		return;
	safe_event_free(c->hangup);
	c->hangup =
	    event_new(c->server->base, fd, (early_close ? EV_CLOSED : EV_READ) | EV_PERSIST, hangup_cb, c);
	if (c->hangup)
		event_add(c->hangup, NULL);
}

static void deadline_cb(evutil_socket_t fd, short what, void *userdata)
{
	struct http_conn *c = userdata;
	evutil_socket_t sfd = bufferevent_getfd(c->bev);

	log_info("connection %llu CALLER_UID=%u: no complete request, or a response not taken, within %u s; "
		 "closing",
		 (unsigned long long)c->id, (unsigned)c->uid, c->server->lim.request_timeout_s);
	/* evhttp sees EOF and frees the connection through its normal path. */
	if (sfd >= 0)
		shutdown(sfd, SHUT_RDWR);
}

static void log_caller(const struct http_conn *c, bool refused)
{
	const char *what = refused ? "refused (connection cap reached)" : "accepted";
	int prio = refused ? LOG_LEVEL_WARNING : LOG_LEVEL_INFO;

	if (c->tcp)
		log_msg(prio, "connection %llu CALLER=tcp PEER=%s %s", (unsigned long long)c->id, c->peer,
			what);
	else if (getenv("JOURNAL_STREAM"))
		sd_journal_send("MESSAGE=runnerd: connection %llu from uid %u pid %d %s",
				(unsigned long long)c->id, (unsigned)c->uid, (int)c->pid, what, "PRIORITY=%d",
				refused ? 4 : 6, "CALLER_UID=%u", (unsigned)c->uid, "CALLER_PID=%d",
				(int)c->pid, NULL);
	else
		log_msg(prio, "connection %llu CALLER_UID=%u CALLER_PID=%d %s", (unsigned long long)c->id,
			(unsigned)c->uid, (int)c->pid, what);
}

static void format_peer(const struct sockaddr_storage *ss, char *buf, size_t size)
{
	char addr[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
		if (inet_ntop(AF_INET, &in->sin_addr, addr, sizeof(addr)))
			snprintf(buf, size, "%s:%u", addr, (unsigned)ntohs(in->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
		if (inet_ntop(AF_INET6, &in6->sin6_addr, addr, sizeof(addr)))
			snprintf(buf, size, "[%s]:%u", addr, (unsigned)ntohs(in6->sin6_port));
	}
}

/* Who is on the other end: SO_PEERCRED on the UNIX socket, the address on
 * TCP (whose callers share one budget of runs: they are one principal, the
 * token's holder). */
static void conn_identify(struct http_conn *c, int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0 && ss.ss_family != AF_UNIX) {
		c->tcp = true;
		c->uid = HTTP_TCP_CALLER;
		sl = sizeof(ss);
		snprintf(c->peer, sizeof(c->peer), "?");
		if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0)
			format_peer(&ss, c->peer, sizeof(c->peer));
		return;
	}
	struct ucred cred = {.pid = 0, .uid = (uid_t)-1, .gid = (gid_t)-1};
	sl = sizeof(cred);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &sl) == 0) {
		c->uid = cred.uid;
		c->gid = cred.gid;
		c->pid = cred.pid;
	}
}

static void input_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct http_conn *c = arg;

	if (info->n_added)
		c->receiving = true;
}

/* The oldest connection with no run in flight that is idle, or if none
 * is, that is still sending its request; NULL if all have runs. */
static struct http_conn *conn_evictable(struct http_server *s, struct http_conn *newc)
{
	struct http_conn *c, *uploading = NULL;

	TAILQ_FOREACH(c, &s->conns, link) {
		if (c == newc || c->exec || c->refused)
			continue;
		if (!c->receiving)
			return c;
		if (!uploading)
			uploading = c;
	}
	return uploading;
}

/* At the connection cap, a new client takes the place of the oldest
 * idle connection (keep-alive, nothing sent since its last response), or
 * when there is none, of the oldest one still sending its request:
 * otherwise a few hundred idle sockets would lock everyone, /health
 * included, out until their deadline, while a client in the middle of an
 * upload loses its place only to a flood of uploads. Connections with a
 * run in flight are never evicted; if all are busy, the new one is
 * refused. */
static bool conn_evict_idle(struct http_server *s, struct http_conn *newc)
{
	struct http_conn *oldest = conn_evictable(s, newc);

	if (!oldest)
		return false;
	log_warn("connection %llu CALLER_UID=%u evicted: connection cap reached, it was idle",
		 (unsigned long long)oldest->id, (unsigned)oldest->uid);
	oldest->refused = true; /* no longer counted */
	s->n_conns--;
	evutil_socket_t fd = bufferevent_getfd(oldest->bev);
	if (fd >= 0)
		shutdown(fd, SHUT_RDWR);
	return true;
}

static void adopt_cb(evutil_socket_t unused, short what, void *userdata)
{
	struct http_server *s = userdata;
	struct http_conn *c;

	while ((c = TAILQ_FIRST(&s->fresh))) {
		evutil_socket_t fd = bufferevent_getfd(c->bev);
		void *arg = NULL;

		TAILQ_REMOVE(&s->fresh, c, link);
		bufferevent_getcb(c->bev, NULL, NULL, NULL, &arg);
		if (fd < 0 || !arg) {
			/* evhttp gave up on this connection already (allocation
			 * failure during accept). */
			conn_free(c);
			continue;
		}
		c->evcon = arg;
		conn_identify(c, fd);
		TAILQ_INSERT_TAIL(&s->conns, c, link);
		evhttp_connection_set_closecb(c->evcon, conn_close_cb, c);
		if (s->n_conns >= s->lim.max_connections && !conn_evict_idle(s, c)) {
			c->refused = true;
			log_caller(c, true);
			shutdown(fd, SHUT_RDWR);
			continue;
		}
		s->n_conns++;
		log_caller(c, false);
		c->receiving = evbuffer_get_length(bufferevent_get_input(c->bev)) > 0;
		c->input_cb = evbuffer_add_cb(bufferevent_get_input(c->bev), input_cb, c);
		deadline_arm(c);
	}
}

static struct bufferevent *bev_cb(struct event_base *base, void *userdata)
{
	struct http_server *s = userdata;
	struct http_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL; /* evhttp makes its own; that connection goes uncounted */
	c->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	c->deadline = evtimer_new(base, deadline_cb, c);
	if (!c->bev || !c->deadline) {
		if (c->bev)
			bufferevent_free(c->bev);
		conn_free(c);
		return NULL;
	}
	c->server = s;
	c->id = ++s->next_id;
	c->uid = (uid_t)-1;
	TAILQ_INSERT_TAIL(&s->fresh, c, link); /* adopted in accept order */
	event_active(s->adopt, EV_TIMEOUT, 1);
	return c->bev;
}

/* Every response is complete (sent by us or by evhttp): forget the request,
 * and give a kept-alive connection a new deadline for its next request. */
static void request_complete_cb(struct evhttp_request *req, void *userdata)
{
	struct http_conn *c = userdata;

	if (c->exec && c->exec->req == req)
		c->exec->req = NULL;
	if (c->call && c->call->req == req)
		c->call->req = NULL;
	c->receiving = false;
	deadline_arm(c);
}

/* ---- routes ---- */

/* The response of a run. Text output that JSON escapes heavily (a NUL
 * becomes six bytes) could make a response of ~25 MiB: past
 * max_response_bytes the streams come as base64 instead (stdout_b64 and
 * stderr_b64, as if the client had asked for it), which bounds every
 * response to about 4/3 of its output. */
static json_t *render_result(struct http_server *s, const struct job_request *jreq,
			     const struct job_result *res)
{
	json_t *j = api_render_result(jreq, res);

	if (j && !jreq->base64_output && json_dumpb(j, NULL, 0, JSON_COMPACT) > s->lim.max_response_bytes) {
		struct job_request b64 = *jreq; /* read only: a shallow copy */
		b64.base64_output = true;
		json_decref(j);
		j = api_render_result(&b64, res);
	}
	return j;
}

static void done_cb(const struct job_request *jreq, const struct job_result *res, void *userdata)
{
	struct http_exec *e = userdata;
	struct http_conn *c = e->conn;

	e->finished = true;
	if (c) {
		c->exec = NULL;
		hangup_watch(c, false);
	}
	e->conn = NULL;
	if (e->req) {
		send_json(e->req, 200, render_result(e->server, jreq, res));
		if (c)
			deadline_arm(c); /* the response must be taken in time too */
	}
	/* else: evhttp already answered this request on its own */
	e->req = NULL;
	if (!e->in_execute)
		exec_forget(e);
}

static void handle_execute(struct http_server *s, struct http_conn *c, struct evhttp_request *req)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	struct job_request jreq = {0};
	struct http_exec *e;
	char *error = NULL;
	const char *body;
	int r;

	if (len > s->lim.max_body_bytes) {
		send_error(req, 413, "request body too large");
		return;
	}
	body = len ? (const char *)evbuffer_pullup(in, -1) : "";
	if (!body) {
		send_error(req, 500, "out of memory");
		return;
	}
	r = api_parse_execute(body, len, &s->lim, NULL, &jreq, &error);
	if (r < 0) {
		int code = r == -EINVAL ? 400 : r == -EMSGSIZE ? 413 : 500;
		log_debug("bad execute request CALLER_UID=%u: %s", (unsigned)c->uid,
			  error ? error : strerror(-r));
		send_error(req, code, error ? error : strerror(-r));
		free(error);
		return;
	}
	r = caller_take(s, c->uid);
	if (r < 0) {
		job_request_free(&jreq);
		if (r == -EAGAIN) {
			log_warn("execute refused CALLER_UID=%u: %u runs of this caller in flight or queued",
				 (unsigned)c->uid, s->lim.caller_runs_max);
			evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "1");
			send_error(req, 429, "too many runs of this caller in flight or queued; retry later");
		} else
			send_error(req, 500, "out of memory");
		return;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		caller_put(s, c->uid);
		job_request_free(&jreq);
		send_error(req, 500, "out of memory");
		return;
	}
	e->server = s;
	e->uid = c->uid;
	jreq.caller_uid = c->uid;
	memcpy(e->request_id, jreq.request_id, sizeof(e->request_id));
	e->req = req;
	e->conn = c;
	c->exec = e;
	log_info("execute REQUEST_ID=%s LANGUAGE=%s CALLER_UID=%u", e->request_id, jreq.language,
		 (unsigned)c->uid);

	e->in_execute = true;
	/* On success the service moves the contents out of jreq (the pool
	 * copies the struct and zeroes ours); the struct itself stays ours. */
	r = s->ops.execute(s->ops.ctx, &jreq, done_cb, e, &e->handle, &error);
	e->in_execute = false;
	if (r >= 0) {
		if (e->finished)
			exec_forget(e);
		else
			hangup_watch(c, true);
		return;
	}
	c->exec = NULL;
	if (r == -ENOENT)
		send_error(req, 404, error ? error : "unknown language");
	else if (r == -EAGAIN) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "1");
		send_error(req, 429, error ? error : "too many runs queued; retry later");
	} else if (r == -ENODEV)
		send_error(req, 503, error ? error : "language not available");
	else if (r == -EINVAL) /* e.g. an extra file named like the program */
		send_error(req, 400, error ? error : "invalid request");
	else {
		log_warn("execute REQUEST_ID=%s failed: %s", e->request_id, error ? error : strerror(-r));
		send_error(req, 503, error ? error : strerror(-r));
	}
	free(error);
	job_request_free(&jreq);
	exec_forget(e);
}

static void method_not_allowed(struct evhttp_request *req, const char *allow);

static void call_reply_cb(int code, json_t *body, void *userdata)
{
	struct http_call *k = userdata;
	struct http_conn *c = k->conn;

	k->replied = true;
	if (k->req)
		send_json(k->req, code, body);
	else
		json_decref(body);
	k->req = NULL;
	if (c) {
		c->call = NULL;
		deadline_arm(c);
	}
	if (!k->in_call)
		free(k);
}

/* The request body as a JSON object, or NULL with a 400 sent. An empty
 * body is an empty object. */
static json_t *request_object(struct http_server *s, struct evhttp_request *req)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	json_error_t jerr;
	json_t *j;

	if (len == 0)
		return json_object();
	if (len > s->lim.max_body_bytes) {
		send_error(req, 413, "request body too large");
		return NULL;
	}
	const char *body = (const char *)evbuffer_pullup(in, -1);
	j = body ? json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr) : NULL;
	if (!j || !json_is_object(j)) {
		char msg[300];
		snprintf(msg, sizeof(msg), "the body must be a JSON object%s%s", j ? "" : ": ",
			 j ? "" : jerr.text);
		json_decref(j);
		send_error(req, 400, msg);
		return NULL;
	}
	return j;
}

/* Management calls: anyone may read; only administrators (uid 0 or the
 * admin group on the socket, the token's holder on TCP) may change. */
static void handle_call(struct http_server *s, struct http_conn *c, struct evhttp_request *req,
			const char *path)
{
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
	struct service_call call = {.path = path};
	json_auto_t *body = NULL;

	if (cmd == EVHTTP_REQ_GET || cmd == EVHTTP_REQ_HEAD)
		call.method = "GET";
	else if (cmd == EVHTTP_REQ_POST)
		call.method = "POST";
	else if (cmd == EVHTTP_REQ_DELETE)
		call.method = "DELETE";
	else
		return method_not_allowed(req, "GET, HEAD, POST, DELETE");
	if (strcmp(call.method, "GET") != 0) {
		bool admin = c->tcp ? s->token != NULL : auth_is_admin(c->uid, c->gid, s->admin_gid);
		if (!admin) {
			log_info("refused %s %s CALLER_UID=%u: not an administrator", call.method, path,
				 (unsigned)c->uid);
			send_error(req, 403,
				   c->tcp
				       ? "administrators only: this TCP listener has no token"
				       : "administrators only: uid 0 or a member of runnerd's admin group");
			return;
		}
		log_info("%s %s CALLER_UID=%u", call.method, path, (unsigned)c->uid);
	}
	if (query) {
		struct evkeyvalq params;
		if (evhttp_parse_query_str(query, &params) == 0) {
			const char *v = evhttp_find_header(&params, "remote");
			call.remote = v && (strcmp(v, "true") == 0 || strcmp(v, "1") == 0);
			evhttp_clear_headers(&params);
		}
	}
	if (cmd == EVHTTP_REQ_POST) {
		body = request_object(s, req);
		if (!body)
			return;
		call.body = body;
	}
	struct http_call *k = calloc(1, sizeof(*k));
	if (!k)
		return send_error(req, 500, "out of memory");
	*k = (struct http_call){.server = s, .conn = c, .req = req, .in_call = true};
	c->call = k;
	s->ops.call(s->ops.ctx, &call, call_reply_cb, k, &k->pending);
	k->in_call = false;
	if (k->replied)
		free(k);
}

static bool path_under(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);
	return strncmp(path, prefix, n) == 0 && (path[n] == 0 || path[n] == '/');
}

static void method_not_allowed(struct evhttp_request *req, const char *allow)
{
	evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", allow);
	send_error(req, 405, "method not allowed");
}

static void route(struct http_server *s, struct http_conn *c, struct evhttp_request *req)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	bool get = cmd == EVHTTP_REQ_GET || cmd == EVHTTP_REQ_HEAD;

	if (c->tcp && s->token &&
	    !auth_bearer_ok(evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization"),
			    s->token)) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
				  "Bearer realm=\"runnerd\"");
		log_info("connection %llu PEER=%s: request without the bearer token",
			 (unsigned long long)c->id, c->peer);
		send_error(req, 401, "this listener requires 'Authorization: Bearer TOKEN'");
	} else if (!path)
		send_error(req, 400, "bad request target");
	else if (strcmp(path, "/health") == 0) {
		if (!get)
			return method_not_allowed(req, "GET, HEAD");
		json_t *h = s->ops.health(s->ops.ctx);
		const char *st = h ? json_string_value(json_object_get(h, "status")) : NULL;
		send_json(req, st && strcmp(st, "starting") == 0 ? 503 : 200, h);
	} else if (strcmp(path, "/metrics") == 0) {
		if (!get)
			return method_not_allowed(req, "GET, HEAD");
		send_metrics(req, s->ops.metrics(s->ops.ctx));
	} else if (strcmp(path, "/api/v1/languages") == 0) {
		if (!get)
			return method_not_allowed(req, "GET, HEAD");
		send_json(req, 200, s->ops.languages(s->ops.ctx));
	} else if (path_under(path, "/api/v1/languages") || path_under(path, "/api/v1/rootfs") ||
		   path_under(path, "/api/v1/snapshots")) {
		handle_call(s, c, req, path);
	} else if (strcmp(path, "/api/v1/execute") == 0) {
		if (cmd != EVHTTP_REQ_POST)
			return method_not_allowed(req, "POST");
		handle_execute(s, c, req);
	} else
		send_error(req, 404, "no such endpoint");
}

/* The connection's deadline is off while a request is served (a run may
 * take long) and on again from the moment its response is sent: a client
 * that does not take its response within request_timeout_s is cut off
 * like one that does not send its request. */
static void request_cb(struct evhttp_request *req, void *userdata)
{
	struct http_server *s = userdata;
	struct http_conn *c = conn_find(s, evhttp_request_get_connection(req));

	if (!c) {
		/* Not adopted (allocation failure at accept): serve nothing. */
		evhttp_send_error(req, 503, NULL);
		return;
	}
	deadline_disarm(c);
	evhttp_request_set_on_complete_cb(req, request_complete_cb, c);
	route(s, c, req);
	if (!c->exec && !c->call) /* answered already */
		deadline_arm(c);
}

/* ---- listeners ---- */

static int server_listen(struct http_server *s, int fd)
{
	struct evconnlistener *listener =
	    evconnlistener_new(s->base, NULL, NULL, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 128, fd);

	if (!listener)
		return -ENOMEM;
	if (!evhttp_bind_listener(s->http, listener)) {
		evconnlistener_free(listener); /* closes fd */
		return -ENOMEM;
	}
	return 0;
}

/* The server without a listener yet. */
static int server_alloc(struct event_base *base, const struct api_limits *lim, const struct service_ops *ops,
			struct http_server **ret)
{
	_cleanup_(http_server_freep) struct http_server *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	TAILQ_INIT(&s->fresh);
	TAILQ_INIT(&s->conns);
	s->base = base;
	s->lim = *lim;
	s->ops = *ops;
	s->admin_gid = (gid_t)-1;
	s->http = evhttp_new(base);
	s->adopt = event_new(base, -1, 0, adopt_cb, s);
	if (!s->http || !s->adopt)
		return -ENOMEM;
	evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
						EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
						EVHTTP_REQ_PATCH);
	evhttp_set_max_body_size(s->http, (ev_ssize_t)lim->max_body_bytes);
	evhttp_set_max_headers_size(s->http, (ev_ssize_t)lim->max_header_bytes);
	evhttp_set_timeout(s->http, (int)lim->request_timeout_s);
	evhttp_set_default_content_type(s->http, "application/json");
	evhttp_set_bevcb(s->http, bev_cb, s);
	evhttp_set_gencb(s->http, request_cb, s);
	*ret = TAKE_PTR(s);
	return 0;
}

int http_server_new(struct event_base *base, const char *socket_path, mode_t mode,
		    const struct api_limits *lim, const struct service_ops *ops, struct http_server **ret)
{
	_cleanup_(http_server_freep) struct http_server *s = NULL;
	int fd, r;

	if (!mode)
		mode = 0660;
	r = server_alloc(base, lim, ops, &s);
	if (r < 0)
		return r;
	fd = listen_unix(socket_path, mode);
	if (fd < 0)
		return fd;
	s->socket_path = strdup(socket_path);
	r = server_listen(s, fd); /* the listener owns fd, or closed it */
	if (r < 0 || !s->socket_path)
		return r < 0 ? r : -ENOMEM;
	log_info("listening on %s (mode %04o)", socket_path, (unsigned)mode);
	*ret = TAKE_PTR(s);
	return 0;
}

int http_server_new_listening(struct event_base *base, int fd, const struct api_limits *lim,
			      const struct service_ops *ops, struct http_server **ret)
{
	_cleanup_(http_server_freep) struct http_server *s = NULL;
	_cleanup_close_ int owned = fd;
	int r;

	r = server_alloc(base, lim, ops, &s);
	if (r < 0)
		return r;
	/* systemd passes blocking sockets: the listener accepts until EAGAIN. */
	if (evutil_make_socket_nonblocking(owned) < 0 || evutil_make_socket_closeonexec(owned) < 0)
		return -errno;
	r = server_listen(s, TAKE_FD(owned));
	if (r < 0)
		return r;
	*ret = TAKE_PTR(s);
	return 0;
}

void http_server_set_limits(struct http_server *s, const struct api_limits *lim)
{
	s->lim.caller_runs_max = lim->caller_runs_max;
}

void http_server_free(struct http_server *s)
{
	struct http_conn *c;

	if (!s)
		return;
	/* Frees the listener and every connection; conn_close_cb cancels runs. */
	if (s->http)
		evhttp_free(s->http);
	/* Accepted but never adopted: their bufferevents died with evhttp. */
	while ((c = TAILQ_FIRST(&s->fresh))) {
		TAILQ_REMOVE(&s->fresh, c, link);
		conn_free(c);
	}
	safe_event_free(s->adopt);
	if (s->socket_path) {
		unlink(s->socket_path);
		free(s->socket_path);
	}
	free(s->callers);
	free(s->token);
	free(s);
}

int http_server_listen_tcp(struct http_server *s, int fd, const char *token)
{
	_cleanup_close_ int owned = fd;
	int r;

	if (token) {
		s->token = strdup(token);
		if (!s->token)
			return -ENOMEM;
	}
	r = server_listen(s, owned);
	TAKE_FD(owned);
	return r;
}

void http_server_set_admin_gid(struct http_server *s, gid_t gid)
{
	s->admin_gid = gid;
}

unsigned http_server_connections(const struct http_server *s)
{
	return s->n_conns;
}
