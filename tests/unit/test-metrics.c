/* test-metrics.c: daemon/metrics.c, the registry behind GET /metrics, and
 * its text: # HELP and # TYPE lines, escaped help and label values,
 * counters and gauges with and without labels, histograms with cumulative
 * buckets ending at +Inf and their _sum and _count, numbers in their
 * shortest form, and the bounds: bad names, labels and buckets refused,
 * no series past max_series, no operation a type does not have. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "metrics.h"

/* Whether text has `line` as a whole line. */
static int has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; (p = strstr(p, line)); p++)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return 1;
	return 0;
}

static void test_counters_and_gauges(void)
{
	_cleanup_(metrics_freep) struct metrics *m = NULL;
	struct metric *req, *up, *temp;
	struct metric_desc d_req = {
	    .type = METRIC_COUNTER,
	    .name = "x_requests_total",
	    .help = "Requests.",
	    .labels = {"language", "status"},
	    .max_series = 3,
	};
	struct metric_desc d_up = {.type = METRIC_GAUGE, .name = "x_up", .help = "Always 1."};
	struct metric_desc d_temp = {.type = METRIC_GAUGE,
				     .name = "x_temp",
				     .help = "Back\\slash\nand newline.",
				     .labels = {"where"},
				     .max_series = 8};
	char *text;

	CHECK(metrics_new(&m) == 0, "registry");
	CHECK(metrics_register(m, &d_req, &req) == 0, "counter with two labels");
	CHECK(metrics_register(m, &d_up, &up) == 0, "gauge without labels");
	CHECK(metrics_register(m, &d_temp, &temp) == 0, "gauge with a label");
	CHECK(metrics_register(m, &d_up, &up) == -EEXIST, "a name is registered once");

	text = metrics_render(m);
	CHECK(text && strcmp(text, "# HELP x_requests_total Requests.\n"
				   "# TYPE x_requests_total counter\n"
				   "# HELP x_up Always 1.\n"
				   "# TYPE x_up gauge\n"
				   "x_up 0\n"
				   "# HELP x_temp Back\\\\slash\\nand newline.\n"
				   "# TYPE x_temp gauge\n") == 0,
	      "empty registry: HELP (escaped) and TYPE, the label-less series at 0");
	free(text);

	CHECK(metric_add(req, (const char *[]){"python", "success"}, 1) == 0);
	CHECK(metric_add(req, (const char *[]){"python", "success"}, 2) == 0);
	CHECK(metric_touch(req, (const char *[]){"bash", "timeout"}) == 0);
	CHECK(metric_add(req, (const char *[]){"python", "timeout"}, 1) == 0);
	CHECK(metric_add(req, (const char *[]){"c", "success"}, 1) == -ENOSPC, "no series past max_series");
	CHECK(metric_touch(req, (const char *[]){"c", "success"}) == -ENOSPC, "touch is bounded too");
	CHECK(metric_add(req, (const char *[]){"python", "success"}, 1) == 0,
	      "an existing series still counts");
	CHECK(metric_add(req, (const char *[]){"python", "success"}, -1) == -EINVAL,
	      "a counter never goes down");
	CHECK(metric_add(req, (const char *[]){"python", "success"}, NAN) == -EINVAL, "nor by NaN");
	CHECK(metric_observe(req, (const char *[]){"python", "success"}, 1) == -EINVAL,
	      "a counter has no observations");
	CHECK(metric_add(req, NULL, 1) == -EINVAL, "label values are required");
	CHECK(metric_add(req, (const char *[]){"python", NULL}, 1) == -EINVAL, "every one of them");
	{
		char long_value[METRIC_MAX_LABEL_VALUE + 2];
		memset(long_value, 'a', sizeof(long_value) - 1);
		long_value[sizeof(long_value) - 1] = 0;
		CHECK(metric_add(temp, (const char *[]){long_value}, 1) == -EINVAL, "over-long label value");
	}
	CHECK(metric_set(up, NULL, 1) == 0);
	CHECK(metric_add(temp, (const char *[]){"a\"b\\c\nd"}, 0.1) == 0);
	CHECK(metric_add(temp, (const char *[]){"a\"b\\c\nd"}, 0.2) == 0);
	CHECK(metric_set(temp, (const char *[]){"out"}, -2.5) == 0);
	CHECK(metric_set(temp, (const char *[]){"far"}, INFINITY) == 0);
	CHECK(metric_set(temp, (const char *[]){"none"}, NAN) == 0);
	CHECK(metric_set(temp, (const char *[]){"big"}, 12345678901234.0) == 0);

	text = metrics_render(m);
	CHECK(text != NULL, "rendered");
	if (!text)
		return;
	CHECK(has_line(text, "x_requests_total{language=\"python\",status=\"success\"} 4"),
	      "counter: labels in their order, the sum of its adds");
	CHECK(has_line(text, "x_requests_total{language=\"bash\",status=\"timeout\"} 0"), "touched: at 0");
	CHECK(has_line(text, "x_requests_total{language=\"python\",status=\"timeout\"} 1"));
	CHECK(!strstr(text, "language=\"c\""), "the refused series is nowhere");
	CHECK(strstr(text, "status=\"success\"} 4\nx_requests_total{language=\"bash\"") != NULL,
	      "series in the order they were made");
	CHECK(has_line(text, "x_up 1"), "gauge set");
	CHECK(has_line(text, "x_temp{where=\"a\\\"b\\\\c\\nd\"} 0.30000000000000004"),
	      "label value escaped (quote, backslash, newline); a sum read back exactly");
	CHECK(has_line(text, "x_temp{where=\"out\"} -2.5"), "negative gauge");
	CHECK(has_line(text, "x_temp{where=\"far\"} +Inf"), "+Inf");
	CHECK(has_line(text, "x_temp{where=\"none\"} NaN"), "NaN");
	CHECK(has_line(text, "x_temp{where=\"big\"} 12345678901234"), "large integers in full");
	CHECK(text[strlen(text) - 1] == '\n', "ends with a newline");
	free(text);
}

static void test_histogram(void)
{
	_cleanup_(metrics_freep) struct metrics *m = NULL;
	static const double bounds[] = {0.001, 0.1, 1, 2.5};
	struct metric *h, *plain;
	struct metric_desc d = {
	    .type = METRIC_HISTOGRAM,
	    .name = "x_run_seconds",
	    .help = "Run time.",
	    .labels = {"language"},
	    .buckets = bounds,
	    .n_buckets = 4,
	    .max_series = 2,
	};
	struct metric_desc d_plain = {.type = METRIC_HISTOGRAM,
				      .name = "x_wait_seconds",
				      .help = "Waits.",
				      .buckets = bounds,
				      .n_buckets = 2};
	char *text;

	CHECK(metrics_new(&m) == 0);
	CHECK(metrics_register(m, &d, &h) == 0, "histogram with a label");
	CHECK(metrics_register(m, &d_plain, &plain) == 0, "histogram without labels");
	CHECK(metric_touch(h, (const char *[]){"bash"}) == 0);
	/* python: 0.001 (on a bound: counts in it), 0.05, 0.1, 2, 7 */
	const double obs[] = {0.001, 0.05, 0.1, 2, 7};
	for (size_t i = 0; i < sizeof(obs) / sizeof(obs[0]); i++)
		CHECK(metric_observe(h, (const char *[]){"python"}, obs[i]) == 0);
	CHECK(metric_observe(h, (const char *[]){"python"}, NAN) == -EINVAL, "NaN is not observed");
	CHECK(metric_add(h, (const char *[]){"python"}, 1) == -EINVAL, "a histogram has no add");
	CHECK(metric_set(h, (const char *[]){"python"}, 1) == -EINVAL, "nor set");
	CHECK(metric_observe(h, (const char *[]){"c"}, 1) == -ENOSPC, "bounded like the others");
	CHECK(metric_observe(plain, NULL, 0.5) == 0);

	text = metrics_render(m);
	CHECK(text != NULL);
	if (!text)
		return;
	CHECK(strstr(text, "# HELP x_run_seconds Run time.\n# TYPE x_run_seconds histogram\n"
			   "x_run_seconds_bucket{language=\"bash\",le=\"0.001\"} 0\n") != NULL,
	      "TYPE histogram; a touched series at 0");
	CHECK(has_line(text, "x_run_seconds_bucket{language=\"bash\",le=\"+Inf\"} 0") &&
		  has_line(text, "x_run_seconds_sum{language=\"bash\"} 0") &&
		  has_line(text, "x_run_seconds_count{language=\"bash\"} 0"),
	      "empty: +Inf, sum and count at 0");
	CHECK(strstr(text, "x_run_seconds_bucket{language=\"python\",le=\"0.001\"} 1\n"
			   "x_run_seconds_bucket{language=\"python\",le=\"0.1\"} 3\n"
			   "x_run_seconds_bucket{language=\"python\",le=\"1\"} 3\n"
			   "x_run_seconds_bucket{language=\"python\",le=\"2.5\"} 4\n"
			   "x_run_seconds_bucket{language=\"python\",le=\"+Inf\"} 5\n"
			   "x_run_seconds_sum{language=\"python\"} 9.151\n"
			   "x_run_seconds_count{language=\"python\"} 5\n") != NULL,
	      "buckets cumulative (a value on a bound counts in it), le in shortest form, +Inf = count, "
	      "sum");
	CHECK(strstr(text, "x_wait_seconds_bucket{le=\"0.001\"} 0\n"
			   "x_wait_seconds_bucket{le=\"0.1\"} 0\n"
			   "x_wait_seconds_bucket{le=\"+Inf\"} 1\n"
			   "x_wait_seconds_sum 0.5\n"
			   "x_wait_seconds_count 1\n") != NULL,
	      "without labels: le alone, bare _sum and _count");
	free(text);
}

static void test_refused_descriptions(void)
{
	_cleanup_(metrics_freep) struct metrics *m = NULL;
	static const double ok_bounds[] = {1, 2}, unordered[] = {2, 1}, same[] = {1, 1},
			    inf[] = {1, INFINITY};
	struct metric *f;
	struct {
		struct metric_desc d;
		const char *why;
	} bad[] = {
	    {{.type = METRIC_GAUGE, .name = "", .help = "h"}, "empty name"},
	    {{.type = METRIC_GAUGE, .name = "9lives", .help = "h"}, "name starting with a digit"},
	    {{.type = METRIC_GAUGE, .name = "a-b", .help = "h"}, "dash in a name"},
	    {{.type = METRIC_GAUGE, .name = "a", .help = NULL}, "no help"},
	    {{.type = METRIC_GAUGE, .name = "a", .help = "h", .labels = {"a:b"}}, "colon in a label name"},
	    {{.type = METRIC_GAUGE, .name = "a", .help = "h", .labels = {"__x"}}, "reserved label name"},
	    {{.type = METRIC_GAUGE, .name = "a", .help = "h", .labels = {"x", "x"}}, "label named twice"},
	    {{.type = METRIC_GAUGE, .name = "a", .help = "h", .labels = {"a", "b", "c", "d", "e"}},
	     "too many labels"},
	    {{.type = METRIC_GAUGE, .name = "a", .help = "h", .buckets = ok_bounds, .n_buckets = 2},
	     "buckets on a gauge"},
	    {{.type = METRIC_HISTOGRAM, .name = "a", .help = "h"}, "histogram without buckets"},
	    {{.type = METRIC_HISTOGRAM,
	      .name = "a",
	      .help = "h",
	      .labels = {"le"},
	      .buckets = ok_bounds,
	      .n_buckets = 2},
	     "histogram labelled le"},
	    {{.type = METRIC_HISTOGRAM, .name = "a", .help = "h", .buckets = unordered, .n_buckets = 2},
	     "buckets out of order"},
	    {{.type = METRIC_HISTOGRAM, .name = "a", .help = "h", .buckets = same, .n_buckets = 2},
	     "a bucket twice"},
	    {{.type = METRIC_HISTOGRAM, .name = "a", .help = "h", .buckets = inf, .n_buckets = 2},
	     "+Inf given as a bucket"},
	    {{.type = METRIC_HISTOGRAM,
	      .name = "a",
	      .help = "h",
	      .buckets = ok_bounds,
	      .n_buckets = METRIC_MAX_BUCKETS + 1},
	     "too many buckets"},
	};
	char name[80];

	CHECK(metrics_new(&m) == 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(name, sizeof(name), "refused: %s", bad[i].why);
		CHECK(metrics_register(m, &bad[i].d, &f) == -EINVAL, name);
	}
	struct metric_desc colon = {.type = METRIC_COUNTER, .name = "ns:a_total", .help = ""};
	CHECK(metrics_register(m, &colon, &f) == 0, "colon in a metric name, empty help");
	char *text = metrics_render(m);
	CHECK(text && strcmp(text, "# HELP ns:a_total \n# TYPE ns:a_total counter\nns:a_total 0\n") == 0,
	      "only the accepted family is rendered");
	free(text);
}

int main(void)
{
	test_counters_and_gauges();
	test_histogram();
	test_refused_descriptions();
	metrics_free(NULL);
	return check_done();
}
