/* ctl.c: see ctl.h. */
#include "ctl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

void ctl_fail(const char *fmt, ...)
{
	va_list ap;
	fputs("runnerctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

bool ctl_write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n > 0) {
		ssize_t w = write(fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		c += w;
		n -= (size_t)w;
	}
	return true;
}

int ctl_print_raw(const struct http_response *resp)
{
	ctl_write_all(STDOUT_FILENO, resp->body, resp->body_len);
	if (resp->body_len == 0 || resp->body[resp->body_len - 1] != '\n')
		ctl_write_all(STDOUT_FILENO, "\n", 1);
	return resp->status >= 200 && resp->status < 300 ? 0 : EXIT_RUNNERD;
}

int ctl_refused(const struct http_response *resp, json_t *j)
{
	const char *err = j ? json_string_value(json_object_get(j, "error")) : NULL;

	if (err)
		ctl_fail("runnerd: %s (HTTP %d)", err, resp->status);
	else
		ctl_fail("runnerd answered HTTP %d", resp->status);
	return EXIT_RUNNERD;
}

int ctl_get(const struct ctl *ctl, const char *path, json_t **ret)
{
	struct http_response resp = {0};
	json_t *j;
	int r = http_request(&ctl->http, "GET", path, NULL, 0, &resp);

	if (r < 0)
		return EXIT_RUNNERD;
	if (ctl->json) {
		r = ctl_print_raw(&resp);
		http_response_done(&resp);
		return r ? r : -1; /* -1: printed, nothing more to do */
	}
	j = json_loadb(resp.body, resp.body_len, 0, NULL);
	if (!json_is_object(j) || (resp.status != 200 && !json_object_get(j, "status"))) {
		r = ctl_refused(&resp, j);
		json_decref(j);
		http_response_done(&resp);
		return r;
	}
	http_response_done(&resp);
	*ret = j;
	return 0;
}

int ctl_fetch(const struct ctl *ctl, const char *path, json_t **ret)
{
	struct http_response resp = {0};
	json_t *j;
	int r = http_request(&ctl->http, "GET", path, NULL, 0, &resp);

	if (r < 0)
		return EXIT_RUNNERD;
	j = json_loadb(resp.body, resp.body_len, 0, NULL);
	if (resp.status != 200 || !json_is_object(j)) {
		r = resp.status == 200 ? (ctl_fail("runnerd sent invalid JSON"), EXIT_RUNNERD)
				       : ctl_refused(&resp, j);
		json_decref(j);
		http_response_done(&resp);
		return r;
	}
	http_response_done(&resp);
	*ret = j;
	return 0;
}
