/* exec.h: `runnerctl exec`: one program sent to POST /api/v1/execute
 * byte-exact (as base64 when it is not clean UTF-8), its output asked for
 * as base64 and written out unchanged, its end mapped to an exit code: the
 * program's own, 128+N for signal N, 124 on a timeout, 1 on a compile
 * error, EXIT_RUNNERD if runnerd failed or refused the run. */
#pragma once

#include <stddef.h>

#include "ctl.h"

#define EXEC_INPUT_MAX	     (8u << 20)
#define EXEC_EXTRA_FILES_MAX 16

/* What main.c parsed; strings borrowed from argv. */
struct exec_args {
	const char *language;
	const char *program_path; /* FILE, "-" for our stdin; NULL with code */
	const char *code;	  /* -c TEXT, or NULL */
	const char *stdin_path;	  /* NULL: the program's stdin is empty */
	double timeout;		  /* seconds; 0: runnerd's default */
	long memory_mb;		  /* 0: runnerd's default */
	const char *files[EXEC_EXTRA_FILES_MAX];
	size_t n_files;
};

/* Returns the exit code of runnerctl. */
int exec_run(const struct ctl *ctl, const struct exec_args *a);
