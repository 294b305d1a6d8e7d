/* vmm.c: the VMM object. Starts QEMU through vmm_spawn() with the command
 * line of qemu-argv.c and exactly the fds it names (QMP socket, agent
 * socket, and for a restore the RAM memfd and the migration stream), routes
 * QMP events, runs cont and stop, and frees. No socket file exists for
 * either channel: both are socketpairs, so only runnerd can reach them. The
 * process (reaper.c), migrations (migrate.c) and agent frames (agent.c)
 * live next door. */
#include "vmm-internal.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "qemu-argv.h"
#include "spawn.h"

static uint64_t vmm_serial;

void vmm_set_state(struct vmm *v, enum vmm_state to)
{
	assert(vmm_state_transition_valid(v->state, to));
	v->state = to;
}

void vmm_fail(struct vmm *v, const char *why)
{
	if (v->state == VMM_FAILED || v->state == VMM_DYING)
		return;
	vmm_set_state(v, VMM_FAILED);
	if (v->cbs->failed)
		v->cbs->failed(v, why, v->userdata);
}

static void machine_from_config(const struct vmm_config *cfg, struct qemu_machine *m)
{
	*m = (struct qemu_machine)QEMU_MACHINE_INIT;
	m->qemu = cfg->qemu;
	m->accel = cfg->accel;
	m->kernel = cfg->kernel;
	m->image = cfg->image;
	m->memory_mb = cfg->memory_mb;
	m->vcpus = cfg->vcpus;
	m->tb_size_mb = cfg->tb_size_mb;
	m->tsc_khz = cfg->tsc_khz;
	/* The console file is opened by runnerd and becomes QEMU's stdout:
	 * no path to reopen, which a jailed VMM could not. */
	m->console = cfg->console_path ? QEMU_CONSOLE_STDOUT : QEMU_CONSOLE_NULL;
}

char *vmm_machine_description(const struct vmm_config *cfg)
{
	struct qemu_machine m;

	machine_from_config(cfg, &m);
	return qemu_machine_description(&m);
}

static void vmm_qmp_event_cb(struct qmp *qmp, const char *event, json_t *data, void *arg)
{
	struct vmm *v = arg;

	if (strcmp(event, "MIGRATION") == 0)
		vmm_migrate_event(v, data);
	else if (strcmp(event, "SHUTDOWN") == 0 || strcmp(event, "GUEST_PANICKED") == 0)
		vmm_fail(v, strcmp(event, "SHUTDOWN") == 0 ? "guest shut down" : "guest panicked");
}

static void vmm_qmp_closed_cb(struct qmp *qmp, const char *why, void *arg)
{
	vmm_fail(arg, why);
}

static struct vmm *vmm_alloc(enum vmm_state first, const struct vmm_callbacks *cbs, void *userdata)
{
	struct vmm *v = calloc(1, sizeof(*v));
	if (!v)
		return NULL;
	v->state = first;
	v->pidfd = -1;
	v->ram_file_fd = -1;
	v->cbs = cbs;
	v->userdata = userdata;
	snprintf(v->id, sizeof(v->id), "vm-%llu", (unsigned long long)++vmm_serial);
	return v;
}

/* A jailed VMM: a slot (uid, cgroup) and the root for its kernel and
 * image, whose paths inside the root replace the host's. A template's RAM
 * file is reopened by QEMU through /proc/self/fd as the slot's uid: it is
 * lent to that uid until the VMM is freed. */
static int vmm_jail_place(struct vmm *v, const struct vmm_config *cfg, struct qemu_machine *m)
{
	char *error = NULL;
	/* The cgroup's memory: guest RAM, the TCG translation buffer, and
	 * room for QEMU itself. */
	unsigned limit_mb = cfg->memory_mb + (strcmp(cfg->accel, "tcg") == 0 ? cfg->tb_size_mb : 0) + 256;
	int r = jail_place_take(cfg->jail, cfg->kernel, cfg->image, strcmp(cfg->accel, "kvm") == 0, limit_mb,
				cfg->vcpus, &v->place, &error);
	free(error); /* the caller reports the errno */
	if (r < 0)
		return r;
	v->jail = cfg->jail;
	m->kernel = JAIL_KERNEL_PATH;
	m->image = JAIL_IMAGE_PATH;
	if (m->ram_path) {
		v->ram_file_fd = open(m->ram_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (v->ram_file_fd < 0 || fchown(v->ram_file_fd, v->place.exec.uid, v->place.exec.gid) < 0)
			return -errno;
		m->ram_fd = v->ram_file_fd;
		m->ram_path = NULL;
	}
	return 0;
}

/* The template's RAM file goes back to root as soon as its VMM is
 * discarded (its owner reads it next); the dying process keeps only the fd
 * it had. */
static void vmm_return_ram_file(struct vmm *v)
{
	if (v->ram_file_fd >= 0) {
		(void)fchown(v->ram_file_fd, 0, 0);
		close(v->ram_file_fd);
		v->ram_file_fd = -1;
	}
}

void vmm_release_jail(struct vmm *v)
{
	vmm_return_ram_file(v);
	if (v->jail)
		jail_place_put(v->jail, &v->place);
	v->jail = NULL;
}

/* Spawns QEMU for machine m (its RAM and state fds set by the caller) with
 * fresh QMP and agent socketpairs. On failure the vmm is freed; the
 * caller's fds stay the caller's. */
static int vmm_start(struct vmm *v, struct event_base *base, const struct vmm_config *cfg,
		     struct qemu_machine *m)
{
	_cleanup_(vmm_freep) struct vmm *unstarted = v; /* freed on every failure */
	_cleanup_close_pair_ int qmp_sp[2] = {-1, -1}, agent_sp[2] = {-1, -1};
	_cleanup_close_ int console_fd = -1;
	_cleanup_(qemu_argv_freep) char **argv = NULL;
	char *envp[] = {"PATH=/usr/bin:/bin", "LC_ALL=C", NULL};
	int r;

	if (cfg->jail) {
		r = vmm_jail_place(v, cfg, m);
		if (r < 0)
			return r;
	}
	if (cfg->console_path) {
		console_fd = open(cfg->console_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
		if (console_fd < 0)
			return -errno;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, qmp_sp) < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, agent_sp) < 0)
		return -errno;
	m->qmp_fd = qmp_sp[1];
	m->agent_fd = agent_sp[1];
	r = qemu_argv_build(m, &argv);
	if (r < 0)
		return r;

	struct vmm_launch launch = {
	    .path = m->qemu,
	    .argv = argv,
	    .envp = envp,
	    .keep_fds = {m->qmp_fd, m->agent_fd, m->ram_fd, m->state_fd, -1, -1, -1, -1},
	    .stdout_fd = console_fd,
	    .jail = v->jail ? &v->place.exec : NULL,
	};
	r = vmm_spawn(&launch, &v->pid, &v->pidfd);
	if (r < 0)
		return r;
	/* QEMU has its ends now. */
	qmp_sp[1] = safe_close(qmp_sp[1]);
	agent_sp[1] = safe_close(agent_sp[1]);

	r = vmm_reaper_watch(v, base);
	if (r < 0)
		return r;
	r = qmp_new(base, TAKE_FD(qmp_sp[0]), vmm_qmp_event_cb, vmm_qmp_closed_cb, v, &v->qmp);
	if (r < 0)
		return r;
	r = channel_new(base, TAKE_FD(agent_sp[0]), vmm_agent_frame_cb, vmm_agent_closed_cb, v, &v->chan);
	if (r < 0)
		return r;
	TAKE_PTR(unstarted); /* started: the caller's */
	return 0;
}

int vmm_boot(struct event_base *base, const struct vmm_config *cfg, const char *ram_path,
	     const struct vmm_callbacks *cbs, void *userdata, struct vmm **ret)
{
	struct qemu_machine m;
	struct vmm *v = vmm_alloc(VMM_BOOTING, cbs, userdata);
	if (!v)
		return -ENOMEM;
	machine_from_config(cfg, &m);
	m.start = QEMU_START_BOOT;
	m.ram_path = ram_path;
	int r = vmm_start(v, base, cfg, &m);
	if (r < 0)
		return r;
	*ret = v;
	return 0;
}

int vmm_restore(struct event_base *base, const struct vmm_config *cfg, int ram_fd, int state_memfd,
		const struct vmm_callbacks *cbs, void *userdata, struct vmm **ret)
{
	struct qemu_machine m;
	char state_path[64];
	struct vmm *v;
	int r;

	snprintf(state_path, sizeof(state_path), "/proc/self/fd/%d", state_memfd);
	/* A new open file description: this clone's own offset. */
	_cleanup_close_ int state_fd = open(state_path, O_RDONLY | O_CLOEXEC);
	if (state_fd < 0)
		return -errno;
	v = vmm_alloc(VMM_RESTORING, cbs, userdata);
	if (!v)
		return -ENOMEM;
	/* The memfd is write-sealed: QEMU maps it private (copy-on-write) and
	 * cannot change the template for later clones. The state fd is an
	 * inherited fd at the same number; QEMU 7.2 takes a numeric "fd:N"
	 * for incoming migration and closes it when done. */
	machine_from_config(cfg, &m);
	m.start = QEMU_START_RESTORE;
	m.ram_fd = ram_fd;
	m.state_fd = state_fd;
	r = vmm_start(v, base, cfg, &m); /* frees v on failure */
	if (r < 0)
		return r;
	r = vmm_migrate_incoming(v, state_fd);
	if (r < 0) {
		vmm_free(v);
		return r;
	}
	*ret = v;
	return 0;
}

struct vmm_op {
	struct vmm *vmm;
	vmm_done_cb cb;
	void *userdata;
};

static void vmm_op_reply_cb(struct qmp *qmp, json_t *ret, const char *error, void *arg)
{
	struct vmm_op op = *(struct vmm_op *)arg;
	free(arg);
	if (op.vmm->state != VMM_DYING) /* the owner discarded the VMM: no answer */
		op.cb(op.vmm, error, op.userdata);
}

static int vmm_simple(struct vmm *v, const char *command, vmm_done_cb cb, void *userdata)
{
	struct vmm_op *op = malloc(sizeof(*op));
	if (!op)
		return -ENOMEM;
	*op = (struct vmm_op){v, cb, userdata};
	int r = qmp_execute(v->qmp, command, NULL, -1, vmm_op_reply_cb, op);
	if (r < 0)
		free(op);
	return r;
}

int vmm_resume(struct vmm *v, vmm_done_cb cb, void *userdata)
{
	return vmm_simple(v, "cont", cb, userdata);
}

int vmm_pause(struct vmm *v, vmm_done_cb cb, void *userdata)
{
	return vmm_simple(v, "stop", cb, userdata);
}

const char *vmm_id(const struct vmm *v)
{
	return v->id;
}

pid_t vmm_pid(const struct vmm *v)
{
	return v->pid;
}

void vmm_free(struct vmm *v)
{
	if (!v)
		return;
	vmm_set_state(v, VMM_DYING); /* no callbacks from here on */
	vmm_return_ram_file(v);
	qmp_free(v->qmp);
	v->qmp = NULL;
	channel_free(v->chan);
	v->chan = NULL;
	vmm_reaper_release(v);
}
