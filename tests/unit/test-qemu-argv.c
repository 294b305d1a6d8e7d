/* test-qemu-argv.c: unit tests of vmm-client/qemu-argv.c, the one QEMU
 * command line: the whole argv of a TCG boot, then what differs for a
 * restore and under KVM (sandbox always, RAM shared only when booting,
 * -S -incoming defer only when restoring, TSC rate only under TCG), the KVM
 * probe's machine, inconsistent machines refused, and the snapshot-key
 * description kept byte for byte. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#include "guest.h"
#include "qemu-argv.h"

#define SANDBOX "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny"
/* Every machine, the probe's too: no default devices, no config file, no
 * display, and an exit instead of a reboot. */
#define HEADLESS "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot"

static struct qemu_machine machine(const char *accel, enum qemu_start start)
{
	struct qemu_machine m = QEMU_MACHINE_INIT;
	m.qemu = "/usr/bin/qemu-system-x86_64";
	m.accel = accel;
	m.kernel = "/cache/kernel/vmlinux";
	m.image = "/cache/images/python.erofs";
	m.memory_mb = 512;
	m.vcpus = 1;
	m.tb_size_mb = 512;
	m.tsc_khz = 2400000;
	m.start = start;
	m.qmp_fd = 5;
	m.agent_fd = 6;
	if (start == QEMU_START_RESTORE) {
		m.ram_fd = 7;
		m.state_fd = 8;
	} else
		m.ram_path = "/run/runnerd/ram-1";
	return m;
}

static int count(char **argv)
{
	int n = 0;
	while (argv[n])
		n++;
	return n;
}

/* The argument after the first `flag` whose value starts with `prefix`
 * (NULL prefix: any), or NULL. */
static const char *value(char **argv, const char *flag, const char *prefix)
{
	for (int i = 0; argv[i] && argv[i + 1]; i++)
		if (strcmp(argv[i], flag) == 0 &&
		    (!prefix || strncmp(argv[i + 1], prefix, strlen(prefix)) == 0))
			return argv[i + 1];
	return NULL;
}

static bool has(char **argv, const char *arg)
{
	for (int i = 0; argv[i]; i++)
		if (strcmp(argv[i], arg) == 0)
			return true;
	return false;
}

static bool same(char **argv, const char *const *want)
{
	int i;
	for (i = 0; argv[i] && want[i]; i++)
		if (strcmp(argv[i], want[i]) != 0) {
			printf("# argv[%d] = '%s', want '%s'\n", i, argv[i], want[i]);
			return false;
		}
	return !argv[i] && !want[i];
}

static void tcg_boot(void)
{
	static const char *const want[] = {
	    "/usr/bin/qemu-system-x86_64",
	    "-accel",
	    "tcg,tb-size=512",
	    "-cpu",
	    "max",
	    "-smp",
	    "1",
	    "-m",
	    "512M",
	    "-object",
	    "memory-backend-file,id=mem,size=512M,mem-path=/run/runnerd/ram-1,share=on,merge=off,dump=off",
	    "-M",
	    "microvm,isa-serial=on,acpi=off,memory-backend=mem",
	    HEADLESS,
	    "-kernel",
	    "/cache/kernel/vmlinux",
	    "-append",
	    "console=ttyS0 quiet panic=-1 reboot=t root=/dev/vda ro init=/sbin/runnerd-agent "
	    "tsc_early_khz=2400000 tsc=reliable",
	    "-drive",
	    "id=root,if=none,file=/cache/images/python.erofs,format=raw,readonly=on",
	    "-device",
	    "virtio-blk-device,drive=root",
	    "-device",
	    "virtio-serial-device",
	    "-chardev",
	    "socket,id=agent,fd=6",
	    "-device",
	    "virtserialport,chardev=agent,name=" RD_AGENT_PORT_NAME,
	    "-chardev",
	    "socket,id=qmp,fd=5",
	    "-mon",
	    "chardev=qmp,mode=control",
	    "-chardev",
	    "null,id=con",
	    "-serial",
	    "chardev:con",
	    "-sandbox",
	    SANDBOX,
	    NULL,
	};
	struct qemu_machine m = machine("tcg", QEMU_START_BOOT);
	char **argv;

	CHECK(qemu_argv_build(&m, &argv) == 0, "tcg boot: builds");
	CHECK(same(argv, want), "tcg boot: the whole argv");
	qemu_argv_free(argv);

	m.console = QEMU_CONSOLE_FILE;
	m.console_path = "/tmp/console.log";
	m.tb_size_mb = 0;
	m.tsc_khz = 0;
	CHECK(qemu_argv_build(&m, &argv) == 0);
	CHECK(strcmp(value(argv, "-accel", NULL), "tcg") == 0, "tcg boot: no tb-size when 0");
	CHECK(strcmp(value(argv, "-chardev", "file"), "file,id=con,path=/tmp/console.log,append=on") == 0,
	      "tcg boot: console to a file");
	CHECK(!strstr(value(argv, "-append", NULL), "tsc"), "tcg boot: no TSC rate when unknown");
	qemu_argv_free(argv);
}

static void tcg_restore(void)
{
	struct qemu_machine m = machine("tcg", QEMU_START_RESTORE);
	char **argv;

	CHECK(qemu_argv_build(&m, &argv) == 0, "tcg restore: builds");
	CHECK(strcmp(value(argv, "-object", NULL), "memory-backend-file,id=mem,size=512M,mem-path=/proc/self/"
						   "fd/7,share=off,merge=off,dump=off") == 0,
	      "tcg restore: template RAM fd mapped private (share=off)");
	CHECK(strcmp(value(argv, "-sandbox", NULL), SANDBOX) == 0, "tcg restore: -sandbox");
	int n = count(argv);
	CHECK(n >= 3 && strcmp(argv[n - 3], "-S") == 0 && strcmp(argv[n - 2], "-incoming") == 0 &&
		  strcmp(argv[n - 1], "defer") == 0,
	      "tcg restore: ends with -S -incoming defer");
	CHECK(!strstr(value(argv, "-object", NULL), "fd/8") && !value(argv, "-incoming", "fd:"),
	      "tcg restore: the state fd is not on the command line");
	CHECK(strcmp(value(argv, "-accel", NULL), "tcg,tb-size=512") == 0, "tcg restore: tb-size");
	qemu_argv_free(argv);
}

static void kvm(void)
{
	struct qemu_machine m = machine("kvm", QEMU_START_BOOT);
	char **argv;

	CHECK(qemu_argv_build(&m, &argv) == 0, "kvm boot: builds");
	CHECK(strcmp(value(argv, "-accel", NULL), "kvm") == 0, "kvm boot: -accel kvm, no tb-size");
	CHECK(strcmp(value(argv, "-cpu", NULL), "host") == 0, "kvm boot: -cpu host");
	CHECK(!strstr(value(argv, "-append", NULL), "tsc"), "kvm boot: no TSC rate for the guest");
	CHECK(strstr(value(argv, "-object", NULL), ",share=on") != NULL,
	      "kvm boot: RAM shared with its file");
	CHECK(strcmp(value(argv, "-sandbox", NULL), SANDBOX) == 0, "kvm boot: -sandbox");
	CHECK(!has(argv, "-incoming") && !has(argv, "-S"), "kvm boot: no -S, no -incoming");
	qemu_argv_free(argv);

	m = machine("kvm", QEMU_START_RESTORE);
	CHECK(qemu_argv_build(&m, &argv) == 0, "kvm restore: builds");
	CHECK(strstr(value(argv, "-object", NULL), ",share=off") != NULL, "kvm restore: RAM private");
	CHECK(strcmp(value(argv, "-incoming", NULL), "defer") == 0 && has(argv, "-S"),
	      "kvm restore: -S -incoming defer");
	CHECK(strcmp(value(argv, "-sandbox", NULL), SANDBOX) == 0, "kvm restore: -sandbox");
	qemu_argv_free(argv);
}

static void probe(void)
{
	static const char *const want[] = {
	    "qemu",
	    "-accel",
	    "kvm",
	    "-cpu",
	    "host",
	    "-smp",
	    "1",
	    "-m",
	    "128M",
	    "-M",
	    "microvm,isa-serial=on,acpi=off",
	    HEADLESS,
	    "-kernel",
	    "vmlinux",
	    "-append",
	    "console=ttyS0 panic=-1 reboot=t",
	    "-chardev",
	    "stdio,id=con",
	    "-serial",
	    "chardev:con",
	    "-sandbox",
	    SANDBOX,
	    NULL,
	};
	struct qemu_machine m = QEMU_MACHINE_INIT;
	char **argv;

	m.qemu = "qemu";
	m.accel = "kvm";
	m.kernel = "vmlinux";
	m.memory_mb = 128;
	m.vcpus = 1;
	m.console = QEMU_CONSOLE_STDOUT;
	CHECK(qemu_argv_build(&m, &argv) == 0, "probe: builds");
	CHECK(same(argv, want), "probe: no disk, no channels, anonymous RAM, console on stdout, sandboxed");
	qemu_argv_free(argv);
}

static void refused(void)
{
	struct qemu_machine m;
	char **argv = (char **)1;

	m = machine("auto", QEMU_START_BOOT);
	CHECK(qemu_argv_build(&m, &argv) == -EINVAL && argv == NULL, "refused: accel auto (unresolved)");
	m = machine("tcg", QEMU_START_RESTORE);
	m.state_fd = -1;
	CHECK(qemu_argv_build(&m, &argv) == -EINVAL, "refused: restore without a state fd");
	m = machine("tcg", QEMU_START_RESTORE);
	m.ram_fd = -1;
	m.ram_path = "/run/runnerd/ram-1";
	CHECK(qemu_argv_build(&m, &argv) == -EINVAL, "refused: restore without the template's RAM fd");
	m = machine("tcg", QEMU_START_BOOT);
	m.console = QEMU_CONSOLE_FILE;
	CHECK(qemu_argv_build(&m, &argv) == -EINVAL, "refused: console file without a path");
	m = machine("tcg", QEMU_START_BOOT);
	m.kernel = NULL;
	CHECK(qemu_argv_build(&m, &argv) == -EINVAL, "refused: no kernel");
	m = machine("tcg", QEMU_START_BOOT);
	m.memory_mb = 0;
	CHECK(qemu_argv_build(&m, &argv) == -EINVAL, "refused: no memory");
}

/* Snapshot keys hash this text: a change rebuilds every template. */
static void description(void)
{
	struct qemu_machine m = machine("tcg", QEMU_START_BOOT);
	char *d = qemu_machine_description(&m);

	CHECK(d && strcmp(d, "accel=tcg cpu=max smp=1 mem=512M tb=512 machine=microvm,isa-serial=on,acpi=off "
			     "cmdline=console=ttyS0 quiet panic=-1 reboot=t root=/dev/vda ro "
			     "init=/sbin/runnerd-agent tsc_early_khz=2400000 tsc=reliable") == 0,
	      "description: tcg, unchanged");
	free(d);
	m = machine("kvm", QEMU_START_RESTORE);
	d = qemu_machine_description(&m);
	CHECK(d &&
		  strcmp(d, "accel=kvm cpu=host smp=1 mem=512M tb=512 machine=microvm,isa-serial=on,acpi=off "
			    "cmdline=console=ttyS0 quiet panic=-1 reboot=t root=/dev/vda ro "
			    "init=/sbin/runnerd-agent") == 0,
	      "description: kvm, unchanged, the same for boot and restore");
	free(d);
}

int main(void)
{
	tcg_boot();
	tcg_restore();
	kvm();
	probe();
	refused();
	description();
	return check_done();
}
