/* accel.c: the KVM probe. A stock kernel on a host whose /dev/kvm cannot
 * run it (for example a kvm_pvm device) spins or dies with an emulation
 * failure, so opening /dev/kvm proves nothing: the probe boots our kernel
 * with no root device and waits for its "Kernel panic" line on the serial
 * console (panic=-1 with -no-reboot then ends QEMU). Seeing that line in
 * time means the guest really ran. */
#include "accel.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "spawn.h"

static int probe_kvm(const char *qemu, const char *kernel, char **ret_reason)
{
	int pipefd[2];
	pid_t pid;
	int pidfd;
	char buf[8192];
	size_t have = 0;
	char *argv[] = {(char *)qemu,
			"-accel",
			"kvm",
			"-cpu",
			"host",
			"-m",
			"128M",
			"-M",
			"microvm,isa-serial=on,acpi=off",
			"-nodefaults",
			"-no-user-config",
			"-display",
			"none",
			"-no-reboot",
			"-kernel",
			(char *)kernel,
			"-append",
			"console=ttyS0 panic=-1 reboot=t",
			"-serial",
			"stdio",
			NULL};
	char *envp[] = {"PATH=/usr/bin:/bin", NULL};

	if (access("/dev/kvm", R_OK | W_OK) < 0) {
		*ret_reason = strdup("/dev/kvm is not accessible");
		return -ENODEV;
	}
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -errno;
	struct vmm_launch l = {.path = qemu,
			       .argv = argv,
			       .envp = envp,
			       .keep_fds = {-1, -1, -1, -1, -1, -1, -1, -1},
			       .stdout_fd = pipefd[1]};
	int r = vmm_spawn(&l, &pid, &pidfd);
	close(pipefd[1]);
	if (r < 0) {
		close(pipefd[0]);
		return r;
	}
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	bool ok = false;
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		long elapsed = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
		if (elapsed > 5000)
			break;
		struct pollfd pfd = {.fd = pipefd[0], .events = POLLIN};
		if (poll(&pfd, 1, (int)(5000 - elapsed)) <= 0)
			break;
		ssize_t n = read(pipefd[0], buf + have, sizeof(buf) - 1 - have);
		if (n <= 0)
			break;
		have += (size_t)n;
		buf[have] = 0;
		if (strstr(buf, "Kernel panic")) {
			ok = true;
			break;
		}
		if (have == sizeof(buf) - 1)
			have = 0;
	}
	close(pipefd[0]);
	vmm_kill_and_reap(pidfd);
	close(pidfd);
	if (!ok) {
		*ret_reason = strdup(
		    "KVM test boot did not reach the guest kernel (this /dev/kvm cannot run stock kernels)");
		return -ENODEV;
	}
	return 0;
}

int accel_resolve(const char *requested, const char *qemu, const char *kernel, const char **ret_accel,
		  char **ret_reason)
{
	char *reason = NULL;

	*ret_reason = NULL;
	if (strcmp(requested, "tcg") == 0) {
		*ret_accel = "tcg";
		return 0;
	}
	if (strcmp(requested, "kvm") != 0 && strcmp(requested, "auto") != 0) {
		*ret_reason = strdup("accel must be kvm, tcg or auto");
		return -EINVAL;
	}
	int r = probe_kvm(qemu, kernel, &reason);
	if (r >= 0) {
		*ret_accel = "kvm";
		return 0;
	}
	if (strcmp(requested, "kvm") == 0) {
		*ret_reason = reason;
		return -ENODEV;
	}
	if (asprintf(ret_reason,
		     "KVM unusable (%s): falling back to TCG software emulation, which gives NO "
		     "isolation guarantee",
		     reason ? reason : strerror(-r)) < 0)
		*ret_reason = NULL;
	free(reason);
	*ret_accel = "tcg";
	return 0;
}
