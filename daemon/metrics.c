/* metrics.c: the registry of metrics.h and its exposition text.
 *
 * Format facts (Prometheus text exposition format 0.0.4): one sample per
 * line, `name{label="value",...} number`; "# HELP name text" escapes
 * backslash and newline in the text; label values escape backslash,
 * double quote and newline; numbers are Go-style floats, with "+Inf",
 * "-Inf" and "NaN". A histogram's buckets are cumulative (each counts
 * the observations <= its bound `le`), the last one is le="+Inf" and
 * equals _count. Families are kept in a TAILQ in registration order;
 * a family's series in an array of at most max_series, searched linearly
 * (a few hundred at most: runnerd's languages times its statuses). */
#include "metrics.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

struct series {
	char *values[METRIC_MAX_LABELS]; /* owned, one per label name */
	double value;			 /* counter, gauge */
	uint64_t count;			 /* histogram: observations */
	double sum;
	uint64_t buckets[METRIC_MAX_BUCKETS]; /* observations in (bound[i-1], bound[i]] */
};

struct metric {
	struct metric_desc desc; /* strings borrowed; buckets points to `bounds` */
	double bounds[METRIC_MAX_BUCKETS];
	size_t n_labels;
	struct series *series; /* owned, n_series of them */
	size_t n_series;
	TAILQ_ENTRY(metric) link;
};

TAILQ_HEAD(metric_list, metric);

struct metrics {
	struct metric_list families;
};

int metrics_new(struct metrics **ret)
{
	struct metrics *m = calloc(1, sizeof(*m));

	if (!m)
		return -ENOMEM;
	TAILQ_INIT(&m->families);
	*ret = m;
	return 0;
}

static void metric_free(struct metric *f)
{
	for (size_t i = 0; i < f->n_series; i++)
		for (size_t j = 0; j < f->n_labels; j++)
			free(f->series[i].values[j]);
	free(f->series);
	free(f);
}

void metrics_free(struct metrics *m)
{
	struct metric *f;

	if (!m)
		return;
	while ((f = TAILQ_FIRST(&m->families))) {
		TAILQ_REMOVE(&m->families, f, link);
		metric_free(f);
	}
	free(m);
}

static bool name_valid(const char *s, bool colon)
{
	if (!s || !*s)
		return false;
	for (const char *p = s; *p; p++) {
		bool alpha =
		    (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' || (colon && *p == ':');
		if (!alpha && !(p > s && *p >= '0' && *p <= '9'))
			return false;
	}
	return true;
}

static bool desc_valid(const struct metric_desc *d, size_t *ret_labels)
{
	size_t n = 0;

	if (d->type != METRIC_COUNTER && d->type != METRIC_GAUGE && d->type != METRIC_HISTOGRAM)
		return false;
	if (!name_valid(d->name, true) || !d->help)
		return false;
	for (; n < METRIC_MAX_LABELS && d->labels[n]; n++) {
		if (!name_valid(d->labels[n], false) || strncmp(d->labels[n], "__", 2) == 0)
			return false;
		if (d->type == METRIC_HISTOGRAM && strcmp(d->labels[n], "le") == 0)
			return false;
		for (size_t i = 0; i < n; i++)
			if (strcmp(d->labels[i], d->labels[n]) == 0)
				return false;
	}
	if (d->labels[n]) /* more than METRIC_MAX_LABELS */
		return false;
	if (d->type == METRIC_HISTOGRAM) {
		if (!d->buckets || d->n_buckets == 0 || d->n_buckets > METRIC_MAX_BUCKETS)
			return false;
		for (size_t i = 0; i < d->n_buckets; i++)
			if (!isfinite(d->buckets[i]) || (i > 0 && d->buckets[i] <= d->buckets[i - 1]))
				return false;
	} else if (d->buckets || d->n_buckets)
		return false;
	*ret_labels = n;
	return true;
}

static struct series *series_find(struct metric *f, const char *const *values)
{
	for (size_t i = 0; i < f->n_series; i++) {
		size_t j = 0;
		while (j < f->n_labels && strcmp(f->series[i].values[j], values[j]) == 0)
			j++;
		if (j == f->n_labels)
			return &f->series[i];
	}
	return NULL;
}

/* The series named by values, made at 0 if missing. */
static int series_get(struct metric *f, const char *const *values, struct series **ret)
{
	struct series *s, *grown;

	if (f->n_labels && !values)
		return -EINVAL;
	for (size_t j = 0; j < f->n_labels; j++)
		if (!values[j] || strlen(values[j]) > METRIC_MAX_LABEL_VALUE)
			return -EINVAL;
	s = series_find(f, values);
	if (s) {
		*ret = s;
		return 0;
	}
	if (f->n_series >= f->desc.max_series)
		return -ENOSPC;
	grown = realloc(f->series, (f->n_series + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	f->series = grown;
	s = &f->series[f->n_series];
	*s = (struct series){0};
	for (size_t j = 0; j < f->n_labels; j++) {
		s->values[j] = strdup(values[j]);
		if (!s->values[j]) {
			while (j > 0)
				free(s->values[--j]);
			return -ENOMEM;
		}
	}
	f->n_series++;
	*ret = s;
	return 0;
}

int metrics_register(struct metrics *m, const struct metric_desc *desc, struct metric **ret)
{
	struct metric *f, *other;
	struct series *s;
	size_t n_labels;
	int r;

	if (!desc_valid(desc, &n_labels))
		return -EINVAL;
	TAILQ_FOREACH(other, &m->families, link)
		if (strcmp(other->desc.name, desc->name) == 0)
			return -EEXIST;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->desc = *desc;
	f->n_labels = n_labels;
	if (f->desc.max_series == 0)
		f->desc.max_series = 1;
	if (desc->type == METRIC_HISTOGRAM) {
		memcpy(f->bounds, desc->buckets, desc->n_buckets * sizeof(double));
		f->desc.buckets = f->bounds;
	}
	if (n_labels == 0) {
		r = series_get(f, NULL, &s);
		if (r < 0) {
			metric_free(f);
			return r;
		}
	}
	TAILQ_INSERT_TAIL(&m->families, f, link);
	*ret = f;
	return 0;
}

int metric_touch(struct metric *f, const char *const *values)
{
	struct series *s;

	return series_get(f, values, &s);
}

int metric_add(struct metric *f, const char *const *values, double delta)
{
	struct series *s;
	int r;

	if (f->desc.type == METRIC_HISTOGRAM || (f->desc.type == METRIC_COUNTER && !(delta >= 0)))
		return -EINVAL;
	r = series_get(f, values, &s);
	if (r < 0)
		return r;
	s->value += delta;
	return 0;
}

int metric_set(struct metric *f, const char *const *values, double value)
{
	struct series *s;
	int r;

	if (f->desc.type == METRIC_HISTOGRAM)
		return -EINVAL;
	r = series_get(f, values, &s);
	if (r < 0)
		return r;
	s->value = value;
	return 0;
}

int metric_observe(struct metric *f, const char *const *values, double value)
{
	struct series *s;
	int r;

	if (f->desc.type != METRIC_HISTOGRAM || isnan(value))
		return -EINVAL;
	r = series_get(f, values, &s);
	if (r < 0)
		return r;
	for (size_t i = 0; i < f->desc.n_buckets; i++)
		if (value <= f->bounds[i]) {
			s->buckets[i]++;
			break;
		}
	s->count++;
	s->sum += value;
	return 0;
}

/* ---- rendering ---- */

/* v as the format writes numbers: the shortest of %.15g..%.17g that
 * reads back as v ("0.1", not "0.10000000000000001"), "+Inf", "-Inf",
 * "NaN". */
static const char *format_number(char buf[static 40], double v)
{
	if (isnan(v))
		return "NaN";
	if (isinf(v))
		return v > 0 ? "+Inf" : "-Inf";
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, 40, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	return buf;
}

static void put_escaped(FILE *out, const char *s, bool quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", out);
		else if (*s == '\n')
			fputs("\\n", out);
		else if (quote && *s == '"')
			fputs("\\\"", out);
		else
			fputc(*s, out);
	}
}

/* {a="x",b="y"} with an optional le="..." last; nothing when empty. */
static void put_labels(FILE *out, const struct metric *f, const struct series *s, const char *le)
{
	if (f->n_labels == 0 && !le)
		return;
	fputc('{', out);
	for (size_t j = 0; j < f->n_labels; j++) {
		fprintf(out, "%s%s=\"", j ? "," : "", f->desc.labels[j]);
		put_escaped(out, s->values[j], true);
		fputc('"', out);
	}
	if (le)
		fprintf(out, "%sle=\"%s\"", f->n_labels ? "," : "", le);
	fputc('}', out);
}

static void put_histogram(FILE *out, const struct metric *f, const struct series *s)
{
	uint64_t cumulative = 0;
	char num[40];

	for (size_t i = 0; i < f->desc.n_buckets; i++) {
		cumulative += s->buckets[i];
		fprintf(out, "%s_bucket", f->desc.name);
		put_labels(out, f, s, format_number(num, f->bounds[i]));
		fprintf(out, " %" PRIu64 "\n", cumulative);
	}
	fprintf(out, "%s_bucket", f->desc.name);
	put_labels(out, f, s, "+Inf");
	fprintf(out, " %" PRIu64 "\n", s->count);
	fprintf(out, "%s_sum", f->desc.name);
	put_labels(out, f, s, NULL);
	fprintf(out, " %s\n%s_count", format_number(num, s->sum), f->desc.name);
	put_labels(out, f, s, NULL);
	fprintf(out, " %" PRIu64 "\n", s->count);
}

static const char *type_name(enum metric_type t)
{
	return t == METRIC_COUNTER ? "counter" : t == METRIC_GAUGE ? "gauge" : "histogram";
}

char *metrics_render(const struct metrics *m)
{
	const struct metric *f;
	char num[40], *text = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&text, &size);

	if (!out)
		return NULL;
	TAILQ_FOREACH(f, &m->families, link) {
		fprintf(out, "# HELP %s ", f->desc.name);
		put_escaped(out, f->desc.help, false);
		fprintf(out, "\n# TYPE %s %s\n", f->desc.name, type_name(f->desc.type));
		for (size_t i = 0; i < f->n_series; i++) {
			const struct series *s = &f->series[i];
			if (f->desc.type == METRIC_HISTOGRAM) {
				put_histogram(out, f, s);
				continue;
			}
			fputs(f->desc.name, out);
			put_labels(out, f, s, NULL);
			fprintf(out, " %s\n", format_number(num, s->value));
		}
	}
	if (ferror(out)) {
		fclose(out);
		free(text);
		return NULL;
	}
	if (fclose(out) != 0) {
		free(text);
		return NULL;
	}
	return text;
}
