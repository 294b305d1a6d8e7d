/* agent-job.h: one job from decoded frame to struct rd_result: fresh
 * writable filesystems, entropy and clock, the files, then the compile and
 * run steps. (The host's struct job_request is pool/job.h.) */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "guest.h"
#include "proto.h"
#include "step.h"

/* Kills everything left from a job and mounts a fresh, empty /work and
 * /tmp of tmpfs_kb each. The agent calls it at boot and after sending each
 * result, so the next job starts without paying for it; job_run() redoes
 * it when that did not happen or the size differs. */
int job_prepare(uint32_t tmpfs_kb, char *errmsg, size_t errmsg_size);

/* Runs the job; limits the host sent as 0 take the RD_DEFAULT_* of guest.h.
 * io[0] and io[1] receive the compile and run output buffers, which *res
 * borrows; free them with step_io_free() after sending. On a failure of the
 * agent (not of the program) returns < 0 with a message. */
int job_run(const struct rd_job *job, int sigfd, uint64_t t_job_ns, struct rd_result *res,
	    struct step_io io[2], char *errmsg, size_t errmsg_size);
