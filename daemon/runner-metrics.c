/* runner-metrics.c: the runner's numbers as Prometheus metrics, the
 * service_ops metrics entry (GET /metrics; docs/api.md lists them).
 * Executions are counted when they end: runner.c calls in here from its
 * done and cancel paths and where it refuses a request for a served
 * language. The pools' and the pool set's state is read at each scrape
 * from the stats /health shows, so the two never disagree.
 *
 * Every label value is the daemon's own: the canonical name of a served
 * language (never the alias or the name a client sent; an unknown language
 * is refused before anything is counted) and the fixed status names. The
 * series are therefore bounded by the served languages, and each family's
 * max_series says so to the registry. */
#include "runner-internal.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include "config.h"

#include "metrics.h"
#include "set.h"

/* Seconds, from a millisecond to two minutes: a warm start takes a few
 * ms under KVM, a run is capped at 60 s, a queue wait at 60 s x slowdown. */
static const double seconds_buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
					 0.5,	1,	2.5,   5,    10,    30,	  60,  120};
#define N_BUCKETS (sizeof(seconds_buckets) / sizeof(seconds_buckets[0]))

/* The API's status names, and "rejected" for a request refused with 429
 * or 503 by a served language's pool. */
#define N_STATUSES (JOB_CANCELLED + 2)

struct runner_metrics {
	struct metrics *reg; /* owned; the families below are its */
	struct metric *requests;
	struct metric *queue, *startup, *program, *request; /* histograms by language */
	struct metric *ready, *restoring, *busy, *queued;   /* gauges by language */
	struct metric *restores, *restore_failures;	    /* a pool's own counters, copied */
	struct metric *vmm_processes, *vms, *vms_max, *evictions, *in_flight, *build_info;
};

static const char *status_name(unsigned s)
{
	return s <= JOB_CANCELLED ? job_status_to_string((enum job_status)s) : "rejected";
}

void runner_metrics_free(struct runner_metrics *m)
{
	if (!m)
		return;
	metrics_free(m->reg);
	free(m);
}

int runner_metrics_new(struct runner *r)
{
	struct runner_metrics *m = calloc(1, sizeof(*m));
	int rc;

	if (!m)
		return -ENOMEM;
	r->metrics = m;
	rc = metrics_new(&m->reg);
	if (rc < 0)
		return rc;
	struct metric_desc requests = {
	    .type = METRIC_COUNTER,
	    .name = "runnerd_requests_total",
	    .help = "Executions that ended, by language and result status; rejected: refused with 429 or 503 "
		    "by a served language.",
	    .labels = {"language", "status"},
	    .max_series = RUNNER_MAX_LANGUAGES * N_STATUSES,
	};
	rc = metrics_register(m->reg, &requests, &m->requests);
	if (rc < 0)
		return rc;
	/* The families with one label, "language", or none. */
	const struct {
		struct metric **ret;
		enum metric_type type;
		const char *name, *help;
		bool by_language;
	} families[] = {
	    {&m->queue, METRIC_HISTOGRAM, "runnerd_queue_seconds",
	     "Time from a request's arrival until a VM was leased to it.", true},
	    {&m->startup, METRIC_HISTOGRAM, "runnerd_startup_seconds",
	     "Time from a request's arrival until its program started (timings.startup_ms).", true},
	    {&m->program, METRIC_HISTOGRAM, "runnerd_program_seconds",
	     "Wall time of the run step, measured in the guest.", true},
	    {&m->request, METRIC_HISTOGRAM, "runnerd_request_seconds",
	     "Time from a request's arrival until its result was ready (timings.total_ms).", true},
	    {&m->ready, METRIC_GAUGE, "runnerd_pool_ready_vms",
	     "Restored, paused clones waiting for a request.", true},
	    {&m->restoring, METRIC_GAUGE, "runnerd_pool_restoring_vms", "Clones being restored or warmed up.",
	     true},
	    {&m->busy, METRIC_GAUGE, "runnerd_pool_busy_vms", "Clones running a request.", true},
	    {&m->queued, METRIC_GAUGE, "runnerd_pool_queued_requests", "Requests waiting for a VM.", true},
	    {&m->restores, METRIC_COUNTER, "runnerd_restores_total",
	     "Clones restored from the language's snapshot template and made ready.", true},
	    {&m->restore_failures, METRIC_COUNTER, "runnerd_restore_failures_total",
	     "Clone restores that failed.", true},
	    {&m->vmm_processes, METRIC_GAUGE, "runnerd_vmm_processes",
	     "QEMU processes not yet reaped, template builds included.", false},
	    {&m->vms, METRIC_GAUGE, "runnerd_vms",
	     "VMs counted against the global cap: paused, restoring and running clones.", false},
	    {&m->vms_max, METRIC_GAUGE, "runnerd_vms_max", "The global VM cap (--max-vms).", false},
	    {&m->evictions, METRIC_COUNTER, "runnerd_vm_evictions_total",
	     "Idle clones discarded to make room at the cap for another language's request.", false},
	    {&m->in_flight, METRIC_GAUGE, "runnerd_in_flight",
	     "Executions accepted and not yet answered, queued ones included.", false},
	};
	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
		struct metric_desc d = {
		    .type = families[i].type,
		    .name = families[i].name,
		    .help = families[i].help,
		    .labels = {families[i].by_language ? "language" : NULL},
		    .max_series = families[i].by_language ? RUNNER_MAX_LANGUAGES : 1,
		};
		if (d.type == METRIC_HISTOGRAM) {
			d.buckets = seconds_buckets;
			d.n_buckets = N_BUCKETS;
		}
		rc = metrics_register(m->reg, &d, families[i].ret);
		if (rc < 0)
			return rc;
	}
	struct metric_desc build_info = {
	    .type = METRIC_GAUGE,
	    .name = "runnerd_build_info",
	    .help = "Always 1; labels: runnerd's version and the accelerator its VMs use.",
	    .labels = {"version", "accel"},
	};
	rc = metrics_register(m->reg, &build_info, &m->build_info);
	if (rc < 0)
		return rc;
	return metric_set(m->build_info, (const char *[]){RUNNERD_VERSION, r->cfg.accel}, 1);
}

void runner_metrics_done(struct runner *r, const char *language, const struct job_result *res)
{
	struct runner_metrics *m = r->metrics;
	const char *const lang[] = {language};

	/* Failures here are a full family or no memory: a number lost, never
	 * a request; nothing to tell the client. */
	metric_add(m->requests, (const char *[]){language, job_status_to_string(res->status)}, 1);
	if (res->vm_id[0]) /* a VM was leased: else it waited and never got one */
		metric_observe(m->queue, lang, res->t.queue_us / 1e6);
	if (res->run.present) {
		metric_observe(m->startup, lang, res->t.startup_us / 1e6);
		metric_observe(m->program, lang, res->run.wall_ms / 1e3);
	}
	metric_observe(m->request, lang, res->t.total_us / 1e6);
}

void runner_metrics_cancelled(struct runner *r, const char *language)
{
	metric_add(r->metrics->requests, (const char *[]){language, "cancelled"}, 1);
}

void runner_metrics_rejected(struct runner *r, const char *language)
{
	metric_add(r->metrics->requests, (const char *[]){language, "rejected"}, 1);
}

static double stat_of(json_t *o, const char *key)
{
	return (double)json_integer_value(json_object_get(o, key));
}

char *runner_metrics(void *ctx)
{
	struct runner *r = ctx;
	struct runner_metrics *m = r->metrics;

	for (unsigned i = 0; i < r->n; i++) {
		const char *const lang[] = {r->langs[i]->name};
		json_auto_t *s = pool_stats_json(r->pools[i]);

		/* Every served language's series, at 0 until something happens. */
		for (unsigned st = 0; st < N_STATUSES; st++)
			metric_touch(m->requests, (const char *[]){lang[0], status_name(st)});
		metric_touch(m->queue, lang);
		metric_touch(m->startup, lang);
		metric_touch(m->program, lang);
		metric_touch(m->request, lang);
		metric_set(m->ready, lang, stat_of(s, "ready"));
		metric_set(m->restoring, lang, stat_of(s, "restoring"));
		metric_set(m->busy, lang, stat_of(s, "busy"));
		metric_set(m->queued, lang, stat_of(s, "queued"));
		metric_set(m->restores, lang, stat_of(s, "restores"));
		metric_set(m->restore_failures, lang, stat_of(s, "restore_failures"));
	}
	json_auto_t *set = pool_set_stats_json(r->set);
	metric_set(m->vmm_processes, NULL, vmm_count());
	metric_set(m->vms, NULL, stat_of(set, "vms"));
	metric_set(m->vms_max, NULL, stat_of(set, "max_vms"));
	metric_set(m->evictions, NULL, stat_of(set, "evictions"));
	metric_set(m->in_flight, NULL, r->in_flight);
	return metrics_render(m->reg);
}
