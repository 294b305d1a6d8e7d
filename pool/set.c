/* set.c: the budget shared by every pool. See set.h for the contract.
 *
 * Slots freed by a discarded VM are handed out from a deferred event, not
 * from inside the discard, so no pool starts a VMM from within another
 * pool's callback. Pools waiting for a slot are kicked in the order they
 * asked, those with a waiting request first. */
#include "set.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"

#define SET_MAX_POOLS 256

struct pool_set {
	struct event_base *base;
	struct pool_set_config cfg;
	struct pool *pools[SET_MAX_POOLS]; /* borrowed */
	unsigned n_pools;
	unsigned n_vms;
	unsigned n_building;
	struct pool *build_q[SET_MAX_POOLS]; /* borrowed: templates waiting to build */
	unsigned build_q_len;
	struct pool *starved[SET_MAX_POOLS]; /* borrowed: waiting for a VM slot, in asking order */
	unsigned n_starved;
	struct event *kick_ev;
	uint64_t evictions, cap_waits;
	bool closing; /* shutting down: start nothing */
};

/* Removes pool from the array list[0..*n), keeping the order. */
static void list_remove(struct pool **list, unsigned *n, const struct pool *pool)
{
	for (unsigned i = 0; i < *n; i++)
		if (list[i] == pool) {
			memmove(&list[i], &list[i + 1], (*n - i - 1) * sizeof(list[0]));
			(*n)--;
			return;
		}
}

static bool starved_has(const struct pool_set *set, const struct pool *pool)
{
	for (unsigned i = 0; i < set->n_starved; i++)
		if (set->starved[i] == pool)
			return true;
	return false;
}

static void starved_remove(struct pool_set *set, const struct pool *pool)
{
	list_remove(set->starved, &set->n_starved, pool);
}

static void set_kick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pool_set *set = arg;

	/* In asking order, those with a waiting request first; each kicked
	 * pool refills (and asks again, at the back, if it is still short). */
	for (int pass = 0; pass < 2; pass++)
		for (unsigned i = 0; i < set->n_starved && set->n_vms < set->cfg.max_vms;) {
			struct pool *p = set->starved[i];
			if (pass == 0 && !pool_has_waiting_jobs(p)) {
				i++;
				continue;
			}
			starved_remove(set, p);
			pool_kick(p);
		}
}

int pool_set_new(struct event_base *base, const struct pool_set_config *cfg, struct pool_set **ret)
{
	struct pool_set *set = calloc(1, sizeof(*set));

	if (!set)
		return -ENOMEM;
	set->base = base;
	set->cfg = *cfg;
	if (set->cfg.max_vms == 0)
		set->cfg.max_vms = 1;
	if (set->cfg.max_builds == 0)
		set->cfg.max_builds = 1;
	set->kick_ev = event_new(base, -1, 0, set_kick_cb, set);
	if (!set->kick_ev) {
		free(set);
		return -ENOMEM;
	}
	*ret = set;
	return 0;
}

void pool_set_close(struct pool_set *set)
{
	if (set)
		set->closing = true;
}

void pool_set_free(struct pool_set *set)
{
	if (!set)
		return;
	event_free(set->kick_ev);
	free(set);
}

void pool_set_add(struct pool_set *set, struct pool *pool)
{
	if (set->n_pools < SET_MAX_POOLS)
		set->pools[set->n_pools++] = pool;
}

static void build_q_remove(struct pool_set *set, struct pool *pool)
{
	list_remove(set->build_q, &set->build_q_len, pool);
}

void pool_set_remove(struct pool_set *set, struct pool *pool)
{
	build_q_remove(set, pool);
	starved_remove(set, pool);
	list_remove(set->pools, &set->n_pools, pool);
}

/* The idle clone to give up: from the pool, other than `for_pool`, whose
 * last request is oldest. */
static bool set_evict(struct pool_set *set, const struct pool *for_pool)
{
	struct pool *victim = NULL;

	for (unsigned i = 0; i < set->n_pools; i++) {
		struct pool *p = set->pools[i];
		if (p == for_pool || !pool_has_idle_clone(p))
			continue;
		if (!victim || pool_last_used_ns(p) < pool_last_used_ns(victim))
			victim = p;
	}
	if (!victim)
		return false;
	set->evictions++;
	return pool_evict_idle_clone(victim);
}

bool pool_set_take_vm(struct pool_set *set, struct pool *pool, bool for_job)
{
	if (set->n_vms >= set->cfg.max_vms && for_job)
		set_evict(set, pool); /* puts a slot back synchronously */
	if (set->n_vms < set->cfg.max_vms) {
		set->n_vms++;
		return true;
	}
	if (!starved_has(set, pool) && set->n_starved < SET_MAX_POOLS) {
		set->starved[set->n_starved++] = pool;
		set->cap_waits++;
	}
	return false;
}

void pool_set_put_vm(struct pool_set *set)
{
	if (set->n_vms > 0)
		set->n_vms--;
	if (set->n_starved > 0 && !set->closing)
		event_active(set->kick_ev, EV_TIMEOUT, 0);
}

static void set_start_builds(struct pool_set *set);

void pool_set_configure(struct pool_set *set, const struct pool_set_config *cfg)
{
	set->cfg.max_vms = cfg->max_vms ? cfg->max_vms : 1;
	set->cfg.max_builds = cfg->max_builds ? cfg->max_builds : 1;
	set_start_builds(set);
	if (set->n_starved > 0 && !set->closing && set->n_vms < set->cfg.max_vms)
		event_active(set->kick_ev, EV_TIMEOUT, 0);
}

static void set_start_builds(struct pool_set *set)
{
	while (!set->closing && set->n_building < set->cfg.max_builds && set->build_q_len > 0) {
		struct pool *p = set->build_q[0];
		build_q_remove(set, p);
		set->n_building++;
		if (pool_build_start(p) < 0)
			set->n_building--; /* the pool failed and says why */
	}
}

void pool_set_want_build(struct pool_set *set, struct pool *pool, bool urgent)
{
	build_q_remove(set, pool);
	if (set->build_q_len == SET_MAX_POOLS)
		return;
	if (urgent) {
		memmove(&set->build_q[1], &set->build_q[0], set->build_q_len * sizeof(set->build_q[0]));
		set->build_q[0] = pool;
	} else
		set->build_q[set->build_q_len] = pool;
	set->build_q_len++;
	set_start_builds(set);
}

void pool_set_build_done(struct pool_set *set, struct pool *pool)
{
	if (set->n_building > 0)
		set->n_building--;
	set_start_builds(set);
}

json_t *pool_set_stats_json(const struct pool_set *set)
{
	return json_pack("{s:i,s:i,s:i,s:i,s:i,s:I,s:I}", "max_vms", (int)set->cfg.max_vms, "vms",
			 (int)set->n_vms, "max_template_builds", (int)set->cfg.max_builds, "template_builds",
			 (int)set->n_building, "template_builds_waiting", (int)set->build_q_len, "evictions",
			 (json_int_t)set->evictions, "cap_waits", (json_int_t)set->cap_waits);
}
