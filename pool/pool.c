/* pool.c: per-language pools. See pool.h for the contract.
 *
 * Invariants: every VM is on pool->vms until it is discarded; a VM in
 * LEASED or RUNNING has exactly one job and that job points back at it; a
 * job is either queued, attached to a VM, or finished (freed). Refills are
 * deferred to their own event so that no VMM callback starts another VMM
 * from inside itself. */
#include "pool.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <unistd.h>

#include "event-util.h"
#include "jobspec.h"
#include "set.h"
#include "template.h"
#include "time-util.h"
#include "vm-state.h"

struct vm {
	TAILQ_ENTRY(vm) link;	    /* on pool->vms */
	TAILQ_ENTRY(vm) ready_link; /* on pool->ready while READY */
	struct pool *pool;
	struct vmm *vmm;
	enum vm_state state;
	struct pool_job *job;
	struct event *timer; /* restore timeout, then the run deadline */
	uint64_t started_ns;
	unsigned generation; /* the pool's template generation it was restored from */
};

struct pool_job {
	TAILQ_ENTRY(pool_job) link; /* on pool->queue while queued */
	struct pool *pool;
	struct vm *vm;
	struct job_request req;
	struct job_result res;
	pool_done_cb cb;
	void *userdata;
	struct event *queue_timer; /* a queued job fails when no VM comes in time */
	uint64_t t_leased, t_resumed, t_sent, t_ack;
};

struct pool {
	struct event_base *base;
	struct pool_config cfg;
	enum pool_status status;
	char *error;
	struct template_build *tb;
	int ram_fd;
	int state_fd;		/* sealed memfd: the template's device state */
	TAILQ_HEAD(, vm) vms;	/* newest first */
	TAILQ_HEAD(, vm) ready; /* the READY ones, the last to become ready first */
	unsigned n_restoring, n_ready, n_busy;
	TAILQ_HEAD(, pool_job) queue; /* arrival order; served fairly across callers */
	unsigned q_len;
	/* When each recent caller was last given a VM (serve_serial at the
	 * time): the caller served longest ago goes first (pool_next_job()). */
	struct caller_turn {
		uid_t uid;
		uint64_t served;
	} turns[16];
	unsigned n_turns;
	uint64_t serve_serial;
	struct event *refill_ev;
	struct event *backoff_ev;
	struct event *idle_ev; /* every idle_ms: shrink to recent demand */
	/* Demand: `want` clones are kept ready (min <= want <= max). It grows
	 * to the busy + queued count seen at a request and, every idle_ms,
	 * becomes the peak of that period, or halves after a period without
	 * requests. */
	unsigned want, peak, submits;
	uint64_t last_used_ns;
	uint64_t template_start_ns;
	double template_ms;
	bool holds_build_slot;
	unsigned consecutive_failures;
	/* counters */
	uint64_t restores, restore_failures, vm_deaths, jobs, sandbox_errors, timeouts;
	uint64_t last_restore_us;
	char *last_failure;    /* why the last restore failed */
	bool template_rebuilt; /* once per pool: see pool_rebuild_template() */
	unsigned generation;   /* bumped by pool_reload(): older clones are discarded */
};

static void pool_rebuild_template(struct pool *p);
static void pool_fail_queued(struct pool *p, const char *why);
static void queue_unlink(struct pool *p, struct pool_job *job);

static void pool_notify(struct pool *p, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void pool_notify(struct pool *p, int level, const char *fmt, ...)
{
	va_list ap;
	char msg[512];

	if (!p->cfg.notify)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	p->cfg.notify(p, level, msg, p->cfg.userdata);
}

static unsigned *state_counter(struct pool *p, enum vm_state s)
{
	switch (s) {
	case VM_RESTORING:
	case VM_WARMING:
		return &p->n_restoring;
	case VM_READY:
		return &p->n_ready;
	case VM_LEASED:
	case VM_RUNNING:
		return &p->n_busy;
	case VM_DISCARDED:
		return NULL;
	}
	return NULL;
}

static void vm_set_state(struct vm *vm, enum vm_state to)
{
	struct pool *p = vm->pool;
	unsigned *from_c = state_counter(p, vm->state), *to_c = state_counter(p, to);

	assert(vm_state_transition_valid(vm->state, to));
	if (from_c)
		(*from_c)--;
	if (to_c)
		(*to_c)++;
	if (vm->state == VM_READY)
		TAILQ_REMOVE(&p->ready, vm, ready_link);
	if (to == VM_READY)
		TAILQ_INSERT_HEAD(&p->ready, vm, ready_link);
	pool_notify(p, 7, "%s %s: %s -> %s", p->cfg.lang->name, vmm_id(vm->vmm),
		    vm_state_to_string(vm->state), vm_state_to_string(to));
	vm->state = to;
}

static void pool_schedule_refill(struct pool *p)
{
	if (p->status == POOL_SERVING)
		event_active(p->refill_ev, EV_TIMEOUT, 0);
}

/* Kills the VMM, frees the VM (already off the list) and gives its slot
 * back to the set. */
static void vm_destroy(struct vm *vm)
{
	struct pool_set *set = vm->pool->cfg.set;

	vmm_free(vm->vmm);
	event_free(vm->timer);
	free(vm);
	pool_set_put_vm(set);
}

static void vm_discard(struct vm *vm)
{
	struct pool *p = vm->pool;

	vm_set_state(vm, VM_DISCARDED);
	TAILQ_REMOVE(&p->vms, vm, link);
	vm_destroy(vm);
	pool_schedule_refill(p);
}

/* A ready clone (the last to become ready: its pages are the warmest),
 * or NULL. vm_set_state() keeps the list. */
static struct vm *pool_ready_vm(struct pool *p)
{
	return TAILQ_FIRST(&p->ready);
}

static void job_free(struct pool_job *job)
{
	safe_event_free(job->queue_timer);
	job_request_free(&job->req);
	job_result_free(&job->res);
	free(job);
}

/* Detaches the job from its VM (which the caller discards), fills the
 * timings and hands the result to the owner. */
static void job_complete(struct pool_job *job)
{
	struct job_result *res = &job->res;
	struct job_timings *t = &res->t;
	uint64_t now = now_ns(), arrival = job->req.arrival_ns;

	if (job->vm) {
		snprintf(res->vm_id, sizeof(res->vm_id), "%s", vmm_id(job->vm->vmm));
		job->vm->job = NULL;
		job->vm = NULL;
	}
	if (job->t_leased)
		t->queue_us = (job->t_leased - arrival) / 1000;
	if (job->t_resumed)
		t->resume_us = (job->t_resumed - job->t_leased) / 1000;
	if (job->t_ack) {
		t->handoff_us = (job->t_ack - job->t_sent) / 1000;
		t->startup_us = (job->t_ack - arrival) / 1000 + t->setup_us;
	}
	t->total_us = (now - arrival) / 1000;
	job->pool->jobs++;
	if (res->status == JOB_SANDBOX_ERROR)
		job->pool->sandbox_errors++;
	if (res->status == JOB_TIMEOUT)
		job->pool->timeouts++;
	job->cb(job, &job->req, res, job->userdata);
	job_free(job);
}

static void job_fail(struct pool_job *job, enum job_status status, const char *why)
{
	job->res.status = status;
	free(job->res.message);
	job->res.message = why ? strdup(why) : NULL;
	job_complete(job);
}

static void vm_restore_failed(struct vm *vm, const char *why)
{
	struct pool *p = vm->pool;

	p->restore_failures++;
	p->consecutive_failures++;
	free(p->last_failure);
	p->last_failure = strdup(why);
	pool_notify(p, 4, "%s: restore of %s failed: %s", p->cfg.lang->name, vmm_id(vm->vmm), why);
	vm_discard(vm);
	if (p->consecutive_failures >= p->cfg.timeouts.restore_failures_max && p->restores == 0 &&
	    !p->template_rebuilt && p->n_restoring == 0)
		pool_rebuild_template(p);
}

static void vm_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct vm *vm = arg;

	if (vm->state == VM_RESTORING || vm->state == VM_WARMING) {
		vm_restore_failed(vm, "timed out");
		return;
	} else if (vm->job && vm->state == VM_LEASED) {
		job_fail(vm->job, JOB_SANDBOX_ERROR, "the VMM did not resume in time; VM killed");
	} else if (vm->job) {
		/* The host deadline: the agent's own wall limit should have fired
		 * first; if it did not, the guest is not cooperating. */
		job_fail(vm->job, JOB_TIMEOUT, "host deadline reached; VM killed");
	}
	vm_discard(vm);
}

static void vm_arm_timer(struct vm *vm, uint64_t ms)
{
	struct timeval tv = timeval_from_ms(ms);
	evtimer_add(vm->timer, &tv);
}

static void pool_lease(struct pool *p, struct vm *vm, struct pool_job *job);

static struct caller_turn *caller_turn(struct pool *p, uid_t uid)
{
	for (unsigned i = 0; i < p->n_turns; i++)
		if (p->turns[i].uid == uid)
			return &p->turns[i];
	return NULL;
}

/* The waiting request that goes next: the oldest of the caller who was
 * given a VM longest ago (a caller never seen, or forgotten, first). One
 * caller's requests keep their arrival order; a caller who floods the
 * queue does not make another wait behind all of it. */
static struct pool_job *pool_next_job(struct pool *p)
{
	struct pool_job *job, *best = NULL;
	uint64_t best_served = UINT64_MAX;

	TAILQ_FOREACH(job, &p->queue, link) {
		struct caller_turn *t = caller_turn(p, job->req.caller_uid);
		uint64_t served = t ? t->served : 0;
		if (served < best_served) {
			best = job;
			best_served = served;
		}
	}
	return best;
}

static void caller_served_now(struct pool *p, uid_t uid)
{
	struct caller_turn *t = caller_turn(p, uid);

	if (!t && p->n_turns < sizeof(p->turns) / sizeof(p->turns[0]))
		t = &p->turns[p->n_turns++];
	else if (!t) /* full: forget the caller served longest ago */
		for (unsigned i = 0; i < p->n_turns; i++)
			if (!t || p->turns[i].served < t->served)
				t = &p->turns[i];
	*t = (struct caller_turn){.uid = uid, .served = ++p->serve_serial};
}

static void pool_dispatch(struct pool *p)
{
	struct pool_job *job;
	struct vm *vm;

	/* A ready clone first: it is O(1), choosing the job is a walk of the queue. */
	while ((vm = pool_ready_vm(p)) && (job = pool_next_job(p))) {
		queue_unlink(p, job);
		caller_served_now(p, job->req.caller_uid);
		pool_lease(p, vm, job);
	}
}

static void vm_make_ready(struct vm *vm)
{
	struct pool *p = vm->pool;

	evtimer_del(vm->timer);
	p->consecutive_failures = 0;
	p->restores++;
	p->last_restore_us = (now_ns() - vm->started_ns) / 1000;
	vm_set_state(vm, VM_READY);
	if (vm->generation != p->generation) {
		vm_discard(vm); /* restored from a template replaced since */
		return;
	}
	pool_dispatch(p);
	/* A restore slot is free again: the pool may still be short. */
	pool_schedule_refill(p);
}

static void vm_warm_paused_cb(struct vmm *vmm, const char *error, void *arg)
{
	if (error)
		vm_restore_failed(arg, error);
	else
		vm_make_ready(arg);
}

/* The clone runs the warm-up job (jobspec_warm_up()) so that the agent's
 * job path is translated before a user waits on it. */
static void vm_warm_resumed_cb(struct vmm *vmm, const char *error, void *arg)
{
	struct vm *vm = arg;

	if (error) {
		vm_restore_failed(vm, error);
		return;
	}
	if (jobspec_send_warm_up(vmm, vm->pool->cfg.timeouts.warm_up_wall_ms) < 0)
		vm_restore_failed(vm, "could not send the warm-up job");
}

static void vm_ready_cb(struct vmm *vmm, void *arg)
{
	struct vm *vm = arg;

	if (!vm->pool->cfg.warm_clones) {
		vm_make_ready(vm);
		return;
	}
	vm_set_state(vm, VM_WARMING);
	if (vmm_resume(vmm, vm_warm_resumed_cb, vm) < 0)
		vm_restore_failed(vm, "could not resume for warm-up");
}

static void vm_ack_cb(struct vmm *vmm, void *arg)
{
	struct vm *vm = arg;
	if (vm->job && !vm->job->t_ack)
		vm->job->t_ack = now_ns();
}

static void vm_result_cb(struct vmm *vmm, const struct rd_result *rr, void *arg)
{
	struct vm *vm = arg;
	struct pool_job *job = vm->job;

	if (vm->state == VM_WARMING) {
		if (!rr->run.present || rr->run.exit_code != 0)
			vm_restore_failed(vm, "warm-up job failed");
		else if (vmm_pause(vmm, vm_warm_paused_cb, vm) < 0)
			vm_restore_failed(vm, "could not pause after warm-up");
		return;
	}
	if (!job || (vm->state != VM_RUNNING && vm->state != VM_LEASED)) {
		vm_discard(vm);
		return;
	}
	int r = jobspec_result(rr, job->req.output_bytes, &job->res);
	if (r == -EMSGSIZE)
		job_fail(job, JOB_SANDBOX_ERROR, "agent sent more output than the limit");
	else if (r < 0)
		job_fail(job, JOB_SANDBOX_ERROR, "agent result was incomplete");
	else {
		job->res.t.setup_us = rr->run.present ? rr->run.setup_us : rr->compile.setup_us;
		job_complete(job);
	}
	vm_discard(vm);
}

static void vm_failed_cb(struct vmm *vmm, const char *why, void *arg)
{
	struct vm *vm = arg;
	struct pool *p = vm->pool;

	if (vm->state == VM_RESTORING || vm->state == VM_WARMING) {
		vm_restore_failed(vm, why);
		return;
	} else if (vm->job) {
		job_fail(vm->job, JOB_SANDBOX_ERROR, why);
	} else {
		p->vm_deaths++;
		pool_notify(p, 4, "%s: idle %s died: %s", p->cfg.lang->name, vmm_id(vmm), why);
	}
	vm_discard(vm);
}

static const struct vmm_callbacks pool_vmm_cbs = {
    .ready = vm_ready_cb,
    .ack = vm_ack_cb,
    .result = vm_result_cb,
    .failed = vm_failed_cb,
};

static void vm_resumed_cb(struct vmm *vmm, const char *error, void *arg)
{
	struct vm *vm = arg;
	struct pool_job *job = vm->job;

	if (!job) { /* cancelled while cont was in flight */
		vm_discard(vm);
		return;
	}
	if (error) {
		job_fail(job, JOB_SANDBOX_ERROR, error);
		vm_discard(vm);
		return;
	}
	job->t_resumed = now_ns();
	if (vm->state == VM_LEASED)
		vm_set_state(vm, VM_RUNNING);
}

/* Sends the job right behind `cont`, without waiting for its reply: the
 * frame waits in the agent socket until the guest runs, so the QMP round
 * trip is off the request path. */
static int vm_send_job(struct vm *vm, struct pool_job *job)
{
	struct pool *p = vm->pool;

	job->t_sent = now_ns();
	return jobspec_send(vm->vmm, &job->req, p->cfg.lang, &p->cfg.limits);
}

static void pool_lease(struct pool *p, struct vm *vm, struct pool_job *job)
{
	vm_set_state(vm, VM_LEASED);
	vm->job = job;
	job->vm = vm;
	job->t_leased = now_ns();
	evtimer_del(job->queue_timer);
	/* The agent enforces the limits; this deadline, armed from the lease
	 * on, is the backstop for a VMM or guest that stops cooperating. */
	uint64_t ms =
	    job->req.timeout_ms + (language_compiled(p->cfg.lang) ? p->cfg.limits.compile_wall_ms : 0);
	vm_arm_timer(vm, ms + p->cfg.timeouts.deadline_slack_ms);
	if (vmm_resume(vm->vmm, vm_resumed_cb, vm) < 0) {
		job_fail(job, JOB_SANDBOX_ERROR, "could not resume the VM");
		vm_discard(vm);
		return;
	}
	if (vm_send_job(vm, job) < 0) {
		job_fail(job, JOB_SANDBOX_ERROR, "could not send the job to the agent");
		vm_discard(vm);
	}
}

static int pool_start_restore(struct pool *p)
{
	struct vm *vm = calloc(1, sizeof(*vm));
	if (!vm)
		return -ENOMEM;
	vm->pool = p;
	vm->generation = p->generation;
	vm->state = VM_RESTORING;
	vm->started_ns = now_ns();
	vm->timer = evtimer_new(p->base, vm_deadline_cb, vm);
	int r = vm->timer
		    ? vmm_restore(p->base, &p->cfg.vmm, p->ram_fd, p->state_fd, &pool_vmm_cbs, vm, &vm->vmm)
		    : -ENOMEM;
	if (r < 0) {
		p->restore_failures++;
		p->consecutive_failures++;
		free(p->last_failure);
		p->last_failure = strdup("could not start a VMM");
		pool_notify(p, 3, "%s: could not start a VMM: %s", p->cfg.lang->name, strerror(-r));
		safe_event_free(vm->timer);
		free(vm);
		return r;
	}
	p->n_restoring++;
	TAILQ_INSERT_HEAD(&p->vms, vm, link);
	vm_arm_timer(vm, p->cfg.timeouts.restore_ms);
	return 0;
}

/* The next refill after 50 ms x 2^n, n = failures in a row (at most 8). */
static void pool_arm_backoff(struct pool *p)
{
	unsigned shift = p->consecutive_failures > 8 ? 8 : p->consecutive_failures;
	struct timeval tv = timeval_from_ms(50u << shift);

	if (!evtimer_pending(p->backoff_ev, NULL))
		evtimer_add(p->backoff_ev, &tv);
}

/* Keeps `want` clones ready or restoring, plus one per queued request,
 * with at most max_restoring restores at a time and within the set's
 * global cap. After three failures in a row restores wait for an
 * exponential back-off instead of spinning on a broken host. */
static void pool_refill(struct pool *p, bool after_backoff)
{
	if (p->status != POOL_SERVING)
		return;
	if (p->consecutive_failures >= p->cfg.timeouts.restore_failures_max && !after_backoff) {
		if (p->n_restoring == 0)
			pool_arm_backoff(p);
		return;
	}
	while (p->n_restoring < p->cfg.max_restoring && p->n_restoring + p->n_ready < p->want + p->q_len) {
		/* A queued request not yet covered by a VM on its way may take
		 * an idle clone of another language; prefill never does. */
		bool for_job = p->q_len > p->n_restoring + p->n_ready;
		if (!pool_set_take_vm(p->cfg.set, p, for_job))
			break;
		if (pool_start_restore(p) < 0) {
			/* No VMM, so no callback will schedule the next refill:
			 * retry after the back-off rather than at the next request. */
			pool_set_put_vm(p->cfg.set);
			pool_arm_backoff(p);
			break;
		}
	}
}

/* Discards ready clones above `want`. */
static void pool_trim(struct pool *p)
{
	while (p->n_ready > p->want && pool_evict_idle_clone(p))
		;
}

static void pool_idle_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pool *p = arg;
	unsigned want = p->submits ? p->peak : p->want / 2;

	p->want = want < p->cfg.min ? p->cfg.min : want > p->cfg.max ? p->cfg.max : want;
	p->submits = 0;
	p->peak = 0;
	pool_trim(p);
}

static void pool_refill_cb(evutil_socket_t fd, short what, void *arg)
{
	pool_refill(arg, false);
}

static void pool_backoff_cb(evutil_socket_t fd, short what, void *arg)
{
	pool_refill(arg, true);
}

static void pool_template_cb(const char *error, int ram_fd, int state_fd, void *arg);

static int pool_prepare_template(struct pool *p, bool force_rebuild)
{
	struct template_spec spec = {
	    .lang = p->cfg.lang,
	    .vmm = &p->cfg.vmm,
	    .cache_dir = p->cfg.cache_dir,
	    .qemu_version = p->cfg.qemu_version,
	    .boot_timeout_ms = p->cfg.timeouts.template_boot_ms,
	    .warm_timeout_ms = pool_timeouts_hello_ms(&p->cfg.timeouts, p->cfg.lang),
	    .compile_timeout_ms = p->cfg.limits.compile_wall_ms,
	    .memory_kb = p->cfg.lang->job_memory_mb * 1024u,
	    .force_rebuild = force_rebuild,
	};
	p->status = POOL_STARTING;
	p->template_start_ns = now_ns();
	return template_prepare(p->base, &spec, pool_template_cb, p, &p->tb);
}

/* A template that never restored once is suspect even though its files
 * check out (say, a host change the key does not capture): rebuild it,
 * once. Pending requests fail; new ones get 503 until it is ready. */
static void pool_rebuild_template(struct pool *p)
{
	pool_notify(p, 4, "%s: no clone of this template ever restored; rebuilding it", p->cfg.lang->name);
	p->template_rebuilt = true;
	pool_fail_queued(p, "the language's snapshot template is being rebuilt");
	template_build_free(p->tb);
	p->tb = NULL;
	p->ram_fd = safe_close(p->ram_fd);
	p->state_fd = safe_close(p->state_fd);
	p->consecutive_failures = 0;
	int r = pool_prepare_template(p, true);
	if (r < 0) {
		p->status = POOL_FAILED;
		free(p->error);
		p->error = strdup("could not rebuild the template");
	}
}

static void pool_fail_queued(struct pool *p, const char *why)
{
	struct pool_job *job;

	while ((job = TAILQ_FIRST(&p->queue))) {
		queue_unlink(p, job);
		job_fail(job, JOB_SANDBOX_ERROR, why);
	}
}

static void pool_template_cb(const char *error, int ram_fd, int state_fd, void *arg)
{
	struct pool *p = arg;

	if (p->holds_build_slot) {
		p->holds_build_slot = false;
		pool_set_build_done(p->cfg.set, p);
	}
	if (error) {
		p->status = POOL_FAILED;
		free(p->error);
		p->error = strdup(error);
		pool_notify(p, 3, "%s: no usable template: %s", p->cfg.lang->name, error);
		char why[600];
		snprintf(why, sizeof(why), "%s unavailable: %s", p->cfg.lang->name, error);
		pool_fail_queued(p, why);
		return;
	}
	p->ram_fd = ram_fd;
	p->state_fd = state_fd;
	p->status = POOL_SERVING;
	p->template_ms = (double)(now_ns() - p->template_start_ns) / 1e6;
	pool_notify(p, 6, "%s: template ready in %.0f ms; clones kept ready: %u (%u..%u by demand)",
		    p->cfg.lang->name, p->template_ms, p->want, p->cfg.min, p->cfg.max);
	pool_schedule_refill(p);
}

int pool_build_start(struct pool *p)
{
	p->holds_build_slot = true;
	int r = pool_prepare_template(p, false);
	if (r < 0) {
		p->holds_build_slot = false;
		p->status = POOL_FAILED;
		free(p->error);
		p->error = strdup("could not start preparing the template");
		pool_notify(p, 3, "%s: %s: %s", p->cfg.lang->name, p->error, strerror(-r));
		pool_fail_queued(p, "the language's template could not be prepared");
	}
	return r;
}

int pool_reload(struct pool *p, unsigned memory_mb, unsigned vcpus)
{
	struct vm *vm, *next;

	pool_notify(p, 6, "%s: reloading its template (%u MB, %u vCPUs)", p->cfg.lang->name, memory_mb,
		    vcpus);
	p->cfg.vmm.memory_mb = memory_mb;
	p->cfg.vmm.vcpus = vcpus;
	p->generation++;
	template_build_free(p->tb);
	p->tb = NULL;
	if (p->holds_build_slot) {
		p->holds_build_slot = false;
		pool_set_build_done(p->cfg.set, p);
	}
	p->ram_fd = safe_close(p->ram_fd);
	p->state_fd = safe_close(p->state_fd);
	for (vm = TAILQ_FIRST(&p->vms); vm; vm = next) {
		next = TAILQ_NEXT(vm, link);
		if (vm->state == VM_READY)
			vm_discard(vm);
	}
	p->consecutive_failures = 0;
	p->template_rebuilt = false;
	p->template_ms = 0;
	free(p->error);
	p->error = NULL;
	p->status = POOL_WAITING;
	pool_set_want_build(p->cfg.set, p, !TAILQ_EMPTY(&p->queue));
	return 0;
}

int pool_new(struct event_base *base, const struct pool_config *cfg, struct pool **ret)
{
	_cleanup_(pool_freep) struct pool *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	TAILQ_INIT(&p->vms);
	TAILQ_INIT(&p->ready);
	TAILQ_INIT(&p->queue);
	p->base = base;
	p->cfg = *cfg;
	if (p->cfg.max < p->cfg.min)
		p->cfg.max = p->cfg.min;
	p->want = p->cfg.min;
	p->ram_fd = -1;
	p->state_fd = -1;
	p->status = POOL_WAITING;
	p->refill_ev = event_new(base, -1, 0, pool_refill_cb, p);
	p->backoff_ev = evtimer_new(base, pool_backoff_cb, p);
	p->idle_ev = event_new(base, -1, EV_PERSIST, pool_idle_cb, p);
	if (!p->refill_ev || !p->backoff_ev || !p->idle_ev)
		return -ENOMEM;
	struct timeval idle = timeval_from_ms(p->cfg.idle_ms);
	evtimer_add(p->idle_ev, &idle);
	pool_set_add(p->cfg.set, p);
	*ret = TAKE_PTR(p);
	/* The build starts when the set has a slot, maybe right now. */
	pool_set_want_build((*ret)->cfg.set, *ret, false);
	return 0;
}

/* job must be queued: it is unless it has a VM (see the invariants). */
static void queue_unlink(struct pool *p, struct pool_job *job)
{
	TAILQ_REMOVE(&p->queue, job, link);
	p->q_len--;
}

static void job_queue_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pool_job *job = arg;
	queue_unlink(job->pool, job);
	job_fail(job, JOB_SANDBOX_ERROR, "no VM became available in time");
}

int pool_submit(struct pool *p, struct job_request *req, pool_done_cb cb, void *userdata,
		struct pool_job **ret)
{
	if (p->status == POOL_FAILED)
		return -ENODEV;
	/* Restores keep failing and nothing is ready: say so now rather than
	 * letting the request wait for a VM that will not come. */
	if (p->n_ready == 0 && p->consecutive_failures >= p->cfg.timeouts.restore_failures_max)
		return -ENODEV;
	if (p->n_ready == 0 && p->q_len >= p->cfg.queue_max)
		return -EAGAIN;
	struct pool_job *job = calloc(1, sizeof(*job));
	if (!job)
		return -ENOMEM;
	job->pool = p;
	job->req = *req;
	*req = (struct job_request){0};
	job->cb = cb;
	job->userdata = userdata;
	job->queue_timer = evtimer_new(p->base, job_queue_timeout_cb, job);
	if (!job->queue_timer) {
		*req = job->req;
		job->req = (struct job_request){0};
		job_free(job);
		return -ENOMEM;
	}
	struct timeval tv = timeval_from_ms(p->cfg.timeouts.queue_wait_ms);
	evtimer_add(job->queue_timer, &tv);
	*ret = job;

	TAILQ_INSERT_TAIL(&p->queue, job, link);
	p->q_len++;
	/* Demand: what this request and those before it need right now. */
	p->last_used_ns = now_ns();
	p->submits++;
	unsigned demand = p->n_busy + p->q_len;
	if (demand > p->peak)
		p->peak = demand;
	if (demand > p->want)
		p->want = demand > p->cfg.max ? p->cfg.max : demand;
	if (p->status == POOL_WAITING)
		pool_set_want_build(p->cfg.set, p, true);
	pool_dispatch(p);
	pool_schedule_refill(p);
	return 0;
}

void pool_cancel(struct pool_job *job)
{
	struct pool *p = job->pool;

	if (job->vm) {
		struct vm *vm = job->vm;
		vm->job = NULL;
		job->vm = NULL;
		vm_discard(vm);
	} else
		queue_unlink(p, job);
	job_free(job);
}

enum pool_status pool_get_status(const struct pool *p)
{
	return p->status;
}

unsigned pool_restore_failures_in_a_row(const struct pool *p)
{
	return p->consecutive_failures;
}

const char *pool_get_error(const struct pool *p)
{
	if (p->status == POOL_SERVING && p->consecutive_failures >= p->cfg.timeouts.restore_failures_max)
		return p->last_failure;
	return p->error;
}

const struct language *pool_language(const struct pool *p)
{
	return p->cfg.lang;
}

const char *pool_status_to_string(enum pool_status s)
{
	/* POOL_STARTING is "building": its template is being loaded or built. */
	static const char *const names[] = {[POOL_WAITING] = "waiting",
					    [POOL_STARTING] = "building",
					    [POOL_SERVING] = "serving",
					    [POOL_FAILED] = "failed"};
	return (unsigned)s < sizeof(names) / sizeof(names[0]) && names[s] ? names[s] : "unknown";
}

double pool_template_ms(const struct pool *p)
{
	return p->template_ms;
}

bool pool_has_waiting_jobs(const struct pool *p)
{
	return p->q_len > 0;
}

bool pool_has_idle_clone(const struct pool *p)
{
	return p->n_ready > 0;
}

uint64_t pool_last_used_ns(const struct pool *p)
{
	return p->last_used_ns;
}

bool pool_evict_idle_clone(struct pool *p)
{
	struct vm *vm = pool_ready_vm(p);

	if (!vm)
		return false;
	pool_notify(p, 7, "%s: %s discarded while idle", p->cfg.lang->name, vmm_id(vm->vmm));
	vm_discard(vm);
	return true;
}

void pool_kick(struct pool *p)
{
	pool_schedule_refill(p);
}

json_t *pool_stats_json(const struct pool *p)
{
	return json_pack("{s:s,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:I,s:I,s:I,s:I,s:I,s:I,s:f,s:i,s:f}", "status",
			 pool_status_to_string(p->status), "size", p->want, "min", p->cfg.min, "max",
			 p->cfg.max, "ready", p->n_ready, "restoring", p->n_restoring, "busy", p->n_busy,
			 "queued", p->q_len, "restores", (json_int_t)p->restores, "restore_failures",
			 (json_int_t)p->restore_failures, "idle_vm_deaths", (json_int_t)p->vm_deaths, "jobs",
			 (json_int_t)p->jobs, "sandbox_errors", (json_int_t)p->sandbox_errors, "timeouts",
			 (json_int_t)p->timeouts, "last_restore_ms", p->last_restore_us / 1000.0,
			 "consecutive_restore_failures", (int)p->consecutive_failures, "template_ms",
			 p->template_ms);
}

void pool_free(struct pool *p)
{
	struct pool_job *job;
	struct vm *vm;

	if (!p)
		return;
	template_build_free(p->tb);
	if (p->holds_build_slot)
		pool_set_build_done(p->cfg.set, p);
	pool_set_remove(p->cfg.set, p);
	while ((job = TAILQ_FIRST(&p->queue))) {
		queue_unlink(p, job);
		job_free(job);
	}
	while ((vm = TAILQ_FIRST(&p->vms))) {
		TAILQ_REMOVE(&p->vms, vm, link);
		if (vm->job)
			job_free(vm->job);
		vm_destroy(vm);
	}
	safe_event_free(p->refill_ev);
	safe_event_free(p->backoff_ev);
	safe_event_free(p->idle_ev);
	safe_close(p->ram_fd);
	safe_close(p->state_fd);
	free(p->error);
	free(p->last_failure);
	free(p);
}

unsigned pool_memory_mb(const struct pool *p)
{
	return p->cfg.vmm.memory_mb;
}

unsigned pool_vcpus(const struct pool *p)
{
	return p->cfg.vmm.vcpus;
}

void pool_set_bounds(struct pool *p, unsigned min, unsigned max, unsigned queue_max)
{
	p->cfg.min = min;
	p->cfg.max = max < min ? min : max;
	p->cfg.queue_max = queue_max;
	p->want = p->want < p->cfg.min ? p->cfg.min : p->want > p->cfg.max ? p->cfg.max : p->want;
	pool_trim(p);
	pool_schedule_refill(p);
}
