/* api.c: parsing of execute requests and rendering of results, see api.h.
 * Everything that comes from a client is bounded before anything sized by it
 * is allocated: the body length and nesting depth are checked before jansson
 * sees the body, decoded sizes of base64 fields before decoding. Error
 * messages name the offending field but never echo client bytes back (a file
 * name may be 4 KB of control characters). */
#include "api.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "base64.h"
#include "cleanup.h"
#include "error-util.h"
#include "guest.h"
#include "proto.h"
#include "time-util.h"
#include "utf8.h"

#define MIB (1024u * 1024u)

void api_limits_init(struct api_limits *lim)
{
	*lim = (struct api_limits){
	    .timeout_ms_default = RD_DEFAULT_WALL_MS,
	    .timeout_ms_max = 60 * 1000,
	    .cpu_ms_default = 0,
	    .cpu_ms_max = 60 * 1000,
	    .memory_kb_default = RD_DEFAULT_MEMORY_KB,
	    .memory_kb_max = 1024 * 1024,
	    .output_bytes_default = RD_DEFAULT_OUTPUT_BYTES,
	    .output_bytes_max = 1 * MIB,
	    .max_body_bytes = 8 * MIB,
	    .max_files = 16,
	    .max_source_bytes = 4 * MIB,
	    .max_stdin_bytes = 1 * MIB,
	    .max_header_bytes = 64 * 1024,
	    .request_timeout_s = 30,
	    .max_connections = 256,
	    .caller_runs_max = API_CALLER_RUNS_MAX,
	    .max_response_bytes = 8 * MIB,
	};
}

static inline void request_freep(struct job_request *req)
{
	job_request_free(req);
}

/* jansson's own limit is 2048 levels; a request needs 3. Counted outside
 * strings only; malformed input is left for jansson to reject. */
static bool depth_ok(const char *p, size_t len, unsigned max)
{
	unsigned depth = 0;
	bool in_string = false, escaped = false;

	for (size_t i = 0; i < len; i++) {
		char c = p[i];
		if (in_string) {
			if (escaped)
				escaped = false;
			else if (c == '\\')
				escaped = true;
			else if (c == '"')
				in_string = false;
			continue;
		}
		if (c == '"')
			in_string = true;
		else if (c == '[' || c == '{') {
			if (++depth > max)
				return false;
		} else if ((c == ']' || c == '}') && depth > 0)
			depth--;
	}
	return true;
}

static const char *json_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
	default:
		return "null";
	}
}

/* -EINVAL, saying "'name' must be what, not" the type v has. */
static int wrong_type(const char *name, const char *what, const json_t *v, char **ret_error)
{
	return err_setf(ret_error, -EINVAL, "'%s' must be %s, not %s", name, what, json_type_name(v));
}

/* One blob given either as text (`text_name`, UTF-8) or base64 (`b64_name`).
 * Returns 1 if present, 0 if absent (outputs untouched), < 0 on error. */
static int take_blob(json_t *text, json_t *b64, const char *text_name, const char *b64_name, bool allow_nul,
		     size_t max, const char *what, uint8_t **ret, size_t *ret_len, char **ret_error)
{
	uint8_t *data = NULL;
	size_t len;
	int r;

	if (text && b64)
		return err_setf(ret_error, -EINVAL, "only one of '%s' and '%s' may be given", text_name,
				b64_name);
	if (text) {
		const char *s;
		if (!json_is_string(text))
			return wrong_type(text_name, "a string", text, ret_error);
		s = json_string_value(text);
		len = json_string_length(text);
		if (!allow_nul && memchr(s, 0, len))
			return err_setf(
			    ret_error, -EINVAL,
			    "'%s' contains a NUL character; send binary content base64-encoded as '%s'",
			    text_name, b64_name);
		if (len > max)
			return err_setf(ret_error, -EMSGSIZE, "%s too large: at most %zu bytes", what, max);
		if (len > 0) {
			data = malloc(len);
			if (!data)
				return -ENOMEM;
			memcpy(data, s, len);
		}
	} else if (b64) {
		const char *s;
		size_t slen, dlen;
		if (!json_is_string(b64))
			return wrong_type(b64_name, "a base64 string", b64, ret_error);
		s = json_string_value(b64);
		slen = json_string_length(b64);
		if (base64_decoded_len(s, slen, &dlen) < 0)
			return err_setf(
			    ret_error, -EINVAL,
			    "'%s' is not valid base64 (RFC 4648 alphabet, '=' padding, no whitespace)",
			    b64_name);
		if (dlen > max)
			return err_setf(ret_error, -EMSGSIZE, "%s too large: at most %zu bytes", what, max);
		r = base64_decode(s, slen, &data, &len);
		if (r == -EINVAL)
			return err_setf(
			    ret_error, r,
			    "'%s' is not valid base64 (RFC 4648 alphabet, '=' padding, no whitespace)",
			    b64_name);
		if (r < 0)
			return r;
	} else
		return 0;
	*ret = data;
	*ret_len = len;
	return 1;
}

/* Whether an optional field v was given, also in *ret_set if not NULL. The
 * limits below leave their output (the default) as it is when it was not. */
static bool given(const json_t *v, bool *ret_set)
{
	if (ret_set)
		*ret_set = v != NULL;
	return v != NULL;
}

/* Seconds (integer or real, > 0) to milliseconds, clamped to max_ms. */
static int take_seconds(json_t *v, const char *name, uint32_t max_ms, uint32_t *ret_ms, bool *ret_set,
			char **ret_error)
{
	double s, ms;

	if (!given(v, ret_set))
		return 0;
	if (!json_is_number(v))
		return wrong_type(name, "a number of seconds", v, ret_error);
	s = json_number_value(v);
	if (!(s > 0)) /* also NaN */
		return err_setf(ret_error, -EINVAL, "'%s' must be greater than 0 seconds", name);
	ms = ceil(s * 1000.0);
	*ret_ms = ms >= (double)max_ms ? max_ms : (uint32_t)ms;
	return 0;
}

/* A positive integer, multiplied by `unit`, clamped to max. */
static int take_positive(json_t *v, const char *name, uint32_t unit, uint32_t max, uint32_t *ret,
			 bool *ret_set, char **ret_error)
{
	json_int_t i;

	if (!given(v, ret_set))
		return 0;
	if (!json_is_integer(v))
		return wrong_type(name, "an integer", v, ret_error);
	i = json_integer_value(v);
	if (i <= 0)
		return err_setf(ret_error, -EINVAL, "'%s' must be greater than 0", name);
	*ret = (uint64_t)i >= max / unit ? max : (uint32_t)i * unit;
	return 0;
}

/* A client's key, to echo in an error: keys are valid UTF-8 without NUL
 * (jansson), but what we echo is bounded and printable. Returns whether
 * it was cut. */
static bool key_for_message(const char *key, char shown[65])
{
	size_t m = 0;
	for (const char *p = key; *p && m < 64; p++)
		shown[m++] = (*p >= 0x20 && *p < 0x7f && *p != '\'') ? *p : '?';
	shown[m] = '\0';
	return key[m] != '\0';
}

static bool language_name_ok(const char *s, size_t len)
{
	if (len == 0 || len > API_LANGUAGE_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '+' || c == '-'))
			return false;
	}
	return true;
}

/* files: the array api_parse_execute() checked and sized req->files for. */
static int parse_files(json_t *files, const char *program_name, size_t *source_left, struct job_request *req,
		       char **ret_error)
{
	size_t i;
	json_t *f;
	int r;

	json_array_foreach(files, i, f)
	{
		json_t *name = NULL, *content = NULL, *content_b64 = NULL, *v;
		struct job_file *jf = &req->files[1 + i];
		const char *key, *s;
		size_t len;

		if (!json_is_object(f))
			return err_setf(ret_error, -EINVAL, "files[%zu] must be an object, not %s", i,
					json_type_name(f));
		json_object_foreach(f, key, v)
		{
			if (strcmp(key, "name") == 0)
				name = v;
			else if (strcmp(key, "content") == 0)
				content = v;
			else if (strcmp(key, "content_b64") == 0)
				content_b64 = v;
			else {
				char shown[65];
				bool cut = key_for_message(key, shown);
				return err_setf(
				    ret_error, -EINVAL,
				    "files[%zu]: unknown field '%s'%s (allowed: name, content, content_b64)",
				    i, shown, cut ? "..." : "");
			}
		}
		if (!name)
			return err_setf(ret_error, -EINVAL, "files[%zu].name is required", i);
		if (!json_is_string(name))
			return err_setf(ret_error, -EINVAL, "files[%zu].name must be a string, not %s", i,
					json_type_name(name));
		s = json_string_value(name);
		len = json_string_length(name);
		if (!rd_file_name_valid(s, len))
			return err_setf(
			    ret_error, -EINVAL,
			    "files[%zu].name is not a valid file name (1-%d bytes, no '/', no NUL, "
			    "not '.' or '..')",
			    i, RD_FILE_NAME_MAX);
		if (program_name && strcmp(s, program_name) == 0)
			return err_setf(ret_error, -EINVAL, "files[%zu].name is the program's own file name",
					i);
		for (size_t j = 1; j < 1 + i; j++)
			if (strcmp(req->files[j].name, s) == 0)
				return err_setf(ret_error, -EINVAL,
						"files[%zu].name duplicates files[%zu].name", i, j - 1);
		jf->name = strdup(s);
		if (!jf->name)
			return -ENOMEM;
		req->n_files = 2 + i; /* so a later failure frees it */

		{
			char tn[48], bn[48];
			snprintf(tn, sizeof(tn), "files[%zu].content", i);
			snprintf(bn, sizeof(bn), "files[%zu].content_b64", i);
			r = take_blob(content, content_b64, tn, bn, false, *source_left, "code plus files",
				      &jf->data, &jf->len, ret_error);
			if (r < 0)
				return r;
			if (r == 0)
				return err_setf(ret_error, -EINVAL,
						"files[%zu] needs 'content' or 'content_b64'", i);
		}
		*source_left -= jf->len;
	}
	return 0;
}

static int make_request_id(char id[static 17])
{
	uint8_t b[8];
	ssize_t n;

	n = getrandom(b, sizeof(b), GRND_NONBLOCK);
	if (n < 0)
		return -errno;
	if ((size_t)n != sizeof(b))
		return -EIO;
	for (size_t i = 0; i < sizeof(b); i++)
		snprintf(id + 2 * i, 3, "%02x", b[i]);
	return 0;
}

int api_parse_execute(const char *body, size_t len, const struct api_limits *lim,
		      const char *default_file_name, struct job_request *ret, char **ret_error)
{
	_cleanup_(request_freep) struct job_request req = {0};
	json_t *language = NULL, *code = NULL, *code_b64 = NULL, *in = NULL, *in_b64 = NULL, *files = NULL;
	json_t *timeout = NULL, *cpu = NULL, *memory = NULL, *output = NULL, *encoding = NULL, *v;
	json_auto_t *root = NULL;
	json_error_t jerr;
	size_t source_left = lim->max_source_bytes, n_extra = 0;
	const char *key;
	int r;

	if (len > lim->max_body_bytes)
		return err_setf(ret_error, -EMSGSIZE, "request body too large: at most %zu bytes",
				lim->max_body_bytes);
	if (!depth_ok(body, len, API_MAX_DEPTH))
		return err_setf(ret_error, -EINVAL, "JSON nested deeper than %d levels", API_MAX_DEPTH);

	/* JSON_ALLOW_NUL so that NUL in 'code' gets a useful message below;
	 * jansson still refuses NUL in object keys. */
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
	if (!root)
		return err_setf(ret_error, -EINVAL, "invalid JSON at line %d, column %d: %s", jerr.line,
				jerr.column, jerr.text);
	if (!json_is_object(root))
		return err_setf(ret_error, -EINVAL, "the request body must be a JSON object, not %s",
				json_type_name(root));

	json_object_foreach(root, key, v)
	{
		static const char *const names[] = {"language",	 "code",	 "code_b64", "stdin",
						    "stdin_b64", "files",	 "timeout",  "cpu_time",
						    "memory_mb", "output_limit", "encoding"};
		json_t **slots[] = {&language, &code, &code_b64, &in,	  &in_b64,  &files,
				    &timeout,  &cpu,  &memory,	 &output, &encoding};
		size_t k;

		for (k = 0; k < sizeof(names) / sizeof(names[0]); k++)
			if (strcmp(key, names[k]) == 0)
				break;
		if (k == sizeof(names) / sizeof(names[0])) {
			char shown[65];
			bool cut = key_for_message(key, shown);
			return err_setf(ret_error, -EINVAL, "unknown field '%s'%s", shown, cut ? "..." : "");
		}
		*slots[k] = v;
	}

	if (!language)
		return err_setf(ret_error, -EINVAL, "'language' is required");
	if (!json_is_string(language))
		return wrong_type("language", "a string", language, ret_error);
	if (!language_name_ok(json_string_value(language), json_string_length(language)))
		return err_setf(ret_error, -EINVAL,
				"'language' must be 1-%d characters of A-Z a-z 0-9 . _ + -",
				API_LANGUAGE_MAX);

	if (files) {
		if (!json_is_array(files))
			return wrong_type("files", "an array", files, ret_error);
		n_extra = json_array_size(files);
		if (n_extra > lim->max_files)
			return err_setf(ret_error, -EINVAL,
					"'files' has %zu entries: at most %zu are allowed", n_extra,
					lim->max_files);
	}
	req.files = calloc(1 + n_extra, sizeof(struct job_file));
	if (!req.files)
		return -ENOMEM;
	req.n_files = 1;

	req.language = strdup(json_string_value(language));
	if (!req.language)
		return -ENOMEM;
	if (default_file_name) {
		req.files[0].name = strdup(default_file_name);
		if (!req.files[0].name)
			return -ENOMEM;
	}

	r = take_blob(code, code_b64, "code", "code_b64", false, source_left, "code plus files",
		      &req.files[0].data, &req.files[0].len, ret_error);
	if (r < 0)
		return r;
	if (r == 0)
		return err_setf(ret_error, -EINVAL, "'code' or 'code_b64' is required");
	source_left -= req.files[0].len;

	if (files) {
		r = parse_files(files, default_file_name, &source_left, &req, ret_error);
		if (r < 0)
			return r;
	}

	/* stdin is data, not source: NUL is fine in the text form. */
	r = take_blob(in, in_b64, "stdin", "stdin_b64", true, lim->max_stdin_bytes, "stdin", &req.stdin_data,
		      &req.stdin_len, ret_error);
	if (r < 0)
		return r;

	/* Each limit starts at its default; what the client gives replaces it. */
	req.timeout_ms = lim->timeout_ms_default;
	r = take_seconds(timeout, "timeout", lim->timeout_ms_max, &req.timeout_ms, &req.timeout_set,
			 ret_error);
	if (r < 0)
		return r;
	req.cpu_ms = lim->cpu_ms_default ? lim->cpu_ms_default : req.timeout_ms;
	if (req.cpu_ms > lim->cpu_ms_max)
		req.cpu_ms = lim->cpu_ms_max;
	r = take_seconds(cpu, "cpu_time", lim->cpu_ms_max, &req.cpu_ms, &req.cpu_set, ret_error);
	if (r < 0)
		return r;
	req.memory_kb = lim->memory_kb_default;
	r = take_positive(memory, "memory_mb", 1024, lim->memory_kb_max, &req.memory_kb, &req.memory_set,
			  ret_error);
	if (r < 0)
		return r;
	req.output_bytes = lim->output_bytes_default;
	r = take_positive(output, "output_limit", 1, lim->output_bytes_max, &req.output_bytes, NULL,
			  ret_error);
	if (r < 0)
		return r;
	if (encoding) {
		const char *e;
		if (!json_is_string(encoding))
			return wrong_type("encoding", "a string", encoding, ret_error);
		e = json_string_value(encoding);
		if (json_string_length(encoding) == 5 && strcmp(e, "utf-8") == 0)
			req.base64_output = false;
		else if (json_string_length(encoding) == 6 && strcmp(e, "base64") == 0)
			req.base64_output = true;
		else
			return err_setf(ret_error, -EINVAL, "'encoding' must be \"utf-8\" or \"base64\"");
	}

	r = make_request_id(req.request_id);
	if (r < 0)
		return err_setf(ret_error, r, "cannot make a request id: %s", strerror(-r));
	req.arrival_ns = now_ns();

	*ret = req;
	req = (struct job_request){0};
	return 0;
}

json_t *api_render_error(const char *message)
{
	return json_pack("{s:s}", "error", message ? message : "unknown error");
}

/* Sets key to a new value; remembers failure (NULL value or OOM) in *ok. */
static void set(json_t *o, const char *key, json_t *v, bool *ok)
{
	if (!v || json_object_set_new(o, key, v) < 0)
		*ok = false;
}

static void set_stream(json_t *o, const char *key, const uint8_t *data, size_t len, bool b64, bool *ok)
{
	char name[32];

	if (b64) {
		_cleanup_free_ char *s = NULL;
		size_t n;
		snprintf(name, sizeof(name), "%s_b64", key);
		if (base64_encode(data, len, &s, &n) < 0) {
			*ok = false;
			return;
		}
		set(o, name, json_stringn_nocheck(s, n), ok);
	} else {
		_cleanup_free_ char *s = NULL;
		size_t n;
		bool lossy;
		if (utf8_sanitize(data, len, &s, &n, &lossy) < 0) {
			*ok = false;
			return;
		}
		set(o, key, json_stringn(s, n), ok);
		snprintf(name, sizeof(name), "%s_lossy", key);
		set(o, name, json_boolean(lossy), ok);
	}
}

static json_t *signal_name(int sig)
{
	const char *abbrev = sig > 0 ? sigabbrev_np(sig) : NULL;
	char buf[32];

	if (!abbrev)
		return json_null();
	snprintf(buf, sizeof(buf), "SIG%s", abbrev);
	return json_string(buf);
}

/* enum rd_limit bits as names, e.g. ["wall", "pids"]. */
static json_t *limits_hit_names(uint32_t bits)
{
	static const char *names[] = {"wall", "cpu", "memory", "stdout", "stderr", "pids", "fsize"};
	json_t *a = json_array();

	for (unsigned i = 0; a && i < sizeof(names) / sizeof(names[0]); i++)
		if (bits & (1u << i))
			json_array_append_new(a, json_string(names[i]));
	return a;
}

static json_t *duration_string(uint64_t us)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%llums", (unsigned long long)((us + 500) / 1000));
	return json_string(buf);
}

static json_t *ms_from_us(uint64_t us)
{
	return json_real((double)us / 1000.0);
}

/* The response body: its fields are documented in docs/api.md
 * ("POST /api/v1/execute"); keep the two in step. */
json_t *api_render_result(const struct job_request *req, const struct job_result *res)
{
	const struct job_step *run = &res->run, *comp = &res->compile;
	bool timed_out = res->status == JOB_TIMEOUT || res->status == JOB_COMPILE_TIMEOUT;
	bool oom = res->status == JOB_MEMORY_LIMIT || (run->present && (run->limits_hit & RD_LIMIT_MEMORY)) ||
		   (comp->present && (comp->limits_hit & RD_LIMIT_MEMORY));
	bool b64 = req->base64_output, ok = true;
	json_auto_t *o = json_object();
	json_t *t, *c, *l;

	if (!o)
		return NULL;
	{ /* Runner Codes' request handle, first as in its responses */
		char trace[4 + sizeof(req->request_id)];
		snprintf(trace, sizeof(trace), "tr-%s", req->request_id);
		set(o, "trace_id", json_string(trace), &ok);
	}
	set(o, "status", json_string(job_status_to_string(res->status)), &ok);
	if (timed_out)
		set(o, "exit_code", json_integer(124), &ok);
	else if (run->present && run->signal == 0 && run->exit_code >= 0)
		set(o, "exit_code", json_integer(run->exit_code), &ok);
	else
		set(o, "exit_code", json_null(), &ok);
	set(o, "signal", run->present && run->signal > 0 ? json_integer(run->signal) : json_null(), &ok);
	set(o, "signal_name", run->present ? signal_name(run->signal) : json_null(), &ok);
	set(o, "timed_out", json_boolean(timed_out), &ok);
	set(o, "oom", json_boolean(oom), &ok);
	set_stream(o, "stdout", run->present ? run->out : NULL, run->present ? run->out_len : 0, b64, &ok);
	set_stream(o, "stderr", run->present ? run->err : NULL, run->present ? run->err_len : 0, b64, &ok);
	/* Runner Codes' clients read an empty stderr as null. */
	if (!b64 && !(run->present && run->err_len > 0))
		set(o, "stderr", json_null(), &ok);
	set(o, "stdout_truncated", json_boolean(run->present && (run->limits_hit & RD_LIMIT_STDOUT)), &ok);
	set(o, "stderr_truncated", json_boolean(run->present && (run->limits_hit & RD_LIMIT_STDERR)), &ok);
	set(o, "limits_hit", limits_hit_names(run->present ? run->limits_hit : 0), &ok);

	if (comp->present) {
		c = json_object();
		set(o, "compile", c, &ok);
		if (c) {
			set(c, "exit_code",
			    comp->signal == 0 && comp->exit_code >= 0 ? json_integer(comp->exit_code)
								      : json_null(),
			    &ok);
			set(c, "signal", comp->signal > 0 ? json_integer(comp->signal) : json_null(), &ok);
			set(c, "signal_name", signal_name(comp->signal), &ok);
			set_stream(c, "stdout", comp->out, comp->out_len, b64, &ok);
			set_stream(c, "stderr", comp->err, comp->err_len, b64, &ok);
			set(c, "stdout_truncated", json_boolean(comp->limits_hit & RD_LIMIT_STDOUT), &ok);
			set(c, "stderr_truncated", json_boolean(comp->limits_hit & RD_LIMIT_STDERR), &ok);
			set(c, "limits_hit", limits_hit_names(comp->limits_hit), &ok);
			set(c, "wall_time_ms", json_integer(comp->wall_ms), &ok);
			set(c, "cpu_time_ms", json_integer(comp->cpu_ms), &ok);
			set(c, "memory_kb", json_integer(comp->peak_memory_kb), &ok);
		}
	} else
		set(o, "compile", json_null(), &ok);

	set(o, "exec_time_ms", json_integer(run->present ? run->wall_ms : 0), &ok);
	/* Runner Codes' duration strings, whole milliseconds: "34ms". */
	set(o, "exec_time", duration_string((uint64_t)(run->present ? run->wall_ms : 0) * 1000u), &ok);
	set(o, "load_time", duration_string(res->t.startup_us), &ok);
	set(o, "cpu_time_ms", json_integer(run->present ? run->cpu_ms : 0), &ok);
	set(o, "memory_kb", json_integer(run->present ? run->peak_memory_kb : 0), &ok);
	set(o, "wall_time_ms", json_integer((json_int_t)((res->t.total_us + 500) / 1000)), &ok);

	t = json_object();
	set(o, "timings", t, &ok);
	if (t) {
		set(t, "queue_ms", ms_from_us(res->t.queue_us), &ok);
		set(t, "resume_ms", ms_from_us(res->t.resume_us), &ok);
		set(t, "handoff_ms", ms_from_us(res->t.handoff_us), &ok);
		set(t, "setup_ms", ms_from_us(res->t.setup_us), &ok);
		set(t, "startup_ms", ms_from_us(res->t.startup_us), &ok);
		set(t, "total_ms", ms_from_us(res->t.total_us), &ok);
	}

	l = json_object();
	set(o, "limits", l, &ok);
	if (l) {
		set(l, "timeout", json_real(req->timeout_ms / 1000.0), &ok);
		set(l, "cpu_time", json_real(req->cpu_ms / 1000.0), &ok);
		set(l, "memory_mb", json_integer(req->memory_kb / 1024), &ok);
		set(l, "output_limit", json_integer(req->output_bytes), &ok);
	}

	set(o, "request_id", json_string(req->request_id), &ok);
	{
		size_t n = strnlen(res->vm_id, sizeof(res->vm_id));
		set(o, "vm_id", n ? json_stringn(res->vm_id, n) : json_null(), &ok);
	}
	if (res->message) {
		_cleanup_free_ char *m = NULL;
		size_t n;
		bool lossy;
		if (utf8_sanitize(res->message, strlen(res->message), &m, &n, &lossy) < 0)
			ok = false;
		else
			set(o, "message", json_stringn(m, n), &ok);
	}
	if (!ok)
		return NULL;
	return json_incref(o);
}
