/* fuzz-api.c: libFuzzer target for api_parse_execute(), the first code to
 * see a client's request body. Any input must give 0 or a negative errno
 * with a message, never a crash, leak or hang; accepted requests must be
 * within the limits, and rendering a result for them must work.
 *
 * Built with replay.c (plain gcc, no libFuzzer) it becomes a program
 * that runs every file in the directories (or files) given as arguments:
 * that is how meson test replays tests/fuzz/corpus-api. With clang:
 *   clang -fsanitize=fuzzer,address ... fuzz-api.c && ./fuzz-api corpus-api */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct api_limits lim;
	struct job_request req = {0};
	char *error = NULL;
	int r;

	api_limits_init(&lim);
	lim.max_body_bytes = 1 << 20;
	r = api_parse_execute((const char *)data, size, &lim, "main.py", &req, &error);
	if (r < 0) {
		if ((r == -EINVAL || r == -EMSGSIZE) && !error)
			abort(); /* the client must be told why */
		free(error);
		return 0;
	}
	if (error || req.n_files < 1 || req.n_files > 1 + lim.max_files || req.timeout_ms == 0 ||
	    req.timeout_ms > lim.timeout_ms_max || req.cpu_ms > lim.cpu_ms_max ||
	    req.memory_kb > lim.memory_kb_max || req.output_bytes > lim.output_bytes_max ||
	    req.stdin_len > lim.max_stdin_bytes)
		abort();
	{
		/* render a result that echoes the program as output */
		struct job_result res = {.status = JOB_OK};
		json_t *j;
		res.run.present = true;
		res.run.out = req.files[0].data;
		res.run.out_len = req.files[0].len;
		res.run.err = req.stdin_data;
		res.run.err_len = req.stdin_len;
		j = api_render_result(&req, &res);
		if (!j)
			abort();
		json_decref(j);
	}
	job_request_free(&req);
	return 0;
}
