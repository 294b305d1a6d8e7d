/* services.c: the image's boot script and the servers it starts. See
 * services.h for why they exist and how jobs are kept away from them. */
#include "services.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent-log.h"
#include "sys.h"

/* Root's PATH, unless the image named its own (sys_load_path()). */
#define BOOT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

int services_boot(unsigned timeout_s)
{
	char pid_s[24];
	int status, con;
	pid_t pid;

	const char *env[] = {sys_path_from_image() ? sys_path_env() : BOOT_PATH, "HOME=/root", "LANG=C.UTF-8",
			     NULL};

	if (access(SERVICES_BOOT_SCRIPT, R_OK) < 0)
		return 0;
	if (mkdir(SERVICES_CGROUP, 0755) < 0 && errno != EEXIST)
		return -errno;
	log_msg("running " SERVICES_BOOT_SCRIPT);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		/* Into the services cgroup before anything runs, so every
		 * server the script starts is born there. */
		snprintf(pid_s, sizeof pid_s, "%d", (int)getpid());
		if (sys_write_file(AT_FDCWD, SERVICES_CGROUP "/cgroup.procs", pid_s) < 0)
			_exit(126);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		setsid();
		sys_write_file(AT_FDCWD, "/proc/self/oom_score_adj", "0");
		con = open("/dev/console", O_RDWR | O_NOCTTY);
		int null = open("/dev/null", O_RDONLY);
		if (null >= 0)
			dup2(null, 0);
		if (con >= 0) {
			dup2(con, 1);
			dup2(con, 2);
		}
		if (chdir("/") < 0)
			_exit(126);
		execle("/bin/sh", "sh", "-e", SERVICES_BOOT_SCRIPT, (char *)NULL, env);
		_exit(127);
	}
	/* SIGCHLD is blocked (main.c): poll for this child's exit; the
	 * servers it leaves behind are re-parented to us and stay. */
	for (unsigned ms = 0; ms < timeout_s * 1000u; ms += 20) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid) {
			if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
				log_msg(SERVICES_BOOT_SCRIPT " done");
				return 0;
			}
			log_msg(SERVICES_BOOT_SCRIPT " failed (status 0x%x)", (unsigned)status);
			return -ECHILD;
		}
		if (r < 0 && errno != EINTR)
			return -errno;
		struct timespec ts = {0, 20 * 1000000};
		nanosleep(&ts, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	log_msg(SERVICES_BOOT_SCRIPT " timed out after %u s", timeout_s);
	return -ETIMEDOUT;
}

bool services_owns(pid_t pid)
{
	char path[64], buf[256];

	snprintf(path, sizeof path, "/proc/%d/cgroup", (int)pid);
	if (sys_read_file(path, buf, sizeof buf) <= 0)
		return false;
	/* cgroup v2 only: one line "0::/services" (or below it). */
	return strncmp(buf, "0::/services\n", 13) == 0 || strncmp(buf, "0::/services/", 13) == 0;
}
