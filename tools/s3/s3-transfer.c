/* s3-transfer.c: see s3-transfer.h. */
#include "s3-transfer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error-util.h"
#include "s3-log.h"

static void key_of(const struct s3_manifest *m, const char *file, char key[256])
{
	snprintf(key, 256, "%s/%s/%s", s3_kind_prefix(m->kind), m->name, file);
}

int s3_upload_set(struct s3_client *c, const struct s3_manifest *m, const int fds[], char **ret_error)
{
	_cleanup_free_ char *doc = NULL;
	char key[256], size[32];
	uint64_t total = 0;
	size_t n = 0;
	int r;

	doc = json_dumps(m->json, JSON_INDENT(2) | JSON_SORT_KEYS);
	if (!doc)
		return -ENOMEM;
	/* No manifest while the files change: a reader sees no set rather
	 * than an old manifest over new files. */
	key_of(m, "manifest.json", key);
	r = s3_delete(c, key, ret_error);
	if (r < 0)
		return r;
	for (size_t i = 0; i < m->n_files; i++) {
		const struct s3_file *f = &m->files[i];
		if (!f->present)
			continue;
		key_of(m, f->name, key);
		s3_log("uploading %s (%s)", key, s3_size(f->size, size));
		r = s3_put_file(c, key, fds[i], f->size, f->sha256, ret_error);
		if (r < 0)
			return r;
		total += f->size;
		n++;
	}
	key_of(m, "manifest.json", key);
	r = s3_put_data(c, key, doc, strlen(doc), ret_error);
	if (r < 0)
		return r;
	s3_log("uploaded %s %s: %zu files, %s, and its manifest", s3_kind_word(m->kind), m->name, n,
	       s3_size(total, size));
	return 0;
}

int s3_fetch_manifest(struct s3_client *c, enum s3_kind kind, const char *name, struct s3_manifest *ret,
		      char **ret_error)
{
	_cleanup_free_ char *doc = NULL, *why = NULL;
	struct s3_manifest tmp;
	char key[256];
	size_t len;
	int r;

	snprintf(key, sizeof(key), "%s/%s/manifest.json", s3_kind_prefix(kind), name);
	r = s3_get_data(c, key, S3_MANIFEST_MAX, &doc, &len, ret_error);
	if ((r == -EFBIG || r == S3_NO_SUCH_KEY) && ret_error) {
		free(*ret_error);
		*ret_error = NULL;
	}
	if (r == -EFBIG)
		return err_setf(ret_error, -EFBIG, "%s is larger than %u bytes", key, S3_MANIFEST_MAX);
	if (r == S3_NO_SUCH_KEY)
		return err_setf(ret_error, r, "no %s %s in bucket %s",
				kind == S3_IMAGE ? "image" : "snapshot of", name,
				s3_client_config(c)->bucket);
	if (r < 0)
		return r;
	r = s3_manifest_parse(doc, len, kind, name, &tmp, &why);
	if (r < 0)
		return err_setf(ret_error, r, "invalid manifest %s: %s", key, why ? why : strerror(-r));
	*ret = tmp;
	return 0;
}

int s3_download_set(struct s3_client *c, const struct s3_manifest *m, const char *dir, mode_t mode,
		    char **ret_error)
{
	char key[256], path[4400], size[32];
	int r;

	for (size_t i = 0; i < m->n_files; i++) {
		const struct s3_file *f = &m->files[i];
		struct s3_sink sink;
		uint64_t got;
		char sha[65];

		if (!f->present)
			continue;
		key_of(m, f->name, key);
		snprintf(path, sizeof(path), "%s/%s", dir, f->name);
		_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, mode);
		if (fd < 0)
			return err_setf(ret_error, -errno, "creating %s: %s", path, strerror(errno));
		s3_log("downloading %s (%s)", key, s3_size(f->size, size));
		r = s3_sink_init(&sink, fd);
		if (r >= 0)
			r = s3_get_file(c, key, &sink, f->size, ret_error);
		if (r >= 0) {
			r = s3_sink_finish(&sink, &got, sha);
			if (r < 0)
				err_setf(ret_error, r, "writing %s: %s", path, strerror(-r));
		}
		s3_sink_clear(&sink);
		if (r < 0)
			return r;
		if (got != f->size)
			return err_setf(ret_error, -EBADMSG,
					"%s does not match its manifest: %llu bytes instead of %llu", key,
					(unsigned long long)got, (unsigned long long)f->size);
		if (strcmp(sha, f->sha256) != 0)
			return err_setf(
			    ret_error, -EBADMSG,
			    "%s does not match its manifest: SHA-256 %.16s... instead of %.16s...", key, sha,
			    f->sha256);
	}
	return 0;
}
