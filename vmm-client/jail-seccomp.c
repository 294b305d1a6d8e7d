/* jail-seccomp.c: the syscall allowlist a jailed VMM gets before it execs
 * QEMU, built once with libseccomp and kept as a BPF program that the
 * child installs with one prctl() (no allocation after clone3()).
 *
 * The list is what QEMU microvm was seen to call under TCG (strace over
 * template builds, restores, warm-ups and jobs of python, bash and C:
 * docs/security.md, "The jail"), plus what QEMU does under KVM and on its
 * error paths (vCPU kicks by signal, timers, aborts). Anything else fails
 * with EPERM, so a rare path QEMU takes degrades instead of killing the
 * VM; the calls an escaped VMM would want for reaching further (other
 * processes' memory, the kernel's module loader, namespaces, mounts, BPF,
 * keys, perf) kill it at once. QEMU's own -sandbox filter is stacked on
 * top at start-up (it denies spawning, privilege changes and obsolete
 * calls again): both must allow a call for it to run. Sockets are not on
 * the list at all: QEMU gets its sockets as inherited fds. io_uring is
 * not either: QEMU probes it at start and goes on without. */
#include "jail-internal.h"

#include <errno.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static const char *const allowed[] = {
    /* files and fds (inside the jail's root, or inherited) */
    "read",
    "write",
    "readv",
    "writev",
    "pread64",
    "pwrite64",
    "preadv",
    "pwritev",
    "preadv2",
    "pwritev2",
    "open",
    "openat",
    "close",
    "close_range",
    "newfstatat",
    "fstat",
    "lstat",
    "stat",
    "statx",
    "statfs",
    "fstatfs",
    "lseek",
    "access",
    "faccessat",
    "faccessat2",
    "readlink",
    "readlinkat",
    "getdents64",
    "fcntl",
    "dup",
    "dup2",
    "dup3",
    "ioctl",
    "ftruncate",
    "fallocate",
    "fadvise64",
    "fsync",
    "fdatasync",
    "fchdir",
    "getcwd",
    "pipe2",
    "memfd_create",
    /* memory */
    "mmap",
    "munmap",
    "mprotect",
    "mremap",
    "madvise",
    "brk",
    "mbind",
    "set_mempolicy",
    "get_mempolicy",
    "membarrier",
    /* threads, the process itself */
    "futex",
    "set_robust_list",
    "get_robust_list",
    "rseq",
    "clone",
    "clone3",
    "exit",
    "exit_group",
    "gettid",
    "getpid",
    "getppid",
    "sched_getaffinity",
    "sched_setaffinity",
    "sched_yield",
    "sched_getparam",
    "sched_getscheduler",
    "set_tid_address",
    "arch_prctl",
    "prctl",
    "prlimit64",
    "getrlimit",
    "getuid",
    "geteuid",
    "getgid",
    "getegid",
    "getresuid",
    "getresgid",
    "uname",
    "sysinfo",
    "getrusage",
    "restart_syscall",
    "execve",
    "seccomp",
    /* only ever reach the caller's own children (QEMU has none; the jail
     * test's stand-in VMM waits for the attempts it makes in children) */
    "wait4",
    "waitid",
    /* signals (vCPU kicks, signalfd, aborts) */
    "rt_sigaction",
    "rt_sigprocmask",
    "rt_sigreturn",
    "rt_sigtimedwait",
    "rt_sigpending",
    "sigaltstack",
    "signalfd4",
    /* waiting and time */
    "ppoll",
    "poll",
    "pselect6",
    "select",
    "epoll_create1",
    "epoll_ctl",
    "epoll_wait",
    "epoll_pwait",
    "eventfd2",
    "timerfd_create",
    "timerfd_settime",
    "timerfd_gettime",
    "timer_create",
    "timer_settime",
    "timer_gettime",
    "timer_delete",
    "clock_gettime",
    "clock_getres",
    "clock_nanosleep",
    "nanosleep",
    "gettimeofday",
    "getrandom",
    /* the QMP and agent sockets it inherited */
    "recvmsg",
    "sendmsg",
    "recvfrom",
    "sendto",
    "getsockopt",
    "setsockopt",
    "getsockname",
    "getpeername",
    "shutdown",
};

/* An escaped VMM's next steps: killed, not merely refused. */
static const char *const fatal[] = {
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "pidfd_open",
    "pidfd_getfd",
    "pidfd_send_signal",
    "init_module",
    "finit_module",
    "delete_module",
    "kexec_load",
    "kexec_file_load",
    "bpf",
    "perf_event_open",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "unshare",
    "setns",
    "keyctl",
    "add_key",
    "request_key",
    "userfaultfd",
    "open_by_handle_at",
    "name_to_handle_at",
    "kcmp",
    "move_mount",
    "fsopen",
    "fsmount",
    "open_tree",
};

static int add_rules(scmp_filter_ctx ctx, const char *const *names, size_t n, uint32_t action)
{
	for (size_t i = 0; i < n; i++) {
		int nr = seccomp_syscall_resolve_name(names[i]);
		if (nr == __NR_SCMP_ERROR)
			continue; /* not on this architecture */
		int r = seccomp_rule_add(ctx, action, nr, 0);
		if (r < 0)
			return r;
	}
	return 0;
}

int jail_seccomp_build(struct sock_fprog *ret)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	int r, fd = -1;

	if (!ctx)
		return -ENOMEM;
	r = add_rules(ctx, allowed, sizeof(allowed) / sizeof(allowed[0]), SCMP_ACT_ALLOW);
	if (r >= 0)
		r = add_rules(ctx, fatal, sizeof(fatal) / sizeof(fatal[0]), SCMP_ACT_KILL_PROCESS);
	/* Signals only within its own pid namespace, where QEMU is pid 1:
	 * its threads (kicks) and itself (abort). */
	if (r >= 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1, SCMP_A0(SCMP_CMP_EQ, 1));
	if (r >= 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(kill), 1, SCMP_A0(SCMP_CMP_EQ, 1));
	if (r >= 0) {
		fd = memfd_create("runnerd-seccomp", MFD_CLOEXEC);
		r = fd < 0 ? -errno : seccomp_export_bpf(ctx, fd);
	}
	seccomp_release(ctx);
	if (r < 0) {
		if (fd >= 0)
			close(fd);
		return r;
	}
	off_t size = lseek(fd, 0, SEEK_END);
	struct sock_filter *prog = size > 0 ? malloc((size_t)size) : NULL;
	if (!prog || size % sizeof(*prog) != 0 || pread(fd, prog, (size_t)size, 0) != size) {
		free(prog);
		close(fd);
		return -EIO;
	}
	close(fd);
	*ret = (struct sock_fprog){.len = (unsigned short)(size / sizeof(*prog)), .filter = prog};
	return 0;
}
