/* s3-client.c: see s3-client.h. Each request is one struct exchange: what
 * goes out (a file through pread, or a buffer), where the body goes (a
 * sink, a bounded buffer, or, for an error status, a bounded buffer for
 * the error document), and what went wrong on our side, so that the curl
 * result can be told apart from a full disk or a file that changed. */
#include "s3-client.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "config.h"
#include "error-util.h"
#include "s3-log.h"
#include "s3-xml.h"
#include "sha256.h"

#define ERROR_BODY_MAX	  (64u << 10)
#define LIST_PAGE_MAX	  (16u << 20)
#define LIST_PAGES_MAX	  1000
#define KEY_MAX		  1024
#define CONNECT_TIMEOUT_S 15L
#define LOW_SPEED_BYTES	  1024L
#define PROGRESS_EVERY_S  10
#define EMPTY_SHA256	  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

struct s3_client {
	const struct s3_config *cfg; /* borrowed */
	CURL *curl;		     /* owned; keeps the connection between requests */
	unsigned stall_seconds;
	char sigv4[96]; /* "aws:amz:REGION:s3" */
};

struct exchange {
	const char *method, *key;
	/* The body sent: a file or a buffer. */
	int in_fd;
	const uint8_t *in_data;
	uint64_t in_size, in_pos;
	struct sha256_ctx in_sha;
	int in_error;
	/* The body received: into a sink or a buffer, at most max bytes, or
	 * dropped (the answer to a PUT or DELETE says nothing we need). */
	bool discard;
	struct s3_sink *sink;
	char *buf;
	size_t buf_len;
	uint64_t max, got;
	bool too_large;
	int out_error;
	/* The body of an error status. */
	long status;
	char *err_body;
	size_t err_len;
	time_t next_report;
};

int s3_client_new(const struct s3_config *cfg, unsigned stall_seconds, struct s3_client **ret)
{
	struct s3_client *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->cfg = cfg;
	c->stall_seconds = stall_seconds;
	snprintf(c->sigv4, sizeof(c->sigv4), "aws:amz:%s:s3", cfg->region);
	c->curl = curl_easy_init();
	if (!c->curl) {
		free(c);
		return -ENOMEM;
	}
	*ret = c;
	return 0;
}

void s3_client_free(struct s3_client *c)
{
	if (!c)
		return;
	curl_easy_cleanup(c->curl);
	free(c);
}

const struct s3_config *s3_client_config(const struct s3_client *c)
{
	return c->cfg;
}

/* AWS's URI encoding: every byte but A-Z a-z 0-9 - . _ ~ as %XX, and '/'
 * too unless keep_slash. */
static int uri_encode(const char *s, bool keep_slash, char **ret)
{
	char *out = malloc(strlen(s) * 3 + 1), *o = out;

	if (!out)
		return -ENOMEM;
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (isalnum(ch) || strchr("-._~", ch) || (keep_slash && ch == '/'))
			*o++ = (char)ch;
		else
			o += sprintf(o, "%%%02X", ch);
	}
	*o = '\0';
	*ret = out;
	return 0;
}

static size_t write_cb(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct exchange *x = userdata;
	size_t n = size * nmemb;

	if (x->status < 200 || x->status > 299) {
		/* An error document: kept up to its bound, the rest read and dropped. */
		size_t take = ERROR_BODY_MAX - x->err_len < n ? ERROR_BODY_MAX - x->err_len : n;
		char *nb = realloc(x->err_body, x->err_len + take + 1);
		if (!nb)
			return 0;
		memcpy(nb + x->err_len, data, take);
		x->err_body = nb;
		x->err_len += take;
		nb[x->err_len] = '\0';
		return n;
	}
	if (x->discard)
		return n;
	if (n > x->max - x->got) {
		x->too_large = true;
		return 0;
	}
	x->got += n;
	if (x->sink) {
		x->out_error = s3_sink_write(x->sink, data, n);
		return x->out_error < 0 ? 0 : n;
	}
	char *nb = realloc(x->buf, x->buf_len + n + 1);
	if (!nb) {
		x->out_error = -ENOMEM;
		return 0;
	}
	memcpy(nb + x->buf_len, data, n);
	x->buf = nb;
	x->buf_len += n;
	nb[x->buf_len] = '\0';
	return n;
}

/* The status line of each response: the body callback must know whether
 * it is data or an error document before the first byte. */
static size_t header_cb(char *line, size_t size, size_t nmemb, void *userdata)
{
	struct exchange *x = userdata;
	size_t n = size * nmemb;
	char head[32];
	int status;

	/* The line is not NUL-terminated. */
	if (n < 12 || strncmp(line, "HTTP/", 5) != 0)
		return n;
	memcpy(head, line, n < sizeof(head) - 1 ? n : sizeof(head) - 1);
	head[n < sizeof(head) - 1 ? n : sizeof(head) - 1] = '\0';
	if (sscanf(head, "HTTP/%*s %3d", &status) == 1)
		x->status = status;
	return n;
}

static size_t read_cb(char *buf, size_t size, size_t nitems, void *userdata)
{
	struct exchange *x = userdata;
	size_t want = size * nitems;
	ssize_t n;

	if (want > x->in_size - x->in_pos)
		want = (size_t)(x->in_size - x->in_pos);
	if (want == 0)
		return 0;
	if (x->in_data) {
		memcpy(buf, x->in_data + x->in_pos, want);
		x->in_pos += want;
		return want;
	}
	do
		n = pread(x->in_fd, buf, want, (off_t)x->in_pos);
	while (n < 0 && errno == EINTR);
	if (n <= 0) {
		x->in_error = n < 0 ? -errno : -ESTALE;
		return CURL_READFUNC_ABORT;
	}
	sha256_update(&x->in_sha, (size_t)n, (const uint8_t *)buf);
	x->in_pos += (uint64_t)n;
	return (size_t)n;
}

/* curl rewinds the body when it must send it again (a redirect or an
 * authentication round); only a rewind to the start is needed. */
static int seek_cb(void *userdata, curl_off_t offset, int origin)
{
	struct exchange *x = userdata;

	if (origin != SEEK_SET || offset != 0)
		return CURL_SEEKFUNC_CANTSEEK;
	x->in_pos = 0;
	sha256_init(&x->in_sha);
	return CURL_SEEKFUNC_OK;
}

static int progress_cb(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	struct exchange *x = userdata;
	time_t now = time(NULL);
	char a[32], b[32];

	if (s3_interrupted)
		return 1;
	uint64_t total = (uint64_t)(ultotal > 0 ? ultotal : dltotal),
		 done = (uint64_t)(ultotal > 0 ? ulnow : dlnow);
	if (!x->next_report)
		x->next_report = now + PROGRESS_EVERY_S;
	else if (now >= x->next_report && total > 0) {
		s3_log("%s %s: %s of %s (%d%%)", x->method, x->key, s3_size(done, a), s3_size(total, b),
		       (int)(done * 100 / total));
		x->next_report = now + PROGRESS_EVERY_S;
	}
	return 0;
}

/* The printable part of an S3 error field, or NULL. */
static char *error_field(const struct exchange *x, const char *name, size_t max)
{
	char *v = NULL;

	if (!x->err_body || s3_xml_text(x->err_body, x->err_len, name, max, &v) < 0)
		return NULL;
	for (const char *p = v; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f) {
			free(v);
			return NULL;
		}
	return v;
}

static int http_error(struct s3_client *c, const struct exchange *x, char **ret_error)
{
	const struct s3_config *cfg = c->cfg;
	_cleanup_free_ char *code = error_field(x, "Code", 64), *msg = error_field(x, "Message", 300);
	const char *what = x->key ? x->key : "the bucket";

	if (code &&
	    strspn(code, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.") != strlen(code))
		code = (free(code), NULL);
	if (code && strcmp(code, "NoSuchBucket") == 0)
		return err_setf(ret_error, -ENXIO, "no bucket %s at %s", cfg->bucket, cfg->endpoint);
	if ((code && strcmp(code, "NoSuchKey") == 0) || (x->status == 404 && !code && x->key))
		return err_setf(ret_error, S3_NO_SUCH_KEY, "no object %s in bucket %s", x->key, cfg->bucket);
	if (x->status == 403 ||
	    (code && (strcmp(code, "InvalidAccessKeyId") == 0 || strcmp(code, "SignatureDoesNotMatch") == 0 ||
		      strcmp(code, "InvalidToken") == 0 || strcmp(code, "ExpiredToken") == 0)))
		return err_setf(ret_error, -EACCES,
				"access denied by the S3 server (check the credentials): %s",
				code ? code : "HTTP 403");
	if (code &&
	    (strcmp(code, "PermanentRedirect") == 0 || strcmp(code, "AuthorizationHeaderMalformed") == 0 ||
	     strcmp(code, "IllegalLocationConstraintException") == 0))
		return err_setf(ret_error, -EREMOTE, "bucket %s is not in region %s (set --region): %s%s%s",
				cfg->bucket, cfg->region, code, msg ? ": " : "", msg ? msg : "");
	return err_setf(ret_error, -EPROTO, "the S3 server at %s answered HTTP %ld to %s %s%s%s%s%s",
			cfg->endpoint, x->status, x->method, what, code ? ": " : "", code ? code : "",
			msg ? ": " : "", msg ? msg : "");
}

static int transfer_error(struct s3_client *c, const struct exchange *x, CURLcode res, const char *errbuf,
			  char **ret_error)
{
	const char *ep = c->cfg->endpoint, *what = x->key ? x->key : "the bucket listing";
	long os_errno = 0;
	curl_off_t pretransfer_us = 0;
	char a[32];

	curl_easy_getinfo(c->curl, CURLINFO_OS_ERRNO, &os_errno);
	/* Zero until there is a connection (new or reused) to send on. */
	curl_easy_getinfo(c->curl, CURLINFO_PRETRANSFER_TIME_T, &pretransfer_us);
	if (s3_interrupted)
		return err_setf(ret_error, -EINTR, "interrupted during %s %s", x->method, what);
	if (x->in_error == -ESTALE)
		return err_setf(ret_error, -ESTALE, "the file for %s changed while it was being uploaded",
				what);
	if (x->in_error < 0)
		return err_setf(ret_error, x->in_error, "reading the file for %s: %s", what,
				strerror(-x->in_error));
	if (x->too_large)
		return err_setf(ret_error, -EFBIG, "%s is larger than expected (more than %s)", what,
				s3_size(x->max, a));
	if (x->out_error < 0)
		return err_setf(ret_error, x->out_error, "writing %s: %s", what, strerror(-x->out_error));
	switch (res) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return err_setf(ret_error, -EHOSTUNREACH, "cannot connect to %s: %s", ep, errbuf);
	case CURLE_COULDNT_CONNECT:
		return err_setf(ret_error, -ECONNREFUSED, "cannot connect to %s: %s", ep,
				os_errno > 0 ? strerror((int)os_errno) : errbuf);
	case CURLE_OPERATION_TIMEDOUT:
		if (pretransfer_us <= 0 && x->status == 0)
			return err_setf(ret_error, -ETIMEDOUT, "cannot connect to %s: no answer in %ld s", ep,
					CONNECT_TIMEOUT_S);
		return err_setf(ret_error, -ETIMEDOUT,
				"the S3 server at %s stalled during %s %s (under 1 KiB/s for %u s)", ep,
				x->method, what, c->stall_seconds);
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_ISSUER_ERROR:
		return err_setf(ret_error, -EPROTO, "TLS with %s failed: %s", ep, errbuf);
	case CURLE_PARTIAL_FILE:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
		return err_setf(ret_error, -ECONNRESET, "connection to %s broken during %s %s: %s", ep,
				x->method, what, errbuf);
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	default:
		return err_setf(ret_error, -EIO, "%s %s at %s failed: %s", x->method, what, ep, errbuf);
	}
}

/* One request. query, if any, must be canonical (sorted, encoded). */
static int perform(struct s3_client *c, struct exchange *x, const char *query, const char *payload_sha256,
		   char **ret_error)
{
	const struct s3_config *cfg = c->cfg;
	_cleanup_free_ char *path = NULL, *url = NULL, *sha_header = NULL, *token_header = NULL;
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *headers = NULL, *h;
	CURL *curl = c->curl;
	CURLcode res;
	int r;

	if (x->key && (r = uri_encode(x->key, true, &path)) < 0)
		return r;
	if (asprintf(&url, "%s/%s%s%s%s%s", cfg->endpoint, cfg->bucket, path ? "/" : "", path ? path : "",
		     query ? "?" : "", query ? query : "") < 0) {
		url = NULL;
		return -ENOMEM;
	}
	/* Signed by curl with the rest of our headers. */
	if (asprintf(&sha_header, "x-amz-content-sha256: %s",
		     payload_sha256 ? payload_sha256 : EMPTY_SHA256) < 0) {
		sha_header = NULL;
		return -ENOMEM;
	}
	if (cfg->session_token &&
	    asprintf(&token_header, "x-amz-security-token: %s", cfg->session_token) < 0) {
		token_header = NULL;
		return -ENOMEM;
	}
	headers = curl_slist_append(NULL, sha_header);
	if (headers && token_header) {
		h = curl_slist_append(headers, token_header);
		if (!h)
			curl_slist_free_all(headers);
		headers = h;
	}
	if (!headers)
		return -ENOMEM;

	curl_easy_reset(curl);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "runnerd-s3/" RUNNERD_VERSION);
	curl_easy_setopt(curl, CURLOPT_AWS_SIGV4, c->sigv4);
	curl_easy_setopt(curl, CURLOPT_USERNAME, cfg->access_key_id);
	curl_easy_setopt(curl, CURLOPT_PASSWORD, cfg->secret_access_key);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, progress_cb);
	curl_easy_setopt(curl, CURLOPT_XFERINFODATA, x);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
	curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, LOW_SPEED_BYTES);
	curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, (long)c->stall_seconds);
	if (cfg->ca_bundle)
		curl_easy_setopt(curl, CURLOPT_CAINFO, cfg->ca_bundle);
	if (strcmp(x->method, "PUT") == 0) {
		curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_cb);
		curl_easy_setopt(curl, CURLOPT_READDATA, x);
		curl_easy_setopt(curl, CURLOPT_SEEKFUNCTION, seek_cb);
		curl_easy_setopt(curl, CURLOPT_SEEKDATA, x);
		curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)x->in_size);
	} else if (strcmp(x->method, "DELETE") == 0)
		curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, "DELETE");

	res = curl_easy_perform(curl);
	curl_slist_free_all(headers);
	if (!errbuf[0])
		snprintf(errbuf, sizeof(errbuf), "%s", curl_easy_strerror(res));
	if (res != CURLE_OK)
		r = transfer_error(c, x, res, errbuf, ret_error);
	else if (x->status < 200 || x->status > 299)
		r = http_error(c, x, ret_error);
	else
		r = 0;
	free(x->err_body);
	x->err_body = NULL;
	return r;
}

int s3_put_file(struct s3_client *c, const char *key, int fd, uint64_t size, const char sha256[65],
		char **ret_error)
{
	struct exchange x = {.method = "PUT", .key = key, .in_fd = fd, .in_size = size, .discard = true};
	char sent[65];
	int r;

	if (size > S3_PUT_MAX)
		return err_setf(ret_error, -EFBIG, "%s: larger than the 5 GiB S3 takes in one upload", key);
	sha256_init(&x.in_sha);
	r = perform(c, &x, NULL, sha256, ret_error);
	if (r < 0)
		return r;
	sha256_end_hex(&x.in_sha, sent);
	if (x.in_pos != size || strcmp(sent, sha256) != 0)
		return err_setf(ret_error, -ESTALE, "the file for %s changed while it was being uploaded",
				key);
	return 0;
}

int s3_put_data(struct s3_client *c, const char *key, const void *data, size_t n, char **ret_error)
{
	struct exchange x = {
	    .method = "PUT", .key = key, .in_fd = -1, .in_data = data, .in_size = n, .discard = true};
	char sha[65];

	sha256_hex(data, n, sha);
	return perform(c, &x, NULL, sha, ret_error);
}

int s3_get_file(struct s3_client *c, const char *key, struct s3_sink *sink, uint64_t max, char **ret_error)
{
	struct exchange x = {.method = "GET", .key = key, .in_fd = -1, .sink = sink, .max = max};

	return perform(c, &x, NULL, NULL, ret_error);
}

int s3_get_data(struct s3_client *c, const char *key, size_t max, char **ret, size_t *ret_len,
		char **ret_error)
{
	struct exchange x = {.method = "GET", .key = key, .in_fd = -1, .max = max};
	int r = perform(c, &x, NULL, NULL, ret_error);

	if (r >= 0 && !x.buf && !(x.buf = strdup("")))
		r = -ENOMEM;
	if (r < 0) {
		free(x.buf);
		return r;
	}
	*ret = x.buf;
	*ret_len = x.buf_len;
	return 0;
}

int s3_delete(struct s3_client *c, const char *key, char **ret_error)
{
	struct exchange x = {.method = "DELETE", .key = key, .in_fd = -1, .discard = true};

	return perform(c, &x, NULL, NULL, ret_error);
}

void s3_keys_free(char **keys)
{
	if (!keys)
		return;
	for (char **k = keys; *k; k++)
		free(*k);
	free(keys);
}

static int list_page(struct s3_client *c, const char *prefix, const char *token, char ***keys, size_t *n,
		     size_t max_keys, char **ret_next, char **ret_error)
{
	_cleanup_free_ char *enc_prefix = NULL, *enc_token = NULL, *query = NULL, *truncated = NULL;
	struct exchange x = {.method = "GET", .key = NULL, .in_fd = -1, .max = LIST_PAGE_MAX};
	size_t pos = 0;
	char *key;
	int r;

	if (uri_encode(prefix, false, &enc_prefix) < 0 || (token && uri_encode(token, false, &enc_token) < 0))
		return -ENOMEM;
	/* Canonical: parameters in byte order, values encoded. */
	if (asprintf(&query, "%s%s%slist-type=2&prefix=%s", token ? "continuation-token=" : "",
		     token ? enc_token : "", token ? "&" : "", enc_prefix) < 0) {
		query = NULL;
		return -ENOMEM;
	}
	r = perform(c, &x, query, NULL, ret_error);
	if (r < 0) {
		free(x.buf);
		return r;
	}
	_cleanup_free_ char *body = x.buf;
	size_t len = x.buf_len;
	while ((r = s3_xml_next(body ? body : "", len, "Key", &pos, KEY_MAX, &key)) == 0) {
		if (*n == max_keys) {
			free(key);
			return err_setf(ret_error, -E2BIG, "more than %zu objects under %s in bucket %s",
					max_keys, prefix, c->cfg->bucket);
		}
		char **nk = realloc(*keys, (*n + 2) * sizeof(char *));
		if (!nk) {
			free(key);
			return -ENOMEM;
		}
		*keys = nk;
		nk[(*n)++] = key;
		nk[*n] = NULL;
	}
	if (r != -ENOENT)
		return err_setf(ret_error, r == -ENOMEM ? r : -EPROTO,
				"the S3 server at %s sent a malformed listing", c->cfg->endpoint);
	*ret_next = NULL;
	if (s3_xml_text(body ? body : "", len, "IsTruncated", 8, &truncated) == 0 &&
	    strcmp(truncated, "true") == 0 &&
	    s3_xml_text(body, len, "NextContinuationToken", KEY_MAX, ret_next) < 0)
		return err_setf(ret_error, -EPROTO,
				"the S3 server at %s sent a truncated listing without a token",
				c->cfg->endpoint);
	return 0;
}

int s3_list(struct s3_client *c, const char *prefix, size_t max_keys, char ***ret_keys, size_t *ret_n,
	    char **ret_error)
{
	char **keys = calloc(1, sizeof(char *));
	_cleanup_free_ char *token = NULL;
	size_t n = 0;
	int r;

	if (!keys)
		return -ENOMEM;
	for (unsigned page = 0;; page++) {
		char *next = NULL;
		if (page == LIST_PAGES_MAX) {
			r = err_setf(ret_error, -E2BIG,
				     "the listing of %s in bucket %s has more than %d pages", prefix,
				     c->cfg->bucket, LIST_PAGES_MAX);
			break;
		}
		r = list_page(c, prefix, token, &keys, &n, max_keys, &next, ret_error);
		if (r < 0 || !next)
			break;
		free(token);
		token = next;
	}
	if (r < 0) {
		s3_keys_free(keys);
		return r;
	}
	*ret_keys = keys;
	*ret_n = n;
	return 0;
}
