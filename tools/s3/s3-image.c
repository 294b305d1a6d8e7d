/* s3-image.c: see s3-image.h. */
#include "s3-image.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error-util.h"
#include "s3-files.h"
#include "s3-log.h"
#include "s3-transfer.h"

#define SMALL_FILE_MAX (1u << 20)

/* The files of an image, in s3_manifest_init()'s order. */
enum {
	IMAGE_EROFS,
	IMAGE_VERSIONS,
	IMAGE_INPUTS,
	IMAGE_ID,
};

/* Whether the text of an id file (64 hex digits, a newline or not) is sha256. */
static bool id_matches(const char *text, size_t len, const char *sha256)
{
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' '))
		len--;
	return len == 64 && memcmp(text, sha256, 64) == 0;
}

/* The language names of an IMAGE.versions file: "NAME<TAB>VERSION" lines. */
static json_t *languages_of(const char *text)
{
	json_t *langs = json_array();
	char name[S3_NAME_MAX + 1];

	for (const char *p = text; langs && *p;) {
		const char *nl = strchr(p, '\n'), *end = nl ? nl : p + strlen(p);
		const char *tab = memchr(p, '\t', (size_t)(end - p));
		if (tab && tab - p <= S3_NAME_MAX) {
			memcpy(name, p, (size_t)(tab - p));
			name[tab - p] = '\0';
			if (s3_name_valid(name) && json_array_size(langs) < 256)
				json_array_append_new(langs, json_string(name));
		}
		p = nl ? nl + 1 : end;
	}
	return langs;
}

int s3_put_image(struct s3_client *c, const char *cache, const char *image, struct s3_manifest *ret,
		 char **ret_error)
{
	_cleanup_(s3_fds_close) struct s3_fds fds = S3_FDS_INIT;
	_cleanup_close_ int lock = -1;
	_cleanup_free_ char *id_text = NULL, *versions = NULL;
	char dir[4200], path[4400];
	struct s3_manifest m;
	size_t len;
	int r;

	snprintf(dir, sizeof(dir), "%s/images", cache);
	snprintf(path, sizeof(path), "%s/%s.erofs", dir, image);
	if (access(path, F_OK) < 0)
		return err_setf(ret_error, -errno, "no image %s in %s: %s", image, dir, strerror(errno));
	snprintf(path, sizeof(path), "%s/.%s.lock", dir, image);
	r = s3_lock(path, &lock);
	if (r == -EWOULDBLOCK)
		return err_setf(ret_error, r, "image %s is being built or transferred (%s is held)", image,
				path);
	if (r == -ENOENT)
		return err_setf(ret_error, r, "no image %s in %s", image, dir);
	if (r < 0)
		return err_setf(ret_error, r, "%s: %s", path, strerror(-r));

	s3_manifest_init(&m, S3_IMAGE, image);
	for (size_t i = 0; i < m.n_files; i++) {
		struct s3_file *f = &m.files[i];
		snprintf(path, sizeof(path), "%s/%s", dir, f->name);
		r = s3_set_file_open(path, f, &fds.fd[i], ret_error);
		if (r == -ENOENT && !f->required)
			continue;
		if (r >= 0)
			r = s3_set_file_hash(path, f, fds.fd[i], ret_error);
		if (r < 0)
			return r;
	}
	/* An id that does not vouch for the image must not travel with it. */
	r = s3_file_read_fd(fds.fd[IMAGE_ID], 1024, &id_text, &len);
	if (r < 0 || !id_matches(id_text, len, m.files[IMAGE_EROFS].sha256))
		return err_setf(ret_error, -EBADMSG,
				"%s/%s does not match %s (rebuild the image with runner-image)", dir,
				m.files[IMAGE_ID].name, m.files[IMAGE_EROFS].name);

	json_auto_t *extra = NULL;
	if (m.files[IMAGE_VERSIONS].present) {
		r = s3_file_read_fd(fds.fd[IMAGE_VERSIONS], SMALL_FILE_MAX, &versions, &len);
		if (r < 0)
			return err_setf(ret_error, r, "reading %s/%s: %s", dir, m.files[IMAGE_VERSIONS].name,
					strerror(-r));
		json_t *langs = languages_of(versions);
		extra = json_object();
		if (!langs || !extra || json_object_set_new(extra, "languages", langs) < 0)
			return -ENOMEM;
	}
	r = s3_manifest_build(&m, extra, ret_error);
	if (r < 0)
		return r;
	r = s3_upload_set(c, &m, fds.fd, ret_error);
	if (r < 0) {
		s3_manifest_clear(&m);
		return r;
	}
	*ret = m;
	return 0;
}

static int mkdir_images(const char *cache, const char *dir, mode_t mode, char **ret_error)
{
	if (mkdir(cache, 0755) < 0 && errno != EEXIST)
		return err_setf(ret_error, -errno, "creating %s: %s", cache, strerror(errno));
	if (mkdir(dir, mode) < 0 && errno != EEXIST)
		return err_setf(ret_error, -errno, "creating %s: %s", dir, strerror(errno));
	return 0;
}

/* Puts the checked files of tmp in place in dir; see s3-image.h. */
static int install(const struct s3_manifest *m, const char *tmp, const char *dir, char **ret_error)
{
	char from[4400], to[4400];
	const struct s3_file *id = &m->files[IMAGE_ID];

	snprintf(to, sizeof(to), "%s/%s", dir, id->name);
	if (unlink(to) < 0 && errno != ENOENT)
		return err_setf(ret_error, -errno, "removing %s: %s", to, strerror(errno));
	for (size_t i = 0; i < m->n_files; i++) {
		const struct s3_file *f = &m->files[i];
		snprintf(from, sizeof(from), "%s/%s", tmp, f->name);
		snprintf(to, sizeof(to), "%s/%s", dir, f->name);
		/* A versions or inputs record the new image lacks would describe
		 * the old one. */
		if (!f->present && unlink(to) < 0 && errno != ENOENT)
			return err_setf(ret_error, -errno, "removing %s: %s", to, strerror(errno));
		if (f->present && rename(from, to) < 0)
			return err_setf(ret_error, -errno, "renaming %s to %s: %s", from, to,
					strerror(errno));
	}
	return s3_fsync_dir(dir);
}

int s3_get_image(struct s3_client *c, const char *cache, const char *image, struct s3_manifest *ret,
		 char **ret_error)
{
	_cleanup_(s3_rm_tmpp) char *tmp = NULL;
	_cleanup_close_ int lock = -1;
	_cleanup_free_ char *id_text = NULL;
	char dir[4200], path[4400], prefix[S3_NAME_MAX + 4];
	struct s3_manifest m;
	uint64_t need = 0;
	size_t len;
	int r;

	/* The manifest first: an image that is not there changes nothing here. */
	r = s3_fetch_manifest(c, S3_IMAGE, image, &m, ret_error);
	if (r < 0)
		return r;
	snprintf(dir, sizeof(dir), "%s/images", cache);
	r = mkdir_images(cache, dir, 0755, ret_error);
	if (r < 0)
		goto fail;
	snprintf(path, sizeof(path), "%s/.%s.lock", dir, image);
	r = s3_lock(path, &lock);
	if (r < 0) {
		r = r == -EWOULDBLOCK
			? err_setf(ret_error, r, "image %s is being built or transferred (%s is held)", image,
				   path)
			: err_setf(ret_error, r, "%s: %s", path, strerror(-r));
		goto fail;
	}
	for (size_t i = 0; i < m.n_files; i++)
		need += m.files[i].size;
	r = s3_check_space(dir, need, ret_error);
	if (r < 0)
		goto fail;
	snprintf(prefix, sizeof(prefix), ".%s", image);
	s3_remove_dead_temps(dir, prefix, 0, ".dl.");
	if (asprintf(&tmp, "%s/.%s.dl.%d", dir, image, (int)getpid()) < 0) {
		tmp = NULL;
		r = -ENOMEM;
		goto fail;
	}
	s3_rm_rf(tmp);
	if (mkdir(tmp, 0700) < 0) {
		r = err_setf(ret_error, -errno, "creating %s: %s", tmp, strerror(errno));
		goto fail;
	}
	r = s3_download_set(c, &m, tmp, 0644, ret_error);
	if (r < 0)
		goto fail;
	snprintf(path, sizeof(path), "%s/%s", tmp, m.files[IMAGE_ID].name);
	r = s3_file_read(path, 1024, &id_text, &len);
	if (r < 0 || !id_matches(id_text, len, m.files[IMAGE_EROFS].sha256)) {
		r = err_setf(ret_error, -EBADMSG, "%s in bucket %s does not match %s: not installed",
			     m.files[IMAGE_ID].name, s3_client_config(c)->bucket, m.files[IMAGE_EROFS].name);
		goto fail;
	}
	r = install(&m, tmp, dir, ret_error);
	if (r < 0)
		goto fail;
	s3_log("installed image %s in %s", image, dir);
	*ret = m;
	return 0;
fail:
	s3_manifest_clear(&m);
	return r;
}
