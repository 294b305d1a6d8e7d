/* s3-snapshot.c: see s3-snapshot.h. */
#include "s3-snapshot.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error-util.h"
#include "s3-files.h"
#include "s3-log.h"
#include "s3-transfer.h"

#define META_MAX (1u << 20)

/* The keys of meta.json that the manifest copies. */
static const char *const meta_copied[] = {"qemu_version", "kernel_sha256", "image_sha256", "machine"};

/* The files of a template, in s3_manifest_init()'s order. */
enum {
	SNAP_META,
	SNAP_STATE,
	SNAP_RAM,
};

/* The name of LANG's one template directory in snapdir. */
static int find_dir(const char *snapdir, const char *lang, char ret[S3_DIR_MAX + 1], char **ret_error)
{
	DIR *d = opendir(snapdir);
	struct dirent *de;
	char first[S3_DIR_MAX + 1] = "";
	size_t n = strlen(lang), found = 0;

	if (!d && errno == ENOENT)
		return err_setf(ret_error, -ENOENT, "no snapshot of %s in %s", lang, snapdir);
	if (!d)
		return err_setf(ret_error, -errno, "%s: %s", snapdir, strerror(errno));
	while ((de = readdir(d))) {
		const char *name = de->d_name;
		/* LANG-KEY exactly, as pool/template.c names it. */
		if (strncmp(name, lang, n) != 0 || name[n] != '-' || strlen(name + n + 1) != 16 ||
		    strspn(name + n + 1, "0123456789abcdef") != 16)
			continue;
		if (found++ == 0)
			snprintf(first, sizeof(first), "%s", name);
		else {
			char other[S3_DIR_MAX + 1];
			snprintf(other, sizeof(other), "%s", name);
			closedir(d);
			return err_setf(
			    ret_error, -ENOTUNIQ,
			    "several snapshots of %s in %s (%s, %s): runnerd removes stale ones when it "
			    "prepares %s; remove the one not wanted",
			    lang, snapdir, first, other, lang);
		}
	}
	closedir(d);
	if (!found)
		return err_setf(ret_error, -ENOENT, "no snapshot of %s in %s", lang, snapdir);
	memcpy(ret, first, sizeof(first));
	return 0;
}

/* Checks meta.json (text[0..len)) against the language and, when the
 * template's files are known, against them: its "files" record of sizes
 * and of the state's SHA-256 (pool/template.c, files_describe()). */
static int check_meta(const char *text, size_t len, const char *lang, const struct s3_manifest *m,
		      json_t **ret, char **ret_error)
{
	json_auto_t *meta = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	const char *l = json_string_value(json_object_get(meta, "language"));
	json_t *files = json_object_get(meta, "files");

	if (!json_is_object(meta))
		return err_setf(ret_error, -EINVAL, "meta.json is not a JSON object");
	if (!l || strcmp(l, lang) != 0)
		return err_setf(ret_error, -EINVAL, "meta.json is not for language %s", lang);
	for (size_t i = 0; i < sizeof(meta_copied) / sizeof(meta_copied[0]); i++)
		if (!json_is_string(json_object_get(meta, meta_copied[i])))
			return err_setf(ret_error, -EINVAL, "meta.json has no '%s'", meta_copied[i]);
	const struct s3_file *state = &m->files[SNAP_STATE], *ram = &m->files[SNAP_RAM];
	json_t *state_size = json_object_get(files, "state_size"),
	       *ram_size = json_object_get(files, "ram_size");
	const char *state_sha = json_string_value(json_object_get(files, "state_sha256"));
	if (!json_is_integer(state_size) || !json_is_integer(ram_size) || !state_sha ||
	    (uint64_t)json_integer_value(state_size) != state->size ||
	    (uint64_t)json_integer_value(ram_size) != ram->size || strcmp(state_sha, state->sha256) != 0)
		return err_setf(ret_error, -EBADMSG,
				"meta.json's 'files' does not describe this state and ram");
	*ret = TAKE_PTR(meta);
	return 0;
}

int s3_put_snapshot(struct s3_client *c, const char *cache, const char *lang, struct s3_manifest *ret,
		    char **ret_error)
{
	_cleanup_(s3_fds_close) struct s3_fds fds = S3_FDS_INIT;
	_cleanup_free_ char *text = NULL, *why = NULL;
	char snapdir[4200], dir[S3_DIR_MAX + 1], path[4400];
	json_auto_t *meta = NULL, *extra = NULL;
	struct s3_manifest m;
	size_t len;
	int r;

	snprintf(snapdir, sizeof(snapdir), "%s/snapshots", cache);
	r = find_dir(snapdir, lang, dir, ret_error);
	if (r < 0)
		return r;
	s3_manifest_init(&m, S3_SNAPSHOT, lang);
	/* Opened together first: runnerd may replace the directory meanwhile,
	 * and what goes out must be one template. */
	for (size_t i = 0; i < m.n_files; i++) {
		struct s3_file *f = &m.files[i];
		snprintf(path, sizeof(path), "%s/%s/%s", snapdir, dir, f->name);
		r = s3_set_file_open(path, f, &fds.fd[i], ret_error);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < m.n_files; i++) {
		snprintf(path, sizeof(path), "%s/%s/%s", snapdir, dir, m.files[i].name);
		r = s3_set_file_hash(path, &m.files[i], fds.fd[i], ret_error);
		if (r < 0)
			return r;
	}
	r = s3_file_read_fd(fds.fd[SNAP_META], META_MAX, &text, &len);
	if (r >= 0)
		r = check_meta(text, len, lang, &m, &meta, &why);
	if (r < 0)
		return err_setf(ret_error, r, "%s/%s: not a complete template: %s", snapdir, dir,
				why ? why : strerror(-r));

	extra = json_pack("{s:s,s:s}", "dir", dir, "language", lang);
	if (!extra)
		return -ENOMEM;
	for (size_t i = 0; i < sizeof(meta_copied) / sizeof(meta_copied[0]); i++)
		if (json_object_set(extra, meta_copied[i], json_object_get(meta, meta_copied[i])) < 0)
			return -ENOMEM;
	free(why);
	why = NULL;
	r = s3_manifest_build(&m, extra, &why);
	if (r < 0)
		return err_setf(ret_error, r, "%s/%s/meta.json: %s", snapdir, dir, why ? why : strerror(-r));
	r = s3_upload_set(c, &m, fds.fd, ret_error);
	if (r < 0) {
		s3_manifest_clear(&m);
		return r;
	}
	*ret = m;
	return 0;
}

/* Makes tmp visible as final in one step; see s3-snapshot.h. */
static int install(const char *tmp, const char *final, const char *snapdir, char **ret_error)
{
	if (rename(tmp, final) == 0)
		return s3_fsync_dir(snapdir);
	if (errno != ENOTEMPTY && errno != EEXIST)
		return err_setf(ret_error, -errno, "renaming %s to %s: %s", tmp, final, strerror(errno));
	/* A template of the same name (the same inputs) is there: swap the
	 * two, so final is always one whole template, then drop the old. */
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, final, RENAME_EXCHANGE) < 0)
		return err_setf(ret_error, -errno, "exchanging %s and %s: %s", tmp, final, strerror(errno));
	s3_log("replaced the template %s", final);
	return s3_fsync_dir(snapdir);
}

int s3_get_snapshot(struct s3_client *c, const char *cache, const char *lang, struct s3_manifest *ret,
		    char **ret_error)
{
	_cleanup_(s3_rm_tmpp) char *tmp = NULL;
	_cleanup_free_ char *text = NULL, *why = NULL;
	char snapdir[4200], final[4400], path[4500], prefix[S3_NAME_MAX + 2];
	json_auto_t *meta = NULL;
	struct s3_manifest m;
	uint64_t need = 0;
	size_t len;
	int r;

	/* The manifest first: a template that is not there changes nothing here. */
	r = s3_fetch_manifest(c, S3_SNAPSHOT, lang, &m, ret_error);
	if (r < 0)
		return r;
	snprintf(snapdir, sizeof(snapdir), "%s/snapshots", cache);
	if ((mkdir(cache, 0755) < 0 && errno != EEXIST) || (mkdir(snapdir, 0700) < 0 && errno != EEXIST)) {
		r = err_setf(ret_error, -errno, "creating %s: %s", snapdir, strerror(errno));
		goto fail;
	}
	for (size_t i = 0; i < m.n_files; i++)
		need += m.files[i].size;
	r = s3_check_space(snapdir, need, ret_error);
	if (r < 0)
		goto fail;
	snprintf(prefix, sizeof(prefix), "%s-", lang);
	s3_remove_dead_temps(snapdir, prefix, 1, ".tmp.");
	snprintf(final, sizeof(final), "%s/%s", snapdir, m.dir);
	if (asprintf(&tmp, "%s.tmp.%d", final, (int)getpid()) < 0) {
		tmp = NULL;
		r = -ENOMEM;
		goto fail;
	}
	s3_rm_rf(tmp);
	if (mkdir(tmp, 0700) < 0) {
		r = err_setf(ret_error, -errno, "creating %s: %s", tmp, strerror(errno));
		goto fail;
	}
	r = s3_download_set(c, &m, tmp, 0600, ret_error);
	if (r < 0)
		goto fail;
	snprintf(path, sizeof(path), "%s/meta.json", tmp);
	r = s3_file_read(path, META_MAX, &text, &len);
	if (r >= 0)
		r = check_meta(text, len, lang, &m, &meta, &why);
	for (size_t i = 0; r >= 0 && i < sizeof(meta_copied) / sizeof(meta_copied[0]); i++)
		if (!json_equal(json_object_get(meta, meta_copied[i]),
				json_object_get(m.json, meta_copied[i])))
			r = err_setf(&why, -EBADMSG, "its '%s' is not the manifest's", meta_copied[i]);
	if (r < 0) {
		r = err_setf(ret_error, r, "snapshots/%s/meta.json in bucket %s: %s: not installed", lang,
			     s3_client_config(c)->bucket, why ? why : strerror(-r));
		goto fail;
	}
	r = s3_fsync_dir(tmp);
	if (r < 0)
		r = err_setf(ret_error, r, "syncing %s: %s", tmp, strerror(-r));
	else
		r = install(tmp, final, snapdir, ret_error);
	if (r < 0)
		goto fail;
	/* tmp is now gone, or holds the template that was replaced. */
	s3_log("installed the %s template %s", lang, final);
	*ret = m;
	return 0;
fail:
	s3_manifest_clear(&m);
	return r;
}
