/* jobspec.c: request -> rd_job and rd_result -> job_result. The status is
 * derived from what the agent reports: a failed compile step decides it,
 * else the run step's limits; the exit code itself never makes a run fail. */
#include "jobspec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "time-util.h"

/* language_expand() writes up to LANGUAGE_MAX_ARGS words and a NULL. */
_Static_assert(RD_MAX_ARGV >= LANGUAGE_MAX_ARGS, "a language's argv fits a job's");

int jobspec_build(const struct job_request *req, const struct language *lang, const struct rd_limits *lim,
		  const uint8_t *entropy, uint32_t entropy_len, struct jobspec_scratch *scratch,
		  struct rd_job *ret)
{
	struct rd_job *j = ret;
	size_t half = sizeof(scratch->buf) / 2;
	int n;

	if (req->n_files == 0 || req->n_files > RD_MAX_FILES)
		return -EINVAL;
	memset(j, 0, sizeof(*j));
	j->entropy = entropy;
	j->entropy_len = entropy_len;
	j->realtime_ns = realtime_ns();
	if (req->files[0].name)
		snprintf(scratch->file, sizeof(scratch->file), "%s", req->files[0].name);
	else
		language_main_file(lang, req->files[0].data, req->files[0].len, scratch->file);
	for (size_t i = 0; i < req->n_files; i++) {
		j->files[i].name = i == 0 ? scratch->file : req->files[i].name;
		j->files[i].data = req->files[i].data;
		j->files[i].len = (uint32_t)req->files[i].len;
	}
	j->n_files = (unsigned)req->n_files;
	j->stdin_data = req->stdin_data;
	j->stdin_len = (uint32_t)req->stdin_len;
	/* Each command expands, straight into the job's argv, into its own
	 * half of the scratch buffer. */
	n = language_expand(&lang->compile, scratch->file, scratch->buf, half, j->compile_argv);
	if (n < 0)
		return n;
	j->compile_argc = (unsigned)n;
	n = language_expand(&lang->run, scratch->file, scratch->buf + half, half, j->run_argv);
	if (n < 0)
		return n;
	j->run_argc = (unsigned)n;
	j->limits = *lim;		/* runnerd's: compile, pids, file size, tmpfs */
	j->limits.cpu_ms = req->cpu_ms; /* the client's: the run step and its output */
	j->limits.wall_ms = req->timeout_ms;
	j->limits.memory_kb = req->memory_kb;
	j->limits.output_bytes = req->output_bytes;
	return 0;
}

void jobspec_program(const char *code, uint32_t run_ms, uint32_t compile_ms, struct job_file *file,
		     struct job_request *req, struct rd_limits *lim)
{
	*file = (struct job_file){.data = (uint8_t *)code, .len = strlen(code)};
	*req = (struct job_request){
	    .files = file,
	    .n_files = 1,
	    .timeout_ms = run_ms,
	    .cpu_ms = run_ms,
	    .memory_kb = RD_DEFAULT_MEMORY_KB,
	    .output_bytes = RD_DEFAULT_OUTPUT_BYTES,
	};
	jobspec_limits_default(lim, compile_ms);
}

void jobspec_limits_default(struct rd_limits *lim, uint32_t compile_ms)
{
	*lim = (struct rd_limits){
	    .compile_wall_ms = compile_ms,
	    .compile_cpu_ms = compile_ms,
	    .pids = RD_DEFAULT_PIDS,
	    .fsize_kb = RD_DEFAULT_FSIZE_KB,
	    .tmpfs_kb = RD_DEFAULT_TMPFS_KB,
	};
}

int jobspec_send(struct vmm *vmm, const struct job_request *req, const struct language *lang,
		 const struct rd_limits *lim)
{
	uint8_t entropy[64];
	struct jobspec_scratch scratch;
	struct rd_job job;

	if (getrandom(entropy, sizeof(entropy), 0) != sizeof(entropy))
		return -EIO;
	int r = jobspec_build(req, lang, lim, entropy, sizeof(entropy), &scratch, &job);
	if (r < 0)
		return r;
	return vmm_send_job(vmm, &job, jobspec_budget(req));
}

/* The warm-up as a language of its own, so that its job is built like any
 * other: no compile step, `cat` as the run command, "warm-up" as the
 * program's file. */
static char warm_up_name[] = "warm-up";
static char warm_up_cat[] = "cat";
static const struct language warm_up_language = {
    .name = warm_up_name,
    .file = warm_up_name,
    .run = {.line = warm_up_cat, .argv = {warm_up_cat, NULL}},
};

int jobspec_warm_up(uint32_t wall_ms, const uint8_t *entropy, uint32_t entropy_len,
		    struct jobspec_scratch *scratch, struct rd_job *ret)
{
	static uint8_t one_byte[] = "x";
	struct job_file file = {.data = one_byte, .len = 1};
	/* Limits left at 0 are not sent: the agent applies its defaults. */
	const struct job_request req = {
	    .files = &file,
	    .n_files = 1,
	    .stdin_data = one_byte,
	    .stdin_len = 1,
	    .timeout_ms = wall_ms,
	    .output_bytes = 1024,
	};
	const struct rd_limits lim = {0};

	return jobspec_build(&req, &warm_up_language, &lim, entropy, entropy_len, scratch, ret);
}

int jobspec_send_warm_up(struct vmm *vmm, uint32_t wall_ms)
{
	/* The minimum of entropy will do: every clone's next job, the first
	 * that runs a user's code, reseeds again. */
	uint8_t entropy[RD_ENTROPY_MIN];
	struct jobspec_scratch scratch;
	struct rd_job job;

	if (getrandom(entropy, sizeof(entropy), 0) != sizeof(entropy))
		return -EIO;
	int r = jobspec_warm_up(wall_ms, entropy, sizeof(entropy), &scratch, &job);
	if (r < 0)
		return r;
	/* The answer is one byte of output: the channel's initial budget of
	 * 64 KiB covers it. */
	return vmm_send_job(vmm, &job, 64u << 10);
}

size_t jobspec_budget(const struct job_request *req)
{
	return 4 * (size_t)req->output_bytes + (64u << 10);
}

static int step_copy(const struct rd_step_result *in, struct job_step *out)
{
	*out = (struct job_step){
	    .present = in->present,
	    .exit_code = in->exit_code,
	    .signal = in->signal,
	    .cpu_ms = in->cpu_ms,
	    .wall_ms = in->wall_ms,
	    .peak_memory_kb = in->peak_memory_kb,
	    .limits_hit = in->limits_hit,
	};
	if (!in->present)
		return 0;
	out->out = malloc(in->out_len + 1);
	out->err = malloc(in->err_len + 1);
	if (!out->out || !out->err)
		return -ENOMEM;
	memcpy(out->out, in->out, in->out_len);
	memcpy(out->err, in->err, in->err_len);
	out->out_len = in->out_len;
	out->err_len = in->err_len;
	return 0;
}

static bool step_within(const struct rd_step_result *s, uint32_t output_bytes)
{
	return !s->present || (s->out_len <= output_bytes && s->err_len <= output_bytes);
}

int jobspec_result(const struct rd_result *in, uint32_t output_bytes, struct job_result *res)
{
	if (!output_bytes) /* the agent's default then */
		output_bytes = RD_DEFAULT_OUTPUT_BYTES;
	if (!step_within(&in->compile, output_bytes) || !step_within(&in->run, output_bytes))
		return -EMSGSIZE;
	int r = step_copy(&in->compile, &res->compile);
	if (r >= 0)
		r = step_copy(&in->run, &res->run);
	if (r < 0)
		return r;

	const struct rd_step_result *c = &in->compile, *run = &in->run;
	if (c->present && (c->limits_hit & (RD_LIMIT_WALL | RD_LIMIT_CPU)))
		res->status = JOB_COMPILE_TIMEOUT;
	else if (c->present && (c->limits_hit & RD_LIMIT_MEMORY))
		res->status = JOB_MEMORY_LIMIT;
	else if (c->present && (c->exit_code != 0 || c->signal != 0))
		res->status = JOB_COMPILE_ERROR;
	else if (!run->present)
		return -EPROTO; /* compile succeeded, so the run step must be there */
	else if (run->limits_hit & (RD_LIMIT_WALL | RD_LIMIT_CPU))
		res->status = JOB_TIMEOUT;
	else if (run->limits_hit & RD_LIMIT_MEMORY)
		res->status = JOB_MEMORY_LIMIT;
	else
		res->status = JOB_OK;
	return 0;
}
