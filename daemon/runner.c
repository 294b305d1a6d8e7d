/* runner.c: languages -> pools, and the service_ops the HTTP layer calls.
 * An execution handle (struct service_exec) wraps a pool job so the HTTP
 * layer never sees pool internals, and so a cancel after shutdown started
 * is harmless. */
#include "runner.h"
#include "runner-internal.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "config.h"

#include "error-util.h"
#include "guest.h"
#include "host.h"
#include "log.h"
#include "jobspec.h"
#include "pool.h"
#include "set.h"

struct service_exec {
	struct runner *runner;
	const char *language; /* borrowed: the served language's own name, for metrics */
	struct pool_job *job;
	service_done_cb done;
	void *userdata;
};

static void pool_notify_cb(struct pool *pool, int level, const char *msg, void *userdata)
{
	log_msg((enum log_level)level, "LANGUAGE=%s %s", pool_language(pool)->name, msg);
}

static bool wanted(const char *only, const char *name)
{
	if (!only)
		return true;
	size_t n = strlen(name);
	for (const char *p = only; *p;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len == n && strncmp(p, name, n) == 0)
			return true;
		p += len + (end ? 1 : 0);
	}
	return false;
}

/* The version the image builder recorded for this language: the first line
 * of IMAGES/IMAGE.versions that reads "NAME<TAB>version". */
static char *image_version(const char *images_dir, const struct language *l)
{
	char path[4200], line[512];
	size_t n = strlen(l->name);
	char *v = NULL;

	snprintf(path, sizeof(path), "%s/%s.versions", images_dir, l->image);
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	while (!v && fgets(line, sizeof(line), f))
		if (strncmp(line, l->name, n) == 0 && line[n] == '\t') {
			line[strcspn(line, "\n")] = 0;
			v = strdup(line + n + 1);
		}
	fclose(f);
	return v;
}

/* The guest a language's VMs get: its own size, else the daemon's. */
static unsigned guest_memory_mb(const struct runner_config *cfg, const struct language *l)
{
	return l->memory_mb ? l->memory_mb : cfg->memory_mb;
}

static unsigned guest_vcpus(const struct language *l)
{
	return l->vcpus ? l->vcpus : 1;
}

DEFINE_CLEANUP(DIR *, closedir)

/* Every language in the languages directory that is wanted and has an
 * image, with the version its image records. */
static int runner_load_languages(struct runner *r, char **ret_error)
{
	const struct runner_config *cfg = &r->cfg;
	_cleanup_(closedirp) DIR *d = opendir(cfg->languages_dir);
	struct dirent *de;
	int rc;

	if (!d) {
		rc = -errno;
		return err_setf(ret_error, rc, "languages directory %s: %s", cfg->languages_dir,
				strerror(-rc));
	}
	while ((de = readdir(d)) && r->n < RUNNER_MAX_LANGUAGES) {
		size_t len = strlen(de->d_name);
		char path[4200], *err = NULL;
		struct language *lang;
		struct stat st;

		if (len < 6 || strcmp(de->d_name + len - 5, ".lang") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", cfg->languages_dir, de->d_name);
		rc = language_load(path, &lang, &err);
		if (rc < 0) {
			log_error("%s: %s", path, err ? err : strerror(-rc));
			free(err);
			continue;
		}
		if (!wanted(cfg->only, lang->name)) {
			language_free(lang);
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s.erofs", cfg->images_dir, lang->image);
		if (stat(path, &st) < 0) {
			log_warn(
			    "LANGUAGE=%s no image at %s (build it with runner-image build %s); not served",
			    lang->name, path, lang->name);
			language_free(lang);
			continue;
		}
		lang->version = image_version(cfg->images_dir, lang);
		r->langs[r->n] = lang;
		r->images[r->n] = strdup(path);
		r->n++;
	}
	if (r->n == 0)
		return err_setf(ret_error, -ENOENT, "no language has both a definition and an image");
	return 0;
}

/* The id the image builder recorded next to images[i], or "". */
void runner_read_image_id(const char *image, char id[static 65])
{
	char path[4300];

	id[0] = 0;
	snprintf(path, sizeof(path), "%s.id", image);
	FILE *f = fopen(path, "re");
	if (!f)
		return;
	if (!fgets(id, 65, f))
		id[0] = 0;
	fclose(f);
}

/* The pool of language i (langs[i] and images[i] set). */
static int runner_start_pool(struct runner *r, unsigned i, char **ret_error)
{
	const struct runner_config *cfg = &r->cfg;
	const struct language *l = r->langs[i];
	uint32_t compile_ms = pool_timeouts_compile_ms(&r->timeouts, l);
	int rc;

	if (cfg->console_dir && asprintf(&r->consoles[i], "%s/%s.console", cfg->console_dir, l->name) < 0)
		r->consoles[i] = NULL;
	struct pool_config pc = {
	    .lang = r->langs[i],
	    .vmm = {.qemu = cfg->qemu,
		    .kernel = cfg->kernel,
		    .image = r->images[i],
		    .accel = cfg->accel,
		    .memory_mb = guest_memory_mb(cfg, l),
		    .vcpus = guest_vcpus(l),
		    .tb_size_mb = cfg->tb_size_mb,
		    .tsc_khz = cfg->tsc_khz,
		    .console_path = r->consoles[i],
		    .jail = cfg->jail},
	    .cache_dir = cfg->cache_dir,
	    .qemu_version = r->qemu_version,
	    .set = r->set,
	    .min = cfg->pool_min,
	    .max = cfg->pool_max,
	    .idle_ms = cfg->idle_s * 1000u,
	    .max_restoring = 2,
	    .queue_max = cfg->queue_max,
	    .timeouts = r->timeouts,
	    .warm_clones = cfg->warm_clones,
	    .notify = pool_notify_cb,
	};
	jobspec_limits_default(&pc.limits, compile_ms);
	runner_read_image_id(r->images[i], r->image_ids[i]);
	rc = pool_new(r->base, &pc, &r->pools[i]);
	if (rc < 0)
		return err_setf(ret_error, rc, "pool for %s: %s", l->name, strerror(-rc));
	log_info("LANGUAGE=%s pool of %u..%u clones, %u MB guests (image %s)", l->name, cfg->pool_min,
		 cfg->pool_max, pc.vmm.memory_mb, r->images[i]);
	return 0;
}

int runner_add_language(struct runner *r, struct language *lang, char **ret_error)
{
	char path[4200];
	unsigned i = r->n;
	int rc;

	if (i == RUNNER_MAX_LANGUAGES)
		return err_setf(ret_error, -ENOSPC, "too many languages");
	snprintf(path, sizeof(path), "%s/%s.erofs", r->cfg.images_dir, lang->image);
	r->images[i] = strdup(path);
	if (!r->images[i])
		return -ENOMEM;
	lang->version = image_version(r->cfg.images_dir, lang);
	r->langs[i] = lang;
	rc = runner_start_pool(r, i, ret_error);
	if (rc < 0) {
		r->langs[i] = NULL;
		free(r->images[i]);
		r->images[i] = NULL;
		return rc;
	}
	r->n++;
	return 0;
}

int runner_index(const struct runner *r, const char *name)
{
	for (unsigned i = 0; i < r->n; i++)
		if (language_matches(r->langs[i], name))
			return (int)i;
	return -1;
}

int runner_new(struct event_base *base, const struct runner_config *cfg, struct runner **ret,
	       char **ret_error)
{
	_cleanup_(runner_freep) struct runner *r = calloc(1, sizeof(*r));
	int rc;

	if (!r)
		return -ENOMEM;
	r->cfg = *cfg;
	r->base = base;
	pool_timeouts_init(&r->timeouts, cfg->slowdown);
	r->qemu_version = vmm_qemu_version(cfg->qemu);
	if (!r->qemu_version)
		return err_setf(ret_error, -ENOENT, "cannot run the QEMU binary to learn its version");
	rc = runner_load_languages(r, ret_error);
	if (rc < 0)
		return rc;
	rc = manage_new(r, &r->manage);
	if (rc < 0)
		return rc;
	rc = runner_metrics_new(r);
	if (rc < 0)
		return rc;
	struct pool_set_config sc = {.max_vms = cfg->max_vms, .max_builds = cfg->max_builds};
	rc = pool_set_new(base, &sc, &r->set);
	if (rc < 0)
		return rc;
	for (unsigned i = 0; i < r->n; i++) {
		rc = runner_start_pool(r, i, ret_error);
		if (rc < 0)
			return rc;
	}
	*ret = TAKE_PTR(r);
	return 0;
}

static struct pool *runner_find(struct runner *r, const char *name)
{
	for (unsigned i = 0; i < r->n; i++)
		if (language_matches(r->langs[i], name))
			return r->pools[i];
	return NULL;
}

static json_t *runner_health(void *ctx)
{
	struct runner *r = ctx;
	json_t *pools = json_object();
	const char *status = "ok";

	for (unsigned i = 0; i < r->n; i++) {
		json_t *s = pool_stats_json(r->pools[i]);
		if (pool_get_error(r->pools[i]))
			json_object_set_new(s, "error", json_string(pool_get_error(r->pools[i])));
		json_object_set_new(pools, r->langs[i]->name, s);
		if (pool_get_status(r->pools[i]) == POOL_FAILED ||
		    pool_restore_failures_in_a_row(r->pools[i]) >= r->timeouts.restore_failures_max)
			status = "degraded";
		else if (pool_get_status(r->pools[i]) != POOL_SERVING && strcmp(status, "ok") == 0)
			status = "starting";
	}
	json_t *h = json_pack("{s:s,s:s,s:b,s:o,s:i,s:i}", "status", status, "accel", r->cfg.accel,
			      "isolation", strcmp(r->cfg.accel, "kvm") == 0, "pools", pools, "vmm_processes",
			      (int)vmm_count(), "in_flight", (int)r->in_flight);
	json_object_set_new(h, "vms", pool_set_stats_json(r->set));
	if (r->cfg.accel_warning)
		json_object_set_new(h, "warning", json_string(r->cfg.accel_warning));
	json_object_set_new(h, "version", json_string(RUNNERD_VERSION));
	return h;
}

json_t *runner_language_json(const struct runner *r, unsigned i)
{
	const struct language *l = r->langs[i];
	const char *dot = strrchr(l->file, '.');
	json_t *aliases = json_array();

	for (char *const *a = l->aliases; *a; a++)
		json_array_append_new(aliases, json_string(*a));
	json_t *o =
	    json_pack("{s:s,s:o,s:s,s:s,s:s?,s:b,s:s,s:i,s:i}", "name", l->name, "aliases", aliases, "file",
		      l->file, "extension", dot ? dot : "", "version", l->version, "compiled",
		      language_compiled(l), "status", pool_status_to_string(pool_get_status(r->pools[i])),
		      "memory_mb", pool_memory_mb(r->pools[i]), "vcpus", pool_vcpus(r->pools[i]));
	if (o && pool_template_ms(r->pools[i]) > 0)
		json_object_set_new(o, "template_ms", json_real(pool_template_ms(r->pools[i])));
	return o;
}

static json_t *runner_languages(void *ctx)
{
	struct runner *r = ctx;
	json_t *arr = json_array();

	for (unsigned i = 0; i < r->n; i++)
		json_array_append_new(arr, runner_language_json(r, i));
	return json_pack("{s:o,s:i}", "languages", arr, "count", (int)r->n);
}

static void runner_job_done_cb(struct pool_job *job, const struct job_request *req,
			       const struct job_result *res, void *userdata)
{
	struct service_exec *e = userdata;
	e->runner->in_flight--;
	runner_metrics_done(e->runner, e->language, res);
	{ /* one line per run, its fields for journalctl */
		size_t n = strnlen(res->vm_id, sizeof(res->vm_id));
		log_info("LANGUAGE=%s REQUEST_ID=%s VM_ID=%.*s CALLER_UID=%u finished: %s, exit %d, program "
			 "%u ms, "
			 "startup %.1f ms, total %.1f ms",
			 e->language, req->request_id, (int)n, n ? res->vm_id : "-",
			 (unsigned)req->caller_uid, job_status_to_string(res->status), res->run.exit_code,
			 (unsigned)res->run.wall_ms, res->t.startup_us / 1000.0, res->t.total_us / 1000.0);
	}
	e->done(req, res, e->userdata);
	free(e);
}

static int runner_execute(void *ctx, struct job_request *req, service_done_cb done, void *userdata,
			  struct service_exec **ret_exec, char **ret_error)
{
	struct runner *r = ctx;
	struct pool *pool = runner_find(r, req->language);

	if (!pool)
		return err_setf(ret_error, -ENOENT, "language not found: %s", req->language);
	const struct language *l = pool_language(pool);
	/* The API layer cannot know the program's file name (it may come from
	 * the code: Java's public class); extra files must not take it. */
	char main_file[LANGUAGE_FILE_MAX_NAME];
	language_main_file(l, req->files[0].data, req->files[0].len, main_file);
	for (size_t i = 1; i < req->n_files; i++)
		if (strcmp(req->files[i].name, main_file) == 0)
			return err_setf(ret_error, -EINVAL,
					"files[%zu].name: '%s' is the program's own file name", i - 1,
					main_file);
	free(req->files[0].name);
	req->files[0].name = strdup(main_file);
	if (!req->files[0].name)
		return -ENOMEM;
	if (pool_get_status(pool) == POOL_FAILED) {
		const char *why = pool_get_error(pool);
		runner_metrics_rejected(r, l->name);
		return err_setf(ret_error, -ENODEV, "%s unavailable: %s", l->name, why ? why : "failed");
	}
	/* The language's defaults stand in for the API's; no step may ask for
	 * more memory than the guest has (less what the kernel and agent use). */
	if (!req->timeout_set && l->run_timeout_s) {
		req->timeout_ms = l->run_timeout_s * 1000u;
		if (!req->cpu_set)
			req->cpu_ms = req->timeout_ms;
	}
	if (!req->memory_set && l->job_memory_mb)
		req->memory_kb = l->job_memory_mb * 1024u;
	unsigned guest_mb = pool_memory_mb(pool);
	if (req->memory_kb > (guest_mb - 32) * 1024u)
		req->memory_kb = (guest_mb - 32) * 1024u;
	struct service_exec *e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->runner = r;
	e->language = l->name;
	e->done = done;
	e->userdata = userdata;
	int rc = pool_submit(pool, req, runner_job_done_cb, e, &e->job);
	if (rc < 0) {
		free(e);
		runner_metrics_rejected(r, l->name);
		if (rc == -EAGAIN)
			return err_setf(ret_error, rc, "too many executions waiting; retry later");
		if (rc == -ENODEV)
			return err_setf(ret_error, rc, "%s unavailable: VM restores are failing (%s)",
					pool_language(pool)->name,
					pool_get_error(pool) ? pool_get_error(pool) : "unknown");
		return rc;
	}
	r->in_flight++;
	*ret_exec = e;
	return 0;
}

static void runner_cancel(void *ctx, struct service_exec *e)
{
	struct runner *r = ctx;
	r->in_flight--;
	runner_metrics_cancelled(r, e->language);
	pool_cancel(e->job);
	free(e);
}

unsigned runner_reload(struct runner *r, const struct runner_config *nc)
{
	unsigned reloaded = 0;

	r->cfg.pool_min = nc->pool_min;
	r->cfg.pool_max = nc->pool_max;
	r->cfg.queue_max = nc->queue_max;
	r->cfg.max_vms = nc->max_vms;
	r->cfg.max_builds = nc->max_builds;
	pool_set_configure(r->set,
			   &(struct pool_set_config){.max_vms = nc->max_vms, .max_builds = nc->max_builds});
	for (unsigned i = 0; i < r->n; i++) {
		char id[65];
		pool_set_bounds(r->pools[i], nc->pool_min, nc->pool_max, nc->queue_max);
		/* A template is stale when its image changed (rebuilt, or
		 * downloaded, behind our back); a failed one gets another try. */
		runner_read_image_id(r->images[i], id);
		if (strcmp(id, r->image_ids[i]) != 0 || pool_get_status(r->pools[i]) == POOL_FAILED) {
			log_info("LANGUAGE=%s reload: %s", r->langs[i]->name,
				 strcmp(id, r->image_ids[i]) != 0 ? "its image changed: template rebuilt"
								  : "its template failed: trying again");
			memcpy(r->image_ids[i], id, sizeof(id));
			free(r->langs[i]->version);
			r->langs[i]->version = image_version(r->cfg.images_dir, r->langs[i]);
			pool_reload(r->pools[i], pool_memory_mb(r->pools[i]), pool_vcpus(r->pools[i]));
			reloaded++;
		}
	}
	return reloaded;
}

void runner_service_ops(struct runner *r, struct service_ops *ops)
{
	*ops = (struct service_ops){
	    .health = runner_health,
	    .languages = runner_languages,
	    .execute = runner_execute,
	    .cancel = runner_cancel,
	    .call = manage_call,
	    .forget = manage_forget,
	    .metrics = runner_metrics,
	    .ctx = r,
	};
}

void runner_free(struct runner *r)
{
	if (!r)
		return;
	manage_free(r->manage);
	runner_metrics_free(r->metrics);
	pool_set_close(r->set);
	for (unsigned i = 0; i < r->n; i++) {
		pool_free(r->pools[i]);
		language_free(r->langs[i]);
		free(r->images[i]);
		free(r->consoles[i]);
	}
	pool_set_free(r->set);
	free(r->qemu_version);
	free(r);
}
