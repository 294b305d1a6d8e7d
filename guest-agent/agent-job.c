/* agent-job.c: the per-job sequence. Everything a previous job could have
 * left behind (processes, files in /work or /tmp) is destroyed first, then
 * the guest is made unique (entropy reseed, clock) before any job code
 * runs. */
#include "agent-job.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent-log.h"
#include "sys.h"

static unsigned cg_counter;
/* Size of the clean /work and /tmp that job_prepare() left mounted for the
 * next job; 0 when the current ones may hold an earlier job's files. */
static uint32_t prepared_tmpfs_kb;

static uint32_t or_default(uint32_t v, uint32_t def)
{
	return v ? v : def;
}

static int write_files(const struct rd_job *job, char *errmsg, size_t size)
{
	int dir = open(WORK_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (dir < 0) {
		snprintf(errmsg, size, "open %s: %s", WORK_DIR, strerror(errno));
		return -errno;
	}
	for (unsigned i = 0; i < job->n_files; i++) {
		const struct rd_file *f = &job->files[i];
		uint32_t off = 0;
		int fd;

		/* Decoded names are valid already; checking again is cheap and
		 * keeps this function safe on its own. */
		if (!rd_file_name_valid(f->name, strlen(f->name))) {
			snprintf(errmsg, size, "invalid file name");
			close(dir);
			return -EINVAL;
		}
		fd = openat(dir, f->name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd < 0)
			goto fail;
		while (off < f->len) {
			ssize_t n = write(fd, f->data + off, f->len - off);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				if (n == 0)
					errno = ENOSPC;
				close(fd);
				goto fail;
			}
			off += (uint32_t)n;
		}
		if (fchown(fd, RD_RUNNER_UID, RD_RUNNER_GID) < 0) {
			close(fd);
			goto fail;
		}
		close(fd);
		continue;
	fail:
		snprintf(errmsg, size, "writing file %u: %s", i, strerror(errno));
		close(dir);
		return -EIO;
	}
	close(dir);
	return 0;
}

int job_prepare(uint32_t tmpfs_kb, char *errmsg, size_t errmsg_size)
{
	int r;

	prepared_tmpfs_kb = 0;
	sys_kill_all();
	r = sys_fresh_tmpfs(WORK_DIR, tmpfs_kb, 0755, RD_RUNNER_UID, RD_RUNNER_GID);
	if (r >= 0)
		r = sys_fresh_tmpfs("/tmp", tmpfs_kb, 01777, 0, 0);
	if (r < 0) {
		snprintf(errmsg, errmsg_size, "fresh tmpfs: %s", strerror(-r));
		return r;
	}
	prepared_tmpfs_kb = tmpfs_kb;
	return 0;
}

/* One step of the job in a cgroup of its own; cpu_ms 0 means its wall
 * limit. A failure to set the step up (not the program's own failure)
 * is said in errmsg. */
static int run_step(struct step_spec *s, enum rd_step kind, const char *const *argv, uint32_t wall_ms,
		    uint32_t cpu_ms, struct step_io *io, struct rd_step_result *out, char *errmsg,
		    size_t errmsg_size)
{
	s->kind = kind;
	s->cg_index = cg_counter++;
	s->argv = argv;
	s->wall_ms = wall_ms;
	s->cpu_ms = or_default(cpu_ms, wall_ms);
	int r = step_run(s, io, out);
	if (r < 0)
		snprintf(errmsg, errmsg_size, "%s step setup: %s",
			 kind == RD_STEP_COMPILE ? "compile" : "run", strerror(-r));
	return r;
}

int job_run(const struct rd_job *job, int sigfd, uint64_t t_job_ns, struct rd_result *res,
	    struct step_io io[2], char *errmsg, size_t errmsg_size)
{
	const struct rd_limits *l = &job->limits;
	uint32_t tmpfs_kb = or_default(l->tmpfs_kb, RD_DEFAULT_TMPFS_KB);
	uint32_t output = or_default(l->output_bytes, RD_DEFAULT_OUTPUT_BYTES);
	struct step_spec s = {
	    .memory_kb = or_default(l->memory_kb, RD_DEFAULT_MEMORY_KB),
	    .pids = or_default(l->pids, RD_DEFAULT_PIDS),
	    .fsize_kb = or_default(l->fsize_kb, RD_DEFAULT_FSIZE_KB),
	    .output_bytes = output > STEP_OUTPUT_MAX ? STEP_OUTPUT_MAX : output,
	    .sigfd = sigfd,
	    .t_job_ns = t_job_ns,
	};
	int r;

	*res = (struct rd_result){0};
	/* Normally the clean slate was made after the previous job (or at
	 * boot), off the request path; make it now if not, or if this job asks
	 * for another size. Either way nothing of an earlier job survives. */
	if (prepared_tmpfs_kb != tmpfs_kb) {
		r = job_prepare(tmpfs_kb, errmsg, errmsg_size);
		if (r < 0)
			return r;
	}
	prepared_tmpfs_kb = 0;
	r = sys_reseed(job->entropy, job->entropy_len);
	if (r < 0) {
		/* Without a reseed, clones of one snapshot share their CRNG. */
		snprintf(errmsg, errmsg_size, "entropy reseed: %s", strerror(-r));
		return r;
	}
	r = sys_set_clock(job->realtime_ns);
	if (r < 0) {
		snprintf(errmsg, errmsg_size, "set clock: %s", strerror(-r));
		return r;
	}
	r = write_files(job, errmsg, errmsg_size);
	if (r < 0)
		return r;

	if (job->compile_argc > 0) {
		s.stdin_data = NULL;
		s.stdin_len = 0;
		r = run_step(&s, RD_STEP_COMPILE, job->compile_argv,
			     or_default(l->compile_wall_ms, RD_DEFAULT_COMPILE_WALL_MS), l->compile_cpu_ms,
			     &io[0], &res->compile, errmsg, errmsg_size);
		if (r < 0 || res->compile.exit_code != 0 || res->compile.limits_hit != 0)
			return r;
		/* setup_us of the run step counts only the agent's own work. */
		s.not_setup_ns = (uint64_t)res->compile.wall_ms * 1000000u;
	}
	s.stdin_data = job->stdin_data ? job->stdin_data : (const uint8_t *)"";
	s.stdin_len = job->stdin_len;
	return run_step(&s, RD_STEP_RUN, job->run_argv, or_default(l->wall_ms, RD_DEFAULT_WALL_MS), l->cpu_ms,
			&io[1], &res->run, errmsg, errmsg_size);
}
