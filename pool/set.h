/* set.h: what the pools of one runnerd share. Fifty languages must not
 * mean fifty pools each sized for a busy day, so the set holds the global
 * budget: at most max_vms VMs exist at once over all pools (paused,
 * restoring and running alike; template builds are not counted, they are
 * bounded by max_builds), and at most max_builds snapshot templates are
 * being built at a time (a rebuild after a template never restored is the
 * one exception: it starts at once). A pool asks the set before it starts a VMM
 * and tells it when one is gone. When the cap is reached and a request is
 * waiting, an idle paused clone of the least recently used other language
 * is discarded to make room; prefill never evicts. */
#pragma once

#include <event2/event.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct pool;
struct pool_set;

struct pool_set_config {
	unsigned max_vms;    /* over all pools; >= 1 */
	unsigned max_builds; /* template builds at a time; >= 1 */
};

int pool_set_new(struct event_base *base, const struct pool_set_config *cfg, struct pool_set **ret);
/* Before freeing the pools at shutdown: no build or refill starts after. */
void pool_set_close(struct pool_set *set);
/* The pools must be freed first. Accepts NULL. */
void pool_set_free(struct pool_set *set);
json_t *pool_set_stats_json(const struct pool_set *set);
/* A reload's new caps. Lowering max_vms discards nothing: the count falls
 * as VMs end. */
void pool_set_configure(struct pool_set *set, const struct pool_set_config *cfg);

/* For pool.c. */
void pool_set_add(struct pool_set *set, struct pool *pool);
void pool_set_remove(struct pool_set *set, struct pool *pool);
/* A slot for one more VM: true if taken. With for_job (a request waits for
 * this VM), may evict an idle clone of another pool to make room. When it
 * returns false the pool is kicked (pool_kick()) once a slot frees. */
bool pool_set_take_vm(struct pool_set *set, struct pool *pool, bool for_job);
void pool_set_put_vm(struct pool_set *set);
/* Queues the pool's template build; urgent (a request waits) goes first.
 * The set calls pool_build_start() when a build slot is free. */
void pool_set_want_build(struct pool_set *set, struct pool *pool, bool urgent);
void pool_set_build_done(struct pool_set *set, struct pool *pool);
