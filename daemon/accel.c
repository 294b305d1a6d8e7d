/* accel.c: the accelerator policy. "tcg" is taken as asked; "kvm" and
 * "auto" ask the KVM probe (vmm_probe_kvm in vmm-client/host.c, a short
 * test boot) and "kvm" refuses to go on without it, while "auto" falls back
 * to TCG with a warning that says what that costs. */
#include "accel.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"

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
	int r = vmm_probe_kvm(qemu, kernel, &reason);
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
