/* http.c: see http.h. Over the socket the URL's host is a placeholder
 * ("http://runnerd"); over TCP it is the listener's. The bearer token goes
 * only to a URL the operator named, never to the socket, whose access is
 * decided by its owner and group. */
#include "http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include <curl/curl.h>

#include "cleanup.h"
#include "config.h"
#include "ctl.h"

void http_response_done(struct http_response *r)
{
	free(r->body);
	r->body = NULL;
	r->body_len = 0;
}

static size_t on_header(char *line, size_t size, size_t nmemb, void *userdata)
{
	struct http_response *resp = userdata;
	size_t n = size * nmemb;

	if (n > 0 && n <= 2 && (line[0] == '\r' || line[0] == '\n'))
		resp->headers_done = true;
	return n;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct http_response *resp = userdata;
	size_t n = size * nmemb;
	char *nb;

	if (n > HTTP_RESPONSE_MAX - resp->body_len) {
		resp->too_large = true;
		return 0; /* fails the transfer */
	}
	nb = realloc(resp->body, resp->body_len + n + 1);
	if (!nb)
		return 0;
	memcpy(nb + resp->body_len, data, n);
	resp->body = nb;
	resp->body_len += n;
	resp->body[resp->body_len] = '\0';
	return n;
}

bool http_url_valid(const char *url)
{
	const char *host;

	if (strncmp(url, "http://", 7) == 0)
		host = url + 7;
	else if (strncmp(url, "https://", 8) == 0)
		host = url + 8;
	else
		return false;
	return *host && *host != '/' && !strpbrk(url, "?# \t\r\n") && strlen(url) < 4096;
}

int http_path_segment(const char *s, char **ret)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(s);
	char *out, *o;

	if (n == 0 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return -EINVAL;
	if (n > 4096)
		return -ENAMETOOLONG;
	out = o = malloc(3 * n + 1);
	if (!out)
		return -ENOMEM;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    strchr("._+-~", *p)) {
			*o++ = (char)*p;
		} else {
			*o++ = '%';
			*o++ = hex[*p >> 4];
			*o++ = hex[*p & 15];
		}
	}
	*o = '\0';
	*ret = out;
	return 0;
}

/* The URL of path on t: malloc'd, or NULL. */
static char *target_url(const struct http_target *t, const char *path)
{
	char *url;
	size_t base_len;

	if (!t->url)
		return asprintf(&url, "http://runnerd%s", path) < 0 ? NULL : url;
	base_len = strlen(t->url);
	while (base_len > 0 && t->url[base_len - 1] == '/')
		base_len--;
	return asprintf(&url, "%.*s%s", (int)base_len, t->url, path) < 0 ? NULL : url;
}

/* Where t is, for messages. */
static const char *target_name(const struct http_target *t)
{
	return t->url ? t->url : t->socket_path;
}

int http_request(const struct http_target *t, const char *method, const char *path, const char *body,
		 size_t body_len, struct http_response *ret)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	_cleanup_free_ char *url = NULL, *authorization = NULL;
	struct curl_slist *headers = NULL, *h;
	/* "Accept:" and "Expect:" drop curl's defaults; no 100-continue wait. */
	const char *header_lines[] = {
	    "Connection: close",
	    "Accept:",
	    "Expect:",
	    body ? "Content-Type: application/json" : NULL,
	    NULL, /* Authorization */
	};
	size_t n_lines = 3 + (body != NULL);
	long status = 0, os_errno = 0;
	bool oom;
	CURLcode c;
	CURL *curl;
	int r = -EPROTO;

	if (!t->url && strlen(t->socket_path) >= sizeof(((struct sockaddr_un *)NULL)->sun_path)) {
		ctl_fail("socket path too long: %s", t->socket_path);
		return -ENAMETOOLONG;
	}
	url = target_url(t, path);
	oom = !url;
	if (t->url && t->token) {
		if (asprintf(&authorization, "Authorization: Bearer %s", t->token) < 0)
			authorization = NULL; /* asprintf() leaves it undefined */
		header_lines[n_lines++] = authorization;
		oom = oom || !authorization;
	}
	curl = oom ? NULL : curl_easy_init();
	oom = !curl;
	for (size_t i = 0; !oom && i < n_lines; i++) {
		h = curl_slist_append(headers, header_lines[i]);
		oom = !h;
		headers = h ? h : headers;
	}
	if (oom) {
		curl_easy_cleanup(curl);
		curl_slist_free_all(headers);
		ctl_fail("%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	*ret = (struct http_response){0};
	if (t->url) {
		curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	} else {
		curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, t->socket_path);
		curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http");
	}
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_PROXY, ""); /* never one from the environment */
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "runnerctl/" RUNNERD_VERSION);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, ret);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, ret);
	if (strcmp(method, "POST") == 0) {
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body ? body : "");
	} else if (strcmp(method, "GET") != 0) {
		curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	}
	c = curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(curl, CURLINFO_OS_ERRNO, &os_errno);
	curl_easy_cleanup(curl);
	curl_slist_free_all(headers);
	if (!errbuf[0])
		snprintf(errbuf, sizeof(errbuf), "%s", curl_easy_strerror(c));

	switch (c) {
	case CURLE_OK:
		if (status >= 100 && status <= 599) {
			ret->status = (int)status;
			if (!ret->body) { /* an empty body */
				ret->body = strdup("");
				if (!ret->body) {
					ctl_fail("%s", strerror(ENOMEM));
					return -ENOMEM;
				}
			}
			return 0;
		}
		ctl_fail("malformed HTTP response from runnerd");
		break;
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
		r = os_errno > 0 ? -(int)os_errno : -ECONNREFUSED;
		ctl_fail("cannot connect to runnerd at %s: %s", target_name(t),
			 os_errno > 0 ? strerror((int)os_errno) : errbuf);
		break;
	case CURLE_WRITE_ERROR:
		r = ret->too_large ? -EFBIG : -ENOMEM;
		if (ret->too_large)
			ctl_fail("response from runnerd larger than 64 MiB");
		else
			ctl_fail("reading from runnerd: %s", strerror(ENOMEM));
		break;
	case CURLE_GOT_NOTHING:
	case CURLE_UNSUPPORTED_PROTOCOL: /* what curl makes of a reply without a status line */
		ctl_fail("runnerd sent no HTTP response");
		break;
	case CURLE_WEIRD_SERVER_REPLY:
		ctl_fail("malformed HTTP response from runnerd");
		break;
	case CURLE_PARTIAL_FILE:
		ctl_fail(ret->headers_done ? "response from runnerd cut short"
					   : "malformed HTTP response from runnerd");
		break;
	default:
		r = os_errno > 0 ? -(int)os_errno : -EIO;
		ctl_fail("%s runnerd: %s", c == CURLE_RECV_ERROR ? "reading from" : "talking to", errbuf);
		break;
	}
	http_response_done(ret);
	return r;
}
