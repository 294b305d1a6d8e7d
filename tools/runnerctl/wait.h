/* wait.h: following one of runnerd's background tasks (building an image,
 * creating a snapshot, an upload or a download) to its end. runnerd
 * answers such a request with 202 and the task; the task then shows in
 * the entry of its language in the collection's listing, which runnerctl
 * polls once a second, printing each new progress line ("step") on stderr
 * as "runnerctl: LANG: STEP", until the task is no longer running. The
 * task stays the one that was started: a listing showing a task with
 * another start time means ours ended unseen. */
#pragma once

#include <jansson.h>

#include "ctl.h"

struct wait_opts {
	bool wait;	    /* false: --no-wait */
	unsigned timeout_s; /* --wait-timeout */
};

#define WAIT_TIMEOUT_DEFAULT 3600

/* Where to look for a task. Strings borrowed. */
struct task_watch {
	const char *list_path; /* "/api/v1/rootfs" */
	const char *list_key;  /* "rootfs": the listing's array of entries */
	const char *command;   /* "rootfs": for "runnerctl rootfs list" in messages */
	const char *language;  /* the entry's "language" */
};

enum task_state {
	TASK_RUNNING,
	TASK_DONE,
	TASK_FAILED,
	TASK_GONE,     /* no task where ours should be */
	TASK_REPLACED, /* another task (another started_at) */
	TASK_INVALID,  /* not a task object, or a state runnerctl does not know */
};

/* The task of language's entry in listing ({key: [entries]}), borrowed, or
 * NULL if there is no such entry or it has no task. */
json_t *task_find(json_t *listing, const char *key, const char *language);

/* What task (NULL: none) says of the task started at started_at (NULL:
 * not known, any task is ours). */
enum task_state task_judge(json_t *task, const char *started_at);

/* Follows the task until it ends: `first` is the task of the 202 answer
 * (borrowed; NULL if it had none). Returns 0 when it is done, 1 when it
 * failed (its error on stderr), EXIT_TIMEOUT after timeout_s seconds,
 * EXIT_RUNNERD if runnerd fails, refuses or loses sight of it. */
int task_follow(const struct ctl *ctl, const struct task_watch *w, json_t *first, unsigned timeout_s);
