/* host.c: facts about the host: the QEMU version, the TSC rate, and whether
 * KVM really runs a guest. QEMU runs through vmm_run_capture(), like every
 * other short-lived QEMU, and the probe's command line comes from
 * qemu-argv.c like every VMM's. */
#include "host.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error-util.h"
#include "qemu-argv.h"
#include "spawn.h"

char *vmm_qemu_version(const char *qemu)
{
	char *argv[] = {(char *)qemu, "--version", NULL};
	char line[256];

	if (vmm_run_capture(qemu, argv, NULL, 10000, NULL, line, sizeof(line)) < 0)
		return NULL;
	line[strcspn(line, "\n")] = 0;
	return line[0] ? strdup(line) : NULL;
}

unsigned vmm_host_tsc_khz(void)
{
	char line[256];
	double mhz = 0;
	FILE *f = fopen("/proc/cpuinfo", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "cpu MHz : %lf", &mhz) == 1)
			break;
	fclose(f);
	return mhz > 0 && mhz < 100000 ? (unsigned)(mhz * 1000) : 0;
}

/* A stock kernel on a host whose /dev/kvm cannot run it (for example a
 * kvm_pvm device) spins or dies with an emulation failure, so opening
 * /dev/kvm proves nothing: the probe boots our kernel with no root device
 * and waits for its "Kernel panic" line on the serial console (panic=-1
 * with -no-reboot then ends QEMU). Seeing that line in time means the guest
 * really ran. */
int vmm_probe_kvm(const char *qemu, const char *kernel, struct jail *jail, char **ret_reason)
{
	struct qemu_machine m = QEMU_MACHINE_INIT;
	struct jail_place place;
	char buf[8192], **argv;

	*ret_reason = NULL;
	if (access("/dev/kvm", R_OK | W_OK) < 0)
		return err_setf(ret_reason, -ENODEV, "/dev/kvm is not accessible");
	if (jail) {
		/* No image: the probe's guest only needs to reach its panic. */
		int r = jail_place_take(jail, kernel, NULL, true, 128 + 256, 1, &place, ret_reason);
		if (r < 0)
			return r;
	}
	m.qemu = qemu;
	m.accel = "kvm";
	m.kernel = jail ? JAIL_KERNEL_PATH : kernel;
	m.memory_mb = 128;
	m.vcpus = 1;
	m.console = QEMU_CONSOLE_STDOUT;
	m.start = QEMU_START_BOOT;
	int r = qemu_argv_build(&m, &argv);
	if (r >= 0) {
		r = vmm_run_capture(qemu, argv, jail ? &place.exec : NULL, 5000, "Kernel panic", buf,
				    sizeof(buf));
		qemu_argv_free(argv);
	}
	if (jail)
		jail_place_put(jail, &place); /* killed and reaped by now */
	if (r < 0)
		return r;
	if (r != 1)
		return err_setf(
		    ret_reason, -ENODEV,
		    "KVM test boot did not reach the guest kernel (this /dev/kvm cannot run stock "
		    "kernels)");
	return 0;
}
