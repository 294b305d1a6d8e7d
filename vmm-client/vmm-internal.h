/* vmm-internal.h: struct vmm and what its files share. vmm.c is the object
 * (start, QMP events, cont/stop, free), reaper.c its process (exit and
 * reaping), migrate.c its migrations (save, incoming restore), agent.c its
 * agent frames. Nothing outside vmm-client includes this. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include "channel.h"
#include "jail.h"
#include "qmp.h"
#include "vmm-state.h"
#include "vmm.h"

struct vmm {
	TAILQ_ENTRY(vmm) dying_link; /* on the reaper's dying list after vmm_free() */
	char id[24];
	enum vmm_state state; /* changed only by vmm_set_state() */
	pid_t pid;
	int pidfd;
	struct event *exit_ev;
	struct qmp *qmp;
	struct channel *chan;
	const struct vmm_callbacks *cbs;
	void *userdata;
	vmm_done_cb save_cb; /* SAVING */
	int save_fd;	     /* borrowed, for getfd */
	void *save_userdata;
	uint32_t job_id;   /* JOB_SENT, JOB_RUNNING */
	struct jail *jail; /* borrowed; NULL when not jailed */
	struct jail_place place;
	int ram_file_fd; /* jailed boot: the RAM file, lent to the VMM's uid until vmm_free() */
};

/* vmm.c: gives back what the process held outside itself (its jail slot;
 * the RAM file's ownership, if vmm_free() has not yet). Once, when the
 * process is gone. */
void vmm_release_jail(struct vmm *v);

/* vmm.c: the one function that changes v->state (asserts the move). */
void vmm_set_state(struct vmm *v, enum vmm_state to);

/* vmm.c: moves to FAILED and tells the owner once (failed callback); the
 * VMM is unusable after. No-op when FAILED or DYING already. */
void vmm_fail(struct vmm *v, const char *why);

/* reaper.c: v->pid and v->pidfd were just spawned. Counts the process and
 * watches it: its exit fails the VMM. */
int vmm_reaper_watch(struct vmm *v, struct event_base *base);
/* reaper.c: the end of vmm_free(). SIGKILLs the process and frees v, at
 * once or when the exit is reaped on the event loop. */
void vmm_reaper_release(struct vmm *v);

/* migrate.c: starts the incoming migration of a restore from the inherited
 * stream state_fd (the ready callback follows its completion). */
int vmm_migrate_incoming(struct vmm *v, int state_fd);
/* migrate.c: a QMP MIGRATION event. */
void vmm_migrate_event(struct vmm *v, json_t *data);

/* agent.c: the channel's callbacks. */
void vmm_agent_frame_cb(struct channel *ch, const struct rd_frame_hdr *hdr, const uint8_t *payload,
			void *arg);
void vmm_agent_closed_cb(struct channel *ch, const char *why, void *arg);
