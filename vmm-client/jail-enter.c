/* jail-enter.c: what a VMM's child does to itself between clone3() and
 * execve(), in the order jail.h lists. Only async-signal-safe calls: the
 * child of a fork may not allocate or take locks. */
#include "jail.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

static void join_cgroups(const struct jail_exec *j)
{
	for (int i = 0; i < JAIL_CGROUPS_MAX && j->cgroup_procs[i]; i++) {
		int fd = open(j->cgroup_procs[i], O_WRONLY | O_CLOEXEC);
		/* "0": the writer itself (cgroup v1 and v2 alike). */
		if (fd < 0 || write(fd, "0", 1) != 1)
			_exit(JAIL_EXIT_CGROUP);
		close(fd);
	}
}

/* The prepared root becomes "/": nothing of the host's tree stays
 * reachable (pivot_root(".", ".") then detaching the old root, which is
 * stacked on the same mount point). /proc is that of the new pid
 * namespace: QEMU reopens its RAM and console fds through /proc/self/fd,
 * and it shows no other process. */
static void enter_root(const struct jail_exec *j)
{
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 || chdir(j->root) < 0 ||
	    mount("proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=invisible,subset=pid") <
		0 ||
	    syscall(SYS_pivot_root, ".", ".") < 0 || umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
		_exit(JAIL_EXIT_MOUNT);
}

static void set_limits(const struct jail_exec *j)
{
	struct rlimit fsize = {j->fsize_bytes, j->fsize_bytes}, nofile = {j->nofile, j->nofile},
		      core = {0, 0};

	if (setrlimit(RLIMIT_FSIZE, &fsize) < 0 || setrlimit(RLIMIT_NOFILE, &nofile) < 0 ||
	    setrlimit(RLIMIT_CORE, &core) < 0)
		_exit(JAIL_EXIT_LIMITS);
}

/* The slot's ids, then no capability in any set: leaving uid 0 clears
 * them, but a runnerd that is not uid 0 and holds capabilities (a unit
 * with User= and AmbientCapabilities=) would pass them on otherwise. */
static void drop_ids(const struct jail_exec *j)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct none[2] = {{0}};

	if (setgroups(0, NULL) < 0 || setresgid(j->gid, j->gid, j->gid) < 0 ||
	    setresuid(j->uid, j->uid, j->uid) < 0 ||
	    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 ||
	    syscall(SYS_capset, &hdr, none) < 0)
		_exit(JAIL_EXIT_IDS);
}

static void lock_privileges(const struct jail_exec *j)
{
	struct pollfd runnerd = {.fd = j->runnerd_pidfd, .events = POLLIN};

	/* The uid change cleared the parent-death signal; set it again, then
	 * make sure runnerd did not die before it was set. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || poll(&runnerd, 1, 0) != 0 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		_exit(JAIL_EXIT_PRIVS);
	if (j->seccomp && prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, j->seccomp) < 0)
		_exit(JAIL_EXIT_SECCOMP);
}

void jail_enter(const struct jail_exec *j)
{
	join_cgroups(j);
	enter_root(j);
	set_limits(j);
	drop_ids(j);
	lock_privileges(j);
}
