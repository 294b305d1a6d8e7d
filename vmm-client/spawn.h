/* spawn.h: the one function that starts a VMM process. Everything the child
 * gets is explicit in struct vmm_launch: the binary, argv, environment and
 * the fds it inherits (at the same numbers), and the jail it enters (new
 * namespaces with the clone3() itself, then jail_enter()). Nothing else in
 * runnerd starts a VMM. */
#pragma once

#include <sys/types.h>

#include "jail.h"

#define VMM_LAUNCH_MAX_FDS 8

struct vmm_launch {
	const char *path;		  /* borrowed: absolute path of the VMM binary */
	char *const *argv;		  /* borrowed, NULL-terminated */
	char *const *envp;		  /* borrowed, NULL-terminated */
	int keep_fds[VMM_LAUNCH_MAX_FDS]; /* inherited at the same number; -1 = unused */
	int stdout_fd;			  /* becomes the child's stdout and stderr; -1 = /dev/null */
	const struct jail_exec *jail;	  /* borrowed; NULL = not jailed (--no-jail, tools) */
};

/* Starts the child. It dies with SIGKILL if runnerd dies (PR_SET_PDEATHSIG),
 * has every other fd closed and default signal dispositions. On success sets
 * *ret_pid and *ret_pidfd (O_CLOEXEC pidfd for reaping on the event loop). */
int vmm_spawn(const struct vmm_launch *launch, pid_t *ret_pid, int *ret_pidfd);

/* Runs a short-lived QEMU (version query, KVM probe) through vmm_spawn()
 * with stdout and stderr on a pipe, reading until EOF, `timeout_ms`, or
 * until the output contains `stop_at` (may be NULL). The process is then
 * killed and reaped. The output (NUL-terminated, at most size-1 bytes; when
 * more arrives only the newest part is kept) goes to buf. Returns 1 if
 * stop_at was seen, 0 if not, -errno on failure to start. `jail` may be
 * NULL (the version query runs no guest). */
int vmm_run_capture(const char *path, char *const *argv, const struct jail_exec *jail, int timeout_ms,
		    const char *stop_at, char *buf, size_t size);

/* SIGKILL through the pidfd, then wait for it (blocking: use after the
 * event loop is done, or when exit is imminent). Returns the wait status. */
int vmm_kill_and_reap(int pidfd);
