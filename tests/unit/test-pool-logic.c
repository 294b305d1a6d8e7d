/* test-pool-logic.c: the pool's pure logic: the VM state machine's
 * transition table, how a request becomes the agent's job, and how an
 * agent result becomes a job status (language definitions:
 * test-language.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "jobspec.h"
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
	*ret = jobspec_result(in, &res);
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
	CHECK(jobspec_result(&in, &res) == 0 && res.run.out_len == 8 && res.run.out != out &&
	      memcmp(res.run.out, out, 8) == 0);
	job_result_free(&res);
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
	struct jobspec_limits lim;
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
		  job.limits.compile_wall_ms == 30000 && job.limits.pids == JOBSPEC_PIDS &&
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
	return check_done();
}
