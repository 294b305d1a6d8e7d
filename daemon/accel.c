/* accel.c: the accelerator policy. "tcg" is taken as asked; "kvm" and
 * "auto" ask the KVM probe (vmm_probe_kvm in vmm-client/host.c, a short
 * test boot) and "kvm" refuses to go on without it, while "auto" falls back
 * to TCG with a warning that says what that costs. */
#include "accel.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error-util.h"
#include "host.h"

int accel_resolve(const char *requested, const char *qemu, const char *kernel, struct jail *jail,
		  const char **ret_accel, char **ret_reason)
{
	char *reason = NULL;

	*ret_reason = NULL;
	if (strcmp(requested, "tcg") == 0) {
		*ret_accel = "tcg";
		return 0;
	}
	if (strcmp(requested, "kvm") != 0 && strcmp(requested, "auto") != 0)
		return err_setf(ret_reason, -EINVAL, "accel must be kvm, tcg or auto");
	int r = vmm_probe_kvm(qemu, kernel, jail, &reason);
	if (r >= 0) {
		*ret_accel = "kvm";
		return 0;
	}
	if (strcmp(requested, "kvm") == 0) {
		*ret_reason = reason;
		return -ENODEV;
	}
	/* Not an error: the reason is the warning that goes with TCG. */
	err_setf(ret_reason, 0,
		 "KVM unusable (%s): falling back to TCG software emulation, which gives NO "
		 "isolation guarantee",
		 reason ? reason : strerror(-r));
	free(reason);
	*ret_accel = "tcg";
	return 0;
}
