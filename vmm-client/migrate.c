/* migrate.c: a VMM's migrations, both over QMP with x-ignore-shared (RAM
 * stays in its file or memfd; only the device state moves) and MIGRATION
 * events. A save stops the guest and streams its device state into an fd
 * handed over with getfd; a restore's incoming migration reads the state
 * from an inherited fd (the VMM was started with -incoming defer) and the
 * owner's ready callback follows its completion. */
#include "vmm-internal.h"

#include <stdio.h>
#include <string.h>

static json_t *migrate_caps(void)
{
	return json_pack("{s:[{s:s,s:b},{s:s,s:b}]}", "capabilities", "capability", "x-ignore-shared",
			 "state", 1, "capability", "events", "state", 1);
}

static void save_done(struct vmm *v, const char *error)
{
	vmm_done_cb cb = v->save_cb;
	v->save_cb = NULL;
	cb(v, error, v->save_userdata);
}

void vmm_migrate_event(struct vmm *v, json_t *data)
{
	const char *status = json_string_value(json_object_get(data, "status"));

	if (!v->migrating || !status)
		return;
	if (strcmp(status, "completed") == 0) {
		v->migrating = false;
		if (v->kind == VMM_RESTORE && !v->ready) {
			v->ready = true;
			v->cbs->ready(v, v->userdata);
		} else if (v->save_cb)
			save_done(v, NULL);
	} else if (strcmp(status, "failed") == 0 || strcmp(status, "cancelled") == 0) {
		v->migrating = false;
		if (v->save_cb)
			save_done(v, "migration failed");
		else
			vmm_fail(v, "incoming migration failed");
	}
}

static void vmm_qmp_must_succeed_cb(struct qmp *qmp, json_t *ret, const char *error, void *arg)
{
	struct vmm *v = arg;
	if (v->freeing)
		return;
	if (error) {
		if (v->save_cb) {
			v->migrating = false;
			save_done(v, error);
		} else
			vmm_fail(v, error);
	}
}

int vmm_migrate_incoming(struct vmm *v, int state_fd)
{
	char uri[32];
	int r;

	snprintf(uri, sizeof(uri), "fd:%d", state_fd);
	v->migrating = true;
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

	if (error) {
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

	v->save_cb = cb;
	v->save_userdata = userdata;
	v->save_fd = state_fd;
	v->migrating = true;
	r = qmp_execute(v->qmp, "stop", NULL, -1, vmm_qmp_must_succeed_cb, v);
	if (r >= 0)
		r = qmp_execute(v->qmp, "migrate-set-capabilities", migrate_caps(), -1, vmm_save_caps_cb, v);
	if (r < 0) {
		v->save_cb = NULL;
		v->migrating = false;
	}
	return r;
}
