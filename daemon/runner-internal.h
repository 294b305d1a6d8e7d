/* runner-internal.h: what runner.c shares with manage.c, the management of
 * its images and snapshots, and with runner-metrics.c, its numbers. Nothing
 * else includes it. */
#pragma once

#include <jansson.h>

#include "language.h"
#include "pool.h"
#include "runner.h"
#include "service.h"
#include "timeouts.h"

#define RUNNER_MAX_LANGUAGES 128

struct manage;
struct runner_metrics;

struct runner {
	struct runner_config cfg;
	struct event_base *base;
	struct pool_timeouts timeouts; /* every pool's, scaled by cfg.slowdown */
	char *qemu_version;
	struct pool_set *set;
	struct language *langs[RUNNER_MAX_LANGUAGES];
	struct pool *pools[RUNNER_MAX_LANGUAGES];
	char *images[RUNNER_MAX_LANGUAGES];
	char *consoles[RUNNER_MAX_LANGUAGES];
	char image_ids[RUNNER_MAX_LANGUAGES][65]; /* IMAGE.erofs.id when its pool last loaded */
	unsigned n;
	unsigned in_flight;
	struct manage *manage;		/* owned */
	struct runner_metrics *metrics; /* owned */
};

/* The served language called name (or an alias), or -1. */
int runner_index(const struct runner *r, const char *name);
/* Serves a language whose image just appeared (takes lang on success). */
int runner_add_language(struct runner *r, struct language *lang, char **ret_error);
/* The id the image builder recorded for the image at path `image`, or "". */
void runner_read_image_id(const char *image, char id[static 65]);
/* Its entry of GET /api/v1/languages. */
json_t *runner_language_json(const struct runner *r, unsigned i);

/* manage.c: the service_ops call and forget entries; r is the ctx. */
int manage_new(struct runner *r, struct manage **ret);
void manage_free(struct manage *m);
void manage_call(void *ctx, const struct service_call *call, service_reply_cb reply, void *userdata,
		 struct service_pending **ret_pending);
void manage_forget(void *ctx, struct service_pending *pending);

/* runner-metrics.c: the service_ops metrics entry (r is the ctx) and what
 * it counts. `language` is always a served language's own name. */
int runner_metrics_new(struct runner *r); /* sets r->metrics, even on failure */
void runner_metrics_free(struct runner_metrics *m);
char *runner_metrics(void *ctx);
void runner_metrics_done(struct runner *r, const char *language, const struct job_result *res);
void runner_metrics_cancelled(struct runner *r, const char *language);
/* Refused with 429 or 503 by the language's pool. */
void runner_metrics_rejected(struct runner *r, const char *language);
