/* s3-files.h: the cache side of a transfer. Files to upload are opened
 * once and read through that descriptor, so what is hashed is what is
 * sent even if the cache changes meanwhile; downloads go through a sink
 * that hashes every byte, leaves whole pages of zeros as holes (a
 * template's RAM file is mostly holes on disk and stays so) and syncs the
 * file before anyone renames it. Temporary directories are named after
 * their process, and those of processes that are gone are removed, by the
 * same rule as pool/template.c's build directories. */
#pragma once

#include <nettle/sha2.h>
#include <signal.h>
#include <stdlib.h>
#include <stdint.h>
#include <stddef.h>

#include "s3-manifest.h"

/* Set by runnerd-s3's signal handler: hashing and transfers stop with
 * -EINTR, and the caller cleans up as after any failure. */
extern volatile sig_atomic_t s3_interrupted;

/* Opens a regular file to read: *ret_fd (O_CLOEXEC) and its size. */
int s3_file_open(const char *path, int *ret_fd, uint64_t *ret_size);
/* SHA-256 of the first `size` bytes of fd (read with pread: the offset is
 * left alone); -ESTALE if the file is shorter now. */
int s3_file_hash(int fd, uint64_t size, char out[65]);
/* Reads a whole small file (from offset 0 of fd, or path): at most max
 * bytes (-EFBIG beyond), with a NUL after them. */
int s3_file_read_fd(int fd, size_t max, char **ret, size_t *ret_len);
int s3_file_read(const char *path, size_t max, char **ret, size_t *ret_len);

struct s3_sink {
	int fd; /* borrowed: an empty file open for writing */
	uint64_t pos;
	struct sha256_ctx sha;
	uint8_t *buf; /* owned: one window of the file */
	size_t fill;
};

int s3_sink_init(struct s3_sink *s, int fd);
int s3_sink_write(struct s3_sink *s, const void *data, size_t n);
/* Writes what is buffered, sets the file's size, fsync()s it; the size
 * and SHA-256 of everything written. */
int s3_sink_finish(struct s3_sink *s, uint64_t *ret_size, char ret_sha256[65]);
void s3_sink_clear(struct s3_sink *s);

/* Removes a directory of plain files (a temporary or a template). */
int s3_rm_rf(const char *dir);
/* For `_cleanup_(s3_rm_tmpp) char *tmp`: a temporary directory that is
 * removed (and the path freed) unless it was taken. */
static inline void s3_rm_tmpp(char **dir)
{
	if (*dir)
		s3_rm_rf(*dir);
	free(*dir);
}
int s3_fsync_dir(const char *dir);
/* Removes the entries of dir named PREFIX[16 hex digits if hex16]MARKER PID
 * whose process PID is gone. */
void s3_remove_dead_temps(const char *dir, const char *prefix, int hex16, const char *marker);
/* Takes flock(LOCK_EX) on path (created if need be) without waiting:
 * *ret_fd holds it; -EWOULDBLOCK if someone else does. */
int s3_lock(const char *path, int *ret_fd);
/* Whether dir's file system has `need` bytes free. */
int s3_check_space(const char *dir, uint64_t need, char **ret_error);

/* The descriptors of a set's files, by their index in the manifest; -1
 * where none is open. */
struct s3_fds {
	int fd[S3_FILES_MAX];
};
#define S3_FDS_INIT                                                                                          \
	{                                                                                                    \
		{                                                                                            \
			-1, -1, -1, -1                                                                       \
		}                                                                                            \
	}
void s3_fds_close(struct s3_fds *f);

/* Opens path as the set's file f: its size, at most S3_FILE_SIZE_MAX.
 * A file that is not required and absent gives -ENOENT with no error
 * text; every other error names path in *ret_error. */
int s3_set_file_open(const char *path, struct s3_file *f, int *ret_fd, char **ret_error);
/* Hashes f through fd (with a progress line when it is large) and marks it
 * present. */
int s3_set_file_hash(const char *path, struct s3_file *f, int fd, char **ret_error);
