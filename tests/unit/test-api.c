/* test-api.c: unit tests of daemon/api.c, mostly hostile requests: malformed
 * JSON, duplicate keys, deep nesting, wrong types, unknown fields, limits
 * that are negative (400) or huge (clamped), NUL and invalid UTF-8 in code,
 * bad base64, bad and duplicate file names, oversized parts; and rendering
 * of results: invalid UTF-8 replaced with a lossy flag, NUL preserved, the
 * base64 variant, timeouts reported as exit code 124. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#include "api.h"
#include "guest.h"

static struct api_limits lim;

/* Parses `body`; returns the result and leaves the error text in last_error. */
static char last_error[512];
static struct job_request req;

static int parse(const char *body, size_t len)
{
	char *err = NULL;
	int r;

	job_request_free(&req);
	last_error[0] = '\0';
	r = api_parse_execute(body, len, &lim, "main.py", &req, &err);
	if (r < 0) {
		snprintf(last_error, sizeof(last_error), "%s", err ? err : "(no message)");
		free(err);
	}
	return r;
}
#define P(s) parse(s, sizeof(s) - 1)

/* The call failed with r and the message contains `needle`. */
static bool fails(int r, int want, const char *needle)
{
	if (r == want && strstr(last_error, needle))
		return true;
	printf("# r=%d error: %s\n", r, last_error);
	return false;
}

static void test_parse(void)
{
	int r;

	r = P("{\"language\":\"python\",\"code\":\"print(1)\\n\"}");
	CHECK(r == 0 && strcmp(req.language, "python") == 0 && req.n_files == 1 &&
		  strcmp(req.files[0].name, "main.py") == 0 && req.files[0].len == 9 &&
		  memcmp(req.files[0].data, "print(1)\n", 9) == 0,
	      "minimal request");
	CHECK(r == 0 && req.timeout_ms == RD_DEFAULT_WALL_MS && req.cpu_ms == RD_DEFAULT_WALL_MS &&
		  req.memory_kb == RD_DEFAULT_MEMORY_KB && req.output_bytes == RD_DEFAULT_OUTPUT_BYTES &&
		  !req.base64_output,
	      "defaults applied: the agent's");
	CHECK(r == 0 && strlen(req.request_id) == 16 && strspn(req.request_id, "0123456789abcdef") == 16 &&
		  req.arrival_ns > 0,
	      "request id and arrival time");
	{
		char *err = NULL;
		struct job_request q = {0};
		const char *b = "{\"language\":\"c\",\"code\":\"x\"}";
		r = api_parse_execute(b, strlen(b), &lim, NULL, &q, &err);
		free(err);
		CHECK(r == 0 && q.files[0].name == NULL, "no default file name: files[0].name left NULL");
		job_request_free(&q);
	}

	r = P("{\"language\":\"python\",\"code\":\"x\",\"timeout\":2.5,\"cpu_time\":1,\"memory_mb\":64,"
	      "\"output_limit\":1000,\"encoding\":\"base64\",\"stdin\":\"a\\u0000b\"}");
	CHECK(r == 0 && req.timeout_ms == 2500 && req.cpu_ms == 1000 && req.memory_kb == 64 * 1024 &&
		  req.output_bytes == 1000 && req.base64_output && req.stdin_len == 3 &&
		  memcmp(req.stdin_data, "a\0b", 3) == 0,
	      "all limits, NUL kept in stdin");
	r = P("{\"language\":\"python\",\"code\":\"x\",\"timeout\":1e9,\"cpu_time\":99999,\"memory_mb\":"
	      "9223372036854775807,\"output_limit\":100000000000}");
	CHECK(r == 0 && req.timeout_ms == 60000 && req.cpu_ms == 60000 && req.memory_kb == 1024 * 1024 &&
		  req.output_bytes == 1024 * 1024,
	      "huge limits clamped to the maxima");
	r = P("{\"language\":\"python\",\"code\":\"x\",\"timeout\":0.0001}");
	CHECK(r == 0 && req.timeout_ms == 1, "tiny timeout rounds up to 1 ms");
	r = P("{\"language\":\"python\",\"code\":\"x\",\"timeout\":5}");
	CHECK(r == 0 && req.cpu_ms == 5000, "cpu_time defaults to the timeout");

	/* NUL and base64 */
	r = P("{\"language\":\"python\",\"code_b64\":\"/wBh\"}");
	CHECK(r == 0 && req.files[0].len == 3 && memcmp(req.files[0].data, "\xff\0a", 3) == 0,
	      "code_b64 accepted byte-exact");

	/* files */
	r = P("{\"language\":\"python\",\"code\":\"x\",\"files\":[{\"name\":\"a.txt\",\"content\":\"A\"},"
	      "{\"name\":\"b.bin\",\"content_b64\":\"AAE=\"}]}");
	CHECK(r == 0 && req.n_files == 3 && strcmp(req.files[1].name, "a.txt") == 0 &&
		  req.files[1].len == 1 && strcmp(req.files[2].name, "b.bin") == 0 && req.files[2].len == 2,
	      "extra files after the program");
	job_request_free(&req);
}

/* Requests refused: 400 with a message saying what is wrong (the table,
 * then what is built at run time), and 413 over the size limits. */
static void test_refused(void)
{
	/* One field a line (the trailing commas keep clang-format from packing
	 * them), so that no row wraps in the middle of a body. */
	static const struct {
		const char *what, *body, *needle;
	} refused[] = {
	    /* limits, types, fields */
	    {
		"negative timeout",
		"{\"language\":\"python\",\"code\":\"x\",\"timeout\":-1}",
		"'timeout'",
	    },
	    {
		"zero timeout",
		"{\"language\":\"python\",\"code\":\"x\",\"timeout\":0}",
		"'timeout'",
	    },
	    {
		"negative memory",
		"{\"language\":\"python\",\"code\":\"x\",\"memory_mb\":-5}",
		"'memory_mb'",
	    },
	    {
		"real memory_mb",
		"{\"language\":\"python\",\"code\":\"x\",\"memory_mb\":1.5}",
		"'memory_mb' must be an integer",
	    },
	    {
		"zero output limit",
		"{\"language\":\"python\",\"code\":\"x\",\"output_limit\":0}",
		"'output_limit'",
	    },
	    {
		"timeout as a string",
		"{\"language\":\"python\",\"code\":\"x\",\"timeout\":\"10\"}",
		"'timeout' must be a number of seconds, not a string",
	    },
	    {
		"language as a number",
		"{\"language\":7,\"code\":\"x\"}",
		"'language' must be a string, not a number",
	    },
	    {
		"code as an array",
		"{\"language\":\"python\",\"code\":[\"x\"]}",
		"'code' must be a string, not an array",
	    },
	    {
		"unknown encoding",
		"{\"language\":\"python\",\"code\":\"x\",\"encoding\":\"latin1\"}",
		"'encoding'",
	    },
	    {
		"unknown field named",
		"{\"language\":\"python\",\"code\":\"x\",\"extra\":1}",
		"unknown field 'extra'",
	    },
	    {
		"no code",
		"{\"language\":\"python\"}",
		"'code' or 'code_b64' is required",
	    },
	    {
		"no language",
		"{\"code\":\"x\"}",
		"'language' is required",
	    },
	    {
		"bad language name",
		"{\"language\":\"py thon\",\"code\":\"x\"}",
		"'language'",
	    },
	    {
		"code and code_b64",
		"{\"language\":\"python\",\"code\":\"x\",\"code_b64\":\"eA==\"}",
		"only one of",
	    },
	    /* malformed JSON */
	    {
		"truncated JSON",
		"{\"language\":\"python\",\"code\":\"x\"",
		"invalid JSON",
	    },
	    {
		"trailing garbage",
		"{\"language\":\"python\",\"code\":\"x\"} trailing",
		"invalid JSON",
	    },
	    {
		"empty body",
		"",
		"invalid JSON",
	    },
	    {
		"array body",
		"[1,2]",
		"must be a JSON object",
	    },
	    {
		"duplicate keys",
		"{\"language\":\"python\",\"code\":\"x\",\"code\":\"y\"}",
		"duplicate",
	    },
	    {
		"NUL in a key",
		"{\"language\":\"python\",\"co\\u0000de\":\"x\"}",
		"invalid JSON",
	    },
	    {
		"invalid UTF-8 in code",
		"{\"language\":\"python\",\"code\":\"\xff\"}",
		"invalid JSON",
	    },
	    {
		"brackets inside strings do not count as nesting",
		"{\"language\":\"python\",\"code\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\","
		"\"files\":{}}",
		"'files' must be an array",
	    },
	    /* NUL and base64 */
	    {
		"NUL in code: 400 pointing to code_b64",
		"{\"language\":\"python\",\"code\":\"a\\u0000b\"}",
		"code_b64",
	    },
	    {
		"bad base64 length",
		"{\"language\":\"python\",\"code_b64\":\"/wB\"}",
		"not valid base64",
	    },
	    {
		"whitespace in base64",
		"{\"language\":\"python\",\"code_b64\":\"/w B h\"}",
		"not valid base64",
	    },
	    {
		"non-canonical base64",
		"{\"language\":\"python\",\"code_b64\":\"Zh==\"}",
		"not valid base64",
	    },
	    {
		"bad stdin_b64",
		"{\"language\":\"python\",\"code\":\"x\",\"stdin_b64\":\"***\"}",
		"'stdin_b64'",
	    },
	    /* files */
	    {
		"file name ..",
		"{\"language\":\"python\",\"code\":\"x\",\"files\":[{\"name\":\"..\",\"content\":\"\"}]}",
		"files[0].name is not a valid file name",
	    },
	    {
		"file name a/b",
		"{\"language\":\"python\",\"code\":\"x\",\"files\":[{\"name\":\"a/b\",\"content\":\"\"}]}",
		"not a valid file name",
	    },
	    {
		"empty file name",
		"{\"language\":\"python\",\"code\":\"x\",\"files\":[{\"name\":\"\",\"content\":\"\"}]}",
		"not a valid file name",
	    },
	    {
		"NUL in a file name",
		"{\"language\":\"python\",\"code\":\"x\",\"files\":[{\"name\":\"a\\u0000b\","
		"\"content\":\"\"}]}",
		"not a valid file name",
	    },
	    {
		"duplicate file names",
		"{\"language\":\"python\",\"code\":\"x\",\"files\":[{\"name\":\"a\",\"content\":\"\"},"
		"{\"name\":\"a\",\"content\":\"\"}]}",
		"duplicates files[0].name",
	    },
	    {
		"file named like the program",
		"{\"language\":\"python\",\"code\":\"x\",\"files\":[{\"name\":\"main.py\",\"content\":"
		"\"\"}]}",
		"program's own file name",
	    },
	    {
		"file without content",
		"{\"language\":\"python\",\"code\":\"x\",\"files\":[{\"name\":\"a\"}]}",
		"needs 'content'",
	    },
	    {
		"unknown field in a file",
		"{\"language\":\"python\",\"code\":\"x\",\"files\":[{\"name\":\"a\",\"content\":\"\","
		"\"mode\":7}]}",
		"files[0]: unknown field",
	    },
	    {
		"file as a string",
		"{\"language\":\"python\",\"code\":\"x\",\"files\":[\"a\"]}",
		"files[0] must be an object",
	    },
	};
	int r;

	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		CHECK(fails(parse(refused[i].body, strlen(refused[i].body)), -EINVAL, refused[i].needle),
		      refused[i].what);
	{
		char deep[200];
		size_t n = 0;
		n += (size_t)sprintf(deep, "{\"language\":\"python\",\"code\":\"x\",\"files\":");
		for (int i = 0; i < 40; i++)
			deep[n++] = '[';
		for (int i = 0; i < 40; i++)
			deep[n++] = ']';
		deep[n++] = '}';
		CHECK(fails(parse(deep, n), -EINVAL, "nested deeper than 32"), "deep nesting");
	}
	{
		char body[600], name[301];
		memset(name, 'n', 300);
		name[300] = '\0';
		snprintf(
		    body, sizeof(body),
		    "{\"language\":\"python\",\"code\":\"x\",\"files\":[{\"name\":\"%s\",\"content\":\"\"}]}",
		    name);
		CHECK(fails(parse(body, strlen(body)), -EINVAL, "not a valid file name"),
		      "300-byte file name");
		CHECK(strstr(last_error, "nnnn") == NULL, "the name is not echoed back");
	}
	{
		char body[2048];
		size_t n = (size_t)sprintf(body, "{\"language\":\"python\",\"code\":\"x\",\"files\":[");
		for (int i = 0; i < 17; i++)
			n += (size_t)sprintf(body + n, "%s{\"name\":\"f%d\",\"content\":\"\"}", i ? "," : "",
					     i);
		n += (size_t)sprintf(body + n, "]}");
		CHECK(fails(parse(body, n), -EINVAL, "at most 16"), "17 files");
	}

	/* sizes */
	{
		struct api_limits small = lim;
		char *err = NULL;
		struct job_request q = {0};
		const char *b = "{\"language\":\"python\",\"code\":\"0123456789\","
				"\"files\":[{\"name\":\"a\",\"content\":\"0123456789\"}]}";
		small.max_source_bytes = 15;
		r = api_parse_execute(b, strlen(b), &small, NULL, &q, &err);
		CHECK(r == -EMSGSIZE && err && strstr(err, "code plus files"),
		      "code + files over the budget: 413");
		free(err);
		err = NULL;
		small.max_body_bytes = 10;
		r = api_parse_execute(b, strlen(b), &small, NULL, &q, &err);
		CHECK(r == -EMSGSIZE, "body over max_body_bytes");
		free(err);
		err = NULL;
		small = lim;
		small.max_stdin_bytes = 2;
		b = "{\"language\":\"python\",\"code\":\"x\",\"stdin_b64\":\"AAAA\"}";
		r = api_parse_execute(b, strlen(b), &small, NULL, &q, &err);
		CHECK(r == -EMSGSIZE && err && strstr(err, "stdin"),
		      "stdin over its limit (checked before decoding)");
		free(err);
	}
	job_request_free(&req);
}

static json_t *render(struct job_request *rq, struct job_result *res)
{
	return api_render_result(rq, res);
}

static void test_render(void)
{
	struct job_request rq = {
	    .timeout_ms = 10000, .cpu_ms = 10000, .memory_kb = 262144, .output_bytes = 65536};
	struct job_result res = {.status = JOB_OK};
	uint8_t out[] = "ok\xff\0x", err[] = "e";
	json_auto_t *j = NULL;
	json_t *v;

	strcpy(rq.request_id, "0123456789abcdef");
	res.run = (struct job_step){.present = true,
				    .exit_code = 3,
				    .out = out,
				    .out_len = 5,
				    .err = err,
				    .err_len = 1,
				    .wall_ms = 12,
				    .cpu_ms = 5,
				    .peak_memory_kb = 1000};
	res.t.total_us = 15500;
	res.t.queue_us = 1234;
	j = render(&rq, &res);
	v = json_object_get(j, "stdout");
	CHECK(j && json_integer_value(json_object_get(j, "exit_code")) == 3 &&
		  strcmp(json_string_value(json_object_get(j, "status")), "success") == 0,
	      "exit code and status");
	res.t.startup_us = 22600;
	json_decref(j);
	j = render(&rq, &res);
	CHECK(json_is_string(json_object_get(j, "trace_id")) &&
		  strcmp(json_string_value(json_object_get(j, "trace_id")), "tr-0123456789abcdef") == 0 &&
		  strcmp(json_string_value(json_object_get(j, "exec_time")), "12ms") == 0 &&
		  strcmp(json_string_value(json_object_get(j, "load_time")), "23ms") == 0 &&
		  strcmp(json_string_value(json_object_get(j, "stderr")), "e") == 0,
	      "Runner Codes' fields: trace_id, exec_time and load_time strings, stderr a string");
	v = json_object_get(j, "stdout");
	CHECK(v && json_string_length(v) == 7 && memcmp(json_string_value(v), "ok\xef\xbf\xbd\0x", 7) == 0,
	      "invalid UTF-8 replaced, NUL kept");
	CHECK(json_is_true(json_object_get(j, "stdout_lossy")) &&
		  json_is_false(json_object_get(j, "stderr_lossy")),
	      "lossy flags");
	CHECK(json_is_null(json_object_get(j, "signal")) && json_is_null(json_object_get(j, "compile")),
	      "no signal, no compile step");
	CHECK(json_real_value(json_object_get(json_object_get(j, "timings"), "queue_ms")) == 1.234 &&
		  json_integer_value(json_object_get(j, "wall_time_ms")) == 16,
	      "timings in ms with us precision");
	{
		char *s = json_dumps(j, JSON_COMPACT);
		json_auto_t *back = json_loads(s, JSON_ALLOW_NUL, NULL);
		CHECK(s && back && strstr(s, "\\u0000"), "serializes as valid JSON with \\u0000");
		free(s);
	}
	json_decref(j);

	res.run.err_len = 0;
	j = render(&rq, &res);
	CHECK(json_is_null(json_object_get(j, "stderr")) && json_is_string(json_object_get(j, "stdout")),
	      "an empty stderr is null, as Runner Codes answers");
	json_decref(j);
	res.run.err_len = 1;

	rq.base64_output = true;
	j = render(&rq, &res);
	CHECK(j && strcmp(json_string_value(json_object_get(j, "stdout_b64")), "b2v/AHg=") == 0 &&
		  !json_object_get(j, "stdout") && !json_object_get(j, "stdout_lossy"),
	      "base64 output byte-exact");
	json_decref(j);
	rq.base64_output = false;

	res.status = JOB_TIMEOUT;
	res.run.exit_code = -1;
	res.run.signal = 9;
	res.run.limits_hit = 1 /* RD_LIMIT_WALL */ | (1u << 3) /* RD_LIMIT_STDOUT */;
	j = render(&rq, &res);
	CHECK(j && json_integer_value(json_object_get(j, "exit_code")) == 124 &&
		  json_is_true(json_object_get(j, "timed_out")) &&
		  json_integer_value(json_object_get(j, "signal")) == 9 &&
		  strcmp(json_string_value(json_object_get(j, "signal_name")), "SIGKILL") == 0 &&
		  json_is_true(json_object_get(j, "stdout_truncated")),
	      "timeout: exit 124, signal, truncation");
	json_decref(j);

	res = (struct job_result){.status = JOB_COMPILE_ERROR};
	res.compile = (struct job_step){.present = true, .exit_code = 1, .err = err, .err_len = 1};
	res.message = (char *)"compiler said no";
	j = render(&rq, &res);
	v = json_object_get(j, "compile");
	CHECK(j && json_integer_value(json_object_get(v, "exit_code")) == 1 &&
		  strcmp(json_string_value(json_object_get(v, "stderr")), "e") == 0 &&
		  json_is_null(json_object_get(j, "exit_code")) &&
		  strcmp(json_string_value(json_object_get(j, "status")), "compile_error") == 0 &&
		  strcmp(json_string_value(json_object_get(j, "message")), "compiler said no") == 0,
	      "compile error rendered");
	json_decref(j);

	res = (struct job_result){.status = JOB_SANDBOX_ERROR};
	j = render(&rq, &res);
	CHECK(j && json_is_null(json_object_get(j, "exit_code")) &&
		  strcmp(json_string_value(json_object_get(j, "stdout")), "") == 0 &&
		  json_is_null(json_object_get(j, "vm_id")),
	      "sandbox error without a run step");
	json_decref(j);
	j = NULL;
}

int main(void)
{
	api_limits_init(&lim);
	test_parse();
	test_refused();
	test_render();
	return check_done();
}
