/* runnerctl.c: the command-line client of runnerd. It speaks HTTP/1.1
 * (one request per connection, "Connection: close") over runnerd's UNIX
 * socket with libcurl and jansson, runs programs byte-exact
 * (code is sent base64 when it is not clean UTF-8, output is asked for as
 * base64 and written out unchanged), and maps results to exit codes a shell
 * script can use. Responses are bounded (64 MiB) before they are parsed. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <getopt.h>
#include <jansson.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include <curl/curl.h>

#include "base64.h"
#include "cleanup.h"
#include "config.h"
#include "utf8.h"

#define EXIT_RUNNERD	125 /* runnerd (or the way to it) failed: like env(1)/timeout(1) */
#define RESPONSE_MAX	(64u << 20)
#define INPUT_MAX	(8u << 20)
#define MAX_EXTRA_FILES 16

static const char *arg_socket;
static bool arg_json;

static void help(void)
{
	printf("Usage: runnerctl [--socket PATH] [--json] COMMAND [ARGS]\n"
	       "\n"
	       "Client of runnerd, the microVM code runner.\n"
	       "\n"
	       "Commands:\n"
	       "  exec -l LANG [OPTIONS] FILE|-   run a program (FILE, or stdin with -)\n"
	       "      -l, --language LANG     language name or alias (required)\n"
	       "      --stdin FILE|-          feed FILE (or our stdin) to the program; default: nothing\n"
	       "      --timeout SEC           wall-clock limit of the run (may be fractional)\n"
	       "      --memory MB             memory limit\n"
	       "      -f, --file PATH         extra file placed next to the program under its\n"
	       "                              base name (repeatable, at most %d)\n"
	       "    The program's stdout and stderr are written to ours byte for byte.\n"
	       "    Exit status: the program's exit code; 128+N if it was killed by signal N;\n"
	       "    124 on timeout; 1 on a compile error (compiler output goes to stderr);\n"
	       "    125 if runnerd failed or refused the run (one line on stderr says why).\n"
	       "  languages                       list the languages runnerd serves\n"
	       "  health                          show runnerd's status (0 if ok, 1 if not);\n"
	       "                                  warns if runs are not hardware-isolated (tcg)\n"
	       "\n"
	       "Options:\n"
	       "  --socket PATH   runnerd's socket (default: $RUNNERD_SOCKET, else\n"
	       "                  /run/runnerd/runnerd.sock)\n"
	       "  --json          print runnerd's JSON response unchanged instead; exit 0 on an\n"
	       "                  HTTP 2xx answer, 125 otherwise\n"
	       "  -h, --help      show this help\n"
	       "  --version       show the version\n",
	       MAX_EXTRA_FILES);
}

static void fail_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail_line(const char *fmt, ...)
{
	va_list ap;
	fputs("runnerctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int read_all_fd(int fd, size_t max, uint8_t **ret, size_t *ret_len)
{
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len = 0, cap = 0;

	for (;;) {
		ssize_t n;
		if (len == cap) {
			size_t ncap = cap ? cap * 2 : 65536;
			uint8_t *nb;
			if (cap >= max + 1)
				return -EFBIG;
			if (ncap > max + 1)
				ncap = max + 1;
			nb = realloc(buf, ncap);
			if (!nb)
				return -ENOMEM;
			buf = nb;
			cap = ncap;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max)
			return -EFBIG;
	}
	*ret = TAKE_PTR(buf);
	*ret_len = len;
	return 0;
}

static int read_input(const char *path, uint8_t **ret, size_t *ret_len)
{
	_cleanup_close_ int fd = -1;

	if (strcmp(path, "-") == 0)
		return read_all_fd(STDIN_FILENO, INPUT_MAX, ret, ret_len);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	return read_all_fd(fd, INPUT_MAX, ret, ret_len);
}

static bool write_all(int fd, const void *p, size_t n)
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

struct response {
	int status;
	char *body; /* malloc'd, NUL-terminated */
	size_t body_len;
	bool headers_done, too_large;
};

static size_t on_header(char *line, size_t size, size_t nmemb, void *userdata)
{
	struct response *resp = userdata;
	size_t n = size * nmemb;

	if (n > 0 && n <= 2 && (line[0] == '\r' || line[0] == '\n'))
		resp->headers_done = true;
	return n;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct response *resp = userdata;
	size_t n = size * nmemb;
	char *nb;

	if (n > RESPONSE_MAX - resp->body_len) {
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

/* One HTTP/1.1 exchange over the socket (libcurl; no proxy, no redirects).
 * Returns 0 and fills *ret, or a negative errno with a message already
 * printed. */
static int http_request(const char *method, const char *path, const char *body, size_t body_len,
			struct response *ret)
{
	char url[256], errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *headers = NULL, *h;
	/* "Accept:" and "Expect:" drop curl's defaults; no 100-continue wait. */
	const char *header_lines[] = {
	    "Connection: close",
	    "Accept:",
	    "Expect:",
	    body ? "Content-Type: application/json" : NULL,
	};
	long status = 0, os_errno = 0;
	bool oom;
	CURLcode c;
	CURL *curl;
	int r = -EPROTO;

	if (strlen(arg_socket) >= sizeof(((struct sockaddr_un *)NULL)->sun_path)) {
		fail_line("socket path too long: %s", arg_socket);
		return -ENAMETOOLONG;
	}
	curl = curl_easy_init();
	oom = !curl;
	for (size_t i = 0; !oom && i < sizeof(header_lines) / sizeof(header_lines[0]) && header_lines[i];
	     i++) {
		h = curl_slist_append(headers, header_lines[i]);
		oom = !h;
		headers = h ? h : headers;
	}
	if (oom) {
		curl_easy_cleanup(curl);
		curl_slist_free_all(headers);
		fail_line("%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	snprintf(url, sizeof(url), "http://runnerd%s", path);
	*ret = (struct response){0};
	curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, arg_socket);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http");
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
					fail_line("%s", strerror(ENOMEM));
					return -ENOMEM;
				}
			}
			return 0;
		}
		fail_line("malformed HTTP response from runnerd");
		break;
	case CURLE_COULDNT_CONNECT:
		r = os_errno > 0 ? -(int)os_errno : -ECONNREFUSED;
		fail_line("cannot connect to runnerd at %s: %s", arg_socket,
			  os_errno > 0 ? strerror((int)os_errno) : errbuf);
		break;
	case CURLE_WRITE_ERROR:
		r = ret->too_large ? -EFBIG : -ENOMEM;
		if (ret->too_large)
			fail_line("response from runnerd larger than 64 MiB");
		else
			fail_line("reading from runnerd: %s", strerror(ENOMEM));
		break;
	case CURLE_GOT_NOTHING:
	case CURLE_UNSUPPORTED_PROTOCOL: /* what curl makes of a reply without a status line */
		fail_line("runnerd sent no HTTP response");
		break;
	case CURLE_WEIRD_SERVER_REPLY:
		fail_line("malformed HTTP response from runnerd");
		break;
	case CURLE_PARTIAL_FILE:
		fail_line(ret->headers_done ? "response from runnerd cut short"
					    : "malformed HTTP response from runnerd");
		break;
	default:
		r = os_errno > 0 ? -(int)os_errno : -EIO;
		fail_line("%s runnerd: %s", c == CURLE_RECV_ERROR ? "reading from" : "talking to", errbuf);
		break;
	}
	free(ret->body);
	ret->body = NULL;
	return r;
}

/* Prints --json output, or the one-line error of a non-200 answer. */
static int handle_non_ok(const struct response *resp, json_t *j)
{
	const char *err = j ? json_string_value(json_object_get(j, "error")) : NULL;

	if (err)
		fail_line("runnerd: %s (HTTP %d)", err, resp->status);
	else
		fail_line("runnerd answered HTTP %d", resp->status);
	return EXIT_RUNNERD;
}

static int print_json_raw(const struct response *resp)
{
	write_all(STDOUT_FILENO, resp->body, resp->body_len);
	if (resp->body_len == 0 || resp->body[resp->body_len - 1] != '\n')
		write_all(STDOUT_FILENO, "\n", 1);
	return resp->status >= 200 && resp->status < 300 ? 0 : EXIT_RUNNERD;
}

/* Writes a stream given as key_b64 (or key, as text) in `o` to fd. */
static bool emit_stream(json_t *o, const char *key, int fd)
{
	char k[32];
	json_t *v;

	snprintf(k, sizeof(k), "%s_b64", key);
	v = json_object_get(o, k);
	if (json_is_string(v)) {
		_cleanup_free_ uint8_t *data = NULL;
		size_t n;
		if (base64_decode(json_string_value(v), json_string_length(v), &data, &n) < 0)
			return false;
		write_all(fd, data, n);
		return true;
	}
	v = json_object_get(o, key);
	if (json_is_string(v))
		write_all(fd, json_string_value(v), json_string_length(v));
	return true;
}

static int add_blob(json_t *o, const char *text_key, const char *b64_key, const uint8_t *data, size_t n)
{
	_cleanup_free_ char *enc = NULL;

	if (utf8_valid(data, n) && !memchr(data, 0, n))
		return json_object_set_new(o, text_key, json_stringn((const char *)data, n));
	if (base64_encode(data, n, &enc, NULL) < 0)
		return -1;
	return json_object_set_new(o, b64_key, json_string_nocheck(enc));
}

static int cmd_exec(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"language", required_argument, NULL, 'l'},
	    {"stdin", required_argument, NULL, 'i'},
	    {"timeout", required_argument, NULL, 't'},
	    {"memory", required_argument, NULL, 'm'},
	    {"file", required_argument, NULL, 'f'},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	const char *lang = NULL, *stdin_path = NULL, *files[MAX_EXTRA_FILES];
	double timeout = 0;
	long memory = 0;
	size_t n_files = 0;
	json_auto_t *req = json_object(), *resp_json = NULL;
	struct response resp = {0};
	uint8_t *data;
	size_t n;
	char *body, *end;
	int c, r, ret;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+l:f:h", opts, NULL)) >= 0) {
		switch (c) {
		case 'l':
			lang = optarg;
			break;
		case 'i':
			stdin_path = optarg;
			break;
		case 't':
			errno = 0;
			timeout = strtod(optarg, &end);
			if (errno || *end || !(timeout > 0)) {
				fail_line("--timeout: not a positive number of seconds: %s", optarg);
				return EXIT_RUNNERD;
			}
			break;
		case 'm':
			errno = 0;
			memory = strtol(optarg, &end, 10);
			if (errno || *end || memory <= 0) {
				fail_line("--memory: not a positive number of MiB: %s", optarg);
				return EXIT_RUNNERD;
			}
			break;
		case 'f':
			if (n_files == MAX_EXTRA_FILES) {
				fail_line("at most %d extra files", MAX_EXTRA_FILES);
				return EXIT_RUNNERD;
			}
			files[n_files++] = optarg;
			break;
		case 'h':
			help();
			return 0;
		default:
			return EXIT_RUNNERD;
		}
	}
	if (!lang || optind != argc - 1) {
		fail_line("usage: runnerctl exec -l LANG [--stdin FILE|-] [--timeout SEC] [--memory MB] [-f "
			  "FILE]... FILE|-");
		return EXIT_RUNNERD;
	}
	if (stdin_path && strcmp(stdin_path, "-") == 0 && strcmp(argv[optind], "-") == 0) {
		fail_line("the program and its stdin cannot both come from '-'");
		return EXIT_RUNNERD;
	}

	json_object_set_new(req, "language", json_string(lang));
	r = read_input(argv[optind], &data, &n);
	if (r < 0) {
		fail_line("%s: %s", argv[optind], r == -EFBIG ? "too large" : strerror(-r));
		return EXIT_RUNNERD;
	}
	r = add_blob(req, "code", "code_b64", data, n);
	free(data);
	if (r < 0)
		return EXIT_RUNNERD;
	if (n_files > 0) {
		json_t *arr = json_array();
		json_object_set_new(req, "files", arr);
		for (size_t i = 0; i < n_files; i++) {
			json_t *f = json_object();
			_cleanup_free_ char *copy = strdup(files[i]);
			_cleanup_free_ uint8_t *content = NULL;
			r = read_input(files[i], &content, &n);
			if (r < 0 || !copy) {
				fail_line("%s: %s", files[i],
					  r == -EFBIG ? "too large" : strerror(r < 0 ? -r : ENOMEM));
				json_decref(f);
				return EXIT_RUNNERD;
			}
			json_object_set_new(f, "name", json_string(basename(copy)));
			add_blob(f, "content", "content_b64", content, n);
			json_array_append_new(arr, f);
		}
	}
	if (stdin_path) {
		char *enc;
		r = read_input(stdin_path, &data, &n);
		if (r < 0) {
			fail_line("%s: %s", stdin_path, r == -EFBIG ? "too large" : strerror(-r));
			return EXIT_RUNNERD;
		}
		r = base64_encode(data, n, &enc, NULL);
		free(data);
		if (r < 0)
			return EXIT_RUNNERD;
		json_object_set_new(req, "stdin_b64", json_string_nocheck(enc));
		free(enc);
	}
	if (timeout > 0)
		json_object_set_new(req, "timeout", json_real(timeout));
	if (memory > 0)
		json_object_set_new(req, "memory_mb", json_integer(memory));
	json_object_set_new(req, "encoding", json_string("base64"));

	body = json_dumps(req, JSON_COMPACT);
	if (!body)
		return EXIT_RUNNERD;
	r = http_request("POST", "/api/v1/execute", body, strlen(body), &resp);
	free(body);
	if (r < 0)
		return EXIT_RUNNERD;
	if (arg_json) {
		ret = print_json_raw(&resp);
		free(resp.body);
		return ret;
	}
	resp_json = json_loadb(resp.body, resp.body_len, JSON_ALLOW_NUL, NULL);
	if (resp.status != 200 || !json_is_object(resp_json)) {
		ret = resp.status == 200 ? (fail_line("runnerd sent invalid JSON"), EXIT_RUNNERD)
					 : handle_non_ok(&resp, resp_json);
		free(resp.body);
		return ret;
	}
	free(resp.body);

	{
		const char *status = json_string_value(json_object_get(resp_json, "status"));
		json_t *compile = json_object_get(resp_json, "compile");
		json_t *code = json_object_get(resp_json, "exit_code");
		json_t *sig = json_object_get(resp_json, "signal");
		const char *msg = json_string_value(json_object_get(resp_json, "message"));

		if (!status) {
			fail_line("runnerd sent a result without a status");
			return EXIT_RUNNERD;
		}
		if (strcmp(status, "compile_error") == 0) {
			if (json_is_object(compile)) {
				emit_stream(compile, "stdout", STDERR_FILENO);
				emit_stream(compile, "stderr", STDERR_FILENO);
			}
			return 1;
		}
		if (strcmp(status, "sandbox_error") == 0 || strcmp(status, "cancelled") == 0) {
			fail_line("run failed: %s%s%s", status, msg ? ": " : "", msg ? msg : "");
			return EXIT_RUNNERD;
		}
		if (json_is_object(compile)) /* warnings of a successful compile */
			emit_stream(compile, "stderr", STDERR_FILENO);
		emit_stream(resp_json, "stdout", STDOUT_FILENO);
		emit_stream(resp_json, "stderr", STDERR_FILENO);
		if (strcmp(status, "timeout") == 0 || strcmp(status, "compile_timeout") == 0) {
			fail_line("%s",
				  strcmp(status, "timeout") == 0 ? "timed out" : "compilation timed out");
			return 124;
		}
		if (strcmp(status, "memory_limit") == 0)
			fail_line("memory limit hit (killed by the out-of-memory killer)");
		if (json_is_integer(sig) && json_integer_value(sig) > 0)
			return 128 + (int)(json_integer_value(sig) & 127);
		if (json_is_integer(code))
			return (int)(json_integer_value(code) & 255);
		fail_line("run ended with status %s and no exit code", status);
		return EXIT_RUNNERD;
	}
}

static int cmd_get(const char *path, json_t **ret)
{
	struct response resp = {0};
	json_t *j;
	int r = http_request("GET", path, NULL, 0, &resp);

	if (r < 0)
		return EXIT_RUNNERD;
	if (arg_json) {
		r = print_json_raw(&resp);
		free(resp.body);
		return r ? r : -1; /* -1: printed, nothing more to do */
	}
	j = json_loadb(resp.body, resp.body_len, 0, NULL);
	if (!json_is_object(j) || (resp.status != 200 && !json_object_get(j, "status"))) {
		r = handle_non_ok(&resp, j);
		json_decref(j);
		free(resp.body);
		return r;
	}
	free(resp.body);
	*ret = j;
	return 0;
}

static int cmd_languages(void)
{
	json_auto_t *j = NULL;
	json_t *l;
	size_t i;
	int r = cmd_get("/api/v1/languages", &j);

	if (r)
		return r < 0 ? 0 : r;
	json_array_foreach(json_object_get(j, "languages"), i, l)
	{
		const char *name =
		    json_is_string(l) ? json_string_value(l) : json_string_value(json_object_get(l, "name"));
		const char *version = json_string_value(json_object_get(l, "version"));
		const char *status = json_string_value(json_object_get(l, "status"));
		json_t *aliases = json_object_get(l, "aliases"), *a;
		size_t k;

		if (!name)
			continue;
		printf("%-12s", name);
		if (status)
			printf(" %-9s", status);
		if (version)
			printf(" %s", version);
		if (json_array_size(aliases) > 0) {
			printf(" (aliases:");
			json_array_foreach(aliases, k, a)
			    printf(" %s", json_string_value(a) ? json_string_value(a) : "?");
			printf(")");
		}
		printf("\n");
	}
	return 0;
}

static int cmd_health(void)
{
	json_auto_t *j = NULL;
	const char *key, *status, *accel;
	json_t *v;
	int r = cmd_get("/health", &j);

	if (r)
		return r < 0 ? 0 : r;
	status = json_string_value(json_object_get(j, "status"));
	accel = json_string_value(json_object_get(j, "accel"));
	json_object_foreach(j, key, v)
	{
		if (json_is_string(v))
			printf("%s: %s\n", key, json_string_value(v));
		else if (json_is_integer(v))
			printf("%s: %lld\n", key, (long long)json_integer_value(v));
		else if (json_is_boolean(v))
			printf("%s: %s\n", key, json_is_true(v) ? "yes" : "no");
	}
	/* One line per language pool. */
	const char *lang;
	json_t *p;
	json_object_foreach(json_object_get(j, "pools"), lang, p)
	{
		printf("pool %s: %s, %lld ready of %lld, %lld restoring, %lld busy, %lld queued; %lld jobs, "
		       "%lld sandbox errors, %lld restore failures, last restore %.1f ms%s%s\n",
		       lang, json_string_value(json_object_get(p, "status")),
		       (long long)json_integer_value(json_object_get(p, "ready")),
		       (long long)json_integer_value(json_object_get(p, "size")),
		       (long long)json_integer_value(json_object_get(p, "restoring")),
		       (long long)json_integer_value(json_object_get(p, "busy")),
		       (long long)json_integer_value(json_object_get(p, "queued")),
		       (long long)json_integer_value(json_object_get(p, "jobs")),
		       (long long)json_integer_value(json_object_get(p, "sandbox_errors")),
		       (long long)json_integer_value(json_object_get(p, "restore_failures")),
		       json_number_value(json_object_get(p, "last_restore_ms")),
		       json_object_get(p, "error") ? "; error: " : "",
		       json_object_get(p, "error") ? json_string_value(json_object_get(p, "error")) : "");
	}
	if (accel && strcmp(accel, "tcg") == 0)
		fprintf(
		    stderr,
		    "\n"
		    "runnerctl: WARNING: runnerd runs programs under QEMU software emulation (tcg).\n"
		    "runnerctl: WARNING: TCG gives NO security isolation: do not run untrusted code here.\n");
	return status && strcmp(status, "ok") == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	enum { O_SOCKET = 256, O_JSON, O_VERSION };
	static const struct option opts[] = {
	    {"socket", required_argument, NULL, O_SOCKET},
	    {"json", no_argument, NULL, O_JSON},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, O_VERSION},
	    {},
	};
	int c;

	arg_socket = getenv("RUNNERD_SOCKET");
	if (!arg_socket || !*arg_socket)
		arg_socket = "/run/runnerd/runnerd.sock";
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) >= 0) {
		switch (c) {
		case O_SOCKET:
			arg_socket = optarg;
			break;
		case O_JSON:
			arg_json = true;
			break;
		case 'h':
			help();
			return 0;
		case O_VERSION:
			printf("runnerctl %s\n", RUNNERD_VERSION);
			return 0;
		default:
			return EXIT_RUNNERD;
		}
	}
	if (optind >= argc) {
		help();
		return EXIT_RUNNERD;
	}
	if (strcmp(argv[optind], "exec") == 0)
		return cmd_exec(argc - optind, argv + optind);
	if (strcmp(argv[optind], "languages") == 0 && optind == argc - 1)
		return cmd_languages();
	if (strcmp(argv[optind], "health") == 0 && optind == argc - 1)
		return cmd_health();
	fail_line("unknown command or extra arguments: %s (see --help)", argv[optind]);
	return EXIT_RUNNERD;
}
