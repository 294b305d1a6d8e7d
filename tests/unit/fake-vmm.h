/* fake-vmm.h: a link-time stand-in for vmm-client/vmm.h, for unit tests of
 * the code above it (pool/). Every function vmm.h declares is defined in
 * fake-vmm.c; a test that links it ahead of the real libraries gets no
 * QEMU, no processes and no sockets. Instead each VMM is a record the test
 * can inspect (how it was started, the jobs it was sent, the QMP commands
 * it was asked for) and drive: the test decides when, and whether, a
 * VMM's callbacks run, on the owner's real event loop.
 *
 * The fake keeps the contract of vmm.h that owners rely on: after
 * vmm_free() no callback runs and pending commands are dropped; after a
 * failure jobs are refused; a job is encoded as the real VMM would, so a
 * job the agent could not decode is refused here too. Firing a callback on
 * a VMM that was freed is a bug in the test and aborts. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm.h"

enum fake_op {
	FAKE_NONE,
	FAKE_RESUME, /* vmm_resume(): QMP cont */
	FAKE_PAUSE,  /* vmm_pause(): QMP stop */
	FAKE_SAVE,   /* vmm_save(): stop and migrate to the state fd */
};

#define FAKE_MAX_OPS 8

/* What the last job sent to a VMM said, copied (the job itself is the
 * sender's and gone when vmm_send_job() returns). */
struct fake_job {
	unsigned n_files;
	char file0[64];
	char data0[64];
	char stdin_data[64];
	unsigned run_argc;
	char run_argv0[64];
	uint32_t wall_ms;
	size_t budget;
};

struct vmm {
	struct vmm *next; /* every VMM made since fake_vmm_reset(), oldest first */
	unsigned serial;  /* 0, 1, 2, ... in creation order */
	char id[32];
	bool booted; /* vmm_boot(); else vmm_restore() */
	bool freed;  /* vmm_free() ran: the owner let go of it */
	bool failed; /* the failed callback ran */
	struct event_base *base;
	const struct vmm_callbacks *cbs;
	void *userdata;
	char ram_path[4096]; /* booted */
	unsigned memory_mb;  /* the guest's, from its config */
	int ram_fd;	     /* restored: the owner's fds, as passed */
	int state_fd;
	struct {
		enum fake_op op;
		vmm_done_cb cb;
		void *userdata;
	} ops[FAKE_MAX_OPS]; /* commands not answered yet, oldest first */
	unsigned n_ops;
	int save_fd;
	unsigned jobs; /* jobs sent */
	struct fake_job job;
};

/* Scripted failures: the next call of that function returns the error
 * (< 0) and nothing else happens; each resets itself to 0 once used. */
extern int fake_vmm_boot_error;
extern int fake_vmm_restore_error;
extern int fake_vmm_resume_error;
extern int fake_vmm_send_error;

/* The n-th VMM made since the last reset (0 = the oldest), or NULL. */
struct vmm *fake_vmm_nth(unsigned n);
/* The newest VMM, or NULL. */
struct vmm *fake_vmm_newest(void);
/* How many VMMs were made since the last reset. */
unsigned fake_vmm_made(void);
/* Forgets every record; the owners must have freed their VMMs. */
void fake_vmm_reset(void);

/* Callbacks of struct vmm_callbacks, run now. */
void fake_vmm_ready(struct vmm *v);
void fake_vmm_ack(struct vmm *v);
/* A result whose run step exited with exit_code and printed out. */
void fake_vmm_result(struct vmm *v, int exit_code, const char *out);
void fake_vmm_fail(struct vmm *v, const char *why);
/* Answers the oldest pending command (error NULL: success) and returns
 * which it was; FAKE_NONE, and nothing runs, if none is pending. A save
 * that succeeds writes a device state to the save fd first. */
enum fake_op fake_vmm_reply(struct vmm *v, const char *error);
