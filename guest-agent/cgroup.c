/* cgroup.c: per-step cgroups. Memory is capped without swap so a hog is OOM
 * killed inside its group (memory.oom.group kills the whole step rather than
 * leaving a half-dead program), and pids.max stops fork bombs. The cpu
 * controller is not enabled: cpu.stat's usage_usec is there without it. */
#include "cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sys.h"

#define CG_ROOT "/sys/fs/cgroup"

int cg_create(struct cg *cg, unsigned n, uint64_t memory_bytes, uint32_t pids)
{
	char v[32];
	int r;

	snprintf(cg->path, sizeof cg->path, CG_ROOT "/step%u", n);
	if (mkdir(cg->path, 0755) < 0 && errno != EEXIST)
		return -errno;
	cg->dirfd = open(cg->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg->dirfd < 0)
		return -errno;
	snprintf(v, sizeof v, "%" PRIu64, memory_bytes);
	r = sys_write_file(cg->dirfd, "memory.max", v);
	if (r < 0)
		return r;
	/* Absent without CONFIG_SWAP; then there is no swap to limit. */
	sys_write_file(cg->dirfd, "memory.swap.max", "0");
	sys_write_file(cg->dirfd, "memory.oom.group", "1");
	snprintf(v, sizeof v, "%" PRIu32, pids);
	r = sys_write_file(cg->dirfd, "pids.max", v);
	if (r < 0)
		return r;
	cg->procs_fd = openat(cg->dirfd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
	if (cg->procs_fd < 0)
		return -errno;
	cg->events_fd = openat(cg->dirfd, "cgroup.events", O_RDONLY | O_CLOEXEC);
	if (cg->events_fd < 0)
		return -errno;
	return 0;
}

int cg_kill(struct cg *cg)
{
	return sys_write_file(cg->dirfd, "cgroup.kill", "1");
}

static uint64_t find_key(const char *text, const char *key)
{
	size_t klen = strlen(key);
	const char *p = text;

	while (p && *p) {
		if (strncmp(p, key, klen) == 0 && p[klen] == ' ')
			return strtoull(p + klen + 1, NULL, 10);
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return 0;
}

static int read_text(int fd, char *buf, size_t size)
{
	ssize_t n = pread(fd, buf, size - 1, 0);

	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

bool cg_populated(struct cg *cg)
{
	char buf[256];

	if (read_text(cg->events_fd, buf, sizeof buf) < 0)
		return false;
	return find_key(buf, "populated") != 0;
}

/* The text of the cgroup's file, or -1. */
static int read_file(struct cg *cg, const char *file, char *buf, size_t size)
{
	int fd = openat(cg->dirfd, file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int r = read_text(fd, buf, size);
	close(fd);
	return r;
}

uint64_t cg_read_key(struct cg *cg, const char *file, const char *key)
{
	char buf[1024];
	return read_file(cg, file, buf, sizeof buf) < 0 ? 0 : find_key(buf, key);
}

uint64_t cg_read_u64(struct cg *cg, const char *file)
{
	char buf[64];
	return read_file(cg, file, buf, sizeof buf) < 0 ? 0 : strtoull(buf, NULL, 10);
}

void cg_destroy(struct cg *cg)
{
	if (cg->procs_fd >= 0)
		close(cg->procs_fd);
	if (cg->events_fd >= 0)
		close(cg->events_fd);
	if (cg->dirfd >= 0)
		close(cg->dirfd);
	cg->procs_fd = cg->events_fd = cg->dirfd = -1;
	if (cg->path[0] && rmdir(cg->path) < 0 && errno != ENOENT) {
		/* still populated: kill once more and retry; it must not leak */
		int fd = open(cg->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0) {
			sys_write_file(fd, "cgroup.kill", "1");
			close(fd);
		}
		rmdir(cg->path);
	}
	cg->path[0] = '\0';
}
