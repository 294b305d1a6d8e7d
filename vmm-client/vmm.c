/* vmm.c: QEMU microvm processes. Starts QEMU through vmm_spawn() with the
 * command line of qemu-argv.c and exactly the fds it names (QMP socket,
 * agent socket, and for a restore the RAM memfd and the migration stream),
 * and turns QMP replies, agent frames and process exit into the owner's
 * callbacks. No socket file exists for either channel: both are
 * socketpairs, so only runnerd can reach them. */
#include "vmm.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "channel.h"
#include "qemu-argv.h"
#include "qmp.h"
#include "spawn.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

enum vmm_kind {
	VMM_BOOT,
	VMM_RESTORE,
};

struct vmm {
	struct vmm *next_dying; /* on the reaper list after vmm_free() */
	char id[24];
	enum vmm_kind kind;
	pid_t pid;
	int pidfd;
	struct event *exit_ev;
	struct qmp *qmp;
	struct channel *chan;
	const struct vmm_callbacks *cbs;
	void *userdata;
	bool ready;
	bool failed;
	bool freeing;	/* in vmm_free(): pending QMP replies only release what they hold */
	bool migrating; /* vmm_save() or restore waiting for MIGRATION completed */
	vmm_done_cb save_cb;
	int save_fd; /* borrowed, for getfd */
	void *save_userdata;
	uint32_t job_id;
	bool job_acked; /* exactly one ACK per job */
};

static unsigned vmm_live; /* spawned and not yet reaped */
static struct vmm *dying; /* killed, waiting for the pidfd to say it exited */
static uint64_t vmm_serial;

static void vmm_fail(struct vmm *v, const char *why)
{
	if (v->failed)
		return;
	v->failed = true;
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
	m->console = cfg->console_path ? QEMU_CONSOLE_FILE : QEMU_CONSOLE_NULL;
	m->console_path = cfg->console_path;
}

char *vmm_machine_description(const struct vmm_config *cfg)
{
	struct qemu_machine m;

	machine_from_config(cfg, &m);
	return qemu_machine_description(&m);
}

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

static void vmm_qmp_event_cb(struct qmp *qmp, const char *event, json_t *data, void *arg)
{
	struct vmm *v = arg;

	if (strcmp(event, "MIGRATION") == 0 && v->migrating) {
		const char *status = json_string_value(json_object_get(data, "status"));
		if (!status)
			return;
		if (strcmp(status, "completed") == 0) {
			v->migrating = false;
			if (v->kind == VMM_RESTORE && !v->ready) {
				v->ready = true;
				v->cbs->ready(v, v->userdata);
			} else if (v->save_cb) {
				vmm_done_cb cb = v->save_cb;
				v->save_cb = NULL;
				cb(v, NULL, v->save_userdata);
			}
		} else if (strcmp(status, "failed") == 0 || strcmp(status, "cancelled") == 0) {
			v->migrating = false;
			if (v->save_cb) {
				vmm_done_cb cb = v->save_cb;
				v->save_cb = NULL;
				cb(v, "migration failed", v->save_userdata);
			} else
				vmm_fail(v, "incoming migration failed");
		}
	} else if (strcmp(event, "SHUTDOWN") == 0 || strcmp(event, "GUEST_PANICKED") == 0) {
		vmm_fail(v, strcmp(event, "SHUTDOWN") == 0 ? "guest shut down" : "guest panicked");
	}
}

static void vmm_qmp_closed_cb(struct qmp *qmp, const char *why, void *arg)
{
	vmm_fail(arg, why);
}

static void vmm_qmp_must_succeed_cb(struct qmp *qmp, json_t *ret, const char *error, void *arg)
{
	struct vmm *v = arg;
	if (v->freeing)
		return;
	if (error) {
		if (v->save_cb) {
			vmm_done_cb cb = v->save_cb;
			v->save_cb = NULL;
			v->migrating = false;
			cb(v, error, v->save_userdata);
		} else
			vmm_fail(v, error);
	}
}

static void vmm_frame_cb(struct channel *ch, const struct rd_frame_hdr *hdr, const uint8_t *payload,
			 void *arg)
{
	struct vmm *v = arg;

	switch (hdr->type) {
	case RD_FRAME_HELLO:
		if (v->kind != VMM_BOOT || v->ready) {
			vmm_fail(v, "agent sent an unexpected HELLO");
			return;
		}
		v->ready = true;
		v->cbs->ready(v, v->userdata);
		return;
	case RD_FRAME_ACK:
		if (hdr->id != v->job_id || hdr->id == 0 || v->job_acked) {
			vmm_fail(v, "agent acknowledged an unknown job, or twice");
			return;
		}
		v->job_acked = true;
		if (v->cbs->ack)
			v->cbs->ack(v, v->userdata);
		return;
	case RD_FRAME_RESULT: {
		struct rd_result res;
		if (hdr->id != v->job_id || hdr->id == 0) {
			vmm_fail(v, "agent answered an unknown job");
			return;
		}
		if (rd_result_decode(payload, hdr->len, &res) < 0) {
			vmm_fail(v, "agent sent a malformed result");
			return;
		}
		v->job_id = 0; /* exactly one result per job */
		v->cbs->result(v, &res, v->userdata);
		return;
	}
	case RD_FRAME_ERROR: {
		/* The message is guest-controlled: keep printable ASCII, bounded. */
		struct rd_tlv_iter it;
		uint16_t tag;
		const uint8_t *val;
		uint32_t len;
		char why[160] = "agent reported an error";
		rd_tlv_iter_init(&it, payload, hdr->len);
		if (rd_tlv_next(&it, &tag, &val, &len) == 1 && tag == RD_TAG_MESSAGE) {
			size_t n = strlen(why);
			n += (size_t)snprintf(why + n, sizeof(why) - n, ": ");
			for (uint32_t i = 0; i < len && val[i] && n + 1 < sizeof(why); i++)
				why[n++] = val[i] >= 0x20 && val[i] < 0x7f ? (char)val[i] : '?';
			why[n] = 0;
		}
		vmm_fail(v, why);
		return;
	}
	default:
		vmm_fail(v, "agent sent an unexpected frame");
		return;
	}
}

static void vmm_channel_closed_cb(struct channel *ch, const char *why, void *arg)
{
	vmm_fail(arg, why);
}

static struct vmm *vmm_alloc(enum vmm_kind kind, const struct vmm_callbacks *cbs, void *userdata)
{
	struct vmm *v = calloc(1, sizeof(*v));
	if (!v)
		return NULL;
	v->kind = kind;
	v->pidfd = -1;
	v->cbs = cbs;
	v->userdata = userdata;
	snprintf(v->id, sizeof(v->id), "vm-%llu", (unsigned long long)++vmm_serial);
	return v;
}

/* Spawns QEMU for machine m (its RAM and state fds set by the caller) with
 * fresh QMP and agent socketpairs. On failure the vmm is freed; the
 * caller's fds stay the caller's. */
static int vmm_start(struct vmm *v, struct event_base *base, struct qemu_machine *m)
{
	int qmp_sp[2] = {-1, -1}, agent_sp[2] = {-1, -1};
	char **argv = NULL;
	char *envp[] = {"PATH=/usr/bin:/bin", "LC_ALL=C", NULL};
	int r;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, qmp_sp) < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, agent_sp) < 0) {
		r = -errno;
		goto fail;
	}
	m->qmp_fd = qmp_sp[1];
	m->agent_fd = agent_sp[1];
	r = qemu_argv_build(m, &argv);
	if (r < 0)
		goto fail;

	struct vmm_launch launch = {
	    .path = m->qemu,
	    .argv = argv,
	    .envp = envp,
	    .keep_fds = {m->qmp_fd, m->agent_fd, m->ram_fd, m->state_fd, -1, -1, -1, -1},
	    .stdout_fd = -1,
	};
	r = vmm_spawn(&launch, &v->pid, &v->pidfd);
	qemu_argv_free(argv);
	argv = NULL;
	if (r < 0)
		goto fail;
	close(qmp_sp[1]);
	close(agent_sp[1]);
	qmp_sp[1] = agent_sp[1] = -1;

	vmm_live++;
	v->exit_ev = event_new(base, v->pidfd, EV_READ | EV_PERSIST, vmm_exit_cb, v);
	if (!v->exit_ev || event_add(v->exit_ev, NULL) < 0) {
		r = -ENOMEM;
		goto fail;
	}
	r = qmp_new(base, qmp_sp[0], vmm_qmp_event_cb, vmm_qmp_closed_cb, v, &v->qmp);
	qmp_sp[0] = -1;
	if (r < 0)
		goto fail;
	r = channel_new(base, agent_sp[0], vmm_frame_cb, vmm_channel_closed_cb, v, &v->chan);
	agent_sp[0] = -1;
	if (r < 0)
		goto fail;
	return 0;
fail:
	qemu_argv_free(argv);
	for (int i = 0; i < 2; i++) {
		if (qmp_sp[i] >= 0)
			close(qmp_sp[i]);
		if (agent_sp[i] >= 0)
			close(agent_sp[i]);
	}
	vmm_free(v);
	return r;
}

static json_t *migrate_caps(void)
{
	return json_pack("{s:[{s:s,s:b},{s:s,s:b}]}", "capabilities", "capability", "x-ignore-shared",
			 "state", 1, "capability", "events", "state", 1);
}

int vmm_boot(struct event_base *base, const struct vmm_config *cfg, const char *ram_path,
	     const struct vmm_callbacks *cbs, void *userdata, struct vmm **ret)
{
	struct qemu_machine m;
	struct vmm *v = vmm_alloc(VMM_BOOT, cbs, userdata);
	if (!v)
		return -ENOMEM;
	machine_from_config(cfg, &m);
	m.start = QEMU_START_BOOT;
	m.ram_path = ram_path;
	int r = vmm_start(v, base, &m);
	if (r < 0)
		return r;
	*ret = v;
	return 0;
}

int vmm_restore(struct event_base *base, const struct vmm_config *cfg, int ram_fd, int state_memfd,
		const struct vmm_callbacks *cbs, void *userdata, struct vmm **ret)
{
	struct qemu_machine m;
	char state_path[64], uri[32];
	struct vmm *v = vmm_alloc(VMM_RESTORE, cbs, userdata);
	if (!v)
		return -ENOMEM;

	snprintf(state_path, sizeof(state_path), "/proc/self/fd/%d", state_memfd);
	/* A new open file description: this clone's own offset. */
	int state_fd = open(state_path, O_RDONLY | O_CLOEXEC);
	if (state_fd < 0) {
		int r = -errno;
		vmm_free(v);
		return r;
	}
	/* The memfd is write-sealed: QEMU maps it private (copy-on-write) and
	 * cannot change the template for later clones. The state fd is an
	 * inherited fd at the same number; QEMU 7.2 takes a numeric "fd:N"
	 * for incoming migration and closes it when done. */
	machine_from_config(cfg, &m);
	m.start = QEMU_START_RESTORE;
	m.ram_fd = ram_fd;
	m.state_fd = state_fd;
	int r = vmm_start(v, base, &m);
	if (r >= 0) {
		snprintf(uri, sizeof(uri), "fd:%d", state_fd);
		v->migrating = true;
		r = qmp_execute(v->qmp, "migrate-set-capabilities", migrate_caps(), -1,
				vmm_qmp_must_succeed_cb, v);
		if (r >= 0)
			r = qmp_execute(v->qmp, "migrate-incoming", json_pack("{s:s}", "uri", uri), -1,
					vmm_qmp_must_succeed_cb, v);
		if (r < 0)
			vmm_free(v);
	}
	close(state_fd);
	if (r < 0)
		return r;
	*ret = v;
	return 0;
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

struct vmm_op {
	struct vmm *vmm;
	vmm_done_cb cb;
	void *userdata;
};

static void vmm_op_reply_cb(struct qmp *qmp, json_t *ret, const char *error, void *arg)
{
	struct vmm_op op = *(struct vmm_op *)arg;
	free(arg);
	if (!op.vmm->freeing) /* the owner discarded the VMM: no answer */
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

int vmm_send_job(struct vmm *v, const struct rd_job *job, size_t budget)
{
	static uint32_t next_job_id;
	struct rd_buf buf;
	int r;

	if (v->failed)
		return -ENOTCONN;
	rd_buf_init(&buf, RD_FRAME_MAX + RD_FRAME_HDR_SIZE);
	if (++next_job_id == 0)
		next_job_id = 1;
	r = rd_job_encode(job, next_job_id, &buf);
	if (r >= 0) {
		v->job_id = next_job_id;
		v->job_acked = false;
		channel_set_budget(v->chan, budget);
		r = channel_send(v->chan, buf.data, buf.len);
	}
	rd_buf_free(&buf);
	return r;
}

const char *vmm_id(const struct vmm *v)
{
	return v->id;
}

pid_t vmm_pid(const struct vmm *v)
{
	return v->pid;
}

static void vmm_reaped_cb(evutil_socket_t fd, short what, void *arg)
{
	struct vmm *v = arg;
	siginfo_t si = {0};

	if (waitid(P_PIDFD, (id_t)v->pidfd, &si, WEXITED | WNOHANG) < 0 || si.si_pid == 0)
		return;
	for (struct vmm **p = &dying; *p; p = &(*p)->next_dying)
		if (*p == v) {
			*p = v->next_dying;
			break;
		}
	vmm_live--;
	event_free(v->exit_ev);
	close(v->pidfd);
	free(v);
}

void vmm_free(struct vmm *v)
{
	if (!v)
		return;
	v->failed = true; /* no callbacks from here on */
	v->freeing = true;
	qmp_free(v->qmp);
	v->qmp = NULL;
	channel_free(v->chan);
	v->chan = NULL;
	if (v->pid > 0 && v->exit_ev) {
		/* Kill now, reap when the pidfd says so. */
		syscall(SYS_pidfd_send_signal, v->pidfd, SIGKILL, NULL, 0);
		event_del(v->exit_ev);
		event_assign(v->exit_ev, event_get_base(v->exit_ev), v->pidfd, EV_READ | EV_PERSIST,
			     vmm_reaped_cb, v);
		event_add(v->exit_ev, NULL);
		v->next_dying = dying;
		dying = v;
		return;
	}
	if (v->pid > 0) {
		vmm_kill_and_reap(v->pidfd);
		vmm_live--;
	}
	if (v->exit_ev)
		event_free(v->exit_ev);
	if (v->pidfd >= 0)
		close(v->pidfd);
	free(v);
}

void vmm_reap_all(void)
{
	while (dying) {
		struct vmm *v = dying;
		dying = v->next_dying;
		vmm_kill_and_reap(v->pidfd);
		vmm_live--;
		event_free(v->exit_ev);
		close(v->pidfd);
		free(v);
	}
}

unsigned vmm_count(void)
{
	return vmm_live;
}
