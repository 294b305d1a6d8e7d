/* jail-probe.c: a stand-in VMM for the jail test (test-jail.py). It is
 * started by jail-launch through the same jail runnerd puts QEMU in, and
 * tries what a VMM taken over by a guest would try next. Each attempt
 * prints "ok NAME" when the jail stopped it and "not ok NAME: why" when it
 * did not; attempts whose syscall the allowlist answers by killing run in
 * a child, whose death by SIGSYS is the expected outcome.
 *
 * usage: jail-probe CACHE_DIR SOCKET_PATH HOST_PID TEMPLATE_FD MEMORY_MB PIDS_MAX */
#include <errno.h>
#include <fcntl.h>
#include <linux/module.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static int failures;

static void report(const char *name, int stopped, const char *why)
{
	printf("%s %s%s%s\n", stopped ? "ok" : "not ok", name, stopped ? "" : ": ", stopped ? "" : why);
	failures += !stopped;
	fflush(stdout);
}

static void must_fail_open(const char *name, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	report(name, fd < 0, "opened");
	if (fd >= 0)
		close(fd);
}

/* Runs fn in a child: stopped if the child was killed by SIGSYS (the
 * allowlist's answer) or by `killer` (the OOM killer's SIGKILL, where that
 * is the answer), or fn returned -1 (refused). */
static void in_child(const char *name, int (*fn)(long), long arg, int killer)
{
	int status;
	pid_t pid = fork();
	if (pid == 0)
		_exit(fn(arg) < 0 ? 10 : 0);
	if (pid < 0 || waitpid(pid, &status, 0) < 0) {
		report(name, 0, "could not fork to try it");
		return;
	}
	bool stopped = (WIFSIGNALED(status) && (WTERMSIG(status) == SIGSYS || WTERMSIG(status) == killer)) ||
		       (WIFEXITED(status) && WEXITSTATUS(status) == 10);
	report(name, stopped, "the call succeeded");
}

static int try_ptrace(long pid)
{
	return (int)ptrace(PTRACE_ATTACH, (pid_t)pid, NULL, NULL);
}

static int try_vm_readv(long pid)
{
	char buf[16];
	struct iovec local = {buf, sizeof(buf)}, remote = {(void *)0x400000, sizeof(buf)};
	return (int)process_vm_readv((pid_t)pid, &local, 1, &remote, 1, 0);
}

static int try_module(long unused)
{
	int fd = open("/vm/kernel", O_RDONLY | O_CLOEXEC);
	return (int)syscall(SYS_finit_module, fd, "", 0);
}

static int try_pidfd_getfd(long pid)
{
	int pidfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
	return pidfd < 0 ? -1 : (int)syscall(SYS_pidfd_getfd, pidfd, 3, 0);
}

static int try_memory(long mb)
{
	size_t size = (size_t)mb << 21; /* twice the cgroup's limit */
	char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	for (size_t i = 0; i < size; i += 4096)
		p[i] = 1;
	return 0; /* got it all: not stopped */
}

/* Forks until refused: stopped if refused before pids_max more. */
static int try_pids(long pids_max)
{
	for (long n = 0; n <= pids_max; n++) {
		pid_t pid = fork();
		if (pid < 0)
			return -1;
		if (pid == 0) {
			pause();
			_exit(0);
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 7) {
		fprintf(stderr,
			"usage: jail-probe CACHE_DIR SOCKET HOST_PID TEMPLATE_FD MEMORY_MB PIDS_MAX\n");
		return 2;
	}
	long host_pid = atol(argv[3]), memory_mb = atol(argv[5]), pids_max = atol(argv[6]);
	int template_fd = atoi(argv[4]);

	report("runs as a non-root uid", getuid() != 0 && geteuid() != 0, "uid 0");
	must_fail_open("host files (/etc/shadow) are not there", "/etc/shadow");
	must_fail_open("host files (/etc/passwd) are not there", "/etc/passwd");
	must_fail_open("the cache is not there", argv[1]);
	must_fail_open("runnerd's socket is not there", argv[2]);
	must_fail_open("other processes are not in /proc", "/proc/2/status");
	report("no signal to runnerd or another VMM", kill((pid_t)host_pid, SIGKILL) < 0, "kill worked");
	in_child("no ptrace of runnerd or another VMM", try_ptrace, host_pid, 0);
	in_child("no process_vm_readv of another process", try_vm_readv, host_pid, 0);
	in_child("no pidfd_getfd of another process", try_pidfd_getfd, host_pid, 0);
	int s = socket(AF_INET, SOCK_STREAM, 0);
	report("no AF_INET socket", s < 0, "socket() worked");
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	report("no AF_UNIX socket either", s < 0, "socket() worked");
	in_child("no module loading", try_module, 0, 0);
	report("the template memfd cannot be written", write(template_fd, "x", 1) < 0, "write() worked");
	void *map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, template_fd, 0);
	report("the template memfd cannot be mapped writable", map == MAP_FAILED, "mmap() worked");
	in_child("memory beyond the cgroup's limit is refused or killed", try_memory, memory_mb, SIGKILL);
	in_child("processes beyond the pids limit are refused", try_pids, pids_max, 0);
	return failures ? 1 : 0;
}
