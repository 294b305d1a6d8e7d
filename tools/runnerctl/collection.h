/* collection.h: what the administrators' commands do alike on runnerd's
 * two collections, root filesystem images (/api/v1/rootfs) and snapshots
 * (/api/v1/snapshots): list one (a table, or the JSON unchanged), start a
 * task on an entry and follow it (wait.h), remove an entry. runnerd
 * answers 403 to whoever is not one of its administrators; every refusal
 * is one line on stderr and EXIT_RUNNERD. */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include "ctl.h"
#include "wait.h"

struct collection {
	const char *path;    /* "/api/v1/rootfs" */
	const char *key;     /* "rootfs": the listing's array */
	const char *command; /* "rootfs": runnerctl's command, for messages */
	/* Prints a listing (local, or of the bucket with ?remote=true). */
	void (*print)(FILE *out, json_t *listing, bool remote);
};

int collection_list(const struct ctl *ctl, const struct collection *c, bool remote);

/* DELETE path/LANGUAGE: prints nothing (--json: the answer). */
int collection_remove(const struct ctl *ctl, const struct collection *c, const char *language);

/* POSTs body (a JSON object; NULL: it could not be made, out of memory) to c->path, or to
 * c->path/LANGUAGE/suffix when suffix is not NULL, and follows the task runnerd starts for language unless w
 * says not to. --json prints runnerd's answer to the POST; the progress still goes to stderr. Returns
 * runnerctl's exit code (wait.h's task_follow()). */
int collection_start(const struct ctl *ctl, const struct collection *c, const char *language,
		     const char *suffix, json_t *body, const struct wait_opts *w);

/* The STATE cell of an entry: its state, and what a task that is not a
 * build (which the state already says) is doing or how it failed:
 * "ready (upload)", "ready (download failed)". */
void collection_state_cell(const char *state, json_t *task, char *buf, size_t n);
