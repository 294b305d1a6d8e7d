/* manage.c: the management API of images and snapshots (docs/api.md,
 * "Images and snapshots"), in Runner Codes' paths and shapes.
 *
 * Listings are read from the cache as it is: images from IMAGES/IMAGE.erofs and
 * their records, snapshot templates from CACHE/snapshots/LANG-KEY/meta.json,
 * compared with what this host would build now (QEMU, kernel, image, guest
 * size) to say ready or stale, and why. Work that takes minutes runs as a
 * task (task.h), one per language and kind at a time: image builds and
 * imports by tools/runner-image, transfers by runnerd-s3. When a task
 * changes what a language runs on (a new image, a downloaded snapshot) its
 * pool reloads its template; a new language starts being served. A snapshot
 * "create" is a pool reload with the guest size asked for. */
#include <dirent.h>
#include <stdarg.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "error-util.h"
#include "log.h"
#include "runner-internal.h"
#include "sha256.h"
#include "task.h"
#include "time-util.h"

#define MANAGE_MAX_ENTRIES 256

enum entry_kind {
	ENTRY_ROOTFS,
	ENTRY_SNAPSHOT,
};

/* What management knows of one language and kind beyond the cache: the
 * last task, and a note (why a downloaded snapshot was not used). */
struct entry {
	struct manage *m;
	char lang[65];
	enum entry_kind kind;
	struct task *task; /* owned: the last one, kept for its outcome */
	char action[16];   /* what the task does: build, from-image, upload, download */
	char *note;
	ino_t downloaded; /* inode of the snapshot directory a download made, or 0 */
	time_t created;	  /* a snapshot create: when it was asked (its pool says how it went) */
};

struct service_pending {
	struct manage *m;
	struct task *task; /* owned: runnerd-s3 list */
	enum entry_kind kind;
	char bucket[256];
	service_reply_cb reply;
	void *userdata;
};

struct manage {
	struct runner *r;
	char kernel_sha256[65];
	struct entry entries[MANAGE_MAX_ENTRIES];
	unsigned n;
};

int manage_new(struct runner *r, struct manage **ret)
{
	struct manage *m = calloc(1, sizeof(*m));

	if (!m)
		return -ENOMEM;
	m->r = r;
	if (sha256_file_hex(r->cfg.kernel, m->kernel_sha256) < 0)
		m->kernel_sha256[0] = 0;
	*ret = m;
	return 0;
}

void manage_free(struct manage *m)
{
	if (!m)
		return;
	for (unsigned i = 0; i < m->n; i++) {
		task_free(m->entries[i].task);
		free(m->entries[i].note);
	}
	free(m);
}

static struct entry *entry_get(struct manage *m, const char *lang, enum entry_kind kind, bool create)
{
	for (unsigned i = 0; i < m->n; i++)
		if (m->entries[i].kind == kind && strcmp(m->entries[i].lang, lang) == 0)
			return &m->entries[i];
	if (!create || m->n == MANAGE_MAX_ENTRIES)
		return NULL;
	struct entry *e = &m->entries[m->n++];
	*e = (struct entry){.m = m, .kind = kind};
	snprintf(e->lang, sizeof(e->lang), "%s", lang);
	return e;
}

static bool entry_busy(const struct entry *e)
{
	return e && e->task && task_get_state(e->task) == TASK_RUNNING;
}

static time_t task_started(const struct task *t);
static json_t *create_task_json(struct manage *m, const struct entry *e);

static void entry_note(struct entry *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void entry_note(struct entry *e, const char *fmt, ...)
{
	va_list ap;

	free(e->note);
	e->note = NULL;
	if (!fmt)
		return;
	va_start(ap, fmt);
	if (vasprintf(&e->note, fmt, ap) < 0)
		e->note = NULL;
	va_end(ap);
}

/* ---- helpers ---- */

static json_t *error_json(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static json_t *error_json(const char *fmt, ...)
{
	char buf[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return json_pack("{s:s}", "error", buf);
}

/* A language name as a path component may hold it. */
static bool name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
		      s[i] == '-' || s[i] == '+'))
			return false;
	return true;
}

/* The first line of a small file, or NULL. */
static char *read_line(const char *path)
{
	char buf[512];
	FILE *f = fopen(path, "re");

	if (!f)
		return NULL;
	char *ok = fgets(buf, sizeof(buf), f);
	fclose(f);
	if (!ok)
		return NULL;
	buf[strcspn(buf, "\r\n")] = 0;
	return strdup(buf);
}

/* A language's definition: the served one (borrowed), or loaded from the
 * languages directory (*ret_owned set: free it). */
static const struct language *definition(struct manage *m, const char *name, struct language **ret_owned,
					 char **ret_error)
{
	char path[4200];
	int i = runner_index(m->r, name);

	*ret_owned = NULL;
	if (i >= 0)
		return m->r->langs[i];
	if (!name_ok(name)) {
		err_setf(ret_error, -EINVAL, "language not found: %s", name);
		return NULL;
	}
	snprintf(path, sizeof(path), "%s/%s.lang", m->r->cfg.languages_dir, name);
	if (access(path, R_OK) < 0) {
		err_setf(ret_error, -ENOENT, "language not found: %s (no %s.lang in %s)", name, name,
			 m->r->cfg.languages_dir);
		return NULL;
	}
	if (language_load(path, ret_owned, ret_error) < 0)
		return NULL;
	return *ret_owned;
}

/* ---- images ---- */

static json_t *rootfs_row(struct manage *m, const struct language *l, const struct entry *e)
{
	const struct runner *r = m->r;
	char path[4200], file[4300], built[32];
	struct stat st;
	json_t *langs = json_array();

	snprintf(path, sizeof(path), "%s/%s.erofs", r->cfg.images_dir, l->image);
	for (unsigned i = 0; i < r->n; i++)
		if (strcmp(r->langs[i]->image, l->image) == 0)
			json_array_append_new(langs, json_string(r->langs[i]->name));
	bool present = stat(path, &st) == 0;
	snprintf(file, sizeof(file), "%s/%s.inputs", r->cfg.images_dir, l->image);
	char *inputs = present ? read_line(file) : NULL;
	/* A failed task over an image that exists leaves it ready (the
	 * import failed; the earlier image stands); its task says so. */
	const char *state = entry_busy(e)					     ? "building"
			    : present						     ? "ready"
			    : e && e->task && task_get_state(e->task) == TASK_FAILED ? "failed"
										     : "missing";
	if (present)
		time_iso8601(st.st_mtime, built);
	json_t *o = json_pack("{s:s,s:s,s:I,s:s,s:o,s:s?,s:s?,s:s,s:s}", "language", l->name, "image",
			      l->image, "size", (json_int_t)(present ? st.st_size : 0), "path", path,
			      "languages", langs, "built_at", present ? built : NULL, "inputs", inputs,
			      "source", l->source ? l->source : "debian", "state", state);
	free(inputs);
	if (o && e && e->task) {
		json_t *t = task_json(e->task);
		json_object_set_new(t, "kind", json_string(e->action));
		json_object_set_new(o, "task", t);
	}
	return o;
}

static json_t *rootfs_list(struct manage *m)
{
	json_t *arr = json_array();

	for (unsigned i = 0; i < m->r->n; i++)
		json_array_append_new(
		    arr,
		    rootfs_row(m, m->r->langs[i], entry_get(m, m->r->langs[i]->name, ENTRY_ROOTFS, false)));
	/* Languages not served yet whose image is being made, or failed. */
	for (unsigned i = 0; i < m->n; i++) {
		struct language *owned = NULL;
		if (m->entries[i].kind != ENTRY_ROOTFS || runner_index(m->r, m->entries[i].lang) >= 0)
			continue;
		const struct language *l = definition(m, m->entries[i].lang, &owned, NULL);
		if (l)
			json_array_append_new(arr, rootfs_row(m, l, &m->entries[i]));
		language_free(owned);
	}
	return json_pack("{s:o}", "rootfs", arr);
}

/* ---- snapshots ---- */

static unsigned machine_value(const char *machine, const char *key)
{
	const char *p = machine ? strstr(machine, key) : NULL;
	return p ? (unsigned)strtoul(p + strlen(key), NULL, 10) : 0;
}

static off_t file_size(const char *dir, const char *name, off_t *ret_resident)
{
	char path[4400];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (stat(path, &st) < 0)
		return 0;
	if (ret_resident)
		*ret_resident = st.st_blocks * 512;
	return st.st_size;
}

/* Why a template built for `meta` would not be loaded by this host for
 * the language's pool now, or NULL if it would. */
static const char *snapshot_stale_reason(struct manage *m, json_t *meta, int i, char *buf, size_t size)
{
	const struct runner *r = m->r;
	const char *q = json_string_value(json_object_get(meta, "qemu_version"));
	const char *k = json_string_value(json_object_get(meta, "kernel_sha256"));
	const char *im = json_string_value(json_object_get(meta, "image_sha256"));
	const char *machine = json_string_value(json_object_get(meta, "machine"));
	char idpath[4300];

	if (i < 0)
		return "the language is not served here";
	if (!q || strcmp(q, r->qemu_version) != 0) {
		snprintf(buf, size, "built with another QEMU (%s; here %s)", q ? q : "?", r->qemu_version);
		return buf;
	}
	if (!k || strcmp(k, m->kernel_sha256) != 0) {
		snprintf(buf, size, "built for another guest kernel (%.12s; here %.12s)", k ? k : "?",
			 m->kernel_sha256);
		return buf;
	}
	snprintf(idpath, sizeof(idpath), "%s/%s.erofs.id", r->cfg.images_dir, r->langs[i]->image);
	char *id = read_line(idpath);
	bool same_image = id && im && strcmp(id, im) == 0;
	if (!same_image) {
		snprintf(buf, size, "built for another image (%.12s; here %.12s)", im ? im : "?",
			 id ? id : "none");
		free(id);
		return buf;
	}
	free(id);
	unsigned mem = machine_value(machine, "mem="), smp = machine_value(machine, "smp=");
	if (mem != pool_memory_mb(r->pools[i]) || smp != pool_vcpus(r->pools[i])) {
		snprintf(buf, size, "built for %u MB and %u vCPUs; the language now runs %u MB and %u vCPUs",
			 mem, smp, pool_memory_mb(r->pools[i]), pool_vcpus(r->pools[i]));
		return buf;
	}
	return NULL;
}

static json_t *snapshot_row(struct manage *m, const char *dir, const char *name, json_t *meta)
{
	const char *lang = json_string_value(json_object_get(meta, "language"));
	const char *machine = json_string_value(json_object_get(meta, "machine"));
	int i = lang ? runner_index(m->r, lang) : -1;
	struct entry *e = lang ? entry_get(m, lang, ENTRY_SNAPSHOT, false) : NULL;
	char why[600];
	off_t resident = 0;
	struct stat st;

	if (!lang)
		return NULL;
	const char *reason = snapshot_stale_reason(m, meta, i, why, sizeof(why));
	const char *status = "ready";
	if (reason)
		status = "stale";
	else if (i >= 0 && pool_get_status(m->r->pools[i]) == POOL_FAILED) {
		status = "failed";
		reason = pool_get_error(m->r->pools[i]);
	}
	bool downloaded = e && e->downloaded && stat(dir, &st) == 0 && st.st_ino == e->downloaded;
	json_t *o = json_pack(
	    "{s:s,s:s,s:i,s:i,s:I,s:I,s:I,s:{s:s?,s:s?,s:s?},s:s,s:s}", "language", lang, "name", name,
	    "mem_mb", (int)machine_value(machine, "mem="), "vcpus", (int)machine_value(machine, "smp="),
	    "vmstate_size", (json_int_t)file_size(dir, "state", NULL), "mem_size",
	    (json_int_t)file_size(dir, "ram", &resident), "resident_size", (json_int_t)resident, "keys",
	    "qemu_version", json_string_value(json_object_get(meta, "qemu_version")), "kernel_sha256",
	    json_string_value(json_object_get(meta, "kernel_sha256")), "image_sha256",
	    json_string_value(json_object_get(meta, "image_sha256")), "status", status, "source",
	    downloaded ? "downloaded" : "built");
	if (o && reason)
		json_object_set_new(o, "reason", json_string(reason));
	return o;
}

static json_t *snapshot_list(struct manage *m)
{
	char snapdir[4200];
	json_t *arr = json_array();
	struct dirent *de;
	bool *seen = calloc(m->r->n + 1, sizeof(bool));

	snprintf(snapdir, sizeof(snapdir), "%s/snapshots", m->r->cfg.cache_dir);
	DIR *d = opendir(snapdir);
	while (d && (de = readdir(d))) {
		char dir[4500], meta_path[4600];
		json_error_t jerr;
		if (de->d_name[0] == '.' || strstr(de->d_name, ".tmp."))
			continue;
		snprintf(dir, sizeof(dir), "%s/%s", snapdir, de->d_name);
		snprintf(meta_path, sizeof(meta_path), "%s/meta.json", dir);
		json_auto_t *meta = json_load_file(meta_path, 0, &jerr);
		if (!json_is_object(meta))
			continue;
		/* Only the languages served here: the cache may be shared. */
		int i = runner_index(m->r, json_string_value(json_object_get(meta, "language")));
		if (i < 0)
			continue;
		json_t *row = snapshot_row(m, dir, de->d_name, meta);
		if (!row)
			continue;
		if (i >= 0 && seen && strcmp(json_string_value(json_object_get(row, "status")), "ready") == 0)
			seen[i] = true;
		json_array_append_new(arr, row);
	}
	if (d)
		closedir(d);
	/* Languages whose template is being made, or failed without one. */
	for (unsigned i = 0; seen && i < m->r->n; i++) {
		enum pool_status ps = pool_get_status(m->r->pools[i]);
		if (seen[i] || ps == POOL_SERVING)
			continue;
		json_t *row =
		    json_pack("{s:s,s:i,s:i,s:s}", "language", m->r->langs[i]->name, "mem_mb",
			      (int)pool_memory_mb(m->r->pools[i]), "vcpus", (int)pool_vcpus(m->r->pools[i]),
			      "status", ps == POOL_FAILED ? "failed" : "building");
		if (row && ps == POOL_FAILED && pool_get_error(m->r->pools[i]))
			json_object_set_new(row, "reason", json_string(pool_get_error(m->r->pools[i])));
		json_array_append_new(arr, row);
	}
	free(seen);
	/* The tasks and notes, on the rows of their language. */
	size_t idx;
	json_t *row;
	json_array_foreach(arr, idx, row)
	{
		struct entry *e =
		    entry_get(m, json_string_value(json_object_get(row, "language")), ENTRY_SNAPSHOT, false);
		if (!e)
			continue;
		if (e->created && (!e->task || e->created >= task_started(e->task))) {
			if (!json_object_get(row, "task"))
				json_object_set_new(row, "task", create_task_json(m, e));
		} else if (e->task) {
			json_t *t = task_json(e->task);
			json_object_set_new(t, "kind", json_string(e->action));
			json_object_set_new(row, "task", t);
		}
		if (e->note && !json_object_get(row, "reason"))
			json_object_set_new(row, "reason", json_string(e->note));
		else if (e->note)
			json_object_set_new(row, "note", json_string(e->note));
	}
	return json_pack("{s:o}", "snapshots", arr);
}

/* A snapshot create is a pool reload, not a child process: its task is
 * what the pool says, in the shape of task_json(). */
static json_t *create_task_json(struct manage *m, const struct entry *e)
{
	int i = runner_index(m->r, e->lang);
	enum pool_status ps = i >= 0 ? pool_get_status(m->r->pools[i]) : POOL_FAILED;
	const char *state = ps == POOL_SERVING ? "done" : ps == POOL_FAILED ? "failed" : "running";
	char started[32];

	time_iso8601(e->created, started);
	json_t *t = json_pack("{s:s,s:s,s:s,s:s}", "kind", "create", "state", state, "step",
			      ps == POOL_SERVING   ? "template ready"
			      : ps == POOL_FAILED  ? "template failed"
			      : ps == POOL_WAITING ? "waiting for a build slot"
						   : "loading or building the template",
			      "started_at", started);
	if (t && ps == POOL_FAILED)
		json_object_set_new(t, "error",
				    json_string(i >= 0 && pool_get_error(m->r->pools[i])
						    ? pool_get_error(m->r->pools[i])
						    : "the language is gone"));
	return t;
}

/* ---- tasks ---- */

static const char *s3_tool(const struct runner *r)
{
	return r->cfg.s3_tool;
}

/* Reloads the pools of every served language whose image is `image`, and
 * starts serving `lang` if its image now exists and it is not served. */
static void images_changed(struct manage *m, const char *image, const char *lang)
{
	struct runner *r = m->r;

	for (unsigned i = 0; i < r->n; i++)
		if (strcmp(r->langs[i]->image, image) == 0) {
			free(r->langs[i]->version);
			r->langs[i]->version = NULL;
			runner_read_image_id(r->images[i], r->image_ids[i]);
			pool_reload(r->pools[i], pool_memory_mb(r->pools[i]), pool_vcpus(r->pools[i]));
		}
	if (lang && runner_index(r, lang) < 0) {
		struct language *owned = NULL;
		char *err = NULL;
		if (definition(m, lang, &owned, &err) && runner_add_language(r, owned, &err) == 0) {
			log_info("LANGUAGE=%s served from now on (image %s)", lang, image);
			return;
		}
		log_warn("LANGUAGE=%s not served: %s", lang, err ? err : "no definition");
		language_free(owned);
		free(err);
	}
}

/* The snapshot directory a download made: CACHE/snapshots/DIR, DIR from
 * the manifest runnerd-s3 printed (a template directory name, which it
 * checked: LANG-KEY). */
static bool downloaded_dir(struct manage *m, struct task *t, char *buf, size_t size)
{
	json_auto_t *manifest = json_loads(task_output(t), 0, NULL);
	const char *dir = json_string_value(json_object_get(manifest, "dir"));
	struct stat st;

	if (!dir || !*dir || strchr(dir, '/') || dir[0] == '.')
		return false;
	snprintf(buf, size, "%s/snapshots/%s", m->r->cfg.cache_dir, dir);
	return stat(buf, &st) == 0 && S_ISDIR(st.st_mode);
}

static void snapshot_downloaded(struct manage *m, struct entry *e, struct task *t)
{
	char dir[4300], meta_path[4400], why[600];
	int i = runner_index(m->r, e->lang);
	struct stat st;

	if (i < 0 || !downloaded_dir(m, t, dir, sizeof(dir)) || stat(dir, &st) < 0) {
		entry_note(e, "downloaded, but runnerd-s3 named no snapshot directory");
		return;
	}
	snprintf(meta_path, sizeof(meta_path), "%s/meta.json", dir);
	json_auto_t *meta = json_load_file(meta_path, 0, NULL);
	const char *machine = json_string_value(json_object_get(meta, "machine"));
	unsigned mem = machine_value(machine, "mem="), smp = machine_value(machine, "smp=");
	struct pool *p = m->r->pools[i];
	e->downloaded = st.st_ino;
	/* The guest size is the snapshot's: compare the rest with it. */
	if (mem >= 64 && smp >= 1 && (mem != pool_memory_mb(p) || smp != pool_vcpus(p)))
		pool_reload(p, mem, smp);
	const char *reason = meta ? snapshot_stale_reason(m, meta, i, why, sizeof(why)) : "no meta.json";
	if (reason) {
		entry_note(e, "the downloaded snapshot is not used: %s; rebuilt locally", reason);
		log_warn("LANGUAGE=%s %s", e->lang, e->note);
	} else
		entry_note(e, NULL);
	pool_reload(p, pool_memory_mb(p), pool_vcpus(p));
}

static void entry_task_done_cb(struct task *t, void *userdata)
{
	struct entry *e = userdata;
	struct manage *m = e->m;
	const char *what = e->kind == ENTRY_ROOTFS ? "image" : "snapshot";

	if (task_get_state(t) != TASK_DONE) {
		log_warn("LANGUAGE=%s %s %s failed: %s", e->lang, what, e->action, task_error(t));
		return;
	}
	log_info("LANGUAGE=%s %s %s done", e->lang, what, e->action);
	if (strcmp(e->action, "upload") == 0)
		return;
	if (e->kind == ENTRY_SNAPSHOT) {
		snapshot_downloaded(m, e, t);
		return;
	}
	struct language *owned = NULL;
	const struct language *l = definition(m, e->lang, &owned, NULL);
	if (l)
		images_changed(m, l->image, l->name);
	language_free(owned);
}

/* Starts argv as the entry's task; the reply is 202 with it. */
static json_t *entry_start(struct manage *m, struct entry *e, const char *action, char *const argv[],
			   int *ret_code)
{
	struct task *t = NULL;
	int r = task_start(m->r->base, action, argv, entry_task_done_cb, e, &t);

	if (r < 0) {
		*ret_code = 500;
		return error_json("cannot start %s: %s", argv[0], strerror(-r));
	}
	task_free(e->task);
	e->task = t;
	e->created = 0;
	snprintf(e->action, sizeof(e->action), "%s", action);
	log_info("LANGUAGE=%s %s %s started", e->lang, e->kind == ENTRY_ROOTFS ? "image" : "snapshot",
		 action);
	*ret_code = 202;
	json_t *tj = task_json(t);
	json_object_set_new(tj, "kind", json_string(action));
	return json_pack("{s:s,s:o}", "language", e->lang, "task", tj);
}

static const char *body_string(json_t *body, const char *key, char **ret_error)
{
	json_t *v = json_object_get(body, key);
	if (!v)
		return NULL;
	if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > 1000) {
		err_setf(ret_error, -EINVAL, "'%s' must be a non-empty string", key);
		return NULL;
	}
	return json_string_value(v);
}

/* An optional positive integer field: 0 if absent, -1 (and an error) if bad. */
static long body_uint(json_t *body, const char *key, long max, char **ret_error)
{
	json_t *v = json_object_get(body, key);
	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > max) {
		err_setf(ret_error, -EINVAL, "'%s' must be an integer from 1 to %ld", key, max);
		return -1;
	}
	return (long)json_integer_value(v);
}

static json_t *check_keys(json_t *body, const char *const *allowed, int *ret_code)
{
	const char *key;
	json_t *v;

	json_object_foreach(body, key, v)
	{
		bool ok = false;
		for (const char *const *a = allowed; *a && !ok; a++)
			ok = strcmp(*a, key) == 0;
		if (!ok) {
			*ret_code = 400;
			return error_json("unknown field '%s'", key);
		}
	}
	return NULL;
}

static json_t *rootfs_create(struct manage *m, json_t *body, int *ret_code)
{
	static const char *const keys[] = {"language", "size_mb", "image", NULL};
	_cleanup_free_ char *err = NULL;
	struct language *owned = NULL;
	char size[16], agent[4200];
	json_t *bad = check_keys(body, keys, ret_code);

	if (bad)
		return bad;
	const char *lang = body_string(body, "language", &err);
	const char *ref = body_string(body, "image", &err);
	long size_mb = body_uint(body, "size_mb", 65536, &err);
	*ret_code = 400;
	if (err)
		return error_json("%s", err);
	if (!lang)
		return error_json("'language' is required");
	const struct language *l = definition(m, lang, &owned, &err);
	if (!l) {
		*ret_code = 404;
		return error_json("%s", err ? err : "language not found");
	}
	struct entry *e = entry_get(m, l->name, ENTRY_ROOTFS, true);
	if (!e) {
		language_free(owned);
		*ret_code = 503;
		return error_json("too many tasks");
	}
	if (entry_busy(e)) {
		language_free(owned);
		*ret_code = 409;
		return error_json("%s: a %s is already running", e->lang, e->action);
	}
	snprintf(size, sizeof(size), "%ld", size_mb);
	snprintf(agent, sizeof(agent), "%s", m->r->cfg.agent ? m->r->cfg.agent : "");
	const char *argv[20];
	int n = 0;
	argv[n++] = m->r->cfg.runner_image;
	if (ref) {
		argv[n++] = "from-image";
		argv[n++] = "--name";
		argv[n++] = l->name;
		argv[n++] = "--image";
		argv[n++] = ref;
		if (size_mb > 0) {
			argv[n++] = "--size";
			argv[n++] = size;
		}
	} else {
		argv[n++] = "build";
		argv[n++] = l->name;
		argv[n++] = "--force";
	}
	argv[n++] = "--cache";
	argv[n++] = m->r->cfg.cache_dir;
	argv[n++] = "--languages";
	argv[n++] = m->r->cfg.languages_dir;
	if (agent[0]) {
		argv[n++] = "--agent";
		argv[n++] = agent;
	}
	argv[n] = NULL;
	json_t *res = entry_start(m, e, ref ? "from-image" : "build", (char *const *)argv, ret_code);
	language_free(owned);
	return res;
}

static const char *bucket_of(struct manage *m, json_t *body, char **ret_error)
{
	const char *b = body ? body_string(body, "bucket", ret_error) : NULL;
	if (!b && !*ret_error)
		b = m->r->cfg.s3_bucket;
	if (!b && !*ret_error)
		err_setf(ret_error, -EINVAL,
			 "no bucket: send {\"bucket\": NAME} or start runnerd with --s3-bucket");
	return b;
}

/* runnerd-s3 [--endpoint URL] [--region R] --bucket B ARGS... */
static int s3_argv(struct manage *m, const char *bucket, const char *const *args, const char **argv, int max)
{
	int n = 0;

	argv[n++] = s3_tool(m->r);
	if (m->r->cfg.s3_endpoint) {
		argv[n++] = "--endpoint";
		argv[n++] = m->r->cfg.s3_endpoint;
	}
	if (m->r->cfg.s3_region) {
		argv[n++] = "--region";
		argv[n++] = m->r->cfg.s3_region;
	}
	argv[n++] = "--bucket";
	argv[n++] = bucket;
	for (; *args && n < max - 1; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	return n;
}

static json_t *transfer(struct manage *m, enum entry_kind kind, const char *lang, const char *action,
			json_t *body, int *ret_code)
{
	static const char *const keys[] = {"bucket", NULL};
	_cleanup_free_ char *err = NULL;
	struct language *owned = NULL;
	json_t *bad = body ? check_keys(body, keys, ret_code) : NULL;

	if (bad)
		return bad;
	const char *bucket = bucket_of(m, body, &err);
	*ret_code = 400;
	if (err)
		return error_json("%s", err);
	const struct language *l = definition(m, lang, &owned, &err);
	if (!l) {
		*ret_code = 404;
		return error_json("%s", err ? err : "language not found");
	}
	if (kind == ENTRY_SNAPSHOT && runner_index(m->r, l->name) < 0) {
		language_free(owned);
		*ret_code = 409;
		return error_json("%s is not served here (no image): its snapshots cannot be used", l->name);
	}
	struct entry *e = entry_get(m, l->name, kind, true);
	if (!e || entry_busy(e)) {
		language_free(owned);
		*ret_code = e ? 409 : 503;
		return e ? error_json("%s: a %s is already running", e->lang, e->action)
			 : error_json("too many tasks");
	}
	bool up = strcmp(action, "upload") == 0;
	const char *args[4] = {kind == ENTRY_ROOTFS ? (up ? "put-image" : "get-image")
						    : (up ? "put-snapshot" : "get-snapshot"),
			       m->r->cfg.cache_dir, kind == ENTRY_ROOTFS ? l->image : l->name, NULL};
	const char *argv[16];
	s3_argv(m, bucket, args, argv, 16);
	json_t *res = entry_start(m, e, action, (char *const *)argv, ret_code);
	language_free(owned);
	return res;
}

static json_t *snapshot_create(struct manage *m, json_t *body, int *ret_code)
{
	static const char *const keys[] = {"language", "mem_mb", "vcpus", NULL};
	_cleanup_free_ char *err = NULL;
	json_t *bad = check_keys(body, keys, ret_code);

	if (bad)
		return bad;
	const char *lang = body_string(body, "language", &err);
	long mem = body_uint(body, "mem_mb", 16384, &err), vcpus = body_uint(body, "vcpus", 16, &err);
	*ret_code = 400;
	if (err)
		return error_json("%s", err);
	if (!lang)
		return error_json("'language' is required");
	if (mem && mem < 128)
		return error_json("'mem_mb' must be at least 128");
	int i = runner_index(m->r, lang);
	if (i < 0) {
		*ret_code = 404;
		return error_json("language not found: %s (or it has no image: build one first)", lang);
	}
	struct pool *p = m->r->pools[i];
	unsigned want_mem = mem ? (unsigned)mem : pool_memory_mb(p),
		 want_cpu = vcpus ? (unsigned)vcpus : pool_vcpus(p);
	struct entry *e = entry_get(m, m->r->langs[i]->name, ENTRY_SNAPSHOT, true);
	if (e && entry_busy(e)) {
		*ret_code = 409;
		return error_json("%s: a %s is already running", e->lang, e->action);
	}
	if (!e) {
		*ret_code = 503;
		return error_json("too many tasks");
	}
	entry_note(e, NULL);
	e->created = time(NULL);
	snprintf(e->action, sizeof(e->action), "create");
	pool_reload(p, want_mem, want_cpu);
	*ret_code = 202;
	return json_pack("{s:s,s:i,s:i,s:s,s:o}", "language", m->r->langs[i]->name, "mem_mb", (int)want_mem,
			 "vcpus", (int)want_cpu, "status", "building", "task", create_task_json(m, e));
}

static int remove_tree_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[4600];

	if (!d)
		return -errno;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.') {
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			unlink(path);
		}
	closedir(d);
	return rmdir(dir) < 0 ? -errno : 0;
}

static json_t *remove_entry(struct manage *m, enum entry_kind kind, const char *lang, int *ret_code)
{
	_cleanup_free_ char *err = NULL;
	struct language *owned = NULL;
	const struct language *l = definition(m, lang, &owned, &err);
	unsigned removed = 0;

	if (!l) {
		*ret_code = 404;
		return error_json("%s", err ? err : "language not found");
	}
	struct entry *e = entry_get(m, l->name, kind, false);
	if (entry_busy(e)) {
		language_free(owned);
		*ret_code = 409;
		return error_json("%s: a %s is running", e->lang, e->action);
	}
	if (kind == ENTRY_ROOTFS) {
		static const char *const ext[] = {".erofs.id", ".erofs", ".versions", ".inputs"};
		for (size_t k = 0; k < sizeof(ext) / sizeof(ext[0]); k++) {
			char path[4300];
			snprintf(path, sizeof(path), "%s/%s%s", m->r->cfg.images_dir, l->image, ext[k]);
			removed += unlink(path) == 0;
		}
		if (e) { /* what an earlier task said is history now */
			task_free(e->task);
			e->task = NULL;
		}
		/* Its languages keep their templates until they reload: then
		 * they fail, saying the image is gone. */
		if (removed)
			images_changed(m, l->image, NULL);
	} else {
		char snapdir[4200], prefix[80];
		struct dirent *de;
		snprintf(snapdir, sizeof(snapdir), "%s/snapshots", m->r->cfg.cache_dir);
		snprintf(prefix, sizeof(prefix), "%s-", l->name);
		DIR *d = opendir(snapdir);
		while (d && (de = readdir(d))) {
			char dir[4500];
			if (strncmp(de->d_name, prefix, strlen(prefix)) != 0 || strstr(de->d_name, ".tmp."))
				continue;
			snprintf(dir, sizeof(dir), "%s/%s", snapdir, de->d_name);
			removed += remove_tree_files(dir) == 0;
		}
		if (d)
			closedir(d);
	}
	*ret_code = 200;
	json_t *res = json_pack("{s:s,s:i}", "language", l->name, "removed", (int)removed);
	language_free(owned);
	return res;
}

static time_t task_started(const struct task *t)
{
	return task_started_at(t);
}

/* ---- remote listings ---- */

static void remote_done_cb(struct task *t, void *userdata)
{
	struct service_pending *p = userdata;
	const char *key = p->kind == ENTRY_ROOTFS ? "rootfs" : "snapshots";
	json_t *body;

	if (task_get_state(t) != TASK_DONE)
		body = error_json("remote listing failed: %s", task_error(t));
	else {
		json_error_t jerr;
		json_auto_t *out = json_loads(task_output(t), 0, &jerr);
		json_t *list = json_object_get(out, p->kind == ENTRY_ROOTFS ? "images" : "snapshots");
		json_t *rows = json_array();
		size_t i;
		json_t *v;
		json_array_foreach(list, i, v)
		{
			json_t *row = json_deep_copy(v);
			/* Runner Codes' row keys beside the manifest's own. */
			json_t *files = json_object_get(v, "files");
			if (p->kind == ENTRY_ROOTFS) {
				json_t *langs = json_object_get(v, "languages");
				json_t *first = json_array_get(langs, 0);
				char erofs[300];
				snprintf(erofs, sizeof(erofs), "%s.erofs",
					 json_string_value(json_object_get(v, "name")));
				json_object_set(row, "language", first ? first : json_object_get(v, "name"));
				json_object_set(row, "image", json_object_get(v, "name"));
				json_object_set(row, "size",
						json_object_get(json_object_get(files, erofs), "size"));
			} else {
				const char *machine = json_string_value(json_object_get(v, "machine"));
				json_object_set_new(row, "mem_mb",
						    json_integer(machine_value(machine, "mem=")));
				json_object_set_new(row, "vcpus",
						    json_integer(machine_value(machine, "smp=")));
				json_object_set(row, "vmstate_size",
						json_object_get(json_object_get(files, "state"), "size"));
				json_object_set(row, "mem_size",
						json_object_get(json_object_get(files, "ram"), "size"));
				json_object_set_new(
				    row, "keys",
				    json_pack("{s:O?,s:O?,s:O?}", "qemu_version",
					      json_object_get(v, "qemu_version"), "kernel_sha256",
					      json_object_get(v, "kernel_sha256"), "image_sha256",
					      json_object_get(v, "image_sha256")));
			}
			json_array_append_new(rows, row);
		}
		body = json_is_object(out)
			   ? json_pack("{s:o,s:b,s:s}", key, rows, "remote", 1, "bucket", p->bucket)
			   : (json_decref(rows), error_json("runnerd-s3 answered no JSON"));
	}
	service_reply_cb reply = p->reply;
	void *ud = p->userdata;
	/* The task is freed with the pending call, after its callback. */
	p->reply = NULL;
	reply(body && json_object_get(body, "error") ? 502 : 200, body, ud);
	manage_forget(p->m->r, p);
}

static void remote_list(struct manage *m, enum entry_kind kind, service_reply_cb reply, void *userdata,
			struct service_pending **ret_pending)
{
	_cleanup_free_ char *err = NULL;
	const char *bucket = bucket_of(m, NULL, &err);
	struct service_pending *p;

	*ret_pending = NULL;
	if (!bucket)
		return reply(400, error_json("%s", err), userdata);
	p = calloc(1, sizeof(*p));
	if (!p)
		return reply(500, error_json("out of memory"), userdata);
	*p = (struct service_pending){.m = m, .kind = kind, .reply = reply, .userdata = userdata};
	snprintf(p->bucket, sizeof(p->bucket), "%s", bucket);
	const char *args[] = {"list", kind == ENTRY_ROOTFS ? "images" : "snapshots", NULL};
	const char *argv[16];
	s3_argv(m, bucket, args, argv, 16);
	int r = task_start(m->r->base, "list", (char *const *)argv, remote_done_cb, p, &p->task);
	if (r < 0) {
		free(p);
		return reply(500, error_json("cannot start %s: %s", argv[0], strerror(-r)), userdata);
	}
	*ret_pending = p;
}

void manage_forget(void *ctx, struct service_pending *p)
{
	if (!p)
		return;
	/* Also from the task's own done callback: nothing touches a task
	 * after that callback returns (task.c). */
	task_free(p->task);
	free(p);
}

/* ---- routing ---- */

/* Splits "/api/v1/KIND[/NAME[/ACTION]]" after the prefix. */
static int split_path(const char *rest, char name[static 65], char action[static 16])
{
	name[0] = action[0] = 0;
	if (!*rest)
		return 0;
	if (*rest != '/')
		return -1;
	rest++;
	size_t n = strcspn(rest, "/");
	if (n == 0 || n > 64)
		return -1;
	memcpy(name, rest, n);
	name[n] = 0;
	rest += n;
	if (!*rest)
		return 1;
	rest++;
	n = strlen(rest);
	if (n == 0 || n > 15 || strchr(rest, '/'))
		return -1;
	memcpy(action, rest, n + 1);
	return 2;
}

void manage_call(void *ctx, const struct service_call *call, service_reply_cb reply, void *userdata,
		 struct service_pending **ret_pending)
{
	struct runner *r = ctx;
	struct manage *m = r->manage;
	bool get = strcmp(call->method, "GET") == 0, post = strcmp(call->method, "POST") == 0,
	     del = strcmp(call->method, "DELETE") == 0;
	char name[65], action[16];
	int code = 200, parts;
	json_t *res = NULL;

	*ret_pending = NULL;
	if (strncmp(call->path, "/api/v1/languages/", 18) == 0) {
		int i = runner_index(r, call->path + 18);
		if (!get)
			return reply(405, error_json("method not allowed"), userdata);
		if (i < 0)
			return reply(404, error_json("language not found: %s", call->path + 18), userdata);
		return reply(200, runner_language_json(r, (unsigned)i), userdata);
	}
	bool rootfs = strncmp(call->path, "/api/v1/rootfs", 14) == 0;
	enum entry_kind kind = rootfs ? ENTRY_ROOTFS : ENTRY_SNAPSHOT;
	parts = split_path(call->path + (rootfs ? 14 : 17), name, action);
	if (parts < 0)
		return reply(404, error_json("no such endpoint"), userdata);
	if (parts == 0 && get && call->remote)
		return remote_list(m, kind, reply, userdata, ret_pending);
	if (parts == 0 && get)
		res = rootfs ? rootfs_list(m) : snapshot_list(m);
	else if (parts == 0 && post)
		res = rootfs ? rootfs_create(m, call->body, &code) : snapshot_create(m, call->body, &code);
	else if (parts == 1 && del)
		res = remove_entry(m, kind, name, &code);
	else if (parts == 2 && post && (strcmp(action, "upload") == 0 || strcmp(action, "download") == 0))
		res = transfer(m, kind, name, action, call->body, &code);
	else if (parts >= 1 && get)
		code = 405, res = error_json("method not allowed");
	else
		code = 404, res = error_json("no such endpoint");
	reply(res ? code : 500, res ? res : error_json("out of memory"), userdata);
}
