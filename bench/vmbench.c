/* vmbench.c: the per-request baselines of the benchmark, driven through the
 * same vmm-client and pool code as runnerd, but without a pool:
 *
 *   cold-boot  start QEMU, boot the guest (RAM in a throw-away file), run the
 *              job once the agent says HELLO, kill the VM;
 *   restore    load the language's snapshot template once (template_prepare,
 *              the same key as runnerd: same QEMU, kernel, image, machine
 *              options), then per run: restore a clone, resume it, run the
 *              job, kill it. --jobs-per-vm 2 sends a second identical job to
 *              the same clone, to show the cost of a fresh QEMU's empty
 *              translation cache on the first program.
 *
 * One JSON line per job on stdout; times in ms from the run's start, which
 * stands for the request's arrival (t0 = just before QEMU is spawned):
 *   ready_ms     t0 -> booted (agent HELLO) / restored (migration completed)
 *   resumed_ms   t0 -> QMP cont answered (restore only; job 1)
 *   ack_ms       t0 -> agent ACK of the job frame
 *   startup_ms   t0 -> user program exec in the guest: ack_ms plus the
 *                agent's own setup time (the daemon's startup_ms definition)
 *   result_ms    t0 -> result frame read
 *   exec_ms, compile_ms, setup_ms   as reported by the agent
 * For job 2 of a VM, t0 is the moment the job is sent.
 *
 * A benchmark tool, not part of runnerd: not installed. */
#include "config.h"

#include <errno.h>
#include <event2/event.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "guest.h"
#include "job.h"
#include "jobspec.h"
#include "language.h"
#include "template.h"
#include "host.h"
#include "jail.h"
#include "time-util.h"
#include "vmm-options.h"
#include "vmm.h"

enum mode { MODE_COLD, MODE_RESTORE };

struct bench {
	struct event_base *base;
	enum mode mode;
	const struct language *lang;
	struct vmm_config vmm;
	const char *code;
	const char *tmpdir;
	unsigned runs, jobs_per_vm, run, job;
	int ram_fd;
	int state_fd;
	struct vmm *vm;
	struct event *timer;
	char ram_path[4200];
	uint64_t t0, t_ready, t_resumed, t_sent, t_ack;
	unsigned failures;
	double timeout_s;
	bool exit_loop;
};

static double ms(uint64_t from, uint64_t to)
{
	return from && to >= from ? (double)(to - from) / 1e6 : -1;
}

static void start_run(struct bench *b);

static void finish_vm(struct bench *b)
{
	vmm_free(b->vm);
	b->vm = NULL;
	evtimer_del(b->timer);
	if (b->mode == MODE_COLD && b->ram_path[0]) {
		unlink(b->ram_path);
		b->ram_path[0] = 0;
	}
	b->run++;
	if (b->run >= b->runs) {
		b->exit_loop = true;
		event_base_loopexit(b->base, NULL);
		return;
	}
	start_run(b);
}

/* The run failed: one JSON line saying why, and on to the next VM. */
static void fail_run(struct bench *b, const char *why)
{
	printf("{\"mode\":\"%s\",\"language\":\"%s\",\"run\":%u,\"job\":%u,\"ok\":false,\"error\":\"",
	       b->mode == MODE_COLD ? "cold-boot" : "restore", b->lang->name, b->run, b->job + 1);
	for (const char *p = why; *p; p++)
		putchar(*p == '"' || *p == '\\' || (unsigned char)*p < 0x20 ? '?' : *p);
	printf("\"}\n");
	fflush(stdout);
	b->failures++;
	finish_vm(b);
}

static void send_job(struct bench *b)
{
	struct job_file file;
	struct job_request req;
	struct rd_limits lim;

	/* The limits runnerd applies by default (proto/guest.h). */
	jobspec_program(b->code, (uint32_t)(b->timeout_s * 1000), RD_DEFAULT_COMPILE_WALL_MS, &file, &req,
			&lim);
	b->t_sent = now_ns();
	b->t_ack = 0;
	if (jobspec_send(b->vm, &req, b->lang, &lim) < 0)
		fail_run(b, "could not send the job");
}

static void resumed_cb(struct vmm *vmm, const char *error, void *arg)
{
	struct bench *b = arg;
	if (error) {
		fail_run(b, error);
		return;
	}
	b->t_resumed = now_ns();
	send_job(b);
}

static void ready_cb(struct vmm *vmm, void *arg)
{
	struct bench *b = arg;

	b->t_ready = now_ns();
	if (b->mode == MODE_RESTORE) {
		if (vmm_resume(vmm, resumed_cb, b) < 0)
			fail_run(b, "could not resume");
		return;
	}
	send_job(b); /* booted: the agent is waiting for its first job */
}

static void ack_cb(struct vmm *vmm, void *arg)
{
	struct bench *b = arg;
	if (!b->t_ack)
		b->t_ack = now_ns();
}

static void result_cb(struct vmm *vmm, const struct rd_result *res, void *arg)
{
	struct bench *b = arg;
	uint64_t t = now_ns();
	/* Job 1: t0 is the spawn; later jobs: t0 is when the job was sent. */
	uint64_t t0 = b->job == 0 ? b->t0 : b->t_sent;
	const struct rd_step_result *run = &res->run, *comp = &res->compile;
	double setup_ms = run->present ? run->setup_us / 1000.0 : comp->setup_us / 1000.0;
	bool ok = run->present && run->exit_code == 0 && run->signal == 0 &&
		  run->out_len == strlen(b->lang->hello_output) &&
		  memcmp(run->out, b->lang->hello_output, run->out_len) == 0;

	printf("{\"mode\":\"%s\",\"language\":\"%s\",\"run\":%u,\"job\":%u,\"ok\":%s,"
	       "\"ready_ms\":%.3f,\"resumed_ms\":%.3f,\"ack_ms\":%.3f,\"startup_ms\":%.3f,\"result_ms\":%.3f,"
	       "\"handoff_ms\":%.3f,\"setup_ms\":%.3f,\"exec_ms\":%u,\"compile_ms\":%u,\"exit_code\":%d}\n",
	       b->mode == MODE_COLD ? "cold-boot" : "restore", b->lang->name, b->run, b->job + 1,
	       ok ? "true" : "false", b->job == 0 ? ms(b->t0, b->t_ready) : 0.0,
	       b->job == 0 && b->mode == MODE_RESTORE ? ms(b->t0, b->t_resumed) : 0.0, ms(t0, b->t_ack),
	       b->t_ack ? ms(t0, b->t_ack) + setup_ms : -1, ms(t0, t), ms(b->t_sent, b->t_ack), setup_ms,
	       run->present ? run->wall_ms : 0, comp->present ? comp->wall_ms : 0,
	       run->present ? run->exit_code : -1);
	fflush(stdout);
	if (!ok) {
		b->failures++;
		if (run->err_len || comp->err_len)
			fprintf(stderr, "vmbench: job failed: %.*s%.*s\n",
				(int)(comp->err_len > 300 ? 300 : comp->err_len), (const char *)comp->err,
				(int)(run->err_len > 300 ? 300 : run->err_len), (const char *)run->err);
	}
	b->job++;
	if (b->job < b->jobs_per_vm) {
		send_job(b);
		return;
	}
	finish_vm(b);
}

static void failed_cb(struct vmm *vmm, const char *why, void *arg)
{
	fail_run(arg, why);
}

static void timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	fail_run(arg, "timed out");
}

static const struct vmm_callbacks cbs = {
    .ready = ready_cb,
    .ack = ack_cb,
    .result = result_cb,
    .failed = failed_cb,
};

static void start_run(struct bench *b)
{
	int r;
	struct timeval tv = {(time_t)(b->timeout_s * 4 + 60), 0};

	b->job = 0;
	b->t_ready = b->t_resumed = b->t_sent = b->t_ack = 0;
	evtimer_add(b->timer, &tv);
	if (b->mode == MODE_COLD) {
		snprintf(b->ram_path, sizeof(b->ram_path), "%s/vmbench-ram-%d-%u", b->tmpdir, (int)getpid(),
			 b->run);
		b->t0 = now_ns();
		r = vmm_boot(b->base, &b->vmm, b->ram_path, &cbs, b, &b->vm);
	} else {
		b->t0 = now_ns();
		r = vmm_restore(b->base, &b->vmm, b->ram_fd, b->state_fd, &cbs, b, &b->vm);
	}
	if (r < 0) {
		b->vm = NULL;
		fail_run(b, strerror(-r));
	}
}

static void template_cb(const char *error, int ram_fd, int state_fd, void *arg)
{
	struct bench *b = arg;
	if (error) {
		fprintf(stderr, "vmbench: template for %s: %s\n", b->lang->name, error);
		b->failures++;
		event_base_loopexit(b->base, NULL);
		return;
	}
	b->ram_fd = ram_fd;
	b->state_fd = state_fd;
	start_run(b);
}

static const char usage[] =
    "Usage: vmbench cold-boot|restore --language NAME [OPTIONS]\n"
    "Per-request VM baselines for the runnerd benchmark (see bench/README.md).\n"
    "\n"
    "  --language NAME     language definition NAME.lang (required)\n"
    "  --runs N            VMs to start, one after the other (default 10)\n"
    "  --jobs-per-vm N     restore mode: identical jobs sent to each VM in turn (default 1)\n"
    "  --code TEXT         program source (default: the language's hello world)\n"
    "  --cache-dir DIR     kernel/vmlinux, images/, snapshots/ (default /var/cache/runnerd)\n"
    "  --languages DIR     *.lang files (default SOURCE/tools/languages)\n"
    "  --qemu PATH         (default /usr/bin/qemu-system-x86_64)\n"
    "  --accel tcg|kvm     (default tcg)\n"
    "  --memory-mb N       guest RAM, as runnerd's (default 512)\n"
    "  --tb-size-mb N      TCG translation buffer (default: runnerd's)\n"
    "  --tmpdir DIR        cold-boot RAM files (default /dev/shm)\n"
    "  --timeout S         wall limit of the run step in s (default 10)\n"
    "  --jail-uids FIRST:N the VMs' uids, as runnerd's (default " JAIL_DEFAULT_UIDS_ARG "); VMs run\n"
    "                      in runnerd's jail (needs root)\n"
    "  --no-jail           run the VMs unjailed, as root\n"
    "Prints one JSON line per job; exits 1 if any job failed.\n";

int main(int argc, char **argv)
{
	const char *jail_uids = JAIL_DEFAULT_UIDS_ARG;
	bool jailed = true;
	const char *lang_name = NULL, *cache = "/var/cache/runnerd",
		   *langs = RUNNERD_SOURCE_ROOT "/tools/languages";
	char path[4400], kernel[4400], image[4400], *err = NULL;
	struct bench b = {.runs = 10,
			  .jobs_per_vm = 1,
			  .ram_fd = -1,
			  .state_fd = -1,
			  .tmpdir = "/dev/shm",
			  .timeout_s = 10};
	const struct opt opts[] = {
	    OPTION("language", OPT_STRING, &lang_name),
	    OPTION("runs", OPT_UINT, &b.runs, .min = 1, .max = UINT_MAX),
	    OPTION("jobs-per-vm", OPT_UINT, &b.jobs_per_vm, .min = 1, .max = 100),
	    OPTION("code", OPT_STRING, &b.code),
	    OPTION("cache-dir", OPT_STRING, &cache),
	    OPTION("languages", OPT_STRING, &langs),
	    VMM_MACHINE_OPTIONS(&b.vmm.qemu, &b.vmm.accel, &b.vmm.memory_mb, &b.vmm.tb_size_mb),
	    OPTION("tmpdir", OPT_STRING, &b.tmpdir),
	    OPTION("timeout", OPT_DOUBLE, &b.timeout_s),
	    OPTION("jail-uids", OPT_STRING, &jail_uids),
	    OPTION("no-jail", OPT_FALSE, &jailed),
	    OPTION("help", OPT_KEY, NULL, .key = 'h'),
	    {0},
	};
	struct language *lang = NULL;
	struct jail *jail = NULL;
	int c;

	b.vmm = (struct vmm_config){.qemu = VMM_DEFAULT_QEMU,
				    .accel = "tcg",
				    .memory_mb = VMM_DEFAULT_MEMORY_MB,
				    .vcpus = 1,
				    .tb_size_mb = VMM_DEFAULT_TB_SIZE_MB};
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "cold-boot") == 0)
		b.mode = MODE_COLD;
	else if (strcmp(argv[1], "restore") == 0)
		b.mode = MODE_RESTORE;
	else {
		fputs(usage, stderr);
		return 2;
	}
	optind = 2;
	while ((c = opt_next(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h') {
			fputs(usage, stdout);
			return 0;
		}
		fputs(usage, stderr); /* unknown option or bad value */
		return 2;
	}
	if (!lang_name || !(b.timeout_s > 0) ||
	    (strcmp(b.vmm.accel, "tcg") != 0 && strcmp(b.vmm.accel, "kvm") != 0)) {
		fputs(usage, stderr);
		return 2;
	}
	if (b.mode == MODE_COLD && b.jobs_per_vm != 1)
		fprintf(stderr, "vmbench: --jobs-per-vm applies to restore mode; cold boots run one job\n");
	if (b.mode == MODE_COLD)
		b.jobs_per_vm = 1;
	signal(SIGPIPE, SIG_IGN);

	snprintf(path, sizeof(path), "%s/%s.lang", langs, lang_name);
	if (language_load(path, &lang, &err) < 0) {
		fprintf(stderr, "vmbench: %s: %s\n", path, err ? err : "cannot load");
		return 2;
	}
	b.lang = lang;
	if (!b.code)
		b.code = lang->hello;
	snprintf(kernel, sizeof(kernel), "%s/kernel/vmlinux", cache);
	snprintf(image, sizeof(image), "%s/images/%s.erofs", cache, lang->image);
	if (access(kernel, R_OK) < 0 || access(image, R_OK) < 0) {
		fprintf(stderr, "vmbench: need %s and %s\n", kernel, image);
		return 2;
	}
	b.vmm.kernel = kernel;
	b.vmm.image = image;
	b.vmm.tsc_khz = vmm_host_tsc_khz();
	if (jailed) {
		/* The same jail as runnerd's VMMs, so the baselines pay what it costs. */
		char dir[4400], *error = NULL;
		const char *warning = NULL;
		struct jail_config jc = {.dir = dir, .pids_max = 128};
		snprintf(dir, sizeof(dir), "%s/vmbench-jail.%d", b.tmpdir, (int)getpid());
		if (jail_parse_uids(jail_uids, &jc.uid_first, &jc.slots) < 0 ||
		    jail_new(&jc, &jail, &error, &warning) < 0) {
			fprintf(stderr, "vmbench: jail: %s\n", error ? error : "bad --jail-uids");
			return 2;
		}
		if (warning)
			fprintf(stderr, "vmbench: jail: %s\n", warning);
		b.vmm.jail = jail;
	}
	char *qv = vmm_qemu_version(b.vmm.qemu);
	if (!qv) {
		fprintf(stderr, "vmbench: cannot run %s\n", b.vmm.qemu);
		return 2;
	}

	b.base = event_base_new();
	b.timer = evtimer_new(b.base, timeout_cb, &b);
	if (!b.base || !b.timer)
		return 1;
	struct template_build *tb = NULL;
	if (b.mode == MODE_RESTORE) {
		struct template_spec spec = {
		    .lang = lang,
		    .vmm = &b.vmm,
		    .cache_dir = cache,
		    .qemu_version = qv,
		    .boot_timeout_ms = 120000,
		    .warm_timeout_ms = 60000,
		};
		int r = template_prepare(b.base, &spec, template_cb, &b, &tb);
		if (r < 0) {
			fprintf(stderr, "vmbench: template: %s\n", strerror(-r));
			return 1;
		}
	} else
		start_run(&b);
	event_base_dispatch(b.base);
	vmm_free(b.vm);
	vmm_reap_all();
	template_build_free(tb);
	if (b.ram_path[0])
		unlink(b.ram_path);
	if (b.ram_fd >= 0)
		close(b.ram_fd);
	event_free(b.timer);
	event_base_free(b.base);
	if (b.state_fd >= 0)
		close(b.state_fd);
	free(qv);
	language_free(lang);
	jail_free(jail);
	return b.failures || !b.exit_loop ? 1 : 0;
}
