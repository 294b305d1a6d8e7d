/* jobspec.h: turning a client's job_request and a language into the
 * rd_job the agent runs, and the agent's rd_result back into a job_result.
 * Both directions are pure and shared by the pool and the template warm-up. */
#pragma once

#include "job.h"
#include "language.h"
#include "proto.h"

struct jobspec_limits {
	uint32_t compile_wall_ms;
	uint32_t compile_cpu_ms;
	uint32_t pids;
	uint32_t fsize_kb;
	uint32_t tmpfs_kb;
};

/* Fills *ret, borrowing from req, lang and entropy (RD_ENTROPY_MIN..MAX
 * bytes of fresh host randomness). files[0] is named after lang->file. */
int jobspec_build(const struct job_request *req, const struct language *lang,
		  const struct jobspec_limits *lim, const uint8_t *entropy, uint32_t entropy_len,
		  struct rd_job *ret);
/* Bytes the agent may send back for this job: both steps' capped streams
 * plus room for the frame structure. */
size_t jobspec_budget(const struct job_request *req);
/* Copies the agent's result into res (owned memory) and derives the status. */
int jobspec_result(const struct rd_result *in, struct job_result *res);
