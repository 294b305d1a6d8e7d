/* task.c: background child processes with progress (see task.h). */
#include "task.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "event-util.h"
#include "time-util.h"

#define TASK_OUTPUT_MAX (4u << 20)
#define TASK_LINE_MAX	1024

extern char **environ;

struct task {
	struct event_base *base;
	char kind[32];
	enum task_state state;
	pid_t pid;
	int pidfd, out_fd, err_fd; /* -1 once closed */
	struct event *exit_ev, *out_ev, *err_ev;
	char *out;
	size_t out_len;
	char line[TASK_LINE_MAX]; /* the stderr line being read */
	size_t line_len;
	char step[TASK_LINE_MAX]; /* the last complete one */
	char error[TASK_LINE_MAX];
	int exit_status; /* waitid's si_status, once exited */
	bool exited;
	time_t started, finished;
	task_done_cb done;
	void *userdata;
};

static void fd_close(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void task_maybe_finish(struct task *t)
{
	if (!t->exited || t->out_fd >= 0 || t->err_fd >= 0 || t->state != TASK_RUNNING)
		return;
	t->finished = time(NULL);
	if (t->exit_status == 0)
		t->state = TASK_DONE;
	else {
		t->state = TASK_FAILED;
		if (t->step[0])
			snprintf(t->error, sizeof(t->error), "%s", t->step);
		else
			snprintf(t->error, sizeof(t->error), "%s exited with status %d", t->kind,
				 t->exit_status);
	}
	if (t->done)
		t->done(t, t->userdata);
}

static void line_done(struct task *t)
{
	/* Strip the tool's name prefix ("runner-image: ") for the step. */
	t->line[t->line_len] = 0;
	const char *s = t->line, *colon = strstr(s, ": ");
	if (colon && colon - s < 32 && !memchr(s, ' ', (size_t)(colon - s)))
		s = colon + 2;
	if (*s)
		snprintf(t->step, sizeof(t->step), "%s", s);
	t->line_len = 0;
}

static void err_cb(evutil_socket_t fd, short what, void *arg)
{
	struct task *t = arg;
	char buf[4096];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		if (t->line_len)
			line_done(t);
		safe_event_free(t->err_ev);
		t->err_ev = NULL;
		fd_close(&t->err_fd);
		task_maybe_finish(t);
		return;
	}
	for (ssize_t i = 0; i < n; i++) {
		char ch = buf[i];
		if (ch == '\n' || ch == '\r') {
			if (t->line_len)
				line_done(t);
		} else if (t->line_len < sizeof(t->line) - 1)
			t->line[t->line_len++] = ch >= ' ' && ch < 0x7f ? ch : '?'; /* JSON-safe */
	}
}

static void out_cb(evutil_socket_t fd, short what, void *arg)
{
	struct task *t = arg;
	char buf[16384];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		safe_event_free(t->out_ev);
		t->out_ev = NULL;
		fd_close(&t->out_fd);
		task_maybe_finish(t);
		return;
	}
	if (t->out_len + (size_t)n > TASK_OUTPUT_MAX)
		return; /* kept bounded: the rest is dropped */
	char *grown = realloc(t->out, t->out_len + (size_t)n + 1);
	if (!grown)
		return;
	t->out = grown;
	memcpy(t->out + t->out_len, buf, (size_t)n);
	t->out_len += (size_t)n;
	t->out[t->out_len] = 0;
}

static void exit_cb(evutil_socket_t fd, short what, void *arg)
{
	struct task *t = arg;
	siginfo_t si = {0};

	if (waitid((idtype_t)P_PIDFD, (id_t)t->pidfd, &si, WEXITED | WNOHANG) < 0 || si.si_pid == 0)
		return;
	t->exited = true;
	t->exit_status = si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;
	safe_event_free(t->exit_ev);
	t->exit_ev = NULL;
	fd_close(&t->pidfd);
	task_maybe_finish(t);
}

int task_start(struct event_base *base, const char *kind, char *const argv[], task_done_cb done,
	       void *userdata, struct task **ret)
{
	_cleanup_(task_freep) struct task *t = calloc(1, sizeof(*t));
	int out[2] = {-1, -1}, err[2] = {-1, -1}, r;

	if (!t)
		return -ENOMEM;
	t->base = base;
	t->pidfd = t->out_fd = t->err_fd = -1;
	t->pid = -1;
	t->done = done;
	t->userdata = userdata;
	t->started = time(NULL);
	snprintf(t->kind, sizeof(t->kind), "%s", kind);
	snprintf(t->step, sizeof(t->step), "starting");
	if (pipe2(out, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(err, O_CLOEXEC) < 0) {
		r = -errno;
		close(out[0]);
		close(out[1]);
		return r;
	}
	/* fork + exec, not posix_spawn (vmm-client's spawn.h shadows its
	 * header here); the child only dups, resets and execs. */
	t->pid = fork();
	if (t->pid == 0) {
		sigset_t none;
		int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		setpgid(0, 0);
		/* The tools make images and templates that the VMMs' uids read:
		 * world-readable, whatever runnerd's own umask (the unit's 0077). */
		umask(022);
		if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(out[1], 1) < 0 || dup2(err[1], 2) < 0)
			_exit(127);
		execv(argv[0], argv);
		dprintf(2, "%s: cannot run %s: %s\n", kind, argv[0], strerror(errno));
		_exit(127);
	}
	r = t->pid < 0 ? -errno : 0;
	close(out[1]);
	close(err[1]);
	t->out_fd = out[0];
	t->err_fd = err[0];
	if (r < 0) {
		t->pid = -1;
		return r;
	}
	t->pidfd = (int)syscall(SYS_pidfd_open, t->pid, 0);
	if (t->pidfd < 0)
		return -errno;
	fcntl(t->out_fd, F_SETFL, O_NONBLOCK);
	fcntl(t->err_fd, F_SETFL, O_NONBLOCK);
	t->exit_ev = event_new(base, t->pidfd, EV_READ | EV_PERSIST, exit_cb, t);
	t->out_ev = event_new(base, t->out_fd, EV_READ | EV_PERSIST, out_cb, t);
	t->err_ev = event_new(base, t->err_fd, EV_READ | EV_PERSIST, err_cb, t);
	if (!t->exit_ev || !t->out_ev || !t->err_ev)
		return -ENOMEM;
	event_add(t->exit_ev, NULL);
	event_add(t->out_ev, NULL);
	event_add(t->err_ev, NULL);
	*ret = TAKE_PTR(t);
	return 0;
}

void task_free(struct task *t)
{
	if (!t)
		return;
	if (t->pid > 0 && !t->exited) {
		kill(-t->pid, SIGKILL);
		if (t->pidfd >= 0) {
			siginfo_t si;
			(void)waitid((idtype_t)P_PIDFD, (id_t)t->pidfd, &si, WEXITED);
		}
	}
	safe_event_free(t->exit_ev);
	safe_event_free(t->out_ev);
	safe_event_free(t->err_ev);
	fd_close(&t->pidfd);
	fd_close(&t->out_fd);
	fd_close(&t->err_fd);
	free(t->out);
	free(t);
}

enum task_state task_get_state(const struct task *t)
{
	return t->state;
}

const char *task_kind(const struct task *t)
{
	return t->kind;
}

const char *task_output(const struct task *t)
{
	return t->out ? t->out : "";
}

const char *task_error(const struct task *t)
{
	return t->error;
}

json_t *task_json(const struct task *t)
{
	static const char *const states[] = {"running", "done", "failed"};
	char started[32], finished[32];

	time_iso8601(t->started, started);
	json_t *j = json_pack("{s:s,s:s,s:s,s:s}", "kind", t->kind, "state", states[t->state], "step",
			      t->step, "started_at", started);
	if (j && t->state != TASK_RUNNING) {
		time_iso8601(t->finished, finished);
		json_object_set_new(j, "finished_at", json_string(finished));
	}
	if (j && t->state == TASK_FAILED)
		json_object_set_new(j, "error", json_string(t->error));
	return j;
}

time_t task_started_at(const struct task *t)
{
	return t->started;
}
