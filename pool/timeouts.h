/* timeouts.h: how long runnerd waits for what a VM does, and how many
 * restores may fail in a row before a pool stops trying, in one struct.
 * --slowdown (emulation on a busy host, the VM tests) scales every
 * duration here, in pool_timeouts_init() and the two functions below and
 * nowhere else. The daemon fills the struct once (runner.c) and every pool
 * gets a copy. */
#pragma once

#include <stdint.h>

#include "language.h"

struct pool_timeouts {
	double slowdown; /* >= 1: what the durations below are multiplied by */
	/* A clone, from spawn to READY: the incoming migration and, with warm
	 * clones, the warm-up job. Past it the restore failed. 10 s. */
	uint32_t restore_ms;
	/* The wall limit of a clone's warm-up job. 5 s. */
	uint32_t warm_up_wall_ms;
	/* The host deadline of a job, armed at lease, is its run limit (plus
	 * its compile limit in a compiled language) plus this. The agent's own
	 * limits fire first; the deadline is for a guest or VMM that stopped
	 * cooperating. 2 s. */
	uint32_t deadline_slack_ms;
	/* A template VM, from start to the agent's HELLO (the image's boot
	 * script included); the hello world then gets its own limits plus
	 * this again. 60 s. */
	uint32_t template_boot_ms;
	/* The hello world's run limit is the language's, but never less than
	 * this: it is a first run, in a cold guest. 30 s. */
	uint32_t hello_min_ms;
	/* A compile step's wall and cpu limit when the language sets none:
	 * the agent's default (RD_DEFAULT_COMPILE_WALL_MS). 30 s. */
	uint32_t compile_default_ms;
	/* How long a request may wait in its pool's queue for a VM before it
	 * fails with sandbox_error. 60 s. */
	uint32_t queue_wait_ms;
	/* Restores failing in a row after which a pool answers 503 at once
	 * instead of queueing, refills only after a back-off, is "degraded"
	 * in /health and, if no clone of its template ever restored, rebuilds
	 * the template (once). 3; a count, not scaled. */
	unsigned restore_failures_max;
};

/* Fills *t for a slowdown >= 1 (the daemon clamps --slowdown to 1..100). */
void pool_timeouts_init(struct pool_timeouts *t, double slowdown);
/* A language's compile limit (its compile_timeout_s, else
 * compile_default_ms), scaled. */
uint32_t pool_timeouts_compile_ms(const struct pool_timeouts *t, const struct language *lang);
/* The run limit of a language's hello world: its run_timeout_s, at least
 * hello_min_ms, scaled. */
uint32_t pool_timeouts_hello_ms(const struct pool_timeouts *t, const struct language *lang);
