/* qemu-argv.c: builds the QEMU command line of a microvm: accelerator and
 * CPU, memory backend, microvm without ACPI or default devices, the kernel
 * and its command line, the read-only root disk, the agent's virtio-serial
 * port and the QMP monitor on inherited sockets, the console, the seccomp
 * sandbox, and for a restore a paused start waiting for the migration
 * stream (why each flag: docs/design.md, "The command line"). It only
 * formats strings: no fds are opened, nothing is started. */
#include "qemu-argv.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest.h"

#define MACHINE	 "microvm,isa-serial=on,acpi=off"
#define SANDBOX	 "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny"
#define ARGV_MAX 64

static bool is_kvm(const struct qemu_machine *m)
{
	return strcmp(m->accel, "kvm") == 0;
}

/* Under TCG the guest's TSC runs at the host's rate, but with no PIT/HPET
 * reference (microvm, acpi=off) the kernel cannot calibrate it and falls
 * back to jiffies: 10 ms clocks and wrong CPU accounting. Telling it the
 * rate fixes both. */
static void kernel_cmdline(const struct qemu_machine *m, char *buf, size_t size)
{
	if (!m->image) {
		snprintf(buf, size, "console=ttyS0 panic=-1 reboot=t");
		return;
	}
	int n = snprintf(buf, size,
			 "console=ttyS0 quiet panic=-1 reboot=t root=/dev/vda ro init=/sbin/runnerd-agent");
	if (m->tsc_khz && strcmp(m->accel, "tcg") == 0 && n > 0 && (size_t)n < size)
		snprintf(buf + n, size - (size_t)n, " tsc_early_khz=%u tsc=reliable", m->tsc_khz);
}

char *qemu_machine_description(const struct qemu_machine *m)
{
	char *s, cmdline[512];

	kernel_cmdline(m, cmdline, sizeof(cmdline));
	if (asprintf(&s, "accel=%s cpu=%s smp=%u mem=%uM tb=%u machine=" MACHINE " cmdline=%s", m->accel,
		     is_kvm(m) ? "host" : "max", m->vcpus, m->memory_mb, m->tb_size_mb, cmdline) < 0)
		return NULL;
	return s;
}

struct argv_builder {
	char **v;
	int n;
	bool failed;
};

static void add(struct argv_builder *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(struct argv_builder *a, const char *fmt, ...)
{
	va_list ap;
	char *s;

	if (a->failed || a->n >= ARGV_MAX) {
		a->failed = true;
		return;
	}
	va_start(ap, fmt);
	int r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0) {
		a->failed = true;
		return;
	}
	a->v[a->n++] = s;
}

static bool valid(const struct qemu_machine *m)
{
	if (!m->qemu || !m->kernel || !m->accel ||
	    (strcmp(m->accel, "kvm") != 0 && strcmp(m->accel, "tcg") != 0))
		return false;
	if (m->memory_mb == 0 || m->vcpus == 0)
		return false;
	if (m->console == QEMU_CONSOLE_FILE && !m->console_path)
		return false;
	if (m->console != QEMU_CONSOLE_NULL && m->console != QEMU_CONSOLE_FILE &&
	    m->console != QEMU_CONSOLE_STDOUT)
		return false;
	/* A restore maps the template's RAM and reads a migration stream. */
	if (m->start == QEMU_START_RESTORE)
		return m->ram_fd >= 0 && m->state_fd >= 0;
	return m->start == QEMU_START_BOOT;
}

int qemu_argv_build(const struct qemu_machine *m, char ***ret_argv)
{
	struct argv_builder a = {0};
	bool kvm, backend = m->ram_fd >= 0 || m->ram_path;
	char cmdline[512];

	*ret_argv = NULL;
	if (!valid(m))
		return -EINVAL;
	a.v = calloc(ARGV_MAX + 1, sizeof(*a.v));
	if (!a.v)
		return -ENOMEM;
	kvm = is_kvm(m);
	kernel_cmdline(m, cmdline, sizeof(cmdline));

	add(&a, "%s", m->qemu);
	add(&a, "-accel");
	if (kvm || m->tb_size_mb == 0)
		add(&a, "%s", m->accel);
	else
		add(&a, "tcg,tb-size=%u", m->tb_size_mb);
	add(&a, "-cpu");
	add(&a, "%s", kvm ? "host" : "max");
	add(&a, "-smp");
	add(&a, "%u", m->vcpus);
	add(&a, "-m");
	add(&a, "%uM", m->memory_mb);
	if (backend) {
		/* merge=off: no KSM merging of guest pages across VMs (a side
		 * channel); dump=off: guest RAM never lands in a QEMU core. */
		const char *share = m->start == QEMU_START_BOOT ? "on" : "off";
		add(&a, "-object");
		if (m->ram_fd >= 0)
			add(&a,
			    "memory-backend-file,id=mem,size=%uM,mem-path=/proc/self/fd/"
			    "%d,share=%s,merge=off,dump=off",
			    m->memory_mb, m->ram_fd, share);
		else
			add(&a, "memory-backend-file,id=mem,size=%uM,mem-path=%s,share=%s,merge=off,dump=off",
			    m->memory_mb, m->ram_path, share);
	}
	add(&a, "-M");
	add(&a, "%s", backend ? MACHINE ",memory-backend=mem" : MACHINE);
	add(&a, "-nodefaults");
	add(&a, "-no-user-config");
	add(&a, "-display");
	add(&a, "none");
	add(&a, "-no-reboot");
	add(&a, "-kernel");
	add(&a, "%s", m->kernel);
	add(&a, "-append");
	add(&a, "%s", cmdline);
	if (m->image) {
		add(&a, "-drive");
		add(&a, "id=root,if=none,file=%s,format=raw,readonly=on", m->image);
		add(&a, "-device");
		add(&a, "virtio-blk-device,drive=root");
	}
	if (m->agent_fd >= 0) {
		add(&a, "-device");
		add(&a, "virtio-serial-device");
		add(&a, "-chardev");
		add(&a, "socket,id=agent,fd=%d", m->agent_fd);
		add(&a, "-device");
		add(&a, "virtserialport,chardev=agent,name=" RD_AGENT_PORT_NAME);
	}
	if (m->qmp_fd >= 0) {
		add(&a, "-chardev");
		add(&a, "socket,id=qmp,fd=%d", m->qmp_fd);
		add(&a, "-mon");
		add(&a, "chardev=qmp,mode=control");
	}
	add(&a, "-chardev");
	if (m->console == QEMU_CONSOLE_FILE)
		add(&a, "file,id=con,path=%s,append=on", m->console_path);
	else if (m->console == QEMU_CONSOLE_STDOUT)
		add(&a, "stdio,id=con");
	else
		add(&a, "null,id=con");
	add(&a, "-serial");
	add(&a, "chardev:con");
	add(&a, "-sandbox");
	add(&a, SANDBOX);
	if (m->start == QEMU_START_RESTORE) {
		add(&a, "-S");
		add(&a, "-incoming");
		add(&a, "defer");
	}
	if (a.failed) {
		qemu_argv_free(a.v);
		return -ENOMEM;
	}
	*ret_argv = a.v;
	return 0;
}

void qemu_argv_free(char **argv)
{
	if (!argv)
		return;
	for (char **p = argv; *p; p++)
		free(*p);
	free(argv);
}
