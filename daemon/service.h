/* service.h: what the HTTP API layer (daemon/http.c, daemon/api.c) needs from
 * the rest of the daemon. main.c fills a struct service_ops with the pool's
 * functions; the API layer never touches pools or VMs directly. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "job.h"

struct service_exec; /* opaque: one execution in flight */

/* Called exactly once per successful execute() unless cancel() came first:
 * `res` is borrowed for the duration of the call. */
typedef void (*service_done_cb)(const struct job_request *req, const struct job_result *res, void *userdata);

/* A request for the management API: GET /api/v1/languages/NAME, and
 * everything under /api/v1/rootfs and /api/v1/snapshots (docs/api.md). The
 * HTTP layer has checked the method's right: only administrators reach a
 * non-GET one. */
struct service_call {
	const char *method; /* "GET", "POST" or "DELETE" */
	const char *path;   /* as requested, query removed */
	bool remote;	    /* ?remote=true */
	json_t *body;	    /* borrowed: the JSON object sent, or NULL */
};

struct service_pending; /* opaque: a call answered later */

/* Called exactly once per call unless forget() came first; takes body. */
typedef void (*service_reply_cb)(int code, json_t *body, void *userdata);

struct service_ops {
	/* GET /health body: {"status": "ok"|"degraded"|"starting", ...} */
	json_t *(*health)(void *ctx);
	/* GET /api/v1/languages body: {"languages": [ ... ]} */
	json_t *(*languages)(void *ctx);
	/* Takes ownership of *req on success (>= 0) and sets *ret_exec. Errors, with
	 * *req untouched:
	 *   -ENOENT  unknown language             (404)
	 *   -EAGAIN  queue full                   (429, Retry-After)
	 *   -ENODEV  language not ready/degraded  (503, message in *ret_error)
	 * ret_error: malloc'd text for the client, may be set on any error. */
	int (*execute)(void *ctx, struct job_request *req, service_done_cb done, void *userdata,
		       struct service_exec **ret_exec, char **ret_error);
	/* The client went away: the run is abandoned, its VM discarded; done is
	 * never called after this. */
	void (*cancel)(void *ctx, struct service_exec *exec);
	/* Answers a management call through reply, maybe before returning (then
	 * *ret_pending is NULL). */
	void (*call)(void *ctx, const struct service_call *call, service_reply_cb reply, void *userdata,
		     struct service_pending **ret_pending);
	/* The client of a pending call went away: reply is never called. */
	void (*forget)(void *ctx, struct service_pending *pending);
	/* GET /metrics body: Prometheus text format 0.0.4, malloc'd; NULL when
	 * out of memory. */
	char *(*metrics)(void *ctx);
	void *ctx;
};
