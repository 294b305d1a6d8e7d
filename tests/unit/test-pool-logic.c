/* test-pool-logic.c: the pool's pure logic: language definition parsing,
 * the VM state machine's transition table, and how an agent result becomes
 * a job status. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "jobspec.h"
#include "language.h"
#include "vm-state.h"

static int parse(const char *text, struct language **ret, char **err)
{
	*err = NULL;
	return language_parse(text, strlen(text), ret, err);
}

static void test_language(void)
{
	struct language *l = NULL;
	char *err = NULL;
	const char *good = "# a comment\n"
			   "name = c\n"
			   "aliases = gcc  c11\n"
			   "packages = gcc libc6-dev\n"
			   "file = main.c\n"
			   "compile = gcc -O2 -o main main.c\n"
			   "run = ./main\n"
			   "hello = int puts(const char *);\\nint main(void){puts(\"Hello\");}\n"
			   "hello_output = Hello\\n\n";

	CHECK(parse(good, &l, &err) == 0);
	if (l) {
		CHECK(strcmp(l->name, "c") == 0);
		CHECK(strcmp(l->aliases[1], "c11") == 0 && l->aliases[2] == NULL);
		CHECK(strcmp(l->compile[0], "gcc") == 0 && strcmp(l->compile[4], "main.c") == 0 &&
		      !l->compile[5]);
		CHECK(strcmp(l->run[0], "./main") == 0 && !l->run[1]);
		CHECK(strchr(l->hello, '\n') != NULL);
		CHECK(strcmp(l->hello_output, "Hello\n") == 0);
		CHECK(language_matches(l, "gcc") && language_matches(l, "c") && !language_matches(l, "cc"));
		language_free(l);
	}

	static const struct {
		const char *text;
		const char *msg;
	} bad[] = {
	    {"name = x\nfile = a\nrun = a\nhello = a\nhello_output = a\n", "packages"},
	    {"name = x\nbogus = 1\n", "unknown key 'bogus'"},
	    {"name = x\nname = y\n", "duplicate key 'name'"},
	    {"just words\n", "expected 'key = value'"},
	    {"name = Bad Name\npackages = p\nfile = a\nrun = a\nhello = a\nhello_output = a\n", "lower-case"},
	    {"name = x\npackages = p\nfile = ../a\nrun = a\nhello = a\nhello_output = a\n",
	     "plain file name"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		l = NULL;
		int r = parse(bad[i].text, &l, &err);
		CHECK(r == -EINVAL && l == NULL);
		CHECK(err && strstr(err, bad[i].msg));
		if (err && !strstr(err, bad[i].msg))
			printf("# got: %s\n", err);
		free(err);
	}
	/* NUL inside the file is refused, not truncated. */
	l = NULL;
	CHECK(language_parse("name = x\0junk", 13, &l, &err) == -EINVAL);
	free(err);
}

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

int main(void)
{
	test_language();
	test_vm_state();
	test_result_status();
	return check_done();
}
