/* template.c: load or build a language's snapshot template.
 *
 * Directory layout: CACHE/snapshots/LANG-KEY/{ram,state,meta.json}, KEY
 * being the first 16 hex digits of the sha256 over the inputs. A build
 * happens in CACHE/snapshots/LANG-KEY.tmp.PID (one per builder: runnerds
 * may share a cache) and is renamed into place only after meta.json is
 * written, so a crash mid-build leaves nothing that could be loaded.
 * Directories of the same language with another key are stale and are
 * removed, as are build directories whose builder is gone. */
#include "template.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jobspec.h"
#include "sha256.h"
#include "snapshot.h"

/* The life of a build, one enum changed only by template_set_state():
 *
 *   KEYED --cached inputs match--> LOADING --files check out--> DONE
 *     |                               |
 *     | no usable template            | damaged: deleted
 *     v                               v
 *   BOOTING <-------------------------+
 *     | HELLO
 *     v
 *   WARMING --hello world passes--> SAVING --stored--> DONE
 *
 *   KEYED, LOADING, BOOTING, WARMING, SAVING --error, timeout, VM failure--> FAILED
 *
 * KEYED is where template_prepare() leaves it. DONE and FAILED are final:
 * the owner's callback has run, once. What each state does is tabled in
 * docs/design.md ("The snapshot template"). */
enum template_state {
	TEMPLATE_KEYED,	  /* template_prepare(): key computed, stale directories removed */
	TEMPLATE_LOADING, /* a cached template with our inputs is verified and loaded from the loop */
	TEMPLATE_BOOTING, /* vmm_boot() into the build directory; waiting for HELLO */
	TEMPLATE_WARMING, /* the language's hello world runs */
	TEMPLATE_SAVING,  /* vmm_save(): device state into the build directory */
	TEMPLATE_DONE,	  /* the callback got the two memfds */
	TEMPLATE_FAILED,  /* the callback got the error */
};

struct template_build {
	enum template_state state;
	struct event_base *base;
	struct template_spec spec;
	template_done_cb cb;
	void *userdata;
	struct vmm *vmm;
	struct event *timer;
	char key[17];
	char dir[4600];
	char tmpdir[4600];
	char state_path[4700];
	char *error;
	json_t *meta; /* owned: the inputs, written as meta.json */
	int state_fd;
};

#define TO(s) (1u << (s))

/* Where each state may go. */
static const unsigned template_moves[] = {
    [TEMPLATE_KEYED] = TO(TEMPLATE_LOADING) | TO(TEMPLATE_BOOTING) | TO(TEMPLATE_FAILED),
    [TEMPLATE_LOADING] = TO(TEMPLATE_DONE) | TO(TEMPLATE_BOOTING) | TO(TEMPLATE_FAILED),
    [TEMPLATE_BOOTING] = TO(TEMPLATE_WARMING) | TO(TEMPLATE_FAILED),
    [TEMPLATE_WARMING] = TO(TEMPLATE_SAVING) | TO(TEMPLATE_FAILED),
    [TEMPLATE_SAVING] = TO(TEMPLATE_DONE) | TO(TEMPLATE_FAILED),
    [TEMPLATE_DONE] = 0,
    [TEMPLATE_FAILED] = 0,
};

static void template_set_state(struct template_build *b, enum template_state to)
{
	assert(template_moves[b->state] & TO(to));
	b->state = to;
}

static bool template_final(const struct template_build *b)
{
	return b->state == TEMPLATE_DONE || b->state == TEMPLATE_FAILED;
}

static void rm_rf(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[4400];

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

/* Hands the result to the owner: ram_fd (a sealed memfd, ownership passes
 * on) on success, else an error. */
static void template_finish(struct template_build *b, const char *error, int ram_fd)
{
	if (template_final(b))
		return;
	event_del(b->timer);
	vmm_free(b->vmm);
	b->vmm = NULL;
	int state_fd = -1;
	if (!error) {
		int r = snapshot_load_state(b->state_path, &state_fd);
		if (r < 0) {
			close(ram_fd);
			ram_fd = -1;
			error = "could not load the template's device state";
		}
	}
	if (error)
		rm_rf(b->tmpdir);
	template_set_state(b, error ? TEMPLATE_FAILED : TEMPLATE_DONE);
	b->cb(error, ram_fd, state_fd, b->userdata);
}

static void template_fail(struct template_build *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void template_fail(struct template_build *b, const char *fmt, ...)
{
	va_list ap;

	free(b->error);
	va_start(ap, fmt);
	if (vasprintf(&b->error, fmt, ap) < 0)
		b->error = NULL;
	va_end(ap);
	template_finish(b, b->error ? b->error : "template failed", -1);
}

/* What a template directory holds, for meta.json's "files": sizes and
 * digests of state and ram, so a damaged cache is rebuilt, not loaded. */
static json_t *files_describe(const char *dir, const char *ram_sha)
{
	char path[4700], state_sha[65];
	struct stat st_state, st_ram;

	snprintf(path, sizeof(path), "%s/state", dir);
	if (stat(path, &st_state) < 0 || sha256_file_hex(path, state_sha) < 0)
		return NULL;
	snprintf(path, sizeof(path), "%s/ram", dir);
	if (stat(path, &st_ram) < 0)
		return NULL;
	return json_pack("{s:s,s:I,s:s,s:I}", "state_sha256", state_sha, "state_size",
			 (json_int_t)st_state.st_size, "ram_sha256", ram_sha, "ram_size",
			 (json_int_t)st_ram.st_size);
}

/* Removes CACHE/snapshots/LANG-* other than the current key. */
static void remove_stale(const char *snapdir, const char *lang, const char *keep)
{
	DIR *d = opendir(snapdir);
	struct dirent *de;
	char prefix[300], path[4400];

	if (!d)
		return;
	snprintf(prefix, sizeof(prefix), "%s-", lang);
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, prefix, strlen(prefix)) != 0 || strcmp(de->d_name, keep) == 0)
			continue;
		const char *rest = de->d_name + strlen(prefix);
		/* A build directory whose builder is gone (KEY.tmp.PID). */
		const char *tmp = strstr(rest, ".tmp.");
		if (tmp && tmp - rest == 16 && kill((pid_t)atoi(tmp + 5), 0) < 0 && errno == ESRCH) {
			snprintf(path, sizeof(path), "%s/%s", snapdir, de->d_name);
			rm_rf(path);
			continue;
		}
		if (strlen(rest) != 16 || strspn(rest, "0123456789abcdef") != 16)
			continue; /* another language whose name has our prefix, or a
				   * build in progress (KEY.tmp.PID) */
		snprintf(path, sizeof(path), "%s/%s", snapdir, de->d_name);
		rm_rf(path);
	}
	closedir(d);
}

/* One timer covers the build: boot, then the hello world, then the save. */
static void timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct template_build *b = arg;

	switch (b->state) {
	case TEMPLATE_BOOTING:
		template_finish(b, "template VM did not become ready in time", -1);
		return;
	case TEMPLATE_WARMING:
		template_finish(b, "the template's hello world did not finish in time", -1);
		return;
	case TEMPLATE_SAVING:
		template_finish(b, "saving the template did not finish in time", -1);
		return;
	default:
		return; /* KEYED and LOADING arm no timeout; DONE and FAILED deleted it */
	}
}

static void saved_cb(struct vmm *vmm, const char *error, void *arg)
{
	struct template_build *b = arg;
	char ram[4700];
	char digest[65];
	int ram_fd = -1, r;

	close(b->state_fd);
	b->state_fd = -1;
	if (error) {
		template_fail(b, "saving the template: %s", error);
		return;
	}
	/* The RAM file is complete: the guest is stopped, and its writes went
	 * through a shared mapping of this file. */
	vmm_free(b->vmm);
	b->vmm = NULL;
	snprintf(ram, sizeof(ram), "%s/ram", b->tmpdir);
	r = snapshot_load_ram(ram, &ram_fd, NULL, digest);
	if (r < 0) {
		template_fail(b, "loading template RAM: %s", strerror(-r));
		return;
	}
	json_auto_t *meta = json_deep_copy(b->meta);
	json_t *files = files_describe(b->tmpdir, digest);
	if (!meta || !files || json_object_set_new(meta, "files", files) < 0 ||
	    snapshot_meta_write(b->tmpdir, meta) < 0) {
		close(ram_fd);
		template_fail(b, "could not write the template to the cache");
		return;
	}
	if (rename(b->tmpdir, b->dir) < 0) {
		int e = errno;
		/* Another runnerd sharing the cache finished the same template
		 * first: use its files (RAM and device state must come from one
		 * VM), and drop ours. */
		close(ram_fd);
		rm_rf(b->tmpdir);
		snprintf(ram, sizeof(ram), "%s/ram", b->dir);
		if ((e != ENOTEMPTY && e != EEXIST) || snapshot_load_ram(ram, &ram_fd, NULL, digest) < 0) {
			template_fail(b, "could not write the template to the cache");
			return;
		}
	}
	template_finish(b, NULL, ram_fd);
}

static void ready_cb(struct vmm *vmm, void *arg)
{
	struct template_build *b = arg;
	uint32_t ms = b->spec.warm_timeout_ms, compile_ms = b->spec.compile_timeout_ms;
	struct job_file file;
	struct job_request req;
	struct rd_limits lim;

	if (b->state != TEMPLATE_BOOTING)
		return;
	template_set_state(b, TEMPLATE_WARMING);
	/* The hello world runs with the language's own limits, as a user's
	 * program would; the deadline now covers it instead of the boot. */
	jobspec_program(b->spec.lang->hello, ms, compile_ms ? compile_ms : ms, &file, &req, &lim);
	if (b->spec.memory_kb)
		req.memory_kb = b->spec.memory_kb;
	uint64_t deadline = (uint64_t)ms + (compile_ms ? compile_ms : ms) + b->spec.boot_timeout_ms;
	struct timeval tv = {(time_t)(deadline / 1000), (suseconds_t)(deadline % 1000) * 1000};
	evtimer_add(b->timer, &tv);
	/* The warm-up's entropy never reaches a user: every clone's job reseeds. */
	if (jobspec_send(vmm, &req, b->spec.lang, &lim) < 0)
		template_finish(b, "could not send the warm-up job", -1);
}

static void result_cb(struct vmm *vmm, const struct rd_result *res, void *arg)
{
	struct template_build *b = arg;
	const struct language *lang = b->spec.lang;
	char path[4700];

	if (b->state != TEMPLATE_WARMING)
		return;
	if (!res->run.present || res->run.exit_code != 0 || res->run.out_len != strlen(lang->hello_output) ||
	    memcmp(res->run.out, lang->hello_output, res->run.out_len) != 0) {
		const struct rd_step_result *s = res->run.present ? &res->run : &res->compile;
		template_fail(b, "hello world check failed (exit %d, signal %d): %.*s%.*s", s->exit_code,
			      s->signal, (int)(s->out_len > 200 ? 200 : s->out_len), (const char *)s->out,
			      (int)(s->err_len > 300 ? 300 : s->err_len), (const char *)s->err);
		return;
	}
	snprintf(path, sizeof(path), "%s/state", b->tmpdir);
	b->state_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (b->state_fd < 0 || vmm_save(vmm, b->state_fd, saved_cb, b) < 0) {
		template_finish(b, "could not save the template state", -1);
		return;
	}
	template_set_state(b, TEMPLATE_SAVING);
}

static void failed_cb(struct vmm *vmm, const char *why, void *arg)
{
	struct template_build *b = arg;
	if (template_final(b))
		return;
	template_fail(b, "template VM failed: %s", why);
}

static const struct vmm_callbacks template_vmm_cbs = {
    .ready = ready_cb,
    .result = result_cb,
    .failed = failed_cb,
};

static int image_id(const char *image, char out[65])
{
	char path[4200];
	struct stat img, id;

	/* The image builder writes IMAGE.id with the image's sha256; trust it
	 * only if it is newer than the image, else hash the image ourselves. */
	snprintf(path, sizeof(path), "%s.id", image);
	if (stat(image, &img) < 0)
		return -errno;
	if (stat(path, &id) == 0 && id.st_mtime >= img.st_mtime) {
		FILE *f = fopen(path, "re");
		if (f) {
			int ok = fscanf(f, "%64s", out) == 1 && strspn(out, "0123456789abcdef") == 64;
			fclose(f);
			if (ok)
				return 0;
		}
	}
	return sha256_file_hex(image, out);
}

static int compute_key(struct template_build *b)
{
	const struct language *l = b->spec.lang;
	char kernel[65], image[65], digest_hex[65];
	int r;

	r = sha256_file_hex(b->spec.vmm->kernel, kernel);
	if (r < 0)
		return r;
	r = image_id(b->spec.vmm->image, image);
	if (r < 0)
		return r;
	char *machine = vmm_machine_description(b->spec.vmm);
	if (!machine)
		return -ENOMEM;
	/* Everything of the definition that shapes the VM or the hello world;
	 * setup and boot shape the image, whose hash is in the key already. */
	b->meta = json_pack("{s:i,s:s,s:s,s:s,s:s,s:s,s:i,s:s,s:s?,s:s?,s:s,s:s,s:s}", "format", 3,
			    "language", l->name, "qemu_version", b->spec.qemu_version, "kernel_sha256",
			    kernel, "image_sha256", image, "machine", machine, "agent_protocol", RD_VERSION,
			    "file", l->file, "file_from", l->file_from, "compile", l->compile.line, "run",
			    l->run.line, "hello", l->hello, "hello_output", l->hello_output);
	free(machine);
	if (!b->meta)
		return -ENOMEM;
	char *canon = json_dumps(b->meta, JSON_COMPACT | JSON_SORT_KEYS);
	if (!canon)
		return -ENOMEM;
	sha256_hex(canon, strlen(canon), digest_hex);
	free(canon);
	memcpy(b->key, digest_hex, 16);
	b->key[16] = 0;
	return 0;
}

/* A cached template is loaded only if its meta.json records exactly our
 * inputs, and its files are the ones recorded there (checked on load). */
static bool cached_inputs_match(struct template_build *b, json_t **ret_files)
{
	json_t *meta = NULL;

	if (snapshot_meta_read(b->dir, &meta) < 0)
		return false;
	json_t *files = json_incref(json_object_get(meta, "files"));
	json_object_del(meta, "files");
	bool ok = json_is_object(files) && json_equal(meta, b->meta);
	json_decref(meta);
	if (!ok) {
		json_decref(files);
		return false;
	}
	*ret_files = files;
	return true;
}

static int template_start_build(struct template_build *b);

static void load_cached_cb(evutil_socket_t fd, short what, void *arg)
{
	struct template_build *b = arg;
	json_t *recorded = NULL;
	char ram[4700];
	char digest[65];
	int ram_fd = -1;

	snprintf(ram, sizeof(ram), "%s/ram", b->dir);
	if (cached_inputs_match(b, &recorded) && snapshot_load_ram(ram, &ram_fd, NULL, digest) >= 0) {
		json_auto_t *actual = files_describe(b->dir, digest);
		bool ok = actual && json_equal(actual, recorded);
		json_decref(recorded);
		if (ok) {
			template_finish(b, NULL, ram_fd);
			return;
		}
		close(ram_fd);
	} else
		json_decref(recorded);
	/* Damaged: never load it, make a new one. */
	rm_rf(b->dir);
	int r = template_start_build(b);
	if (r < 0)
		template_fail(b, "rebuilding a damaged template: %s", strerror(-r));
}

static int template_start_build(struct template_build *b)
{
	char ram[4700];
	int r;

	rm_rf(b->tmpdir);
	if (mkdir(b->tmpdir, 0700) < 0)
		return -errno;
	snprintf(ram, sizeof(ram), "%s/ram", b->tmpdir);
	event_assign(b->timer, b->base, -1, 0, timeout_cb, b);
	r = vmm_boot(b->base, b->spec.vmm, ram, &template_vmm_cbs, b, &b->vmm);
	if (r < 0)
		return r;
	template_set_state(b, TEMPLATE_BOOTING);
	struct timeval tv = {b->spec.boot_timeout_ms / 1000, (b->spec.boot_timeout_ms % 1000) * 1000};
	evtimer_add(b->timer, &tv);
	return 0;
}

int template_prepare(struct event_base *base, const struct template_spec *spec, template_done_cb cb,
		     void *userdata, struct template_build **ret)
{
	struct template_build *b = malloc(sizeof(*b));
	char snapdir[4200], name[300];
	int r;

	if (!b)
		return -ENOMEM;
	*b = (struct template_build){.state = TEMPLATE_KEYED,
				     .base = base,
				     .spec = *spec,
				     .cb = cb,
				     .userdata = userdata,
				     .state_fd = -1};
	b->timer = evtimer_new(base, timeout_cb, b);
	if (!b->timer) {
		free(b);
		return -ENOMEM;
	}
	r = compute_key(b);
	if (r < 0)
		goto fail;
	snprintf(snapdir, sizeof(snapdir), "%s/snapshots", spec->cache_dir);
	if (mkdir(spec->cache_dir, 0700) < 0 && errno != EEXIST) {
		r = -errno;
		goto fail;
	}
	if (mkdir(snapdir, 0700) < 0 && errno != EEXIST) {
		r = -errno;
		goto fail;
	}
	snprintf(name, sizeof(name), "%s-%s", spec->lang->name, b->key);
	snprintf(b->dir, sizeof(b->dir), "%s/%s", snapdir, name);
	/* One build directory per builder: runnerds sharing a cache may build
	 * the same template at once (the first rename wins, saved_cb()). */
	snprintf(b->tmpdir, sizeof(b->tmpdir), "%s/%s.tmp.%d", snapdir, name, (int)getpid());
	snprintf(b->state_path, sizeof(b->state_path), "%s/state", b->dir);
	remove_stale(snapdir, spec->lang->name, name);

	json_t *files = NULL;
	if (!spec->force_rebuild && cached_inputs_match(b, &files)) {
		/* Verified and loaded from the loop, so the owner's callback never
		 * runs inside template_prepare(). */
		json_decref(files);
		template_set_state(b, TEMPLATE_LOADING);
		struct timeval now = {0, 0};
		event_assign(b->timer, base, -1, 0, load_cached_cb, b);
		evtimer_add(b->timer, &now);
		*ret = b;
		return 0;
	}
	rm_rf(b->dir);
	r = template_start_build(b);
	if (r < 0)
		goto fail;
	*ret = b;
	return 0;
fail:
	template_build_free(b);
	return r;
}

void template_build_free(struct template_build *b)
{
	if (!b)
		return;
	vmm_free(b->vmm);
	if (b->state_fd >= 0)
		close(b->state_fd);
	if (b->timer)
		event_free(b->timer);
	if (!template_final(b) && b->tmpdir[0])
		rm_rf(b->tmpdir);
	json_decref(b->meta);
	free(b->error);
	free(b);
}
