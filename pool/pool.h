/* pool.h: a per-language pool of paused, snapshot-restored VMs. The pool
 * first makes sure a valid template exists (loading it, or booting and
 * saving a fresh one when the inputs changed; when its set has a build
 * slot), then keeps as many clones restored and paused as recent demand
 * asks for, between min and max, within the set's global cap. Each request leases one clone (resume + job),
 * the clone is discarded after the run whatever happened, and a replacement is restored in the background.
 * Requests beyond the ready clones wait in a bounded FIFO queue. Deadlines live here, on the host: when one
 * passes, the VMM is killed, whatever the agent does. */
#pragma once

#include <event2/event.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "cleanup.h"
#include "job.h"
#include "jobspec.h"
#include "language.h"
#include "timeouts.h"
#include "vmm.h"

struct pool;
struct pool_job;

enum pool_status {
	POOL_WAITING,  /* template not started yet: the set's build slots are busy */
	POOL_STARTING, /* template being loaded or built */
	POOL_SERVING,
	POOL_FAILED, /* no usable template; requests get 503 with the reason */
};

struct pool_set;

struct pool_config {
	const struct language *lang; /* borrowed, outlives the pool */
	struct vmm_config vmm;	     /* strings borrowed */
	const char *cache_dir;	     /* snapshots under cache_dir/snapshots */
	const char *qemu_version;    /* part of the snapshot key */
	struct pool_set *set;	     /* borrowed: the global VM cap and build slots */
	unsigned min;		     /* paused clones kept ready even when idle */
	unsigned max;		     /* paused clones kept ready at most */
	uint32_t idle_ms;	     /* a pool with no request for this long shrinks */
	unsigned max_restoring;	     /* concurrent restores */
	unsigned queue_max;	     /* waiting requests before 429 */
	bool warm_clones;	     /* run a no-op job in each clone before it is READY */
	/* How long to wait for what, and when to stop trying: filled by
	 * pool_timeouts_init(), the slowdown applied. */
	struct pool_timeouts timeouts;
	/* Every job's compile limits and guest bounds besides the client's. */
	struct rd_limits limits;
	/* Called for operator-worthy events (template ready, restore failed);
	 * the daemon decides how to log them. */
	void (*notify)(struct pool *pool, int level, const char *msg, void *userdata);
	void *userdata;
};

typedef void (*pool_done_cb)(struct pool_job *job, const struct job_request *req,
			     const struct job_result *res, void *userdata);

int pool_new(struct event_base *base, const struct pool_config *cfg, struct pool **ret);
/* Takes ownership of *req's contents on success (the caller's struct is
 * zeroed). A pool whose template is still waiting or being built queues
 * the request too (and moves its build to the front). -ENODEV if the pool
 * failed or cannot restore, -EAGAIN if the queue is full. */
int pool_submit(struct pool *pool, struct job_request *req, pool_done_cb cb, void *userdata,
		struct pool_job **ret);
/* The client is gone: drop the job, discard its VM; cb never runs. */
void pool_cancel(struct pool_job *job);

enum pool_status pool_get_status(const struct pool *pool);
/* "waiting", "building", "serving" or "failed": the one name of each state,
 * in /health and /api/v1/languages alike. */
const char *pool_status_to_string(enum pool_status s);
/* How long the template took to load or build, in ms (0 until ready). */
double pool_template_ms(const struct pool *pool);
const char *pool_get_error(const struct pool *pool);
/* Restores that failed in a row; at timeouts.restore_failures_max the pool
 * cannot refill. */
unsigned pool_restore_failures_in_a_row(const struct pool *pool);
const struct language *pool_language(const struct pool *pool);
json_t *pool_stats_json(const struct pool *pool);
/* For the pool set (set.c). */
bool pool_has_waiting_jobs(const struct pool *pool);
bool pool_has_idle_clone(const struct pool *pool);
uint64_t pool_last_used_ns(const struct pool *pool);
/* Discards one paused clone; true if there was one. */
bool pool_evict_idle_clone(struct pool *pool);
/* A VM slot may be free again: refill. */
void pool_kick(struct pool *pool);
/* The language's image or machine changed: its template is prepared
 * again (a cached one with the new key is loaded, else one is built), in
 * the set's build order. Idle clones are discarded at once, restoring ones
 * when they are ready; runs in flight finish in their VMs; queued requests
 * wait for the new template. */
int pool_reload(struct pool *pool, unsigned memory_mb, unsigned vcpus);
/* A reload's new sizes: clones kept ready (min..max) and the queue's
 * length; extra ready clones go at once, missing ones are restored. */
void pool_set_bounds(struct pool *pool, unsigned min, unsigned max, unsigned queue_max);
/* The guest's RAM and vCPUs now. */
unsigned pool_memory_mb(const struct pool *pool);
unsigned pool_vcpus(const struct pool *pool);
/* Starts loading or building the template (a build slot is the pool's). */
int pool_build_start(struct pool *pool);

/* Kills every VM (no callbacks run) and frees the pool. Accepts NULL and a
 * pool pool_new() gave up on. */
void pool_free(struct pool *pool);
DEFINE_CLEANUP(struct pool *, pool_free)
