/* spawn.c: fork + exec of a VMM with an explicit inheritance list. The
 * child closes every fd that is not on the list (the daemon's sockets,
 * other VMs' channels and RAM fds must never leak into a VMM), asks to be
 * killed when runnerd dies so a crash leaves no VMM behind, and execs. */
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <linux/close_range.h>
#include <linux/sched.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "time-util.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

static int pidfd_send_signal(int pidfd, int sig)
{
	return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

/* Runs in the child between clone3 and exec: async-signal-safe calls only. */
static void __attribute__((noreturn)) child_exec(const struct vmm_launch *l, pid_t parent)
{
	sigset_t all;

	/* In a new pid namespace the parent is outside it (getppid() says 0):
	 * jail_enter() checks runnerd through its pidfd instead. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || (!l->jail && getppid() != parent))
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

	if (l->jail)
		jail_enter(l->jail);

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

	/* A jailed VMM gets its pid, mount, network, ipc and uts namespaces
	 * with the clone itself. CLONE_PIDFD: the pidfd comes atomically, and
	 * close-on-exec. */
	int pidfd = -1;
	struct clone_args args = {
	    .flags =
		CLONE_PIDFD |
		(launch->jail ? CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS : 0),
	    .pidfd = (uint64_t)(uintptr_t)&pidfd,
	    .exit_signal = SIGCHLD,
	};
	pid_t pid = (pid_t)syscall(SYS_clone3, &args, sizeof(args));
	if (pid < 0 && errno == ENOSYS)
		/* A seccomp filter that checks namespace flags (systemd's
		 * RestrictNamespaces=) cannot read clone3's struct and answers
		 * ENOSYS; clone() carries the same flags in a register, and with
		 * CLONE_PIDFD stores the pidfd through parent_tid (x86-64 order:
		 * flags, stack, parent_tid, child_tid, tls). No stack: fork-like. */
		pid = (pid_t)syscall(SYS_clone, (unsigned long)args.flags | SIGCHLD, NULL, &pidfd, NULL, 0UL);
	if (pid < 0)
		return -errno;
	if (pid == 0)
		child_exec(launch, parent);
	*ret_pid = pid;
	*ret_pidfd = pidfd;
	return 0;
}

int vmm_run_capture(const char *path, char *const *argv, const struct jail_exec *jail, int timeout_ms,
		    const char *stop_at, char *buf, size_t size)
{
	char *envp[] = {"PATH=/usr/bin:/bin", "LC_ALL=C", NULL};
	size_t have = 0;
	int pipefd[2], pidfd, found = 0;
	pid_t pid;

	if (size < 2)
		return -EINVAL;
	buf[0] = 0;
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -errno;
	struct vmm_launch l = {.path = path,
			       .argv = argv,
			       .envp = envp,
			       .keep_fds = {-1, -1, -1, -1, -1, -1, -1, -1},
			       .stdout_fd = pipefd[1],
			       .jail = jail};
	int r = vmm_spawn(&l, &pid, &pidfd);
	close(pipefd[1]);
	if (r < 0) {
		close(pipefd[0]);
		return r;
	}
	uint64_t start = now_ns();
	for (;;) {
		long elapsed = (long)((now_ns() - start) / 1000000);
		struct pollfd pfd = {.fd = pipefd[0], .events = POLLIN};
		if (elapsed >= timeout_ms || poll(&pfd, 1, (int)(timeout_ms - elapsed)) <= 0)
			break;
		ssize_t n = read(pipefd[0], buf + have, size - 1 - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		have += (size_t)n;
		buf[have] = 0;
		if (stop_at && strstr(buf, stop_at)) {
			found = 1;
			break;
		}
		if (have == size - 1) { /* keep the newest half: a marker may straddle */
			memmove(buf, buf + have / 2, have - have / 2 + 1);
			have -= have / 2;
		}
	}
	close(pipefd[0]);
	vmm_kill_and_reap(pidfd);
	close(pidfd);
	return found;
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
