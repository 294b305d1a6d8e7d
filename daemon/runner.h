/* runner.h: the daemon's execution service: one pool per language found in
 * the languages directory (with an image present), exposed to the HTTP
 * layer as struct service_ops. */
#pragma once

#include <event2/event.h>
#include <stdbool.h>

#include "cleanup.h"
#include "service.h"

struct runner_config {
	const char *languages_dir; /* *.lang files */
	const char *images_dir;	   /* IMAGE.erofs images, named by the languages */
	const char *kernel;	   /* guest vmlinux */
	const char *cache_dir;	   /* snapshot templates */
	const char *qemu;	   /* qemu-system-x86_64 */
	const char *accel;	   /* resolved: "kvm" or "tcg" */
	const char *accel_warning; /* shown in /health when set (TCG fallback) */
	const char *only;	   /* comma-separated languages to serve, or NULL for all */
	const char *console_dir;   /* guest consoles to DIR/LANG.console, or NULL to discard */
	struct jail *jail;	   /* borrowed: every VMM's jail; NULL = none (--no-jail) */
	const char *runner_image;  /* tools/runner-image: builds and imports images */
	const char *agent;	   /* the guest agent binary runner-image installs, or NULL */
	const char *s3_tool;	   /* runnerd-s3: moves images and snapshots */
	const char *s3_endpoint;   /* or NULL: runnerd-s3's default (AWS_ENDPOINT_URL...) */
	const char *s3_bucket;	   /* default bucket, or NULL */
	const char *s3_region;	   /* or NULL */
	unsigned pool_min;	   /* clones kept ready per language even when idle */
	unsigned pool_max;	   /* at most, when demand asks for them */
	unsigned max_vms;	   /* over all languages */
	unsigned max_builds;	   /* template builds at a time */
	unsigned idle_s;	   /* a language unused this long shrinks its pool */
	unsigned queue_max;
	unsigned memory_mb; /* guest RAM unless the language sets its own */
	unsigned tb_size_mb;
	unsigned tsc_khz;
	double slowdown;
	bool warm_clones;
};

struct runner;

int runner_new(struct event_base *base, const struct runner_config *cfg, struct runner **ret,
	       char **ret_error);
void runner_service_ops(struct runner *r, struct service_ops *ops);
/* SIGHUP: the new configuration's pool sizes, queue lengths and VM caps
 * apply; languages whose image changed since their template was made
 * (and failed ones) make it again. Runs in flight are untouched. Returns
 * how many languages reload their template. */
unsigned runner_reload(struct runner *r, const struct runner_config *cfg);
/* Kills every VM and frees the pools; in-flight executions are dropped
 * without callbacks. */
void runner_free(struct runner *r);
DEFINE_CLEANUP(struct runner *, runner_free)
