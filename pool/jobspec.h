/* jobspec.h: turning a client's job_request and a language into the
 * rd_job the agent runs, and the agent's rd_result back into a job_result.
 * Both directions are pure. Every job the host sends is built here by
 * jobspec_build(): clients' jobs (pool.c), the template's hello world
 * (template.c), a clone's warm-up (pool.c) and bench/vmbench's. */
#pragma once

#include "guest.h"
#include "job.h"
#include "language.h"
#include "proto.h"
#include "vmm.h"

/* The limits runnerd sets besides the client's (a pool's
 * pool_config.limits; the template's hello world and bench/vmbench use the
 * same): the compile limits given, and the agent's defaults (RD_DEFAULT_*
 * in guest.h) for pids, file size and tmpfs. The run step's limits and the
 * output cap are the client's, taken from the request by jobspec_build(). */
void jobspec_limits_default(struct rd_limits *lim, uint32_t compile_ms);

/* Where a job's derived strings live while it is encoded: the program's
 * file name and the compile and run argv with {file} and {name} filled in. */
struct jobspec_scratch {
	char file[LANGUAGE_FILE_MAX_NAME];
	char buf[16384];
};

/* Fills *ret, borrowing from req, lang, scratch and entropy
 * (RD_ENTROPY_MIN..MAX bytes of fresh host randomness). files[0] is named
 * req->files[0].name if set, else by language_main_file(). */
int jobspec_build(const struct job_request *req, const struct language *lang, const struct rd_limits *lim,
		  const uint8_t *entropy, uint32_t entropy_len, struct jobspec_scratch *scratch,
		  struct rd_job *ret);
/* A request for one program `code` with the default limits: run step
 * limited to run_ms (wall and cpu), compile step to compile_ms. Fills all
 * three outputs; req borrows file, file borrows code. */
void jobspec_program(const char *code, uint32_t run_ms, uint32_t compile_ms, struct job_file *file,
		     struct job_request *req, struct rd_limits *lim);

/* Builds the job with fresh host entropy (every lease reseeds the guest's
 * CRNG: clones share the template's state, and this is what makes them
 * diverge) and sends it to the agent with the job's byte budget. */
int jobspec_send(struct vmm *vmm, const struct job_request *req, const struct language *lang,
		 const struct rd_limits *lim);

/* The warm-up job a restored clone runs before it is READY: `cat` of a
 * one-byte stdin, with one small file named "warm-up": our data only, never
 * a user's. It runs the agent's whole job path once (frame read, reseed,
 * file write, cgroup, fork, exec, stdin and stdout pipes) so that path is
 * translated before a user waits on it. Its run step gets wall_ms and an
 * output cap of 1 KiB; every other limit is the agent's default. Fills
 * *ret like jobspec_build(), borrowing from scratch and entropy. */
int jobspec_warm_up(uint32_t wall_ms, const uint8_t *entropy, uint32_t entropy_len,
		    struct jobspec_scratch *scratch, struct rd_job *ret);
/* Builds the warm-up job with fresh entropy and sends it. */
int jobspec_send_warm_up(struct vmm *vmm, uint32_t wall_ms);

/* Bytes the agent may send back for this job: both steps' capped streams
 * plus room for the frame structure. */
size_t jobspec_budget(const struct job_request *req);
/* Copies the agent's result into res (owned memory) and derives the status.
 * -EMSGSIZE when a stream is longer than output_bytes (the agent caps each
 * one there: more is a broken or hostile agent), -EPROTO when the result
 * makes no sense. */
int jobspec_result(const struct rd_result *in, uint32_t output_bytes, struct job_result *res);
