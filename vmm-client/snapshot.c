/* snapshot.c: template RAM into an immutable memfd, and the metadata file.
 * QEMU 7.2 opens mem-path read-write even with share=off, so pointing
 * clones at the template file would let one compromised VMM poison every
 * later clone; a write-sealed memfd cannot be written by anyone, while
 * private (copy-on-write) mappings of it still work. */
#include "snapshot.h"

#include "sha256.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define PAGE  4096u
#define CHUNK (1u << 20)

static bool page_is_zero(const uint8_t *p)
{
	const uint64_t *w = (const uint64_t *)p;
	for (size_t i = 0; i < PAGE / sizeof(*w); i++)
		if (w[i])
			return false;
	return true;
}

int snapshot_load_ram(const char *ram_path, int *ret_fd, size_t *ret_copied, char ret_sha256[65])
{
	struct sha256_ctx digest;
	struct stat st;
	size_t copied = 0;
	uint8_t *buf = NULL;
	int in = -1, mfd = -1, r;

	in = open(ram_path, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -errno;
	if (fstat(in, &st) < 0 || st.st_size <= 0 || st.st_size % PAGE) {
		r = errno ? -errno : -EINVAL;
		goto out;
	}
	sha256_init(&digest);
	sha256_update(&digest, sizeof(st.st_size), (const uint8_t *)&st.st_size);
	mfd = memfd_create("runnerd-template-ram", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	buf = malloc(CHUNK);
	if (mfd < 0 || !buf || ftruncate(mfd, st.st_size) < 0) {
		r = -(errno ? errno : ENOMEM);
		goto out;
	}

	/* Pages the guest never touched are holes in the file: skip them. */
	off_t pos = 0;
	while (pos < st.st_size) {
		off_t data = lseek(in, pos, SEEK_DATA);
		if (data < 0) {
			if (errno == ENXIO)
				break;
			r = -errno;
			goto out;
		}
		off_t hole = lseek(in, data, SEEK_HOLE);
		if (hole < 0)
			hole = st.st_size;
		for (off_t off = data; off < hole;) {
			size_t want = (size_t)(hole - off) < CHUNK ? (size_t)(hole - off) : CHUNK;
			ssize_t n = pread(in, buf, want, off);
			if (n <= 0) {
				r = n < 0 ? -errno : -EIO;
				goto out;
			}
			for (size_t p = 0; p + PAGE <= (size_t)n; p += PAGE) {
				if (page_is_zero(buf + p))
					continue;
				off_t at = off + (off_t)p;
				sha256_update(&digest, sizeof(at), (const uint8_t *)&at);
				sha256_update(&digest, PAGE, buf + p);
				if (pwrite(mfd, buf + p, PAGE, off + (off_t)p) != PAGE) {
					r = -EIO;
					goto out;
				}
				copied += PAGE;
			}
			off += n;
		}
		pos = hole;
	}
	if (fcntl(mfd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
		r = -errno;
		goto out;
	}
	*ret_fd = mfd;
	mfd = -1;
	if (ret_copied)
		*ret_copied = copied;
	if (ret_sha256)
		sha256_end_hex(&digest, ret_sha256);
	r = 0;
out:
	free(buf);
	if (mfd >= 0)
		close(mfd);
	close(in);
	return r;
}

int snapshot_load_state(const char *state_path, int *ret_fd)
{
	uint8_t buf[1 << 16];
	ssize_t n;
	int r = 0;
	int in = open(state_path, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -errno;
	int mfd = memfd_create("runnerd-template-state", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (mfd < 0) {
		r = -errno;
		close(in);
		return r;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(mfd, buf, (size_t)n) != n) {
			r = -EIO;
			break;
		}
	if (n < 0)
		r = -errno;
	close(in);
	if (r == 0 && fcntl(mfd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		r = -errno;
	if (r < 0) {
		close(mfd);
		return r;
	}
	*ret_fd = mfd;
	return 0;
}

int snapshot_meta_write(const char *dir, json_t *meta)
{
	char tmp[4096], final[4096];

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/meta.json.tmp", dir) >= sizeof(tmp) ||
	    (size_t)snprintf(final, sizeof(final), "%s/meta.json", dir) >= sizeof(final))
		return -ENAMETOOLONG;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	int r = json_dumpfd(meta, fd, JSON_INDENT(2) | JSON_SORT_KEYS) < 0 ? -EIO : 0;
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	close(fd);
	if (r == 0 && rename(tmp, final) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	return r;
}

int snapshot_meta_read(const char *dir, json_t **ret)
{
	char path[4096];
	json_error_t err;

	if ((size_t)snprintf(path, sizeof(path), "%s/meta.json", dir) >= sizeof(path))
		return -ENAMETOOLONG;
	if (access(path, F_OK) < 0)
		return -errno;
	json_t *meta = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
	if (!meta || !json_is_object(meta)) {
		json_decref(meta);
		return -EINVAL;
	}
	*ret = meta;
	return 0;
}
