/* test-pool-logic.c: the pool's pure logic: the VM state machine's
 * transition table, how a request becomes the agent's job, how an agent
 * result becomes a job status, the warm-up job, the request destructor,
 * and the timeouts and their scaling (language definitions:
 * test-language.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "jobspec.h"
#include "timeouts.h"
#include "vm-state.h"

static void test_vm_state(void)
{
	enum vm_state all[] = {VM_RESTORING, VM_WARMING, VM_READY, VM_LEASED, VM_RUNNING, VM_DISCARDED};
	/* Every live state can be discarded; DISCARDED is final. */
	for (size_t i = 0; i < 5; i++)
		CHECK(vm_state_transition_valid(all[i], VM_DISCARDED));
	for (size_t i = 0; i < 6; i++)
		CHECK(!vm_state_transition_valid(VM_DISCARDED, all[i]));
	CHECK(vm_state_transition_valid(VM_RESTORING, VM_WARMING));
	CHECK(vm_state_transition_valid(VM_WARMING, VM_READY));
	CHECK(vm_state_transition_valid(VM_READY, VM_LEASED));
	CHECK(vm_state_transition_valid(VM_LEASED, VM_RUNNING));
	/* No way back: a VM that ran a job is never ready again. */
	CHECK(!vm_state_transition_valid(VM_RUNNING, VM_READY));
	CHECK(!vm_state_transition_valid(VM_LEASED, VM_READY));
	CHECK(!vm_state_transition_valid(VM_READY, VM_RUNNING));
	CHECK(!vm_state_transition_valid(VM_RUNNING, VM_LEASED));
	CHECK(strcmp(vm_state_to_string(VM_WARMING), "warming") == 0);
}

static enum job_status status_of(struct rd_result *in, int *ret)
{
	struct job_result res = {0};
	*ret = jobspec_result(in, 65536, &res);
	enum job_status s = res.status;
	job_result_free(&res);
	return s;
}

static void test_result_status(void)
{
	struct rd_result in;
	int r;

	in = (struct rd_result){.run = {.present = true, .exit_code = 3}};
	CHECK(status_of(&in, &r) == JOB_OK && r == 0);
	in = (struct rd_result){
	    .run = {.present = true, .exit_code = -1, .signal = 9, .limits_hit = RD_LIMIT_WALL}};
	CHECK(status_of(&in, &r) == JOB_TIMEOUT);
	in = (struct rd_result){
	    .run = {.present = true, .exit_code = -1, .signal = 24, .limits_hit = RD_LIMIT_CPU}};
	CHECK(status_of(&in, &r) == JOB_TIMEOUT);
	in = (struct rd_result){
	    .run = {.present = true, .exit_code = -1, .signal = 9, .limits_hit = RD_LIMIT_MEMORY}};
	CHECK(status_of(&in, &r) == JOB_MEMORY_LIMIT);
	in = (struct rd_result){.run = {.present = true, .limits_hit = RD_LIMIT_STDOUT}};
	CHECK(status_of(&in, &r) == JOB_OK);
	in = (struct rd_result){.compile = {.present = true, .exit_code = 1}};
	CHECK(status_of(&in, &r) == JOB_COMPILE_ERROR);
	in = (struct rd_result){
	    .compile = {.present = true, .exit_code = -1, .signal = 9, .limits_hit = RD_LIMIT_WALL}};
	CHECK(status_of(&in, &r) == JOB_COMPILE_TIMEOUT);
	/* A successful compile without a run step is a broken agent. */
	in = (struct rd_result){.compile = {.present = true, .exit_code = 0}};
	status_of(&in, &r);
	CHECK(r == -EPROTO);
	/* Output is copied, not borrowed. */
	uint8_t out[] = "hi\0there";
	in = (struct rd_result){.run = {.present = true, .out = out, .out_len = 8}};
	struct job_result res = {0};
	CHECK(jobspec_result(&in, 8, &res) == 0 && res.run.out_len == 8 && res.run.out != out &&
	      memcmp(res.run.out, out, 8) == 0);
	job_result_free(&res);
	/* A stream over the output limit: the agent capped nothing. */
	res = (struct job_result){0};
	CHECK(jobspec_result(&in, 7, &res) == -EMSGSIZE, "run stdout over the limit refused");
	job_result_free(&res);
	in = (struct rd_result){.compile = {.present = true, .err = out, .err_len = 8},
				.run = {.present = true}};
	res = (struct job_result){0};
	CHECK(jobspec_result(&in, 7, &res) == -EMSGSIZE, "compile stderr over the limit refused");
	job_result_free(&res);
}

/* The warm-up job, built through jobspec like every job, is exactly the
 * job a clone has always warmed up with: `cat` of one byte, one file, a
 * wall limit and a 1 KiB output cap, the rest left to the agent. */
static void test_warm_up(void)
{
	uint8_t entropy[RD_ENTROPY_MIN] = {1, 2, 3};
	static const uint8_t one_byte[] = "x";
	struct rd_job want = {
	    .entropy = entropy,
	    .entropy_len = sizeof(entropy),
	    .files = {{.name = "warm-up", .data = one_byte, .len = 1}},
	    .n_files = 1,
	    .stdin_data = one_byte,
	    .stdin_len = 1,
	    .run_argv = {"cat", NULL},
	    .run_argc = 1,
	    .limits = {.wall_ms = 5000, .output_bytes = 1024},
	};
	struct jobspec_scratch scratch;
	struct rd_job job;
	struct rd_buf a, b;

	CHECK(jobspec_warm_up(5000, entropy, sizeof(entropy), &scratch, &job) == 0, "warm-up job built");
	CHECK(job.compile_argc == 0 && job.run_argc == 1 && strcmp(job.run_argv[0], "cat") == 0 &&
		  job.run_argv[1] == NULL,
	      "warm-up runs cat, no compile step");
	want.realtime_ns = job.realtime_ns;
	rd_buf_init(&a, 1u << 20);
	rd_buf_init(&b, 1u << 20);
	CHECK(rd_job_encode(&job, 7, &a) == 0 && rd_job_encode(&want, 7, &b) == 0 && a.len == b.len &&
		  memcmp(a.data, b.data, a.len) == 0,
	      "warm-up frame is byte for byte the one clones always ran");
	rd_buf_free(&a);
	rd_buf_free(&b);
}

/* job_request_free() is the one destructor of a request, for the API's
 * half-built ones as for the pool's finished ones. */
static void test_request_free(void)
{
	struct job_request req = {0};

	job_request_free(NULL);
	job_request_free(&req);
	CHECK(req.files == NULL && req.n_files == 0, "a zeroed request stays zeroed");

	/* Half-built: a count with no array yet, as a parse can leave it. */
	req.language = strdup("python");
	req.n_files = 1;
	job_request_free(&req);
	CHECK(req.language == NULL && req.n_files == 0, "a request with no files array is freed");

	req.language = strdup("python");
	req.files = calloc(2, sizeof(struct job_file));
	req.n_files = 2;
	req.files[0].name = strdup("main.py");
	req.files[0].data = (uint8_t *)strdup("print(1)");
	req.files[0].len = 8;
	req.stdin_data = (uint8_t *)strdup("in");
	req.stdin_len = 2;
	req.timeout_ms = 10;
	job_request_free(&req);
	CHECK(req.language == NULL && req.files == NULL && req.n_files == 0 && req.stdin_data == NULL &&
		  req.timeout_ms == 0,
	      "a whole request is freed and zeroed");
}

/* The values documented in timeouts.h, multiplied by the slowdown. */
static void test_timeouts(void)
{
	struct pool_timeouts t;
	struct language lang = {0};

	pool_timeouts_init(&t, 1.0);
	CHECK(t.restore_ms == 10000 && t.warm_up_wall_ms == 5000 && t.deadline_slack_ms == 2000 &&
		  t.template_boot_ms == 60000 && t.hello_min_ms == 30000 && t.compile_default_ms == 30000 &&
		  t.queue_wait_ms == 60000 && t.restore_failures_max == 3,
	      "timeouts at slowdown 1");
	pool_timeouts_init(&t, 2.5);
	CHECK(t.restore_ms == 25000 && t.warm_up_wall_ms == 12500 && t.deadline_slack_ms == 5000 &&
		  t.template_boot_ms == 150000 && t.hello_min_ms == 75000 && t.compile_default_ms == 75000 &&
		  t.queue_wait_ms == 150000 && t.restore_failures_max == 3,
	      "timeouts scaled by slowdown 2.5; the failure count is not");
	CHECK(pool_timeouts_compile_ms(&t, &lang) == 75000, "compile limit: the default, scaled");
	lang.compile_timeout_s = 120;
	CHECK(pool_timeouts_compile_ms(&t, &lang) == 300000, "compile limit: the language's, scaled");
	CHECK(pool_timeouts_hello_ms(&t, &lang) == 75000, "hello world: at least the minimum");
	lang.run_timeout_s = 20;
	CHECK(pool_timeouts_hello_ms(&t, &lang) == 75000, "hello world: a short run limit is raised");
	lang.run_timeout_s = 45;
	CHECK(pool_timeouts_hello_ms(&t, &lang) == 112500, "hello world: a longer run limit, scaled");
}

static void test_build(void)
{
	static const char def[] = "name = c\npackages = gcc\nfile = main.c\nhello = x\nhello_output = x\n"
				  "compile = gcc -O2 -o {name} {file} -lm\nrun = ./{name} arg\n";
	static const char interp[] =
	    "name = sh\npackages = dash\nfile = main.sh\nhello = x\nhello_output = x\n"
	    "run = sh {file}\n";
	struct language *l = NULL, *sh = NULL;
	char *err = NULL;
	uint8_t entropy[RD_ENTROPY_MIN] = {0};
	struct jobspec_scratch scratch;
	struct job_file file;
	struct job_request req;
	struct rd_limits lim;
	struct rd_job job;

	CHECK(language_parse(def, strlen(def), &l, &err) == 0, "a compiled language");
	jobspec_program("int main(void) { return 0; }", 5000, 30000, &file, &req, &lim);
	CHECK(jobspec_build(&req, l, &lim, entropy, sizeof(entropy), &scratch, &job) == 0, "jobspec_build");
	CHECK(job.compile_argc == 6 && strcmp(job.compile_argv[0], "gcc") == 0 &&
		  strcmp(job.compile_argv[3], "main") == 0 && strcmp(job.compile_argv[4], "main.c") == 0 &&
		  strcmp(job.compile_argv[5], "-lm") == 0 && !job.compile_argv[6],
	      "compile argv with {name} and {file}, NULL-terminated");
	CHECK(job.run_argc == 2 && strcmp(job.run_argv[0], "./main") == 0 &&
		  strcmp(job.run_argv[1], "arg") == 0 && !job.run_argv[2],
	      "run argv with {name}, NULL-terminated");
	CHECK(job.n_files == 1 && strcmp(job.files[0].name, "main.c") == 0 && job.limits.wall_ms == 5000 &&
		  job.limits.compile_wall_ms == 30000 && job.limits.pids == RD_DEFAULT_PIDS &&
		  job.realtime_ns > 0,
	      "files, limits and the clock");

	CHECK(language_parse(interp, strlen(interp), &sh, &err) == 0, "an interpreted language");
	CHECK(jobspec_build(&req, sh, &lim, entropy, sizeof(entropy), &scratch, &job) == 0 &&
		  job.compile_argc == 0 && !job.compile_argv[0] && job.run_argc == 2 &&
		  strcmp(job.run_argv[1], "main.sh") == 0,
	      "no compile step: compile argc 0");
	language_free(l);
	language_free(sh);
}

int main(void)
{
	test_vm_state();
	test_build();
	test_result_status();
	test_warm_up();
	test_request_free();
	test_timeouts();
	return check_done();
}
