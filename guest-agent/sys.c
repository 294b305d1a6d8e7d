/* sys.c: what the agent does to the guest as PID 1. The root filesystem is a
 * read-only erofs image shared by every VM of a language, so all writable
 * space is tmpfs mounted here, and all of it is replaced before each job. */
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <dirent.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "agent-log.h"
#include "services.h"

/* musl ships no <linux/random.h>; these are its ioctls (stable ABI). */
#define RNDADDENTROPY _IOW('R', 0x03, int[2])
#define RNDRESEEDCRNG _IO('R', 0x07)

/* Mount options of the boot's /tmp and /work, which are what job_prepare()
 * mounts for a job with the default tmpfs size. */
#define BOOT_TMPFS_SIZE "size=" RD_STR(RD_DEFAULT_TMPFS_KB) "k"
#define RUNNER_IDS	"uid=" RD_STR(RD_RUNNER_UID) ",gid=" RD_STR(RD_RUNNER_GID)

int sys_write_file(int dirfd, const char *path, const char *s)
{
	size_t len = strlen(s);
	int fd = openat(dirfd, path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, len);
	if (n < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	close(fd);
	return (size_t)n == len ? 0 : -EIO;
}

static void do_mount(const char *src, const char *dst, const char *type, unsigned long flags,
		     const char *opts)
{
	mkdir(dst, 0755); /* mount points exist in the image; /dev/pts etc. do not */
	if (mount(src, dst, type, flags, opts) < 0 && errno != EBUSY)
		log_msg("mount %s on %s: %s", type, dst, strerror(errno));
}

static void loopback_up(void)
{
	struct ifreq ifr = {0};
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		return; /* no INET in the kernel: nothing to bring up */
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
			log_msg("lo up: %s", strerror(errno));
	}
	close(s);
}

void sys_boot(void)
{
	const unsigned long safe = MS_NOSUID | MS_NODEV | MS_NOEXEC;
	int r;

	do_mount("proc", "/proc", "proc", safe, NULL);
	do_mount("sysfs", "/sys", "sysfs", safe, NULL);
	do_mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755");
	log_open_console();
	do_mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "mode=0620,ptmxmode=0666");
	do_mount("tmpfs", "/dev/shm", "tmpfs", safe, "mode=1777,size=16m");
	/* devtmpfs lacks the usual links; shells and interpreters expect them. */
	symlink("/proc/self/fd", "/dev/fd");
	symlink("/proc/self/fd/0", "/dev/stdin");
	symlink("/proc/self/fd/1", "/dev/stdout");
	symlink("/proc/self/fd/2", "/dev/stderr");
	do_mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777," BOOT_TMPFS_SIZE);
	do_mount("tmpfs", WORK_DIR, "tmpfs", MS_NOSUID | MS_NODEV,
		 "mode=0755," RUNNER_IDS "," BOOT_TMPFS_SIZE);
	do_mount("cgroup2", "/sys/fs/cgroup", "cgroup2", safe, "nsdelegate");
	r = sys_write_file(AT_FDCWD, "/sys/fs/cgroup/cgroup.subtree_control", "+memory +pids");
	if (r < 0)
		log_msg("cgroup controllers: %s", strerror(-r));
	/* The agent must survive any OOM; steps reset this before exec. */
	r = sys_write_file(AT_FDCWD, "/proc/self/oom_score_adj", "-1000");
	if (r < 0)
		log_msg("oom_score_adj: %s", strerror(-r));
	if (sethostname("runner", 6) < 0)
		log_msg("sethostname: %s", strerror(errno));
	loopback_up();
}

static char path_env[sizeof("PATH=") + SYS_PATH_MAX] = "PATH=" SYS_DEFAULT_PATH;
static bool path_from_image;

/* The rule runner-image checks before it writes the file: no empty or
 * relative entry, which would make a job's cwd part of its PATH. */
static bool path_valid(const char *p)
{
	if (*p != '/')
		return false;
	for (; *p; p++)
		if (*p < 0x21 || *p > 0x7e || (*p == ':' && p[1] != '/'))
			return false;
	return true;
}

void sys_load_path(void)
{
	char buf[SYS_PATH_MAX + 2];
	int n = sys_read_file(SYS_PATH_FILE, buf, sizeof buf);

	if (n > 0 && buf[n - 1] == '\n')
		buf[--n] = 0;
	if (n > 0 && n <= SYS_PATH_MAX && path_valid(buf)) {
		memcpy(path_env + sizeof("PATH=") - 1, buf, (size_t)n + 1);
		path_from_image = true;
	} else if (n != -ENOENT)
		log_msg(SYS_PATH_FILE ": %s; jobs get PATH=" SYS_DEFAULT_PATH,
			n < 0 ? strerror(-n) : "not a list of absolute directories");
	/* musl's execvpe() searches the caller's PATH, not the one it passes. */
	setenv("PATH", path_env + sizeof("PATH=") - 1, 1);
}

const char *sys_path_env(void)
{
	return path_env;
}

bool sys_path_from_image(void)
{
	return path_from_image;
}

int sys_fresh_tmpfs(const char *dir, uint32_t size_kb, int mode, uid_t uid, gid_t gid)
{
	char opts[96];

	/* MNT_DETACH: an fd still open into the old tmpfs must not block the
	 * next job; every process was killed already, so nothing can use it. */
	if (umount2(dir, MNT_DETACH) < 0 && errno != EINVAL)
		return -errno;
	snprintf(opts, sizeof opts, "mode=%04o,uid=%u,gid=%u,size=%uk", (unsigned)mode, (unsigned)uid,
		 (unsigned)gid, (unsigned)size_kb);
	if (mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0)
		return -errno;
	return 0;
}

int sys_reseed(const uint8_t *entropy, uint32_t len)
{
	struct {
		int entropy_count; /* bits credited */
		int buf_size;	   /* bytes */
		uint8_t buf[512];
	} info;
	int fd, r = 0;

	if (len > sizeof info.buf)
		return -EINVAL;
	info.entropy_count = (int)len * 8;
	info.buf_size = (int)len;
	memcpy(info.buf, entropy, len);
	fd = open("/dev/urandom", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, RNDADDENTROPY, &info) < 0 || ioctl(fd, RNDRESEEDCRNG) < 0)
		r = -errno;
	close(fd);
	explicit_bzero(&info, sizeof info);
	return r;
}

int sys_set_clock(uint64_t realtime_ns)
{
	struct timespec ts = {.tv_sec = (time_t)(realtime_ns / 1000000000u),
			      .tv_nsec = (long)(realtime_ns % 1000000000u)};

	return clock_settime(CLOCK_REALTIME, &ts) < 0 ? -errno : 0;
}

int sys_reap(pid_t pid, int *ret_status)
{
	int st, found = 0;
	pid_t p;

	while ((p = waitpid(-1, &st, WNOHANG)) > 0)
		if (p == pid) {
			*ret_status = st;
			found = 1;
		}
	return found;
}

int sys_read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	int e = errno;
	close(fd);
	if (n < 0)
		return -e;
	buf[n] = 0;
	return (int)n;
}

/* Whether pid is a kernel thread: a child of kthreadd (pid 2), or it. */
static bool kernel_thread(pid_t pid)
{
	char path[64], buf[512];
	int ppid = 0;

	if (pid == 2)
		return true;
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if (sys_read_file(path, buf, sizeof buf) <= 0)
		return false;
	const char *rp = strrchr(buf, ')');
	if (!rp || sscanf(rp + 1, " %*c %d", &ppid) != 1)
		return false;
	return ppid == 2;
}

void sys_kill_all(void)
{
	if (access(SERVICES_CGROUP, F_OK) < 0) {
		/* kill(-1) from PID 1 reaches every process except itself. */
		if (kill(-1, SIGKILL) < 0 && errno != ESRCH)
			log_msg("kill -1: %s", strerror(errno));
		while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
			;
		return;
	}
	/* With servers running, everything but them: kill and reap until no
	 * other process is left (bounded: ~5 s, then the next job's cgroups
	 * still keep it apart). */
	for (int round = 0; round < 500; round++) {
		bool left = false;
		DIR *d = opendir("/proc");
		struct dirent *de;

		while (d && (de = readdir(d))) {
			char *end;
			long pid = strtol(de->d_name, &end, 10);
			if (*end || pid <= 1 || kernel_thread((pid_t)pid) || services_owns((pid_t)pid))
				continue;
			kill((pid_t)pid, SIGKILL);
			left = true;
		}
		if (d)
			closedir(d);
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		if (!left)
			return;
		struct timespec ts = {0, 10 * 1000000};
		nanosleep(&ts, NULL);
	}
	log_msg("processes outside /services survive the clean-up");
}
