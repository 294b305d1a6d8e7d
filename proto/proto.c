/* proto.c: encoding and strict decoding of the host <-> agent frames
 * described in proto.h and docs/agent-protocol.md. Built twice: into the
 * static musl agent and into the host's librdproto. No I/O, no globals; the
 * only allocation is struct rd_buf, which never grows past its `max`.
 *
 * Decoders treat their input as hostile: every length is checked against
 * what is left before it is used, every tag may appear at most once (files
 * excepted), strings must be NUL-terminated inside their value, and anything
 * unknown or out of order is -EPROTO. Encoders refuse (-EINVAL) to produce
 * what the matching decoder would reject, so a bug shows up at the sender. */
#include "proto.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* Longest RD_TAG_MESSAGE we produce or accept; messages are diagnostics. */
#define RD_MESSAGE_MAX 4096

static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_le64(const uint8_t *p)
{
	return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

void rd_frame_hdr_encode(uint8_t out[RD_FRAME_HDR_SIZE], uint16_t type, uint32_t id, uint32_t len)
{
	put_le32(out, RD_MAGIC);
	put_le16(out + 4, RD_VERSION);
	put_le16(out + 6, type);
	put_le32(out + 8, id);
	put_le32(out + 12, len);
}

int rd_frame_hdr_decode(const uint8_t in[RD_FRAME_HDR_SIZE], uint32_t max_len, struct rd_frame_hdr *ret)
{
	struct rd_frame_hdr h = {
	    .magic = get_le32(in),
	    .version = get_le16(in + 4),
	    .type = get_le16(in + 6),
	    .id = get_le32(in + 8),
	    .len = get_le32(in + 12),
	};

	if (h.magic != RD_MAGIC || h.version != RD_VERSION)
		return -EPROTO;
	if (h.type < RD_FRAME_HELLO || h.type > RD_FRAME_ERROR)
		return -EPROTO;
	if (h.len > max_len || h.len > RD_FRAME_MAX)
		return -EMSGSIZE;
	*ret = h;
	return 0;
}

void rd_buf_init(struct rd_buf *b, size_t max)
{
	*b = (struct rd_buf){.max = max};
}

void rd_buf_free(struct rd_buf *b)
{
	if (!b)
		return;
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

int rd_buf_append(struct rd_buf *b, const void *p, size_t n)
{
	if (n == 0)
		return 0;
	if (n > b->max || b->len > b->max - n)
		return -EMSGSIZE;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n)
			cap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
		if (cap > b->max)
			cap = b->max;
		uint8_t *d = realloc(b->data, cap);
		if (!d)
			return -ENOMEM;
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

int rd_buf_put_tlv(struct rd_buf *b, uint16_t tag, const void *p, uint32_t n)
{
	uint8_t h[RD_TLV_HDR_SIZE];
	size_t old = b->len;
	int r;

	if (n > RD_FRAME_MAX)
		return -EMSGSIZE;
	put_le16(h, tag);
	put_le32(h + 2, n);
	r = rd_buf_append(b, h, sizeof h);
	if (r >= 0)
		r = rd_buf_append(b, p, n);
	if (r < 0)
		b->len = old;
	return r;
}

int rd_buf_put_u32(struct rd_buf *b, uint16_t tag, uint32_t v)
{
	uint8_t le[4];

	put_le32(le, v);
	return rd_buf_put_tlv(b, tag, le, sizeof le);
}

int rd_buf_put_u64(struct rd_buf *b, uint16_t tag, uint64_t v)
{
	uint8_t le[8];

	put_le32(le, (uint32_t)v);
	put_le32(le + 4, (uint32_t)(v >> 32));
	return rd_buf_put_tlv(b, tag, le, sizeof le);
}

void rd_tlv_iter_init(struct rd_tlv_iter *it, const uint8_t *p, size_t n)
{
	it->p = p;
	it->left = n;
}

int rd_tlv_next(struct rd_tlv_iter *it, uint16_t *ret_tag, const uint8_t **ret_val, uint32_t *ret_len)
{
	uint32_t len;

	if (it->left == 0)
		return 0;
	if (it->left < RD_TLV_HDR_SIZE)
		return -EPROTO;
	len = get_le32(it->p + 2);
	if (len > it->left - RD_TLV_HDR_SIZE)
		return -EPROTO;
	*ret_tag = get_le16(it->p);
	*ret_val = it->p + RD_TLV_HDR_SIZE;
	*ret_len = len;
	it->p += RD_TLV_HDR_SIZE + len;
	it->left -= RD_TLV_HDR_SIZE + len;
	return 1;
}

bool rd_file_name_valid(const char *name, size_t len)
{
	if (!name || len == 0 || len > RD_FILE_NAME_MAX)
		return false;
	if (memchr(name, '/', len) || memchr(name, '\0', len))
		return false;
	if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
		return false;
	return true;
}

/* --- frame assembly ----------------------------------------------------- */

/* Reserve a header; frame_end() fills it in once the payload is known. */
static int frame_begin(struct rd_buf *out, size_t *ret_start)
{
	uint8_t h[RD_FRAME_HDR_SIZE] = {0};
	size_t start = out->len;
	int r = rd_buf_append(out, h, sizeof h);

	if (r < 0)
		return r;
	*ret_start = start;
	return 0;
}

static int frame_end(struct rd_buf *out, size_t start, uint16_t type, uint32_t id, int r)
{
	size_t len = out->len - start - RD_FRAME_HDR_SIZE;

	if (r >= 0 && len > RD_FRAME_MAX)
		r = -EMSGSIZE;
	if (r < 0) {
		out->len = start; /* leave `out` as it was */
		return r;
	}
	rd_frame_hdr_encode(out->data + start, type, id, (uint32_t)len);
	return 0;
}

/* --- jobs --------------------------------------------------------------- */

static bool argv_valid(const char *const *argv, unsigned argc, bool required)
{
	if (argc > RD_MAX_ARGV || (required && argc == 0))
		return false;
	for (unsigned i = 0; i < argc; i++)
		if (!argv[i] || (i == 0 && argv[0][0] == '\0'))
			return false;
	return true;
}

static int put_argv(struct rd_buf *b, uint16_t tag, const char *const *argv, unsigned argc)
{
	size_t total = 0, off = 0;
	uint8_t *v;
	int r;

	for (unsigned i = 0; i < argc; i++) {
		total += strlen(argv[i]) + 1;
		if (total > RD_FRAME_MAX)
			return -EMSGSIZE;
	}
	v = malloc(total);
	if (!v)
		return -ENOMEM;
	for (unsigned i = 0; i < argc; i++) {
		size_t l = strlen(argv[i]) + 1;
		memcpy(v + off, argv[i], l);
		off += l;
	}
	r = rd_buf_put_tlv(b, tag, v, (uint32_t)total);
	free(v);
	return r;
}

int rd_job_encode(const struct rd_job *job, uint32_t id, struct rd_buf *out)
{
	const uint32_t *lim = &job->limits.cpu_ms;
	size_t start;
	int r;

	if (!job->entropy || job->entropy_len < RD_ENTROPY_MIN || job->entropy_len > RD_ENTROPY_MAX)
		return -EINVAL;
	if (job->n_files > RD_MAX_FILES || (job->stdin_len && !job->stdin_data))
		return -EINVAL;
	if (!argv_valid(job->compile_argv, job->compile_argc, false) ||
	    !argv_valid(job->run_argv, job->run_argc, true))
		return -EINVAL;
	for (unsigned i = 0; i < job->n_files; i++) {
		const struct rd_file *f = &job->files[i];
		if (!f->name || !rd_file_name_valid(f->name, strlen(f->name)) || (f->len && !f->data))
			return -EINVAL;
		for (unsigned j = 0; j < i; j++)
			if (strcmp(job->files[j].name, f->name) == 0)
				return -EINVAL;
	}

	r = frame_begin(out, &start);
	if (r < 0)
		return r;
	r = rd_buf_put_tlv(out, RD_TAG_ENTROPY, job->entropy, job->entropy_len);
	if (r >= 0)
		r = rd_buf_put_u64(out, RD_TAG_REALTIME_NS, job->realtime_ns);
	for (unsigned i = 0; r >= 0 && i < job->n_files; i++) {
		const struct rd_file *f = &job->files[i];
		r = rd_buf_put_tlv(out, RD_TAG_FILE_NAME, f->name, (uint32_t)strlen(f->name) + 1);
		if (r >= 0)
			r = rd_buf_put_tlv(out, RD_TAG_FILE_DATA, f->data, f->len);
	}
	if (r >= 0 && job->stdin_len)
		r = rd_buf_put_tlv(out, RD_TAG_STDIN, job->stdin_data, job->stdin_len);
	if (r >= 0 && job->compile_argc)
		r = put_argv(out, RD_TAG_COMPILE_ARGV, job->compile_argv, job->compile_argc);
	if (r >= 0)
		r = put_argv(out, RD_TAG_RUN_ARGV, job->run_argv, job->run_argc);
	/* struct rd_limits is nine u32s in tag order LIMIT_CPU_MS..LIMIT_TMPFS_KB;
	 * zero means "agent default" and is simply not sent. */
	for (unsigned i = 0; r >= 0 && i <= RD_TAG_LIMIT_TMPFS_KB - RD_TAG_LIMIT_CPU_MS; i++)
		if (lim[i])
			r = rd_buf_put_u32(out, (uint16_t)(RD_TAG_LIMIT_CPU_MS + i), lim[i]);
	return frame_end(out, start, RD_FRAME_JOB, id, r);
}

/* A string value: at least one byte before the terminating NUL, no NUL inside. */
static int decode_string(const uint8_t *v, uint32_t len, size_t max, const char **ret)
{
	if (len < 2 || len - 1 > max || v[len - 1] != '\0' || memchr(v, '\0', len - 1))
		return -EPROTO;
	*ret = (const char *)v;
	return 0;
}

static int decode_argv(const uint8_t *v, uint32_t len, const char **argv, unsigned *ret_argc)
{
	unsigned argc = 0;
	uint32_t off = 0;

	if (len == 0 || v[len - 1] != '\0')
		return -EPROTO;
	while (off < len) {
		const uint8_t *nul = memchr(v + off, '\0', len - off);
		if (argc == RD_MAX_ARGV)
			return -EPROTO;
		argv[argc++] = (const char *)v + off;
		off = (uint32_t)(nul - v) + 1;
	}
	if (argv[0][0] == '\0')
		return -EPROTO;
	argv[argc] = NULL;
	*ret_argc = argc;
	return 0;
}

static int decode_u32(const uint8_t *v, uint32_t len, uint32_t *ret)
{
	if (len != 4)
		return -EPROTO;
	*ret = get_le32(v);
	return 0;
}

/* A payload to decode: refused when no frame could carry it. */
static int payload_begin(struct rd_tlv_iter *it, const uint8_t *p, size_t n)
{
	if (n > RD_FRAME_MAX)
		return -EPROTO;
	rd_tlv_iter_init(it, p, n);
	return 0;
}

int rd_job_decode(const uint8_t *p, size_t n, struct rd_job *ret)
{
	struct rd_job job = {0};
	struct rd_tlv_iter it;
	uint64_t seen = 0; /* bit per tag (all job tags are < 64) */
	const char *pending_name = NULL;
	uint16_t tag;
	const uint8_t *v;
	uint32_t len;
	int r = payload_begin(&it, p, n);

	while (r >= 0 && (r = rd_tlv_next(&it, &tag, &v, &len)) > 0) {
		/* A file name must be followed by its data and nothing else. */
		if ((pending_name != NULL) != (tag == RD_TAG_FILE_DATA))
			return -EPROTO;
		if (tag != RD_TAG_FILE_NAME && tag != RD_TAG_FILE_DATA) {
			if (tag >= 64 || (seen & (UINT64_C(1) << tag)))
				return -EPROTO;
			seen |= UINT64_C(1) << tag;
		}
		switch (tag) {
		case RD_TAG_ENTROPY:
			if (len < RD_ENTROPY_MIN || len > RD_ENTROPY_MAX)
				return -EPROTO;
			job.entropy = v;
			job.entropy_len = len;
			break;
		case RD_TAG_REALTIME_NS:
			if (len != 8)
				return -EPROTO;
			job.realtime_ns = get_le64(v);
			break;
		case RD_TAG_FILE_NAME:
			if (job.n_files == RD_MAX_FILES)
				return -EPROTO;
			if (decode_string(v, len, RD_FILE_NAME_MAX, &pending_name) < 0 ||
			    !rd_file_name_valid(pending_name, len - 1))
				return -EPROTO;
			for (unsigned i = 0; i < job.n_files; i++)
				if (strcmp(job.files[i].name, pending_name) == 0)
					return -EPROTO;
			break;
		case RD_TAG_FILE_DATA:
			job.files[job.n_files++] =
			    (struct rd_file){.name = pending_name, .data = v, .len = len};
			pending_name = NULL;
			break;
		case RD_TAG_STDIN:
			job.stdin_data = v;
			job.stdin_len = len;
			break;
		case RD_TAG_COMPILE_ARGV:
			if (decode_argv(v, len, job.compile_argv, &job.compile_argc) < 0)
				return -EPROTO;
			break;
		case RD_TAG_RUN_ARGV:
			if (decode_argv(v, len, job.run_argv, &job.run_argc) < 0)
				return -EPROTO;
			break;
		case RD_TAG_LIMIT_CPU_MS ... RD_TAG_LIMIT_TMPFS_KB:
			if (decode_u32(v, len, &(&job.limits.cpu_ms)[tag - RD_TAG_LIMIT_CPU_MS]) < 0)
				return -EPROTO;
			break;
		default:
			return -EPROTO;
		}
	}
	if (r < 0 || pending_name)
		return -EPROTO;
	if (!job.entropy || !(seen & (UINT64_C(1) << RD_TAG_REALTIME_NS)) || job.run_argc == 0)
		return -EPROTO;
	*ret = job;
	return 0;
}

/* --- results ------------------------------------------------------------ */

#define RD_LIMIT_ALL                                                                                         \
	(RD_LIMIT_WALL | RD_LIMIT_CPU | RD_LIMIT_MEMORY | RD_LIMIT_STDOUT | RD_LIMIT_STDERR |                \
	 RD_LIMIT_PIDS | RD_LIMIT_FSIZE)

/* Exit code 0..255 with signal 0, or exit code -1 with a signal 1..64. */
static bool step_valid(const struct rd_step_result *s)
{
	if (s->limits_hit & ~(uint32_t)RD_LIMIT_ALL)
		return false;
	if (s->signal == 0)
		return s->exit_code >= 0 && s->exit_code <= 255;
	return s->exit_code == -1 && s->signal > 0 && s->signal <= 64;
}

static int put_step(struct rd_buf *b, enum rd_step step, const struct rd_step_result *s)
{
	int r;

	if (!step_valid(s) || (s->out_len && !s->out) || (s->err_len && !s->err))
		return -EINVAL;
	r = rd_buf_put_u32(b, RD_TAG_STEP, step);
	if (r >= 0)
		r = rd_buf_put_u32(b, RD_TAG_EXIT_CODE, (uint32_t)s->exit_code);
	if (r >= 0)
		r = rd_buf_put_u32(b, RD_TAG_SIGNAL, (uint32_t)s->signal);
	if (r >= 0)
		r = rd_buf_put_u32(b, RD_TAG_CPU_MS, s->cpu_ms);
	if (r >= 0)
		r = rd_buf_put_u32(b, RD_TAG_WALL_MS, s->wall_ms);
	if (r >= 0)
		r = rd_buf_put_u32(b, RD_TAG_PEAK_MEMORY_KB, s->peak_memory_kb);
	if (r >= 0)
		r = rd_buf_put_u32(b, RD_TAG_LIMITS_HIT, s->limits_hit);
	if (r >= 0)
		r = rd_buf_put_u32(b, RD_TAG_SETUP_US, s->setup_us);
	if (r >= 0)
		r = rd_buf_put_tlv(b, RD_TAG_STDOUT, s->out, s->out_len);
	if (r >= 0)
		r = rd_buf_put_tlv(b, RD_TAG_STDERR, s->err, s->err_len);
	return r;
}

int rd_result_encode(const struct rd_result *res, uint32_t id, struct rd_buf *out)
{
	size_t start;
	int r;

	if (!res->compile.present && !res->run.present)
		return -EINVAL;
	r = frame_begin(out, &start);
	if (r < 0)
		return r;
	if (res->compile.present)
		r = put_step(out, RD_STEP_COMPILE, &res->compile);
	if (r >= 0 && res->run.present)
		r = put_step(out, RD_STEP_RUN, &res->run);
	return frame_end(out, start, RD_FRAME_RESULT, id, r);
}

/* Tags every step must carry, as bits relative to RD_TAG_STEP. */
#define STEP_REQUIRED                                                                                        \
	((1u << (RD_TAG_EXIT_CODE - RD_TAG_STEP)) | (1u << (RD_TAG_SIGNAL - RD_TAG_STEP)) |                  \
	 (1u << (RD_TAG_CPU_MS - RD_TAG_STEP)) | (1u << (RD_TAG_WALL_MS - RD_TAG_STEP)) |                    \
	 (1u << (RD_TAG_PEAK_MEMORY_KB - RD_TAG_STEP)) | (1u << (RD_TAG_LIMITS_HIT - RD_TAG_STEP)) |         \
	 (1u << (RD_TAG_SETUP_US - RD_TAG_STEP)))

/* Where each u32 tag of a step goes, by tag - RD_TAG_STEP. */
static const size_t step_u32_field[] = {
    [RD_TAG_EXIT_CODE - RD_TAG_STEP] = offsetof(struct rd_step_result, exit_code),
    [RD_TAG_SIGNAL - RD_TAG_STEP] = offsetof(struct rd_step_result, signal),
    [RD_TAG_CPU_MS - RD_TAG_STEP] = offsetof(struct rd_step_result, cpu_ms),
    [RD_TAG_WALL_MS - RD_TAG_STEP] = offsetof(struct rd_step_result, wall_ms),
    [RD_TAG_PEAK_MEMORY_KB - RD_TAG_STEP] = offsetof(struct rd_step_result, peak_memory_kb),
    [RD_TAG_LIMITS_HIT - RD_TAG_STEP] = offsetof(struct rd_step_result, limits_hit),
    [RD_TAG_SETUP_US - RD_TAG_STEP] = offsetof(struct rd_step_result, setup_us),
};

int rd_result_decode(const uint8_t *p, size_t n, struct rd_result *ret)
{
	struct rd_result res = {0};
	struct rd_step_result *cur = NULL;
	struct rd_tlv_iter it;
	uint32_t seen = 0, u, len;
	const uint8_t *v;
	uint16_t tag;
	int r = payload_begin(&it, p, n);

	while (r >= 0 && (r = rd_tlv_next(&it, &tag, &v, &len)) > 0) {
		if (tag == RD_TAG_STEP) {
			if (cur && ((seen & STEP_REQUIRED) != STEP_REQUIRED || !step_valid(cur)))
				return -EPROTO;
			if (decode_u32(v, len, &u) < 0)
				return -EPROTO;
			/* At most one of each, compile before run. */
			if (u == RD_STEP_COMPILE && !res.compile.present && !res.run.present)
				cur = &res.compile;
			else if (u == RD_STEP_RUN && !res.run.present)
				cur = &res.run;
			else
				return -EPROTO;
			cur->present = true;
			seen = 0;
			continue;
		}
		if (!cur || tag < RD_TAG_EXIT_CODE || tag > RD_TAG_SETUP_US)
			return -EPROTO;
		if (seen & (1u << (tag - RD_TAG_STEP)))
			return -EPROTO;
		seen |= 1u << (tag - RD_TAG_STEP);
		if (tag == RD_TAG_STDOUT) {
			cur->out = v;
			cur->out_len = len;
			continue;
		}
		if (tag == RD_TAG_STDERR) {
			cur->err = v;
			cur->err_len = len;
			continue;
		}
		/* Every other step tag is a u32 field of the step; the signed
		 * ones keep the sender's two's complement bits. */
		if (decode_u32(v, len, &u) < 0)
			return -EPROTO;
		memcpy((uint8_t *)cur + step_u32_field[tag - RD_TAG_STEP], &u, sizeof(u));
	}
	if (r < 0 || !cur || (seen & STEP_REQUIRED) != STEP_REQUIRED || !step_valid(cur))
		return -EPROTO;
	*ret = res;
	return 0;
}

int rd_message_encode(uint16_t type, uint32_t id, const char *msg, struct rd_buf *out)
{
	size_t start, len = msg ? strlen(msg) : 0;
	int r;

	if (type != RD_FRAME_HELLO && type != RD_FRAME_ERROR)
		return -EINVAL;
	if (len > RD_MESSAGE_MAX)
		len = RD_MESSAGE_MAX; /* diagnostics: truncate rather than fail */
	r = frame_begin(out, &start);
	if (r < 0)
		return r;
	if (len) {
		/* Copy so a truncated message still ends in NUL on the wire. */
		char tmp[RD_MESSAGE_MAX + 1];
		memcpy(tmp, msg, len);
		tmp[len] = '\0';
		r = rd_buf_put_tlv(out, RD_TAG_MESSAGE, tmp, (uint32_t)len + 1);
	}
	return frame_end(out, start, type, id, r);
}

int rd_message_decode(const uint8_t *p, size_t n, const char **ret_msg)
{
	struct rd_tlv_iter it;
	const char *msg = NULL;
	uint16_t tag;
	const uint8_t *v;
	uint32_t len;
	int r;

	rd_tlv_iter_init(&it, p, n);
	while ((r = rd_tlv_next(&it, &tag, &v, &len)) > 0) {
		if (tag != RD_TAG_MESSAGE || msg)
			return -EPROTO;
		if (decode_string(v, len, RD_MESSAGE_MAX, &msg) < 0)
			return -EPROTO;
	}
	if (r < 0)
		return -EPROTO;
	*ret_msg = msg;
	return 0;
}
