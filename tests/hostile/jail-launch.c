/* jail-launch.c: starts a program through runnerd's VMM jail (jail.c,
 * spawn.c), exactly as runnerd starts QEMU, for the jail test
 * (test-jail.py). The program is bound into the jail's root in the place
 * of the guest kernel and runs as /vm/kernel; it gets a sealed memfd like
 * a clone's template RAM, and the cgroup limits MEMORY_MB and PIDS_MAX.
 * Prints what the program prints and exits with its status.
 *
 * usage: jail-launch PROGRAM STATE_DIR UID_FIRST CACHE_DIR SOCKET_PATH */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jail.h"
#include "spawn.h"

#define MEMORY_MB 64
#define PIDS_MAX  16

static int sealed_memfd(void)
{
	int fd = memfd_create("template", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	char page[4096] = {0};
	if (fd < 0 || write(fd, page, sizeof(page)) != sizeof(page) ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
		return -1;
	return fd;
}

int main(int argc, char **argv)
{
	struct jail *j = NULL;
	struct jail_place place;
	char *error = NULL, dir[4200], host_pid[16], fd_arg[16], mem_arg[16], pids_arg[16];
	const char *warning;
	pid_t pid;
	int pidfd;

	if (argc != 6) {
		fprintf(stderr, "usage: jail-launch PROGRAM STATE_DIR UID_FIRST CACHE_DIR SOCKET_PATH\n");
		return 2;
	}
	snprintf(dir, sizeof(dir), "%s/jail", argv[2]);
	struct jail_config cfg = {
	    .dir = dir, .uid_first = (uid_t)strtoul(argv[3], NULL, 10), .slots = 8, .pids_max = PIDS_MAX};
	if (jail_new(&cfg, &j, &error, &warning) < 0) {
		fprintf(stderr, "jail-launch: %s\n", error ? error : "jail_new failed");
		return 3;
	}
	if (warning)
		fprintf(stderr, "jail-launch: %s\n", warning);
	/* The same memory the probe tries to exceed: the place's limit. */
	if (jail_place_take(j, argv[1], argv[1], false, MEMORY_MB, 1, &place, &error) < 0) {
		fprintf(stderr, "jail-launch: %s\n", error ? error : "no place");
		return 3;
	}
	int memfd = sealed_memfd();
	if (memfd < 0) {
		perror("jail-launch: memfd");
		return 3;
	}
	snprintf(host_pid, sizeof(host_pid), "%d", (int)getpid());
	snprintf(fd_arg, sizeof(fd_arg), "%d", memfd);
	snprintf(mem_arg, sizeof(mem_arg), "%d", MEMORY_MB);
	snprintf(pids_arg, sizeof(pids_arg), "%d", PIDS_MAX);
	char *child_argv[] = {JAIL_KERNEL_PATH, argv[4], argv[5], host_pid, fd_arg, mem_arg, pids_arg, NULL};
	char *envp[] = {"PATH=/usr/bin:/bin", NULL};
	struct vmm_launch l = {
	    .path = JAIL_KERNEL_PATH,
	    .argv = child_argv,
	    .envp = envp,
	    .keep_fds = {memfd, -1, -1, -1, -1, -1, -1, -1},
	    .stdout_fd = dup(1),
	    .jail = &place.exec,
	};
	int r = vmm_spawn(&l, &pid, &pidfd);
	if (r < 0) {
		fprintf(stderr, "jail-launch: spawn: %s\n", strerror(-r));
		return 3;
	}
	siginfo_t si = {0};
	while (waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED) < 0 && errno == EINTR)
		;
	jail_place_put(j, &place);
	jail_free(j);
	if (si.si_code != CLD_EXITED) {
		fprintf(stderr, "jail-launch: the program was killed by signal %d\n", si.si_status);
		return 4;
	}
	return si.si_status;
}
