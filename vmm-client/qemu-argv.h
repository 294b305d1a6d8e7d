/* qemu-argv.h: the one QEMU command line. Every QEMU that runnerd starts
 * (booted templates, restored clones, the KVM probe), vmbench's and the
 * integration tests' (through tools/qemu-argv) gets its argv from
 * qemu_argv_build(), a pure function of struct qemu_machine. */
#pragma once

#include "cleanup.h"

enum qemu_start {
	/* Boot the kernel. RAM is mapped shared (share=on), so a later save
	 * can leave it in its file. */
	QEMU_START_BOOT,
	/* Start paused (-S) waiting for the device state (-incoming defer: the
	 * owner sends migrate-incoming over QMP). RAM is mapped private
	 * (share=off): copy-on-write over the template. */
	QEMU_START_RESTORE,
};

enum qemu_console {
	QEMU_CONSOLE_NULL,   /* discarded */
	QEMU_CONSOLE_FILE,   /* written to console_path */
	QEMU_CONSOLE_STDOUT, /* on QEMU's stdout (the KVM probe reads it) */
};

struct qemu_machine {
	const char *qemu;   /* borrowed: the binary, also argv[0] */
	const char *accel;  /* "kvm" or "tcg" */
	const char *kernel; /* borrowed: vmlinux with a PVH entry */
	/* borrowed: the read-only root filesystem. NULL: no disk, and a kernel
	 * command line without root or init, so the kernel panics at once (the
	 * KVM probe's proof that a guest ran). */
	const char *image;
	unsigned memory_mb;
	unsigned vcpus;
	unsigned tb_size_mb; /* TCG translation buffer; 0 = QEMU default */
	unsigned tsc_khz;    /* TCG: host TSC rate for the guest kernel; 0 = let it calibrate */
	enum qemu_console console;
	const char *console_path; /* borrowed: for QEMU_CONSOLE_FILE */
	enum qemu_start start;
	/* Guest RAM: an inherited fd (ram_fd >= 0, named /proc/self/fd/N), else
	 * a file (ram_path), else neither: anonymous RAM without a backend. */
	int ram_fd;
	const char *ram_path;
	/* Inherited sockets (-1 = none): the QMP monitor and the agent's
	 * virtio-serial port. */
	int qmp_fd;
	int agent_fd;
	/* QEMU_START_RESTORE: the inherited migration stream. It is not on the
	 * command line (migrate-incoming names it), only inherited. */
	int state_fd;
};

/* A machine with every fd -1 and nothing else set. */
#define QEMU_MACHINE_INIT                                                                                    \
	{                                                                                                    \
		.ram_fd = -1, .qmp_fd = -1, .agent_fd = -1, .state_fd = -1                                   \
	}

/* Builds the argv for m: a malloc'd NULL-terminated array of malloc'd
 * strings, argv[0] = m->qemu; free it with qemu_argv_free(). -EINVAL if m is
 * inconsistent (unknown accel, no kernel, a restore without RAM fd or state
 * fd, ...), -ENOMEM. */
int qemu_argv_build(const struct qemu_machine *m, char ***ret_argv);
void qemu_argv_free(char **argv);
DEFINE_CLEANUP(char **, qemu_argv_free)

/* A canonical description of what the guest sees (accelerator, CPU, memory,
 * TCG buffer, machine type, kernel command line) for snapshot keys; no
 * paths or fds. malloc'd, NULL on allocation failure. */
char *qemu_machine_description(const struct qemu_machine *m);
