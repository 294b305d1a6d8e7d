/* main.c: runnerd-agent, PID 1 of every runnerd guest. Boots the minimal
 * userspace (sys.c), opens the host channel, says HELLO, then serves jobs one
 * at a time forever. The host snapshots the VM while the agent waits for its
 * first job, so clones resume inside channel_read_frame().
 *
 * PID 1 must never exit (the kernel panics); fatal errors reboot instead,
 * which with QEMU's -no-reboot ends the VMM and tells the host plainly. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "agent-channel.h"
#include "agent-job.h"
#include "agent-log.h"
#include "proto.h"
#include "services.h"
#include "sys.h"

#ifndef AGENT_VERSION
#define AGENT_VERSION "dev"
#endif

static __attribute__((noreturn)) void fatal(const char *what, int err)
{
	log_msg("fatal: %s: %s", what, strerror(err));
	reboot(RB_AUTOBOOT);
	for (;;)
		pause();
}

static void serve_one(int chan, int sigfd)
{
	struct rd_frame_hdr h;
	uint8_t *payload = NULL;
	struct rd_job job;
	struct rd_result res;
	struct step_io io[2] = {{0}};
	struct rd_buf out;
	char errmsg[256] = "";
	uint64_t t_job;
	int r;

	r = channel_read_frame(chan, &h, &payload);
	t_job = now_ns(CLOCK_MONOTONIC);
	if (r == -EPROTO || r == -EMSGSIZE) {
		/* The stream cannot be resynchronised; the host kills the VM. */
		channel_send_message(chan, RD_FRAME_ERROR, 0,
				     r == -EPROTO ? "bad frame header" : "frame too large");
		return;
	}
	if (r < 0)
		fatal("reading the channel", -r);
	if (h.type != RD_FRAME_JOB) {
		channel_send_message(chan, RD_FRAME_ERROR, h.id, "expected a JOB frame");
		free(payload);
		return;
	}
	/* ACK before anything else: the host times the hand-off with it. */
	r = channel_send_message(chan, RD_FRAME_ACK, h.id, NULL);
	if (r < 0)
		fatal("writing the channel", -r);

	if (rd_job_decode(payload, h.len, &job) < 0) {
		channel_send_message(chan, RD_FRAME_ERROR, h.id, "malformed JOB payload");
		free(payload);
		return;
	}
	r = job_run(&job, sigfd, t_job, &res, io, errmsg, sizeof errmsg);
	if (r < 0) {
		log_msg("job %u: %s", h.id, errmsg);
		channel_send_message(chan, RD_FRAME_ERROR, h.id, errmsg);
	} else {
		rd_buf_init(&out, RD_FRAME_HDR_SIZE + (size_t)RD_FRAME_MAX);
		r = rd_result_encode(&res, h.id, &out);
		if (r < 0)
			channel_send_message(chan, RD_FRAME_ERROR, h.id, "cannot encode result");
		else if ((r = channel_write_all(chan, out.data, out.len)) < 0)
			fatal("writing the channel", -r);
		rd_buf_free(&out);
	}
	step_io_free(&io[0]);
	step_io_free(&io[1]);
	free(payload);
	/* The result is out; clean up for the next job while nobody waits. */
	if (job_prepare(RD_DEFAULT_TMPFS_KB, errmsg, sizeof errmsg) < 0)
		log_msg("%s", errmsg);
}

int main(void)
{
	sigset_t chld;
	char errmsg[256];
	int sigfd, chan;

	/* Ignored so a closed channel or pipe is an error code, not a death;
	 * children reset it before exec. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	sigfd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sigfd < 0)
		fatal("signalfd", errno);

	if (getpid() == 1)
		sys_boot();
	sys_load_path();
	chan = channel_open();
	if (chan < 0)
		fatal("no virtio port named " RD_AGENT_PORT_NAME, -chan);
	if (job_prepare(RD_DEFAULT_TMPFS_KB, errmsg, sizeof errmsg) < 0)
		fatal(errmsg, EIO);
	/* A failed boot script is not fatal: the template's hello world then
	 * fails with the server's absence, which the host reports. */
	if (getpid() == 1)
		services_boot(600);
	log_msg("ready (" AGENT_VERSION ")");
	if (channel_send_message(chan, RD_FRAME_HELLO, 0, "runnerd-agent " AGENT_VERSION) < 0)
		fatal("sending HELLO", errno);
	for (;;)
		serve_one(chan, sigfd);
}
