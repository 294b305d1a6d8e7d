/* cgroup.h: one cgroup v2 group per step under /sys/fs/cgroup, holding every
 * process the step creates, so limits, accounting and the final kill cover
 * daemonised children too. The unprivileged job cannot leave it: the group's
 * files belong to root. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct cg {
	int dirfd;     /* owned, -1 when closed */
	int procs_fd;  /* owned: cgroup.procs, written by the child before exec */
	int events_fd; /* owned: cgroup.events, polled (POLLPRI) for "populated 0" */
	char path[64];
};

#define CG_INIT                                                                                              \
	{                                                                                                    \
		.dirfd = -1, .procs_fd = -1, .events_fd = -1                                                 \
	}

/* Creates /sys/fs/cgroup/step<n> with the given limits. */
int cg_create(struct cg *cg, unsigned n, uint64_t memory_bytes, uint32_t pids);
/* Kills every process in the group (cgroup.kill). */
int cg_kill(struct cg *cg);
bool cg_populated(struct cg *cg);
/* Value of `key` in a flat-keyed file such as cpu.stat or memory.events;
 * 0 if the file or key is missing. */
uint64_t cg_read_key(struct cg *cg, const char *file, const char *key);
/* Value of a single-number file such as memory.peak; 0 if missing. */
uint64_t cg_read_u64(struct cg *cg, const char *file);
/* Closes the fds and removes the (empty) group. Accepts a half-built cg. */
void cg_destroy(struct cg *cg);
