/* exec.c: see exec.h. */
#include "exec.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base64.h"
#include "cleanup.h"
#include "input.h"
#include "utf8.h"

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
		ctl_write_all(fd, data, n);
		return true;
	}
	v = json_object_get(o, key);
	if (json_is_string(v))
		ctl_write_all(fd, json_string_value(v), json_string_length(v));
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

/* The request body: the program, its files and stdin, the limits. NULL
 * after one line on stderr. */
static json_t *build_request(const struct exec_args *a)
{
	json_auto_t *req = json_object();
	uint8_t *data;
	size_t n;
	int r;

	json_object_set_new(req, "language", json_string(a->language));
	if (a->code) {
		r = add_blob(req, "code", "code_b64", (const uint8_t *)a->code, strlen(a->code));
	} else {
		r = input_read(a->program_path, EXEC_INPUT_MAX, &data, &n);
		if (r < 0) {
			ctl_fail("%s: %s", a->program_path, r == -EFBIG ? "too large" : strerror(-r));
			return NULL;
		}
		r = add_blob(req, "code", "code_b64", data, n);
		free(data);
	}
	if (r < 0)
		return NULL;
	if (a->n_files > 0) {
		json_t *arr = json_array();
		json_object_set_new(req, "files", arr);
		for (size_t i = 0; i < a->n_files; i++) {
			json_t *f = json_object();
			_cleanup_free_ char *copy = strdup(a->files[i]);
			_cleanup_free_ uint8_t *content = NULL;
			r = input_read(a->files[i], EXEC_INPUT_MAX, &content, &n);
			if (r < 0 || !copy) {
				ctl_fail("%s: %s", a->files[i],
					 r == -EFBIG ? "too large" : strerror(r < 0 ? -r : ENOMEM));
				json_decref(f);
				return NULL;
			}
			json_object_set_new(f, "name", json_string(basename(copy)));
			add_blob(f, "content", "content_b64", content, n);
			json_array_append_new(arr, f);
		}
	}
	if (a->stdin_path) {
		char *enc;
		r = input_read(a->stdin_path, EXEC_INPUT_MAX, &data, &n);
		if (r < 0) {
			ctl_fail("%s: %s", a->stdin_path, r == -EFBIG ? "too large" : strerror(-r));
			return NULL;
		}
		r = base64_encode(data, n, &enc, NULL);
		free(data);
		if (r < 0)
			return NULL;
		json_object_set_new(req, "stdin_b64", json_string_nocheck(enc));
		free(enc);
	}
	if (a->timeout > 0)
		json_object_set_new(req, "timeout", json_real(a->timeout));
	if (a->memory_mb > 0)
		json_object_set_new(req, "memory_mb", json_integer(a->memory_mb));
	json_object_set_new(req, "encoding", json_string("base64"));
	return TAKE_PTR(req);
}

/* The exit code for a 200 answer. */
static int report_result(json_t *resp_json)
{
	const char *status = json_string_value(json_object_get(resp_json, "status"));
	json_t *compile = json_object_get(resp_json, "compile");
	json_t *code = json_object_get(resp_json, "exit_code");
	json_t *sig = json_object_get(resp_json, "signal");
	const char *msg = json_string_value(json_object_get(resp_json, "message"));

	if (!status) {
		ctl_fail("runnerd sent a result without a status");
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
		ctl_fail("run failed: %s%s%s", status, msg ? ": " : "", msg ? msg : "");
		return EXIT_RUNNERD;
	}
	if (json_is_object(compile)) /* warnings of a successful compile */
		emit_stream(compile, "stderr", STDERR_FILENO);
	emit_stream(resp_json, "stdout", STDOUT_FILENO);
	emit_stream(resp_json, "stderr", STDERR_FILENO);
	if (strcmp(status, "timeout") == 0 || strcmp(status, "compile_timeout") == 0) {
		ctl_fail("%s", strcmp(status, "timeout") == 0 ? "timed out" : "compilation timed out");
		return EXIT_TIMEOUT;
	}
	if (strcmp(status, "memory_limit") == 0)
		ctl_fail("memory limit hit (killed by the out-of-memory killer)");
	if (json_is_integer(sig) && json_integer_value(sig) > 0)
		return 128 + (int)(json_integer_value(sig) & 127);
	if (json_is_integer(code))
		return (int)(json_integer_value(code) & 255);
	ctl_fail("run ended with status %s and no exit code", status);
	return EXIT_RUNNERD;
}

int exec_run(const struct ctl *ctl, const struct exec_args *a)
{
	json_auto_t *req = build_request(a), *resp_json = NULL;
	struct http_response resp = {0};
	char *body;
	int r, ret;

	if (!req)
		return EXIT_RUNNERD;
	body = json_dumps(req, JSON_COMPACT);
	if (!body)
		return EXIT_RUNNERD;
	r = http_request(&ctl->http, "POST", "/api/v1/execute", body, strlen(body), &resp);
	free(body);
	if (r < 0)
		return EXIT_RUNNERD;
	if (ctl->json) {
		ret = ctl_print_raw(&resp);
		http_response_done(&resp);
		return ret;
	}
	resp_json = json_loadb(resp.body, resp.body_len, JSON_ALLOW_NUL, NULL);
	if (resp.status != 200 || !json_is_object(resp_json)) {
		ret = resp.status == 200 ? (ctl_fail("runnerd sent invalid JSON"), EXIT_RUNNERD)
					 : ctl_refused(&resp, resp_json);
		http_response_done(&resp);
		return ret;
	}
	http_response_done(&resp);
	return report_result(resp_json);
}
