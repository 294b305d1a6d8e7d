/* vmm.c: QEMU microvm processes. Builds the command line (the flags were
 * verified in DESIGN.md), starts QEMU through vmm_spawn() with exactly three
 * inherited fds (QMP socket, agent socket, and RAM memfd or migration
 * stream), and turns QMP replies, agent frames and process exit into the
 * owner's callbacks. No socket file exists for either channel: both are
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

/* Under TCG the guest's TSC runs at the host's rate, but with no PIT/HPET
 * reference (microvm, acpi=off) the kernel cannot calibrate it and falls
 * back to jiffies: 10 ms clocks and wrong CPU accounting. Telling it the
 * rate fixes both. */
static void kernel_cmdline(const struct vmm_config *cfg, char *buf, size_t size)
{
	int n = snprintf(buf, size,
			 "console=ttyS0 quiet panic=-1 reboot=t root=/dev/vda ro init=/sbin/runnerd-agent");
	if (cfg->tsc_khz && strcmp(cfg->accel, "tcg") == 0 && n > 0 && (size_t)n < size)
		snprintf(buf + n, size - (size_t)n, " tsc_early_khz=%u tsc=reliable", cfg->tsc_khz);
}

char *vmm_machine_description(const struct vmm_config *cfg)
{
	char *s, cmdline[512];

	kernel_cmdline(cfg, cmdline, sizeof(cmdline));
	if (asprintf(&s,
		     "accel=%s cpu=%s smp=%u mem=%uM tb=%u machine=microvm,isa-serial=on,acpi=off cmdline=%s",
		     cfg->accel, strcmp(cfg->accel, "kvm") == 0 ? "host" : "max", cfg->vcpus, cfg->memory_mb,
		     cfg->tb_size_mb, cmdline) < 0)
		return NULL;
	return s;
}

/* argv storage: small fixed array of strings we own. */
struct argv_builder {
	char *v[64];
	int n;
};

static int argv_add(struct argv_builder *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int argv_add(struct argv_builder *a, const char *fmt, ...)
{
	va_list ap;
	char *s;

	if (a->n >= 62)
		return -E2BIG;
	va_start(ap, fmt);
	int r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -ENOMEM;
	a->v[a->n++] = s;
	a->v[a->n] = NULL;
	return 0;
}

static void argv_free(struct argv_builder *a)
{
	for (int i = 0; i < a->n; i++)
		free(a->v[i]);
	a->n = 0;
}

static int build_argv(struct argv_builder *a, const struct vmm_config *cfg, int qmp_fd, int agent_fd,
		      const char *mem_path, bool share, bool incoming)
{
	bool kvm = strcmp(cfg->accel, "kvm") == 0;
	char cmdline[512];
	int r = 0;

	kernel_cmdline(cfg, cmdline, sizeof(cmdline));
	r |= argv_add(a, "%s", cfg->qemu);
	r |= argv_add(a, "-accel");
	if (kvm || cfg->tb_size_mb == 0)
		r |= argv_add(a, "%s", cfg->accel);
	else
		r |= argv_add(a, "tcg,tb-size=%u", cfg->tb_size_mb);
	r |= argv_add(a, "-cpu");
	r |= argv_add(a, "%s", kvm ? "host" : "max");
	r |= argv_add(a, "-smp");
	r |= argv_add(a, "%u", cfg->vcpus);
	r |= argv_add(a, "-m");
	r |= argv_add(a, "%uM", cfg->memory_mb);
	r |= argv_add(a, "-object");
	r |= argv_add(a, "memory-backend-file,id=mem,size=%uM,mem-path=%s,share=%s", cfg->memory_mb, mem_path,
		      share ? "on" : "off");
	r |= argv_add(a, "-M");
	r |= argv_add(a, "microvm,isa-serial=on,acpi=off,memory-backend=mem");
	r |= argv_add(a, "-nodefaults");
	r |= argv_add(a, "-no-user-config");
	r |= argv_add(a, "-display");
	r |= argv_add(a, "none");
	r |= argv_add(a, "-no-reboot");
	r |= argv_add(a, "-kernel");
	r |= argv_add(a, "%s", cfg->kernel);
	r |= argv_add(a, "-append");
	r |= argv_add(a, "%s", cmdline);
	r |= argv_add(a, "-drive");
	r |= argv_add(a, "id=root,if=none,file=%s,format=raw,readonly=on", cfg->image);
	r |= argv_add(a, "-device");
	r |= argv_add(a, "virtio-blk-device,drive=root");
	r |= argv_add(a, "-device");
	r |= argv_add(a, "virtio-serial-device");
	r |= argv_add(a, "-chardev");
	r |= argv_add(a, "socket,id=agent,fd=%d", agent_fd);
	r |= argv_add(a, "-device");
	r |= argv_add(a, "virtserialport,chardev=agent,name=" VMM_AGENT_PORT_NAME);
	r |= argv_add(a, "-chardev");
	r |= argv_add(a, "socket,id=qmp,fd=%d", qmp_fd);
	r |= argv_add(a, "-mon");
	r |= argv_add(a, "chardev=qmp,mode=control");
	r |= argv_add(a, "-chardev");
	if (cfg->console_path)
		r |= argv_add(a, "file,id=con,path=%s", cfg->console_path);
	else
		r |= argv_add(a, "null,id=con");
	r |= argv_add(a, "-serial");
	r |= argv_add(a, "chardev:con");
	r |= argv_add(a, "-sandbox");
	r |= argv_add(a, "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny");
	if (incoming) {
		r |= argv_add(a, "-S");
		r |= argv_add(a, "-incoming");
		r |= argv_add(a, "defer");
	}
	return r ? -ENOMEM : 0;
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

/* Spawns QEMU with QMP and agent socketpairs, plus for a restore the RAM
 * memfd and the migration stream. On failure the vmm is freed; the
 * caller's fds stay the caller's. */
static int vmm_start(struct vmm *v, struct event_base *base, const struct vmm_config *cfg, int ram_fd,
		     int state_fd, const char *mem_path, bool share)
{
	int qmp_sp[2] = {-1, -1}, agent_sp[2] = {-1, -1};
	struct argv_builder a = {0};
	char *envp[] = {"PATH=/usr/bin:/bin", "LC_ALL=C", NULL};
	int r;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, qmp_sp) < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, agent_sp) < 0) {
		r = -errno;
		goto fail;
	}
	r = build_argv(&a, cfg, qmp_sp[1], agent_sp[1], mem_path, share, state_fd >= 0);
	if (r < 0)
		goto fail;

	struct vmm_launch launch = {
	    .path = cfg->qemu,
	    .argv = a.v,
	    .envp = envp,
	    .keep_fds = {qmp_sp[1], agent_sp[1], ram_fd, state_fd, -1, -1, -1, -1},
	    .stdout_fd = -1,
	};
	r = vmm_spawn(&launch, &v->pid, &v->pidfd);
	argv_free(&a);
	if (r < 0)
		goto fail;
	vmm_live++;
	close(qmp_sp[1]);
	close(agent_sp[1]);
	qmp_sp[1] = agent_sp[1] = -1;

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
	argv_free(&a);
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
	struct vmm *v = vmm_alloc(VMM_BOOT, cbs, userdata);
	if (!v)
		return -ENOMEM;
	int r = vmm_start(v, base, cfg, -1, -1, ram_path, true);
	if (r < 0)
		return r;
	*ret = v;
	return 0;
}

int vmm_restore(struct event_base *base, const struct vmm_config *cfg, int ram_fd, int state_memfd,
		const struct vmm_callbacks *cbs, void *userdata, struct vmm **ret)
{
	char mem_path[64], uri[32];
	struct vmm *v = vmm_alloc(VMM_RESTORE, cbs, userdata);
	if (!v)
		return -ENOMEM;

	char state_path[64];
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
	snprintf(mem_path, sizeof(mem_path), "/proc/self/fd/%d", ram_fd);
	int r = vmm_start(v, base, cfg, ram_fd, state_fd, mem_path, false);
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
