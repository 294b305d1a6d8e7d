/* s3-manifest.c: see s3-manifest.h. s3_manifest_build() runs its own
 * output through the checks of s3_manifest_parse(), so nothing is uploaded
 * that a download would refuse. */
#include "s3-manifest.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "error-util.h"
#include "time-util.h"

#define LANGUAGES_MAX 256

bool s3_name_valid(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= S3_NAME_MAX && strchr("abcdefghijklmnopqrstuvwxyz0123456789", s[0]) &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_+-") == n;
}

bool s3_sha256_valid(const char *s)
{
	return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

const char *s3_kind_word(enum s3_kind kind)
{
	return kind == S3_IMAGE ? "image" : "snapshot";
}

const char *s3_kind_prefix(enum s3_kind kind)
{
	return kind == S3_IMAGE ? "images" : "snapshots";
}

static void add_file(struct s3_manifest *m, bool required, const char *fmt, const char *name)
{
	struct s3_file *f = &m->files[m->n_files++];

	snprintf(f->name, sizeof(f->name), fmt, name);
	f->required = required;
}

void s3_manifest_init(struct s3_manifest *m, enum s3_kind kind, const char *name)
{
	*m = (struct s3_manifest){.kind = kind};
	snprintf(m->name, sizeof(m->name), "%s", name);
	if (kind == S3_IMAGE) {
		/* The id last: it vouches for the image (docs/s3.md, "Downloads"). */
		add_file(m, true, "%s.erofs", name);
		add_file(m, false, "%s.versions", name);
		add_file(m, false, "%s.inputs", name);
		add_file(m, true, "%s.erofs.id", name);
	} else {
		add_file(m, true, "meta.json", NULL);
		add_file(m, true, "state", NULL);
		add_file(m, true, "ram", NULL);
	}
}

struct s3_file *s3_manifest_file(struct s3_manifest *m, const char *name)
{
	for (size_t i = 0; i < m->n_files; i++)
		if (strcmp(m->files[i].name, name) == 0)
			return &m->files[i];
	return NULL;
}

static bool text_valid(json_t *v, size_t max)
{
	const char *s = json_string_value(v);

	if (!s || json_string_length(v) == 0 || json_string_length(v) > max ||
	    strlen(s) != json_string_length(v))
		return false;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

static bool iso8601_valid(json_t *v)
{
	const char *s = json_string_value(v);
	const char *shape = "dddd-dd-ddTdd:dd:ddZ";

	if (!s || strlen(s) != strlen(shape))
		return false;
	for (size_t i = 0; shape[i]; i++)
		if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
			return false;
	return true;
}

static int check_files(struct s3_manifest *m, json_t *files, char **ret_error)
{
	const char *key;
	json_t *v;

	if (!json_is_object(files) || json_object_size(files) > S3_FILES_MAX)
		return err_setf(ret_error, -EINVAL, "'files' is not an object of at most %d files",
				S3_FILES_MAX);
	json_object_foreach(files, key, v)
	{
		struct s3_file *f = s3_manifest_file(m, key);
		json_t *size = json_object_get(v, "size");
		const char *sha = json_string_value(json_object_get(v, "sha256"));

		if (!f)
			return err_setf(ret_error, -EINVAL, "'files' names a file that is not one of %s",
					m->kind == S3_IMAGE ? "an image's" : "a template's");
		if (!json_is_object(v) || json_object_size(v) != 2 || !json_is_integer(size) ||
		    json_integer_value(size) < 0 || (uint64_t)json_integer_value(size) > S3_FILE_SIZE_MAX ||
		    !sha || !s3_sha256_valid(sha))
			return err_setf(
			    ret_error, -EINVAL,
			    "'files' entry %s is not {\"size\": 0 to 64 GiB, \"sha256\": 64 hex digits}",
			    f->name);
		f->present = true;
		f->size = (uint64_t)json_integer_value(size);
		memcpy(f->sha256, sha, 65);
	}
	for (size_t i = 0; i < m->n_files; i++)
		if (m->files[i].required && !m->files[i].present)
			return err_setf(ret_error, -EINVAL, "'files' has no %s", m->files[i].name);
	return 0;
}

static int check_languages(json_t *v, char **ret_error)
{
	size_t i;
	json_t *l;

	if (!json_is_array(v) || json_array_size(v) > LANGUAGES_MAX)
		return err_setf(ret_error, -EINVAL, "'languages' is not an array of at most %d names",
				LANGUAGES_MAX);
	json_array_foreach(v, i, l)
	{
		if (!json_is_string(l) || !s3_name_valid(json_string_value(l)))
			return err_setf(ret_error, -EINVAL, "'languages' has an invalid name");
	}
	return 0;
}

static int check_snapshot(struct s3_manifest *m, json_t *j, char **ret_error)
{
	const char *dir = json_string_value(json_object_get(j, "dir"));
	const char *lang = json_string_value(json_object_get(j, "language"));
	const char *kernel = json_string_value(json_object_get(j, "kernel_sha256"));
	const char *image = json_string_value(json_object_get(j, "image_sha256"));
	size_t n = strlen(m->name);

	if (!lang || strcmp(lang, m->name) != 0)
		return err_setf(ret_error, -EINVAL, "'language' is not %s", m->name);
	/* LANG-KEY as pool/template.c names it: 16 hex digits of the key. */
	if (!dir || strlen(dir) != n + 17 || strncmp(dir, m->name, n) != 0 || dir[n] != '-' ||
	    strspn(dir + n + 1, "0123456789abcdef") != 16)
		return err_setf(ret_error, -EINVAL, "'dir' is not %s-KEY (16 hex digits)", m->name);
	if (!kernel || !s3_sha256_valid(kernel) || !image || !s3_sha256_valid(image))
		return err_setf(ret_error, -EINVAL, "'kernel_sha256' or 'image_sha256' is not 64 hex digits");
	if (!text_valid(json_object_get(j, "qemu_version"), S3_TEXT_MAX) ||
	    !text_valid(json_object_get(j, "machine"), S3_TEXT_MAX))
		return err_setf(ret_error, -EINVAL, "'qemu_version' or 'machine' is not a line of text");
	snprintf(m->dir, sizeof(m->dir), "%s", dir);
	return 0;
}

/* Checks the document j as m's kind and name; fills m's files. */
static int check(struct s3_manifest *m, json_t *j, char **ret_error)
{
	static const char *const common[] = {"format", "kind", "name", "files", "uploaded_at"};
	static const char *const image[] = {"languages"};
	static const char *const snapshot[] = {"dir",		"language",	"qemu_version",
					       "kernel_sha256", "image_sha256", "machine"};
	const char *const *extra = m->kind == S3_IMAGE ? image : snapshot;
	size_t n_extra = m->kind == S3_IMAGE ? 1 : sizeof(snapshot) / sizeof(snapshot[0]);
	const char *key, *kind, *name;
	json_t *v;
	int r;

	if (!json_is_object(j))
		return err_setf(ret_error, -EINVAL, "not a JSON object");
	json_object_foreach(j, key, v)
	{
		bool known = false;
		for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++)
			known = known || strcmp(key, common[i]) == 0;
		for (size_t i = 0; i < n_extra; i++)
			known = known || strcmp(key, extra[i]) == 0;
		if (!known)
			return err_setf(ret_error, -EINVAL, "a key that is not one of %s manifest's",
					m->kind == S3_IMAGE ? "an image" : "a snapshot");
	}
	v = json_object_get(j, "format");
	if (!json_is_integer(v) || json_integer_value(v) != S3_MANIFEST_FORMAT)
		return err_setf(ret_error, -EINVAL, "'format' is not %d", S3_MANIFEST_FORMAT);
	kind = json_string_value(json_object_get(j, "kind"));
	if (!kind || strcmp(kind, s3_kind_word(m->kind)) != 0)
		return err_setf(ret_error, -EINVAL, "'kind' is not \"%s\"", s3_kind_word(m->kind));
	name = json_string_value(json_object_get(j, "name"));
	if (!name || strcmp(name, m->name) != 0)
		return err_setf(ret_error, -EINVAL, "'name' is not %s", m->name);
	if (!iso8601_valid(json_object_get(j, "uploaded_at")))
		return err_setf(ret_error, -EINVAL, "'uploaded_at' is not YYYY-MM-DDTHH:MM:SSZ");
	r = check_files(m, json_object_get(j, "files"), ret_error);
	if (r < 0)
		return r;
	if (m->kind == S3_IMAGE)
		return json_object_get(j, "languages")
			   ? check_languages(json_object_get(j, "languages"), ret_error)
			   : 0;
	return check_snapshot(m, j, ret_error);
}

int s3_manifest_parse(const char *data, size_t n, enum s3_kind kind, const char *name,
		      struct s3_manifest *ret, char **ret_error)
{
	struct s3_manifest m;
	json_error_t jerr;
	int r;

	if (!s3_name_valid(name))
		return err_setf(ret_error, -EINVAL, "invalid %s name", s3_kind_word(kind));
	if (n > S3_MANIFEST_MAX)
		return err_setf(ret_error, -EFBIG, "larger than %u bytes", S3_MANIFEST_MAX);
	s3_manifest_init(&m, kind, name);
	m.json = json_loadb(data, n, JSON_REJECT_DUPLICATES, &jerr);
	if (!m.json)
		return err_setf(ret_error, -EINVAL, "not JSON: %s", jerr.text);
	r = check(&m, m.json, ret_error);
	if (r < 0) {
		s3_manifest_clear(&m);
		return r;
	}
	*ret = m;
	return 0;
}

int s3_manifest_build(struct s3_manifest *m, json_t *extra, char **ret_error)
{
	struct s3_manifest check_copy;
	char now[32];
	time_t t = time(NULL);
	int r;

	json_auto_t *j = json_object();
	json_t *files = json_object();
	if (!j || !files || json_object_set_new(j, "files", files) < 0) {
		json_decref(files);
		return -ENOMEM;
	}
	for (size_t i = 0; i < m->n_files; i++) {
		const struct s3_file *f = &m->files[i];
		if (f->present && json_object_set_new(files, f->name,
						      json_pack("{s:I,s:s}", "size", (json_int_t)f->size,
								"sha256", f->sha256)) < 0)
			return -ENOMEM;
	}
	time_iso8601(t, now);
	if (json_object_set_new(j, "format", json_integer(S3_MANIFEST_FORMAT)) < 0 ||
	    json_object_set_new(j, "kind", json_string(s3_kind_word(m->kind))) < 0 ||
	    json_object_set_new(j, "name", json_string(m->name)) < 0 ||
	    json_object_set_new(j, "uploaded_at", json_string(now)) < 0 ||
	    (extra && json_object_update(j, extra) < 0))
		return -ENOMEM;
	/* What a download will check, checked now. */
	s3_manifest_init(&check_copy, m->kind, m->name);
	r = check(&check_copy, j, ret_error);
	if (r < 0)
		return r;
	snprintf(m->dir, sizeof(m->dir), "%s", check_copy.dir);
	json_decref(m->json);
	m->json = TAKE_PTR(j);
	return 0;
}

void s3_manifest_clear(struct s3_manifest *m)
{
	json_decref(m->json);
	m->json = NULL;
}
