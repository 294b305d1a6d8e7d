/* step.h: running one step (compile or run) of a job: a fresh cgroup, a child
 * that drops to the runner uid with rlimits, and a poll loop that feeds
 * stdin, collects capped output and enforces the wall deadline. */
#pragma once

#include <stdint.h>

#include "proto.h"

/* Largest per-stream output cap: four streams (compile and run, stdout and
 * stderr) plus framing must fit in one RESULT frame. */
#define STEP_OUTPUT_MAX ((RD_FRAME_MAX - (64u << 10)) / 4)

struct step_spec {
	enum rd_step kind;
	unsigned cg_index;	   /* names the cgroup: /sys/fs/cgroup/step<N> */
	const char *const *argv;   /* borrowed, NULL-terminated, argv[0] non-empty */
	const uint8_t *stdin_data; /* borrowed; NULL: stdin is /dev/null */
	uint32_t stdin_len;
	uint32_t cpu_ms, wall_ms, memory_kb, pids, fsize_kb, output_bytes; /* all set, no zeros */
	int sigfd;	       /* signalfd for SIGCHLD, owned by main */
	uint64_t t_job_ns;     /* CLOCK_MONOTONIC when the job frame was read */
	uint64_t not_setup_ns; /* subtracted from setup_us (the compile step's wall) */
};

/* Output buffers of one step; owned, freed with step_io_free(). */
struct step_io {
	uint8_t *out;
	uint8_t *err;
};

/* Runs the step to completion and fills *res (borrowing from *io). Returns
 * < 0 only when the agent itself could not set the step up. */
int step_run(const struct step_spec *s, struct step_io *io, struct rd_step_result *res);
void step_io_free(struct step_io *io);
