/* fuzz-proto.c: libFuzzer target for every decoder in proto/proto.c,
 * the code that parses bytes from the other side of the host <-> guest
 * channel. The first input byte picks the decoder, the rest is its input.
 * Anything that decodes is re-encoded and decoded again, and must come back
 * the same: that catches decoders that accept more than encoders produce.
 *
 * Built with replay.c (plain gcc, no libFuzzer) it becomes a program
 * that runs every file of the directories given as arguments through the
 * target once: `meson test` replays the committed corpus that way. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void must(int cond)
{
	if (!cond)
		abort();
}

static void fuzz_job(const uint8_t *p, size_t n)
{
	struct rd_job job, again;
	struct rd_buf b;
	struct rd_frame_hdr h;

	if (rd_job_decode(p, n, &job) < 0)
		return;
	/* Touch every borrowed string so ASan sees any overrun. */
	for (unsigned i = 0; i < job.n_files; i++)
		must(rd_file_name_valid(job.files[i].name, strlen(job.files[i].name)));
	for (unsigned i = 0; i < job.run_argc; i++)
		(void)strlen(job.run_argv[i]);
	for (unsigned i = 0; i < job.compile_argc; i++)
		(void)strlen(job.compile_argv[i]);
	must(job.run_argv[job.run_argc] == NULL && job.run_argc > 0);

	rd_buf_init(&b, RD_FRAME_HDR_SIZE + (size_t)RD_FRAME_MAX);
	must(rd_job_encode(&job, 1, &b) == 0);
	must(rd_frame_hdr_decode(b.data, RD_FRAME_MAX, &h) == 0 && h.len == b.len - RD_FRAME_HDR_SIZE);
	must(rd_job_decode(b.data + RD_FRAME_HDR_SIZE, h.len, &again) == 0);
	must(again.n_files == job.n_files && again.run_argc == job.run_argc &&
	     again.compile_argc == job.compile_argc && again.stdin_len == job.stdin_len &&
	     again.realtime_ns == job.realtime_ns && again.entropy_len == job.entropy_len &&
	     memcmp(&again.limits, &job.limits, sizeof job.limits) == 0);
	rd_buf_free(&b);
}

static void fuzz_result(const uint8_t *p, size_t n)
{
	struct rd_result res, again;
	struct rd_buf b;

	if (rd_result_decode(p, n, &res) < 0)
		return;
	must(res.compile.present || res.run.present);
	rd_buf_init(&b, RD_FRAME_HDR_SIZE + (size_t)RD_FRAME_MAX);
	must(rd_result_encode(&res, 1, &b) == 0);
	must(rd_result_decode(b.data + RD_FRAME_HDR_SIZE, b.len - RD_FRAME_HDR_SIZE, &again) == 0);
	must(again.run.present == res.run.present && again.compile.present == res.compile.present &&
	     again.run.exit_code == res.run.exit_code && again.run.out_len == res.run.out_len &&
	     again.compile.err_len == res.compile.err_len);
	rd_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rd_frame_hdr h;
	const char *msg;

	if (size < 1)
		return 0;
	switch (data[0] % 4) {
	case 0:
		if (size >= 1 + RD_FRAME_HDR_SIZE) {
			int r = rd_frame_hdr_decode(data + 1, RD_FRAME_MAX, &h);
			must(r == 0 || r == -EPROTO || r == -EMSGSIZE);
			if (r == 0)
				must(h.len <= RD_FRAME_MAX && h.type >= RD_FRAME_HELLO &&
				     h.type <= RD_FRAME_ERROR);
		}
		break;
	case 1:
		fuzz_job(data + 1, size - 1);
		break;
	case 2:
		fuzz_result(data + 1, size - 1);
		break;
	case 3:
		if (rd_message_decode(data + 1, size - 1, &msg) == 0 && msg)
			(void)strlen(msg);
		break;
	}
	return 0;
}
