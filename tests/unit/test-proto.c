/* test-proto.c: unit tests for the host <-> agent wire format (proto.c):
 * round trips, the exact byte layout, and rejection of every malformed
 * input class the decoders promise to catch. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "guest.h"
#include "proto.h"

static uint8_t entropy[32];

static struct rd_job sample_job(void)
{
	static const uint8_t code[] = "print('hi')\n";
	static const uint8_t in[] = {'a', 0, 'b'};
	struct rd_job job = {
	    .entropy = entropy,
	    .entropy_len = sizeof entropy,
	    .realtime_ns = 0x0102030405060708ull,
	    .n_files = 2,
	    .stdin_data = in,
	    .stdin_len = sizeof in,
	    .compile_argc = 2,
	    .run_argc = 3,
	    .limits = {.cpu_ms = 1000, .wall_ms = 2000, .tmpfs_kb = 4096},
	};

	job.files[0] = (struct rd_file){.name = "main.py", .data = code, .len = sizeof code - 1};
	job.files[1] = (struct rd_file){.name = "empty", .data = NULL, .len = 0};
	job.compile_argv[0] = "cc";
	job.compile_argv[1] = "-O2";
	job.run_argv[0] = "python3";
	job.run_argv[1] = "";
	job.run_argv[2] = "main.py";
	return job;
}

/* Encodes `job`, checks the header, and returns the payload (into *b). */
static const uint8_t *encode_job(const struct rd_job *job, struct rd_buf *b, size_t *ret_len)
{
	struct rd_frame_hdr h;

	rd_buf_init(b, RD_FRAME_HDR_SIZE + RD_FRAME_MAX);
	CHECK(rd_job_encode(job, 7, b) == 0);
	CHECK(rd_frame_hdr_decode(b->data, RD_FRAME_MAX, &h) == 0);
	CHECK(h.type == RD_FRAME_JOB && h.id == 7 && h.len == b->len - RD_FRAME_HDR_SIZE);
	*ret_len = h.len;
	return b->data + RD_FRAME_HDR_SIZE;
}

static void test_header(void)
{
	uint8_t h[RD_FRAME_HDR_SIZE];
	static const uint8_t expect[RD_FRAME_HDR_SIZE] = {'R',	'N',  'D',  '1',  1,  0, 4, 0,
							  0x78, 0x56, 0x34, 0x12, 10, 0, 0, 0};
	struct rd_frame_hdr d;

	rd_frame_hdr_encode(h, RD_FRAME_RESULT, 0x12345678, 10);
	CHECK(memcmp(h, expect, sizeof h) == 0);
	CHECK(rd_frame_hdr_decode(h, 100, &d) == 0);
	CHECK(d.magic == RD_MAGIC && d.version == RD_VERSION && d.type == RD_FRAME_RESULT &&
	      d.id == 0x12345678 && d.len == 10);
	CHECK(rd_frame_hdr_decode(h, 9, &d) == -EMSGSIZE);

	rd_frame_hdr_encode(h, RD_FRAME_RESULT, 1, 0xffffffffu); /* the 4 GB frame */
	CHECK(rd_frame_hdr_decode(h, UINT32_MAX, &d) == -EMSGSIZE);
	rd_frame_hdr_encode(h, 0, 1, 0);
	CHECK(rd_frame_hdr_decode(h, 100, &d) == -EPROTO);
	rd_frame_hdr_encode(h, RD_FRAME_ERROR + 1, 1, 0);
	CHECK(rd_frame_hdr_decode(h, 100, &d) == -EPROTO);
	rd_frame_hdr_encode(h, RD_FRAME_ACK, 1, 0);
	h[0] ^= 1;
	CHECK(rd_frame_hdr_decode(h, 100, &d) == -EPROTO);
	h[0] ^= 1;
	h[4] = 2; /* version */
	CHECK(rd_frame_hdr_decode(h, 100, &d) == -EPROTO);
}

static void test_buf(void)
{
	struct rd_buf b;
	uint8_t x[100] = {0};

	rd_buf_init(&b, 150);
	CHECK(rd_buf_append(&b, x, 100) == 0);
	CHECK(rd_buf_append(&b, x, 51) == -EMSGSIZE);
	CHECK(b.len == 100);
	CHECK(rd_buf_append(&b, x, 50) == 0 && b.len == 150 && b.cap <= 150);
	CHECK(rd_buf_put_u32(&b, 1, 1) == -EMSGSIZE && b.len == 150);
	CHECK(rd_buf_append(&b, x, SIZE_MAX) == -EMSGSIZE);
	rd_buf_free(&b);
	rd_buf_free(&b); /* idempotent */
	rd_buf_free(NULL);

	/* A failed encode leaves the buffer as it was. */
	struct rd_job job = sample_job();
	rd_buf_init(&b, 64);
	CHECK(rd_buf_append(&b, "xy", 2) == 0);
	CHECK(rd_job_encode(&job, 1, &b) == -EMSGSIZE);
	CHECK(b.len == 2);
	rd_buf_free(&b);
}

static void test_tlv_iter(void)
{
	static const uint8_t ok[] = {1, 0, 2, 0, 0, 0, 'a', 'b', 9, 0, 0, 0, 0, 0};
	static const uint8_t over[] = {1, 0, 3, 0, 0, 0, 'a', 'b'};
	static const uint8_t huge[] = {1, 0, 0xff, 0xff, 0xff, 0xff, 'a'};
	struct rd_tlv_iter it;
	uint16_t tag;
	const uint8_t *v;
	uint32_t len;

	rd_tlv_iter_init(&it, ok, sizeof ok);
	CHECK(rd_tlv_next(&it, &tag, &v, &len) == 1 && tag == 1 && len == 2 && v[0] == 'a');
	CHECK(rd_tlv_next(&it, &tag, &v, &len) == 1 && tag == 9 && len == 0);
	CHECK(rd_tlv_next(&it, &tag, &v, &len) == 0);
	rd_tlv_iter_init(&it, over, sizeof over);
	CHECK(rd_tlv_next(&it, &tag, &v, &len) == -EPROTO);
	rd_tlv_iter_init(&it, huge, sizeof huge);
	CHECK(rd_tlv_next(&it, &tag, &v, &len) == -EPROTO);
	rd_tlv_iter_init(&it, ok, 3);
	CHECK(rd_tlv_next(&it, &tag, &v, &len) == -EPROTO);
}

static void test_file_names(void)
{
	char long_name[RD_FILE_NAME_MAX + 2];

	CHECK(rd_file_name_valid("main.c", 6));
	CHECK(rd_file_name_valid("...", 3));
	CHECK(rd_file_name_valid(".hidden", 7));
	CHECK(!rd_file_name_valid("", 0));
	CHECK(!rd_file_name_valid(".", 1));
	CHECK(!rd_file_name_valid("..", 2));
	CHECK(!rd_file_name_valid("a/b", 3));
	CHECK(!rd_file_name_valid("/etc", 4));
	CHECK(!rd_file_name_valid("a\0b", 3));
	CHECK(!rd_file_name_valid(NULL, 1));
	memset(long_name, 'a', sizeof long_name);
	CHECK(rd_file_name_valid(long_name, RD_FILE_NAME_MAX));
	CHECK(!rd_file_name_valid(long_name, RD_FILE_NAME_MAX + 1));
}

static void test_job_roundtrip(void)
{
	struct rd_job job = sample_job(), d;
	struct rd_buf b;
	size_t n;
	const uint8_t *p = encode_job(&job, &b, &n);

	CHECK(rd_job_decode(p, n, &d) == 0);
	CHECK(d.entropy_len == sizeof entropy && memcmp(d.entropy, entropy, sizeof entropy) == 0);
	CHECK(d.realtime_ns == job.realtime_ns);
	CHECK(d.n_files == 2 && strcmp(d.files[0].name, "main.py") == 0 &&
	      d.files[0].len == job.files[0].len &&
	      memcmp(d.files[0].data, job.files[0].data, d.files[0].len) == 0);
	CHECK(strcmp(d.files[1].name, "empty") == 0 && d.files[1].len == 0);
	CHECK(d.stdin_len == 3 && memcmp(d.stdin_data, "a\0b", 3) == 0);
	CHECK(d.compile_argc == 2 && strcmp(d.compile_argv[1], "-O2") == 0 && d.compile_argv[2] == NULL);
	CHECK(d.run_argc == 3 && strcmp(d.run_argv[0], "python3") == 0 && strcmp(d.run_argv[1], "") == 0 &&
	      strcmp(d.run_argv[2], "main.py") == 0 && d.run_argv[3] == NULL);
	CHECK(memcmp(&d.limits, &job.limits, sizeof d.limits) == 0);

	/* Every strict prefix of a valid payload is rejected or decodes to
	 * something else without reading past its end (the fuzzer checks the
	 * latter with ASan; here we only require no success with missing run argv). */
	for (size_t cut = 0; cut < n; cut++) {
		int r = rd_job_decode(p, cut, &d);
		CHECK(r == -EPROTO || (r == 0 && d.run_argc > 0));
	}
	rd_buf_free(&b);

	/* Minimal job: no compile, no files, no stdin, all limits default. */
	struct rd_job min = {.entropy = entropy, .entropy_len = RD_ENTROPY_MIN, .run_argc = 1};
	min.run_argv[0] = "true";
	p = encode_job(&min, &b, &n);
	CHECK(rd_job_decode(p, n, &d) == 0 && d.compile_argc == 0 && d.n_files == 0 && d.stdin_len == 0 &&
	      d.limits.wall_ms == 0);
	rd_buf_free(&b);
}

static void test_job_encode_rejects(void)
{
	struct rd_buf b;
	struct rd_job job;

	rd_buf_init(&b, RD_FRAME_MAX);
	job = sample_job();
	job.entropy_len = RD_ENTROPY_MIN - 1;
	CHECK(rd_job_encode(&job, 1, &b) == -EINVAL);
	job = sample_job();
	job.run_argc = 0;
	CHECK(rd_job_encode(&job, 1, &b) == -EINVAL);
	job = sample_job();
	job.files[1].name = "../x";
	CHECK(rd_job_encode(&job, 1, &b) == -EINVAL);
	job = sample_job();
	job.files[1].name = "main.py";
	CHECK(rd_job_encode(&job, 1, &b) == -EINVAL);
	job = sample_job();
	job.run_argv[0] = "";
	CHECK(rd_job_encode(&job, 1, &b) == -EINVAL);
	CHECK(b.len == 0);
	rd_buf_free(&b);
}

/* Builds a payload TLV by TLV for the decoder's negative cases. */
static struct rd_buf raw;

static void raw_reset(void)
{
	rd_buf_free(&raw);
	rd_buf_init(&raw, 1 << 20);
}

static void raw_base(bool entropy_ok, bool time_ok, bool run_ok)
{
	raw_reset();
	if (entropy_ok)
		rd_buf_put_tlv(&raw, RD_TAG_ENTROPY, entropy, sizeof entropy);
	if (time_ok)
		rd_buf_put_u64(&raw, RD_TAG_REALTIME_NS, 1);
	if (run_ok)
		rd_buf_put_tlv(&raw, RD_TAG_RUN_ARGV, "sh\0-c\0", 6);
}

static int raw_decode(void)
{
	struct rd_job d;
	return rd_job_decode(raw.data, raw.len, &d);
}

/* A TLV a refused case appends to the base payload; one without data
 * ends the list. */
struct raw_tlv {
	uint16_t tag;
	const void *data;
	uint32_t len;
};

/* A value of 1 as rd_buf_put_u32() and rd_buf_put_u64() write it. */
#define U32_1 "\1\0\0\0", 4
#define U64_1 "\1\0\0\0\0\0\0\0", 8

/* What a refused case leaves out of the base payload. */
enum { NO_ENTROPY = 1, NO_TIME = 2, NO_RUN = 4 };

static const uint8_t big_entropy[RD_ENTROPY_MAX + 1];

static void test_job_decode_rejects(void)
{
	static const struct {
		const char *what;
		unsigned without;
		struct raw_tlv add[4];
	} refused[] = {
	    {"no entropy", NO_ENTROPY, {{0}}},
	    {"no time", NO_TIME, {{0}}},
	    {"no run argv", NO_RUN, {{0}}},
	    {"entropy over RD_ENTROPY_MAX", NO_ENTROPY, {{RD_TAG_ENTROPY, big_entropy, sizeof big_entropy}}},
	    /* duplicates */
	    {"entropy twice", 0, {{RD_TAG_ENTROPY, entropy, sizeof entropy}}},
	    {"a limit twice", 0, {{RD_TAG_LIMIT_PIDS, U32_1}, {RD_TAG_LIMIT_PIDS, U32_1}}},
	    {"run argv twice", 0, {{RD_TAG_RUN_ARGV, "x\0", 2}}},
	    /* wrong sizes, unknown tags */
	    {"a u32 limit sent as a u64", 0, {{RD_TAG_LIMIT_CPU_MS, U64_1}}},
	    {"unknown tag 99", 0, {{99, U32_1}}},
	    {"a RESULT tag in a JOB", 0, {{RD_TAG_EXIT_CODE, U32_1}}},
	    {"unknown tag 63", 0, {{63, U32_1}}},
	    {"unknown tag 0xffff", 0, {{0xffff, U32_1}}},
	    /* argv: unterminated, empty argv[0], empty */
	    {"run argv unterminated", NO_RUN, {{RD_TAG_RUN_ARGV, "sh", 2}}},
	    {"run argv[0] empty", NO_RUN, {{RD_TAG_RUN_ARGV, "\0x\0", 3}}},
	    {"run argv empty", NO_RUN, {{RD_TAG_RUN_ARGV, "", 0}}},
	    /* files: bad names, missing data, data without name, duplicates */
	    {"file name ..", 0, {{RD_TAG_FILE_NAME, "..\0", 3}, {RD_TAG_FILE_DATA, "x", 1}}},
	    {"file name .", 0, {{RD_TAG_FILE_NAME, ".\0", 2}, {RD_TAG_FILE_DATA, "x", 1}}},
	    {"file name a/b", 0, {{RD_TAG_FILE_NAME, "a/b\0", 4}, {RD_TAG_FILE_DATA, "x", 1}}},
	    {"file name empty", 0, {{RD_TAG_FILE_NAME, "\0", 1}, {RD_TAG_FILE_DATA, "x", 1}}},
	    {"file name without its NUL", 0, {{RD_TAG_FILE_NAME, "ab", 2}, {RD_TAG_FILE_DATA, "x", 1}}},
	    {"file name with a NUL inside", 0, {{RD_TAG_FILE_NAME, "a\0b\0", 4}, {RD_TAG_FILE_DATA, "x", 1}}},
	    {"file name without data", 0, {{RD_TAG_FILE_NAME, "a\0", 2}}},
	    {"another tag between a file's name and data",
	     0,
	     {{RD_TAG_FILE_NAME, "a\0", 2}, {RD_TAG_LIMIT_PIDS, U32_1}, {RD_TAG_FILE_DATA, "x", 1}}},
	    {"file data without a name", 0, {{RD_TAG_FILE_DATA, "x", 1}}},
	    {"two files of one name",
	     0,
	     {{RD_TAG_FILE_NAME, "a\0", 2},
	      {RD_TAG_FILE_DATA, "x", 1},
	      {RD_TAG_FILE_NAME, "a\0", 2},
	      {RD_TAG_FILE_DATA, "y", 1}}},
	};

	raw_base(true, true, true);
	CHECK(raw_decode() == 0, "entropy, time and run argv: the base payload decodes");
	for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
		unsigned without = refused[i].without;
		raw_base(!(without & NO_ENTROPY), !(without & NO_TIME), !(without & NO_RUN));
		for (const struct raw_tlv *t = refused[i].add; t < refused[i].add + 4 && t->data; t++)
			rd_buf_put_tlv(&raw, t->tag, t->data, t->len);
		CHECK(raw_decode() == -EPROTO, refused[i].what);
	}

	/* argv: at most RD_MAX_ARGV words */
	{
		char many[2 * (RD_MAX_ARGV + 1)];
		for (size_t i = 0; i < sizeof many; i += 2) {
			many[i] = 'a';
			many[i + 1] = '\0';
		}
		raw_base(true, true, false);
		rd_buf_put_tlv(&raw, RD_TAG_RUN_ARGV, many, 2 * RD_MAX_ARGV);
		CHECK(raw_decode() == 0);
		raw_base(true, true, false);
		rd_buf_put_tlv(&raw, RD_TAG_RUN_ARGV, many, sizeof many);
		CHECK(raw_decode() == -EPROTO);
	}

	/* files: at most RD_MAX_FILES */
	raw_base(true, true, true);
	for (int i = 0; i <= RD_MAX_FILES; i++) {
		char name[8];
		snprintf(name, sizeof name, "f%d", i);
		rd_buf_put_tlv(&raw, RD_TAG_FILE_NAME, name, (uint32_t)strlen(name) + 1);
		rd_buf_put_tlv(&raw, RD_TAG_FILE_DATA, "", 0);
		if (i == RD_MAX_FILES - 1)
			CHECK(raw_decode() == 0);
	}
	CHECK(raw_decode() == -EPROTO);

	/* trailing garbage shorter than a TLV header */
	raw_base(true, true, true);
	rd_buf_append(&raw, "\x01", 1);
	CHECK(raw_decode() == -EPROTO);
	raw_reset();
}

static void test_result(void)
{
	struct rd_result res = {0}, d;
	struct rd_buf b;
	struct rd_frame_hdr h;

	res.compile = (struct rd_step_result){
	    .present = true, .exit_code = 0, .cpu_ms = 5, .out = (const uint8_t *)"c", .out_len = 1};
	res.run = (struct rd_step_result){.present = true,
					  .exit_code = -1,
					  .signal = 9,
					  .wall_ms = 1500,
					  .limits_hit = RD_LIMIT_WALL | RD_LIMIT_STDOUT,
					  .setup_us = 1234,
					  .peak_memory_kb = 77,
					  .err = (const uint8_t *)"e\0e",
					  .err_len = 3};
	rd_buf_init(&b, RD_FRAME_MAX);
	CHECK(rd_result_encode(&res, 42, &b) == 0);
	CHECK(rd_frame_hdr_decode(b.data, RD_FRAME_MAX, &h) == 0 && h.type == RD_FRAME_RESULT && h.id == 42);
	CHECK(rd_result_decode(b.data + RD_FRAME_HDR_SIZE, h.len, &d) == 0);
	CHECK(d.compile.present && d.compile.cpu_ms == 5 && d.compile.out_len == 1 &&
	      d.compile.out[0] == 'c');
	CHECK(d.run.present && d.run.exit_code == -1 && d.run.signal == 9 && d.run.wall_ms == 1500 &&
	      d.run.limits_hit == (RD_LIMIT_WALL | RD_LIMIT_STDOUT) && d.run.setup_us == 1234 &&
	      d.run.peak_memory_kb == 77 && d.run.err_len == 3 && memcmp(d.run.err, "e\0e", 3) == 0 &&
	      d.run.out_len == 0);
	for (size_t cut = 0; cut < h.len; cut++) {
		int r = rd_result_decode(b.data + RD_FRAME_HDR_SIZE, cut, &d);
		/* the only valid prefixes end right after a complete step */
		CHECK(r == -EPROTO || (r == 0 && d.compile.present));
	}
	rd_buf_free(&b);

	/* Only a compile step (compilation failed). */
	res.run.present = false;
	res.compile.exit_code = 1;
	rd_buf_init(&b, RD_FRAME_MAX);
	CHECK(rd_result_encode(&res, 1, &b) == 0);
	CHECK(rd_result_decode(b.data + RD_FRAME_HDR_SIZE, b.len - RD_FRAME_HDR_SIZE, &d) == 0 &&
	      d.compile.present && !d.run.present && d.compile.exit_code == 1);
	rd_buf_free(&b);

	/* Inconsistent results are refused by the encoder. */
	rd_buf_init(&b, RD_FRAME_MAX);
	res.compile.exit_code = -1; /* no signal */
	CHECK(rd_result_encode(&res, 1, &b) == -EINVAL);
	res.compile.exit_code = 256;
	CHECK(rd_result_encode(&res, 1, &b) == -EINVAL);
	res.compile.exit_code = 0;
	res.compile.limits_hit = 1u << 20;
	CHECK(rd_result_encode(&res, 1, &b) == -EINVAL);
	res.compile.present = false;
	CHECK(rd_result_encode(&res, 1, &b) == -EINVAL);
	CHECK(b.len == 0);
	rd_buf_free(&b);
}

static void step_tlvs(struct rd_buf *b, uint32_t step, int skip_tag, int dup_tag)
{
	rd_buf_put_u32(b, RD_TAG_STEP, step);
	for (uint16_t t = RD_TAG_EXIT_CODE; t <= RD_TAG_SETUP_US; t++) {
		if (t == skip_tag)
			continue;
		if (t == RD_TAG_STDOUT || t == RD_TAG_STDERR)
			rd_buf_put_tlv(b, t, "", 0);
		else
			rd_buf_put_u32(b, t, 0);
		if (t == dup_tag)
			rd_buf_put_u32(b, t, 0);
	}
}

static int result_decode_buf(struct rd_buf *b)
{
	struct rd_result d;
	return rd_result_decode(b->data, b->len, &d);
}

static void test_result_rejects(void)
{
	struct rd_buf b;

	rd_buf_init(&b, 1 << 16);
	step_tlvs(&b, RD_STEP_RUN, 0, 0);
	CHECK(result_decode_buf(&b) == 0);
	b.len = 0;
	CHECK(result_decode_buf(&b) == -EPROTO); /* no step at all */
	step_tlvs(&b, RD_STEP_RUN, RD_TAG_CPU_MS, 0);
	CHECK(result_decode_buf(&b) == -EPROTO); /* missing field */
	b.len = 0;
	step_tlvs(&b, RD_STEP_RUN, RD_TAG_STDOUT, 0);
	CHECK(result_decode_buf(&b) == 0); /* streams are optional */
	b.len = 0;
	step_tlvs(&b, RD_STEP_RUN, 0, RD_TAG_WALL_MS);
	CHECK(result_decode_buf(&b) == -EPROTO); /* duplicate field */
	b.len = 0;
	step_tlvs(&b, RD_STEP_RUN, 0, 0);
	step_tlvs(&b, RD_STEP_RUN, 0, 0);
	CHECK(result_decode_buf(&b) == -EPROTO); /* two run steps */
	b.len = 0;
	step_tlvs(&b, RD_STEP_RUN, 0, 0);
	step_tlvs(&b, RD_STEP_COMPILE, 0, 0);
	CHECK(result_decode_buf(&b) == -EPROTO); /* compile after run */
	b.len = 0;
	step_tlvs(&b, RD_STEP_COMPILE, 0, 0);
	step_tlvs(&b, RD_STEP_RUN, 0, 0);
	CHECK(result_decode_buf(&b) == 0);
	b.len = 0;
	step_tlvs(&b, 3, 0, 0);
	CHECK(result_decode_buf(&b) == -EPROTO); /* unknown step */
	b.len = 0;
	rd_buf_put_u32(&b, RD_TAG_CPU_MS, 0);
	step_tlvs(&b, RD_STEP_RUN, 0, 0);
	CHECK(result_decode_buf(&b) == -EPROTO); /* field before any step */
	b.len = 0;
	step_tlvs(&b, RD_STEP_RUN, 0, 0);
	rd_buf_put_u32(&b, RD_TAG_ENTROPY, 0);
	CHECK(result_decode_buf(&b) == -EPROTO); /* JOB tag in a RESULT */
	b.len = 0;
	step_tlvs(&b, RD_STEP_RUN, RD_TAG_SIGNAL, 0);
	rd_buf_put_u32(&b, RD_TAG_SIGNAL, 9); /* signal but exit code 0 */
	CHECK(result_decode_buf(&b) == -EPROTO);
	rd_buf_free(&b);
}

static void test_message(void)
{
	struct rd_buf b;
	struct rd_frame_hdr h;
	const char *msg;
	char big[5000];

	rd_buf_init(&b, 1 << 16);
	CHECK(rd_message_encode(RD_FRAME_ERROR, 3, "boom", &b) == 0);
	CHECK(rd_frame_hdr_decode(b.data, RD_FRAME_MAX, &h) == 0 && h.type == RD_FRAME_ERROR && h.id == 3);
	CHECK(rd_message_decode(b.data + RD_FRAME_HDR_SIZE, h.len, &msg) == 0 && strcmp(msg, "boom") == 0);
	b.len = 0;
	CHECK(rd_message_encode(RD_FRAME_HELLO, 0, NULL, &b) == 0 && b.len == RD_FRAME_HDR_SIZE);
	CHECK(rd_message_decode(b.data + RD_FRAME_HDR_SIZE, 0, &msg) == 0 && msg == NULL);
	b.len = 0;
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	CHECK(rd_message_encode(RD_FRAME_ERROR, 3, big, &b) == 0); /* truncated, still valid */
	CHECK(rd_message_decode(b.data + RD_FRAME_HDR_SIZE, b.len - RD_FRAME_HDR_SIZE, &msg) == 0 &&
	      strlen(msg) == 4096);
	CHECK(rd_message_encode(RD_FRAME_JOB, 3, "x", &b) == -EINVAL);
	b.len = 0;
	rd_buf_put_tlv(&b, RD_TAG_MESSAGE, "ab", 2); /* unterminated */
	CHECK(rd_message_decode(b.data, b.len, &msg) == -EPROTO);
	rd_buf_free(&b);
}

/* The agent pastes these into its boot mount options as text (RD_STR());
 * the text must read as the number the rest of the code uses. */
static void test_guest_constants(void)
{
	static const struct {
		unsigned value;
		const char *text, *name;
	} c[] = {
	    {RD_RUNNER_UID, RD_STR(RD_RUNNER_UID), "RD_RUNNER_UID"},
	    {RD_RUNNER_GID, RD_STR(RD_RUNNER_GID), "RD_RUNNER_GID"},
	    {RD_DEFAULT_TMPFS_KB, RD_STR(RD_DEFAULT_TMPFS_KB), "RD_DEFAULT_TMPFS_KB"},
	};
	char buf[32], name[64];

	for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
		snprintf(buf, sizeof buf, "%u", c[i].value);
		snprintf(name, sizeof name, "%s is a plain decimal literal", c[i].name);
		CHECK(strcmp(buf, c[i].text) == 0, name);
	}
}

int main(void)
{
	for (size_t i = 0; i < sizeof entropy; i++)
		entropy[i] = (uint8_t)(i * 37 + 1);
	test_header();
	test_buf();
	test_tlv_iter();
	test_file_names();
	test_job_roundtrip();
	test_job_encode_rejects();
	test_job_decode_rejects();
	test_result();
	test_result_rejects();
	test_message();
	test_guest_constants();
	return check_done();
}
