/* http.h: runnerctl's transport: one HTTP/1.1 exchange with runnerd per
 * call (libcurl, "Connection: close"), over its UNIX socket or to a TCP
 * listener's URL with a bearer token. Responses are bounded (64 MiB)
 * before anything parses them; no proxy is ever used and no redirect is
 * followed. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define HTTP_RESPONSE_MAX (64u << 20)

/* Where runnerd is. All strings borrowed. */
struct http_target {
	const char *socket_path; /* used when url is NULL */
	const char *url;	 /* base URL of a TCP listener ("http://127.0.0.1:8080"), or NULL */
	const char *token;	 /* bearer token sent with url, or NULL; never sent over the socket */
};

struct http_response {
	int status;
	char *body; /* owned, NUL-terminated; "" for an empty body */
	size_t body_len;
	bool headers_done, too_large;
};

/* One exchange: method is "GET", "POST" or "DELETE"; path starts with '/'
 * ("/api/v1/rootfs"); body (JSON, may be NULL) is sent with POST. Returns 0
 * and fills *ret (release with http_response_done()), or a negative errno
 * after one line on stderr has said what went wrong (runnerd unreachable,
 * no or a malformed answer, one too large). */
int http_request(const struct http_target *t, const char *method, const char *path, const char *body,
		 size_t body_len, struct http_response *ret);

void http_response_done(struct http_response *r);

/* s as one path segment: a language name is 1 to 64 of A-Z a-z 0-9 . _ + -,
 * and anything else is percent-encoded, so no name can reach another
 * resource. "", "." and ".." (which URL normalisation would turn into
 * another path) are -EINVAL. *ret is malloc'd. -ENOMEM. */
int http_path_segment(const char *s, char **ret);

/* url is usable as a base URL: http:// or https://, a host, no query or
 * fragment. */
bool http_url_valid(const char *url);
