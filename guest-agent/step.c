/* step.c: one step of a job, from fork to a filled struct rd_step_result.
 *
 * Order matters in the child: it joins the step's cgroup before anything
 * else can fork, and drops privileges last, after the rlimits that an
 * unprivileged process could no longer raise. Everything the agent holds is
 * O_CLOEXEC, so the program inherits exactly fds 0, 1 and 2.
 *
 * The step is over when the direct child has exited (then the rest of its
 * cgroup is killed: daemonised leftovers must not outlive the step), its
 * cgroup is empty and both output pipes are at EOF or closed at the cap. */
#include "step.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent-log.h"
#include "cgroup.h"
#include "sys.h"

/* How often the loop samples the cgroup's cpu use while the step runs. */
#define CPU_CHECK_MS 100

static void close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

static void child_fail(const char *what)
{
	char msg[200];
	int n = snprintf(msg, sizeof msg, "runnerd-agent: %s: %s\n", what, strerror(errno));

	if (write(2, msg, (size_t)n) < 0) {
		/* stderr is the step's pipe; nothing more to do */
	}
	_exit(127);
}

static void set_limit(int resource, rlim_t soft, rlim_t hard)
{
	struct rlimit rl = {.rlim_cur = soft, .rlim_max = hard};

	if (setrlimit(resource, &rl) < 0)
		child_fail("setrlimit");
}

static __attribute__((noreturn)) void child_exec(const struct step_spec *s, struct cg *cg, int in, int out,
						 int err)
{
	sigset_t none;
	rlim_t cpu_s = (s->cpu_ms + 999) / 1000;
	char *const env[] = {(char *)sys_path_env(), "HOME=" WORK_DIR, "TMPDIR=/tmp", "LANG=C.UTF-8", NULL};

	/* The agent ignores SIGPIPE and blocks SIGCHLD; both survive exec. */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	setsid();
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
		_exit(127);
	if (write(cg->procs_fd, "0", 1) != 1)
		child_fail("joining the step cgroup");
	/* Inherited from the agent's -1000; a job must be the OOM victim. */
	if (sys_write_file(AT_FDCWD, "/proc/self/oom_score_adj", "0") < 0)
		child_fail("oom_score_adj");
	if (chdir(WORK_DIR) < 0)
		child_fail("chdir " WORK_DIR);
	set_limit(RLIMIT_CPU, cpu_s, cpu_s + 1);
	set_limit(RLIMIT_FSIZE, (rlim_t)s->fsize_kb * 1024, (rlim_t)s->fsize_kb * 1024);
	set_limit(RLIMIT_CORE, 0, 0);
	set_limit(RLIMIT_NOFILE, 256, 256);
	if (setgroups(0, NULL) < 0 || setgid(RD_RUNNER_GID) < 0 || setuid(RD_RUNNER_UID) < 0)
		child_fail("dropping privileges");
	/* setuid binaries in the image must not give root back. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		child_fail("no_new_privs");
	execvpe(s->argv[0], (char *const *)s->argv, env);
	child_fail(s->argv[0]);
	_exit(127);
}

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ? -errno : 0;
}

/* Reads what is there into buf (capacity cap + 1, so that one byte past the
 * cap proves truncation). Closes *fd at EOF or when the cap is exceeded:
 * the writer then gets EPIPE/SIGPIPE, as with `prog | head -c`. */
static void drain(int *fd, uint8_t *buf, uint32_t *len, uint32_t cap, uint32_t *limits, uint32_t flag)
{
	for (;;) {
		ssize_t n = read(*fd, buf + *len, cap + 1 - *len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return;
			close_fd(fd);
			return;
		}
		if (n == 0) {
			close_fd(fd);
			return;
		}
		*len += (uint32_t)n;
		if (*len > cap) {
			*len = cap;
			*limits |= flag;
			close_fd(fd);
			return;
		}
	}
}

int step_run(const struct step_spec *s, struct step_io *io, struct rd_step_result *res)
{
	struct cg cg = CG_INIT;
	int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
	uint32_t out_len = 0, err_len = 0, limits = 0, stdin_off = 0;
	uint64_t t_fork, t_exit = 0, deadline, next_cpu_check;
	uint64_t cpu_kill_us = ((uint64_t)(s->cpu_ms + 999) / 1000 + 1) * 1000000u;
	bool child_done = false, killed = false;
	int status = 0, r;
	pid_t pid;

	*res = (struct rd_step_result){0};
	io->out = malloc((size_t)s->output_bytes + 1);
	io->err = malloc((size_t)s->output_bytes + 1);
	if (!io->out || !io->err)
		return -ENOMEM;

	r = cg_create(&cg, s->cg_index, (uint64_t)s->memory_kb * 1024, s->pids);
	if (r < 0)
		goto out;
	if (s->stdin_data) {
		if (pipe2(in, O_CLOEXEC) < 0) {
			r = -errno;
			goto out;
		}
	} else {
		in[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (in[0] < 0) {
			r = -errno;
			goto out;
		}
	}
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
		r = -errno;
		goto out;
	}
	/* Non-blocking on our ends only: the program sees ordinary pipes. */
	if ((in[1] >= 0 && set_nonblock(in[1]) < 0) || set_nonblock(out[0]) < 0 || set_nonblock(err[0]) < 0) {
		r = -errno;
		goto out;
	}

	t_fork = now_ns(CLOCK_MONOTONIC);
	pid = fork();
	if (pid < 0) {
		r = -errno;
		goto out;
	}
	if (pid == 0)
		child_exec(s, &cg, in[0], out[1], err[1]);
	close_fd(&in[0]);
	close_fd(&out[1]);
	close_fd(&err[1]);
	if (in[1] >= 0 && s->stdin_len == 0)
		close_fd(&in[1]);

	deadline = t_fork + (uint64_t)s->wall_ms * 1000000u;
	next_cpu_check = t_fork + CPU_CHECK_MS * 1000000u;
	for (;;) {
		struct pollfd p[5] = {
		    {.fd = s->sigfd, .events = POLLIN},	     {.fd = in[1], .events = POLLOUT},
		    {.fd = out[0], .events = POLLIN},	     {.fd = err[0], .events = POLLIN},
		    {.fd = cg.events_fd, .events = POLLPRI},
		};
		uint64_t now = now_ns(CLOCK_MONOTONIC), wake = next_cpu_check;
		int timeout;

		if (child_done && out[0] < 0 && err[0] < 0 && !cg_populated(&cg))
			break;
		if (!killed) {
			if (now >= deadline) {
				cg_kill(&cg);
				killed = true;
				limits |= RD_LIMIT_WALL;
			} else if (now >= next_cpu_check) {
				/* RLIMIT_CPU is per process; this catches the sum. */
				if (cg_read_key(&cg, "cpu.stat", "usage_usec") >= cpu_kill_us) {
					cg_kill(&cg);
					killed = true;
					limits |= RD_LIMIT_CPU;
				}
				next_cpu_check = now + CPU_CHECK_MS * 1000000u;
			}
			if (deadline < wake)
				wake = deadline;
		}
		/* Once killing, re-check "populated" now and then even if a
		 * cgroup.events notification was missed. */
		timeout = killed || child_done ? 50 : (int)((wake > now ? wake - now : 0) / 1000000u) + 1;
		if (poll(p, 5, timeout) < 0 && errno != EINTR) {
			r = -errno;
			cg_kill(&cg);
			goto out;
		}
		if (p[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			while (read(s->sigfd, &si, sizeof si) == sizeof si)
				;
		}
		if (!child_done && sys_reap(pid, &status)) {
			child_done = true;
			t_exit = now_ns(CLOCK_MONOTONIC);
			close_fd(&in[1]);
			cg_kill(&cg);
		} else if (child_done) {
			sys_reap(0, &status); /* leftovers re-parented to us */
		}
		if (in[1] >= 0 && (p[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
			ssize_t n = write(in[1], s->stdin_data + stdin_off, s->stdin_len - stdin_off);
			if (n > 0)
				stdin_off += (uint32_t)n;
			/* EPIPE: the program closed stdin; that is its right. */
			if ((n < 0 && errno != EAGAIN && errno != EINTR) || stdin_off == s->stdin_len)
				close_fd(&in[1]);
		}
		if (out[0] >= 0 && (p[2].revents & (POLLIN | POLLHUP | POLLERR)))
			drain(&out[0], io->out, &out_len, s->output_bytes, &limits, RD_LIMIT_STDOUT);
		if (err[0] >= 0 && (p[3].revents & (POLLIN | POLLHUP | POLLERR)))
			drain(&err[0], io->err, &err_len, s->output_bytes, &limits, RD_LIMIT_STDERR);
	}

	res->present = true;
	if (WIFSIGNALED(status)) {
		res->exit_code = -1;
		res->signal = WTERMSIG(status);
	} else {
		res->exit_code = WEXITSTATUS(status);
	}
	res->cpu_ms = (uint32_t)(cg_read_key(&cg, "cpu.stat", "usage_usec") / 1000);
	res->wall_ms = (uint32_t)((t_exit - t_fork) / 1000000u);
	res->peak_memory_kb = (uint32_t)(cg_read_u64(&cg, "memory.peak") / 1024);
	if (cg_read_key(&cg, "memory.events", "oom_kill") > 0)
		limits |= RD_LIMIT_MEMORY;
	if (cg_read_key(&cg, "pids.events", "max") > 0)
		limits |= RD_LIMIT_PIDS;
	if (res->signal == SIGXCPU || (res->signal == SIGKILL && res->cpu_ms >= s->cpu_ms))
		limits |= RD_LIMIT_CPU;
	if (res->signal == SIGXFSZ)
		limits |= RD_LIMIT_FSIZE;
	res->limits_hit = limits;
	{
		uint64_t setup_ns = t_fork - s->t_job_ns;
		setup_ns = setup_ns > s->not_setup_ns ? setup_ns - s->not_setup_ns : 0;
		res->setup_us = setup_ns / 1000 > UINT32_MAX ? UINT32_MAX : (uint32_t)(setup_ns / 1000);
	}
	res->out = io->out;
	res->out_len = out_len;
	res->err = io->err;
	res->err_len = err_len;
	r = 0;
out:
	close_fd(&in[0]);
	close_fd(&in[1]);
	close_fd(&out[0]);
	close_fd(&out[1]);
	close_fd(&err[0]);
	close_fd(&err[1]);
	cg_destroy(&cg);
	return r;
}

void step_io_free(struct step_io *io)
{
	free(io->out);
	free(io->err);
	io->out = io->err = NULL;
}
