/* job.c: destructors and names for the job request/result types. */
#include "job.h"

#include <stdlib.h>

void job_request_free(struct job_request *req)
{
	if (!req)
		return;
	free(req->language);
	for (size_t i = 0; req->files && i < req->n_files; i++) {
		free(req->files[i].name);
		free(req->files[i].data);
	}
	free(req->files);
	free(req->stdin_data);
	*req = (struct job_request){0};
}

static void job_step_free(struct job_step *s)
{
	free(s->out);
	free(s->err);
	*s = (struct job_step){0};
}

void job_result_free(struct job_result *res)
{
	if (!res)
		return;
	free(res->message);
	job_step_free(&res->compile);
	job_step_free(&res->run);
}

const char *job_status_to_string(enum job_status s)
{
	static const char *const names[] = {"success",	    "compile_error", "timeout",	 "compile_timeout",
					    "memory_limit", "sandbox_error", "cancelled"};
	_Static_assert(sizeof(names) / sizeof(names[0]) == JOB_CANCELLED + 1,
		       "a name for each status, in the enum's order");
	return (unsigned)s < sizeof(names) / sizeof(names[0]) && names[s] ? names[s] : "unknown";
}
