/* api.h: the JSON API of runnerd without any sockets: parsing and bounding a
 * POST /api/v1/execute body into a struct job_request, and rendering a struct
 * job_result as the response body. Pure functions (plus getrandom() and the
 * monotonic clock for the request id and arrival time), so hostile input is
 * unit tested and fuzzed here; daemon/http.c only moves bytes.
 *
 * The request and response fields, their types, defaults and maxima are
 * documented once, in docs/api.md ("POST /api/v1/execute"); this file
 * only says how the code holds them. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "job.h"

#define API_MAX_DEPTH	 32
#define API_LANGUAGE_MAX 64
/* Runs in flight or waiting per caller uid (--caller-runs-max). */
#define API_CALLER_RUNS_MAX 32

/* The defaults are the agent's (RD_DEFAULT_* in proto/guest.h), so a
 * request that sets no limit gets what a job without limits would. */
struct api_limits {
	uint32_t timeout_ms_default;   /* 10 s */
	uint32_t timeout_ms_max;       /* 60 s */
	uint32_t cpu_ms_default;       /* 0: same as the run's timeout */
	uint32_t cpu_ms_max;	       /* 60 s */
	uint32_t memory_kb_default;    /* 256 MiB */
	uint32_t memory_kb_max;	       /* 1 GiB */
	uint32_t output_bytes_default; /* 64 KiB per stream */
	uint32_t output_bytes_max;     /* 1 MiB per stream */
	size_t max_body_bytes;	       /* 8 MiB: larger bodies get 413 */
	size_t max_files;	       /* 16 extra files */
	size_t max_source_bytes;       /* 4 MiB: code + files, decoded */
	size_t max_stdin_bytes;	       /* 1 MiB, decoded */
	/* HTTP layer (daemon/http.c) */
	size_t max_header_bytes;    /* 64 KiB */
	unsigned request_timeout_s; /* 30: deadline for a whole request to arrive, and idle timeout */
	unsigned max_connections;   /* 256: more are closed at once */
	unsigned caller_runs_max;   /* 32: runs in flight or queued per caller uid; more get 429 */
	size_t max_response_bytes;  /* 8 MiB: past it a run's streams are answered as base64 */
};

/* Fills the defaults listed above. */
void api_limits_init(struct api_limits *lim);

/* Parses an execute request body. On success fills *ret (which the caller
 * then owns; free its contents with job_request_free() or hand it to the
 * service) and returns 0. Errors:
 *   -EINVAL    the request is wrong (400); *ret_error says why, naming the field
 *   -EMSGSIZE  body over max_body_bytes (413); *ret_error set
 *   -ENOMEM, or -errno from getrandom()
 * ret_error (may be NULL) receives a malloc'd message on every error.
 *
 * The program is ret->files[0]. Its name is the language's file name, which
 * this layer does not know: if default_file_name is not NULL it is copied
 * there (and extra files may not use it); if NULL, files[0].name stays NULL
 * and whoever resolves the language (the pool) must name it and reject
 * extra files that collide with that name. Extra files follow in request
 * order. request_id is 16 random hex digits, arrival_ns is CLOCK_MONOTONIC. */
int api_parse_execute(const char *body, size_t len, const struct api_limits *lim,
		      const char *default_file_name, struct job_request *ret, char **ret_error);

/* The response body of a finished run (see api.c for the fields). Program
 * output is passed through utf8_sanitize() ("*_lossy": true when something
 * was replaced), or base64-encoded as stdout_b64/stderr_b64 when the request
 * asked for encoding "base64". NUL bytes survive either way. A timed-out run
 * reports exit_code 124, like timeout(1). NULL only on allocation failure. */
json_t *api_render_result(const struct job_request *req, const struct job_result *res);

/* {"error": message} */
json_t *api_render_error(const char *message);
