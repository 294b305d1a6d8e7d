/* metrics.h: counters, gauges and histograms with labels, kept in memory
 * and rendered as the Prometheus text exposition format, version 0.0.4
 * (GET /metrics). A registry owns its families; a family is one metric
 * name with its help, its type, its label names and, for a histogram, its
 * bucket bounds; a series is one set of label values and its numbers.
 *
 * Bounded by construction: each family keeps at most max_series label
 * sets, and a value beyond that is refused (-ENOSPC), never allocated.
 * Label values are escaped when rendered (backslash, double quote,
 * newline), so any text is safe in them; the owner decides which texts
 * may become labels at all (runnerd: its own names only, never a
 * client's). Not thread-safe: one event loop owns a registry. */
#pragma once

#include <stddef.h>

#include "cleanup.h"

#define METRIC_MAX_LABELS      4   /* label names per family */
#define METRIC_MAX_BUCKETS     32  /* histogram bounds per family, +Inf not counted */
#define METRIC_MAX_LABEL_VALUE 256 /* bytes of one label value */

enum metric_type {
	METRIC_COUNTER,
	METRIC_GAUGE,
	METRIC_HISTOGRAM,
};

struct metric_desc {
	enum metric_type type;
	/* Borrowed (static text): [a-zA-Z_:][a-zA-Z0-9_:]*, by convention
	 * prefixed with the program's name, in base units, counters ending in
	 * _total. */
	const char *name;
	const char *help; /* borrowed; escaped when rendered */
	/* Borrowed label names, NULL after the last: [a-zA-Z_][a-zA-Z0-9_]*,
	 * not starting with "__"; a histogram's may not be "le". */
	const char *labels[METRIC_MAX_LABELS + 1];
	/* Histograms: upper bounds, finite and strictly increasing (copied);
	 * the +Inf bucket is implied. */
	const double *buckets;
	size_t n_buckets;
	unsigned max_series; /* label sets kept at most; 0 means 1 */
};

struct metrics;
struct metric;

int metrics_new(struct metrics **ret);
/* Frees the registry and its families. Accepts NULL. */
void metrics_free(struct metrics *m);
DEFINE_CLEANUP(struct metrics *, metrics_free)

/* Adds a family, rendered after those added before it. A family without
 * labels has its one series from the start (at 0). -EINVAL for a bad
 * name, label or bucket list, -EEXIST for a name taken, -ENOMEM. The
 * family belongs to the registry: *ret is borrowed. */
int metrics_register(struct metrics *m, const struct metric_desc *desc, struct metric **ret);

/* The series are named by `values`: one label value per label name, in
 * their order (NULL for a family without labels); a series is made on
 * first use, at 0. Each returns 0, -EINVAL for a missing or over-long
 * value or an operation the type does not have, -ENOSPC past max_series,
 * -ENOMEM. */

/* Makes the series if it is missing, so a known label set shows at 0
 * before anything happened to it. */
int metric_touch(struct metric *f, const char *const *values);
/* Counters (delta >= 0) and gauges. */
int metric_add(struct metric *f, const char *const *values, double delta);
/* Gauges; and counters kept by someone else who counts monotonically (a
 * pool's restores), copied at each scrape. */
int metric_set(struct metric *f, const char *const *values, double value);
/* Histograms: one observation. */
int metric_observe(struct metric *f, const char *const *values, double value);

/* The registry as exposition text: for each family "# HELP" and "# TYPE",
 * then its series in the order they were made; a histogram's as
 * cumulative NAME_bucket{...,le="B"} lines ending with le="+Inf", then
 * NAME_sum and NAME_count. malloc'd, or NULL when out of memory. */
char *metrics_render(const struct metrics *m);
