/* migrate.c: a VMM's migrations, both over QMP with x-ignore-shared (RAM
 * stays in its file or memfd; only the device state moves) and MIGRATION
 * events. A save stops the guest and streams its device state into an fd
 * handed over with getfd; a restore's incoming migration reads the state
 * from an inherited fd (the VMM was started with -incoming defer) and the
 * owner's ready callback follows its completion. */
#include "vmm-internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static json_t *migrate_caps(void)
{
	return json_pack("{s:[{s:s,s:b},{s:s,s:b}]}", "capabilities", "capability", "x-ignore-shared",
			 "state", 1, "capability", "events", "state", 1);
}

/* SAVING ends, with or without error; the VMM is IDLE (and paused) again. */
static void save_done(struct vmm *v, const char *error)
{
	vmm_done_cb cb = v->save_cb;
	v->save_cb = NULL;
	vmm_set_state(v, VMM_IDLE);
	cb(v, error, v->save_userdata);
}

void vmm_migrate_event(struct vmm *v, json_t *data)
{
	const char *status = json_string_value(json_object_get(data, "status"));

	if (!status)
		return;
	bool completed = strcmp(status, "completed") == 0;
	bool failed = strcmp(status, "failed") == 0 || strcmp(status, "cancelled") == 0;
	switch (v->state) {
	case VMM_RESTORING:
		if (completed) {
			vmm_set_state(v, VMM_IDLE);
			v->cbs->ready(v, v->userdata);
		} else if (failed)
			vmm_fail(v, "incoming migration failed");
		return;
	case VMM_SAVING:
		if (completed || failed)
			save_done(v, completed ? NULL : "migration failed");
		return;
	default:
		return; /* progress events, or a migration nobody waits for */
	}
}

/* The reply to a command of a save or a restore: an error ends a save with
 * that error and fails a restore. */
static void vmm_qmp_must_succeed_cb(struct qmp *qmp, json_t *ret, const char *error, void *arg)
{
	struct vmm *v = arg;
	if (!error || v->state == VMM_DYING)
		return;
	if (v->state == VMM_SAVING)
		save_done(v, error);
	else
		vmm_fail(v, error);
}

int vmm_migrate_incoming(struct vmm *v, int state_fd)
{
	char uri[32];
	int r;

	snprintf(uri, sizeof(uri), "fd:%d", state_fd);
	r = qmp_execute(v->qmp, "migrate-set-capabilities", migrate_caps(), -1, vmm_qmp_must_succeed_cb, v);
	if (r >= 0)
		r = qmp_execute(v->qmp, "migrate-incoming", json_pack("{s:s}", "uri", uri), -1,
				vmm_qmp_must_succeed_cb, v);
	return r;
}

/* getfd carries the fd as SCM_RIGHTS, which must not be interleaved with
 * queued bytes: it is sent once the earlier commands were answered. */
static void vmm_save_caps_cb(struct qmp *qmp, json_t *ret, const char *error, void *arg)
{
	struct vmm *v = arg;
	int r;

	if (error || v->state != VMM_SAVING) { /* the save already ended (stop failed) */
		vmm_qmp_must_succeed_cb(qmp, ret, error, arg);
		return;
	}
	r = qmp_execute(v->qmp, "getfd", json_pack("{s:s}", "fdname", "snapshot"), v->save_fd,
			vmm_qmp_must_succeed_cb, v);
	if (r >= 0)
		r = qmp_execute(v->qmp, "migrate", json_pack("{s:s}", "uri", "fd:snapshot"), -1,
				vmm_qmp_must_succeed_cb, v);
	if (r < 0)
		vmm_qmp_must_succeed_cb(qmp, NULL, "could not start the migration", arg);
}

int vmm_save(struct vmm *v, int state_fd, vmm_done_cb cb, void *userdata)
{
	int r;

	if (v->state != VMM_IDLE)
		return v->state == VMM_FAILED || v->state == VMM_DYING ? -ENOTCONN : -EBUSY;
	v->save_cb = cb;
	v->save_userdata = userdata;
	v->save_fd = state_fd;
	vmm_set_state(v, VMM_SAVING);
	r = qmp_execute(v->qmp, "stop", NULL, -1, vmm_qmp_must_succeed_cb, v);
	if (r >= 0)
		r = qmp_execute(v->qmp, "migrate-set-capabilities", migrate_caps(), -1, vmm_save_caps_cb, v);
	if (r < 0) {
		v->save_cb = NULL;
		vmm_set_state(v, VMM_IDLE);
	}
	return r;
}
