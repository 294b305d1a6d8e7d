/* fake-vmm.c: the scripted VMM of fake-vmm.h. Linked ahead of the real
 * libraries, its definitions of vmm.h's functions are the ones the linker
 * takes, so the archive member of vmm-client that defines the real ones is
 * never pulled in; if the code under test ever calls a function of vmm.h
 * this file lacks, the real vmm.c comes along and the link fails with
 * duplicate symbols instead of a test quietly starting QEMU.
 *
 * Records are kept until fake_vmm_reset(), freed or not, so a test can
 * still look at a VMM its owner has discarded. */
#include "fake-vmm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto.h"

int fake_vmm_boot_error;
int fake_vmm_restore_error;
int fake_vmm_resume_error;
int fake_vmm_send_error;

static struct vmm *head, *tail;
static unsigned made;

/* Misuse of the fake is a bug in the test, not a finding about the code
 * under test: stop at once, loudly. */
static void must(bool cond, const char *what, const struct vmm *v)
{
	if (cond)
		return;
	fprintf(stderr, "fake-vmm: %s (%s)\n", what, v ? v->id : "-");
	abort();
}

static int take_error(int *e)
{
	int r = *e;
	*e = 0;
	return r;
}

static struct vmm *fake_new(struct event_base *base, const struct vmm_callbacks *cbs, void *userdata,
			    bool booted)
{
	struct vmm *v = calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	v->serial = made++;
	snprintf(v->id, sizeof(v->id), "fake-%u", v->serial);
	v->booted = booted;
	v->base = base;
	v->cbs = cbs;
	v->userdata = userdata;
	v->ram_fd = v->state_fd = v->save_fd = -1;
	if (tail)
		tail->next = v;
	else
		head = v;
	tail = v;
	return v;
}

char *vmm_machine_description(const struct vmm_config *cfg)
{
	char *s = NULL;

	if (asprintf(&s, "fake accel=%s memory_mb=%u vcpus=%u", cfg->accel ? cfg->accel : "-", cfg->memory_mb,
		     cfg->vcpus) < 0)
		return NULL;
	return s;
}

/* QEMU creates the RAM file of a booted template VM (share=on) and the
 * guest writes it; here one page of "guest memory" and holes for the rest,
 * which is what the template code reads back after the save. */
static int fake_ram_file(const char *path)
{
	char page[4096];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0)
		return -errno;
	memset(page, 0x5a, sizeof(page));
	int r = pwrite(fd, page, sizeof(page), 0) == (ssize_t)sizeof(page) && ftruncate(fd, 16 * 4096) == 0
		    ? 0
		    : -EIO;
	close(fd);
	return r;
}

int vmm_boot(struct event_base *base, const struct vmm_config *cfg, const char *ram_path,
	     const struct vmm_callbacks *cbs, void *userdata, struct vmm **ret)
{
	int r = take_error(&fake_vmm_boot_error);

	if (r < 0)
		return r;
	r = fake_ram_file(ram_path);
	if (r < 0)
		return r;
	struct vmm *v = fake_new(base, cbs, userdata, true);
	if (!v)
		return -ENOMEM;
	snprintf(v->ram_path, sizeof(v->ram_path), "%s", ram_path);
	v->memory_mb = cfg->memory_mb;
	*ret = v;
	return 0;
}

int vmm_restore(struct event_base *base, const struct vmm_config *cfg, int ram_fd, int state_fd,
		const struct vmm_callbacks *cbs, void *userdata, struct vmm **ret)
{
	int r = take_error(&fake_vmm_restore_error);

	if (r < 0)
		return r;
	struct vmm *v = fake_new(base, cbs, userdata, false);
	if (!v)
		return -ENOMEM;
	v->ram_fd = ram_fd;
	v->state_fd = state_fd;
	v->memory_mb = cfg->memory_mb;
	*ret = v;
	return 0;
}

static int push_op(struct vmm *v, enum fake_op op, vmm_done_cb cb, void *userdata)
{
	must(!v->freed, "command on a freed VMM", v);
	if (v->failed)
		return -ENOTCONN;
	if (v->n_ops == FAKE_MAX_OPS)
		return -ENOBUFS;
	v->ops[v->n_ops].op = op;
	v->ops[v->n_ops].cb = cb;
	v->ops[v->n_ops].userdata = userdata;
	v->n_ops++;
	return 0;
}

int vmm_save(struct vmm *v, int state_fd, vmm_done_cb cb, void *userdata)
{
	int r = push_op(v, FAKE_SAVE, cb, userdata);

	if (r >= 0)
		v->save_fd = state_fd;
	return r;
}

int vmm_resume(struct vmm *v, vmm_done_cb cb, void *userdata)
{
	int r = take_error(&fake_vmm_resume_error);

	return r < 0 ? r : push_op(v, FAKE_RESUME, cb, userdata);
}

int vmm_pause(struct vmm *v, vmm_done_cb cb, void *userdata)
{
	return push_op(v, FAKE_PAUSE, cb, userdata);
}

static void copy_str(char *dst, size_t size, const void *src, size_t len)
{
	if (!src)
		len = 0;
	if (len >= size)
		len = size - 1;
	memcpy(dst, src ? src : "", len);
	dst[len] = 0;
}

int vmm_send_job(struct vmm *v, const struct rd_job *job, size_t budget)
{
	struct rd_buf buf;
	int r;

	must(!v->freed, "job sent to a freed VMM", v);
	if (v->failed)
		return -ENOTCONN;
	r = take_error(&fake_vmm_send_error);
	if (r < 0)
		return r;
	/* What the real VMM would put on the wire: a job the agent would
	 * refuse is refused here too. */
	rd_buf_init(&buf, RD_FRAME_MAX + RD_FRAME_HDR_SIZE);
	r = rd_job_encode(job, v->jobs + 1, &buf);
	rd_buf_free(&buf);
	if (r < 0)
		return r;
	v->jobs++;
	struct fake_job *j = &v->job;
	*j = (struct fake_job){.n_files = job->n_files,
			       .run_argc = job->run_argc,
			       .wall_ms = job->limits.wall_ms,
			       .budget = budget};
	if (job->n_files > 0) {
		copy_str(j->file0, sizeof(j->file0), job->files[0].name, strlen(job->files[0].name));
		copy_str(j->data0, sizeof(j->data0), job->files[0].data, job->files[0].len);
	}
	copy_str(j->stdin_data, sizeof(j->stdin_data), job->stdin_data, job->stdin_len);
	if (job->run_argc > 0)
		copy_str(j->run_argv0, sizeof(j->run_argv0), job->run_argv[0], strlen(job->run_argv[0]));
	return 0;
}

const char *vmm_id(const struct vmm *v)
{
	return v->id;
}

pid_t vmm_pid(const struct vmm *v)
{
	return (pid_t)(100000 + v->serial);
}

void vmm_free(struct vmm *v)
{
	if (!v)
		return;
	must(!v->freed, "vmm_free twice", v);
	v->freed = true;
	v->n_ops = 0; /* as with the real VMM: no answer after the owner let go */
}

void vmm_reap_all(void)
{
	for (struct vmm *v = head; v; v = v->next)
		v->freed = true;
}

unsigned vmm_count(void)
{
	unsigned n = 0;

	for (struct vmm *v = head; v; v = v->next)
		n += !v->freed;
	return n;
}

struct vmm *fake_vmm_nth(unsigned n)
{
	struct vmm *v = head;

	while (v && n--)
		v = v->next;
	return v;
}

struct vmm *fake_vmm_newest(void)
{
	return tail;
}

unsigned fake_vmm_made(void)
{
	return made;
}

void fake_vmm_reset(void)
{
	while (head) {
		struct vmm *v = head;
		head = v->next;
		free(v);
	}
	tail = NULL;
	made = 0;
	fake_vmm_boot_error = fake_vmm_restore_error = fake_vmm_resume_error = fake_vmm_send_error = 0;
}

/* A callback may free the VMM; nothing of it is touched afterwards. */
static void live(const struct vmm *v, const char *what)
{
	must(v != NULL, what, v);
	must(!v->freed, what, v);
	must(!v->failed, what, v);
}

void fake_vmm_ready(struct vmm *v)
{
	live(v, "ready on a VMM that is gone");
	v->cbs->ready(v, v->userdata);
}

void fake_vmm_ack(struct vmm *v)
{
	live(v, "ack on a VMM that is gone");
	if (v->cbs->ack)
		v->cbs->ack(v, v->userdata);
}

void fake_vmm_result(struct vmm *v, int exit_code, const char *out)
{
	struct rd_result res = {
	    .run = {.present = true,
		    .exit_code = exit_code,
		    .wall_ms = 1,
		    .setup_us = 250,
		    .out = (const uint8_t *)out,
		    .out_len = (uint32_t)strlen(out)},
	};

	live(v, "result on a VMM that is gone");
	must(v->jobs > 0, "result without a job", v);
	v->cbs->result(v, &res, v->userdata);
}

void fake_vmm_fail(struct vmm *v, const char *why)
{
	live(v, "failure of a VMM that is gone");
	v->failed = true;
	v->cbs->failed(v, why, v->userdata);
}

enum fake_op fake_vmm_reply(struct vmm *v, const char *error)
{
	live(v, "reply on a VMM that is gone");
	if (v->n_ops == 0)
		return FAKE_NONE;
	enum fake_op op = v->ops[0].op;
	vmm_done_cb cb = v->ops[0].cb;
	void *userdata = v->ops[0].userdata;
	v->n_ops--;
	memmove(&v->ops[0], &v->ops[1], v->n_ops * sizeof(v->ops[0]));
	if (op == FAKE_SAVE && !error) {
		static const char state[] = "fake device state\n";
		must(write(v->save_fd, state, sizeof(state) - 1) == (ssize_t)sizeof(state) - 1,
		     "could not write the device state", v);
	}
	cb(v, error, userdata);
	return op;
}
