/* collection.c: see collection.h. */
#include "collection.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"

int collection_list(const struct ctl *ctl, const struct collection *c, bool remote)
{
	_cleanup_free_ char *path = NULL;
	json_auto_t *j = NULL;
	int r;

	if (asprintf(&path, "%s%s", c->path, remote ? "?remote=true" : "") < 0) {
		path = NULL; /* asprintf() leaves it undefined */
		ctl_fail("%s", strerror(ENOMEM));
		return EXIT_RUNNERD;
	}
	/* --json: ctl_get() prints the answer; else only a 200 answer is a
	 * listing. */
	r = ctl->json ? ctl_get(ctl, path, &j) : ctl_fetch(ctl, path, &j);
	if (r)
		return r < 0 ? 0 : r;
	c->print(stdout, j, remote);
	return 0;
}

/* c->path/LANGUAGE[/suffix], or NULL after one line on stderr. */
static char *entry_path(const struct collection *c, const char *language, const char *suffix)
{
	_cleanup_free_ char *seg = NULL;
	char *path;
	int r = http_path_segment(language, &seg);

	if (r < 0) {
		ctl_fail("%s: %s", language, r == -ENOMEM ? strerror(ENOMEM) : "not a language name");
		return NULL;
	}
	if (asprintf(&path, "%s/%s%s%s", c->path, seg, suffix ? "/" : "", suffix ? suffix : "") < 0) {
		ctl_fail("%s", strerror(ENOMEM));
		return NULL;
	}
	return path;
}

int collection_remove(const struct ctl *ctl, const struct collection *c, const char *language)
{
	_cleanup_free_ char *path = entry_path(c, language, NULL);
	_cleanup_(http_response_done) struct http_response resp = {0};
	json_auto_t *j = NULL;

	if (!path || http_request(&ctl->http, "DELETE", path, NULL, 0, &resp) < 0)
		return EXIT_RUNNERD;
	if (ctl->json)
		return ctl_print_raw(&resp);
	if (resp.status >= 200 && resp.status < 300)
		return 0;
	j = json_loadb(resp.body, resp.body_len, 0, NULL);
	return ctl_refused(&resp, j);
}

int collection_start(const struct ctl *ctl, const struct collection *c, const char *language,
		     const char *suffix, json_t *body, const struct wait_opts *w)
{
	_cleanup_free_ char *path = NULL, *text = NULL;
	_cleanup_(http_response_done) struct http_response resp = {0};
	json_auto_t *answer = NULL;
	struct task_watch watch = {
	    .list_path = c->path,
	    .list_key = c->key,
	    .command = c->command,
	    .language = language,
	};
	json_t *task;
	const char *named;

	if (!body) { /* a json_pack() that failed: main.c checked the strings are UTF-8 */
		ctl_fail("%s", strerror(ENOMEM));
		return EXIT_RUNNERD;
	}
	path = suffix ? entry_path(c, language, suffix) : strdup(c->path);
	if (!path) {
		if (!suffix)
			ctl_fail("%s", strerror(ENOMEM));
		return EXIT_RUNNERD;
	}
	text = json_dumps(body, JSON_COMPACT);
	if (!text) {
		ctl_fail("%s", strerror(ENOMEM));
		return EXIT_RUNNERD;
	}
	if (http_request(&ctl->http, "POST", path, text, strlen(text), &resp) < 0)
		return EXIT_RUNNERD;
	answer = json_loadb(resp.body, resp.body_len, 0, NULL);
	if (ctl->json)
		ctl_print_raw(&resp);
	if (resp.status < 200 || resp.status >= 300)
		return ctl->json ? EXIT_RUNNERD : ctl_refused(&resp, answer);
	if (!w->wait && ctl->json)
		return 0;
	if (!json_is_object(answer)) {
		ctl_fail("runnerd sent invalid JSON");
		return EXIT_RUNNERD;
	}
	if (!w->wait)
		return 0;
	/* runnerd's name for the language: an alias becomes the name its
	 * entry is listed under. */
	named = json_string_value(json_object_get(answer, "language"));
	if (named)
		watch.language = named;
	task = json_object_get(answer, "task");
	return task_follow(ctl, &watch, json_is_object(task) ? task : NULL, w->timeout_s);
}

void collection_state_cell(const char *state, json_t *task, char *buf, size_t n)
{
	const char *kind = json_string_value(json_object_get(task, "kind"));
	const char *task_state = json_string_value(json_object_get(task, "state"));
	bool builds = kind && (strcmp(kind, "build") == 0 || strcmp(kind, "from-image") == 0 ||
			       strcmp(kind, "create") == 0);

	if (!state)
		state = "-";
	if (!kind || !task_state || builds || strcmp(task_state, "done") == 0)
		snprintf(buf, n, "%s", state);
	else if (strcmp(task_state, "running") == 0)
		snprintf(buf, n, "%s (%s)", state, kind);
	else
		snprintf(buf, n, "%s (%s %s)", state, kind, task_state);
}
