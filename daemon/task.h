/* task.h: an administrative job run as a child process in the background,
 * for the work that takes minutes and must not block the event loop:
 * building an image (tools/runner-image), importing a container image,
 * moving images and snapshots to and from S3 (runnerd-s3). The child's
 * stderr is its progress: each line becomes the task's `step`, and the last
 * line of a failed child its `error`. Its stdout is kept (bounded) for
 * commands that answer with data, such as a remote listing. A task is
 * observed as JSON: {"kind", "state", "step", "error"?, "started_at",
 * "finished_at"?}. */
#pragma once

#include <event2/event.h>
#include <jansson.h>
#include <stdbool.h>
#include <time.h>

#include "cleanup.h"

enum task_state {
	TASK_RUNNING,
	TASK_DONE,
	TASK_FAILED,
};

struct task;

/* Called once when the child has exited and its pipes are drained;
 * task_output() then holds its stdout. */
typedef void (*task_done_cb)(struct task *t, void *userdata);

/* Starts argv[0] (a path) with argv, its stdin /dev/null, in its own
 * process group. kind names the work ("build", "upload", ...). */
int task_start(struct event_base *base, const char *kind, char *const argv[], task_done_cb done,
	       void *userdata, struct task **ret);
/* Kills a running child (its whole process group) and frees the task
 * without calling done. Accepts NULL. */
void task_free(struct task *t);
DEFINE_CLEANUP(struct task *, task_free)

enum task_state task_get_state(const struct task *t);
const char *task_kind(const struct task *t);
/* The child's stdout (NUL-terminated; at most 4 MiB kept). */
const char *task_output(const struct task *t);
/* Its last stderr line, or an exit description if it printed none. */
const char *task_error(const struct task *t);
json_t *task_json(const struct task *t);
time_t task_started_at(const struct task *t);
