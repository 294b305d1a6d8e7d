/* reaper.c: the QEMU process behind a VMM. While the VMM lives, its pidfd is
 * watched on the event loop and an exit fails the VMM; vmm_free() SIGKILLs
 * it and the process is reaped asynchronously when the pidfd says it
 * exited (vmm_reap_all() does the rest, blocking, at shutdown). vmm_count()
 * counts every process spawned and not yet reaped. */
#include "vmm-internal.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "event-util.h"
#include "spawn.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

static unsigned vmm_live; /* spawned and not yet reaped */
/* Killed, waiting for the pidfd to say it exited. */
static TAILQ_HEAD(, vmm) dying = TAILQ_HEAD_INITIALIZER(dying);

static void vmm_exit_cb(evutil_socket_t fd, short what, void *arg)
{
	struct vmm *v = arg;
	siginfo_t si = {0};
	char why[96];

	if (waitid(P_PIDFD, (id_t)v->pidfd, &si, WEXITED | WNOHANG) < 0 || si.si_pid == 0)
		return;
	event_del(v->exit_ev);
	v->pid = 0;
	vmm_live--;
	if (si.si_code == CLD_EXITED)
		snprintf(why, sizeof(why), "VMM exited with status %d", si.si_status);
	else
		snprintf(why, sizeof(why), "VMM killed by signal %d", si.si_status);
	vmm_fail(v, why);
}

int vmm_reaper_watch(struct vmm *v, struct event_base *base)
{
	vmm_live++;
	v->exit_ev = event_new(base, v->pidfd, EV_READ | EV_PERSIST, vmm_exit_cb, v);
	if (!v->exit_ev || event_add(v->exit_ev, NULL) < 0)
		return -ENOMEM;
	return 0;
}

/* Frees what is left of v once its process is reaped (or never was). */
static void vmm_destroy(struct vmm *v)
{
	vmm_release_jail(v);
	safe_event_free(v->exit_ev);
	safe_close(v->pidfd);
	free(v);
}

static void vmm_reaped_cb(evutil_socket_t fd, short what, void *arg)
{
	struct vmm *v = arg;
	siginfo_t si = {0};

	if (waitid(P_PIDFD, (id_t)v->pidfd, &si, WEXITED | WNOHANG) < 0 || si.si_pid == 0)
		return;
	TAILQ_REMOVE(&dying, v, dying_link);
	vmm_live--;
	vmm_destroy(v);
}

void vmm_reaper_release(struct vmm *v)
{
	if (v->pid > 0 && v->exit_ev) {
		/* Kill now, reap when the pidfd says so. */
		syscall(SYS_pidfd_send_signal, v->pidfd, SIGKILL, NULL, 0);
		event_del(v->exit_ev);
		event_assign(v->exit_ev, event_get_base(v->exit_ev), v->pidfd, EV_READ | EV_PERSIST,
			     vmm_reaped_cb, v);
		event_add(v->exit_ev, NULL);
		TAILQ_INSERT_TAIL(&dying, v, dying_link);
		return;
	}
	if (v->pid > 0) {
		vmm_kill_and_reap(v->pidfd);
		vmm_live--;
	}
	vmm_destroy(v);
}

void vmm_reap_all(void)
{
	struct vmm *v;

	while ((v = TAILQ_FIRST(&dying))) {
		TAILQ_REMOVE(&dying, v, dying_link);
		vmm_kill_and_reap(v->pidfd);
		vmm_live--;
		vmm_destroy(v);
	}
}

unsigned vmm_count(void)
{
	return vmm_live;
}
