/* accel.c: the KVM probe. A stock kernel on a host whose /dev/kvm cannot
 * run it (for example a kvm_pvm device) spins or dies with an emulation
 * failure, so opening /dev/kvm proves nothing: the probe boots our kernel
 * with no root device and waits for its "Kernel panic" line on the serial
 * console (panic=-1 with -no-reboot then ends QEMU). Seeing that line in
 * time means the guest really ran. */
#include "accel.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spawn.h"

static int probe_kvm(const char *qemu, const char *kernel, char **ret_reason)
{
	char buf[8192];
	char *argv[] = {(char *)qemu,
			"-accel",
			"kvm",
			"-cpu",
			"host",
			"-m",
			"128M",
			"-M",
			"microvm,isa-serial=on,acpi=off",
			"-nodefaults",
			"-no-user-config",
			"-display",
			"none",
			"-no-reboot",
			"-kernel",
			(char *)kernel,
			"-append",
			"console=ttyS0 panic=-1 reboot=t",
			"-serial",
			"stdio",
			NULL};
	if (access("/dev/kvm", R_OK | W_OK) < 0) {
		*ret_reason = strdup("/dev/kvm is not accessible");
		return -ENODEV;
	}
	int r = vmm_run_capture(qemu, argv, 5000, "Kernel panic", buf, sizeof(buf));
	if (r < 0)
		return r;
	bool ok = r == 1;
	if (!ok) {
		*ret_reason = strdup(
		    "KVM test boot did not reach the guest kernel (this /dev/kvm cannot run stock kernels)");
		return -ENODEV;
	}
	return 0;
}

int accel_resolve(const char *requested, const char *qemu, const char *kernel, const char **ret_accel,
		  char **ret_reason)
{
	char *reason = NULL;

	*ret_reason = NULL;
	if (strcmp(requested, "tcg") == 0) {
		*ret_accel = "tcg";
		return 0;
	}
	if (strcmp(requested, "kvm") != 0 && strcmp(requested, "auto") != 0) {
		*ret_reason = strdup("accel must be kvm, tcg or auto");
		return -EINVAL;
	}
	int r = probe_kvm(qemu, kernel, &reason);
	if (r >= 0) {
		*ret_accel = "kvm";
		return 0;
	}
	if (strcmp(requested, "kvm") == 0) {
		*ret_reason = reason;
		return -ENODEV;
	}
	if (asprintf(ret_reason,
		     "KVM unusable (%s): falling back to TCG software emulation, which gives NO "
		     "isolation guarantee",
		     reason ? reason : strerror(-r)) < 0)
		*ret_reason = NULL;
	free(reason);
	*ret_accel = "tcg";
	return 0;
}
