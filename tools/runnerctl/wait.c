/* wait.c: see wait.h. Polling is plain sleep(1) between GETs: runnerctl
 * has one thing to do at a time and no event loop. */
#include "wait.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "time-util.h"

json_t *task_find(json_t *listing, const char *key, const char *language)
{
	json_t *e;
	size_t i;

	json_array_foreach(json_object_get(listing, key), i, e)
	{
		const char *l = json_string_value(json_object_get(e, "language"));
		if (l && strcmp(l, language) == 0) {
			json_t *task = json_object_get(e, "task");
			return json_is_object(task) ? task : NULL;
		}
	}
	return NULL;
}

enum task_state task_judge(json_t *task, const char *started_at)
{
	const char *state, *started;

	if (!task)
		return TASK_GONE;
	if (!json_is_object(task))
		return TASK_INVALID;
	started = json_string_value(json_object_get(task, "started_at"));
	if (started_at && started && strcmp(started, started_at) != 0)
		return TASK_REPLACED;
	state = json_string_value(json_object_get(task, "state"));
	if (!state)
		return TASK_INVALID;
	if (strcmp(state, "running") == 0)
		return TASK_RUNNING;
	if (strcmp(state, "done") == 0)
		return TASK_DONE;
	if (strcmp(state, "failed") == 0)
		return TASK_FAILED;
	return TASK_INVALID;
}

/* What runnerctl says of task: a new step, or the end. Returns -1 while
 * the task runs, else runnerctl's exit code. *started_at and *last_step
 * (owned) are updated. */
static int task_report(const struct task_watch *w, json_t *task, char **started_at, char **last_step)
{
	enum task_state s = task_judge(task, *started_at);
	const char *step = json_string_value(json_object_get(task, "step"));
	const char *started = json_string_value(json_object_get(task, "started_at"));
	const char *error = json_string_value(json_object_get(task, "error"));

	if (s == TASK_RUNNING || s == TASK_DONE || s == TASK_FAILED) {
		if (step && *step && (!*last_step || strcmp(step, *last_step) != 0)) {
			ctl_fail("%s: %s", w->language, step);
			free(*last_step);
			*last_step = strdup(step);
		}
		if (!*started_at && started)
			*started_at = strdup(started);
	}
	switch (s) {
	case TASK_RUNNING:
		return -1;
	case TASK_DONE:
		return 0;
	case TASK_FAILED:
		ctl_fail("%s: failed: %s", w->language, error ? error : "runnerd gave no reason");
		return 1;
	case TASK_GONE:
		ctl_fail("%s: runnerd lists no task for it any more (see runnerctl %s list)", w->language,
			 w->command);
		return EXIT_RUNNERD;
	case TASK_REPLACED:
		ctl_fail("%s: the task ended unseen and another one began (see runnerctl %s list)",
			 w->language, w->command);
		return EXIT_RUNNERD;
	case TASK_INVALID:
		break;
	}
	ctl_fail("%s: runnerd sent a task runnerctl does not understand", w->language);
	return EXIT_RUNNERD;
}

int task_follow(const struct ctl *ctl, const struct task_watch *w, json_t *first, unsigned timeout_s)
{
	_cleanup_free_ char *started_at = NULL, *last_step = NULL;
	uint64_t deadline = now_ns() + (uint64_t)timeout_s * 1000000000u;
	json_auto_t *listing = NULL;
	json_t *task = first;
	int r;

	/* Without a task in runnerd's answer, the first look is in the listing. */
	for (bool look = first != NULL;; look = true) {
		if (look) {
			r = task_report(w, task, &started_at, &last_step);
			if (r >= 0)
				return r;
		}
		if (now_ns() >= deadline) {
			ctl_fail("%s: still running after %u s; the task goes on in runnerd (see runnerctl "
				 "%s list)",
				 w->language, timeout_s, w->command);
			return EXIT_TIMEOUT;
		}
		sleep(1);
		json_decref(listing);
		listing = NULL;
		r = ctl_fetch(ctl, w->list_path, &listing);
		if (r)
			return r;
		task = task_find(listing, w->list_key, w->language);
	}
}
