/* job.h: what a client asks runnerd to run, and what came of it. The daemon's
 * API layer fills a struct job_request from the HTTP body (bounded and
 * validated there); the pool runs it in a VM and fills a struct job_result.
 * Both own all their memory; the free functions accept half-built objects. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct job_file {
	char *name;    /* owned, valid per rd_file_name_valid() */
	uint8_t *data; /* owned, may be NULL when len == 0 */
	size_t len;
};

struct job_request {
	char *language;		/* owned: name or alias as the client sent it */
	struct job_file *files; /* owned; files[0] is the program, named after the language */
	size_t n_files;
	uint8_t *stdin_data; /* owned, may be NULL */
	size_t stdin_len;
	uint32_t timeout_ms;   /* wall limit of the run step, already clamped */
	uint32_t cpu_ms;       /* cpu limit of the run step, already clamped */
	uint32_t memory_kb;    /* memory limit of each step, already clamped */
	uint32_t output_bytes; /* cap per stream, already clamped */
	bool base64_output;    /* answer stdout/stderr as base64 */
	/* Whether the client set these limits; if not, the language's defaults
	 * replace the API's (runner.c). */
	bool timeout_set, cpu_set, memory_set;
	char request_id[40]; /* for logs and the response */
	uid_t caller_uid;    /* who asked (SO_PEERCRED): queues are fair across callers */
	uint64_t arrival_ns; /* CLOCK_MONOTONIC when the request was complete */
};

enum job_status {
	JOB_OK = 0,	   /* the program ran; its exit code says how it went */
	JOB_COMPILE_ERROR, /* compile step exited non-zero */
	JOB_TIMEOUT,	   /* run step hit its wall or cpu limit (or the host deadline) */
	JOB_COMPILE_TIMEOUT,
	JOB_MEMORY_LIMIT,  /* OOM kill in the guest */
	JOB_SANDBOX_ERROR, /* the VM or agent failed; the program's fate is unknown */
	JOB_CANCELLED,	   /* the client went away */
};

struct job_step {
	bool present;
	int32_t exit_code; /* -1 if killed by a signal */
	int32_t signal;
	uint32_t cpu_ms;
	uint32_t wall_ms;
	uint32_t peak_memory_kb;
	uint32_t limits_hit; /* enum rd_limit bits */
	uint8_t *out;	     /* owned */
	size_t out_len;
	uint8_t *err; /* owned */
	size_t err_len;
};

struct job_timings {
	uint64_t queue_us;   /* arrival -> a VM was leased */
	uint64_t resume_us;  /* QMP cont round trip */
	uint64_t handoff_us; /* job frame written -> agent's ACK read */
	uint64_t setup_us;   /* in the guest: job read -> run step exec, minus compile */
	uint64_t startup_us; /* arrival -> user program starts: the sum of the above */
	uint64_t total_us;   /* arrival -> result ready */
};

struct job_result {
	enum job_status status;
	char *message; /* owned, for SANDBOX_ERROR and friends; may be NULL */
	struct job_step compile;
	struct job_step run;
	struct job_timings t;
	char vm_id[32];
};

/* Frees what *req owns and zeroes it; req itself is the caller's (it is
 * usually embedded or on the stack). Accepts NULL and zeroed or half-built
 * requests, such as one api_parse_execute() gave up on. */
void job_request_free(struct job_request *req);
void job_result_free(struct job_result *res);
const char *job_status_to_string(enum job_status s);
