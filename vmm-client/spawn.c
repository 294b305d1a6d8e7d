/* spawn.c: fork + exec of a VMM with an explicit inheritance list. The
 * child closes every fd that is not on the list (the daemon's sockets,
 * other VMs' channels and RAM fds must never leak into a VMM), asks to be
 * killed when runnerd dies so a crash leaves no VMM behind, and execs. */
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <linux/close_range.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

static int pidfd_open(pid_t pid, unsigned flags)
{
	return (int)syscall(SYS_pidfd_open, pid, flags);
}

static int pidfd_send_signal(int pidfd, int sig)
{
	return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

/* Runs in the child between fork and exec: async-signal-safe calls only. */
static void __attribute__((noreturn)) child_exec(const struct vmm_launch *l, pid_t parent)
{
	sigset_t all;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(126);
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	setsid();

	int out = l->stdout_fd >= 0 ? l->stdout_fd : open("/dev/null", O_WRONLY | O_CLOEXEC);
	int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (out < 0 || in < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
		_exit(126);

	/* Everything but the kept fds closes on exec; kept fds stay at their
	 * numbers (the caller made them O_CLOEXEC, so clear the flag). */
	if (syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC) < 0)
		_exit(126);
	for (int i = 0; i < VMM_LAUNCH_MAX_FDS; i++) {
		int fd = l->keep_fds[i];
		if (fd >= 0 && fcntl(fd, F_SETFD, 0) < 0)
			_exit(126);
	}

	execve(l->path, l->argv, l->envp);
	_exit(127);
}

int vmm_spawn(const struct vmm_launch *launch, pid_t *ret_pid, int *ret_pidfd)
{
	pid_t parent = getpid();

	for (int i = 0; i < VMM_LAUNCH_MAX_FDS; i++)
		if (launch->keep_fds[i] >= 0 && launch->keep_fds[i] <= 2)
			return -EINVAL;

	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0)
		child_exec(launch, parent);

	int pidfd = pidfd_open(pid, 0);
	if (pidfd < 0) {
		int r = -errno;
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return r;
	}
	if (fcntl(pidfd, F_SETFD, FD_CLOEXEC) < 0) {
		int r = -errno;
		vmm_kill_and_reap(pidfd);
		close(pidfd);
		return r;
	}
	*ret_pid = pid;
	*ret_pidfd = pidfd;
	return 0;
}

int vmm_kill_and_reap(int pidfd)
{
	siginfo_t si = {0};

	(void)pidfd_send_signal(pidfd, SIGKILL);
	for (;;) {
		if (waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED) == 0)
			return si.si_status;
		if (errno != EINTR)
			return -errno;
	}
}
