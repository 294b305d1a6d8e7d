/* s3-files.c: see s3-files.h. */
#include "s3-files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "cleanup.h"
#include "error-util.h"
#include "s3-log.h"
#include "sha256.h"

#define PAGE   4096u
#define WINDOW (1u << 20)

volatile sig_atomic_t s3_interrupted;

int s3_file_open(const char *path, int *ret_fd, uint64_t *ret_size)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	struct stat st;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	*ret_fd = TAKE_FD(fd);
	*ret_size = (uint64_t)st.st_size;
	return 0;
}

int s3_file_hash(int fd, uint64_t size, char out[65])
{
	_cleanup_free_ uint8_t *buf = malloc(WINDOW);
	struct sha256_ctx ctx;
	uint64_t pos = 0;

	if (!buf)
		return -ENOMEM;
	sha256_init(&ctx);
	while (pos < size) {
		size_t want = size - pos < WINDOW ? (size_t)(size - pos) : WINDOW;
		ssize_t n = pread(fd, buf, want, (off_t)pos);
		if (s3_interrupted)
			return -EINTR;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ESTALE;
		sha256_update(&ctx, (size_t)n, buf);
		pos += (uint64_t)n;
	}
	sha256_end_hex(&ctx, out);
	return 0;
}

int s3_file_read_fd(int fd, size_t max, char **ret, size_t *ret_len)
{
	_cleanup_free_ char *buf = malloc(max + 1);
	size_t len = 0;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n = pread(fd, buf + len, max + 1 - len, (off_t)len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max)
			return -EFBIG;
	}
	buf[len] = '\0';
	*ret = TAKE_PTR(buf);
	*ret_len = len;
	return 0;
}

int s3_file_read(const char *path, size_t max, char **ret, size_t *ret_len)
{
	_cleanup_close_ int fd = -1;
	uint64_t size;
	int r = s3_file_open(path, &fd, &size);

	if (r < 0)
		return r;
	return s3_file_read_fd(fd, max, ret, ret_len);
}

int s3_sink_init(struct s3_sink *s, int fd)
{
	*s = (struct s3_sink){.fd = fd};
	s->buf = malloc(WINDOW);
	if (!s->buf)
		return -ENOMEM;
	sha256_init(&s->sha);
	return 0;
}

static bool zero_page(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static int write_at(int fd, const uint8_t *p, size_t n, uint64_t off)
{
	while (n > 0) {
		ssize_t w = pwrite(fd, p, n, (off_t)off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		if (w == 0)
			return -EIO;
		p += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

/* Writes the window's runs of pages that are not all zeros; the zero
 * pages stay holes (the file is extended over them at the end). */
static int sink_flush(struct s3_sink *s)
{
	size_t i = 0;

	while (i < s->fill) {
		size_t run = i;
		while (run < s->fill) {
			size_t n = s->fill - run < PAGE ? s->fill - run : PAGE;
			if (zero_page(s->buf + run, n))
				break;
			run += n;
		}
		if (run > i) {
			int r = write_at(s->fd, s->buf + i, run - i, s->pos + i);
			if (r < 0)
				return r;
		}
		i = run + (s->fill - run < PAGE ? s->fill - run : PAGE);
	}
	s->pos += s->fill;
	s->fill = 0;
	return 0;
}

int s3_sink_write(struct s3_sink *s, const void *data, size_t n)
{
	const uint8_t *p = data;

	sha256_update(&s->sha, n, p);
	while (n > 0) {
		size_t take = WINDOW - s->fill < n ? WINDOW - s->fill : n;
		memcpy(s->buf + s->fill, p, take);
		s->fill += take;
		p += take;
		n -= take;
		if (s->fill == WINDOW) {
			int r = sink_flush(s);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

int s3_sink_finish(struct s3_sink *s, uint64_t *ret_size, char ret_sha256[65])
{
	int r = sink_flush(s);

	if (r < 0)
		return r;
	if (ftruncate(s->fd, (off_t)s->pos) < 0 || fsync(s->fd) < 0)
		return -errno;
	*ret_size = s->pos;
	sha256_end_hex(&s->sha, ret_sha256);
	return 0;
}

void s3_sink_clear(struct s3_sink *s)
{
	free(s->buf);
	s->buf = NULL;
}

int s3_rm_rf(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int r = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 &&
		    unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT)
			r = -errno;
	closedir(d);
	if (rmdir(dir) < 0 && errno != ENOENT)
		r = -errno;
	return r;
}

int s3_fsync_dir(const char *dir)
{
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || fsync(fd) < 0)
		return -errno;
	return 0;
}

void s3_remove_dead_temps(const char *dir, const char *prefix, int hex16, const char *marker)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[4400];

	if (!d)
		return;
	while ((de = readdir(d))) {
		const char *p = de->d_name;
		if (strncmp(p, prefix, strlen(prefix)) != 0)
			continue;
		p += strlen(prefix);
		if (hex16 && strspn(p, "0123456789abcdef") < 16)
			continue;
		p += hex16 ? 16 : 0;
		if (strncmp(p, marker, strlen(marker)) != 0)
			continue;
		p += strlen(marker);
		if (!*p || strspn(p, "0123456789") != strlen(p) || strlen(p) > 9)
			continue;
		if (kill((pid_t)atoi(p), 0) == 0 || errno != ESRCH)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		s3_log("removing %s, left by a transfer that is gone", path);
		s3_rm_rf(path);
	}
	closedir(d);
}

int s3_lock(const char *path, int *ret_fd)
{
	_cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);

	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		return -errno;
	*ret_fd = TAKE_FD(fd);
	return 0;
}

int s3_check_space(const char *dir, uint64_t need, char **ret_error)
{
	struct statvfs st;
	char a[32], b[32];

	if (statvfs(dir, &st) < 0)
		return err_setf(ret_error, -errno, "%s: %s", dir, strerror(errno));
	uint64_t avail = (uint64_t)st.f_bavail * st.f_frsize;
	if (avail < need)
		return err_setf(ret_error, -ENOSPC, "not enough space in %s: %s needed, %s free", dir,
				s3_size(need, a), s3_size(avail, b));
	return 0;
}

#define HASH_NOTE_MIN (16u << 20) /* files worth a progress line while hashed */

void s3_fds_close(struct s3_fds *f)
{
	for (size_t i = 0; i < S3_FILES_MAX; i++)
		f->fd[i] = safe_close(f->fd[i]);
}

int s3_set_file_open(const char *path, struct s3_file *f, int *ret_fd, char **ret_error)
{
	int r = s3_file_open(path, ret_fd, &f->size);

	if (r == -ENOENT && !f->required)
		return r;
	if (r < 0)
		return err_setf(ret_error, r, "%s: %s", path,
				r == -EINVAL ? "not a regular file" : strerror(-r));
	if (f->size > S3_FILE_SIZE_MAX)
		return err_setf(ret_error, -EFBIG, "%s: larger than 64 GiB", path);
	return 0;
}

int s3_set_file_hash(const char *path, struct s3_file *f, int fd, char **ret_error)
{
	char size[32];
	int r;

	if (f->size >= HASH_NOTE_MIN)
		s3_log("hashing %s (%s)", path, s3_size(f->size, size));
	r = s3_file_hash(fd, f->size, f->sha256);
	if (r < 0)
		return err_setf(ret_error, r, "reading %s: %s", path, strerror(-r));
	f->present = true;
	return 0;
}
