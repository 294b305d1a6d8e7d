/* test-pool.c: pool/pool.c with its real neighbours (set.c, template.c,
 * vm-state.c, jobspec.c, language.c, snapshot.c) on a real libevent loop;
 * only the VMM is fake (fake-vmm.h), so the test decides when each clone
 * is restored, answers cont and stop, acknowledges and finishes jobs, or
 * dies. Covered: the template built through the fake (hello world, save)
 * and then loaded from the cache, and its failures; a clone's moves through
 * restoring, warming, ready, leased, running and discarded; refills up to
 * `want`, the cap on concurrent restores and the set's global cap, idle
 * shrinking and eviction; FIFO order of waiting requests, the queue limit
 * and cancels; the queue deadline, the restore timeout and the host
 * deadlines of a leased and a running VM; and counting restore failures
 * (back-off, fast -ENODEV, the rebuild of a template that never restored,
 * a success resetting the count).
 *
 * Deadlines run on real time. The pool's own timeouts are its struct
 * pool_timeouts: fixed numbers times a slowdown (10 s per restore, a 2 s
 * margin on the run deadline); runnerd clamps slowdown to 1..100, but
 * pool_timeouts_init() takes what it is given, and the deadline tests give
 * it 0.05 so they take well under a second.
 * They check that nothing fires early, and allow three times the asked
 * delay before calling a timer late, for loaded machines.
 * Templates go to a temporary directory under $TMPDIR, removed at the end. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "check.h"
#include "fake-vmm.h"
#include "pool.h"
#include "set.h"

static char tmp_dir[4096], kernel_path[4200], image_path[4200];
static struct language *lang, *lang2;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t now_ms(void)
{
	return now_ns() / 1000000u;
}

/* ---- the loop ---- */

/* Runs what is ready now (deferred refills, kicks, zero timers). */
static void pump(struct event_base *base)
{
	for (int i = 0; i < 20; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
}

/* Lets real time pass on the loop. */
static void run_ms(struct event_base *base, unsigned ms)
{
	struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

/* Runs the loop until cond holds, for at most max_ms. */
#define RUN_UNTIL(base, cond, max_ms)                                                                        \
	do {                                                                                                 \
		uint64_t end_ = now_ms() + (max_ms);                                                         \
		while (!(cond) && now_ms() < end_)                                                           \
			run_ms(base, 5);                                                                     \
	} while (0)

/* ---- requests and their outcomes ---- */

struct outcome {
	int calls;
	enum job_status status;
	char message[160];
	char vm_id[32];
	char request_id[40];
	int exit_code;
	char out[64];
	struct job_timings t;
};

static void on_done(struct pool_job *job, const struct job_request *req, const struct job_result *res,
		    void *userdata)
{
	struct outcome *o = userdata;

	o->calls++;
	o->status = res->status;
	snprintf(o->message, sizeof(o->message), "%s", res->message ? res->message : "");
	snprintf(o->vm_id, sizeof(o->vm_id), "%s", res->vm_id);
	snprintf(o->request_id, sizeof(o->request_id), "%s", req->request_id);
	o->exit_code = res->run.exit_code;
	snprintf(o->out, sizeof(o->out), "%.*s", (int)res->run.out_len,
		 res->run.out ? (char *)res->run.out : "");
	o->t = res->t;
}

static bool outcome_is(const struct outcome *o, enum job_status status, const char *message)
{
	if (o->calls == 1 && o->status == status && strstr(o->message, message))
		return true;
	printf("# %s: %d call(s), %s \"%s\"; expected %s \"%s\"\n", o->request_id, o->calls,
	       job_status_to_string(o->status), o->message, job_status_to_string(status), message);
	return false;
}

/* A request whose program, stdin and id are all `tag`, so the job a VM
 * receives says which request it is. */
/* The caller uid the next requests come from (SO_PEERCRED in runnerd). */
static uid_t caller;

static int submit_to(struct pool *pool, const char *tag, uint32_t timeout_ms, struct outcome *o,
		     struct pool_job **ret)
{
	struct job_request req = {
	    .language = strdup("fake"),
	    .files = calloc(1, sizeof(struct job_file)),
	    .n_files = 1,
	    .stdin_data = (uint8_t *)strdup(tag),
	    .stdin_len = strlen(tag),
	    .timeout_ms = timeout_ms,
	    .cpu_ms = timeout_ms,
	    .memory_kb = 64u << 10,
	    .output_bytes = 1024,
	    .caller_uid = caller,
	};
	struct pool_job *job = NULL;

	req.files[0].data = (uint8_t *)strdup(tag);
	req.files[0].len = strlen(tag);
	snprintf(req.request_id, sizeof(req.request_id), "%s", tag);
	req.arrival_ns = now_ns();
	*o = (struct outcome){0};
	snprintf(o->request_id, sizeof(o->request_id), "%s", tag);
	int r = pool_submit(pool, &req, on_done, o, &job);
	if (r < 0) {
		CHECK(req.language != NULL); /* refused: still the caller's */
		job_request_free(&req);
	} else {
		CHECK(req.language == NULL); /* taken */
		if (ret)
			*ret = job;
	}
	return r;
}

/* ---- the fixture: one pool in its own set on its own loop ---- */

struct fx {
	struct event_base *base;
	struct pool_set *set;
	struct pool *pool;
	struct pool_config cfg;
	struct pool_set_config set_cfg;
	char cache[4300];
};

/* Defaults: no clone kept when idle, no warm-up, timeouts far away; each
 * test changes what it is about before fx_start(). `cache` names the cache
 * directory: tests sharing one load the template the first one built. */
static void fx_init(struct fx *f, const char *cache)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->cache, sizeof(f->cache), "%s/%s", tmp_dir, cache);
	f->cfg = (struct pool_config){
	    .lang = lang,
	    .vmm = {.qemu = "qemu-fake",
		    .kernel = kernel_path,
		    .image = image_path,
		    .accel = "tcg",
		    .memory_mb = 64,
		    .vcpus = 1},
	    .cache_dir = f->cache,
	    .qemu_version = "fake 1.0",
	    .max = 4, /* min 0: demand-driven, as runnerd's default */
	    .idle_ms = 600000,
	    .max_restoring = 2,
	    .queue_max = 8,
	    .warm_clones = false,
	    .limits = {.pids = 64, .fsize_kb = 1024, .tmpfs_kb = 1024},
	};
	pool_timeouts_init(&f->cfg.timeouts, 1);
	f->set_cfg = (struct pool_set_config){.max_vms = 32, .max_builds = 1};
}

static void fx_start(struct fx *f)
{
	f->base = event_base_new();
	CHECK(f->base != NULL);
	CHECK(pool_set_new(f->base, &f->set_cfg, &f->set) == 0);
	f->cfg.set = f->set;
	CHECK(pool_new(f->base, &f->cfg, &f->pool) == 0);
}

static void fx_stop(struct fx *f)
{
	pool_set_close(f->set);
	pool_free(f->pool);
	CHECK(vmm_count() == 0, "pool_free() lets go of every VMM");
	pool_set_free(f->set);
	event_base_free(f->base);
	fake_vmm_reset();
}

static int submit(struct fx *f, const char *tag, uint32_t timeout_ms, struct outcome *o,
		  struct pool_job **ret)
{
	return submit_to(f->pool, tag, timeout_ms, o, ret);
}

static long long stat_of(struct pool *pool, const char *key)
{
	json_t *j = pool_stats_json(pool);
	json_t *v = json_object_get(j, key);
	long long n = json_is_integer(v) ? json_integer_value(v) : -1;
	json_decref(j);
	return n;
}

static long long set_stat(struct pool_set *set, const char *key)
{
	json_t *j = pool_set_stats_json(set);
	long long n = json_integer_value(json_object_get(j, key));
	json_decref(j);
	return n;
}

/* The pool's counters of /health, with a diagnostic when they differ. */
static bool counts_are(struct pool *pool, int ready, int restoring, int busy, int queued)
{
	long long r = stat_of(pool, "ready"), s = stat_of(pool, "restoring"), b = stat_of(pool, "busy"),
		  q = stat_of(pool, "queued");
	if (r == ready && s == restoring && b == busy && q == queued)
		return true;
	printf("# ready %lld restoring %lld busy %lld queued %lld; expected %d %d %d %d\n", r, s, b, q, ready,
	       restoring, busy, queued);
	return false;
}

/* The n-th clone (restored VMM) made since the fixture started. */
static struct vmm *clone_nth(unsigned n)
{
	for (unsigned i = 0; i < fake_vmm_made(); i++) {
		struct vmm *v = fake_vmm_nth(i);
		if (!v->booted && n-- == 0)
			return v;
	}
	return NULL;
}

static unsigned clones_made(void)
{
	unsigned n = 0;
	for (unsigned i = 0; i < fake_vmm_made(); i++)
		n += !fake_vmm_nth(i)->booted;
	return n;
}

/* The clone whose current job came from request `tag`. */
static struct vmm *clone_with_job(const char *tag)
{
	for (unsigned i = 0; i < fake_vmm_made(); i++) {
		struct vmm *v = fake_vmm_nth(i);
		if (!v->booted && !v->freed && v->jobs > 0 && strcmp(v->job.stdin_data, tag) == 0)
			return v;
	}
	return NULL;
}

/* A template VM still booting, if any. */
static struct vmm *booting_vm(void)
{
	for (unsigned i = 0; i < fake_vmm_made(); i++) {
		struct vmm *v = fake_vmm_nth(i);
		if (v->booted && !v->freed)
			return v;
	}
	return NULL;
}

/* Plays the template VM's part: it boots, runs the hello world it is sent
 * with the expected output, and saves. */
static void drive_template_vm(struct vmm *boot, const struct language *l)
{
	fake_vmm_ready(boot);
	CHECK(boot->jobs == 1 && strcmp(boot->job.data0, l->hello) == 0 &&
	      strcmp(boot->job.file0, l->file) == 0);
	fake_vmm_result(boot, 0, l->hello_output);
	CHECK(boot->n_ops == 1 && boot->ops[0].op == FAKE_SAVE);
	CHECK(fake_vmm_reply(boot, NULL) == FAKE_SAVE);
	CHECK(boot->freed);
}

/* Brings the pool to serving, building its template through the fake if
 * it is not cached. Returns whether a template VM was booted. */
static bool fx_serve(struct fx *f)
{
	struct vmm *boot = booting_vm();

	if (boot)
		drive_template_vm(boot, f->cfg.lang);
	RUN_UNTIL(f->base, pool_get_status(f->pool) == POOL_SERVING, 2000);
	CHECK(pool_get_status(f->pool) == POOL_SERVING);
	pump(f->base);
	return boot != NULL;
}

/* Answers cont, acknowledges, and finishes the job with exit code 0. */
static void finish_job(struct vmm *v)
{
	CHECK(fake_vmm_reply(v, NULL) == FAKE_RESUME);
	fake_vmm_ack(v);
	fake_vmm_result(v, 0, "done");
}

static bool is_sealed(int fd)
{
	int seals = fcntl(fd, F_GET_SEALS);
	return seals >= 0 && (seals & F_SEAL_WRITE) && (seals & F_SEAL_SEAL);
}

/* ---- the template ---- */

static void test_template_built(struct fx *f)
{
	struct outcome a;

	fx_start(f);
	struct vmm *boot = fake_vmm_nth(0);
	CHECK(pool_get_status(f->pool) == POOL_STARTING && boot && boot->booted,
	      "no cached template: one is built at once");
	CHECK(boot && strncmp(boot->ram_path, f->cache, strlen(f->cache)) == 0,
	      "the template's RAM file is in the cache");
	CHECK(submit(f, "A", 5000, &a, NULL) == 0 && counts_are(f->pool, 0, 0, 0, 1),
	      "a request waits while the template is built");
	CHECK(fx_serve(f) && pool_template_ms(f->pool) >= 0);
	struct vmm *v = clone_nth(0);
	/* want is 1 (the demand) plus one for the waiting request */
	CHECK(v && counts_are(f->pool, 0, 2, 0, 1), "serving: clones are restored for the waiting request");
	CHECK(v && is_sealed(v->ram_fd) && is_sealed(v->state_fd), "clones restore from sealed memfds");
	if (!v)
		return;
	fake_vmm_ready(v);
	CHECK(v->jobs == 1 && strcmp(v->job.stdin_data, "A") == 0 && counts_are(f->pool, 0, 1, 1, 0),
	      "the waiting request gets the clone");
	finish_job(v);
	CHECK(outcome_is(&a, JOB_OK, "") && strcmp(a.out, "done") == 0 && a.t.queue_us > 0,
	      "its result arrives; queue_ms covers the template build");
}

/* Same inputs, same cache as test_template_built(): loaded, not booted. */
static void test_template_loaded(struct fx *f)
{
	fx_start(f);
	CHECK(pool_get_status(f->pool) == POOL_STARTING);
	CHECK(!fx_serve(f) && fake_vmm_made() == 0, "the cached template is loaded without a VM");
	CHECK(stat_of(f->pool, "size") == 0 && counts_are(f->pool, 0, 0, 0, 0), "min 0: no clone while idle");
}

/* A hello world that prints the wrong thing. */
static void test_template_wrong_hello(struct fx *f)
{
	struct outcome a, b;

	fx_start(f);
	CHECK(submit(f, "A", 5000, &a, NULL) == 0);
	struct vmm *boot = booting_vm();
	CHECK(boot != NULL);
	if (boot) {
		fake_vmm_ready(boot);
		fake_vmm_result(boot, 0, "not the hello output\n");
		CHECK(boot->freed);
	}
	CHECK(pool_get_status(f->pool) == POOL_FAILED, "a wrong hello world fails the pool");
	CHECK(outcome_is(&a, JOB_SANDBOX_ERROR, "fake unavailable: hello world check failed"),
	      "the waiting request gets the reason");
	CHECK(pool_get_error(f->pool) && strstr(pool_get_error(f->pool), "hello world check failed"));
	CHECK(submit(f, "B", 5000, &b, NULL) == -ENODEV && b.calls == 0, "later requests: -ENODEV at once");
}

/* The template VM dies while booting. */
static void test_template_vm_dies(struct fx *f)
{
	struct outcome a;

	fx_start(f);
	CHECK(submit(f, "A", 5000, &a, NULL) == 0);
	struct vmm *boot = booting_vm();
	if (boot)
		fake_vmm_fail(boot, "QEMU exited");
	CHECK(pool_get_status(f->pool) == POOL_FAILED &&
		  strcmp(pool_get_error(f->pool) ?: "", "template VM failed: QEMU exited") == 0,
	      "a template VM that dies fails the pool");
	CHECK(outcome_is(&a, JOB_SANDBOX_ERROR, "template VM failed: QEMU exited"));
}

/* No VMM can be started at all. */
static void test_template_cannot_start(struct fx *f)
{
	struct outcome a;

	fake_vmm_boot_error = -ENOEXEC;
	fx_start(f);
	CHECK(pool_get_status(f->pool) == POOL_FAILED && fake_vmm_made() == 0 &&
		  strcmp(pool_get_error(f->pool) ?: "", "could not start preparing the template") == 0,
	      "a template VM that cannot start fails the pool");
	CHECK(submit(f, "A", 5000, &a, NULL) == -ENODEV);
}

/* ---- a clone's life ---- */

static void test_warm_clone_lifecycle(struct fx *f)
{
	struct outcome a;

	f->cfg.min = f->cfg.max = 1;
	f->cfg.warm_clones = true;
	fx_start(f);
	fx_serve(f);
	struct vmm *v = clone_nth(0);
	CHECK(v && clones_made() == 1 && counts_are(f->pool, 0, 1, 0, 0), "min 1: one clone restoring");
	if (!v)
		return;
	/* restoring -> warming: resumed for the warm-up job. */
	fake_vmm_ready(v);
	CHECK(v->n_ops == 1 && v->ops[0].op == FAKE_RESUME && v->jobs == 0 && counts_are(f->pool, 0, 1, 0, 0),
	      "restored: resumed for warm-up, still counted as restoring");
	CHECK(fake_vmm_reply(v, NULL) == FAKE_RESUME);
	CHECK(v->jobs == 1 && strcmp(v->job.run_argv0, "cat") == 0 && strcmp(v->job.stdin_data, "x") == 0 &&
		  strcmp(v->job.file0, "warm-up") == 0 && v->job.wall_ms == 5000,
	      "warm-up job: cat of one byte, our data only");
	fake_vmm_ack(v);
	fake_vmm_result(v, 0, "x");
	CHECK(v->n_ops == 1 && v->ops[0].op == FAKE_PAUSE && counts_are(f->pool, 0, 1, 0, 0),
	      "warm-up done: paused again");
	/* warming -> ready */
	CHECK(fake_vmm_reply(v, NULL) == FAKE_PAUSE);
	CHECK(counts_are(f->pool, 1, 0, 0, 0) && stat_of(f->pool, "restores") == 1, "paused: ready");
	pump(f->base);
	CHECK(clones_made() == 1, "want 1, one ready: no more restores");

	/* ready -> leased: cont, and the job right behind it. */
	CHECK(submit(f, "A", 5000, &a, NULL) == 0);
	CHECK(counts_are(f->pool, 0, 0, 1, 0) && v->n_ops == 1 && v->ops[0].op == FAKE_RESUME && v->jobs == 2,
	      "leased: cont sent and the job sent without waiting for its reply");
	CHECK(strcmp(v->job.file0, "main.txt") == 0 && strcmp(v->job.data0, "A") == 0 &&
	      strcmp(v->job.run_argv0, "cat") == 0 && v->job.run_argc == 2 && v->job.wall_ms == 5000);
	pump(f->base);
	CHECK(clones_made() == 2 && counts_are(f->pool, 0, 1, 1, 0), "the leased clone is replaced at once");
	/* leased -> running -> discarded */
	CHECK(fake_vmm_reply(v, NULL) == FAKE_RESUME && a.calls == 0);
	fake_vmm_ack(v);
	fake_vmm_result(v, 3, "A out");
	CHECK(outcome_is(&a, JOB_OK, "") && a.exit_code == 3 && strcmp(a.out, "A out") == 0 &&
		  strcmp(a.vm_id, v->id) == 0,
	      "the result reaches the owner; exit 3 is still ok");
	CHECK(a.t.handoff_us <= a.t.total_us && a.t.startup_us >= a.t.queue_us && a.t.setup_us == 250,
	      "timings filled");
	CHECK(v->freed && counts_are(f->pool, 0, 1, 0, 0) && stat_of(f->pool, "jobs") == 1,
	      "a clone that ran a job is discarded, never reused");
}

/* Warm-up trouble counts as a failed restore; a restore that gets through
 * resets the count. */
static void test_warm_failures(struct fx *f)
{
	struct outcome a;

	f->cfg.min = f->cfg.max = 1;
	f->cfg.max_restoring = 1;
	f->cfg.warm_clones = true;
	fx_start(f);
	fx_serve(f);

	struct vmm *v = clone_nth(0);
	fake_vmm_ready(v);
	fake_vmm_reply(v, NULL);
	fake_vmm_result(v, 1, "");
	CHECK(v->freed && stat_of(f->pool, "restore_failures") == 1 &&
		  pool_restore_failures_in_a_row(f->pool) == 1,
	      "a warm-up job that fails discards the clone");
	pump(f->base);
	v = clone_nth(1);
	CHECK(v != NULL, "and another clone is restored");
	if (!v)
		return;
	fake_vmm_ready(v);
	CHECK(fake_vmm_reply(v, "cont failed") == FAKE_RESUME);
	CHECK(v->freed && pool_restore_failures_in_a_row(f->pool) == 2,
	      "cont failing for warm-up: a failure");
	CHECK(pool_get_error(f->pool) == NULL && submit(f, "A", 5000, &a, NULL) == 0,
	      "two failures: requests still queue");
	pump(f->base);
	v = clone_nth(2);
	fake_vmm_ready(v);
	fake_vmm_reply(v, NULL);
	fake_vmm_result(v, 0, "x");
	CHECK(fake_vmm_reply(v, NULL) == FAKE_PAUSE);
	CHECK(pool_restore_failures_in_a_row(f->pool) == 0 && stat_of(f->pool, "restores") == 1 &&
		  stat_of(f->pool, "restore_failures") == 2,
	      "a clone that gets ready resets the count");
	CHECK(clone_with_job("A") == v && counts_are(f->pool, 0, 0, 1, 0), "and takes the waiting request");
}

/* A ready clone that dies, a client that leaves, a VMM that fails under a
 * job, a result before the cont reply. */
static void test_vm_trouble(struct fx *f)
{
	struct outcome a, b, c;
	struct pool_job *job = NULL;

	f->cfg.min = f->cfg.max = 1;
	fx_start(f);
	fx_serve(f);
	struct vmm *v = clone_nth(0);
	fake_vmm_ready(v);
	CHECK(counts_are(f->pool, 1, 0, 0, 0), "no warm-up: restored is ready");
	fake_vmm_fail(v, "killed");
	CHECK(v->freed && stat_of(f->pool, "idle_vm_deaths") == 1 &&
		  stat_of(f->pool, "restore_failures") == 0 && counts_are(f->pool, 0, 0, 0, 0),
	      "an idle clone that dies is counted and dropped");
	pump(f->base);
	v = clone_nth(1);
	CHECK(v != NULL, "and replaced");
	fake_vmm_ready(v);

	CHECK(submit(f, "A", 5000, &a, &job) == 0 && clone_with_job("A") == v);
	pool_cancel(job);
	CHECK(v->freed && counts_are(f->pool, 0, 0, 0, 0), "a client that leaves: its VM is discarded");
	pump(f->base);
	v = clone_nth(2);
	fake_vmm_ready(v);
	CHECK(submit(f, "B", 5000, &b, NULL) == 0 && clone_with_job("B") == v);
	CHECK(fake_vmm_reply(v, NULL) == FAKE_RESUME);
	fake_vmm_fail(v, "QEMU exited");
	CHECK(outcome_is(&b, JOB_SANDBOX_ERROR, "QEMU exited") && v->freed, "a VMM failing under a job");
	pump(f->base);
	v = clone_nth(3);
	fake_vmm_ready(v);
	CHECK(submit(f, "C", 5000, &c, NULL) == 0 && clone_with_job("C") == v);
	fake_vmm_result(v, 0, "early");
	CHECK(outcome_is(&c, JOB_OK, "") && strcmp(c.out, "early") == 0 && v->freed,
	      "a result before the cont reply is taken");
	CHECK(a.calls == 0, "a cancelled request is never called back");
	CHECK(stat_of(f->pool, "sandbox_errors") == 1 && stat_of(f->pool, "jobs") == 2);
}

/* ---- refills and caps ---- */

static void test_refill(struct fx *f)
{
	struct outcome a, b, c;

	f->cfg.min = 2;
	f->cfg.max = 4;
	f->cfg.max_restoring = 2;
	fx_start(f);
	fx_serve(f);
	CHECK(clones_made() == 2 && stat_of(f->pool, "size") == 2 && counts_are(f->pool, 0, 2, 0, 0),
	      "refill up to want (min 2)");
	fake_vmm_ready(clone_nth(0));
	fake_vmm_ready(clone_nth(1));
	pump(f->base);
	CHECK(clones_made() == 2 && counts_are(f->pool, 2, 0, 0, 0), "and no further");

	/* Demand: two leased, one waiting -> want 3, and one more for the
	 * waiting request, but only max_restoring restores at a time. */
	CHECK(submit(f, "A", 5000, &a, NULL) == 0 && submit(f, "B", 5000, &b, NULL) == 0 &&
	      submit(f, "C", 5000, &c, NULL) == 0);
	CHECK(stat_of(f->pool, "size") == 3 && counts_are(f->pool, 0, 0, 2, 1),
	      "want grows to busy + queued");
	pump(f->base);
	CHECK(clones_made() == 4 && counts_are(f->pool, 0, 2, 2, 1),
	      "two restores at a time (max_restoring 2)");
	fake_vmm_ready(clone_nth(2));
	CHECK(clone_with_job("C") == clone_nth(2) && counts_are(f->pool, 0, 1, 3, 0));
	pump(f->base);
	CHECK(clones_made() == 5 && counts_are(f->pool, 0, 2, 3, 0),
	      "a finished restore makes room for the next");
	fake_vmm_ready(clone_nth(3));
	fake_vmm_ready(clone_nth(4));
	pump(f->base);
	CHECK(clones_made() == 6 && counts_are(f->pool, 2, 1, 3, 0), "busy clones do not count towards want");
	fake_vmm_ready(clone_nth(5));
	pump(f->base);
	CHECK(clones_made() == 6 && counts_are(f->pool, 3, 0, 3, 0), "want 3 ready: nothing more");
}

/* The set's global cap: a refill takes a slot per clone, waits when there
 * is none, and is kicked when one is given back. */
static void test_global_cap(struct fx *f)
{
	struct outcome a;

	f->cfg.min = f->cfg.max = 4;
	f->cfg.max_restoring = 4;
	f->set_cfg.max_vms = 3;
	fx_start(f);
	fx_serve(f);
	CHECK(clones_made() == 3 && set_stat(f->set, "vms") == 3 && set_stat(f->set, "cap_waits") == 1,
	      "want 4, cap 3: three clones");
	for (unsigned i = 0; i < 3; i++)
		fake_vmm_ready(clone_nth(i));
	pump(f->base);
	CHECK(clones_made() == 3 && counts_are(f->pool, 3, 0, 0, 0), "no slot, no restore");
	CHECK(submit(f, "A", 5000, &a, NULL) == 0);
	pump(f->base);
	CHECK(clones_made() == 3 && counts_are(f->pool, 2, 0, 1, 0), "a busy clone holds its slot");
	struct vmm *v = clone_with_job("A");
	CHECK(v != NULL);
	if (v)
		finish_job(v);
	CHECK(outcome_is(&a, JOB_OK, "") && set_stat(f->set, "vms") == 2);
	pump(f->base);
	CHECK(clones_made() == 4 && set_stat(f->set, "vms") == 3 && counts_are(f->pool, 2, 1, 0, 0),
	      "a slot given back: the starved pool is kicked and refills");
}

/* Two pools at the cap: a request of one evicts an idle clone of the
 * other; the other's refill towards its want never evicts back. */
static void test_eviction(struct fx *f)
{
	struct pool *y = NULL;
	struct outcome a;

	f->cfg.min = f->cfg.max = 2;
	f->set_cfg.max_vms = 2;
	fx_start(f);
	struct pool_config ycfg = f->cfg;
	ycfg.lang = lang2;
	ycfg.min = 0;
	CHECK(pool_new(f->base, &ycfg, &y) == 0);
	CHECK(pool_get_status(y) == POOL_WAITING, "one build at a time: the second pool waits");
	fx_serve(f);
	struct vmm *boot = booting_vm();
	CHECK(boot != NULL && pool_get_status(y) == POOL_STARTING, "its build starts when the first ends");
	if (boot)
		drive_template_vm(boot, lang2);
	RUN_UNTIL(f->base, pool_get_status(y) == POOL_SERVING, 2000);
	CHECK(pool_get_status(y) == POOL_SERVING);
	fake_vmm_ready(clone_nth(0));
	fake_vmm_ready(clone_nth(1));
	pump(f->base);
	CHECK(counts_are(f->pool, 2, 0, 0, 0) && set_stat(f->set, "vms") == 2);

	CHECK(submit_to(y, "A", 5000, &a, NULL) == 0);
	pump(f->base);
	CHECK(set_stat(f->set, "evictions") == 1 && counts_are(f->pool, 1, 0, 0, 0) &&
		  counts_are(y, 0, 1, 0, 1),
	      "a waiting request evicts an idle clone of the other pool");
	CHECK(clone_nth(0)->freed != clone_nth(1)->freed && clones_made() == 3);
	fake_vmm_ready(clone_nth(2));
	pump(f->base);
	CHECK(clone_with_job("A") == clone_nth(2) && set_stat(f->set, "evictions") == 1 && clones_made() == 3,
	      "the other pool's refill waits for a slot instead of evicting back");
	finish_job(clone_nth(2));
	CHECK(outcome_is(&a, JOB_OK, ""));
	pump(f->base);
	CHECK(clones_made() == 4 && set_stat(f->set, "vms") == 2, "the slot given back is used again");
	pool_set_close(f->set);
	pool_free(y);
}

/* Without requests, want halves every idle period and ready clones above
 * it are discarded, down to min. */
static void test_idle_shrink(struct fx *f)
{
	struct outcome a, b;

	f->cfg.idle_ms = 100;
	fx_start(f);
	fx_serve(f);
	CHECK(submit(f, "A", 5000, &a, NULL) == 0 && submit(f, "B", 5000, &b, NULL) == 0);
	pump(f->base);
	CHECK(stat_of(f->pool, "size") == 2 && clones_made() == 2);
	fake_vmm_ready(clone_nth(0));
	fake_vmm_ready(clone_nth(1));
	finish_job(clone_with_job("A"));
	finish_job(clone_with_job("B"));
	pump(f->base);
	fake_vmm_ready(clone_nth(2));
	fake_vmm_ready(clone_nth(3));
	CHECK(counts_are(f->pool, 2, 0, 0, 0), "two clones ready after two requests");
	RUN_UNTIL(f->base, stat_of(f->pool, "size") == 0 && stat_of(f->pool, "ready") == 0, 3000);
	CHECK(stat_of(f->pool, "size") == 0 && counts_are(f->pool, 0, 0, 0, 0) && clone_nth(2)->freed &&
		  clone_nth(3)->freed && clones_made() == 4,
	      "idle: want shrinks to min 0 and the ready clones are discarded");
}

/* ---- the queue ---- */

/* Two callers: the second one's request does not wait behind everything
 * the first queued before it; each caller's own requests keep their order. */
static void test_fair_callers(struct fx *f)
{
	struct outcome o[4];
	const char *tags[] = {"A1", "A2", "A3", "B1"};

	f->cfg.max = 1;
	f->cfg.queue_max = 8;
	fx_start(f);
	fx_serve(f);
	for (int i = 0; i < 4; i++) {
		caller = i < 3 ? 1000 : 2000;
		CHECK(submit(f, tags[i], 5000, &o[i], NULL) == 0);
	}
	caller = 0;
	const char *order[] = {"A1", "B1", "A2", "A3"};
	for (int i = 0; i < 4; i++) {
		pump(f->base);
		struct vmm *v = clone_nth(i);
		if (!v) {
			CHECK(false, "a clone for the next request");
			return;
		}
		fake_vmm_ready(v);
		char what[64];
		snprintf(what, sizeof(what), "request %d goes to %s", i + 1, order[i]);
		CHECK(clone_with_job(order[i]) == v, what);
		finish_job(v);
	}
	for (int i = 0; i < 4; i++)
		CHECK(outcome_is(&o[i], JOB_OK, ""));
}

static void test_fifo(struct fx *f)
{
	struct outcome o[5];
	struct pool_job *job_b = NULL;
	const char *tags[] = {"A", "B", "C", "D", "E"};

	f->cfg.queue_max = 4;
	fx_start(f);
	fx_serve(f);
	for (int i = 0; i < 4; i++)
		CHECK(submit(f, tags[i], 5000, &o[i], i == 1 ? &job_b : NULL) == 0);
	pump(f->base);
	CHECK(counts_are(f->pool, 0, 2, 0, 4) && stat_of(f->pool, "size") == 4);
	CHECK(submit(f, "E", 5000, &o[4], NULL) == -EAGAIN, "queue full, nothing ready: -EAGAIN");
	pool_cancel(job_b);
	CHECK(counts_are(f->pool, 0, 2, 0, 3), "a cancelled request leaves the queue");
	CHECK(submit(f, "E", 5000, &o[4], NULL) == 0, "and frees its place");

	/* Clones become ready in another order than they were started: the
	 * requests still go out oldest first. */
	fake_vmm_ready(clone_nth(1));
	CHECK(clone_with_job("A") == clone_nth(1), "first ready clone: the oldest request");
	fake_vmm_ready(clone_nth(0));
	CHECK(clone_with_job("C") == clone_nth(0), "next: the next request, the cancelled one skipped");
	pump(f->base);
	CHECK(clones_made() == 4);
	fake_vmm_ready(clone_nth(3));
	fake_vmm_ready(clone_nth(2));
	CHECK(clone_with_job("D") == clone_nth(3) && clone_with_job("E") == clone_nth(2) &&
		  counts_are(f->pool, 0, 0, 4, 0),
	      "then D, then E");
	const char *finish_order[] = {"E", "A", "D", "C"};
	for (int i = 0; i < 4; i++) {
		struct vmm *v = clone_with_job(finish_order[i]);
		if (v)
			finish_job(v);
	}
	CHECK(outcome_is(&o[0], JOB_OK, "") && outcome_is(&o[2], JOB_OK, "") &&
	      outcome_is(&o[3], JOB_OK, "") && outcome_is(&o[4], JOB_OK, ""));
	CHECK(o[1].calls == 0, "the cancelled request is never called back");
}

/* ---- deadlines, on real time ---- */

/* A request that waits too long fails; the restore it started goes on
 * until its own timeout. */
static void test_queue_deadline_and_restore_timeout(struct fx *f)
{
	struct outcome a;

	pool_timeouts_init(&f->cfg.timeouts, 0.05); /* restore timeout: 500 ms */
	f->cfg.timeouts.queue_wait_ms = 150;
	f->cfg.max_restoring = 1;
	fx_start(f);
	fx_serve(f);
	uint64_t t0 = now_ms();
	CHECK(submit(f, "A", 5000, &a, NULL) == 0);
	pump(f->base);
	struct vmm *v = clone_nth(0);
	CHECK(v != NULL && counts_are(f->pool, 0, 1, 0, 1));
	run_ms(f->base, 30);
	CHECK(a.calls == 0, "still waiting before its deadline");
	RUN_UNTIL(f->base, a.calls > 0, 3000);
	uint64_t waited = now_ms() - t0;
	CHECK(outcome_is(&a, JOB_SANDBOX_ERROR, "no VM became available in time") && waited >= 140 &&
		  waited < 450 && counts_are(f->pool, 0, 1, 0, 0),
	      "a request that waits past its deadline fails");
	printf("# queue deadline after %llu ms (150 asked)\n", (unsigned long long)waited);
	if (!v)
		return;
	CHECK(!v->freed, "the restore it started goes on");
	RUN_UNTIL(f->base, v->freed, 3000);
	waited = now_ms() - t0;
	/* libevent arms timers from its cached time, which may be a little older than t0 */
	CHECK(v->freed && waited >= 480 && waited < 1500 && stat_of(f->pool, "restore_failures") == 1 &&
		  pool_restore_failures_in_a_row(f->pool) == 1,
	      "a restore that never completes is timed out and counted");
	printf("# restore timed out after %llu ms (500 asked)\n", (unsigned long long)waited);
	pump(f->base);
	CHECK(clones_made() == 2 && counts_are(f->pool, 0, 1, 0, 0),
	      "want is 1 from the demand: restored again");
	fake_vmm_ready(clone_nth(1));
	CHECK(counts_are(f->pool, 1, 0, 0, 0) && pool_restore_failures_in_a_row(f->pool) == 0);
}

/* The host deadline of a leased VM: the run step's timeout plus 2 s x
 * slowdown (100 ms here). */
static void test_run_deadlines(struct fx *f)
{
	struct outcome a, b;

	pool_timeouts_init(&f->cfg.timeouts, 0.05);
	f->cfg.timeouts.queue_wait_ms = 20; /* over once leased: must not fire then */
	f->cfg.min = f->cfg.max = 2;
	fx_start(f);
	fx_serve(f);
	fake_vmm_ready(clone_nth(0));
	fake_vmm_ready(clone_nth(1));
	uint64_t t0 = now_ms();
	CHECK(submit(f, "A", 50, &a, NULL) == 0 && submit(f, "B", 50, &b, NULL) == 0);
	struct vmm *va = clone_with_job("A"), *vb = clone_with_job("B");
	CHECK(va && vb && va != vb);
	if (!va || !vb)
		return;
	/* A's cont is never answered; B runs and never finishes. */
	CHECK(fake_vmm_reply(vb, NULL) == FAKE_RESUME);
	fake_vmm_ack(vb);
	run_ms(f->base, 40);
	CHECK(a.calls == 0 && b.calls == 0, "no deadline before the run step's timeout");
	RUN_UNTIL(f->base, a.calls > 0 && b.calls > 0, 3000);
	uint64_t waited = now_ms() - t0;
	CHECK(outcome_is(&a, JOB_SANDBOX_ERROR, "the VMM did not resume in time") && va->freed,
	      "a VMM that never resumes: sandbox_error, killed");
	CHECK(outcome_is(&b, JOB_TIMEOUT, "host deadline reached") && vb->freed,
	      "a guest that never answers: timeout, killed");
	CHECK(waited >= 140 && waited < 450 && stat_of(f->pool, "timeouts") == 1 &&
	      stat_of(f->pool, "sandbox_errors") == 1);
	printf("# host deadlines after %llu ms (150 asked)\n", (unsigned long long)waited);
}

/* ---- restore failures ---- */

static void fail_clone(struct fx *f, unsigned n, const char *why)
{
	struct vmm *v = clone_nth(n);
	CHECK(v != NULL && !v->freed);
	if (v && !v->freed)
		fake_vmm_fail(v, why);
	pump(f->base);
}

static void test_failure_counting(struct fx *f)
{
	struct outcome a, b, c;

	f->cfg.min = f->cfg.max = 1;
	f->cfg.max_restoring = 1;
	fx_start(f);
	fx_serve(f);
	fail_clone(f, 0, "boom 1");
	fail_clone(f, 1, "boom 2");
	CHECK(pool_restore_failures_in_a_row(f->pool) == 2 && clones_made() == 3,
	      "failed restores are retried at once while under three");
	fake_vmm_ready(clone_nth(2));
	CHECK(pool_restore_failures_in_a_row(f->pool) == 0 && stat_of(f->pool, "restores") == 1,
	      "a restore that succeeds resets the count");
	CHECK(submit(f, "A", 5000, &a, NULL) == 0 && clone_with_job("A") == clone_nth(2));
	pump(f->base);
	fail_clone(f, 3, "boom 3");
	fail_clone(f, 4, "boom 4");
	CHECK(pool_get_error(f->pool) == NULL, "two in a row: not degraded");
	fail_clone(f, 5, "boom 5");
	CHECK(pool_restore_failures_in_a_row(f->pool) == 3 && stat_of(f->pool, "restore_failures") == 5);
	CHECK(clones_made() == 6, "three in a row: the next restore waits for its back-off");
	CHECK(pool_get_status(f->pool) == POOL_SERVING &&
		  strcmp(pool_get_error(f->pool) ?: "", "boom 5") == 0,
	      "degraded, the last failure reported; a template that restored before is kept");
	CHECK(submit(f, "B", 5000, &b, NULL) == -ENODEV && b.calls == 0,
	      "nothing ready and three failures: -ENODEV at once");
	uint64_t t0 = now_ms();
	RUN_UNTIL(f->base, clones_made() == 7, 3000);
	uint64_t waited = now_ms() - t0;
	CHECK(clones_made() == 7 && waited >= 300 && waited < 1200,
	      "restored again after the back-off (400 ms after three)");
	printf("# back-off of %llu ms (400 asked)\n", (unsigned long long)waited);
	fake_vmm_ready(clone_nth(6));
	CHECK(pool_restore_failures_in_a_row(f->pool) == 0 && pool_get_error(f->pool) == NULL &&
		  submit(f, "C", 5000, &c, NULL) == 0 && clone_with_job("C") == clone_nth(6),
	      "a clone ready again: requests served again");
}

/* vmm_restore() itself fails (no QEMU could be started): counted like a
 * restore that failed later, reported, and retried after the back-off;
 * no VMM callback exists to schedule that retry. */
static void test_restore_start_failure(struct fx *f)
{
	struct outcome a, b;

	f->cfg.max_restoring = 1;
	fx_start(f);
	fx_serve(f);
	fake_vmm_restore_error = -EMFILE;
	CHECK(submit(f, "A", 5000, &a, NULL) == 0);
	pump(f->base);
	CHECK(clones_made() == 0 && pool_restore_failures_in_a_row(f->pool) == 1 &&
		  stat_of(f->pool, "restore_failures") == 1,
	      "a VMM that cannot be started is a failed restore");
	for (int n = 2; n <= 3; n++) {
		fake_vmm_restore_error = -EMFILE;
		RUN_UNTIL(f->base, stat_of(f->pool, "restore_failures") == n, 2000);
	}
	CHECK(clones_made() == 0 && pool_restore_failures_in_a_row(f->pool) == 3,
	      "retried without a request to prompt it");
	CHECK(strcmp(pool_get_error(f->pool) ?: "", "could not start a VMM") == 0 &&
		  submit(f, "B", 5000, &b, NULL) == -ENODEV,
	      "three in a row: degraded with the reason, -ENODEV");
	RUN_UNTIL(f->base, clones_made() > 0, 2000);
	CHECK(clones_made() == 1 && counts_are(f->pool, 0, 1, 0, 1), "restored once the VMM starts again");
	if (clone_nth(0)) {
		fake_vmm_ready(clone_nth(0));
		CHECK(clone_with_job("A") == clone_nth(0) && a.calls == 0, "the waiting request gets it");
	}
}

/* A template no clone ever restored from is rebuilt, once. */
static void test_rebuild_never_restored(struct fx *f)
{
	struct outcome a, b, c;
	struct pool_job *job_b = NULL;

	f->cfg.min = f->cfg.max = 1;
	f->cfg.max_restoring = 1;
	fx_start(f);
	CHECK(fx_serve(f));
	CHECK(submit(f, "A", 5000, &a, NULL) == 0);
	fail_clone(f, 0, "bad 1");
	fail_clone(f, 1, "bad 2");
	CHECK(a.calls == 0 && pool_get_status(f->pool) == POOL_SERVING);
	fail_clone(f, 2, "bad 3");
	CHECK(pool_get_status(f->pool) == POOL_STARTING && booting_vm() != NULL,
	      "three failures, none ever restored: the template is rebuilt");
	CHECK(outcome_is(&a, JOB_SANDBOX_ERROR, "the language's snapshot template is being rebuilt"),
	      "waiting requests fail with the reason");
	CHECK(pool_restore_failures_in_a_row(f->pool) == 0 && submit(f, "B", 5000, &b, &job_b) == 0 &&
		  counts_are(f->pool, 0, 0, 0, 1),
	      "requests queue during the rebuild");
	pool_cancel(job_b);
	CHECK(fx_serve(f), "the rebuild boots a template VM (the cache is ignored)");
	fail_clone(f, 3, "bad 4");
	fail_clone(f, 4, "bad 5");
	fail_clone(f, 5, "bad 6");
	CHECK(pool_get_status(f->pool) == POOL_SERVING && fake_vmm_made() - clones_made() == 2,
	      "never a second rebuild");
	CHECK(submit(f, "C", 5000, &c, NULL) == -ENODEV);
}

/* ---- set-up ---- */

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static struct language *parse_language(const char *text)
{
	struct language *l = NULL;
	char *err = NULL;

	if (language_parse(text, strlen(text), &l, &err) < 0) {
		printf("# %s\n", err ? err : "?");
		free(err);
		return NULL;
	}
	return l;
}

static bool write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "we");
	bool ok = fp && fputs(text, fp) >= 0;
	return fp ? fclose(fp) == 0 && ok : false;
}

/* pool_reload() (a new image, or a snapshot create with another guest
 * size): idle clones go at once, a clone still restoring goes when it is
 * ready, a busy one finishes its run; the template is made again for the
 * new size, requests wait for it, and clones restore from it. */
static void test_reload(struct fx *f)
{
	struct outcome a, b;

	f->cfg.min = 1;
	f->cfg.max = 2;
	fx_start(f);
	fx_serve(f);
	fake_vmm_ready(clone_nth(0));
	pump(f->base);
	CHECK(counts_are(f->pool, 1, 0, 0, 0));
	CHECK(submit(f, "A", 5000, &a, NULL) == 0);
	struct vmm *busy = clone_with_job("A");
	pump(f->base);
	struct vmm *restoring = clone_nth(1); /* the refill after the lease */
	unsigned before = fake_vmm_made();
	CHECK(busy && restoring && !restoring->freed, "one clone busy, one restoring");
	if (!busy || !restoring)
		return;
	CHECK(pool_reload(f->pool, 256, 1) == 0 && pool_memory_mb(f->pool) == 256 &&
		  pool_get_status(f->pool) != POOL_SERVING,
	      "reload: the pool is making its template again");
	pump(f->base);
	struct vmm *boot = booting_vm();
	CHECK(boot && boot->serial >= before && boot->memory_mb == 256,
	      "the new template boots a 256 MB guest (the key changed with the size)");
	CHECK(!busy->freed, "the busy clone keeps its run");
	fake_vmm_ready(restoring);
	pump(f->base);
	CHECK(restoring->freed, "a clone of the old template is discarded once restored");
	CHECK(submit(f, "B", 5000, &b, NULL) == 0 && stat_of(f->pool, "queued") == 1,
	      "a request waits for the new template");
	finish_job(busy);
	CHECK(outcome_is(&a, JOB_OK, "") && strcmp(a.out, "done") == 0, "the run in flight finished");
	fx_serve(f);
	struct vmm *v = NULL;
	for (unsigned i = 0; i < fake_vmm_made(); i++)
		if (!fake_vmm_nth(i)->booted && !fake_vmm_nth(i)->freed && fake_vmm_nth(i)->memory_mb == 256)
			v = fake_vmm_nth(i);
	CHECK(v != NULL, "clones restore from the new template, with its size");
	if (!v)
		return;
	fake_vmm_ready(v);
	pump(f->base);
	struct vmm *vb = clone_with_job("B");
	CHECK(vb && vb->memory_mb == 256, "the waiting request runs in a new clone");
	if (vb)
		finish_job(vb);
	CHECK(outcome_is(&b, JOB_OK, ""));
}

int main(void)
{
	/* Each test gets a fixture fx_init() made with its cache directory,
	 * changes what it is about and starts it; fx_stop() follows however
	 * the test ended, so that every test ends with its check that no VMM
	 * is left. */
	static const struct {
		void (*run)(struct fx *f);
		const char *cache;
	} tests[] = {
	    {test_template_built, "cache"},
	    {test_template_loaded, "cache"},
	    {test_template_wrong_hello, "cache-hello"},
	    {test_template_vm_dies, "cache-dies"},
	    {test_template_cannot_start, "cache-noboot"},
	    {test_warm_clone_lifecycle, "cache"},
	    {test_warm_failures, "cache"},
	    {test_vm_trouble, "cache"},
	    {test_refill, "cache"},
	    {test_global_cap, "cache"},
	    {test_eviction, "cache"},
	    {test_idle_shrink, "cache"},
	    {test_fifo, "cache"},
	    {test_fair_callers, "cache"},
	    {test_queue_deadline_and_restore_timeout, "cache"},
	    {test_run_deadlines, "cache"},
	    {test_failure_counting, "cache"},
	    {test_restore_start_failure, "cache"},
	    {test_rebuild_never_restored, "cache-rebuild"},
	    {test_reload, "cache-reload"},
	};
	const char *tmp = getenv("TMPDIR");

	snprintf(tmp_dir, sizeof(tmp_dir), "%s/test-pool.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(tmp_dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(kernel_path, sizeof(kernel_path), "%s/vmlinux", tmp_dir);
	snprintf(image_path, sizeof(image_path), "%s/fake.erofs", tmp_dir);
	lang = parse_language("name = fake\nfile = main.txt\nrun = cat {file}\npackages = coreutils\n"
			      "hello = hello\nhello_output = hello\\n\n");
	lang2 = parse_language("name = fake2\nfile = main.txt\nrun = cat {file}\npackages = coreutils\n"
			       "hello = hello 2\nhello_output = hello 2\\n\n");
	CHECK(lang && lang2 && write_file(kernel_path, "not a kernel\n") &&
	      write_file(image_path, "not an image\n"));
	if (!lang || !lang2)
		return check_done();

	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		struct fx f;

		fx_init(&f, tests[i].cache);
		tests[i].run(&f);
		fx_stop(&f);
	}

	language_free(lang);
	language_free(lang2);
	nftw(tmp_dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return check_done();
}
