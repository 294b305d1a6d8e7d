/* proto.h: the host <-> guest agent wire protocol, shared by the agent (built
 * static with musl) and the host (vmm-client). Pure encoding and decoding,
 * no I/O, no global state, so it can be unit tested and fuzzed on the host.
 *
 * A message is a frame: a 16-byte header followed by `len` payload bytes.
 * All integers are little-endian.
 *
 *   u32 magic    RD_MAGIC ("RND1")
 *   u16 version  RD_VERSION
 *   u16 type     enum rd_frame_type
 *   u32 id       job id chosen by the host, echoed by the agent (0 for HELLO)
 *   u32 len      payload length, <= the receiver's limit (RD_FRAME_MAX)
 *
 * The payload is a sequence of TLVs: u16 tag, u32 len, len bytes. Unknown
 * tags are an error (both ends ship together; the version bumps on change).
 * Strings (argv entries, file names) are NUL-terminated inside their value
 * and contain no other NUL. See docs/agent-protocol.md.
 *
 * Everything decoded here points into the caller's payload buffer
 * (borrowed); nothing is allocated except by struct rd_buf. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RD_MAGIC	  0x31444e52u /* "RND1" on the wire */
#define RD_VERSION	  1
#define RD_FRAME_HDR_SIZE 16
#define RD_FRAME_MAX	  (32u << 20) /* hard cap on any payload, both ways */
#define RD_TLV_HDR_SIZE	  6

#define RD_MAX_FILES	 32
#define RD_MAX_ARGV	 64
#define RD_FILE_NAME_MAX 255
#define RD_ENTROPY_MIN	 16
#define RD_ENTROPY_MAX	 512

enum rd_frame_type {
	RD_FRAME_HELLO = 1,  /* guest -> host: agent up, waiting for a job */
	RD_FRAME_JOB = 2,    /* host -> guest: one job (struct rd_job) */
	RD_FRAME_ACK = 3,    /* guest -> host: job frame received, empty payload */
	RD_FRAME_RESULT = 4, /* guest -> host: struct rd_result */
	RD_FRAME_ERROR = 5,  /* guest -> host: RD_TAG_MESSAGE, job not run */
};

enum rd_tag {
	/* JOB */
	RD_TAG_ENTROPY = 1,	  /* bytes, RD_ENTROPY_MIN..MAX: mixed into the CRNG */
	RD_TAG_REALTIME_NS = 2,	  /* u64: host CLOCK_REALTIME when the job was sent */
	RD_TAG_FILE_NAME = 3,	  /* string; must be followed by RD_TAG_FILE_DATA */
	RD_TAG_FILE_DATA = 4,	  /* bytes */
	RD_TAG_STDIN = 5,	  /* bytes */
	RD_TAG_COMPILE_ARGV = 10, /* NUL-terminated strings back to back */
	RD_TAG_RUN_ARGV = 11,
	RD_TAG_LIMIT_CPU_MS = 20, /* u32 each; 0 means "agent default" */
	RD_TAG_LIMIT_WALL_MS = 21,
	RD_TAG_LIMIT_MEMORY_KB = 22,
	RD_TAG_LIMIT_PIDS = 23,
	RD_TAG_LIMIT_FSIZE_KB = 24,
	RD_TAG_LIMIT_OUTPUT_BYTES = 25, /* per stream, per step */
	RD_TAG_LIMIT_COMPILE_CPU_MS = 26,
	RD_TAG_LIMIT_COMPILE_WALL_MS = 27,
	RD_TAG_LIMIT_TMPFS_KB = 28,

	/* RESULT: a STEP tag opens a step; the tags after it belong to it */
	RD_TAG_STEP = 40,	    /* u32: enum rd_step */
	RD_TAG_EXIT_CODE = 41,	    /* u32 (as int32): -1 when killed by a signal */
	RD_TAG_SIGNAL = 42,	    /* u32: 0 or the signal that ended it */
	RD_TAG_CPU_MS = 43,	    /* u32: user+sys of the step's processes */
	RD_TAG_WALL_MS = 44,	    /* u32 */
	RD_TAG_PEAK_MEMORY_KB = 45, /* u32 */
	RD_TAG_LIMITS_HIT = 46,	    /* u32: enum rd_limit bits */
	RD_TAG_STDOUT = 47,	    /* bytes, at most the output limit */
	RD_TAG_STDERR = 48,
	RD_TAG_SETUP_US = 49, /* u32: job frame read -> this step's exec */

	/* ERROR */
	RD_TAG_MESSAGE = 60, /* string */
};

enum rd_step {
	RD_STEP_COMPILE = 1,
	RD_STEP_RUN = 2,
};

enum rd_limit {
	RD_LIMIT_WALL = 1u << 0,
	RD_LIMIT_CPU = 1u << 1,
	RD_LIMIT_MEMORY = 1u << 2, /* OOM kill inside the step's cgroup */
	RD_LIMIT_STDOUT = 1u << 3, /* stdout truncated at the output limit */
	RD_LIMIT_STDERR = 1u << 4,
	RD_LIMIT_PIDS = 1u << 5,
	RD_LIMIT_FSIZE = 1u << 6,
};

struct rd_frame_hdr {
	uint32_t magic;
	uint16_t version;
	uint16_t type;
	uint32_t id;
	uint32_t len;
};

/* Growable output buffer that refuses to grow past `max` (-EMSGSIZE). */
struct rd_buf {
	uint8_t *data; /* owned, free with rd_buf_free() */
	size_t len;
	size_t cap;
	size_t max;
};

struct rd_file {
	const char *name; /* NUL-terminated, validated by rd_file_name_valid() */
	const uint8_t *data;
	uint32_t len;
};

struct rd_limits {
	uint32_t cpu_ms;
	uint32_t wall_ms;
	uint32_t memory_kb;
	uint32_t pids;
	uint32_t fsize_kb;
	uint32_t output_bytes;
	uint32_t compile_cpu_ms;
	uint32_t compile_wall_ms;
	uint32_t tmpfs_kb;
};

struct rd_job {
	const uint8_t *entropy;
	uint32_t entropy_len;
	uint64_t realtime_ns;
	struct rd_file files[RD_MAX_FILES];
	unsigned n_files;
	const uint8_t *stdin_data;
	uint32_t stdin_len;
	const char *compile_argv[RD_MAX_ARGV + 1]; /* NULL-terminated; argc 0 = no compile step */
	unsigned compile_argc;
	const char *run_argv[RD_MAX_ARGV + 1];
	unsigned run_argc; /* >= 1 in a valid job */
	struct rd_limits limits;
};

struct rd_step_result {
	bool present;
	int32_t exit_code;
	int32_t signal;
	uint32_t cpu_ms;
	uint32_t wall_ms;
	uint32_t peak_memory_kb;
	uint32_t limits_hit;
	uint32_t setup_us;
	const uint8_t *out;
	uint32_t out_len;
	const uint8_t *err;
	uint32_t err_len;
};

struct rd_result {
	struct rd_step_result compile; /* present only if the job had a compile step */
	struct rd_step_result run;     /* absent if compilation failed */
};

/* Frame header. decode checks magic, version, a known type and len <= max_len:
 * -EPROTO for a bad header, -EMSGSIZE for a payload over max_len. */
void rd_frame_hdr_encode(uint8_t out[RD_FRAME_HDR_SIZE], uint16_t type, uint32_t id, uint32_t len);
int rd_frame_hdr_decode(const uint8_t in[RD_FRAME_HDR_SIZE], uint32_t max_len, struct rd_frame_hdr *ret);

void rd_buf_init(struct rd_buf *b, size_t max);
void rd_buf_free(struct rd_buf *b);
int rd_buf_append(struct rd_buf *b, const void *p, size_t n);
int rd_buf_put_tlv(struct rd_buf *b, uint16_t tag, const void *p, uint32_t n);
int rd_buf_put_u32(struct rd_buf *b, uint16_t tag, uint32_t v);
int rd_buf_put_u64(struct rd_buf *b, uint16_t tag, uint64_t v);

/* TLV iteration: returns 1 and fills the outputs for each TLV, 0 at the end,
 * -EPROTO if a TLV runs past the buffer. */
struct rd_tlv_iter {
	const uint8_t *p;
	size_t left;
};
void rd_tlv_iter_init(struct rd_tlv_iter *it, const uint8_t *p, size_t n);
int rd_tlv_next(struct rd_tlv_iter *it, uint16_t *ret_tag, const uint8_t **ret_val, uint32_t *ret_len);

/* A file name the agent may create in its work dir: 1..RD_FILE_NAME_MAX bytes,
 * no '/', no NUL, not "." or "..". */
bool rd_file_name_valid(const char *name, size_t len);

/* Whole payloads. Encoders append a complete frame (header + payload) to `out`.
 * Decoders validate everything (sizes, duplicates, string termination, file
 * names, required fields) and return -EPROTO on any violation; outputs
 * borrow from `p`. */
int rd_job_encode(const struct rd_job *job, uint32_t id, struct rd_buf *out);
int rd_job_decode(const uint8_t *p, size_t n, struct rd_job *ret);
int rd_result_encode(const struct rd_result *res, uint32_t id, struct rd_buf *out);
int rd_result_decode(const uint8_t *p, size_t n, struct rd_result *ret);
int rd_message_encode(uint16_t type, uint32_t id, const char *msg, struct rd_buf *out);
/* Payload of a HELLO or ERROR frame: empty (*ret_msg = NULL) or exactly one
 * RD_TAG_MESSAGE string of at most 4096 bytes. Added with the agent. */
int rd_message_decode(const uint8_t *p, size_t n, const char **ret_msg);
