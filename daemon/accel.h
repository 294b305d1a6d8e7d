/* accel.h: choosing the accelerator. "kvm" refuses to serve without a
 * working KVM; "auto" probes KVM with a short test boot and falls back to
 * TCG (software emulation, no security promise) with a loud warning. */
#pragma once

struct jail;

/* Resolves `requested` ("kvm", "tcg" or "auto") to "kvm" or "tcg"; the
 * probe's VM runs in `jail` (NULL: unjailed). On failure returns -ENODEV
 * with a message in *ret_reason (malloc'd). A fallback from auto to tcg
 * also sets *ret_reason, to be shown loudly. */
int accel_resolve(const char *requested, const char *qemu, const char *kernel, struct jail *jail,
		  const char **ret_accel, char **ret_reason);
