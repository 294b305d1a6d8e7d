/* ctl.h: what every runnerctl command shares: where runnerd is and whether
 * to print its JSON unchanged (set once by main.c), the one-line error on
 * stderr, and the exit codes a shell script can rely on. A command's
 * exchange with runnerd ends in one of three ways: the answer it wanted,
 * the answer printed unchanged (--json), or a refusal or failure of
 * runnerd that one line on stderr explains and EXIT_RUNNERD reports. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "http.h"

#define EXIT_RUNNERD 125 /* runnerd (or the way to it) failed or refused: like env(1)/timeout(1) */
#define EXIT_TIMEOUT 124 /* a run, or the wait for a task, ran out of time: like timeout(1) */

struct ctl {
	struct http_target http;
	bool json; /* --json: print runnerd's answers unchanged */
};

/* "runnerctl: " + the message + "\n" on stderr. */
void ctl_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

bool ctl_write_all(int fd, const void *p, size_t n);

/* Writes the body to stdout unchanged (plus a newline if it lacks one):
 * 0 for an HTTP 2xx answer, EXIT_RUNNERD otherwise. */
int ctl_print_raw(const struct http_response *resp);

/* The one line for an answer that is not what was asked for: runnerd's
 * {"error": text} if j has one, else the status. Returns EXIT_RUNNERD. */
int ctl_refused(const struct http_response *resp, json_t *j);

/* GET path and its JSON object. Returns 0 and *ret (an object, owned by
 * the caller) for a 200 answer (or one with a "status" field: /health
 * says "degraded" with 503); with ctl->json the answer is printed instead
 * and the result is -1 after a 2xx answer; else EXIT_RUNNERD after one
 * line on stderr. */
int ctl_get(const struct ctl *ctl, const char *path, json_t **ret);

/* GET path and its JSON object, whatever --json says (polling a task):
 * 0 and *ret (owned by the caller) for a 200 answer with an object, else
 * EXIT_RUNNERD after one line on stderr. */
int ctl_fetch(const struct ctl *ctl, const char *path, json_t **ret);
